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
        assert_eq!(json[2]["dtype"], "<f8");
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
