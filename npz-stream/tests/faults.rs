//! Fault injection for the archive writer: a disk that fills up at a random byte (a child
//! process with `RLIMIT_FSIZE`: writes past it fail with `EFBIG`) while creating an archive over
//! an existing one or adding to an existing one, and writers killed with SIGKILL at a random
//! moment.
//!
//! What is asserted is what `NpzWriter` documents:
//!
//! - **Creating** (temporary file, sync, rename): after any failure the error reaches the
//!   caller (the failing call or `finish`), the path holds the previous archive byte for byte
//!   (or nothing) and no temporary file is left; after a kill the path holds the previous or
//!   the new archive, complete, never a mixture (a kill may leave a `.NAME.PID.N.tmp` file).
//! - **Appending** (after the old end records): a failed member or `finish` returns the error,
//!   and a writer that is dropped (or whose `finish` failed) restores the archive byte for
//!   byte; a finished append holds the old members untouched and every member whose call
//!   succeeded. After a kill at any moment, no byte of the archive before the append has
//!   changed, `NpzReader` opens the file as the last finished (or the next) round's archive
//!   with every member CRC-checked, `recover` cuts it back to that archive, and the next append
//!   works. (Before appends went after the end records, 226 of 300 killed appends left an
//!   archive that did not open.)
//!
//! `ARRAY_FILES_TRIALS` sets the trials per test (default 30, 20 for the kill tests; the full
//! run uses 300),
//! `ARRAY_FILES_SEED` the base seed (see `testkit::faults`).
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use npz_stream::{
    Compression, FrameSink, FrameSource, Header, NpzReader, NpzWriter, WriterOptions,
};
use testkit::faults::{self as fs_, Rng, mix, report};

/// One step of a writer's script.
#[derive(Debug, Clone)]
enum Step {
    /// `add_array` of `len` `u32`.
    Array { key: String, len: u64 },
    /// `begin_member`, frames of `k` `u32` appended in `runs`, flushed or synced now and then.
    Stream { key: String, k: u64, runs: Vec<u64> },
    /// `add_file` of `len` bytes.
    File { key: String, len: usize },
    /// `add_npy_file` of an input the parent wrote.
    Npy { key: String, len: u64 },
    /// `set_compression`.
    Deflate(bool),
}

/// The element `i` of member `key`: random for some members, compressible for others.
fn value(key: &str, i: u64) -> u32 {
    let id = key.bytes().fold(7u64, |h, b| mix(h ^ u64::from(b)));
    if id % 2 == 0 {
        mix(id ^ i) as u32
    } else {
        (i / 16) as u32 ^ id as u32
    }
}

fn values(key: &str, start: u64, len: u64) -> Vec<u32> {
    (start..start + len).map(|i| value(key, i)).collect()
}

fn file_bytes(key: &str, len: usize) -> Vec<u8> {
    Rng(mix(key.len() as u64) ^ u64::from(key.as_bytes()[0])).bytes(len)
}

fn element_count(step: &Step) -> u64 {
    match step {
        Step::Array { len, .. } | Step::Npy { len, .. } => *len,
        Step::Stream { k, runs, .. } => k * runs.iter().sum::<u64>(),
        Step::File { len, .. } => *len as u64 / 4,
        Step::Deflate(_) => 0,
    }
}

/// A writer's options and steps, the same in the parent and the child for one seed. Keys start
/// with `prefix`.
fn script(seed: u64, prefix: &str) -> (WriterOptions, Vec<Step>) {
    let mut rng = Rng(seed);
    let options = NpzWriter::options()
        .threads(rng.range(1, 2) as usize)
        .chunk_size(rng.range(4096, 64 << 10) as usize)
        .align(rng.chance(3, 4))
        .compression(if rng.chance(1, 2) {
            Compression::Deflate {
                level: rng.below(7) as u32,
            }
        } else {
            Compression::Stored
        });
    let mut steps = Vec::new();
    for i in 0..rng.range(1, 8) {
        let key = format!("{prefix}m{i}");
        let len = match rng.below(6) {
            0 => rng.range(20_000, 100_000),
            _ => rng.below(3000),
        };
        steps.push(match rng.below(9) {
            0..=2 => Step::Array { key, len },
            3..=5 => {
                let k = rng.range(1, 16);
                let runs = (0..rng.range(0, 20))
                    .map(|_| rng.below(len / k / 4 + 2))
                    .collect();
                Step::Stream { key, k, runs }
            }
            6 => Step::File {
                key,
                len: len as usize,
            },
            7 => Step::Npy { key, len },
            _ => Step::Deflate(rng.chance(1, 2)),
        });
    }
    (options, steps)
}

