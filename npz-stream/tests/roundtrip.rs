//! Round trips through the writer and the reader, without numpy: every member kind, frame
//! reads at random, streaming, appending, zipping files, zero-copy views, zran indexes.

mod common;

use std::path::Path;

use common::bytes;

use npy_format::{DType, FrameSink, FrameSource, Header};
use npz_stream::{
    Compression, Method, NpzReader, NpzWriter, ReadErrorKind, ResultKind, WriteErrorKind,
    WriterOptions,
};
use proptest::prelude::*;

/// A random walk of i16 (compressible like detector data), as little-endian bytes.
fn walk(seed: u64, n: usize) -> Vec<u8> {
    let noise = bytes(seed, n);
    let mut v = 0i16;
    noise
        .iter()
        .flat_map(|&b| {
            v = v.wrapping_add(i16::from(b as i8) / 16);
            v.to_le_bytes()
        })
        .collect()
}

fn deflate() -> WriterOptions {
    WriterOptions::default()
        .compression(Compression::deflate())
        .chunk_size(4096)
}

fn check_frames(reader: &NpzReader, key: &str, data: &[u8], ranges: &[(u64, u64)]) {
    let mut member = reader.member(key).unwrap();
    let fl = member.frame_len() as usize;
    for &(a, b) in ranges {
        let got = member.read_frames(a, b).unwrap();
        assert_eq!(
            got,
            &data[a as usize * fl..b as usize * fl],
            "{key} [{a}, {b})"
        );
    }
}

#[test]
fn whole_arrays_every_kind() {
    let dir = tempfile::tempdir().unwrap();
    for (i, options) in [
        WriterOptions::default(),
        WriterOptions::default().align(false),
        deflate(),
        deflate().index(false),
        deflate()
            .threads(1)
            .compression(Compression::Deflate { level: 0 }),
    ]
    .into_iter()
    .enumerate()
    {
        let path = dir.path().join(format!("a{i}.npz"));
        let mut npz = options.create(&path).unwrap();
        let f64s: Vec<f64> = (0..60).map(f64::from).collect();
        npz.add_array("f", &f64s, &[5, 12]).unwrap();
        npz.add_array("zero_d", &[42i32], &[]).unwrap();
        npz.add_array::<u8>("empty", &[], &[0, 3]).unwrap();
        let be = Header::new(DType::parse(">u4").unwrap(), false, vec![3]);
        npz.add_raw("be", &be, &[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3])
            .unwrap();
        let fortran = Header::new(DType::parse("<i2").unwrap(), true, vec![2, 3]);
        npz.add_raw("fortran", &fortran, &walk(1, 6)).unwrap();
        let rec = Header::new(
            DType::parse("[('x', '<f4'), ('n', '|u1', (3,))]").unwrap(),
            false,
            vec![4],
        );
        let rec_data = bytes(2, 28);
        npz.add_raw("rec", &rec, &rec_data).unwrap();
        npz.add_array("dotted.key", &[true, false], &[2]).unwrap();
        npz.add_array("ключ", &[1u64], &[1]).unwrap();
        npz.finish().unwrap();

        let reader = NpzReader::open(&path).unwrap();
        assert_eq!(
            reader.keys(),
            [
                "f",
                "zero_d",
                "empty",
                "be",
                "fortran",
                "rec",
                "dotted.key",
                "ключ"
            ]
        );
        assert_eq!(reader.read_array::<f64>("f").unwrap().data, f64s);
        assert_eq!(reader.read_array::<i32>("zero_d").unwrap().data, vec![42]);
        assert_eq!(
            reader.read_array::<i32>("zero_d").unwrap().header.shape,
            Vec::<u64>::new()
        );
        assert!(reader.read_array::<u8>("empty").unwrap().data.is_empty());
        assert_eq!(reader.read_array::<u32>("be").unwrap().data, vec![1, 2, 3]);
        assert_eq!(
            reader.read_array::<bool>("dotted.key").unwrap().data,
            vec![true, false]
        );
        assert_eq!(reader.read_array::<u64>("ключ.npy").unwrap().data, vec![1]);
        let info = reader.info("fortran").unwrap();
        assert!(info.header.fortran_order);
        assert_eq!(info.header.frame_count(), 3);
        check_frames(&reader, "fortran", &walk(1, 6), &[(0, 3), (2, 3), (1, 1)]);
        check_frames(&reader, "rec", &rec_data, &[(0, 4), (1, 3), (3, 4)]);
        check_frames(&reader, "zero_d", &42i32.to_le_bytes(), &[(0, 1)]);
        let mut empty = reader.member("empty").unwrap();
        assert_eq!(empty.frame_count(), 0);
        assert!(empty.read_frames(0, 1).is_err());
        for key in reader.keys() {
            reader.verify(&key).unwrap();
            let info = reader.info(&key).unwrap();
            match i {
                0 => {
                    assert_eq!(info.method, Method::Stored);
                    assert!(info.mappable, "{key} not aligned: {:?}", info.data_offset);
                }
                1 => assert_eq!(info.method, Method::Stored),
                2 | 4 => assert!(info.indexed || info.header.data_len() == Some(0)),
                _ => assert!(!info.indexed && !info.seekable),
            }
        }
        if i == 0 {
            assert_eq!(reader.view::<f64>("f").unwrap().as_slice(), &f64s[..]);
            assert!(
                reader.view::<u32>("be").is_err(),
                "big-endian views are refused"
            );
        }
    }
}

