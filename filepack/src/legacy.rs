//! Packs written by FilePacker, the Python tool this crate replaces: [`LegacyPack`].
//!
//! FilePacker's `.fpack` has no magic number, no checksum and no offset table, so opening one
//! validates its whole index up front (O(files)): the file count against the file's length
//! before anything is allocated for it, every name, every size against the file, and the tree
//! the names make. Anything wrong is a [`LegacyError`] naming the file, the byte offset and the
//! file of the index at fault; nothing here panics on a hostile file.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::iter::FusedIterator;
use std::ops::Range;
use std::path::{Path, PathBuf};

use array_files_fs::map::{MapOptions, Mmap};
use array_files_fs::regular::{self, OpenRegularError};

use crate::error::{LegacyError, LegacyErrorKind};
use crate::path::{cmp_paths, is_ancestor, normalize_path};

/// The version byte FilePacker writes (and the only one it ever wrote).
const VERSION: u8 = 1;
/// Where the file count (`u64`) starts.
const COUNT_AT: usize = 1;
/// Where the base path (256 bytes) starts.
const BASE_PATH_AT: usize = 9;
/// Where the names start: the length of the fixed part of the header.
const NAMES_AT: usize = 265;
/// Characters (not bytes) per name slot.
const NAME_CHARS: usize = 128;
/// Index bytes per file: a 128-byte name slot and a `u64` size.
const INDEX_PER_FILE: u64 = 136;

/// A pack written by FilePacker (the Python tool this crate replaces), memory-mapped and
/// checked whole at open: iterate over its files, look one up, or convert it
/// ([`ConvertOptions::convert`](crate::ConvertOptions::convert)).
///
/// # The layout FilePacker writes
///
/// All integers are little-endian (FilePacker writes native byte order, on x86 and ARM
/// machines little-endian); no padding between fields:
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 1 | version: 1 |
/// | 1 | 8 | `N`, the number of files (`u64`) |
/// | 9 | 256 | base path (the packed directory, on the machine that packed it): UTF-8, padded with spaces |
/// | 265 | 128 × `N` | names, relative to the base path, `/`-separated: each padded with spaces to **128 characters** (not bytes), the whole run then encoded as UTF-8 and cut to 128 × `N` bytes |
/// | 265 + 128 `N` | 8 × `N` | sizes (`u64`), in the order of the names |
/// | 265 + 136 `N` | | the files' contents, concatenated in that order, nothing after |
///
/// Reading does what FilePacker's reader (and `array_files.compat.file_packer` in Python) does:
/// the names are decoded as UTF-8 as a whole and cut every 128 characters; each loses its
/// trailing spaces and NULs; empty components are dropped (`a//b` is `a/b`); each file's data
/// starts where the previous one's ends. Files that reader accepts and this one refuses
/// ([`LegacyErrorKind`]): a version byte other than 1; names that are not UTF-8, empty, absolute
/// or hold a `.` or `..` component or a NUL; two files with one path (FilePacker's reader
/// keeps the last); a path that is a file and a directory (`a` and `a/b`, on which FilePacker's
/// reader crashes); bytes after the last file's data (left by a file that grew while FilePacker
/// packed it, which shifts the data of every later file). The base path is kept as information
/// only ([`Self::base_path`]): paths are relative to it.
///
/// Like [`Pack`](crate::Pack), the file is mapped: it must not be truncated or rewritten in place
/// while open (reading a page it lost raises `SIGBUS`).
///
/// ```
/// use treepack::LegacyPack;
/// # let dir = tempfile::tempdir().unwrap();
/// let old = dir.path().join("old.fpack");
/// // Written by hand as FilePacker writes it.
/// let files: [(&str, &[u8]); 3] = [("train/a.txt", b"hello"), ("empty.bin", b""), ("é.txt", b"\xff")];
/// let mut bytes = vec![1u8];
/// bytes.extend((files.len() as u64).to_le_bytes());
/// bytes.extend(format!("{:256}", "/data/set").bytes());
/// let names: String = files.iter().map(|(name, _)| format!("{name:128}")).collect();
/// bytes.extend(&names.as_bytes()[..128 * files.len()]); // cut to 128 bytes a name
/// for (_, data) in files {
///     bytes.extend((data.len() as u64).to_le_bytes());
/// }
/// for (_, data) in files {
///     bytes.extend(data);
/// }
/// std::fs::write(&old, &bytes).unwrap();
///
/// let pack = LegacyPack::open(&old).unwrap();
/// assert_eq!((pack.len(), pack.base_path()), (3, "/data/set"));
/// assert_eq!(pack.get("train/a.txt"), Some(&b"hello"[..]));
/// let paths: Vec<&str> = pack.entries().map(|e| e.path()).collect();
/// assert_eq!(paths, ["train/a.txt", "empty.bin", "é.txt"]);
/// ```
pub struct LegacyPack {
    map: Mmap,
    path: PathBuf,
    base_path: String,
    /// The files' paths (normalized), one after another.
    names: String,
    /// The files, in the order of the index.
    files: Vec<Rec>,
    /// Indices into `files`, by path (component-wise order, [`cmp_paths`]).
    sorted: Vec<usize>,
}

