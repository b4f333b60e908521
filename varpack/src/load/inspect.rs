//! [`inspect`]: what `varpack show` runs. It reads the manifest and every array header, never
//! array data, and writes nothing.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use npy_format::source::is_url;

use super::remote::object_exists;
use super::source::{Origin, Source};
use super::value::{Expect, check_header, read_header};
use super::{ATTEMPTS, LoadOptions, load_pack};
use crate::error::{GetError, LoadError, LoadErrorKind};
use crate::{Kind, Varpack};

/// Opens the pack at `path` reading its manifest and every array header, never array data:
/// what `varpack show` prints. Every value is [`Status::Unloaded`](crate::Status::Unloaded); values read later are read
/// into memory (nothing is mapped, so a file truncated meanwhile is an error, not a signal).
///
/// Read-only: nothing is written, not even the pack's lock file. A directory save interrupted
/// between its two renames is not finished here but reported as [`LoadErrorKind::Interrupted`]
/// (once a save in progress, if any, has finished); [`Varpack::load`] finishes it.
///
/// # Errors
/// [`LoadError`]: a missing or corrupt manifest, an unknown version, a listed file missing, a
/// header that disagrees with the manifest, a file that is not a regular file, an interrupted
/// save.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("p");
/// let mut vp = varpack::Varpack::new();
/// vp.insert_array("x", &[1u8, 2], &[2]).unwrap();
/// vp.save_as(&path).unwrap();
/// let shown = varpack::inspect(&path).unwrap();
/// assert_eq!(shown.status("x"), Some(varpack::Status::Unloaded));
/// std::fs::remove_file(path.join("x.npy")).unwrap();
/// assert!(varpack::inspect(&path).unwrap_err().to_string().contains("x.npy is missing"));
/// ```
pub fn inspect(path: impl AsRef<Path>) -> Result<Varpack, LoadError> {
    LoadOptions::new().inspect(path)
}

impl LoadOptions {
    /// [`inspect`] with these options' header limit and strictness (the rest is inspect's
    /// own: lazy, not mapped, read-only).
    ///
    /// # Errors
    /// As [`inspect`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p");
    /// # let mut vp = varpack::Varpack::new();
    /// # vp.insert_array("x", &[1u8, 2], &[2]).unwrap();
    /// # vp.save_as(&path).unwrap();
    /// let options = varpack::LoadOptions::new().max_header_size(64);
    /// assert!(options.inspect(&path).is_err()); // its header is 118 characters
    /// ```
    pub fn inspect(&self, path: impl AsRef<Path>) -> Result<Varpack, LoadError> {
        inspect_with(path.as_ref(), &self.clone().lazy(true).memory_map(false))
    }
}

impl LoadOptions {
    /// [`inspect`](Self::inspect) of `location`: a URL of object storage (see
    /// [`load_location`](Self::load_location)), or anything else as a local path. From a URL it
    /// reads what a local inspect reads, a request per file and no array data: the manifest
    /// (for the single-file form, the archive's directory first), the shared JSON document
    /// (whose values it holds, as for a local pack), every array's header, and the length of
    /// every JSON object stored on its own.
    ///
    /// # Errors
    /// As [`inspect`](Self::inspect), naming the URL.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p");
    /// # let mut vp = varpack::Varpack::new();
    /// # vp.insert_array("x", &[1u8, 2], &[2]).unwrap();
    /// # vp.save_as(&path).unwrap();
    /// let shown = varpack::LoadOptions::new().inspect_location(&path).unwrap(); // a local path
    /// assert_eq!(shown.status("x"), Some(varpack::Status::Unloaded));
    /// ```
    pub fn inspect_location(&self, location: impl AsRef<OsStr>) -> Result<Varpack, LoadError> {
        let location = location.as_ref();
        match location.to_str() {
            Some(url) if is_url(url) => {
                let vp = self.clone().lazy(true).load_url(url)?;
                load_shared_json(&vp)?;
                if let Some(source) = &vp.source {
                    check_files(&vp, source)?;
                }
                Ok(vp)
            }
            _ => self.inspect(Path::new(location)),
        }
    }
}

/// Reads the JSON values of the shared document (one read of `values.json`), as a lazy load
/// of a local pack does, so that a pack in storage shows as the local pack does.
fn load_shared_json(vp: &Varpack) -> Result<(), LoadError> {
    for (name, slot) in &vp.slots {
        if slot.kind() == Kind::Json && !slot.separate && !slot.ignored {
            vp.get(name).map_err(|e| match e {
                GetError::Load(e) => *e,
                other => {
                    let source = std::io::Error::other(other.to_string());
                    LoadError::new(PathBuf::new(), LoadErrorKind::Io { source })
                }
            })?;
        }
    }
    Ok(())
}

fn inspect_with(path: &Path, options: &LoadOptions) -> Result<Varpack, LoadError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match inspect_once(path, options) {
            Err(e) if matches!(e.kind(), LoadErrorKind::Replaced) && attempt < ATTEMPTS => {}
            result => return result,
        }
    }
}

fn inspect_once(path: &Path, options: &LoadOptions) -> Result<Varpack, LoadError> {
    let vp = load_pack(path, options, true)?;
    if let Some(source) = &vp.source {
        check_files(&vp, source).map_err(|e| source.or_replaced(e))?;
    }
    Ok(vp)
}

/// Reads and checks every array header, checks that every JSON file is there.
fn check_files(vp: &Varpack, source: &Source) -> Result<(), LoadError> {
    {
        for slot in vp.slots.values() {
            let Some(entry) = &slot.meta else { continue };
            match entry.kind {
                Kind::Array => {
                    let file = entry.file.as_deref().unwrap_or_default();
                    let header = read_header(source, &entry.name, file)?;
                    check_header(source, &entry.name, file, &header, &Expect::of_array(entry))?;
                }
                Kind::Dict => {
                    for e in entry.entries.iter().flatten() {
                        let header = read_header(source, &entry.name, &e.file)?;
                        check_header(
                            source,
                            &entry.name,
                            &e.file,
                            &header,
                            &Expect::of_dict_array(e),
                        )?;
                    }
                }
                // Read already (the shared document): there.
                Kind::Json if slot.cell.get().is_some() => {}
                Kind::Json => {
                    let file = entry.file.as_deref().unwrap_or_default();
                    let exists = match (&source.npz, &source.origin) {
                        (Some(r), _) => r.describe(file).is_ok(),
                        (None, Origin::Local(_)) => source.path.join(file).is_file(),
                        (None, Origin::Remote(_)) => object_exists(source, &entry.name, file)?,
                    };
                    if !exists {
                        let kind = LoadErrorKind::MissingFile {
                            name: entry.name.clone(),
                            file: file.to_owned(),
                        };
                        return Err(LoadError::new(&source.path, kind));
                    }
                }
            }
        }
    }
    source.check_current()
}
