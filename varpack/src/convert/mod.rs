//! Packs written by the tools this crate replaces, read into a [`Varpack`]: folders written by
//! Varpack (the Python package) and AlignedBinaryFormat (`.abf`, the Julia package) files; and
//! [`convert`], what `varpack convert` runs: any pack (these, this crate's two forms, a plain
//! numpy `.npz`) copied into either form of this crate, one value in memory at a time.
//!
//! # What is left out, and the two switches
//!
//! Some values cannot be converted exactly: pickled Python objects and Julia-serialized values
//! of a foreign pack; in a plain numpy `.npz`, members that are not arrays (text, JSON,
//! directories), members compressed with methods npz-stream does not decode (bzip2, lzma),
//! object arrays (pickles) and headers over the limit. What happens to them by default follows
//! what the source's own reader does:
//!
//! | source | default | [`skip_unreadable`](ConvertOptions::skip_unreadable) | [`strict`](ConvertOptions::strict) |
//! |---|---|---|---|
//! | Varpack folder, `.abf` file | refused (a migration is complete or fails) | left out, listed | refused |
//! | plain numpy `.npz` | left out, listed (as `np.load` reads the other keys) | left out, listed | refused |
//!
//! So `strict` refuses in every source and `skip_unreadable` leaves out in every source; with
//! both, `strict` wins (the command line refuses the two together). Whatever is left out is
//! listed in the result ([`Skipped`]).
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
//! let converted = varpack::convert::read(&folder).unwrap();
//! assert_eq!(converted.pack.array("x").unwrap().to_vec::<i64>().unwrap(), [1, 2, 3]);
//! assert!(converted.skipped.is_empty());
//! ```

mod abf;
mod pickle;
mod seed;

use std::ffi::OsStr;
use std::path::Path;

use array_files_fs::error::PathError;
use array_files_fs::text::escape_control as esc;

use crate::Varpack;

/// Reading a foreign pack: the file the error is about (the folder, its `varpack.json`, a
/// `.npy` or pickle file of it, the `.abf` file) and a [`ConvertErrorKind`].
///
/// ```
/// let err = varpack::convert::read("/no/such.abf".as_ref()).unwrap_err();
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
    /// Loading a pack of this crate or a plain numpy `.npz` failed (the path is the file).
    #[error(transparent)]
    Load(Box<crate::LoadErrorKind>),
    /// Saving the converted pack failed (the path is the file).
    #[error(transparent)]
    Save(Box<crate::SaveErrorKind>),
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
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    skip_unreadable: bool,
    strict: bool,
    max_header_size: usize,
    replace: bool,
}

impl Default for ConvertOptions {
    fn default() -> ConvertOptions {
        ConvertOptions {
            skip_unreadable: false,
            strict: false,
            max_header_size: npy_format::header::DEFAULT_MAX_HEADER_SIZE,
            replace: false,
        }
    }
}

impl ConvertOptions {
    /// The defaults: a foreign pack's unreadable values refused, a plain numpy `.npz`'s left
    /// out (see the [module docs](self#what-is-left-out-and-the-two-switches)), numpy's header
    /// limit, an existing output refused.
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

    /// Refuse every value or member that cannot be converted exactly, in every kind of source
    /// (a plain numpy `.npz` included, whose odd members are otherwise left out); overrides
    /// [`skip_unreadable`](Self::skip_unreadable).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("numpy.npz");
    /// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// npz.add_array("x", &[1u8], &[1]).unwrap();
    /// npz.add_file("notes.txt", b"hello").unwrap();
    /// npz.finish().unwrap();
    /// use varpack::convert::{ConvertOptions, convert};
    /// let skipped = convert(&path, &dir.path().join("a")).unwrap();
    /// assert_eq!(skipped[0].name, "notes.txt");
    /// let strict = ConvertOptions::new().strict(true);
    /// assert!(strict.convert(&path, &dir.path().join("b")).is_err());
    /// assert!(!dir.path().join("b").exists());
    /// ```
    pub fn strict(mut self, yes: bool) -> ConvertOptions {
        self.strict = yes;
        self
    }

    /// The longest NPY header accepted, in characters (default numpy's 10000): raise it for
    /// trusted sources only (see [`LoadOptions::max_header_size`](crate::LoadOptions::max_header_size)).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("wide.npz");
    /// // An array whose header is longer than numpy's limit (a record of 1000 fields).
    /// let fields: Vec<String> = (0..1000).map(|i| format!("('f{i:03}', '<u1')")).collect();
    /// let dtype = varpack::npy_format::DType::parse(&format!("[{}]", fields.join(", "))).unwrap();
    /// let header = varpack::npy_format::Header::new(dtype, false, vec![1]);
    /// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// npz.add_raw("wide", &header, &[0u8; 1000]).unwrap();
    /// npz.finish().unwrap();
    /// use varpack::convert::ConvertOptions;
    /// let strict = ConvertOptions::new().strict(true);
    /// assert!(strict.clone().convert(&path, &dir.path().join("a")).is_err());
    /// strict.max_header_size(100_000).convert(&path, &dir.path().join("b")).unwrap();
    /// ```
    pub fn max_header_size(mut self, max: usize) -> ConvertOptions {
        self.max_header_size = max;
        self
    }

