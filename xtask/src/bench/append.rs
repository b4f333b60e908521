//! The `append` group: `NpyAppender` against a plain buffered write loop of the same bytes (the
//! machine's limit) and against NpyAppendArray (Python, from the xtask venv).

use std::io::Write;

use anyhow::Result;
use npy_append::{FrameLayout, NpyAppender};

use super::{BenchCtx, Measurement, path_str, run_child, settle_writeback, time};

/// (frame bytes, bytes per run, appends per run against NpyAppendArray).
const SIZES: [(usize, usize, usize); 3] = [
    (64, 64 << 20, 20_000),
    (1024, 256 << 20, 20_000),
    (1 << 20, 1 << 30, 200),
];

/// The `append` group.
pub fn run(ctx: &BenchCtx) -> Result<()> {
    let ours_path = ctx.scratch_dir().join("ours.npy");
    let plain_path = ctx.scratch_dir().join("plain.bin");
    let naa_path = ctx.scratch_dir().join("naa.npy");
    for (frame, total, naa_appends) in SIZES {
        let frames = (if ctx.quick { total / 4 } else { total }) / frame;
        let data = vec![0x5au8; frame];
        // File creation, the appends, and finish (flushed, not fsynced), as for the anchors.
        let ours = |n: usize| -> Result<Measurement> {
            let _ = std::fs::remove_file(&ours_path);
            settle_writeback()?;
            let elapsed = time(|| {
                let layout = FrameLayout::of::<u8>(&[frame as u64]);
                let mut out = NpyAppender::create(&ours_path, &layout)?;
                for _ in 0..n {
                    out.append_frames(&data, 1)?;
                }
                Ok(out.finish()?)
            })?;
            Ok(Measurement::bytes(elapsed, (n * frame) as u64))
        };
        let record = ctx.compare(
            &format!("append {frames} frames of {frame} B"),
            "at least 0.9x the plain write loop",
            || ours(frames),
            "BufWriter (1 MiB) write_all loop, same bytes",
            || {
                let _ = std::fs::remove_file(&plain_path);
                settle_writeback()?;
                time(|| {
                    let file = std::fs::File::create(&plain_path)?;
                    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
                    for _ in 0..frames {
                        w.write_all(&data)?;
                    }
                    w.flush()?;
                    Ok(())
                })
            },
        )?;
        let per_s = frames as f64 / record.ours.median_s;
        println!("    ours: {per_s:.3e} appends/s");
        ctx.annotate("appends_per_s", per_s);
        if frame == 64
            && let Some(n) = super::instructions::per_call("append-64")?
        {
            ctx.annotate("instructions_per_append", n);
        }

        let setup = format!(
            "import os, numpy as np\nfrom npy_append_array import NpyAppendArray\np = {:?}\n\
             a = np.zeros((1, {frame}), dtype=np.uint8)\nif os.path.exists(p): os.remove(p)",
            path_str(&naa_path)?
        );
        let stmt = format!(
            "with NpyAppendArray(p) as f:\n    for _ in range({naa_appends}):\n        f.append(a)"
        );
        let record = ctx.compare(
            &format!("append {naa_appends} frames of {frame} B vs NpyAppendArray"),
            if frame == 64 {
                "at least 100x NpyAppendArray's appends/s"
            } else {
                "faster than NpyAppendArray"
            },
            || ours(naa_appends),
            "npy-append-array 0.9.19 (its default: header rewritten on every append)",
            || ctx.python_timeit(&setup, &stmt),
        )?;
        if frame == 64 {
            ctx.headline();
        }
        ctx.annotate("appends_per_s", naa_appends as f64 / record.ours.median_s);
        ctx.annotate(
            "anchor_appends_per_s",
            naa_appends as f64 / record.anchor_median_s.unwrap_or(f64::NAN),
        );
    }

    // Memory flat in the file's size: peak RSS of a process appending 256 MiB, then 1 GiB.
    let big = ctx.scratch_dir().join("big.npy");
    let mut peaks = Vec::new();
    for mib in [256u64, 1024] {
        let mut peak_kib = 0;
        ctx.measure(
            &format!("append {mib} MiB in 1 KiB frames, in a process of its own"),
            "memory flat in the file's size",
            || {
                let elapsed = time(|| {
                    peak_kib = run_child(
                        "append-memory",
                        &[path_str(&big)?.to_owned(), mib.to_string()],
                    )?;
                    Ok(())
                })?;
                Ok(Measurement::bytes(elapsed, mib << 20))
            },
        )?;
        ctx.annotate("peak_rss_mib", peak_kib as f64 / 1024.0);
        peaks.push(peak_kib);
    }
    println!(
        "    peak resident memory: {:.1} MiB appending 256 MiB, {:.1} MiB appending 1 GiB",
        peaks[0] as f64 / 1024.0,
        peaks[1] as f64 / 1024.0
    );
    Ok(())
}

/// `xtask bench-child append-memory OUT MIB`: appends MIB MiB of 1 KiB frames to a new file,
/// flushing every 1000 frames, and prints its peak RSS.
pub fn memory_child(args: &[String]) -> Result<()> {
    let [out, mib] = args else {
        anyhow::bail!("usage: append-memory OUT MIB")
    };
    let frames = (mib.parse::<u64>()? << 20) / 1024;
    let _ = std::fs::remove_file(out);
    let mut appender = NpyAppender::create(out, &FrameLayout::of::<u8>(&[1024]))?;
    let frame = vec![0x5au8; 1024];
    for i in 0..frames {
        appender.append_frames(&frame, 1)?;
        if i % 1000 == 999 {
            appender.flush()?;
        }
    }
    appender.finish()?;
    super::print_peak_rss()
}
