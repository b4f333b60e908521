//! Bulk reads of whole arrays into `Vec<T>`, without per-element work.
//!
//! From a file, the length is known, so the vector is allocated once (zeroed by the OS, not by
//! us) and filled by one `read_exact`. From an arbitrary reader the header's length is not
//! trusted: the data is read in bounded chunks and the vector grows only as bytes arrive.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::element::{self, Element};
use crate::error::{HeaderError, ReadError, ReadErrorKind, ViewError};
use crate::header::{Header, ReadOptions};

/// An array read into memory: its header and its elements in storage order.
///
/// ```
/// use npy_format::OwnedArray;
/// let mut bytes = Vec::new();
/// npy_format::write_array(&mut bytes, &[1u16, 2, 3, 4, 5, 6], &[3, 2], true).unwrap();
/// let array: OwnedArray<u16> = npy_format::read_array(bytes.as_slice()).unwrap();
/// assert!(array.header.fortran_order);
/// assert_eq!(array.header.shape, vec![3, 2]);
/// assert_eq!(array.data, vec![1, 2, 3, 4, 5, 6]); // storage order, as written
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedArray<T> {
    /// The header as read (byte order as stored; the data has been converted to native order).
    pub header: Header,
    /// The elements, in storage order (Fortran order if `header.fortran_order`).
    pub data: Vec<T>,
}

/// Reads a whole `.npy` file into a `Vec<T>`, byte-swapping if it was written in the other
/// byte order.
///
/// # Errors
/// [`ReadError`] naming the file: I/O, a bad header, a dtype other than `T`, a truncated file.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npy");
/// npy_format::write_file(&path, &[1.5f32, 2.5, 3.5], &[3]).unwrap();
/// let array = npy_format::read_file::<f32>(&path).unwrap();
/// assert_eq!(array.data, vec![1.5, 2.5, 3.5]);
/// assert_eq!(array.header.shape, vec![3]);
/// ```
pub fn read_file<T: Element>(path: impl AsRef<Path>) -> Result<OwnedArray<T>, ReadError> {
    read_file_with(path, ReadOptions::default())
}

/// [`read_file`] with explicit header limits.
///
/// # Errors
/// As [`read_file`].
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npy");
/// # npy_format::write_file(&path, &[1u8], &[1]).unwrap();
/// let opts = npy_format::ReadOptions::default().max_header_size(100_000);
/// assert_eq!(npy_format::read_file_with::<u8>(&path, opts).unwrap().data, vec![1]);
/// ```
pub fn read_file_with<T: Element>(
    path: impl AsRef<Path>,
    options: ReadOptions,
) -> Result<OwnedArray<T>, ReadError> {
    let path = path.as_ref();
    let io_err = |source| ReadError::new(path.to_path_buf(), ReadErrorKind::Io { source });
    let mut file = File::open(path).map_err(io_err)?;
    let parsed = Header::read_from(&mut file, options)
        .map_err(|source| ReadError::new(path.to_path_buf(), ReadErrorKind::Header { source }))?;
    // The length is taken after the header, as NpyFile::open does: an appender writes data
    // before its header counts it, so the file then holds at least what the header counts
    // (taken before, a file growing meanwhile looked truncated).
    let file_len = file.metadata().map_err(io_err)?.len();
    let data_len = checked_data_len::<T>(&parsed.header, path)?;
    let available = file_len.saturating_sub(parsed.data_offset);
    if available < data_len as u64 {
        return Err(ReadError::new(
            path.to_path_buf(),
            ReadErrorKind::Truncated {
                data_offset: parsed.data_offset,
                expected: data_len as u64,
                available,
            },
        ));
    }
    let mut data: Vec<T> = element::zeroed_vec(data_len / std::mem::size_of::<T>());
    let bytes = element::as_bytes_mut_unvalidated(&mut data);
    file.read_exact(bytes).map_err(io_err)?;
    finish_elements::<T>(&parsed.header, bytes)
        .map_err(|source| ReadError::new(path.to_path_buf(), ReadErrorKind::View { source }))?;
    Ok(OwnedArray {
        header: parsed.header,
        data,
    })
}

/// Reads a whole array from any reader (a socket, a zip member, stdin), which is left just after
/// the array's data. Memory grows with the bytes actually received, never with what the header
/// claims.
///
/// # Errors
/// [`ReadError`] (the path is `<reader>`).
///
/// ```
/// let mut bytes = Vec::new();
/// npy_format::write_array(&mut bytes, &[7i64, 8, 9, 10], &[2, 2], false).unwrap();
/// let array = npy_format::read_array::<i64, _>(bytes.as_slice()).unwrap();
/// assert_eq!(array.data, vec![7, 8, 9, 10]);
/// ```
pub fn read_array<T: Element, R: Read>(reader: R) -> Result<OwnedArray<T>, ReadError> {
    read_array_with(reader, ReadOptions::default())
}

