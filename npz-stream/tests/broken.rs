//! Broken archives: truncated, garbage, corrupt deflate data, CRC mismatches, lying sizes.
//! Every one gives a typed error, never a panic, and never wrong data from a full read.

use std::path::Path;

use npy_format::FrameSource;
use npz_stream::{
    Compression, NpzReader, NpzWriter, OpenErrorKind, ReadErrorKind, ResultKind, WriterOptions,
};
use proptest::prelude::*;

fn sample(path: &Path, compression: Compression) -> Vec<u8> {
    let mut npz = WriterOptions::default()
        .compression(compression)
        .chunk_size(4096)
        .create(path)
        .unwrap();
    let data: Vec<u16> = (0..6000u16).map(|i| i.wrapping_mul(7919) % 1000).collect();
    npz.add_array("adc", &data, &[300, 20]).unwrap();
    npz.add_array("g", &[0.5f64; 4], &[4]).unwrap();
    npz.finish().unwrap();
    std::fs::read(path).unwrap()
}

/// Everything a reader can be asked; returns whether every full read succeeded (and then
/// checks the data).
fn exercise(path: &Path) -> bool {
    let Ok(reader) = NpzReader::open(path) else {
        return false;
    };
    let mut all_ok = true;
    // Listing describes every member on its own, whatever the bytes.
    assert_eq!(reader.list().len(), reader.len());
    for key in reader.keys() {
        let _ = reader.info(&key);
        if let Ok(mut member) = reader.member(&key) {
            let n = member.frame_count();
            for (a, b) in [(0, 1), (n / 2, n), (n.saturating_sub(1), n)] {
                let _ = member.read_frames(a, b.min(n));
            }
        }
        let _ = reader.build_index(&key, Some(1024));
        let _ = reader.view::<u16>(&key);
        match reader.read_bytes(&key) {
            Ok(_) => {}
            Err(_) => all_ok = false,
        }
    }
    if all_ok {
        let expected: Vec<u16> = (0..6000u16).map(|i| i.wrapping_mul(7919) % 1000).collect();
        if let Ok(a) = reader.read_array::<u16>("adc") {
            assert_eq!(
                a.data, expected,
                "a full read returned wrong data without an error"
            );
        }
    }
    all_ok
}

#[test]
fn truncated_archives_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    for compression in [Compression::Stored, Compression::deflate()] {
        let good = dir.path().join("good.npz");
        let bytes = sample(&good, compression);
        let cut_path = dir.path().join("cut.npz");
        for cut in (0..bytes.len())
            .step_by(97)
            .chain(bytes.len() - 30..bytes.len())
        {
            std::fs::write(&cut_path, &bytes[..cut]).unwrap();
            assert!(NpzReader::open(&cut_path).is_err(), "cut at {cut} opened");
        }
    }
}

#[test]
fn garbage_is_not_a_zip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.npz");
    for content in [
        &b""[..],
        b"PK\x05\x06",
        &[0xAB; 100_000],
        b"\x93NUMPY\x01\x00",
    ] {
        std::fs::write(&path, content).unwrap();
        let err = NpzReader::open(&path).unwrap_err();
        assert!(matches!(err.kind(), OpenErrorKind::NotZip { .. }), "{err}");
    }
    // An end record that points anywhere.
    let mut eocd = b"PK\x05\x06\0\0\0\0\x05\0\x05\0".to_vec();
    eocd.extend_from_slice(&1000u32.to_le_bytes());
    eocd.extend_from_slice(&7u32.to_le_bytes());
    eocd.extend_from_slice(&[0, 0]);
    std::fs::write(&path, &eocd).unwrap();
    let err = NpzReader::open(&path).unwrap_err();
    assert!(matches!(err.kind(), OpenErrorKind::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("offset"), "{err}");
}

