//! [`NpyAppender`]: appends frames to a `.npy` file.

use crate::error::AppendErrorKind;
use crate::error::OpenErrorKind;
use std::any::TypeId;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use array_files_fs::pwrite;
use array_files_fs::reserve::Reservation;

use npy_format::{Element, FrameError, FrameSink, Header, ParsedHeader, Version, as_bytes};

use crate::contents::Contents;
use crate::error::{AppendError, OpenError};
use crate::fsutil::{self, CreateFail, LockFail};
use crate::layout::FrameLayout;
use crate::options::{AppendOptions, BufferSize};
use crate::recover::{self, RecoverOptions};

/// How an appender rewrote a header that had no room to grow (see
/// [`AppendOptions::rewrite_header`]).
///
/// ```
/// use npy_append::HeaderRewrite;
/// let rewrite = HeaderRewrite { old_data_offset: 64, new_data_offset: 128 };
/// assert!(rewrite.to_string().contains("from offset 64 to 128"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRewrite {
    /// Where the data started before.
    pub old_data_offset: u64,
    /// Where it starts now.
    pub new_data_offset: u64,
}

impl fmt::Display for HeaderRewrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the header had no room to grow, so it was rewritten with room and the data moved from offset {} to {} (through a temporary file)",
            self.old_data_offset, self.new_data_offset
        )
    }
}

/// The file offsets that writes which leave bytes behind in the buffer end on: 64 KiB, the
/// size from which the page cache's large folios make whole writes cheaper.
const ALIGN: u64 = 64 << 10;

/// Appends frames to a `.npy` file along its growth axis (axis 0 in C order, the last axis in
/// Fortran order), holding an exclusive lock on it.
///
/// # Guarantees
///
/// - **Data before header.** Frame bytes are always in the file before the header's shape
///   counts them, and the header is rewritten in place (numpy ≥ 1.24 headers keep room for 21
///   digits). At every moment, the file loads in numpy, and what it holds is a prefix of the
///   frames appended. After a crash, frames written but not yet counted sit past the data
///   (the last perhaps in part); [`recover`](crate::recover()) adopts the whole ones.
/// - **Readers** (`np.load`, `np.load(..., mmap_mode='r')`, [`npy_format::NpyFile`]) take no
///   lock; they see the frames the header counts when they read it, complete. The header is
///   rewritten with one write of only the bytes that change (usually a digit). POSIX does not
///   make a read atomic with respect to a concurrent write, so a read overlapping a change of
///   several bytes (a count going from 1299 to 1300) could in principle see a mix of old and
///   new digits: a shorter count, or a count past the data that fails to load (retry). The
///   tests hammer this with numpy and with `NpyFile` readers and see neither.
/// - **[`flush`](Self::flush)** writes buffered frames, then the header: readers and a process
///   crash are covered. **[`sync`](Self::sync)** also syncs the data before writing the header
///   and the header after: a power cut is covered too.
/// - **Fast writes.** Small appends are buffered ([`BufferSize`]), large ones written from
///   the caller's memory in one call with the buffered frames before them. Writes that leave
///   bytes behind end on a 64 KiB boundary of the file, and disk blocks are reserved ahead of
///   the data on Linux (`fallocate` with `KEEP_SIZE`, freed when the appender finishes): the
///   page cache takes such writes fastest, and the file's length never shows either.
/// - **No silent casts.** [`append`](Self::append) takes exactly the file's dtype in native
///   byte order; [`append_frames`](Self::append_frames) takes raw bytes of whole frames.
/// - **Errors are never lost.** A failed append appends nothing. Dropping an appender flushes
///   it, and an error there goes to [`AppendOptions::on_drop_error`] (stderr by default):
///   call [`finish`](Self::finish) to get it as a `Result`.
///
/// ```
/// use npy_append::{FrameLayout, NpyAppender};
/// use npy_format::NpyFile;
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("frames.npy");
/// let mut out = NpyAppender::create(&path, &FrameLayout::of::<u16>(&[2, 2])).unwrap();
/// out.append(&[1u16, 2, 3, 4]).unwrap();
/// out.append_frames(&[0u8; 16], 2).unwrap(); // raw bytes: two frames of 8 bytes
/// out.flush().unwrap();
/// assert_eq!(NpyFile::open(&path).unwrap().header().shape, vec![3, 2, 2]);
/// out.append(&[5u16; 4]).unwrap();
/// let header = out.finish().unwrap();
/// assert_eq!(header.shape, vec![4, 2, 2]);
/// ```
pub struct NpyAppender {
    file: File,
    path: PathBuf,
    /// The array as appended so far: its growth dimension counts buffered frames too.
    header: Header,
    axis: usize,
    version: Version,
    data_offset: u64,
    frame_len: u64,
    /// The most frames the array may count: the end of its data must fit in a `u64`.
    max_frames: u64,
    /// Frames that appends may still add on the inlined fast path: what fits in the buffer's
    /// free room without reaching `max_frames`. It is only ever an underestimate (0 sends the
    /// next append down the general path, which computes it again).
    fast_frames: u64,
    /// Frames whose bytes are all in the file.
    written: u64,
    /// Bytes of frames in the file, from `data_offset`: `written` frames, and the first part
    /// of the next when writes end on an [`ALIGN`] boundary.
    written_bytes: u64,
    /// Frames the header in the file counts.
    counted: u64,
    /// The bytes of frames past `written_bytes`, up to `frame_count()`.
    buffer: Vec<u8>,
    capacity: usize,
    /// Whether writes that leave bytes behind in the buffer end on an [`ALIGN`] boundary
    /// (buffers of at least four times that).
    align_writes: bool,
    /// Appends of at least this many bytes are written directly ([`BufferSize`]).
    direct_bytes: usize,
    header_on_spill: bool,
    /// [`finish`](Self::finish) syncs ([`AppendOptions::sync`]).
    sync_on_finish: bool,
    rewrite: Option<HeaderRewrite>,
    /// The header bytes last written by this appender (`None`: not known, write them all).
    header_on_disk: Option<Vec<u8>>,
    /// The element type last accepted by `append`, to skip the dtype check.
    accepted: Option<TypeId>,
    done: bool,
    on_drop_error: fn(&AppendError),
    /// Whether the file's directory entry is known to be on stable storage: false for a file
    /// this appender created, until the first `sync` syncs the directory.
    entry_durable: bool,
    /// Disk blocks allocated ahead of the data's end, freed when the appender finishes.
    reservation: Reservation,
}

