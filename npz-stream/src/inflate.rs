//! Inflating a member's deflate stream from its start, from a seek-index point, or from a
//! zran-style access point (a deflate block boundary with its 32 KiB window).
//!
//! The declared uncompressed size caps what is inflated: a stream that goes on past it is an
//! error, not an allocation. CRC-32 is checked whenever inflation started at the beginning of
//! the stream and reached its end.

use std::fs::File;
use std::io;

use flate2::{Decompress, FlushDecompress, Status};
use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::inflate_flags::{
    TINFL_FLAG_HAS_MORE_INPUT, TINFL_FLAG_STOP_ON_BLOCK_BOUNDARY,
};
use miniz_oxide::inflate::core::{BlockBoundaryState, DecompressorOxide, decompress_with_limit};

use crate::io_util::read_exact_at;

/// Input is read from the file in pieces of this size.
const INPUT_BUF: usize = 64 << 10;
/// Deflate's window.
const WINDOW: usize = 32 << 10;
/// The wrapping output buffer of the block-boundary inflater (a power of two ≥ 2 windows).
const WRAP: usize = 2 * WINDOW;

/// Why inflating stopped; the reader adds the archive and member names.
#[derive(Debug)]
pub(crate) enum InflateError {
    Io(io::Error),
    /// Corrupt deflate data at this offset within the compressed data.
    Corrupt {
        offset: u64,
        reason: String,
    },
    /// Size disagreements (bomb guard, early end).
    Size(String),
    /// CRC mismatch on a complete read.
    Crc {
        expected: u32,
        actual: u32,
    },
}

enum Engine {
    /// zlib-rs through flate2: the fast path.
    Flate(Box<Decompress>),
    /// miniz_oxide with block-boundary control: zran access points.
    Miniz(Box<Miniz>),
}

struct Miniz {
    dec: DecompressorOxide,
    wrap: Vec<u8>,
    pos: usize,
}

/// A zran access point: a deflate block boundary, with the state needed to resume there.
#[derive(Clone)]
pub(crate) struct AccessPoint {
    /// Uncompressed offset within the member.
    pub out: u64,
    /// Offset within the compressed data of the first byte not yet consumed.
    pub input: u64,
    /// Bits of the previous byte still to be used (0..=7) and their values.
    pub num_bits: u8,
    pub bit_buf: u8,
    /// The (up to) 32 KiB of output before the point.
    pub window: Box<[u8]>,
}

/// A streaming inflater over one member's compressed bytes.
pub(crate) struct Inflate<'f> {
    file: &'f File,
    /// Absolute offset of the member's compressed data.
    base: u64,
    /// Absolute offsets: next byte to read from the file, end of the compressed data.
    next: u64,
    end: u64,
    buf: Vec<u8>,
    lo: usize,
    hi: usize,
    engine: Engine,
    /// Uncompressed position within the member.
    pub out: u64,
    /// Declared uncompressed size.
    size: u64,
    /// CRC of everything produced, when inflation started at the stream's start.
    crc: Option<(crc32fast::Hasher, u32)>,
    ended: bool,
}

