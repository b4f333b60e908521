//! Fault injection for the appender: a disk that fills up at a random byte (a child process
//! with `RLIMIT_FSIZE`, so writes past it fail with `EFBIG`) and writers killed with SIGKILL at
//! a random moment, while appending, flushing, syncing, finishing, reopening, or rewriting an
//! old header.
//!
//! After every trial: the file loads with our reader and holds a prefix of what was appended,
//! with at least every frame of the last successful `flush` or `sync`; every frame the caller
//! was told is in the file is there unless an error was returned (by the failing call, by
//! `finish`, or through `on_drop_error`); the error of a full disk is the typed
//! `AppendError::StorageFull`; `recover` then leaves a valid file with every complete frame,
//! which appends again. `recover` itself, on a full disk, returns the error and leaves a file
//! that loads as before and recovers later.
//!
//! `ARRAY_FILES_TRIALS` sets the trials per test (default 40 here; the full run uses 300),
//! `ARRAY_FILES_SEED` the base seed (see `testkit::faults`). Children are this binary's
//! `child_entry` test with `ARRAY_FILES_CHILD_ROLE` set.
#![cfg(unix)]

use std::path::Path;
use std::time::Duration;

use npy_append::{
    AppendError, AppendOptions, BufferSize, FrameLayout, LockMode, NpyAppender, RecoverOptions,
    recover,
};
use npy_format::{FrameSource, NpyFile};
use testkit::faults::{self as fs_, Rng, report};

/// The value of element `e` (in storage order) of every file: a bijection of the index, so a
/// frame written in the wrong place, a hole of zeros or stale bytes never passes for the right
/// one.
fn value(e: u64) -> u32 {
    (e as u32)
        .wrapping_mul(0x9e37_79b1)
        .wrapping_add(0x7f4a_7c15)
}

/// `frames` frames of `k` elements, starting at frame `start`.
fn frames(start: u64, frames: u64, k: u64) -> Vec<u32> {
    (start * k..(start + frames) * k).map(value).collect()
}

fn layout(k: u64, fortran: bool) -> FrameLayout {
    FrameLayout::of::<u32>(&[k]).fortran_order(fortran)
}

/// What is at the path before a trial.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Start {
    /// Nothing: the writer creates the file.
    Missing,
    /// A file as np.save writes it, with this many frames.
    Saved(u64),
    /// A file whose header has no growth room (numpy < 1.14 padding): the writer's open
    /// rewrites it through a temporary file.
    Old(u64),
}

/// The parameters of one trial, passed to the child as its argument.
#[derive(Debug, Clone, Copy)]
struct Params {
    seed: u64,
    k: u64,
    fortran: bool,
    limit: u64,
}

impl Params {
    fn to_arg(self) -> String {
        format!("{} {} {} {}", self.seed, self.k, self.fortran, self.limit)
    }

    fn from_arg(arg: &str) -> Params {
        let mut parts = arg.split(' ');
        let mut next = || parts.next().unwrap();
        Params {
            seed: next().parse().unwrap(),
            k: next().parse().unwrap(),
            fortran: next().parse().unwrap(),
            limit: next().parse().unwrap(),
        }
    }
}

fn random_start(rng: &mut Rng) -> Start {
    match rng.below(3) {
        0 => Start::Missing,
        1 => Start::Saved(rng.below(50)),
        _ => Start::Old(rng.below(50)),
    }
}

/// Writes the file a trial starts from; returns its bytes.
fn prepare(path: &Path, start: Start, k: u64, fortran: bool) -> Option<Vec<u8>> {
    let (n, old) = match start {
        Start::Missing => return None,
        Start::Saved(n) => (n, false),
        Start::Old(n) => (n, true),
    };
    let header = layout(k, fortran).header(n);
    let mut bytes = if old {
        fs_::pre_1_14_header(&header)
    } else {
        header.to_bytes().unwrap()
    };
    bytes.extend_from_slice(npy_format::as_bytes(&frames(0, n, k)));
    std::fs::write(path, &bytes).unwrap();
    Some(bytes)
}

fn initial_frames(start: Start) -> u64 {
    match start {
        Start::Missing => 0,
        Start::Saved(n) | Start::Old(n) => n,
    }
}

