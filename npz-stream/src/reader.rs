//! Reading archives: member listing, whole reads, frames, zero-copy views, zran indexes.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use array_files_fs::map::{MapOptions, Mmap};
use npy_format::{
    Element, FrameRangeError, FrameSource, Header, OwnedArray, ReadOptions, TypedView, Version,
    ViewError,
};

use crate::error::{OpenError, ReadError};
use crate::format::{INDEX_HEADER_ID, SeekIndex};
use crate::inflate::{AccessPoint, Inflate, InflateError, build_access_points};
use crate::io_util::{MappedFile, ReadAt};
use crate::zip::{self, Directory, Entry};

/// The most a deflate stream can expand (about 1032:1), plus slack for tiny members.
const MAX_RATIO: u64 = 1032;
const RATIO_SLACK: u64 = 1024;

/// How a member is stored.
///
/// ```
/// assert_eq!(npz_stream::Method::Stored.as_str(), "stored");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// No compression.
    Stored,
    /// Deflate.
    Deflated,
}

impl Method {
    /// `"stored"` or `"deflated"`, as `npz ls --json` prints it.
    ///
    /// ```
    /// assert_eq!(npz_stream::Method::Deflated.as_str(), "deflated");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Stored => "stored",
            Method::Deflated => "deflated",
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
    max_header_size: usize,
    index_foreign: bool,
    map_archive: bool,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            max_header_size: npy_format::header::DEFAULT_MAX_HEADER_SIZE,
            index_foreign: false,
            map_archive: false,
        }
    }
}

impl ReaderOptions {
    /// The defaults (== `Default::default()`): numpy's header limit, foreign members not
    /// indexed, positional reads rather than a map of the archive.
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
    /// use npz_stream::{NpzWriter, ReadError, ReaderOptions};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = NpzWriter::create(&path).unwrap();
    /// npz.add_array("x", &[1u8, 2], &[2]).unwrap(); // a 118-character header
    /// npz.finish().unwrap();
    /// let strict = ReaderOptions::default().max_header_size(64).open(&path).unwrap();
    /// assert!(matches!(strict.info("x"), Err(ReadError::Header { .. })));
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

    /// Map the whole archive at open (default false), as [`NpzReader::data`] does on first
    /// use: headers and stored members are then read from memory, without a system call
    /// each, which makes reading the headers of many members several times faster. The map's
    /// obligation applies from the open: the archive must not be truncated or rewritten in place
    /// while the reader lives.
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
}

/// What the reader learned about a member from its local header and NPY header.
#[derive(Debug)]
struct Meta {
    data_start: u64,
    header: Header,
    version: Version,
    header_len: u64,
    data_len: u64,
    index: Option<SeekIndex>,
}

/// A member's header information, compression, sizes and access paths.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
/// npz.add_array("x", &[1.0f64; 6], &[2, 3]).unwrap();
/// npz.finish().unwrap();
/// let info = npz_stream::NpzReader::open(&path).unwrap().info("x").unwrap();
/// assert_eq!(info.header.shape, vec![2, 3]);
/// assert_eq!(info.method, npz_stream::Method::Stored);
/// assert_eq!(info.data_offset.unwrap() % 64, 0);
/// assert!(info.mappable && info.seekable);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MemberInfo {
    /// The key (the member name without `.npy`).
    pub key: String,
    /// The member's name in the archive.
    pub name: String,
    /// The NPY header.
    pub header: Header,
    /// The NPY format version of the member.
    pub version: Version,
    /// Stored or deflated.
    pub method: Method,
    /// Uncompressed bytes of the member (NPY header included).
    pub size: u64,
    /// Bytes of the member in the archive.
    pub compressed_size: u64,
    /// CRC-32 of the member, from the central directory.
    pub crc32: u32,
    /// Bytes of NPY header before the array data, within the member.
    pub header_len: u64,
    /// Absolute offset of the array data in the archive, for stored members.
    pub data_offset: Option<u64>,
    /// Random frame reads cost time proportional to the frames read: stored members, deflated
    /// members with a seek index or a built zran index.
    pub seekable: bool,
    /// A deflated member with this crate's seek index.
    pub indexed: bool,
    /// A stored member whose data is 64-byte aligned: [`NpzReader::view`] works for every
    /// element type.
    pub mappable: bool,
}

/// A zran index: access points at deflate block boundaries, each with its 32 KiB window.
struct ZranIndex {
    points: Vec<AccessPoint>,
}

