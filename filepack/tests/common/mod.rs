//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
#[cfg(feature = "cli")]
use std::path::PathBuf;
#[cfg(feature = "cli")]
use std::process::Command;
use std::process::Output;

use std::io::Read;
use treepack::format::{self, HEADER_LEN};
use treepack::npy_format::FrameSource;
use treepack::{EntryMeta, Pack, PackWriter};

/// What a path on disk is, for comparing trees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File {
        data: Vec<u8>,
        mode: u32,
        mtime: (i64, i64),
    },
    Dir,
    Link(String),
}

/// Every path under `root` (relative, `/`-separated) and what it is; does not follow links.
pub fn snapshot(root: &Path) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    walk(root, "", &mut out);
    out
}

fn walk(abs: &Path, rel: &str, out: &mut BTreeMap<String, Node>) {
    use std::os::unix::fs::MetadataExt;
    for entry in fs::read_dir(abs).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let child_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&path)
                .unwrap()
                .into_os_string()
                .into_string()
                .unwrap();
            out.insert(child_rel, Node::Link(target));
        } else if meta.is_dir() {
            out.insert(child_rel.clone(), Node::Dir);
            walk(&path, &child_rel, out);
        } else {
            out.insert(
                child_rel,
                Node::File {
                    data: fs::read(&path).unwrap(),
                    mode: meta.mode() & 0o7777,
                    mtime: (meta.mtime(), meta.mtime_nsec()),
                },
            );
        }
    }
}

/// The built `treepack` binary.
#[cfg(feature = "cli")]
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_treepack"))
}

/// Runs the binary with `args`.
#[cfg(feature = "cli")]
pub fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(bin()).args(args).output().unwrap()
}

/// Runs the binary with string args.
#[cfg(feature = "cli")]
pub fn run_s(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().unwrap()
}

/// Asserts a run failed with exactly one line `treepack: error: ...` on stderr.
pub fn assert_clean_failure(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "expected failure, got success; stderr: {stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(stderr.starts_with("treepack: error: "), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "stderr: {stderr}");
    stderr
}

/// A small deterministic pseudo-random generator (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Writes a tree of `files` files spread over nested directories, returns their paths and
/// contents.
pub fn make_tree(root: &Path, files: usize, seed: u64) -> BTreeMap<String, Vec<u8>> {
    let mut rng = Rng(seed | 1);
    let mut out = BTreeMap::new();
    for i in 0..files {
        let depth = rng.below(4);
        let mut rel = String::new();
        for d in 0..depth {
            rel.push_str(&format!("d{}_{}/", d, rng.below(5)));
        }
        rel.push_str(&format!("f{i}.bin"));
        let len = match rng.below(10) {
            0 => 0,
            1..=7 => rng.below(300) as usize,
            _ => rng.below(20_000) as usize,
        };
        let data = rng.bytes(len);
        let abs = root.join(&rel);
        fs::create_dir_all(abs.parent().unwrap()).unwrap();
        fs::write(&abs, &data).unwrap();
        out.insert(rel, data);
    }
    out
}

/// Paths looked up in every test pack: each entry kind, links through and around the tree,
/// missing and non-normal paths.
pub const QUERIES: &[&str] = &[
    "",
    "a",
    "a/b",
    "a/b/c.txt",
    "a/empty",
    "é/ü.bin",
    "d/empty_dir",
    "link",
    "link/c.txt",
    "a/up/ü.bin",
    "loop",
    "loop/x",
    "x.npy",
    "top.npy",
    "n/x.npy",
    "dir3/sub1/file010.txt",
    "dir5",
    "three",
    "nope",
    "a/b/c.txt/deeper",
    "./a//b/",
    "../a",
];

pub fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

/// Recomputes both checksums, so that only the structural checks stand between the bytes and
/// the reader.
pub fn fix_checksums(bytes: &mut [u8]) {
    if bytes.len() < HEADER_LEN as usize {
        return;
    }
    let start = u64_at(bytes, 56);
    if let Some(tables) = usize::try_from(start).ok().and_then(|s| bytes.get(s..)) {
        let sum = format::checksum(tables);
        bytes[112..120].copy_from_slice(&sum.to_le_bytes());
    }
    let sum = format::checksum(&bytes[..120]);
    bytes[120..128].copy_from_slice(&sum.to_le_bytes());
    // A seeded index's header extension has its own checksum, of bytes [0, 136).
    let flags = u32::from_le_bytes(bytes[12..16].try_into().unwrap());
    if flags & format::FLAG_INDEX_SEED != 0 && bytes.len() >= format::SEEDED_HEADER_LEN as usize {
        let sum = format::checksum(&bytes[..136]);
        bytes[136..144].copy_from_slice(&sum.to_le_bytes());
    }
}

