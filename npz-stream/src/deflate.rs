//! Parallel deflate: chunks compressed independently by a pool of workers, written in order.
//!
//! Each chunk is compressed by a freshly reset raw-deflate compressor and ends with a full flush
//! (or the final block for the last chunk). A full flush ends byte-aligned with an empty window,
//! so the concatenation of the chunks is one valid deflate stream, and the CRC-32 of the whole is
//! the combination of the chunks' CRCs.

use std::collections::BTreeMap;
use std::io;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use flate2::{Compress, Compression, FlushCompress, Status};

/// The NPY header as stored deflate blocks: its encoded length depends only on its length.
pub(crate) fn stored_blocks(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(stored_blocks_len(bytes.len()));
    for piece in bytes.chunks(0xFFFF) {
        let len = piece.len() as u16;
        out.push(0); // BFINAL = 0, BTYPE = 00 (stored), padding to the byte boundary
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(piece);
    }
    out
}

/// Length of [`stored_blocks`] for `len` bytes.
pub(crate) fn stored_blocks_len(len: usize) -> usize {
    len + 5 * len.div_ceil(0xFFFF)
}

struct Job {
    seq: u64,
    data: Vec<u8>,
    level: u32,
    last: bool,
}

/// A compressed chunk, back from a worker.
pub(crate) struct Done {
    pub seq: u64,
    /// The input buffer, returned for reuse.
    pub input: Vec<u8>,
    pub output: io::Result<Vec<u8>>,
    pub crc: crc32fast::Hasher,
}

/// Worker threads that compress chunks.
pub(crate) struct Pool {
    jobs: Option<SyncSender<Job>>,
    done: Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
    threads: usize,
}

impl Pool {
    pub(crate) fn new(threads: usize) -> io::Result<Pool> {
        let threads = threads.max(1);
        let (job_tx, job_rx) = sync_channel::<Job>(threads);
        let (done_tx, done_rx) = channel::<Done>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let mut workers = Vec::with_capacity(threads);
        for i in 0..threads {
            let rx = Arc::clone(&job_rx);
            let tx = done_tx.clone();
            let handle = std::thread::Builder::new()
                .name(format!("npz-deflate-{i}"))
                .spawn(move || worker(&rx, &tx))?;
            workers.push(handle);
        }
        Ok(Pool {
            jobs: Some(job_tx),
            done: done_rx,
            workers,
            threads,
        })
    }

    /// Chunks that may be in flight at once: enough to keep every worker busy while the
    /// writer writes, few enough to bound memory.
    pub(crate) fn max_in_flight(&self) -> usize {
        2 * self.threads + 1
    }

    fn submit(&self, job: Job) -> io::Result<()> {
        self.jobs
            .as_ref()
            .and_then(|tx| tx.send(job).ok())
            .ok_or_else(|| io::Error::other("the compression workers stopped"))
    }

    fn receive(&self) -> io::Result<Done> {
        self.done
            .recv()
            .map_err(|_| io::Error::other("the compression workers stopped"))
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.jobs = None;
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
    }
}

fn worker(jobs: &Mutex<Receiver<Job>>, done: &Sender<Done>) {
    let mut compressor: Option<(u32, Compress)> = None;
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let c = match &mut compressor {
            Some((level, c)) if *level == job.level => {
                c.reset();
                c
            }
            _ => {
                let c = Compress::new(Compression::new(job.level), false);
                &mut compressor.insert((job.level, c)).1
            }
        };
        let mut crc = crc32fast::Hasher::new();
        crc.update(&job.data);
        let output = compress_chunk(c, &job.data, job.last);
        if output.is_err() {
            compressor = None;
        }
        let result = Done {
            seq: job.seq,
            input: job.data,
            output,
            crc,
        };
        if done.send(result).is_err() {
            return;
        }
    }
}

/// Compresses `data` in memory as chunks of `chunk` bytes, each by a fresh compressor ending in
/// a full flush (no final block: the caller appends one). Returns the compressed bytes, the
/// CRC-32 of `data` and the chunk starts (uncompressed, compressed).
pub(crate) fn compress_in_memory(data: &[u8], chunk: usize, level: u32) -> io::Result<Compressed> {
    let mut c = Compress::new(Compression::new(level), false);
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    let mut points = Vec::new();
    for (i, piece) in data.chunks(chunk.max(1)).enumerate() {
        points.push(((i * chunk) as u64, out.len() as u64));
        c.reset();
        out.extend_from_slice(&compress_chunk(&mut c, piece, false)?);
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(data);
    Ok(Compressed {
        bytes: out,
        crc,
        points,
    })
}

/// Data compressed by [`compress_in_memory`].
pub(crate) struct Compressed {
    pub bytes: Vec<u8>,
    pub crc: crc32fast::Hasher,
    pub points: Vec<(u64, u64)>,
}

/// Compresses one chunk with a full flush, or with the final block if `last`.
fn compress_chunk(c: &mut Compress, data: &[u8], last: bool) -> io::Result<Vec<u8>> {
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Full
    };
    let mut out = Vec::with_capacity(data.len() + data.len() / 64 + 64);
    let start_in = c.total_in();
    loop {
        let consumed = (c.total_in() - start_in) as usize;
        let status = c
            .compress_vec(&data[consumed..], &mut out, flush)
            .map_err(|e| io::Error::other(format!("deflate failed: {e}")))?;
        let consumed = (c.total_in() - start_in) as usize;
        let done = match status {
            Status::StreamEnd => true,
            _ if last => false,
            _ => consumed == data.len() && out.len() < out.capacity(),
        };
        if done {
            return Ok(out);
        }
        out.reserve(out.capacity().max(64 << 10));
    }
}

