//! Writing archives: whole arrays, streamed members, existing `.npy` files; appending.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use npy_format::{Element, FrameError, FrameSink, Header, Version, as_bytes};

use crate::deflate::{DeflateStream, Pool, stored_blocks, stored_blocks_len};
use crate::error::{OpenError, WriteError};
use crate::format::SeekIndex;
use array_files_fs::atomic::{self, Persist, TempFile};
use array_files_fs::lock::{self as fslock, LockFail, LockMode};

use crate::io_util::{read_exact_at, write_all_at};
use crate::zip::{self, NewEntry};

/// How members are compressed.
///
/// ```
/// use npz_stream::Compression;
/// assert_eq!(Compression::default(), Compression::Stored);
/// assert_eq!(Compression::deflate(), Compression::Deflate { level: 6 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    /// No compression (numpy's `savez`); members map zero-copy.
    #[default]
    Stored,
    /// Deflate at `level` 0..=9 (numpy's `savez_compressed` uses zlib's default, 6).
    Deflate {
        /// Compression level, 0 (none) to 9 (best).
        level: u32,
    },
}

impl Compression {
    /// Deflate at zlib's default level 6, as `savez_compressed`.
    ///
    /// ```
    /// assert!(matches!(npz_stream::Compression::deflate(), npz_stream::Compression::Deflate { .. }));
    /// ```
    pub fn deflate() -> Compression {
        Compression::Deflate { level: 6 }
    }
}

/// Options for [`NpzWriter`]: compression, alignment, chunking, threads.
///
/// ```
/// use npz_stream::{Compression, NpzWriter};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// let mut npz = NpzWriter::options()
///     .compression(Compression::Deflate { level: 1 })
///     .chunk_size(256 << 10)
///     .threads(2)
///     .create(&path)
///     .unwrap();
/// npz.add_array("x", &vec![0u16; 100_000], &[100_000]).unwrap();
/// npz.finish().unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct WriterOptions {
    compression: Compression,
    align: bool,
    chunk_size: usize,
    threads: usize,
    index: bool,
    lock: LockMode,
    replace: bool,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            compression: Compression::Stored,
            align: true,
            chunk_size: 1 << 20,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            index: true,
            lock: LockMode::FailFast,
            replace: true,
        }
    }
}

impl WriterOptions {
    /// Compression of members (default [`Compression::Stored`]).
    ///
    /// ```
    /// let opts = npz_stream::WriterOptions::default().compression(npz_stream::Compression::deflate());
    /// # let _ = opts;
    /// ```
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Whether stored members put their array data on a 64-byte boundary (default true).
    ///
    /// ```
    /// let opts = npz_stream::WriterOptions::default().align(false);
    /// # let _ = opts;
    /// ```
    pub fn align(mut self, align: bool) -> Self {
        self.align = align;
        self
    }

    /// Uncompressed bytes between full-flush points of deflated members (default 1 MiB,
    /// at least 4 KiB). Chunks end at frame boundaries: the size is rounded down to whole
    /// frames when a frame is smaller than it.
    ///
    /// ```
    /// let opts = npz_stream::WriterOptions::default().chunk_size(4 << 20);
    /// # let _ = opts;
    /// ```
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes.max(4096);
        self
    }

    /// Compression threads (default: the available parallelism).
    ///
    /// ```
    /// let opts = npz_stream::WriterOptions::default().threads(1);
    /// # let _ = opts;
    /// ```
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Whether deflated members get a seek index in the central directory (default true).
    /// Without it they read like members of foreign archives.
    ///
    /// ```
    /// let opts = npz_stream::WriterOptions::default().index(false);
    /// # let _ = opts;
    /// ```
    pub fn index(mut self, index: bool) -> Self {
        self.index = index;
        self
    }

    /// What to do when another writer holds the archive's lock (default
    /// [`LockMode::FailFast`]): an append holds the lock for the writer's life, a writer that
    /// replaces an archive takes the old file's lock while it renames the new one over it, and
    /// [`recover`](Self::recover) while it checks and cuts the file. The lock is an exclusive
    /// advisory lock on the archive file (`flock` on Unix, `LockFileEx` on Windows): two
    /// writers on one archive, in one process or two, never interleave. Readers take no lock.
    ///
    /// ```
    /// use std::time::Duration;
    /// use npz_stream::{LockMode, NpzWriter, WriteError};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// NpzWriter::create(&path).unwrap().finish().unwrap();
    /// let first = NpzWriter::append(&path).unwrap();
    /// let second = NpzWriter::options().lock(LockMode::FailFast).append(&path);
    /// assert!(matches!(second, Err(WriteError::Locked { .. })));
    /// let patient = NpzWriter::options().lock(LockMode::Timeout(Duration::from_millis(10))).append(&path);
    /// assert!(matches!(patient, Err(WriteError::Locked { .. })));
    /// first.finish().unwrap();
    /// assert!(NpzWriter::append(&path).is_ok());
    /// ```
    ///
    /// ```
    /// use npz_stream::{LockMode, NpzWriter};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # NpzWriter::create(&path).unwrap().finish().unwrap();
    /// let npz = NpzWriter::options().lock(LockMode::Wait).append(&path).unwrap();
    /// npz.finish().unwrap();
    /// ```
    pub fn lock(mut self, lock: LockMode) -> Self {
        self.lock = lock;
        self
    }

    /// Whether [`create`](Self::create) (and [`zip_npy_files`]) may replace an existing file
    /// at the path (default true; the replaced file's mode, and owner where permitted, are
    /// kept). Off, `create` is [`create_new`](Self::create_new).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
    /// let refused = npz_stream::WriterOptions::default().replace(false).create(&path);
    /// assert!(matches!(refused, Err(npz_stream::WriteError::Exists { .. })));
    /// ```
    pub fn replace(mut self, replace: bool) -> Self {
        self.replace = replace;
        self
    }

    /// Creates a new archive at `path` with these options (see [`NpzWriter::create`]).
    ///
    /// # Errors
    /// [`WriteError::Io`] if the temporary file cannot be created.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let npz = npz_stream::WriterOptions::default().create(dir.path().join("a.npz")).unwrap();
    /// npz.finish().unwrap();
    /// ```
    pub fn create(self, path: impl AsRef<Path>) -> Result<NpzWriter, WriteError> {
        if !self.replace {
            return self.create_new(path);
        }
        NpzWriter::create_with(path.as_ref(), self, true)
    }

    /// Creates a new archive at `path` that must not replace an existing file: as
    /// [`create`](Self::create), but [`finish`](NpzWriter::finish) fails with
    /// [`WriteError::Exists`] (leaving the existing file alone) if `path` exists by then. The
    /// check is made when the archive is put in place, so two writers racing to create one
    /// path never overwrite each other.
    ///
    /// # Errors
    /// [`WriteError::Exists`] if `path` already exists; [`WriteError::Io`] if the temporary
    /// file cannot be created.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let npz = npz_stream::WriterOptions::default().create_new(&path).unwrap();
    /// npz.finish().unwrap();
    /// let again = npz_stream::WriterOptions::default().create_new(&path);
    /// assert!(matches!(again, Err(npz_stream::WriteError::Exists { .. })));
    /// ```
    pub fn create_new(self, path: impl AsRef<Path>) -> Result<NpzWriter, WriteError> {
        let path = path.as_ref();
        if path.symlink_metadata().is_ok() {
            return Err(WriteError::Exists {
                path: path.to_path_buf(),
            });
        }
        NpzWriter::create_with(path, self, false)
    }

    /// Restores an archive whose append was interrupted (see [`recover`](crate::recover)),
    /// taking the lock as [`lock`](Self::lock) says.
    ///
    /// # Errors
    /// As [`recover`](crate::recover).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
    /// let report = npz_stream::NpzWriter::options().lock(npz_stream::LockMode::Wait).recover(&path).unwrap();
    /// assert_eq!(report.removed, 0);
    /// ```
    pub fn recover(self, path: impl AsRef<Path>) -> Result<Recovery, WriteError> {
        recover_with(path.as_ref(), self.lock)
    }

    /// Opens an existing archive at `path` to add members (see [`NpzWriter::append`]).
    ///
    /// # Errors
    /// As [`NpzWriter::append`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
    /// let npz = npz_stream::WriterOptions::default().append(&path).unwrap();
    /// npz.finish().unwrap();
    /// ```
    pub fn append(self, path: impl AsRef<Path>) -> Result<NpzWriter, WriteError> {
        NpzWriter::append_with(path.as_ref(), self)
    }
}

