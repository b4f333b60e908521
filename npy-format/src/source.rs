//! Byte-range sources: where a reader's bytes come from when they are not a local map. A local
//! file (positioned reads), memory, or (feature `remote`) an object store such as S3, with the
//! request counts a format's layout allows: every method is one request where the source has
//! requests, and [`ByteSource::read_ranges`] lets a source coalesce nearby ranges.
//!
//! The readers on top ([`NpyReader`](crate::NpyReader) here; npz-stream, filepack and varpack
//! too) ask for the fewest ranges their format needs; [`CountingSource`] counts them, which is
//! how the tests hold every reader to its count.
//!
//! ```
//! use npy_format::source::{ByteSource, CountingSource, MemorySource};
//! let source = CountingSource::new(MemorySource::new(b"0123456789".to_vec(), "mem"));
//! assert_eq!(source.read_at(2, 3).unwrap(), b"234");
//! let (head, len) = source.read_head(4).unwrap();
//! assert_eq!((head.as_slice(), len), (&b"0123"[..], 10));
//! assert_eq!(source.requests(), 2);
//! ```

use std::fmt;
use std::fs::File;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use array_files_fs::pread::read_exact_at;

#[cfg(feature = "remote")]
mod cache;
#[cfg(feature = "remote")]
mod remote;
mod spool;
#[cfg(feature = "remote")]
pub use cache::{CachedSource, DEFAULT_BLOCK_BYTES};
#[cfg(feature = "remote")]
pub use remote::{PART_BYTES, RemoteSource, RemoteWriter, upload_file, upload_written};
pub use spool::Spool;

/// Random access to the bytes of one object: a file, a buffer, a key in a bucket.
///
/// Every method is one request to the underlying store (one system call for a file), so a
/// reader's cost is the number of calls it makes. Reads past the end are errors of kind
/// [`io::ErrorKind::UnexpectedEof`], never short reads. Errors are like a file's: they do not
/// repeat the [`location`](Self::location), which the reader's own error names.
pub trait ByteSource: Send + Sync + fmt::Debug {
    /// Where the bytes are (a path or URL), for messages.
    fn location(&self) -> &str;

    /// The object's length in bytes (may cost a request the first time; then remembered).
    ///
    /// # Errors
    /// The store's error.
    fn len(&self) -> io::Result<u64>;

    /// Whether the object is empty.
    ///
    /// # Errors
    /// As [`len`](Self::len).
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Exactly `len` bytes at `offset`.
    ///
    /// # Errors
    /// [`io::ErrorKind::UnexpectedEof`] if the range runs past the end; the store's error.
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>>;

    /// The first `min(n, len)` bytes and the object's length, in one request where the store
    /// returns the length with the bytes (what an open needs: a header, and how long the rest
    /// is).
    ///
    /// # Errors
    /// The store's error.
    fn read_head(&self, n: usize) -> io::Result<(Vec<u8>, u64)> {
        let len = self.len()?;
        let n = (n as u64).min(len) as usize;
        Ok((self.read_at(0, n)?, len))
    }

    /// The last `min(n, len)` bytes and the object's length (what a zip's end records need),
    /// in one request where the store answers suffix ranges.
    ///
    /// # Errors
    /// The store's error.
    fn read_tail(&self, n: usize) -> io::Result<(Vec<u8>, u64)> {
        let len = self.len()?;
        let n = (n as u64).min(len);
        Ok((self.read_at(len - n, n as usize)?, len))
    }

    /// Several ranges; a store with requests may coalesce nearby ones and run them at once.
    ///
    /// # Errors
    /// As [`read_at`](Self::read_at), for any of them.
    fn read_ranges(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Vec<u8>>> {
        ranges
            .iter()
            .map(|r| self.read_at(r.start, range_len(r)?))
            .collect()
    }
}

/// A range's length as a `usize`.
pub(crate) fn range_len(range: &Range<u64>) -> io::Result<usize> {
    range
        .end
        .checked_sub(range.start)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("bad range {range:?}")))
}

fn past_end(offset: u64, len: usize, size: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("{len} bytes at offset {offset} run past the end ({size} bytes)"),
    )
}

/// A local file, read with positioned reads (no map: for readers that want requests, not
/// pages; the map stays the fast path of [`NpyFile`](crate::NpyFile)).
///
/// ```
/// use npy_format::source::{ByteSource, FileSource};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("f");
/// std::fs::write(&path, b"hello").unwrap();
/// let f = FileSource::open(&path).unwrap();
/// assert_eq!(f.read_at(1, 3).unwrap(), b"ell");
/// assert!(f.read_at(3, 5).is_err());
/// ```
#[derive(Debug)]
pub struct FileSource {
    file: File,
    location: String,
    len: OnceLock<u64>,
}

