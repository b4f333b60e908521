"""The Python part of `cargo xtask demo`: the four jobs of the package array_files, each on
data it makes itself, with how fast it went. Run by xtask with the venv's python:
`python xtask/python/demo.py SCRATCH_DIR`."""

import json
import os
import sys
import time

import numpy as np

import array_files.filepack as fp
import array_files.npy as npy
import array_files.npz as npz
import array_files.varpack as varpack


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main(root):
    print("\n-- python: the package array_files (pip install ./python)")

    # 1. A detector loop appending frames to a .npy, then reading it back mapped.
    path = os.path.join(root, "frames.npy")
    frame = np.arange(64 * 64, dtype=np.uint16).reshape(1, 64, 64)
    count = 20_000

    def record():
        with npy.Appender(path, np.uint16, (64, 64), mode="w") as out:
            for i in range(count):
                frame[0, 0, 0] = i
                out.append(frame)

    _, elapsed = timed(record)
    frames = npy.load(path, mmap_mode="r")
    assert frames.shape == (count, 64, 64) and frames[-1, 0, 0] == (count - 1) % 65536
    assert np.array_equal(np.load(path)[123], frames[123])
    print(f"npy.Appender: {count} frames of 64x64 u16 appended from a Python loop in "
          f"{elapsed * 1e3:.0f} ms ({count / elapsed:,.0f} frames/s); numpy loads the file, "
          f"npy.load maps it (read-only: {not frames.flags.writeable})")

    # 2. An .npz streamed member by member, then random access into a compressed member.
    path = os.path.join(root, "run.npz")

    def stream():
        with npz.Writer(path, compress=True) as out:
            out.add("calibration", np.linspace(0, 1, 256))
            with out.member("adc", np.int16, (256,)) as adc:
                for i in range(200):
                    adc.append(np.full((500, 256), i, np.int16))

    _, elapsed = timed(stream)
    z = npz.open(path)
    last, took = timed(lambda: z.frames("adc", -8))
    assert (last == 199).all() and last.shape == (8, 256)
    assert np.load(path)["adc"].shape == (100_000, 256)
    print(f"npz.Writer: 100000 frames of 256 i16 streamed, deflated, in {elapsed * 1e3:.0f} ms; "
          f"the last 8 frames read back in {took * 1e3:.2f} ms without inflating the rest")

    # 3. A tree of small files packed into one, read back by path with no copy.
    src = os.path.join(root, "dataset")
    for i in range(5_000):
        sub = os.path.join(src, f"shard{i % 10}")
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"{i:05}.json"), "w") as f:
            json.dump({"id": i, "label": i % 7}, f)
    summary, elapsed = timed(lambda: fp.pack(src, os.path.join(root, "dataset.fpack")))
    pack = fp.Pack(os.path.join(root, "dataset.fpack"))
    names = [f"shard{i % 10}/{i:05}.json" for i in range(0, 5_000, 7)]
    batch, took = timed(lambda: pack.read_many(names))
    assert json.loads(bytes(batch[3])) == {"id": 21, "label": 0}
    assert json.load(pack.open("shard3/00013.json", "r"))["id"] == 13
    print(f"filepack.pack: {summary['files']} files packed in {elapsed * 1e3:.0f} ms; "
          f"Pack.read_many fetched {len(names)} of them in {took * 1e6:.0f} us "
          f"({len(names) / took:,.0f} files/s)")

    # 4. A named set of variables saved, and loaded back with every array mapped.
    path = os.path.join(root, "experiment")
    values = {f"layer{i}": np.random.default_rng(i).random((256, 256)) for i in range(100)}
    values["config"] = {"lr": 1e-3, "epochs": 12}
    _, elapsed = timed(lambda: varpack.save(path, values))
    vp, took = timed(lambda: varpack.load(path))
    assert np.array_equal(vp["layer42"], values["layer42"]) and vp["config"]["epochs"] == 12
    print(f"varpack.save: 100 arrays (50 MiB) and a config saved in {elapsed * 1e3:.0f} ms; "
          f"varpack.load mapped them back in {took * 1e3:.2f} ms")


if __name__ == "__main__":
    main(sys.argv[1])