/// [`read_array`] with [`ReadOptions`]: the header limit ([`ReadOptions::max_header_size`]).
///
/// # Errors
/// As [`read_array`].
///
/// ```
/// let header = npy_format::Header::new(npy_format::DType::parse("<u1").unwrap(), false, vec![1]);
/// let mut bytes = header.to_bytes_in_place(npy_format::Version::V1, 20_000).unwrap();
/// bytes.push(7);
/// assert!(npy_format::read_array::<u8, _>(bytes.as_slice()).is_err());
/// let trusting = npy_format::ReadOptions::default().max_header_size(30_000);
/// let array = npy_format::read_array_with::<u8, _>(bytes.as_slice(), trusting).unwrap();
/// assert_eq!(array.data, [7]);
/// ```
pub fn read_array_with<T: Element, R: Read>(
    mut reader: R,
    options: ReadOptions,
) -> Result<OwnedArray<T>, ReadError> {
    let path = PathBuf::from("<reader>");
    let parsed = Header::read_from(&mut reader, options)
        .map_err(|source| ReadError::new(path.clone(), ReadErrorKind::Header { source }))?;
    let data_len = checked_data_len::<T>(&parsed.header, &path)?;
    let size = std::mem::size_of::<T>();
    let total = data_len / size;
    // Chunks start small and grow with the bytes received, up to 4 MiB: a header that claims
    // more than the reader holds costs no more memory than the bytes that arrive.
    const FIRST_CHUNK_BYTES: usize = 8 << 10;
    const CHUNK_BYTES: usize = 4 << 20;
    let mut chunk: Vec<T> = Vec::new();
    let mut data: Vec<T> = Vec::new();
    while data.len() < total {
        let want = ((data.len() * size).clamp(FIRST_CHUNK_BYTES, CHUNK_BYTES) / size)
            .max(1)
            .min(total - data.len());
        if chunk.len() < want {
            chunk = element::zeroed_vec(want);
        }
        let n = (total - data.len()).min(chunk.len());
        let bytes = element::as_bytes_mut_unvalidated(&mut chunk[..n]);
        let got = read_full(&mut reader, bytes)
            .map_err(|source| ReadError::new(path.clone(), ReadErrorKind::Io { source }))?;
        if got < bytes.len() {
            return Err(ReadError::new(
                path,
                ReadErrorKind::Truncated {
                    data_offset: parsed.data_offset,
                    expected: data_len as u64,
                    available: (data.len() * size + got) as u64,
                },
            ));
        }
        finish_elements::<T>(&parsed.header, bytes)
            .map_err(|source| ReadError::new(path.clone(), ReadErrorKind::View { source }))?;
        data.extend_from_slice(&chunk[..n]);
    }
    Ok(OwnedArray {
        header: parsed.header,
        data,
    })
}

/// Checks that `T` matches the header and that the data length fits in memory.
fn checked_data_len<T: Element>(header: &Header, path: &Path) -> Result<usize, ReadError> {
    let view_err = |source| ReadError::new(path.to_path_buf(), ReadErrorKind::View { source });
    if header.dtype.has_object() {
        return Err(view_err(ViewError::Object));
    }
    if !T::accepts(&header.dtype) {
        return Err(view_err(ViewError::DTypeMismatch {
            expected: T::dtype().descr(),
            found: header.dtype.descr(),
        }));
    }
    header
        .data_len()
        .and_then(|len| usize::try_from(len).ok())
        .filter(|&len| len <= isize::MAX as usize)
        .ok_or_else(|| {
            ReadError::new(
                path.to_path_buf(),
                ReadErrorKind::Header {
                    source: HeaderError::Overflow {
                        offset: 0,
                        shape: header.shape.clone(),
                        itemsize: header.dtype.itemsize(),
                        bits: usize::BITS,
                    },
                },
            )
        })
}

/// Converts freshly read bytes to native order and validates them.
fn finish_elements<T: Element>(header: &Header, bytes: &mut [u8]) -> Result<(), ViewError> {
    if !header.dtype.is_native() {
        header.dtype.swap_bytes(bytes);
    }
    T::validate_bytes(bytes)
}

/// Reads until `buf` is full or the reader ends; returns the bytes read.
pub(crate) fn read_full<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::{ByteOrder, DType};
    use crate::error::ReadErrorKind;
    use crate::write::write_raw;
    use array_files_fs::error::ResultKind;

    #[test]
    fn reader_reads_big_endian_and_stops_at_truncation() {
        let header = Header::new(DType::parse(">u4").unwrap(), false, vec![3]);
        let mut bytes = Vec::new();
        write_raw(&mut bytes, &header, &[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]).unwrap();
        assert_eq!(
            read_array::<u32, _>(bytes.as_slice()).unwrap().data,
            vec![1, 2, 3]
        );
        let cut = &bytes[..bytes.len() - 2];
        let err = read_array::<u32, _>(cut).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ReadErrorKind::Truncated {
                    expected: 12,
                    available: 10,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_lying_header_does_not_allocate_its_claim() {
        // 2^40 elements claimed, 8 bytes present: must fail fast without a terabyte allocation.
        let header = Header::new(f64::dtype(), false, vec![1 << 40]);
        let mut bytes = header.to_bytes().unwrap();
        bytes.extend_from_slice(&[0; 8]);
        assert!(matches!(
            read_array::<f64, _>(bytes.as_slice()).err_kind(),
            Some(ReadErrorKind::Truncated { .. })
        ));
    }

    #[test]
    fn wrong_type_is_refused_before_reading() {
        let header = Header::new(
            DType::parse("<f4")
                .unwrap()
                .with_byte_order(ByteOrder::Little),
            false,
            vec![1],
        );
        let mut bytes = Vec::new();
        write_raw(&mut bytes, &header, &[0; 4]).unwrap();
        let err = read_array::<i32, _>(bytes.as_slice()).unwrap_err();
        assert!(err.to_string().contains("dtype mismatch"), "{err}");
    }
}
