//! The npy-append part of `cargo xtask demo`: a recording grown frame by frame, read while it
//! grows, and recovered after a simulated crash.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use npy_append::{FrameLayout, NpyAppender, RecoverOptions};
use npy_format::{FrameSource, NpyFile};

/// Shows npy-append at work, with its files in `dir` (an empty directory).
pub fn append_demo(dir: &Path) -> Result<()> {
    println!("\n-- npy-append: growing a .npy frame by frame, crash-consistent");
    const FRAMES: u64 = 20_000;
    const SIDE: u64 = 64;
    let path = dir.join("recording.npy");
    let mut out = NpyAppender::create(&path, &FrameLayout::of::<u16>(&[SIDE, SIDE]))?;
    let mut frame = vec![0u16; (SIDE * SIDE) as usize];
    let start = Instant::now();
    for i in 0..FRAMES {
        for (j, p) in frame.iter_mut().enumerate() {
            *p = ((i as usize * 31 + j) & 0x0fff) as u16;
        }
        out.append(&frame)?;
        if i % 1000 == 999 {
            out.flush()?; // np.load now sees i + 1 frames
        }
        if i == FRAMES / 2 {
            println!(
                "  a reader opened mid-recording sees {} complete frames",
                NpyFile::open(&path)?.frame_count()
            );
        }
    }
    out.sync()?;
    let header = out.finish()?;
    let (secs, bytes) = (
        start.elapsed().as_secs_f64(),
        header.data_len().unwrap_or(0),
    );
    println!(
        "appended {FRAMES} frames of {SIDE}x{SIDE} u16 ({:.1} MiB) to {} in {:.1} ms: {:.0} frames/s, {:.0} MB/s, synced",
        bytes as f64 / (1 << 20) as f64,
        path.display(),
        secs * 1e3,
        FRAMES as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
    println!(
        "  shape {:?}, the header np.save writes for that array",
        header.shape
    );
    // A crashed writer leaves 2.5 frames the header does not count.
    let frame_bytes = (SIDE * SIDE * 2) as usize;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)?
        .write_all(&vec![7u8; frame_bytes * 5 / 2])?;
    let report = npy_append::recover(&path, &RecoverOptions::default())?;
    println!("  after a simulated crash, recover: {report}");
    Ok(())
}