/// An open `.npz` archive.
///
/// Opening reads and checks the central directory only; member headers are read on demand
/// and cached. Every member is a [`FrameSource`] ([`member`](Self::member)); stored members
/// also map zero-copy ([`view`](Self::view)). Keys are looked up as numpy does: the exact
/// member name first, then `KEY.npy`.
///
/// # When the file shrinks
///
/// Zero-copy views ([`data`](Self::data), [`view`](Self::view), and every read once
/// [`ReaderOptions::map_archive`] is on) come from a memory map of the archive. If another
/// program truncates the archive while such a view is alive, touching its lost part raises
/// `SIGBUS` on Unix (the process dies unless it handles the signal; no Rust error can report a
/// plain memory access). Appending with [`NpzWriter::append`](crate::NpzWriter::append) is safe
/// (it writes past the old end), and so is replacing the archive by rename (what
/// [`NpzWriter::create`](crate::NpzWriter::create) does: the map keeps the old file). Without
/// the map (the default for everything but views), reads are positional reads: a truncated
/// archive is a typed error.
///
/// ```
/// use npy_format::FrameSource;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
/// npz.add_array("x", &(0u32..12).collect::<Vec<_>>(), &[4, 3]).unwrap();
/// npz.finish().unwrap();
///
/// let reader = npz_stream::NpzReader::open(&path).unwrap();
/// assert_eq!(reader.view::<u32>("x").unwrap().as_slice()[11], 11);
/// let mut x = reader.member("x").unwrap();
/// assert_eq!(x.frame_count(), 4);
/// assert_eq!(x.read_frames(3, 4).unwrap(), [9u32, 10, 11].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>());
/// ```
pub struct NpzReader {
    path: PathBuf,
    file: File,
    file_len: u64,
    dir: Directory,
    by_name: HashMap<String, usize>,
    meta: Vec<OnceLock<Meta>>,
    zran: Vec<OnceLock<ZranIndex>>,
    map: OnceLock<Mmap>,
    options: ReaderOptions,
}

impl std::fmt::Debug for NpzReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpzReader")
            .field("path", &self.path)
            .field("members", &self.dir.entries.len())
            .finish()
    }
}

fn unwrap_io(member: &str, path: &Path, e: io::Error) -> ReadError {
    if !e.get_ref().is_some_and(|inner| inner.is::<ReadError>()) {
        return ReadError::Io {
            path: path.to_path_buf(),
            member: member.to_owned(),
            source: e,
        };
    }
    let kind = e.kind();
    match e.into_inner().map(|inner| inner.downcast::<ReadError>()) {
        Some(Ok(err)) => *err,
        _ => ReadError::Io {
            path: path.to_path_buf(),
            member: member.to_owned(),
            source: io::Error::from(kind),
        },
    }
}

impl NpzReader {
    /// Opens the archive at `path` and checks its central directory.
    ///
    /// The end record is looked for in the last 64 KiB, as every zip reader does. If none there
    /// checks out, the file is scanned back for the last complete archive in it: what an
    /// interrupted append leaves is the archive it started from followed by new bytes, and that
    /// archive is what this opens (see [`format`](crate::format#appending);
    /// [`recover`](crate::recover) cuts the new bytes off). Opening then reads the file back
    /// to that archive's end records, at most.
    ///
    /// # Errors
    /// [`OpenError`]: I/O, not a zip archive, inconsistent end records or directory.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("not.npz");
    /// std::fs::write(&path, b"hello").unwrap();
    /// let err = npz_stream::NpzReader::open(&path).unwrap_err();
    /// assert!(err.to_string().contains("not a zip archive"));
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<NpzReader, OpenError> {
        ReaderOptions::default().open(path)
    }

    /// Options for opening.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// # npz.add_array("x", &[1u16, 2], &[2]).unwrap();
    /// # npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::options().map_archive(true).open(&path).unwrap();
    /// assert_eq!(reader.view::<u16>("x").unwrap().as_slice(), &[1, 2]);
    /// ```
    pub fn options() -> ReaderOptions {
        ReaderOptions::default()
    }

    fn open_with(path: &Path, options: ReaderOptions) -> Result<NpzReader, OpenError> {
        let io = |source| OpenError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let file_len = file.metadata().map_err(io)?.len();
        let dir = zip::read_directory(&file, file_len, path)?;
        let mut by_name = HashMap::with_capacity(dir.entries.len());
        for (i, entry) in dir.entries.iter().enumerate() {
            by_name.insert(entry.name.clone(), i);
        }
        let n = dir.entries.len();
        let reader = NpzReader {
            path: path.to_path_buf(),
            file,
            file_len,
            dir,
            by_name,
            meta: (0..n).map(|_| OnceLock::new()).collect(),
            zran: (0..n).map(|_| OnceLock::new()).collect(),
            map: OnceLock::new(),
            options,
        };
        if options.map_archive {
            reader.map_archive().map_err(io)?;
        }
        Ok(reader)
    }

    /// The archive's path.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
    /// assert_eq!(npz_stream::NpzReader::open(&path).unwrap().path(), path);
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of members (as listed by [`keys`](Self::keys)).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
    /// assert_eq!(npz_stream::NpzReader::open(&path).unwrap().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether the archive has no members.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
    /// assert!(npz_stream::NpzReader::open(&path).unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Member keys in archive order, `.npy` stripped, as numpy's `NpzFile.files` (a name that
    /// appears twice is listed once: the last entry wins, as in numpy).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// npz.add_array("b", &[1u8], &[1]).unwrap();
    /// npz.add_array("a", &[1u8], &[1]).unwrap();
    /// npz.finish().unwrap();
    /// assert_eq!(npz_stream::NpzReader::open(&path).unwrap().keys(), vec!["b", "a"]);
    /// ```
    pub fn keys(&self) -> Vec<String> {
        self.live_entries()
            .map(|(_, e)| key_of(&e.name).to_owned())
            .collect()
    }

