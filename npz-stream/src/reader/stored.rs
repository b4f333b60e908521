//! Access-point indexes stored by [`index`](crate::index) (`npz index`), in the archive or in
//! a sidecar file: found, checked against the member they claim, and turned into zran access
//! points one window at a time. A stale, foreign or malformed index is ignored.

use std::collections::HashMap;

use super::*;
use crate::access_index::{self as ai, Identity, Locator, PointRecord, Table};
use crate::format::ACCESS_INDEX_ID;

/// A member's stored index: its point table and where its windows are.
pub(super) struct StoredIndex {
    in_sidecar: bool,
    /// Absolute offset of the index in its file.
    base: u64,
    table: Table,
}

impl StoredIndex {
    /// The compressed offset (`input`) of the first point at or past member offset `end`.
    pub(super) fn point_input_after(&self, end: u64) -> Option<u64> {
        let points = &self.table.points;
        let i = points.partition_point(|p| p.out < end);
        points.get(i).map(|p| p.input)
    }
}

/// A sidecar file (`ARCHIVE.idx`): its file and where each member's index lies in it.
pub(super) struct Sidecar {
    file: File,
    entries: HashMap<Vec<u8>, Locator>,
}

/// The sidecar file of the archive at `archive`: the same path with `.idx` appended
/// (`run.npz` → `run.npz.idx`), where [`IndexOptions::sidecar`](crate::IndexOptions::sidecar)
/// writes an index and [`NpzReader`] looks for one.
///
/// ```
/// use std::path::Path;
/// assert_eq!(npz_stream::index_sidecar_path("data/run.npz"), Path::new("data/run.npz.idx"));
/// ```
pub fn index_sidecar_path(archive: impl AsRef<Path>) -> PathBuf {
    let mut name = archive.as_ref().as_os_str().to_owned();
    name.push(".idx");
    PathBuf::from(name)
}

impl NpzReader {
    /// The member's stored index, if it has one that checks out (loaded once).
    pub(super) fn stored_index(&self, idx: usize) -> Option<&StoredIndex> {
        if !self.options.stored_index || self.entry(idx).method != zip::METHOD_DEFLATED {
            return None;
        }
        self.stored[idx]
            .get_or_init(|| self.load_stored_index(idx).map(Box::new))
            .as_deref()
    }

    fn load_stored_index(&self, idx: usize) -> Option<StoredIndex> {
        let meta = self.meta(idx).ok()?;
        if meta.index.is_some() {
            return None; // a seekable member of this crate needs no other index
        }
        let entry = self.entry(idx);
        let identity = Identity {
            crc32: entry.crc32,
            compressed_size: entry.compressed_size,
            size: entry.size,
            local_offset: entry.local_offset - self.dir.prefix,
        };
        let in_archive = zip::find_extra(entry.extra(), ACCESS_INDEX_ID)
            .and_then(Locator::decode)
            .and_then(|loc| {
                // Between the member's data and the central directory, where numpy and every
                // zip reader skip it.
                let base = loc.offset.checked_add(self.dir.prefix)?;
                let data_end = meta.data_start + entry.compressed_size;
                let end = base.checked_add(loc.len)?;
                (base >= data_end && end <= self.dir.cd_start).then_some(())?;
                let table = read_table(&self.source(), base, loc.len)?;
                (table.identity == identity).then_some(StoredIndex {
                    in_sidecar: false,
                    base,
                    table,
                })
            });
        in_archive.or_else(|| {
            let sidecar = self.sidecar()?;
            let loc = sidecar.entries.get(entry.raw_name())?;
            let table = read_table(&sidecar.file, loc.offset, loc.len)?;
            (table.identity == identity).then_some(StoredIndex {
                in_sidecar: true,
                base: loc.offset,
                table,
            })
        })
    }

