//! Support shared by the fault-injection tests (`tests/faults.rs` of npy-append, npz-stream,
//! filepack and varpack) and the concurrency tests (`npy-append/tests/concurrency.rs`,
//! `filepack/tests/concurrent.rs`), and by npy-append's other tests that start processes or
//! build numpy's old headers, as `testkit::faults`.
//!
//! Environment variables:
//!
//! - `ARRAY_FILES_TRIALS`: trials per fault-injection test. The default is each test's CI
//!   count (a few dozen); the full run uses hundreds (`ARRAY_FILES_TRIALS=300`).
//! - `ARRAY_FILES_SOAK_SECS`: how long each concurrency test runs, in seconds (default 3; the
//!   full run uses 60).
//! - `ARRAY_FILES_SEED`: the base seed (default: from the clock). A failing trial prints its
//!   own seed; `ARRAY_FILES_SEED=<that seed> ARRAY_FILES_TRIALS=1` runs exactly that trial
//!   again (the moment a child is killed depends on the scheduler, so kill trials replay the
//!   same writer and the same delay, not necessarily the same instant).
//!
//! Child processes are the test binary itself, run as
//! `<binary> child_entry --exact --nocapture --test-threads=1` with the role and its argument in
//! `ARRAY_FILES_CHILD_ROLE` / `ARRAY_FILES_CHILD_ARG`; each test file has a `child_entry` test
//! that does nothing without them. Children report to the parent with `CHILD:key=value` lines on
//! stdout.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub use crate::rng::{Rng, mix};

/// Trials per fault-injection test.
pub const TRIALS_ENV: &str = "ARRAY_FILES_TRIALS";
/// Seconds each concurrency test runs.
pub const SOAK_ENV: &str = "ARRAY_FILES_SOAK_SECS";
/// The base seed of the trials.
pub const SEED_ENV: &str = "ARRAY_FILES_SEED";
const ROLE_ENV: &str = "ARRAY_FILES_CHILD_ROLE";
const ARG_ENV: &str = "ARRAY_FILES_CHILD_ARG";

fn env_parse<T: std::str::FromStr>(name: &str) -> Option<T> {
    let text = std::env::var(name).ok()?;
    match text.trim().parse() {
        Ok(v) => Some(v),
        Err(_) => panic!("{name}={text:?} is not a number"),
    }
}

/// Trials per fault-injection test: `ARRAY_FILES_TRIALS`, else `ci_default`.
pub fn trials(ci_default: usize) -> usize {
    env_parse(TRIALS_ENV).unwrap_or(ci_default)
}

/// Duration of a concurrency test: `ARRAY_FILES_SOAK_SECS` (default 3 s).
pub fn soak() -> Duration {
    Duration::from_secs_f64(env_parse(SOAK_ENV).unwrap_or(3.0))
}

/// The base seed: `ARRAY_FILES_SEED`, else from the clock.
pub fn base_seed() -> u64 {
    env_parse(SEED_ENV).unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    })
}

/// Prints the seed of a trial that panics, so it can be run again.
struct TrialGuard<'a> {
    test: &'a str,
    trial: usize,
    seed: u64,
}

impl Drop for TrialGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "\n{}: trial {} FAILED; run it again with {SEED_ENV}={} {TRIALS_ENV}=1",
                self.test, self.trial, self.seed
            );
        }
    }
}

