//! Typed, zero-copy views of NPY data, and byte-swapping copies when a view is impossible.
//!
//! A view checks, in this order, and reports the first failure: the dtype holds no Python objects,
//! the dtype is the element type, the buffer is exactly the array's length, the byte order is
//! native, the buffer is aligned for the element type, and (for `bool`) every byte is 0 or 1.
//!
//! Fortran-order data is not reordered: the slice is in storage order and the view reports the
//! shape and strides that say how to index it (the first axis varies fastest).

use crate::dtype::{ByteOrder, DType};
use crate::element::{self, Element};
use crate::error::ViewError;
use crate::header::Header;

/// A checked, read-only view of an array's data as `T`.
///
/// ```
/// use npy_format::{DType, Element, Header, TypedView, as_bytes};
/// let values = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let header = Header::new(f64::dtype(), false, vec![2, 3]);
/// let view = TypedView::<f64>::new(&header, as_bytes(&values)).unwrap();
/// assert_eq!(view.get(&[1, 0]), Some(&4.0));
/// assert_eq!(view.strides(), vec![3, 1]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TypedView<'a, T> {
    pub(crate) data: &'a [T],
    pub(crate) header: &'a Header,
}

/// A checked, mutable view of an array's data as `T`.
///
/// ```
/// use npy_format::{Element, Header, TypedViewMut};
/// let header = Header::new(u8::dtype(), false, vec![2, 2]);
/// let mut bytes = [0u8; 4];
/// let mut view = TypedViewMut::<u8>::new(&header, &mut bytes).unwrap();
/// *view.get_mut(&[1, 0]).unwrap() = 7;
/// assert_eq!(bytes, [0, 0, 7, 0]);
/// ```
#[derive(Debug)]
pub struct TypedViewMut<'a, T> {
    pub(crate) data: &'a mut [T],
    pub(crate) header: &'a Header,
}

fn check_layout<T: Element>(header: &Header, bytes: &[u8]) -> Result<(), ViewError> {
    if header.dtype.has_object() {
        return Err(ViewError::Object);
    }
    if !T::accepts(&header.dtype) {
        return Err(ViewError::DTypeMismatch {
            expected: T::dtype().descr(),
            found: header.dtype.descr(),
        });
    }
    let expected = header.data_len().unwrap_or(u64::MAX);
    if bytes.len() as u64 != expected {
        return Err(ViewError::Length {
            expected,
            actual: bytes.len() as u64,
        });
    }
    Ok(())
}

fn check_native(dtype: &DType) -> Result<(), ViewError> {
    if dtype.is_native() {
        Ok(())
    } else {
        Err(ViewError::ByteOrder {
            found: dtype
                .as_scalar()
                .map_or(ByteOrder::NotApplicable, |s| s.byte_order),
            native: ByteOrder::NATIVE,
        })
    }
}

fn check_view<T: Element>(header: &Header, bytes: &[u8]) -> Result<(), ViewError> {
    check_layout::<T>(header, bytes)?;
    check_native(&header.dtype)?;
    let align = std::mem::align_of::<T>();
    let address = bytes.as_ptr() as usize;
    if !address.is_multiple_of(align) {
        return Err(ViewError::Misaligned { address, align });
    }
    T::validate_bytes(bytes)
}

