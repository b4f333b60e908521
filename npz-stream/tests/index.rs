//! Stored access-point indexes (`npz index`): archives as numpy's `savez_compressed` writes
//! them (one deflate stream), indexed in place or in a sidecar; frame reads equal, the old
//! archive's bytes untouched, stale and crafted indexes ignored, never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;

use npy_format::FrameSource;
use npz_stream::{
    Compression, IndexOptions, NpzReader, NpzWriter, ReadErrorKind, ResultKind, WriteErrorKind,
};
use proptest::prelude::*;

const N: u64 = 600_000;

/// A compressible, not constant, `u32` sequence.
fn data() -> Vec<u32> {
    (0..N as u32)
        .map(|i| (i / 3).wrapping_mul(2_654_435_761) >> 20)
        .collect()
}

fn le(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// An archive laid out as numpy's `savez_compressed` writes it (no seek index): a big deflated
/// member `t` (frames of 4 `u32`), a small deflated one and a stored one.
fn foreign(dir: &Path) -> (PathBuf, Vec<u32>) {
    let path = dir.join("a.npz");
    let data = data();
    let options = NpzWriter::options()
        .compression(Compression::deflate())
        .index(false);
    let mut npz = options.create(&path).unwrap();
    npz.add_array("t", &data, &[N / 4, 4]).unwrap();
    npz.add_array("small", &[1u16, 2, 3], &[3]).unwrap();
    npz.set_compression(Compression::Stored);
    npz.add_array("s", &[5u8; 100], &[100]).unwrap();
    npz.finish().unwrap();
    (path, data)
}

/// Frames at random (and at the ends, and across points) equal the data.
fn check_frames(reader: &NpzReader, data: &[u32]) {
    let mut t = reader.member("t").unwrap();
    let frames = N / 4;
    let mut x = 12345u64;
    let mut ranges = vec![(0, 1), (frames - 8, frames), (frames / 2, frames / 2 + 100)];
    for _ in 0..40 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let a = (x >> 33) % frames;
        let b = (a + 1 + (x >> 13) % 2000).min(frames);
        ranges.push((a, b));
    }
    for (a, b) in ranges {
        let got = t.read_frames(a, b).unwrap();
        assert_eq!(
            got,
            le(&data[(a * 4) as usize..(b * 4) as usize]),
            "[{a}, {b})"
        );
    }
}

fn index_small(path: &Path) -> npz_stream::IndexReport {
    IndexOptions::new().span(64 << 10).index(path, &[]).unwrap()
}

#[test]
fn an_indexed_archive_reads_equal_and_keeps_every_old_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (path, data) = foreign(dir.path());
    let before = std::fs::read(&path).unwrap();
    let report = index_small(&path);
    assert_eq!(report.path, path);
    let by_key = |k: &str| report.members.iter().find(|m| m.key == k).unwrap();
    assert!(by_key("t").points >= 20, "{report:?}");
    assert_eq!(by_key("t").skipped, None);
    assert_eq!(
        by_key("small").skipped,
        Some("not longer than the span: nothing to skip")
    );
    assert!(by_key("s").skipped.is_some());
    let after = std::fs::read(&path).unwrap();
    assert!(after.len() > before.len());
    assert!(after[..before.len()] == before[..], "an old byte changed");

    let reader = NpzReader::open(&path).unwrap();
    assert_eq!(reader.keys(), ["t", "small", "s"]);
    let info = reader.info("t").unwrap();
    assert!(info.stored_index && info.seekable && !info.indexed);
    for key in reader.keys() {
        reader.verify(&key).unwrap();
    }
    check_frames(&reader, &data);

    // A second run has nothing to do, and writes nothing.
    let again = index_small(&path);
    assert_eq!(by_key("t").index_bytes, report.members[0].index_bytes);
    assert_eq!(again.members[0].skipped, Some("indexed already"));
    assert_eq!(std::fs::read(&path).unwrap(), after);

    // An append keeps the index (the entry's record is kept verbatim).
    let mut npz = NpzWriter::append(&path).unwrap();
    npz.add_array("more", &[7u8], &[1]).unwrap();
    npz.finish().unwrap();
    let reader = NpzReader::open(&path).unwrap();
    assert!(reader.info("t").unwrap().stored_index);
    check_frames(&reader, &data);
}

