//! Saving a pack: [`Varpack::save`], [`save_as`](Varpack::save_as) and
//! [`save_as_new`](Varpack::save_as_new), atomic under the pack's lock (see the crate docs,
//! "Saving is atomic"). A directory is written as a new directory beside the pack and swapped in
//! with two renames; a single file is written to a temporary file and renamed over the pack.
//!
//! - `sink`: where the values' files go (a directory, or an archive) and the manifest entries
//!   they make;
//! - `append`: [`Varpack::append`]'s saves, which add the new values
//!   in place.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use array_files_fs::atomic::{copy_mode_and_owner, parent_dir, sync_dir};
use array_files_fs::lock::LockFail;
use array_files_fs::regular::kind_of;
use npy_format::Mode;
use npz_stream::{NpzReader, NpzWriter};

use crate::error::{SaveError, SaveErrorKind, io_save, load_in_save, npz_save};
use crate::load::source::open_source;
use crate::load::value::load_entry;
use crate::lock::{self, LockMode};
use crate::manifest::Entry;
use crate::names::{MANIFEST, NPZ_MANIFEST};
use crate::pack::Form;
use crate::temps::{self, Guard};
use crate::{Status, Value, Varpack};
use sink::{Sink, write_values};

/// A point where a test can stop a save as if the process died there: the guards named are
/// disarmed, so nothing is cleaned up. Nothing at all without the `fault-injection` feature.
macro_rules! crash_point {
    ($at:ident $(, $guard:expr)*) => {
        #[cfg(feature = "fault-injection")]
        crate::testing::check(crate::testing::Fault::$at).inspect_err(|_| {
            $($guard.disarm();)*
        })?;
    };
}

mod append;
mod sink;
mod upload;

/// Whether `e` is a test's simulated crash, after which nothing may be cleaned up.
fn is_injected(e: &SaveError) -> bool {
    #[cfg(feature = "fault-injection")]
    return matches!(e.kind(), SaveErrorKind::Injected(_));
    #[cfg(not(feature = "fault-injection"))]
    {
        let _ = e;
        false
    }
}

/// A value to save: the loaded one, borrowed, or one read from the old pack for this save.
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

/// A value a save writes: loaded, or read from the old pack when it is written.
struct Pending<'a> {
    name: &'a str,
    slot: &'a crate::pack::Slot,
    /// The loaded value, if it is loaded.
    value: Option<&'a Value>,
    /// [`Varpack::set_separate_min_bytes`].
    separate_min_bytes: Option<u64>,
}

impl<'a> Pending<'a> {
    /// The value, read from the old pack now if it is not loaded.
    fn get(&self) -> Result<Held<'a>, SaveError> {
        if let Some(v) = self.value {
            return Ok(Held::Borrowed(v));
        }
        let (Some(source), Some(meta)) = (&self.slot.source, &self.slot.meta) else {
            unreachable!("held_values keeps only loaded values and values with a source")
        };
        let value = load_entry(source, meta, Mode::ReadOnly, None).map_err(load_in_save)?;
        Ok(Held::Owned(Box::new(value)))
    }

    /// Whether the value's JSON goes to a file of its own: marked so, or at least
    /// [`Varpack::set_separate_min_bytes`].
    fn separate(&self, value: &Value) -> bool {
        self.slot.separate
            || self
                .separate_min_bytes
                .is_some_and(|min| value.json_len() >= min)
    }
}

/// Checks that an existing `target` may be replaced by a pack of `form`.
fn check_target(target: &Path, form: Form) -> Result<(), SaveError> {
    let Ok(meta) = fs::metadata(target) else {
        return Ok(());
    };
    if !meta.is_dir() && !meta.is_file() {
        let reason = kind_of(&meta);
        return Err(SaveError::new(target, SaveErrorKind::NotAPack { reason }));
    }
    let refuse = |reason| Err(SaveError::new(target, SaveErrorKind::NotAPack { reason }));
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

/// [`SaveErrorKind::Url`] for a `path` that is a URL (`s3://...`): the path-taking saves write
/// local paths only, and one that reads as a URL is taken for a mistake, never written as a
/// local directory named `s3:`.
fn refuse_url(path: &Path) -> Result<(), SaveError> {
    if path.to_str().is_some_and(npy_format::source::is_url) {
        return Err(SaveError::new(path, SaveErrorKind::Url));
    }
    Ok(())
}

/// How a save writes, from the pack's settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// Dict arrays of fewer elements go among the dict's JSON entries.
    pub(crate) inline_below: Option<u64>,
    /// Files and directories are synced.
    pub(crate) sync: bool,
}

