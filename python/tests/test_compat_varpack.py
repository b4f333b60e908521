"""array_files.compat.varpack: the seed's README example and the scenarios its users rely on."""

import logging
import os

import numpy as np
import pytest

from array_files.compat import varpack
from array_files.compat.varpack import Varpack


def test_the_readme_example(tmp):
    vp = Varpack()
    vp.var1 = np.ones((100, 1000))
    vp.var2 = 20
    vp.var3 = "some string"
    vp.var4 = {"key1": np.ones((200, 1000)), "key2": np.zeros((50, 2000))}
    folder = tmp / "vars"
    vp.set_attached_folder(str(folder))
    assert vp.save() is vp
    assert (folder / varpack.JSON_FILENAME).is_file()
    assert (folder / "var1.npy").is_file()
    np.testing.assert_array_equal(np.load(folder / "var1.npy"), np.ones((100, 1000)))

    vp2 = Varpack(str(folder))
    assert vp2.get_attached_folder() == str(folder)
    assert vp2.var2 == 20 and vp2.var3 == "some string"
    np.testing.assert_array_equal(vp2.var1, np.ones((100, 1000)))
    np.testing.assert_array_equal(vp2.var4["key2"], np.zeros((50, 2000)))
    # r+ by default, as the seed: writes go to the files.
    assert vp2.var1.flags.writeable
    vp2.var4["key1"][0, 0] = 5
    del vp2
    assert Varpack(str(folder)).var4["key1"][0, 0] == 5


def test_dicts_keep_their_arrays_mapped_and_their_other_values(tmp):
    vp = Varpack()
    vp.cfg = {"adc": np.arange(20000, dtype=np.int16), "small": np.arange(3), "label": "run 7",
              "gains": [1.5, 2.0]}
    vp.save(tmp / "p")
    back = Varpack(tmp / "p", numpy_mmap_mode="r")
    assert back.cfg["label"] == "run 7" and back.cfg["gains"] == [1.5, 2.0]
    assert back.cfg["small"].dtype == vp.cfg["small"].dtype  # small arrays stay exact arrays
    np.testing.assert_array_equal(back.cfg["adc"], vp.cfg["adc"])
    assert not back.cfg["adc"].flags.writeable
    memory = varpack.mmap_var_to_memory(back.cfg)
    assert memory["adc"].flags.writeable and memory["adc"].flags.owndata
    assert memory["label"] == "run 7"
    # As in the seed, only the dict's arrays of min_dict_numpy_size elements or more have files.
    npy_files = sorted(p.name for p in (tmp / "p").iterdir() if p.suffix == ".npy")
    assert len(npy_files) == 1, npy_files
    assert back.cfg["small"].tolist() == [0, 1, 2]
    vp.save(tmp / "q", min_dict_numpy_size=0)  # every dict array a file of its own
    assert len([p for p in (tmp / "q").iterdir() if p.suffix == ".npy"]) == 2


def test_values_json_cannot_hold_need_allow_pickle(tmp):
    vp = Varpack()
    vp.pair = (1, 2)
    with pytest.raises(ValueError, match="pair.*allow_pickle"):
        vp.save(tmp / "p")
    assert not (tmp / "p").exists()
    vp.save(tmp / "p", allow_pickle=True)
    with pytest.raises(ValueError, match="allow_pickle=True"):
        Varpack(tmp / "p")
    assert Varpack(tmp / "p", allow_pickle=True).pair == (1, 2)


def test_numbers_json_lacks_come_back_as_the_seeds_pickle_gave_them(tmp):
    vp = Varpack()
    vp.loss = float("nan")
    vp.best = np.float64("-inf")
    vp.seed = 2**80 + 1
    vp.cfg = {"clip": float("inf"), "ids": [2**70, -(2**70), 5], "w": np.ones(3)}
    vp.hist = [np.float64("nan"), 1.5, {"worst": np.float64("-inf")}]
    vp.save(tmp / "p")
    back = Varpack(tmp / "p")
    assert np.isnan(back.loss) and back.best == float("-inf")
    assert back.seed == 2**80 + 1 and type(back.seed) is int
    assert back.cfg["clip"] == float("inf") and back.cfg["ids"] == [2**70, -(2**70), 5]
    np.testing.assert_array_equal(back.cfg["w"], np.ones(3))
    assert np.isnan(back.hist[0]) and back.hist[1:] == [1.5, {"worst": float("-inf")}]


