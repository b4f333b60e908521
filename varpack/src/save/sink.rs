//! Where a save writes (a directory being built or appended to, or an archive) and the manifest
//! entries the values it writes make.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use array_files_fs::atomic::copy_mode_and_owner;
use npz_stream::NpzWriter;

use super::Pending;
use crate::error::{SaveError, SaveErrorKind, io_save};
use crate::load::source::identity;
use crate::manifest::{DictEntry, Entry, Manifest, dtype_json};
use crate::names::{self, VALUES};
use crate::{Array, Kind, Value};

/// An array's dtype (as the manifest writes it), order, shape and data bytes.
fn array_entry_parts(a: &Array) -> (serde_json::Value, bool, Vec<u64>, u64) {
    (
        dtype_json(a.dtype()),
        a.header().fortran_order,
        a.shape().to_vec(),
        a.as_bytes().len() as u64,
    )
}

/// Where a save writes: a directory (being built, or appended to), or an archive.
pub(crate) enum Sink {
    Dir {
        dir: PathBuf,
        /// The pack being replaced: files of the same names give their modes.
        like: Option<PathBuf>,
        /// The files written so far (an append removes them if it fails).
        written: Vec<PathBuf>,
        /// Each file is synced once written.
        sync: bool,
    },
    Npz {
        writer: Box<NpzWriter>,
        /// The members of the archive so far: array members are named by their values' names,
        /// which must stay distinct.
        used: HashSet<String>,
    },
}

impl Sink {
    pub(crate) fn dir(dir: &Path, like: Option<&Path>, sync: bool) -> Sink {
        Sink::Dir {
            dir: dir.to_path_buf(),
            like: like.map(Path::to_path_buf),
            written: Vec::new(),
            sync,
        }
    }

    /// An archive sink; `used` are the members the archive has already.
    pub(crate) fn npz(writer: NpzWriter, used: impl IntoIterator<Item = String>) -> Sink {
        Sink::Npz {
            writer: Box::new(writer),
            used: used.into_iter().collect(),
        }
    }

    /// The archive writer of an archive sink.
    pub(crate) fn into_writer(self) -> Option<Box<NpzWriter>> {
        match self {
            Sink::Npz { writer, .. } => Some(writer),
            Sink::Dir { .. } => None,
        }
    }