impl fmt::Debug for NpyAppender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NpyAppender")
            .field("path", &self.path)
            .field("header", &self.header)
            .field("version", &self.version)
            .field("data_offset", &self.data_offset)
            .field("written_frames", &self.written)
            .field("written_bytes", &self.written_bytes)
            .field("flushed_frames", &self.counted)
            .field("buffered_bytes", &self.buffer.len())
            .field("buffer_capacity", &self.capacity)
            .finish()
    }
}

/// `AppendOptions::create`.
pub(crate) fn create(
    path: &Path,
    layout: &FrameLayout,
    options: &AppendOptions,
) -> Result<NpyAppender, OpenError> {
    if layout.dtype().has_object() {
        return Err(OpenError::new(path.to_path_buf(), OpenErrorKind::Object));
    }
    let header = layout.header(0);
    if layout.frame_len().is_none() {
        return Err(OpenError::new(
            path.to_path_buf(),
            OpenErrorKind::Overflow {
                frame_shape: layout.frame_shape().to_vec(),
                itemsize: layout.dtype().itemsize(),
            },
        ));
    }
    let bytes = header
        .to_bytes()
        .map_err(|source| OpenError::new(path.to_path_buf(), OpenErrorKind::Write { source }))?;
    let (file, durable) = fsutil::create_file(path, &bytes, options.lock, options.overwrite)
        .map_err(|e| match e {
            CreateFail::Exists => OpenError::new(path.to_path_buf(), OpenErrorKind::Exists),
            CreateFail::Locked => OpenError::new(path.to_path_buf(), OpenErrorKind::Locked),
            CreateFail::Io(e) => crate::error::open_io(path, e),
        })?;
    let parsed = ParsedHeader {
        version: header.version(),
        header,
        data_offset: bytes.len() as u64,
    };
    let mut appender = NpyAppender::new(path, file, parsed, options, None);
    appender.entry_durable = durable;
    Ok(appender)
}

/// `AppendOptions::open` (and `open_or_create` with the layout to check).
pub(crate) fn open(
    path: &Path,
    expected: Option<&FrameLayout>,
    options: &AppendOptions,
) -> Result<NpyAppender, OpenError> {
    let mut file = fsutil::open_locked(path, true, options.lock).map_err(|e| match e {
        LockFail::Locked => OpenError::new(path.to_path_buf(), OpenErrorKind::Locked),
        LockFail::Io(e) => crate::error::open_io(path, e),
    })?;
    let io_err = |e| crate::error::open_io(path, e);
    let mut recovered = false;
    loop {
        let Contents {
            parsed,
            data_len,
            available,
            layout,
            ..
        } = Contents::read(&file, options.read).map_err(|refusal| refusal.open_error(path))?;
        let header = &parsed.header;
        let Some(layout) = layout else {
            return Err(OpenError::new(
                path.to_path_buf(),
                OpenErrorKind::NoGrowthAxis,
            ));
        };
        if let Some(expected) = expected
            && *expected != layout
        {
            return Err(OpenError::new(
                path.to_path_buf(),
                OpenErrorKind::Mismatch {
                    expected: expected.to_string(),
                    found: layout.to_string(),
                },
            ));
        }
        if available != data_len {
            if options.recover_on_open && !recovered {
                // The file is locked already; the mode is for a replacement file.
                let recover_options = RecoverOptions::default()
                    .lock(options.lock)
                    .rewrite_header(options.rewrite_header)
                    .max_header_size(options.read.max_header_size);
                file = recover::recover_locked(path, file, &recover_options)
                    .map_err(|e| e.map_kind(OpenErrorKind::Recover))?
                    .0;
                recovered = true;
                continue;
            }
            return Err(OpenError::new(
                path.to_path_buf(),
                OpenErrorKind::NeedsRecovery {
                    expected: data_len,
                    available,
                },
            ));
        }
        if has_growth_room(&parsed) {
            return Ok(NpyAppender::new(path, file, parsed, options, None));
        }
        if !options.rewrite_header {
            return Err(OpenError::new(
                path.to_path_buf(),
                OpenErrorKind::NoGrowthRoom {
                    header_len: parsed.data_offset,
                },
            ));
        }
        let bytes = header.to_bytes().map_err(|source| {
            OpenError::new(path.to_path_buf(), OpenErrorKind::Write { source })
        })?;
        let new_file = fsutil::replace_file(
            path,
            &file,
            &bytes,
            parsed.data_offset,
            data_len,
            0,
            options.lock,
        )
        .map_err(io_err)?;
        let rewrite = HeaderRewrite {
            old_data_offset: parsed.data_offset,
            new_data_offset: bytes.len() as u64,
        };
        let parsed = ParsedHeader {
            version: header.version(),
            header: parsed.header,
            data_offset: bytes.len() as u64,
        };
        return Ok(NpyAppender::new(
            path,
            new_file,
            parsed,
            options,
            Some(rewrite),
        ));
    }
}

