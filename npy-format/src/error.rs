//! Error types, one per family of operations.
//!
//! Parsing a header gives a [`HeaderError`], which says what is wrong and at which byte offset of
//! the file. Interpreting a buffer as typed elements gives a [`ViewError`]. Opening or reading a
//! file gives a [`ReadError`], which names the file; writing gives a [`WriteError`]. Frame ranges
//! out of bounds give a [`FrameRangeError`], which the error types of every frame source convert
//! from.

use std::io;

use crate::dtype::ByteOrder;

/// A descr (numpy dtype description) that this crate cannot interpret.
///
/// ```
/// let err = npy_format::DType::parse("<q9").unwrap_err();
/// assert_eq!(err.descr, "'<q9'");
/// assert!(err.to_string().starts_with("invalid descr '<q9'"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid descr {descr}: {reason}")]
pub struct DescrError {
    /// The offending descr, as text.
    pub descr: String,
    /// Why it was refused.
    pub reason: String,
}

impl DescrError {
    pub(crate) fn new(descr: impl Into<String>, reason: impl Into<String>) -> Self {
        DescrError {
            descr: descr.into(),
            reason: reason.into(),
        }
    }
}

/// Why an NPY header was refused. Offsets are bytes from the start of the file.
///
/// ```
/// use npy_format::{Header, HeaderError};
/// assert!(matches!(Header::from_bytes(b"junk"), Err(HeaderError::BadMagic { .. })));
/// assert!(matches!(
///     Header::from_bytes(b"\x93NUMPY\x09\x00"),
///     Err(HeaderError::UnsupportedVersion { major: 9, minor: 0 })
/// ));
/// assert!(matches!(Header::from_bytes(b"\x93NUM"), Err(HeaderError::Truncated { .. })));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// Reading the header failed.
    #[error("I/O error reading the NPY header: {0}")]
    Io(#[from] io::Error),
    /// The data ends before the part named by `what` is complete.
    #[error(
        "file ends inside the {what} at offset {offset}: {needed} bytes needed, {available} available"
    )]
    Truncated {
        /// Which part of the header was cut off.
        what: &'static str,
        /// Where that part starts.
        offset: u64,
        /// How many bytes it needs.
        needed: u64,
        /// How many bytes there were.
        available: u64,
    },
    /// The file does not start with `\x93NUMPY`.
    #[error(
        "not an NPY file: magic at offset 0 is {found:02x?}, expected 93 4e 55 4d 50 59 (\"\\x93NUMPY\")"
    )]
    BadMagic {
        /// The first bytes of the file.
        found: Vec<u8>,
    },
    /// A format version other than 1.0, 2.0 and 3.0.
    #[error(
        "unsupported NPY format version {major}.{minor} at offset 6 (1.0, 2.0 and 3.0 are known)"
    )]
    UnsupportedVersion {
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },
    /// The header is larger than the configured limit.
    #[error(
        "header of {len} characters at offset {offset} exceeds the limit of {max} (if the file is trusted, raise it: --max-header-size in the command-line tools, ReadOptions::max_header_size in Rust)"
    )]
    TooLarge {
        /// Header length (characters for the limit check).
        len: u64,
        /// Where the header text starts.
        offset: u64,
        /// The configured limit.
        max: usize,
    },
    /// A version 3.0 header that is not UTF-8.
    #[error("header text at offset {offset} is not valid UTF-8")]
    Encoding {
        /// Offset of the first invalid byte.
        offset: u64,
    },
    /// The header text is not a Python literal.
    #[error("header text is not a valid Python literal at offset {offset}: {message}")]
    Syntax {
        /// Offset of the problem (bytes from the file start, approximate for non-ASCII text).
        offset: u64,
        /// What the parser expected.
        message: String,
    },
    /// The header literal is not a dict.
    #[error("header at offset {offset} is a {found}, not a dictionary")]
    NotADict {
        /// Where the header text starts.
        offset: u64,
        /// The Python type found.
        found: &'static str,
    },
    /// A required key is absent.
    #[error(
        "header at offset {offset} lacks the key '{key}' (it needs exactly 'descr', 'fortran_order' and 'shape')"
    )]
    MissingKey {
        /// Where the header text starts.
        offset: u64,
        /// The missing key.
        key: &'static str,
    },
    /// A key other than the three expected ones.
    #[error(
        "header at offset {offset} has the unexpected key {key} (it needs exactly 'descr', 'fortran_order' and 'shape')"
    )]
    ExtraKey {
        /// Where the header text starts.
        offset: u64,
        /// The key, as Python would print it.
        key: String,
    },
    /// `shape` is not a tuple of non-negative ints.
    #[error("header at offset {offset} has an invalid shape: {reason}")]
    BadShape {
        /// Where the header text starts.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// `fortran_order` is not a bool.
    #[error("header at offset {offset} has fortran_order of type {found}, expected bool")]
    BadFortranOrder {
        /// Where the header text starts.
        offset: u64,
        /// The Python type found.
        found: &'static str,
    },
    /// `descr` does not describe a dtype.
    #[error("header at offset {offset}: {source}")]
    BadDescr {
        /// Where the header text starts.
        offset: u64,
        /// What is wrong with the descr.
        source: DescrError,
    },
    /// The element count or byte count of the array overflows.
    #[error(
        "header at offset {offset}: shape {shape:?} with itemsize {itemsize} overflows a {bits}-bit byte count"
    )]
    Overflow {
        /// Where the header text starts.
        offset: u64,
        /// The shape.
        shape: Vec<u64>,
        /// Bytes per element.
        itemsize: usize,
        /// 64 for file sizes, or the pointer width when the array must fit in memory.
        bits: u32,
    },
}