#[test]
fn without_the_index_reads_are_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let (path, data) = foreign(dir.path());
    index_small(&path);
    let reader = NpzReader::options()
        .stored_index(false)
        .open(&path)
        .unwrap();
    assert!(!reader.info("t").unwrap().seekable);
    check_frames(&reader, &data);
    // In-memory indexes on first use, when asked, still work beside a stored one.
    let reader = NpzReader::options()
        .index_foreign(true)
        .open(&path)
        .unwrap();
    check_frames(&reader, &data);
}

#[test]
fn a_sidecar_leaves_the_archive_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (path, data) = foreign(dir.path());
    let before = std::fs::read(&path).unwrap();
    let options = IndexOptions::new().span(64 << 10).sidecar(true);
    let report = options.index(&path, &["t"]).unwrap();
    assert_eq!(report.path, npz_stream::index_sidecar_path(&path));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let reader = NpzReader::open(&path).unwrap();
    assert!(reader.info("t").unwrap().stored_index);
    check_frames(&reader, &data);
    // An existing sidecar is replaced only when asked.
    let err = options.index(&path, &["t"]).unwrap_err();
    assert!(matches!(err.kind(), WriteErrorKind::Exists));
    options.clone().replace(true).index(&path, &["t"]).unwrap();

    // The archive replaced by another with different data: the sidecar is stale, ignored.
    let other: Vec<u32> = data.iter().map(|v| v ^ 1).collect();
    let mut npz = NpzWriter::options()
        .compression(Compression::deflate())
        .index(false)
        .replace(true)
        .create(&path)
        .unwrap();
    npz.add_array("t", &other, &[N / 4, 4]).unwrap();
    npz.finish().unwrap();
    let reader = NpzReader::open(&path).unwrap();
    assert!(!reader.info("t").unwrap().stored_index);
    check_frames(&reader, &other);
}

/// Where the index of member `t` lies, from its locator field: (offset, length).
fn locator(bytes: &[u8]) -> (usize, usize) {
    let eocd = bytes.len() - 22;
    let cd = u32::from_le_bytes(bytes[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    let name_len = u16::from_le_bytes([bytes[cd + 28], bytes[cd + 29]]) as usize;
    let extra_len = u16::from_le_bytes([bytes[cd + 30], bytes[cd + 31]]) as usize;
    assert_eq!(&bytes[cd + 46..cd + 46 + name_len], b"t.npy");
    let extra = &bytes[cd + 46 + name_len..cd + 46 + name_len + extra_len];
    let mut at = 0;
    while at + 4 <= extra.len() {
        let len = u16::from_le_bytes([extra[at + 2], extra[at + 3]]) as usize;
        if &extra[at..at + 2] == b"nx" {
            let d = &extra[at + 4..at + 4 + len];
            let offset = u64::from_le_bytes(d[1..9].try_into().unwrap()) as usize;
            let len = u64::from_le_bytes(d[9..17].try_into().unwrap()) as usize;
            return (offset, len);
        }
        at += 4 + len;
    }
    panic!("no locator");
}

/// The archive at `path` with its index of `t` changed by `edit` (on the point table and
/// footer, `tail`), the table's CRC recomputed so only the other checks can refuse it.
fn craft(path: &Path, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    let (offset, len) = locator(&bytes);
    let end = offset + len;
    let n = u32::from_le_bytes(bytes[end - 8..end - 4].try_into().unwrap()) as usize;
    let tail_start = end - 56 - 27 * n;
    let mut tail = bytes[tail_start..end].to_vec();
    edit(&mut tail);
    let tl = tail.len();
    let crc = crc32fast::hash(&tail[..tl - 4]);
    tail[tl - 4..].copy_from_slice(&crc.to_le_bytes());
    // Same length: the edit must keep it (or the test writes past the index).
    bytes.splice(tail_start..end, tail);
    bytes
}

/// Reads of `t` from the archive `bytes`: the index ignored (or a typed error), never a panic;
/// returns whether the index was taken.
fn read_crafted(dir: &Path, bytes: &[u8], data: &[u32]) -> bool {
    let path = dir.join("crafted.npz");
    std::fs::write(&path, bytes).unwrap();
    let reader = NpzReader::open(&path).unwrap();
    let stored = reader.info("t").unwrap().stored_index;
    let mut t = reader.member("t").unwrap();
    let frames = N / 4;
    for (a, b) in [(frames - 8, frames), (frames / 3, frames / 3 + 5), (1, 2)] {
        match t.read_frames(a, b) {
            Ok(got) if !stored => assert_eq!(got, le(&data[(a * 4) as usize..(b * 4) as usize])),
            Ok(_) => {}
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    ReadErrorKind::Inflate { .. } | ReadErrorKind::Size { .. }
                ),
                "{e}"
            ),
        }
    }
    // Whole reads never use an index.
    assert_eq!(reader.read_bytes("t").unwrap().len() as u64, 128 + 4 * N);
    stored
}

