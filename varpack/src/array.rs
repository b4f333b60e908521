//! Arrays: owned bytes, or a map of a `.npy` file's data or of an archive member's.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use array_files_fs::map::{MapOptions, Mmap, MmapMut};
use npy_format::{DType, Element, Header, Mode, TypedView, TypedViewMut};

use crate::Status;
use crate::error::ArrayError;

/// An array: a [`Header`] (dtype, order, shape) and its raw data, held in memory or mapped.
///
/// Owned data is kept 8-byte aligned, so typed views work for every element type; mapped data
/// starts on a 64-byte boundary in the file (`.npy` headers and the single-file form's aligned
/// members guarantee it).
///
/// A mapped array is only as stable as its file: if another program truncates the file, reading
/// the part of the array past the new end kills the process with `SIGBUS` (load with
/// [`LoadOptions::memory_map`](crate::LoadOptions::memory_map)`(false)` to hold arrays in
/// memory instead). This crate's own saves replace files by rename, which leaves maps intact.
///
/// ```
/// let a = varpack::Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
/// assert_eq!(a.shape(), &[2, 2]);
/// assert_eq!(a.view::<f32>().unwrap().get(&[1, 0]), Some(&3.0));
/// assert_eq!(a.status(), varpack::Status::Loaded);
/// ```
#[derive(Debug)]
pub struct Array {
    header: Header,
    data: Data,
}

#[derive(Debug)]
enum Data {
    Owned { words: Vec<u64>, len: usize },
    Member(MemberMap),
}

/// A map of one archive member's data.
#[derive(Debug)]
pub(crate) struct MemberMap {
    pub(crate) path: PathBuf,
    pub(crate) member: String,
    map: MemberBytes,
    pub(crate) dirty: bool,
    /// A member of a zip archive (its CRC needs updating after writes), else a `.npy` file.
    archive: bool,
    /// A `.npy` file's device and inode: a save to the same pack links the file into the new
    /// pack instead of writing its bytes again, if the path still leads to this file.
    file_id: Option<(u64, u64)>,
}

#[derive(Debug)]
enum MemberBytes {
    Empty,
    ReadOnly(Mmap),
    /// A range of one read-only map of the whole archive, shared by all its members (one
    /// mmap per load instead of one per array).
    Shared(Arc<Mmap>, Range<usize>),
    Writable(MmapMut, Mode),
}

impl MemberMap {
    /// `len` bytes at `offset` of `archive`, a read-only map of the whole archive at `path`.
    pub(crate) fn shared(
        archive: &Arc<Mmap>,
        path: &Path,
        member: &str,
        offset: u64,
        len: u64,
    ) -> std::io::Result<MemberMap> {
        let range = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(len).ok())
            .and_then(|(start, len)| Some(start..start.checked_add(len)?))
            .filter(|range| range.end <= archive.len())
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "member data runs past the end of the file",
                )
            })?;
        Ok(MemberMap {
            path: path.to_path_buf(),
            member: member.to_owned(),
            map: MemberBytes::Shared(Arc::clone(archive), range),
            dirty: false,
            archive: true,
            file_id: None,
        })
    }

    /// Maps `len` bytes at `offset` of `file`, opened from `path` (writable for
    /// [`Mode::ReadWrite`]), with its metadata if the caller just read it. `archive`: the file
    /// is a zip archive whose member CRC a write must update (else a plain `.npy` file).
    pub(crate) fn open(
        file: &std::fs::File,
        meta: Option<&std::fs::Metadata>,
        path: &Path,
        member: &str,
        (offset, len): (u64, u64),
        mode: Mode,
        archive: bool,
    ) -> std::io::Result<MemberMap> {
        let map = if len == 0 {
            MemberBytes::Empty
        } else {
            let len = usize::try_from(len).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::OutOfMemory, "member too large to map")
            })?;
            // The map refuses a range past the end of the file; that the file is not truncated
            // or rewritten by others while values are mapped is what the crate documents
            // (Varpack, Array), as array_files_fs::map requires.
            let mut options = MapOptions::new().offset(offset).len(len);
            if let Some(meta) = meta {
                options = options.file_len(meta.len());
            }
            match mode {
                Mode::ReadOnly => MemberBytes::ReadOnly(options.map(file)?),
                // Writes go to this member's data range only.
                Mode::ReadWrite => MemberBytes::Writable(options.map_mut(file)?, mode),
                // A private map: writes never reach the file.
                Mode::CopyOnWrite => MemberBytes::Writable(options.map_copy(file)?, mode),
            }
        };
        // The file's identity: what lets a re-save keep the file instead of copying it.
        let file_id = match (archive, meta) {
            (true, _) => None,
            (false, Some(meta)) => Some(crate::load::source::identity(meta)),
            (false, None) => Some(crate::load::source::identity(&file.metadata()?)),
        };
        Ok(MemberMap {
            path: path.to_path_buf(),
            member: member.to_owned(),
            map,
            dirty: false,
            archive,
            file_id,
        })
    }

    fn bytes(&self) -> &[u8] {
        match &self.map {
            // An empty slice at an 8-aligned address, so typed views of empty arrays work.
            MemberBytes::Empty => bytemuck::cast_slice::<u64, u8>(&[]),
            MemberBytes::ReadOnly(m) => m,
            MemberBytes::Shared(m, range) => &m[range.clone()],
            MemberBytes::Writable(m, _) => m,
        }
    }

    fn mode(&self) -> Mode {
        match &self.map {
            MemberBytes::Empty | MemberBytes::ReadOnly(_) | MemberBytes::Shared(..) => {
                Mode::ReadOnly
            }
            MemberBytes::Writable(_, mode) => *mode,
        }
    }
}

