//! [`WriterOptions`] and [`Compression`]: how an archive is written.

use super::*;

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
    pub(super) compression: Compression,
    pub(super) align: bool,
    pub(super) chunk_size: usize,
    pub(super) threads: usize,
    pub(super) index: bool,
    pub(super) lock: LockMode,
    pub(super) replace: bool,
    pub(super) warn_unfinished: bool,
    pub(super) sync: bool,
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
            warn_unfinished: true,
            sync: true,
        }
    }
}

impl WriterOptions {
    /// The defaults (== `Default::default()`): stored members, 64-byte aligned, 1 MiB
    /// chunks, every core, seek indexes for deflated members, fail fast on a held lock,
    /// replace an existing archive.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let options = npz_stream::WriterOptions::new();
    /// for name in ["a.npz", "b.npz"] { // one options value serves many archives
    ///     options.create(dir.path().join(name)).unwrap().finish().unwrap();
    /// }
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a writer dropped without [`finish`](NpzWriter::finish) says so on stderr
    /// (default true: an archive that silently never appears is a hard bug to find). Turn it
    /// off where every error already reaches the user another way (a CLI that prints its own
    /// errors, a library that returns them).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let npz = npz_stream::WriterOptions::new()
    ///     .warn_unfinished(false)
    ///     .create(dir.path().join("a.npz"))
    ///     .unwrap();
    /// drop(npz); // quietly: nothing written, no line on stderr
    /// assert!(!dir.path().join("a.npz").exists());
    /// ```
    pub fn warn_unfinished(mut self, yes: bool) -> Self {
        self.warn_unfinished = yes;
        self
    }

    /// Whether [`finish`](NpzWriter::finish) puts the archive on stable storage (default
    /// true: the file is synced before it is renamed into place, and the directory after, so a
    /// power loss leaves the old archive or the new one). Off, nothing is synced: a finished
    /// archive is still complete for every process at once (the rename is atomic), but a
    /// power loss soon after may leave an empty or partial file. For scratch results that can
    /// be made again; `np.savez` never syncs.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut npz = npz_stream::WriterOptions::new()
    ///     .sync(false)
    ///     .create(dir.path().join("scratch.npz"))
    ///     .unwrap();
    /// npz.add_array("x", &[1u8, 2], &[2]).unwrap();
    /// npz.finish().unwrap();
    /// ```
    pub fn sync(mut self, yes: bool) -> Self {
        self.sync = yes;
        self
    }

