//! The `npy info` and `npy rows` commands: their output against numpy's own reading of the same
//! files, and one-line errors with a non-zero exit on broken input.

use std::path::Path;

use serde_json::Value;
use testkit::oracle;

use crate::{npy, path_str};

/// Runs `npy`, asserts it succeeded, and returns its stdout.
pub(crate) fn npy_ok(args: &[&str]) -> Vec<u8> {
    let out = npy(args);
    assert!(
        out.status.success(),
        "npy {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn info_json(path: &Path) -> Value {
    let stdout = npy_ok(&[
        "info",
        path_str(path),
        "--json",
        "--max-header-size",
        "1000000",
    ]);
    let text = String::from_utf8(stdout).unwrap();
    assert_eq!(
        text.trim_end().lines().count(),
        1,
        "exactly one JSON object: {text}"
    );
    serde_json::from_str(&text).unwrap()
}

#[test]
fn info_json_describes_our_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npy");
    npy_format::write_array(
        std::fs::File::create(&path).unwrap(),
        &[0i16; 24],
        &[2, 3, 4],
        true,
    )
    .unwrap();
    let info = info_json(&path);
    assert_eq!(info["version"], serde_json::json!([1, 0]));
    assert_eq!(info["descr"], "<i2");
    assert_eq!(info["fortran_order"], true);
    assert_eq!(info["shape"], serde_json::json!([2, 3, 4]));
    assert_eq!(info["data_offset"], 128);
    assert_eq!(info["nbytes"], 48);
    assert_eq!(info["frames"], 4);

    let human = npy(&["info", path_str(&path)]);
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(text.contains("shape:         (2, 3, 4)"), "{text}");
    assert!(text.contains("Fortran"), "{text}");
}

#[test]
fn info_prints_a_one_dimensional_shape_as_python_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.npy");
    npy_format::write_file(&path, &[1u8, 2, 3, 4], &[4]).unwrap();
    let text = String::from_utf8(npy_ok(&["info", path_str(&path)])).unwrap();
    assert!(text.contains("shape:         (4,)\n"), "{text}");
}

/// `npy rows` to a terminal is refused (binary would garble it); `script` gives the command a
/// terminal as its stdout.
#[test]
fn rows_refuses_to_write_to_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.npy");
    npy_format::write_file(&path, &[7u8; 6], &[6]).unwrap();
    let bin = env!("CARGO_BIN_EXE_npy");
    let command = format!("{bin} rows {} 0", path.display());
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("`script` (util-linux) gives the command a terminal");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("refusing to write binary frames to a terminal"),
        "{text}"
    );
    assert!(
        !text.contains('\u{7}'),
        "no frame bytes reached the terminal: {text:?}"
    );
}

#[test]
fn rows_writes_exactly_the_frames() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.npy");
    let data: Vec<u32> = (0..30).collect();
    npy_format::write_file(&path, &data, &[10, 3]).unwrap();
    let out = npy(&["rows", path_str(&path), "2", "5"]);
    assert!(out.status.success());
    assert_eq!(out.stdout, npy_format::as_bytes(&data[6..15]));
    let rest = npy(&["rows", path_str(&path), "8"]);
    assert_eq!(rest.stdout, npy_format::as_bytes(&data[24..]));
    let empty = npy(&["rows", path_str(&path), "10", "10"]);
    assert!(empty.status.success() && empty.stdout.is_empty());
}

