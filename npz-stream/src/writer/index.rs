//! Storing access-point indexes of deflated members ([`index`], `npz index`): one inflate pass
//! per member, the windows packed on a second thread and streamed to the file, the index then
//! appended to the archive (or written to a sidecar file).

use std::sync::mpsc::sync_channel;

use super::*;
use crate::NpzReader;
use crate::access_index::{self as ai, Locator, PointRecord, SidecarEntry};
use crate::format::ACCESS_INDEX_ID;
use crate::inflate::AccessPoint;
use crate::reader::{IndexTarget, index_sidecar_path};

/// The default distance between access points: 2 MiB of output (an index of about 1.6% of the
/// compressed size).
const DEFAULT_SPAN: u64 = 2 << 20;
/// The smallest distance between access points accepted.
const MIN_SPAN: u64 = 64 << 10;

/// Options of [`index`]: how far apart the access points are, where the index goes, and the
/// lock.
///
/// Defaults (== `Default::default()`): a point every 2 MiB of output
/// ([`span`](Self::span)), the index stored in the archive ([`sidecar`](Self::sidecar) off), an
/// existing sidecar not replaced, [`LockMode::FailFast`].
///
/// ```
/// use npz_stream::{Compression, IndexOptions, NpzReader, NpzWriter};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// let mut npz = NpzWriter::options().compression(Compression::deflate()).index(false).create(&path).unwrap();
/// let data: Vec<u32> = (0..400_000u32).map(|i| i.wrapping_mul(2_654_435_761) >> 9).collect();
/// npz.add_array("t", &data, &[400_000]).unwrap();
/// npz.finish().unwrap();
/// let before = std::fs::read(&path).unwrap();
/// // A read-only archive: the index goes beside it, the archive is left alone.
/// let report = IndexOptions::new().span(128 << 10).sidecar(true).index(&path, &["t"]).unwrap();
/// assert_eq!(report.path, npz_stream::index_sidecar_path(&path));
/// assert!(report.members[0].points >= 10);
/// assert_eq!(std::fs::read(&path).unwrap(), before);
/// assert!(NpzReader::open(&path).unwrap().info("t").unwrap().stored_index);
/// ```
#[derive(Debug, Clone)]
pub struct IndexOptions {
    span: u64,
    sidecar: bool,
    replace: bool,
    lock: LockMode,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            span: DEFAULT_SPAN,
            sidecar: false,
            replace: false,
            lock: LockMode::FailFast,
        }
    }
}

/// What [`index`] did.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
/// # npz.add_array("x", &[1u8], &[1]).unwrap();
/// # npz.finish().unwrap();
/// let report = npz_stream::index(&path, &[]).unwrap();
/// assert_eq!(report.members[0].skipped, Some("not deflated: read at random already"));
/// assert_eq!(report.index_bytes(), 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexReport {
    /// Where the indexes were written: the archive, or its sidecar file.
    pub path: PathBuf,
    /// Every member asked about, in the order asked.
    pub members: Vec<IndexedMember>,
}

impl IndexReport {
    /// Bytes of index written, for every member.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
    /// assert_eq!(npz_stream::index(&path, &[]).unwrap().index_bytes(), 0);
    /// ```
    pub fn index_bytes(&self) -> u64 {
        self.members.iter().map(|m| m.index_bytes).sum()
    }
}

/// One member of an [`IndexReport`].
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
/// # npz.add_array("x", &[1u8], &[1]).unwrap();
/// # npz.finish().unwrap();
/// let member = &npz_stream::index(&path, &["x"]).unwrap().members[0];
/// assert_eq!((member.key.as_str(), member.points), ("x", 0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexedMember {
    /// The key (the member name without `.npy`).
    pub key: String,
    /// The member's name in the archive.
    pub name: String,
    /// Access points recorded (0 when skipped, or for a member shorter than one span).
    pub points: usize,
    /// Bytes of the member's index (0 when skipped).
    pub index_bytes: u64,
    /// The member's compressed size.
    pub compressed_size: u64,
    /// The member's uncompressed size.
    pub size: u64,
    /// Why no index was written for it, if none was.
    pub skipped: Option<&'static str>,
}

