//! Round trips, load options, modes, atomic saves.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use varpack::testing::{Fault, set_fault};
use varpack::{Array, GetError, LoadOptions, MapMode, ResultKind, SaveErrorKind, Status, Varpack};

fn sample() -> Varpack {
    let mut vp = Varpack::new();
    vp.insert_array("x", &[1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])
        .unwrap();
    vp.insert_array("Ints", &[1i32, -2, 3], &[3]).unwrap();
    let mut d = BTreeMap::new();
    d.insert(
        "a/b".to_string(),
        Array::from_slice(&[1u8, 2], &[2]).unwrap(),
    );
    d.insert(
        "K".to_string(),
        Array::from_slice(&[7u16; 4], &[2, 2]).unwrap(),
    );
    vp.insert_dict("d", d).unwrap();
    vp.insert_value("s", "hello").unwrap();
    vp.insert_value("big", &vec![1, 2, 3]).unwrap();
    vp.set_separate("big", true).unwrap();
    vp
}

fn check_sample(vp: &Varpack) {
    for name in ["Ints", "big", "d", "s", "x"] {
        assert!(vp.contains(name), "{name}");
    }
    assert_eq!(
        vp.view::<f64>("x").unwrap().as_slice(),
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    );
    assert_eq!(vp.array("x").unwrap().shape(), &[2, 3]);
    assert_eq!(vp.view::<i32>("Ints").unwrap().as_slice(), &[1, -2, 3]);
    assert_eq!(vp.dict_array("d", "a/b").unwrap().as_bytes(), &[1, 2]);
    assert_eq!(
        vp.view::<u8>("x").unwrap_err().to_string(),
        "value 'x': dtype is '<f8', not '|u1'"
    );
    assert_eq!(vp.get_value::<String>("s").unwrap(), "hello");
    assert_eq!(vp.get_value::<Vec<i32>>("big").unwrap(), vec![1, 2, 3]);
}

fn forms(dir: &Path) -> [std::path::PathBuf; 2] {
    [dir.join("pack"), dir.join("pack.npz")]
}

