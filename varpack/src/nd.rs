//! `ndarray` in and out (feature `ndarray`): arrays of a pack as `ndarray` views of the
//! dimension asked for (zero-copy, mapped arrays included), owned copies of any byte order,
//! and any `ArrayBase` (any memory layout) stored as an array.
//!
//! ```
//! use varpack::ndarray::{Ix2, array};
//! let mut vp = varpack::Varpack::new();
//! vp.insert_ndarray("m", &array![[1.0f64, 2.0], [3.0, 4.0]].t()).unwrap(); // any layout
//! let m = vp.ndarray::<f64, Ix2>("m").unwrap(); // a view, no copy
//! assert_eq!(m[[0, 1]], 3.0);
//! ```

use ndarray::{ArrayBase, ArrayView, ArrayViewMut, Data, Dimension};
use npy_format::{Element, Header, as_bytes};

use crate::error::{ArrayError, GetError, InsertError};
use crate::{Array, Varpack};

impl Array {
    /// Any `ArrayBase`, in any memory layout, copied into an array (a Fortran-contiguous one
    /// keeps its layout; other views are stored in C order).
    ///
    /// # Errors
    /// [`ArrayError::Overflow`] for a shape whose byte count overflows.
    ///
    /// ```
    /// use varpack::ndarray::{Array2, s};
    /// let a = Array2::from_shape_fn((3, 4), |(i, j)| (10 * i + j) as u8);
    /// let stored = varpack::Array::from_ndarray(&a.slice(s![.., ..;2])).unwrap();
    /// assert_eq!(stored.shape(), &[3, 2]);
    /// assert_eq!(stored.to_vec::<u8>().unwrap(), [0, 2, 10, 12, 20, 22]);
    /// ```
    pub fn from_ndarray<S, D>(array: &ArrayBase<S, D>) -> Result<Array, ArrayError>
    where
        S: Data,
        S::Elem: Element,
        D: Dimension,
    {
        let shape: Vec<u64> = array.shape().iter().map(|&d| d as u64).collect();
        let header = |fortran| Header::for_array(S::Elem::dtype(), fortran, shape.clone());
        if let Some(data) = array.as_slice() {
            return Array::from_bytes(header(false), as_bytes(data));
        }
        if let Some(data) = array.t().as_slice() {
            return Array::from_bytes(header(true), as_bytes(data));
        }
        // Any other view: its elements in C order (ndarray's iteration order).
        let data: Vec<S::Elem> = array.iter().copied().collect();
        Array::from_bytes(header(false), as_bytes(&data))
    }

    /// A zero-copy `ndarray` view of dimension `D` (`Ix1`, `Ix2`, ..., `IxDyn`), with numpy's
    /// strides (Fortran-order arrays view column-major).
    ///
    /// # Errors
    /// [`ArrayError::View`]: another dtype or byte order than `T`'s, or another number of axes.
    ///
    /// ```
    /// let a = varpack::Array::from_slice(&[1i32, 2, 3, 4, 5, 6], &[2, 3]).unwrap();
    /// let v = a.to_ndarray::<i32, varpack::ndarray::Ix2>().unwrap();
    /// assert_eq!(v[[1, 0]], 4);
    /// assert!(a.to_ndarray::<i32, varpack::ndarray::Ix1>().is_err());
    /// ```
    pub fn to_ndarray<T: Element, D: Dimension>(&self) -> Result<ArrayView<'_, T, D>, ArrayError> {
        Ok(self.view::<T>()?.to_ndarray_dim::<D>()?)
    }

    /// A writable zero-copy `ndarray` view (see [`as_bytes_mut`](Self::as_bytes_mut)).
    ///
    /// # Errors
    /// [`ArrayError::ReadOnly`]; as [`to_ndarray`](Self::to_ndarray).
    ///
    /// ```
    /// let mut a = varpack::Array::from_slice(&[0u8; 4], &[2, 2]).unwrap();
    /// a.to_ndarray_mut::<u8, varpack::ndarray::Ix2>().unwrap()[[1, 1]] = 9;
    /// assert_eq!(a.to_vec::<u8>().unwrap(), [0, 0, 0, 9]);
    /// ```
    pub fn to_ndarray_mut<T: Element, D: Dimension>(
        &mut self,
    ) -> Result<ArrayViewMut<'_, T, D>, ArrayError> {
        Ok(self.view_mut::<T>()?.into_ndarray_dim::<D>()?)
    }

    /// An owned `ndarray` array of dimension `D`, from data of either byte order (swapped to
    /// native) and any alignment.
    ///
    /// # Errors
    /// [`ArrayError::View`]: another dtype than `T`, or another number of axes.
    ///
    /// ```
    /// use varpack::npy_format::{DType, Header};
    /// let header = Header::new(DType::parse(">u2").unwrap(), false, vec![2]);
    /// let a = varpack::Array::from_bytes(header, &[0, 1, 0, 2]).unwrap();
    /// let owned = a.to_owned_ndarray::<u16, varpack::ndarray::Ix1>().unwrap();
    /// assert_eq!(owned.to_vec(), [1, 2]);
    /// ```
    pub fn to_owned_ndarray<T: Element, D: Dimension>(
        &self,
    ) -> Result<ndarray::Array<T, D>, ArrayError> {
        let data = self.to_vec::<T>()?;
        let owned = npy_format::OwnedArray {
            header: self.header().clone(),
            data,
        };
        Ok(npy_format::nd::into_array(owned)?)
    }
}

impl Varpack {
    /// Adds any `ArrayBase` (any memory layout) as array `name`, copied.
    ///
    /// # Errors
    /// As [`insert`](Self::insert); [`InsertError::Array`].
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_ndarray("x", &varpack::ndarray::arr1(&[1u32, 2])).unwrap();
    /// assert_eq!(vp.array("x").unwrap().to_vec::<u32>().unwrap(), [1, 2]);
    /// ```
    pub fn insert_ndarray<S, D>(
        &mut self,
        name: &str,
        array: &ArrayBase<S, D>,
    ) -> Result<(), InsertError>
    where
        S: Data,
        S::Elem: Element,
        D: Dimension,
    {
        let array = Array::from_ndarray(array).map_err(|source| InsertError::Array {
            name: name.to_owned(),
            source,
        })?;
        self.insert(name, array)
    }

    /// Array `name` as a zero-copy `ndarray` view of dimension `D` (mapped arrays included).
    ///
    /// # Errors
    /// As [`array`](Self::array); [`GetError::Array`] for another dtype, byte order or number
    /// of axes.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("x", &[1.0f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// let x = vp.ndarray::<f32, varpack::ndarray::Ix2>("x").unwrap();
    /// assert_eq!(x.sum(), 10.0);
    /// ```
    pub fn ndarray<T: Element, D: Dimension>(
        &self,
        name: &str,
    ) -> Result<ArrayView<'_, T, D>, GetError> {
        self.array(name)?
            .to_ndarray::<T, D>()
            .map_err(|source| GetError::Array {
                name: name.to_owned(),
                source,
            })
    }
}
