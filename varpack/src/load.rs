//! Loading a pack: [`LoadOptions`] and the load itself (and opening one to append to), which finishes a
//! directory save interrupted between its renames and reads the pack again if a save replaced
//! it meanwhile.
//!
//! - `source`: the pack as opened (held open, its identity, its manifest);
//! - `value`: reading one value of it (headers checked against the manifest, arrays mapped or
//!   read), now or lazily on first access;
//! - `remote`: a pack in object storage (a URL, or any byte source), read into memory by
//!   requests, lazily by default;
//! - `inspect`: the read-only check that `varpack show` runs.

pub(crate) mod inspect;
pub(crate) mod remote;
pub(crate) mod source;
pub(crate) mod value;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use npy_format::Mode;

use crate::error::{LoadError, LoadErrorKind, io_load};
use crate::lock::{self, LockMode};
use crate::manifest::Entry;
use crate::mode::Access;
use crate::pack::{Form, Slot};
use crate::temps;
use crate::{Kind, Varpack};
use source::{Source, open_source_with};
use value::{load_entry, read_doc};

/// Options for loading a pack: `LoadOptions::new()`, by-value setters, then
/// [`load`](Self::load) (or [`append`](Self::append)).
///
/// ```
/// use varpack::{GetError, LoadOptions, MapMode, Status, Varpack};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("p");
/// let mut vp = Varpack::new();
/// vp.insert_array("x", &[1u8, 2], &[2]).unwrap();
/// vp.insert_value("big", &vec![0; 1000]).unwrap();
/// vp.save_as(&path).unwrap();
///
/// let opts = LoadOptions::new().ignore(["big"]).map_mode(MapMode::CopyOnWrite).lazy(true);
/// let mut vp = opts.load(&path).unwrap();
/// assert_eq!(vp.status("x"), Some(Status::Unloaded)); // lazy: read on first access
/// vp.view_mut::<u8>("x").unwrap().as_mut_slice()[0] = 9; // copy-on-write: in memory only
/// assert_eq!(vp.status("x"), Some(Status::Mapped));
/// assert!(matches!(vp.get("big"), Err(GetError::Ignored { .. })));
/// vp.flush().unwrap();
/// assert_eq!(Varpack::load(&path).unwrap().array("x").unwrap().as_bytes(), &[1, 2]);
/// ```
#[derive(Debug, Clone)]
pub struct LoadOptions {
    ignore: HashSet<String>,
    mode: Mode,
    /// `None`: eager for local packs, lazy for packs in object storage.
    lazy: Option<bool>,
    memory_map: bool,
    lock: LockMode,
    max_header_size: usize,
    strict: bool,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            ignore: HashSet::new(),
            mode: Mode::ReadOnly,
            lazy: None,
            memory_map: true,
            lock: LockMode::Wait,
            max_header_size: npy_format::header::DEFAULT_MAX_HEADER_SIZE,
            strict: false,
        }
    }
}

impl LoadOptions {
    /// Defaults: nothing ignored, read-only maps, eager (lazy for a pack in object storage),
    /// memory-mapped (never, from object storage), waiting for a save in progress, numpy's header limit (10000), a plain numpy `.npz`'s members that are not
    /// loadable arrays left out (not strict).
    ///
    /// ```
    /// use varpack::{LoadOptions, Status, Varpack};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p");
    /// # let mut vp = Varpack::new();
    /// # vp.insert_array("x", &[1u8, 2], &[2]).unwrap();
    /// # vp.save_as(&path).unwrap();
    /// let vp = LoadOptions::new().load(&path).unwrap(); // as Varpack::load
    /// assert_eq!(vp.status("x"), Some(Status::Mapped));
    /// assert_eq!(vp.array("x").unwrap().map_mode(), Some(varpack::MapMode::ReadOnly));
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
    /// let vp = varpack::LoadOptions::new().memory_map(false).load(&path).unwrap();
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
    /// use varpack::{LoadOptions, LockMode, Varpack};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p");
    /// # let mut vp = Varpack::new();
    /// # vp.insert_array("x", &[1u8, 2], &[2]).unwrap();
    /// # vp.save_as(&path).unwrap();
    /// let vp = LoadOptions::new().lock(LockMode::FailFast).load(&path).unwrap();
    /// assert_eq!(vp.lock_mode(), LockMode::FailFast); // its saves fail if another one runs
    /// ```
    pub fn lock(mut self, mode: LockMode) -> LoadOptions {
        self.lock = mode;
        self
    }

