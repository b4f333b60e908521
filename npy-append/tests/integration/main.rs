//! npy-append's integration tests that share a test binary: each module was a test file of its
//! own (`tests/<module>.rs`); one binary links once instead of four times. Run one module with
//! `cargo test -p npy-append --test integration <module>::`.
//!
//! Binaries of their own: `mutation` (it declares a counting global allocator, which would count
//! every other test too) and `faults`, `processes` and `concurrency` (each runs its own binary as
//! child processes through its `child_entry` test, and serializes what starts processes).

mod appender;
mod cli_append_recover;
mod cli_info_rows;
mod numpy_interop;
#[cfg(feature = "remote")]
mod remote;

// Helpers of more than one module.

use std::path::Path;
use std::process::{Command, Output};

/// Runs the `npy` CLI built for these tests with `args`.
fn npy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_npy"))
        .args(args)
        .output()
        .expect("run npy")
}

/// `path` as the UTF-8 text a command line or the oracle takes.
fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `n` bytes of a deterministic pattern from `start` (bools stay 0 or 1).
fn pattern(start: usize, n: usize, bool_dtype: bool) -> Vec<u8> {
    (start..start + n)
        .map(|i| {
            let b = (i.wrapping_mul(2654435761) >> 7) as u8;
            if bool_dtype { b & 1 } else { b }
        })
        .collect()
}
