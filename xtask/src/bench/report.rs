//! `BENCHMARKS.md`: the report `cargo xtask bench` regenerates after every run, from every
//! `target/bench/GROUP.json` there is (so a group's table appears as soon as its JSON exists,
//! whether or not this run ran it).
//!
//! * `target/bench/GROUP.json`: a group's [`Record`]s (written by [`super::run`]).
//! * `target/bench/meta/GROUP.run.json`: how that group last ran ([`RunInfo`]: `--quick` or
//!   not, when, at which commit).
//! * `target/bench/meta/summary.json`: a small machine-readable summary of the report (the
//!   machine and, per record, the medians and the ratio).
//! * `BENCHMARKS.md` at the root: the machine, one table per group, how to reproduce.
//! * `README.md`: the headline rows (records marked with [`super::BenchCtx::headline`], or a
//!   group's first record) replace what is between `<!-- bench-summary:start -->` and
//!   `<!-- bench-summary:end -->`.

use super::{GROUPS, Record, format_secs, format_side};
use crate::util::{self, output_of};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The line before the README's generated benchmark summary.
pub const SUMMARY_START: &str = "<!-- bench-summary:start -->";
/// The line after it.
pub const SUMMARY_END: &str = "<!-- bench-summary:end -->";

/// How a group's JSON came to be: written beside it, in `meta/GROUP.run.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunInfo {
    /// Whether `--quick` was given.
    pub quick: bool,
    /// When the group started, in seconds since the Unix epoch.
    pub started_unix: u64,
    /// How long the group took, in seconds.
    pub elapsed_s: f64,
    /// `git rev-parse --short HEAD`, when known.
    pub commit: Option<String>,
    /// Whether the work tree had uncommitted changes.
    pub dirty: bool,
}

impl RunInfo {
    /// The info of a group run that started at `started_unix` and took `elapsed_s`.
    pub fn new(quick: bool, started_unix: u64, elapsed_s: f64) -> RunInfo {
        let git = |args: &[&str]| {
            output_of(
                Command::new("git")
                    .args(args)
                    .current_dir(util::workspace_root()),
            )
        };
        RunInfo {
            quick,
            started_unix,
            elapsed_s,
            commit: git(&["rev-parse", "--short", "HEAD"]),
            dirty: git(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty()),
        }
    }
}

/// The machine the figures come from.
#[derive(Clone, Debug, Serialize, Default)]
pub struct Machine {
    /// CPU model, from `/proc/cpuinfo`.
    pub cpu: Option<String>,
    /// Logical cores available to the process.
    pub cores: usize,
    /// `MemTotal` of `/proc/meminfo`, in GiB.
    pub memory_gib: Option<f64>,
    /// `PRETTY_NAME` of `/etc/os-release`.
    pub os: Option<String>,
    /// `uname -srm`.
    pub kernel: Option<String>,
    /// `rustc --version`.
    pub rustc: Option<String>,
    /// The venv's `numpy.__version__`.
    pub numpy: Option<String>,
}

impl Machine {
    /// Asks this machine.
    pub fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        let numpy = crate::venv::python().ok().and_then(|python| {
            output_of(Command::new(python).args(["-c", "import numpy; print(numpy.__version__)"]))
        });
        Machine {
            cpu: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
                .map(|(_, v)| v.trim().to_owned()),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: parse_meminfo_kib(&meminfo).map(|kib| kib as f64 / (1 << 20) as f64),
            os: parse_os_release(&os_release),
            kernel: output_of(Command::new("uname").arg("-srm")),
            rustc: output_of(
                Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
                    .arg("--version"),
            ),
            numpy,
        }
    }
}

/// `MemTotal` in KiB from the text of `/proc/meminfo`.
fn parse_meminfo_kib(meminfo: &str) -> Option<u64> {
    let rest = meminfo.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
    rest.split_whitespace().next()?.parse().ok()
}

/// `PRETTY_NAME` from the text of `/etc/os-release`.
fn parse_os_release(text: &str) -> Option<String> {
    let value = text.lines().find_map(|l| l.strip_prefix("PRETTY_NAME="))?;
    Some(value.trim().trim_matches('"').to_owned())
}

/// One group's part of the report.
#[derive(Clone, Debug)]
pub struct GroupReport {
    /// The group's name (the JSON's file stem).
    pub name: String,
    /// Its records.
    pub records: Vec<Record>,
    /// How it ran, when `meta/GROUP.run.json` says.
    pub run: Option<RunInfo>,
    /// When its JSON was written (the file's mtime), for groups without run info.
    pub written_unix: Option<u64>,
}

