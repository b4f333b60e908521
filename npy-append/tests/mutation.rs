//! Mutation tests of `.npy` files as the appender meets them: files made by the appender, by
//! `write_file` (numpy's layout), with an old header without growth room, with frames past the
//! header's count and a torn one (a crashed writer), in version 3.0, 0-d and object arrays are
//! mutated (header bytes and tokens, the length field, inserted and deleted bytes, truncation),
//! then opened for append (with and without recovery on open), appended to, recovered (dry run,
//! truncating, zero-filling) and read back in chunks. Every call returns `Ok` or a typed error:
//! never a panic, never an allocation larger than the input allows, never a hang, never more
//! disk space taken than the input allows (see `testkit::mutation` and
//! `check_disk_usage`).
//!
//! What a success promises is checked too: after an append and `finish`, or a recovery, the
//! file opens with `NpyFile`, its header counts exactly the frames it holds, and a dry run
//! leaves the file untouched.
//!
//! A failing case prints its sample and mutations in Rust syntax; paste them into
//! `regressions` below.

use testkit::mutation;

#[global_allocator]
static ALLOC: mutation::CountingAlloc = mutation::CountingAlloc;

use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

use mutation::{Mutation, Runner, Sample, apply, header, npy, npy_sample, show};
use npy_append::{
    AppendOptions, BufferSize, FrameChunksExt, FrameLayout, NpyAppender, RecoverOptions,
    mapped_chunks, recover,
};
use npy_format::{FrameSource, NpyFile, Version};

/// Opening for append reads the header through a 4 KiB buffer and keeps a 4 KiB append buffer
/// (the size these tests ask for); a header rewrite copies through a fixed buffer. Nothing
/// should grow with what a header claims.
const FACTOR: usize = 4;
const SLACK: usize = 64 << 10;

/// No case may make a file larger than this (see [`limit_file_size`]).
const MAX_FILE: u64 = 16 << 20;

/// Makes writes past [`MAX_FILE`] fail with `EFBIG` instead of filling the disk, should a header
/// whose frames claim terabytes ever turn into terabytes written (`check_disk_usage` reports
/// what was written).
fn limit_file_size() {
    #[cfg(unix)]
    {
        let limit = libc::rlimit {
            rlim_cur: MAX_FILE as libc::rlim_t,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: setrlimit reads the struct we pass; lowering the soft file-size limit of
        // this test process only makes larger writes fail.
        let rc = unsafe { libc::setrlimit(libc::RLIMIT_FSIZE, &limit) };
        assert_eq!(rc, 0, "setrlimit");
        // SAFETY: ignoring SIGXFSZ makes an oversized write return EFBIG instead of killing
        // the process; no handler runs.
        unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    }
}

/// Fails if the file at `path` takes more disk space than an input of `input_len` bytes
/// allows: zeros that complete a torn frame cost no space (the file is extended), so only
/// bytes actually written count.
fn check_disk_usage(path: &Path, input_len: usize, what: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let used = std::fs::metadata(path).map_or(0, |m| m.blocks() * 512);
        let bound = 4 * input_len as u64 + (1 << 20);
        assert!(
            used <= bound,
            "{what}: the file takes {used} bytes of disk for a {input_len}-byte input"
        );
    }
}