/// Why a buffer cannot be viewed as a slice of the requested element type.
///
/// ```
/// use npy_format::{Element, Header, TypedView, ViewError, as_bytes};
/// let header = Header::new(f32::dtype(), false, vec![2]);
/// let err = TypedView::<i32>::new(&header, as_bytes(&[1.0f32, 2.0])).unwrap_err();
/// assert!(matches!(err, ViewError::DTypeMismatch { .. }));
/// let bools = Header::new(bool::dtype(), false, vec![2]);
/// let err = TypedView::<bool>::new(&bools, &[1, 7]).unwrap_err();
/// assert_eq!(err, ViewError::InvalidBool { index: 1, value: 7 });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ViewError {
    /// The stored dtype is not the requested element type.
    #[error("dtype mismatch: the data is {found}, the requested element type is {expected}")]
    DTypeMismatch {
        /// The requested type's descr.
        expected: String,
        /// The stored descr.
        found: String,
    },
    /// The data is in the other byte order; a zero-copy view is impossible.
    #[error(
        "byte order mismatch: the data is {found:?}-endian, this machine is {native:?}-endian; use to_vec to get a byte-swapped copy"
    )]
    ByteOrder {
        /// The stored byte order.
        found: ByteOrder,
        /// This machine's byte order.
        native: ByteOrder,
    },
    /// The data does not start on a boundary the element type needs.
    #[error(
        "misaligned data: address {address:#x} is not a multiple of {align}, which the element type requires"
    )]
    Misaligned {
        /// Address of the first byte.
        address: usize,
        /// Required alignment.
        align: usize,
    },
    /// The buffer does not hold exactly the array's bytes.
    #[error("length mismatch: the array needs {expected} bytes, the buffer holds {actual}")]
    Length {
        /// Bytes the array needs.
        expected: u64,
        /// Bytes in the buffer.
        actual: u64,
    },
    /// A bool element holds a byte other than 0 or 1.
    #[error("invalid bool at element {index}: byte value {value} (only 0 and 1 are bools)")]
    InvalidBool {
        /// Element index in storage order.
        index: usize,
        /// The byte found.
        value: u8,
    },
    /// The shape cannot be expressed in memory sizes (for `ndarray` views).
    #[error("the shape cannot be viewed: {reason}")]
    Shape {
        /// Why.
        reason: String,
    },
    /// The array holds Python objects (a pickle), which are never read.
    #[error(
        "the array holds Python objects (descr '|O'); its data is a pickle, which this crate never reads"
    )]
    Object,
}

/// Frames `[start, end)` asked of a source holding `count` frames.
///
/// ```
/// use npy_format::FrameRangeError;
/// // Frames [2, 9) from a source holding 4.
/// let err = FrameRangeError::check(2, 9, 4).unwrap_err();
/// assert_eq!(err, FrameRangeError { start: 2, end: 9, count: 4 });
/// assert!(err.to_string().contains("out of range"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "frames [{start}, {end}) are out of range: the array has {count} frames along its growth axis"
)]
pub struct FrameRangeError {
    /// First frame asked for.
    pub start: u64,
    /// One past the last frame asked for.
    pub end: u64,
    /// Frames available.
    pub count: u64,
}

impl FrameRangeError {
    /// Checks `[start, end)` against `count` frames.
    ///
    /// ```
    /// use npy_format::FrameRangeError;
    /// assert!(FrameRangeError::check(2, 5, 5).is_ok());
    /// assert!(FrameRangeError::check(4, 6, 5).is_err());
    /// assert!(FrameRangeError::check(3, 2, 5).is_err());
    /// ```
    pub fn check(start: u64, end: u64, count: u64) -> Result<(), FrameRangeError> {
        if start <= end && end <= count {
            Ok(())
        } else {
            Err(FrameRangeError { start, end, count })
        }
    }
}

/// Why opening or reading an NPY file failed: the file (`<reader>` for a plain reader) and a
/// [`ReadErrorKind`].
///
/// ```
/// use npy_format::ReadErrorKind;
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("a.npy");
/// npy_format::write_file(&path, &[1u32, 2, 3], &[3]).unwrap();
/// let err = npy_format::read_file::<f32>(&path).unwrap_err();
/// assert_eq!(err.path(), path);
/// assert!(matches!(err.kind(), ReadErrorKind::View { .. }));
/// let missing = npy_format::read_file::<u32>(dir.path().join("none.npy")).unwrap_err();
/// assert!(matches!(missing.kind(), ReadErrorKind::Io { .. }));
/// ```
pub type ReadError = array_files_fs::error::PathError<ReadErrorKind>;

