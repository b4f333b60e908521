//! A bounded cache of the blocks of a source: hot ranges of an object in storage are fetched
//! once. Reads are cut into fixed blocks; the blocks a call lacks are fetched in one
//! `read_ranges` call (contiguous runs merged), kept by weight (bytes) in a concurrent cache,
//! and the oldest cold ones are evicted when the capacity is reached.

use std::collections::HashMap;
use std::io;
use std::ops::Range;
use std::sync::Arc;

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::ByteSource;

/// The default block: small enough that a small file does not drag in much more, large enough
/// that neighbours share a request.
pub const DEFAULT_BLOCK_BYTES: u64 = 64 << 10;

#[derive(Clone)]
struct ByLength;

impl Weighter<u64, Arc<[u8]>> for ByLength {
    fn weight(&self, _: &u64, block: &Arc<[u8]>) -> u64 {
        block.len() as u64
    }
}

/// A source whose reads go through a bounded cache of fixed-size blocks.
///
/// A read touching cached blocks only costs no request; a read missing some blocks costs one
/// [`read_ranges`](ByteSource::read_ranges) call of the inner source for all of them (one
/// request per run of adjacent missing blocks, which an object store coalesces further).
/// [`read_ranges`](ByteSource::read_ranges) gathers the missing blocks of every range into that
/// one call. A read larger than a quarter of the cache goes straight to the inner source.
/// `read_head` and `read_tail` (the opens) are not cached.
///
/// ```
/// use npy_format::source::{ByteSource, CachedSource, CountingSource, MemorySource};
/// let bytes: Vec<u8> = (0..=255).cycle().take(1 << 20).collect();
/// let counted = CountingSource::new(MemorySource::new(bytes.clone(), "m"));
/// let cached = CachedSource::new(&counted, 8 << 20);
/// assert_eq!(cached.read_at(1000, 10).unwrap(), &bytes[1000..1010]);
/// assert_eq!(cached.read_at(2000, 10).unwrap(), &bytes[2000..2010]); // the same block
/// assert_eq!(counted.requests(), 2); // the length, then one block
/// ```
pub struct CachedSource<S> {
    inner: S,
    block: u64,
    capacity: u64,
    cache: Cache<u64, Arc<[u8]>, ByLength>,
}

impl<S: ByteSource> std::fmt::Debug for CachedSource<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedSource")
            .field("inner", &self.inner)
            .field("block", &self.block)
            .field("capacity", &self.capacity)
            .field("cached_bytes", &self.cache.weight())
            .finish()
    }
}

impl<S: ByteSource> CachedSource<S> {
    /// `inner` with a cache of at most `capacity` bytes, in blocks of
    /// [`DEFAULT_BLOCK_BYTES`].
    ///
    /// ```
    /// use npy_format::source::{CachedSource, MemorySource};
    /// let cached = CachedSource::new(MemorySource::new(vec![0; 10], "m"), 1 << 20);
    /// assert_eq!(cached.capacity(), 1 << 20);
    /// ```
    pub fn new(inner: S, capacity: u64) -> CachedSource<S> {
        CachedSource::with_block_size(inner, capacity, DEFAULT_BLOCK_BYTES)
    }

    /// `inner` with a cache of at most `capacity` bytes, in blocks of `block` bytes (at least
    /// 1).
    ///
    /// ```
    /// use npy_format::source::{ByteSource, CachedSource, MemorySource};
    /// let cached = CachedSource::with_block_size(MemorySource::new(vec![7; 10], "m"), 100, 4);
    /// assert_eq!(cached.read_at(3, 5).unwrap(), vec![7; 5]);
    /// ```
    pub fn with_block_size(inner: S, capacity: u64, block: u64) -> CachedSource<S> {
        let block = block.max(1);
        let blocks = usize::try_from(capacity / block)
            .unwrap_or(usize::MAX)
            .max(1);
        CachedSource {
            inner,
            block,
            capacity,
            cache: Cache::with_weighter(blocks, capacity, ByLength),
        }
    }

    /// The capacity in bytes.
    ///
    /// ```
    /// # use npy_format::source::{CachedSource, MemorySource};
    /// assert_eq!(CachedSource::new(MemorySource::new(vec![], "m"), 5).capacity(), 5);
    /// ```
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Bytes cached now.
    ///
    /// ```
    /// # use npy_format::source::{ByteSource, CachedSource, MemorySource};
    /// let cached = CachedSource::with_block_size(MemorySource::new(vec![0; 100], "m"), 1000, 16);
    /// cached.read_at(0, 1).unwrap();
    /// assert_eq!(cached.cached_bytes(), 16);
    /// ```
    pub fn cached_bytes(&self) -> u64 {
        self.cache.weight()
    }

