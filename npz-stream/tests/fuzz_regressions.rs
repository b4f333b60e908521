//! Inputs found by `cargo xtask fuzz` (see RELIABILITY.md), each kept as a test that failed
//! before its fix.

use std::path::Path;

use npy_format::FrameSource;
use npz_stream::{Compression, NpzReader, WriterOptions};

/// Frames `[start, end)` of `key` read at random must be the bytes of the whole, CRC-checked
/// member.
fn assert_frames_match_whole(path: &Path, key: &str, ranges: &[(u64, u64)]) {
    let reader = NpzReader::open(path).unwrap();
    let whole = reader.read_bytes(key).unwrap(); // CRC-checked: the member's bytes are intact
    let info = reader.info(key).unwrap();
    let frame_len = info.header.frame_len().unwrap() as usize;
    let data = &whole[info.header_len as usize..];
    for &(start, end) in ranges {
        let mut member = reader.member(key).unwrap(); // a fresh cursor for every range
        let frames = member.read_frames(start, end).unwrap();
        let want = &data[start as usize * frame_len..end as usize * frame_len];
        assert_eq!(frames, want, "{key}: frames {start}..{end}");
    }
}

/// npz fuzz crash: one bit flipped in the first seek-index point of member `stream` (its
/// uncompressed offset 128 became 160, the compressed offset still right). The CRC-32 and the
/// member's bytes are intact, yet random frame reads inflated from the point as if it were 32
/// bytes further on and returned frames 6..8 for 10..12. Fixed: an index whose first point is
/// not the end of the header's stored blocks is not trusted.
#[test]
fn a_seek_index_whose_first_point_is_off_is_not_trusted() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz/seek-index-first-point.npz");
    assert_frames_match_whole(&path, "stream", &[(10, 12), (19, 20), (0, 20)]);
    let reader = NpzReader::open(&path).unwrap();
    reader.verify("stream").unwrap();
    assert!(!reader.info("stream").unwrap().indexed);
}

/// Reads an unsigned LEB128 varint at `*at`.
fn varint(data: &[u8], at: &mut usize) -> u64 {
    let mut v = 0;
    for shift in (0..64).step_by(7) {
        let b = data[*at];
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
    }
    v
}

/// The same class of corruption one point later: the compressed offset of the second chunk
/// start moved by one byte (its varint keeps its length, so the archive stays well-formed).
/// Inflating from there is not inflating from a chunk start; the point does not follow a full
/// flush (`00 00 ff ff`), so reads start from the first point instead and stay right.
#[test]
fn a_seek_index_point_off_a_chunk_start_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npz");
    let mut npz = WriterOptions::default()
        .compression(Compression::deflate())
        .chunk_size(4096)
        .create(&path)
        .unwrap();
    let data: Vec<i16> = (0..6000).map(|i| (i * 7919 % 251) as i16).collect();
    npz.add_array("adc", &data, &[600, 10]).unwrap(); // 3 chunks of 204 frames
    npz.finish().unwrap();
    assert_frames_match_whole(&path, "adc", &[(300, 303)]);

    // The index is the "nz" extra field of the central directory: version, CRC-32, varint
    // compressed size, varint count, then (du, dc) varint pairs.
    let mut bytes = std::fs::read(&path).unwrap();
    let field = bytes
        .windows(3)
        .rposition(|w| w[..2] == *b"nz" && w[2] > 0)
        .unwrap();
    let mut at = field + 4 + 5;
    varint(&bytes, &mut at);
    assert!(varint(&bytes, &mut at) >= 3, "several chunks");
    varint(&bytes, &mut at); // first point
    varint(&bytes, &mut at);
    varint(&bytes, &mut at); // second point: du, then dc
    assert!(bytes[at] & 0x80 == 0 || bytes[at] & 0x7f < 0x7f);
    bytes[at] += 1;
    std::fs::write(&path, &bytes).unwrap();

    let reader = NpzReader::open(&path).unwrap();
    assert!(
        reader.info("adc").unwrap().indexed,
        "the index still decodes"
    );
    assert_frames_match_whole(&path, "adc", &[(300, 303), (599, 600), (0, 600)]);
}
