//! Error types, one per family of operations: opening or creating an appender
//! ([`OpenError`]), appending, flushing and finishing ([`AppendError`]), and recovering a file
//! ([`RecoverError`]). Every message starts with the file it is about.

use std::io;
use std::path::{Path, PathBuf};

use npy_format::{FrameError, HeaderError, WriteError};

/// Why an appender could not be opened or created.
///
/// ```
/// use npy_append::{NpyAppender, OpenError};
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("notes.txt");
/// std::fs::write(&path, "not an array").unwrap();
/// let err = NpyAppender::open(&path).unwrap_err();
/// assert!(matches!(err, OpenError::Header { .. }));
/// assert!(err.to_string().starts_with(&path.display().to_string()));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// An I/O error (the file is missing, a directory, ...).
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file (or its directory, when creating) cannot be written: permissions or a
    /// read-only file system.
    #[error("{}: cannot be opened for writing: {source}", .path.display())]
    NotWritable {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// [`AppendOptions::create`](crate::AppendOptions::create) found a file at the path and
    /// [`AppendOptions::overwrite`](crate::AppendOptions::overwrite) is off.
    #[error("{}: already exists (open it to append, or allow overwriting)", .path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// Another appender, in this process or another, holds the file's lock.
    #[error("{}: locked by another appender (in this or another process)", .path.display())]
    Locked {
        /// The file.
        path: PathBuf,
    },
    /// The file is not an NPY file, or its header is refused.
    #[error("{}: {source}", .path.display())]
    Header {
        /// The file.
        path: PathBuf,
        /// Why the header was refused.
        source: HeaderError,
    },
    /// Object arrays (`|O`) hold pickles, which cannot be appended to.
    #[error("{}: object arrays (descr '|O') hold Python pickles and cannot be appended to", .path.display())]
    Object {
        /// The file.
        path: PathBuf,
    },
    /// A 0-d array has no axis to grow along.
    #[error("{}: a 0-d array (shape ()) has no growth axis to append along", .path.display())]
    NoGrowthAxis {
        /// The file.
        path: PathBuf,
    },
    /// The data after the header is not what the header accounts for: a crashed appender left
    /// frames past the header's count, or the file was cut short.
    #[error("{}: the header accounts for {expected} bytes of data but the file holds {available}; run npy_append::recover (or `npy recover`) first", .path.display())]
    NeedsRecovery {
        /// The file.
        path: PathBuf,
        /// Data bytes the header accounts for.
        expected: u64,
        /// Data bytes present.
        available: u64,
    },
    /// The header has no room to grow its shape in place (numpy < 1.24 wrote such headers), and
    /// rewriting it is turned off ([`AppendOptions::rewrite_header`](crate::AppendOptions::rewrite_header)).
    #[error("{}: the {header_len}-byte header has no room for a growing shape (written by numpy < 1.24?), and rewriting it is turned off", .path.display())]
    NoGrowthRoom {
        /// The file.
        path: PathBuf,
        /// Bytes before the data.
        header_len: u64,
    },
    /// The existing file does not hold frames of the requested layout.
    #[error("{}: holds {found}, but {expected} were asked for", .path.display())]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// The requested layout, in words.
        expected: String,
        /// The file's layout, in words.
        found: String,
    },
    /// The requested frames' byte count overflows.
    #[error("{}: frames of shape {frame_shape:?} with itemsize {itemsize} overflow a 64-bit byte count", .path.display())]
    Overflow {
        /// The file.
        path: PathBuf,
        /// The frame shape.
        frame_shape: Vec<u64>,
        /// Bytes per element.
        itemsize: usize,
    },
    /// The header cannot be written (a format version limit).
    #[error("{}: {source}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: WriteError,
    },
    /// Recovering the file on open ([`AppendOptions::recover_on_open`](crate::AppendOptions::recover_on_open)) failed.
    #[error(transparent)]
    Recover(Box<RecoverError>),
}

