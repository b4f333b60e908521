//! Many threads and several processes reading random entries of one pack at once, each checking
//! what it reads against the source.
//!
//! `ARRAY_FILES_SOAK_SECS` sets how long the sixteen-thread test runs (default 3 s; 60 in the
//! full run); `ARRAY_FILES_SEED` its seed (see `fault_support`).

mod common;
#[cfg(unix)]
use testkit::faults as fault_support;

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use std::time::Instant;

use treepack::{OpenOptions, Pack, PackBuilder};

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

/// Sixteen threads share one pack (and a second one opened with `verify_reads`) for the soak
/// duration, reading random entries every way there is, each read checked against the source
/// and by the entry's checksum; one thread also verifies the whole pack now and then.
#[cfg(unix)]
#[test]
fn sixteen_threads_read_one_shared_pack() {
    let (_tmp, out, tree) = build(1500);
    let pack = Arc::new(Pack::open(&out).unwrap());
    let verifying = Arc::new(OpenOptions::new().verify_reads(true).open(&out).unwrap());
    let paths: Arc<Vec<(String, Vec<u8>)>> = Arc::new(tree.into_iter().collect());
    let seed = fault_support::base_seed();
    let start = Instant::now();
    let deadline = start + fault_support::soak();
    let handles: Vec<_> = (0..16u64)
        .map(|t| {
            let pack = Arc::clone(&pack);
            let verifying = Arc::clone(&verifying);
            let paths = Arc::clone(&paths);
            std::thread::spawn(move || {
                let mut rng = fault_support::Rng(seed ^ fault_support::mix(t));
                let (mut reads, mut bytes, mut full_verifies) = (0u64, 0u64, 0u64);
                while Instant::now() < deadline {
                    let (path, data) = &paths[rng.below(paths.len() as u64) as usize];
                    match rng.below(4) {
                        0 => {
                            let entry = pack.resolved_entry(path).unwrap();
                            entry.verify().unwrap();
                            assert_eq!(entry.checksum(), treepack::format::checksum(data));
                            assert_eq!(pack.bytes(path).unwrap(), &data[..], "{path}");
                        }
                        1 => assert_eq!(verifying.bytes(path).unwrap(), &data[..], "{path}"),
                        2 => {
                            // A reader from a random offset: a slice, then the rest.
                            let mut reader = verifying.open_file(path).unwrap();
                            let at = rng.below(data.len() as u64 + 1);
                            reader.seek(SeekFrom::Start(at)).unwrap();
                            let mut head =
                                vec![0u8; rng.below(data.len() as u64 - at + 1) as usize];
                            reader.read_exact(&mut head).unwrap();
                            let mut rest = Vec::new();
                            reader.read_to_end(&mut rest).unwrap();
                            head.extend_from_slice(&rest);
                            assert!(head[..] == data[at as usize..], "{path} from {at}");
                        }
                        _ => {
                            assert_eq!(pack.metadata(path).unwrap().len(), data.len() as u64);
                            assert!(pack.is_file(path));
                            pack.entry(path).unwrap().verify().unwrap();
                        }
                    }
                    if t == 0 && reads.is_multiple_of(5000) {
                        pack.verify().unwrap();
                        full_verifies += 1;
                    }
                    reads += 1;
                    bytes += data.len() as u64;
                }
                (reads, bytes, full_verifies)
            })
        })
        .collect();
    let mut total = (0u64, 0u64, 0u64);
    for handle in handles {
        let (reads, bytes, verifies) = handle.join().unwrap_or_else(|_| {
            panic!("a reader failed; seed {seed} ({})", fault_support::SEED_ENV)
        });
        assert!(reads > 0, "a thread never read");
        total = (total.0 + reads, total.1 + bytes, total.2 + verifies);
    }
    assert!(total.2 > 0);
    pack.verify().unwrap();
    eprintln!(
        "16 reader threads, {:.1} s: {} reads ({} MB) checked, {} whole-pack verifies; seed {seed}",
        start.elapsed().as_secs_f64(),
        total.0,
        total.1 / 1_000_000,
        total.2
    );
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
