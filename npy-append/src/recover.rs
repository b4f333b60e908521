//! [`recover()`]: repair a file whose data does not match its header.

use crate::error::RecoverErrorKind;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use npy_format::{ReadOptions, WriteError};

use crate::contents::Contents;
use crate::error::RecoverError;
use crate::fsutil::{self, LockFail};
use crate::options::LockMode;

/// The least zero fill [`RecoverOptions::max_zero_fill`] allows by default: 64 MiB.
pub const DEFAULT_MAX_ZERO_FILL: u64 = 64 << 20;

/// Options for [`recover()`], as npy-append-array's `recover(filename, zerofill_incomplete)`
/// plus a dry run.
///
/// ```
/// use npy_append::{RecoverOptions, recover};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npy");
/// npy_format::write_file(&path, &[1u16, 2], &[1, 2]).unwrap();
/// let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
/// std::io::Write::write_all(&mut f, &[3, 0, 4]).unwrap(); // a frame and a half past the header
/// let plan = recover(&path, &RecoverOptions::default().zero_fill(true).dry_run(true)).unwrap();
/// assert_eq!((plan.frames_after, plan.bytes_zero_filled), (2, 1));
/// assert_eq!(npy_format::NpyFile::open(&path).unwrap().header().shape, vec![1, 2]); // untouched
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RecoverOptions {
    zero_fill: bool,
    max_zero_fill: Option<u64>,
    dry_run: bool,
    lock: LockMode,
    rewrite_header: bool,
    read: ReadOptions,
}

impl Default for RecoverOptions {
    fn default() -> Self {
        RecoverOptions {
            zero_fill: false,
            max_zero_fill: None,
            dry_run: false,
            lock: LockMode::FailFast,
            rewrite_header: true,
            read: ReadOptions::default(),
        }
    }
}

impl RecoverOptions {
    /// The defaults (== `Default::default()`): truncate a torn frame, no dry run, fail fast on a
    /// held lock, header rewrites allowed, numpy's header limit.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u32, 2], &[2]).unwrap();
    /// let report = npy_append::RecoverOptions::new().recover(&path).unwrap();
    /// assert!(!report.changed());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Recovers the file at `path` with these options: [`recover`]`(path, self)`.
    ///
    /// # Errors
    /// As [`recover`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// # use std::io::Write;
    /// npy_format::write_file(&path, &[1u16, 2], &[2]).unwrap();
    /// std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(&[3, 0]).unwrap();
    /// let report = npy_append::RecoverOptions::new().dry_run(true).recover(&path).unwrap();
    /// assert_eq!((report.frames_before, report.frames_after), (2, 3));
    /// assert_eq!(npy_format::NpyFile::open(&path).unwrap().header().shape, vec![2]);
    /// ```
    pub fn recover(&self, path: impl AsRef<Path>) -> Result<RecoverReport, RecoverError> {
        recover(path, self)
    }

    /// Complete a torn last frame with zero bytes instead of truncating it (default off).
    ///
    /// ```
    /// use npy_append::{RecoverOptions, recover};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u16, 2], &[1, 2]).unwrap();
    /// let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    /// std::io::Write::write_all(&mut f, &[3, 0]).unwrap(); // half a frame
    /// let report = recover(&path, &RecoverOptions::default().zero_fill(true)).unwrap();
    /// assert_eq!((report.frames_after, report.bytes_zero_filled), (2, 2));
    /// assert_eq!(npy_format::read_file::<u16>(&path).unwrap().data, vec![1, 2, 3, 0]);
    /// ```
    pub fn zero_fill(mut self, zero_fill: bool) -> RecoverOptions {
        self.zero_fill = zero_fill;
        self
    }

