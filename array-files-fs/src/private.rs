//! Directories only this user may enter, for files that must not be shared: the local copy of
//! an object being uploaded, written in the system's temporary directory.
//!
//! The temporary directory (`/tmp`, `TMPDIR`) is shared by every local user, so a file made
//! there under a name another user can guess could be created first by that user (a symlink to
//! a file of the writer's, which the writer would then overwrite, or a file of theirs, which
//! the writer would fill and they could read), and a file made with the umask's mode (`0644`)
//! can be read by anyone while it exists. A [`PrivateDir`] is made exclusively (never an
//! existing directory or link) under a name with a random part, with mode `0700` on Unix; files
//! in it are made exclusively too ([`PrivateDir::create_file`], mode `0600`). It is removed,
//! with everything in it, when dropped: on every path out of a function that holds it, panics
//! included.
//!
//! This assumes a temporary directory like `/tmp`, where the sticky bit stops other users from
//! renaming or removing what this one made, or a private one.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// How many names [`PrivateDir::create_in`] tries before it gives up: each is taken only if
/// nothing is there, so another user who made some first only makes it take the next.
const ATTEMPTS: u32 = 100;

/// A directory of this process's own, made exclusively with mode `0700` (on Unix), removed with
/// everything in it when dropped.
///
/// ```
/// use std::io::Write;
/// use array_files_fs::private::PrivateDir;
///
/// let dir = PrivateDir::create("example")?;
/// let mut file = dir.create_file("data.bin")?;
/// file.write_all(b"not for other users")?;
/// # #[cfg(unix)] {
/// use std::os::unix::fs::PermissionsExt;
/// assert_eq!(std::fs::metadata(dir.path())?.permissions().mode() & 0o777, 0o700);
/// # }
/// // Never an existing file, nor whatever a symlink there points at.
/// assert_eq!(dir.create_file("data.bin").unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
/// let path = dir.path().to_path_buf();
/// drop(dir);
/// assert!(!path.exists());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct PrivateDir {
    path: PathBuf,
}

impl PrivateDir {
    /// Makes `PREFIX-PID-N-RANDOM` in the system's temporary directory
    /// ([`std::env::temp_dir`], `TMPDIR`), as [`create_in`](Self::create_in) does.
    ///
    /// # Errors
    /// As [`create_in`](Self::create_in).
    pub fn create(prefix: &str) -> io::Result<PrivateDir> {
        PrivateDir::create_in(&std::env::temp_dir(), prefix)
    }

    /// Makes a new directory `PREFIX-PID-N-RANDOM` in `base` (`N` counts up in this process,
    /// `RANDOM` is 16 hex digits no other user can predict), with mode `0700` on Unix. A name
    /// where anything already is (a directory, a file, a symlink) is never used: the next one
    /// is tried.
    ///
    /// # Errors
    /// The error of making the directory (`base` missing or not writable); of kind
    /// [`io::ErrorKind::AlreadyExists`] if 100 names in a row were taken.
    ///
    /// ```
    /// let base = tempfile::tempdir()?;
    /// let a = array_files_fs::private::PrivateDir::create_in(base.path(), "upload")?;
    /// let b = array_files_fs::private::PrivateDir::create_in(base.path(), "upload")?;
    /// assert_ne!(a.path(), b.path());
    /// assert!(a.path().starts_with(base.path()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create_in(base: &Path, prefix: &str) -> io::Result<PrivateDir> {
        create_first_free(base, (0..ATTEMPTS).map(|_| fresh_name(prefix)))
    }

    /// Where the directory is.
    ///
    /// ```
    /// let dir = array_files_fs::private::PrivateDir::create("example")?;
    /// assert!(dir.path().is_dir());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the file `name` in the directory, exclusively (`create_new`, `O_EXCL`: never an
    /// existing file, nor through a symlink), open for reading and writing, with mode `0600` on
    /// Unix.
    ///
    /// # Errors
    /// Of kind [`io::ErrorKind::AlreadyExists`] if anything is at `name`;
    /// [`io::ErrorKind::InvalidInput`] if `name` is not one plain file name (empty, `.`, `..`,
    /// or with a separator); the create's error.
    ///
    /// ```
    /// let dir = array_files_fs::private::PrivateDir::create("example")?;
    /// dir.create_file("a.npz")?;
    /// assert!(dir.path().join("a.npz").is_file());
    /// assert_eq!(dir.create_file("../a.npz").unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create_file(&self, name: &str) -> io::Result<File> {
        let mut components = Path::new(name).components();
        let plain = matches!(components.next(), Some(Component::Normal(n)) if n == name)
            && components.next().is_none();
        if !plain {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name:?} is not a plain file name"),
            ));
        }
        let mut options = OpenOptions::new();
        options.read(true).write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(self.path.join(name))
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        // `remove_dir_all` never follows a symlink found inside.
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// `PREFIX-PID-N-RANDOM`: the counter keeps this process's names apart, the random part keeps
/// other users from making them first.
fn fresh_name(prefix: &str) -> String {
    use std::hash::BuildHasher;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // std's hasher keys are drawn from the operating system's random source.
    let random = std::collections::hash_map::RandomState::new().hash_one(n);
    format!("{prefix}-{}-{n}-{random:016x}", std::process::id())
}

