//! A structured filepack: a few input bytes choose a deep or wide tree (depth up to 30,000,
//! past `MAX_DEPTH`; up to 1,024 siblings; names of 1 to 200 bytes), built with `PackWriter` or
//! patched past what the writer allows, then walked, verified and extracted into a scratch
//! directory. Arbitrary bytes never reach these depths: see `array_files_fuzz::structured_pack`.
#![no_main]

use array_files_fuzz::{exercise_structured_pack, structured_pack};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((shape, depth, bytes)) = structured_pack(data) {
        exercise_structured_pack(shape, depth, bytes);
    }
});