/// Writes an `.npz` archive: whole arrays, streamed members, existing `.npy` files.
///
/// A new archive is written to a temporary file beside `path` and renamed over it by
/// [`finish`](Self::finish), after a sync: readers see the old file or the complete new one.
/// Dropping the writer without finishing removes the temporary file; one left by a killed
/// process (`.NAME.PID-N.tmp`, its process gone) is removed by the next writer of `path`.
/// Replacing an existing archive takes its lock for the rename, so it never cuts in on an
/// append.
///
/// Appending ([`append`](Self::append)) locks the archive (see [`LockMode`]) and writes the new
/// members *after* the old end records, then the new central directory and end records, and
/// syncs: no byte of the old archive is ever overwritten. A writer dropped unfinished, or whose
/// `finish` fails, cuts the file back to its old length. A process killed (or a machine that
/// loses power) in the middle of an append leaves the complete old archive followed by new
/// bytes: [`NpzReader`](crate::NpzReader) opens it with the old members, [`recover`](crate::recover)
/// (`npz recover`) cuts the new bytes off so that every zip reader opens it again, and the next
/// append does that by itself. See [`format`](crate::format#appending) for the layout.
///
/// ```
/// use npz_stream::{Compression, FrameSink, Header, NpzWriter, NpzReader};
/// use npy_format::{DType, FrameSource};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("run.npz");
/// let mut npz = NpzWriter::create(&path).unwrap();
/// npz.add_array("gain", &[1.0f32, 2.0, 3.0], &[3]).unwrap();
///
/// // A streamed, compressed member: frames appended one by one, count unknown in advance.
/// npz.set_compression(Compression::deflate());
/// let header = Header::new(DType::parse("<u2").unwrap(), false, vec![0, 4]);
/// let mut frames = npz.begin_member("adc", &header).unwrap();
/// for i in 0..10u16 {
///     frames.append(&[i; 4]).unwrap();
/// }
/// assert_eq!(frames.finish().unwrap().shape, vec![10, 4]);
/// npz.finish().unwrap();
///
/// let reader = NpzReader::open(&path).unwrap();
/// assert_eq!(reader.keys(), vec!["gain", "adc"]);
/// assert_eq!(reader.member("adc").unwrap().read_frames(9, 10).unwrap(), vec![9, 0, 9, 0, 9, 0, 9, 0]);
/// ```
pub struct NpzWriter {
    path: PathBuf,
    /// A new archive's temporary file, and whether `finish` may replace an existing file.
    tmp: Option<(TempFile, bool)>,
    file: File,
    end: u64,
    /// Central-directory records of members already in the archive (appending), verbatim.
    old_records: Vec<Vec<u8>>,
    entries: Vec<NewEntry>,
    names: HashSet<String>,
    comment: Vec<u8>,
    options: WriterOptions,
    pool: Option<Pool>,
    /// Appending: the archive's length before the append (what a failed append cuts back to).
    append_start: Option<u64>,
    done: bool,
}

impl std::fmt::Debug for NpzWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpzWriter")
            .field("path", &self.path)
            .field("members", &self.names.len())
            .field("end", &self.end)
            .field("options", &self.options)
            .finish()
    }
}

impl NpzWriter {
    /// Creates a new archive at `path` with default options (stored, aligned members).
    ///
    /// # Errors
    /// [`WriteError::Io`] if the temporary file cannot be created.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
    /// npz.add_array("x", &[1i64, 2], &[2]).unwrap();
    /// npz.finish().unwrap();
    /// ```
    pub fn create(path: impl AsRef<Path>) -> Result<NpzWriter, WriteError> {
        WriterOptions::default().create(path)
    }

    /// Options for a new writer.
    ///
    /// ```
    /// let opts = npz_stream::NpzWriter::options().threads(1);
    /// # let _ = opts;
    /// ```
    pub fn options() -> WriterOptions {
        WriterOptions::default()
    }

    /// Opens an existing archive to add members with default options, taking its lock
    /// ([`LockMode::FailFast`]; see [`WriterOptions::lock`]) for the writer's life. Its bytes
    /// are kept as they are: new members go after its end records, and
    /// [`finish`](Self::finish) writes a new central directory after them. If the writer is
    /// dropped unfinished the file is cut back to its old length. If a previous append was
    /// interrupted, the bytes it left are cut off first (as [`recover`](crate::recover) does).
    ///
    /// # Errors
    /// [`WriteError::Locked`] if another writer holds the lock; [`WriteError::Open`] if the
    /// archive is not readable; [`WriteError::Unsupported`] for archives with data before
    /// their first member.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// npz.add_array("a", &[1u8], &[1]).unwrap();
    /// npz.finish().unwrap();
    /// let mut npz = npz_stream::NpzWriter::append(&path).unwrap();
    /// npz.add_array("b", &[2u8], &[1]).unwrap();
    /// npz.finish().unwrap();
    /// assert_eq!(npz_stream::NpzReader::open(&path).unwrap().keys(), vec!["a", "b"]);
    /// ```
    pub fn append(path: impl AsRef<Path>) -> Result<NpzWriter, WriteError> {
        WriterOptions::default().append(path)
    }

    fn create_with(
        path: &Path,
        options: WriterOptions,
        replace: bool,
    ) -> Result<NpzWriter, WriteError> {
        let io = |source| WriteError::Io {
            path: path.to_path_buf(),
            source,
        };
        // What a killed writer of this archive left (its process is gone): a failure to
        // clean is not this writer's to report.
        let _ = atomic::remove_stale_temps(path);
        let tmp = TempFile::beside(path).map_err(io)?;
        let file = tmp.file().try_clone().map_err(io)?;
        Ok(NpzWriter {
            path: path.to_path_buf(),
            tmp: Some((tmp, replace)),
            file,
            end: 0,
            old_records: Vec::new(),
            entries: Vec::new(),
            names: HashSet::new(),
            comment: Vec::new(),
            options,
            pool: None,
            append_start: None,
            done: false,
        })
    }

