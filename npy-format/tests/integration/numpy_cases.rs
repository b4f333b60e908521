//! Hand-picked arrays built by numpy itself (not from our descr text): we read numpy's file, our
//! descr prints as numpy's, and re-writing the array gives numpy's bytes exactly.

use testkit::oracle;

use npy_format::{Header, NpyFile, Version};

/// Python expressions for arrays covering what the issue names: v2 and v3 headers, padding,
/// titles, nested records, sub-arrays, datetimes, strings, byte orders, Fortran order, 0-d,
/// empty arrays and high ranks.
const CASES: &[&str] = &[
    "np.arange(12, dtype='<f8').reshape(3, 4)",
    "np.array(5, dtype='<i4')",
    "np.zeros((0, 3), dtype='<f4')",
    "np.zeros((3, 0), dtype='<f4', order='F')",
    "np.arange(5, dtype='>i4')",
    "np.asfortranarray(np.arange(24, dtype='<i2').reshape(2, 3, 4))",
    "np.asfortranarray(np.arange(6, dtype='>u8').reshape(1, 6))",
    "np.zeros((1,) * 32, dtype='|u1')",
    "np.zeros((2,) + (1,) * 62 + (2,), dtype='<f4')",
    "np.array([True, False, True])",
    "np.array(['héllo', 'wörld', ''])",
    "np.array(['a', 'bc'], dtype='>U3')",
    "np.array([b'ab', b'c'], dtype='S3')",
    "np.frombuffer(bytes(range(15)), dtype='V5')",
    "np.arange('2020-01-01', '2020-01-05', dtype='M8[D]')",
    "np.array([1, 2], dtype='m8[25s]')",
    "np.array([1, -2], dtype='>M8[ns]')",
    "np.array(['NaT', 'NaT'], dtype='M8')",
    "np.array([1.5, 2.5], dtype='<f2')",
    "np.array([1 + 2j], dtype='>c8')",
    "np.array([1 + 2j], dtype=np.clongdouble)",
    "np.array([1.0, 2.0], dtype=np.longdouble)",
    "np.zeros(2, dtype=[('x', '<f4'), ('y', '<i8')])",
    "np.zeros(2, dtype=np.dtype([('a', 'u1'), ('b', '<i8')], align=True))",
    "np.zeros(2, dtype=np.dtype({'names': ['a', 'b'], 'formats': ['<i4', '<f8'], 'offsets': [4, 16], 'itemsize': 32}))",
    "np.zeros(2, dtype=[(('Title A', 'a'), '<i4'), ('b', '>f8')])",
    "np.zeros(2, dtype=[('pos', [('x', '<f4'), ('y', '<f4')]), ('id', '<u8', (2, 3))])",
    "np.zeros(1, dtype=[('m', [('n', '<i2', (2,))], (3,))])",
    "np.zeros(2, dtype=[('ж', '<f4'), ('日本', '<i2')])",
    "np.zeros(2, dtype=[('é', '<f4')])",
    "np.zeros(1, dtype=[(\"it's\", '<i4'), ('q\"', '<i4'), ('back\\\\slash', '<i4'), ('tab\\t', '|b1')])",
    "np.zeros(3, dtype=[('f%d' % i, '<i4') for i in range(6000)])",
    "np.zeros((4, 2), dtype=[('t', '<M8[us]'), ('d', '>m8[h]'), ('s', 'S2'), ('u', '<U1')])",
];

#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn numpy_built_arrays_round_trip_byte_identically() {
    let dir = tempfile::tempdir().unwrap();
    let mut numpy = oracle::shared();
    for (i, expr) in CASES.iter().enumerate() {
        let path = dir.path().join(format!("case{i}.npy"));
        let code = format!(
            "import warnings\nwarnings.simplefilter('ignore')\na = {expr}\n\
             with open({path:?}, 'wb') as f:\n    np.save(f, a)\n\
             result = {{'descr': repr(np.lib.format.dtype_to_descr(a.dtype)), 'shape': list(a.shape)}}",
            path = path.to_str().unwrap()
        );
        let facts = numpy.exec(&code);
        let file = NpyFile::options()
            .max_header_size(usize::MAX)
            .open(&path)
            .unwrap_or_else(|e| panic!("{expr}: {e}"));
        let header = file.header();
        assert_eq!(
            header.dtype.descr(),
            facts["descr"].as_str().unwrap(),
            "{expr}"
        );
        let shape: Vec<u64> = facts["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap())
            .collect();
        assert_eq!(header.shape, shape, "{expr}");
        let mut ours = Vec::new();
        npy_format::write_raw(&mut ours, header, file.data().unwrap()).unwrap();
        assert!(
            ours == std::fs::read(&path).unwrap(),
            "{expr}: our re-write differs from np.save's bytes"
        );
    }
}

