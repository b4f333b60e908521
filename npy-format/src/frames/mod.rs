//! Frames: the unit in which arrays grow and are read piecewise, across the whole workspace.
//!
//! An array stored along its growth axis (axis 0 in C order, the last axis in Fortran order) is a
//! sequence of frames, each a contiguous run of bytes in storage order. A 0-d array is one frame.
//!
//! Two traits carry that idea:
//!
//! - [`FrameSource`]: a header and random access to frames `[a, b)`. Implemented by
//!   [`NpyFile`](crate::NpyFile) here, and by npz members (stored or compressed) and `.npy` files
//!   inside packs in the sibling crates.
//! - [`FrameChunksExt::frame_chunks`] and [`mapped_chunks`]: any source read sequentially in
//!   chunks of a bounded size, owned or borrowed from a map.
//! - [`FrameSink`]: a header and appends of whole frames, with `flush`, `sync` and `finish`.
//!   Implemented by npy-append's appender and npz-stream's streaming members, so code that records
//!   frames can be generic over where they go.
//!
//! # The contract
//!
//! For a source: `header()` describes the array as it is now (its growth dimension is
//! `frame_count()`); `read_frames_into(start, buf)` fills `buf` with `buf.len() / frame_len()`
//! frames starting at `start`, and fails with a [`FrameRangeError`] (converted into the source's
//! error) when the range passes the end or `buf` is not a whole number of frames. Reads do not
//! change what later reads return.
//!
//! For a sink: `append_frames(bytes, n)` takes exactly `n` frames in the sink's dtype, byte order
//! and layout, or fails without appending any; `flush` makes every appended frame visible to
//! readers of the destination (data first, then the header that counts it); `sync` is `flush` plus
//! durability (data on stable storage before the header that counts it, then the header);
//! `finish` flushes and returns the final header, and is where a caller learns of errors that
//! `Drop` could only log.

mod chunks;

pub use chunks::{
    FrameChunk, FrameChunksExt, MappedChunks, SourceChunks, frames_per_chunk, mapped_chunks,
};

use crate::element::{Element, as_bytes};
use crate::error::{FrameError, FrameRangeError};
use crate::header::Header;

/// Random access to the frames of an array.
///
/// ```
/// use npy_format::{FrameSource, NpyFile};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("f.npy");
/// npy_format::write_file(&path, &(0u16..12).collect::<Vec<_>>(), &[4, 3]).unwrap();
/// let mut file = NpyFile::open(&path).unwrap();
/// assert_eq!(file.frame_count(), 4);
/// let bytes = file.read_frames(1, 3).unwrap();
/// assert_eq!(bytes.len(), 2 * 3 * 2);
/// assert!(file.read_frames(3, 5).is_err());
/// ```
pub trait FrameSource {
    /// The source's error type; out-of-range requests become one of these through
    /// [`range_error`](Self::range_error).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The array as it is now; its growth dimension is the number of frames available.
    fn header(&self) -> &Header;

    /// Frames available.
    fn frame_count(&self) -> u64 {
        self.header().frame_count()
    }

    /// Bytes per frame.
    fn frame_len(&self) -> u64 {
        self.header().frame_len().unwrap_or(u64::MAX)
    }

    /// Fills `buf` with frames starting at `start`; `buf.len()` must be a whole number of frames.
    ///
    /// Checks the range, then calls [`Self::read_frames_unchecked`].
    ///
    /// # Errors
    /// A [`FrameRangeError`] (converted) for a range past the end or a partial frame; the source's
    /// own errors for I/O or corrupt data.
    fn read_frames_into(&mut self, start: u64, buf: &mut [u8]) -> Result<(), Self::Error> {
        let frames = checked_frames_in(start, buf.len(), self.frame_count(), self.frame_len())
            .map_err(|e| self.range_error(e))?;
        self.check_readable()?;
        self.read_frames_unchecked(start, frames, buf)
    }

    /// Frames `[start, end)` as a new buffer.
    ///
    /// Checks the range and [`Self::check_readable`] before allocating, then calls
    /// [`Self::read_frames_unchecked`].
    ///
    /// # Errors
    /// As [`Self::read_frames_into`].
    fn read_frames(&mut self, start: u64, end: u64) -> Result<Vec<u8>, Self::Error> {
        let len = checked_range_len(start, end, self.frame_count(), self.frame_len())
            .map_err(|e| self.range_error(e))?;
        self.check_readable()?;
        let mut buf = vec![0u8; len];
        self.read_frames_unchecked(start, end - start, &mut buf)?;
        Ok(buf)
    }