impl<'a, T: Element> TypedView<'a, T> {
    /// Views `bytes`, the data of an array described by `header`, as `T`.
    ///
    /// # Errors
    /// The first check that fails, as a [`ViewError`].
    ///
    /// ```
    /// use npy_format::{DType, Header, TypedView, ViewError};
    /// let header = Header::new(DType::parse(">i4").unwrap(), false, vec![1]);
    /// let err = TypedView::<i32>::new(&header, &[0, 0, 0, 1]).unwrap_err();
    /// assert!(matches!(err, ViewError::ByteOrder { .. } | ViewError::Misaligned { .. }));
    /// ```
    pub fn new(header: &'a Header, bytes: &'a [u8]) -> Result<Self, ViewError> {
        check_view::<T>(header, bytes)?;
        let len = bytes.len() / std::mem::size_of::<T>().max(1);
        // SAFETY: check_view proved the buffer holds exactly `len` items of T (the dtype's itemsize
        // is size_of::<T>()), is aligned for T, and is valid for T (bools validated). Element types
        // are plain data, and the borrow keeps the bytes alive and unmodified for 'a.
        let data = unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<T>(), len) };
        Ok(TypedView { data, header })
    }

    /// The elements in storage order (C order, or Fortran order if [`Self::is_fortran`]).
    ///
    /// ```
    /// use npy_format::{Element, Header, TypedView};
    /// let header = Header::new(u8::dtype(), false, vec![3]);
    /// let view = TypedView::<u8>::new(&header, &[4, 5, 6]).unwrap();
    /// assert_eq!(view.as_slice(), &[4, 5, 6]);
    /// ```
    pub fn as_slice(&self) -> &'a [T] {
        self.data
    }

    /// The array's shape.
    ///
    /// ```
    /// use npy_format::{Element, Header, TypedView};
    /// let header = Header::new(u8::dtype(), false, vec![2, 3]);
    /// let view = TypedView::<u8>::new(&header, &[0; 6]).unwrap();
    /// assert_eq!(view.shape(), &[2, 3]);
    /// ```
    pub fn shape(&self) -> &'a [u64] {
        &self.header.shape
    }

    /// Whether the first axis varies fastest in [`Self::as_slice`].
    ///
    /// ```
    /// use npy_format::{Element, Header, TypedView};
    /// let header = Header::new(u8::dtype(), true, vec![2, 3]);
    /// let view = TypedView::<u8>::new(&header, &[1, 2, 3, 4, 5, 6]).unwrap();
    /// assert!(view.is_fortran());
    /// assert_eq!(view.get(&[1, 0]), Some(&2)); // the first axis varies fastest
    /// ```
    pub fn is_fortran(&self) -> bool {
        self.header.fortran_order
    }

    /// Strides in elements for each axis.
    ///
    /// ```
    /// use npy_format::{Element, Header, TypedView};
    /// let c = Header::new(u8::dtype(), false, vec![2, 3]);
    /// assert_eq!(TypedView::<u8>::new(&c, &[0; 6]).unwrap().strides(), vec![3, 1]);
    /// let f = Header::new(u8::dtype(), true, vec![2, 3]);
    /// assert_eq!(TypedView::<u8>::new(&f, &[0; 6]).unwrap().strides(), vec![1, 2]);
    /// ```
    pub fn strides(&self) -> Vec<u64> {
        element_strides(self.header)
    }

    /// The element at a multi-dimensional index, or `None` if out of bounds.
    ///
    /// ```
    /// use npy_format::{Element, Header, TypedView};
    /// let header = Header::new(u8::dtype(), false, vec![2, 3]);
    /// let view = TypedView::<u8>::new(&header, &[1, 2, 3, 4, 5, 6]).unwrap();
    /// assert_eq!(view.get(&[1, 2]), Some(&6));
    /// assert_eq!(view.get(&[2, 0]), None); // out of bounds
    /// assert_eq!(view.get(&[1]), None); // wrong number of axes
    /// ```
    pub fn get(&self, index: &[u64]) -> Option<&'a T> {
        flat_index(self.header, index).and_then(|i| self.data.get(i))
    }

    /// An `ndarray` view with numpy's shape and strides.
    ///
    /// # Errors
    /// [`ViewError::Shape`] if the shape does not fit in memory sizes.
    ///
    /// ```
    /// # use npy_format::{Element, Header, TypedView, as_bytes};
    /// let data = [1i32, 2, 3, 4, 5, 6];
    /// let header = Header::new(i32::dtype(), true, vec![2, 3]);
    /// let array = TypedView::<i32>::new(&header, as_bytes(&data)).unwrap().to_ndarray().unwrap();
    /// assert_eq!(array[[1, 0]], 2);
    /// assert_eq!(array[[0, 1]], 3);
    /// ```
    #[cfg(feature = "ndarray")]
    pub fn to_ndarray(&self) -> Result<ndarray::ArrayView<'a, T, ndarray::IxDyn>, ViewError> {
        let shape = ndarray_shape(self.header)?;
        ndarray::ArrayView::from_shape(shape, self.data).map_err(|e| ViewError::Shape {
            reason: e.to_string(),
        })
    }
}

