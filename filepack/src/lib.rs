//! # filepack
//!
//! A directory tree of millions of files in one file: O(1) open, O(1) lookup through an on-disk hash index, memory-mapped and shared lock-free by any number of reader threads and processes.
//!
//! **Status: skeleton.** This crate compiles and reserves its place in the workspace; its
//! capabilities arrive with issue 5 of the project tracker. Until then it exports nothing
//! but the NPY vocabulary it builds on, re-exported from [`npy_format`].
//!
//! ```
//! // Everything the crate will speak is already available through npy-format:
//! let header = filepack::npy_format::Header::new(
//!     filepack::npy_format::DType::parse("<f8").unwrap(),
//!     false,
//!     vec![0, 4],
//! );
//! assert_eq!(header.frame_count(), 0);
//! ```

pub use npy_format;
