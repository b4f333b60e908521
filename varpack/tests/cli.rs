//! The `varpack` binary: show, convert, broken packs.

use std::path::Path;
use std::process::{Command, Output};

use varpack::Varpack;

fn run(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_varpack"))
        .args(args)
        .output()
        .unwrap()
}

fn sample(path: &Path) {
    let mut vp = Varpack::new();
    vp.insert_array("x", &[1.0f64; 6], &[2, 3]).unwrap();
    let mut d = std::collections::BTreeMap::new();
    d.insert(
        "k".to_string(),
        varpack::Array::from_slice(&[1u8], &[1]).unwrap(),
    );
    vp.insert_dict("d", d).unwrap();
    vp.insert_value("s", "text").unwrap();
    vp.save_as(path).unwrap();
}

#[test]
fn show_prints_the_table_and_json() {
    let dir = tempfile::tempdir().unwrap();
    for path in [dir.path().join("p"), dir.path().join("p.npz")] {
        sample(&path);
        let out = run(&["show".as_ref(), &path]);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("│ x    │ array │ <f8   │ (2, 3) │ 48 B  │ unloaded │"),
            "{text}"
        );
        let out = run(&["show".as_ref(), &path, "--json".as_ref()]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json[2]["name"], "x");
        assert_eq!(json[2]["kind"], "array");
        assert_eq!(json[2]["descr"], "<f8");
        assert_eq!(json[2]["shape"], serde_json::json!([2, 3]));
        assert_eq!(json[2]["bytes"], 48);
        assert_eq!(json[0]["keys"][0]["key"], "k");
    }
}

#[test]
fn convert_between_forms() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    sample(&a);
    let b = dir.path().join("b.npz");
    let c = dir.path().join("c");
    assert!(run(&["convert".as_ref(), &a, &b]).status.success());
    assert!(run(&["convert".as_ref(), &b, &c]).status.success());
    let vp = Varpack::load(&c).unwrap();
    assert_eq!(vp.get_value::<String>("s").unwrap(), "text");
    assert_eq!(vp.view::<f64>("x").unwrap().as_slice(), &[1.0; 6]);
}

