//! The pack as a load opened it: its manifest (or, for a plain numpy `.npz`, its member list)
//! and where its values are read from. A local pack's directory or archive is held open, so that
//! a save replacing it (by rename) is noticed and the load starts again instead of mixing two
//! packs; a pack in object storage (see `remote`) is read by requests, into memory.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use array_files_fs::map::{MapOptions, Mmap};
use array_files_fs::regular::{
    OpenRegularError, kind_of, open_regular, open_regular_with_metadata,
};
use std::collections::HashSet;

use npz_stream::{Content, NpzReader};

use super::remote::Remote;
use crate::error::{LoadError, LoadErrorKind, io_load, npz_read};
use crate::manifest::{self, Entry, Manifest, dtype_json};
use crate::names::{MANIFEST, NPZ_MANIFEST};
use crate::pack::Form;
use crate::{Kind, SkippedMember};

/// The pack a value can be read from.
#[derive(Debug)]
pub(crate) struct Source {
    /// The pack's path, or its URL (as a path: what errors name).
    pub(crate) path: PathBuf,
    pub(crate) form: Form,
    /// The archive's reader (single-file form).
    pub(crate) npz: Option<NpzReader>,
    /// The single-file form's current manifest is `__varpack__.GENERATION.json` (0: the
    /// first, `__varpack__.json`); an append writes the next.
    pub(crate) generation: u64,
    /// Arrays are mapped (else read into memory; always, from object storage).
    pub(crate) mapped: bool,
    /// The longest NPY header accepted ([`LoadOptions::max_header_size`](crate::LoadOptions::max_header_size)).
    pub(crate) max_header_size: usize,
    /// A plain numpy `.npz`: the members that are not loadable arrays, left out.
    pub(crate) skipped: Vec<crate::SkippedMember>,
    /// Where the bytes are: local files, or objects read by requests.
    pub(crate) origin: Origin,
}

/// Where a pack's bytes are.
#[derive(Debug)]
pub(crate) enum Origin {
    /// A directory or archive on a local file system.
    Local(Local),
    /// Object storage (or any [`ByteSource`](npy_format::source::ByteSource)): no maps, no
    /// identity to check, nothing to hold open.
    Remote(Remote),
}

/// A local pack as it was opened.
#[derive(Debug)]
pub(crate) struct Local {
    /// One read-only map of the whole archive (single-file form), made on first use and shared
    /// by every member mapped read-only.
    archive_map: OnceLock<Arc<Mmap>>,
    /// The directory or archive as it was opened: held open so that its identity (device and
    /// inode) cannot be reused while this source lives.
    pub(crate) held: File,
    /// Its identity: a save replaces the pack by rename, so a path that no longer leads to
    /// this identity was replaced.
    pub(crate) id: (u64, u64),
    /// While a load reads every value, the check that the directory was not replaced runs
    /// once at its end instead of after each file's open (a path stat per file, a quarter of
    /// a load's system calls): a replaced directory never comes back, so a path that leads
    /// to the held directory at the end led to it at every open before.
    batch_check: AtomicBool,
}

impl Source {
    /// A source of `origin`, its manifest not read yet.
    pub(crate) fn new(
        path: PathBuf,
        form: Form,
        mapped: bool,
        max_header_size: usize,
        origin: Origin,
    ) -> Source {
        Source {
            path,
            form,
            npz: None,
            generation: 0,
            mapped,
            max_header_size,
            skipped: Vec::new(),
            origin,
        }
    }

    /// The local pack's state, if the pack is local.
    pub(crate) fn local(&self) -> Option<&Local> {
        match &self.origin {
            Origin::Local(local) => Some(local),
            Origin::Remote(_) => None,
        }
    }

    /// The remote pack's state, if the pack is in object storage.
    pub(crate) fn remote(&self) -> Option<&Remote> {
        match &self.origin {
            Origin::Remote(remote) => Some(remote),
            Origin::Local(_) => None,
        }
    }

    /// Where `file` of the pack is (a file of the directory, a member of the archive, an
    /// object under the prefix), for messages.
    pub(crate) fn at(&self, file: &str) -> PathBuf {
        match &self.origin {
            Origin::Local(_) => self.path.join(file),
            Origin::Remote(_) => {
                let url = self.path.to_string_lossy();
                PathBuf::from(format!("{}/{file}", url.trim_end_matches('/')))
            }
        }
    }

