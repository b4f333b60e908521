//! What the reader learns about a member: its local header and NPY header, checked and
//! cached ([`Meta`]), and what it tells callers ([`MemberInfo`]).

use super::*;

/// The most a deflate stream can expand (about 1032:1), plus slack for tiny members.
const MAX_RATIO: u64 = 1032;

const RATIO_SLACK: u64 = 1024;

/// Room for a local header's extra field in the bytes fetched at a member's start from a byte
/// source (this crate writes at most 89 bytes, numpy 20).
const EXTRA_ROOM: u64 = 256;

/// Members whose first bytes one request of [`NpzReader::fetch_heads`] asks for.
pub(super) const HEADS_PER_REQUEST: usize = 256;

/// A member's first bytes, fetched in one request from a byte source: its local header, its
/// NPY header and the start of its data (up to [`npy_format::HEAD_BYTES`] of it, or the whole
/// member if shorter). Reads of the member serve what they can from them.
#[derive(Clone)]
pub(super) struct Head {
    /// Absolute offset of the first byte (the member's local header).
    pub(super) start: u64,
    pub(super) bytes: Vec<u8>,
}

/// What the reader learned about a member from its local header and NPY header.
#[derive(Debug)]
pub(super) struct Meta {
    pub(super) data_start: u64,
    pub(super) header: Header,
    pub(super) version: Version,
    pub(super) header_len: u64,
    pub(super) data_len: u64,
    pub(super) index: Option<SeekIndex>,
}

/// A member's header information, compression, sizes and access paths.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
/// npz.add_array("x", &[1.0f64; 6], &[2, 3]).unwrap();
/// npz.finish().unwrap();
/// let info = npz_stream::NpzReader::open(&path).unwrap().info("x").unwrap();
/// assert_eq!(info.header.shape, vec![2, 3]);
/// assert_eq!(info.method, npz_stream::Method::Stored);
/// assert_eq!(info.data_offset.unwrap() % 64, 0);
/// assert!(info.mappable && info.seekable);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MemberInfo {
    /// The key (the member name without `.npy`).
    pub key: String,
    /// The member's name in the archive.
    pub name: String,
    /// The NPY header.
    pub header: Header,
    /// The NPY format version of the member.
    pub version: Version,
    /// Stored or deflated.
    pub method: Method,
    /// Uncompressed bytes of the member (NPY header included).
    pub size: u64,
    /// Bytes of the member in the archive.
    pub compressed_size: u64,
    /// CRC-32 of the member, from the central directory.
    pub crc32: u32,
    /// Bytes of NPY header before the array data, within the member.
    pub header_len: u64,
    /// Absolute offset of the array data in the archive, for stored members.
    pub data_offset: Option<u64>,
    /// Random frame reads cost time proportional to the frames read: stored members, deflated
    /// members with a seek index, a stored access-point index or a built zran index.
    pub seekable: bool,
    /// A deflated member with this crate's seek index.
    pub indexed: bool,
    /// A deflated member with an access-point index stored by [`index`](crate::index)
    /// (`npz index`), in the archive or its sidecar, that checks out (and
    /// [`ReaderOptions::stored_index`] on).
    pub stored_index: bool,
    /// A stored member whose data is 64-byte aligned: [`NpzReader::view`] works for every
    /// element type (of a local archive: one read by ranges has no map to view, see
    /// [`NpzReader::can_view`]; the flag describes the member, and is the same).
    pub mappable: bool,
}

impl NpzReader {
    pub(super) fn corrupt(&self, idx: usize, offset: u64, reason: String) -> ReadError {
        ReadError::new(
            self.path.clone(),
            ReadErrorKind::Corrupt {
                member: self.entry(idx).name.clone(),
                offset,
                reason,
            },
        )
    }

    pub(super) fn inflate_err(&self, idx: usize, e: InflateError) -> ReadError {
        let member = self.entry(idx).name.clone();
        let path = self.path.clone();
        match e {
            InflateError::Io(source) => ReadError::new(path, ReadErrorKind::Io { member, source }),
            InflateError::Corrupt { offset, reason } => ReadError::new(
                path,
                ReadErrorKind::Inflate {
                    member,
                    offset,
                    reason,
                },
            ),
            InflateError::Size(reason) => {
                ReadError::new(path, ReadErrorKind::Size { member, reason })
            }
            InflateError::Crc { expected, actual } => ReadError::new(
                path,
                ReadErrorKind::Crc {
                    member,
                    expected,
                    actual,
                },
            ),
        }
    }

    /// How NPY headers of members are read: the header limit of the options.
    pub(super) fn read_options(&self) -> ReadOptions {
        ReadOptions::default().max_header_size(self.options.max_header_size)
    }