impl FileSource {
    /// Opens the file at `path`.
    ///
    /// # Errors
    /// The open's error.
    ///
    /// ```
    /// assert!(npy_format::source::FileSource::open("/no/such/file").is_err());
    /// ```
    pub fn open(path: impl AsRef<Path>) -> io::Result<FileSource> {
        let path = path.as_ref();
        Ok(FileSource {
            file: File::open(path)?,
            location: path.display().to_string(),
            len: OnceLock::new(),
        })
    }

    /// The path, as given.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("f");
    /// # std::fs::write(&path, b"").unwrap();
    /// let f = npy_format::source::FileSource::open(&path).unwrap();
    /// assert_eq!(f.path(), path);
    /// ```
    pub fn path(&self) -> PathBuf {
        PathBuf::from(&self.location)
    }
}

impl ByteSource for FileSource {
    fn location(&self) -> &str {
        &self.location
    }

    fn len(&self) -> io::Result<u64> {
        if let Some(&len) = self.len.get() {
            return Ok(len);
        }
        let len = self.file.metadata()?.len();
        Ok(*self.len.get_or_init(|| len))
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        match read_exact_at(&self.file, &mut buf, offset) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                Err(past_end(offset, len, self.file.metadata()?.len()))
            }
            other => other.map(|()| buf),
        }
    }
}

/// Bytes in memory.
///
/// ```
/// use npy_format::source::{ByteSource, MemorySource};
/// let m = MemorySource::new(vec![1, 2, 3], "three bytes");
/// assert_eq!(m.len().unwrap(), 3);
/// assert_eq!(m.read_tail(2).unwrap(), (vec![2, 3], 3));
/// ```
#[derive(Debug, Clone)]
pub struct MemorySource {
    bytes: std::sync::Arc<[u8]>,
    location: String,
}

impl MemorySource {
    /// `bytes`, named `location` in messages.
    ///
    /// ```
    /// let m = npy_format::source::MemorySource::new(vec![0u8; 4], "zeros");
    /// # use npy_format::source::ByteSource;
    /// assert_eq!(m.location(), "zeros");
    /// ```
    pub fn new(
        bytes: impl Into<std::sync::Arc<[u8]>>,
        location: impl Into<String>,
    ) -> MemorySource {
        MemorySource {
            bytes: bytes.into(),
            location: location.into(),
        }
    }
}

impl ByteSource for MemorySource {
    fn location(&self) -> &str {
        &self.location
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.bytes.len() as u64)
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let size = self.bytes.len() as u64;
        let end = offset.checked_add(len as u64).filter(|&e| e <= size);
        match end {
            Some(end) => Ok(self.bytes[offset as usize..end as usize].to_vec()),
            None => Err(past_end(offset, len, size)),
        }
    }
}

/// A source that counts the requests and bytes its reads cost, as an object store would be
/// asked them: how tests hold readers to the fewest requests their formats allow.
///
/// Each `read_at`, `read_head` and `read_tail` is one request; `read_ranges` is one request per
/// group of ranges an object store merges (ranges less than [`COALESCE_GAP`] apart, as
/// `object_store` coalesces them), and its bytes are the groups' spans, gaps included, as the
/// store sends them; `len` is a request only when no earlier request has told the length
/// (every GET answers with it).
///
/// ```
/// use npy_format::source::{ByteSource, CountingSource, MemorySource};
/// let s = CountingSource::new(MemorySource::new(vec![0u8; 100], "m"));
/// s.read_ranges(&[0..10, 20..30]).unwrap();
/// assert_eq!((s.requests(), s.bytes()), (1, 30)); // one GET of 0..30, the gap included
/// s.len().unwrap(); // known from the GET
/// assert_eq!(s.requests(), 1);
/// ```
#[derive(Debug)]
pub struct CountingSource<S> {
    inner: S,
    requests: AtomicU64,
    bytes: AtomicU64,
    len_known: std::sync::atomic::AtomicBool,
}

/// Ranges closer than this are fetched by one request of an object store (`object_store`'s
/// `OBJECT_STORE_COALESCE_DEFAULT`, 1 MiB).
pub const COALESCE_GAP: u64 = 1 << 20;

