"""NPZ archives: read as a mapping of arrays, frames at random; written whole or streamed.

>>> import numpy as np, array_files.npz as npz
>>> with npz.Writer("run.npz") as out:                            # doctest: +SKIP
...     out.add("x", np.arange(10))
...     with out.member("adc", np.int16, (256,)) as adc:
...         for _ in range(1000):
...             adc.append(np.zeros((1, 256), np.int16))
>>> z = npz.open("run.npz")                                       # doctest: +SKIP
>>> z["x"], z.frames("adc", -8, None).shape                       # doctest: +SKIP
"""

import collections.abc
import os

import numpy as np

from array_files import _native
from array_files._args import names, non_negative, shape
from array_files._closing import Closed, Closing
from array_files._dtypes import to_descr
from array_files.npy import _array

__all__ = ["open", "index", "NpzFile", "Writer", "MemberWriter", "savez", "savez_compressed"]


def open(path):  # noqa: A001 - numpy-like module function, shadows the builtin on purpose
    """The ``.npz`` archive at ``path`` as a read-only mapping of key to array."""
    return NpzFile(path)


def index(path, keys=(), span=None, sidecar=False):
    """Indexes the deflated members ``keys`` (all when empty) of the archive at ``path``
    (``np.savez_compressed``'s, say) for random access, as ``npz index`` does: afterwards
    ``open(path).frames(key, a, b)`` reads frames ``a:b`` without inflating from the start.
    numpy still reads the archive unchanged. ``sidecar=True`` writes ``path + ".idx"`` instead
    (for read-only archives). Returns ``{key: (access points, index bytes, why skipped or
    None)}``."""
    span = non_negative(span, "span")
    rows = _native.npz_index(os.fsdecode(path), names(keys), span, sidecar)
    return {key: (points, size, skipped) for key, points, size, skipped in rows}


class NpzFile(collections.abc.Mapping, Closing):
    """An open ``.npz`` archive: a read-only mapping of key to array.

    ``z[key]`` views the archive's map with no copy for members stored 64-byte aligned (what
    :class:`Writer` writes without compression; read-only arrays); other members are decoded
    into new arrays. ``z.frames(key, start, stop)`` reads frames at random, without decoding a
    compressed member from its start when it has a seek index (ours) or access points
    (:func:`index`, for archives numpy wrote). Keys are numpy's (``"x"`` for
    the member ``x.npy``); ``files`` lists them as ``np.load`` does.

    ``path`` may be a URL of object storage (``s3://bucket/run.npz``, ``gs://``, ``az://``,
    ``http(s)://``): the open reads the end records and central directory in one request (two
    for a long directory), ``z[key]`` reads the member by ranges into a new array, and
    ``frames`` fetches only the frames' bytes (or, in a compressed member, the span holding
    them).
    """

    def __init__(self, path):
        self._archive = _native.NpzArchive(os.fsdecode(path))
        self.files = self._archive.keys()
        self._keys = set(self.files)

    @property
    def path(self):
        return self._archive.path

    def _key(self, key):
        """The key of ``key``, given as numpy takes it: the key or the member name (``x.npy``)."""
        if key in self._keys:
            return key
        if isinstance(key, str) and key.endswith(".npy") and key[:-4] in self._keys:
            return key[:-4]
        raise KeyError(f"{key} is not a file in the archive")

    def _header(self, key):
        return self._archive.header(self._key(key))

    def __getitem__(self, key):
        key = self._key(key)
        descr, shape, fortran_order, mappable, _ = self._header(key)
        if mappable and self._archive.can_view:
            raw = self._archive.mapped(key)
        else:
            raw = self._archive.frames(key, 0, _frame_count(shape, fortran_order))
        return _array(raw, descr, shape, fortran_order)

    def frames(self, key, start=0, stop=None):
        """Frames ``[start, stop)`` of member ``key`` along its growth axis (axis 0, or the last
        axis in Fortran order), as a new array. Negative indices count from the end, as in
        slices; the range is clipped to the frames there are."""
        key = self._key(key)
        descr, shape, fortran_order, _, _ = self._header(key)
        count = _frame_count(shape, fortran_order)
        start, stop, _ = slice(start, stop).indices(count)
        stop = max(start, stop)
        raw = self._archive.frames(key, start, stop)
        frame_shape = list(shape[:-1] if fortran_order else shape[1:])
        if not shape:
            out_shape = []
        elif fortran_order:
            out_shape = frame_shape + [stop - start]
        else:
            out_shape = [stop - start] + frame_shape
        return _array(raw, descr, out_shape, fortran_order)

    def info(self):
        """One dict per member, as ``npz ls --json`` prints them. Arrays: name (the key),
        member, kind ``"array"``, descr, fortran_order, shape, version, compression, sizes,
        crc32 (hex), frames, seekable, mappable. Other members (text, JSON, directories,
        compression methods not decoded, headers that do not read) have their ``kind`` and
        ``reason`` instead of the array's fields, so an archive with odd members lists whole."""
        return self._archive.infos()

    def __iter__(self):
        return iter(self.files)

    def __len__(self):
        return len(self.files)

    def __contains__(self, key):
        try:
            self._key(key)
        except KeyError:
            return False
        return True

    def close(self):
        """Drops this object's reference to the archive (arrays viewing it keep it open); any
        later read raises ``ValueError``, as a closed file's does."""
        if not self.closed:
            self._archive = Closed("archive", self._archive.path)

    @property
    def closed(self):
        return isinstance(self._archive, Closed)


    def __repr__(self):
        return f"<array_files.npz.NpzFile {self.path!r} {len(self)} members>"


