//! Locks, read-only inspection, non-regular files, stale temporaries, modes (issue 17).
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use varpack::testing::{Fault, set_fault};
use varpack::{LoadErrorKind, LoadOptions, LockMode, ResultKind, SaveErrorKind, Varpack};

fn sample(tag: u8) -> Varpack {
    let mut vp = Varpack::new();
    vp.insert_array("x", &[tag; 100], &[100]).unwrap();
    vp.insert_array("y", &[u32::from(tag); 10], &[10]).unwrap();
    vp.insert_value("tag", &tag).unwrap();
    vp
}

fn forms(dir: &Path) -> [PathBuf; 2] {
    [dir.join("p"), dir.join("p.npz")]
}

/// Every name in `dir` with its size and modification time (what a read-only look must keep).
fn snapshot(dir: &Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut all = Vec::new();
    for entry in walk(dir) {
        let meta = std::fs::symlink_metadata(&entry).unwrap();
        let name = entry.strip_prefix(dir).unwrap().display().to_string();
        all.push((name, meta.len(), meta.modified().unwrap()));
    }
    all.sort();
    all
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

/// Runs `f` in a thread; fails the test if it has not returned within 10 s (a hang).
fn within_10s<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{what} hung"))
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo reads it and nothing else.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

#[test]
fn inspect_never_writes_and_reports_an_interrupted_save() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p");
    sample(1).save_as(&path).unwrap();
    // Interrupted between the two renames: `p` is missing, its complete new copy beside it.
    set_fault(Some(Fault::AfterOldMoved));
    assert!(matches!(
        sample(2).save_as(&path).err_kind(),
        Some(SaveErrorKind::Injected(_))
    ));
    set_fault(None);
    assert!(!path.exists());
    let before = snapshot(dir.path());
    let err = varpack::inspect(&path).unwrap_err();
    assert!(
        matches!(err.kind(), LoadErrorKind::Interrupted { complete } if complete.join("varpack.json").is_file()),
        "{err}"
    );
    assert!(err.to_string().contains("interrupted"), "{err}");
    assert_eq!(
        snapshot(dir.path()),
        before,
        "inspect changed the directory"
    );
    // A load finishes the save (under the lock): the new pack, whole.
    let vp = Varpack::load(&path).unwrap();
    assert_eq!(vp.get_value::<u8>("tag").unwrap(), 2);
    assert_eq!(vp.array("x").unwrap().as_bytes(), &[2u8; 100]);
    // And inspect of a complete pack writes nothing either (no lock file created).
    let fresh = dir.path().join("q");
    sample(3).save_as(&fresh).unwrap();
    std::fs::remove_file(dir.path().join(".q.varpack-lock")).unwrap();
    let before = snapshot(dir.path());
    assert_eq!(varpack::inspect(&fresh).unwrap().len(), 3);
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn non_regular_files_are_refused_with_their_name() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["x.npy", "varpack.json", "values.json"] {
        let path = dir.path().join(format!("fifo_{}", file.replace('.', "_")));
        sample(1).save_as(&path).unwrap();
        std::fs::remove_file(path.join(file)).unwrap();
        mkfifo(&path.join(file));
        for inspect in [false, true] {
            let p = path.clone();
            let result = within_10s("loading a pack with a FIFO", move || {
                if inspect {
                    varpack::inspect(&p).map(drop)
                } else {
                    Varpack::load(&p).map(drop)
                }
            });
            let err = result.unwrap_err();
            assert!(
                matches!(err.kind(), LoadErrorKind::NotRegular { what: "a FIFO" })
                    && err.path().ends_with(file),
                "{file}: {err}"
            );
            assert!(err.to_string().contains(file), "{err}");
        }
    }
    // The single file itself a FIFO: refused, by load and by a save over it.
    let npz = dir.path().join("f.npz");
    mkfifo(&npz);
    let p = npz.clone();
    let err = within_10s("loading a FIFO", move || Varpack::load(&p).map(drop)).unwrap_err();
    assert!(
        matches!(err.kind(), LoadErrorKind::NotRegular { .. }),
        "{err}"
    );
    let p = npz.clone();
    let err = within_10s("saving over a FIFO", move || sample(1).save_as(&p)).unwrap_err();
    assert!(
        matches!(err.kind(), SaveErrorKind::NotAPack { .. }),
        "{err}"
    );
}

