//! Interop with real numpy: archives we write load in numpy with equal values and pass
//! `zipfile.testzip`; archives numpy writes read equal here, frame by frame at random.
//!
//! Run with `cargo xtask test` (it provides the numpy venv); plain `cargo test` lists them as
//! ignored.

mod common;

use testkit::oracle;

use std::path::Path;

use common::bytes;

use npy_format::{DType, FrameSink, FrameSource, Header};
use npz_stream::{Compression, NpzReader, WriterOptions};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn py_path(path: &Path) -> String {
    format!("{:?}", path.to_str().unwrap())
}

/// numpy loads every member of `path` equal to `spec` (key → [descr text, shape, fortran,
/// hex data]) and `zipfile.testzip` passes. Panics with numpy's complaints otherwise.
fn numpy_agrees(path: &Path, spec: &Value) {
    let code = format!(
        r#"
spec = json.loads({spec:?})
problems = []
with np.load({path}) as z:
    if sorted(z.files) != sorted(spec):
        problems.append(f"files {{z.files}} != {{sorted(spec)}}")
    for k, (descr, shape, fortran, data) in spec.items():
        a = z[k]
        if a.dtype != dtype_from_descr_text(descr):
            problems.append(f"{{k}}: dtype {{a.dtype!r}} != {{descr}}")
        if list(a.shape) != shape:
            problems.append(f"{{k}}: shape {{a.shape}} != {{shape}}")
        order = 'F' if fortran else 'C'
        if a.ndim > 1 and fortran and not a.flags.f_contiguous:
            problems.append(f"{{k}}: not Fortran-contiguous")
        if a.tobytes(order=order).hex() != data:
            problems.append(f"{{k}}: data differs")
bad = zipfile.ZipFile({path}).testzip()
if bad is not None:
    problems.append(f"testzip: bad member {{bad}}")
result = problems
"#,
        spec = spec.to_string(),
        path = py_path(path),
    );
    let problems = oracle::shared().exec(&code);
    assert_eq!(
        problems,
        json!([]),
        "numpy disagrees about {}",
        path.display()
    );
}

/// The members of one archive: (key, header, data in storage order).
fn members() -> Vec<(String, Header, Vec<u8>)> {
    let cases: [(&str, &str, bool, &[u64]); 12] = [
        ("f8", "<f8", false, &[3, 4]),
        ("zero_d", "<i4", false, &[]),
        ("empty", "<u2", false, &[0, 5]),
        ("empty_frames", "<f4", false, &[4, 0]),
        ("big_endian", ">i4", false, &[6]),
        ("fortran", "<i2", true, &[3, 5]),
        ("fortran_be", ">f8", true, &[2, 3, 2]),
        ("bools", "|b1", false, &[7]),
        ("complex", "<c16", false, &[2, 2]),
        (
            "structured",
            "[('a', '<i4'), ('b', '>f8', (2,)), ('c', '|S3')]",
            false,
            &[3],
        ),
        ("dotted.name", "<u8", false, &[2]),
        ("ключ", "<M8[ns]", false, &[2]),
    ];
    cases
        .iter()
        .enumerate()
        .map(|(i, &(key, descr, fortran, shape))| {
            let header = Header::new(DType::parse(descr).unwrap(), fortran, shape.to_vec());
            let mut data = bytes(i as u64, header.data_len().unwrap() as usize);
            if descr == "|b1" {
                data.iter_mut().for_each(|b| *b &= 1);
            }
            (key.to_owned(), header, data)
        })
        .collect()
}

fn spec_of(members: &[(String, Header, Vec<u8>)]) -> Value {
    let mut spec = serde_json::Map::new();
    for (key, header, data) in members {
        spec.insert(
            key.clone(),
            json!([
                header.dtype.descr(),
                header.shape,
                header.fortran_order,
                hex(data)
            ]),
        );
    }
    Value::Object(spec)
}

#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn our_archives_load_in_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let members = members();
    let spec = spec_of(&members);
    let configs = [
        ("stored", WriterOptions::default()),
        ("unaligned", WriterOptions::default().align(false)),
        (
            "deflated",
            WriterOptions::default()
                .compression(Compression::deflate())
                .chunk_size(4096),
        ),
        (
            "level0",
            WriterOptions::default().compression(Compression::Deflate { level: 0 }),
        ),
        (
            "level9",
            WriterOptions::default()
                .compression(Compression::Deflate { level: 9 })
                .threads(1),
        ),
        (
            "foreignlike",
            WriterOptions::default()
                .compression(Compression::deflate())
                .index(false),
        ),
    ];
    for (name, options) in configs {
        for streamed in [false, true] {
            let path = dir.path().join(format!("{name}-{streamed}.npz"));
            let mut npz = options.clone().create(&path).unwrap();
            for (key, header, data) in &members {
                if streamed && header.growth_axis().is_some() {
                    let mut sink = npz.begin_member(key, header).unwrap();
                    let frame_len = header.frame_len().unwrap() as usize;
                    if frame_len == 0 {
                        sink.append_frames(&[], header.frame_count()).unwrap();
                    } else {
                        for frame in data.chunks(frame_len) {
                            sink.append_frames(frame, 1).unwrap();
                        }
                    }
                    assert_eq!(&sink.finish().unwrap(), header);
                } else {
                    npz.add_raw(key, header, data).unwrap();
                }
            }
            npz.finish().unwrap();
            numpy_agrees(&path, &spec);
        }
    }
    // An archive without members.
    let empty = dir.path().join("empty.npz");
    npz_stream::NpzWriter::create(&empty)
        .unwrap()
        .finish()
        .unwrap();
    numpy_agrees(&empty, &json!({}));
}

