//! The byte layout of a pack: constants, the header, entry records and the index hash.
//!
//! The full specification, precise enough to write a reader in another language, follows.
//!
#![doc = include_str!("../FORMAT.md")]

use crate::error::ErrorKind;

/// The first 8 bytes of every pack: `"\x89FPACK\r\n"`.
///
/// ```
/// assert_eq!(&treepack::format::MAGIC[1..6], b"FPACK");
/// ```
pub const MAGIC: [u8; 8] = *b"\x89FPACK\r\n";

/// The format version this crate writes, as (major, minor). It reads every 1.x pack.
///
/// ```
/// assert_eq!(treepack::format::VERSION, (1, 1));
/// ```
pub const VERSION: (u16, u16) = (1, 1);

/// Size of the fixed header at offset 0 of a version 1.0 pack, and of the part of every header
/// that all 1.x readers understand.
///
/// ```
/// assert_eq!(treepack::format::HEADER_LEN, 128);
/// ```
pub const HEADER_LEN: u64 = 128;

/// Size of the header of a pack with a seeded index ([`FLAG_INDEX_SEED`]): the 128-byte header,
/// the seed and a checksum of both.
///
/// ```
/// assert_eq!(treepack::format::SEEDED_HEADER_LEN, 144);
/// ```
pub const SEEDED_HEADER_LEN: u64 = 144;

/// Flag bit 0 (a required flag): the hash index is keyed by the 64-bit seed at header offset
/// 128, so that names cannot be chosen to collide in it. Set by every pack this crate writes;
/// a reader that does not know it refuses the pack instead of looking paths up with the wrong
/// hash.
///
/// ```
/// assert_eq!(treepack::format::FLAG_INDEX_SEED, 1);
/// ```
pub const FLAG_INDEX_SEED: u32 = 1;

/// Size of one record of the entry table.
///
/// ```
/// assert_eq!(treepack::format::ENTRY_LEN, 64);
/// ```
pub const ENTRY_LEN: u64 = 64;

/// Size of one slot of the hash index.
///
/// ```
/// assert_eq!(treepack::format::SLOT_LEN, 8);
/// ```
pub const SLOT_LEN: u64 = 8;

/// The entry index of an empty index slot, and the parent of the root.
///
/// ```
/// assert_eq!(treepack::format::NO_ENTRY, u32::MAX);
/// ```
pub const NO_ENTRY: u32 = u32::MAX;

/// The largest alignment of file contents a pack may ask for.
///
/// ```
/// assert_eq!(treepack::format::MAX_ALIGNMENT, 4096);
/// ```
pub const MAX_ALIGNMENT: u32 = 4096;

/// The default alignment of file contents (what NPY data needs to be viewed in place).
///
/// ```
/// assert_eq!(treepack::format::DEFAULT_ALIGNMENT, 64);
/// ```
pub const DEFAULT_ALIGNMENT: u32 = 64;

/// The most entries a pack holds (indices are u32 and `u32::MAX` is reserved).
///
/// ```
/// assert_eq!(treepack::format::MAX_ENTRIES, u32::MAX as u64 - 1);
/// ```
pub const MAX_ENTRIES: u64 = u32::MAX as u64 - 1;

/// The most components a path in a pack may have (`a/b/c` has 3): deeper entries are refused
/// by the writer, [`PackBuilder`](crate::PackBuilder), [`Pack::verify`](crate::Pack::verify),
/// [`Pack::walk`](crate::Pack::walk) and extraction, with [`ErrorKind::TooDeep`] or
/// [`BuildError::TooDeep`](crate::BuildError::TooDeep). No code in this crate recurses on a
/// path's depth; the bound keeps every per-depth structure small. It is above anything an
/// operating system can create in one path (Linux's `PATH_MAX` of 4096 bytes holds at most 2048
/// components).
///
/// ```
/// assert_eq!(treepack::format::MAX_DEPTH, 4096);
/// ```
pub const MAX_DEPTH: usize = 4096;

/// The number of components of a normal path (0 for the root).
pub(crate) fn depth(path: &str) -> usize {
    if path.is_empty() {
        0
    } else {
        path.bytes().filter(|&b| b == b'/').count() + 1
    }
}

