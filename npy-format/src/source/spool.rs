//! [`Spool`]: where an object is written locally before its upload.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use array_files_fs::private::PrivateDir;

/// The local file an object of a URL is written to before its upload, for writers that seek
/// back (a zip's local headers, a pack's header): [`path`](Self::path) is a file not yet made,
/// in a directory of its own in the system's temporary directory ([`std::env::temp_dir`],
/// `TMPDIR`; it needs room for the object).
///
/// The temporary directory is shared by every local user, so the directory is made exclusively
/// (never an existing one or a symlink) under a name with a random part, with mode `0700` on
/// Unix: no other user can read the data, nor make the file first to redirect the write. The
/// directory is removed with the file when the `Spool` is dropped, on every path out, panics
/// included. [`upload_written`](crate::source::upload_written) is the whole round: spool,
/// write, upload, remove.
///
/// ```
/// use std::io::Write;
/// use npy_format::source::Spool;
///
/// let spool = Spool::create("s3://bucket/runs/run.npz")?;
/// assert!(spool.path().ends_with("run.npz"));
/// let mut file = spool.create_file()?; // exclusively: never an existing file
/// file.write_all(b"PK")?;
/// # #[cfg(unix)] {
/// use std::os::unix::fs::PermissionsExt;
/// let dir = spool.path().parent().unwrap();
/// assert_eq!(std::fs::metadata(dir)?.permissions().mode() & 0o777, 0o700);
/// # }
/// let path = spool.path().to_path_buf();
/// drop(spool);
/// assert!(!path.exists());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Spool {
    /// The file's name in `dir` (one plain component) and its path.
    name: String,
    path: PathBuf,
    dir: PrivateDir,
}

impl Spool {
    /// A new private directory in the temporary directory for the object of `url`; the file
    /// will be named as the URL's last segment (`object` if it has none usable).
    ///
    /// # Errors
    /// The directory's creation (the temporary directory missing, full or not writable),
    /// naming the temporary directory.
    ///
    /// ```
    /// let a = npy_format::source::Spool::create("s3://bucket/run.npz")?;
    /// let b = npy_format::source::Spool::create("s3://bucket/run.npz")?;
    /// assert_ne!(a.path(), b.path());
    /// assert!(!a.path().exists());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create(url: &str) -> io::Result<Spool> {
        let base = std::env::temp_dir();
        let dir = PrivateDir::create_in(&base, "array-files-upload").map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "making a private directory for the upload's local copy in {}: {e}",
                    base.display()
                ),
            )
        })?;
        let name = file_name(url);
        Ok(Spool {
            path: dir.path().join(&name),
            name,
            dir,
        })
    }

    /// The local file's path (in the spool's private directory).
    ///
    /// ```
    /// let spool = npy_format::source::Spool::create("s3://bucket/a.npy")?;
    /// assert!(spool.path().ends_with("a.npy"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the file at [`path`](Self::path), exclusively (`O_EXCL`: never an existing file,
    /// nor through a symlink), open for reading and writing, with mode `0600` on Unix.
    ///
    /// # Errors
    /// The create's error; of kind [`io::ErrorKind::AlreadyExists`] if it was already made.
    ///
    /// ```
    /// let spool = npy_format::source::Spool::create("s3://bucket/a.npy")?;
    /// spool.create_file()?;
    /// assert!(spool.create_file().is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create_file(&self) -> io::Result<File> {
        self.dir.create_file(&self.name)
    }
}

/// The file name for the object of `url`: its last segment, unless that is not a usable name
/// (empty, `.`, `..`), cut to at most 100 bytes (keeping its end, the extension).
fn file_name(url: &str) -> String {
    let last = url.rsplit(['/', '\\']).next().unwrap_or("");
    if matches!(last, "" | "." | "..") {
        return "object".into();
    }
    let mut start = last.len().saturating_sub(100);
    while !last.is_char_boundary(start) {
        start += 1;
    }
    last[start..].into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_plain_component() {
        assert_eq!(file_name("s3://b/runs/run.npz"), "run.npz");
        assert_eq!(file_name("s3://b/runs/"), "object");
        assert_eq!(file_name("s3://b/.."), "object");
        assert_eq!(file_name("s3://b/."), "object");
        assert_eq!(file_name("https://h/a\\..\\b.npz"), "b.npz");
        let long = format!("s3://b/{}.npz", "é".repeat(80));
        let name = file_name(&long);
        assert!(name.len() <= 100 && name.ends_with(".npz"), "{name}");
    }

    #[test]
    fn the_directory_is_private_and_goes_with_the_spool() {
        let spool = Spool::create("s3://bucket/x.npz").unwrap();
        let dir = spool.path().parent().unwrap().to_path_buf();
        assert_eq!(dir.parent().unwrap(), std::env::temp_dir());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::symlink_metadata(&dir)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o7777, 0o700);
            spool.create_file().unwrap();
            let mode = std::fs::metadata(spool.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        drop(spool);
        assert!(std::fs::symlink_metadata(&dir).is_err());
    }
}