#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn versions_two_and_three_are_chosen_as_numpy_chooses() {
    let dir = tempfile::tempdir().unwrap();
    let mut numpy = oracle::shared();
    for (expr, version) in [
        ("np.zeros(1, dtype=[('é', '<f4')])", Version::V1),
        (
            "np.zeros(1, dtype=[('f%d' % i, '<i4') for i in range(6000)])",
            Version::V2,
        ),
        ("np.zeros(1, dtype=[('ж', '<f4')])", Version::V3),
    ] {
        let path = dir.path().join("v.npy");
        numpy.exec(&format!(
            "import warnings\nwarnings.simplefilter('ignore')\nnp.save({:?}, {expr})",
            path.to_str().unwrap()
        ));
        let file = NpyFile::options()
            .max_header_size(1 << 20)
            .open(&path)
            .unwrap();
        assert_eq!(file.version(), version, "{expr}");
        assert_eq!(
            file.header().version(),
            version,
            "{expr}: our choice for the same header"
        );
    }
}

#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn headers_already_aligned_get_a_full_64_spaces_as_in_numpy() {
    // One of these name lengths makes the unpadded header a multiple of 64 bytes.
    let dir = tempfile::tempdir().unwrap();
    let mut numpy = oracle::shared();
    let mut saw_aligned = false;
    for n in 1..=64 {
        let name = "n".repeat(n);
        let header = Header::new(
            npy_format::DType::parse(&format!("[('{name}', '<i2')]")).unwrap(),
            false,
            vec![],
        );
        saw_aligned |= (10 + header.dict_text().len() + 1).is_multiple_of(64);
        let path = dir.path().join("a.npy");
        numpy.exec(&format!(
            "np.save({:?}, np.zeros((), dtype=[('{name}', '<i2')]))",
            path.to_str().unwrap()
        ));
        let mut ours = Vec::new();
        npy_format::write_raw(&mut ours, &header, &[0, 0]).unwrap();
        assert_eq!(
            ours,
            std::fs::read(&path).unwrap(),
            "name of {n} characters"
        );
    }
    assert!(saw_aligned, "no case exercised the 64-space rule");
}

#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn lenient_headers_numpy_accepts_we_accept() {
    // Headers numpy never writes but reads: other key order, odd spacing, trailing commas, the
    // Python 2 `L` suffix (format 1.0 and 2.0 only). numpy must agree that each is valid.
    let dir = tempfile::tempdir().unwrap();
    let mut numpy = oracle::shared();
    for (text, descr, shape) in [
        (
            "{'shape': (2L, 3L), 'fortran_order': False, 'descr': '<i8'}",
            "'<i8'",
            vec![2, 3],
        ),
        (
            "{ \"descr\" : \"<f4\" ,\n 'shape' : ( 4 , ) , 'fortran_order' : True , }",
            "'<f4'",
            vec![4],
        ),
        (
            "{'descr': [('a', '<i4', 2),], 'fortran_order': False, 'shape': (1,)}",
            "[('a', '<i4', (2,))]",
            vec![1],
        ),
    ] {
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        let padded = format!("{text:<117}\n");
        bytes.extend_from_slice(&(padded.len() as u16).to_le_bytes());
        bytes.extend_from_slice(padded.as_bytes());
        let header = Header::from_bytes(&bytes).unwrap().header;
        bytes.resize(128 + header.data_len().unwrap() as usize, 0);
        let path = dir.path().join("lenient.npy");
        std::fs::write(&path, &bytes).unwrap();
        let facts = numpy.exec(&format!(
            "import warnings\nwarnings.simplefilter('ignore')\na = np.load({:?})\n\
             result = [repr(np.lib.format.dtype_to_descr(a.dtype)), list(a.shape)]",
            path.to_str().unwrap()
        ));
        assert_eq!(header.dtype.descr(), descr);
        assert_eq!(facts[0].as_str().unwrap(), descr, "{text}");
        assert_eq!(header.shape, shape);
        assert_eq!(facts[1], serde_json::json!(shape), "{text}");
    }
}
