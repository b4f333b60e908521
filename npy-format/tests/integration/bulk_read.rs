//! Bulk reads large enough to take the huge-page allocation path (4 MiB and more), in both byte
//! orders, from files and from plain readers.

use npy_format::{ByteOrder, DType, Element, Header};

#[test]
fn large_native_files_read_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.npy");
    let data: Vec<f64> = (0..(1 << 20) + 3).map(|i| i as f64 * 0.25 - 7.0).collect();
    npy_format::write_file(&path, &data, &[data.len() as u64]).unwrap();
    assert_eq!(npy_format::read_file::<f64>(&path).unwrap().data, data);
    let reader = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
    assert_eq!(npy_format::read_array::<f64, _>(reader).unwrap().data, data);
}

#[test]
fn large_big_endian_files_are_swapped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big_be.npy");
    let values: Vec<u32> = (0..(2 << 20))
        .map(|i: u32| i.wrapping_mul(2654435761))
        .collect();
    let other = match ByteOrder::NATIVE {
        ByteOrder::Little => ByteOrder::Big,
        _ => ByteOrder::Little,
    };
    let header = Header::new(
        u32::dtype().with_byte_order(other),
        false,
        vec![values.len() as u64],
    );
    let swapped: Vec<u8> = values
        .iter()
        .flat_map(|v| v.swap_bytes().to_ne_bytes())
        .collect();
    npy_format::write_raw(std::fs::File::create(&path).unwrap(), &header, &swapped).unwrap();
    let array = npy_format::read_file::<u32>(&path).unwrap();
    assert_eq!(
        array.header.dtype,
        DType::Scalar(npy_format::Scalar::new(
            npy_format::ScalarKind::UInt,
            other,
            4
        ))
    );
    assert_eq!(array.data, values);
}
