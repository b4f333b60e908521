//! The bytes this crate writes, and why numpy, Python's `zipfile` and `unzip` accept them.
//!
//! # Members
//!
//! Every member is named `KEY.npy` and holds a complete `.npy` file. Like numpy's `savez`, every
//! local header is zip64: version needed 4.5, flags 0 (bit 11 when the name is not ASCII), DOS
//! time 0 and date 1980-01-01, both 32-bit sizes `0xFFFFFFFF` and a 20-byte zip64 extra field
//! (`01 00 10 00`, u64 size, u64 compressed size) whose values, and the CRC-32, are patched in
//! place when the member is finished. No data descriptors. The central directory carries a
//! zip64 extra only for fields that overflow 32 bits, and zip64 end records only when needed.
//!
//! # Aligned stored members
//!
//! A stored member's local header ends with one more extra field that pads the header so the
//! *array data* (after the NPY header, whose length is a multiple of 64) starts on a multiple
//! of [`ALIGNMENT`] in the file:
//!
//! ```text
//! 1e a1        header ID 0xa11e ("data stream alignment", as the zip crate and
//!              Apache Commons Compress write it)
//! LL LL        data length = padding - 4
//! 40 00        the alignment, 64
//! 00 ...       padding - 6 zero bytes
//! ```
//!
//! The field is 6 to 69 bytes long (or absent when no padding is needed). Readers skip extra
//! fields they do not know, so numpy never sees it; [`NpzReader::view`](crate::NpzReader::view)
//! then maps the data zero-copy.
//!
//! # Seekable deflated members
//!
//! A deflated member is one ordinary raw-deflate stream, laid out as:
//!
//! 1. the NPY header as *stored* deflate blocks (`00`, u16 length, its complement, the bytes;
//!    one block per 65535 bytes). Its compressed length does not depend on its content, so a
//!    streaming member's header is rewritten in place, with the final frame count, when the
//!    member is finished. numpy's header always leaves room for 21 digits, so its length does
//!    not change.
//! 2. the array data cut into chunks of about [`WriterOptions::chunk_size`] bytes
//!    (1 MiB by default) at frame boundaries. Each chunk is compressed by a fresh compressor
//!    and ends with a full flush (an empty stored block, `00 00 ff ff`), so each starts on a
//!    byte boundary with an empty window: chunks are compressed in parallel, and a reader can
//!    start inflating at any chunk. The last chunk ends with a final block.
//!
//! The start of every chunk, as (uncompressed offset, compressed offset) pairs counted from the
//! start of the member, is listed in the member's **central-directory** extra field with the
//! private header ID [`INDEX_HEADER_ID`] (`6e 7a`, "nz"). numpy, `zipfile` and `unzip` skip
//! extra fields they do not know. The field's data:
//!
//! ```text
//! 01           format version 1
//! CC CC CC CC  CRC-32 of the member (u32 LE): the index is ignored unless it matches the
//!              directory's CRC-32 and compressed size, so a stale copy of the field in an
//!              archive rewritten by another tool is never trusted
//! varint       compressed size of the member
//! varint       number of points N
//! N × (varint, varint)
//!              each point's uncompressed and compressed offsets as differences from the
//!              previous point (the first from 0, 0); both strictly increase
//! ```
//!
//! The first point is the end of the header's stored blocks (the NPY header's length, and that
//! plus 5 bytes per stored block): a reader ignores an index whose first point is elsewhere,
//! and does not start inflating at a later point whose compressed offset does not follow a full
//! flush (`00 00 ff ff`). The field has no checksum of its own, so a corrupt uncompressed
//! offset of a later point is not detected: partial reads are not CRC-checked.
//!
//! Varints are unsigned LEB128 (7 bits a byte, low bits first). An extra field holds at most
//! 65535 bytes; a member with more points than fit (over ~10 GiB at 1 MiB chunks) keeps every
//! k-th point, so the index always fits and reads stay proportional to k chunks.
//!
//! Members of archives written by other tools (numpy's `savez_compressed`) have no seek index:
//! they are read by inflating from the start, through a zran-style index built in memory
//! ([`NpzReader::build_index`](crate::NpzReader::build_index)), or through an access-point
//! index stored by `npz index` (next section).
//!
//! ```
//! assert_eq!(npz_stream::format::INDEX_HEADER_ID.to_le_bytes(), *b"nz");
//! assert_eq!(npz_stream::format::ALIGNMENT, 64);
//! ```
//!
//! # Stored access-point indexes
//!
//! [`index`](crate::index) (`npz index FILE [KEY...]`) makes the deflated members of archives
//! that other tools wrote (numpy's `savez_compressed`: one deflate stream, no flush points)
//! seekable without rewriting them. One inflate pass over a member records an *access point*
//! at the first deflate block boundary after every [`IndexOptions::span`] bytes of output
//! (2 MiB by default): the bit offset where the next block starts and the 32 KiB of output
//! before it (the window deflate may refer back to), as zlib's `zran.c` does. A reader
//! resumes inflating at the point latest before the frames it wants, so a read costs at most
//! one span of inflation. The windows are stored raw-deflated: the index takes about
//! 32 KiB / span of the member's compressed size (1.6% at 2 MiB), whatever the data.
//!
//! ## Where the index is
//!
//! Not as a member, which numpy would list as a key: the index goes *between the last member's
//! data and the central directory*, bytes that numpy, `zipfile` and `unzip` never look at (no
//! entry points at them), and the member's **central-directory** entry gets an extra field
//! with the private header ID [`ACCESS_INDEX_ID`] (`6e 78`, "nx") that says where it is:
//!
//! ```text
//! 01           version 1 (a reader ignores a field of another version)
//! u64          offset of the index, counted as local-header offsets are
//! u64          length of the index, footer included
//! ```
//!
//! The index is written the way appends are (see [Appending](#appending)): after the old end
//! records, followed by a new central directory (the old records verbatim, but for the extra
//! field of each indexed member) and new end records. No byte of the old archive is
//! overwritten, and the new end records are the last bytes written, after the index is synced:
//! until that write the old end records describe the complete old archive, so a failure leaves
//! the old archive (the indexer cuts its bytes off again) and a kill leaves the old archive
//! followed by bytes that [`NpzReader`](crate::NpzReader) skips and [`recover`](crate::recover)
//! removes.
//!
//! With [`IndexOptions::sidecar`] (`--sidecar`, for archives that cannot be written) the
//! indexes go to a file beside the archive, [`index_sidecar_path`](crate::index_sidecar_path)
//! (`FILE.idx`), created by writing a temporary file and renaming it. A reader looks there for
//! members that have no index in the archive.
//!
//! ## The index
//!
//! All integers little-endian. The packed windows come first (so the indexer streams them to
//! the file as the pass finds them), the point table and footer last:
//!
//! ```text
//! windows      each point's window, raw deflate, in point order, back to back
//! N × 27       the point table, one record per point:
//!   u64          uncompressed offset of the point within the member (strictly increasing)
//!   u64          offset within the member's compressed data of the first byte not wholly
//!                decoded at the point
//!   u8           bits of the byte before it still to be decoded, 0..=7: the point's bit
//!                offset is 8 × offset − bits (strictly increasing)
//!   u16          window length: min(uncompressed offset, 32768)
//!   u32          packed window length (1..=33792)
//!   u32          CRC-32 of the window
//! footer, 56 bytes:
//!   8 bytes      magic "NPZ-ZRAN" (ACCESS_INDEX_MAGIC)
//!   u8           version 1
//!   u8           window coding: 8 = raw deflate
//!   2 bytes      reserved, 0
//!   u32          CRC-32 of the member    \
//!   u64          compressed size          | the member indexed: the index is ignored unless
//!   u64          uncompressed size        | all four equal its central-directory entry's
//!   u64          local header offset     /
//!   u64          span the index was built with (informational)
//!   u32          number of points N
//!   u32          CRC-32 of the point table and the footer before this field
//! ```
//!
//! A reader takes an index only if the footer's magic, version and CRC check out, the table
//! fits the index, every point lies inside the member after the one before it with
//! `bits ≤ 7` and a window of the right length, the packed windows fill the space before the
//! table exactly, the index lies between the member's data and the central directory, and the
//! member identity matches (so an archive rewritten by numpy or another tool, which may copy
//! the extra field but not the index, never uses a stale one). Otherwise the index is ignored
//! and the member read as if it had none. A window is used only if it inflates to exactly its
//! length with its CRC-32. Counts are compared with the bytes that hold them before anything
//! is allocated.
//!
//! ## The sidecar file
//!
//! ```text
//! indexes      one index (as above) per member, back to back
//! entries      per member: u16 name length, the member's raw name, u64 offset of its index
//!              in this file, u64 its length
//! footer, 32 bytes:
//!   u32          number of entries
//!   u64          length of the entries
//!   u32          CRC-32 of the entries
//!   u8           version 1, then 7 reserved bytes (0)
//!   8 bytes      magic "NPZ-ZIDX" (ACCESS_INDEX_SIDECAR_MAGIC)
//! ```
//!
//! ```
//! assert_eq!(npz_stream::format::ACCESS_INDEX_ID.to_le_bytes(), *b"nx");
//! assert_eq!(&npz_stream::format::ACCESS_INDEX_MAGIC, b"NPZ-ZRAN");
//! ```
//!
//! # Appending
//!
//! An append never overwrites a byte of the archive it starts from. The new members go
//! *after* the old end records, then a new central directory (the old entries verbatim, then
//! the new ones) and new end records at the very end:
//!
//! ```text
//! [old members][old directory][old end records][new members][new directory][new end records]
//!              '------ dead bytes, which no entry or end record points at ------'
//! ```
//!
//! Every zip reader finds the end record by scanning back from the end of the file and reads
//! members at the offsets the directory gives, so the dead bytes in the middle are never
//! looked at: numpy, Python's `zipfile` (`testzip` included) and `unzip -t` accept the file.
//! Each append leaves the old directory and end records (a few dozen bytes per member) as
//! dead bytes; `npz zip` of the members writes a compact copy.
//!
//! The appender syncs the new members before it writes the new directory, and syncs again
//! after. So at every instant, and after a kill or a power loss, the file is the complete old
//! archive followed by bytes of the append:
//!
//! - [`NpzReader`](crate::NpzReader) opens it with the old members: when no end record in the
//!   last 64 KiB checks out, it scans back from the end of the file for the last end record
//!   whose central directory lies right before it and checks out (at most 256 candidates).
//!   Python's `zipfile` (and so numpy) and `unzip` look only at the last 64 KiB: they open it
//!   while the append has written less than that, and otherwise once it is restored.
//! - [`recover`](crate::recover) (`npz recover FILE`) cuts the file back to the end of that
//!   archive, which every reader opens; the next append does it by itself before it adds.
//! - A failed or dropped appender cuts the file back itself.
//!
//! The lock ([`LockMode`](crate::LockMode)) keeps a second writer, and `recover`, away from an
//! append that is running.
//!
//! [`WriterOptions::chunk_size`]: crate::WriterOptions::chunk_size
//! [`IndexOptions::span`]: crate::IndexOptions::span
//! [`IndexOptions::sidecar`]: crate::IndexOptions::sidecar

