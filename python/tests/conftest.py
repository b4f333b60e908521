"""Shared fixtures of the array_files test suite (run by `cargo xtask test`)."""

import os
import signal
import time

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


@pytest.fixture
def s3():
    """Uploads to the S3-compatible server `cargo xtask test` starts (moto): `s3(key, data)`
    puts `data` (bytes) under a key of this test run's own and returns its `s3://` URL."""
    import os
    import uuid

    bucket = os.environ.get("ARRAY_FILES_TEST_BUCKET")
    if not bucket:
        pytest.skip("needs the S3 server `cargo xtask test` starts (ARRAY_FILES_TEST_BUCKET)")
    import boto3

    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    run = uuid.uuid4().hex

    def put(key, data):
        client.put_object(Bucket=bucket, Key=f"{run}/{key}", Body=data)
        return f"s3://{bucket}/{run}/{key}"

    return put


def wait_or_kill(pid, seconds=20):
    """The child's exit code, or None (and the child killed) if it is still running after
    ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None
