"""Named sets of variables: saved in one step, loaded with every array memory-mapped.

>>> import numpy as np, array_files.varpack as varpack
>>> varpack.save("run1", {"x": np.arange(10), "cams": {"left": np.zeros((2, 3))},
...                       "settings": {"fast": True}})                # doctest: +SKIP
>>> vp = varpack.load("run1")                                         # doctest: +SKIP
>>> vp["x"][-1], vp["settings"]["fast"]                               # doctest: +SKIP
>>> vp["y"] = np.ones(3); vp.save()                                   # doctest: +SKIP

A path ending in ``.npz`` is the single-file form, any other path a directory of ``.npy``
files; numpy loads both as they are. :func:`load` also takes a URL of object storage
(``s3://bucket/runs/run1`` for a directory pack's prefix, ``s3://bucket/runs/run1.npz`` for a
single file; ``gs://``, ``az://``, ``http(s)://``; configured from the environment:
``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ...), and :func:`save` a URL ending in ``.npz``.
"""

import collections.abc
import json
import math
import os

import numpy as np

from array_files import _native
from array_files._args import names
from array_files._dtypes import to_descr
from array_files.npy import _is_url

__all__ = ["load", "save", "Varpack"]


def load(path, ignore=(), mmap_mode="r"):
    """The pack at ``path`` as a :class:`Varpack`: arrays as numpy arrays viewing the pack's
    maps (``mmap_mode`` as :func:`numpy.load`'s: ``"r"`` read-only, ``"r+"`` writes go to the
    files, ``"c"`` copy-on-write, ``None`` copies into memory), dicts as dicts (their arrays
    mapped the same way, their other entries as Python values), JSON values as Python values.
    Names in ``ignore`` are not read at all.

    ``path`` may be a URL of object storage: ``s3://bucket/runs/run1`` (a directory pack's
    prefix: ``varpack.json`` and each file under it) or ``s3://bucket/runs/run1.npz`` (a
    single-file pack or any numpy ``.npz``). Its arrays are read into memory (writable, as
    :func:`numpy.load` gives them), so ``mmap_mode`` must be ``None`` or ``"r"``: anything else
    is a ``ValueError``. The result's ``path`` is the URL, but :meth:`Varpack.save` without a path
    never writes back to storage: ``save(url)`` or ``save_as(url)`` (a URL ending in ``.npz``)
    does, as :func:`save` does."""
    url = _is_url(path)
    if url and mmap_mode not in (None, "r"):
        raise ValueError(
            f"{path}: a pack in object storage is read into memory, never mapped: "
            f"mmap_mode must be None or 'r', not {mmap_mode!r}"
        )
    mode = "r" if mmap_mode is None else mmap_mode
    loaded = _native.varpack_load(os.fsdecode(path), names(ignore), mode)
    copy = mmap_mode is None and not url
    values = {name: _value_of(kind, payload, copy) for name, kind, payload in loaded}
    vp = Varpack(values, path=path)
    vp._from_storage = url
    if mmap_mode in ("r", "r+") and not url:
        # Arrays whose files hold their data: a save to this path that finds the very same
        # objects keeps their files instead of writing them again.
        vp._unchanged = {n: v for n, v in values.items() if isinstance(v, np.ndarray)}
    return vp


def _value_of(kind, payload, copy):
    """A loaded ``(kind, payload)`` as the Python value."""
    if kind == "array":
        return _array_of(payload, copy)
    if kind == "dict":
        return {key: _value_of(k, p, copy) for key, k, p in payload}
    return json.loads(payload)


def save(path, mapping):
    """Saves ``mapping`` (name -> array, dict, or JSON-able value) as a pack at
    ``path``, atomically replacing any pack there. ``path`` may be a URL of object storage
    ending in ``.npz`` (``s3://bucket/runs/run1.npz``): the single file is written to a
    temporary file, then uploaded whole (nothing is visible at the URL until it is complete).
    The directory form is never written to object storage (a ``ValueError``): a prefix of
    objects cannot be replaced atomically."""
    Varpack(mapping).save_as(path)


