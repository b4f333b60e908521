//! Fault injection for saves, in both forms (a directory, one `.npz`): a disk that fills up at
//! a random byte (a child process with `RLIMIT_FSIZE`, so writes past it fail with `EFBIG`)
//! and savers killed with SIGKILL at a random moment.
//!
//! What is asserted is what the crate documents ("Saving is atomic"): a failed save returns
//! the error and leaves the previous pack, which loads with every value; a killed save leaves
//! the previous pack or the new one, complete, never a mixture (for the directory form after
//! `load`'s roll-forward), and the next save works and removes what the kill left of a
//! directory save. Saves cover `save_as` of a new set of values, `save` of a lazily loaded pack
//! (unloaded values are copied from the old pack) and, for the directory form, appends
//! (`Varpack::append`), whose manifest is replaced by rename. Appends to the single-file form
//! write in place through npz-stream's appending writer, after the old end records: a full disk
//! restores the archive, a kill leaves the old archive followed by bytes its reader ignores.
//!
//! `ARRAY_FILES_TRIALS` sets the trials per test (default 30; the full run uses 300),
//! `ARRAY_FILES_SEED` the base seed (see `testkit::faults`).
#![cfg(unix)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use testkit::faults::{self as fs_, Rng, mix, report};
use varpack::{Array, LoadOptions, Varpack};

/// One value of a pack, as generated.
#[derive(Debug, Clone, PartialEq)]
enum Spec {
    /// `u32` elements `0..len` of the value's sequence.
    Array { len: u64 },
    /// Arrays of `u32`, by key.
    Dict { keys: Vec<(String, u64)> },
    /// A JSON value (a list of numbers), grouped or in its own file.
    Json { len: u64, separate: bool },
}

fn element(name: &str, key: &str, i: u64) -> u32 {
    let id = name
        .bytes()
        .chain([0])
        .chain(key.bytes())
        .fold(11u64, |h, b| mix(h ^ u64::from(b)));
    mix(id ^ i) as u32
}

fn elements(name: &str, key: &str, len: u64) -> Vec<u32> {
    (0..len).map(|i| element(name, key, i)).collect()
}

/// The values of version `version` of a pack: `version` itself, then a few arrays, dicts and
/// JSON values of random sizes.
fn pack_spec(seed: u64, version: u64) -> BTreeMap<String, Spec> {
    let mut rng = Rng(mix(seed ^ version));
    let mut spec = BTreeMap::new();
    spec.insert(
        "version".to_owned(),
        Spec::Json {
            len: version,
            separate: false,
        },
    );
    for i in 0..rng.range(1, 7) {
        let len = |rng: &mut Rng| match rng.below(5) {
            0 => rng.range(10_000, 100_000),
            _ => rng.below(2000),
        };
        let name = format!("v{}_{i}", rng.below(3));
        let value = match rng.below(4) {
            0 | 1 => Spec::Array { len: len(&mut rng) },
            2 => Spec::Dict {
                keys: (0..rng.range(1, 3))
                    .map(|k| (format!("k{k}"), len(&mut rng)))
                    .collect(),
            },
            _ => Spec::Json {
                len: rng.below(300),
                separate: rng.chance(1, 2),
            },
        };
        spec.insert(name, value);
    }
    spec
}

fn insert(vp: &mut Varpack, name: &str, spec: &Spec) {
    match spec {
        Spec::Array { len } => {
            vp.insert_array(name, &elements(name, "", *len), &[*len])
                .unwrap();
        }
        Spec::Dict { keys } => {
            let dict: Vec<_> = keys
                .iter()
                .map(|(key, len)| {
                    let array = Array::from_slice(&elements(name, key, *len), &[*len]).unwrap();
                    (key.clone(), array)
                })
                .collect();
            vp.insert_dict(name, dict).unwrap();
        }
        Spec::Json { len, separate } => {
            let list: Vec<u64> = if name == "version" {
                vec![*len]
            } else {
                elements(name, "json", *len)
                    .into_iter()
                    .map(u64::from)
                    .collect()
            };
            vp.insert_value(name, &list).unwrap();
            vp.set_separate(name, *separate).unwrap();
        }
    }
}

fn build(spec: &BTreeMap<String, Spec>) -> Varpack {
    let mut vp = Varpack::new();
    for (name, value) in spec {
        insert(&mut vp, name, value);
    }
    vp
}

