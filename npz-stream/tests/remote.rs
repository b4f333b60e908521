//! Archives read by ranges ([`NpzReader::open_source`]): every read equals the same read of
//! the local file, in the requests the layout allows (counted by `CountingSource`), and damage
//! is a typed error naming the location. With feature `remote` and the S3 server `cargo xtask
//! test` starts: the same from `s3://` URLs, archives of numpy's included, and the `npz` CLI.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use npy_format::source::{ByteSource, CountingSource, FileSource, MemorySource};
use npz_stream::{
    Compression, FrameSource, IndexOptions, NpzReader, NpzWriter, OpenErrorKind, ReadErrorKind,
    WriterOptions,
};
use proptest::prelude::*;

mod common;

type Counted = Arc<CountingSource<MemorySource>>;

/// The archive at `path` as an in-memory source that counts its requests, and a reader of it.
fn counted(path: &Path) -> (Counted, NpzReader) {
    let bytes = std::fs::read(path).unwrap();
    let source = Arc::new(CountingSource::new(MemorySource::new(bytes, "mem://a.npz")));
    let reader = NpzReader::open_source(source.clone()).unwrap();
    (source, reader)
}

/// The requests `f` costs.
fn requests<S: ByteSource, T>(source: &CountingSource<S>, f: impl FnOnce() -> T) -> (T, u64) {
    let before = source.requests();
    let value = f();
    (value, source.requests() - before)
}

fn data(path: &Path) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

/// Everything a reader of `remote` reads equals what one of `local` reads: keys, the listing,
/// every member's bytes and array bytes, and frames `ranges` (fractions of the frame count) of
/// every array.
fn assert_same_reads(local: &NpzReader, remote: &NpzReader, ranges: &[(f64, f64)]) {
    assert_eq!(remote.keys(), local.keys());
    let json = |r: &NpzReader| -> Vec<serde_json::Value> {
        r.list().iter().map(npz_stream::entry_json).collect()
    };
    assert_eq!(json(remote), json(local));
    for key in local.keys() {
        assert_eq!(
            remote.read_bytes(&key).unwrap(),
            local.read_bytes(&key).unwrap(),
            "{key}"
        );
        remote.verify(&key).unwrap();
        let Ok(mut theirs) = local.member(&key) else {
            continue;
        };
        let mut ours = remote.member(&key).unwrap();
        assert_eq!(ours.header(), theirs.header());
        if theirs.check_readable().is_err() {
            continue;
        }
        let count = theirs.frame_count();
        for &(a, b) in ranges {
            let start = (a * count as f64) as u64;
            let end = ((b * count as f64) as u64).clamp(start, count);
            assert_eq!(
                ours.read_frames(start, end).unwrap(),
                theirs.read_frames(start, end).unwrap(),
                "{key} frames {start}..{end} of {count}"
            );
        }
    }
}

/// An archive of `n` members of our writer: stored and seekable deflated (chunks of 4 KiB),
/// several dtypes and shapes.
fn our_archive(path: &Path, compression: Compression, index: bool) {
    let mut npz = WriterOptions::default()
        .compression(compression)
        .chunk_size(4096)
        .index(index)
        .create(path)
        .unwrap();
    let adc: Vec<i16> = (0..60_000).map(|i| (i * 7919 % 4001) as i16).collect();
    npz.add_array("adc", &adc, &[1000, 60]).unwrap();
    let gain: Vec<f64> = (0..333).map(|i| f64::from(i) / 3.0).collect();
    npz.add_array("gain", &gain, &[333]).unwrap();
    npz.add_array("scalar", &[7u64], &[]).unwrap();
    let cube: Vec<u32> = (0..24_000)
        .map(|i: u32| i.wrapping_mul(2_654_435_761) >> 20)
        .collect();
    npz.add_array("cube", &cube, &[40, 30, 20]).unwrap();
    npz.add_file("notes.txt", b"not an array").unwrap();
    npz.finish().unwrap();
}

