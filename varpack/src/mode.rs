//! AlignedBinaryFormat's open modes (`r`, `r+`, `w`, `w+`, `a`, `a+`) over this crate's
//! loads and saves, with the same permissions: what a mode cannot do is refused with a typed
//! error before anything is read or written.

use std::path::Path;

use crate::{
    GetError, InsertError, LoadError, LoadOptions, MapMode, SaveError, SaveErrorKind, Varpack,
};

/// How [`Varpack::open`] opens a pack, as AlignedBinaryFormat's `abfopen` modes.
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
/// use varpack::{OpenMode, Varpack};
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("p.npz");
/// let mut w = Varpack::open(&path, OpenMode::Write).unwrap();
/// w.insert_array("x", &[1.0f64, 2.0], &[2]).unwrap();
/// assert!(w.array("x").is_err()); // "w" writes only
/// w.save().unwrap();
/// let mut r = Varpack::open(&path, "r".parse().unwrap()).unwrap();
/// assert_eq!(r.array("x").unwrap().to_vec::<f64>().unwrap(), [1.0, 2.0]);
/// assert!(r.insert_value("y", &1).is_err()); // "r" reads only
/// assert!(r.save().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpenMode {
    /// `r`: read only.
    Read,
    /// `r+`: read, modify in place, add; the pack must exist.
    ReadWrite,
    /// `w`: write only; the first save replaces the pack.
    Write,
    /// `w+`: read and write; the first save replaces the pack.
    WriteRead,
    /// `a`: write only, adding names to the pack (created if missing).
    Append,
    /// `a+`: read, modify in place and add names (created if missing).
    AppendRead,
}

impl OpenMode {
    /// The mode's `abfopen` spelling.
    ///
    /// ```
    /// assert_eq!(varpack::OpenMode::AppendRead.as_str(), "a+");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            OpenMode::Read => "r",
            OpenMode::ReadWrite => "r+",
            OpenMode::Write => "w",
            OpenMode::WriteRead => "w+",
            OpenMode::Append => "a",
            OpenMode::AppendRead => "a+",
        }
    }

    /// Whether values can be read (all modes but `w` and `a`).
    ///
    /// ```
    /// assert!(!varpack::OpenMode::Write.can_read());
    /// ```
    pub fn can_read(self) -> bool {
        !matches!(self, OpenMode::Write | OpenMode::Append)
    }

    /// Whether values can be added or changed and the pack saved (all modes but `r`).
    ///
    /// ```
    /// assert!(!varpack::OpenMode::Read.can_write());
    /// ```
    pub fn can_write(self) -> bool {
        self != OpenMode::Read
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

impl std::fmt::Display for OpenMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mode string that is not one of `r`, `r+`, `w`, `w+`, `a`, `a+`.
///
/// ```
/// let err = "rw".parse::<varpack::OpenMode>().unwrap_err();
/// assert_eq!(err.to_string(), "unknown open mode \"rw\" (r, r+, w, w+, a or a+)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown open mode {0:?} (r, r+, w, w+, a or a+)")]
pub struct ParseOpenModeError(pub String);

impl std::str::FromStr for OpenMode {
    type Err = ParseOpenModeError;

    fn from_str(s: &str) -> Result<OpenMode, ParseOpenModeError> {
        Ok(match s {
            "r" => OpenMode::Read,
            "r+" => OpenMode::ReadWrite,
            "w" => OpenMode::Write,
            "w+" => OpenMode::WriteRead,
            "a" => OpenMode::Append,
            "a+" => OpenMode::AppendRead,
            _ => return Err(ParseOpenModeError(s.to_owned())),
        })
    }
}

/// What a [`Varpack`] may do (from its [`OpenMode`]; everything for packs made otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Access {
    #[default]
    Full,
    ReadOnly,
    WriteOnly,
}

impl Varpack {
    /// Opens the pack at `path` in an AlignedBinaryFormat mode (see [`OpenMode`] for what each
    /// allows). `r` and `r+` load the pack (it must exist); `w` and `w+` start empty and the
    /// first [`save`](Self::save) replaces whatever is at `path`; `a` and `a+` open it to add
    /// values ([`LoadOptions::append`]), creating it on the first save if it is missing.
    ///
    /// # Errors
    /// As [`Varpack::load`] (`r`, `r+`, `a`, `a+`).
    ///
    /// ```
    /// use varpack::{OpenMode, Varpack};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("p");
    /// let mut vp = Varpack::open(&path, OpenMode::WriteRead).unwrap();
    /// vp.insert_array("x", &[1.0f64, 2.0], &[2]).unwrap();
    /// vp.save().unwrap();
    /// let mut vp = Varpack::open(&path, OpenMode::ReadWrite).unwrap();
    /// vp.view_mut::<f64>("x").unwrap().as_mut_slice()[0] = -1.0; // written to the file
    /// drop(vp);
    /// let vp = Varpack::open(&path, OpenMode::Read).unwrap();
    /// assert_eq!(vp.array("x").unwrap().to_vec::<f64>().unwrap(), [-1.0, 2.0]);
    /// ```
    pub fn open(path: impl AsRef<Path>, mode: OpenMode) -> Result<Varpack, LoadError> {
        let path = path.as_ref();
        let writable = LoadOptions::new().map_mode(MapMode::ReadWrite);
        let mut vp = match mode {
            OpenMode::Read => Varpack::load(path)?,
            OpenMode::ReadWrite => writable.load(path)?,
            OpenMode::Write | OpenMode::WriteRead => Varpack::create(path),
            OpenMode::Append => Varpack::append(path)?,
            OpenMode::AppendRead => writable.append(path)?,
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
