//! [`Member`]: one member as a [`FrameSource`], reading frames at random (stored members
//! directly, deflated ones from the nearest flush point or access point).

use super::*;

/// A member of an [`NpzReader`] as a [`FrameSource`].
///
/// Reads of frames `[a, b)` cost time proportional to `b - a` for stored members and members
/// with a seek index or a zran index, built in memory or stored by [`index`](crate::index)
/// (plus at most one chunk or span of inflation), and keep their inflater
/// between calls, so a scan in increasing order inflates each byte once. A read of every frame
/// checks the member's CRC-32.
///
/// ```
/// use npy_format::FrameSource;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
/// # npz.add_array("x", &[1u16, 2, 3, 4], &[4]).unwrap();
/// # npz.finish().unwrap();
/// let reader = npz_stream::NpzReader::open(&path).unwrap();
/// let mut x = reader.member("x").unwrap();
/// assert_eq!(x.header().shape, vec![4]);
/// assert_eq!(x.read_frames(1, 3).unwrap(), vec![2, 0, 3, 0]);
/// assert!(x.read_frames(3, 5).is_err());
/// ```
pub struct Member<'r> {
    pub(super) reader: &'r NpzReader,
    pub(super) idx: usize,
    pub(super) meta: &'r Meta,
    pub(super) cursor: Option<Inflate<'r>>,
}

impl std::fmt::Debug for Member<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("name", &self.name())
            .field("header", &self.meta.header)
            .finish()
    }
}

impl<'r> Member<'r> {
    /// The member's name in the archive.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// # npz.add_array("x", &[1u8], &[1]).unwrap();
    /// # npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// assert_eq!(reader.member("x").unwrap().name(), "x.npy");
    /// ```
    pub fn name(&self) -> &str {
        &self.reader.entry(self.idx).name
    }

    pub(super) fn err_frames(&self, source: FrameRangeError) -> ReadError {
        ReadError::new(
            self.reader.path.clone(),
            ReadErrorKind::Frames {
                member: self.name().to_owned(),
                source,
            },
        )
    }

