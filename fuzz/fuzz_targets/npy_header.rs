//! The NPY preamble and descr parsers on arbitrary bytes: `Header::from_bytes`,
//! `Header::read_from` with other limits, and `DType::parse` on the input as text; every
//! header that parses is printed and parsed back.
#![no_main]

use array_files_fuzz::exercise_header;
use libfuzzer_sys::fuzz_target;
use npy_format::{ByteOrder, DType, Header, ReadOptions};

fn exercise_dtype(dtype: &DType) {
    let descr = dtype.descr();
    let _ = dtype.descr_json();
    let _ = dtype.to_string();
    let _ = dtype.itemsize();
    let _ = dtype.has_object();
    let _ = dtype.as_scalar();
    let _ = dtype.is_native();
    let _ = dtype.canonical().descr();
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let _ = dtype.with_byte_order(order).descr();
    }
    if dtype.itemsize() <= 4096 {
        let mut item = vec![0x5au8; dtype.itemsize() * 2];
        dtype.swap_bytes(&mut item);
    }
    // What we print we must read back, and print the same way.
    let again = DType::parse(&descr)
        .unwrap_or_else(|e| panic!("descr {descr:?} that we printed does not parse: {e}"));
    assert_eq!(again.descr(), descr, "descr is not a fixpoint");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(dtype) = DType::parse(text)
    {
        exercise_dtype(&dtype);
    }
    if let Ok(parsed) = Header::from_bytes(data) {
        assert!(
            parsed.data_offset <= data.len() as u64,
            "data offset past the input"
        );
        exercise_dtype(&parsed.header.dtype);
        exercise_header(&parsed.header);
    }
    for max in [0, 64, 1 << 20] {
        let _ = Header::read_from(&mut &data[..], ReadOptions::default().max_header_size(max));
    }
});
