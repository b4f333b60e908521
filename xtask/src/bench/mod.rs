//! `cargo xtask bench [GROUP...] [--quick]`: benchmarks, each set against an anchor.
//!
//! A *group* is a function `fn(&BenchCtx) -> anyhow::Result<()>` registered in [`GROUPS`].
//! It records measurements with [`BenchCtx::compare`] (ours against an anchor: numpy, or the
//! machine's own limit) or [`BenchCtx::measure`] (no anchor). Each group's records are printed
//! as a table and written to `target/bench/GROUP.json` as a JSON array of [`Record`]s.
//!
//! # Adding a group
//!
//! Write `xtask/src/bench/npy.rs`:
//!
//! ```ignore
//! //! Benchmarks of npy-format against numpy.
//! use super::{BenchCtx, Measurement, time};
//!
//! /// The `npy` group.
//! pub fn run(ctx: &BenchCtx) -> anyhow::Result<()> {
//!     let path = ctx.scratch_dir().join("ours.npy");
//!     let numpy_path = ctx.scratch_dir().join("numpy.npy");
//!     let bytes = 64 << 20;
//!     ctx.compare(
//!         "write 64 MiB <f8",
//!         "at least numpy's speed",
//!         || Ok(Measurement::bytes(time(|| write_it(&path))?, bytes)),
//!         "numpy np.save",
//!         || ctx.python_timeit(
//!             &format!("import numpy as np; a = np.zeros(8 << 20); p = {:?}", numpy_path),
//!             "np.save(p, a)",
//!         ),
//!     )?;
//!     Ok(())
//! }
//! ```
//!
//! then add `mod npy;` below and one row `("npy", npy::run)` to [`GROUPS`].
//!
//! Runs alternate ours and the anchor, [`BenchCtx::runs`] times each (5, or 3 with `--quick`;
//! a comparison whose per-pair ratios disagree by more than 30% gets two more pairs at a time,
//! up to 15, while it has taken under 3 s: the short, noisy ones),
//! and compare medians. The bench profile of the workspace is used: a debug xtask re-runs
//! itself as `cargo run --release -p xtask -- bench ...` first.

mod append;
pub mod filepack;
mod instructions;
mod machine;
mod npy;
mod npz;
mod npz_scale;
mod python;
mod remote;
mod report;
mod varpack;

use crate::util::{self, section};
use crate::venv;
use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use std::cell::{OnceCell, RefCell};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A group's entry point.
pub type GroupFn = fn(&BenchCtx) -> Result<()>;

/// Every benchmark group, in the order `cargo xtask bench` runs them. One row per group.
pub const GROUPS: &[(&str, GroupFn)] = &[
    ("machine", machine::run),
    ("npy", npy::run),
    ("append", append::run),
    ("npz", npz::run),
    ("npz-scale", npz_scale::run),
    ("filepack", filepack::run),
    ("varpack", varpack::run),
    ("python", python::run),
    ("remote", remote::run),
];

/// Arguments of `cargo xtask bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Groups to run (all when none is named).
    groups: Vec<String>,
    /// Fewer runs per measurement (3 instead of 5).
    #[arg(long)]
    quick: bool,
    /// Run nothing: only regenerate BENCHMARKS.md and the README summary from target/bench.
    #[arg(long, hide = true, conflicts_with_all = ["groups", "quick"])]
    report_only: bool,
}

