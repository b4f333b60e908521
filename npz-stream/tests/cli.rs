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
        ok(&["test", s(&out)]);

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