    /// The archive's sidecar, if there is a readable one (opened once). An archive read from
    /// a byte source has none: sidecars are local files.
    fn sidecar(&self) -> Option<&Sidecar> {
        self.sidecar
            .get_or_init(|| {
                if !self.can_view() {
                    return None;
                }
                let path = index_sidecar_path(&self.path);
                let file = array_files_fs::regular::open_regular(&path, false).ok()?;
                let file_len = file.metadata().ok()?.len();
                let footer_len = ai::SIDECAR_FOOTER_LEN as u64;
                let mut footer = [0u8; ai::SIDECAR_FOOTER_LEN];
                file.pread_exact(&mut footer, file_len.checked_sub(footer_len)?)
                    .ok()?;
                let table_len = ai::sidecar_table_len(&footer, file_len)?;
                let table_start = file_len - footer_len - table_len;
                let mut table = vec![0u8; usize::try_from(table_len).ok()?];
                file.pread_exact(&mut table, table_start).ok()?;
                let entries = ai::decode_sidecar_table(&table, &footer)?
                    .into_iter()
                    .filter(|e| {
                        e.locator
                            .offset
                            .checked_add(e.locator.len)
                            .is_some_and(|end| end <= table_start)
                    })
                    .map(|e| (e.name, e.locator))
                    .collect();
                Some(Sidecar { file, entries })
            })
            .as_ref()
    }

    /// The stored access point latest at or before member offset `off`, with its window read
    /// and checked; `None` if there is none after `after`, or its window does not check out.
    pub(super) fn stored_point(&self, idx: usize, off: u64, after: u64) -> Option<AccessPoint> {
        let stored = self.stored_index(idx)?;
        let points = &stored.table.points;
        let i = points.partition_point(|p| p.out <= off).checked_sub(1)?;
        let p = points[i];
        if p.out <= after {
            return None;
        }
        let at = stored.base + stored.table.window_at[i];
        let window = if stored.in_sidecar {
            read_window(&self.sidecar()?.file, at, &p)?
        } else {
            read_window(&self.source(), at, &p)?
        };
        // The last bits of the byte before the point are read with the point's first input
        // (`Inflate::at_access_point` with `bits_known` false).
        Some(AccessPoint {
            out: p.out,
            input: p.input,
            num_bits: p.bits,
            bit_buf: 0,
            window,
        })
    }
}

/// Bytes read at the end of an index to get its footer and point table in one read: the
/// table of up to 2400 points (a member of 4.7 GiB at the default 2 MiB span).
const TABLE_GUESS: u64 = 64 << 10;

/// The point table of the index of `len` bytes at `base` in `file`, decoded and checked: one
/// read of its last bytes, and a second one only for a table longer than [`TABLE_GUESS`].
fn read_table(file: &impl ReadAt, base: u64, len: u64) -> Option<Table> {
    let footer_len = ai::FOOTER_LEN as u64;
    let guess = len.min(TABLE_GUESS);
    // Bounded by `len`, which lies inside the file.
    let mut last = vec![0u8; usize::try_from(guess).ok()?];
    file.pread_exact(&mut last, base + len - guess).ok()?;
    let footer = last.get(last.len().checked_sub(ai::FOOTER_LEN)?..)?;
    let n = ai::footer_count(footer, len)?;
    let tail_len = u64::from(n) * ai::POINT_LEN as u64 + footer_len;
    if tail_len <= guess {
        return ai::decode_tail(&last[(guess - tail_len) as usize..], len);
    }
    // Bounded by `len` too (`footer_count` checks the table against it).
    let mut tail = vec![0u8; usize::try_from(tail_len).ok()?];
    file.pread_exact(&mut tail, base + len - tail_len).ok()?;
    ai::decode_tail(&tail, len)
}

