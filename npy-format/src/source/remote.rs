//! Object storage through `object_store`: one GET with a range per read (a suffix range for
//! the tail, so a zip's end records cost one request), `get_ranges` coalescing nearby ranges
//! and fetching them concurrently. Configuration comes from the standard environment:
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL` (an
//! S3-compatible server: MinIO, Ceph, moto), `AWS_ALLOW_HTTP`, and the `GOOGLE_*` / `AZURE_*`
//! variables of the other stores. The calls block: they run on a small runtime of this
//! crate's, so they must not be made from inside an async runtime's worker thread.

use std::io;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use object_store::path::Path as StorePath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};

use super::ByteSource;

/// The runtime the blocking calls run on (two workers: enough to run coalesced ranges at once).
fn runtime() -> io::Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("npy-format-remote")
        .enable_all()
        .build()?;
    Ok(RUNTIME.get_or_init(|| rt))
}

fn store_error(location: &str, e: object_store::Error) -> io::Error {
    let kind = match &e {
        object_store::Error::NotFound { .. } => io::ErrorKind::NotFound,
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => io::ErrorKind::PermissionDenied,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, format!("{location}: {e}"))
}

/// One object of an object store, by URL.
///
/// ```no_run
/// use npy_format::source::{ByteSource, RemoteSource};
/// let s = RemoteSource::open("s3://bucket/run/frames.npy")?;
/// let (head, len) = s.read_head(4096)?; // one GET
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct RemoteSource {
    store: Arc<dyn ObjectStore>,
    path: StorePath,
    location: String,
    len: OnceLock<u64>,
}

impl RemoteSource {
    /// The object at `url` (`s3://bucket/key`, `gs://`, `az://`, `http(s)://`), the store
    /// configured from the environment. Nothing is requested yet.
    ///
    /// # Errors
    /// [`io::ErrorKind::InvalidInput`] for a URL no store understands or a bad configuration.
    ///
    /// ```
    /// assert!(npy_format::source::RemoteSource::open("not a url").is_err());
    /// ```
    pub fn open(url: &str) -> io::Result<RemoteSource> {
        let invalid =
            |e: String| io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: {e}"));
        let parsed = url::Url::parse(url).map_err(|e| invalid(e.to_string()))?;
        let options = std::env::vars().filter_map(|(k, v)| {
            let k = k.to_ascii_lowercase();
            let known = ["aws_", "google_", "azure_"]
                .iter()
                .any(|p| k.starts_with(p));
            known.then_some((k, v))
        });
        let (store, path) =
            object_store::parse_url_opts(&parsed, options).map_err(|e| invalid(e.to_string()))?;
        Ok(RemoteSource::from_store(Arc::from(store), path, url))
    }

    /// An object of a store built by the caller (credentials and clients of their choosing),
    /// named `location` in messages.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use npy_format::source::{ByteSource, RemoteSource};
    /// let store = Arc::new(object_store::memory::InMemory::new());
    /// let s = RemoteSource::from_store(store, "k".into(), "memory://k");
    /// assert_eq!(s.location(), "memory://k");
    /// ```
    pub fn from_store(
        store: Arc<dyn ObjectStore>,
        path: StorePath,
        location: &str,
    ) -> RemoteSource {
        RemoteSource {
            store,
            path,
            location: location.to_owned(),
            len: OnceLock::new(),
        }
    }

    fn get(&self, range: GetRange) -> io::Result<(Vec<u8>, u64)> {
        let options = GetOptions::new().with_range(Some(range));
        let result = runtime()?.block_on(async {
            let result = self.store.get_opts(&self.path, options).await?;
            let size = result.meta.size;
            let bytes = result.bytes().await?;
            Ok::<_, object_store::Error>((bytes, size))
        });
        let (bytes, size) = result.map_err(|e| store_error(&self.location, e))?;
        let _ = self.len.set(size);
        Ok((bytes.to_vec(), size))
    }
}

impl RemoteSource {
    /// Whether `e`, the error of a range request, is how a store answers one on an empty
    /// object (a whole, empty reply where a part was asked for, or 416 Range Not Satisfiable),
    /// and the object is empty (one more request, made for those errors only: never for a
    /// network failure, which would fail, and wait, twice).
    fn is_empty_object(&self, e: &io::Error) -> bool {
        let message = e.to_string();
        let range_refused = message.contains("non-partial response")
            || message.contains("status code: 416")
            || message.contains("InvalidRange");
        e.kind() == io::ErrorKind::Other && range_refused && matches!(self.len(), Ok(0))
    }
}

impl ByteSource for RemoteSource {
    fn location(&self) -> &str {
        &self.location
    }

    fn len(&self) -> io::Result<u64> {
        if let Some(&len) = self.len.get() {
            return Ok(len);
        }
        let meta = runtime()?
            .block_on(self.store.head(&self.path))
            .map_err(|e| store_error(&self.location, e))?;
        Ok(*self.len.get_or_init(|| meta.size))
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let end = offset + len as u64;
        let (bytes, size) = self.get(GetRange::Bounded(offset..end))?;
        if bytes.len() != len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{}: {len} bytes at offset {offset} run past the end ({size} bytes)",
                    self.location
                ),
            ));
        }
        Ok(bytes)
    }

    fn read_head(&self, n: usize) -> io::Result<(Vec<u8>, u64)> {
        if n == 0 {
            return Ok((Vec::new(), self.len()?));
        }
        // A range past the end is answered with what there is (an empty object: an error,
        // answered by its length).
        match self.get(GetRange::Bounded(0..n as u64)) {
            Err(e) if self.is_empty_object(&e) => Ok((Vec::new(), 0)),
            got => got,
        }
    }

    fn read_tail(&self, n: usize) -> io::Result<(Vec<u8>, u64)> {
        if n == 0 {
            return Ok((Vec::new(), self.len()?));
        }
        // As for the head: an empty object has no suffix to answer with, only its length.
        match self.get(GetRange::Suffix(n as u64)) {
            Err(e) if self.is_empty_object(&e) => Ok((Vec::new(), 0)),
            got => got,
        }
    }

    fn read_ranges(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Vec<u8>>> {
        let got = runtime()?
            .block_on(self.store.get_ranges(&self.path, ranges))
            .map_err(|e| store_error(&self.location, e))?;
        got.into_iter()
            .zip(ranges)
            .map(|(bytes, range)| {
                if bytes.len() as u64 != range.end - range.start {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("{}: range {range:?} runs past the end", self.location),
                    ));
                }
                Ok(bytes.to_vec())
            })
            .collect()
    }
}
