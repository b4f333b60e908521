//! zran indexes: access points into deflated members without a seek index, built on demand,
//! so that frames far into them are read without inflating from the start.

use super::*;

/// A zran index: access points at deflate block boundaries, each with its 32 KiB window.
pub(super) struct ZranIndex {
    pub(super) points: Vec<AccessPoint>,
}

impl NpzReader {
    /// Builds and caches a zran index of deflated member `key` when it has no seek index: one
    /// pass over the member (CRC-checked) records the decoder state and the 32 KiB window at
    /// the first deflate block boundary after every `span` bytes (default: 1 MiB, or more so
    /// that there are at most 1024 points). Later frame reads start from the nearest point.
    /// Returns the number of points (0 for stored or seek-indexed members, which need none).
    ///
    /// Memory: about 32 KiB per point.
    ///
    /// # Errors
    /// As [`read_bytes`](Self::read_bytes).
    ///
    /// ```
    /// use npy_format::FrameSource;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::options()
    ///     .compression(npz_stream::Compression::deflate())
    ///     .index(false) // like numpy's savez_compressed
    ///     .create(&path)
    ///     .unwrap();
    /// let data: Vec<u32> = (0..200_000u32).map(|i| i.wrapping_mul(2_654_435_761) >> 7).collect();
    /// npz.add_array("x", &data, &[200_000]).unwrap();
    /// npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// assert!(!reader.info("x").unwrap().seekable);
    /// assert!(reader.build_index("x", Some(64 << 10)).unwrap() > 5);
    /// assert!(reader.info("x").unwrap().seekable);
    /// let mut x = reader.member("x").unwrap();
    /// assert_eq!(x.read_frames(150_000, 150_001).unwrap(), data[150_000].to_le_bytes());
    /// ```
    pub fn build_index(&self, key: &str, span: Option<u64>) -> Result<usize, ReadError> {
        let idx = self.index_of(key)?;
        self.build_index_at(idx, span)
    }

    pub(super) fn build_index_at(&self, idx: usize, span: Option<u64>) -> Result<usize, ReadError> {
        let meta = self.meta(idx)?;
        let entry = self.entry(idx);
        if entry.method == zip::METHOD_STORED || meta.index.is_some() {
            return Ok(0);
        }
        if let Some(zran) = self.zran[idx].get() {
            return Ok(zran.points.len());
        }
        let span = span.unwrap_or((1 << 20).max(entry.size / 1024)).max(1);
        let points = build_access_points(
            self.input(),
            meta.data_start,
            entry.compressed_size,
            entry.size,
            entry.crc32,
            span,
        )
        .map_err(|e| self.inflate_err(idx, e))?;
        Ok(self.zran[idx]
            .get_or_init(|| ZranIndex { points })
            .points
            .len())
    }
}