    /// Runs `load` (which opens many files of a directory pack) with one check that the pack
    /// was not replaced, at its end, instead of one per file; see `batch_check`. (A pack in
    /// object storage has nothing to check.)
    pub(crate) fn checked_once<T>(
        &self,
        load: impl FnOnce() -> Result<T, LoadError>,
    ) -> Result<T, LoadError> {
        let Some(local) = self.local() else {
            return load();
        };
        local.batch_check.store(true, Ordering::Relaxed);
        let loaded = load();
        local.batch_check.store(false, Ordering::Relaxed);
        let loaded = loaded.map_err(|e| self.or_replaced(e))?;
        self.check_current()?;
        Ok(loaded)
    }

    /// The read-only map of the whole archive, made once, of the archive as it was opened.
    pub(crate) fn archive_map(&self) -> std::io::Result<&Arc<Mmap>> {
        let Some(local) = self.local() else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "a pack in object storage is read into memory, never mapped",
            ));
        };
        if let Some(map) = local.archive_map.get() {
            return Ok(map);
        }
        // The crate documents (Varpack, Array) that a pack must not be truncated or rewritten
        // by others while its values are mapped (array_files_fs::map's contract); this crate's
        // own saves replace it by rename, which leaves the mapped file intact. Every member
        // range is checked against the map's length.
        let map = MapOptions::new().map(&local.held)?;
        Ok(local.archive_map.get_or_init(|| Arc::new(map)))
    }

    /// Whether the path still leads to the pack this source read (a pack in object storage:
    /// always, as far as this crate can tell).
    fn is_current(&self) -> bool {
        match self.local() {
            Some(local) => fs::metadata(&self.path).is_ok_and(|m| identity(&m) == local.id),
            None => true,
        }
    }

    /// [`LoadErrorKind::Replaced`] if the pack was replaced since it was opened. Called after
    /// opening a file of a directory pack by path: if the directory is still the one read, the
    /// open resolved inside it (a replaced directory never comes back: saves rename new
    /// directories into place, and the held one cannot be recycled).
    pub(crate) fn check_current(&self) -> Result<(), LoadError> {
        if self.is_current() {
            Ok(())
        } else {
            Err(LoadError::new(&self.path, LoadErrorKind::Replaced))
        }
    }

    /// `err`, or [`LoadErrorKind::Replaced`] if the pack was replaced (a file missing because the
    /// directory was swapped is not the pack's fault).
    pub(crate) fn or_replaced(&self, err: LoadError) -> LoadError {
        match err.kind() {
            LoadErrorKind::Replaced => err,
            _ if self.is_current() => err,
            _ => LoadError::new(&self.path, LoadErrorKind::Replaced),
        }
    }
}

/// The device and inode of a file (identity: a file replaced by rename has another).
pub(crate) fn identity(meta: &fs::Metadata) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        (0, 0)
    }
}

/// Why a file of the pack did not open, as a [`LoadError`].
fn open_fail(path: &Path, e: OpenRegularError) -> LoadError {
    match e {
        OpenRegularError::Io(source) => io_load(path)(source),
        OpenRegularError::NotRegular(what) => {
            LoadError::new(path, LoadErrorKind::NotRegular { what })
        }
    }
}

/// Opens file `file` of a local directory pack (a regular file, never blocking on a FIFO),
/// checking that the directory was not replaced since the source was opened. Returns the file,
/// its metadata (read to check it) and its path.
pub(crate) fn open_in_dir(
    source: &Source,
    name: &str,
    file: &str,
    write: bool,
) -> Result<(File, fs::Metadata, PathBuf), LoadError> {
    let path = source.path.join(file);
    let f = open_regular_with_metadata(&path, write).map_err(|e| match e {
        OpenRegularError::Io(io) => missing_or(source, name, file, &path, io),
        e => open_fail(&path, e),
    });
    if source
        .local()
        .is_some_and(|local| !local.batch_check.load(Ordering::Relaxed))
    {
        source.check_current()?;
    }
    let (f, meta) = f?;
    Ok((f, meta, path))
}

/// An I/O error opening `file` of value `name`: not found is [`LoadErrorKind::MissingFile`] (the
/// manifest lists a file the directory lacks).
pub(crate) fn missing_or(
    source: &Source,
    name: &str,
    file: &str,
    path: &Path,
    e: std::io::Error,
) -> LoadError {
    if e.kind() == std::io::ErrorKind::NotFound {
        LoadError::new(
            &source.path,
            LoadErrorKind::MissingFile {
                name: name.to_owned(),
                file: file.to_owned(),
            },
        )
    } else {
        io_load(path)(e)
    }
}

