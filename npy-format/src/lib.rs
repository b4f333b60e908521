//! # npy-format
//!
//! numpy's NPY format for Rust: read every `.npy` numpy writes (versions 1.0, 2.0, 3.0, every
//! dtype), write headers byte-identical to `np.save`'s, map files and view them as typed slices
//! without copying, and read or append them frame by frame.
//!
//! ## Quick start
//!
//! ```
//! use npy_format::{FrameSource, NpyFile};
//! # let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("frames.npy");
//!
//! // Write a (4, 3) f32 array: the same bytes np.save writes for it.
//! let data: Vec<f32> = (0..12).map(|i| i as f32).collect();
//! npy_format::write_file(&path, &data, &[4, 3]).unwrap();
//!
//! // Map it and view it as &[f32], no copy.
//! let mut file = NpyFile::open(&path).unwrap();
//! assert_eq!(file.header().dtype.descr(), "'<f4'");
//! assert_eq!(file.view::<f32>().unwrap().as_slice(), &data[..]);
//!
//! // Frames along the growth axis (axis 0 here), as raw bytes.
//! assert_eq!(file.read_frames(2, 4).unwrap().len(), 2 * 3 * 4);
//!
//! // Or read it into a Vec from any reader, byte-swapping if needed.
//! let array = npy_format::read_file::<f32>(&path).unwrap();
//! assert_eq!(array.data, data);
//! ```
//!
//! ## Map of the crate
//!
//! - [`header`]: [`Header`] parse (with numpy's size limit) and print (numpy's exact bytes).
//! - [`dtype`]: [`DType`], the whole descr grammar: scalars with byte order and time units,
//!   structured records with titles, nested records, sub-arrays and padding.
//! - [`Element`]: Rust types that are a fixed dtype ([`TypedView`], [`read_file`], [`write_array`]).
//! - [`NpyFile`]: memory-mapped files (read-only, read-write, copy-on-write).
//! - [`frames`]: the [`FrameSource`] and [`FrameSink`] traits the sibling crates implement.
//! - Errors: [`HeaderError`], [`ViewError`], [`ReadError`], [`WriteError`], [`FrameError`].
//!
//! ## Features
//!
//! - `half`: `half::f16` as an [`Element`] (`<f2`).
//! - `num-complex`: `Complex<f32>` and `Complex<f64>` (`<c8`, `<c16`).
//! - `ndarray`: the [`nd`] module (owned `Array<T, D>` read from any `.npy` of `T`, any
//!   `ArrayBase` written in any memory layout, `ReadNpy`/`WriteNpy` traits), views of
//!   dimension `D` ([`TypedView::to_ndarray_dim`]) or dynamic ([`TypedView::to_ndarray`]).
//!   `ndarray`, `half` and `num_complex` are re-exported with their features, so versions
//!   always match.
//! - `remote`: [`source::RemoteSource`], objects of S3 and S3-compatible stores, GCS, Azure
//!   and HTTP through `object_store` (re-exported), configured from the standard environment
//!   (`AWS_*`, ...): [`NpyReader`] reads a `.npy` there with one request for the header and
//!   one per frame range; [`source::open`] takes a path or a URL.
//!
//! ## Reading from object storage
//!
//! [`source`] is the byte-range layer every crate of the workspace reads through:
//! [`source::ByteSource`] (one request per call), local files, memory, a
//! [`source::CountingSource`] that counts requests and bytes as a store is asked them, a
//! [`source::CachedSource`] of hot blocks, and with feature `remote` the objects of S3 and
//! S3-compatible servers, GCS, Azure and HTTP (`RemoteSource`; `RemoteWriter` and
//! `upload_file` for writing, as multipart uploads invisible until complete). [`NpyReader`]
//! reads a `.npy` there with one request for the header (two for one over 16 KiB) and one per
//! frame range:
//!
//! ```
//! use npy_format::{FrameSource, NpyReader};
//! use npy_format::source::{CountingSource, MemorySource};
//! let mut bytes = Vec::new();
//! npy_format::write_array(&mut bytes, &(0u32..4000).collect::<Vec<_>>(), &[1000, 4], false).unwrap();
//! let source = CountingSource::new(MemorySource::new(bytes, "s3://bucket/run.npy"));
//! let mut npy = NpyReader::open(&source).unwrap(); // `source::open(url)` for a real URL
//! let last = npy.read_frames(992, 1000).unwrap();
//! assert_eq!((last.len(), source.requests()), (8 * 16, 2));
//! ```
//!
//! ## What is refused
//!
//! Object arrays (`|O`) hold pickles: their headers parse, their data is never read or written.
//! Headers longer than 10000 characters are refused unless [`ReadOptions::max_header_size`]
//! raises the limit, as numpy does. Shapes whose byte counts overflow are refused at parse time.

pub mod dtype;
mod element;
mod error;
mod file;
pub mod frames;
pub mod header;
mod literal;
#[cfg(feature = "ndarray")]
pub mod nd;
mod read;
mod reader;
pub mod source;
mod view;
mod write;

pub use array_files_fs::error::{PathError, ResultKind};
pub use dtype::{ByteOrder, DType, Field, Scalar, ScalarKind, TimeUnit};
pub use element::{Element, as_bytes};
pub use error::{
    DescrError, FrameError, FrameRangeError, HeaderError, ReadError, ReadErrorKind, ViewError,
    WriteError,
};
pub use file::{Mode, NpyFile, OpenOptions};
pub use frames::{
    FrameChunk, FrameChunksExt, FrameSink, FrameSource, MappedChunks, SourceChunks,
    frames_per_chunk, mapped_chunks,
};
pub use header::{Header, ParsedHeader, ReadOptions, Version};
pub use read::{OwnedArray, read_array, read_array_with, read_file, read_file_with};
pub use reader::{HEAD_BYTES, NpyReader};
pub use view::{TypedView, TypedViewMut, to_vec};
pub use write::{write_array, write_file, write_header, write_raw};

#[cfg(feature = "half")]
pub use half;
#[cfg(feature = "ndarray")]
pub use ndarray;
#[cfg(feature = "num-complex")]
pub use num_complex;
#[cfg(feature = "remote")]
pub use object_store;
