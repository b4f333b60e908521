//! `ndarray` in and out (feature `ndarray`): owned arrays read from any `.npy` of their element
//! type (either byte order, C or Fortran order) with the dimension the caller names, views of
//! mapped data with that dimension, and any `ArrayBase` written in any memory layout.
//!
//! ```
//! use npy_format::nd::{ReadNpy, WriteNpy};
//! use npy_format::ndarray::{Array2, array};
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("a.npy");
//! let a = array![[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]];
//! a.t().write_npy(&path).unwrap(); // a transposed view: written in Fortran order, no copy
//! let back = Array2::<f64>::read_npy(&path).unwrap();
//! assert_eq!(back, a.t());
//! ```
//!
//! The same jobs with ndarray-npy: `read_npy(path)` / `write_npy(path, &array)` are here too,
//! as functions, and the traits give `Array2::<f64>::read_npy(path)` / `array.write_npy(path)`.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use ndarray::{Array, ArrayBase, ArrayView, ArrayViewMut, Data, Dimension, IxDyn, ShapeBuilder};

use crate::element::{Element, as_bytes};
use crate::error::{ReadError, ReadErrorKind, ViewError, WriteError};
use crate::header::Header;
use crate::read::OwnedArray;
use crate::view::{TypedView, TypedViewMut};

/// The dimension `D` of an array of `shape` stored in Fortran order or not.
pub(crate) fn dim_of<D: Dimension>(
    shape: &[u64],
    fortran: bool,
) -> Result<ndarray::Shape<D>, ViewError> {
    let dims = shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<usize>, _>>()
        .map_err(|_| ViewError::Shape {
            reason: "a dimension exceeds usize".into(),
        })?;
    let dim = D::from_dimension(&IxDyn(&dims)).ok_or_else(|| ViewError::Shape {
        reason: match D::NDIM {
            Some(n) => format!("the array has {} axes, not {n}", dims.len()),
            None => "the dimension does not fit".into(),
        },
    })?;
    Ok(dim.set_f(fortran))
}

/// An [`OwnedArray`] as an `ndarray` array of dimension `D` (its storage kept, no copy).
///
/// # Errors
/// [`ViewError::Shape`] if the file's number of axes is not `D`'s.
///
/// ```
/// let owned = npy_format::OwnedArray { header: npy_format::Header::new(
///     <u8 as npy_format::Element>::dtype(), false, vec![2, 2]), data: vec![1u8, 2, 3, 4] };
/// let a = npy_format::nd::into_array::<u8, npy_format::ndarray::Ix2>(owned).unwrap();
/// assert_eq!(a[[1, 0]], 3);
/// ```
pub fn into_array<T: Element, D: Dimension>(
    owned: OwnedArray<T>,
) -> Result<Array<T, D>, ViewError> {
    let shape = dim_of::<D>(&owned.header.shape, owned.header.fortran_order)?;
    Array::from_shape_vec(shape, owned.data).map_err(|e| ViewError::Shape {
        reason: e.to_string(),
    })
}

/// Reads the `.npy` file at `path` into an owned array of dimension `D` (`Ix1`, `Ix2`, ...,
/// or `IxDyn` for any): either byte order (swapped to native), C or Fortran order (kept as
/// the array's memory layout, not copied).
///
/// # Errors
/// [`ReadError`] naming the file: I/O, a bad header, another dtype than `T`, another number of
/// axes than `D` ([`ViewError::Shape`]), a truncated file.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npy");
/// npy_format::write_file(&path, &[1i32, 2, 3, 4, 5, 6], &[2, 3]).unwrap();
/// let a = npy_format::nd::read_npy::<i32, npy_format::ndarray::Ix2>(&path).unwrap();
/// assert_eq!(a[[1, 2]], 6);
/// assert!(npy_format::nd::read_npy::<i32, npy_format::ndarray::Ix3>(&path).is_err());
/// ```
pub fn read_npy<T: Element, D: Dimension>(
    path: impl AsRef<Path>,
) -> Result<Array<T, D>, ReadError> {
    let path = path.as_ref();
    let owned = crate::read::read_file::<T>(path)?;
    into_array(owned)
        .map_err(|source| ReadError::new(path.to_path_buf(), ReadErrorKind::View { source }))
}

