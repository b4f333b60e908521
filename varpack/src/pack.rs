//! The pack: values, load, save.

use array_files_fs::map::{MapOptions, Mmap};
use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use npy_format::{Element, Header, Mode, TypedView, TypedViewMut};
use npz_stream::{NpzReader, NpzWriter};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::array::MemberMap;
use crate::error::{ArrayError, GetError, InsertError, LoadError, SaveError};
use array_files_fs::atomic::copy_mode_and_owner;

use crate::fsx::{self, LockFail, LockMode, OpenFail, identity, sync_dir};
use crate::manifest::{self, DictEntry, Entry, Manifest, dtype_json};
use crate::names::{self, MANIFEST, NPZ_MANIFEST, VALUES};
use crate::temps::{self, Guard, parent_of};
use crate::testing::{self, Fault};
use crate::{Array, Kind, Status, Value};

/// The two on-disk forms.
///
/// ```
/// assert_eq!(varpack::Form::for_path("a.npz"), varpack::Form::File);
/// assert_eq!(varpack::Form::for_path("a"), varpack::Form::Directory);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Form {
    /// A directory of `.npy` and JSON files with `varpack.json`.
    Directory,
    /// One uncompressed `.npz`.
    File,
}

impl Form {
    /// [`Form::File`] for paths ending in `.npz` (any case), else [`Form::Directory`].
    ///
    /// ```
    /// assert_eq!(varpack::Form::for_path("x/Y.NPZ"), varpack::Form::File);
    /// ```
    pub fn for_path(path: impl AsRef<Path>) -> Form {
        let is_npz = path
            .as_ref()
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npz"));
        if is_npz { Form::File } else { Form::Directory }
    }
}

/// How [`Varpack::open`] opens a pack (AlignedBinaryFormat's modes).
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("p.npz");
/// let mut vp = varpack::Varpack::open(&path, varpack::OpenMode::Write).unwrap();
/// vp.insert_array("a", &[1u8], &[1]).unwrap();
/// vp.save().unwrap();
/// let mut vp = varpack::Varpack::open(&path, varpack::OpenMode::Append).unwrap();
/// assert!(vp.insert_array("a", &[2u8], &[1]).is_err()); // duplicates refused
/// vp.insert_array("b", &[2u8], &[1]).unwrap();
/// vp.save().unwrap();
/// assert_eq!(varpack::Varpack::load(&path).unwrap().names(), vec!["a", "b"]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenMode {
    /// Load, arrays mapped read-only.
    Read,
    /// Load, arrays mapped read-write: writes go to the pack.
    ReadWrite,
    /// An empty pack at the path: the first save creates or replaces it.
    Write,
    /// Open lazily to add values: existing names are refused, a save adds the new values in
    /// place (creating the pack if it does not exist). A directory's manifest is replaced by
    /// rename, so a crash leaves the old pack or the new one; a single `.npz` is appended to in
    /// place ([`NpzWriter::append`](npz_stream::NpzWriter::append), which takes the archive's
    /// lock with the pack's [`LockMode`]): a failed save restores it, a process killed mid-save
    /// leaves the old archive followed by bytes that readers ignore and the next append cuts
    /// off. The save runs under the pack's lock and re-reads the manifest there, so values
    /// appended meanwhile by another process are kept.
    Append,
}

/// Options for [`Varpack::load_with`].
///
/// ```
/// use varpack::{LoadOptions, MapMode};
/// let opts = LoadOptions::new().ignore(["big"]).map_mode(MapMode::CopyOnWrite).lazy(true);
/// # let _ = opts;
/// ```
#[derive(Debug, Clone)]
pub struct LoadOptions {
    ignore: HashSet<String>,
    mode: Mode,
    lazy: bool,
    memory_map: bool,
    lock: LockMode,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            ignore: HashSet::new(),
            mode: Mode::ReadOnly,
            lazy: false,
            memory_map: true,
            lock: LockMode::Wait,
        }
    }
}

impl LoadOptions {
    /// Defaults: nothing ignored, read-only maps, eager, memory-mapped, waiting for a save in
    /// progress.
    ///
    /// ```
    /// let opts = varpack::LoadOptions::new();
    /// # let _ = opts;
    /// ```
    pub fn new() -> LoadOptions {
        LoadOptions::default()
    }

    /// Whether arrays are memory-mapped (default true). With `false` every array is read into
    /// memory with ordinary reads (the single-file form's archive too): a file truncated by
    /// another program while it is read gives an error instead of the `SIGBUS` that kills a
    /// process reading a map past the end of its file. [`map_mode`](Self::map_mode) is then
    /// ignored (arrays are in memory, writable).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p");
    /// # let mut vp = varpack::Varpack::new();
    /// # vp.insert_array("x", &[1u8, 2], &[2]).unwrap();
    /// # vp.save_as(&path).unwrap();
    /// let vp = varpack::Varpack::load_with(&path, varpack::LoadOptions::new().memory_map(false)).unwrap();
    /// assert_eq!(vp.status("x"), Some(varpack::Status::Loaded));
    /// ```
    pub fn memory_map(mut self, yes: bool) -> LoadOptions {
        self.memory_map = yes;
        self
    }

    /// What a load does when a save of the pack is in progress (default [`LockMode::Wait`]):
    /// a load that finds a directory save interrupted between its renames finishes it under the
    /// pack's exclusive lock, and a load that keeps finding the pack replaced while it reads
    /// it takes the lock shared. The loaded pack's saves use the same mode
    /// ([`Varpack::set_lock_mode`]).
    ///
    /// ```
    /// let opts = varpack::LoadOptions::new().lock(varpack::LockMode::FailFast);
    /// # let _ = opts;
    /// ```
    pub fn lock(mut self, mode: LockMode) -> LoadOptions {
        self.lock = mode;
        self
    }

    /// Values never read (their files are not even opened); a later save copies them.
    ///
    /// ```
    /// let opts = varpack::LoadOptions::new().ignore(["a", "b"]);
    /// # let _ = opts;
    /// ```
    pub fn ignore<I, S>(mut self, names: I) -> LoadOptions
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.ignore.extend(names.into_iter().map(Into::into));
        self
    }

    /// How arrays are mapped (default [`MapMode::ReadOnly`](crate::MapMode::ReadOnly)).
    ///
    /// ```
    /// let opts = varpack::LoadOptions::new().map_mode(varpack::MapMode::ReadWrite);
    /// # let _ = opts;
    /// ```
    pub fn map_mode(mut self, mode: Mode) -> LoadOptions {
        self.mode = mode;
        self
    }

    /// Read only the manifest; each value is read on first access (default false).
    ///
    /// ```
    /// let opts = varpack::LoadOptions::new().lazy(true);
    /// # let _ = opts;
    /// ```
    pub fn lazy(mut self, lazy: bool) -> LoadOptions {
        self.lazy = lazy;
        self
    }
}

/// The pack a value can be read from.
#[derive(Debug)]
struct Source {
    path: PathBuf,
    form: Form,
    npz: Option<NpzReader>,
    generation: u64,
    /// One read-only map of the whole archive (single-file form), made on first use and shared
    /// by every member mapped read-only.
    archive_map: OnceLock<Arc<Mmap>>,
    /// The directory or archive as it was opened: held open so that its identity (device and
    /// inode) cannot be reused while this source lives.
    held: File,
    /// Its identity: a save replaces the pack by rename, so a path that no longer leads to
    /// this identity was replaced.
    id: (u64, u64),
    /// Arrays are mapped (else read into memory).
    mapped: bool,
}

impl Source {
    /// The read-only map of the whole archive, made once, of the archive as it was opened.
    fn archive_map(&self) -> std::io::Result<&Arc<Mmap>> {
        if let Some(map) = self.archive_map.get() {
            return Ok(map);
        }
        // The crate documents (Varpack, Array) the contract that makes the map sound (see
        // `array_files_fs::map`): a pack is not truncated or rewritten by others while its values
        // are mapped (this crate's own saves replace it by rename, which leaves the mapped file
        // intact); every member range is checked against the map's length.
        let map = MapOptions::new().map(&self.held)?;
        Ok(self.archive_map.get_or_init(|| Arc::new(map)))
    }

    /// Whether the path still leads to the pack this source read.
    fn is_current(&self) -> bool {
        fs::metadata(&self.path).is_ok_and(|m| identity(&m) == self.id)
    }

    /// [`LoadError::Replaced`] if the pack was replaced since it was opened. Called after
    /// opening a file of a directory pack by path: if the directory is still the one read, the
    /// open resolved inside it (a replaced directory never comes back: saves rename new
    /// directories into place, and the held one cannot be recycled).
    fn check_current(&self) -> Result<(), LoadError> {
        if self.is_current() {
            Ok(())
        } else {
            Err(LoadError::Replaced {
                path: self.path.clone(),
            })
        }
    }

    /// `err`, or [`LoadError::Replaced`] if the pack was replaced (a file missing because the
    /// directory was swapped is not the pack's fault).
    fn or_replaced(&self, err: LoadError) -> LoadError {
        match err {
            LoadError::Replaced { .. } => err,
            err if self.is_current() => err,
            _ => LoadError::Replaced {
                path: self.path.clone(),
            },
        }
    }
}

fn open_fail(path: &Path, e: OpenFail) -> LoadError {
    match e {
        OpenFail::Io(source) => LoadError::Io {
            path: path.to_path_buf(),
            source,
        },
        OpenFail::NotRegular(what) => LoadError::NotRegular {
            path: path.to_path_buf(),
            what,
        },
    }
}

/// Opens file `file` of a directory pack (a regular file, never blocking on a FIFO), checking
/// that the directory was not replaced since the source was opened.
fn open_in_dir(
    source: &Source,
    name: &str,
    file: &str,
    write: bool,
) -> Result<(File, PathBuf), LoadError> {
    let path = source.path.join(file);
    let opened = if write {
        fsx::open_regular_rw(&path)
    } else {
        fsx::open_regular(&path)
    };
    let f = opened.map_err(|e| match e {
        OpenFail::Io(io) => missing_or(source, name, file, &path, io),
        e => open_fail(&path, e),
    });
    source.check_current()?;
    Ok((f?, path))
}

