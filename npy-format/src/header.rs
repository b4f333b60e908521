//! The NPY header: magic, version, length, and the Python dict that describes the array.
//!
//! ```text
//! offset 0   93 4E 55 4D 50 59     "\x93NUMPY"
//! offset 6   major, minor          1.0, 2.0 or 3.0
//! offset 8   header length         u16 LE (1.0) or u32 LE (2.0, 3.0)
//! then       header text           {'descr': ..., 'fortran_order': ..., 'shape': (...), }
//!                                  + growth room + padding spaces + '\n'
//! then       data                  64-byte aligned
//! ```
//!
//! [`Header::to_bytes`] writes exactly what `np.save` writes for the same array (numpy ≥ 1.24):
//! sorted keys, Python reprs, 21 − len(repr(growth dim)) spaces of room to grow the shape in
//! place, then 1 to 64 spaces so the data starts on a multiple of 64, then `\n`.

use std::io::Read;

use crate::dtype::DType;
use crate::error::{HeaderError, WriteError};
use crate::literal::{self, PyValue};

/// `\x93NUMPY`, the first six bytes of every NPY file.
///
/// ```
/// use npy_format::{header::MAGIC, DType, Header};
/// let bytes = Header::new(DType::parse("<f4").unwrap(), false, vec![2]).to_bytes().unwrap();
/// assert!(bytes.starts_with(MAGIC));
/// assert_eq!(MAGIC, b"\x93NUMPY");
/// ```
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Data starts on a multiple of this many bytes (numpy's `ARRAY_ALIGN`).
///
/// ```
/// use npy_format::{header::ARRAY_ALIGN, DType, Header};
/// let dt = DType::parse("[('a', '<f8'), ('b', '<i4', (2, 2))]").unwrap();
/// let bytes = Header::new(dt, false, vec![5]).to_bytes().unwrap();
/// assert_eq!(bytes.len() % ARRAY_ALIGN, 0);
/// assert_eq!(ARRAY_ALIGN, 64);
/// ```
pub const ARRAY_ALIGN: usize = 64;

/// Digits of room kept after the growth-axis dimension so appends can rewrite the header in place
/// (numpy's `GROWTH_AXIS_MAX_DIGITS`, since numpy 1.24).
///
/// ```
/// use npy_format::{header::GROWTH_AXIS_MAX_DIGITS, DType, Header};
/// let h = Header::new(DType::parse("<f8").unwrap(), false, vec![7, 3]);
/// let bytes = h.to_bytes().unwrap();
/// // After the dict: room for the growth dimension ("7", one digit) to grow to 21 digits.
/// let room = " ".repeat(GROWTH_AXIS_MAX_DIGITS - 1);
/// assert!(bytes[10..].starts_with(format!("{}{room}", h.dict_text()).as_bytes()));
/// ```
pub const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// The default limit on header text length, as numpy's `max_header_size`.
///
/// ```
/// use npy_format::{header::DEFAULT_MAX_HEADER_SIZE, ReadOptions};
/// assert_eq!(DEFAULT_MAX_HEADER_SIZE, 10_000);
/// assert_eq!(ReadOptions::default().max_header_size, DEFAULT_MAX_HEADER_SIZE);
/// ```
pub const DEFAULT_MAX_HEADER_SIZE: usize = 10_000;

/// An NPY format version.
///
/// ```
/// use npy_format::{DType, Header, Version};
/// let bytes = Header::new(DType::parse("<f4").unwrap(), false, vec![2]).to_bytes().unwrap();
/// assert_eq!(&bytes[6..8], &[1, 0]);
/// assert_eq!(Header::from_bytes(&bytes).unwrap().version, Version::V1);
/// assert!(Version::V1 < Version::V3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// 1.0: u16 header length, latin-1 text.
    V1,
    /// 2.0: u32 header length, latin-1 text (headers over 64 KiB).
    V2,
    /// 3.0: u32 header length, UTF-8 text (field names outside latin-1).
    V3,
}

impl Version {
    /// `(major, minor)` as stored at offset 6.
    ///
    /// ```
    /// assert_eq!(npy_format::Version::V3.numbers(), (3, 0));
    /// ```
    pub fn numbers(self) -> (u8, u8) {
        match self {
            Version::V1 => (1, 0),
            Version::V2 => (2, 0),
            Version::V3 => (3, 0),
        }
    }

