"""Data and helpers for the `python` group of `cargo xtask bench` (xtask/src/bench/python.rs).

`prepare(root)` makes, once, every input the group times: a tree of small files with its pack,
an LMDB database and a zip archive of the same files; a varpack of 100 arrays; a compressed
.npz with a long member. Timed statements import this module for their setup.
"""

import os
import random
import sys
import zipfile

import numpy as np

SMALL_FILES = 20_000
BATCH = 64
LOAD_ARRAYS = 100
ADC_FRAMES = 400_000


def small_names():
    return [f"d{i % 100:02}/{i:06}.bin" for i in range(SMALL_FILES)]


def batches(count, seed=1):
    """`count` batches of BATCH random file names."""
    rng = random.Random(seed)
    names = small_names()
    return [rng.sample(names, BATCH) for _ in range(count)]


def prepare(root):
    """Makes every input under `root` (skipping what exists) and prints nothing."""
    os.makedirs(root, exist_ok=True)
    tree = os.path.join(root, "tree")
    if not os.path.exists(os.path.join(root, "tree.done")):
        rng = np.random.default_rng(7)
        for name in small_names():
            path = os.path.join(tree, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(rng.integers(0, 256, int(rng.integers(100, 4000)), np.uint8).tobytes())
        open(os.path.join(root, "tree.done"), "w").close()
    pack = os.path.join(root, "tree.fpack")
    if not os.path.exists(pack):
        import array_files.filepack as fp

        fp.pack(tree, pack)
    db = os.path.join(root, "tree.lmdb")
    if not os.path.exists(os.path.join(root, "lmdb.done")):
        import lmdb

        env = lmdb.open(db, map_size=1 << 30)
        with env.begin(write=True) as txn:
            for name in small_names():
                with open(os.path.join(tree, name), "rb") as f:
                    txn.put(name.encode(), f.read())
        env.close()
        open(os.path.join(root, "lmdb.done"), "w").close()
    archive = os.path.join(root, "tree.zip")
    if not os.path.exists(archive):
        with zipfile.ZipFile(archive + ".tmp", "w") as z:
            for name in small_names():
                z.write(os.path.join(tree, name), name)
        os.rename(archive + ".tmp", archive)
    arrays = os.path.join(root, "arrays")
    if not os.path.exists(os.path.join(arrays, "varpack.json")):
        import array_files.varpack as varpack

        rng = np.random.default_rng(3)
        varpack.save(arrays, {f"a{i:03}": rng.random((100, 10)) for i in range(LOAD_ARRAYS)})
    adc = os.path.join(root, "adc.npz")
    if not os.path.exists(adc):
        import array_files.npz as npz

        rng = np.random.default_rng(5)
        with npz.Writer(adc + ".tmp.npz", compress=True) as out:
            with out.member("adc", np.int16, (256,)) as member:
                for _ in range(ADC_FRAMES // 10_000):
                    member.append(rng.integers(-512, 512, (10_000, 256)).astype(np.int16))
        os.rename(adc + ".tmp.npz", adc)


if __name__ == "__main__":
    prepare(sys.argv[1])
