"""Type stubs of array_files.compat.numpy_writer: a drop-in for pyctbgui's numpyWriter."""

import os
from collections.abc import Iterable, Sequence
from typing import Any, Literal, Protocol, SupportsIndex, Union, overload

import numpy as np
import numpy.typing as npt

from array_files._closing import Closing
from array_files.npz import NpzFile

__all__ = ["NumpyFileManager", "NpzFileWriter"]

# Paths as os.fsdecode takes them.
_Path = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]

class _ReadableFile(Protocol):
    """A binary file object numpy reads an ``.npy`` from (a zip member, say)."""

    def read(self, size: int = ..., /) -> bytes: ...
    def seek(self, offset: int, whence: int = ..., /) -> int: ...
    def tell(self) -> int: ...

BUFFER_MAX: int

class _FrameReads:
    """Reading by cursor and by index: what a file and an archive member share."""

    # The frame the next read starts at.
    cursorPosition: int
    def read(self, frameCount: int) -> npt.NDArray[Any]: ...
    def seek(self, frameNumber: int) -> None: ...
    @overload
    def __getitem__(self, item: slice) -> npt.NDArray[Any]: ...
    # One frame: an array, or a numpy scalar for scalar frames.
    @overload
    def __getitem__(self, item: SupportsIndex) -> Any: ...
    def __len__(self) -> int: ...

class NumpyFileManager(_FrameReads, Closing):
    mode: str
    file: _Path | _ReadableFile
    dtype: np.dtype[Any]
    frameShape: tuple[int, ...]
    def __init__(
        self,
        file: _Path | _ReadableFile,
        mode: Literal["r", "r+", "w", "x"] = "r",
        frameShape: Sequence[SupportsIndex] | None = None,
        dtype: npt.DTypeLike | None = None,
        bufferMax: int = 500,
        frame_shape: Sequence[SupportsIndex] | None = None,
    ) -> None: ...
    def addFrame(self, frame: npt.ArrayLike) -> None: ...
    def writeOneFrame(self, frame: npt.ArrayLike) -> None: ...
    def flushBuffer(self, strict: bool = False) -> None: ...
    def flush(self) -> None: ...
    def updateHeader(self) -> None: ...
    @property
    def frameCount(self) -> int: ...
    def readFrames(self, frameStart: int, frameEnd: int) -> npt.NDArray[Any]: ...
    def close(self) -> None: ...

class NpzFileWriter(Closing):
    tofile: str
    mode: str
    def __init__(
        self,
        tofile: _Path,
        mode: Literal["r", "w", "x", "a"] = "w",
        compress_file: bool = False,
    ) -> None: ...
    def writeArray(self, key: str, data: npt.ArrayLike) -> None: ...
    def readFrames(
        self, file: str, frameStart: SupportsIndex | None, frameEnd: SupportsIndex | None
    ) -> npt.NDArray[Any]: ...
    def __getitem__(self, item: str) -> _MemberFrames: ...
    def namelist(self) -> list[str]: ...
    @staticmethod
    def zipNpyFiles(
        filename: _Path,
        files: Iterable[_Path],
        fileKeys: Iterable[str],
        deleteOriginals: bool = False,
        compressed: bool = False,
    ) -> None: ...
    def close(self) -> None: ...

class _MemberFrames(_FrameReads):
    """A member of an archive as ``NpzFileWriter[key]`` gives it."""

    def __init__(self, archive: NpzFile, key: str) -> None: ...
    @property
    def frameCount(self) -> int: ...
    def readFrames(
        self, frameStart: SupportsIndex | None, frameEnd: SupportsIndex | None
    ) -> npt.NDArray[Any]: ...