/// Runs `cargo xtask bench`.
pub fn run(args: BenchArgs) -> Result<()> {
    let known: Vec<&str> = GROUPS.iter().map(|(name, _)| *name).collect();
    for group in &args.groups {
        if !known.contains(&group.as_str()) {
            bail!(
                "no bench group {group:?}; the groups are: {}",
                known.join(", ")
            );
        }
    }
    let out_dir = util::target_dir().join("bench");
    if args.report_only {
        return report::regenerate(&out_dir);
    }
    let mut rerun: Vec<String> = vec!["bench".into()];
    rerun.extend(args.groups.iter().cloned());
    rerun.extend(args.quick.then(|| "--quick".to_owned()));
    if util::rerun_in_release(&rerun)? {
        return Ok(());
    }

    for (name, group) in GROUPS {
        if !args.groups.is_empty() && !args.groups.iter().any(|g| g == name) {
            continue;
        }
        section(&format!("bench group `{name}`"));
        let scratch = out_dir.join("tmp").join(name);
        if scratch.exists() {
            std::fs::remove_dir_all(&scratch)
                .with_context(|| format!("clearing {}", scratch.display()))?;
        }
        std::fs::create_dir_all(&scratch)
            .with_context(|| format!("creating {}", scratch.display()))?;
        let ctx = BenchCtx {
            quick: args.quick,
            scratch: scratch.clone(),
            python: OnceCell::new(),
            records: RefCell::new(Vec::new()),
        };
        let started_unix = util::unix_now();
        let started = Instant::now();
        let outcome = group(&ctx);
        let elapsed_s = started.elapsed().as_secs_f64();
        let records = ctx.records.into_inner();
        let _ = std::fs::remove_dir_all(&scratch);
        outcome.with_context(|| format!("bench group `{name}`"))?;
        print_table(name, &records);
        let json_path = out_dir.join(format!("{name}.json"));
        let json = serde_json::to_string_pretty(&records)?;
        std::fs::write(&json_path, json + "\n")
            .with_context(|| format!("writing {}", json_path.display()))?;
        println!("wrote {}", json_path.display());
        report::write_run_info(
            &out_dir,
            name,
            &report::RunInfo::new(args.quick, started_unix, elapsed_s),
        )?;
    }
    section("bench: BENCHMARKS.md from every target/bench/GROUP.json");
    report::regenerate(&out_dir)
}

/// What one run measured: its time, and how many bytes it moved when throughput matters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measurement {
    /// The time the measured work took.
    pub elapsed: Duration,
    /// Bytes processed by the run, for MB/s.
    pub bytes: Option<u64>,
}

impl Measurement {
    /// A run of `elapsed` that moved `bytes` bytes.
    pub fn bytes(elapsed: Duration, bytes: u64) -> Measurement {
        Measurement {
            elapsed,
            bytes: Some(bytes),
        }
    }
}

impl From<Duration> for Measurement {
    fn from(elapsed: Duration) -> Measurement {
        Measurement {
            elapsed,
            bytes: None,
        }
    }
}

/// Times `f`: the usual body of a measured closure, `|| time(|| work())`.
pub fn time<T>(f: impl FnOnce() -> Result<T>) -> Result<Duration> {
    let start = Instant::now();
    let value = f()?;
    let elapsed = start.elapsed();
    std::hint::black_box(value);
    Ok(elapsed)
}

/// Writes every dirty page of the machine to disk (`sync`), so that a write benchmark's run
/// starts with no writeback pending from the run before: otherwise whichever side runs after a
/// big write pays for its writeback, and the ratio measures the kernel's timing instead.
pub fn settle_writeback() -> Result<()> {
    let status = std::process::Command::new("sync").status()?;
    anyhow::ensure!(status.success(), "sync failed: {status}");
    Ok(())
}

/// The median time of `n` calls of `f`, each timed alone (so one slow call does not count): the
/// figure for operations too short to time one at a time, such as opening a file.
pub fn median_of<T>(n: usize, mut f: impl FnMut() -> Result<T>) -> Result<Duration> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        std::hint::black_box(f()?);
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times[n / 2])
}

/// Runs `xtask bench-child NAME ARGS...` and returns the peak resident memory it reported, in
/// KiB (the child ends with [`print_peak_rss`]).
pub fn run_child(name: &str, args: &[String]) -> Result<u64> {
    let out = Command::new(std::env::current_exe()?)
        .arg("bench-child")
        .arg(name)
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()?;
    ensure!(out.status.success(), "bench-child {name} failed");
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix("PEAK_RSS_KIB "))
        .context("the child printed no peak RSS")?
        .trim()
        .parse()?)
}

/// The last act of a bench child: prints this process's peak resident memory (VmHWM) for
/// [`run_child`].
pub fn print_peak_rss() -> Result<()> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .context("no VmHWM in /proc/self/status")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .to_owned();
    println!("PEAK_RSS_KIB {peak}");
    Ok(())
}

/// A path as the text Python code is given (bench paths are UTF-8).
pub fn path_str(path: &Path) -> Result<&str> {
    path.to_str().context("bench paths are UTF-8")
}

/// The runs of one side of a record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Runs {
    /// The median run, in seconds.
    pub median_s: f64,
    /// Every run, in seconds, in the order they ran.
    pub runs: Vec<f64>,
    /// Throughput of the median run, in MB/s (10^6 bytes a second), when bytes are known.
    pub mb_per_s: Option<f64>,
}