#[test]
fn both_forms_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for path in forms(dir.path()) {
        sample().save_as(&path).unwrap();
        let vp = Varpack::load(&path).unwrap();
        check_sample(&vp);
        assert_eq!(vp.status("x"), Some(Status::Mapped));
        assert_eq!(vp.status("s"), Some(Status::Loaded));
        let table = vp.to_string();
        assert!(table.contains("│ x "), "{table}");
        assert!(table.contains("(2, 3)"), "{table}");
    }
    let files: Vec<String> = {
        let mut v: Vec<String> = std::fs::read_dir(dir.path().join("pack"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        files,
        [
            "%49nts.npy",
            "big.value.json",
            "d~%4B.npy",
            "d~a%2Fb.npy",
            "values.json",
            "varpack.json",
            "x.npy"
        ]
    );
}

#[test]
fn ignore_list_and_lazy_status() {
    let dir = tempfile::tempdir().unwrap();
    for path in forms(dir.path()) {
        sample().save_as(&path).unwrap();
        let vp = LoadOptions::new()
            .lazy(true)
            .ignore(["big", "x"])
            .load(&path)
            .unwrap();
        assert_eq!(vp.status("Ints"), Some(Status::Unloaded));
        assert_eq!(vp.status("s"), Some(Status::Loaded)); // the shared document is read at once
        assert!(matches!(vp.array("x"), Err(GetError::Ignored { .. })));
        assert!(matches!(vp.json("big"), Err(GetError::Ignored { .. })));
        assert_eq!(vp.view::<i32>("Ints").unwrap().as_slice(), &[1, -2, 3]);
        assert_eq!(vp.status("Ints"), Some(Status::Mapped));
        assert!(vp.to_string().contains("unloaded (ignored)"));

        // Saving after a partial load keeps what was skipped.
        let mut vp = vp;
        vp.replace_value("s", "bye").unwrap();
        vp.save().unwrap();
        let vp = Varpack::load(&path).unwrap();
        assert_eq!(vp.get_value::<String>("s").unwrap(), "bye");
        assert_eq!(vp.get_value::<Vec<i32>>("big").unwrap(), vec![1, 2, 3]);
        assert_eq!(vp.view::<f64>("x").unwrap().as_slice()[5], 6.0);
    }
}

#[test]
fn read_write_and_copy_on_write_maps() {
    let dir = tempfile::tempdir().unwrap();
    for path in forms(dir.path()) {
        sample().save_as(&path).unwrap();
        // Read-only by default: writes refused.
        let mut vp = Varpack::load(&path).unwrap();
        assert!(matches!(
            vp.view_mut::<f64>("x"),
            Err(GetError::Array { .. })
        ));
        drop(vp);
        // Copy-on-write: writes stay in memory.
        let mut vp = LoadOptions::new()
            .map_mode(MapMode::CopyOnWrite)
            .load(&path)
            .unwrap();
        vp.view_mut::<f64>("x").unwrap().as_mut_slice()[0] = 100.0;
        assert_eq!(vp.view::<f64>("x").unwrap().as_slice()[0], 100.0);
        drop(vp);
        assert_eq!(
            Varpack::load(&path)
                .unwrap()
                .view::<f64>("x")
                .unwrap()
                .as_slice()[0],
            1.0
        );
        // Read-write: writes go to the pack (CRCs updated on flush / drop for the .npz).
        let mut vp = LoadOptions::new()
            .map_mode(MapMode::ReadWrite)
            .load(&path)
            .unwrap();
        vp.view_mut::<f64>("x").unwrap().as_mut_slice()[0] = 42.0;
        vp.dict_mut("d")
            .unwrap()
            .get_mut("K")
            .and_then(varpack::Item::as_array_mut)
            .unwrap()
            .view_mut::<u16>()
            .unwrap()
            .as_mut_slice()[3] = 9;
        drop(vp);
        let vp = Varpack::load(&path).unwrap();
        assert_eq!(vp.view::<f64>("x").unwrap().as_slice()[0], 42.0);
        assert_eq!(
            vp.dict_array("d", "K").unwrap().to_vec::<u16>().unwrap(),
            vec![7, 7, 7, 9]
        );
        if path.extension().is_some() {
            let reader = npz_stream::NpzReader::open(&path).unwrap();
            for key in reader.keys() {
                reader.verify(&key).unwrap(); // CRC-32s are up to date
            }
        }
    }
}

#[test]
fn save_in_place_remaps_read_write_arrays() {
    let dir = tempfile::tempdir().unwrap();
    for path in forms(dir.path()) {
        sample().save_as(&path).unwrap();
        let mut vp = LoadOptions::new()
            .map_mode(MapMode::ReadWrite)
            .load(&path)
            .unwrap();
        vp.insert_value("new", &1).unwrap();
        vp.save().unwrap();
        vp.view_mut::<f64>("x").unwrap().as_mut_slice()[1] = -1.0;
        vp.flush().unwrap();
        drop(vp);
        let vp = Varpack::load(&path).unwrap();
        assert_eq!(vp.view::<f64>("x").unwrap().as_slice()[1], -1.0);
        assert_eq!(vp.get_value::<i32>("new").unwrap(), 1);
    }
}

/// The device and inode of `path`.
#[cfg(unix)]
fn inode(path: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).unwrap();
    (m.dev(), m.ino())
}

