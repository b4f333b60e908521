//! The zip container: the records this crate writes and the checks it makes when reading.
//!
//! Written by hand rather than through a zip library because the layout choices below need
//! control over local-header extra fields, back-patched headers, full-flush deflate and a
//! central directory that carries a private index. Every offset read from a file goes through
//! checked arithmetic and is compared with the file size before it is used.

use std::fs::File;
use std::path::Path;

use crate::error::{OpenError, OpenErrorKind};
use crate::io_util::{ReadAt, Src, read_exact_at};

pub(crate) const LOCAL_SIG: u32 = 0x0403_4b50;
pub(crate) const CENTRAL_SIG: u32 = 0x0201_4b50;
pub(crate) const EOCD_SIG: u32 = 0x0605_4b50;
pub(crate) const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
pub(crate) const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;

pub(crate) const LOCAL_LEN: u64 = 30;
pub(crate) const CENTRAL_LEN: usize = 46;
pub(crate) const EOCD_LEN: usize = 22;
pub(crate) const ZIP64_EOCD_LEN: usize = 56;
pub(crate) const ZIP64_LOCATOR_LEN: usize = 20;

/// Extra-field header ID of the zip64 extended information field.
pub(crate) const ZIP64_ID: u16 = 0x0001;

/// General-purpose flag bit 0: encrypted.
pub(crate) const FLAG_ENCRYPTED: u16 = 1;
/// General-purpose flag bit 11: the name is UTF-8.
pub(crate) const FLAG_UTF8: u16 = 1 << 11;

/// Compression method 0.
pub(crate) const METHOD_STORED: u16 = 0;
/// Compression method 8.
pub(crate) const METHOD_DEFLATED: u16 = 8;

/// DOS date of 1980-01-01, the date numpy's savez writes (time 0).
pub(crate) const DOS_DATE: u16 = 0x21;
/// Version needed to extract: 4.5 (zip64), as numpy writes with `force_zip64`.
pub(crate) const VERSION_NEEDED: u16 = 45;
/// Version made by: Unix (3), 4.5.
pub(crate) const VERSION_MADE_BY: u16 = (3 << 8) | 45;
/// External attributes: a regular file with mode 0o600, as numpy's savez writes.
pub(crate) const EXTERNAL_ATTR: u32 = 0o600 << 16;

/// A central-directory entry as read.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The name, decoded as zipfile decodes it (UTF-8 with flag 11, else cp437).
    pub name: String,
    pub flags: u16,
    pub method: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
    /// Absolute offset of the local header (prepended data accounted for).
    pub local_offset: u64,
    /// The raw central-directory record (kept verbatim when appending), which holds the raw
    /// name and the extra field: one allocation per member, not three (a million members
    /// open in a fraction of a second).
    pub raw_record: Vec<u8>,
    /// The name's length in the record.
    pub name_len: u16,
    /// The extra field's length in the record.
    pub extra_len: u16,
}

impl Entry {
    /// The raw name bytes (compared with the local header's).
    pub fn raw_name(&self) -> &[u8] {
        &self.raw_record[CENTRAL_LEN..CENTRAL_LEN + usize::from(self.name_len)]
    }

    /// The central-directory extra field.
    pub fn extra(&self) -> &[u8] {
        let start = CENTRAL_LEN + usize::from(self.name_len);
        &self.raw_record[start..start + usize::from(self.extra_len)]
    }
}

