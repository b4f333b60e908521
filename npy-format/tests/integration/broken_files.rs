//! A corpus of broken NPY files: each gives the typed error that names its problem, never a
//! panic; and every truncation or flipped byte of valid files is handled without panicking.

use npy_format::{
    DType, Header, HeaderError, NpyFile, ReadErrorKind, ReadOptions, ResultKind, ViewError,
};

/// A v1.0 file whose header text is `text` (padded to 64 bytes), followed by `data`.
fn npy_with_text(text: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let total = (10 + text.len() + 1).next_multiple_of(64);
    let padded = format!("{text:<width$}\n", width = total - 11);
    bytes.extend_from_slice(&(padded.len() as u16).to_le_bytes());
    bytes.extend_from_slice(padded.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// Recognises the error a case expects.
type Expect = fn(&HeaderError) -> bool;

fn parse(bytes: &[u8]) -> HeaderError {
    match Header::from_bytes(bytes) {
        Ok(parsed) => panic!("accepted: {:?}", parsed.header),
        Err(e) => {
            // Every message names an offset or the part that is wrong.
            let text = e.to_string();
            assert!(!text.is_empty());
            e
        }
    }
}

#[test]
fn empty_and_short_files_are_truncated_magic() {
    assert!(matches!(
        parse(b""),
        HeaderError::Truncated {
            what: "magic string",
            ..
        }
    ));
    assert!(matches!(
        parse(b"\x93NUM"),
        HeaderError::Truncated {
            what: "magic string",
            ..
        }
    ));
    assert!(matches!(
        parse(b"\x93NUMPY\x01"),
        HeaderError::Truncated {
            what: "format version",
            ..
        }
    ));
    assert!(matches!(
        parse(b"\x93NUMPY\x01\x00\x10"),
        HeaderError::Truncated {
            what: "header length",
            ..
        }
    ));
    let e = parse(b"\x93NUMPY\x01\x00\x40\x00{'descr'");
    assert!(
        matches!(
            e,
            HeaderError::Truncated {
                what: "header text",
                offset: 10,
                needed: 64,
                available: 8
            }
        ),
        "{e}"
    );
}

#[test]
fn bad_magic_and_versions() {
    assert!(matches!(
        parse(b"PK\x03\x04 this is a zip"),
        HeaderError::BadMagic { .. }
    ));
    assert!(matches!(
        parse(b"\x93NUMPX\x01\x00"),
        HeaderError::BadMagic { .. }
    ));
    assert!(matches!(
        parse(b"\x93NUMPY\x04\x00\x00\x00"),
        HeaderError::UnsupportedVersion { major: 4, minor: 0 }
    ));
    assert!(matches!(
        parse(b"\x93NUMPY\x01\x01\x00\x00"),
        HeaderError::UnsupportedVersion { major: 1, minor: 1 }
    ));
}

#[test]
fn malformed_dicts() {
    let cases: &[(&str, Expect)] = &[
        ("[1, 2]", |e| {
            matches!(e, HeaderError::NotADict { found: "list", .. })
        }),
        ("{'descr': '<f8', 'fortran_order': False}", |e| {
            matches!(e, HeaderError::MissingKey { key: "shape", .. })
        }),
        ("{'descr': '<f8', 'shape': ()}", |e| {
            matches!(
                e,
                HeaderError::MissingKey {
                    key: "fortran_order",
                    ..
                }
            )
        }),
        ("{'fortran_order': False, 'shape': ()}", |e| {
            matches!(e, HeaderError::MissingKey { key: "descr", .. })
        }),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (), 'extra': 1}",
            |e| matches!(e, HeaderError::ExtraKey { key, .. } if key == "'extra'"),
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 3)}",
            |e| matches!(e, HeaderError::BadShape { .. }),
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551616,)}",
            |e| matches!(e, HeaderError::BadShape { .. }),
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': [3]}",
            |e| matches!(e, HeaderError::BadShape { .. }),
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (True,)}",
            |e| matches!(e, HeaderError::BadShape { .. }),
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 1099511627776)}",
            |e| matches!(e, HeaderError::Overflow { bits: 64, .. }),
        ),
        ("{'descr': '<f8', 'fortran_order': 1, 'shape': ()}", |e| {
            matches!(e, HeaderError::BadFortranOrder { found: "int", .. })
        }),
        (
            "{'descr': '<q9', 'fortran_order': False, 'shape': ()}",
            |e| matches!(e, HeaderError::BadDescr { .. }),
        ),
        ("{'descr': 5, 'fortran_order': False, 'shape': ()}", |e| {
            matches!(e, HeaderError::BadDescr { .. })
        }),
        (
            "{'descr': [('a',)], 'fortran_order': False, 'shape': ()}",
            |e| matches!(e, HeaderError::BadDescr { .. }),
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)",
            |e| matches!(e, HeaderError::Syntax { .. }),
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3.5,)}",
            |e| matches!(e, HeaderError::Syntax { .. }),
        ),
        (
            "{'descr': __import__('os'), 'fortran_order': False, 'shape': ()}",
            |e| matches!(e, HeaderError::Syntax { .. }),
        ),
    ];
    for (text, expected) in cases {
        let e = parse(&npy_with_text(text, &[]));
        assert!(expected(&e), "{text}: got {e:?}");
    }
}

#[test]
fn syntax_errors_point_into_the_header() {
    let e = parse(&npy_with_text(
        "{'descr': '<f8', 'fortran_order': Flase, 'shape': ()}",
        &[],
    ));
    let HeaderError::Syntax { offset, message } = e else {
        panic!("{e:?}")
    };
    assert_eq!(offset, 10 + 34, "offset of `Flase` in the file");
    assert!(message.contains("Flase"), "{message}");
}