#[cfg(unix)]
#[test]
fn a_re_save_keeps_the_files_of_unchanged_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pack");
    sample().save_as(&path).unwrap();
    let file = |name| path.join(format!("{}.npy", varpack::file_stem(name, None)));
    let files = ["x", "Ints"].map(file);
    let before: Vec<_> = files.iter().map(|f| inode(f)).collect();
    // Read-only maps and values never loaded (ignored here) are linked, not copied.
    let mut vp = LoadOptions::new().ignore(["Ints"]).load(&path).unwrap();
    vp.replace_value("s", "changed").unwrap();
    vp.save().unwrap();
    let after: Vec<_> = files.iter().map(|f| inode(f)).collect();
    assert_eq!(before, after, "unchanged arrays keep their files");
    drop(vp);
    let vp = Varpack::load(&path).unwrap();
    check_sample_arrays(&vp);
    assert_eq!(vp.get_value::<String>("s").unwrap(), "changed");
    drop(vp);

    // A read-write map's writes are in its file: kept too, with the writes.
    let mut vp = LoadOptions::new()
        .map_mode(MapMode::ReadWrite)
        .load(&path)
        .unwrap();
    vp.view_mut::<f64>("x").unwrap().as_mut_slice()[0] = 42.0;
    vp.replace_value("s", "again").unwrap();
    vp.save().unwrap();
    drop(vp);
    assert_eq!(inode(&files[0]), before[0]);
    let vp = Varpack::load(&path).unwrap();
    assert_eq!(vp.view::<f64>("x").unwrap().as_slice()[0], 42.0);
    drop(vp);

    // A copy-on-write map's writes are not in the file: it is written anew, and the old
    // file (still the previous pack's data) is not changed by it.
    let mut vp = LoadOptions::new()
        .map_mode(MapMode::CopyOnWrite)
        .load(&path)
        .unwrap();
    vp.view_mut::<f64>("x").unwrap().as_mut_slice()[1] = -7.0;
    vp.save().unwrap();
    drop(vp);
    assert_ne!(inode(&files[0]), before[0]);
    let vp = Varpack::load(&path).unwrap();
    assert_eq!(&vp.view::<f64>("x").unwrap().as_slice()[..2], &[42.0, -7.0]);

    // Saved elsewhere, a pack is a copy: nothing shared with the source pack.
    let copy = dir.path().join("copy");
    vp.save_as(&copy).unwrap();
    let ints = format!("{}.npy", varpack::file_stem("Ints", None));
    assert_ne!(inode(&copy.join(&ints)), inode(&files[1]));
}

#[test]
fn overwrite_is_explicit_and_duplicates_are_refused() {
    let mut vp = sample();
    assert!(vp.insert_value("x", &1).is_err());
    assert!(vp.insert_array("", &[1u8], &[1]).is_err());
    assert!(vp.replace_value("x", &1).unwrap());
    assert_eq!(vp.kind("x"), Some(varpack::Kind::Json));
}

#[test]
fn append_mode_adds_in_place_and_refuses_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    for path in forms(dir.path()) {
        sample().save_as(&path).unwrap();
        for round in 0..2 {
            let mut vp = Varpack::append(&path).unwrap();
            assert!(vp.insert_value("x", &1).is_err());
            vp.insert_array(&format!("more{round}"), &[round as u8; 3], &[3])
                .unwrap();
            vp.insert_value(&format!("note{round}"), "n").unwrap();
            vp.save().unwrap();
        }
        // A replaced value cannot be appended.
        let mut vp = Varpack::append(&path).unwrap();
        vp.replace_value("s", "other").unwrap();
        assert!(matches!(
            vp.save().err_kind(),
            Some(SaveErrorKind::Duplicate { .. })
        ));
        drop(vp);
        let vp = Varpack::load(&path).unwrap();
        check_sample(&vp);
        assert_eq!(vp.array("more1").unwrap().as_bytes(), &[1, 1, 1]);
        assert_eq!(vp.get_value::<String>("note0").unwrap(), "n");
    }
}

#[test]
fn write_mode_replaces_the_pack() {
    let dir = tempfile::tempdir().unwrap();
    for path in forms(dir.path()) {
        sample().save_as(&path).unwrap();
        let mut vp = Varpack::create(&path);
        vp.insert_value("only", &true).unwrap();
        vp.save().unwrap();
        assert_eq!(Varpack::load(&path).unwrap().names(), vec!["only"]);
    }
}

