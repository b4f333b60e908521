//! `npz rows`: frames written to the output as they are read, never the whole range at once.
//!
//! - A stored member's frames come zero-copy from the map of the archive, written in slices
//!   (from object storage, where there is no map: a batch of frames per request, as below).
//! - Every frame of a member (the default range) streams through [`NpzReader::open_member`],
//!   CRC-checked at the end, in 1 MiB reads.
//! - Part of a deflated member is read a batch of frames at a time (about 1 MiB) into one
//!   buffer: the member's inflater carries on from batch to batch.

use std::io::{self, Read, Write};

use npy_format::FrameSource;
use npz_stream::{Method, NpzReader};

/// Bytes written or read per step.
const STEP: usize = 1 << 20;
/// Bytes read per step from object storage.
const REMOTE_STEP: usize = 8 << 20;

/// Writes the raw bytes of frames `[start, end)` of member `key` (to the last frame without
/// `end`) to `out`.
pub fn write_rows(
    reader: &NpzReader,
    key: &str,
    start: u64,
    end: Option<u64>,
    out: &mut impl Write,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut member = reader.member(key)?;
    member.check_readable()?;
    let count = member.frame_count();
    let end = end.unwrap_or(count);
    if start > end || end > count {
        // read_frames refuses the range, with its error naming the member and the count.
        return Err(match member.read_frames(start, end) {
            Err(e) => e.into(),
            Ok(_) => format!("frames {start}..{end} of {count}").into(),
        });
    }
    let frame_len = member.frame_len();
    let info = reader.info(key)?;
    let header_len = info.header_len;
    let whole = start == 0 && end == count && count > 0;
    if whole {
        return copy_whole(reader, key, header_len, frame_len * count, out);
    }
    if info.method == Method::Stored && reader.can_view() {
        let data = reader.data(key)?;
        let from = (start * frame_len) as usize;
        let to = (end * frame_len) as usize;
        for piece in data[from..to].chunks(STEP) {
            out.write_all(piece)?;
        }
        return Ok(());
    }
    // Larger batches from object storage, where each is a request.
    let step = if reader.can_view() { STEP } else { REMOTE_STEP };
    let batch = (step as u64 / frame_len.max(1)).max(1);
    let mut buf = Vec::new();
    let mut at = start;
    while at < end {
        let n = batch.min(end - at);
        buf.resize((n * frame_len) as usize, 0);
        member.read_frames_into(at, &mut buf)?;
        out.write_all(&buf)?;
        at += n;
    }
    Ok(())
}

/// Every frame: the member's bytes after its header, streamed and CRC-checked at the end.
fn copy_whole(
    reader: &NpzReader,
    key: &str,
    header_len: u64,
    data_len: u64,
    out: &mut impl Write,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut member = reader.open_member(key)?;
    let unwrap = |e: io::Error| -> Box<dyn std::error::Error> {
        match e.into_inner() {
            Some(inner) => inner,
            None => "I/O error reading the member".into(),
        }
    };
    io::copy(&mut (&mut member).take(header_len), &mut io::sink()).map_err(unwrap)?;
    let mut buf = vec![0u8; STEP];
    let mut left = data_len;
    while left > 0 {
        let n = (left.min(STEP as u64)) as usize;
        member.read_exact(&mut buf[..n]).map_err(unwrap)?;
        out.write_all(&buf[..n])?;
        left -= n as u64;
    }
    // The rest of the member (nothing, or bytes numpy ignores), for the CRC-32 check.
    io::copy(&mut member, &mut io::sink()).map_err(unwrap)?;
    Ok(())
}
