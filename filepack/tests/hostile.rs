//! Hostile packs: entries nested deeper than any reader follows, index probe bounds that lie,
//! and the packs of version 1.0 (fixed index seed) that must still read.

mod common;

use std::path::Path;

use common::{assert_clean_failure, fix_checksums, small_pack, u64_at};
use treepack::format::{self, MAX_DEPTH};
use treepack::{EntryMeta, Error, ErrorKind, ExtractError, Pack, PackWriter};

/// A pack of the root and one file whose path is `a/a/.../a/f`, `dirs` directories deep, with
/// the root as its parent (as the 60 KB pack): the writer refuses such a path, so it is
/// written as a flat name of the same length and patched in the string table.
fn deep_pack(dirs: usize) -> Vec<u8> {
    let deep = format!("{}f", "a/".repeat(dirs));
    let flat = "x".repeat(deep.len());
    let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    w.add_bytes(&flat, b"deep", EntryMeta::file()).unwrap();
    let mut bytes = common::finish(w);
    // The string table starts with the paths in entry order: the root's (empty), then ours.
    let strings = u64_at(&bytes, 64) as usize;
    assert_eq!(&bytes[strings..strings + flat.len()], flat.as_bytes());
    bytes[strings..strings + deep.len()].copy_from_slice(deep.as_bytes());
    fix_checksums(&mut bytes);
    bytes
}

/// Runs `f` on a thread with a 256 KiB stack: a recursion per directory level overflows it
/// long before 25,000 levels.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn too_deep(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::TooDeep { depth, path } if *depth > MAX_DEPTH && path.starts_with("a/a/") && path.len() < 300)
}

#[test]
fn an_entry_25000_directories_deep_is_refused_by_every_reader() {
    let bytes = deep_pack(25_000);
    assert!(bytes.len() < 100_000);
    let (extracted, walked, verified) = on_small_stack(move || {
        let pack = Pack::from_vec(bytes).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let extracted = pack.extract(dir.path().join("out"));
        let nothing_written =
            std::fs::read_dir(dir.path().join("out")).map_or(true, |mut d| d.next().is_none());
        assert!(nothing_written, "extract wrote before refusing");
        let walked: Vec<Result<String, Error>> = pack
            .walk("")
            .unwrap()
            .map(|e| e.map(|e| e.path().to_owned()))
            .collect();
        (extracted, walked, pack.verify())
    });
    match extracted {
        Err(ExtractError::Pack(e)) => assert!(too_deep(&e), "{e}"),
        other => panic!("extract: {other:?}"),
    }
    assert!(walked[0].is_ok());
    match &walked[1] {
        Err(e) => assert!(too_deep(e), "{e}"),
        other => panic!("walk: {other:?}"),
    }
    assert_eq!(walked.len(), 2);
    assert!(too_deep(&verified.unwrap_err()));
}

#[test]
fn the_cli_refuses_a_deep_pack_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("deep.fpack");
    std::fs::write(&pack, deep_pack(25_000)).unwrap();
    let p = pack.to_str().unwrap();
    let out = dir.path().join("out");
    for args in [
        vec!["extract", p, "-o", out.to_str().unwrap()],
        vec!["verify", p],
        vec!["ls", "-R", p],
    ] {
        let r = common::run_s(&args);
        let msg = assert_clean_failure(&r);
        assert!(msg.contains("components deep"), "{args:?}: {msg}");
        assert!(msg.len() < 600, "{args:?}: a 50 KB path printed whole");
    }
}

