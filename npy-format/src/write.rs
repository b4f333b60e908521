//! Writing whole arrays, or a header alone for data streamed afterwards.
//!
//! Output is byte-identical to `np.save` for the same array: the header comes from
//! [`Header::for_array`] (numpy's C-before-Fortran contiguity rule) and [`Header::to_bytes`].

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::element::{Element, as_bytes};
use crate::error::WriteError;
use crate::header::Header;

/// Writes an array of `T` with the given shape, in C order or (if `fortran_order`) with `data`
/// already in Fortran order. Returns the header written.
///
/// # Errors
/// [`WriteError::Length`] if `data` does not have `shape`'s element count; I/O errors.
///
/// ```
/// let mut out = Vec::new();
/// let header = npy_format::write_array(&mut out, &[1u8, 2, 3, 4, 5, 6], &[2, 3], false).unwrap();
/// assert_eq!(out.len(), 128 + 6);
/// assert_eq!(header.shape, vec![2, 3]);
/// ```
pub fn write_array<T: Element, W: Write>(
    mut writer: W,
    data: &[T],
    shape: &[u64],
    fortran_order: bool,
) -> Result<Header, WriteError> {
    let header = Header::for_array(T::dtype(), fortran_order, shape.to_vec());
    write_raw(&mut writer, &header, as_bytes(data))?;
    Ok(header)
}

/// Writes a C-order array of `T` to a new file at `path` (replacing any file there).
///
/// # Errors
/// As [`write_array`].
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("x.npy");
/// npy_format::write_file(&path, &[0.5f64; 12], &[3, 4]).unwrap();
/// assert_eq!(std::fs::metadata(&path).unwrap().len(), 128 + 96);
/// ```
pub fn write_file<T: Element>(
    path: impl AsRef<Path>,
    data: &[T],
    shape: &[u64],
) -> Result<Header, WriteError> {
    let file = File::create(path)?;
    let header = write_array(&file, data, shape, false)?;
    Ok(header)
}

/// Writes `header` and then `data`, the array's raw bytes in the header's byte order and layout.
/// The header is written as given; use [`Header::for_array`] to get numpy's choice of
/// `fortran_order` for arrays that are both C- and Fortran-contiguous.
///
/// # Errors
/// [`WriteError::Length`] if `data` is not exactly the header's data length,
/// [`WriteError::Object`] for object dtypes, I/O errors.
///
/// ```
/// use npy_format::{DType, Header};
/// let header = Header::new(DType::parse(">i2").unwrap(), false, vec![2]);
/// let mut out = Vec::new();
/// npy_format::write_raw(&mut out, &header, &[0, 1, 0, 2]).unwrap();
/// assert!(npy_format::write_raw(&mut out, &header, &[0, 1]).is_err());
/// ```
pub fn write_raw<W: Write>(mut writer: W, header: &Header, data: &[u8]) -> Result<(), WriteError> {
    let expected = checked_data_len(header)?;
    if data.len() as u64 != expected {
        return Err(WriteError::Length {
            expected,
            actual: data.len() as u64,
        });
    }
    writer.write_all(&header.to_bytes()?)?;
    writer.write_all(data)?;
    Ok(())
}

/// Writes only the header, for data that the caller streams afterwards (exactly
/// `header.data_len()` bytes). Returns the data offset, a multiple of 64.
///
/// # Errors
/// [`WriteError::Object`] for object dtypes, [`WriteError::Overflow`], I/O errors.
///
/// ```
/// use npy_format::{DType, Header};
/// let header = Header::new(DType::parse("<f4").unwrap(), false, vec![1000, 3]);
/// let mut out = Vec::new();
/// let offset = npy_format::write_header(&mut out, &header).unwrap();
/// assert_eq!(offset, 128);
/// ```
pub fn write_header<W: Write>(mut writer: W, header: &Header) -> Result<u64, WriteError> {
    checked_data_len(header)?;
    let bytes = header.to_bytes()?;
    writer.write_all(&bytes)?;
    Ok(bytes.len() as u64)
}

fn checked_data_len(header: &Header) -> Result<u64, WriteError> {
    if header.dtype.has_object() {
        return Err(WriteError::Object);
    }
    header.data_len().ok_or_else(|| WriteError::Overflow {
        shape: header.shape.clone(),
        itemsize: header.dtype.itemsize(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;

    #[test]
    fn fortran_flag_follows_numpy_contiguity() {
        let mut out = Vec::new();
        let h = write_array(&mut out, &[1i16, 2, 3], &[3], true).unwrap();
        assert!(!h.fortran_order, "1-d arrays are C-contiguous");
        let h = write_array(&mut out, &[1i16, 2, 3, 4], &[2, 2], true).unwrap();
        assert!(h.fortran_order);
    }

    #[test]
    fn object_arrays_are_refused() {
        let header = Header::new(DType::parse("|O").unwrap(), false, vec![1]);
        assert!(matches!(
            write_raw(Vec::new(), &header, &[0; 8]),
            Err(WriteError::Object)
        ));
        assert!(matches!(
            write_header(Vec::new(), &header),
            Err(WriteError::Object)
        ));
    }

    #[test]
    fn length_mismatch_is_refused_before_writing() {
        let mut out = Vec::new();
        assert!(matches!(
            write_array(&mut out, &[1u32, 2], &[3], false),
            Err(WriteError::Length {
                expected: 12,
                actual: 8
            })
        ));
        assert!(out.is_empty());
    }
}
