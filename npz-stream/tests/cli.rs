//! The `npz` binary: ls, rows, zip, add, extract, test; errors as one line and a non-zero exit.

use std::path::Path;
use std::process::{Command, Output};

use npz_stream::NpzReader;

fn npz(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_npz"))
        .args(args)
        .output()
        .expect("run npz")
}

fn ok(args: &[&str]) -> Vec<u8> {
    let out = npz(args);
    assert!(
        out.status.success(),
        "npz {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn fails(args: &[&str]) -> String {
    let out = npz(args);
    assert!(!out.status.success(), "npz {args:?} succeeded");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("npz: error: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn zip_ls_rows_extract_add() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.npy");
    let b = dir.path().join("b.npy");
    let data: Vec<i16> = (0..20_000).map(|i| (i % 777) as i16).collect();
    npy_format::write_file(&a, &data, &[1000, 20]).unwrap();
    npy_format::write_file(&b, &[1.0f64, 2.0], &[2]).unwrap();

    for compress in [false, true] {
        let out = dir.path().join(format!("o{compress}.npz"));
        let mut args = vec!["zip", s(&out), "adc=", "b=x"];
        let adc = format!("adc={}", s(&a));
        let bb = format!("b.v={}", s(&b));
        args[2] = &adc;
        args[3] = &bb;
        if compress {
            args.extend(["--level", "3", "--chunk-size", "8192"]);
        }
        ok(&args);

        let listing: serde_json::Value =
            serde_json::from_slice(&ok(&["ls", s(&out), "--json"])).unwrap();
        let first = &listing[0];
        assert_eq!(first["name"], "adc");
        assert_eq!(first["descr"], "<i2");
        assert_eq!(first["fortran_order"], false);
        assert_eq!(first["shape"], serde_json::json!([1000, 20]));
        assert_eq!(
            first["compression"],
            if compress { "deflated" } else { "stored" }
        );
        assert_eq!(first["size"], 128 + 40_000);
        // Checksums are lowercase hex strings in every tool's JSON: here zip's CRC-32.
        let crc = first["crc32"].as_str().expect("crc32 as a hex string");
        let crc = u32::from_str_radix(crc, 16).unwrap();
        let zip = zipfile_crc(&out, "adc.npy");
        assert_eq!(crc, zip);
        assert_eq!(first["seekable"], true);
        if compress {
            assert!(first["data_offset"].is_null());
            assert!(first["compressed_size"].as_u64().unwrap() < 40_128);
        } else {
            assert_eq!(first["data_offset"].as_u64().unwrap() % 64, 0);
        }
        assert_eq!(listing[1]["name"], "b.v");
        let table = String::from_utf8(ok(&["ls", s(&out)])).unwrap();
        assert!(
            table.contains("(1000, 20)") && table.contains("b.v"),
            "{table}"
        );

        let rows = ok(&["rows", s(&out), "adc", "998", "1000"]);
        let expected: Vec<u8> = data[998 * 20..]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(rows, expected);
        assert_eq!(ok(&["rows", s(&out), "adc.npy", "999"]).len(), 40);
        assert_eq!(ok(&["rows", s(&out), "b.v", "0"]).len(), 16);

        let extracted = dir.path().join(format!("x{compress}.npy"));
        ok(&["extract", s(&out), "adc", s(&extracted)]);
        assert_eq!(
            std::fs::read(&extracted).unwrap(),
            std::fs::read(&a).unwrap()
        );
        assert!(!ok(&["test", s(&out)]).is_empty());
        assert!(
            ok(&["test", s(&out), "-q"]).is_empty(),
            "-q prints nothing on success"
        );
        assert!(ok(&["recover", s(&out), "--quiet"]).is_empty());
        assert!(!ok(&["recover", s(&out)]).is_empty());

        // add: a new key works; a duplicate is an error and leaves the archive unchanged.
        let c = format!("c={}", s(&b));
        ok(&["add", s(&out), &c]);
        let before = std::fs::read(&out).unwrap();
        let err = fails(&["add", s(&out), &format!("d={}", s(&b)), &c]);
        assert!(err.contains("duplicate key 'c'"), "{err}");
        assert_eq!(std::fs::read(&out).unwrap(), before);
        assert_eq!(NpzReader::open(&out).unwrap().keys(), ["adc", "b.v", "c"]);
    }

    // add creates a missing archive; zip --delete-originals removes the inputs.
    let fresh = dir.path().join("fresh.npz");
    ok(&["add", s(&fresh), &format!("k={}", s(&b)), "--compress"]);
    assert_eq!(NpzReader::open(&fresh).unwrap().keys(), ["k"]);
    let zipped = dir.path().join("z.npz");
    ok(&[
        "zip",
        s(&zipped),
        &format!("k={}", s(&b)),
        "--delete-originals",
    ]);
    assert!(!b.exists());
}

#[test]
fn errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.npy");
    npy_format::write_file(&a, &[1u8, 2, 3], &[3]).unwrap();
    let out = dir.path().join("o.npz");
    ok(&["zip", s(&out), &format!("a={}", s(&a)), "--compress"]);

    let err = fails(&["rows", s(&out), "missing", "0"]);
    assert!(err.contains("no member 'missing'"), "{err}");
    let err = fails(&["rows", s(&out), "a", "2", "9"]);
    assert!(err.contains("out of range"), "{err}");
    fails(&["ls", s(&dir.path().join("nope.npz"))]);
    fails(&["zip", s(&dir.path().join("z.npz")), "no-equals-sign"]);
    fails(&[
        "zip",
        s(&dir.path().join("z.npz")),
        &format!("a={}", s(&dir.path().join("missing.npy"))),
    ]);
    fails(&["extract", s(&out), "missing", s(&dir.path().join("e.npy"))]);

    // Garbage, truncation, corrupt deflate data, CRC mismatch.
    let garbage = dir.path().join("garbage.npz");
    std::fs::write(&garbage, vec![7u8; 5000]).unwrap();
    let err = fails(&["ls", s(&garbage)]);
    assert!(err.contains("not a zip archive"), "{err}");
    let bytes = std::fs::read(&out).unwrap();
    let cut = dir.path().join("cut.npz");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    fails(&["ls", s(&cut), "--json"]);
    let corrupt = dir.path().join("corrupt.npz");
    let mut b = bytes.clone();
    let data_at = 30 + 5 + 20 + 133; // past the stored NPY header block
    b[data_at] ^= 0xff;
    b[data_at + 1] ^= 0xff;
    std::fs::write(&corrupt, &b).unwrap();
    fails(&["test", s(&corrupt)]);
    let e = dir.path().join("e.npy");
    fails(&["extract", s(&corrupt), "a", s(&e)]);
    assert!(!e.exists(), "a failed extract leaves no file");
    let crc = dir.path().join("crc.npz");
    let stored = dir.path().join("stored.npz");
    ok(&["zip", s(&stored), &format!("a={}", s(&a))]);
    let mut b = std::fs::read(&stored).unwrap();
    let offset = NpzReader::open(&stored)
        .unwrap()
        .info("a")
        .unwrap()
        .data_offset
        .unwrap();
    b[offset as usize] ^= 1;
    std::fs::write(&crc, &b).unwrap();
    let err = fails(&["test", s(&crc)]);
    assert!(err.contains("CRC-32 mismatch"), "{err}");

    // Usage errors exit 2 (clap), without panicking.
    let out = npz(&["rows"]);
    assert_eq!(out.status.code(), Some(2));
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn existing_outputs_need_force_and_keep_their_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.npy");
    npy_format::write_file(&a, &[1u16, 2, 3], &[3]).unwrap();
    let member = format!("a={}", s(&a));
    let out = dir.path().join("o.npz");
    let extracted = dir.path().join("x.npy");
    for target in [&out, &extracted] {
        std::fs::write(target, b"precious").unwrap();
        std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let err = fails(&["zip", s(&out), &member]);
    assert!(
        err.contains("exists; pass -f/--force to replace it"),
        "{err}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    ok(&["zip", s(&out), &member, "-f"]);
    assert_eq!(NpzReader::open(&out).unwrap().keys(), ["a"]);
    assert_eq!(mode(&out), 0o600, "npz zip -f widened the mode");

    let err = fails(&["extract", s(&out), "a", s(&extracted)]);
    assert!(
        err.contains("exists; pass -f/--force to replace it"),
        "{err}"
    );
    assert_eq!(std::fs::read(&extracted).unwrap(), b"precious");
    ok(&["extract", s(&out), "a", s(&extracted), "--force"]);
    assert_eq!(
        std::fs::read(&extracted).unwrap(),
        std::fs::read(&a).unwrap()
    );
    assert_eq!(mode(&extracted), 0o600, "npz extract -f widened the mode");
    // No temporaries left anywhere.
    let hidden: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

#[cfg(unix)]
#[test]
fn delete_originals_never_deletes_the_output_and_deletes_each_input_once() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.npy");
    npy_format::write_file(&a, &[1u16, 2, 3], &[3]).unwrap();
    let out = dir.path().join("o.npz");
    ok(&["zip", s(&out), &format!("a={}", s(&a))]);
    let before = std::fs::read(&out).unwrap();
    // OUT among the inputs, by another name of the same file.
    let alias = dir.path().join("alias.npz");
    std::fs::hard_link(&out, &alias).unwrap();
    let err = fails(&[
        "zip",
        s(&out),
        &format!("a={}", s(&a)),
        &format!("o={}", s(&alias)),
        "-f",
        "--delete-originals",
    ]);
    assert!(err.contains("also an input"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), before);
    assert!(a.exists() && alias.exists());
    // A duplicated input: zipped twice, deleted once, exit 0.
    let z = dir.path().join("z.npz");
    let member = format!("a={}", s(&a));
    let again = format!("b={}", s(&a));
    ok(&["zip", s(&z), &member, &again, "--delete-originals"]);
    assert!(!a.exists());
    assert_eq!(NpzReader::open(&z).unwrap().keys(), ["a", "b"]);
}

#[cfg(unix)]
#[test]
fn full_and_closed_stdout_exit_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.npy");
    npy_format::write_file(&a, &vec![7u32; 4 << 20], &[4 << 20]).unwrap();
    let out = dir.path().join("o.npz");
    ok(&["zip", s(&out), &format!("a={}", s(&a))]);
    for args in [
        vec!["test", s(&out)],
        vec!["ls", s(&out)],
        vec!["ls", s(&out), "--json"],
        vec!["rows", s(&out), "a", "0"],
    ] {
        testkit::cli::assert_clean_on_full_and_closed_stdout("npz", &args.join(" "), 0, || {
            let mut command = Command::new(env!("CARGO_BIN_EXE_npz"));
            command.args(&args);
            command
        });
    }
}

#[test]
fn names_are_printed_with_control_characters_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.npz");
    let mut npz = npz_stream::NpzWriter::create(&out).unwrap();
    npz.add_array("evil\x1b[2J", &[1u8], &[1]).unwrap();
    npz.finish().unwrap();
    let table = String::from_utf8(ok(&["ls", s(&out)])).unwrap();
    assert!(table.contains("evil\\u{1b}[2J"), "{table}");
    assert!(!table.contains('\x1b'), "{table}");
    let err = fails(&["rows", s(&out), "bad\x07key", "0"]);
    assert!(
        err.contains("bad\\u{7}key") && !err.contains('\x07'),
        "{err}"
    );
}

