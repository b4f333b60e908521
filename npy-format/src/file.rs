//! `.npy` files opened through a memory map: header, raw data, typed views, frames.
//!
//! The whole file (header and data) is mapped from offset 0, so the data starts at the page-aligned
//! base plus the 64-byte-aligned data offset: every element type's alignment holds by construction
//! for files numpy writes. Only the bytes the header accounts for are mapped; bytes past them
//! (numpy ignores them, an appender may be adding them) are not touched.

use std::fs::{File, OpenOptions as FsOpenOptions};
use std::io::{BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use array_files_fs::map::{MapOptions, Mmap, MmapMut};

use crate::element::Element;
use crate::error::{FrameRangeError, ReadError, ReadErrorKind, ViewError};
use crate::frames::{FrameSource, checked_range_len};
use crate::header::{Header, ParsedHeader, ReadOptions, Version};
use crate::view::{TypedView, TypedViewMut, to_vec};

/// How an [`NpyFile`] maps its data.
///
/// ```
/// use npy_format::{Mode, NpyFile};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npy");
/// # npy_format::write_file(&path, &[1u8, 2], &[2]).unwrap();
/// assert_eq!(Mode::default(), Mode::ReadOnly);
/// let mut file = NpyFile::options().mode(Mode::ReadWrite).open(&path).unwrap();
/// file.data_mut().unwrap()[0] = 5;
/// file.flush().unwrap();
/// assert_eq!(npy_format::read_file::<u8>(&path).unwrap().data, vec![5, 2]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Shared, read-only (numpy's `mmap_mode='r'`).
    #[default]
    ReadOnly,
    /// Shared, writable: changes go to the file (numpy's `'r+'`).
    ReadWrite,
    /// Private, writable: changes stay in memory (numpy's `'c'`).
    CopyOnWrite,
}

/// Options for opening an [`NpyFile`].
///
/// ```
/// use npy_format::{Mode, NpyFile};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npy");
/// # npy_format::write_file(&path, &[1.0f32, 2.0], &[2]).unwrap();
/// let mut file = NpyFile::options().mode(Mode::CopyOnWrite).open(&path).unwrap();
/// file.view_mut::<f32>().unwrap().as_mut_slice()[0] = 9.0;
/// assert_eq!(npy_format::read_file::<f32>(&path).unwrap().data, vec![1.0, 2.0]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenOptions {
    mode: Mode,
    read: ReadOptions,
}

impl OpenOptions {
    /// The defaults: read-only map, numpy's header size limit (== `Default::default()`).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u8, 2], &[2]).unwrap();
    /// let options = npy_format::OpenOptions::new();
    /// // One options value serves many files.
    /// let (a, b) = (options.open(&path).unwrap(), options.open(&path).unwrap());
    /// assert_eq!(a.header(), b.header());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The mapping mode (default read-only).
    ///
    /// ```
    /// use npy_format::{Mode, NpyFile, ReadErrorKind, ResultKind};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// # npy_format::write_file(&path, &[1u8, 2], &[2]).unwrap();
    /// let mut file = NpyFile::options().mode(Mode::ReadOnly).open(&path).unwrap();
    /// assert!(matches!(file.data_mut().err_kind(), Some(ReadErrorKind::ReadOnly { .. })));
    /// ```
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The header size limit (default 10000 characters, as numpy).
    ///
    /// ```
    /// use npy_format::{HeaderError, NpyFile, ReadErrorKind};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// # npy_format::write_file(&path, &[1u8, 2], &[2]).unwrap();
    /// let err = NpyFile::options().max_header_size(10).open(&path).unwrap_err();
    /// let too_large = |e: &HeaderError| matches!(e, HeaderError::TooLarge { max: 10, .. });
    /// assert!(matches!((&err).kind(), ReadErrorKind::Header { source, .. } if too_large(source)));
    /// assert!(NpyFile::options().max_header_size(100_000).open(&path).is_ok());
    /// ```
    pub fn max_header_size(mut self, max: usize) -> Self {
        self.read.max_header_size = max;
        self
    }

