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
