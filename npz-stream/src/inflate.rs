//! Inflating a member's deflate stream from its start, from a seek-index point, or from a
//! zran-style access point (a deflate block boundary with its 32 KiB window).
//!
//! The declared uncompressed size caps what is inflated: a stream that goes on past it is an
//! error, not an allocation. CRC-32 is checked whenever inflation started at the beginning of
//! the stream and reached its end.

use std::io;

use flate2::{Decompress, FlushDecompress, Status};
use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::inflate_flags::TINFL_FLAG_HAS_MORE_INPUT;
use miniz_oxide::inflate::core::{BlockBoundaryState, DecompressorOxide, decompress_with_limit};

use crate::io_util::{ReadAt, Src};

/// Input is read from a local file in pieces of this size.
const INPUT_BUF: usize = 64 << 10;
/// From object storage, where a request costs a round trip, input is read in pieces that start
/// at this size and double with each read (a short read costs little, a long one few requests),
/// up to [`REMOTE_INPUT_MAX`]; or, when the reader knows where the bytes it needs end (the
/// next seek or access point), in one piece that reaches there.
const REMOTE_INPUT: usize = 256 << 10;
/// The largest piece of input read from object storage at once.
pub(crate) const REMOTE_INPUT_MAX: usize = 8 << 20;
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
    src: Src<'f>,
    /// Absolute offset of the member's compressed data.
    base: u64,
    /// Absolute offsets: next byte to read from the file, end of the compressed data.
    next: u64,
    end: u64,
    buf: Vec<u8>,
    lo: usize,
    hi: usize,
    /// Bytes the next read from object storage asks for (doubled after each).
    want: usize,
    /// Where the bytes the current read needs end, if known: the next read from object
    /// storage reaches there in one request.
    fetch_to: Option<u64>,
    /// Bytes before the start that the first read fetches with the input (the end of a full
    /// flush to check, or the byte whose last bits start an access point), and those bytes
    /// once read.
    lead: usize,
    lead_bytes: Vec<u8>,
    /// Bits of the byte before the start that begin the stream there, when they are to be
    /// read with the first input (`lead`).
    pending_bits: u8,
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
        src: Src<'f>,
        base: u64,
        compressed: u64,
        size: u64,
        crc32: u32,
    ) -> Inflate<'f> {
        let mut inflate = Inflate::at_point(src, base, compressed, size, 0, 0);
        inflate.crc = Some((crc32fast::Hasher::new(), crc32));
        inflate
    }

    /// Inflation from a byte-aligned point with an empty window (a full-flush point).
    pub(crate) fn at_point(
        src: Src<'f>,
        base: u64,
        compressed: u64,
        size: u64,
        out: u64,
        input: u64,
    ) -> Inflate<'f> {
        Inflate {
            src,
            base,
            next: base + input,
            end: base + compressed,
            buf: Vec::new(),
            lo: 0,
            hi: 0,
            want: REMOTE_INPUT,
            fetch_to: None,
            lead: 0,
            lead_bytes: Vec::new(),
            pending_bits: 0,
            engine: Engine::Flate(Box::new(Decompress::new(false))),
            out,
            size,
            crc: None,
            ended: false,
        }
    }

    /// Inflation from a zran access point. A point whose `bit_buf` is not known yet
    /// (`bits_known` false: a stored point) has it read with the first input.
    pub(crate) fn at_access_point(
        src: Src<'f>,
        base: u64,
        compressed: u64,
        size: u64,
        point: &AccessPoint,
        bits_known: bool,
    ) -> Inflate<'f> {
        let state = BlockBoundaryState {
            num_bits: point.num_bits,
            bit_buf: point.bit_buf,
            ..BlockBoundaryState::default()
        };
        let mut wrap = vec![0u8; WRAP];
        wrap[WINDOW - point.window.len()..WINDOW].copy_from_slice(&point.window);
        let mut inflate = Inflate::at_point(src, base, compressed, size, point.out, point.input);
        inflate.engine = Engine::Miniz(Box::new(Miniz {
            dec: DecompressorOxide::from_block_boundary_state(&state),
            wrap,
            pos: WINDOW,
        }));
        if !bits_known && point.num_bits > 0 {
            inflate.pending_bits = point.num_bits;
            inflate.lead = 1;
        }
        inflate
    }

    /// Fetch `n` bytes before the start with the first input, for [`lead`](Self::lead).
    pub(crate) fn set_lead(&mut self, n: usize) {
        self.lead = self.lead.max(n);
    }

    /// The bytes before the start fetched with the first input (after [`fill`](Self::fill)).
    pub(crate) fn lead(&self) -> &[u8] {
        &self.lead_bytes
    }

    /// The bytes the next reads need end at absolute offset `end` (or earlier): a read from
    /// object storage reaches there at once.
    pub(crate) fn fetch_to(&mut self, end: Option<u64>) {
        self.fetch_to = end;
    }

    /// Reads the first input, if none was read yet.
    pub(crate) fn fill(&mut self) -> Result<(), InflateError> {
        if self.lo == self.hi && self.next < self.end {
            self.refill()?;
        }
        Ok(())
    }

    /// Takes `bytes`, fetched from absolute offset `start`, as input, if they hold the next
    /// byte to read and no input is buffered (a member's first bytes, fetched with its local
    /// header).
    pub(crate) fn prime(&mut self, start: u64, mut bytes: Vec<u8>) {
        let Some(at) = self.next.checked_sub(start) else {
            return;
        };
        let usable = (self.end - start).min(bytes.len() as u64);
        if self.lo != self.hi || self.lead > 0 || at >= usable {
            return;
        }
        bytes.truncate(usable as usize);
        self.lo = at as usize;
        self.hi = bytes.len();
        self.next = start + usable;
        self.buf = bytes;
    }

    /// How many bytes the next read asks for.
    fn read_len(&mut self) -> usize {
        let left = self.end - self.next;
        if !self.src.is_remote() {
            return left.min(INPUT_BUF as u64) as usize;
        }
        let hinted = self
            .fetch_to
            .and_then(|to| to.checked_sub(self.next))
            .filter(|&n| n > 0);
        let n = match hinted {
            Some(n) => n,
            None => {
                let n = self.want as u64;
                self.want = (self.want * 2).min(REMOTE_INPUT_MAX);
                n
            }
        };
        n.min(left).min(REMOTE_INPUT_MAX as u64) as usize
    }

    fn refill(&mut self) -> Result<(), InflateError> {
        let n = self.read_len();
        let lead = self.lead;
        if self.buf.len() < lead + n {
            self.buf.resize(lead + n, 0);
        }
        let got = if lead > 0 {
            // One read for the lead and the input: the lead lies before the start, inside the
            // archive (the member's local header at least precedes its data).
            let from = self.next.saturating_sub(lead as u64);
            let lead = (self.next - from) as usize;
            self.src
                .pread_exact(&mut self.buf[..lead + n], from)
                .map_err(InflateError::Io)?;
            self.lead_bytes = self.buf[..lead].to_vec();
            self.lead = 0;
            self.lo = lead;
            self.hi = lead + n;
            self.start_bits();
            n
        } else {
            let got = self
                .src
                .read_some(&mut self.buf[..n], self.next)
                .map_err(InflateError::Io)?;
            self.lo = 0;
            self.hi = got;
            got
        };
        self.next += got as u64;
        Ok(())
    }

    /// Once the byte before an access point is read: the decoder starts with its last bits.
    fn start_bits(&mut self) {
        let bits = std::mem::take(&mut self.pending_bits);
        if bits == 0 {
            return;
        }
        let prev = self.lead_bytes.last().copied().unwrap_or(0);
        if let Engine::Miniz(m) = &mut self.engine {
            let state = BlockBoundaryState {
                num_bits: bits,
                bit_buf: prev >> (8 - bits),
                ..BlockBoundaryState::default()
            };
            m.dec = DecompressorOxide::from_block_boundary_state(&state);
        }
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
    src: Src<'_>,
    base: u64,
    compressed: u64,
    size: u64,
    crc32: u32,
    span: u64,
) -> Result<Vec<AccessPoint>, InflateError> {
    let mut points = Vec::new();
    scan_access_points(src, base, compressed, size, crc32, span, |point| {
        points.push(point);
        Ok(())
    })?;
    Ok(points)
}