#[derive(Debug)]
struct Slot {
    meta: Option<Entry>,
    source: Option<Arc<Source>>,
    cell: OnceLock<Value>,
    separate: bool,
    ignored: bool,
    mode: Mode,
}

impl Slot {
    fn new(value: Value) -> Slot {
        Slot {
            meta: None,
            source: None,
            cell: OnceLock::from(value),
            separate: false,
            ignored: false,
            mode: Mode::ReadOnly,
        }
    }

    fn kind(&self) -> Kind {
        match (self.cell.get(), &self.meta) {
            (Some(v), _) => v.kind(),
            (None, Some(m)) => m.kind,
            (None, None) => Kind::Json,
        }
    }
}

/// A named set of values: arrays, dicts of arrays, JSON values.
///
/// Names are unique; [`insert`](Self::insert) refuses a name in use and
/// [`replace`](Self::replace) overwrites explicitly. Values are listed sorted by name.
///
/// ```
/// let mut vp = varpack::Varpack::new();
/// vp.insert_array("x", &[1i16, 2, 3], &[3]).unwrap();
/// vp.insert_value("label", "first run").unwrap();
/// assert_eq!(vp.names(), vec!["label", "x"]);
/// assert_eq!(vp.get_value::<String>("label").unwrap(), "first run");
/// assert_eq!(vp.array("x").unwrap().to_vec::<i16>().unwrap(), vec![1, 2, 3]);
/// ```
#[derive(Debug)]
pub struct Varpack {
    slots: BTreeMap<String, Slot>,
    path: Option<PathBuf>,
    source: Option<Arc<Source>>,
    append: bool,
    /// The lock mode of saves.
    lock: LockMode,
    /// Names of values of the loaded manifest removed since (an append drops them).
    removed: HashSet<String>,
    /// Loaded with [`LoadOptions::memory_map`] false.
    unmapped: bool,
}

impl Default for Varpack {
    fn default() -> Varpack {
        Varpack {
            slots: BTreeMap::new(),
            path: None,
            source: None,
            append: false,
            lock: LockMode::Wait,
            removed: HashSet::new(),
            unmapped: false,
        }
    }
}

/// One row of the table: what a value is, from the loaded value or the manifest.
///
/// ```
/// let mut vp = varpack::Varpack::new();
/// vp.insert_array("x", &[1.0f32; 6], &[2, 3]).unwrap();
/// let info = &vp.infos()[0];
/// assert_eq!((info.name.as_str(), info.bytes), ("x", 24));
/// assert_eq!(info.dtype, Some(serde_json::json!("<f4")));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Info {
    /// The name.
    pub name: String,
    /// The kind.
    pub kind: Kind,
    /// Arrays: the descr as `npy info --json` prints it.
    pub dtype: Option<serde_json::Value>,
    /// Arrays: the shape.
    pub shape: Option<Vec<u64>>,
    /// Bytes of data (arrays, dicts) or of JSON text.
    pub bytes: u64,
    /// Unloaded, mapped or loaded.
    pub status: Status,
    /// JSON values stored in a file of their own.
    pub separate: bool,
    /// On the load's ignore list.
    pub ignored: bool,
    /// Dicts: their arrays.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<KeyInfo>>,
}

/// One array of a dict, in an [`Info`].
///
/// ```
/// use std::collections::BTreeMap;
/// let mut d = BTreeMap::new();
/// d.insert("k".to_string(), varpack::Array::from_slice(&[1u8], &[1]).unwrap());
/// let mut vp = varpack::Varpack::new();
/// vp.insert_dict("d", d).unwrap();
/// assert_eq!(vp.infos()[0].keys.as_ref().unwrap()[0].key, "k");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct KeyInfo {
    /// The key.
    pub key: String,
    /// The descr.
    pub dtype: serde_json::Value,
    /// The shape.
    pub shape: Vec<u64>,
    /// Bytes of data.
    pub bytes: u64,
}

fn array_entry_parts(a: &Array) -> (serde_json::Value, bool, Vec<u64>, u64) {
    (
        dtype_json(a.dtype()),
        a.header().fortran_order,
        a.shape().to_vec(),
        a.as_bytes().len() as u64,
    )
}

fn io_load(path: &Path) -> impl Fn(std::io::Error) -> LoadError + '_ {
    move |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `len` bytes at `offset` of `file`, with positioned reads (a file shorter than that is an
/// error, never a fault).
fn read_at(file: &File, path: &Path, offset: u64, len: u64) -> Result<Vec<u8>, LoadError> {
    let len = usize::try_from(len).map_err(|_| LoadError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::OutOfMemory, "array too large"),
    })?;
    let mut data = vec![0u8; len];
    #[cfg(unix)]
    std::os::unix::fs::FileExt::read_exact_at(file, &mut data, offset).map_err(io_load(path))?;
    #[cfg(not(unix))]
    {
        use std::io::{Read, Seek};
        let mut f = file;
        f.seek(std::io::SeekFrom::Start(offset))
            .and_then(|_| f.read_exact(&mut data))
            .map_err(io_load(path))?;
    }
    Ok(data)
}

fn io_save(path: &Path) -> impl Fn(std::io::Error) -> SaveError + '_ {
    move |source| SaveError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Finishes a directory save interrupted between its two renames, under the pack's lock.
fn recover(path: &Path, mode: LockMode) -> Result<(), LoadError> {
    if temps::interrupted(path).map_err(io_load(path))?.is_none() {
        return Ok(());
    }
    let _lock = fsx::lock_exclusive(path, mode).map_err(|e| lock_load(path, e))?;
    temps::recover_locked(path).map_err(io_load(path))
}

fn lock_load(path: &Path, e: LockFail) -> LoadError {
    match e {
        LockFail::Busy => LoadError::Locked {
            path: path.to_path_buf(),
            lock: fsx::lock_path(path),
        },
        LockFail::Io(source) => LoadError::Io {
            path: fsx::lock_path(path),
            source,
        },
    }
}

fn lock_save(path: &Path, e: LockFail) -> SaveError {
    match e {
        LockFail::Busy => SaveError::Locked {
            path: path.to_path_buf(),
            lock: fsx::lock_path(path),
        },
        LockFail::Io(source) => SaveError::Io {
            path: fsx::lock_path(path),
            source,
        },
    }
}

fn check_header(
    source: &Source,
    name: &str,
    file: &str,
    header: &Header,
    dtype: &serde_json::Value,
    fortran: Option<bool>,
    shape: &[u64],
) -> Result<(), LoadError> {
    let mismatch = |what: &str, manifest: String, found: String| LoadError::Mismatch {
        path: source.path.clone(),
        name: name.to_owned(),
        file: file.to_owned(),
        manifest: format!("{what} {manifest}"),
        header: format!("{what} {found}"),
    };
    // A scalar dtype is a JSON string in the manifest: compared as text, without building
    // the header's JSON (this runs for every array of a load).
    let same_scalar = match (header.dtype.as_scalar(), dtype) {
        (Some(scalar), serde_json::Value::String(manifest)) => scalar.type_str() == *manifest,
        _ => false,
    };
    if !same_scalar {
        let found = dtype_json(&header.dtype);
        if &found != dtype {
            return Err(mismatch("dtype", dtype.to_string(), found.to_string()));
        }
    }
    if header.shape != shape {
        return Err(mismatch(
            "shape",
            format!("{shape:?}"),
            format!("{:?}", header.shape),
        ));
    }
    if let Some(f) = fortran
        && f != header.fortran_order
    {
        return Err(mismatch(
            "fortran_order",
            f.to_string(),
            header.fortran_order.to_string(),
        ));
    }
    Ok(())
}

/// Reads and checks one array's header without touching its data.
fn read_header(source: &Source, name: &str, file: &str) -> Result<Header, LoadError> {
    match &source.npz {
        None => Ok(read_npy_header(source, name, file, false)?.0.header),
        Some(reader) => Ok(member_info(source, reader, name, file)?.header),
    }
}

/// Opens `.npy` file `file` of a directory pack and reads its header.
fn read_npy_header(
    source: &Source,
    name: &str,
    file: &str,
    write: bool,
) -> Result<(npy_format::ParsedHeader, File, PathBuf), LoadError> {
    let (f, path) = open_in_dir(source, name, file, write)?;
    let parsed = Header::read_from(
        &mut BufReader::with_capacity(4096, &f),
        npy_format::ReadOptions::default(),
    )
    .map_err(|e| LoadError::Npy {
        name: name.to_owned(),
        source: npy_format::ReadError::Header {
            path: path.clone(),
            source: e,
        },
    })?;
    Ok((parsed, f, path))
}

fn missing_or(
    source: &Source,
    name: &str,
    file: &str,
    path: &Path,
    e: std::io::Error,
) -> LoadError {
    if e.kind() == std::io::ErrorKind::NotFound {
        LoadError::MissingFile {
            path: source.path.clone(),
            name: name.to_owned(),
            file: file.to_owned(),
        }
    } else {
        LoadError::Io {
            path: path.to_path_buf(),
            source: e,
        }
    }
}

fn member_info(
    source: &Source,
    reader: &NpzReader,
    name: &str,
    member: &str,
) -> Result<npz_stream::MemberInfo, LoadError> {
    reader.info(member).map_err(|e| match e {
        npz_stream::ReadError::NoSuchMember { .. } => LoadError::MissingFile {
            path: source.path.clone(),
            name: name.to_owned(),
            file: member.to_owned(),
        },
        e => LoadError::Npz {
            name: name.to_owned(),
            source: Box::new(e),
        },
    })
}

