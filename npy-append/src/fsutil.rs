//! File-system plumbing shared by the appender and recovery: locks, positional writes, and
//! replacing a file atomically through a temporary file beside it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::options::LockMode;

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
/// this waited for the lock (an appender rewrote its header through a temporary file), the
/// replacement is opened instead: the lock is always on the file the path names.
pub(crate) fn open_locked(path: &Path, write: bool, mode: LockMode) -> Result<File, LockFail> {
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

/// Writes all of `buf` at `offset`, without using or moving the file cursor where the platform
/// allows.
#[cfg(unix)]
pub(crate) fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(not(unix))]
pub(crate) fn write_all_at(mut file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(buf)
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

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A new file beside a target, removed on drop unless persisted.
struct TempFile {
    path: PathBuf,
    file: File,
    persisted: bool,
}

impl TempFile {
    /// `.NAME.PID-N.tmp` in the target's directory, created exclusively.
    fn beside(target: &Path) -> io::Result<TempFile> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = parent_dir(target);
        let name = target
            .file_name()
            .map_or_else(|| "npy".into(), |n| n.to_string_lossy());
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
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < u64::MAX => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_file(&self.path);
        }
    }
}

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
    tmp.file.write_all(header)?;
    if overwrite {
        tmp.file.sync_all()?;
    }
    lock(&tmp.file, mode)?;
    if overwrite {
        // Hold the lock of the file being replaced, so no appender is writing to it.
        let _old = match open_locked(path, false, mode) {
            Ok(old) => Some(old),
            Err(LockFail::Io(e)) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        fs::rename(&tmp.path, path)?;
        tmp.persisted = true;
    } else {
        match fs::hard_link(&tmp.path, path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(CreateFail::Exists),
            Err(_) => return create_in_place(path, header, mode),
        }
    }
    let file = tmp.file.try_clone()?;
    drop(tmp);
    if overwrite {
        sync_parent(path)?;
    }
    Ok((file, overwrite))
}

/// For file systems without hard links: create the file exclusively and write the header in it.
fn create_in_place(path: &Path, header: &[u8], mode: LockMode) -> Result<(File, bool), CreateFail> {
    let mut file = match OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(CreateFail::Exists),
        Err(e) => return Err(e.into()),
    };
    lock(&file, mode)?;
    file.write_all(header)?;
    Ok((file, false))
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
    tmp.file.set_permissions(src.metadata()?.permissions())?;
    tmp.file.write_all(header)?;
    let mut reader = src;
    reader.seek(SeekFrom::Start(src_offset))?;
    let copied = io::copy(&mut reader.take(copy_len), &mut tmp.file)?;
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
    tmp.file.set_len(len)?;
    tmp.file.sync_all()?;
    if mode != LockMode::Off {
        match try_lock(&tmp.file) {
            Ok(()) => {}
            Err(LockFail::Io(e)) => return Err(e),
            Err(LockFail::Locked) => {
                return Err(io::Error::other("a fresh temporary file was locked"));
            }
        }
    }
    fs::rename(&tmp.path, path)?;
    tmp.persisted = true;
    let file = tmp.file.try_clone()?;
    drop(tmp);
    sync_parent(path)?;
    Ok(file)
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
