//! [`AppendOptions`]: how an [`NpyAppender`] opens or creates its file, buffers, and locks.

use crate::error::OpenErrorKind;
use std::path::Path;

pub use array_files_fs::LockMode;
use npy_format::ReadOptions;

use crate::appender::{self, NpyAppender};
use crate::error::{AppendError, OpenError};
use crate::layout::FrameLayout;

/// How much an appender buffers before writing to the file.
///
/// Small appends are copied into the buffer, and a full buffer is written in one call. Large
/// appends are written directly, without a copy (after any frames buffered before them): those
/// of at least an eighth of the buffer, or 64 KiB if that is more, and any at least as large as
/// the buffer. (From about 64 KiB on, copying costs more than the write calls it saves.)
///
/// ```
/// use npy_append::{BufferSize, FrameLayout, NpyAppender};
/// # let dir = tempfile::tempdir().unwrap();
/// let mut out = NpyAppender::options()
///     .buffer(BufferSize::Frames(100))
///     .create(dir.path().join("a.npy"), &FrameLayout::of::<u32>(&[4]))
///     .unwrap();
/// out.append(&[0u32; 4 * 99]).unwrap();
/// assert_eq!(out.buffered_bytes(), 99 * 16);
/// assert_eq!(BufferSize::default(), BufferSize::Bytes(1 << 20));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferSize {
    /// A buffer of this many bytes (0: every append is written at once).
    Bytes(usize),
    /// A buffer of this many frames.
    Frames(u64),
}

impl Default for BufferSize {
    fn default() -> Self {
        BufferSize::Bytes(1 << 20)
    }
}

impl BufferSize {
    /// The smallest append written directly rather than copied into a buffer of `capacity`
    /// bytes.
    pub(crate) fn direct_bytes(capacity: usize) -> usize {
        (capacity / 8).max(64 << 10).min(capacity)
    }

    /// The buffer's size in bytes for frames of `frame_len` bytes.
    pub(crate) fn bytes(self, frame_len: u64) -> usize {
        match self {
            BufferSize::Bytes(n) => n,
            BufferSize::Frames(n) => {
                usize::try_from(n.saturating_mul(frame_len)).unwrap_or(usize::MAX)
            }
        }
    }
}

/// The default for [`AppendOptions::on_drop_error`]: one line on stderr.
fn print_drop_error(error: &AppendError) {
    // Not `eprintln!`, which panics when stderr cannot be written (a closed pipe, a log file at
    // its size limit): a drop must not panic for a warning.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "npy-append: error flushing an appender that was dropped without finish(): {error}"
    );
}

/// Options for opening or creating an [`NpyAppender`].
///
/// ```
/// use npy_append::{AppendOptions, BufferSize, FrameLayout, LockMode};
/// # let dir = tempfile::tempdir().unwrap();
/// let mut out = AppendOptions::new()
///     .buffer(BufferSize::Bytes(64 << 10))
///     .lock(LockMode::Wait)
///     .open_or_create(dir.path().join("log.npy"), &FrameLayout::of::<f32>(&[8]))
///     .unwrap();
/// out.append(&[0.0f32; 8]).unwrap();
/// assert_eq!(out.finish().unwrap().shape, vec![1, 8]);
/// ```
#[derive(Debug, Clone)]
pub struct AppendOptions {
    pub(crate) buffer: BufferSize,
    pub(crate) lock: LockMode,
    pub(crate) rewrite_header: bool,
    pub(crate) header_on_spill: bool,
    pub(crate) recover_on_open: bool,
    pub(crate) overwrite: bool,
    pub(crate) read: ReadOptions,
    pub(crate) on_drop_error: fn(&AppendError),
    pub(crate) sync: bool,
}

impl Default for AppendOptions {
    fn default() -> Self {
        AppendOptions {
            buffer: BufferSize::default(),
            lock: LockMode::default(),
            rewrite_header: true,
            header_on_spill: true,
            recover_on_open: false,
            overwrite: false,
            read: ReadOptions::default(),
            on_drop_error: print_drop_error,
            sync: false,
        }
    }
}

impl AppendOptions {
    /// The defaults: a 1 MiB buffer, fail fast on a locked file, rewrite headers without growth
    /// room, update the header whenever the buffer is written, no recovery on open, never
    /// overwrite, numpy's header size limit, and errors of a dropped appender printed on stderr.
    ///
    /// ```
    /// use npy_append::{AppendOptions, FrameLayout, OpenErrorKind, ResultKind};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// let layout = FrameLayout::of::<f32>(&[3]);
    /// let first = AppendOptions::new().create(&path, &layout).unwrap();
    /// // Never overwrite, and fail fast on a file another appender holds:
    /// let again = AppendOptions::new().create(&path, &layout);
    /// assert!(matches!(again.err_kind(), Some(OpenErrorKind::Exists { .. })));
    /// assert!(matches!(AppendOptions::new().open(&path).err_kind(), Some(OpenErrorKind::Locked { .. })));
    /// drop(first);
    /// ```
    pub fn new() -> AppendOptions {
        AppendOptions::default()
    }