fn counting(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Valid files the appender meets.
fn samples(dir: &Path) -> Vec<Sample> {
    let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
    let path = dir.join("made.npy");
    let mut out = NpyAppender::create(&path, &FrameLayout::of::<f32>(&[4])).unwrap();
    for i in 0..5 {
        out.append(&[i as f32; 4]).unwrap();
    }
    out.finish().unwrap();
    files.push(("appender <f4 (5, 4)", std::fs::read(&path).unwrap()));

    let path = dir.join("fortran.npy");
    let layout = FrameLayout::of::<u16>(&[3]).fortran_order(true);
    let mut out = NpyAppender::create(&path, &layout).unwrap();
    out.append(&[1u16, 2, 3, 4, 5, 6]).unwrap();
    out.finish().unwrap();
    files.push(("appender fortran <u2 (3, 2)", std::fs::read(&path).unwrap()));

    files.push((
        "numpy <i8 (3, 2)",
        npy(&header("<i8", false, &[3, 2]), &counting(48)),
    ));
    // numpy < 1.14: 16-byte aligned, no room to grow the shape in place.
    let h = header("<i2", false, &[3]);
    let mut old = h.to_bytes_in_place(Version::V1, 80).unwrap();
    old.extend_from_slice(&counting(6));
    files.push(("no growth room <i2 (3,)", old));
    // A crashed writer: two frames counted, three and a half in the file.
    let mut crashed = npy(&header("<u4", false, &[2, 2]), &counting(16));
    crashed.extend_from_slice(&counting(12));
    files.push(("crashed <u4 (2, 2) + 1.5 frames", crashed));
    files.push((
        "version 3.0 [('ж', '<u2')] (2,)",
        npy(&header("[('ж', '<u2')]", false, &[2]), &counting(4)),
    ));
    files.push(("0-d <f8", npy(&header("<f8", false, &[]), &counting(8))));
    let mut object = header("|O", false, &[2]).to_bytes().unwrap();
    object.extend_from_slice(b"\x80\x04\x95pickle");
    files.push(("object |O (2,)", object));

    files
        .into_iter()
        .map(|(name, bytes)| npy_sample(name, bytes))
        .collect()
}

/// How far cases got, to check that mutations reach past the first check.
static APPENDED: AtomicUsize = AtomicUsize::new(0);
static RECOVERED: AtomicUsize = AtomicUsize::new(0);

/// After a successful append or recovery: the file opens, and its header counts exactly the
/// frames it holds. Frames are copied out only if they are no larger than the input (a
/// zero-filled frame may be as long as a corrupt header says).
fn check_consistent(path: &Path, frames: u64, input_len: usize, what: &str) {
    let file =
        NpyFile::open(path).unwrap_or_else(|e| panic!("{what}: the file no longer opens: {e}"));
    assert_eq!(file.frame_count(), frames, "{what}: frame count");
    if !file.header().dtype.has_object() {
        assert_eq!(
            file.trailing_len(),
            0,
            "{what}: bytes past the counted frames"
        );
    }
    // Read it back in chunks, mapped and copied.
    for chunk in mapped_chunks(&file, 3).take(64) {
        chunk.unwrap_or_else(|e| panic!("{what}: a mapped chunk: {e}"));
    }
    let mut file = file;
    if file.frame_len().saturating_mul(2) <= input_len as u64 {
        for chunk in file.frame_chunks(2).take(64) {
            chunk.unwrap_or_else(|e| panic!("{what}: a chunk: {e}"));
        }
    }
}

/// Open for append and add one frame (when frames are small), with or without recovery.
fn append_one(bytes: &[u8], path: &Path, recover_on_open: bool) {
    mutation::overwrite(path, bytes);
    let options = AppendOptions::new()
        .buffer(BufferSize::Bytes(4096))
        .recover_on_open(recover_on_open);
    let opened = options.open(path);
    check_disk_usage(path, bytes.len(), "open for append");
    let Ok(mut out) = opened else {
        return;
    };
    let before = out.frame_count();
    let frame_len = out.frame_len();
    let _ = (
        out.header().clone(),
        out.layout(),
        out.data_offset(),
        out.version(),
    );
    if !(1..=4096).contains(&frame_len) {
        let _ = out.abandon();
        return;
    }
    let frame: Vec<u8> = (0..frame_len).map(|i| i as u8 & 1).collect();
    let appended = out.append_frames(&frame, 1).and_then(|()| out.finish());
    check_disk_usage(path, bytes.len(), "append");
    if let Ok(header) = appended {
        APPENDED.fetch_add(1, Relaxed);
        assert_eq!(header.frame_count(), before + 1);
        check_consistent(path, before + 1, bytes.len(), "after an append");
        let mut file = NpyFile::open(path).unwrap();
        assert_eq!(
            file.read_frames(before, before + 1).unwrap(),
            frame,
            "the appended frame reads back"
        );
    }
}

fn recover_with(bytes: &[u8], path: &Path, options: &RecoverOptions, dry_run: bool) {
    mutation::overwrite(path, bytes);
    let recovered = recover(path, &(*options).dry_run(dry_run));
    check_disk_usage(path, bytes.len(), "recover");
    if let Ok(report) = recovered {
        {
            let _ = report.to_string();
            let _ = (report.frames_adopted(), report.frames_lost());
            if dry_run || !report.changed() {
                assert_eq!(
                    std::fs::read(path).unwrap(),
                    bytes,
                    "a dry run, or a recovery with nothing to do, changed the file"
                );
            }
            if !dry_run {
                RECOVERED.fetch_add(1, Relaxed);
                check_consistent(path, report.frames_after, bytes.len(), "after a recovery");
            }
        }
    }
}

/// Dry runs of both recoveries; then (each case does one of the two, to keep the number of
/// syncs down) a recovery truncating or zero-filling, and an append after opening plainly or
/// with recovery on open.
fn exercise(bytes: &[u8], path: &Path, zero_fill: bool) {
    let zero = RecoverOptions::default().zero_fill(true);
    recover_with(bytes, path, &RecoverOptions::default(), true);
    recover_with(bytes, path, &zero, true);
    let options = if zero_fill {
        zero
    } else {
        RecoverOptions::default()
    };
    recover_with(bytes, path, &options, false);
    append_one(bytes, path, zero_fill);
}

/// Samples whose every header byte is flipped and overwritten.
const EXHAUSTIVE: &[&str] = &["appender fortran", "no growth room", "crashed"];

fn run(runner: &mut Runner, sample: &Sample, edits: &[Vec<Mutation>], path: &Path) {
    for (i, mutations) in edits.iter().enumerate() {
        let bytes = apply(&sample.bytes, mutations);
        let zero_fill = i % 2 == 1;
        let what = format!(
            "sample {:?}, mutations {}, {}",
            sample.name,
            show(mutations),
            if zero_fill {
                "zero-filling, recovery on open"
            } else {
                "truncating"
            }
        );
        runner.case(&what, bytes.len(), || exercise(&bytes, path, zero_fill));
    }
}

#[test]
fn mutated_files_are_errors_never_panics() {
    let mut runner = Runner::new("npy-append mutations", FACTOR, SLACK);
    limit_file_size();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.npy");
    for sample in samples(dir.path()) {
        for zero_fill in [false, true] {
            let what = format!("sample {:?} as written, zero_fill {zero_fill}", sample.name);
            runner.case(&what, 0, || exercise(&sample.bytes, &path, zero_fill));
        }
        // Every header byte of a few samples; fields, tokens, cuts and random edits of all.
        let mut edits = match EXHAUSTIVE.iter().any(|p| sample.name.starts_with(p)) {
            true => sample.byte_edits(),
            false => Vec::new(),
        };
        edits.extend(sample.field_edits());
        edits.extend(sample.spot_edits());
        edits.extend(sample.truncations(40));
        edits.extend(sample.random_edits(0x0061_7070, 120));
        run(&mut runner, &sample, &edits, &path);
    }
    let cases = runner.cases();
    runner.finish();
    let (appended, recovered) = (APPENDED.load(Relaxed), RECOVERED.load(Relaxed));
    eprintln!("{cases} cases: {appended} appends, {recovered} recoveries");
    assert!(cases > 2000, "{cases} cases");
    assert!(appended > 200 && recovered > 200);
}

/// Cases that failed once, named after what they broke.
#[test]
fn regressions() {
    let mut runner = Runner::new("npy-append regressions", FACTOR, SLACK);
    limit_file_size();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.npy");
    let samples = samples(dir.path());
    let sample = |prefix: &str| samples.iter().find(|s| s.name.starts_with(prefix)).unwrap();
    use mutation::*;
    let fortran = sample("appender fortran");
    let crashed = sample("crashed");
    let cases: Vec<(&str, &Sample, Vec<Mutation>)> = vec![
        // Found by this test: zero-filling the torn frame of a header that claims frames of
        // 1.3 MB (its shape made (3, 655362)) wrote 1.3 MB of zeros into a 145-byte file; a
        // claim of 2^40-byte frames would have written a terabyte. Zeros are now a file
        // extension: constant time, no disk space.
        (
            "zero-filling a frame the header made long",
            fortran,
            vec![Insert {
                at: fortran.spots[0].0,
                bytes: b"65536".to_vec(),
            }],
        ),
        (
            "zero-filling a frame of 2^40 bytes",
            fortran,
            vec![Insert {
                at: fortran.spots[0].0,
                bytes: b"1099511627776".to_vec(),
            }],
        ),
        // Frames whose length overflows 64 bits (no frames counted, so the header parses):
        // zero-filling the bytes past the header would have written 2^64 bytes.
        (
            "zero-filling a frame longer than 2^64 bytes",
            crashed,
            vec![Write {
                at: crashed.spots[0].0,
                bytes: b"0, 4611686018427387904), }".to_vec(),
            }],
        ),
        (
            "header length field at u16::MAX",
            sample("numpy"),
            vec![Write {
                at: 8,
                bytes: vec![0xff, 0xff],
            }],
        ),
    ];
    for (name, sample, mutations) in cases {
        let bytes = apply(&sample.bytes, &mutations);
        for zero_fill in [false, true] {
            runner.case(name, bytes.len(), || exercise(&bytes, &path, zero_fill));
        }
    }
    runner.finish();
}