#[test]
fn broken_input_gives_one_line_and_a_failure_status() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.npy");
    npy_format::write_file(&good, &[1u8, 2, 3], &[3]).unwrap();
    let garbage = dir.path().join("garbage.npy");
    std::fs::write(&garbage, b"not an npy file at all").unwrap();
    let truncated = dir.path().join("truncated.npy");
    std::fs::write(&truncated, &std::fs::read(&good).unwrap()[..100]).unwrap();
    let short_data = dir.path().join("short.npy");
    std::fs::write(&short_data, &std::fs::read(&good).unwrap()[..129]).unwrap();
    let missing = dir.path().join("missing.npy");
    let empty = dir.path().join("empty.npy");
    std::fs::write(&empty, b"").unwrap();

    let cases: Vec<Vec<&str>> = vec![
        vec!["info", path_str(&garbage)],
        vec!["info", path_str(&truncated), "--json"],
        vec!["info", path_str(&missing)],
        vec!["info", path_str(&empty)],
        vec!["rows", path_str(&short_data), "0", "1"],
        vec!["rows", path_str(&good), "2", "4"],
        vec!["rows", path_str(&good), "3", "2"],
    ];
    for args in cases {
        let out = npy(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?} wrote to stdout");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("npy: error: "), "{args:?}: {err}");
    }
}

/// numpy-made arrays: `npy info --json` agrees with numpy's own header reader, and `npy rows`
/// gives the bytes of numpy's slice along the growth axis.
#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn info_and_rows_agree_with_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let mut numpy = oracle::shared();
    for expr in [
        "np.arange(60, dtype='<f8').reshape(10, 6)",
        "np.asfortranarray(np.arange(24, dtype='>i4').reshape(2, 3, 4))",
        "np.array(7, dtype='<u2')",
        "np.zeros(5, dtype=[(('T', 'a'), '<i4', (2,)), ('b', [('c', '|S2')])])",
        "np.zeros(3, dtype=[('ж', '<f4')])",
        "np.zeros(2, dtype=[('f%d' % i, '<i4') for i in range(6000)])",
        "np.arange(4).astype('M8[ms]')",
    ] {
        let path = dir.path().join("n.npy");
        numpy.exec(&format!(
            "import warnings\nwarnings.simplefilter('ignore')\nnp.save({:?}, {expr})",
            path_str(&path)
        ));
        let theirs = numpy.header(&path);
        let ours = info_json(&path);
        for key in ["version", "descr", "fortran_order", "shape", "data_offset"] {
            assert_eq!(ours[key], theirs[key], "{expr}: {key}");
        }
        let frames = ours["frames"].as_u64().unwrap();
        for (start, end) in [(0, frames), (frames / 2, frames), (0, 1.min(frames))] {
            let (start_arg, end_arg) = (start.to_string(), end.to_string());
            let stdout = npy_ok(&[
                "rows",
                path_str(&path),
                &start_arg,
                &end_arg,
                "--max-header-size",
                "1000000",
            ]);
            let expected = numpy.exec(&format!(
                "a = np.load({:?}, max_header_size=10**6)\n\
                 s = a if a.ndim == 0 else (a[..., {start}:{end}] if np.isfortran(a) else a[{start}:{end}])\n\
                 result = list(s.tobytes(order='F' if np.isfortran(a) else 'C'))",
                path_str(&path)
            ));
            let expected: Vec<u8> = expected
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_u64().unwrap() as u8)
                .collect();
            assert_eq!(stdout, expected, "{expr}: rows {start}..{end}");
        }
    }
}

/// A file truncated by another program while `npy rows` reads it is an error, never a SIGBUS:
/// the bytes are read with positional reads, not through the map.
#[cfg(unix)]
#[test]
fn rows_of_a_file_truncated_while_read_is_an_error_not_a_signal() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.npy");
    let frames = 64u64 << 10; // 64 MiB of 1 KiB frames
    let header = npy_format::Header::new(
        npy_format::DType::parse("|u1").unwrap(),
        false,
        vec![frames, 1024],
    );
    let mut file = std::fs::File::create(&path).unwrap();
    std::io::Write::write_all(&mut file, &header.to_bytes().unwrap()).unwrap();
    file.set_len(128 + frames * 1024).unwrap();
    drop(file);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_npy"))
        .args(["rows", path.to_str().unwrap(), "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = vec![0u8; 1 << 20];
    stdout.read_exact(&mut first).unwrap();
    // The child is blocked writing its first chunk; its later reads find the file short.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(4096)
        .unwrap();
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), None, "killed by a signal: {err}");
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("shrank while it was read"), "{err}");
}
