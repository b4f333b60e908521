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
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

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

/// The store and the object path of `url`, the store configured from the environment.
fn store_of(url: &str) -> io::Result<(Arc<dyn ObjectStore>, StorePath)> {
    let invalid = |e: String| io::Error::new(io::ErrorKind::InvalidInput, e);
    let parsed = url::Url::parse(url).map_err(|e| invalid(e.to_string()))?;
    let mut options: Vec<(String, String)> = std::env::vars()
        .filter_map(|(k, v)| {
            let k = k.to_ascii_lowercase();
            let known = ["aws_", "google_", "azure_"]
                .iter()
                .any(|p| k.starts_with(p));
            known.then_some((k, v))
        })
        .collect();
    if parsed.scheme() == "http" {
        // A plain `http://` URL asks for plain HTTP: the HTTP store refuses it otherwise.
        options.push(("allow_http".into(), "true".into()));
    }
    let (store, path) =
        object_store::parse_url_opts(&parsed, options).map_err(|e| invalid(e.to_string()))?;
    Ok((Arc::from(store), path))
}

/// The store's error as an I/O error of the matching kind, in one line: without the URL (the
/// caller's error names it, as for a file) and without the server's XML body.
fn store_error(request: &str, e: object_store::Error) -> io::Error {
    let kind = match &e {
        object_store::Error::NotFound { .. } => io::ErrorKind::NotFound,
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => io::ErrorKind::PermissionDenied,
        _ => io::ErrorKind::Other,
    };
    if kind == io::ErrorKind::NotFound {
        return io::Error::new(kind, "no such object in the store");
    }
    let text = e.to_string();
    let text = text.split(" <?xml").next().unwrap_or_default().trim_end();
    io::Error::new(
        kind,
        format!("{request} failed: {}", text.replace('\n', " ")),
    )
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
        let (store, path) = store_of(url)?;
        Ok(RemoteSource::from_store(store, path, url))
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

    /// The object `name` under this one's key taken as a prefix (`s3://b/run1` and
    /// `varpack.json`: `s3://b/run1/varpack.json`), in the same store: the same configuration
    /// and connections, so a reader of many objects under one prefix (a directory of files
    /// uploaded one by one) builds one client, not one per object. `name` is a key's last part
    /// (or `/`-separated parts) taken as it is, not percent-decoded as a URL's path is: the
    /// key is the prefix, `/`, then `name`. Nothing is requested.
    ///
    /// # Errors
    /// [`io::ErrorKind::InvalidInput`] for a name no key can end in (empty, `.` or `..` parts,
    /// control characters).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use npy_format::source::{ByteSource, RemoteSource};
    /// let store = Arc::new(object_store::memory::InMemory::new());
    /// let run = RemoteSource::from_store(store, "runs/run1".into(), "memory://runs/run1/");
    /// let manifest = run.child("varpack.json").unwrap();
    /// assert_eq!(manifest.location(), "memory://runs/run1/varpack.json");
    /// assert!(run.child("../x").is_err());
    /// ```
    pub fn child(&self, name: &str) -> io::Result<RemoteSource> {
        let key = if self.path.as_ref().is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.path.as_ref())
        };
        let path = StorePath::parse(&key)
            .ok()
            .filter(|_| !name.is_empty() && !name.starts_with('/') && !name.ends_with('/'))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{name:?} is not a name of an object under a prefix"),
                )
            })?;
        let location = format!("{}/{name}", self.location.trim_end_matches('/'));
        Ok(RemoteSource::from_store(
            self.store.clone(),
            path,
            &location,
        ))
    }

    fn get(&self, range: GetRange) -> io::Result<(Vec<u8>, u64)> {
        let request = match &range {
            GetRange::Bounded(r) => format!("GET of bytes {}..{}", r.start, r.end),
            GetRange::Offset(start) => format!("GET of bytes {start}.."),
            GetRange::Suffix(n) => format!("GET of the last {n} bytes"),
        };
        let options = GetOptions::new().with_range(Some(range));
        let result = runtime()?.block_on(async {
            let result = self.store.get_opts(&self.path, options).await?;
            let size = result.meta.size;
            let bytes = result.bytes().await?;
            Ok::<_, object_store::Error>((bytes, size))
        });
        let (bytes, size) = result.map_err(|e| store_error(&request, e))?;
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
            .map_err(|e| store_error("HEAD", e))?;
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
                format!("{len} bytes at offset {offset} run past the end ({size} bytes)"),
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
            .map_err(|e| store_error(&format!("GET of {} ranges", ranges.len()), e))?;
        got.into_iter()
            .zip(ranges)
            .map(|(bytes, range)| {
                if bytes.len() as u64 != range.end - range.start {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("range {range:?} runs past the end"),
                    ));
                }
                Ok(bytes.to_vec())
            })
            .collect()
    }
}