/// The options of a child's appender, drawn from its seed.
fn child_options(rng: &mut Rng) -> AppendOptions {
    // 256 KiB and the default 1 MiB end their writes on 64 KiB boundaries, leaving part of
    // a frame in the buffer; appends of an eighth of them are written directly.
    let buffer = match rng.below(6) {
        0 => BufferSize::Bytes(0),
        1 => BufferSize::Frames(5),
        2 => BufferSize::Bytes(1000),
        3 => BufferSize::Bytes(16 << 10),
        4 => BufferSize::Bytes(256 << 10),
        _ => BufferSize::default(),
    };
    AppendOptions::new()
        .lock(LockMode::Wait)
        .buffer(buffer)
        .update_header_on_spill(rng.below(3) > 0)
        .on_drop_error(report_drop_error)
}

fn report_drop_error(e: &AppendError) {
    report("drop_error", e);
    report("drop_error_full", e.kind().is_storage_full());
}

/// How many frames the next append of a child takes: mostly small, sometimes more than the
/// small buffers, now and then hundreds of KiB (written directly past every buffer's eighth,
/// and growing the file past where disk blocks are reserved ahead).
fn append_len(rng: &mut Rng) -> u64 {
    match rng.below(20) {
        0 => rng.range(500, 3000),
        1 => 0,
        2 => rng.range(20_000, 80_000),
        _ => rng.range(1, 40),
    }
}

/// Entry point of the child processes; a no-op in a normal test run.
#[test]
fn child_entry() {
    let Some((role, arg)) = fs_::child_role() else {
        return;
    };
    let path = std::path::PathBuf::from(std::env::var_os("FAULTS_PATH").unwrap());
    let params = Params::from_arg(&arg);
    match role.as_str() {
        "full" => full_disk_child(&path, params),
        "killed" => killed_child(&path, params),
        "recover" => recover_child(&path, params),
        other => panic!("unknown child role {other}"),
    }
}

/// Appends, flushes, syncs, finishes and reopens at random under a file-size limit, until a
/// call fails or the script ends; then finishes or drops the appender. Reports every count
/// the calls that succeeded vouch for.
fn full_disk_child(path: &Path, p: Params) {
    fs_::limit_file_size(p.limit);
    let mut rng = Rng(p.seed);
    let options = child_options(&mut rng);
    let layout = layout(p.k, p.fortran);
    let opened = if path.exists() {
        options.open(path)
    } else {
        options.create(path, &layout)
    };
    let mut out = match opened {
        Ok(out) => out,
        Err(e) => {
            report("open_full", fs_::is_disk_full(&e));
            report("open_error", e);
            return;
        }
    };
    let mut appended = out.frame_count();
    let (mut flushed, mut synced) = (appended, appended);
    let ops = rng.range(1, 300);
    let mut failed = false;
    for _ in 0..ops {
        let op = rng.below(100);
        let (name, result) = match op {
            0..=69 => {
                let n = append_len(&mut rng);
                let data = frames(appended, n, p.k);
                let result = if rng.chance(1, 4) {
                    out.append_frames(npy_format::as_bytes(&data), n)
                } else {
                    out.append(&data).map(|_| ())
                };
                if result.is_ok() {
                    appended += n;
                }
                ("append", result)
            }
            70..=84 => {
                let result = out.flush();
                if result.is_ok() {
                    flushed = appended;
                }
                ("flush", result)
            }
            85..=92 => {
                let result = out.sync();
                if result.is_ok() {
                    (flushed, synced) = (appended, appended);
                }
                ("sync", result)
            }
            _ => match out.finish() {
                Ok(header) => {
                    assert_eq!(header.shape[usize::from(!p.fortran)], p.k);
                    flushed = appended;
                    match options.open(path) {
                        Ok(reopened) => {
                            out = reopened;
                            continue;
                        }
                        Err(e) => {
                            // Reopening writes nothing: it cannot hit the limit.
                            panic!("reopening after a successful finish failed: {e}");
                        }
                    }
                }
                Err(e) => {
                    report("finish_full", e.kind().is_storage_full());
                    report("finish", "error");
                    report("appended", appended);
                    report("flushed", flushed);
                    report("synced", synced);
                    return;
                }
            },
        };
        if let Err(e) = result {
            report("error_op", name);
            report("error_full", e.kind().is_storage_full());
            report("error_source_full", fs_::is_disk_full(&e));
            report("error", &e);
            failed = true;
            break;
        }
    }
    report("failed", failed);
    report("appended", appended);
    report("flushed", flushed);
    report("synced", synced);
    // After a failure: finish (which retries the flush) or drop (which reports through
    // on_drop_error).
    if rng.chance(1, 3) {
        report("dropped", true);
        drop(out);
    } else {
        match out.finish() {
            Ok(_) => report("finish", "ok"),
            Err(e) => {
                report("finish_full", e.kind().is_storage_full());
                report("finish", "error");
            }
        }
    }
}

