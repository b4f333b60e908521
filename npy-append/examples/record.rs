//! Records frames into a `.npy` file with an appender, as a detector or a training loop would,
//! flushing every 1000 frames so readers follow along, and prints the figures.
//!
//! ```text
//! cargo run --release -p npy-append --example record -- [OUT.npy] [FRAMES] [SIDE]
//! ```
//!
//! Frames are `SIDE` × `SIDE` `u16` pixels (default 10000 frames of 64 × 64, 80 MB).

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use npy_append::{AppendOptions, FrameLayout, recover};
use npy_format::{FrameSource, NpyFile};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().map_or_else(
        || std::env::temp_dir().join("npy-append-record.npy"),
        PathBuf::from,
    );
    let frames: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let side: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(64);

    let layout = FrameLayout::of::<u16>(&[side, side]);
    let mut out = AppendOptions::new()
        .overwrite(true)
        .create(&path, &layout)?;
    let mut frame = vec![0u16; (side * side) as usize];
    let start = Instant::now();
    for i in 0..frames {
        for (j, pixel) in frame.iter_mut().enumerate() {
            *pixel = (i as usize + j) as u16;
        }
        out.append(&frame)?;
        if i % 1000 == 999 {
            out.flush()?; // readers now see i + 1 frames
        }
    }
    out.sync()?;
    let header = out.finish()?;
    let elapsed = start.elapsed().as_secs_f64();
    let bytes = header.data_len().unwrap_or(0);
    println!(
        "recorded {frames} frames of {side}x{side} u16 into {} in {:.3} s: {:.0} frames/s, {:.0} MB/s",
        path.display(),
        elapsed,
        frames as f64 / elapsed,
        bytes as f64 / 1e6 / elapsed
    );

    let file = NpyFile::open(&path)?;
    let view = file.view::<u16>()?;
    let last = &view.as_slice()[((frames.max(1) - 1) * side * side) as usize..];
    println!(
        "np.load sees shape {:?}; the last frame starts with {:?}",
        file.header().shape,
        &last[..last.len().min(4)]
    );
    assert_eq!(file.frame_count(), frames);
    let report = recover(&path, &Default::default())?;
    println!("{report}");
    Ok(())
}