/// Private extra-field header ID of the seek index in the central directory: `"nz"` on disk.
///
/// ```
/// assert_eq!(npz_stream::format::INDEX_HEADER_ID, 0x7a6e);
/// ```
pub const INDEX_HEADER_ID: u16 = u16::from_le_bytes(*b"nz");

/// Private extra-field header ID of the locator of a stored access-point index, in the central
/// directory: `"nx"` on disk. See [the format](self#stored-access-point-indexes).
///
/// ```
/// assert_eq!(npz_stream::format::ACCESS_INDEX_ID, 0x786e);
/// ```
pub const ACCESS_INDEX_ID: u16 = u16::from_le_bytes(*b"nx");

/// The magic that ends a stored access-point index (the first bytes of its footer).
///
/// ```
/// assert_eq!(npz_stream::format::ACCESS_INDEX_MAGIC.len(), 8);
/// ```
pub const ACCESS_INDEX_MAGIC: [u8; 8] = *b"NPZ-ZRAN";

/// The magic that ends a sidecar index file (`FILE.idx`).
///
/// ```
/// assert_eq!(&npz_stream::format::ACCESS_INDEX_SIDECAR_MAGIC, b"NPZ-ZIDX");
/// ```
pub const ACCESS_INDEX_SIDECAR_MAGIC: [u8; 8] = *b"NPZ-ZIDX";

