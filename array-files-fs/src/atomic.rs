//! Writing a file so that it appears at its path complete or not at all.
//!
//! A [`TempFile`] is created beside its target (same directory, so the same file system),
//! written, then [persisted](TempFile::persist): synced, renamed over the target (or linked to
//! it, refusing an existing file), and the directory synced, so that a crash or power loss
//! leaves the old file or the new one, never a mix or an empty file.
//!
//! A file that replaces another keeps the replaced file's permission bits and, where the
//! process may set it, its owner and group: replacing a private `0600` file never widens it to
//! the umask's `0644`. A new file gets the umask's mode, as `File::create` would.
//!
//! Temporaries are named `.NAME.PID-N.tmp` (or another suffix, see [`sibling_path`]): the PID
//! says who owns one, so a later run can remove those of processes that died
//! ([`remove_stale_temps`]) without touching a live writer's.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// How [`TempFile::persist`] treats an existing file at the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persist {
    /// Replace it atomically, keeping its mode and (where permitted) owner.
    Replace,
    /// Refuse it: an error of kind [`io::ErrorKind::AlreadyExists`], the target untouched. The
    /// check and the placement are one step (a hard link) where the file system has links.
    NoClobber,
}

/// A new file beside a target, removed on drop unless persisted.
///
/// ```
/// use std::io::Write;
/// use array_files_fs::atomic::{Persist, TempFile};
/// # #[cfg(unix)] {
/// use std::os::unix::fs::PermissionsExt;
///
/// let dir = tempfile::tempdir()?;
/// let target = dir.path().join("secret.npz");
/// std::fs::write(&target, b"old")?;
/// std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600))?;
///
/// let mut tmp = TempFile::beside(&target)?;
/// tmp.file_mut().write_all(b"new")?;
/// tmp.persist(&target, Persist::Replace)?;
/// assert_eq!(std::fs::read(&target)?, b"new");
/// assert_eq!(std::fs::metadata(&target)?.permissions().mode() & 0o777, 0o600);
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
    file: File,
    sync: bool,
    persisted: bool,
}

impl TempFile {
    /// Creates `.NAME.PID-N.tmp` in `target`'s directory, exclusively (never an existing file),
    /// open for reading and writing.
    pub fn beside(target: &Path) -> io::Result<TempFile> {
        loop {
            let path = sibling_path(target, "tmp");
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
                        sync: true,
                        persisted: false,
                    });
                }
                // Left by a process whose PID this one reuses, or by another thread's counter.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Where the temporary file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open temporary file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The open temporary file, to write to.
    pub fn file_mut(&mut self) -> &mut File {
        &mut self.file
    }

    /// Whether [`persist`](TempFile::persist) syncs the file and the directory (the default):
    /// off, a crash can leave an empty or partial file under the target's name, so only for
    /// scratch results that a caller can make again.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut tmp = array_files_fs::atomic::TempFile::beside(&dir.path().join("scratch"))?;
    /// tmp.set_sync(false);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_sync(&mut self, sync: bool) {
        self.sync = sync;
    }

    /// Puts the file at `target` as `how` says and returns it, still open (its cursor where the
    /// writes left it). Synced first unless [`set_sync(false)`](TempFile::set_sync), and the
    /// directory after. On error the temporary file is removed and the target is as it was.
    pub fn persist(mut self, target: &Path, how: Persist) -> io::Result<File> {
        match how {
            Persist::Replace => {
                match copy_mode_and_owner(target, &self.file) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
                if self.sync {
                    self.file.sync_all()?;
                }
                fs::rename(&self.path, target)?;
                self.persisted = true;
            }
            Persist::NoClobber => {
                if self.sync {
                    self.file.sync_all()?;
                }
                match fs::hard_link(&self.path, target) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        return Err(exists(target));
                    }
                    // A file system without hard links: check, then rename (a writer racing
                    // between the two can still be replaced, the one case left).
                    Err(_) => {
                        if fs::symlink_metadata(target).is_ok() {
                            return Err(exists(target));
                        }
                        fs::rename(&self.path, target)?;
                        self.persisted = true;
                    }
                }
            }
        }
        if self.sync {
            sync_parent(target)?;
        }
        self.file.try_clone()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // After a hard link (NoClobber) the temporary name is still there: remove it too.
        if !self.persisted || fs::symlink_metadata(&self.path).is_ok() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn exists(target: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{} already exists", target.display()),
    )
}