impl OpenError {
    /// The file the error is about.
    ///
    /// ```
    /// let err = npy_append::NpyAppender::open("/no/such/dir/a.npy").unwrap_err();
    /// assert_eq!(err.path(), std::path::Path::new("/no/such/dir/a.npy"));
    /// ```
    pub fn path(&self) -> &Path {
        match self {
            OpenError::Io { path, .. }
            | OpenError::NotWritable { path, .. }
            | OpenError::Exists { path }
            | OpenError::Locked { path }
            | OpenError::Header { path, .. }
            | OpenError::Object { path }
            | OpenError::NoGrowthAxis { path }
            | OpenError::NeedsRecovery { path, .. }
            | OpenError::NoGrowthRoom { path, .. }
            | OpenError::Mismatch { path, .. }
            | OpenError::Overflow { path, .. }
            | OpenError::Write { path, .. } => path,
            OpenError::Recover(e) => e.path(),
        }
    }

    pub(crate) fn io(path: &Path, source: io::Error) -> OpenError {
        if is_not_writable(&source) {
            OpenError::NotWritable {
                path: path.to_path_buf(),
                source,
            }
        } else {
            OpenError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }
}

/// Why an append, flush, sync or finish failed.
///
/// A failed append appends nothing: the frames of that call are not in the array, and the file
/// still loads with every frame flushed before. Frames buffered by earlier calls stay buffered,
/// so a later [`flush`](crate::NpyAppender::flush) can retry (after freeing disk space, say).
///
/// ```
/// use npy_append::{AppendError, FrameLayout, NpyAppender};
/// # let dir = tempfile::tempdir().unwrap();
/// let mut out = NpyAppender::create(dir.path().join("a.npy"), &FrameLayout::of::<f64>(&[2])).unwrap();
/// let err = out.append(&[1.0f64, 2.0, 3.0]).unwrap_err(); // one and a half frames
/// assert!(matches!(err, AppendError::Frame { .. }));
/// let err = out.append(&[1i64, 2]).unwrap_err(); // never a silent cast
/// assert!(err.to_string().contains("dtype mismatch"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The data is not whole frames of the array's dtype.
    #[error("{}: {source}", .path.display())]
    Frame {
        /// The file.
        path: PathBuf,
        /// What is wrong with the frames.
        source: FrameError,
    },
    /// The disk or a quota is full, or the file reached the largest size allowed
    /// (`ENOSPC`, `EDQUOT`, `EFBIG`).
    #[error("{}: no space to write the frames: {source}", .path.display())]
    StorageFull {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Another I/O error.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The frame count or the file size would overflow 64 bits.
    #[error("{}: {frames} more frames of {frame_len} bytes after {count} overflow a 64-bit size", .path.display())]
    Overflow {
        /// The file.
        path: PathBuf,
        /// Frames already in the array.
        count: u64,
        /// Frames appended.
        frames: u64,
        /// Bytes per frame.
        frame_len: u64,
    },
    /// A view's shape is not whole frames of the array.
    #[error("{}: an array of shape {given:?} is not frames of shape {frame_shape:?} along axis {axis}", .path.display())]
    Shape {
        /// The file.
        path: PathBuf,
        /// The appended array's shape.
        given: Vec<u64>,
        /// The frame shape.
        frame_shape: Vec<u64>,
        /// The growth axis.
        axis: usize,
    },
    /// The grown header cannot be written (cannot happen for headers this crate opened; kept
    /// for completeness).
    #[error("{}: {source}", .path.display())]
    Header {
        /// The file.
        path: PathBuf,
        /// Why.
        source: WriteError,
    },
}


impl AppendError {
    /// The file the error is about.
    ///
    /// ```
    /// use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("a.npy");
    /// let mut out = NpyAppender::create(&path, &FrameLayout::of::<u8>(&[3])).unwrap();
    /// assert_eq!(out.append(&[1u8]).unwrap_err().path(), path);
    /// ```
    pub fn path(&self) -> &Path {
        match self {
            AppendError::Frame { path, .. }
            | AppendError::StorageFull { path, .. }
            | AppendError::Io { path, .. }
            | AppendError::Overflow { path, .. }
            | AppendError::Shape { path, .. }
            | AppendError::Header { path, .. } => path,
        }
    }

    /// Whether the error is a full disk, quota or file-size limit.
    ///
    /// ```
    /// use npy_append::AppendError;
    /// let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
    /// let err = AppendError::StorageFull { path: "a.npy".into(), source: full };
    /// assert!(err.is_storage_full());
    /// ```
    pub fn is_storage_full(&self) -> bool {
        matches!(self, AppendError::StorageFull { .. })
    }

