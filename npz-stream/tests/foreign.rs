//! Archives other tools write: members that are not arrays (text, JSON, directories), members
//! compressed with methods this crate does not decode, headers over the limit, and member names
//! whose keys collide. Every member is described on its own ([`NpzReader::list`]); one odd
//! member never makes the archive fail; keys resolve exactly as numpy's `NpzFile` resolves them.

use std::path::Path;

use npy_format::{DType, Header};
use npz_stream::{Content, Method, NpzReader, NpzWriter, ReadErrorKind, ReaderOptions};
use proptest::prelude::*;

/// A complete `.npy` file of `values` (little-endian u16).
fn npy(values: &[u16]) -> Vec<u8> {
    let header = Header::new(
        DType::parse("<u2").unwrap(),
        false,
        vec![values.len() as u64],
    );
    let mut out = Vec::new();
    npy_format::write_raw(&mut out, &header, npy_format::as_bytes(values)).unwrap();
    out
}

/// A `.npy` file whose header text is `extra` spaces longer than needed (version 2.0).
fn npy_with_long_header(extra: usize) -> Vec<u8> {
    let mut text = b"{'descr': '<u2', 'fortran_order': False, 'shape': (1,), }".to_vec();
    text.resize(text.len() + extra, b' ');
    while !(12 + text.len() + 1).is_multiple_of(64) {
        text.push(b' ');
    }
    text.push(b'\n');
    let mut out = b"\x93NUMPY\x02\x00".to_vec();
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(&7u16.to_le_bytes());
    out
}

/// Rewrites the compression method of member `name` (local header and directory) to `method`:
/// a bzip2 or lzma member as other writers make them, without an encoder for either.
fn set_method(path: &Path, name: &str, method: u16) {
    let mut bytes = std::fs::read(path).unwrap();
    let name = name.as_bytes();
    let mut patched = 0;
    for at in 0..bytes.len().saturating_sub(46 + name.len()) {
        let (sig, name_at, method_at) = match &bytes[at..at + 4] {
            b"PK\x03\x04" => (true, at + 30, at + 8),
            b"PK\x01\x02" => (true, at + 46, at + 10),
            _ => (false, 0, 0),
        };
        let len_at = if bytes[at + 3] == 4 { at + 26 } else { at + 28 };
        let name_len = u16::from_le_bytes([bytes[len_at], bytes[len_at + 1]]) as usize;
        if sig && name_len == name.len() && &bytes[name_at..name_at + name.len()] == name {
            bytes[method_at..method_at + 2].copy_from_slice(&method.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "local header and directory entry of {name:?}");
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn every_member_is_listed_with_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.npz");
    let mut npz = NpzWriter::create(&path).unwrap();
    npz.add_array("x", &[1u16, 2, 3], &[3]).unwrap();
    npz.add_file("readme.txt", b"measured on the 3rd\n")
        .unwrap();
    npz.add_file("meta.json", br#"{"run": 7}"#).unwrap();
    npz.add_file("raw.bin", &[0, 1, 2, 0xff]).unwrap();
    npz.add_file("empty", b"").unwrap();
    npz.add_file("sub/", b"").unwrap();
    npz.add_file("b.npy", &npy(&[4, 5])).unwrap();
    npz.add_file("l.npy", &npy(&[6])).unwrap();
    npz.add_file("long.npy", &npy_with_long_header(20_000))
        .unwrap();
    npz.add_array("y", &[9u16], &[1]).unwrap();
    npz.finish().unwrap();
    set_method(&path, "b.npy", 12);
    set_method(&path, "l.npy", 14);

    let reader = NpzReader::open(&path).unwrap();
    let entries = reader.list();
    let kinds: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.key.as_str(), e.content.kind()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("x", "array"),
            ("readme.txt", "bytes"),
            ("meta.json", "bytes"),
            ("raw.bin", "bytes"),
            ("empty", "bytes"),
            ("sub/", "directory"),
            ("b", "unsupported"),
            ("l", "unsupported"),
            ("long", "unreadable"),
            ("y", "array"),
        ]
    );
    let whats: Vec<&str> = entries
        .iter()
        .filter_map(|e| match e.content {
            Content::NotArray { what } => Some(what),
            _ => None,
        })
        .collect();
    assert_eq!(whats, ["text", "JSON text", "binary data", "empty"]);
    assert_eq!(entries[6].method, Method::Bzip2);
    assert_eq!(entries[7].method, Method::Lzma);
    let reason = entries[6].content.reason().unwrap();
    assert!(
        reason.contains("bzip2") && reason.contains("does not decode"),
        "{reason}"
    );
    // Reading the bzip2 member names the method; the others read on.
    let err = reader.read_bytes("b").unwrap_err();
    assert!(err.to_string().contains("bzip2"), "{err}");
    assert!(matches!(err.kind(), ReadErrorKind::Unsupported { .. }));
    let Content::Unreadable(e) = &entries[8].content else {
        unreachable!()
    };
    assert!(e.to_string().contains("exceeds the limit"), "{e}");
    assert_eq!(reader.read_array::<u16>("y").unwrap().data, [9]);
    assert_eq!(
        reader.read_bytes("readme.txt").unwrap(),
        b"measured on the 3rd\n"
    );

    // The header alone fails, and only under the limit it was read with.
    let trusting = ReaderOptions::new()
        .max_header_size(30_000)
        .open(&path)
        .unwrap();
    let long = trusting.describe("long").unwrap();
    assert_eq!(long.content.array().unwrap().header.shape, [1]);
    assert_eq!(trusting.read_array::<u16>("long").unwrap().data, [7]);
}

#[test]
fn keys_resolve_as_numpy_resolves_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.npz");
    let mut npz = NpzWriter::create(&path).unwrap();
    npz.add_file("a", &npy(&[1])).unwrap();
    npz.add_file("a.npy", &npy(&[2])).unwrap();
    npz.add_file("b.npy", &npy(&[3])).unwrap();
    npz.add_file("b.npy.npy", &npy(&[4])).unwrap();
    npz.add_file(".npy", &npy(&[5])).unwrap();
    npz.finish().unwrap();
    let reader = NpzReader::open(&path).unwrap();
    // NpzFile.files: one trailing .npy stripped.
    assert_eq!(reader.keys(), ["a", "a", "b", "b.npy", ""]);
    let value = |key: &str| reader.read_array::<u16>(key).unwrap().data[0];
    // The exact member name wins, then KEY.npy.
    assert_eq!(value("a"), 1);
    assert_eq!(value("a.npy"), 2);
    assert_eq!(value("b"), 3);
    assert_eq!(value("b.npy"), 3);
    assert_eq!(value("b.npy.npy"), 4);
    assert_eq!(value(""), 5);
    assert_eq!(value(".npy"), 5);
    assert_eq!(reader.describe("b.npy").unwrap().name, "b.npy");
}