impl<'f> Inflate<'f> {
    /// Inflation from the start of the stream (CRC-checked at the end).
    pub(crate) fn from_start(
        file: &'f File,
        base: u64,
        compressed: u64,
        size: u64,
        crc32: u32,
    ) -> Inflate<'f> {
        let mut inflate = Inflate::at_point(file, base, compressed, size, 0, 0);
        inflate.crc = Some((crc32fast::Hasher::new(), crc32));
        inflate
    }

    /// Inflation from a byte-aligned point with an empty window (a full-flush point).
    pub(crate) fn at_point(
        file: &'f File,
        base: u64,
        compressed: u64,
        size: u64,
        out: u64,
        input: u64,
    ) -> Inflate<'f> {
        Inflate {
            file,
            base,
            next: base + input,
            end: base + compressed,
            buf: Vec::new(),
            lo: 0,
            hi: 0,
            engine: Engine::Flate(Box::new(Decompress::new(false))),
            out,
            size,
            crc: None,
            ended: false,
        }
    }

    /// Inflation from a zran access point.
    pub(crate) fn at_access_point(
        file: &'f File,
        base: u64,
        compressed: u64,
        size: u64,
        point: &AccessPoint,
    ) -> Inflate<'f> {
        let state = BlockBoundaryState {
            num_bits: point.num_bits,
            bit_buf: point.bit_buf,
            ..BlockBoundaryState::default()
        };
        let mut wrap = vec![0u8; WRAP];
        wrap[WINDOW - point.window.len()..WINDOW].copy_from_slice(&point.window);
        let mut inflate = Inflate::at_point(file, base, compressed, size, point.out, point.input);
        inflate.engine = Engine::Miniz(Box::new(Miniz {
            dec: DecompressorOxide::from_block_boundary_state(&state),
            wrap,
            pos: WINDOW,
        }));
        inflate
    }

    fn refill(&mut self) -> Result<(), InflateError> {
        if self.buf.is_empty() {
            self.buf = vec![0u8; INPUT_BUF];
        }
        let n = (self.end - self.next).min(INPUT_BUF as u64) as usize;
        read_exact_at(self.file, &mut self.buf[..n], self.next).map_err(InflateError::Io)?;
        self.next += n as u64;
        self.lo = 0;
        self.hi = n;
        Ok(())
    }

    /// Offset within the compressed data of the next unconsumed input byte.
    fn input_offset(&self) -> u64 {
        self.next - (self.hi - self.lo) as u64 - self.base
    }

    /// Produces up to `dst.len()` bytes; 0 only at the end of the member.
    pub(crate) fn read(&mut self, dst: &mut [u8]) -> Result<usize, InflateError> {
        if dst.is_empty() {
            return Ok(0);
        }
        if self.out == self.size {
            self.check_end()?;
            return Ok(0);
        }
        let want = dst
            .len()
            .min((self.size - self.out).min(usize::MAX as u64) as usize);
        let n = self.produce(&mut dst[..want])?;
        if n == 0 {
            return Err(InflateError::Size(format!(
                "the deflate stream ends after {} bytes, the directory declares {}",
                self.out, self.size
            )));
        }
        if let Some((crc, _)) = &mut self.crc {
            crc.update(&dst[..n]);
        }
        self.out += n as u64;
        if self.out == self.size {
            self.check_end()?;
        }
        Ok(n)
    }

    /// At the declared size: the stream must end there (checked by asking for one byte more).
    fn check_end(&mut self) -> Result<(), InflateError> {
        if !self.ended {
            let mut probe = [0u8; 1];
            if self.produce(&mut probe)? > 0 {
                return Err(InflateError::Size(format!(
                    "the deflate stream inflates past the {} bytes the directory declares",
                    self.size
                )));
            }
        }
        if let Some((crc, expected)) = self.crc.take() {
            let actual = crc.finalize();
            if actual != expected {
                return Err(InflateError::Crc { expected, actual });
            }
        }
        Ok(())
    }

    /// Skips `n` bytes of output.
    pub(crate) fn skip(&mut self, mut n: u64) -> Result<(), InflateError> {
        let mut scratch = vec![0u8; n.min(256 << 10) as usize];
        while n > 0 {
            let want = n.min(scratch.len() as u64) as usize;
            let got = self.read(&mut scratch[..want])?;
            if got == 0 {
                return Err(InflateError::Size(format!(
                    "the member ends at {} bytes",
                    self.out
                )));
            }
            n -= got as u64;
        }
        Ok(())
    }

    /// Fills `dst` completely.
    pub(crate) fn read_exact(&mut self, dst: &mut [u8]) -> Result<(), InflateError> {
        let mut filled = 0;
        while filled < dst.len() {
            let n = self.read(&mut dst[filled..])?;
            if n == 0 {
                return Err(InflateError::Size(format!(
                    "the member ends at {} bytes, {} more were needed",
                    self.out,
                    dst.len() - filled
                )));
            }
            filled += n;
        }
        Ok(())
    }

    /// Runs the engine until it produces output or the stream ends (0).
    fn produce(&mut self, dst: &mut [u8]) -> Result<usize, InflateError> {
        if self.ended {
            return Ok(0);
        }
        loop {
            if self.lo == self.hi && self.next < self.end {
                self.refill()?;
            }
            let more_input = self.next < self.end;
            let offset = self.input_offset();
            let input = &self.buf[self.lo..self.hi];
            let (consumed, produced, finished) = match &mut self.engine {
                Engine::Flate(d) => {
                    let (in0, out0) = (d.total_in(), d.total_out());
                    let status = d
                        .decompress(input, dst, FlushDecompress::None)
                        .map_err(|e| InflateError::Corrupt {
                            offset,
                            reason: e.to_string(),
                        })?;
                    (
                        (d.total_in() - in0) as usize,
                        (d.total_out() - out0) as usize,
                        status == Status::StreamEnd,
                    )
                }
                Engine::Miniz(m) => {
                    let flags = if more_input {
                        TINFL_FLAG_HAS_MORE_INPUT
                    } else {
                        0
                    };
                    let room = (WRAP - m.pos).min(dst.len());
                    let (status, nin, nout) =
                        decompress_with_limit(&mut m.dec, input, &mut m.wrap, m.pos, room, flags);
                    dst[..nout].copy_from_slice(&m.wrap[m.pos..m.pos + nout]);
                    m.pos = (m.pos + nout) & (WRAP - 1);
                    match status {
                        TINFLStatus::Done => (nin, nout, true),
                        TINFLStatus::NeedsMoreInput | TINFLStatus::HasMoreOutput => {
                            (nin, nout, false)
                        }
                        TINFLStatus::FailedCannotMakeProgress if nout > 0 => (nin, nout, false),
                        other => {
                            return Err(InflateError::Corrupt {
                                offset: offset + nin as u64,
                                reason: format!("{other:?}"),
                            });
                        }
                    }
                }
            };
            self.lo += consumed;
            if finished {
                self.ended = true;
            }
            if produced > 0 || finished {
                return Ok(produced);
            }
            if consumed == 0 && self.lo == self.hi && self.next >= self.end {
                return Err(InflateError::Corrupt {
                    offset: self.input_offset(),
                    reason: "the compressed data ends before the deflate stream does".into(),
                });
            }
            if consumed == 0 && self.lo < self.hi {
                return Err(InflateError::Corrupt {
                    offset: self.input_offset(),
                    reason: "the inflater makes no progress".into(),
                });
            }
        }
    }
}

