//! Error types, one per family of operations.
//!
//! Opening an archive (finding and checking its central directory) gives an [`OpenError`];
//! reading a member gives a [`ReadError`]; creating, adding to or appending to an archive gives
//! a [`WriteError`]. Each is a [`PathError`]: the archive once, and a kind (`err.kind()`) that
//! names, where it applies, the member and the byte offset of the problem.

use std::io;
use std::path::PathBuf;

use array_files_fs::error::PathError;

/// Why an archive could not be opened: the archive and an [`OpenErrorKind`] (its end records
/// or central directory are unusable).
///
/// ```
/// let err = npz_stream::NpzReader::open("/no/such/archive.npz").unwrap_err();
/// assert!(matches!(err.kind(), npz_stream::OpenErrorKind::Io { .. }));
/// assert!(err.to_string().starts_with("/no/such/archive.npz"));
/// ```
pub type OpenError = PathError<OpenErrorKind>;

/// Why reading a member failed: the archive and a [`ReadErrorKind`] naming the member.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
/// let reader = npz_stream::NpzReader::open(&path).unwrap();
/// let err = reader.info("missing").unwrap_err();
/// assert_eq!(err.path(), path);
/// assert!(matches!(err.kind(), npz_stream::ReadErrorKind::NoSuchMember { .. }));
/// ```
pub type ReadError = PathError<ReadErrorKind>;

/// Why writing an archive failed: the archive and a [`WriteErrorKind`] (member errors name the
/// key).
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
/// npz.add_array("x", &[1u8], &[1]).unwrap();
/// let err = npz.add_array("x", &[2u8], &[1]).unwrap_err();
/// assert!(matches!(err.kind(), npz_stream::WriteErrorKind::DuplicateKey { .. }));
/// ```
pub type WriteError = PathError<WriteErrorKind>;

use array_files_fs::text::escape_control as esc;
use npy_format::{FrameError, FrameRangeError, HeaderError, ViewError};

/// What made an archive unusable ([`OpenError`]'s kind).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenErrorKind {
    /// An I/O error.
    #[error("{source}")]
    Io {
        /// The underlying error.
        source: io::Error,
    },
    /// No end-of-central-directory record: the file is not a zip archive (or is cut short).
    #[error("not a zip archive: {reason}")]
    NotZip {
        /// What was looked for and not found.
        reason: String,
    },
    /// The end records or the central directory contradict each other or the file size.
    #[error("corrupt archive at offset {offset}: {reason}")]
    Corrupt {
        /// Offset of the offending record or field.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A valid zip feature this crate does not handle (multi-disk archives).
    #[error("unsupported archive: {reason}")]
    Unsupported {
        /// What is unsupported.
        reason: String,
    },
}

/// What went wrong reading a member ([`ReadError`]'s kind); every kind names the member.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadErrorKind {
    /// An I/O error while reading the member.
    #[error("member {m}: {source}", m = esc(.member))]
    Io {
        /// The member's name in the archive.
        member: String,
        /// The underlying error.
        source: io::Error,
    },
    /// No member has this key (neither `KEY` nor `KEY.npy`).
    #[error("no member '{k}' (the archive has {count} members)", k = esc(.key))]
    NoSuchMember {
        /// The key asked for.
        key: String,
        /// How many members the archive has.
        count: usize,
    },
    /// The member's local header or data lies outside the file or contradicts the directory.
    #[error("member {m}: corrupt at offset {offset}: {reason}", m = esc(.member))]
    Corrupt {
        /// The member.
        member: String,
        /// Absolute offset in the archive.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// Encryption, compression methods other than stored and deflate.
    #[error("member {m}: unsupported: {reason}", m = esc(.member))]
    Unsupported {
        /// The member.
        member: String,
        /// What is unsupported.
        reason: String,
    },
    /// The member is not an NPY array, or its NPY header was refused.
    #[error("member {m}: {source}", m = esc(.member))]
    Header {
        /// The member.
        member: String,
        /// Why the NPY header was refused (offsets are within the member).
        source: HeaderError,
    },
    /// The deflate data is corrupt.
    #[error("member {m}: corrupt deflate data at compressed offset {offset}: {reason}", m = esc(.member))]
    Inflate {
        /// The member.
        member: String,
        /// Offset within the member's compressed data.
        offset: u64,
        /// What the inflater reported.
        reason: String,
    },
    /// The member holds more or fewer bytes than the directory declares (a zip bomb guard: the
    /// declared size caps what is inflated), or a declared size no deflate stream can reach.
    #[error("member {m}: size mismatch: {reason}", m = esc(.member))]
    Size {
        /// The member.
        member: String,
        /// What differs.
        reason: String,
    },
    /// The member is shorter than its NPY header says.
    #[error("member {m}: truncated: the array needs {expected} bytes after its header, the member holds {available}", m = esc(.member))]
    Truncated {
        /// The member.
        member: String,
        /// Bytes the header promises.
        expected: u64,
        /// Bytes present.
        available: u64,
    },
    /// The CRC-32 of the member's bytes differs from the directory's.
    #[error("member {m}: CRC-32 mismatch: the directory says {expected:#010x}, the data gives {actual:#010x}", m = esc(.member))]
    Crc {
        /// The member.
        member: String,
        /// CRC-32 recorded in the central directory.
        expected: u32,
        /// CRC-32 of the bytes read.
        actual: u32,
    },
    /// A frame range outside the array.
    #[error("member {m}: {source}", m = esc(.member))]
    Frames {
        /// The member.
        member: String,
        /// The range and the count.
        source: FrameRangeError,
    },
    /// The data cannot be viewed or read as the requested type.
    #[error("member {m}: {source}", m = esc(.member))]
    View {
        /// The member.
        member: String,
        /// Why.
        source: ViewError,
    },
    /// A zero-copy view ([`NpzReader::data`](crate::NpzReader::data),
    /// [`NpzReader::view`](crate::NpzReader::view)) of an archive read by ranges (from object
    /// storage, or any [`ByteSource`](npy_format::source::ByteSource)): there is no map to
    /// view. The member reads with `read_array`, `read_bytes` or `member(..).read_frames`.
    #[error("member {m}: zero-copy views need a local archive to map, and this one is read by ranges; read the member instead (read_array, read_bytes, or member(..).read_frames)", m = esc(.member))]
    NotMapped {
        /// The member.
        member: String,
    },
    /// A zero-copy view of a compressed member.
    #[error("member {m}: only stored members map zero-copy; this one is deflated (use read_array)", m = esc(.member))]
    NotStored {
        /// The member.
        member: String,
    },
}

