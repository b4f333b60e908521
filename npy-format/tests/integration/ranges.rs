//! `.npy` files read by ranges ([`NpyReader`] over a [`ByteSource`]): the request counts the
//! layout allows, the same bytes as the map, typed errors; and (feature `remote`, with the S3
//! server `cargo xtask test` starts) the same from object storage.

use npy_format::source::{ByteSource, CountingSource, FileSource, MemorySource};
use npy_format::{DType, FrameSource, Header, NpyFile, NpyReader, ReadErrorKind, ReadOptions};
use proptest::prelude::*;

fn npy_bytes(rows: u64, cols: u64) -> Vec<u8> {
    let data: Vec<u32> = (0..(rows * cols) as u32).collect();
    let mut bytes = Vec::new();
    npy_format::write_array(&mut bytes, &data, &[rows, cols], false).unwrap();
    bytes
}

#[test]
fn an_open_is_one_request_and_each_frame_range_one_more() {
    let source = CountingSource::new(MemorySource::new(npy_bytes(1000, 8), "m.npy"));
    let mut npy = NpyReader::open(&source).unwrap();
    assert_eq!(source.requests(), 1);
    assert_eq!(npy.header().shape, vec![1000, 8]);
    let frames = npy.read_frames(990, 1000).unwrap();
    assert_eq!(frames.len(), 10 * 32);
    assert_eq!(&frames[..4], &(990u32 * 8).to_le_bytes());
    assert_eq!(source.requests(), 2);
    npy.read_frames(0, 1).unwrap();
    assert_eq!(source.requests(), 3);
}

#[test]
fn a_header_longer_than_the_first_request_costs_a_second() {
    // A record of 2000 fields: a header of ~30 KB, past HEAD_BYTES.
    let fields: Vec<String> = (0..2000)
        .map(|i| format!("('field{i:04}', '<u1')"))
        .collect();
    let dtype = DType::parse(&format!("[{}]", fields.join(", "))).unwrap();
    let header = Header::new(dtype, false, vec![3]);
    let mut bytes = header.to_bytes().unwrap();
    assert!(bytes.len() > npy_format::HEAD_BYTES);
    bytes.extend(std::iter::repeat_n(7u8, 3 * 2000));
    let source = CountingSource::new(MemorySource::new(bytes, "wide.npy"));
    let options = ReadOptions {
        max_header_size: 1 << 20,
    };
    let mut npy = NpyReader::open_with(&source, options).unwrap();
    assert_eq!(source.requests(), 2);
    assert_eq!(npy.read_frames(2, 3).unwrap(), vec![7u8; 2000]);
    assert_eq!(source.requests(), 3);
}

