//! Whole members: as frame sources, as `io::Read` streams, as bytes, as typed arrays, and
//! their CRC-32 checks.

use super::*;

impl NpzReader {
    /// Member `key` as a [`FrameSource`]: random access to its frames. Stored members are
    /// read positionally; deflated members from the nearest seek-index or zran point, or from
    /// where the previous read stopped, or from the start.
    ///
    /// # Errors
    /// As [`info`](Self::info).
    ///
    /// ```
    /// use npy_format::FrameSource;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::options().compression(npz_stream::Compression::deflate()).chunk_size(4096).create(&path).unwrap();
    /// let data: Vec<i16> = (0..40_000).map(|i| (i % 300) as i16).collect();
    /// npz.add_array("adc", &data, &[1000, 40]).unwrap();
    /// npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// let mut adc = reader.member("adc").unwrap();
    /// let mut frame = vec![0u8; 80];
    /// adc.read_frames_into(999, &mut frame).unwrap();
    /// assert_eq!(i16::from_le_bytes([frame[78], frame[79]]), data[39_999]);
    /// ```
    pub fn member(&self, key: &str) -> Result<Member<'_>, ReadError> {
        let idx = self.index_of(key)?;
        let meta = self.meta(idx)?;
        Ok(Member {
            reader: self,
            idx,
            meta,
            cursor: None,
        })
    }

    /// A reader of member `key`'s raw bytes (the whole `.npy`), CRC-checked when it reaches
    /// the end.
    ///
    /// # Errors
    /// As [`info`](Self::info) for locating the member; read errors come as `io::Error`s
    /// wrapping a [`ReadError`].
    ///
    /// ```
    /// use std::io::Read;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// # npz.add_array("x", &[1u8, 2], &[2]).unwrap();
    /// # npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// let mut bytes = Vec::new();
    /// reader.open_member("x").unwrap().read_to_end(&mut bytes).unwrap();
    /// assert_eq!(&bytes[..6], b"\x93NUMPY");
    /// assert_eq!(&bytes[128..], &[1, 2]);
    /// ```
    pub fn open_member(&self, key: &str) -> Result<MemberReader<'_>, ReadError> {
        let idx = self.index_of(key)?;
        // A member whose metadata is known was located already.
        if let Some(meta) = self.meta[idx].get() {
            return Ok(MemberReader::new(self, idx, meta.data_start, true, None));
        }
        let head = self.fetch_head(idx, true)?;
        let data_start = self.locate_in(idx, head.as_ref())?;
        Ok(MemberReader::new(self, idx, data_start, true, head))
    }

    /// Member `key`'s raw bytes (the whole `.npy`), CRC-checked. Memory grows with the bytes
    /// inflated, never with the declared size alone.
    ///
    /// # Errors
    /// As [`open_member`](Self::open_member), with read errors as [`ReadError`]s.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// # npz.add_array("x", &[1u8, 2], &[2]).unwrap();
    /// # npz.finish().unwrap();
    /// let bytes = npz_stream::NpzReader::open(&path).unwrap().read_bytes("x").unwrap();
    /// assert_eq!(bytes.len(), 130);
    /// ```
    pub fn read_bytes(&self, key: &str) -> Result<Vec<u8>, ReadError> {
        let mut reader = self.open_member(key)?;
        // A stored member's size is bytes in the file; a deflated member's is only a claim (up
        // to 1032 times its compressed size): reserve what its compressed bytes hold at a
        // typical ratio, and let the rest grow with the bytes inflated.
        let compressed = self.entry(reader.idx).compressed_size;
        let reserve = reader.size.min(compressed.saturating_mul(4)).min(64 << 20);
        let mut out = Vec::with_capacity(reserve as usize);
        let name = reader.name().to_owned();
        reader
            .read_to_end(&mut out)
            .map_err(|e| unwrap_io(&name, &self.path, e))?;
        Ok(out)
    }

    /// Reads and CRC-checks the whole member (what `zipfile.testzip` does for one member).
    ///
    /// # Errors
    /// As [`read_bytes`](Self::read_bytes).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// # npz.add_array("x", &[1u8, 2], &[2]).unwrap();
    /// # npz.finish().unwrap();
    /// npz_stream::NpzReader::open(&path).unwrap().verify("x").unwrap();
    /// ```
    pub fn verify(&self, key: &str) -> Result<(), ReadError> {
        let mut reader = self.open_member(key)?;
        let name = reader.name().to_owned();
        drain(&mut reader).map_err(|e| unwrap_io(&name, &self.path, e))?;
        Ok(())
    }

    /// Member `key` read into memory as `T` (byte-swapped to native order if needed), CRC-checked.
    ///
    /// # Errors
    /// As [`read_bytes`](Self::read_bytes); [`ReadErrorKind::View`] for a dtype other than `T`.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::options().compression(npz_stream::Compression::deflate()).create(&path).unwrap();
    /// npz.add_array("x", &[1.5f32, 2.5], &[2]).unwrap();
    /// npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// assert_eq!(reader.read_array::<f32>("x").unwrap().data, vec![1.5, 2.5]);
    /// assert!(reader.read_array::<f64>("x").is_err());
    /// ```
    pub fn read_array<T: Element>(&self, key: &str) -> Result<OwnedArray<T>, ReadError> {
        let mut reader = self.open_member(key)?;
        let name = reader.name().to_owned();
        let array =
            npy_format::read_array_with::<T, _>(&mut reader, self.read_options()).map_err(|e| {
                match e.into_kind() {
                    npy_format::ReadErrorKind::Io { source } => {
                        unwrap_io(&name, &self.path, source)
                    }
                    npy_format::ReadErrorKind::Header { source } => match source {
                        npy_format::HeaderError::Io(e) => unwrap_io(&name, &self.path, e),
                        source => ReadError::new(
                            self.path.clone(),
                            ReadErrorKind::Header {
                                member: name.clone(),
                                source,
                            },
                        ),
                    },
                    npy_format::ReadErrorKind::Truncated {
                        expected,
                        available,
                        ..
                    } => ReadError::new(
                        self.path.clone(),
                        ReadErrorKind::Truncated {
                            member: name.clone(),
                            expected,
                            available,
                        },
                    ),
                    npy_format::ReadErrorKind::View { source } => ReadError::new(
                        self.path.clone(),
                        ReadErrorKind::View {
                            member: name.clone(),
                            source,
                        },
                    ),
                    npy_format::ReadErrorKind::Frames { source } => ReadError::new(
                        self.path.clone(),
                        ReadErrorKind::Frames {
                            member: name.clone(),
                            source,
                        },
                    ),
                    other => ReadError::new(
                        self.path.clone(),
                        ReadErrorKind::Io {
                            member: name.clone(),
                            source: io::Error::other(other),
                        },
                    ),
                }
            })?;
        drain(&mut reader).map_err(|e| unwrap_io(&name, &self.path, e))?;
        Ok(array)
    }
}

/// Reads `reader` to its end, discarding the bytes, through a 256 KiB buffer: inflating into
/// large buffers saves most of zlib's copies of its output into its window and its per-call
/// costs (`io::copy`'s 8 KiB buffer made a whole read 20% slower).
fn drain(reader: &mut MemberReader<'_>) -> io::Result<u64> {
    let mut buf = vec![0u8; 256 << 10];
    let mut total = 0;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