    fn live_entries(&self) -> impl Iterator<Item = (usize, &Entry)> {
        self.dir
            .entries
            .iter()
            .enumerate()
            .filter(|(i, e)| self.by_name.get(&e.name) == Some(i))
    }

    fn index_of(&self, key: &str) -> Result<usize, ReadError> {
        self.by_name
            .get(key)
            .or_else(|| self.by_name.get(&format!("{key}.npy")))
            .copied()
            .ok_or_else(|| ReadError::NoSuchMember {
                path: self.path.clone(),
                key: key.to_owned(),
                count: self.len(),
            })
    }

    fn entry(&self, idx: usize) -> &Entry {
        &self.dir.entries[idx]
    }

    fn corrupt(&self, idx: usize, offset: u64, reason: String) -> ReadError {
        ReadError::Corrupt {
            path: self.path.clone(),
            member: self.entry(idx).name.clone(),
            offset,
            reason,
        }
    }

    fn inflate_err(&self, idx: usize, e: InflateError) -> ReadError {
        let member = self.entry(idx).name.clone();
        let path = self.path.clone();
        match e {
            InflateError::Io(source) => ReadError::Io {
                path,
                member,
                source,
            },
            InflateError::Corrupt { offset, reason } => ReadError::Inflate {
                path,
                member,
                offset,
                reason,
            },
            InflateError::Size(reason) => ReadError::Size {
                path,
                member,
                reason,
            },
            InflateError::Crc { expected, actual } => ReadError::Crc {
                path,
                member,
                expected,
                actual,
            },
        }
    }

    /// Checks the member's directory entry and local header; returns where its data starts.
    fn locate(&self, idx: usize) -> Result<u64, ReadError> {
        let entry = self.entry(idx);
        let unsupported = |reason: String| ReadError::Unsupported {
            path: self.path.clone(),
            member: entry.name.clone(),
            reason,
        };
        if entry.flags & zip::FLAG_ENCRYPTED != 0 {
            return Err(unsupported("the member is encrypted".into()));
        }
        let size_err = |reason: String| ReadError::Size {
            path: self.path.clone(),
            member: entry.name.clone(),
            reason,
        };
        match entry.method {
            zip::METHOD_STORED if entry.size != entry.compressed_size => {
                return Err(size_err(format!(
                    "a stored member of {} bytes declares {} uncompressed",
                    entry.compressed_size, entry.size
                )));
            }
            zip::METHOD_STORED => {}
            zip::METHOD_DEFLATED => {
                if entry.size
                    > entry
                        .compressed_size
                        .saturating_mul(MAX_RATIO)
                        .saturating_add(RATIO_SLACK)
                {
                    return Err(size_err(format!(
                        "{} bytes declared from {} compressed: more than deflate can produce (a zip bomb?)",
                        entry.size, entry.compressed_size
                    )));
                }
            }
            m => return Err(unsupported(format!("compression method {m}"))),
        }
        let local = zip::read_local(&self.source(), entry, self.dir.cd_start)
            .map_err(|reason| self.corrupt(idx, entry.local_offset, reason))?;
        Ok(local.data_start)
    }

    fn method(&self, idx: usize) -> Method {
        if self.entry(idx).method == zip::METHOD_STORED {
            Method::Stored
        } else {
            Method::Deflated
        }
    }

    fn meta(&self, idx: usize) -> Result<&Meta, ReadError> {
        if let Some(meta) = self.meta[idx].get() {
            return Ok(meta);
        }
        let data_start = self.locate(idx)?;
        let entry = self.entry(idx);
        let mut reader = MemberReader::new(self, idx, data_start, false);
        let limits = ReadOptions::default().max_header_size(self.options.max_header_size);
        let parsed = Header::read_from(&mut reader, limits).map_err(|source| {
            // The member reader reports its own errors through io::Error.
            match source {
                npy_format::HeaderError::Io(e) => unwrap_io(&entry.name, &self.path, e),
                source => ReadError::Header {
                    path: self.path.clone(),
                    member: entry.name.clone(),
                    source,
                },
            }
        })?;
        let header = parsed.header;
        let data_len = if header.dtype.has_object() {
            0
        } else {
            header.data_len().unwrap_or(u64::MAX)
        };
        let available = entry.size.saturating_sub(parsed.data_offset);
        if available < data_len {
            return Err(ReadError::Truncated {
                path: self.path.clone(),
                member: entry.name.clone(),
                expected: data_len,
                available,
            });
        }
        let index = if entry.method == zip::METHOD_DEFLATED {
            // The first chunk starts right after the header's stored blocks: an index whose
            // first point says otherwise would shift every read, so it is not trusted.
            let data_start = (
                parsed.data_offset,
                crate::deflate::stored_blocks_len(parsed.data_offset as usize) as u64,
            );
            zip::find_extra(&entry.extra, INDEX_HEADER_ID)
                .and_then(|data| {
                    SeekIndex::from_field_data(data, entry.crc32, entry.size, entry.compressed_size)
                })
                .filter(|index| index.points.first().is_none_or(|&p| p == data_start))
        } else {
            None
        };
        let meta = Meta {
            data_start,
            header,
            version: parsed.version,
            header_len: parsed.data_offset,
            data_len,
            index,
        };
        Ok(self.meta[idx].get_or_init(|| meta))
    }

