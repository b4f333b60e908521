//! Opening a pack: [`OpenOptions`], from a file (mapped, or read into memory) or from bytes.

use super::*;

pub(super) enum Storage {
    Map(Mmap),
    Vec(Vec<u8>),
    /// A pack read through a [`ByteSource`] (object storage): its tables, bytes `[base,
    /// file_len)`, fetched at open; file contents are fetched by range when read.
    Source {
        base: u64,
        tables: Vec<u8>,
        source: Box<dyn ByteSource>,
    },
}

impl Storage {
    /// The whole pack, when it is in memory or mapped.
    fn bytes(&self) -> Option<&[u8]> {
        match self {
            Storage::Map(m) => Some(m),
            Storage::Vec(v) => Some(v),
            Storage::Source { .. } => None,
        }
    }

    /// Bytes `[offset, offset + len)` of the pack, if they are here (in range, and in the
    /// tables for a pack read through a source).
    pub(super) fn slice(&self, offset: u64, len: u64) -> Option<&[u8]> {
        let (bytes, offset) = match self {
            Storage::Map(m) => (&m[..], offset),
            Storage::Vec(v) => (&v[..], offset),
            Storage::Source { base, tables, .. } => (&tables[..], offset.checked_sub(*base)?),
        };
        let start = usize::try_from(offset).ok()?;
        bytes.get(start..start.checked_add(usize::try_from(len).ok()?)?)
    }

    /// The source of a pack read through one.
    pub(super) fn source(&self) -> Option<&dyn ByteSource> {
        match self {
            Storage::Source { source, .. } => Some(&**source),
            _ => None,
        }
    }
}

/// Options for opening a pack.
///
/// ```
/// use treepack::{Pack, PackBuilder};
/// # let dir = tempfile::tempdir().unwrap();
/// # std::fs::write(dir.path().join("a.txt"), "hi").unwrap();
/// # let out = dir.path().join("p.fpack");
/// # PackBuilder::new().pack_dir(dir.path(), &out).unwrap();
/// let pack = Pack::options().verify_tables(true).verify_reads(true).open(&out).unwrap();
/// assert_eq!(pack.bytes("a.txt").unwrap(), b"hi");
/// ```
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    pub(super) verify_tables: bool,
    pub(super) verify_reads: bool,
    pub(super) populate: bool,
    pub(super) huge_pages: bool,
    pub(super) read_into_memory: bool,
}

impl OpenOptions {
    /// The defaults: O(1) open, no checksum checks on open or read, no prefaulting.
    ///
    /// ```
    /// # use treepack::{EntryMeta, OpenOptions, Pack, PackWriter};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.fpack");
    /// # let mut w = PackWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
    /// # w.add_bytes("data/f.bin", b"contents", EntryMeta::file()).unwrap();
    /// # w.finish().unwrap();
    /// let pack = OpenOptions::new().open(&path).unwrap();
    /// assert_eq!(pack.bytes("data/f.bin").unwrap(), b"contents");
    /// ```
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// Check the checksum of the tables at open. This reads every table byte: O(entries).
    ///
    /// ```
    /// # use treepack::{EntryMeta, OpenOptions, Pack, PackWriter};
    /// let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// w.add_bytes("name-xyz", b"contents", EntryMeta::file()).unwrap();
    /// let mut bytes = w.finish().unwrap().0.into_inner();
    /// let at = bytes.windows(8).rposition(|w| w == b"name-xyz").unwrap();
    /// bytes[at] = b'N'; // a changed byte in the string table
    /// assert!(Pack::from_vec(bytes.clone()).is_ok(), "the default open reads the header only");
    /// assert!(Pack::from_vec_with(bytes, &OpenOptions::new().verify_tables(true)).is_err());
    /// ```
    pub fn verify_tables(mut self, yes: bool) -> OpenOptions {
        self.verify_tables = yes;
        self
    }

    /// Check each file's checksum whenever [`Pack::bytes`], [`Pack::open_file`],
    /// [`Pack::read_to_string`] or [`Pack::npy`] reads it.
    ///
    /// ```
    /// # use treepack::{EntryMeta, OpenOptions, Pack, PackWriter};
    /// let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// w.add_bytes("name-xyz", b"contents", EntryMeta::file()).unwrap();
    /// let mut bytes = w.finish().unwrap().0.into_inner();
    /// let at = bytes.windows(8).position(|w| w == b"contents").unwrap();
    /// bytes[at] = b'C'; // a flipped byte in the stored contents
    /// let plain = Pack::from_vec(bytes.clone()).unwrap();
    /// assert_eq!(plain.bytes("name-xyz").unwrap(), b"Contents");
    /// let checked = Pack::from_vec_with(bytes, &OpenOptions::new().verify_reads(true)).unwrap();
    /// assert!(matches!(checked.bytes("name-xyz"), Err(ref e) if matches!(e.kind(), treepack::ErrorKind::Checksum { .. })));
    /// ```
    pub fn verify_reads(mut self, yes: bool) -> OpenOptions {
        self.verify_reads = yes;
        self
    }