/// Checks the file after a trial: it loads, holds a prefix of `k`-element frames with at least
/// `at_least` of them counted and at most `at_most` in the file; then recovers it and checks
/// the result appends again. Returns the frames counted before recovery.
fn check_file(path: &Path, k: u64, fortran: bool, at_least: u64, at_most: u64) -> u64 {
    let file = NpyFile::open(path).unwrap_or_else(|e| panic!("the file does not load: {e}"));
    assert_eq!(
        FrameLayout::from_header(file.header()),
        Some(layout(k, fortran))
    );
    let counted = file.frame_count();
    assert!(
        counted >= at_least,
        "{counted} frames counted, but {at_least} were flushed or synced"
    );
    assert!(counted <= at_most, "{counted} frames, {at_most} appended");
    let values = file.to_vec::<u32>().unwrap();
    assert!(
        values.iter().zip(0..).all(|(&v, e)| v == value(e)),
        "not a prefix of what was appended"
    );
    let data_bytes = counted * k * 4 + file.trailing_len();
    drop(file);

    let report =
        recover(path, &RecoverOptions::default()).unwrap_or_else(|e| panic!("recover failed: {e}"));
    let complete = data_bytes / (k * 4);
    assert_eq!(report.frames_before, counted);
    assert_eq!(report.frames_after, complete, "{report}");
    assert!(
        complete <= at_most,
        "{complete} complete frames, {at_most} appended"
    );
    let array = npy_format::read_file::<u32>(path).unwrap();
    assert_eq!(array.header.frame_count(), complete);
    assert!(
        array.data.iter().zip(0..).all(|(&v, e)| v == value(e)),
        "recover adopted bytes that were never appended"
    );
    let mut out = NpyAppender::open(path).unwrap();
    out.append(&frames(complete, 1, k)).unwrap();
    assert_eq!(
        out.finish().unwrap().shape.iter().product::<u64>(),
        (complete + 1) * k
    );
    counted
}

