//! Mutation tests of loading packs: a pack of arrays (both byte orders, 0-d), a dict of arrays
//! and JSON values (shared and separate) is saved in both forms; then one file of the directory
//! form (the manifest, an array, the values) or the single `.npz` (zip records, NPY headers,
//! the JSON members), or a plain numpy `.npz`, is mutated, and the pack is loaded (eagerly,
//! lazily, copy-on-write), every value read, and shown (`inspect` and the table, as
//! `varpack show` prints it). Every call returns `Ok` or a typed error: never a panic, never an
//! allocation larger than the input allows, never a hang (see
//! `testkit::mutation`).
//!
//! A failing case prints its sample and mutations in Rust syntax; paste them into
//! `regressions` below.

use testkit::mutation;

#[global_allocator]
static ALLOC: mutation::CountingAlloc = mutation::CountingAlloc;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

use mutation::{Runner, Sample, apply, show};
use npy_format::{DType, Header};
use varpack::{Array, LoadOptions, MapMode, Value, Varpack};

/// Loading maps arrays and parses JSON: a parsed manifest or value (a `serde_json::Value`
/// tree, names, entries) takes several times its text. The slack covers fixed buffers (4 KiB
/// header readers, paths, the table).
const FACTOR: usize = 16;
const SLACK: usize = 64 << 10;
/// A single-file pack (or a plain numpy `.npz`) may hold deflated members, which inflate up to
/// 1032 times (the npz reader's own limit) and are read into memory; the npz reader's fixed
/// buffers (64 KiB of input, a 64 KiB window, up to 256 KiB of scratch) need more slack.
const NPZ_FACTOR: usize = 1033;
const NPZ_SLACK: usize = 1 << 20;

/// The pack every sample is saved from.
fn pack() -> Varpack {
    let mut vp = Varpack::new();
    vp.insert_array("temperature", &[20.5f64, 21.0, 22.5, 23.0], &[2, 2])
        .unwrap();
    vp.insert_array("counts", &[1u8, 2, 3, 4, 5], &[5]).unwrap();
    vp.insert_array("scalar", &[7i64], &[]).unwrap();
    let be = Header::new(DType::parse(">i4").unwrap(), false, vec![3]);
    let array = Array::from_bytes(be, &[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]).unwrap();
    vp.insert("big_endian", array).unwrap();
    let mut cams = BTreeMap::new();
    cams.insert(
        "left".to_string(),
        Array::from_slice(&[0u8; 6], &[2, 3]).unwrap(),
    );
    cams.insert(
        "right".to_string(),
        Array::from_slice(&[1.5f32, 2.5], &[2]).unwrap(),
    );
    vp.insert_dict("cams", cams).unwrap();
    vp.insert_value("settings", &("fast", 3, [1.5, 2.5]))
        .unwrap();
    vp.insert_value("notes", &vec!["long"; 3]).unwrap();
    vp.set_separate("notes", true).unwrap();
    vp
}

/// Where tokens go in a JSON document: after each key of the manifest that holds a number,
/// a list or a name.
fn json_spots(bytes: &[u8]) -> Vec<usize> {
    let mut spots = Vec::new();
    for key in [
        &b"\"shape\": ["[..],
        b"\"bytes\": ",
        b"\"file\": \"",
        b"\"version\": ",
        b"\"kind\": \"",
        b"\"dtype\": ",
        b"\"fortran_order\": ",
        b"\"entries\": [",
        b"\"values\": [",
    ] {
        spots.extend(
            bytes
                .windows(key.len())
                .enumerate()
                .filter(|(_, w)| *w == key)
                .map(|(i, _)| i + key.len())
                .take(2),
        );
    }
    spots
}

/// A sample of one file: NPY headers and JSON documents are hot, with their own spots.
fn file_sample(name: &str, bytes: Vec<u8>) -> Sample {
    let mut sample = Sample::new(name, bytes.clone()).text();
    if bytes.starts_with(npy_format::header::MAGIC) {
        let data_offset = Header::from_bytes(&bytes).unwrap().data_offset as usize;
        sample = sample.hot(0..data_offset).field(8, 2);
        if let Some(at) = bytes.windows(10).position(|w| w == b"'shape': (") {
            sample = sample.spot_balanced(at + 10, data_offset - 1);
        }
    } else {
        sample = sample.hot(0..bytes.len());
        for at in json_spots(&bytes) {
            sample = sample.spot(at);
        }
    }
    sample
}