def _array_of(array, copy):
    return array.copy(order="K") if copy else array


def _array_entry(name, array):
    array = np.asarray(array)
    if array.dtype.hasobject:
        raise ValueError(f"{name}: object arrays hold pickles, which varpack does not save")
    fortran_order = bool(array.flags.f_contiguous and not array.flags.c_contiguous)
    contiguous = np.asfortranarray(array) if fortran_order else np.ascontiguousarray(array)
    raw = contiguous.reshape(-1, order="F" if fortran_order else "C").view(np.uint8)
    return (to_descr(array.dtype), list(array.shape), fortran_order, raw)


def _kind(value):
    """``"array"``; ``"dict"`` for a dict with string keys holding at least one array (its
    arrays are saved as arrays, its other entries as JSON); else ``"json"``."""
    if isinstance(value, np.ndarray):
        return "array"
    if (
        isinstance(value, dict)
        and all(isinstance(k, str) for k in value)
        and any(isinstance(v, np.ndarray) for v in value.values())
    ):
        return "dict"
    return "json"


# The ints a JSON number of the pack holds exactly (the Rust side reads wider ones as floats).
_INT_RANGE = (-(1 << 63), (1 << 64) - 1)


def _inexact_number(value):
    """A number in ``value`` (a JSON value: nested lists, tuples and dicts) that JSON does not
    give back: NaN or an infinity, or an int outside ``_INT_RANGE``; None if there is none."""
    if isinstance(value, float):
        return None if math.isfinite(value) else value
    if isinstance(value, int) and not isinstance(value, bool):
        return None if _INT_RANGE[0] <= value <= _INT_RANGE[1] else value
    if isinstance(value, dict):
        items = value.values()
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        return None
    for item in items:
        found = _inexact_number(item)
        if found is not None:
            return found
    return None


def _json_text(name, value):
    """``value`` as JSON text, refused (``ValueError`` naming it) where JSON would not give it
    back: NaN and infinities (JSON has no such numbers) and ints beyond 64 bits."""
    try:
        # NaN allowed here, refused below by name: a value that dumps has no cycle to walk.
        text = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name}: not an array, a dict or a JSON value ({e})") from None
    inexact = _inexact_number(value)
    if isinstance(inexact, float):
        raise ValueError(
            f"{name}: NaN and infinity are not JSON numbers, and values other than arrays are "
            "saved as JSON; save such a number in an array (np.float64(x) -> np.array(x))"
        )
    if inexact is not None:
        raise ValueError(
            f"{name}: the int {inexact} does not fit in 64 bits, and JSON numbers of a pack "
            "read back exactly only within them; save it as a string (str(n)) or in an array"
        )
    return text


def _dict_entries(name, value):
    """A dict's entries as ``(key, kind, payload)``: arrays and JSON values."""
    entries = []
    for key, v in value.items():
        if isinstance(v, np.ndarray):
            entries.append((key, "array", _array_entry(f"{name}[{key!r}]", v)))
        else:
            entries.append((key, "json", _json_text(f"{name}[{key!r}]", v)))
    return entries


