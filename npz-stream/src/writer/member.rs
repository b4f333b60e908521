//! [`MemberWriter`]: one member streamed frame by frame, stored or deflated in chunks.

use super::*;

pub(super) enum Body {
    Stored {
        buf: Vec<u8>,
        crc: crc32fast::Hasher,
    },
    Deflate {
        stream: DeflateStream,
        fill: Vec<u8>,
        chunk: usize,
    },
}

/// Buffer size of stored members.
pub(super) const STORED_BUF: usize = 1 << 20;

/// A member being written: a [`FrameSink`] for streamed members.
///
/// Frames go through bounded buffers (one chunk, plus the chunks in flight when compressing), so
/// a member of any size is written in bounded memory. [`finish`](FrameSink::finish) rewrites the
/// NPY header with the final frame count and patches the local header's CRC and sizes. A member
/// dropped unfinished is removed from the archive.
///
/// The member becomes visible to readers when the archive is finished; `flush` and `sync` push
/// the appended frames to the file (and to stable storage) so a finished archive needs no more
/// than the central directory.
///
/// ```
/// use npy_format::{DType, FrameSink, Header};
/// # let dir = tempfile::tempdir().unwrap();
/// let mut npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
/// let header = Header::new(DType::parse("<i4").unwrap(), true, vec![3, 0]); // Fortran: grows along the last axis
/// let mut sink = npz.begin_member("cols", &header).unwrap();
/// sink.append(&[1i32, 2, 3]).unwrap();
/// sink.append(&[4i32, 5, 6]).unwrap();
/// assert_eq!(sink.header().shape, vec![3, 2]);
/// sink.finish().unwrap();
/// npz.finish().unwrap();
/// ```
pub struct MemberWriter<'w> {
    pub(super) w: &'w mut NpzWriter,
    pub(super) key: String,
    pub(super) name: String,
    pub(super) flags: u16,
    pub(super) method: u16,
    pub(super) start: u64,
    pub(super) local_len: u64,
    pub(super) data_start: u64,
    pub(super) header: Header,
    pub(super) header_bytes: Vec<u8>,
    /// For streamed members, the NPY version the header is rewritten in.
    pub(super) version: Option<Version>,
    pub(super) expected: Option<u64>,
    pub(super) frame_len: u64,
    pub(super) body: Body,
    pub(super) written: u64,
    pub(super) frames: u64,
    pub(super) done: bool,
}

impl std::fmt::Debug for MemberWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberWriter")
            .field("name", &self.name)
            .field("header", &self.header)
            .field("written", &self.written)
            .finish()
    }
}

