"""Dtypes to and from the descr literals of NPY headers (numpy's own conversions)."""

import ast
import functools

import numpy as np
from numpy.lib import format as _format


@functools.lru_cache(maxsize=1024)
def from_descr(descr: str) -> np.dtype:
    """The dtype of a descr literal as an NPY header writes it: ``'<f8'`` or a field list."""
    return _format.descr_to_dtype(ast.literal_eval(descr))


def to_descr(dtype) -> str:
    """The descr literal numpy's ``np.save`` writes for ``dtype``."""
    return repr(_format.dtype_to_descr(np.dtype(dtype)))
