//! An arbitrary directory-form varpack: a manifest (`varpack.json`) and the files beside it
//! (input format in the crate docs of `array_files_fuzz`), loaded eagerly, lazily, copy-on-write
//! and by `inspect`, and every value read.
#![no_main]

use array_files_fuzz::{exercise_varpack, scratch_dir, split_files};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = scratch_dir().join("pack");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating the pack directory");
    for (name, bytes) in split_files(data) {
        std::fs::write(dir.join(name), bytes).expect("writing a pack file");
    }
    exercise_varpack(&dir);
});