    fn append_with(path: &Path, options: WriterOptions) -> Result<NpzWriter, WriteError> {
        let io = |source| WriteError::Io {
            path: path.to_path_buf(),
            source,
        };
        let (file, file_len, dir) = open_for_update(path, options.lock)?;
        if dir.prefix != 0 {
            return Err(WriteError::Unsupported {
                path: path.to_path_buf(),
                reason: format!(
                    "{} bytes of data precede the first member (a self-extracting archive?)",
                    dir.prefix
                ),
            });
        }
        if dir.end < file_len {
            // An interrupted append: cut its bytes off before adding anything.
            file.set_len(dir.end).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        let names = dir.entries.iter().map(|e| e.name.clone()).collect();
        Ok(NpzWriter {
            path: path.to_path_buf(),
            tmp: None,
            file,
            end: dir.end,
            old_records: dir.entries.into_iter().map(|e| e.raw_record).collect(),
            entries: Vec::new(),
            names,
            comment: dir.comment,
            options,
            pool: None,
            append_start: Some(dir.end),
            done: false,
        })
    }

    /// The archive's final path.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
    /// assert!(npz.path().ends_with("a.npz"));
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Changes the compression of members added from now on.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
    /// npz.set_compression(npz_stream::Compression::deflate());
    /// npz.add_array("z", &[0u8; 1000], &[1000]).unwrap();
    /// npz.finish().unwrap();
    /// ```
    pub fn set_compression(&mut self, compression: Compression) {
        self.options.compression = compression;
    }

    /// Whether the archive already has a member for `key` (`KEY.npy`).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
    /// npz.add_array("x", &[1u8], &[1]).unwrap();
    /// assert!(npz.contains("x"));
    /// assert!(!npz.contains("y"));
    /// ```
    pub fn contains(&self, key: &str) -> bool {
        self.names.contains(&format!("{key}.npy"))
    }

    fn io_err(&self, source: io::Error) -> WriteError {
        WriteError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Adds a C-order array of `T` with `shape`, as `np.savez` would write it.
    ///
    /// # Errors
    /// [`WriteError::DuplicateKey`], [`WriteError::InvalidKey`], [`WriteError::Npy`] if `data`
    /// does not have `shape`'s element count, I/O errors.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
    /// let header = npz.add_array("m", &[1.0f64, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// assert_eq!(header.shape, vec![2, 2]);
    /// assert!(npz.add_array("bad", &[1.0f64], &[2]).is_err());
    /// npz.finish().unwrap();
    /// ```
    pub fn add_array<T: Element>(
        &mut self,
        key: &str,
        data: &[T],
        shape: &[u64],
    ) -> Result<Header, WriteError> {
        let header = Header::for_array(T::dtype(), false, shape.to_vec());
        self.add_raw(key, &header, as_bytes(data))?;
        Ok(header)
    }

    /// Adds an array given as its header and raw data bytes (in the header's byte order and
    /// layout). The header is written as given.
    ///
    /// # Errors
    /// As [`Self::add_array`]; [`WriteError::Npy`] for object dtypes.
    ///
    /// ```
    /// use npy_format::{DType, Header};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
    /// let header = Header::new(DType::parse(">i2").unwrap(), true, vec![2, 2]);
    /// npz.add_raw("be", &header, &[0, 1, 0, 2, 0, 3, 0, 4]).unwrap();
    /// npz.finish().unwrap();
    /// ```
    pub fn add_raw(&mut self, key: &str, header: &Header, data: &[u8]) -> Result<(), WriteError> {
        let npy_err = |source| WriteError::Npy {
            path: self.path.clone(),
            key: key.to_owned(),
            source,
        };
        let mut header_bytes = Vec::new();
        npy_format::write_header(&mut header_bytes, header).map_err(npy_err)?;
        let expected = header.data_len().unwrap_or(u64::MAX);
        if data.len() as u64 != expected {
            return Err(npy_err(npy_format::WriteError::Length {
                expected,
                actual: data.len() as u64,
            }));
        }
        let mut member = self.begin(key, header.clone(), header_bytes, Some(expected))?;
        member.write_data(data)?;
        member.complete()?;
        Ok(())
    }

    /// Adds a stored member named exactly `name` (not `NAME.npy`) holding `bytes`: a small
    /// non-array member such as a manifest. `np.load` lists it under its full name and returns
    /// its raw bytes; [`NpzReader::read_bytes`](crate::NpzReader::read_bytes) with the same
    /// name reads it back. Its data is not aligned.
    ///
    /// # Errors
    /// [`WriteError::InvalidKey`] for an empty name, a name with NUL, over 65535 bytes, or a
    /// name the archive already holds; I/O errors (the archive is left as before the call).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// npz.add_array("x", &[1u8, 2], &[2]).unwrap();
    /// npz.add_file("meta.json", br#"{"a": 1}"#).unwrap();
    /// assert!(npz.add_file("meta.json", b"again").is_err());
    /// npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// assert_eq!(reader.keys(), vec!["x", "meta.json"]);
    /// assert_eq!(reader.read_bytes("meta.json").unwrap(), br#"{"a": 1}"#);
    /// ```
    pub fn add_file(&mut self, name: &str, bytes: &[u8]) -> Result<(), WriteError> {
        if self.done {
            return Err(self.io_err(io::Error::other("the archive is already finished")));
        }
        let invalid = |reason| WriteError::InvalidKey {
            path: self.path.clone(),
            key: name.to_owned(),
            reason,
        };
        if name.is_empty() {
            return Err(invalid("member names must not be empty"));
        }
        if name.contains('\0') {
            return Err(invalid("member names must not contain NUL"));
        }
        if name.len() > 0xFFFF {
            return Err(invalid("member names are limited to 65535 bytes"));
        }
        if self.names.contains(name) {
            return Err(invalid("the archive already has a member of that name"));
        }
        let flags = if name.is_ascii() { 0 } else { zip::FLAG_UTF8 };
        let crc32 = crc32fast::hash(bytes);
        let size = bytes.len() as u64;
        let local = zip::local_header(
            name.as_bytes(),
            flags,
            zip::METHOD_STORED,
            crc32,
            size,
            size,
            0,
        );
        let start = self.end;
        let data_start = start + local.len() as u64;
        let write = write_all_at(&self.file, &local, start)
            .and_then(|()| write_all_at(&self.file, bytes, data_start));
        if let Err(e) = write {
            let _ = self.file.set_len(start);
            return Err(self.io_err(e));
        }
        self.end = data_start + size;
        self.entries.push(NewEntry {
            name: name.as_bytes().to_vec(),
            flags,
            method: zip::METHOD_STORED,
            crc32,
            compressed_size: size,
            size,
            local_offset: start,
            extra: Vec::new(),
        });
        self.names.insert(name.to_owned());
        Ok(())
    }

    /// Adds an existing `.npy` file as member `KEY.npy`, copying its bytes (header as written,
    /// data, and any bytes after the data) without holding them in memory.
    ///
    /// # Errors
    /// [`WriteError::Input`] if the file is not a readable NPY file or is shorter than its
    /// header says; the errors of [`Self::add_raw`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let npy = dir.path().join("x.npy");
    /// npy_format::write_file(&npy, &[1.5f32, 2.5], &[2]).unwrap();
    /// let mut npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
    /// let header = npz.add_npy_file("x", &npy).unwrap();
    /// assert_eq!(header.shape, vec![2]);
    /// npz.finish().unwrap();
    /// ```
    pub fn add_npy_file(
        &mut self,
        key: &str,
        path: impl AsRef<Path>,
    ) -> Result<Header, WriteError> {
        let path = path.as_ref();
        self.check_key(key)?;
        let input = open_npy(path)?;
        let start = input.header_bytes.len() as u64;
        let mut member = self.begin(
            key,
            input.header.clone(),
            input.header_bytes.clone(),
            Some(input.available),
        )?;
        let mut buf = vec![0u8; (1 << 20).min(input.available as usize)];
        let mut at = start;
        while at < input.file_len {
            let n = (input.file_len - at).min(buf.len() as u64) as usize;
            read_exact_at(&input.file, &mut buf[..n], at).map_err(|e| input_io_err(path, e))?;
            member.write_data(&buf[..n])?;
            at += n as u64;
        }
        member.complete()?;
        Ok(input.header)
    }

    /// Writes a member compressed in memory by `prepare_npy`.
    fn add_prepared(&mut self, key: &str, prepared: Prepared) -> Result<Header, WriteError> {
        let Prepared { input, compressed } = prepared;
        let mut member = self.begin(
            key,
            input.header.clone(),
            input.header_bytes,
            Some(input.available),
        )?;
        let w = &mut *member.w;
        if let Err(e) = write_all_at(&w.file, &compressed.bytes, w.end) {
            return Err(member.io_err(e));
        }
        w.end += compressed.bytes.len() as u64;
        if let Body::Deflate { stream, .. } = &mut member.body {
            stream.adopt(input.available, &compressed);
        }
        member.written = input.available;
        member.complete()?;
        Ok(input.header)
    }

    /// Adds several `.npy` files, `(key, path)` pairs, in order. Deflated members are
    /// compressed on all the writer's threads, chunk by chunk.
    ///
    /// # Errors
    /// As [`Self::add_npy_file`]; the members added before the failing one stay.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let (a, b) = (dir.path().join("a.npy"), dir.path().join("b.npy"));
    /// npy_format::write_file(&a, &[1u8], &[1]).unwrap();
    /// npy_format::write_file(&b, &[2u8], &[1]).unwrap();
    /// let mut npz = npz_stream::NpzWriter::create(dir.path().join("ab.npz")).unwrap();
    /// npz.add_npy_files(&[("a", &a), ("b", &b)]).unwrap();
    /// npz.finish().unwrap();
    /// ```
    pub fn add_npy_files<K: AsRef<str>, P: AsRef<Path>>(
        &mut self,
        files: &[(K, P)],
    ) -> Result<Vec<Header>, WriteError> {
        let threads = self.options.threads;
        let Compression::Deflate { level } = self.options.compression else {
            return files
                .iter()
                .map(|(key, path)| self.add_npy_file(key.as_ref(), path))
                .collect();
        };
        // Small files (up to 4 chunks) are compressed in memory, `threads` files at a time;
        // larger ones chunk by chunk on all threads.
        let small = 4 * self.options.chunk_size as u64;
        let chunk_size = self.options.chunk_size;
        let mut headers = Vec::with_capacity(files.len());
        let mut i = 0;
        while i < files.len() {
            let mut batch = Vec::new();
            while i < files.len() && batch.len() < threads {
                let len = fs::metadata(files[i].1.as_ref()).map_or(u64::MAX, |m| m.len());
                if len > small {
                    break;
                }
                self.check_key(files[i].0.as_ref())?;
                batch.push(i);
                i += 1;
            }
            if batch.len() <= 1 {
                let j = match batch.first() {
                    Some(&j) => j,
                    None => {
                        i += 1;
                        i - 1
                    }
                };
                headers.push(self.add_npy_file(files[j].0.as_ref(), &files[j].1)?);
                continue;
            }
            let prepared: Vec<Result<Prepared, WriteError>> = std::thread::scope(|scope| {
                let handles: Vec<_> = batch
                    .iter()
                    .map(|&j| {
                        let path = files[j].1.as_ref();
                        scope.spawn(move || prepare_npy(path, chunk_size, level))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(self.io_err(io::Error::other("a compression thread panicked")))
                        })
                    })
                    .collect()
            });
            for (&j, prepared) in batch.iter().zip(prepared) {
                headers.push(self.add_prepared(files[j].0.as_ref(), prepared?)?);
            }
        }
        Ok(headers)
    }

