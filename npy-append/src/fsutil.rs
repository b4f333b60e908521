//! File-system plumbing shared by the appender and recovery: locks, and replacing a file
//! atomically through a temporary file beside it.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

pub(crate) use array_files_fs::atomic::sync_parent;
use array_files_fs::atomic::{Persist, TempFile};
pub(crate) use array_files_fs::lock::{LockFail, lock, open_locked, try_lock};

use crate::options::LockMode;

/// Why a new file could not be created.
#[derive(Debug)]
pub(crate) enum CreateFail {
    /// A file exists at the path and overwriting is off.
    Exists,
    /// The existing file (to overwrite) is locked.
    Locked,
    /// An I/O error.
    Io(io::Error),
}

impl From<io::Error> for CreateFail {
    fn from(e: io::Error) -> Self {
        CreateFail::Io(e)
    }
}

impl From<LockFail> for CreateFail {
    fn from(e: LockFail) -> Self {
        match e {
            LockFail::Locked => CreateFail::Locked,
            LockFail::Io(e) => CreateFail::Io(e),
        }
    }
}

/// Creates `path` holding exactly `header`, locked, so that the file appears at the path
/// already complete (a writer killed here leaves either no file or a loadable one): written as
/// a temporary file, then linked (or, when overwriting, renamed) into place. Overwriting waits
/// for (or fails on) the lock of the file it replaces.
///
/// A new file is not synced here: its durability comes with the appender's first `sync`
/// (which then also syncs the directory), so creating costs no fsync. Returns the file and
/// whether it is already durable. A file that replaces another is synced before the rename,
/// so that a power loss cannot trade the old contents for an empty file.
pub(crate) fn create_file(
    path: &Path,
    header: &[u8],
    mode: LockMode,
    overwrite: bool,
) -> Result<(File, bool), CreateFail> {
    let mut tmp = TempFile::beside(path)?;
    tmp.file_mut().write_all(header)?;
    lock(tmp.file(), mode)?;
    if overwrite {
        // Hold the lock of the file being replaced, so no appender is writing to it.
        let _old = match open_locked(path, false, mode) {
            Ok(old) => Some(old),
            Err(LockFail::Io(e)) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        // Synced before the rename, so that a power loss cannot trade the old contents for an
        // empty file; the replaced file's mode and owner are kept.
        return Ok((tmp.persist(path, Persist::Replace)?, true));
    }
    tmp.set_sync(false);
    match tmp.persist(path, Persist::NoClobber) {
        Ok(file) => Ok((file, false)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(CreateFail::Exists),
        Err(e) => Err(e.into()),
    }
}

/// Replaces the file at `path` by `header` followed by `copy_len` bytes of `src` from
/// `src_offset` and `zeros` zero bytes: written to a temporary file beside it, synced, locked,
/// then renamed over `path`. Returns the new file, locked (unless `mode` is off). The caller
/// holds `src`'s lock; readers that mapped the old file keep their (unchanged) map.
pub(crate) fn replace_file(
    path: &Path,
    src: &File,
    header: &[u8],
    src_offset: u64,
    copy_len: u64,
    zeros: u64,
    mode: LockMode,
) -> io::Result<File> {
    let mut tmp = TempFile::beside(path)?;
    tmp.file_mut().write_all(header)?;
    let mut reader = src;
    reader.seek(SeekFrom::Start(src_offset))?;
    let copied = io::copy(&mut reader.take(copy_len), tmp.file_mut())?;
    if copied != copy_len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("the file ended after {copied} of {copy_len} data bytes while copying"),
        ));
    }
    // The zeros by extending the file: constant time, no disk space, whatever their number.
    let len = (header.len() as u64 + copy_len)
        .checked_add(zeros)
        .ok_or_else(too_large)?;
    tmp.file().set_len(len)?;
    if mode != LockMode::Off {
        match try_lock(tmp.file()) {
            Ok(()) => {}
            Err(LockFail::Io(e)) => return Err(e),
            Err(LockFail::Locked) => {
                return Err(io::Error::other("a fresh temporary file was locked"));
            }
        }
    }
    // Synced, then renamed over `path` keeping its mode and owner, then the directory synced.
    tmp.persist(path, Persist::Replace)
}

/// The error for a file that would pass 2^64 bytes.
pub(crate) fn too_large() -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        "the file would be longer than 2^64 bytes",
    )
}

/// Reads the NPY header at the start of `file` (whatever its cursor position).
pub(crate) fn read_header(
    mut file: &File,
    options: npy_format::ReadOptions,
) -> Result<npy_format::ParsedHeader, npy_format::HeaderError> {
    file.seek(SeekFrom::Start(0))?;
    npy_format::Header::read_from(&mut io::BufReader::with_capacity(4096, file), options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_never_clobbers_and_leaves_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.npy");
        let (file, durable) = create_file(&path, b"header", LockMode::FailFast, false).unwrap();
        assert!(!durable, "a new file waits for the appender's first sync");
        assert_eq!(std::fs::read(&path).unwrap(), b"header");
        assert!(matches!(
            create_file(&path, b"other", LockMode::FailFast, false),
            Err(CreateFail::Exists)
        ));
        assert!(matches!(
            create_file(&path, b"other", LockMode::FailFast, true),
            Err(CreateFail::Locked)
        ));
        drop(file);
        let (_, durable) = create_file(&path, b"other", LockMode::FailFast, true).unwrap();
        assert!(
            durable,
            "a replacement is synced before it takes the old file's place"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"other");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn replace_copies_and_zero_fills() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r");
        std::fs::write(&path, b"HHdata").unwrap();
        let src = open_locked(&path, true, LockMode::FailFast).unwrap();
        let new = replace_file(&path, &src, b"HEADER", 2, 4, 3, LockMode::FailFast).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"HEADERdata\0\0\0");
        // The replacement is locked; the path names it.
        assert!(matches!(
            open_locked(&path, true, LockMode::FailFast),
            Err(LockFail::Locked)
        ));
        drop(new);
        assert!(replace_file(&path, &src, b"H", 2, 100, 0, LockMode::Off).is_err());
    }
}