    /// The most zero bytes [`zero_fill`](Self::zero_fill) may add. The default,
    /// [`DEFAULT_MAX_ZERO_FILL`] or the data the file already holds if that is more, completes
    /// any frame that a crash tore; a fill beyond it means the header's frame size does not
    /// describe the file (a corrupt or hostile header claiming terabyte frames would otherwise
    /// turn a small file into a sparse file of that size), and recovery fails with
    /// [`RecoverErrorKind::ZeroFillTooLarge`], the file untouched.
    ///
    /// ```
    /// use npy_append::{RecoverErrorKind, RecoverOptions, recover};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[0u8; 0], &[0, 1000]).unwrap();
    /// let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    /// std::io::Write::write_all(&mut f, &[7; 10]).unwrap(); // 10 bytes of a 1000-byte frame
    /// let strict = RecoverOptions::default().zero_fill(true).max_zero_fill(100);
    /// let err = recover(&path, &strict).unwrap_err();
    /// assert!(matches!(err.kind(), RecoverErrorKind::ZeroFillTooLarge { fill: 990, limit: 100, .. }));
    /// let report = recover(&path, &RecoverOptions::default().zero_fill(true)).unwrap();
    /// assert_eq!(report.bytes_zero_filled, 990);
    /// ```
    pub fn max_zero_fill(mut self, bytes: u64) -> RecoverOptions {
        self.max_zero_fill = Some(bytes);
        self
    }

    /// Only report what would be done (default off). The file is opened read-only.
    ///
    /// ```
    /// use npy_append::{RecoverOptions, recover};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u8, 2], &[2]).unwrap();
    /// std::fs::OpenOptions::new().append(true).open(&path).unwrap().set_len(128 + 5).unwrap();
    /// let report = recover(&path, &RecoverOptions::default().dry_run(true)).unwrap();
    /// assert_eq!(report.frames_adopted(), 3);
    /// assert_eq!(std::fs::metadata(&path).unwrap().len(), 128 + 5);
    /// assert_eq!(npy_format::NpyFile::open(&path).unwrap().header().shape, vec![2]);
    /// ```
    pub fn dry_run(mut self, dry_run: bool) -> RecoverOptions {
        self.dry_run = dry_run;
        self
    }

    /// What to do when an appender holds the file's lock (default: fail fast, since recovering a
    /// file under an active appender would race its appends).
    ///
    /// ```
    /// use std::time::Duration;
    /// use npy_append::{FrameLayout, LockMode, NpyAppender, RecoverErrorKind, RecoverOptions, ResultKind, recover};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// let appender = NpyAppender::create(&path, &FrameLayout::of::<u8>(&[])).unwrap();
    /// let patient = RecoverOptions::default().lock(LockMode::Timeout(Duration::from_millis(10)));
    /// assert!(matches!(recover(&path, &patient).err_kind(), Some(RecoverErrorKind::Locked { .. })));
    /// drop(appender);
    /// assert!(recover(&path, &patient).is_ok());
    /// ```
    pub fn lock(mut self, lock: LockMode) -> RecoverOptions {
        self.lock = lock;
        self
    }

    /// Whether a header without room for the recovered shape may be rewritten with room
    /// (through a temporary file and a rename, moving the data); default on.
    ///
    /// ```
    /// use npy_append::{RecoverErrorKind, RecoverOptions, ResultKind, recover};
    /// use npy_format::{DType, Header, Version};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("old.npy");
    /// // numpy < 1.14's header, padded only to 16 bytes (exactly full here), then data for
    /// // 10 frames, not 3: `(10,)` no longer fits in place.
    /// let header = Header::new(DType::parse("[('abcd', '|u1')]").unwrap(), false, vec![3]);
    /// let mut bytes = header.to_bytes_in_place(Version::V1, 80).unwrap();
    /// bytes.extend_from_slice(&[9; 10]);
    /// std::fs::write(&path, &bytes).unwrap();
    /// let in_place = RecoverOptions::default().rewrite_header(false);
    /// assert!(matches!(recover(&path, &in_place).err_kind(), Some(RecoverErrorKind::NoGrowthRoom { .. })));
    /// assert!(recover(&path, &RecoverOptions::default()).unwrap().header_rewritten);
    /// ```
    pub fn rewrite_header(mut self, allow: bool) -> RecoverOptions {
        self.rewrite_header = allow;
        self
    }