/// Decodes a whole deflate stream once, recording an access point at the first block boundary
/// after every `span` bytes of output. Checks the CRC and the declared size on the way.
pub(crate) fn build_access_points(
    file: &File,
    base: u64,
    compressed: u64,
    size: u64,
    crc32: u32,
    span: u64,
) -> Result<Vec<AccessPoint>, InflateError> {
    let mut points = Vec::new();
    scan_access_points(file, base, compressed, size, crc32, span, |point| {
        points.push(point);
        Ok(())
    })?;
    Ok(points)
}

/// Output buffer of [`scan_access_points`]: the window, then room for this much output before
/// the last window is moved back to the front.
const SCAN_BUF: usize = 1 << 20;

/// Decodes a whole deflate stream once and hands `on_point` an access point at the first block
/// boundary after every `span` bytes of output (none at the start or the end). Checks the
/// CRC and the declared size on the way: an error means the points handed over are not to be
/// used. The output goes to a linear buffer (faster than a wrapping one), of which only the
/// last window is kept.
pub(crate) fn scan_access_points(
    file: &File,
    base: u64,
    compressed: u64,
    size: u64,
    crc32: u32,
    span: u64,
    mut on_point: impl FnMut(AccessPoint) -> Result<(), InflateError>,
) -> Result<(), InflateError> {
    use miniz_oxide::inflate::core::inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let mut dec = DecompressorOxide::new();
    let mut out_buf = vec![0u8; WINDOW + SCAN_BUF];
    let mut pos = 0usize;
    let mut out = 0u64;
    let mut crc = crc32fast::Hasher::new();
    let mut buf = vec![0u8; INPUT_BUF];
    let (mut lo, mut hi) = (0usize, 0usize);
    let mut next = base;
    let end = base + compressed;
    let mut last_point = 0u64;
    loop {
        if lo == hi && next < end {
            let n = (end - next).min(INPUT_BUF as u64) as usize;
            read_exact_at(file, &mut buf[..n], next).map_err(InflateError::Io)?;
            next += n as u64;
            lo = 0;
            hi = n;
        }
        if pos == out_buf.len() {
            // Keep the window, the only history deflate may refer to.
            out_buf.copy_within(pos - WINDOW..pos, 0);
            pos = WINDOW;
        }
        let more = next < end;
        let flags = TINFL_FLAG_STOP_ON_BLOCK_BOUNDARY
            | TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF
            | if more { TINFL_FLAG_HAS_MORE_INPUT } else { 0 };
        // Allow one byte past the declared size, to detect streams that go on.
        let limit = (size - out)
            .saturating_add(1)
            .min((out_buf.len() - pos) as u64) as usize;
        let (status, nin, nout) =
            decompress_with_limit(&mut dec, &buf[lo..hi], &mut out_buf, pos, limit, flags);
        let input_offset = next - (hi - lo) as u64 - base;
        let stalled = matches!(
            status,
            TINFLStatus::NeedsMoreInput | TINFLStatus::HasMoreOutput
        );
        if nin == 0 && nout == 0 && lo < hi && stalled && pos < out_buf.len() {
            return Err(InflateError::Corrupt {
                offset: input_offset,
                reason: "the inflater makes no progress".into(),
            });
        }
        lo += nin;
        crc.update(&out_buf[pos..pos + nout]);
        pos += nout;
        out += nout as u64;
        if out > size {
            return Err(InflateError::Size(format!(
                "the deflate stream inflates past the {size} bytes the directory declares"
            )));
        }
        match status {
            TINFLStatus::BlockBoundary => {
                if out - last_point >= span && out < size {
                    let Some(state) = dec.block_boundary_state() else {
                        return Err(InflateError::Corrupt {
                            offset: input_offset,
                            reason: "no block-boundary state at a block boundary".into(),
                        });
                    };
                    let wlen = out.min(WINDOW as u64) as usize;
                    on_point(AccessPoint {
                        out,
                        input: next - (hi - lo) as u64 - base,
                        num_bits: state.num_bits,
                        bit_buf: state.bit_buf,
                        window: out_buf[pos - wlen..pos].into(),
                    })?;
                    last_point = out;
                }
            }
            TINFLStatus::Done => break,
            TINFLStatus::NeedsMoreInput | TINFLStatus::HasMoreOutput => {}
            TINFLStatus::FailedCannotMakeProgress if nout > 0 || nin > 0 => {}
            other => {
                let reason = if other == TINFLStatus::FailedCannotMakeProgress && !more {
                    "the compressed data ends before the deflate stream does".to_string()
                } else {
                    format!("{other:?}")
                };
                return Err(InflateError::Corrupt {
                    offset: input_offset + nin as u64,
                    reason,
                });
            }
        }
    }
    if out != size {
        return Err(InflateError::Size(format!(
            "the deflate stream ends after {out} bytes, the directory declares {size}"
        )));
    }
    let actual = crc.finalize();
    if actual != crc32 {
        return Err(InflateError::Crc {
            expected: crc32,
            actual,
        });
    }
    Ok(())
}