fn data_len(header: &Header) -> Result<u64, ArrayError> {
    if header.dtype.has_object() {
        return Err(ArrayError::Object {
            dtype: header.dtype.descr(),
        });
    }
    header.data_len().ok_or_else(|| ArrayError::Overflow {
        shape: header.shape.clone(),
    })
}

fn owned(bytes: &[u8]) -> Data {
    let mut words = vec![0u64; bytes.len().div_ceil(8)];
    bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
    Data::Owned {
        words,
        len: bytes.len(),
    }
}

impl Array {
    /// A C-order array of `T` with `shape`, copied into memory.
    ///
    /// # Errors
    /// [`ArrayError::Length`] if `data` does not hold `shape`'s element count.
    ///
    /// ```
    /// let a = varpack::Array::from_slice(&[1u16, 2, 3], &[3]).unwrap();
    /// assert_eq!(a.dtype().descr(), "'<u2'");
    /// ```
    pub fn from_slice<T: Element>(data: &[T], shape: &[u64]) -> Result<Array, ArrayError> {
        let header = Header::for_array(T::dtype(), false, shape.to_vec());
        Array::from_bytes(header, npy_format::as_bytes(data))
    }

    /// An array of any dtype from its header and raw data (in the header's byte order and
    /// layout), copied into memory.
    ///
    /// # Errors
    /// [`ArrayError::Length`], [`ArrayError::Object`], [`ArrayError::Overflow`].
    ///
    /// ```
    /// use varpack::npy_format::{DType, Header};
    /// let header = Header::new(DType::parse("[('a', '<i2'), ('b', '|u1')]").unwrap(), false, vec![2]);
    /// let a = varpack::Array::from_bytes(header, &[1, 0, 7, 2, 0, 8]).unwrap();
    /// assert_eq!(a.as_bytes().len(), 6);
    /// ```
    pub fn from_bytes(header: Header, bytes: &[u8]) -> Result<Array, ArrayError> {
        let expected = data_len(&header)?;
        if bytes.len() as u64 != expected {
            return Err(ArrayError::Length {
                expected,
                elements: header.element_count().unwrap_or(0),
                actual: bytes.len() as u64,
            });
        }
        Ok(Array {
            header,
            data: owned(bytes),
        })
    }

    /// An array of `header`'s size, zeroed, in memory: filled in place by a reader (one buffer,
    /// no copy). The size was checked against the file (or, deflated, its bomb guard).
    pub(crate) fn zeroed(header: Header) -> Result<Array, ArrayError> {
        let len = data_len(&header)?;
        let len = usize::try_from(len).map_err(|_| ArrayError::Overflow {
            shape: header.shape.clone(),
        })?;
        Ok(Array {
            header,
            data: Data::Owned {
                words: vec![0u64; len.div_ceil(8)],
                len,
            },
        })
    }

    pub(crate) fn from_member(header: Header, map: MemberMap) -> Array {
        Array {
            header,
            data: Data::Member(map),
        }
    }

