//! Test support shared by the crates of the workspace (a dev-dependency, never published):
//!
//! - [`oracle`]: numpy itself, as a long-running Python process that the interop tests ask to
//!   load, save and describe arrays (`NPY_PYTHON`, `NPY_ORACLE`, set by `cargo xtask test`);
//! - [`mutation`]: the mutation runner of every crate's `tests/mutation.rs` (counting allocator,
//!   reproducible mutations, watchdog);
//! - [`cli`]: the tools' promise about a full or closed standard output;
//! - [`faults`]: fault injection in child processes (a file-size limit, kills at random
//!   moments, seeds and trial counts, the children's reports);
//! - [`rng`]: the seeded random generator both draw from.
//!
//! Each test binary that counts allocations declares the allocator itself (a global allocator
//! belongs to the binary):
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: testkit::mutation::CountingAlloc = testkit::mutation::CountingAlloc;
//! ```

pub mod cli;
pub mod faults;
pub mod mutation;
pub mod oracle;
pub mod rng;