    /// The version stored as `(major, minor)`, if it is one numpy knows.
    ///
    /// ```
    /// assert_eq!(npy_format::Version::from_numbers(2, 0), Some(npy_format::Version::V2));
    /// assert_eq!(npy_format::Version::from_numbers(1, 1), None);
    /// ```
    pub fn from_numbers(major: u8, minor: u8) -> Option<Version> {
        match (major, minor) {
            (1, 0) => Some(Version::V1),
            (2, 0) => Some(Version::V2),
            (3, 0) => Some(Version::V3),
            _ => None,
        }
    }

    /// Bytes of the header-length field: 2 for 1.0, 4 otherwise.
    ///
    /// ```
    /// assert_eq!(npy_format::Version::V1.length_field_size(), 2);
    /// ```
    pub fn length_field_size(self) -> usize {
        match self {
            Version::V1 => 2,
            Version::V2 | Version::V3 => 4,
        }
    }

    /// Bytes before the header text: magic, version and length field.
    fn preamble_len(self) -> usize {
        MAGIC.len() + 2 + self.length_field_size()
    }
}

/// Limits and leniency for reading headers.
///
/// ```
/// use npy_format::{DType, Header, HeaderError, ReadOptions};
/// let bytes = Header::new(DType::parse("<f4").unwrap(), false, vec![2]).to_bytes().unwrap();
/// let strict = ReadOptions { max_header_size: 16 };
/// let err = Header::read_from(&mut bytes.as_slice(), strict).unwrap_err();
/// assert!(matches!(err, HeaderError::TooLarge { max: 16, .. }));
/// assert!(Header::read_from(&mut bytes.as_slice(), ReadOptions::default()).is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// Longest header text accepted, in characters (numpy's `max_header_size`, default 10000).
    pub max_header_size: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_header_size: DEFAULT_MAX_HEADER_SIZE,
        }
    }
}

impl ReadOptions {
    /// numpy's limits (== `Default::default()`).
    ///
    /// ```
    /// assert_eq!(npy_format::ReadOptions::new().max_header_size, 10000);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Options with a different header size limit.
    ///
    /// ```
    /// let opts = npy_format::ReadOptions::default().max_header_size(1 << 20);
    /// assert_eq!(opts.max_header_size, 1 << 20);
    /// ```
    pub fn max_header_size(mut self, max: usize) -> Self {
        self.max_header_size = max;
        self
    }
}

/// What an NPY header says about its array.
///
/// ```
/// use npy_format::{DType, Header};
/// let header = Header::new(DType::parse("<f8").unwrap(), false, vec![3, 4]);
/// let bytes = header.to_bytes().unwrap();
/// assert_eq!(bytes.len(), 128);
/// assert!(bytes.starts_with(b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }"));
/// let parsed = Header::from_bytes(&bytes).unwrap();
/// assert_eq!(parsed.header, header);
/// assert_eq!(parsed.data_offset, 128);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// The element type.
    pub dtype: DType,
    /// Whether the data is stored in Fortran (column-major) order.
    pub fortran_order: bool,
    /// The array's dimensions; empty for a 0-d array.
    pub shape: Vec<u64>,
}

/// A header as read from a file, with where its data starts.
///
/// ```
/// use npy_format::{DType, Header, Version};
/// let header = Header::new(DType::parse("<i2").unwrap(), false, vec![4]);
/// let parsed = Header::from_bytes(&header.to_bytes().unwrap()).unwrap();
/// assert_eq!(parsed.header, header);
/// assert_eq!(parsed.version, Version::V1);
/// assert_eq!(parsed.data_offset, 128);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedHeader {
    /// The header.
    pub header: Header,
    /// The format version found.
    pub version: Version,
    /// Bytes from the start of the file to the data (magic, length field and text included).
    pub data_offset: u64,
}

impl Header {
    /// A header for an array of `shape` elements of `dtype`, stored in Fortran order if asked.
    ///
    /// ```
    /// # use npy_format::{DType, Header};
    /// let h = Header::new(DType::parse("|u1").unwrap(), true, vec![2, 5]);
    /// assert_eq!(h.growth_axis(), Some(1));
    /// ```
    pub fn new(dtype: DType, fortran_order: bool, shape: Vec<u64>) -> Header {
        Header {
            dtype,
            fortran_order,
            shape,
        }
    }

    /// The header numpy writes for an array of this shape in this order: `fortran_order` is
    /// reported only when the array is not also C-contiguous (numpy tests C first, so 1-d arrays,
    /// empty arrays and arrays with at most one dimension above 1 are written as C order).
    ///
    /// ```
    /// # use npy_format::{DType, Header};
    /// let dt = DType::parse("<i4").unwrap();
    /// assert!(!Header::for_array(dt.clone(), true, vec![1, 5]).fortran_order);
    /// assert!(Header::for_array(dt, true, vec![2, 5]).fortran_order);
    /// ```
    pub fn for_array(dtype: DType, fortran_order: bool, shape: Vec<u64>) -> Header {
        let c_contiguous_too = shape.contains(&0) || shape.iter().filter(|&&d| d != 1).count() <= 1;
        Header::new(dtype, fortran_order && !c_contiguous_too, shape)
    }

