//! What a locked `.npy` file holds, read once: the first step of both opening it to append and
//! recovering it, so that the two refuse the same files for the same reasons.

use crate::error::OpenErrorKind;
use crate::error::RecoverErrorKind;
use std::fs::File;
use std::path::Path;

use npy_format::{HeaderError, ParsedHeader, ReadOptions};

use crate::fsutil;
use crate::layout::FrameLayout;

/// The header of a file, what it accounts for, and what the file holds.
pub(crate) struct Contents {
    /// The header, its version and where the data starts.
    pub parsed: ParsedHeader,
    /// The file's length when read.
    pub file_len: u64,
    /// Data bytes the header accounts for.
    pub data_len: u64,
    /// Data bytes the file holds after the header.
    pub available: u64,
    /// The frames the array grows by; `None` for a 0-d array (no growth axis).
    pub layout: Option<FrameLayout>,
}

/// Why a file's contents cannot be appended to or recovered, whatever the caller does.
pub(crate) enum Refusal {
    /// Reading the file failed.
    Io(std::io::Error),
    /// Not an NPY file, or a header the options refuse.
    Header(HeaderError),
    /// An object array: Python pickles, no fixed frame length.
    Object,
}

impl Contents {
    /// Reads the header of `file` (whatever its cursor position) and measures the data.
    pub(crate) fn read(file: &File, options: ReadOptions) -> Result<Contents, Refusal> {
        let file_len = file.metadata().map_err(Refusal::Io)?.len();
        let parsed = fsutil::read_header(file, options).map_err(Refusal::Header)?;
        if parsed.header.dtype.has_object() {
            return Err(Refusal::Object);
        }
        // The parser checked that the data length fits in a u64.
        let data_len = parsed.header.data_len().unwrap_or(u64::MAX);
        let available = file_len.saturating_sub(parsed.data_offset);
        let layout = FrameLayout::from_header(&parsed.header);
        Ok(Contents {
            parsed,
            file_len,
            data_len,
            available,
            layout,
        })
    }
}

impl Refusal {
    /// The error of `npy_append`'s opening functions for this refusal of the file at `path`.
    pub(crate) fn open_error(self, path: &Path) -> crate::OpenError {
        let path = path.to_path_buf();
        match self {
            Refusal::Io(e) => crate::error::open_io(&path, e),
            Refusal::Header(source) => {
                crate::OpenError::new(path, OpenErrorKind::Header { source })
            }
            Refusal::Object => crate::OpenError::new(path, OpenErrorKind::Object),
        }
    }

    /// The error of [`recover`](crate::recover) for this refusal of the file at `path`.
    pub(crate) fn recover_error(self, path: &Path) -> crate::RecoverError {
        let path = path.to_path_buf();
        match self {
            Refusal::Io(e) => crate::error::recover_io(&path, e),
            Refusal::Header(source) => {
                crate::RecoverError::new(path, RecoverErrorKind::Header { source })
            }
            Refusal::Object => crate::RecoverError::new(path, RecoverErrorKind::Object),
        }
    }
}