#[test]
fn the_depth_limit_is_exact() {
    // MAX_DEPTH components pack, extract and verify; one more does not.
    let ok = format!("{}f", "d/".repeat(MAX_DEPTH - 1));
    let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    w.add_bytes(&ok, b"1", EntryMeta::file()).unwrap();
    let pack = Pack::from_vec(common::finish(w)).unwrap();
    pack.verify().unwrap();
    assert_eq!(pack.walk("").unwrap().count(), MAX_DEPTH + 1);
    assert_eq!(pack.bytes(&ok).unwrap(), b"1");
    let deeper = format!("d/{ok}");
    let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    let err = w.add_bytes(&deeper, b"1", EntryMeta::file()).unwrap_err();
    assert!(
        matches!(err, treepack::BuildError::TooDeep { depth, .. } if depth == MAX_DEPTH + 1),
        "{err}"
    );
}

#[test]
fn a_version_1_0_pack_still_reads() {
    // Written by the 1.0 writer (fixed seed 0, 128-byte header) from: a.txt ("hello"),
    // d/b.bin ("x"), d/link -> ../a.txt.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1_0.fpack");
    let pack = Pack::open(&path).unwrap();
    let h = *pack.header();
    assert_eq!((h.version, h.flags, h.header_len), ((1, 0), 0, 128));
    assert_eq!(h.index_seed, 0);
    assert_eq!(h.hash_path("d/b.bin"), format::hash_path("d/b.bin"));
    pack.verify().unwrap();
    assert_eq!(pack.bytes("a.txt").unwrap(), b"hello");
    assert_eq!(pack.bytes("d/b.bin").unwrap(), b"x");
    assert_eq!(pack.bytes("d/link").unwrap(), b"hello");
    assert_eq!(pack.read_link("d/link").unwrap(), "../a.txt");
    let many = pack.bytes_many(&["d/b.bin", "a.txt", "nope"]);
    assert_eq!(many[0].as_deref().unwrap(), b"x");
    assert_eq!(many[1].as_deref().unwrap(), b"hello");
    assert!(many[2].is_err());
    let paths: Vec<_> = pack.walk("").unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(paths, ["", "a.txt", "d", "d/b.bin", "d/link"]);
    let dir = tempfile::tempdir().unwrap();
    pack.extract(dir.path()).unwrap();
    assert_eq!(std::fs::read(dir.path().join("d/link")).unwrap(), b"hello");
    // And through the CLI.
    let r = common::run_s(&["cat", path.to_str().unwrap(), "d/b.bin"]);
    assert!(r.status.success());
    assert_eq!(r.stdout, b"x");
}

#[test]
fn a_seeded_pack_with_an_unknown_required_flag_or_a_bad_seed_is_refused() {
    let good = small_pack();
    let mut flagged = good.clone();
    flagged[12] |= 0x02;
    fix_checksums(&mut flagged);
    let err = Pack::from_vec(flagged).unwrap_err();
    assert!(
        err.to_string().contains("unknown required flags 0x0002"),
        "{err}"
    );
    // The seed is covered by the header extension's checksum.
    let mut seed = good.clone();
    seed[130] ^= 1;
    let err = Pack::from_vec(seed).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Checksum { .. }), "{err}");
    // A 1.0 reader, which knows no flags, refuses the pack: flag bit 0 is a required flag.
    assert_eq!(
        u32::from_le_bytes(good[12..16].try_into().unwrap()) & 0xffff,
        1
    );
}

#[test]
fn verify_checks_the_recorded_probe_bound() {
    let good = small_pack();
    let h = *Pack::from_vec(good.clone()).unwrap().header();
    for recorded in [h.index_max_probe + 1, h.index_slots() as u32 - 1] {
        let mut bytes = good.clone();
        bytes[108..112].copy_from_slice(&recorded.to_le_bytes());
        fix_checksums(&mut bytes);
        let pack = Pack::from_vec(bytes).unwrap();
        let err = pack.verify().unwrap_err();
        assert!(
            err.to_string().contains("longest index probe"),
            "{recorded}: {err}"
        );
        // Lookups still work: the bound only limits how far they look.
        assert_eq!(pack.bytes("a/b/c.txt").unwrap(), b"hello world");
        assert!(pack.bytes("missing").is_err());
    }
}