/// Frame ranges [`assert_same_reads`] reads, as fractions of the frame count.
const RANGES: [(f64, f64); 5] = [
    (0.0, 1.0),
    (0.0, 0.01),
    (0.5, 0.51),
    (0.99, 1.0),
    (0.3, 0.7),
];

/// Our archives (stored, seekable, deflated without seek index) made in `dir`, numpy's
/// (savez, savez_compressed, and the latter indexed by `npz index`).
fn test_archives(dir: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for (name, compression, index) in [
        ("stored.npz", Compression::Stored, true),
        ("seekable.npz", Compression::deflate(), true),
        ("foreign.npz", Compression::deflate(), false),
    ] {
        let path = dir.join(name);
        our_archive(&path, compression, index);
        paths.push(path);
    }
    for name in ["numpy-savez.npz", "numpy-savez-compressed.npz"] {
        paths.push(data(Path::new(name)));
    }
    let indexed = dir.join("numpy-indexed.npz");
    std::fs::copy(data(Path::new("numpy-savez-compressed.npz")), &indexed).unwrap();
    IndexOptions::new()
        .span(64 << 10)
        .index(&indexed, &[])
        .unwrap();
    paths.push(indexed);
    paths
}

#[test]
fn our_archives_and_numpys_read_by_ranges_as_the_local_file() {
    let dir = tempfile::tempdir().unwrap();
    for path in test_archives(dir.path()) {
        let local = NpzReader::open(&path).unwrap();
        let (_, remote) = counted(&path);
        assert_same_reads(&local, &remote, &RANGES);
        // A file read by ranges too.
        let file = NpzReader::open_source(FileSource::open(&path).unwrap()).unwrap();
        assert_same_reads(&local, &file, &RANGES);
    }
}

#[test]
fn an_open_is_one_request_or_two_for_a_directory_past_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npz");
    our_archive(&path, Compression::deflate(), true);
    let (source, reader) = counted(&path);
    assert_eq!(source.requests(), 1);
    assert_eq!(reader.len(), 5);

    // 2000 members of 30-byte names: a central directory of ~150 KB, past the 64 KiB tail.
    let path = dir.path().join("many.npz");
    let mut npz = NpzWriter::create(&path).unwrap();
    for i in 0..2000u32 {
        npz.add_array(&format!("member_with_a_long_name_{i:05}"), &[i], &[1])
            .unwrap();
    }
    npz.finish().unwrap();
    let (source, reader) = counted(&path);
    assert_eq!(source.requests(), 2);
    assert_eq!(reader.keys(), NpzReader::open(&path).unwrap().keys());
    assert_eq!(source.requests(), 2, "the keys need no request");
    // The listing asks for the members' first bytes 256 at a time.
    let (entries, n) = requests(&source, || reader.list());
    assert_eq!((entries.len(), n), (2000, 8));
    assert_eq!(
        reader
            .read_array::<u32>("member_with_a_long_name_01999")
            .unwrap()
            .data,
        [1999]
    );
}

#[test]
fn frames_of_a_stored_member_are_one_request_each_after_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npz");
    our_archive(&path, Compression::Stored, true);
    let local = NpzReader::open(&path).unwrap();
    let (source, reader) = counted(&path);
    // The local header and the NPY header: one request.
    let (member, n) = requests(&source, || reader.member("adc").unwrap());
    assert_eq!(n, 1);
    let mut adc = member;
    let mut theirs = local.member("adc").unwrap();
    for (a, b) in [(0, 1), (999, 1000), (10, 500), (500, 501)] {
        let (frames, n) = requests(&source, || adc.read_frames(a, b).unwrap());
        assert_eq!(n, 1, "frames {a}..{b}");
        assert_eq!(frames, theirs.read_frames(a, b).unwrap());
    }
    // The metadata is cached: another member object costs nothing.
    let (_, n) = requests(&source, || reader.member("adc").unwrap().frame_count());
    assert_eq!(n, 0);
    // A whole stored member in one request.
    let (_, n) = requests(&source, || reader.read_bytes("cube").unwrap());
    assert_eq!(n, 1);
}

