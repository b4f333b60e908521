//! Stored access-point indexes (`npz index`): the bytes of an index, of its locator (a
//! central-directory extra field) and of a sidecar file, encoded and decoded with every field
//! checked. The layout is documented in [`format`](crate::format#stored-access-point-indexes).
//!
//! Decoding never trusts a count or an offset before comparing it with the bytes that hold it:
//! a malformed index decodes to `None` (it is then ignored, as a stale one is), never to a
//! panic or an allocation larger than the bytes read.

use crate::format::{ACCESS_INDEX_MAGIC, ACCESS_INDEX_SIDECAR_MAGIC};

/// Version of the locator field, the index and the sidecar.
pub(crate) const VERSION: u8 = 1;
/// Window coding: raw deflate.
pub(crate) const CODING_DEFLATE: u8 = 8;
/// Bytes of the locator field's data.
pub(crate) const LOCATOR_LEN: usize = 17;
/// Bytes of an index's footer.
pub(crate) const FOOTER_LEN: usize = 56;
/// Bytes of one point in the point table.
pub(crate) const POINT_LEN: usize = 27;
/// Bytes of a sidecar's footer.
pub(crate) const SIDECAR_FOOTER_LEN: usize = 32;
/// Deflate's window: a point's window holds the last `min(out, WINDOW)` bytes before it.
pub(crate) const WINDOW: u64 = 32 << 10;
/// The longest packed window accepted: raw deflate never needs more than a few bytes over the
/// input's length (stored blocks), so anything longer is not a window this crate wrote.
pub(crate) const MAX_PACKED: u32 = WINDOW as u32 + 1024;

/// Where a member's index lies: the data of its locator field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Locator {
    /// Offset of the index, counted as local-header offsets are (from the first member).
    pub offset: u64,
    /// Length of the index, footer included.
    pub len: u64,
}

impl Locator {
    pub(crate) fn encode(&self) -> [u8; LOCATOR_LEN] {
        let mut out = [0u8; LOCATOR_LEN];
        out[0] = VERSION;
        out[1..9].copy_from_slice(&self.offset.to_le_bytes());
        out[9..17].copy_from_slice(&self.len.to_le_bytes());
        out
    }

    /// `None` for another version or a malformed field (ignored: a newer writer's index).
    pub(crate) fn decode(data: &[u8]) -> Option<Locator> {
        if data.len() != LOCATOR_LEN || data[0] != VERSION {
            return None;
        }
        Some(Locator {
            offset: le64(data, 1),
            len: le64(data, 9),
        })
    }
}

/// What an index says about the member it indexes; it is used only when all four match the
/// member's central-directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Identity {
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
    /// The local header's offset as the directory gives it (without prepended data).
    pub local_offset: u64,
}

/// One access point as stored: where to resume and where its packed window is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PointRecord {
    /// Uncompressed offset within the member.
    pub out: u64,
    /// Offset within the compressed data of the first byte not wholly consumed.
    pub input: u64,
    /// Bits of the byte before `input` still to be decoded (0..=7): the point's bit offset is
    /// `8 * input - bits`.
    pub bits: u8,
    /// Bytes of window (`min(out, 32 KiB)`).
    pub window_len: u16,
    /// Bytes of the packed (raw-deflated) window.
    pub packed_len: u32,
    /// CRC-32 of the window.
    pub window_crc: u32,
}

impl PointRecord {
    /// The point's bit offset within the compressed data (saturated: a point is checked to
    /// lie inside its member before its bit offset is compared).
    pub(crate) fn bit_offset(&self) -> u64 {
        self.input
            .saturating_mul(8)
            .saturating_sub(u64::from(self.bits))
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.out.to_le_bytes());
        out.extend_from_slice(&self.input.to_le_bytes());
        out.push(self.bits);
        out.extend_from_slice(&self.window_len.to_le_bytes());
        out.extend_from_slice(&self.packed_len.to_le_bytes());
        out.extend_from_slice(&self.window_crc.to_le_bytes());
    }

    fn decode(b: &[u8]) -> PointRecord {
        PointRecord {
            out: le64(b, 0),
            input: le64(b, 8),
            bits: b[16],
            window_len: u16::from_le_bytes([b[17], b[18]]),
            packed_len: le32(b, 19),
            window_crc: le32(b, 23),
        }
    }
}

