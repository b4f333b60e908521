"""array_files.compat.npy_append_array against the seed itself (npy-append-array, installed in
the test venv): the same calls give the same files."""

import os
import shutil
import threading

import numpy as np
import pytest

import npy_append_array as seed
from npy_append_array.npy_append_array import needs_recovery as seed_needs_recovery
from array_files.compat import npy_append_array as compat


def run(module, path, arrays, **kwargs):
    with module.NpyAppendArray(str(path), **kwargs) as out:
        for a in arrays:
            out.append(a)
    return np.load(path)


def test_the_seeds_readme_example_gives_the_same_file(tmp):
    arr1 = np.array([[1, 2], [3, 4]])
    arr2 = np.array([[1, 2], [3, 4], [5, 6]])
    ours = run(compat, tmp / "ours.npy", [arr1, arr2, arr2])
    theirs = run(seed, tmp / "seed.npy", [arr1, arr2, arr2])
    np.testing.assert_array_equal(ours, theirs)
    assert ours.dtype == theirs.dtype
    # Both write numpy's own header: the files are the same bytes.
    assert (tmp / "ours.npy").read_bytes() == (tmp / "seed.npy").read_bytes()


@pytest.mark.parametrize("rewrite", [True, False])
def test_fortran_arrays_grow_along_the_last_axis(tmp, rewrite):
    a = np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3))
    b = np.asfortranarray(np.arange(4, dtype="<f4").reshape(2, 2))
    ours = run(compat, tmp / "o.npy", [a, b], rewrite_header_on_append=rewrite)
    assert ours.shape == (2, 5) and ours.flags.f_contiguous
    np.testing.assert_array_equal(ours, np.concatenate([a, b], axis=1))


def test_appending_to_existing_files_and_delete_if_exists(tmp):
    path = tmp / "a.npy"
    np.save(path, np.zeros((2, 3), "<i8"))
    run(compat, path, [np.ones((1, 3), "<i8")])
    np.testing.assert_array_equal(np.load(path), [[0, 0, 0], [0, 0, 0], [1, 1, 1]])
    run(compat, path, [np.full((1, 2), 7, "<u1")], delete_if_exists=True)
    assert np.load(path).shape == (1, 2) and np.load(path).dtype == np.uint8
    with compat.NpyAppendArray(str(path)) as out:
        assert out.shape == (1, 2) and out.dtype == np.uint8 and out.fortran_order is False
        with pytest.raises(ValueError, match="append axis"):
            out.append(np.zeros((1, 3), "<u1"))


def test_safe_casts_are_done_and_lossy_ones_refused(tmp):
    path = tmp / "a.npy"
    with compat.NpyAppendArray(str(path)) as out:
        out.append(np.zeros((1, 2), "<i4"))
        out.append(np.array([[1, 2]], "<i2"))  # int16 fits int32: cast, as the seed does
        with pytest.raises(TypeError, match="without losing data"):
            out.append(np.array([[1.5, 2.5]]))  # the seed would truncate to 1, 2
    np.testing.assert_array_equal(np.load(path), [[0, 0], [1, 2]])


def test_threads_append_through_one_instance(tmp):
    path = tmp / "a.npy"
    out = compat.NpyAppendArray(str(path))
    out.append(np.full((1, 8), -1, "<i8"))

    def work(k):
        for i in range(200):
            out.append(np.full((1, 8), k * 1000 + i, "<i8"))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.close()
    data = np.load(path)
    assert data.shape == (801, 8)
    assert (data == data[:, :1]).all()  # every row whole
    assert sorted(data[1:, 0]) == sorted(k * 1000 + i for k in range(4) for i in range(200))