/// `target/bench/meta/GROUP.run.json`.
pub fn run_info_path(out_dir: &Path, group: &str) -> PathBuf {
    out_dir.join("meta").join(format!("{group}.run.json"))
}

/// Writes a group's run info.
pub fn write_run_info(out_dir: &Path, group: &str, info: &RunInfo) -> Result<()> {
    let path = run_info_path(out_dir, group);
    std::fs::create_dir_all(path.parent().expect("under meta/"))?;
    std::fs::write(&path, serde_json::to_string_pretty(info)? + "\n")
        .with_context(|| format!("writing {}", path.display()))
}

/// Every `GROUP.json` in `out_dir`: the groups of [`GROUPS`] in their order, then any other
/// JSON there alphabetically. A file that does not parse as records is skipped with a warning.
pub fn load_groups(out_dir: &Path) -> Result<Vec<GroupReport>> {
    let mut names: Vec<String> = Vec::new();
    if out_dir.is_dir() {
        for entry in std::fs::read_dir(out_dir)? {
            let path = entry?.path();
            if path.is_file()
                && path.extension().is_some_and(|e| e == "json")
                && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
            {
                names.push(stem.to_owned());
            }
        }
    }
    let rank = |name: &str| {
        GROUPS
            .iter()
            .position(|(g, _)| *g == name)
            .unwrap_or(usize::MAX)
    };
    names.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    let mut groups = Vec::new();
    for name in names {
        let path = out_dir.join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let records: Vec<Record> = match serde_json::from_str(&text) {
            Ok(records) => records,
            Err(err) => {
                eprintln!("xtask: skipping {} in BENCHMARKS.md: {err}", path.display());
                continue;
            }
        };
        let run = std::fs::read_to_string(run_info_path(out_dir, &name))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        let written_unix = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs());
        groups.push(GroupReport {
            name,
            records,
            run,
            written_unix,
        });
    }
    Ok(groups)
}

/// Regenerates `BENCHMARKS.md`, `meta/summary.json` and the README's summary from what is in
/// `out_dir`.
pub fn regenerate(out_dir: &Path) -> Result<()> {
    let groups = load_groups(out_dir)?;
    let machine = Machine::detect();
    let root = util::workspace_root();

    let report = render_report(&machine, &groups);
    let path = root.join("BENCHMARKS.md");
    std::fs::write(&path, report).with_context(|| format!("writing {}", path.display()))?;
    println!("wrote {}", path.display());

    let summary = summary_json(&machine, &groups);
    let summary_path = out_dir.join("meta").join("summary.json");
    std::fs::create_dir_all(summary_path.parent().expect("under meta/"))?;
    std::fs::write(
        &summary_path,
        serde_json::to_string_pretty(&summary)? + "\n",
    )
    .with_context(|| format!("writing {}", summary_path.display()))?;
    println!("wrote {}", summary_path.display());

    let readme_path = root.join("README.md");
    let readme = std::fs::read_to_string(&readme_path)
        .with_context(|| format!("reading {}", readme_path.display()))?;
    match splice_summary(&readme, &render_summary(&machine, &groups)) {
        Some(updated) if updated != readme => {
            std::fs::write(&readme_path, updated)
                .with_context(|| format!("writing {}", readme_path.display()))?;
            println!("updated the benchmark summary in {}", readme_path.display());
        }
        Some(_) => {}
        None => eprintln!(
            "xtask: README.md has no `{SUMMARY_START}` / `{SUMMARY_END}` markers; its summary is not updated"
        ),
    }
    Ok(())
}

/// A markdown table cell: no pipes, no line breaks, no `<` or `>` (`Vec<f64>` would read as an
/// HTML tag).
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', " ")
}

