"""A drop-in for npy-append-array: ``from array_files.compat.npy_append_array import
NpyAppendArray`` and keep the script.

The API and file results are the seed's (``NpyAppendArray(filename, delete_if_exists=False,
rewrite_header_on_append=True)``, ``append``, ``update_header``, ``close``, the context manager,
and the module functions ``is_appendable``, ``needs_recovery``, ``ensure_appendable`` and
``recover``): growth along axis 0 in C order and the last axis in Fortran order, the first
append creates the file, appends from several threads at once are serialized. The appends run
in Rust with the GIL released.

Differences, each on purpose:

- Casting: the seed casts every appended array to the file's dtype silently
  (``astype(copy=False)``); here a cast that keeps every value (``np.can_cast(..., "safe")``,
  e.g. int16 into int32) is done, and one that could lose data (float into int, int64 into
  int32, a byte order the values do not survive ...) raises ``TypeError`` naming both dtypes.
- Files that numpy < 1.24 wrote, whose header has no room to grow, are made appendable on
  open (the header is rewritten, the data moved once) instead of raising ``ValueError``
  (the seed asks for ``ensure_appendable`` first). ``recover`` likewise rewrites such a header.
- Another ``NpyAppendArray`` (or any array_files appender) on the same file, in this process or
  another, is refused with ``BlockingIOError`` rather than silently interleaving appends.
- ``ensure_appendable(path, inplace=...)``: both ways give the same file; the rewrite is always
  the crash-safe one (a new file renamed over the old), which ``inplace=True`` in the seed is not.
"""

import os
import threading

import numpy as np

from array_files import _native
from array_files._closing import Closing
from array_files import npy as _npy
from array_files._dtypes import from_descr

__all__ = [
    "NpyAppendArray",
    "is_appendable",
    "needs_recovery",
    "ensure_appendable",
    "recover",
]


def _header(filename):
    offset, descr, shape, fortran_order, growth_room, file_len = _native.npy_header(
        os.fsdecode(filename)
    )
    return offset, from_descr(descr), tuple(shape), fortran_order, growth_room, file_len


def is_appendable(filename):
    """Whether the header has room for the shape to grow in place (numpy >= 1.24 headers and
    every header written here have it). The seed asks for room for 21 digits, this for the 20
    a 64-bit count can have, so a few old headers are appendable here and not there."""
    return _header(filename)[4]


def needs_recovery(filename):
    """Whether the data after the header is not what the header accounts for (an appender
    was interrupted, or the file was cut short)."""
    return _needs_recovery(_header(filename))


def _needs_recovery(header):
    offset, dtype, shape, _, _, file_len = header
    if dtype.hasobject:
        return False
    return file_len - offset != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize


def ensure_appendable(filename, inplace=False):
    """Makes the header of ``filename`` able to grow (rewriting it, crash-safely, only if it
    cannot). Returns True. ``inplace`` is accepted for compatibility; see the module docs."""
    del inplace
    if is_appendable(filename):
        return True
    _npy.Appender(filename, mode="r+").close()  # opening rewrites a header without room
    return True


def recover(filename, zerofill_incomplete=False):
    """Adopts frames an interrupted appender wrote past the header's count, cutting a torn last
    frame (or completing it with zeros if ``zerofill_incomplete``). Returns True."""
    _npy.recover(filename, zero_fill=bool(zerofill_incomplete))
    return True


class NpyAppendArray(Closing):
    """Appends arrays to the ``.npy`` file ``filename`` along its growth axis."""

    def __init__(self, filename, delete_if_exists=False, rewrite_header_on_append=True):
        self.filename = filename
        self._rewrite = rewrite_header_on_append
        self._lock = threading.Lock()
        self._appender = None
        if os.path.exists(filename):
            if delete_if_exists:
                os.unlink(filename)
            else:
                self._open()

    def _open(self):
        header = _header(self.filename)
        if header[1].hasobject:
            raise ValueError("Object arrays cannot be appended to")
        if _needs_recovery(header):
            raise ValueError(
                f"cannot append to {self.filename}: file needs recovery, please call "
                "npy_append_array.recover"
            )
        self._appender = _npy.Appender(self.filename, mode="r+")

    @property
    def shape(self):
        return None if self._appender is None else self._appender.shape

    @property
    def dtype(self):
        return None if self._appender is None else self._appender.dtype

    @property
    def fortran_order(self):
        return None if self._appender is None else self._appender._core.fortran_order

    def append(self, arr):
        """Appends ``arr``, whose shape may differ from the file's only on the growth axis."""
        arr = np.asanyarray(arr)
        with self._lock:
            if self._appender is None:
                if arr.dtype.hasobject:
                    raise ValueError("Object arrays cannot be appended to")
                if arr.ndim == 0:
                    raise ValueError("a 0-d array has no axis to append along")
                fortran = bool(arr.flags.f_contiguous and not arr.flags.c_contiguous)
                frame_shape = arr.shape[:-1] if fortran else arr.shape[1:]
                self._appender = _npy.Appender(
                    self.filename, arr.dtype, frame_shape, mode="w", fortran_order=fortran
                )
            else:
                shape, fortran = self._appender.shape, self.fortran_order
                same = (
                    arr.ndim == len(shape)
                    and (arr.shape[:-1] == shape[:-1] if fortran else arr.shape[1:] == shape[1:])
                )
                if not same:
                    raise ValueError(
                        "array shapes can only differ on append axis: "
                        "0 if C order or -1 if fortran order"
                    )
                arr = self._cast(arr)
            self._appender.append(arr)
            if self._rewrite:
                self._appender.flush()

    def _cast(self, arr):
        dtype = self._appender.dtype
        if arr.dtype == dtype:
            return arr
        if np.can_cast(arr.dtype, dtype, casting="safe"):
            return arr.astype(dtype)
        raise TypeError(
            f"cannot append {arr.dtype.str} to {self.filename} of {dtype.str} without losing "
            "data (npy_append_array would cast silently); convert with arr.astype(...) first"
        )

    def update_header(self):
        """Writes the appended data and the header that counts it."""
        with self._lock:
            if self._appender is not None:
                self._appender.flush()

    def close(self):
        """Writes everything and closes the file."""
        with self._lock:
            if self._appender is not None:
                self._appender.close()
                self._appender = None


