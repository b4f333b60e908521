"""A drop-in for pyctbgui's numpyWriter (``NumpyFileManager``, ``NpzFileWriter``): change the
import, keep the acquisition script.

Both versions of the seed's API are here: the buffered one (``bufferMax``, ``addFrame``,
``flushBuffer(strict)``) and the later one (``writeOneFrame``, ``flush``, ``read``, ``seek``,
indexing). The files are the same plain NPY v1.0 / NPZ files numpy reads.

Differences, each on purpose:

- Frames are appended in the order they are given: mixing ``addFrame`` and ``writeOneFrame``
  keeps that order (the seed reorders them).
- The header counts every frame once it is flushed (``flushBuffer``, ``writeOneFrame``,
  ``close``), data first: a crash leaves a file numpy loads with the frames written, and
  ``array_files.npy.recover`` adopts the rest. Headers of any length, 1-D files (scalar
  frames) and every dtype numpy writes work (the seed requires a 128-byte header).
- ``readFrames`` of a compressed ``.npz`` member reads from the nearest index point instead of
  inflating the member from its start, and frames still in the buffer are visible to reads.
- ``NpzFileWriter.writeArray`` of a key already in the archive raises ``ValueError`` (the seed
  adds a duplicate member that readers then shadow).
- Negative indices and steps in ``npw[a:b]`` follow Python's slicing rules.
"""

import operator
import os

import numpy as np

from array_files import _native
from array_files._args import names as _names
from array_files._args import paths as _paths
from array_files._closing import Closing
from array_files import npy as _npy
from array_files import npz as _npz

__all__ = ["NumpyFileManager", "NpzFileWriter"]

BUFFER_MAX = 500


class _FrameReads:
    """Reading by cursor and by index, over ``frameCount`` and ``readFrames(start, end)``: what
    a file and an archive member share. Indices and slices follow Python's rules (negative
    indices count from the end, steps of any sign)."""

    cursorPosition = 0

    def read(self, frameCount):
        """The next ``frameCount`` frames from the cursor (fewer at the end); moves the cursor."""
        if frameCount <= 0:
            raise ValueError("frameCount must be positive")
        frames = self.readFrames(self.cursorPosition, self.cursorPosition + frameCount)
        self.cursorPosition += len(frames)
        return frames

    def seek(self, frameNumber):
        """Moves the cursor of ``read`` to frame ``frameNumber``."""
        if frameNumber < 0:
            raise ValueError("frameNumber must not be negative")
        self.cursorPosition = frameNumber

    def __getitem__(self, item):
        count = self.frameCount
        if isinstance(item, slice):
            wanted = range(*item.indices(count))
            if not wanted:
                return self.readFrames(0, 0)
            low = min(wanted[0], wanted[-1])
            frames = self.readFrames(low, max(wanted[0], wanted[-1]) + 1)
            if wanted.step == 1:
                return frames
            # The frames read span the slice; pick every step-th, in the slice's order.
            return frames[wanted.start - low :: wanted.step] if wanted.step > 0 else frames[
                np.arange(len(wanted)) * wanted.step + (wanted.start - low)
            ]
        index = operator.index(item)
        if not -count <= index < count:
            raise IndexError(f"frame {item} is out of range for {count} frames")
        return self.readFrames(index % count, index % count + 1)[0]

    def __len__(self):
        return self.frameCount


