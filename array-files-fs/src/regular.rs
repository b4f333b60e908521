//! Opening files that must be regular files, without hanging on anything else.
//!
//! A hostile directory can hold a FIFO where a program expects a file: opening it for reading
//! blocks until a writer appears, forever. [`open_regular`] opens with `O_NONBLOCK` (so the
//! open returns at once whatever the file is) and then checks the type of the file it opened
//! (not of the path, which could be swapped between a check and the open).

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::Path;

/// Why [`open_regular`] gave no file.
#[derive(Debug)]
pub enum OpenRegularError {
    /// The open itself failed (not found, permissions, ...).
    Io(io::Error),
    /// The path names something other than a regular file: what it is, in words
    /// (`"a FIFO"`, `"a directory"`, ...).
    NotRegular(&'static str),
}

impl std::fmt::Display for OpenRegularError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenRegularError::Io(e) => e.fmt(f),
            OpenRegularError::NotRegular(what) => write!(f, "{what}, not a regular file"),
        }
    }
}

impl std::error::Error for OpenRegularError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenRegularError::Io(e) => Some(e),
            OpenRegularError::NotRegular(_) => None,
        }
    }
}

/// Opens `path` (for reading, and writing if `write`) if it is a regular file; a FIFO, device,
/// socket or directory is refused without waiting on it.
///
/// ```
/// use array_files_fs::regular::{open_regular, OpenRegularError};
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("f"), b"x").unwrap();
/// assert!(open_regular(&dir.path().join("f"), false).is_ok());
/// let refused = open_regular(dir.path(), false).unwrap_err();
/// assert!(matches!(refused, OpenRegularError::NotRegular("a directory")));
/// ```
pub fn open_regular(path: &Path, write: bool) -> Result<File, OpenRegularError> {
    open_regular_with_metadata(path, write).map(|(file, _)| file)
}

/// [`open_regular`], with the metadata it read to check the file (one `fstat`, which callers
/// needing the file's length or identity then need not repeat).
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("f");
/// std::fs::write(&path, b"abc").unwrap();
/// let (_file, meta) = array_files_fs::regular::open_regular_with_metadata(&path, false).unwrap();
/// assert_eq!(meta.len(), 3);
/// ```
pub fn open_regular_with_metadata(
    path: &Path,
    write: bool,
) -> Result<(File, Metadata), OpenRegularError> {
    let mut options = OpenOptions::new();
    options.read(true).write(write);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(OpenRegularError::Io)?;
    let meta = file.metadata().map_err(OpenRegularError::Io)?;
    if !meta.is_file() {
        return Err(OpenRegularError::NotRegular(kind_of(&meta)));
    }
    Ok((file, meta))
}

/// What a file is, in words, for messages: `"a regular file"`, `"a directory"`, `"a FIFO"`,
/// `"a socket"`, `"a device"`, `"a symbolic link"`.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let meta = std::fs::metadata(dir.path()).unwrap();
/// assert_eq!(array_files_fs::regular::kind_of(&meta), "a directory");
/// ```
pub fn kind_of(meta: &Metadata) -> &'static str {
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
    } else if meta.is_symlink() {
        "a symbolic link"
    } else if meta.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads the NUL-terminated path, which lives across the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for write in [false, true] {
            let err = open_regular(&fifo, write).unwrap_err();
            assert!(
                matches!(err, OpenRegularError::NotRegular("a FIFO")),
                "{err}"
            );
        }
        let dev = open_regular(Path::new("/dev/null"), false).unwrap_err();
        assert!(matches!(dev, OpenRegularError::NotRegular("a device")));
    }
}
