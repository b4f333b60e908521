//! Entries: [`Entry`] and [`Metadata`], decoded from the entry table and checked against the pack.

use super::*;
use std::borrow::Cow;

/// Metadata of an entry, as `std::fs::Metadata` gives for a file on disk.
///
/// ```
/// use treepack::{EntryMeta, Kind, Pack, PackWriter};
/// let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
/// w.add_bytes("a", b"abc", EntryMeta::file().mode(0o600)).unwrap();
/// let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
/// let m = pack.metadata("a").unwrap();
/// assert_eq!((m.kind(), m.len(), m.mode()), (Kind::File, 3, 0o600));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metadata {
    pub(super) kind: Kind,
    pub(super) len: u64,
    pub(super) mode: u32,
    pub(super) mtime: (i64, u32),
    pub(super) checksum: u64,
}

impl Metadata {
    /// What the entry is.
    ///
    /// ```
    /// # let pack = treepack::Pack::from_vec(treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.metadata("").unwrap().kind(), treepack::Kind::Dir);
    /// ```
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Whether the entry is a regular file.
    ///
    /// ```
    /// # let pack = treepack::Pack::from_vec(treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert!(!pack.metadata("").unwrap().is_file());
    /// ```
    pub fn is_file(&self) -> bool {
        self.kind == Kind::File
    }

    /// Whether the entry is a directory.
    ///
    /// ```
    /// # let pack = treepack::Pack::from_vec(treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert!(pack.metadata("").unwrap().is_dir());
    /// ```
    pub fn is_dir(&self) -> bool {
        self.kind == Kind::Dir
    }

    /// Whether the entry is a symlink (only from [`Pack::symlink_metadata`]).
    ///
    /// ```
    /// # let pack = treepack::Pack::from_vec(treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert!(!pack.metadata("").unwrap().is_symlink());
    /// ```
    pub fn is_symlink(&self) -> bool {
        self.kind == Kind::Symlink
    }

    /// Size in bytes: a file's contents, a symlink's target; 0 for a directory.
    ///
    /// ```
    /// # let pack = treepack::Pack::from_vec(treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.metadata("").unwrap().len(), 0);
    /// ```
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Permission bits (`st_mode & 0o7777`).
    ///
    /// ```
    /// # let pack = treepack::Pack::from_vec(treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.metadata("").unwrap().mode(), 0o755);
    /// ```
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// Modification time.
    ///
    /// ```
    /// # let pack = treepack::Pack::from_vec(treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.metadata("").unwrap().modified(), std::time::UNIX_EPOCH);
    /// ```
    pub fn modified(&self) -> SystemTime {
        system_time(self.mtime.0, self.mtime.1)
    }

    /// Modification time as stored: seconds since the Unix epoch and nanoseconds.
    ///
    /// ```
    /// # let pack = treepack::Pack::from_vec(treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.metadata("").unwrap().mtime(), (0, 0));
    /// ```
    pub fn mtime(&self) -> (i64, u32) {
        self.mtime
    }

    /// The stored XXH3-64 checksum of the contents (files) or target (symlinks); 0 for
    /// directories.
    ///
    /// ```
    /// # let pack = treepack::Pack::from_vec(treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
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
pub(super) fn verify_checksum(path: &str, data: &[u8], expected: u64) -> Result<(), ErrorKind> {
    let actual = format::checksum(data);
    if actual != expected {
        return Err(ErrorKind::Checksum {
            what: format!("{path:?}"),
            expected,
            actual,
        });
    }
    Ok(())
}

/// A path found in the hash index.
pub(super) struct Found<'p> {
    /// The entry's index.
    pub(super) index: u32,
    /// The offset of its record.
    pub(super) rec: u64,
    /// The record, decoded.
    pub(super) raw: RawEntry,
    /// The stored path (equal to the query).
    pub(super) path: &'p [u8],
    /// The probe number of its slot: its distance from the slot its hash points to.
    pub(super) probe: u64,
}

#[derive(Clone, Copy)]
pub(super) enum Body<'a> {
    /// Where the contents are (checked to lie in the data region).
    File {
        offset: u64,
        len: u64,
    },
    Dir {
        first: u64,
        count: u64,
    },
    Symlink(&'a str),
}