    /// The buffer size (default 1 MiB).
    ///
    /// ```
    /// use npy_append::{BufferSize, FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// // Unbuffered: every append reaches the file, and its header, at once.
    /// let mut out = NpyAppender::options().buffer(BufferSize::Bytes(0))
    ///     .create(&path, &FrameLayout::of::<u8>(&[2])).unwrap();
    /// out.append(&[1u8, 2]).unwrap();
    /// assert_eq!(npy_format::NpyFile::open(&path).unwrap().header().shape, vec![1, 2]);
    /// ```
    pub fn buffer(mut self, buffer: BufferSize) -> AppendOptions {
        self.buffer = buffer;
        self
    }

    /// What to do when another appender holds the file's lock (default: fail fast with
    /// [`OpenErrorKind::Locked`]).
    ///
    /// The lock is an exclusive advisory lock on the open file (`flock` on Unix, `LockFileEx`
    /// on Windows) held for the appender's whole life: two appenders on one file, in one
    /// process or two, never interleave. Readers take no lock. [`LockMode`] is the one lock
    /// vocabulary of the workspace (npz-stream's and varpack's writers take it too).
    ///
    /// ```
    /// use std::time::Duration;
    /// use npy_append::{FrameLayout, LockMode, NpyAppender, OpenErrorKind, ResultKind};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// let first = NpyAppender::create(&path, &FrameLayout::of::<u8>(&[1])).unwrap();
    /// let second = NpyAppender::options().lock(LockMode::FailFast).open(&path);
    /// assert!(matches!(second.err_kind(), Some(OpenErrorKind::Locked { .. })));
    /// let patient = NpyAppender::options().lock(LockMode::Timeout(Duration::from_millis(10))).open(&path);
    /// assert!(matches!(patient.err_kind(), Some(OpenErrorKind::Locked { .. })));
    /// drop(first);
    /// assert!(NpyAppender::open(&path).is_ok());
    /// ```
    pub fn lock(mut self, lock: LockMode) -> AppendOptions {
        self.lock = lock;
        self
    }

    /// Whether a header without room to grow its shape in place (numpy < 1.24 wrote those) may
    /// be rewritten with room, moving the data: the file is copied to a temporary file beside it
    /// with the new header, synced, and renamed over the original, so a crash leaves either
    /// file whole. [`NpyAppender::header_rewrite`] says when it happened. Default on; off, such
    /// files give [`OpenErrorKind::NoGrowthRoom`].
    ///
    /// ```
    /// use npy_append::{NpyAppender, OpenErrorKind, ResultKind};
    /// use npy_format::{DType, Header, Version};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("old.npy");
    /// // A header padded only to a 16-byte boundary, as numpy < 1.14 wrote it: no growth room.
    /// let header = Header::new(DType::parse("<u1").unwrap(), false, vec![3]);
    /// let mut bytes = header.to_bytes_in_place(Version::V1, 80).unwrap();
    /// bytes.extend_from_slice(&[1, 2, 3]);
    /// std::fs::write(&path, &bytes).unwrap();
    ///
    /// let refused = NpyAppender::options().rewrite_header(false).open(&path);
    /// assert!(matches!(refused.err_kind(), Some(OpenErrorKind::NoGrowthRoom { .. })));
    /// let out = NpyAppender::open(&path).unwrap();
    /// assert_eq!(out.header_rewrite().unwrap().new_data_offset, 128);
    /// ```
    pub fn rewrite_header(mut self, allow: bool) -> AppendOptions {
        self.rewrite_header = allow;
        self
    }

    /// Whether [`finish`](NpyAppender::finish) puts the data and header on stable storage
    /// (fsync) before it returns (default off, as today and as `np.save`: appends reach the
    /// page cache, and [`sync`](NpyAppender::sync) syncs when asked). On, a finished file
    /// survives a power loss. Either way a file this appender creates (or a header it moves to
    /// make growth room) is put in place atomically and synced, once.
    ///
    /// ```
    /// use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut out = NpyAppender::options()
    ///     .sync(true)
    ///     .create(dir.path().join("a.npy"), &FrameLayout::of::<u8>(&[2])).unwrap();
    /// out.append(&[1u8, 2]).unwrap();
    /// out.finish().unwrap(); // flushed and fsynced
    /// ```
    pub fn sync(mut self, yes: bool) -> AppendOptions {
        self.sync = yes;
        self
    }

