"""array_files.npz against numpy: archives numpy reads, archives numpy writes, random access."""

import gc
import os
import zipfile

import numpy as np
import pytest

import array_files.npz as npz
from array_files import _native
from conftest import DTYPES, same, sample, wait_or_kill


def ids(dtype):
    return str(np.dtype(dtype)) if not isinstance(dtype, str) else dtype


@pytest.mark.parametrize("compress", [False, True])
def test_what_we_write_numpy_loads_for_every_dtype(tmp, compress):
    arrays = {f"a{i}": sample(dt, (3, 2), i) for i, dt in enumerate(DTYPES)}
    arrays["fortran"] = np.asfortranarray(sample("<f8", (4, 3)))
    arrays["scalar"] = np.array(7, "<i2")
    arrays["empty"] = np.zeros((0, 5), "<u4")
    path = tmp / "out.npz"
    with npz.Writer(path, compress=compress) as out:
        for key, array in arrays.items():
            out.add(key, array)
    with np.load(path) as loaded:
        assert sorted(loaded.files) == sorted(arrays)
        for key, array in arrays.items():
            assert same(loaded[key], array), key
    assert zipfile.ZipFile(path).testzip() is None


@pytest.mark.parametrize("compress", [False, True])
def test_what_numpy_writes_we_read(tmp, compress):
    arrays = {f"a{i}": sample(dt, (5, 2), i) for i, dt in enumerate(DTYPES)}
    arrays["f"] = np.asfortranarray(sample(">i4", (3, 4)))
    path = tmp / "np.npz"
    (np.savez_compressed if compress else np.savez)(path, **arrays)
    z = npz.open(path)
    assert sorted(z) == sorted(arrays)
    for key, array in arrays.items():
        got = z[key]
        assert same(got, array), key
        assert got.flags.f_contiguous == array.flags.f_contiguous
        if array.ndim:
            assert same(z.frames(key, 1, 3), array[1:3] if not got.flags.f_contiguous or got.flags.c_contiguous else array[..., 1:3])


def test_stored_aligned_members_view_the_map(tmp):
    path = tmp / "a.npz"
    npz.savez(path, x=np.arange(100, dtype="<f8"))
    z = npz.open(path)
    x = z["x"]
    assert not x.flags.writeable
    assert isinstance(x.base.base, _native.NpzArchive)
    assert x.ctypes.data % 64 == 0
    y = z["x"]
    assert np.shares_memory(x, y)  # two reads, one map: no copy
    np.testing.assert_array_equal(x, np.arange(100))
    info = {m["name"]: m for m in z.info()}
    assert info["x"]["mappable"] and info["x"]["compression"] == "stored"
    # numpy's own (unaligned) stored members and deflated ones are decoded into new arrays.
    np.savez(tmp / "np.npz", x=np.arange(10))
    decoded = npz.open(tmp / "np.npz")["x"]
    assert decoded.flags.writeable


