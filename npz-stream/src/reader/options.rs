//! How members are stored ([`Method`]) and how an archive is opened ([`ReaderOptions`]).

use super::*;

/// How a member is stored: its zip compression method.
///
/// This crate decodes [`Stored`](Method::Stored) and [`Deflated`](Method::Deflated) members;
/// the others are named so that listings and errors say what a member is
/// ([`NpzReader::list`]) instead of failing the whole archive.
///
/// ```
/// use npz_stream::Method;
/// assert_eq!(Method::Stored.as_str(), "stored");
/// assert_eq!(Method::from_code(12), Method::Bzip2);
/// assert_eq!(Method::from_code(99).to_string(), "method 99");
/// assert!(!Method::Lzma.is_decoded());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// No compression (zip method 0).
    Stored,
    /// Deflate (zip method 8).
    Deflated,
    /// bzip2 (zip method 12): Python's `zipfile.ZIP_BZIP2`; not decoded here.
    Bzip2,
    /// LZMA (zip method 14): Python's `zipfile.ZIP_LZMA`; not decoded here.
    Lzma,
    /// Zstandard (zip method 93); not decoded here.
    Zstd,
    /// xz (zip method 95); not decoded here.
    Xz,
    /// Any other zip method, by its number; not decoded here.
    Other(u16),
}

impl Method {
    /// `"stored"`, `"deflated"`, `"bzip2"`, `"lzma"`, `"zstd"`, `"xz"` or `"other"`, as
    /// `npz ls --json` prints it (with `method_code` for `"other"`).
    ///
    /// ```
    /// assert_eq!(npz_stream::Method::Deflated.as_str(), "deflated");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Stored => "stored",
            Method::Deflated => "deflated",
            Method::Bzip2 => "bzip2",
            Method::Lzma => "lzma",
            Method::Zstd => "zstd",
            Method::Xz => "xz",
            Method::Other(_) => "other",
        }
    }

    /// The method of zip method number `code`.
    ///
    /// ```
    /// assert_eq!(npz_stream::Method::from_code(8), npz_stream::Method::Deflated);
    /// ```
    pub fn from_code(code: u16) -> Method {
        match code {
            zip::METHOD_STORED => Method::Stored,
            zip::METHOD_DEFLATED => Method::Deflated,
            12 => Method::Bzip2,
            14 => Method::Lzma,
            93 => Method::Zstd,
            95 => Method::Xz,
            other => Method::Other(other),
        }
    }

    /// The zip method number.
    ///
    /// ```
    /// assert_eq!(npz_stream::Method::Lzma.code(), 14);
    /// ```
    pub fn code(self) -> u16 {
        match self {
            Method::Stored => zip::METHOD_STORED,
            Method::Deflated => zip::METHOD_DEFLATED,
            Method::Bzip2 => 12,
            Method::Lzma => 14,
            Method::Zstd => 93,
            Method::Xz => 95,
            Method::Other(code) => code,
        }
    }

    /// Whether this crate decodes the method (stored and deflated only).
    ///
    /// ```
    /// assert!(npz_stream::Method::Deflated.is_decoded());
    /// assert!(!npz_stream::Method::Bzip2.is_decoded());
    /// ```
    pub fn is_decoded(self) -> bool {
        matches!(self, Method::Stored | Method::Deflated)
    }
}

/// The name (`bzip2`), or `method N` for methods without one.
impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Method::Other(code) => write!(f, "method {code}"),
            m => f.write_str(m.as_str()),
        }
    }
}

/// Options for opening an [`NpzReader`].
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
/// let reader = npz_stream::NpzReader::options()
///     .max_header_size(100_000)
///     .index_foreign(true)
///     .open(&path)
///     .unwrap();
/// assert!(reader.is_empty());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ReaderOptions {
    pub(super) max_header_size: usize,
    pub(super) index_foreign: bool,
    pub(super) map_archive: bool,
    pub(super) stored_index: bool,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            max_header_size: npy_format::header::DEFAULT_MAX_HEADER_SIZE,
            index_foreign: false,
            map_archive: false,
            stored_index: true,
        }
    }
}