#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn big_streamed_members_appends_and_zipped_files_load_in_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.npz");
    let frame = 256usize;
    let data = bytes(99, frame * 3000);
    let mut npz = WriterOptions::default()
        .compression(Compression::deflate())
        .chunk_size(16 << 10)
        .create(&path)
        .unwrap();
    let header = Header::new(DType::parse("<u2").unwrap(), false, vec![0, 128]);
    let mut sink = npz.begin_member("adc", &header).unwrap();
    for part in data.chunks(frame * 7) {
        sink.append_frames(part, (part.len() / frame) as u64)
            .unwrap();
    }
    let header = sink.finish().unwrap();
    npz.finish().unwrap();
    let mut spec = serde_json::Map::new();
    spec.insert(
        "adc".into(),
        json!([header.dtype.descr(), header.shape, false, hex(&data)]),
    );
    numpy_agrees(&path, &Value::Object(spec.clone()));

    // Appended members, stored and deflated.
    let mut npz = WriterOptions::default().append(&path).unwrap();
    npz.add_array("stored", &[1.5f64, 2.5], &[2]).unwrap();
    npz.set_compression(Compression::deflate());
    npz.add_array("deflated", &[7i32; 3], &[3]).unwrap();
    npz.finish().unwrap();
    spec.insert(
        "stored".into(),
        json!([
            "'<f8'",
            [2],
            false,
            hex(&[1.5f64.to_le_bytes(), 2.5f64.to_le_bytes()].concat())
        ]),
    );
    spec.insert(
        "deflated".into(),
        json!(["'<i4'", [3], false, hex(&[7i32.to_le_bytes(); 3].concat())]),
    );
    numpy_agrees(&path, &Value::Object(spec));

    // Zipped .npy files written by numpy itself.
    let a = dir.path().join("a.npy");
    let code = format!(
        "np.save({}, np.arange(24, dtype='>i8').reshape(4, 6, order='F'))",
        py_path(&a)
    );
    oracle::shared().exec(&code);
    for compress in [false, true] {
        let out = dir.path().join(format!("zipped{compress}.npz"));
        let options = if compress {
            WriterOptions::default().compression(Compression::deflate())
        } else {
            WriterOptions::default()
        };
        npz_stream::zip_npy_files(&out, &[("a", &a)], options, false).unwrap();
        let code = format!(
            "z = np.load({out})\nresult = [bool(np.array_equal(z['a'], np.load({a}))), z['a'].dtype.str, zipfile.ZipFile({out}).testzip()]",
            out = py_path(&out),
            a = py_path(&a)
        );
        assert_eq!(oracle::shared().exec(&code), json!([true, ">i8", null]));
    }

    // Many members: zip64 end records.
    let many = dir.path().join("many.npz");
    let mut npz = WriterOptions::default().align(false).create(&many).unwrap();
    for i in 0..0x1_0002u32 {
        npz.add_array(&format!("m{i}"), &[i], &[1]).unwrap();
    }
    npz.finish().unwrap();
    let code = format!(
        "z = np.load({p})\nresult = [len(z.files), int(z['m65537'][0]), zipfile.ZipFile({p}).testzip()]",
        p = py_path(&many)
    );
    assert_eq!(oracle::shared().exec(&code), json!([0x1_0002, 65537, null]));
}

