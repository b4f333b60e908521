//! Error types: [`Error`] for opening and reading packs, [`BuildError`] for writing them,
//! [`ExtractError`] for extracting them, [`LegacyError`] for reading FilePacker's packs and
//! [`ConvertError`] for converting them.

use std::io;
use std::path::PathBuf;

use array_files_fs::error::PathError;
use array_files_fs::text::escape_control as esc;
use npy_format::{FrameRangeError, HeaderError, ViewError};

use crate::kind::Kind;

/// Why opening, reading or verifying a pack failed: the pack's path (or URL; empty for a pack
/// opened from memory, [`Pack::from_vec`](crate::Pack::from_vec)) and an [`ErrorKind`].
///
/// ```
/// use treepack::{ErrorKind, Pack};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("p.fpack");
/// # treepack::PackBuilder::new().pack_dir(dir.path(), &path).unwrap();
/// let pack = Pack::open(&path).unwrap();
/// let err = pack.bytes("missing.txt").unwrap_err();
/// assert_eq!(err.path(), path);
/// assert!(matches!(err.kind(), ErrorKind::NotFound { .. }));
/// assert!(err.to_string().starts_with(&format!("{}: \"missing.txt\"", path.display())));
///
/// let err = Pack::from_vec(b"not a pack".to_vec()).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::NotAPack { .. }));
/// assert!(err.to_string().starts_with("not a filepack")); // in memory: no path
/// ```
pub type Error = PathError<ErrorKind>;

/// What went wrong opening, reading or verifying a pack ([`Error`] adds the pack's path).
///
/// Errors about the pack's structure say which byte offset of the pack is wrong; errors about a
/// path name the path as it was asked for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An I/O error reading the pack.
    #[error("{source}")]
    Io {
        /// The underlying error.
        source: io::Error,
    },
    /// The file is not a pack at all (too short, wrong magic, unknown version or flags).
    #[error("not a filepack: {reason}")]
    NotAPack {
        /// What was found.
        reason: String,
    },
    /// The pack's header or tables are inconsistent (truncation, corruption).
    #[error("corrupt pack at offset {offset}: {reason}")]
    Corrupt {
        /// Byte offset in the pack of the field or record found wrong.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A checksum did not match: the named entry (or the tables) was changed after packing.
    #[error("checksum mismatch in {what}: stored {expected:016x}, computed {actual:016x}")]
    Checksum {
        /// The entry's path (`"tables"` for the table checksum).
        what: String,
        /// The stored checksum.
        expected: u64,
        /// The checksum of the bytes found.
        actual: u64,
    },
    /// No entry has this path.
    #[error("{path:?}: no such file or directory in the pack")]
    NotFound {
        /// The path as asked.
        path: String,
    },
    /// The path names a directory or symlink where a file was needed.
    #[error("{path:?}: is a {kind}, not a file")]
    NotAFile {
        /// The path as asked.
        path: String,
        /// What it is.
        kind: Kind,
    },
    /// The path (or one of its parents) names a file or symlink where a directory was needed.
    #[error("{path:?}: is a {kind}, not a directory")]
    NotADir {
        /// The path as asked.
        path: String,
        /// What it is.
        kind: Kind,
    },
    /// The path names something that is not a symlink where a symlink was needed.
    #[error("{path:?}: is a {kind}, not a symlink")]
    NotASymlink {
        /// The path as asked.
        path: String,
        /// What it is.
        kind: Kind,
    },
    /// The path cannot name an entry (a `..` leaving the root, a NUL byte).
    #[error("{path:?}: invalid path: {reason}")]
    InvalidPath {
        /// The path as asked.
        path: String,
        /// Why.
        reason: &'static str,
    },
    /// Following symlinks inside the pack led outside it (an absolute target, or `..` past the
    /// root).
    #[error("{path:?}: symlink target {target:?} leads outside the pack")]
    SymlinkEscapes {
        /// The symlink's path.
        path: String,
        /// Its target.
        target: String,
    },
    /// More than 40 symlinks were followed resolving the path.
    #[error("{path:?}: too many levels of symbolic links")]
    SymlinkLoop {
        /// The path as asked.
        path: String,
    },
    /// The pack was opened through a source (object storage, [`OpenOptions::open_source`](crate::OpenOptions::open_source)):
    /// its files' contents are not here to borrow. [`Pack::read`](crate::Pack::read) and
    /// [`Pack::read_many`](crate::Pack::read_many) fetch them.
    #[error(
        "{path:?}: the pack is read by ranges, its contents are not in memory: use read or read_many, which fetch them"
    )]
    NotLocal {
        /// The path as asked.
        path: String,
    },
    /// The file's contents are not UTF-8 (from [`Pack::read_to_string`](crate::Pack::read_to_string)).
    #[error("{path:?}: contents are not valid UTF-8 (at byte {valid_up_to})")]
    NotUtf8 {
        /// The path as asked.
        path: String,
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
    /// The entry is not a valid `.npy` file.
    #[error("{path:?}: {source}")]
    Npy {
        /// The path as asked.
        path: String,
        /// What npy-format found wrong.
        source: HeaderError,
    },
    /// The `.npy` entry is shorter than its header says.
    #[error(
        "{path:?}: the .npy data needs {expected} bytes after its header, the entry holds {available}"
    )]
    NpyTruncated {
        /// The path as asked.
        path: String,
        /// Bytes of data the header describes.
        expected: u64,
        /// Bytes present.
        available: u64,
    },
    /// The `.npy` data cannot be viewed as the requested type.
    #[error("{path:?}: {source}")]
    View {
        /// The path as asked.
        path: String,
        /// Why.
        source: ViewError,
    },
    /// An entry is more than [`MAX_DEPTH`](crate::format::MAX_DEPTH) directories deep (a
    /// hostile or corrupt pack: no writer of this crate makes one).
    #[error("{path:?}: {depth} components deep, more than the {max} a pack may hold", max = crate::format::MAX_DEPTH)]
    TooDeep {
        /// The entry's path (its first 200 bytes and `...` if longer).
        path: String,
        /// Its number of components.
        depth: usize,
    },
    /// Frames out of range for a [`PackedNpy`](crate::PackedNpy) frame source.
    #[error(transparent)]
    Frames(#[from] FrameRangeError),
}

