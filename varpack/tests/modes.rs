//! AlignedBinaryFormat's open modes: its README's walk through `w`, `w+`, `r+`, `r`, `a`, `a+`
//! re-enacted on both forms, and each refusal checked to leave the pack as it was.

use std::path::Path;

use varpack::{AccessMode, GetError, InsertError, SaveErrorKind, Varpack};

fn first(vp: &Varpack, name: &str) -> f64 {
    vp.array(name).unwrap().to_vec::<f64>().unwrap()[0]
}

/// The README's sequence of `abfopen` calls, on the pack at `path`.
fn walk_through_every_mode(path: &Path) {
    // "w": writes only; reading back is refused.
    let mut vp = Varpack::access(path, AccessMode::Write).unwrap();
    vp.insert_array("x", &[0.5f64; 6], &[3, 2]).unwrap();
    assert!(matches!(vp.array("x"), Err(GetError::WriteOnly { .. })));
    vp.save().unwrap();

    // "w+": replaces the pack; reads and modifies.
    let mut vp = Varpack::access(path, AccessMode::WriteRead).unwrap();
    vp.insert_array("x", &[0.25f64; 6], &[3, 2]).unwrap();
    assert_eq!(first(&vp, "x"), 0.25);
    vp.view_mut::<f64>("x").unwrap().as_mut_slice()[0] = -1.0;
    vp.save().unwrap();
    assert_eq!(first(&Varpack::load(path).unwrap(), "x"), -1.0);

    // "r+": modifies mapped arrays in place and adds values.
    let mut vp = Varpack::access(path, AccessMode::Update).unwrap();
    vp.view_mut::<f64>("x").unwrap().as_mut_slice()[0] = 3.0;
    vp.insert_array("y", &[0.1f64, 0.2], &[2]).unwrap();
    vp.save().unwrap();
    drop(vp);

    // "r": reads; every change is refused and the pack stays as it was.
    let before = Varpack::load(path).unwrap().names().join(",");
    let mut vp = Varpack::access(path, AccessMode::Read).unwrap();
    assert_eq!(first(&vp, "x"), 3.0);
    assert_eq!(vp.array("y").unwrap().to_vec::<f64>().unwrap(), [0.1, 0.2]);
    assert!(vp.view_mut::<f64>("x").is_err());
    assert!(matches!(vp.get_mut("y"), Err(GetError::ReadOnly { .. })));
    assert!(matches!(
        vp.insert_value("z", &1),
        Err(InsertError::ReadOnly { .. })
    ));
    assert!(matches!(
        vp.replace_value("y", &1),
        Err(InsertError::ReadOnly { .. })
    ));
    let err = vp.save().unwrap_err();
    assert!(matches!(err.kind(), SaveErrorKind::ReadOnly), "{err}");
    drop(vp);
    let after = Varpack::load(path).unwrap();
    assert_eq!(after.names().join(","), before);
    assert_eq!(first(&after, "x"), 3.0);

    // "a": adds only; reading is refused, existing names too.
    let mut vp = Varpack::access(path, AccessMode::Append).unwrap();
    assert!(matches!(vp.array("x"), Err(GetError::WriteOnly { .. })));
    assert!(vp.insert_value("x", &1).is_err());
    vp.insert_array("z", &[0.75f64; 3], &[3]).unwrap();
    vp.save().unwrap();

    // "a+": reads what is there, modifies it in place, adds.
    let mut vp = Varpack::access(path, AccessMode::AppendRead).unwrap();
    assert_eq!(first(&vp, "x"), 3.0);
    assert_eq!(first(&vp, "z"), 0.75);
    vp.view_mut::<f64>("z").unwrap().as_mut_slice()[0] = 9.0;
    vp.flush().unwrap();
    drop(vp);
    let vp = Varpack::load(path).unwrap();
    assert_eq!(vp.names(), ["x", "y", "z"]);
    assert_eq!(first(&vp, "z"), 9.0);
    assert_eq!(first(&vp, "x"), 3.0);
}

#[test]
fn every_mode_behaves_as_documented_in_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    walk_through_every_mode(&dir.path().join("pack"));
}

#[test]
fn every_mode_behaves_as_documented_in_a_single_file() {
    let dir = tempfile::tempdir().unwrap();
    walk_through_every_mode(&dir.path().join("pack.npz"));
}

#[test]
fn read_modes_need_the_pack_append_modes_create_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    assert!(Varpack::access(&missing, AccessMode::Read).is_err());
    assert!(Varpack::access(&missing, AccessMode::Update).is_err());
    for mode in [AccessMode::Append, AccessMode::AppendRead] {
        let path = dir.path().join(format!("new-{}.npz", mode.as_str()));
        let mut vp = Varpack::access(&path, mode).unwrap();
        assert!(!path.exists());
        vp.insert_value("n", &1).unwrap();
        vp.save().unwrap();
        assert_eq!(
            Varpack::load(&path).unwrap().get_value::<i32>("n").unwrap(),
            1
        );
    }
}

#[test]
fn write_modes_replace_the_pack_only_when_saved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p");
    let mut vp = Varpack::create(&path);
    vp.insert_value("old", &1).unwrap();
    vp.save().unwrap();
    let mut previous = "old";
    for mode in [AccessMode::Write, AccessMode::WriteRead] {
        let mut vp = Varpack::access(&path, mode).unwrap();
        assert!(vp.is_empty());
        // Not saved: the old pack is untouched.
        drop(vp);
        assert_eq!(Varpack::load(&path).unwrap().names(), [previous]);
        previous = mode.as_str();
        vp = Varpack::access(&path, mode).unwrap();
        vp.insert_value(mode.as_str(), &2).unwrap();
        vp.save().unwrap();
        assert_eq!(Varpack::load(&path).unwrap().names(), [mode.as_str()]);
    }
}

#[test]
fn mode_strings_parse_as_abfopen_spells_them() {
    for mode in [
        AccessMode::Read,
        AccessMode::Update,
        AccessMode::Write,
        AccessMode::WriteRead,
        AccessMode::Append,
        AccessMode::AppendRead,
    ] {
        assert_eq!(mode.as_str().parse::<AccessMode>().unwrap(), mode);
        assert_eq!(mode.to_string(), mode.as_str());
    }
    for bad in ["", "rw", "R", "w+b", "x"] {
        assert!(bad.parse::<AccessMode>().is_err(), "{bad:?}");
    }
}

#[test]
fn unsynced_saves_and_appends_make_the_same_packs() {
    let dir = tempfile::tempdir().unwrap();
    for form in ["p", "p.npz"] {
        let path = dir.path().join(form);
        for sync in [true, false] {
            let mut vp = Varpack::create(&path);
            vp.set_sync(sync);
            vp.insert_array("x", &[1.5f64, 2.5], &[2]).unwrap();
            vp.insert_value("n", &1).unwrap();
            vp.save().unwrap();
            let mut vp = Varpack::append(&path).unwrap();
            vp.set_sync(sync);
            vp.insert_value("m", &2).unwrap();
            vp.save().unwrap();
            let back = Varpack::load(&path).unwrap();
            assert_eq!(back.names(), ["m", "n", "x"], "{form} sync {sync}");
            assert_eq!(first(&back, "x"), 1.5);
        }
    }
}