/// Everything a reader can do with a pack, with the checks that hold on any pack, corrupt or
/// not (no panics, bounded listings and walks, batch lookups that agree with single ones).
/// Returns whether the pack verifies; a pack that does is also checked for consistency.
pub fn exercise(pack: &Pack) -> bool {
    let n = pack.entry_count();
    for q in QUERIES {
        let _ = pack.entry(q);
        let _ = pack.resolved_entry(q);
        let _ = pack.exists(q);
        let _ = pack.is_file(q);
        let _ = pack.is_dir(q);
        let _ = pack.metadata(q);
        let _ = pack.symlink_metadata(q);
        let _ = pack.read_link(q);
        if let Ok(b) = pack.bytes(q) {
            let _ = b.iter().map(|&x| u64::from(x)).sum::<u64>();
        }
        if let Ok(mut f) = pack.open_file(q) {
            let len = f.len();
            let mut v = Vec::new();
            if f.read_to_end(&mut v).is_ok() {
                assert_eq!(v.len() as u64, len, "{q}: read_to_end");
            }
        }
        let _ = pack.read_to_string(q);
        let _ = pack.read_str(q);
        let _ = pack.listdir(q);
        if let Ok(it) = pack.read_dir(q) {
            assert!(it.count() as u64 <= n, "{q}: more children than entries");
        }
        if let Ok(walk) = pack.walk(q) {
            let visited = walk.take(n as usize + 1).filter(Result::is_ok).count();
            assert!(visited as u64 <= n, "{q}: a walk visited an entry twice");
        }
        if let Ok(mut npy) = pack.npy(q) {
            let _ = npy.view::<f64>().map(|v| v.as_slice().iter().sum::<f64>());
            let _ = npy.to_vec::<f64>();
            let count = npy.frame_count();
            for (a, b) in [(0, 1), (count.saturating_sub(1), count), (0, count)] {
                let _ = npy.frames(a, b);
                let _ = npy.read_frames(a, b);
            }
        }
    }
    // The pipelined batch lookup gives what one lookup at a time gives, errors included.
    for (q, many) in QUERIES.iter().zip(pack.bytes_many(QUERIES)) {
        match (pack.bytes(q), many) {
            (Ok(one), Ok(many)) => assert_eq!(one, many, "{q}: bytes_many"),
            (Err(one), Err(many)) => assert_eq!(one.to_string(), many.to_string(), "{q}"),
            (one, many) => panic!("{q}: bytes gives {one:?}, bytes_many {many:?}"),
        }
    }
    for i in (0..n.min(64) as u32).chain([u32::MAX, n as u32]) {
        if let Ok(e) = pack.entry_at(i) {
            let _ = (e.path(), e.name(), e.parent(), e.kind(), e.len());
            let _ = (e.link_target(), e.metadata(), e.child_count());
            let _ = e.data().map(<[u8]>::len);
            let _ = e.verify();
            if let Ok(children) = e.children() {
                assert!(children.count() as u64 <= n);
            }
        }
    }
    let _ = pack.entries().take(64).filter(Result::is_ok).count();
    let _ = pack.verify_tables();
    let verified = pack.verify().is_ok();
    if verified {
        // A pack that verifies is consistent: every entry is found under its own path.
        for e in pack.entries() {
            let e = e.expect("an entry of a verified pack");
            let found = pack.entry(e.path()).expect("a verified entry's path");
            assert_eq!(found.index(), e.index(), "{}", e.path());
            if let Some(data) = e.data() {
                assert_eq!(pack.bytes(e.path()).ok(), Some(data));
            }
        }
    }
    verified
}

/// The bytes of a finished in-memory pack.
pub fn finish(w: PackWriter<std::io::Cursor<Vec<u8>>>) -> Vec<u8> {
    w.finish().unwrap().0.into_inner()
}

/// A 2 x 2 f64 `.npy`.
pub fn npy_bytes() -> Vec<u8> {
    let mut npy = Vec::new();
    npy_format::write_array(&mut npy, &[1.0f64, 2.0, 3.0, 4.0], &[2, 2], false).unwrap();
    npy
}

/// A small pack with every kind of entry (a link loop and an `.npy` included).
pub fn small_pack() -> Vec<u8> {
    let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    w.add_bytes("a/b/c.txt", b"hello world", EntryMeta::file())
        .unwrap();
    w.add_bytes("a/empty", b"", EntryMeta::file()).unwrap();
    w.add_bytes("é/ü.bin", &[7u8; 100], EntryMeta::file())
        .unwrap();
    w.add_dir("d/empty_dir", EntryMeta::dir()).unwrap();
    w.add_symlink("link", "a/b", EntryMeta::symlink()).unwrap();
    w.add_symlink("a/up", "../é", EntryMeta::symlink()).unwrap();
    w.add_symlink("loop", "loop", EntryMeta::symlink()).unwrap();
    w.add_bytes("x.npy", &npy_bytes(), EntryMeta::file())
        .unwrap();
    finish(w)
}

/// Whether two packs hold the same bytes but for what a random index seed changes: the seed,
/// the longest probe, the checksums of the header and tables, and the hash index itself (the file contents, entry
/// records, strings and directory tables are the same byte for byte). Each pack writer draws
/// its own seed, so the same tree never packs to the same bytes twice.
pub fn same_pack(a: &[u8], b: &[u8]) -> bool {
    let seeded = format::SEEDED_HEADER_LEN as usize;
    if a.len() != b.len() || a.len() < seeded {
        return false;
    }
    let index_offset = u64_at(a, 96) as usize;
    a[..108] == b[..108]
        && u64_at(b, 96) as usize == index_offset
        && index_offset <= a.len()
        && a[seeded..index_offset] == b[seeded..index_offset]
}
