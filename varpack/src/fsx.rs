//! File-system helpers: the pack's lock file, unique temporaries, regular-file opens. The lock
//! itself, process checks and escaping come from the shared `array-files-fs`.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

pub use array_files_fs::LockMode;
pub(crate) use array_files_fs::atomic::process_alive;
use array_files_fs::lock;
pub(crate) use array_files_fs::text::escape_control;

/// `.NAME.varpack-TAG` beside `path`.
pub(crate) fn sibling(path: &Path, tag: &str) -> PathBuf {
    path.with_file_name(format!(".{}.varpack-{tag}", file_name(path)))
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "pack".into(), |n| n.to_string_lossy().into_owned())
}

/// The lock file of the pack at `path`.
pub(crate) fn lock_path(path: &Path) -> PathBuf {
    sibling(path, "lock")
}

/// Why a lock was not taken.
#[derive(Debug)]
pub(crate) enum LockFail {
    /// Another holder, and the mode said not to wait (longer).
    Busy,
    /// The lock file could not be created or locked.
    Io(io::Error),
}

fn take(file: &File, shared: bool, mode: LockMode) -> Result<(), LockFail> {
    let taken = if shared {
        lock::lock_shared(file, mode)
    } else {
        lock::lock(file, mode)
    };
    taken.map_err(|e| match e {
        lock::LockFail::Locked => LockFail::Busy,
        lock::LockFail::Io(e) => LockFail::Io(e),
    })
}

/// Takes the exclusive lock of the pack at `path`, creating the lock file (and nothing else).
/// The lock is released when the returned file is dropped. `None` for [`LockMode::Off`].
pub(crate) fn lock_exclusive(path: &Path, mode: LockMode) -> Result<Option<File>, LockFail> {
    if mode == LockMode::Off {
        return Ok(None);
    }
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    let file = nonblocking(&mut options)
        .open(lock_path(path))
        .map_err(LockFail::Io)?;
    take(&file, false, mode)?;
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
    take(&file, true, mode)?;
    Ok(Some(file))
}

/// Opens never wait (a FIFO planted as the lock file); locking still waits as asked.
fn nonblocking(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(options, libc::O_NONBLOCK);
    options
}

/// A unique `PID-N` for this process's temporaries.
pub(crate) fn temp_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The process id in a temporary's `PID-N`.
pub(crate) fn temp_owner(id: &str) -> Option<u32> {
    let (pid, n) = id.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// What [`open_regular`] found instead of a regular file: I/O, or what the path is instead.
pub(crate) use array_files_fs::regular::OpenRegularError as OpenFail;
pub(crate) use array_files_fs::regular::kind_of;

/// Opens `path` read-only if it is a regular file, without blocking on a FIFO or a device.
pub(crate) fn open_regular(path: &Path) -> Result<File, OpenFail> {
    array_files_fs::regular::open_regular(path, false)
}

/// As [`open_regular`], for reading and writing.
pub(crate) fn open_regular_rw(path: &Path) -> Result<File, OpenFail> {
    array_files_fs::regular::open_regular(path, true)
}

/// Reads the whole regular file at `path` (see [`open_regular`]).
pub(crate) fn read_regular(path: &Path) -> Result<Vec<u8>, OpenFail> {
    use std::io::Read;
    let mut file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(OpenFail::Io)?;
    Ok(bytes)
}

/// The device and inode of a file (identity: a file replaced by rename has another).
pub(crate) fn identity(meta: &Metadata) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        (0, 0)
    }
}

pub(crate) use array_files_fs::atomic::sync_dir;
