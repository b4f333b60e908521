//! Tests that need other processes: writers killed with SIGKILL at random moments, a disk that
//! fills up (a file-size rlimit), the lock seen from another process, a read-only file.
//!
//! The child processes are this test binary, run through `testkit::faults::child_command`
//! (`child_entry` does nothing in a normal run), with the file in `NPY_APPEND_TEST_PATH`.
//! `NPY_APPEND_CRASH_TRIALS` (else `ARRAY_FILES_TRIALS`, as in `faults.rs`) sets the number of
//! crash trials (default 40; hundreds for a full run).
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use npy_append::{
    AppendOptions, BufferSize, FrameLayout, LockMode, NpyAppender, OpenErrorKind, RecoverErrorKind,
    RecoverOptions, ResultKind, recover,
};
use npy_format::{FrameSource, NpyFile};
use testkit::faults::{self as fs_, Rng, serial};
use testkit::oracle;

const PATH_ENV: &str = "NPY_APPEND_TEST_PATH";

/// Frames of three `u32`; frame `i` holds `3i, 3i + 1, 3i + 2`, so a file holds a prefix of
/// what was appended exactly when its data, in storage order, is `0, 1, 2, ...`.
fn layout(fortran: bool) -> FrameLayout {
    FrameLayout::of::<u32>(&[3]).fortran_order(fortran)
}

fn frame_values(start: u64, frames: u64) -> Vec<u32> {
    (start * 3..(start + frames) * 3)
        .map(|v| v as u32)
        .collect()
}

/// Runs this binary as a child in `role`, on the file `path`.
fn spawn_child(role: &str, path: &Path, arg: &str, stdin: Stdio) -> Child {
    fs_::child_command(role, arg)
        .env(PATH_ENV, path)
        .stdin(stdin)
        .spawn()
        .unwrap()
}

/// Entry point of the child processes; a no-op in a normal test run.
#[test]
fn child_entry() {
    let Some((role, arg)) = fs_::child_role() else {
        return;
    };
    let path = PathBuf::from(std::env::var_os(PATH_ENV).unwrap());
    match role.as_str() {
        "crash" => crash_child(&path, &arg),
        "fsize" => fsize_child(&path, &arg),
        "hold" => hold_child(&path),
        "readonly" => readonly_child(&path),
        other => panic!("unknown child role {other}"),
    }
}

/// Appends random runs of frames with random flushes, syncs and reopens until killed.
fn crash_child(path: &Path, arg: &str) {
    let mut parts = arg.split(',');
    let seed: u64 = parts.next().unwrap().parse().unwrap();
    let fortran = parts.next() == Some("F");
    let mut rng = Rng(seed);
    let buffer = match rng.below(4) {
        0 => BufferSize::Bytes(0),
        1 => BufferSize::Frames(5),
        2 => BufferSize::Bytes(1000),
        _ => BufferSize::Bytes(1 << 16),
    };
    let options = AppendOptions::new()
        .lock(LockMode::Wait)
        .buffer(buffer)
        .update_header_on_spill(rng.below(3) > 0);
    let mut out = options.open_or_create(path, &layout(fortran)).unwrap();
    let mut next = out.frame_count();
    loop {
        let n = rng.below(40);
        out.append(&frame_values(next, n)).unwrap();
        next += n;
        match rng.below(40) {
            0..=5 => out.flush().unwrap(),
            6 => out.sync().unwrap(),
            7 => {
                out.finish().unwrap();
                out = options.open(path).unwrap();
            }
            _ => {}
        }
    }
}

/// How a crash trial starts.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Start {
    /// No file: the child creates it.
    Missing,
    /// A file as np.save writes it.
    Saved(u64),
    /// A file whose header has no growth room (numpy < 1.14 padding): the child rewrites it.
    Old(u64),
}

fn prepare(path: &Path, start: Start, fortran: bool) {
    let (frames, old) = match start {
        Start::Missing => return,
        Start::Saved(n) => (n, false),
        Start::Old(n) => (n, true),
    };
    let header = layout(fortran).header(frames);
    let mut bytes = if old {
        fs_::pre_1_14_header(&header)
    } else {
        header.to_bytes().unwrap()
    };
    bytes.extend_from_slice(npy_format::as_bytes(&frame_values(0, frames)));
    std::fs::write(path, bytes).unwrap();
}

