//! An arbitrary `.npy` file: opened read-only and copy-on-write (`NpyFile`), viewed as every
//! element type, read by frames and as a whole (`read_file`, and `read_array` from the bytes).
#![no_main]

use array_files_fuzz::{
    MAX_READ, affordable, exercise_frames, exercise_header, exercise_views, ranges, scratch_file,
};
use libfuzzer_sys::fuzz_target;
use npy_format::{Mode, NpyFile};

fn exercise_file(file: &mut NpyFile) {
    let _ = file.version();
    let _ = file.data_offset();
    let _ = file.trailing_len();
    let header = file.header().clone();
    exercise_header(&header);
    if let Ok(data) = file.data() {
        exercise_views(&header, data);
    }
    let _ = file.view::<u8>();
    let _ = file.view::<f64>();
    let _ = file.view::<half::f16>();
    if header.data_len().is_some_and(|n| n <= MAX_READ) {
        let _ = file.to_vec::<u16>();
        let _ = file.to_vec::<num_complex::Complex<f64>>();
    }
    let count = header.frame_count();
    let frame_len = header.frame_len().unwrap_or(u64::MAX);
    for (start, end) in ranges(count) {
        if affordable(start, end, count, frame_len)
            && let Ok(bytes) = file.frames(start, end)
        {
            assert_eq!(bytes.len() as u64, (end - start) * frame_len);
        }
    }
    exercise_frames(file);
}

fuzz_target!(|data: &[u8]| {
    let path = scratch_file("input.npy", data);
    if let Ok(mut file) = NpyFile::open(&path) {
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
    let _ = npy_format::read_file::<u8>(&path);
    let _ = npy_format::read_file::<f32>(&path);
    let _ = npy_format::read_file::<bool>(&path);
    let _ = npy_format::read_array::<u8, _>(data);
    let _ = npy_format::read_array::<i64, _>(data);
    let _ = npy_format::read_array::<[u8; 3], _>(data);
});
