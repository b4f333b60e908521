//! The optional element types and the ndarray adapter, through real files.

#[cfg(feature = "half")]
#[test]
fn f16_files_view_and_read() {
    use half::f16;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.npy");
    let values: Vec<f16> = [0.5f32, -1.25, 65504.0]
        .iter()
        .map(|&v| f16::from_f32(v))
        .collect();
    let header = npy_format::write_file(&path, &values, &[3]).unwrap();
    assert_eq!(header.dtype.descr(), "'<f2'");
    let file = npy_format::NpyFile::open(&path).unwrap();
    assert_eq!(file.view::<f16>().unwrap().as_slice(), &values[..]);
    assert_eq!(npy_format::read_file::<f16>(&path).unwrap().data, values);
}

#[cfg(feature = "num-complex")]
#[test]
fn complex_files_view_and_swap() {
    use num_complex::Complex;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.npy");
    let values = [Complex::new(1.0f64, -2.0), Complex::new(0.5, 4.0)];
    let header = npy_format::write_file(&path, &values, &[2]).unwrap();
    assert_eq!(header.dtype.descr(), "'<c16'");
    let file = npy_format::NpyFile::open(&path).unwrap();
    assert_eq!(file.view::<Complex<f64>>().unwrap().as_slice(), &values);

    // Big-endian complex: each half is swapped on its own.
    let be = npy_format::Header::new(npy_format::DType::parse(">c8").unwrap(), false, vec![1]);
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&1.5f32.to_be_bytes());
    bytes.extend_from_slice(&(-3.0f32).to_be_bytes());
    assert_eq!(
        npy_format::to_vec::<Complex<f32>>(&be, &bytes).unwrap(),
        vec![Complex::new(1.5, -3.0)]
    );
}

#[cfg(feature = "ndarray")]
#[test]
fn ndarray_views_carry_numpy_strides() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.npy");
    // A (2, 3) Fortran-order array whose storage is 0..6: element [i, j] = i + 2 j.
    let data: Vec<i64> = (0..6).collect();
    npy_format::write_array(std::fs::File::create(&path).unwrap(), &data, &[2, 3], true).unwrap();
    let mut file = npy_format::NpyFile::options()
        .mode(npy_format::Mode::ReadWrite)
        .open(&path)
        .unwrap();
    {
        let array = file.view::<i64>().unwrap().to_ndarray().unwrap();
        assert_eq!(array.shape(), &[2, 3]);
        for i in 0..2 {
            for j in 0..3 {
                assert_eq!(array[[i, j]], (i + 2 * j) as i64);
            }
        }
    }
    let mut array = file.view_mut::<i64>().unwrap().into_ndarray().unwrap();
    array[[1, 2]] = -1;
    file.flush().unwrap();
    assert_eq!(npy_format::read_file::<i64>(&path).unwrap().data[5], -1);
}

/// The frame traits' provided methods check ranges and layouts and report them with the
/// source's own context (its path), not a placeholder.
#[test]
fn provided_frame_methods_check_with_the_sources_context() {
    use npy_format::{FrameSource, NpyFile, ReadErrorKind};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("frames.npy");
    npy_format::write_file(&path, &(0u16..12).collect::<Vec<_>>(), &[4, 3]).unwrap();
    let mut file = NpyFile::open(&path).unwrap();
    let mut buf = [0u8; 12];
    file.read_frames_into(2, &mut buf).unwrap();
    assert_eq!(buf, [6, 0, 7, 0, 8, 0, 9, 0, 10, 0, 11, 0]);
    for err in [
        file.read_frames_into(3, &mut buf).unwrap_err(), // past the end
        file.read_frames_into(0, &mut buf[..5]).unwrap_err(), // a partial frame
        file.read_frames(3, 2).unwrap_err(),             // reversed
    ] {
        assert!(
            matches!(err.kind(), ReadErrorKind::Frames { .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with(&path.display().to_string()),
            "{err}"
        );
    }
}
