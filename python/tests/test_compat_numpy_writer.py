"""array_files.compat.numpy_writer: the seed's README, re-enacted, and the scenarios its
acquisition GUI relies on (the seed itself is not on PyPI; its behaviour is documented in
the project's seed notes)."""

import os
import zipfile

import numpy as np
import pytest

from array_files.compat.numpy_writer import NpzFileWriter, NumpyFileManager


def test_the_seeds_readme(tmp):
    path = str(tmp / "file.npy")
    npw = NumpyFileManager(path, "w", (400, 400), np.int32)
    npw.addFrame(np.ones([400, 400], dtype=np.int32))
    npw.close()
    assert np.load(path).shape == (1, 400, 400)

    frames = np.arange(120 * 4, dtype=np.int32).reshape(120, 2, 2)
    npw = NumpyFileManager(str(tmp / "many.npy"), "w", (2, 2), np.int32)
    for frame in frames:
        npw.addFrame(frame)
    npw.flushBuffer(strict=True)
    npw.close()
    npw = NumpyFileManager(str(tmp / "many.npy"))
    np.testing.assert_array_equal(npw.readFrames(50, 100), frames[50:100])

    arr1, arr2 = frames[:10], np.ones((5, 3), "<f4")
    npy_files = []
    for key, arr in (("adc", arr1), ("tx", arr2)):
        np.save(tmp / f"{key}.npy", arr)
        npy_files.append(str(tmp / f"{key}.npy"))
    NpzFileWriter.zipNpyFiles(str(tmp / "file.npz"), npy_files, ["adc", "tx"], compressed=True)
    with np.load(tmp / "file.npz") as z:
        np.testing.assert_array_equal(z["adc"], arr1)
        np.testing.assert_array_equal(z["tx"], arr2)

    with NpzFileWriter(str(tmp / "tmp.npz"), "w", compress_file=True) as npz:
        npz.writeArray("adc", arr1)
        npz.writeArray("tx", arr2)
    with NpzFileWriter(str(tmp / "tmp.npz"), "r") as npz:
        np.testing.assert_array_equal(npz.readFrames("adc", 5, 8), arr1[5:8])
        assert npz.namelist() == ["adc", "tx"]


def test_frames_keep_their_order_and_buffered_ones_are_readable(tmp):
    path = str(tmp / "a.npy")
    npw = NumpyFileManager(path, "w", (3,), "<u2", bufferMax=10)
    npw.addFrame(np.full(3, 1, "<u2"))
    npw.addFrame(np.full(3, 2, "<u2"))
    npw.writeOneFrame(np.full(3, 3, "<u2"))  # the seed would put this one first
    npw.addFrame(np.full(3, 4, "<u2"))
    assert npw.readFrames(0, 10)[:, 0].tolist() == [1, 2, 3, 4]
    assert npw.frameCount == 4
    with pytest.raises(ValueError, match="shape"):
        npw.addFrame(np.zeros(4, "<u2"))
    with pytest.raises(ValueError, match="dtype"):
        npw.addFrame(np.zeros(3, "<i2"))
    npw.close()
    assert np.load(path)[:, 0].tolist() == [1, 2, 3, 4]


def test_sequential_reads_indexing_and_scalar_frames(tmp):
    path = str(tmp / "a.npy")
    np.save(path, np.arange(10, dtype="<f8"))  # 1-D: scalar frames (the seed breaks on them)
    npw = NumpyFileManager(path)
    assert npw.frameShape == () and npw.frameCount == 10
    assert npw.read(3).tolist() == [0, 1, 2] and npw.read(3).tolist() == [3, 4, 5]
    npw.seek(8)
    assert npw.read(5).tolist() == [8, 9]  # fewer at the end
    assert npw[2] == 2 and npw[-1] == 9 and npw[1:7:2].tolist() == [1, 3, 5]
    assert npw.readFrames(20, 30).shape == (0,)
    with pytest.raises(IndexError):
        npw[10]
    with pytest.raises(ValueError, match="reading"):
        npw.addFrame(np.float64(1))


