//! File-system helpers: the pack's lock file, unique temporaries, regular-file opens. The lock
//! itself, process checks and escaping come from the shared `array-files-fs`.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use array_files_fs::LockMode;
pub(crate) use array_files_fs::atomic::process_alive;
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
    use array_files_fs::lock as shared_lock;
    if !shared {
        return shared_lock::lock(file, mode).map_err(|e| match e {
            shared_lock::LockFail::Locked => LockFail::Busy,
            shared_lock::LockFail::Io(e) => LockFail::Io(e),
        });
    }
    // A shared lock (readers waiting for a save): the shared crate has the exclusive one only.
    let busy = |e: std::fs::TryLockError| match e {
        std::fs::TryLockError::WouldBlock => LockFail::Busy,
        std::fs::TryLockError::Error(e) => LockFail::Io(e),
    };
    match mode {
        LockMode::Off => Ok(()),
        LockMode::Wait => file.lock_shared().map_err(LockFail::Io),
        LockMode::FailFast => file.try_lock_shared().map_err(busy),
        LockMode::Timeout(limit) => {
            let start = Instant::now();
            loop {
                match file.try_lock_shared().map_err(busy) {
                    Err(LockFail::Busy) if start.elapsed() < limit => {
                        let left = limit.saturating_sub(start.elapsed());
                        std::thread::sleep(Duration::from_millis(5).min(left));
                    }
                    other => return other,
                }
            }
        }
    }
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

/// What [`open_regular`] found instead of a regular file.
#[derive(Debug)]
pub(crate) enum OpenFail {
    /// I/O (not found, permissions...).
    Io(io::Error),
    /// Not a regular file (a FIFO, a device, a socket, a directory): what it is.
    NotRegular(&'static str),
}

pub(crate) fn kind_of(meta: &Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Opens `path` read-only if it is a regular file, without blocking on a FIFO or a device: the
/// open does not wait (`O_NONBLOCK`), and the type checked is the opened file's.
pub(crate) fn open_regular(path: &Path) -> Result<File, OpenFail> {
    open_regular_with(path, false)
}

/// As [`open_regular`], for reading and writing.
pub(crate) fn open_regular_rw(path: &Path) -> Result<File, OpenFail> {
    open_regular_with(path, true)
}

fn open_regular_with(path: &Path, write: bool) -> Result<File, OpenFail> {
    let mut options = OpenOptions::new();
    options.read(true).write(write);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(OpenFail::Io)?;
    let meta = file.metadata().map_err(OpenFail::Io)?;
    if !meta.is_file() {
        return Err(OpenFail::NotRegular(kind_of(&meta)));
    }
    Ok(file)
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

/// Syncs a directory (its entries: renames into it, files created in it).
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}
