//! The `python` group: the Python package `array_files` (built and installed into the venv
//! first) against what Python users run today, both sides timed in Python: NpyAppendArray and
//! a plain `f.write` loop for appends; `open().read()`, LMDB (py-lmdb) and `zipfile` for small
//! files; numpy's `np.load` for sets of arrays and for the last frames of a compressed member.
//! Inputs come from `xtask/python/bench_python.py`.

use anyhow::Result;

use super::{BenchCtx, path_str, settle_writeback};
use crate::venv;

/// The group.
pub fn run(ctx: &BenchCtx) -> Result<()> {
    venv::install_package()?;
    let root = ctx.scratch_dir().join("python");
    let root = path_str(&root)?.to_owned();
    let prepare = format!("{}\nb.prepare(root)", prelude(&root));
    ctx.python_timeit(&prepare, "pass")?;
    append(ctx, &root)?;
    small_files(ctx, &root)?;
    arrays(ctx, &root)
}

/// The setup every statement starts from: numpy, the helper module, the scratch root.
fn prelude(root: &str) -> String {
    format!(
        "import os, sys\nsys.path.insert(0, 'xtask/python')\nimport numpy as np\n\
         import bench_python as b\nroot = {root:?}"
    )
}

/// Frames appended from a Python loop.
fn append(ctx: &BenchCtx, root: &str) -> Result<()> {
    let p = prelude(root);
    for (frame_shape, dtype, count, goal) in [
        ("(16,)", "np.float32", 20_000, "at least 30x NpyAppendArray"),
        (
            "(256, 256)",
            "np.uint16",
            1_000,
            "at least 2x NpyAppendArray",
        ),
    ] {
        let setup = format!(
            "{p}\nimport array_files.npy as npy\nframe = np.zeros((1,) + {frame_shape}, {dtype})\n\
             path = os.path.join(root, 'ours.npy')\nif os.path.exists(path): os.remove(path)"
        );
        let ours = format!(
            "with npy.Appender(path, {dtype}, {frame_shape}) as out:\n    for _ in range({count}):\n        out.append(frame)"
        );
        let naa_setup = format!(
            "{p}\nfrom npy_append_array import NpyAppendArray\nframe = np.zeros((1,) + {frame_shape}, {dtype})\n\
             path = os.path.join(root, 'naa.npy')\nif os.path.exists(path): os.remove(path)"
        );
        let naa = format!(
            "with NpyAppendArray(path) as out:\n    for _ in range({count}):\n        out.append(frame)"
        );
        // Each run starts with no writeback pending from the one before (as every write
        // benchmark here): otherwise whichever side runs second pays for the first's.
        let timed = |setup: &str, stmt: &str| {
            settle_writeback()?;
            ctx.python_timeit(setup, stmt)
        };
        // One untimed run of each side first: the first writes of a run into a page cache full
        // of the previous groups' data take several times longer, whichever side makes them.
        timed(&setup, &ours)?;
        timed(&naa_setup, &naa)?;
        let record = ctx.compare(
            &format!("python: append {count} frames of shape {frame_shape} {dtype}"),
            goal,
            || timed(&setup, &ours),
            "npy-append-array 0.9.19, the same loop",
            || timed(&naa_setup, &naa),
        )?;
        ctx.annotate("appends_per_s", count as f64 / record.ours.median_s);
        if frame_shape == "(16,)" {
            ctx.headline();
        } else {
            let raw_setup = format!(
                "{p}\nframe = np.zeros((1,) + {frame_shape}, {dtype})\npath = os.path.join(root, 'raw.bin')\nif os.path.exists(path): os.remove(path)"
            );
            let raw = format!(
                "with open(path, 'wb') as f:\n    for _ in range({count}):\n        f.write(frame.tobytes())"
            );
            ctx.compare(
                &format!(
                    "python: append {count} frames of shape {frame_shape} {dtype}, vs f.write"
                ),
                "at least 0.8x a plain f.write(frame.tobytes()) loop",
                || timed(&setup, &ours),
                "open(path, 'wb') and f.write(frame.tobytes()) per frame",
                || timed(&raw_setup, &raw),
            )?;
            // Plain writes' bandwidth: the same bytes handed to the kernel straight from the
            // frame's memory (no copy, no Python object per write). The appender can beat it
            // only by writing differently: it reserves disk blocks ahead of the data and ends
            // its writes on 64 KiB boundaries, which the page cache takes faster.
            let plain = format!(
                "fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)\nmv = memoryview(frame).cast('B')\n\
                 for _ in range({count}):\n    os.write(fd, mv)\nos.close(fd)"
            );
            ctx.compare(
                &format!(
                    "python: append {count} frames of shape {frame_shape} {dtype}, vs os.write"
                ),
                "plain writes' bandwidth (anchor/ours near 1 or above)",
                || timed(&setup, &ours),
                "os.write(fd, frame) per frame: plain writes, no copy",
                || timed(&raw_setup, &plain),
            )?;
        }
    }
    Ok(())
}