/// A number for a note: 3 significant figures or so.
fn format_number(value: f64) -> String {
    let abs = value.abs();
    if abs >= 1e6 {
        format!("{:.2}M", value / 1e6)
    } else if abs >= 100.0 {
        format!("{value:.0}")
    } else if abs >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

/// The ratio of the medians, and the spread of the per-pair ratios (`1.94x (1.81-2.07)`):
/// how far one run of the bench can be from another.
fn format_ratio_spread(record: &Record) -> String {
    let ratio = format_ratio(record.ratio);
    let Some(anchor) = &record.anchor_runs else {
        return ratio;
    };
    let pairs = record
        .ours
        .runs
        .iter()
        .zip(anchor)
        .map(|(o, a)| a / o.max(f64::MIN_POSITIVE));
    let (lo, hi) = pairs.fold((f64::INFINITY, 0.0f64), |(lo, hi), r| {
        (lo.min(r), hi.max(r))
    });
    if record.ours.runs.len() < 2 || !lo.is_finite() {
        return ratio;
    }
    let short = |r: f64| format_ratio(Some(r)).trim_end_matches('x').to_owned();
    format!("{ratio} ({}-{})", short(lo), short(hi))
}

/// A record's notes, `key: value; ...`, with the key's underscores as spaces.
fn format_notes(record: &Record) -> String {
    record
        .notes
        .iter()
        .map(|(key, value)| format!("{}: {}", key.replace('_', " "), format_number(*value)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A ratio: `anchor / ours`, or `-`.
fn format_ratio(ratio: Option<f64>) -> String {
    match ratio {
        Some(r) if r >= 10.0 => format!("{r:.0}x"),
        Some(r) => format!("{r:.2}x"),
        None => "-".to_owned(),
    }
}

/// The anchor's cell: its name and median.
fn format_anchor(record: &Record) -> String {
    match (&record.anchor, record.anchor_median_s) {
        (Some(name), Some(median)) => {
            format!("{name}: {}", format_side(median, record.anchor_mb_per_s))
        }
        _ => "-".to_owned(),
    }
}

/// How a group ran, in words.
fn describe_run(group: &GroupReport) -> String {
    match &group.run {
        Some(run) => format!(
            "ran {} ({}), {} records in {}, at commit {}{}",
            util::format_datetime(run.started_unix),
            if run.quick { "`--quick`" } else { "full run" },
            group.records.len(),
            format_secs(run.elapsed_s),
            run.commit.as_deref().unwrap_or("unknown"),
            if run.dirty {
                " with uncommitted changes"
            } else {
                ""
            },
        ),
        None => format!(
            "written {} (whether `--quick` is not recorded)",
            group
                .written_unix
                .map_or_else(|| "at an unknown time".to_owned(), util::format_datetime)
        ),
    }
}

/// The machine as markdown list items.
fn render_machine(machine: &Machine) -> String {
    let unknown = || "unknown".to_owned();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "- CPU: {} ({} logical cores available)",
        machine.cpu.clone().unwrap_or_else(unknown),
        machine.cores
    );
    let _ = writeln!(
        out,
        "- memory: {}",
        machine
            .memory_gib
            .map_or_else(unknown, |g| format!("{g:.1} GiB"))
    );
    let _ = writeln!(
        out,
        "- OS: {} ({})",
        machine.os.clone().unwrap_or_else(unknown),
        machine.kernel.clone().unwrap_or_else(unknown)
    );
    let _ = writeln!(
        out,
        "- Rust: {}",
        machine.rustc.clone().unwrap_or_else(unknown)
    );
    let _ = writeln!(
        out,
        "- numpy: {} (the venv `xtask/python/requirements.txt` pins)",
        machine.numpy.clone().unwrap_or_else(unknown)
    );
    out
}

/// The whole of `BENCHMARKS.md`.
pub fn render_report(machine: &Machine, groups: &[GroupReport]) -> String {
    let mut out = String::new();
    out.push_str(
        "# Benchmarks\n\n\
         <!-- Generated by `cargo xtask bench` from target/bench/*.json: edits here are overwritten. -->\n\n\
         Each crate measured side by side with what people use today (numpy, NpyAppendArray, npyz,\n\
         ndarray-npy, tar, the unpacked directory tree) and with the machine's own limits (a plain\n\
         buffered write, `std::fs::read`, memcpy). Ours and the anchor run in the same process run,\n\
         alternating, 5 times each (3 with `--quick`; short noisy ones up to 15); the tables give the medians. **anchor/ours** is\n\
         the anchor's median time over ours: above 1 means ours is faster. Every run's time is in\n\
         `target/bench/GROUP.json`.\n\n",
    );
    out.push_str("## Machine\n\n");
    out.push_str(&render_machine(machine));
    out.push('\n');
    if groups.is_empty() {
        out.push_str("No results yet: run `cargo xtask bench --quick`.\n\n");
    }
    for group in groups {
        let _ = writeln!(out, "## `{}`\n", group.name);
        let _ = writeln!(out, "{}.\n", describe_run(group));
        out.push_str("| benchmark | ours | anchor | anchor/ours | goal | notes |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for record in &group.records {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&record.name),
                cell(&format_side(record.ours.median_s, record.ours.mb_per_s)),
                cell(&format_anchor(record)),
                format_ratio_spread(record),
                cell(&record.goal),
                cell(&format_notes(record)),
            );
        }
        out.push('\n');
    }
    out.push_str(
        "## How to reproduce\n\n\
         On a machine with Rust and Python 3 (the numpy the figures are read against is installed\n\
         by xtask into a venv under `target/`):\n\n\
         ```sh\n\
         cargo xtask bench --quick        # every group, 3 runs a side, under 10 minutes on 2 cores\n\
         cargo xtask bench                # every group, 5 runs a side, larger inputs\n\
         cargo xtask bench npy npz        # only the named groups; the report keeps the others' last results\n\
         ```\n\n\
         Each run writes `target/bench/GROUP.json` and regenerates this file from every\n\
         `target/bench/*.json` present, and the summary in the root README from the rows marked as\n\
         headlines. Figures from a shared or virtual machine are noisy: compare ratios, which come\n\
         from runs interleaved in time, rather than absolute times.\n",
    );
    out
}

/// The headline records of a group: those marked, else its first.
fn headlines(group: &GroupReport) -> Vec<&Record> {
    let marked: Vec<&Record> = group.records.iter().filter(|r| r.headline).collect();
    if marked.is_empty() {
        group.records.iter().take(1).collect()
    } else {
        marked
    }
}

/// The README's summary: the headline rows, between (and including) the markers.
pub fn render_summary(machine: &Machine, groups: &[GroupReport]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{SUMMARY_START}");
    let _ = writeln!(
        out,
        "<!-- Copied from BENCHMARKS.md by `cargo xtask bench`: edits here are overwritten. -->"
    );
    let quick = groups
        .iter()
        .all(|g| g.run.as_ref().is_some_and(|r| r.quick));
    let latest = groups
        .iter()
        .filter_map(|g| g.run.as_ref().map(|r| r.started_unix).or(g.written_unix))
        .max();
    let _ = writeln!(
        out,
        "Headline rows of [BENCHMARKS.md](BENCHMARKS.md) (every figure, the machine, how to\n\
         reproduce){}:\n{} cores, {}, {}; numpy {}. anchor/ours above 1 means ours is faster.\n",
        latest.map_or_else(String::new, |t| format!(
            ", from `cargo xtask bench{}` of {}",
            if quick { " --quick" } else { "" },
            util::format_date(t)
        )),
        machine.cores,
        machine
            .memory_gib
            .map_or_else(|| "unknown memory".to_owned(), |g| format!("{g:.0} GiB")),
        machine.os.as_deref().unwrap_or("unknown OS"),
        machine.numpy.as_deref().unwrap_or("unknown"),
    );
    out.push_str("| group | benchmark | ours | anchor | anchor/ours | notes |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for group in groups {
        for record in headlines(group) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                group.name,
                cell(&record.name),
                cell(&format_side(record.ours.median_s, record.ours.mb_per_s)),
                cell(&format_anchor(record)),
                format_ratio(record.ratio),
                cell(&format_notes(record)),
            );
        }
    }
    let _ = write!(out, "{SUMMARY_END}");
    out
}