#[test]
fn recover_restores_an_interrupted_add() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.npy");
    npy_format::write_file(&a, &vec![3u32; 50_000], &[50_000]).unwrap();
    let out = dir.path().join("o.npz");
    ok(&["zip", s(&out), &format!("a={}", s(&a))]);
    let before = std::fs::read(&out).unwrap();
    // What a killed add leaves: a member started after the end records, no new directory.
    let mut f = std::fs::OpenOptions::new().append(true).open(&out).unwrap();
    f.write_all(b"PK\x03\x04").unwrap();
    f.write_all(&std::fs::read(&a).unwrap()).unwrap();
    drop(f);
    assert_eq!(NpzReader::open(&out).unwrap().keys(), ["a"]);
    ok(&["test", s(&out)]);
    let report = String::from_utf8(ok(&["recover", s(&out)])).unwrap();
    assert!(report.contains("removed 200132 bytes"), "{report}");
    assert_eq!(std::fs::read(&out).unwrap(), before);
    let report = String::from_utf8(ok(&["recover", s(&out)])).unwrap();
    assert!(report.contains("nothing to do"), "{report}");
    // The next add recovers by itself.
    let mut f = std::fs::OpenOptions::new().append(true).open(&out).unwrap();
    f.write_all(&[0x55; 100_000]).unwrap();
    drop(f);
    ok(&["add", s(&out), &format!("b={}", s(&a))]);
    assert_eq!(NpzReader::open(&out).unwrap().keys(), ["a", "b"]);
    assert_eq!(std::fs::read(&out).unwrap()[..before.len()], before[..]);

    // An empty archive that was appended to starts with the empty archive's end record: an
    // interrupted add after that still opens and recovers.
    let empty = dir.path().join("e.npz");
    npz_stream::NpzWriter::create(&empty)
        .unwrap()
        .finish()
        .unwrap();
    ok(&["add", s(&empty), &format!("a={}", s(&a))]);
    let complete = std::fs::read(&empty).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&empty)
        .unwrap();
    f.write_all(&[0x55; 100_000]).unwrap();
    drop(f);
    assert_eq!(NpzReader::open(&empty).unwrap().keys(), ["a"]);
    ok(&["recover", s(&empty)]);
    assert_eq!(std::fs::read(&empty).unwrap(), complete);
}