#[test]
fn stored_members_are_aligned_whatever_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aligned.npz");
    let mut npz = NpzWriter::create(&path).unwrap();
    for n in 1..80 {
        let key = "k".repeat(n);
        npz.add_array(&key, &[n as f64; 3], &[3]).unwrap();
    }
    npz.finish().unwrap();
    let reader = NpzReader::open(&path).unwrap();
    for info in reader.infos().unwrap() {
        assert_eq!(info.data_offset.unwrap() % 64, 0, "{}", info.key);
        let n = info.key.len() as f64;
        assert_eq!(
            reader.view::<f64>(&info.key).unwrap().as_slice(),
            &[n, n, n]
        );
    }
}

fn stream_member(options: WriterOptions, path: &Path, frames: &[u8], frame_len: usize) {
    let mut npz = options.create(path).unwrap();
    npz.add_array("before", &[1u8, 2, 3], &[3]).unwrap();
    let header = Header::new(
        DType::parse("<i2").unwrap(),
        false,
        vec![999, frame_len as u64 / 2],
    );
    let mut sink = npz.begin_member("adc", &header).unwrap();
    assert_eq!(sink.header().shape[0], 0);
    for (i, frame) in frames.chunks(frame_len * 3).enumerate() {
        sink.append_frames(frame, (frame.len() / frame_len) as u64)
            .unwrap();
        if i % 7 == 0 {
            sink.flush().unwrap();
        }
        if i == 20 {
            sink.sync().unwrap();
        }
    }
    assert!(sink.append_frames(&frames[..3], 1).is_err());
    assert!(sink.append(&[1u32]).is_err());
    let header = sink.finish().unwrap();
    assert_eq!(
        header.shape,
        vec![(frames.len() / frame_len) as u64, frame_len as u64 / 2]
    );
    npz.add_array("after", &[4u8], &[1]).unwrap();
    npz.finish().unwrap();
}

#[test]
fn streamed_members_read_at_random() {
    let dir = tempfile::tempdir().unwrap();
    let frame_len = 200;
    let frames = walk(7, 500 * frame_len / 2);
    let n = 500u64;
    for (i, options) in [WriterOptions::default(), deflate(), deflate().index(false)]
        .into_iter()
        .enumerate()
    {
        let path = dir.path().join(format!("s{i}.npz"));
        stream_member(options, &path, &frames, frame_len);
        let reader = NpzReader::open(&path).unwrap();
        assert_eq!(reader.keys(), ["before", "adc", "after"]);
        let info = reader.info("adc").unwrap();
        assert_eq!(info.header.shape, vec![n, 100]);
        assert_eq!(info.header_len, 128);
        assert_eq!(info.seekable, i < 2);
        let bytes = reader.read_bytes("adc").unwrap();
        assert_eq!(&bytes[128..], &frames[..]);
        // The rewritten header is what numpy writes for the final shape.
        let expect = Header::new(DType::parse("<i2").unwrap(), false, vec![n, 100]);
        assert_eq!(&bytes[..128], &expect.to_bytes().unwrap()[..]);
        check_frames(
            &reader,
            "adc",
            &frames,
            &[
                (n - 8, n),
                (0, 1),
                (250, 260),
                (3, 4),
                (499, 500),
                (100, 400),
                (0, n),
                (10, 10),
            ],
        );
        assert_eq!(reader.read_array::<u8>("after").unwrap().data, vec![4]);
    }
}

