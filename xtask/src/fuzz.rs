//! `cargo xtask fuzz [--seconds N] [TARGET...]`: builds the cargo-fuzz targets in `fuzz/` and
//! runs each for N seconds (default 60), every target when none is named.
//!
//! # Targets
//!
//! | target | what it feeds arbitrary bytes to |
//! |---|---|
//! | `npy_header` | npy-format: `Header::from_bytes`/`read_from` and `DType::parse`; printed headers and descrs must parse back |
//! | `npy_file` | npy-format: `NpyFile` (read-only and copy-on-write), typed views, frames, `read_file`, `read_array` |
//! | `npz` | npz-stream: `NpzReader` listing, whole-member reads, CRC checks, views, random frame reads through seek indexes and zran indexes |
//! | `filepack` | filepack: `Pack::from_vec` (with and without checks), every entry, lookups, `listdir`, `walk`, `.npy` frames, `verify` |
//! | `filepack_tree` | filepack: deep or wide packs built from a few input bytes (depth up to 30,000, past `MAX_DEPTH`; up to 1,024 siblings), walked, verified and extracted |
//! | `varpack_dir` | varpack: a directory pack (manifest and files) loaded eagerly, lazily, copy-on-write and by `inspect` |
//! | `varpack_npz` | varpack: a single-file pack (`.npz`) loaded the same ways |
//!
//! # What it needs, and what it installs itself
//!
//! * **cargo-fuzz**, installed from crates.io at a pinned version into `<target>/tools`
//!   (`cargo install cargo-fuzz --locked --root <target>/tools`) the first time; nothing is
//!   installed outside the target directory.
//! * **The stable toolchain.** cargo-fuzz passes `-Z` flags to rustc (sanitizer, coverage
//!   instrumentation), which stable rustc accepts only with `RUSTC_BOOTSTRAP=1`; this command
//!   sets it for the fuzz build alone. No nightly toolchain is needed. The AddressSanitizer
//!   runtime ships with stable's `rust-std` on x86_64 Linux; `--sanitizer none` builds without
//!   it (faster, and for platforms without it).
//! * **A C++ compiler** (`c++`/`g++`, or `$CXX`): libfuzzer-sys compiles libFuzzer's sources.
//!
//! The fuzz build lives in `<target>/fuzz` (the fuzz package is not a workspace member, so the
//! workspace's own builds never see it). Each run is optimised with debug assertions and
//! overflow checks on (`cargo fuzz build -O -a`), limited to 2048 MB of RSS and 2048 MB per
//! allocation (`-rss_limit_mb`, `-malloc_limit_mb`) and 30 s per input (`-timeout`), so a huge
//! allocation or a hang is a failure like a panic. Inputs may grow to [`max_len`] bytes
//! (`-max_len`; libFuzzer's own default is the largest seed or 4 KiB, too small for a pack
//! deep or wide enough to matter).
//!
//! # Corpora
//!
//! * `fuzz/corpus/TARGET/`: the committed seeds, a handful of small valid files per target
//!   written by the crates' own writers. `cargo xtask fuzz --seeds` rewrites them.
//! * `<target>/fuzz/corpus/TARGET/`: the working corpus libFuzzer grows; kept between runs,
//!   never committed.
//! * `fuzz/dict/TARGET.dict`: libFuzzer dictionaries (magic numbers, keys of the formats).
//! * `<target>/fuzz/artifacts/TARGET/`: inputs that crashed, hung or ran out of memory.
//! * `<target>/fuzz/logs/TARGET.log`: the whole libFuzzer output of the last run.
//!
//! # Reproducing a failure
//!
//! `cargo xtask fuzz TARGET --input FILE...` runs the target once on each file (what a crash
//! artifact needs); a regression test in the affected crate's `tests/fuzz_regressions.rs`
//! keeps it fixed.

use crate::util::{self, section};
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The cargo-fuzz version installed into `<target>/tools`.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// The fuzz targets, in the order they run.
const TARGETS: &[&str] = &[
    "npy_header",
    "npy_file",
    "npz",
    "filepack",
    "filepack_tree",
    "varpack_dir",
    "varpack_npz",
];