    /// Opens member `KEY.npy` as a frame sink: frames are appended incrementally and the
    /// header's growth dimension (axis 0, or the last axis in Fortran order) counts them;
    /// `header`'s own value for it is ignored. Memory stays bounded by the chunk buffers.
    ///
    /// # Errors
    /// [`WriteError::DuplicateKey`], [`WriteError::InvalidKey`], [`WriteError::Npy`] for object
    /// dtypes, I/O errors.
    ///
    /// ```
    /// use npy_format::{DType, FrameSink, Header};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
    /// let mut sink = npz.begin_member("t", &Header::new(DType::parse("<f8").unwrap(), false, vec![0])).unwrap();
    /// sink.append(&[0.5f64, 1.5]).unwrap();
    /// sink.append(&[2.5f64]).unwrap();
    /// assert_eq!(sink.finish().unwrap().shape, vec![3]);
    /// npz.finish().unwrap();
    /// ```
    pub fn begin_member(
        &mut self,
        key: &str,
        header: &Header,
    ) -> Result<MemberWriter<'_>, WriteError> {
        let initial = header.with_frame_count(0);
        let mut header_bytes = Vec::new();
        npy_format::write_header(&mut header_bytes, &initial).map_err(|source| {
            WriteError::Npy {
                path: self.path.clone(),
                key: key.to_owned(),
                source,
            }
        })?;
        let mut member = self.begin(key, initial.clone(), header_bytes, None)?;
        member.version = Some(initial.version());
        Ok(member)
    }

    fn check_key(&self, key: &str) -> Result<String, WriteError> {
        let invalid = |reason| WriteError::InvalidKey {
            path: self.path.clone(),
            key: key.to_owned(),
            reason,
        };
        if key.is_empty() {
            return Err(invalid("keys must not be empty"));
        }
        if key.contains('\0') {
            return Err(invalid("keys must not contain NUL"));
        }
        let name = format!("{key}.npy");
        if name.len() > 0xFFFF {
            return Err(invalid("member names are limited to 65535 bytes"));
        }
        if self.names.contains(&name) {
            return Err(WriteError::DuplicateKey {
                path: self.path.clone(),
                key: key.to_owned(),
            });
        }
        Ok(name)
    }

    /// Writes the local header and the NPY header and returns the member being written.
    fn begin(
        &mut self,
        key: &str,
        header: Header,
        header_bytes: Vec<u8>,
        expected: Option<u64>,
    ) -> Result<MemberWriter<'_>, WriteError> {
        if self.done {
            return Err(self.io_err(io::Error::other("the archive is already finished")));
        }
        let name = self.check_key(key)?;
        let flags = if name.is_ascii() { 0 } else { zip::FLAG_UTF8 };
        let start = self.end;
        let (method, pad) = match self.options.compression {
            Compression::Stored if self.options.align => (
                zip::METHOD_STORED,
                zip::alignment_padding(start, name.len(), header_bytes.len() as u64),
            ),
            Compression::Stored => (zip::METHOD_STORED, 0),
            Compression::Deflate { .. } => (zip::METHOD_DEFLATED, 0),
        };
        let local = zip::local_header(name.as_bytes(), flags, method, 0, 0, 0, pad);
        let data_start = start + local.len() as u64;
        let body = match self.options.compression {
            Compression::Stored => Body::Stored {
                buf: Vec::new(),
                crc: crc32fast::Hasher::new(),
            },
            Compression::Deflate { level } => {
                if self.pool.is_none() {
                    let pool = Pool::new(self.options.threads).map_err(|e| self.io_err(e))?;
                    self.pool = Some(pool);
                }
                Body::Deflate {
                    stream: DeflateStream::new(level.min(9)),
                    fill: Vec::new(),
                    chunk: chunk_bytes(&header, self.options.chunk_size),
                }
            }
        };
        let header_region = match body {
            Body::Stored { .. } => header_bytes.clone(),
            Body::Deflate { .. } => stored_blocks(&header_bytes),
        };
        let write = write_all_at(&self.file, &local, start)
            .and_then(|()| write_all_at(&self.file, &header_region, data_start));
        if let Err(e) = write {
            let _ = self.file.set_len(start);
            return Err(self.io_err(e));
        }
        self.end = data_start + header_region.len() as u64;
        Ok(MemberWriter {
            key: key.to_owned(),
            name,
            flags,
            method,
            start,
            local_len: local.len() as u64,
            data_start,
            frame_len: header.frame_len().unwrap_or(0),
            header,
            header_bytes,
            version: None,
            expected,
            body,
            written: 0,
            frames: 0,
            done: false,
            w: self,
        })
    }

    /// Writes the central directory and end records, syncs, and (for a new archive) renames
    /// the temporary file to the final path and syncs the directory. An append syncs the new
    /// members before it writes the end records that make them visible, and syncs again after.
    ///
    /// # Errors
    /// I/O errors (a new archive's temporary file is removed; an append is cut back to the old
    /// archive); for a new archive, [`WriteError::Locked`] if the archive it replaces is locked
    /// by another writer, [`WriteError::Exists`] if it was created with
    /// [`create_new`](WriterOptions::create_new) and the path exists.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("empty.npz");
    /// npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
    /// assert_eq!(std::fs::metadata(&path).unwrap().len(), 22);
    /// ```
    pub fn finish(mut self) -> Result<(), WriteError> {
        self.pool = None;
        let mut cd = Vec::new();
        for record in &self.old_records {
            cd.extend_from_slice(record);
        }
        for entry in &self.entries {
            cd.extend_from_slice(&entry.record());
        }
        let count = (self.old_records.len() + self.entries.len()) as u64;
        let end_records = zip::end_records(count, self.end, cd.len() as u64, &self.comment);
        cd.extend_from_slice(&end_records);
        if self.append_start.is_some() {
            // The members reach the disk before the end records that point at them.
            self.file.sync_data().map_err(|e| self.io_err(e))?;
        }
        let result = write_all_at(&self.file, &cd, self.end)
            .and_then(|()| self.file.set_len(self.end + cd.len() as u64))
            .and_then(|()| self.file.sync_all());
        result.map_err(|e| self.io_err(e))?;
        if let Some((tmp, replace)) = self.tmp.take() {
            let path = self.path.clone();
            let result = if replace {
                // Hold the lock of the archive being replaced: no appender is writing to it.
                let old = match fslock::open_locked(&path, false, self.options.lock) {
                    Ok(old) => Some(old),
                    Err(LockFail::Io(e)) if e.kind() == io::ErrorKind::NotFound => None,
                    Err(LockFail::Locked) => return Err(WriteError::Locked { path }),
                    Err(LockFail::Io(e)) => return Err(self.io_err(e)),
                };
                let result = tmp.persist(&path, Persist::Replace);
                drop(old);
                result
            } else {
                tmp.persist(&path, Persist::NoClobber)
            };
            match result {
                Ok(_) => {}
                Err(e) if !replace && e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(WriteError::Exists { path });
                }
                Err(e) => return Err(self.io_err(e)),
            }
        }
        self.done = true;
        Ok(())
    }
}

