//! numpy reads what we write: every array of both forms, the Python example, CRCs after
//! read-write maps.

use testkit::oracle;

use std::collections::BTreeMap;

use varpack::{Array, Item, LoadOptions, MapMode, Varpack};

fn sample() -> Varpack {
    let mut vp = Varpack::new();
    vp.insert_array("x", &[1.5f64, 2.5, 3.5, 4.5], &[2, 2])
        .unwrap();
    vp.insert_array("Big Name", &[1i16, -2, 3], &[3]).unwrap();
    let mut d = BTreeMap::new();
    d.insert(
        "a/b".to_string(),
        Array::from_slice(&[1u8, 2], &[2]).unwrap(),
    );
    d.insert(
        "k".to_string(),
        Array::from_slice(&[7u32; 4], &[4]).unwrap(),
    );
    vp.insert_dict("d", d).unwrap();
    vp.insert_value("s", "hello").unwrap();
    vp.insert_value("cfg", &serde_json::json!({"rate": 0.5}))
        .unwrap();
    vp.set_separate("cfg", true).unwrap();
    vp
}

#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn numpy_loads_every_array_of_both_forms() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("pack");
    let f = dir.path().join("pack.npz");
    sample().save_as(&d).unwrap();
    sample().save_as(&f).unwrap();
    let mut py = oracle::shared();
    let result = py.exec(&format!(
        r#"
d, f = {d:?}, {f:?}
def arrays(m):
    # value (or value/key) -> its file or member, from a manifest
    files = {{v["name"]: v["file"] for v in m["values"] if v["kind"] == "array"}}
    files.update({{v["name"] + "/" + e["key"]: e["file"]
                  for v in m["values"] if v["kind"] == "dict" for e in v["entries"]}})
    return files
def row(a):
    return [str(a.dtype), list(a.shape), np.asarray(a).ravel().tolist()]
dfiles = arrays(json.load(open(os.path.join(d, "varpack.json"))))
out = {{n: row(np.load(os.path.join(d, p), mmap_mode="r")) for n, p in dfiles.items()}}
z = np.load(f)
zfiles = arrays(json.loads(bytes(z["__varpack__.json"])))
zout = {{n: row(z[p[:-4]]) for n, p in zfiles.items()}}
bad = zipfile.ZipFile(f).testzip()
result = [out, zout, bad, sorted(z.files), dfiles]
"#,
        d = d.to_str().unwrap(),
        f = f.to_str().unwrap()
    ));
    assert_eq!(result[0], result[1]);
    assert_eq!(
        result[0]["x"],
        serde_json::json!(["float64", [2, 2], [1.5, 2.5, 3.5, 4.5]])
    );
    assert_eq!(result[0]["Big Name"][2], serde_json::json!([1, -2, 3]));
    assert_eq!(result[0]["d/a/b"][2], serde_json::json!([1, 2]));
    // The directory's files are escaped names; the archive's keys are the names themselves.
    assert_eq!(result[4]["Big Name"], "%42ig%20%4Eame.npy");
    assert_eq!(result[4]["d/a/b"], "d~a%2Fb.npy");
    assert!(result[2].is_null());
    let keys: Vec<&str> = (result[3].as_array().unwrap().iter())
        .map(|k| k.as_str().unwrap())
        .collect();
    for key in ["Big Name", "d/a/b", "d/k", "x", "__varpack__.json"] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
}

