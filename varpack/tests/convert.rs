//! Foreign packs read into varpacks: AlignedBinaryFormat files and Varpack (Python) folders,
//! built byte by byte from their documented layouts, every value checked after a round trip
//! through both of this crate's forms; and crafted inputs refused with typed errors.

use std::path::Path;

use varpack::convert::{self, ConvertErrorKind, ConvertOptions, Foreign};
use varpack::{Item, Varpack};

/// Writes `.abf` records as AlignedBinaryFormat.jl does.
#[derive(Default)]
struct Abf {
    buf: Vec<u8>,
    big: bool,
}

impl Abf {
    fn i64(&mut self, v: i64) {
        let b = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.buf.extend_from_slice(&b);
    }

    fn string(&mut self, s: &str) {
        self.i64(4 * s.chars().count() as i64);
        self.buf.extend_from_slice(s.as_bytes());
    }

    fn head(&mut self, big: bool, label: &str, ty: &str) {
        self.big = big;
        self.buf.push(if big { 0xFF } else { 0x00 });
        self.string(label);
        self.string(ty);
    }

    fn pad(&mut self, align: usize) {
        while !self.buf.len().is_multiple_of(align) {
            self.buf.push(0);
        }
    }

    /// An `Array{T,N}` whose column-major element bytes (already in the record's order) are `data`.
    fn array(&mut self, big: bool, label: &str, ty: &str, dims: &[i64], size: usize, data: &[u8]) {
        self.head(big, label, ty);
        for &d in dims {
            self.i64(d);
        }
        if !data.is_empty() {
            self.pad(size);
        }
        self.buf.extend_from_slice(data);
    }

    fn text(&mut self, label: &str, s: &str) {
        self.head(false, label, "String");
        self.string(s);
    }

    fn serialized(&mut self, label: &str, ty: &str, bytes: &[u8]) {
        self.head(false, label, ty);
        self.i64(bytes.len() as i64);
        self.buf.extend_from_slice(bytes);
    }

    fn bits(&mut self, label: &str, dims: &[i64], bits: &[bool]) {
        self.head(false, label, &format!("BitArray{{{}}}", dims.len()));
        for &d in dims {
            self.i64(d);
        }
        self.pad(8);
        for chunk in bits.chunks(64) {
            let word = (chunk.iter().enumerate()).fold(0u64, |w, (i, &b)| w | (u64::from(b) << i));
            self.buf.extend_from_slice(&word.to_le_bytes());
        }
    }
}

fn le<T: bytemuck_like::Bytes>(values: &[T]) -> Vec<u8> {
    values.iter().flat_map(|v| v.le()).collect()
}

/// Little- and big-endian bytes of the element types the tests write.
mod bytemuck_like {
    pub trait Bytes {
        fn le(&self) -> Vec<u8>;
        fn be(&self) -> Vec<u8>;
    }
    macro_rules! bytes {
        ($($t:ty),*) => {$(impl Bytes for $t {
            fn le(&self) -> Vec<u8> { self.to_le_bytes().to_vec() }
            fn be(&self) -> Vec<u8> { self.to_be_bytes().to_vec() }
        })*};
    }
    bytes!(f64, f32, i8, u16, i32, u64, u32);
}
use bytemuck_like::Bytes;