/// Output buffer of [`scan_access_points`]: the window, then room for this much output before
/// the last window is moved back to the front.
const SCAN_BUF: usize = 1 << 20;

/// Bytes of output after a candidate access point that a trial inflation from it must
/// reproduce for the point to be recorded.
const VERIFY: usize = 4096;

/// A block boundary that zlib-rs stopped at, to become an access point once one of its eight
/// possible bit offsets has been shown to resume the stream exactly.
struct Pending {
    out: u64,
    /// Offset within the compressed data of the first byte zlib-rs had not consumed.
    input: u64,
    window: Box<[u8]>,
    /// For each number of bits (0..=7) of the byte before `input` still to be decoded: what
    /// inflating from there produced (up to [`VERIFY`] bytes; `None` if it failed).
    trials: Vec<Option<(u8, Vec<u8>)>>,
    /// What the stream really produced after the point, up to [`VERIFY`] bytes.
    actual: Vec<u8>,
}

impl Pending {
    /// A trial that reproduced the stream (over what is known of it), if one did. Several do
    /// where the bits between them are the zero header and padding of a stored block (as a
    /// full flush writes): they decode alike, and the earliest is taken.
    fn resolve(self) -> Option<AccessPoint> {
        let (bits, _) = self
            .trials
            .iter()
            .flatten()
            .filter(|(_, out)| !self.actual.is_empty() && out.starts_with(&self.actual))
            .max_by_key(|(bits, _)| *bits)?;
        Some(AccessPoint {
            out: self.out,
            input: self.input,
            num_bits: *bits,
            bit_buf: 0, // filled in by the caller, from the byte before `input`
            window: self.window,
        })
    }
}