#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn the_python_example_loads_a_rust_written_pack() {
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/load_varpack.py");
    let mut py = oracle::shared();
    for (form, mapped) in [("pack", true), ("pack.npz", false)] {
        let path = dir.path().join(form);
        let mut vp = sample();
        vp.insert_dict(
            "run",
            [
                (
                    "adc",
                    Item::from(Array::from_slice(&[3i16, 4], &[2]).unwrap()),
                ),
                ("label", Item::json("café").unwrap()),
            ],
        )
        .unwrap();
        vp.insert_value("late", &1).unwrap();
        vp.save_as(&path).unwrap();
        // An append (a new manifest generation in the archive) is what the example reads.
        drop(vp);
        let mut vp = Varpack::append(&path).unwrap();
        vp.insert_value("appended", "yes").unwrap();
        vp.save().unwrap();
        let result = py.exec(&format!(
            r#"
ns = {{"__name__": "load_varpack_example"}}
exec(compile(open({script:?}).read(), {script:?}, "exec"), ns)
v = ns["load_varpack"]({p:?})
result = {{
    "x": v["x"].tolist(), "x_mmap": isinstance(v["x"], np.memmap),
    "big": v["Big Name"].tolist(), "d": {{k: a.tolist() for k, a in v["d"].items()}},
    "s": v["s"], "cfg": v["cfg"], "appended": v["appended"],
    "run": {{k: (a.tolist() if isinstance(a, np.ndarray) else a) for k, a in v["run"].items()}},
}}
"#,
            p = path.to_str().unwrap()
        ));
        assert_eq!(result["x"], serde_json::json!([[1.5, 2.5], [3.5, 4.5]]));
        assert_eq!(result["x_mmap"], mapped, "{form}");
        assert_eq!(result["big"], serde_json::json!([1, -2, 3]));
        assert_eq!(
            result["d"],
            serde_json::json!({"a/b": [1, 2], "k": [7, 7, 7, 7]})
        );
        assert_eq!(result["s"], "hello");
        assert_eq!(result["cfg"], serde_json::json!({"rate": 0.5}));
        assert_eq!(result["appended"], "yes", "{form}");
        assert_eq!(
            result["run"],
            serde_json::json!({"adc": [3, 4], "label": "café"})
        );
    }
}

#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn numpy_reads_a_single_file_pack_modified_in_place_and_appended_to() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pack.npz");
    sample().save_as(&f).unwrap();
    let mut vp = LoadOptions::new()
        .map_mode(MapMode::ReadWrite)
        .load(&f)
        .unwrap();
    vp.view_mut::<f64>("x").unwrap().as_mut_slice()[3] = 99.0;
    vp.flush().unwrap();
    drop(vp);
    let mut vp = Varpack::append(&f).unwrap();
    vp.insert_array("more", &[5u8; 3], &[3]).unwrap();
    vp.save().unwrap();
    drop(vp);
    let mut py = oracle::shared();
    let result = py.exec(&format!(
        r#"
z = np.load({f:?})
result = [z["x"].ravel().tolist(), z["more"].tolist(), zipfile.ZipFile({f:?}).testzip()]
"#,
        f = f.to_str().unwrap()
    ));
    assert_eq!(
        result,
        serde_json::json!([[1.5, 2.5, 3.5, 99.0], [5, 5, 5], null])
    );
}

#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn a_numpy_savez_archive_opens_as_a_pack() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("np.npz");
    let mut py = oracle::shared();
    py.exec(&format!(
        "np.savez({f:?}, a=np.arange(5, dtype='<f8'), b=np.ones((2, 3), dtype='>i4'))\nresult = None",
        f = f.to_str().unwrap()
    ));
    let vp = Varpack::load(&f).unwrap();
    assert_eq!(vp.names(), vec!["a", "b"]);
    assert_eq!(
        vp.array("a").unwrap().to_vec::<f64>().unwrap(),
        vec![0.0, 1.0, 2.0, 3.0, 4.0]
    );
    assert_eq!(vp.array("b").unwrap().to_vec::<i32>().unwrap(), vec![1; 6]);
}

/// Builds a folder exactly as Varpack (the Python seed) saves one: `np.save` for arrays, the
/// small values pickled (protocol 4) into `__misc_vars__.pickle` with placeholders for a dict's
/// large arrays, a large value in its own pickle, `json.dump(indent=4)` with a NaN size.
const SEED_SAVE: &str = r#"
import pickle, sys, types, math
def seed_values():
    return {
        "var1": np.arange(1000, dtype="<f8").reshape(100, 10) / 7,
        "fort": np.asfortranarray(np.arange(12, dtype="<i2").reshape(3, 4)),
        "text": np.array(["ab", "c", "ζ"]),
        "var2": 42,
        "var3": ["café", 1.5, None, True, 2**63],
        "cfg": {"rate": 0.5, "layers": [1, 2]},
        "var4": {"key1": np.arange(10000, dtype="<f4"), "small": np.arange(5).astype(">i4"),
                 "note": "x", "scalar": np.float64(2.5)},
        "big": list(range(5000)),
        "sc": np.int64(-7),
        "odd": {1, 2},
    }
