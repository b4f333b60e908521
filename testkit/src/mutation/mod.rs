//! Mutation testing shared by every crate's `tests/mutation.rs`: a counting global allocator, a
//! reproducible mutation generator, and a runner that runs one call sequence per mutated input
//! under `catch_unwind`, with a watchdog against hangs.
//!
//! Used by each crate's mutation test binary, which declares the counting allocator:
//!
//! ```ignore
//! use testkit::mutation;
//!
//! #[global_allocator]
//! static ALLOC: mutation::CountingAlloc = mutation::CountingAlloc;
//! ```
//!
//! What a [`Runner`] checks for every case (one mutated input, one closure of calls on it):
//!
//! - no panic (the panic message and location are reported with the mutation);
//! - no single allocation larger than `input_len * factor + slack`, and no more than that many
//!   bytes live at once, counted on the case's thread and on any thread the library spawns;
//! - no case runs longer than `MUTATION_CASE_TIMEOUT` seconds (default 60): the watchdog prints
//!   the case and aborts the process, as a hang would otherwise never end.
//!
//! An allocation above 1 GiB is refused on the spot (after printing the case), since letting it
//! through could exhaust the machine before the case ends.
//!
//! Every failure names the sample and the mutations in Rust syntax, so a failing case can be
//! pasted into the test file as a named regression case.
//!
//! The cases are the same on every run. `MUTATION_SEED=N` draws other random edits, and
//! `MUTATION_SCALE=K` draws K times as many, for longer runs by hand:
//! `MUTATION_SEED=7 MUTATION_SCALE=20 cargo test --release -p npz-stream --test mutation`.

mod alloc;
mod edits;
mod runner;

pub use alloc::CountingAlloc;
pub use edits::*;
pub use runner::{Runner, Usage, measure, overwrite, register_thread};

/// A number from the environment (`MUTATION_SEED`, `MUTATION_SCALE`, `MUTATION_CASE_TIMEOUT`),
/// if set and valid.
fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}
