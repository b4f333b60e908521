//! Concurrent saves, appends and loads of one pack, from processes and threads.
//!
//! What is asserted (see the crate docs, "Saving is atomic" and "Concurrent saves"): saves of
//! two different sets to one path run one after the other under the pack's lock, so the pack
//! left is exactly one of the sets, manifest and arrays alike, and a load during the saves sees
//! one whole set (or a typed error), never a mixture; concurrent appends both land.
//!
//! `ARRAY_FILES_TRIALS` sets the trials per test (default 10), `ARRAY_FILES_SEED` the base seed.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use testkit::faults::{self as fs_, report};
use varpack::{Array, LoadErrorKind, Varpack};

/// Elements of array `key` of set `set`: distinct for every set, key and index.
fn element(set: u8, key: &str, i: u64) -> u32 {
    let id = key
        .bytes()
        .fold(u64::from(set) * 7919, |h, b| fs_::mix(h ^ u64::from(b)));
    fs_::mix(id ^ i) as u32
}

fn elements(set: u8, key: &str, len: u64) -> Vec<u32> {
    (0..len).map(|i| element(set, key, i)).collect()
}

/// The names of set `set`: some shared with the other set (with other values), some its own.
fn names(set: u8) -> Vec<String> {
    let own = if set == 0 { "a" } else { "b" };
    let mut names = vec![
        "big".to_owned(),
        "dict".to_owned(),
        "label".to_owned(),
        format!("{own}_only"),
        format!("{own}_value"),
    ];
    names.sort();
    names
}

const BIG: u64 = 256 * 1024;

fn build(set: u8) -> Varpack {
    let own = if set == 0 { "a" } else { "b" };
    let mut vp = Varpack::new();
    vp.insert_array("big", &elements(set, "big", BIG), &[BIG])
        .unwrap();
    vp.insert_array(
        &format!("{own}_only"),
        &elements(set, "only", 1000),
        &[1000],
    )
    .unwrap();
    let dict: Vec<_> = (0..3)
        .map(|k| {
            let key = format!("k{k}");
            let array = Array::from_slice(&elements(set, &key, 500), &[500]).unwrap();
            (key, array)
        })
        .collect();
    vp.insert_dict("dict", dict).unwrap();
    vp.insert_value("label", &format!("set {set}")).unwrap();
    vp.insert_value(&format!("{own}_value"), &vec![u64::from(set); 10])
        .unwrap();
    vp
}

/// Which set the loaded pack is: its manifest and every value must be that set's.
fn which_set(vp: &Varpack) -> u8 {
    let label: String = vp.get_value("label").unwrap();
    let set = match label.as_str() {
        "set 0" => 0,
        "set 1" => 1,
        other => panic!("label {other:?}"),
    };
    let own = if set == 0 { "a" } else { "b" };
    assert_eq!(vp.names(), names(set), "the manifest of set {set}");
    assert_eq!(
        vp.view::<u32>("big").unwrap().as_slice(),
        elements(set, "big", BIG),
        "big of set {set}"
    );
    assert_eq!(
        vp.view::<u32>(&format!("{own}_only")).unwrap().as_slice(),
        elements(set, "only", 1000)
    );
    for k in 0..3 {
        let key = format!("k{k}");
        let array = vp.dict_array("dict", &key).unwrap();
        assert_eq!(array.to_vec::<u32>().unwrap(), elements(set, &key, 500));
    }
    let value: Vec<u64> = vp.get_value(&format!("{own}_value")).unwrap();
    assert_eq!(value, vec![u64::from(set); 10]);
    set
}

/// Loads and checks; `Err` only for the typed errors a load may give while saves run.
fn load_one(path: &Path) -> Result<u8, String> {
    match Varpack::load(path) {
        Ok(vp) => Ok(which_set(&vp)),
        Err(e)
            if matches!(
                e.kind(),
                LoadErrorKind::Replaced | LoadErrorKind::Locked { .. }
            ) =>
        {
            Err(e.to_string())
        }
        Err(e) => panic!("a load during saves failed: {e}"),
    }
}

/// What `varpack show` reads (the manifest, the headers, the grouped JSON values): one set's.
fn inspect_one(path: &Path) -> Result<u8, String> {
    match varpack::inspect(path) {
        Ok(vp) => {
            let label: String = vp.get_value("label").unwrap();
            let set = if label == "set 0" { 0 } else { 1 };
            assert_eq!(label, format!("set {set}"));
            assert_eq!(vp.names(), names(set), "the manifest of set {set}");
            Ok(set)
        }
        Err(e)
            if matches!(
                e.kind(),
                LoadErrorKind::Replaced | LoadErrorKind::Locked { .. }
            ) =>
        {
            Err(e.to_string())
        }
        Err(e) => panic!("an inspect during saves failed: {e}"),
    }
}

const SAVES: u64 = 4;

#[test]
fn child_entry() {
    let Some((role, arg)) = fs_::child_role() else {
        return;
    };
    let parts: Vec<&str> = arg.split('\t').collect();
    let path = PathBuf::from(parts[0]);
    match role.as_str() {
        "save" => {
            let set: u8 = parts[1].parse().unwrap();
            let vp = build(set);
            for _ in 0..SAVES {
                vp.save_as(&path).unwrap();
            }
            report("saved", SAVES);
        }
        "append" => {
            let name = parts[1];
            let mut vp = Varpack::append(&path).unwrap();
            vp.insert_array(name, &elements(9, name, 5000), &[5000])
                .unwrap();
            vp.save().unwrap();
            report("appended", name);
        }
        other => panic!("unknown child role {other}"),
    }
}

/// The names beside a pack other than the pack and its lock file.
fn strays(dir: &Path, file: &str) -> Vec<String> {
    let lock = format!(".{file}.varpack-lock");
    fs_::names_in(dir)
        .into_iter()
        .filter(|n| n != file && *n != lock)
        .collect()
}

