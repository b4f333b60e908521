//! The `npy append` and `npy recover` commands: results, one-line errors with a non-zero exit,
//! and OUT byte-for-byte unchanged whenever an input does not match.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use npy_append::{FrameLayout, NpyAppender};
use npy_format::{DType, FrameSource, Header, NpyFile};
use testkit::faults as fs_;
use testkit::oracle;

use crate::npy;

fn npy_ok(args: &[&str]) -> String {
    let out = npy(args);
    assert!(
        out.status.success(),
        "npy {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `npy`, asserts exit status 1 with one `npy: error:` line and nothing on stdout, and
/// returns the line.
fn npy_fails(args: &[&str]) -> String {
    let out = npy(args);
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?} wrote to stdout");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("npy: error: "), "{args:?}: {err}");
    err
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Writes an array of `descr` with raw `data` (storage order) and the given shape and order.
fn write(path: &Path, descr: &str, shape: &[u64], fortran: bool, data: &[u8]) -> PathBuf {
    let header = Header::new(DType::parse(descr).unwrap(), fortran, shape.to_vec());
    // Not write_raw: it refuses object arrays, which some tests need.
    let mut file = header.to_bytes().unwrap();
    file.extend_from_slice(data);
    fs::write(path, file).unwrap();
    path.to_path_buf()
}

fn bytes(start: u32, n: u32) -> Vec<u8> {
    (start..start + n).flat_map(u32::to_le_bytes).collect()
}

#[test]
fn append_creates_and_extends() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        &dir.path().join("a.npy"),
        "<u4",
        &[2, 3],
        false,
        &bytes(0, 6),
    );
    let b = write(
        &dir.path().join("b.npy"),
        "<u4",
        &[1, 3],
        false,
        &bytes(6, 3),
    );
    let empty = write(&dir.path().join("e.npy"), "<u4", &[0, 3], false, &[]);
    let out = dir.path().join("out.npy");
    let said = npy_ok(&["append", s(&out), s(&a), s(&empty), s(&b)]);
    assert_eq!(
        said.trim_end(),
        format!(
            "{}: appended 3 frames from 3 files; shape now (3, 3)",
            s(&out)
        )
    );
    npy_ok(&["append", s(&out), s(&b), s(&out)]);
    let array = npy_format::read_file::<u32>(&out).unwrap();
    assert_eq!(array.header.shape, vec![7, 3]);
    let expected: Vec<u32> = (0..9).chain(6..9).chain(0..9).collect();
    assert_eq!(array.data, expected);
    // The file is what np.save writes for the array.
    let mut saved = Vec::new();
    npy_format::write_raw(&mut saved, &array.header, npy_format::as_bytes(&array.data)).unwrap();
    assert_eq!(fs::read(&out).unwrap(), saved);
}

#[test]
fn append_builds_1d_from_scalars_and_follows_fortran_order() {
    let dir = tempfile::tempdir().unwrap();
    let x = write(&dir.path().join("x.npy"), ">i2", &[], false, &[0, 7]);
    let y = write(&dir.path().join("y.npy"), ">i2", &[2], false, &[0, 8, 0, 9]);
    let out = dir.path().join("s.npy");
    npy_ok(&["append", s(&out), s(&x), s(&y), s(&x)]);
    let file = NpyFile::open(&out).unwrap();
    assert_eq!(file.header().shape, vec![4]);
    assert_eq!(file.data().unwrap(), &[0, 7, 0, 8, 0, 9, 0, 7]);

    // Fortran order: frames along the last axis; a (3, 1) array written as C order (as numpy
    // writes it) is one frame too.
    let f = write(
        &dir.path().join("f.npy"),
        "<u4",
        &[3, 2],
        true,
        &bytes(0, 6),
    );
    let one = write(
        &dir.path().join("one.npy"),
        "<u4",
        &[3, 1],
        false,
        &bytes(6, 3),
    );
    let out = dir.path().join("f_out.npy");
    npy_ok(&["append", s(&out), s(&f), s(&one), s(&f)]);
    let file = NpyFile::open(&out).unwrap();
    assert_eq!(file.header().shape, vec![3, 5]);
    assert!(file.header().fortran_order);
    assert_eq!(
        file.data().unwrap(),
        &[bytes(0, 9), bytes(0, 6)].concat()[..]
    );
}