/// Whether the header can count any number of frames without changing length.
/// Whether the header of an existing file can count any number of frames in place (it has room
/// for a 20-digit growth dimension): appending to it needs no header rewrite. numpy >= 1.24
/// leaves that room; older headers often lack it, and opening an appender then rewrites the
/// header (see [`AppendOptions::rewrite_header`](crate::AppendOptions::rewrite_header)).
///
/// ```
/// use npy_format::{Header, ParsedHeader};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npy");
/// npy_format::write_file(&path, &[1u8, 2, 3], &[3]).unwrap();
/// let bytes = std::fs::read(&path).unwrap();
/// let parsed: ParsedHeader = Header::from_bytes(&bytes).unwrap();
/// assert!(npy_append::has_growth_room(&parsed));
/// ```
pub fn has_growth_room(parsed: &ParsedHeader) -> bool {
    let Ok(total) = usize::try_from(parsed.data_offset) else {
        return false;
    };
    parsed
        .header
        .with_frame_count(u64::MAX)
        .to_bytes_in_place(parsed.version, total)
        .is_ok()
}

impl NpyAppender {
    fn new(
        path: &Path,
        file: File,
        parsed: ParsedHeader,
        options: &AppendOptions,
        rewrite: Option<HeaderRewrite>,
    ) -> NpyAppender {
        let header = parsed.header;
        // Callers checked that the header has a growth axis and a frame length.
        let axis = header.growth_axis().unwrap_or(0);
        let frame_len = header.frame_len().unwrap_or(0);
        let count = header.frame_count();
        let capacity = options.buffer.bytes(frame_len);
        let reservation = Reservation::for_file(&file, parsed.data_offset + count * frame_len);
        NpyAppender {
            file,
            path: path.to_path_buf(),
            header,
            axis,
            version: parsed.version,
            data_offset: parsed.data_offset,
            frame_len,
            max_frames: (u64::MAX - parsed.data_offset)
                .checked_div(frame_len)
                .unwrap_or(u64::MAX),
            fast_frames: 0,
            written: count,
            written_bytes: count * frame_len,
            counted: count,
            buffer: Vec::with_capacity(capacity.min(64 << 20)),
            capacity,
            align_writes: capacity as u64 >= 4 * ALIGN,
            direct_bytes: BufferSize::direct_bytes(capacity),
            header_on_spill: options.header_on_spill,
            sync_on_finish: options.sync,
            rewrite,
            header_on_disk: None,
            accepted: None,
            done: false,
            on_drop_error: options.on_drop_error,
            entry_durable: true,
            reservation,
        }
    }

    /// Creates a new file for frames of `layout`, with the default [`AppendOptions`].
    ///
    /// # Errors
    /// As [`AppendOptions::create`].
    ///
    /// ```
    /// use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let out = NpyAppender::create(dir.path().join("a.npy"), &FrameLayout::of::<f32>(&[3])).unwrap();
    /// assert_eq!(out.header().shape, vec![0, 3]);
    /// ```
    pub fn create(path: impl AsRef<Path>, layout: &FrameLayout) -> Result<NpyAppender, OpenError> {
        AppendOptions::new().create(path, layout)
    }

    /// Opens an existing file to append to, with the default [`AppendOptions`].
    ///
    /// # Errors
    /// As [`AppendOptions::open`].
    ///
    /// ```
    /// use npy_append::NpyAppender;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u32, 2, 3, 4], &[2, 2]).unwrap();
    /// let mut out = NpyAppender::open(&path).unwrap();
    /// out.append(&[5u32, 6]).unwrap();
    /// assert_eq!(out.finish().unwrap().shape, vec![3, 2]);
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<NpyAppender, OpenError> {
        AppendOptions::new().open(path)
    }

    /// Opens the file if it exists (checking that it holds frames of `layout`), or creates it,
    /// with the default [`AppendOptions`]: the usual start of a logging loop that may resume.
    ///
    /// # Errors
    /// As [`AppendOptions::open_or_create`].
    ///
    /// ```
    /// use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("log.npy");
    /// let layout = FrameLayout::of::<f32>(&[3]);
    /// for run in 0..2 {
    ///     let mut out = NpyAppender::open_or_create(&path, &layout).unwrap();
    ///     out.append(&[run as f32; 3]).unwrap();
    ///     out.finish().unwrap();
    /// }
    /// assert_eq!(npy_format::NpyFile::open(&path).unwrap().header().shape, vec![2, 3]);
    /// ```
    pub fn open_or_create(
        path: impl AsRef<Path>,
        layout: &FrameLayout,
    ) -> Result<NpyAppender, OpenError> {
        AppendOptions::new().open_or_create(path, layout)
    }