/// The largest `index_bits` a reader accepts.
pub(crate) const MAX_INDEX_BITS: u32 = 40;

/// Flag bits a reader must understand to read a pack.
pub(crate) const INCOMPATIBLE_FLAGS: u32 = 0x0000_ffff;

/// The required flags this reader knows.
pub(crate) const KNOWN_FLAGS: u32 = FLAG_INDEX_SEED;

/// The hash of a normalized path in the index of a pack without an index seed (version 1.0):
/// XXH3-64 with seed 0 of its UTF-8 bytes. The same as [`hash_path_seeded`] with seed 0.
///
/// ```
/// // The hash of the root (the empty path) is XXH3-64 of no bytes.
/// assert_eq!(treepack::format::hash_path(""), 0x2d06800538d394c2);
/// assert_eq!(treepack::format::hash_path_seeded("a/b", 0), treepack::format::hash_path("a/b"));
/// ```
pub fn hash_path(path: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(path.as_bytes())
}

/// The hash of a normalized path in the index of a pack whose header holds index seed `seed`
/// ([`PackHeader::index_seed`]): XXH3-64 with that seed of its UTF-8 bytes.
///
/// ```
/// use treepack::format::hash_path_seeded;
/// assert_ne!(hash_path_seeded("a/b", 1), hash_path_seeded("a/b", 2));
/// ```
pub fn hash_path_seeded(path: &str, seed: u64) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(path.as_bytes(), seed)
}

/// The checksum used for contents, targets and tables: XXH3-64 with seed 0.
///
/// ```
/// assert_eq!(treepack::format::checksum(b""), treepack::format::hash_path(""));
/// ```
pub fn checksum(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// The kind byte of an entry record.
pub(crate) const KIND_FILE: u8 = 0;
pub(crate) const KIND_DIR: u8 = 1;
pub(crate) const KIND_SYMLINK: u8 = 2;

/// The decoded header of a pack (see the table in this module's documentation).
///
/// ```
/// use treepack::{EntryMeta, Pack, PackWriter};
/// let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
/// w.add_bytes("a.txt", b"hello", EntryMeta::file()).unwrap();
/// let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
/// let h = pack.header();
/// assert_eq!(h.version, (1, 1));
/// assert_eq!(h.entry_count, 2); // the root and a.txt
/// assert_eq!(h.alignment, 64);
/// assert!(h.index_slots() > h.entry_count);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PackHeader {
    /// Format version (major, minor).
    pub version: (u16, u16),
    /// Flag bits.
    pub flags: u32,
    /// Length of the fixed header.
    pub header_len: u32,
    /// Alignment of file contents.
    pub alignment: u32,
    /// Length of the whole pack.
    pub file_len: u64,
    /// Entries, the root included.
    pub entry_count: u64,
    /// Start of the data region.
    pub data_offset: u64,
    /// Length of the data region.
    pub data_len: u64,
    /// Start of the entry table.
    pub entries_offset: u64,
    /// Start of the string table.
    pub strings_offset: u64,
    /// Length of the string table.
    pub strings_len: u64,
    /// Start of the directory table.
    pub dirs_offset: u64,
    /// Length of the directory table in bytes.
    pub dirs_len: u64,
    /// Start of the hash index.
    pub index_offset: u64,
    /// log2 of the number of index slots.
    pub index_bits: u32,
    /// Longest probe distance in the index.
    pub index_max_probe: u32,
    /// The seed of the index hash ([`hash_path_seeded`]); 0 in packs without
    /// [`FLAG_INDEX_SEED`] (version 1.0), whose index hashes with [`hash_path`].
    pub index_seed: u64,
    /// XXH3-64 of the bytes from `entries_offset` to the end.
    pub tables_checksum: u64,
    /// XXH3-64 of the first 120 header bytes.
    pub header_checksum: u64,
}

fn u16_at(b: &[u8; 128], off: usize) -> u16 {
    let mut x = [0u8; 2];
    x.copy_from_slice(&b[off..off + 2]);
    u16::from_le_bytes(x)
}

