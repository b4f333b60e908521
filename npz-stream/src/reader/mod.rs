//! Reading archives: member listing, whole reads, frames, zero-copy views, zran indexes.
//!
//! One idea per file: `options` (how an archive is opened), `meta` (what a member is, checked
//! and cached), `reads` (whole members), `mapped` (zero-copy views), `zran` (indexes into
//! foreign deflated members), `member` (frames at random), `member_reader` (a member as a
//! stream) and `listing` (what every member is, arrays or not). The submodules share this module's imports (`use super::*`).

mod listing;
mod mapped;
mod member;
mod member_reader;
mod meta;
mod options;
mod reads;
mod stored;
mod zran;

pub use listing::{Content, MemberEntry};
pub use member::Member;
pub use member_reader::MemberReader;
pub use meta::MemberInfo;
use meta::{HEADS_PER_REQUEST, Head, Meta};
pub use options::{Method, ReaderOptions};
pub(crate) use stored::IndexTarget;
pub use stored::index_sidecar_path;
use stored::{Sidecar, StoredIndex};
use zran::ZranIndex;

use std::ffi::OsStr;
use std::fs::File;
use std::hash::BuildHasher;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use array_files_fs::map::{MapOptions, Mmap};
use npy_format::source::ByteSource;
use npy_format::{
    Element, FrameRangeError, FrameSource, Header, OwnedArray, ReadOptions, TypedView, Version,
    ViewError,
};

use crate::error::{OpenError, OpenErrorKind, ReadError, ReadErrorKind};
use crate::format::{INDEX_HEADER_ID, SeekIndex};
use crate::inflate::{AccessPoint, Inflate, InflateError, REMOTE_INPUT_MAX, build_access_points};
use crate::io_util::{ReadAt, Src};
use crate::zip::{self, Directory, Entry};

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
/// # Reading from object storage
///
/// [`open_location`](Self::open_location) takes a path or a URL (`s3://bucket/key`, `gs://`,
/// `az://`, `http(s)://`; feature `remote`), and [`open_source`](Self::open_source) any
/// [`ByteSource`]: every read is then a ranged request, and the reader asks for few. See
/// [the crate docs](crate#reading-from-object-storage) for the counts; zero-copy views need a
/// map, so [`data`](Self::data) and [`view`](Self::view) refuse such archives
/// ([`ReadErrorKind::NotMapped`]).
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
    backing: Backing,
    dir: Directory,
    by_name: NameIndex,
    /// Boxed: a million members cost a million empty cells of 16 bytes at open, not of a
    /// whole `Meta` each.
    meta: Vec<OnceLock<Box<Meta>>>,
    zran: Vec<OnceLock<ZranIndex>>,
    /// Indexes stored by `npz index`, per member (`None`: none that checks out); boxed, so
    /// a cell costs 16 bytes at open, as `meta`'s.
    stored: Vec<OnceLock<Option<Box<StoredIndex>>>>,
    sidecar: OnceLock<Option<Sidecar>>,
    map: OnceLock<Mmap>,
    options: ReaderOptions,
}

/// Where an archive's bytes are.
enum Backing {
    /// A local file (mapped on first use of a view), and its length as opened.
    File { file: File, len: u64 },
    /// A byte source: object storage, or whatever source the caller gave.
    Source(Box<dyn ByteSource>),
}

impl std::fmt::Debug for NpzReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpzReader")
            .field("path", &self.path)
            .field("members", &self.dir.entries.len())
            .finish()
    }
}

/// Member numbers by name, the last entry of a name winning (as in numpy): a hash table of
/// numbers whose names are the entries' own, so an open copies no name.
struct NameIndex {
    table: hashbrown::HashTable<usize>,
    hasher: hashbrown::DefaultHashBuilder,
}