    /// The axis appends grow: 0 in C order, the last in Fortran order; `None` for 0-d arrays.
    ///
    /// ```
    /// # use npy_format::{DType, Header};
    /// assert_eq!(Header::new(DType::parse("<f4").unwrap(), false, vec![]).growth_axis(), None);
    /// ```
    pub fn growth_axis(&self) -> Option<usize> {
        match self.shape.len() {
            0 => None,
            n if self.fortran_order => Some(n - 1),
            _ => Some(0),
        }
    }

    /// Number of frames along the growth axis (1 for a 0-d array, which is one frame).
    ///
    /// ```
    /// # use npy_format::{DType, Header};
    /// let h = Header::new(DType::parse("<f4").unwrap(), true, vec![3, 7]);
    /// assert_eq!(h.frame_count(), 7);
    /// ```
    pub fn frame_count(&self) -> u64 {
        self.growth_axis().map_or(1, |axis| self.shape[axis])
    }

    /// The shape of one frame: the shape without the growth axis.
    ///
    /// ```
    /// # use npy_format::{DType, Header};
    /// let h = Header::new(DType::parse("<f4").unwrap(), false, vec![3, 7, 2]);
    /// assert_eq!(h.frame_shape(), vec![7, 2]);
    /// ```
    pub fn frame_shape(&self) -> Vec<u64> {
        let mut shape = self.shape.clone();
        if let Some(axis) = self.growth_axis() {
            shape.remove(axis);
        }
        shape
    }

    /// Elements in the array, or `None` if the product overflows `u64`.
    ///
    /// ```
    /// # use npy_format::{DType, Header};
    /// let h = Header::new(DType::parse("<f4").unwrap(), false, vec![u64::MAX, 2]);
    /// assert_eq!(h.element_count(), None);
    /// ```
    pub fn element_count(&self) -> Option<u64> {
        self.shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
    }

    /// Bytes of array data, or `None` on overflow of `u64`.
    ///
    /// ```
    /// # use npy_format::{DType, Header};
    /// let h = Header::new(DType::parse("<f4").unwrap(), false, vec![3, 4]);
    /// assert_eq!(h.data_len(), Some(48));
    /// ```
    pub fn data_len(&self) -> Option<u64> {
        self.element_count()?
            .checked_mul(u64::try_from(self.dtype.itemsize()).ok()?)
    }

