//! Broken packs: empty, truncated, garbage, and a flipped byte anywhere (with and without fixed-up
//! checksums) give errors, never a panic or a read outside the file.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::{fix_checksums, small_pack};
use treepack::format::{self, SEEDED_HEADER_LEN};
use treepack::{ErrorKind, ExtractOptions, Pack};

fn exercise_bytes(bytes: Vec<u8>, what: &str) -> Option<Pack> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let pack = Pack::from_vec(bytes).ok()?;
        common::exercise(&pack);
        Some(pack)
    }));
    match result {
        Ok(pack) => pack,
        Err(_) => panic!("panic on {what}"),
    }
}

#[test]
fn not_packs() {
    for (bytes, what) in [
        (Vec::new(), "empty"),
        (vec![0x89], "one byte"),
        (format::MAGIC.to_vec(), "magic only"),
        (vec![0u8; 127], "127 zeros"),
        (vec![0u8; 4096], "4096 zeros"),
        (b"PK\x03\x04 a zip file, not a pack".repeat(50), "garbage"),
        ((0..=255u8).cycle().take(10_000).collect(), "byte ramp"),
    ] {
        let err = Pack::from_vec(bytes).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::NotAPack { .. } | ErrorKind::Corrupt { .. }
            ),
            "{what}: {err}"
        );
        assert!(!err.to_string().contains('\n'));
    }
    // An unknown major version is refused by name.
    let mut bytes = small_pack();
    bytes[8] = 2;
    fix_checksums(&mut bytes);
    let err = Pack::from_vec(bytes).unwrap_err();
    assert!(err.to_string().contains("format version 2."), "{err}");
}

#[test]
fn truncated_and_extended() {
    let good = small_pack();
    for cut in 0..good.len() {
        let err = Pack::from_vec(good[..cut].to_vec()).unwrap_err();
        assert!(!err.to_string().is_empty(), "cut {cut}");
    }
    let mut longer = good.clone();
    longer.push(0);
    assert!(Pack::from_vec(longer).is_err());

    // Through the file system too.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.fpack");
    for cut in [0, 1, 64, 127, 128, good.len() / 2, good.len() - 1] {
        std::fs::write(&path, &good[..cut]).unwrap();
        assert!(Pack::open(&path).is_err(), "cut {cut}");
    }
}

#[test]
fn every_flipped_byte_is_caught_or_harmless() {
    let good = small_pack();
    let pack = Pack::from_vec(good.clone()).unwrap();
    let h = *pack.header();
    pack.verify().unwrap();
    // Byte ranges of file contents (flips there must fail verify, naming the entry).
    let contents: Vec<(usize, usize, String)> = pack
        .entries()
        .map(|e| e.unwrap())
        .filter_map(|e| {
            let data = e.data()?;
            let start = data.as_ptr() as usize - pack.as_bytes().as_ptr() as usize;
            Some((start, start + data.len(), e.path().to_owned()))
        })
        .collect();
    drop(pack);

    for i in 0..good.len() {
        for mask in [0xffu8, 0x01, 0x80] {
            let mut bytes = good.clone();
            bytes[i] ^= mask;
            let what = format!("byte {i} ^ {mask:#x}");
            let opened = exercise_bytes(bytes, &what);
            if (i as u64) < SEEDED_HEADER_LEN {
                assert!(opened.is_none(), "{what}: a header flip must fail the open");
            } else if (i as u64) >= h.entries_offset {
                // The root's record is checked at open; the rest only by verify.
                if let Some(pack) = opened {
                    let err = pack.verify().unwrap_err();
                    assert!(err.to_string().contains("tables"), "{what}: {err}");
                }
            } else if let Some((_, _, path)) =
                contents.iter().find(|(s, e, _)| (*s..*e).contains(&i))
            {
                let pack = opened.expect("data is not checked at open");
                let err = pack.verify().unwrap_err();
                assert!(err.to_string().contains(path.as_str()), "{what}: {err}");
                assert!(pack.entry(path).unwrap().verify().is_err());
                let strict = Pack::from_vec_with(
                    pack.as_bytes().to_vec(),
                    &treepack::OpenOptions::new().verify_reads(true),
                )
                .unwrap();
                assert!(strict.bytes(path).is_err());
                let batch = strict.bytes_many(&[path.as_str(), path.as_str()]);
                assert!(batch.iter().all(
                    |got| matches!(got, Err(e) if matches!(e.kind(), ErrorKind::Checksum { .. }))
                ));
            }
        }
    }
}

#[test]
fn structural_checks_hold_with_valid_checksums() {
    // Flip every header and table byte, then fix both checksums: only the structural checks
    // stand between the reader and the bytes.
    let good = small_pack();
    let h = *Pack::from_vec(good.clone()).unwrap().header();
    let targets = (0..120).chain(h.entries_offset as usize..good.len());
    let mut opened = 0;
    for i in targets {
        for mask in [0xffu8, 0x01, 0x10] {
            let mut bytes = good.clone();
            bytes[i] ^= mask;
            fix_checksums(&mut bytes);
            if exercise_bytes(bytes, &format!("fixed byte {i} ^ {mask:#x}")).is_some() {
                opened += 1;
            }
        }
    }
    assert!(opened > 0);
}

