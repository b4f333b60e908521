//! Mutation tests of pack reading: packs of several shapes (every entry kind, an empty pack,
//! hundreds of entries in nested directories, unusual alignment) are mutated in their header
//! fields, entry records, string, directory and index tables, inserted into, cut short, then
//! opened, listed, looked up, read and verified. Most cases recompute both checksums after
//! mutating, so that the structural checks, not the checksums, stand between the bytes and the
//! reader. Every call returns `Ok` or a typed error: never a panic, never an allocation larger
//! than the input allows, never a hang (see `testkit::mutation`).
//!
//! A failing case prints its sample and mutations in Rust syntax; paste them into
//! `regressions` below.

mod common;
use testkit::mutation;

#[global_allocator]
static ALLOC: mutation::CountingAlloc = mutation::CountingAlloc;

use std::io::Cursor;
use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

use common::{finish, fix_checksums, npy_bytes, small_pack};
use mutation::{Mutation, Runner, Sample, apply, show};
use treepack::format::SEEDED_HEADER_LEN;
use treepack::{EntryMeta, Pack, PackWriter};

/// A pack is read in place: copies (`read_to_string`, a `FileReader` read to the end, npy
/// frames) take at most the input's size again, with a `Vec`'s doubling; the slack covers the
/// small per-query allocations (paths, listings).
const FACTOR: usize = 3;
const SLACK: usize = 64 << 10;

/// Hundreds of entries in nested directories: a larger index, longer probes.
fn wide_pack() -> Vec<u8> {
    let mut w = PackWriter::new(Cursor::new(Vec::new())).unwrap();
    for d in 0..6 {
        for f in 0..30 {
            let path = format!("dir{d}/sub{}/file{f:03}.txt", f % 3);
            w.add_bytes(&path, path.as_bytes(), EntryMeta::file())
                .unwrap();
        }
    }
    w.add_bytes("top.npy", &npy_bytes(), EntryMeta::file())
        .unwrap();
    finish(w)
}

/// Data packed without padding (alignment 1), and alignment 8.
fn aligned_pack(alignment: u64) -> Vec<u8> {
    let mut w = PackWriter::with_alignment(Cursor::new(Vec::new()), alignment).unwrap();
    w.add_bytes("one", b"1", EntryMeta::file()).unwrap();
    w.add_bytes("three", b"333", EntryMeta::file()).unwrap();
    w.add_bytes("n/x.npy", &npy_bytes(), EntryMeta::file())
        .unwrap();
    finish(w)
}

/// Where a pack's header fields, entry records and tables are.
fn structure(name: &str, bytes: Vec<u8>) -> Sample {
    let pack = Pack::from_vec(bytes.clone()).unwrap();
    let h = *pack.header();
    drop(pack);
    let mut sample = Sample::new(name, bytes.clone())
        .hot(0..SEEDED_HEADER_LEN as usize)
        .hot(h.entries_offset as usize..bytes.len());
    for (off, width) in [
        (8, 2),
        (12, 4),
        (16, 4),
        (20, 4),
        (24, 8),
        (32, 8),
        (40, 8),
        (48, 8),
        (56, 8),
        (64, 8),
        (72, 8),
        (80, 8),
        (88, 8),
        (96, 8),
        (104, 4),
        (108, 4),
        (128, 8),
    ] {
        sample = sample.field(off, width);
    }
    // The records of the first entries and the last: path, parent, kind, a, b.
    let n = h.entry_count as usize;
    for e in (0..n.min(5)).chain(n.saturating_sub(2)..n) {
        let rec = h.entries_offset as usize + e * 64;
        for (off, width) in [(0, 8), (8, 4), (12, 4), (16, 1), (40, 8), (48, 8)] {
            sample = sample.field(rec + off, width);
        }
    }
    // The first directory-table items and the first index slots' entry numbers.
    for i in 0..4 {
        sample = sample.field(h.dirs_offset as usize + 4 * i, 4);
    }
    for s in 0..8 {
        sample = sample.field(h.index_offset as usize + 8 * s + 4, 4);
    }
    sample
}