/// numpy 2.4's `NpzFile.__getitem__`: `{key: name}` for every stripped key (the last member
/// wins), then `{name: name}` for every member name (overriding).
fn numpy_lookup<'a>(names: &'a [String], key: &str) -> Option<&'a str> {
    if let Some(n) = names.iter().find(|n| *n == key) {
        return Some(n);
    }
    names
        .iter()
        .rev()
        .find(|n| n.strip_suffix(".npy").unwrap_or(n) == key)
        .map(String::as_str)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Any set of names built from `x`, `.npy` and `y`: every key and every name resolves to the
    /// member numpy's lookup gives.
    #[test]
    fn lookups_match_numpy(parts in prop::collection::btree_set(
        prop::collection::vec(prop::sample::select(vec!["x", ".npy", "y"]), 1..4), 1..6)
    ) {
        let names: Vec<String> = parts.into_iter().map(|p| p.concat()).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.npz");
        let mut npz = NpzWriter::create(&path).unwrap();
        for (i, name) in names.iter().enumerate() {
            npz.add_file(name, &npy(&[i as u16])).unwrap();
        }
        npz.finish().unwrap();
        let reader = NpzReader::open(&path).unwrap();
        let keys: Vec<String> = names
            .iter()
            .map(|n| n.strip_suffix(".npy").unwrap_or(n).to_owned())
            .collect();
        prop_assert_eq!(reader.keys(), keys.clone());
        for probe in keys.iter().chain(&names) {
            let ours = reader.describe(probe).ok().map(|e| e.name);
            let numpy = numpy_lookup(&names, probe).map(str::to_owned);
            prop_assert_eq!(ours, numpy, "key {:?} of {:?}", probe, names);
        }
    }
}
