//! The command-line tools' promise about standard output, checked the same way for every tool:
//! a full disk (`> /dev/full`) is one error line and status 1, a reader that goes away
//! (`| head`) is a quiet success, and neither is ever a panic.

use std::io::Read;
use std::process::{Command, Stdio};

/// Runs the command `make` builds twice: with stdout on `/dev/full` (it must exit 1 with one
/// line `TOOL: error: writing to standard output: ...` and no panic), then with stdout a pipe
/// that is closed after `read_first` bytes were read (it must exit 0 with nothing on stderr).
/// `what` names the case in failure messages.
#[cfg(unix)]
pub fn assert_clean_on_full_and_closed_stdout(
    tool: &str,
    what: &str,
    read_first: usize,
    make: impl Fn() -> Command,
) {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = make()
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .expect("run the tool");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{what} > /dev/full: {err}");
    assert!(
        err.starts_with(&format!("{tool}: error: ")) && err.contains("writing to standard output"),
        "{what} > /dev/full: {err}"
    );
    assert!(!err.contains("panicked"), "{what} > /dev/full: {err}");
    assert_eq!(err.lines().count(), 1, "{what} > /dev/full: {err}");

    let mut child = make()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the tool");
    let mut first = vec![0u8; read_first];
    child
        .stdout
        .as_mut()
        .expect("piped stdout")
        .read_exact(&mut first)
        .unwrap_or_else(|e| panic!("{what}: reading the first {read_first} bytes: {e}"));
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for the tool");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{what} | closed: {err}");
    assert!(err.is_empty(), "{what} | closed: {err}");
}
