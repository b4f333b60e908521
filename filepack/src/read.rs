//! Reading packs: [`Pack`], its entries, readers, directory listings and walks.

#[cfg(target_os = "linux")]
use array_files_fs::map::Advice;
use array_files_fs::map::{MapOptions, Mmap};
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::Error;
use crate::format::{
    self, ENTRY_LEN, HEADER_LEN, KIND_DIR, KIND_FILE, KIND_SYMLINK, NO_ENTRY, PackHeader, RawEntry,
    SLOT_LEN,
};
use crate::path::{self, cmp_paths, is_normalized, normalize_path};
use crate::prefetch::prefetch;

/// How many symlinks a path resolution follows before giving up (as Linux's `ELOOP`).
const MAX_SYMLINK_HOPS: u32 = 40;

/// What an entry is.
///
/// ```
/// use filepack::Kind;
/// assert_eq!(Kind::Dir.to_string(), "directory");
/// assert_eq!(Kind::Symlink.as_str(), "symlink");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
}

impl Kind {
    /// `"file"`, `"dir"` or `"symlink"`: the names `filepack ls --json` prints.
    ///
    /// ```
    /// assert_eq!(filepack::Kind::Dir.as_str(), "dir");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "dir",
            Kind::Symlink => "symlink",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::File => "file",
            Kind::Dir => "directory",
            Kind::Symlink => "symlink",
        })
    }
}

enum Storage {
    Map(Mmap),
    Vec(Vec<u8>),
}

impl Storage {
    fn bytes(&self) -> &[u8] {
        match self {
            Storage::Map(m) => m,
            Storage::Vec(v) => v,
        }
    }
}

/// Options for opening a pack.
///
/// ```
/// use filepack::{Pack, PackBuilder};
/// # let dir = tempfile::tempdir().unwrap();
/// # std::fs::write(dir.path().join("a.txt"), "hi").unwrap();
/// # let out = dir.path().join("p.fpack");
/// # PackBuilder::new().pack_dir(dir.path(), &out).unwrap();
/// let pack = Pack::options().verify_tables(true).verify_reads(true).open(&out).unwrap();
/// assert_eq!(pack.bytes("a.txt").unwrap(), b"hi");
/// ```
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    verify_tables: bool,
    verify_reads: bool,
    populate: bool,
    huge_pages: bool,
    read_into_memory: bool,
}

impl OpenOptions {
    /// The defaults: O(1) open, no checksum checks on open or read, no prefaulting.
    ///
    /// ```
    /// let options = filepack::OpenOptions::new();
    /// # let _ = options;
    /// ```
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// Check the checksum of the tables at open. This reads every table byte: O(entries).
    ///
    /// ```
    /// let options = filepack::OpenOptions::new().verify_tables(true);
    /// # let _ = options;
    /// ```
    pub fn verify_tables(mut self, yes: bool) -> OpenOptions {
        self.verify_tables = yes;
        self
    }

    /// Check each file's checksum whenever [`Pack::bytes`], [`Pack::open_file`],
    /// [`Pack::read_to_string`] or [`Pack::npy`] reads it.
    ///
    /// ```
    /// let options = filepack::OpenOptions::new().verify_reads(true);
    /// # let _ = options;
    /// ```
    pub fn verify_reads(mut self, yes: bool) -> OpenOptions {
        self.verify_reads = yes;
        self
    }

    /// Prefault the whole map at open (`MAP_POPULATE` on Linux; ignored elsewhere). Makes the
    /// open O(size) but the first read of every page free.
    ///
    /// ```
    /// let options = filepack::OpenOptions::new().populate(true);
    /// # let _ = options;
    /// ```
    pub fn populate(mut self, yes: bool) -> OpenOptions {
        self.populate = yes;
        self
    }

    /// Ask the kernel to cache and map the pack in 2 MiB pages (`madvise(MADV_HUGEPAGE)` on
    /// Linux; ignored elsewhere, and where transparent huge pages are disabled).
    ///
    /// A random lookup in a pack larger than the CPU's TLB reach pays for an address
    /// translation on every read; with 2 MiB pages a few hundred TLB entries cover a pack of
    /// gigabytes. It only changes how the pages the kernel reads from now on are cached: for a
    /// pack that fits in memory and is read at random.
    /// Leave it off for a pack much larger than memory read cold from slow storage: each first
    /// touch then reads 2 MiB from disk instead of a readahead window.
    ///
    /// ```
    /// let options = filepack::OpenOptions::new().huge_pages(true);
    /// # let _ = options;
    /// ```
    pub fn huge_pages(mut self, yes: bool) -> OpenOptions {
        self.huge_pages = yes;
        self
    }

    /// Read the whole pack into memory at open (with `read`, not a map) instead of mapping it:
    /// O(size) memory and time at open, but a file truncated or rewritten while open cannot
    /// harm the process (see [`Pack`] on what happens to a map then). A file that shrinks while
    /// it is read gives an error ([`Error::Corrupt`], the length recorded in the header not
    /// being the length read), never a crash. Ignores [`Self::populate`] and
    /// [`Self::huge_pages`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::fs::write(dir.path().join("a.txt"), "hi").unwrap();
    /// # let out = dir.path().join("p.fpack");
    /// # filepack::PackBuilder::new().pack_dir(dir.path(), &out).unwrap();
    /// let pack = filepack::OpenOptions::new().read_into_memory(true).open(&out).unwrap();
    /// std::fs::File::options().write(true).open(&out).unwrap().set_len(0).unwrap();
    /// assert_eq!(pack.bytes("a.txt").unwrap(), b"hi"); // the copy in memory
    /// ```
    pub fn read_into_memory(mut self, yes: bool) -> OpenOptions {
        self.read_into_memory = yes;
        self
    }

    /// Opens and memory-maps the pack at `path`. Reads the header and the root entry, nothing
    /// else (unless [`Self::verify_tables`]).
    ///
    /// The pack must not be truncated or rewritten in place while it is open (replacing it
    /// through a rename, as [`PackBuilder`](crate::PackBuilder) does, is fine): reading a page
    /// of the map that the file no longer has kills the process with `SIGBUS` (see [`Pack`]).
    /// [`Self::read_into_memory`] avoids that at the cost of a copy.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read; [`Error::NotAPack`], [`Error::Corrupt`] or
    /// [`Error::Checksum`] if its header is invalid.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let missing = filepack::OpenOptions::new().open(dir.path().join("none.fpack"));
    /// assert!(matches!(missing, Err(filepack::Error::Io { .. })));
    /// ```
    pub fn open(&self, path: impl AsRef<Path>) -> Result<Pack, Error> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        self.open_file(&file, path)
    }

    /// As [`Self::open`], for a file already open for reading; `path` names it in errors and
    /// [`Pack::path`]. The pack maps (or reads) this very file, whatever `path` names now: a
    /// caller can watch the file it opened (its length, say) and know it is the pack's.
    ///
    /// # Errors
    /// As [`Self::open`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::fs::write(dir.path().join("a.txt"), "hi").unwrap();
    /// # let out = dir.path().join("p.fpack");
    /// # filepack::PackBuilder::new().pack_dir(dir.path(), &out).unwrap();
    /// let file = std::fs::File::open(&out).unwrap();
    /// let pack = filepack::OpenOptions::new().open_file(&file, &out).unwrap();
    /// assert_eq!(pack.read_str("a.txt").unwrap(), "hi");
    /// ```
    pub fn open_file(&self, file: &File, path: impl AsRef<Path>) -> Result<Pack, Error> {
        let path = path.as_ref();
        let io_err = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = file;
        let meta = file.metadata().map_err(io_err)?;
        if !meta.is_file() {
            return Err(Error::NotAPack {
                reason: if meta.is_dir() {
                    "it is a directory".to_owned()
                } else {
                    "it is not a regular file".to_owned()
                },
            });
        }
        let len = meta.len();
        if len < HEADER_LEN {
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).map_err(io_err)?;
            return Err(PackHeader::decode(&bytes, len)
                .err()
                .unwrap_or_else(|| Error::corrupt(0, "short file")));
        }
        let map_len = usize::try_from(len).map_err(|_| Error::NotAPack {
            reason: format!("{len} bytes do not fit this machine's address space"),
        })?;
        if self.read_into_memory {
            let mut bytes = Vec::new();
            bytes.try_reserve_exact(map_len).map_err(|_| {
                io_err(io::Error::new(
                    io::ErrorKind::OutOfMemory,
                    format!("cannot hold the {len}-byte pack in memory"),
                ))
            })?;
            // At most `len` bytes (the file may grow meanwhile); fewer if it shrank, which the
            // header's length check then reports.
            file.take(len).read_to_end(&mut bytes).map_err(io_err)?;
            let mut pack = Pack::from_storage(Storage::Vec(bytes), self)?;
            pack.path = Some(path.to_owned());
            return Ok(pack);
        }
        // Read-only, over the bytes the file holds now; `Pack`'s documentation states the
        // contract that makes it sound (see `array_files_fs::map`): a pack is not truncated or
        // rewritten in place while open (this crate's writers replace packs by renaming).
        let map = MapOptions::new()
            .len(map_len)
            .populate(self.populate)
            .map(file)
            .map_err(io_err)?;
        #[cfg(target_os = "linux")]
        if self.huge_pages {
            // A hint: where transparent huge pages are off or unsupported the kernel refuses
            // it, and the pack reads the same in 4 KiB pages.
            let _ = map.advise(Advice::HugePage);
        }
        let mut pack = Pack::from_storage(Storage::Map(map), self)?;
        pack.path = Some(path.to_owned());
        Ok(pack)
    }
}

