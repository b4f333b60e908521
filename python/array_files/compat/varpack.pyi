"""Type stubs of array_files.compat.varpack: a drop-in for Varpack (variables as attributes)."""

import os
from collections.abc import Iterable
from typing import Any, Literal, TypeVar, Union

from typing_extensions import Self, TypedDict, Unpack

__all__ = ["Varpack", "mmap_var_to_memory", "JSON_FILENAME", "MISC_VAR_FILENAME", "PICKLE_PROTOCOL"]

# Paths as os.fsdecode takes them.
_Path = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]
_T = TypeVar("_T")
_MmapMode = Literal["r+", "r", "c"]

JSON_FILENAME: str
MISC_VAR_FILENAME: str
PICKLE_PROTOCOL: int

# x with its mapped arrays copied into memory (dicts recursively), else x itself.
def mmap_var_to_memory(x: _T) -> _T: ...

class _LoadOptions(TypedDict, total=False):
    """The options of ``Varpack.load`` that ``Varpack(folder, **options)`` passes on."""

    numpy_mmap_mode: _MmapMode
    stop_on_error: bool
    skip_loading: Iterable[str] | None
    keep_loaded_skips: bool
    allow_pickle: bool

class _SaveOptions(TypedDict, total=False):
    """The options of ``Varpack.save`` that ``save_then_copy`` passes on."""

    max_dict_keys: int
    min_dict_numpy_size: int | None
    sep_var_min_size: float
    sep_vars: Iterable[str] | None
    skip_saving_vars: Iterable[str] | None
    allow_pickle: bool

class Varpack:
    def __init__(self, attached_folder: _Path | None = None, **kwargs: Unpack[_LoadOptions]) -> None: ...
    # The variables are instance attributes: vp.x = np.ones(3); vp.x.
    def __getattr__(self, name: str) -> Any: ...
    def __setattr__(self, name: str, value: Any) -> None: ...
    def get_attached_folder(self) -> str | None: ...
    # A folder is required (None fails an assertion, as in the seed).
    def set_attached_folder(self, attached_folder: _Path | None = None) -> None: ...
    # self when not attached, else a detached copy.
    def detach(self) -> Varpack: ...
    # self, or for another folder than the attached one a detached copy attached there.
    def save(
        self,
        save_folder: _Path | None = None,
        max_dict_keys: int = 1000,
        min_dict_numpy_size: int | None = 10000,
        sep_var_min_size: float = 1e4,
        sep_vars: Iterable[str] | None = None,
        skip_saving_vars: Iterable[str] | None = None,
        allow_pickle: bool = False,
    ) -> Varpack: ...
    def save_then_copy(self, copy_folder: _Path, **kwargs: Unpack[_SaveOptions]) -> Self: ...
    # None when loading failed and stop_on_error is False.
    def load(
        self,
        load_folder: _Path,
        numpy_mmap_mode: _MmapMode = "r+",
        stop_on_error: bool = True,
        skip_loading: Iterable[str] | None = None,
        keep_loaded_skips: bool = False,
        allow_pickle: bool = False,
    ) -> Self | None: ...
