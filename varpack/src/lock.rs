//! The pack's lock: the file `.P.varpack-lock` beside the pack `P`. Every save (and an append,
//! and a load that finishes an interrupted save) holds it exclusively; a load that keeps finding
//! the pack replaced while it reads holds it shared. The file is created on first use and kept:
//! removing it could let two savers lock two different files. Taking the lock is
//! array-files-fs's; the name and when to take it are varpack's.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

pub use array_files_fs::LockMode;
use array_files_fs::lock::{self, LockFail};

use crate::error::{LoadError, LoadErrorKind, SaveError, SaveErrorKind};

/// The name of the pack at `path` in the names of its lock file and temporaries (`pack` for a
/// path without one).
pub(crate) fn pack_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "pack".into(), |n| n.to_string_lossy().into_owned())
}

/// The lock file of the pack at `path`.
pub(crate) fn lock_path(path: &Path) -> PathBuf {
    path.with_file_name(format!(".{}.varpack-lock", pack_name(path)))
}

/// Takes the exclusive lock of the pack at `path`, creating the lock file (and nothing else).
/// The lock is released when the returned file is dropped. `None` for [`LockMode::Off`].
pub(crate) fn lock_exclusive(path: &Path, mode: LockMode) -> Result<Option<File>, LockFail> {
    if mode == LockMode::Off {
        return Ok(None);
    }
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    let file = nonblocking(&mut options).open(lock_path(path))?;
    lock::lock(&file, mode)?;
    Ok(Some(file))
}

/// Takes a shared lock of the pack at `path` if its lock file exists (opening it read-only: a
/// reader writes nothing). `None` if there is no lock file or the mode is Off.
pub(crate) fn lock_shared(path: &Path, mode: LockMode) -> Result<Option<File>, LockFail> {
    if mode == LockMode::Off {
        return Ok(None);
    }
    let file = match nonblocking(OpenOptions::new().read(true)).open(lock_path(path)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        // No permission to read the lock file: read without it (the identity checks still
        // catch a pack replaced during the load).
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return Ok(None),
        Err(e) => return Err(LockFail::Io(e)),
    };
    lock::lock_shared(&file, mode)?;
    Ok(Some(file))
}

/// Opens never wait (a FIFO planted as the lock file); locking still waits as asked.
fn nonblocking(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(options, libc::O_NONBLOCK);
    options
}

/// A lock a load of the pack at `path` did not get, as a [`LoadError`].
pub(crate) fn load_error(path: &Path, e: LockFail) -> LoadError {
    match e {
        LockFail::Locked => {
            let lock = lock_path(path);
            LoadError::new(path, LoadErrorKind::Locked { lock })
        }
        LockFail::Io(source) => LoadError::new(lock_path(path), LoadErrorKind::Io { source }),
    }
}

/// A lock a save to `path` did not get, as a [`SaveError`].
pub(crate) fn save_error(path: &Path, e: LockFail) -> SaveError {
    match e {
        LockFail::Locked => {
            let lock = lock_path(path);
            SaveError::new(path, SaveErrorKind::Locked { lock })
        }
        LockFail::Io(source) => SaveError::new(lock_path(path), SaveErrorKind::Io { source }),
    }
}
