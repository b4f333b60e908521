//! What `npy info --json` prints about a file, as a JSON value, so that every front end (the
//! CLI, the Python package) gives the same keys, for a local file or an object in storage.

use std::borrow::Cow;

use npy_format::source::ByteSource;
use npy_format::{Header, NpyFile, NpyReader, Version};

/// A `.npy` whose header has been read: what `npy info` reports of it, whether it is a local
/// [`NpyFile`] (mapped) or an [`NpyReader`] of ranges (an object in storage, `s3://...`).
///
/// ```
/// use npy_append::NpyInfo;
/// use npy_format::{NpyReader, source::MemorySource};
/// let mut bytes = Vec::new();
/// npy_format::write_array(&mut bytes, &[1u8, 2, 3], &[3], false).unwrap();
/// bytes.push(0); // a byte past the data
/// let npy = NpyReader::open(MemorySource::new(bytes, "mem.npy")).unwrap();
/// assert_eq!((npy.location().as_ref(), npy.trailing_len()), ("mem.npy", 1));
/// ```
pub trait NpyInfo {
    /// The path or URL.
    fn location(&self) -> Cow<'_, str>;
    /// The header.
    fn header(&self) -> &Header;
    /// The format version.
    fn version(&self) -> Version;
    /// Bytes before the data.
    fn data_offset(&self) -> u64;
    /// Bytes past the data.
    fn trailing_len(&self) -> u64;
}

impl NpyInfo for NpyFile {
    fn location(&self) -> Cow<'_, str> {
        self.path().to_string_lossy()
    }
    fn header(&self) -> &Header {
        NpyFile::header(self)
    }
    fn version(&self) -> Version {
        NpyFile::version(self)
    }
    fn data_offset(&self) -> u64 {
        NpyFile::data_offset(self)
    }
    fn trailing_len(&self) -> u64 {
        NpyFile::trailing_len(self)
    }
}

impl<S: ByteSource> NpyInfo for NpyReader<S> {
    fn location(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.source().location())
    }
    fn header(&self) -> &Header {
        &self.parsed().header
    }
    fn version(&self) -> Version {
        self.parsed().version
    }
    fn data_offset(&self) -> u64 {
        self.parsed().data_offset
    }
    fn trailing_len(&self) -> u64 {
        let parsed = self.parsed();
        let end = parsed.data_offset + parsed.header.data_len().unwrap_or(0);
        self.len().saturating_sub(end)
    }
}

#[cfg(feature = "json")]
/// The facts about `npy` that `npy info --json` prints: `path` (or URL), `version`
/// (`[major, minor]`), `descr` (numpy's, as JSON), `fortran_order`, `shape`, `data_offset`,
/// `nbytes`, `itemsize`, `frames`, `frame_bytes`, `trailing_bytes`.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npy");
/// npy_format::write_file(&path, &[1.5f32; 6], &[3, 2]).unwrap();
/// let info = npy_append::info_json(&npy_format::NpyFile::open(&path).unwrap());
/// assert_eq!(info["descr"], "<f4");
/// assert_eq!(info["version"], serde_json::json!([1, 0]));
/// assert_eq!(info["frames"], 3);
/// ```
pub fn info_json(npy: &(impl NpyInfo + ?Sized)) -> serde_json::Value {
    let header = npy.header();
    let (major, minor) = npy.version().numbers();
    let descr: serde_json::Value =
        serde_json::from_str(&header.dtype.descr_json()).expect("descr_json writes valid JSON");
    serde_json::json!({
        "path": npy.location(),
        "version": [major, minor],
        "descr": descr,
        "fortran_order": header.fortran_order,
        "shape": header.shape,
        "data_offset": npy.data_offset(),
        "nbytes": header.data_len(),
        "itemsize": header.dtype.itemsize(),
        "frames": header.frame_count(),
        "frame_bytes": header.frame_len(),
        "trailing_bytes": npy.trailing_len(),
    })
}