    /// Options for opening or creating.
    ///
    /// ```
    /// use npy_append::{BufferSize, FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// let layout = FrameLayout::of::<u8>(&[2]);
    /// let mut out = NpyAppender::options().buffer(BufferSize::Frames(64)).create(&path, &layout).unwrap();
    /// out.append(&[1u8, 2]).unwrap();
    /// assert_eq!(out.buffered_bytes(), 2); // held until 64 frames, a flush or finish
    /// ```
    pub fn options() -> AppendOptions {
        AppendOptions::new()
    }

    /// The file's path.
    ///
    /// ```
    /// # use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("a.npy");
    /// let out = NpyAppender::create(&path, &FrameLayout::of::<u8>(&[])).unwrap();
    /// assert_eq!(out.path(), path);
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The array as appended so far; its growth dimension counts buffered frames too.
    ///
    /// ```
    /// # use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut out = NpyAppender::create(dir.path().join("a.npy"), &FrameLayout::of::<u8>(&[2]).fortran_order(true)).unwrap();
    /// out.append(&[1u8, 2, 3, 4]).unwrap();
    /// assert_eq!(out.header().shape, vec![2, 2]);
    /// assert!(out.header().fortran_order);
    /// ```
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The layout of the frames this appender takes.
    ///
    /// ```
    /// # use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let layout = FrameLayout::of::<i8>(&[5]);
    /// let out = NpyAppender::create(dir.path().join("a.npy"), &layout).unwrap();
    /// assert_eq!(out.layout(), layout);
    /// ```
    pub fn layout(&self) -> FrameLayout {
        FrameLayout::new(self.header.dtype.clone(), &self.header.frame_shape())
            .fortran_order(self.header.fortran_order)
    }

    /// Frames appended, buffered or not (the header's growth dimension once flushed).
    ///
    /// ```
    /// # use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut out = NpyAppender::create(dir.path().join("a.npy"), &FrameLayout::of::<u8>(&[])).unwrap();
    /// out.append(&[1u8, 2, 3]).unwrap();
    /// assert_eq!(out.frame_count(), 3);
    /// ```
    #[inline]
    pub fn frame_count(&self) -> u64 {
        self.header.shape[self.axis]
    }

    /// Frames the header in the file counts: what readers see now.
    ///
    /// ```
    /// # use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut out = NpyAppender::create(dir.path().join("a.npy"), &FrameLayout::of::<u8>(&[])).unwrap();
    /// out.append(&[1u8, 2, 3]).unwrap();
    /// assert_eq!(out.flushed_frames(), 0);
    /// out.flush().unwrap();
    /// assert_eq!(out.flushed_frames(), 3);
    /// ```
    pub fn flushed_frames(&self) -> u64 {
        self.counted
    }

    /// Bytes per frame.
    ///
    /// ```
    /// # use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let out = NpyAppender::create(dir.path().join("a.npy"), &FrameLayout::of::<f64>(&[3])).unwrap();
    /// assert_eq!(out.frame_len(), 24);
    /// ```
    pub fn frame_len(&self) -> u64 {
        self.frame_len
    }

    /// Bytes from the start of the file to the data.
    ///
    /// ```
    /// # use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let out = NpyAppender::create(dir.path().join("a.npy"), &FrameLayout::of::<f64>(&[3])).unwrap();
    /// assert_eq!(out.data_offset(), 128);
    /// ```
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// The file's NPY format version (kept from the file, or numpy's choice for new files).
    ///
    /// ```
    /// # use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let out = NpyAppender::create(dir.path().join("a.npy"), &FrameLayout::of::<f64>(&[3])).unwrap();
    /// assert_eq!(out.version(), npy_format::Version::V1);
    /// ```
    pub fn version(&self) -> Version {
        self.version
    }

    /// Bytes appended but still in the buffer.
    ///
    /// ```
    /// # use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut out = NpyAppender::create(dir.path().join("a.npy"), &FrameLayout::of::<u32>(&[])).unwrap();
    /// out.append(&[1u32, 2]).unwrap();
    /// assert_eq!(out.buffered_bytes(), 8);
    /// ```
    pub fn buffered_bytes(&self) -> usize {
        self.buffer.len()
    }

    /// How the header was rewritten on open, if it had no room to grow; `None` otherwise.
    ///
    /// ```
    /// # use npy_append::NpyAppender;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u8], &[1]).unwrap(); // numpy >= 1.24 layout: room
    /// assert!(NpyAppender::open(&path).unwrap().header_rewrite().is_none());
    /// ```
    pub fn header_rewrite(&self) -> Option<&HeaderRewrite> {
        self.rewrite.as_ref()
    }

    fn frame_error(&self, source: FrameError) -> AppendError {
        AppendError::new(self.path.clone(), AppendErrorKind::Frame { source })
    }

    #[inline]
    fn set_frame_count(&mut self, frames: u64) {
        self.header.shape[self.axis] = frames;
    }

