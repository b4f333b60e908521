"""Type stubs of array_files.npy: NPY files loaded memory-mapped, grown frame by frame,
recovered."""

import os
from collections.abc import Sequence
from typing import Any, Literal, SupportsIndex, Union

import numpy as np
import numpy.typing as npt

from array_files._closing import Closing

__all__ = ["load", "read_frames", "info", "Appender", "recover"]

# Paths as os.fsdecode takes them.
_Path = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]
# numpy's mmap_mode names; None reads into memory.
_MmapMode = Literal["r", "r+", "c", "readonly", "readwrite", "copyonwrite"]

def load(path: _Path, mmap_mode: _MmapMode | None = None) -> npt.NDArray[Any]: ...
def read_frames(
    path: _Path, start: SupportsIndex | None = None, stop: SupportsIndex | None = None
) -> npt.NDArray[Any]: ...
def info(path: _Path) -> dict[str, Any]: ...
def recover(path: _Path, zero_fill: bool = False, dry_run: bool = False) -> dict[str, Any]: ...

class Appender(Closing):
    path: str
    def __init__(
        self,
        path: _Path,
        dtype: npt.DTypeLike | None = None,
        frame_shape: Sequence[SupportsIndex] | None = None,
        *,
        mode: Literal["a", "w", "x", "r+"] = "a",
        fortran_order: bool = False,
        buffer_size: int | None = None,
        wait: bool = False,
    ) -> None: ...
    def append(self, array: npt.ArrayLike) -> int: ...
    def flush(self) -> None: ...
    def sync(self) -> None: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def dtype(self) -> np.dtype[Any] | None: ...
    @property
    def shape(self) -> tuple[int, ...] | None: ...
    def __len__(self) -> int: ...