/// One validated entry of a pack: its path, kind, metadata and contents, borrowed from the map.
///
/// ```
/// use treepack::{EntryMeta, Kind, Pack, PackWriter};
/// let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
/// w.add_bytes("dir/a.txt", b"hello", EntryMeta::file()).unwrap();
/// let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
/// let e = pack.entry("dir//a.txt").unwrap();
/// assert_eq!((e.path(), e.name(), e.kind()), ("dir/a.txt", "a.txt", Kind::File));
/// assert_eq!(e.data(), Some(&b"hello"[..]));
/// ```
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    pub(super) pack: &'a Pack,
    pub(super) index: u32,
    pub(super) parent: u32,
    pub(super) path: &'a str,
    pub(super) mode: u32,
    pub(super) mtime: (i64, u32),
    pub(super) checksum: u64,
    pub(super) body: Body<'a>,
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
    /// # let pack = treepack::Pack::from_vec(treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.root().unwrap().index(), 0);
    /// ```
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The normalized path, relative to the root (`""` for the root).
    ///
    /// ```
    /// # let pack = treepack::Pack::from_vec(treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.root().unwrap().path(), "");
    /// ```
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The last component of the path (`""` for the root).
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
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
    /// # use treepack::{EntryMeta, Pack, PackWriter};
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
    /// # let pack = treepack::Pack::from_vec(treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.root().unwrap().kind(), treepack::Kind::Dir);
    /// ```
    pub fn kind(&self) -> Kind {
        match self.body {
            Body::File { .. } => Kind::File,
            Body::Dir { .. } => Kind::Dir,
            Body::Symlink(_) => Kind::Symlink,
        }
    }

    /// Whether it is a regular file.
    ///
    /// ```
    /// # let pack = treepack::Pack::from_vec(treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert!(!pack.root().unwrap().is_file());
    /// ```
    pub fn is_file(&self) -> bool {
        matches!(self.body, Body::File { .. })
    }

    /// Whether it is a directory.
    ///
    /// ```
    /// # let pack = treepack::Pack::from_vec(treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert!(pack.root().unwrap().is_dir());
    /// ```
    pub fn is_dir(&self) -> bool {
        matches!(self.body, Body::Dir { .. })
    }

    /// Whether it is a symlink.
    ///
    /// ```
    /// # let pack = treepack::Pack::from_vec(treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert!(!pack.root().unwrap().is_symlink());
    /// ```
    pub fn is_symlink(&self) -> bool {
        matches!(self.body, Body::Symlink(_))
    }

    /// Size in bytes: a file's contents, a symlink's target; 0 for a directory.
    ///
    /// ```
    /// # let pack = treepack::Pack::from_vec(treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.root().unwrap().len(), 0);
    /// ```
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u64 {
        match self.body {
            Body::File { len, .. } => len,
            Body::Dir { .. } => 0,
            Body::Symlink(t) => t.len() as u64,
        }
    }

    /// Number of children of a directory (0 for other kinds).
    ///
    /// ```
    /// # let pack = treepack::Pack::from_vec(treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.root().unwrap().child_count(), 0);
    /// ```
    pub fn child_count(&self) -> u64 {
        match self.body {
            Body::Dir { count, .. } => count,
            _ => 0,
        }
    }

    /// The contents of a file, zero-copy (`None` for directories and symlinks, and for the
    /// files of a pack opened through a source, whose contents are not here: [`Entry::read`]
    /// fetches them).
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"xyz", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.entry("f").unwrap().data(), Some(&b"xyz"[..]));
    /// ```
    pub fn data(&self) -> Option<&'a [u8]> {
        match self.body {
            Body::File { offset, len } => self.pack.slice(offset, len),
            _ => None,
        }
    }

    /// The contents of a file: borrowed from the map when the pack is here, fetched by one
    /// ranged read when it was opened through a source ([`OpenOptions::open_source`]);
    /// checked against the file's checksum with [`OpenOptions::verify_reads`].
    ///
    /// # Errors
    /// [`ErrorKind::NotAFile`] for directories and symlinks; [`ErrorKind::Io`] from the source;
    /// [`ErrorKind::Checksum`].
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"xyz", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(&*pack.entry("f").unwrap().read().unwrap(), b"xyz");
    /// assert!(pack.entry("").unwrap().read().is_err());
    /// ```
    pub fn read(&self) -> Result<Cow<'a, [u8]>, Error> {
        let result = (|| -> Result<Cow<'a, [u8]>, ErrorKind> {
            let data = self.fetch()?;
            if self.pack.verify_reads {
                verify_checksum(self.path, &data, self.checksum)?;
            }
            Ok(data)
        })();
        self.pack.at_pack(result)
    }

    /// Checks `data`, this file's contents as read, against its checksum.
    pub(crate) fn verify_data(&self, data: &[u8]) -> Result<(), Error> {
        self.pack
            .at_pack(verify_checksum(self.path, data, self.checksum))
    }

    /// The contents, unchecked: borrowed, or fetched from the source.
    fn fetch(&self) -> Result<Cow<'a, [u8]>, ErrorKind> {
        let Body::File { offset, len } = self.body else {
            return Err(ErrorKind::NotAFile {
                path: self.path.to_owned(),
                kind: self.kind(),
            });
        };
        if let Some(data) = self.pack.slice(offset, len) {
            return Ok(Cow::Borrowed(data));
        }
        let source = self.pack.storage.source().ok_or_else(|| {
            ErrorKind::corrupt(
                offset,
                format!("contents of {:?} outside the file", self.path),
            )
        })?;
        let len = usize::try_from(len).map_err(|_| ErrorKind::corrupt(offset, "length"))?;
        match source.read_at(offset, len) {
            Ok(bytes) => Ok(Cow::Owned(bytes)),
            Err(source) => Err(ErrorKind::Io { source }),
        }
    }

    /// The target of a symlink (`None` for other kinds).
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
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
    /// # let pack = treepack::Pack::from_vec(treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.root().unwrap().mode(), 0o755);
    /// ```
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// The stored checksum (see [`Metadata::checksum`]).
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"xyz", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.entry("f").unwrap().checksum(), treepack::format::checksum(b"xyz"));
    /// ```
    pub fn checksum(&self) -> u64 {
        self.checksum
    }

    /// Metadata (kind, size, mode, mtime, checksum).
    ///
    /// ```
    /// # let pack = treepack::Pack::from_vec(treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner()).unwrap();
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
    /// [`ErrorKind::Checksum`] naming the entry on a mismatch.
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"xyz", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert!(pack.entry("f").unwrap().verify().is_ok());
    /// ```
    pub fn verify(&self) -> Result<(), Error> {
        let result = (|| -> Result<(), ErrorKind> {
            match self.body {
                Body::File { .. } => verify_checksum(self.path, &self.fetch()?, self.checksum),
                Body::Symlink(t) => verify_checksum(self.path, t.as_bytes(), self.checksum),
                Body::Dir { .. } => Ok(()),
            }
        })();
        self.pack.at_pack(result)
    }

    /// The children of a directory, in name order.
    ///
    /// # Errors
    /// [`ErrorKind::NotADir`] if the entry is not a directory.
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("b", b"", EntryMeta::file()).unwrap();
    /// # w.add_bytes("a", b"", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// let names: Vec<_> = pack.root().unwrap().children().unwrap().map(|e| e.unwrap().name()).collect();
    /// assert_eq!(names, ["a", "b"]);
    /// ```
    pub fn children(&self) -> Result<ReadDir<'a>, Error> {
        let result: Result<ReadDir<'a>, ErrorKind> = {
            match self.body {
                Body::Dir { first, count } => Ok(ReadDir {
                    pack: self.pack,
                    dir: self.index,
                    pos: first,
                    end: first + count,
                    last: self.index,
                }),
                _ => Err(ErrorKind::NotADir {
                    path: self.path.to_owned(),
                    kind: self.kind(),
                }),
            }
        };
        self.pack.at_pack(result)
    }
}

