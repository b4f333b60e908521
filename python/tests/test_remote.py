"""Object storage from Python: every reader takes an `s3://` URL and gives what it gives for the
same local file, against the S3 server `cargo xtask test` starts."""

import io

import numpy as np
import pytest

import array_files.npy as npy
import array_files.varpack as varpack
from conftest import DTYPES, same, sample
from test_varpack import FORMS, check, values


def npy_bytes(array):
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_npy_load_of_a_url_equals_numpy(s3, dtype):
    for order in "CF":
        array = np.asarray(sample(dtype, (6, 3, 2)), order=order)
        url = s3(f"a-{order}.npy", npy_bytes(array))
        got = npy.load(url)
        assert same(got, np.load(io.BytesIO(npy_bytes(array))))
        assert got.flags.writeable


def test_npy_read_frames_reads_slices_of_the_growth_axis(s3):
    array = np.arange(2000 * 5, dtype="<u2").reshape(2000, 5)
    url = s3("frames.npy", npy_bytes(array))
    for start, stop in [(0, 1), (1990, 2000), (-8, None), (None, 3), (5, 2), (1999, 5000), (-5000, 2)]:
        assert np.array_equal(npy.read_frames(url, start, stop), array[start:stop]), (start, stop)
    fortran = np.asfortranarray(np.arange(60, dtype=">f8").reshape(3, 4, 5))
    url = s3("fortran.npy", npy_bytes(fortran))
    assert np.array_equal(npy.read_frames(url, 1, 4), fortran[..., 1:4])
    scalar = s3("scalar.npy", npy_bytes(np.float32(2.5)))
    assert npy.load(scalar) == np.float32(2.5) and npy.load(scalar).shape == ()


def test_npy_info_of_a_url_is_the_local_files_but_for_the_path(s3, tmp):
    array = sample("<f4", (7, 2))
    local = tmp / "a.npy"
    np.save(local, array)
    url = s3("info.npy", local.read_bytes() + b"xx")
    with open(local, "ab") as f:
        f.write(b"xx")
    remote, here = npy.info(url), npy.info(local)
    assert remote.pop("path") == url
    here.pop("path")
    assert remote == here and remote["trailing_bytes"] == 2


def test_url_errors(s3):
    url = s3("present.npy", npy_bytes(np.zeros(3)))
    with pytest.raises(ValueError, match="cannot be mapped"):
        npy.load(url, mmap_mode="r")
    missing = url.replace("present", "missing")
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        npy.load(missing)
    with pytest.raises(FileNotFoundError):
        npy.info(missing)
    broken = s3("broken.npy", npy_bytes(np.zeros(100))[:-10])
    with pytest.raises(ValueError, match="broken.npy"):
        npy.load(broken)


def test_filepack_pack_from_a_url_reads_as_the_local_one(s3, tmp):
    import json
    import pickle

    import array_files.filepack as fp

    src = tmp / "src"
    for i in range(300):
        d = src / f"d{i % 5}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}.bin").write_bytes(bytes([i % 256]) * (i * 7))
    (src / "labels.json").write_text(json.dumps({"cat": 1}))
    fp.pack(src, tmp / "p.fpack")
    local = fp.Pack(tmp / "p.fpack")
    url = s3("p.fpack", (tmp / "p.fpack").read_bytes())
    remote = fp.Pack(url)
    assert remote.listdir("") == local.listdir("")
    assert list(remote.walk()) == list(local.walk())
    assert len(remote) == len(local) and remote.isdir("d3") and "labels.json" in remote
    assert remote.read("d1/f1.bin") == bytes(local.read("d1/f1.bin"))
    batch = [f"d{i % 5}/f{i}.bin" for i in range(0, 300, 5)]
    assert [bytes(b) for b in remote.read_many(batch)] == [bytes(b) for b in local.read_many(batch)]
    assert json.load(remote.open("labels.json", "r")) == {"cat": 1}
    again = pickle.loads(pickle.dumps(remote))
    assert again.read("d2/f2.bin") == bytes(local.read("d2/f2.bin"))
    with pytest.raises(FileNotFoundError):
        remote.read("missing")
    with pytest.raises(IsADirectoryError):
        remote.read_many(["d1"])
    with pytest.raises(FileNotFoundError, match="none.fpack"):
        fp.Pack(url.replace("p.fpack", "none.fpack"))