/// How many requests an object store makes for `ranges`: one per group of ranges less than
/// [`COALESCE_GAP`] apart once sorted.
///
/// ```
/// use npy_format::source::coalesced_requests;
/// assert_eq!(coalesced_requests(&[0..10, 5_000_000..5_000_010, 20..30]), 2);
/// ```
pub fn coalesced_requests(ranges: &[Range<u64>]) -> u64 {
    coalesced(ranges).len() as u64
}

/// The byte ranges an object store fetches for `ranges`: groups of ranges less than
/// [`COALESCE_GAP`] apart, each fetched whole, the gaps included.
fn coalesced(ranges: &[Range<u64>]) -> Vec<Range<u64>> {
    let mut sorted: Vec<&Range<u64>> = ranges.iter().filter(|r| r.start < r.end).collect();
    sorted.sort_by_key(|r| r.start);
    let mut groups: Vec<Range<u64>> = Vec::new();
    for range in sorted {
        match groups.last_mut() {
            Some(group) if range.start <= group.end + COALESCE_GAP => {
                group.end = group.end.max(range.end);
            }
            _ => groups.push(range.clone()),
        }
    }
    groups
}

impl<S: ByteSource> CountingSource<S> {
    /// Counts the reads of `inner`.
    ///
    /// ```
    /// let s = npy_format::source::CountingSource::new(npy_format::source::MemorySource::new(vec![], "m"));
    /// assert_eq!(s.requests(), 0);
    /// ```
    pub fn new(inner: S) -> CountingSource<S> {
        CountingSource {
            inner,
            requests: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            len_known: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Requests so far.
    ///
    /// ```
    /// use npy_format::source::{ByteSource, CountingSource, MemorySource};
    /// let s = CountingSource::new(MemorySource::new(vec![0u8; 4], "m"));
    /// s.len().unwrap();
    /// assert_eq!(s.requests(), 1);
    /// ```
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Bytes read so far.
    ///
    /// ```
    /// use npy_format::source::{ByteSource, CountingSource, MemorySource};
    /// let s = CountingSource::new(MemorySource::new(vec![0u8; 4], "m"));
    /// s.read_at(0, 3).unwrap();
    /// assert_eq!(s.bytes(), 3);
    /// ```
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The source counted.
    ///
    /// ```
    /// use npy_format::source::{ByteSource, CountingSource, MemorySource};
    /// let s = CountingSource::new(MemorySource::new(vec![0u8; 4], "m"));
    /// assert_eq!(s.inner().location(), "m");
    /// ```
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn count<T>(&self, result: io::Result<T>, bytes: impl FnOnce(&T) -> usize) -> io::Result<T> {
        self.count_n(1, result, bytes)
    }

    fn count_n<T>(
        &self,
        requests: u64,
        result: io::Result<T>,
        bytes: impl FnOnce(&T) -> usize,
    ) -> io::Result<T> {
        self.requests.fetch_add(requests, Ordering::Relaxed);
        if let Ok(value) = &result {
            self.bytes.fetch_add(bytes(value) as u64, Ordering::Relaxed);
            self.len_known.store(true, Ordering::Relaxed);
        }
        result
    }
}

impl<S: ByteSource> ByteSource for CountingSource<S> {
    fn location(&self) -> &str {
        self.inner.location()
    }

    fn len(&self) -> io::Result<u64> {
        if self.len_known.load(Ordering::Relaxed) {
            return self.inner.len();
        }
        self.count(self.inner.len(), |_| 0)
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        self.count(self.inner.read_at(offset, len), Vec::len)
    }

    fn read_head(&self, n: usize) -> io::Result<(Vec<u8>, u64)> {
        self.count(self.inner.read_head(n), |(b, _)| b.len())
    }

    fn read_tail(&self, n: usize) -> io::Result<(Vec<u8>, u64)> {
        self.count(self.inner.read_tail(n), |(b, _)| b.len())
    }

    fn read_ranges(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Vec<u8>>> {
        // As a store fetches them: each group whole, the gaps between its ranges included.
        let groups = coalesced(ranges);
        let fetched: u64 = groups.iter().map(|g| g.end - g.start).sum();
        self.count_n(groups.len() as u64, self.inner.read_ranges(ranges), |_| {
            fetched as usize
        })
    }
}

/// Sources behind references and smart pointers are sources.
macro_rules! forward_source {
    ($($ty:ty),*) => {$(
        impl<S: ByteSource + ?Sized> ByteSource for $ty {
            fn location(&self) -> &str {
                (**self).location()
            }
            fn len(&self) -> io::Result<u64> {
                (**self).len()
            }
            fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
                (**self).read_at(offset, len)
            }
            fn read_head(&self, n: usize) -> io::Result<(Vec<u8>, u64)> {
                (**self).read_head(n)
            }
            fn read_tail(&self, n: usize) -> io::Result<(Vec<u8>, u64)> {
                (**self).read_tail(n)
            }
            fn read_ranges(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Vec<u8>>> {
                (**self).read_ranges(ranges)
            }
        }
    )*};
}
forward_source!(&S, std::sync::Arc<S>, Box<S>);

/// Opens `location`: a URL (`s3://`, `gs://`, `az://`, `http(s)://`; feature `remote`) as a
/// [`RemoteSource`] behind a [`CachedSource`] of [`DEFAULT_CACHE_BYTES`], anything else as a
/// local [`FileSource`]. [`SourceOptions`] sets the cache.
///
/// # Errors
/// The open's error; a URL without the `remote` feature is [`io::ErrorKind::Unsupported`].
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("f");
/// std::fs::write(&path, b"abc").unwrap();
/// let s = npy_format::source::open(path.to_str().unwrap()).unwrap();
/// assert_eq!(s.len().unwrap(), 3);
/// ```
pub fn open(location: &str) -> io::Result<Box<dyn ByteSource>> {
    SourceOptions::new().open(location)
}

/// The cache [`open`] puts in front of an object in storage: 64 MiB.
pub const DEFAULT_CACHE_BYTES: u64 = 64 << 20;

/// How [`open`] opens a location.
///
/// ```
/// use npy_format::source::SourceOptions;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("f");
/// std::fs::write(&path, b"abc").unwrap();
/// let s = SourceOptions::new().cache_bytes(0).open(path.to_str().unwrap()).unwrap();
/// assert_eq!(s.read_at(1, 2).unwrap(), b"bc");
/// ```
#[derive(Debug, Clone)]
pub struct SourceOptions {
    cache_bytes: u64,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            cache_bytes: DEFAULT_CACHE_BYTES,
        }
    }
}

impl SourceOptions {
    /// The defaults: a cache of [`DEFAULT_CACHE_BYTES`] for objects in storage.
    ///
    /// ```
    /// let options = npy_format::source::SourceOptions::new();
    /// ```
    pub fn new() -> SourceOptions {
        SourceOptions::default()
    }