#[test]
fn a_whole_member_is_one_request_up_to_8_mib() {
    let dir = tempfile::tempdir().unwrap();
    for compression in [Compression::Stored, Compression::deflate()] {
        let path = dir.path().join("a.npz");
        our_archive(&path, compression, true);
        let local = NpzReader::open(&path).unwrap();
        // First use: the member's headers come with its bytes.
        let (source, reader) = counted(&path);
        let (bytes, n) = requests(&source, || reader.read_bytes("cube").unwrap());
        assert_eq!((bytes, n), (local.read_bytes("cube").unwrap(), 1));
        let (_, n) = requests(&source, || reader.verify("adc").unwrap());
        assert_eq!(n, 1);
        let (array, n) = requests(&source, || reader.read_array::<f64>("gain").unwrap());
        assert_eq!(
            (array.data, n),
            (local.read_array::<f64>("gain").unwrap().data, 1)
        );
        // Known members: one request each still.
        for key in ["cube", "adc", "gain"] {
            let (_, n) = requests(&source, || reader.read_bytes(key).unwrap());
            assert_eq!(n, 1, "{key}");
        }
        let (_, n) = requests(&source, || reader.read_array::<i16>("adc").unwrap());
        assert_eq!(n, 1);
    }
}

#[test]
fn frames_of_a_seekable_compressed_member_are_one_request_each_after_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npz");
    our_archive(&path, Compression::deflate(), true);
    let local = NpzReader::open(&path).unwrap();
    let (source, reader) = counted(&path);
    assert!(reader.info("adc").unwrap().indexed);
    let mut adc = reader.member("adc").unwrap();
    let mut theirs = local.member("adc").unwrap();
    // Backwards, so that no read continues the previous one's inflater: each starts at its
    // chunk and fetches that chunk's compressed bytes (and the flush before it) at once.
    for (a, b) in [(990, 1000), (700, 702), (400, 420), (100, 101), (0, 1)] {
        let (frames, n) = requests(&source, || adc.read_frames(a, b).unwrap());
        assert_eq!(n, 1, "frames {a}..{b}");
        assert_eq!(frames, theirs.read_frames(a, b).unwrap());
    }
    // A range across several chunks is still one request.
    let (frames, n) = requests(&source, || adc.read_frames(300, 600).unwrap());
    assert_eq!(n, 1);
    assert_eq!(frames, theirs.read_frames(300, 600).unwrap());
}

#[test]
fn frames_of_numpys_compressed_member_indexed_by_npz_index_cost_a_window_and_a_span() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("numpy.npz");
    std::fs::copy(data(Path::new("numpy-savez-compressed.npz")), &path).unwrap();
    let report = IndexOptions::new()
        .span(64 << 10)
        .index(&path, &["hits"])
        .unwrap();
    assert!(report.members[0].points >= 1, "{:?}", report.members);
    let local = NpzReader::open(&path).unwrap();
    let (source, reader) = counted(&path);
    // The member's header, then the index's point table: once.
    let (info, n) = requests(&source, || reader.info("hits").unwrap());
    assert!(info.stored_index && info.seekable);
    assert_eq!(n, 2);
    let mut hits = reader.member("hits").unwrap();
    let mut theirs = local.member("hits").unwrap();
    // Past the last point: the point's window, then the compressed bytes from the point on;
    // before the first (at 64 KiB or later, frame 656 or later): the bytes up to it.
    for (a, b, expected) in [(2900, 3000, 2), (0, 10, 1), (2999, 3000, 2), (300, 400, 1)] {
        let (frames, n) = requests(&source, || hits.read_frames(a, b).unwrap());
        assert_eq!(n, expected, "frames {a}..{b}");
        assert_eq!(frames, theirs.read_frames(a, b).unwrap());
    }
    // Anywhere: at most those two (none when the previous read fetched the bytes).
    for (a, b) in [(2000, 2001), (1500, 1600), (700, 800), (1000, 2500)] {
        let (frames, n) = requests(&source, || hits.read_frames(a, b).unwrap());
        assert!(n <= 2, "frames {a}..{b}: {n} requests");
        assert_eq!(frames, theirs.read_frames(a, b).unwrap());
    }
}