/// What went wrong opening or reading an NPY file ([`ReadError`]'s kind).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadErrorKind {
    /// An I/O error.
    #[error("{source}")]
    Io {
        /// The underlying error.
        source: io::Error,
    },
    /// The header was refused.
    #[error("{source}")]
    Header {
        /// Why.
        source: HeaderError,
    },
    /// The file is shorter than its header says.
    #[error(
        "truncated: the data at offset {data_offset} needs {expected} bytes, the file holds {available} (recovery adopts the complete frames: `npy_append::recover`, `npy recover`, or `array_files.npy.recover` in Python)"
    )]
    Truncated {
        /// Where the data starts.
        data_offset: u64,
        /// Bytes the header promises.
        expected: u64,
        /// Bytes present after the header.
        available: u64,
    },
    /// The data cannot be viewed or read as the requested type.
    #[error("{source}")]
    View {
        /// Why.
        source: ViewError,
    },
    /// A frame range outside the array.
    #[error("{source}")]
    Frames {
        /// The range and the count.
        source: FrameRangeError,
    },
    /// Mutable access on a file opened read-only.
    #[error(
        "the file is mapped read-only; open it with Mode::ReadWrite or Mode::CopyOnWrite to change it"
    )]
    ReadOnly,
}

impl From<io::Error> for ReadErrorKind {
    /// An I/O error, so that `result.at_path(path)?` (array_files_fs's `AtPath`) reads well.
    fn from(source: io::Error) -> Self {
        ReadErrorKind::Io { source }
    }
}

/// Why writing an NPY header or array failed.
///
/// ```
/// use npy_format::WriteError;
/// // Two elements for a shape of three.
/// let err = npy_format::write_array(Vec::new(), &[1u8, 2], &[3], false).unwrap_err();
/// assert!(matches!(err, WriteError::Length { expected: 3, actual: 2 }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// An I/O error.
    #[error("I/O error writing NPY data: {0}")]
    Io(#[from] io::Error),
    /// The data does not hold the bytes the shape and dtype need.
    #[error(
        "the array needs {expected} bytes of data for its shape and dtype, {actual} were given"
    )]
    Length {
        /// Bytes needed.
        expected: u64,
        /// Bytes given.
        actual: u64,
    },
    /// Object arrays are pickles; this crate never writes them.
    #[error("object arrays (descr '|O') are pickles; this crate does not write them")]
    Object,
    /// The shape's element or byte count overflows.
    #[error("shape {shape:?} with itemsize {itemsize} overflows the byte count")]
    Overflow {
        /// The shape.
        shape: Vec<u64>,
        /// Bytes per element.
        itemsize: usize,
    },
    /// A header does not fit the length it must replace (in-place rewrites).
    #[error("the header needs {needed} bytes but only {available} are available in place")]
    HeaderTooLong {
        /// Bytes the header needs.
        needed: usize,
        /// Bytes it must fit in.
        available: usize,
    },
    /// The header exceeds what any NPY version can store (4 GiB).
    #[error("the header text of {len} bytes is too large for any NPY format version")]
    HeaderTooLarge {
        /// Header text length.
        len: usize,
    },
    /// A requested format version that cannot hold this header.
    #[error("format version {major}.{minor} cannot hold this header: {reason}")]
    Version {
        /// Major version.
        major: u8,
        /// Minor version.
        minor: u8,
        /// Why.
        reason: &'static str,
    },
}

/// Why frames cannot be appended to a sink.
///
/// ```
/// use npy_format::FrameError;
/// // What a sink says when two frames of 16 bytes are given 24 bytes.
/// let err = FrameError::Count { frames: 2, frame_len: 16, expected: 32, len: 24 };
/// assert_eq!(err.to_string(), "2 frames of 16 bytes need 32 bytes, 24 were given");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The element type is not the sink's dtype (never cast silently).
    #[error("dtype mismatch: frames of {given} cannot be appended to an array of {expected}")]
    DType {
        /// The sink's descr.
        expected: String,
        /// The appended data's descr.
        given: String,
    },
    /// The data is not a whole number of frames.
    #[error("{len} bytes are not a whole number of {frame_len}-byte frames")]
    PartialFrame {
        /// Bytes given.
        len: u64,
        /// Bytes per frame.
        frame_len: u64,
    },
    /// Byte count and frame count disagree.
    #[error("{frames} frames of {frame_len} bytes need {expected} bytes, {len} were given")]
    Count {
        /// Frames claimed.
        frames: u64,
        /// Bytes per frame.
        frame_len: u64,
        /// Bytes needed.
        expected: u64,
        /// Bytes given.
        len: u64,
    },
}