    /// Header information, compression, sizes and access paths of member `key`.
    ///
    /// # Errors
    /// [`ReadError::NoSuchMember`]; a corrupt local header; a member that is not NPY
    /// ([`ReadError::Header`]) or shorter than its header says.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::options().compression(npz_stream::Compression::deflate()).create(&path).unwrap();
    /// npz.add_array("x", &[0u8; 4096], &[64, 64]).unwrap();
    /// npz.finish().unwrap();
    /// let info = npz_stream::NpzReader::open(&path).unwrap().info("x.npy").unwrap();
    /// assert_eq!(info.key, "x");
    /// assert!(info.indexed && info.seekable && !info.mappable);
    /// assert!(info.compressed_size < info.size);
    /// ```
    pub fn info(&self, key: &str) -> Result<MemberInfo, ReadError> {
        let idx = self.index_of(key)?;
        self.info_at(idx)
    }

    fn info_at(&self, idx: usize) -> Result<MemberInfo, ReadError> {
        let meta = self.meta(idx)?;
        let entry = self.entry(idx);
        let method = self.method(idx);
        let data_offset = (method == Method::Stored).then(|| meta.data_start + meta.header_len);
        let indexed = meta.index.is_some();
        Ok(MemberInfo {
            key: key_of(&entry.name).to_owned(),
            name: entry.name.clone(),
            header: meta.header.clone(),
            version: meta.version,
            method,
            size: entry.size,
            compressed_size: entry.compressed_size,
            crc32: entry.crc32,
            header_len: meta.header_len,
            data_offset,
            seekable: method == Method::Stored || indexed || self.zran[idx].get().is_some(),
            indexed,
            mappable: data_offset.is_some_and(|o| o % crate::format::ALIGNMENT == 0),
        })
    }

    /// [`info`](Self::info) of every member, in archive order.
    ///
    /// # Errors
    /// The first member that fails.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// # npz.add_array("x", &[1u8], &[1]).unwrap();
    /// # npz.finish().unwrap();
    /// let infos = npz_stream::NpzReader::open(&path).unwrap().infos().unwrap();
    /// assert_eq!(infos[0].key, "x");
    /// ```
    pub fn infos(&self) -> Result<Vec<MemberInfo>, ReadError> {
        self.live_entries()
            .map(|(i, _)| i)
            .collect::<Vec<_>>()
            .into_iter()
            .map(|i| self.info_at(i))
            .collect()
    }