/// One benchmark result, as written to `target/bench/GROUP.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    /// What was measured.
    pub name: String,
    /// Our side.
    pub ours: Runs,
    /// What ours is compared with (`None` for a plain measurement).
    pub anchor: Option<String>,
    /// The anchor's median run, in seconds.
    pub anchor_median_s: Option<f64>,
    /// The anchor's runs, in seconds.
    pub anchor_runs: Option<Vec<f64>>,
    /// The anchor's throughput, in MB/s, when bytes are known.
    pub anchor_mb_per_s: Option<f64>,
    /// `anchor_median_s / ours.median_s`: above 1 means ours is faster.
    pub ratio: Option<f64>,
    /// Bytes one run processes, when throughput is reported.
    pub bytes_per_run: Option<u64>,
    /// `"MB/s"` when bytes are known, else `"s"`.
    pub unit: String,
    /// The goal this measurement checks, in words.
    pub goal: String,
    /// Other figures of the same measurement (sizes, peak memory), by name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub notes: std::collections::BTreeMap<String, f64>,
    /// Whether the README's benchmark summary shows this record (see [`BenchCtx::headline`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub headline: bool,
}

/// What a group gets: settings, scratch space, the venv python, and the record list.
pub struct BenchCtx {
    /// Fewer runs per measurement.
    pub quick: bool,
    /// `target/bench/tmp/GROUP`, emptied before and removed after the group.
    scratch: PathBuf,
    /// The venv python, ensured on first use.
    python: OnceCell<PathBuf>,
    /// What the group recorded so far.
    records: RefCell<Vec<Record>>,
}

impl BenchCtx {
    /// How many times each side of a measurement runs: 5, or 3 when quick.
    pub fn runs(&self) -> usize {
        if self.quick { 3 } else { 5 }
    }

    /// A scratch directory for the group's files (under `target/bench/tmp`, so on the same
    /// disk as the build, not a tmpfs).
    pub fn scratch_dir(&self) -> &Path {
        &self.scratch
    }

    /// The venv python with the pinned numpy, created on first use.
    pub fn python(&self) -> Result<&Path> {
        if self.python.get().is_none() {
            let python = venv::python()?;
            let _ = self.python.set(python);
        }
        Ok(self.python.get().expect("set just above"))
    }

    /// Times the Python statement `stmt` in the venv python after `setup` (untimed), once per
    /// `repeat`, and returns the median. Every call is a new process, so as an anchor of
    /// [`compare`](Self::compare) use `repeat` 1 and let `compare` repeat it.
    pub fn python_timeit_repeat(&self, setup: &str, stmt: &str, repeat: usize) -> Result<Duration> {
        python_timeit(self.python()?, setup, stmt, repeat)
    }

    /// One timed run of the Python statement `stmt` after `setup`: an anchor for
    /// [`compare`](Self::compare).
    pub fn python_timeit(&self, setup: &str, stmt: &str) -> Result<Duration> {
        self.python_timeit_repeat(setup, stmt, 1)
    }

    /// Measures `ours` against `anchor`, alternating them [`runs`](Self::runs) times, and
    /// records the medians and their ratio. Each closure returns the time of one run (a
    /// [`Duration`]) or a [`Measurement`] with the bytes it moved for throughput; bytes given
    /// by either side are taken to hold for both. Returns the record.
    pub fn compare<O, A, MO, MA>(
        &self,
        name: &str,
        goal: &str,
        mut ours: O,
        anchor_name: &str,
        mut anchor: A,
    ) -> Result<Record>
    where
        O: FnMut() -> Result<MO>,
        A: FnMut() -> Result<MA>,
        MO: Into<Measurement>,
        MA: Into<Measurement>,
    {
        let mut our_runs: Vec<Measurement> = Vec::new();
        let mut anchor_runs: Vec<Measurement> = Vec::new();
        let started = Instant::now();
        // Short measurements are the noisy ones (a neighbour's burst is a large part of a
        // 10 ms run): more pairs, while the per-pair ratios disagree and the time spent is
        // small, so that two runs of the bench give figures that hold still.
        let mut pairs = self.runs();
        while our_runs.len() < pairs {
            our_runs.push(ours().with_context(|| format!("{name}: ours"))?.into());
            anchor_runs.push(
                anchor()
                    .with_context(|| format!("{name}: {anchor_name}"))?
                    .into(),
            );
            if our_runs.len() == pairs
                && pairs < MAX_PAIRS
                && started.elapsed() < EXTRA_PAIRS_BUDGET
                && pair_spread(&our_runs, &anchor_runs).is_some_and(|(lo, hi)| hi > lo * 1.3)
            {
                pairs += 2;
            }
        }
        self.record(name, goal, &our_runs, Some((anchor_name, &anchor_runs)))
    }