impl Varpack {
    pub(crate) fn settings(&self) -> Settings {
        Settings {
            inline_below: self.dict_inline_below,
            sync: self.sync,
        }
    }

    /// Saves the pack to its path ([`load`](Self::load), [`create`](Self::create) or
    /// [`set_path`](Self::set_path)), atomically (see the crate docs), then maps its arrays
    /// from the new files. Values not loaded are copied from the old pack. A pack opened with
    /// [`Varpack::append`] adds its new values in place instead.
    ///
    /// # Errors
    /// [`SaveErrorKind::NotAttached`] (or, for a pack loaded from object storage,
    /// [`SaveErrorKind::FromStorage`]); [`SaveError`] naming the file and value. On error the
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
    /// let mut vp = LoadOptions::new().ignore(["big"]).load(&path).unwrap();
    /// vp.replace_value("n", &2).unwrap();
    /// vp.save().unwrap(); // "big" is kept, though it was never read
    /// let vp = Varpack::load(&path).unwrap();
    /// assert_eq!(vp.array("big").unwrap().as_bytes().len(), 4096);
    /// assert_eq!(vp.get_value::<i32>("n").unwrap(), 2);
    /// ```
    pub fn save(&mut self) -> Result<(), SaveError> {
        let path = (self.path.clone()).ok_or_else(|| match self.url() {
            Some(url) => SaveError::new(url, SaveErrorKind::FromStorage),
            None => SaveError::new(PathBuf::new(), SaveErrorKind::NotAttached),
        })?;
        self.check_savable(&path)?;
        refuse_url(&path)?;
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
    /// As [`save`](Self::save); [`SaveErrorKind::NotAPack`] if `path` exists and is not a pack;
    /// [`SaveErrorKind::Url`] if it is a URL (see [`save_as_location`](Self::save_as_location)).
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
    /// [`SaveErrorKind::Exists`]; as [`save_as`](Self::save_as).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("x", &[1u8, 2], &[2]).unwrap();
    /// vp.save_as_new(dir.path().join("p.npz")).unwrap();
    /// let err = vp.save_as_new(dir.path().join("p.npz")).unwrap_err();
    /// assert!(matches!(err.kind(), varpack::SaveErrorKind::Exists));
    /// ```
    pub fn save_as_new(&self, path: impl AsRef<Path>) -> Result<(), SaveError> {
        self.write_pack(path.as_ref(), true).map(drop)
    }

    /// What this pack's saves do when another save of the same path holds its lock (default
    /// [`LockMode::Wait`]; a loaded pack gets [`LoadOptions::lock`](crate::LoadOptions::lock)'s).
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

    /// The values a save writes (those not skipped), each with whether its JSON goes to a file
    /// of its own. Values not loaded are read when they are written, one at a time, and
    /// dropped right after: a save (a `varpack convert`) holds one of them at a time, never
    /// the whole pack.
    fn held_values(&self) -> Vec<Pending<'_>> {
        let mut held = Vec::with_capacity(self.slots.len());
        for (name, slot) in self.slots.iter().filter(|(_, s)| !s.skip_save) {
            let value = match (slot.cell.get(), &slot.source, &slot.meta) {
                (Some(v), _, _) => Some(v),
                (None, Some(_), Some(_)) => None,
                (None, _, _) => continue,
            };
            held.push(Pending {
                name: name.as_str(),
                slot,
                value,
                separate_min_bytes: self.separate_min_bytes,
            });
        }
        held
    }