/// Stores an access-point index of each deflated member of the archive at `path` that `keys`
/// name (every member when `keys` is empty), with default options: see [`IndexOptions`] and
/// [`IndexOptions::index`].
///
/// # Errors
/// As [`IndexOptions::index`].
///
/// ```
/// use npy_format::FrameSource;
/// use npz_stream::{Compression, NpzReader, NpzWriter};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// // An archive as numpy's savez_compressed writes it: one deflate stream, no seek index.
/// let mut npz = NpzWriter::options().compression(Compression::deflate()).index(false).create(&path).unwrap();
/// let data: Vec<u32> = (0..2_000_000u32).map(|i| i.wrapping_mul(2_654_435_761) >> 9).collect();
/// npz.add_array("t", &data, &[2_000_000]).unwrap();
/// npz.finish().unwrap();
/// assert!(!NpzReader::open(&path).unwrap().info("t").unwrap().seekable);
///
/// let report = npz_stream::index(&path, &[]).unwrap();
/// assert_eq!(report.members[0].points, 3); // after 2, 4 and 6 MiB of the 7.6 MiB
/// let reader = NpzReader::open(&path).unwrap();
/// assert!(reader.info("t").unwrap().seekable);
/// let last = reader.member("t").unwrap().read_frames(1_999_999, 2_000_000).unwrap();
/// assert_eq!(last, data[1_999_999].to_le_bytes());
/// ```
pub fn index(path: impl AsRef<Path>, keys: &[&str]) -> Result<IndexReport, WriteError> {
    IndexOptions::default().index(path, keys)
}

impl IndexOptions {
    /// The defaults (== `Default::default()`).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
    /// let options = npz_stream::IndexOptions::new();
    /// assert!(options.index(&path, &[]).unwrap().members.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes of output between access points (default 2 MiB; at least 64 KiB). A read costs at
    /// most this much inflation; the index takes about 32 KiB per point.
    ///
    /// ```
    /// use npz_stream::{Compression, IndexOptions, NpzWriter};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = NpzWriter::options().compression(Compression::deflate()).index(false).create(&path).unwrap();
    /// let data: Vec<u32> = (0..500_000u32).map(|i| i.wrapping_mul(2_654_435_761) >> 9).collect();
    /// npz.add_array("t", &data, &[500_000]).unwrap();
    /// npz.finish().unwrap();
    /// let fine = IndexOptions::new().span(256 << 10).sidecar(true).index(&path, &[]).unwrap();
    /// let coarse = IndexOptions::new().span(1 << 20).sidecar(true).replace(true).index(&path, &[]).unwrap();
    /// assert!(fine.members[0].points > 2 * coarse.members[0].points);
    /// assert!(fine.index_bytes() > coarse.index_bytes());
    /// ```
    pub fn span(mut self, bytes: u64) -> Self {
        self.span = bytes.max(MIN_SPAN);
        self
    }

    /// Write the indexes to the sidecar file [`index_sidecar_path`] (`FILE.idx`, created by
    /// writing a temporary file and renaming it) instead of the archive, which is then only
    /// read (default false). The sidecar holds the indexes of this call's members only.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
    /// let report = npz_stream::IndexOptions::new().sidecar(true).index(&path, &[]).unwrap();
    /// assert!(report.path.ends_with("a.npz.idx") && report.path.exists());
    /// ```
    pub fn sidecar(mut self, yes: bool) -> Self {
        self.sidecar = yes;
        self
    }

    /// Replace an existing sidecar file (default false: an existing one is
    /// [`WriteErrorKind::Exists`]).
    ///
    /// ```
    /// use npz_stream::{IndexOptions, ResultKind, WriteErrorKind};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
    /// let options = IndexOptions::new().sidecar(true);
    /// options.index(&path, &[]).unwrap();
    /// assert!(matches!(options.index(&path, &[]).err_kind(), Some(WriteErrorKind::Exists)));
    /// assert!(options.replace(true).index(&path, &[]).is_ok());
    /// ```
    pub fn replace(mut self, yes: bool) -> Self {
        self.replace = yes;
        self
    }

    /// What to do when another writer holds the archive's lock (default
    /// [`LockMode::FailFast`]); the lock is taken only when the index goes into the archive.
    ///
    /// ```
    /// use npz_stream::{IndexOptions, LockMode, NpzWriter, ResultKind, WriteErrorKind};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # NpzWriter::create(&path).unwrap().finish().unwrap();
    /// let appender = NpzWriter::append(&path).unwrap(); // holds the lock
    /// let refused = IndexOptions::new().lock(LockMode::FailFast).index(&path, &[]);
    /// assert!(matches!(refused.err_kind(), Some(WriteErrorKind::Locked)));
    /// drop(appender);
    /// ```
    pub fn lock(mut self, mode: LockMode) -> Self {
        self.lock = mode;
        self
    }

