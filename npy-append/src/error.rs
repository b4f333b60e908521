//! Error types, one per family of operations: opening or creating an appender
//! ([`OpenError`]), appending, flushing and finishing ([`AppendError`]), and recovering a file
//! ([`RecoverError`]). Each is a [`PathError`]: the file once, and what went wrong as a kind
//! (`err.kind()`); every message starts with the file it is about.

use std::io;
use std::path::Path;

use array_files_fs::error::PathError;
use npy_format::{FrameError, HeaderError, WriteError};

/// Why an appender could not be opened or created: the file and an [`OpenErrorKind`].
///
/// ```
/// use npy_append::{NpyAppender, OpenErrorKind};
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("notes.txt");
/// std::fs::write(&path, "not an array").unwrap();
/// let err = NpyAppender::open(&path).unwrap_err();
/// assert_eq!(err.path(), path);
/// assert!(matches!(err.kind(), OpenErrorKind::Header { .. }));
/// assert!(err.to_string().starts_with(&path.display().to_string()));
/// ```
pub type OpenError = PathError<OpenErrorKind>;

/// Why an append, flush, sync or finish failed: the file and an [`AppendErrorKind`].
///
/// A failed append appends nothing: the frames of that call are not in the array, and the file
/// still loads with every frame flushed before. Frames buffered by earlier calls stay buffered,
/// so a later [`flush`](crate::NpyAppender::flush) can retry (after freeing disk space, say).
///
/// ```
/// use npy_append::{AppendErrorKind, FrameLayout, NpyAppender};
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("a.npy");
/// let mut out = NpyAppender::create(&path, &FrameLayout::of::<f64>(&[2])).unwrap();
/// let err = out.append(&[1.0f64, 2.0, 3.0]).unwrap_err(); // one and a half frames
/// assert!(matches!(err.kind(), AppendErrorKind::Frame { .. }));
/// assert_eq!(err.path(), path);
/// let err = out.append(&[1i64, 2]).unwrap_err(); // never a silent cast
/// assert!(err.to_string().contains("dtype mismatch"));
/// ```
pub type AppendError = PathError<AppendErrorKind>;

/// Why [`recover`](crate::recover()) could not repair a file: the file and a
/// [`RecoverErrorKind`].
///
/// ```
/// use npy_append::{RecoverErrorKind, RecoverOptions, recover};
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("scalar.npy");
/// npy_format::write_file(&path, &[7u32], &[]).unwrap(); // a 0-d array
/// std::fs::OpenOptions::new().append(true).open(&path).unwrap().set_len(200).unwrap();
/// let err = recover(&path, &RecoverOptions::default()).unwrap_err();
/// assert!(matches!(err.kind(), RecoverErrorKind::NoGrowthAxis { .. }));
/// ```
pub type RecoverError = PathError<RecoverErrorKind>;