def seed_save(folder):
    mod = types.ModuleType("varpack")
    class NumpyArrayPlaceholder:
        def __init__(self, filename=None):
            self.filename = filename
    NumpyArrayPlaceholder.__module__ = "varpack"
    NumpyArrayPlaceholder.__qualname__ = "NumpyArrayPlaceholder"
    mod.NumpyArrayPlaceholder = NumpyArrayPlaceholder
    sys.modules["varpack"] = mod
    try:
        os.makedirs(folder)
        info, misc = {}, {}
        for name, v in seed_values().items():
            if isinstance(v, np.ndarray):
                np.save(os.path.join(folder, name + ".npy"), v, allow_pickle=False)
                info[name] = {"size": v.nbytes, "filename": name + ".npy", "shape": list(v.shape), "dtype": str(v.dtype)}
                continue
            entry = {"size": float("nan") if name == "var2" else 100}
            if type(v) is dict:
                entry["uses_numpy_placeholders"] = False
                for k, a in list(v.items()):
                    if isinstance(a, np.ndarray) and a.size >= 10000:
                        fname = name + str(hash(k)) + ".npy"
                        np.save(os.path.join(folder, fname), a, allow_pickle=True)
                        v[k] = NumpyArrayPlaceholder(fname)
                        entry["uses_numpy_placeholders"] = True
            if name == "big":
                with open(os.path.join(folder, "big.pickle"), "wb") as f:
                    pickle.dump(v, f, protocol=4)
                entry["filename"] = "big.pickle"
            else:
                misc[name] = v
                entry["filename"] = "__misc_vars__.pickle"
            info[name] = entry
        with open(os.path.join(folder, "__misc_vars__.pickle"), "wb") as f:
            pickle.dump(misc, f, protocol=4)
        with open(os.path.join(folder, "varpack.json"), "w") as f:
            json.dump(info, f, indent=4)
    finally:
        del sys.modules["varpack"]
"#;

#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn a_folder_saved_as_varpack_saves_converts_and_numpy_reads_every_value_back() {
    use varpack::convert::{self, ConvertErrorKind, ConvertOptions};
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed");
    let mut py = oracle::shared();
    py.exec(&format!(
        "{SEED_SAVE}\nseed_save({:?})",
        seed.to_str().unwrap()
    ));
    // The set is refused, naming it; skipped on request, every other value kept.
    let err = convert::read(&seed, &ConvertOptions::new()).unwrap_err();
    assert!(
        matches!(err.kind(), ConvertErrorKind::Unsupported { name, .. } if name == "odd"),
        "{err}"
    );
    let converted = convert::read(&seed, &ConvertOptions::new().skip_unreadable(true)).unwrap();
    let skipped: Vec<&str> = converted.skipped.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(skipped, ["odd"]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/load_varpack.py");
    for form in ["out", "out.npz"] {
        let out = dir.path().join(form);
        converted.pack.save_as(&out).unwrap();
        let result = py.exec(&format!(
            r#"
ns = {{"__name__": "load_varpack_example"}}
exec(compile(open({script:?}).read(), {script:?}, "exec"), ns)
got = ns["load_varpack"]({p:?})
want = seed_values()
del want["odd"]
def same(a, b):
    if isinstance(b, (np.ndarray, np.generic)):
        a = np.asarray(a)
        return (a.dtype == b.dtype and a.shape == np.shape(b) and np.array_equal(a, b)
                and (not isinstance(b, np.ndarray) or a.flags.f_contiguous == b.flags.f_contiguous))
    if isinstance(b, dict):
        return isinstance(a, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in b)
    return a == b
result = {{"keys": sorted(got), "differ": sorted(k for k in want if not same(got.get(k), want[k]))}}
"#,
            p = out.to_str().unwrap()
        ));
        assert_eq!(result["differ"], serde_json::json!([]), "{form}: {result}");
        assert_eq!(
            result["keys"],
            serde_json::json!([
                "big", "cfg", "fort", "sc", "text", "var1", "var2", "var3", "var4"
            ])
        );
    }
}