    /// Indexes the deflated members of the archive at `path` that `keys` name (every member
    /// when empty; keys as [`NpzReader`] takes them): one inflate pass over each, CRC-checked,
    /// records an access point after every [`span`](Self::span) bytes of output. The indexes
    /// go into the archive (after its end records, then a new central directory whose entries
    /// point at them, without changing a byte of the old archive: see
    /// [`format`](crate::format#stored-access-point-indexes)), under the archive's lock, or to
    /// the sidecar. numpy, `zipfile` and `unzip` read the archive as before, with the same
    /// keys; [`NpzReader`] then starts frame reads at the nearest point.
    ///
    /// Members that need no index are reported as skipped: stored members, members with this
    /// crate's seek index, members already indexed in the archive.
    ///
    /// If anything fails, the archive is cut back to its old bytes (a killed indexer leaves
    /// bytes after the old end records, which [`NpzReader`] skips and
    /// [`recover`](crate::recover) cuts off).
    ///
    /// # Errors
    /// [`WriteErrorKind::Read`] for a key the archive lacks or a member that does not inflate
    /// to its CRC-32 and size; [`WriteErrorKind::Open`], [`WriteErrorKind::Locked`],
    /// [`WriteErrorKind::Exists`] (sidecar), [`WriteErrorKind::Unsupported`] for data before the
    /// first member; I/O errors.
    ///
    /// ```
    /// use npz_stream::{IndexOptions, ReadErrorKind, ResultKind, WriteErrorKind};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
    /// let err = IndexOptions::new().index(&path, &["nope"]).unwrap_err();
    /// assert!(matches!(err.kind(), WriteErrorKind::Read(ReadErrorKind::NoSuchMember { .. })));
    /// ```
    pub fn index(&self, path: impl AsRef<Path>, keys: &[&str]) -> Result<IndexReport, WriteError> {
        let path = path.as_ref();
        if self.sidecar {
            self.index_to_sidecar(path, keys)
        } else {
            self.index_in_archive(path, keys)
        }
    }

    fn index_in_archive(&self, path: &Path, keys: &[&str]) -> Result<IndexReport, WriteError> {
        let io = |source| WriteError::new(path.to_path_buf(), WriteErrorKind::Io { source });
        let (file, dir) = open_to_extend(path, self.lock)?;
        let reader = open_reader(path)?;
        if reader.directory_shape() != (dir.cd_start, dir.entries.len()) {
            return Err(io(io::Error::other(
                "the archive changed while it was opened",
            )));
        }
        let targets = reader
            .index_targets(keys, self.span, false)
            .map_err(read_err)?;
        let mut out = Output {
            file: &file,
            path,
            at: dir.end,
        };
        let result = self
            .write_indexes(&reader, &targets, &mut out)
            .and_then(|built| {
                let locators: Vec<(usize, Locator)> = built
                    .iter()
                    .filter_map(|(t, m)| m.locator.map(|l| (t.idx, l)))
                    .collect();
                if !locators.is_empty() {
                    finish_directory(&file, &dir, &locators, out.at).map_err(io)?;
                }
                Ok(built)
            });
        match result {
            Ok(built) => Ok(IndexReport {
                path: path.to_path_buf(),
                members: built.into_iter().map(|(_, m)| m.report).collect(),
            }),
            Err(e) => {
                // Nothing of this call stays: the old archive, byte for byte.
                let _ = file.set_len(dir.end).and_then(|()| file.sync_all());
                Err(e)
            }
        }
    }