/// What a crashed file held: frames in the header, complete frames in the file.
struct Crashed {
    counted: u64,
    complete: u64,
}

/// Checks a crashed file with our reader: loads, holds a prefix; then recovers it and checks
/// that the complete frames were adopted.
fn check_crashed(path: &Path, start: Start, fortran: bool) -> Option<Crashed> {
    if !path.exists() {
        assert_eq!(start, Start::Missing, "the file disappeared");
        return None;
    }
    let file = NpyFile::open(path).unwrap_or_else(|e| panic!("{start:?}: {e}"));
    assert_eq!(
        FrameLayout::from_header(file.header()),
        Some(layout(fortran))
    );
    let counted = file.frame_count();
    let values = file.to_vec::<u32>().unwrap();
    assert!(
        values.iter().enumerate().all(|(i, &v)| v == i as u32),
        "{start:?}: not a prefix"
    );
    if let Start::Saved(n) | Start::Old(n) = start {
        assert!(counted >= n, "{start:?}: frames were lost: {counted}");
    }
    let data_bytes = counted * 12 + file.trailing_len();
    drop(file);

    let report = recover(path, &RecoverOptions::default()).unwrap();
    let complete = data_bytes / 12;
    assert_eq!(report.frames_before, counted);
    assert_eq!(report.frames_after, complete);
    assert_eq!(report.bytes_truncated, data_bytes % 12);
    let array = npy_format::read_file::<u32>(path).unwrap();
    assert_eq!(array.header.frame_count(), complete);
    assert!(array.data.iter().enumerate().all(|(i, &v)| v == i as u32));
    // The file is appendable again as it is.
    let mut out = NpyAppender::open(path).unwrap();
    out.append(&frame_values(complete, 1)).unwrap();
    out.finish().unwrap();
    Some(Crashed { counted, complete })
}

fn crash_trials() -> usize {
    ["NPY_APPEND_CRASH_TRIALS", "ARRAY_FILES_TRIALS"]
        .iter()
        .find_map(|var| std::env::var(var).ok()?.parse().ok())
        .unwrap_or(40)
}

/// Runs crash trials; `before_recover` sees each crashed file first (numpy's check).
fn run_crash_trials(trials: usize, mut before_recover: impl FnMut(&Path, bool)) {
    let base = fs_::base_seed();
    let dir = tempfile::tempdir().unwrap();
    let (mut files, mut adopted, mut missing) = (0, 0, 0);
    for trial in 0..trials {
        let mut rng = Rng(base ^ (trial as u64).wrapping_mul(0x2545f4914f6cdd1d));
        let path = dir.path().join(format!("crash{trial}.npy"));
        let fortran = rng.below(2) == 1;
        let start = match rng.below(3) {
            0 => Start::Missing,
            1 => Start::Saved(rng.below(20)),
            _ => Start::Old(rng.below(20)),
        };
        prepare(&path, start, fortran);
        let arg = format!("{},{}", rng.next(), if fortran { "F" } else { "C" });
        let mut child = spawn_child("crash", &path, &arg, Stdio::null());
        std::thread::sleep(Duration::from_micros(rng.below(40_000)));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "trial {trial}: the child ended by itself"
        );
        if path.exists() {
            before_recover(&path, fortran);
        }
        match check_crashed(&path, start, fortran) {
            Some(crashed) => {
                files += 1;
                adopted += u64::from(crashed.complete > crashed.counted);
            }
            None => missing += 1,
        }
    }
    eprintln!(
        "{trials} crash trials: {files} files checked ({adopted} with frames to adopt), {missing} killed before creating the file"
    );
}

#[test]
fn killed_writers_leave_loadable_prefixes_that_recover_adopts() {
    let _serial = serial();
    run_crash_trials(crash_trials(), |_, _| {});
}