#[test]
fn zero_copy_views_of_an_archive_read_by_ranges_are_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npz");
    our_archive(&path, Compression::Stored, true);
    let (_, reader) = counted(&path);
    assert!(!reader.can_view());
    let err = reader.view::<f64>("gain").unwrap_err();
    assert!(
        matches!(err.kind(), ReadErrorKind::NotMapped { member } if member == "gain.npy"),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("mem://a.npz: member gain.npy: "),
        "{err}"
    );
    assert!(err.to_string().contains("read_array"), "{err}");
    assert!(reader.data("gain").is_err());
    // The reads it names work.
    assert_eq!(reader.read_array::<f64>("gain").unwrap().data[3], 1.0);
    // A map is never made: map_archive has no effect.
    let bytes = std::fs::read(&path).unwrap();
    let mapped = npz_stream::ReaderOptions::new()
        .map_archive(true)
        .open_source(MemorySource::new(bytes, "m"))
        .unwrap();
    assert!(!mapped.can_view());
}

/// A source whose reads fail after `ok` requests.
#[derive(Debug)]
struct Failing {
    inner: MemorySource,
    ok: u64,
    seen: std::sync::atomic::AtomicU64,
}

impl ByteSource for Failing {
    fn location(&self) -> &str {
        self.inner.location()
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        if self.seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= self.ok {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                // As the trait says, a source's error does not repeat its location.
                "connection reset".to_owned(),
            ));
        }
        self.inner.read_at(offset, len)
    }
}

