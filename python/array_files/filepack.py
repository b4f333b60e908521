"""Pack a directory tree with millions of files into one file; read any file back in O(1),
with no copy, from many threads and processes at once.

>>> import array_files.filepack as fp
>>> fp.pack("dataset/", "dataset.fpack")                      # doctest: +SKIP
>>> pack = fp.Pack("dataset.fpack")                           # doctest: +SKIP
>>> data = pack.read("train/0001.png")                        # a memoryview, no copy
>>> batch = pack.read_many(["train/0001.png", "train/0002.png"])
>>> with pack.open("labels.json", "r") as f: labels = json.load(f)
"""

import io
import os
import stat as _stat

from array_files import _native
from array_files._args import names, non_negative
from array_files._closing import Closed, Closing

__all__ = ["pack", "Pack", "PackedFile"]

_OPTIONS = (
    "skip_hidden", "follow_links", "include_ext", "exclude_ext", "include_glob",
    "exclude_glob", "alignment", "threads", "sync", "replace",
)


def pack(src_dir, out, progress=False, **options):
    """Packs the directory tree ``src_dir`` into the pack file ``out``; returns a summary dict
    (entries, files, dirs, symlinks, bytes, pack_len).

    Options (the ``treepack pack`` flags): ``skip_hidden``, ``follow_links``, ``include_ext`` /
    ``exclude_ext`` (lists of extensions), ``include_glob`` / ``exclude_glob`` (lists of
    patterns), ``alignment``, ``threads``, ``sync`` (fsync before the rename), ``replace`` (an existing
    ``out`` is replaced, atomically, unless ``replace=False``, which refuses it); ``progress``
    prints the build's progress on stderr.
    """
    for key in ("include_glob", "exclude_glob", "include_ext", "exclude_ext"):
        if options.get(key) is not None:
            options[key] = names(options[key])
    for key in ("threads", "alignment"):
        non_negative(options.get(key), key)
    unknown = set(options) - set(_OPTIONS)
    if unknown:
        raise TypeError(f"pack() got unexpected options {sorted(unknown)}")
    options["progress"] = bool(progress)
    return _native.pack_dir(os.fsdecode(src_dir), os.fsdecode(out), options)


def _entry(path):
    """A path inside a pack given as ``str``, ``os.PathLike`` or ``bytes``, as a ``str`` (the
    pack's table holds ``/``-separated paths relative to its root; on POSIX, a ``PurePath``'s
    text is that)."""
    return os.fsdecode(path)


