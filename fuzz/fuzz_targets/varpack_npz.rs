//! An arbitrary single-file varpack (an `.npz` with a `__varpack__.json` manifest, or a plain
//! numpy `.npz`), loaded eagerly, lazily, copy-on-write and by `inspect`, and every value read.
#![no_main]

use array_files_fuzz::{exercise_varpack, scratch_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = scratch_file("pack.npz", data);
    exercise_varpack(&path);
});