/// Makes the first of `names` in `base` where nothing is, private.
fn create_first_free(
    base: &Path,
    names: impl IntoIterator<Item = String>,
) -> io::Result<PrivateDir> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    for name in names {
        let path = base.join(name);
        // `mkdir` fails on anything at the name, a symlink included (it does not follow one).
        match builder.create(&path) {
            Ok(()) => {
                let dir = PrivateDir { path };
                owner_only(&dir.path)?;
                return Ok(dir);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "no free name for a private directory in {} after {ATTEMPTS} tries",
            base.display()
        ),
    ))
}

/// Gives the directory just made mode `0700` exactly: `mkdir` with `0700` can only have made it
/// narrower (a umask that takes the owner's bits), never wider.
#[cfg(unix)]
fn owner_only(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::symlink_metadata(path)?;
    if !meta.is_dir() {
        return Err(io::Error::other(format!(
            "{} is not the directory just made",
            path.display()
        )));
    }
    if meta.permissions().mode() & 0o7777 != 0o700 {
        fs::set_permissions(path, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn owner_only(_path: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn the_directory_is_private_and_removed_with_its_files() {
        let base = tempfile::tempdir().unwrap();
        let dir = PrivateDir::create_in(base.path(), "t").unwrap();
        assert_eq!(mode(dir.path()), 0o700);
        let mut file = dir.create_file("data").unwrap();
        file.write_all(b"secret").unwrap();
        assert_eq!(mode(&dir.path().join("data")), 0o600);
        let path = dir.path().to_path_buf();
        drop(dir);
        assert!(fs::symlink_metadata(&path).is_err());
    }

    #[test]
    fn names_others_made_first_are_skipped_and_never_written_through() {
        let base = tempfile::tempdir().unwrap();
        let victim = tempfile::tempdir().unwrap();
        let victim_file = victim.path().join("data");
        fs::write(&victim_file, b"theirs").unwrap();
        // Planted at the names the creation will try first: a symlink to a directory, a
        // symlink to a file, a dangling symlink, a file, and a directory open to everyone.
        symlink(victim.path(), base.path().join("n0")).unwrap();
        symlink(&victim_file, base.path().join("n1")).unwrap();
        symlink(base.path().join("nowhere"), base.path().join("n2")).unwrap();
        fs::write(base.path().join("n3"), b"planted").unwrap();
        fs::create_dir(base.path().join("n4")).unwrap();
        fs::set_permissions(base.path().join("n4"), fs::Permissions::from_mode(0o777)).unwrap();

        let names = (0..10).map(|i| format!("n{i}"));
        let dir = create_first_free(base.path(), names).unwrap();
        assert_eq!(dir.path(), base.path().join("n5"));
        assert!(fs::symlink_metadata(dir.path()).unwrap().is_dir());
        assert_eq!(mode(dir.path()), 0o700);
        dir.create_file("data").unwrap().write_all(b"ours").unwrap();
        // Nothing reached what the planted names point at.
        assert_eq!(fs::read(&victim_file).unwrap(), b"theirs");
        assert_eq!(fs::read_dir(victim.path()).unwrap().count(), 1);
        assert!(fs::symlink_metadata(base.path().join("nowhere")).is_err());
        assert_eq!(fs::read(base.path().join("n3")).unwrap(), b"planted");
        assert_eq!(fs::read_dir(base.path().join("n4")).unwrap().count(), 0);

        // All names taken: an error, not a directory someone else made.
        let taken = (0..5).map(|i| format!("n{i}"));
        let err = create_first_free(base.path(), taken).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn a_file_is_never_created_through_a_symlink_or_over_a_file() {
        let base = tempfile::tempdir().unwrap();
        let dir = PrivateDir::create_in(base.path(), "t").unwrap();
        let victim = tempfile::tempdir().unwrap();
        let victim_file = victim.path().join("data");
        fs::write(&victim_file, b"theirs").unwrap();
        symlink(&victim_file, dir.path().join("link")).unwrap();
        symlink(victim.path().join("new"), dir.path().join("dangling")).unwrap();
        fs::write(dir.path().join("file"), b"old").unwrap();
        for name in ["link", "dangling", "file"] {
            let err = dir.create_file(name).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{name}");
        }
        assert_eq!(fs::read(&victim_file).unwrap(), b"theirs");
        assert!(!victim.path().join("new").exists());
        for name in ["", ".", "..", "a/b", "/abs"] {
            let err = dir.create_file(name).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{name:?}");
        }
    }

    #[test]
    fn a_narrow_umask_still_gives_the_owner_the_directory() {
        // `create_in` itself cannot set the umask (process-wide); the repair it makes is the
        // same `set_permissions` this checks on a directory made without owner bits.
        let base = tempfile::tempdir().unwrap();
        let path = base.path().join("d");
        fs::create_dir(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o300)).unwrap();
        owner_only(&path).unwrap();
        assert_eq!(mode(&path), 0o700);
    }
}
