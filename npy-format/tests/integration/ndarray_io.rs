//! `ndarray` in and out: every memory layout written, read back equal (here and by numpy),
//! numpy's files of either byte order and order read into the dimension asked for.

#![cfg(feature = "ndarray")]

use npy_format::nd::{ReadNpy, WriteNpy, read_npy, write_npy};
use npy_format::ndarray::{Array, Array3, ArrayD, Axis, Ix2, Ix3, ShapeBuilder, s};
use npy_format::{DType, Header};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use testkit::oracle;

/// A 3-D array of `dims` and, by `layout`, a view of it: C order, Fortran order, stepped slice,
/// permuted axes (neither C nor F), a broadcast axis.
fn with_layout(
    dims: (usize, usize, usize),
    layout: u8,
    f: impl FnOnce(npy_format::ndarray::ArrayView3<'_, i32>),
) {
    let a = Array3::from_shape_fn(dims, |(i, j, k)| (i * 10_000 + j * 100 + k) as i32 - 500);
    let fa = Array::from_shape_vec(dims.f(), a.t().iter().copied().collect()).unwrap();
    match layout {
        0 => f(a.view()),
        1 => f(fa.view()),
        2 => f(a.slice(s![..;2, ..;-1, 1..])),
        3 => f(a.view().permuted_axes([1, 0, 2])),
        _ => {
            let row = a.index_axis(Axis(0), 0);
            let b = row.insert_axis(Axis(0));
            let b = b.broadcast((3, dims.1, dims.2)).unwrap();
            f(b)
        }
    }
}

#[test]
fn every_layout_is_written_and_read_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npy");
    for layout in 0..5 {
        for dims in [(1, 1, 1), (2, 3, 4), (4, 1, 5), (3, 0, 2)] {
            with_layout(dims, layout, |view| {
                write_npy(&path, &view).unwrap();
                let back = Array3::<i32>::read_npy(&path).unwrap();
                assert_eq!(back, view, "layout {layout} dims {dims:?}");
                // The C- or F-contiguous views are stored as they are in memory.
                let header = npy_format::read_file::<i32>(&path).unwrap().header;
                if view.as_slice().is_none() && view.t().as_slice().is_some() && view.len() > 1 {
                    assert!(header.fortran_order, "layout {layout} dims {dims:?}");
                }
            });
        }
    }
}

#[test]
fn the_dimension_asked_for_is_checked_and_either_byte_order_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("be.npy");
    // A big-endian Fortran-order int32 file, as numpy writes `a.astype('>i4', order='F')`.
    let header = Header::new(DType::parse(">i4").unwrap(), true, vec![2, 3]);
    let values: Vec<u8> = [1i32, 4, 2, 5, 3, 6]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let mut bytes = header.to_bytes().unwrap();
    bytes.extend_from_slice(&values);
    std::fs::write(&path, bytes).unwrap();
    let a = read_npy::<i32, Ix2>(&path).unwrap();
    assert_eq!(a, npy_format::ndarray::arr2(&[[1, 2, 3], [4, 5, 6]]));
    let err = read_npy::<i32, Ix3>(&path).unwrap_err();
    assert!(err.to_string().contains("2 axes, not 3"), "{err}");
    assert!(read_npy::<f32, Ix2>(&path).is_err());
    let any: ArrayD<i32> = read_npy(&path).unwrap();
    assert_eq!(any.shape(), &[2, 3]);
}

/// numpy loads what every layout writes, equal; we read numpy's files of random byte order and
/// order equal.
#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn numpy_agrees_on_every_layout_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours.npy");
    let theirs = dir.path().join("theirs.npy");
    let mut runner = TestRunner::new(Config::with_cases(48));
    runner
        .run(
            &((1usize..5, 1usize..5, 1usize..6), 0u8..5, any::<bool>(), any::<bool>()),
            |(dims, layout, big, fortran)| {
                let mut result = Ok(());
                with_layout(dims, layout, |view| {
                    view.write_npy(&ours).unwrap();
                    let values: Vec<i32> = view.iter().copied().collect();
                    let mut py = oracle::shared();
                    let got = py.exec(&format!(
                        "a = np.load({ours:?})\nresult = [list(a.shape), a.ravel().tolist(), str(a.dtype)]\n\
                         b = np.asarray(a, dtype={dt:?}); b = np.asfortranarray(b) if {fortran} else np.ascontiguousarray(b)\n\
                         np.save({theirs:?}, b)",
                        ours = ours.to_str().unwrap(),
                        theirs = theirs.to_str().unwrap(),
                        dt = if big { ">i4" } else { "<i4" },
                        fortran = if fortran { "True" } else { "False" },
                    ));
                    let expected = serde_json::json!([view.shape(), values, "int32"]);
                    if got != expected {
                        result = Err(TestCaseError::fail(format!("numpy read {got}, wrote {expected}")));
                        return;
                    }
                    let back = Array3::<i32>::read_npy(&theirs).unwrap();
                    if back != view {
                        result = Err(TestCaseError::fail(format!(
                            "numpy's file (big {big}, fortran {fortran}) read as {back:?}"
                        )));
                    }
                });
                result
            },
        )
        .unwrap();
}