/// A file holding one record of every kind AlignedBinaryFormat writes that numpy holds, and
/// a Julia-serialized one in the middle.
fn every_kind() -> Vec<u8> {
    let mut abf = Abf::default();
    // 3x2 Float64, column-major: x[i, j] = 10 i + j.
    let x: Vec<f64> = (0..2)
        .flat_map(|j| (0..3).map(move |i| f64::from(10 * i + j)))
        .collect();
    abf.array(false, "my x array", "Array{Float64,2}", &[3, 2], 8, &le(&x));
    abf.array(false, "bytes", "Array{Int8,1}", &[3], 1, &le(&[-1i8, 0, 1]));
    // Big-endian record: its integers and elements in big-endian order.
    let be: Vec<u8> = [1u32, 2, 0xDEAD_BEEF].iter().flat_map(|v| v.be()).collect();
    abf.array(true, "big endian", "Array{UInt32,1}", &[3], 4, &be);
    abf.array(false, "flags", "Array{Bool,1}", &[2], 1, &[1, 0]);
    abf.serialized("a type", "DataType", b"\x37\x4a\x4c\x0b\x04\x00\x00\x00");
    // Char: UTF-8 bytes left-aligned in a UInt32 (little-endian in the file).
    let chars: Vec<u8> = ['a', 'ζ', '!', '€']
        .iter()
        .flat_map(|c| {
            let mut utf8 = [0u8; 4];
            c.encode_utf8(&mut utf8);
            u32::from_be_bytes(utf8).to_le_bytes()
        })
        .collect();
    abf.array(false, "whY array", "Array{Char,2}", &[2, 2], 4, &chars);
    abf.array(false, "empty", "Array{Float32,1}", &[0], 4, &[]);
    abf.array(
        false,
        "after empty",
        "Array{UInt16,1}",
        &[1],
        2,
        &le(&[7u16]),
    );
    let bits: Vec<bool> = (0..5 * 13).map(|i| i % 3 == 0).collect();
    abf.bits("whybitarr", &[5, 13], &bits);
    abf.text("log", "some log information about this file, ζ!");
    abf.buf
}

fn f64s(vp: &Varpack, name: &str) -> Vec<f64> {
    vp.array(name).unwrap().to_vec::<f64>().unwrap()
}

#[test]
fn an_abf_file_converts_value_for_value_through_both_forms() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("data.abf");
    std::fs::write(&src, every_kind()).unwrap();
    assert_eq!(convert::detect(&src), Some(Foreign::AlignedBinaryFormat));
    // The serialized record is refused, naming it, unless skipped.
    let err = convert::read(&src, &ConvertOptions::new()).unwrap_err();
    assert!(
        matches!(err.kind(), ConvertErrorKind::Unsupported { name, .. } if name == "a type"),
        "{err}"
    );
    assert!(err.to_string().contains("Julia"), "{err}");
    let converted = convert::read(&src, &ConvertOptions::new().skip_unreadable(true)).unwrap();
    assert_eq!(converted.skipped.len(), 1);
    assert_eq!(converted.skipped[0].0, "a type");
    for out in ["pack", "pack.npz"] {
        let out = dir.path().join(out);
        converted.pack.save_as(&out).unwrap();
        let vp = Varpack::load(&out).unwrap();
        assert_eq!(vp.len(), 9);
        let x = vp.array("my x array").unwrap();
        assert_eq!(x.shape(), &[3, 2]);
        assert!(x.header().fortran_order);
        assert_eq!(f64s(&vp, "my x array"), [0.0, 10.0, 20.0, 1.0, 11.0, 21.0]);
        assert_eq!(
            vp.array("bytes").unwrap().to_vec::<i8>().unwrap(),
            [-1, 0, 1]
        );
        let big = vp.array("big endian").unwrap();
        assert_eq!(big.dtype().descr(), "'>u4'");
        assert_eq!(
            big.as_bytes(),
            &[0, 0, 0, 1, 0, 0, 0, 2, 0xDE, 0xAD, 0xBE, 0xEF]
        );
        assert_eq!(vp.array("flags").unwrap().dtype().descr(), "'|b1'");
        assert_eq!(vp.array("flags").unwrap().as_bytes(), &[1, 0]);
        let chars = vp.array("whY array").unwrap();
        assert_eq!(chars.dtype().descr(), "'<U1'");
        let code_points: Vec<u32> = chars.to_vec::<u32>().unwrap_or_else(|_| {
            (chars.as_bytes().chunks(4))
                .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                .collect()
        });
        assert_eq!(code_points, ['a', 'ζ', '!', '€'].map(u32::from));
        assert_eq!(vp.array("empty").unwrap().shape(), &[0]);
        assert_eq!(
            vp.array("after empty").unwrap().to_vec::<u16>().unwrap(),
            [7]
        );
        let bits = vp.array("whybitarr").unwrap();
        assert_eq!(bits.shape(), &[5, 13]);
        let expected: Vec<u8> = (0..65).map(|i| u8::from(i % 3 == 0)).collect();
        assert_eq!(bits.as_bytes(), expected.as_slice());
        assert_eq!(
            vp.get_value::<String>("log").unwrap(),
            "some log information about this file, ζ!"
        );
    }
}