#[test]
fn stale_temporaries_of_dead_savers_are_removed_by_the_next_save() {
    let dir = tempfile::tempdir().unwrap();
    // PID 0x7fff_fff0 is above any Linux pid_max: never a live process. PID 1 always lives.
    let dead = 0x7fff_fff0u32;
    for path in forms(dir.path()) {
        sample(1).save_as(&path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        let stale_dir = dir.path().join(format!(".{name}.{dead}-0.varpack-new"));
        std::fs::create_dir(&stale_dir).unwrap();
        std::fs::write(stale_dir.join("x.npy"), vec![0u8; 4096]).unwrap();
        let stale_file = dir.path().join(format!(".{name}.{dead}-1.tmp"));
        std::fs::write(&stale_file, vec![0u8; 4096]).unwrap();
        let live = dir.path().join(format!(".{name}.1-0.varpack-new"));
        std::fs::create_dir(&live).unwrap();
        let legacy = dir.path().join(format!(".{name}.varpack-new"));
        std::fs::create_dir(&legacy).unwrap();
        // A killed append's manifest inside a directory pack.
        let inside = path.join(format!(".varpack.json.{dead}-2.tmp"));
        if path.is_dir() {
            std::fs::write(&inside, b"{}").unwrap();
            let mut vp = Varpack::append(&path).unwrap();
            vp.insert_value("more", &1).unwrap();
            vp.save().unwrap();
            assert!(!inside.exists());
        }
        sample(2).save_as(&path).unwrap();
        assert!(!stale_dir.exists() && !stale_file.exists() && !legacy.exists());
        assert!(live.exists(), "a live process's temporary was removed");
        std::fs::remove_dir(&live).unwrap();
        assert_eq!(
            Varpack::load(&path)
                .unwrap()
                .get_value::<u8>("tag")
                .unwrap(),
            2
        );
    }
}

#[test]
fn a_lazy_value_of_a_replaced_pack_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    for path in forms(dir.path()) {
        sample(1).save_as(&path).unwrap();
        let lazy = LoadOptions::new().lazy(true).load(&path).unwrap();
        sample(2).save_as(&path).unwrap();
        if path.is_dir() {
            // The directory's new files would be read against the old manifest: refused.
            let err = lazy.array("x").unwrap_err();
            assert!(err.to_string().contains("replaced"), "{err}");
        } else {
            // The single file's old archive is still open, and read whole.
            assert_eq!(lazy.array("x").unwrap().as_bytes(), &[1u8; 100]);
            assert_eq!(
                lazy.array("y").unwrap().to_vec::<u32>().unwrap(),
                vec![1; 10]
            );
        }
    }
}