#[test]
fn concurrent_saves_of_two_sets_leave_exactly_one_of_them() {
    let _serial = fs_::serial();
    let reads = AtomicUsize::new(0);
    let typed = AtomicUsize::new(0);
    fs_::run_trials("varpack concurrent saves", 10, |rng, _| {
        let dir = tempfile::tempdir().unwrap();
        let npz = rng.chance(1, 2);
        let path = dir.path().join(if npz { "out.npz" } else { "out" });
        let file = path.file_name().unwrap().to_str().unwrap().to_owned();
        let existed = rng.chance(1, 2);
        if existed {
            build(rng.below(2) as u8).save_as(&path).unwrap();
        }
        let done = AtomicBool::new(false);
        std::thread::scope(|scope| {
            // Two processes and two threads, each saving one of the two sets.
            let children: Vec<_> = (0..2u8)
                .map(|set| {
                    let arg = format!("{}\t{set}", path.display());
                    fs_::child_command("save", &arg).spawn().unwrap()
                })
                .collect();
            let threads: Vec<_> = (0..2u8)
                .map(|set| {
                    let path = &path;
                    scope.spawn(move || {
                        let vp = build(set);
                        for _ in 0..SAVES {
                            vp.save_as(path).unwrap();
                        }
                    })
                })
                .collect();
            // A reader loading all along: one whole set each time, or a typed error.
            let reader = scope.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    if !existed && !path.exists() {
                        std::thread::yield_now();
                        continue;
                    }
                    let inspect = reads.load(Ordering::Relaxed) % 2 == 1;
                    match if inspect {
                        inspect_one(&path)
                    } else {
                        load_one(&path)
                    } {
                        Ok(_) => reads.fetch_add(1, Ordering::Relaxed),
                        Err(_) => typed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            });
            for child in children {
                let out = fs_::ChildOutput::from_output(&child.wait_with_output().unwrap());
                assert!(out.status.success(), "{out}");
                assert_eq!(out.number("saved"), Some(SAVES), "{out}");
            }
            for t in threads {
                t.join().unwrap();
            }
            done.store(true, Ordering::Relaxed);
            reader.join().unwrap();
        });
        assert!(path.exists(), "the pack vanished");
        let set = which_set(&Varpack::load(&path).unwrap());
        assert_eq!(strays(dir.path(), &file), Vec::<String>::new());
        format!("{}: set {set} left", if npz { "npz" } else { "dir" })
    });
    eprintln!(
        "loads during saves: {} whole sets, {} typed errors",
        reads.load(Ordering::Relaxed),
        typed.load(Ordering::Relaxed)
    );
    assert!(reads.load(Ordering::Relaxed) > 0);
}

#[test]
fn concurrent_appends_both_land() {
    let _serial = fs_::serial();
    fs_::run_trials("varpack concurrent appends", 10, |rng, _| {
        let dir = tempfile::tempdir().unwrap();
        let npz = rng.chance(1, 2);
        let path = dir.path().join(if npz { "out.npz" } else { "out" });
        build(0).save_as(&path).unwrap();
        let children: Vec<_> = ["first", "second"]
            .iter()
            .map(|name| {
                let arg = format!("{}\t{name}", path.display());
                fs_::child_command("append", &arg).spawn().unwrap()
            })
            .collect();
        for child in children {
            let out = fs_::ChildOutput::from_output(&child.wait_with_output().unwrap());
            assert!(out.status.success(), "{out}");
        }
        let vp = Varpack::load(&path).unwrap();
        for name in ["first", "second"] {
            assert_eq!(
                vp.view::<u32>(name).unwrap().as_slice(),
                elements(9, name, 5000),
                "{name}"
            );
        }
        let mut expected = names(0);
        expected.extend(["first".to_owned(), "second".to_owned()]);
        expected.sort();
        assert_eq!(vp.names(), expected);
        drop(vp);
        assert_eq!(
            which_set(&{
                let mut vp = Varpack::load(&path).unwrap();
                vp.remove("first");
                vp.remove("second");
                vp
            }),
            0
        );
        if npz {
            // numpy-compatible: the archive opens cleanly.
            npz_stream::NpzReader::open(&path).unwrap();
        }
        (if npz { "npz" } else { "dir" }).to_owned()
    });
}

/// The reproduction: `varpack convert a.npz out -f & varpack convert b.npz out -f`.
#[test]
fn concurrent_converts_to_one_output_leave_one_input() {
    let _serial = fs_::serial();
    fs_::run_trials("varpack concurrent converts", 10, |rng, _| {
        let dir = tempfile::tempdir().unwrap();
        let inputs: Vec<PathBuf> = (0..2u8)
            .map(|set| {
                let input = dir.path().join(format!("in{set}.npz"));
                build(set).save_as(&input).unwrap();
                input
            })
            .collect();
        let npz = rng.chance(1, 2);
        let out = dir.path().join(if npz { "out.npz" } else { "out" });
        let children: Vec<_> = inputs
            .iter()
            .map(|input| {
                std::process::Command::new(env!("CARGO_BIN_EXE_varpack"))
                    .arg("convert")
                    .arg(input)
                    .arg(&out)
                    .arg("-f")
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let result = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&result.stderr);
            assert!(result.status.success(), "{err}");
        }
        let set = which_set(&Varpack::load(&out).unwrap());
        let file = out.file_name().unwrap().to_str().unwrap();
        let left: Vec<String> = strays(dir.path(), file)
            .into_iter()
            .filter(|n| !n.starts_with(".in") && !n.starts_with("in"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        format!("{}: set {set}", if npz { "npz" } else { "dir" })
    });
}
