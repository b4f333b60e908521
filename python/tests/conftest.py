"""Shared fixtures of the array_files test suite (run by `cargo xtask test`)."""

import numpy as np
import pytest

# Every kind of dtype numpy writes to an NPY header, both byte orders where they have one.
DTYPES = [
    "?", "i1", "u1", "<i2", ">i2", "<u2", "<i4", ">i4", "<u4", "<i8", ">u8",
    "<f2", ">f2", "<f4", ">f4", "<f8", ">f8", "<c8", ">c16",
    "S1", "S7", "<U1", ">U5", "V3", "<M8[ns]", ">m8[s]", "<M8[D]",
    [("a", "<f4"), ("b", "S3", (2,))],
    [("x", ">i2"), ("nested", [("p", "u1"), ("q", "<f8")])],
    np.dtype({"names": ["a", "b"], "formats": ["<i4", "<f8"], "offsets": [0, 8], "itemsize": 24}),
]


def sample(dtype, shape, seed=0):
    """A deterministic array of `dtype` and `shape` whose bytes are all over the place."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    count = int(np.prod(shape)) if shape else 1
    raw = rng.integers(0, 256, size=count * dtype.itemsize, dtype=np.uint8)
    array = np.frombuffer(raw.tobytes(), dtype=dtype).reshape(shape).copy()
    if dtype.kind == "f" or dtype.kind == "c":
        array[np.isnan(array)] = 0  # NaN != NaN would make equality checks useless
    return array


def same(a, b):
    """Whether two arrays hold the same values bit for bit (NaNs included), field by field, so
    that padding bytes between fields (which numpy does not copy) do not count."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.names:
        return all(same(a[name], b[name]) for name in a.dtype.names)
    return np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


@pytest.fixture
def tmp(tmp_path):
    return tmp_path
