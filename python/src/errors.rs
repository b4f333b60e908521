//! Rust errors as Python exceptions, with the Rust message: the `io::Error` in an error's chain
//! picks the `OSError` subclass (`FileNotFoundError`, `FileExistsError`, `PermissionError`, ...);
//! an error with no I/O cause is bad data, a `ValueError`.

use std::error::Error;
use std::io;

use pyo3::PyErr;
use pyo3::exceptions::{
    PyBlockingIOError, PyFileExistsError, PyFileNotFoundError, PyIsADirectoryError,
    PyNotADirectoryError, PyOSError, PyPermissionError, PyValueError,
};

/// The Python exception for `error`.
pub fn to_py(error: &(dyn Error + 'static)) -> PyErr {
    let message = error.to_string();
    match io_kind(error) {
        Some(kind) => io_exception(kind, message),
        None => PyValueError::new_err(message),
    }
}

/// The exception for an I/O error of `kind` with `message`.
pub fn io_exception(kind: io::ErrorKind, message: String) -> PyErr {
    match kind {
        io::ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
        io::ErrorKind::AlreadyExists => PyFileExistsError::new_err(message),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            PyPermissionError::new_err(message)
        }
        io::ErrorKind::IsADirectory => PyIsADirectoryError::new_err(message),
        io::ErrorKind::NotADirectory => PyNotADirectoryError::new_err(message),
        _ => PyOSError::new_err(message),
    }
}

/// The kind of the first `io::Error` in `error`'s chain.
fn io_kind(error: &(dyn Error + 'static)) -> Option<io::ErrorKind> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        next = e.source();
    }
    None
}

/// npy-append's open errors: an existing file is `FileExistsError`, a held lock
/// `BlockingIOError`.
pub fn npy_open(error: npy_append::OpenError) -> PyErr {
    use npy_append::OpenErrorKind;
    match error.kind() {
        OpenErrorKind::Exists => PyFileExistsError::new_err(error.to_string()),
        OpenErrorKind::Locked => PyBlockingIOError::new_err(error.to_string()),
        _ => to_py(&error),
    }
}

/// npy-append's recover errors: a held lock is `BlockingIOError`.
pub fn npy_recover(error: npy_append::RecoverError) -> PyErr {
    match error.kind() {
        npy_append::RecoverErrorKind::Locked => PyBlockingIOError::new_err(error.to_string()),
        _ => to_py(&error),
    }
}

/// npz-stream's write errors: an existing archive is `FileExistsError`, a held lock
/// `BlockingIOError`; the rest as [`to_py`] says.
pub fn npz_write(error: npz_stream::WriteError) -> PyErr {
    use npz_stream::WriteErrorKind;
    match error.kind() {
        WriteErrorKind::Exists => PyFileExistsError::new_err(error.to_string()),
        WriteErrorKind::Locked => PyBlockingIOError::new_err(error.to_string()),
        _ => to_py(&error),
    }
}

/// filepack's errors: a missing entry is `FileNotFoundError`, a directory read as a file
/// `IsADirectoryError`, a file listed as a directory `NotADirectoryError`.
pub fn filepack(error: treepack::Error) -> PyErr {
    use treepack::ErrorKind;
    let message = error.to_string();
    match error.kind() {
        ErrorKind::NotFound { .. } => PyFileNotFoundError::new_err(message),
        ErrorKind::NotAFile { kind, .. } if *kind == treepack::Kind::Dir => {
            PyIsADirectoryError::new_err(message)
        }
        ErrorKind::NotADir { .. } => PyNotADirectoryError::new_err(message),
        _ => to_py(&error),
    }
}

/// `map_err` for any error of this workspace.
pub fn py_err<E: Error + 'static>(error: E) -> PyErr {
    to_py(&error)
}
