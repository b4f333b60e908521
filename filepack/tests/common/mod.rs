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

/// The built `filepack` binary.
#[cfg(feature = "cli")]
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_filepack"))
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

/// Asserts a run failed with exactly one line `filepack: error: ...` on stderr.
pub fn assert_clean_failure(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "expected failure, got success; stderr: {stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(stderr.starts_with("filepack: error: "), "stderr: {stderr}");
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