/// A full disk while extracting (a file-size limit in the child): the message names the file
/// and the reason, and nothing is left.
#[cfg(unix)]
#[test]
fn extract_on_a_full_disk_names_the_file_and_leaves_nothing() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.npy");
    npy_format::write_file(&a, &vec![9u32; 1 << 20], &[1 << 20]).unwrap();
    let out = dir.path().join("o.npz");
    ok(&["zip", s(&out), &format!("a={}", s(&a))]);
    let target = dir.path().join("x.npy");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_npz"));
    cmd.args(["extract", s(&out), "a", s(&target)]);
    // SAFETY: only async-signal-safe calls (signal, setrlimit) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 100_000,
                rlim_max: 100_000,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let res = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("writing {}", target.display())) && stderr.contains("large"),
        "{stderr}"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(names, ["a.npy", "o.npz"], "partial output left");
}

/// The CRC-32 the zip crate reads from the central directory for `member`.
fn zipfile_crc(path: &std::path::Path, member: &str) -> u32 {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    archive.by_name(member).unwrap().crc32()
}

#[test]
fn members_that_are_not_arrays_are_listed_and_extracted_only_raw() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.npz");
    let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    npz.add_array("x", &(0u32..1000).collect::<Vec<_>>(), &[100, 10])
        .unwrap();
    npz.add_file("notes.txt", b"taken on the 3rd\n").unwrap();
    npz.add_file("sub/", b"").unwrap();
    npz.finish().unwrap();
    let table = String::from_utf8(ok(&["ls", s(&path)])).unwrap();
    assert!(table.contains("notes.txt"), "{table}");
    assert!(table.contains("not an array: text"), "{table}");
    assert!(table.contains("directory"), "{table}");
    let json: serde_json::Value = serde_json::from_slice(&ok(&["ls", "--json", s(&path)])).unwrap();
    assert_eq!(json[1]["kind"], "bytes");
    assert_eq!(json[2]["kind"], "directory");
    let out = dir.path().join("notes.npy");
    let err = fails(&["extract", s(&path), "notes.txt", s(&out)]);
    assert!(
        err.contains("not an NPY array") && err.contains("--raw"),
        "{err}"
    );
    assert!(!out.exists());
    ok(&["extract", "--raw", s(&path), "notes.txt", s(&out)]);
    assert_eq!(std::fs::read(&out).unwrap(), b"taken on the 3rd\n");
    let err = fails(&["extract", s(&path), "sub/", s(&dir.path().join("d.npy"))]);
    assert!(err.contains("directory"), "{err}");
    // Rows of the stored member, part and whole, stream the same bytes.
    let all: Vec<u8> = (0u32..1000).flat_map(u32::to_le_bytes).collect();
    assert_eq!(ok(&["rows", s(&path), "x", "0"]), all);
    assert_eq!(ok(&["rows", s(&path), "x", "3", "7"]), &all[120..280]);
    assert_eq!(ok(&["rows", s(&path), "x", "5", "5"]), b"");
    let err = fails(&["rows", s(&path), "x", "7", "3"]);
    assert!(err.contains("out of range"), "{err}");
}