#[test]
fn abf_types_numpy_lacks_and_crafted_files_are_refused_with_their_offset() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.abf");
    let refused = |bytes: &[u8]| {
        std::fs::write(&path, bytes).unwrap();
        convert::read(&path, &ConvertOptions::new().skip_unreadable(true)).unwrap_err()
    };
    // 128-bit integers: no numpy dtype; refused whatever the options, naming the label.
    let mut abf = Abf::default();
    abf.array(false, "wide", "Array{Int128,1}", &[1], 16, &[0; 16]);
    let err = refused(&abf.buf);
    assert!(
        matches!(err.kind(), ConvertErrorKind::Unsupported { name, reason }
            if name == "wide" && reason.contains("128-bit")),
        "{err}"
    );
    // Cut short inside the data.
    let whole = every_kind();
    let err = refused(&whole[..whole.len() / 3]);
    assert!(
        matches!(err.kind(), ConvertErrorKind::Corrupt { .. }),
        "{err}"
    );
    // Not an endian flag.
    let err = refused(b"\x07abc");
    assert!(
        matches!(err.kind(), ConvertErrorKind::Corrupt { offset: 0, .. }),
        "{err}"
    );
    // Dimensions claiming petabytes: refused before allocating.
    let mut abf = Abf::default();
    abf.array(
        false,
        "huge",
        "Array{Float64,2}",
        &[1 << 30, 1 << 30],
        8,
        &[0; 8],
    );
    let err = refused(&abf.buf);
    assert!(
        matches!(err.kind(), ConvertErrorKind::Corrupt { reason, .. } if reason.contains("more bytes than the file")),
        "{err}"
    );
    // A string length that is not 4 x a character count, and a negative dimension.
    let mut abf = Abf::default();
    abf.buf.push(0);
    abf.i64(5);
    assert!(matches!(
        refused(&abf.buf).kind(),
        ConvertErrorKind::Corrupt { .. }
    ));
    let mut abf = Abf::default();
    abf.array(false, "neg", "Array{Float64,1}", &[-3], 8, &[]);
    assert!(matches!(
        refused(&abf.buf).kind(),
        ConvertErrorKind::Corrupt { .. }
    ));
}

/// Protocol-4 pickle opcodes, for building Varpack's pickles by hand.
#[derive(Default)]
struct Pickle(Vec<u8>);

impl Pickle {
    fn new() -> Pickle {
        Pickle(vec![0x80, 4])
    }
    fn op(mut self, bytes: &[u8]) -> Pickle {
        self.0.extend_from_slice(bytes);
        self
    }
    fn str(self, s: &str) -> Pickle {
        let mut p = self.op(&[0x8c, s.len() as u8]).op(s.as_bytes());
        p = p.op(&[0x94]);
        p
    }
    fn int(self, v: i32) -> Pickle {
        self.op(b"J").op(&v.to_le_bytes())
    }
    fn float(self, v: f64) -> Pickle {
        self.op(b"G").op(&v.to_be_bytes())
    }
    fn global(self, module: &str, name: &str) -> Pickle {
        self.str(module).str(name).op(&[0x93, 0x94])
    }
    fn placeholder(self, file: &str) -> Pickle {
        self.global("varpack", "NumpyArrayPlaceholder")
            .op(b")\x81\x94}\x94")
            .str("filename")
            .str(file)
            .op(b"sb")
    }
    fn stop(self) -> Vec<u8> {
        self.op(b".").0
    }
}

