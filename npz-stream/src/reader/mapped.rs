//! Zero-copy access: the archive mapped once, stored members viewed in place.

use super::*;

impl NpzReader {
    /// Where member bytes are read from: the map of the archive, if one was made, else the
    /// file; or the byte source.
    pub(super) fn source(&self) -> Src<'_> {
        match &self.backing {
            Backing::File { file, .. } => Src::File {
                file,
                map: self.map.get().map(|map| &map[..]),
            },
            Backing::Source(source) => Src::Source(&**source),
        }
    }

    /// Where compressed bytes are read from to be inflated: the file (in 64 KiB pieces, not
    /// through the map), or the byte source.
    pub(super) fn input(&self) -> Src<'_> {
        match &self.backing {
            Backing::File { file, .. } => Src::File { file, map: None },
            Backing::Source(source) => Src::Source(&**source),
        }
    }

    pub(super) fn mapped(&self, idx: usize) -> Result<&Mmap, ReadError> {
        let member = self.entry(idx).name.clone();
        if !self.can_view() {
            return Err(ReadError::new(
                self.path.clone(),
                ReadErrorKind::NotMapped { member },
            ));
        }
        self.map_archive().map_err(|source| {
            ReadError::new(self.path.clone(), ReadErrorKind::Io { member, source })
        })
    }

    /// The map of the whole archive, made on first use (an error for a byte source, which
    /// has no file to map).
    pub(super) fn map_archive(&self) -> io::Result<&Mmap> {
        if let Some(map) = self.map.get() {
            return Ok(map);
        }
        let Backing::File { file, len } = &self.backing else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "an archive read by ranges has no map",
            ));
        };
        let len = usize::try_from(*len).map_err(|_| {
            io::Error::new(
                io::ErrorKind::OutOfMemory,
                "the archive is larger than this platform's address space",
            )
        })?;
        // The file's length as opened: every member range was checked to lie before the central
        // directory, hence inside it. NpzReader's docs state the contract that makes the map
        // sound (see `array_files_fs::map`): the archive is not truncated or rewritten in place
        // while views of it are alive.
        let map = MapOptions::new().len(len).map(file)?;
        Ok(self.map.get_or_init(|| map))
    }

    /// The raw array data of stored member `key`, zero-copy from a memory map of the archive.
    ///
    /// The map is only as stable as the file: the archive must not be truncated (by another
    /// program, or by [`recover`](crate::recover) cutting off an interrupted append) while the
    /// returned slice is alive; see [When the file shrinks](NpzReader#when-the-file-shrinks).
    ///
    /// # Errors
    /// [`ReadErrorKind::NotStored`] for deflated members; [`ReadErrorKind::View`] for object
    /// arrays; [`ReadErrorKind::NotMapped`] for an archive read by ranges
    /// ([`NpzReader::open_source`]), which has no map (see [`can_view`](Self::can_view)).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// # npz.add_array("x", &[7u8, 8, 9], &[3]).unwrap();
    /// # npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// assert_eq!(reader.data("x").unwrap(), &[7, 8, 9]);
    /// ```
    pub fn data(&self, key: &str) -> Result<&[u8], ReadError> {
        let idx = self.index_of(key)?;
        let meta = self.meta(idx)?;
        let name = &self.entry(idx).name;
        if self.method(idx) != Method::Stored {
            return Err(ReadError::new(
                self.path.clone(),
                ReadErrorKind::NotStored {
                    member: name.clone(),
                },
            ));
        }
        if meta.header.dtype.has_object() {
            return Err(ReadError::new(
                self.path.clone(),
                ReadErrorKind::View {
                    member: name.clone(),
                    source: ViewError::Object,
                },
            ));
        }
        let map = self.mapped(idx)?;
        let start = (meta.data_start + meta.header_len) as usize;
        Ok(&map[start..start + meta.data_len as usize])
    }

    /// A zero-copy typed view of stored member `key` (see [`data`](Self::data) for the map's
    /// stability). Our stored members are 64-byte aligned, so every element type views;
    /// numpy's `savez` members are not aligned, and types wider than a byte may fail with
    /// [`ViewError::Misaligned`].
    ///
    /// # Errors
    /// As [`data`](Self::data); [`ReadErrorKind::View`] with the check that failed (dtype, byte
    /// order, alignment).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// npz.add_array("x", &[1.0f64, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// let view = reader.view::<f64>("x").unwrap();
    /// assert_eq!(view.get(&[1, 0]), Some(&3.0));
    /// assert!(reader.view::<f32>("x").is_err());
    /// ```
    pub fn view<T: Element>(&self, key: &str) -> Result<TypedView<'_, T>, ReadError> {
        let bytes = self.data(key)?;
        let idx = self.index_of(key)?;
        let meta = self.meta(idx)?;
        TypedView::new(&meta.header, bytes).map_err(|source| {
            ReadError::new(
                self.path.clone(),
                ReadErrorKind::View {
                    member: self.entry(idx).name.clone(),
                    source,
                },
            )
        })
    }
}