def _frame_count(shape, fortran_order):
    if not shape:
        return 1
    return shape[-1] if fortran_order else shape[0]


def _layout(array):
    """np.save's choice: Fortran order for arrays that are Fortran- but not C-contiguous."""
    return bool(array.flags.f_contiguous and not array.flags.c_contiguous)


class Writer(Closing):
    """Writes an ``.npz`` archive numpy reads.

    ``mode``: ``"w"`` creates the archive (replacing one there, atomically at ``close``),
    ``"x"`` creates it refusing an existing file, ``"a"`` appends members to an existing
    archive. ``compress=True`` deflates members at ``level`` (as ``savez_compressed``);
    otherwise they are stored 64-byte aligned, so that :func:`open` maps them with no copy.

    ``path`` may be a URL of object storage (``s3://bucket/run.npz``; modes ``"w"`` and ``"x"``):
    members stream into a local temporary file, uploaded whole at ``close`` (nothing is visible
    under the URL before).

    An exception leaving a ``with`` block (``KeyboardInterrupt`` included; a generator closed
    early is a normal end) abandons the archive (:meth:`abort`): the file at ``path`` stays as
    it was, the members added are not kept. Call :meth:`close` in the block to keep them
    whatever happens next. (``compat.numpy_writer.NpzFileWriter`` keeps the seed's way:
    it finishes the archive whatever happens.)
    """

    def __init__(self, path, mode="w", compress=False, level=6):
        self.path = os.fsdecode(path)
        if compress and not 0 <= level <= 9:
            raise ValueError(f"compression level must be 0 to 9, not {level}")
        self._core = _native.NpzWriterCore(self.path, mode, level if compress else None)
        self._member = None

    def add(self, key, array):
        """Adds ``array`` as member ``key`` (``key.npy`` in the archive)."""
        self._no_open_member()
        array = np.asanyarray(array)
        if array.dtype.hasobject:
            raise ValueError(f"{key}: object arrays hold pickles, which this writer does not write")
        fortran_order = _layout(array)
        data = array.tobytes(order="F" if fortran_order else "C")
        self._core.add(key, to_descr(array.dtype), list(array.shape), fortran_order, data)

    def member(self, key, dtype, frame_shape, fortran_order=False):
        """Starts member ``key``, streamed: frames of ``dtype`` and ``frame_shape`` appended
        with :meth:`MemberWriter.append`, never all in memory. One member at a time."""
        self._no_open_member()
        dtype = np.dtype(dtype)
        frame_shape = shape(frame_shape, "frame_shape")
        self._core.begin(key, to_descr(dtype), frame_shape, fortran_order)
        self._member = MemberWriter(self, key, dtype, tuple(frame_shape), fortran_order)
        return self._member

    def _no_open_member(self):
        if self._member is not None and not self._member.closed:
            raise ValueError(f"member {self._member.key!r} is still open: close it first")

    def close(self):
        """Finishes the archive (an open member is finished first). Closing twice does nothing."""
        if self._member is not None and not self._member.closed:
            self._member.close()
        self._core.finish()

    def abort(self):
        """Abandons the archive, an open member included: a new archive is never written (the
        file that was at ``path`` stays), members appended with mode ``"a"`` are cut off again.
        Does nothing after :meth:`close`."""
        if self._member is not None:
            self._member.closed = True
        self._core.abort()

    def __exit__(self, exc_type, exc, tb):
        # A generator closed early (GeneratorExit) is a normal end, not a failure.
        if exc_type is None or issubclass(exc_type, GeneratorExit):
            self.close()
        else:
            self.abort()
        return False