def test_skip_loading_then_save_loses_nothing(tmp):
    vp = Varpack()
    vp.big = np.arange(10.0)
    vp.note = "kept"
    vp.n = 1
    vp.save(tmp / "p")
    partial = Varpack(tmp / "p", skip_loading=["note", "big"])
    assert not hasattr(partial, "note") and not hasattr(partial, "big")
    partial.n = 2
    partial.save()
    again = Varpack(tmp / "p")
    assert again.note == "kept" and again.n == 2
    np.testing.assert_array_equal(again.big, np.arange(10.0))


def test_a_re_save_keeps_unchanged_array_files(tmp):
    vp = Varpack()
    vp.big = np.arange(100000.0)
    vp.step = 0
    vp.save(tmp / "p")
    inode = os.stat(tmp / "p" / "big.npy").st_ino
    loaded = Varpack(tmp / "p")
    loaded.step = 1
    loaded.save()
    assert os.stat(tmp / "p" / "big.npy").st_ino == inode
    assert Varpack(tmp / "p").step == 1


def test_save_elsewhere_returns_a_detached_copy_and_save_then_copy(tmp):
    vp = Varpack()
    vp.x = np.arange(4)
    vp.save(tmp / "a")
    other = vp.save(tmp / "b")
    assert other is not vp
    assert other.get_attached_folder() == str(tmp / "b")
    assert vp.get_attached_folder() == str(tmp / "a")
    vp.y = "new"
    vp.save_then_copy(tmp / "c")
    assert Varpack(tmp / "c").y == "new" and Varpack(tmp / "a").y == "new"


def test_sep_vars_and_skip_saving_vars(tmp):
    vp = Varpack()
    vp.log = ["line"] * 5000
    vp.tiny = 1
    vp.named = [1]
    vp.scratch = "not saved"
    vp.save(tmp / "p", sep_vars=["named"], skip_saving_vars=["scratch"])
    files = set(os.listdir(tmp / "p"))
    assert {"log.value.json", "named.value.json"} <= files
    assert "tiny.value.json" not in files
    back = Varpack(tmp / "p")
    assert not hasattr(back, "scratch") and back.named == [1] and len(back.log) == 5000


def test_attaching_to_a_second_folder_warns_and_changes_nothing(tmp, caplog):
    vp = Varpack()
    vp.set_attached_folder(tmp / "a")
    with caplog.at_level(logging.WARNING):
        vp.set_attached_folder(tmp / "b")
    assert "already attached" in caplog.text
    assert vp.get_attached_folder() == str(tmp / "a")
    assert varpack.MISC_VAR_FILENAME == "values.json" and varpack.PICKLE_PROTOCOL == 4


def test_pickled_entries_of_a_dict(tmp):
    vp = Varpack()
    vp.d = {"a": np.arange(3), "s": {1, 2}}
    vp.save(tmp / "p", allow_pickle=True)
    assert Varpack(tmp / "p", allow_pickle=True).d["s"] == {1, 2}
    with pytest.raises(ValueError, match=r"d\['s'\]"):
        Varpack(tmp / "p")


def _seed_save(folder, values):
    """Saves ``values`` exactly as the seed's ``Varpack.save`` lays a folder out: arrays with
    ``np.save``, a dict's arrays of 10000 elements or more as hash-named ``.npy`` files behind
    ``varpack.NumpyArrayPlaceholder`` objects, the other values pickled (protocol 4) into
    ``__misc_vars__.pickle``, ``varpack.json`` with ``json.dump(indent=4)``."""
    import json
    import pickle
    import sys
    import types

    class NumpyArrayPlaceholder:
        def __init__(self, filename):
            self.filename = filename
    NumpyArrayPlaceholder.__module__ = "varpack"
    NumpyArrayPlaceholder.__qualname__ = "NumpyArrayPlaceholder"
    module = types.ModuleType("varpack")
    module.NumpyArrayPlaceholder = NumpyArrayPlaceholder
    saved = sys.modules.get("varpack")
    sys.modules["varpack"] = module
    try:
        os.makedirs(folder)
        info, misc = {}, {}
        for name, v in values.items():
            if isinstance(v, np.ndarray):
                np.save(os.path.join(folder, name + ".npy"), v, allow_pickle=False)
                info[name] = {"size": v.nbytes, "filename": name + ".npy",
                              "shape": list(v.shape), "dtype": str(v.dtype)}
                continue
            if type(v) is dict:
                v = dict(v)
                for k, a in list(v.items()):
                    if isinstance(a, np.ndarray) and a.size >= 10000:
                        filename = name + str(hash(k)) + ".npy"
                        np.save(os.path.join(folder, filename), a, allow_pickle=True)
                        v[k] = NumpyArrayPlaceholder(filename)
            misc[name] = v
            info[name] = {"size": float("nan"), "filename": "__misc_vars__.pickle"}
        with open(os.path.join(folder, "__misc_vars__.pickle"), "wb") as f:
            pickle.dump(misc, f, protocol=4)
        with open(os.path.join(folder, "varpack.json"), "w") as f:
            json.dump(info, f, indent=4)
    finally:
        if saved is None:
            del sys.modules["varpack"]
        else:
            sys.modules["varpack"] = saved