    /// The longest NPY header accepted, in characters (default numpy's 10000); raise it for
    /// trusted packs only. In a plain numpy `.npz`, an array whose header is longer is left out
    /// ([`Varpack::skipped_members`]); in a pack of this crate it is an error.
    ///
    /// ```
    /// use varpack::{LoadOptions, Varpack};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p");
    /// # let mut vp = Varpack::new();
    /// # vp.insert_array("x", &[1u8, 2], &[2]).unwrap();
    /// # vp.save_as(&path).unwrap();
    /// assert!(LoadOptions::new().max_header_size(50).load(&path).is_err()); // a 118-character header
    /// assert!(LoadOptions::new().max_header_size(200).load(&path).is_ok());
    /// ```
    pub fn max_header_size(mut self, max: usize) -> LoadOptions {
        self.max_header_size = max;
        self
    }

    /// Refuse a plain numpy `.npz` with members that are not loadable arrays (text, directories,
    /// undecoded methods, object arrays, headers over the limit) instead of leaving them out
    /// (default false: they are left out, as numpy's `np.load` without `allow_pickle` loads the
    /// other keys, and listed by [`Varpack::skipped_members`]).
    ///
    /// ```
    /// use varpack::{LoadErrorKind, LoadOptions};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("numpy.npz");
    /// let mut npz = varpack::npz_stream::NpzWriter::create(&path).unwrap();
    /// npz.add_array("x", &[1u8], &[1]).unwrap();
    /// npz.add_file("notes.txt", b"hello").unwrap();
    /// npz.finish().unwrap();
    /// assert_eq!(LoadOptions::new().load(&path).unwrap().names(), ["x"]);
    /// let err = LoadOptions::new().strict(true).load(&path).unwrap_err();
    /// assert!(matches!(err.kind(), LoadErrorKind::NotLoadable { .. }));
    /// ```
    pub fn strict(mut self, yes: bool) -> LoadOptions {
        self.strict = yes;
        self
    }

    /// Values never read (their files are not even opened); a later save copies them.
    ///
    /// ```
    /// use varpack::{LoadOptions, Varpack};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p");
    /// # let mut vp = Varpack::new();
    /// # vp.insert_array("x", &[1u8, 2], &[2]).unwrap();
    /// # vp.save_as(&path).unwrap();
    /// let mut vp = LoadOptions::new().ignore(["x"]).load(&path).unwrap();
    /// assert!(vp.infos()[0].ignored && vp.array("x").is_err());
    /// vp.insert_value("n", &1).unwrap();
    /// vp.save().unwrap(); // "x" is copied from the old pack
    /// assert_eq!(Varpack::load(&path).unwrap().array("x").unwrap().as_bytes(), &[1, 2]);
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
    /// use varpack::{LoadOptions, MapMode, Varpack};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p");
    /// # let mut vp = Varpack::new();
    /// # vp.insert_array("x", &[1u8, 2], &[2]).unwrap();
    /// # vp.save_as(&path).unwrap();
    /// let mut vp = LoadOptions::new().map_mode(MapMode::ReadWrite).load(&path).unwrap();
    /// vp.array_mut("x").unwrap().as_bytes_mut().unwrap()[1] = 7; // written to x.npy
    /// drop(vp);
    /// assert_eq!(Varpack::load(&path).unwrap().array("x").unwrap().as_bytes(), &[1, 7]);
    /// ```
    pub fn map_mode(mut self, mode: Mode) -> LoadOptions {
        self.mode = mode;
        self
    }

    /// Read only the manifest; each value is read on first access (default false for a local
    /// pack, true for one in object storage: see
    /// [`load_location`](Self::load_location)).
    ///
    /// ```
    /// use varpack::{LoadOptions, Status, Varpack};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p");
    /// # let mut vp = Varpack::new();
    /// # vp.insert_array("x", &[1u8, 2], &[2]).unwrap();
    /// # vp.save_as(&path).unwrap();
    /// let vp = LoadOptions::new().lazy(true).load(&path).unwrap();
    /// assert_eq!(vp.status("x"), Some(Status::Unloaded));
    /// assert_eq!(vp.array("x").unwrap().as_bytes(), &[1, 2]);
    /// assert_eq!(vp.status("x"), Some(Status::Mapped));
    /// ```
    pub fn lazy(mut self, lazy: bool) -> LoadOptions {
        self.lazy = Some(lazy);
        self
    }