fn set_u64(tail: &mut [u8], at: usize, v: u64) {
    tail[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn crafted_indexes_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (path, data) = foreign(dir.path());
    index_small(&path);
    let compressed = NpzReader::open(&path)
        .unwrap()
        .info("t")
        .unwrap()
        .compressed_size;
    // The untouched index is taken.
    assert!(read_crafted(dir.path(), &craft(&path, |_| {}), &data));
    type Edit = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "a point past the member's end",
            Box::new(|t| set_u64(t, 27, 1 << 40)),
        ),
        (
            "compressed offset past the data",
            Box::new(move |t| set_u64(t, 8, compressed + 1)),
        ),
        ("a bit offset over 7", Box::new(|t| t[16] = 9)),
        ("a window too short", Box::new(|t| t[17] = 1)),
        ("a packed window too long", Box::new(|t| t[22] = 0xff)),
        (
            "a huge count",
            Box::new(|t| {
                let n = t.len() - 8;
                t[n..n + 4].copy_from_slice(&u32::MAX.to_le_bytes());
            }),
        ),
        (
            "another member's CRC",
            Box::new(|t| {
                let f = t.len() - 56;
                t[f + 12] ^= 1;
            }),
        ),
        (
            "another version",
            Box::new(|t| {
                let f = t.len() - 56;
                t[f + 8] = 2;
            }),
        ),
    ];
    for (what, edit) in cases {
        let bytes = craft(&path, edit);
        assert!(!read_crafted(dir.path(), &bytes, &data), "{what}: taken");
    }
    // A locator pointing past the central directory, or at the member's own data.
    let mut bytes = std::fs::read(&path).unwrap();
    let (offset, _) = locator(&bytes);
    let at = bytes
        .windows(21)
        .rposition(|w| &w[..4] == b"nx\x11\x00")
        .unwrap();
    for bad in [u64::MAX - 3, bytes.len() as u64, 10] {
        bytes[at + 5..at + 13].copy_from_slice(&bad.to_le_bytes());
        assert!(!read_crafted(dir.path(), &bytes, &data), "offset {bad}");
    }
    bytes[at + 5..at + 13].copy_from_slice(&(offset as u64).to_le_bytes());
    assert!(read_crafted(dir.path(), &bytes, &data));
    // A window that does not inflate to what its CRC says: that point is not used, the
    // read starts earlier and is right.
    let bytes = craft(&path, |t| {
        let n = (t.len() - 56) / 27;
        for i in 0..n {
            t[i * 27 + 23] ^= 0x55;
        }
    });
    let path2 = dir.path().join("windows.npz");
    std::fs::write(&path2, &bytes).unwrap();
    check_frames(&NpzReader::open(&path2).unwrap(), &data);
}