/// A folder as Varpack saves it: arrays as `.npy`, small values in the misc pickle (a dict
/// with a placeholder among them), a large value in its own pickle, NaN in `varpack.json`.
fn seed_folder(folder: &Path, opaque: bool) {
    std::fs::create_dir_all(folder).unwrap();
    npy_format::write_file(folder.join("var1.npy"), &[1.5f64, 2.5, 3.5, 4.5], &[2, 2]).unwrap();
    npy_format::write_file(
        folder.join("var4-1507539616216130811.npy"),
        &[7i32; 3],
        &[3],
    )
    .unwrap();
    let mut misc = Pickle::new()
        .op(b"}\x94(")
        .str("var2")
        .int(-42)
        .str("var3")
        .op(b"(")
        .str("café")
        .float(0.25)
        .op(b"N\x88\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x01")
        .op(b"\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00") // u64::MAX
        .op(b"l\x94")
        .str("var4")
        .op(b"}\x94(")
        .str("key1")
        .placeholder("var4-1507539616216130811.npy")
        .str("note")
        .str("small")
        .op(b"u");
    if opaque {
        misc = misc
            .str("odd")
            .global("datetime", "date")
            .op(b"C\x04\x07\xea\x0c\x05")
            .op(&[0x85, b'R', 0x94]);
    }
    let misc = misc.op(b"u").stop();
    std::fs::write(folder.join("__misc_vars__.pickle"), misc).unwrap();
    let big = Pickle::new()
        .op(b"]\x94(")
        .int(1)
        .op(b"]\x94") // memo 1: an empty list
        .op(b"h\x01") // memo 1 again: the same list, shared
        .op(b"e")
        .stop();
    std::fs::write(folder.join("big.pickle"), big).unwrap();
    let mut json = String::from(
        r#"{
    "var1": {"size": 864352, "filename": "var1.npy", "shape": [2, 2], "dtype": "float64"},
    "var2": {"size": NaN, "filename": "__misc_vars__.pickle"},
    "var3": {"size": 60, "filename": "__misc_vars__.pickle"},
    "var4": {"size": 1473, "size_before_numpy_placeholders": 1473, "uses_numpy_placeholders": true, "filename": "__misc_vars__.pickle"},
    "big": {"size": 180056, "filename": "big.pickle"}"#,
    );
    if opaque {
        json.push_str(r#", "odd": {"size": 1, "filename": "__misc_vars__.pickle"}"#);
    }
    json.push('}');
    std::fs::write(folder.join("varpack.json"), json).unwrap();
}

#[test]
fn a_varpack_folder_converts_value_for_value_through_both_forms() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("seed");
    seed_folder(&folder, false);
    assert_eq!(convert::detect(&folder), Some(Foreign::VarpackFolder));
    let converted = convert::read(&folder, &ConvertOptions::new()).unwrap();
    assert!(converted.skipped.is_empty());
    for out in ["pack", "pack.npz"] {
        let out = dir.path().join(out);
        converted.pack.save_as(&out).unwrap();
        // Our own packs are not mistaken for the seed's.
        assert_eq!(convert::detect(&out), None);
        let vp = Varpack::load(&out).unwrap();
        assert_eq!(vp.names(), ["big", "var1", "var2", "var3", "var4"]);
        assert_eq!(f64s(&vp, "var1"), [1.5, 2.5, 3.5, 4.5]);
        assert_eq!(vp.array("var1").unwrap().shape(), &[2, 2]);
        assert_eq!(vp.get_value::<i64>("var2").unwrap(), -42);
        assert_eq!(
            vp.json("var3").unwrap(),
            &serde_json::json!(["café", 0.25, null, true, 1i64 << 56, u64::MAX])
        );
        let d = vp.dict("var4").unwrap();
        assert!(matches!(&d["key1"], Item::Array(a) if a.to_vec::<i32>().unwrap() == [7, 7, 7]));
        assert_eq!(d["note"].as_json(), Some(&serde_json::json!("small")));
        assert_eq!(
            vp.json("big").unwrap(),
            &serde_json::json!([1, [], []]),
            "a shared reference is the value it refers to"
        );
    }
}

#[test]
fn pickled_objects_are_refused_or_skipped_one_value_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("seed");
    seed_folder(&folder, true);
    let err = convert::read(&folder, &ConvertOptions::new()).unwrap_err();
    assert!(
        matches!(err.kind(), ConvertErrorKind::Unsupported { name, reason }
            if name == "odd" && reason.contains("datetime.date") && reason.contains("allow_pickle")),
        "{err}"
    );
    let converted = convert::read(&folder, &ConvertOptions::new().skip_unreadable(true)).unwrap();
    assert_eq!(
        converted.skipped.iter().map(|s| &s.0).collect::<Vec<_>>(),
        ["odd"]
    );
    // Every other value of the same pickle survives.
    assert_eq!(converted.pack.get_value::<i64>("var2").unwrap(), -42);
    assert_eq!(converted.pack.dict("var4").unwrap().len(), 2);
}