impl From<ErrorKind> for Error {
    /// An error with no path yet: the pack's public methods name the pack
    /// ([`Pack::at_pack`](crate::Pack)); a pack in memory has none.
    fn from(kind: ErrorKind) -> Error {
        PathError::new(PathBuf::new(), kind)
    }
}

impl From<Error> for ErrorKind {
    fn from(error: Error) -> ErrorKind {
        error.into_kind()
    }
}

impl ErrorKind {
    pub(crate) fn corrupt(offset: u64, reason: impl Into<String>) -> ErrorKind {
        ErrorKind::Corrupt {
            offset,
            reason: reason.into(),
        }
    }

    /// [`ErrorKind::TooDeep`] if `path` has more than [`MAX_DEPTH`](crate::format::MAX_DEPTH)
    /// components.
    pub(crate) fn check_depth(path: &str) -> Result<(), ErrorKind> {
        let depth = crate::format::depth(path);
        if depth > crate::format::MAX_DEPTH {
            return Err(ErrorKind::TooDeep {
                path: crate::path::shorten(path),
                depth,
            });
        }
        Ok(())
    }

    pub(crate) fn not_found(path: &str) -> ErrorKind {
        ErrorKind::NotFound {
            path: path.to_owned(),
        }
    }
}

/// Why packing failed. Every variant names the offending path.
///
/// ```
/// use treepack::{BuildError, PackBuilder};
/// let err = PackBuilder::new().alignment(3).unwrap_err();
/// assert!(matches!(err, BuildError::Alignment { value: 3 }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// An I/O error reading a source or writing the pack.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A file or directory name is not UTF-8; packs store UTF-8 names only.
    #[error("{}: file name is not valid UTF-8 (rename it or exclude it)", .path.display())]
    NonUtf8Name {
        /// The path, lossily printed.
        path: PathBuf,
    },
    /// A symlink's target is not UTF-8.
    #[error("{}: symlink target is not valid UTF-8", .path.display())]
    NonUtf8LinkTarget {
        /// The symlink.
        path: PathBuf,
    },
    /// A path given to [`PackWriter`](crate::PackWriter) cannot be stored.
    #[error("{path:?}: invalid path in a pack: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why.
        reason: &'static str,
    },
    /// The same path was added twice.
    #[error("{path:?}: added twice")]
    Duplicate {
        /// The path.
        path: String,
    },
    /// A path was added below something that is not a directory.
    #[error("{path:?}: is a {kind}, but other entries were added below it")]
    NotADir {
        /// The path of the file or symlink.
        path: String,
        /// What it is.
        kind: Kind,
    },
    /// Following symlinks led back into a directory being packed.
    #[error("{}: symlink loop (the link leads to one of its own parent directories)", .path.display())]
    SymlinkLoop {
        /// The link that closes the loop.
        path: PathBuf,
    },
    /// A glob pattern does not parse.
    #[error("invalid glob {pattern:?}: {reason}")]
    Glob {
        /// The pattern.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// The alignment is not a power of two between 1 and 4096.
    #[error("alignment {value} is not a power of two between 1 and 4096")]
    Alignment {
        /// The value given.
        value: u64,
    },
    /// More entries than the format holds (2^32 - 2).
    #[error("too many entries: {count} (a pack holds at most 4294967294)")]
    TooManyEntries {
        /// How many were added.
        count: u64,
    },
    /// A path has more than [`MAX_DEPTH`](crate::format::MAX_DEPTH) components.
    #[error("{path:?}: {depth} components deep, more than the {max} a pack may hold", max = crate::format::MAX_DEPTH)]
    TooDeep {
        /// The path (its first 200 bytes and `...` if longer).
        path: String,
        /// Its number of components.
        depth: usize,
    },
    /// The source directory is not a directory.
    #[error("{}: not a directory", .path.display())]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
}