    /// Bytes of one frame, or `None` on overflow.
    ///
    /// ```
    /// # use npy_format::{DType, Header};
    /// let h = Header::new(DType::parse("<f8").unwrap(), false, vec![10, 4]);
    /// assert_eq!(h.frame_len(), Some(32));
    /// ```
    pub fn frame_len(&self) -> Option<u64> {
        let elements = self
            .frame_shape()
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))?;
        elements.checked_mul(u64::try_from(self.dtype.itemsize()).ok()?)
    }

    /// The same header with `frames` along the growth axis.
    ///
    /// ```
    /// # use npy_format::{DType, Header};
    /// let h = Header::new(DType::parse("<f8").unwrap(), false, vec![0, 4]).with_frame_count(9);
    /// assert_eq!(h.shape, vec![9, 4]);
    /// ```
    pub fn with_frame_count(&self, frames: u64) -> Header {
        let mut header = self.clone();
        if let Some(axis) = header.growth_axis() {
            header.shape[axis] = frames;
        }
        header
    }

    /// Element strides in bytes for this layout (C or Fortran), as numpy reports them.
    ///
    /// ```
    /// # use npy_format::{DType, Header};
    /// let c = Header::new(DType::parse("<f8").unwrap(), false, vec![2, 3]);
    /// assert_eq!(c.strides(), vec![24, 8]);
    /// let f = Header::new(DType::parse("<f8").unwrap(), true, vec![2, 3]);
    /// assert_eq!(f.strides(), vec![8, 16]);
    /// ```
    pub fn strides(&self) -> Vec<u64> {
        let mut strides = vec![0; self.shape.len()];
        let mut step = self.dtype.itemsize() as u64;
        let axes: Vec<usize> = if self.fortran_order {
            (0..self.shape.len()).collect()
        } else {
            (0..self.shape.len()).rev().collect()
        };
        for axis in axes {
            strides[axis] = step;
            step = step.saturating_mul(self.shape[axis]);
        }
        strides
    }

    /// The header dict as numpy writes it, before growth room and padding.
    ///
    /// ```
    /// # use npy_format::{DType, Header};
    /// let h = Header::new(DType::parse("<i4").unwrap(), false, vec![5]);
    /// assert_eq!(h.dict_text(), "{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }");
    /// ```
    pub fn dict_text(&self) -> String {
        let mut text = String::with_capacity(64);
        text.push_str("{'descr': ");
        self.dtype.write_descr(&mut text);
        text.push_str(", 'fortran_order': ");
        text.push_str(if self.fortran_order { "True" } else { "False" });
        text.push_str(", 'shape': ");
        literal::write_repr_tuple(&mut text, &self.shape);
        text.push_str(", }");
        text
    }

    /// The dict text followed by the growth room numpy reserves after the growth dimension.
    fn text_with_growth_room(&self) -> String {
        let mut text = self.dict_text();
        if let Some(axis) = self.growth_axis() {
            let digits = self.shape[axis].to_string().len();
            let room = GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits);
            text.extend(std::iter::repeat_n(' ', room));
        }
        text
    }

    /// The version numpy picks for this header: 1.0, 2.0 if the header exceeds 65535 bytes, 3.0 if
    /// a field name is not latin-1.
    ///
    /// ```
    /// # use npy_format::{DType, Header, Version};
    /// let h = Header::new(DType::parse("[('ж', '<f4')]").unwrap(), false, vec![1]);
    /// assert_eq!(h.version(), Version::V3);
    /// ```
    pub fn version(&self) -> Version {
        self.pick_version(&self.text_with_growth_room())
    }

    fn pick_version(&self, text: &str) -> Version {
        if !self.dtype.names_are_latin1() {
            return Version::V3;
        }
        // numpy tries 1.0 and falls back to 2.0 when the padded length overflows the u16.
        // In latin-1 every character is one byte.
        let padded = padded_text_len(Version::V1, text.chars().count());
        if padded <= usize::from(u16::MAX) {
            Version::V1
        } else {
            Version::V2
        }
    }

    /// The whole preamble, byte-identical to `np.save`'s: magic, version, length and text.
    /// Its length is a multiple of 64, so data written after it is aligned.
    ///
    /// # Errors
    /// [`WriteError::HeaderTooLarge`] if the text exceeds 4 GiB.
    ///
    /// ```
    /// # use npy_format::{DType, Header};
    /// let bytes = Header::new(DType::parse("<f8").unwrap(), false, vec![]).to_bytes().unwrap();
    /// assert_eq!(bytes.len() % 64, 0);
    /// assert!(bytes.ends_with(b" \n"));
    /// ```
    pub fn to_bytes(&self) -> Result<Vec<u8>, WriteError> {
        let text = self.text_with_growth_room();
        let version = self.pick_version(&text);
        encode(version, &text, None)
    }

    /// The preamble in a given version, padded to exactly `total_len` bytes (the length of the
    /// header being replaced, whatever its alignment): what an appender needs to rewrite a header
    /// in place without moving the data. The text has no growth room beyond `total_len`.
    ///
    /// # Errors
    /// [`WriteError::HeaderTooLong`] if the header does not fit in `total_len`;
    /// [`WriteError::Version`] if the version cannot hold it (1.0 over 64 KiB, latin-1 names).
    ///
    /// ```
    /// # use npy_format::{DType, Header, Version};
    /// let h = Header::new(DType::parse("<f8").unwrap(), false, vec![123_456_789, 4]);
    /// let bytes = h.to_bytes_in_place(Version::V1, 128).unwrap();
    /// assert_eq!(bytes.len(), 128);
    /// assert!(h.to_bytes_in_place(Version::V1, 64).is_err());
    /// ```
    pub fn to_bytes_in_place(
        &self,
        version: Version,
        total_len: usize,
    ) -> Result<Vec<u8>, WriteError> {
        encode(version, &self.dict_text(), Some(total_len))
    }

    /// Parses a header from the start of `bytes` with the default limits.
    ///
    /// # Errors
    /// A [`HeaderError`] naming what is wrong and its offset.
    ///
    /// ```
    /// let err = npy_format::Header::from_bytes(b"PK\x03\x04").unwrap_err();
    /// assert!(err.to_string().contains("not an NPY file"));
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<ParsedHeader, HeaderError> {
        Header::read_from(&mut &bytes[..], ReadOptions::default())
    }

    /// Reads a header from a reader positioned at the start of an NPY file, leaving it at the
    /// start of the data. Never allocates more than the limit allows before checking it.
    ///
    /// # Errors
    /// A [`HeaderError`] naming what is wrong and its offset.
    ///
    /// ```
    /// use npy_format::{DType, Header, ReadOptions};
    /// let bytes = Header::new(DType::parse("<u2").unwrap(), false, vec![7]).to_bytes().unwrap();
    /// let parsed = Header::read_from(&mut bytes.as_slice(), ReadOptions::default()).unwrap();
    /// assert_eq!(parsed.header.shape, vec![7]);
    /// ```
    pub fn read_from<R: Read + ?Sized>(
        reader: &mut R,
        options: ReadOptions,
    ) -> Result<ParsedHeader, HeaderError> {
        let mut magic = [0u8; 8];
        let got = crate::read::read_full(reader, &mut magic)?;
        let checked = got.min(MAGIC.len());
        if magic[..checked] != MAGIC[..checked] {
            return Err(HeaderError::BadMagic {
                found: magic[..got].to_vec(),
            });
        }
        if got < magic.len() {
            return Err(HeaderError::Truncated {
                what: if got < MAGIC.len() {
                    "magic string"
                } else {
                    "format version"
                },
                offset: 0,
                needed: magic.len() as u64,
                available: got as u64,
            });
        }
        let (major, minor) = (magic[6], magic[7]);
        let version = Version::from_numbers(major, minor)
            .ok_or(HeaderError::UnsupportedVersion { major, minor })?;

        let mut len_field = [0u8; 4];
        let len_size = version.length_field_size();
        let got = crate::read::read_full(reader, &mut len_field[..len_size])?;
        if got < len_size {
            return Err(HeaderError::Truncated {
                what: "header length",
                offset: 8,
                needed: len_size as u64,
                available: got as u64,
            });
        }
        let text_len = match version {
            Version::V1 => u64::from(u16::from_le_bytes([len_field[0], len_field[1]])),
            _ => u64::from(u32::from_le_bytes(len_field)),
        };
        let text_offset = version.preamble_len() as u64;
        // numpy's limit counts characters; UTF-8 needs up to 4 bytes per character.
        let byte_limit = match version {
            Version::V3 => options.max_header_size.saturating_mul(4),
            _ => options.max_header_size,
        };
        if text_len > byte_limit as u64 {
            return Err(HeaderError::TooLarge {
                len: text_len,
                offset: text_offset,
                max: options.max_header_size,
            });
        }
        // Reserve what a typical header needs, not what the length field claims: a 12-byte
        // file may claim 4 × max_header_size bytes, and read_to_end grows with what arrives.
        let mut raw = Vec::with_capacity(text_len.min(4096) as usize);
        reader.take(text_len).read_to_end(&mut raw)?;
        if (raw.len() as u64) < text_len {
            return Err(HeaderError::Truncated {
                what: "header text",
                offset: text_offset,
                needed: text_len,
                available: raw.len() as u64,
            });
        }
        let text: String = match version {
            // ASCII (every header numpy writes but one with non-ASCII field names) is the same
            // text in latin-1 and UTF-8: no conversion.
            _ if raw.is_ascii() => String::from_utf8(raw).unwrap_or_default(),
            Version::V3 => String::from_utf8(raw).map_err(|e| HeaderError::Encoding {
                offset: text_offset + e.utf8_error().valid_up_to() as u64,
            })?,
            _ => raw.iter().map(|&b| char::from(b)).collect(),
        };
        // Characters, counted only where they may exceed the limit (never more than bytes).
        let chars = if text.len() > options.max_header_size {
            text.chars().count()
        } else {
            text.len()
        };
        if chars > options.max_header_size {
            return Err(HeaderError::TooLarge {
                len: chars as u64,
                offset: text_offset,
                max: options.max_header_size,
            });
        }
        let header = parse_dict(&text, version, text_offset)?;
        Ok(ParsedHeader {
            header,
            version,
            data_offset: text_offset + text_len,
        })
    }
}