#[test]
fn a_crash_mid_save_leaves_a_loadable_pack() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pack");
    for fault in [Fault::AfterFiles, Fault::AfterOldMoved, Fault::AfterSwap] {
        sample().save_as(&path).unwrap();
        let mut vp = Varpack::load(&path).unwrap();
        vp.replace_value("s", "new").unwrap();
        set_fault(Some(fault));
        let err = vp.save().unwrap_err();
        set_fault(None);
        assert!(matches!(err.kind(), SaveErrorKind::Injected(_)), "{err}");
        drop(vp);
        let vp = Varpack::load(&path).unwrap();
        let s = vp.get_value::<String>("s").unwrap();
        // Before the swap the old pack, after it the new one, never a mixture.
        let expected = if fault == Fault::AfterFiles {
            "hello"
        } else {
            "new"
        };
        assert_eq!(s, expected, "{fault:?}");
        check_sample_arrays(&vp);
        // The next save cleans up and works.
        let mut vp = vp;
        vp.save().unwrap();
        // (The lock file stays: every save of the pack takes it.)
        let mut leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        leftovers.sort();
        assert_eq!(leftovers, vec![".pack.varpack-lock", "pack"], "{fault:?}");
    }
    // Single file: an interrupted save leaves the old archive.
    let npz = dir.path().join("pack.npz");
    sample().save_as(&npz).unwrap();
    let mut vp = Varpack::load(&npz).unwrap();
    vp.replace_value("s", "new").unwrap();
    set_fault(Some(Fault::AfterFiles));
    assert!(vp.save().is_err());
    set_fault(None);
    drop(vp);
    assert_eq!(
        Varpack::load(&npz)
            .unwrap()
            .get_value::<String>("s")
            .unwrap(),
        "hello"
    );
}

fn check_sample_arrays(vp: &Varpack) {
    assert_eq!(vp.view::<i32>("Ints").unwrap().as_slice(), &[1, -2, 3]);
    assert_eq!(
        vp.dict_array("d", "K").unwrap().to_vec::<u16>().unwrap(),
        vec![7; 4]
    );
}

#[test]
fn a_killed_child_process_leaves_the_previous_pack() {
    // A real crash: the CLI converting into an existing pack is killed with SIGKILL as soon
    // as it starts; whatever point it reached, the pack loads as the old or the new one.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let dst = dir.path().join("dst");
    let mut big = Varpack::new();
    big.insert_array("x", &vec![3u8; 8 << 20], &[8 << 20])
        .unwrap();
    big.save_as(&src).unwrap();
    sample().save_as(&dst).unwrap();
    for delay_ms in [0u64, 5, 20, 60] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_varpack"))
            .args(["convert".as_ref(), src.as_os_str(), dst.as_os_str()])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let vp = Varpack::load(&dst).unwrap();
        match vp.names().as_slice() {
            ["x"] => assert_eq!(vp.array("x").unwrap().as_bytes().len(), 8 << 20),
            _ => check_sample(&vp),
        }
    }
}

#[test]
fn a_plain_numpy_npz_opens_as_a_pack() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.npz");
    let mut w = npz_stream::NpzWriter::options()
        .align(false)
        .create(&path)
        .unwrap();
    w.add_array("a", &[1.5f64, 2.5], &[2]).unwrap();
    w.add_array("b", &[1u8], &[1]).unwrap();
    w.finish().unwrap();
    let vp = Varpack::load(&path).unwrap();
    assert_eq!(vp.names(), vec!["a", "b"]);
    assert_eq!(vp.view::<f64>("a").unwrap().as_slice(), &[1.5, 2.5]);
    vp.save_as(dir.path().join("dir")).unwrap();
    assert_eq!(
        Varpack::load(dir.path().join("dir"))
            .unwrap()
            .view::<f64>("a")
            .unwrap()
            .as_slice(),
        &[1.5, 2.5]
    );
}