/// Checks that the pack at `path` holds exactly `spec`.
fn check(path: &Path, spec: &BTreeMap<String, Spec>) {
    let vp = Varpack::load(path).unwrap_or_else(|e| panic!("the pack does not load: {e}"));
    let names: Vec<&str> = spec.keys().map(String::as_str).collect();
    assert_eq!(vp.names(), names);
    for (name, value) in spec {
        match value {
            Spec::Array { len } => {
                assert_eq!(
                    vp.view::<u32>(name).unwrap().as_slice(),
                    elements(name, "", *len),
                    "{name}"
                );
            }
            Spec::Dict { keys } => {
                assert_eq!(vp.dict(name).unwrap().len(), keys.len(), "{name}");
                for (key, len) in keys {
                    let array = vp.dict_array(name, key).unwrap();
                    assert_eq!(array.to_vec::<u32>().unwrap(), elements(name, key, *len));
                }
            }
            Spec::Json { len, .. } => {
                let list: Vec<u64> = vp.get_value(name).unwrap();
                let expected: Vec<u64> = if name == "version" {
                    vec![*len]
                } else {
                    elements(name, "json", *len)
                        .into_iter()
                        .map(u64::from)
                        .collect()
                };
                assert_eq!(list, expected, "{name}");
            }
        }
    }
}

/// How a child saves version `version` over the pack at `path`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// `save_as` of a pack built from scratch.
    SaveAs,
    /// `load` lazily, change `version`, add a value, `save`: the values not loaded are copied
    /// from the old pack.
    Resave,
    /// `open(Append)`, add values, `save`.
    Append,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::SaveAs => "save_as",
            Mode::Resave => "resave",
            Mode::Append => "append",
        }
    }

    fn parse(s: &str) -> Mode {
        match s {
            "save_as" => Mode::SaveAs,
            "resave" => Mode::Resave,
            _ => Mode::Append,
        }
    }
}

/// What the pack holds after a save of `version` in `mode` over `old`.
fn after_save(
    seed: u64,
    old: &BTreeMap<String, Spec>,
    version: u64,
    mode: Mode,
) -> BTreeMap<String, Spec> {
    let fresh = pack_spec(seed, version);
    match mode {
        Mode::SaveAs => fresh,
        Mode::Resave | Mode::Append => {
            let mut spec = old.clone();
            if mode == Mode::Resave {
                spec.insert("version".into(), fresh["version"].clone());
            }
            // The values added: those of the fresh version, under names of their own.
            for (name, value) in fresh.into_iter().filter(|(n, _)| n != "version") {
                let value = match value {
                    // Appends give JSON values files of their own.
                    Spec::Json { len, .. } if mode == Mode::Append => Spec::Json {
                        len,
                        separate: true,
                    },
                    other => other,
                };
                spec.insert(format!("{name}_r{version}"), value);
            }
            spec
        }
    }
}

/// Saves `version` over the pack at `path` in `mode`.
fn save(path: &Path, seed: u64, version: u64, mode: Mode) -> Result<(), varpack::SaveError> {
    let fresh = pack_spec(seed, version);
    match mode {
        Mode::SaveAs => build(&fresh).save_as(path),
        Mode::Resave | Mode::Append => {
            let mut vp = if mode == Mode::Resave {
                let mut vp = LoadOptions::new().lazy(true).load(path).unwrap();
                vp.replace_value("version", &vec![version]).unwrap();
                vp
            } else {
                Varpack::append(path).unwrap()
            };
            for (name, value) in fresh.iter().filter(|(n, _)| *n != "version") {
                insert(&mut vp, &format!("{name}_r{version}"), value);
            }
            vp.save()
        }
    }
}

#[test]
fn child_entry() {
    let Some((role, arg)) = fs_::child_role() else {
        return;
    };
    if role == "url" {
        return url_child(&arg);
    }
    let parts: Vec<&str> = arg.split('\t').collect();
    let path = PathBuf::from(parts[0]);
    let seed: u64 = parts[1].parse().unwrap();
    let old: u64 = parts[2].parse().unwrap();
    let mode = Mode::parse(parts[3]);
    match role.as_str() {
        "full" => {
            let limit: u64 = parts[4].parse().unwrap();
            fs_::limit_file_size(limit);
            match save(&path, seed, old + 1, mode) {
                Ok(()) => report("saved", true),
                Err(e) => {
                    report("error_full", fs_::is_disk_full(&e));
                    report("error", e);
                }
            }
        }
        "killed" => {
            report("ready", 1);
            for version in old + 1.. {
                save(&path, seed, version, mode).unwrap();
                report("saved", version);
            }
        }
        other => panic!("unknown child role {other}"),
    }
}

