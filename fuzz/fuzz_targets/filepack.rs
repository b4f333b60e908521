//! An arbitrary filepack: opened from memory (with and without table and read checks), every
//! entry listed and read, paths looked up, directories listed and walked, `.npy` entries read
//! by frames, and the whole pack verified.
#![no_main]

use std::io::{Read, Seek, SeekFrom};

use array_files_fuzz::{exercise_frames, exercise_views};
use libfuzzer_sys::fuzz_target;
use treepack::{OpenOptions, Pack};

/// Paths looked up in every pack, besides the paths of its own entries.
const PATHS: &[&str] = &[
    "",
    "/",
    ".",
    "..",
    "a",
    "a/b",
    "./a//b/",
    "../a",
    "a/../..",
    "x.npy",
    "dir/x.npy",
    "link",
];

fn exercise_path(pack: &Pack, path: &str) {
    let _ = pack.entry(path);
    let _ = pack.resolved_entry(path);
    let _ = pack
        .metadata(path)
        .map(|m| (m.kind(), m.len(), m.modified()));
    let _ = pack.symlink_metadata(path);
    let _ = pack.exists(path);
    let _ = pack.is_file(path);
    let _ = pack.is_dir(path);
    let bytes = pack.bytes(path);
    if let Ok(mut reader) = pack.open_file(path) {
        let mut sink = Vec::new();
        if reader.read_to_end(&mut sink).is_ok()
            && let Ok(bytes) = bytes
        {
            assert!(sink == bytes, "open_file and bytes disagree");
        }
        let _ = reader.seek(SeekFrom::Start(1));
        let _ = reader.seek(SeekFrom::End(-1));
        let _ = reader.seek(SeekFrom::Current(i64::MIN));
        let _ = reader.read(&mut [0u8; 16]);
    }
    let _ = pack.read_to_string(path);
    let _ = pack.read_str(path);
    let _ = pack.read_link(path);
    let limit = pack.entry_count();
    if let Ok(names) = pack.listdir(path) {
        assert!(
            names.len() as u64 <= limit,
            "listdir yields more than every entry"
        );
    }
    if let Ok(dir) = pack.read_dir(path) {
        assert!(
            dir.take(limit as usize + 2).count() as u64 <= limit,
            "read_dir repeats"
        );
    }
    if let Ok(walk) = pack.walk(path) {
        let n = walk.take(limit as usize + 2).count() as u64;
        assert!(
            n <= limit.saturating_add(1),
            "walk yields {n} of {limit} entries"
        );
    }
    if let Ok(mut npy) = pack.npy(path) {
        let header = npy.header().clone();
        let _ = npy.data_offset();
        exercise_views(&header, npy.data());
        let _ = npy.view::<f32>();
        let _ = npy.frames(0, 1);
        let data = npy.data();
        exercise_frames(&mut npy, Some(data));
    }
}

fn exercise(pack: &Pack) {
    let _ = pack.header();
    let _ = pack.as_bytes().len();
    let count = pack.entry_count();
    let _ = pack.root();
    let _ = pack.verify_tables();
    let _ = pack.verify();
    let mut paths = Vec::new();
    for entry in pack.entries().take(1024).flatten() {
        let _ = (entry.index(), entry.name(), entry.parent(), entry.kind());
        let _ = (
            entry.len(),
            entry.child_count(),
            entry.mode(),
            entry.checksum(),
        );
        let _ = (entry.data(), entry.link_target(), entry.metadata());
        let _ = entry.verify();
        if let Ok(children) = entry.children() {
            assert!(children.take(count as usize + 2).count() as u64 <= count);
        }
        paths.push(entry.path());
    }
    let _ = pack.entry_at(u32::MAX);
    let _ = pack.entry_at(count as u32);
    let queries: Vec<&str> = paths
        .iter()
        .take(64)
        .copied()
        .chain(PATHS.iter().copied())
        .collect();
    for &path in &queries {
        exercise_path(pack, path);
    }
    // The pipelined batch lookup gives what one lookup at a time gives, errors included.
    for (path, many) in queries.iter().zip(pack.bytes_many(&queries)) {
        match (pack.bytes(path), many) {
            (Ok(one), Ok(many)) => assert!(one == many, "bytes_many disagrees on {path:?}"),
            (Err(one), Err(many)) => assert_eq!(one.to_string(), many.to_string()),
            (one, many) => panic!("{path:?}: bytes gives {one:?}, bytes_many {many:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(pack) = Pack::from_vec(data.to_vec()) {
        exercise(&pack);
    }
    let checked = OpenOptions::new().verify_tables(true).verify_reads(true);
    if let Ok(pack) = Pack::from_vec_with(data.to_vec(), &checked) {
        exercise(&pack);
    }
});
