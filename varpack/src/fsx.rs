//! File-system helpers: the pack's lock, unique temporaries, regular-file opens, modes.
//!
//! The lock mode, the lock and `process_alive` are meant to come from the workspace's shared
//! `array-files-fs` crate; until it is in this tree they live here, with its vocabulary.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What a save (or a load that must finish an interrupted save) does when another process or
/// thread holds the pack's lock (npy-append's vocabulary).
///
/// Every save of a pack takes an exclusive lock on a lock file beside it (`.P.varpack-lock` for
/// a pack `P`), so two saves to one pack, from two processes or two threads, run one after the
/// other and never mix. The lock file is created on first use and kept (deleting it would let a
/// later saver lock a new file while an earlier one still holds the old).
///
/// ```
/// use std::time::Duration;
/// use varpack::{LockMode, Varpack};
/// let mut vp = Varpack::new();
/// assert_eq!(vp.lock_mode(), LockMode::Wait); // saves wait for each other by default
/// vp.set_lock_mode(LockMode::Timeout(Duration::from_secs(10)));
/// assert_eq!(LockMode::default(), LockMode::Wait);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockMode {
    /// Fail at once with [`SaveError::Locked`](crate::SaveError::Locked) (or
    /// [`LoadError::Locked`](crate::LoadError::Locked)).
    FailFast,
    /// Block until the lock is free (the default: a save of a whole set is short, and two
    /// saves of one pack are meant to happen one after the other).
    #[default]
    Wait,
    /// Retry for up to this long, then fail as [`FailFast`](Self::FailFast) does.
    Timeout(Duration),
    /// Take no lock (file systems without locks; the caller ensures there is one writer).
    Off,
}

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
    let try_once = || {
        if shared {
            file.try_lock_shared()
        } else {
            file.try_lock()
        }
    };
    let busy = |e: std::fs::TryLockError| match e {
        std::fs::TryLockError::WouldBlock => LockFail::Busy,
        std::fs::TryLockError::Error(e) => LockFail::Io(e),
    };
    match mode {
        LockMode::Off => Ok(()),
        LockMode::Wait => if shared {
            file.lock_shared()
        } else {
            file.lock()
        }
        .map_err(LockFail::Io),
        LockMode::FailFast => try_once().map_err(busy),
        LockMode::Timeout(limit) => {
            let start = Instant::now();
            let mut pause = Duration::from_millis(1);
            loop {
                match try_once().map_err(busy) {
                    Err(LockFail::Busy) if start.elapsed() < limit => {
                        std::thread::sleep(pause.min(limit.saturating_sub(start.elapsed())));
                        pause = (pause * 2).min(Duration::from_millis(50));
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
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
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
    let file = match File::open(lock_path(path)) {
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

/// Whether process `pid` exists (on Unix; elsewhere assumed alive).
pub(crate) fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        if pid <= 0 {
            return false;
        }
        // SAFETY: kill with signal 0 sends nothing; it only checks that the process exists.
        let rc = unsafe { libc::kill(pid, 0) };
        rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
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

/// Gives `to` the permission bits (and, where permitted, the owner and group) of `from`.
pub(crate) fn copy_mode_and_owner(from: &Metadata, to: &Path) -> io::Result<()> {
    std::fs::set_permissions(to, from.permissions())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // Only root (or the owner, for the group) may change these: not permitted is not an
        // error, as with cp -p.
        let _ = std::os::unix::fs::chown(to, Some(from.uid()), Some(from.gid()));
        let _ = std::os::unix::fs::chown(to, None, Some(from.gid()));
        // A chown may clear set-id bits: set the mode again.
        std::fs::set_permissions(to, from.permissions())?;
    }
    Ok(())
}

/// `text` with control characters escaped (`\n`, `\u{1b}`...), for messages.
pub(crate) fn escape_control(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
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