/// What went wrong writing an archive ([`WriteError`]'s kind).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteErrorKind {
    /// An I/O error on the archive.
    #[error("{source}")]
    Io {
        /// The underlying error.
        source: io::Error,
    },
    /// The key is already a member (nothing was written).
    #[error("duplicate key '{k}': the archive already has a member {k}.npy", k = esc(.key))]
    DuplicateKey {
        /// The key.
        key: String,
    },
    /// A key that cannot be a member name (empty, NUL, too long).
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey {
        /// The key.
        key: String,
        /// Why.
        reason: &'static str,
    },
    /// The NPY header or data could not be written.
    #[error("member {k}: {source}", k = esc(.key))]
    Npy {
        /// The key.
        key: String,
        /// What npy-format refused.
        source: npy_format::WriteError,
    },
    /// Frames that do not fit the member's dtype or frame size.
    #[error("member {k}: {source}", k = esc(.key))]
    Frames {
        /// The key.
        key: String,
        /// Why the append was refused (nothing was appended).
        source: FrameError,
    },
    /// A member finished with fewer or more bytes than its header needs.
    #[error("member {k}: the header needs {expected} bytes of data, {written} were written", k = esc(.key))]
    Incomplete {
        /// The key.
        key: String,
        /// Bytes the header needs.
        expected: u64,
        /// Bytes written.
        written: u64,
    },
    /// The existing archive could not be opened for appending.
    #[error(transparent)]
    Open(OpenErrorKind),
    /// An input `.npy` file (for zipping) could not be read (the error's path is the input).
    #[error("input: {source}")]
    Input {
        /// Why.
        source: npy_format::ReadErrorKind,
    },
    /// Another writer, in this process or another, holds the archive's lock (see
    /// [`LockMode`](crate::LockMode)); nothing was written.
    #[error("locked by another writer (in this or another process)")]
    Locked,
    /// The output exists and the writer was created not to replace it
    /// ([`WriterOptions::create_new`](crate::WriterOptions::create_new)); it was left alone.
    #[error("already exists")]
    Exists,
    /// An input of [`zip_npy_files`](crate::zip_npy_files) is the output archive itself
    /// (the same file, whatever the names); nothing was written or deleted.
    #[error("the output archive is also an input ({}); refusing to overwrite or delete it", .input.display())]
    InputIsOutput {
        /// The input that names it.
        input: PathBuf,
    },
    /// The archive cannot be appended to as it is (data before the first member).
    #[error("cannot append: {reason}")]
    Unsupported {
        /// Why.
        reason: String,
    },
    /// The archive could not be read (a member [`index`](crate::index) inflates, a key it
    /// lacks).
    #[error(transparent)]
    Read(ReadErrorKind),
}