    fn index_to_sidecar(&self, path: &Path, keys: &[&str]) -> Result<IndexReport, WriteError> {
        let target = index_sidecar_path(path);
        let io = |source| WriteError::new(target.clone(), WriteErrorKind::Io { source });
        if !self.replace && target.exists() {
            return Err(WriteError::new(target, WriteErrorKind::Exists));
        }
        let reader = open_reader(path)?;
        let targets = reader
            .index_targets(keys, self.span, true)
            .map_err(read_err)?;
        let _ = atomic::remove_stale_temps(&target);
        let tmp = TempFile::beside(&target).map_err(io)?;
        let mut out = Output {
            file: tmp.file(),
            path: &target,
            at: 0,
        };
        let built = self.write_indexes(&reader, &targets, &mut out)?;
        let entries: Vec<SidecarEntry> = built
            .iter()
            .filter_map(|(t, m)| {
                m.locator.map(|locator| SidecarEntry {
                    name: t.raw_name.clone(),
                    locator,
                })
            })
            .collect();
        write_all_at(tmp.file(), &ai::encode_sidecar_tail(&entries), out.at).map_err(io)?;
        let how = if self.replace {
            Persist::Replace
        } else {
            Persist::NoClobber
        };
        tmp.persist(&target, how).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                WriteError::new(target.clone(), WriteErrorKind::Exists)
            } else {
                io(e)
            }
        })?;
        Ok(IndexReport {
            path: target.clone(),
            members: built.into_iter().map(|(_, m)| m.report).collect(),
        })
    }

    /// Indexes each target that needs it, writing its index at `out`.
    fn write_indexes<'t>(
        &self,
        reader: &NpzReader,
        targets: &'t [IndexTarget],
        out: &mut Output<'_>,
    ) -> Result<Vec<(&'t IndexTarget, Built)>, WriteError> {
        let mut built = Vec::with_capacity(targets.len());
        for target in targets {
            let mut report = IndexedMember {
                key: target.key.clone(),
                name: target.name.clone(),
                points: 0,
                index_bytes: 0,
                compressed_size: target.identity.compressed_size,
                size: target.identity.size,
                skipped: target.skip,
            };
            let mut locator = None;
            if target.skip.is_none() {
                let index_start = out.at;
                let points = self.write_index(reader, target, out)?;
                report.points = points;
                report.index_bytes = out.at - index_start;
                locator = Some(Locator {
                    offset: index_start,
                    len: out.at - index_start,
                });
            }
            built.push((target, Built { report, locator }));
        }
        Ok(built)
    }

    /// One member's index: the pass on this thread, the windows packed and written on
    /// another, then the point table and footer. Returns the number of points.
    fn write_index(
        &self,
        reader: &NpzReader,
        target: &IndexTarget,
        out: &mut Output<'_>,
    ) -> Result<usize, WriteError> {
        let io = |source| WriteError::new(out.path.to_path_buf(), WriteErrorKind::Io { source });
        let (tx, rx) = sync_channel::<AccessPoint>(4);
        let file = out.file;
        let start = out.at;
        let (scanned, packed) = std::thread::scope(|scope| {
            let packer = scope.spawn(move || pack_windows(file, start, rx));
            let scanned = reader.scan_member(target.idx, self.span, |point| tx.send(point).is_ok());
            drop(tx);
            let packed = packer
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the window packer panicked")));
            (scanned, packed)
        });
        let (points, at) = packed.map_err(io)?;
        // The packer's error, if any, is what stopped the pass.
        scanned.map_err(read_err)?;
        let tail = ai::encode_tail(&target.identity, self.span, &points);
        write_all_at(out.file, &tail, at).map_err(io)?;
        out.at = at + tail.len() as u64;
        Ok(points.len())
    }
}

/// Where indexes are being written: the archive (which has no prepended data, so offsets in
/// the file are the offsets locators give) or the sidecar.
struct Output<'f> {
    file: &'f File,
    /// The file's path, for errors.
    path: &'f Path,
    /// Where the next byte goes.
    at: u64,
}

/// A member's outcome: its report, and where its index is.
struct Built {
    report: IndexedMember,
    locator: Option<Locator>,
}

fn open_reader(path: &Path) -> Result<NpzReader, WriteError> {
    NpzReader::open(path).map_err(|e| e.map_kind(WriteErrorKind::Open))
}

fn read_err(e: crate::ReadError) -> WriteError {
    e.map_kind(WriteErrorKind::Read)
}