fn u32_at(b: &[u8; 128], off: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(x)
}

fn u64_at(b: &[u8; 128], off: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(x)
}

impl PackHeader {
    /// Number of slots in the hash index.
    ///
    /// ```
    /// # use treepack::{Pack, PackWriter};
    /// # let w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.header().index_slots(), 1 << pack.header().index_bits);
    /// ```
    pub fn index_slots(&self) -> u64 {
        1u64 << self.index_bits.min(63)
    }

    /// The hash of `path` in this pack's index.
    ///
    /// ```
    /// # use treepack::{Pack, PackWriter};
    /// # let w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// let h = pack.header();
    /// assert_eq!(h.hash_path("a"), treepack::format::hash_path_seeded("a", h.index_seed));
    /// ```
    pub fn hash_path(&self, path: &str) -> u64 {
        hash_path_seeded(path, self.index_seed)
    }

    /// Encodes the header (`header_len` bytes, 128 or 144), computing its checksums.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; self.header_len as usize];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..10].copy_from_slice(&self.version.0.to_le_bytes());
        b[10..12].copy_from_slice(&self.version.1.to_le_bytes());
        b[12..16].copy_from_slice(&self.flags.to_le_bytes());
        b[16..20].copy_from_slice(&self.header_len.to_le_bytes());
        b[20..24].copy_from_slice(&self.alignment.to_le_bytes());
        let u64s = [
            (24, self.file_len),
            (32, self.entry_count),
            (40, self.data_offset),
            (48, self.data_len),
            (56, self.entries_offset),
            (64, self.strings_offset),
            (72, self.strings_len),
            (80, self.dirs_offset),
            (88, self.dirs_len),
            (96, self.index_offset),
        ];
        for (off, v) in u64s {
            b[off..off + 8].copy_from_slice(&v.to_le_bytes());
        }
        b[104..108].copy_from_slice(&self.index_bits.to_le_bytes());
        b[108..112].copy_from_slice(&self.index_max_probe.to_le_bytes());
        b[112..120].copy_from_slice(&self.tables_checksum.to_le_bytes());
        let sum = checksum(&b[..120]);
        b[120..128].copy_from_slice(&sum.to_le_bytes());
        if self.flags & FLAG_INDEX_SEED != 0 && b.len() >= SEEDED_HEADER_LEN as usize {
            b[128..136].copy_from_slice(&self.index_seed.to_le_bytes());
            let sum = checksum(&b[..136]);
            b[136..144].copy_from_slice(&sum.to_le_bytes());
        }
        b
    }

    /// Decodes and validates a header against the real length of the file. Touches only the
    /// 128 header bytes.
    pub(crate) fn decode(bytes: &[u8], actual_len: u64) -> Result<PackHeader, ErrorKind> {
        let Some(b) = bytes.get(..128) else {
            let shown = &bytes[..bytes.len().min(8)];
            return Err(ErrorKind::NotAPack {
                reason: if bytes.len() >= 8 && bytes[..8] == MAGIC {
                    format!(
                        "truncated: {} bytes, shorter than the {HEADER_LEN}-byte header",
                        bytes.len()
                    )
                } else if bytes.is_empty() {
                    "the file is empty".to_owned()
                } else {
                    format!(
                        "{} bytes, shorter than the {HEADER_LEN}-byte header (starts with {shown:02x?})",
                        bytes.len()
                    )
                },
            });
        };
        let b: &[u8; 128] = b.try_into().map_err(|_| ErrorKind::corrupt(0, "header"))?;
        if b[..8] != MAGIC {
            return Err(ErrorKind::NotAPack {
                reason: format!(
                    "magic at offset 0 is {:02x?}, expected 89 46 50 41 43 4b 0d 0a (\"\\x89FPACK\\r\\n\")",
                    &b[..8]
                ),
            });
        }
        let version = (u16_at(b, 8), u16_at(b, 10));
        if version.0 != VERSION.0 {
            return Err(ErrorKind::NotAPack {
                reason: format!(
                    "format version {}.{} (this reader knows {}.x)",
                    version.0, version.1, VERSION.0
                ),
            });
        }
        let header_checksum = u64_at(b, 120);
        let computed = checksum(&b[..120]);
        if computed != header_checksum {
            return Err(ErrorKind::Checksum {
                what: "header".to_owned(),
                expected: header_checksum,
                actual: computed,
            });
        }
        let flags = u32_at(b, 12);
        let unknown = flags & INCOMPATIBLE_FLAGS & !KNOWN_FLAGS;
        if unknown != 0 {
            return Err(ErrorKind::NotAPack {
                reason: format!("unknown required flags {unknown:#06x} at offset 12"),
            });
        }
        let index_seed = if flags & FLAG_INDEX_SEED != 0 {
            let ext = bytes.get(..SEEDED_HEADER_LEN as usize).ok_or_else(|| {
                ErrorKind::corrupt(
                    128,
                    format!(
                        "a seeded index needs a {SEEDED_HEADER_LEN}-byte header; the file holds {} bytes",
                        bytes.len()
                    ),
                )
            })?;
            let stored = u64::from_le_bytes(ext[136..144].try_into().unwrap_or_default());
            let computed = checksum(&ext[..136]);
            if computed != stored {
                return Err(ErrorKind::Checksum {
                    what: "header (index seed)".to_owned(),
                    expected: stored,
                    actual: computed,
                });
            }
            u64::from_le_bytes(ext[128..136].try_into().unwrap_or_default())
        } else {
            0
        };
        let h = PackHeader {
            version,
            flags,
            header_len: u32_at(b, 16),
            alignment: u32_at(b, 20),
            file_len: u64_at(b, 24),
            entry_count: u64_at(b, 32),
            data_offset: u64_at(b, 40),
            data_len: u64_at(b, 48),
            entries_offset: u64_at(b, 56),
            strings_offset: u64_at(b, 64),
            strings_len: u64_at(b, 72),
            dirs_offset: u64_at(b, 80),
            dirs_len: u64_at(b, 88),
            index_offset: u64_at(b, 96),
            index_bits: u32_at(b, 104),
            index_max_probe: u32_at(b, 108),
            index_seed,
            tables_checksum: u64_at(b, 112),
            header_checksum,
        };
        h.validate(actual_len)?;
        Ok(h)
    }

    fn validate(&self, actual_len: u64) -> Result<(), ErrorKind> {
        let expected_len = if self.flags & FLAG_INDEX_SEED != 0 {
            SEEDED_HEADER_LEN
        } else {
            HEADER_LEN
        };
        if u64::from(self.header_len) != expected_len {
            return Err(ErrorKind::corrupt(
                16,
                format!(
                    "header length {} (expected {expected_len})",
                    self.header_len
                ),
            ));
        }
        if !self.alignment.is_power_of_two() || self.alignment > MAX_ALIGNMENT {
            return Err(ErrorKind::corrupt(
                20,
                format!(
                    "alignment {} is not a power of two up to {MAX_ALIGNMENT}",
                    self.alignment
                ),
            ));
        }
        if self.file_len != actual_len {
            return Err(ErrorKind::corrupt(
                24,
                format!(
                    "the header records a {}-byte pack but the file holds {actual_len} bytes ({})",
                    self.file_len,
                    if actual_len < self.file_len {
                        "truncated"
                    } else {
                        "extended"
                    }
                ),
            ));
        }
        if self.entry_count == 0 || self.entry_count > MAX_ENTRIES {
            return Err(ErrorKind::corrupt(
                32,
                format!("entry count {} out of range", self.entry_count),
            ));
        }
        if self.index_bits > MAX_INDEX_BITS || (1u64 << self.index_bits) <= self.entry_count {
            return Err(ErrorKind::corrupt(
                104,
                format!(
                    "index of 2^{} slots for {} entries",
                    self.index_bits, self.entry_count
                ),
            ));
        }
        if u64::from(self.index_max_probe) >= self.index_slots() {
            return Err(ErrorKind::corrupt(
                108,
                format!(
                    "index max probe {} for {} slots",
                    self.index_max_probe,
                    self.index_slots()
                ),
            ));
        }
        if !self.data_offset.is_multiple_of(u64::from(self.alignment)) {
            return Err(ErrorKind::corrupt(
                40,
                format!(
                    "data offset {} is not a multiple of the alignment",
                    self.data_offset
                ),
            ));
        }
        // (field offset, region start, region length, name)
        let entries_len = self.entry_count.checked_mul(ENTRY_LEN);
        let index_len = self.index_slots().checked_mul(SLOT_LEN);
        let regions = [
            (40, self.data_offset, Some(self.data_len), "data region"),
            (56, self.entries_offset, entries_len, "entry table"),
            (
                64,
                self.strings_offset,
                Some(self.strings_len),
                "string table",
            ),
            (80, self.dirs_offset, Some(self.dirs_len), "directory table"),
            (96, self.index_offset, index_len, "hash index"),
        ];
        let mut end = expected_len;
        for (field, start, len, name) in regions {
            let region_end = len.and_then(|len| start.checked_add(len));
            match region_end {
                Some(region_end) if start >= end && region_end <= actual_len => end = region_end,
                _ => {
                    return Err(ErrorKind::corrupt(
                        field,
                        format!(
                            "the {name} at {start} (length {}) overlaps the previous region (ending at {end}) or passes the end of the file ({actual_len})",
                            len.map_or_else(|| "overflowing".to_owned(), |l| l.to_string()),
                        ),
                    ));
                }
            }
        }
        if end != actual_len {
            return Err(ErrorKind::corrupt(
                96,
                format!("the hash index ends at {end}, not at the end of the file ({actual_len})"),
            ));
        }
        if !self.dirs_len.is_multiple_of(4) {
            return Err(ErrorKind::corrupt(
                88,
                format!(
                    "directory table length {} is not a multiple of 4",
                    self.dirs_len
                ),
            ));
        }
        Ok(())
    }
}