    /// Appends `frames` whole frames given as raw bytes in the file's dtype, byte order and
    /// storage order. Frames of a Fortran-order array are contiguous too: each frame is the
    /// array's elements for one index of the last axis, in Fortran order.
    ///
    /// # Errors
    /// [`AppendErrorKind::Frame`] if `bytes` is not `frames` frames; [`AppendErrorKind::Overflow`];
    /// I/O errors from writing a full buffer ([`AppendErrorKind::StorageFull`] for a full disk). On
    /// error nothing of this call is appended.
    ///
    /// ```
    /// # use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut out = NpyAppender::create(dir.path().join("a.npy"), &FrameLayout::of::<u16>(&[2])).unwrap();
    /// out.append_frames(&[1, 0, 2, 0, 3, 0, 4, 0], 2).unwrap();
    /// assert!(out.append_frames(&[1, 0, 2, 0], 2).is_err());
    /// assert_eq!(out.frame_count(), 2);
    /// ```
    #[inline]
    pub fn append_frames(&mut self, bytes: &[u8], frames: u64) -> Result<(), AppendError> {
        // The common case, small enough to inline into the caller's loop: whole frames that fit
        // in the buffer's free room. Everything else, errors included, takes the general path,
        // which checks it all.
        // (One frame, the usual case, needs no multiplication: the test folds to a comparison
        // when the call is inlined with a constant count.)
        let whole_frames = if frames == 1 {
            bytes.len() as u64 == self.frame_len
        } else {
            u128::from(frames) * u128::from(self.frame_len) == bytes.len() as u128
        };
        if whole_frames && frames <= self.fast_frames && bytes.len() < self.direct_bytes {
            self.fast_frames -= frames;
            self.buffer.extend_from_slice(bytes);
            self.header.shape[self.axis] += frames;
            return Ok(());
        }
        self.append_frames_general(bytes, frames)
    }

    /// [`append_frames`](Self::append_frames) in full: checks, spills and direct writes.
    #[inline(never)]
    fn append_frames_general(&mut self, bytes: &[u8], frames: u64) -> Result<(), AppendError> {
        self.fast_frames = 0;
        let appended = self.append_frames_checked(bytes, frames);
        self.fast_frames = self.fast_frames_now();
        appended
    }

    /// How many frames appends can add to the buffer before it must be written, or the count
    /// would reach `max_frames`. (Appends of at least `direct_bytes` are written directly.)
    fn fast_frames_now(&self) -> u64 {
        if self.frame_len == 0 || self.done || self.frame_len >= self.direct_bytes as u64 {
            return 0;
        }
        let room = self.capacity.saturating_sub(self.buffer.len());
        (room as u64 / self.frame_len).min(self.max_frames.saturating_sub(self.frame_count()))
    }

    /// Whether an append of `len` bytes (whole frames) would only be copied into the buffer,
    /// with no I/O: for callers that hand the file's I/O to another thread, or release a lock
    /// around it, only when there is some.
    ///
    /// ```
    /// # use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut out = NpyAppender::create(dir.path().join("a.npy"), &FrameLayout::of::<u8>(&[])).unwrap();
    /// assert!(out.would_buffer(1000));
    /// assert!(!out.would_buffer(1 << 20)); // a large append is written directly
    /// for _ in 0..1000 {
    ///     out.append(&[0u8; 1000]).unwrap();
    /// }
    /// assert_eq!(out.buffered_bytes(), 1_000_000);
    /// assert!(!out.would_buffer(100_000)); // no room left: the buffer is written first
    /// ```
    pub fn would_buffer(&self, len: usize) -> bool {
        !self.done && len < self.direct_bytes && self.buffer.len() + len <= self.capacity
    }

    /// The size from which appends are written directly, never copied into the buffer (see
    /// [`BufferSize`]).
    ///
    /// ```
    /// # use npy_append::{BufferSize, FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let out = NpyAppender::create(dir.path().join("a.npy"), &FrameLayout::of::<u8>(&[])).unwrap();
    /// assert_eq!(out.direct_write_bytes(), 128 << 10); // an eighth of the default 1 MiB
    /// let small = NpyAppender::options().buffer(BufferSize::Bytes(4096));
    /// let out = small.create(dir.path().join("b.npy"), &FrameLayout::of::<u8>(&[])).unwrap();
    /// assert_eq!(out.direct_write_bytes(), 4096);
    /// ```
    pub fn direct_write_bytes(&self) -> usize {
        self.direct_bytes
    }

    fn append_frames_checked(&mut self, bytes: &[u8], frames: u64) -> Result<(), AppendError> {
        let frame_len = self.frame_len;
        let expected = frames.checked_mul(frame_len);
        if expected != Some(bytes.len() as u64) {
            return Err(self.frame_error(FrameError::Count {
                frames,
                frame_len,
                expected: expected.unwrap_or(u64::MAX),
                len: bytes.len() as u64,
            }));
        }
        if frames == 0 {
            return Ok(());
        }
        let count = self.frame_count();
        let new_count = count
            .checked_add(frames)
            .filter(|&n| {
                n.checked_mul(frame_len)
                    .and_then(|len| len.checked_add(self.data_offset))
                    .is_some()
            })
            .ok_or_else(|| {
                AppendError::new(
                    self.path.clone(),
                    AppendErrorKind::Overflow {
                        count,
                        frames,
                        frame_len,
                    },
                )
            })?;
        // Small appends go to the buffer while it has room.
        if self.would_buffer(bytes.len()) {
            self.buffer.extend_from_slice(bytes);
            self.set_frame_count(new_count);
            return Ok(());
        }
        if bytes.len() < self.direct_bytes {
            let spilled = self.write_buffer(self.align_writes)?;
            if spilled && self.header_on_spill {
                self.write_header()?;
            }
            self.buffer.extend_from_slice(bytes);
            self.set_frame_count(new_count);
            return Ok(());
        }
        // Large appends are written directly, in one call with the buffered frames before
        // them. The header follows once the frames it does not count reach the buffer's size:
        // readers then lag by at most a buffer's worth, as with buffered appends, and appends
        // smaller than the buffer do not each cost a header write too.
        let before = (self.written, self.written_bytes);
        let taken = self.write_at_end(bytes, self.align_writes, new_count)?;
        let uncounted = (self.written - self.counted).saturating_mul(frame_len);
        if self.header_on_spill
            && uncounted >= self.capacity as u64
            && let Err(e) = self.write_header()
        {
            (self.written, self.written_bytes) = before;
            self.cut_torn_tail();
            return Err(e);
        }
        self.take_written(taken, &bytes[taken.1..]);
        self.set_frame_count(new_count);
        Ok(())
    }