/// [`read_npy`] from any reader (a zip member, a socket): memory grows with the bytes that
/// arrive, never with what the header claims.
///
/// # Errors
/// As [`read_npy`] (the path is `<reader>`).
///
/// ```
/// use npy_format::nd::{read_npy_from, write_npy_to};
/// let mut bytes = Vec::new();
/// write_npy_to(&mut bytes, &npy_format::ndarray::arr1(&[1u16, 2, 3])).unwrap();
/// let a = read_npy_from::<u16, npy_format::ndarray::Ix1, _>(bytes.as_slice()).unwrap();
/// assert_eq!(a.to_vec(), [1, 2, 3]);
/// ```
pub fn read_npy_from<T: Element, D: Dimension, R: Read>(
    reader: R,
) -> Result<Array<T, D>, ReadError> {
    let owned = crate::read::read_array::<T, R>(reader)?;
    into_array(owned)
        .map_err(|source| ReadError::new(PathBuf::from("<reader>"), ReadErrorKind::View { source }))
}

/// Writes `array` as a `.npy` file at `path` (replacing any file there), in any memory layout:
/// C-contiguous arrays are written as they are, Fortran-contiguous ones (a transposed view) as
/// Fortran order without a copy, any other view (a slice with steps, broadcast axes) element by
/// element in C order through a bounded buffer. Never panics on a layout.
///
/// # Errors
/// [`WriteError`]: I/O, or a shape whose byte count overflows.
///
/// ```
/// use npy_format::ndarray::{Array2, s};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npy");
/// let a = Array2::from_shape_fn((4, 6), |(i, j)| (10 * i + j) as u32);
/// npy_format::nd::write_npy(&path, &a.slice(s![..;2, 1..;3])).unwrap(); // not contiguous
/// let back = npy_format::read_file::<u32>(&path).unwrap();
/// assert_eq!(back.header.shape, vec![2, 2]);
/// assert_eq!(back.data, vec![1, 4, 21, 24]);
/// ```
pub fn write_npy<S, D>(path: impl AsRef<Path>, array: &ArrayBase<S, D>) -> Result<(), WriteError>
where
    S: Data,
    S::Elem: Element,
    D: Dimension,
{
    let mut out = BufWriter::with_capacity(1 << 16, File::create(path)?);
    write_npy_to(&mut out, array)?;
    out.flush()?;
    Ok(())
}

/// [`write_npy`] to any writer.
///
/// # Errors
/// As [`write_npy`].
///
/// ```
/// let a = npy_format::ndarray::arr2(&[[1i8, 2], [3, 4]]);
/// let mut bytes = Vec::new();
/// npy_format::nd::write_npy_to(&mut bytes, &a.t()).unwrap();
/// let back = npy_format::read_array::<i8, _>(bytes.as_slice()).unwrap();
/// assert!(back.header.fortran_order);
/// assert_eq!(back.data, vec![1, 2, 3, 4]); // Fortran order of the transposed view
/// ```
pub fn write_npy_to<S, D, W>(mut writer: W, array: &ArrayBase<S, D>) -> Result<(), WriteError>
where
    S: Data,
    S::Elem: Element,
    D: Dimension,
    W: Write,
{
    let shape: Vec<u64> = array.shape().iter().map(|&d| d as u64).collect();
    if let Some(data) = array.as_slice() {
        crate::write::write_array(&mut writer, data, &shape, false)?;
        return Ok(());
    }
    if let Some(data) = array.t().as_slice() {
        crate::write::write_array(&mut writer, data, &shape, true)?;
        return Ok(());
    }
    // Another layout: its elements in C order (ndarray's iteration order), a chunk at a time.
    let header = Header::for_array(S::Elem::dtype(), false, shape);
    crate::write::write_header(&mut writer, &header)?;
    const CHUNK_BYTES: usize = 1 << 16;
    let per_chunk = (CHUNK_BYTES / std::mem::size_of::<S::Elem>().max(1)).max(1);
    let mut chunk: Vec<S::Elem> = Vec::with_capacity(per_chunk.min(array.len()));
    for item in array.iter() {
        chunk.push(*item);
        if chunk.len() == per_chunk {
            writer.write_all(as_bytes(&chunk))?;
            chunk.clear();
        }
    }
    writer.write_all(as_bytes(&chunk))?;
    Ok(())
}