/// `readme` with what lies between the markers (markers included) replaced by `summary`, or
/// `None` when the markers are missing or out of order.
pub fn splice_summary(readme: &str, summary: &str) -> Option<String> {
    let start = readme.find(SUMMARY_START)?;
    let end = readme[start..].find(SUMMARY_END)? + start + SUMMARY_END.len();
    Some(format!("{}{summary}{}", &readme[..start], &readme[end..]))
}

/// The machine-readable summary: the machine and, per group, per record, the key figures.
fn summary_json(machine: &Machine, groups: &[GroupReport]) -> serde_json::Value {
    let groups: BTreeMap<&str, serde_json::Value> = groups
        .iter()
        .map(|g| {
            let records: Vec<serde_json::Value> = g
                .records
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "name": r.name,
                        "ours_median_s": r.ours.median_s,
                        "ours_mb_per_s": r.ours.mb_per_s,
                        "anchor": r.anchor,
                        "anchor_median_s": r.anchor_median_s,
                        "ratio": r.ratio,
                        "goal": r.goal,
                        "notes": r.notes,
                        "headline": r.headline,
                    })
                })
                .collect();
            (
                g.name.as_str(),
                serde_json::json!({ "run": g.run, "records": records }),
            )
        })
        .collect();
    serde_json::json!({ "machine": machine, "groups": groups })
}

#[cfg(test)]
mod tests {
    use super::super::Runs;
    use super::*;