    /// Reads `buf.len()` bytes at member offset `off`, CRC-checking when `full`.
    pub(super) fn read_at(
        &mut self,
        off: u64,
        buf: &mut [u8],
        full: bool,
    ) -> Result<(), ReadError> {
        let reader = self.reader;
        let entry = reader.entry(self.idx);
        let meta = self.meta;
        let io = |source| {
            ReadError::new(
                reader.path.clone(),
                ReadErrorKind::Io {
                    member: entry.name.clone(),
                    source,
                },
            )
        };
        if entry.method == zip::METHOD_STORED {
            let source = reader.source();
            source.pread_exact(buf, meta.data_start + off).map_err(io)?;
            if full {
                let mut crc = crc32fast::Hasher::new();
                let mut head = vec![0u8; off as usize];
                source.pread_exact(&mut head, meta.data_start).map_err(io)?;
                crc.update(&head);
                crc.update(buf);
                let mut at = off + buf.len() as u64;
                let mut tail = vec![0u8; (entry.size - at).min(1 << 20) as usize];
                while at < entry.size {
                    let n = (entry.size - at).min(tail.len() as u64) as usize;
                    source
                        .pread_exact(&mut tail[..n], meta.data_start + at)
                        .map_err(io)?;
                    crc.update(&tail[..n]);
                    at += n as u64;
                }
                reader.check_crc(entry, crc.finalize())?;
            }
            return Ok(());
        }
        let (base, csize, size) = (meta.data_start, entry.compressed_size, entry.size);
        let src = reader.input();
        if full {
            let mut inflate = Inflate::from_start(src, base, csize, size, entry.crc32);
            inflate.fetch_to(Some(base + csize));
            let result = inflate
                .skip(off)
                .and_then(|()| inflate.read_exact(buf))
                .and_then(|()| inflate.skip(size - inflate.out));
            return result.map_err(|e| reader.inflate_err(self.idx, e));
        }
        let stored = reader.stored_index(self.idx).is_some();
        if off > 0
            && reader.options.index_foreign
            && meta.index.is_none()
            && !stored
            && reader.zran[self.idx].get().is_none()
        {
            reader.build_index_at(self.idx, None)?;
        }
        // The best starting point: the latest of the cursor, the index points, the start.
        let mut best: (u64, Start<'_>) = (0, Start::Beginning);
        if let Some(index) = &meta.index {
            let i = index.points.partition_point(|&(u, _)| u <= off);
            if i > 0 {
                let (u, c) = index.points[i - 1];
                // Every chunk but the first follows a full flush, checked when the chunk is read.
                best = (
                    u,
                    Start::Flush {
                        input: c,
                        check: i > 1,
                    },
                );
            }
        }
        if let Some(zran) = reader.zran[self.idx].get() {
            let i = zran.points.partition_point(|p| p.out <= off);
            if i > 0 && zran.points[i - 1].out > best.0 {
                best = (zran.points[i - 1].out, Start::Access(&zran.points[i - 1]));
            }
        }
        if stored {
            // A stored point is worth its window's read only if the cursor is not closer.
            let cursor = self.cursor.as_ref().map(|c| c.out).filter(|&c| c <= off);
            let after = best.0.max(cursor.unwrap_or(0));
            if let Some(point) = reader.stored_point(self.idx, off, after) {
                best = (point.out, Start::Stored(point));
            }
        }
        let reuse = self
            .cursor
            .as_ref()
            .is_some_and(|c| c.out <= off && c.out >= best.0);
        let bound = self.input_bound(off + buf.len() as u64).map(|c| base + c);
        let cursor = match self.cursor.take() {
            Some(cursor) if reuse => cursor,
            old => self.start_at(best, bound, old, off)?,
        };
        let cursor = self.cursor.insert(cursor);
        cursor.fetch_to(bound);
        let result = cursor
            .skip(off - cursor.out)
            .and_then(|()| cursor.read_exact(buf));
        if result.is_err() {
            self.cursor = None;
        }
        result.map_err(|e| reader.inflate_err(self.idx, e))
    }

    /// An inflater starting at `start` (at member offset `out`), reading its first input up to
    /// `bound`. A seek point that does not follow a full flush (`00 00 ff ff`, fetched with the
    /// first input) is corrupt: the read then starts from `old` (the previous cursor, if it
    /// lies before `off`) or from the beginning, which is still right.
    fn start_at(
        &self,
        (out, start): (u64, Start<'r>),
        bound: Option<u64>,
        old: Option<Inflate<'r>>,
        off: u64,
    ) -> Result<Inflate<'r>, ReadError> {
        let reader = self.reader;
        let entry = reader.entry(self.idx);
        let (base, csize, size) = (self.meta.data_start, entry.compressed_size, entry.size);
        let src = reader.input();
        let mut inflate = match start {
            Start::Beginning => Inflate::from_start(src, base, csize, size, entry.crc32),
            Start::Flush { input, .. } => Inflate::at_point(src, base, csize, size, out, input),
            Start::Access(point) => Inflate::at_access_point(src, base, csize, size, point, true),
            Start::Stored(ref point) => {
                Inflate::at_access_point(src, base, csize, size, point, false)
            }
        };
        inflate.fetch_to(bound);
        if let Start::Flush { check: true, .. } = start {
            inflate.set_lead(4);
            inflate
                .fill()
                .map_err(|e| reader.inflate_err(self.idx, e))?;
            if inflate.lead() != [0, 0, 0xff, 0xff] {
                return Ok(match old.filter(|c| c.out <= off) {
                    Some(cursor) => cursor,
                    None => {
                        let mut inflate = Inflate::from_start(src, base, csize, size, entry.crc32);
                        inflate.fetch_to(bound);
                        inflate
                    }
                });
            }
        }
        Ok(inflate)
    }

    /// Where the compressed bytes that produce the member's bytes up to `end` end (relative to
    /// its data), as far as its points tell: the first seek, zran or stored point at or past
    /// `end`, or the end of the data if none is; `None` for a member without points. A read
    /// from object storage fetches up to there at once.
    fn input_bound(&self, end: u64) -> Option<u64> {
        let reader = self.reader;
        let csize = reader.entry(self.idx).compressed_size;
        let mut found = false;
        let mut bound = csize;
        let mut take = |input: Option<u64>| {
            found = true;
            if let Some(input) = input {
                bound = bound.min(input);
            }
        };
        if let Some(index) = &self.meta.index {
            let i = index.points.partition_point(|&(u, _)| u < end);
            take(index.points.get(i).map(|&(_, c)| c));
        }
        // An access point's bit offset lies in the byte before its `input`; a little more
        // than that costs nothing and spares a decoder that looks ahead a second request.
        const SLACK: u64 = 64;
        if let Some(zran) = reader.zran[self.idx].get() {
            let i = zran.points.partition_point(|p| p.out < end);
            take(zran.points.get(i).map(|p| p.input.saturating_add(SLACK)));
        }
        if let Some(Some(stored)) = reader.stored[self.idx].get() {
            take(
                stored
                    .point_input_after(end)
                    .map(|i| i.saturating_add(SLACK)),
            );
        }
        found.then_some(bound)
    }
}

enum Start<'a> {
    Beginning,
    /// A seek point: its compressed offset, and whether a full flush must precede it (every
    /// chunk's but the first).
    Flush {
        input: u64,
        check: bool,
    },
    Access(&'a AccessPoint),
    /// A point of a stored index, its window read for this read.
    Stored(AccessPoint),
}

impl FrameSource for Member<'_> {
    type Error = ReadError;

    fn header(&self) -> &Header {
        &self.meta.header
    }

    fn check_readable(&self) -> Result<(), ReadError> {
        if self.meta.header.dtype.has_object() {
            return Err(ReadError::new(
                self.reader.path.clone(),
                ReadErrorKind::View {
                    member: self.name().to_owned(),
                    source: ViewError::Object,
                },
            ));
        }
        Ok(())
    }

    fn range_error(&self, error: FrameRangeError) -> ReadError {
        self.err_frames(error)
    }

    fn read_frames_unchecked(
        &mut self,
        start: u64,
        frames: u64,
        buf: &mut [u8],
    ) -> Result<(), ReadError> {
        let count = self.frame_count();
        let off = self.meta.header_len + start * self.frame_len();
        let full = start == 0 && frames == count && count > 0;
        self.read_at(off, buf, full)
    }
}
