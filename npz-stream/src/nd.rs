//! `ndarray` in and out of archives (feature `ndarray`): members as views of the dimension
//! asked for (zero-copy for 64-byte aligned stored members), owned arrays from any member
//! (deflated, either byte order, C or Fortran order), and any `ArrayBase` added in any memory
//! layout.
//!
//! ```
//! use npz_stream::ndarray::{Array2, Ix2};
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("a.npz");
//! let a = Array2::from_shape_fn((3, 4), |(i, j)| (10 * i + j) as f32);
//! let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
//! npz.add_ndarray("a", &a.t()).unwrap(); // any layout: a transposed view
//! npz.finish().unwrap();
//! let reader = npz_stream::NpzReader::open(&path).unwrap();
//! assert_eq!(reader.ndarray::<f32, Ix2>("a").unwrap(), a.t()); // a view of the map
//! assert_eq!(reader.read_ndarray::<f32, Ix2>("a").unwrap(), a.t());
//! ```

use ndarray::{Array, ArrayBase, ArrayView, Data, Dimension};
use npy_format::{Element, Header};

use crate::error::{ReadError, ReadErrorKind, WriteError};
use crate::{NpzReader, NpzWriter};

impl NpzReader {
    /// Member `key` as a zero-copy `ndarray` view of dimension `D`, for members stored 64-byte
    /// aligned (what [`NpzWriter`] writes without compression).
    ///
    /// # Errors
    /// As [`view`](NpzReader::view); [`ReadErrorKind::View`] for another number of axes.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// npz.add_array("x", &[1u16, 2, 3, 4, 5, 6], &[2, 3]).unwrap();
    /// npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// let x = reader.ndarray::<u16, npz_stream::ndarray::Ix2>("x").unwrap();
    /// assert_eq!(x[[1, 2]], 6);
    /// assert!(reader.ndarray::<u16, npz_stream::ndarray::Ix1>("x").is_err());
    /// ```
    pub fn ndarray<T: Element, D: Dimension>(
        &self,
        key: &str,
    ) -> Result<ArrayView<'_, T, D>, ReadError> {
        let view = self.view::<T>(key)?;
        view.to_ndarray_dim::<D>()
            .map_err(|source| self.view_error(key, source))
    }

    /// Member `key` read into an owned `ndarray` array of dimension `D`: any member numpy
    /// reads (deflated or stored, either byte order, C or Fortran order kept as the layout).
    ///
    /// # Errors
    /// As [`read_array`](NpzReader::read_array); [`ReadErrorKind::View`] for another number of
    /// axes.
    ///
    /// ```
    /// use npz_stream::{Compression, NpzWriter, NpzReader};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = NpzWriter::options().compression(Compression::deflate()).create(&path).unwrap();
    /// npz.add_array("x", &[1.5f64, 2.5], &[2]).unwrap();
    /// npz.finish().unwrap();
    /// let x = NpzReader::open(&path).unwrap().read_ndarray::<f64, npz_stream::ndarray::Ix1>("x").unwrap();
    /// assert_eq!(x.to_vec(), [1.5, 2.5]);
    /// ```
    pub fn read_ndarray<T: Element, D: Dimension>(
        &self,
        key: &str,
    ) -> Result<Array<T, D>, ReadError> {
        let owned = self.read_array::<T>(key)?;
        npy_format::nd::into_array(owned).map_err(|source| self.view_error(key, source))
    }

    fn view_error(&self, key: &str, source: npy_format::ViewError) -> ReadError {
        let member = self
            .info(key)
            .map(|i| i.name)
            .unwrap_or_else(|_| key.to_owned());
        ReadError::new(
            self.path().to_path_buf(),
            ReadErrorKind::View { member, source },
        )
    }
}

impl NpzWriter {
    /// Adds any `ArrayBase` as member `key` (`key.npy`), in any memory layout: C-contiguous
    /// arrays as they are, Fortran-contiguous ones (a transposed view) in Fortran order, other
    /// views (steps, broadcast axes) copied in C order.
    ///
    /// # Errors
    /// As [`add_raw`](NpzWriter::add_raw).
    ///
    /// ```
    /// use npz_stream::ndarray::{Array2, s};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let a = Array2::from_shape_fn((4, 4), |(i, j)| (4 * i + j) as u8);
    /// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// let header = npz.add_ndarray("every_other", &a.slice(s![..;2, ..])).unwrap();
    /// assert_eq!(header.shape, vec![2, 4]);
    /// npz.finish().unwrap();
    /// ```
    pub fn add_ndarray<S, D>(
        &mut self,
        key: &str,
        array: &ArrayBase<S, D>,
    ) -> Result<Header, WriteError>
    where
        S: Data,
        S::Elem: Element,
        D: Dimension,
    {
        let shape: Vec<u64> = array.shape().iter().map(|&d| d as u64).collect();
        let layout = |fortran| Header::for_array(S::Elem::dtype(), fortran, shape.clone());
        let copied: Vec<S::Elem>;
        let (header, bytes) = if let Some(data) = array.as_slice() {
            (layout(false), npy_format::as_bytes(data))
        } else if let Some(data) = array
            .as_slice_memory_order()
            .filter(|_| array.t().is_standard_layout())
        {
            (layout(true), npy_format::as_bytes(data))
        } else {
            // Any other view: its elements in C order (ndarray's iteration order).
            copied = array.iter().copied().collect();
            (layout(false), npy_format::as_bytes(&copied))
        };
        self.add_raw(key, &header, bytes)?;
        Ok(header)
    }
}
