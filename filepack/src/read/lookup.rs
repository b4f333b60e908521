//! Looking paths up: the hash index, its probes, and the batched, prefetching [`Pack::bytes_many`].

use super::*;

impl Pack {
    /// Looks up a normalized path in the hash index: the entry, if present, with its record
    /// decoded and its stored path (equal to `path`).
    pub(super) fn find(&self, path: &str) -> Result<Option<Found<'_>>, ErrorKind> {
        self.find_hashed(path, self.header.hash_path(path))
    }

    /// [`Self::find`], given the path's hash.
    pub(super) fn find_hashed(
        &self,
        path: &str,
        hash: u64,
    ) -> Result<Option<Found<'_>>, ErrorKind> {
        let mut probe = 0;
        while let Some((entry, next)) = self.next_candidate(hash, probe)? {
            let (rec, raw) = self.entry_record(entry)?;
            if raw.kind == KIND_FILE {
                // The contents and the stored path both depend on the record only: asking for
                // the contents' first line now overlaps its cache miss with the path's.
                self.prefetch_at(raw.a);
            }
            let stored = self.string(rec, "path", raw.path_offset, u64::from(raw.path_len))?;
            if stored == path.as_bytes() {
                return Ok(Some(Found {
                    index: entry,
                    rec,
                    raw,
                    path: stored,
                    probe: next - 1,
                }));
            }
            probe = next;
        }
        Ok(None)
    }

    /// The first entry on `hash`'s probe sequence, from probe number `probe` on, whose tag in
    /// the index matches `hash`, with the probe number to continue from; `None` at the first
    /// empty slot or past the header's probe bound.
    pub(super) fn next_candidate(
        &self,
        hash: u64,
        mut probe: u64,
    ) -> Result<Option<(u32, u64)>, ErrorKind> {
        let mask = self.header.index_slots() - 1;
        let tag = (hash >> 32) as u32;
        while probe <= u64::from(self.header.index_max_probe) {
            let value = self.index_slot(hash.wrapping_add(probe) & mask)?;
            let entry = (value >> 32) as u32;
            probe += 1;
            if entry == NO_ENTRY {
                break;
            }
            if value as u32 == tag {
                return Ok(Some((entry, probe)));
            }
        }
        Ok(None)
    }

    /// The value of slot `slot` of the hash index: the path hash's tag in the low half, the
    /// entry index in the high half.
    pub(super) fn index_slot(&self, slot: u64) -> Result<u64, ErrorKind> {
        // In range: the header check proved the index (slots x 8 bytes) lies in the file.
        let offset = self.header.index_offset + slot * SLOT_LEN;
        let bytes = (self.slice(offset, 8))
            .ok_or_else(|| ErrorKind::corrupt(offset, "index slot outside the file"))?;
        let mut x = [0u8; 8];
        x.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(x))
    }

    /// The entry of the first index slot on `hash`'s probe sequence whose tag matches: where
    /// [`Self::find_hashed`] will look first. (A hint for prefetching, not an answer.)
    pub(super) fn first_candidate(&self, hash: u64) -> Option<u32> {
        Some(self.next_candidate(hash, 0).ok()??.0)
    }

    /// [`Pack::bytes`] for each of `paths`, in order.
    ///
    /// On a pack larger than the CPU caches, a lookup spends most of its time waiting for
    /// memory, three times in a row: for the index slot, then the entry record, then the stored
    /// path and the contents (fetched together), each level depending on the one before.
    /// Looking up a batch (an ML loader's
    /// batch of samples, say), this runs the lookups as a pipeline: while it finishes one
    /// path, it asks for the cache lines that the next few paths will need at each level, so
    /// that their waits overlap. It returns contents whose first and last bytes are already in
    /// the cache: several times the throughput of calling `bytes` in a loop on a large pack,
    /// with the same results.
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a", b"1", EntryMeta::file()).unwrap();
    /// # w.add_bytes("d/b", b"22", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// let got = pack.bytes_many(&["d/b", "a", "missing", "d"]);
    /// assert_eq!(got[0].as_deref().unwrap(), b"22");
    /// assert_eq!(got[1].as_deref().unwrap(), b"1");
    /// assert!(got[2].is_err() && got[3].is_err()); // not found; a directory
    /// ```
    pub fn bytes_many<S: AsRef<str>>(&self, paths: &[S]) -> Vec<Result<&[u8], Error>> {
        // How many paths each stage runs ahead of the next: enough for a cache miss to be
        // served while the CPU works through that many other steps.
        const AHEAD: usize = 4;
        const STAGES: usize = 5;
        // Per-path state lives in rings of the pipeline's depth.
        const RING: usize = AHEAD * STAGES;
        let h = &self.header;
        let mask = h.index_slots() - 1;
        let n = paths.len();
        let mut norms = std::collections::VecDeque::with_capacity(RING);
        let mut hashes = [0u64; RING];
        let mut entries = [NO_ENTRY; RING];
        let mut records: [Option<(u64, RawEntry)>; RING] = [None; RING];
        let mut out = Vec::with_capacity(n);
        for step in 0..n + (STAGES - 1) * AHEAD {
            // The path that stage `stage` works on at this step, if any.
            let at = |stage: usize| step.checked_sub(stage * AHEAD).filter(|&i| i < n);
            // Stage 0: the query's own bytes (a caller's list of paths can be large too).
            if let Some(i) = at(0)
                && let Some(first) = paths[i].as_ref().as_bytes().first()
            {
                prefetch(first);
            }
            // Stage 1: normal form and hash; the index slot.
            if let Some(i) = at(1) {
                let norm = normalized(paths[i].as_ref());
                let hash = norm.as_deref().map_or(0, |n| h.hash_path(n));
                hashes[i % RING] = hash;
                norms.push_back(norm);
                self.prefetch_at(h.index_offset.saturating_add((hash & mask) * SLOT_LEN));
            }
            // Stage 2: the first candidate's entry record.
            if let Some(i) = at(2) {
                let entry = self.first_candidate(hashes[i % RING]).unwrap_or(NO_ENTRY);
                entries[i % RING] = entry;
                if u64::from(entry) < h.entry_count {
                    self.prefetch_at(h.entries_offset + u64::from(entry) * ENTRY_LEN);
                }
            }
            // Stage 3: its stored path, and its contents' first and last lines.
            if let Some(i) = at(3) {
                records[i % RING] = None;
                if u64::from(entries[i % RING]) < h.entry_count
                    && let Ok((rec, raw)) = self.entry_record(entries[i % RING])
                {
                    self.prefetch_at(h.strings_offset.saturating_add(raw.path_offset));
                    if raw.kind == KIND_FILE && raw.b > 0 {
                        self.prefetch_at(raw.a);
                        self.prefetch_at(raw.a.saturating_add(raw.b - 1));
                    }
                    records[i % RING] = Some((rec, raw));
                }
            }
            // Stage 4: the lookup itself, on lines now in the cache.
            if let Some(i) = at(4) {
                let norm = norms.pop_front().expect("stage 1 ran on this path");
                let path = paths[i].as_ref();
                out.push(self.at_pack(norm.and_then(|norm| {
                    // The first candidate is what `bytes` finds whenever its stored path is the
                    // query's: then its record, read at stage 3, is the answer. Anything else
                    // (another entry, a link, a directory, an error) takes `bytes`' own path.
                    let first = records[i % RING].take().filter(|(rec, raw)| {
                        self.string(*rec, "path", raw.path_offset, u64::from(raw.path_len))
                            .is_ok_and(|stored| stored == norm.as_bytes())
                    });
                    match first.map(|(rec, raw)| self.file_record_contents(rec, &raw, &norm)) {
                        Some(Ok(Some(data))) => Ok(data),
                        _ => self.file_bytes_hashed(path, &norm, hashes[i % RING]),
                    }
                })));
            }
        }
        out
    }

    /// [`prefetch`] of the pack's byte at `offset`, if inside the pack.
    pub(super) fn prefetch_at(&self, offset: u64) {
        if let Some(byte) = self.slice(offset, 1) {
            prefetch(&byte[0]);
        }
    }

    /// [`Pack::bytes`] of `query`, given its normal form and that form's hash.
    pub(super) fn file_bytes_hashed(
        &self,
        query: &str,
        norm: &str,
        hash: u64,
    ) -> Result<&[u8], ErrorKind> {
        // The fast path, for a path that names a file without a symlink on the way: the index
        // slot, the entry's record, its path and its contents are all it reads (the rest of the
        // record, checked by `entry`, plays no part in reading the contents).
        if let Some(found) = self.find_hashed(norm, hash)?
            && let Some(data) = self.file_record_contents(found.rec, &found.raw, norm)?
        {
            return Ok(data);
        }
        let entry = self.file_entry(query)?;
        match entry.body {
            Body::File { offset, len } => self.local_contents(entry.path, offset, len),
            _ => Ok(&[]),
        }
    }

    /// The contents of the entry `raw` (record at `rec`, path `norm`) if it is a regular file,
    /// checked to lie in the data region, and against its checksum with
    /// [`OpenOptions::verify_reads`].
    pub(super) fn file_record_contents(
        &self,
        rec: u64,
        raw: &RawEntry,
        norm: &str,
    ) -> Result<Option<&[u8]>, ErrorKind> {
        if raw.kind != KIND_FILE {
            return Ok(None);
        }
        let data = self.file_contents(rec, raw, norm)?;
        if self.verify_reads {
            verify_checksum(norm, data, raw.checksum)?;
        }
        Ok(Some(data))
    }
}