    /// Opens and maps the file.
    ///
    /// # Errors
    /// [`ReadError`] naming the file: I/O, a bad header, a file shorter than its header says.
    ///
    /// ```
    /// use npy_format::NpyFile;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u8, 2], &[2]).unwrap();
    /// let file = NpyFile::options().open(&path).unwrap();
    /// assert_eq!(file.header().shape, vec![2]);
    /// assert!(NpyFile::options().open(dir.path().join("missing.npy")).is_err());
    /// ```
    pub fn open(&self, path: impl AsRef<Path>) -> Result<NpyFile, ReadError> {
        NpyFile::open_with(path.as_ref(), *self)
    }
}

enum Map {
    ReadOnly(Mmap),
    Writable(MmapMut),
}

/// A memory-mapped `.npy` file.
///
/// # When the file shrinks
///
/// Like every memory map, the view is only as stable as the file. If another process truncates
/// the file while it is mapped, touching a mapped byte past the new end raises `SIGBUS` on Unix
/// (the process dies unless it handles the signal) and an access violation on Windows: no
/// Rust error can report it, because the read is a plain memory access. Appending (what
/// npy-append does) is safe: the map covers only the bytes the header accounted for when the
/// file was opened. Replacing the file by rename (what every writer of this workspace does) is
/// safe too: the map keeps the old file. A program that must survive files truncated under it
/// reads with [`read_file`](crate::read_file) / [`read_array`](crate::read_array) (plain reads:
/// a shrunk file is a [`ReadError`](crate::ReadError)), as the `npy` command does for whole
/// files.
///
/// ```
/// use npy_format::NpyFile;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npy");
/// npy_format::write_file(&path, &[1i32, 2, 3, 4, 5, 6], &[2, 3]).unwrap();
/// let file = NpyFile::open(&path).unwrap();
/// assert_eq!(file.header().shape, vec![2, 3]);
/// assert_eq!(file.data_offset(), 128);
/// let view = file.view::<i32>().unwrap();
/// assert_eq!(view.as_slice(), &[1, 2, 3, 4, 5, 6]);
/// assert_eq!(file.frames(1, 2).unwrap().len(), 12);
/// ```
pub struct NpyFile {
    path: PathBuf,
    parsed: ParsedHeader,
    file_len: u64,
    mode: Mode,
    map: Map,
}

impl std::fmt::Debug for NpyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpyFile")
            .field("path", &self.path)
            .field("header", &self.parsed.header)
            .field("version", &self.parsed.version)
            .field("data_offset", &self.parsed.data_offset)
            .field("mode", &self.mode)
            .finish()
    }
}

impl NpyFile {
    /// Opens `path` read-only.
    ///
    /// # Errors
    /// [`ReadError`] naming the file.
    ///
    /// ```
    /// let err = npy_format::NpyFile::open("/no/such.npy").unwrap_err();
    /// assert!(err.to_string().starts_with("/no/such.npy"));
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<NpyFile, ReadError> {
        OpenOptions::default().open(path)
    }

    /// Options: mode and header limit.
    ///
    /// ```
    /// use npy_format::{Mode, NpyFile};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// # npy_format::write_file(&path, &[1u8, 2], &[2]).unwrap();
    /// let mut file = NpyFile::options().mode(Mode::CopyOnWrite).open(&path).unwrap();
    /// file.data_mut().unwrap()[1] = 9;
    /// assert_eq!(file.to_vec::<u8>().unwrap(), vec![1, 9]);
    /// assert_eq!(npy_format::read_file::<u8>(&path).unwrap().data, vec![1, 2]);
    /// ```
    pub fn options() -> OpenOptions {
        OpenOptions::default()
    }

