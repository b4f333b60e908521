//! # varpack
//!
//! Named sets of variables saved fast and loaded memory-mapped: arrays as `.npy` (one per array, or aligned members of one `.npz`), other values as JSON.
//!
//! **Status: skeleton.** This crate compiles and reserves its place in the workspace; its
//! capabilities arrive with issue 6 of the project tracker. Until then it exports nothing
//! but the NPY vocabulary it builds on, re-exported from [`npy_format`].
//!
//! ```
//! // Everything the crate will speak is already available through npy-format:
//! let header = varpack::npy_format::Header::new(
//!     varpack::npy_format::DType::parse("<f8").unwrap(),
//!     false,
//!     vec![0, 4],
//! );
//! assert_eq!(header.frame_count(), 0);
//! ```

pub use npy_format;