#[test]
fn foreign_members_get_a_zran_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foreign.npz");
    let data = walk(3, 300_000);
    let mut npz = deflate()
        .index(false)
        .chunk_size(1 << 20)
        .create(&path)
        .unwrap();
    let header = Header::new(DType::parse("<i2").unwrap(), false, vec![3000, 100]);
    npz.add_raw("w", &header, &data).unwrap();
    npz.finish().unwrap();

    let reader = NpzReader::open(&path).unwrap();
    assert!(!reader.info("w").unwrap().seekable);
    let ranges = [
        (2990, 3000),
        (5, 6),
        (1500, 1700),
        (0, 3000),
        (2999, 3000),
        (1, 2),
    ];
    check_frames(&reader, "w", &data, &ranges);
    let points = reader.build_index("w", Some(32 << 10)).unwrap();
    assert!(points >= 8, "{points} points");
    assert!(reader.info("w").unwrap().seekable);
    check_frames(&reader, "w", &data, &ranges);

    let auto = NpzReader::options()
        .index_foreign(true)
        .open(&path)
        .unwrap();
    check_frames(&auto, "w", &data, &ranges);
    assert!(auto.info("w").unwrap().seekable);
}

#[test]
fn appending_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.npz");
    let mut npz = NpzWriter::create(&path).unwrap();
    npz.add_array("a", &[1u8, 2], &[2]).unwrap();
    npz.finish().unwrap();

    let mut npz = deflate().append(&path).unwrap();
    npz.add_array("b", &[3i64; 100], &[100]).unwrap();
    assert!(matches!(
        npz.add_array("a", &[9u8], &[1]).err_kind(),
        Some(WriteErrorKind::DuplicateKey { .. })
    ));
    npz.finish().unwrap();
    let reader = NpzReader::open(&path).unwrap();
    assert_eq!(reader.keys(), ["a", "b"]);
    assert_eq!(reader.read_array::<i64>("b").unwrap().data, vec![3; 100]);
    drop(reader);

    // A failed append leaves the archive byte for byte as it was.
    let before = std::fs::read(&path).unwrap();
    {
        let mut npz = NpzWriter::append(&path).unwrap();
        npz.add_array("c", &[5u8; 1000], &[1000]).unwrap();
        let header = Header::new(DType::parse("<f4").unwrap(), false, vec![0]);
        let mut sink = npz.begin_member("d", &header).unwrap();
        sink.append(&[1.0f32; 10_000]).unwrap();
        assert!(npz_stream::NpzWriter::append(dir.path().join("missing.npz")).is_err());
        // Dropped without finishing: the member, then the append, are rolled back.
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    {
        let mut npz = NpzWriter::append(&path).unwrap();
        assert!(npz.add_array("b", &[1u8], &[1]).is_err());
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn unfinished_members_and_archives_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u.npz");
    {
        let mut npz = deflate().create(&path).unwrap();
        let header = Header::new(DType::parse("|u1").unwrap(), false, vec![0, 10]);
        {
            let mut sink = npz.begin_member("gone", &header).unwrap();
            sink.append(&[7u8; 100_000]).unwrap();
        }
        let sink = npz
            .begin_member(
                "short",
                &Header::new(DType::parse("<u2").unwrap(), false, vec![]),
            )
            .unwrap();
        assert!(matches!(
            sink.finish().err_kind(),
            Some(WriteErrorKind::Incomplete { .. })
        ));
        npz.add_array("kept", &[1u8], &[1]).unwrap();
        assert!(npz.add_array("", &[1u8], &[1]).is_err());
        assert!(
            npz.add_raw(
                "x",
                &Header::new(DType::parse("|O").unwrap(), false, vec![1]),
                &[0; 8]
            )
            .is_err()
        );
        npz.finish().unwrap();
    }
    let reader = NpzReader::open(&path).unwrap();
    assert_eq!(reader.keys(), ["kept"]);
    {
        let mut npz = NpzWriter::create(dir.path().join("never.npz")).unwrap();
        npz.add_array("x", &[1u8], &[1]).unwrap();
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "temporary files left: {leftovers:?}");
}

#[test]
fn zipping_npy_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.npy");
    let b = dir.path().join("b.npy");
    npy_format::write_file(&a, &(0..1000i32).collect::<Vec<_>>(), &[100, 10]).unwrap();
    npy_format::write_file(&b, &[0.5f32; 7], &[7]).unwrap();
    // Trailing bytes (an unrecovered append) are copied too; numpy ignores them.
    let mut with_tail = std::fs::read(&b).unwrap();
    with_tail.extend_from_slice(&[1, 2, 3]);
    std::fs::write(&b, &with_tail).unwrap();
    for compress in [false, true] {
        let out = dir.path().join(format!("z{compress}.npz"));
        let options = if compress {
            deflate()
        } else {
            WriterOptions::default()
        };
        npz_stream::zip_npy_files(&out, &[("a", &a), ("b", &b)], options, false).unwrap();
        let reader = NpzReader::open(&out).unwrap();
        assert_eq!(reader.read_bytes("a").unwrap(), std::fs::read(&a).unwrap());
        assert_eq!(reader.read_bytes("b").unwrap(), with_tail);
        assert_eq!(reader.read_array::<f32>("b").unwrap().data, vec![0.5; 7]);
        if !compress {
            assert_eq!(reader.view::<i32>("a").unwrap().as_slice()[999], 999);
        }
    }
    let bad = dir.path().join("bad.npy");
    std::fs::write(&bad, b"not npy").unwrap();
    let out = dir.path().join("bad.npz");
    let err = npz_stream::zip_npy_files(
        &out,
        &[("a", &a), ("bad", &bad)],
        WriterOptions::default(),
        true,
    )
    .unwrap_err();
    assert!(matches!(err.kind(), WriteErrorKind::Input { .. }), "{err}");
    assert!(!out.exists() && a.exists());
    let out = dir.path().join("del.npz");
    npz_stream::zip_npy_files(&out, &[("a", &a)], deflate(), true).unwrap();
    assert!(!a.exists());
}