    /// Whether the header is updated as frames reach the file (default on): every time the
    /// buffer is written, and after appends written directly once the frames it does not count
    /// reach the buffer's size. Readers then see frames at most a buffer's worth after their
    /// bytes are in the file (at once with [`BufferSize::Bytes(0)`](BufferSize::Bytes)). Off,
    /// only [`flush`], [`sync`] and [`finish`] update it, and [`abandon`] can undo everything
    /// since the last of them.
    ///
    /// [`flush`]: NpyAppender::flush
    /// [`sync`]: NpyAppender::sync
    /// [`finish`]: NpyAppender::finish
    /// [`abandon`]: NpyAppender::abandon
    ///
    /// ```
    /// use npy_append::{BufferSize, FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// let mut out = NpyAppender::options()
    ///     .buffer(BufferSize::Bytes(0))
    ///     .update_header_on_spill(false)
    ///     .create(&path, &FrameLayout::of::<u8>(&[2])).unwrap();
    /// out.append(&[1u8, 2]).unwrap();
    /// assert_eq!(out.flushed_frames(), 0); // written, not yet in the header
    /// out.flush().unwrap();
    /// assert_eq!(out.flushed_frames(), 1);
    /// ```
    pub fn update_header_on_spill(mut self, update: bool) -> AppendOptions {
        self.header_on_spill = update;
        self
    }

    /// Whether opening a file whose data does not match its header (a crashed appender's, or a
    /// cut-short file) runs [`recover`](crate::recover()) first, truncating a torn frame
    /// (default off: such files give [`OpenErrorKind::NeedsRecovery`]).
    ///
    /// ```
    /// use npy_append::{FrameLayout, NpyAppender, OpenErrorKind, ResultKind};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u16, 2], &[1, 2]).unwrap();
    /// // Two more frames and half of a third, past the header's count.
    /// let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    /// std::io::Write::write_all(&mut f, &[0; 10]).unwrap();
    /// assert!(matches!(NpyAppender::open(&path).err_kind(), Some(OpenErrorKind::NeedsRecovery { .. })));
    /// let out = NpyAppender::options().recover_on_open(true).open(&path).unwrap();
    /// assert_eq!(out.frame_count(), 3);
    /// ```
    pub fn recover_on_open(mut self, recover: bool) -> AppendOptions {
        self.recover_on_open = recover;
        self
    }

    /// Whether [`create`](Self::create) replaces an existing file (default off: it fails with
    /// [`OpenErrorKind::Exists`]). The replacement appears atomically, once the old file's lock is
    /// free.
    ///
    /// ```
    /// use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u8, 2], &[2]).unwrap();
    /// let out = NpyAppender::options().overwrite(true)
    ///     .create(&path, &FrameLayout::of::<f32>(&[3])).unwrap();
    /// assert_eq!(out.header().shape, vec![0, 3]);
    /// ```
    pub fn overwrite(mut self, overwrite: bool) -> AppendOptions {
        self.overwrite = overwrite;
        self
    }

    /// The longest header accepted when opening, in characters (numpy's default: 10000).
    ///
    /// ```
    /// use npy_append::{AppendOptions, OpenErrorKind, ResultKind};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u8, 2], &[2]).unwrap(); // a 118-character header
    /// let strict = AppendOptions::new().max_header_size(64).open(&path);
    /// assert!(matches!(strict.err_kind(), Some(OpenErrorKind::Header { .. })));
    /// assert!(AppendOptions::new().open(&path).is_ok());
    /// ```
    pub fn max_header_size(mut self, max: usize) -> AppendOptions {
        self.read.max_header_size = max;
        self
    }

    /// What to do with an error when an appender dropped without [`NpyAppender::finish`] fails
    /// to flush (default: print one line on stderr). `Drop` cannot return errors; call
    /// `finish` to get them as a `Result`.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use npy_append::{AppendError, AppendOptions, FrameLayout};
    /// static ERRORS: AtomicUsize = AtomicUsize::new(0);
    /// fn count(_: &AppendError) {
    ///     ERRORS.fetch_add(1, Ordering::Relaxed);
    /// }
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// let layout = FrameLayout::of::<u8>(&[]);
    /// let mut out = AppendOptions::new().on_drop_error(count).create(&path, &layout).unwrap();
    /// out.append(&[1u8, 2, 3]).unwrap();
    /// drop(out); // flushes; had that failed, `count` would have been called
    /// assert_eq!(ERRORS.load(Ordering::Relaxed), 0);
    /// assert_eq!(npy_format::read_file::<u8>(&path).unwrap().data, [1, 2, 3]);
    /// ```
    pub fn on_drop_error(mut self, handler: fn(&AppendError)) -> AppendOptions {
        self.on_drop_error = handler;
        self
    }

