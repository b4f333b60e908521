//! A pack in object storage (or behind any [`ByteSource`]): the directory form as objects under
//! a prefix ([`ObjectDir`]), the single-file form as one object read by npz-stream's ranged
//! reader. Nothing is mapped: every value is read into memory, by the fewest requests its
//! layout allows. An array object is one request for its header and data together (sized from
//! the manifest), a second only when the manifest's size falls short of the object; a JSON
//! document is one request (one more past [`WHOLE_FIRST`]), and the shared document
//! (`values.json`) is read once, on the first value that needs it, and kept.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use npy_format::Header;
use npy_format::source::{ByteSource, SourceOptions, is_url};
use npz_stream::NpzReader;

use super::source::{Origin, Source, missing_or, parse_manifest, with_archive};
use super::value::{Expect, bad_array, check_header, member_error, npy_error};
use crate::error::{LoadError, LoadErrorKind, io_load, npz_read};
use crate::manifest::Entry;
use crate::names::MANIFEST;
use crate::pack::Form;
use crate::{Array, LoadOptions, Varpack};

/// The objects of a directory pack in storage, each opened by its file name (`varpack.json`,
/// `values.json`, `temperature.npy`, `cams~left.npy`, ...: names as
/// [`file_stem`](crate::file_stem) makes them, taken as they are, never percent-decoded).
/// [`LoadOptions::load_objects`](crate::LoadOptions::load_objects) loads a pack from one.
///
/// With feature `remote`, npy-format's [`RemoteSource`](npy_format::source::RemoteSource) of a
/// prefix is one: its objects are the keys under the prefix, in the same store (one client, one
/// pool of connections), which is what
/// [`LoadOptions::load_location`](crate::LoadOptions::load_location) uses for a URL. Implement
/// it for any other store, or for memory, as below.
///
/// ```
/// use std::collections::HashMap;
/// use npy_format::source::{ByteSource, MemorySource};
///
/// /// A directory pack's files, in memory.
/// #[derive(Debug)]
/// struct Files(HashMap<String, Vec<u8>>);
///
/// impl varpack::ObjectDir for Files {
///     fn location(&self) -> &str {
///         "mem://run1"
///     }
///     fn open(&self, name: &str) -> std::io::Result<Box<dyn ByteSource>> {
///         let bytes = self.0.get(name).ok_or(std::io::ErrorKind::NotFound)?;
///         Ok(Box::new(MemorySource::new(bytes.clone(), format!("mem://run1/{name}"))))
///     }
/// }
///
/// # let dir = tempfile::tempdir().unwrap();
/// let mut vp = varpack::Varpack::new();
/// vp.insert_array("x", &[1u8, 2], &[2]).unwrap();
/// vp.save_as(dir.path().join("run1")).unwrap();
/// let files = std::fs::read_dir(dir.path().join("run1")).unwrap().map(|e| {
///     let e = e.unwrap();
///     (e.file_name().into_string().unwrap(), std::fs::read(e.path()).unwrap())
/// });
/// let vp = varpack::LoadOptions::new().load_objects(Files(files.collect())).unwrap();
/// assert_eq!(vp.array("x").unwrap().as_bytes(), &[1, 2]);
/// ```
pub trait ObjectDir: Send + Sync + fmt::Debug {
    /// Where the pack is (its prefix URL), for messages: errors about the pack name it, errors
    /// about one object name `LOCATION/NAME`.
    fn location(&self) -> &str;

    /// The object `name` of the pack. It need not request anything: a missing object may be
    /// told by the first read ([`io::ErrorKind::NotFound`]), as a store tells it.
    ///
    /// # Errors
    /// [`io::ErrorKind::NotFound`] for an object that is not there; the store's error.
    fn open(&self, name: &str) -> io::Result<Box<dyn ByteSource>>;
}

/// Object directories behind references and smart pointers are object directories.
macro_rules! forward_dir {
    ($($ty:ty),*) => {$(
        impl<D: ObjectDir + ?Sized> ObjectDir for $ty {
            fn location(&self) -> &str {
                (**self).location()
            }
            fn open(&self, name: &str) -> io::Result<Box<dyn ByteSource>> {
                (**self).open(name)
            }
        }
    )*};
}
forward_dir!(&D, Arc<D>, Box<D>);