#[test]
fn a_full_disk_is_a_returned_error_and_keeps_every_flushed_frame() {
    let _serial = fs_::serial();
    fs_::run_trials("npy-append full disk", 40, |rng, _| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.npy");
        let start = random_start(rng);
        let (k, fortran) = (rng.range(1, 4), rng.chance(1, 3));
        let before = prepare(&path, start, k, fortran);
        let len = before.as_ref().map_or(0, Vec::len) as u64;
        // Past the file's length, at a random byte of what the child will write; one time in
        // ten within the 200 bytes where a created file or a rewritten header ends. (Never
        // below the length: a full disk still lets a file be rewritten in place, a file-size
        // limit would not.)
        let limit = match rng.below(10) {
            0 => len + rng.below(200),
            1..=3 => len + rng.below(4 << 20),
            _ => len + rng.below(64 << 10),
        };
        let params = Params {
            seed: rng.next(),
            k,
            fortran,
            limit,
        };
        let mut cmd = fs_::child_command("full", &params.to_arg());
        cmd.env("FAULTS_PATH", &path);
        let out = fs_::run_command(cmd);
        assert!(out.status.success(), "the child failed: {out}");

        if out.has("open_error") {
            assert_eq!(out.get("open_full"), Some("true"), "{out}");
            // Creating or rewriting failed: the path is exactly as before, no temporary file.
            match &before {
                None => assert!(!path.exists(), "{out}"),
                Some(bytes) => assert_eq!(&std::fs::read(&path).unwrap(), bytes, "{out}"),
            }
            let expected: Vec<String> = before.iter().map(|_| "f.npy".to_owned()).collect();
            assert_eq!(fs_::names_in(dir.path()), expected, "{out}");
            return "open failed".into();
        }
        let appended = out.number("appended").unwrap();
        let flushed = out.number("flushed").unwrap();
        let synced = out.number("synced").unwrap();
        let failed = out.get("failed") == Some("true") || out.get("finish") == Some("error");
        if out.has("error_op") {
            // The typed error of a full disk, with the EFBIG underneath.
            assert_eq!(out.get("error_full"), Some("true"), "{out}");
            assert_eq!(out.get("error_source_full"), Some("true"), "{out}");
        }
        if out.get("finish") == Some("error") {
            assert_eq!(out.get("finish_full"), Some("true"), "{out}");
        }
        if out.has("drop_error") {
            assert_eq!(out.get("drop_error_full"), Some("true"), "{out}");
        }
        let at_least = flushed.max(synced).max(initial_frames(start));
        let counted = check_file(&path, k, fortran, at_least, appended);
        // Frames the caller was told were appended are all there, unless it was told otherwise.
        let told = out.get("finish") == Some("error") || out.has("drop_error") || failed;
        if counted < appended {
            assert!(
                told,
                "{} frames lost without an error reaching the caller: {out}",
                appended - counted
            );
        }
        if out.get("finish") == Some("ok") || (out.has("dropped") && !out.has("drop_error")) {
            assert_eq!(
                counted, appended,
                "finished cleanly but frames are missing: {out}"
            );
        }
        // The child exited normally: no temporary file is left, and a failed finish or drop
        // left whole frames (the part of a frame an aligned write put in the file is cut off):
        // the file opens for appending again without recovery.
        assert_eq!(fs_::names_in(dir.path()), ["f.npy"], "{out}");
        if let Err(e) = NpyAppender::options().lock(LockMode::Wait).open(&path) {
            panic!("the file needs recovery after a clean exit: {e}: {out}");
        }
        match (failed, out.get("finish")) {
            (false, Some("ok")) => "no fault",
            (true, Some("ok")) => "failed, then finish flushed the rest",
            (_, Some("error")) => "failed, finish returned the error",
            _ if out.has("drop_error") => "failed, dropped: error reported on drop",
            _ => "failed, dropped with nothing pending",
        }
        .into()
    });
}

/// Appends at random until killed, reporting every successful flush and sync.
fn killed_child(path: &Path, p: Params) {
    let mut rng = Rng(p.seed);
    let options = child_options(&mut rng);
    report("ready", 1);
    let mut out = options
        .open_or_create(path, &layout(p.k, p.fortran))
        .unwrap();
    report("opened", 1);
    let mut next = out.frame_count();
    loop {
        let n = append_len(&mut rng).min(200);
        out.append(&frames(next, n, p.k)).unwrap();
        next += n;
        match rng.below(40) {
            0..=4 => {
                out.flush().unwrap();
                report("flushed", next);
            }
            5 => {
                out.sync().unwrap();
                report("synced", next);
            }
            6 => {
                out.finish().unwrap();
                report("flushed", next);
                out = options.open(path).unwrap();
            }
            _ => {}
        }
    }
}