#[test]
fn truncated_and_foreign_objects_are_typed_errors_naming_the_location() {
    let mut bytes = npy_bytes(10, 4);
    bytes.truncate(bytes.len() - 1);
    let err = NpyReader::open(MemorySource::new(bytes, "cut.npy")).unwrap_err();
    assert_eq!(err.path(), std::path::Path::new("cut.npy"));
    assert!(
        matches!(err.kind(), ReadErrorKind::Truncated { .. }),
        "{err}"
    );
    let err = NpyReader::open(MemorySource::new(b"PK\x03\x04".to_vec(), "x.npz")).unwrap_err();
    assert!(matches!(err.kind(), ReadErrorKind::Header { .. }), "{err}");
    let err = NpyReader::open(MemorySource::new(Vec::new(), "empty")).unwrap_err();
    assert!(err.to_string().starts_with("empty: "), "{err}");
    let mut npy = NpyReader::open(MemorySource::new(npy_bytes(2, 2), "m")).unwrap();
    assert!(matches!(
        npy.read_frames(1, 3).unwrap_err().kind(),
        ReadErrorKind::Frames { .. }
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any frame range read by ranges from a file is the map's.
    #[test]
    fn ranges_from_a_file_are_the_maps_bytes(rows in 1u64..300, cols in 1u64..9, a in 0u64..300, n in 0u64..300) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        std::fs::write(&path, npy_bytes(rows, cols)).unwrap();
        let (start, end) = (a.min(rows), (a + n).min(rows));
        let mut map = NpyFile::open(&path).unwrap();
        let mut ranged = NpyReader::open(FileSource::open(&path).unwrap()).unwrap();
        prop_assert_eq!(ranged.header(), map.header());
        prop_assert_eq!(ranged.read_frames(start, end).unwrap(), map.read_frames(start, end).unwrap());
        prop_assert_eq!(ranged.source().len().unwrap(), std::fs::metadata(&path).unwrap().len());
    }
}

#[cfg(feature = "remote")]
mod remote {
    use super::*;
    use npy_format::source::{RemoteSource, RemoteWriter};
    use std::io::Write;

    /// The bucket of the S3-compatible server `cargo xtask test` starts (moto), with the
    /// server's address in `AWS_ENDPOINT_URL` and test credentials in the environment.
    fn bucket() -> String {
        std::env::var("ARRAY_FILES_TEST_BUCKET").expect(
            "ARRAY_FILES_TEST_BUCKET and AWS_ENDPOINT_URL: run `cargo xtask test`, which starts an S3 server",
        )
    }

    fn put(key: &str, bytes: Vec<u8>) {
        let mut w = RemoteWriter::create(&format!("s3://{}/{key}", bucket())).unwrap();
        w.write_all(&bytes).unwrap();
        w.finish().unwrap();
    }

    #[test]
    #[ignore = "needs an S3 server: run `cargo xtask test`"]
    fn an_object_in_s3_reads_as_the_local_file_with_one_request_per_read() {
        let bytes = npy_bytes(5000, 16);
        put("ranges/a.npy", bytes.clone());
        let url = format!("s3://{}/ranges/a.npy", bucket());
        let source = CountingSource::new(RemoteSource::open(&url).unwrap());
        let mut remote = NpyReader::open(&source).unwrap();
        assert_eq!(source.requests(), 1, "the open is one GET");
        let mut local = NpyReader::open(MemorySource::new(bytes, "local")).unwrap();
        assert_eq!(remote.header(), local.header());
        for (a, b) in [(0, 1), (4990, 5000), (123, 2345)] {
            assert_eq!(
                remote.read_frames(a, b).unwrap(),
                local.read_frames(a, b).unwrap()
            );
        }
        assert_eq!(source.requests(), 4, "one GET per frame range");
        // The tail in one request, with the length.
        let (tail, len) = source.read_tail(10).unwrap();
        assert_eq!((tail.len(), len), (10, local.len()));
        let ranges = source
            .read_ranges(&[0..10, 100..200, 300_000..300_010])
            .unwrap();
        assert_eq!(ranges[1].len(), 100);
    }

    #[test]
    #[ignore = "needs an S3 server: run `cargo xtask test`"]
    fn an_upload_in_parts_is_invisible_until_finished_and_a_dropped_one_never_lands() {
        // A key of this run's own: the server may hold an earlier run's object.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let url = format!("s3://{}/uploads/parts-{nanos}.bin", bucket());
        let data: Vec<u8> = (0..2 * npy_format::source::PART_BYTES + 777)
            .map(|i| (i % 251) as u8)
            .collect();
        let mut w = RemoteWriter::create(&url).unwrap();
        w.write_all(&data).unwrap();
        let source = RemoteSource::open(&url).unwrap();
        assert_eq!(
            source.len().unwrap_err().kind(),
            std::io::ErrorKind::NotFound
        );
        w.finish().unwrap();
        let source = RemoteSource::open(&url).unwrap();
        assert_eq!(source.read_at(0, data.len()).unwrap(), data);

        let mut w = RemoteWriter::create(&url).unwrap();
        w.write_all(&data[..npy_format::source::PART_BYTES + 1])
            .unwrap();
        drop(w);
        let source = RemoteSource::open(&url).unwrap();
        assert_eq!(
            source.len().unwrap(),
            data.len() as u64,
            "the old object stays"
        );
    }

    #[test]
    #[ignore = "needs an S3 server: run `cargo xtask test`"]
    fn a_local_file_uploads_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.npy");
        let bytes = npy_bytes(300_000, 10); // 12 MB: more than one part
        std::fs::write(&path, &bytes).unwrap();
        let url = format!("s3://{}/uploads/file-{}.npy", bucket(), std::process::id());
        assert_eq!(
            npy_format::source::upload_file(&path, &url).unwrap(),
            bytes.len() as u64
        );
        let source = RemoteSource::open(&url).unwrap();
        assert_eq!(source.read_at(0, bytes.len()).unwrap(), bytes);
        let missing = npy_format::source::upload_file(dir.path().join("none"), &url);
        assert_eq!(missing.unwrap_err().kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    #[ignore = "needs an S3 server: run `cargo xtask test`"]
    fn a_written_file_uploads_from_a_private_directory_removed_after() {
        let url = format!(
            "s3://{}/uploads/written-{}.npy",
            bucket(),
            std::process::id()
        );
        let mut spool_dir = None;
        npy_format::source::upload_written(&url, |path| {
            spool_dir = Some(path.parent().unwrap().to_path_buf());
            npy_format::write_file(path, &[1u16, 2, 3], &[3]).map_err(std::io::Error::other)
        })
        .unwrap();
        assert!(!spool_dir.unwrap().exists());
        let source = RemoteSource::open(&url).unwrap();
        let mut npy = NpyReader::open(&source).unwrap();
        assert_eq!(
            npy.read_frames(0, 3).unwrap(),
            npy_format::as_bytes(&[1u16, 2, 3])
        );
    }

    #[test]
    #[ignore = "needs an S3 server: run `cargo xtask test`"]
    fn an_empty_object_has_an_empty_head_and_tail() {
        put("ranges/empty", Vec::new());
        let url = format!("s3://{}/ranges/empty", bucket());
        let source = RemoteSource::open(&url).unwrap();
        assert_eq!(source.read_tail(100).unwrap(), (Vec::new(), 0));
        assert_eq!(source.read_head(100).unwrap(), (Vec::new(), 0));
    }

    #[test]
    #[ignore = "needs an S3 server: run `cargo xtask test`"]
    fn a_missing_object_is_not_found_naming_the_url() {
        let url = format!("s3://{}/ranges/missing.npy", bucket());
        let err = NpyReader::open(RemoteSource::open(&url).unwrap()).unwrap_err();
        assert!(err.to_string().contains("missing.npy"), "{err}");
        assert!(
            matches!(err.kind(), ReadErrorKind::Io { source } if source.kind() == std::io::ErrorKind::NotFound),
            "{err}"
        );
    }
}

/// Uploads through [`RemoteWriter`] on an in-memory store: visible only once finished, in one
/// PUT or in parts, and a dropped or failed writer leaves the key as it was.
#[cfg(feature = "remote")]
mod uploads {
    use npy_format::object_store::memory::InMemory;
    use npy_format::source::{ByteSource, PART_BYTES, RemoteSource, RemoteWriter};
    use std::io::Write;
    use std::sync::Arc;

    fn bytes(n: usize, seed: u8) -> Vec<u8> {
        (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()
    }

    fn source(store: &Arc<InMemory>, key: &str) -> RemoteSource {
        RemoteSource::from_store(store.clone(), key.into(), key)
    }

    #[test]
    fn a_large_object_is_visible_only_when_finished_and_reads_back_equal() {
        let store = Arc::new(InMemory::new());
        let data = bytes(2 * PART_BYTES + 12345, 1);
        let mut w = RemoteWriter::from_store(store.clone(), "big".into(), "mem://big");
        for chunk in data.chunks(1 << 20) {
            w.write_all(chunk).unwrap();
        }
        assert_eq!(w.written(), data.len() as u64);
        let before = source(&store, "big").len().unwrap_err();
        assert_eq!(before.kind(), std::io::ErrorKind::NotFound, "{before}");
        w.finish().unwrap();
        let s = source(&store, "big");
        assert_eq!(s.len().unwrap(), data.len() as u64);
        assert_eq!(s.read_at(0, data.len()).unwrap(), data);
    }

    /// What `upload_written` hands its writer: a path not yet made in a directory of its own,
    /// private, removed however the writer ends (the upload's way out is in `remote`).
    #[test]
    fn a_spooled_write_is_private_and_removed_on_an_error_and_a_panic() {
        let url = "s3://bucket-never-reached/run.npz";
        let check = |path: &std::path::Path| {
            assert!(path.ends_with("run.npz"));
            assert!(std::fs::symlink_metadata(path).is_err(), "not made yet");
            let dir = path.parent().unwrap();
            assert_eq!(dir.parent().unwrap(), std::env::temp_dir());
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::symlink_metadata(dir).unwrap().permissions().mode();
                assert_eq!(mode & 0o7777, 0o700);
            }
            std::fs::write(path, b"partial").unwrap();
            dir.to_path_buf()
        };
        let mut dir = None;
        let err = npy_format::source::upload_written(url, |path| -> std::io::Result<()> {
            dir = Some(check(path));
            Err(std::io::Error::other("the writer failed"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "the writer failed");
        assert!(!dir.unwrap().exists());

        let dir = std::sync::Mutex::new(None);
        let panicked = std::panic::catch_unwind(|| {
            npy_format::source::upload_written(url, |path| -> std::io::Result<()> {
                *dir.lock().unwrap() = Some(check(path));
                panic!("the writer panicked");
            })
        });
        assert!(panicked.is_err());
        assert!(!dir.lock().unwrap().take().unwrap().exists());
    }

    #[test]
    fn a_small_object_is_one_put() {
        let store = Arc::new(InMemory::new());
        let mut w = RemoteWriter::from_store(store.clone(), "small".into(), "mem://small");
        w.write_all(b"tiny").unwrap();
        w.finish().unwrap();
        assert_eq!(source(&store, "small").read_at(0, 4).unwrap(), b"tiny");
    }

    #[test]
    fn a_writer_dropped_unfinished_leaves_the_key_as_it_was() {
        let store = Arc::new(InMemory::new());
        let old = bytes(1000, 2);
        let mut w = RemoteWriter::from_store(store.clone(), "k".into(), "mem://k");
        w.write_all(&old).unwrap();
        w.finish().unwrap();
        for size in [10, PART_BYTES + 1, 3 * PART_BYTES] {
            let mut w = RemoteWriter::from_store(store.clone(), "k".into(), "mem://k");
            w.write_all(&bytes(size, 3)).unwrap();
            drop(w);
            let s = source(&store, "k");
            assert_eq!(s.len().unwrap(), old.len() as u64, "after {size} bytes");
            assert_eq!(s.read_at(0, old.len()).unwrap(), old);
        }
        let mut w = RemoteWriter::from_store(store.clone(), "new".into(), "mem://new");
        w.write_all(&bytes(PART_BYTES + 5, 4)).unwrap();
        drop(w);
        assert!(source(&store, "new").len().is_err());
    }
}

/// The bounded cache of hot ranges: the same bytes as the source, fewer requests, its size kept.
#[cfg(feature = "remote")]
mod cache {
    use super::*;
    use npy_format::source::CachedSource;

    proptest! {
        #[test]
        fn cached_reads_are_the_sources_bytes(
            len in 0usize..5000,
            block in 1u64..700,
            capacity in 0u64..6000,
            reads in proptest::collection::vec((0u64..5200, 0usize..1500), 1..30),
            batch in proptest::collection::vec((0u64..5200, 0usize..900), 0..6),
        ) {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + i / 256) as u8).collect();
            let plain = MemorySource::new(bytes.clone(), "m");
            let cached = CachedSource::with_block_size(MemorySource::new(bytes, "m"), capacity, block);
            for (offset, n) in reads {
                let want = plain.read_at(offset, n);
                let got = cached.read_at(offset, n);
                prop_assert_eq!(want.is_ok(), got.is_ok(), "read {}+{}", offset, n);
                if let (Ok(want), Ok(got)) = (want, got) {
                    prop_assert_eq!(want, got);
                }
                prop_assert!(cached.cached_bytes() <= capacity.max(block) + block);
            }
            let ranges: Vec<_> = batch.iter().map(|&(o, n)| o..o + n as u64).collect();
            let want = plain.read_ranges(&ranges);
            let got = cached.read_ranges(&ranges);
            prop_assert_eq!(want.is_ok(), got.is_ok());
            if let (Ok(want), Ok(got)) = (want, got) {
                prop_assert_eq!(want, got);
            }
        }
    }

    #[test]
    fn hot_blocks_cost_no_request_and_a_batch_of_misses_costs_one_call() {
        let bytes: Vec<u8> = (0..1u32 << 20).map(|i| i as u8).collect();
        let counted = CountingSource::new(MemorySource::new(bytes.clone(), "m"));
        let cached = CachedSource::with_block_size(&counted, 1 << 20, 4096);
        cached.read_at(10, 100).unwrap();
        let after_first = counted.requests();
        cached.read_at(200, 3000).unwrap(); // the same block
        assert_eq!(counted.requests(), after_first);
        // Three ranges in distinct blocks, under 1 MiB apart: one read_ranges call of the
        // inner source, which a store answers with one request.
        let got = cached
            .read_ranges(&[100_000..100_010, 500_000..500_100, 900_000..901_000])
            .unwrap();
        assert_eq!(got[1], &bytes[500_000..500_100]);
        assert_eq!(
            counted.requests(),
            after_first + 1,
            "one call for the missing blocks"
        );
        assert_eq!(
            counted.bytes(),
            4096 + (220 * 4096 - 24 * 4096),
            "the first block, then one span from the second missing block to the end of the last, as a store sends it (the gaps included)"
        );
        cached
            .read_ranges(&[100_000..100_010, 500_000..500_100])
            .unwrap();
        assert_eq!(counted.requests(), after_first + 1, "all hot");
    }
}

/// `source::exists` says "absent" only for "not found": a check that fails otherwise is an
/// error, so that a writer refusing to replace an object never replaces one it could not see.
#[test]
#[cfg(unix)]
fn exists_is_false_only_for_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, b"x").unwrap();
    assert!(npy_format::source::exists(file.to_str().unwrap()).unwrap());
    let missing = dir.path().join("missing");
    assert!(!npy_format::source::exists(missing.to_str().unwrap()).unwrap());
    // A path through a file: not "not found" but "not a directory", an error.
    let through = file.join("below");
    assert!(npy_format::source::exists(through.to_str().unwrap()).is_err());
}