class NumpyFileManager(_FrameReads, Closing):
    """Frames of a constant shape in one ``.npy`` file: written one by one or buffered, read by
    range, sequentially or by index.

    ``mode``: ``"r"`` reads, ``"r+"`` reads and appends to an existing file, ``"w"`` creates
    (replacing), ``"x"`` creates (refusing an existing file). Writing modes need ``frameShape``
    and ``dtype`` to create. ``file`` may also be a readable file object (a member opened from a
    zip, as the seed's ``NpzFileWriter`` does) in mode ``"r"``.
    """

    def __init__(self, file, mode="r", frameShape=None, dtype=None, bufferMax=BUFFER_MAX,
                 frame_shape=None):
        if frameShape is None:
            frameShape = frame_shape
        if mode not in ("r", "r+", "w", "x"):
            raise ValueError(f"mode must be one of 'r', 'r+', 'w', 'x', not {mode!r}")
        self.mode = mode
        self.file = file
        self._appender = None
        self._source = None
        if not isinstance(file, (str, bytes, os.PathLike)):
            if mode != "r":
                raise ValueError("a file object can only be read (mode 'r')")
            self._source = _FileObjectFrames(file)
            self.dtype, self.frameShape = self._source.dtype, self._source.frame_shape
        elif mode in ("w", "x"):
            if frameShape is None or dtype is None:
                raise ValueError("creating a file needs frameShape and dtype")
            self.dtype, self.frameShape = np.dtype(dtype), tuple(frameShape)
            frame_bytes = max(1, int(np.prod(self.frameShape, dtype=np.int64)) * self.dtype.itemsize)
            self._appender = _npy.Appender(
                file, self.dtype, self.frameShape, mode=mode,
                buffer_size=frame_bytes * (bufferMax + 1),
            )
        else:
            info = _npy.info(file)
            if info["fortran_order"]:
                raise ValueError(f"{file}: Fortran-ordered files have no frames along axis 0")
            self.dtype = _npy.load(file, mmap_mode="r").dtype
            self.frameShape = tuple(info["shape"][1:])
            if frameShape is not None and tuple(frameShape) != self.frameShape:
                raise ValueError(f"{file}: frames of shape {self.frameShape}, not {tuple(frameShape)}")
            if dtype is not None and np.dtype(dtype) != self.dtype:
                raise ValueError(f"{file}: frames of {self.dtype}, not {np.dtype(dtype)}")
            if mode == "r+":
                self._appender = _npy.Appender(file, mode="r+")
        self.cursorPosition = 0  # in frames, for read() and seek()

    # -- writing --------------------------------------------------------------------------

    def _check(self, frame):
        frame = np.asarray(frame)
        if frame.shape != self.frameShape:
            raise ValueError(
                f"frame shape given {frame.shape} is not the same as the file's shape {self.frameShape}"
            )
        if frame.dtype != self.dtype:
            raise ValueError(f"frame dtype given {frame.dtype} is not the same as the file's dtype {self.dtype}")
        if self._appender is None:
            raise ValueError(f"the file is open for reading (mode {self.mode!r})")
        return frame

    def addFrame(self, frame):
        """Buffers one frame (written when the buffer is full, or at ``flushBuffer``/``close``)."""
        frame = self._check(frame)
        self._appender.append(frame)

    def writeOneFrame(self, frame):
        """Writes one frame now, and the header that counts it."""
        frame = self._check(frame)
        self._appender.append(frame)
        self._appender.flush()

    def flushBuffer(self, strict=False):
        """Writes the buffered frames and the header; ``strict`` also fsyncs them."""
        if self._appender is not None:
            self._appender.sync() if strict else self._appender.flush()

    def flush(self):
        """Writes everything and fsyncs it (the later seed's ``flush``)."""
        self.flushBuffer(strict=True)

    def updateHeader(self):
        """Writes the header counting every frame written (buffered frames are written first)."""
        self.flushBuffer()

    @property
    def frameCount(self):
        if self._appender is not None:
            return self._appender.shape[0]
        if self._source is not None:
            return self._source.count
        return _npy.info(self.file)["shape"][0]

    # -- reading --------------------------------------------------------------------------

    def readFrames(self, frameStart, frameEnd):
        """Frames ``[frameStart, frameEnd)`` (fewer past the end), as an array of
        ``(n, *frameShape)``."""
        if self._source is not None:
            return self._source.frames(frameStart, frameEnd)
        if self._appender is not None:
            self._appender.flush()  # buffered frames are readable too
        data = _npy.load(self.file, mmap_mode="r")
        return np.array(data[frameStart:frameEnd])

    def close(self):
        """Writes everything (buffer, then header) and closes the file."""
        if self._appender is not None:
            self._appender.close()
            self._appender = None


