//! `.npy` files inside a pack: a frame source and zero-copy typed views.

use npy_format::{Element, FrameSource, Header, ReadOptions, TypedView};

use crate::error::{Error, ErrorKind};
use crate::read::Pack;

/// An `.npy` file inside a pack, parsed: its header and its data, borrowed from the map.
///
/// Pack contents start on multiples of the pack's alignment (64 by default) and NPY headers are
/// multiples of 64 bytes long, so the data of an `.npy` in a pack made with the default
/// alignment is 64-byte aligned and can be viewed as `&[T]` with no copy. It is also a
/// [`FrameSource`], like an `NpyFile` or an npz member.
///
/// Its data is the pack's memory map: if the pack file is truncated while open, reading the
/// lost part raises `SIGBUS` (see [`Pack`](crate::Pack) for what that means and how to avoid
/// it with [`OpenOptions::read_into_memory`](crate::OpenOptions::read_into_memory)).
///
/// ```
/// use treepack::{EntryMeta, Pack, PackWriter};
/// use npy_format::FrameSource;
///
/// let mut npy = Vec::new();
/// npy_format::write_array(&mut npy, &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2], false).unwrap();
/// let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
/// w.add_bytes("arrays/x.npy", &npy, EntryMeta::file()).unwrap();
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("p.fpack");
/// std::fs::write(&path, w.finish().unwrap().0.into_inner()).unwrap();
///
/// let pack = Pack::open(&path).unwrap();
/// let mut array = pack.npy("arrays/x.npy").unwrap();
/// assert_eq!(array.header().shape, vec![3, 2]);
/// assert_eq!(array.view::<f32>().unwrap().as_slice(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// assert_eq!(array.frames(1, 2).unwrap(), npy_format::as_bytes(&[3.0f32, 4.0]));
/// assert_eq!(array.read_frames(2, 3).unwrap().len(), 8);
/// ```
#[derive(Debug, Clone)]
pub struct PackedNpy<'a> {
    pack: &'a Pack,
    path: String,
    header: Header,
    data_offset: u64,
    data: &'a [u8],
}

impl<'a> PackedNpy<'a> {
    /// The array's header.
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut npy = Vec::new();
    /// # npy_format::write_array(&mut npy, &[1u8, 2], &[2], false).unwrap();
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a.npy", &npy, EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.npy("a.npy").unwrap().header().dtype.descr(), "'|u1'");
    /// ```
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Offset of the data from the start of the entry (the NPY header's length).
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut npy = Vec::new();
    /// # npy_format::write_array(&mut npy, &[1u8, 2], &[2], false).unwrap();
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a.npy", &npy, EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.npy("a.npy").unwrap().data_offset(), 128);
    /// ```
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// The array's data bytes, zero-copy.
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut npy = Vec::new();
    /// # npy_format::write_array(&mut npy, &[1u8, 2], &[2], false).unwrap();
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a.npy", &npy, EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.npy("a.npy").unwrap().data(), &[1, 2]);
    /// ```
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// A zero-copy typed view of the data.
    ///
    /// # Errors
    /// [`ErrorKind::View`]: wrong dtype, other byte order, or misaligned data (a pack made with an
    /// alignment below the type's alignment).
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut npy = Vec::new();
    /// # npy_format::write_array(&mut npy, &[1i64, -2], &[2], false).unwrap();
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a.npy", &npy, EntryMeta::file()).unwrap();
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.fpack");
    /// # std::fs::write(&path, w.finish().unwrap().0.into_inner()).unwrap();
    /// let pack = Pack::open(&path).unwrap();
    /// let array = pack.npy("a.npy").unwrap();
    /// assert_eq!(array.view::<i64>().unwrap().as_slice(), &[1, -2]);
    /// assert!(array.view::<f64>().is_err());
    /// ```
    pub fn view<T: Element>(&self) -> Result<TypedView<'_, T>, Error> {
        let result: Result<TypedView<'_, T>, ErrorKind> = {
            TypedView::new(&self.header, self.data).map_err(|source| ErrorKind::View {
                path: self.path.clone(),
                source,
            })
        };
        self.pack.at_pack(result)
    }

    /// A copy of the data as `T` in native byte order (byte-swapped if needed).
    ///
    /// # Errors
    /// [`ErrorKind::View`] for a dtype mismatch.
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut npy = Vec::new();
    /// # npy_format::write_array(&mut npy, &[1u16, 2], &[2], false).unwrap();
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a.npy", &npy, EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.npy("a.npy").unwrap().to_vec::<u16>().unwrap(), vec![1, 2]);
    /// ```
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>, Error> {
        let result: Result<Vec<T>, ErrorKind> = {
            npy_format::to_vec(&self.header, self.data).map_err(|source| ErrorKind::View {
                path: self.path.clone(),
                source,
            })
        };
        self.pack.at_pack(result)
    }

    /// A zero-copy `ndarray` view of dimension `D` (`Ix2`, ..., `IxDyn`) with numpy's strides
    /// (feature `ndarray`).
    ///
    /// # Errors
    /// [`ErrorKind::View`] for another dtype, byte order or number of axes.
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut npy = Vec::new();
    /// # npy_format::write_array(&mut npy, &[1i32, 2, 3, 4, 5, 6], &[2, 3], false).unwrap();
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a.npy", &npy, EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// let array = pack.npy("a.npy").unwrap();
    /// let a = array.to_ndarray::<i32, treepack::ndarray::Ix2>().unwrap();
    /// assert_eq!(a[[1, 2]], 6);
    /// assert!(array.to_ndarray::<i32, treepack::ndarray::Ix3>().is_err());
    /// ```
    #[cfg(feature = "ndarray")]
    pub fn to_ndarray<T: Element, D: ndarray::Dimension>(
        &self,
    ) -> Result<ndarray::ArrayView<'_, T, D>, Error> {
        let result = (|| -> Result<ndarray::ArrayView<'_, T, D>, ErrorKind> {
            let view_error = |source| ErrorKind::View {
                path: self.path.clone(),
                source,
            };
            self.view::<T>()?.to_ndarray_dim::<D>().map_err(view_error)
        })();
        self.pack.at_pack(result)
    }

    /// An owned `ndarray` array of dimension `D`, from data of either byte order (feature
    /// `ndarray`).
    ///
    /// # Errors
    /// [`ErrorKind::View`] for another dtype or number of axes.
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut npy = Vec::new();
    /// # npy_format::write_array(&mut npy, &[1u16, 2], &[2], false).unwrap();
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a.npy", &npy, EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// let a = pack.npy("a.npy").unwrap().to_owned_ndarray::<u16, treepack::ndarray::Ix1>().unwrap();
    /// assert_eq!(a.to_vec(), [1, 2]);
    /// ```
    #[cfg(feature = "ndarray")]
    pub fn to_owned_ndarray<T: Element, D: ndarray::Dimension>(
        &self,
    ) -> Result<ndarray::Array<T, D>, Error> {
        let result = (|| -> Result<ndarray::Array<T, D>, ErrorKind> {
            let data = self.to_vec::<T>()?;
            let owned = npy_format::OwnedArray {
                header: self.header.clone(),
                data,
            };
            npy_format::nd::into_array(owned).map_err(|source| ErrorKind::View {
                path: self.path.clone(),
                source,
            })
        })();
        self.pack.at_pack(result)
    }

    /// The bytes of frames `[start, end)` along the growth axis, zero-copy.
    ///
    /// # Errors
    /// [`ErrorKind::Frames`] for a range outside the array.
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut npy = Vec::new();
    /// # npy_format::write_array(&mut npy, &[1u8, 2, 3, 4, 5, 6], &[3, 2], false).unwrap();
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a.npy", &npy, EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// let array = pack.npy("a.npy").unwrap();
    /// assert_eq!(array.frames(1, 3).unwrap(), &[3, 4, 5, 6]);
    /// assert!(array.frames(2, 4).is_err());
    /// ```
    pub fn frames(&self, start: u64, end: u64) -> Result<&'a [u8], Error> {
        let result = (|| -> Result<&'a [u8], ErrorKind> {
            let frame_len = self.frame_len();
            npy_format::FrameRangeError::check(start, end, self.frame_count())?;
            // In range, so both ends are at most frame_count * frame_len <= data.len() (`npy`
            // checked that); `get` refuses anything else rather than trusting it.
            let first = usize::try_from(start.saturating_mul(frame_len)).unwrap_or(usize::MAX);
            let last = usize::try_from(end.saturating_mul(frame_len)).unwrap_or(usize::MAX);
            self.data
                .get(first..last)
                .ok_or_else(|| npy_format::FrameRangeError {
                    start,
                    end,
                    count: self.frame_count(),
                })
                .map_err(ErrorKind::from)
        })();
        self.pack.at_pack(result)
    }
}