/// Writes the `.npy` inputs of `steps` into `dir`.
fn write_inputs(dir: &Path, steps: &[Step]) {
    for step in steps {
        if let Step::Npy { key, len } = step {
            npy_format::write_file(
                dir.join(format!("{key}.npy")),
                &values(key, 0, *len),
                &[*len],
            )
            .unwrap();
        }
    }
}

/// Runs `steps` on `npz`, reporting `done=KEY` for every member whose call succeeded and
/// `error_key=KEY` for the one that failed. Returns the first error.
fn run_steps(
    npz: &mut NpzWriter,
    steps: &[Step],
    inputs: &Path,
    rng: &mut Rng,
) -> Result<(), npz_stream::WriteError> {
    for step in steps {
        let (key, result) = match step {
            Step::Array { key, len } => (
                key,
                npz.add_array(key, &values(key, 0, *len), &[*len])
                    .map(|_| ()),
            ),
            Step::Npy { key, .. } => (
                key,
                npz.add_npy_file(key, inputs.join(format!("{key}.npy")))
                    .map(|_| ()),
            ),
            Step::File { key, len } => (key, npz.add_file(key, &file_bytes(key, *len))),
            Step::Deflate(on) => {
                npz.set_compression(if *on {
                    Compression::deflate()
                } else {
                    Compression::Stored
                });
                continue;
            }
            Step::Stream { key, k, runs } => {
                let header = Header::new(<u32 as npy_format::Element>::dtype(), false, vec![0, *k]);
                let result = (|| {
                    let mut member = npz.begin_member(key, &header)?;
                    let mut at = 0;
                    for &n in runs {
                        member.append(&values(key, at * k, n * k))?;
                        at += n;
                        match rng.below(10) {
                            0 => member.flush()?,
                            1 => member.sync()?,
                            _ => {}
                        }
                    }
                    let header = member.finish()?;
                    assert_eq!(header.shape, vec![at, *k]);
                    Ok(())
                })();
                (key, result)
            }
        };
        match result {
            Ok(()) => report("done", key),
            Err(e) => {
                report("error_key", key);
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Checks that member `step` of `reader` holds what the script wrote.
fn check_member(reader: &NpzReader, step: &Step) {
    match step {
        Step::File { key, len } => {
            assert_eq!(
                reader.read_bytes(key).unwrap(),
                file_bytes(key, *len),
                "{key}"
            );
        }
        Step::Deflate(_) => {}
        _ => {
            let key = match step {
                Step::Array { key, .. } | Step::Npy { key, .. } | Step::Stream { key, .. } => key,
                _ => unreachable!(),
            };
            reader.verify(key).unwrap();
            let array = reader.read_array::<u32>(key).unwrap();
            assert_eq!(array.data.len() as u64, element_count(step), "{key}");
            assert!(
                array.data.iter().zip(0..).all(|(&v, i)| v == value(key, i)),
                "{key}: wrong contents"
            );
        }
    }
}

fn member_steps(steps: &[Step]) -> Vec<&Step> {
    steps
        .iter()
        .filter(|s| !matches!(s, Step::Deflate(_)))
        .collect()
}

fn key_of(step: &Step) -> &str {
    match step {
        Step::Array { key, .. }
        | Step::Npy { key, .. }
        | Step::Stream { key, .. }
        | Step::File { key, .. } => key,
        Step::Deflate(_) => "",
    }
}

/// Writes the archive of `script(seed, prefix)` at `path`, in this process.
fn write_archive(path: &Path, inputs: &Path, seed: u64, prefix: &str) -> Vec<Step> {
    let (options, steps) = script(seed, prefix);
    write_inputs(inputs, &steps);
    let mut npz = options.create(path).unwrap();
    run_steps(&mut npz, &steps, inputs, &mut Rng(seed)).unwrap();
    npz.finish().unwrap();
    steps
}

/// Checks that the archive at `path` holds exactly the members of `steps` (in order).
fn check_archive(path: &Path, steps: &[&Step]) {
    let reader = NpzReader::open(path).unwrap_or_else(|e| panic!("the archive does not open: {e}"));
    let keys: Vec<&str> = steps.iter().map(|s| key_of(s)).collect();
    assert_eq!(reader.keys(), keys);
    for step in steps {
        check_member(&reader, step);
    }
}

#[test]
fn child_entry() {
    let Some((role, arg)) = fs_::child_role() else {
        return;
    };
    let mut parts = arg.split(' ');
    let path = PathBuf::from(parts.next().unwrap());
    let inputs = PathBuf::from(parts.next().unwrap());
    let seed: u64 = parts.next().unwrap().parse().unwrap();
    let limit: u64 = parts.next().unwrap().parse().unwrap();
    match role.as_str() {
        "full" | "full-append" => full_disk_child(&path, &inputs, seed, limit, role == "full"),
        "killed" => killed_child(&path, &inputs, seed, false),
        "killed-append" => killed_child(&path, &inputs, seed, true),
        "stale" => stale_child(&path),
        "index-full" => index_full_child(&path, limit),
        "index-killed" => index_killed_child(&path, seed),
        "dropped" => {
            let mut npz = NpzWriter::create(&path).unwrap();
            npz.add_array("x", &[1u8, 2, 3], &[3]).unwrap();
            drop(npz); // no finish()
        }
        "url" => url_child(path.to_str().unwrap(), limit),
        other => panic!("unknown child role {other}"),
    }
}

/// Creates (or appends to) the archive at `path` under a file-size limit, then finishes it or
/// drops the writer.
fn full_disk_child(path: &Path, inputs: &Path, seed: u64, limit: u64, create: bool) {
    fs_::limit_file_size(limit);
    let (options, steps) = script(seed, if create { "" } else { "new_" });
    let mut rng = Rng(seed ^ 1);
    let mut npz = if create {
        options.create(path)
    } else {
        options.append(path)
    }
    .unwrap();
    let failed = match run_steps(&mut npz, &steps, inputs, &mut rng) {
        Ok(()) => false,
        Err(e) => {
            report("error_full", fs_::is_disk_full(&e));
            report("error", e);
            true
        }
    };
    report("failed", failed);
    // After a failed member the writer is still usable: finish with the members that made it,
    // or give up and drop it.
    if !failed || rng.chance(2, 3) {
        match npz.finish() {
            Ok(()) => report("finish", "ok"),
            Err(e) => {
                report("finish_full", fs_::is_disk_full(&e));
                report("finish", "error");
            }
        }
    } else {
        report("dropped", true);
        drop(npz);
    }
}

fn trial_paths(dir: &Path) -> (PathBuf, PathBuf) {
    let inputs = dir.join("inputs");
    std::fs::create_dir(&inputs).unwrap();
    let archives = dir.join("archives");
    std::fs::create_dir(&archives).unwrap();
    (archives.join("a.npz"), inputs)
}

/// The bytes a script's members take, roughly: where a file-size limit may fall.
fn script_bytes(steps: &[Step]) -> u64 {
    steps.iter().map(|s| 4 * element_count(s) + 200).sum()
}

#[test]
fn a_full_disk_while_creating_leaves_the_previous_archive() {
    let _serial = fs_::serial();
    fs_::run_trials("npz create, full disk", 30, |rng, _| {
        let dir = tempfile::tempdir().unwrap();
        let (path, inputs) = trial_paths(dir.path());
        let old_steps = rng
            .chance(2, 3)
            .then(|| write_archive(&path, &inputs, rng.next(), "old_"));
        let before = old_steps.as_ref().map(|_| std::fs::read(&path).unwrap());
        let seed = rng.next();
        let (_, steps) = script(seed, "");
        write_inputs(&inputs, &steps);
        let limit = rng.below(script_bytes(&steps) + 1000);
        let arg = format!("{} {} {seed} {limit}", path.display(), inputs.display());
        let out = fs_::run_child("full", &arg);
        assert!(out.status.success(), "{out}");
        check_error_reported(&out);
        let done = out.all("done");
        let outcome = if out.get("finish") == Some("ok") {
            // Exactly the members whose calls succeeded, each complete.
            let made: Vec<&Step> = member_steps(&steps)
                .into_iter()
                .filter(|s| done.contains(&key_of(s)))
                .collect();
            assert_eq!(made.len(), done.len(), "{out}");
            if out.get("failed") == Some("false") {
                assert_eq!(made.len(), member_steps(&steps).len(), "{out}");
            }
            check_archive(&path, &made);
            if out.get("failed") == Some("true") {
                "a member failed, finish kept the others"
            } else {
                "no fault"
            }
        } else {
            // Nothing changed at the path.
            match &before {
                None => assert!(!path.exists(), "{out}"),
                Some(bytes) => assert!(std::fs::read(&path).unwrap() == *bytes, "{out}"),
            }
            if out.has("dropped") {
                "failed, dropped: old archive kept"
            } else {
                "finish failed: old archive kept"
            }
        };
        // The child ended normally: its temporary file is gone.
        let expected: Vec<&str> = if path.exists() { vec!["a.npz"] } else { vec![] };
        assert_eq!(fs_::names_in(path.parent().unwrap()), expected, "{out}");
        outcome.into()
    });
}

/// A failure must be reported as a full disk, wherever it surfaced.
fn check_error_reported(out: &fs_::ChildOutput) {
    if out.get("failed") == Some("true") {
        assert_eq!(out.get("error_full"), Some("true"), "{out}");
    }
    if out.get("finish") == Some("error") {
        assert_eq!(out.get("finish_full"), Some("true"), "{out}");
    }
    assert!(
        out.has("finish") || out.has("dropped"),
        "the child did not finish: {out}"
    );
}

#[test]
fn a_full_disk_while_appending_restores_the_archive() {
    let _serial = fs_::serial();
    fs_::run_trials("npz append, full disk", 30, |rng, _| {
        let dir = tempfile::tempdir().unwrap();
        let (path, inputs) = trial_paths(dir.path());
        let old_steps = write_archive(&path, &inputs, rng.next(), "old_");
        let before = std::fs::read(&path).unwrap();
        let seed = rng.next();
        let (_, steps) = script(seed, "new_");
        write_inputs(&inputs, &steps);
        // Past the archive's end: a full disk still lets a file be rewritten in place, but a
        // file-size limit below the file's length would refuse even that.
        let limit = before.len() as u64 + rng.below(script_bytes(&steps) + 1000);
        let arg = format!("{} {} {seed} {limit}", path.display(), inputs.display());
        let out = fs_::run_child("full-append", &arg);
        assert!(out.status.success(), "{out}");
        check_error_reported(&out);
        let done = out.all("done");
        let outcome = if out.get("finish") == Some("ok") {
            let mut expected = member_steps(&old_steps);
            expected.extend(
                member_steps(&steps)
                    .into_iter()
                    .filter(|s| done.contains(&key_of(s))),
            );
            if out.get("failed") == Some("false") {
                assert_eq!(
                    expected.len(),
                    member_steps(&old_steps).len() + member_steps(&steps).len()
                );
            }
            check_archive(&path, &expected);
            // The old members' bytes were not touched.
            let cd_start = old_cd_start(&before) as usize;
            assert!(std::fs::read(&path).unwrap()[..cd_start] == before[..cd_start]);
            if out.get("failed") == Some("true") {
                "a member failed, finish kept the others"
            } else {
                "no fault"
            }
        } else {
            assert!(
                std::fs::read(&path).unwrap() == before,
                "the archive was not restored: {out}"
            );
            if out.has("dropped") {
                "failed, dropped: archive restored"
            } else {
                "finish failed: archive restored"
            }
        };
        assert_eq!(fs_::names_in(path.parent().unwrap()), ["a.npz"], "{out}");
        outcome.into()
    });
}

/// Where the central directory of the archive `bytes` starts (from its end record, or the
/// zip64 end record when the end record says 0xFFFFFFFF).
fn old_cd_start(bytes: &[u8]) -> u64 {
    let eocd = bytes.len() - 22;
    assert_eq!(&bytes[eocd..eocd + 4], b"PK\x05\x06");
    let offset = u32::from_le_bytes(bytes[eocd + 16..eocd + 20].try_into().unwrap());
    if offset != u32::MAX {
        return u64::from(offset);
    }
    // zip64: the locator before the end record points to the zip64 end record.
    let locator = eocd - 20;
    assert_eq!(&bytes[locator..locator + 4], b"PK\x06\x07");
    let record = u64::from_le_bytes(bytes[locator + 8..locator + 16].try_into().unwrap()) as usize;
    u64::from_le_bytes(bytes[record + 48..record + 56].try_into().unwrap())
}

/// The rounds a killed child writes at most (then it waits to be killed).
const ROUNDS: u64 = 20;

/// Creates (or appends to) the archive at `path` round after round until killed; round `r`
/// starts with a member `round` holding `r`.
fn killed_child(path: &Path, inputs: &Path, seed: u64, append: bool) {
    report("ready", 1);
    for round in 1..=ROUNDS {
        let prefix = format!("r{round}_");
        let (options, steps) = script(seed ^ round, &prefix);
        let mut npz = if append {
            options.append(path)
        } else {
            options.create(path)
        }
        .unwrap();
        npz.add_file(&format!("{prefix}round"), &round.to_le_bytes())
            .unwrap();
        run_steps(&mut npz, &steps, inputs, &mut Rng(seed ^ round)).unwrap();
        npz.finish().unwrap();
        report("finished", round);
    }
    std::thread::sleep(Duration::from_secs(3600));
}

/// The members a killed child's round wrote (after its `round` member).
fn round_steps(seed: u64, round: u64) -> Vec<Step> {
    script(seed ^ round, &format!("r{round}_")).1
}

#[test]
fn a_killed_writer_leaves_the_previous_or_the_new_archive() {
    let _serial = fs_::serial();
    fs_::run_trials("npz create, killed", 20, |rng, _| {
        let dir = tempfile::tempdir().unwrap();
        let (path, inputs) = trial_paths(dir.path());
        let seed = rng.next();
        let initial = write_archive(&path, &inputs, rng.next(), "old_");
        for round in 1..=ROUNDS {
            write_inputs(&inputs, &round_steps(seed, round));
        }
        let arg = format!("{} {} {seed} 0", path.display(), inputs.display());
        let delay = Duration::from_micros(rng.below(40_000));
        let out = fs_::kill_child_after("killed", &arg, delay);
        let finished = out.number("finished").unwrap_or(0);
        let reader = NpzReader::open(&path).unwrap_or_else(|e| panic!("{e}: {out}"));
        let keys = reader.keys();
        let round = keys
            .first()
            .and_then(|k| k.strip_suffix("_round"))
            .map(|r| r[1..].parse::<u64>().unwrap());
        drop(reader);
        match round {
            None => {
                assert_eq!(finished, 0, "{out}");
                check_archive(&path, &member_steps(&initial));
            }
            Some(r) => {
                assert!(r == finished || r == finished + 1, "round {r}: {out}");
                let round_member = Step::File {
                    key: format!("r{r}_round"),
                    len: 8,
                };
                let reader = NpzReader::open(&path).unwrap();
                assert_eq!(
                    reader.read_bytes(&format!("r{r}_round")).unwrap(),
                    r.to_le_bytes()
                );
                drop(reader);
                let steps = round_steps(seed, r);
                let mut expected = vec![&round_member];
                expected.extend(member_steps(&steps));
                check_archive_keys_then_members(&path, &expected, r);
            }
        }
        // At most one temporary file (the round being written), which never replaces anything.
        for name in fs_::names_in(path.parent().unwrap()) {
            assert!(
                name == "a.npz" || (name.starts_with(".a.npz.") && name.ends_with(".tmp")),
                "stray file {name}: {out}"
            );
        }
        match round {
            None => "killed before the first rename: old archive".into(),
            Some(r) if r == finished => "killed while writing: last finished archive".into(),
            Some(_) => "killed between rename and report: new archive".into(),
        }
    });
}

/// `check_archive`, except that the `round` member holds `round` as 8 bytes.
fn check_archive_keys_then_members(path: &Path, steps: &[&Step], round: u64) {
    let reader = NpzReader::open(path).unwrap();
    let keys: Vec<&str> = steps.iter().map(|s| key_of(s)).collect();
    assert_eq!(reader.keys(), keys);
    assert_eq!(reader.read_bytes(keys[0]).unwrap(), round.to_le_bytes());
    for step in &steps[1..] {
        check_member(&reader, step);
    }
}

#[test]
fn a_killed_append_leaves_the_old_archive_which_recover_restores() {
    let _serial = fs_::serial();
    fs_::run_trials("npz append, killed", 20, |rng, _| {
        let dir = tempfile::tempdir().unwrap();
        let (path, inputs) = trial_paths(dir.path());
        let seed = rng.next();
        let initial = write_archive(&path, &inputs, rng.next(), "old_");
        let before = std::fs::read(&path).unwrap();
        for round in 1..=ROUNDS {
            write_inputs(&inputs, &round_steps(seed, round));
        }
        let arg = format!("{} {} {seed} 0", path.display(), inputs.display());
        let delay = Duration::from_micros(rng.below(40_000));
        let out = fs_::kill_child_after("killed-append", &arg, delay);
        let finished = out.number("finished").unwrap_or(0);
        // Whatever the moment, no byte of the archive before the append changed.
        let after = std::fs::read(&path).unwrap();
        assert!(
            after.len() >= before.len() && after[..before.len()] == before[..],
            "{out}"
        );
        // The archive as it was after `rounds` finished rounds.
        let expected_after = |rounds: u64| -> Vec<Step> {
            let mut all: Vec<Step> = member_steps(&initial).into_iter().cloned().collect();
            for r in 1..=rounds {
                all.push(Step::File {
                    key: format!("r{r}_round"),
                    len: 8,
                });
                all.extend(member_steps(&round_steps(seed, r)).into_iter().cloned());
            }
            all
        };
        let check = |expected: &[Step]| {
            let reader = NpzReader::open(&path).unwrap_or_else(|e| panic!("{e}: {out}"));
            let want: Vec<&str> = expected.iter().map(key_of).collect();
            assert_eq!(reader.keys(), want, "{out}");
            for step in expected {
                if let Step::File { key, .. } = step
                    && key.ends_with("_round")
                {
                    let r: u64 = key[1..key.len() - 6].parse().unwrap();
                    assert_eq!(reader.read_bytes(key).unwrap(), r.to_le_bytes());
                } else {
                    check_member(&reader, step);
                }
            }
        };
        // Our reader opens it as it is: the last finished round's archive (or the next one's,
        // killed between its sync and its report).
        let reader = NpzReader::open(&path).unwrap_or_else(|e| panic!("{e}: {out}"));
        let rounds = reader
            .keys()
            .iter()
            .filter(|k| k.ends_with("_round"))
            .count() as u64;
        drop(reader);
        assert!(
            rounds == finished || rounds == finished + 1,
            "{rounds} rounds: {out}"
        );
        let expected = expected_after(rounds);
        check(&expected);
        // `recover` cuts it back to that archive, whose end records end the file; the next
        // append works.
        let recovered = npz_stream::recover(&path).unwrap_or_else(|e| panic!("{e}: {out}"));
        let len = std::fs::metadata(&path).unwrap().len();
        assert_eq!(len, after.len() as u64 - recovered.removed);
        assert_eq!(recovered.members, expected.len(), "{out}");
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[bytes.len() - 22..bytes.len() - 18], b"PK\x05\x06");
        assert_eq!(npz_stream::recover(&path).unwrap().removed, 0);
        check(&expected);
        let mut npz = NpzWriter::append(&path).unwrap();
        npz.add_file("after", b"recovered").unwrap();
        npz.finish().unwrap();
        let mut expected = expected;
        expected.push(Step::File {
            key: "after".into(),
            len: 9,
        });
        let reader = NpzReader::open(&path).unwrap();
        assert_eq!(reader.read_bytes("after").unwrap(), b"recovered");
        drop(reader);
        let want: Vec<&str> = expected.iter().map(key_of).collect();
        assert_eq!(NpzReader::open(&path).unwrap().keys(), want);
        if recovered.removed == 0 {
            "killed between appends: complete archive".into()
        } else if recovered.removed < 65_536 {
            "killed mid-append, under 64 KiB written: recover cut it".into()
        } else {
            "killed mid-append: opens here, recover cut it".into()
        }
    });
}

/// In a fresh process (its counter of temporary names at 0): leaves the file a killed writer
/// with this process id would have left, then creates the archive.
fn stale_child(path: &Path) {
    let name = path.file_name().unwrap().to_str().unwrap();
    let stale = path.with_file_name(format!(".{name}.{}-0.tmp", std::process::id()));
    std::fs::write(&stale, "left by a killed writer").unwrap();
    let result = NpzWriter::create(path).and_then(|mut npz| {
        npz.add_array("x", &[1u8, 2, 3], &[3])?;
        npz.finish()
    });
    match result {
        Ok(()) => report("created", true),
        Err(e) => report("error", e),
    }
    report(
        "stale_kept",
        std::fs::read(&stale).unwrap() == b"left by a killed writer",
    );
}

/// A temporary file left by a killed writer whose process id a later writer reuses (ids are
/// reused, and a container's are small and alike) does not stop that writer.
#[test]
fn a_stale_temporary_file_does_not_stop_the_next_writer() {
    let _serial = fs_::serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npz");
    let out = fs_::run_child("stale", &format!("{} - 0 0", path.display()));
    assert!(out.status.success(), "{out}");
    assert_eq!(out.get("created"), Some("true"), "{out}");
    assert_eq!(out.get("stale_kept"), Some("true"), "{out}");
    let reader = NpzReader::open(&path).unwrap();
    assert_eq!(reader.read_array::<u8>("x").unwrap().data, vec![1, 2, 3]);
}

/// A writer dropped without `finish()` leaves nothing, and says so on stderr.
#[test]
fn a_writer_dropped_unfinished_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("never.npz");
    let arg = format!("{} {} 0 0", path.display(), dir.path().display());
    let mut cmd = fs_::child_command("dropped", &arg);
    let out = cmd.stderr(std::process::Stdio::piped()).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("was dropped without finish(): no archive was written"),
        "{stderr}"
    );
    assert!(!path.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temporary left"
    );
}

/// In a child whose `TMPDIR` is empty: a writer to `url` (never reached: nothing is uploaded
/// before `finish`), a duplicate key, a disk full at `limit` bytes, then a drop unfinished.
fn url_child(url: &str, limit: u64) {
    use std::os::unix::fs::PermissionsExt;
    let spool = || -> Vec<PathBuf> {
        let entries = std::fs::read_dir(std::env::temp_dir()).unwrap();
        entries.map(|e| e.unwrap().path()).collect()
    };
    let mut npz = NpzWriter::options()
        .replace(true)
        .create_location(url)
        .unwrap();
    report("path", npz.path().display());
    let dirs = spool();
    report("spool_dirs", dirs.len());
    let mode = std::fs::symlink_metadata(&dirs[0])
        .unwrap()
        .permissions()
        .mode();
    report("spool_mode", format!("{:o}", mode & 0o7777));
    npz.add_array("x", &[1u8, 2, 3], &[3]).unwrap();
    report("duplicate", npz.add_array("x", &[4u8], &[1]).unwrap_err());
    fs_::limit_file_size(limit);
    let full = npz
        .add_array("big", &vec![7u32; limit as usize], &[limit])
        .unwrap_err();
    report("full_is_disk_full", fs_::is_disk_full(&full));
    report("full", full);
    drop(npz); // no finish(): the warning on stderr
    report("left", spool().len());
}

/// A writer to a URL writes a local file in a private directory of `TMPDIR` (mode 0700), but
/// its errors (the local disk full included) and its drop warning name the URL the user gave,
/// never that file; the directory goes with the writer.
#[test]
fn a_writer_to_a_url_names_the_url_and_leaves_nothing_in_tmpdir() {
    let tmp = tempfile::tempdir().unwrap();
    let url = "s3://bucket-never-reached/runs/never.npz";
    let mut cmd = fs_::child_command("url", &format!("{url} - 0 100000"));
    cmd.env("TMPDIR", tmp.path())
        .stderr(std::process::Stdio::piped());
    let output = cmd.output().unwrap();
    let out = fs_::ChildOutput::from_output(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{out}\n{stderr}");
    assert_eq!(out.get("path"), Some(url), "{out}");
    assert_eq!(out.get("spool_dirs"), Some("1"), "{out}");
    assert_eq!(out.get("spool_mode"), Some("700"), "{out}");
    let local = tmp.path().to_str().unwrap();
    for key in ["duplicate", "full"] {
        let message = out.get(key).unwrap();
        assert!(message.starts_with(&format!("{url}: ")), "{key}: {message}");
        assert!(!message.contains(local), "{key}: {message}");
    }
    assert!(
        out.get("duplicate").unwrap().contains("duplicate key 'x'"),
        "{out}"
    );
    assert_eq!(out.get("full_is_disk_full"), Some("true"), "{out}");
    assert!(
        stderr.contains(&format!(
            "the NpzWriter of {url} was dropped without finish(): no archive was written"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(local), "{stderr}");
    assert_eq!(out.get("left"), Some("0"), "{out}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// Member `m{round}` of the indexing tests: deflated as numpy writes it (no seek index), 1.6 MB.
fn index_member(seed: u64, round: u64) -> Vec<u32> {
    let id = mix(seed ^ round);
    (0..400_000u64)
        .map(|i| (mix(id ^ (i / 5)) % 50_000) as u32)
        .collect()
}

fn index_archive(path: &Path, seed: u64) {
    let mut npz = NpzWriter::options()
        .compression(Compression::deflate())
        .index(false)
        .create(path)
        .unwrap();
    npz.add_array("m0", &index_member(seed, 0), &[100_000, 4])
        .unwrap();
    npz.finish().unwrap();
}

/// Every member `m{r}` of the archive reads whole and at random as it was written; returns the
/// members with a stored index.
fn check_indexed(path: &Path, seed: u64, out: &fs_::ChildOutput) -> Vec<String> {
    let reader = NpzReader::open(path).unwrap_or_else(|e| panic!("{e}: {out}"));
    let mut indexed = Vec::new();
    for key in reader.keys() {
        let round: u64 = key[1..].parse().unwrap();
        let data = index_member(seed, round);
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut member = reader.member(&key).unwrap();
        assert_eq!(
            member.read_frames(99_990, 99_999).unwrap(),
            bytes[(99_990 * 16)..(99_999 * 16)],
            "{out}"
        );
        assert_eq!(
            member.read_frames(50_000, 50_010).unwrap(),
            bytes[(50_000 * 16)..(50_010 * 16)],
            "{out}"
        );
        reader.verify(&key).unwrap_or_else(|e| panic!("{e}: {out}"));
        if reader.info(&key).unwrap().stored_index {
            indexed.push(key);
        }
    }
    indexed
}

/// Indexes the archive at `path` under a file-size limit.
fn index_full_child(path: &Path, limit: u64) {
    fs_::limit_file_size(limit);
    match npz_stream::IndexOptions::new()
        .span(64 << 10)
        .index(path, &[])
    {
        Ok(done) => report("index", format!("ok {}", done.index_bytes())),
        Err(e) => {
            report("index_full", fs_::is_disk_full(&e));
            report("index", format!("error {e}"));
        }
    }
}

/// `npz index` writes after the old end records: a full disk at any byte leaves the archive
/// byte for byte as it was (the indexer cuts its bytes off), and a finished index leaves
/// every old byte in place.
#[test]
fn a_full_disk_while_indexing_leaves_the_archive() {
    let _serial = fs_::serial();
    fs_::run_trials("npz index, full disk", 30, |rng, _| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npz");
        let seed = rng.next();
        index_archive(&path, seed);
        let before = std::fs::read(&path).unwrap();
        // What the index adds, measured on a copy: the limit falls anywhere in it.
        let copy = dir.path().join("copy.npz");
        std::fs::write(&copy, &before).unwrap();
        npz_stream::IndexOptions::new()
            .span(64 << 10)
            .index(&copy, &[])
            .unwrap();
        let grown = std::fs::metadata(&copy).unwrap().len() - before.len() as u64;
        std::fs::remove_file(&copy).unwrap();
        let limit = before.len() as u64 + rng.below(grown + grown / 4);
        let out = fs_::run_child(
            "index-full",
            &format!("{} - {seed} {limit}", path.display()),
        );
        assert!(out.status.success(), "{out}");
        let after = std::fs::read(&path).unwrap();
        let outcome = if out.get("index").is_some_and(|v| v.starts_with("ok")) {
            assert!(
                after[..before.len()] == before[..],
                "an old byte changed: {out}"
            );
            assert_eq!(check_indexed(&path, seed, &out), ["m0"], "{out}");
            "indexed"
        } else {
            assert_eq!(out.get("index_full"), Some("true"), "{out}");
            assert!(after == before, "the archive was not restored: {out}");
            assert!(check_indexed(&path, seed, &out).is_empty(), "{out}");
            "full disk: archive restored"
        };
        assert_eq!(fs_::names_in(dir.path()), ["a.npz"], "{out}");
        outcome.into()
    });
}

/// Rounds of: append member `m{r}`, index it; until killed.
fn index_killed_child(path: &Path, seed: u64) {
    report("ready", true);
    for round in 1.. {
        let mut npz = NpzWriter::options()
            .compression(Compression::deflate())
            .index(false)
            .append(path)
            .unwrap();
        npz.add_array(
            &format!("m{round}"),
            &index_member(seed, round),
            &[100_000, 4],
        )
        .unwrap();
        npz.finish().unwrap();
        let key = format!("m{round}");
        npz_stream::IndexOptions::new()
            .span(64 << 10)
            .index(path, &[&key])
            .unwrap();
        report("indexed", round);
    }
}

/// A killed indexer (or appender) leaves the old archive and bytes after it: our reader
/// opens it with every member right, each member indexed at most one round late; `recover`
/// cuts the bytes off and indexing goes on.
#[test]
fn a_killed_indexer_leaves_the_old_archive() {
    let _serial = fs_::serial();
    fs_::run_trials("npz index, killed", 12, |rng, _| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npz");
        let seed = rng.next();
        index_archive(&path, seed);
        let before = std::fs::read(&path).unwrap();
        let delay = Duration::from_micros(rng.below(400_000));
        let out = fs_::kill_child_after(
            "index-killed",
            &format!("{} - {seed} 0", path.display()),
            delay,
        );
        let after = std::fs::read(&path).unwrap();
        assert!(
            after.len() >= before.len() && after[..before.len()] == before[..],
            "{out}"
        );
        let finished = out.number("indexed").unwrap_or(0);
        let indexed = check_indexed(&path, seed, &out);
        let members = NpzReader::open(&path).unwrap().len() as u64;
        assert!(
            indexed.len() as u64 >= finished && members > finished,
            "{out}"
        );
        let recovered = npz_stream::recover(&path).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert_eq!(check_indexed(&path, seed, &out), indexed, "{out}");
        npz_stream::IndexOptions::new()
            .span(64 << 10)
            .index(&path, &[])
            .unwrap();
        assert_eq!(
            check_indexed(&path, seed, &out).len() as u64,
            members,
            "{out}"
        );
        if recovered.removed == 0 {
            "killed between writes".into()
        } else {
            "killed mid-write: recover cut it".into()
        }
    });
}