    /// Loads the pack at `path` (a directory, or a `.npz` file) with these options (ignore
    /// list, map mode, lazy, memory map, lock mode). As [`Varpack::load`]: with maps (the
    /// default), a mapped file that shrinks under the pack makes reads of the lost part die of
    /// `SIGBUS`; without, the load reads everything into memory and a truncated file is an
    /// error.
    ///
    /// # Errors
    /// [`LoadError`] naming the path and value.
    ///
    /// ```
    /// use varpack::{LoadOptions, MapMode, Varpack};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p");
    /// let mut vp = Varpack::new();
    /// vp.insert_array("x", &[1u32, 2], &[2]).unwrap();
    /// vp.save_as(&path).unwrap();
    /// let mut vp = LoadOptions::new().map_mode(MapMode::ReadWrite).load(&path).unwrap();
    /// vp.view_mut::<u32>("x").unwrap().as_mut_slice()[0] = 7;
    /// vp.flush().unwrap();
    /// assert_eq!(Varpack::load(&path).unwrap().array("x").unwrap().to_vec::<u32>().unwrap(), vec![7, 2]);
    /// ```
    pub fn load(&self, path: impl AsRef<Path>) -> Result<Varpack, LoadError> {
        load_pack(path.as_ref(), self, false)
    }

    /// Opens the pack at `path` to add values (AlignedBinaryFormat's append mode), creating it
    /// on the first save if it does not exist: existing values are read lazily, existing
    /// names are refused, and a save adds the new values in place. A directory's manifest is
    /// replaced by rename, so a crash leaves the old pack or the new one; a single `.npz` is
    /// appended to in place ([`NpzWriter::append`](npz_stream::NpzWriter::append), which takes
    /// the archive's lock with these options' [`LockMode`]): a failed save restores it, a
    /// process killed mid-save leaves the old archive followed by bytes that readers ignore and
    /// the next append cuts off. The save runs under the pack's lock and re-reads the manifest
    /// there, so values appended meanwhile by another process are kept.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("log");
    /// for step in 0..3 {
    ///     let mut vp = varpack::LoadOptions::new().append(&path).unwrap();
    ///     vp.insert_value(&format!("step{step}"), &step).unwrap();
    ///     vp.save().unwrap();
    /// }
    /// assert_eq!(varpack::Varpack::load(&path).unwrap().len(), 3);
    /// ```
    pub fn append(&self, path: impl AsRef<Path>) -> Result<Varpack, LoadError> {
        let path = path.as_ref();
        if Form::for_path(path) == Form::Directory {
            recover(path, LockMode::Wait)?;
        }
        let mut vp = if path.exists() {
            self.clone().lazy(true).load(path)?
        } else {
            Varpack::create(path)
        };
        vp.append = vp.source.is_some();
        Ok(vp)
    }
}

/// Finishes a directory save interrupted between its two renames, under the pack's lock.
fn recover(path: &Path, mode: LockMode) -> Result<(), LoadError> {
    if temps::interrupted(path).map_err(io_load(path))?.is_none() {
        return Ok(());
    }
    let _lock = lock::lock_exclusive(path, mode).map_err(|e| lock::load_error(path, e))?;
    temps::recover_locked(path).map_err(io_load(path))
}

/// How many times a load starts again when a save replaced the pack while it was read; the
/// attempts after the first two hold the pack's lock shared, so no save can replace it.
const ATTEMPTS: usize = 4;

/// Loads the pack at `path`. A directory save interrupted between its renames is finished
/// (under the pack's exclusive lock), or with `read_only` reported as
/// [`LoadErrorKind::Interrupted`] (after waiting for a save in progress, under a shared lock). A
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
                    let _shared = lock::lock_shared(path, options.lock)
                        .map_err(|e| lock::load_error(path, e))?;
                    if let Some((complete, _)) = temps::interrupted(path).map_err(io_load(path))? {
                        let kind = LoadErrorKind::Interrupted { complete };
                        return Err(LoadError::new(path, kind));
                    }
                }
            } else {
                recover(path, options.lock)?;
            }
        }
        let _shared = if attempt > 2 {
            lock::lock_shared(path, options.lock).map_err(|e| lock::load_error(path, e))?
        } else {
            None
        };
        match Varpack::load_once(path, options) {
            Err(e) if !last && matches!(e.kind(), LoadErrorKind::Replaced) => {}
            // Between a directory save's two renames the path is missing for a moment.
            Err(e)
                if !last
                    && e.path() == path
                    && matches!(e.kind(), LoadErrorKind::Io { source }
                        if source.kind() == std::io::ErrorKind::NotFound) => {}
            result => return result,
        }
    }
}