/// numpy's own archives: keys, headers and bytes as numpy writes them, and frames at random.
#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn numpy_archives_read_equal() {
    let dir = tempfile::tempdir().unwrap();
    for compressed in [false, true] {
        let path = dir.path().join(format!("np{compressed}.npz"));
        let save = if compressed {
            "savez_compressed"
        } else {
            "savez"
        };
        let code = format!(
            r#"
import warnings
warnings.simplefilter('ignore')
rng = np.random.default_rng(5)
arrays = {{
    'x': np.arange(12, dtype='<f4').reshape(3, 4),
    'dotted.key': np.array([1, 2, 3], dtype='>u2'),
    'ключ': np.array(3.5),
    'empty': np.zeros((0, 4), dtype='<i8'),
    'fortran': np.asfortranarray(rng.standard_normal((5, 3))),
    'rec': np.zeros(4, dtype=[('a', '<i4'), ('b', '|S2')]),
}}
positional = [np.arange(5, dtype='|u1'), np.ones((2, 2), dtype='|b1')]
np.{save}({path}, *positional, **arrays)
members = {{}}
for k, a in list(arrays.items()) + [(f'arr_{{i}}', a) for i, a in enumerate(positional)]:
    b = io.BytesIO()
    np.save(b, a)
    members[k] = b.getvalue().hex()
result = [list(np.load({path}).files), members]
"#,
            path = py_path(&path)
        );
        let answer = oracle::shared().exec(&code);
        let files: Vec<String> = serde_json::from_value(answer[0].clone()).unwrap();
        let reader = NpzReader::open(&path).unwrap();
        assert_eq!(reader.keys(), files);
        for (key, expected) in answer[1].as_object().unwrap() {
            let expected = unhex(expected.as_str().unwrap());
            assert_eq!(reader.read_bytes(key).unwrap(), expected, "{key}");
            let info = reader.info(key).unwrap();
            let parsed = Header::from_bytes(&expected).unwrap();
            assert_eq!(info.header, parsed.header, "{key}");
            let mut member = reader.member(key).unwrap();
            let all = member.read_frames(0, member.frame_count()).unwrap();
            assert_eq!(all, &expected[parsed.data_offset as usize..], "{key}");
        }
        assert!(
            reader
                .infos()
                .unwrap()
                .iter()
                .all(|i| i.seekable != compressed)
        );
    }
}

/// Random [a, b) frame reads on numpy's compressed member (foreign: no index, then a zran
/// index) and on ours (seekable), compared with numpy's slices.
#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn random_frame_reads_equal_numpy_slices() {
    let dir = tempfile::tempdir().unwrap();
    let theirs = dir.path().join("theirs.npz");
    let ours = dir.path().join("ours.npz");
    let code = format!(
        r#"
rng = np.random.default_rng(11)
adc = np.cumsum(rng.integers(-40, 41, size=(3000, 64)), axis=0).astype('<i2')
np.savez_compressed({theirs}, adc=adc, gain=np.ones(3))
result = adc.tobytes().hex()
"#,
        theirs = py_path(&theirs)
    );
    let data = unhex(oracle::shared().exec(&code).as_str().unwrap());
    let frame = 128usize;
    let n = 3000u64;

    let mut npz = WriterOptions::default()
        .compression(Compression::deflate())
        .chunk_size(32 << 10)
        .create(&ours)
        .unwrap();
    let header = Header::new(DType::parse("<i2").unwrap(), false, vec![0, 64]);
    let mut sink = npz.begin_member("adc", &header).unwrap();
    for part in data.chunks(frame * 100) {
        sink.append_frames(part, (part.len() / frame) as u64)
            .unwrap();
    }
    sink.finish().unwrap();
    npz.finish().unwrap();
    let code = format!(
        "z = np.load({ours})\nresult = [bool(np.array_equal(z['adc'], np.load({theirs})['adc'])), zipfile.ZipFile({ours}).testzip()]",
        ours = py_path(&ours),
        theirs = py_path(&theirs)
    );
    assert_eq!(oracle::shared().exec(&code), json!([true, null]));

    let foreign = NpzReader::open(&theirs).unwrap();
    let indexed = NpzReader::open(&theirs).unwrap();
    assert!(indexed.build_index("adc", Some(16 << 10)).unwrap() > 4);
    let seekable = NpzReader::open(&ours).unwrap();
    assert!(seekable.info("adc").unwrap().indexed);
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    let members = std::cell::RefCell::new([
        foreign.member("adc").unwrap(),
        indexed.member("adc").unwrap(),
        seekable.member("adc").unwrap(),
    ]);
    runner
        .run(&(0..=n, 0..=n), |(a, b)| {
            let (a, b) = (a.min(b), a.max(b));
            let expected = &data[a as usize * frame..b as usize * frame];
            for member in members.borrow_mut().iter_mut() {
                prop_assert_eq!(&member.read_frames(a, b).unwrap()[..], expected);
            }
            Ok(())
        })
        .unwrap();
}