/// Opens the pack at `path`: its manifest (or, for a plain `.npz`, its member list). Never
/// blocks on a FIFO; [`LoadErrorKind::Replaced`] if a save replaced the pack meanwhile.
pub(crate) fn open_source(
    path: &Path,
    mapped: bool,
) -> Result<(Arc<Source>, Vec<Entry>), LoadError> {
    open_source_with(path, mapped, npy_format::header::DEFAULT_MAX_HEADER_SIZE)
}

/// [`open_source`] with a header limit other than numpy's.
pub(crate) fn open_source_with(
    path: &Path,
    mapped: bool,
    max_header_size: usize,
) -> Result<(Arc<Source>, Vec<Entry>), LoadError> {
    let (held, meta) = open_held(path)?;
    let form = if meta.is_dir() {
        Form::Directory
    } else {
        Form::File
    };
    let local = Local {
        archive_map: OnceLock::new(),
        held,
        id: identity(&meta),
        batch_check: AtomicBool::new(false),
    };
    let origin = Origin::Local(local);
    let source = Source::new(path.to_path_buf(), form, mapped, max_header_size, origin);
    match source.form {
        Form::Directory => open_dir(source),
        Form::File => open_archive(source),
    }
}

/// Opens the directory or archive at `path` without blocking (a FIFO planted there is refused,
/// not waited on), to hold while the pack is read.
fn open_held(path: &Path) -> Result<(File, fs::Metadata), LoadError> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let held = options.open(path).map_err(io_load(path))?;
    let meta = held.metadata().map_err(io_load(path))?;
    if !meta.is_dir() && !meta.is_file() {
        let what = kind_of(&meta);
        return Err(LoadError::new(path, LoadErrorKind::NotRegular { what }));
    }
    Ok((held, meta))
}

/// A manifest's bytes, read from `at`, parsed (a version this crate does not know is refused).
pub(crate) fn parse_manifest(
    bytes: &[u8],
    at: PathBuf,
    archive: bool,
) -> Result<Manifest, LoadError> {
    match Manifest::parse(bytes, archive) {
        Ok(Ok(m)) => Ok(m),
        Ok(Err(found)) => Err(LoadError::new(
            at,
            LoadErrorKind::Version {
                found,
                supported: manifest::FORMAT_VERSION,
            },
        )),
        Err(reason) => Err(LoadError::new(at, LoadErrorKind::Manifest { reason })),
    }
}

/// A directory pack: its `varpack.json`, read while the directory is still the one held.
fn open_dir(source: Source) -> Result<(Arc<Source>, Vec<Entry>), LoadError> {
    let at = source.path.join(MANIFEST);
    let bytes = read_regular(&at).map_err(|e| match e {
        OpenRegularError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let reason = "missing: not a varpack directory".into();
            LoadError::new(&at, LoadErrorKind::Manifest { reason })
        }
        e => open_fail(&at, e),
    });
    let bytes = bytes.map_err(|e| source.or_replaced(e))?;
    source.check_current()?;
    let manifest = parse_manifest(&bytes, at, false)?;
    Ok((Arc::new(source), manifest.values))
}

/// Reads the whole regular file at `path` (never blocking on a FIFO).
fn read_regular(path: &Path) -> Result<Vec<u8>, OpenRegularError> {
    use std::io::Read;
    let mut bytes = Vec::new();
    open_regular(path, false)?
        .read_to_end(&mut bytes)
        .map_err(OpenRegularError::Io)?;
    Ok(bytes)
}

/// A local single-file pack: its archive's current manifest, or the arrays of a plain numpy
/// `.npz`.
fn open_archive(source: Source) -> Result<(Arc<Source>, Vec<Entry>), LoadError> {
    let path = source.path.clone();
    // Mapped at open: the manifest and every member's headers are then read from memory, not
    // with a system call each (five per member), which is most of a load's time.
    // (With `mapped` false, nothing is mapped: a file truncated while read gives errors.)
    let reader = NpzReader::options()
        .map_archive(source.mapped)
        .max_header_size(source.max_header_size)
        .open(&path);
    // The reader opened the path after `held` did: if the path still leads to `held`'s file,
    // the reader read that file too (a replaced archive never comes back).
    if !source.is_current() {
        return Err(LoadError::new(path, LoadErrorKind::Replaced));
    }
    let reader = reader.map_err(|e| e.map_kind(LoadErrorKind::NpzOpen))?;
    with_archive(source, reader)
}