    /// Appends elements of `T`, a whole number of frames, and returns the number of frames.
    /// `T` must be the file's dtype in native byte order: nothing is ever cast. (Frames of zero
    /// bytes cannot be counted from elements: append them with
    /// [`append_frames`](Self::append_frames).)
    ///
    /// # Errors
    /// [`AppendErrorKind::Frame`] for another dtype or byte order, or a partial frame; as
    /// [`append_frames`](Self::append_frames).
    ///
    /// ```
    /// # use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut out = NpyAppender::create(dir.path().join("a.npy"), &FrameLayout::of::<i32>(&[2])).unwrap();
    /// assert_eq!(out.append(&[1i32, 2, 3, 4, 5, 6]).unwrap(), 3);
    /// assert!(out.append(&[1.0f32, 2.0]).is_err()); // f32 is not i32
    /// assert!(out.append(&[7i32]).is_err()); // half a frame
    /// ```
    pub fn append<T: Element>(&mut self, data: &[T]) -> Result<u64, AppendError> {
        let id = TypeId::of::<T>();
        if self.accepted != Some(id) {
            let dtype = &self.header.dtype;
            if !T::accepts(dtype) || !dtype.is_native() {
                return Err(self.frame_error(FrameError::DType {
                    expected: dtype.descr(),
                    given: T::dtype().descr(),
                }));
            }
            self.accepted = Some(id);
        }
        let bytes = as_bytes(data);
        let len = bytes.len() as u64;
        let frames = match len.checked_div(self.frame_len) {
            Some(frames) if frames * self.frame_len == len => frames,
            None if len == 0 => 0,
            _ => {
                return Err(self.frame_error(FrameError::PartialFrame {
                    len,
                    frame_len: self.frame_len,
                }));
            }
        };
        self.append_frames(bytes, frames)?;
        Ok(frames)
    }

    /// Writes the buffer at the end of the file's data (all of it, or, with `align`, up to the
    /// last [`ALIGN`] boundary it reaches). Returns whether anything was written.
    fn write_buffer(&mut self, align: bool) -> Result<bool, AppendError> {
        if self.buffer.is_empty() && self.written == self.frame_count() {
            return Ok(false);
        }
        let taken = self.write_at_end(&[], align, self.frame_count())?;
        self.take_written(taken, &[]);
        Ok(true)
    }

    /// Writes the buffer, then `bytes` (the frames of an append, `frame_count` frames in all
    /// once it is done), at the end of the file's data in one call; with `align`, only up to
    /// the last [`ALIGN`] boundary they reach, if they reach one. Counts what it wrote as
    /// written and returns how much of the buffer and of `bytes` that was, for
    /// [`take_written`](Self::take_written); the buffer itself is left as it was, so that a
    /// caller can still undo the write. On error the torn bytes are cut off again.
    ///
    /// Why align: page-cache writes that start and end on such boundaries (64 KiB) fill whole
    /// large folios, and run about a third faster than the same writes 128 bytes off, where
    /// every NPY file's data starts.
    fn write_at_end(
        &mut self,
        bytes: &[u8],
        align: bool,
        frame_count: u64,
    ) -> Result<(usize, usize), AppendError> {
        let start = self.data_offset + self.written_bytes;
        let mut len = (self.buffer.len() + bytes.len()) as u64;
        let aligned_end = (start + len) / ALIGN * ALIGN;
        if align && aligned_end > start {
            len = aligned_end - start;
        }
        let from_buffer = self.buffer.len().min(len as usize);
        let from_bytes = len as usize - from_buffer;
        self.reservation.before_write(&self.file, start + len);
        let parts = [&self.buffer[..from_buffer], &bytes[..from_bytes]];
        if let Err(e) = pwrite::write_all_vectored_at(&self.file, &parts, start) {
            self.cut_torn_tail();
            return Err(crate::error::append_io(&self.path, e));
        }
        self.written_bytes += len;
        self.written = match self.written_bytes.checked_div(self.frame_len) {
            Some(frames) => frames,
            None => frame_count, // frames of no bytes: all written
        };
        Ok((from_buffer, from_bytes))
    }

    /// Drops from the buffer what [`write_at_end`](Self::write_at_end) wrote of it, and keeps
    /// `rest`, the bytes of the append it did not write.
    fn take_written(&mut self, (from_buffer, _): (usize, usize), rest: &[u8]) {
        self.buffer.drain(..from_buffer);
        self.buffer.extend_from_slice(rest);
    }