/// One file of the index.
#[derive(Debug, Clone, Copy)]
struct Rec {
    /// End of its path in `names` (it starts where the previous one ends).
    name_end: usize,
    /// Where its data starts in the file.
    offset: usize,
    /// Its size.
    size: usize,
}

/// What the index of a FilePacker pack holds, once checked.
struct Index {
    base_path: String,
    names: String,
    files: Vec<Rec>,
    sorted: Vec<usize>,
}

impl fmt::Debug for LegacyPack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LegacyPack")
            .field("path", &self.path)
            .field("base_path", &self.base_path)
            .field("files", &self.files.len())
            .finish_non_exhaustive()
    }
}

impl LegacyPack {
    /// Opens, maps and checks the FilePacker pack at `path` (a FIFO or device is refused
    /// without waiting on it).
    ///
    /// # Errors
    /// A [`LegacyError`] about `path`: [`LegacyErrorKind::Io`],
    /// [`LegacyErrorKind::AlreadyConverted`] for a pack of this crate's format, and a kind for
    /// each way the file is not a valid FilePacker pack.
    ///
    /// ```
    /// use treepack::{LegacyErrorKind, LegacyPack, PackBuilder};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::fs::write(dir.path().join("a.txt"), "a").unwrap();
    /// let new = dir.path().join("new.fpack");
    /// PackBuilder::new().pack_dir(dir.path(), &new).unwrap();
    /// let err = LegacyPack::open(&new).unwrap_err();
    /// assert!(matches!(err.kind(), LegacyErrorKind::AlreadyConverted));
    /// assert_eq!(err.path(), new);
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<LegacyPack, LegacyError> {
        let path = path.as_ref();
        let file = regular::open_regular(path, false).map_err(|e| {
            LegacyError::new(
                path,
                match e {
                    OpenRegularError::Io(e) => LegacyErrorKind::from(e),
                    OpenRegularError::NotRegular(what) => LegacyErrorKind::NotAFile { what },
                },
            )
        })?;
        LegacyPack::open_file(&file, path)
    }

