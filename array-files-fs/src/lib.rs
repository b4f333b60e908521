//! File-system plumbing shared by the array-files crates, so that every crate locks, replaces
//! files and runs its command-line tool the same way.
//!
//! # Quick start
//!
//! Write a file so that it appears complete or not at all, and refuse to clobber one that is
//! there (replacing instead keeps the old file's mode):
//!
//! ```
//! use std::io::Write;
//! use array_files_fs::atomic::{Persist, TempFile};
//!
//! let dir = tempfile::tempdir()?;
//! let target = dir.path().join("out.bin");
//! let mut tmp = TempFile::beside(&target)?;
//! tmp.file_mut().write_all(b"complete contents")?;
//! tmp.persist(&target, Persist::NoClobber)?;
//!
//! let again = TempFile::beside(&target)?;
//! let refused = again.persist(&target, Persist::NoClobber).unwrap_err();
//! assert_eq!(refused.kind(), std::io::ErrorKind::AlreadyExists);
//! assert_eq!(std::fs::read(&target)?, b"complete contents");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Take the writers' lock on a file (the one [`npy-append`] and [`npz-stream`] take):
//!
//! ```
//! use array_files_fs::lock::{open_locked, LockFail, LockMode};
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("a.npz");
//! # std::fs::write(&path, b"")?;
//! let first = open_locked(&path, true, LockMode::FailFast).unwrap();
//! assert!(matches!(open_locked(&path, true, LockMode::FailFast), Err(LockFail::Locked)));
//! drop(first);
//! assert!(open_locked(&path, true, LockMode::FailFast).is_ok());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Modules
//!
//! | module | what |
//! |---|---|
//! | [`error`] | [`PathError`](error::PathError): an error about a file, its path once and a kind |
//! | [`lock`] | [`LockMode`], the exclusive advisory lock on the file a writer changes |
//! | [`atomic`] | [`TempFile`](atomic::TempFile): write beside, sync, rename or link into place, keep the mode |
//! | [`map`] | [`MapOptions`](map::MapOptions): the workspace's one `unsafe` block for memory maps |
//! | [`pread`], [`pwrite`] | positional reads and writes, vectored writes in one call |
//! | [`private`] | [`PrivateDir`](private::PrivateDir): a directory only this user may enter (mode `0700`), removed when dropped |
//! | [`reserve`] | [`Reservation`](reserve::Reservation): disk blocks allocated ahead of a growing file's end |
//! | [`regular`] | open a file only if it is a regular one, never hanging on a FIFO |
//! | [`text`] | names from files escaped for messages |
//! | `cli` (feature `cli`) | the tools' `main`, stdout, `-f/--force`, and the guard that turns a mapped input shrinking into an error |
//!
//! [`npy-append`]: https://docs.rs/npy-append
//! [`npz-stream`]: https://docs.rs/npz-stream

pub mod atomic;
#[cfg(feature = "cli")]
pub mod cli;
pub mod error;
pub mod lock;
pub mod map;
pub mod pread;
pub mod private;
pub mod pwrite;
pub mod regular;
pub mod reserve;
pub mod text;

pub use lock::LockMode;
