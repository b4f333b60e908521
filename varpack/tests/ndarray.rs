//! `ndarray` in and out of packs: any layout stored, mapped arrays viewed without a copy in
//! both forms, owned copies of big-endian data.

#![cfg(feature = "ndarray")]

use varpack::ndarray::{Array3, Ix2, Ix3, IxDyn, s};
use varpack::{Status, Varpack};

#[test]
fn any_layout_is_stored_and_mapped_arrays_view_as_the_dimension_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let a = Array3::from_shape_fn((3, 4, 5), |(i, j, k)| (100 * i + 10 * j + k) as i64);
    let views = [
        a.view(),
        a.view().reversed_axes(),
        a.slice(s![..;2, 1.., ..;-2]),
        a.view().permuted_axes([2, 0, 1]),
    ];
    for form in ["p", "p.npz"] {
        let path = dir.path().join(form);
        let mut vp = Varpack::new();
        for (i, v) in views.iter().enumerate() {
            vp.insert_ndarray(&format!("v{i}"), v).unwrap();
        }
        vp.save_as(&path).unwrap();
        let vp = Varpack::load(&path).unwrap();
        for (i, v) in views.iter().enumerate() {
            let name = format!("v{i}");
            assert_eq!(vp.status(&name), Some(Status::Mapped), "{form} {name}");
            assert_eq!(vp.ndarray::<i64, Ix3>(&name).unwrap(), v, "{form} {name}");
            assert_eq!(vp.ndarray::<i64, IxDyn>(&name).unwrap().ndim(), 3);
            assert!(vp.ndarray::<i64, Ix2>(&name).is_err());
            assert!(vp.ndarray::<i32, Ix3>(&name).is_err());
        }
        // The reversed-axes view is Fortran-contiguous: stored as it is.
        assert!(vp.array("v1").unwrap().header().fortran_order);
    }
}