    /// As [`Self::open`], for a file already open for reading; `path` names it in errors and
    /// [`Self::path`]. The pack maps this very file, whatever `path` names now (a caller can
    /// watch the file it opened, as the `treepack` command does to report a file truncated
    /// while it is read).
    ///
    /// # Errors
    /// As [`Self::open`].
    ///
    /// ```
    /// use treepack::{LegacyErrorKind, LegacyPack, ResultKind};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("old.fpack");
    /// let mut bytes = vec![1u8]; // version 1, 0 files, a base path, no data
    /// bytes.extend(0u64.to_le_bytes());
    /// bytes.extend([b' '; 256]);
    /// std::fs::write(&path, &bytes).unwrap();
    /// let file = std::fs::File::open(&path).unwrap();
    /// let pack = LegacyPack::open_file(&file, &path).unwrap();
    /// assert!(pack.is_empty() && pack.base_path().is_empty());
    ///
    /// bytes[0] = 2;
    /// std::fs::write(&path, &bytes).unwrap();
    /// let file = std::fs::File::open(&path).unwrap();
    /// let refused = LegacyPack::open_file(&file, &path);
    /// assert!(matches!(refused.err_kind(), Some(LegacyErrorKind::Version { found: 2 })));
    /// ```
    pub fn open_file(file: &File, path: impl AsRef<Path>) -> Result<LegacyPack, LegacyError> {
        let path = path.as_ref();
        let at = |kind: LegacyErrorKind| LegacyError::new(path, kind);
        let meta = file.metadata().map_err(|e| at(e.into()))?;
        if !meta.is_file() {
            return Err(at(LegacyErrorKind::NotAFile {
                what: regular::kind_of(&meta),
            }));
        }
        let len = meta.len();
        if len < NAMES_AT as u64 {
            let mut head = Vec::new();
            file.take(NAMES_AT as u64)
                .read_to_end(&mut head)
                .map_err(|e| at(e.into()))?;
            check_magic(&head).map_err(at)?;
            return Err(at(LegacyErrorKind::TooShort { len }));
        }
        let map_len = usize::try_from(len).map_err(|_| {
            at(io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!("{len} bytes do not fit this machine's address space"),
            )
            .into())
        })?;
        // Read-only, over the bytes the file holds now; the type's documentation states the
        // contract that makes it sound (see `array_files_fs::map`), as `Pack`'s does: the file
        // is not truncated or rewritten in place while open.
        let map = MapOptions::new()
            .len(map_len)
            .map(file)
            .map_err(|e| at(e.into()))?;
        let Index {
            base_path,
            names,
            files,
            sorted,
        } = Index::read(&map).map_err(at)?;
        Ok(LegacyPack {
            map,
            path: path.to_owned(),
            base_path,
            names,
            files,
            sorted,
        })
    }

    /// The path the pack was opened from.
    ///
    /// ```
    /// # use treepack::LegacyPack;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let old = dir.path().join("old.fpack");
    /// # let mut bytes = vec![1u8];
    /// # bytes.extend(0u64.to_le_bytes());
    /// # bytes.extend([b' '; 256]);
    /// # std::fs::write(&old, &bytes).unwrap();
    /// assert_eq!(LegacyPack::open(&old).unwrap().path(), old);
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory FilePacker packed, as it was named on the machine that packed it (often
    /// absolute), its padding removed (and any byte that is not UTF-8, as from a name cut in
    /// the middle of a character, as `U+FFFD`). The paths of the files are relative to it.
    ///
    /// ```
    /// # use treepack::LegacyPack;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let old = dir.path().join("old.fpack");
    /// let mut bytes = vec![1u8];
    /// bytes.extend(0u64.to_le_bytes());
    /// bytes.extend(format!("{:256}", "/scratch/imagenet").bytes());
    /// std::fs::write(&old, &bytes).unwrap();
    /// assert_eq!(LegacyPack::open(&old).unwrap().base_path(), "/scratch/imagenet");
    /// ```
    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// The number of files.
    ///
    /// ```
    /// # use treepack::LegacyPack;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let old = dir.path().join("old.fpack");
    /// let mut bytes = vec![1u8];
    /// bytes.extend(2u64.to_le_bytes());
    /// bytes.extend([b' '; 256]);
    /// bytes.extend(format!("{:128}{:128}", "a", "b/c").bytes());
    /// bytes.extend(1u64.to_le_bytes());
    /// bytes.extend(0u64.to_le_bytes());
    /// bytes.push(b'A');
    /// std::fs::write(&old, &bytes).unwrap();
    /// assert_eq!(LegacyPack::open(&old).unwrap().len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the pack holds no file.
    ///
    /// ```
    /// # use treepack::LegacyPack;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let old = dir.path().join("old.fpack");
    /// let mut bytes = vec![1u8];
    /// bytes.extend(0u64.to_le_bytes());
    /// bytes.extend([b' '; 256]);
    /// std::fs::write(&old, &bytes).unwrap();
    /// assert!(LegacyPack::open(&old).unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The files, in the order of the pack's index (the order FilePacker found them in).
    ///
    /// ```
    /// # use treepack::LegacyPack;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let old = dir.path().join("old.fpack");
    /// let mut bytes = vec![1u8];
    /// bytes.extend(2u64.to_le_bytes());
    /// bytes.extend([b' '; 256]);
    /// bytes.extend(format!("{:128}{:128}", "z/a.txt", "b.txt").bytes());
    /// bytes.extend(2u64.to_le_bytes());
    /// bytes.extend(3u64.to_le_bytes());
    /// bytes.extend(b"hibye");
    /// std::fs::write(&old, &bytes).unwrap();
    /// let pack = LegacyPack::open(&old).unwrap();
    /// let files: Vec<(&str, u64, &[u8])> =
    ///     pack.entries().map(|e| (e.path(), e.size(), e.bytes())).collect();
    /// assert_eq!(files, [("z/a.txt", 2, &b"hi"[..]), ("b.txt", 3, &b"bye"[..])]);
    /// ```
    pub fn entries(&self) -> LegacyEntries<'_> {
        LegacyEntries {
            pack: self,
            range: 0..self.files.len(),
        }
    }

    /// The contents of the file at `path`, or `None` if the pack has no such file (a
    /// directory, or nothing). `path` is relative to the base path; `./a//b` finds `a/b`.
    ///
    /// ```
    /// # use treepack::LegacyPack;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let old = dir.path().join("old.fpack");
    /// let mut bytes = vec![1u8];
    /// bytes.extend(1u64.to_le_bytes());
    /// bytes.extend([b' '; 256]);
    /// bytes.extend(format!("{:128}", "train/cat.jpg").bytes());
    /// bytes.extend(4u64.to_le_bytes());
    /// bytes.extend(b"\xff\xd8\xff\xe0");
    /// std::fs::write(&old, &bytes).unwrap();
    /// let pack = LegacyPack::open(&old).unwrap();
    /// assert_eq!(pack.get("./train//cat.jpg"), Some(&b"\xff\xd8\xff\xe0"[..]));
    /// assert_eq!(pack.get("train"), None); // a directory
    /// assert_eq!(pack.get("dog.jpg"), None);
    /// ```
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        let path = normalize_path(path).ok()?;
        let at = self
            .sorted
            .binary_search_by(|&i| cmp_paths(self.name(i).as_bytes(), path.as_bytes()))
            .ok()?;
        Some(self.data(self.sorted[at]))
    }

    /// The path of file `i`.
    fn name(&self, i: usize) -> &str {
        &self.names[name_range(&self.files, i)]
    }

    /// The contents of file `i` (its range was checked against the map at open).
    fn data(&self, i: usize) -> &[u8] {
        let rec = self.files[i];
        &self.map[rec.offset..rec.offset + rec.size]
    }

    fn entry(&self, i: usize) -> LegacyEntry<'_> {
        LegacyEntry {
            index: i,
            path: self.name(i),
            offset: self.files[i].offset,
            data: self.data(i),
        }
    }
}

