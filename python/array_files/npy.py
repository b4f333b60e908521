"""NPY files: load them memory-mapped with no copy, grow them frame by frame, recover them.

>>> import numpy as np, array_files.npy as npy
>>> with npy.Appender("frames.npy", np.uint16, (2, 2)) as out:   # doctest: +SKIP
...     for i in range(3):
...         out.append(np.full((2, 2), i, dtype=np.uint16))        # one frame each
>>> npy.load("frames.npy", mmap_mode="r").shape    # doctest: +SKIP
(3, 2, 2)

Without a dtype and frame shape, the first append gives them, as npy-append-array's does:
its array is frames stacked along the growth axis (a ``(2, 2)`` array is two frames of
``(2,)``).
"""

import operator
import os

import numpy as np

from array_files import _args, _native
from array_files._closing import Closing
from array_files._dtypes import from_descr, to_descr

__all__ = ["load", "read_frames", "info", "Appender", "recover"]


def _is_url(path):
    return isinstance(path, str) and path.split("://", 1)[0] in _URL_SCHEMES and "://" in path


_URL_SCHEMES = {"s3", "s3a", "gs", "az", "abfs", "abfss", "http", "https"}


def _array(raw, descr, shape, fortran_order):
    """A typed array over the ``uint8`` array ``raw`` (its ``.base``), no copy."""
    dtype = from_descr(descr)
    order = "F" if fortran_order else "C"
    if dtype.itemsize == 0 or raw.size == 0:
        return np.ndarray(shape, dtype=dtype, order=order)
    return np.ndarray(shape, dtype=dtype, buffer=raw, order=order)


def load(path, mmap_mode=None):
    """The array in the ``.npy`` file at ``path``, as :func:`numpy.load` gives it.

    ``mmap_mode`` is numpy's: ``None`` reads the array into memory; ``"r"`` maps it read-only,
    ``"r+"`` read-write (changes go to the file), ``"c"`` copy-on-write (changes stay in
    memory). A mapped array views the map with no copy; its ``.base`` keeps the map alive.
    Object arrays (pickles) are refused with ``ValueError``.

    ``path`` may be a URL of object storage (``s3://bucket/key.npy``, ``gs://``, ``az://``,
    ``http(s)://``; credentials and endpoint from the standard environment, ``AWS_*`` ...):
    the array is then read into memory in one request after the header's, and ``mmap_mode``
    must be ``None``.
    """
    if _is_url(path):
        if mmap_mode is not None:
            raise ValueError(f"{path}: an object in storage cannot be mapped; use mmap_mode=None")
        return read_frames(path)
    raw, descr, shape, fortran_order = _native.npy_map(
        os.fsdecode(path), "r" if mmap_mode is None else mmap_mode
    )
    array = _array(raw, descr, shape, fortran_order)
    if mmap_mode is None:
        return array.copy(order="K")
    return array


def read_frames(path, start=None, stop=None):
    """Frames ``[start, stop)`` along the growth axis (axis 0, or the last axis of a Fortran-order
    array) of the ``.npy`` at ``path`` or URL, read into memory by one ranged request: the
    frames' bytes only, never the whole file. ``start`` and ``stop`` follow Python's slice
    rules (negative from the end, clamped to the frame count).

    >>> npy.read_frames("s3://bucket/run.npy", -8)      # doctest: +SKIP
    """
    raw, descr, shape, fortran_order = _native.npy_read_frames(
        os.fsdecode(path), _clamp_index(start), _clamp_index(stop)
    )
    return _array(raw, descr, shape, fortran_order)


def _clamp_index(index):
    """A slice bound as a 64-bit int: beyond that range, the frames' end or start anyway."""
    if index is None:
        return None
    return max(-(1 << 63), min(operator.index(index), (1 << 63) - 1))


def info(path):
    """What ``npy info --json`` prints about the file (a path or URL): path, version, descr,
    shape, ..."""
    return _native.npy_info(os.fsdecode(path))


def recover(path, zero_fill=False, dry_run=False):
    """Repairs what an interrupted appender left (frames past the header's count are adopted,
    a partial frame cut or, with ``zero_fill``, completed with zeros). Returns the report as a
    dict; ``dry_run`` only reports."""
    return _native.npy_recover(os.fsdecode(path), zero_fill, dry_run)


