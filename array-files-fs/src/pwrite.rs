//! Positional writes that leave the file cursor alone: one buffer, or several written in one
//! system call where the platform has one (`pwritev`), so that bytes from two places (a
//! writer's buffer and the caller's frames) reach the file without being copied together.

use std::fs::File;
use std::io;

/// Writes all of `buf` to `file` at `offset`.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("f");
/// let file = std::fs::File::create(&path).unwrap();
/// array_files_fs::pwrite::write_all_at(&file, b"hello", 2).unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"\0\0hello");
/// ```
#[cfg(unix)]
pub fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

/// Writes all of `buf` to `file` at `offset`.
#[cfg(windows)]
pub fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
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

/// Writes `bufs`, one after another, to `file` from `offset`: in one `pwritev` call on Linux
/// (more only if the kernel writes less at once), one write per buffer elsewhere.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("f");
/// let file = std::fs::File::create(&path).unwrap();
/// array_files_fs::pwrite::write_all_vectored_at(&file, &[b"head", b"", b"tail"], 1).unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"\0headtail");
/// ```
#[cfg(target_os = "linux")]
pub fn write_all_vectored_at(file: &File, bufs: &[&[u8]], mut offset: u64) -> io::Result<()> {
    use io::IoSlice;
    let mut slices: Vec<IoSlice<'_>> = bufs
        .iter()
        .filter(|b| !b.is_empty())
        .map(|b| IoSlice::new(b))
        .collect();
    let mut slices = &mut slices[..];
    while !slices.is_empty() {
        match rustix::io::pwritev(file, slices, offset) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => {
                IoSlice::advance_slices(&mut slices, n);
                offset += n as u64;
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Writes `bufs`, one after another, to `file` from `offset`: in one `pwritev` call on Linux
/// (more only if the kernel writes less at once), one write per buffer elsewhere.
#[cfg(not(target_os = "linux"))]
pub fn write_all_vectored_at(file: &File, bufs: &[&[u8]], mut offset: u64) -> io::Result<()> {
    for buf in bufs {
        write_all_at(file, buf, offset)?;
        offset += buf.len() as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectored_writes_land_in_order_even_when_large() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = File::create(&path).unwrap();
        let a = vec![1u8; 3 << 20];
        let b = vec![2u8; 5];
        let c = vec![3u8; 70_000];
        write_all_vectored_at(&file, &[&a, &[], &b, &c], 10).unwrap();
        write_all_vectored_at(&file, &[], 0).unwrap();
        let got = std::fs::read(&path).unwrap();
        assert_eq!(got.len(), 10 + a.len() + b.len() + c.len());
        assert_eq!(got[..10], [0; 10]);
        assert_eq!(got[10..], [a, b, c].concat());
    }
}