impl<'a> IntoIterator for &'a LegacyPack {
    type Item = LegacyEntry<'a>;
    type IntoIter = LegacyEntries<'a>;

    fn into_iter(self) -> LegacyEntries<'a> {
        self.entries()
    }
}

/// The range in the names of file `i`'s path.
fn name_range(files: &[Rec], i: usize) -> Range<usize> {
    let start = if i == 0 { 0 } else { files[i - 1].name_end };
    start..files[i].name_end
}

/// One file of a [`LegacyPack`]: its path, and its contents as a slice of the map.
///
/// ```
/// # use treepack::LegacyPack;
/// # let dir = tempfile::tempdir().unwrap();
/// # let old = dir.path().join("old.fpack");
/// let mut bytes = vec![1u8];
/// bytes.extend(1u64.to_le_bytes());
/// bytes.extend([b' '; 256]);
/// bytes.extend(format!("{:128}", "a/b.txt").bytes());
/// bytes.extend(3u64.to_le_bytes());
/// bytes.extend(b"abc");
/// std::fs::write(&old, &bytes).unwrap();
/// let pack = LegacyPack::open(&old).unwrap();
/// let entry = pack.entries().next().unwrap();
/// assert_eq!((entry.index(), entry.path(), entry.size()), (0, "a/b.txt", 3));
/// assert_eq!((entry.bytes(), entry.offset()), (&b"abc"[..], 265 + 136));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct LegacyEntry<'a> {
    index: usize,
    path: &'a str,
    offset: usize,
    data: &'a [u8],
}

