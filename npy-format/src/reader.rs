//! `.npy` files read through a [`ByteSource`]: the header in one request (two when it is longer
//! than [`HEAD_BYTES`]), then each frame range in one request. For object storage (`s3://...`,
//! feature `remote`) and anything else that is not a local map.

use std::path::PathBuf;

use crate::error::FrameRangeError;
use crate::error::{ReadError, ReadErrorKind};
use crate::frames::FrameSource;
use crate::header::{Header, ParsedHeader, ReadOptions};
use crate::header::{MAGIC, Version};
use crate::source::ByteSource;

/// Bytes the open asks for first: every header of the default size limit fits, with the start
/// of the data (a small array is then read by the same request).
pub const HEAD_BYTES: usize = 16 << 10;

/// A `.npy` file read by ranges.
///
/// ```
/// use npy_format::{FrameSource, NpyReader};
/// use npy_format::source::{CountingSource, MemorySource};
/// let mut bytes = Vec::new();
/// npy_format::write_array(&mut bytes, &[1u16, 2, 3, 4, 5, 6], &[3, 2], false).unwrap();
/// let source = CountingSource::new(MemorySource::new(bytes, "mem.npy"));
/// let mut npy = NpyReader::open(&source).unwrap(); // one request
/// assert_eq!(npy.header().shape, vec![3, 2]);
/// assert_eq!(npy.read_frames(1, 3).unwrap(), npy_format::as_bytes(&[3u16, 4, 5, 6]));
/// assert_eq!(source.requests(), 2);
/// ```
#[derive(Debug)]
pub struct NpyReader<S> {
    source: S,
    parsed: ParsedHeader,
    len: u64,
}

impl<S: crate::source::ByteSource> NpyReader<S> {
    /// Reads the header of the `.npy` at `source` (one request; two for a header longer than
    /// [`HEAD_BYTES`]).
    ///
    /// # Errors
    /// [`ReadError`] naming the location: the source's error, a bad header, data shorter than
    /// the header says.
    ///
    /// ```
    /// use npy_format::NpyReader;
    /// use npy_format::source::MemorySource;
    /// assert!(NpyReader::open(MemorySource::new(b"not npy".to_vec(), "m")).is_err());
    /// ```
    pub fn open(source: S) -> Result<NpyReader<S>, ReadError> {
        NpyReader::open_with(source, ReadOptions::default())
    }

    /// [`open`](Self::open) with explicit header limits.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    ///
    /// ```
    /// use npy_format::{NpyReader, ReadOptions};
    /// use npy_format::source::MemorySource;
    /// let mut bytes = Vec::new();
    /// npy_format::write_array(&mut bytes, &[1u8], &[1], false).unwrap();
    /// let opts = ReadOptions { max_header_size: 1000 };
    /// assert!(NpyReader::open_with(MemorySource::new(bytes, "m"), opts).is_ok());
    /// ```
    pub fn open_with(source: S, options: ReadOptions) -> Result<NpyReader<S>, ReadError> {
        let path = PathBuf::from(source.location());
        let io = |e| ReadError::new(path.clone(), ReadErrorKind::Io { source: e });
        let (mut head, len) = source.read_head(HEAD_BYTES).map_err(io)?;
        // A header longer than the first request: the rest of it in one more.
        if let Some(total) = header_len(&head).filter(|&t| t > head.len() as u64 && t <= len)
            && total
                <= (options.max_header_size as u64)
                    .saturating_mul(4)
                    .saturating_add(64)
        {
            let rest = source
                .read_at(head.len() as u64, (total - head.len() as u64) as usize)
                .map_err(io)?;
            head.extend_from_slice(&rest);
        }
        let parsed = Header::read_from(&mut head.as_slice(), options).map_err(|source| {
            let kind = match source {
                crate::error::HeaderError::Io(e) => ReadErrorKind::Io { source: e },
                source => ReadErrorKind::Header { source },
            };
            ReadError::new(path.clone(), kind)
        })?;
        let expected = parsed.header.data_len().unwrap_or(u64::MAX);
        let available = len.saturating_sub(parsed.data_offset);
        if available < expected && !parsed.header.dtype.has_object() {
            return Err(ReadError::new(
                path,
                ReadErrorKind::Truncated {
                    data_offset: parsed.data_offset,
                    expected,
                    available,
                },
            ));
        }
        Ok(NpyReader {
            source,
            parsed,
            len,
        })
    }