fn load_array(
    source: &Source,
    name: &str,
    file: &str,
    expect: Option<(&serde_json::Value, Option<bool>, &[u64])>,
    mode: Mode,
) -> Result<Array, LoadError> {
    match &source.npz {
        None => {
            let write = source.mapped && mode == Mode::ReadWrite;
            let (parsed, f, path) = read_npy_header(source, name, file, write)?;
            let npy_err = |e| LoadError::Npy {
                name: name.to_owned(),
                source: e,
            };
            if let Some((dtype, fortran, shape)) = expect {
                check_header(source, name, file, &parsed.header, dtype, fortran, shape)?;
            }
            if parsed.header.dtype.has_object() {
                return Err(npy_err(npy_format::ReadError::View {
                    path,
                    source: npy_format::ViewError::Object,
                }));
            }
            let expected = parsed.header.data_len().unwrap_or(u64::MAX);
            let file_len = f.metadata().map_err(io_load(&path))?.len();
            let available = file_len.saturating_sub(parsed.data_offset);
            if available < expected {
                return Err(npy_err(npy_format::ReadError::Truncated {
                    path,
                    data_offset: parsed.data_offset,
                    expected,
                    available,
                }));
            }
            if !source.mapped {
                let data = read_at(&f, &path, parsed.data_offset, expected)?;
                return Array::from_bytes(parsed.header, &data).map_err(|e| LoadError::Manifest {
                    path: source.path.clone(),
                    reason: format!("value '{name}': {e}"),
                });
            }
            let map = MemberMap::open(&f, &path, file, (parsed.data_offset, expected), mode, false)
                .map_err(io_load(&path))?;
            Ok(Array::from_member(parsed.header, map))
        }
        Some(reader) => {
            let info = member_info(source, reader, name, file)?;
            if let Some((dtype, fortran, shape)) = expect {
                check_header(source, name, file, &info.header, dtype, fortran, shape)?;
            }
            let npz_err = |e| LoadError::Npz {
                name: name.to_owned(),
                source: Box::new(e),
            };
            let data_len = info.size.saturating_sub(info.header_len);
            let expected = info.header.data_len().unwrap_or(u64::MAX);
            if info.header.dtype.has_object() || data_len < expected {
                return Err(npz_err(npz_stream::ReadError::View {
                    path: source.path.clone(),
                    member: info.name.clone(),
                    source: npy_format::ViewError::Object,
                }));
            }
            match info.data_offset {
                Some(offset) if info.mappable && source.mapped => {
                    let map = if mode == Mode::ReadOnly && expected > 0 {
                        source.archive_map().and_then(|archive| {
                            MemberMap::shared(archive, &source.path, &info.name, offset, expected)
                        })
                    } else if mode == Mode::ReadWrite {
                        let file = fs::OpenOptions::new()
                            .read(true)
                            .write(true)
                            .open(&source.path)
                            .map_err(io_load(&source.path))?;
                        let same = file.metadata().is_ok_and(|m| identity(&m) == source.id);
                        if !same {
                            return Err(LoadError::Replaced {
                                path: source.path.clone(),
                            });
                        }
                        let range = (offset, expected);
                        MemberMap::open(&file, &source.path, &info.name, range, mode, true)
                    } else {
                        let range = (offset, expected);
                        MemberMap::open(&source.held, &source.path, &info.name, range, mode, true)
                    }
                    .map_err(io_load(&source.path))?;
                    Ok(Array::from_member(info.header, map))
                }
                _ => {
                    // Deflated or unaligned (numpy's own savez): read into memory.
                    let bytes = reader.read_bytes(file).map_err(npz_err)?;
                    let start = info.header_len as usize;
                    let data = bytes
                        .get(start..start + expected as usize)
                        .unwrap_or_default();
                    Array::from_bytes(info.header, data).map_err(|e| LoadError::Manifest {
                        path: source.path.clone(),
                        reason: format!("value '{name}': {e}"),
                    })
                }
            }
        }
    }
}

fn read_doc(source: &Source, name: &str, file: &str) -> Result<serde_json::Value, LoadError> {
    let bytes = match &source.npz {
        None => {
            let (mut f, path) = open_in_dir(source, name, file, false)?;
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut bytes).map_err(io_load(&path))?;
            bytes
        }
        Some(reader) => reader.read_bytes(file).map_err(|e| match e {
            npz_stream::ReadError::NoSuchMember { .. } => LoadError::MissingFile {
                path: source.path.clone(),
                name: name.to_owned(),
                file: file.to_owned(),
            },
            e => LoadError::Npz {
                name: name.to_owned(),
                source: Box::new(e),
            },
        })?,
    };
    serde_json::from_slice(&bytes).map_err(|e| LoadError::Json {
        path: source.path.join(file),
        name: name.to_owned(),
        source: e,
    })
}

fn load_entry(
    source: &Source,
    entry: &Entry,
    mode: Mode,
    doc: Option<&serde_json::Value>,
) -> Result<Value, LoadError> {
    let name = entry.name.as_str();
    match entry.kind {
        Kind::Array => {
            let file = entry.file.as_deref().unwrap_or_default();
            let dtype = entry.dtype.clone().unwrap_or_default();
            let shape = entry.shape.clone().unwrap_or_default();
            let expect = Some((&dtype, entry.fortran_order, shape.as_slice()));
            Ok(Value::Array(load_array(source, name, file, expect, mode)?))
        }
        Kind::Dict => {
            let mut dict = BTreeMap::new();
            for e in entry.entries.iter().flatten() {
                let expect = Some((&e.dtype, Some(e.fortran_order), e.shape.as_slice()));
                let array = load_array(source, name, &e.file, expect, mode)?;
                dict.insert(e.key.clone(), array);
            }
            Ok(Value::Dict(dict))
        }
        Kind::Json => {
            let file = entry.file.as_deref().unwrap_or_default();
            if entry.separate {
                return read_doc(source, name, file).map(Value::Json);
            }
            let owned;
            let doc = match doc {
                Some(d) => d,
                None => {
                    owned = read_doc(source, name, file)?;
                    &owned
                }
            };
            let value = doc.get(name).cloned().ok_or_else(|| LoadError::Manifest {
                path: source.path.join(file),
                reason: format!("value '{name}' is listed in the manifest but not in {file}"),
            })?;
            Ok(Value::Json(value))
        }
    }
}

/// Opens the pack at `path`: its manifest (or, for a plain `.npz`, its member list). Never
/// blocks on a FIFO; [`LoadError::Replaced`] if a save replaced the pack meanwhile.
fn open_source(path: &Path, mapped: bool) -> Result<(Arc<Source>, Vec<Entry>), LoadError> {
    let held = {
        let mut options = fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
        options.open(path).map_err(io_load(path))?
    };
    let meta = held.metadata().map_err(io_load(path))?;
    if !meta.is_dir() && !meta.is_file() {
        return Err(LoadError::NotRegular {
            path: path.to_path_buf(),
            what: fsx::kind_of(&meta),
        });
    }
    let id = identity(&meta);
    let manifest_err = |path: PathBuf, reason: String| LoadError::Manifest { path, reason };
    let parse = |bytes: &[u8], at: PathBuf| -> Result<Manifest, LoadError> {
        match Manifest::parse(bytes) {
            Ok(Ok(m)) => Ok(m),
            Ok(Err(found)) => Err(LoadError::Version {
                path: at,
                found,
                supported: manifest::FORMAT_VERSION,
            }),
            Err(reason) => Err(manifest_err(at, reason)),
        }
    };
    if meta.is_dir() {
        let source = Source {
            path: path.to_path_buf(),
            form: Form::Directory,
            npz: None,
            generation: 0,
            archive_map: OnceLock::new(),
            held,
            id,
            mapped,
        };
        let at = path.join(MANIFEST);
        let bytes = fsx::read_regular(&at).map_err(|e| match e {
            OpenFail::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
                manifest_err(at.clone(), "missing: not a varpack directory".into())
            }
            e => open_fail(&at, e),
        });
        let bytes = bytes.map_err(|e| source.or_replaced(e))?;
        source.check_current()?;
        let manifest = parse(&bytes, at)?;
        return Ok((Arc::new(source), manifest.values));
    }
    // Mapped at open: the manifest and every member's headers are then read from memory, not
    // with a system call each (five per member), which is most of a load's time.
    // (With `mapped` false, nothing is mapped: a file truncated while read gives errors.)
    let reader = NpzReader::options().map_archive(mapped).open(path);
    // The reader opened the path after `held` did: if the path still leads to `held`'s file,
    // the reader read that file too (a replaced archive never comes back).
    let current = fs::metadata(path).is_ok_and(|m| identity(&m) == id);
    if !current {
        return Err(LoadError::Replaced {
            path: path.to_path_buf(),
        });
    }
    let reader = reader?;
    let keys = reader.keys();
    // The current manifest: __varpack__.json, or the highest __varpack__.N.json.
    let mut best: Option<(u64, String)> = None;
    for key in &keys {
        let generation = if key == NPZ_MANIFEST {
            Some(0)
        } else {
            key.strip_prefix("__varpack__.")
                .and_then(|k| k.strip_suffix(".json"))
                .and_then(|n| n.parse::<u64>().ok())
        };
        if let Some(g) = generation
            && best.as_ref().is_none_or(|(b, _)| g > *b)
        {
            best = Some((g, key.clone()));
        }
    }
    let (values, generation) = match best {
        Some((g, name)) => {
            let bytes = reader.read_bytes(&name).map_err(|e| LoadError::Npz {
                name: name.clone(),
                source: Box::new(e),
            })?;
            let at = path.join(&name);
            (parse(&bytes, at)?.values, g)
        }
        None => {
            // A plain numpy .npz: every .npy member is an array named by its key.
            let mut values = Vec::new();
            for key in keys {
                let info = reader.info(&key).map_err(|e| LoadError::Npz {
                    name: key.clone(),
                    source: Box::new(e),
                })?;
                if !info.name.ends_with(".npy") {
                    continue;
                }
                values.push(Entry {
                    name: key,
                    kind: Kind::Array,
                    file: Some(info.name.clone()),
                    dtype: Some(dtype_json(&info.header.dtype)),
                    fortran_order: Some(info.header.fortran_order),
                    shape: Some(info.header.shape.clone()),
                    bytes: info.header.data_len().unwrap_or(0),
                    separate: false,
                    entries: None,
                });
            }
            values.sort_by(|a, b| a.name.cmp(&b.name));
            values.dedup_by(|a, b| a.name == b.name);
            (values, 0)
        }
    };
    let source = Source {
        path: path.to_path_buf(),
        form: Form::File,
        npz: Some(reader),
        generation,
        archive_map: OnceLock::new(),
        held,
        id,
        mapped,
    };
    Ok((Arc::new(source), values))
}

