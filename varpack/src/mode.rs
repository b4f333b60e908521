//! AlignedBinaryFormat's open modes (`r`, `r+`, `w`, `w+`, `a`, `a+`) over this crate's
//! loads and saves, with the same permissions: what a mode cannot do is refused with a typed
//! error before anything is read or written.

use std::path::Path;

use crate::{
    GetError, InsertError, LoadError, LoadOptions, MapMode, SaveError, SaveErrorKind, Varpack,
};

/// How [`Varpack::access`] gets at a pack, as AlignedBinaryFormat's `abfopen` modes: each is
/// one of [`Varpack::load`], [`Varpack::create`] and [`Varpack::append`], with permissions.
///
/// | mode | read | modify | add | the pack at the path |
/// |------|------|--------|-----|----------------------|
/// | `r`  | yes  | no     | no  | must exist; arrays mapped read-only |
/// | `r+` | yes  | yes    | yes | must exist; arrays mapped read-write |
/// | `w`  | no   | no     | yes | replaced by the first save |
/// | `w+` | yes  | yes    | yes | replaced by the first save |
/// | `a`  | no   | no     | yes | kept, new names added; created if missing |
/// | `a+` | yes  | yes    | yes | kept, new names added; created if missing; arrays mapped read-write |
///
/// "Read" is every getter ([`Varpack::get`], [`Varpack::array`], ...): refused in `w` and `a`
/// with [`GetError::WriteOnly`], as AlignedBinaryFormat refuses reads of a file opened write
/// only. "Modify" and "add" are [`Varpack::insert`] and the other inserts, [`Varpack::get_mut`]
/// and the other mutable getters, and saves: refused in `r` with [`InsertError::ReadOnly`],
/// [`GetError::ReadOnly`] and [`SaveErrorKind::ReadOnly`].
///
/// ```
/// use varpack::{AccessMode, Varpack};
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("p.npz");
/// let mut w = Varpack::access(&path, AccessMode::Write).unwrap();
/// w.insert_array("x", &[1.0f64, 2.0], &[2]).unwrap();
/// assert!(w.array("x").is_err()); // "w" writes only
/// w.save().unwrap();
/// let mut r = Varpack::access(&path, "r".parse().unwrap()).unwrap();
/// assert_eq!(r.array("x").unwrap().to_vec::<f64>().unwrap(), [1.0, 2.0]);
/// assert!(r.insert_value("y", &1).is_err()); // "r" reads only
/// assert!(r.save().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessMode {
    /// `r`: read only.
    Read,
    /// `r+`: read, modify in place (arrays mapped read-write), add; the pack must exist.
    Update,
    /// `w`: write only; the first save replaces the pack.
    Write,
    /// `w+`: read and write; the first save replaces the pack.
    WriteRead,
    /// `a`: write only, adding names to the pack (created if missing).
    Append,
    /// `a+`: read, modify in place and add names (created if missing).
    AppendRead,
}

impl AccessMode {
    /// The mode's `abfopen` spelling.
    ///
    /// ```
    /// assert_eq!(varpack::AccessMode::AppendRead.as_str(), "a+");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            AccessMode::Read => "r",
            AccessMode::Update => "r+",
            AccessMode::Write => "w",
            AccessMode::WriteRead => "w+",
            AccessMode::Append => "a",
            AccessMode::AppendRead => "a+",
        }
    }

    /// Whether values can be read (all modes but `w` and `a`).
    ///
    /// ```
    /// assert!(!varpack::AccessMode::Write.can_read());
    /// ```
    pub fn can_read(self) -> bool {
        !matches!(self, AccessMode::Write | AccessMode::Append)
    }

    /// Whether values can be added or changed and the pack saved (all modes but `r`).
    ///
    /// ```
    /// assert!(!varpack::AccessMode::Read.can_write());
    /// ```
    pub fn can_write(self) -> bool {
        self != AccessMode::Read
    }

    /// The access a pack opened in this mode has.
    pub(crate) fn access(self) -> Access {
        if !self.can_read() {
            Access::WriteOnly
        } else if !self.can_write() {
            Access::ReadOnly
        } else {
            Access::Full
        }
    }
}