/// An archive's zip records, NPY headers and JSON members.
fn npz_sample(name: &str, bytes: Vec<u8>) -> Sample {
    let mut sample = Sample::new(name, bytes.clone()).text();
    let le16 = |at: usize| usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
    for at in bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"PK\x03\x04")
        .map(|(i, _)| i)
        .collect::<Vec<_>>()
    {
        let data = at + 30 + le16(at + 26) + le16(at + 28);
        sample = sample.hot(at..(data + 140).min(bytes.len()));
        for (off, width) in [(8, 2), (18, 4), (22, 4), (26, 2), (28, 2)] {
            sample = sample.field(at + off, width);
        }
        let member = &bytes[data..];
        if let Some(shape) = member.windows(10).position(|w| w == b"'shape': (")
            && let Some(newline) = member.iter().position(|&b| b == b'\n')
        {
            sample = sample.spot_balanced(data + shape + 10, data + newline);
        }
    }
    for at in json_spots(&bytes) {
        sample = sample.spot(at);
    }
    if let Some(cd) = bytes.windows(4).position(|w| w == b"PK\x01\x02") {
        sample = sample.hot(cd..bytes.len());
    }
    sample
}

/// How far cases got, to check that mutations reach past the first check.
static LOADED: AtomicUsize = AtomicUsize::new(0);
static VALUES: AtomicUsize = AtomicUsize::new(0);

fn check_array(a: &Array) {
    assert_eq!(Some(a.as_bytes().len() as u64), a.header().data_len());
    let _ = a.view::<f64>().map(|v| v.as_slice().iter().sum::<f64>());
    let _ = a.view::<u8>().map(|v| v.as_slice().len());
    let _ = a.to_vec::<i32>();
    let _ = (a.dtype().descr(), a.shape(), a.status(), a.map_mode());
}

/// Every value of a loaded pack, and the table `varpack show` prints.
fn use_pack(vp: &Varpack) {
    let _ = vp.to_string();
    let _ = serde_json::to_string(&vp.infos()).unwrap();
    for name in vp.names() {
        let _ = (vp.kind(name), vp.status(name), vp.contains(name));
        match vp.get(name) {
            Ok(Value::Array(a)) => check_array(a),
            Ok(Value::Dict(d)) => d
                .values()
                .filter_map(varpack::Item::as_array)
                .for_each(check_array),
            Ok(Value::Json(j)) => {
                let _ = j.to_string();
                let _ = vp.get_value::<(String, i32, [f64; 2])>(name);
            }
            Ok(_) | Err(_) => continue,
        }
        VALUES.fetch_add(1, Relaxed);
    }
}

/// Everything a reader of packs does with the pack at `path`.
fn exercise(path: &Path) {
    if let Ok(vp) = Varpack::load(path) {
        LOADED.fetch_add(1, Relaxed);
        use_pack(&vp);
    }
    if let Ok(mut vp) = LoadOptions::new().lazy(true).load(path) {
        use_pack(&vp);
        let _ = vp.load_all();
        let _ = vp.detach();
    }
    let cow = LoadOptions::new()
        .map_mode(MapMode::CopyOnWrite)
        .ignore(["notes"]);
    if let Ok(mut vp) = cow.load(path) {
        for name in vp.names().iter().map(|n| n.to_string()).collect::<Vec<_>>() {
            if let Ok(mut v) = vp.view_mut::<u8>(&name)
                && let Some(first) = v.as_mut_slice().first_mut()
            {
                *first ^= 1;
            }
        }
    }
    // `varpack show`: headers and manifests only.
    if let Ok(vp) = varpack::inspect(path) {
        let _ = vp.to_string();
        let _ = serde_json::to_string(&vp.infos()).unwrap();
    }
}

/// The directory form, one file of it mutated at a time.
struct DirPack {
    root: PathBuf,
    files: Vec<(String, Vec<u8>)>,
}

impl DirPack {
    fn total_len(&self) -> usize {
        self.files.iter().map(|(_, b)| b.len()).sum()
    }
}

fn dir_pack(dir: &Path) -> DirPack {
    let root = dir.join("pack");
    pack().save_as(&root).unwrap();
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    files.sort();
    DirPack { root, files }
}