fn assert_one_line_error(path: &Path, needle: &str) {
    for args in [
        vec!["show".as_ref(), path],
        vec![
            "convert".as_ref(),
            path,
            path.parent().unwrap().join("out.npz").as_path(),
        ],
    ] {
        let out = run(&args);
        assert!(!out.status.success(), "{}", path.display());
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.starts_with("varpack: error: "), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{needle} not in {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn broken_packs_give_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = |name: &str| {
        let p = dir.path().join(name);
        sample(&p);
        p
    };
    let p = fresh("no_manifest");
    std::fs::remove_file(p.join("varpack.json")).unwrap();
    assert_one_line_error(&p, "not a varpack directory");

    let p = fresh("corrupt_manifest");
    std::fs::write(p.join("varpack.json"), b"{\"format\": \"varpack\", \"vers").unwrap();
    assert_one_line_error(&p, "not JSON");

    let p = fresh("future_version");
    std::fs::write(
        p.join("varpack.json"),
        br#"{"format": "varpack", "version": 99, "values": []}"#,
    )
    .unwrap();
    assert_one_line_error(&p, "unknown format version 99");

    let p = fresh("missing_file");
    std::fs::remove_file(p.join("x.npy")).unwrap();
    assert_one_line_error(&p, "x.npy is missing");

    let p = fresh("missing_json");
    std::fs::remove_file(p.join("values.json")).unwrap();
    assert_one_line_error(&p, "values.json is missing");

    let p = fresh("header_disagrees");
    npy_format::write_file(p.join("x.npy"), &[1i32; 6], &[2, 3]).unwrap();
    assert_one_line_error(&p, "the manifest says dtype \"<f8\"");

    let p = fresh("truncated_npy");
    let bytes = std::fs::read(p.join("x.npy")).unwrap();
    std::fs::write(p.join("x.npy"), &bytes[..bytes.len() - 8]).unwrap();
    let out = run(&["convert".as_ref(), &p, &dir.path().join("t.npz")]);
    assert!(!out.status.success());

    let p = fresh("escaping_file");
    let text = std::fs::read_to_string(p.join("varpack.json")).unwrap();
    std::fs::write(
        p.join("varpack.json"),
        text.replace("\"x.npy\"", "\"../x.npy\""),
    )
    .unwrap();
    assert_one_line_error(&p, "not a plain name");

    let p = dir.path().join("garbage.npz");
    std::fs::write(&p, b"not a zip at all").unwrap();
    assert_one_line_error(&p, "not a zip archive");

    let p = dir.path().join("missing");
    assert_one_line_error(&p, "No such file");
}

#[cfg(unix)]
mod unix {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::ExitStatusExt;
    use std::path::Path;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use super::{run, sample};
    use varpack::Varpack;

    fn bin() -> Command {
        Command::new(env!("CARGO_BIN_EXE_varpack"))
    }

    /// A pack whose table is longer than a pipe's buffer.
    fn long_pack(path: &Path) {
        let mut vp = Varpack::new();
        for i in 0..3000 {
            vp.insert_value(&format!("value_{i:05}"), &i).unwrap();
        }
        vp.save_as(path).unwrap();
    }

    /// Runs `varpack ARGS` and returns whether it succeeded and its peak resident memory in
    /// bytes: the highest `VmHWM` of `/proc/PID/status` seen while it runs, polled every
    /// millisecond. (Not `wait4`'s `ru_maxrss`: a child spawned from this big, multi-threaded
    /// test process counts the parent's pages until its exec.) A peak that lasts less than a
    /// poll may be missed; the pack held whole, which this test is about, lasts until the end.
    #[cfg(target_os = "linux")]
    fn peak_rss(args: &[&Path]) -> (bool, u64) {
        let mut child = bin().args(args).stderr(Stdio::null()).spawn().unwrap();
        let status_path = format!("/proc/{}/status", child.id());
        let mut peak = 0u64;
        let status = loop {
            if let Ok(text) = std::fs::read_to_string(&status_path)
                && let Some(kib) = text
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kib * 1024);
            }
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        (status.success(), peak)
    }

    /// A numpy `.npz` of eight 16 MiB arrays (stored, or deflated) converts holding one array
    /// at a time: its peak memory stays under the largest array plus 64 MiB, well under the
    /// 128 MiB of them all.
    #[cfg(target_os = "linux")]
    #[test]
    fn convert_holds_one_array_at_a_time() {
        const MEMBER: usize = 16 << 20;
        let dir = tempfile::tempdir().unwrap();
        for compression in [
            npz_stream::Compression::Stored,
            npz_stream::Compression::deflate(),
        ] {
            let input = dir.path().join("big.npz");
            let mut npz = npz_stream::NpzWriter::options()
                .compression(compression)
                .index(false) // as numpy writes them
                .create(&input)
                .unwrap();
            let mut data = vec![0u32; MEMBER / 4];
            for i in 0..8u32 {
                data.iter_mut().step_by(1024).for_each(|v| *v = i);
                npz.add_array(&format!("a{i}"), &data, &[data.len() as u64])
                    .unwrap();
            }
            npz.finish().unwrap();
            let output = dir.path().join("out");
            let (ok, peak) = peak_rss(&[Path::new("convert"), &input, &output]);
            assert!(ok);
            assert!(peak > 0, "no VmHWM read");
            assert!(
                peak < (MEMBER as u64) + (64 << 20),
                "{compression:?}: peak RSS {} MiB",
                peak >> 20
            );
            let back = Varpack::load(&output).unwrap();
            assert_eq!(back.view::<u32>("a7").unwrap().as_slice()[1024], 7);
            std::fs::remove_dir_all(&output).unwrap();
        }
    }

    #[test]
    fn show_to_a_full_or_closed_stdout_exits_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        for path in [dir.path().join("p"), dir.path().join("p.npz")] {
            long_pack(&path);
            for json in [false, true] {
                let what = format!("show {} json={json}", path.display());
                testkit::cli::assert_clean_on_full_and_closed_stdout("varpack", &what, 100, || {
                    let mut cmd = bin();
                    cmd.arg("show").arg(&path);
                    if json {
                        cmd.arg("--json");
                    }
                    cmd
                });
            }
        }
    }

    #[test]
    fn convert_refuses_an_existing_output_unless_forced_and_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        sample(&input);
        let mut other = Varpack::new();
        other.insert_value("mine", &1).unwrap();
        let set = |p: &Path, m| std::fs::set_permissions(p, PermissionsExt::from_mode(m));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        for out in [dir.path().join("out"), dir.path().join("out.npz")] {
            other.save_as(&out).unwrap();
            set(&out, if out.is_dir() { 0o700 } else { 0o600 }).unwrap();
            if out.is_dir() {
                set(&out.join("varpack.json"), 0o600).unwrap();
            }
            let refused = run(&["convert".as_ref(), &input, &out]);
            let err = String::from_utf8(refused.stderr).unwrap();
            assert_eq!(refused.status.code(), Some(1), "{err}");
            assert_eq!(
                err,
                format!(
                    "varpack: error: {} exists; pass -f/--force to replace it\n",
                    out.display()
                )
            );
            assert_eq!(Varpack::load(&out).unwrap().names(), vec!["mine"]);
            for flag in ["-f", "--force"] {
                let forced = run(&["convert".as_ref(), &input, &out, flag.as_ref()]);
                assert!(forced.status.success(), "{forced:?}");
                assert_eq!(Varpack::load(&out).unwrap().names(), vec!["d", "s", "x"]);
                if out.is_dir() {
                    assert_eq!(mode(&out), 0o700);
                    assert_eq!(mode(&out.join("varpack.json")), 0o600);
                } else {
                    assert_eq!(mode(&out), 0o600);
                }
            }
        }
    }

    #[test]
    fn a_fifo_in_a_pack_is_refused_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let pack = dir.path().join("p");
        sample(&pack);
        std::fs::remove_file(pack.join("x.npy")).unwrap();
        let c = std::ffi::CString::new(pack.join("x.npy").as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo reads it and nothing else.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        for args in [vec!["show"], vec!["convert"]] {
            let mut cmd = bin();
            cmd.args(&args).arg(&pack);
            if args[0] == "convert" {
                cmd.arg(dir.path().join("out.npz"));
            }
            let mut child = cmd
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let start = Instant::now();
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                if start.elapsed() > Duration::from_secs(10) {
                    child.kill().unwrap();
                    panic!("varpack {} hung on a FIFO", args[0]);
                }
                std::thread::sleep(Duration::from_millis(10));
            };
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            assert_eq!(status.code(), Some(1), "{err}");
            assert!(err.contains("x.npy: a FIFO, not a regular file"), "{err}");
        }
    }

    #[test]
    fn show_reports_an_interrupted_save_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let pack = dir.path().join("p");
        sample(&pack);
        varpack::testing::set_fault(Some(varpack::testing::Fault::AfterOldMoved));
        let mut vp = Varpack::new();
        vp.insert_value("n", &2).unwrap();
        assert!(vp.save_as(&pack).is_err());
        varpack::testing::set_fault(None);
        let names = || {
            let mut n: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            n.sort();
            n
        };
        let before = names();
        let out = run(&["show".as_ref(), &pack]);
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("a save of this pack was interrupted"), "{err}");
        assert_eq!(names(), before);
        assert!(!pack.exists());
    }

    /// `varpack convert` of an input that another program truncates while it is read: an
    /// error or a copy, never a signal (it used to die of SIGBUS reading a map past the end).
    #[test]
    fn convert_of_an_input_truncated_while_read_never_dies_of_a_signal() {
        let trials: u64 = std::env::var("ARRAY_FILES_TRIALS")
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(16);
        let dir = tempfile::tempdir().unwrap();
        let mut outcomes = std::collections::BTreeMap::new();
        let start = Instant::now();
        for trial in 0..trials {
            let npz = trial % 2 == 1;
            let input = dir.path().join(if npz { "in.npz" } else { "in" });
            let _ = std::fs::remove_dir_all(&input);
            let _ = std::fs::remove_file(&input);
            let mut vp = Varpack::new();
            let big = vec![7u64; 8 << 20]; // 64 MiB
            vp.insert_array("big", &big, &[big.len() as u64]).unwrap();
            // Read through the archive's map by the old loader (a copy in user space).
            vp.insert_value("text", &vec![123_456_789u32; 2 << 20])
                .unwrap();
            vp.set_separate("text", true).unwrap();
            vp.save_as(&input).unwrap();
            drop(vp);
            let out = dir
                .path()
                .join(format!("out{trial}{}", if npz { "" } else { ".npz" }));
            let child = bin()
                .arg("convert")
                .arg(&input)
                .arg(&out)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_micros((trial * 7_919) % 20_000));
            let file = if npz {
                input.clone()
            } else {
                input.join("big.npy")
            };
            let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
            f.set_len(4096).unwrap();
            let result = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&result.stderr);
            assert_eq!(
                result.status.signal(),
                None,
                "trial {trial}: killed by a signal: {err}"
            );
            let outcome = if result.status.success() {
                "copied before the truncation"
            } else {
                assert!(err.starts_with("varpack: error: "), "{err}");
                "error"
            };
            *outcomes.entry(outcome).or_insert(0) += 1;
            let _ = std::fs::remove_file(&out);
            let _ = std::fs::remove_dir_all(&out);
        }
        eprintln!(
            "convert of a truncated input: {trials} trials in {:.1} s: {outcomes:?}",
            start.elapsed().as_secs_f64()
        );
    }
}