/// Inflates with miniz_oxide from bit offset `8 * input - bits` with `window` as history:
/// up to [`VERIFY`] bytes, or `None` if the data does not decode from there. `data` holds the
/// compressed bytes from `input - 1` on.
fn trial(data: &[u8], bits: u8, window: &[u8]) -> Option<Vec<u8>> {
    use miniz_oxide::inflate::core::inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let state = BlockBoundaryState {
        num_bits: bits,
        bit_buf: if bits > 0 { data[0] >> (8 - bits) } else { 0 },
        ..BlockBoundaryState::default()
    };
    let mut dec = DecompressorOxide::from_block_boundary_state(&state);
    let mut out = vec![0u8; window.len() + VERIFY];
    out[..window.len()].copy_from_slice(window);
    let (mut pos, mut at) = (window.len(), 1usize);
    while pos < out.len() {
        let flags = TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF | TINFL_FLAG_HAS_MORE_INPUT;
        let room = out.len() - pos;
        let (status, nin, nout) =
            decompress_with_limit(&mut dec, &data[at..], &mut out, pos, room, flags);
        at += nin;
        pos += nout;
        match status {
            TINFLStatus::HasMoreOutput if nout > 0 => {}
            TINFLStatus::Done => break,
            _ if nin == 0 && nout == 0 => break,
            TINFLStatus::NeedsMoreInput | TINFLStatus::HasMoreOutput => {}
            _ => return None,
        }
    }
    out.drain(..window.len());
    out.truncate(pos - window.len());
    Some(out)
}