/// Opens the pack at `path` reading its manifest and every array header, never array data:
/// what `varpack show` prints. Every value is [`Status::Unloaded`]; values read later are read
/// into memory (nothing is mapped, so a file truncated meanwhile is an error, not a signal).
///
/// Read-only: nothing is written, not even the pack's lock file. A directory save interrupted
/// between its two renames is not finished here but reported as [`LoadError::Interrupted`]
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
    let path = path.as_ref();
    let options = LoadOptions::new().lazy(true).memory_map(false);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match inspect_once(path, &options) {
            Err(LoadError::Replaced { .. }) if attempt < ATTEMPTS => {}
            result => return result,
        }
    }
}

/// How many times a load starts again when a save replaced the pack while it was read; the
/// attempts after the first two hold the pack's lock shared, so no save can replace it.
const ATTEMPTS: usize = 4;

/// Loads the pack at `path`. A directory save interrupted between its renames is finished
/// (under the pack's exclusive lock), or with `read_only` reported as
/// [`LoadError::Interrupted`] (after waiting for a save in progress, under a shared lock). A
/// pack replaced while it is read is read again.
fn load_pack(path: &Path, options: &LoadOptions, read_only: bool) -> Result<Varpack, LoadError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let last = attempt >= ATTEMPTS;
        if Form::for_path(path) == Form::Directory {
            if read_only {
                if temps::interrupted(path).map_err(io_load(path))?.is_some() {
                    // A save in progress holds the lock: wait for it, then look again.
                    let _shared =
                        fsx::lock_shared(path, options.lock).map_err(|e| lock_load(path, e))?;
                    if let Some((complete, _)) = temps::interrupted(path).map_err(io_load(path))? {
                        return Err(LoadError::Interrupted {
                            path: path.to_path_buf(),
                            complete,
                        });
                    }
                }
            } else {
                recover(path, options.lock)?;
            }
        }
        let _shared = if attempt > 2 {
            fsx::lock_shared(path, options.lock).map_err(|e| lock_load(path, e))?
        } else {
            None
        };
        match Varpack::load_once(path, options) {
            Err(LoadError::Replaced { .. }) if !last => {}
            // Between a directory save's two renames the path is missing for a moment.
            Err(LoadError::Io { path: p, source })
                if !last && p == path && source.kind() == std::io::ErrorKind::NotFound => {}
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
                    let dtype = entry.dtype.clone().unwrap_or_default();
                    let shape = entry.shape.clone().unwrap_or_default();
                    check_header(
                        source,
                        &entry.name,
                        file,
                        &header,
                        &dtype,
                        entry.fortran_order,
                        &shape,
                    )?;
                }
                Kind::Dict => {
                    for e in entry.entries.iter().flatten() {
                        let header = read_header(source, &entry.name, &e.file)?;
                        check_header(
                            source,
                            &entry.name,
                            &e.file,
                            &header,
                            &e.dtype,
                            Some(e.fortran_order),
                            &e.shape,
                        )?;
                    }
                }
                Kind::Json => {
                    let file = entry.file.as_deref().unwrap_or_default();
                    let exists = match &source.npz {
                        None => source.path.join(file).is_file(),
                        Some(r) => r.keys().iter().any(|k| k == file),
                    };
                    if !exists {
                        return Err(LoadError::MissingFile {
                            path: source.path.clone(),
                            name: entry.name.clone(),
                            file: file.to_owned(),
                        });
                    }
                }
            }
        }
    }
    source.check_current()
}

/// Where a save writes: a directory (being built, or appended to), or an archive.
enum Sink {
    Dir {
        dir: PathBuf,
        /// The pack being replaced: files of the same names give their modes.
        like: Option<PathBuf>,
        /// The files written so far (an append removes them if it fails).
        written: Vec<PathBuf>,
    },
    Npz(Box<NpzWriter>),
}

impl Sink {
    fn dir(dir: &Path, like: Option<&Path>) -> Sink {
        Sink::Dir {
            dir: dir.to_path_buf(),
            like: like.map(Path::to_path_buf),
            written: Vec::new(),
        }
    }

    /// Creates file `file` of a directory sink, with the mode of the file it replaces.
    fn create(
        dir: &Path,
        like: Option<&PathBuf>,
        written: &mut Vec<PathBuf>,
        file: &str,
    ) -> Result<(File, PathBuf), SaveError> {
        let path = dir.join(file);
        let f = File::create(&path).map_err(io_save(&path))?;
        written.push(path.clone());
        if let Some(old) = like.map(|like| like.join(file))
            && fs::symlink_metadata(&old).is_ok_and(|m| m.is_file())
        {
            copy_mode_and_owner(&old, &f).map_err(io_save(&path))?;
        }
        Ok((f, path))
    }

    fn array(&mut self, name: &str, file: &str, a: &Array) -> Result<(), SaveError> {
        match self {
            Sink::Dir { dir, like, written } => {
                let (f, path) = Sink::create(dir, like.as_ref(), written, file)?;
                npy_format::write_raw(&f, a.header(), a.as_bytes()).map_err(|e| {
                    SaveError::Npy {
                        path: path.clone(),
                        name: name.to_owned(),
                        source: e,
                    }
                })?;
                f.sync_all().map_err(io_save(&path))
            }
            Sink::Npz(w) => {
                let key = file.strip_suffix(".npy").unwrap_or(file);
                Ok(w.add_raw(key, a.header(), a.as_bytes())?)
            }
        }
    }

    fn file(&mut self, file: &str, bytes: &[u8]) -> Result<(), SaveError> {
        match self {
            Sink::Dir { dir, like, written } => {
                let (mut f, path) = Sink::create(dir, like.as_ref(), written, file)?;
                f.write_all(bytes)
                    .and_then(|()| f.sync_all())
                    .map_err(io_save(&path))
            }
            Sink::Npz(w) => Ok(w.add_file(file, bytes)?),
        }
    }
}

/// A point where a test can stop a save as if the process died there: no cleanup.
fn crash_point(at: Fault, guards: &mut [&mut Guard]) -> Result<(), SaveError> {
    testing::check(at).inspect_err(|_| guards.iter_mut().for_each(|g| g.disarm()))
}

enum Held<'a> {
    Borrowed(&'a Value),
    Owned(Box<Value>),
}

impl std::ops::Deref for Held<'_> {
    type Target = Value;
    fn deref(&self) -> &Value {
        match self {
            Held::Borrowed(v) => v,
            Held::Owned(v) => v,
        }
    }
}

impl Varpack {
    /// An empty pack, not attached to any path.
    ///
    /// ```
    /// assert!(varpack::Varpack::new().is_empty());
    /// ```
    pub fn new() -> Varpack {
        Varpack::default()
    }

    /// Loads the pack at `path` (a directory, or a `.npz` file) with default options: every
    /// value read now, arrays mapped read-only. A directory save interrupted between its
    /// renames is finished first, under the pack's lock (see the crate docs).
    ///
    /// Mapped arrays read the files as they are on disk: if another program truncates a mapped
    /// file, touching the lost part of an array kills the process with `SIGBUS`. Use
    /// [`LoadOptions::memory_map`]`(false)` where that can happen.
    ///
    /// # Errors
    /// [`LoadError`] naming the path and value.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.npz");
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("x", &[1u32, 2], &[2]).unwrap();
    /// vp.save_as(&path).unwrap();
    /// let vp = varpack::Varpack::load(&path).unwrap();
    /// assert_eq!(vp.status("x"), Some(varpack::Status::Mapped));
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Varpack, LoadError> {
        Varpack::load_with(path, LoadOptions::new())
    }

    /// Loads the pack at `path` with `options` (ignore list, map mode, lazy, memory map,
    /// lock mode). As [`load`](Self::load): with maps (the default), a mapped file that shrinks
    /// under the pack makes reads of the lost part die of `SIGBUS`; without, the load reads
    /// everything into memory and a truncated file is an error.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    ///
    /// ```
    /// use varpack::{LoadOptions, MapMode, Varpack};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p");
    /// let mut vp = Varpack::new();
    /// vp.insert_array("x", &[1u32, 2], &[2]).unwrap();
    /// vp.save_as(&path).unwrap();
    /// let mut vp = Varpack::load_with(&path, LoadOptions::new().map_mode(MapMode::ReadWrite)).unwrap();
    /// vp.view_mut::<u32>("x").unwrap().as_mut_slice()[0] = 7;
    /// vp.flush().unwrap();
    /// assert_eq!(Varpack::load(&path).unwrap().array("x").unwrap().to_vec::<u32>().unwrap(), vec![7, 2]);
    /// ```
    pub fn load_with(path: impl AsRef<Path>, options: LoadOptions) -> Result<Varpack, LoadError> {
        load_pack(path.as_ref(), &options, false)
    }

    /// One attempt at a load (see [`load_pack`]).
    fn load_once(path: &Path, options: &LoadOptions) -> Result<Varpack, LoadError> {
        let (source, entries) = open_source(path, options.memory_map)?;
        let mut vp = Varpack {
            slots: BTreeMap::new(),
            path: Some(path.to_path_buf()),
            source: Some(source.clone()),
            append: false,
            lock: options.lock,
            removed: HashSet::new(),
            unmapped: !options.memory_map,
        };
        // The grouped JSON document is read once, if any value in it is wanted.
        let mut docs: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        for entry in &entries {
            let ignored = options.ignore.contains(&entry.name);
            let slot = Slot {
                meta: Some(entry.clone()),
                source: Some(source.clone()),
                cell: OnceLock::new(),
                separate: entry.separate,
                ignored,
                mode: options.mode,
            };
            let grouped = entry.kind == Kind::Json && !entry.separate;
            if !ignored && (grouped || !options.lazy) {
                let doc = match (&entry.file, grouped) {
                    (Some(file), true) => {
                        if !docs.contains_key(file) {
                            let doc = read_doc(&source, &entry.name, file)
                                .map_err(|e| source.or_replaced(e))?;
                            docs.insert(file.clone(), doc);
                        }
                        docs.get(file)
                    }
                    _ => None,
                };
                let value = load_entry(&source, entry, options.mode, doc)
                    .map_err(|e| source.or_replaced(e))?;
                let _ = slot.cell.set(value);
            }
            vp.slots.insert(entry.name.clone(), slot);
        }
        Ok(vp)
    }

