//! Many threads and several processes reading random entries of one pack at once, each checking
//! what it reads against the source.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use filepack::{Pack, PackBuilder};

fn build(
    files: usize,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    BTreeMap<String, Vec<u8>>,
) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let tree = common::make_tree(&src, files, 42);
    let out = tmp.path().join("p.fpack");
    PackBuilder::new().pack_dir(&src, &out).unwrap();
    (tmp, out, tree)
}

#[test]
fn many_threads_read_one_shared_pack() {
    let (_tmp, out, tree) = build(1500);
    let pack = Arc::new(Pack::open(&out).unwrap());
    let paths: Arc<Vec<(String, Vec<u8>)>> = Arc::new(tree.into_iter().collect());
    let handles: Vec<_> = (0..8u64)
        .map(|t| {
            let pack = Arc::clone(&pack);
            let paths = Arc::clone(&paths);
            std::thread::spawn(move || {
                let mut rng = common::Rng(t + 1);
                let mut bytes = 0usize;
                for _ in 0..10_000 {
                    let (path, data) = &paths[rng.below(paths.len() as u64) as usize];
                    let entry = pack.resolved_entry(path).unwrap();
                    entry.verify().unwrap();
                    let got = pack.bytes(path).unwrap();
                    assert_eq!(got, &data[..], "{path}");
                    assert_eq!(entry.checksum(), filepack::format::checksum(data));
                    bytes += got.len();
                }
                bytes
            })
        })
        .collect();
    let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(total > 0);
    pack.verify().unwrap();
}

#[cfg(feature = "cli")]
#[test]
fn several_processes_read_at_once() {
    let (_tmp, out, tree) = build(800);
    let paths: Vec<(&String, &Vec<u8>)> = tree.iter().collect();
    let mut rng = common::Rng(7);
    let mut children = Vec::new();
    for _ in 0..6 {
        let picks: Vec<usize> = (0..200)
            .map(|_| rng.below(paths.len() as u64) as usize)
            .collect();
        let expected: Vec<u8> = picks
            .iter()
            .flat_map(|&i| paths[i].1.iter().copied())
            .collect();
        let child = std::process::Command::new(common::bin())
            .arg("cat")
            .arg(&out)
            .arg("--")
            .args(picks.iter().map(|&i| paths[i].0.as_str()))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        children.push((child, expected));
    }
    let verifiers: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(common::bin())
                .arg("verify")
                .arg(&out)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // This process reads at the same time.
    let pack = Pack::open(&out).unwrap();
    for (path, data) in &paths {
        assert_eq!(pack.bytes(path).unwrap(), &data[..]);
    }
    for (child, expected) in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.stdout.len(), expected.len());
        assert!(output.stdout == expected, "cat output differs");
    }
    for v in verifiers {
        let output = v.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains(": ok:"));
    }
}

#[test]
fn replacing_a_pack_does_not_disturb_open_readers() {
    let (tmp, out, tree) = build(200);
    let pack = Pack::open(&out).unwrap();
    // Repack something else over the same path (temporary file + rename).
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("new.txt"), "new").unwrap();
    PackBuilder::new().pack_dir(&other, &out).unwrap();
    for (path, data) in &tree {
        assert_eq!(pack.bytes(path).unwrap(), &data[..]);
    }
    assert_eq!(
        Pack::open(&out).unwrap().read_str("new.txt").unwrap(),
        "new"
    );
}