#[test]
fn crafted_varpack_folders_are_refused_without_leaving_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("seed");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(dir.path().join("secret.npy"), b"not yours").unwrap();
    let json = |text: &str| std::fs::write(folder.join("varpack.json"), text).unwrap();
    let read = || convert::read(&folder, &ConvertOptions::new().skip_unreadable(true));
    json(r#"{"x": {"filename": "../secret.npy"}}"#);
    let err = read().unwrap_err();
    assert!(
        matches!(err.kind(), ConvertErrorKind::Manifest { reason } if reason.contains("plain file name")),
        "{err}"
    );
    json(r#"{"x": {"size": 1}}"#);
    assert!(matches!(
        read().unwrap_err().kind(),
        ConvertErrorKind::Manifest { .. }
    ));
    // A placeholder naming a file outside the folder: that value is unreadable, not followed.
    let misc = Pickle::new()
        .op(b"}\x94(")
        .str("d")
        .op(b"}\x94(")
        .str("k")
        .placeholder("../secret.npy")
        .op(b"uu")
        .stop();
    std::fs::write(folder.join("__misc_vars__.pickle"), misc).unwrap();
    json(r#"{"d": {"filename": "__misc_vars__.pickle"}}"#);
    let converted = read().unwrap();
    assert_eq!(converted.skipped.len(), 1);
    assert!(
        converted.skipped[0].1.contains("plain file name"),
        "{:?}",
        converted.skipped
    );
    // A truncated .npy is an error naming the file, whatever the options.
    npy_format::write_file(folder.join("a.npy"), &[1u64; 100], &[100]).unwrap();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(folder.join("a.npy"))
        .unwrap();
    f.set_len(300).unwrap();
    json(r#"{"a": {"filename": "a.npy"}}"#);
    let err = read().unwrap_err();
    assert_eq!(err.path(), folder.join("a.npy"));
    assert!(matches!(err.kind(), ConvertErrorKind::Npy { .. }), "{err}");
    // Garbage where a pickle should be.
    std::fs::write(folder.join("__misc_vars__.pickle"), b"\x80\x04\xff").unwrap();
    json(r#"{"d": {"filename": "__misc_vars__.pickle"}}"#);
    let converted = read().unwrap();
    assert!(
        converted.skipped[0].1.contains("cannot read"),
        "{:?}",
        converted.skipped
    );
    // An integer wider than 64 bits (-2**71): JSON cannot hold it.
    let wide = Pickle::new()
        .op(b"\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x80")
        .stop();
    std::fs::write(folder.join("wide.pickle"), wide).unwrap();
    json(r#"{"wide": {"filename": "wide.pickle"}}"#);
    let converted = read().unwrap();
    assert!(
        converted.skipped[0].1.contains("wider"),
        "{:?}",
        converted.skipped
    );
    // A list holding itself ends, refused.
    let cyclic = Pickle::new().op(b"]\x94h\x00a").stop();
    std::fs::write(folder.join("loop.pickle"), cyclic).unwrap();
    json(r#"{"loop": {"filename": "loop.pickle"}}"#);
    let converted = read().unwrap();
    assert!(
        converted.skipped[0].1.contains("deeper"),
        "{:?}",
        converted.skipped
    );
}

#[test]
fn neither_kind_is_refused_as_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let err = convert::read(dir.path(), &ConvertOptions::new()).unwrap_err();
    assert!(matches!(err.kind(), ConvertErrorKind::Unknown), "{err}");
}

mod hostile {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any bytes as an `.abf` file or a pickle: a value or a typed error, never a panic,
        /// a hang or an allocation past the input's size.
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), prefix in 0usize..3) {
            let dir = tempfile::tempdir().unwrap();
            // Half the cases start like a real file, so the decoders get past the first byte.
            let mut data = match prefix {
                0 => every_kind()[..40].to_vec(),
                1 => vec![0x80, 4, 0x95],
                _ => Vec::new(),
            };
            data.extend_from_slice(&bytes);
            let abf = dir.path().join("x.abf");
            std::fs::write(&abf, &data).unwrap();
            let _ = convert::read(&abf, &ConvertOptions::new());
            let folder = dir.path().join("seed");
            std::fs::create_dir(&folder).unwrap();
            std::fs::write(folder.join("__misc_vars__.pickle"), &data).unwrap();
            std::fs::write(folder.join("v.pickle"), &data).unwrap();
            std::fs::write(
                folder.join("varpack.json"),
                r#"{"a": {"filename": "__misc_vars__.pickle"}, "v": {"filename": "v.pickle"}}"#,
            )
            .unwrap();
            let converted = convert::read(&folder, &ConvertOptions::new().skip_unreadable(true));
            prop_assert!(converted.is_ok());
        }
    }
}

// ---- plain numpy archives: every member numpy reads ----

/// A complete `.npy` file of `values` (little-endian i32).
fn npy_bytes(values: &[i32]) -> Vec<u8> {
    let header = varpack::npy_format::Header::new(
        varpack::npy_format::DType::parse("<i4").unwrap(),
        false,
        vec![values.len() as u64],
    );
    let mut out = Vec::new();
    varpack::npy_format::write_raw(&mut out, &header, varpack::npy_format::as_bytes(values))
        .unwrap();
    out
}

/// An object-dtype `.npy` (its data stands for a pickle: it is never read).
fn object_npy() -> Vec<u8> {
    let mut text = b"{'descr': '|O', 'fortran_order': False, 'shape': (2,), }".to_vec();
    while !(10 + text.len() + 1).is_multiple_of(64) {
        text.push(b' ');
    }
    text.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(text.len() as u16).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(b"\x80\x04\x95not really a pickle.");
    out
}

fn ints(vp: &Varpack, name: &str) -> Vec<i32> {
    vp.array(name).unwrap().to_vec::<i32>().unwrap()
}

#[test]
fn a_numpy_archive_converts_its_arrays_and_names_what_it_leaves_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("numpy.npz");
    let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    npz.add_file("a.npy", &npy_bytes(&[1, 2])).unwrap();
    npz.add_file("readme.txt", b"units: mV\n").unwrap();
    npz.add_file("sub/", b"").unwrap();
    npz.add_file("obj.npy", &object_npy()).unwrap();
    npz.add_file("b.npy", &npy_bytes(&[3])).unwrap();
    npz.finish().unwrap();

    let vp = Varpack::load(&path).unwrap();
    assert_eq!(vp.names(), ["a", "b"]);
    let skipped: Vec<&str> = vp
        .skipped_members()
        .iter()
        .map(|s| s.member.as_str())
        .collect();
    assert_eq!(skipped, ["readme.txt", "sub/", "obj.npy"]);
    assert!(
        vp.to_string()
            .contains("left out: member obj.npy: an object array")
    );

    for out in ["dir", "one.npz"] {
        let out = dir.path().join(out);
        let skipped = convert::convert(&path, &out, &ConvertOptions::new()).unwrap();
        let names: Vec<&str> = skipped.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["readme.txt", "sub/", "obj.npy"]);
        assert!(skipped.iter().all(|s| s.member));
        assert!(
            skipped[2]
                .to_string()
                .starts_with("member 'obj.npy': an object array")
        );
        let back = Varpack::load(&out).unwrap();
        assert_eq!((ints(&back, "a"), ints(&back, "b")), (vec![1, 2], vec![3]));
        assert_eq!(back.len(), 2);
    }
    // Strict refuses, naming the first member, and writes nothing; --skip-unreadable does not
    // loosen it.
    for options in [
        ConvertOptions::new().strict(true),
        ConvertOptions::new().strict(true).skip_unreadable(true),
    ] {
        let out = dir.path().join("strict");
        let err = convert::convert(&path, &out, &options).unwrap_err();
        assert!(matches!(err.kind(), ConvertErrorKind::Load(_)), "{err}");
        assert!(err.to_string().contains("readme.txt"), "{err}");
        assert!(!out.exists());
    }
}

