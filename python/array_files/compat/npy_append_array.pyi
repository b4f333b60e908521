"""Type stubs of array_files.compat.npy_append_array: a drop-in for npy-append-array."""

import os
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from array_files._closing import Closing

__all__ = [
    "NpyAppendArray",
    "is_appendable",
    "needs_recovery",
    "ensure_appendable",
    "recover",
]

# Paths as os.fsdecode takes them.
_Path = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]

def is_appendable(filename: _Path) -> bool: ...
def needs_recovery(filename: _Path) -> bool: ...
# Returns True (as npy-append-array's).
def ensure_appendable(filename: _Path, inplace: bool = False) -> bool: ...
def recover(filename: _Path, zerofill_incomplete: bool = False) -> bool: ...

class NpyAppendArray(Closing):
    # As given.
    filename: _Path
    def __init__(
        self,
        filename: _Path,
        delete_if_exists: bool = False,
        rewrite_header_on_append: bool = True,
    ) -> None: ...
    # None until the file exists (the first append creates it).
    @property
    def shape(self) -> tuple[int, ...] | None: ...
    @property
    def dtype(self) -> np.dtype[Any] | None: ...
    @property
    def fortran_order(self) -> bool | None: ...
    def append(self, arr: npt.ArrayLike) -> None: ...
    def update_header(self) -> None: ...
    def close(self) -> None: ...