#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn the_python_example_decodes_small_dict_arrays_stored_among_the_entries() {
    use varpack::npy_format::{DType, Header};
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/load_varpack.py");
    let rec = Header::new(
        DType::parse("[('a', '>i2'), ('b', '|u1')]").unwrap(),
        false,
        vec![2],
    );
    let fortran = Header::new(DType::parse("<i4").unwrap(), true, vec![2, 2]);
    let mut py = oracle::shared();
    for form in ["p", "p.npz"] {
        let path = dir.path().join(form);
        let mut vp = Varpack::new();
        vp.insert_dict(
            "d",
            [
                (
                    "rec",
                    Item::from(Array::from_bytes(rec.clone(), &[0, 1, 7, 0, 2, 8]).unwrap()),
                ),
                (
                    "f",
                    Item::from(
                        Array::from_bytes(
                            fortran.clone(),
                            &[1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0],
                        )
                        .unwrap(),
                    ),
                ),
                (
                    "big",
                    Item::from(Array::from_slice(&[5u16; 64], &[64]).unwrap()),
                ),
                ("note", Item::json("n").unwrap()),
            ],
        )
        .unwrap();
        vp.set_dict_array_min_elements(Some(10));
        vp.save_as(&path).unwrap();
        let result = py.exec(&format!(
            r#"
ns = {{"__name__": "load_varpack_example"}}
exec(compile(open({script:?}).read(), {script:?}, "exec"), ns)
d = ns["load_varpack"]({p:?})["d"]
result = {{"rec": [str(d["rec"].dtype), d["rec"]["a"].tolist(), d["rec"]["b"].tolist()],
          "f": [d["f"].tolist(), bool(d["f"].flags.f_contiguous)],
          "big": [d["big"].shape[0], int(d["big"][0])], "note": d["note"]}}
"#,
            p = path.to_str().unwrap()
        ));
        assert_eq!(
            result,
            serde_json::json!({
                "rec": ["[('a', '>i2'), ('b', 'u1')]", [1, 2], [7, 8]],
                "f": [[[1, 3], [2, 4]], true],
                "big": [64, 5],
                "note": "n",
            }),
            "{form}"
        );
    }
}