    /// Measures `ours` alone, [`runs`](Self::runs) times, and records the median.
    pub fn measure<O, MO>(&self, name: &str, goal: &str, mut ours: O) -> Result<Record>
    where
        O: FnMut() -> Result<MO>,
        MO: Into<Measurement>,
    {
        let mut our_runs = Vec::new();
        for _ in 0..self.runs() {
            our_runs.push(ours().with_context(|| format!("{name}: ours"))?.into());
        }
        self.record(name, goal, &our_runs, None)
    }

    /// Attaches another figure (a file size, a peak memory) to the last record.
    pub fn annotate(&self, key: &str, value: f64) {
        if let Some(last) = self.records.borrow_mut().last_mut() {
            last.notes.insert(key.to_owned(), value);
        }
    }

    /// Marks the last record as a headline: the README's benchmark summary shows it (a group
    /// with no headline shows its first record there). Every record is in `BENCHMARKS.md`.
    pub fn headline(&self) {
        if let Some(last) = self.records.borrow_mut().last_mut() {
            last.headline = true;
        }
    }

    /// Runs `xtask bench-child NAME ARGS...`: work that must be measured in a process of its
    /// own (its peak memory, say).
    pub fn child(name: &str, args: &[String]) -> Result<()> {
        match name {
            "npz-memory" => npz::memory_child(args),
            "varpack-convert" => npz_scale::convert_child(args),
            "append-memory" => append::memory_child(args),
            "count" => instructions::child(args),
            other => bail!("no bench child {other:?}"),
        }
    }

    /// Builds, prints and keeps the record of finished runs.
    fn record(
        &self,
        name: &str,
        goal: &str,
        ours: &[Measurement],
        anchor: Option<(&str, &[Measurement])>,
    ) -> Result<Record> {
        let bytes = ours
            .iter()
            .chain(anchor.into_iter().flat_map(|(_, runs)| runs.iter()))
            .find_map(|m| m.bytes);
        let ours = runs(ours, bytes);
        let anchor_side = anchor.map(|(anchor_name, anchor)| (anchor_name, runs(anchor, bytes)));
        let record = Record {
            name: name.to_owned(),
            anchor: anchor_side.as_ref().map(|(n, _)| (*n).to_owned()),
            anchor_median_s: anchor_side.as_ref().map(|(_, r)| r.median_s),
            anchor_mb_per_s: anchor_side.as_ref().and_then(|(_, r)| r.mb_per_s),
            ratio: anchor_side
                .as_ref()
                .map(|(_, r)| r.median_s / ours.median_s.max(f64::MIN_POSITIVE)),
            anchor_runs: anchor_side.map(|(_, r)| r.runs),
            ours,
            bytes_per_run: bytes,
            unit: if bytes.is_some() { "MB/s" } else { "s" }.to_owned(),
            goal: goal.to_owned(),
            notes: Default::default(),
            headline: false,
        };
        eprintln!("    {}", format_row(&record).join("  "));
        self.records.borrow_mut().push(record.clone());
        Ok(record)
    }
}

/// At most this many pairs of runs in a [`BenchCtx::compare`].
const MAX_PAIRS: usize = 15;

/// Extra pairs are run only while a comparison has taken less than this.
const EXTRA_PAIRS_BUDGET: Duration = Duration::from_secs(3);

/// The smallest and largest per-pair ratio (anchor run over our run of the same pair).
fn pair_spread(ours: &[Measurement], anchor: &[Measurement]) -> Option<(f64, f64)> {
    let ratios = ours
        .iter()
        .zip(anchor)
        .map(|(o, a)| a.elapsed.as_secs_f64() / o.elapsed.as_secs_f64().max(f64::MIN_POSITIVE));
    ratios.fold(None, |acc, r| match acc {
        None => Some((r, r)),
        Some((lo, hi)) => Some((f64::min(lo, r), f64::max(hi, r))),
    })
}

/// The median of `values` (the mean of the middle two for an even count).
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// One side's runs, with throughput when `bytes` is known.
fn runs(measurements: &[Measurement], bytes: Option<u64>) -> Runs {
    let runs: Vec<f64> = measurements
        .iter()
        .map(|m| m.elapsed.as_secs_f64())
        .collect();
    let median_s = median(&runs);
    Runs {
        mb_per_s: bytes.map(|b| b as f64 / 1e6 / median_s),
        median_s,
        runs,
    }
}