def _seed_values():
    return {
        "var1": np.arange(60, dtype=np.float64).reshape(6, 10),
        "var2": 20,
        "var3": ("a", 1.5, None),
        "var4": {"key1": np.arange(10000, dtype=np.float32), "small": np.arange(3).astype(">i2"),
                 "note": "kept", "scalar": np.int64(-7)},
    }


def test_a_folder_the_seed_saved_loads_without_unpickling_anything_unsafe(tmp):
    folder = str(tmp / "seed")
    _seed_save(folder, _seed_values())
    vp = Varpack(folder)
    np.testing.assert_array_equal(vp.var1, _seed_values()["var1"])
    assert vp.var2 == 20 and vp.var3 == ("a", 1.5, None)
    d = vp.var4
    np.testing.assert_array_equal(d["key1"], np.arange(10000, dtype=np.float32))
    assert isinstance(d["key1"], np.memmap)
    assert d["small"].tolist() == [0, 1, 2] and d["small"].dtype.itemsize == 2
    assert d["note"] == "kept" and d["scalar"] == -7
    # r+, as the seed: writes go to the seed's files.
    vp.var1[0, 0] = -1
    vp.var4["key1"][1] = -2
    del vp, d
    again = Varpack(folder)
    assert again.var1[0, 0] == -1 and again.var4["key1"][1] == -2


def test_a_seed_pickle_naming_other_classes_needs_allow_pickle_and_runs_nothing(tmp):
    import datetime
    folder = str(tmp / "seed")
    values = _seed_values()
    values["when"] = datetime.date(2026, 12, 5)
    _seed_save(folder, values)
    with pytest.raises(ValueError, match="datetime.date.*allow_pickle=True"):
        Varpack(folder)
    assert Varpack(folder, allow_pickle=True).when == datetime.date(2026, 12, 5)
    # A crafted pickle that would run a command: refused, and the command never runs.
    marker = tmp / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))
    _seed_save(str(tmp / "evil"), {"x": Evil()})
    with pytest.raises(ValueError, match="allow_pickle"):
        Varpack(str(tmp / "evil"))
    assert not marker.exists()
    # stop_on_error=False: the value is left out, the rest loads.
    vp = Varpack()
    vp.load(folder, stop_on_error=False)
    assert not hasattr(vp, "when") and vp.var2 == 20


def test_saving_over_a_seed_folder_converts_it_and_keeps_skipped_values(tmp):
    from array_files import varpack as native
    folder = str(tmp / "seed")
    _seed_save(folder, _seed_values())
    vp = Varpack(folder, skip_loading=["var4"])
    assert not hasattr(vp, "var4")
    vp.var2 = 21
    with pytest.raises(ValueError, match="tuple"):
        vp.save()  # var3 is a tuple, which JSON cannot hold: refused, the folder untouched
    assert os.path.exists(os.path.join(folder, "__misc_vars__.pickle"))
    vp.save(allow_pickle=True)
    # Now this package's layout, every value there, the skipped dict included.
    pack = native.load(folder)
    assert pack["var2"] == 21
    np.testing.assert_array_equal(pack["var1"], _seed_values()["var1"])
    np.testing.assert_array_equal(pack["var4"]["key1"], np.arange(10000, dtype=np.float32))
    np.testing.assert_array_equal(pack["var4"]["small"], np.arange(3))
    assert pack["var4"]["note"] == "kept"
    assert not os.path.exists(os.path.join(folder, "__misc_vars__.pickle"))
    again = Varpack(folder, allow_pickle=True)
    assert again.var4["note"] == "kept" and again.var3 == ("a", 1.5, None)
