//! Packs written by the tools this crate replaces, read into a [`Varpack`]: folders written by
//! Varpack (the Python package) and AlignedBinaryFormat (`.abf`, the Julia package) files.
//! `varpack convert` runs these, then saves the result in either form of this crate.
//!
//! Everything is read into memory with ordinary reads (a source changed while it is read is an
//! error, never a `SIGBUS`), every length checked against the file before anything is allocated
//! for it. Values this crate cannot hold exactly (Julia-serialized values, pickled Python
//! objects other than plain data) are refused, naming the value, unless
//! [`ConvertOptions::skip_unreadable`] leaves them out, each listed in
//! [`Converted::skipped`].
//!
//! ```
//! # let dir = tempfile::tempdir().unwrap();
//! # let folder = dir.path().join("seed");
//! # std::fs::create_dir(&folder).unwrap();
//! // A folder as Varpack writes it: varpack.json, one .npy per array, the rest pickled.
//! std::fs::write(folder.join("varpack.json"),
//!     r#"{"x": {"size": 152, "filename": "x.npy", "shape": [3], "dtype": "int64"}}"#).unwrap();
//! npy_format::write_file(folder.join("x.npy"), &[1i64, 2, 3], &[3]).unwrap();
//! let converted = varpack::convert::read(&folder, &Default::default()).unwrap();
//! assert_eq!(converted.pack.array("x").unwrap().to_vec::<i64>().unwrap(), [1, 2, 3]);
//! assert!(converted.skipped.is_empty());
//! ```

mod abf;
mod pickle;
mod seed;

use std::path::Path;

use array_files_fs::error::PathError;
use array_files_fs::text::escape_control as esc;

use crate::Varpack;

/// Reading a foreign pack: the file the error is about (the folder, its `varpack.json`, a
/// `.npy` or pickle file of it, the `.abf` file) and a [`ConvertErrorKind`].
///
/// ```
/// let err = varpack::convert::read("/no/such.abf".as_ref(), &Default::default()).unwrap_err();
/// assert!(matches!(err.kind(), varpack::convert::ConvertErrorKind::Io { .. }));
/// ```
pub type ConvertError = PathError<ConvertErrorKind>;

/// What went wrong reading a foreign pack ([`ConvertError`]'s kind).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertErrorKind {
    /// I/O on the file.
    #[error("{source}")]
    Io {
        /// The error.
        #[from]
        source: std::io::Error,
    },
    /// The path is neither a Varpack folder nor an `.abf` file.
    #[error("not a Varpack folder (no varpack.json) nor an AlignedBinaryFormat file (.abf)")]
    Unknown,
    /// The file is not what its format says at `offset`: cut short, a length past its end, a
    /// byte no writer of the format puts there.
    #[error("at byte {offset}: {}", esc(.reason))]
    Corrupt {
        /// Where in the file.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// Varpack's `varpack.json` is not what Varpack writes.
    #[error("bad varpack.json: {}", esc(.reason))]
    Manifest {
        /// What is wrong.
        reason: String,
    },
    /// An `.npy` file of a Varpack folder failed to read.
    #[error("value '{}': {source}", esc(.name))]
    Npy {
        /// The value.
        name: String,
        /// What npy-format found.
        source: npy_format::ReadErrorKind,
    },
    /// A value this crate cannot hold exactly (see [`ConvertOptions::skip_unreadable`]).
    #[error("value '{}': {}", esc(.name), esc(.reason))]
    Unsupported {
        /// The value.
        name: String,
        /// Why, and what to do instead.
        reason: String,
    },
}

/// How [`read`] treats values it cannot hold.
///
/// ```
/// let options = varpack::convert::ConvertOptions::new().skip_unreadable(true);
/// assert!(options.skips_unreadable());
/// ```
#[derive(Debug, Clone, Default)]
pub struct ConvertOptions {
    skip_unreadable: bool,
}

impl ConvertOptions {
    /// Refuse unreadable values (the default).
    ///
    /// ```
    /// assert!(!varpack::convert::ConvertOptions::new().skips_unreadable());
    /// ```
    pub fn new() -> ConvertOptions {
        ConvertOptions::default()
    }

    /// Leave out values this crate cannot hold exactly (Julia-serialized values of an `.abf`
    /// file; pickled Python objects of a Varpack folder other than plain data, and object
    /// arrays) instead of refusing the whole pack; [`Converted::skipped`] lists them.
    ///
    /// ```
    /// let options = varpack::convert::ConvertOptions::new().skip_unreadable(true);
    /// assert!(options.skips_unreadable());
    /// ```
    pub fn skip_unreadable(mut self, yes: bool) -> ConvertOptions {
        self.skip_unreadable = yes;
        self
    }