#[test]
fn the_long_suffix_is_only_for_versions_one_and_two() {
    let text = "{'descr': '<f8', 'fortran_order': False, 'shape': (2L,)}";
    assert!(Header::from_bytes(&npy_with_text(text, &[])).is_ok());
    let mut v3 = npy_with_text(text, &[]);
    // Rewrite as version 3.0 (u32 length, 2 more bytes): the L suffix is a syntax error there.
    let body = v3.split_off(10);
    let mut bytes = b"\x93NUMPY\x03\x00".to_vec();
    bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&body);
    assert!(matches!(parse(&bytes), HeaderError::Syntax { .. }));
}

#[test]
fn header_size_limit_is_numpys_and_configurable() {
    let names: Vec<String> = (0..1000).map(|i| format!("('f{i}', '<i4')")).collect();
    let text = format!(
        "{{'descr': [{}], 'fortran_order': False, 'shape': ()}}",
        names.join(", ")
    );
    assert!(text.len() > 10_000);
    let bytes = npy_with_text(&text, &[]);
    assert!(matches!(
        parse(&bytes),
        HeaderError::TooLarge { max: 10_000, .. }
    ));
    let opts = ReadOptions::default().max_header_size(100_000);
    assert!(Header::read_from(&mut bytes.as_slice(), opts).is_ok());
}

#[test]
fn version_three_must_be_utf8() {
    let mut bytes = b"\x93NUMPY\x03\x00".to_vec();
    let text = b"{'descr': [('\xff', '<f4')], 'fortran_order': False, 'shape': ()}\n";
    bytes.extend_from_slice(&(text.len() as u32).to_le_bytes());
    bytes.extend_from_slice(text);
    assert!(matches!(
        parse(&bytes),
        HeaderError::Encoding { offset: 25 }
    ));
}

#[test]
fn files_shorter_than_their_data_and_object_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.npy");
    let header = Header::new(DType::parse("<f8").unwrap(), false, vec![4]);
    let mut bytes = header.to_bytes().unwrap();
    bytes.extend_from_slice(&[0; 31]);
    std::fs::write(&path, &bytes).unwrap();
    let e = NpyFile::open(&path).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ReadErrorKind::Truncated {
                expected: 32,
                available: 31,
                data_offset: 128,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("short.npy"), "{e}");
    let e = npy_format::read_file::<f64>(&path).unwrap_err();
    assert!(matches!(e.kind(), ReadErrorKind::Truncated { .. }), "{e}");

    let path = dir.path().join("object.npy");
    let header = Header::new(DType::parse("|O").unwrap(), false, vec![2]);
    let mut bytes = header.to_bytes().unwrap();
    bytes.extend_from_slice(b"\x80\x04pickle bytes of some length");
    std::fs::write(&path, &bytes).unwrap();
    let file = NpyFile::open(&path).expect("object headers open for inspection");
    assert!(matches!(
        file.data().err_kind(),
        Some(ReadErrorKind::View {
            source: ViewError::Object,
            ..
        })
    ));
    assert!(matches!(
        file.view::<u64>().err_kind(),
        Some(ReadErrorKind::View {
            source: ViewError::Object,
            ..
        })
    ));
    assert!(matches!(
        npy_format::read_file::<u64>(&path).err_kind(),
        Some(ReadErrorKind::View {
            source: ViewError::Object,
            ..
        })
    ));
}

#[test]
fn frames_out_of_range_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.npy");
    npy_format::write_file(&path, &[0u32; 12], &[4, 3]).unwrap();
    let file = NpyFile::open(&path).unwrap();
    assert_eq!(file.frames(4, 4).unwrap().len(), 0);
    assert!(matches!(
        file.frames(3, 5).err_kind(),
        Some(ReadErrorKind::Frames { .. })
    ));
    assert!(matches!(
        file.frames(3, 2).err_kind(),
        Some(ReadErrorKind::Frames { .. })
    ));
    assert!(matches!(
        file.frames(u64::MAX, u64::MAX).err_kind(),
        Some(ReadErrorKind::Frames { .. })
    ));
}

/// Valid files of several kinds, to mutilate.
fn valid_files() -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    for (descr, fortran, shape) in [
        ("<f8", false, vec![3, 2]),
        (
            "[('a', '>i4', (2,)), (('t', 'b'), '|S3')]",
            true,
            vec![2, 2],
        ),
        ("<M8[ns]", false, vec![]),
        ("[('ж', '<u2')]", false, vec![1]),
    ] {
        let header = Header::new(DType::parse(descr).unwrap(), fortran, shape);
        let mut bytes = header.to_bytes().unwrap();
        bytes.resize(bytes.len() + header.data_len().unwrap() as usize, 7);
        files.push(bytes);
    }
    files
}

#[test]
fn every_truncation_of_a_header_is_an_error() {
    for file in valid_files() {
        let data_offset = Header::from_bytes(&file).unwrap().data_offset as usize;
        for len in 0..data_offset {
            assert!(
                Header::from_bytes(&file[..len]).is_err(),
                "prefix of {len} bytes accepted"
            );
        }
    }
}

#[test]
fn flipped_bytes_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flipped.npy");
    for file in valid_files() {
        let data_offset = Header::from_bytes(&file).unwrap().data_offset as usize;
        for at in 0..data_offset {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut bytes = file.clone();
                bytes[at] ^= mask;
                // Whatever the outcome, it is a Result: parse, open, view, read.
                let _ = Header::from_bytes(&bytes);
                std::fs::write(&path, &bytes).unwrap();
                if let Ok(npy) = NpyFile::open(&path) {
                    let _ = npy.data();
                    let _ = npy.to_vec::<u8>();
                    let _ = npy.frames(0, 1);
                }
                let _ = npy_format::read_file::<f64>(&path);
            }
        }
    }
}