    fn open_with(path: &Path, options: OpenOptions) -> Result<NpyFile, ReadError> {
        let io_err = |source| ReadError::new(path.to_path_buf(), ReadErrorKind::Io { source });
        let file = FsOpenOptions::new()
            .read(true)
            .write(options.mode == Mode::ReadWrite)
            .open(path)
            .map_err(io_err)?;
        // The length is taken after the header: an appender writes data before it grows the
        // header, so a header read first never counts more bytes than the file then holds. A
        // header read while an appender rewrites its digits can still come out torn (a count
        // never written, such as 1399 between 1299 and 1300); a torn count that is too high looks
        // like truncation, so a short file has its header read again before it is reported.
        let mut attempts = 0;
        let (parsed, file_len) = loop {
            if attempts > 0 {
                // A fresh file handle starts at 0; only a retry has to go back.
                (&file).seek(SeekFrom::Start(0)).map_err(io_err)?;
            }
            let mut reader = BufReader::with_capacity(4096, &file);
            let parsed = Header::read_from(&mut reader, options.read).map_err(|source| {
                ReadError::new(path.to_path_buf(), ReadErrorKind::Header { source })
            })?;
            let file_len = file.metadata().map_err(io_err)?.len();
            let needed = parsed
                .data_offset
                .saturating_add(parsed.header.data_len().unwrap_or(u64::MAX));
            attempts += 1;
            if file_len >= needed || parsed.header.dtype.has_object() || attempts == 3 {
                break (parsed, file_len);
            }
        };
        let data_len = parsed.header.data_len().unwrap_or(u64::MAX);
        let available = file_len.saturating_sub(parsed.data_offset);
        // Object arrays hold a pickle of unknown length; only their header is of use.
        let mapped_data = if parsed.header.dtype.has_object() {
            0
        } else if available < data_len {
            return Err(ReadError::new(
                path.to_path_buf(),
                ReadErrorKind::Truncated {
                    data_offset: parsed.data_offset,
                    expected: data_len,
                    available,
                },
            ));
        } else {
            data_len
        };
        let map_len = usize::try_from(parsed.data_offset + mapped_data).map_err(|_| {
            io_err(std::io::Error::new(
                std::io::ErrorKind::OutOfMemory,
                "the array is larger than this platform's address space",
            ))
        })?;
        let map = map_file(&file, map_len, options.mode).map_err(io_err)?;
        Ok(NpyFile {
            path: path.to_path_buf(),
            parsed,
            file_len,
            mode: options.mode,
            map,
        })
    }

