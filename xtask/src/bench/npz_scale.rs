//! The `npz-scale` group: archives at scale.
//!
//! - an archive of a million small members: open, `npz ls` (whole process) and key lookups
//!   from a reader, against numpy's `np.load` and `NpzFile[key]` (numpy issue 29081: a lookup
//!   used to scan every name);
//! - `varpack convert` of a 1 GiB numpy `.npz` (sixteen 64 MiB arrays) into a directory pack,
//!   in a child process (`xtask bench-child varpack-convert`) that reports its peak RSS: the
//!   goal is the largest member plus 64 MiB.

use std::process::{Command, Stdio};

use anyhow::{Result, bail, ensure};
use npz_stream::{NpzReader, NpzWriter};

use super::{BenchCtx, path_str, run_child, time};
use crate::util;

/// Members of the large archive (a quarter with `--quick`).
const MEMBERS: usize = 1_000_000;
/// Random lookups per run.
const LOOKUPS: usize = 1000;

/// The `npz-scale` group.
pub fn run(ctx: &BenchCtx) -> Result<()> {
    let npz_bin = super::npz::npz_binary()?;
    let dir = ctx.scratch_dir();
    let members = if ctx.quick { MEMBERS / 4 } else { MEMBERS };
    let many = dir.join("many.npz");
    let build = time(|| {
        let mut npz = NpzWriter::create(&many)?;
        for i in 0..members {
            npz.add_array(&format!("m{i:07}"), &[i as u32], &[1])?;
        }
        npz.finish()?;
        Ok(())
    })?;
    println!(
        "    built {members} members in {:.1} s ({} MiB)",
        build.as_secs_f64(),
        std::fs::metadata(&many)?.len() >> 20
    );

    ctx.measure(
        &format!("open an archive of {members} members (central directory, key table)"),
        "under 1 s",
        || time(|| Ok(NpzReader::open(&many)?.len())),
    )?;
    ctx.headline();
    if let Some(n) = super::instructions::per_call_on("npz-open", &many)? {
        ctx.annotate("instructions_per_open", n);
    }

    let mut random = util::Lcg::new(0x00c0_ffee);
    let keys: Vec<String> = (0..LOOKUPS)
        .map(|_| format!("m{:07}", random.below(members as u64)))
        .collect();
    let reader = NpzReader::open(&many)?;
    let keys_json = serde_json::to_string(&keys)?;
    let setup = format!(
        "import numpy as np, json; z = np.load({:?}); keys = json.loads({:?})",
        path_str(&many)?,
        keys_json
    );
    ctx.compare(
        &format!("{LOOKUPS} random lookups (header and data) in {members} members"),
        "no scan per lookup: at least numpy's NpzFile[key] on an open archive",
        || {
            time(|| {
                let mut sum = 0u64;
                for key in &keys {
                    sum += u64::from(reader.read_array::<u32>(key)?.data[0]);
                }
                Ok(sum)
            })
        },
        "numpy NpzFile[key]",
        || ctx.python_timeit(&setup, "[z[k] for k in keys]"),
    )?;
    if let Some(n) = super::instructions::per_call("npz-lookup")? {
        ctx.annotate("instructions_per_lookup_of_1000_members", n);
    }

    ctx.measure(
        &format!("npz ls of {members} members (process, output discarded)"),
        "a few seconds: every member's header read once",
        || {
            time(|| {
                let status = Command::new(&npz_bin)
                    .arg("ls")
                    .arg(&many)
                    .stdout(Stdio::null())
                    .status()?;
                ensure!(status.success(), "npz ls failed");
                Ok(())
            })
        },
    )?;
    drop(reader);
    std::fs::remove_file(&many)?;

    // varpack convert of a 1 GiB numpy archive: sixteen 64 MiB arrays, written by numpy.
    let gib_npz = dir.join("numpy.npz");
    let parts = if ctx.quick { 4 } else { 16 };
    let code = format!(
        "import numpy as np; np.savez({:?}, **{{f'a{{i}}': np.full(16 << 20, i, dtype='<u4') for i in range({parts})}})",
        path_str(&gib_npz)?
    );
    let status = Command::new(ctx.python()?).args(["-c", &code]).status()?;
    ensure!(
        status.success(),
        "numpy could not write {}",
        gib_npz.display()
    );
    let out = dir.join("converted");
    let mut peak_kib = 0;
    let bytes = (parts as u64) << 26;
    ctx.measure(
        &format!(
            "varpack convert of a {} MiB numpy .npz (64 MiB members) into a directory",
            bytes >> 20
        ),
        "peak memory under the largest member + 64 MiB (128 MiB)",
        || {
            let _ = std::fs::remove_dir_all(&out);
            let elapsed = time(|| {
                peak_kib = run_child(
                    "varpack-convert",
                    &[path_str(&gib_npz)?.to_owned(), path_str(&out)?.to_owned()],
                )?;
                Ok(())
            })?;
            Ok(super::Measurement::bytes(elapsed, bytes))
        },
    )?;
    println!(
        "    peak resident memory of that process: {:.1} MiB",
        peak_kib as f64 / 1024.0
    );
    ctx.annotate("peak_rss_mib", peak_kib as f64 / 1024.0);
    ctx.headline();
    Ok(())
}

/// `xtask bench-child varpack-convert IN OUT`: converts IN into the pack OUT as `varpack
/// convert` does, and prints its peak RSS.
pub fn convert_child(args: &[String]) -> Result<()> {
    let [input, output] = args else {
        bail!("usage: varpack-convert IN OUT")
    };
    let skipped = varpack::convert::convert(input.as_ref(), output.as_ref())?;
    ensure!(skipped.is_empty(), "left out: {skipped:?}");
    super::print_peak_rss()
}