    /// The file (or archive member) to hold array `key` of value `name` (or the value): the
    /// escaped file name in a directory, the name itself in an archive (see
    /// [`names::npz_member`]).
    fn array_name(&mut self, name: &str, key: Option<&str>) -> String {
        match self {
            Sink::Dir { .. } => names::array_file(name, key),
            Sink::Npz { used, .. } => {
                let member = names::npz_member(name, key, used);
                used.insert(member.clone());
                member
            }
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

    /// Links `file` of the pack being replaced into the new directory if it is the very file
    /// `a` maps (same device and inode) and holds its data: a value unchanged since the load is
    /// then kept, not written again (a re-save after changing one scalar costs a link per
    /// array, not a copy of every array). Whether it was linked.
    fn link_unchanged(dir: &Path, like: Option<&PathBuf>, file: &str, a: &Array) -> bool {
        let (Some(like), Some(id)) = (like, a.file_id()) else {
            return false;
        };
        let old = like.join(file);
        let same = |p: &Path| fs::symlink_metadata(p).is_ok_and(|m| identity(&m) == id);
        if !same(&old) {
            return false;
        }
        let new = dir.join(file);
        if fs::hard_link(&old, &new).is_err() {
            return false;
        }
        // The old name might have been replaced between the check and the link (saves of
        // this pack hold its lock, but a hand edit does not): what was linked is checked.
        if same(&new) {
            return true;
        }
        let _ = fs::remove_file(&new);
        false
    }

    pub(crate) fn array(&mut self, name: &str, file: &str, a: &Array) -> Result<(), SaveError> {
        match self {
            Sink::Dir {
                dir,
                like,
                written,
                sync,
            } => {
                if Sink::link_unchanged(dir, like.as_ref(), file, a) {
                    written.push(dir.join(file));
                    return Ok(());
                }
                let (f, path) = Sink::create(dir, like.as_ref(), written, file)?;
                npy_format::write_raw(&f, a.header(), a.as_bytes()).map_err(|source| {
                    let name = name.to_owned();
                    SaveError::new(&path, SaveErrorKind::Npy { name, source })
                })?;
                if *sync {
                    f.sync_all().map_err(io_save(&path))?;
                }
                Ok(())
            }
            Sink::Npz { writer, .. } => {
                let key = file.strip_suffix(".npy").unwrap_or(file);
                (writer.add_raw(key, a.header(), a.as_bytes())).map_err(|e| e.map_kind(Into::into))
            }
        }
    }

    pub(crate) fn file(&mut self, file: &str, bytes: &[u8]) -> Result<(), SaveError> {
        match self {
            Sink::Dir {
                dir,
                like,
                written,
                sync,
            } => {
                let (mut f, path) = Sink::create(dir, like.as_ref(), written, file)?;
                f.write_all(bytes)
                    .and_then(|()| if *sync { f.sync_all() } else { Ok(()) })
                    .map_err(io_save(&path))
            }
            Sink::Npz { writer, .. } => writer
                .add_file(file, bytes)
                .map_err(|e| e.map_kind(Into::into)),
        }
    }
}

/// The manifest entry of array value `name`, saved as `file`.
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

/// Writes one value to `sink`; grouped JSON values go to `grouped`; a dict's arrays of fewer
/// than `inline_below` elements go with its JSON entries. Returns its entry.
pub(crate) fn write_value(
    sink: &mut Sink,
    name: &str,
    value: &Value,
    separate: bool,
    inline_below: Option<u64>,
    grouped: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<Entry, SaveError> {
    Ok(match value {
        Value::Array(a) => {
            let file = sink.array_name(name, None);
            sink.array(name, &file, a)?;
            entry_for_array(name, file, a)
        }
        Value::Dict(d) => {
            let mut entries = Vec::with_capacity(d.len());
            let inline = |a: &Array| {
                inline_below.is_some_and(|n| a.header().element_count().is_some_and(|c| c < n))
            };
            for (key, a) in crate::item::arrays(d).filter(|(_, a)| !inline(a)) {
                let file = sink.array_name(name, Some(key));
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
            // The other entries, as one JSON object stored as a JSON value is (small arrays
            // encoded among them).
            let mut object = crate::item::json_object(d);
            for (key, a) in crate::item::arrays(d).filter(|(_, a)| inline(a)) {
                object.insert(key.clone(), crate::item::inline_array(a));
            }
            let (file, json_bytes) = if object.is_empty() {
                (None, 0)
            } else {
                let (file, bytes) = write_json(sink, name, object.into(), separate, grouped)?;
                (Some(file), bytes)
            };
            Entry {
                name: name.to_owned(),
                kind: Kind::Dict,
                file,
                dtype: None,
                fortran_order: None,
                shape: None,
                bytes: entries.iter().map(|e| e.bytes).sum::<u64>() + json_bytes,
                separate: separate && json_bytes > 0,
                entries: Some(entries),
            }
        }
        Value::Json(j) => {
            let (file, bytes) = write_json(sink, name, j.clone(), separate, grouped)?;
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

/// Writes JSON value `j` of `name`: to a file of its own if `separate`, else into `grouped`
/// (the shared document). Returns the file holding it and its size in bytes.
fn write_json(
    sink: &mut Sink,
    name: &str,
    j: serde_json::Value,
    separate: bool,
    grouped: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<(String, u64), SaveError> {
    if separate {
        let file = names::json_file(name);
        let mut text = serde_json::to_vec_pretty(&j)
            .map_err(|e| io_save(Path::new(&file))(std::io::Error::other(e)))?;
        text.push(b'\n');
        sink.file(&file, &text)?;
        return Ok((file, text.len() as u64));
    }
    let bytes = serde_json::to_vec(&j).map_or(0, |v| v.len() as u64);
    grouped.insert(name.to_owned(), j);
    Ok((VALUES.to_owned(), bytes))
}

/// Writes the shared JSON document (`values.json`) of the grouped values, if there are any.
fn finish_grouped(
    sink: &mut Sink,
    grouped: serde_json::Map<String, serde_json::Value>,
) -> Result<(), SaveError> {
    if grouped.is_empty() {
        return Ok(());
    }
    let mut text = serde_json::to_vec_pretty(&serde_json::Value::Object(grouped))
        .map_err(|e| io_save(Path::new(VALUES))(std::io::Error::other(e)))?;
    text.push(b'\n');
    sink.file(VALUES, &text)
}

/// Writes the values (and the grouped JSON document) to `sink`; returns the manifest.
pub(crate) fn write_values(
    sink: &mut Sink,
    held: &[Pending<'_>],
    inline_below: Option<u64>,
) -> Result<Vec<u8>, SaveError> {
    let mut entries = Vec::with_capacity(held.len());
    let mut grouped = serde_json::Map::new();
    for pending in held {
        // Read now if not loaded, dropped after it is written.
        let value = pending.get()?;
        let separate = pending.separate(&value);
        entries.push(write_value(
            sink,
            pending.name,
            &value,
            separate,
            inline_below,
            &mut grouped,
        )?);
    }
    finish_grouped(sink, grouped)?;
    Ok(Manifest::new(entries).to_bytes())
}
