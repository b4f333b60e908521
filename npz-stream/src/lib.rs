//! # npz-stream
//!
//! Streaming `.npz` archives: members written frame by frame without holding them in memory, seekable compressed members (a full-flush index numpy ignores), and 64-byte aligned stored members that map zero-copy.
//!
//! **Status: skeleton.** This crate compiles and reserves its place in the workspace; its
//! capabilities arrive with issue 4 of the project tracker. Until then it exports nothing
//! but the NPY vocabulary it builds on, re-exported from [`npy_format`].
//!
//! ```
//! // Everything the crate will speak is already available through npy-format:
//! let header = npz_stream::npy_format::Header::new(
//!     npz_stream::npy_format::DType::parse("<f8").unwrap(),
//!     false,
//!     vec![0, 4],
//! );
//! assert_eq!(header.frame_count(), 0);
//! ```

pub use npy_format;