    /// The header as parsed (version, data offset).
    ///
    /// ```
    /// # use npy_format::{NpyReader, source::MemorySource};
    /// # let mut bytes = Vec::new();
    /// # npy_format::write_array(&mut bytes, &[1u8], &[1], false).unwrap();
    /// let npy = NpyReader::open(MemorySource::new(bytes, "m")).unwrap();
    /// assert_eq!(npy.parsed().data_offset, 128);
    /// ```
    pub fn parsed(&self) -> &ParsedHeader {
        &self.parsed
    }

    /// The object's length in bytes.
    ///
    /// ```
    /// # use npy_format::{NpyReader, source::MemorySource};
    /// # let mut bytes = Vec::new();
    /// # npy_format::write_array(&mut bytes, &[1u8, 2], &[2], false).unwrap();
    /// let npy = NpyReader::open(MemorySource::new(bytes, "m")).unwrap();
    /// assert_eq!(npy.len(), 130);
    /// ```
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the object is empty (never, for an object that opened).
    ///
    /// ```
    /// # use npy_format::{NpyReader, source::MemorySource};
    /// # let mut bytes = Vec::new();
    /// # npy_format::write_array(&mut bytes, &[1u8], &[1], false).unwrap();
    /// assert!(!NpyReader::open(MemorySource::new(bytes, "m")).unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The source read.
    ///
    /// ```
    /// # use npy_format::{NpyReader, source::{ByteSource, MemorySource}};
    /// # let mut bytes = Vec::new();
    /// # npy_format::write_array(&mut bytes, &[1u8], &[1], false).unwrap();
    /// let npy = NpyReader::open(MemorySource::new(bytes, "m")).unwrap();
    /// assert_eq!(npy.source().location(), "m");
    /// ```
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The whole data, in one request.
    ///
    /// # Errors
    /// [`ReadError`]: the source's error; object arrays are refused.
    ///
    /// ```
    /// # use npy_format::{NpyReader, source::MemorySource};
    /// let mut bytes = Vec::new();
    /// npy_format::write_array(&mut bytes, &[7u8, 8], &[2], false).unwrap();
    /// let npy = NpyReader::open(MemorySource::new(bytes, "m")).unwrap();
    /// assert_eq!(npy.read_data().unwrap(), vec![7, 8]);
    /// ```
    pub fn read_data(&self) -> Result<Vec<u8>, ReadError> {
        self.check_readable()?;
        let len = self.parsed.header.data_len().unwrap_or(0);
        self.read_bytes(self.parsed.data_offset, len)
    }

    fn read_bytes(&self, offset: u64, len: u64) -> Result<Vec<u8>, ReadError> {
        let path = || PathBuf::from(self.source.location());
        let len = usize::try_from(len).map_err(|_| {
            let source = std::io::Error::other("the range does not fit in memory");
            ReadError::new(path(), ReadErrorKind::Io { source })
        })?;
        (self.source.read_at(offset, len))
            .map_err(|source| ReadError::new(path(), ReadErrorKind::Io { source }))
    }
}

/// The whole header's length (magic, version, length field, text) from its first bytes, if
/// they say.
fn header_len(head: &[u8]) -> Option<u64> {
    if head.len() < 8 || &head[..6] != MAGIC {
        return None;
    }
    let version = Version::from_numbers(head[6], head[7])?;
    let field = version.length_field_size();
    let bytes = head.get(8..8 + field)?;
    let text = match field {
        2 => u64::from(u16::from_le_bytes([bytes[0], bytes[1]])),
        _ => u64::from(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
    };
    Some(8 + field as u64 + text)
}

impl<S: ByteSource> FrameSource for NpyReader<S> {
    type Error = ReadError;

    fn header(&self) -> &Header {
        &self.parsed.header
    }

    fn check_readable(&self) -> Result<(), ReadError> {
        if self.parsed.header.dtype.has_object() {
            let source = crate::error::ViewError::Object;
            return Err(ReadError::new(
                PathBuf::from(self.source.location()),
                ReadErrorKind::View { source },
            ));
        }
        Ok(())
    }

    fn range_error(&self, source: FrameRangeError) -> ReadError {
        ReadError::new(
            PathBuf::from(self.source.location()),
            ReadErrorKind::Frames { source },
        )
    }

    fn read_frames_unchecked(
        &mut self,
        start: u64,
        frames: u64,
        buf: &mut [u8],
    ) -> Result<(), ReadError> {
        let frame_len = self.frame_len();
        let offset = self.parsed.data_offset + start * frame_len;
        let bytes = self.read_bytes(offset, frames * frame_len)?;
        buf.copy_from_slice(&bytes);
        Ok(())
    }
}