    /// The file's path.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u8, 2], &[2]).unwrap();
    /// let file = npy_format::NpyFile::open(&path).unwrap();
    /// assert_eq!(file.path(), path);
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The header.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1i16, 2, 3, 4, 5, 6], &[3, 2]).unwrap();
    /// let file = npy_format::NpyFile::open(&path).unwrap();
    /// assert_eq!(file.header().dtype.descr(), "'<i2'");
    /// assert_eq!(file.header().shape, vec![3, 2]);
    /// assert!(!file.header().fortran_order);
    /// ```
    pub fn header(&self) -> &Header {
        &self.parsed.header
    }

    /// The format version of the file.
    ///
    /// ```
    /// use npy_format::{NpyFile, Version};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u8, 2], &[2]).unwrap();
    /// assert_eq!(NpyFile::open(&path).unwrap().version(), Version::V1);
    /// ```
    pub fn version(&self) -> Version {
        self.parsed.version
    }

    /// Bytes from the start of the file to the data.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u8, 2], &[2]).unwrap();
    /// let file = npy_format::NpyFile::open(&path).unwrap();
    /// assert_eq!(file.data_offset(), 128);
    /// assert_eq!(std::fs::metadata(&path).unwrap().len(), file.data_offset() + 2);
    /// ```
    pub fn data_offset(&self) -> u64 {
        self.parsed.data_offset
    }

    /// Bytes in the file past the array's data, when it was opened (numpy ignores them; after a
    /// crashed append they are frames that npy-append's `recover` can adopt).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u8, 2], &[2]).unwrap();
    /// assert_eq!(npy_format::NpyFile::open(&path).unwrap().trailing_len(), 0);
    /// ```
    pub fn trailing_len(&self) -> u64 {
        let end = self.parsed.data_offset + self.parsed.header.data_len().unwrap_or(0);
        self.file_len.saturating_sub(end)
    }

    fn mapped(&self) -> &[u8] {
        match &self.map {
            Map::ReadOnly(map) => map,
            Map::Writable(map) => map,
        }
    }

    fn path_err(&self, source: ViewError) -> ReadError {
        ReadError::new(self.path.clone(), ReadErrorKind::View { source })
    }

    /// The array's raw data bytes, as stored.
    ///
    /// # Errors
    /// [`ViewError::Object`] (wrapped) for object arrays, whose data is a pickle.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[0x0102u16], &[1]).unwrap();
    /// let file = npy_format::NpyFile::open(&path).unwrap();
    /// assert_eq!(file.data().unwrap(), &0x0102u16.to_ne_bytes());
    /// ```
    pub fn data(&self) -> Result<&[u8], ReadError> {
        if self.parsed.header.dtype.has_object() {
            return Err(self.path_err(ViewError::Object));
        }
        Ok(&self.mapped()[self.parsed.data_offset as usize..])
    }

    /// The array's raw data bytes, mutably (modes `ReadWrite` and `CopyOnWrite`).
    ///
    /// # Errors
    /// [`ReadErrorKind::ReadOnly`] in read-only mode; object arrays as [`Self::data`].
    ///
    /// ```
    /// use npy_format::{Mode, NpyFile};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u8, 2], &[2]).unwrap();
    /// let mut file = NpyFile::options().mode(Mode::ReadWrite).open(&path).unwrap();
    /// file.data_mut().unwrap().copy_from_slice(&[7, 8]);
    /// file.flush().unwrap();
    /// assert_eq!(npy_format::read_file::<u8>(&path).unwrap().data, vec![7, 8]);
    /// assert!(NpyFile::open(&path).unwrap().data_mut().is_err());
    /// ```
    pub fn data_mut(&mut self) -> Result<&mut [u8], ReadError> {
        if self.parsed.header.dtype.has_object() {
            return Err(self.path_err(ViewError::Object));
        }
        let offset = self.parsed.data_offset as usize;
        match &mut self.map {
            Map::Writable(map) => Ok(&mut map[offset..]),
            Map::ReadOnly(_) => Err(ReadError::new(self.path.clone(), ReadErrorKind::ReadOnly)),
        }
    }

    /// A zero-copy typed view of the data.
    ///
    /// # Errors
    /// [`ReadErrorKind::View`] with the check that failed (dtype, byte order, alignment, bools).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1.5f64, 2.5], &[2]).unwrap();
    /// let file = npy_format::NpyFile::open(&path).unwrap();
    /// assert_eq!(file.view::<f64>().unwrap().as_slice(), &[1.5, 2.5]);
    /// assert!(file.view::<f32>().is_err()); // never a silent cast
    /// ```
    pub fn view<T: Element>(&self) -> Result<TypedView<'_, T>, ReadError> {
        let data = self.data()?;
        TypedView::new(&self.parsed.header, data).map_err(|e| self.path_err(e))
    }

    /// A zero-copy mutable typed view (modes `ReadWrite` and `CopyOnWrite`).
    ///
    /// # Errors
    /// As [`Self::view`], and [`ReadErrorKind::ReadOnly`].
    ///
    /// ```
    /// use npy_format::{Mode, NpyFile};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1.0f32, 2.0], &[2]).unwrap();
    /// let mut file = NpyFile::options().mode(Mode::ReadWrite).open(&path).unwrap();
    /// file.view_mut::<f32>().unwrap().as_mut_slice()[1] = 7.0;
    /// assert_eq!(file.view::<f32>().unwrap().as_slice(), &[1.0, 7.0]);
    /// assert!(NpyFile::open(&path).unwrap().view_mut::<f32>().is_err());
    /// ```
    pub fn view_mut<T: Element>(&mut self) -> Result<TypedViewMut<'_, T>, ReadError> {
        let path = self.path.clone();
        let offset = self.parsed.data_offset as usize;
        if self.parsed.header.dtype.has_object() {
            return Err(self.path_err(ViewError::Object));
        }
        let header = &self.parsed.header;
        match &mut self.map {
            Map::Writable(map) => TypedViewMut::new(header, &mut map[offset..])
                .map_err(|source| ReadError::new(path, ReadErrorKind::View { source })),
            Map::ReadOnly(_) => Err(ReadError::new(path, ReadErrorKind::ReadOnly)),
        }
    }

    /// A copy of the data as `T` in native byte order (byte-swapped if needed).
    ///
    /// # Errors
    /// [`ReadErrorKind::View`] for a dtype mismatch or invalid bools.
    ///
    /// ```
    /// use npy_format::{DType, Header, NpyFile};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// let header = Header::new(DType::parse(">u2").unwrap(), false, vec![2]);
    /// let out = std::fs::File::create(&path).unwrap();
    /// npy_format::write_raw(out, &header, &[0x01, 0x02, 0x00, 0x05]).unwrap();
    /// let file = NpyFile::open(&path).unwrap();
    /// assert_eq!(file.to_vec::<u16>().unwrap(), vec![0x0102, 5]); // byte-swapped copy
    /// ```
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>, ReadError> {
        to_vec(&self.parsed.header, self.data()?).map_err(|e| self.path_err(e))
    }

    /// The bytes of frames `[start, end)` along the growth axis, zero-copy.
    ///
    /// # Errors
    /// [`ReadErrorKind::Frames`] for a range outside the array.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1u8, 2, 3, 4, 5, 6], &[3, 2]).unwrap();
    /// let file = npy_format::NpyFile::open(&path).unwrap();
    /// assert_eq!(file.frames(1, 3).unwrap(), &[3, 4, 5, 6]);
    /// assert!(file.frames(2, 4).is_err());
    /// ```
    pub fn frames(&self, start: u64, end: u64) -> Result<&[u8], ReadError> {
        let frame_len = self.frame_len();
        let len =
            checked_range_len(start, end, self.frame_count(), frame_len).map_err(|source| {
                ReadError::new(self.path.clone(), ReadErrorKind::Frames { source })
            })?;
        let first = (start * frame_len) as usize;
        Ok(&self.data()?[first..first + len])
    }

    /// Writes changes of a `ReadWrite` map to the file (a no-op otherwise).
    ///
    /// # Errors
    /// I/O errors.
    ///
    /// ```
    /// use npy_format::{Mode, NpyFile};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[0i32; 3], &[3]).unwrap();
    /// let mut file = NpyFile::options().mode(Mode::ReadWrite).open(&path).unwrap();
    /// file.view_mut::<i32>().unwrap().as_mut_slice()[2] = -1;
    /// file.flush().unwrap();
    /// assert_eq!(npy_format::read_file::<i32>(&path).unwrap().data, vec![0, 0, -1]);
    /// ```
    pub fn flush(&self) -> Result<(), ReadError> {
        match (&self.map, self.mode) {
            (Map::Writable(map), Mode::ReadWrite) => map
                .flush()
                .map_err(|source| ReadError::new(self.path.clone(), ReadErrorKind::Io { source })),
            _ => Ok(()),
        }
    }
}