#[cfg(feature = "remote")]
impl ObjectDir for npy_format::source::RemoteSource {
    fn location(&self) -> &str {
        ByteSource::location(self)
    }

    fn open(&self, name: &str) -> io::Result<Box<dyn ByteSource>> {
        Ok(Box::new(self.child(name)?))
    }
}

/// What a pack in object storage keeps: the directory form's objects, and the JSON documents
/// read so far.
pub(crate) struct Remote {
    /// The directory form's objects (`None`: the single-file form, read through the archive's
    /// reader).
    objects: Option<Box<dyn ObjectDir>>,
    /// Shared JSON documents (`values.json`) by file, parsed: read once, on first use.
    docs: Mutex<HashMap<String, Arc<serde_json::Value>>>,
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote")
            .field("objects", &self.objects)
            .finish_non_exhaustive()
    }
}

impl Remote {
    fn new(objects: Option<Box<dyn ObjectDir>>) -> Remote {
        Remote {
            objects,
            docs: Mutex::new(HashMap::new()),
        }
    }

    /// The shared JSON document `file`, read by `read` the first time only.
    pub(crate) fn shared_doc(
        &self,
        file: &str,
        read: impl FnOnce() -> Result<serde_json::Value, LoadError>,
    ) -> Result<Arc<serde_json::Value>, LoadError> {
        // Held while the document is read: another value of the same document waits for it
        // rather than reading it again.
        let mut docs = self.docs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(doc) = docs.get(file) {
            return Ok(doc.clone());
        }
        let doc = Arc::new(read()?);
        docs.insert(file.to_owned(), doc.clone());
        Ok(doc)
    }
}

/// The first request for a whole object of unknown size (a JSON document): objects up to this
/// size cost one request, larger ones one more for the rest.
pub(crate) const WHOLE_FIRST: usize = 8 << 20;

/// The most of an array's data asked for with its header, whatever the manifest says: larger
/// arrays cost one request more, and a crafted manifest never asks for more than this before
/// the object's own length is known.
const DATA_FIRST: u64 = 64 << 20;

/// The bytes that hold any NPY header the options accept (what npy-format's reader allows
/// too: four bytes per character of a UTF-8 header, and the fixed fields).
fn header_budget(max_header_size: usize) -> usize {
    max_header_size
        .saturating_mul(4)
        .saturating_add(64)
        .max(npy_format::HEAD_BYTES)
}

/// Opens the directory pack of `objects`: its manifest, in one request.
pub(crate) fn open_objects(
    objects: Box<dyn ObjectDir>,
    max_header_size: usize,
) -> Result<(Arc<Source>, Vec<Entry>), LoadError> {
    let path = PathBuf::from(objects.location());
    let origin = Origin::Remote(Remote::new(Some(objects)));
    let source = Source::new(path, Form::Directory, false, max_header_size, origin);
    let at = source.at(MANIFEST);
    let bytes = read_whole(&source, MANIFEST).map_err(|e| {
        let e = if e.kind() == io::ErrorKind::NotFound {
            io::Error::new(
                io::ErrorKind::NotFound,
                "no such object: no varpack directory at this prefix (a URL ending in .npz is read as a single-file pack)",
            )
        } else {
            e
        };
        io_load(&at)(e)
    })?;
    let manifest = parse_manifest(&bytes, at, false)?;
    Ok((Arc::new(source), manifest.values))
}

/// Opens the single-file pack (or plain numpy `.npz`) in `bytes`: the archive's end records
/// and directory (one request, two for a long directory), then the manifest member (one more),
/// or, for a plain `.npz`, every member's headers.
pub(crate) fn open_archive_source(
    bytes: Box<dyn ByteSource>,
    max_header_size: usize,
) -> Result<(Arc<Source>, Vec<Entry>), LoadError> {
    let path = PathBuf::from(bytes.location());
    let reader = NpzReader::options()
        .max_header_size(max_header_size)
        .open_source(bytes)
        .map_err(|e| e.map_kind(LoadErrorKind::NpzOpen))?;
    let origin = Origin::Remote(Remote::new(None));
    let source = Source::new(path, Form::File, false, max_header_size, origin);
    with_archive(source, reader)
}

