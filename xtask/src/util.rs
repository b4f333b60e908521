//! Helpers shared by the subcommands: where the workspace and its target directory are, how
//! to run a command and carry its failure up to xtask's exit code, and section headers.

use anyhow::{Context, Result};
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root: the parent of the xtask crate's directory.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the xtask crate lives inside the workspace")
}

/// The workspace's target directory, as an absolute path.
///
/// `CARGO_TARGET_DIR` when set, else cargo's own answer (`cargo metadata`, which also honours
/// `build.target-dir` in config files), else `<root>/target`.
pub fn target_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::var_os("CARGO_TARGET_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(target_dir_from_metadata)
            .unwrap_or_else(|| workspace_root().join("target"));
        if dir.is_absolute() {
            dir
        } else {
            workspace_root().join(dir)
        }
    })
}

/// `target_directory` from `cargo metadata`, or `None` when cargo cannot say (for example
/// while a workspace member's manifest is broken).
fn target_dir_from_metadata() -> Option<PathBuf> {
    let output = cargo()
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    metadata["target_directory"].as_str().map(PathBuf::from)
}

/// The cargo that runs xtask (`$CARGO`), or `cargo` from `PATH`.
pub fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(cargo);
    command.current_dir(workspace_root());
    command
}

/// Prints a section header that stands out among cargo's own output.
pub fn section(title: &str) {
    eprintln!();
    eprintln!("==> {title}");
}

/// A command that ran and failed: xtask exits with the same code.
#[derive(Debug)]
pub struct CommandFailed {
    /// The command line, for the message.
    command: String,
    /// Its exit code, `None` when a signal ended it.
    code: Option<i32>,
}

impl CommandFailed {
    /// The exit code xtask should end with: the command's own, or 1.
    pub fn exit_code(&self) -> u8 {
        match self.code {
            Some(code) if (1..=255).contains(&code) => code as u8,
            _ => 1,
        }
    }
}

impl fmt::Display for CommandFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "`{}` failed with exit code {code}", self.command),
            None => write!(f, "`{}` was ended by a signal", self.command),
        }
    }
}

impl std::error::Error for CommandFailed {}

/// The command line of `command`, for messages.
pub fn describe(command: &Command) -> String {
    let program = Path::new(command.get_program());
    let mut line = if program.file_stem().is_some_and(|stem| stem == "cargo") {
        "cargo".to_owned()
    } else {
        program.to_string_lossy().into_owned()
    };
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// Runs `command` with inherited stdio; a non-zero exit becomes a [`CommandFailed`] error.
pub fn run(command: &mut Command) -> Result<()> {
    let line = describe(command);
    let status = command
        .status()
        .with_context(|| format!("could not start `{line}`"))?;
    if status.success() {
        Ok(())
    } else {
        Err(CommandFailed {
            command: line,
            code: status.code(),
        }
        .into())
    }
}

/// Set by a debug xtask when it re-runs itself in release.
const RELEASE_RERUN_ENV: &str = "XTASK_RELEASE_RERUN";

/// Makes commands that time things run optimised: a debug xtask runs
/// `cargo run --release -p xtask -- ARGS` and returns `Ok(true)` once it has finished (the caller
/// then stops); a release xtask returns `Ok(false)` and the caller does the work itself.
pub fn rerun_in_release(args: &[String]) -> Result<bool> {
    if !cfg!(debug_assertions) || std::env::var_os(RELEASE_RERUN_ENV).is_some() {
        return Ok(false);
    }
    section(&format!(
        "xtask {}: building xtask in release, so the figures are optimised",
        args[0]
    ));
    let mut release = cargo();
    release
        .args(["run", "--release", "--quiet", "--package", "xtask", "--"])
        .args(args)
        .env(RELEASE_RERUN_ENV, "1");
    run(&mut release)?;
    Ok(true)
}

/// A small, reproducible pseudo-random sequence (a 64-bit LCG, upper bits out) for generated
/// benchmark and demo data: the same seed gives the same data on every machine.
#[derive(Clone, Debug)]
pub struct Lcg(u64);

impl Lcg {
    /// A sequence starting from `seed`.
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed)
    }

    /// The next 31 random bits.
    pub fn next_u31(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// A number in `[0, n)` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u31() % n
    }
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The UTC calendar date `(year, month, day)` of `unix_secs` (Howard Hinnant's `civil_from_days`).
pub fn utc_date(unix_secs: u64) -> (i64, u32, u32) {
    let days = (unix_secs / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let doe = days.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD` (UTC) of `unix_secs`.
pub fn format_date(unix_secs: u64) -> String {
    let (y, m, d) = utc_date(unix_secs);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:MM UTC` of `unix_secs`.
pub fn format_datetime(unix_secs: u64) -> String {
    let secs = unix_secs % 86_400;
    format!(
        "{} {:02}:{:02} UTC",
        format_date(unix_secs),
        secs / 3600,
        secs / 60 % 60
    )
}

/// The trimmed stdout of `command`, or `None` when it cannot start or fails.
pub fn output_of(command: &mut Command) -> Option<String> {
    let output = command.stderr(std::process::Stdio::null()).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(951_782_400), "2000-02-29");
        assert_eq!(format_datetime(1_767_225_599), "2025-12-31 23:59 UTC");
        assert_eq!(format_date(1_767_225_600), "2026-01-01");
    }
}
