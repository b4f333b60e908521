//! The temporaries a save leaves beside its pack `P` while it runs, and what to do with those a
//! dead saver left:
//!
//! - `.P.ID.varpack-new`: a directory save's new pack, being written (`ID` is `PID-N`, the
//!   saving process's id and a counter: array-files-fs's [`sibling_path`]);
//! - `.P.ID.varpack-old`: the pack it replaces, moved aside between the save's two renames (the
//!   same `ID` as its new pack's, which is how an interrupted save is finished);
//! - `.P.ID.tmp`: a single-file save's new archive (npz-stream's temporary file), before its
//!   rename;
//! - `.P.varpack-new` / `.P.varpack-old`: the same, as versions before 0.3 named them (no id);
//! - inside a directory pack, `.varpack.json.ID.tmp`: an append's new manifest, before its
//!   rename over `varpack.json`.
//!
//! Which are stale is decided here rather than by array-files-fs's `stale_siblings`: a save that
//! holds the pack's lock also removes this process's own leftovers (no other save of this
//! process can be running), which a shared helper that never knows about the lock must keep.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use array_files_fs::atomic::{owner_pid, parent_dir, process_alive, sibling_path, sync_dir};

use crate::lock::pack_name;
use crate::names::MANIFEST;

/// What a temporary is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    New,
    Old,
    Tmp,
}

impl Kind {
    /// The end of its name, after `.P.ID.`.
    fn suffix(self) -> &'static str {
        match self {
            Kind::New => "varpack-new",
            Kind::Old => "varpack-old",
            Kind::Tmp => "tmp",
        }
    }
}

/// A temporary beside a pack: its path, kind, and its owner's process id (`None`: an old
/// version's, named without one).
#[derive(Debug)]
pub(crate) struct Temp {
    pub(crate) path: PathBuf,
    pub(crate) kind: Kind,
    owner: Option<u32>,
}

/// A fresh pair of names for a directory save of the pack at `path`: the new pack
/// (`.P.ID.varpack-new`) and where the old one is moved aside (`.P.ID.varpack-old`).
pub(crate) fn dir_save_names(path: &Path) -> (PathBuf, PathBuf) {
    let new = sibling_path(path, Kind::New.suffix());
    let old = with_kind(&new, Kind::New, Kind::Old);
    (new, old)
}

/// A fresh name for an append's new manifest inside the directory pack `dir`
/// (`.varpack.json.ID.tmp`), relative to `dir`.
pub(crate) fn manifest_tmp_name(dir: &Path) -> String {
    let tmp = sibling_path(&dir.join(MANIFEST), Kind::Tmp.suffix());
    tmp.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The temporary of kind `to` with the same id as `temp` (of kind `from`).
fn with_kind(temp: &Path, from: Kind, to: Kind) -> PathBuf {
    let name = temp
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(from.suffix()).unwrap_or(&name);
    temp.with_file_name(format!("{stem}{}", to.suffix()))
}

/// `.P.varpack-TAG`: the names versions before 0.3 gave their temporaries.
fn legacy(path: &Path, kind: Kind) -> PathBuf {
    path.with_file_name(format!(".{}.{}", pack_name(path), kind.suffix()))
}

/// What the file `name` beside the pack at `path` is, if it is one of its temporaries.
fn parse(name: &str, path: &Path) -> Option<(Kind, Option<u32>)> {
    let pack = pack_name(path);
    for kind in [Kind::New, Kind::Old] {
        if name == format!(".{pack}.{}", kind.suffix()) {
            return Some((kind, None));
        }
    }
    [Kind::New, Kind::Old, Kind::Tmp]
        .into_iter()
        .find_map(|kind| Some((kind, Some(owner_pid(name, path, kind.suffix())?))))
}

/// The temporaries beside the pack at `path`.
pub(crate) fn list(path: &Path) -> io::Result<Vec<Temp>> {
    let entries = match fs::read_dir(parent_dir(path)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut temps = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some((kind, owner)) = parse(name, path) {
            temps.push(Temp {
                path: entry.path(),
                kind,
                owner,
            });
        }
    }
    temps.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(temps)
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// When a directory save was interrupted between its two renames (`path` missing, the old pack
/// moved aside): the complete pack to move into place, the new one if it is complete (its
/// manifest is written last, then synced), else the old one; and the old one to remove after.
pub(crate) fn interrupted(path: &Path) -> io::Result<Option<(PathBuf, Option<PathBuf>)>> {
    if exists(path) {
        return Ok(None);
    }
    let temps = list(path)?;
    for old in temps.iter().filter(|t| t.kind == Kind::Old) {
        let new = match old.owner {
            Some(_) => with_kind(&old.path, Kind::Old, Kind::New),
            None => legacy(path, Kind::New),
        };
        if new.join(MANIFEST).is_file() {
            return Ok(Some((new, Some(old.path.clone()))));
        }
        if old.path.join(MANIFEST).is_file() {
            return Ok(Some((old.path.clone(), None)));
        }
    }
    Ok(None)
}

/// Finishes a save interrupted between its two renames (see [`interrupted`]). The caller holds
/// the pack's lock.
pub(crate) fn recover_locked(path: &Path) -> io::Result<()> {
    if let Some((complete, old)) = interrupted(path)? {
        fs::rename(&complete, path)?;
        sync_dir(parent_dir(path))?;
        if let Some(old) = old {
            let _ = fs::remove_dir_all(old);
        }
    }
    Ok(())
}

/// Whether a temporary of process `pid` is left over: its process is gone, or it is this
/// process's and `own` (the caller holds the pack's lock, so no other save of this process
/// runs).
fn left_over(pid: u32, own: bool) -> bool {
    if pid == std::process::id() {
        own
    } else {
        !process_alive(pid)
    }
}

/// Removes a file or a whole directory; one already gone is not an error.
fn remove(path: &Path) -> io::Result<()> {
    let result = match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(_) => Ok(()),
    };
    match result {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Removes the temporaries of dead savers (and, when `own`, this process's own leftovers; see
/// [`left_over`]); an old version's are always stale. Old packs are removed only once the pack
/// is in place. The caller holds the pack's lock and has finished any interrupted save first.
pub(crate) fn remove_stale(path: &Path, own: bool) -> io::Result<()> {
    let placed = exists(path);
    for temp in list(path)? {
        let stale = temp.owner.is_none_or(|pid| left_over(pid, own));
        if stale && (temp.kind != Kind::Old || placed) {
            remove(&temp.path)?;
        }
    }
    Ok(())
}

/// Removes the manifests that killed appends left inside the directory pack `dir`
/// (`.varpack.json.ID.tmp`), by the rule of [`remove_stale`].
pub(crate) fn remove_stale_inside(dir: &Path, own: bool) -> io::Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    let manifest = dir.join(MANIFEST);
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let owner = name
            .to_str()
            .and_then(|n| owner_pid(n, &manifest, Kind::Tmp.suffix()));
        if owner.is_some_and(|pid| left_over(pid, own)) {
            match fs::remove_file(entry.path()) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Removes a temporary on drop unless disarmed: every error path of a save cleans up.
pub(crate) struct Guard {
    path: Option<PathBuf>,
}

impl Guard {
    pub(crate) fn new(path: PathBuf) -> Guard {
        Guard { path: Some(path) }
    }

    /// Keeps the temporary (it was renamed into place, or a test simulates a crash).
    pub(crate) fn disarm(&mut self) {
        self.path = None;
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = remove(&path);
        }
    }
}