/// Text length after numpy's padding: +1 for the newline, then up to the next multiple of 64
/// (always at least one space).
fn padded_text_len(version: Version, text_len: usize) -> usize {
    let unpadded = version.preamble_len() + text_len + 1;
    let pad = ARRAY_ALIGN - unpadded % ARRAY_ALIGN;
    text_len + pad + 1
}

fn encode(version: Version, text: &str, total_len: Option<usize>) -> Result<Vec<u8>, WriteError> {
    let (major, minor) = version.numbers();
    let body: Vec<u8> = match version {
        Version::V3 => text.as_bytes().to_vec(),
        _ => text
            .chars()
            .map(|c| u8::try_from(u32::from(c)))
            .collect::<Result<_, _>>()
            .map_err(|_| WriteError::Version {
                major,
                minor,
                reason: "the header holds characters outside latin-1; version 3.0 is needed",
            })?,
    };
    let preamble = version.preamble_len();
    let padded = match total_len {
        None => padded_text_len(version, body.len()),
        Some(total) => {
            let needed = preamble + body.len() + 1;
            // Any existing length will do, not only multiples of 64: numpy before 1.14 aligned
            // headers to 16 bytes, and an in-place rewrite must keep the data where it is.
            if total < needed {
                return Err(WriteError::HeaderTooLong {
                    needed,
                    available: total,
                });
            }
            total - preamble
        }
    };
    let len_ok = match version {
        Version::V1 => padded <= usize::from(u16::MAX),
        _ => padded <= u32::MAX as usize,
    };
    if !len_ok {
        return Err(if version == Version::V1 {
            WriteError::Version {
                major,
                minor,
                reason: "the header is longer than 65535 bytes",
            }
        } else {
            WriteError::HeaderTooLarge { len: body.len() }
        });
    }
    let mut out = Vec::with_capacity(preamble + padded);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[major, minor]);
    match version {
        Version::V1 => out.extend_from_slice(&(padded as u16).to_le_bytes()),
        _ => out.extend_from_slice(&(padded as u32).to_le_bytes()),
    }
    out.extend_from_slice(&body);
    out.resize(preamble + padded - 1, b' ');
    out.push(b'\n');
    Ok(out)
}

