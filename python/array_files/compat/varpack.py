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
  the previous save or the new one, never a half-written folder.
- Folders the seed wrote load as they are (``.npy`` arrays memory-mapped, dict arrays from
  their hash-named files). Their pickles are unpickled with only numpy's array, dtype and
  scalar classes (and a few harmless builtins) allowed, so a crafted pickle cannot run code;
  one holding any other object needs ``allow_pickle=True`` (only for folders you trust). A save
  to such a folder replaces it with this layout (the seed can no longer read it; variables
  skipped at load are read and kept). ``varpack convert`` migrates folders without Python.
- Values JSON cannot hold exactly (tuples, sets, dicts with non-string keys, objects) are
  refused with ``ValueError`` naming the variable, unless ``save(..., allow_pickle=True)``:
  then they are pickled (protocol 4) inside the JSON, and a load needs ``allow_pickle=True``
  too. numpy scalars come back as Python numbers. NaN, infinities and ints beyond 64 bits,
  which JSON cannot hold, are kept as tagged strings and come back as they were.
- A dict's arrays of fewer than ``min_dict_numpy_size`` elements are kept with its other
  entries (encoded in ``values.json``, not pickled), larger ones are ``.npy`` files of their
  own, as in the seed; dtype, order and shape survive exactly either way, and small arrays load
  back in memory. ``max_dict_keys`` is accepted and not needed: dicts of any size are split.
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
import math
import os
import pickle

import numpy as np

from array_files import _native
from array_files._args import names as _names
from array_files import varpack as _varpack

__all__ = ["Varpack", "mmap_var_to_memory", "JSON_FILENAME", "MISC_VAR_FILENAME", "PICKLE_PROTOCOL"]

JSON_FILENAME = "varpack.json"
MISC_VAR_FILENAME = "values.json"
PICKLE_PROTOCOL = 4

_log = logging.getLogger(__name__)
_PICKLED = "__array_files_pickle__"
_NUMBER = "__array_files_number__"


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
        return _encode_numbers(value)
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
    return _decode_numbers(value)


def _encode_numbers(value):
    """``value`` with the numbers the seed's pickle kept and JSON cannot hold (NaN, infinities,
    ints beyond 64 bits) written as ``{"__array_files_number__": "nan"}``."""
    if isinstance(value, float) and not math.isfinite(value):
        return {_NUMBER: repr(float(value))}  # np.float64's repr names its type
    if isinstance(value, int) and _varpack._inexact_number(value) is not None:
        return {_NUMBER: str(int(value))}
    if type(value) is list:
        return [_encode_numbers(v) for v in value]
    if type(value) is dict:
        return {k: _encode_numbers(v) for k, v in value.items()}
    return value


def _decode_numbers(value):
    """The numbers ``_encode_numbers`` wrote, back."""
    if type(value) is list:
        return [_decode_numbers(v) for v in value]
    if type(value) is dict:
        if list(value) == [_NUMBER] and isinstance(value[_NUMBER], str):
            text = value[_NUMBER]
            return int(text) if text.lstrip("-").isdigit() else float(text)
        return {k: _decode_numbers(v) for k, v in value.items()}
    return value


_SEED_MISC = "__misc_vars__.pickle"

# What a seed folder's pickles may name without allow_pickle: numpy's own reconstructors and a
# few builtins, none of which runs code of the pickle's choosing.
_SAFE_GLOBALS = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("builtins", "complex"), ("builtins", "set"), ("builtins", "frozenset"),
    ("builtins", "bytearray"), ("collections", "OrderedDict"),
}


class _Placeholder:
    """The seed's ``varpack.NumpyArrayPlaceholder`` as unpickled: its ``.filename``, the
    ``.npy`` file holding a dict's array."""
    filename = None


class _Refused:
    """What an object of a class outside ``_SAFE_GLOBALS`` unpickles to without allow_pickle:
    nothing of the pickle's runs; the value holding it is refused, the others load."""
    what = "an object"

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass

    def __setitem__(self, key, value):
        pass

    def append(self, item):
        pass

    def extend(self, items):
        pass