    /// Replace an existing output (a pack, or an empty directory; never anything else)
    /// instead of refusing it (default false).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let (input, output) = (dir.path().join("in"), dir.path().join("out.npz"));
    /// # let mut vp = varpack::Varpack::new();
    /// # vp.insert_value("n", &1).unwrap();
    /// # vp.save_as(&input).unwrap();
    /// # vp.save_as(&output).unwrap();
    /// use varpack::convert::{ConvertOptions, convert};
    /// assert!(convert(&input, &output).is_err());
    /// assert!(ConvertOptions::new().replace(true).convert(&input, &output).is_ok());
    /// ```
    pub fn replace(mut self, yes: bool) -> ConvertOptions {
        self.replace = yes;
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
/// let converted = varpack::convert::read(&path).unwrap();
/// assert!(converted.pack.is_empty());
/// ```
pub fn read(path: &Path) -> Result<Converted, ConvertError> {
    ConvertOptions::new().read(path)
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
            Err(reason) if self.options.skip_unreadable && !self.options.strict => {
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

/// A value or member [`convert`] left out, and why.
///
/// ```
/// let skipped = varpack::convert::Skipped {
///     name: "obj.npy".into(), member: true, reason: "an object array".into() };
/// assert_eq!(skipped.to_string(), "member 'obj.npy': an object array");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The value's name (a foreign pack), or the member's name (a plain numpy `.npz`).
    pub name: String,
    /// Whether `name` is an archive member's name rather than a value's.
    pub member: bool,
    /// Why it was left out.
    pub reason: String,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.member { "member" } else { "value" };
        write!(f, "{what} '{}': {}", esc(&self.name), esc(&self.reason))
    }
}

/// Converts the pack at `input` into a pack at `output` (a directory, or one file if it ends in
/// `.npz`): a foreign pack ([`detect`]) is read as [`read`] reads it; a pack of this crate, or
/// any other `.npz` (a plain numpy archive), is loaded lazily without maps and each value is
/// read when it is written and dropped after, so memory holds one value at a time (plus
/// buffers) and no map is held at all. Returns what was left out (see the
/// [module docs](self#what-is-left-out-and-the-two-switches)).
///
/// # Errors
/// [`ConvertError`]: the source refused (an unreadable value without
/// [`skip_unreadable`](ConvertOptions::skip_unreadable), any left-out member with
/// [`strict`](ConvertOptions::strict)), [`ConvertErrorKind::Load`],
/// [`ConvertErrorKind::Save`] (an existing output without
/// [`replace`](ConvertOptions::replace) is [`SaveErrorKind::Exists`](crate::SaveErrorKind::Exists)).
/// Nothing is written at `output` unless the whole conversion succeeds.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("numpy.npz");
/// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
/// npz.add_array("x", &[1.5f64, 2.5], &[2]).unwrap();
/// npz.finish().unwrap();
/// let out = dir.path().join("pack");
/// let skipped = varpack::convert::convert(&path, &out).unwrap();
/// assert!(skipped.is_empty());
/// let vp = varpack::Varpack::load(&out).unwrap();
/// assert_eq!(vp.view::<f64>("x").unwrap().as_slice(), &[1.5, 2.5]);
/// ```
pub fn convert(input: &Path, output: &Path) -> Result<Vec<Skipped>, ConvertError> {
    ConvertOptions::new().convert(input, output)
}

impl ConvertOptions {
    /// Reads the foreign pack at `path` ([`detect`] tells which kind) into memory, as
    /// [`read`] does with these options.
    ///
    /// # Errors
    /// As [`read`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("run.abf");
    /// // One Julia-serialized record: refused, unless skipped.
    /// let mut abf = vec![0u8];
    /// for s in ["t", "DataType"] {
    ///     abf.extend_from_slice(&(4 * s.len() as i64).to_le_bytes());
    ///     abf.extend_from_slice(s.as_bytes());
    /// }
    /// abf.extend_from_slice(&1i64.to_le_bytes());
    /// abf.push(0);
    /// std::fs::write(&path, &abf).unwrap();
    /// let options = varpack::convert::ConvertOptions::new();
    /// assert!(options.read(&path).is_err());
    /// let converted = options.skip_unreadable(true).read(&path).unwrap();
    /// assert_eq!(converted.skipped[0].0, "t");
    /// ```
    pub fn read(&self, path: &Path) -> Result<Converted, ConvertError> {
        match detect(path) {
            Some(Foreign::AlignedBinaryFormat) => abf::read(path, self),
            Some(Foreign::VarpackFolder) => seed::read(path, self),
            None => Err(ConvertError::new(path, ConvertErrorKind::Unknown)),
        }
    }

    /// Converts the pack at `input` into a pack at `output`, as [`convert`] does with these
    /// options.
    ///
    /// # Errors
    /// As [`convert`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("n", &1).unwrap();
    /// vp.save_as(dir.path().join("a")).unwrap();
    /// std::fs::create_dir(dir.path().join("b")).unwrap();
    /// std::fs::write(dir.path().join("b/note"), "mine").unwrap();
    /// let options = varpack::convert::ConvertOptions::new();
    /// // Not a pack at the output: never replaced, even with replace(true).
    /// assert!(options.clone().replace(true).convert(&dir.path().join("a"), &dir.path().join("b")).is_err());
    /// options.convert(&dir.path().join("a"), &dir.path().join("c.npz")).unwrap();
    /// ```
    pub fn convert(&self, input: &Path, output: &Path) -> Result<Vec<Skipped>, ConvertError> {
        convert_with(input.as_os_str(), output.as_os_str(), self)
    }

    /// As [`convert`](Self::convert), `input` and `output` each a local path or a URL of
    /// object storage (feature `remote`; see
    /// [`LoadOptions::load_location`](crate::LoadOptions::load_location)). A pack of this
    /// crate (either form) or a plain numpy `.npz` in storage is loaded lazily and read one
    /// value at a time as it is written; a URL as `output` must end in `.npz` (the single-file
    /// form, uploaded whole by [`Varpack::save_as_location`]: the directory form is never
    /// written to storage), and an object there is refused unless
    /// [`replace`](Self::replace). Foreign packs (Varpack folders, `.abf` files) are read from
    /// local paths only.
    ///
    /// # Errors
    /// As [`convert`](Self::convert), naming the URL;
    /// [`SaveErrorKind::DirectoryToStorage`](crate::SaveErrorKind::DirectoryToStorage) for an
    /// `output` URL not ending in `.npz`.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let input = dir.path().join("a");
    /// # let mut vp = varpack::Varpack::new();
    /// # vp.insert_value("n", &1).unwrap();
    /// # vp.save_as(&input).unwrap();
    /// use varpack::convert::{ConvertErrorKind, ConvertOptions};
    /// let err = ConvertOptions::new().convert_location(&input, "s3://bucket/runs/a").unwrap_err();
    /// assert_eq!(err.path(), std::path::Path::new("s3://bucket/runs/a"));
    /// assert!(matches!(err.kind(), ConvertErrorKind::Save(_)));
    /// ```
    pub fn convert_location(
        &self,
        input: impl AsRef<OsStr>,
        output: impl AsRef<OsStr>,
    ) -> Result<Vec<Skipped>, ConvertError> {
        convert_with(input.as_ref(), output.as_ref(), self)
    }
}

/// [`ConvertOptions::convert_location`] (and [`ConvertOptions::convert`], of paths).
fn convert_with(
    input: &OsStr,
    output: &OsStr,
    options: &ConvertOptions,
) -> Result<Vec<Skipped>, ConvertError> {
    let local = !input.to_str().is_some_and(npy_format::source::is_url);
    let (vp, skipped) = if local && detect(Path::new(input)).is_some() {
        let converted = options.read(Path::new(input))?;
        let skipped = converted.skipped.into_iter().map(|(name, reason)| Skipped {
            name,
            member: false,
            reason,
        });
        (converted.pack, skipped.collect())
    } else {
        // Lazy and not mapped: each value is read (with ordinary reads: an input truncated
        // meanwhile is an error, not a SIGBUS; from storage, by requests) when the save
        // writes it.
        let vp = crate::LoadOptions::new()
            .lazy(true)
            .memory_map(false)
            .max_header_size(options.max_header_size)
            .strict(options.strict)
            .load_location(input)
            .map_err(|e| e.map_kind(|k| ConvertErrorKind::Load(Box::new(k))))?;
        let skipped = vp.skipped_members().iter().map(|s| Skipped {
            name: s.member.clone(),
            member: true,
            reason: s.reason.clone(),
        });
        let skipped = skipped.collect();
        (vp, skipped)
    };
    let saved = if options.replace {
        vp.save_as_location(output)
    } else {
        vp.save_as_new_location(output)
    };
    // A value read as it is written fails as a load of the input does, not as a save.
    saved.map_err(|e| {
        e.map_kind(|k| match k {
            crate::SaveErrorKind::Load(k) => ConvertErrorKind::Load(k),
            k => ConvertErrorKind::Save(Box::new(k)),
        })
    })?;
    Ok(skipped)
}
