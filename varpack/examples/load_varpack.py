"""Load a directory varpack with numpy and json alone.

    python load_varpack.py PACK_DIR

Arrays come back memory-mapped read-only (np.load(..., mmap_mode="r")), dicts as dicts of
arrays, other values from their JSON documents.
"""
import json
import os
import sys

import numpy as np


def load_varpack(folder, mmap_mode="r"):
    with open(os.path.join(folder, "varpack.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    if manifest.get("format") != "varpack" or manifest.get("version") != 1:
        raise ValueError(f"{folder}: not a version-1 varpack")
    docs = {}
    values = {}
    for entry in manifest["values"]:
        name, kind = entry["name"], entry["kind"]
        if kind == "array":
            values[name] = np.load(os.path.join(folder, entry["file"]), mmap_mode=mmap_mode)
        elif kind == "dict":
            values[name] = {
                e["key"]: np.load(os.path.join(folder, e["file"]), mmap_mode=mmap_mode)
                for e in entry["entries"]
            }
        elif kind == "json":
            path = os.path.join(folder, entry["file"])
            if path not in docs:
                with open(path, encoding="utf-8") as f:
                    docs[path] = json.load(f)
            values[name] = docs[path] if entry.get("separate") else docs[path][name]
        else:
            raise ValueError(f"{folder}: value {name!r} has unknown kind {kind!r}")
    return values


if __name__ == "__main__":
    for name, value in load_varpack(sys.argv[1]).items():
        if isinstance(value, np.ndarray):
            print(f"{name}: array {value.dtype} {value.shape}")
        elif isinstance(value, dict):
            print(f"{name}: dict of {len(value)} arrays")
        else:
            print(f"{name}: {json.dumps(value)[:60]}")
