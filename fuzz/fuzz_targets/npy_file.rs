//! An arbitrary `.npy` file: opened read-only and copy-on-write (`NpyFile`), viewed as every
//! element type, read by frames and as a whole (`read_file`, and `read_array` from the bytes);
//! the mapped, file and stream readers must agree on the data.
#![no_main]

use array_files_fuzz::{exercise_frames, exercise_header, exercise_views, ranges, scratch_file};
use libfuzzer_sys::fuzz_target;
use npy_format::{Mode, NpyFile};

fn exercise_file(file: &mut NpyFile) {
    let _ = file.version();
    let _ = file.data_offset();
    let _ = file.trailing_len();
    let header = file.header().clone();
    exercise_header(&header);
    let data = file.data().ok().map(<[u8]>::to_vec);
    if let Some(data) = &data {
        exercise_views(&header, data);
    }
    let _ = file.view::<u8>();
    let _ = file.view::<f64>();
    let _ = file.view::<half::f16>();
    let _ = file.to_vec::<u16>();
    let _ = file.to_vec::<num_complex::Complex<f64>>();
    let count = header.frame_count();
    let frame_len = header.frame_len().unwrap_or(u64::MAX);
    for (start, end) in ranges(count) {
        if let Ok(bytes) = file.frames(start, end) {
            assert_eq!(bytes.len() as u64, (end - start) * frame_len);
        }
    }
    exercise_frames(file, data.as_deref());
}

fuzz_target!(|data: &[u8]| {
    let path = scratch_file("input.npy", data);
    let from_file = npy_format::read_file::<u8>(&path);
    let from_stream = npy_format::read_array::<u8, _>(data);
    if let (Ok(a), Ok(b)) = (&from_file, &from_stream) {
        assert_eq!(a, b, "read_file and read_array disagree");
    }
    if let Ok(mut file) = NpyFile::open(&path) {
        if let (Ok(mapped), Ok(read)) = (file.data(), &from_file) {
            assert_eq!(
                file.header(),
                &read.header,
                "NpyFile and read_file headers differ"
            );
            assert_eq!(mapped, &read.data[..], "NpyFile and read_file data differ");
        }
        if let (Ok(mapped), Ok(read)) = (file.to_vec::<i64>(), npy_format::read_file::<i64>(&path))
        {
            assert_eq!(mapped, read.data, "NpyFile::to_vec and read_file differ");
        }
        exercise_file(&mut file);
    }
    if let Ok(mut file) = NpyFile::options().mode(Mode::CopyOnWrite).open(&path) {
        if let Ok(bytes) = file.data_mut()
            && let Some(b) = bytes.first_mut()
        {
            *b ^= 0xff;
        }
        if let Ok(mut view) = file.view_mut::<u8>() {
            let _ = view.as_mut_slice().len();
            let zeros = vec![0u64; view.shape().len()];
            let _ = view.get_mut(&zeros);
        }
        exercise_file(&mut file);
    }
    let _ = npy_format::read_file::<f32>(&path);
    let _ = npy_format::read_file::<bool>(&path);
    let _ = npy_format::read_array::<i64, _>(data);
    let _ = npy_format::read_array::<[u8; 3], _>(data);
});