/// Gives `to` the permission bits of the file at `from` and, where this process may set them,
/// its owner and group (a process that may not, keeps its own: never an error).
///
/// ```
/// # #[cfg(unix)] {
/// use std::os::unix::fs::PermissionsExt;
/// let dir = tempfile::tempdir()?;
/// let old = dir.path().join("old");
/// std::fs::write(&old, b"")?;
/// std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o640))?;
/// let new = std::fs::File::create(dir.path().join("new"))?;
/// array_files_fs::atomic::copy_mode_and_owner(&old, &new)?;
/// assert_eq!(new.metadata()?.permissions().mode() & 0o777, 0o640);
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn copy_mode_and_owner(from: &Path, to: &File) -> io::Result<()> {
    let old = fs::metadata(from)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let new = to.metadata()?;
        if (old.uid(), old.gid()) != (new.uid(), new.gid()) {
            // The owner only where permitted (root, or a group the user is in); EPERM keeps
            // the creator's, which is what a user who may not chown expects.
            if std::os::unix::fs::fchown(to, Some(old.uid()), Some(old.gid())).is_err() {
                let _ = std::os::unix::fs::fchown(to, None, Some(old.gid()));
            }
        }
        // Permission bits only: set-id bits are not carried to a file with new contents.
        to.set_permissions(fs::Permissions::from_mode(old.mode() & 0o777))
    }
    #[cfg(not(unix))]
    {
        to.set_permissions(old.permissions())
    }
}

/// Makes a rename or link in `path`'s directory durable (a no-op where directories cannot be
/// synced).
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// array_files_fs::atomic::sync_parent(&dir.path().join("any"))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn sync_parent(path: &Path) -> io::Result<()> {
    sync_dir(parent_dir(path))
}

/// Makes the entries of directory `dir` durable: renames into it, files created or removed in
/// it (a no-op where directories cannot be synced).
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// array_files_fs::atomic::sync_dir(dir.path())?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn sync_dir(dir: &Path) -> io::Result<()> {
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

/// The directory `path` is in (`.` for a bare name).
///
/// ```
/// use std::path::Path;
/// use array_files_fs::atomic::parent_dir;
/// assert_eq!(parent_dir(Path::new("a/b.npy")), Path::new("a"));
/// assert_eq!(parent_dir(Path::new("b.npy")), Path::new("."));
/// ```
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A fresh name `.NAME.PID-N.SUFFIX` beside `target` (N counts up in this process). Nothing is
/// created: create it exclusively and take another name on `AlreadyExists`.
///
/// ```
/// use std::path::Path;
/// let a = array_files_fs::atomic::sibling_path(Path::new("d/out"), "varpack-new");
/// let b = array_files_fs::atomic::sibling_path(Path::new("d/out"), "varpack-new");
/// assert_ne!(a, b);
/// assert!(a.starts_with("d"));
/// let name = a.file_name().unwrap().to_str().unwrap();
/// assert!(name.starts_with(".out.") && name.ends_with(".varpack-new"));
/// ```
pub fn sibling_path(target: &Path, suffix: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = target
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy());
    parent_dir(target).join(format!(".{name}.{}-{n}.{suffix}", std::process::id()))
}

/// The PID in a name made by [`sibling_path`] for `target` and `suffix`, if `name` is one.
///
/// ```
/// use std::path::Path;
/// use array_files_fs::atomic::{owner_pid, sibling_path};
/// let tmp = sibling_path(Path::new("out"), "tmp");
/// let name = tmp.file_name().unwrap().to_str().unwrap();
/// assert_eq!(owner_pid(name, Path::new("out"), "tmp"), Some(std::process::id()));
/// assert_eq!(owner_pid(".other.1-0.tmp", Path::new("out"), "tmp"), None);
/// ```
pub fn owner_pid(name: &str, target: &Path, suffix: &str) -> Option<u32> {
    let target_name = target.file_name()?.to_string_lossy();
    let rest = name
        .strip_prefix('.')?
        .strip_prefix(&*target_name)?
        .strip_prefix('.')?
        .strip_suffix(suffix)?
        .strip_suffix('.')?;
    let (pid, n) = rest.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(pid) && digits(n)).then(|| pid.parse().ok())?
}

/// Whether a process with this PID is running on this machine (true where the platform
/// cannot tell, so that nothing of a live writer is ever removed).
///
/// ```
/// assert!(array_files_fs::atomic::process_alive(std::process::id()));
/// ```
pub fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        if pid <= 0 {
            return true;
        }
        // SAFETY: kill with signal 0 sends nothing; it only checks that the process exists
        // (and may be signalled). It reads no memory of ours.
        let sent = unsafe { libc::kill(pid, 0) };
        sent == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// The siblings of `target` named by [`sibling_path`] with `suffix` whose owning process is