/// An open pack: memory-mapped, immutable, `Send + Sync`; share it (`&Pack` or `Arc<Pack>`)
/// between any number of threads without a lock.
///
/// Every method validates what it reads against the pack's bounds: a corrupt pack gives
/// [`Error::Corrupt`], never a panic or a read outside the map.
///
/// **The file must not be truncated or rewritten in place while the `Pack` is open** (that
/// would change memory behind a `&[u8]`). Replacing it by renaming a new file over it is safe:
/// the open `Pack` keeps the old one.
///
/// **A mapped file that shrinks kills the process.** If another process truncates the pack
/// while it is mapped ([`Pack::open`], [`OpenOptions::open`]), reading a page past the new end
/// of the file raises `SIGBUS` (on Linux and the BSDs; the process dies unless it handles the
/// signal): no `Result` can report it. To be safe from that, open with
/// [`OpenOptions::read_into_memory`] (or [`Pack::from_vec`] of the file's bytes), which copies
/// the pack at open; or, as the `filepack` command does, handle `SIGBUS` by checking whether the
/// file (opened with [`OpenOptions::open_file`]) shrank and exiting with an error.
///
/// ```
/// use filepack::{Pack, PackBuilder};
/// # let dir = tempfile::tempdir().unwrap();
/// # let src = dir.path().join("src");
/// # std::fs::create_dir_all(src.join("images")).unwrap();
/// # std::fs::write(src.join("images/0.png"), b"\x89PNG...").unwrap();
/// # std::fs::write(src.join("labels.txt"), "cat\n").unwrap();
/// # let out = dir.path().join("data.fpack");
/// PackBuilder::new().pack_dir(&src, &out).unwrap();
/// let pack = Pack::open(&out).unwrap();
/// assert_eq!(pack.bytes("images/0.png").unwrap(), b"\x89PNG...");
/// assert_eq!(pack.read_to_string("./labels.txt").unwrap(), "cat\n");
/// assert_eq!(pack.listdir("").unwrap(), ["images", "labels.txt"]);
/// assert!(pack.is_dir("images") && !pack.exists("images/1.png"));
/// ```
pub struct Pack {
    storage: Storage,
    header: PackHeader,
    verify_reads: bool,
    path: Option<PathBuf>,
}

impl fmt::Debug for Pack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pack")
            .field("path", &self.path)
            .field("entry_count", &self.header.entry_count)
            .field("file_len", &self.header.file_len)
            .finish_non_exhaustive()
    }
}

/// Metadata of an entry, as `std::fs::Metadata` gives for a file on disk.
///
/// ```
/// use filepack::{EntryMeta, Kind, Pack, PackWriter};
/// let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
/// w.add_bytes("a", b"abc", EntryMeta::file().mode(0o600)).unwrap();
/// let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
/// let m = pack.metadata("a").unwrap();
/// assert_eq!((m.kind(), m.len(), m.mode()), (Kind::File, 3, 0o600));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metadata {
    kind: Kind,
    len: u64,
    mode: u32,
    mtime: (i64, u32),
    checksum: u64,
}

impl Metadata {
    /// What the entry is.
    ///
    /// ```
    /// # let pack = filepack::Pack::from_vec(filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.metadata("").unwrap().kind(), filepack::Kind::Dir);
    /// ```
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Whether the entry is a regular file.
    ///
    /// ```
    /// # let pack = filepack::Pack::from_vec(filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert!(!pack.metadata("").unwrap().is_file());
    /// ```
    pub fn is_file(&self) -> bool {
        self.kind == Kind::File
    }

    /// Whether the entry is a directory.
    ///
    /// ```
    /// # let pack = filepack::Pack::from_vec(filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert!(pack.metadata("").unwrap().is_dir());
    /// ```
    pub fn is_dir(&self) -> bool {
        self.kind == Kind::Dir
    }

    /// Whether the entry is a symlink (only from [`Pack::symlink_metadata`]).
    ///
    /// ```
    /// # let pack = filepack::Pack::from_vec(filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert!(!pack.metadata("").unwrap().is_symlink());
    /// ```
    pub fn is_symlink(&self) -> bool {
        self.kind == Kind::Symlink
    }

    /// Size in bytes: a file's contents, a symlink's target; 0 for a directory.
    ///
    /// ```
    /// # let pack = filepack::Pack::from_vec(filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.metadata("").unwrap().len(), 0);
    /// ```
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Permission bits (`st_mode & 0o7777`).
    ///
    /// ```
    /// # let pack = filepack::Pack::from_vec(filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.metadata("").unwrap().mode(), 0o755);
    /// ```
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// Modification time.
    ///
    /// ```
    /// # let pack = filepack::Pack::from_vec(filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.metadata("").unwrap().modified(), std::time::UNIX_EPOCH);
    /// ```
    pub fn modified(&self) -> SystemTime {
        system_time(self.mtime.0, self.mtime.1)
    }

    /// Modification time as stored: seconds since the Unix epoch and nanoseconds.
    ///
    /// ```
    /// # let pack = filepack::Pack::from_vec(filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.metadata("").unwrap().mtime(), (0, 0));
    /// ```
    pub fn mtime(&self) -> (i64, u32) {
        self.mtime
    }

    /// The stored XXH3-64 checksum of the contents (files) or target (symlinks); 0 for
    /// directories.
    ///
    /// ```
    /// # let pack = filepack::Pack::from_vec(filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.metadata("").unwrap().checksum(), 0);
    /// ```
    pub fn checksum(&self) -> u64 {
        self.checksum
    }
}

/// The time `secs` seconds and `nanos` nanoseconds from the Unix epoch (the epoch itself if it
/// cannot be represented).
pub(crate) fn system_time(secs: i64, nanos: u32) -> SystemTime {
    let t = if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::new(secs as u64, nanos))
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(secs.unsigned_abs()))
            .and_then(|t| t.checked_add(Duration::from_nanos(u64::from(nanos))))
    };
    t.unwrap_or(UNIX_EPOCH)
}

/// Checks `data`, the contents of the entry at `path`, against its stored checksum.
fn verify_checksum(path: &str, data: &[u8], expected: u64) -> Result<(), Error> {
    let actual = format::checksum(data);
    if actual != expected {
        return Err(Error::Checksum {
            what: format!("{path:?}"),
            expected,
            actual,
        });
    }
    Ok(())
}

/// A path found in the hash index.
struct Found<'p> {
    /// The entry's index.
    index: u32,
    /// The offset of its record.
    rec: u64,
    /// The record, decoded.
    raw: RawEntry,
    /// The stored path (equal to the query).
    path: &'p [u8],
    /// The probe number of its slot: its distance from the slot its hash points to.
    probe: u64,
}

#[derive(Clone, Copy)]
enum Body<'a> {
    File(&'a [u8]),
    Dir { first: u64, count: u64 },
    Symlink(&'a str),
}

/// One validated entry of a pack: its path, kind, metadata and contents, borrowed from the map.
///
/// ```
/// use filepack::{EntryMeta, Kind, Pack, PackWriter};
/// let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
/// w.add_bytes("dir/a.txt", b"hello", EntryMeta::file()).unwrap();
/// let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
/// let e = pack.entry("dir//a.txt").unwrap();
/// assert_eq!((e.path(), e.name(), e.kind()), ("dir/a.txt", "a.txt", Kind::File));
/// assert_eq!(e.data(), Some(&b"hello"[..]));
/// ```
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    pack: &'a Pack,
    index: u32,
    parent: u32,
    path: &'a str,
    mode: u32,
    mtime: (i64, u32),
    checksum: u64,
    body: Body<'a>,
}