#[test]
fn colliding_keys_never_substitute_or_drop_an_array() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.npz");
    let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    // numpy 2.4: np.load(f)["x"] is member "x", ["x.npy"] is "x.npy"; ["y"] and ["y.npy"] are
    // both "y.npy", ["y.npy.npy"] is "y.npy.npy"; [""] and [".npy"] are ".npy".
    npz.add_file("x", &npy_bytes(&[1])).unwrap();
    npz.add_file("x.npy", &npy_bytes(&[2])).unwrap();
    npz.add_file("y.npy", &npy_bytes(&[3])).unwrap();
    npz.add_file("y.npy.npy", &npy_bytes(&[4])).unwrap();
    npz.add_file(".npy", &npy_bytes(&[5])).unwrap();
    npz.finish().unwrap();
    let expected = [
        (".npy", 5),
        ("x", 1),
        ("x.npy", 2),
        ("y", 3),
        ("y.npy.npy", 4),
    ];
    let check = |vp: &Varpack| {
        assert_eq!(vp.len(), expected.len(), "{:?}", vp.names());
        for (name, value) in expected {
            assert_eq!(ints(vp, name), [value], "value {name:?}");
        }
    };
    check(&Varpack::load(&path).unwrap());
    assert!(Varpack::load(&path).unwrap().skipped_members().is_empty());
    for out in ["dir", "one.npz"] {
        let out = dir.path().join(out);
        assert!(
            convert::convert(&path, &out, &ConvertOptions::new())
                .unwrap()
                .is_empty()
        );
        check(&Varpack::load(&out).unwrap());
        // And again, from the converted pack: nothing renamed twice.
        let again = dir.path().join(format!(
            "again-{}",
            out.file_name().unwrap().to_str().unwrap()
        ));
        convert::convert(&out, &again, &ConvertOptions::new()).unwrap();
        check(&Varpack::load(&again).unwrap());
    }
}

