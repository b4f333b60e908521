//! `ndarray` in and out of archives: every layout added is what numpy loads, numpy's members
//! of either byte order and order read back as the dimension asked for.

#![cfg(feature = "ndarray")]

use npz_stream::ndarray::{Array3, Ix3, s};
use npz_stream::{NpzReader, NpzWriter};
use testkit::oracle;

fn sample() -> Array3<i32> {
    Array3::from_shape_fn((3, 4, 5), |(i, j, k)| (100 * i + 10 * j + k) as i32)
}

#[test]
fn every_layout_added_reads_back_as_a_view_and_owned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npz");
    let a = sample();
    let views = [
        a.view(),
        a.view().reversed_axes(),
        a.slice(s![..;2, 1.., ..;-1]),
    ];
    let mut npz = NpzWriter::create(&path).unwrap();
    for (i, v) in views.iter().enumerate() {
        npz.add_ndarray(&format!("v{i}"), v).unwrap();
    }
    npz.finish().unwrap();
    let reader = NpzReader::open(&path).unwrap();
    for (i, v) in views.iter().enumerate() {
        let key = format!("v{i}");
        assert_eq!(reader.ndarray::<i32, Ix3>(&key).unwrap(), v, "{key}");
        assert_eq!(reader.read_ndarray::<i32, Ix3>(&key).unwrap(), v, "{key}");
    }
    assert!(reader.info("v1").unwrap().header.fortran_order);
}

#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn numpy_agrees_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours.npz");
    let theirs = dir.path().join("theirs.npz");
    let a = sample();
    let mut npz = NpzWriter::create(&ours).unwrap();
    npz.add_ndarray("t", &a.view().reversed_axes()).unwrap();
    npz.add_ndarray("s", &a.slice(s![.., ..;3, 1..])).unwrap();
    npz.finish().unwrap();
    let mut py = oracle::shared();
    let result = py.exec(&format!(
        "z = np.load({ours:?})\nresult = [z['t'].tolist(), z['s'].tolist(), bool(z['t'].flags.f_contiguous)]\n\
         a = np.arange(60, dtype='>i4').reshape(3, 4, 5)\n\
         np.savez_compressed({theirs:?}, f=np.asfortranarray(a), c=a)",
        ours = ours.to_str().unwrap(),
        theirs = theirs.to_str().unwrap(),
    ));
    let t: Vec<i32> = a.view().reversed_axes().iter().copied().collect();
    let flat = |v: &serde_json::Value| -> Vec<i64> {
        fn walk(v: &serde_json::Value, out: &mut Vec<i64>) {
            match v {
                serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
                other => out.push(other.as_i64().unwrap()),
            }
        }
        let mut out = Vec::new();
        walk(v, &mut out);
        out
    };
    assert_eq!(
        flat(&result[0]),
        t.iter().map(|&x| i64::from(x)).collect::<Vec<_>>()
    );
    let s: Vec<i64> = a
        .slice(s![.., ..;3, 1..])
        .iter()
        .map(|&x| i64::from(x))
        .collect();
    assert_eq!(flat(&result[1]), s);
    assert_eq!(result[2], true);
    let reader = NpzReader::open(&theirs).unwrap();
    let expected = Array3::from_shape_fn((3, 4, 5), |(i, j, k)| (20 * i + 5 * j + k) as i32);
    for key in ["f", "c"] {
        assert_eq!(
            reader.read_ndarray::<i32, Ix3>(key).unwrap(),
            expected,
            "{key}"
        );
    }
}