    fn record(name: &str, ratio: Option<f64>, headline: bool) -> Record {
        Record {
            name: name.to_owned(),
            ours: Runs {
                median_s: 0.5,
                runs: vec![0.5],
                mb_per_s: Some(200.0),
            },
            anchor: ratio.map(|_| "numpy".to_owned()),
            anchor_median_s: ratio.map(|r| r * 0.5),
            anchor_runs: None,
            anchor_mb_per_s: None,
            ratio,
            bytes_per_run: Some(100_000_000),
            unit: "MB/s".to_owned(),
            goal: "fast | faster".to_owned(),
            notes: [("peak_rss_mib".to_owned(), 15.69)].into(),
            headline,
        }
    }

    fn groups() -> Vec<GroupReport> {
        vec![
            GroupReport {
                name: "npy".to_owned(),
                records: vec![record("a", Some(2.0), false), record("b", None, true)],
                run: Some(RunInfo {
                    quick: true,
                    started_unix: 1_767_225_600,
                    elapsed_s: 12.0,
                    commit: Some("abc1234".to_owned()),
                    dirty: false,
                }),
                written_unix: None,
            },
            GroupReport {
                name: "append".to_owned(),
                records: vec![record("c", Some(40.0), false), record("d", None, false)],
                run: None,
                written_unix: Some(1_767_225_600),
            },
        ]
    }

    #[test]
    fn parses_meminfo_and_os_release() {
        assert_eq!(
            parse_meminfo_kib("MemFree: 1 kB\nMemTotal:       24683656 kB\n"),
            Some(24_683_656)
        );
        assert_eq!(
            parse_os_release("NAME=x\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n").as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }

    #[test]
    fn report_has_a_table_per_group() {
        let text = render_report(&Machine::default(), &groups());
        assert!(text.contains("## `npy`\n"));
        assert!(text.contains("## `append`\n"));
        assert!(text.contains("`--quick`"));
        assert!(text.contains("| a | 500.000 ms (200 MB/s) | numpy: 1.000 s | 2.00x | fast \\| faster | peak rss mib: 15.7 |"));
        assert!(text.contains("| c | 500.000 ms (200 MB/s) | numpy: 20.000 s | 40x |"));
        assert!(text.contains("## How to reproduce"));
    }

    #[test]
    fn summary_takes_marked_rows_or_the_first() {
        let summary = render_summary(&Machine::default(), &groups());
        assert!(summary.starts_with(SUMMARY_START) && summary.ends_with(SUMMARY_END));
        assert!(summary.contains("| npy | b |"));
        assert!(!summary.contains("| npy | a |"));
        assert!(summary.contains("| append | c |"));
        assert!(!summary.contains("| append | d |"));
        // Not every group has run info saying --quick.
        assert!(summary.contains("`cargo xtask bench` of 2026-01-01"));
    }

    #[test]
    fn splices_between_markers_only() {
        let readme =
            format!("# x\n\n## Benchmarks\n\n{SUMMARY_START}\nold\n{SUMMARY_END}\n\n## After\n");
        let new = splice_summary(&readme, &format!("{SUMMARY_START}\nnew\n{SUMMARY_END}")).unwrap();
        assert_eq!(
            new,
            format!("# x\n\n## Benchmarks\n\n{SUMMARY_START}\nnew\n{SUMMARY_END}\n\n## After\n")
        );
        assert_eq!(splice_summary("no markers", "x"), None);
        assert_eq!(
            splice_summary(&format!("{SUMMARY_END}{SUMMARY_START}"), "x"),
            None
        );
    }

    #[test]
    fn loads_groups_in_table_order_and_skips_other_json() {
        let dir = tempfile::tempdir().unwrap();
        let json = serde_json::to_string(&vec![record("a", Some(2.0), false)]).unwrap();
        for name in ["zeta", "varpack", "npy"] {
            std::fs::write(dir.path().join(format!("{name}.json")), &json).unwrap();
        }
        std::fs::write(dir.path().join("broken.json"), "{").unwrap();
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        write_run_info(
            dir.path(),
            "npy",
            &RunInfo {
                quick: true,
                started_unix: 1,
                elapsed_s: 1.0,
                commit: None,
                dirty: true,
            },
        )
        .unwrap();
        let groups = load_groups(dir.path()).unwrap();
        let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["npy", "varpack", "zeta"]);
        assert!(groups[0].run.as_ref().unwrap().quick);
        assert!(groups[1].run.is_none());
    }

    #[test]
    fn the_ratio_cell_shows_the_spread_of_the_pairs() {
        let mut r = record("a", Some(2.0), false);
        assert_eq!(format_ratio_spread(&r), "2.00x"); // no anchor runs: no spread
        r.ours.runs = vec![1.0, 2.0, 1.0];
        r.anchor_runs = Some(vec![2.0, 3.0, 2.5]);
        assert_eq!(format_ratio_spread(&r), "2.00x (1.50-2.50)");
    }
}