#[test]
fn a_killed_appender_leaves_every_flushed_frame_and_recovers() {
    let _serial = fs_::serial();
    fs_::run_trials("npy-append killed", 40, |rng, _| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.npy");
        let start = random_start(rng);
        let (k, fortran) = (rng.range(1, 4), rng.chance(1, 3));
        prepare(&path, start, k, fortran);
        let params = Params {
            seed: rng.next(),
            k,
            fortran,
            limit: 0,
        };
        let delay = Duration::from_micros(rng.below(30_000));
        let mut cmd = fs_::child_command("killed", &params.to_arg());
        cmd.env("FAULTS_PATH", &path);
        let out = fs_::kill_command_after(cmd, delay);
        if !path.exists() {
            assert_eq!(start, Start::Missing, "the file disappeared: {out}");
            assert!(!out.has("opened"), "created, then gone: {out}");
            return "killed before creating".into();
        }
        let flushed = out.number("flushed").unwrap_or(0);
        let synced = out.number("synced").unwrap_or(0);
        let at_least = flushed.max(synced).max(initial_frames(start));
        let counted = check_file(&path, k, fortran, at_least, u64::MAX);
        // A kill leaves at most a temporary file of a header rewrite or a creation.
        for name in fs_::names_in(dir.path()) {
            let temporary = name
                .strip_prefix(".f.npy.")
                .and_then(|rest| rest.strip_suffix(".tmp"))
                .is_some();
            assert!(name == "f.npy" || temporary, "stray file {name}: {out}");
        }
        if counted > at_least {
            "killed with frames past the last flush".into()
        } else {
            "killed right after a flush or sync".into()
        }
    });
}

/// Recovers the file under a file-size limit (zero-filling a torn frame or not).
fn recover_child(path: &Path, p: Params) {
    fs_::limit_file_size(p.limit);
    let zero_fill = p.seed % 2 == 1;
    match recover(path, &RecoverOptions::default().zero_fill(zero_fill)) {
        Ok(done) => report("frames_after", done.frames_after),
        Err(e) => {
            report("error_full", fs_::is_disk_full(&e));
            report("error", e);
        }
    }
}

#[test]
fn a_full_disk_during_recovery_leaves_a_file_that_recovers_later() {
    let _serial = fs_::serial();
    fs_::run_trials("npy-append recover, full disk", 40, |rng, _| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.npy");
        let start = match rng.below(2) {
            0 => Start::Saved(rng.below(50)),
            _ => Start::Old(rng.below(50)),
        };
        let (k, fortran) = (rng.range(1, 4), rng.chance(1, 3));
        prepare(&path, start, k, fortran);
        // Frames past the header's count, as a killed appender leaves them, and a torn one.
        let n = initial_frames(start);
        let extra = rng.range(0, 40);
        let torn = rng.below(k * 4);
        let mut tail = npy_format::as_bytes(&frames(n, extra + 1, k)).to_vec();
        tail.truncate((extra * k * 4 + torn) as usize);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&tail);
        std::fs::write(&path, &bytes).unwrap();
        let len = bytes.len() as u64;
        // Just past the file's end: a zero-fill or a header rewrite (the new file is longer)
        // may hit it. (Never below the length: a full disk still lets a file be rewritten in
        // place, a file-size limit would not.)
        let limit = len + rng.below(32);
        let params = Params {
            seed: rng.next(),
            k,
            fortran,
            limit,
        };
        let zero_fill = params.seed % 2 == 1 && torn > 0;
        let expected = n + extra + u64::from(zero_fill);
        let mut cmd = fs_::child_command("recover", &params.to_arg());
        cmd.env("FAULTS_PATH", &path);
        let out = fs_::run_command(cmd);
        assert!(out.status.success(), "{out}");
        let outcome = if let Some(after) = out.number("frames_after") {
            assert_eq!(after, expected, "{out}");
            "recovered"
        } else {
            assert_eq!(out.get("error_full"), Some("true"), "{out}");
            // The file loads as before the recovery, and a recovery with room works.
            let file = NpyFile::open(&path).unwrap_or_else(|e| panic!("{e}: {out}"));
            assert_eq!(file.frame_count(), n, "{out}");
            drop(file);
            let report = recover(&path, &RecoverOptions::default().zero_fill(zero_fill)).unwrap();
            assert_eq!(report.frames_after, expected, "{out}");
            "failed: error returned, recovered later"
        };
        let array = npy_format::read_file::<u32>(&path).unwrap();
        assert_eq!(array.header.frame_count(), expected);
        let complete = ((n + extra) * k) as usize;
        assert!(
            array.data[..complete]
                .iter()
                .zip(0..)
                .all(|(&v, e)| v == value(e))
        );
        assert_eq!(fs_::names_in(dir.path()), ["f.npy"], "{out}");
        outcome.into()
    });
}
