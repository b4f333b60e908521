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