/// `Array2::<f64>::read_npy(path)`: [`read_npy`] as an associated function of the array type.
pub trait ReadNpy: Sized {
    /// Reads the `.npy` file at `path` (see [`read_npy`]).
    ///
    /// # Errors
    /// As [`read_npy`].
    ///
    /// ```
    /// use npy_format::nd::ReadNpy;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[1.5f32, 2.5], &[2]).unwrap();
    /// let a = npy_format::ndarray::Array1::<f32>::read_npy(&path).unwrap();
    /// assert_eq!(a.to_vec(), [1.5, 2.5]);
    /// ```
    fn read_npy(path: impl AsRef<Path>) -> Result<Self, ReadError>;
}

impl<T: Element, D: Dimension> ReadNpy for Array<T, D> {
    fn read_npy(path: impl AsRef<Path>) -> Result<Self, ReadError> {
        read_npy(path)
    }
}

/// `array.write_npy(path)`: [`write_npy`] as a method of any `ArrayBase`.
pub trait WriteNpy {
    /// Writes the array as a `.npy` file at `path` (see [`write_npy`]).
    ///
    /// # Errors
    /// As [`write_npy`].
    ///
    /// ```
    /// use npy_format::nd::WriteNpy;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::ndarray::arr1(&[1u64, 2]).write_npy(&path).unwrap();
    /// assert_eq!(npy_format::read_file::<u64>(&path).unwrap().data, vec![1, 2]);
    /// ```
    fn write_npy(&self, path: impl AsRef<Path>) -> Result<(), WriteError>;
}

impl<S, D> WriteNpy for ArrayBase<S, D>
where
    S: Data,
    S::Elem: Element,
    D: Dimension,
{
    fn write_npy(&self, path: impl AsRef<Path>) -> Result<(), WriteError> {
        write_npy(path, self)
    }
}

impl<'a, T: Element> TypedView<'a, T> {
    /// An `ndarray` view of dimension `D` (`Ix2`, ...) with numpy's shape and strides.
    ///
    /// # Errors
    /// [`ViewError::Shape`] if the array's number of axes is not `D`'s.
    ///
    /// ```
    /// # use npy_format::{Element, Header, TypedView, as_bytes};
    /// use npy_format::ndarray::Ix2;
    /// let data = [1i32, 2, 3, 4, 5, 6];
    /// let header = Header::new(i32::dtype(), false, vec![2, 3]);
    /// let view = TypedView::<i32>::new(&header, as_bytes(&data)).unwrap();
    /// let a = view.to_ndarray_dim::<Ix2>().unwrap();
    /// assert_eq!(a.dim(), (2, 3));
    /// assert!(view.to_ndarray_dim::<npy_format::ndarray::Ix1>().is_err());
    /// ```
    pub fn to_ndarray_dim<D: Dimension>(&self) -> Result<ArrayView<'a, T, D>, ViewError> {
        let shape = dim_of::<D>(&self.header.shape, self.header.fortran_order)?;
        ArrayView::from_shape(shape, self.data).map_err(|e| ViewError::Shape {
            reason: e.to_string(),
        })
    }
}

impl<'a, T: Element> TypedViewMut<'a, T> {
    /// A mutable `ndarray` view of dimension `D` with numpy's shape and strides.
    ///
    /// # Errors
    /// [`ViewError::Shape`] if the array's number of axes is not `D`'s.
    ///
    /// ```
    /// # use npy_format::{Element, Header, TypedViewMut};
    /// let header = Header::new(u8::dtype(), false, vec![2, 2]);
    /// let mut bytes = [0u8; 4];
    /// let view = TypedViewMut::<u8>::new(&header, &mut bytes).unwrap();
    /// view.into_ndarray_dim::<npy_format::ndarray::Ix2>().unwrap()[[1, 1]] = 7;
    /// assert_eq!(bytes, [0, 0, 0, 7]);
    /// ```
    pub fn into_ndarray_dim<D: Dimension>(self) -> Result<ArrayViewMut<'a, T, D>, ViewError> {
        let shape = dim_of::<D>(&self.header.shape, self.header.fortran_order)?;
        ArrayViewMut::from_shape(shape, self.data).map_err(|e| ViewError::Shape {
            reason: e.to_string(),
        })
    }
}
