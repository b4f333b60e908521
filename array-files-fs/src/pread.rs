//! Positional reads that leave the file cursor alone, so one `&File` serves many readers at
//! once (threads reading different members, frames or entries of one file).

use std::fs::File;
use std::io;

/// Fills `buf` from `file` at `offset`; an [`io::ErrorKind::UnexpectedEof`] error if the file
/// ends first.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("f");
/// std::fs::write(&path, b"hello").unwrap();
/// let file = std::fs::File::open(&path).unwrap();
/// let mut buf = [0u8; 3];
/// array_files_fs::pread::read_exact_at(&file, &mut buf, 1).unwrap();
/// assert_eq!(&buf, b"ell");
/// assert!(array_files_fs::pread::read_exact_at(&file, &mut buf, 4).is_err());
/// ```
#[cfg(unix)]
pub fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// Fills `buf` from `file` at `offset`; an [`io::ErrorKind::UnexpectedEof`] error if the file
/// ends first.
#[cfg(windows)]
pub fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "failed to fill whole buffer",
                ));
            }
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
