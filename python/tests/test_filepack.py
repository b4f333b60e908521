"""array_files.filepack: pack, read with no copy, file objects, pickling, fork, processes."""

import io
import json
import multiprocessing
import os
import pickle
import threading

import numpy as np
import pytest

import array_files.filepack as fp
from array_files import _native


@pytest.fixture
def tree(tmp):
    src = tmp / "src"
    (src / "train" / "cats").mkdir(parents=True)
    (src / "empty").mkdir()
    for i in range(50):
        (src / "train" / "cats" / f"{i:03}.bin").write_bytes(bytes([i]) * (i * 7))
    (src / "labels.json").write_text(json.dumps({"cats": 50}))
    np.save(src / "weights.npy", np.arange(12, dtype="<f4").reshape(3, 4))
    os.symlink("labels.json", src / "link.json")
    out = tmp / "data.fpack"
    summary = fp.pack(src, out)
    assert summary["files"] == 52 and summary["symlinks"] == 1
    return src, out


def test_reads_are_the_files_with_no_copy(tree):
    src, out = tree
    pack = fp.Pack(out)
    for i in (0, 1, 49):
        name = f"train/cats/{i:03}.bin"
        data = pack.read(name)
        assert isinstance(data, memoryview) and data.readonly
        assert bytes(data) == (src / name).read_bytes()
    a, b = pack.read("labels.json"), pack.read("labels.json")
    assert np.shares_memory(np.frombuffer(a, np.uint8), np.frombuffer(b, np.uint8))
    names = [f"train/cats/{i:03}.bin" for i in range(0, 50, 3)]
    assert [bytes(m) for m in pack.read_many(names)] == [(src / n).read_bytes() for n in names]
    assert pack.read_text("link.json") == (src / "labels.json").read_text()


def test_file_objects_are_what_libraries_take(tree):
    _, out = tree
    pack = fp.Pack(out)
    with pack.open("labels.json", "r") as f:
        assert json.load(f) == {"cats": 50}
    np.testing.assert_array_equal(np.load(pack.open("weights.npy")), np.arange(12).reshape(3, 4))
    f = pack.open("train/cats/010.bin")
    assert f.read(3) == b"\x0a" * 3 and f.tell() == 3
    f.seek(-2, io.SEEK_END)
    assert f.read() == b"\x0a" * 2 and f.read() == b""
    with pytest.raises(ValueError, match="read-only"):
        pack.open("labels.json", "w")


def test_std_queries(tree):
    src, out = tree
    pack = fp.Pack(out)
    assert sorted(pack.listdir("")) == sorted(os.listdir(src))
    walked = {d: (sorted(ds), sorted(fs)) for d, ds, fs in pack.walk()}
    expected = {
        os.path.relpath(d, src).replace(".", "", 1) if d == str(src) else os.path.relpath(d, src):
        (sorted(ds), sorted(fs))
        for d, ds, fs in os.walk(src)
    }
    assert walked == expected
    assert pack.exists("train/cats") and pack.isdir("train") and pack.isfile("labels.json")
    assert not pack.exists("nope") and not pack.isfile("train")
    st = pack.stat("train/cats/002.bin")
    assert st.st_size == 14 and os.path.stat.S_ISREG(st.st_mode)
    assert int(st.st_mtime) == int(os.stat(src / "train/cats/002.bin").st_mtime)
    assert os.path.stat.S_ISLNK(pack.stat("link.json", follow_symlinks=False).st_mode)
    assert pack.readlink("link.json") == "labels.json"
    assert len(pack) == 52 and "weights.npy" in pack and "weights.npy" in list(pack)
    assert pack.verify() == 52


def test_errors_are_os_errors(tree, tmp):
    _, out = tree
    pack = fp.Pack(out)
    with pytest.raises(FileNotFoundError):
        pack.read("missing")
    with pytest.raises(IsADirectoryError):
        pack.read("train")
    with pytest.raises(NotADirectoryError):
        pack.listdir("labels.json")
    with pytest.raises(FileNotFoundError):
        fp.Pack(tmp / "missing.fpack")
    (tmp / "junk.fpack").write_bytes(b"\0" * 4096)
    with pytest.raises(ValueError):
        fp.Pack(tmp / "junk.fpack")
    with pytest.raises(TypeError):
        fp.pack(tmp, tmp / "x.fpack", colour="blue")


