"""array_files.npy against numpy: loads, zero-copy maps, appends, recovery, errors."""

import gc
import os
import threading

import numpy as np
import pytest

import array_files.npy as npy
from array_files import _native
from conftest import DTYPES, same, sample, wait_or_kill


def ids(dtype):
    return str(np.dtype(dtype)) if not isinstance(dtype, str) else dtype


@pytest.mark.parametrize("dtype", DTYPES, ids=ids)
@pytest.mark.parametrize("order", ["C", "F"])
def test_load_equals_numpy_for_every_dtype(tmp, dtype, order):
    shape = (3, 4, 2)
    array = np.asarray(sample(dtype, shape), order=order)
    path = tmp / "a.npy"
    np.save(path, array)
    expected = np.load(path)
    for mmap_mode in (None, "r", "r+", "c"):
        got = npy.load(path, mmap_mode=mmap_mode)
        assert same(got, expected)
        assert got.flags.f_contiguous == expected.flags.f_contiguous


@pytest.mark.parametrize("shape", [(), (0,), (5, 0), (0, 3), (1,), (2, 1, 1)])
def test_degenerate_shapes(tmp, shape):
    path = tmp / "a.npy"
    np.save(path, np.arange(int(np.prod(shape)), dtype="<f4").reshape(shape))
    for mmap_mode in (None, "r"):
        got = npy.load(path, mmap_mode=mmap_mode)
        np.testing.assert_array_equal(got, np.load(path))
        assert got.shape == shape


def test_maps_are_zero_copy_with_the_writeable_flag_of_their_mode(tmp):
    path = tmp / "a.npy"
    np.save(path, np.arange(10, dtype="<i8"))
    ro = npy.load(path, mmap_mode="r")
    assert not ro.flags.writeable
    with pytest.raises(ValueError):
        ro.flags.writeable = True  # the map under it is read-only: numpy must refuse
    with pytest.raises(ValueError):
        ro[0] = 1
    # .base chain: typed array -> uint8 view -> the Rust map that owns the memory.
    assert isinstance(ro.base.base, _native.NpyMap)

    rw = npy.load(path, mmap_mode="r+")
    assert rw.flags.writeable
    rw[3] = -7
    # Both maps share the file's pages: the write shows through the read-only map at once,
    # which a copy could not do.
    assert ro[3] == -7
    view = rw[2:5]
    assert np.shares_memory(rw, view)
    del rw, view
    assert np.load(path)[3] == -7

    cow = npy.load(path, mmap_mode="c")
    assert cow.flags.writeable
    cow[4] = 123
    assert ro[4] == 4 and np.load(path)[4] == 4  # copy-on-write stays in memory

    copied = npy.load(path)
    assert copied.flags.owndata or copied.base is None or not isinstance(
        getattr(copied.base, "base", None), _native.NpyMap
    )


def test_the_map_outlives_every_other_reference(tmp):
    path = tmp / "a.npy"
    np.save(path, np.arange(1000, dtype="<u2"))
    view = npy.load(path, mmap_mode="r")[500:510]
    import gc

    gc.collect()
    np.testing.assert_array_equal(view, np.arange(500, 510, dtype="<u2"))


def test_info_is_what_npy_info_json_prints(tmp):
    path = tmp / "a.npy"
    np.save(path, np.zeros((4, 3), dtype=">f4"))
    info = npy.info(path)
    assert info["path"] == str(path)
    assert info["version"] == [1, 0]
    assert info["descr"] == ">f4"
    assert info["shape"] == [4, 3]
    assert info["fortran_order"] is False
    assert info["data_offset"] == 128
    assert info["nbytes"] == 48
    assert info["frames"] == 4 and info["frame_bytes"] == 12


@pytest.mark.parametrize("dtype", DTYPES, ids=ids)
def test_appended_frames_load_in_numpy(tmp, dtype):
    path = tmp / "grow.npy"
    frames = [sample(dtype, (2, 3), seed) for seed in range(4)]
    with npy.Appender(path, dtype, (2, 3)) as out:
        for frame in frames:
            assert out.append(frame) == 1
        # (np.stack gives native byte order and drops padding: back to the file's dtype.)
        assert out.append(np.stack(frames).astype(dtype)) == 4
    loaded = np.load(path)
    assert loaded.dtype == np.dtype(dtype)
    expected = np.concatenate([np.stack(frames)] * 2).astype(dtype)
    assert same(loaded, expected)
    # The header is np.save's, byte for byte.
    reference = tmp / "ref.npy"
    np.save(reference, expected)
    header_len = npy.info(reference)["data_offset"]
    assert path.read_bytes()[:header_len] == reference.read_bytes()[:header_len]


