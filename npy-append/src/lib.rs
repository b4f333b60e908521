//! # npy-append
//!
//! Grow `.npy` files frame by frame along their growth axis: buffered, locked,
//! crash-consistent appends whose files numpy loads at every moment, and recovery of files
//! whose data ran past their header.
//!
//! ## Quick start
//!
//! ```
//! use npy_append::{FrameLayout, NpyAppender};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let path = dir.path().join("log.npy");
//!
//! // A new file of frames of 4 f32: shape (0, 4), with the header np.save writes.
//! let mut out = NpyAppender::create(&path, &FrameLayout::of::<f32>(&[4]))?;
//! out.append(&[1.0f32, 2.0, 3.0, 4.0])?; // one frame
//! out.append(&[0.5f32; 8])?; // two more
//! out.flush()?; // np.load sees (3, 4) from here on
//! out.sync()?; // ... and so does the disk after a power cut
//! assert_eq!(out.finish()?.shape, vec![3, 4]);
//!
//! // Later, or in another process: append to it, whoever wrote it.
//! let mut out = NpyAppender::open(&path)?;
//! out.append(&[9.0f32; 4])?;
//! out.finish()?;
//! assert_eq!(npy_format::read_file::<f32>(&path)?.header.shape, vec![4, 4]);
//!
//! // After a crash: adopt the complete frames the header did not count yet.
//! let report = npy_append::recover(&path, &Default::default())?;
//! assert!(!report.changed());
//! # Ok(())
//! # }
//! ```
//!
//! The `npy` binary of this crate does the same from the shell:
//! `npy append OUT.npy IN.npy...` and `npy recover FILE.npy [--zero-fill] [--dry-run]`.
//!
//! ## What it promises
//!
//! - **numpy-identical files.** New files get the header `np.save` writes for the final array
//!   (growth room for 21 digits included), and the header is rewritten in place as frames
//!   arrive. One deliberate difference: an array in Fortran order keeps `fortran_order: True`
//!   even while it is also C-contiguous (no frames yet, or one), where `np.save` writes
//!   `False`; the flag is what tells readers and later appenders which axis grows.
//! - **Any file numpy can append to.** Versions 1.0, 2.0 and 3.0, files from numpy,
//!   NpyAppendArray or this crate. Headers from numpy < 1.24 have no room to grow: they are
//!   rewritten with room through a temporary file and a rename, and
//!   [`NpyAppender::header_rewrite`] says so (or [`AppendOptions::rewrite_header`] refuses).
//! - **Exact types.** Appends take the file's dtype, byte order and frame shape exactly; a
//!   mismatch is an error, never a cast.
//! - **Crash consistency.** Frame bytes are in the file before the header counts them.
//!   A writer killed at any moment leaves a file numpy loads, holding a prefix of the frames
//!   appended; [`recover()`] adopts the complete frames written after the last header update
//!   and truncates (or zero-fills) a torn one. New files and rewritten headers appear through
//!   a temporary file and a rename or link, so a writer killed right then leaves the old file
//!   (or none) and a stray `.NAME.PID-N.tmp` beside it, which can be deleted.
//! - **One writer, many readers.** An exclusive advisory lock (std's `File::lock`) stops a
//!   second appender, in this process or another, with [`OpenErrorKind::Locked`] (or makes it wait:
//!   [`LockMode`]). Readers (`np.load(mmap_mode='r')`, [`npy_format::NpyFile`]) need no lock
//!   and see complete frames: the header is rewritten with one write of the bytes that change
//!   (see [`NpyAppender`] for what POSIX does and does not promise about reads racing it).
//! - **Bounded memory.** The buffer ([`BufferSize`], 1 MiB by default) is the only memory
//!   that grows with what is appended; appends of an eighth of it or more (64 KiB at least)
//!   are written without a copy.
//!
//! ## Map of the crate
//!
//! - [`NpyAppender`], opened or created through [`AppendOptions`], with a [`FrameLayout`];
//!   it implements [`npy_format::FrameSink`], so code that records frames can be generic.
//! - [`recover()`] with [`RecoverOptions`], giving a [`RecoverReport`].
//! - Reading frames back in chunks: [`mapped_chunks`] (borrowed from a map) and
//!   [`FrameChunksExt::frame_chunks`] (any [`npy_format::FrameSource`]).
//! - Errors: [`OpenError`], [`AppendError`], [`RecoverError`], each naming the file.
//!
//! ## Features
//!
//! - `cli` (default): the `npy` binary (`info`, `rows`, `append`, `recover`); its dependencies
//!   (clap, serde_json) never reach the library with default features off.
//! - `ndarray`: [`NpyAppender::append_array_view`] for views in any memory layout.
//! - `remote`: the `npy` binary's `info`, `rows` and `append` inputs read `s3://`, `gs://`,
//!   `az://` and `http(s)://` URLs (npy-format's `remote`; on with `cli`).

#![forbid(unsafe_code)]

mod appender;
mod contents;
mod error;
mod fsutil;
mod info;
mod layout;
mod options;
mod recover;

pub use npy_format;

pub use appender::{HeaderRewrite, NpyAppender, has_growth_room};
pub use array_files_fs::error::{PathError, ResultKind};
pub use error::{
    AppendError, AppendErrorKind, OpenError, OpenErrorKind, RecoverError, RecoverErrorKind,
};
pub use info::NpyInfo;
#[cfg(feature = "json")]
pub use info::info_json;
pub use layout::FrameLayout;
/// Chunked frame reads, from `npy_format::frames` (re-exported: they were first here).
pub use npy_format::frames::{
    FrameChunk, FrameChunksExt, MappedChunks, SourceChunks, frames_per_chunk, mapped_chunks,
};
pub use options::{AppendOptions, BufferSize, LockMode};
pub use recover::{DEFAULT_MAX_ZERO_FILL, RecoverOptions, RecoverReport, recover};