/// A time in a readable unit.
fn format_secs(secs: f64) -> String {
    if secs >= 1.0 {
        format!("{secs:.3} s")
    } else if secs >= 1e-3 {
        format!("{:.3} ms", secs * 1e3)
    } else {
        format!("{:.3} µs", secs * 1e6)
    }
}

/// A side's result: time, and MB/s when known.
fn format_side(median_s: f64, mb_per_s: Option<f64>) -> String {
    match mb_per_s {
        Some(rate) => format!("{} ({rate:.0} MB/s)", format_secs(median_s)),
        None => format_secs(median_s),
    }
}

/// The table columns of a record.
fn format_row(record: &Record) -> [String; 5] {
    [
        record.name.clone(),
        format_side(record.ours.median_s, record.ours.mb_per_s),
        match (&record.anchor, record.anchor_median_s) {
            (Some(name), Some(median)) => {
                format!("{name}: {}", format_side(median, record.anchor_mb_per_s))
            }
            _ => "-".to_owned(),
        },
        record
            .ratio
            .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}x")),
        record.goal.clone(),
    ]
}

/// Prints a group's records as a table.
fn print_table(group: &str, records: &[Record]) {
    let header = [
        "benchmark",
        "ours (median)",
        "anchor (median)",
        "anchor/ours",
        "goal",
    ];
    let rows: Vec<[String; 5]> = records.iter().map(format_row).collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell}{}", " ".repeat(width - cell.chars().count())))
            .collect();
        println!("| {} |", padded.join(" | "));
    };
    println!();
    println!("bench group `{group}` ({} records)", records.len());
    line(&header.map(str::to_owned));
    line(&widths.map(|w| "-".repeat(w)));
    for row in &rows {
        line(row);
    }
}

/// The script that times a statement: prints `XTASK_MEDIAN_S <seconds>`.
const TIMEIT_SCRIPT: &str = r#"
import statistics, sys, timeit
setup, stmt, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = timeit.Timer(stmt, setup=setup).repeat(repeat=repeat, number=1)
print("XTASK_MEDIAN_S", repr(statistics.median(times)))
"#;

/// Runs `stmt` `repeat` times in `python` after `setup` and returns the median time of one
/// run (each in `timeit`, so without the interpreter's start and the setup).
pub fn python_timeit(python: &Path, setup: &str, stmt: &str, repeat: usize) -> Result<Duration> {
    let output = Command::new(python)
        .arg("-c")
        .arg(TIMEIT_SCRIPT)
        .arg(setup)
        .arg(stmt)
        .arg(repeat.max(1).to_string())
        .current_dir(util::workspace_root())
        .output()
        .with_context(|| format!("starting {}", python.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "python timeit of {stmt:?} failed ({}):\n{stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let secs: f64 = stdout
        .lines()
        .find_map(|line| line.strip_prefix("XTASK_MEDIAN_S "))
        .with_context(|| format!("python timeit printed no median:\n{stdout}"))?
        .trim()
        .parse()
        .context("parsing the python timeit median")?;
    Duration::try_from_secs_f64(secs).context("python timeit median out of range")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn compare_records_ratio_and_throughput() {
        let ctx = BenchCtx {
            quick: true,
            scratch: std::env::temp_dir(),
            python: OnceCell::new(),
            records: RefCell::new(Vec::new()),
        };
        let record = ctx
            .compare(
                "x",
                "faster",
                || Ok(Measurement::bytes(Duration::from_millis(10), 20_000_000)),
                "anchor",
                || Ok(Duration::from_millis(20)),
            )
            .unwrap();
        assert_eq!(record.ours.runs.len(), 3);
        assert!((record.ratio.unwrap() - 2.0).abs() < 1e-9);
        assert_eq!(record.unit, "MB/s");
        assert!((record.ours.mb_per_s.unwrap() - 2000.0).abs() < 1e-6);
        assert!((record.anchor_mb_per_s.unwrap() - 1000.0).abs() < 1e-6);
        let json = serde_json::to_value(&*ctx.records.borrow()).unwrap();
        assert_eq!(json[0]["ours"]["median_s"], 0.01);
        assert_eq!(json[0]["anchor"], "anchor");
    }

    #[test]
    fn pair_spread_is_the_range_of_per_pair_ratios() {
        let m = |ms: u64| Measurement::from(Duration::from_millis(ms));
        let ours = [m(10), m(20), m(10)];
        let anchor = [m(30), m(20), m(15)];
        assert_eq!(pair_spread(&ours, &anchor), Some((1.0, 3.0)));
        assert_eq!(pair_spread(&[], &[]), None);
    }
}