    /// Rewrites the header in place to count the written frames. Only the bytes that differ
    /// from the header last written are written (usually a digit or two): the write is as
    /// short as can be, and a single changed byte cannot be seen torn by a concurrent reader.
    fn write_header(&mut self) -> Result<(), AppendError> {
        if self.counted == self.written {
            return Ok(());
        }
        let header = self.header.with_frame_count(self.written);
        let bytes = header
            .to_bytes_in_place(self.version, self.data_offset as usize)
            .map_err(|source| {
                AppendError::new(self.path.clone(), AppendErrorKind::Header { source })
            })?;
        let (start, end) = match &self.header_on_disk {
            Some(old) if old.len() == bytes.len() => {
                let first = old.iter().zip(&bytes).position(|(a, b)| a != b);
                let last = old.iter().zip(&bytes).rposition(|(a, b)| a != b);
                match (first, last) {
                    (Some(first), Some(last)) => (first, last + 1),
                    _ => (0, 0),
                }
            }
            _ => (0, bytes.len()),
        };
        if let Err(e) = pwrite::write_all_at(&self.file, &bytes[start..end], start as u64) {
            self.header_on_disk = None;
            return Err(crate::error::append_io(&self.path, e));
        }
        self.header_on_disk = Some(bytes);
        self.counted = self.written;
        Ok(())
    }

    /// After a failed write, drops the bytes it may have left past those written before, if it
    /// can: the file then holds what it held before the write.
    fn cut_torn_tail(&mut self) {
        let len = self.data_offset + self.written_bytes;
        if self.file.set_len(len).is_ok() {
            self.reservation.truncated(len);
        }
    }

    /// After a flush that failed for good (in `finish` or a drop): cuts the file to the whole
    /// frames written (aligned writes may have left part of the next) and counts them in the
    /// header, in place, so that the file opens again without recovery. Frames not written are
    /// lost, as `finish` documents.
    fn keep_whole_frames(&mut self) {
        let len = self.data_offset + self.written * self.frame_len;
        if self.file.set_len(len).is_ok() {
            self.written_bytes = self.written * self.frame_len;
            self.reservation.truncated(len);
            let _ = self.write_header();
        }
    }

    /// Frees the blocks reserved past the written frames. Failing costs only disk space (the
    /// file's length and contents are as they are either way), so it is not an error.
    fn release_reservation(&mut self) {
        let len = self.data_offset + self.written_bytes;
        let _ = self.reservation.release(&self.file, len);
    }

    /// Writes buffered frames, then the header that counts them. Readers opening the file
    /// afterwards see every frame appended so far.
    ///
    /// # Errors
    /// I/O errors; the frames stay buffered, so `flush` can be retried.
    ///
    /// ```
    /// # use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// let mut out = NpyAppender::create(&path, &FrameLayout::of::<u8>(&[])).unwrap();
    /// out.append(&[1u8, 2]).unwrap();
    /// out.flush().unwrap();
    /// assert_eq!(npy_format::read_file::<u8>(&path).unwrap().data, vec![1, 2]);
    /// ```
    pub fn flush(&mut self) -> Result<(), AppendError> {
        self.write_buffer(false)?;
        self.write_header()
    }

    /// [`flush`](Self::flush) with durability: the data is synced to storage before the header
    /// counts it, and the header after (numpyWriter's `flushBuffer(strict=True)`).
    ///
    /// # Errors
    /// I/O errors.
    ///
    /// ```
    /// # use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut out = NpyAppender::create(dir.path().join("a.npy"), &FrameLayout::of::<u8>(&[])).unwrap();
    /// out.append(&[1u8, 2]).unwrap();
    /// out.sync().unwrap();
    /// assert_eq!(out.flushed_frames(), 2);
    /// ```
    pub fn sync(&mut self) -> Result<(), AppendError> {
        self.write_buffer(false)?;
        self.file
            .sync_data()
            .map_err(|e| crate::error::append_io(&self.path, e))?;
        if self.counted != self.written {
            self.write_header()?;
            self.file
                .sync_data()
                .map_err(|e| crate::error::append_io(&self.path, e))?;
        }
        if !self.entry_durable {
            // A file this appender created: make its name durable too.
            fsutil::sync_parent(&self.path).map_err(|e| crate::error::append_io(&self.path, e))?;
            self.entry_durable = true;
        }
        Ok(())
    }

    /// Flushes, releases the lock and returns the final header. This is where errors surface
    /// that dropping the appender could only report to [`AppendOptions::on_drop_error`].
    /// (It does not sync: call [`sync`](Self::sync) first for durability.)
    ///
    /// # Errors
    /// As [`flush`](Self::flush); the unflushed frames are then lost (the file holds the frames
    /// flushed before). To retry instead, call `flush` until it succeeds, then `finish`.
    ///
    /// ```
    /// # use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut out = NpyAppender::create(dir.path().join("a.npy"), &FrameLayout::of::<f32>(&[2])).unwrap();
    /// out.append(&[1.0f32, 2.0]).unwrap();
    /// assert_eq!(out.finish().unwrap().shape, vec![1, 2]);
    /// ```
    pub fn finish(mut self) -> Result<Header, AppendError> {
        self.done = true;
        let flushed = if self.sync_on_finish {
            self.sync()
        } else {
            self.flush()
        };
        if flushed.is_err() {
            self.keep_whole_frames();
        }
        self.release_reservation();
        flushed.map(|()| self.header.clone())
    }