/// A decoded entry record, fields as stored.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawEntry {
    pub path_offset: u64,
    pub path_len: u32,
    pub parent: u32,
    pub kind: u8,
    pub mode: u32,
    pub mtime_secs: i64,
    pub mtime_nanos: u32,
    pub a: u64,
    pub b: u64,
    pub checksum: u64,
}

impl RawEntry {
    pub(crate) fn encode(&self) -> [u8; 64] {
        let mut r = [0u8; 64];
        r[0..8].copy_from_slice(&self.path_offset.to_le_bytes());
        r[8..12].copy_from_slice(&self.path_len.to_le_bytes());
        r[12..16].copy_from_slice(&self.parent.to_le_bytes());
        r[16] = self.kind;
        r[20..24].copy_from_slice(&self.mode.to_le_bytes());
        r[24..32].copy_from_slice(&self.mtime_secs.to_le_bytes());
        r[32..36].copy_from_slice(&self.mtime_nanos.to_le_bytes());
        r[40..48].copy_from_slice(&self.a.to_le_bytes());
        r[48..56].copy_from_slice(&self.b.to_le_bytes());
        r[56..64].copy_from_slice(&self.checksum.to_le_bytes());
        r
    }

    pub(crate) fn decode(r: &[u8; 64]) -> RawEntry {
        let u64_at = |o: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&r[o..o + 8]);
            u64::from_le_bytes(x)
        };
        let u32_at = |o: usize| {
            let mut x = [0u8; 4];
            x.copy_from_slice(&r[o..o + 4]);
            u32::from_le_bytes(x)
        };
        RawEntry {
            path_offset: u64_at(0),
            path_len: u32_at(8),
            parent: u32_at(12),
            kind: r[16],
            mode: u32_at(20),
            mtime_secs: u64_at(24) as i64,
            mtime_nanos: u32_at(32),
            a: u64_at(40),
            b: u64_at(48),
            checksum: u64_at(56),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_roundtrip() {
        let e = RawEntry {
            path_offset: 1,
            path_len: 2,
            parent: 3,
            kind: 2,
            mode: 0o755,
            mtime_secs: -5,
            mtime_nanos: 999,
            a: 7,
            b: 8,
            checksum: u64::MAX,
        };
        let d = RawEntry::decode(&e.encode());
        assert_eq!(format!("{e:?}"), format!("{d:?}"));
    }
}