    pub(crate) fn io(path: &Path, source: io::Error) -> AppendError {
        if is_storage_full(&source) {
            AppendError::StorageFull {
                path: path.to_path_buf(),
                source,
            }
        } else {
            AppendError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }
}

/// Why [`recover`](crate::recover()) could not repair a file.
///
/// ```
/// use npy_append::{recover, RecoverError, RecoverOptions};
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("scalar.npy");
/// npy_format::write_file(&path, &[7u32], &[]).unwrap(); // a 0-d array
/// std::fs::OpenOptions::new().append(true).open(&path).unwrap().set_len(200).unwrap();
/// let err = recover(&path, &RecoverOptions::default()).unwrap_err();
/// assert!(matches!(err, RecoverError::NoGrowthAxis { .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecoverError {
    /// An I/O error.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file cannot be written (permissions, read-only file system).
    #[error("{}: cannot be opened for writing: {source}", .path.display())]
    NotWritable {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Completing the torn last frame with zeros would add more than
    /// [`RecoverOptions::max_zero_fill`](crate::RecoverOptions::max_zero_fill) bytes: the
    /// header's frame size does not describe the file.
    #[error("{}: completing the torn last frame would add {fill} zero bytes, more than the limit of {limit}; the header's frame size looks wrong (the file is unchanged)", .path.display())]
    ZeroFillTooLarge {
        /// The file.
        path: PathBuf,
        /// The zero bytes the fill would add.
        fill: u64,
        /// The limit.
        limit: u64,
    },
    /// An appender holds the file's lock: recovering under it would race its appends.
    #[error("{}: locked by an appender (in this or another process); recover it after the appender is done", .path.display())]
    Locked {
        /// The file.
        path: PathBuf,
    },
    /// The file is not an NPY file, or its header is refused.
    #[error("{}: {source}", .path.display())]
    Header {
        /// The file.
        path: PathBuf,
        /// Why the header was refused.
        source: HeaderError,
    },
    /// Object arrays hold a pickle whose length says nothing about frames.
    #[error("{}: object arrays (descr '|O') hold Python pickles; there are no frames to recover", .path.display())]
    Object {
        /// The file.
        path: PathBuf,
    },
    /// A 0-d array whose data is not exactly one element: there is no axis to adopt frames on.
    #[error("{}: a 0-d array (shape ()) with {available} bytes of data instead of {expected}: no growth axis to adopt frames on", .path.display())]
    NoGrowthAxis {
        /// The file.
        path: PathBuf,
        /// Bytes one element needs.
        expected: u64,
        /// Data bytes present.
        available: u64,
    },
    /// Frames of zero bytes (a zero-length dimension or itemsize): the bytes past the header
    /// cannot be frames, and their count cannot be inferred.
    #[error("{}: frames of this array are 0 bytes long, so the {trailing} bytes past the header cannot be counted as frames", .path.display())]
    ZeroLengthFrames {
        /// The file.
        path: PathBuf,
        /// Bytes past the header's data.
        trailing: u64,
    },
    /// The adopted count does not fit the header in place and rewriting it is turned off.
    #[error("{}: the {header_len}-byte header has no room for the recovered shape, and rewriting it is turned off", .path.display())]
    NoGrowthRoom {
        /// The file.
        path: PathBuf,
        /// Bytes before the data.
        header_len: u64,
    },
    /// The header cannot be written (a format version limit).
    #[error("{}: {source}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: WriteError,
    },
}

impl RecoverError {
    /// The file the error is about.
    ///
    /// ```
    /// let err = npy_append::recover("/no/such.npy", &Default::default()).unwrap_err();
    /// assert_eq!(err.path(), std::path::Path::new("/no/such.npy"));
    /// ```
    pub fn path(&self) -> &Path {
        match self {
            RecoverError::Io { path, .. }
            | RecoverError::NotWritable { path, .. }
            | RecoverError::Locked { path }
            | RecoverError::ZeroFillTooLarge { path, .. }
            | RecoverError::Header { path, .. }
            | RecoverError::Object { path }
            | RecoverError::NoGrowthAxis { path, .. }
            | RecoverError::ZeroLengthFrames { path, .. }
            | RecoverError::NoGrowthRoom { path, .. }
            | RecoverError::Write { path, .. } => path,
        }
    }

    pub(crate) fn io(path: &Path, source: io::Error) -> RecoverError {
        if is_not_writable(&source) {
            RecoverError::NotWritable {
                path: path.to_path_buf(),
                source,
            }
        } else {
            RecoverError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }
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