#[test]
fn append_streams_large_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let frames = 3 * 1024 * 1024 / 12 + 7; // over 3 chunks of 8 MiB in total
    let data: Vec<u8> = bytes(0, frames * 3);
    let big = write(
        &dir.path().join("big.npy"),
        "<u4",
        &[frames as u64, 3],
        false,
        &data,
    );
    let out = dir.path().join("out.npy");
    npy_ok(&["append", s(&out), s(&big), s(&big), s(&big), "--sync"]);
    let file = NpyFile::open(&out).unwrap();
    assert_eq!(file.frame_count(), 3 * frames as u64);
    assert_eq!(
        file.data().unwrap(),
        &[&data[..], &data, &data].concat()[..]
    );
}

#[test]
fn mismatches_leave_out_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = write(&d.join("out.npy"), "<f4", &[2, 3], false, &[1; 24]);
    let good = write(&d.join("good.npy"), "<f4", &[1, 3], false, &[2; 12]);
    let cases = [
        write(&d.join("f8.npy"), "<f8", &[1, 3], false, &[0; 24]),
        write(&d.join("be.npy"), ">f4", &[1, 3], false, &[0; 12]),
        write(&d.join("wide.npy"), "<f4", &[1, 4], false, &[0; 16]),
        write(&d.join("fortran.npy"), "<f4", &[3, 2], true, &[0; 24]),
        write(&d.join("flat.npy"), "<f4", &[3], false, &[0; 12]),
        write(&d.join("scalar.npy"), "<f4", &[], false, &[0; 4]),
        write(&d.join("object.npy"), "|O", &[1], false, &[0x80]),
        {
            let p = d.join("garbage.npy");
            fs::write(&p, b"not an array").unwrap();
            p
        },
        d.join("missing.npy"),
    ];
    let before = fs::read(&out).unwrap();
    for bad in &cases {
        // The bad input last: everything before it was fine, and still nothing is written.
        let err = npy_fails(&["append", s(&out), s(&good), s(bad)]);
        assert!(err.contains(s(bad)), "{err}");
        assert_eq!(fs::read(&out).unwrap(), before, "{}", bad.display());
        // A missing OUT is not created either.
        let new = d.join("new.npy");
        npy_fails(&["append", s(&new), s(&good), s(bad)]);
        assert!(!new.exists(), "{}", bad.display());
    }
    let mismatch = npy_fails(&["append", s(&out), s(&cases[0])]);
    assert!(
        mismatch.contains("holds frames of shape (3,) of '<f8' in C order"),
        "{mismatch}"
    );
    assert!(mismatch.contains("nothing was written"), "{mismatch}");

    // OUT itself refused: a 0-d array, a file needing recovery, a locked file.
    let scalar = write(&d.join("s0.npy"), "<f4", &[], false, &[0; 4]);
    let err = npy_fails(&["append", s(&scalar), s(&good)]);
    assert!(err.contains("no growth axis"), "{err}");
    let crashed = d.join("crashed.npy");
    fs::write(&crashed, [&before[..], &[0; 13]].concat()).unwrap();
    let err = npy_fails(&["append", s(&crashed), s(&good)]);
    assert!(err.contains("recover"), "{err}");
    let holder = NpyAppender::open(&out).unwrap();
    let err = npy_fails(&["append", s(&out), s(&good)]);
    assert!(err.contains("locked"), "{err}");
    drop(holder);
    assert_eq!(fs::read(&out).unwrap(), before);
    npy_ok(&["append", s(&out), s(&good)]);
    assert_eq!(NpyFile::open(&out).unwrap().header().shape, vec![3, 3]);
}

#[test]
fn append_to_an_old_header_says_it_rewrote_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("old.npy");
    let header = Header::new(DType::parse("<u4").unwrap(), false, vec![1, 3]);
    let mut old = fs_::pre_1_14_header(&header);
    old.extend_from_slice(&bytes(0, 3));
    fs::write(&out, &old).unwrap();
    let input = write(
        &dir.path().join("in.npy"),
        "<u4",
        &[1, 3],
        false,
        &bytes(3, 3),
    );
    let err = npy_fails(&["append", s(&out), s(&input), "--no-rewrite"]);
    assert!(err.contains("no room"), "{err}");
    assert_eq!(fs::read(&out).unwrap(), old);
    let result = npy(&["append", s(&out), s(&input)]);
    assert!(result.status.success());
    let note = String::from_utf8(result.stderr).unwrap();
    assert!(
        note.starts_with("npy: note: ") && note.contains("rewritten"),
        "{note}"
    );
    assert_eq!(
        npy_format::read_file::<u32>(&out).unwrap().data,
        (0..6).collect::<Vec<_>>()
    );
}