    /// Creates a new file for frames of `layout` (shape `(0, ...)`, or `(..., 0)` in Fortran
    /// order), with the header `np.save` writes for the array it will hold. The file appears
    /// complete and locked.
    ///
    /// # Errors
    /// [`OpenErrorKind::Exists`] if a file is there (unless [`overwrite`](Self::overwrite));
    /// [`OpenErrorKind::Object`] for object dtypes; [`OpenErrorKind::Overflow`]; I/O errors.
    ///
    /// ```
    /// use npy_append::{AppendOptions, FrameLayout, OpenErrorKind, ResultKind};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// let layout = FrameLayout::of::<i64>(&[2]);
    /// let out = AppendOptions::new().create(&path, &layout).unwrap();
    /// drop(out);
    /// assert!(matches!(AppendOptions::new().create(&path, &layout).err_kind(), Some(OpenErrorKind::Exists { .. })));
    /// ```
    pub fn create(
        &self,
        path: impl AsRef<Path>,
        layout: &FrameLayout,
    ) -> Result<NpyAppender, OpenError> {
        appender::create(path.as_ref(), layout, self)
    }

    /// Opens an existing file to append to, whatever wrote it (numpy, NpyAppendArray, this
    /// crate), in any format version.
    ///
    /// # Errors
    /// [`OpenError`]: not an NPY file, object dtype, 0-d array, locked, data not matching the
    /// header ([`OpenErrorKind::NeedsRecovery`]), no growth room with rewriting off, I/O.
    ///
    /// ```
    /// use npy_append::{AppendOptions, OpenErrorKind, ResultKind};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1.5f64, 2.5], &[2]).unwrap();
    /// let mut out = AppendOptions::new().open(&path).unwrap();
    /// out.append(&[3.5f64]).unwrap();
    /// assert_eq!(out.finish().unwrap().shape, vec![3]);
    /// let missing = AppendOptions::new().open(dir.path().join("missing.npy"));
    /// assert!(matches!(missing.err_kind(), Some(OpenErrorKind::Io { .. })));
    /// ```
    pub fn open(&self, path: impl AsRef<Path>) -> Result<NpyAppender, OpenError> {
        appender::open(path.as_ref(), None, self)
    }

    /// Opens the file if it exists, checking that it holds frames of `layout`, or creates it.
    ///
    /// # Errors
    /// As [`open`](Self::open) and [`create`](Self::create); [`OpenErrorKind::Mismatch`] if the
    /// file holds another layout.
    ///
    /// ```
    /// use npy_append::{AppendOptions, FrameLayout, OpenErrorKind};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// let layout = FrameLayout::of::<u16>(&[2]);
    /// for _ in 0..3 {
    ///     let mut out = AppendOptions::new().open_or_create(&path, &layout).unwrap();
    ///     out.append(&[1u16, 2]).unwrap();
    ///     out.finish().unwrap();
    /// }
    /// assert_eq!(npy_format::NpyFile::open(&path).unwrap().header().shape, vec![3, 2]);
    /// let other = FrameLayout::of::<u16>(&[3]);
    /// let err = AppendOptions::new().open_or_create(&path, &other).unwrap_err();
    /// assert!(matches!(err.kind(), OpenErrorKind::Mismatch { .. }));
    /// ```
    pub fn open_or_create(
        &self,
        path: impl AsRef<Path>,
        layout: &FrameLayout,
    ) -> Result<NpyAppender, OpenError> {
        let path = path.as_ref();
        for _ in 0..4 {
            match appender::open(path, Some(layout), self) {
                Err(e) if matches!(e.kind(), OpenErrorKind::Io { source } if source.kind() == std::io::ErrorKind::NotFound) =>
                    {}
                other => return other,
            }
            let create = AppendOptions {
                overwrite: false,
                ..self.clone()
            };
            match appender::create(path, layout, &create) {
                Err(e) if matches!(e.kind(), OpenErrorKind::Exists) => {} // created by someone else meanwhile
                other => return other,
            }
        }
        Err(OpenError::new(
            path.to_path_buf(),
            OpenErrorKind::Io {
                source: std::io::Error::other("the file kept appearing and disappearing"),
            },
        ))
    }
}
