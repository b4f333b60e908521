//! Instruction counts of per-call costs (an append, a lookup, a header parse), from
//! `valgrind --tool=callgrind`: counts do not depend on what the neighbours do, so they hold
//! still where a few microseconds of wall time do not. Each figure is the difference between a
//! child process making `calls` calls and the same child making none, divided by `calls`.
//! Where valgrind is missing the counts are left out (said on stderr), never guessed.

use std::process::Command;

use anyhow::{Context, Result, bail};

/// Calls each counting child makes (enough for setup to vanish in the difference).
pub const CALLS: u64 = 20_000;

/// Whether valgrind runs here.
pub fn available() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Instructions per call of bench child `role` (`xtask bench-child count ROLE CALLS`).
pub fn per_call(role: &str) -> Result<Option<f64>> {
    counted(role, CALLS, None)
}

/// Instructions of one call of bench child `role` on the file at `path` (whole-file jobs:
/// an open, an inflate, an index).
pub fn per_call_on(role: &str, path: &std::path::Path) -> Result<Option<f64>> {
    counted(role, 1, Some(path))
}

fn counted(role: &str, calls: u64, path: Option<&std::path::Path>) -> Result<Option<f64>> {
    if !available() {
        eprintln!("    (valgrind not found: no instruction counts)");
        return Ok(None);
    }
    let with = total(role, calls, path)?;
    let without = total(role, 0, path)?;
    Ok(Some(with.saturating_sub(without) as f64 / calls as f64))
}

/// Instructions of one run of the child making `calls` calls.
fn total(role: &str, calls: u64, path: Option<&std::path::Path>) -> Result<u64> {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(std::env::current_exe()?)
        .args(["bench-child", "count", role, &calls.to_string()])
        .args(path)
        .output()
        .context("running valgrind")?;
    if !out.status.success() {
        bail!("bench-child count {role} under valgrind failed");
    }
    let text = String::from_utf8_lossy(&out.stderr);
    text.lines()
        .find_map(|l| l.split("refs:").nth(1))
        .map(|n| n.trim().replace(',', ""))
        .context("callgrind printed no instruction total")?
        .parse()
        .context("callgrind's instruction total")
}

/// `xtask bench-child count ROLE CALLS`: makes `CALLS` calls of what `ROLE` names, after the
/// same setup whatever the count.
pub fn child(args: &[String]) -> Result<()> {
    let (role, calls, file) = match args {
        [role, calls] => (role, calls, None),
        [role, calls, file] => (role, calls, Some(std::path::Path::new(file))),
        _ => bail!("usage: count ROLE CALLS [FILE]"),
    };
    let calls: u64 = calls.parse()?;
    if let Some(file) = file {
        return count_on(role, calls, file);
    }
    let dir = std::env::temp_dir().join(format!("xtask-count-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = count(role, calls, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Whole-file jobs on `file`: opening it (`npz-open`), inflating member `adc` through the
/// crate (`npz-verify`) or flate2 (`flate2-inflate`), indexing a copy (`npz-index`).
fn count_on(role: &str, calls: u64, file: &std::path::Path) -> Result<()> {
    let copy = file.with_extension("count-copy.npz");
    for _ in 0..calls {
        match role {
            "npz-open" => {
                std::hint::black_box(npz_stream::NpzReader::open(file)?.len());
            }
            "npz-verify" => npz_stream::NpzReader::open(file)?.verify("adc")?,
            "flate2-inflate" => {
                let member = npz_stream::NpzReader::open(file)?.info("adc")?;
                let start = super::npz::member_data_start(file)?;
                super::npz::flate2_inflate(file, start, &member)?;
            }
            "npz-index" => {
                std::fs::copy(file, &copy)?;
                npz_stream::index(&copy, &[])?;
            }
            other => bail!("no counting child {other:?} on a file"),
        }
    }
    let _ = std::fs::remove_file(&copy);
    Ok(())
}

fn count(role: &str, calls: u64, dir: &std::path::Path) -> Result<()> {
    match role {
        "append-64" => {
            let layout = npy_append::FrameLayout::of::<u64>(&[8]);
            let mut out = npy_append::NpyAppender::create(dir.join("a.npy"), &layout)?;
            let frame = [7u64; 8];
            for _ in 0..calls {
                out.append(std::hint::black_box(&frame))?;
            }
            out.finish()?;
        }
        "header-parse" => {
            let mut bytes = Vec::new();
            npy_format::write_array(&mut bytes, &[0f64; 4], &[2, 2], false)?;
            for _ in 0..calls {
                std::hint::black_box(npy_format::Header::from_bytes(std::hint::black_box(
                    &bytes,
                ))?);
            }
        }
        "npz-lookup" => {
            let path = dir.join("a.npz");
            let mut npz = npz_stream::NpzWriter::create(&path)?;
            for i in 0..1000 {
                npz.add_array(&format!("m{i:04}"), &[i as u32], &[1])?;
            }
            npz.finish()?;
            let reader = npz_stream::NpzReader::open(&path)?;
            let keys: Vec<String> = (0..1000).map(|i| format!("m{i:04}")).collect();
            for i in 0..calls as usize {
                std::hint::black_box(reader.info(&keys[i % 1000])?);
            }
        }
        other => bail!("no counting child {other:?}"),
    }
    Ok(())
}