/// What [`recover`] found and did.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
/// let report = npz_stream::recover(&path).unwrap();
/// assert_eq!((report.members, report.removed), (0, 0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovery {
    /// Members of the archive, as recovered.
    pub members: usize,
    /// Bytes cut off the end of the file: what an interrupted append had written (0 when the
    /// archive was complete and nothing was changed).
    pub removed: u64,
}

/// Restores an archive whose append was interrupted (the process killed, the machine lost
/// power): finds the last complete archive in the file (the one the append started from, as
/// [`NpzReader`](crate::NpzReader) does) and cuts off the bytes after its end records, then
/// syncs. A complete archive is left untouched. Takes the archive's lock
/// ([`LockMode::FailFast`]; [`WriterOptions::recover`] takes another mode), so it never cuts
/// an append that is still running. Appending ([`NpzWriter::append`]) does the same by itself.
///
/// Bytes after the end records of an archive written by another tool are cut off as well.
///
/// # Errors
/// [`WriteError::Locked`] if a writer holds the lock; [`WriteError::Open`] if the file holds
/// no complete archive; I/O errors.
///
/// ```
/// use std::io::Write;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
/// npz.add_array("x", &[1u8, 2], &[2]).unwrap();
/// npz.finish().unwrap();
/// let len = std::fs::metadata(&path).unwrap().len();
/// // What a killed append leaves: the old archive, then part of a new member.
/// std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(&[b'P', b'K', 3, 4, 0, 0]).unwrap();
/// let report = npz_stream::recover(&path).unwrap();
/// assert_eq!((report.members, report.removed), (1, 6));
/// assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
/// ```
pub fn recover(path: impl AsRef<Path>) -> Result<Recovery, WriteError> {
    recover_with(path.as_ref(), LockMode::FailFast)
}

fn recover_with(path: &Path, lock: LockMode) -> Result<Recovery, WriteError> {
    let (file, file_len, dir) = open_for_update(path, lock)?;
    let removed = file_len - dir.end;
    if removed > 0 {
        file.set_len(dir.end)
            .and_then(|()| file.sync_all())
            .map_err(|source| WriteError::Io {
                path: path.to_path_buf(),
                source,
            })?;
    }
    Ok(Recovery {
        members: dir.entries.len(),
        removed,
    })
}

