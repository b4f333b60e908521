//! Positional I/O that leaves the file cursor alone, so that one `&File` serves many readers,
//! and the one trait every reader of the crate reads through ([`ReadAt`]): a file, a file and
//! its map, or a [`ByteSource`] (object storage), possibly with bytes already fetched in front
//! of it ([`Src::Ahead`]).

use std::fs::File;
use std::io;

use npy_format::source::ByteSource;

pub(crate) use array_files_fs::pread::read_exact_at;

/// A source of positional reads: a file, a file with a map of it, or a byte source.
pub(crate) trait ReadAt {
    /// Fills `buf` from offset `offset`; an `UnexpectedEof` error if the source ends first.
    fn pread_exact(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;

    /// Fills a prefix of `buf` (at least one byte, when `buf` is not empty) from `offset`;
    /// returns its length. Sources with bytes at hand return those without a request.
    fn read_some(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.pread_exact(buf, offset).map(|()| buf.len())
    }
}

impl ReadAt for File {
    fn pread_exact(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        read_exact_at(self, buf, offset)
    }
}

/// Where an archive's bytes are read from.
#[derive(Clone, Copy)]
pub(crate) enum Src<'a> {
    /// A local file and, if one was made, a read-only map of it: reads inside the map are
    /// copies from memory, without a system call; anything else (past the map's end, say, if
    /// the file grew) is read from the file.
    File {
        file: &'a File,
        map: Option<&'a [u8]>,
    },
    /// A byte source (object storage): every read is one request.
    Source(&'a dyn ByteSource),
    /// `bytes`, already fetched from offset `start` of `inner`, served from memory; the rest
    /// is read from `inner`.
    Ahead {
        start: u64,
        bytes: &'a [u8],
        inner: &'a Src<'a>,
    },
}

impl Src<'_> {
    /// Whether reads are requests to a store, which pays for fewer, larger reads (a local
    /// file reads as it goes).
    pub(crate) fn is_remote(&self) -> bool {
        match self {
            Src::File { .. } => false,
            Src::Source(_) => true,
            Src::Ahead { inner, .. } => inner.is_remote(),
        }
    }
}

impl ReadAt for Src<'_> {
    fn pread_exact(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        match *self {
            Src::File { file, map } => {
                let mapped = map.and_then(|map| {
                    let start = usize::try_from(offset).ok()?;
                    map.get(start..start.checked_add(buf.len())?)
                });
                match mapped {
                    Some(bytes) => {
                        buf.copy_from_slice(bytes);
                        Ok(())
                    }
                    None => read_exact_at(file, buf, offset),
                }
            }
            Src::Source(source) => {
                if buf.is_empty() {
                    return Ok(());
                }
                let bytes = source.read_at(offset, buf.len())?;
                buf.copy_from_slice(&bytes);
                Ok(())
            }
            Src::Ahead {
                start,
                bytes,
                inner,
            } => {
                // The part of [offset, end) inside [start, start + len) is copied; what lies
                // before or after it is read from the inner source.
                let end = offset.saturating_add(buf.len() as u64);
                let ahead_end = start + bytes.len() as u64;
                let (a, b) = (offset.clamp(start, ahead_end), end.clamp(start, ahead_end));
                if a >= b {
                    return inner.pread_exact(buf, offset);
                }
                let (from, to) = ((a - offset) as usize, (b - offset) as usize);
                buf[from..to].copy_from_slice(&bytes[(a - start) as usize..(b - start) as usize]);
                if from > 0 {
                    inner.pread_exact(&mut buf[..from], offset)?;
                }
                if to < buf.len() {
                    inner.pread_exact(&mut buf[to..], b)?;
                }
                Ok(())
            }
        }
    }

    fn read_some(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if let Src::Ahead {
            start,
            bytes,
            inner,
        } = *self
        {
            let at = offset
                .checked_sub(start)
                .and_then(|at| usize::try_from(at).ok())
                .filter(|&at| at < bytes.len());
            let Some(at) = at else {
                return inner.read_some(buf, offset);
            };
            let n = buf.len().min(bytes.len() - at);
            buf[..n].copy_from_slice(&bytes[at..at + n]);
            return Ok(n);
        }
        self.pread_exact(buf, offset).map(|()| buf.len())
    }
}

pub(crate) use array_files_fs::pwrite::write_all_at;
