//! The `remote` group: reading from object storage, against the local S3-compatible server
//! (moto, as `cargo xtask test` starts it). What counts is requests and bytes per job, each
//! against what downloading the whole object would cost; the times are a local server's, so
//! they say little about a real store's latency, while the request counts transfer.

use std::sync::Arc;

use anyhow::{Context, Result};
use npy_format::object_store::ObjectStore;
use npy_format::object_store::aws::AmazonS3Builder;
use npy_format::source::{ByteSource, CountingSource, RemoteSource, RemoteWriter};
use npy_format::{FrameSource, NpyReader};

use super::{BenchCtx, time};
use crate::s3::{BUCKET, S3Server};

/// The `remote` group.
pub fn run(ctx: &BenchCtx) -> Result<()> {
    let server = S3Server::start(ctx.python()?)?;
    let store = Store::new(&server)?;
    npy_frames(ctx, &store)?;
    npz_open(ctx, &store)?;
    pack_reads(ctx, &store)?;
    drop(server);
    Ok(())
}

/// The test bucket of the server, with sources and uploads by key.
pub(crate) struct Store {
    store: Arc<dyn ObjectStore>,
}

impl Store {
    fn new(server: &S3Server) -> Result<Store> {
        let mut builder = AmazonS3Builder::new().with_bucket_name(BUCKET);
        for (key, value) in server.env() {
            builder = match key {
                "AWS_ENDPOINT_URL" => builder.with_endpoint(value),
                "AWS_ACCESS_KEY_ID" => builder.with_access_key_id(value),
                "AWS_SECRET_ACCESS_KEY" => builder.with_secret_access_key(value),
                "AWS_REGION" => builder.with_region(value),
                "AWS_ALLOW_HTTP" => builder.with_allow_http(true),
                _ => builder,
            };
        }
        Ok(Store {
            store: Arc::new(builder.build().context("the S3 client of the bench")?),
        })
    }

    fn url(key: &str) -> String {
        format!("s3://{BUCKET}/{key}")
    }

    pub(crate) fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let mut w = RemoteWriter::from_store(self.store.clone(), key.into(), &Store::url(key));
        std::io::Write::write_all(&mut w, bytes)?;
        w.finish()?;
        Ok(())
    }

    pub(crate) fn source(&self, key: &str) -> RemoteSource {
        RemoteSource::from_store(self.store.clone(), key.into(), &Store::url(key))
    }

    /// The whole object in one GET: what a reader without ranges pays.
    pub(crate) fn download(&self, key: &str) -> Result<Vec<u8>> {
        let source = self.source(key);
        let (bytes, _) = source.read_head(usize::MAX >> 1)?;
        Ok(bytes)
    }
}

/// Records the requests and bytes of one run of `job` on a counted source, as notes of the
/// last record, with the object's size for the ratio.
fn annotate_costs(ctx: &BenchCtx, source: &CountingSource<RemoteSource>, object_bytes: u64) {
    ctx.annotate("requests", source.requests() as f64);
    ctx.annotate("bytes_fetched", source.bytes() as f64);
    ctx.annotate("object_bytes", object_bytes as f64);
    ctx.annotate(
        "fetched_over_whole_object",
        source.bytes() as f64 / object_bytes as f64,
    );
}

/// The last 8 frames of a 64 MiB `.npy` (16 MiB with `--quick`): an open and one range,
/// against downloading the object and slicing it.
fn npy_frames(ctx: &BenchCtx, store: &Store) -> Result<()> {
    let frames: u64 = if ctx.quick { 4096 } else { 16384 };
    let data: Vec<u16> = (0..frames * 2048).map(|i| i as u16).collect();
    let mut bytes = Vec::new();
    npy_format::write_array(&mut bytes, &data, &[frames, 2048], false)?;
    store.put("bench/frames.npy", &bytes)?;
    let last8 = |npy: &mut NpyReader<&CountingSource<RemoteSource>>| -> Result<Vec<u8>> {
        let n = npy.frame_count();
        Ok(npy.read_frames(n - 8, n)?)
    };
    let counted = CountingSource::new(store.source("bench/frames.npy"));
    ctx.compare(
        &format!(
            "npy: last 8 frames of a {} MiB .npy on S3",
            bytes.len() >> 20
        ),
        "2 requests (header, frames), under 1% of the object fetched",
        || {
            time(|| {
                let source = CountingSource::new(store.source("bench/frames.npy"));
                let mut npy = NpyReader::open(&source)?;
                last8(&mut npy)
            })
        },
        "GET the whole object, then slice",
        || {
            time(|| {
                let whole = store.download("bench/frames.npy")?;
                Ok(whole[whole.len() - 8 * 4096..].to_vec())
            })
        },
    )?;
    let mut npy = NpyReader::open(&counted)?;
    last8(&mut npy)?;
    annotate_costs(ctx, &counted, bytes.len() as u64);
    ctx.headline();
    Ok(())
}