#[test]
fn a_header_over_the_limit_fails_alone_and_names_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.npz");
    let header = npy_format::Header::new(npy_format::DType::parse("<u1").unwrap(), false, vec![1]);
    let mut long = header
        .to_bytes_in_place(npy_format::Version::V2, 20_000)
        .unwrap();
    long.push(9);
    let mut w = npz_stream::NpzWriter::create(&path).unwrap();
    w.add_array("a", &[1u8], &[1]).unwrap();
    w.add_file("long.npy", &long).unwrap();
    w.add_array("b", &[2u8], &[1]).unwrap();
    w.finish().unwrap();
    let out = npz(&["ls", s(&path)]);
    assert!(!out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("\na ") && table.contains("\nb "), "{table}");
    assert!(table.contains("unreadable"), "{table}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--max-header-size"), "{err}");
    assert!(
        !err.contains("ReadOptions") && !err.contains("in Rust"),
        "{err}"
    );
    let err = fails(&["rows", s(&path), "long", "0"]);
    assert!(
        err.contains("--max-header-size") && !err.contains("Rust"),
        "{err}"
    );
    ok(&["ls", "--max-header-size", "30000", s(&path)]);
    assert_eq!(
        ok(&["rows", "--max-header-size", "30000", s(&path), "long", "0"]),
        [9]
    );
    assert_eq!(ok(&["rows", s(&path), "b", "0"]), [2]);
}