#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn killed_writers_leave_files_numpy_loads() {
    let _serial = serial();
    let mut numpy = oracle::shared();
    run_crash_trials(crash_trials().div_ceil(2), |path, fortran| {
        let ok = numpy.exec(&format!(
            "ok = True\n\
             for mode in (None, 'r'):\n\
             \x20   a = np.load({path:?}, mmap_mode=mode)\n\
             \x20   v = (a.T if {fortran} else a).reshape(-1)\n\
             \x20   ok = ok and a.dtype == np.dtype('=u4') and a.ndim == 2 and \
                      a.shape[{axis}] == 3 and bool(np.array_equal(v, np.arange(v.size)))\n\
             result = ok",
            path = path.to_str().unwrap(),
            fortran = if fortran { "True" } else { "False" },
            axis = if fortran { 0 } else { 1 },
        ));
        assert_eq!(ok, serde_json::Value::Bool(true), "{}", path.display());
    });
}

/// Appends until the file-size limit (set in this process) stops a write, then reports.
fn fsize_child(path: &Path, arg: &str) {
    let mut parts = arg.split(',');
    let limit: u64 = parts.next().unwrap().parse().unwrap();
    let buffer: usize = parts.next().unwrap().parse().unwrap();
    // SAFETY: plain libc calls with valid arguments in a single-threaded child (the test
    // harness runs this one test): ignoring SIGXFSZ makes writes past the limit fail with
    // EFBIG instead of killing the process, and the rlimit struct lives for the call.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let rlimit = libc::rlimit {
            rlim_cur: limit,
            rlim_max: limit,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit), 0);
    }
    let mut out = AppendOptions::new()
        .buffer(BufferSize::Bytes(buffer))
        .create(path, &layout(false))
        .unwrap();
    let (mut next, mut flushed) = (0u64, 0u64);
    let error = loop {
        let n = 1 + next % 7;
        if let Err(e) = out.append(&frame_values(next, n)) {
            break e;
        }
        next += n;
        if next % 5 == 0 {
            if let Err(e) = out.flush() {
                break e;
            }
            flushed = next;
        }
    };
    fs_::report("flushed", flushed);
    fs_::report("storage_full", error.kind().is_storage_full());
    fs_::report("error", &error);
    // Unbuffered, nothing is pending; buffered, the pending frames still do not fit.
    match out.finish() {
        Ok(_) => fs_::report("finish", "ok"),
        Err(e) if e.kind().is_storage_full() => fs_::report("finish", "storage_full"),
        Err(e) => fs_::report("finish", format!("error {e}")),
    }
}

/// A full disk (EFBIG from a file-size limit) mid-write: a typed error, and the file loads with
/// every frame flushed before, nothing torn, appendable without recovery.
fn fsize_cases(mut check: impl FnMut(&Path)) {
    let dir = tempfile::tempdir().unwrap();
    for (i, buffer) in [0usize, 100, 1 << 20].into_iter().enumerate() {
        let path = dir.path().join(format!("full{i}.npy"));
        let limit = 128 + 12 * 1000 + 5;
        let child = spawn_child("fsize", &path, &format!("{limit},{buffer}"), Stdio::null());
        let out = fs_::ChildOutput::from_output(&child.wait_with_output().unwrap());
        assert!(out.status.success(), "{out}");
        assert_eq!(out.get("storage_full"), Some("true"), "{out}");
        let finish = if buffer == 0 { "ok" } else { "storage_full" };
        assert_eq!(out.get("finish"), Some(finish), "{out}");
        let flushed = out.number("flushed").unwrap();
        let file = NpyFile::open(&path).unwrap();
        assert!(file.frame_count() >= flushed, "{out}");
        assert_eq!(file.trailing_len(), 0, "a torn frame was left behind");
        let values = file.to_vec::<u32>().unwrap();
        assert!(values.iter().enumerate().all(|(i, &v)| v == i as u32));
        assert!(std::fs::metadata(&path).unwrap().len() <= limit);
        drop(file);
        check(&path);
        let report = recover(&path, &RecoverOptions::default()).unwrap();
        assert!(!report.changed());
        drop(NpyAppender::open(&path).unwrap());
    }
}

#[test]
fn full_disk_is_a_typed_error_and_keeps_flushed_frames() {
    let _serial = serial();
    fsize_cases(|_| {});
}