def test_appending_with_r_plus_and_refusals(tmp):
    path = str(tmp / "a.npy")
    with NumpyFileManager(path, "w", (2,), "<i4") as npw:
        npw.writeOneFrame(np.array([1, 2], "<i4"))
    with NumpyFileManager(path, "r+") as npw:
        npw.addFrame(np.array([3, 4], "<i4"))
    np.testing.assert_array_equal(np.load(path), [[1, 2], [3, 4]])
    with pytest.raises(FileExistsError):
        NumpyFileManager(path, "x", (2,), "<i4")
    with pytest.raises(ValueError, match="mode"):
        NumpyFileManager(path, "rw")
    with pytest.raises(ValueError, match="frameShape and dtype"):
        NumpyFileManager(str(tmp / "b.npy"), "w")
    with pytest.raises(ValueError, match="frames of shape"):
        NumpyFileManager(path, "r", frameShape=(3,))


def test_members_of_archives_read_as_frames(tmp):
    adc = np.arange(200 * 4, dtype="<i2").reshape(200, 4)
    path = tmp / "run.npz"
    with NpzFileWriter(path, "w", compress_file=True) as npz:
        npz.writeArray("adc", adc)
        with pytest.raises(ValueError):
            npz.writeArray("adc", adc)  # the seed adds a shadowed duplicate
    with NpzFileWriter(path, "a") as npz:
        npz.writeArray("tx", np.zeros(3))
    npz = NpzFileWriter(path, "r")
    member = npz["adc"]
    assert member.frameCount == 200
    np.testing.assert_array_equal(member.read(2), adc[:2])
    np.testing.assert_array_equal(member.read(2), adc[2:4])
    np.testing.assert_array_equal(member[150:152], adc[150:152])
    with pytest.raises(TypeError):
        npz[3]
    with pytest.raises(ValueError, match="requires mode"):
        npz.writeArray("x", adc)
    # A member opened from Python's zipfile, as the seed's NpzFileWriter does.
    with zipfile.ZipFile(path) as z, z.open("adc.npy") as fp:
        npw = NumpyFileManager(fp)
        np.testing.assert_array_equal(npw.readFrames(190, 300), adc[190:])


SLICES = [
    slice(None, None, 2), slice(None, None, -1), slice(-3, None), slice(2, 8, 3),
    slice(8, 2, -3), slice(5, 5), slice(100, 200), slice(-100, 3), slice(None, None, -4),
]


@pytest.mark.parametrize("compress", [False, True])
def test_files_and_members_index_as_arrays_do(tmp, compress):
    adc = np.arange(10 * 2, dtype="<u2").reshape(10, 2)
    np.save(tmp / "f.npy", adc)
    with NpzFileWriter(tmp / "t.npz", "w", compress_file=compress) as out:
        out.writeArray("adc", adc)
    for frames in (NumpyFileManager(str(tmp / "f.npy")), NpzFileWriter(tmp / "t.npz", "r")["adc"]):
        assert len(frames) == 10
        for item in SLICES:
            got = frames[item]
            assert got.shape == adc[item].shape, item
            np.testing.assert_array_equal(got, adc[item])
        for index in (0, 9, -1, -10, np.int64(3)):
            np.testing.assert_array_equal(frames[index], adc[index])
        for index in (10, -11):
            with pytest.raises(IndexError, match="out of range"):
                frames[index]
        with pytest.raises(TypeError):
            frames[1.5]


def test_fortran_members_have_no_frames_and_one_file_is_one_file(tmp):
    np.savez(tmp / "f.npz", f=np.asfortranarray(np.arange(12).reshape(2, 6)))
    with pytest.raises(ValueError, match="Fortran"):
        NpzFileWriter(tmp / "f.npz", "r")["f"]
    np.save(tmp / "a.npy", np.arange(3))
    for one in (str(tmp / "a.npy"), tmp / "a.npy", os.fsencode(tmp / "a.npy")):
        NpzFileWriter.zipNpyFiles(str(tmp / "one.npz"), one, "a")
        assert np.load(tmp / "one.npz")["a"].tolist() == [0, 1, 2]


def test_zip_npy_files_deletes_originals_only_when_done(tmp):
    files = []
    for i in range(3):
        np.save(tmp / f"d{i}.npy", np.full((2, 2), i))
        files.append(str(tmp / f"d{i}.npy"))
    NpzFileWriter.zipNpyFiles(str(tmp / "out.npz"), files, ["a", "b", "c"], deleteOriginals=True)
    assert not any((tmp / f"d{i}.npy").exists() for i in range(3))
    with np.load(tmp / "out.npz") as z:
        assert [int(z[k][0, 0]) for k in "abc"] == [0, 1, 2]
    with pytest.raises(OSError):
        NpzFileWriter.zipNpyFiles(str(tmp / "x.npz"), [str(tmp / "gone.npy")], ["g"])
    assert not (tmp / "x.npz").exists()