fn parse_dict(text: &str, version: Version, offset: u64) -> Result<Header, HeaderError> {
    match parse_canonical(text) {
        Some(header) => Ok(header),
        None => parse_dict_general(text, version, offset),
    }
}

/// The header of a simple dtype exactly as `np.save` writes it, `{'descr': '<f8',
/// 'fortran_order': False, 'shape': (3, 4), }` and padding, read without the general literal
/// parser (which costs ten times as much: opening a pack of a hundred arrays parses a hundred
/// headers). `None` for anything else, valid or not: the general parser then decides, so the
/// two agree on every input this accepts.
fn parse_canonical(text: &str) -> Option<Header> {
    let rest = text.strip_prefix("{'descr': '")?;
    let (descr, rest) = rest.split_once('\'')?;
    // Printable ASCII without escapes: the string literal means exactly its text.
    if !descr
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'\\')
    {
        return None;
    }
    let rest = rest.strip_prefix(", 'fortran_order': ")?;
    let (fortran_order, rest) = match rest.strip_prefix("False") {
        Some(rest) => (false, rest),
        None => (true, rest.strip_prefix("True")?),
    };
    let rest = rest.strip_prefix(", 'shape': (")?;
    let (dims, rest) = rest.split_once(')')?;
    if !rest
        .strip_prefix(", }")?
        .bytes()
        .all(|b| b == b' ' || b == b'\n')
    {
        return None;
    }
    // `()`, `(3,)` or `(3, 4)`: a one-element tuple needs its comma, and `(3)` is an int.
    let shape = match dims.strip_suffix(',') {
        _ if dims.is_empty() => Vec::new(),
        Some(one) => vec![parse_dim(one)?],
        None if dims.contains(", ") => dims.split(", ").map(parse_dim).collect::<Option<_>>()?,
        None => return None,
    };
    let dtype = DType::from_py(&PyValue::Str(descr.to_owned()), 0).ok()?;
    let header = Header::new(dtype, fortran_order, shape);
    header.data_len()?;
    Some(header)
}

/// A dimension as numpy writes it: decimal digits, no sign, no leading zero, below 2^64.
fn parse_dim(text: &str) -> Option<u64> {
    let digits = text.bytes().all(|b| b.is_ascii_digit());
    if text.is_empty() || !digits || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    text.parse().ok()
}

