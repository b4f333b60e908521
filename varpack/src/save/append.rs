//! Appends ([`Varpack::append`](crate::Varpack::append)): the new values written in place,
//! then a new manifest. A directory's manifest is written to `.varpack.json.ID.tmp` and renamed
//! over `varpack.json`; a single file gets the next `__varpack__.N.json` member, after the old
//! end records (npz-stream's appending writer). The save re-reads the manifest under the pack's
//! lock, so values another process appended meanwhile are kept.

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::Path;

use array_files_fs::atomic::sync_dir;
use npz_stream::NpzWriter;

use super::sink::{Sink, write_value};
use super::{Settings, is_injected};
use crate::Varpack;
use crate::error::{SaveError, SaveErrorKind, io_save, load_in_save, npz_save};
use crate::load::source::open_source;
use crate::manifest::{Entry, Manifest};
use crate::names::MANIFEST;
use crate::pack::{Form, Slot};
use crate::temps;

impl Varpack {
    /// Adds the new values in place, under the pack's lock; returns the lock.
    pub(super) fn append_in_place(&self, target: &Path) -> Result<Option<File>, SaveError> {
        if self.source.is_none() {
            return self.write_pack(target, false);
        }
        let form = Form::for_path(target);
        let lock = self.lock_target(target, form)?;
        // The pack as it is now, under the lock: another save may have added values since this
        // one was opened. Its values are kept, except those removed here.
        let (disk, on_disk) = open_source(target, false).map_err(load_in_save)?;
        let disk_names: HashSet<String> = on_disk.iter().map(|e| e.name.clone()).collect();
        // Every member the archive has (removed values' too: appends never delete).
        let members: Vec<String> = on_disk
            .iter()
            .flat_map(|e| e.files().into_iter().map(str::to_owned))
            .collect();
        // Values left out of saves are dropped from the manifest, as removed ones are.
        let skipped = |name: &String| self.slots.get(name).is_some_and(|s| s.skip_save);
        let mut entries: Vec<Entry> = on_disk
            .into_iter()
            .filter(|e| !self.removed.contains(&e.name) && !skipped(&e.name))
            .collect();
        let new: Vec<(&String, &Slot)> = self
            .slots
            .iter()
            .filter(|(_, s)| s.meta.is_none() && !s.skip_save)
            .collect();
        for (name, _) in &new {
            if disk_names.contains(name.as_str()) {
                let name = (*name).clone();
                return Err(SaveError::new(target, SaveErrorKind::Duplicate { name }));
            }
        }
        let mut sink = match disk.form {
            Form::Directory => Sink::dir(target, None, self.sync),
            Form::File => {
                let writer = NpzWriter::options()
                    .warn_unfinished(false)
                    .sync(self.sync)
                    .lock(self.lock)
                    .append(target);
                Sink::npz(writer.map_err(|e| npz_save(target, e))?, members)
            }
        };
        let generation = disk.generation + 1;
        drop(disk);
        let settings = self.settings();
        let result = append_values(&mut sink, target, new, settings, &mut entries, generation);
        if let (Err(e), Sink::Dir { written, .. }) = (&result, &sink)
            && !is_injected(e)
        {
            // The files of the values that were to be added are not in any manifest.
            for path in written {
                let _ = fs::remove_file(path);
            }
        }
        result.map(|()| lock)
    }
}

/// Writes the new values of an append and the new manifest (renamed over the old one, or the
/// next `__varpack__.N.json` member).
fn append_values(
    sink: &mut Sink,
    target: &Path,
    new: Vec<(&String, &Slot)>,
    settings: Settings,
    entries: &mut Vec<Entry>,
    generation: u64,
) -> Result<(), SaveError> {
    let mut unused = serde_json::Map::new();
    for (name, slot) in new {
        let Some(value) = slot.cell.get() else {
            continue;
        };
        // Appends never rewrite the shared document: JSON values get files of their own.
        entries.push(write_value(
            sink,
            name,
            value,
            true,
            settings.inline_below,
            &mut unused,
        )?);
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let manifest = Manifest::new(std::mem::take(entries)).to_bytes();
    match sink {
        Sink::Dir { .. } => {
            let tmp_name = temps::manifest_tmp_name(target);
            sink.file(&tmp_name, &manifest)?;
            let tmp = target.join(&tmp_name);
            crash_point!(AfterFiles);
            fs::rename(&tmp, target.join(MANIFEST)).map_err(io_save(&tmp))?;
            if let Sink::Dir { written, .. } = sink {
                written.retain(|p| *p != tmp);
            }
            if settings.sync {
                sync_dir(target).map_err(io_save(target))?;
            }
        }
        Sink::Npz { .. } => {
            let Some(writer) =
                std::mem::replace(sink, Sink::dir(target, None, false)).into_writer()
            else {
                unreachable!("an npz sink")
            };
            let name = format!("__varpack__.{generation}.json");
            let mut writer = writer;
            (writer.add_file(&name, &manifest)).map_err(|e| npz_save(target, e))?;
            crash_point!(AfterFiles);
            writer.finish().map_err(|e| npz_save(target, e))?;
        }
    }
    Ok(())
}