/// The compressed stream of one member: submits chunks, writes results in order.
pub(crate) struct DeflateStream {
    level: u32,
    next_seq: u64,
    next_write: u64,
    in_flight: usize,
    pending: BTreeMap<u64, Done>,
    /// CRC of the data written so far (in order).
    pub crc: crc32fast::Hasher,
    /// Uncompressed bytes of the chunks written.
    pub written_in: u64,
    /// Compressed bytes written.
    pub written_out: u64,
    /// Chunk starts (uncompressed, compressed), relative to the start of the data.
    pub points: Vec<(u64, u64)>,
    /// Buffers returned by the workers, for reuse.
    pub spare: Vec<Vec<u8>>,
}

impl DeflateStream {
    pub(crate) fn new(level: u32) -> DeflateStream {
        DeflateStream {
            level,
            next_seq: 0,
            next_write: 0,
            in_flight: 0,
            pending: BTreeMap::new(),
            crc: crc32fast::Hasher::new(),
            written_in: 0,
            written_out: 0,
            points: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// Sends a chunk to the pool, first writing finished chunks (through `write`) while too
    /// many are in flight.
    pub(crate) fn submit(
        &mut self,
        pool: &Pool,
        data: Vec<u8>,
        last: bool,
        write: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        while self.in_flight >= pool.max_in_flight() {
            self.receive_one(pool, write)?;
        }
        pool.submit(Job {
            seq: self.next_seq,
            data,
            level: self.level,
            last,
        })?;
        self.next_seq += 1;
        self.in_flight += 1;
        Ok(())
    }

    /// Takes over data compressed elsewhere ([`compress_in_memory`]) and already written.
    pub(crate) fn adopt(&mut self, data_len: u64, data: &Compressed) {
        let (u0, c0) = (self.written_in, self.written_out);
        self.points
            .extend(data.points.iter().map(|&(u, c)| (u0 + u, c0 + c)));
        self.written_in += data_len;
        self.written_out += data.bytes.len() as u64;
        self.crc.combine(&data.crc);
    }

    /// Waits for every chunk in flight and writes them.
    pub(crate) fn drain(
        &mut self,
        pool: &Pool,
        write: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        while self.in_flight > 0 {
            self.receive_one(pool, write)?;
        }
        Ok(())
    }

    /// Waits for every chunk in flight and drops them (abandoning the member).
    pub(crate) fn discard(&mut self, pool: &Pool) {
        while self.in_flight > 0 {
            if pool.receive().is_err() {
                break;
            }
            self.in_flight -= 1;
        }
        self.pending.clear();
    }

    fn receive_one(
        &mut self,
        pool: &Pool,
        write: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        let done = pool.receive()?;
        self.in_flight -= 1;
        self.pending.insert(done.seq, done);
        while let Some(done) = self.pending.remove(&self.next_write) {
            let output = done.output?;
            if !done.input.is_empty() {
                self.points.push((self.written_in, self.written_out));
            }
            write(&output)?;
            self.written_in += done.input.len() as u64;
            self.written_out += output.len() as u64;
            self.crc.combine(&done.crc);
            self.next_write += 1;
            let mut input = done.input;
            input.clear();
            if self.spare.len() < 4 {
                self.spare.push(input);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn chunks_concatenate_to_one_stream() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let pool = Pool::new(2).unwrap();
        let mut stream = DeflateStream::new(6);
        let mut out = stored_blocks(b"HEADER");
        let prefix = out.len() as u64;
        let mut write = |b: &[u8]| {
            out.extend_from_slice(b);
            Ok(())
        };
        let chunks: Vec<&[u8]> = data.chunks(65_536).collect();
        for (i, c) in chunks.iter().enumerate() {
            stream
                .submit(&pool, c.to_vec(), i + 1 == chunks.len(), &mut write)
                .unwrap();
        }
        stream.drain(&pool, &mut write).unwrap();
        let mut inflated = Vec::new();
        flate2::read::DeflateDecoder::new(&out[..])
            .read_to_end(&mut inflated)
            .unwrap();
        assert_eq!(&inflated[..6], b"HEADER");
        assert_eq!(&inflated[6..], &data[..]);
        assert_eq!(stream.crc.finalize(), crc32fast::hash(&data));
        // Every point starts an independent stream.
        for &(u, c) in &stream.points {
            let mut part = Vec::new();
            let mut d = flate2::read::DeflateDecoder::new(&out[(prefix + c) as usize..]);
            d.read_to_end(&mut part).unwrap();
            assert_eq!(&part[..], &data[u as usize..]);
        }
    }

    #[test]
    fn stored_blocks_split_long_headers() {
        assert_eq!(stored_blocks_len(0xFFFF + 1), 0xFFFF + 1 + 10);
        assert_eq!(stored_blocks(&vec![b' '; 0x10000]).len(), 0x10000 + 10);
    }
}