/// Point `p`'s window, from its packed bytes at `at`: inflated to exactly its length, with its
/// CRC-32 checked.
fn read_window(file: &impl ReadAt, at: u64, p: &PointRecord) -> Option<Box<[u8]>> {
    let mut packed = vec![0u8; p.packed_len as usize]; // at most ai::MAX_PACKED
    file.pread_exact(&mut packed, at).ok()?;
    let mut window = vec![0u8; usize::from(p.window_len)];
    let mut d = flate2::Decompress::new(false);
    let status = d
        .decompress(&packed, &mut window, flate2::FlushDecompress::Finish)
        .ok()?;
    let whole = status == flate2::Status::StreamEnd
        && d.total_in() == packed.len() as u64
        && d.total_out() == window.len() as u64;
    (whole && crc32fast::hash(&window) == p.window_crc).then(|| window.into_boxed_slice())
}

impl NpzReader {
    /// Whether member `idx` has a stored index that checks out.
    pub(super) fn has_stored_index(&self, idx: usize) -> bool {
        self.stored_index(idx).is_some()
    }
}

/// A member that [`index`](crate::index) was asked about, as the reader sees it.
pub(crate) struct IndexTarget {
    /// Position of its entry in the central directory.
    pub idx: usize,
    pub key: String,
    pub name: String,
    pub raw_name: Vec<u8>,
    pub identity: Identity,
    /// Why it needs no index, if it needs none.
    pub skip: Option<&'static str>,
}

impl NpzReader {
    /// The members `keys` name (every member when empty), each with what it needs.
    pub(crate) fn index_targets(
        &self,
        keys: &[&str],
        span: u64,
        in_sidecar: bool,
    ) -> Result<Vec<IndexTarget>, ReadError> {
        let selected: Vec<usize> = if keys.is_empty() {
            self.live_entries().map(|(i, _)| i).collect()
        } else {
            keys.iter()
                .map(|k| self.index_of(k))
                .collect::<Result<_, _>>()?
        };
        let mut targets = Vec::with_capacity(selected.len());
        for idx in selected {
            let entry = self.entry(idx);
            let skip = if entry.method != zip::METHOD_DEFLATED {
                Some("not deflated: read at random already")
            } else if entry.size <= span {
                Some("not longer than the span: nothing to skip")
            } else if self.meta(idx)?.index.is_some() {
                Some("seekable already (written by npz-stream)")
            } else if self
                .stored_index(idx)
                .is_some_and(|s| !s.in_sidecar || in_sidecar)
            {
                Some("indexed already")
            } else {
                None
            };
            targets.push(IndexTarget {
                idx,
                key: key_of(&entry.name).to_owned(),
                name: entry.name.clone(),
                raw_name: entry.raw_name().to_vec(),
                identity: Identity {
                    crc32: entry.crc32,
                    compressed_size: entry.compressed_size,
                    size: entry.size,
                    local_offset: entry.local_offset - self.dir.prefix,
                },
                skip,
            });
        }
        Ok(targets)
    }

    /// One inflate pass over member `idx` (CRC-checked), handing `on_point` an access point
    /// after every `span` bytes of output. An error of `on_point` ends the pass; it is the
    /// caller's to report (the pass then returns `Ok(false)`).
    pub(crate) fn scan_member(
        &self,
        idx: usize,
        span: u64,
        mut on_point: impl FnMut(AccessPoint) -> bool,
    ) -> Result<bool, ReadError> {
        let meta = self.meta(idx)?;
        let entry = self.entry(idx);
        let mut stopped = false;
        let result = crate::inflate::scan_access_points(
            self.input(),
            meta.data_start,
            entry.compressed_size,
            entry.size,
            entry.crc32,
            span.max(1),
            |point| {
                if on_point(point) {
                    Ok(())
                } else {
                    stopped = true;
                    Err(InflateError::Size(String::new()))
                }
            },
        );
        match result {
            Ok(()) => Ok(true),
            Err(_) if stopped => Ok(false),
            Err(e) => Err(self.inflate_err(idx, e)),
        }
    }

    /// The central directory's start and entry count (to check that a writer holding the lock
    /// sees the same archive).
    pub(crate) fn directory_shape(&self) -> (u64, usize) {
        (self.dir.cd_start, self.dir.entries.len())
    }
}