/// Runs the trials of a fault-injection test: `trials(ci_default)` of them, trial `i` with seed
/// `base + i * golden` (so trial 0's seed is the base seed). `trial` returns a label for what
/// it observed (the outcome counts are printed at the end).
pub fn run_trials(
    test: &str,
    ci_default: usize,
    mut trial: impl FnMut(&mut Rng, usize) -> String,
) -> BTreeMap<String, usize> {
    let base = base_seed();
    let count = trials(ci_default);
    let start = Instant::now();
    let mut outcomes = BTreeMap::new();
    for i in 0..count {
        let seed = base.wrapping_add((i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let guard = TrialGuard {
            test,
            trial: i,
            seed,
        };
        let outcome = trial(&mut Rng(seed), i);
        drop(guard);
        *outcomes.entry(outcome).or_insert(0) += 1;
    }
    eprintln!(
        "{test}: {count} trials in {:.1} s, base seed {base} ({SEED_ENV}), outcomes {outcomes:?}",
        start.elapsed().as_secs_f64()
    );
    outcomes
}

/// Serializes the tests of one binary that start processes or take locks: a process started
/// by one test thread holds copies of every descriptor of the test process from fork to exec,
/// locks included, so a lock just released by another thread could look held for a moment.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// In a child process: its role and argument. `None` in a normal test run.
pub fn child_role() -> Option<(String, String)> {
    let role = std::env::var(ROLE_ENV).ok()?;
    Some((role, std::env::var(ARG_ENV).unwrap_or_default()))
}

/// A command running this test binary as a child in `role`.
pub fn child_command(role: &str, arg: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["child_entry", "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE_ENV, role)
        .env(ARG_ENV, arg)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

/// In a child: one `CHILD:key=value` line for the parent.
pub fn report(key: &str, value: impl std::fmt::Display) {
    println!("CHILD:{key}={value}");
}

/// What a child printed, and how it ended.
#[derive(Debug)]
pub struct ChildOutput {
    /// How the child ended.
    pub status: std::process::ExitStatus,
    /// Its `CHILD:key=value` reports, in order.
    pub lines: Vec<(String, String)>,
}

impl ChildOutput {
    fn parse(lines: impl IntoIterator<Item = String>, status: std::process::ExitStatus) -> Self {
        // libtest may print `test child_entry ... ` before the first line, on the same line.
        let lines = lines
            .into_iter()
            .filter_map(|line| {
                let at = line.find("CHILD:")?;
                let (key, value) = line[at + "CHILD:".len()..].split_once('=')?;
                Some((key.to_owned(), value.to_owned()))
            })
            .collect();
        ChildOutput { status, lines }
    }

    /// What a finished child (spawned from [`child_command`]) printed, and how it ended.
    pub fn from_output(output: &std::process::Output) -> Self {
        let stdout = String::from_utf8_lossy(&output.stdout);
        ChildOutput::parse(stdout.lines().map(str::to_owned), output.status)
    }

    /// The last value reported for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.lines
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The last value reported for `key`, parsed.
    pub fn number(&self, key: &str) -> Option<u64> {
        self.get(key).map(|v| v.parse().unwrap())
    }

    /// Whether the child reported `key`.
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Every value reported for `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

impl std::fmt::Display for ChildOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "child {}:", self.status)?;
        for (k, v) in &self.lines {
            write!(f, " {k}={v};")?;
        }
        Ok(())
    }
}

/// Runs a child to completion.
pub fn run_child(role: &str, arg: &str) -> ChildOutput {
    run_command(child_command(role, arg))
}

/// Runs a command from [`child_command`] to completion.
pub fn run_command(mut cmd: Command) -> ChildOutput {
    ChildOutput::from_output(&cmd.output().unwrap())
}

/// Starts a child, waits for its `CHILD:ready=...` line, lets it run for `delay`, kills it
/// with SIGKILL and returns what it printed until then. Panics if the child ended by itself.
pub fn kill_child_after(role: &str, arg: &str, delay: Duration) -> ChildOutput {
    kill_command_after(child_command(role, arg), delay)
}

/// [`kill_child_after`] for a command from [`child_command`].
pub fn kill_command_after(mut cmd: Command, delay: Duration) -> ChildOutput {
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|e| panic!("the child never got ready: {e}; it printed {lines:?}"));
        let ready = line.contains("CHILD:ready=");
        lines.push(line);
        if ready {
            break;
        }
    }
    std::thread::sleep(delay);
    child.kill().unwrap();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    lines.extend(rx.try_iter());
    let output = ChildOutput::parse(lines, status);
    assert!(
        !status.success(),
        "the child ended by itself before it was killed: {output}"
    );
    output
}

/// In a child: makes writes past `limit` bytes of any file fail with `EFBIG`, as a full disk
/// would (`RLIMIT_FSIZE`, with `SIGXFSZ` ignored so the write returns the error instead of
/// killing the process).
#[cfg(unix)]
pub fn limit_file_size(limit: u64) {
    // SAFETY: plain libc calls with valid arguments, in a child process whose test harness
    // runs this one test: `signal` sets the disposition of SIGXFSZ to "ignore" (no handler
    // runs), and the rlimit struct lives for the duration of the `setrlimit` call.
    unsafe {
        assert_ne!(libc::signal(libc::SIGXFSZ, libc::SIG_IGN), libc::SIG_ERR);
        let rlimit = libc::rlimit {
            rlim_cur: limit,
            rlim_max: limit,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit), 0);
    }
}

/// Whether `error` or one of its sources is an I/O error of a full disk or a file-size limit
/// (`ENOSPC`, `EDQUOT`, `EFBIG`).
pub fn is_disk_full(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::FileTooLarge
                    | std::io::ErrorKind::StorageFull
                    | std::io::ErrorKind::QuotaExceeded
            )
        {
            return true;
        }
        current = e.source();
    }
    false
}

/// The names in `dir`, sorted.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// A writer that accepts `budget` bytes, then fails every write as a full disk (`ENOSPC`).
/// Writes that cross the budget are short, as a real file system's would be.
#[derive(Debug)]
pub struct FailAfter<W> {
    /// The writer written to until the budget is spent.
    pub inner: W,
    /// Bytes accepted before writes fail.
    pub budget: u64,
    /// Bytes accepted so far.
    pub written: u64,
    /// Writes refused so far.
    pub failures: u64,
}

impl<W> FailAfter<W> {
    /// `inner`, failing after `budget` bytes.
    pub fn new(inner: W, budget: u64) -> Self {
        FailAfter {
            inner,
            budget,
            written: 0,
            failures: 0,
        }
    }
}

impl<W: std::io::Write> std::io::Write for FailAfter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = self.budget - self.written;
        if room == 0 && !buf.is_empty() {
            self.failures += 1;
            return Err(std::io::ErrorKind::StorageFull.into());
        }
        let n = (buf.len() as u64).min(room) as usize;
        let n = self.inner.write(&buf[..n])?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<W: std::io::Seek> std::io::Seek for FailAfter<W> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// `header` as numpy before 1.14 wrote it: version 1.0, padded only to a multiple of 16 bytes,
/// so with no room to grow the shape in place.
pub fn pre_1_14_header(header: &npy_format::Header) -> Vec<u8> {
    let needed = 10 + header.dict_text().len() + 1;
    header
        .to_bytes_in_place(npy_format::Version::V1, (needed + 1).next_multiple_of(16))
        .unwrap()
}