    /// The source read through the cache.
    ///
    /// ```
    /// # use npy_format::source::{ByteSource, CachedSource, MemorySource};
    /// let cached = CachedSource::new(MemorySource::new(vec![], "m"), 5);
    /// assert_eq!(cached.inner().location(), "m");
    /// ```
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The blocks of `ranges` (each inside the object), from the cache or fetched in one call.
    fn blocks_of(&self, ranges: &[Range<u64>]) -> io::Result<HashMap<u64, Arc<[u8]>>> {
        let len = self.inner.len()?;
        let mut blocks = HashMap::new();
        let mut missing = Vec::new();
        for range in ranges {
            if range.start >= range.end || range.end > len {
                continue; // empty, or an error the caller reports
            }
            for index in range.start / self.block..range.end.div_ceil(self.block) {
                if blocks.contains_key(&index) {
                    continue;
                }
                match self.cache.get(&index) {
                    Some(block) => {
                        blocks.insert(index, block);
                    }
                    None => {
                        blocks.insert(index, Arc::from(&[][..]));
                        missing.push(index);
                    }
                }
            }
        }
        missing.sort_unstable();
        // Runs of adjacent missing blocks, one range each.
        let mut runs: Vec<Range<u64>> = Vec::new();
        for &index in &missing {
            match runs.last_mut() {
                Some(run) if run.end == index => run.end += 1,
                _ => runs.push(index..index + 1),
            }
        }
        let byte_runs: Vec<Range<u64>> = runs
            .iter()
            .map(|run| run.start * self.block..(run.end * self.block).min(len))
            .collect();
        if !byte_runs.is_empty() {
            for (run, bytes) in runs.iter().zip(self.inner.read_ranges(&byte_runs)?) {
                for (index, chunk) in (run.start..run.end).zip(bytes.chunks(self.block as usize)) {
                    let block: Arc<[u8]> = Arc::from(chunk);
                    self.cache.insert(index, block.clone());
                    blocks.insert(index, block);
                }
            }
        }
        Ok(blocks)
    }

    fn assemble(&self, blocks: &HashMap<u64, Arc<[u8]>>, range: &Range<u64>) -> Vec<u8> {
        let mut out = Vec::with_capacity((range.end - range.start) as usize);
        let mut at = range.start;
        while at < range.end {
            let index = at / self.block;
            let block = &blocks[&index];
            let from = (at - index * self.block) as usize;
            let to = block.len().min((range.end - index * self.block) as usize);
            out.extend_from_slice(&block[from..to]);
            at = index * self.block + to as u64;
        }
        out
    }

    /// Large reads skip the cache: one would evict every hot block for bytes read once.
    fn bypasses(&self, range: &Range<u64>) -> bool {
        range.end.saturating_sub(range.start) > self.capacity / 4
    }
}

impl<S: ByteSource> ByteSource for CachedSource<S> {
    fn location(&self) -> &str {
        self.inner.location()
    }

    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let range = offset..offset.saturating_add(len as u64);
        Ok(self.read_ranges(&[range])?.pop().unwrap_or_default())
    }

    fn read_head(&self, n: usize) -> io::Result<(Vec<u8>, u64)> {
        self.inner.read_head(n)
    }

    fn read_tail(&self, n: usize) -> io::Result<(Vec<u8>, u64)> {
        self.inner.read_tail(n)
    }

    fn read_ranges(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Vec<u8>>> {
        let len = self.inner.len()?;
        // Bad ranges get the inner source's error; ranges larger than the cache skip it, fetched
        // together in one call of the inner source, as the cached ones' missing blocks are.
        let direct = |r: &Range<u64>| r.start > r.end || r.end > len || self.bypasses(r);
        let (skipping, cached): (Vec<Range<u64>>, Vec<Range<u64>>) =
            ranges.iter().cloned().partition(|r| direct(r));
        let mut skipped = match skipping.is_empty() {
            true => Vec::new().into_iter(),
            false => self.inner.read_ranges(&skipping)?.into_iter(),
        };
        let blocks = self.blocks_of(&cached)?;
        Ok(ranges
            .iter()
            .map(|r| match direct(r) {
                true => skipped.next().unwrap_or_default(),
                false => self.assemble(&blocks, r),
            })
            .collect())
    }
}