class Pack(Closing):
    """A pack file open for reading: O(1) to open, O(1) per lookup, reads with no copy.

    ``path`` may also be a URL of object storage (``s3://bucket/key.fpack``, ``gs://``, ``az://``,
    ``http(s)://``; credentials and endpoint from the standard environment, ``AWS_*`` ...): the
    open then fetches the header and the tables in at most two requests whatever the number of
    entries, lookups and listings cost none, and each read fetches only the file's bytes.

    Paths are relative to the pack's root, ``/``-separated. A ``Pack`` is safe to share between
    threads, survives ``fork``, and pickles (it reopens by path), so ``DataLoader`` workers each
    get one.
    """

    def __init__(self, path, verify=False):
        self.path = os.fsdecode(path)
        self._verify = verify
        self._core = _native.PackCore(self.path, verify)
        # One read-only memoryview of the whole pack; every read is a slice of it. Its base
        # chain (uint8 array -> core) keeps the map alive while any slice lives. A pack in
        # object storage has none: its reads are bytes fetched by range.
        whole = self._core.whole()
        self._view = None if whole is None else memoryview(whole)
        self._files = None  # the file list, made on first use: a pack never changes

    def read(self, path):
        """The contents of the file at ``path`` as a read-only ``memoryview`` over the map (no
        copy; ``bytes(...)`` copies it). ``FileNotFoundError`` for a missing entry,
        ``IsADirectoryError`` for a directory. For a pack in object storage (``Pack("s3://...")``)
        the contents are ``bytes``, fetched by one ranged request."""
        if type(path) is not str:
            path = _entry(path)
        return self._core.read(self._view, path)

    def read_many(self, paths):
        """The contents of every file in ``paths`` (a list of memoryviews), looked up together
        without the GIL: the fastest way to fetch a batch. For a pack in object storage, a list
        of ``bytes`` fetched by one coalesced call (nearby files share a request, the requests
        run concurrently)."""
        if isinstance(paths, (str, bytes, os.PathLike)):
            raise TypeError(f"read_many takes a list of paths, not one ({paths!r}): read() reads one")
        paths = list(paths)
        try:
            return self._core.read_many(self._view, paths)
        except TypeError:
            # Raised while the list is converted, before any read: paths other than str.
            return self._core.read_many(self._view, [_entry(p) for p in paths])

    def read_bytes(self, path):
        """The contents of the file at ``path`` as ``bytes`` (a copy)."""
        return bytes(self.read(path))

    def read_text(self, path, encoding="utf-8", errors="strict"):
        """The contents of the file at ``path`` decoded as text."""
        return str(self.read(path), encoding, errors)

    def open(self, path, mode="rb", encoding=None, errors=None, newline=None):
        """The file at ``path`` as a file object (``"rb"``: binary, ``"r"``: text), reading
        the map with no copy; what PIL, ``np.load`` and ``json.load`` take."""
        if mode not in ("rb", "r", "rt"):
            raise ValueError(f"mode must be 'rb' or 'r': packs are read-only, not {mode!r}")
        raw = PackedFile(memoryview(self.read(path)), _entry(path))
        if mode == "rb":
            return raw
        return io.TextIOWrapper(
            io.BufferedReader(raw), encoding=encoding or "utf-8", errors=errors, newline=newline
        )

    def listdir(self, path=""):
        """The names in directory ``path``, like ``os.listdir``."""
        return self._core.listdir(_entry(path))

    def walk(self, top=""):
        """``os.walk`` over the pack: ``(dirpath, dirnames, filenames)`` for each directory,
        top-down (symlinks listed with the files, not followed)."""
        for dirpath, dirnames, filenames in self._core.walk(_entry(top)):
            yield dirpath, dirnames, filenames

    def exists(self, path):
        return self._core.exists(_entry(path))

    def isfile(self, path):
        return self._core.isfile(_entry(path))

    def isdir(self, path):
        return self._core.isdir(_entry(path))

    def readlink(self, path):
        return self._core.readlink(_entry(path))

    def stat(self, path, follow_symlinks=True):
        """An ``os.stat_result`` for ``path`` (mode with its file type, size, mtime)."""
        kind, size, mode, secs, nanos, _ = self._core.stat(_entry(path), follow_symlinks)
        type_bits = {"file": _stat.S_IFREG, "dir": _stat.S_IFDIR, "symlink": _stat.S_IFLNK}[kind]
        mtime = secs + nanos / 1e9
        return os.stat_result(
            (type_bits | (mode & 0o7777), 0, 0, 1, 0, 0, size, mtime, mtime, mtime)
        )

    def verify(self):
        """Reads every file and checks its checksum (``ValueError`` naming the first bad one);
        returns the number of files checked."""
        return self._core.verify()

    def files(self):
        """Every file's path, in table order."""
        if self._files is None:
            self._files = self._core.files()
        return list(self._files)

    def __len__(self):
        if self._files is None:
            self._files = self._core.files()
        return len(self._files)

    def __iter__(self):
        return iter(self.files())

    def __contains__(self, path):
        return self._core.exists(_entry(path))

    def __reduce__(self):
        # Pickles by path: a worker process reopens (and maps) the pack itself.
        return (Pack, (self.path, self._verify))

    def close(self):
        """Drops this object's reference to the map (reads still alive keep it open); any later
        use raises ``ValueError``, as a closed file's does."""
        self._view = None
        self._core = Closed("pack", self.path)
        self._files = None

    @property
    def closed(self):
        return isinstance(self._core, Closed)


    def __repr__(self):
        return f"<array_files.filepack.Pack {self.path!r}>"


class PackedFile(io.RawIOBase):
    """A read-only, seekable binary file over a file's bytes in the pack (no copy)."""

    def __init__(self, view, name=None):
        super().__init__()
        self._view = view
        self._pos = 0
        self.name = name

    def readable(self):
        return True

    def seekable(self):
        return True

    def readinto(self, buffer):
        if self.closed:
            raise ValueError("I/O operation on closed file")
        chunk = self._view[self._pos:self._pos + len(buffer)]
        n = len(chunk)
        memoryview(buffer).cast("B")[:n] = chunk
        self._pos += n
        return n

    def read(self, size=-1):
        if self.closed:
            raise ValueError("I/O operation on closed file")
        end = len(self._view) if size is None or size < 0 else min(len(self._view), self._pos + size)
        data = bytes(self._view[self._pos:end])
        self._pos = max(self._pos, end)
        return data

    def readall(self):
        return self.read()

    def seek(self, offset, whence=io.SEEK_SET):
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = len(self._view) + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        self._pos = pos
        return pos

    def tell(self):
        return self._pos

    def getbuffer(self):
        """The file's bytes, as a memoryview (no copy)."""
        return self._view

    def getvalue(self):
        """The file's bytes, as ``bytes`` (a copy), as ``io.BytesIO.getvalue`` gives them."""
        if self.closed:
            raise ValueError("I/O operation on closed file")
        return bytes(self._view)