impl BuildError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> BuildError {
        BuildError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Why extracting failed.
///
/// ```
/// use treepack::{ExtractError, PackWriter, Pack, EntryMeta};
/// let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
/// w.add_symlink("evil", "/etc/passwd", EntryMeta::symlink()).unwrap();
/// let (cursor, _) = w.finish().unwrap();
/// let pack = Pack::from_vec(cursor.into_inner()).unwrap();
/// let dir = tempfile::tempdir().unwrap();
/// let err = pack.extract(dir.path()).unwrap_err();
/// assert!(matches!(err, ExtractError::UnsafeLink { .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// Reading the pack failed.
    #[error(transparent)]
    Pack(#[from] Error),
    /// Creating or writing a file failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The destination already has something at this path and overwriting was not asked for.
    #[error("{}: already exists (and overwriting was not asked for)", .path.display())]
    Exists {
        /// The path on disk.
        path: PathBuf,
    },
    /// Creating the entry would write through a symlink or a non-directory on disk.
    #[error("{}: refusing to extract through {reason}", .path.display())]
    Unsafe {
        /// The path on disk.
        path: PathBuf,
        /// What is in the way.
        reason: &'static str,
    },
    /// A symlink whose target could lead outside the destination.
    #[error("{path:?}: refusing to create a symlink to {target:?}: {reason}")]
    UnsafeLink {
        /// The symlink's path in the pack.
        path: String,
        /// Its target.
        target: String,
        /// Why it could escape.
        reason: &'static str,
    },
}

impl ExtractError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> ExtractError {
        ExtractError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Opening a pack written by FilePacker ([`LegacyPack::open`](crate::LegacyPack::open)): the
/// file, and what is wrong with it ([`LegacyErrorKind`]).
///
/// ```
/// use treepack::{LegacyErrorKind, LegacyPack, ResultKind};
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("notes.txt");
/// std::fs::write(&path, "not a pack").unwrap();
/// let result = LegacyPack::open(&path);
/// assert!(matches!(result.err_kind(), Some(LegacyErrorKind::TooShort { len: 10 })));
/// assert!(result.unwrap_err().to_string().starts_with(&path.display().to_string()));
/// ```
pub type LegacyError = PathError<LegacyErrorKind>;

/// What is wrong with a file opened as a FilePacker pack ([`LegacyError`]'s kind). Offsets are
/// byte offsets in that file; files are numbered from 0 in the order of its index.
///
/// ```
/// use treepack::{LegacyErrorKind, LegacyPack};
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("old.fpack");
/// // FilePacker's header: version 1, one file, a base path, a name, a size; then no data.
/// let mut bytes = vec![1u8];
/// bytes.extend(1u64.to_le_bytes());
/// bytes.extend(format!("{:256}", "/data").bytes());
/// bytes.extend(format!("{:128}", "a.txt").bytes());
/// bytes.extend(5u64.to_le_bytes());
/// std::fs::write(&path, &bytes).unwrap();
/// let err = LegacyPack::open(&path).unwrap_err();
/// assert!(matches!(err.kind(), LegacyErrorKind::DataPastEnd { index: 0, size: 5, .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LegacyErrorKind {
    /// I/O on the file.
    #[error("{source}")]
    Io {
        /// The error.
        #[from]
        source: io::Error,
    },
    /// The path names a directory, a FIFO, a device...
    #[error("is {what}, not a regular file")]
    NotAFile {
        /// What it is, in words (`"a directory"`).
        what: &'static str,
    },
    /// The file is a pack of this crate's format already (it starts with
    /// [`format::MAGIC`](crate::format::MAGIC)): there is nothing to convert.
    #[error(
        "is a treepack pack already (this crate's format), not a FilePacker pack: nothing to convert (Pack::open reads it)"
    )]
    AlreadyConverted,
    /// Shorter than FilePacker's fixed header (265 bytes).
    #[error("holds {len} bytes, fewer than the 265 of a FilePacker header: not a FilePacker pack")]
    TooShort {
        /// The file's length.
        len: u64,
    },
    /// The version byte (offset 0) is not 1, the only version FilePacker writes.
    #[error("at byte 0: version {found}, where FilePacker writes 1: not a FilePacker pack")]
    Version {
        /// The byte found.
        found: u8,
    },
    /// The file count (offset 1) needs an index (128 + 8 bytes per file) longer than the file.
    #[error(
        "at byte 1: {count} files, whose names and sizes need {} bytes, but the file holds {len}: cut short, or not a FilePacker pack",
        legacy_index_len(*.count)
    )]
    IndexPastEnd {
        /// The count found.
        count: u64,
        /// The file's length.
        len: u64,
    },
    /// The names are not valid UTF-8 (FilePacker decodes them all at once, and fails the same
    /// way).
    #[error("at byte {offset}: the name of file {index} is not valid UTF-8")]
    NameNotUtf8 {
        /// The file whose name slot holds the bad byte.
        index: u64,
        /// Where the bad byte is.
        offset: u64,
    },
    /// A name cannot be a path in a pack: empty (or cut off), absolute, with a `.` or `..`
    /// component, with a NUL byte.
    #[error("at byte {offset}: the name of file {index}, '{}', {reason}", esc(.name))]
    InvalidName {
        /// The file.
        index: u64,
        /// Where its name slot starts.
        offset: u64,
        /// The name, with its trailing padding removed.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Two files have the same path (after empty components are dropped: `a//b` is `a/b`).
    #[error("file {index}, '{}', has the same path as file {first}", esc(.path))]
    Duplicate {
        /// The later file.
        index: u64,
        /// The earlier one.
        first: u64,
        /// The path.
        path: String,
    },
    /// A path is a file and also the directory of another file (`a` and `a/b`).
    #[error("file {index}, '{}', is also the directory of file {below}, '{}'", esc(.path), esc(.below_path))]
    FileAndDir {
        /// The file whose path is a directory of another.
        index: u64,
        /// Its path.
        path: String,
        /// A file below it.
        below: u64,
        /// That file's path.
        below_path: String,
    },
    /// A file's data runs past the end of the file (its size, or the sizes before it, are more
    /// than the file holds).
    #[error(
        "file {index}, '{}': its {size} bytes at byte {offset} run past the end of the {len}-byte file: cut short",
        esc(.path)
    )]
    DataPastEnd {
        /// The file.
        index: u64,
        /// Its path.
        path: String,
        /// Where its data starts.
        offset: u64,
        /// Its size, as the index says.
        size: u64,
        /// The length of the pack.
        len: u64,
    },
    /// Bytes follow the last file's data. FilePacker writes none; it leaves some when a file
    /// grew between its writer's two passes, and every file after that one then reads shifted.
    #[error(
        "{} bytes follow the data of the last file (which ends at byte {data_end}): a file changed size while FilePacker packed it, or this is not a FilePacker pack",
        .len - .data_end
    )]
    TrailingData {
        /// Where the files' data ends, by the sizes of the index.
        data_end: u64,
        /// The file's length.
        len: u64,
    },
}

