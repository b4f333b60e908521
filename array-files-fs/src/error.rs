//! Errors about a file: the path once, and what went wrong as a kind.
//!
//! Every crate's file-level errors are a [`PathError`] over that crate's kind enum (as `globset`
//! and `ignore` carry their glob or path once), so no variant repeats a `path` field and no code
//! copies one from error to error. The message is `PATH: KIND`, the kind's own message after the
//! path.
//!
//! ```
//! use std::path::Path;
//! use array_files_fs::error::{AtPath, PathError};
//!
//! #[derive(Debug, thiserror::Error)]
//! enum Kind {
//!     #[error("{0}")]
//!     Io(#[from] std::io::Error),
//!     #[error("holds {0} bytes, too few for a header")]
//!     Short(u64),
//! }
//! type Error = PathError<Kind>;
//!
//! fn check(path: &Path) -> Result<u64, Error> {
//!     let len = std::fs::metadata(path).at_path(path)?.len();
//!     if len < 10 {
//!         return Err(Error::new(path, Kind::Short(len)));
//!     }
//!     Ok(len)
//! }
//!
//! # let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("tiny");
//! std::fs::write(&path, b"abc").unwrap();
//! let err = check(&path).unwrap_err();
//! assert_eq!(err.path(), path);
//! assert!(matches!(err.kind(), Kind::Short(3)));
//! assert_eq!(err.to_string(), format!("{}: holds 3 bytes, too few for a header", path.display()));
//! assert!(matches!(check(&dir.path().join("missing")).unwrap_err().kind(), Kind::Io(_)));
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

/// An error about one file: its path, and what went wrong (`K`, the crate's kind enum).
///
/// Displays as `PATH: KIND`, or `KIND` alone when the path is empty (an error about no file
/// yet, such as saving a collection that was never given a path). [`source`](std::error::Error::source) is the kind's source, so an
/// error chain printed by `anyhow` or the CLIs does not repeat the kind's message.
///
/// ```
/// use array_files_fs::error::PathError;
/// let err: PathError<std::io::Error> =
///     PathError::new("data.npy", std::io::Error::other("disk on fire"));
/// assert_eq!(err.to_string(), "data.npy: disk on fire");
/// assert_eq!(err.path(), std::path::Path::new("data.npy"));
/// let (path, kind) = err.into_parts();
/// assert_eq!((path.to_str(), kind.to_string().as_str()), (Some("data.npy"), "disk on fire"));
/// ```
pub struct PathError<K> {
    path: PathBuf,
    kind: K,
}

impl<K> PathError<K> {
    /// An error about `path`.
    pub fn new(path: impl Into<PathBuf>, kind: impl Into<K>) -> Self {
        Self {
            path: path.into(),
            kind: kind.into(),
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What went wrong.
    pub fn kind(&self) -> &K {
        &self.kind
    }

    /// What went wrong, owned.
    pub fn into_kind(self) -> K {
        self.kind
    }

    /// The path and the kind.
    pub fn into_parts(self) -> (PathBuf, K) {
        (self.path, self.kind)
    }

    /// The same path with the kind converted (an error of one operation family becoming
    /// another's, e.g. a lock failure inside a save).
    ///
    /// ```
    /// use array_files_fs::error::PathError;
    /// let io: PathError<std::io::Error> = PathError::new("a.npz", std::io::Error::other("gone"));
    /// let boxed: PathError<Box<dyn std::error::Error>> = io.map_kind(Into::into);
    /// assert_eq!(boxed.to_string(), "a.npz: gone");
    /// ```
    pub fn map_kind<L>(self, f: impl FnOnce(K) -> L) -> PathError<L> {
        PathError {
            path: self.path,
            kind: f(self.kind),
        }
    }
}

impl<K: fmt::Display> fmt::Display for PathError<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.as_os_str().is_empty() {
            // About no file yet (a pack not given a path): the kind alone, no ": " prefix.
            return write!(f, "{}", self.kind);
        }
        write!(f, "{}: {}", self.path.display(), self.kind)
    }
}

impl<K: fmt::Debug> fmt::Debug for PathError<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PathError")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .finish()
    }
}

impl<K: std::error::Error + 'static> std::error::Error for PathError<K> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The kind's message is already part of ours; its cause is the next link.
        self.kind.source()
    }
}

/// Attaches a path to the error of a result: `std::fs::read(p).at_path(p)?`.
///
/// ```
/// use array_files_fs::error::{AtPath, PathError};
/// let err: PathError<std::io::Error> =
///     std::fs::read("/no/such/file").at_path("/no/such/file").unwrap_err();
/// assert_eq!(err.kind().kind(), std::io::ErrorKind::NotFound);
/// ```
pub trait AtPath<T, E> {
    /// The result with its error, converted into `K`, about `path`.
    ///
    /// # Errors
    /// The original error, as a [`PathError`].
    fn at_path<K: From<E>>(self, path: impl AsRef<Path>) -> Result<T, PathError<K>>;
}

impl<T, E> AtPath<T, E> for Result<T, E> {
    fn at_path<K: From<E>>(self, path: impl AsRef<Path>) -> Result<T, PathError<K>> {
        self.map_err(|e| PathError::new(path.as_ref(), e))
    }
}

/// The kind of a result's error, for matching: `matches!(r.err_kind(), Some(Kind::Locked))`.
///
/// ```
/// use array_files_fs::error::{PathError, ResultKind};
/// let r: Result<(), PathError<std::io::ErrorKind>> =
///     Err(PathError::new("a.npy", std::io::ErrorKind::NotFound));
/// assert_eq!(r.err_kind(), Some(&std::io::ErrorKind::NotFound));
/// ```
pub trait ResultKind<K> {
    /// The error's kind, or `None` for `Ok`.
    fn err_kind(&self) -> Option<&K>;
}

impl<T, K> ResultKind<K> for Result<T, PathError<K>> {
    fn err_kind(&self) -> Option<&K> {
        self.as_ref().err().map(PathError::kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "outer: {}", self.0)
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn an_empty_path_is_not_printed() {
        let err = PathError::<std::io::Error>::new("", std::io::Error::other("no path yet"));
        assert_eq!(err.to_string(), "no path yet");
    }

    #[test]
    fn source_skips_the_kind_already_in_the_message() {
        let err = PathError::<Outer>::new("p", Outer(std::io::Error::other("inner")));
        assert_eq!(err.to_string(), "p: outer: inner");
        assert_eq!(err.source().unwrap().to_string(), "inner");
    }
}