/// The largest input libFuzzer makes for `target` (`-max_len`), `None` for libFuzzer's default
/// (the largest seed, at least 4 KiB). A filepack input holds a whole tree: a file entry 25,000
/// directories deep takes 60 KB, so filepack inputs may grow to 1 MiB.
fn max_len(target: &str) -> Option<usize> {
    match target {
        "filepack" | "filepack_tree" => Some(1 << 20),
        _ => None,
    }
}

/// Arguments of `cargo xtask fuzz`.
#[derive(clap::Args, Debug)]
pub struct FuzzArgs {
    /// Seconds each target runs.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// The sanitizer: `address` (default) or `none`.
    #[arg(long, default_value = "address")]
    sanitizer: String,
    /// Rewrite the seed corpora in fuzz/corpus/ from the crates' own writers, then stop.
    #[arg(long)]
    seeds: bool,
    /// Build the targets, run nothing.
    #[arg(long)]
    build_only: bool,
    /// Run the (one) named target once on each of these files instead of fuzzing.
    #[arg(long, num_args = 1..)]
    input: Vec<PathBuf>,
    /// Targets to run (all when none is named).
    targets: Vec<String>,
}

/// How one target's run went, from libFuzzer's output.
#[derive(Debug, Default)]
struct Outcome {
    target: String,
    passed: bool,
    runs: String,
    seconds: String,
    cov: String,
    ft: String,
    corpus: String,
    peak_rss_mb: String,
}

/// Runs `cargo xtask fuzz`.
pub fn run(args: FuzzArgs) -> Result<()> {
    let targets: Vec<&str> = if args.targets.is_empty() {
        TARGETS.to_vec()
    } else {
        for t in &args.targets {
            if !TARGETS.contains(&t.as_str()) {
                bail!(
                    "unknown fuzz target {t:?}; the targets are {}",
                    TARGETS.join(", ")
                );
            }
        }
        args.targets.iter().map(String::as_str).collect()
    };
    if args.seeds {
        section("xtask fuzz: writing the seed corpora into fuzz/corpus/");
        return seeds::write_all(&util::workspace_root().join("fuzz").join("corpus"));
    }
    if !["address", "none"].contains(&args.sanitizer.as_str()) {
        bail!("--sanitizer is `address` or `none`");
    }
    if !args.input.is_empty() && targets.len() != 1 {
        bail!("--input needs exactly one target");
    }
    check_cxx()?;
    let cargo_fuzz = ensure_cargo_fuzz()?;
    let dir = fuzz_dir();
    let host = host_triple()?;

    let mut build = Command::new(&cargo_fuzz);
    build
        .current_dir(util::workspace_root())
        .args(["fuzz", "build", "-O", "-a", "--sanitizer", &args.sanitizer])
        .args(["--target", &host])
        .arg("--target-dir")
        .arg(&dir)
        .env("RUSTC_BOOTSTRAP", "1")
        .env_remove("CARGO_TARGET_DIR");
    if targets.len() == 1 {
        build.arg(targets[0]);
    }
    section(&format!(
        "xtask fuzz: RUSTC_BOOTSTRAP=1 {}",
        util::describe(&build)
    ));
    util::run(&mut build)?;
    if args.build_only {
        return Ok(());
    }
    let bin_dir = dir.join(&host).join("release");

    if !args.input.is_empty() {
        let mut once = Command::new(bin_dir.join(targets[0]));
        once.args(&args.input)
            .env("ARRAY_FILES_FUZZ_SCRATCH", scratch(&dir, targets[0])?);
        section(&format!("xtask fuzz: {}", util::describe(&once)));
        let result = util::run(&mut once);
        remove_scratch(&dir, targets[0]);
        return result;
    }

    let mut outcomes = Vec::new();
    for target in &targets {
        outcomes.push(run_target(&bin_dir, &dir, target, args.seconds)?);
    }
    section("xtask fuzz: summary");
    let table = summary_table(&outcomes, args.seconds);
    println!("{table}");
    let summary_path = dir.join("summary.md");
    std::fs::write(&summary_path, &table)
        .with_context(|| format!("writing {}", summary_path.display()))?;
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| o.target.as_str())
        .collect();
    if !failed.is_empty() {
        bail!(
            "fuzz targets failed: {} (inputs in {}, logs in {})",
            failed.join(", "),
            dir.join("artifacts").display(),
            dir.join("logs").display()
        );
    }
    Ok(())
}