/// A decoded index: its points, and where each packed window starts (relative to the index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Table {
    pub identity: Identity,
    pub span: u64,
    pub points: Vec<PointRecord>,
    /// `window_at[i]`: offset of point `i`'s packed window from the start of the index.
    pub window_at: Vec<u64>,
}

/// The point table and footer that end an index whose packed windows come first.
pub(crate) fn encode_tail(identity: &Identity, span: u64, points: &[PointRecord]) -> Vec<u8> {
    let mut out = Vec::with_capacity(points.len() * POINT_LEN + FOOTER_LEN);
    for p in points {
        p.encode(&mut out);
    }
    out.extend_from_slice(&ACCESS_INDEX_MAGIC);
    out.push(VERSION);
    out.push(CODING_DEFLATE);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&identity.crc32.to_le_bytes());
    out.extend_from_slice(&identity.compressed_size.to_le_bytes());
    out.extend_from_slice(&identity.size.to_le_bytes());
    out.extend_from_slice(&identity.local_offset.to_le_bytes());
    out.extend_from_slice(&span.to_le_bytes());
    out.extend_from_slice(&(points.len() as u32).to_le_bytes());
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The footer of an index of `len` bytes: its point count, checked against `len`. `footer`
/// holds the index's last [`FOOTER_LEN`] bytes.
pub(crate) fn footer_count(footer: &[u8], len: u64) -> Option<u32> {
    if footer.len() != FOOTER_LEN || footer[..8] != ACCESS_INDEX_MAGIC {
        return None;
    }
    if footer[8] != VERSION || footer[9] != CODING_DEFLATE {
        return None;
    }
    let n = le32(footer, 48);
    // The table lies inside the index: a count that does not fit is refused before any
    // allocation it would size.
    let table = u64::from(n).checked_mul(POINT_LEN as u64)?;
    (table.checked_add(FOOTER_LEN as u64)? <= len).then_some(n)
}

/// Decodes an index of `len` bytes from its tail (`tail`: the point table and the footer, as
/// [`footer_count`] sized it) and checks every point against the member it claims. `None` for
/// anything malformed or inconsistent.
pub(crate) fn decode_tail(tail: &[u8], len: u64) -> Option<Table> {
    let footer = tail.get(tail.len().checked_sub(FOOTER_LEN)?..)?;
    let n = footer_count(footer, len)? as usize;
    if tail.len() != n * POINT_LEN + FOOTER_LEN {
        return None;
    }
    if crc32fast::hash(&tail[..tail.len() - 4]) != le32(footer, 52) {
        return None;
    }
    let identity = Identity {
        crc32: le32(footer, 12),
        compressed_size: le64(footer, 16),
        size: le64(footer, 24),
        local_offset: le64(footer, 32),
    };
    let span = le64(footer, 40);
    let windows_len = len - tail.len() as u64;
    let mut points = Vec::with_capacity(n);
    let mut window_at = Vec::with_capacity(n);
    let mut at = 0u64;
    let mut prev: Option<PointRecord> = None;
    for i in 0..n {
        let p = PointRecord::decode(&tail[i * POINT_LEN..(i + 1) * POINT_LEN]);
        check_point(&p, prev.as_ref(), &identity)?;
        window_at.push(at);
        at = at.checked_add(u64::from(p.packed_len))?;
        if at > windows_len {
            return None;
        }
        points.push(p);
        prev = Some(p);
    }
    // The windows fill the space before the table exactly.
    (at == windows_len).then_some(Table {
        identity,
        span,
        points,
        window_at,
    })
}

/// A point is inside its member, after the one before it, and has a whole window.
fn check_point(p: &PointRecord, prev: Option<&PointRecord>, id: &Identity) -> Option<()> {
    let inside = p.out > 0 && p.out < id.size && p.input <= id.compressed_size;
    let bits_ok = p.bits <= 7 && (p.bits == 0 || p.input > 0);
    let window_ok = u64::from(p.window_len) == p.out.min(WINDOW)
        && p.packed_len > 0
        && p.packed_len <= MAX_PACKED;
    let ordered = || prev.is_none_or(|q| p.out > q.out && p.bit_offset() > q.bit_offset());
    (inside && bits_ok && window_ok && ordered()).then_some(())
}