/// Maps the first `len` bytes of `file` (header and data) as `mode` says, through the
/// workspace's one mapping function; NpyFile's docs state the contract that makes it sound (the
/// file is not truncated or rewritten in place by others while mapped).
fn map_file(file: &File, len: usize, mode: Mode) -> std::io::Result<Map> {
    let options = MapOptions::new().len(len);
    Ok(match mode {
        Mode::ReadOnly => Map::ReadOnly(options.map(file)?),
        Mode::ReadWrite => Map::Writable(options.map_mut(file)?),
        Mode::CopyOnWrite => Map::Writable(options.map_copy(file)?),
    })
}

impl FrameSource for NpyFile {
    type Error = ReadError;

    fn header(&self) -> &Header {
        &self.parsed.header
    }

    fn read_frames_unchecked(
        &mut self,
        start: u64,
        frames: u64,
        buf: &mut [u8],
    ) -> Result<(), ReadError> {
        buf.copy_from_slice(self.frames(start, start + frames)?);
        Ok(())
    }

    fn check_readable(&self) -> Result<(), ReadError> {
        // An object array's header may claim any number of bytes, none of them mapped.
        self.data().map(|_| ())
    }

    fn range_error(&self, source: FrameRangeError) -> ReadError {
        ReadError::new(self.path.clone(), ReadErrorKind::Frames { source })
    }
}