#[test]
fn recover_prints_what_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.npy");
    let mut out = NpyAppender::create(&path, &FrameLayout::of::<u32>(&[3])).unwrap();
    out.append(&[0u32, 1, 2]).unwrap();
    out.finish().unwrap();
    let said = npy_ok(&["recover", s(&path)]);
    assert!(said.contains("nothing to do"), "{said}");

    let mut file = fs::OpenOptions::new().append(true).open(&path).unwrap();
    std::io::Write::write_all(&mut file, &bytes(3, 7)).unwrap();
    drop(file);
    let before = fs::read(&path).unwrap();
    let said = npy_ok(&["recover", s(&path), "--dry-run"]);
    assert_eq!(said.lines().count(), 1);
    assert!(said.contains("would adopt 2 complete frames"), "{said}");
    assert!(said.contains("would truncate 4 bytes"), "{said}");
    assert_eq!(fs::read(&path).unwrap(), before);
    let said = npy_ok(&["recover", s(&path), "--zero-fill"]);
    assert!(
        said.contains("adopt 2 complete frames") && said.contains("zero-fill 8 bytes"),
        "{said}"
    );
    assert!(said.contains("the header counts 4 frames"), "{said}");
    let array = npy_format::read_file::<u32>(&path).unwrap();
    assert_eq!(
        array.data,
        [(0..10).collect::<Vec<u32>>(), vec![0, 0]].concat()
    );

    let garbage = dir.path().join("g.npy");
    fs::write(&garbage, b"garbage").unwrap();
    npy_fails(&["recover", s(&garbage)]);
    npy_fails(&["recover", s(&dir.path().join("missing.npy"))]);
    let holder = NpyAppender::open(&path).unwrap();
    let err = npy_fails(&["recover", s(&path)]);
    assert!(err.contains("locked"), "{err}");
    drop(holder);
}

/// Inputs numpy saved: `npy append` gives numpy's concatenation along the growth axis.
#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn append_matches_numpy_concatenate() {
    let mut numpy = oracle::shared();
    let dir = tempfile::tempdir().unwrap();
    for (exprs, axis) in [
        (
            vec![
                "np.arange(12, dtype='<f8').reshape(4, 3)",
                "np.zeros((0, 3))",
                "np.ones((2, 3))",
            ],
            "0",
        ),
        (
            vec![
                "np.asfortranarray(np.arange(24, dtype='>i2').reshape(2, 3, 4))",
                "np.asfortranarray(np.ones((2, 3, 5), dtype='>i2'))",
            ],
            "-1",
        ),
        (vec!["np.float32(3)", "np.arange(3, dtype='<f4')"], "0"),
    ] {
        let mut inputs = Vec::new();
        for (i, expr) in exprs.iter().enumerate() {
            let path = dir.path().join(format!("in{i}.npy"));
            numpy.exec(&format!("np.save({:?}, {expr})", s(&path)));
            inputs.push(path);
        }
        let out = dir.path().join(format!("out{axis}{}.npy", exprs.len()));
        let mut args = vec!["append", s(&out)];
        args.extend(inputs.iter().map(|p| s(p)));
        npy_ok(&args);
        let ok = numpy.exec(&format!(
            "parts = [np.atleast_1d(np.load(p)) for p in {:?}]\n\
             expected = np.concatenate(parts, axis={axis})\n\
             got = np.load({:?})\n\
             result = bool(np.array_equal(got, expected)) and got.dtype == parts[0].dtype",
            inputs.iter().map(|p| s(p)).collect::<Vec<_>>(),
            s(&out)
        ));
        assert_eq!(ok, serde_json::Value::Bool(true), "{exprs:?}");
    }
}

// Reliability round 2 (issue 17): races, hostile headers, permissions, stdout, messages.

#[test]
fn concurrent_wait_appends_racing_to_create_out_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(&dir.path().join("in.npy"), "<u4", &[3], false, &[7; 12]);
    for trial in 0..10 {
        let out = dir.path().join(format!("out{trial}.npy"));
        let children: Vec<_> = (0..4)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_npy"))
                    .args(["append", "--wait", s(&out), s(&input)])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let done = child.wait_with_output().unwrap();
            assert!(
                done.status.success(),
                "trial {trial}: {}",
                String::from_utf8_lossy(&done.stderr)
            );
        }
        assert_eq!(NpyFile::open(&out).unwrap().header().shape, vec![12]);
    }
}

