"""Type stubs of array_files.npz: NPZ archives read as a mapping of arrays (frames at
random), written whole or streamed."""

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, SupportsIndex, Union

import numpy as np
import numpy.typing as npt

from array_files._closing import Closing

__all__ = ["open", "index", "NpzFile", "Writer", "MemberWriter", "savez", "savez_compressed"]

# Paths as os.fsdecode takes them.
_Path = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]

def open(path: _Path) -> NpzFile: ...
def index(
    path: _Path, keys: Iterable[str] = (), span: int | None = None, sidecar: bool = False
) -> dict[str, tuple[int, int, str | None]]: ...
def savez(path: _Path, *args: npt.ArrayLike, **arrays: npt.ArrayLike) -> None: ...
def savez_compressed(path: _Path, *args: npt.ArrayLike, **arrays: npt.ArrayLike) -> None: ...

class NpzFile(Mapping[str, npt.NDArray[Any]], Closing):
    # The keys, as np.load's NpzFile.files lists them.
    files: list[str]
    def __init__(self, path: _Path) -> None: ...
    @property
    def path(self) -> str: ...
    # A key, or its member name ("x.npy").
    def __getitem__(self, key: str) -> npt.NDArray[Any]: ...
    def frames(
        self, key: str, start: SupportsIndex | None = 0, stop: SupportsIndex | None = None
    ) -> npt.NDArray[Any]: ...
    def info(self) -> list[dict[str, Any]]: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...
    def __contains__(self, key: object) -> bool: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...

class Writer(Closing):
    path: str
    def __init__(
        self,
        path: _Path,
        mode: Literal["w", "x", "a"] = "w",
        compress: bool = False,
        level: int = 6,
    ) -> None: ...
    def add(self, key: str, array: npt.ArrayLike) -> None: ...
    def member(
        self,
        key: str,
        dtype: npt.DTypeLike,
        frame_shape: Sequence[SupportsIndex],
        fortran_order: bool = False,
    ) -> MemberWriter: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...
    # An exception leaving the block aborts the archive, and is never suppressed.
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]: ...

class MemberWriter(Closing):
    key: str
    dtype: np.dtype[Any]
    frame_shape: tuple[int, ...]
    fortran_order: bool
    closed: bool
    # Frames appended so far.
    frames: int
    # Made by Writer.member.
    def __init__(
        self,
        writer: Writer,
        key: str,
        dtype: np.dtype[Any],
        frame_shape: tuple[int, ...],
        fortran_order: bool,
    ) -> None: ...
    def append(self, frames: npt.ArrayLike) -> int: ...
    def flush(self) -> None: ...
    # The member's shape; None when it was closed already.
    def close(self) -> tuple[int, ...] | None: ...