#[test]
fn detach_copies_into_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p");
    sample().save_as(&path).unwrap();
    let mut vp = LoadOptions::new().lazy(true).load(&path).unwrap();
    vp.detach().unwrap();
    assert_eq!(vp.status("x"), Some(Status::Loaded));
    std::fs::remove_dir_all(&path).unwrap();
    check_sample(&vp);
}

#[test]
fn saving_over_a_foreign_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mine.txt"), "x").unwrap();
    assert!(matches!(
        sample().save_as(dir.path()).err_kind(),
        Some(SaveErrorKind::NotAPack { .. })
    ));
    assert!(dir.path().join("mine.txt").exists());
}

#[derive(Debug, Clone)]
enum Gen {
    U8(Vec<u8>),
    I32(Vec<i32>),
    F64(Vec<f64>),
    Json(serde_json::Value),
    /// A dict's entries: arrays (`Ok`) and JSON values (`Err`).
    Dict(Vec<(String, Result<Vec<u16>, serde_json::Value>)>),
}

fn gen_value() -> impl Strategy<Value = Gen> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Gen::U8),
        proptest::collection::vec(any::<i32>(), 0..20).prop_map(Gen::I32),
        proptest::collection::vec(-1e9f64..1e9, 0..20).prop_map(Gen::F64),
        (any::<i64>(), "[a-zA-Z ]{0,8}")
            .prop_map(|(n, s)| Gen::Json(serde_json::json!({"n": n, "s": s}))),
        proptest::collection::vec(
            (
                "[a-zA-Z0-9~%./ ]{0,6}",
                prop_oneof![
                    proptest::collection::vec(any::<u16>(), 0..8).prop_map(Ok),
                    (any::<i32>(), "[a-z ]{0,5}").prop_map(|(n, s)| Err(serde_json::json!([n, s]))),
                ]
            ),
            0..4
        )
        .prop_map(Gen::Dict),
    ]
}

fn build(values: &BTreeMap<String, (Gen, bool)>) -> Varpack {
    let mut vp = Varpack::new();
    for (name, (g, sep)) in values {
        match g {
            Gen::U8(v) => vp.insert_array(name, v, &[v.len() as u64]).unwrap(),
            Gen::I32(v) => vp.insert_array(name, v, &[1, v.len() as u64]).unwrap(),
            Gen::F64(v) => vp.insert_array(name, v, &[v.len() as u64]).unwrap(),
            Gen::Json(j) => {
                vp.insert(name, j.clone()).unwrap();
                vp.set_separate(name, *sep).unwrap();
            }
            Gen::Dict(entries) => {
                let d = entries.iter().map(|(k, v)| {
                    let item = match v {
                        Ok(v) => Array::from_slice(v, &[v.len() as u64]).unwrap().into(),
                        Err(j) => varpack::Item::Json(j.clone()),
                    };
                    (k.clone(), item)
                });
                vp.insert_dict(name, d).unwrap();
                vp.set_separate(name, *sep).unwrap();
            }
        }
    }
    vp
}