/// Recomputes the CRC-32 of stored members of the finished archive at `path` and writes it
/// where it differs, in the member's local header and its central-directory record, then syncs
/// the file. This is what a writer through a writable memory map of member data calls before
/// closing, so that `np.load` and `zipfile` (which check CRCs) still read the archive.
///
/// `keys` selects members as [`NpzReader`](crate::NpzReader) does (exact name, then
/// `KEY.npy`); an empty slice means every stored member. Returns the names of the members whose
/// CRC changed, with the new value. Only the data is read; nothing moves.
///
/// # Errors
/// [`WriteError::Open`] if the archive is unreadable; [`WriteError::Locked`] if a writer holds
/// the archive's lock (this takes it, [`LockMode::FailFast`]); [`WriteError::InvalidKey`] for a
/// key the archive lacks; [`WriteError::Unsupported`] for a deflated member; I/O errors.
///
/// ```
/// use std::os::unix::fs::FileExt;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
/// npz.add_array("x", &[1u8, 2, 3], &[3]).unwrap();
/// npz.finish().unwrap();
/// let offset = npz_stream::NpzReader::open(&path).unwrap().info("x").unwrap().data_offset.unwrap();
/// std::fs::OpenOptions::new().write(true).open(&path).unwrap().write_all_at(&[9], offset).unwrap();
/// assert!(npz_stream::NpzReader::open(&path).unwrap().read_bytes("x").is_err()); // stale CRC
/// let changed = npz_stream::update_crc32(&path, &["x"]).unwrap();
/// assert_eq!(changed.len(), 1);
/// assert_eq!(npz_stream::NpzReader::open(&path).unwrap().read_array::<u8>("x").unwrap().data, vec![9, 2, 3]);
/// assert!(npz_stream::update_crc32(&path, &[]).unwrap().is_empty());
/// ```
pub fn update_crc32(
    path: impl AsRef<Path>,
    keys: &[&str],
) -> Result<Vec<(String, u32)>, WriteError> {
    let path = path.as_ref();
    let io = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    let (file, _, dir) = open_for_update(path, LockMode::FailFast)?;
    let mut record_offsets = Vec::with_capacity(dir.entries.len());
    let mut at = dir.cd_start;
    for entry in &dir.entries {
        record_offsets.push(at);
        at += entry.raw_record.len() as u64;
    }
    let mut selected: Vec<usize> = Vec::new();
    if keys.is_empty() {
        selected.extend(
            (0..dir.entries.len()).filter(|&i| dir.entries[i].method == zip::METHOD_STORED),
        );
    } else {
        for key in keys {
            let npy = format!("{key}.npy");
            let found = dir
                .entries
                .iter()
                .rposition(|e| e.name == *key)
                .or_else(|| dir.entries.iter().rposition(|e| e.name == npy));
            match found {
                Some(i) => selected.push(i),
                None => {
                    return Err(WriteError::InvalidKey {
                        path: path.to_path_buf(),
                        key: (*key).to_owned(),
                        reason: "the archive has no such member",
                    });
                }
            }
        }
    }
    let mut changed = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    for i in selected {
        let entry = &dir.entries[i];
        if entry.method != zip::METHOD_STORED {
            return Err(WriteError::Unsupported {
                path: path.to_path_buf(),
                reason: format!(
                    "member {} is deflated; only stored members are rewritten in place",
                    entry.name
                ),
            });
        }
        let local = zip::read_local(&file, entry, dir.cd_start).map_err(|reason| {
            WriteError::Open(OpenError::Corrupt {
                path: path.to_path_buf(),
                offset: entry.local_offset,
                reason,
            })
        })?;
        let mut hasher = crc32fast::Hasher::new();
        let mut pos = 0u64;
        while pos < entry.size {
            let n = (entry.size - pos).min(buf.len() as u64) as usize;
            read_exact_at(&file, &mut buf[..n], local.data_start + pos).map_err(io)?;
            hasher.update(&buf[..n]);
            pos += n as u64;
        }
        let crc = hasher.finalize();
        if crc != entry.crc32 {
            write_all_at(
                &file,
                &crc.to_le_bytes(),
                entry.local_offset + zip::LOCAL_CRC_AT,
            )
            .and_then(|()| write_all_at(&file, &crc.to_le_bytes(), record_offsets[i] + 16))
            .map_err(io)?;
            changed.push((entry.name.clone(), crc));
        }
    }
    if !changed.is_empty() {
        file.sync_all().map_err(io)?;
    }
    Ok(changed)
}

/// Bytes per deflate chunk: `chunk_size` rounded down to whole frames when a frame is smaller.
fn chunk_bytes(header: &Header, chunk_size: usize) -> usize {
    let frame_len = header.frame_len().unwrap_or(0);
    let size = chunk_size as u64;
    (if frame_len > 0 && frame_len <= size {
        size / frame_len * frame_len
    } else {
        size
    }) as usize
}

/// An input `.npy` file, opened and checked.
struct NpyInput {
    file: File,
    file_len: u64,
    header: Header,
    header_bytes: Vec<u8>,
    /// Bytes after the header (data and anything after it).
    available: u64,
}

fn input_io_err(path: &Path, source: io::Error) -> WriteError {
    WriteError::Input {
        path: path.to_path_buf(),
        source: npy_format::ReadError::Io {
            path: path.to_path_buf(),
            source,
        },
    }
}

fn open_npy(path: &Path) -> Result<NpyInput, WriteError> {
    let input_err = |source| WriteError::Input {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(|e| input_io_err(path, e))?;
    let file_len = file.metadata().map_err(|e| input_io_err(path, e))?.len();
    let parsed = Header::read_from(
        &mut BufReader::with_capacity(4096, &file),
        npy_format::ReadOptions::default().max_header_size(usize::MAX),
    )
    .map_err(|source| {
        input_err(npy_format::ReadError::Header {
            path: path.to_path_buf(),
            source,
        })
    })?;
    let available = file_len - parsed.data_offset;
    if !parsed.header.dtype.has_object() {
        let expected = parsed.header.data_len().unwrap_or(u64::MAX);
        if available < expected {
            return Err(input_err(npy_format::ReadError::Truncated {
                path: path.to_path_buf(),
                data_offset: parsed.data_offset,
                expected,
                available,
            }));
        }
    }
    let mut header_bytes = vec![0u8; parsed.data_offset as usize];
    read_exact_at(&file, &mut header_bytes, 0).map_err(|e| input_io_err(path, e))?;
    Ok(NpyInput {
        file,
        file_len,
        header: parsed.header,
        header_bytes,
        available,
    })
}

/// A small `.npy` file compressed in memory, ready to be written as a member.
struct Prepared {
    input: NpyInput,
    compressed: crate::deflate::Compressed,
}

fn prepare_npy(path: &Path, chunk_size: usize, level: u32) -> Result<Prepared, WriteError> {
    let input = open_npy(path)?;
    let mut data = vec![0u8; input.available as usize];
    read_exact_at(&input.file, &mut data, input.header_bytes.len() as u64)
        .map_err(|e| input_io_err(path, e))?;
    let chunk = chunk_bytes(&input.header, chunk_size);
    let compressed = crate::deflate::compress_in_memory(&data, chunk, level.min(9))
        .map_err(|e| input_io_err(path, e))?;
    Ok(Prepared { input, compressed })
}

impl Drop for NpzWriter {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // A new archive's temporary file is removed when `tmp` drops.
        if let Some(start) = self.append_start {
            let _ = self.file.set_len(start);
            let _ = self.file.sync_all();
        }
    }
}

