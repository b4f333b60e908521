//! The `npy` group: opening and bulk-reading `.npy` files, against numpy, npyz, ndarray-npy and
//! the machine's own `std::fs::read`.

use anyhow::{Context, Result};

use super::{BenchCtx, Measurement, median_of, path_str, time};

/// Opens of a typical file timed one by one; their median is one run.
const OPENS_PER_RUN: usize = 1000;

/// The `npy` group.
pub fn run(ctx: &BenchCtx) -> Result<()> {
    open(ctx)?;
    bulk_read(ctx)?;
    ndarray_io(ctx)
}

/// Header parse + memory map of a typical file (1024 × 1024 `<f8`, 8 MiB).
fn open(ctx: &BenchCtx) -> Result<()> {
    let path = ctx.scratch_dir().join("typical.npy");
    npy_format::write_file(&path, &vec![1.0f64; 1 << 20], &[1024, 1024])?;
    let setup = format!("import numpy as np; p = {:?}", path_str(&path)?);
    ctx.compare(
        "open: header parse + mmap, (1024, 1024) <f8",
        "under 20 µs, at least 25x np.load(mmap_mode='r')",
        || {
            median_of(OPENS_PER_RUN, || {
                let file = npy_format::NpyFile::open(&path)?;
                std::hint::black_box(file.header());
                Ok(())
            })
        },
        "numpy np.load(mmap_mode='r')",
        || ctx.python_timeit_repeat(&setup, "np.load(p, mmap_mode='r')", 300),
    )?;
    ctx.headline();

    // What an open cannot go below on this machine: the system calls every mmap-based open
    // makes (numpy's too), and our share on top of them, the header parse.
    let file_len = std::fs::metadata(&path)?.len() as usize;
    ctx.measure(
        "floor: File::open + close",
        "(the machine's cost, for the open goal)",
        || median_of(OPENS_PER_RUN, || Ok(std::fs::File::open(&path)?)),
    )?;
    ctx.measure(
        "floor: File::open + mmap + munmap + close",
        "(the machine's cost, for the open goal)",
        || {
            median_of(OPENS_PER_RUN, || {
                let file = std::fs::File::open(&path)?;
                // SAFETY: the bench's own scratch file, not modified while mapped.
                let map = unsafe { memmap2::MmapOptions::new().len(file_len).map(&file)? };
                Ok(map.len())
            })
        },
    )?;
    let header = std::fs::read(&path)?[..128].to_vec();
    ctx.measure("header parse from bytes", "(our part of an open)", || {
        median_of(OPENS_PER_RUN, || {
            Ok(npy_format::Header::from_bytes(&header)?)
        })
    })?;
    if let Some(n) = super::instructions::per_call("header-parse")? {
        ctx.annotate("instructions_per_parse", n);
    }
    Ok(())
}

/// Reading a whole file of `f64` into memory.
fn bulk_read(ctx: &BenchCtx) -> Result<()> {
    let gib = if ctx.quick { 256 << 20 } else { 1 << 30 };
    let count = gib / 8;
    let path = ctx.scratch_dir().join("bulk.npy");
    let data: Vec<f64> = (0..count).map(|i| i as f64 * 0.5).collect();
    npy_format::write_file(&path, &data, &[count as u64])?;
    drop(data);
    let bytes = std::fs::metadata(&path)?.len();
    let label = format!("bulk read {} MiB into Vec<f64>", gib >> 20);
    let ours = || -> Result<Measurement> {
        let elapsed = time(|| Ok(npy_format::read_file::<f64>(&path)?.data))?;
        Ok(Measurement::bytes(elapsed, bytes))
    };
    ctx.compare(
        &format!("{label} vs std::fs::read"),
        "at least 0.9x std::fs::read of the same file",
        ours,
        "std::fs::read (the machine's limit)",
        || time(|| Ok(std::fs::read(&path)?)),
    )?;
    ctx.headline();
    ctx.compare(
        &format!("{label} vs npyz"),
        "at least 2x npyz",
        ours,
        "npyz 0.9 into_vec",
        || {
            time(|| {
                let file = std::io::BufReader::new(std::fs::File::open(&path)?);
                Ok(npyz::NpyFile::new(file)?.into_vec::<f64>()?)
            })
        },
    )?;
    ctx.compare(
        &format!("{label} vs ndarray-npy"),
        "no slower than ndarray-npy",
        ours,
        "ndarray-npy 0.10 read_npy",
        || {
            time(|| {
                let array: ndarray::Array1<f64> =
                    ndarray_npy::read_npy(&path).context("ndarray-npy read_npy")?;
                Ok(array)
            })
        },
    )?;
    Ok(())
}

/// `ndarray` in and out: a whole file into an `Array2<f64>`, and a transposed view (Fortran
/// layout) written, against ndarray-npy.
fn ndarray_io(ctx: &BenchCtx) -> Result<()> {
    use npy_format::nd::{ReadNpy, WriteNpy};
    let mib = if ctx.quick { 64 } else { 256 };
    let rows = (mib << 20) / 8 / 1024;
    let array = ndarray::Array2::from_shape_fn((rows, 1024), |(i, j)| (i * 1024 + j) as f64);
    let path = ctx.scratch_dir().join("nd.npy");
    array.write_npy(&path)?;
    let bytes = std::fs::metadata(&path)?.len();
    ctx.compare(
        &format!("read {mib} MiB into Array2<f64> vs ndarray-npy"),
        "no slower than ndarray-npy",
        || {
            let elapsed = time(|| Ok(ndarray::Array2::<f64>::read_npy(&path)?))?;
            Ok(Measurement::bytes(elapsed, bytes))
        },
        "ndarray-npy 0.10 read_npy",
        || {
            time(|| {
                let array: ndarray::Array2<f64> =
                    ndarray_npy::read_npy(&path).context("ndarray-npy read_npy")?;
                Ok(array)
            })
        },
    )?;
    let out = ctx.scratch_dir().join("nd-out.npy");
    let transposed = array.t();
    ctx.compare(
        &format!("write {mib} MiB Array2<f64>, a transposed view, vs ndarray-npy"),
        "no slower than ndarray-npy",
        || {
            let elapsed = time(|| Ok(transposed.write_npy(&out)?))?;
            Ok(Measurement::bytes(elapsed, bytes))
        },
        "ndarray-npy 0.10 write_npy",
        || time(|| ndarray_npy::write_npy(&out, &transposed).context("ndarray-npy write_npy")),
    )?;
    Ok(())
}