/// Opening an archive of many small members and listing it: its end records and central
/// directory, against downloading the whole archive.
fn npz_open(ctx: &BenchCtx, store: &Store) -> Result<()> {
    let members = if ctx.quick { 2000 } else { 10_000 };
    let path = ctx.scratch_dir().join("many.npz");
    let mut writer = npz_stream::NpzWriter::create(&path)?;
    for i in 0..members {
        writer.add_array(&format!("m{i}"), &[i as u32; 256], &[256])?;
    }
    writer.finish()?;
    let bytes = std::fs::read(&path)?;
    store.put("bench/many.npz", &bytes)?;
    let open = |source: CountingSource<RemoteSource>| -> Result<usize> {
        let reader = npz_stream::NpzReader::open_source(source)?;
        Ok(reader.keys().len())
    };
    ctx.compare(
        &format!("npz: open and list {members} members on S3"),
        "at most 2 requests whatever the member count",
        || time(|| open(CountingSource::new(store.source("bench/many.npz")))),
        "GET the whole archive",
        || time(|| store.download("bench/many.npz")),
    )?;
    let counted = Arc::new(CountingSource::new(store.source("bench/many.npz")));
    let reader = npz_stream::NpzReader::open_source(counted.clone())?;
    anyhow::ensure!(
        reader.keys().len() == members,
        "the archive lists {members} members"
    );
    ctx.annotate("requests", counted.requests() as f64);
    ctx.annotate("bytes_fetched", counted.bytes() as f64);
    ctx.annotate("object_bytes", bytes.len() as f64);
    Ok(())
}

/// A pack of small files: its open, and batches of 64 random files read with one coalesced
/// call against 64 requests one after another.
fn pack_reads(ctx: &BenchCtx, store: &Store) -> Result<()> {
    let files: usize = if ctx.quick { 5000 } else { 20_000 };
    let mut writer = treepack::PackWriter::new(std::io::Cursor::new(Vec::new()))?;
    let mut sizes = 0u64;
    for i in 0..files {
        let len = 500 + (i * 7919) % 3000;
        sizes += len as u64;
        writer.add_bytes(
            &format!("d{}/f{i}.bin", i % 100),
            &vec![i as u8; len],
            treepack::EntryMeta::file(),
        )?;
    }
    let bytes = writer.finish()?.0.into_inner();
    store.put("bench/files.fpack", &bytes)?;
    let counted = CountingSource::new(store.source("bench/files.fpack"));
    ctx.compare(
        &format!("treepack: open a {files}-file pack on S3"),
        "at most 2 requests whatever the entry count",
        || {
            time(|| {
                let source = store.source("bench/files.fpack");
                Ok(treepack::OpenOptions::new().open_source(source)?)
            })
        },
        "GET the whole pack",
        || time(|| store.download("bench/files.fpack")),
    )?;
    let counted = Arc::new(counted);
    let pack = treepack::OpenOptions::new().open_source(counted.clone())?;
    annotate_costs(ctx, &counted, bytes.len() as u64);
    ctx.headline();

    // Batches of 64 random paths (a fixed sequence, the same for both sides).
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut batch = move || -> Vec<String> {
        (0..64)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let i = (seed % files as u64) as usize;
                format!("d{}/f{i}.bin", i % 100)
            })
            .collect()
    };
    let batches: Vec<Vec<String>> = (0..8).map(|_| batch()).collect();
    let run_coalesced = || -> Result<usize> {
        let mut n = 0;
        for paths in &batches {
            for got in pack.read_many(paths) {
                n += got?.len();
            }
        }
        Ok(n)
    };
    let run_single = || -> Result<usize> {
        let mut n = 0;
        for paths in &batches {
            for path in paths {
                n += pack.read(path)?.len();
            }
        }
        Ok(n)
    };
    let record = ctx.compare(
        "treepack: 8 batches of 64 random small files on S3, read_many (coalesced)",
        "fewer requests and more files/s than one request per file",
        || time(run_coalesced),
        "pack.read per file (one request each)",
        || time(run_single),
    )?;
    // Requests of one coalesced pass and of one pass file by file (the counted pack's).
    let (before, bytes_before) = (counted.requests(), counted.bytes());
    run_coalesced()?;
    let coalesced = counted.requests() - before;
    let coalesced_bytes = counted.bytes() - bytes_before;
    let (before, bytes_before) = (counted.requests(), counted.bytes());
    run_single()?;
    let single = counted.requests() - before;
    let single_bytes = counted.bytes() - bytes_before;
    // A store merges ranges under 1 MiB apart into one request (object_store's rule): fewer
    // round trips for more bytes, the gaps included.
    ctx.annotate("bytes_per_64_coalesced", coalesced_bytes as f64 / 8.0);
    ctx.annotate("bytes_per_64_one_by_one", single_bytes as f64 / 8.0);
    ctx.annotate("requests_per_64_coalesced", coalesced as f64 / 8.0);
    ctx.annotate("requests_per_64_one_by_one", single as f64 / 8.0);
    ctx.annotate("files_per_s_coalesced", 512.0 / record.ours.median_s);
    if let Some(anchor) = record.anchor_median_s {
        ctx.annotate("files_per_s_one_by_one", 512.0 / anchor);
    }
    ctx.annotate("mean_file_bytes", sizes as f64 / files as f64);
    Ok(())
}