impl MemberWriter<'_> {
    /// The member's key.
    ///
    /// ```
    /// use npy_format::{DType, Header};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
    /// let sink = npz.begin_member("k", &Header::new(DType::parse("|u1").unwrap(), false, vec![0])).unwrap();
    /// assert_eq!(sink.key(), "k");
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    pub(super) fn io_err(&self, source: io::Error) -> WriteError {
        WriteError::new(self.w.path.clone(), WriteErrorKind::Io { source })
    }

    pub(super) fn frame_err(&self, source: FrameError) -> WriteError {
        WriteError::new(
            self.w.path.clone(),
            WriteErrorKind::Frames {
                key: self.key.clone(),
                source,
            },
        )
    }

    /// Appends raw data bytes (whole frames are the caller's concern).
    pub(super) fn write_data(&mut self, mut data: &[u8]) -> Result<(), WriteError> {
        let len = data.len() as u64;
        let w = &mut *self.w;
        let result = match &mut self.body {
            Body::Stored { buf, crc } => {
                crc.update(data);
                if buf.len() + data.len() <= STORED_BUF {
                    if buf.capacity() == 0 {
                        buf.reserve(STORED_BUF);
                    }
                    buf.extend_from_slice(data);
                    Ok(())
                } else {
                    write_all_at(&w.file, buf, w.end)
                        .map(|()| {
                            w.end += buf.len() as u64;
                            buf.clear();
                        })
                        .and_then(|()| {
                            if data.len() >= STORED_BUF {
                                write_all_at(&w.file, data, w.end).map(|()| w.end += len)
                            } else {
                                buf.extend_from_slice(data);
                                Ok(())
                            }
                        })
                }
            }
            Body::Deflate {
                stream,
                fill,
                chunk,
            } => {
                let mut result = Ok(());
                while !data.is_empty() {
                    if fill.capacity() == 0 {
                        *fill = stream
                            .spare
                            .pop()
                            .unwrap_or_else(|| Vec::with_capacity(*chunk));
                    }
                    let take = (*chunk - fill.len()).min(data.len());
                    fill.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if fill.len() == *chunk {
                        let full = std::mem::take(fill);
                        let (file, end) = (&w.file, &mut w.end);
                        let pool = w.pool.as_ref().expect("deflate members start the pool");
                        let mut write =
                            |b: &[u8]| write_all_at(file, b, *end).map(|()| *end += b.len() as u64);
                        result = stream.submit(pool, full, false, &mut write);
                        if result.is_err() {
                            break;
                        }
                    }
                }
                result
            }
        };
        result.map_err(|e| self.io_err(e))?;
        self.written += len;
        Ok(())
    }

    /// Writes buffered data to the file (for deflate: compresses the partial chunk).
    pub(super) fn flush_body(&mut self, last: bool) -> Result<(), WriteError> {
        let w = &mut *self.w;
        let result = match &mut self.body {
            Body::Stored { buf, .. } => write_all_at(&w.file, buf, w.end).map(|()| {
                w.end += buf.len() as u64;
                buf.clear();
            }),
            Body::Deflate { stream, fill, .. } => {
                let (file, end) = (&w.file, &mut w.end);
                let pool = w.pool.as_ref().expect("deflate members start the pool");
                let mut write =
                    |b: &[u8]| write_all_at(file, b, *end).map(|()| *end += b.len() as u64);
                let mut result = Ok(());
                if !fill.is_empty() || last {
                    result = stream.submit(pool, std::mem::take(fill), last, &mut write);
                }
                result.and_then(|()| stream.drain(pool, &mut write))
            }
        };
        result.map_err(|e| self.io_err(e))
    }

    /// Finishes the member: final header, CRC, sizes, index, directory entry.
    pub(super) fn complete(mut self) -> Result<Header, WriteError> {
        let final_header = match self.version {
            Some(_) if self.header.growth_axis().is_some() => {
                self.header.with_frame_count(self.frames)
            }
            _ => self.header.clone(),
        };
        let expected = match self.expected {
            Some(n) => n,
            None => final_header.data_len().unwrap_or(u64::MAX),
        };
        if self.written != expected {
            return Err(WriteError::new(
                self.w.path.clone(),
                WriteErrorKind::Incomplete {
                    key: self.key.clone(),
                    expected,
                    written: self.written,
                },
            ));
        }
        let header_bytes = match self.version {
            Some(version) => final_header
                .to_bytes_in_place(version, self.header_bytes.len())
                .map_err(|source| {
                    WriteError::new(
                        self.w.path.clone(),
                        WriteErrorKind::Npy {
                            key: self.key.clone(),
                            source,
                        },
                    )
                })?,
            None => self.header_bytes.clone(),
        };
        self.flush_body(true)?;
        let header_len = header_bytes.len() as u64;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&header_bytes);
        let (size, compressed, header_region, data_crc) = match &self.body {
            Body::Stored { crc, .. } => (
                header_len + self.written,
                header_len + self.written,
                header_bytes.clone(),
                crc.clone(),
            ),
            Body::Deflate { stream, .. } => {
                let region = stored_blocks(&header_bytes);
                debug_assert_eq!(region.len(), stored_blocks_len(header_bytes.len()));
                let compressed = region.len() as u64 + stream.written_out;
                (
                    header_len + stream.written_in,
                    compressed,
                    region,
                    stream.crc.clone(),
                )
            }
        };
        crc.combine(&data_crc);
        let crc32 = crc.finalize();
        let mut extra = Vec::new();
        if let Body::Deflate { stream, .. } = &self.body
            && self.w.options.index
        {
            let prefix = header_region.len() as u64;
            let points: Vec<(u64, u64)> = stream
                .points
                .iter()
                .map(|&(u, c)| (header_len + u, prefix + c))
                .collect();
            if !points.is_empty() {
                extra = SeekIndex { points }.to_extra_field(crc32, compressed);
            }
        }
        // Header region, then the local header's CRC and zip64 sizes.
        let file = &self.w.file;
        let mut sizes = [0u8; 16];
        sizes[..8].copy_from_slice(&size.to_le_bytes());
        sizes[8..].copy_from_slice(&compressed.to_le_bytes());
        let zip64_values_at = self.start + zip::LOCAL_LEN + self.name.len() as u64 + 4;
        write_all_at(file, &header_region, self.data_start)
            .and_then(|()| write_all_at(file, &crc32.to_le_bytes(), self.start + zip::LOCAL_CRC_AT))
            .and_then(|()| write_all_at(file, &sizes, zip64_values_at))
            .map_err(|e| self.io_err(e))?;
        debug_assert_eq!(self.w.end, self.data_start + compressed);
        debug_assert!(self.local_len > 0);
        self.w.entries.push(NewEntry {
            name: self.name.as_bytes().to_vec(),
            flags: self.flags,
            method: self.method,
            crc32,
            compressed_size: compressed,
            size,
            local_offset: self.start,
            extra,
        });
        self.w.names.insert(self.name.clone());
        self.done = true;
        Ok(final_header)
    }
}