#[test]
fn convert_migrates_an_abf_file_skipping_serialized_values_only_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let abf = dir.path().join("run.abf");
    // One Float64 vector, then a Julia-serialized DataType (AlignedBinaryFormat's layout).
    let mut bytes = vec![0u8];
    let string = |b: &mut Vec<u8>, s: &str| {
        b.extend_from_slice(&(4 * s.chars().count() as i64).to_le_bytes());
        b.extend_from_slice(s.as_bytes());
    };
    string(&mut bytes, "x");
    string(&mut bytes, "Array{Float64,1}");
    bytes.extend_from_slice(&2i64.to_le_bytes());
    while bytes.len() % 8 != 0 {
        bytes.push(0);
    }
    for v in [1.5f64, -2.0] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes.push(0);
    string(&mut bytes, "T");
    string(&mut bytes, "DataType");
    bytes.extend_from_slice(&3i64.to_le_bytes());
    bytes.extend_from_slice(b"\x01\x02\x03");
    std::fs::write(&abf, &bytes).unwrap();
    let out_path = dir.path().join("out.npz");
    let out = run(&["convert".as_ref(), &abf, &out_path]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("value 'T'") && err.contains("Julia"), "{err}");
    assert!(!out_path.exists());
    for flag in ["--skip-unreadable", "--skip-serialized"] {
        let out = run(&[
            "convert".as_ref(),
            &abf,
            &out_path,
            flag.as_ref(),
            "-f".as_ref(),
        ]);
        assert!(out.status.success(), "{out:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("skipped value 'T'"), "{err}");
        let vp = Varpack::load(&out_path).unwrap();
        assert_eq!(vp.names(), ["x"]);
        assert_eq!(vp.array("x").unwrap().to_vec::<f64>().unwrap(), [1.5, -2.0]);
    }
}
