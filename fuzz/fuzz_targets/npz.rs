//! An arbitrary `.npz`: opened (with and without zran indexes for foreign deflated members),
//! listed, every member read whole, verified, viewed, and read by frames at random, through
//! the seek index of compressed members or a zran index built on the fly.
#![no_main]

use std::io::Read;

use array_files_fuzz::{MAX_READ, exercise_frames, exercise_views, scratch_file};
use libfuzzer_sys::fuzz_target;
use npz_stream::{NpzReader, ReaderOptions};

fn exercise(reader: &NpzReader, build_index: bool) {
    let _ = reader.len();
    let _ = reader.is_empty();
    let _ = reader.infos();
    let _ = reader.info("no such member");
    for key in reader.keys().into_iter().take(64) {
        let Ok(info) = reader.info(&key) else {
            let _ = reader.read_bytes(&key);
            continue;
        };
        let small = info.size <= MAX_READ;
        if build_index {
            let _ = reader.build_index(&key, Some(4096));
        }
        if let Ok(mut member) = reader.member(&key) {
            let _ = member.name().len();
            exercise_frames(&mut member);
            // Twice, so the second reads start from where the first stopped or an index.
            exercise_frames(&mut member);
        }
        if let Ok(mut stream) = reader.open_member(&key) {
            let _ = stream.size();
            let mut sink = Vec::new();
            let _ = (&mut stream).take(MAX_READ).read_to_end(&mut sink);
        }
        if small {
            let _ = reader.read_bytes(&key);
            let _ = reader.verify(&key);
            let _ = reader.read_array::<u8>(&key);
            let _ = reader.read_array::<f64>(&key);
        }
        if let Ok(data) = reader.data(&key) {
            exercise_views(&info.header, data);
        }
        let _ = reader.view::<u8>(&key);
        let _ = reader.view::<i32>(&key);
    }
}

fuzz_target!(|data: &[u8]| {
    let path = scratch_file("input.npz", data);
    if let Ok(reader) = NpzReader::open(&path) {
        exercise(&reader, false);
    }
    if let Ok(reader) = ReaderOptions::default().index_foreign(true).open(&path) {
        exercise(&reader, true);
    }
});
