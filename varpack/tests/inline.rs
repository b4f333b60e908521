//! Small dict arrays stored among the dict's JSON entries (`set_dict_array_min_elements`):
//! every dtype and order back exactly, in both forms, appends included; a damaged entry is an
//! error naming it.

use varpack::npy_format::{DType, Header};
use varpack::{Array, Item, LoadErrorKind, Varpack};

fn arrays() -> Vec<(&'static str, Array)> {
    let be = Header::new(DType::parse(">u2").unwrap(), false, vec![2]);
    let rec = Header::new(
        DType::parse("[('a', '<i2'), ('b', '|u1')]").unwrap(),
        false,
        vec![2],
    );
    let fortran = Header::new(DType::parse("<i4").unwrap(), true, vec![2, 2]);
    let scalar = Header::new(DType::parse("<f8").unwrap(), false, vec![]);
    vec![
        ("be", Array::from_bytes(be, &[0, 1, 0, 2]).unwrap()),
        ("rec", Array::from_bytes(rec, &[1, 0, 7, 2, 0, 8]).unwrap()),
        (
            "fortran",
            Array::from_bytes(fortran, &[1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0]).unwrap(),
        ),
        (
            "scalar",
            Array::from_bytes(scalar, &2.5f64.to_le_bytes()).unwrap(),
        ),
        ("empty", Array::from_slice::<f32>(&[], &[0]).unwrap()),
        ("big", Array::from_slice(&[7u8; 100], &[100]).unwrap()),
    ]
}

#[test]
fn small_dict_arrays_come_back_exactly_from_both_forms() {
    let dir = tempfile::tempdir().unwrap();
    for form in ["p", "p.npz"] {
        let path = dir.path().join(form);
        let mut vp = Varpack::create(&path);
        let mut entries: Vec<(&str, Item)> = arrays()
            .into_iter()
            .map(|(k, a)| (k, Item::from(a)))
            .collect();
        entries.push(("note", Item::json("kept").unwrap()));
        vp.insert_dict("d", entries).unwrap();
        vp.set_dict_array_min_elements(Some(50));
        vp.save().unwrap();
        if form == "p" {
            let npy: Vec<_> = std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.ends_with(".npy"))
                .collect();
            assert_eq!(npy.len(), 1, "only the big array has a file: {npy:?}");
        }
        // An append with the setting stores its small arrays the same way.
        let mut vp = Varpack::append(&path).unwrap();
        vp.set_dict_array_min_elements(Some(50));
        vp.insert_dict(
            "e",
            [(
                "x",
                Item::from(Array::from_slice(&[1i64, 2], &[2]).unwrap()),
            )],
        )
        .unwrap();
        vp.save().unwrap();
        let back = Varpack::load(&path).unwrap();
        for (key, a) in arrays() {
            let got = back.dict_array("d", key).unwrap();
            assert_eq!(got.header(), a.header(), "{form} {key}");
            assert_eq!(got.as_bytes(), a.as_bytes(), "{form} {key}");
        }
        assert_eq!(back.dict_value::<String>("d", "note").unwrap(), "kept");
        assert_eq!(
            back.dict_array("e", "x").unwrap().to_vec::<i64>().unwrap(),
            [1, 2]
        );
    }
}

#[test]
fn a_damaged_inline_array_is_an_error_naming_the_dict_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p");
    let mut vp = Varpack::create(&path);
    vp.insert_dict(
        "d",
        [(
            "k",
            Item::from(Array::from_slice(&[1u32, 2], &[2]).unwrap()),
        )],
    )
    .unwrap();
    vp.set_dict_array_min_elements(Some(10));
    vp.save().unwrap();
    let values = path.join(varpack::VALUES);
    let text = std::fs::read_to_string(&values).unwrap();
    // Data one element short of its shape.
    std::fs::write(&values, text.replace("AQAAAAIAAAA=", "AQAAAA==")).unwrap();
    let err = Varpack::load(&path).unwrap_err();
    assert!(
        matches!(err.kind(), LoadErrorKind::Manifest { reason } if reason.contains("dict 'd', key 'k'")),
        "{err}"
    );
}