    /// Opens `path` in one of AlignedBinaryFormat's modes (see [`OpenMode`]). Read and
    /// read-write map the arrays as [`load`](Self::load) does (a mapped file that shrinks makes
    /// reads of the lost part die of `SIGBUS`).
    ///
    /// # Errors
    /// As [`load`](Self::load) (Write never fails: nothing is read).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut vp = varpack::Varpack::open(dir.path().join("new"), varpack::OpenMode::Write).unwrap();
    /// vp.insert_value("n", &1).unwrap();
    /// vp.save().unwrap();
    /// ```
    pub fn open(path: impl AsRef<Path>, mode: OpenMode) -> Result<Varpack, LoadError> {
        let path = path.as_ref();
        match mode {
            OpenMode::Read => Varpack::load(path),
            OpenMode::ReadWrite => {
                Varpack::load_with(path, LoadOptions::new().map_mode(Mode::ReadWrite))
            }
            OpenMode::Write => {
                let mut vp = Varpack::new();
                vp.path = Some(path.to_path_buf());
                Ok(vp)
            }
            OpenMode::Append => {
                if Form::for_path(path) == Form::Directory {
                    recover(path, LockMode::Wait)?;
                }
                let mut vp = if path.exists() {
                    Varpack::load_with(path, LoadOptions::new().lazy(true))?
                } else {
                    let mut vp = Varpack::new();
                    vp.path = Some(path.to_path_buf());
                    vp
                };
                vp.append = vp.source.is_some();
                Ok(vp)
            }
        }
    }

    /// The path this pack loads from and [`save`](Self::save)s to.
    ///
    /// ```
    /// assert!(varpack::Varpack::new().path().is_none());
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Attaches the pack to `path` for [`save`](Self::save) (the form follows the extension).
    /// Values not loaded are still copied from where they were loaded.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut vp = varpack::Varpack::new();
    /// vp.set_path(dir.path().join("p.npz"));
    /// vp.save().unwrap();
    /// ```
    pub fn set_path(&mut self, path: impl AsRef<Path>) {
        self.path = Some(path.as_ref().to_path_buf());
        self.append = false;
    }

    /// The number of values.
    ///
    /// ```
    /// assert_eq!(varpack::Varpack::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there are no values.
    ///
    /// ```
    /// assert!(varpack::Varpack::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The names, sorted.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("b", &1).unwrap();
    /// vp.insert_value("a", &2).unwrap();
    /// assert_eq!(vp.names(), vec!["a", "b"]);
    /// ```
    pub fn names(&self) -> Vec<&str> {
        self.slots.keys().map(String::as_str).collect()
    }

    /// Whether `name` is in the pack.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("a", &1).unwrap();
    /// assert!(vp.contains("a") && !vp.contains("b"));
    /// ```
    pub fn contains(&self, name: &str) -> bool {
        self.slots.contains_key(name)
    }

    /// The kind of `name`, without loading it.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("a", &1).unwrap();
    /// assert_eq!(vp.kind("a"), Some(varpack::Kind::Json));
    /// ```
    pub fn kind(&self, name: &str) -> Option<Kind> {
        self.slots.get(name).map(Slot::kind)
    }

    /// The status of `name`: unloaded, mapped or loaded.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("a", &1).unwrap();
    /// assert_eq!(vp.status("a"), Some(varpack::Status::Loaded));
    /// ```
    pub fn status(&self, name: &str) -> Option<Status> {
        self.slots
            .get(name)
            .map(|s| s.cell.get().map_or(Status::Unloaded, Value::status))
    }

    fn check_name(&self, name: &str) -> Result<(), InsertError> {
        let invalid = |reason| InsertError::InvalidName {
            name: name.to_owned(),
            reason,
        };
        if name.is_empty() {
            return Err(invalid("names must not be empty"));
        }
        if name.contains('\0') {
            return Err(invalid("names must not contain NUL"));
        }
        if name.starts_with("__varpack__") {
            return Err(invalid("names starting with __varpack__ are reserved"));
        }
        Ok(())
    }

    /// Adds a value; refuses a name already in use.
    ///
    /// # Errors
    /// [`InsertError::Exists`], [`InsertError::InvalidName`].
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert("x", varpack::Array::from_slice(&[1u8], &[1]).unwrap()).unwrap();
    /// assert!(vp.insert("x", serde_json::json!(1)).is_err());
    /// ```
    pub fn insert(&mut self, name: &str, value: impl Into<Value>) -> Result<(), InsertError> {
        self.check_name(name)?;
        if self.slots.contains_key(name) {
            return Err(InsertError::Exists {
                name: name.to_owned(),
            });
        }
        self.slots.insert(name.to_owned(), Slot::new(value.into()));
        Ok(())
    }

    /// Sets a value, overwriting any value of that name (explicitly). Returns whether one
    /// was replaced.
    ///
    /// # Errors
    /// [`InsertError::InvalidName`].
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// assert!(!vp.replace("x", serde_json::json!(1)).unwrap());
    /// assert!(vp.replace("x", serde_json::json!(2)).unwrap());
    /// assert_eq!(vp.get_value::<i32>("x").unwrap(), 2);
    /// ```
    pub fn replace(&mut self, name: &str, value: impl Into<Value>) -> Result<bool, InsertError> {
        self.check_name(name)?;
        let separate = self.slots.get(name).is_some_and(|s| s.separate);
        let mut slot = Slot::new(value.into());
        slot.separate = separate;
        Ok(self.slots.insert(name.to_owned(), slot).is_some())
    }

    /// Adds a C-order array of `T`.
    ///
    /// # Errors
    /// As [`insert`](Self::insert); [`InsertError::Array`] if `data` does not fit `shape`.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("m", &[1.0f64; 6], &[2, 3]).unwrap();
    /// assert!(vp.insert_array("bad", &[1.0f64; 5], &[2, 3]).is_err());
    /// ```
    pub fn insert_array<T: Element>(
        &mut self,
        name: &str,
        data: &[T],
        shape: &[u64],
    ) -> Result<(), InsertError> {
        let array = Array::from_slice(data, shape).map_err(|source| InsertError::Array {
            name: name.to_owned(),
            source,
        })?;
        self.insert(name, array)
    }

    /// Adds a dict of arrays (each saved as its own `.npy`).
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// let mut d = BTreeMap::new();
    /// d.insert("a".to_string(), varpack::Array::from_slice(&[1u8], &[1]).unwrap());
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_dict("d", d).unwrap();
    /// assert_eq!(vp.dict_array("d", "a").unwrap().as_bytes(), &[1]);
    /// ```
    pub fn insert_dict(
        &mut self,
        name: &str,
        dict: BTreeMap<String, Array>,
    ) -> Result<(), InsertError> {
        self.insert(name, Value::Dict(dict))
    }

    /// Adds any serde value, stored as JSON.
    ///
    /// # Errors
    /// As [`insert`](Self::insert); [`InsertError::Json`] if it does not serialize.
    ///
    /// ```
    /// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    /// struct Cfg { rate: f64, tags: Vec<String> }
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("cfg", &Cfg { rate: 0.5, tags: vec!["a".into()] }).unwrap();
    /// assert_eq!(vp.get_value::<Cfg>("cfg").unwrap().rate, 0.5);
    /// ```
    pub fn insert_value<T: Serialize + ?Sized>(
        &mut self,
        name: &str,
        value: &T,
    ) -> Result<(), InsertError> {
        let json = Value::json(value).map_err(|source| InsertError::Json {
            name: name.to_owned(),
            source,
        })?;
        self.insert(name, json)
    }

    /// Sets any serde value, overwriting (see [`replace`](Self::replace)).
    ///
    /// # Errors
    /// As [`insert_value`](Self::insert_value), except that the name may exist.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.replace_value("n", &1).unwrap();
    /// vp.replace_value("n", &2).unwrap();
    /// assert_eq!(vp.get_value::<u8>("n").unwrap(), 2);
    /// ```
    pub fn replace_value<T: Serialize + ?Sized>(
        &mut self,
        name: &str,
        value: &T,
    ) -> Result<bool, InsertError> {
        let json = Value::json(value).map_err(|source| InsertError::Json {
            name: name.to_owned(),
            source,
        })?;
        self.replace(name, json)
    }

    /// Removes a value; returns whether it existed. Its files disappear at the next save.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("n", &1).unwrap();
    /// assert!(vp.remove("n"));
    /// assert!(!vp.remove("n"));
    /// ```
    pub fn remove(&mut self, name: &str) -> bool {
        match self.slots.remove(name) {
            Some(slot) => {
                if slot.meta.is_some() {
                    self.removed.insert(name.to_owned());
                }
                true
            }
            None => false,
        }
    }

    /// Stores JSON value `name` in a file of its own (so loads can skip it cheaply), or back
    /// in the shared document. Arrays and dicts always have files of their own.
    ///
    /// # Errors
    /// [`GetError::Missing`].
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("big", &vec![0; 1000]).unwrap();
    /// vp.set_separate("big", true).unwrap();
    /// assert!(vp.infos()[0].separate);
    /// ```
    pub fn set_separate(&mut self, name: &str, separate: bool) -> Result<(), GetError> {
        let slot = self.slots.get_mut(name).ok_or_else(|| GetError::Missing {
            name: name.to_owned(),
        })?;
        slot.separate = separate;
        Ok(())
    }