impl FrameSource for PackedNpy<'_> {
    type Error = Error;

    fn header(&self) -> &Header {
        &self.header
    }

    fn range_error(&self, error: npy_format::FrameRangeError) -> Error {
        self.pack.error(ErrorKind::Frames(error))
    }

    fn read_frames_unchecked(
        &mut self,
        start: u64,
        frames: u64,
        buf: &mut [u8],
    ) -> Result<(), Error> {
        buf.copy_from_slice(self.frames(start, start + frames)?);
        Ok(())
    }
}

impl Pack {
    /// The `.npy` file at `path` as a [`PackedNpy`]: parsed header, zero-copy data, a
    /// [`FrameSource`].
    ///
    /// # Errors
    /// As [`Pack::bytes`]; [`ErrorKind::Npy`] for an invalid NPY header; [`ErrorKind::NpyTruncated`]
    /// if the entry is shorter than its header says.
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("not.npy", b"hello", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert!(matches!(pack.npy("not.npy"), Err(ref e) if matches!(e.kind(), treepack::ErrorKind::Npy { .. })));
    /// ```
    pub fn npy(&self, path: &str) -> Result<PackedNpy<'_>, Error> {
        let result = (|| -> Result<PackedNpy<'_>, ErrorKind> {
            let bytes = self.bytes(path)?;
            let parsed =
                Header::read_from(&mut &bytes[..], ReadOptions::default()).map_err(|source| {
                    ErrorKind::Npy {
                        path: path.to_owned(),
                        source,
                    }
                })?;
            let expected = parsed.header.data_len().unwrap_or(u64::MAX);
            let available = (bytes.len() as u64).saturating_sub(parsed.data_offset);
            let data = usize::try_from(parsed.data_offset)
                .ok()
                .zip(usize::try_from(expected).ok())
                .and_then(|(start, len)| bytes.get(start..start.checked_add(len)?))
                .ok_or_else(|| ErrorKind::NpyTruncated {
                    path: path.to_owned(),
                    expected,
                    available,
                })?;
            Ok(PackedNpy {
                pack: self,
                path: path.to_owned(),
                header: parsed.header,
                data_offset: parsed.data_offset,
                data,
            })
        })();
        self.at_pack(result)
    }
}
