"""array_files.varpack: save and load named sets of variables, arrays mapped."""

import json
import os

import numpy as np
import pytest

import array_files.varpack as varpack
from array_files import _native
from conftest import DTYPES, same, sample

FORMS = ["run", "run.npz"]


def values():
    out = {f"a{i}": sample(dt, (3, 2), i) for i, dt in enumerate(DTYPES)}
    out["fortran"] = np.asfortranarray(sample("<f4", (2, 5)))
    out["fortran3"] = np.asfortranarray(sample(">i4", (2, 3, 4)))
    out["empty"] = np.zeros((0, 3), "<f8")
    out["empty_f"] = np.asfortranarray(np.zeros((2, 0, 3), "<u2"))
    out["scalar"] = np.array(1.5)
    out["cams"] = {"left": sample("u1", (2, 3)), "right": sample("<u2", (4,), 1)}
    out["run"] = {"adc": sample("<i2", (5, 4), 2), "label": "café", "gains": [1.5, 2], "n": 3}
    out["settings"] = {"lr": 0.1, "layers": [64, 32], "name": "résumé", "on": True, "none": None}
    out["count"] = 3
    return out


def check(loaded, expected):
    assert sorted(loaded) == sorted(expected)
    for name, value in expected.items():
        if isinstance(value, np.ndarray):
            assert same(loaded[name], value), name
        elif isinstance(value, dict) and any(isinstance(v, np.ndarray) for v in value.values()):
            assert sorted(loaded[name]) == sorted(value)
            for key, v in value.items():
                if isinstance(v, np.ndarray):
                    assert same(loaded[name][key], v), (name, key)
                else:
                    assert loaded[name][key] == v, (name, key)
        else:
            assert loaded[name] == value, name


@pytest.mark.parametrize("form", FORMS)
def test_round_trip_of_every_kind(tmp, form):
    path = tmp / form
    varpack.save(path, values())
    vp = varpack.load(path)
    check(vp, values())
    for mmap_mode in (None, "r+", "c"):
        check(varpack.load(path, mmap_mode=mmap_mode), values())
    # Orders as saved; an array's base chain ends in the loaded pack, never a copy.
    assert vp["fortran3"].flags.f_contiguous and not vp["fortran3"].flags.c_contiguous
    assert vp["a0"].flags.c_contiguous
    assert vp["fortran3"].base is not None and vp["empty"].shape == (0, 3)
    assert not vp["empty"].flags.writeable and not vp["a0"].flags.writeable
    assert varpack.load(path, mmap_mode="c")["empty"].flags.writeable


@pytest.mark.parametrize("form", FORMS)
def test_arrays_are_mapped_with_their_modes_flags(tmp, form):
    path = tmp / form
    varpack.save(path, {"x": np.arange(1000, dtype="<f8"), "d": {"k": np.ones(3)}})
    vp = varpack.load(path)
    x = vp["x"]
    assert not x.flags.writeable
    base = x
    while isinstance(base, np.ndarray):
        base = base.base
    assert isinstance(base, _native.VarpackCore)
    assert not vp["d"]["k"].flags.writeable
    assert "mapped" in repr(vp)
    copied = varpack.load(path, mmap_mode=None)
    assert copied["x"].flags.writeable and copied["x"].base is None or copied["x"].flags.owndata
    cow = varpack.load(path, mmap_mode="c")
    cow["x"][0] = 42
    assert varpack.load(path)["x"][0] == 0


@pytest.mark.parametrize("form", FORMS)
def test_a_dict_mixing_arrays_and_values_keeps_both(tmp, form):
    path = tmp / form
    run = {"adc": np.arange(12, dtype="<i2").reshape(3, 4), "label": "run 7", "cuts": {"lo": 1}}
    varpack.save(path, {"run": run})
    loaded = varpack.load(path)["run"]
    assert sorted(loaded) == ["adc", "cuts", "label"]
    assert loaded["label"] == "run 7" and loaded["cuts"] == {"lo": 1}
    assert same(loaded["adc"], run["adc"])
    base = loaded["adc"]
    while isinstance(base, np.ndarray):
        base = base.base
    assert isinstance(base, _native.VarpackCore), "the dict's array is mapped"
    # A dict without arrays is one JSON value, as before.
    varpack.save(path, {"plain": {"a": 1}})
    assert varpack.load(path)["plain"] == {"a": 1}


def test_directory_form_is_npy_files_numpy_loads(tmp):
    path = tmp / "run"
    varpack.save(path, values())
    np.testing.assert_array_equal(np.load(path / "fortran.npy"), values()["fortran"])
    assert np.load(path / "fortran.npy").flags.f_contiguous
    manifest = json.loads((path / "varpack.json").read_text())
    assert manifest["format"] == "varpack"
    single = tmp / "run.npz"
    varpack.save(single, values())
    with np.load(single) as z:
        np.testing.assert_array_equal(z["fortran"], values()["fortran"])


