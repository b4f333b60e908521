"""A drop-in for Varpack (bigdelys/varpack): ``from array_files.compat.varpack import Varpack``
and keep the script.

The seed's API: ``Varpack(attached_folder=None, **load_options)`` with variables as attributes
(``vp.x = np.ones(3)``), ``set_attached_folder``, ``get_attached_folder``, ``detach``,
``save(save_folder=None, max_dict_keys=1000, min_dict_numpy_size=10000, sep_var_min_size=1e4,
sep_vars=None, skip_saving_vars=None)`` (returning ``self``, or a detached copy saved elsewhere
when ``save_folder`` is another folder), ``save_then_copy(copy_folder, **kwargs)``,
``load(load_folder, numpy_mmap_mode='r+', stop_on_error=True, skip_loading=None,
keep_loaded_skips=False)``, the module function ``mmap_var_to_memory`` and the constants
``JSON_FILENAME``, ``MISC_VAR_FILENAME``, ``PICKLE_PROTOCOL``. Arrays are saved as ``.npy``
files and come back memory-mapped (``r+`` by default, as in the seed); first-level dicts keep
their arrays as mapped arrays and their other entries as they were.

Differences, each on purpose:

- The folder is an array_files varpack (``varpack.json`` is its manifest, the non-array values
  are JSON in ``values.json``, not ``__misc_vars__.pickle``), saved atomically: a crash leaves
  the previous save or the new one, never a half-written folder. Use ``varpack convert`` (or
  :func:`load` with ``allow_pickle=True``) for folders the seed wrote.
- Values JSON cannot hold exactly (tuples, sets, dicts with non-string keys, objects) are
  refused with ``ValueError`` naming the variable, unless ``save(..., allow_pickle=True)``:
  then they are pickled (protocol 4) inside the JSON, and a load needs ``allow_pickle=True``
  too. numpy scalars come back as Python numbers.
- Every array of a dict is saved as its own array, whatever ``min_dict_numpy_size`` says (the
  seed pickled small ones): dtype and shape survive exactly either way. ``max_dict_keys`` is
  accepted and not needed: dicts of any size are split.
- Variables skipped at load (``skip_loading``) are kept by later saves (the seed lost those it
  had grouped in its pickle). Arrays loaded mapped and not replaced are not written again by a
  save to the same folder: their files are kept.
- After ``save``, your variables are the objects you assigned (the seed swapped dict arrays for
  memory maps).
- Progress goes to the ``logging`` module (logger ``array_files.compat.varpack``), not print.
"""

import base64
import copy
import json
import logging
import os
import pickle

import numpy as np

from array_files import _native
from array_files import varpack as _varpack

__all__ = ["Varpack", "mmap_var_to_memory", "JSON_FILENAME", "MISC_VAR_FILENAME", "PICKLE_PROTOCOL"]

JSON_FILENAME = "varpack.json"
MISC_VAR_FILENAME = "values.json"
PICKLE_PROTOCOL = 4

_log = logging.getLogger(__name__)
_PICKLED = "__array_files_pickle__"


def mmap_var_to_memory(x):
    """``x`` with every memory-mapped array copied into memory (dicts converted recursively),
    anything else returned as it is."""
    if isinstance(x, dict):
        return {k: mmap_var_to_memory(v) for k, v in x.items()}
    if isinstance(x, np.ndarray) and _is_mapped(x):
        return np.array(x, copy=True, order="K")
    return x


def _is_mapped(array):
    base = array
    while isinstance(base, np.ndarray):
        if isinstance(base, np.memmap):
            return True
        base = base.base
    return base is not None and not isinstance(base, (bytes, bytearray))


