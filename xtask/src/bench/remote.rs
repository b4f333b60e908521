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