class MemberWriter(Closing):
    """A member streamed frame by frame into a :class:`Writer`'s archive."""

    def __init__(self, writer, key, dtype, frame_shape, fortran_order):
        self._writer = writer
        self.key = key
        self.dtype = dtype
        self.frame_shape = frame_shape
        self.fortran_order = fortran_order
        self.closed = False
        self.frames = 0

    def append(self, frames):
        """Appends one frame or a stack of frames along the growth axis, of the member's exact
        dtype. Returns the number of frames appended."""
        if self.closed:
            raise ValueError(f"member {self.key!r} is closed")
        array = np.asarray(frames) if isinstance(frames, np.ndarray) else np.asarray(frames, self.dtype)
        if array.dtype != self.dtype:
            raise ValueError(
                f"dtype mismatch: frames of {array.dtype.str} cannot be appended to "
                f"member {self.key!r} of {self.dtype.str} (no casting)"
            )
        if array.shape == self.frame_shape:
            count = 1
        elif array.ndim == len(self.frame_shape) + 1 and (
            array.shape[:-1] if self.fortran_order else array.shape[1:]
        ) == self.frame_shape:
            count = array.shape[-1] if self.fortran_order else array.shape[0]
        else:
            raise ValueError(
                f"shape mismatch: an array of shape {array.shape} is not frames of shape "
                f"{self.frame_shape} of member {self.key!r}"
            )
        self._writer._core.append(array.tobytes(order="F" if self.fortran_order else "C"), count)
        self.frames += count
        return count

    def flush(self):
        """Writes what the member buffered (compressed members flush their deflate stream)."""
        self._writer._core.flush()

    def close(self):
        """Ends the member; returns its shape. Closing twice does nothing."""
        if self.closed:
            return None
        self.closed = True
        return tuple(self._writer._core.end_member())


def savez(path, *args, **arrays):
    """``numpy.savez``: arrays stored (aligned, so :func:`open` maps them), keyed ``arr_0``,
    ``arr_1``, ... for positional ones."""
    _save(path, False, args, arrays)


def savez_compressed(path, *args, **arrays):
    """``numpy.savez_compressed``: arrays deflated."""
    _save(path, True, args, arrays)


def _save(path, compress, args, arrays):
    named = {f"arr_{i}": a for i, a in enumerate(args)}
    for key in arrays:
        if key in named:
            raise ValueError(f"cannot use un-named variables and keyword {key}")
    named.update(arrays)
    with Writer(path, "w", compress=compress) as out:
        for key, array in named.items():
            out.add(key, array)