impl<'a> LegacyEntry<'a> {
    /// Its place in the pack's index, from 0.
    ///
    /// ```
    /// # use treepack::LegacyPack;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let old = dir.path().join("old.fpack");
    /// # let mut bytes = vec![1u8];
    /// # bytes.extend(2u64.to_le_bytes());
    /// # bytes.extend([b' '; 256]);
    /// # bytes.extend(format!("{:128}{:128}", "a", "b").bytes());
    /// # bytes.extend([0u8; 16]);
    /// # std::fs::write(&old, &bytes).unwrap();
    /// let pack = LegacyPack::open(&old).unwrap();
    /// assert_eq!(pack.entries().map(|e| e.index()).collect::<Vec<_>>(), [0, 1]);
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// Its path, relative to the pack's base path, `/`-separated, normalized.
    ///
    /// ```
    /// # use treepack::LegacyPack;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let old = dir.path().join("old.fpack");
    /// # let mut bytes = vec![1u8];
    /// # bytes.extend(1u64.to_le_bytes());
    /// # bytes.extend([b' '; 256]);
    /// bytes.extend(format!("{:128}", "a//b/").bytes());
    /// # bytes.extend(0u64.to_le_bytes());
    /// # std::fs::write(&old, &bytes).unwrap();
    /// let pack = LegacyPack::open(&old).unwrap();
    /// assert_eq!(pack.entries().next().unwrap().path(), "a/b");
    /// ```
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// Its size in bytes.
    ///
    /// ```
    /// # use treepack::LegacyPack;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let old = dir.path().join("old.fpack");
    /// # let mut bytes = vec![1u8];
    /// # bytes.extend(1u64.to_le_bytes());
    /// # bytes.extend([b' '; 256]);
    /// # bytes.extend(format!("{:128}", "empty").bytes());
    /// bytes.extend(0u64.to_le_bytes()); // an empty file
    /// # std::fs::write(&old, &bytes).unwrap();
    /// let pack = LegacyPack::open(&old).unwrap();
    /// assert_eq!(pack.entries().next().unwrap().size(), 0);
    /// ```
    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }

    /// Its contents: a slice of the map, no copy.
    ///
    /// ```
    /// # use treepack::LegacyPack;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let old = dir.path().join("old.fpack");
    /// # let mut bytes = vec![1u8];
    /// # bytes.extend(1u64.to_le_bytes());
    /// # bytes.extend([b' '; 256]);
    /// # bytes.extend(format!("{:128}", "x").bytes());
    /// # bytes.extend(2u64.to_le_bytes());
    /// bytes.extend(b"xy");
    /// # std::fs::write(&old, &bytes).unwrap();
    /// let pack = LegacyPack::open(&old).unwrap();
    /// assert_eq!(pack.entries().next().unwrap().bytes(), b"xy");
    /// ```
    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }

    /// Where its contents start in the pack file.
    ///
    /// ```
    /// # use treepack::LegacyPack;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let old = dir.path().join("old.fpack");
    /// # let mut bytes = vec![1u8];
    /// # bytes.extend(2u64.to_le_bytes());
    /// # bytes.extend([b' '; 256]);
    /// # bytes.extend(format!("{:128}{:128}", "a", "b").bytes());
    /// # bytes.extend(3u64.to_le_bytes());
    /// # bytes.extend(1u64.to_le_bytes());
    /// # bytes.extend(b"abcd");
    /// # std::fs::write(&old, &bytes).unwrap();
    /// let pack = LegacyPack::open(&old).unwrap();
    /// let offsets: Vec<u64> = pack.entries().map(|e| e.offset()).collect();
    /// assert_eq!(offsets, [265 + 2 * 136, 265 + 2 * 136 + 3]);
    /// ```
    pub fn offset(&self) -> u64 {
        self.offset as u64
    }
}

/// The files of a [`LegacyPack`] in the order of its index ([`LegacyPack::entries`]).
///
/// ```
/// # use treepack::LegacyPack;
/// # let dir = tempfile::tempdir().unwrap();
/// # let old = dir.path().join("old.fpack");
/// # let mut bytes = vec![1u8];
/// # bytes.extend(2u64.to_le_bytes());
/// # bytes.extend([b' '; 256]);
/// # bytes.extend(format!("{:128}{:128}", "a", "b").bytes());
/// # bytes.extend([0u8; 16]);
/// # std::fs::write(&old, &bytes).unwrap();
/// let pack = LegacyPack::open(&old).unwrap();
/// let entries = pack.entries();
/// assert_eq!(entries.len(), 2);
/// assert_eq!(entries.rev().next().unwrap().path(), "b");
/// ```
#[derive(Debug, Clone)]
pub struct LegacyEntries<'a> {
    pack: &'a LegacyPack,
    range: Range<usize>,
}