#[test]
fn zipping_many_small_and_large_files_in_parallel() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for i in 0..9usize {
        let path = dir.path().join(format!("f{i}.npy"));
        let n = if i == 4 { 50_000 } else { 100 * i };
        let data = walk(i as u64, n);
        npy_format::write_file(&path, &data, &[n as u64, 2]).unwrap();
        files.push((format!("k{i}"), path));
    }
    for threads in [1, 2, 3] {
        let out = dir.path().join(format!("par{threads}.npz"));
        let options = deflate().threads(threads);
        npz_stream::zip_npy_files(&out, &files, options, false).unwrap();
        let reader = NpzReader::open(&out).unwrap();
        assert_eq!(reader.len(), files.len());
        for (key, path) in &files {
            assert_eq!(
                reader.read_bytes(key).unwrap(),
                std::fs::read(path).unwrap()
            );
            let info = reader.info(key).unwrap();
            assert!(info.indexed || info.header.shape[0] == 0, "{key}");
        }
        let n = reader.info("k4").unwrap().header.shape[0];
        check_frames(&reader, "k4", &walk(4, 50_000), &[(n - 3, n), (7, 9000)]);
    }
    // A key repeated inside one batch: an error, and no archive.
    let out = dir.path().join("dup.npz");
    let dup = [("a", &files[0].1), ("a", &files[1].1)];
    let err = npz_stream::zip_npy_files(&out, &dup, deflate().threads(2), false).unwrap_err();
    assert!(
        matches!(err.kind(), WriteErrorKind::DuplicateKey { .. }),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn many_members_use_zip64_end_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.npz");
    let mut npz = WriterOptions::default().align(false).create(&path).unwrap();
    let n = 0x1_0005u32;
    for i in 0..n {
        npz.add_array(&format!("m{i}"), &[i], &[1]).unwrap();
    }
    npz.finish().unwrap();
    let reader = NpzReader::open(&path).unwrap();
    assert_eq!(reader.len(), n as usize);
    assert_eq!(
        reader.read_array::<u32>("m65539").unwrap().data,
        vec![65539]
    );
}

