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
    use npy_format::object_store::aws::AmazonS3Builder;
    use npy_format::object_store::{ObjectStoreExt, PutPayload, path::Path as StorePath};
    use npy_format::source::RemoteSource;

    /// The bucket of the S3-compatible server `cargo xtask test` starts (moto), with the
    /// server's address in `AWS_ENDPOINT_URL` and test credentials in the environment.
    fn bucket() -> String {
        std::env::var("ARRAY_FILES_TEST_BUCKET").expect(
            "ARRAY_FILES_TEST_BUCKET and AWS_ENDPOINT_URL: run `cargo xtask test`, which starts an S3 server",
        )
    }

    fn put(key: &str, bytes: Vec<u8>) {
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(bucket())
            .build()
            .unwrap();
        let rt = tokio_rt();
        rt.block_on(store.put(&StorePath::from(key), PutPayload::from(bytes)))
            .unwrap();
    }

    fn tokio_rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
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