def _refused_in(value, depth=0):
    """What refused object ``value`` holds, if any (containers searched)."""
    if isinstance(value, _Refused):
        return value.what
    if depth > 100:
        return None
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = value
    elif isinstance(value, np.ndarray) and value.dtype.hasobject:
        items = value.flat
    else:
        return None
    for item in items:
        found = _refused_in(item, depth + 1)
        if found is not None:
            return found
    return None


class _SeedUnpickler(pickle.Unpickler):
    def __init__(self, file, allow_pickle):
        super().__init__(file)
        self._allow = allow_pickle

    def find_class(self, module, name):
        if (module, name) == ("varpack", "NumpyArrayPlaceholder"):
            return _Placeholder
        if self._allow or (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        return type("_Refused", (_Refused,), {"what": f"a {module}.{name} object"})


def _is_seed_folder(folder):
    """Whether ``folder`` was saved by the seed: a ``varpack.json`` without this package's
    ``"format"`` string."""
    try:
        with open(os.path.join(folder, JSON_FILENAME), encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and not isinstance(manifest.get("format"), str)


def _seed_file(folder, filename):
    if (not isinstance(filename, str) or filename in ("", ".", "..")
            or any(c in filename for c in "/\\\0")):
        raise ValueError(f"{folder}: file name {filename!r} is not a plain file name in the folder")
    return os.path.join(folder, filename)


def _seed_npy(path, mode, allow_pickle):
    """A seed ``.npy`` file, memory-mapped with ``mode`` where it can be (the seed fell back to
    a full load too)."""
    try:
        return np.load(path, mmap_mode=mode, allow_pickle=allow_pickle)
    except ValueError:
        return np.load(path, allow_pickle=allow_pickle)


def _seed_read(folder, names, mode, allow_pickle, errors):
    """Values ``names`` of the seed folder ``folder`` (placeholders of dicts replaced by their
    arrays); a value that fails is passed to ``errors(name, exception)``."""
    with open(os.path.join(folder, JSON_FILENAME), encoding="utf-8") as f:
        info = json.load(f)
    pickles, out = {}, {}
    for name in names:
        try:
            filename = info[name]["filename"]
            path = _seed_file(folder, filename)
            if filename.endswith(".npy"):
                out[name] = _seed_npy(path, mode, allow_pickle)
                continue
            if not filename.endswith(".pickle"):
                raise ValueError(f"file {filename}: neither .npy nor .pickle")
            if filename not in pickles:
                with open(path, "rb") as f:
                    try:
                        pickles[filename] = _SeedUnpickler(f, allow_pickle).load()
                    except pickle.UnpicklingError as e:
                        raise ValueError(f"{path}: {e}") from None
            value = pickles[filename]
            if filename == _SEED_MISC:
                if name not in value:
                    raise ValueError(f"{path} does not hold it (the seed loses such values when "
                                     "a pack loaded with skip_loading is saved)")
                value = value[name]
            refused = _refused_in(value)
            if refused is not None:
                raise ValueError(f"{path}: it holds {refused}; load with allow_pickle=True to "
                                 "unpickle it (only for folders you trust)")
            if type(value) is dict:
                value = {k: _seed_npy(_seed_file(folder, v.filename), mode, allow_pickle)
                         if isinstance(v, _Placeholder) else v for k, v in value.items()}
            out[name] = value
        except (OSError, ValueError, KeyError, TypeError) as e:
            errors(name, e)
    return out


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
            folder = os.fsdecode(attached_folder)
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
        folder = os.fsdecode(attached_folder)
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
        save_folder = os.fsdecode(save_folder)
        if attached is not None and os.path.abspath(save_folder) != os.path.abspath(attached):
            other = self.detach()
            other.__internal__["attached_folder"] = save_folder
            return other.save(None, max_dict_keys, min_dict_numpy_size, sep_var_min_size,
                              sep_vars, skip_saving_vars, allow_pickle)
        if skip_saving_vars is not None:
            internal["skip_saving_vars"] = set(_names(skip_saving_vars))
        skip = internal["skip_saving_vars"]
        sep_vars = set(_names(sep_vars or ()))
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
        seed_skipped = self._seed_skipped(save_folder, skip)
        for name, value in seed_skipped.items():
            kind, payload = self._entry(name, value, True)
            entries.append((name, kind, payload))
        _native.varpack_save(save_folder, entries, separate, sorted(keep),
                             int(min_dict_numpy_size) if min_dict_numpy_size else None)
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
                    out.append((key, "json", json.dumps(j, allow_nan=False)))
            return "dict", out
        return "json", json.dumps(_to_json(name, value, allow_pickle), allow_nan=False)

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

    def _seed_skipped(self, folder, skip):
        """Saving over the seed folder this was loaded from: the values skipped at load, read
        now so that the new folder keeps them."""
        internal = self.__internal__
        seed = internal.get("seed_folder")
        if seed is None or os.path.abspath(seed) != os.path.abspath(folder):
            return {}
        names = [n for n in internal["skipped_loading_vars"] if n not in skip and n not in vars(self)]

        def fail(name, e):
            raise ValueError(f"variable {name!r} of {seed}, skipped at load, cannot be kept: {e}")
        values = _seed_read(seed, names, None, True, fail)
        internal["seed_folder"] = None
        return values

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
        folder = os.fsdecode(load_folder)
        skip = set(_names(skip_loading or ()))
        if _is_seed_folder(folder):
            return self._load_seed(folder, numpy_mmap_mode, stop_on_error, skip,
                                   keep_loaded_skips, allow_pickle)
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
            if isinstance(value, dict) and list(value) not in ([_PICKLED], [_NUMBER]):
                # A dict's entries (a pickled entry or a number JSON lacks is a one-key dict).
                value = {k: _from_json(f"{name}[{k!r}]", v, allow_pickle) for k, v in value.items()}
            elif not isinstance(value, np.ndarray):
                value = _from_json(name, value, allow_pickle)
            setattr(self, name, value)
        internal["attached_folder"] = folder
        internal["numpy_mmap_mode"] = numpy_mmap_mode
        internal["skipped_loading_vars"] = skip
        internal["pack"] = pack
        internal["seed_folder"] = None
        mapped = [n for n, v in pack.items() if isinstance(v, np.ndarray)]
        _log.info("loaded %s; memory-mapped with option %s: %s", folder, numpy_mmap_mode, mapped)
        return self

    def _load_seed(self, folder, mode, stop_on_error, skip, keep_loaded_skips, allow_pickle):
        """``load`` of a folder the seed saved."""
        with open(os.path.join(folder, JSON_FILENAME), encoding="utf-8") as f:
            names = [n for n in json.load(f) if n not in skip]
        failed = []

        def errors(name, e):
            if stop_on_error:
                raise ValueError(f"{folder}: variable {name!r}: {e}") from e
            _log.error("loading %r of %s failed: %s", name, folder, e)
            failed.append(name)
        values = _seed_read(folder, names, mode, allow_pickle, errors)
        for name in skip:
            if not keep_loaded_skips and name in vars(self):
                delattr(self, name)
        for name, value in values.items():
            setattr(self, name, value)
        internal = self.__internal__
        internal.update(attached_folder=folder, numpy_mmap_mode=mode, skipped_loading_vars=skip,
                        pack=None, seed_folder=folder)
        _log.info("loaded %s (saved by Varpack); memory-mapped with option %s: %s", folder, mode,
                  [n for n, v in values.items() if isinstance(v, np.ndarray)])
        return self

    def __repr__(self):
        return f"Varpack({self.__internal__['attached_folder']!r}, variables={sorted(self._vars())})"