impl Drop for MemberWriter<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let (Body::Deflate { stream, .. }, Some(pool)) = (&mut self.body, &self.w.pool) {
            stream.discard(pool);
        }
        let _ = self.w.file.set_len(self.start);
        self.w.end = self.start;
    }
}

impl FrameSink for MemberWriter<'_> {
    type Error = WriteError;

    fn header(&self) -> &Header {
        &self.header
    }

    fn frame_error(&self, error: FrameError) -> WriteError {
        self.frame_err(error)
    }

    fn append_frames_unchecked(&mut self, bytes: &[u8], frames: u64) -> Result<(), WriteError> {
        self.write_data(bytes)?;
        self.frames += frames;
        if self.version.is_some() && self.header.growth_axis().is_some() {
            self.header = self.header.with_frame_count(self.frames);
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        self.flush_body(false)
    }

    fn sync(&mut self) -> Result<(), WriteError> {
        self.flush_body(false)?;
        self.w.file.sync_data().map_err(|e| self.io_err(e))
    }

    fn finish(self) -> Result<Header, WriteError> {
        self.complete()
    }

    fn append<T: Element>(&mut self, data: &[T]) -> Result<u64, WriteError> {
        let dtype = &self.header.dtype;
        if !T::accepts(dtype) || !dtype.is_native() {
            return Err(self.frame_err(FrameError::DType {
                expected: dtype.descr(),
                given: T::dtype().descr(),
            }));
        }
        let bytes = as_bytes(data);
        let len = bytes.len() as u64;
        let frames = match self.frame_len {
            0 if len == 0 => 0,
            0 => u64::MAX,
            n if len.is_multiple_of(n) => len / n,
            _ => u64::MAX,
        };
        if frames == u64::MAX {
            return Err(self.frame_err(FrameError::PartialFrame {
                len,
                frame_len: self.frame_len,
            }));
        }
        self.append_frames(bytes, frames)?;
        Ok(frames)
    }
}