#[test]
fn a_zero_fill_larger_than_the_limit_is_refused_and_the_file_kept() {
    let dir = tempfile::tempdir().unwrap();
    // A hostile header: frames of 2^40 bytes, and 10 bytes of data (a "torn" frame).
    let path = write(
        &dir.path().join("h.npy"),
        "|u1",
        &[0, 1 << 40],
        false,
        &[1; 10],
    );
    let before = fs::read(&path).unwrap();
    let err = npy_fails(&["recover", "--zero-fill", s(&path)]);
    assert!(err.contains("would add 1099511627766 zero bytes"), "{err}");
    assert!(err.contains("--max-zero-fill"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), before);
    // Without --zero-fill the torn bytes are cut, as always.
    npy_ok(&["recover", s(&path)]);
    assert_eq!(
        NpyFile::open(&path).unwrap().header().shape,
        vec![0, 1 << 40]
    );
    // A frame that a crash could tear is still completed, and the limit can be raised.
    let small = write(&dir.path().join("s.npy"), "<u2", &[1, 3], false, &[1; 8]);
    npy_ok(&["recover", "--zero-fill", s(&small)]);
    assert_eq!(NpyFile::open(&small).unwrap().header().shape, vec![2, 3]);
    let big = write(
        &dir.path().join("b.npy"),
        "|u1",
        &[0, 4096],
        false,
        &[1; 10],
    );
    npy_fails(&["recover", "--zero-fill", "--max-zero-fill", "100", s(&big)]);
    npy_ok(&["recover", "--zero-fill", "--max-zero-fill", "5000", s(&big)]);
    assert_eq!(fs::metadata(&big).unwrap().len(), 128 + 4096);
}

#[test]
fn a_locked_file_names_the_wait_flag_not_a_rust_item() {
    let dir = tempfile::tempdir().unwrap();
    let out = write(&dir.path().join("o.npy"), "<u4", &[1], false, &[0; 4]);
    let input = write(&dir.path().join("in.npy"), "<u4", &[1], false, &[0; 4]);
    let held = NpyAppender::open(&out).unwrap();
    let err = npy_fails(&["append", s(&out), s(&input)]);
    assert!(err.contains("pass --wait"), "{err}");
    assert!(!err.contains("LockMode"), "{err}");
    let err = npy_fails(&["recover", s(&out)]);
    assert!(err.contains("--wait"), "{err}");
    drop(held);
    let long = dir.path().join("long.npy");
    let header = Header::new(DType::parse("<u1").unwrap(), false, vec![1]);
    let mut bytes = header
        .to_bytes_in_place(npy_format::Version::V2, 70_000)
        .unwrap();
    bytes.push(1);
    fs::write(&long, bytes).unwrap();
    let err = npy_fails(&["info", s(&long)]);
    assert!(err.contains("--max-header-size"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_full_or_closed_stdout_is_a_clean_exit() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir.path().join("a.npy"),
        "|u1",
        &[1 << 20],
        false,
        &vec![5; 1 << 20],
    );
    for args in [vec!["info", s(&path)], vec!["rows", s(&path), "0"]] {
        testkit::cli::assert_clean_on_full_and_closed_stdout("npy", &args.join(" "), 4, || {
            let mut command = Command::new(env!("CARGO_BIN_EXE_npy"));
            command.args(&args);
            command
        });
    }
}

/// `-q/--quiet` keeps `npy append` and `npy recover` silent on success (they still fail loudly).
#[test]
fn quiet_append_and_recover_print_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.npy");
    let out = dir.path().join("out.npy");
    npy_format::write_file(&input, &[1u16, 2, 3, 4], &[2, 2]).unwrap();
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    let run = npy(&["append", o, i, "-q"]);
    assert!(run.status.success());
    assert!(
        run.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
    assert!(
        !npy_ok(&["append", o, i]).is_empty(),
        "without -q the summary is printed"
    );
    assert_eq!(NpyFile::open(&out).unwrap().header().shape, vec![4, 2]);
    let run = npy(&["recover", o, "--quiet"]);
    assert!(run.status.success() && run.stdout.is_empty());
    let missing = npy(&[
        "append",
        o,
        dir.path().join("none.npy").to_str().unwrap(),
        "-q",
    ]);
    assert!(!missing.status.success() && !missing.stderr.is_empty());
}