/// In a child whose `TMPDIR` is empty: a save to `url` (never reached) whose local copy fills
/// the disk before anything is uploaded.
fn url_child(url: &str) {
    let mut vp = Varpack::new();
    vp.insert_array("big", &vec![7u32; 100_000], &[100_000])
        .unwrap();
    fs_::limit_file_size(50_000);
    let err = vp.save_as_location(url).unwrap_err();
    report("error_full", fs_::is_disk_full(&err));
    report("error", err);
    report("left", fs_::names_in(&std::env::temp_dir()).len());
}

/// A save to a URL writes its local copy in a private directory of `TMPDIR`: a failure there
/// (the local disk full) is an error naming the URL the user gave, not that copy, and the
/// directory is removed.
#[test]
fn a_save_to_a_url_that_fills_the_local_disk_names_the_url() {
    let tmp = tempfile::tempdir().unwrap();
    let url = "s3://bucket-never-reached/runs/full.npz";
    let mut cmd = fs_::child_command("url", url);
    cmd.env("TMPDIR", tmp.path());
    let out = fs_::run_command(cmd);
    assert!(out.status.success(), "{out}");
    assert_eq!(out.get("error_full"), Some("true"), "{out}");
    let error = out.get("error").unwrap();
    assert!(error.starts_with(&format!("{url}: ")), "{error}");
    assert!(!error.contains(tmp.path().to_str().unwrap()), "{error}");
    assert_eq!(out.get("left"), Some("0"), "{out}");
    assert!(fs_::names_in(tmp.path()).is_empty());
}

fn random_mode(rng: &mut Rng) -> Mode {
    match rng.below(3) {
        0 => Mode::SaveAs,
        1 => Mode::Resave,
        // (A killed append to a single file leaves the old archive followed by new bytes,
        // which npz-stream's reader opens with the old members.)
        _ => Mode::Append,
    }
}

/// The names a save of `path` may leave beside it after a kill: the directory form's
/// `.P.ID.varpack-new` / `.P.ID.varpack-old`, the single-file form's `.P.npz.ID.tmp` (`ID` is
/// `PID-N`).
fn is_leftover(name: &str, file: &str) -> bool {
    name.strip_prefix(&format!(".{file}.")).is_some_and(|rest| {
        rest.ends_with(".varpack-new") || rest.ends_with(".varpack-old") || rest.ends_with(".tmp")
    })
}

/// The names in `dir` but the pack's lock file, which every save creates and keeps.
fn names_but_lock(dir: &Path, file: &str) -> Vec<String> {
    let lock = format!(".{file}.varpack-lock");
    fs_::names_in(dir)
        .into_iter()
        .filter(|n| *n != lock)
        .collect()
}

/// The sizes of the files a pack of `spec` writes, roughly.
fn file_sizes(spec: &BTreeMap<String, Spec>) -> Vec<u64> {
    let mut sizes = vec![2000];
    for value in spec.values() {
        match value {
            Spec::Array { len } => sizes.push(4 * len + 128),
            Spec::Dict { keys } => sizes.extend(keys.iter().map(|(_, l)| 4 * l + 128)),
            Spec::Json { len, .. } => sizes.push(12 * len + 100),
        }
    }
    sizes
}

/// A trial's directory, whether its pack is the single-file form, and the pack's path.
fn trial_place(rng: &mut fs_::Rng) -> (tempfile::TempDir, bool, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let npz = rng.chance(1, 2);
    let path = dir.path().join(if npz { "p.npz" } else { "p" });
    (dir, npz, path)
}