/// The whole object `file` of a directory pack: one request up to [`WHOLE_FIRST`] bytes, one
/// more for the rest. The error does not name the object (the caller's does).
fn read_whole(source: &Source, file: &str) -> io::Result<Vec<u8>> {
    let object = open_object(source, file)?;
    let (mut bytes, len) = object.read_head(WHOLE_FIRST)?;
    read_rest(&*object, &mut bytes, len)?;
    Ok(bytes)
}

/// Reads what is left of an object of `len` bytes after its first `bytes`.
fn read_rest(object: &dyn ByteSource, bytes: &mut Vec<u8>, len: u64) -> io::Result<()> {
    let have = bytes.len() as u64;
    if have < len {
        let rest = usize::try_from(len - have)
            .map_err(|_| io::Error::other("the object does not fit in memory"))?;
        bytes.extend_from_slice(&object.read_at(have, rest)?);
    }
    Ok(())
}

/// Object `file` of the directory pack.
fn open_object(source: &Source, file: &str) -> io::Result<Box<dyn ByteSource>> {
    let objects = match source.remote().and_then(|r| r.objects.as_deref()) {
        Some(objects) => objects,
        None => {
            return Err(io::Error::other(
                "internal: not a directory pack in storage",
            ));
        }
    };
    objects.open(file)
}

/// An error reading object `file` of value `name`: not found is
/// [`LoadErrorKind::MissingFile`] (the manifest lists an object the prefix lacks), naming the
/// pack; anything else names the object.
fn object_error(source: &Source, name: &str, file: &str, e: io::Error) -> LoadError {
    missing_or(source, name, file, &source.at(file), e)
}

/// JSON file `file` (of value `name`) of a directory pack in storage, whole.
pub(crate) fn read_json_object(
    source: &Source,
    name: &str,
    file: &str,
) -> Result<Vec<u8>, LoadError> {
    read_whole(source, file).map_err(|e| object_error(source, name, file, e))
}

/// Whether object `file` (of value `name`) is there: its length asked (a `HEAD` request).
pub(crate) fn object_exists(source: &Source, name: &str, file: &str) -> Result<bool, LoadError> {
    match open_object(source, file).and_then(|o| o.len()) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(object_error(source, name, file, e)),
    }
}

/// The start of an `.npy` object as one request brought it.
struct NpyHead {
    /// Its header, parsed.
    parsed: npy_format::ParsedHeader,
    /// Its first bytes: the header, then as much of the data as was asked for.
    head: Vec<u8>,
    /// The object's length.
    len: u64,
    /// The object, for the rest of the data.
    object: Box<dyn ByteSource>,
}

/// The first bytes of `.npy` object `file` of value `name` (its header and `data` bytes of
/// what follows, at most), in one request, the header parsed.
fn read_npy_head(source: &Source, name: &str, file: &str, data: u64) -> Result<NpyHead, LoadError> {
    let at = source.at(file);
    let object = open_object(source, file).map_err(|e| object_error(source, name, file, e))?;
    let first = header_budget(source.max_header_size)
        .saturating_add(usize::try_from(data.min(DATA_FIRST)).unwrap_or(0));
    let (head, len) = object
        .read_head(first)
        .map_err(|e| object_error(source, name, file, e))?;
    let options = npy_format::ReadOptions::default().max_header_size(source.max_header_size);
    let parsed = Header::read_from(&mut head.as_slice(), options).map_err(|e| {
        let kind = match e {
            npy_format::HeaderError::Io(source) => npy_format::ReadErrorKind::Io { source },
            source => npy_format::ReadErrorKind::Header { source },
        };
        npy_error(&at, name, kind)
    })?;
    Ok(NpyHead {
        parsed,
        head,
        len,
        object,
    })
}

/// The header of `.npy` object `file` of value `name` (one request: what `inspect` checks).
pub(crate) fn read_npy_object_header(
    source: &Source,
    name: &str,
    file: &str,
) -> Result<Header, LoadError> {
    Ok(read_npy_head(source, name, file, 0)?.parsed.header)
}