/// The archive's directory as read.
#[derive(Debug)]
pub(crate) struct Directory {
    pub entries: Vec<Entry>,
    /// Absolute offset of the central directory.
    pub cd_start: u64,
    /// Bytes of data before the first member that the offsets do not count (self-extractors).
    pub prefix: u64,
    /// The archive comment.
    pub comment: Vec<u8>,
    /// Where the end records (and the comment) end: the file's length, unless an interrupted
    /// append left bytes after them.
    pub end: u64,
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

/// How many bytes at the end of an archive are read first: the end record and its longest
/// comment (22 + 65535 bytes), as every zip reader does. The central directory of most
/// archives lies in them too, which makes an open one request on object storage.
pub(crate) const TAIL_LEN: usize = EOCD_LEN + 0xFFFF;

/// The last bytes of an archive (up to [`TAIL_LEN`]), read before anything else: the end
/// record is looked for in them, and every later read of the directory that falls inside them
/// is served from them.
pub(crate) struct Tail {
    /// Offset of the first byte.
    pub start: u64,
    /// The bytes, up to the archive's end.
    pub bytes: Vec<u8>,
}

/// Reads and checks the end records and the central directory of the archive in `file`.
///
/// The end record is looked for in the file's last 65557 bytes, as every zip reader does. If
/// none there checks out, and the file starts like a zip archive, the file is scanned back
/// from its end for the last end record whose central directory checks out and ends right
/// before it: an append that was interrupted (killed, or the machine lost power) leaves the
/// complete archive it started from followed by new bytes (see [`crate::format`]), and this
/// finds that archive. [`Directory::end`] then lies before the end of the file.
pub(crate) fn read_directory(
    file: &File,
    file_len: u64,
    path: &Path,
) -> Result<Directory, OpenError> {
    let io = |source| OpenError::new(path.to_path_buf(), OpenErrorKind::Io { source });
    let tail_len = file_len.min(TAIL_LEN as u64) as usize;
    let start = file_len - tail_len as u64;
    let mut bytes = vec![0u8; tail_len];
    read_exact_at(file, &mut bytes, start).map_err(io)?;
    let tail = Tail { start, bytes };
    match read_directory_at_tail(&Src::File { file, map: None }, &tail, path) {
        Ok(dir) => Ok(dir),
        Err(e)
            if matches!(
                e.kind(),
                OpenErrorKind::NotZip { .. } | OpenErrorKind::Corrupt { .. }
            ) =>
        {
            match find_earlier_directory(file, file_len, path)? {
                Some(dir) => Ok(dir),
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// How many candidate end records the backward scan checks before it gives up.
const MAX_CANDIDATES: usize = 256;

/// The last complete archive in `file`: an end record, its central directory right before it
/// at the offset it declares (no prepended data), every entry checked.
fn find_earlier_directory(
    file: &File,
    file_len: u64,
    path: &Path,
) -> Result<Option<Directory>, OpenError> {
    let io = |source| OpenError::new(path.to_path_buf(), OpenErrorKind::Io { source });
    let mut magic = [0u8; 4];
    if file_len < 4 {
        return Ok(None);
    }
    read_exact_at(file, &mut magic, 0).map_err(io)?;
    // A zip archive starts with its first member, or (an empty archive appended to) with the
    // end record of the empty archive.
    if le32(&magic, 0) != LOCAL_SIG && le32(&magic, 0) != EOCD_SIG {
        return Ok(None);
    }
    const BLOCK: u64 = 1 << 20;
    let mut buf = vec![0u8; BLOCK as usize + 3];
    let mut candidates = 0;
    // Blocks from the end, each overlapping the next by 3 bytes so no signature is split.
    let mut block_end = file_len;
    while block_end >= 4 {
        let block_start = block_end.saturating_sub(BLOCK);
        let read_end = (block_end + 3).min(file_len);
        let len = (read_end - block_start) as usize;
        read_exact_at(file, &mut buf[..len], block_start).map_err(io)?;
        let starts = block_end - block_start;
        for i in (0..starts as usize).rev() {
            if i + 4 > len || le32(&buf, i) != EOCD_SIG {
                continue;
            }
            candidates += 1;
            if candidates > MAX_CANDIDATES {
                return Ok(None);
            }
            let offset = block_start + i as u64;
            match directory_at(file, file_len, offset, path) {
                Ok(dir) if dir.prefix == 0 => return Ok(Some(dir)),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        OpenErrorKind::NotZip { .. }
                            | OpenErrorKind::Corrupt { .. }
                            | OpenErrorKind::Unsupported { .. }
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        block_end = block_start;
        if block_start == 0 {
            break;
        }
    }
    Ok(None)
}

/// The end record in `tail` (the archive's last bytes, read first) and the directory it
/// describes, read from `src` where `tail` does not hold it: on object storage, an open is the
/// one request that read `tail`, and a second one only for a central directory that starts
/// before it. (The backward scan of [`read_directory`] is for local files only.)
pub(crate) fn read_directory_at_tail(
    src: &Src<'_>,
    tail: &Tail,
    path: &Path,
) -> Result<Directory, OpenError> {
    let tail_len = tail.bytes.len();
    let file_len = tail.start + tail_len as u64;
    if file_len < EOCD_LEN as u64 {
        return Err(OpenError::new(
            path.to_path_buf(),
            OpenErrorKind::NotZip {
                reason: format!(
                    "the file has {file_len} bytes, fewer than an end-of-central-directory record (22)"
                ),
            },
        ));
    }
    let bytes = &tail.bytes;
    let found = (0..=tail_len - EOCD_LEN).rev().find(|&i| {
        le32(bytes, i) == EOCD_SIG && i + EOCD_LEN + usize::from(le16(bytes, i + 20)) <= tail_len
    });
    let Some(i) = found else {
        return Err(OpenError::new(
            path.to_path_buf(),
            OpenErrorKind::NotZip {
                reason: "no end-of-central-directory record in the last 65557 bytes".into(),
            },
        ));
    };
    let ahead = Src::Ahead {
        start: tail.start,
        bytes,
        inner: src,
    };
    directory_at(&ahead, file_len, tail.start + i as u64, path)
}

/// The directory described by the end record at `eocd_offset`.
fn directory_at<R: ReadAt + ?Sized>(
    file: &R,
    file_len: u64,
    eocd_offset: u64,
    path: &Path,
) -> Result<Directory, OpenError> {
    let errors = Errors { path };
    let mut end = read_end_record(file, file_len, eocd_offset, &errors)?;
    read_zip64_end(file, eocd_offset, &mut end, &errors)?;
    let (cd_start, prefix, cd) = read_central_directory(file, eocd_offset, &end, &errors)?;
    let entries = parse_central_records(&cd, cd_start, prefix, end.entries_total, &errors)?;
    Ok(Directory {
        entries,
        cd_start,
        prefix,
        comment: end.comment,
        end: end.end,
    })
}

/// The errors of reading one archive's directory, all naming its path.
struct Errors<'a> {
    path: &'a Path,
}

impl Errors<'_> {
    fn io(&self, source: std::io::Error) -> OpenError {
        OpenError::new(self.path.to_path_buf(), OpenErrorKind::Io { source })
    }

    fn corrupt(&self, offset: u64, reason: String) -> OpenError {
        OpenError::new(
            self.path.to_path_buf(),
            OpenErrorKind::Corrupt { offset, reason },
        )
    }

    fn not_zip(&self, reason: String) -> OpenError {
        OpenError::new(self.path.to_path_buf(), OpenErrorKind::NotZip { reason })
    }

    fn unsupported(&self, reason: String) -> OpenError {
        OpenError::new(
            self.path.to_path_buf(),
            OpenErrorKind::Unsupported { reason },
        )
    }
}

/// What the end records say: where the central directory is, how many entries, the comment.
struct EndRecords {
    entries_total: u64,
    cd_size: u64,
    cd_offset: u64,
    /// Where the end records start (the zip64 end record's offset when there is one): the
    /// central directory ends right before.
    records_start: u64,
    comment: Vec<u8>,
    /// Where the end record and its comment end.
    end: u64,
}

/// Step 1: the end-of-central-directory record at `eocd_offset` and its comment.
fn read_end_record<R: ReadAt + ?Sized>(
    file: &R,
    file_len: u64,
    eocd_offset: u64,
    errors: &Errors<'_>,
) -> Result<EndRecords, OpenError> {
    if eocd_offset
        .checked_add(EOCD_LEN as u64)
        .is_none_or(|end| end > file_len)
    {
        return Err(errors.not_zip(format!(
            "the end record at offset {eocd_offset} runs past the end of the file"
        )));
    }
    let mut eocd = [0u8; EOCD_LEN];
    file.pread_exact(&mut eocd, eocd_offset)
        .map_err(|e| errors.io(e))?;
    if le32(&eocd, 0) != EOCD_SIG {
        return Err(errors.not_zip(format!("no end record at offset {eocd_offset}")));
    }
    let comment_len = usize::from(le16(&eocd, 20));
    let end = eocd_offset + EOCD_LEN as u64 + comment_len as u64;
    if end > file_len {
        return Err(errors.not_zip(format!(
            "the end record at offset {eocd_offset} has a {comment_len}-byte comment that runs past the end of the file"
        )));
    }
    let mut comment = vec![0u8; comment_len];
    file.pread_exact(&mut comment, eocd_offset + EOCD_LEN as u64)
        .map_err(|e| errors.io(e))?;
    let (disk, cd_disk) = (le16(&eocd, 4), le16(&eocd, 6));
    if disk != 0 || cd_disk != 0 {
        return Err(errors.unsupported(format!(
            "multi-disk archive (disk {disk}, directory on disk {cd_disk})"
        )));
    }
    Ok(EndRecords {
        entries_total: u64::from(le16(&eocd, 10)),
        cd_size: u64::from(le32(&eocd, 12)),
        cd_offset: u64::from(le32(&eocd, 16)),
        records_start: eocd_offset,
        comment,
        end,
    })
}

/// Step 2: a zip64 locator right before the end record points at the zip64 end record, whose
/// counts and offsets replace the end record's (saturated) ones.
fn read_zip64_end<R: ReadAt + ?Sized>(
    file: &R,
    eocd_offset: u64,
    end: &mut EndRecords,
    errors: &Errors<'_>,
) -> Result<(), OpenError> {
    if eocd_offset < ZIP64_LOCATOR_LEN as u64 {
        return Ok(());
    }
    let loc_offset = eocd_offset - ZIP64_LOCATOR_LEN as u64;
    let mut loc = [0u8; ZIP64_LOCATOR_LEN];
    file.pread_exact(&mut loc, loc_offset)
        .map_err(|e| errors.io(e))?;
    if le32(&loc, 0) != ZIP64_LOCATOR_SIG {
        return Ok(());
    }
    // Like Python's zipfile, expect the record right before the locator; fall back to the
    // offset the locator gives.
    let before = loc_offset.checked_sub(ZIP64_EOCD_LEN as u64);
    let pointed = le64(&loc, 8);
    let mut record = [0u8; ZIP64_EOCD_LEN];
    let mut record_offset = None;
    for candidate in [before, Some(pointed)].into_iter().flatten() {
        if candidate
            .checked_add(ZIP64_EOCD_LEN as u64)
            .is_some_and(|end| end <= loc_offset)
        {
            file.pread_exact(&mut record, candidate)
                .map_err(|e| errors.io(e))?;
            if le32(&record, 0) == ZIP64_EOCD_SIG {
                record_offset = Some(candidate);
                break;
            }
        }
    }
    let Some(record_offset) = record_offset else {
        return Err(errors.corrupt(
            loc_offset,
            format!("zip64 locator points at offset {pointed}, where there is no zip64 end record"),
        ));
    };
    let (disk64, cd_disk64) = (le32(&record, 16), le32(&record, 20));
    if disk64 != 0 || cd_disk64 != 0 {
        return Err(errors.unsupported("multi-disk zip64 archive".into()));
    }
    end.entries_total = le64(&record, 32);
    end.cd_size = le64(&record, 40);
    end.cd_offset = le64(&record, 48);
    end.records_start = record_offset;
    Ok(())
}

/// Step 3: the central directory's bytes, checked against the end records. The directory ends
/// where the end records start; offsets may be shifted by prepended data (`prefix`). Returns
/// where it starts, the prefix, and its bytes.
fn read_central_directory<R: ReadAt + ?Sized>(
    file: &R,
    eocd_offset: u64,
    end: &EndRecords,
    errors: &Errors<'_>,
) -> Result<(u64, u64, Vec<u8>), OpenError> {
    let EndRecords {
        entries_total,
        cd_size,
        cd_offset,
        records_start,
        ..
    } = *end;
    let cd_end_declared = cd_offset.checked_add(cd_size).ok_or_else(|| {
        errors.corrupt(
            eocd_offset,
            format!("central directory offset {cd_offset} + size {cd_size} overflows"),
        )
    })?;
    let prefix = records_start.checked_sub(cd_end_declared).ok_or_else(|| {
        errors.corrupt(
            eocd_offset,
            format!(
                "central directory at offset {cd_offset} of {cd_size} bytes runs past the end records at offset {records_start}"
            ),
        )
    })?;
    let cd_start = cd_offset + prefix;
    // cd_size <= records_start <= file_len: the allocation is bounded by the file.
    let cd_len = usize::try_from(cd_size)
        .map_err(|_| errors.corrupt(cd_start, "central directory larger than memory".into()))?;
    if entries_total > cd_size / CENTRAL_LEN as u64 {
        return Err(errors.corrupt(
            eocd_offset,
            format!(
                "{entries_total} entries declared, but the {cd_size}-byte central directory holds at most {}",
                cd_size / CENTRAL_LEN as u64
            ),
        ));
    }
    let mut cd = vec![0u8; cd_len];
    file.pread_exact(&mut cd, cd_start)
        .map_err(|e| errors.io(e))?;
    Ok((cd_start, prefix, cd))
}

/// Step 4: every central-directory record, each checked to describe a member that lies before
/// the directory.
fn parse_central_records(
    cd: &[u8],
    cd_start: u64,
    prefix: u64,
    entries_total: u64,
    errors: &Errors<'_>,
) -> Result<Vec<Entry>, OpenError> {
    // At most one entry per 46 bytes of directory (checked by `read_central_directory`).
    let mut entries = Vec::with_capacity(entries_total as usize);
    let mut at = 0usize;
    for n in 0..entries_total {
        let (entry, len) = parse_central_record(&cd[at..], n, cd_start, at, prefix, errors)?;
        entries.push(entry);
        at += len;
    }
    Ok(entries)
}

/// Entry `n`, the record at `at` in the directory (`rec` is the directory from there on);
/// returns it and the record's length.
fn parse_central_record(
    rec: &[u8],
    n: u64,
    cd_start: u64,
    at: usize,
    prefix: u64,
    errors: &Errors<'_>,
) -> Result<(Entry, usize), OpenError> {
    let rec_offset = cd_start + at as u64;
    let bad = |reason: String| errors.corrupt(rec_offset, reason);
    if rec.len() < CENTRAL_LEN {
        return Err(bad(format!(
            "central directory ends inside entry {n} ({} of 46 bytes)",
            rec.len()
        )));
    }
    if le32(rec, 0) != CENTRAL_SIG {
        return Err(bad(format!(
            "entry {n}: signature {:#010x}, expected a central-directory header (0x02014b50)",
            le32(rec, 0)
        )));
    }
    let flags = le16(rec, 8);
    let method = le16(rec, 10);
    let crc32 = le32(rec, 16);
    let mut compressed_size = u64::from(le32(rec, 20));
    let mut size = u64::from(le32(rec, 24));
    let name_len = usize::from(le16(rec, 28));
    let extra_len = usize::from(le16(rec, 30));
    let comment_len = usize::from(le16(rec, 32));
    let mut local_offset = u64::from(le32(rec, 42));
    let total = CENTRAL_LEN + name_len + extra_len + comment_len;
    if rec.len() < total {
        return Err(bad(format!(
            "entry {n}: name, extra field and comment ({} bytes) run past the central directory",
            total - CENTRAL_LEN
        )));
    }
    let raw_name = &rec[CENTRAL_LEN..CENTRAL_LEN + name_len];
    let extra = &rec[CENTRAL_LEN + name_len..CENTRAL_LEN + name_len + extra_len];
    let name = decode_name(raw_name, flags);
    // Fields saturated at 0xFFFFFFFF come from the zip64 extra, in order.
    let mut fields = [&mut size, &mut compressed_size, &mut local_offset];
    read_zip64_extra(extra, &mut fields)
        .map_err(|reason| bad(format!("entry {n} ({name}): {reason}")))?;
    let local_offset = local_offset
        .checked_add(prefix)
        .ok_or_else(|| bad(format!("entry {n} ({name}): local header offset overflows")))?;
    let limit = local_offset
        .checked_add(LOCAL_LEN)
        .and_then(|x| x.checked_add(compressed_size));
    if limit.is_none_or(|end| end > cd_start) {
        return Err(bad(format!(
            "entry {n} ({name}): local header at offset {local_offset} with {compressed_size} bytes of data runs past the central directory at {cd_start}"
        )));
    }
    let entry = Entry {
        name,
        flags,
        method,
        crc32,
        compressed_size,
        size,
        local_offset,
        raw_record: rec[..total].to_vec(),
        // Both read from 16-bit fields.
        name_len: name_len as u16,
        extra_len: extra_len as u16,
    };
    Ok((entry, total))
}

/// Replaces each field saturated at 0xFFFFFFFF (size, compressed size, local header offset) by
/// the next 8 bytes of the zip64 extra field, in that order.
fn read_zip64_extra(extra: &[u8], fields: &mut [&mut u64; 3]) -> Result<(), String> {
    if !fields.iter().any(|f| **f == 0xFFFF_FFFF) {
        return Ok(());
    }
    let data = find_extra(extra, ZIP64_ID).ok_or_else(|| {
        "sizes or offset are 0xFFFFFFFF but there is no zip64 extra field".to_owned()
    })?;
    let mut pos = 0;
    for field in fields.iter_mut().filter(|f| ***f == 0xFFFF_FFFF) {
        if data.len() < pos + 8 {
            return Err(format!(
                "zip64 extra field of {} bytes is too short",
                data.len()
            ));
        }
        **field = le64(data, pos);
        pos += 8;
    }
    Ok(())
}

/// The data of the first extra field with `id`, if the field list is well formed up to it.
pub(crate) fn find_extra(extra: &[u8], id: u16) -> Option<&[u8]> {
    let mut at = 0;
    while extra.len() - at >= 4 {
        let field_id = le16(extra, at);
        let len = usize::from(le16(extra, at + 2));
        let data = extra.get(at + 4..at + 4 + len)?;
        if field_id == id {
            return Some(data);
        }
        at += 4 + len;
    }
    None
}

/// Names are UTF-8 with flag 11, else cp437, as Python's zipfile decodes them.
fn decode_name(raw: &[u8], flags: u16) -> String {
    // ASCII is ASCII in both encodings (and names are, nearly always): one copy.
    if flags & FLAG_UTF8 != 0 || raw.is_ascii() {
        return String::from_utf8_lossy(raw).into_owned();
    }
    raw.iter()
        .map(|&b| {
            if b < 0x80 {
                char::from(b)
            } else {
                CP437_HIGH[usize::from(b - 0x80)]
            }
        })
        .collect()
}

const CP437_HIGH: [char; 128] = [
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å', 'É', 'æ', 'Æ',
    'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', '¢', '£', '¥', '₧', 'ƒ', 'á', 'í', 'ó', 'ú', 'ñ', 'Ñ',
    'ª', 'º', '¿', '⌐', '¬', '½', '¼', '¡', '«', '»', '░', '▒', '▓', '│', '┤', '╡', '╢', '╖', '╕',
    '╣', '║', '╗', '╝', '╜', '╛', '┐', '└', '┴', '┬', '├', '─', '┼', '╞', '╟', '╚', '╔', '╩', '╦',
    '╠', '═', '╬', '╧', '╨', '╤', '╥', '╙', '╘', '╒', '╓', '╫', '╪', '┘', '┌', '█', '▄', '▌', '▐',
    '▀', 'α', 'ß', 'Γ', 'π', 'Σ', 'σ', 'µ', 'τ', 'Φ', 'Θ', 'Ω', 'δ', '∞', 'φ', 'ε', '∩', '≡', '±',
    '≥', '≤', '⌠', '⌡', '÷', '≈', '°', '∙', '·', '√', 'ⁿ', '²', '■', '\u{a0}',
];

/// A local header as read: where the member's data starts.
pub(crate) struct Local {
    pub data_start: u64,
}

/// Parses the local header at `entry.local_offset`, checking it against the directory entry and
/// against `limit` (the start of the central directory).
pub(crate) fn read_local<R: ReadAt + ?Sized>(
    file: &R,
    entry: &Entry,
    limit: u64,
) -> Result<Local, String> {
    let mut fixed = [0u8; LOCAL_LEN as usize];
    file.pread_exact(&mut fixed, entry.local_offset)
        .map_err(|e| format!("reading the local header: {e}"))?;
    if le32(&fixed, 0) != LOCAL_SIG {
        return Err(format!(
            "signature {:#010x} where the local header should be (0x04034b50)",
            le32(&fixed, 0)
        ));
    }
    let name_len = u64::from(le16(&fixed, 26));
    let extra_len = u64::from(le16(&fixed, 28));
    let data_start = entry.local_offset + LOCAL_LEN + name_len + extra_len;
    if data_start
        .checked_add(entry.compressed_size)
        .is_none_or(|end| end > limit)
    {
        return Err(format!(
            "the data at offset {data_start} ({} bytes) runs past the central directory at {limit}",
            entry.compressed_size
        ));
    }
    let mut name = vec![0u8; name_len as usize];
    file.pread_exact(&mut name, entry.local_offset + LOCAL_LEN)
        .map_err(|e| format!("reading the local header name: {e}"))?;
    if name != entry.raw_name() {
        return Err(format!(
            "the local header names {:?}, the directory {:?}",
            String::from_utf8_lossy(&name),
            entry.name
        ));
    }
    Ok(Local { data_start })
}

/// Builds a local header. Sizes are 0xFFFFFFFF with a zip64 extra holding the real ones (as
/// numpy's `force_zip64` writes); `pad` extra bytes of alignment padding follow (0 or ≥ 6).
pub(crate) fn local_header(
    name: &[u8],
    flags: u16,
    method: u16,
    crc32: u32,
    size: u64,
    compressed_size: u64,
    pad: usize,
) -> Vec<u8> {
    let extra_len = 20 + pad;
    let mut h = Vec::with_capacity(30 + name.len() + extra_len);
    h.extend_from_slice(&LOCAL_SIG.to_le_bytes());
    h.extend_from_slice(&VERSION_NEEDED.to_le_bytes());
    h.extend_from_slice(&flags.to_le_bytes());
    h.extend_from_slice(&method.to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes()); // time 00:00:00
    h.extend_from_slice(&DOS_DATE.to_le_bytes());
    h.extend_from_slice(&crc32.to_le_bytes());
    h.extend_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
    h.extend_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
    h.extend_from_slice(&(name.len() as u16).to_le_bytes());
    h.extend_from_slice(&(extra_len as u16).to_le_bytes());
    h.extend_from_slice(name);
    h.extend_from_slice(&ZIP64_ID.to_le_bytes());
    h.extend_from_slice(&16u16.to_le_bytes());
    h.extend_from_slice(&size.to_le_bytes());
    h.extend_from_slice(&compressed_size.to_le_bytes());
    if pad > 0 {
        debug_assert!(pad >= 6);
        h.extend_from_slice(&crate::format::ALIGNMENT_HEADER_ID.to_le_bytes());
        h.extend_from_slice(&((pad - 4) as u16).to_le_bytes());
        h.extend_from_slice(&(crate::format::ALIGNMENT as u16).to_le_bytes());
        h.resize(h.len() + pad - 6, 0);
    }
    h
}

/// Offset of the CRC-32 in a local header.
pub(crate) const LOCAL_CRC_AT: u64 = 14;

/// Padding (0 or 6..=69 bytes) that puts data at `data_offset_in_member` of a member whose local
/// header starts at `offset` with a name of `name_len` bytes on a multiple of the alignment.
pub(crate) fn alignment_padding(offset: u64, name_len: usize, header_len: u64) -> usize {
    let align = crate::format::ALIGNMENT;
    let unpadded = offset + LOCAL_LEN + name_len as u64 + 20 + header_len;
    let mut pad = ((align - unpadded % align) % align) as usize;
    if pad != 0 && pad < 6 {
        pad += align as usize;
    }
    pad
}

/// A member this writer will list in the central directory.
#[derive(Debug, Clone)]
pub(crate) struct NewEntry {
    pub name: Vec<u8>,
    pub flags: u16,
    pub method: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
    pub local_offset: u64,
    /// Extra fields besides zip64 (the seek index).
    pub extra: Vec<u8>,
}

impl NewEntry {
    /// The central-directory record, with a zip64 extra only for fields that need it.
    pub(crate) fn record(&self) -> Vec<u8> {
        let mut zip64 = Vec::new();
        let mut field = |value: u64| -> u32 {
            if value >= 0xFFFF_FFFF {
                zip64.extend_from_slice(&value.to_le_bytes());
                0xFFFF_FFFF
            } else {
                value as u32
            }
        };
        let size = field(self.size);
        let compressed = field(self.compressed_size);
        let offset = field(self.local_offset);
        let mut extra = Vec::new();
        if !zip64.is_empty() {
            extra.extend_from_slice(&ZIP64_ID.to_le_bytes());
            extra.extend_from_slice(&(zip64.len() as u16).to_le_bytes());
            extra.extend_from_slice(&zip64);
        }
        extra.extend_from_slice(&self.extra);
        let mut r = Vec::with_capacity(CENTRAL_LEN + self.name.len() + extra.len());
        r.extend_from_slice(&CENTRAL_SIG.to_le_bytes());
        r.extend_from_slice(&VERSION_MADE_BY.to_le_bytes());
        r.extend_from_slice(&VERSION_NEEDED.to_le_bytes());
        r.extend_from_slice(&self.flags.to_le_bytes());
        r.extend_from_slice(&self.method.to_le_bytes());
        r.extend_from_slice(&0u16.to_le_bytes());
        r.extend_from_slice(&DOS_DATE.to_le_bytes());
        r.extend_from_slice(&self.crc32.to_le_bytes());
        r.extend_from_slice(&compressed.to_le_bytes());
        r.extend_from_slice(&size.to_le_bytes());
        r.extend_from_slice(&(self.name.len() as u16).to_le_bytes());
        r.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        r.extend_from_slice(&0u16.to_le_bytes()); // comment
        r.extend_from_slice(&0u16.to_le_bytes()); // disk
        r.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        r.extend_from_slice(&EXTERNAL_ATTR.to_le_bytes());
        r.extend_from_slice(&offset.to_le_bytes());
        r.extend_from_slice(&self.name);
        r.extend_from_slice(&extra);
        r
    }
}

/// The end records for a central directory of `count` entries at `cd_offset`: a zip64 end
/// record and locator only when a field overflows, then the classic end record.
pub(crate) fn end_records(count: u64, cd_offset: u64, cd_size: u64, comment: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let zip64 = count >= 0xFFFF || cd_offset >= 0xFFFF_FFFF || cd_size >= 0xFFFF_FFFF;
    if zip64 {
        let record_offset = cd_offset + cd_size;
        out.extend_from_slice(&ZIP64_EOCD_SIG.to_le_bytes());
        out.extend_from_slice(&44u64.to_le_bytes());
        out.extend_from_slice(&VERSION_MADE_BY.to_le_bytes());
        out.extend_from_slice(&VERSION_NEEDED.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&cd_size.to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&ZIP64_LOCATOR_SIG.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&record_offset.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
    }
    let count16 = count.min(0xFFFF) as u16;
    out.extend_from_slice(&EOCD_SIG.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&count16.to_le_bytes());
    out.extend_from_slice(&count16.to_le_bytes());
    out.extend_from_slice(&(cd_size.min(0xFFFF_FFFF) as u32).to_le_bytes());
    out.extend_from_slice(&(cd_offset.min(0xFFFF_FFFF) as u32).to_le_bytes());
    out.extend_from_slice(&(comment.len() as u16).to_le_bytes());
    out.extend_from_slice(comment);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_aligns_and_is_a_valid_field() {
        for offset in 0..200u64 {
            for name_len in [1usize, 5, 9, 60] {
                let pad = alignment_padding(offset, name_len, 128);
                assert!(pad == 0 || (6..=69).contains(&pad));
                let h = local_header(&vec![b'a'; name_len], 0, 0, 0, 0, 0, pad);
                assert_eq!((offset + h.len() as u64 + 128) % 64, 0);
            }
        }
    }

    #[test]
    fn cp437_names() {
        assert_eq!(decode_name(b"a\x81b", 0), "aüb");
        assert_eq!(decode_name("ж".as_bytes(), FLAG_UTF8), "ж");
    }

    #[test]
    fn extra_fields_are_walked_safely() {
        let extra = [1, 0, 2, 0, 9, 9, 0x6e, 0x7a, 1, 0, 5];
        assert_eq!(find_extra(&extra, 1), Some(&[9u8, 9][..]));
        assert_eq!(find_extra(&extra, 0x7a6e), Some(&[5u8][..]));
        assert_eq!(find_extra(&extra[..10], 0x7a6e), None);
        assert_eq!(find_extra(&[1, 0, 200, 0], 1), None);
    }
}
