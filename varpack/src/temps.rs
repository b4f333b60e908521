//! The temporaries a save leaves beside its pack `P` while it runs, and what to do with those a
//! dead saver left:
//!
//! - `.P.ID.varpack-new`: a directory save's new pack, being written (`ID` is `PID-N`, the
//!   saving process's id and a counter);
//! - `.P.ID.varpack-old`: the pack it replaces, moved aside between the save's two renames;
//! - `.P.ID.tmp`: a single-file save's new archive (npz-stream's temporary file), before its
//!   rename;
//! - `.P.varpack-new` / `.P.varpack-old`: the same, as versions before 0.3 named them (no id).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::fsx::{self, file_name, process_alive, sync_dir, temp_owner};
use crate::names::MANIFEST;

/// What a temporary is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    New,
    Old,
    Tmp,
}

/// A temporary beside a pack: its path, kind, and its owner's id (`None`: an old version's).
#[derive(Debug)]
pub(crate) struct Temp {
    pub(crate) path: PathBuf,
    pub(crate) kind: Kind,
    pub(crate) id: Option<String>,
}

impl Temp {
    fn owner(&self) -> Option<u32> {
        self.id.as_deref().and_then(temp_owner)
    }
}

/// `.P.ID.varpack-TAG` (directory saves) beside `path`.
pub(crate) fn with_id(path: &Path, id: &str, tag: &str) -> PathBuf {
    path.with_file_name(format!(".{}.{id}.varpack-{tag}", file_name(path)))
}

fn parse(name: &str, pack: &str) -> Option<(Kind, Option<String>)> {
    let is_id = |id: &str| temp_owner(id).is_some();
    let rest = name.strip_prefix(&format!(".{pack}."))?;
    {
        if rest == "varpack-new" {
            return Some((Kind::New, None));
        }
        if rest == "varpack-old" {
            return Some((Kind::Old, None));
        }
        for (suffix, kind) in [
            (".varpack-new", Kind::New),
            (".varpack-old", Kind::Old),
            (".tmp", Kind::Tmp),
        ] {
            if let Some(id) = rest.strip_suffix(suffix)
                && is_id(id)
            {
                return Some((kind, Some(id.to_owned())));
            }
        }
    }
    None
}

/// The temporaries beside the pack at `path`.
pub(crate) fn list(path: &Path) -> io::Result<Vec<Temp>> {
    let parent = parent_of(path);
    let pack = file_name(path);
    let entries = match fs::read_dir(parent) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut temps = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some((kind, id)) = parse(name, &pack) {
            temps.push(Temp {
                path: entry.path(),
                kind,
                id,
            });
        }
    }
    temps.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(temps)
}

pub(crate) fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
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
        let new = match &old.id {
            Some(id) => with_id(path, id, "new"),
            None => fsx::sibling(path, "new"),
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
        sync_dir(parent_of(path))?;
        if let Some(old) = old {
            let _ = fs::remove_dir_all(old);
        }
    }
    Ok(())
}

/// Removes the temporaries of dead savers (and, when `own` — the caller holds the pack's lock,
/// so no other saver of this process runs — this process's own leftovers). Old packs are
/// removed only once the pack is in place. The caller holds the pack's lock and has finished
/// any interrupted save first.
pub(crate) fn remove_stale(path: &Path, own: bool) -> io::Result<()> {
    let placed = exists(path);
    let me = std::process::id();
    for temp in list(path)? {
        let stale = match temp.owner() {
            None => true,
            Some(pid) if pid == me => own,
            Some(pid) => !process_alive(pid),
        };
        if !stale || (temp.kind == Kind::Old && !placed) {
            continue;
        }
        let result = match fs::symlink_metadata(&temp.path) {
            Ok(m) if m.is_dir() => fs::remove_dir_all(&temp.path),
            Ok(_) => fs::remove_file(&temp.path),
            Err(_) => Ok(()),
        };
        match result {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
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
    let me = std::process::id();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(id) = name
            .to_str()
            .and_then(|n| n.strip_prefix(".varpack.json."))
            .and_then(|n| n.strip_suffix(".tmp"))
        else {
            continue;
        };
        let stale = match temp_owner(id) {
            Some(pid) if pid == me => own,
            Some(pid) => !process_alive(pid),
            None => false,
        };
        if stale {
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
            match fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => {
                    let _ = fs::remove_dir_all(&path);
                }
                Ok(_) => {
                    let _ = fs::remove_file(&path);
                }
                Err(_) => {}
            }
        }
    }
}