    /// Refuses a source whose frames cannot be read as bytes, before anything is allocated for
    /// them: an object array's header may claim any length while the source holds a pickle.
    /// The default accepts every source.
    ///
    /// # Errors
    /// The source's error saying why its frames cannot be read.
    fn check_readable(&self) -> Result<(), Self::Error> {
        Ok(())
    }

    /// The error for a range outside the source, with the source's context (its path, its
    /// member): what the provided methods return for a range they refuse.
    fn range_error(&self, error: FrameRangeError) -> Self::Error;

    /// Fills `buf` with the `frames` frames starting at `start`: what an implementation
    /// provides. The provided methods call it only with a range they have checked:
    /// `start + frames <= frame_count()` and `buf.len() == frames * frame_len()`; it is not
    /// meant to be called directly (it is "unchecked" in that sense, not `unsafe`: a wrong
    /// range may give a wrong result or a panic, never undefined behaviour).
    ///
    /// # Errors
    /// The source's own errors for I/O or corrupt data.
    fn read_frames_unchecked(
        &mut self,
        start: u64,
        frames: u64,
        buf: &mut [u8],
    ) -> Result<(), Self::Error>;
}

/// Checks `[start, end)` against `count` frames and returns its byte length, or a
/// [`FrameRangeError`] if the range is reversed, passes `count`, or its length overflows `usize`.
pub(crate) fn checked_range_len(
    start: u64,
    end: u64,
    count: u64,
    frame_len: u64,
) -> Result<usize, FrameRangeError> {
    FrameRangeError::check(start, end, count)?;
    (end - start)
        .checked_mul(frame_len)
        .and_then(|len| usize::try_from(len).ok())
        .ok_or(FrameRangeError { start, end, count })
}

/// The frame count of `len` bytes read at `start` into a source of `count` frames of `frame_len`
/// bytes, checked against the end of the source; a [`FrameRangeError`] if `len` is not a whole
/// number of frames or the frames pass the end.
pub(crate) fn checked_frames_in(
    start: u64,
    len: usize,
    count: u64,
    frame_len: u64,
) -> Result<u64, FrameRangeError> {
    let frames = (len as u64).checked_div(frame_len).unwrap_or(0);
    let end = start.saturating_add(frames);
    if frames.checked_mul(frame_len) != Some(len as u64) {
        return Err(FrameRangeError { start, end, count });
    }
    FrameRangeError::check(start, end, count)?;
    Ok(frames)
}

/// A destination that frames are appended to.
///
/// ```
/// use npy_format::{FrameError, FrameSink, Header};
///
/// /// A sink that keeps frames in memory: the smallest implementation of the contract.
/// struct MemorySink { header: Header, data: Vec<u8> }
///
/// impl FrameSink for MemorySink {
///     type Error = FrameError;
///     fn header(&self) -> &Header { &self.header }
///     fn frame_error(&self, error: FrameError) -> FrameError { error }
///     fn append_frames_unchecked(&mut self, bytes: &[u8], frames: u64) -> Result<(), FrameError> {
///         // append_frames checked that `bytes` is `frames` whole frames.
///         self.data.extend_from_slice(bytes);
///         self.header = self.header.with_frame_count(self.header.frame_count() + frames);
///         Ok(())
///     }
///     fn flush(&mut self) -> Result<(), FrameError> { Ok(()) }
///     fn sync(&mut self) -> Result<(), FrameError> { Ok(()) }
///     fn finish(self) -> Result<Header, FrameError> { Ok(self.header) }
/// }
///
/// let header = Header::new(npy_format::DType::parse("<f4").unwrap(), false, vec![0, 2]);
/// let mut sink = MemorySink { header, data: Vec::new() };
/// sink.append(&[1.0f32, 2.0, 3.0, 4.0]).unwrap();
/// assert!(sink.append(&[1i32, 2]).is_err()); // never a silent cast
/// assert!(sink.append_frames(&[0; 12], 2).is_err()); // 12 bytes are not two 8-byte frames
/// assert_eq!(sink.finish().unwrap().shape, vec![2, 2]);
/// ```
pub trait FrameSink {
    /// The sink's error type; mismatched appends become one of these through
    /// [`frame_error`](Self::frame_error).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The array as appended so far (growth dimension = frames appended, flushed or not).
    fn header(&self) -> &Header;