#[test]
fn random_multi_byte_mutations() {
    let good = small_pack();
    let h = *Pack::from_vec(good.clone()).unwrap().header();
    let mut rng = common::Rng(0x5eed);
    let dir = tempfile::tempdir().unwrap();
    for round in 0..1500 {
        let mut bytes = good.clone();
        let flips = 1 + rng.below(8);
        for _ in 0..flips {
            // Mostly header fields and tables, where structure lives.
            let i = match rng.below(3) {
                0 => rng.below(120) as usize,
                _ => (h.entries_offset + rng.below(good.len() as u64 - h.entries_offset)) as usize,
            };
            bytes[i] = rng.next() as u8;
        }
        fix_checksums(&mut bytes);
        let what = format!("round {round}");
        if let Some(pack) = exercise_bytes(bytes, &what)
            && round % 25 == 0
        {
            // Extraction of a corrupt pack stays inside its destination.
            let base = dir.path().join(format!("r{round}"));
            let dest = base.join("dest");
            std::fs::create_dir_all(&dest).unwrap();
            let options = ExtractOptions::new()
                .permissions(false)
                .skip_unsafe_links(true)
                .verify(false);
            let _ = pack.extract_with(&dest, &options);
            let names: Vec<_> = std::fs::read_dir(&base)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, ["dest"], "{what}: extraction wrote outside dest");
        }
    }
}

#[test]
fn corrupt_index_and_tables_give_errors() {
    let good = small_pack();
    let h = *Pack::from_vec(good.clone()).unwrap().header();

    // An index slot pointing past the entry table.
    let mut bytes = good.clone();
    let index = h.index_offset as usize;
    for s in 0..h.index_slots() as usize {
        let slot = index + s * 8;
        if bytes[slot + 4..slot + 8] != [0xff; 4] {
            bytes[slot + 4..slot + 8].copy_from_slice(&1000u32.to_le_bytes());
        }
    }
    fix_checksums(&mut bytes);
    let pack = Pack::from_vec(bytes).unwrap();
    assert!(matches!(
        pack.bytes("a/b/c.txt"),
        Err(ref e) if matches!(e.kind(), ErrorKind::Corrupt { .. })
    ));
    assert!(!pack.exists("a/b/c.txt"));

    // A file whose contents point past the data region.
    let mut bytes = good.clone();
    let pack = Pack::from_vec(good.clone()).unwrap();
    let e = pack.entry("a/b/c.txt").unwrap().index() as usize;
    let rec = h.entries_offset as usize + e * 64;
    bytes[rec + 48..rec + 56].copy_from_slice(&u64::MAX.to_le_bytes());
    fix_checksums(&mut bytes);
    let pack = Pack::from_vec(bytes).unwrap();
    let err = pack.bytes("a/b/c.txt").unwrap_err();
    assert!(err.to_string().contains("outside the data region"), "{err}");

    // Table offsets past the end of the file.
    let mut bytes = good.clone();
    bytes[64..72].copy_from_slice(&u64::MAX.to_le_bytes());
    fix_checksums(&mut bytes);
    let err = Pack::from_vec(bytes).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Corrupt { offset: 64, .. }),
        "{err}"
    );
}

#[cfg(feature = "cli")]
#[test]
fn cli_reports_broken_packs_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = small_pack();
    let h = *Pack::from_vec(good.clone()).unwrap().header();
    let mut flipped_table = good.clone();
    flipped_table[h.entries_offset as usize + 3] ^= 0xff;
    let mut flipped_data = good.clone();
    flipped_data[h.data_offset as usize] ^= 0x01;
    let mut fixed_table = good.clone();
    fixed_table[h.entries_offset as usize + 64 + 16] = 9; // entry 1's kind
    fix_checksums(&mut fixed_table);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("garbage", b"garbage!".repeat(100)),
        ("flipped-table", flipped_table),
        ("flipped-data", flipped_data),
        ("fixed-table", fixed_table),
    ];
    for (name, bytes) in &cases {
        let path = dir.path().join(format!("{name}.fpack"));
        std::fs::write(&path, bytes).unwrap();
        let p = path.to_str().unwrap();
        let verify = common::run_s(&["verify", p]);
        let msg = common::assert_clean_failure(&verify);
        if *name == "flipped-data" {
            assert!(msg.contains("\"a/b/c.txt\""), "{msg}");
        }
        for args in [
            vec!["ls", p, "-R"],
            vec!["ls", p, "--json", "-R"],
            vec!["info", p],
            vec!["cat", p, "a/b/c.txt", "x.npy"],
            vec![
                "extract",
                p,
                "-o",
                dir.path().join(format!("x-{name}")).to_str().unwrap(),
            ],
        ] {
            let out = common::run_s(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
            if !out.status.success() {
                assert!(
                    stderr.starts_with("treepack: error: "),
                    "{args:?}: {stderr}"
                );
            }
        }
    }
    let missing = common::run_s(&["ls", dir.path().join("none.fpack").to_str().unwrap()]);
    common::assert_clean_failure(&missing);
}