/// Packs each point's window (raw deflate) and writes it at `at` onwards, in order; returns
/// the point records and where the windows end.
fn pack_windows(
    file: &File,
    mut at: u64,
    points: std::sync::mpsc::Receiver<AccessPoint>,
) -> io::Result<(Vec<PointRecord>, u64)> {
    let mut records = Vec::new();
    let mut packed = Vec::with_capacity(ai::MAX_PACKED as usize);
    let mut c = flate2::Compress::new(flate2::Compression::new(6), false);
    for point in points {
        packed.clear();
        c.reset();
        c.compress_vec(&point.window, &mut packed, flate2::FlushCompress::Finish)
            .map_err(io::Error::other)?;
        if c.total_in() != point.window.len() as u64 || packed.len() > ai::MAX_PACKED as usize {
            return Err(io::Error::other("a window did not pack"));
        }
        write_all_at(file, &packed, at)?;
        at += packed.len() as u64;
        records.push(PointRecord {
            out: point.out,
            input: point.input,
            bits: point.num_bits,
            window_len: point.window.len() as u16,
            packed_len: packed.len() as u32,
            window_crc: crc32fast::hash(&point.window),
        });
    }
    Ok((records, at))
}

/// After the indexes (which end at `at`): syncs them, then writes the new central directory
/// (the old records, each indexed member's with its locator field) and end records, and syncs.
fn finish_directory(
    file: &File,
    dir: &zip::Directory,
    locators: &[(usize, Locator)],
    at: u64,
) -> io::Result<()> {
    let mut cd = Vec::new();
    for (i, entry) in dir.entries.iter().enumerate() {
        match locators.iter().find(|(idx, _)| *idx == i) {
            Some((_, locator)) => cd.extend(with_locator(&entry.raw_record, locator)?),
            None => cd.extend_from_slice(&entry.raw_record),
        }
    }
    let cd_size = cd.len() as u64;
    cd.extend(zip::end_records(
        dir.entries.len() as u64,
        at,
        cd_size,
        &dir.comment,
    ));
    // The indexes reach the disk before the end records that point at them.
    file.sync_data()?;
    write_all_at(file, &cd, at)?;
    file.set_len(at + cd.len() as u64)?;
    file.sync_all()
}

/// A central-directory record with its locator field replaced by `locator`.
fn with_locator(record: &[u8], locator: &Locator) -> io::Result<Vec<u8>> {
    let le16 = |at: usize| usize::from(u16::from_le_bytes([record[at], record[at + 1]]));
    let (name_len, extra_len) = (le16(28), le16(30));
    let extra_start = zip::CENTRAL_LEN + name_len;
    let extra = &record[extra_start..extra_start + extra_len];
    // The other extra fields, as they were.
    let mut kept = Vec::with_capacity(extra.len() + 4 + ai::LOCATOR_LEN);
    let mut at = 0;
    while extra.len() - at >= 4 {
        let id = u16::from_le_bytes([extra[at], extra[at + 1]]);
        let len = usize::from(u16::from_le_bytes([extra[at + 2], extra[at + 3]]));
        let Some(field) = extra.get(at..at + 4 + len) else {
            break; // a malformed tail: dropped
        };
        if id != ACCESS_INDEX_ID {
            kept.extend_from_slice(field);
        }
        at += 4 + len;
    }
    kept.extend_from_slice(&ACCESS_INDEX_ID.to_le_bytes());
    kept.extend_from_slice(&(ai::LOCATOR_LEN as u16).to_le_bytes());
    kept.extend_from_slice(&locator.encode());
    let new_len = u16::try_from(kept.len()).map_err(|_| {
        io::Error::other("the member's extra fields leave no room for the index's locator")
    })?;
    let mut out = record[..extra_start].to_vec();
    out[30..32].copy_from_slice(&new_len.to_le_bytes());
    out.extend_from_slice(&kept);
    out.extend_from_slice(&record[extra_start + extra_len..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_locator_replaces_an_old_one_and_keeps_other_fields() {
        let entry = NewEntry {
            name: b"x.npy".to_vec(),
            flags: 0,
            method: zip::METHOD_DEFLATED,
            crc32: 1,
            compressed_size: 2,
            size: 3,
            local_offset: 0,
            extra: vec![0x99, 0x99, 2, 0, 7, 7],
        };
        let record = entry.record();
        let once = with_locator(&record, &Locator { offset: 5, len: 6 }).unwrap();
        let twice = with_locator(&once, &Locator { offset: 8, len: 9 }).unwrap();
        assert_eq!(twice.len(), once.len());
        let extra = &twice[zip::CENTRAL_LEN + 5..];
        assert_eq!(zip::find_extra(extra, 0x9999), Some(&[7u8, 7][..]));
        let data = zip::find_extra(extra, ACCESS_INDEX_ID).unwrap();
        assert_eq!(Locator::decode(data), Some(Locator { offset: 8, len: 9 }));
    }
}