impl<'a, T: Element> TypedViewMut<'a, T> {
    /// Views `bytes` mutably as `T`, with the same checks as [`TypedView::new`].
    ///
    /// # Errors
    /// The first check that fails, as a [`ViewError`].
    ///
    /// ```
    /// use npy_format::{Element, Header, TypedViewMut, ViewError};
    /// let header = Header::new(u8::dtype(), false, vec![3]);
    /// let mut bytes = [1u8, 2, 3];
    /// TypedViewMut::<u8>::new(&header, &mut bytes).unwrap().as_mut_slice()[0] = 9;
    /// assert_eq!(bytes, [9, 2, 3]);
    /// let err = TypedViewMut::<u8>::new(&header, &mut bytes[..2]).unwrap_err();
    /// assert_eq!(err, ViewError::Length { expected: 3, actual: 2 });
    /// ```
    pub fn new(header: &'a Header, bytes: &'a mut [u8]) -> Result<Self, ViewError> {
        check_view::<T>(header, bytes)?;
        let len = bytes.len() / std::mem::size_of::<T>().max(1);
        // SAFETY: as in TypedView::new; the exclusive borrow of the bytes becomes an exclusive
        // borrow of the elements. Any T written through it is a valid byte pattern for T.
        let data = unsafe { std::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast::<T>(), len) };
        Ok(TypedViewMut { data, header })
    }

    /// The elements in storage order.
    ///
    /// ```
    /// use npy_format::{Element, Header, TypedViewMut};
    /// let header = Header::new(u8::dtype(), false, vec![3]);
    /// let mut bytes = [4u8, 5, 6];
    /// let view = TypedViewMut::<u8>::new(&header, &mut bytes).unwrap();
    /// assert_eq!(view.as_slice(), &[4, 5, 6]);
    /// ```
    pub fn as_slice(&self) -> &[T] {
        self.data
    }

    /// The elements in storage order, mutably.
    ///
    /// ```
    /// use npy_format::{Element, Header, TypedViewMut};
    /// let header = Header::new(u8::dtype(), false, vec![3]);
    /// let mut bytes = [4u8, 5, 6];
    /// let mut view = TypedViewMut::<u8>::new(&header, &mut bytes).unwrap();
    /// view.as_mut_slice().reverse();
    /// assert_eq!(bytes, [6, 5, 4]);
    /// ```
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        self.data
    }

    /// The array's shape.
    ///
    /// ```
    /// use npy_format::{Element, Header, TypedViewMut};
    /// let header = Header::new(u8::dtype(), false, vec![2, 2]);
    /// let mut bytes = [0u8; 4];
    /// let view = TypedViewMut::<u8>::new(&header, &mut bytes).unwrap();
    /// assert_eq!(view.shape(), &[2, 2]);
    /// ```
    pub fn shape(&self) -> &[u64] {
        &self.header.shape
    }

    /// Strides in elements for each axis.
    ///
    /// ```
    /// use npy_format::{Element, Header, TypedViewMut};
    /// let header = Header::new(u8::dtype(), true, vec![2, 3]);
    /// let mut bytes = [0u8; 6];
    /// let view = TypedViewMut::<u8>::new(&header, &mut bytes).unwrap();
    /// assert_eq!(view.strides(), vec![1, 2]);
    /// ```
    pub fn strides(&self) -> Vec<u64> {
        element_strides(self.header)
    }

    /// The element at a multi-dimensional index, mutably.
    ///
    /// ```
    /// use npy_format::{Element, Header, TypedViewMut};
    /// let header = Header::new(u8::dtype(), true, vec![2, 2]);
    /// let mut bytes = [0u8; 4];
    /// let mut view = TypedViewMut::<u8>::new(&header, &mut bytes).unwrap();
    /// *view.get_mut(&[0, 1]).unwrap() = 7;
    /// assert!(view.get_mut(&[2, 0]).is_none());
    /// assert_eq!(bytes, [0, 0, 7, 0]); // Fortran order: [0, 1] is the third element
    /// ```
    pub fn get_mut(&mut self, index: &[u64]) -> Option<&mut T> {
        flat_index(self.header, index).and_then(|i| self.data.get_mut(i))
    }

    /// A mutable `ndarray` view with numpy's shape and strides.
    ///
    /// # Errors
    /// [`ViewError::Shape`] if the shape does not fit in memory sizes.
    ///
    /// ```
    /// use npy_format::{Element, Header, TypedViewMut};
    /// let header = Header::new(u8::dtype(), true, vec![2, 2]);
    /// let mut bytes = [0u8; 4];
    /// let view = TypedViewMut::<u8>::new(&header, &mut bytes).unwrap();
    /// let mut array = view.into_ndarray().unwrap();
    /// array[[0, 1]] = 9;
    /// assert_eq!(bytes, [0, 0, 9, 0]);
    /// ```
    #[cfg(feature = "ndarray")]
    pub fn into_ndarray(self) -> Result<ndarray::ArrayViewMut<'a, T, ndarray::IxDyn>, ViewError> {
        let shape = ndarray_shape(self.header)?;
        ndarray::ArrayViewMut::from_shape(shape, self.data).map_err(|e| ViewError::Shape {
            reason: e.to_string(),
        })
    }
}

#[cfg(feature = "ndarray")]
fn ndarray_shape(header: &Header) -> Result<ndarray::Shape<ndarray::IxDyn>, ViewError> {
    crate::nd::dim_of(&header.shape, header.fortran_order)
}