/// `<target>/fuzz`: the fuzz build, working corpora, artifacts and logs.
fn fuzz_dir() -> PathBuf {
    util::target_dir().join("fuzz")
}

/// Where the targets write their inputs (each input is written to a file first): a directory
/// in `/dev/shm` where there is one (five times faster than the disk of our machines), else
/// `<dir>/scratch`.
fn scratch_base(dir: &Path) -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.join(format!("array-files-fuzz-{}", std::process::id()))
    } else {
        dir.join("scratch")
    }
}

/// A fresh scratch directory for `target`, under [`scratch_base`].
fn scratch(dir: &Path, target: &str) -> Result<PathBuf> {
    let scratch = scratch_base(dir).join(target);
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    Ok(scratch)
}

/// Removes what [`scratch`] made.
fn remove_scratch(dir: &Path, target: &str) {
    let base = scratch_base(dir);
    let _ = std::fs::remove_dir_all(base.join(target));
    let _ = std::fs::remove_dir(base);
}

/// libFuzzer is C++: libfuzzer-sys's build script needs a C++ compiler.
fn check_cxx() -> Result<()> {
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".to_owned());
    let found = Command::new(&cxx)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        bail!("no C++ compiler ({cxx}): libFuzzer needs one (on Debian: apt-get install g++)");
    }
    Ok(())
}

/// `<target>/tools/bin/cargo-fuzz` at [`CARGO_FUZZ_VERSION`], installed from crates.io if
/// missing or of another version.
fn ensure_cargo_fuzz() -> Result<PathBuf> {
    let tools = util::target_dir().join("tools");
    let bin = tools.join("bin").join("cargo-fuzz");
    let installed = Command::new(&bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(CARGO_FUZZ_VERSION));
    if installed {
        return Ok(bin);
    }
    section(&format!(
        "xtask fuzz: installing cargo-fuzz {CARGO_FUZZ_VERSION} into {}",
        tools.display()
    ));
    let mut install = util::cargo();
    install
        .args(["install", "cargo-fuzz", "--locked", "--force"])
        .args(["--version", CARGO_FUZZ_VERSION])
        .arg("--root")
        .arg(&tools)
        .env("CARGO_TARGET_DIR", tools.join("build"));
    util::run(&mut install)?;
    Ok(bin)
}

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> Result<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc)
        .arg("-vV")
        .output()
        .context("running rustc -vV")?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .context("rustc -vV printed no host triple")
}

/// Runs one target for `seconds`, its output to `<dir>/logs/TARGET.log` and its progress
/// lines to the terminal.
fn run_target(bin_dir: &Path, dir: &Path, target: &str, seconds: u64) -> Result<Outcome> {
    let root = util::workspace_root().join("fuzz");
    let work = dir.join("corpus").join(target);
    let artifacts = dir.join("artifacts").join(target);
    let logs = dir.join("logs");
    for d in [&work, &artifacts, &logs] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let mut command = Command::new(bin_dir.join(target));
    // New inputs go to the first corpus directory: the working one, not the committed seeds.
    command
        .arg(&work)
        .arg(root.join("corpus").join(target))
        .arg(format!("-max_total_time={seconds}"))
        .args(["-rss_limit_mb=2048", "-malloc_limit_mb=2048", "-timeout=30"])
        .args(max_len(target).map(|n| format!("-max_len={n}")))
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()));
    let dict = root.join("dict").join(format!("{target}.dict"));
    if dict.is_file() {
        command.arg(format!("-dict={}", dict.display()));
    }
    command
        .env("ARRAY_FILES_FUZZ_SCRATCH", scratch(dir, target)?)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    section(&format!(
        "xtask fuzz: {target} for {seconds} s: {}",
        util::describe(&command)
    ));
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", bin_dir.join(target).display()))?;
    let log_path = logs.join(format!("{target}.log"));
    let mut log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let mut outcome = Outcome {
        target: target.to_owned(),
        ..Outcome::default()
    };
    let stderr = child.stderr.take().context("libFuzzer's stderr")?;
    let mut in_dictionary = false;
    for line in BufReader::new(stderr).lines() {
        let line = line.context("reading libFuzzer's output")?;
        writeln!(log, "{line}").with_context(|| format!("writing {}", log_path.display()))?;
        parse_line(&line, &mut outcome);
        // Progress (`pulse`, `INITED`, `DONE`) and what is not a corpus event (a crash report);
        // the rest is in the log.
        if line.starts_with("###### Recommended dictionary") {
            in_dictionary = true;
        }
        let event =
            line.starts_with('#') && !["pulse", "INITED", "DONE"].iter().any(|w| line.contains(w));
        if !(event || in_dictionary || line.trim_start().starts_with("NEW_FUNC")) {
            eprintln!("    {line}");
        }
        if line.starts_with("###### End of recommended dictionary") {
            in_dictionary = false;
        }
    }
    let status = child.wait().context("waiting for libFuzzer")?;
    outcome.passed = status.success();
    remove_scratch(dir, target);
    Ok(outcome)
}