    /// Appends `frames` whole frames given as raw bytes in the sink's dtype and layout.
    ///
    /// Checks that `bytes` is exactly `frames` frames, then calls
    /// [`Self::append_frames_unchecked`].
    ///
    /// # Errors
    /// [`FrameError`] (converted) if the byte count is not `frames` frames; I/O errors.
    fn append_frames(&mut self, bytes: &[u8], frames: u64) -> Result<(), Self::Error> {
        check_append(self.header(), bytes.len(), frames).map_err(|e| self.frame_error(e))?;
        self.append_frames_unchecked(bytes, frames)
    }

    /// The error for frames that do not match the sink, with the sink's context (its path, its
    /// member): what the provided methods return for frames they refuse.
    fn frame_error(&self, error: FrameError) -> Self::Error;

    /// Appends `frames` frames: what an implementation provides. The provided methods call it
    /// only with `bytes.len() == frames * frame_len`; it is not meant to be called directly
    /// (unchecked in that sense, not `unsafe`).
    ///
    /// # Errors
    /// The sink's own errors (I/O, a full destination); on error nothing of the call is
    /// appended.
    fn append_frames_unchecked(&mut self, bytes: &[u8], frames: u64) -> Result<(), Self::Error>;

    /// Makes appended frames visible to readers (data first, then the header).
    ///
    /// # Errors
    /// I/O errors.
    fn flush(&mut self) -> Result<(), Self::Error>;

    /// [`Self::flush`] plus durability: data synced before the header, the header after.
    ///
    /// # Errors
    /// I/O errors.
    fn sync(&mut self) -> Result<(), Self::Error>;

    /// Flushes and closes the sink, returning the final header.
    ///
    /// # Errors
    /// Any error a flush would report; this is where errors `Drop` cannot return surface.
    fn finish(self) -> Result<Header, Self::Error>
    where
        Self: Sized;

    /// Appends typed elements, a whole number of frames; the frame count is inferred.
    /// `T` must be the sink's dtype in native byte order: there is no casting.
    ///
    /// # Errors
    /// [`FrameError::DType`] for another type or byte order, [`FrameError::PartialFrame`],
    /// and the sink's own errors.
    fn append<T: Element>(&mut self, data: &[T]) -> Result<u64, Self::Error>
    where
        Self: Sized,
    {
        let dtype = &self.header().dtype;
        if !T::accepts(dtype) || !dtype.is_native() {
            let error = FrameError::DType {
                expected: dtype.descr(),
                given: T::dtype().descr(),
            };
            return Err(self.frame_error(error));
        }
        let bytes = as_bytes(data);
        let frame_len = self.header().frame_len().unwrap_or(u64::MAX);
        let frames = frames_in(bytes.len(), frame_len).map_err(|e| self.frame_error(e))?;
        self.append_frames(bytes, frames)?;
        Ok(frames)
    }
}

fn frames_in(len: usize, frame_len: u64) -> Result<u64, FrameError> {
    let len = len as u64;
    if frame_len == 0 {
        // Frames of zero bytes (a zero-length dimension) cannot be counted from bytes.
        return if len == 0 {
            Ok(0)
        } else {
            Err(FrameError::PartialFrame { len, frame_len })
        };
    }
    if !len.is_multiple_of(frame_len) {
        return Err(FrameError::PartialFrame { len, frame_len });
    }
    Ok(len / frame_len)
}

/// Checks that `len` bytes are exactly `frames` frames of `header`'s frame length
/// ([`FrameError::Count`] when they are not).
fn check_append(header: &Header, len: usize, frames: u64) -> Result<(), FrameError> {
    let frame_len = header.frame_len().unwrap_or(u64::MAX);
    let expected = frames.checked_mul(frame_len);
    if expected != Some(len as u64) {
        return Err(FrameError::Count {
            frames,
            frame_len,
            expected: expected.unwrap_or(u64::MAX),
            len: len as u64,
        });
    }
    Ok(())
}