/// Array object `file` of value `name`, read into memory: its header and data in one request
/// (as many bytes as the manifest says the data has, up to [`DATA_FIRST`]), the rest of the
/// data in a second if the first fell short. The header is checked against the manifest, and
/// the data's length against the object's before anything is allocated for it.
pub(crate) fn load_npy_object(
    source: &Source,
    name: &str,
    file: &str,
    expect: Option<Expect<'_>>,
) -> Result<Array, LoadError> {
    let hint = expect.as_ref().map_or(0, |e| e.bytes);
    let NpyHead {
        parsed,
        head,
        len,
        object,
    } = read_npy_head(source, name, file, hint)?;
    if let Some(e) = &expect {
        check_header(source, name, file, &parsed.header, e)?;
    }
    let at = source.at(file);
    if parsed.header.dtype.has_object() {
        let object = npy_format::ViewError::Object;
        let kind = npy_format::ReadErrorKind::View { source: object };
        return Err(npy_error(&at, name, kind));
    }
    let expected = parsed.header.data_len().unwrap_or(u64::MAX);
    let available = len.saturating_sub(parsed.data_offset);
    if available < expected {
        let kind = npy_format::ReadErrorKind::Truncated {
            data_offset: parsed.data_offset,
            expected,
            available,
        };
        return Err(npy_error(&at, name, kind));
    }
    // The data's length is the object's (checked above), not a claim of the manifest's. The
    // data the first request brought is copied, then the rest read (one more request).
    let mut array = Array::zeroed(parsed.header).map_err(|e| bad_array(source, name, e))?;
    let data = array
        .as_bytes_mut()
        .map_err(|e| bad_array(source, name, e))?;
    let start = usize::try_from(parsed.data_offset).unwrap_or(usize::MAX);
    let in_head = head.len().saturating_sub(start).min(data.len());
    data[..in_head].copy_from_slice(&head[start..start + in_head]);
    drop(head);
    if in_head < data.len() {
        let offset = parsed.data_offset + in_head as u64;
        let more = object
            .read_at(offset, data.len() - in_head)
            .map_err(io_load(&at))?;
        data[in_head..].copy_from_slice(&more);
    }
    Ok(array)
}

/// Array member `file` of value `name` of a single-file pack in storage, read into memory: the
/// whole member in one request up to 8 MiB (then one per 8 MiB), CRC-checked, its header
/// parsed from its own bytes and checked against the manifest. (Asking the member's metadata
/// first would cost a request more.)
pub(crate) fn load_member_whole(
    source: &Source,
    reader: &NpzReader,
    name: &str,
    file: &str,
    expect: Option<Expect<'_>>,
) -> Result<Array, LoadError> {
    let bytes = reader
        .read_bytes(file)
        .map_err(|e| member_error(source, name, file, e))?;
    let member_err = |kind| npz_read(name, npz_stream::ReadError::new(&source.path, kind));
    let options = npy_format::ReadOptions::default().max_header_size(source.max_header_size);
    let parsed = Header::read_from(&mut bytes.as_slice(), options).map_err(|source| {
        let member = file.to_owned();
        member_err(npz_stream::ReadErrorKind::Header { member, source })
    })?;
    if let Some(e) = &expect {
        check_header(source, name, file, &parsed.header, e)?;
    }
    if parsed.header.dtype.has_object() {
        let member = file.to_owned();
        let source = npy_format::ViewError::Object;
        return Err(member_err(npz_stream::ReadErrorKind::View {
            member,
            source,
        }));
    }
    let expected = parsed.header.data_len().unwrap_or(u64::MAX);
    let data = bytes.get(parsed.data_offset as usize..).unwrap_or_default();
    if (data.len() as u64) < expected {
        let member = file.to_owned();
        let available = data.len() as u64;
        let kind = npz_stream::ReadErrorKind::Truncated {
            member,
            expected,
            available,
        };
        return Err(member_err(kind));
    }
    // The allocation is the header's, which the member's own bytes hold (checked above).
    let mut array = Array::zeroed(parsed.header).map_err(|e| bad_array(source, name, e))?;
    let out = array
        .as_bytes_mut()
        .map_err(|e| bad_array(source, name, e))?;
    let len = out.len();
    out.copy_from_slice(&data[..len]);
    Ok(array)
}