fn compare(vp: &Varpack, values: &BTreeMap<String, (Gen, bool)>) {
    assert_eq!(vp.len(), values.len());
    for (name, (g, _)) in values {
        match g {
            Gen::U8(v) => assert_eq!(&vp.view::<u8>(name).unwrap().as_slice(), v),
            Gen::I32(v) => assert_eq!(&vp.view::<i32>(name).unwrap().as_slice(), v),
            Gen::F64(v) => assert_eq!(&vp.view::<f64>(name).unwrap().as_slice(), v),
            Gen::Json(j) => assert_eq!(vp.json(name).unwrap(), j),
            Gen::Dict(entries) => {
                let d = vp.dict(name).unwrap();
                let expected: BTreeMap<_, _> = entries.iter().cloned().collect();
                assert_eq!(d.len(), expected.len());
                for (k, v) in expected {
                    match v {
                        Ok(v) => assert_eq!(d[&k].as_array().unwrap().to_vec::<u16>().unwrap(), v),
                        Err(j) => assert_eq!(d[&k].as_json(), Some(&j)),
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn round_trip_both_forms(values in proptest::collection::btree_map("[a-zA-Z0-9_.~% -]{1,8}", (gen_value(), any::<bool>()), 0..6)) {
        let dir = tempfile::tempdir().unwrap();
        let vp = build(&values);
        for path in forms(dir.path()) {
            vp.save_as(&path).unwrap();
            compare(&Varpack::load(&path).unwrap(), &values);
            compare(&LoadOptions::new().lazy(true).load(&path).unwrap(), &values);
        }
        // And converted from one form to the other.
        let [d, f] = forms(dir.path());
        Varpack::load(&f).unwrap().save_as(dir.path().join("back")).unwrap();
        compare(&Varpack::load(dir.path().join("back")).unwrap(), &values);
        let _ = d;
    }
}

#[test]
fn skipped_values_are_left_out_of_saves_and_appends() {
    let dir = tempfile::tempdir().unwrap();
    for path in forms(dir.path()) {
        let mut vp = sample();
        vp.set_skip_save("x", true).unwrap();
        vp.save_as(&path).unwrap();
        assert!(vp.contains("x"), "still in the Varpack");
        let loaded = Varpack::load(&path).unwrap();
        assert!(!loaded.contains("x") && loaded.contains("Ints"));
        drop(loaded);
        // An append drops a skipped value of the pack and does not add a skipped new one.
        let mut vp = Varpack::append(&path).unwrap();
        vp.insert_value("new", &1).unwrap();
        vp.insert_value("scratch", &2).unwrap();
        vp.set_skip_save("scratch", true).unwrap();
        vp.set_skip_save("s", true).unwrap();
        vp.save().unwrap();
        let names = Varpack::load(&path).unwrap().names().join(",");
        assert_eq!(names, "Ints,big,d,new", "{}", path.display());
        assert!(vp.set_skip_save("nope", true).is_err());
    }
}

#[test]
fn values_over_the_size_threshold_get_files_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    for path in forms(dir.path()) {
        let mut vp = Varpack::new();
        vp.insert_value("log", &vec!["a line of text"; 100])
            .unwrap();
        vp.insert_value("n", &1).unwrap();
        vp.insert_dict(
            "run",
            [
                (
                    "adc",
                    varpack::Item::from(Array::from_slice(&[1u8], &[1]).unwrap()),
                ),
                ("notes", varpack::Item::json(&vec!["x"; 500]).unwrap()),
            ],
        )
        .unwrap();
        vp.insert_dict("small", [("k", varpack::Item::json(&1).unwrap())])
            .unwrap();
        vp.set_separate_min_bytes(Some(1000));
        vp.save_as(&path).unwrap();
        let loaded = Varpack::load(&path).unwrap();
        let separate: Vec<String> = (loaded.infos().into_iter())
            .filter(|i| i.separate)
            .map(|i| i.name)
            .collect();
        assert_eq!(separate, ["log", "run"], "{}", path.display());
        assert_eq!(
            loaded
                .dict_value::<Vec<String>>("run", "notes")
                .unwrap()
                .len(),
            500
        );
        assert_eq!(loaded.dict_value::<i32>("small", "k").unwrap(), 1);
        assert_eq!(loaded.get_value::<i32>("n").unwrap(), 1);
        // Ignoring the separate values reads neither.
        let partial = LoadOptions::new()
            .ignore(["log", "run"])
            .load(&path)
            .unwrap();
        assert!(matches!(partial.json("log"), Err(GetError::Ignored { .. })));
    }
}
