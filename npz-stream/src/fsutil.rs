//! File-system plumbing: the cross-process writer lock and replacing a file through a
//! temporary file beside it.
//!
//! The lock is the same as `npy-append`'s: an exclusive advisory lock on the open file (`flock`
//! on Unix, `LockFileEx` on Windows), so an `npz add` and an `npy append` never run on one file
//! at once either.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What a writer does when another writer holds the archive's lock.
///
/// The lock is an exclusive advisory lock on the archive file (`flock` on Unix, `LockFileEx`
/// on Windows), held by an appending [`NpzWriter`](crate::NpzWriter) for its whole life, and
/// by a writer replacing an archive (or [`recover`](crate::recover)) while it renames or cuts
/// the file: two writers on one archive, in one process or two, never interleave. Readers take
/// no lock.
///
/// ```
/// use std::time::Duration;
/// use npz_stream::{LockMode, NpzWriter, WriteError};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// NpzWriter::create(&path).unwrap().finish().unwrap();
/// let first = NpzWriter::append(&path).unwrap();
/// let second = NpzWriter::options().lock(LockMode::FailFast).append(&path);
/// assert!(matches!(second, Err(WriteError::Locked { .. })));
/// let patient = NpzWriter::options().lock(LockMode::Timeout(Duration::from_millis(10))).append(&path);
/// assert!(matches!(patient, Err(WriteError::Locked { .. })));
/// first.finish().unwrap();
/// assert!(NpzWriter::append(&path).is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LockMode {
    /// Fail at once with [`WriteError::Locked`](crate::WriteError::Locked) (the default).
    #[default]
    FailFast,
    /// Block until the lock is free.
    Wait,
    /// Retry for up to this long, then fail with
    /// [`WriteError::Locked`](crate::WriteError::Locked).
    Timeout(Duration),
    /// Take no lock (for file systems without locks; the caller ensures there is one writer).
    Off,
}

/// Why a file could not be opened and locked.
#[derive(Debug)]
pub(crate) enum LockFail {
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

/// How often [`LockMode::Timeout`] retries.
const LOCK_POLL: Duration = Duration::from_millis(5);

/// Takes the exclusive advisory lock on `file` as `mode` says.
pub(crate) fn lock(file: &File, mode: LockMode) -> Result<(), LockFail> {
    match mode {
        LockMode::Off => Ok(()),
        LockMode::Wait => Ok(file.lock()?),
        LockMode::FailFast => try_lock(file),
        LockMode::Timeout(limit) => {
            let deadline = Instant::now() + limit;
            loop {
                match try_lock(file) {
                    Err(LockFail::Locked) if Instant::now() < deadline => {
                        std::thread::sleep(LOCK_POLL.min(deadline - Instant::now()));
                    }
                    other => return other,
                }
            }
        }
    }
}

fn try_lock(file: &File) -> Result<(), LockFail> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(fs::TryLockError::WouldBlock) => Err(LockFail::Locked),
        Err(fs::TryLockError::Error(e)) => Err(LockFail::Io(e)),
    }
}

/// Opens `path` (for writing if `write`) and locks it. If the file at `path` was replaced while
/// this waited for the lock (a writer renamed a new archive over it), the replacement is opened
/// instead: the lock is always on the file the path names.
pub(crate) fn open_locked(path: &Path, write: bool, mode: LockMode) -> Result<File, LockFail> {
    const ATTEMPTS: usize = 64;
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

/// Whether `path` still names the open `file`.
#[cfg(unix)]
fn names_file(path: &Path, file: &File) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let open = file.metadata()?;
    match fs::metadata(path) {
        Ok(named) => Ok(open.dev() == named.dev() && open.ino() == named.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn names_file(_path: &Path, _file: &File) -> io::Result<bool> {
    Ok(true)
}

/// The directory holding `path`.
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Makes a rename or link in `path`'s directory durable (a no-op where directories cannot be
/// synced).
pub(crate) fn sync_parent(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(parent_dir(path))?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// A new file beside a target, `.NAME.PID-N.tmp`, created exclusively; removed on drop unless
/// persisted.
pub(crate) struct TempFile {
    pub path: PathBuf,
    pub file: File,
    persisted: bool,
}

impl TempFile {
    pub(crate) fn beside(target: &Path) -> io::Result<TempFile> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = parent_dir(target);
        let name = target
            .file_name()
            .map_or_else(|| "archive".into(), |n| n.to_string_lossy());
        let mut attempts = 0;
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => {
                    return Ok(TempFile {
                        path,
                        file,
                        persisted: false,
                    });
                }
                // A name taken by a file a killed writer left behind (its process id now
                // reused by this one) is skipped.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 10_000 => {
                    attempts += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Syncs the file and puts it at `target`: with `replace`, renamed over whatever is there
    /// (keeping the replaced file's mode, and its owner where permitted); without, linked
    /// there and failing with `AlreadyExists` if `target` exists (race-free). Then syncs the
    /// directory.
    pub(crate) fn persist(mut self, target: &Path, replace: bool) -> io::Result<()> {
        if replace {
            match fs::metadata(target) {
                Ok(old) => copy_mode_and_owner(&old, &self.file)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        self.file.sync_all()?;
        if replace {
            fs::rename(&self.path, target)?;
        } else {
            match fs::hard_link(&self.path, target) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(e),
                // No hard links on this file system: check, then rename (not race-free).
                Err(_) if !target.exists() => fs::rename(&self.path, target)?,
                Err(_) => return Err(io::ErrorKind::AlreadyExists.into()),
            }
            let _ = fs::remove_file(&self.path);
        }
        self.persisted = true;
        sync_parent(target)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Gives `to` the permission bits (and, where permitted, the owner and group) of `from`.
#[cfg(unix)]
fn copy_mode_and_owner(from: &fs::Metadata, to: &File) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // Owner first: changing it may clear set-id bits, which the mode then restores. Not
    // permitted (another user's file) is not an error: the file keeps this user as owner.
    let _ = std::os::unix::fs::fchown(to, Some(from.uid()), Some(from.gid()));
    to.set_permissions(fs::Permissions::from_mode(from.mode() & 0o7777))
}

#[cfg(not(unix))]
fn copy_mode_and_owner(from: &fs::Metadata, to: &File) -> io::Result<()> {
    to.set_permissions(from.permissions())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_fails_fast_and_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        fs::write(&path, b"x").unwrap();
        let first = open_locked(&path, true, LockMode::FailFast).unwrap();
        assert!(matches!(
            open_locked(&path, true, LockMode::FailFast),
            Err(LockFail::Locked)
        ));
        assert!(matches!(
            open_locked(&path, false, LockMode::Timeout(Duration::from_millis(20))),
            Err(LockFail::Locked)
        ));
        assert!(open_locked(&path, true, LockMode::Off).is_ok());
        drop(first);
        assert!(open_locked(&path, true, LockMode::FailFast).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn persist_keeps_the_replaced_mode_and_refuses_to_clobber() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t");
        fs::write(&target, b"old").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
        let tmp = TempFile::beside(&target).unwrap();
        fs::write(&tmp.path, b"new").unwrap();
        let err = TempFile::beside(&target)
            .unwrap()
            .persist(&target, false)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        tmp.persist(&target, true).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        let mode = fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