#[test]
fn a_changed_member_makes_its_index_stale() {
    let dir = tempfile::tempdir().unwrap();
    let (path, data) = foreign(dir.path());
    index_small(&path);
    // The central directory says another CRC-32 (as after a rewrite of the member).
    let mut bytes = std::fs::read(&path).unwrap();
    let eocd = bytes.len() - 22;
    let cd = u32::from_le_bytes(bytes[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    bytes[cd + 16] ^= 1;
    let stale = dir.path().join("stale.npz");
    std::fs::write(&stale, &bytes).unwrap();
    let reader = NpzReader::open(&stale).unwrap();
    assert!(!reader.info("t").unwrap().stored_index);
    // Inflated from the start (a read that reached the end would check the CRC-32 and fail).
    let frames = N / 4;
    let (a, b) = (frames - 9, frames - 1);
    let got = reader.member("t").unwrap().read_frames(a, b).unwrap();
    assert_eq!(got, le(&data[(a * 4) as usize..(b * 4) as usize]));
    assert!(matches!(
        reader.read_bytes("t").err_kind(),
        Some(ReadErrorKind::Crc { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any change of any byte of the point table and footer (the CRC recomputed): no panic, no
    /// hang; reads are right or a typed error, whole reads always right.
    #[test]
    fn mutated_indexes_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let dir = tempfile::tempdir().unwrap();
        let (path, data) = fixture();
        let bytes = craft(&path, |t| {
            let l = t.len() - 4;
            for (at, v) in &edits {
                t[at % l] = *v;
            }
        });
        read_crafted(dir.path(), &bytes, &data);
    }
}

/// One indexed archive for every proptest case.
fn fixture() -> (PathBuf, Vec<u32>) {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = foreign(dir.path());
        index_small(&path);
        dir
    });
    (dir.path().join("a.npz"), data())
}

fn npz(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_npz"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_cli_indexes_and_rows_reads_through_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let (path, data) = foreign(dir.path());
    let p = path.to_str().unwrap();
    let out = npz(&["index", p, "t", "--span", "65536"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("t: ") && text.contains("access points"),
        "{text}"
    );
    let frames = N / 4;
    let out = npz(&["rows", p, "t", &(frames - 8).to_string()]);
    assert!(out.status.success());
    assert_eq!(out.stdout, le(&data[data.len() - 32..]));
    let ls = String::from_utf8(npz(&["ls", p]).stdout).unwrap();
    assert!(ls.lines().nth(1).unwrap().ends_with("seekable"), "{ls}");

    // --sidecar refuses an existing FILE.idx without -f, with the workspace's words.
    assert!(npz(&["index", p, "--sidecar", "-q"]).status.success());
    let out = npz(&["index", p, "--sidecar"]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("npz: error: ") && err.contains("pass -f/--force"),
        "{err}"
    );
    assert!(npz(&["index", p, "--sidecar", "-f", "-q"]).status.success());
    let out = npz(&["index", p, "nope"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("no member 'nope'")
    );
}

#[test]
fn damaged_sidecars_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (path, data) = foreign(dir.path());
    IndexOptions::new()
        .span(64 << 10)
        .sidecar(true)
        .index(&path, &["t"])
        .unwrap();
    let sidecar = npz_stream::index_sidecar_path(&path);
    let good = std::fs::read(&sidecar).unwrap();
    let frames = N / 4;
    let mut x = 99u64;
    let mut damaged: Vec<Vec<u8>> = vec![Vec::new(), good[..good.len() / 2].to_vec()];
    for cut in [1, 8, 20, 31, 32, 33, 60] {
        damaged.push(good[..good.len() - cut].to_vec());
    }
    for _ in 0..40 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let mut bytes = good.clone();
        let at = (x >> 33) as usize % bytes.len();
        bytes[at] ^= 1 << ((x >> 7) % 8);
        damaged.push(bytes);
    }
    for bytes in damaged {
        std::fs::write(&sidecar, &bytes).unwrap();
        let reader = NpzReader::open(&path).unwrap();
        let _ = reader.info("t").unwrap();
        let mut t = reader.member("t").unwrap();
        for (a, b) in [(frames - 9, frames - 1), (frames / 2, frames / 2 + 3)] {
            // Every byte is under a CRC-32 (the entries', each table's, each window's): a
            // damaged part is ignored and the read is right.
            let got = t.read_frames(a, b).unwrap();
            assert_eq!(got, le(&data[(a * 4) as usize..(b * 4) as usize]));
        }
    }
}