impl fmt::Debug for Entry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("index", &self.index)
            .field("path", &self.path)
            .field("kind", &self.kind())
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Entry<'a> {
    /// Position in the entry table (0 is the root).
    ///
    /// ```
    /// # let pack = filepack::Pack::from_vec(filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.root().unwrap().index(), 0);
    /// ```
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The normalized path, relative to the root (`""` for the root).
    ///
    /// ```
    /// # let pack = filepack::Pack::from_vec(filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.root().unwrap().path(), "");
    /// ```
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The last component of the path (`""` for the root).
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_dir("a/b", EntryMeta::dir()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.entry("a/b").unwrap().name(), "b");
    /// ```
    pub fn name(&self) -> &'a str {
        path::basename(self.path)
    }

    /// Index of the parent directory's entry (`None` for the root).
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_dir("a", EntryMeta::dir()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.entry("a").unwrap().parent(), Some(0));
    /// assert_eq!(pack.root().unwrap().parent(), None);
    /// ```
    pub fn parent(&self) -> Option<u32> {
        (self.parent != NO_ENTRY).then_some(self.parent)
    }

    /// What the entry is.
    ///
    /// ```
    /// # let pack = filepack::Pack::from_vec(filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.root().unwrap().kind(), filepack::Kind::Dir);
    /// ```
    pub fn kind(&self) -> Kind {
        match self.body {
            Body::File(_) => Kind::File,
            Body::Dir { .. } => Kind::Dir,
            Body::Symlink(_) => Kind::Symlink,
        }
    }

    /// Whether it is a regular file.
    ///
    /// ```
    /// # let pack = filepack::Pack::from_vec(filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert!(!pack.root().unwrap().is_file());
    /// ```
    pub fn is_file(&self) -> bool {
        matches!(self.body, Body::File(_))
    }

    /// Whether it is a directory.
    ///
    /// ```
    /// # let pack = filepack::Pack::from_vec(filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert!(pack.root().unwrap().is_dir());
    /// ```
    pub fn is_dir(&self) -> bool {
        matches!(self.body, Body::Dir { .. })
    }

    /// Whether it is a symlink.
    ///
    /// ```
    /// # let pack = filepack::Pack::from_vec(filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert!(!pack.root().unwrap().is_symlink());
    /// ```
    pub fn is_symlink(&self) -> bool {
        matches!(self.body, Body::Symlink(_))
    }

    /// Size in bytes: a file's contents, a symlink's target; 0 for a directory.
    ///
    /// ```
    /// # let pack = filepack::Pack::from_vec(filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.root().unwrap().len(), 0);
    /// ```
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u64 {
        match self.body {
            Body::File(d) => d.len() as u64,
            Body::Dir { .. } => 0,
            Body::Symlink(t) => t.len() as u64,
        }
    }

    /// Number of children of a directory (0 for other kinds).
    ///
    /// ```
    /// # let pack = filepack::Pack::from_vec(filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.root().unwrap().child_count(), 0);
    /// ```
    pub fn child_count(&self) -> u64 {
        match self.body {
            Body::Dir { count, .. } => count,
            _ => 0,
        }
    }

    /// The contents of a file, zero-copy (`None` for directories and symlinks).
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"xyz", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.entry("f").unwrap().data(), Some(&b"xyz"[..]));
    /// ```
    pub fn data(&self) -> Option<&'a [u8]> {
        match self.body {
            Body::File(d) => Some(d),
            _ => None,
        }
    }

    /// The target of a symlink (`None` for other kinds).
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_symlink("l", "f", EntryMeta::symlink()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.entry("l").unwrap().link_target(), Some("f"));
    /// ```
    pub fn link_target(&self) -> Option<&'a str> {
        match self.body {
            Body::Symlink(t) => Some(t),
            _ => None,
        }
    }

    /// Permission bits.
    ///
    /// ```
    /// # let pack = filepack::Pack::from_vec(filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.root().unwrap().mode(), 0o755);
    /// ```
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// The stored checksum (see [`Metadata::checksum`]).
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"xyz", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.entry("f").unwrap().checksum(), filepack::format::checksum(b"xyz"));
    /// ```
    pub fn checksum(&self) -> u64 {
        self.checksum
    }

    /// Metadata (kind, size, mode, mtime, checksum).
    ///
    /// ```
    /// # let pack = filepack::Pack::from_vec(filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert!(pack.root().unwrap().metadata().is_dir());
    /// ```
    pub fn metadata(&self) -> Metadata {
        Metadata {
            kind: self.kind(),
            len: self.len(),
            mode: self.mode,
            mtime: self.mtime,
            checksum: self.checksum,
        }
    }

    /// Recomputes the checksum of a file's contents or a symlink's target and compares it.
    ///
    /// # Errors
    /// [`Error::Checksum`] naming the entry on a mismatch.
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"xyz", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert!(pack.entry("f").unwrap().verify().is_ok());
    /// ```
    pub fn verify(&self) -> Result<(), Error> {
        match self.body {
            Body::File(d) => verify_checksum(self.path, d, self.checksum),
            Body::Symlink(t) => verify_checksum(self.path, t.as_bytes(), self.checksum),
            Body::Dir { .. } => Ok(()),
        }
    }

    /// The children of a directory, in name order.
    ///
    /// # Errors
    /// [`Error::NotADir`] if the entry is not a directory.
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("b", b"", EntryMeta::file()).unwrap();
    /// # w.add_bytes("a", b"", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// let names: Vec<_> = pack.root().unwrap().children().unwrap().map(|e| e.unwrap().name()).collect();
    /// assert_eq!(names, ["a", "b"]);
    /// ```
    pub fn children(&self) -> Result<ReadDir<'a>, Error> {
        match self.body {
            Body::Dir { first, count } => Ok(ReadDir {
                pack: self.pack,
                dir: self.index,
                pos: first,
                end: first + count,
                last: self.index,
            }),
            _ => Err(Error::NotADir {
                path: self.path.to_owned(),
                kind: self.kind(),
            }),
        }
    }
}

/// A file inside a pack as a reader: `Read + Seek + BufRead` over the mapped bytes, no copy.
///
/// ```
/// use std::io::{BufRead, Read, Seek, SeekFrom};
/// # use filepack::{EntryMeta, Pack, PackWriter};
/// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
/// # w.add_bytes("lines.txt", b"one\ntwo\n", EntryMeta::file()).unwrap();
/// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
/// let mut f = pack.open_file("lines.txt").unwrap();
/// let mut first = String::new();
/// f.read_line(&mut first).unwrap();
/// assert_eq!(first, "one\n");
/// f.seek(SeekFrom::Start(4)).unwrap();
/// let mut rest = String::new();
/// f.read_to_string(&mut rest).unwrap();
/// assert_eq!(rest, "two\n");
/// ```
#[derive(Debug, Clone)]
pub struct FileReader<'a> {
    cursor: io::Cursor<&'a [u8]>,
}

impl<'a> FileReader<'a> {
    /// All of the file's bytes, whatever the position.
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"abc", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.open_file("f").unwrap().get_ref(), b"abc");
    /// ```
    pub fn get_ref(&self) -> &'a [u8] {
        self.cursor.get_ref()
    }

    /// The file's length.
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"abc", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.open_file("f").unwrap().len(), 3);
    /// ```
    pub fn len(&self) -> u64 {
        self.cursor.get_ref().len() as u64
    }

    /// Whether the file is empty.
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert!(pack.open_file("f").unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.cursor.get_ref().is_empty()
    }

    /// The current position.
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"abc", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.open_file("f").unwrap().position(), 0);
    /// ```
    pub fn position(&self) -> u64 {
        self.cursor.position()
    }
}

impl Read for FileReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.cursor.read(buf)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.cursor.read_exact(buf)
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        self.cursor.read_to_end(buf)
    }
}

impl BufRead for FileReader<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.cursor.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.cursor.consume(amt);
    }
}

impl Seek for FileReader<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.cursor.seek(pos)
    }
}

/// The children of a directory, in name order (from [`Pack::read_dir`]).
///
/// ```
/// # use filepack::{EntryMeta, Pack, PackWriter};
/// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
/// # w.add_bytes("d/x", b"", EntryMeta::file()).unwrap();
/// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
/// let paths: Vec<_> = pack.read_dir("d").unwrap().map(|e| e.unwrap().path()).collect();
/// assert_eq!(paths, ["d/x"]);
/// ```
#[derive(Debug, Clone)]
pub struct ReadDir<'a> {
    pack: &'a Pack,
    dir: u32,
    pos: u64,
    end: u64,
    last: u32,
}

