//! Errors, one enum per family of operations.

use std::path::{Path, PathBuf};

use array_files_fs::error::PathError;

use array_files_fs::text::escape_control as esc;

use crate::Kind;

/// Building an [`Array`](crate::Array) or using its bytes.
///
/// ```
/// let err = varpack::Array::from_slice(&[1.0f64, 2.0], &[3]).unwrap_err();
/// assert!(err.to_string().contains("3 elements"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArrayError {
    /// The data does not hold as many bytes as the header needs.
    #[error("the header needs {expected} bytes of data ({elements} elements), {actual} given")]
    Length {
        /// Bytes the header needs.
        expected: u64,
        /// Elements the header needs.
        elements: u64,
        /// Bytes given.
        actual: u64,
    },
    /// Object arrays hold pickles and are refused.
    #[error("object arrays (dtype {dtype}) are not supported")]
    Object {
        /// The dtype.
        dtype: String,
    },
    /// The shape's byte count overflows.
    #[error("shape {shape:?} overflows")]
    Overflow {
        /// The shape.
        shape: Vec<u64>,
    },
    /// The array is mapped read-only.
    #[error("{}: the array is mapped read-only (load with MapMode::ReadWrite or CopyOnWrite, or detach it)", .path.display())]
    ReadOnly {
        /// The file mapped.
        path: PathBuf,
    },
    /// A typed view failed (dtype, byte order or alignment).
    #[error(transparent)]
    View(#[from] npy_format::ViewError),
    /// Flushing a writable map failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Inserting or replacing values.
///
/// ```
/// let mut vp = varpack::Varpack::new();
/// vp.insert_value("n", &1).unwrap();
/// let err = vp.insert_value("n", &2).unwrap_err();
/// assert_eq!(err.to_string(), "value 'n' already exists (use replace to overwrite it)");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InsertError {
    /// The name is taken; [`Varpack::replace`](crate::Varpack::replace) overwrites.
    #[error("value '{}' already exists (use replace to overwrite it)", esc(.name))]
    Exists {
        /// The name.
        name: String,
    },
    /// The name cannot be used.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// The value could not be turned into JSON.
    #[error("value '{}': {source}", esc(.name))]
    Json {
        /// The name.
        name: String,
        /// The serde error.
        source: serde_json::Error,
    },
    /// The array could not be built.
    #[error("value '{}': {source}", esc(.name))]
    Array {
        /// The name.
        name: String,
        /// The error.
        source: ArrayError,
    },
    /// The pack was opened read only ([`AccessMode::Read`](crate::AccessMode::Read)).
    #[error("value '{}': the pack was opened read only (mode r)", esc(.name))]
    ReadOnly {
        /// The name.
        name: String,
    },
}