impl NameIndex {
    fn new(entries: &[Entry]) -> NameIndex {
        let hasher = hashbrown::DefaultHashBuilder::default();
        let mut table = hashbrown::HashTable::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let hash = hasher.hash_one(entry.name.as_str());
            let same = |&j: &usize| entries[j].name == entry.name;
            match table.find_mut(hash, same) {
                Some(slot) => *slot = i,
                None => {
                    table.insert_unique(hash, i, |&j| hasher.hash_one(entries[j].name.as_str()));
                }
            }
        }
        NameIndex { table, hasher }
    }

    fn get(&self, entries: &[Entry], name: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(name);
        self.table.find(hash, |&j| entries[j].name == name).copied()
    }

    fn len(&self) -> usize {
        self.table.len()
    }

    fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

fn unwrap_io(member: &str, path: &Path, e: io::Error) -> ReadError {
    if !e.get_ref().is_some_and(|inner| inner.is::<ReadError>()) {
        return ReadError::new(
            path.to_path_buf(),
            ReadErrorKind::Io {
                member: member.to_owned(),
                source: e,
            },
        );
    }
    let kind = e.kind();
    match e.into_inner().map(|inner| inner.downcast::<ReadError>()) {
        Some(Ok(err)) => *err,
        _ => ReadError::new(
            path.to_path_buf(),
            ReadErrorKind::Io {
                member: member.to_owned(),
                source: io::Error::from(kind),
            },
        ),
    }
}