/// A single-file pack whose archive `reader` opened: its current manifest (one member read), or
/// the arrays of a plain numpy `.npz` (every member's headers).
pub(crate) fn with_archive(
    mut source: Source,
    reader: NpzReader,
) -> Result<(Arc<Source>, Vec<Entry>), LoadError> {
    let (values, generation) = match current_manifest(&reader.keys()) {
        Some((g, name)) => {
            let bytes = reader.read_bytes(&name).map_err(|e| npz_read(&name, e))?;
            (parse_manifest(&bytes, source.at(&name), true)?.values, g)
        }
        None => {
            let (entries, skipped) = plain_npz_entries(&reader);
            source.skipped = skipped;
            (entries, 0)
        }
    };
    source.npz = Some(reader);
    source.generation = generation;
    Ok((Arc::new(source), values))
}

/// The current manifest among an archive's members, with its generation: `__varpack__.json`
/// (0), or the highest `__varpack__.N.json`.
fn current_manifest(keys: &[String]) -> Option<(u64, String)> {
    let mut best: Option<(u64, String)> = None;
    for key in keys {
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
    best
}

/// A plain numpy `.npz`: every member that is a loadable array is a value, named as numpy's
/// `NpzFile` reaches that very member ([`value_name`]); the other members (text, directories,
/// undecoded methods, object arrays, headers over the limit, names a pack cannot hold) are
/// left out, each with why.
fn plain_npz_entries(reader: &NpzReader) -> (Vec<Entry>, Vec<SkippedMember>) {
    let mut values = Vec::new();
    let mut skipped = Vec::new();
    let members = reader.list();
    let names: HashSet<&str> = members.iter().map(|m| m.name.as_str()).collect();
    for member in &members {
        let skip = |reason: String| SkippedMember {
            member: member.name.clone(),
            key: member.key.clone(),
            reason,
        };
        let info = match &member.content {
            Content::Array(info) if info.header.dtype.has_object() => {
                skipped.push(skip(format!(
                    "an object array (dtype {}): its data is a pickle, which this crate never runs (numpy loads it only with allow_pickle=True)",
                    info.header.dtype.descr()
                )));
                continue;
            }
            Content::Array(info) => info,
            other => {
                skipped.push(skip(other.reason().unwrap_or_default()));
                continue;
            }
        };
        let name = match value_name(&member.key, &member.name, &names) {
            Ok(name) => name,
            Err(reason) => {
                skipped.push(skip(reason));
                continue;
            }
        };
        values.push(Entry {
            name,
            kind: Kind::Array,
            file: Some(member.name.clone()),
            dtype: Some(dtype_json(&info.header.dtype)),
            fortran_order: Some(info.header.fortran_order),
            shape: Some(info.header.shape.clone()),
            bytes: info.header.data_len().unwrap_or(0),
            separate: false,
            entries: None,
        });
    }
    values.sort_by(|a, b| a.name.cmp(&b.name));
    (values, skipped)
}

/// The value name of member `member` (key `key`) among the archive's member `names`: the key,
/// if numpy's `NpzFile[key]` gives this very member (no other member is named exactly `key`);
/// else the member's full name, which `NpzFile[name]` always gives. So `x.npy` is `x`, while
/// of `x.npy` and `x.npy.npy` the second is `x.npy.npy` (its key `x.npy` reaches the first),
/// and of `x` and `x.npy` the second is `x.npy`: no two members share a name, none is
/// dropped, and each name loads in numpy the array it holds here. A name a pack cannot hold
/// (empty, `__varpack__...`, NUL) falls back to the full name, or is refused.
fn value_name(key: &str, member: &str, names: &HashSet<&str>) -> Result<String, String> {
    let usable = |n: &str| !n.is_empty() && !n.contains('\0') && !n.starts_with("__varpack__");
    if (key == member || !names.contains(key)) && usable(key) {
        return Ok(key.to_owned());
    }
    if usable(member) {
        return Ok(member.to_owned());
    }
    Err(format!(
        "the member name {member:?} is not a value name a pack can hold (empty, reserved __varpack__ prefix, or NUL)"
    ))
}
