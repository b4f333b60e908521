"""Load a varpack with numpy and json alone, either form.

    python load_varpack.py PACK          (a directory, or a single .npz file)

Arrays of a directory pack come back memory-mapped read-only (np.load(..., mmap_mode="r")),
a single file's arrays read into memory (np.load of an .npz does not map); dicts as dicts of
their arrays and other entries (small arrays a save stored among them, `{"__ndarray__": ...}`,
decoded); other values from their JSON documents.
"""
import ast
import base64
import json
import os
import re
import sys

import numpy as np


def inline_array(value):
    """A dict entry `{"__ndarray__": {descr, fortran_order, shape, data}}` as its array."""
    if not (isinstance(value, dict) and list(value) == ["__ndarray__"]):
        return value
    a = value["__ndarray__"]
    dtype = np.lib.format.descr_to_dtype(ast.literal_eval(a["descr"]))
    data = np.frombuffer(base64.b64decode(a["data"]), dtype=dtype)
    return data.reshape(a["shape"], order="F" if a["fortran_order"] else "C").copy(order="K")


def load_varpack(path, mmap_mode="r"):
    if os.path.isdir(path):
        def read_array(file):
            return np.load(os.path.join(path, file), mmap_mode=mmap_mode)

        def read_bytes(file):
            with open(os.path.join(path, file), "rb") as f:
                return f.read()

        manifest = json.loads(read_bytes("varpack.json"))
    else:
        archive = np.load(path)

        def read_array(member):
            return archive[member[: -len(".npy")]]

        def read_bytes(member):
            return bytes(archive[member])

        # Appends add __varpack__.N.json; the highest N is the current manifest.
        generations = {0 if k == "__varpack__.json" else int(m.group(1)): k
                       for k in archive.files
                       for m in [re.fullmatch(r"__varpack__(?:\.(\d+))?\.json", k)] if m}
        manifest = json.loads(read_bytes(generations[max(generations)]))
    if manifest.get("format") != "varpack" or manifest.get("version") != 1:
        raise ValueError(f"{path}: not a version-1 varpack")
    docs = {}

    def json_of(entry):
        """The JSON value of an entry: a document of its own, or its part of a shared one."""
        file = entry["file"]
        if file not in docs:
            docs[file] = json.loads(read_bytes(file))
        return docs[file] if entry.get("separate") else docs[file][entry["name"]]

    values = {}
    for entry in manifest["values"]:
        name, kind = entry["name"], entry["kind"]
        if kind == "array":
            values[name] = read_array(entry["file"])
        elif kind == "dict":
            # A dict's non-array entries are a JSON object stored as a JSON value is.
            value = dict(json_of(entry)) if entry.get("file") else {}
            value = {k: inline_array(v) for k, v in value.items()}
            value.update({e["key"]: read_array(e["file"]) for e in entry["entries"]})
            values[name] = value
        elif kind == "json":
            values[name] = json_of(entry)
        else:
            raise ValueError(f"{path}: value {name!r} has unknown kind {kind!r}")
    return values


if __name__ == "__main__":
    for name, value in load_varpack(sys.argv[1]).items():
        if isinstance(value, np.ndarray):
            print(f"{name}: array {value.dtype} {value.shape}")
        elif isinstance(value, dict):
            arrays = sum(isinstance(v, np.ndarray) for v in value.values())
            print(f"{name}: dict of {arrays} arrays and {len(value) - arrays} other values")
        else:
            print(f"{name}: {json.dumps(value)[:60]}")
