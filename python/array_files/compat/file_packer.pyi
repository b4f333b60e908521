"""Type stubs of array_files.compat.file_packer: a drop-in for FilePacker."""

import io
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Literal, Union, overload

from _typeshed import SupportsWrite

from array_files.filepack import PackedFile

__all__ = ["FilePackReader", "pack_directory_contents", "main"]

# Paths as os.fsdecode takes them.
_Path = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]

# The summary of array_files.filepack.pack: entries, files, dirs, symlinks, bytes, pack_len.
def pack_directory_contents(
    top_dir: _Path,
    pack_file: _Path,
    permitted_exts: Iterable[str] = (),
    excluded_exts: Iterable[str] = (),
    skip_hidden: bool = True,
    follow_links: bool = True,
    verbose: bool = False,
    force: bool = True,
) -> dict[str, int]: ...

class FilePackReader:
    file: str
    # The prefix of query paths ("" for none).
    base_path: str
    def __init__(
        self,
        file: _Path,
        base_path: str = "",
        verbose: bool = False,
        multiprocess_lock: bool = True,
    ) -> None: ...
    def read_bytes(self, filepath: _Path, exclude_base_path: bool = False) -> bytes: ...
    @overload
    def open(
        self, filepath: _Path, mode: Literal["rb"] = "rb", exclude_base_path: bool = False
    ) -> PackedFile: ...
    # Text: the decoded contents in a StringIO, as the seed gives.
    @overload
    def open(
        self, filepath: _Path, mode: Literal["r"], exclude_base_path: bool = False
    ) -> io.StringIO: ...
    @overload
    def open(
        self, filepath: _Path, mode: str, exclude_base_path: bool = False
    ) -> PackedFile | io.StringIO: ...
    def listdir(self, dirpath: _Path = "", exclude_base_dir: bool = False) -> list[str]: ...
    # walk(True) is the seed's walk(exclude_base_path=True).
    def walk(
        self, top: _Path | bool = "", exclude_base_path: bool = False, sort_entries: bool = False
    ) -> Iterator[tuple[str, list[str], list[str]]]: ...
    def exists(self, path: _Path, exclude_base_path: bool = False) -> bool: ...
    def isfile(self, path: _Path, exclude_base_path: bool = False) -> bool: ...
    def isdir(self, path: _Path, exclude_base_path: bool = False) -> bool: ...
    def __len__(self) -> int: ...
    def print_directory_structure(
        self,
        ignore_base_path: bool = False,
        directories_only: bool = False,
        indentation: int = 3,
        file: SupportsWrite[str] | None = None,
    ) -> None: ...

# The command line (argv: sys.argv[1:] when None); returns the exit status.
def main(argv: Sequence[str] | None = None) -> int: ...