def header_without_room(path, array):
    """An .npy as numpy < 1.24 wrote it: the header padded to 64 bytes, no room to grow."""
    d = {"descr": np.lib.format.dtype_to_descr(array.dtype), "fortran_order": False,
         "shape": array.shape}
    text = repr(d).encode("latin1")
    pad = (64 - (10 + len(text) + 1) % 64) % 64
    header = b"\x93NUMPY\x01\x00" + (len(text) + pad + 1).to_bytes(2, "little") + text
    path.write_bytes(header + b" " * pad + b"\n" + array.tobytes())


def array_without_room(path, dtype):
    """An array whose old-style header (written to `path`) leaves no room to grow: the seed's
    own `is_appendable` and ours say so."""
    for k in range(1, 65):
        # A field name of k letters moves the header's length through every padding.
        fields = np.dtype([("v" * k, dtype)])
        array = np.arange(12, dtype=dtype).reshape(3, 4).view(fields)[..., 0]
        header_without_room(path, np.ascontiguousarray(array))
        if not seed.is_appendable(str(path)) and not compat.is_appendable(path):
            return np.ascontiguousarray(array)
    raise AssertionError("no shape gave a header without room")


@pytest.mark.parametrize("inplace", [False, True])
def test_ensure_appendable_matches_the_seed(tmp, inplace):
    array = array_without_room(tmp / "ours.npy", "<u2")
    shutil.copy(tmp / "ours.npy", tmp / "seed.npy")
    assert not compat.is_appendable(tmp / "ours.npy")
    assert not seed.is_appendable(str(tmp / "seed.npy"))
    assert compat.ensure_appendable(tmp / "ours.npy", inplace=inplace)
    assert seed.ensure_appendable(str(tmp / "seed.npy"), inplace=inplace)
    assert compat.is_appendable(tmp / "ours.npy")
    np.testing.assert_array_equal(np.load(tmp / "ours.npy"), np.load(tmp / "seed.npy"))
    assert (tmp / "ours.npy").read_bytes() == (tmp / "seed.npy").read_bytes()
    run(compat, tmp / "ours.npy", [array[:1]])
    assert np.load(tmp / "ours.npy").shape == (4,) + array.shape[1:]


def test_files_without_room_become_appendable_on_open(tmp):
    array = array_without_room(tmp / "a.npy", "<f8")
    assert not compat.is_appendable(tmp / "a.npy")
    run(compat, tmp / "a.npy", [array])
    np.testing.assert_array_equal(np.load(tmp / "a.npy"), np.concatenate([array, array]))


@pytest.mark.parametrize("zerofill", [False, True])
def test_recover_matches_the_seed_on_a_half_truncated_file(tmp, zerofill):
    path = tmp / "ours.npy"
    with compat.NpyAppendArray(str(path), rewrite_header_on_append=False) as out:
        out.append(np.arange(8, dtype="<i4").reshape(2, 4))
    # An appender killed mid-frame: a frame and a half past the header's count.
    with open(path, "ab") as f:
        f.write(np.arange(8, 14, dtype="<i4").tobytes())
    shutil.copy(path, tmp / "seed.npy")
    assert compat.needs_recovery(path) and seed_needs_recovery(str(tmp / "seed.npy"))
    with pytest.raises(ValueError, match="recover"):
        compat.NpyAppendArray(str(path))
    assert compat.recover(path, zerofill_incomplete=zerofill)
    assert seed.recover(str(tmp / "seed.npy"), zerofill_incomplete=zerofill)
    ours, theirs = np.load(path), np.load(tmp / "seed.npy")
    np.testing.assert_array_equal(ours, theirs)
    assert ours.shape == ((4, 4) if zerofill else (3, 4))
    assert not compat.needs_recovery(path)


def test_refusals(tmp):
    path = tmp / "o.npy"
    np.save(path, np.array([None, {}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="Object arrays"):
        compat.NpyAppendArray(str(path))
    first = compat.NpyAppendArray(str(tmp / "a.npy"))
    first.append(np.zeros((1, 2)))
    with pytest.raises(BlockingIOError):
        compat.NpyAppendArray(str(tmp / "a.npy"))
    first.close()
