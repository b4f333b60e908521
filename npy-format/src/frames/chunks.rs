//! Sequential reading of frames in chunks (bounded memory whatever the array's size): borrowed from an [`NpyFile`]'s map, or read into
//! buffers from any [`FrameSource`] (numpyWriter's `read(n)` loop, as an iterator).

use crate::error::ReadError;
use crate::file::NpyFile;
use crate::frames::FrameSource;

/// A run of consecutive frames: frames `start .. start + frames` and their bytes, borrowed
/// (`&[u8]`, from [`mapped_chunks`]) or owned (`Vec<u8>`, from
/// [`FrameChunksExt::frame_chunks`]).
///
/// ```
/// use npy_format::{FrameChunk, mapped_chunks};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npy");
/// npy_format::write_file(&path, &[1u8, 2, 3, 4, 5], &[5]).unwrap();
/// let file = npy_format::NpyFile::open(&path).unwrap();
/// let chunk: FrameChunk<&[u8]> = mapped_chunks(&file, 2).nth(1).unwrap().unwrap();
/// assert_eq!((chunk.start, chunk.frames, chunk.bytes), (2, 2, &[3u8, 4][..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameChunk<B> {
    /// The first frame's index.
    pub start: u64,
    /// Frames in the chunk.
    pub frames: u64,
    /// Their bytes, in storage order.
    pub bytes: B,
}

/// The position of a chunked read: the next frame, the end, the chunk size, and whether a read
/// failed (after which the iteration stops).
#[derive(Debug)]
struct ChunkCursor {
    next: u64,
    end: u64,
    per_chunk: u64,
    failed: bool,
}

impl ChunkCursor {
    fn new(end: u64, frames_per_chunk: u64) -> ChunkCursor {
        ChunkCursor {
            next: 0,
            end,
            per_chunk: frames_per_chunk.max(1),
            failed: false,
        }
    }

    /// Reads the next chunk with `read(start, stop)`; `None` at the end or after a failure.
    fn step<B, E>(
        &mut self,
        read: impl FnOnce(u64, u64) -> Result<B, E>,
    ) -> Option<Result<FrameChunk<B>, E>> {
        if self.next >= self.end || self.failed {
            return None;
        }
        let start = self.next;
        let stop = start.saturating_add(self.per_chunk).min(self.end);
        self.next = stop;
        let chunk = read(start, stop).map(|bytes| FrameChunk {
            start,
            frames: stop - start,
            bytes,
        });
        self.failed = chunk.is_err();
        Some(chunk)
    }

    /// Chunks left (exactly, as the count cannot change under the cursor).
    fn remaining(&self) -> usize {
        let n = if self.failed {
            0
        } else {
            (self.end - self.next).div_ceil(self.per_chunk)
        };
        usize::try_from(n).unwrap_or(usize::MAX)
    }
}

/// How many frames of `frame_len` bytes make a chunk of at most `max_bytes` (at least one;
/// every frame at once for frames of zero bytes).
///
/// ```
/// assert_eq!(npy_format::frames_per_chunk(1000, 8 << 20), 8388);
/// assert_eq!(npy_format::frames_per_chunk(16 << 20, 8 << 20), 1);
/// assert_eq!(npy_format::frames_per_chunk(0, 8 << 20), u64::MAX);
/// ```
pub fn frames_per_chunk(frame_len: u64, max_bytes: u64) -> u64 {
    max_bytes
        .checked_div(frame_len)
        .map_or(u64::MAX, |n| n.max(1))
}

/// The frames of a mapped file in chunks of `frames_per_chunk` frames (the last may be
/// shorter), borrowed from the map: no copy, memory bounded by the page cache.
///
/// ```
/// use npy_format::mapped_chunks;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npy");
/// npy_format::write_file(&path, &(0u16..10).collect::<Vec<_>>(), &[5, 2]).unwrap();
/// let file = npy_format::NpyFile::open(&path).unwrap();
/// let sizes: Vec<u64> = mapped_chunks(&file, 2).map(|c| c.unwrap().frames).collect();
/// assert_eq!(sizes, vec![2, 2, 1]);
/// ```
pub fn mapped_chunks(file: &NpyFile, frames_per_chunk: u64) -> MappedChunks<'_> {
    MappedChunks {
        file,
        cursor: ChunkCursor::new(file.frame_count(), frames_per_chunk),
    }
}

/// Iterator of [`mapped_chunks`].
///
/// ```
/// use npy_format::mapped_chunks;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npy");
/// npy_format::write_file(&path, &[0u8; 6], &[6]).unwrap();
/// let file = npy_format::NpyFile::open(&path).unwrap();
/// assert_eq!(mapped_chunks(&file, 4).len(), 2);
/// ```
#[derive(Debug)]
pub struct MappedChunks<'a> {
    file: &'a NpyFile,
    cursor: ChunkCursor,
}

impl<'a> Iterator for MappedChunks<'a> {
    type Item = Result<FrameChunk<&'a [u8]>, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let file = self.file;
        self.cursor.step(|start, stop| file.frames(start, stop))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.cursor.remaining();
        (n, Some(n))
    }
}

impl ExactSizeIterator for MappedChunks<'_> {}

/// Chunked sequential reads for every [`FrameSource`] (an [`NpyFile`], an npz member, ...).
///
/// ```
/// use npy_format::FrameChunksExt;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npy");
/// npy_format::write_file(&path, &(0u32..12).collect::<Vec<_>>(), &[6, 2]).unwrap();
/// let mut file = npy_format::NpyFile::open(&path).unwrap();
/// let mut total = 0;
/// for chunk in file.frame_chunks(4) {
///     let chunk = chunk.unwrap();
///     assert_eq!(chunk.bytes.len() as u64, chunk.frames * 8);
///     total += chunk.frames;
/// }
/// assert_eq!(total, 6);
/// ```
pub trait FrameChunksExt: FrameSource {
    /// The frames from the first to the current count, `frames_per_chunk` at a time, each
    /// chunk read into a new buffer.
    ///
    /// ```
    /// use npy_format::FrameChunksExt;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npy");
    /// npy_format::write_file(&path, &[7u8; 5], &[5]).unwrap();
    /// let mut file = npy_format::NpyFile::open(&path).unwrap();
    /// let chunks: Vec<_> = file.frame_chunks(3).map(Result::unwrap).collect();
    /// assert_eq!(chunks[1].start, 3);
    /// assert_eq!(chunks[1].bytes, vec![7, 7]);
    /// ```
    fn frame_chunks(&mut self, frames_per_chunk: u64) -> SourceChunks<'_, Self>
    where
        Self: Sized,
    {
        let end = self.frame_count();
        SourceChunks {
            source: self,
            cursor: ChunkCursor::new(end, frames_per_chunk),
        }
    }
}

impl<S: FrameSource> FrameChunksExt for S {}

/// Iterator of [`FrameChunksExt::frame_chunks`].
///
/// ```
/// use npy_format::FrameChunksExt;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npy");
/// npy_format::write_file(&path, &[0u8; 6], &[6]).unwrap();
/// let mut file = npy_format::NpyFile::open(&path).unwrap();
/// assert_eq!(file.frame_chunks(5).count(), 2);
/// ```
#[derive(Debug)]
pub struct SourceChunks<'s, S> {
    source: &'s mut S,
    cursor: ChunkCursor,
}

impl<S: FrameSource> Iterator for SourceChunks<'_, S> {
    type Item = Result<FrameChunk<Vec<u8>>, S::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let source = &mut *self.source;
        self.cursor
            .step(|start, stop| source.read_frames(start, stop))
    }
}