class Varpack(collections.abc.MutableMapping):
    """A named set of variables: a dict of arrays, dicts of arrays and JSON-able values that
    saves to (and was perhaps loaded from) a pack. ``repr`` is the table ``varpack show``
    prints."""

    def __init__(self, values=None, path=None):
        self._values = dict(values or {})
        self.path = None if path is None else os.fsdecode(path)
        self._unchanged = {}
        # Loaded from object storage: save() without a path refuses to write back there.
        self._from_storage = False

    def __getitem__(self, name):
        return self._values[name]

    def __setitem__(self, name, value):
        if not isinstance(name, str) or not name:
            raise ValueError(f"names are non-empty strings, not {name!r}")
        self._values[name] = value

    def __delitem__(self, name):
        del self._values[name]

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def save(self, path=None):
        """Saves to ``path`` (or where the pack was loaded from or last saved), atomically: a
        crash leaves the previous pack or this one. Arrays viewing the old pack stay valid. A
        pack loaded from object storage is saved only to a path given here (a local path, or a
        URL ending in ``.npz``): never back to storage by default."""
        if path is None and self._from_storage:
            raise ValueError(
                f"{self.path}: loaded from object storage, which save() never writes to; "
                "pass the path or URL (ending in .npz) to save(path) or save_as(path)"
            )
        path = self.path if path is None else path
        if path is None:
            raise ValueError("this Varpack has no path yet: pass one, or use save_as(path)")
        self.save_as(path)

    def save_as(self, path):
        """Saves to ``path`` and makes it this pack's path."""
        kept = self._kept(path)
        entries = []
        for name, value in self._values.items():
            if name in kept:
                continue
            kind = _kind(value)
            if kind == "array":
                payload = _array_entry(name, value)
            elif kind == "dict":
                payload = _dict_entries(name, value)
            else:
                payload = _json_text(name, value)
            entries.append((name, kind, payload))
        _native.varpack_save(os.fsdecode(path), entries, [], kept)
        self.path = os.fsdecode(path)
        self._from_storage = False

    def _kept(self, path):
        """Names of arrays loaded mapped from ``path`` and still the very objects loaded (a
        read-write map's writes are in the file): a save to ``path`` keeps their files."""
        if self.path is None or os.fsdecode(path) != self.path:
            return []
        return [n for n, v in self._unchanged.items() if self._values.get(n) is v]

    def detach(self):
        """Copies every mapped array into memory, so the pack's files may be changed or
        deleted while these values live on."""
        for name, value in self._values.items():
            kind = _kind(value)
            if kind == "array":
                self._values[name] = np.array(value, copy=True, order="K")
            elif kind == "dict":
                self._values[name] = {
                    k: np.array(v, copy=True, order="K") if isinstance(v, np.ndarray) else v
                    for k, v in value.items()
                }
        return self

    def __repr__(self):
        head = ["name", "kind", "dtype", "shape", "bytes", "status"]
        rows = [_row(name, value) for name, value in sorted(self._values.items())]
        widths = [max(len(r[i]) for r in [head] + rows) for i in range(6)]

        def line(left, mid, right):
            return left + mid.join("─" * (w + 2) for w in widths) + right

        def cells(row):
            return "│" + "│".join(f" {c}{' ' * (w - len(c))} " for c, w in zip(row, widths)) + "│"

        where = "(not saved)" if self.path is None else self.path
        out = [f"Varpack {where}: {len(self)} values", line("┌", "┬", "┐"), cells(head),
               line("├", "┼", "┤")]
        out += [cells(r) for r in rows]
        out.append(line("└", "┴", "┘"))
        return "\n".join(out)


def _human(n):
    if n < 1024:
        return f"{n} B"
    value, unit = n / 1024, 0
    units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    while value >= 1024 and unit + 1 < len(units):
        value, unit = value / 1024, unit + 1
    return f"{value:.1f} {units[unit]}"


def _status(array):
    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    return "mapped" if isinstance(base, _native.VarpackCore) and base.mapped else "loaded"


def _row(name, value):
    kind = _kind(value)
    if kind == "array":
        descr = np.lib.format.dtype_to_descr(value.dtype)
        shape = "(" + ", ".join(map(str, value.shape)) + (",)" if value.ndim == 1 else ")")
        return [name, "array", descr if isinstance(descr, str) else json.dumps(descr), shape,
                _human(value.nbytes), _status(value)]
    if kind == "dict":
        arrays = [v for v in value.values() if isinstance(v, np.ndarray)]
        size = sum(a.nbytes for a in arrays)
        status = "mapped" if all(_status(a) == "mapped" for a in arrays) else "loaded"
        return [name, "dict", "-", f"{len(value)} keys", _human(size), status]
    return [name, "json", "-", "-", _human(len(json.dumps(value))), "loaded"]