/// Picks the figures out of one line of libFuzzer's output.
fn parse_line(line: &str, outcome: &mut Outcome) {
    if let Some(rest) = line.strip_prefix("Done ") {
        // "Done 12345 runs in 60 second(s)"
        let mut words = rest.split_whitespace();
        outcome.runs = words.next().unwrap_or_default().to_owned();
        outcome.seconds = words.nth(2).unwrap_or_default().to_owned();
    } else if line.starts_with('#') {
        let mut words = line.split_whitespace();
        while let Some(word) = words.next() {
            let slot = match word {
                "cov:" => &mut outcome.cov,
                "ft:" => &mut outcome.ft,
                "corp:" => &mut outcome.corpus,
                _ => continue,
            };
            *slot = words.next().unwrap_or_default().to_owned();
        }
    } else if let Some(runs) = line.strip_prefix("stat::number_of_executed_units:") {
        // Also printed after a crash, which has no "Done" line.
        outcome.runs = runs.trim().to_owned();
    } else if let Some(mb) = line.strip_prefix("stat::peak_rss_mb:") {
        outcome.peak_rss_mb = mb.trim().to_owned();
    }
}

/// A Markdown table of the outcomes.
fn summary_table(outcomes: &[Outcome], seconds: u64) -> String {
    let mut table = format!(
        "| target | result | runs | seconds (asked {seconds}) | cov | ft | corpus (inputs/bytes) | peak RSS MB |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n"
    );
    for o in outcomes {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            o.target,
            if o.passed { "clean" } else { "FAILED" },
            o.runs,
            o.seconds,
            o.cov,
            o.ft,
            o.corpus,
            o.peak_rss_mb
        ));
    }
    table
}

/// The seed corpora: small valid files of every format, written by the crates themselves.
mod seeds {
    use super::*;
    use npy_format::{DType, Header, Version};
    use npz_stream::{Compression, FrameSink, NpzWriter};
    use std::collections::BTreeMap;
    use treepack::{EntryMeta, PackWriter};
    use varpack::{Array, Varpack};

    /// dtypes from numpy's own test arrays (see npy-format/tests/integration/numpy_cases.rs):
    /// byte orders, strings, voids, times, records with titles, nesting, sub-arrays, non-latin-1
    /// names.
    const DESCRS: &[&str] = &[
        "<f8",
        ">i4",
        "|b1",
        "<U5",
        "|S3",
        "|V5",
        "<M8[D]",
        "<m8[25s]",
        "<c16",
        "<f2",
        "|O",
        "[('x', '<f4'), ('y', '<i8')]",
        "[(('Title A', 'a'), '<i4'), ('b', '>f8')]",
        "[('pos', [('x', '<f4'), ('y', '<f4')]), ('id', '<u8', (2, 3))]",
        "[('a', '|u1'), ('', '|V7'), ('b', '<i8')]",
        "[('ж', '<f4'), ('日本', '<i2')]",
    ];

    /// One target's seeds: (file name, bytes).
    type Seeds = Vec<(String, Vec<u8>)>;