def test_save_load_edit_save(tmp):
    path = tmp / "run"
    varpack.save(path, {"x": np.arange(3)})
    vp = varpack.load(path)
    old = vp["x"]
    vp["y"] = np.ones(2)
    vp["note"] = "hello"
    del vp["x"]
    vp.save()  # back to where it came from, atomically
    assert old.tolist() == [0, 1, 2]  # arrays viewing the old pack stay valid
    again = varpack.load(path)
    assert sorted(again) == ["note", "y"] and again["note"] == "hello"
    vp.detach()
    assert vp["y"].flags.writeable
    vp.save_as(tmp / "copy.npz")
    assert vp.path == str(tmp / "copy.npz")
    assert sorted(varpack.load(tmp / "copy.npz")) == ["note", "y"]


def test_ignore_skips_values(tmp):
    path = tmp / "run"
    varpack.save(path, {"big": np.zeros(10), "small": 1})
    vp = varpack.load(path, ignore=["big"])
    assert sorted(vp) == ["small"]


def test_errors(tmp):
    with pytest.raises(FileNotFoundError):
        varpack.load(tmp / "missing")
    with pytest.raises(ValueError, match="no path"):
        varpack.Varpack({"a": 1}).save()
    with pytest.raises(ValueError, match="JSON"):
        varpack.save(tmp / "x", {"f": object()})
    with pytest.raises(ValueError, match="pickles"):
        varpack.save(tmp / "x", {"o": np.array([None], dtype=object)})
    with pytest.raises(ValueError, match="mmap_mode"):
        varpack.load(tmp / "x", mmap_mode="w")
    (tmp / "junk").mkdir()
    (tmp / "junk" / "varpack.json").write_text("{not json")
    with pytest.raises(ValueError):
        varpack.load(tmp / "junk")


@pytest.mark.parametrize("form", ["dir", "npz"])
def test_values_json_would_change_are_refused_by_name(tmp, form):
    path = tmp / ("p.npz" if form == "npz" else "p")
    varpack.save(path, {"seed": 2**64 - 1, "low": -(2**63), "x": 1.5})
    refused = [
        ({"loss": float("nan")}, "loss: NaN"),
        ({"cfg": {"clip": float("inf")}}, "cfg: NaN"),
        ({"m": {"w": np.ones(2), "best": float("-inf")}}, r"m\['best'\]: NaN"),
        ({"seed": 2**64}, "seed: the int 18446744073709551616 does not fit"),
        ({"ids": {"a": [3, -(2**63) - 1]}}, "ids: the int -9223372036854775809"),
        ({"t": (1, 2**70)}, "t: the int 1180591620717411303424"),
        ({"t": (float("nan"),)}, "t: NaN"),
    ]
    for mapping, message in refused:
        with pytest.raises(ValueError, match=message):
            varpack.save(path, mapping)
        # The pack saved before is untouched.
        assert dict(varpack.load(path)) == {"seed": 2**64 - 1, "low": -(2**63), "x": 1.5}


def test_a_value_json_refuses_for_another_reason_says_so(tmp):
    loop = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match="not an array, a dict or a JSON value") as refused:
        varpack.save(tmp / "p", {"loop": loop})
    assert "NaN" not in str(refused.value)


def test_one_name_to_ignore_is_a_name(tmp):
    varpack.save(tmp / "p", {"weights": np.ones(3), "w": 1})
    assert sorted(varpack.load(tmp / "p", ignore="weights")) == ["w"]


def test_numpy_lists_a_single_file_pack_by_the_variables_names(tmp):
    path = tmp / "names.npz"
    varpack.save(path, {"café": np.arange(3), "d": {"k/1": np.ones(2), "n": 1}, "../x": np.zeros(1)})
    with np.load(path) as z:
        arrays = {k for k in z.files if not k.endswith(".json")}
        assert arrays == {"café", "d/k/1", "%2E.%2Fx"}, z.files
        np.testing.assert_array_equal(z["café"], np.arange(3))
        np.testing.assert_array_equal(z["d/k/1"], np.ones(2))
    loaded = varpack.load(path)
    assert loaded["d"]["n"] == 1 and loaded["../x"].tolist() == [0.0]


def test_a_re_save_keeps_the_files_of_unchanged_mapped_arrays(tmp):
    path = tmp / "run"
    varpack.save(path, {"big": np.arange(1000.0), "other": np.ones(4), "n": 1})
    inode = lambda name: os.stat(path / f"{name}.npy").st_ino
    before = inode("big"), inode("other")
    vp = varpack.load(path, mmap_mode="r+")
    vp["other"][0] = 7  # written through the map: in the file
    vp["n"] = 2
    vp.save()
    assert (inode("big"), inode("other")) == before, "unchanged arrays are linked, not copied"
    again = varpack.load(path)
    assert again["n"] == 2 and again["other"][0] == 7 and again["big"][999] == 999
    # A replaced array is written anew.
    vp["big"] = np.zeros(3)
    vp.save()
    assert inode("big") != before[0]
    assert varpack.load(path)["big"].tolist() == [0.0, 0.0, 0.0]