    /// Member `key` as a [`FrameSource`]: random access to its frames. Stored members are
    /// read positionally; deflated members from the nearest seek-index or zran point, or from
    /// where the previous read stopped, or from the start.
    ///
    /// # Errors
    /// As [`info`](Self::info).
    ///
    /// ```
    /// use npy_format::FrameSource;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::options().compression(npz_stream::Compression::deflate()).chunk_size(4096).create(&path).unwrap();
    /// let data: Vec<i16> = (0..40_000).map(|i| (i % 300) as i16).collect();
    /// npz.add_array("adc", &data, &[1000, 40]).unwrap();
    /// npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// let mut adc = reader.member("adc").unwrap();
    /// let mut frame = vec![0u8; 80];
    /// adc.read_frames_into(999, &mut frame).unwrap();
    /// assert_eq!(i16::from_le_bytes([frame[78], frame[79]]), data[39_999]);
    /// ```
    pub fn member(&self, key: &str) -> Result<Member<'_>, ReadError> {
        let idx = self.index_of(key)?;
        let meta = self.meta(idx)?;
        Ok(Member {
            reader: self,
            idx,
            meta,
            cursor: None,
        })
    }

    /// A reader of member `key`'s raw bytes (the whole `.npy`), CRC-checked when it reaches
    /// the end.
    ///
    /// # Errors
    /// As [`info`](Self::info) for locating the member; read errors come as `io::Error`s
    /// wrapping a [`ReadError`].
    ///
    /// ```
    /// use std::io::Read;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// # npz.add_array("x", &[1u8, 2], &[2]).unwrap();
    /// # npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// let mut bytes = Vec::new();
    /// reader.open_member("x").unwrap().read_to_end(&mut bytes).unwrap();
    /// assert_eq!(&bytes[..6], b"\x93NUMPY");
    /// assert_eq!(&bytes[128..], &[1, 2]);
    /// ```
    pub fn open_member(&self, key: &str) -> Result<MemberReader<'_>, ReadError> {
        let idx = self.index_of(key)?;
        let data_start = self.locate(idx)?;
        Ok(MemberReader::new(self, idx, data_start, true))
    }

    /// Member `key`'s raw bytes (the whole `.npy`), CRC-checked. Memory grows with the bytes
    /// inflated, never with the declared size alone.
    ///
    /// # Errors
    /// As [`open_member`](Self::open_member), with read errors as [`ReadError`]s.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// # npz.add_array("x", &[1u8, 2], &[2]).unwrap();
    /// # npz.finish().unwrap();
    /// let bytes = npz_stream::NpzReader::open(&path).unwrap().read_bytes("x").unwrap();
    /// assert_eq!(bytes.len(), 130);
    /// ```
    pub fn read_bytes(&self, key: &str) -> Result<Vec<u8>, ReadError> {
        let mut reader = self.open_member(key)?;
        // A stored member's size is bytes in the file; a deflated member's is only a claim (up
        // to 1032 times its compressed size): reserve what its compressed bytes hold at a
        // typical ratio, and let the rest grow with the bytes inflated.
        let compressed = self.entry(reader.idx).compressed_size;
        let reserve = reader.size.min(compressed.saturating_mul(4)).min(64 << 20);
        let mut out = Vec::with_capacity(reserve as usize);
        let name = reader.name().to_owned();
        reader
            .read_to_end(&mut out)
            .map_err(|e| unwrap_io(&name, &self.path, e))?;
        Ok(out)
    }

    /// Reads and CRC-checks the whole member (what `zipfile.testzip` does for one member).
    ///
    /// # Errors
    /// As [`read_bytes`](Self::read_bytes).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// # npz.add_array("x", &[1u8, 2], &[2]).unwrap();
    /// # npz.finish().unwrap();
    /// npz_stream::NpzReader::open(&path).unwrap().verify("x").unwrap();
    /// ```
    pub fn verify(&self, key: &str) -> Result<(), ReadError> {
        let mut reader = self.open_member(key)?;
        let name = reader.name().to_owned();
        io::copy(&mut reader, &mut io::sink()).map_err(|e| unwrap_io(&name, &self.path, e))?;
        Ok(())
    }

    /// Member `key` read into memory as `T` (byte-swapped to native order if needed), CRC-checked.
    ///
    /// # Errors
    /// As [`read_bytes`](Self::read_bytes); [`ReadError::View`] for a dtype other than `T`.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::options().compression(npz_stream::Compression::deflate()).create(&path).unwrap();
    /// npz.add_array("x", &[1.5f32, 2.5], &[2]).unwrap();
    /// npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// assert_eq!(reader.read_array::<f32>("x").unwrap().data, vec![1.5, 2.5]);
    /// assert!(reader.read_array::<f64>("x").is_err());
    /// ```
    pub fn read_array<T: Element>(&self, key: &str) -> Result<OwnedArray<T>, ReadError> {
        let mut reader = self.open_member(key)?;
        let name = reader.name().to_owned();
        let array = npy_format::read_array::<T, _>(&mut reader).map_err(|e| match e {
            npy_format::ReadError::Io { source, .. } => unwrap_io(&name, &self.path, source),
            npy_format::ReadError::Header { source, .. } => match source {
                npy_format::HeaderError::Io(e) => unwrap_io(&name, &self.path, e),
                source => ReadError::Header {
                    path: self.path.clone(),
                    member: name.clone(),
                    source,
                },
            },
            npy_format::ReadError::Truncated {
                expected,
                available,
                ..
            } => ReadError::Truncated {
                path: self.path.clone(),
                member: name.clone(),
                expected,
                available,
            },
            npy_format::ReadError::View { source, .. } => ReadError::View {
                path: self.path.clone(),
                member: name.clone(),
                source,
            },
            npy_format::ReadError::Frames { source, .. } => ReadError::Frames {
                path: self.path.clone(),
                member: name.clone(),
                source,
            },
            other => ReadError::Io {
                path: self.path.clone(),
                member: name.clone(),
                source: io::Error::other(other),
            },
        })?;
        io::copy(&mut reader, &mut io::sink()).map_err(|e| unwrap_io(&name, &self.path, e))?;
        Ok(array)
    }

    /// Where member bytes are read from: the map of the archive, if one was made, else the file.
    fn source(&self) -> MappedFile<'_> {
        MappedFile {
            file: &self.file,
            map: self.map.get().map(|map| &map[..]),
        }
    }

    fn mapped(&self, idx: usize) -> Result<&Mmap, ReadError> {
        self.map_archive().map_err(|source| ReadError::Io {
            path: self.path.clone(),
            member: self.entry(idx).name.clone(),
            source,
        })
    }

    /// The map of the whole archive, made on first use.
    fn map_archive(&self) -> io::Result<&Mmap> {
        if let Some(map) = self.map.get() {
            return Ok(map);
        }
        let len = usize::try_from(self.file_len).map_err(|_| {
            io::Error::new(
                io::ErrorKind::OutOfMemory,
                "the archive is larger than this platform's address space",
            )
        })?;
        // The file's length as opened: every member range was checked to lie before the central
        // directory, hence inside it. NpzReader's docs state the contract that makes the map
        // sound (see `array_files_fs::map`): the archive is not truncated or rewritten in place
        // while views of it are alive.
        let map = MapOptions::new().len(len).map(&self.file)?;
        Ok(self.map.get_or_init(|| map))
    }

    /// The raw array data of stored member `key`, zero-copy from a memory map of the archive.
    ///
    /// The map is only as stable as the file: the archive must not be truncated (by another
    /// program, or by [`recover`](crate::recover) cutting off an interrupted append) while the
    /// returned slice is alive; see [When the file shrinks](NpzReader#when-the-file-shrinks).
    ///
    /// # Errors
    /// [`ReadError::NotStored`] for deflated members; [`ReadError::View`] for object arrays.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// # npz.add_array("x", &[7u8, 8, 9], &[3]).unwrap();
    /// # npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// assert_eq!(reader.data("x").unwrap(), &[7, 8, 9]);
    /// ```
    pub fn data(&self, key: &str) -> Result<&[u8], ReadError> {
        let idx = self.index_of(key)?;
        let meta = self.meta(idx)?;
        let name = &self.entry(idx).name;
        if self.method(idx) != Method::Stored {
            return Err(ReadError::NotStored {
                path: self.path.clone(),
                member: name.clone(),
            });
        }
        if meta.header.dtype.has_object() {
            return Err(ReadError::View {
                path: self.path.clone(),
                member: name.clone(),
                source: ViewError::Object,
            });
        }
        let map = self.mapped(idx)?;
        let start = (meta.data_start + meta.header_len) as usize;
        Ok(&map[start..start + meta.data_len as usize])
    }

    /// A zero-copy typed view of stored member `key` (see [`data`](Self::data) for the map's
    /// stability). Our stored members are 64-byte aligned, so every element type views;
    /// numpy's `savez` members are not aligned, and types wider than a byte may fail with
    /// [`ViewError::Misaligned`].
    ///
    /// # Errors
    /// As [`data`](Self::data); [`ReadError::View`] with the check that failed (dtype, byte
    /// order, alignment).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// npz.add_array("x", &[1.0f64, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// let view = reader.view::<f64>("x").unwrap();
    /// assert_eq!(view.get(&[1, 0]), Some(&3.0));
    /// assert!(reader.view::<f32>("x").is_err());
    /// ```
    pub fn view<T: Element>(&self, key: &str) -> Result<TypedView<'_, T>, ReadError> {
        let bytes = self.data(key)?;
        let idx = self.index_of(key)?;
        let meta = self.meta(idx)?;
        TypedView::new(&meta.header, bytes).map_err(|source| ReadError::View {
            path: self.path.clone(),
            member: self.entry(idx).name.clone(),
            source,
        })
    }

    /// Builds and caches a zran index of deflated member `key` when it has no seek index: one
    /// pass over the member (CRC-checked) records the decoder state and the 32 KiB window at
    /// the first deflate block boundary after every `span` bytes (default: 1 MiB, or more so
    /// that there are at most 1024 points). Later frame reads start from the nearest point.
    /// Returns the number of points (0 for stored or seek-indexed members, which need none).
    ///
    /// Memory: about 32 KiB per point.
    ///
    /// # Errors
    /// As [`read_bytes`](Self::read_bytes).
    ///
    /// ```
    /// use npy_format::FrameSource;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::options()
    ///     .compression(npz_stream::Compression::deflate())
    ///     .index(false) // like numpy's savez_compressed
    ///     .create(&path)
    ///     .unwrap();
    /// let data: Vec<u32> = (0..200_000u32).map(|i| i.wrapping_mul(2_654_435_761) >> 7).collect();
    /// npz.add_array("x", &data, &[200_000]).unwrap();
    /// npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// assert!(!reader.info("x").unwrap().seekable);
    /// assert!(reader.build_index("x", Some(64 << 10)).unwrap() > 5);
    /// assert!(reader.info("x").unwrap().seekable);
    /// let mut x = reader.member("x").unwrap();
    /// assert_eq!(x.read_frames(150_000, 150_001).unwrap(), data[150_000].to_le_bytes());
    /// ```
    pub fn build_index(&self, key: &str, span: Option<u64>) -> Result<usize, ReadError> {
        let idx = self.index_of(key)?;
        self.build_index_at(idx, span)
    }

    fn build_index_at(&self, idx: usize, span: Option<u64>) -> Result<usize, ReadError> {
        let meta = self.meta(idx)?;
        let entry = self.entry(idx);
        if entry.method == zip::METHOD_STORED || meta.index.is_some() {
            return Ok(0);
        }
        if let Some(zran) = self.zran[idx].get() {
            return Ok(zran.points.len());
        }
        let span = span.unwrap_or((1 << 20).max(entry.size / 1024)).max(1);
        let points = build_access_points(
            &self.file,
            meta.data_start,
            entry.compressed_size,
            entry.size,
            entry.crc32,
            span,
        )
        .map_err(|e| self.inflate_err(idx, e))?;
        Ok(self.zran[idx]
            .get_or_init(|| ZranIndex { points })
            .points
            .len())
    }
}