#[test]
fn corrupt_deflate_data_and_crc_mismatches_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.npz");
    let bytes = sample(&good, Compression::deflate());
    let reader = NpzReader::open(&good).unwrap();
    let info = reader.info("adc").unwrap();
    drop(reader);
    let bad = dir.path().join("bad.npz");
    // Flip bytes throughout the compressed data: no full read may succeed with wrong data.
    let local_data = 30 + "adc.npy".len() + 20;
    let end = local_data + info.compressed_size as usize;
    let mut failures = 0;
    for at in (local_data + 140..end).step_by(211) {
        let mut b = bytes.clone();
        b[at] ^= 0x55;
        std::fs::write(&bad, &b).unwrap();
        if !exercise(&bad) {
            failures += 1;
        }
    }
    assert!(failures > 10);

    // Stored member: a flipped data byte is a CRC error on full reads, not on frame reads.
    let stored = dir.path().join("stored.npz");
    let mut b = sample(&stored, Compression::Stored);
    let reader = NpzReader::open(&stored).unwrap();
    let offset = reader.info("adc").unwrap().data_offset.unwrap() as usize;
    drop(reader);
    b[offset + 10] ^= 1;
    std::fs::write(&stored, &b).unwrap();
    let reader = NpzReader::open(&stored).unwrap();
    let err = reader.read_array::<u16>("adc").unwrap_err();
    assert!(matches!(err.kind(), ReadErrorKind::Crc { .. }), "{err}");
    assert!(err.to_string().contains("adc.npy"), "{err}");
    assert!(matches!(
        reader.verify("adc").err_kind(),
        Some(ReadErrorKind::Crc { .. })
    ));
    let mut member = reader.member("adc").unwrap();
    assert!(member.read_frames(1, 2).is_ok());
    assert!(matches!(
        member.read_frames(0, 300).err_kind(),
        Some(ReadErrorKind::Crc { .. })
    ));
}

#[test]
fn lying_sizes_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.npz");
    let mut npz = WriterOptions::default()
        .compression(Compression::deflate())
        .index(false)
        .create(&path)
        .unwrap();
    npz.add_array("z", &vec![0u8; 1 << 20], &[1 << 20]).unwrap();
    npz.finish().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let cd = bytes.len() - 22 - (46 + 5);
    assert_eq!(&bytes[cd..cd + 4], b"PK\x01\x02");
    let size_at = cd + 24;
    let set_size = |size: u32| {
        let mut b = bytes.clone();
        b[size_at..size_at + 4].copy_from_slice(&size.to_le_bytes());
        std::fs::write(&path, &b).unwrap();
    };
    // Declared smaller than the stream: inflation stops at the declared size (bomb guard).
    set_size(1000);
    let reader = NpzReader::open(&path).unwrap();
    let err = reader.read_bytes("z").unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ReadErrorKind::Size { .. } | ReadErrorKind::Truncated { .. }
        ),
        "{err}"
    );
    // Declared larger than any deflate stream of this length can produce.
    set_size(u32::MAX - 1);
    let reader = NpzReader::open(&path).unwrap();
    let err = reader.read_bytes("z").unwrap_err();
    assert!(matches!(err.kind(), ReadErrorKind::Size { .. }), "{err}");
    assert!(err.to_string().contains("zip bomb"), "{err}");
    // Declared a little larger than the stream: the stream ends early.
    set_size((1 << 20) + 128 + 10);
    let reader = NpzReader::open(&path).unwrap();
    assert!(matches!(
        reader.read_bytes("z").err_kind(),
        Some(ReadErrorKind::Size { .. })
    ));
}

#[test]
fn members_that_are_not_npy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.npz");
    // Overwrite the NPY magic of a stored member.
    let mut npz = NpzWriter::create(&path).unwrap();
    npz.add_array("x", &[1u8], &[1]).unwrap();
    npz.finish().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let info = NpzReader::open(&path).unwrap().info("x").unwrap();
    let start = info.data_offset.unwrap() as usize - 128;
    bytes[start] = b'X';
    std::fs::write(&path, &bytes).unwrap();
    let reader = NpzReader::open(&path).unwrap();
    let err = reader.info("x").unwrap_err();
    assert!(matches!(err.kind(), ReadErrorKind::Header { .. }), "{err}");
    assert!(err.to_string().contains("not an NPY file"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    /// Random byte mutations anywhere in an archive: no panic, and full reads never return
    /// wrong data.
    #[test]
    fn mutated_archives_never_panic(
        compress in any::<bool>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.npz");
        let compression = if compress { Compression::deflate() } else { Compression::Stored };
        let mut bytes = sample(&path, compression);
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        std::fs::write(&path, &bytes).unwrap();
        exercise(&path);
    }
}