enum Body {
    Stored {
        buf: Vec<u8>,
        crc: crc32fast::Hasher,
    },
    Deflate {
        stream: DeflateStream,
        fill: Vec<u8>,
        chunk: usize,
    },
}

/// Buffer size of stored members.
const STORED_BUF: usize = 1 << 20;

/// A member being written: a [`FrameSink`] for streamed members.
///
/// Frames go through bounded buffers (one chunk, plus the chunks in flight when compressing), so
/// a member of any size is written in bounded memory. [`finish`](FrameSink::finish) rewrites the
/// NPY header with the final frame count and patches the local header's CRC and sizes. A member
/// dropped unfinished is removed from the archive.
///
/// The member becomes visible to readers when the archive is finished; `flush` and `sync` push
/// the appended frames to the file (and to stable storage) so a finished archive needs no more
/// than the central directory.
///
/// ```
/// use npy_format::{DType, FrameSink, Header};
/// # let dir = tempfile::tempdir().unwrap();
/// let mut npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
/// let header = Header::new(DType::parse("<i4").unwrap(), true, vec![3, 0]); // Fortran: grows along the last axis
/// let mut sink = npz.begin_member("cols", &header).unwrap();
/// sink.append(&[1i32, 2, 3]).unwrap();
/// sink.append(&[4i32, 5, 6]).unwrap();
/// assert_eq!(sink.header().shape, vec![3, 2]);
/// sink.finish().unwrap();
/// npz.finish().unwrap();
/// ```
pub struct MemberWriter<'w> {
    w: &'w mut NpzWriter,
    key: String,
    name: String,
    flags: u16,
    method: u16,
    start: u64,
    local_len: u64,
    data_start: u64,
    header: Header,
    header_bytes: Vec<u8>,
    /// For streamed members, the NPY version the header is rewritten in.
    version: Option<Version>,
    expected: Option<u64>,
    frame_len: u64,
    body: Body,
    written: u64,
    frames: u64,
    done: bool,
}

impl std::fmt::Debug for MemberWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberWriter")
            .field("name", &self.name)
            .field("header", &self.header)
            .field("written", &self.written)
            .finish()
    }
}

impl MemberWriter<'_> {
    /// The member's key.
    ///
    /// ```
    /// use npy_format::{DType, Header};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
    /// let sink = npz.begin_member("k", &Header::new(DType::parse("|u1").unwrap(), false, vec![0])).unwrap();
    /// assert_eq!(sink.key(), "k");
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    fn io_err(&self, source: io::Error) -> WriteError {
        WriteError::Io {
            path: self.w.path.clone(),
            source,
        }
    }

    fn frame_err(&self, source: FrameError) -> WriteError {
        WriteError::Frames {
            path: self.w.path.clone(),
            key: self.key.clone(),
            source,
        }
    }

    /// Appends raw data bytes (whole frames are the caller's concern).
    fn write_data(&mut self, mut data: &[u8]) -> Result<(), WriteError> {
        let len = data.len() as u64;
        let w = &mut *self.w;
        let result = match &mut self.body {
            Body::Stored { buf, crc } => {
                crc.update(data);
                if buf.len() + data.len() <= STORED_BUF {
                    if buf.capacity() == 0 {
                        buf.reserve(STORED_BUF);
                    }
                    buf.extend_from_slice(data);
                    Ok(())
                } else {
                    write_all_at(&w.file, buf, w.end)
                        .map(|()| {
                            w.end += buf.len() as u64;
                            buf.clear();
                        })
                        .and_then(|()| {
                            if data.len() >= STORED_BUF {
                                write_all_at(&w.file, data, w.end).map(|()| w.end += len)
                            } else {
                                buf.extend_from_slice(data);
                                Ok(())
                            }
                        })
                }
            }
            Body::Deflate {
                stream,
                fill,
                chunk,
            } => {
                let mut result = Ok(());
                while !data.is_empty() {
                    if fill.capacity() == 0 {
                        *fill = stream
                            .spare
                            .pop()
                            .unwrap_or_else(|| Vec::with_capacity(*chunk));
                    }
                    let take = (*chunk - fill.len()).min(data.len());
                    fill.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if fill.len() == *chunk {
                        let full = std::mem::take(fill);
                        let (file, end) = (&w.file, &mut w.end);
                        let pool = w.pool.as_ref().expect("deflate members start the pool");
                        let mut write =
                            |b: &[u8]| write_all_at(file, b, *end).map(|()| *end += b.len() as u64);
                        result = stream.submit(pool, full, false, &mut write);
                        if result.is_err() {
                            break;
                        }
                    }
                }
                result
            }
        };
        result.map_err(|e| self.io_err(e))?;
        self.written += len;
        Ok(())
    }

    /// Writes buffered data to the file (for deflate: compresses the partial chunk).
    fn flush_body(&mut self, last: bool) -> Result<(), WriteError> {
        let w = &mut *self.w;
        let result = match &mut self.body {
            Body::Stored { buf, .. } => write_all_at(&w.file, buf, w.end).map(|()| {
                w.end += buf.len() as u64;
                buf.clear();
            }),
            Body::Deflate { stream, fill, .. } => {
                let (file, end) = (&w.file, &mut w.end);
                let pool = w.pool.as_ref().expect("deflate members start the pool");
                let mut write =
                    |b: &[u8]| write_all_at(file, b, *end).map(|()| *end += b.len() as u64);
                let mut result = Ok(());
                if !fill.is_empty() || last {
                    result = stream.submit(pool, std::mem::take(fill), last, &mut write);
                }
                result.and_then(|()| stream.drain(pool, &mut write))
            }
        };
        result.map_err(|e| self.io_err(e))
    }

    /// Finishes the member: final header, CRC, sizes, index, directory entry.
    fn complete(mut self) -> Result<Header, WriteError> {
        let final_header = match self.version {
            Some(_) if self.header.growth_axis().is_some() => {
                self.header.with_frame_count(self.frames)
            }
            _ => self.header.clone(),
        };
        let expected = match self.expected {
            Some(n) => n,
            None => final_header.data_len().unwrap_or(u64::MAX),
        };
        if self.written != expected {
            return Err(WriteError::Incomplete {
                path: self.w.path.clone(),
                key: self.key.clone(),
                expected,
                written: self.written,
            });
        }
        let header_bytes = match self.version {
            Some(version) => final_header
                .to_bytes_in_place(version, self.header_bytes.len())
                .map_err(|source| WriteError::Npy {
                    path: self.w.path.clone(),
                    key: self.key.clone(),
                    source,
                })?,
            None => self.header_bytes.clone(),
        };
        self.flush_body(true)?;
        let header_len = header_bytes.len() as u64;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&header_bytes);
        let (size, compressed, header_region, data_crc) = match &self.body {
            Body::Stored { crc, .. } => (
                header_len + self.written,
                header_len + self.written,
                header_bytes.clone(),
                crc.clone(),
            ),
            Body::Deflate { stream, .. } => {
                let region = stored_blocks(&header_bytes);
                debug_assert_eq!(region.len(), stored_blocks_len(header_bytes.len()));
                let compressed = region.len() as u64 + stream.written_out;
                (
                    header_len + stream.written_in,
                    compressed,
                    region,
                    stream.crc.clone(),
                )
            }
        };
        crc.combine(&data_crc);
        let crc32 = crc.finalize();
        let mut extra = Vec::new();
        if let Body::Deflate { stream, .. } = &self.body
            && self.w.options.index
        {
            let prefix = header_region.len() as u64;
            let points: Vec<(u64, u64)> = stream
                .points
                .iter()
                .map(|&(u, c)| (header_len + u, prefix + c))
                .collect();
            if !points.is_empty() {
                extra = SeekIndex { points }.to_extra_field(crc32, compressed);
            }
        }
        // Header region, then the local header's CRC and zip64 sizes.
        let file = &self.w.file;
        let mut sizes = [0u8; 16];
        sizes[..8].copy_from_slice(&size.to_le_bytes());
        sizes[8..].copy_from_slice(&compressed.to_le_bytes());
        let zip64_values_at = self.start + zip::LOCAL_LEN + self.name.len() as u64 + 4;
        write_all_at(file, &header_region, self.data_start)
            .and_then(|()| write_all_at(file, &crc32.to_le_bytes(), self.start + zip::LOCAL_CRC_AT))
            .and_then(|()| write_all_at(file, &sizes, zip64_values_at))
            .map_err(|e| self.io_err(e))?;
        debug_assert_eq!(self.w.end, self.data_start + compressed);
        debug_assert!(self.local_len > 0);
        self.w.entries.push(NewEntry {
            name: self.name.as_bytes().to_vec(),
            flags: self.flags,
            method: self.method,
            crc32,
            compressed_size: compressed,
            size,
            local_offset: self.start,
            extra,
        });
        self.w.names.insert(self.name.clone());
        self.done = true;
        Ok(final_header)
    }
}