fn element_strides(header: &Header) -> Vec<u64> {
    let itemsize = header.dtype.itemsize().max(1) as u64;
    header.strides().into_iter().map(|s| s / itemsize).collect()
}

fn flat_index(header: &Header, index: &[u64]) -> Option<usize> {
    if index.len() != header.shape.len() {
        return None;
    }
    let strides = element_strides(header);
    let mut flat = 0u64;
    for ((&i, &dim), &stride) in index.iter().zip(&header.shape).zip(&strides) {
        if i >= dim {
            return None;
        }
        flat = flat.checked_add(i.checked_mul(stride)?)?;
    }
    usize::try_from(flat).ok()
}

/// Copies an array's data into a `Vec<T>` in native byte order, byte-swapping when the data is in
/// the other order and whatever its alignment. The order of elements is the storage order.
///
/// # Errors
/// [`ViewError`] for a dtype mismatch, a wrong length, object data or invalid bools.
///
/// ```
/// use npy_format::{DType, Header, to_vec};
/// let header = Header::new(DType::parse(">u2").unwrap(), false, vec![2]);
/// assert_eq!(to_vec::<u16>(&header, &[0x01, 0x02, 0x00, 0x05]).unwrap(), vec![0x0102, 5]);
/// ```
pub fn to_vec<T: Element>(header: &Header, bytes: &[u8]) -> Result<Vec<T>, ViewError> {
    check_layout::<T>(header, bytes)?;
    let len = bytes.len() / std::mem::size_of::<T>().max(1);
    let mut out: Vec<T> = element::zeroed_vec(len);
    let dst = element::as_bytes_mut_unvalidated(&mut out);
    dst.copy_from_slice(bytes);
    if !header.dtype.is_native() {
        header.dtype.swap_bytes(dst);
    }
    T::validate_bytes(dst)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::element::as_bytes;

    #[test]
    fn each_check_reports_its_own_failure() {
        let header = Header::new(f64::dtype(), false, vec![2]);
        let data = [1.0f64, 2.0];
        let bytes = as_bytes(&data);
        assert!(TypedView::<f64>::new(&header, bytes).is_ok());
        assert!(matches!(
            TypedView::<f32>::new(&header, bytes),
            Err(ViewError::DTypeMismatch { .. })
        ));
        assert!(matches!(
            TypedView::<f64>::new(&header, &bytes[..8]),
            Err(ViewError::Length { .. })
        ));
        let shifted = Header::new(f64::dtype(), false, vec![1]);
        assert!(matches!(
            TypedView::<f64>::new(&shifted, &bytes[4..12]),
            Err(ViewError::Misaligned { align: 8, .. })
        ));
        let other = Header::new(f64::dtype().with_byte_order(ByteOrder::Big), false, vec![2]);
        assert!(matches!(
            TypedView::<f64>::new(&other, bytes),
            Err(ViewError::ByteOrder { .. })
        ));
        let obj = Header::new(DType::parse("|O").unwrap(), false, vec![2]);
        assert_eq!(
            TypedView::<u64>::new(&obj, bytes).unwrap_err(),
            ViewError::Object
        );
    }

    #[test]
    fn bools_are_validated() {
        let header = Header::new(bool::dtype(), false, vec![3]);
        assert_eq!(
            TypedView::<bool>::new(&header, &[1, 0, 1])
                .unwrap()
                .as_slice(),
            &[true, false, true]
        );
        assert_eq!(
            TypedView::<bool>::new(&header, &[1, 2, 1]).unwrap_err(),
            ViewError::InvalidBool { index: 1, value: 2 }
        );
        assert!(to_vec::<bool>(&header, &[0, 0, 9]).is_err());
    }

    #[test]
    fn fortran_views_index_honestly() {
        let data: Vec<i32> = (0..6).collect();
        let header = Header::new(i32::dtype(), true, vec![2, 3]);
        let view = TypedView::<i32>::new(&header, as_bytes(&data)).unwrap();
        assert_eq!(view.strides(), vec![1, 2]);
        assert_eq!(view.get(&[1, 2]), Some(&5));
        assert_eq!(view.get(&[0, 1]), Some(&2));
        assert_eq!(view.get(&[2, 0]), None);
        assert_eq!(view.get(&[0]), None);
    }

    #[test]
    fn to_vec_swaps_any_alignment() {
        let header = Header::new(DType::parse(">i4").unwrap(), false, vec![2]);
        let bytes = [9u8, 0, 0, 0, 1, 0, 0, 0, 2];
        assert_eq!(to_vec::<i32>(&header, &bytes[1..]).unwrap(), vec![1, 2]);
    }
}