/// The key of a member name: the name without `.npy`.
fn key_of(name: &str) -> &str {
    name.strip_suffix(".npy").unwrap_or(name)
}

/// A member of an [`NpzReader`] as a [`FrameSource`].
///
/// Reads of frames `[a, b)` cost time proportional to `b - a` for stored members and members
/// with a seek or zran index (plus at most one chunk of inflation), and keep their inflater
/// between calls, so a scan in increasing order inflates each byte once. A read of every frame
/// checks the member's CRC-32.
///
/// ```
/// use npy_format::FrameSource;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
/// # npz.add_array("x", &[1u16, 2, 3, 4], &[4]).unwrap();
/// # npz.finish().unwrap();
/// let reader = npz_stream::NpzReader::open(&path).unwrap();
/// let mut x = reader.member("x").unwrap();
/// assert_eq!(x.header().shape, vec![4]);
/// assert_eq!(x.read_frames(1, 3).unwrap(), vec![2, 0, 3, 0]);
/// assert!(x.read_frames(3, 5).is_err());
/// ```
pub struct Member<'r> {
    reader: &'r NpzReader,
    idx: usize,
    meta: &'r Meta,
    cursor: Option<Inflate<'r>>,
}

impl std::fmt::Debug for Member<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("name", &self.name())
            .field("header", &self.meta.header)
            .finish()
    }
}