impl std::fmt::Display for AccessMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mode string that is not one of `r`, `r+`, `w`, `w+`, `a`, `a+`.
///
/// ```
/// let err = "rw".parse::<varpack::AccessMode>().unwrap_err();
/// assert_eq!(err.to_string(), "unknown access mode \"rw\" (r, r+, w, w+, a or a+)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown access mode {0:?} (r, r+, w, w+, a or a+)")]
pub struct ParseAccessModeError(pub String);

impl std::str::FromStr for AccessMode {
    type Err = ParseAccessModeError;

    fn from_str(s: &str) -> Result<AccessMode, ParseAccessModeError> {
        Ok(match s {
            "r" => AccessMode::Read,
            "r+" => AccessMode::Update,
            "w" => AccessMode::Write,
            "w+" => AccessMode::WriteRead,
            "a" => AccessMode::Append,
            "a+" => AccessMode::AppendRead,
            _ => return Err(ParseAccessModeError(s.to_owned())),
        })
    }
}

/// What a [`Varpack`] may do (from its [`AccessMode`]; everything for packs made otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Access {
    #[default]
    Full,
    ReadOnly,
    WriteOnly,
}

impl Varpack {
    /// Opens the pack at `path` in an AlignedBinaryFormat mode (see [`AccessMode`] for what each
    /// allows). `r` and `r+` load the pack (it must exist); `w` and `w+` start empty and the
    /// first [`save`](Self::save) replaces whatever is at `path`; `a` and `a+` open it to add
    /// values ([`LoadOptions::append`]), creating it on the first save if it is missing.
    ///
    /// # Errors
    /// As [`Varpack::load`] (`r`, `r+`, `a`, `a+`).
    ///
    /// ```
    /// use varpack::{AccessMode, Varpack};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("p");
    /// let mut vp = Varpack::access(&path, AccessMode::WriteRead).unwrap();
    /// vp.insert_array("x", &[1.0f64, 2.0], &[2]).unwrap();
    /// vp.save().unwrap();
    /// let mut vp = Varpack::access(&path, AccessMode::Update).unwrap();
    /// vp.view_mut::<f64>("x").unwrap().as_mut_slice()[0] = -1.0; // written to the file
    /// drop(vp);
    /// let vp = Varpack::access(&path, AccessMode::Read).unwrap();
    /// assert_eq!(vp.array("x").unwrap().to_vec::<f64>().unwrap(), [-1.0, 2.0]);
    /// ```
    pub fn access(path: impl AsRef<Path>, mode: AccessMode) -> Result<Varpack, LoadError> {
        let path = path.as_ref();
        let writable = LoadOptions::new().map_mode(MapMode::ReadWrite);
        let mut vp = match mode {
            AccessMode::Read => Varpack::load(path)?,
            AccessMode::Update => writable.load(path)?,
            AccessMode::Write | AccessMode::WriteRead => Varpack::create(path),
            AccessMode::Append => Varpack::append(path)?,
            AccessMode::AppendRead => writable.append(path)?,
        };
        vp.access = mode.access();
        Ok(vp)
    }

    /// `GetError::WriteOnly` if this pack was opened write only.
    pub(crate) fn check_readable(&self, name: &str) -> Result<(), GetError> {
        match self.access {
            Access::WriteOnly => Err(GetError::WriteOnly {
                name: name.to_owned(),
            }),
            _ => Ok(()),
        }
    }

    /// `GetError::ReadOnly` if this pack was opened read only.
    pub(crate) fn check_mutable(&self, name: &str) -> Result<(), GetError> {
        match self.access {
            Access::ReadOnly => Err(GetError::ReadOnly {
                name: name.to_owned(),
            }),
            _ => Ok(()),
        }
    }

    /// `InsertError::ReadOnly` if this pack was opened read only.
    pub(crate) fn check_insertable(&self, name: &str) -> Result<(), InsertError> {
        match self.access {
            Access::ReadOnly => Err(InsertError::ReadOnly {
                name: name.to_owned(),
            }),
            _ => Ok(()),
        }
    }

    /// `SaveErrorKind::ReadOnly` if this pack was opened read only.
    pub(crate) fn check_savable(&self, path: &Path) -> Result<(), SaveError> {
        match self.access {
            Access::ReadOnly => Err(SaveError::new(path, SaveErrorKind::ReadOnly)),
            _ => Ok(()),
        }
    }
}
