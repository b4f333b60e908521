//! `.npy` files inside packs: frame sources and zero-copy typed views.

use npy_format::{FrameSource, NpyFile};
use treepack::{ErrorKind, Pack, PackBuilder};

#[test]
fn npy_in_a_pack_is_a_zero_copy_frame_source() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("arrays")).unwrap();
    let a: Vec<f32> = (0..60).map(|i| i as f32 * 0.5).collect();
    let b: Vec<i64> = (0..7).map(|i| -i).collect();
    npy_format::write_file(src.join("arrays/a.npy"), &a, &[20, 3]).unwrap();
    npy_format::write_file(src.join("arrays/b.npy"), &b, &[7]).unwrap();
    std::fs::write(src.join("arrays/odd.bin"), b"x").unwrap(); // shifts nothing: aligned
    let out = tmp.path().join("p.fpack");
    PackBuilder::new().pack_dir(&src, &out).unwrap();

    let pack = Pack::open(&out).unwrap();
    let mut packed = pack.npy("arrays/a.npy").unwrap();
    let mut file = NpyFile::open(src.join("arrays/a.npy")).unwrap();
    assert_eq!(packed.header(), FrameSource::header(&file));
    assert_eq!(packed.frame_count(), 20);
    assert_eq!(packed.frame_len(), 12);
    assert_eq!(
        packed.read_frames(3, 9).unwrap(),
        file.read_frames(3, 9).unwrap()
    );
    assert!(packed.read_frames(19, 21).is_err());
    let mut buf = vec![0u8; 24];
    packed.read_frames_into(18, &mut buf).unwrap();
    assert!(packed.read_frames_into(19, &mut buf).is_err());
    let mut partial = vec![0u8; 13];
    assert!(matches!(
        packed.read_frames_into(0, &mut partial),
        Err(ref e) if matches!(e.kind(), ErrorKind::Frames(_))
    ));

    // Zero-copy: the view points into the map, 64-byte aligned.
    let view = packed.view::<f32>().unwrap();
    assert_eq!(view.as_slice(), &a[..]);
    let map = pack.as_bytes().as_ptr_range();
    let ptr = view.as_slice().as_ptr() as *const u8;
    assert!(map.contains(&ptr));
    assert_eq!(ptr as usize % 64, 0);
    assert_eq!(
        pack.npy("arrays/b.npy")
            .unwrap()
            .view::<i64>()
            .unwrap()
            .as_slice(),
        &b[..]
    );

    // Errors: wrong type, not an npy, truncated npy.
    assert!(
        matches!(packed.view::<f64>(), Err(ref e) if matches!(e.kind(), ErrorKind::View { .. }))
    );
    assert!(
        matches!(pack.npy("arrays/odd.bin"), Err(ref e) if matches!(e.kind(), ErrorKind::Npy { .. }))
    );
    assert!(
        matches!(pack.npy("arrays"), Err(ref e) if matches!(e.kind(), ErrorKind::NotAFile { .. }))
    );
}

#[test]
fn truncated_npy_and_small_alignment() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let mut npy = Vec::new();
    npy_format::write_array(&mut npy, &[1.0f64, 2.0, 3.0, 4.0], &[4], false).unwrap();
    std::fs::write(src.join("short.npy"), &npy[..npy.len() - 3]).unwrap();
    std::fs::write(src.join("a"), b"123").unwrap();
    std::fs::write(src.join("b.npy"), &npy).unwrap();
    let out = tmp.path().join("p.fpack");
    PackBuilder::new()
        .alignment(1)
        .unwrap()
        .pack_dir(&src, &out)
        .unwrap();
    let pack = Pack::open(&out).unwrap();
    assert!(matches!(
        pack.npy("short.npy"),
        Err(ref e) if matches!(e.kind(), ErrorKind::NpyTruncated { .. })
    ));
    // With alignment 1 the data may be misaligned: a typed view says so, a copy still works.
    let b = pack.npy("b.npy").unwrap();
    match b.view::<f64>() {
        Ok(v) => assert_eq!(v.as_slice(), &[1.0, 2.0, 3.0, 4.0]),
        Err(e) => assert!(e.to_string().contains("misaligned"), "{e}"),
    }
    assert_eq!(b.to_vec::<f64>().unwrap(), vec![1.0, 2.0, 3.0, 4.0]);
}