impl Member<'_> {
    /// The member's name in the archive.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// # npz.add_array("x", &[1u8], &[1]).unwrap();
    /// # npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// assert_eq!(reader.member("x").unwrap().name(), "x.npy");
    /// ```
    pub fn name(&self) -> &str {
        &self.reader.entry(self.idx).name
    }

    fn err_frames(&self, source: FrameRangeError) -> ReadError {
        ReadError::Frames {
            path: self.reader.path.clone(),
            member: self.name().to_owned(),
            source,
        }
    }

    /// Reads `buf.len()` bytes at member offset `off`, CRC-checking when `full`.
    fn read_at(&mut self, off: u64, buf: &mut [u8], full: bool) -> Result<(), ReadError> {
        let reader = self.reader;
        let entry = reader.entry(self.idx);
        let meta = self.meta;
        let io = |source| ReadError::Io {
            path: reader.path.clone(),
            member: entry.name.clone(),
            source,
        };
        if entry.method == zip::METHOD_STORED {
            let source = reader.source();
            source.pread_exact(buf, meta.data_start + off).map_err(io)?;
            if full {
                let mut crc = crc32fast::Hasher::new();
                let mut head = vec![0u8; off as usize];
                source.pread_exact(&mut head, meta.data_start).map_err(io)?;
                crc.update(&head);
                crc.update(buf);
                let mut at = off + buf.len() as u64;
                let mut tail = vec![0u8; (entry.size - at).min(1 << 20) as usize];
                while at < entry.size {
                    let n = (entry.size - at).min(tail.len() as u64) as usize;
                    source
                        .pread_exact(&mut tail[..n], meta.data_start + at)
                        .map_err(io)?;
                    crc.update(&tail[..n]);
                    at += n as u64;
                }
                let actual = crc.finalize();
                if actual != entry.crc32 {
                    return Err(ReadError::Crc {
                        path: reader.path.clone(),
                        member: entry.name.clone(),
                        expected: entry.crc32,
                        actual,
                    });
                }
            }
            return Ok(());
        }
        let (base, csize, size) = (meta.data_start, entry.compressed_size, entry.size);
        if full {
            let mut inflate = Inflate::from_start(&reader.file, base, csize, size, entry.crc32);
            let result = inflate
                .skip(off)
                .and_then(|()| inflate.read_exact(buf))
                .and_then(|()| inflate.skip(size - inflate.out));
            return result.map_err(|e| reader.inflate_err(self.idx, e));
        }
        if off > 0
            && reader.options.index_foreign
            && meta.index.is_none()
            && reader.zran[self.idx].get().is_none()
        {
            reader.build_index_at(self.idx, None)?;
        }
        // The best starting point: the latest of the cursor, the index points, the start.
        let mut best: (u64, Start<'_>) = (0, Start::Beginning);
        if let Some(index) = &meta.index {
            let i = index.points.partition_point(|&(u, _)| u <= off);
            if i > 0 {
                let (u, c) = index.points[i - 1];
                // Every chunk but the first follows a full flush (`00 00 ff ff`); a point that
                // does not is corrupt, and inflating from an earlier start is still right.
                let after_flush = || {
                    let mut tail = [0u8; 4];
                    let at = (meta.data_start + c).saturating_sub(4);
                    reader.source().pread_exact(&mut tail, at).is_ok() && tail == [0, 0, 0xff, 0xff]
                };
                if i == 1 || after_flush() {
                    best = (u, Start::Flush(c));
                }
            }
        }
        if let Some(zran) = reader.zran[self.idx].get() {
            let i = zran.points.partition_point(|p| p.out <= off);
            if i > 0 && zran.points[i - 1].out > best.0 {
                best = (zran.points[i - 1].out, Start::Access(&zran.points[i - 1]));
            }
        }
        let reuse = self
            .cursor
            .as_ref()
            .is_some_and(|c| c.out <= off && c.out >= best.0);
        if !reuse {
            self.cursor = None;
        }
        let cursor = self.cursor.get_or_insert_with(|| match best.1 {
            Start::Beginning => Inflate::from_start(&reader.file, base, csize, size, entry.crc32),
            Start::Flush(c) => Inflate::at_point(&reader.file, base, csize, size, best.0, c),
            Start::Access(point) => {
                Inflate::at_access_point(&reader.file, base, csize, size, point)
            }
        });
        let result = cursor
            .skip(off - cursor.out)
            .and_then(|()| cursor.read_exact(buf));
        if result.is_err() {
            self.cursor = None;
        }
        result.map_err(|e| reader.inflate_err(self.idx, e))
    }
}

