//! The `machine` group: this machine's own limits, the ceilings the other groups are read
//! against: a plain buffered file write, the same bytes written as the page cache and the file
//! system take them fastest (aligned, into blocks reserved ahead), `std::fs::read` of the file,
//! and memcpy.

use super::{BenchCtx, Measurement, time};
use anyhow::{Context, Result};
use std::io::Write;

/// Bytes each measurement moves: 256 MiB.
const SIZE: usize = 256 << 20;

/// Runs the `machine` group.
pub fn run(ctx: &BenchCtx) -> Result<()> {
    let path = ctx.scratch_dir().join("machine.bin");
    let chunk = vec![0x5au8; 64 << 10];

    ctx.measure(
        "write 256 MiB (BufWriter, 64 KiB writes, no fsync)",
        "ceiling for file writers",
        || {
            let elapsed = time(|| {
                let file = std::fs::File::create(&path)
                    .with_context(|| format!("creating {}", path.display()))?;
                let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
                for _ in 0..SIZE / chunk.len() {
                    out.write_all(&chunk)?;
                }
                out.into_inner().map_err(|e| e.into_error())?;
                Ok(())
            })?;
            Ok(Measurement::bytes(elapsed, SIZE as u64))
        },
    )?;

    ctx.measure(
        "write 256 MiB (64 KiB pwrites at 64 KiB offsets, blocks reserved ahead, no fsync)",
        "ceiling for file writers that align their writes and reserve blocks (as npy-append)",
        || {
            let elapsed = time(|| aligned_reserved_write(&path, &chunk))?;
            Ok(Measurement::bytes(elapsed, SIZE as u64))
        },
    )?;

    ctx.measure(
        "std::fs::read 256 MiB (page cache)",
        "ceiling for file readers",
        || {
            let elapsed = time(|| {
                let data = std::fs::read(&path)?;
                anyhow::ensure!(data.len() == SIZE, "read {} bytes", data.len());
                Ok(data)
            })?;
            Ok(Measurement::bytes(elapsed, SIZE as u64))
        },
    )?;
    ctx.headline();
    std::fs::remove_file(&path)?;

    let src = vec![0xa5u8; SIZE];
    let mut dst = vec![1u8; SIZE]; // written, so its pages are mapped before timing
    ctx.compare(
        "memcpy 256 MiB",
        "ceiling for in-memory copies",
        || {
            let elapsed = time(|| {
                dst.copy_from_slice(std::hint::black_box(&src));
                Ok(())
            })?;
            std::hint::black_box(&mut dst);
            Ok(Measurement::bytes(elapsed, SIZE as u64))
        },
        "numpy np.copyto",
        || {
            ctx.python_timeit(
                "import numpy as np\n\
                 a = np.full(256 << 20, 0xa5, np.uint8)\n\
                 b = np.ones_like(a)\n\
                 np.copyto(b, a)",
                "np.copyto(b, a)",
            )
        },
    )?;
    Ok(())
}

/// Writes `SIZE` bytes of `chunk`s to a new file at `path`, each write starting at a multiple
/// of its length, with disk blocks reserved ahead as the file grows (`fallocate` with
/// `KEEP_SIZE`, where the file system has it).
fn aligned_reserved_write(path: &std::path::Path, chunk: &[u8]) -> Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut reservation = array_files_fs::reserve::Reservation::new(0);
    let mut at = 0u64;
    while at < SIZE as u64 {
        let end = at + chunk.len() as u64;
        reservation.before_write(&file, end);
        array_files_fs::pwrite::write_all_at(&file, chunk, at)?;
        at = end;
    }
    reservation.release(&file, at)?;
    Ok(())
}