/// Whether `url` names the single-file form (an object whose name ends in `.npz`, before any
/// query) rather than a directory pack's prefix.
pub(crate) fn is_single_file(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    !path.ends_with('/') && Form::for_path(path) == Form::File
}

impl LoadOptions {
    /// Loads the pack at `location`: a URL of object storage (`s3://bucket/runs/run1`, `gs://`,
    /// `az://`, `http(s)://`; feature `remote`, the store configured from the standard
    /// environment: `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, ...), or anything else as a local
    /// path ([`load`](Self::load)). [`load`](Self::load) itself takes local paths only: a URL
    /// is never mistaken for a path, nor a path for a URL.
    ///
    /// A URL ending in `.npz` is a single-file pack (or a plain numpy `.npz`), read by ranges
    /// ([`load_source`](Self::load_source)); any other URL, with or without a trailing `/`, is a
    /// directory pack's prefix: its manifest is `URL/varpack.json`, its files `URL/FILE`
    /// ([`load_objects`](Self::load_objects)). From a URL, loads are lazy by default (each value
    /// read on first access: [`get`](Varpack::get), [`array`](Varpack::array),
    /// [`view`](Varpack::view), ...; [`lazy`](Self::lazy)`(false)` reads them all now) and
    /// every array is read into memory (never mapped: [`memory_map`](Self::memory_map) and
    /// [`map_mode`](Self::map_mode) do not apply, nor [`lock`](Self::lock)). The pack has no
    /// path: [`Varpack::save`] refuses to write back to storage
    /// ([`SaveErrorKind::FromStorage`](crate::SaveErrorKind::FromStorage)); save a copy with
    /// [`save_as`](Varpack::save_as) or [`save_as_location`](Varpack::save_as_location). See the
    /// crate docs, "Reading from object storage", for what each step costs in requests.
    ///
    /// # Errors
    /// As [`load`](Self::load), naming the URL (or `URL/FILE`); a missing manifest is an
    /// [`LoadErrorKind::Io`] error of kind [`io::ErrorKind::NotFound`]; a URL without the
    /// `remote` feature is one of kind [`io::ErrorKind::Unsupported`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.npz");
    /// # let mut vp = varpack::Varpack::new();
    /// # vp.insert_array("x", &[1u8, 2], &[2]).unwrap();
    /// # vp.save_as(&path).unwrap();
    /// let vp = varpack::LoadOptions::new().load_location(&path).unwrap(); // a local path: load
    /// assert_eq!(vp.status("x"), Some(varpack::Status::Mapped));
    /// ```
    pub fn load_location(&self, location: impl AsRef<OsStr>) -> Result<Varpack, LoadError> {
        let location = location.as_ref();
        match location.to_str() {
            Some(url) if is_url(url) => self.load_url(url),
            _ => self.load(Path::new(location)),
        }
    }

    /// Loads the pack at `url` from object storage.
    pub(crate) fn load_url(&self, url: &str) -> Result<Varpack, LoadError> {
        let io = |source| LoadError::new(url, LoadErrorKind::Io { source });
        if is_single_file(url) {
            // No cache: each value is read once, into the pack's own memory.
            let bytes = SourceOptions::new().cache_bytes(0).open(url).map_err(io)?;
            return self.load_boxed(bytes);
        }
        #[cfg(feature = "remote")]
        {
            let prefix = npy_format::source::RemoteSource::open(url).map_err(io)?;
            self.load_objects(prefix)
        }
        #[cfg(not(feature = "remote"))]
        Err(io(io::Error::new(
            io::ErrorKind::Unsupported,
            "object storage needs the `remote` feature",
        )))
    }