#[test]
fn a_locked_pack_is_reported_as_the_lock_mode_says() {
    let dir = tempfile::tempdir().unwrap();
    for path in forms(dir.path()) {
        sample(1).save_as(&path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        let lock = std::fs::File::open(dir.path().join(format!(".{name}.varpack-lock"))).unwrap();
        lock.lock().unwrap();
        let mut vp = sample(2);
        vp.set_lock_mode(LockMode::FailFast);
        let err = vp.save_as(&path).unwrap_err();
        assert!(matches!(err.kind(), SaveErrorKind::Locked { .. }), "{err}");
        vp.set_lock_mode(LockMode::Timeout(Duration::from_millis(50)));
        assert!(matches!(
            vp.save_as(&path).err_kind(),
            Some(SaveErrorKind::Locked { .. })
        ));
        // Loads of a complete pack take no lock.
        assert_eq!(
            Varpack::load(&path)
                .unwrap()
                .get_value::<u8>("tag")
                .unwrap(),
            1
        );
        // Wait: the save goes through once the holder lets go.
        let holder = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(lock);
        });
        vp.set_lock_mode(LockMode::Wait);
        vp.save_as(&path).unwrap();
        holder.join().unwrap();
        assert_eq!(
            Varpack::load(&path)
                .unwrap()
                .get_value::<u8>("tag")
                .unwrap(),
            2
        );
    }
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn a_replaced_pack_keeps_its_mode_and_a_new_one_follows_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    // What the umask gives a new file and directory here.
    let probe = dir.path().join("probe");
    std::fs::write(&probe, b"").unwrap();
    std::fs::create_dir(dir.path().join("probe_dir")).unwrap();
    let (file_mode, dir_mode) = (mode_of(&probe), mode_of(&dir.path().join("probe_dir")));
    for path in forms(dir.path()) {
        sample(1).save_as(&path).unwrap();
        if path.is_dir() {
            assert_eq!(mode_of(&path), dir_mode);
            assert_eq!(mode_of(&path.join("x.npy")), file_mode);
            let set = |p: &Path, m| std::fs::set_permissions(p, PermissionsExt::from_mode(m));
            set(&path.join("x.npy"), 0o600).unwrap();
            set(&path.join("varpack.json"), 0o640).unwrap();
            set(&path, 0o700).unwrap();
            sample(2).save_as(&path).unwrap();
            assert_eq!(mode_of(&path), 0o700);
            assert_eq!(mode_of(&path.join("x.npy")), 0o600);
            assert_eq!(mode_of(&path.join("varpack.json")), 0o640);
            assert_eq!(mode_of(&path.join("y.npy")), file_mode);
        } else {
            assert_eq!(mode_of(&path), file_mode);
            std::fs::set_permissions(&path, PermissionsExt::from_mode(0o600)).unwrap();
            sample(2).save_as(&path).unwrap();
            assert_eq!(mode_of(&path), 0o600);
        }
        assert_eq!(
            Varpack::load(&path)
                .unwrap()
                .get_value::<u8>("tag")
                .unwrap(),
            2
        );
    }
}

#[test]
fn save_as_new_refuses_an_existing_path() {
    let dir = tempfile::tempdir().unwrap();
    for path in forms(dir.path()) {
        sample(1).save_as_new(&path).unwrap();
        let err = sample(2).save_as_new(&path).unwrap_err();
        assert!(matches!(err.kind(), SaveErrorKind::Exists), "{err}");
        assert_eq!(
            Varpack::load(&path)
                .unwrap()
                .get_value::<u8>("tag")
                .unwrap(),
            1
        );
        let name = path.file_name().unwrap().to_str().unwrap();
        let lock = format!(".{name}.varpack-lock");
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(&format!(".{name}")) && *n != lock)
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

#[test]
fn names_with_control_characters_are_escaped_in_messages_and_the_table() {
    let mut vp = Varpack::new();
    vp.insert_array("evil\x1b[2J", &[1u8], &[1]).unwrap();
    let table = vp.to_string();
    assert!(
        !table.contains('\x1b') && table.contains("evil\\u{1b}[2J"),
        "{table}"
    );
    let err = vp.array("gone\nline").unwrap_err().to_string();
    assert!(!err.contains('\n') && err.contains("gone\\nline"), "{err}");
}

#[test]
fn memory_map_false_reads_into_memory() {
    let dir = tempfile::tempdir().unwrap();
    for path in forms(dir.path()) {
        sample(1).save_as(&path).unwrap();
        let vp = LoadOptions::new().memory_map(false).load(&path).unwrap();
        assert_eq!(vp.status("x"), Some(varpack::Status::Loaded));
        assert_eq!(vp.array("x").unwrap().as_bytes(), &[1u8; 100]);
        // A file shorter than its header says is an error, not a fault.
        if path.is_dir() {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(path.join("x.npy"))
                .unwrap();
            f.set_len(150).unwrap();
            let err = LoadOptions::new()
                .memory_map(false)
                .load(&path)
                .unwrap_err();
            assert!(err.to_string().contains("truncated"), "{err}");
        }
    }
}