/// FilePacker's header length for `count` files (exact, even where a `u64` would overflow).
fn legacy_index_len(count: u64) -> u128 {
    265 + 136 * u128::from(count)
}

/// Why converting a FilePacker pack failed ([`ConvertOptions::convert`](crate::ConvertOptions::convert)).
///
/// ```
/// use treepack::{ConvertError, ConvertOptions, LegacyErrorKind};
/// # let dir = tempfile::tempdir().unwrap();
/// let old = dir.path().join("old.fpack");
/// std::fs::write(&old, b"").unwrap();
/// let err = ConvertOptions::new().convert(&old, dir.path().join("new.fpack")).unwrap_err();
/// assert!(matches!(err, ConvertError::Legacy(e) if matches!(e.kind(), LegacyErrorKind::TooShort { len: 0 })));
/// assert!(!dir.path().join("new.fpack").exists());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The old pack cannot be read: not a FilePacker pack, or damaged.
    #[error(transparent)]
    Legacy(#[from] LegacyError),
    /// The output exists and [`ConvertOptions::replace`](crate::ConvertOptions::replace) is off.
    #[error("{}: exists (ConvertOptions::replace(true) replaces it)", .path.display())]
    Exists {
        /// The output path.
        path: PathBuf,
    },
    /// Writing the new pack failed.
    #[error(transparent)]
    Build(#[from] BuildError),
}