    /// The range [`Head`] fetches for member `idx`, with up to `data` bytes of its data, if it
    /// is read from a byte source and is a member this crate decodes (others fail on their
    /// directory entry, with no request).
    fn head_range(&self, idx: usize, data: u64) -> Option<std::ops::Range<u64>> {
        let entry = self.entry(idx);
        let decoded = matches!(entry.method, zip::METHOD_STORED | zip::METHOD_DEFLATED)
            && entry.flags & zip::FLAG_ENCRYPTED == 0;
        if self.can_view() || !decoded {
            return None;
        }
        let want = zip::LOCAL_LEN
            + u64::from(entry.name_len)
            + EXTRA_ROOM
            + entry.compressed_size.min(data);
        // The member lies before the central directory (checked at open).
        let len = want.min(self.dir.cd_start - entry.local_offset);
        Some(entry.local_offset..entry.local_offset + len)
    }

    /// Member `idx`'s [`Head`], fetched in one request (`None` for a local file, which is read
    /// as it goes): the NPY header and the start of the data, or with `whole`, the whole
    /// member (up to 8 MiB of it) for a whole read.
    pub(super) fn fetch_head(&self, idx: usize, whole: bool) -> Result<Option<Head>, ReadError> {
        let data = if whole {
            REMOTE_INPUT_MAX
        } else {
            npy_format::HEAD_BYTES
        };
        let Some(range) = self.head_range(idx, data as u64) else {
            return Ok(None);
        };
        let mut bytes = vec![0u8; (range.end - range.start) as usize];
        self.source()
            .pread_exact(&mut bytes, range.start)
            .map_err(|source| {
                ReadError::new(
                    self.path.clone(),
                    ReadErrorKind::Io {
                        member: self.entry(idx).name.clone(),
                        source,
                    },
                )
            })?;
        Ok(Some(Head {
            start: range.start,
            bytes,
        }))
    }

    /// The [`Head`]s of members `idxs` (at most [`HEADS_PER_REQUEST`]), in one call of
    /// [`ByteSource::read_ranges`] (which object storage coalesces and runs concurrently);
    /// `None` for a local file, or each member if the call fails (each then reads, and
    /// reports, on its own).
    pub(super) fn fetch_heads(&self, idxs: &[usize]) -> Vec<Option<Head>> {
        let mut heads: Vec<Option<Head>> = idxs.iter().map(|_| None).collect();
        let Backing::Source(source) = &self.backing else {
            return heads;
        };
        let ranges: Vec<(usize, std::ops::Range<u64>)> = idxs
            .iter()
            .enumerate()
            .filter_map(|(i, &idx)| Some((i, self.head_range(idx, npy_format::HEAD_BYTES as u64)?)))
            .collect();
        if ranges.is_empty() {
            return heads;
        }
        let wanted: Vec<std::ops::Range<u64>> = ranges.iter().map(|(_, r)| r.clone()).collect();
        let Ok(got) = source.read_ranges(&wanted) else {
            return heads;
        };
        for ((i, range), bytes) in ranges.into_iter().zip(got) {
            if bytes.len() as u64 == range.end - range.start {
                heads[i] = Some(Head {
                    start: range.start,
                    bytes,
                });
            }
        }
        heads
    }

    /// Checks the member's directory entry and local header (read from `head` if given);
    /// returns where its data starts.
    pub(super) fn locate_in(&self, idx: usize, head: Option<&Head>) -> Result<u64, ReadError> {
        let entry = self.entry(idx);
        let unsupported = |reason: String| {
            ReadError::new(
                self.path.clone(),
                ReadErrorKind::Unsupported {
                    member: entry.name.clone(),
                    reason,
                },
            )
        };
        if entry.flags & zip::FLAG_ENCRYPTED != 0 {
            return Err(unsupported("the member is encrypted".into()));
        }
        let size_err = |reason: String| {
            ReadError::new(
                self.path.clone(),
                ReadErrorKind::Size {
                    member: entry.name.clone(),
                    reason,
                },
            )
        };
        match entry.method {
            zip::METHOD_STORED if entry.size != entry.compressed_size => {
                return Err(size_err(format!(
                    "a stored member of {} bytes declares {} uncompressed",
                    entry.compressed_size, entry.size
                )));
            }
            zip::METHOD_STORED => {}
            zip::METHOD_DEFLATED => {
                if entry.size
                    > entry
                        .compressed_size
                        .saturating_mul(MAX_RATIO)
                        .saturating_add(RATIO_SLACK)
                {
                    return Err(size_err(format!(
                        "{} bytes declared from {} compressed: more than deflate can produce (a zip bomb?)",
                        entry.size, entry.compressed_size
                    )));
                }
            }
            m => {
                return Err(unsupported(format!(
                    "{} compression (zip method {m}), which this crate does not decode",
                    Method::from_code(m)
                )));
            }
        }
        let base = self.source();
        let src = match head {
            Some(head) => Src::Ahead {
                start: head.start,
                bytes: &head.bytes,
                inner: &base,
            },
            None => base,
        };
        let local = zip::read_local(&src, entry, self.dir.cd_start)
            .map_err(|reason| self.corrupt(idx, entry.local_offset, reason))?;
        Ok(local.data_start)
    }

    pub(super) fn method(&self, idx: usize) -> Method {
        Method::from_code(self.entry(idx).method)
    }