impl Drop for MemberWriter<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let (Body::Deflate { stream, .. }, Some(pool)) = (&mut self.body, &self.w.pool) {
            stream.discard(pool);
        }
        let _ = self.w.file.set_len(self.start);
        self.w.end = self.start;
    }
}

impl FrameSink for MemberWriter<'_> {
    type Error = WriteError;

    fn header(&self) -> &Header {
        &self.header
    }

    fn append_frames(&mut self, bytes: &[u8], frames: u64) -> Result<(), WriteError> {
        npy_format::frames::check_append(&self.header, bytes.len(), frames)
            .map_err(|e| self.frame_err(e))?;
        self.write_data(bytes)?;
        self.frames += frames;
        if self.version.is_some() && self.header.growth_axis().is_some() {
            self.header = self.header.with_frame_count(self.frames);
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        self.flush_body(false)
    }

    fn sync(&mut self) -> Result<(), WriteError> {
        self.flush_body(false)?;
        self.w.file.sync_data().map_err(|e| self.io_err(e))
    }

    fn finish(self) -> Result<Header, WriteError> {
        self.complete()
    }

    fn append<T: Element>(&mut self, data: &[T]) -> Result<u64, WriteError> {
        let dtype = &self.header.dtype;
        if !T::accepts(dtype) || !dtype.is_native() {
            return Err(self.frame_err(FrameError::DType {
                expected: dtype.descr(),
                given: T::dtype().descr(),
            }));
        }
        let bytes = as_bytes(data);
        let len = bytes.len() as u64;
        let frames = match self.frame_len {
            0 if len == 0 => 0,
            0 => u64::MAX,
            n if len.is_multiple_of(n) => len / n,
            _ => u64::MAX,
        };
        if frames == u64::MAX {
            return Err(self.frame_err(FrameError::PartialFrame {
                len,
                frame_len: self.frame_len,
            }));
        }
        self.append_frames(bytes, frames)?;
        Ok(frames)
    }
}

/// Zips existing `.npy` files into a new archive at `out` (numpyWriter's `zipNpyFiles`):
/// `(key, path)` pairs become members `KEY.npy`. `out` must not be one of the inputs (compared
/// by file identity, not by name). With `delete_originals`, the inputs are removed only after
/// the archive has been synced and put in place, each file once (an input named twice, or
/// through two names of one file, is removed once).
///
/// # Errors
/// [`WriteError::InputIsOutput`] if `out` is one of the inputs; as
/// [`NpzWriter::add_npy_file`] and [`NpzWriter::finish`]; on error no archive is left at
/// `out` (an existing one is untouched) and no input is deleted.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// let a = dir.path().join("a.npy");
/// npy_format::write_file(&a, &[1u16, 2, 3], &[3]).unwrap();
/// let out = dir.path().join("out.npz");
/// let opts = npz_stream::WriterOptions::default().compression(npz_stream::Compression::deflate());
/// npz_stream::zip_npy_files(&out, &[("a", &a), ("again", &a)], opts, true).unwrap();
/// assert!(!a.exists());
/// assert_eq!(npz_stream::NpzReader::open(&out).unwrap().keys(), vec!["a", "again"]);
/// ```
pub fn zip_npy_files<K: AsRef<str>, P: AsRef<Path>>(
    out: impl AsRef<Path>,
    files: &[(K, P)],
    options: WriterOptions,
    delete_originals: bool,
) -> Result<(), WriteError> {
    let out = out.as_ref();
    let out_id = file_id(out);
    // Each input's identity, to refuse the output and to delete every file once.
    let mut ids = Vec::with_capacity(files.len());
    for (_, path) in files {
        let path = path.as_ref();
        let id = file_id(path);
        if id.is_some() && id == out_id {
            return Err(WriteError::InputIsOutput {
                path: out.to_path_buf(),
                input: path.to_path_buf(),
            });
        }
        ids.push(id);
    }
    let mut npz = options.create(out)?;
    npz.add_npy_files(files)?;
    npz.finish()?;
    if delete_originals {
        let mut deleted = HashSet::new();
        for ((_, path), id) in files.iter().zip(ids) {
            let path = path.as_ref();
            if let Some(id) = id
                && !deleted.insert(id)
            {
                continue;
            }
            fs::remove_file(path).map_err(|source| WriteError::Input {
                path: path.to_path_buf(),
                source: npy_format::ReadError::Io {
                    path: path.to_path_buf(),
                    source,
                },
            })?;
        }
    }
    Ok(())
}

/// The identity of the file `path` names (device and inode on Unix), `None` if there is none.
#[cfg(unix)]
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The identity of the file `path` names (its canonical path here), `None` if there is none.
#[cfg(not(unix))]
fn file_id(path: &Path) -> Option<PathBuf> {
    fs::canonicalize(path).ok()
}

/// Opens an existing archive for reading and writing, locked as `lock` says, with its length
/// and central directory.
fn open_for_update(path: &Path, lock: LockMode) -> Result<(File, u64, zip::Directory), WriteError> {
    let file = match fslock::open_locked(path, true, lock) {
        Ok(file) => file,
        Err(LockFail::Locked) => {
            return Err(WriteError::Locked {
                path: path.to_path_buf(),
            });
        }
        Err(LockFail::Io(source)) => {
            return Err(WriteError::Open(OpenError::Io {
                path: path.to_path_buf(),
                source,
            }));
        }
    };
    let file_len = file
        .metadata()
        .map_err(|source| WriteError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    let dir = zip::read_directory(&file, file_len, path)?;
    Ok((file, file_len, dir))
}