fn samples() -> Vec<Sample> {
    let mut empty = PackWriter::new(Cursor::new(Vec::new())).unwrap();
    empty.add_dir("", EntryMeta::dir()).ok();
    vec![
        structure("every kind", small_pack()),
        structure("empty", finish(empty)),
        structure("wide", wide_pack()),
        structure("alignment 1", aligned_pack(1)),
        structure("alignment 8", aligned_pack(8)),
    ]
}

/// How far cases got, to check that mutations reach past the first check.
static OPENED: AtomicUsize = AtomicUsize::new(0);
static VERIFIED: AtomicUsize = AtomicUsize::new(0);

/// Everything a reader can do with a pack ([`common::exercise`]), counted.
fn exercise(pack: &Pack) {
    OPENED.fetch_add(1, Relaxed);
    if common::exercise(pack) {
        VERIFIED.fetch_add(1, Relaxed);
    }
}

fn run(runner: &mut Runner, sample: &Sample, edits: &[Vec<Mutation>], path: &Path) {
    for (i, mutations) in edits.iter().enumerate() {
        let mut bytes = apply(&sample.bytes, mutations);
        // Three cases in four get valid checksums; every eighth goes through a file.
        let fixed = i % 4 != 0;
        if fixed {
            fix_checksums(&mut bytes);
        }
        let through_file = i % 8 == 1;
        if through_file {
            mutation::overwrite(path, &bytes);
        }
        let what = format!(
            "sample {:?}, mutations {}{}{}",
            sample.name,
            show(mutations),
            if fixed { ", checksums fixed" } else { "" },
            if through_file {
                ", opened from a file"
            } else {
                ""
            },
        );
        let len = bytes.len();
        runner.case(&what, len, move || {
            let pack = match through_file {
                true => Pack::open(path),
                false => Pack::from_vec(bytes),
            };
            if let Ok(pack) = pack {
                exercise(&pack);
            }
        });
    }
}

#[test]
fn mutated_packs_are_errors_never_panics() {
    let mut runner = Runner::new("filepack mutations", FACTOR, SLACK);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.fpack");
    for sample in samples() {
        // The pack as written verifies.
        let bytes = sample.bytes.clone();
        runner.case(&format!("sample {:?} as written", sample.name), 0, || {
            Pack::from_vec(bytes).unwrap().verify().unwrap();
        });
        let mut edits = sample.field_edits();
        edits.extend(sample.truncations(60));
        edits.extend(sample.random_edits(0x0066_7061, 500));
        // Every byte of the header.
        let header = Sample::new(sample.name.clone(), sample.bytes.clone()).hot(0..120);
        edits.extend(header.byte_edits());
        run(&mut runner, &sample, &edits, &path);
    }
    let cases = runner.cases();
    runner.finish();
    let (opened, verified) = (OPENED.load(Relaxed), VERIFIED.load(Relaxed));
    eprintln!("{cases} cases: {opened} opened, {verified} verified");
    assert!(cases > 3000, "{cases} cases");
    assert!(opened > cases / 10 && verified > 100, "{opened} opened");
}

/// Cases that failed once, named after what they broke.
#[test]
fn regressions() {
    let mut runner = Runner::new("filepack regressions", FACTOR, SLACK);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.fpack");
    let samples = samples();
    let sample = |name: &str| samples.iter().find(|s| s.name == name).unwrap();
    use mutation::*;
    let cases: Vec<(&str, &Sample, Vec<Mutation>)> = vec![(
        "entry count at u64::MAX",
        sample("every kind"),
        vec![Write {
            at: 32,
            bytes: vec![0xff; 8],
        }],
    )];
    for (name, sample, mutations) in cases {
        let mut bytes = apply(&sample.bytes, &mutations);
        fix_checksums(&mut bytes);
        runner.case(name, bytes.len(), || {
            if let Ok(pack) = Pack::from_vec(bytes) {
                exercise(&pack);
            }
        });
    }
    mutation::overwrite(&path, b"");
    runner.case("an empty file", 0, || assert!(Pack::open(&path).is_err()));
    runner.finish();
}