/// Getting values: what is missing, of another kind, of another dtype, or failed to load.
///
/// ```
/// let mut vp = varpack::Varpack::new();
/// vp.insert_array("x", &[1i32, 2], &[2]).unwrap();
/// assert_eq!(vp.view::<f64>("x").unwrap_err().to_string(),
///            "value 'x': dtype is '<i4', not '<f8'");
/// assert!(matches!(vp.array("y"), Err(varpack::GetError::Missing { .. })));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GetError {
    /// No value of that name.
    #[error("no value '{}'", esc(.name))]
    Missing {
        /// The name.
        name: String,
    },
    /// A dict has no such key.
    #[error("value '{}': no key '{}'", esc(.name), esc(.key))]
    MissingKey {
        /// The dict's name.
        name: String,
        /// The key.
        key: String,
    },
    /// The value is of another kind.
    #[error("value '{}' is {found}, not {expected}", esc(.name))]
    WrongKind {
        /// The name.
        name: String,
        /// What was asked for.
        expected: Kind,
        /// What it is.
        found: Kind,
    },
    /// The array has another dtype.
    #[error("value '{}': dtype is {found}, not {expected}", esc(.name))]
    WrongDType {
        /// The name.
        name: String,
        /// The dtype asked for.
        expected: String,
        /// The array's dtype.
        found: String,
    },
    /// [`get_scalar`](crate::Varpack::get_scalar) of an array with dimensions.
    #[error("value '{}' has shape {shape:?}, not () (a 0-d array)", esc(.name))]
    NotScalar {
        /// The value.
        name: String,
        /// Its shape.
        shape: Vec<u64>,
    },
    /// The value was on the load's ignore list.
    #[error("value '{}' was ignored when the pack was loaded", esc(.name))]
    Ignored {
        /// The name.
        name: String,
    },
    /// The array refused (read-only map, view check).
    #[error("value '{}': {source}", esc(.name))]
    Array {
        /// The name.
        name: String,
        /// The error.
        source: ArrayError,
    },
    /// The JSON value does not deserialize as the type asked for.
    #[error("value '{}': {source}", esc(.name))]
    Json {
        /// The name.
        name: String,
        /// The serde error.
        source: serde_json::Error,
    },
    /// Loading the value (lazily) failed.
    #[error(transparent)]
    Load(#[from] Box<LoadError>),
    /// The pack was opened write only ([`AccessMode::Write`](crate::AccessMode::Write) or
    /// [`Append`](crate::AccessMode::Append)): values cannot be read back.
    #[error("value '{}': the pack was opened write only (modes w and a); open it with r, r+, w+ or a+ to read", esc(.name))]
    WriteOnly {
        /// The name.
        name: String,
    },
    /// The pack was opened read only ([`AccessMode::Read`](crate::AccessMode::Read)): values
    /// cannot be changed.
    #[error("value '{}': the pack was opened read only (mode r); open it with r+ or a+ to modify it", esc(.name))]
    ReadOnly {
        /// The name.
        name: String,
    },
}

/// Loading a pack or one of its values: the file the error is about (the pack, a file or
/// member of it, or its lock file) and a [`LoadErrorKind`].
///
/// ```
/// let err = varpack::Varpack::load("/no/such/pack").unwrap_err();
/// assert_eq!(err.path(), std::path::Path::new("/no/such/pack"));
/// assert!(matches!(err.kind(), varpack::LoadErrorKind::Io { .. }));
/// assert!(err.to_string().starts_with("/no/such/pack: "));
/// ```
pub type LoadError = PathError<LoadErrorKind>;

