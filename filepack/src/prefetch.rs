//! A cache prefetch hint, for lookups that interleave their memory reads.
//!
//! A lookup in a large pack waits for main memory several times over, each read depending on
//! the one before. A batch of lookups can overlap those waits if each lookup asks for the line
//! it will need a few lookups ahead. A plain load cannot do that: a missing load stops the CPU
//! from retiring the work behind it, so a few of them fill its reorder window and stall it.
//! A prefetch instruction retires at once and lets the work go on while the line arrives.

/// Asks the CPU to bring the cache line holding `byte` into its caches, without waiting.
///
/// A hint only: it changes no value and cannot fail. Where no prefetch instruction is
/// available on stable Rust, it reads the byte instead (the line arrives all the same, less
/// overlapped).
#[inline(always)]
pub(crate) fn prefetch(byte: &u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: `_mm_prefetch` neither reads memory into the program nor faults, whatever
        // the address (and this one is a valid reference into the map); it is `unsafe` only
        // because it is declared `#[target_feature(enable = "sse")]`, and SSE is part of the
        // x86_64 baseline that every x86_64 target enables.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(byte).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::hint::black_box(*byte);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetch_changes_nothing() {
        let bytes = vec![7u8; 4096];
        for byte in bytes.iter().step_by(64) {
            prefetch(byte);
        }
        assert!(bytes.iter().all(|&b| b == 7));
    }
}