/// gone: what a killed writer left behind.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let target = dir.path().join("out");
/// // PID 0x7fff_fff0 is above any Linux pid_max: never a live process.
/// let stale = dir.path().join(format!(".out.{}-0.tmp", 0x7fff_fff0u32));
/// std::fs::write(&stale, b"half a file")?;
/// let live = array_files_fs::atomic::TempFile::beside(&target)?;
/// let found = array_files_fs::atomic::stale_siblings(&target, "tmp")?;
/// # #[cfg(unix)]
/// assert_eq!(found, vec![stale]);
/// # drop(live);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn stale_siblings(target: &Path, suffix: &str) -> io::Result<Vec<PathBuf>> {
    let dir = parent_dir(target);
    let mut stale = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(stale),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(pid) = owner_pid(name, target, suffix)
            && pid != std::process::id()
            && !process_alive(pid)
        {
            stale.push(dir.join(name));
        }
    }
    stale.sort();
    Ok(stale)
}

/// Removes the temporary files ([`TempFile`]) of dead processes beside `target`; returns how
/// many. Directories are left alone.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let target = dir.path().join("out");
/// # std::fs::write(dir.path().join(format!(".out.{}-3.tmp", 0x7fff_fff0u32)), b"x")?;
/// # #[cfg(unix)]
/// assert_eq!(array_files_fs::atomic::remove_stale_temps(&target)?, 1);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn remove_stale_temps(target: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for path in stale_siblings(target, "tmp")? {
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => match fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            },
            _ => {}
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn dropped_and_refused_temporaries_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        drop(TempFile::beside(&target).unwrap());
        assert!(names(dir.path()).is_empty());
        fs::write(&target, b"keep").unwrap();
        let mut tmp = TempFile::beside(&target).unwrap();
        tmp.file_mut().write_all(b"other").unwrap();
        let err = tmp.persist(&target, Persist::NoClobber).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(err.to_string().contains("out"), "{err}");
        assert_eq!(fs::read(&target).unwrap(), b"keep");
        assert_eq!(names(dir.path()), ["out"]);
    }

    #[test]
    fn no_clobber_places_a_new_file_and_removes_the_temporary_name() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let mut tmp = TempFile::beside(&target).unwrap();
        tmp.file_mut().write_all(b"new").unwrap();
        let mut file = tmp.persist(&target, Persist::NoClobber).unwrap();
        file.write_all(b"+").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new+");
        assert_eq!(names(dir.path()), ["out"]);
    }

    #[cfg(unix)]
    #[test]
    fn replace_keeps_the_mode_and_new_files_follow_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        fs::write(&target, b"old").unwrap();
        for mode in [0o600, 0o640, 0o444, 0o755] {
            fs::set_permissions(&target, fs::Permissions::from_mode(mode)).unwrap();
            let tmp = TempFile::beside(&target).unwrap();
            tmp.persist(&target, Persist::Replace).unwrap();
            let got = fs::metadata(&target).unwrap().permissions().mode() & 0o7777;
            assert_eq!(got, mode, "replacing a {mode:o} file");
        }
        let fresh = dir.path().join("fresh");
        TempFile::beside(&fresh)
            .unwrap()
            .persist(&fresh, Persist::Replace)
            .unwrap();
        let created = File::create(dir.path().join("created")).unwrap();
        assert_eq!(
            fs::metadata(&fresh).unwrap().permissions().mode(),
            created.metadata().unwrap().permissions().mode(),
            "a new file gets what File::create gives"
        );
    }

    #[cfg(unix)]
    #[test]
    fn stale_temporaries_of_dead_processes_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let dead = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = dead.id();
        let mut dead = dead;
        dead.wait().unwrap();
        fs::write(dir.path().join(format!(".out.{dead_pid}-0.tmp")), b"x").unwrap();
        fs::write(dir.path().join(".out.1-0.tmp"), b"init is alive").unwrap();
        fs::write(dir.path().join(".other.99999999-0.tmp"), b"not ours").unwrap();
        fs::create_dir(dir.path().join(format!(".out.{dead_pid}-1.tmp"))).unwrap();
        let live = TempFile::beside(&target).unwrap();
        let live_name = live
            .path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(remove_stale_temps(&target).unwrap(), 1);
        let left = names(dir.path());
        assert!(
            !left.contains(&format!(".out.{dead_pid}-0.tmp")),
            "{left:?}"
        );
        assert!(left.contains(&live_name), "{left:?}");
        assert!(left.contains(&".out.1-0.tmp".to_owned()), "{left:?}");
        assert!(left.contains(&".other.99999999-0.tmp".to_owned()));
        assert!(left.contains(&format!(".out.{dead_pid}-1.tmp")));
    }
}