    fn slot_value<'a>(&self, name: &str, slot: &'a Slot) -> Result<&'a Value, GetError> {
        if let Some(v) = slot.cell.get() {
            return Ok(v);
        }
        if slot.ignored {
            return Err(GetError::Ignored {
                name: name.to_owned(),
            });
        }
        let (Some(source), Some(meta)) = (&slot.source, &slot.meta) else {
            return Err(GetError::Missing {
                name: name.to_owned(),
            });
        };
        let value = load_entry(source, meta, slot.mode, None).map_err(Box::new)?;
        let _ = slot.cell.set(value);
        slot.cell.get().ok_or_else(|| GetError::Missing {
            name: name.to_owned(),
        })
    }

    /// Value `name`, read now if it was not (lazy load).
    ///
    /// # Errors
    /// [`GetError::Missing`], [`GetError::Ignored`], [`GetError::Load`].
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("n", &1).unwrap();
    /// assert!(matches!(vp.get("n").unwrap(), varpack::Value::Json(_)));
    /// ```
    pub fn get(&self, name: &str) -> Result<&Value, GetError> {
        let slot = self.slots.get(name).ok_or_else(|| GetError::Missing {
            name: name.to_owned(),
        })?;
        self.slot_value(name, slot)
    }

    /// Value `name`, mutably (read now if it was not).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("n", &1).unwrap();
    /// *vp.get_mut("n").unwrap() = varpack::Value::Json(2.into());
    /// assert_eq!(vp.get_value::<i32>("n").unwrap(), 2);
    /// ```
    pub fn get_mut(&mut self, name: &str) -> Result<&mut Value, GetError> {
        self.get(name)?;
        self.slots
            .get_mut(name)
            .and_then(|s| s.cell.get_mut())
            .ok_or_else(|| GetError::Missing {
                name: name.to_owned(),
            })
    }

    fn wrong_kind(name: &str, expected: Kind, found: &Value) -> GetError {
        GetError::WrongKind {
            name: name.to_owned(),
            expected,
            found: found.kind(),
        }
    }

    /// Array `name`.
    ///
    /// # Errors
    /// As [`get`](Self::get); [`GetError::WrongKind`].
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("x", &[1u8], &[1]).unwrap();
    /// vp.insert_value("n", &1).unwrap();
    /// assert_eq!(vp.array("x").unwrap().shape(), &[1]);
    /// assert_eq!(vp.array("n").unwrap_err().to_string(), "value 'n' is json, not array");
    /// ```
    pub fn array(&self, name: &str) -> Result<&Array, GetError> {
        match self.get(name)? {
            Value::Array(a) => Ok(a),
            other => Err(Self::wrong_kind(name, Kind::Array, other)),
        }
    }

    /// Array `name`, mutably (writes through a read-write map go to the pack).
    ///
    /// # Errors
    /// As [`array`](Self::array).
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("x", &[1u8], &[1]).unwrap();
    /// vp.array_mut("x").unwrap().as_bytes_mut().unwrap()[0] = 5;
    /// assert_eq!(vp.array("x").unwrap().as_bytes(), &[5]);
    /// ```
    pub fn array_mut(&mut self, name: &str) -> Result<&mut Array, GetError> {
        match self.get_mut(name)? {
            Value::Array(a) => Ok(a),
            other => Err(Self::wrong_kind(name, Kind::Array, other)),
        }
    }

    fn check_dtype<T: Element>(name: &str, a: &Array) -> Result<(), GetError> {
        if !T::accepts(a.dtype()) {
            return Err(GetError::WrongDType {
                name: name.to_owned(),
                expected: T::dtype().descr(),
                found: a.dtype().descr(),
            });
        }
        Ok(())
    }

    /// A zero-copy typed view of array `name`.
    ///
    /// # Errors
    /// As [`array`](Self::array); [`GetError::WrongDType`]; [`GetError::Array`] for byte
    /// order or alignment.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("x", &[1.5f32, 2.5], &[2]).unwrap();
    /// assert_eq!(vp.view::<f32>("x").unwrap().as_slice(), &[1.5, 2.5]);
    /// ```
    pub fn view<T: Element>(&self, name: &str) -> Result<TypedView<'_, T>, GetError> {
        let a = self.array(name)?;
        Self::check_dtype::<T>(name, a)?;
        a.view().map_err(|source| GetError::Array {
            name: name.to_owned(),
            source,
        })
    }

    /// A zero-copy writable typed view of array `name`.
    ///
    /// # Errors
    /// As [`view`](Self::view); [`GetError::Array`] with [`ArrayError::ReadOnly`] for
    /// read-only maps.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("x", &[1i64, 2], &[2]).unwrap();
    /// vp.view_mut::<i64>("x").unwrap().as_mut_slice()[1] = 5;
    /// assert_eq!(vp.view::<i64>("x").unwrap().as_slice(), &[1, 5]);
    /// ```
    pub fn view_mut<T: Element>(&mut self, name: &str) -> Result<TypedViewMut<'_, T>, GetError> {
        let a = self.array_mut(name)?;
        Self::check_dtype::<T>(name, a)?;
        a.view_mut().map_err(|source| GetError::Array {
            name: name.to_owned(),
            source,
        })
    }

    /// Dict `name`.
    ///
    /// # Errors
    /// As [`get`](Self::get); [`GetError::WrongKind`].
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_dict("d", Default::default()).unwrap();
    /// assert!(vp.dict("d").unwrap().is_empty());
    /// ```
    pub fn dict(&self, name: &str) -> Result<&BTreeMap<String, Array>, GetError> {
        match self.get(name)? {
            Value::Dict(d) => Ok(d),
            other => Err(Self::wrong_kind(name, Kind::Dict, other)),
        }
    }

    /// Dict `name`, mutably.
    ///
    /// # Errors
    /// As [`dict`](Self::dict).
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_dict("d", Default::default()).unwrap();
    /// vp.dict_mut("d").unwrap().insert("k".into(), varpack::Array::from_slice(&[1u8], &[1]).unwrap());
    /// assert_eq!(vp.dict("d").unwrap().len(), 1);
    /// ```
    pub fn dict_mut(&mut self, name: &str) -> Result<&mut BTreeMap<String, Array>, GetError> {
        match self.get_mut(name)? {
            Value::Dict(d) => Ok(d),
            other => Err(Self::wrong_kind(name, Kind::Dict, other)),
        }
    }

    /// Array `key` of dict `name`.
    ///
    /// # Errors
    /// As [`dict`](Self::dict); [`GetError::MissingKey`].
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_dict("d", Default::default()).unwrap();
    /// assert!(matches!(vp.dict_array("d", "k"), Err(varpack::GetError::MissingKey { .. })));
    /// ```
    pub fn dict_array(&self, name: &str, key: &str) -> Result<&Array, GetError> {
        self.dict(name)?
            .get(key)
            .ok_or_else(|| GetError::MissingKey {
                name: name.to_owned(),
                key: key.to_owned(),
            })
    }

    /// JSON value `name`.
    ///
    /// # Errors
    /// As [`get`](Self::get); [`GetError::WrongKind`].
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("n", &[1, 2]).unwrap();
    /// assert_eq!(vp.json("n").unwrap(), &serde_json::json!([1, 2]));
    /// ```
    pub fn json(&self, name: &str) -> Result<&serde_json::Value, GetError> {
        match self.get(name)? {
            Value::Json(j) => Ok(j),
            other => Err(Self::wrong_kind(name, Kind::Json, other)),
        }
    }

    /// JSON value `name` deserialized as `T`.
    ///
    /// # Errors
    /// As [`json`](Self::json); [`GetError::Json`] if it is not a `T`.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("n", &7u8).unwrap();
    /// assert_eq!(vp.get_value::<u8>("n").unwrap(), 7);
    /// assert!(matches!(vp.get_value::<String>("n"), Err(varpack::GetError::Json { .. })));
    /// ```
    pub fn get_value<T: DeserializeOwned>(&self, name: &str) -> Result<T, GetError> {
        T::deserialize(self.json(name)?).map_err(|source| GetError::Json {
            name: name.to_owned(),
            source,
        })
    }

    /// Reads every value not read yet (except ignored ones).
    ///
    /// # Errors
    /// The first [`GetError`].
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.load_all().unwrap();
    /// ```
    pub fn load_all(&mut self) -> Result<(), GetError> {
        for (name, slot) in &self.slots {
            if !slot.ignored {
                self.slot_value(name, slot)?;
            }
        }
        Ok(())
    }

    /// Brings every value into memory: mapped arrays are copied, values not read yet are
    /// read (ignored values stay unread; they are still copied from the pack they came from
    /// when saved). The pack keeps its path.
    ///
    /// # Errors
    /// As [`load_all`](Self::load_all).
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("x", &[1u8], &[1]).unwrap();
    /// vp.detach().unwrap();
    /// assert_eq!(vp.status("x"), Some(varpack::Status::Loaded));
    /// ```
    pub fn detach(&mut self) -> Result<(), GetError> {
        self.load_all()?;
        for slot in self.slots.values_mut() {
            if let Some(v) = slot.cell.get_mut() {
                v.detach();
            }
        }
        Ok(())
    }

    /// A description of every value, sorted by name (what the table shows).
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("n", &1).unwrap();
    /// assert_eq!(vp.infos()[0].kind, varpack::Kind::Json);
    /// ```
    pub fn infos(&self) -> Vec<Info> {
        self.slots
            .iter()
            .map(|(name, slot)| info_of(name, slot))
            .collect()
    }

    /// Flushes read-write maps to the pack and, for a single-file pack, rewrites the CRC-32 of
    /// every member written through a map so numpy still reads the archive. Dropping the pack
    /// does the same (ignoring errors).
    ///
    /// # Errors
    /// [`SaveError`] naming the file.
    ///
    /// ```
    /// varpack::Varpack::new().flush().unwrap();
    /// ```
    pub fn flush(&mut self) -> Result<(), SaveError> {
        let mut dirty: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
        for slot in self.slots.values_mut() {
            let Some(value) = slot.cell.get_mut() else {
                continue;
            };
            let arrays: Vec<&mut Array> = match value {
                Value::Array(a) => vec![a],
                Value::Dict(d) => d.values_mut().collect(),
                Value::Json(_) => Vec::new(),
            };
            for a in arrays {
                a.flush().map_err(|e| match e {
                    ArrayError::Io { path, source } => SaveError::Io { path, source },
                    e => SaveError::Io {
                        path: PathBuf::new(),
                        source: std::io::Error::other(e),
                    },
                })?;
                if let Some((path, member)) = a.dirty_member() {
                    dirty
                        .entry(path.to_path_buf())
                        .or_default()
                        .push(member.to_owned());
                    a.clear_dirty();
                }
            }
        }
        for (path, members) in dirty {
            let keys: Vec<&str> = members.iter().map(String::as_str).collect();
            npz_stream::update_crc32(&path, &keys)?;
        }
        Ok(())
    }
}

