//! Mutation tests of `.npy` reading: valid files of several dtypes, shapes and versions are
//! mutated (bit flips, extreme bytes and length fields, inserted and deleted bytes, header
//! tokens, truncation at every offset), then parsed, opened, viewed, read by frames and read
//! whole. Every call returns `Ok` or a typed error: never a panic, never an allocation larger
//! than the input allows, never a hang (see `testkit::mutation`).
//!
//! A failing case prints its sample and mutations in Rust syntax; paste them into
//! `regressions` below.

use testkit::mutation;

#[global_allocator]
static ALLOC: mutation::CountingAlloc = mutation::CountingAlloc;

use std::io::Read;
use std::path::Path;

use mutation::{Mutation, Runner, Sample, apply, header, npy, npy_sample, show};
use npy_format::{
    Element, FrameSource, Header, Mode, NpyFile, ReadOptions, Version, header::MAGIC,
};

/// Reads, views and copies may take the input's size again (a copy of the data); the slack is
/// for fixed buffers (a 4 KiB `BufReader`, the first 4 KiB of a header, `read_array`'s first
/// 8 KiB chunk), about 17 KiB at most in these cases.
const FACTOR: usize = 2;
const SLACK: usize = 32 << 10;

/// A file with `header` and data bytes 0, 1, 2, ... (bools 0 and 1).
fn filled(header: &Header) -> Vec<u8> {
    let len = header.data_len().unwrap() as usize;
    let modulus = if header.dtype.descr().contains("b1") {
        2
    } else {
        251
    };
    let data: Vec<u8> = (0..len).map(|i| (i % modulus) as u8).collect();
    npy(header, &data)
}

/// Valid files: every version, both orders and byte orders, structured, 0-d, empty, object.
fn samples() -> Vec<Sample> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for (descr, fortran, shape) in [
        ("<f8", false, &[3, 2][..]),
        (">i4", true, &[2, 3]),
        ("[('a', '>i4', (2,)), (('t', 'b'), '|S3')]", true, &[2, 2]),
        ("<M8[ns]", false, &[]),
        ("[('ж', '<u2')]", false, &[1]),
        ("|b1", false, &[5]),
        ("<u2", false, &[0, 4]),
        ("|S5", false, &[3]),
        ("<u1", false, &[1000]),
        ("<i8", false, &[2, 1, 2]),
    ] {
        let h = header(descr, fortran, shape);
        files.push((format!("{descr} {shape:?} fortran={fortran}"), filled(&h)));
    }
    // Version 2.0 (u32 length field), as numpy writes for long headers.
    let h = header("<f4", false, &[4]);
    let mut v2 = h.to_bytes_in_place(Version::V2, 128).unwrap();
    v2.extend_from_slice(npy_format::as_bytes(&[1.0f32, 2.0, 3.0, 4.0]));
    files.push(("<f4 [4] version 2.0".into(), v2));
    // A header from numpy < 1.14: 16-byte aligned, no growth room.
    let h = header("<i2", false, &[3]);
    let mut old = h.to_bytes_in_place(Version::V1, 80).unwrap();
    old.extend_from_slice(npy_format::as_bytes(&[1i16, 2, 3]));
    files.push(("<i2 [3] 80-byte header".into(), old));
    // Object arrays: a header, then a pickle that is never read.
    let mut object = header("|O", false, &[2]).to_bytes().unwrap();
    object.extend_from_slice(b"\x80\x04\x95pickle bytes");
    files.push(("|O [2]".into(), object));

    files
        .into_iter()
        .map(|(name, bytes)| npy_sample(name, bytes))
        .collect()
}

/// A reader that returns one byte per call: header parsing must not depend on read sizes.
struct OneByte<'a>(&'a [u8]);