/// Bytes a [`RemoteWriter`] gathers before it starts a multipart upload, and the size of each
/// part after (S3 wants parts of at least 5 MiB but the last).
pub const PART_BYTES: usize = 8 << 20;

/// Parts a [`RemoteWriter`] uploads at once.
const PARTS_IN_FLIGHT: usize = 4;

/// A new object written as a stream, the write side of [`RemoteSource`]: nothing is visible
/// under the key until [`finish`](Self::finish) succeeds. An object smaller than
/// [`PART_BYTES`] is one PUT at `finish`; a larger one is a multipart upload, its parts sent
/// while writing (at most four at once, so memory stays bounded), completed by `finish`. A
/// writer dropped unfinished, or whose upload failed, aborts the upload: the key keeps what it
/// held before (a process killed mid-upload leaves an incomplete upload, which the store never
/// shows as an object and expires by its lifecycle rules).
///
/// ```no_run
/// use std::io::Write;
/// let mut w = npy_format::source::RemoteWriter::create("s3://bucket/run/out.npy")?;
/// npy_format::write_array(&mut w, &[1.0f32, 2.0], &[2], false).map_err(std::io::Error::other)?;
/// w.finish()?; // now the object exists
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct RemoteWriter {
    store: Arc<dyn ObjectStore>,
    path: StorePath,
    location: String,
    pending: Vec<u8>,
    upload: Option<WriteMultipart>,
    written: u64,
    /// Set when a part failed: the upload is aborted, and every later write and the finish
    /// fail too, so that no object is made of the parts around a hole.
    failed: bool,
}

impl std::fmt::Debug for RemoteWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteWriter")
            .field("location", &self.location)
            .field("written", &self.written)
            .finish()
    }
}

impl RemoteWriter {
    /// A writer of the object at `url` (`s3://bucket/key`, `gs://`, `az://`), the store
    /// configured from the environment as for [`RemoteSource::open`]. Nothing is sent yet.
    ///
    /// # Errors
    /// [`io::ErrorKind::InvalidInput`] for a URL no store understands or a bad configuration.
    ///
    /// ```
    /// assert!(npy_format::source::RemoteWriter::create("not a url").is_err());
    /// ```
    pub fn create(url: &str) -> io::Result<RemoteWriter> {
        let (store, path) = store_of(url)?;
        Ok(RemoteWriter::from_store(store, path, url))
    }

    /// A writer of an object of a store built by the caller, named `location` in messages.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::sync::Arc;
    /// use npy_format::source::{ByteSource, RemoteSource, RemoteWriter};
    /// let store = Arc::new(object_store::memory::InMemory::new());
    /// let mut w = RemoteWriter::from_store(store.clone(), "k".into(), "memory://k");
    /// w.write_all(b"hello").unwrap();
    /// w.finish().unwrap();
    /// let s = RemoteSource::from_store(store, "k".into(), "memory://k");
    /// assert_eq!(s.read_at(0, 5).unwrap(), b"hello");
    /// ```
    pub fn from_store(store: Arc<dyn ObjectStore>, path: StorePath, location: &str) -> Self {
        RemoteWriter {
            store,
            path,
            location: location.to_owned(),
            pending: Vec::new(),
            upload: None,
            written: 0,
            failed: false,
        }
    }

    /// The object's URL.
    ///
    /// ```
    /// let w = npy_format::source::RemoteWriter::create("s3://bucket/key").unwrap();
    /// assert_eq!(w.location(), "s3://bucket/key");
    /// ```
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Bytes written so far.
    ///
    /// ```
    /// use std::io::Write;
    /// let mut w = npy_format::source::RemoteWriter::create("s3://bucket/key").unwrap();
    /// w.write_all(b"abc").unwrap(); // buffered: nothing sent yet
    /// assert_eq!(w.written(), 3);
    /// ```
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Sends what is left and makes the object visible: one PUT for a small object, the
    /// completion of the multipart upload for a large one.
    ///
    /// # Errors
    /// The store's error, naming the URL; the upload is then aborted and nothing is visible.
    pub fn finish(mut self) -> io::Result<()> {
        self.check_not_failed()?;
        let pending = std::mem::take(&mut self.pending);
        let rt = runtime()?;
        let result = match self.upload.take() {
            None => rt
                .block_on(self.store.put(&self.path, PutPayload::from(pending)))
                .map(drop),
            Some(mut upload) => {
                let _enter = rt.enter();
                upload.put(pending.into());
                rt.block_on(upload.finish()).map(drop)
            }
        };
        result.map_err(|e| store_error("upload", e))
    }