    /// Prefault the whole map at open (`MAP_POPULATE` on Linux; ignored elsewhere). Makes the
    /// open O(size) but the first read of every page free.
    ///
    /// ```
    /// # use treepack::{EntryMeta, OpenOptions, Pack, PackWriter};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.fpack");
    /// # let mut w = PackWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
    /// # w.add_bytes("data/f.bin", b"contents", EntryMeta::file()).unwrap();
    /// # w.finish().unwrap();
    /// let pack = OpenOptions::new().populate(true).open(&path).unwrap(); // every page read in
    /// assert_eq!(pack.bytes("data/f.bin").unwrap(), b"contents");
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
    /// # use treepack::{EntryMeta, OpenOptions, Pack, PackWriter};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.fpack");
    /// # let mut w = PackWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
    /// # w.add_bytes("data/f.bin", b"contents", EntryMeta::file()).unwrap();
    /// # w.finish().unwrap();
    /// let pack = OpenOptions::new().huge_pages(true).open(&path).unwrap();
    /// assert_eq!(pack.bytes("data/f.bin").unwrap(), b"contents");
    /// ```
    pub fn huge_pages(mut self, yes: bool) -> OpenOptions {
        self.huge_pages = yes;
        self
    }

    /// Read the whole pack into memory at open (with `read`, not a map) instead of mapping it:
    /// O(size) memory and time at open, but a file truncated or rewritten while open cannot
    /// harm the process (see [`Pack`] on what happens to a map then). A file that shrinks while
    /// it is read gives an error ([`ErrorKind::Corrupt`], the length recorded in the header not
    /// being the length read), never a crash. Ignores [`Self::populate`] and
    /// [`Self::huge_pages`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::fs::write(dir.path().join("a.txt"), "hi").unwrap();
    /// # let out = dir.path().join("p.fpack");
    /// # treepack::PackBuilder::new().pack_dir(dir.path(), &out).unwrap();
    /// let pack = treepack::OpenOptions::new().read_into_memory(true).open(&out).unwrap();
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
    /// [`ErrorKind::Io`] if the file cannot be read; [`ErrorKind::NotAPack`], [`ErrorKind::Corrupt`] or
    /// [`ErrorKind::Checksum`] if its header is invalid.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let missing = treepack::OpenOptions::new().open(dir.path().join("none.fpack"));
    /// assert!(matches!(missing, Err(ref e) if matches!(e.kind(), treepack::ErrorKind::Io { .. })));
    /// ```
    pub fn open(&self, path: impl AsRef<Path>) -> Result<Pack, Error> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| Error::new(path, ErrorKind::Io { source }))?;
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
    /// # treepack::PackBuilder::new().pack_dir(dir.path(), &out).unwrap();
    /// let file = std::fs::File::open(&out).unwrap();
    /// let pack = treepack::OpenOptions::new().open_file(&file, &out).unwrap();
    /// assert_eq!(pack.read_str("a.txt").unwrap(), "hi");
    /// ```
    pub fn open_file(&self, file: &File, path: impl AsRef<Path>) -> Result<Pack, Error> {
        let path = path.as_ref();
        self.open_file_kind(file, path)
            .map_err(|kind| Error::new(path, kind))
    }

    fn open_file_kind(&self, file: &File, path: &Path) -> Result<Pack, ErrorKind> {
        let io_err = |source| ErrorKind::Io { source };
        let mut file = file;
        let meta = file.metadata().map_err(io_err)?;
        if !meta.is_file() {
            return Err(ErrorKind::NotAPack {
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
                .unwrap_or_else(|| ErrorKind::corrupt(0, "short file")));
        }
        let map_len = usize::try_from(len).map_err(|_| ErrorKind::NotAPack {
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

/// Bytes the open of a pack through a source asks for first: the header, and all of a pack
/// this small, in one request.
pub const HEAD_BYTES: usize = 64 << 10;

impl OpenOptions {
    /// Opens the pack at `source` (an object in storage, say: [`npy_format::source`]) in at most
    /// two requests, whatever its number of entries: the first 64 KiB (the header, and all of a
    /// smaller pack), then the tables at its end (the entries, names, directories and index).
    /// Lookups, listings and walks then cost no request; [`Pack::read`] fetches a file's
    /// contents with one ranged read and [`Pack::read_many`] a batch of files with one
    /// coalesced call. [`Pack::bytes`] and [`Entry::data`], which borrow, are refused
    /// ([`ErrorKind::NotLocal`]). [`Pack::path`] is the source's location.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] naming the location; as [`Self::open`] for the header and tables.
    ///
    /// ```
    /// use npy_format::source::{CountingSource, MemorySource};
    /// use treepack::{EntryMeta, OpenOptions, PackWriter};
    /// let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// w.add_bytes("a/b.txt", b"hello", EntryMeta::file()).unwrap();
    /// let bytes = w.finish().unwrap().0.into_inner();
    /// let source = std::sync::Arc::new(CountingSource::new(MemorySource::new(bytes, "mem://p")));
    /// let pack = OpenOptions::new().open_source(source.clone()).unwrap();
    /// assert_eq!(&*pack.read("a/b.txt").unwrap(), b"hello");
    /// assert_eq!(pack.listdir("a").unwrap(), ["b.txt"]);
    /// assert_eq!(source.requests(), 1); // a pack this small came whole with its header
    /// ```
    pub fn open_source(&self, source: impl ByteSource + 'static) -> Result<Pack, Error> {
        let location = PathBuf::from(source.location());
        self.open_source_kind(source, location.clone())
            .map_err(|kind| Error::new(location, kind))
    }

    fn open_source_kind(
        &self,
        source: impl ByteSource + 'static,
        location: PathBuf,
    ) -> Result<Pack, ErrorKind> {
        let io_err = |source| ErrorKind::Io { source };
        let (mut head, len) = source.read_head(HEAD_BYTES).map_err(io_err)?;
        if head.len() as u64 >= len {
            // The whole pack came with the header.
            let mut pack = Pack::from_storage(Storage::Vec(head), self)?;
            pack.path = Some(location);
            return Ok(pack);
        }
        let header = PackHeader::decode(&head, len)?;
        // The tables run from the entry table to the end (the header check proved it); what the
        // first request already holds of them is not asked again.
        let base = header.entries_offset;
        let fetched = head.len() as u64;
        let tables = if base < fetched {
            let rest =
                usize::try_from(len - fetched).map_err(|_| ErrorKind::corrupt(56, "tables"))?;
            let more = source.read_at(fetched, rest).map_err(io_err)?;
            head.drain(..base as usize);
            head.extend_from_slice(&more);
            head
        } else {
            let size = usize::try_from(len - base).map_err(|_| ErrorKind::corrupt(56, "tables"))?;
            source.read_at(base, size).map_err(io_err)?
        };
        let storage = Storage::Source {
            base,
            tables,
            source: Box::new(source),
        };
        let mut pack = Pack::with_header(storage, header, self)?;
        pack.path = Some(location);
        Ok(pack)
    }

    /// Opens `location`: a URL of object storage (`s3://`, `gs://`, `az://`, `http(s)://`;
    /// npy-format's `remote` feature, on with this crate's `remote`) through
    /// [`open_source`](Self::open_source), with a cache of hot ranges
    /// ([`npy_format::source::SourceOptions`]); anything else as a local path through
    /// [`open`](Self::open).
    ///
    /// # Errors
    /// As [`open`](Self::open) and [`open_source`](Self::open_source).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let out = dir.path().join("p.fpack");
    /// # treepack::PackBuilder::new().pack_dir(dir.path(), &out).unwrap();
    /// let pack = treepack::OpenOptions::new().open_location(out.to_str().unwrap()).unwrap();
    /// assert!(pack.is_local());
    /// ```
    pub fn open_location(&self, location: &str) -> Result<Pack, Error> {
        if !npy_format::source::is_url(location) {
            return self.open(location);
        }
        let source = npy_format::source::open(location)
            .map_err(|source| Error::new(location, ErrorKind::Io { source }))?;
        self.open_source(source)
    }
}

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
    /// # treepack::PackBuilder::new().pack_dir(dir.path(), &out).unwrap();
    /// let pack = treepack::Pack::open(&out).unwrap();
    /// assert!(pack.is_dir(""));
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Pack, Error> {
        OpenOptions::new().open(path)
    }

    /// Opens `location`, a local path or a URL of object storage, with the default
    /// [`OpenOptions`] (see [`OpenOptions::open_location`]).
    ///
    /// # Errors
    /// As [`OpenOptions::open_location`].
    ///
    /// ```
    /// let err = treepack::Pack::open_location("/no/such.fpack").unwrap_err();
    /// assert!(matches!(err.kind(), treepack::ErrorKind::Io { .. }));
    /// ```
    pub fn open_location(location: &str) -> Result<Pack, Error> {
        OpenOptions::new().open_location(location)
    }

    /// `result` with its error naming this pack (its path or URL; none for a pack in memory):
    /// every public method's error says which pack it is about.
    pub(crate) fn at_pack<T>(&self, result: Result<T, ErrorKind>) -> Result<T, Error> {
        result.map_err(|kind| self.error(kind))
    }

    /// `kind`, about this pack.
    pub(crate) fn error(&self, kind: ErrorKind) -> Error {
        Error::new(self.path.clone().unwrap_or_default(), kind)
    }

    /// Options for opening a pack.
    ///
    /// ```
    /// # use treepack::{EntryMeta, OpenOptions, Pack, PackWriter};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.fpack");
    /// # let mut w = PackWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
    /// # w.add_bytes("data/f.bin", b"contents", EntryMeta::file()).unwrap();
    /// # w.finish().unwrap();
    /// let pack = treepack::Pack::options().verify_tables(true).open(&path).unwrap();
    /// assert!(pack.exists("data/f.bin"));
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
    /// use treepack::{EntryMeta, Pack, PackWriter};
    /// let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// w.add_bytes("a", b"1", EntryMeta::file()).unwrap();
    /// let bytes = w.finish().unwrap().0.into_inner();
    /// assert_eq!(Pack::from_vec(bytes).unwrap().bytes("a").unwrap(), b"1");
    /// ```
    pub fn from_vec(bytes: Vec<u8>) -> Result<Pack, Error> {
        Pack::from_vec_with(bytes, &OpenOptions::new())
    }

    /// As [`Pack::from_vec`], with options.
    ///
    /// # Errors
    /// As [`OpenOptions::open`].
    ///
    /// ```
    /// # use treepack::{Pack, PackWriter, OpenOptions};
    /// # let bytes = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner();
    /// let pack = Pack::from_vec_with(bytes, &OpenOptions::new().verify_tables(true)).unwrap();
    /// assert_eq!(pack.entry_count(), 1); // the root alone
    /// ```
    pub fn from_vec_with(bytes: Vec<u8>, options: &OpenOptions) -> Result<Pack, Error> {
        // In memory: no path to name.
        Pack::from_storage(Storage::Vec(bytes), options).map_err(Error::from)
    }

    pub(super) fn from_storage(storage: Storage, options: &OpenOptions) -> Result<Pack, ErrorKind> {
        let buf = storage.bytes().unwrap_or_default();
        let header = PackHeader::decode(buf, buf.len() as u64)?;
        Pack::with_header(storage, header, options)
    }

    fn with_header(
        storage: Storage,
        header: PackHeader,
        options: &OpenOptions,
    ) -> Result<Pack, ErrorKind> {
        let pack = Pack {
            storage,
            header,
            verify_reads: options.verify_reads,
            path: None,
        };
        let root = pack.entry_at(0)?;
        if !root.is_dir() || root.parent != NO_ENTRY {
            return Err(ErrorKind::corrupt(
                header.entries_offset,
                "entry 0 is not the root directory",
            ));
        }
        if options.verify_tables {
            pack.verify_tables()?;
        }
        Ok(pack)
    }

    /// Bytes `[offset, offset + len)` of the pack, if in range and here (see
    /// [`Storage::slice`]).
    pub(super) fn slice(&self, offset: u64, len: u64) -> Option<&[u8]> {
        self.storage.slice(offset, len)
    }

    /// The decoded header.
    ///
    /// ```
    /// # let bytes = treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner();
    /// let pack = treepack::Pack::from_vec(bytes).unwrap();
    /// assert_eq!(pack.header().entry_count, 1);
    /// ```
    pub fn header(&self) -> &PackHeader {
        &self.header
    }

    /// The path the pack was opened from (`None` for [`Pack::from_vec`]).
    ///
    /// ```
    /// # let bytes = treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner();
    /// assert!(treepack::Pack::from_vec(bytes).unwrap().path().is_none());
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The whole pack file as bytes (the map, or the buffer); empty for a pack read through a
    /// source ([`OpenOptions::open_source`]), whose bytes are not here.
    ///
    /// ```
    /// # let bytes = treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner();
    /// let pack = treepack::Pack::from_vec(bytes).unwrap();
    /// assert!(pack.as_bytes().starts_with(&treepack::format::MAGIC));
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        self.storage.bytes().unwrap_or_default()
    }

    /// Whether the contents of files are here (mapped or in memory): then [`Pack::bytes`] and
    /// [`Entry::data`] borrow them. A pack read through a source ([`OpenOptions::open_source`])
    /// fetches them: read it with [`Pack::read`] and [`Pack::read_many`].
    ///
    /// ```
    /// # let bytes = treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner();
    /// assert!(treepack::Pack::from_vec(bytes).unwrap().is_local());
    /// ```
    pub fn is_local(&self) -> bool {
        self.storage.source().is_none()
    }

    /// Number of entries, the root included.
    ///
    /// ```
    /// # let bytes = treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner();
    /// assert_eq!(treepack::Pack::from_vec(bytes).unwrap().entry_count(), 1);
    /// ```
    pub fn entry_count(&self) -> u64 {
        self.header.entry_count
    }
}
