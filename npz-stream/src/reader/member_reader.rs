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
    Stored(StoredReader<'r>),
    Deflated(Box<Inflate<'r>>),
}

/// A stored member's bytes, read positionally; from a byte source, through a buffer of bytes
/// read ahead (the member's [`Head`] first), so that small reads are not one request each.
struct StoredReader<'r> {
    src: Src<'r>,
    crc: crc32fast::Hasher,
    /// Bytes at hand, from absolute offset `ahead_start`.
    ahead: Vec<u8>,
    ahead_start: u64,
    /// Whether to read ahead (whole reads from a byte source).
    read_ahead: bool,
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
    /// A reader of member `idx`, whose data starts at `data_start`: CRC-checked and inflated
    /// from the start when `check` (a whole read), else from offset 0 unchecked (a look at
    /// its header). `head`, if fetched, serves the first reads.
    pub(super) fn new(
        reader: &'r NpzReader,
        idx: usize,
        data_start: u64,
        check: bool,
        head: Option<Head>,
    ) -> MemberReader<'r> {
        let entry = reader.entry(idx);
        let kind = if entry.method == zip::METHOD_STORED {
            let (ahead_start, ahead) = head.map_or((0, Vec::new()), |h| (h.start, h.bytes));
            let src = reader.source();
            ReaderKind::Stored(StoredReader {
                src,
                crc: crc32fast::Hasher::new(),
                ahead,
                ahead_start,
                read_ahead: check && src.is_remote(),
            })
        } else {
            let src = reader.input();
            let (csize, size) = (entry.compressed_size, entry.size);
            let mut inflate = if check {
                let mut inflate = Inflate::from_start(src, data_start, csize, size, entry.crc32);
                // A whole read needs every compressed byte.
                inflate.fetch_to(Some(data_start + csize));
                inflate
            } else {
                Inflate::at_point(src, data_start, csize, size, 0, 0)
            };
            if let Some(head) = head {
                inflate.prime(head.start, head.bytes);
            }
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
            ReaderKind::Stored(stored) => {
                let want = (self.size - self.pos).min(buf.len() as u64) as usize;
                let n = stored
                    .read(
                        &mut buf[..want],
                        self.data_start + self.pos,
                        self.data_start + self.size,
                    )
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
                    stored.crc.update(&buf[..n]);
                }
                self.pos += n as u64;
                if self.check && self.pos == self.size && n > 0 {
                    reader.check_crc(entry, stored.crc.clone().finalize())?;
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

impl StoredReader<'_> {
    /// Reads a prefix of `buf` (all of it, unless bytes at hand end first) at absolute offset
    /// `at`; `end` is where the member ends.
    fn read(&mut self, buf: &mut [u8], at: u64, end: u64) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(n) = self.copy_ahead(buf, at) {
            return Ok(n);
        }
        if self.read_ahead && buf.len() < REMOTE_INPUT_MAX {
            let len = (end - at).min(REMOTE_INPUT_MAX as u64) as usize;
            self.ahead.resize(len, 0);
            self.src.pread_exact(&mut self.ahead, at)?;
            self.ahead_start = at;
            return Ok(self.copy_ahead(buf, at).unwrap_or(0));
        }
        self.src.pread_exact(buf, at)?;
        Ok(buf.len())
    }

    /// Copies what the bytes at hand hold from `at` on, if they hold `at`.
    fn copy_ahead(&self, buf: &mut [u8], at: u64) -> Option<usize> {
        let from = usize::try_from(at.checked_sub(self.ahead_start)?).ok()?;
        let held = self.ahead.get(from..).filter(|held| !held.is_empty())?;
        let n = held.len().min(buf.len());
        buf[..n].copy_from_slice(&held[..n]);
        Some(n)
    }
}

impl Read for MemberReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_inner(buf).map_err(io::Error::other)
    }
}