    /// Whether unreadable values are left out.
    ///
    /// ```
    /// assert!(!varpack::convert::ConvertOptions::default().skips_unreadable());
    /// ```
    pub fn skips_unreadable(&self) -> bool {
        self.skip_unreadable
    }
}

/// What [`read`] made of a foreign pack.
#[derive(Debug)]
#[non_exhaustive]
pub struct Converted {
    /// Its values, in memory, not attached to any path.
    pub pack: Varpack,
    /// The values left out ([`ConvertOptions::skip_unreadable`]): name and why.
    pub skipped: Vec<(String, String)>,
}

/// The kinds of foreign packs [`read`] knows.
///
/// ```
/// use varpack::convert::{Foreign, detect};
/// assert_eq!(detect("run.abf".as_ref()), Some(Foreign::AlignedBinaryFormat));
/// assert_eq!(detect("/no/such/folder".as_ref()), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Foreign {
    /// A folder written by Varpack (Python): `varpack.json` without this crate's `"format"`.
    VarpackFolder,
    /// An AlignedBinaryFormat (Julia) file: its name ends in `.abf`.
    AlignedBinaryFormat,
}

/// Which foreign pack `path` is, if any: a name ending in `.abf`, or a directory whose
/// `varpack.json` is Varpack's (a JSON object of variables) rather than this crate's manifest.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// let mut vp = varpack::Varpack::new();
/// vp.insert_value("n", &1).unwrap();
/// vp.save_as(dir.path().join("ours")).unwrap();
/// assert_eq!(varpack::convert::detect(&dir.path().join("ours")), None);
/// ```
pub fn detect(path: &Path) -> Option<Foreign> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("abf"))
    {
        return Some(Foreign::AlignedBinaryFormat);
    }
    seed::is_seed_folder(path).then_some(Foreign::VarpackFolder)
}

/// Reads the foreign pack at `path` ([`detect`] tells which kind) into memory.
///
/// # Errors
/// [`ConvertErrorKind::Unknown`] if it is neither kind; [`ConvertError`] naming the file and
/// the value or byte offset at fault. Nothing is written.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("empty.abf");
/// std::fs::write(&path, b"").unwrap(); // no records: an empty pack
/// let converted = varpack::convert::read(&path, &Default::default()).unwrap();
/// assert!(converted.pack.is_empty());
/// ```
pub fn read(path: &Path, options: &ConvertOptions) -> Result<Converted, ConvertError> {
    match detect(path) {
        Some(Foreign::AlignedBinaryFormat) => abf::read(path, options),
        Some(Foreign::VarpackFolder) => seed::read(path, options),
        None => Err(ConvertError::new(path, ConvertErrorKind::Unknown)),
    }
}

/// An I/O error at `path` (for `map_err`).
fn io(path: &Path) -> impl Fn(std::io::Error) -> ConvertError + '_ {
    move |source| ConvertError::new(path, ConvertErrorKind::Io { source })
}

/// Collects values into a pack, leaving out (or refusing) unreadable ones as the options say.
struct Collector<'a> {
    pack: Varpack,
    skipped: Vec<(String, String)>,
    options: &'a ConvertOptions,
}

impl<'a> Collector<'a> {
    fn new(options: &'a ConvertOptions) -> Collector<'a> {
        Collector {
            pack: Varpack::new(),
            skipped: Vec::new(),
            options,
        }
    }

    /// Adds value `name`, read from `path`; an unreadable value (`Err(reason)`) is skipped or
    /// refused.
    fn add(
        &mut self,
        path: &Path,
        name: &str,
        value: Result<crate::Value, String>,
    ) -> Result<(), ConvertError> {
        let unsupported = |reason: String| {
            let name = name.to_owned();
            ConvertError::new(path, ConvertErrorKind::Unsupported { name, reason })
        };
        let added = value.and_then(|v| self.pack.insert(name, v).map_err(|e| e.to_string()));
        match added {
            Ok(()) => Ok(()),
            Err(reason) if self.options.skip_unreadable => {
                self.skipped.push((name.to_owned(), reason));
                Ok(())
            }
            Err(reason) => Err(unsupported(reason)),
        }
    }

    fn finish(self) -> Converted {
        Converted {
            pack: self.pack,
            skipped: self.skipped,
        }
    }
}
