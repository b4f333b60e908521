//! Saves to object storage: [`Varpack::save_as_location`]. The single-file form only: the
//! archive is written to a local file in npy-format's [`Spool`] (a private directory of the
//! system's temporary directory, mode `0700`), then uploaded by npy-format's `upload_file` (a
//! multipart upload: nothing is visible under the URL until the whole archive is there, and a
//! failed upload leaves what was there before), and the spool removed whatever happens. The
//! directory form is refused: a prefix of objects cannot be replaced atomically.

use std::ffi::OsStr;
use std::io;
use std::path::Path;

use npy_format::source::{Spool, is_url};

use super::{Settings, write_npz};
use crate::Varpack;
use crate::error::{SaveError, SaveErrorKind};
use crate::load::remote::is_single_file;
use crate::lock::LockMode;

impl Varpack {
    /// Writes a copy of the pack to `location`: a URL of object storage ending in `.npz`
    /// (`s3://bucket/runs/run1.npz`; feature `remote`), or anything else as a local path
    /// ([`save_as`](Self::save_as)). [`save_as`](Self::save_as) itself takes local paths only.
    ///
    /// To a URL the single-file form is written to a temporary file in the system's temporary
    /// directory (`TMPDIR`; it needs room for the archive), then uploaded: one `PUT` for an
    /// archive under 8 MiB, a multipart upload for a larger one, visible under the URL only once
    /// complete (a failed or interrupted upload leaves what was there), and the temporary is
    /// removed. An object at the URL is replaced. Values not loaded are read from where they
    /// were loaded, one at a time, as for any save. The pack stays attached where it was.
    ///
    /// # Errors
    /// As [`save_as`](Self::save_as); [`SaveErrorKind::DirectoryToStorage`] for a URL that does
    /// not end in `.npz` (the directory form is never written to object storage: its objects
    /// cannot be replaced together atomically, so a reader could mix two packs); an upload's
    /// failure is a [`SaveErrorKind::Io`] error naming the URL (a URL without the `remote`
    /// feature: of kind [`io::ErrorKind::Unsupported`]).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("n", &1).unwrap();
    /// vp.save_as_location(dir.path().join("copy.npz")).unwrap(); // a local path: save_as
    /// let err = vp.save_as_location("s3://bucket/runs/run1").unwrap_err();
    /// assert!(matches!(err.kind(), varpack::SaveErrorKind::DirectoryToStorage));
    /// ```
    pub fn save_as_location(&self, location: impl AsRef<OsStr>) -> Result<(), SaveError> {
        self.save_to_location(location.as_ref(), false)
    }

    /// As [`save_as_location`](Self::save_as_location), but refuses a `location` that exists
    /// ([`save_as_new`](Self::save_as_new) for a path). For a URL the object is looked for
    /// (one `HEAD` request) before the archive is written: a store has no lock, so another
    /// writer may still put an object there meanwhile, which the upload then replaces.
    ///
    /// # Errors
    /// [`SaveErrorKind::Exists`]; as [`save_as_location`](Self::save_as_location).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("n", &1).unwrap();
    /// vp.save_as_new_location(dir.path().join("p.npz")).unwrap();
    /// let err = vp.save_as_new_location(dir.path().join("p.npz")).unwrap_err();
    /// assert!(matches!(err.kind(), varpack::SaveErrorKind::Exists));
    /// ```
    pub fn save_as_new_location(&self, location: impl AsRef<OsStr>) -> Result<(), SaveError> {
        self.save_to_location(location.as_ref(), true)
    }

    fn save_to_location(&self, location: &OsStr, no_clobber: bool) -> Result<(), SaveError> {
        match location.to_str() {
            Some(url) if is_url(url) => self.upload(url, no_clobber),
            _ if no_clobber => self.save_as_new(Path::new(location)),
            _ => self.save_as(Path::new(location)),
        }
    }

    /// The single-file form of the pack, uploaded to `url`.
    fn upload(&self, url: &str, no_clobber: bool) -> Result<(), SaveError> {
        if !is_single_file(url) {
            return Err(SaveError::new(url, SaveErrorKind::DirectoryToStorage));
        }
        let io = |source| SaveError::new(url, SaveErrorKind::Io { source });
        if no_clobber && npy_format::source::exists(url).map_err(io)? {
            return Err(SaveError::new(url, SaveErrorKind::Exists));
        }
        let spool = Spool::create(url).map_err(io)?;
        let settings = Settings {
            // A local copy to upload: nothing to keep on stable storage.
            sync: false,
            ..self.settings()
        };
        write_npz(
            spool.path(),
            &self.held_values(),
            settings,
            LockMode::Off,
            false,
        )
        .map_err(|e| {
            // The user named the URL, not the local copy or a temporary file beside it in the
            // spool's directory (errors about the files values are read from keep their paths).
            let (path, kind) = e.into_parts();
            let in_spool = spool
                .path()
                .parent()
                .is_some_and(|dir| path.starts_with(dir));
            let path = if in_spool { url.into() } else { path };
            SaveError::new(path, kind)
        })?;
        upload_file(spool.path(), url).map_err(io)
    }
}

#[cfg(feature = "remote")]
fn upload_file(archive: &Path, url: &str) -> io::Result<()> {
    npy_format::source::upload_file(archive, url).map(drop)
}

#[cfg(not(feature = "remote"))]
fn upload_file(_archive: &Path, _url: &str) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "object storage needs the `remote` feature",
    ))
}