    /// Writes every target's seeds under `corpus/TARGET/`, replacing what was there.
    pub fn write_all(corpus: &Path) -> Result<()> {
        let scratch = util::target_dir().join("fuzz").join("seed-scratch");
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch)?;
        let sets: Vec<(&str, Seeds)> = vec![
            ("npy_header", npy_header()?),
            ("npy_file", npy_file()?),
            ("npz", npz(&scratch)?),
            ("filepack", filepack()?),
            ("filepack_tree", filepack_tree()),
            ("varpack_dir", varpack_dir(&scratch)?),
            ("varpack_npz", varpack_npz(&scratch)?),
        ];
        for (target, files) in sets {
            let dir = corpus.join(target);
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let mut total = 0;
            for (name, bytes) in &files {
                total += bytes.len();
                std::fs::write(dir.join(name), bytes)?;
            }
            println!("    {target}: {} seeds, {total} bytes", files.len());
        }
        let _ = std::fs::remove_dir_all(&scratch);
        Ok(())
    }

    /// Small arrays, one per dtype: (descr, header, data bytes).
    fn arrays() -> Result<Vec<(String, Header, Vec<u8>)>> {
        let mut out = Vec::new();
        for (i, descr) in DESCRS.iter().enumerate() {
            let dtype = DType::parse(descr)?;
            let (fortran, shape) = match i % 4 {
                0 => (false, vec![3, 2]),
                1 => (false, vec![4]),
                2 => (true, vec![2, 3]),
                _ => (false, vec![]),
            };
            let header = Header::new(dtype, fortran, shape);
            let len = if header.dtype.has_object() {
                0
            } else {
                header.data_len().unwrap_or(0) as usize
            };
            let data = (0..len).map(|b| (b * 37 % 251) as u8).collect();
            out.push((descr.to_string(), header, data));
        }
        // Empty and high-rank shapes.
        let f4 = DType::parse("<f4")?;
        out.push((
            "empty".into(),
            Header::new(f4.clone(), false, vec![0, 3]),
            vec![],
        ));
        out.push((
            "rank9".into(),
            Header::new(f4, true, vec![1; 9]),
            vec![0; 4],
        ));
        Ok(out)
    }

    fn npy_header() -> Result<Seeds> {
        let mut seeds = Vec::new();
        for (i, (_, header, _)) in arrays()?.iter().enumerate() {
            seeds.push((format!("header-{i:02}.npy"), header.to_bytes()?));
        }
        // A version 2.0 header, and bare descr texts for the descr parser.
        let (_, header, _) = &arrays()?[11];
        seeds.push((
            "header-v2.npy".into(),
            header.to_bytes_in_place(Version::V2, 192)?,
        ));
        for (i, descr) in DESCRS.iter().enumerate().skip(11) {
            seeds.push((format!("descr-{i:02}.txt"), descr.as_bytes().to_vec()));
        }
        Ok(seeds)
    }

    fn npy_file() -> Result<Seeds> {
        let mut seeds = Vec::new();
        for (i, (_, header, data)) in arrays()?.iter().enumerate() {
            let mut bytes = Vec::new();
            if header.dtype.has_object() {
                // Refused by the writers: a header and a stand-in for the pickle.
                bytes = header.to_bytes()?;
                bytes.extend_from_slice(b"\x80\x04N.");
            } else {
                npy_format::write_raw(&mut bytes, header, data)?;
            }
            seeds.push((format!("array-{i:02}.npy"), bytes));
        }
        Ok(seeds)
    }

    fn npz(scratch: &Path) -> Result<Seeds> {
        let mut seeds = Vec::new();
        // 12000 bytes: three chunks at the smallest chunk size, so the seek index has 3 points.
        let frames: Vec<i16> = (0..6000).map(|i| (i % 97) as i16).collect();
        // Stored, aligned: two members.
        let path = scratch.join("stored.npz");
        let mut npz = NpzWriter::create(&path)?;
        npz.add_array("pedestal", &[100u16; 16], &[4, 4])?;
        npz.add_array("x", &[1.5f64, 2.5, 3.5], &[3])?;
        npz.finish()?;
        seeds.push(("stored.npz".into(), std::fs::read(&path)?));
        // Deflated in the smallest chunks: seek indexes with several points, one member streamed.
        let path = scratch.join("seekable.npz");
        let mut npz = NpzWriter::options()
            .compression(Compression::deflate())
            .chunk_size(4096)
            .create(&path)?;
        npz.add_array("adc", &frames, &[600, 10])?;
        let header = Header::new(DType::parse("<u2")?, false, vec![0, 4]);
        let mut member = npz.begin_member("stream", &header)?;
        for i in 0..1200u16 {
            member.append(&[i % 7, i % 5, 3, 4])?;
        }
        member.finish()?;
        npz.finish()?;
        seeds.push(("seekable.npz".into(), std::fs::read(&path)?));
        // Deflated without a seek index (as numpy writes them): read through zran indexes.
        let path = scratch.join("foreign.npz");
        let mut npz = NpzWriter::options()
            .compression(Compression::deflate())
            .index(false)
            .create(&path)?;
        npz.add_array("adc", &frames, &[600, 10])?;
        npz.add_file("notes.txt", b"not an array")?;
        npz.finish()?;
        seeds.push(("foreign.npz".into(), std::fs::read(&path)?));
        // A record dtype, Fortran order, stored unaligned.
        let path = scratch.join("record.npz");
        let mut npz = NpzWriter::options().align(false).create(&path)?;
        let (_, header, data) = &arrays()?[12];
        npz.add_raw("rec", header, data)?;
        npz.finish()?;
        seeds.push(("record.npz".into(), std::fs::read(&path)?));
        Ok(seeds)
    }

    fn filepack() -> Result<Seeds> {
        let mut seeds = Vec::new();
        let mut npy = Vec::new();
        npy_format::write_array(&mut npy, &(0u16..24).collect::<Vec<_>>(), &[6, 4], false)?;
        // A small tree: nested directories, an empty one, symlinks inside, outside and
        // dangling, a non-ASCII name, an empty file and an .npy.
        let mut w = PackWriter::with_alignment(Cursor::new(Vec::new()), 64)?;
        w.add_bytes("a/b/c.txt", b"hello, pack\n", EntryMeta::file())?;
        w.add_bytes("a/empty.bin", b"", EntryMeta::file().mode(0o600))?;
        w.add_bytes("dir/x.npy", &npy, EntryMeta::file().mtime(1_700_000_000, 5))?;
        w.add_bytes("日本/名前.txt", "ünïcode".as_bytes(), EntryMeta::file())?;
        w.add_dir("empty", EntryMeta::dir())?;
        w.add_symlink("link", "a/b/c.txt", EntryMeta::symlink())?;
        w.add_symlink("a/up", "../dir", EntryMeta::symlink())?;
        w.add_symlink("abs", "/etc/passwd", EntryMeta::symlink())?;
        w.add_symlink("dangling", "nowhere", EntryMeta::symlink())?;
        seeds.push(("tree.fpack".into(), w.finish()?.0.into_inner()));
        // One file, byte-aligned; and an empty pack.
        let mut w = PackWriter::with_alignment(Cursor::new(Vec::new()), 1)?;
        w.add_bytes("x.npy", &npy, EntryMeta::file())?;
        seeds.push(("one.fpack".into(), w.finish()?.0.into_inner()));
        let w = PackWriter::with_alignment(Cursor::new(Vec::new()), 1)?;
        seeds.push(("empty.fpack".into(), w.finish()?.0.into_inner()));
        Ok(seeds)
    }

    /// Inputs of `array_files_fuzz::structured_pack`: shape byte (even: a chain built by the
    /// writer, odd: a path patched past it), depth (u16), fan-out, width (u16), name length,
    /// then contents.
    fn filepack_tree() -> Seeds {
        let input = |shape: u8, depth: u16, fanout: u8, width: u16, name: u8| {
            let mut v = vec![shape];
            v.extend_from_slice(&depth.to_le_bytes());
            v.push(fanout);
            v.extend_from_slice(&width.to_le_bytes());
            v.push(name);
            v.extend_from_slice(b"contents");
            v
        };
        vec![
            ("small.bin".into(), input(0, 3, 2, 3, 4)),
            ("wide.bin".into(), input(0, 1, 1, 1024, 16)),
            ("deep-chain.bin".into(), input(0, 2000, 1, 0, 1)),
            ("past-max-depth.bin".into(), input(0, 4096, 1, 0, 1)),
            ("patched-25000.bin".into(), input(1, 25_000, 0, 0, 0)),
            ("patched-shallow.bin".into(), input(1, 10, 0, 0, 0)),
        ]
    }

    /// A pack with every kind of value.
    fn sample_pack() -> Result<Varpack> {
        let mut vp = Varpack::new();
        vp.insert_array("temperature", &[20.5f64, 21.0, 22.5, 23.0], &[2, 2])?;
        vp.insert_array("flags", &[true, false, true], &[3])?;
        let mut cams = BTreeMap::new();
        cams.insert("left".to_string(), Array::from_slice(&[1u8; 6], &[2, 3])?);
        cams.insert("right".to_string(), Array::from_slice(&[2i16; 2], &[2])?);
        vp.insert_dict("cams", cams)?;
        vp.insert_value("settings", &("fast", 3))?;
        vp.insert_value("notes", &vec!["long"; 3])?;
        vp.set_separate("notes", true)?;
        Ok(vp)
    }

    /// A saved directory pack in the `varpack_dir` input format: the manifest, then each file
    /// after `\n@@file NAME\n` (see fuzz/src/lib.rs).
    fn dir_input(dir: &Path) -> Result<Vec<u8>> {
        let mut out = std::fs::read(dir.join(varpack::MANIFEST))?;
        let mut names: Vec<String> = std::fs::read_dir(dir)?
            .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_>>()?;
        names.sort();
        for name in names.iter().filter(|n| n.as_str() != varpack::MANIFEST) {
            out.extend_from_slice(b"\n@@file ");
            out.extend_from_slice(name.as_bytes());
            out.push(b'\n');
            out.extend_from_slice(&std::fs::read(dir.join(name))?);
        }
        Ok(out)
    }

    fn varpack_dir(scratch: &Path) -> Result<Seeds> {
        let mut seeds = Vec::new();
        let full = scratch.join("full");
        sample_pack()?.save_as(&full)?;
        seeds.push(("full.pack".into(), dir_input(&full)?));
        let mut vp = Varpack::new();
        vp.insert_value("only", &serde_json::json!({"a": [1, 2.5, null]}))?;
        let json = scratch.join("json");
        vp.save_as(&json)?;
        seeds.push(("json.pack".into(), dir_input(&json)?));
        // The manifest alone: every file it names is missing.
        seeds.push((
            "manifest-only.pack".into(),
            std::fs::read(full.join(varpack::MANIFEST))?,
        ));
        Ok(seeds)
    }

    fn varpack_npz(scratch: &Path) -> Result<Seeds> {
        let mut seeds = Vec::new();
        let path = scratch.join("full.npz");
        sample_pack()?.save_as(&path)?;
        seeds.push(("full.npz".into(), std::fs::read(&path)?));
        // A plain numpy-style archive: a pack of its arrays.
        let path = scratch.join("plain.npz");
        let mut npz = NpzWriter::options().align(false).create(&path)?;
        npz.add_array("a", &[1i32, 2, 3], &[3])?;
        npz.add_array("b", &[0.5f32; 4], &[2, 2])?;
        npz.finish()?;
        seeds.push(("plain.npz".into(), std::fs::read(&path)?));
        Ok(seeds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_come_from_libfuzzer_output() {
        let mut o = Outcome::default();
        for line in [
            "#2048\tpulse  cov: 3487 ft: 8486 corp: 89/198Kb lim: 3074 exec/s: 512 rss: 107Mb",
            "#5826\tDONE   cov: 3595 ft: 9541 corp: 168/401Kb lim: 3074 exec/s: 364 rss: 221Mb",
            "Done 5826 runs in 16 second(s)",
            "stat::peak_rss_mb:              221",
        ] {
            parse_line(line, &mut o);
        }
        assert_eq!(
            (
                &*o.runs,
                &*o.seconds,
                &*o.cov,
                &*o.ft,
                &*o.corpus,
                &*o.peak_rss_mb
            ),
            ("5826", "16", "3595", "9541", "168/401Kb", "221")
        );
        // A crashed run has no "Done" line, only the stats.
        parse_line("stat::number_of_executed_units: 30321", &mut o);
        assert_eq!(o.runs, "30321");
        o.target = "npz".into();
        assert!(summary_table(&[o], 60).contains("| npz | FAILED | 30321 |"));
    }

    #[test]
    fn every_target_has_a_source_seeds_and_a_dictionary() {
        let fuzz = util::workspace_root().join("fuzz");
        for target in TARGETS {
            let source = fuzz.join("fuzz_targets").join(format!("{target}.rs"));
            assert!(source.is_file(), "{}", source.display());
            assert!(fuzz.join("dict").join(format!("{target}.dict")).is_file());
            let seeds = std::fs::read_dir(fuzz.join("corpus").join(target))
                .unwrap()
                .count();
            assert!(seeds >= 2, "{target}: {seeds} seeds");
        }
    }
}