    /// The longest header accepted, in characters (numpy's default: 10000).
    ///
    /// ```
    /// use npy_append::{RecoverErrorKind, RecoverOptions, ResultKind, recover};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u8, 2], &[2]).unwrap(); // a 118-character header
    /// let strict = RecoverOptions::default().max_header_size(64);
    /// assert!(matches!(recover(&path, &strict).err_kind(), Some(RecoverErrorKind::Header { .. })));
    /// ```
    pub fn max_header_size(mut self, max: usize) -> RecoverOptions {
        self.read.max_header_size = max;
        self
    }
}

/// What [`recover()`] found and did (or, in a dry run, would do).
///
/// ```
/// use npy_append::{RecoverOptions, recover};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npy");
/// npy_format::write_file(&path, &[1u32, 2], &[2]).unwrap();
/// let report = recover(&path, &RecoverOptions::default()).unwrap();
/// assert!(!report.changed());
/// assert!(report.to_string().contains("nothing to do"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoverReport {
    /// The file.
    pub path: PathBuf,
    /// Frames the header counted.
    pub frames_before: u64,
    /// Frames the header counts now (or would count).
    pub frames_after: u64,
    /// Bytes per frame.
    pub frame_len: u64,
    /// Bytes found after the header.
    pub data_bytes: u64,
    /// Bytes of a torn last frame cut off.
    pub bytes_truncated: u64,
    /// Zero bytes added to complete a torn last frame.
    pub bytes_zero_filled: u64,
    /// The header had no room for the new shape and was rewritten with room, moving the data.
    pub header_rewritten: bool,
    /// Nothing was changed: this is what would be done.
    pub dry_run: bool,
}

impl RecoverReport {
    /// Whether the file needed (or, in a dry run, needs) a repair.
    ///
    /// ```
    /// # use npy_append::{RecoverOptions, recover};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u8], &[1]).unwrap();
    /// assert!(!recover(&path, &RecoverOptions::default()).unwrap().changed());
    /// ```
    pub fn changed(&self) -> bool {
        self.frames_after != self.frames_before
            || self.bytes_truncated > 0
            || self.bytes_zero_filled > 0
    }

    /// Complete frames past the old count that the header now counts.
    ///
    /// ```
    /// # use npy_append::{RecoverOptions, recover};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u8], &[1]).unwrap();
    /// std::fs::OpenOptions::new().append(true).open(&path).unwrap().set_len(128 + 3).unwrap();
    /// assert_eq!(recover(&path, &RecoverOptions::default()).unwrap().frames_adopted(), 2);
    /// ```
    pub fn frames_adopted(&self) -> u64 {
        self.frames_after.saturating_sub(self.frames_before)
    }

    /// Frames the old header counted whose bytes are missing (a file cut short).
    ///
    /// ```
    /// # use npy_append::{RecoverOptions, recover};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u16, 2, 3], &[3]).unwrap();
    /// std::fs::OpenOptions::new().append(true).open(&path).unwrap().set_len(128 + 3).unwrap();
    /// let report = recover(&path, &RecoverOptions::default()).unwrap();
    /// assert_eq!((report.frames_lost(), report.bytes_truncated), (2, 1));
    /// ```
    pub fn frames_lost(&self) -> u64 {
        self.frames_before.saturating_sub(self.frames_after)
    }
}

impl fmt::Display for RecoverReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        if !self.changed() {
            return write!(
                f,
                "{path}: nothing to do: the header counts {} frames of {} bytes, and the file holds exactly their {} bytes",
                self.frames_before, self.frame_len, self.data_bytes
            );
        }
        let would = if self.dry_run { "would " } else { "" };
        write!(
            f,
            "{path}: the header counted {} frames of {} bytes, the file holds {} data bytes",
            self.frames_before, self.frame_len, self.data_bytes
        )?;
        let completed = u64::from(self.bytes_zero_filled > 0);
        let complete = self.frames_adopted().saturating_sub(completed);
        if complete > 0 {
            write!(f, "; {would}adopt {}", count(complete, "complete frame"))?;
        }
        if self.frames_lost() > 0 {
            write!(
                f,
                "; {would}drop {} from the count (their bytes are missing)",
                count(self.frames_lost(), "counted frame")
            )?;
        }
        if self.bytes_truncated > 0 {
            write!(
                f,
                "; {would}truncate {} bytes of a torn frame",
                self.bytes_truncated
            )?;
        }
        if self.bytes_zero_filled > 0 {
            write!(
                f,
                "; {would}zero-fill {} bytes to complete the last frame",
                self.bytes_zero_filled
            )?;
        }
        if self.header_rewritten {
            write!(
                f,
                "; the header has no room for the new shape: {would}rewrite it with room, moving the data"
            )?;
        }
        let verb = if self.dry_run {
            "would count"
        } else {
            "counts"
        };
        write!(f, "; the header {verb} {} frames", self.frames_after)
    }
}