def test_streamed_members_and_random_frames(tmp):
    path = tmp / "run.npz"
    n = 2000
    with npz.Writer(path, compress=True) as out:
        out.add("meta", np.array([1, 2, 3]))
        with out.member("adc", "<i2", (64,)) as adc:
            for i in range(n // 4):
                adc.append(np.full((4, 64), i, "<i2"))
            with pytest.raises(ValueError, match="dtype"):
                adc.append(np.zeros((1, 64), "<i4"))
            with pytest.raises(ValueError, match="shape"):
                adc.append(np.zeros((1, 63), "<i2"))
            with pytest.raises(ValueError, match="still open"):
                out.add("x", np.zeros(1))
    reference = np.load(path)["adc"]
    assert reference.shape == (n, 64)
    z = npz.open(path)
    last = z.frames("adc", n - 8, n)
    np.testing.assert_array_equal(last, reference[-8:])
    np.testing.assert_array_equal(z.frames("adc", -8), reference[-8:])
    np.testing.assert_array_equal(z.frames("adc", 10, 10), reference[10:10])
    np.testing.assert_array_equal(z.frames("adc", n - 2, n + 100), reference[-2:])
    info = {m["name"]: m for m in z.info()}
    assert info["adc"]["seekable"] and info["adc"]["compression"] == "deflated"


def test_appending_members(tmp):
    path = tmp / "a.npz"
    npz.savez(path, a=np.arange(3))
    with npz.Writer(path, mode="a") as out:
        out.add("b", np.ones(2))
    loaded = np.load(path)
    assert sorted(loaded.files) == ["a", "b"]
    with pytest.raises(FileExistsError):
        npz.Writer(path, mode="x")


def test_mapping_protocol_and_errors(tmp):
    path = tmp / "a.npz"
    npz.savez(path, np.arange(2), y=np.zeros(3))
    z = npz.open(path)
    assert z.files == ["arr_0", "y"] and len(z) == 2 and "y" in z and "nope" not in z
    with pytest.raises(KeyError):
        z["nope"]
    with pytest.raises(FileNotFoundError):
        npz.open(tmp / "missing.npz")
    (tmp / "bad.npz").write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(ValueError):
        npz.open(tmp / "bad.npz")
    with pytest.raises(ValueError, match="object"):
        npz.savez(tmp / "o.npz", o=np.array([None], dtype=object))


def test_a_closed_archive_refuses_reads_as_a_closed_file_does(tmp):
    np.savez(tmp / "z.npz", a=np.arange(3))
    z = npz.open(tmp / "z.npz")
    a = z["a"]
    z.close()
    assert z.closed and "z.npz" in repr(z) and z.files == ["a"]
    for use in (lambda: z["a"], lambda: z.info(), lambda: z.frames("a", 0, 1)):
        with pytest.raises(ValueError, match="closed archive"):
            use()
    assert a.tolist() == [0, 1, 2]  # arrays read before the close are untouched


@pytest.mark.parametrize("mode", ["w", "a"])
def test_an_exception_in_the_with_block_leaves_the_archive_as_it_was(tmp, mode):
    path = tmp / "model.npz"
    np.savez(path, weights=np.ones(10), bias=np.zeros(3))
    before = path.read_bytes()
    for open_member in (False, True):
        with pytest.raises(RuntimeError, match="crashed"):
            with npz.Writer(path, mode) as out:
                out.add("extra" if mode == "a" else "weights", np.full(10, 2.0))
                if open_member:
                    out.member("m", np.int16, (4,)).append(np.ones((3, 4), np.int16))
                raise RuntimeError("training crashed")
        assert path.read_bytes() == before
    # A new archive is never written; without an exception, the block's archive is.
    with pytest.raises(RuntimeError):
        with npz.Writer(tmp / "new.npz") as out:
            out.add("x", np.arange(3))
            raise RuntimeError("no")
    assert not (tmp / "new.npz").exists()
    assert [p.name for p in tmp.iterdir()] == ["model.npz"]  # no temporary file left
    with npz.Writer(tmp / "new.npz") as out:
        out.add("x", np.arange(3))
    assert np.load(tmp / "new.npz")["x"].tolist() == [0, 1, 2]
    out.abort()  # after close: nothing


def test_a_generator_closed_early_keeps_its_archive(tmp):
    def frames():
        with npz.Writer(tmp / "g.npz") as out, out.member("m", np.int8, (2,)) as member:
            while True:
                member.append(np.ones((1, 2), np.int8))
                yield member.frames

    stream = frames()
    assert [next(stream) for _ in range(3)] == [1, 2, 3]
    stream.close()  # GeneratorExit in the with block: a normal end
    assert np.load(tmp / "g.npz")["m"].shape == (3, 2)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
@pytest.mark.parametrize("open_member", [False, True])
def test_a_forked_child_neither_hangs_on_nor_writes_the_parents_archive(tmp, open_member):
    writer = npz.Writer(tmp / "run.npz")
    writer.add("x", np.arange(4))
    member = writer.member("m", np.int32, (2,)) if open_member else None
    if member is not None:
        member.append(np.ones((3, 2), np.int32))
    finished = npz.Writer(tmp / "finished.npz")
    finished.close()
    pid = os.fork()
    if pid == 0:  # the child: its copy refuses, and its finalizers return
        code = 3
        try:
            finished.close()  # finished before the fork: nothing to refuse
            finished.abort()
            (member or writer).close()
            code = 2
        except RuntimeError as e:
            code = 0 if "fork" in str(e) else 4
        finally:
            writer = member = None
            gc.collect()
            os._exit(code)
    assert wait_or_kill(pid) == 0
    if member is not None:
        member.append(np.zeros((1, 2), np.int32))
    writer.close()
    with np.load(tmp / "run.npz") as z:
        assert z["x"].tolist() == [0, 1, 2, 3]
        if open_member:
            assert z["m"].tolist() == [[1, 1]] * 3 + [[0, 0]]


def test_one_key_is_a_key_and_levels_are_checked(tmp):
    np.savez_compressed(tmp / "c.npz", adc=np.arange(100_000), other=np.arange(100_000))
    rows = npz.index(tmp / "c.npz", keys="adc", span=1 << 14)
    assert list(rows) == ["adc"]
    with pytest.raises(ValueError, match="level must be 0 to 9, not -1"):
        npz.Writer(tmp / "m.npz", compress=True, level=-1)
    assert not (tmp / "m.npz").exists()
    with pytest.raises(ValueError, match="span must not be negative"):
        npz.index(tmp / "c.npz", span=-1)
    with npz.Writer(tmp / "m.npz") as out:
        with pytest.raises(ValueError, match="negative dimension"):
            out.member("m", np.int8, (-2,))


def test_keys_as_numpy_takes_them(tmp):
    path = tmp / "a.npz"
    np.savez(path, y=np.arange(3))
    z = npz.open(path)
    np.testing.assert_array_equal(z["y.npy"], z["y"])  # the member name works, as in numpy
    assert "y.npy" in z and "y" in z and "y.npy.npy" not in z
    np.testing.assert_array_equal(z.frames("y.npy", 1), [1, 2])
    with pytest.raises(KeyError):
        z["y.np"]


def test_an_archive_numpy_compressed_reads_frames_through_its_index(tmp):
    path = tmp / "walk.npz"
    rng = np.random.default_rng(3)
    adc = np.cumsum(rng.integers(-3, 4, (40_000, 256)), axis=0).astype(np.int16)  # 20 MB
    np.savez_compressed(path, adc=adc, small=np.arange(3))
    report = npz.index(path, span=1 << 20)
    assert report["adc"][0] >= 10 and report["adc"][2] is None
    assert report["small"][2] is not None  # too short to need points
    # numpy still reads it unchanged, with the same keys.
    with np.load(path) as z:
        assert sorted(z.files) == ["adc", "small"]
        np.testing.assert_array_equal(z["adc"][-8:], adc[-8:])
    with npz.open(path) as z:
        np.testing.assert_array_equal(z.frames("adc", -8, None), adc[-8:])
        for a, b in [(0, 1), (12_345, 23_456), (39_000, 40_000)]:
            np.testing.assert_array_equal(z.frames("adc", a, b), adc[a:b])


def test_info_lists_odd_members_instead_of_failing(tmp):
    path = tmp / "mixed.npz"
    np.savez(path, a=np.arange(3))
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("notes.txt", "hello")
        z.writestr("b.npy", b"\x93NUMPY\x01\x00\xff\xffbroken")
    with npz.open(path) as f:
        rows = {row["name"]: row for row in f.info()}
    assert rows["a"]["kind"] == "array" and rows["a"]["shape"] == [3]
    assert set(rows) == {"a", "notes.txt", "b"}
    assert rows["notes.txt"]["kind"] != "array" and rows["b"]["kind"] != "array"