#[test]
fn damaged_archives_and_failing_sources_are_typed_errors_naming_the_location() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npz");
    our_archive(&path, Compression::deflate(), true);
    let bytes = std::fs::read(&path).unwrap();
    let open = |bytes: Vec<u8>| NpzReader::open_source(MemorySource::new(bytes, "s3://b/k.npz"));

    // Cut anywhere: not a zip archive, or a corrupt one; never a panic.
    for cut in [0, 10, 21, bytes.len() / 2, bytes.len() - 1] {
        let err = open(bytes[..cut].to_vec()).unwrap_err();
        assert_eq!(err.path(), Path::new("s3://b/k.npz"));
        assert!(
            matches!(
                err.kind(),
                OpenErrorKind::NotZip { .. } | OpenErrorKind::Corrupt { .. }
            ),
            "cut at {cut}: {err}"
        );
    }
    // A local header overwritten: the member is corrupt, the others read.
    let local = NpzReader::open(&path).unwrap();
    let mut crafted = bytes.clone();
    let at = bytes.windows(8).position(|w| w == b"gain.npy").unwrap() - 30;
    crafted[at] ^= 0xff;
    let remote = open(crafted).unwrap();
    let err = remote.read_bytes("gain").unwrap_err();
    assert!(matches!(err.kind(), ReadErrorKind::Corrupt { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("s3://b/k.npz: member gain.npy: corrupt"),
        "{err}"
    );
    assert_eq!(
        remote.read_bytes("adc").unwrap(),
        local.read_bytes("adc").unwrap()
    );
    // Compressed bytes flipped: a whole read fails, typed, as it does locally.
    let adc = local.info("adc").unwrap();
    let header = bytes.windows(7).position(|w| w == b"adc.npy").unwrap() - 30;
    let le16 = |at: usize| usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
    let data_start = header + 30 + le16(header + 26) + le16(header + 28);
    let mut crafted = bytes.clone();
    for i in 0..16 {
        crafted[data_start + adc.compressed_size as usize / 2 + i] ^= 0x5a;
    }
    let cut = dir.path().join("crafted.npz");
    std::fs::write(&cut, &crafted).unwrap();
    let local_err = NpzReader::open(&cut)
        .unwrap()
        .read_bytes("adc")
        .unwrap_err();
    let err = open(crafted).unwrap().read_bytes("adc").unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ReadErrorKind::Inflate { .. } | ReadErrorKind::Crc { .. } | ReadErrorKind::Size { .. }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string().strip_prefix("s3://b/k.npz"),
        local_err.to_string().strip_prefix(cut.to_str().unwrap())
    );
    // A source failing mid-read: an I/O error of the member, its message once the location.
    let failing = Failing {
        inner: MemorySource::new(bytes.clone(), "s3://b/k.npz"),
        ok: 1,
        seen: Default::default(),
    };
    let reader = NpzReader::open_source(failing).unwrap();
    let err = reader.read_bytes("adc").unwrap_err();
    assert!(
        matches!(err.kind(), ReadErrorKind::Io { source, .. } if source.kind() == io::ErrorKind::ConnectionReset),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "s3://b/k.npz: member adc.npy: connection reset"
    );
    assert!(matches!(
        reader.list()[0].content,
        npz_stream::Content::Unreadable(_)
    ));
    let failing = Failing {
        inner: MemorySource::new(bytes, "s3://b/k.npz"),
        ok: 0,
        seen: Default::default(),
    };
    let err = NpzReader::open_source(failing).unwrap_err();
    assert!(matches!(err.kind(), OpenErrorKind::Io { .. }), "{err}");
    assert_eq!(err.to_string(), "s3://b/k.npz: connection reset");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any archive of our writer (members of several dtypes and shapes, stored or deflated
    /// with seek indexes or without, chunks of random size) reads by ranges as the local file does, frame
    /// ranges at random included.
    #[test]
    fn any_archive_reads_by_ranges_as_the_local_file(
        members in prop::collection::vec((0usize..4, 1u64..400, 1u64..9, 0u8..3), 1..5),
        chunk in 512usize..8192,
        ranges in prop::collection::vec((0.0f64..1.0, 0.0f64..0.3), 1..6),
        foreign in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.npz");
        // Deflated members with seek indexes, or as numpy writes them (one stream, none).
        let options = WriterOptions::default().chunk_size(chunk).index(!foreign);
        let mut npz = options.create(&path).unwrap();
        for (i, &(dtype, rows, cols, how)) in members.iter().enumerate() {
            npz.set_compression(if how == 0 { Compression::Stored } else { Compression::deflate() });
            let key = format!("m{i}");
            let n = (rows * cols) as usize;
            let bytes = common::bytes(seed ^ i as u64, n * 8);
            match dtype {
                0 => npz.add_array(&key, &bytes[..n], &[rows, cols]),
                1 => {
                    let v: Vec<i16> = bytes.chunks(2).take(n).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
                    npz.add_array(&key, &v, &[rows, cols])
                }
                2 => {
                    let v: Vec<f32> = (0..n).map(|j| (j % 97) as f32).collect();
                    npz.add_array(&key, &v, &[rows * cols])
                }
                _ => {
                    let v: Vec<u64> = bytes.chunks(8).take(n).map(|b| u64::from(b[0] % 5)).collect();
                    npz.add_array(&key, &v, &[rows, 1, cols])
                }
            }
            .unwrap();
        }
        npz.finish().unwrap();
        let local = NpzReader::open(&path).unwrap();
        let (_, remote) = counted(&path);
        let ranges: Vec<(f64, f64)> = ranges.iter().map(|&(a, n)| (a, (a + n).min(1.0))).collect();
        assert_same_reads(&local, &remote, &ranges);
    }
}

/// The same from S3 (the server `cargo xtask test` starts: moto, its address in
/// `AWS_ENDPOINT_URL`, test credentials in the environment).
#[cfg(feature = "remote")]
mod s3 {
    use super::*;
    use npy_format::FrameSink;
    use npy_format::object_store::aws::AmazonS3Builder;
    use npy_format::object_store::path::Path as StorePath;
    use npy_format::object_store::{ObjectStoreExt, PutPayload};
    use npy_format::source::RemoteSource;

    fn bucket() -> String {
        std::env::var("ARRAY_FILES_TEST_BUCKET").expect(
            "ARRAY_FILES_TEST_BUCKET and AWS_ENDPOINT_URL: run `cargo xtask test`, which starts an S3 server",
        )
    }

    /// Puts `bytes` at `key` of the test bucket; returns its URL.
    fn put(key: &str, bytes: Vec<u8>) -> String {
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(bucket())
            .build()
            .unwrap();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(store.put(&StorePath::from(key), PutPayload::from(bytes)))
            .unwrap();
        format!("s3://{}/{key}", bucket())
    }

    /// [`test_archives`], each with its S3 URL.
    fn archives(dir: &Path) -> Vec<(PathBuf, String)> {
        test_archives(dir)
            .into_iter()
            .map(|path| {
                let name = path.file_name().unwrap().to_str().unwrap();
                let url = put(&format!("npz/{name}"), std::fs::read(&path).unwrap());
                (path, url)
            })
            .collect()
    }

    #[test]
    #[ignore = "needs an S3 server: run `cargo xtask test`"]
    fn archives_in_s3_read_as_the_local_files_in_few_requests() {
        let dir = tempfile::tempdir().unwrap();
        for (path, url) in archives(dir.path()) {
            let local = NpzReader::open(&path).unwrap();
            let remote = NpzReader::open_location(&url).unwrap();
            assert_eq!(remote.path(), Path::new(&url));
            assert!(!remote.can_view());
            assert_same_reads(&local, &remote, &RANGES);
        }
        // The counts, on the real store.
        let path = dir.path().join("seekable.npz");
        let url = format!("s3://{}/npz/seekable.npz", bucket());
        let source = Arc::new(CountingSource::new(RemoteSource::open(&url).unwrap()));
        let reader = NpzReader::open_source(source.clone()).unwrap();
        assert_eq!(source.requests(), 1, "the open is one GET");
        let local = NpzReader::open(&path).unwrap();
        let (mut adc, n) = requests(&source, || reader.member("adc").unwrap());
        assert_eq!(n, 1, "the member's headers: one GET");
        let mut theirs = local.member("adc").unwrap();
        for (a, b) in [(990, 1000), (400, 420), (0, 1)] {
            let (frames, n) = requests(&source, || adc.read_frames(a, b).unwrap());
            assert_eq!(n, 1, "frames {a}..{b}: one GET");
            assert_eq!(frames, theirs.read_frames(a, b).unwrap());
        }
    }

    #[test]
    #[ignore = "needs an S3 server: run `cargo xtask test`"]
    fn a_missing_key_is_not_found_naming_the_url_once() {
        let url = format!("s3://{}/npz/missing.npz", bucket());
        let err = NpzReader::open_location(&url).unwrap_err();
        assert_eq!(err.path(), Path::new(&url));
        assert!(
            matches!(err.kind(), OpenErrorKind::Io { source } if source.kind() == io::ErrorKind::NotFound),
            "{err}"
        );
        let message = err.to_string();
        assert!(message.starts_with(&format!("{url}: ")), "{message}");
        assert_eq!(message.matches(&url).count(), 1, "{message}");
    }

    #[test]
    #[ignore = "needs an S3 server: run `cargo xtask test`"]
    fn truncated_empty_and_crafted_archives_in_s3_are_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npz");
        our_archive(&path, Compression::deflate(), true);
        let bytes = std::fs::read(&path).unwrap();
        for (name, cut) in [("empty", 0), ("tiny", 10), ("half", bytes.len() / 2)] {
            let url = put(&format!("npz/cut-{name}.npz"), bytes[..cut].to_vec());
            let err = NpzReader::open_location(&url).unwrap_err();
            assert_eq!(err.path(), Path::new(&url), "{err}");
            assert!(
                matches!(
                    err.kind(),
                    OpenErrorKind::NotZip { .. } | OpenErrorKind::Corrupt { .. }
                ),
                "{name}: {err}"
            );
        }
        // A member's compressed bytes flipped, and another's local header: typed errors of
        // those members, the rest reads.
        let mut crafted = bytes.clone();
        let at = bytes.windows(8).position(|w| w == b"gain.npy").unwrap() - 30;
        crafted[at + 1] ^= 0xff;
        let header = bytes.windows(8).position(|w| w == b"cube.npy").unwrap() - 30;
        let le16 = |at: usize| usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
        let data_start = header + 30 + le16(header + 26) + le16(header + 28);
        for i in 0..64 {
            crafted[data_start + 200 + i] ^= 0xa5;
        }
        let url = put("npz/crafted.npz", crafted);
        let reader = NpzReader::open_location(&url).unwrap();
        let err = reader.info("gain").unwrap_err();
        assert!(matches!(err.kind(), ReadErrorKind::Corrupt { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with(&format!("{url}: member gain.npy"))
        );
        let err = reader.read_bytes("cube").unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ReadErrorKind::Inflate { .. }
                    | ReadErrorKind::Crc { .. }
                    | ReadErrorKind::Size { .. }
            ),
            "{err}"
        );
        let local = NpzReader::open(&path).unwrap();
        assert_eq!(
            reader.read_bytes("adc").unwrap(),
            local.read_bytes("adc").unwrap()
        );
    }

    /// The `npz` tool on an `s3://` URL prints what it prints for the local file.
    #[cfg(feature = "cli")]
    #[test]
    #[ignore = "needs an S3 server: run `cargo xtask test`"]
    fn the_npz_tool_prints_the_same_for_an_s3_url_as_for_the_local_file() {
        use std::process::Command;
        let npz = |args: &[&str]| {
            let out = Command::new(env!("CARGO_BIN_EXE_npz"))
                .args(args)
                .output()
                .unwrap();
            (
                out.status.code(),
                out.stdout,
                String::from_utf8(out.stderr).unwrap(),
            )
        };
        let dir = tempfile::tempdir().unwrap();
        for (path, url) in archives(dir.path()) {
            let local = path.to_str().unwrap();
            let keys = NpzReader::open(&path).unwrap().keys();
            let mut commands: Vec<Vec<String>> = vec![
                vec!["ls".into()],
                vec!["ls".into(), "--json".into()],
                vec!["test".into()],
            ];
            for key in &keys {
                commands.push(vec!["rows".into(), key.clone(), "0".into()]);
                commands.push(vec!["rows".into(), key.clone(), "1".into(), "2".into()]);
            }
            for command in commands {
                let run = |file: &str| {
                    let mut args: Vec<&str> = vec![&command[0], file];
                    args.extend(command[1..].iter().map(String::as_str));
                    npz(&args)
                };
                let (code, out, err) = run(&url);
                let (local_code, local_out, local_err) = run(local);
                assert_eq!(code, local_code, "{command:?} {url}: {err}");
                assert_eq!(
                    String::from_utf8_lossy(&out).replace(&url, local),
                    String::from_utf8_lossy(&local_out),
                    "npz {command:?} {url}"
                );
                assert_eq!(err.replace(&url, local), local_err);
            }
            for key in &keys {
                let (from_s3, from_file) = (dir.path().join("s3.npy"), dir.path().join("f.npy"));
                let run = |file: &str, out: &Path| {
                    npz(&["extract", file, key, out.to_str().unwrap(), "-f", "--raw"])
                };
                let (code, _, err) = run(&url, &from_s3);
                assert_eq!(code, Some(0), "npz extract {url} {key}: {err}");
                let (code, _, err) = run(local, &from_file);
                assert_eq!(code, Some(0), "npz extract {local} {key}: {err}");
                assert_eq!(
                    std::fs::read(&from_s3).unwrap(),
                    std::fs::read(&from_file).unwrap()
                );
            }
        }
        // Errors name the URL; commands that write refuse one.
        let missing = format!("s3://{}/npz/missing.npz", bucket());
        let (code, _, err) = npz(&["ls", &missing]);
        assert_eq!(code, Some(1));
        assert!(
            err.starts_with(&format!("npz: error: {missing}: ")),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        let (code, _, err) = npz(&["index", &missing]);
        assert_eq!(code, Some(1));
        assert!(err.contains("must be a local file"), "{err}");

        // zip writes to a URL: whole once uploaded, an existing key refused without -f.
        let a = dir.path().join("a.npy");
        let b = dir.path().join("b.npy");
        npy_format::write_file(&a, &(0u16..600).collect::<Vec<_>>(), &[200, 3]).unwrap();
        npy_format::write_file(&b, &[1.5f64; 10], &[10]).unwrap();
        let target = format!("s3://{}/npz/zipped-{}.npz", bucket(), std::process::id());
        let members = [format!("a={}", a.display()), format!("b={}", b.display())];
        let zip = |extra: &[&str]| {
            let mut args = vec!["zip", target.as_str(), &members[0], &members[1]];
            args.extend_from_slice(extra);
            npz(&args)
        };
        let (code, _, err) = zip(&["--compress"]);
        assert_eq!(code, Some(0), "{err}");
        let reader = NpzReader::open_location(&target).unwrap();
        assert_eq!(
            reader.read_array::<u16>("a").unwrap().data,
            (0u16..600).collect::<Vec<_>>()
        );
        assert_eq!(reader.read_array::<f64>("b").unwrap().data, vec![1.5; 10]);
        let (code, _, err) = zip(&[]);
        assert_eq!(code, Some(1));
        assert!(err.contains("exists"), "{err}");
        assert_eq!(zip(&["-f"]).0, Some(0));
    }

    #[test]
    #[ignore = "needs an S3 server: run `cargo xtask test`"]
    fn a_streaming_writer_to_a_url_uploads_the_archive_whole_at_finish() {
        use npy_format::{DType, Header};
        let url = format!("s3://{}/npz/streamed-{}.npz", bucket(), std::process::id());
        let options = npz_stream::NpzWriter::options()
            .compression(npz_stream::Compression::deflate())
            .replace(true);
        let mut npz = options.create_location(&url).unwrap();
        npz.add_array("gain", &[1.5f32, 2.5], &[2]).unwrap();
        let header = Header::new(DType::parse("<u2").unwrap(), false, vec![0, 4]);
        let mut frames = npz.begin_member("adc", &header).unwrap();
        for i in 0..5000u16 {
            frames.append(&[i; 4]).unwrap();
        }
        frames.finish().unwrap();
        let before = RemoteSource::open(&url).unwrap().len();
        assert_eq!(
            before.unwrap_err().kind(),
            io::ErrorKind::NotFound,
            "nothing before finish"
        );
        npz.finish().unwrap();
        let reader = NpzReader::open_location(&url).unwrap();
        assert_eq!(reader.keys(), ["gain", "adc"]);
        let mut adc = reader.member("adc").unwrap();
        assert_eq!(
            adc.read_frames(4999, 5000).unwrap(),
            npy_format::as_bytes(&[4999u16; 4])
        );
        // A writer dropped unfinished uploads nothing; without replace an existing key is refused.
        let other = format!("s3://{}/npz/dropped-{}.npz", bucket(), std::process::id());
        let mut dropped = options.create_location(&other).unwrap();
        dropped.add_array("x", &[0u8; 10], &[10]).unwrap();
        drop(dropped);
        assert!(RemoteSource::open(&other).unwrap().len().is_err());
        let refused = (npz_stream::NpzWriter::options().replace(false))
            .create_location(&url)
            .unwrap_err();
        assert!(
            matches!(refused.kind(), npz_stream::WriteErrorKind::Exists),
            "{refused}"
        );
    }
}