impl Read for OneByte<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((&b, rest)), Some(slot)) => {
                *slot = b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

/// A whole read of `T` from memory, and from the file if `path` is given.
fn read_as<T: Element>(bytes: &[u8], path: Option<&Path>) {
    if let Ok(array) = npy_format::read_array::<T, _>(bytes) {
        let count = array.header.element_count().unwrap();
        assert_eq!(array.data.len() as u64, count, "read_array");
    }
    if let Some(path) = path
        && let Ok(array) = npy_format::read_file::<T>(path)
    {
        let count = array.header.element_count().unwrap();
        assert_eq!(array.data.len() as u64, count, "read_file");
    }
}

fn view_as<T: Element>(file: &NpyFile) {
    let count = file.header().element_count().unwrap();
    if let Ok(view) = file.view::<T>() {
        assert_eq!(view.as_slice().len() as u64, count, "view");
        let last: Vec<u64> = view.shape().iter().map(|d| d.saturating_sub(1)).collect();
        let _ = view.get(&last);
        let _ = view.get(&vec![u64::MAX; last.len()]);
        let _ = view.strides();
    }
    if let Ok(v) = file.to_vec::<T>() {
        assert_eq!(v.len() as u64, count, "to_vec");
    }
}

/// Everything a reader can do with the bytes `bytes`, written to `path`.
fn exercise(bytes: &[u8], path: &Path) {
    let parsed = Header::from_bytes(bytes);
    let one_byte = Header::read_from(&mut OneByte(bytes), ReadOptions::default());
    assert_eq!(
        parsed.as_ref().ok(),
        one_byte.as_ref().ok(),
        "the header read depends on read sizes"
    );
    let _ = Header::read_from(
        &mut &bytes[..],
        ReadOptions::default().max_header_size(1 << 20),
    );
    if let Ok(p) = &parsed {
        // What a parsed header says is consistent and prints back.
        let _ = p.header.dtype.descr();
        let _ = p.header.frame_shape();
        let _ = p.header.strides();
        let _ = p.header.frame_len();
        let _ = p.header.to_bytes();
        assert!(p.data_offset as usize <= bytes.len());
    }

    mutation::overwrite(path, bytes);
    read_as::<u8>(bytes, Some(path));
    read_as::<f64>(bytes, Some(path));
    read_as::<i32>(bytes, None);
    read_as::<bool>(bytes, None);
    read_as::<[u8; 3]>(bytes, None);

    for mode in [Mode::ReadOnly, Mode::CopyOnWrite] {
        let Ok(mut file) = NpyFile::options().mode(mode).open(path) else {
            continue;
        };
        let header = file.header().clone();
        assert_eq!(
            Some(&header),
            parsed.as_ref().ok().map(|p| &p.header),
            "the file opened with a header that parsing the bytes did not give"
        );
        let data_len = header.data_len().unwrap();
        if let Ok(data) = file.data() {
            assert_eq!(data.len() as u64, data_len);
        }
        let _ = file.trailing_len();
        view_as::<u8>(&file);
        view_as::<f64>(&file);
        view_as::<i32>(&file);
        view_as::<u16>(&file);
        view_as::<bool>(&file);
        view_as::<[u8; 5]>(&file);
        let n = file.frame_count();
        let frame_len = file.frame_len();
        for (a, b) in [
            (0, 1),
            (n.saturating_sub(1), n),
            (0, n),
            (n, n + 1),
            (n / 2, n),
        ] {
            if let Ok(frames) = file.frames(a, b) {
                assert_eq!(frames.len() as u64, (b - a) * frame_len, "frames({a}, {b})");
            }
            // A copy: refused before allocating unless the file holds the frames.
            if let Ok(frames) = file.read_frames(a, b) {
                assert_eq!(frames.len() as u64, (b - a) * frame_len);
            }
        }
        let _ = file.frames(u64::MAX, u64::MAX);
        let _ = file.read_frames(1, 0);
        let mut small = [0u8; 16];
        let _ = file.read_frames_into(n.saturating_sub(1), &mut small);
        if mode == Mode::CopyOnWrite {
            if let Ok(data) = file.data_mut()
                && let Some(first) = data.first_mut()
            {
                *first ^= 1;
            }
            let _ = file.view_mut::<u8>().map(|mut v| v.as_mut_slice().len());
            let _ = file
                .view_mut::<f64>()
                .map(|mut v| v.get_mut(&[0]).is_some());
            let _ = file.flush();
        }
    }
}

fn run_all(runner: &mut Runner, sample: &Sample, edits: &[Vec<Mutation>], path: &Path) {
    for mutations in edits {
        let bytes = apply(&sample.bytes, mutations);
        let what = format!("sample {:?}, mutations {}", sample.name, show(mutations));
        runner.case(&what, bytes.len(), || exercise(&bytes, path));
    }
}

#[test]
fn mutated_npy_files_are_errors_never_panics() {
    let mut runner = Runner::new("npy-format mutations", FACTOR, SLACK);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.npy");
    for sample in samples() {
        // The unmutated file reads back.
        runner.case(&format!("sample {:?} as written", sample.name), 0, || {
            assert!(Header::from_bytes(&sample.bytes).is_ok())
        });
        // Every header byte flipped and overwritten, truncations, length fields, random edits.
        let edits = sample.all_edits(0x006e_7079, 200, 300);
        run_all(&mut runner, &sample, &edits, &path);
    }
    assert!(runner.cases() > 3000, "{} cases", runner.cases());
    runner.finish();
}

/// Cases that failed once, named after what they broke.
#[test]
fn regressions() {
    let mut runner = Runner::new("npy-format regressions", FACTOR, SLACK);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.npy");
    let samples = samples();
    let sample = |prefix: &str| {
        samples
            .iter()
            .find(|s| s.name.starts_with(prefix))
            .unwrap()
            .clone()
    };
    use mutation::*;
    let cases: Vec<(&str, Sample, Vec<Mutation>)> = vec![
        // Found by this test: a version 3.0 length field claiming 262260 bytes of text in a
        // 119-byte file made `Header::read_from` reserve all of them (up to 4 × the header
        // limit) before reading any.
        (
            "header length claimed, not present",
            sample("[('ж'"),
            vec![Truncate { len: 119 }, Flip { at: 10, bit: 2 }],
        ),
        // Found by this test: `read_array` allocated a 4 MiB chunk (the header claimed
        // 655363 × 2 doubles) before reading any data from a 181-byte input.
        (
            "read_array chunk sized by the claim",
            sample("<f8"),
            vec![Insert {
                at: 61,
                bytes: b"65536".to_vec(),
            }],
        ),
        // Found by this test: `FrameSource::read_frames` of an object array allocated the
        // frames the header claims (8388602 × 8 bytes here; 2^35 in the case found) before
        // `read_frames_into` refused the object dtype.
        (
            "read_frames of an object array",
            sample("|O"),
            vec![Insert {
                at: sample("|O").spots[0].0,
                bytes: b"838860".to_vec(),
            }],
        ),
        (
            "v2 length field at u32::MAX",
            sample("<f4 [4] version 2.0"),
            vec![Write {
                at: 8,
                bytes: vec![0xff; 4],
            }],
        ),
        (
            "v1 header cut in the dict",
            sample("<f8"),
            vec![Truncate { len: 40 }],
        ),
    ];
    for (name, sample, mutations) in cases {
        let bytes = apply(&sample.bytes, &mutations);
        runner.case(name, bytes.len(), || exercise(&bytes, &path));
    }
    // The magic alone, and the magic with each version and nothing else.
    for version in [1u8, 2, 3] {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[version, 0]);
        runner.case(
            &format!("preamble of version {version}"),
            bytes.len(),
            || exercise(&bytes, &path),
        );
    }
    runner.finish();
}
