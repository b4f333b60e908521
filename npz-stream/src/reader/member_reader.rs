//! [`MemberReader`]: a member's bytes as an [`io::Read`], CRC-checked at the end.

use super::*;

/// Member bytes as an [`io::Read`]: the whole `.npy`, CRC-checked at the end.
/// Errors are `io::Error`s wrapping a [`ReadError`] (`get_ref()` + `downcast_ref`).
///
/// ```
/// use std::io::Read;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// # let mut npz = npz_stream::NpzWriter::options().compression(npz_stream::Compression::deflate()).create(&path).unwrap();
/// # npz.add_array("x", &[5u8; 1000], &[1000]).unwrap();
/// # npz.finish().unwrap();
/// let reader = npz_stream::NpzReader::open(&path).unwrap();
/// let mut member = reader.open_member("x").unwrap();
/// assert_eq!(member.size(), 1128);
/// let mut out = std::fs::File::create(dir.path().join("x.npy")).unwrap();
/// assert_eq!(std::io::copy(&mut member, &mut out).unwrap(), 1128);
/// ```
pub struct MemberReader<'r> {
    reader: &'r NpzReader,
    pub(super) idx: usize,
    data_start: u64,
    pub(super) size: u64,
    pos: u64,
    check: bool,
    kind: ReaderKind<'r>,
}

enum ReaderKind<'r> {
    Stored(crc32fast::Hasher),
    Deflated(Box<Inflate<'r>>),
}

impl std::fmt::Debug for MemberReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberReader")
            .field("name", &self.name())
            .field("size", &self.size)
            .field("pos", &self.pos)
            .finish()
    }
}

impl<'r> MemberReader<'r> {
    pub(super) fn new(
        reader: &'r NpzReader,
        idx: usize,
        data_start: u64,
        check: bool,
    ) -> MemberReader<'r> {
        let entry = reader.entry(idx);
        let kind = if entry.method == zip::METHOD_STORED {
            ReaderKind::Stored(crc32fast::Hasher::new())
        } else {
            let inflate = if check {
                Inflate::from_start(
                    &reader.file,
                    data_start,
                    entry.compressed_size,
                    entry.size,
                    entry.crc32,
                )
            } else {
                Inflate::at_point(
                    &reader.file,
                    data_start,
                    entry.compressed_size,
                    entry.size,
                    0,
                    0,
                )
            };
            ReaderKind::Deflated(Box::new(inflate))
        };
        MemberReader {
            reader,
            idx,
            data_start,
            size: entry.size,
            pos: 0,
            check,
            kind,
        }
    }

    /// The member's name in the archive.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// # npz.add_array("x", &[1u8], &[1]).unwrap();
    /// # npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// assert_eq!(reader.open_member("x").unwrap().name(), "x.npy");
    /// ```
    pub fn name(&self) -> &str {
        &self.reader.entry(self.idx).name
    }

    /// The member's uncompressed size, as declared in the directory.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// # npz.add_array("x", &[1u8], &[1]).unwrap();
    /// # npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// assert_eq!(reader.open_member("x").unwrap().size(), 129);
    /// ```
    pub fn size(&self) -> u64 {
        self.size
    }

    pub(super) fn read_inner(&mut self, buf: &mut [u8]) -> Result<usize, ReadError> {
        let reader = self.reader;
        let entry = reader.entry(self.idx);
        match &mut self.kind {
            ReaderKind::Stored(crc) => {
                let n = (self.size - self.pos).min(buf.len() as u64) as usize;
                reader
                    .source()
                    .pread_exact(&mut buf[..n], self.data_start + self.pos)
                    .map_err(|source| {
                        ReadError::new(
                            reader.path.clone(),
                            ReadErrorKind::Io {
                                member: entry.name.clone(),
                                source,
                            },
                        )
                    })?;
                if self.check {
                    crc.update(&buf[..n]);
                }
                self.pos += n as u64;
                if self.check && self.pos == self.size && n > 0 {
                    reader.check_crc(entry, crc.clone().finalize())?;
                }
                Ok(n)
            }
            ReaderKind::Deflated(inflate) => {
                let n = inflate
                    .read(buf)
                    .map_err(|e| reader.inflate_err(self.idx, e))?;
                self.pos += n as u64;
                Ok(n)
            }
        }
    }
}

impl Read for MemberReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_inner(buf).map_err(io::Error::other)
    }
}