def test_appender_takes_its_layout_from_the_first_array_and_reopens(tmp):
    path = tmp / "grow.npy"
    with npy.Appender(path) as out:
        assert out.dtype is None
        out.append(np.ones((5, 2), dtype="<f8"))  # five frames of shape (2,)
        assert out.shape == (5, 2)
    with npy.Appender(path) as out:  # mode 'a': the existing file, its dtype checked
        assert out.dtype == np.dtype("<f8")
        out.append(np.zeros(2))
        assert len(out) == 6
    assert np.load(path).shape == (6, 2)


def test_fortran_files_grow_along_the_last_axis(tmp):
    path = tmp / "f.npy"
    with npy.Appender(path, "<i4", (3,), fortran_order=True) as out:
        out.append(np.arange(3, dtype="<i4"))
        out.append(np.arange(6, dtype="<i4").reshape(3, 2))  # C-ordered input, converted
    loaded = np.load(path)
    assert loaded.flags.f_contiguous and loaded.shape == (3, 3)
    np.testing.assert_array_equal(loaded[:, 0], [0, 1, 2])
    np.testing.assert_array_equal(loaded[:, 1:], np.arange(6).reshape(3, 2))


def test_noncontiguous_and_list_inputs(tmp):
    path = tmp / "a.npy"
    base = np.arange(40, dtype="<i8").reshape(10, 4)
    with npy.Appender(path, "<i8", (2,)) as out:
        out.append(base[::2, ::2])  # strided view
        out.append([7, 8])  # a list, converted to the file's dtype
    np.testing.assert_array_equal(np.load(path), np.concatenate([base[::2, ::2], [[7, 8]]]))


def test_appends_are_refused_without_changing_the_file(tmp):
    path = tmp / "a.npy"
    with npy.Appender(path, "<u2", (2,)) as out:
        out.append(np.zeros((3, 2), "<u2"))
        with pytest.raises(ValueError, match="dtype"):
            out.append(np.zeros((1, 2), "<i2"))
        with pytest.raises(ValueError, match="dtype"):
            out.append(np.zeros((1, 2), ">u2"))  # byte order counts: never a silent swap
        with pytest.raises(ValueError, match="shape"):
            out.append(np.zeros((1, 3), "<u2"))
        with pytest.raises(ValueError, match="ndarray"):
            out._core.append([1, 2])
    assert np.load(path).shape == (3, 2)
    out.close()  # closing twice is fine
    with pytest.raises(ValueError, match="closed"):
        out.append(np.zeros(2, "<u2"))


def test_modes(tmp):
    path = tmp / "a.npy"
    with pytest.raises(FileNotFoundError):
        npy.Appender(path, mode="r+")
    npy.Appender(path, "<f4", (1,), mode="x").close()
    with pytest.raises(FileExistsError):
        npy.Appender(path, "<f4", (1,), mode="x")
    with npy.Appender(path, "<f4", (1,)) as out:
        out.append(np.ones((2, 1), "<f4"))
    with npy.Appender(path, "<i2", (3,), mode="w") as out:  # replaces
        out.append(np.ones((1, 3), "<i2"))
    assert np.load(path).dtype == np.dtype("<i2")
    with pytest.raises(ValueError, match="mode"):
        npy.Appender(path, mode="rw")


def test_a_second_appender_of_the_same_file_is_refused(tmp):
    path = tmp / "a.npy"
    first = npy.Appender(path, "<f4", (2,))
    with pytest.raises(BlockingIOError, match="locked"):
        npy.Appender(path)
    first.close()
    npy.Appender(path).close()


def test_threads_append_and_read_at_once(tmp):
    path = tmp / "a.npy"
    out = npy.Appender(path, "<u4", (16,), buffer_size=4096)
    threads, rounds = 4, 500
    errors = []

    def writer(k):
        try:
            for i in range(rounds):
                out.append(np.full((1, 16), k * rounds + i, "<u4"))
                if i % 100 == 0:
                    out.flush()
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    def reader():
        try:
            for _ in range(50):
                seen = npy.load(path, mmap_mode="r")
                # Every frame a reader sees is whole: its 16 values are equal.
                assert (seen == seen[:, :1]).all()
        except Exception as e:  # pragma: no cover
            errors.append(e)

    workers = [threading.Thread(target=writer, args=(k,)) for k in range(threads)]
    workers.append(threading.Thread(target=reader))
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.close()
    assert not errors, errors
    loaded = np.load(path)
    assert sorted(loaded[:, 0]) == list(range(threads * rounds))