    /// The size of the cache of hot ranges of an object in storage (0: none). Local files
    /// have none: the operating system's page cache does that job.
    ///
    /// ```
    /// let options = npy_format::source::SourceOptions::new().cache_bytes(256 << 20);
    /// ```
    pub fn cache_bytes(mut self, bytes: u64) -> SourceOptions {
        self.cache_bytes = bytes;
        self
    }

    /// Opens `location`, as [`open`] does with these options.
    ///
    /// # Errors
    /// As [`open`].
    ///
    /// ```
    /// let err = npy_format::source::SourceOptions::new().open("/no/such/file").unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn open(&self, location: &str) -> io::Result<Box<dyn ByteSource>> {
        if is_url(location) {
            #[cfg(feature = "remote")]
            {
                let remote = RemoteSource::open(location)?;
                if self.cache_bytes == 0 {
                    return Ok(Box::new(remote));
                }
                return Ok(Box::new(CachedSource::new(remote, self.cache_bytes)));
            }
            #[cfg(not(feature = "remote"))]
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "object storage needs the `remote` feature",
            ));
        }
        Ok(Box::new(FileSource::open(location)?))
    }
}

/// Whether there is an object (or file) at `location`: its length asked, one `HEAD` request for
/// a URL, no cache. Only "not found" is `false`; any other failure (a timeout, a refused
/// credential) is an error, so that a writer refusing to replace an object never takes a
/// failed check for an absent one.
///
/// # Errors
/// The open's or the request's error, but for [`io::ErrorKind::NotFound`].
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("f");
/// std::fs::write(&path, b"x").unwrap();
/// assert!(npy_format::source::exists(path.to_str().unwrap()).unwrap());
/// assert!(!npy_format::source::exists("/no/such/file").unwrap());
/// ```
pub fn exists(location: &str) -> io::Result<bool> {
    let found = SourceOptions::new()
        .cache_bytes(0)
        .open(location)
        .and_then(|s| s.len());
    match found {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether `location` names an object store rather than a local path.
///
/// ```
/// assert!(npy_format::source::is_url("s3://bucket/key.npy"));
/// assert!(!npy_format::source::is_url("data/key.npy"));
/// ```
pub fn is_url(location: &str) -> bool {
    [
        "s3://", "s3a://", "gs://", "az://", "abfs://", "abfss://", "http://", "https://",
    ]
    .iter()
    .any(|scheme| location.starts_with(scheme))
}