fn info_of(name: &str, slot: &Slot) -> Info {
    let mut info = Info {
        name: name.to_owned(),
        kind: slot.kind(),
        dtype: None,
        shape: None,
        bytes: 0,
        status: slot.cell.get().map_or(Status::Unloaded, Value::status),
        separate: slot.separate,
        ignored: slot.ignored,
        keys: None,
    };
    match (slot.cell.get(), &slot.meta) {
        (Some(value), _) => {
            info.bytes = value.byte_len();
            match value {
                Value::Array(a) => {
                    info.dtype = Some(dtype_json(a.dtype()));
                    info.shape = Some(a.shape().to_vec());
                }
                Value::Dict(d) => {
                    info.keys = Some(
                        d.iter()
                            .map(|(k, a)| KeyInfo {
                                key: k.clone(),
                                dtype: dtype_json(a.dtype()),
                                shape: a.shape().to_vec(),
                                bytes: a.as_bytes().len() as u64,
                            })
                            .collect(),
                    );
                }
                Value::Json(_) => {}
            }
        }
        (None, Some(meta)) => {
            info.bytes = meta.bytes;
            info.dtype = meta.dtype.clone();
            info.shape = meta.shape.clone();
            info.keys = meta.entries.as_ref().map(|es| {
                es.iter()
                    .map(|e| KeyInfo {
                        key: e.key.clone(),
                        dtype: e.dtype.clone(),
                        shape: e.shape.clone(),
                        bytes: e.bytes,
                    })
                    .collect()
            });
        }
        (None, None) => {}
    }
    info
}