/// The key of a member name: the name without `.npy`.
fn key_of(name: &str) -> &str {
    name.strip_suffix(".npy").unwrap_or(name)
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
        let io = |source| OpenError::new(path.to_path_buf(), OpenErrorKind::Io { source });
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let dir = zip::read_directory(&file, len, path)?;
        let reader = NpzReader::with_directory(path, Backing::File { file, len }, dir, options);
        if options.map_archive {
            reader.map_archive().map_err(io)?;
        }
        Ok(reader)
    }

    /// Opens the archive at `location`: a URL (`s3://bucket/key`, `gs://`, `az://`,
    /// `http(s)://`) read by ranges from object storage ([`open_source`](Self::open_source)
    /// with the store configured from the environment: `AWS_ENDPOINT_URL`,
    /// `AWS_ACCESS_KEY_ID`, ...), or anything else as a local path ([`open`](Self::open)).
    ///
    /// # Errors
    /// As [`open`](Self::open); a URL without the `remote` feature is an
    /// [`OpenErrorKind::Io`] error of kind [`io::ErrorKind::Unsupported`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
    /// assert!(npz_stream::NpzReader::open_location(&path).unwrap().can_view()); // a local file
    /// ```
    pub fn open_location(location: impl AsRef<OsStr>) -> Result<NpzReader, OpenError> {
        ReaderOptions::default().open_location(location)
    }

    /// Opens the archive in `source` (object storage, memory, a file read by ranges), in one
    /// request for the end records and the central directory, and a second one only if the
    /// directory is longer than the 64 KiB read with the end records. Errors name
    /// [`ByteSource::location`].
    ///
    /// An archive whose last append was interrupted is not looked for further back (as
    /// [`open`](Self::open) does for a local file), and sidecar indexes
    /// ([`index_sidecar_path`]) are not read: indexes stored in the archive are.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    ///
    /// ```
    /// use npy_format::source::{CountingSource, MemorySource};
    /// use npy_format::FrameSource;
    /// use std::sync::Arc;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// npz.add_array("x", &(0u32..1000).collect::<Vec<_>>(), &[100, 10]).unwrap();
    /// npz.finish().unwrap();
    ///
    /// let bytes = std::fs::read(&path).unwrap();
    /// let source = Arc::new(CountingSource::new(MemorySource::new(bytes, "mem://a.npz")));
    /// let reader = npz_stream::NpzReader::open_source(source.clone()).unwrap();
    /// assert_eq!(source.requests(), 1);
    /// let mut x = reader.member("x").unwrap(); // local header and NPY header: one request
    /// assert_eq!(x.read_frames(99, 100).unwrap()[..4], 990u32.to_le_bytes());
    /// assert_eq!(source.requests(), 3);
    /// ```
    pub fn open_source(source: impl ByteSource + 'static) -> Result<NpzReader, OpenError> {
        ReaderOptions::default().open_source(source)
    }

    pub(super) fn open_source_with(
        source: Box<dyn ByteSource>,
        options: ReaderOptions,
    ) -> Result<NpzReader, OpenError> {
        let path = PathBuf::from(source.location());
        let io = |e| OpenError::new(path.clone(), OpenErrorKind::Io { source: e });
        let (bytes, len) = source.read_tail(zip::TAIL_LEN).map_err(io)?;
        let start = len.checked_sub(bytes.len() as u64).ok_or_else(|| {
            io(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the source returned {} bytes for the tail of a {len}-byte object",
                    bytes.len()
                ),
            ))
        })?;
        let tail = zip::Tail { start, bytes };
        let dir = zip::read_directory_at_tail(&Src::Source(&*source), &tail, &path)?;
        Ok(NpzReader::with_directory(
            &path,
            Backing::Source(source),
            dir,
            options,
        ))
    }

    fn with_directory(
        path: &Path,
        backing: Backing,
        dir: Directory,
        options: ReaderOptions,
    ) -> NpzReader {
        let by_name = NameIndex::new(&dir.entries);
        let n = dir.entries.len();
        NpzReader {
            path: path.to_path_buf(),
            backing,
            dir,
            by_name,
            meta: (0..n).map(|_| OnceLock::new()).collect(),
            zran: (0..n).map(|_| OnceLock::new()).collect(),
            stored: (0..n).map(|_| OnceLock::new()).collect(),
            sidecar: OnceLock::new(),
            map: OnceLock::new(),
            options,
        }
    }

    /// The archive's path; for an archive opened from a [`ByteSource`], its
    /// [`location`](ByteSource::location) (a URL, say) as a path.
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

    /// Whether zero-copy views ([`data`](Self::data), [`view`](Self::view)) are available: the
    /// archive is a local file, mapped on first use; not one read by ranges from a
    /// [`ByteSource`] ([`open_source`](Self::open_source), a URL given to
    /// [`open_location`](Self::open_location)), whose members are read with
    /// [`read_array`](Self::read_array), [`read_bytes`](Self::read_bytes) or
    /// [`member`](Self::member) instead.
    ///
    /// ```
    /// use npy_format::source::MemorySource;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
    /// assert!(npz_stream::NpzReader::open(&path).unwrap().can_view());
    /// let bytes = MemorySource::new(std::fs::read(&path).unwrap(), "mem");
    /// assert!(!npz_stream::NpzReader::open_source(bytes).unwrap().can_view());
    /// ```
    pub fn can_view(&self) -> bool {
        matches!(self.backing, Backing::File { .. })
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
            .filter(|(i, e)| self.by_name.get(&self.dir.entries, &e.name) == Some(*i))
    }

    fn index_of(&self, key: &str) -> Result<usize, ReadError> {
        let entries = &self.dir.entries;
        self.by_name
            .get(entries, key)
            .or_else(|| self.by_name.get(entries, &format!("{key}.npy")))
            .ok_or_else(|| {
                ReadError::new(
                    self.path.clone(),
                    ReadErrorKind::NoSuchMember {
                        key: key.to_owned(),
                        count: self.len(),
                    },
                )
            })
    }

    fn entry(&self, idx: usize) -> &Entry {
        &self.dir.entries[idx]
    }

    /// [`ReadErrorKind::Crc`] unless `actual` is the CRC-32 the directory gives `entry`.
    fn check_crc(&self, entry: &Entry, actual: u32) -> Result<(), ReadError> {
        if actual == entry.crc32 {
            return Ok(());
        }
        Err(ReadError::new(
            self.path.clone(),
            ReadErrorKind::Crc {
                member: entry.name.clone(),
                expected: entry.crc32,
                actual,
            },
        ))
    }
}