/// What went wrong loading ([`LoadError`]'s kind).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadErrorKind {
    /// I/O on the file.
    #[error("{source}")]
    Io {
        /// The error.
        source: std::io::Error,
    },
    /// The manifest is missing, not JSON, or not a varpack manifest (the path is the manifest,
    /// or the pack).
    #[error("bad manifest: {}", esc(.reason))]
    Manifest {
        /// Why.
        reason: String,
    },
    /// The manifest's format version is newer than this crate knows.
    #[error("unknown format version {found} (this crate reads version {supported})")]
    Version {
        /// The version found.
        found: u64,
        /// The version supported.
        supported: u64,
    },
    /// A file or member listed in the manifest is missing (the path is the pack).
    #[error("value '{}': {} is missing", esc(.name), esc(.file))]
    MissingFile {
        /// The value.
        name: String,
        /// The file or member.
        file: String,
    },
    /// The manifest disagrees with an array's header (the path is the pack).
    #[error("value '{}': the manifest says {}, the header of {} says {}", esc(.name), esc(.manifest), esc(.file), esc(.header))]
    Mismatch {
        /// The value.
        name: String,
        /// The file or member.
        file: String,
        /// What the manifest says.
        manifest: String,
        /// What the header says.
        header: String,
    },
    /// An `.npy` file (the path) failed to open or map.
    #[error("value '{}': {source}", esc(.name))]
    Npy {
        /// The value.
        name: String,
        /// What npy-format found.
        source: npy_format::ReadErrorKind,
    },
    /// The archive (the path) failed to open.
    #[error(transparent)]
    NpzOpen(npz_stream::OpenErrorKind),
    /// A member of the archive (the path) failed to read.
    #[error("value '{}': {source}", esc(.name))]
    Npz {
        /// The value.
        name: String,
        /// What npz-stream found (it names the member).
        source: Box<npz_stream::ReadErrorKind>,
    },
    /// The file (or the pack's path) is not a regular file: a FIFO, a device, a socket. It is
    /// never opened for reading, so it cannot block the load.
    #[error("{what}, not a regular file; refusing to read it")]
    NotRegular {
        /// What it is ("a FIFO", "a device", ...).
        what: &'static str,
    },
    /// Another process or thread holds the pack's lock (it is saving) and the
    /// [`LockMode`](crate::LockMode) said not to wait (longer).
    #[error("locked by another writer (lock file {})", .lock.display())]
    Locked {
        /// The lock file.
        lock: PathBuf,
    },
    /// The pack was replaced by another save while it was being read, or before a value of a
    /// lazy load was read: the values read so far and the rest would come from two different
    /// saves. Load it again.
    #[error("the pack was replaced by another save while it was being read; load it again")]
    Replaced,
    /// A save of the pack was interrupted between its two renames, so the path is missing; a
    /// read-only [`inspect`](crate::inspect) does not finish it (a [`load`](crate::Varpack::load)
    /// or a save does, under the pack's lock).
    #[error("a save of this pack was interrupted; its complete copy is {} (the next load or save moves it into place)", .complete.display())]
    Interrupted {
        /// The complete pack that a load would move into place.
        complete: PathBuf,
    },
    /// A member of a plain numpy `.npz` is not an array this crate holds (see
    /// [`SkippedMember`](crate::SkippedMember)), and the load was
    /// [strict](crate::LoadOptions::strict).
    #[error("member {}: {}; refusing the archive (strict)", esc(.member), esc(.reason))]
    NotLoadable {
        /// The member's name in the archive.
        member: String,
        /// Why it cannot be loaded.
        reason: String,
    },
    /// A JSON value (in the file) failed to parse.
    #[error("value '{}': {source}", esc(.name))]
    Json {
        /// The value.
        name: String,
        /// The error.
        source: serde_json::Error,
    },
}

/// Saving a pack: the file the error is about (the pack, a file of it, or its lock file) and a
/// [`SaveErrorKind`].
///
/// ```
/// let mut vp = varpack::Varpack::new();
/// let err = vp.save().unwrap_err();
/// assert!(matches!(err.kind(), varpack::SaveErrorKind::NotAttached));
/// assert_eq!(err.to_string(), "the pack has no path to save to (use save_as or set_path)");
/// ```
pub type SaveError = PathError<SaveErrorKind>;