/// Archives built by Python's `zipfile` and numpy as other projects make them: text, JSON and
/// directory members, bzip2 and lzma members, a pickled object array, a header over the limit,
/// and member names whose keys collide. numpy's own answer for each value name is the
/// reference: every array we convert equals `np.load(f)[name]`, nothing is substituted or
/// dropped but the members named as left out, and the converted packs load back.
#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn archives_numpy_reads_convert_value_for_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foreign.npz");
    let code = format!(
        r#"
import io, struct
def npy(a):
    b = io.BytesIO(); np.save(b, a, allow_pickle=True); return b.getvalue()
text = b"{{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }}" + b" " * 20000
pad = (64 - (12 + len(text) + 1) % 64) % 64
text += b" " * pad + b"\n"
long = b"\x93NUMPY\x02\x00" + struct.pack("<I", len(text)) + text + np.array([5, 6], "<i2").tobytes()
with zipfile.ZipFile({path:?}, "w") as z:
    z.writestr("x", npy(np.arange(3)))
    z.writestr("x.npy", npy(np.arange(4.0)))
    z.writestr("y.npy", npy(np.array([7], "u1")))
    z.writestr("y.npy.npy", npy(np.array([[8, 9]], "<i4")))
    z.writestr(".npy", npy(np.array(True)))
    z.writestr("notes.txt", "units: mV\n")
    z.writestr("meta.json", '{{"run": 7}}')
    z.writestr("sub/", b"")
    z.writestr("b.npy", npy(np.arange(5, dtype="<u2")), compress_type=zipfile.ZIP_BZIP2)
    z.writestr("l.npy", npy(np.arange(6, dtype="<u2")), compress_type=zipfile.ZIP_LZMA)
    z.writestr("obj.npy", npy(np.array([1, "a", None], dtype=object)))
    z.writestr("long.npy", long)
    z.writestr("z.npy", npy(np.arange(12, dtype=">f4").reshape(3, 4)), compress_type=zipfile.ZIP_DEFLATED)
f = np.load({path:?}, max_header_size=30000)
result = {{"files": f.files, "values": {{
    k: [str(f[k].dtype.str), list(f[k].shape), f[k].tobytes().hex()]
    for k in ["x", "x.npy", "y", "y.npy.npy", "", "z", "long"]}}}}
"#,
        path = path.to_str().unwrap()
    );
    let numpy = oracle::shared().exec(&code);
    assert_eq!(
        numpy["files"],
        serde_json::json!([
            "x",
            "x",
            "y",
            "y.npy",
            "",
            "notes.txt",
            "meta.json",
            "sub/",
            "b",
            "l",
            "obj",
            "long",
            "z"
        ])
    );
    // Value names: numpy's key where np.load(f)[key] is that member, else its full name.
    let names = [
        ("x", "x"),
        ("x.npy", "x.npy"),
        ("y", "y"),
        ("y.npy.npy", "y.npy.npy"),
        (".npy", ""),
        ("z", "z"),
    ];
    let left_out = [
        "notes.txt",
        "meta.json",
        "sub/",
        "b.npy",
        "l.npy",
        "obj.npy",
        "long.npy",
    ];
    let check = |vp: &Varpack, with_long: bool| {
        let mut expected: Vec<&str> = names.iter().map(|(ours, _)| *ours).collect();
        if with_long {
            expected.push("long");
        }
        expected.sort();
        assert_eq!(vp.names(), expected);
        for (ours, key) in names
            .iter()
            .copied()
            .chain(with_long.then_some(("long", "long")))
        {
            let a = vp.array(ours).unwrap();
            let want = &numpy["values"][key];
            let descr = a.dtype().descr().trim_matches('\'').to_owned();
            assert_eq!(descr, want[0].as_str().unwrap(), "{ours}");
            assert_eq!(serde_json::json!(a.shape()), want[1], "{ours}");
            let hex: String = a.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex, want[2].as_str().unwrap(), "{ours}");
        }
    };
    let vp = Varpack::load(&path).unwrap();
    check(&vp, false);
    let skipped: Vec<&str> = vp
        .skipped_members()
        .iter()
        .map(|s| s.member.as_str())
        .collect();
    assert_eq!(skipped, left_out);
    for out in ["pack", "pack.npz"] {
        let out = dir.path().join(out);
        let skipped = varpack::convert::convert(&path, &out, &Default::default()).unwrap();
        let skipped: Vec<&str> = skipped.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(skipped, left_out);
        check(&Varpack::load(&out).unwrap(), false);
    }
    // A raised header limit converts the long header too.
    let out = dir.path().join("trusting");
    let options = varpack::convert::ConvertOptions::new().max_header_size(30_000);
    varpack::convert::convert(&path, &out, &options).unwrap();
    check(&Varpack::load(&out).unwrap(), true);
    // And npz-stream lists every member, with what it is.
    let reader = npz_stream::NpzReader::open(&path).unwrap();
    let kinds: Vec<&str> = reader.list().iter().map(|e| e.content.kind()).collect();
    assert_eq!(
        kinds,
        [
            "array",
            "array",
            "array",
            "array",
            "array",
            "bytes",
            "bytes",
            "directory",
            "unsupported",
            "unsupported",
            "array",
            "unreadable",
            "array"
        ]
    );
}