#[test]
fn mutated_directory_packs_are_errors_never_panics() {
    // The runner first: it marks this thread as a test thread, whose allocations outside
    // cases (saving the pack) are not counted against another test's running case.
    let mut runner = Runner::new("varpack directory mutations", FACTOR, SLACK);
    let dir = tempfile::tempdir().unwrap();
    let pack = dir_pack(dir.path());
    runner.case("the directory as written", 0, || {
        Varpack::load(&pack.root).unwrap();
        varpack::inspect(&pack.root).unwrap();
    });
    for (name, original) in &pack.files {
        let sample = file_sample(name, original.clone());
        // Every header byte of two arrays; tokens at the manifest's values; cuts and random
        // edits of every file.
        let mut edits = match ["temperature.npy", "cams~left.npy"].contains(&name.as_str()) {
            true => sample.byte_edits(),
            false => Vec::new(),
        };
        edits.extend(sample.field_edits());
        edits.extend(sample.spot_edits());
        edits.extend(sample.truncations(40));
        let random = if name.ends_with(".json") { 600 } else { 150 };
        edits.extend(sample.random_edits(0x0076_6470, random));
        let path = pack.root.join(name);
        for mutations in &edits {
            let bytes = apply(original, mutations);
            mutation::overwrite(&path, &bytes);
            let what = format!("file {name:?}, mutations {}", show(mutations));
            let len = pack.total_len() - original.len() + bytes.len();
            runner.case(&what, len, || exercise(&pack.root));
        }
        mutation::overwrite(&path, original);
    }
    // Each file missing in turn.
    for (name, original) in &pack.files {
        let path = pack.root.join(name);
        std::fs::remove_file(&path).unwrap();
        runner.case(&format!("file {name:?} missing"), pack.total_len(), || {
            exercise(&pack.root)
        });
        mutation::overwrite(&path, original);
    }
    let cases = runner.cases();
    runner.finish();
    let (loaded, values) = (LOADED.load(Relaxed), VALUES.load(Relaxed));
    eprintln!("{cases} cases: {loaded} loaded, {values} values read");
    assert!(cases > 2000, "{cases} cases");
    assert!(loaded > cases / 20 && values > cases, "{loaded} loaded");
}

#[test]
fn mutated_single_file_packs_are_errors_never_panics() {
    let mut runner = Runner::new("varpack single-file mutations", NPZ_FACTOR, NPZ_SLACK);
    let dir = tempfile::tempdir().unwrap();
    let single = dir.path().join("pack.npz");
    pack().save_as(&single).unwrap();
    let plain = dir.path().join("plain.npz");
    let mut npz = npz_stream::NpzWriter::create(&plain).unwrap();
    npz.add_array("x", &[1.0f64, 2.0, 3.0], &[3]).unwrap();
    npz.set_compression(npz_stream::Compression::deflate());
    npz.add_array("y", &[5u16; 64], &[8, 8]).unwrap();
    npz.finish().unwrap();
    let samples = [
        npz_sample("single-file pack", std::fs::read(&single).unwrap()),
        npz_sample("plain numpy .npz", std::fs::read(&plain).unwrap()),
    ];
    let path = dir.path().join("m.npz");
    for sample in &samples {
        mutation::overwrite(&path, &sample.bytes);
        runner.case(&format!("{:?} as written", sample.name), 0, || {
            Varpack::load(&path).unwrap();
            varpack::inspect(&path).unwrap();
        });
        let mut edits = sample.field_edits();
        edits.extend(sample.spot_edits());
        edits.extend(sample.truncations(60));
        edits.extend(sample.random_edits(0x0076_6670, 700));
        for mutations in &edits {
            let bytes = apply(&sample.bytes, mutations);
            mutation::overwrite(&path, &bytes);
            let what = format!("sample {:?}, mutations {}", sample.name, show(mutations));
            runner.case(&what, bytes.len(), || exercise(&path));
        }
    }
    assert!(runner.cases() > 1500, "{} cases", runner.cases());
    runner.finish();
}

/// Cases that failed once, named after what they broke.
#[test]
fn regressions() {
    let mut runner = Runner::new("varpack regressions", FACTOR, SLACK);
    let dir = tempfile::tempdir().unwrap();
    let pack = dir_pack(dir.path());
    use mutation::*;
    let cases: Vec<(&str, &str, Vec<Mutation>)> = vec![(
        "manifest version as a huge number",
        "varpack.json",
        vec![Insert {
            at: 0,
            bytes: b"{\"format\": \"varpack\", \"version\": 18446744073709551616}".to_vec(),
        }],
    )];
    for (name, file, mutations) in cases {
        let original = &pack.files.iter().find(|(n, _)| n == file).unwrap().1;
        let path = pack.root.join(file);
        let bytes = apply(original, &mutations);
        mutation::overwrite(&path, &bytes);
        let len = pack.total_len() - original.len() + bytes.len();
        runner.case(name, len, || exercise(&pack.root));
        mutation::overwrite(&path, original);
    }
    runner.finish();
}