/// Extra-field header ID of the alignment padding in stored members' local headers.
///
/// ```
/// assert_eq!(npz_stream::format::ALIGNMENT_HEADER_ID, 0xa11e);
/// ```
pub const ALIGNMENT_HEADER_ID: u16 = 0xa11e;

/// Stored members put their array data on a multiple of this many bytes in the file.
///
/// ```
/// assert_eq!(npz_stream::format::ALIGNMENT, npy_format::header::ARRAY_ALIGN as u64);
/// ```
pub const ALIGNMENT: u64 = 64;

/// Version byte of the index field.
const INDEX_VERSION: u8 = 1;

/// Bytes of index field data at most (the rest of the 65535 is left to other extra fields).
const INDEX_MAX_DATA: usize = 60_000;

/// A seek index: chunk starts as (uncompressed, compressed) offsets within the member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeekIndex {
    pub points: Vec<(u64, u64)>,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(data: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*at)?;
        *at += 1;
        let bits = u64::from(b & 0x7f);
        if shift == 63 && bits > 1 {
            return None;
        }
        v |= bits << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

impl SeekIndex {
    /// The extra field (ID, length, data) for a member with this CRC and compressed size,
    /// thinned to fit.
    pub(crate) fn to_extra_field(&self, crc32: u32, compressed_size: u64) -> Vec<u8> {
        let mut step = 1;
        loop {
            let mut data = vec![INDEX_VERSION];
            data.extend_from_slice(&crc32.to_le_bytes());
            put_varint(&mut data, compressed_size);
            let kept: Vec<(u64, u64)> = self.points.iter().copied().step_by(step).collect();
            put_varint(&mut data, kept.len() as u64);
            let mut prev = (0, 0);
            for &(u, c) in &kept {
                put_varint(&mut data, u - prev.0);
                put_varint(&mut data, c - prev.1);
                prev = (u, c);
            }
            if data.len() <= INDEX_MAX_DATA {
                let mut field = INDEX_HEADER_ID.to_le_bytes().to_vec();
                field.extend_from_slice(&(data.len() as u16).to_le_bytes());
                field.extend_from_slice(&data);
                return field;
            }
            step += 1;
        }
    }

