//! Rust types that are a fixed numpy dtype and plain bytes, for zero-copy views and bulk reads.
//!
//! The trait is sealed: every implementation here is a type with no padding, no pointers, and
//! (except `bool`) no invalid bit patterns, which is what makes the casts in this crate sound.
//! `bool` is the exception and is validated (every byte 0 or 1) before a `&[bool]` is formed.

use crate::dtype::{ByteOrder, DType, Scalar, ScalarKind};
use crate::error::ViewError;

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that is exactly one numpy dtype, stored as plain bytes.
///
/// Implemented for `bool` (`|b1`), `i8`..`i64`, `u8`..`u64`, `f32`, `f64`, `[u8; N]` (`|S<N>`, and
/// views of `|V<N>`), `half::f16` with the `half` feature and `num_complex::Complex<f32 | f64>`
/// with the `num-complex` feature.
///
/// ```
/// use npy_format::{DType, Element};
/// assert_eq!(f64::dtype(), DType::parse("<f8").unwrap());
/// assert!(<[u8; 4]>::accepts(&DType::parse("|V4").unwrap()));
/// assert!(i32::accepts(&DType::parse(">i4").unwrap())); // byte order is checked separately
/// ```
pub trait Element: sealed::Sealed + Copy + Send + Sync + 'static {
    /// The dtype of this type in native byte order.
    fn dtype() -> DType;

    /// Whether data of `dtype` holds this type, in either byte order.
    fn accepts(dtype: &DType) -> bool {
        dtype.with_byte_order(ByteOrder::NATIVE) == Self::dtype()
    }

    /// Checks that `bytes` (native order, a whole number of items) are valid values.
    #[doc(hidden)]
    fn validate_bytes(_bytes: &[u8]) -> Result<(), ViewError> {
        Ok(())
    }
}

macro_rules! scalar_element {
    ($($ty:ty => $kind:ident),* $(,)?) => {$(
        impl sealed::Sealed for $ty {}
        impl Element for $ty {
            fn dtype() -> DType {
                DType::Scalar(Scalar::native(ScalarKind::$kind, std::mem::size_of::<$ty>()))
            }
        }
    )*};
}

scalar_element! {
    i8 => Int, i16 => Int, i32 => Int, i64 => Int,
    u8 => UInt, u16 => UInt, u32 => UInt, u64 => UInt,
    f32 => Float, f64 => Float,
}

impl sealed::Sealed for bool {}
impl Element for bool {
    fn dtype() -> DType {
        DType::Scalar(Scalar::native(ScalarKind::Bool, 1))
    }

    fn validate_bytes(bytes: &[u8]) -> Result<(), ViewError> {
        match bytes.iter().position(|&b| b > 1) {
            None => Ok(()),
            Some(index) => Err(ViewError::InvalidBool {
                index,
                value: bytes[index],
            }),
        }
    }
}

impl<const N: usize> sealed::Sealed for [u8; N] {}
impl<const N: usize> Element for [u8; N] {
    fn dtype() -> DType {
        DType::Scalar(Scalar::native(ScalarKind::Bytes, N))
    }

    fn accepts(dtype: &DType) -> bool {
        matches!(dtype, DType::Scalar(Scalar { kind: ScalarKind::Bytes | ScalarKind::Void, size, .. }) if *size == N)
    }
}

#[cfg(feature = "half")]
impl sealed::Sealed for half::f16 {}
#[cfg(feature = "half")]
impl Element for half::f16 {
    fn dtype() -> DType {
        DType::Scalar(Scalar::native(ScalarKind::Float, 2))
    }
}

#[cfg(feature = "num-complex")]
impl sealed::Sealed for num_complex::Complex<f32> {}
#[cfg(feature = "num-complex")]
impl Element for num_complex::Complex<f32> {
    fn dtype() -> DType {
        DType::Scalar(Scalar::native(ScalarKind::Complex, 8))
    }
}

#[cfg(feature = "num-complex")]
impl sealed::Sealed for num_complex::Complex<f64> {}
#[cfg(feature = "num-complex")]
impl Element for num_complex::Complex<f64> {
    fn dtype() -> DType {
        DType::Scalar(Scalar::native(ScalarKind::Complex, 16))
    }
}