def test_npz_open_of_a_url_reads_as_numpy(s3, tmp):
    import array_files.npz as npz

    arrays = {"adc": np.arange(3000 * 4, dtype="<i2").reshape(3000, 4), "t": np.linspace(0, 1, 50)}
    for writer in ("savez", "savez_compressed", "ours"):
        path = tmp / f"{writer}.npz"
        if writer == "ours":
            with npz.Writer(path, compress=True) as out:
                for key, value in arrays.items():
                    out.add(key, value)
        else:
            getattr(np, writer)(path, **arrays)
        url = s3(f"{writer}.npz", path.read_bytes())
        z = npz.open(url)
        assert sorted(z.files) == sorted(arrays)
        for key, value in arrays.items():
            assert np.array_equal(z[key], value), (writer, key)
        assert np.array_equal(z.frames("adc", -8), arrays["adc"][-8:])
        assert np.array_equal(z.frames("adc", 100, 117), arrays["adc"][100:117])
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        npz.open(url.replace("ours.npz", "missing.npz"))


def test_npz_writer_to_a_url_uploads_at_close(s3):
    import array_files.npz as npz

    url = s3("placeholder", b"")  # the run's prefix
    target = url.replace("placeholder", "written.npz")
    block = np.arange(256 * 10, dtype=np.int16).reshape(10, 256)
    with npz.Writer(target, compress=True) as out:
        out.add("t", np.linspace(0, 1, 20))
        with out.member("adc", np.int16, (256,)) as adc:
            for _ in range(30):
                adc.append(block)
    z = npz.open(target)
    assert np.array_equal(z["t"], np.linspace(0, 1, 20))
    assert np.array_equal(z.frames("adc", -10), block)
    assert z["adc"].shape == (300, 256)
    with pytest.raises(FileExistsError):
        npz.Writer(target, mode="x")
    with pytest.raises(ValueError, match="cannot be appended"):
        npz.Writer(target, mode="a")


# varpack: both forms read from URLs, the single file saved to one.



def upload_pack(s3, path, name):
    """Uploads the local pack at `path`: a single file as it is, a directory file by file (each
    key the prefix and the file's name, as `aws s3 cp --recursive` does). Returns its URL."""
    if path.is_dir():
        urls = [s3(f"{name}/{f.name}", f.read_bytes()) for f in sorted(path.iterdir())]
        return urls[0].rsplit("/", 1)[0]
    return s3(name, path.read_bytes())


@pytest.mark.parametrize("form", FORMS)
def test_varpack_load_of_a_url_equals_the_local_load(s3, tmp, form):
    path = tmp / form
    varpack.save(path, values())
    url = upload_pack(s3, path, form)
    for address in [url, url + "/"] if form == "run" else [url]:
        for mmap_mode in ("r", None):
            vp = varpack.load(address, mmap_mode=mmap_mode)
            check(vp, values())
            assert vp.path == address
            # In memory: writable, shown as loaded, not mapped.
            assert vp["a0"].flags.writeable and vp["cams"]["left"].flags.writeable
            assert "mapped" not in repr(vp) and repr(vp).startswith(f"Varpack {address}: ")
    for mmap_mode in ("r+", "c"):
        with pytest.raises(ValueError, match="read into memory, never mapped"):
            varpack.load(url, mmap_mode=mmap_mode)
    vp = varpack.load(url, ignore=["cams"])
    assert "cams" not in vp and "count" in vp


def test_varpack_save_to_a_url_uploads_the_single_file(s3, tmp):
    base = s3("marker", b"").rsplit("/", 1)[0]
    url = f"{base}/saved.npz"
    varpack.save(url, values())
    check(varpack.load(url), values())
    # A pack read from storage is saved back only when asked by name.
    vp = varpack.load(url)
    vp["count"] = 4
    with pytest.raises(ValueError, match="never writes to"):
        vp.save()
    vp.save(url)
    assert varpack.load(url)["count"] == 4
    vp.save()  # saved there by name: now its path
    local = tmp / "copy"
    vp.save_as(local)
    assert varpack.load(local)["count"] == 4
    # The directory form is never written to storage.
    with pytest.raises(ValueError, match="directory form cannot be saved to object storage"):
        varpack.save(f"{base}/run", values())
    with pytest.raises(FileNotFoundError):
        varpack.load(f"{base}/run")


def test_varpack_url_errors_name_the_url(s3, tmp):
    base = s3("marker", b"").rsplit("/", 1)[0]
    with pytest.raises(FileNotFoundError, match=f"{base}/missing/varpack.json"):
        varpack.load(f"{base}/missing")
    with pytest.raises(FileNotFoundError, match=f"{base}/missing.npz"):
        varpack.load(f"{base}/missing.npz")
    path = tmp / "run"
    varpack.save(path, {"x": np.arange(3), "y": np.ones(2)})
    (path / "y.npy").unlink()
    url = upload_pack(s3, path, "damaged")
    with pytest.raises(ValueError, match="y.npy is missing"):
        varpack.load(url)
    broken = s3("broken.npz", b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="broken.npz"):
        varpack.load(broken)
