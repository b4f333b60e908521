//! The `npz` group: npz-stream against numpy on a detector-like 256 MiB `int16` random walk.
//!
//! - the last 8 frames of a compressed member, whole process against whole process;
//! - compressing at level 6, with the file sizes;
//! - numpy's own `savez_compressed` member (no seek points) after `npz index`: indexing against
//!   one plain inflate, the index's size, the last 8 frames against numpy, and inflate speed
//!   against flate2's zlib-rs decoder;
//! - peak memory of streaming a 4 GiB compressed member and reading frames back (in a child
//!   process, `xtask bench-child npz-memory`, that reports its own peak RSS).

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Result, bail, ensure};
use npy_format::{DType, FrameSink, FrameSource, Header};
use npz_stream::{Compression, NpzReader, NpzWriter};

use super::{BenchCtx, Measurement, path_str, run_child, time};
use crate::util;

/// Samples per frame: one detector read-out of 1024 channels.
const FRAME: usize = 1024;

/// The release `npz` binary, built first (the groups time it process against process).
pub(super) fn npz_binary() -> Result<std::path::PathBuf> {
    util::run(util::cargo().args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "npz-stream",
        "--bin",
        "npz",
    ]))?;
    Ok(util::target_dir().join("release").join("npz"))
}

/// The `npz` group.
pub fn run(ctx: &BenchCtx) -> Result<()> {
    let npz_bin = npz_binary()?;
    let dir = ctx.scratch_dir();
    let frames = (256 << 20) / (FRAME * 2);
    let data = random_walk(frames * FRAME, 0x5eed);
    let shape = [frames as u64, FRAME as u64];
    let npy_path = dir.join("adc.npy");
    npy_format::write_file(&npy_path, &data, &shape)?;
    let ours = dir.join("ours.npz");
    let numpy = dir.join("numpy.npz");
    let python = ctx.python()?;

    // Compression: ours in-process, numpy's savez_compressed in its process (timeit, no start-up).
    let setup = format!(
        "import numpy as np; a = np.load({:?}); out = {:?}",
        path_str(&npy_path)?,
        path_str(&numpy)?
    );
    let compress = ctx.compare(
        "compress 256 MiB int16 random walk, level 6",
        "at least 4x numpy savez_compressed, file at most 3% larger",
        || {
            let elapsed = time(|| {
                let mut npz = NpzWriter::options()
                    .compression(Compression::Deflate { level: 6 })
                    .create(&ours)?;
                npz.add_array("adc", &data, &shape)?;
                npz.finish()?;
                Ok(())
            })?;
            Ok(Measurement::bytes(elapsed, (data.len() * 2) as u64))
        },
        "numpy savez_compressed",
        || ctx.python_timeit(&setup, "np.savez_compressed(out, adc=a)"),
    )?;
    let (our_size, numpy_size) = (
        std::fs::metadata(&ours)?.len(),
        std::fs::metadata(&numpy)?.len(),
    );
    println!(
        "    compressed sizes: ours {our_size} bytes, numpy {numpy_size} bytes ({:+.2}%); ratio of speed {:.2}x",
        (our_size as f64 / numpy_size as f64 - 1.0) * 100.0,
        compress.ratio.unwrap_or(f64::NAN)
    );
    ctx.annotate(
        "size_vs_numpy_percent",
        (our_size as f64 / numpy_size as f64 - 1.0) * 100.0,
    );
    ctx.headline();

    // The last 8 frames: `npz rows` on our seekable archive against np.load(...)['adc'][-8:] on
    // numpy's own archive; both whole processes, output discarded.
    let start = (frames - 8).to_string();
    let numpy_code = format!(
        "import numpy as np; b = np.load({:?})['adc'][-8:].tobytes()",
        path_str(&numpy)?
    );
    let expected = npy_format::as_bytes(&data[(frames - 8) * FRAME..]).to_vec();
    let check = Command::new(&npz_bin)
        .arg("rows")
        .arg(&ours)
        .args(["adc", &start])
        .output()?;
    ensure!(
        check.status.success() && check.stdout == expected,
        "npz rows gave wrong bytes"
    );
    ctx.compare(
        "last 8 frames of the compressed member (process vs process)",
        "at least 200x np.load(f)['adc'][-8:] on numpy's savez_compressed file",
        || {
            time(|| {
                run_quiet(
                    Command::new(&npz_bin)
                        .arg("rows")
                        .arg(&ours)
                        .args(["adc", &start]),
                )
            })
        },
        "numpy np.load(f)['adc'][-8:]",
        || time(|| run_quiet(Command::new(python).args(["-c", &numpy_code]))),
    )?;
    ctx.headline();

    foreign(ctx, &npz_bin, &numpy, frames, &expected)?;

    // Memory: a 4 GiB member streamed in and read back, in a child that reports its peak RSS.
    let gib = if ctx.quick { 1 } else { 4 };
    let big = dir.join("big.npz");
    let mut peak_kib = 0;
    ctx.measure(
        &format!("stream a {gib} GiB compressed member in, read 64 random 8-frame ranges back"),
        "under 64 MiB resident",
        || {
            let elapsed = time(|| {
                peak_kib = run_child("npz-memory", &[path_str(&big)?.to_owned(), gib.to_string()])?;
                Ok(())
            })?;
            Ok(Measurement::bytes(elapsed, (gib as u64) << 30))
        },
    )?;
    println!(
        "    peak resident memory of that process: {:.1} MiB",
        peak_kib as f64 / 1024.0
    );
    ctx.annotate("peak_rss_mib", peak_kib as f64 / 1024.0);
    ctx.headline();
    Ok(())
}