class Appender(Closing):
    """Appends frames along the growth axis of a ``.npy`` file (axis 0, or the last axis in
    Fortran order).

    ``mode``: ``"a"`` opens the file or creates it (the default), ``"w"`` creates it replacing
    any file there, ``"x"`` creates it and refuses an existing file, ``"r+"`` opens an existing
    file only. Creating needs ``dtype`` and ``frame_shape``, or takes them from the first
    appended array (its shape without the growth axis). Appends must match the file's dtype
    exactly (no casting) and its frame shape; they are buffered (``buffer_size`` bytes) and
    reach the file on ``flush``, ``sync`` (durably) and ``close``. Another appender of the same
    file is refused (``BlockingIOError``) unless ``wait=True``.
    Appends are copied (the array may change as soon as ``append`` returns); an error writing
    buffered frames (a full disk) is raised by the call that writes them (an ``append`` that
    fills the buffer, ``flush``, ``sync`` or ``close``), and the file then holds whole frames.
    """

    def __init__(self, path, dtype=None, frame_shape=None, *, mode="a", fortran_order=False,
                 buffer_size=None, wait=False):
        if mode not in ("a", "w", "x", "r+"):
            raise ValueError(f"mode must be 'a', 'w', 'x' or 'r+', not {mode!r}")
        self.path = os.fsdecode(path)
        self._mode = mode
        self._fortran_order = fortran_order
        self._buffer_size = buffer_size
        self._wait = wait
        self._core = None
        self._closed = False
        if dtype is not None and frame_shape is not None:
            self._open(np.dtype(dtype), tuple(frame_shape))
        elif mode == "r+" or (mode == "a" and os.path.exists(self.path)):
            self._open(None, None)
        # Otherwise the first append gives the dtype and frame shape.

    def _open(self, dtype, frame_shape):
        descr = None if dtype is None else to_descr(dtype)
        shape = None if frame_shape is None else _args.shape(frame_shape, "frame_shape")
        self._core = _native.NpyAppenderCore(
            self.path, self._mode, descr, shape, self._fortran_order, self._buffer_size,
            self._wait,
        )

    def _core_for(self, array):
        if self._core is None:
            if self._closed:
                raise ValueError("the appender is closed")
            array = np.asarray(array)
            if array.ndim == 0:
                raise ValueError("a 0-d array has no growth axis to append along")
            frame_shape = array.shape[:-1] if self._fortran_order else array.shape[1:]
            self._open(array.dtype, frame_shape)
        return self._core

    def append(self, array):
        """Appends ``array``: one frame, or frames stacked along the growth axis, of the file's
        exact dtype. Returns the number of frames appended."""
        core = self._core_for(array)
        if not isinstance(array, np.ndarray):
            array = np.asarray(array, dtype=core.dtype)
        return core.append(array)

    def flush(self):
        """Writes the buffered frames, then the header that counts them."""
        if self._core is not None:
            self._core.flush()

    def sync(self):
        """``flush``, with data and header on stable storage (fsync)."""
        if self._core is not None:
            self._core.sync()

    def close(self):
        """Flushes and closes the file (errors surface here). Closing twice does nothing."""
        self._closed = True
        if self._core is not None:
            self._core.close()

    @property
    def closed(self):
        return self._closed

    @property
    def dtype(self):
        """The file's dtype (``None`` before the first append of a file still to be created)."""
        return None if self._core is None else self._core.dtype

    @property
    def shape(self):
        """The array's shape now, appended frames included."""
        return None if self._core is None else tuple(self._core.shape)

    def __len__(self):
        shape = self.shape
        if not shape:
            return 0
        return shape[-1] if self._core.fortran_order else shape[0]


    def __repr__(self):
        try:
            state = "closed" if self._closed else f"shape={self.shape}, dtype={self.dtype}"
        except RuntimeError:  # a forked child's copy, while a parent's thread was writing
            state = "of another process"
        return f"<array_files.npy.Appender {self.path!r} {state}>"
