//! The shared `main` and stdout, run as a real process against a closed pipe and a full disk.
//!
//! This test binary has its own `main` (`harness = false`): with `COUNT_CHILD` set it is the
//! tool under test, `count N` (the numbers 0..N, one per line, through `cli::stdout`) or
//! `count --fail MESSAGE`; without, it runs the checks, each starting itself as the tool.

use std::io::{Read, Write};
use std::process::{Command, ExitCode, Stdio};

use array_files_fs::cli;

fn main() -> ExitCode {
    if std::env::var_os("COUNT_CHILD").is_some() {
        return count(std::env::args().skip(1).collect());
    }
    #[cfg(unix)]
    {
        a_full_disk_is_an_error_not_a_panic();
        a_closed_pipe_is_a_quiet_success();
    }
    errors_are_one_line_with_control_characters_escaped();
    println!("cli: 3 checks passed");
    ExitCode::SUCCESS
}

fn count(args: Vec<String>) -> ExitCode {
    cli::main("count", || -> Result<(), Box<dyn std::error::Error>> {
        if args.first().map(String::as_str) == Some("--fail") {
            return Err(args.get(1).cloned().unwrap_or_default().into());
        }
        let n: u64 = args.first().ok_or("usage: count N")?.parse()?;
        let mut out = cli::stdout();
        for i in 0..n {
            writeln!(out, "{i}")?;
        }
        Ok(())
    })
}

fn tool() -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.env("COUNT_CHILD", "1");
    command
}

#[cfg(unix)]
fn a_full_disk_is_an_error_not_a_panic() {
    // Both a write error in the loop (a million lines) and one in the final flush (ten).
    for n in ["10", "1000000"] {
        let out = tool()
            .arg(n)
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{n}: {stderr}");
        assert!(
            stderr.starts_with("count: error: writing to standard output: "),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

#[cfg(unix)]
fn a_closed_pipe_is_a_quiet_success() {
    let mut child = tool()
        .arg("100000000")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 100];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert!(first.starts_with(b"0\n1\n2\n"));
}

fn errors_are_one_line_with_control_characters_escaped() {
    let out = tool()
        .args(["--fail", "no member \"a\x1b[2J\"\nsecond line"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "count: error: no member \"a\\u{1b}[2J\" second line\n"
    );
}
