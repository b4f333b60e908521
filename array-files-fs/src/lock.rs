//! The exclusive cross-process advisory lock that every writer of the workspace takes on the
//! file it changes (`flock` on Unix, `LockFileEx` on Windows, through `std::fs::File::lock`).
//!
//! Readers take no lock. A lock belongs to an open file description, so two writers in one
//! process exclude each other too.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

/// What to do when another writer holds the lock of a file.
///
/// ```
/// use std::time::Duration;
/// use array_files_fs::lock::{open_locked, LockFail, LockMode};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npy");
/// # std::fs::write(&path, b"").unwrap();
/// let first = open_locked(&path, true, LockMode::Wait).unwrap();
/// let patient = open_locked(&path, true, LockMode::Timeout(Duration::from_millis(10)));
/// assert!(matches!(patient, Err(LockFail::Locked)));
/// drop(first);
/// assert!(open_locked(&path, true, LockMode::FailFast).is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockMode {
    /// Fail at once when the file is locked (the default).
    #[default]
    FailFast,
    /// Block until the lock is free.
    Wait,
    /// Retry for up to this long, then fail.
    Timeout(Duration),
    /// Take no lock (for file systems without locks; the caller ensures there is one writer).
    Off,
}

/// Why a file could not be opened and locked.
#[derive(Debug)]
pub enum LockFail {
    /// Another open file description holds the lock.
    Locked,
    /// Opening, locking or checking the file failed.
    Io(io::Error),
}

impl From<io::Error> for LockFail {
    fn from(e: io::Error) -> Self {
        LockFail::Io(e)
    }
}

impl std::fmt::Display for LockFail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockFail::Locked => f.write_str("locked by another writer"),
            LockFail::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for LockFail {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LockFail::Locked => None,
            LockFail::Io(e) => Some(e),
        }
    }
}

/// How often [`LockMode::Timeout`] retries.
const LOCK_POLL: Duration = Duration::from_millis(5);

/// Takes the exclusive lock on `file` as `mode` says.
///
/// ```
/// use array_files_fs::lock::{lock, LockFail, LockMode};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("f");
/// let a = std::fs::File::create(&path).unwrap();
/// let b = std::fs::File::open(&path).unwrap();
/// lock(&a, LockMode::FailFast).unwrap();
/// assert!(matches!(lock(&b, LockMode::FailFast), Err(LockFail::Locked)));
/// assert!(lock(&b, LockMode::Off).is_ok());
/// ```
pub fn lock(file: &File, mode: LockMode) -> Result<(), LockFail> {
    take(file, mode, false)
}

fn take(file: &File, mode: LockMode, shared: bool) -> Result<(), LockFail> {
    let try_once = || {
        let attempt = if shared {
            file.try_lock_shared()
        } else {
            file.try_lock()
        };
        match attempt {
            Ok(()) => Ok(()),
            Err(fs::TryLockError::WouldBlock) => Err(LockFail::Locked),
            Err(fs::TryLockError::Error(e)) => Err(LockFail::Io(e)),
        }
    };
    match mode {
        LockMode::Off => Ok(()),
        LockMode::Wait if shared => Ok(file.lock_shared()?),
        LockMode::Wait => Ok(file.lock()?),
        LockMode::FailFast => try_once(),
        LockMode::Timeout(limit) => {
            let deadline = Instant::now() + limit;
            loop {
                match try_once() {
                    Err(LockFail::Locked) if Instant::now() < deadline => {
                        std::thread::sleep(LOCK_POLL.min(deadline - Instant::now()));
                    }
                    other => return other,
                }
            }
        }
    }
}

