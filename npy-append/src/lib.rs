//! # npy-append
//!
//! Grow `.npy` files frame by frame along their growth axis: buffered, crash-consistent appends
//! whose files numpy loads at every moment, and recovery of files whose data ran past their header.
//!
//! **Status: skeleton.** The appender arrives with issue 3 of the project tracker. The crate
//! already ships the `npy` command-line tool (`npy info`, `npy rows`), which lives here rather
//! than in npy-format because its `append` and `recover` commands need this crate.
//!
//! ```
//! // The vocabulary the appender will implement (npy_format::FrameSink) is re-exported:
//! use npy_append::npy_format::{DType, Header};
//! let header = Header::new(DType::parse("<f4").unwrap(), false, vec![0, 16]);
//! assert_eq!(header.frame_len(), Some(64));
//! ```

pub use npy_format;