    /// Loads the single-file pack (or plain numpy `.npz`) in `bytes`: object storage, memory, a
    /// file read by ranges. As [`load_location`](Self::load_location) of a URL ending in `.npz`:
    /// lazy unless [`lazy`](Self::lazy)`(false)`, arrays read into memory, no path to save to.
    /// Errors name [`ByteSource::location`].
    ///
    /// # Errors
    /// As [`load`](Self::load).
    ///
    /// ```
    /// use npy_format::source::{CountingSource, MemorySource};
    /// use std::sync::Arc;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.npz");
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("x", &[1.5f64, 2.5], &[2]).unwrap();
    /// vp.insert_value("n", &7).unwrap();
    /// vp.save_as(&path).unwrap();
    ///
    /// let bytes = std::fs::read(&path).unwrap();
    /// let source = Arc::new(CountingSource::new(MemorySource::new(bytes, "mem://p.npz")));
    /// let vp = varpack::LoadOptions::new().load_source(source.clone()).unwrap();
    /// assert_eq!(source.requests(), 2); // the archive's directory, then the manifest
    /// assert_eq!(vp.view::<f64>("x").unwrap().as_slice(), &[1.5, 2.5]);
    /// assert_eq!(vp.status("x"), Some(varpack::Status::Loaded)); // in memory
    /// assert_eq!(vp.url(), Some("mem://p.npz"));
    /// ```
    pub fn load_source(&self, bytes: impl ByteSource + 'static) -> Result<Varpack, LoadError> {
        self.load_boxed(Box::new(bytes))
    }

    fn load_boxed(&self, bytes: Box<dyn ByteSource>) -> Result<Varpack, LoadError> {
        let (source, entries) = open_archive_source(bytes, self.max_header_size)?;
        Varpack::from_source(source, entries, self, None)
    }

    /// Loads the directory pack whose files are `objects` (see [`ObjectDir`]). As
    /// [`load_location`](Self::load_location) of a prefix URL: the manifest in one request,
    /// each value on first access unless [`lazy`](Self::lazy)`(false)`, arrays read into
    /// memory, no path to save to.
    ///
    /// # Errors
    /// As [`load_location`](Self::load_location).
    ///
    /// ```
    /// # use std::collections::HashMap;
    /// # use npy_format::source::{ByteSource, MemorySource};
    /// # #[derive(Debug)]
    /// # struct Files(HashMap<String, Vec<u8>>);
    /// # impl varpack::ObjectDir for Files {
    /// #     fn location(&self) -> &str { "mem://run1" }
    /// #     fn open(&self, name: &str) -> std::io::Result<Box<dyn ByteSource>> {
    /// #         let bytes = self.0.get(name).ok_or(std::io::ErrorKind::NotFound)?;
    /// #         Ok(Box::new(MemorySource::new(bytes.clone(), format!("mem://run1/{name}"))))
    /// #     }
    /// # }
    /// let err = varpack::LoadOptions::new().load_objects(Files(HashMap::new())).unwrap_err();
    /// assert_eq!(err.to_string().split(": ").next(), Some("mem://run1/varpack.json"));
    /// ```
    pub fn load_objects(&self, objects: impl ObjectDir + 'static) -> Result<Varpack, LoadError> {
        let (source, entries) = open_objects(Box::new(objects), self.max_header_size)?;
        Varpack::from_source(source, entries, self, None)
    }
}

impl Varpack {
    /// Loads the pack at `location`, a URL of object storage or a local path, with default
    /// options (see [`LoadOptions::load_location`]).
    ///
    /// # Errors
    /// As [`LoadOptions::load_location`].
    ///
    /// ```no_run
    /// let vp = varpack::Varpack::load_location("s3://bucket/runs/run1")?; // the manifest only
    /// let t = vp.view::<f64>("temperature")?; // one request (two for an array over 64 MiB)
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load_location(location: impl AsRef<OsStr>) -> Result<Varpack, LoadError> {
        LoadOptions::new().load_location(location)
    }

    /// Where the values of a pack loaded from object storage come from: the URL given to
    /// [`LoadOptions::load_location`] (or the location of the source given to
    /// [`load_source`](LoadOptions::load_source), [`load_objects`](LoadOptions::load_objects)).
    /// `None` for a local pack ([`path`](Self::path)) and a new one.
    ///
    /// ```
    /// assert_eq!(varpack::Varpack::new().url(), None);
    /// ```
    pub fn url(&self) -> Option<&str> {
        let source = self.source.as_ref()?;
        source.remote()?;
        source.path.to_str()
    }
}