/// What went wrong opening or creating an appender ([`OpenError`]'s kind).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenErrorKind {
    /// An I/O error (the file is missing, a directory, ...).
    #[error("{source}")]
    Io {
        /// The underlying error.
        source: io::Error,
    },
    /// The file (or its directory, when creating) cannot be written: permissions or a
    /// read-only file system.
    #[error("cannot be opened for writing: {source}")]
    NotWritable {
        /// The underlying error.
        source: io::Error,
    },
    /// [`AppendOptions::create`](crate::AppendOptions::create) found a file at the path and
    /// [`AppendOptions::overwrite`](crate::AppendOptions::overwrite) is off.
    #[error("already exists (open it to append, or allow overwriting)")]
    Exists,
    /// Another appender, in this process or another, holds the file's lock.
    #[error("locked by another appender (in this or another process)")]
    Locked,
    /// The file is not an NPY file, or its header is refused.
    #[error("{source}")]
    Header {
        /// Why the header was refused.
        source: HeaderError,
    },
    /// Object arrays (`|O`) hold pickles, which cannot be appended to.
    #[error("object arrays (descr '|O') hold Python pickles and cannot be appended to")]
    Object,
    /// A 0-d array has no axis to grow along.
    #[error("a 0-d array (shape ()) has no growth axis to append along")]
    NoGrowthAxis,
    /// The data after the header is not what the header accounts for: a crashed appender left
    /// frames past the header's count, or the file was cut short.
    #[error(
        "the header accounts for {expected} bytes of data but the file holds {available}; recover it first (`npy_append::recover`, `npy recover`, or `array_files.npy.recover` in Python)"
    )]
    NeedsRecovery {
        /// Data bytes the header accounts for.
        expected: u64,
        /// Data bytes present.
        available: u64,
    },
    /// The header has no room to grow its shape in place (numpy < 1.24 wrote such headers), and
    /// rewriting it is turned off ([`AppendOptions::rewrite_header`](crate::AppendOptions::rewrite_header)).
    #[error(
        "the {header_len}-byte header has no room for a growing shape (written by numpy < 1.24?), and rewriting it is turned off"
    )]
    NoGrowthRoom {
        /// Bytes before the data.
        header_len: u64,
    },
    /// The existing file does not hold frames of the requested layout.
    #[error("holds {found}, but {expected} were asked for")]
    Mismatch {
        /// The requested layout, in words.
        expected: String,
        /// The file's layout, in words.
        found: String,
    },
    /// The requested frames' byte count overflows.
    #[error(
        "frames of shape {frame_shape:?} with itemsize {itemsize} overflow a 64-bit byte count"
    )]
    Overflow {
        /// The frame shape.
        frame_shape: Vec<u64>,
        /// Bytes per element.
        itemsize: usize,
    },
    /// The header cannot be written (a format version limit).
    #[error("{source}")]
    Write {
        /// Why.
        source: WriteError,
    },
    /// Recovering the file on open ([`AppendOptions::recover_on_open`](crate::AppendOptions::recover_on_open)) failed.
    #[error(transparent)]
    Recover(RecoverErrorKind),
}

/// What went wrong appending, flushing or finishing ([`AppendError`]'s kind).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppendErrorKind {
    /// The data is not whole frames of the array's dtype.
    #[error("{source}")]
    Frame {
        /// What is wrong with the frames.
        source: FrameError,
    },
    /// The disk or a quota is full, or the file reached the largest size allowed
    /// (`ENOSPC`, `EDQUOT`, `EFBIG`).
    #[error("no space to write the frames: {source}")]
    StorageFull {
        /// The underlying error.
        source: io::Error,
    },
    /// Another I/O error.
    #[error("{source}")]
    Io {
        /// The underlying error.
        source: io::Error,
    },
    /// The frame count or the file size would overflow 64 bits.
    #[error("{frames} more frames of {frame_len} bytes after {count} overflow a 64-bit size")]
    Overflow {
        /// Frames already in the array.
        count: u64,
        /// Frames appended.
        frames: u64,
        /// Bytes per frame.
        frame_len: u64,
    },
    /// A view's shape is not whole frames of the array.
    #[error("an array of shape {given:?} is not frames of shape {frame_shape:?} along axis {axis}")]
    Shape {
        /// The appended array's shape.
        given: Vec<u64>,
        /// The frame shape.
        frame_shape: Vec<u64>,
        /// The growth axis.
        axis: usize,
    },
    /// The grown header cannot be written (cannot happen for headers this crate opened; kept
    /// for completeness).
    #[error("{source}")]
    Header {
        /// Why.
        source: WriteError,
    },
}