/// Decodes a whole deflate stream once with zlib-rs, stopping at every deflate block boundary
/// (`InflateFlush::Block`), and hands `on_point` an access point at the first boundary after
/// every `span` bytes of output (none at the start or the end). zlib-rs tells the byte where
/// it stopped but not the bit: each of the 8 bit offsets is tried with miniz_oxide, and the
/// point is recorded only if one reproduces the next [`VERIFY`] bytes (otherwise the next
/// boundary is taken). Checks the CRC and the declared size on the way: an error means the
/// points handed over are not to be used. The output goes to a linear buffer of which only the
/// last window is kept. Input is read in pieces of 64 KiB from a local file, 8 MiB from object
/// storage; the bytes a point's trials need come from the piece at hand when it holds them.
pub(crate) fn scan_access_points(
    src: Src<'_>,
    base: u64,
    compressed: u64,
    size: u64,
    crc32: u32,
    span: u64,
    mut on_point: impl FnMut(AccessPoint) -> Result<(), InflateError>,
) -> Result<(), InflateError> {
    use zlib_rs::{InflateFlush, Status as ZStatus};
    let mut inflater = zlib_rs::Inflate::new(false, 15);
    let mut out_buf = vec![0u8; WINDOW + SCAN_BUF];
    let mut pos = 0usize;
    let mut out = 0u64;
    let mut crc = crc32fast::Hasher::new();
    let piece = if src.is_remote() {
        REMOTE_INPUT_MAX
    } else {
        INPUT_BUF
    };
    let mut buf = vec![0u8; compressed.clamp(1, piece as u64) as usize];
    let (mut lo, mut hi) = (0usize, 0usize);
    let mut next = base;
    let end = base + compressed;
    // `len` bytes at absolute offset `at`: from the input at hand if it holds them.
    let fetch = |buf: &[u8], next: u64, hi: usize, at: u64, len: usize| {
        let held = next - hi as u64;
        match at.checked_sub(held).map(|from| from as usize) {
            Some(from) if from + len <= hi => Ok(buf[from..from + len].to_vec()),
            _ => {
                let mut data = vec![0u8; len];
                src.pread_exact(&mut data, at).map(|()| data)
            }
        }
    };
    let mut last_point = 0u64;
    let mut at_boundary = false;
    let mut pending: Option<Pending> = None;
    let mut finished = false;
    loop {
        if lo == hi && next < end {
            let n = (end - next).min(buf.len() as u64) as usize;
            src.pread_exact(&mut buf[..n], next)
                .map_err(InflateError::Io)?;
            next += n as u64;
            lo = 0;
            hi = n;
        }
        if pos == out_buf.len() {
            out_buf.copy_within(pos - WINDOW..pos, 0);
            pos = WINDOW;
        }
        let input_offset = next - (hi - lo) as u64 - base;
        // Allow one byte past the declared size, to detect streams that go on. Right after a
        // boundary, one byte without stopping gets zlib-rs past it.
        let room = (size - out)
            .saturating_add(1)
            .min((out_buf.len() - pos) as u64) as usize;
        let (flush, limit) = if at_boundary {
            (InflateFlush::NoFlush, 1)
        } else {
            (InflateFlush::Block, room)
        };
        let (in0, out0) = (inflater.total_in(), inflater.total_out());
        let status = inflater
            .decompress(&buf[lo..hi], &mut out_buf[pos..pos + limit], flush)
            .map_err(|e| InflateError::Corrupt {
                offset: input_offset,
                reason: e.as_str().to_owned(),
            })?;
        let nin = (inflater.total_in() - in0) as usize;
        let nout = (inflater.total_out() - out0) as usize;
        let available = hi - lo;
        lo += nin;
        let produced = &out_buf[pos..pos + nout];
        crc.update(produced);
        if let Some(p) = &mut pending {
            let take = (VERIFY - p.actual.len()).min(nout);
            p.actual.extend_from_slice(&produced[..take]);
        }
        pos += nout;
        out += nout as u64;
        if out > size {
            return Err(InflateError::Size(format!(
                "the deflate stream inflates past the {size} bytes the directory declares"
            )));
        }
        if status == ZStatus::StreamEnd {
            finished = true;
        }
        if pending
            .as_ref()
            .is_some_and(|p| p.actual.len() == VERIFY || finished)
            && let Some(mut point) = pending.take().and_then(Pending::resolve)
        {
            if point.num_bits > 0 {
                let prev =
                    fetch(&buf, next, hi, base + point.input - 1, 1).map_err(InflateError::Io)?;
                point.bit_buf = prev[0] >> (8 - point.num_bits);
            }
            last_point = point.out;
            on_point(point)?;
        }
        if finished {
            break;
        }
        let stopped = flush == InflateFlush::Block && nin < available && nout < limit;
        at_boundary = stopped;
        if stopped && pending.is_none() && out - last_point >= span && out < size {
            let input = input_offset + nin as u64;
            let wlen = out.min(WINDOW as u64) as usize;
            let window: Box<[u8]> = out_buf[pos - wlen..pos].into();
            // The compressed bytes from the one before the point on: enough for any trial.
            let from = input.saturating_sub(1);
            let len = (compressed - from).min(VERIFY as u64 * 4 + 1024) as usize;
            let mut data = fetch(&buf, next, hi, base + from, len).map_err(InflateError::Io)?;
            if input == 0 {
                data.insert(0, 0);
            }
            let trials = (0..8u8)
                .map(|bits| {
                    (bits == 0 || input > 0)
                        .then(|| trial(&data, bits, &window).map(|o| (bits, o)))
                        .flatten()
                })
                .collect();
            pending = Some(Pending {
                out,
                input,
                window,
                trials,
                actual: Vec::new(),
            });
        }
        if nin == 0 && nout == 0 && !stopped {
            let reason = if lo == hi && next >= end {
                "the compressed data ends before the deflate stream does"
            } else {
                "the inflater makes no progress"
            };
            return Err(InflateError::Corrupt {
                offset: input_offset,
                reason: reason.into(),
            });
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