#[test]
fn a_full_disk_while_saving_leaves_the_previous_pack() {
    let _serial = fs_::serial();
    fs_::run_trials("varpack full disk", 30, |rng, _| {
        let (dir, npz, path) = trial_place(rng);
        let seed = rng.next();
        let old = rng.below(5);
        let mode = random_mode(rng);
        let old_spec = pack_spec(seed, old);
        build(&old_spec).save_as(&path).unwrap();
        let new_spec = after_save(seed, &old_spec, old + 1, mode);
        // The directory form writes one file per value; the single file holds them all.
        let sizes = file_sizes(&new_spec);
        let needed = if npz {
            sizes.iter().sum::<u64>()
        } else {
            sizes.iter().copied().max().unwrap_or(0)
        };
        let floor = if npz && mode == Mode::Append {
            // An append rewrites the archive in place: a limit below its length would refuse
            // even that, which a full disk does not.
            std::fs::metadata(&path).unwrap().len()
        } else {
            0
        };
        let limit = if rng.chance(1, 5) {
            u64::MAX / 2
        } else {
            floor + rng.below(needed)
        };
        let arg = format!(
            "{}\t{seed}\t{old}\t{}\t{limit}",
            path.display(),
            mode.name()
        );
        let child = fs_::run_child("full", &arg);
        assert!(child.status.success(), "{child}");
        let outcome = if child.has("saved") {
            check(&path, &new_spec);
            "saved"
        } else {
            assert_eq!(child.get("error_full"), Some("true"), "{child}");
            check(&path, &old_spec);
            // The failed save removed what it wrote: nothing is left to fill the disk.
            let file = path.file_name().unwrap().to_str().unwrap();
            assert_eq!(names_but_lock(dir.path(), file), [file], "{child}");
            "failed: error returned, previous pack loads"
        };
        // The next save (here, without a limit) works and cleans up.
        save(&path, seed, old + 1, Mode::SaveAs).unwrap();
        check(&path, &pack_spec(seed, old + 1));
        let file = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(names_but_lock(dir.path(), file), [file], "{child}");
        format!(
            "{} {}: {outcome}",
            if npz { "npz" } else { "dir" },
            mode.name()
        )
    });
}

#[test]
fn a_killed_save_leaves_the_previous_or_the_new_pack() {
    let _serial = fs_::serial();
    fs_::run_trials("varpack killed", 30, |rng, _| {
        let (dir, npz, path) = trial_place(rng);
        let seed = rng.next();
        let mode = random_mode(rng);
        let mut specs = vec![pack_spec(seed, 0)];
        build(&specs[0]).save_as(&path).unwrap();
        let arg = format!("{}\t{seed}\t0\t{}", path.display(), mode.name());
        let delay = Duration::from_micros(rng.below(50_000));
        let child = fs_::kill_child_after("killed", &arg, delay);
        let saved = child.number("saved").unwrap_or(0);
        for version in 1..=saved + 1 {
            let next = after_save(seed, &specs[version as usize - 1], version, mode);
            specs.push(next);
        }
        // Which version is it? (load rolls a directory save interrupted between its renames
        // forward.) Saves add names or change `version`: the two candidates differ.
        let loaded = LoadOptions::new()
            .lazy(true)
            .load(&path)
            .unwrap_or_else(|e| panic!("the pack does not load: {e}: {child}"));
        let names: Vec<String> = loaded.names().into_iter().map(str::to_owned).collect();
        let stored_version = loaded.get_value::<Vec<u64>>("version").unwrap()[0];
        drop(loaded);
        let version = (saved..=saved + 1)
            .find(|&v| {
                let spec = &specs[v as usize];
                spec.keys().eq(names.iter())
                    && spec["version"]
                        == (Spec::Json {
                            len: stored_version,
                            separate: false,
                        })
            })
            .unwrap_or_else(|| panic!("neither version {saved} nor the next: {child}"));
        check(&path, &specs[version as usize]);
        let file = path.file_name().unwrap().to_str().unwrap();
        let mut leftovers = false;
        for name in names_but_lock(dir.path(), file) {
            if name != file {
                assert!(is_leftover(&name, file), "stray file {name}: {child}");
                leftovers = true;
            }
        }
        // The next save works and removes what the kill left (the temporaries of a process
        // that is gone).
        build(&specs[0]).save_as(&path).unwrap();
        check(&path, &specs[0]);
        assert_eq!(names_but_lock(dir.path(), file), [file], "{child}");
        format!(
            "{} {}: {}{}",
            if npz { "npz" } else { "dir" },
            mode.name(),
            if version == saved {
                "last saved"
            } else {
                "next (killed before its report)"
            },
            if leftovers { ", leftovers" } else { "" }
        )
    });
}
