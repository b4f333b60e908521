//! Concurrent writers on one archive: `npz add` processes and appending threads take the
//! archive's lock, so every member of every writer is there, CRC-checked, none lost; without
//! `--wait` (the library's `LockMode::FailFast`) the loser gets a typed error and the archive is
//! unchanged.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use npz_stream::{LockMode, NpzReader, NpzWriter, ResultKind, WriteErrorKind};

fn npz(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_npz"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run npz")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `n` input files of different sizes, `in{i}.npy` holding `i` repeated.
fn inputs(dir: &Path, n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let path = dir.join(format!("in{i}.npy"));
            let len = 1000 + 37_000 * (i % 5);
            npy_format::write_file(&path, &vec![i as u32; len], &[len as u64]).unwrap();
            path
        })
        .collect()
}

/// Every member `k{i}` is there and reads back whole, CRC-checked, as `in{i}.npy`.
fn check_all(path: &Path, keys: &[String], sources: &[PathBuf]) {
    let reader = NpzReader::open(path).unwrap();
    let mut have = reader.keys();
    have.sort();
    let mut want: Vec<&str> = keys.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(have, want, "members lost or duplicated");
    for (key, source) in keys.iter().zip(sources) {
        reader.verify(key).unwrap();
        let bytes = reader.read_bytes(key).unwrap();
        assert_eq!(bytes, std::fs::read(source).unwrap(), "member {key}");
    }
}

fn wait_ok(children: Vec<std::process::Child>) {
    for child in children {
        let out: Output = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "npz add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn concurrent_npz_add_processes_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sources = inputs(dir.path(), 8);
    for round in 0..5 {
        for existing in [true, false] {
            let out = dir.path().join(format!("r{round}{existing}.npz"));
            let mut keys = Vec::new();
            let mut all_sources = Vec::new();
            if existing {
                let mut npz = NpzWriter::create(&out).unwrap();
                npz.add_npy_file("base", &sources[0]).unwrap();
                npz.finish().unwrap();
                keys.push("base".to_owned());
                all_sources.push(sources[0].clone());
            }
            let children: Vec<_> = sources
                .iter()
                .enumerate()
                .map(|(i, src)| {
                    let member = format!("k{i}={}", s(src));
                    let compress = if i % 2 == 0 {
                        "--compress"
                    } else {
                        "--threads=1"
                    };
                    npz(&["add", s(&out), &member, "--wait", compress])
                })
                .collect();
            keys.extend((0..sources.len()).map(|i| format!("k{i}")));
            all_sources.extend(sources.iter().cloned());
            wait_ok(children);
            check_all(&out, &keys, &all_sources);
        }
    }
}

#[test]
fn concurrent_appending_threads_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sources = inputs(dir.path(), 8);
    let out = dir.path().join("t.npz");
    NpzWriter::create(&out).unwrap().finish().unwrap();
    std::thread::scope(|scope| {
        for (i, src) in sources.iter().enumerate() {
            let out = &out;
            scope.spawn(move || {
                let mut npz = NpzWriter::options()
                    .lock(LockMode::Wait)
                    .threads(1)
                    .append(out)
                    .unwrap();
                npz.add_npy_file(&format!("k{i}"), src).unwrap();
                npz.finish().unwrap();
            });
        }
    });
    let keys: Vec<String> = (0..sources.len()).map(|i| format!("k{i}")).collect();
    check_all(&out, &keys, &sources);
}

#[test]
fn without_wait_the_loser_gets_locked_and_the_archive_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let sources = inputs(dir.path(), 1);
    let out = dir.path().join("l.npz");
    let mut w = NpzWriter::create(&out).unwrap();
    w.add_npy_file("a", &sources[0]).unwrap();
    w.finish().unwrap();
    let before = std::fs::read(&out).unwrap();

    let holder = NpzWriter::append(&out).unwrap();
    // Library: a typed error.
    let second = NpzWriter::append(&out);
    assert!(
        matches!(second.err_kind(), Some(WriteErrorKind::Locked)),
        "{second:?}"
    );
    // Replacing the archive waits for (here: fails on) its lock too.
    let replacer = NpzWriter::create(&out).unwrap();
    assert!(matches!(
        replacer.finish().err_kind(),
        Some(WriteErrorKind::Locked)
    ));
    assert!(matches!(
        npz_stream::recover(&out).err_kind(),
        Some(WriteErrorKind::Locked)
    ));
    // CLI: one line naming the flag, exit 1.
    let member = format!("b={}", s(&sources[0]));
    let outp = npz(&["add", s(&out), &member]).wait_with_output().unwrap();
    assert_eq!(outp.status.code(), Some(1));
    let stderr = String::from_utf8(outp.stderr).unwrap();
    assert!(
        stderr.starts_with("npz: error: ")
            && stderr.contains("locked by another writer")
            && stderr.contains("--wait")
            && !stderr.contains("LockMode"),
        "{stderr}"
    );
    drop(holder);
    assert_eq!(std::fs::read(&out).unwrap(), before);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(names.is_empty(), "stray temporaries {names:?}");
}

/// The temporary archive of a killed `npz zip` (its process gone) is removed by the next write
/// of that archive; a live writer's is not.
#[cfg(unix)]
#[test]
fn the_next_create_removes_the_temporaries_of_dead_writers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npz");
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let stale = dir.path().join(format!(".a.npz.{dead}-0.tmp"));
    std::fs::write(&stale, vec![0u8; 4096]).unwrap();
    let live = dir.path().join(".a.npz.1-0.tmp");
    std::fs::write(&live, b"pid 1 is alive").unwrap();
    let mut npz = NpzWriter::create(&path).unwrap();
    npz.add_array("x", &[1u8, 2], &[2]).unwrap();
    npz.finish().unwrap();
    assert!(!stale.exists(), "the dead writer's temporary is removed");
    assert!(live.exists(), "a live writer's temporary is kept");
    assert_eq!(NpzReader::open(&path).unwrap().keys(), ["x"]);
}