    /// Compression of members (default [`Compression::Stored`]).
    ///
    /// ```
    /// use npz_stream::{Compression, Method, NpzReader, NpzWriter};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = NpzWriter::options().compression(Compression::deflate()).create(&path).unwrap();
    /// npz.add_array("zeros", &[0u32; 10_000], &[10_000]).unwrap();
    /// npz.finish().unwrap();
    /// let info = NpzReader::open(&path).unwrap().info("zeros").unwrap();
    /// assert_eq!(info.method, Method::Deflated);
    /// assert!(info.compressed_size < info.size / 10);
    /// ```
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Whether stored members put their array data on a 64-byte boundary (default true).
    ///
    /// ```
    /// use npz_stream::{NpzReader, NpzWriter};
    /// # let dir = tempfile::tempdir().unwrap();
    /// for align in [true, false] {
    ///     let path = dir.path().join(format!("{align}.npz"));
    ///     let mut npz = NpzWriter::options().align(align).create(&path).unwrap();
    ///     npz.add_array("x", &[1.5f64; 4], &[4]).unwrap();
    ///     npz.finish().unwrap();
    ///     let info = NpzReader::open(&path).unwrap().info("x").unwrap();
    ///     // Aligned data is mappable as any element type (numpy's own archives are not).
    ///     assert_eq!(info.data_offset.unwrap() % 64 == 0, align);
    ///     assert_eq!(info.mappable, align);
    /// }
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
    /// use npz_stream::{Compression, FrameSource, NpzReader, NpzWriter};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let frames: Vec<u64> = (0..100_000).collect();
    /// let mut npz = NpzWriter::options()
    ///     .compression(Compression::deflate())
    ///     .chunk_size(4096) // a full flush every 512 frames of 8 bytes
    ///     .create(&path)
    ///     .unwrap();
    /// npz.add_array("t", &frames, &[100_000]).unwrap();
    /// npz.finish().unwrap();
    /// let reader = NpzReader::open(&path).unwrap();
    /// assert!(reader.info("t").unwrap().seekable);
    /// // The last frames inflate from the nearest flush point, not from the start.
    /// let last = reader.member("t").unwrap().read_frames(99_998, 100_000).unwrap();
    /// assert_eq!(last, [99_998u64, 99_999].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>());
    /// ```
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes.max(4096);
        self
    }

    /// Compression threads (default: the available parallelism).
    ///
    /// ```
    /// use npz_stream::{Compression, NpzWriter};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let data: Vec<u32> = (0..200_000).map(|i| i % 1000).collect();
    /// let mut archives = Vec::new();
    /// for threads in [1, 4] {
    ///     let path = dir.path().join(format!("{threads}.npz"));
    ///     let options = NpzWriter::options()
    ///         .compression(Compression::deflate())
    ///         .chunk_size(64 << 10)
    ///         .threads(threads);
    ///     let mut npz = options.create(&path).unwrap();
    ///     npz.add_array("x", &data, &[200_000]).unwrap();
    ///     npz.finish().unwrap();
    ///     archives.push(std::fs::read(&path).unwrap());
    /// }
    /// // Chunks compress independently: the threads change the speed, never the bytes.
    /// assert_eq!(archives[0], archives[1]);
    /// ```
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Whether deflated members get a seek index in the central directory (default true).
    /// Without it they read like members of foreign archives.
    ///
    /// ```
    /// use npz_stream::{Compression, NpzReader, NpzWriter};
    /// # let dir = tempfile::tempdir().unwrap();
    /// for index in [true, false] {
    ///     let path = dir.path().join(format!("{index}.npz"));
    ///     let options = NpzWriter::options().compression(Compression::deflate()).index(index);
    ///     let mut npz = options.create(&path).unwrap();
    ///     npz.add_array("x", &[7u16; 50_000], &[50_000]).unwrap();
    ///     npz.finish().unwrap();
    ///     let info = NpzReader::open(&path).unwrap().info("x").unwrap();
    ///     assert_eq!((info.indexed, info.seekable), (index, index));
    /// }
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
    /// use npz_stream::{LockMode, NpzWriter, ResultKind, WriteErrorKind};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// NpzWriter::create(&path).unwrap().finish().unwrap();
    /// let first = NpzWriter::append(&path).unwrap();
    /// let second = NpzWriter::options().lock(LockMode::FailFast).append(&path);
    /// assert!(matches!(second.err_kind(), Some(WriteErrorKind::Locked { .. })));
    /// let patient = NpzWriter::options().lock(LockMode::Timeout(Duration::from_millis(10))).append(&path);
    /// assert!(matches!(patient.err_kind(), Some(WriteErrorKind::Locked { .. })));
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
    /// use npz_stream::{ResultKind};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
    /// let refused = npz_stream::WriterOptions::default().replace(false).create(&path);
    /// assert!(matches!(refused.err_kind(), Some(npz_stream::WriteErrorKind::Exists)));
    /// ```
    pub fn replace(mut self, replace: bool) -> Self {
        self.replace = replace;
        self
    }

    /// Creates a new archive at `path` with these options (see [`NpzWriter::create`]).
    ///
    /// # Errors
    /// [`WriteErrorKind::Io`] if the temporary file cannot be created.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let npz = npz_stream::WriterOptions::default().create(dir.path().join("a.npz")).unwrap();
    /// npz.finish().unwrap();
    /// ```
    pub fn create(&self, path: impl AsRef<Path>) -> Result<NpzWriter, WriteError> {
        if !self.replace {
            return self.create_new(path);
        }
        NpzWriter::create_with(path.as_ref(), self.clone(), true)
    }

    /// Creates a new archive at `location`: a local path, as [`create`](Self::create), or a
    /// URL of object storage (`s3://`, `gs://`, `az://`; feature `remote`). For a URL the
    /// archive streams into a local file (the writer seeks back to finish each member) in a
    /// [`Spool`](npy_format::source::Spool): a directory of its own in the temporary directory
    /// (`TMPDIR`, which needs room for the archive), mode `0700` on Unix, the file made
    /// exclusively. [`finish`](NpzWriter::finish) uploads it whole, in parts; the directory is
    /// removed when the writer drops. Nothing is visible under the URL before the upload
    /// completes, and a writer dropped unfinished uploads nothing. Without
    /// [`replace`](Self::replace), an existing object is refused here
    /// ([`WriteErrorKind::Exists`]). The writer's errors, its [`path`](NpzWriter::path) and
    /// its drop warning name the URL, never the local file.
    ///
    /// # Errors
    /// As [`create`](Self::create) (the local file's errors named by the URL);
    /// [`WriteErrorKind::Io`] for a URL without the `remote` feature.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::options().create_location(path.to_str().unwrap()).unwrap();
    /// npz.add_array("x", &[1u8, 2], &[2]).unwrap();
    /// npz.finish().unwrap();
    /// ```
    pub fn create_location(&self, location: &str) -> Result<NpzWriter, WriteError> {
        if !npy_format::source::is_url(location) {
            return self.create(location);
        }
        let exists = |location| {
            npy_format::source::exists(location)
                .map_err(|source| WriteError::new(location, WriteErrorKind::Io { source }))
        };
        if !self.replace && exists(location)? {
            return Err(WriteError::new(location, WriteErrorKind::Exists));
        }
        NpzWriter::create_for_upload(location, self.clone())
    }

    /// Creates a new archive at `path` that must not replace an existing file: as
    /// [`create`](Self::create), but [`finish`](NpzWriter::finish) fails with
    /// [`WriteErrorKind::Exists`] (leaving the existing file alone) if `path` exists by then. The
    /// check is made when the archive is put in place, so two writers racing to create one
    /// path never overwrite each other.
    ///
    /// # Errors
    /// [`WriteErrorKind::Exists`] if `path` already exists; [`WriteErrorKind::Io`] if the temporary
    /// file cannot be created.
    ///
    /// ```
    /// use npz_stream::{ResultKind};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let npz = npz_stream::WriterOptions::default().create_new(&path).unwrap();
    /// npz.finish().unwrap();
    /// let again = npz_stream::WriterOptions::default().create_new(&path);
    /// assert!(matches!(again.err_kind(), Some(npz_stream::WriteErrorKind::Exists)));
    /// ```
    pub fn create_new(&self, path: impl AsRef<Path>) -> Result<NpzWriter, WriteError> {
        let path = path.as_ref();
        if path.symlink_metadata().is_ok() {
            return Err(WriteError::new(path.to_path_buf(), WriteErrorKind::Exists));
        }
        NpzWriter::create_with(path, self.clone(), false)
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
    pub fn recover(&self, path: impl AsRef<Path>) -> Result<Recovery, WriteError> {
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
    pub fn append(&self, path: impl AsRef<Path>) -> Result<NpzWriter, WriteError> {
        NpzWriter::append_with(path.as_ref(), self.clone())
    }
}