/// The bytes of a slice of elements, in memory order.
///
/// ```
/// let bytes = npy_format::as_bytes(&[1u16, 2]);
/// assert_eq!(bytes.len(), 4);
/// ```
pub fn as_bytes<T: Element>(data: &[T]) -> &[u8] {
    // SAFETY: every Element is a sealed plain-data type without padding bytes (integers, floats,
    // bool, byte arrays, f16, and repr(C) Complex of two floats), so all of its bytes are
    // initialised; u8 has alignment 1 and the length covers exactly the slice's memory.
    unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<u8>(), std::mem::size_of_val(data)) }
}

/// The bytes of a mutable slice, for filling from a reader. Callers must validate the bytes with
/// [`Element::validate_bytes`] before the elements are read as `T` (this matters for `bool`).
pub(crate) fn as_bytes_mut_unvalidated<T: Element>(data: &mut [T]) -> &mut [u8] {
    // SAFETY: as in `as_bytes`; the returned borrow is exclusive. Writing arbitrary bytes is
    // allowed for every Element but bool, and for bool the crate validates the bytes before any
    // element is read (see `read::read_elements`), dropping the buffer unread on failure.
    unsafe {
        std::slice::from_raw_parts_mut(data.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(data))
    }
}

/// A `Vec<T>` of `len` zeroed elements. Large zeroed allocations come from the OS already zeroed,
/// so this costs no writes: a bulk read then touches each page once, as `std::fs::read` does.
pub(crate) fn zeroed_vec<T: Element>(len: usize) -> Vec<T> {
    if len == 0 || std::mem::size_of::<T>() == 0 {
        return Vec::new();
    }
    let layout = std::alloc::Layout::array::<T>(len).expect("caller checked the byte count");
    // SAFETY: the layout has non-zero size (len > 0 and T is not zero-sized).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<T>();
    if ptr.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    advise_huge_pages(ptr.cast::<u8>(), layout.size());
    // SAFETY: ptr was allocated by the global allocator with the layout of `len` Ts, so capacity
    // `len` matches; all-zero bytes are a valid value of every Element (0, 0.0, false, [0; N]).
    unsafe { Vec::from_raw_parts(ptr, len, len) }
}

/// Asks Linux to back a large, not yet touched buffer with transparent huge pages, as numpy's
/// allocator does for arrays of 4 MiB and more. Filling a 1 GiB buffer then takes 512 page faults
/// instead of 262144, which makes bulk reads about 2.5x faster on machines (VMs especially) where
/// faults are costly. It is advice only: contents and validity of the memory do not change.
#[cfg(target_os = "linux")]
fn advise_huge_pages(ptr: *mut u8, len: usize) {
    const PAGE: usize = 4096;
    const MIN_LEN: usize = 4 << 20;
    if len < MIN_LEN {
        return;
    }
    let start = (ptr as usize).next_multiple_of(PAGE);
    let end = (ptr as usize + len) & !(PAGE - 1);
    if end > start {
        // SAFETY: [start, end) lies inside the allocation just made (rounded inwards to page
        // boundaries), and MADV_HUGEPAGE only changes how the kernel backs those pages: it never
        // changes their contents or frees them. A failure (e.g. THP disabled) is harmless and
        // ignored.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_ptr: *mut u8, _len: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtypes_of_elements() {
        assert_eq!(bool::dtype().descr(), "'|b1'");
        assert_eq!(i8::dtype().descr(), "'|i1'");
        assert_eq!(
            u64::dtype().descr(),
            format!("'{}u8'", ByteOrder::NATIVE.as_char())
        );
        assert_eq!(<[u8; 3]>::dtype().descr(), "'|S3'");
    }

    #[test]
    fn accepts_ignores_byte_order_only() {
        assert!(f32::accepts(&DType::parse(">f4").unwrap()));
        assert!(!f32::accepts(&DType::parse("<i4").unwrap()));
        assert!(!<[u8; 3]>::accepts(&DType::parse("|S4").unwrap()));
        assert!(!u8::accepts(&DType::parse("[('a', '|u1')]").unwrap()));
    }

    #[test]
    fn bool_validation_names_the_element() {
        assert!(bool::validate_bytes(&[0, 1, 1]).is_ok());
        assert_eq!(
            bool::validate_bytes(&[0, 1, 7]),
            Err(ViewError::InvalidBool { index: 2, value: 7 })
        );
    }

    #[test]
    fn zeroed_vec_is_zero() {
        let v: Vec<f64> = zeroed_vec(1000);
        assert!(v.iter().all(|&x| x == 0.0));
        assert!(zeroed_vec::<u8>(0).is_empty());
    }
}
