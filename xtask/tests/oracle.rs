//! Self-test of the numpy oracle (`xtask/python/oracle.py`) and its Rust client
//! (`testkit/src/oracle.rs`), checked against facts about numpy's NPY files.
//! Needs the venv: run with `cargo xtask test`.

use testkit::oracle;

use serde_json::json;
use std::path::Path;

/// The numpy version `xtask/python/requirements.txt` pins.
fn pinned_numpy() -> &'static str {
    include_str!("../python/requirements.txt")
        .lines()
        .find_map(|line| line.trim().strip_prefix("numpy=="))
        .expect("requirements.txt pins numpy==VERSION")
        .trim()
}

/// Writes 2x3 `<f8` values (0.5, 1.5, ...) as raw little-endian bytes; returns the bytes.
fn write_f8_data(path: &Path) -> Vec<u8> {
    let bytes: Vec<u8> = (0..6)
        .flat_map(|i| (f64::from(i) + 0.5).to_le_bytes())
        .collect();
    std::fs::write(path, &bytes).unwrap();
    bytes
}

#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn oracle_runs_the_pinned_numpy() {
    let mut oracle = oracle::shared();
    let version = oracle.exec("result = np.__version__");
    assert_eq!(version, json!(pinned_numpy()));
    // The helper and the JSON conversions of the exec result.
    let got = oracle.exec(
        "d = dtype_from_descr_text(\"[('a', '<i4'), ('b', '>f8', (2,))]\")\n\
         result = (d.itemsize, d.names, np.float32(1.5), b'\\x00\\xff', np.arange(3), float('nan'))",
    );
    assert_eq!(
        got,
        json!([20, ["a", "b"], 1.5, [0, 255], [0, 1, 2], "nan"])
    );
    // `result` is reset before each exec; globals persist.
    assert_eq!(oracle.exec("kept = 7"), json!(null));
    assert_eq!(oracle.exec("result = kept * 6"), json!(42));
}

#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn oracle_save_header_and_check_load() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.bin");
    let raw = write_f8_data(&data);
    let mut oracle = oracle::shared();

    for fortran in [false, true] {
        let npy = dir.path().join(format!("a-{fortran}.npy"));
        oracle.save(&npy, "'<f8'", &[2, 3], fortran, &data);
        // numpy facts: version 1.0, the header padded to 128 bytes, then the data.
        let header = oracle.header(&npy);
        assert_eq!(
            header,
            json!({
                "version": [1, 0],
                "descr": "<f8",
                "shape": [2, 3],
                "fortran_order": fortran,
                "data_offset": 128,
            })
        );
        let file = std::fs::read(&npy).unwrap();
        assert_eq!(file.len(), 128 + 48);
        assert!(file.starts_with(b"\x93NUMPY\x01\x00\x76\x00{'descr': '<f8', 'fortran_order': "));
        assert_eq!(file[127], b'\n');
        assert_eq!(&file[128..], &raw[..]);

        assert_eq!(
            oracle.check_load(&npy, "'<f8'", &[2, 3], fortran, &data),
            (true, "equal".to_owned())
        );
        // And it notices what differs.
        let (equal, reason) = oracle.check_load(&npy, "'<f8'", &[3, 2], fortran, &data);
        assert!(!equal && reason.contains("shape"), "{reason}");
        let (equal, reason) = oracle.check_load(&npy, "'<f4'", &[2, 3], fortran, &data);
        assert!(!equal && reason.contains("dtype"), "{reason}");
        let (equal, reason) = oracle.check_load(&npy, "'<f8'", &[2, 3], !fortran, &data);
        assert!(!equal && reason.contains("data differs"), "{reason}");
    }
}

#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn oracle_survives_bad_requests() {
    let mut oracle = oracle::shared();
    let error = oracle
        .try_request(json!({ "op": "no-such-op" }))
        .unwrap_err();
    assert!(error.starts_with("ValueError: unknown op"), "{error}");
    let error = oracle
        .try_request(json!({ "op": "exec", "code": "raise KeyError('x')" }))
        .unwrap_err();
    assert!(error.starts_with("KeyError: 'x'"), "{error}");
    let error = oracle
        .try_request(json!({ "op": "exec", "code": "print('to stderr'); import sys; sys.exit(3)" }))
        .unwrap_err();
    assert!(error.starts_with("SystemExit: 3"), "{error}");
    let error = oracle
        .try_request(json!({ "op": "header", "path": "/nonexistent/x.npy" }))
        .unwrap_err();
    assert!(error.starts_with("FileNotFoundError"), "{error}");
    assert_eq!(oracle.exec("result = 1 + 1"), json!(2));
}
