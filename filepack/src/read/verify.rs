//! Verification: every table and every checksum ([`Pack::verify`], [`VerifySummary`]).

use super::*;

/// What [`Pack::verify`] checked.
///
/// ```
/// # use treepack::{EntryMeta, Pack, PackWriter};
/// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
/// # w.add_bytes("d/f", b"abc", EntryMeta::file()).unwrap();
/// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
/// let s = pack.verify().unwrap();
/// assert_eq!((s.entries, s.files, s.dirs, s.symlinks, s.bytes), (3, 1, 2, 0, 3));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifySummary {
    /// Entries checked (the root included).
    pub entries: u64,
    /// Regular files.
    pub files: u64,
    /// Directories (the root included).
    pub dirs: u64,
    /// Symlinks.
    pub symlinks: u64,
    /// Bytes of file contents checksummed.
    pub bytes: u64,
}

impl VerifySummary {
    fn add(&mut self, other: &VerifySummary) {
        self.entries += other.entries;
        self.files += other.files;
        self.dirs += other.dirs;
        self.symlinks += other.symlinks;
        self.bytes += other.bytes;
    }
}

/// What verifying a range of entries found: counts, children listed, the longest probe that
/// found one of them in the index, and the first error with its entry index.
pub(super) type RangeResult = (VerifySummary, u64, u64, Option<(u64, ErrorKind)>);

impl Pack {
    /// Checks the checksum of the tables (O(entries)).
    ///
    /// # Errors
    /// [`ErrorKind::Checksum`] with `what` = `"tables"`.
    ///
    /// ```
    /// # let bytes = treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner();
    /// treepack::Pack::from_vec(bytes).unwrap().verify_tables().unwrap();
    /// ```
    pub fn verify_tables(&self) -> Result<(), Error> {
        let result = (|| -> Result<(), ErrorKind> {
            let h = &self.header;
            let tables = (self.slice(
                h.entries_offset,
                h.file_len.saturating_sub(h.entries_offset),
            ))
            .ok_or_else(|| ErrorKind::corrupt(56, "tables outside the file"))?;
            let actual = format::checksum(tables);
            if actual != h.tables_checksum {
                return Err(ErrorKind::Checksum {
                    what: "tables".to_owned(),
                    expected: h.tables_checksum,
                    actual,
                });
            }
            Ok(())
        })();
        self.at_pack(result)
    }

    /// Checks everything: the table checksum, every entry's record, order, parent, directory
    /// listing and index slot, and every file's and symlink's checksum. Runs on all cores.
    ///
    /// # Errors
    /// The first problem found (lowest entry index): [`ErrorKind::Checksum`] naming the entry, or
    /// [`ErrorKind::Corrupt`].
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"abc", EntryMeta::file()).unwrap();
    /// let mut bytes = w.finish().unwrap().0.into_inner();
    /// let at = Pack::from_vec(bytes.clone()).unwrap().header().data_offset as usize;
    /// bytes[at] ^= 1; // flip a bit of f's contents
    /// let err = Pack::from_vec(bytes).unwrap().verify().unwrap_err();
    /// assert!(err.to_string().contains("\"f\""));
    /// ```
    pub fn verify(&self) -> Result<VerifySummary, Error> {
        let result = (|| -> Result<VerifySummary, ErrorKind> {
            self.verify_tables()?;
            let n = self.header.entry_count;
            let threads = std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(usize::try_from(n.div_ceil(4096)).unwrap_or(1))
                .max(1) as u64;
            let per = n.div_ceil(threads);
            let results: Vec<RangeResult> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let (start, end) = (t * per, ((t + 1) * per).min(n));
                        s.spawn(move || self.verify_range(start, end))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            (
                                VerifySummary::default(),
                                0,
                                0,
                                Some((0, ErrorKind::corrupt(0, "verification thread panicked"))),
                            )
                        })
                    })
                    .collect()
            });
            let mut total = VerifySummary::default();
            let mut children = 0u64;
            let mut max_probe = 0u64;
            let mut first_error: Option<(u64, ErrorKind)> = None;
            for (summary, kids, probe, error) in results {
                total.add(&summary);
                children += kids;
                max_probe = max_probe.max(probe);
                if let Some((i, e)) = error
                    && first_error.as_ref().is_none_or(|(j, _)| i < *j)
                {
                    first_error = Some((i, e));
                }
            }
            if let Some((_, e)) = first_error {
                return Err(e);
            }
            if children != n - 1 {
                return Err(ErrorKind::corrupt(
                    self.header.dirs_offset,
                    format!(
                        "directories list {children} children in all, but there are {} non-root entries",
                        n - 1
                    ),
                ));
            }
            // Every lookup stops at the recorded bound: it must be the true longest probe, neither
            // short of it (entries would be lost) nor inflated (lookups of missing paths would read
            // more slots than the index needs).
            if max_probe != u64::from(self.header.index_max_probe) {
                return Err(ErrorKind::corrupt(
                    108,
                    format!(
                        "the header records a longest index probe of {} slots, but the longest is {max_probe}",
                        self.header.index_max_probe
                    ),
                ));
            }
            Ok(total)
        })();
        self.at_pack(result)
    }

    pub(super) fn verify_range(&self, start: u64, end: u64) -> RangeResult {
        let mut summary = VerifySummary::default();
        let mut children = 0u64;
        let mut max_probe = 0u64;
        for i in start..end {
            match self.verify_entry(i as u32, &mut summary, &mut max_probe) {
                Ok(kids) => children += kids,
                Err(e) => return (summary, children, max_probe, Some((i, e))),
            }
        }
        (summary, children, max_probe, None)
    }

    pub(super) fn verify_entry(
        &self,
        index: u32,
        summary: &mut VerifySummary,
        max_probe: &mut u64,
    ) -> Result<u64, ErrorKind> {
        let entry = self.entry_at(index)?;
        ErrorKind::check_depth(entry.path)?;
        let rec = self.header.entries_offset + u64::from(index) * ENTRY_LEN;
        if index > 0 {
            let prev = self.entry_at(index - 1)?;
            if cmp_paths(prev.path.as_bytes(), entry.path.as_bytes()) != std::cmp::Ordering::Less {
                return Err(ErrorKind::corrupt(
                    rec,
                    format!(
                        "entry {index} ({:?}) does not sort after entry {} ({:?})",
                        entry.path,
                        index - 1,
                        prev.path
                    ),
                ));
            }
            let parent = self.entry_at(entry.parent)?;
            if !parent.is_dir() || parent.path != path::parent(entry.path) {
                return Err(ErrorKind::corrupt(
                    rec + 12,
                    format!(
                        "entry {index} ({:?}) has parent {} ({:?}, a {})",
                        entry.path,
                        entry.parent,
                        parent.path,
                        parent.kind()
                    ),
                ));
            }
        }
        let found = self.find(entry.path)?;
        if let Some(found) = &found {
            *max_probe = (*max_probe).max(found.probe);
        }
        if found.map(|found| found.index) != Some(index) {
            return Err(ErrorKind::corrupt(
                self.header.index_offset,
                format!(
                    "the hash index does not lead to entry {index} ({:?})",
                    entry.path
                ),
            ));
        }
        entry.verify()?;
        summary.entries += 1;
        let mut kids = 0;
        match entry.body {
            Body::File { len, .. } => {
                summary.files += 1;
                summary.bytes += len;
            }
            Body::Symlink(_) => summary.symlinks += 1,
            Body::Dir { .. } => {
                summary.dirs += 1;
                for child in entry.children()? {
                    child?;
                    kids += 1;
                }
            }
        }
        Ok(kids)
    }
}
