//! The `npy` CLI on URLs: `info`, `rows` and `append`'s inputs read objects of the S3 server
//! `cargo xtask test` starts (moto) exactly as they read the same local files.

use std::io::Write;
use std::path::Path;

use npy_format::source::RemoteWriter;

use crate::cli_info_rows::npy_ok;
use crate::{npy, path_str};

/// The URL of `key` in the test bucket, after uploading `bytes` there.
fn upload(key: &str, bytes: &[u8]) -> String {
    let bucket = std::env::var("ARRAY_FILES_TEST_BUCKET").expect(
        "ARRAY_FILES_TEST_BUCKET and AWS_ENDPOINT_URL: run `cargo xtask test`, which starts an S3 server",
    );
    let url = format!("s3://{bucket}/npy-cli/{key}");
    let mut w = RemoteWriter::create(&url).unwrap();
    w.write_all(bytes).unwrap();
    w.finish().unwrap();
    url
}

/// A Fortran-order u16 array of `frames` frames of 3x5, 9 MiB and more for `frames` >= 320k
/// (more than one of the CLI's 8 MiB chunks).
fn array_bytes(frames: u64) -> Vec<u8> {
    let data: Vec<u16> = (0..frames * 15).map(|i| (i * 7 % 65521) as u16).collect();
    let mut bytes = Vec::new();
    npy_format::write_array(&mut bytes, &data, &[3, 5, frames], true).unwrap();
    bytes.extend_from_slice(b"tail"); // trailing bytes, reported by info
    bytes
}

fn local(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path_str(&path).to_owned()
}

#[test]
#[ignore = "needs an S3 server: run `cargo xtask test`"]
fn info_and_rows_of_a_url_print_what_they_print_for_the_local_file() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = array_bytes(320_000);
    let url = upload("big.npy", &bytes);
    let path = local(dir.path(), "big.npy", &bytes);

    let mut remote: serde_json::Value =
        serde_json::from_slice(&npy_ok(&["info", &url, "--json"])).unwrap();
    let here: serde_json::Value =
        serde_json::from_slice(&npy_ok(&["info", &path, "--json"])).unwrap();
    assert_eq!(remote["path"], url.as_str());
    assert_eq!(remote["trailing_bytes"], 4);
    remote["path"] = here["path"].clone();
    assert_eq!(remote, here);

    let text = |args: &[&str]| String::from_utf8(npy_ok(args)).unwrap();
    assert_eq!(
        text(&["info", &url]).replace(&url, "X"),
        text(&["info", &path]).replace(&path, "X")
    );

    for range in [
        &["0", "1"][..],
        &["319990"],
        &["12345", "300000"],
        &["7", "7"],
    ] {
        let remote = npy_ok(&[&["rows", &url][..], range].concat());
        let here = npy_ok(&[&["rows", &path][..], range].concat());
        assert_eq!(remote.len(), here.len(), "rows {range:?}");
        assert!(remote == here, "rows {range:?} differ");
    }
}

#[test]
#[ignore = "needs an S3 server: run `cargo xtask test`"]
fn append_takes_urls_as_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let first = array_bytes(10);
    let second = array_bytes(4);
    let url = upload("part.npy", &second);
    let out = dir.path().join("out.npy");
    let input = local(dir.path(), "first.npy", &first);
    npy_ok(&["append", path_str(&out), &input, &url, "--quiet"]);
    let got = npy_format::NpyFile::open(&out).unwrap();
    assert_eq!(got.header().shape, vec![3, 5, 14]);
    let data = got.view::<u16>().unwrap().as_slice().to_vec();
    let expected: Vec<u16> = (0..150)
        .map(|i| (i * 7 % 65521) as u16)
        .chain((0..60).map(|i| (i * 7 % 65521) as u16))
        .collect();
    assert_eq!(data, expected);
}

#[test]
#[ignore = "needs an S3 server: run `cargo xtask test`"]
fn a_missing_or_broken_object_is_a_one_line_error_naming_the_url() {
    let bucket = std::env::var("ARRAY_FILES_TEST_BUCKET").unwrap();
    let missing = format!("s3://{bucket}/npy-cli/missing.npy");
    let bytes = array_bytes(100);
    let truncated = upload("truncated.npy", &bytes[..bytes.len() - 100]);
    let not_npy = upload("not.npy", b"hello, world");
    for (url, words) in [
        (&missing, "no such object"),
        (&truncated, "bytes"),
        (&not_npy, "magic"),
    ] {
        for args in [&["info", url.as_str()][..], &["rows", url.as_str(), "0"]] {
            let out = npy(args);
            assert_eq!(out.status.code(), Some(1), "npy {args:?}");
            let err = String::from_utf8(out.stderr).unwrap();
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
            assert!(err.contains(url.as_str()), "{err}");
            assert!(err.to_lowercase().contains(words), "npy {args:?}: {err}");
        }
    }
}