impl ReaderOptions {
    /// The defaults (== `Default::default()`): numpy's header limit, foreign members not
    /// indexed in memory, stored indexes used, positional reads rather than a map of the
    /// archive.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
    /// let options = npz_stream::ReaderOptions::new();
    /// assert!(options.open(&path).unwrap().is_empty());
    /// assert!(options.open(&path).is_ok()); // one options value serves many archives
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The longest NPY header accepted, in characters (numpy's default 10000).
    ///
    /// ```
    /// use npz_stream::{NpzWriter, ReadErrorKind, ReaderOptions, ResultKind};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = NpzWriter::create(&path).unwrap();
    /// npz.add_array("x", &[1u8, 2], &[2]).unwrap(); // a 118-character header
    /// npz.finish().unwrap();
    /// let strict = ReaderOptions::default().max_header_size(64).open(&path).unwrap();
    /// assert!(matches!(strict.info("x").err_kind(), Some(ReadErrorKind::Header { .. })));
    /// assert!(ReaderOptions::default().open(&path).unwrap().info("x").is_ok());
    /// ```
    pub fn max_header_size(mut self, max: usize) -> Self {
        self.max_header_size = max;
        self
    }

    /// Build a zran index ([`NpzReader::build_index`]) the first time frames past the start
    /// of a deflated member without a seek index are read (default false: such reads inflate
    /// from the start, or from where the previous read stopped).
    ///
    /// ```
    /// use npz_stream::{Compression, FrameSource, NpzWriter, ReaderOptions};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// // As numpy's savez_compressed writes them: deflated, no seek index.
    /// let options = NpzWriter::options().compression(Compression::deflate()).index(false);
    /// let mut npz = options.create(&path).unwrap();
    /// npz.add_array("t", &(0u32..200_000).collect::<Vec<_>>(), &[200_000]).unwrap();
    /// npz.finish().unwrap();
    /// let reader = ReaderOptions::default().index_foreign(true).open(&path).unwrap();
    /// assert!(!reader.info("t").unwrap().seekable);
    /// let last = reader.member("t").unwrap().read_frames(199_999, 200_000).unwrap();
    /// assert_eq!(last, 199_999u32.to_le_bytes());
    /// // The first read past the start built a zran index: later ones start near their frames.
    /// assert!(reader.info("t").unwrap().seekable);
    /// ```
    pub fn index_foreign(mut self, yes: bool) -> Self {
        self.index_foreign = yes;
        self
    }

    /// Use the access-point indexes that [`index`](crate::index) (`npz index`) stored in the
    /// archive or in its sidecar file ([`index_sidecar_path`](crate::index_sidecar_path))
    /// (default true): frame reads of a deflated member from numpy's `savez_compressed` then
    /// start at the nearest access point. An index whose member changed since (CRC-32, sizes
    /// or offset differ), or that does not check out, is ignored.
    ///
    /// ```
    /// use npz_stream::{Compression, NpzWriter, ReaderOptions};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let options = NpzWriter::options().compression(Compression::deflate()).index(false);
    /// let mut npz = options.create(&path).unwrap();
    /// let data: Vec<u32> = (0..300_000u32).map(|i| i.wrapping_mul(2_654_435_761) >> 9).collect();
    /// npz.add_array("t", &data, &[300_000]).unwrap();
    /// npz.finish().unwrap();
    /// npz_stream::IndexOptions::new().span(256 << 10).index(&path, &[]).unwrap();
    /// let with = ReaderOptions::default().open(&path).unwrap();
    /// assert!(with.info("t").unwrap().stored_index);
    /// let without = ReaderOptions::default().stored_index(false).open(&path).unwrap();
    /// assert!(!without.info("t").unwrap().stored_index);
    /// ```
    pub fn stored_index(mut self, yes: bool) -> Self {
        self.stored_index = yes;
        self
    }

    /// Map the whole archive at open (default false), as [`NpzReader::data`] does on first
    /// use: headers and stored members are then read from memory, without a system call
    /// each, which makes reading the headers of many members several times faster. The map's
    /// obligation applies from the open: the archive must not be truncated or rewritten in place
    /// while the reader lives. No effect on archives read from a [`ByteSource`], which are
    /// never mapped.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// # npz.add_array("x", &[1u16, 2], &[2]).unwrap();
    /// # npz.finish().unwrap();
    /// let reader = npz_stream::ReaderOptions::default().map_archive(true).open(&path).unwrap();
    /// assert_eq!(reader.info("x").unwrap().header.shape, vec![2]);
    /// ```
    pub fn map_archive(mut self, yes: bool) -> Self {
        self.map_archive = yes;
        self
    }

    /// Opens the archive at `path`.
    ///
    /// # Errors
    /// As [`NpzReader::open`].
    ///
    /// ```
    /// assert!(npz_stream::ReaderOptions::default().open("/no/such.npz").is_err());
    /// ```
    pub fn open(&self, path: impl AsRef<Path>) -> Result<NpzReader, OpenError> {
        NpzReader::open_with(path.as_ref(), *self)
    }

    /// Opens the archive in `source`, read by ranges (see [`NpzReader::open_source`]).
    ///
    /// # Errors
    /// As [`NpzReader::open_source`].
    ///
    /// ```
    /// use npy_format::source::MemorySource;
    /// use npz_stream::{ReadErrorKind, ReaderOptions, ResultKind};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// npz.add_array("x", &[1u8, 2], &[2]).unwrap(); // a 118-character header
    /// npz.finish().unwrap();
    /// let bytes = std::fs::read(&path).unwrap();
    /// let strict = ReaderOptions::new().max_header_size(64);
    /// let reader = strict.open_source(MemorySource::new(bytes, "mem://a.npz")).unwrap();
    /// assert!(matches!(reader.info("x").err_kind(), Some(ReadErrorKind::Header { .. })));
    /// ```
    pub fn open_source(&self, source: impl ByteSource + 'static) -> Result<NpzReader, OpenError> {
        NpzReader::open_source_with(Box::new(source), *self)
    }

    /// Opens the archive at `location`, a URL or a local path (see
    /// [`NpzReader::open_location`]).
    ///
    /// # Errors
    /// As [`NpzReader::open_location`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
    /// let options = npz_stream::ReaderOptions::new().map_archive(true);
    /// assert!(options.open_location(&path).unwrap().is_empty());
    /// let err = options.open_location("/no/such.npz").unwrap_err();
    /// assert!(err.to_string().starts_with("/no/such.npz: "));
    /// ```
    pub fn open_location(&self, location: impl AsRef<OsStr>) -> Result<NpzReader, OpenError> {
        let location = location.as_ref();
        match location.to_str() {
            Some(url) if npy_format::source::is_url(url) => {
                // No block cache: the reader fetches what it needs itself (a member's head with
                // its first bytes, whole members, the frames' span) and reads each once.
                let source = (npy_format::source::SourceOptions::new().cache_bytes(0))
                    .open(url)
                    .map_err(|source| {
                        OpenError::new(PathBuf::from(url), OpenErrorKind::Io { source })
                    })?;
                NpzReader::open_source_with(source, *self)
            }
            _ => self.open(Path::new(location)),
        }
    }
}