/// `1 complete frame`, `2 complete frames`.
fn count(n: u64, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Repairs a file whose data does not match its header's shape, as a crashed appender or a cut
/// download leaves it: complete frames past the header's count are adopted (the header's
/// growth dimension becomes the number of complete frames in the file), and a torn last frame
/// is truncated, or completed with zeros with [`RecoverOptions::zero_fill`]. The data is synced
/// before the header is rewritten, and the header after.
///
/// A file whose data matches its header is left alone (the report says so), but for disk
/// blocks a killed appender left reserved past its end, which are freed (unless a dry run, or
/// with [`LockMode::Off`], when a writer may be growing the file; see
/// [`array_files_fs::reserve`]). The file is
/// locked while it is repaired: an active appender makes this fail with
/// [`RecoverErrorKind::Locked`].
///
/// # Errors
/// [`RecoverError`]: not an NPY file, object dtype, 0-d array with the wrong data length,
/// frames of zero bytes with data past them, locked, no room for the new shape with rewriting
/// off, I/O.
///
/// ```
/// use npy_append::{RecoverOptions, recover};
/// use std::io::Write;
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("log.npy");
/// npy_format::write_file(&path, &[1u32, 2, 3, 4], &[2, 2]).unwrap();
/// // A crashed writer got two more frames and half of a third into the file.
/// let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
/// file.write_all(npy_format::as_bytes(&[5u32, 6, 7, 8, 9])).unwrap();
///
/// let report = recover(&path, &RecoverOptions::default()).unwrap();
/// assert_eq!((report.frames_before, report.frames_after), (2, 4));
/// assert_eq!(report.bytes_truncated, 4);
/// let array = npy_format::read_file::<u32>(&path).unwrap();
/// assert_eq!(array.header.shape, vec![4, 2]);
/// assert_eq!(array.data, (1..=8).collect::<Vec<u32>>());
/// ```
pub fn recover(
    path: impl AsRef<Path>,
    options: &RecoverOptions,
) -> Result<RecoverReport, RecoverError> {
    let path = path.as_ref();
    let file = fsutil::open_locked(path, !options.dry_run, options.lock).map_err(|e| match e {
        LockFail::Locked => RecoverError::new(path.to_path_buf(), RecoverErrorKind::Locked),
        LockFail::Io(e) => crate::error::recover_io(path, e),
    })?;
    Ok(recover_locked(path, file, options)?.1)
}

/// [`recover`] on a file already opened (for writing, unless a dry run) and locked. Returns the
/// file that now holds the array (a new one if the header was rewritten) and the report.
pub(crate) fn recover_locked(
    path: &Path,
    file: File,
    options: &RecoverOptions,
) -> Result<(File, RecoverReport), RecoverError> {
    let io_err = |e| crate::error::recover_io(path, e);
    let Contents {
        parsed,
        file_len,
        data_len,
        available,
        layout,
    } = Contents::read(&file, options.read).map_err(|refusal| refusal.recover_error(path))?;
    let header = &parsed.header;
    let data_offset = parsed.data_offset;
    let frame_len = header.frame_len().unwrap_or(u64::MAX);
    let frames_before = header.frame_count();
    let mut report = RecoverReport {
        path: path.to_path_buf(),
        frames_before,
        frames_after: frames_before,
        frame_len,
        data_bytes: available,
        bytes_truncated: 0,
        bytes_zero_filled: 0,
        header_rewritten: false,
        dry_run: options.dry_run,
    };
    if available == data_len {
        if !options.dry_run {
            release_spare(&file, file_len, options.lock);
        }
        return Ok((file, report));
    }
    if layout.is_none() {
        return Err(RecoverError::new(
            path.to_path_buf(),
            RecoverErrorKind::NoGrowthAxis {
                expected: data_len,
                available,
            },
        ));
    }
    if frame_len == 0 {
        return Err(RecoverError::new(
            path.to_path_buf(),
            RecoverErrorKind::ZeroLengthFrames {
                trailing: available,
            },
        ));
    }
    let complete = available / frame_len;
    let torn = available % frame_len;
    if torn > 0 && options.zero_fill {
        let fill = frame_len - torn;
        let limit = options
            .max_zero_fill
            .unwrap_or(DEFAULT_MAX_ZERO_FILL.max(available));
        if fill > limit {
            return Err(RecoverError::new(
                path.to_path_buf(),
                RecoverErrorKind::ZeroFillTooLarge { fill, limit },
            ));
        }
        report.frames_after = complete + 1;
        report.bytes_zero_filled = frame_len - torn;
    } else {
        report.frames_after = complete;
        report.bytes_truncated = torn;
    }
    let new_header = header.with_frame_count(report.frames_after);
    let in_place = usize::try_from(data_offset)
        .map_err(|_| WriteError::HeaderTooLong {
            needed: 0,
            available: usize::MAX,
        })
        .and_then(|total| new_header.to_bytes_in_place(parsed.version, total));
    let header_bytes = match in_place {
        Ok(bytes) => Some(bytes),
        Err(WriteError::HeaderTooLong { .. }) => {
            if !options.rewrite_header {
                return Err(RecoverError::new(
                    path.to_path_buf(),
                    RecoverErrorKind::NoGrowthRoom {
                        header_len: data_offset,
                    },
                ));
            }
            report.header_rewritten = true;
            None
        }
        Err(source) => {
            return Err(RecoverError::new(
                path.to_path_buf(),
                RecoverErrorKind::Write { source },
            ));
        }
    };
    if options.dry_run {
        return Ok((file, report));
    }
    let new_data_len = report.frames_after * frame_len;
    match header_bytes {
        Some(bytes) => {
            // Data first (the completed or cut frame), synced; then the header, synced.
            if report.bytes_zero_filled > 0 {
                // Extending the file reads back as zeros, in constant time and without taking
                // disk space, however long a (possibly corrupt) header says a frame is.
                let len = file_len
                    .checked_add(report.bytes_zero_filled)
                    .ok_or_else(|| io_err(fsutil::too_large()))?;
                file.set_len(len).map_err(io_err)?;
            } else if report.bytes_truncated > 0 {
                file.set_len(data_offset + new_data_len).map_err(io_err)?;
            }
            file.sync_data().map_err(io_err)?;
            array_files_fs::pwrite::write_all_at(&file, &bytes, 0).map_err(io_err)?;
            file.sync_data().map_err(io_err)?;
            release_spare(&file, data_offset + new_data_len, options.lock);
            Ok((file, report))
        }
        None => {
            let bytes = new_header.to_bytes().map_err(|source| {
                RecoverError::new(path.to_path_buf(), RecoverErrorKind::Write { source })
            })?;
            let new_file = fsutil::replace_file(
                path,
                &file,
                &bytes,
                data_offset,
                new_data_len - report.bytes_zero_filled,
                report.bytes_zero_filled,
                options.lock,
            )
            .map_err(io_err)?;
            Ok((new_file, report))
        }
    }
}

/// Frees the disk blocks that a writer killed with blocks reserved ahead left past the end
/// (see [`array_files_fs::reserve`]), unless the file is not locked (`lock` is
/// [`LockMode::Off`]): a writer may then be growing it, and cutting it to the length read here
/// would drop its frames. A failure costs only that space, and the file is whole whatever
/// happens, so it is not reported.
fn release_spare(file: &File, len: u64, lock: LockMode) {
    if lock != LockMode::Off {
        let _ = array_files_fs::reserve::release_spare(file, len);
    }
}