    pub(super) fn meta(&self, idx: usize) -> Result<&Meta, ReadError> {
        if let Some(meta) = self.meta[idx].get() {
            return Ok(meta);
        }
        let head = self.fetch_head(idx, false)?;
        self.meta_with(idx, head)
    }

    /// [`meta`](Self::meta), reading the member's first bytes from `head` if given.
    pub(super) fn meta_with(&self, idx: usize, head: Option<Head>) -> Result<&Meta, ReadError> {
        if let Some(meta) = self.meta[idx].get() {
            return Ok(meta);
        }
        let data_start = self.locate_in(idx, head.as_ref())?;
        let entry = self.entry(idx);
        let mut reader = MemberReader::new(self, idx, data_start, false, head);
        let limits = self.read_options();
        let parsed = Header::read_from(&mut reader, limits).map_err(|source| {
            // The member reader reports its own errors through io::Error.
            match source {
                npy_format::HeaderError::Io(e) => unwrap_io(&entry.name, &self.path, e),
                source => ReadError::new(
                    self.path.clone(),
                    ReadErrorKind::Header {
                        member: entry.name.clone(),
                        source,
                    },
                ),
            }
        })?;
        let header = parsed.header;
        let data_len = if header.dtype.has_object() {
            0
        } else {
            header.data_len().unwrap_or(u64::MAX)
        };
        let available = entry.size.saturating_sub(parsed.data_offset);
        if available < data_len {
            return Err(ReadError::new(
                self.path.clone(),
                ReadErrorKind::Truncated {
                    member: entry.name.clone(),
                    expected: data_len,
                    available,
                },
            ));
        }
        let index = if entry.method == zip::METHOD_DEFLATED {
            // The first chunk starts right after the header's stored blocks: an index whose
            // first point says otherwise would shift every read, so it is not trusted.
            let data_start = (
                parsed.data_offset,
                crate::deflate::stored_blocks_len(parsed.data_offset as usize) as u64,
            );
            zip::find_extra(entry.extra(), INDEX_HEADER_ID)
                .and_then(|data| {
                    SeekIndex::from_field_data(data, entry.crc32, entry.size, entry.compressed_size)
                })
                .filter(|index| index.points.first().is_none_or(|&p| p == data_start))
        } else {
            None
        };
        let meta = Meta {
            data_start,
            header,
            version: parsed.version,
            header_len: parsed.data_offset,
            data_len,
            index,
        };
        Ok(self.meta[idx].get_or_init(|| Box::new(meta)))
    }

    /// Header information, compression, sizes and access paths of member `key`.
    ///
    /// # Errors
    /// [`ReadErrorKind::NoSuchMember`]; a corrupt local header; a member that is not NPY
    /// ([`ReadErrorKind::Header`]) or shorter than its header says.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::options().compression(npz_stream::Compression::deflate()).create(&path).unwrap();
    /// npz.add_array("x", &[0u8; 4096], &[64, 64]).unwrap();
    /// npz.finish().unwrap();
    /// let info = npz_stream::NpzReader::open(&path).unwrap().info("x.npy").unwrap();
    /// assert_eq!(info.key, "x");
    /// assert!(info.indexed && info.seekable && !info.mappable);
    /// assert!(info.compressed_size < info.size);
    /// ```
    pub fn info(&self, key: &str) -> Result<MemberInfo, ReadError> {
        let idx = self.index_of(key)?;
        self.info_at(idx)
    }

    pub(super) fn info_at(&self, idx: usize) -> Result<MemberInfo, ReadError> {
        let meta = self.meta(idx)?;
        let entry = self.entry(idx);
        let method = self.method(idx);
        let data_offset = (method == Method::Stored).then(|| meta.data_start + meta.header_len);
        let indexed = meta.index.is_some();
        let stored_index = self.has_stored_index(idx);
        Ok(MemberInfo {
            key: key_of(&entry.name).to_owned(),
            name: entry.name.clone(),
            header: meta.header.clone(),
            version: meta.version,
            method,
            size: entry.size,
            compressed_size: entry.compressed_size,
            crc32: entry.crc32,
            header_len: meta.header_len,
            data_offset,
            seekable: method == Method::Stored
                || indexed
                || stored_index
                || self.zran[idx].get().is_some(),
            indexed,
            stored_index,
            mappable: data_offset.is_some_and(|o| o % crate::format::ALIGNMENT == 0),
        })
    }

    /// [`info`](Self::info) of every member, in archive order.
    ///
    /// # Errors
    /// The first member that fails.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// # let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// # npz.add_array("x", &[1u8], &[1]).unwrap();
    /// # npz.finish().unwrap();
    /// let infos = npz_stream::NpzReader::open(&path).unwrap().infos().unwrap();
    /// assert_eq!(infos[0].key, "x");
    /// ```
    pub fn infos(&self) -> Result<Vec<MemberInfo>, ReadError> {
        self.live_entries()
            .map(|(i, _)| i)
            .collect::<Vec<_>>()
            .into_iter()
            .map(|i| self.info_at(i))
            .collect()
    }
}