impl<'a> Iterator for ReadDir<'a> {
    type Item = Result<Entry<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.end {
            return None;
        }
        let pos = self.pos;
        self.pos += 1;
        let result = self.pack.dir_item(pos).and_then(|index| {
            // Children are strictly increasing and after their directory, and name it as their
            // parent: each entry is listed at most once, so walks of corrupt packs end.
            if index <= self.last {
                return Err(Error::corrupt(
                    self.pack.dirs_item_offset(pos),
                    format!(
                        "directory entry {} lists child {index} out of order",
                        self.dir
                    ),
                ));
            }
            let child = self.pack.entry_at(index)?;
            if child.parent != self.dir {
                return Err(Error::corrupt(
                    self.pack.dirs_item_offset(pos),
                    format!(
                        "directory entry {} lists child {index} whose parent is {}",
                        self.dir, child.parent
                    ),
                ));
            }
            self.last = index;
            Ok(child)
        });
        if result.is_err() {
            self.pos = self.end;
        }
        Some(result)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.end - self.pos).unwrap_or(usize::MAX);
        (0, Some(n))
    }
}

/// A depth-first walk of a subtree, starting with the start entry itself, children in name
/// order (from [`Pack::walk`]). Like `walkdir`, symlinks are yielded, not followed.
///
/// ```
/// # use filepack::{EntryMeta, Pack, PackWriter};
/// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
/// # w.add_bytes("a/b/c", b"", EntryMeta::file()).unwrap();
/// # w.add_bytes("a/d", b"", EntryMeta::file()).unwrap();
/// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
/// let paths: Vec<_> = pack.walk("a").unwrap().map(|e| e.unwrap().path()).collect();
/// assert_eq!(paths, ["a", "a/b", "a/b/c", "a/d"]);
/// ```
#[derive(Debug)]
pub struct Walk<'a> {
    first: Option<Entry<'a>>,
    stack: Vec<ReadDir<'a>>,
}

impl<'a> Walk<'a> {
    fn push(&mut self, entry: &Entry<'a>) {
        if let Ok(children) = entry.children() {
            self.stack.push(children);
        }
    }
}

impl<'a> Iterator for Walk<'a> {
    type Item = Result<Entry<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(first) = self.first.take() {
            self.push(&first);
            return Some(Ok(first));
        }
        loop {
            let top = self.stack.last_mut()?;
            match top.next() {
                None => {
                    self.stack.pop();
                }
                Some(Ok(entry)) => {
                    // The stack holds one listing per level: bounded as every reader bounds
                    // depth (a corrupt pack can chain directories without limit).
                    if let Err(e) = Error::check_depth(entry.path()) {
                        self.stack.clear();
                        return Some(Err(e));
                    }
                    self.push(&entry);
                    return Some(Ok(entry));
                }
                Some(Err(e)) => return Some(Err(e)),
            }
        }
    }
}

/// Every entry in table order (depth-first, name order), from [`Pack::entries`].
///
/// ```
/// # use filepack::{EntryMeta, Pack, PackWriter};
/// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
/// # w.add_bytes("x", b"", EntryMeta::file()).unwrap();
/// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
/// assert_eq!(pack.entries().count(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    pack: &'a Pack,
    next: u64,
    end: u64,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let i = self.next as u32;
        self.next += 1;
        Some(self.pack.entry_at(i))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.end - self.next).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Entries<'_> {}

/// What [`Pack::verify`] checked.
///
/// ```
/// # use filepack::{EntryMeta, Pack, PackWriter};
/// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
/// # w.add_bytes("d/f", b"abc", EntryMeta::file()).unwrap();
/// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
/// let s = pack.verify().unwrap();
/// assert_eq!((s.entries, s.files, s.dirs, s.symlinks, s.bytes), (3, 1, 2, 0, 3));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifySummary {
    /// Entries checked (the root included).
    pub entries: u64,
    /// Regular files.
    pub files: u64,
    /// Directories (the root included).
    pub dirs: u64,
    /// Symlinks.
    pub symlinks: u64,
    /// Bytes of file contents checksummed.
    pub bytes: u64,
}

impl VerifySummary {
    fn add(&mut self, other: &VerifySummary) {
        self.entries += other.entries;
        self.files += other.files;
        self.dirs += other.dirs;
        self.symlinks += other.symlinks;
        self.bytes += other.bytes;
    }
}

/// What verifying a range of entries found: counts, children listed, the longest probe that
/// found one of them in the index, and the first error with its entry index.
type RangeResult = (VerifySummary, u64, u64, Option<(u64, Error)>);

impl Pack {
    /// Opens a pack with the default [`OpenOptions`]: O(1), whatever the number of entries.
    ///
    /// The pack is memory-mapped: if the file is truncated while open, reading what it lost
    /// raises `SIGBUS` (see [`Pack`]); [`OpenOptions::read_into_memory`] avoids that.
    ///
    /// # Errors
    /// As [`OpenOptions::open`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let out = dir.path().join("p.fpack");
    /// # filepack::PackBuilder::new().pack_dir(dir.path(), &out).unwrap();
    /// let pack = filepack::Pack::open(&out).unwrap();
    /// assert!(pack.is_dir(""));
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Pack, Error> {
        OpenOptions::new().open(path)
    }

    /// Options for opening a pack.
    ///
    /// ```
    /// let options = filepack::Pack::options().verify_tables(true);
    /// # let _ = options;
    /// ```
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// A pack held in memory (for packs built into a `Vec`, or received over the network).
    ///
    /// # Errors
    /// As [`OpenOptions::open`].
    ///
    /// ```
    /// use filepack::{EntryMeta, Pack, PackWriter};
    /// let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// w.add_bytes("a", b"1", EntryMeta::file()).unwrap();
    /// let bytes = w.finish().unwrap().0.into_inner();
    /// assert_eq!(Pack::from_vec(bytes).unwrap().bytes("a").unwrap(), b"1");
    /// ```
    pub fn from_vec(bytes: Vec<u8>) -> Result<Pack, Error> {
        Pack::from_storage(Storage::Vec(bytes), &OpenOptions::new())
    }

    /// As [`Pack::from_vec`], with options.
    ///
    /// # Errors
    /// As [`OpenOptions::open`].
    ///
    /// ```
    /// # use filepack::{Pack, PackWriter, OpenOptions};
    /// # let bytes = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner();
    /// let pack = Pack::from_vec_with(bytes, &OpenOptions::new().verify_tables(true)).unwrap();
    /// # let _ = pack;
    /// ```
    pub fn from_vec_with(bytes: Vec<u8>, options: &OpenOptions) -> Result<Pack, Error> {
        Pack::from_storage(Storage::Vec(bytes), options)
    }

    fn from_storage(storage: Storage, options: &OpenOptions) -> Result<Pack, Error> {
        let buf = storage.bytes();
        let header = PackHeader::decode(buf, buf.len() as u64)?;
        let pack = Pack {
            storage,
            header,
            verify_reads: options.verify_reads,
            path: None,
        };
        let root = pack.entry_at(0)?;
        if !root.is_dir() || root.parent != NO_ENTRY {
            return Err(Error::corrupt(
                header.entries_offset,
                "entry 0 is not the root directory",
            ));
        }
        if options.verify_tables {
            pack.verify_tables()?;
        }
        Ok(pack)
    }

    fn buf(&self) -> &[u8] {
        self.storage.bytes()
    }

    /// The decoded header.
    ///
    /// ```
    /// # let bytes = filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner();
    /// let pack = filepack::Pack::from_vec(bytes).unwrap();
    /// assert_eq!(pack.header().entry_count, 1);
    /// ```
    pub fn header(&self) -> &PackHeader {
        &self.header
    }