def test_a_closed_pack_refuses_use_as_a_closed_file_does(tree):
    _, out = tree
    pack = fp.Pack(out)
    assert not pack.closed
    pack.close()
    pack.close()  # twice: nothing more
    assert pack.closed and str(out) in repr(pack)
    import copy

    copy.copy(pack._core)  # what is left of a closed pack copies (and probes) quietly
    assert not hasattr(pack._core, "__array__")
    for use in (lambda: pack.read("labels.json"), lambda: pack.listdir(), lambda: len(pack),
                lambda: "labels.json" in pack, lambda: pack.read_many(["labels.json"])):
        with pytest.raises(ValueError, match="closed pack"):
            use()


def test_paths_in_the_pack_as_os_takes_them_and_one_path_is_not_a_list(tree):
    import pathlib

    src, out = tree
    pack = fp.Pack(out)
    for name in (pathlib.PurePosixPath("labels.json"), b"labels.json"):
        assert bytes(pack.read(name)) == (src / "labels.json").read_bytes()
        assert pack.exists(name) and pack.isfile(name) and name in pack
        assert pack.stat(name).st_size == (src / "labels.json").stat().st_size
    assert [bytes(v) for v in pack.read_many([pathlib.PurePosixPath("labels.json")])] == [
        (src / "labels.json").read_bytes()
    ]
    assert sorted(pack.listdir(pathlib.PurePosixPath("train"))) == ["cats"]
    with pytest.raises(TypeError, match="read_many takes a list"):
        pack.read_many("labels.json")
    with pytest.raises(ValueError, match="threads must not be negative"):
        fp.pack(src, out, threads=-1)
    # One extension given as a str is one extension, not its letters.
    fp.pack(src, tree[1].parent / "json.fpack", include_ext="json")
    assert sorted(fp.Pack(tree[1].parent / "json.fpack")) == ["labels.json"]


def test_views_keep_the_pack_alive(tree):
    _, out = tree
    pack = fp.Pack(out)
    data = pack.read("labels.json")
    pack.close()
    del pack
    import gc

    gc.collect()
    assert json.loads(bytes(data)) == {"cats": 50}


def _checksum(args):
    pack, names = args
    return sum(len(m) for m in pack.read_many(names))


def test_pickled_into_a_process_pool_and_after_fork(tree):
    src, out = tree
    pack = fp.Pack(out)
    restored = pickle.loads(pickle.dumps(pack))
    assert bytes(restored.read("labels.json")) == bytes(pack.read("labels.json"))
    names = [f"train/cats/{i:03}.bin" for i in range(50)]
    expected = sum(i * 7 for i in range(50))
    for method in ("spawn", "fork"):
        with multiprocessing.get_context(method).Pool(2) as pool:
            results = pool.map(_checksum, [(pack, names)] * 4)
        assert results == [expected] * 4


def test_threads_read_at_once(tree):
    src, out = tree
    pack = fp.Pack(out)
    expected = {f"train/cats/{i:03}.bin": (src / f"train/cats/{i:03}.bin").read_bytes() for i in range(50)}
    bad = []

    def work():
        for _ in range(200):
            for name, data in zip(expected, pack.read_many(list(expected))):
                if bytes(data) != expected[name]:
                    bad.append(name)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad


def test_len_and_iteration_agree_with_the_files(tree):
    _, out = tree
    pack = fp.Pack(out)
    files = pack.files()
    assert len(pack) == len(files) == 52 and list(pack) == files
    files.append("not in the pack")  # a copy: the pack's own list is not changed
    assert len(pack) == 52


def test_glob_filters(tree, tmp):
    src, _ = tree
    out = tmp / "g.fpack"
    summary = fp.pack(src, out, include_glob="train/**/*.bin", exclude_glob=["00[12].bin"])
    pack = fp.Pack(out)
    assert summary["files"] == 48
    assert pack.isfile("train/cats/000.bin") and not pack.exists("train/cats/001.bin")
    assert not pack.exists("labels.json")
    with pytest.raises(ValueError, match="glob"):
        fp.pack(src, tmp / "bad.fpack", include_glob=["[abc"])