    /// Decodes an index field's data, or `None` if it is malformed or does not belong to a
    /// member of this CRC, size and compressed size.
    pub(crate) fn from_field_data(
        data: &[u8],
        crc32: u32,
        size: u64,
        compressed_size: u64,
    ) -> Option<SeekIndex> {
        if data.len() < 5 || data[0] != INDEX_VERSION {
            return None;
        }
        if u32::from_le_bytes([data[1], data[2], data[3], data[4]]) != crc32 {
            return None;
        }
        let mut at = 5;
        if get_varint(data, &mut at)? != compressed_size {
            return None;
        }
        let n = get_varint(data, &mut at)?;
        // Each point takes at least two bytes: bound the allocation by the field.
        if n > (data.len() / 2) as u64 {
            return None;
        }
        let mut points = Vec::with_capacity(n as usize);
        let mut prev = (0u64, 0u64);
        for i in 0..n {
            let du = get_varint(data, &mut at)?;
            let dc = get_varint(data, &mut at)?;
            if i > 0 && (du == 0 || dc == 0) {
                return None;
            }
            let point = (prev.0.checked_add(du)?, prev.1.checked_add(dc)?);
            if point.0 > size || point.1 > compressed_size {
                return None;
            }
            points.push(point);
            prev = point;
        }
        Some(SeekIndex { points })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zip::find_extra;

    #[test]
    fn index_round_trips_and_checks_its_member() {
        let index = SeekIndex {
            points: vec![(128, 133), (1 << 20, 70_000), (2 << 20, 140_000)],
        };
        let field = index.to_extra_field(0xdead_beef, 200_000);
        let data = find_extra(&field, INDEX_HEADER_ID).unwrap();
        assert_eq!(
            SeekIndex::from_field_data(data, 0xdead_beef, 3 << 20, 200_000),
            Some(index.clone())
        );
        assert_eq!(SeekIndex::from_field_data(data, 1, 3 << 20, 200_000), None);
        assert_eq!(
            SeekIndex::from_field_data(data, 0xdead_beef, 3 << 20, 1),
            None
        );
        assert_eq!(
            SeekIndex::from_field_data(data, 0xdead_beef, 100, 200_000),
            None
        );
        for cut in 0..data.len() {
            assert_eq!(
                SeekIndex::from_field_data(&data[..cut], 0xdead_beef, 3 << 20, 200_000),
                None
            );
        }
    }

    #[test]
    fn large_indexes_are_thinned_to_fit() {
        let points: Vec<(u64, u64)> = (1..=40_000u64).map(|i| (i << 20, i * 300_000)).collect();
        let field = SeekIndex { points }.to_extra_field(7, 40_001 * 300_000);
        assert!(field.len() <= 4 + INDEX_MAX_DATA);
        let data = find_extra(&field, INDEX_HEADER_ID).unwrap();
        let decoded = SeekIndex::from_field_data(data, 7, 40_001 << 20, 40_001 * 300_000).unwrap();
        assert!(decoded.points.len() > 5_000);
        assert_eq!(decoded.points[0], (1 << 20, 300_000));
    }

    #[test]
    fn varints() {
        let mut out = Vec::new();
        for v in [0, 1, 127, 128, 300, u64::MAX] {
            out.clear();
            put_varint(&mut out, v);
            let mut at = 0;
            assert_eq!(get_varint(&out, &mut at), Some(v));
            assert_eq!(at, out.len());
        }
        assert_eq!(get_varint(&[0xff; 11], &mut 0), None);
    }
}