/// What went wrong saving ([`SaveError`]'s kind).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SaveErrorKind {
    /// The pack has no path (so the error's path is empty): use
    /// [`Varpack::save_as`](crate::Varpack::save_as) or [`Varpack::set_path`](crate::Varpack::set_path).
    #[error("the pack has no path to save to (use save_as or set_path)")]
    NotAttached,
    /// I/O on the file or directory.
    #[error("{source}")]
    Io {
        /// The error.
        source: std::io::Error,
    },
    /// The target exists and is not a varpack: it is never replaced.
    #[error("{reason}; refusing to replace it")]
    NotAPack {
        /// What it is.
        reason: &'static str,
    },
    /// Another process or thread holds the pack's lock (it is saving) and the
    /// [`LockMode`](crate::LockMode) said not to wait (longer).
    #[error("locked by another writer (lock file {})", .lock.display())]
    Locked {
        /// The lock file.
        lock: PathBuf,
    },
    /// The pack was opened read only ([`AccessMode::Read`](crate::AccessMode::Read)): it is never
    /// saved over ([`save_as`](crate::Varpack::save_as) to another path still copies it).
    #[error("the pack was opened read only (mode r); refusing to save over it")]
    ReadOnly,
    /// [`Varpack::save_as_new`](crate::Varpack::save_as_new): the target exists.
    #[error("exists; refusing to replace it")]
    Exists,
    /// [`Varpack::save`](crate::Varpack::save) of a pack loaded from object storage (the path is its URL): a save
    /// never writes to storage unless asked by name.
    #[error(
        "loaded from object storage, which save never writes to; save a copy with save_as (a local path) or save_as_location (a URL ending in .npz)"
    )]
    FromStorage,
    /// [`Varpack::save_as_location`](crate::Varpack::save_as_location) of a URL that does not
    /// end in `.npz` (the path is the URL): the directory form is never written to object
    /// storage, where a prefix of objects cannot be replaced atomically (a reader would see a
    /// mix of the old pack and the new).
    #[error(
        "the directory form cannot be saved to object storage (a prefix of objects is never replaced atomically); use a URL ending in .npz for the single-file form"
    )]
    DirectoryToStorage,
    /// A path-taking save ([`save_as`](crate::Varpack::save_as), [`save`](crate::Varpack::save)
    /// after [`set_path`](crate::Varpack::set_path)) was given a URL (`s3://...`): it writes
    /// local paths only, and never a local directory named after a URL;
    /// [`save_as_location`](crate::Varpack::save_as_location) uploads.
    #[error("a URL, not a local path: use save_as_location to save to object storage")]
    Url,
    /// Writing the `.npy` file failed.
    #[error("value '{}': {source}", esc(.name))]
    Npy {
        /// The value.
        name: String,
        /// The error.
        source: npy_format::WriteError,
    },
    /// Writing the archive failed.
    #[error(transparent)]
    Npz(#[from] npz_stream::WriteErrorKind),
    /// A value skipped at load time could not be copied from the old pack (the path is the
    /// file of the old pack that failed).
    #[error("copying a value not loaded: {0}")]
    Load(Box<LoadErrorKind>),
    /// Appending: the name is already in the pack.
    #[error("value '{}' is already in the pack (appends only add values)", esc(.name))]
    Duplicate {
        /// The name.
        name: String,
    },
    /// A fault injected by a test (the save stopped there, as if the process had died): only
    /// with the `fault-injection` feature, which is for this crate's tests.
    #[cfg(feature = "fault-injection")]
    #[error("injected fault: the save stopped at {0:?}")]
    Injected(crate::testing::Fault),
}

/// An I/O error at `path`, as a [`LoadError`] (for `map_err`).
pub(crate) fn io_load(path: &Path) -> impl Fn(std::io::Error) -> LoadError + '_ {
    move |source| LoadError::new(path, LoadErrorKind::Io { source })
}

/// An I/O error at `path`, as a [`SaveError`] (for `map_err`).
pub(crate) fn io_save(path: &Path) -> impl Fn(std::io::Error) -> SaveError + '_ {
    move |source| SaveError::new(path, SaveErrorKind::Io { source })
}

/// A member read error of value `name`, keeping the archive's path.
pub(crate) fn npz_read(name: &str, e: npz_stream::ReadError) -> LoadError {
    e.map_kind(|source| LoadErrorKind::Npz {
        name: name.to_owned(),
        source: Box::new(source),
    })
}

/// A load error met while saving (copying a value not loaded from the old pack).
pub(crate) fn load_in_save(e: LoadError) -> SaveError {
    e.map_kind(|kind| SaveErrorKind::Load(Box::new(kind)))
}

/// The archive writer's error saving the pack at `target`: its refusals (the archive exists,
/// its lock is held) as the pack's, the rest as [`SaveErrorKind::Npz`].
pub(crate) fn npz_save(target: &Path, e: npz_stream::WriteError) -> SaveError {
    let (path, kind) = e.into_parts();
    match kind {
        npz_stream::WriteErrorKind::Exists => SaveError::new(target, SaveErrorKind::Exists),
        npz_stream::WriteErrorKind::Locked => {
            let lock = target.to_path_buf();
            SaveError::new(target, SaveErrorKind::Locked { lock })
        }
        kind => SaveError::new(path, SaveErrorKind::Npz(kind)),
    }
}
