//! The `varpack` group: saving 1 GiB of arrays, and loading a pack of 100 arrays, against a plain
//! write of the same bytes and against numpy.

use std::fs::File;
use std::io::Write;

use anyhow::Result;
use varpack::{LoadOptions, Varpack};

use super::{BenchCtx, Measurement, median_of, path_str, settle_writeback, time};

/// Arrays in the load benchmark.
const LOAD_ARRAYS: usize = 100;

/// The `varpack` group.
pub fn run(ctx: &BenchCtx) -> Result<()> {
    save(ctx)?;
    load(ctx)
}

/// Saving: 8 arrays of `f64` totalling 1 GiB (256 MiB with `--quick`), directory form.
fn save(ctx: &BenchCtx) -> Result<()> {
    let total: usize = if ctx.quick { 256 << 20 } else { 1 << 30 };
    let per_array = total / 8 / 8;
    let arrays: Vec<Vec<f64>> = (0..8)
        .map(|a| (0..per_array).map(|i| (i * 8 + a) as f64).collect())
        .collect();
    let mut vp = Varpack::new();
    for (a, data) in arrays.iter().enumerate() {
        vp.insert_array(&format!("a{a}"), data, &[per_array as u64])?;
    }
    let dir = ctx.scratch_dir();
    let ours = dir.join("saved");
    let plain = dir.join("plain");
    let bytes = total as u64;
    let label = format!("save 8 arrays, {} MiB in all, directory form", total >> 20);
    ctx.compare(
        &format!("{label}, vs a plain write"),
        "at least 0.9x a plain buffered write of the same bytes (both fsynced)",
        || {
            let _ = std::fs::remove_dir_all(&ours);
            settle_writeback()?;
            Ok(Measurement::bytes(time(|| Ok(vp.save_as(&ours)?))?, bytes))
        },
        "plain write + fsync of the same bytes",
        || {
            let _ = std::fs::remove_dir_all(&plain);
            std::fs::create_dir_all(&plain)?;
            settle_writeback()?;
            time(|| {
                for (a, data) in arrays.iter().enumerate() {
                    let mut file = File::create(plain.join(format!("a{a}.bin")))?;
                    file.write_all(npy_format::as_bytes(data))?;
                    file.sync_all()?;
                }
                Ok(())
            })
        },
    )?;
    ctx.headline();
    let numpy_dir = dir.join("numpy");
    std::fs::create_dir_all(&numpy_dir)?;
    let setup = format!(
        "import numpy as np, os; d = {:?}; arrays = [np.arange({per_array}, dtype='<f8') * 8 + a for a in range(8)]",
        path_str(&numpy_dir)?
    );
    ctx.compare(
        &format!("{label}, vs np.save"),
        "faster than np.save of the same arrays (which does not fsync)",
        || {
            let _ = std::fs::remove_dir_all(&ours);
            Ok(Measurement::bytes(time(|| Ok(vp.save_as(&ours)?))?, bytes))
        },
        "numpy np.save per array (no fsync)",
        || {
            ctx.python_timeit(
                &setup,
                "for a, x in enumerate(arrays): np.save(os.path.join(d, f'a{a}.npy'), x)",
            )
        },
    )?;
    // Durability as a choice: without fsync, a save is what np.save is (a write to the page
    // cache), still atomic for every process.
    let mut unsynced = Varpack::new();
    for (a, data) in arrays.iter().enumerate() {
        unsynced.insert_array(&format!("a{a}"), data, &[per_array as u64])?;
    }
    unsynced.set_sync(false);
    ctx.compare(
        &format!("{label}, set_sync(false), vs np.save"),
        "faster than np.save of the same arrays (neither fsyncs)",
        || {
            let _ = std::fs::remove_dir_all(&ours);
            settle_writeback()?;
            Ok(Measurement::bytes(
                time(|| Ok(unsynced.save_as(&ours)?))?,
                bytes,
            ))
        },
        "numpy np.save per array (no fsync)",
        || {
            settle_writeback()?;
            ctx.python_timeit(
                &setup,
                "for a, x in enumerate(arrays): np.save(os.path.join(d, f'a{a}.npy'), x)",
            )
        },
    )?;
    drop(unsynced);
    // A re-save after changing one scalar: the mapped arrays, unchanged, keep their files.
    let mut loaded = Varpack::load(&ours)?;
    loaded.insert_value("step", &0)?;
    loaded.save()?;
    let mut step = 0;
    ctx.measure(
        &format!(
            "re-save after changing one scalar, {} MiB of mapped arrays, directory form",
            total >> 20
        ),
        "under 10 ms (unchanged arrays are not rewritten)",
        || {
            step += 1;
            loaded.replace_value("step", &step)?;
            settle_writeback()?;
            time(|| Ok(loaded.save()?))
        },
    )?;
    Ok(())
}