impl Varpack {
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
        LoadOptions::new().load(path)
    }

    /// One attempt at a load (see [`load_pack`]).
    fn load_once(path: &Path, options: &LoadOptions) -> Result<Varpack, LoadError> {
        let (source, entries) =
            open_source_with(path, options.memory_map, options.max_header_size)?;
        Varpack::from_source(source, entries, options, Some(path.to_path_buf()))
    }

    /// The pack of an opened `source` whose manifest lists `entries`, with `options`: every
    /// value read now, or (lazy) only the JSON values of the shared document (from object
    /// storage, not even those: each value is read on first access). Saved to `path`, if any.
    pub(crate) fn from_source(
        source: Arc<Source>,
        entries: Vec<Entry>,
        options: &LoadOptions,
        path: Option<PathBuf>,
    ) -> Result<Varpack, LoadError> {
        let remote = source.remote().is_some();
        let lazy = options.lazy.unwrap_or(remote);
        if options.strict
            && let Some(skipped) = source.skipped.first()
        {
            let kind = LoadErrorKind::NotLoadable {
                member: skipped.member.clone(),
                reason: skipped.reason.clone(),
            };
            return Err(LoadError::new(&source.path, kind));
        }
        let mut vp = Varpack {
            slots: BTreeMap::new(),
            path,
            source: Some(source.clone()),
            append: false,
            lock: options.lock,
            removed: HashSet::new(),
            unmapped: !options.memory_map || remote,
            separate_min_bytes: None,
            access: Access::Full,
            dict_inline_below: None,
            sync: true,
        };
        // The grouped JSON document is read once, if any value in it is wanted.
        let mut docs: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        source.checked_once(|| {
            for entry in &entries {
                let ignored = options.ignore.contains(&entry.name);
                let slot = Slot {
                    meta: Some(entry.clone()),
                    source: Some(source.clone()),
                    cell: OnceLock::new(),
                    separate: entry.separate,
                    ignored,
                    skip_save: false,
                    mode: options.mode,
                };
                let grouped = entry.kind == Kind::Json && !entry.separate;
                // A dict's JSON entries are in the shared document too.
                let in_doc = entry.kind != Kind::Array && !entry.separate;
                // A lazy load reads the shared document's values at once (locally, one read
                // gives them all); from object storage they wait for their first access too.
                if !ignored && ((grouped && !remote) || !lazy) {
                    let doc = match (&entry.file, in_doc) {
                        (Some(file), true) => {
                            if !docs.contains_key(file) {
                                let doc = read_doc(&source, &entry.name, file)?;
                                docs.insert(file.clone(), doc);
                            }
                            docs.get(file)
                        }
                        _ => None,
                    };
                    let value = load_entry(&source, entry, options.mode, doc)?;
                    let _ = slot.cell.set(value);
                }
                vp.slots.insert(entry.name.clone(), slot);
            }
            Ok(())
        })?;
        Ok(vp)
    }

    /// An empty pack whose path is `path`: nothing is read or written until
    /// [`save`](Self::save), which creates the pack or replaces the one there, atomically
    /// (AlignedBinaryFormat's write mode).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("new");
    /// let mut vp = varpack::Varpack::create(&path);
    /// vp.insert_value("n", &1).unwrap();
    /// assert!(!path.exists());
    /// vp.save().unwrap();
    /// assert_eq!(varpack::Varpack::load(&path).unwrap().names(), vec!["n"]);
    /// ```
    pub fn create(path: impl AsRef<Path>) -> Varpack {
        let mut vp = Varpack::new();
        vp.path = Some(path.as_ref().to_path_buf());
        vp
    }

    /// Opens the pack at `path` to add values, with default options (see
    /// [`LoadOptions::append`]).
    ///
    /// # Errors
    /// As [`load`](Self::load).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("p.npz");
    /// let mut vp = varpack::Varpack::create(&path);
    /// vp.insert_array("a", &[1u8], &[1]).unwrap();
    /// vp.save().unwrap();
    /// let mut vp = varpack::Varpack::append(&path).unwrap();
    /// assert!(vp.insert_array("a", &[2u8], &[1]).is_err()); // duplicates refused
    /// vp.insert_array("b", &[2u8], &[1]).unwrap();
    /// vp.save().unwrap();
    /// assert_eq!(varpack::Varpack::load(&path).unwrap().names(), vec!["a", "b"]);
    /// ```
    pub fn append(path: impl AsRef<Path>) -> Result<Varpack, LoadError> {
        LoadOptions::new().append(path)
    }
}