    /// Takes the lock of the pack at `target` (creating its parent directory for the
    /// directory form), then finishes an interrupted save and removes dead savers' temporaries.
    fn lock_target(&self, target: &Path, form: Form) -> Result<Option<File>, SaveError> {
        if form == Form::Directory {
            fs::create_dir_all(parent_dir(target)).map_err(io_save(target))?;
        }
        let lock = lock::lock_exclusive(target, self.lock).map_err(|e| match e {
            LockFail::Io(e) if e.kind() == std::io::ErrorKind::NotFound => io_save(target)(e),
            e => lock::save_error(target, e),
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
        refuse_url(target)?;
        let form = Form::for_path(target);
        let lock = self.lock_target(target, form)?;
        if no_clobber && fs::symlink_metadata(target).is_ok() {
            return Err(SaveError::new(target, SaveErrorKind::Exists));
        }
        check_target(target, form)?;
        let held = self.held_values();
        let previous = fs::symlink_metadata(target).ok();
        match form {
            Form::Directory => write_dir(
                target,
                &held,
                self.settings(),
                previous.is_some(),
                no_clobber,
            )?,
            Form::File => write_npz(target, &held, self.settings(), self.lock, no_clobber)?,
        }
        Ok(lock)
    }

    /// After a save to the pack's own path: read from the new pack, remap mapped arrays.
    fn reattach(&mut self, path: &Path) -> Result<(), SaveError> {
        let (source, entries) = open_source(path, !self.unmapped).map_err(load_in_save)?;
        self.removed.clear();
        let by_name: BTreeMap<String, Entry> =
            entries.into_iter().map(|e| (e.name.clone(), e)).collect();
        for (name, slot) in &mut self.slots {
            slot.meta = by_name.get(name).cloned();
            slot.source = Some(source.clone());
            if let (Some(meta), Some(value)) = (&slot.meta, slot.cell.get_mut())
                && value.status() == Status::Mapped
            {
                *value = load_entry(&source, meta, slot.mode, None).map_err(load_in_save)?;
            }
        }
        self.source = Some(source);
        self.append = self.append && self.source.is_some();
        Ok(())
    }
}

/// A directory save: every file into `.P.ID.varpack-new`, synced, then `P` renamed to
/// `.P.ID.varpack-old`, the new directory renamed to `P`, the old one removed. The caller holds
/// the pack's lock.
fn write_dir(
    target: &Path,
    held: &[Pending<'_>],
    settings: Settings,
    existed: bool,
    no_clobber: bool,
) -> Result<(), SaveError> {
    let (new, old) = temps::dir_save_names(target);
    fs::create_dir(&new).map_err(io_save(&new))?;
    let mut guard = Guard::new(new.clone());
    let mut sink = Sink::dir(&new, existed.then_some(target), settings.sync);
    let manifest = write_values(&mut sink, held, settings.inline_below)?;
    sink.file(MANIFEST, &manifest)?;
    if existed {
        copy_dir_mode(target, &new).map_err(io_save(&new))?;
    }
    if settings.sync {
        sync_dir(&new).map_err(io_save(&new))?;
    }
    crash_point!(AfterFiles, guard);
    if existed {
        fs::rename(target, &old).map_err(io_save(target))?;
        crash_point!(AfterOldMoved, guard);
    } else if no_clobber && fs::symlink_metadata(target).is_ok() {
        return Err(SaveError::new(target, SaveErrorKind::Exists));
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
    let synced = if settings.sync {
        sync_dir(parent_dir(target)).map_err(io_save(target))
    } else {
        Ok(())
    };
    crash_point!(AfterSwap, old_guard);
    synced
}

/// Gives the new directory `new` the mode and (where permitted) the owner of the pack `target`
/// it replaces, and its set-group-id and sticky bits (they govern what is created in it, not
/// who runs it).
fn copy_dir_mode(target: &Path, new: &Path) -> std::io::Result<()> {
    let dir = File::open(new)?;
    copy_mode_and_owner(target, &dir)?;
    #[cfg(unix)]
    if let Ok(old) = fs::metadata(target) {
        use std::os::unix::fs::PermissionsExt;
        let mode = old.permissions().mode() & 0o7777;
        dir.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// A single-file save: the archive written to a temporary file beside `P` and renamed over it
/// after a sync by npz-stream's writer, which keeps the mode and owner of the file it replaces
/// and takes its lock for the rename (or, `no_clobber`, refuses a name that exists when it is
/// put in place). The caller holds the pack's lock.
fn write_npz(
    target: &Path,
    held: &[Pending<'_>],
    settings: Settings,
    lock: LockMode,
    no_clobber: bool,
) -> Result<(), SaveError> {
    // A failed save returns its error: the writer it drops need not say so too.
    let writer = NpzWriter::options()
        .warn_unfinished(false)
        .sync(settings.sync)
        .lock(lock)
        .replace(!no_clobber)
        .create(target)
        .map_err(|e| npz_save(target, e))?;
    let mut sink = Sink::npz(writer, []);
    let manifest = write_values(&mut sink, held, settings.inline_below)?;
    let Some(mut writer) = sink.into_writer() else {
        unreachable!("an npz sink")
    };
    (writer.add_file(NPZ_MANIFEST, &manifest)).map_err(|e| npz_save(target, e))?;
    crash_point!(AfterFiles);
    writer.finish().map_err(|e| npz_save(target, e))
}