class _FileObjectFrames:
    """Frames of an ``.npy`` read from a file object (numpy parses the header)."""

    def __init__(self, fp):
        self.fp = fp
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        if fortran:
            raise ValueError("Fortran-ordered files have no frames along axis 0")
        self.offset = fp.tell()
        self.dtype, self.frame_shape, self.count = dtype, tuple(shape[1:]), shape[0]
        self.frame_len = int(np.prod(self.frame_shape, dtype=np.int64)) * dtype.itemsize

    def frames(self, start, end):
        start, end, _ = slice(start, end).indices(self.count)
        end = max(start, end)
        self.fp.seek(self.offset + start * self.frame_len)
        data = self.fp.read((end - start) * self.frame_len)
        return np.frombuffer(data, self.dtype).reshape((-1,) + self.frame_shape).copy()


class NpzFileWriter(Closing):
    """An ``.npz`` archive: arrays written whole (``writeArray``), frames read back by range
    (``readFrames``), existing ``.npy`` files zipped (``zipNpyFiles``).

    ``mode``: ``"w"`` creates (replacing), ``"x"`` creates (refusing an existing file), ``"a"``
    adds members, ``"r"`` reads. ``compress_file`` deflates the members written.
    """

    def __init__(self, tofile, mode="w", compress_file=False):
        if mode not in ("r", "w", "x", "a"):
            raise ValueError(f"mode must be one of 'r', 'w', 'x', 'a', not {mode!r}")
        self.tofile, self.mode = os.fsdecode(tofile), mode
        self._writer = None if mode == "r" else _npz.Writer(tofile, mode, compress=compress_file)
        self._members = {}

    def writeArray(self, key, data):
        """Adds ``data`` as member ``key`` (``key.npy``); numpy loads it as ``np.load`` would."""
        if self._writer is None:
            raise ValueError("write() requires mode 'w', 'x', or 'a'")
        self._writer.add(key, np.asarray(data))

    def _reader(self):
        if self._writer is not None:
            raise ValueError(f"{self.tofile}: reading needs mode 'r' (or the archive closed)")
        return _npz.open(self.tofile)

    def readFrames(self, file, frameStart, frameEnd):
        """Frames ``[frameStart, frameEnd)`` of member ``file`` (compressed members too, at
        random where they have an index)."""
        return self._reader().frames(file, frameStart, frameEnd)

    def __getitem__(self, item):
        if not isinstance(item, str):
            raise TypeError(f"member names are strings, not {type(item).__name__}")
        if item not in self._members:
            self._members[item] = _MemberFrames(self._reader(), item)
        return self._members[item]

    def namelist(self):
        return sorted(self._reader().files)

    @staticmethod
    def zipNpyFiles(filename, files, fileKeys, deleteOriginals=False, compressed=False):
        """Zips the ``.npy`` files ``files`` into ``filename`` as members ``fileKeys``; the
        originals are deleted (if asked) only once the archive is complete and in place."""
        _native.npz_zip_files(
            os.fsdecode(filename), _names(fileKeys), [os.fsdecode(f) for f in _paths(files)],
            6 if compressed else None, bool(deleteOriginals),
        )

    def close(self):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class _MemberFrames(_FrameReads):
    """A member of an archive read as the seed's ``NpzFileWriter[key]`` gives it."""

    def __init__(self, archive, key):
        _, shape, fortran_order, _, _ = archive._header(key)
        if fortran_order and len(shape) > 1:
            raise ValueError(f"{key}: a Fortran-ordered member has no frames along axis 0")
        self._archive, self._key = archive, key
        self.cursorPosition = 0

    @property
    def frameCount(self):
        descr, shape, fortran_order, _, _ = self._archive._header(self._key)
        return shape[0] if shape else 1

    def readFrames(self, frameStart, frameEnd):
        """Frames ``[frameStart, frameEnd)`` of the member (fewer past the end)."""
        return self._archive.frames(self._key, frameStart, frameEnd)