/// Small files: batches, and one at a time against the unpacked tree, LMDB and a zip.
fn small_files(ctx: &BenchCtx, root: &str) -> Result<()> {
    let p = prelude(root);
    let batches = 500;
    let files = (batches * 64) as f64;
    let ours_setup = format!(
        "{p}\nimport array_files.filepack as fp\npack = fp.Pack(os.path.join(root, 'tree.fpack'))\n\
         batches = b.batches({batches})"
    );
    let tree_setup =
        format!("{p}\ntree = os.path.join(root, 'tree')\nbatches = b.batches({batches})");
    let read_tree = "for batch in batches:\n    for name in batch:\n        with open(os.path.join(tree, name), 'rb') as f: f.read()";
    let record = ctx.compare(
        &format!("python: Pack.read_many of {batches} batches of 64 random small files"),
        "at least 1M files/s from Python on one core",
        || ctx.python_timeit(&ours_setup, "for batch in batches: pack.read_many(batch)"),
        "open().read() per file of the unpacked tree",
        || ctx.python_timeit(&tree_setup, read_tree),
    )?;
    ctx.annotate("files_per_s", files / record.ours.median_s);
    ctx.headline();
    let read_one = "for batch in batches:\n    for name in batch: pack.read(name)";
    ctx.compare(
        "python: Pack.read one small file at a time",
        "at least 5x open().read() on the unpacked tree",
        || ctx.python_timeit(&ours_setup, read_one),
        "open().read() per file of the unpacked tree",
        || ctx.python_timeit(&tree_setup, read_tree),
    )?;
    let lmdb_setup = format!(
        "{tree_setup}\nimport lmdb\nenv = lmdb.open(os.path.join(root, 'tree.lmdb'), readonly=True, lock=False)\n\
         txn = env.begin(buffers=True)"
    );
    ctx.compare(
        "python: Pack.read one small file at a time, vs LMDB",
        "faster than LMDB's txn.get",
        || ctx.python_timeit(&ours_setup, read_one),
        "py-lmdb 3.0: txn.get(key) in one read transaction (buffers, no copy)",
        || {
            ctx.python_timeit(
                &lmdb_setup,
                "for batch in batches:\n    for name in batch: txn.get(name.encode())",
            )
        },
    )?;
    let zip_setup = format!(
        "{tree_setup}\nimport zipfile\nz = zipfile.ZipFile(os.path.join(root, 'tree.zip'))"
    );
    ctx.compare(
        "python: Pack.read one small file at a time, vs zipfile",
        "faster than zipfile.ZipFile.read",
        || ctx.python_timeit(&ours_setup, read_one),
        "zipfile: ZipFile.read(name) of a stored archive, opened once",
        || {
            ctx.python_timeit(
                &zip_setup,
                "for batch in batches:\n    for name in batch: z.read(name)",
            )
        },
    )?;
    Ok(())
}

/// Sets of arrays, and the last frames of a compressed member.
fn arrays(ctx: &BenchCtx, root: &str) -> Result<()> {
    let p = prelude(root);
    let load_setup =
        format!("{p}\nimport array_files.varpack as varpack\npath = os.path.join(root, 'arrays')");
    let np_setup = format!(
        "{p}\npath = os.path.join(root, 'arrays')\nnames = sorted(n for n in os.listdir(path) if n.endswith('.npy'))"
    );
    let record = ctx.compare(
        "python: varpack.load of 100 arrays, every one mapped",
        "under 2 ms, at least 5x np.load(mmap_mode='r') per file",
        || ctx.python_timeit_repeat(&load_setup, "varpack.load(path)", 20),
        "np.load(mmap_mode='r') of each .npy",
        || {
            ctx.python_timeit_repeat(
                &np_setup,
                "{n: np.load(os.path.join(path, n), mmap_mode='r') for n in names}",
                20,
            )
        },
    )?;
    ctx.annotate("load_ms", record.ours.median_s * 1e3);
    ctx.headline();
    let frames_setup = format!(
        "{p}\nimport array_files.npz as npz\npath = os.path.join(root, 'adc.npz')\nn = b.ADC_FRAMES"
    );
    ctx.compare(
        "python: the last 8 frames of a 200 MiB compressed member",
        "at least 100x np.load(f)['adc'][-8:]",
        || ctx.python_timeit_repeat(&frames_setup, "npz.open(path).frames('adc', n - 8, n)", 5),
        "np.load(path)['adc'][-8:]",
        || ctx.python_timeit(&frames_setup, "np.load(path)['adc'][-8:]"),
    )?;
    Ok(())
}