/// One entry of a sidecar: a member's name and where its index lies in the sidecar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SidecarEntry {
    pub name: Vec<u8>,
    pub locator: Locator,
}

/// The entry table and footer that end a sidecar whose indexes come first.
pub(crate) fn encode_sidecar_tail(entries: &[SidecarEntry]) -> Vec<u8> {
    let mut table = Vec::new();
    for e in entries {
        table.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
        table.extend_from_slice(&e.name);
        table.extend_from_slice(&e.locator.offset.to_le_bytes());
        table.extend_from_slice(&e.locator.len.to_le_bytes());
    }
    let crc = crc32fast::hash(&table);
    let table_len = table.len() as u64;
    table.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    table.extend_from_slice(&table_len.to_le_bytes());
    table.extend_from_slice(&crc.to_le_bytes());
    table.push(VERSION);
    table.extend_from_slice(&[0; 7]);
    table.extend_from_slice(&ACCESS_INDEX_SIDECAR_MAGIC);
    table
}

/// The length of a sidecar's entry table, from its footer (its last [`SIDECAR_FOOTER_LEN`]
/// bytes), checked against the file's length.
pub(crate) fn sidecar_table_len(footer: &[u8], file_len: u64) -> Option<u64> {
    if footer.len() != SIDECAR_FOOTER_LEN || footer[24..] != ACCESS_INDEX_SIDECAR_MAGIC {
        return None;
    }
    if footer[16] != VERSION {
        return None;
    }
    let table_len = le64(footer, 4);
    (table_len.checked_add(SIDECAR_FOOTER_LEN as u64)? <= file_len).then_some(table_len)
}