/// `xtask bench-child npz-memory OUT GIB`: streams GIB GiB of random-walk frames into a compressed
/// member, reads 64 random 8-frame ranges back, checks them, and prints its peak RSS.
pub fn memory_child(args: &[String]) -> Result<()> {
    let [out, gib] = args else {
        bail!("usage: npz-memory OUT GIB")
    };
    let frames = (gib.parse::<usize>()? << 30) / (FRAME * 2);
    let chunk_frames = 512;
    let header = Header::new(DType::parse("<i2")?, false, vec![0, FRAME as u64]);
    let mut npz = NpzWriter::options()
        .compression(Compression::Deflate { level: 6 })
        .create(out)?;
    {
        let mut member = npz.begin_member("adc", &header)?;
        let mut written = 0;
        while written < frames {
            let n = chunk_frames.min(frames - written);
            member.append(&random_walk_at(written * FRAME, n * FRAME))?;
            written += n;
        }
        member.finish()?;
    }
    npz.finish()?;
    let reader = NpzReader::open(out)?;
    let mut member = reader.member("adc")?;
    ensure!(member.frame_count() == frames as u64, "frame count");
    let mut random = util::Lcg::new(0x1234_5678);
    for _ in 0..64 {
        let start = random.below(frames as u64 - 8) as usize;
        let bytes = member.read_frames(start as u64, start as u64 + 8)?;
        ensure!(
            bytes == npy_format::as_bytes(&random_walk_at(start * FRAME, 8 * FRAME)),
            "frames {start}..+8 differ"
        );
    }
    super::print_peak_rss()
}

/// A random walk of `len` samples with steps in [-3, 3] (detector-like, compressible).
fn random_walk(len: usize, seed: u64) -> Vec<i16> {
    let mut random = util::Lcg::new(seed);
    let mut level = 0i16;
    (0..len)
        .map(|_| {
            level = level.wrapping_add(random.below(7) as i16 - 3);
            level
        })
        .collect()
}

/// Samples `[start, start + len)` of a walk that is reproducible at any offset: each block of
/// 1024 samples restarts from a level and seed derived from its index.
fn random_walk_at(start: usize, len: usize) -> Vec<i16> {
    debug_assert!(start.is_multiple_of(FRAME) && len.is_multiple_of(FRAME));
    let mut out = Vec::with_capacity(len);
    for frame in (start / FRAME)..((start + len) / FRAME) {
        let mut walk = random_walk(FRAME, frame as u64 ^ 0x9e37_79b9_7f4a_7c15);
        let base = (frame as i16).wrapping_mul(7);
        walk.iter_mut().for_each(|v| *v = v.wrapping_add(base));
        out.extend_from_slice(&walk);
    }
    out
}