impl Drop for Varpack {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

fn entry_for_array(name: &str, file: String, a: &Array) -> Entry {
    let (dtype, fortran, shape, bytes) = array_entry_parts(a);
    Entry {
        name: name.to_owned(),
        kind: Kind::Array,
        file: Some(file),
        dtype: Some(dtype),
        fortran_order: Some(fortran),
        shape: Some(shape),
        bytes,
        separate: false,
        entries: None,
    }
}

/// Writes one value to `sink`; grouped JSON values go to `grouped`. Returns its entry.
fn write_value(
    sink: &mut Sink,
    name: &str,
    value: &Value,
    separate: bool,
    grouped: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<Entry, SaveError> {
    Ok(match value {
        Value::Array(a) => {
            let file = names::array_file(name, None);
            sink.array(name, &file, a)?;
            entry_for_array(name, file, a)
        }
        Value::Dict(d) => {
            let mut entries = Vec::with_capacity(d.len());
            for (key, a) in d {
                let file = names::array_file(name, Some(key));
                sink.array(name, &file, a)?;
                let (dtype, fortran_order, shape, bytes) = array_entry_parts(a);
                entries.push(DictEntry {
                    key: key.clone(),
                    file,
                    dtype,
                    fortran_order,
                    shape,
                    bytes,
                });
            }
            Entry {
                name: name.to_owned(),
                kind: Kind::Dict,
                file: None,
                dtype: None,
                fortran_order: None,
                shape: None,
                bytes: entries.iter().map(|e| e.bytes).sum(),
                separate: false,
                entries: Some(entries),
            }
        }
        Value::Json(j) => {
            let (file, bytes) = if separate {
                let file = names::json_file(name);
                let mut text = serde_json::to_vec_pretty(j).map_err(|e| SaveError::Io {
                    path: PathBuf::from(&file),
                    source: std::io::Error::other(e),
                })?;
                text.push(b'\n');
                sink.file(&file, &text)?;
                (file, text.len() as u64)
            } else {
                grouped.insert(name.to_owned(), j.clone());
                (VALUES.to_owned(), value.byte_len())
            };
            Entry {
                name: name.to_owned(),
                kind: Kind::Json,
                file: Some(file),
                dtype: None,
                fortran_order: None,
                shape: None,
                bytes,
                separate,
                entries: None,
            }
        }
    })
}

fn finish_grouped(
    sink: &mut Sink,
    grouped: serde_json::Map<String, serde_json::Value>,
) -> Result<(), SaveError> {
    if grouped.is_empty() {
        return Ok(());
    }
    let mut text = serde_json::to_vec_pretty(&serde_json::Value::Object(grouped)).map_err(|e| {
        SaveError::Io {
            path: PathBuf::from(VALUES),
            source: std::io::Error::other(e),
        }
    })?;
    text.push(b'\n');
    sink.file(VALUES, &text)
}

/// Checks that an existing `target` may be replaced by a pack of `form`.
fn check_target(target: &Path, form: Form) -> Result<(), SaveError> {
    let Ok(meta) = fs::metadata(target) else {
        return Ok(());
    };
    if !meta.is_dir() && !meta.is_file() {
        return Err(SaveError::NotAPack {
            path: target.to_path_buf(),
            reason: fsx::kind_of(&meta),
        });
    }
    let refuse = |reason| {
        Err(SaveError::NotAPack {
            path: target.to_path_buf(),
            reason,
        })
    };
    match form {
        Form::Directory if !meta.is_dir() => refuse("it is not a directory"),
        Form::Directory => {
            let empty = fs::read_dir(target)
                .map_err(io_save(target))?
                .next()
                .is_none();
            if empty || target.join(MANIFEST).is_file() {
                Ok(())
            } else {
                refuse("it is a directory without varpack.json")
            }
        }
        Form::File if meta.is_dir() => refuse("it is a directory"),
        Form::File => {
            if meta.len() == 0 || NpzReader::open(target).is_ok() {
                Ok(())
            } else {
                refuse("it is not a zip archive")
            }
        }
    }
}

impl Varpack {
    /// Saves the pack to its path ([`load`](Self::load), [`open`](Self::open) or
    /// [`set_path`](Self::set_path)), atomically (see the crate docs), then maps its arrays
    /// from the new files. Values not loaded are copied from the old pack. A pack opened with
    /// [`OpenMode::Append`] adds its new values in place instead.
    ///
    /// # Errors
    /// [`SaveError::NotAttached`]; [`SaveError`] naming the file and value. On error the
    /// previous pack is still there.
    ///
    /// ```
    /// use varpack::{LoadOptions, Varpack};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p");
    /// let mut vp = Varpack::new();
    /// vp.insert_array("big", &[0u8; 4096], &[4096]).unwrap();
    /// vp.insert_value("n", &1).unwrap();
    /// vp.save_as(&path).unwrap();
    /// let mut vp = Varpack::load_with(&path, LoadOptions::new().ignore(["big"])).unwrap();
    /// vp.replace_value("n", &2).unwrap();
    /// vp.save().unwrap(); // "big" is kept, though it was never read
    /// let vp = Varpack::load(&path).unwrap();
    /// assert_eq!(vp.array("big").unwrap().as_bytes().len(), 4096);
    /// assert_eq!(vp.get_value::<i32>("n").unwrap(), 2);
    /// ```
    pub fn save(&mut self) -> Result<(), SaveError> {
        let path = self.path.clone().ok_or(SaveError::NotAttached)?;
        self.flush()?;
        // The lock is held until the pack is attached to what this save wrote.
        let _lock = if self.append {
            self.append_in_place(&path)?
        } else {
            self.write_pack(&path, false)?
        };
        self.reattach(&path)
    }

    /// Writes a copy of the pack to `path` (a directory, or one file if it ends in `.npz`),
    /// atomically; the pack itself stays attached where it was (the seed's `save_then_copy`).
    /// To save to the pack's own path use [`save`](Self::save), which also remaps.
    ///
    /// Saves to one path from several threads or processes run one after the other (see
    /// [`LockMode`]): the pack left is exactly one of theirs.
    ///
    /// # Errors
    /// As [`save`](Self::save); [`SaveError::NotAPack`] if `path` exists and is not a pack.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("x", &[1u8, 2], &[2]).unwrap();
    /// vp.save_as(dir.path().join("copy.npz")).unwrap();
    /// vp.save_as(dir.path().join("copy")).unwrap();
    /// std::fs::write(dir.path().join("file.txt"), "mine").unwrap();
    /// assert!(vp.save_as(dir.path().join("file.txt")).is_err());
    /// ```
    pub fn save_as(&self, path: impl AsRef<Path>) -> Result<(), SaveError> {
        self.write_pack(path.as_ref(), false).map(drop)
    }

    /// As [`save_as`](Self::save_as), but refuses a `path` that exists (checked under the
    /// pack's lock, so a concurrent save of this crate cannot slip in between; a single file is
    /// put in place with a link that fails if the name exists).
    ///
    /// # Errors
    /// [`SaveError::Exists`]; as [`save_as`](Self::save_as).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("x", &[1u8, 2], &[2]).unwrap();
    /// vp.save_as_new(dir.path().join("p.npz")).unwrap();
    /// let err = vp.save_as_new(dir.path().join("p.npz")).unwrap_err();
    /// assert!(matches!(err, varpack::SaveError::Exists { .. }));
    /// ```
    pub fn save_as_new(&self, path: impl AsRef<Path>) -> Result<(), SaveError> {
        self.write_pack(path.as_ref(), true).map(drop)
    }

    /// What this pack's saves do when another save of the same path holds its lock (default
    /// [`LockMode::Wait`]; a loaded pack gets [`LoadOptions::lock`]'s).
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.set_lock_mode(varpack::LockMode::FailFast);
    /// assert_eq!(vp.lock_mode(), varpack::LockMode::FailFast);
    /// ```
    pub fn set_lock_mode(&mut self, mode: LockMode) {
        self.lock = mode;
    }

    /// The lock mode of this pack's saves (see [`set_lock_mode`](Self::set_lock_mode)).
    ///
    /// ```
    /// assert_eq!(varpack::Varpack::new().lock_mode(), varpack::LockMode::Wait);
    /// ```
    pub fn lock_mode(&self) -> LockMode {
        self.lock
    }

    fn held_values(&self) -> Result<Vec<(&str, &Slot, Held<'_>)>, SaveError> {
        let mut held = Vec::with_capacity(self.slots.len());
        for (name, slot) in &self.slots {
            let value = match slot.cell.get() {
                Some(v) => Held::Borrowed(v),
                None => {
                    let (Some(source), Some(meta)) = (&slot.source, &slot.meta) else {
                        continue;
                    };
                    Held::Owned(Box::new(
                        load_entry(source, meta, Mode::ReadOnly, None).map_err(Box::new)?,
                    ))
                }
            };
            held.push((name.as_str(), slot, value));
        }
        Ok(held)
    }

    /// Takes the lock of the pack at `target` (creating its parent directory for the
    /// directory form), then finishes an interrupted save and removes dead savers' temporaries.
    fn lock_target(&self, target: &Path, form: Form) -> Result<Option<File>, SaveError> {
        if form == Form::Directory {
            fs::create_dir_all(parent_of(target)).map_err(io_save(target))?;
        }
        let lock = fsx::lock_exclusive(target, self.lock).map_err(|e| match e {
            LockFail::Io(e) if e.kind() == std::io::ErrorKind::NotFound => io_save(target)(e),
            e => lock_save(target, e),
        })?;
        if form == Form::Directory {
            temps::recover_locked(target).map_err(io_save(target))?;
        }
        temps::remove_stale(target, lock.is_some()).map_err(io_save(target))?;
        if form == Form::Directory {
            temps::remove_stale_inside(target, lock.is_some()).map_err(io_save(target))?;
        }
        Ok(lock)
    }

    /// Writes the pack to `target`, atomically, under its lock; returns the lock.
    fn write_pack(&self, target: &Path, no_clobber: bool) -> Result<Option<File>, SaveError> {
        let form = Form::for_path(target);
        let lock = self.lock_target(target, form)?;
        if no_clobber && fs::symlink_metadata(target).is_ok() {
            return Err(SaveError::Exists {
                path: target.to_path_buf(),
            });
        }
        check_target(target, form)?;
        let held = self.held_values()?;
        let previous = fs::symlink_metadata(target).ok();
        let id = fsx::temp_id();
        match form {
            Form::Directory => write_dir(target, &id, &held, previous.is_some(), no_clobber)?,
            Form::File => write_npz(target, &held, self.lock, no_clobber)?,
        }
        Ok(lock)
    }

    /// Adds the new values in place, under the pack's lock; returns the lock.
    fn append_in_place(&self, target: &Path) -> Result<Option<File>, SaveError> {
        if self.source.is_none() {
            return self.write_pack(target, false);
        }
        let form = Form::for_path(target);
        let lock = self.lock_target(target, form)?;
        // The pack as it is now, under the lock: another save may have added values since this
        // one was opened. Its values are kept, except those removed here.
        let (disk, on_disk) = open_source(target, false).map_err(Box::new)?;
        let disk_names: HashSet<String> = on_disk.iter().map(|e| e.name.clone()).collect();
        let mut entries: Vec<Entry> = on_disk
            .into_iter()
            .filter(|e| !self.removed.contains(&e.name))
            .collect();
        let new: Vec<(&String, &Slot)> = self
            .slots
            .iter()
            .filter(|(_, s)| s.meta.is_none())
            .collect();
        for (name, _) in &new {
            if disk_names.contains(name.as_str()) {
                return Err(SaveError::Duplicate {
                    path: target.to_path_buf(),
                    name: (*name).clone(),
                });
            }
        }
        let mut sink = match disk.form {
            Form::Directory => Sink::dir(target, None),
            Form::File => {
                let writer = NpzWriter::options().lock(self.lock).append(target);
                Sink::Npz(Box::new(writer.map_err(|e| npz_save(target, e))?))
            }
        };
        let generation = disk.generation + 1;
        drop(disk);
        let result = append_values(&mut sink, target, new, &mut entries, generation);
        if let (Err(e), Sink::Dir { written, .. }) = (&result, &sink)
            && !matches!(e, SaveError::Injected(_))
        {
            // The files of the values that were to be added are not in any manifest.
            for path in written {
                let _ = fs::remove_file(path);
            }
        }
        result.map(|()| lock)
    }

    /// After a save to the pack's own path: read from the new pack, remap mapped arrays.
    fn reattach(&mut self, path: &Path) -> Result<(), SaveError> {
        let (source, entries) = open_source(path, !self.unmapped).map_err(Box::new)?;
        self.removed.clear();
        let by_name: BTreeMap<String, Entry> =
            entries.into_iter().map(|e| (e.name.clone(), e)).collect();
        for (name, slot) in &mut self.slots {
            slot.meta = by_name.get(name).cloned();
            slot.source = Some(source.clone());
            if let (Some(meta), Some(value)) = (&slot.meta, slot.cell.get_mut())
                && value.status() == Status::Mapped
            {
                *value = load_entry(&source, meta, slot.mode, None).map_err(Box::new)?;
            }
        }
        self.source = Some(source);
        self.append = self.append && self.source.is_some();
        Ok(())
    }
}

/// Writes the values (and the grouped JSON document) to `sink`; returns the manifest.
fn write_values(sink: &mut Sink, held: &[(&str, &Slot, Held<'_>)]) -> Result<Vec<u8>, SaveError> {
    let mut entries = Vec::with_capacity(held.len());
    let mut grouped = serde_json::Map::new();
    for (name, slot, value) in held {
        entries.push(write_value(sink, name, value, slot.separate, &mut grouped)?);
    }
    finish_grouped(sink, grouped)?;
    Ok(Manifest::new(entries).to_bytes())
}

/// A directory save: every file into `.P.ID.varpack-new`, synced, then `P` renamed to
/// `.P.ID.varpack-old`, the new directory renamed to `P`, the old one removed. The caller holds
/// the pack's lock.
fn write_dir(
    target: &Path,
    id: &str,
    held: &[(&str, &Slot, Held<'_>)],
    existed: bool,
    no_clobber: bool,
) -> Result<(), SaveError> {
    let new = temps::with_id(target, id, "new");
    fs::create_dir(&new).map_err(io_save(&new))?;
    let mut guard = Guard::new(new.clone());
    let mut sink = Sink::dir(&new, existed.then_some(target));
    let manifest = write_values(&mut sink, held)?;
    sink.file(MANIFEST, &manifest)?;
    if existed {
        let dir = File::open(&new).map_err(io_save(&new))?;
        copy_mode_and_owner(target, &dir).map_err(io_save(&new))?;
        // A directory's set-group-id and sticky bits are kept too (they govern what is
        // created in it, not who runs it).
        #[cfg(unix)]
        if let Ok(old) = fs::metadata(target) {
            use std::os::unix::fs::PermissionsExt;
            let mode = old.permissions().mode() & 0o7777;
            dir.set_permissions(fs::Permissions::from_mode(mode))
                .map_err(io_save(&new))?;
        }
    }
    sync_dir(&new).map_err(io_save(&new))?;
    crash_point(Fault::AfterFiles, &mut [&mut guard])?;
    let old = temps::with_id(target, id, "old");
    if existed {
        fs::rename(target, &old).map_err(io_save(target))?;
        crash_point(Fault::AfterOldMoved, &mut [&mut guard])?;
    } else if no_clobber && fs::symlink_metadata(target).is_ok() {
        return Err(SaveError::Exists {
            path: target.to_path_buf(),
        });
    }
    if let Err(e) = fs::rename(&new, target) {
        if existed {
            // Put the old pack back.
            let _ = fs::rename(&old, target);
        }
        return Err(io_save(target)(e));
    }
    guard.disarm();
    // From here the old pack is removed whatever happens (unless a test simulates a crash).
    let mut old_guard = Guard::new(old);
    if !existed {
        old_guard.disarm();
    }
    let synced = sync_dir(parent_of(target)).map_err(io_save(target));
    crash_point(Fault::AfterSwap, &mut [&mut old_guard])?;
    synced
}

/// A single-file save: the archive written to a temporary file beside `P` and renamed over it
/// after a sync by npz-stream's writer, which keeps the mode and owner of the file it replaces
/// and takes its lock for the rename (or, `no_clobber`, refuses a name that exists when it is
/// put in place). The caller holds the pack's lock.
fn write_npz(
    target: &Path,
    held: &[(&str, &Slot, Held<'_>)],
    lock: LockMode,
    no_clobber: bool,
) -> Result<(), SaveError> {
    let writer = NpzWriter::options()
        .lock(lock)
        .replace(!no_clobber)
        .create(target)
        .map_err(|e| npz_save(target, e))?;
    let mut sink = Sink::Npz(Box::new(writer));
    let manifest = write_values(&mut sink, held)?;
    let Sink::Npz(mut writer) = sink else {
        unreachable!("an npz sink")
    };
    writer.add_file(NPZ_MANIFEST, &manifest)?;
    crash_point(Fault::AfterFiles, &mut [])?;
    writer.finish().map_err(|e| npz_save(target, e))
}

fn npz_save(target: &Path, e: npz_stream::WriteError) -> SaveError {
    match e {
        npz_stream::WriteError::Exists { .. } => SaveError::Exists {
            path: target.to_path_buf(),
        },
        npz_stream::WriteError::Locked { .. } => SaveError::Locked {
            path: target.to_path_buf(),
            lock: target.to_path_buf(),
        },
        e => SaveError::Npz(e),
    }
}

/// Writes the new values of an append and the new manifest (renamed over the old one, or the
/// next `__varpack__.N.json` member).
fn append_values(
    sink: &mut Sink,
    target: &Path,
    new: Vec<(&String, &Slot)>,
    entries: &mut Vec<Entry>,
    generation: u64,
) -> Result<(), SaveError> {
    let mut unused = serde_json::Map::new();
    for (name, slot) in new {
        let Some(value) = slot.cell.get() else {
            continue;
        };
        // Appends never rewrite the shared document: JSON values get files of their own.
        entries.push(write_value(sink, name, value, true, &mut unused)?);
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let manifest = Manifest::new(std::mem::take(entries)).to_bytes();
    match sink {
        Sink::Dir { .. } => {
            let tmp_name = format!(".varpack.json.{}.tmp", fsx::temp_id());
            sink.file(&tmp_name, &manifest)?;
            let tmp = target.join(&tmp_name);
            crash_point(Fault::AfterFiles, &mut [])?;
            fs::rename(&tmp, target.join(MANIFEST)).map_err(io_save(&tmp))?;
            if let Sink::Dir { written, .. } = sink {
                written.retain(|p| *p != tmp);
            }
            sync_dir(target).map_err(io_save(target))?;
        }
        Sink::Npz(_) => {
            let Sink::Npz(writer) = std::mem::replace(sink, Sink::dir(target, None)) else {
                unreachable!("an npz sink")
            };
            let name = format!("__varpack__.{generation}.json");
            let mut writer = writer;
            writer.add_file(&name, &manifest)?;
            crash_point(Fault::AfterFiles, &mut [])?;
            writer.finish()?;
        }
    }
    Ok(())
}