/// Decodes a sidecar's entry table (`table`, sized by [`sidecar_table_len`]) with its footer;
/// every index must lie before the table.
pub(crate) fn decode_sidecar_table(table: &[u8], footer: &[u8]) -> Option<Vec<SidecarEntry>> {
    let count = le32(footer, 0) as usize;
    if crc32fast::hash(table) != le32(footer, 12) {
        return None;
    }
    let limit = table.len(); // the entries must end exactly there
    // Each entry takes at least 18 bytes: the count is bounded by the table before use.
    if count > limit / 18 {
        return None;
    }
    let mut entries = Vec::with_capacity(count);
    let mut at = 0usize;
    for _ in 0..count {
        let name_len = usize::from(u16::from_le_bytes([*table.get(at)?, *table.get(at + 1)?]));
        let rec = table.get(at + 2..at + 2 + name_len + 16)?;
        entries.push(SidecarEntry {
            name: rec[..name_len].to_vec(),
            locator: Locator {
                offset: le64(rec, name_len),
                len: le64(rec, name_len + 8),
            },
        });
        at += 2 + name_len + 16;
    }
    (at == limit).then_some(entries)
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn identity() -> Identity {
        Identity {
            crc32: 0xdead_beef,
            compressed_size: 1 << 20,
            size: 8 << 20,
            local_offset: 0,
        }
    }

    fn point(out: u64, input: u64, bits: u8, packed_len: u32) -> PointRecord {
        PointRecord {
            out,
            input,
            bits,
            window_len: out.min(WINDOW) as u16,
            packed_len,
            window_crc: 7,
        }
    }

    /// An index of `points` with windows of the lengths they claim (zeros).
    fn index_bytes(points: &[PointRecord]) -> Vec<u8> {
        let windows: u64 = points.iter().map(|p| u64::from(p.packed_len)).sum();
        let mut bytes = vec![0u8; windows as usize];
        bytes.extend(encode_tail(&identity(), 2 << 20, points));
        bytes
    }

    fn decode(bytes: &[u8]) -> Option<Table> {
        let len = bytes.len() as u64;
        let n = footer_count(&bytes[bytes.len().checked_sub(FOOTER_LEN)?..], len)? as usize;
        decode_tail(&bytes[bytes.len() - n * POINT_LEN - FOOTER_LEN..], len)
    }

    #[test]
    fn an_index_round_trips() {
        let points = [
            point(2 << 20, 300_000, 3, 9000),
            point(4 << 20, 600_000, 0, 100),
        ];
        let table = decode(&index_bytes(&points)).unwrap();
        assert_eq!(table.points, points);
        assert_eq!(table.window_at, vec![0, 9000]);
        assert_eq!(table.identity, identity());
        assert_eq!(table.span, 2 << 20);
    }

    #[test]
    fn crafted_points_are_refused() {
        let good = point(2 << 20, 300_000, 3, 9000);
        let cases = [
            point(9 << 20, 300_000, 3, 9000),           // past the member's end
            point(2 << 20, 2 << 20, 3, 9000),           // past the compressed data
            point(2 << 20, 300_000, 8, 9000),           // a bit offset over 7
            point(2 << 20, 300_000, 3, MAX_PACKED + 1), // a window too long to be one
            PointRecord {
                window_len: 100,
                ..good
            }, // a window too short
            point(2 << 20, 0, 3, 9000),                 // bits before the first byte
        ];
        for bad in cases {
            assert_eq!(decode(&index_bytes(&[bad])), None, "{bad:?}");
        }
        // Out of order.
        assert_eq!(
            decode(&index_bytes(&[good, point(1 << 20, 400_000, 0, 1)])),
            None
        );
        // A window length that the bytes do not hold.
        let mut bytes = index_bytes(&[good]);
        bytes.remove(0);
        assert_eq!(decode(&bytes), None);
    }

    #[test]
    fn a_huge_count_is_refused_before_allocating() {
        let mut bytes = index_bytes(&[point(2 << 20, 300_000, 3, 10)]);
        let at = bytes.len() - FOOTER_LEN + 48;
        bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let footer = &bytes[bytes.len() - FOOTER_LEN..];
        assert_eq!(footer_count(footer, bytes.len() as u64), None);
    }

    #[test]
    fn a_sidecar_table_round_trips() {
        let entries = vec![
            SidecarEntry {
                name: b"adc.npy".to_vec(),
                locator: Locator {
                    offset: 0,
                    len: 500,
                },
            },
            SidecarEntry {
                name: b"b.npy".to_vec(),
                locator: Locator {
                    offset: 500,
                    len: 70,
                },
            },
        ];
        let tail = encode_sidecar_tail(&entries);
        let file_len = 570 + tail.len() as u64;
        let footer = &tail[tail.len() - SIDECAR_FOOTER_LEN..];
        let table_len = sidecar_table_len(footer, file_len).unwrap() as usize;
        assert_eq!(table_len, tail.len() - SIDECAR_FOOTER_LEN);
        assert_eq!(
            decode_sidecar_table(&tail[..table_len], footer),
            Some(entries)
        );
        assert_eq!(sidecar_table_len(footer, 10), None);
    }

    #[test]
    fn locators_round_trip() {
        let l = Locator {
            offset: 12345,
            len: 678,
        };
        assert_eq!(Locator::decode(&l.encode()), Some(l));
        let mut other = l.encode();
        other[0] = 2;
        assert_eq!(Locator::decode(&other), None);
        assert_eq!(Locator::decode(&other[..5]), None);
    }

    proptest! {
        /// Any bytes, and any single-byte change of a good index, decode without a panic; a
        /// change inside the table or footer is caught by its CRC.
        #[test]
        fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode(&bytes);
            if bytes.len() >= SIDECAR_FOOTER_LEN {
                let footer = &bytes[bytes.len() - SIDECAR_FOOTER_LEN..];
                if let Some(t) = sidecar_table_len(footer, bytes.len() as u64) {
                    let start = bytes.len() - SIDECAR_FOOTER_LEN - t as usize;
                    let _ = decode_sidecar_table(&bytes[start..bytes.len() - SIDECAR_FOOTER_LEN], footer);
                }
            }
        }

        #[test]
        fn a_changed_tail_byte_is_refused(at in 0usize..(2 * POINT_LEN + FOOTER_LEN), bit in 0u8..8) {
            let mut bytes = index_bytes(&[point(2 << 20, 300_000, 3, 9), point(4 << 20, 600_000, 1, 5)]);
            let i = bytes.len() - 2 * POINT_LEN - FOOTER_LEN + at;
            bytes[i] ^= 1 << bit;
            prop_assert_eq!(decode(&bytes), None);
        }
    }
}