/// [`parse_dict`] through the general literal parser: any valid Python literal, and the
/// precise error for an invalid one.
fn parse_dict_general(text: &str, version: Version, offset: u64) -> Result<Header, HeaderError> {
    let value = literal::parse(text, version <= Version::V2).map_err(|e| {
        let byte_offset = text
            .char_indices()
            .nth(e.offset)
            .map_or(text.len(), |(i, _)| i);
        HeaderError::Syntax {
            offset: offset + byte_offset as u64,
            message: e.message,
        }
    })?;
    let PyValue::Dict(pairs) = value else {
        return Err(HeaderError::NotADict {
            offset,
            found: value.type_name(),
        });
    };
    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;
    for (key, value) in pairs {
        match &key {
            PyValue::Str(k) if k == "descr" => descr = Some(value),
            PyValue::Str(k) if k == "fortran_order" => fortran = Some(value),
            PyValue::Str(k) if k == "shape" => shape = Some(value),
            other => {
                return Err(HeaderError::ExtraKey {
                    offset,
                    key: match other {
                        PyValue::Str(s) => literal::repr_str(s),
                        other => format!("of type {}", other.type_name()),
                    },
                });
            }
        }
    }
    let missing = |key| HeaderError::MissingKey { offset, key };
    let descr = descr.ok_or_else(|| missing("descr"))?;
    let fortran = fortran.ok_or_else(|| missing("fortran_order"))?;
    let shape = shape.ok_or_else(|| missing("shape"))?;

    let PyValue::Tuple(dims) = shape else {
        return Err(HeaderError::BadShape {
            offset,
            reason: format!("expected a tuple of ints, found a {}", shape.type_name()),
        });
    };
    let shape = dims
        .iter()
        .map(|d| match d {
            PyValue::Int(i) if *i < 0 => Err(format!("dimension {i} is negative")),
            PyValue::Int(i) => u64::try_from(*i).map_err(|_| format!("dimension {i} exceeds 2^64")),
            other => Err(format!(
                "dimensions are ints, found a {}",
                other.type_name()
            )),
        })
        .collect::<Result<Vec<u64>, String>>()
        .map_err(|reason| HeaderError::BadShape { offset, reason })?;
    let PyValue::Bool(fortran_order) = fortran else {
        return Err(HeaderError::BadFortranOrder {
            offset,
            found: fortran.type_name(),
        });
    };
    let dtype =
        DType::from_py(&descr, 0).map_err(|source| HeaderError::BadDescr { offset, source })?;
    let header = Header::new(dtype, fortran_order, shape);
    if header.data_len().is_none() {
        return Err(HeaderError::Overflow {
            offset,
            shape: header.shape,
            itemsize: header.dtype.itemsize(),
            bits: 64,
        });
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(descr: &str, fortran: bool, shape: &[u64]) -> Header {
        Header::new(DType::parse(descr).unwrap(), fortran, shape.to_vec())
    }

    /// The fast path for np.save's own text agrees with the general parser wherever it answers,
    /// and leaves everything unusual to it.
    #[test]
    fn canonical_fast_path_agrees_with_the_general_parser() {
        let pad = "          \n";
        let accepted = [
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }",
            "{'descr': '|u1', 'fortran_order': True, 'shape': (7,), }",
            "{'descr': '<i4', 'fortran_order': False, 'shape': (), }",
            "{'descr': '<U10', 'fortran_order': False, 'shape': (0, 2, 0), }",
            "{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (2,), }",
            "{'descr': '|u1', 'fortran_order': False, 'shape': (18446744073709551615,), }",
        ];
        for text in accepted {
            let text = format!("{text}{pad}");
            let fast = parse_canonical(&text).unwrap_or_else(|| panic!("{text:?}"));
            assert_eq!(
                fast,
                parse_dict_general(&text, Version::V1, 10).unwrap(),
                "{text:?}"
            );
        }
        let declined = [
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3), }", // an int, not a tuple
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (03,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3L,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551616,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,), }",
            "{'descr': '<f\\x38', 'fortran_order': False, 'shape': (3,), }",
            "{'descr': '<x8', 'fortran_order': False, 'shape': (3,), }",
            "{'descr': '<f8', 'fortran_order': 0, 'shape': (3,), }",
            "{'shape': (3,), 'descr': '<f8', 'fortran_order': False, }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), } x",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'extra': 1, }",
            "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }",
        ];
        for text in declined {
            let text = format!("{text}{pad}");
            assert!(parse_canonical(&text).is_none(), "{text:?}");
            // Both paths through parse_dict give the general parser's answer.
            let general = parse_dict_general(&text, Version::V2, 12);
            assert_eq!(
                format!("{:?}", parse_dict(&text, Version::V2, 12)),
                format!("{general:?}")
            );
        }
        // Every header the writer makes takes the fast path when its dtype is simple.
        for descr in ["<f8", ">i2", "|b1", "<c16", "|S5", "<m8[3us]", "<f2"] {
            for shape in [&[][..], &[1], &[2, 3], &[0, 5, 1]] {
                let h = header(descr, shape.len() == 2, shape);
                let bytes = h.to_bytes().unwrap();
                let text: String = bytes[10..].iter().map(|&b| char::from(b)).collect();
                assert_eq!(parse_canonical(&text).as_ref(), Some(&h), "{text:?}");
            }
        }
    }

    #[test]
    fn typical_headers_are_128_bytes_with_growth_room() {
        let bytes = header("<f8", false, &[3, 4]).to_bytes().unwrap();
        let text = std::str::from_utf8(&bytes[10..]).unwrap();
        let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }";
        assert!(text.starts_with(dict));
        assert_eq!(bytes.len(), 128);
        assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), 118);
        // 20 spaces of growth room for "3", then padding.
        assert!(text[dict.len()..].bytes().all(|b| b == b' ' || b == b'\n'));
    }

    #[test]
    fn zero_d_has_no_growth_room() {
        let h = header("<i4", false, &[]);
        assert_eq!(h.frame_count(), 1);
        let bytes = h.to_bytes().unwrap();
        let dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (), }";
        assert_eq!(&bytes[10..10 + dict.len()], dict.as_bytes());
        // 10 + 56 + 1 = 67 bytes unpadded, so 61 spaces then the newline.
        assert_eq!(bytes.len(), 128);
        assert!(bytes[10 + dict.len()..127].iter().all(|&b| b == b' '));
    }

    #[test]
    fn aligned_text_still_gets_64_spaces() {
        // Find a header whose unpadded length is a multiple of 64: numpy then pads 64 spaces.
        for n in 1..200 {
            let name = "a".repeat(n);
            let h = header(&format!("[('{name}', '<f4')]"), false, &[]);
            let text = h.dict_text();
            if (10 + text.len() + 1).is_multiple_of(64) {
                let bytes = h.to_bytes().unwrap();
                assert_eq!(bytes.len(), 10 + text.len() + 1 + 64);
                return;
            }
        }
        panic!("no aligned case found");
    }

    #[test]
    fn version_two_for_huge_headers_and_three_for_non_latin1() {
        let fields: Vec<String> = (0..5000).map(|i| format!("('f{i}', '<i4')")).collect();
        let h = header(&format!("[{}]", fields.join(", ")), false, &[2]);
        assert_eq!(h.version(), Version::V2);
        let bytes = h.to_bytes().unwrap();
        assert_eq!(&bytes[6..8], &[2, 0]);
        assert_eq!(bytes.len() % 64, 0);
        let opts = ReadOptions::default().max_header_size(1 << 20);
        let parsed = Header::read_from(&mut bytes.as_slice(), opts).unwrap();
        assert_eq!(parsed.header, h);
        assert!(matches!(
            Header::from_bytes(&bytes),
            Err(HeaderError::TooLarge { .. })
        ));

        let h = header("[('é', '<f4')]", false, &[2]);
        assert_eq!(h.version(), Version::V1);
        assert!(h.to_bytes().unwrap().contains(&0xe9));
        let h = header("[('ж', '<f4')]", false, &[2]);
        let bytes = h.to_bytes().unwrap();
        assert_eq!(&bytes[6..8], &[3, 0]);
        assert_eq!(Header::from_bytes(&bytes).unwrap().header, h);
    }

    #[test]
    fn in_place_rewrite_keeps_old_16_byte_alignment() {
        let h = header("<i4", false, &[3]);
        let bytes = h.to_bytes_in_place(Version::V1, 80).unwrap();
        assert_eq!(bytes.len(), 80);
        let parsed = Header::from_bytes(&bytes).unwrap();
        assert_eq!((parsed.header, parsed.data_offset), (h, 80));
    }

    #[test]
    fn in_place_rewrite_keeps_length() {
        let h = header("<f8", false, &[0, 3]);
        let original = h.to_bytes().unwrap();
        let grown = h
            .with_frame_count(123_456_789_012_345_678)
            .to_bytes_in_place(Version::V1, original.len())
            .unwrap();
        assert_eq!(grown.len(), original.len());
        assert_eq!(
            Header::from_bytes(&grown).unwrap().header.shape,
            vec![123_456_789_012_345_678, 3]
        );
    }

    #[test]
    fn lenient_reading() {
        let text = "{ 'shape' : (2L ,3,) ,'descr':'<i8','fortran_order' :True }";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(text.len() as u16).to_le_bytes());
        bytes.extend_from_slice(text.as_bytes());
        let parsed = Header::from_bytes(&bytes).unwrap();
        assert_eq!(parsed.header, header("<i8", true, &[2, 3]));
        assert_eq!(parsed.data_offset, 10 + text.len() as u64);
    }

    #[test]
    fn strides_and_frames() {
        let h = header("<i2", true, &[2, 3, 4]);
        assert_eq!(h.strides(), vec![2, 4, 12]);
        assert_eq!(h.frame_len(), Some(12));
        assert_eq!(h.frame_shape(), vec![2, 3]);
    }
}