impl<'a> Iterator for LegacyEntries<'a> {
    type Item = LegacyEntry<'a>;

    fn next(&mut self) -> Option<LegacyEntry<'a>> {
        self.range.next().map(|i| self.pack.entry(i))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.range.size_hint()
    }
}

impl DoubleEndedIterator for LegacyEntries<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.range.next_back().map(|i| self.pack.entry(i))
    }
}

impl ExactSizeIterator for LegacyEntries<'_> {}

impl FusedIterator for LegacyEntries<'_> {}

/// A pack of this crate's format is not a FilePacker pack.
fn check_magic(head: &[u8]) -> Result<(), LegacyErrorKind> {
    if head.starts_with(&crate::format::MAGIC) {
        return Err(LegacyErrorKind::AlreadyConverted);
    }
    Ok(())
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

impl Index {
    /// Reads and checks the whole index of the FilePacker pack `bytes` (at least
    /// [`NAMES_AT`] bytes long).
    fn read(bytes: &[u8]) -> Result<Index, LegacyErrorKind> {
        check_magic(bytes)?;
        if bytes[0] != VERSION {
            return Err(LegacyErrorKind::Version { found: bytes[0] });
        }
        let count = file_count(bytes)?;
        let base_path = String::from_utf8_lossy(&bytes[BASE_PATH_AT..NAMES_AT])
            .trim_end_matches(['\0', ' '])
            .to_owned();
        let (names, files) = read_files(bytes, count)?;
        let sorted = check_tree(&names, &files)?;
        Ok(Index {
            base_path,
            names,
            files,
            sorted,
        })
    }
}

/// The number of files, once its index (names and sizes) is known to fit in the file: nothing
/// is allocated for the files before that.
fn file_count(bytes: &[u8]) -> Result<usize, LegacyErrorKind> {
    let len = bytes.len() as u64;
    let count = u64_at(bytes, COUNT_AT);
    count
        .checked_mul(INDEX_PER_FILE)
        .and_then(|index| index.checked_add(NAMES_AT as u64))
        .filter(|&end| end <= len)
        // At most `len`, which is a length of memory.
        .and_then(|_| usize::try_from(count).ok())
        .ok_or(LegacyErrorKind::IndexPastEnd { count, len })
}

/// The files' paths (normalized, one after another) and records, in the order of the index;
/// each name checked, each size checked against the file, and nothing left after the data.
fn read_files(bytes: &[u8], count: usize) -> Result<(String, Vec<Rec>), LegacyErrorKind> {
    // `file_count` checked that names and sizes lie inside `bytes`.
    let sizes_at = NAMES_AT + NAME_CHARS * count;
    let block = &bytes[NAMES_AT..sizes_at];
    let text = std::str::from_utf8(block).map_err(|e| {
        let valid = e.valid_up_to();
        // The prefix before the bad byte is valid: its characters say which slot holds it.
        let chars = std::str::from_utf8(&block[..valid]).map_or(0, |t| t.chars().count());
        LegacyErrorKind::NameNotUtf8 {
            index: (chars / NAME_CHARS) as u64,
            offset: (NAMES_AT + valid) as u64,
        }
    })?;
    let len = bytes.len();
    let mut names = String::with_capacity(text.len());
    let mut files = Vec::with_capacity(count);
    let mut rest = text;
    let mut offset = sizes_at + 8 * count;
    for index in 0..count {
        let slot_at = NAMES_AT + (text.len() - rest.len());
        let (slot, tail) = rest.split_at(slot_len(rest));
        rest = tail;
        push_name(&mut names, slot, index, slot_at)?;
        let size = u64_at(bytes, sizes_at + 8 * index);
        let end = usize::try_from(size)
            .ok()
            .and_then(|size| offset.checked_add(size))
            .filter(|&end| end <= len)
            .ok_or_else(|| LegacyErrorKind::DataPastEnd {
                index: index as u64,
                path: names[name_range_at(&files, names.len())].to_owned(),
                offset: offset as u64,
                size,
                len: len as u64,
            })?;
        files.push(Rec {
            name_end: names.len(),
            offset,
            size: end - offset,
        });
        offset = end;
    }
    if offset != len {
        return Err(LegacyErrorKind::TrailingData {
            data_end: offset as u64,
            len: len as u64,
        });
    }
    Ok((names, files))
}

/// The range of the path just pushed after the paths of `files`.
fn name_range_at(files: &[Rec], end: usize) -> Range<usize> {
    files.last().map_or(0, |r| r.name_end)..end
}

/// The length in bytes of the slot at the start of `rest`: 128 characters, or all that is left
/// (the names block is cut to 128 bytes a file, so non-ASCII names leave the last slots short).
fn slot_len(rest: &str) -> usize {
    let head = &rest.as_bytes()[..rest.len().min(NAME_CHARS)];
    if head.is_ascii() {
        return head.len();
    }
    rest.char_indices()
        .nth(NAME_CHARS)
        .map_or(rest.len(), |(at, _)| at)
}

/// Appends the path of the name `slot` (file `index`, its slot at byte `slot_at`) to `names`:
/// padding removed, empty components dropped, anything that cannot be a path refused.
fn push_name(
    names: &mut String,
    slot: &str,
    index: usize,
    slot_at: usize,
) -> Result<(), LegacyErrorKind> {
    let name = slot.trim_end_matches(['\0', ' ']);
    let invalid = |reason| LegacyErrorKind::InvalidName {
        index: index as u64,
        offset: slot_at as u64,
        name: name.to_owned(),
        reason,
    };
    if name.contains('\0') {
        return Err(invalid("holds a NUL byte"));
    }
    if name.starts_with('/') {
        return Err(invalid("is absolute (starts with '/')"));
    }
    let start = names.len();
    for part in name.split('/').filter(|part| !part.is_empty()) {
        match part {
            "." => return Err(invalid("has a '.' component")),
            ".." => return Err(invalid("has a '..' component")),
            _ => {}
        }
        if names.len() > start {
            names.push('/');
        }
        names.push_str(part);
    }
    if names.len() == start {
        return Err(invalid(if slot.is_empty() {
            "is missing: the names end early (FilePacker cuts them to 128 bytes a file, which longer UTF-8 names overflow)"
        } else {
            "is empty"
        }));
    }
    Ok(())
}

/// The files' indices by path, once no two have the same path and no path is both a file and
/// the directory of another: sorted component-wise, a directory comes right before its
/// subtree, so both show in neighbours.
fn check_tree(names: &str, files: &[Rec]) -> Result<Vec<usize>, LegacyErrorKind> {
    let name = |i: usize| &names[name_range(files, i)];
    let mut sorted: Vec<usize> = (0..files.len()).collect();
    sorted.sort_unstable_by(|&a, &b| {
        cmp_paths(name(a).as_bytes(), name(b).as_bytes()).then(a.cmp(&b))
    });
    for pair in sorted.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if name(a) == name(b) {
            return Err(LegacyErrorKind::Duplicate {
                index: b as u64,
                first: a as u64,
                path: name(b).to_owned(),
            });
        }
        if is_ancestor(name(a), name(b)) {
            return Err(LegacyErrorKind::FileAndDir {
                index: a as u64,
                path: name(a).to_owned(),
                below: b as u64,
                below_path: name(b).to_owned(),
            });
        }
    }
    Ok(sorted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_128_characters() {
        let ascii = "a".repeat(300);
        assert_eq!(slot_len(&ascii), 128);
        assert_eq!(slot_len("short"), 5);
        let wide = "é".repeat(130);
        assert_eq!(slot_len(&wide), 256);
        let mixed = format!("{}é{}", "a".repeat(127), "b".repeat(10));
        assert_eq!(slot_len(&mixed), 129);
    }

    #[test]
    fn names_are_normalized_or_refused() {
        let mut names = String::new();
        push_name(&mut names, "a//b/ \0 ", 0, 265).unwrap();
        assert_eq!(names, "a/b");
        for bad in ["", "   ", "/a", "a/../b", "./a", "a\0b", "//"] {
            let mut names = String::new();
            let err = push_name(&mut names, bad, 3, 700).unwrap_err();
            assert!(
                matches!(
                    err,
                    LegacyErrorKind::InvalidName {
                        index: 3,
                        offset: 700,
                        ..
                    }
                ),
                "{bad:?}: {err}"
            );
        }
    }
}