#[test]
fn a_header_over_the_limit_is_left_out_alone_unless_the_limit_is_raised() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.npz");
    let header = varpack::npy_format::Header::new(
        varpack::npy_format::DType::parse("<i4").unwrap(),
        false,
        vec![1],
    );
    let mut long = header
        .to_bytes_in_place(varpack::npy_format::Version::V2, 20_000)
        .unwrap();
    long.extend_from_slice(&9i32.to_le_bytes());
    let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    npz.add_file("long.npy", &long).unwrap();
    npz.add_file("short.npy", &npy_bytes(&[8])).unwrap();
    npz.finish().unwrap();
    let out = dir.path().join("out");
    let skipped = convert::convert(&path, &out, &ConvertOptions::new()).unwrap();
    assert_eq!(skipped.len(), 1);
    assert!(
        skipped[0].reason.contains("exceeds the limit"),
        "{}",
        skipped[0]
    );
    assert_eq!(Varpack::load(&out).unwrap().names(), ["short"]);
    let out = dir.path().join("out2");
    let trusting = ConvertOptions::new().max_header_size(30_000);
    assert!(convert::convert(&path, &out, &trusting).unwrap().is_empty());
    let back = Varpack::load(&out).unwrap();
    assert_eq!(
        (ints(&back, "long"), ints(&back, "short")),
        (vec![9], vec![8])
    );
}

/// A directory pack with more arrays than the kernel allows maps (vm.max_map_count is 65530 by
/// default): a conversion holds none of them mapped, one value in memory at a time.
#[test]
fn a_directory_pack_with_more_arrays_than_maps_converts() {
    const N: usize = 70_000;
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("many");
    std::fs::create_dir(&pack).unwrap();
    // Written directly (a save would sync every file): the manifest and one .npy per array.
    let mut values = Vec::with_capacity(N);
    for i in 0..N {
        let name = format!("v{i:05}");
        std::fs::write(pack.join(format!("{name}.npy")), npy_bytes(&[i as i32])).unwrap();
        values.push(serde_json::json!({
            "name": name, "kind": "array", "file": format!("{name}.npy"), "dtype": "<i4",
            "fortran_order": false, "shape": [1], "bytes": 4,
        }));
    }
    let manifest = serde_json::json!({"format": "varpack", "version": 1, "values": values});
    std::fs::write(pack.join("varpack.json"), manifest.to_string()).unwrap();
    let out = dir.path().join("many.npz");
    convert::convert(&pack, &out, &ConvertOptions::new()).unwrap();
    let reader = npz_stream::NpzReader::open(&out).unwrap();
    assert_eq!(reader.len(), N + 1); // and the manifest
    let last = reader.read_array::<i32>(&format!("v{:05}", N - 1)).unwrap();
    assert_eq!(last.data, [N as i32 - 1]);
}
