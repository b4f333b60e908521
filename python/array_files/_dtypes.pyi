"""Type stubs of array_files._dtypes: dtypes to and from the descr literals of NPY headers."""

from typing import Any

import numpy as np
import numpy.typing as npt

# functools.lru_cache-wrapped at runtime.
def from_descr(descr: str) -> np.dtype[Any]: ...
def to_descr(dtype: npt.DTypeLike) -> str: ...