#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn full_disk_files_load_in_numpy() {
    let _serial = serial();
    let mut numpy = oracle::shared();
    fsize_cases(|path| {
        let ok = numpy.exec(&format!(
            "a = np.load({:?})\nresult = bool(np.array_equal(a.reshape(-1), np.arange(a.size)))",
            path.to_str().unwrap()
        ));
        assert_eq!(ok, serde_json::Value::Bool(true));
    });
}

/// Holds an appender until its stdin closes.
fn hold_child(path: &Path) {
    let mut out = NpyAppender::open(path).unwrap();
    out.append(&frame_values(out.frame_count(), 1)).unwrap();
    out.flush().unwrap();
    fs_::report("locked", true);
    let mut rest = Vec::new();
    std::io::stdin().read_to_end(&mut rest).unwrap();
    out.finish().unwrap();
}

#[test]
fn the_lock_holds_across_processes() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("held.npy");
    drop(NpyAppender::create(&path, &layout(false)).unwrap());
    let mut child = spawn_child("hold", &path, "", Stdio::piped());
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("CHILD:locked=") {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "the child exited");
    }
    assert!(matches!(
        NpyAppender::open(&path).err_kind(),
        Some(OpenErrorKind::Locked)
    ));
    let start = Instant::now();
    let timeout = AppendOptions::new().lock(LockMode::Timeout(Duration::from_millis(100)));
    assert!(matches!(
        timeout.open(&path).err_kind(),
        Some(OpenErrorKind::Locked)
    ));
    assert!(start.elapsed() >= Duration::from_millis(100));
    assert!(matches!(
        recover(&path, &RecoverOptions::default()).err_kind(),
        Some(RecoverErrorKind::Locked)
    ));
    // Readers need no lock.
    assert_eq!(NpyFile::open(&path).unwrap().frame_count(), 1);
    let waiter = {
        let path = path.clone();
        std::thread::spawn(move || {
            let mut out = AppendOptions::new()
                .lock(LockMode::Wait)
                .open(&path)
                .unwrap();
            out.append(&frame_values(out.frame_count(), 1)).unwrap();
            out.finish().unwrap()
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    drop(child.stdin.take()); // the child finishes and exits
    assert!(child.wait().unwrap().success());
    assert_eq!(waiter.join().unwrap().shape, vec![2, 3]);
}

/// Opens a read-only file after dropping root's privileges (root may write anything).
fn readonly_child(path: &Path) {
    // SAFETY: plain libc calls without pointers; the harness runs only this test in the child.
    let dropped = unsafe { libc::setgid(65534) == 0 && libc::setuid(65534) == 0 };
    if !dropped {
        fs_::report("read_only", "skipped");
        return;
    }
    check_read_only(path);
    fs_::report("read_only", "checked");
}

fn check_read_only(path: &Path) {
    let before = std::fs::read(path).unwrap();
    let err = NpyAppender::open(path).unwrap_err();
    assert!(
        matches!(err.kind(), OpenErrorKind::NotWritable { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("cannot be opened for writing"));
    let err = recover(path, &RecoverOptions::default()).unwrap_err();
    assert!(
        matches!(err.kind(), RecoverErrorKind::NotWritable { .. }),
        "{err:?}"
    );
    assert!(recover(path, &RecoverOptions::default().dry_run(true)).is_ok());
    assert_eq!(std::fs::read(path).unwrap(), before);
}

#[test]
fn read_only_files_are_a_typed_error() {
    let _serial = serial();
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("ro.npy");
    npy_format::write_file(&path, &[1u32, 2, 3], &[1, 3]).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        check_read_only(&path);
        return;
    }
    let out = fs_::ChildOutput::from_output(
        &spawn_child("readonly", &path, "", Stdio::null())
            .wait_with_output()
            .unwrap(),
    );
    assert!(out.status.success(), "{out}");
    if out.get("read_only") == Some("skipped") {
        eprintln!("read_only_files_are_a_typed_error: could not drop root privileges; skipped");
    } else {
        assert_eq!(out.get("read_only"), Some("checked"), "{out}");
    }
}