def _json_exact(value):
    """Whether JSON gives ``value`` back with the same types (no tuple becoming a list, no int
    key becoming a string)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return not isinstance(value, np.generic) or isinstance(value, (np.floating, np.bool_))
    if type(value) is list:
        return all(_json_exact(v) for v in value)
    if type(value) is dict:
        return all(isinstance(k, str) and _json_exact(v) for k, v in value.items())
    return False


def _to_json(name, value, allow_pickle):
    if isinstance(value, np.generic):
        value = value.item()
    if _json_exact(value):
        return value
    if not allow_pickle:
        raise ValueError(
            f"variable {name!r}: a {type(value).__name__} that JSON cannot hold exactly; "
            "save(..., allow_pickle=True) pickles it"
        )
    text = base64.b64encode(pickle.dumps(value, protocol=PICKLE_PROTOCOL)).decode("ascii")
    return {_PICKLED: text}


def _from_json(name, value, allow_pickle):
    if isinstance(value, dict) and list(value) == [_PICKLED]:
        if not allow_pickle:
            raise ValueError(
                f"variable {name!r} was saved pickled; load with allow_pickle=True to unpickle it"
            )
        return pickle.loads(base64.b64decode(value[_PICKLED]))
    return value


class Varpack:
    """Variables as attributes, saved to and loaded from a folder."""

    def __init__(self, attached_folder=None, **kwargs):
        object.__setattr__(self, "__internal__", {
            "attached_folder": None,
            "numpy_mmap_mode": "r+",
            "skipped_loading_vars": set(),
            "skip_saving_vars": set(),
            "pack": None,
        })
        if attached_folder is not None:
            folder = os.fspath(attached_folder)
            if os.path.exists(os.path.join(folder, JSON_FILENAME)):
                self.load(folder, **kwargs)
            else:
                self.__internal__["attached_folder"] = folder

    def _vars(self):
        return {k: v for k, v in vars(self).items() if k != "__internal__"}

    def get_attached_folder(self):
        return self.__internal__["attached_folder"]

    def set_attached_folder(self, attached_folder=None):
        """Attaches to ``attached_folder`` (where ``save()`` writes). Already attached to another
        folder, it logs a warning and changes nothing, as the seed does."""
        assert attached_folder is not None, "give a folder"
        folder = os.fspath(attached_folder)
        current = self.__internal__["attached_folder"]
        if current is not None and os.path.abspath(current) != os.path.abspath(folder):
            _log.warning("already attached to %s; save(save_folder=...) saves a copy elsewhere",
                         current)
            return
        self.__internal__["attached_folder"] = folder

    def detach(self):
        """A copy with every mapped array copied into memory and no folder (``self`` if not
        attached)."""
        if self.__internal__["attached_folder"] is None:
            return self
        other = Varpack()
        for name, value in self._vars().items():
            setattr(other, name, copy.deepcopy(mmap_var_to_memory(value)))
        internal = other.__internal__
        internal["numpy_mmap_mode"] = self.__internal__["numpy_mmap_mode"]
        internal["skip_saving_vars"] = set(self.__internal__["skip_saving_vars"])
        return other

    def save(self, save_folder=None, max_dict_keys=1000, min_dict_numpy_size=10000,
             sep_var_min_size=1e4, sep_vars=None, skip_saving_vars=None, allow_pickle=False):
        """Saves every variable to ``save_folder`` (default: the attached folder), atomically;
        returns ``self``, or for another folder a detached copy attached there (this object is
        left as it was). Non-array values of at least ``sep_var_min_size`` bytes of JSON, and
        those named in ``sep_vars``, get files of their own (loads can skip them cheaply);
        ``skip_saving_vars`` (it replaces the stored set) are not saved."""
        internal = self.__internal__
        attached = internal["attached_folder"]
        if save_folder is None:
            if attached is None:
                raise ValueError("no folder: pass save_folder or call set_attached_folder first")
            save_folder = attached
        save_folder = os.fspath(save_folder)
        if attached is not None and os.path.abspath(save_folder) != os.path.abspath(attached):
            other = self.detach()
            other.__internal__["attached_folder"] = save_folder
            return other.save(None, max_dict_keys, min_dict_numpy_size, sep_var_min_size,
                              sep_vars, skip_saving_vars, allow_pickle)
        if skip_saving_vars is not None:
            internal["skip_saving_vars"] = set(skip_saving_vars)
        skip = internal["skip_saving_vars"]
        sep_vars = set(sep_vars or ())
        entries, separate = [], []
        for name, value in self._vars().items():
            if name in skip:
                continue
            kind, payload = self._entry(name, value, allow_pickle)
            entries.append((name, kind, payload))
            if kind != "array" and (name in sep_vars or len(payload if kind == "json" else "")
                                    >= sep_var_min_size):
                separate.append(name)
        keep = self._kept(save_folder, skip)
        entries = [e for e in entries if e[0] not in keep]
        _native.varpack_save(save_folder, entries, separate, sorted(keep))
        internal["attached_folder"] = save_folder
        _log.info("saved %d variables to %s", len(entries) + len(keep), save_folder)
        return self

    def _entry(self, name, value, allow_pickle):
        if isinstance(value, np.ndarray) and not value.dtype.hasobject:
            return "array", _varpack._array_entry(name, np.asarray(value))
        if type(value) is dict and all(isinstance(k, str) for k in value) and any(
            isinstance(v, np.ndarray) and not v.dtype.hasobject for v in value.values()
        ):
            out = []
            for key, v in value.items():
                if isinstance(v, np.ndarray) and not v.dtype.hasobject:
                    out.append((key, "array", _varpack._array_entry(f"{name}[{key!r}]", v)))
                else:
                    j = _to_json(f"{name}[{key!r}]", v, allow_pickle)
                    out.append((key, "json", json.dumps(j, allow_nan=True)))
            return "dict", out
        return "json", json.dumps(_to_json(name, value, allow_pickle), allow_nan=True)

    def _kept(self, folder, skip):
        """Values to take from the pack in ``folder`` as they are: those skipped at load (never
        read, so never lost), and arrays loaded mapped from it that are still the objects
        loaded (their files already hold their data)."""
        pack = self.__internal__["pack"]
        if pack is None or pack.path is None or os.path.abspath(pack.path) != os.path.abspath(folder):
            return set()
        kept = {n for n in self.__internal__["skipped_loading_vars"] if n not in skip}
        kept |= {n for n, v in pack._unchanged.items()
                 if n not in skip and vars(self).get(n) is v
                 and self.__internal__["numpy_mmap_mode"] in ("r", "r+")}
        return kept

    def save_then_copy(self, copy_folder, **kwargs):
        """``save(**kwargs)``, then the same variables saved to ``copy_folder`` too (atomically,
        as a pack of its own; the seed copied the folder with distutils, gone in Python 3.12)."""
        self.save(**kwargs)
        self.save(save_folder=copy_folder, **kwargs)
        return self

    def load(self, load_folder, numpy_mmap_mode="r+", stop_on_error=True, skip_loading=None,
             keep_loaded_skips=False, allow_pickle=False):
        """Loads the variables of ``load_folder`` as attributes: arrays memory-mapped with
        ``numpy_mmap_mode`` (``'r+'`` writes go to the files, ``'r'`` read-only, ``'c'``
        copy-on-write), other values as they were saved. Names in ``skip_loading`` are not read
        (``keep_loaded_skips``: variables of those names already set here stay). A folder that
        cannot be loaded raises (``stop_on_error``), or logs and returns ``None``."""
        assert numpy_mmap_mode in ("r+", "r", "c"), numpy_mmap_mode
        folder = os.fspath(load_folder)
        skip = set(skip_loading or ())
        try:
            pack = _varpack.load(folder, ignore=skip, mmap_mode=numpy_mmap_mode)
        except (OSError, ValueError) as e:
            if stop_on_error:
                raise
            _log.error("loading %s failed: %s", folder, e)
            return None
        internal = self.__internal__
        for name in skip:
            if not keep_loaded_skips and name in vars(self):
                delattr(self, name)
        for name, value in pack.items():
            if isinstance(value, dict) and list(value) != [_PICKLED]:
                # A dict's entries (a pickled entry is a one-key dict inside it).
                value = {k: _from_json(f"{name}[{k!r}]", v, allow_pickle) for k, v in value.items()}
            elif not isinstance(value, np.ndarray):
                value = _from_json(name, value, allow_pickle)
            setattr(self, name, value)
        internal["attached_folder"] = folder
        internal["numpy_mmap_mode"] = numpy_mmap_mode
        internal["skipped_loading_vars"] = skip
        internal["pack"] = pack
        mapped = [n for n, v in pack.items() if isinstance(v, np.ndarray)]
        _log.info("loaded %s; memory-mapped with option %s: %s", folder, numpy_mmap_mode, mapped)
        return self

    def __repr__(self):
        return f"Varpack({self.__internal__['attached_folder']!r}, variables={sorted(self._vars())})"