/// Takes a shared lock on `file` as `mode` says: many holders at once, none while a writer
/// holds the exclusive lock (for readers that must not see a writer's half-done work).
///
/// ```
/// use array_files_fs::lock::{lock, lock_shared, LockFail, LockMode};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("f");
/// let a = std::fs::File::create(&path).unwrap();
/// let b = std::fs::File::open(&path).unwrap();
/// let writer = std::fs::File::open(&path).unwrap();
/// lock_shared(&a, LockMode::FailFast).unwrap();
/// lock_shared(&b, LockMode::FailFast).unwrap();
/// assert!(matches!(lock(&writer, LockMode::FailFast), Err(LockFail::Locked)));
/// ```
pub fn lock_shared(file: &File, mode: LockMode) -> Result<(), LockFail> {
    take(file, mode, true)
}

/// Takes the exclusive lock on `file` if it is free, else [`LockFail::Locked`].
///
/// ```
/// use array_files_fs::lock::{try_lock, LockFail};
/// let file = tempfile::tempfile().unwrap();
/// try_lock(&file).unwrap();
/// ```
pub fn try_lock(file: &File) -> Result<(), LockFail> {
    take(file, LockMode::FailFast, false)
}

/// Opens `path` (read-write if `write`) and locks it. If the file at `path` was replaced while
/// this waited for the lock (a writer renamed a new file over it), the replacement is opened
/// instead: the lock is always on the file the path names when this returns.
///
/// ```
/// use array_files_fs::lock::{open_locked, LockFail, LockMode};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("f");
/// std::fs::write(&path, b"x").unwrap();
/// let held = open_locked(&path, true, LockMode::FailFast).unwrap();
/// assert!(matches!(open_locked(&path, false, LockMode::FailFast), Err(LockFail::Locked)));
/// # drop(held);
/// ```
pub fn open_locked(path: &Path, write: bool, mode: LockMode) -> Result<File, LockFail> {
    const ATTEMPTS: usize = 16;
    for _ in 0..ATTEMPTS {
        let file = OpenOptions::new().read(true).write(write).open(path)?;
        lock(&file, mode)?;
        if mode == LockMode::Off || names_file(path, &file)? {
            return Ok(file);
        }
    }
    Err(LockFail::Io(io::Error::other(
        "the file kept being replaced while waiting for its lock",
    )))
}

/// Whether `path` still names the open `file` (same device and inode; always true where the
/// platform cannot tell).
///
/// ```
/// use array_files_fs::lock::names_file;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("f");
/// let file = std::fs::File::create(&path).unwrap();
/// assert!(names_file(&path, &file).unwrap());
/// std::fs::remove_file(&path).unwrap();
/// # #[cfg(unix)]
/// assert!(!names_file(&path, &file).unwrap());
/// ```
pub fn names_file(path: &Path, file: &File) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let open = file.metadata()?;
        match fs::metadata(path) {
            Ok(named) => Ok(open.dev() == named.dev() && open.ino() == named.ino()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (path, file);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_fails_fast_and_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        let first = open_locked(&path, true, LockMode::FailFast).unwrap();
        assert!(matches!(
            open_locked(&path, true, LockMode::FailFast),
            Err(LockFail::Locked)
        ));
        let start = Instant::now();
        assert!(matches!(
            open_locked(&path, true, LockMode::Timeout(Duration::from_millis(30))),
            Err(LockFail::Locked)
        ));
        assert!(start.elapsed() >= Duration::from_millis(30));
        assert!(open_locked(&path, true, LockMode::Off).is_ok());
        drop(first);
        assert!(open_locked(&path, true, LockMode::FailFast).is_ok());
    }

    #[test]
    fn the_lock_follows_a_replaced_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"old").unwrap();
        let old = open_locked(&path, true, LockMode::FailFast).unwrap();
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || open_locked(&path, false, LockMode::Wait).unwrap())
        };
        std::thread::sleep(Duration::from_millis(50));
        let new = dir.path().join("new");
        std::fs::write(&new, b"new").unwrap();
        std::fs::rename(&new, &path).unwrap();
        drop(old);
        let locked = waiter.join().unwrap();
        assert!(names_file(&path, &locked).unwrap());
    }
}