    /// The header: dtype, Fortran order, shape.
    ///
    /// ```
    /// let a = varpack::Array::from_slice(&[0u8; 6], &[2, 3]).unwrap();
    /// assert!(!a.header().fortran_order);
    /// ```
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The dtype.
    ///
    /// ```
    /// let a = varpack::Array::from_slice(&[0i64; 2], &[2]).unwrap();
    /// assert_eq!(a.dtype().descr(), "'<i8'");
    /// ```
    pub fn dtype(&self) -> &DType {
        &self.header.dtype
    }

    /// The shape.
    ///
    /// ```
    /// let a = varpack::Array::from_slice(&[0i64; 6], &[3, 2]).unwrap();
    /// assert_eq!(a.shape(), &[3, 2]);
    /// ```
    pub fn shape(&self) -> &[u64] {
        &self.header.shape
    }

    /// The raw data bytes (zero-copy when mapped).
    ///
    /// ```
    /// let a = varpack::Array::from_slice(&[1u8, 2], &[2]).unwrap();
    /// assert_eq!(a.as_bytes(), &[1, 2]);
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        match &self.data {
            Data::Owned { words, len } => &bytemuck::cast_slice::<u64, u8>(words)[..*len],
            Data::Member(m) => m.bytes(),
        }
    }

    /// The raw data, writable: in memory, or through a read-write map (writes go to the pack)
    /// or a copy-on-write map (writes stay in memory).
    ///
    /// # Errors
    /// [`ArrayError::ReadOnly`] for arrays mapped read-only (the default).
    ///
    /// ```
    /// let mut a = varpack::Array::from_slice(&[1u8, 2], &[2]).unwrap();
    /// a.as_bytes_mut().unwrap()[0] = 9;
    /// assert_eq!(a.as_bytes(), &[9, 2]);
    /// ```
    pub fn as_bytes_mut(&mut self) -> Result<&mut [u8], ArrayError> {
        match &mut self.data {
            Data::Owned { words, len } => {
                Ok(&mut bytemuck::cast_slice_mut::<u64, u8>(words)[..*len])
            }
            Data::Member(m) => {
                let path = m.path.clone();
                match &mut m.map {
                    MemberBytes::Empty => Ok(bytemuck::cast_slice_mut::<u64, u8>(&mut [])),
                    MemberBytes::ReadOnly(_) | MemberBytes::Shared(..) => {
                        Err(ArrayError::ReadOnly { path })
                    }
                    MemberBytes::Writable(map, mode) => {
                        if *mode == Mode::ReadWrite {
                            m.dirty = true;
                        }
                        Ok(&mut map[..])
                    }
                }
            }
        }
    }

    /// A zero-copy typed view.
    ///
    /// # Errors
    /// [`ArrayError::View`] naming the check that failed (dtype, byte order, alignment).
    ///
    /// ```
    /// let a = varpack::Array::from_slice(&[1.5f64, 2.5], &[2]).unwrap();
    /// assert_eq!(a.view::<f64>().unwrap().as_slice(), &[1.5, 2.5]);
    /// assert!(a.view::<i64>().is_err());
    /// ```
    pub fn view<T: Element>(&self) -> Result<TypedView<'_, T>, ArrayError> {
        Ok(TypedView::new(&self.header, self.as_bytes())?)
    }

    /// A zero-copy writable typed view (see [`as_bytes_mut`](Self::as_bytes_mut)).
    ///
    /// # Errors
    /// [`ArrayError::ReadOnly`]; [`ArrayError::View`].
    ///
    /// ```
    /// let mut a = varpack::Array::from_slice(&[1i32, 2], &[2]).unwrap();
    /// a.view_mut::<i32>().unwrap().as_mut_slice()[1] = 7;
    /// assert_eq!(a.to_vec::<i32>().unwrap(), vec![1, 7]);
    /// ```
    pub fn view_mut<T: Element>(&mut self) -> Result<TypedViewMut<'_, T>, ArrayError> {
        let Array { header, data } = self;
        let bytes = match data {
            Data::Owned { words, len } => &mut bytemuck::cast_slice_mut::<u64, u8>(words)[..*len],
            Data::Member(m) => {
                let path = m.path.clone();
                match &mut m.map {
                    MemberBytes::Empty => bytemuck::cast_slice_mut::<u64, u8>(&mut []),
                    MemberBytes::ReadOnly(_) | MemberBytes::Shared(..) => {
                        return Err(ArrayError::ReadOnly { path });
                    }
                    MemberBytes::Writable(map, mode) => {
                        if *mode == Mode::ReadWrite {
                            m.dirty = true;
                        }
                        &mut map[..]
                    }
                }
            }
        };
        Ok(TypedViewMut::new(header, bytes)?)
    }

    /// The elements copied into a `Vec<T>` (byte-swapped to native order if needed), in
    /// storage order.
    ///
    /// # Errors
    /// [`ArrayError::View`] for a dtype other than `T`.
    ///
    /// ```
    /// let a = varpack::Array::from_slice(&[3u64, 4], &[2]).unwrap();
    /// assert_eq!(a.to_vec::<u64>().unwrap(), vec![3, 4]);
    /// ```
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>, ArrayError> {
        Ok(npy_format::to_vec(&self.header, self.as_bytes())?)
    }

    /// [`Status::Mapped`] for arrays backed by a file map, [`Status::Loaded`] for arrays in
    /// memory.
    ///
    /// ```
    /// let a = varpack::Array::from_slice(&[1u8], &[1]).unwrap();
    /// assert_eq!(a.status(), varpack::Status::Loaded);
    /// ```
    pub fn status(&self) -> Status {
        match self.data {
            Data::Owned { .. } => Status::Loaded,
            _ => Status::Mapped,
        }
    }

    /// The map mode of a mapped array (`None` in memory).
    ///
    /// ```
    /// let a = varpack::Array::from_slice(&[1u8], &[1]).unwrap();
    /// assert_eq!(a.map_mode(), None);
    /// ```
    pub fn map_mode(&self) -> Option<Mode> {
        match &self.data {
            Data::Owned { .. } => None,
            Data::Member(m) => Some(m.mode()),
        }
    }

    /// Copies mapped data into memory (no-op for arrays in memory).
    ///
    /// ```
    /// let mut a = varpack::Array::from_slice(&[1u8], &[1]).unwrap();
    /// a.detach();
    /// assert_eq!(a.status(), varpack::Status::Loaded);
    /// ```
    pub fn detach(&mut self) {
        if !matches!(self.data, Data::Owned { .. }) {
            self.data = owned(self.as_bytes());
        }
    }

    /// An in-memory copy.
    ///
    /// ```
    /// let a = varpack::Array::from_slice(&[1u8, 2], &[2]).unwrap();
    /// assert_eq!(a.to_owned_array().as_bytes(), a.as_bytes());
    /// ```
    pub fn to_owned_array(&self) -> Array {
        Array {
            header: self.header.clone(),
            data: owned(self.as_bytes()),
        }
    }

    /// Flushes a read-write map to the file (no-op otherwise).
    ///
    /// # Errors
    /// [`ArrayError::Io`].
    ///
    /// ```
    /// varpack::Array::from_slice(&[1u8], &[1]).unwrap().flush().unwrap();
    /// ```
    pub fn flush(&self) -> Result<(), ArrayError> {
        match &self.data {
            Data::Owned { .. } => Ok(()),
            Data::Member(m) => match &m.map {
                MemberBytes::Writable(map, Mode::ReadWrite) => {
                    map.flush().map_err(|source| ArrayError::Io {
                        path: m.path.clone(),
                        source,
                    })
                }
                _ => Ok(()),
            },
        }
    }

    /// The device and inode of the `.npy` file this array maps, if the file holds the array's
    /// current data: a read-only or read-write map (a copy-on-write map's writes never reach
    /// the file).
    pub(crate) fn file_id(&self) -> Option<(u64, u64)> {
        match &self.data {
            Data::Member(m) if m.mode() != Mode::CopyOnWrite => m.file_id,
            _ => None,
        }
    }

    /// The archive member this array maps, if it is a read-write map that was written to.
    pub(crate) fn dirty_member(&self) -> Option<(&Path, &str)> {
        match &self.data {
            Data::Member(m) if m.dirty && m.archive => Some((&m.path, &m.member)),
            _ => None,
        }
    }

    pub(crate) fn clear_dirty(&mut self) {
        if let Data::Member(m) = &mut self.data {
            m.dirty = false;
        }
    }
}