def test_recover_adopts_frames_a_crash_left(tmp):
    path = tmp / "a.npy"
    np.save(path, np.arange(6, dtype="<u2").reshape(3, 2))
    with open(path, "ab") as f:
        f.write(np.array([6, 7, 8], "<u2").tobytes())  # one whole frame and half a frame
    with pytest.raises(ValueError, match="recover"):
        npy.Appender(path)
    report = npy.recover(path, dry_run=True)
    assert report["frames_after"] == 4 and report["dry_run"]
    report = npy.recover(path)
    assert (report["frames_before"], report["frames_after"]) == (3, 4)
    assert report["bytes_truncated"] == 2
    np.testing.assert_array_equal(np.load(path), np.arange(8).reshape(4, 2))


def test_bad_input_raises_typed_exceptions(tmp):
    with pytest.raises(FileNotFoundError):
        npy.load(tmp / "missing.npy")
    garbage = tmp / "garbage.npy"
    garbage.write_bytes(b"\x93NUMPY\x01\x00\xff\xff{'descr': broken")
    with pytest.raises(ValueError):
        npy.load(garbage, mmap_mode="r")
    objects = tmp / "objects.npy"
    np.save(objects, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="object|pickle"):
        npy.load(objects)
    with pytest.raises(ValueError, match="mmap_mode"):
        npy.load(garbage, mmap_mode="w")
    with pytest.raises(IsADirectoryError):
        npy.load(tmp)


def test_arguments_as_python_and_numpy_take_them(tmp):
    path = tmp / "a.npy"
    np.save(path, np.arange(10))
    assert npy.load(os.fsencode(path)).tolist() == list(range(10))  # bytes paths, as np.load
    assert npy.read_frames(str(path), 2**70).shape == (0,)  # slice rules: clamped
    assert npy.read_frames(str(path), -(2**70), 2).tolist() == [0, 1]
    with pytest.raises(ValueError, match="negative dimension"):
        npy.Appender(tmp / "b.npy", np.int8, (-2,))
    assert not (tmp / "b.npy").exists()
    # Messages name the Python function that helps.
    torn = tmp / "torn.npy"
    with npy.Appender(torn, np.float64, (4,)) as out:
        out.append(np.ones((3, 4)))
    with open(torn, "ab") as f:
        f.write(b"\0" * 40)
    with pytest.raises(ValueError, match=r"array_files\.npy\.recover"):
        npy.Appender(torn)
    os.truncate(torn, os.path.getsize(torn) - 48)
    with pytest.raises(ValueError, match=r"array_files\.npy\.recover"):
        npy.load(torn)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_never_writes_the_parents_file(tmp):
    path = tmp / "a.npy"
    out = npy.Appender(path, np.uint8, (1 << 15,), buffer_size=1 << 20)
    done = npy.Appender(tmp / "done.npy", np.uint8, (1,))
    done.close()  # closed before the fork: closing it again in the child is nothing
    for i in range(32):
        out.append(np.full(1 << 15, i, np.uint8))
    out.flush()
    parent_wrote, child_may_go = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its copy refuses, and its finalizer writes nothing
        code = 3
        try:
            os.close(child_may_go)
            os.read(parent_wrote, 1)  # drop the copy after the parent's later frames are in
            assert out.shape == (32, 1 << 15) and len(out) == 32  # reading is fine
            done.close()
            try:
                out.close()
                code = 2
            except RuntimeError as e:
                code = 0 if "fork" in str(e) else 4
        finally:
            out = None
            gc.collect()
            os._exit(code)
    os.close(parent_wrote)
    for i in range(32, 48):
        out.append(np.full(1 << 15, i, np.uint8))
    out.flush()
    os.write(child_may_go, b"!")
    os.close(child_may_go)
    assert wait_or_kill(pid) == 0
    out.close()
    frames = np.load(path)
    assert frames.shape == (48, 1 << 15)
    assert (frames[:, 0] == np.arange(48)).all() and (frames == frames[:, :1]).all()