/// What kept [`recover`](crate::recover()) from repairing a file ([`RecoverError`]'s kind).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecoverErrorKind {
    /// An I/O error.
    #[error("{source}")]
    Io {
        /// The underlying error.
        source: io::Error,
    },
    /// The file cannot be written (permissions, read-only file system).
    #[error("cannot be opened for writing: {source}")]
    NotWritable {
        /// The underlying error.
        source: io::Error,
    },
    /// Completing the torn last frame with zeros would add more than
    /// [`RecoverOptions::max_zero_fill`](crate::RecoverOptions::max_zero_fill) bytes: the
    /// header's frame size does not describe the file.
    #[error(
        "completing the torn last frame would add {fill} zero bytes, more than the limit of {limit}; the header's frame size looks wrong (the file is unchanged)"
    )]
    ZeroFillTooLarge {
        /// The zero bytes the fill would add.
        fill: u64,
        /// The limit.
        limit: u64,
    },
    /// An appender holds the file's lock: recovering under it would race its appends.
    #[error(
        "locked by an appender (in this or another process); recover it after the appender is done"
    )]
    Locked,
    /// The file is not an NPY file, or its header is refused.
    #[error("{source}")]
    Header {
        /// Why the header was refused.
        source: HeaderError,
    },
    /// Object arrays hold a pickle whose length says nothing about frames.
    #[error("object arrays (descr '|O') hold Python pickles; there are no frames to recover")]
    Object,
    /// A 0-d array whose data is not exactly one element: there is no axis to adopt frames on.
    #[error(
        "a 0-d array (shape ()) with {available} bytes of data instead of {expected}: no growth axis to adopt frames on"
    )]
    NoGrowthAxis {
        /// Bytes one element needs.
        expected: u64,
        /// Data bytes present.
        available: u64,
    },
    /// Frames of zero bytes (a zero-length dimension or itemsize): the bytes past the header
    /// cannot be frames, and their count cannot be inferred.
    #[error(
        "frames of this array are 0 bytes long, so the {trailing} bytes past the header cannot be counted as frames"
    )]
    ZeroLengthFrames {
        /// Bytes past the header's data.
        trailing: u64,
    },
    /// The adopted count does not fit the header in place and rewriting it is turned off.
    #[error(
        "the {header_len}-byte header has no room for the recovered shape, and rewriting it is turned off"
    )]
    NoGrowthRoom {
        /// Bytes before the data.
        header_len: u64,
    },
    /// The header cannot be written (a format version limit).
    #[error("{source}")]
    Write {
        /// Why.
        source: WriteError,
    },
}

/// `ENOSPC`, `EDQUOT`, `EFBIG`.
pub(crate) fn is_storage_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge
    )
}

fn is_not_writable(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
    )
}

/// The error for an I/O failure opening `path`: a file that cannot be written is
/// `NotWritable`, anything else `Io`.
pub(crate) fn open_io(path: &Path, source: io::Error) -> OpenError {
    let kind = if is_not_writable(&source) {
        OpenErrorKind::NotWritable { source }
    } else {
        OpenErrorKind::Io { source }
    };
    OpenError::new(path, kind)
}

/// The error for an I/O failure appending to `path`: a full disk, quota or size limit is
/// `StorageFull`, anything else `Io`.
pub(crate) fn append_io(path: &Path, source: io::Error) -> AppendError {
    let kind = if is_storage_full(&source) {
        AppendErrorKind::StorageFull { source }
    } else {
        AppendErrorKind::Io { source }
    };
    AppendError::new(path, kind)
}

/// The error for an I/O failure recovering `path` (as [`open_io`]).
pub(crate) fn recover_io(path: &Path, source: io::Error) -> RecoverError {
    let kind = if is_not_writable(&source) {
        RecoverErrorKind::NotWritable { source }
    } else {
        RecoverErrorKind::Io { source }
    };
    RecoverError::new(path, kind)
}

impl AppendErrorKind {
    /// Whether the error is a full disk, quota or file-size limit.
    ///
    /// ```
    /// use npy_append::AppendErrorKind;
    /// let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
    /// assert!(AppendErrorKind::StorageFull { source: full }.is_storage_full());
    /// ```
    pub fn is_storage_full(&self) -> bool {
        matches!(self, AppendErrorKind::StorageFull { .. })
    }
}