    /// Discards every frame appended since the header was last updated: buffered frames are
    /// dropped and written ones cut off, so the file is again what readers saw at the last
    /// flush. Returns that header. With
    /// [`update_header_on_spill(false)`](AppendOptions::update_header_on_spill) this undoes
    /// everything since the last explicit flush.
    ///
    /// # Errors
    /// I/O errors from truncating the file (the header is not touched either way).
    ///
    /// ```
    /// # use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// let mut out = NpyAppender::create(&path, &FrameLayout::of::<u8>(&[])).unwrap();
    /// out.append(&[1u8, 2]).unwrap();
    /// out.flush().unwrap();
    /// out.append(&[3u8]).unwrap();
    /// assert_eq!(out.abandon().unwrap().shape, vec![2]);
    /// assert_eq!(std::fs::metadata(&path).unwrap().len(), 128 + 2);
    /// ```
    pub fn abandon(mut self) -> Result<Header, AppendError> {
        self.done = true;
        self.buffer.clear();
        self.written = self.counted;
        self.written_bytes = self.counted * self.frame_len;
        self.set_frame_count(self.counted);
        let len = self.data_offset + self.counted * self.frame_len;
        self.file
            .set_len(len)
            .map_err(|e| crate::error::append_io(&self.path, e))?;
        self.reservation.truncated(len);
        Ok(self.header.clone())
    }

    /// Appends an `ndarray` view: either whole frames (the array's dimensions, with any length
    /// along the growth axis) or a single frame (the frame shape). Any memory layout is
    /// accepted; views not already in the file's storage order are copied into it.
    ///
    /// # Errors
    /// [`AppendErrorKind::Shape`] for other shapes; as [`append`](Self::append) otherwise.
    ///
    /// ```
    /// use ndarray::{array, s};
    /// use npy_append::{FrameLayout, NpyAppender};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut out = NpyAppender::create(dir.path().join("a.npy"), &FrameLayout::of::<f64>(&[2])).unwrap();
    /// let a = array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
    /// assert_eq!(out.append_array_view(a.view()).unwrap(), 3);
    /// assert_eq!(out.append_array_view(a.slice(s![.., 0])).unwrap_err().to_string().contains("shape"), true);
    /// assert_eq!(out.append_array_view(a.row(1)).unwrap(), 1); // one frame
    /// assert_eq!(out.append_array_view(a.slice(s![..;2, ..])).unwrap(), 2); // copied
    /// assert_eq!(out.finish().unwrap().shape, vec![6, 2]);
    /// ```
    #[cfg(feature = "ndarray")]
    pub fn append_array_view<T: Element, D: ndarray::Dimension>(
        &mut self,
        view: ndarray::ArrayView<'_, T, D>,
    ) -> Result<u64, AppendError> {
        let given: Vec<u64> = view.shape().iter().map(|&d| d as u64).collect();
        let frame_shape = self.header.frame_shape();
        let frames = if given.len() == self.header.shape.len() {
            let mut rest = given.clone();
            let frames = rest.remove(self.axis);
            (rest == frame_shape).then_some(frames)
        } else {
            (given == frame_shape).then_some(1)
        };
        let Some(frames) = frames else {
            return Err(AppendError::new(
                self.path.clone(),
                AppendErrorKind::Shape {
                    given,
                    frame_shape,
                    axis: self.axis,
                },
            ));
        };
        // Storage order: C order of the view, or C order of its transpose for Fortran.
        let ordered = if self.header.fortran_order {
            view.reversed_axes()
        } else {
            view
        };
        let copy;
        let elements: &[T] = match ordered.as_slice() {
            Some(slice) => slice,
            None => {
                copy = ordered.iter().copied().collect::<Vec<T>>();
                &copy
            }
        };
        let appended = self.append(elements)?;
        if appended != frames {
            // Only reachable for zero-length frames, which elements cannot count.
            self.append_frames(&[], frames - appended)?;
        }
        Ok(frames)
    }
}

impl Drop for NpyAppender {
    fn drop(&mut self) {
        if !self.done {
            if let Err(e) = self.flush() {
                self.keep_whole_frames();
                (self.on_drop_error)(&e);
            }
            self.release_reservation();
        }
    }
}

impl FrameSink for NpyAppender {
    type Error = AppendError;

    fn header(&self) -> &Header {
        &self.header
    }

    // The appender checks every append itself, in a fast path shaped for per-frame loops, so
    // the provided check is skipped rather than done twice.
    fn append_frames(&mut self, bytes: &[u8], frames: u64) -> Result<(), AppendError> {
        NpyAppender::append_frames(self, bytes, frames)
    }

    fn append_frames_unchecked(&mut self, bytes: &[u8], frames: u64) -> Result<(), AppendError> {
        NpyAppender::append_frames(self, bytes, frames)
    }

    fn frame_error(&self, error: FrameError) -> AppendError {
        NpyAppender::frame_error(self, error)
    }

    fn flush(&mut self) -> Result<(), AppendError> {
        NpyAppender::flush(self)
    }

    fn sync(&mut self) -> Result<(), AppendError> {
        NpyAppender::sync(self)
    }

    fn finish(self) -> Result<Header, AppendError> {
        NpyAppender::finish(self)
    }

    fn append<T: Element>(&mut self, data: &[T]) -> Result<u64, AppendError>
    where
        Self: Sized,
    {
        NpyAppender::append(self, data)
    }
}