def test_queued_large_appends_keep_their_order_with_small_ones(tmp):
    # Frames larger than the buffer go through the writer thread; small ones that follow
    # while writes are queued must not overtake them.
    path = tmp / "order.npy"
    rng = np.random.default_rng(5)
    expected = []
    with npy.Appender(path, "<i4", (8,), buffer_size=256) as out:
        for i in range(300):
            n = int(rng.choice([1, 2, 40, 200]))
            frames = np.arange(len(expected) * 8, (len(expected) + n) * 8, dtype="<i4").reshape(n, 8)
            out.append(frames)
            expected.extend(frames)
            if i % 97 == 0:
                assert out.shape == (len(expected), 8)  # waits for the queue
    np.testing.assert_array_equal(np.load(path), np.array(expected))


def test_threads_appending_large_frames_each_land_whole(tmp):
    path = tmp / "big.npy"
    out = npy.Appender(path, "<u2", (64, 64), buffer_size=4096)

    def writer(k):
        for i in range(50):
            out.append(np.full((3, 64, 64), k * 100 + i, "<u2"))

    workers = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.close()
    loaded = np.load(path)
    assert loaded.shape == (600, 64, 64)
    # Each append's three frames are together and each frame is whole.
    assert (loaded == loaded[:, :1, :1]).all()
    firsts = loaded[::3, 0, 0]
    assert sorted(firsts.tolist()) == sorted(k * 100 + i for k in range(4) for i in range(50))
    assert (loaded[1::3, 0, 0] == firsts).all() and (loaded[2::3, 0, 0] == firsts).all()


def test_an_appender_dropped_unclosed_still_writes_its_queued_frames(tmp):
    import gc
    path = tmp / "dropped.npy"
    out = npy.Appender(path, "<f8", (128, 128), buffer_size=1024)
    for i in range(20):
        out.append(np.full((1, 128, 128), i, "<f8"))
    del out
    gc.collect()
    loaded = np.load(path)
    assert loaded.shape == (20, 128, 128) and (loaded[:, 0, 0] == np.arange(20)).all()


def test_a_failed_queued_write_is_raised_and_the_file_keeps_whole_frames(tmp):
    # A file-size limit makes the writer's write fail (EFBIG) part-way: the error must reach
    # Python (by a later append or by close), and the file must hold whole frames only.
    import subprocess
    import sys
    path = tmp / "limited.npy"
    script = f"""
import resource, signal, numpy as np, array_files.npy as npy
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
raised = None
try:
    with npy.Appender({str(path)!r}, "<u1", (100_000,), buffer_size=4096) as out:
        for i in range(30):
            out.append(np.full((1, 100_000), i, "<u1"))
except OSError as e:
    raised = e
print("raised" if raised is not None else "silent")
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "raised", (run.stdout, run.stderr)
    loaded = np.load(path)
    assert 1 <= loaded.shape[0] <= 10
    assert (loaded == np.arange(loaded.shape[0], dtype="<u1")[:, None]).all()


@pytest.mark.parametrize("fortran", [False, True])
def test_large_frames_written_straight_from_the_array_land_whole(tmp, fortran):
    # Frames of 128 KiB and more are written from the array's memory with the GIL released,
    # ending on 64 KiB boundaries of the file (the rest waits in the buffer): whatever mix of
    # large, small, stacked and non-contiguous appends, numpy loads exactly what was appended.
    path = tmp / "large.npy"
    rng = np.random.default_rng(11)
    order = "F" if fortran else "C"
    expected = []
    with npy.Appender(path, "<u2", (256, 256), fortran_order=fortran) as out:
        for i in range(60):
            kind = i % 4
            if kind == 0:  # one frame, as a (256, 256) array
                frame = rng.integers(0, 65535, (256, 256), dtype="<u2")
                out.append(np.asarray(frame, order=order))
                expected.append(frame)
            elif kind == 1:  # a stack of three
                stack = rng.integers(0, 65535, (3, 256, 256), dtype="<u2")
                out.append(np.asfortranarray(stack.transpose(1, 2, 0)) if fortran else stack)
                expected.extend(stack)
            elif kind == 2:  # a view with gaps: copied into the file's order first
                wide = rng.integers(0, 65535, (256, 512), dtype="<u2")
                out.append(wide[:, ::2])
                expected.append(wide[:, ::2])
            else:
                out.flush()
                n = len(expected)
                loaded = np.load(path)
                assert loaded.shape == ((n, 256, 256) if not fortran else (256, 256, n))
        if fortran:
            assert out.shape == (256, 256, len(expected))
    loaded = np.load(path)
    want = np.array(expected)
    if fortran:
        loaded = np.moveaxis(loaded, -1, 0)
    np.testing.assert_array_equal(loaded, want)
    assert path.stat().st_size == loaded.nbytes + 128
