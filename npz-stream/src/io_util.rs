//! Positional I/O that leaves the file cursor alone, so that one `&File` serves many readers.

use std::fs::File;
use std::io;

pub(crate) use array_files_fs::pread::read_exact_at;

/// A source of positional reads: a file, or a file with a map of it.
pub(crate) trait ReadAt {
    /// Fills `buf` from offset `offset`; an `UnexpectedEof` error if the source ends first.
    fn pread_exact(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

impl ReadAt for File {
    fn pread_exact(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        read_exact_at(self, buf, offset)
    }
}

/// A file and, if one was made, a read-only map of it: reads inside the map are copies from
/// memory, without a system call; anything else (past the map's end, say, if the file grew)
/// is read from the file.
pub(crate) struct MappedFile<'a> {
    pub file: &'a File,
    pub map: Option<&'a [u8]>,
}

impl ReadAt for MappedFile<'_> {
    fn pread_exact(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let mapped = self.map.and_then(|map| {
            let start = usize::try_from(offset).ok()?;
            map.get(start..start.checked_add(buf.len())?)
        });
        match mapped {
            Some(bytes) => {
                buf.copy_from_slice(bytes);
                Ok(())
            }
            None => read_exact_at(self.file, buf, offset),
        }
    }
}

/// Writes all of `buf` to `file` at `offset`.
#[cfg(unix)]
pub(crate) fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

/// Writes all of `buf` to `file` at `offset`.
#[cfg(windows)]
pub(crate) fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_write(buf, offset) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