enum Start<'a> {
    Beginning,
    Flush(u64),
    Access(&'a AccessPoint),
}

impl FrameSource for Member<'_> {
    type Error = ReadError;

    fn header(&self) -> &Header {
        &self.meta.header
    }

    fn check_readable(&self) -> Result<(), ReadError> {
        if self.meta.header.dtype.has_object() {
            return Err(ReadError::View {
                path: self.reader.path.clone(),
                member: self.name().to_owned(),
                source: ViewError::Object,
            });
        }
        Ok(())
    }

    fn range_error(&self, error: FrameRangeError) -> ReadError {
        self.err_frames(error)
    }

    fn read_frames_unchecked(
        &mut self,
        start: u64,
        frames: u64,
        buf: &mut [u8],
    ) -> Result<(), ReadError> {
        let count = self.frame_count();
        let off = self.meta.header_len + start * self.frame_len();
        let full = start == 0 && frames == count && count > 0;
        self.read_at(off, buf, full)
    }
}

/// Member bytes as an [`io::Read`]: the whole `.npy`, CRC-checked at the end.
/// Errors are `io::Error`s wrapping a [`ReadError`] (`get_ref()` + `downcast_ref`).
///
/// ```
/// use std::io::Read;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// # let mut npz = npz_stream::NpzWriter::options().compression(npz_stream::Compression::deflate()).create(&path).unwrap();
/// # npz.add_array("x", &[5u8; 1000], &[1000]).unwrap();
/// # npz.finish().unwrap();
/// let reader = npz_stream::NpzReader::open(&path).unwrap();
/// let mut member = reader.open_member("x").unwrap();
/// assert_eq!(member.size(), 1128);
/// let mut out = std::fs::File::create(dir.path().join("x.npy")).unwrap();
/// assert_eq!(std::io::copy(&mut member, &mut out).unwrap(), 1128);
/// ```
pub struct MemberReader<'r> {
    reader: &'r NpzReader,
    idx: usize,
    data_start: u64,
    size: u64,
    pos: u64,
    check: bool,
    kind: ReaderKind<'r>,
}

enum ReaderKind<'r> {
    Stored(crc32fast::Hasher),
    Deflated(Box<Inflate<'r>>),
}

impl std::fmt::Debug for MemberReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberReader")
            .field("name", &self.name())
            .field("size", &self.size)
            .field("pos", &self.pos)
            .finish()
    }
}

impl<'r> MemberReader<'r> {
    fn new(reader: &'r NpzReader, idx: usize, data_start: u64, check: bool) -> MemberReader<'r> {
        let entry = reader.entry(idx);
        let kind = if entry.method == zip::METHOD_STORED {
            ReaderKind::Stored(crc32fast::Hasher::new())
        } else {
            let inflate = if check {
                Inflate::from_start(
                    &reader.file,
                    data_start,
                    entry.compressed_size,
                    entry.size,
                    entry.crc32,
                )
            } else {
                Inflate::at_point(
                    &reader.file,
                    data_start,
                    entry.compressed_size,
                    entry.size,
                    0,
                    0,
                )
            };
            ReaderKind::Deflated(Box::new(inflate))
        };
        MemberReader {
            reader,
            idx,
            data_start,
            size: entry.size,
            pos: 0,
            check,
            kind,
        }
    }

    /// The member's name in the archive.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// # npz.add_array("x", &[1u8], &[1]).unwrap();
    /// # npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// assert_eq!(reader.open_member("x").unwrap().name(), "x.npy");
    /// ```
    pub fn name(&self) -> &str {
        &self.reader.entry(self.idx).name
    }

    /// The member's uncompressed size, as declared in the directory.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// # npz.add_array("x", &[1u8], &[1]).unwrap();
    /// # npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// assert_eq!(reader.open_member("x").unwrap().size(), 129);
    /// ```
    pub fn size(&self) -> u64 {
        self.size
    }

    fn read_inner(&mut self, buf: &mut [u8]) -> Result<usize, ReadError> {
        let reader = self.reader;
        let entry = reader.entry(self.idx);
        match &mut self.kind {
            ReaderKind::Stored(crc) => {
                let n = (self.size - self.pos).min(buf.len() as u64) as usize;
                reader
                    .source()
                    .pread_exact(&mut buf[..n], self.data_start + self.pos)
                    .map_err(|source| ReadError::Io {
                        path: reader.path.clone(),
                        member: entry.name.clone(),
                        source,
                    })?;
                if self.check {
                    crc.update(&buf[..n]);
                }
                self.pos += n as u64;
                if self.check && self.pos == self.size && n > 0 {
                    let actual = crc.clone().finalize();
                    if actual != entry.crc32 {
                        return Err(ReadError::Crc {
                            path: reader.path.clone(),
                            member: entry.name.clone(),
                            expected: entry.crc32,
                            actual,
                        });
                    }
                }
                Ok(n)
            }
            ReaderKind::Deflated(inflate) => {
                let n = inflate
                    .read(buf)
                    .map_err(|e| reader.inflate_err(self.idx, e))?;
                self.pos += n as u64;
                Ok(n)
            }
        }
    }
}

impl Read for MemberReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_inner(buf).map_err(io::Error::other)
    }
}
