//! Repairs: cutting off an interrupted append ([`recover`]) and fixing a member's CRC-32 ([`update_crc32`]).

use super::*;

/// What [`recover`] found and did.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
/// let report = npz_stream::recover(&path).unwrap();
/// assert_eq!((report.members, report.removed), (0, 0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovery {
    /// Members of the archive, as recovered.
    pub members: usize,
    /// Bytes cut off the end of the file: what an interrupted append had written (0 when the
    /// archive was complete and nothing was changed).
    pub removed: u64,
}

/// Restores an archive whose append was interrupted (the process killed, the machine lost
/// power): finds the last complete archive in the file (the one the append started from, as
/// [`NpzReader`](crate::NpzReader) does) and cuts off the bytes after its end records, then
/// syncs. A complete archive is left untouched. Takes the archive's lock
/// ([`LockMode::FailFast`]; [`WriterOptions::recover`] takes another mode), so it never cuts
/// an append that is still running. Appending ([`NpzWriter::append`]) does the same by itself.
///
/// Bytes after the end records of an archive written by another tool are cut off as well.
///
/// # Errors
/// [`WriteErrorKind::Locked`] if a writer holds the lock; [`WriteErrorKind::Open`] if the file holds
/// no complete archive; I/O errors.
///
/// ```
/// use std::io::Write;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
/// npz.add_array("x", &[1u8, 2], &[2]).unwrap();
/// npz.finish().unwrap();
/// let len = std::fs::metadata(&path).unwrap().len();
/// // What a killed append leaves: the old archive, then part of a new member.
/// std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(&[b'P', b'K', 3, 4, 0, 0]).unwrap();
/// let report = npz_stream::recover(&path).unwrap();
/// assert_eq!((report.members, report.removed), (1, 6));
/// assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
/// ```
pub fn recover(path: impl AsRef<Path>) -> Result<Recovery, WriteError> {
    recover_with(path.as_ref(), LockMode::FailFast)
}

pub(super) fn recover_with(path: &Path, lock: LockMode) -> Result<Recovery, WriteError> {
    let (file, file_len, dir) = open_for_update(path, lock)?;
    let removed = file_len - dir.end;
    if removed > 0 {
        file.set_len(dir.end)
            .and_then(|()| file.sync_all())
            .map_err(|source| WriteError::new(path.to_path_buf(), WriteErrorKind::Io { source }))?;
    }
    Ok(Recovery {
        members: dir.entries.len(),
        removed,
    })
}

/// Recomputes the CRC-32 of stored members of the finished archive at `path` and writes it
/// where it differs, in the member's local header and its central-directory record, then syncs
/// the file. This is what a writer through a writable memory map of member data calls before
/// closing, so that `np.load` and `zipfile` (which check CRCs) still read the archive.
///
/// `keys` selects members as [`NpzReader`](crate::NpzReader) does (exact name, then
/// `KEY.npy`); an empty slice means every stored member. Returns the names of the members whose
/// CRC changed, with the new value. Only the data is read; nothing moves.
///
/// # Errors
/// [`WriteErrorKind::Open`] if the archive is unreadable; [`WriteErrorKind::Locked`] if a writer holds
/// the archive's lock (this takes it, [`LockMode::FailFast`]); [`WriteErrorKind::InvalidKey`] for a
/// key the archive lacks; [`WriteErrorKind::Unsupported`] for a deflated member; I/O errors.
///
/// ```
/// use std::os::unix::fs::FileExt;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
/// npz.add_array("x", &[1u8, 2, 3], &[3]).unwrap();
/// npz.finish().unwrap();
/// let offset = npz_stream::NpzReader::open(&path).unwrap().info("x").unwrap().data_offset.unwrap();
/// std::fs::OpenOptions::new().write(true).open(&path).unwrap().write_all_at(&[9], offset).unwrap();
/// assert!(npz_stream::NpzReader::open(&path).unwrap().read_bytes("x").is_err()); // stale CRC
/// let changed = npz_stream::update_crc32(&path, &["x"]).unwrap();
/// assert_eq!(changed.len(), 1);
/// assert_eq!(npz_stream::NpzReader::open(&path).unwrap().read_array::<u8>("x").unwrap().data, vec![9, 2, 3]);
/// assert!(npz_stream::update_crc32(&path, &[]).unwrap().is_empty());
/// ```
pub fn update_crc32(
    path: impl AsRef<Path>,
    keys: &[&str],
) -> Result<Vec<(String, u32)>, WriteError> {
    let path = path.as_ref();
    let io = |source| WriteError::new(path.to_path_buf(), WriteErrorKind::Io { source });
    let (file, _, dir) = open_for_update(path, LockMode::FailFast)?;
    let mut record_offsets = Vec::with_capacity(dir.entries.len());
    let mut at = dir.cd_start;
    for entry in &dir.entries {
        record_offsets.push(at);
        at += entry.raw_record.len() as u64;
    }
    let mut selected: Vec<usize> = Vec::new();
    if keys.is_empty() {
        selected.extend(
            (0..dir.entries.len()).filter(|&i| dir.entries[i].method == zip::METHOD_STORED),
        );
    } else {
        for key in keys {
            let npy = format!("{key}.npy");
            let found = dir
                .entries
                .iter()
                .rposition(|e| e.name == *key)
                .or_else(|| dir.entries.iter().rposition(|e| e.name == npy));
            match found {
                Some(i) => selected.push(i),
                None => {
                    return Err(WriteError::new(
                        path.to_path_buf(),
                        WriteErrorKind::InvalidKey {
                            key: (*key).to_owned(),
                            reason: "the archive has no such member",
                        },
                    ));
                }
            }
        }
    }
    let mut changed = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    for i in selected {
        let entry = &dir.entries[i];
        if entry.method != zip::METHOD_STORED {
            return Err(WriteError::new(
                path.to_path_buf(),
                WriteErrorKind::Unsupported {
                    reason: format!(
                        "member {} is deflated; only stored members are rewritten in place",
                        entry.name
                    ),
                },
            ));
        }
        let local = zip::read_local(&file, entry, dir.cd_start).map_err(|reason| {
            WriteError::new(
                path,
                WriteErrorKind::Open(OpenErrorKind::Corrupt {
                    offset: entry.local_offset,
                    reason,
                }),
            )
        })?;
        let mut hasher = crc32fast::Hasher::new();
        let mut pos = 0u64;
        while pos < entry.size {
            let n = (entry.size - pos).min(buf.len() as u64) as usize;
            read_exact_at(&file, &mut buf[..n], local.data_start + pos).map_err(io)?;
            hasher.update(&buf[..n]);
            pos += n as u64;
        }
        let crc = hasher.finalize();
        if crc != entry.crc32 {
            write_all_at(
                &file,
                &crc.to_le_bytes(),
                entry.local_offset + zip::LOCAL_CRC_AT,
            )
            .and_then(|()| write_all_at(&file, &crc.to_le_bytes(), record_offsets[i] + 16))
            .map_err(io)?;
            changed.push((entry.name.clone(), crc));
        }
    }
    if !changed.is_empty() {
        file.sync_all().map_err(io)?;
    }
    Ok(changed)
}