    /// Sends full parts: starts the upload at the first, waits while four are in flight.
    fn send_parts(&mut self) -> io::Result<()> {
        let rt = runtime()?;
        let _enter = rt.enter();
        let upload = match &mut self.upload {
            Some(upload) => upload,
            None => {
                let started = rt
                    .block_on(self.store.put_multipart(&self.path))
                    .map_err(|e| store_error("starting a multipart upload", e))?;
                self.upload
                    .insert(WriteMultipart::new_with_chunk_size(started, PART_BYTES))
            }
        };
        let full = self.pending.len() / PART_BYTES * PART_BYTES;
        let rest = self.pending.split_off(full);
        upload.put(std::mem::replace(&mut self.pending, rest).into());
        rt.block_on(upload.wait_for_capacity(PARTS_IN_FLIGHT))
            .map_err(|e| store_error("uploading a part", e))
    }
}

impl io::Write for RemoteWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check_not_failed()?;
        self.pending.extend_from_slice(buf);
        self.written += buf.len() as u64;
        if self.pending.len() >= PART_BYTES
            && let Err(e) = self.send_parts()
        {
            self.abort();
            return Err(e);
        }
        Ok(buf.len())
    }

    /// Parts go out as they fill; nothing is visible before [`finish`](RemoteWriter::finish),
    /// so a flush has nothing to do.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl RemoteWriter {
    fn check_not_failed(&self) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other(
                "an earlier part of the upload failed; the upload was aborted",
            ));
        }
        Ok(())
    }

    fn abort(&mut self) {
        self.failed = true;
        self.pending = Vec::new();
        if let (Some(upload), Ok(rt)) = (self.upload.take(), runtime()) {
            // Best effort: an upload the store keeps incomplete is invisible anyway.
            let _ = rt.block_on(upload.abort());
        }
    }
}

impl Drop for RemoteWriter {
    fn drop(&mut self) {
        self.abort();
    }
}

/// Uploads the local file at `path` to `url` through a [`RemoteWriter`], reading it in parts
/// (memory stays at a few parts whatever its size): how writers that must seek (a zip's local
/// headers, a pack's header) reach object storage, by writing a local file first. Nothing is
/// visible under `url` until the whole file is there. Returns the bytes uploaded.
///
/// # Errors
/// The file's or the store's error; the upload is then aborted.
///
/// ```no_run
/// let bytes = npy_format::source::upload_file("run.npz", "s3://bucket/runs/run.npz")?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn upload_file(path: impl AsRef<std::path::Path>, url: &str) -> io::Result<u64> {
    let mut file = std::fs::File::open(path)?;
    let mut writer = RemoteWriter::create(url)?;
    let copied = io::copy(&mut file, &mut writer)?;
    writer.finish()?;
    Ok(copied)
}

/// Makes the object at `url` by writing a local file first, for writers that seek back (a
/// zip's local headers, a pack's header): `write` is given the path of a file not yet made, in
/// a [`Spool`](super::Spool) (a directory of its own in the temporary directory,
/// [`std::env::temp_dir`], `TMPDIR`, made exclusively with mode `0700` on Unix, so no other
/// user can read the data or make the file first, and any way of creating it is safe).
/// `write` creates the file; what it leaves there is uploaded whole ([`upload_file`]: in parts,
/// invisible under `url` until complete), and the directory is removed with it whether the
/// write and the upload succeed or not, panics included.
///
/// # Errors
/// The spool directory's creation, `write`'s error, or the upload's (then nothing is visible
/// under `url`).
///
/// ```no_run
/// npy_format::source::upload_written("s3://bucket/a.npy", |path| {
///     npy_format::write_file(path, &[1u8, 2, 3], &[3])
///         .map_err(std::io::Error::other)
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn upload_written<T, E: From<io::Error>>(
    url: &str,
    write: impl FnOnce(&std::path::Path) -> Result<T, E>,
) -> Result<T, E> {
    // Removed, with what `write` left in it, when dropped: on every path out, panics included.
    let spool = super::Spool::create(url)?;
    let made = write(spool.path())?;
    upload_file(spool.path(), url)?;
    Ok(made)
}