    /// The path the pack was opened from (`None` for [`Pack::from_vec`]).
    ///
    /// ```
    /// # let bytes = filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner();
    /// assert!(filepack::Pack::from_vec(bytes).unwrap().path().is_none());
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The whole pack file as bytes (the map).
    ///
    /// ```
    /// # let bytes = filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner();
    /// let pack = filepack::Pack::from_vec(bytes).unwrap();
    /// assert!(pack.as_bytes().starts_with(&filepack::format::MAGIC));
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        self.buf()
    }

    /// Number of entries, the root included.
    ///
    /// ```
    /// # let bytes = filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner();
    /// assert_eq!(filepack::Pack::from_vec(bytes).unwrap().entry_count(), 1);
    /// ```
    pub fn entry_count(&self) -> u64 {
        self.header.entry_count
    }

    fn entry_record(&self, index: u32) -> Result<(u64, RawEntry), Error> {
        if u64::from(index) >= self.header.entry_count {
            return Err(Error::corrupt(
                self.header.entries_offset,
                format!(
                    "entry index {index} out of range ({} entries)",
                    self.header.entry_count
                ),
            ));
        }
        // In range: the header check proved the whole entry table lies inside the file.
        let offset = self.header.entries_offset + u64::from(index) * ENTRY_LEN;
        let record: &[u8; 64] = usize::try_from(offset)
            .ok()
            .and_then(|o| self.buf().get(o..o.checked_add(64)?))
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| Error::corrupt(offset, "entry record outside the file"))?;
        Ok((offset, RawEntry::decode(record)))
    }

    fn string(&self, rec: u64, what: &str, offset: u64, len: u64) -> Result<&[u8], Error> {
        let h = &self.header;
        offset
            .checked_add(len)
            .filter(|&end| end <= h.strings_len)
            .and_then(|_| {
                let start = usize::try_from(h.strings_offset + offset).ok()?;
                self.buf()
                    .get(start..start.checked_add(usize::try_from(len).ok()?)?)
            })
            .ok_or_else(|| {
                Error::corrupt(
                    rec,
                    format!(
                        "{what} ({offset}, length {len}) outside the string table (length {})",
                        h.strings_len
                    ),
                )
            })
    }

    /// The entry at `index` in the entry table, validated.
    ///
    /// # Errors
    /// [`Error::Corrupt`] if the index is out of range or the record is inconsistent.
    ///
    /// ```
    /// # let bytes = filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner();
    /// let pack = filepack::Pack::from_vec(bytes).unwrap();
    /// assert_eq!(pack.entry_at(0).unwrap().path(), "");
    /// assert!(pack.entry_at(1).is_err());
    /// ```
    pub fn entry_at(&self, index: u32) -> Result<Entry<'_>, Error> {
        self.entry_at_inner(index, None)
    }

    /// As [`Self::entry_at`]; `known_path` is the entry's path as [`Self::find`] just compared
    /// it with a normalized query, which spares validating it again.
    fn entry_at_inner<'p>(
        &'p self,
        index: u32,
        known_path: Option<&'p str>,
    ) -> Result<Entry<'p>, Error> {
        let (rec, raw) = self.entry_record(index)?;
        self.entry_from_record(index, rec, &raw, known_path)
    }

    /// The entry of record `raw` (entry `index`, at offset `rec`), validated.
    fn entry_from_record<'p>(
        &'p self,
        index: u32,
        rec: u64,
        raw: &RawEntry,
        known_path: Option<&'p str>,
    ) -> Result<Entry<'p>, Error> {
        let path = match known_path {
            Some(p) if p.len() == raw.path_len as usize => p,
            _ => {
                let bytes = self.string(rec, "path", raw.path_offset, u64::from(raw.path_len))?;
                let path = std::str::from_utf8(bytes).map_err(|_| {
                    Error::corrupt(rec, format!("path of entry {index} is not UTF-8"))
                })?;
                if !is_normalized(path) {
                    return Err(Error::corrupt(
                        rec,
                        format!("path {path:?} of entry {index} is not a normalized path"),
                    ));
                }
                path
            }
        };
        if (index == 0) != path.is_empty() {
            return Err(Error::corrupt(
                rec,
                format!(
                    "entry {index} has path {path:?}, but only the root (entry 0) has the empty path"
                ),
            ));
        }
        let parent_ok = if index == 0 {
            raw.parent == NO_ENTRY
        } else {
            raw.parent < index
        };
        if !parent_ok {
            return Err(Error::corrupt(
                rec + 12,
                format!("entry {index} ({path:?}) has parent {}", raw.parent),
            ));
        }
        if raw.mtime_nanos >= 1_000_000_000 {
            return Err(Error::corrupt(
                rec + 32,
                format!("entry {index} has {} nanoseconds", raw.mtime_nanos),
            ));
        }
        let body = match raw.kind {
            KIND_FILE => Body::File(self.file_contents(rec, raw, path)?),
            KIND_DIR => {
                let items = self.header.dirs_len / 4;
                if raw.a.checked_add(raw.b).is_none_or(|end| end > items) {
                    return Err(Error::corrupt(
                        rec + 40,
                        format!(
                            "children of {path:?} ({}, count {}) outside the directory table",
                            raw.a, raw.b
                        ),
                    ));
                }
                Body::Dir {
                    first: raw.a,
                    count: raw.b,
                }
            }
            KIND_SYMLINK => {
                let target = self.string(rec + 40, "symlink target", raw.a, raw.b)?;
                let target = std::str::from_utf8(target).map_err(|_| {
                    Error::corrupt(rec + 40, format!("target of {path:?} is not UTF-8"))
                })?;
                Body::Symlink(target)
            }
            other => {
                return Err(Error::corrupt(
                    rec + 16,
                    format!("entry {index} ({path:?}) has unknown kind {other}"),
                ));
            }
        };
        Ok(Entry {
            pack: self,
            index,
            parent: raw.parent,
            path,
            mode: raw.mode,
            mtime: (raw.mtime_secs, raw.mtime_nanos),
            checksum: raw.checksum,
            body,
        })
    }

    /// The contents of the file entry `raw` (at offset `rec`, path `path`), checked to lie in
    /// the data region.
    fn file_contents(&self, rec: u64, raw: &RawEntry, path: &str) -> Result<&[u8], Error> {
        let h = &self.header;
        let data_end = h.data_offset + h.data_len;
        raw.a
            .checked_add(raw.b)
            .filter(|&end| raw.a >= h.data_offset && end <= data_end)
            .and_then(|_| {
                let start = usize::try_from(raw.a).ok()?;
                self.buf()
                    .get(start..start.checked_add(usize::try_from(raw.b).ok()?)?)
            })
            .ok_or_else(|| {
                Error::corrupt(
                    rec + 40,
                    format!(
                        "contents of {path:?} ({}, length {}) outside the data region",
                        raw.a, raw.b
                    ),
                )
            })
    }

    fn dirs_item_offset(&self, pos: u64) -> u64 {
        self.header
            .dirs_offset
            .saturating_add(pos.saturating_mul(4))
    }

    fn dir_item(&self, pos: u64) -> Result<u32, Error> {
        let offset = self.dirs_item_offset(pos);
        let bytes = pos
            .checked_mul(4)
            .filter(|&o| {
                o.checked_add(4)
                    .is_some_and(|end| end <= self.header.dirs_len)
            })
            .and_then(|_| {
                let o = usize::try_from(offset).ok()?;
                self.buf().get(o..o.checked_add(4)?)
            })
            .ok_or_else(|| Error::corrupt(offset, "directory item outside the table"))?;
        let mut x = [0u8; 4];
        x.copy_from_slice(bytes);
        Ok(u32::from_le_bytes(x))
    }

    /// Looks up a normalized path in the hash index: the entry, if present, with its record
    /// decoded and its stored path (equal to `path`).
    fn find(&self, path: &str) -> Result<Option<Found<'_>>, Error> {
        self.find_hashed(path, self.header.hash_path(path))
    }

    /// [`Self::find`], given the path's hash.
    fn find_hashed(&self, path: &str, hash: u64) -> Result<Option<Found<'_>>, Error> {
        let mut probe = 0;
        while let Some((entry, next)) = self.next_candidate(hash, probe)? {
            let (rec, raw) = self.entry_record(entry)?;
            if raw.kind == KIND_FILE {
                // The contents and the stored path both depend on the record only: asking for
                // the contents' first line now overlaps its cache miss with the path's.
                self.prefetch_at(raw.a);
            }
            let stored = self.string(rec, "path", raw.path_offset, u64::from(raw.path_len))?;
            if stored == path.as_bytes() {
                return Ok(Some(Found {
                    index: entry,
                    rec,
                    raw,
                    path: stored,
                    probe: next - 1,
                }));
            }
            probe = next;
        }
        Ok(None)
    }

    /// The first entry on `hash`'s probe sequence, from probe number `probe` on, whose tag in
    /// the index matches `hash`, with the probe number to continue from; `None` at the first
    /// empty slot or past the header's probe bound.
    fn next_candidate(&self, hash: u64, mut probe: u64) -> Result<Option<(u32, u64)>, Error> {
        let mask = self.header.index_slots() - 1;
        let tag = (hash >> 32) as u32;
        while probe <= u64::from(self.header.index_max_probe) {
            let value = self.index_slot(hash.wrapping_add(probe) & mask)?;
            let entry = (value >> 32) as u32;
            probe += 1;
            if entry == NO_ENTRY {
                break;
            }
            if value as u32 == tag {
                return Ok(Some((entry, probe)));
            }
        }
        Ok(None)
    }

    /// The value of slot `slot` of the hash index: the path hash's tag in the low half, the
    /// entry index in the high half.
    fn index_slot(&self, slot: u64) -> Result<u64, Error> {
        // In range: the header check proved the index (slots x 8 bytes) lies in the file.
        let offset = self.header.index_offset + slot * SLOT_LEN;
        let bytes = usize::try_from(offset)
            .ok()
            .and_then(|o| self.buf().get(o..o.checked_add(8)?))
            .ok_or_else(|| Error::corrupt(offset, "index slot outside the file"))?;
        let mut x = [0u8; 8];
        x.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(x))
    }

    /// The entry of the first index slot on `hash`'s probe sequence whose tag matches: where
    /// [`Self::find_hashed`] will look first. (A hint for prefetching, not an answer.)
    fn first_candidate(&self, hash: u64) -> Option<u32> {
        Some(self.next_candidate(hash, 0).ok()??.0)
    }

    /// [`Pack::bytes`] for each of `paths`, in order.
    ///
    /// On a pack larger than the CPU caches, a lookup spends most of its time waiting for
    /// memory, three times in a row: for the index slot, then the entry record, then the stored
    /// path and the contents (fetched together), each level depending on the one before.
    /// Looking up a batch (an ML loader's
    /// batch of samples, say), this runs the lookups as a pipeline: while it finishes one
    /// path, it asks for the cache lines that the next few paths will need at each level, so
    /// that their waits overlap. It returns contents whose first and last bytes are already in
    /// the cache: several times the throughput of calling `bytes` in a loop on a large pack,
    /// with the same results.
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a", b"1", EntryMeta::file()).unwrap();
    /// # w.add_bytes("d/b", b"22", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// let got = pack.bytes_many(&["d/b", "a", "missing", "d"]);
    /// assert_eq!(got[0].as_deref().unwrap(), b"22");
    /// assert_eq!(got[1].as_deref().unwrap(), b"1");
    /// assert!(got[2].is_err() && got[3].is_err()); // not found; a directory
    /// ```
    pub fn bytes_many<S: AsRef<str>>(&self, paths: &[S]) -> Vec<Result<&[u8], Error>> {
        // How many paths each stage runs ahead of the next: enough for a cache miss to be
        // served while the CPU works through that many other steps.
        const AHEAD: usize = 4;
        const STAGES: usize = 5;
        // Per-path state lives in rings of the pipeline's depth.
        const RING: usize = AHEAD * STAGES;
        let h = &self.header;
        let mask = h.index_slots() - 1;
        let n = paths.len();
        let mut norms = std::collections::VecDeque::with_capacity(RING);
        let mut hashes = [0u64; RING];
        let mut entries = [NO_ENTRY; RING];
        let mut records: [Option<(u64, RawEntry)>; RING] = [None; RING];
        let mut out = Vec::with_capacity(n);
        for step in 0..n + (STAGES - 1) * AHEAD {
            // The path that stage `stage` works on at this step, if any.
            let at = |stage: usize| step.checked_sub(stage * AHEAD).filter(|&i| i < n);
            // Stage 0: the query's own bytes (a caller's list of paths can be large too).
            if let Some(i) = at(0)
                && let Some(first) = paths[i].as_ref().as_bytes().first()
            {
                prefetch(first);
            }
            // Stage 1: normal form and hash; the index slot.
            if let Some(i) = at(1) {
                let norm = normalize_path(paths[i].as_ref());
                let hash = norm.as_deref().map_or(0, |n| h.hash_path(n));
                hashes[i % RING] = hash;
                norms.push_back(norm);
                self.prefetch_at(h.index_offset.saturating_add((hash & mask) * SLOT_LEN));
            }
            // Stage 2: the first candidate's entry record.
            if let Some(i) = at(2) {
                let entry = self.first_candidate(hashes[i % RING]).unwrap_or(NO_ENTRY);
                entries[i % RING] = entry;
                if u64::from(entry) < h.entry_count {
                    self.prefetch_at(h.entries_offset + u64::from(entry) * ENTRY_LEN);
                }
            }
            // Stage 3: its stored path, and its contents' first and last lines.
            if let Some(i) = at(3) {
                records[i % RING] = None;
                if u64::from(entries[i % RING]) < h.entry_count
                    && let Ok((rec, raw)) = self.entry_record(entries[i % RING])
                {
                    self.prefetch_at(h.strings_offset.saturating_add(raw.path_offset));
                    if raw.kind == KIND_FILE && raw.b > 0 {
                        self.prefetch_at(raw.a);
                        self.prefetch_at(raw.a.saturating_add(raw.b - 1));
                    }
                    records[i % RING] = Some((rec, raw));
                }
            }
            // Stage 4: the lookup itself, on lines now in the cache.
            if let Some(i) = at(4) {
                let norm = norms.pop_front().expect("stage 1 ran on this path");
                let path = paths[i].as_ref();
                out.push(norm.and_then(|norm| {
                    // The first candidate is what `bytes` finds whenever its stored path is the
                    // query's: then its record, read at stage 3, is the answer. Anything else
                    // (another entry, a link, a directory, an error) takes `bytes`' own path.
                    let first = records[i % RING].take().filter(|(rec, raw)| {
                        self.string(*rec, "path", raw.path_offset, u64::from(raw.path_len))
                            .is_ok_and(|stored| stored == norm.as_bytes())
                    });
                    match first.map(|(rec, raw)| self.file_record_contents(rec, &raw, &norm)) {
                        Some(Ok(Some(data))) => Ok(data),
                        _ => self.file_bytes_hashed(path, &norm, hashes[i % RING]),
                    }
                }));
            }
        }
        out
    }

    /// [`prefetch`] of the pack's byte at `offset`, if inside the pack.
    fn prefetch_at(&self, offset: u64) {
        if let Some(byte) = usize::try_from(offset).ok().and_then(|o| self.buf().get(o)) {
            prefetch(byte);
        }
    }

    /// [`Pack::bytes`] of `query`, given its normal form and that form's hash.
    fn file_bytes_hashed(&self, query: &str, norm: &str, hash: u64) -> Result<&[u8], Error> {
        // The fast path, for a path that names a file without a symlink on the way: the index
        // slot, the entry's record, its path and its contents are all it reads (the rest of the
        // record, checked by `entry`, plays no part in reading the contents).
        if let Some(found) = self.find_hashed(norm, hash)?
            && let Some(data) = self.file_record_contents(found.rec, &found.raw, norm)?
        {
            return Ok(data);
        }
        Ok(self.file_entry(query)?.data().unwrap_or_default())
    }

    /// The contents of the entry `raw` (record at `rec`, path `norm`) if it is a regular file,
    /// checked to lie in the data region, and against its checksum with
    /// [`OpenOptions::verify_reads`].
    fn file_record_contents(
        &self,
        rec: u64,
        raw: &RawEntry,
        norm: &str,
    ) -> Result<Option<&[u8]>, Error> {
        if raw.kind != KIND_FILE {
            return Ok(None);
        }
        let data = self.file_contents(rec, raw, norm)?;
        if self.verify_reads {
            verify_checksum(norm, data, raw.checksum)?;
        }
        Ok(Some(data))
    }

    /// Resolves `query`, following symlinks inside the pack (in parent components always, in the
    /// last component if `follow_last`).
    fn resolve(&self, query: &str, follow_last: bool) -> Result<Entry<'_>, Error> {
        let norm = normalize_path(query)?;
        // Fast path: the full path is an entry (always the case when no symlink is involved).
        if let Some(found) = self.find(&norm)? {
            // The stored path equals `norm` (normalized) byte for byte: only UTF-8 is re-checked
            // to borrow it from the map as a &str.
            let path = std::str::from_utf8(found.path).ok();
            let entry = self.entry_from_record(found.index, found.rec, &found.raw, path)?;
            if !(follow_last && entry.is_symlink()) {
                return Ok(entry);
            }
        }
        self.resolve_slow(query, norm.into_owned(), follow_last)
    }

    fn resolve_slow(
        &self,
        query: &str,
        mut path: String,
        follow_last: bool,
    ) -> Result<Entry<'_>, Error> {
        let mut hops = 0u32;
        'restart: loop {
            // Every proper prefix must be a directory or a symlink to follow.
            let mut boundaries: Vec<usize> = path.match_indices('/').map(|(i, _)| i).collect();
            boundaries.push(path.len());
            let last = boundaries.len() - 1;
            for (n, &end) in boundaries.iter().enumerate() {
                let prefix = &path[..end];
                let is_last = n == last;
                let Some(Found { index, .. }) = self.find(prefix)? else {
                    return Err(Error::not_found(query));
                };
                let entry = self.entry_at(index)?;
                match entry.body {
                    Body::Dir { .. } => {
                        if is_last {
                            return Ok(entry);
                        }
                    }
                    Body::File(_) => {
                        if is_last {
                            return Ok(entry);
                        }
                        return Err(Error::NotADir {
                            path: prefix.to_owned(),
                            kind: Kind::File,
                        });
                    }
                    Body::Symlink(target) => {
                        if is_last && !follow_last {
                            return Ok(entry);
                        }
                        hops += 1;
                        if hops > MAX_SYMLINK_HOPS {
                            return Err(Error::SymlinkLoop {
                                path: query.to_owned(),
                            });
                        }
                        let escapes = || Error::SymlinkEscapes {
                            path: prefix.to_owned(),
                            target: target.to_owned(),
                        };
                        if target.starts_with('/') {
                            return Err(escapes());
                        }
                        let rest = &path[end..];
                        let joined = format!("{}{rest}", path::join(path::parent(prefix), target));
                        path = normalize_path(&joined).map_err(|_| escapes())?.into_owned();
                        continue 'restart;
                    }
                }
            }
            // Only reached for the root (no components): it is a directory.
            return self.entry_at(0);
        }
    }

    /// The root directory's entry.
    ///
    /// # Errors
    /// [`Error::Corrupt`] for a corrupt pack.
    ///
    /// ```
    /// # let bytes = filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner();
    /// let pack = filepack::Pack::from_vec(bytes).unwrap();
    /// assert!(pack.root().unwrap().is_dir());
    /// ```
    pub fn root(&self) -> Result<Entry<'_>, Error> {
        self.entry_at(0)
    }

    /// The entry at `path`, not following a symlink in the last component (like
    /// `std::fs::symlink_metadata`); symlinks in parent components are followed.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::InvalidPath`], [`Error::NotADir`] for a file used as a
    /// directory, symlink errors, [`Error::Corrupt`].
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a/b", b"", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.entry("./a//b").unwrap().path(), "a/b");
    /// assert!(matches!(pack.entry("a/c"), Err(filepack::Error::NotFound { .. })));
    /// ```
    pub fn entry(&self, path: &str) -> Result<Entry<'_>, Error> {
        self.resolve(path, false)
    }

    /// The entry at `path`, following symlinks (like `std::fs::metadata`).
    ///
    /// # Errors
    /// As [`Pack::entry`], plus [`Error::SymlinkLoop`] and [`Error::SymlinkEscapes`].
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"x", EntryMeta::file()).unwrap();
    /// # w.add_symlink("l", "f", EntryMeta::symlink()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.resolved_entry("l").unwrap().path(), "f");
    /// ```
    pub fn resolved_entry(&self, path: &str) -> Result<Entry<'_>, Error> {
        self.resolve(path, true)
    }

    /// Metadata of `path`, following symlinks.
    ///
    /// # Errors
    /// As [`Pack::resolved_entry`].
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"xy", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.metadata("f").unwrap().len(), 2);
    /// ```
    pub fn metadata(&self, path: &str) -> Result<Metadata, Error> {
        Ok(self.resolve(path, true)?.metadata())
    }

    /// Metadata of `path`, not following a symlink in the last component.
    ///
    /// # Errors
    /// As [`Pack::entry`].
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_symlink("l", "f", EntryMeta::symlink()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert!(pack.symlink_metadata("l").unwrap().is_symlink());
    /// ```
    pub fn symlink_metadata(&self, path: &str) -> Result<Metadata, Error> {
        Ok(self.resolve(path, false)?.metadata())
    }

    /// Whether `path` names an entry (following symlinks; a dangling link does not exist).
    /// Invalid paths and corrupt packs give `false`; use [`Pack::metadata`] to see errors.
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a/b", b"", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert!(pack.exists("a") && pack.exists("a/b") && !pack.exists("a/b/c"));
    /// assert!(!pack.exists("../x"));
    /// ```
    pub fn exists(&self, path: &str) -> bool {
        self.resolve(path, true).is_ok()
    }

    /// Whether `path` is a regular file (following symlinks).
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a/b", b"", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert!(pack.is_file("a/b") && !pack.is_file("a") && !pack.is_file("nope"));
    /// ```
    pub fn is_file(&self, path: &str) -> bool {
        self.resolve(path, true).is_ok_and(|e| e.is_file())
    }

    /// Whether `path` is a directory (following symlinks).
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a/b", b"", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert!(pack.is_dir("a") && pack.is_dir("") && !pack.is_dir("a/b"));
    /// ```
    pub fn is_dir(&self, path: &str) -> bool {
        self.resolve(path, true).is_ok_and(|e| e.is_dir())
    }

    fn file_entry(&self, path: &str) -> Result<Entry<'_>, Error> {
        let entry = self.resolve(path, true)?;
        if !entry.is_file() {
            return Err(Error::NotAFile {
                path: path.to_owned(),
                kind: entry.kind(),
            });
        }
        if self.verify_reads {
            entry.verify()?;
        }
        Ok(entry)
    }

    /// The contents of the file at `path` (following symlinks), zero-copy from the map.
    ///
    /// # Errors
    /// [`Error::NotAFile`] for directories; as [`Pack::resolved_entry`]; [`Error::Checksum`] with
    /// [`OpenOptions::verify_reads`].
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a/b.bin", &[1, 2, 3], EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.bytes("a/b.bin").unwrap(), &[1, 2, 3]);
    /// assert!(pack.bytes("a").is_err());
    /// ```
    pub fn bytes(&self, path: &str) -> Result<&[u8], Error> {
        let norm = normalize_path(path)?;
        self.file_bytes_hashed(path, &norm, self.header.hash_path(&norm))
    }

    /// A `Read + Seek + BufRead` reader over the file at `path`, zero-copy.
    ///
    /// # Errors
    /// As [`Pack::bytes`].
    ///
    /// ```
    /// use std::io::Read;
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"data", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// let mut s = String::new();
    /// pack.open_file("f").unwrap().read_to_string(&mut s).unwrap();
    /// assert_eq!(s, "data");
    /// ```
    pub fn open_file(&self, path: &str) -> Result<FileReader<'_>, Error> {
        Ok(FileReader {
            cursor: io::Cursor::new(self.bytes(path)?),
        })
    }

    /// The contents of the file at `path` as a `String`.
    ///
    /// # Errors
    /// As [`Pack::bytes`], and [`Error::NotUtf8`].
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("t.txt", "héllo".as_bytes(), EntryMeta::file()).unwrap();
    /// # w.add_bytes("b.bin", &[0xff], EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.read_to_string("t.txt").unwrap(), "héllo");
    /// assert!(pack.read_to_string("b.bin").is_err());
    /// ```
    pub fn read_to_string(&self, path: &str) -> Result<String, Error> {
        self.read_str(path).map(str::to_owned)
    }

    /// The contents of the file at `path` as a `&str`, zero-copy.
    ///
    /// # Errors
    /// As [`Pack::read_to_string`].
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("t.txt", b"hi", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.read_str("t.txt").unwrap(), "hi");
    /// ```
    pub fn read_str(&self, path: &str) -> Result<&str, Error> {
        let bytes = self.bytes(path)?;
        std::str::from_utf8(bytes).map_err(|e| Error::NotUtf8 {
            path: path.to_owned(),
            valid_up_to: e.valid_up_to(),
        })
    }

    /// The target of the symlink at `path`.
    ///
    /// # Errors
    /// [`Error::NotASymlink`]; as [`Pack::entry`].
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_symlink("l", "../x", EntryMeta::symlink()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.read_link("l").unwrap(), "../x");
    /// ```
    pub fn read_link(&self, path: &str) -> Result<&str, Error> {
        let entry = self.resolve(path, false)?;
        entry.link_target().ok_or_else(|| Error::NotASymlink {
            path: path.to_owned(),
            kind: entry.kind(),
        })
    }

    fn dir_entry(&self, path: &str) -> Result<Entry<'_>, Error> {
        let entry = self.resolve(path, true)?;
        if !entry.is_dir() {
            return Err(Error::NotADir {
                path: path.to_owned(),
                kind: entry.kind(),
            });
        }
        Ok(entry)
    }

    /// The names of the children of directory `path`, sorted (by bytes), zero-copy.
    ///
    /// # Errors
    /// [`Error::NotADir`]; as [`Pack::resolved_entry`].
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # for p in ["d/b", "d/a", "d/c/x"] { w.add_bytes(p, b"", EntryMeta::file()).unwrap(); }
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.listdir("d").unwrap(), ["a", "b", "c"]);
    /// ```
    pub fn listdir(&self, path: &str) -> Result<Vec<&str>, Error> {
        self.read_dir(path)?.map(|e| e.map(|e| e.name())).collect()
    }

    /// The children of directory `path` as entries, in name order (like `std::fs::read_dir`).
    ///
    /// # Errors
    /// As [`Pack::listdir`].
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("d/f", b"12", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// for entry in pack.read_dir("d").unwrap() {
    ///     let entry = entry.unwrap();
    ///     assert_eq!((entry.path(), entry.len()), ("d/f", 2));
    /// }
    /// ```
    pub fn read_dir(&self, path: &str) -> Result<ReadDir<'_>, Error> {
        self.dir_entry(path)?.children()
    }

    /// A depth-first walk of the subtree at `start` (which is yielded first), children in name
    /// order, symlinks yielded but not followed (a symlink `start` is followed).
    ///
    /// # Errors
    /// As [`Pack::resolved_entry`] for `start`; the iterator yields [`Error::Corrupt`] for
    /// corrupt directory tables.
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a/x", b"", EntryMeta::file()).unwrap();
    /// # w.add_bytes("b", b"", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// let all: Vec<_> = pack.walk("").unwrap().map(|e| e.unwrap().path()).collect();
    /// assert_eq!(all, ["", "a", "a/x", "b"]);
    /// ```
    pub fn walk(&self, start: &str) -> Result<Walk<'_>, Error> {
        let first = self.resolve(start, true)?;
        Ok(Walk {
            first: Some(first),
            stack: Vec::new(),
        })
    }

    /// Every entry in table order (the root first, then depth-first in name order); sequential
    /// reads of the entry table, the fastest way to visit everything.
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("b", b"", EntryMeta::file()).unwrap();
    /// # w.add_bytes("a/x", b"", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// let all: Vec<_> = pack.entries().map(|e| e.unwrap().path()).collect();
    /// assert_eq!(all, ["", "a", "a/x", "b"]);
    /// ```
    pub fn entries(&self) -> Entries<'_> {
        Entries {
            pack: self,
            next: 0,
            end: self.header.entry_count,
        }
    }

    /// Checks the checksum of the tables (O(entries)).
    ///
    /// # Errors
    /// [`Error::Checksum`] with `what` = `"tables"`.
    ///
    /// ```
    /// # let bytes = filepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner();
    /// filepack::Pack::from_vec(bytes).unwrap().verify_tables().unwrap();
    /// ```
    pub fn verify_tables(&self) -> Result<(), Error> {
        let h = &self.header;
        let start =
            usize::try_from(h.entries_offset).map_err(|_| Error::corrupt(56, "table offset"))?;
        let tables = self
            .buf()
            .get(start..)
            .ok_or_else(|| Error::corrupt(56, "tables outside the file"))?;
        let actual = format::checksum(tables);
        if actual != h.tables_checksum {
            return Err(Error::Checksum {
                what: "tables".to_owned(),
                expected: h.tables_checksum,
                actual,
            });
        }
        Ok(())
    }

    /// Checks everything: the table checksum, every entry's record, order, parent, directory
    /// listing and index slot, and every file's and symlink's checksum. Runs on all cores.
    ///
    /// # Errors
    /// The first problem found (lowest entry index): [`Error::Checksum`] naming the entry, or
    /// [`Error::Corrupt`].
    ///
    /// ```
    /// # use filepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"abc", EntryMeta::file()).unwrap();
    /// let mut bytes = w.finish().unwrap().0.into_inner();
    /// let at = Pack::from_vec(bytes.clone()).unwrap().header().data_offset as usize;
    /// bytes[at] ^= 1; // flip a bit of f's contents
    /// let err = Pack::from_vec(bytes).unwrap().verify().unwrap_err();
    /// assert!(err.to_string().contains("\"f\""));
    /// ```
    pub fn verify(&self) -> Result<VerifySummary, Error> {
        self.verify_tables()?;
        let n = self.header.entry_count;
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(usize::try_from(n.div_ceil(4096)).unwrap_or(1))
            .max(1) as u64;
        let per = n.div_ceil(threads);
        let results: Vec<RangeResult> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (start, end) = (t * per, ((t + 1) * per).min(n));
                    s.spawn(move || self.verify_range(start, end))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        (
                            VerifySummary::default(),
                            0,
                            0,
                            Some((0, Error::corrupt(0, "verification thread panicked"))),
                        )
                    })
                })
                .collect()
        });
        let mut total = VerifySummary::default();
        let mut children = 0u64;
        let mut max_probe = 0u64;
        let mut first_error: Option<(u64, Error)> = None;
        for (summary, kids, probe, error) in results {
            total.add(&summary);
            children += kids;
            max_probe = max_probe.max(probe);
            if let Some((i, e)) = error
                && first_error.as_ref().is_none_or(|(j, _)| i < *j)
            {
                first_error = Some((i, e));
            }
        }
        if let Some((_, e)) = first_error {
            return Err(e);
        }
        if children != n - 1 {
            return Err(Error::corrupt(
                self.header.dirs_offset,
                format!(
                    "directories list {children} children in all, but there are {} non-root entries",
                    n - 1
                ),
            ));
        }
        // Every lookup stops at the recorded bound: it must be the true longest probe, neither
        // short of it (entries would be lost) nor inflated (lookups of missing paths would read
        // more slots than the index needs).
        if max_probe != u64::from(self.header.index_max_probe) {
            return Err(Error::corrupt(
                108,
                format!(
                    "the header records a longest index probe of {} slots, but the longest is {max_probe}",
                    self.header.index_max_probe
                ),
            ));
        }
        Ok(total)
    }

    fn verify_range(&self, start: u64, end: u64) -> RangeResult {
        let mut summary = VerifySummary::default();
        let mut children = 0u64;
        let mut max_probe = 0u64;
        for i in start..end {
            match self.verify_entry(i as u32, &mut summary, &mut max_probe) {
                Ok(kids) => children += kids,
                Err(e) => return (summary, children, max_probe, Some((i, e))),
            }
        }
        (summary, children, max_probe, None)
    }

    fn verify_entry(
        &self,
        index: u32,
        summary: &mut VerifySummary,
        max_probe: &mut u64,
    ) -> Result<u64, Error> {
        let entry = self.entry_at(index)?;
        Error::check_depth(entry.path)?;
        let rec = self.header.entries_offset + u64::from(index) * ENTRY_LEN;
        if index > 0 {
            let prev = self.entry_at(index - 1)?;
            if cmp_paths(prev.path.as_bytes(), entry.path.as_bytes()) != std::cmp::Ordering::Less {
                return Err(Error::corrupt(
                    rec,
                    format!(
                        "entry {index} ({:?}) does not sort after entry {} ({:?})",
                        entry.path,
                        index - 1,
                        prev.path
                    ),
                ));
            }
            let parent = self.entry_at(entry.parent)?;
            if !parent.is_dir() || parent.path != path::parent(entry.path) {
                return Err(Error::corrupt(
                    rec + 12,
                    format!(
                        "entry {index} ({:?}) has parent {} ({:?}, a {})",
                        entry.path,
                        entry.parent,
                        parent.path,
                        parent.kind()
                    ),
                ));
            }
        }
        let found = self.find(entry.path)?;
        if let Some(found) = &found {
            *max_probe = (*max_probe).max(found.probe);
        }
        if found.map(|found| found.index) != Some(index) {
            return Err(Error::corrupt(
                self.header.index_offset,
                format!(
                    "the hash index does not lead to entry {index} ({:?})",
                    entry.path
                ),
            ));
        }
        entry.verify()?;
        summary.entries += 1;
        let mut kids = 0;
        match entry.body {
            Body::File(d) => {
                summary.files += 1;
                summary.bytes += d.len() as u64;
            }
            Body::Symlink(_) => summary.symlinks += 1,
            Body::Dir { .. } => {
                summary.dirs += 1;
                for child in entry.children()? {
                    child?;
                    kids += 1;
                }
            }
        }
        Ok(kids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn pack_is_send_sync() {
        assert_send_sync::<Pack>();
        assert_send_sync::<Entry<'_>>();
    }

    #[test]
    fn system_times() {
        assert_eq!(system_time(0, 0), UNIX_EPOCH);
        assert!(system_time(-10, 5) < UNIX_EPOCH);
        assert!(system_time(10, 5) > UNIX_EPOCH);
        let _ = system_time(i64::MIN, 999_999_999);
        let _ = system_time(i64::MAX, 999_999_999);
    }
}