/// Loading: packs of 100 arrays totalling 1 GiB and 10 MiB, in both forms.
fn load(ctx: &BenchCtx) -> Result<()> {
    let dir = ctx.scratch_dir();
    let mut packs = Vec::new();
    for (label, total) in [("1 GiB", 1usize << 30), ("10 MiB", 10 << 20)] {
        let per_array = total / LOAD_ARRAYS / 8;
        let mut vp = Varpack::new();
        let data: Vec<f64> = (0..per_array).map(|i| i as f64).collect();
        for a in 0..LOAD_ARRAYS {
            vp.insert_array(&format!("x{a:03}"), &data, &[per_array as u64])?;
        }
        let path = dir.join(format!("load-{}", total >> 20));
        vp.save_as(&path)?;
        let npz = dir.join(format!("load-{}.npz", total >> 20));
        vp.save_as(&npz)?;
        packs.push((label, path, npz));
    }
    for (label, path, npz) in &packs {
        let setup = format!(
            "import numpy as np, glob; files = sorted(glob.glob({:?} + '/*.npy'))",
            path_str(path)?
        );
        ctx.compare(
            &format!("load a pack of 100 arrays ({label}), directory form, every array mapped"),
            "under 1 ms, independent of the array sizes",
            || median_of(20, || Ok(Varpack::load(path)?.len())),
            "numpy np.load(mmap_mode='r') per file",
            || ctx.python_timeit_repeat(&setup, "[np.load(f, mmap_mode='r') for f in files]", 20),
        )?;
        ctx.headline();
        // What mapping a hundred files cannot go below on this machine, whoever does it: the
        // six system calls each (open, read, fstat, mmap, then munmap and close).
        let files: Vec<_> = std::fs::read_dir(path)?
            .map(|e| Ok(e?.path()))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "npy"))
            .collect();
        ctx.measure(
            &format!(
                "floor: open + read + fstat + mmap + munmap + close of the {} files ({label})",
                files.len()
            ),
            "(the machine's cost under the directory form's load)",
            || {
                median_of(20, || {
                    let mut mapped = 0;
                    for file in &files {
                        let mut f = std::fs::File::open(file)?;
                        let mut head = [0u8; 128];
                        std::io::Read::read_exact(&mut f, &mut head)?;
                        let len = f.metadata()?.len() as usize;
                        // SAFETY: the bench's own scratch file, not modified while mapped.
                        let map = unsafe { memmap2::MmapOptions::new().len(len).map(&f)? };
                        mapped += map.len();
                    }
                    Ok(mapped)
                })
            },
        )?;
        ctx.measure(
            &format!("load a pack of 100 arrays ({label}), single .npz, every array mapped"),
            "under 1 ms, independent of the array sizes",
            || median_of(20, || Ok(Varpack::load(npz)?.len())),
        )?;
        ctx.measure(
            &format!("load a pack of 100 arrays ({label}), directory form, lazy (manifest only)"),
            "under 1 ms, independent of the array sizes",
            || median_of(20, || Ok(LoadOptions::new().lazy(true).load(path)?.len())),
        )?;
    }
    Ok(())
}
