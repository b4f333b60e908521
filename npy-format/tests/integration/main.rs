//! npy-format's integration tests, as one test binary: each module was a test file of its own
//! (`tests/<module>.rs`); one binary links once instead of five times. Run one module with
//! `cargo test -p npy-format --test integration <module>::`.
//!
//! The mutation tests stay a binary of their own (`tests/mutation.rs`): they declare a counting
//! global allocator, which would count every other test too.

mod broken_files;
mod bulk_read;
mod features;
mod ndarray_io;
mod numpy_cases;
mod numpy_props;
mod ranges;
#[cfg(feature = "remote")]
mod remote_faults;