impl Pack {
    pub(super) fn entry_record(&self, index: u32) -> Result<(u64, RawEntry), ErrorKind> {
        if u64::from(index) >= self.header.entry_count {
            return Err(ErrorKind::corrupt(
                self.header.entries_offset,
                format!(
                    "entry index {index} out of range ({} entries)",
                    self.header.entry_count
                ),
            ));
        }
        // In range: the header check proved the whole entry table lies inside the file.
        let offset = self.header.entries_offset + u64::from(index) * ENTRY_LEN;
        let record: &[u8; 64] = (self.slice(offset, 64))
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| ErrorKind::corrupt(offset, "entry record outside the file"))?;
        Ok((offset, RawEntry::decode(record)))
    }

    pub(super) fn string(
        &self,
        rec: u64,
        what: &str,
        offset: u64,
        len: u64,
    ) -> Result<&[u8], ErrorKind> {
        let h = &self.header;
        offset
            .checked_add(len)
            .filter(|&end| end <= h.strings_len)
            .and_then(|_| self.slice(h.strings_offset + offset, len))
            .ok_or_else(|| {
                ErrorKind::corrupt(
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
    /// [`ErrorKind::Corrupt`] if the index is out of range or the record is inconsistent.
    ///
    /// ```
    /// # let bytes = treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner();
    /// let pack = treepack::Pack::from_vec(bytes).unwrap();
    /// assert_eq!(pack.entry_at(0).unwrap().path(), "");
    /// assert!(pack.entry_at(1).is_err());
    /// ```
    pub fn entry_at(&self, index: u32) -> Result<Entry<'_>, Error> {
        self.at_pack(self.entry_at_inner(index, None))
    }

    /// As [`Self::entry_at`]; `known_path` is the entry's path as [`Self::find`] just compared
    /// it with a normalized query, which spares validating it again.
    pub(super) fn entry_at_inner<'p>(
        &'p self,
        index: u32,
        known_path: Option<&'p str>,
    ) -> Result<Entry<'p>, ErrorKind> {
        let (rec, raw) = self.entry_record(index)?;
        self.entry_from_record(index, rec, &raw, known_path)
    }

    /// The entry of record `raw` (entry `index`, at offset `rec`), validated.
    pub(super) fn entry_from_record<'p>(
        &'p self,
        index: u32,
        rec: u64,
        raw: &RawEntry,
        known_path: Option<&'p str>,
    ) -> Result<Entry<'p>, ErrorKind> {
        let path = match known_path {
            Some(p) if p.len() == raw.path_len as usize => p,
            _ => {
                let bytes = self.string(rec, "path", raw.path_offset, u64::from(raw.path_len))?;
                let path = std::str::from_utf8(bytes).map_err(|_| {
                    ErrorKind::corrupt(rec, format!("path of entry {index} is not UTF-8"))
                })?;
                if !is_normalized(path) {
                    return Err(ErrorKind::corrupt(
                        rec,
                        format!("path {path:?} of entry {index} is not a normalized path"),
                    ));
                }
                path
            }
        };
        if (index == 0) != path.is_empty() {
            return Err(ErrorKind::corrupt(
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
            return Err(ErrorKind::corrupt(
                rec + 12,
                format!("entry {index} ({path:?}) has parent {}", raw.parent),
            ));
        }
        if raw.mtime_nanos >= 1_000_000_000 {
            return Err(ErrorKind::corrupt(
                rec + 32,
                format!("entry {index} has {} nanoseconds", raw.mtime_nanos),
            ));
        }
        let body = match raw.kind {
            KIND_FILE => {
                let (offset, len) = self.file_range(rec, raw, path)?;
                Body::File { offset, len }
            }
            KIND_DIR => {
                let items = self.header.dirs_len / 4;
                if raw.a.checked_add(raw.b).is_none_or(|end| end > items) {
                    return Err(ErrorKind::corrupt(
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
                    ErrorKind::corrupt(rec + 40, format!("target of {path:?} is not UTF-8"))
                })?;
                Body::Symlink(target)
            }
            other => {
                return Err(ErrorKind::corrupt(
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

    /// Where the contents of the file entry `raw` (at offset `rec`, path `path`) are:
    /// `(offset, len)`, checked to lie in the data region.
    pub(super) fn file_range(
        &self,
        rec: u64,
        raw: &RawEntry,
        path: &str,
    ) -> Result<(u64, u64), ErrorKind> {
        let h = &self.header;
        let data_end = h.data_offset + h.data_len;
        raw.a
            .checked_add(raw.b)
            .filter(|&end| raw.a >= h.data_offset && end <= data_end)
            .map(|_| (raw.a, raw.b))
            .ok_or_else(|| {
                ErrorKind::corrupt(
                    rec + 40,
                    format!(
                        "contents of {path:?} ({}, length {}) outside the data region",
                        raw.a, raw.b
                    ),
                )
            })
    }

    /// The contents of the file entry `raw` (at offset `rec`, path `path`), checked to lie in
    /// the data region; [`ErrorKind::NotLocal`] for a pack read through a source.
    pub(super) fn file_contents(
        &self,
        rec: u64,
        raw: &RawEntry,
        path: &str,
    ) -> Result<&[u8], ErrorKind> {
        let (offset, len) = self.file_range(rec, raw, path)?;
        self.local_contents(path, offset, len)
    }

    /// Contents `[offset, offset + len)` (a checked range of the data region) of the file
    /// `path`, borrowed; [`ErrorKind::NotLocal`] for a pack read through a source.
    pub(super) fn local_contents(
        &self,
        path: &str,
        offset: u64,
        len: u64,
    ) -> Result<&[u8], ErrorKind> {
        match self.slice(offset, len) {
            Some(data) => Ok(data),
            None if !self.is_local() => Err(ErrorKind::NotLocal {
                path: path.to_owned(),
            }),
            // The header check proved the data region lies inside the file.
            None => Err(ErrorKind::corrupt(
                offset,
                format!("contents of {path:?} outside the file"),
            )),
        }
    }

    pub(super) fn dirs_item_offset(&self, pos: u64) -> u64 {
        self.header
            .dirs_offset
            .saturating_add(pos.saturating_mul(4))
    }

    pub(super) fn dir_item(&self, pos: u64) -> Result<u32, ErrorKind> {
        let offset = self.dirs_item_offset(pos);
        let bytes = pos
            .checked_mul(4)
            .filter(|&o| {
                o.checked_add(4)
                    .is_some_and(|end| end <= self.header.dirs_len)
            })
            .and_then(|_| self.slice(offset, 4))
            .ok_or_else(|| ErrorKind::corrupt(offset, "directory item outside the table"))?;
        let mut x = [0u8; 4];
        x.copy_from_slice(bytes);
        Ok(u32::from_le_bytes(x))
    }
}