/// Appended archives (the old end records left as dead bytes in the middle) load in numpy and
/// pass `testzip`; so does an archive whose append was interrupted, once `recover` has cut it.
#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn appended_and_recovered_archives_load_in_numpy() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.npz");
    let members = members();
    let (first, rest) = members.split_at(members.len() / 2);
    let mut npz = WriterOptions::default().create(&path).unwrap();
    for (key, header, data) in first {
        npz.add_raw(key, header, data).unwrap();
    }
    npz.finish().unwrap();
    for (i, (key, header, data)) in rest.iter().enumerate() {
        let compression = if i % 2 == 0 {
            Compression::deflate()
        } else {
            Compression::Stored
        };
        let mut npz = WriterOptions::default()
            .compression(compression)
            .append(&path)
            .unwrap();
        npz.add_raw(key, header, data).unwrap();
        npz.finish().unwrap();
    }
    numpy_agrees(&path, &spec_of(&members));
    // An interrupted append: more than numpy's 64 KiB search window of new bytes.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(b"PK\x03\x04").unwrap();
    f.write_all(&bytes(5, 200_000)).unwrap();
    drop(f);
    assert_eq!(NpzReader::open(&path).unwrap().keys().len(), members.len());
    assert_eq!(npz_stream::recover(&path).unwrap().removed, 200_004);
    numpy_agrees(&path, &spec_of(&members));
}

/// numpy's own `savez_compressed` archive indexed in place (`npz index`): numpy loads it
/// unchanged (same keys, equal values), `zipfile.testzip` and `unzip -t` (when installed) pass,
/// and frames read through the index equal numpy's slices. Then the archive is rewritten by
/// numpy's write path (`write_array` into `zipfile` entries that copy every extra field, ours
/// included, as a tool that keeps extra fields would): the stale index is ignored.
#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn numpy_archives_indexed_in_place_still_load_in_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("theirs.npz");
    let make = "rng = np.random.default_rng(16)\nadc = np.cumsum(rng.integers(-3, 4, size=(6000, 256)), axis=0).astype('<i2')\ngain = np.ones(3)";
    let code = format!(
        "{make}\nnp.savez_compressed({p}, adc=adc, gain=gain)\nresult = adc.tobytes().hex()",
        p = py_path(&path)
    );
    let data = unhex(oracle::shared().exec(&code).as_str().unwrap());
    let frame = 512usize;
    let report = npz_stream::IndexOptions::new()
        .span(64 << 10)
        .index(&path, &[])
        .unwrap();
    assert!(report.members[0].points > 20, "{report:?}");

    let code = format!(
        r#"{make}
with np.load({p}) as z:
    same = [list(z.files), bool(np.array_equal(z['adc'], adc)), bool(np.array_equal(z['gain'], gain))]
result = same + [zipfile.ZipFile({p}).testzip()]"#,
        p = py_path(&path)
    );
    assert_eq!(
        oracle::shared().exec(&code),
        json!([["adc", "gain"], true, true, null])
    );
    if let Ok(out) = std::process::Command::new("unzip")
        .arg("-t")
        .arg(&path)
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("No errors detected"),
            "{text}"
        );
    }

    let reader = NpzReader::open(&path).unwrap();
    assert!(reader.info("adc").unwrap().stored_index);
    let mut adc = reader.member("adc").unwrap();
    let mut x = 7u64;
    for _ in 0..30 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let a = (x >> 33) % 6000;
        let b = (a + 1 + (x >> 20) % 300).min(6000);
        let got = adc.read_frames(a, b).unwrap();
        assert_eq!(
            got,
            data[a as usize * frame..b as usize * frame],
            "[{a}, {b})"
        );
    }
    drop(adc);
    drop(reader);

    // numpy's writer over entries that keep the extra fields: new data, the old locator.
    let code = format!(
        r#"{make}
src = zipfile.ZipFile({p})
infos = src.infolist()
src.close()
arrays = {{'adc.npy': adc[::-1].copy(), 'gain.npy': gain}}
with zipfile.ZipFile({tmp}, 'w', zipfile.ZIP_DEFLATED, allowZip64=True) as out:
    for info in infos:
        zi = zipfile.ZipInfo(info.filename, info.date_time)
        zi.compress_type = zipfile.ZIP_DEFLATED
        zi.extra = info.extra
        with out.open(zi, 'w', force_zip64=True) as f:
            np.lib.format.write_array(f, arrays[info.filename])
os.replace({tmp}, {p})
result = [b'nx' in zipfile.ZipFile({p}).getinfo('adc.npy').extra, bool(np.array_equal(np.load({p})['adc'], adc[::-1]))]"#,
        p = py_path(&path),
        tmp = py_path(&dir.path().join("rewritten.npz"))
    );
    assert_eq!(oracle::shared().exec(&code), json!([true, true]));
    let reader = NpzReader::open(&path).unwrap();
    assert!(!reader.info("adc").unwrap().stored_index);
    let mut adc = reader.member("adc").unwrap();
    let reversed: Vec<u8> = data.chunks(frame).rev().flat_map(|f| f.to_vec()).collect();
    for (a, b) in [(5990, 5999), (100, 200), (0, 1)] {
        let got = adc.read_frames(a, b).unwrap();
        assert_eq!(got, reversed[a as usize * frame..b as usize * frame]);
    }
}