#[test]
fn missing_keys_and_wrong_types() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.npz");
    let mut npz = deflate().create(&path).unwrap();
    npz.add_array("x", &[1u8], &[1]).unwrap();
    npz.finish().unwrap();
    let reader = NpzReader::open(&path).unwrap();
    assert!(matches!(
        reader.member("y").err_kind(),
        Some(ReadErrorKind::NoSuchMember { .. })
    ));
    assert!(matches!(
        reader.view::<u8>("x").err_kind(),
        Some(ReadErrorKind::NotStored { .. })
    ));
    assert!(matches!(
        reader.read_array::<u16>("x").err_kind(),
        Some(ReadErrorKind::View { .. })
    ));
    let mut x = reader.member("x").unwrap();
    let err = x.read_frames(0, 2).unwrap_err();
    assert!(err.to_string().contains("x.npy"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Random frame sizes, frame counts, chunk sizes, append patterns and read ranges.
    #[test]
    fn random_streams_read_back(
        frame_len in 1usize..300,
        n in 0usize..400,
        chunk in 4096usize..20_000,
        batch in 1usize..50,
        compress in any::<bool>(),
        ranges in prop::collection::vec((0u64..400, 0u64..50), 1..10),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.npz");
        let data = bytes(frame_len as u64 * 31 + n as u64, frame_len * n);
        let options = if compress { deflate().chunk_size(chunk) } else { WriterOptions::default() };
        let mut npz = options.create(&path).unwrap();
        let header = Header::new(DType::parse(&format!("|V{frame_len}")).unwrap(), false, vec![0]);
        let mut sink = npz.begin_member("v", &header).unwrap();
        for part in data.chunks(frame_len * batch) {
            sink.append_frames(part, (part.len() / frame_len) as u64).unwrap();
        }
        sink.finish().unwrap();
        npz.finish().unwrap();
        let reader = NpzReader::open(&path).unwrap();
        let mut member = reader.member("v").unwrap();
        prop_assert_eq!(member.frame_count(), n as u64);
        for (a, len) in ranges {
            let a = a.min(n as u64);
            let b = (a + len).min(n as u64);
            let got = member.read_frames(a, b).unwrap();
            prop_assert_eq!(&got[..], &data[a as usize * frame_len..b as usize * frame_len]);
        }
    }
}

/// The frame traits' provided methods check ranges (readers) and byte counts (writers) and
/// report them naming the archive and the member.
#[test]
fn provided_frame_methods_name_the_archive_and_member() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("frames.npz");
    let mut npz = NpzWriter::create(&path).unwrap();
    let header = Header::new(DType::parse("<u2").unwrap(), false, vec![0, 3]);
    let mut member = npz.begin_member("x", &header).unwrap();
    let err = member.append_frames(&[0; 10], 2).unwrap_err();
    assert!(
        matches!(err.kind(), WriteErrorKind::Frames { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("x"), "{err}");
    member.append(&(0u16..12).collect::<Vec<_>>()).unwrap();
    member.finish().unwrap();
    npz.finish().unwrap();

    let reader = NpzReader::open(&path).unwrap();
    let mut member = reader.member("x").unwrap();
    let mut buf = [0u8; 12];
    member.read_frames_into(3, &mut buf[..6]).unwrap();
    assert_eq!(buf[..6], [9, 0, 10, 0, 11, 0]);
    for err in [
        member.read_frames_into(3, &mut buf).unwrap_err(),
        member.read_frames_into(0, &mut buf[..5]).unwrap_err(),
        member.read_frames(2, 9).unwrap_err(),
    ] {
        assert!(
            matches!(err.kind(), ReadErrorKind::Frames { .. }),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.starts_with(&path.display().to_string()) && text.contains("x"),
            "{text}"
        );
    }
}