/// numpy's `savez_compressed` archive (one deflate stream, no seek points), indexed by
/// `npz index`: indexing time against one plain inflate (`npz test`, both processes), the
/// index's size, the last 8 frames through the index against numpy, and inflate speed through
/// the crate against flate2's zlib-rs decoder (both in this process, CRC-32 included).
fn foreign(
    ctx: &BenchCtx,
    npz_bin: &Path,
    numpy: &Path,
    frames: usize,
    expected: &[u8],
) -> Result<()> {
    let indexed = ctx.scratch_dir().join("numpy-indexed.npz");
    let member = NpzReader::open(numpy)?.info("adc")?;
    ctx.compare(
        "npz index of numpy's 256 MiB savez_compressed member (process vs process)",
        "at most 1.3x one plain inflate (ratio at least 0.77)",
        || {
            std::fs::copy(numpy, &indexed)?;
            time(|| run_quiet(Command::new(npz_bin).arg("index").arg(&indexed)))
        },
        "npz test (one inflate, CRC-checked)",
        || time(|| run_quiet(Command::new(npz_bin).arg("test").arg(numpy))),
    )?;
    let index_bytes = std::fs::metadata(&indexed)?.len() - std::fs::metadata(numpy)?.len();
    let percent = index_bytes as f64 * 100.0 / member.compressed_size as f64;
    println!(
        "    index: {index_bytes} bytes, {percent:.2}% of the {} compressed bytes (goal: at most 2%)",
        member.compressed_size
    );
    ctx.annotate("index_percent_of_compressed", percent);
    ctx.annotate("index_bytes", index_bytes as f64);
    // The same ratio in instructions (callgrind), which the neighbours do not move.
    if let (Some(index), Some(inflate)) = (
        super::instructions::per_call_on("npz-index", numpy)?,
        super::instructions::per_call_on("npz-verify", numpy)?,
    ) {
        ctx.annotate("instructions_index_over_inflate", index / inflate);
    }

    let start = (frames - 8).to_string();
    let check = Command::new(npz_bin)
        .arg("rows")
        .arg(&indexed)
        .args(["adc", &start])
        .output()?;
    ensure!(
        check.status.success() && check.stdout == expected,
        "npz rows through the index gave wrong bytes"
    );
    let python = ctx.python()?;
    let numpy_code = format!(
        "import numpy as np; b = np.load({:?})['adc'][-8:].tobytes()",
        path_str(&indexed)?
    );
    ctx.compare(
        "last 8 frames of numpy's savez_compressed member after npz index (process vs process)",
        "at least 100x np.load(f)['adc'][-8:] on the same file",
        || {
            time(|| {
                run_quiet(
                    Command::new(npz_bin)
                        .arg("rows")
                        .arg(&indexed)
                        .args(["adc", &start]),
                )
            })
        },
        "numpy np.load(f)['adc'][-8:]",
        || time(|| run_quiet(Command::new(python).args(["-c", &numpy_code]))),
    )?;
    ctx.headline();

    // Inflate speed: the crate's whole-member read against flate2's zlib-rs decoder.
    let data_start = member_data_start(numpy)?;
    ctx.compare(
        "inflate numpy's member through npz-stream (verify, in process)",
        "at least 0.95x flate2's zlib-rs decoder",
        || {
            let elapsed = time(|| Ok(NpzReader::open(numpy)?.verify("adc")?))?;
            Ok(Measurement::bytes(elapsed, member.size))
        },
        "flate2 DeflateDecoder (zlib-rs) + crc32fast",
        || time(|| flate2_inflate(numpy, data_start, &member)),
    )?;
    if let (Some(ours), Some(flate2)) = (
        super::instructions::per_call_on("npz-verify", numpy)?,
        super::instructions::per_call_on("flate2-inflate", numpy)?,
    ) {
        ctx.annotate("instructions_flate2_over_ours", flate2 / ours);
    }
    Ok(())
}

/// The anchor of the inflate comparison: member `member` of the archive at `path`, whose data
/// starts at `data_start`, through flate2's zlib-rs decoder and crc32fast.
pub(super) fn flate2_inflate(
    path: &Path,
    data_start: u64,
    member: &npz_stream::MemberInfo,
) -> Result<()> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(data_start))?;
    let raw = std::io::BufReader::with_capacity(64 << 10, file).take(member.compressed_size);
    let mut decoder = flate2::read::DeflateDecoder::new(raw);
    let mut crc = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = decoder.read(&mut buf)?;
        if n == 0 {
            break;
        }
        crc.update(&buf[..n]);
        total += n as u64;
    }
    ensure!(
        total == member.size && crc.finalize() == member.crc32,
        "flate2 disagrees"
    );
    Ok(())
}

/// Where the data of the archive's first member starts (numpy's archive has one member, at 0).
pub(super) fn member_data_start(path: &Path) -> Result<u64> {
    let mut local = [0u8; 30];
    std::fs::File::open(path)?.read_exact(&mut local)?;
    ensure!(local[..4] == *b"PK\x03\x04", "no local header at 0");
    let name = u64::from(u16::from_le_bytes([local[26], local[27]]));
    let extra = u64::from(u16::from_le_bytes([local[28], local[29]]));
    Ok(30 + name + extra)
}

fn run_quiet(command: &mut Command) -> Result<()> {
    let status = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    ensure!(status.success(), "{} failed", util::describe(command));
    Ok(())
}
