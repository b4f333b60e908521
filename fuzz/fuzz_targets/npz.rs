//! An arbitrary `.npz`: opened (with and without zran indexes for foreign deflated members,
//! and read by ranges from memory as from object storage), listed, every member read whole, verified, viewed, and read by frames at random, through
//! the seek index of compressed members or a zran index built on the fly. When a member's
//! CRC-32 checks, every way of reading it must give the same bytes.
#![no_main]

use std::io::Read;

use array_files_fuzz::{exercise_frames, exercise_views, scratch_file};
use libfuzzer_sys::fuzz_target;
use npy_format::source::MemorySource;
use npz_stream::{FrameSource, NpzReader, ReaderOptions};

fn exercise(reader: &NpzReader, build_index: bool) {
    let _ = reader.len();
    let _ = reader.is_empty();
    let _ = reader.infos();
    let _ = reader.info("no such member");
    for key in reader.keys().into_iter().take(64) {
        let whole = reader.read_bytes(&key);
        let verified = reader.verify(&key).is_ok();
        let Ok(info) = reader.info(&key) else {
            continue;
        };
        // The array data as the whole, CRC-checked read has it.
        let data = match &whole {
            Ok(bytes) if verified => {
                let start = info.header_len as usize;
                let len = info.header.data_len().unwrap_or(u64::MAX);
                usize::try_from(len)
                    .ok()
                    .and_then(|len| bytes.get(start..start.checked_add(len)?))
            }
            _ => None,
        };
        if build_index {
            let _ = reader.build_index(&key, Some(4096));
        }
        // Reads through this crate's seek index are compared from the first point only: the
        // index has no checksum, and a corrupt uncompressed offset of a later point goes
        // undetected (a documented limit, see npz-stream's `format` docs).
        let checked = if info.indexed { None } else { data };
        if let Ok(mut member) = reader.member(&key) {
            let _ = member.name().len();
            if let (Some(data), Ok(frames)) = (data, member.read_frames(0, member.frame_count())) {
                assert!(
                    frames == data,
                    "read_frames(0, count) disagrees with the whole data"
                );
            }
            exercise_frames(&mut member, checked);
            // Twice, so the second reads start from where the first stopped or an index.
            exercise_frames(&mut member, checked);
        }
        if let Ok(mut stream) = reader.open_member(&key) {
            let _ = stream.size();
            let mut streamed = Vec::new();
            if stream.read_to_end(&mut streamed).is_ok()
                && let Ok(whole) = &whole
            {
                assert!(&streamed == whole, "open_member and read_bytes disagree");
            }
        }
        let _ = reader.read_array::<u8>(&key);
        let _ = reader.read_array::<f64>(&key);
        if let Ok(mapped) = reader.data(&key) {
            if let Some(data) = data {
                assert!(mapped == data, "data() and read_bytes disagree");
            }
            exercise_views(&info.header, mapped);
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
    // The same bytes read by ranges (as from object storage): never a panic, and every member
    // the file reads whole reads the same (both opened the archive of the end records).
    if let Ok(remote) = NpzReader::open_source(MemorySource::new(data.to_vec(), "fuzz.npz")) {
        exercise(&remote, false);
        if let Ok(local) = NpzReader::open(&path) {
            for key in local.keys().into_iter().take(64) {
                if let Ok(bytes) = local.read_bytes(&key) {
                    assert!(
                        remote.read_bytes(&key).ok() == Some(bytes),
                        "a read by ranges disagrees with the file's"
                    );
                }
            }
        }
    }
});
