//! The npz-stream part of `cargo xtask demo`: frames streamed into a seekable compressed member
//! and read back at random, and a stored member mapped zero-copy.

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, ensure};
use npy_format::{DType, FrameSink, FrameSource, Header};
use npz_stream::{Compression, NpzReader, NpzWriter};

/// Channels per detector frame.
const CHANNELS: u64 = 1024;
/// Frames streamed: 64 MiB of int16.
const FRAMES: u64 = 32 * 1024;

/// Shows npz-stream at work, with its files in `dir` (an empty directory).
pub fn npz_demo(dir: &Path) -> Result<()> {
    println!(
        "\n-- npz-stream: .npz members streamed frame by frame, random access when compressed"
    );
    let path = dir.join("run.npz");
    let frame_at = |i: u64| -> Vec<i16> {
        // A random walk with steps in [-3, 3], like a detector's noise, reproducible per frame.
        let mut level = (i as i16).wrapping_mul(3);
        (0..CHANNELS)
            .map(|c| {
                let mut h = (i * CHANNELS + c).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                h ^= h >> 31;
                level = level.wrapping_add((h % 7) as i16 - 3);
                level
            })
            .collect()
    };

    let start = Instant::now();
    let mut npz = NpzWriter::options()
        .compression(Compression::Deflate { level: 6 })
        .create(&path)?;
    {
        let header = Header::new(DType::parse("<i2")?, false, vec![0, CHANNELS]);
        let mut adc = npz.begin_member("adc", &header)?;
        let mut batch = Vec::with_capacity(64 * CHANNELS as usize);
        for i in 0..FRAMES {
            batch.extend(frame_at(i));
            if batch.len() == batch.capacity() {
                adc.append(&batch)?;
                batch.clear();
            }
        }
        adc.append(&batch)?;
        adc.finish()?;
    }
    npz.set_compression(Compression::Stored);
    let gains: Vec<f32> = (0..CHANNELS).map(|c| 1.0 + c as f32 / 1e4).collect();
    npz.add_array("gain", &gains, &[CHANNELS])?;
    npz.finish()?;
    let elapsed = start.elapsed();
    let raw = FRAMES * CHANNELS * 2;
    let size = std::fs::metadata(&path)?.len();
    println!(
        "streamed {FRAMES} frames of {CHANNELS} int16 channels ({:.0} MiB) into {} in {:.2} s: {:.0} MB/s, compressed to {:.1}% (deflate level 6, chunks on all cores)",
        raw as f64 / (1 << 20) as f64,
        path.display(),
        elapsed.as_secs_f64(),
        raw as f64 / 1e6 / elapsed.as_secs_f64(),
        size as f64 * 100.0 / raw as f64
    );

    let reader = NpzReader::open(&path)?;
    for info in reader.infos()? {
        println!(
            "  member {:5} {:?} shape {:?}: {} bytes -> {} bytes, seekable {}, mappable {}",
            info.key,
            info.method,
            info.header.shape,
            info.size,
            info.compressed_size,
            info.seekable,
            info.mappable
        );
    }
    let mut adc = reader.member("adc")?;
    let mut random = crate::util::Lcg::new(7);
    let start = Instant::now();
    for _ in 0..100 {
        let first = random.below(FRAMES - 8);
        let bytes = adc.read_frames(first, first + 8)?;
        let expected: Vec<i16> = (first..first + 8).flat_map(frame_at).collect();
        ensure!(
            bytes == npy_format::as_bytes(&expected),
            "frames {first}..+8 differ"
        );
    }
    println!(
        "100 random reads of 8 frames from the compressed member: {:.2} ms each, all equal to what was written",
        start.elapsed().as_secs_f64() * 1e3 / 100.0
    );
    let view = reader.view::<f32>("gain")?;
    println!(
        "stored member 'gain' viewed in place as &[f32] (64-byte aligned in the zip, no copy): {} values, last {}",
        view.as_slice().len(),
        view.as_slice()[CHANNELS as usize - 1]
    );
    Ok(())
}