/// `npz zip URL` writes its local copy in a private directory of `TMPDIR`: a failure there (an
/// unusable `TMPDIR`, a full disk) is one error line naming the URL, never the local copy, and
/// nothing is left in `TMPDIR`. The URL is never reached: `-f` skips the look for an existing
/// object, and the upload would come after the failure.
#[test]
#[cfg(unix)]
fn zip_to_a_url_names_the_url_when_its_local_copy_fails() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.npy");
    npy_format::write_file(&a, &vec![7u32; 50_000], &[50_000]).unwrap();
    let member = format!("a={}", a.display());
    let url = "s3://bucket-never-reached/runs/z.npz";
    // `ulimit -f` in 512-byte blocks; writes past it fail with EFBIG (SIGXFSZ ignored).
    let run = |tmpdir: &Path, blocks: &str| {
        let out = Command::new("sh")
            .args([
                "-c",
                r#"trap '' XFSZ; ulimit -f "$1"; shift; exec "$@""#,
                "sh",
            ])
            .arg(blocks)
            .arg(env!("CARGO_BIN_EXE_npz"))
            .args(["zip", url, &member, "-f"])
            .env("TMPDIR", tmpdir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.starts_with(&format!("npz: error: {url}: ")),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        stderr
    };
    let err = run(&dir.path().join("missing"), "unlimited");
    assert!(err.contains("making a private directory"), "{err}");
    let tmpdir = dir.path().join("tmpdir");
    std::fs::create_dir(&tmpdir).unwrap();
    let err = run(&tmpdir, "100");
    assert!(err.contains("too large"), "{err}");
    assert!(!err.contains(s(&tmpdir)), "{err}");
    assert_eq!(std::fs::read_dir(&tmpdir).unwrap().count(), 0);
    assert!(a.exists());
}
