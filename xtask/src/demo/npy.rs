//! The npy-format part of `cargo xtask demo`: write detector-like frames, map them, view them
//! typed, read frames and whole arrays back, with the figures.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use npy_format::{DType, FrameSource, Header, NpyFile};

/// Frames of 256 × 256 `u16` pixels, like a small detector's.
const FRAMES: u64 = 512;
const SIDE: u64 = 256;

/// Shows npy-format at work, with its files in `dir` (an empty directory).
pub fn npy_demo(dir: &Path) -> Result<()> {
    println!("\n-- npy-format: numpy-identical .npy files, mapped zero-copy");
    let path = dir.join("frames.npy");
    let pixels: Vec<u16> = (0..FRAMES * SIDE * SIDE)
        .map(|i| ((i * 2654435761) >> 20) as u16 & 0x0fff)
        .collect();
    let bytes = pixels.len() as u64 * 2;

    let start = Instant::now();
    let header = npy_format::write_file(&path, &pixels, &[FRAMES, SIDE, SIDE])?;
    let write = start.elapsed();
    let file_bytes = std::fs::read(&path)?;
    let text_end = file_bytes.iter().position(|&b| b == b'\n').unwrap_or(0);
    println!(
        "wrote {} ({} frames of {SIDE}x{SIDE} u16, {:.1} MiB) in {:.1} ms: {:.0} MB/s",
        path.display(),
        FRAMES,
        bytes as f64 / (1 << 20) as f64,
        write.as_secs_f64() * 1e3,
        bytes as f64 / 1e6 / write.as_secs_f64()
    );
    println!(
        "  header ({} bytes, as np.save writes it): {}",
        text_end + 1,
        String::from_utf8_lossy(&file_bytes[10..text_end]).trim_end()
    );
    assert_eq!(header.shape, vec![FRAMES, SIDE, SIDE]);

    let start = Instant::now();
    let mut file = NpyFile::open(&path)?;
    let open = start.elapsed();
    let view = file.view::<u16>()?;
    let frame_pixels = (SIDE * SIDE) as usize;
    let last = &view.as_slice()[(FRAMES as usize - 1) * frame_pixels..];
    let mean = last.iter().map(|&p| f64::from(p)).sum::<f64>() / last.len() as f64;
    println!(
        "opened and mapped in {:.1} µs; typed view &[u16] of {} pixels, no copy; mean of the last frame {mean:.1}",
        open.as_secs_f64() * 1e6,
        view.as_slice().len()
    );

    let start = Instant::now();
    let chunk = file.read_frames(100, 110)?;
    println!(
        "frames [100, 110) through FrameSource: {} bytes in {:.1} µs",
        chunk.len(),
        start.elapsed().as_secs_f64() * 1e6
    );

    let start = Instant::now();
    let array = npy_format::read_file::<u16>(&path)?;
    let read = start.elapsed();
    assert_eq!(array.data, pixels);
    println!(
        "read back into Vec<u16> in {:.1} ms: {:.0} MB/s, equal to what was written",
        read.as_secs_f64() * 1e3,
        bytes as f64 / 1e6 / read.as_secs_f64()
    );

    // A structured, big-endian, Fortran-order record array: numpy's descr grammar both ways.
    let dtype =
        DType::parse("[('pos', '>f4', (3,)), (('event id', 'id'), '>u8'), ('flag', '|b1')]")?;
    let records = Header::for_array(dtype, true, vec![4, 2]);
    let data = vec![0u8; records.data_len().unwrap_or(0) as usize];
    let rec_path = dir.join("records.npy");
    npy_format::write_raw(std::fs::File::create(&rec_path)?, &records, &data)?;
    let reopened = NpyFile::open(&rec_path)?;
    println!(
        "structured array {}: descr {} ({} bytes per record), fortran_order {}, version {:?}",
        rec_path.display(),
        reopened.header().dtype,
        reopened.header().dtype.itemsize(),
        reopened.header().fortran_order,
        reopened.version()
    );
    Ok(())
}
