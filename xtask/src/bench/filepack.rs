//! The `filepack` group: packing, opening and reading trees of many small files, against `tar`
//! and the unpacked tree. Trees are generated: 100k files (and 1M in the full run).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use treepack::{EntryMeta, Pack, PackBuilder, PackWriter};

use super::{BenchCtx, Measurement, median_of, time};
use crate::util;

/// Lookups per read measurement.
const LOOKUPS: usize = 400_000;
/// Paths per `Pack::bytes_many` call in the batched lookup benchmark (an ML loader's batch).
const BATCH: usize = 64;

/// The `filepack` group.
pub fn run(ctx: &BenchCtx) -> Result<()> {
    let dir = ctx.scratch_dir();
    let small_tree = dir.join("tree-1k");
    make_tree(&small_tree, 10, 100)?;
    let small_pack = dir.join("tree-1k.fpack");
    PackBuilder::new().pack_dir(&small_tree, &small_pack)?;

    let sizes: &[usize] = if ctx.quick {
        &[100_000]
    } else {
        &[100_000, 1_000_000]
    };
    for &files in sizes {
        let label = if files >= 1_000_000 { "1M" } else { "100k" };
        let tree = dir.join(format!("tree-{label}"));
        let start = Instant::now();
        let (paths, bytes) = make_tree(&tree, files / 1000, 1000)?;
        println!(
            "    generated {files} files in {:.1} s",
            start.elapsed().as_secs_f64()
        );
        let out = dir.join(format!("tree-{label}.fpack"));
        let tar = dir.join(format!("tree-{label}.tar"));

        ctx.compare(
            &format!("pack {label} small files"),
            "no slower than tar cf (goal: faster, on both cores)",
            || {
                Ok(Measurement::bytes(
                    time(|| Ok(PackBuilder::new().pack_dir(&tree, &out)?))?,
                    bytes,
                ))
            },
            "tar cf",
            || {
                time(|| {
                    util::run(
                        Command::new("tar")
                            .arg("cf")
                            .arg(&tar)
                            .arg("-C")
                            .arg(&tree)
                            .arg("."),
                    )
                })
            },
        )?;
        ctx.headline();

        ctx.compare(
            &format!("open a {label}-entry pack vs a 1k-entry pack"),
            "within 2x of the 1k-entry pack (ratio at least 0.5), under 100 µs",
            || median_of(200, || Ok(Pack::open(&out)?.entry_count())),
            "open of the 1k-entry pack",
            || median_of(200, || Ok(Pack::open(&small_pack)?.entry_count())),
        )?;

        let pack = Pack::open(&out)?;
        let order = shuffled(paths.len(), LOOKUPS);
        let one = ctx.compare(
            &format!("random lookup + read, {label} pack, 1 thread, vs the unpacked tree"),
            "faster than the unpacked tree (files of 64 B to 4 KiB, every byte read)",
            || read_pack(&pack, &paths, &order, 1),
            "std::fs::read of the unpacked tree",
            || read_tree(&tree, &paths, &order[..order.len() / 10]),
        )?;
        let per_s = LOOKUPS as f64 / one.ours.median_s;
        println!(
            "    {:.2} M files/s in one thread, every byte read",
            per_s / 1e6
        );
        ctx.annotate("files_per_s", per_s);
        ctx.headline();
        let lookup = ctx.measure(
            &format!("random lookup + first/last byte, {label} pack, 1 thread"),
            "at least 2M files/s in one thread",
            || lookup_pack(&pack, &paths, &order),
        )?;
        let per_s = LOOKUPS as f64 / lookup.ours.median_s;
        let read_ns = dependent_read_ns(pack.as_bytes());
        println!(
            "    {:.2} M lookups/s in one thread; one dependent random read of the pack's map \
             takes {read_ns:.0} ns on this machine, and a lookup makes three in a row (index \
             slot, entry record, then stored path and contents together)",
            per_s / 1e6
        );
        ctx.annotate("files_per_s", per_s);
        ctx.annotate("dependent_read_ns", read_ns);
        let batched = ctx.measure(
            &format!(
                "random lookup + first/last byte, {label} pack, 1 thread, batches of {BATCH} \
                 (Pack::bytes_many)"
            ),
            "at least 2M files/s in one thread",
            || lookup_pack_batched(&pack, &paths, &order),
        )?;
        let per_s = LOOKUPS as f64 / batched.ours.median_s;
        println!("    {:.2} M lookups/s in one thread, batched", per_s / 1e6);
        ctx.annotate("files_per_s", per_s);
        ctx.headline();
        // Every byte read: memory bandwidth bounds this, lookup or not. The anchor reads the
        // same bytes in the same order from addresses found before the clock starts: what a
        // lookup that cost nothing would give.
        let contents: Vec<&[u8]> = order
            .iter()
            .map(|&i| pack.bytes(&paths[i]))
            .collect::<Result<_, _>>()?;
        let contents_len = contents.iter().map(|c| c.len() as u64).sum();
        let every_byte = ctx.compare(
            &format!(
                "random lookup + read, {label} pack, 1 thread, batches of {BATCH} \
                 (Pack::bytes_many), vs reading the same bytes at known addresses"
            ),
            "near the known-address floor (memory bandwidth, every byte read)",
            || read_pack_batched(&pack, &paths, &order),
            "the same bytes, no lookup",
            || {
                let elapsed = time(|| Ok(fold_all(&contents)))?;
                Ok(Measurement::bytes(elapsed, contents_len))
            },
        )?;
        println!(
            "    {:.2} M files/s in one thread, batched, every byte read; {:.2} M/s with no lookup",
            LOOKUPS as f64 / every_byte.ours.median_s / 1e6,
            LOOKUPS as f64 / every_byte.anchor_median_s.unwrap_or(f64::NAN) / 1e6
        );
        ctx.annotate("files_per_s", LOOKUPS as f64 / every_byte.ours.median_s);
        ctx.compare(
            &format!("random lookup + read, {label} pack, 2 threads vs 1"),
            "near-linear gain on the second core (ratio near 2)",
            || read_pack(&pack, &paths, &order, 2),
            "1 thread",
            || read_pack(&pack, &paths, &order, 1),
        )?;
        drop(pack);
        std::fs::remove_dir_all(&tree).ok();
    }
    hostile_names(ctx)
}

/// Hash flooding: names chosen so that the index hash of format 1.0 (XXH3-64 with the fixed
/// seed 0) puts them all in the first 1024 slots of their pack's index. Under that seed a pack
/// of 200k of them had a longest probe of ~200k slots: packing was 18x and verifying 150x
/// slower than for ordinary names. With the per-pack random seed of format 1.1 they are
/// ordinary names: both ratios should be near 1.
fn hostile_names(ctx: &BenchCtx) -> Result<()> {
    // As many as the report of the flood: finding them takes a few seconds.
    let (count, label) = (200_000, "200k");
    let start = Instant::now();
    let (hostile, tried) = colliding_names(count);
    println!(
        "    found {count} names colliding under the 1.0 seed among {tried} in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    // Names of the same length, in the same order of magnitude: ordinary ones.
    let benign: Vec<String> = (0..count as u64)
        .map(|i| format!("f{:x}", i * 257 + (1 << 24)))
        .collect();
    let packed = ctx.compare(
        &format!("pack {label} names colliding under format 1.0's fixed index seed"),
        "within 1.5x of ordinary names (ratio at least 0.67): no hash flooding",
        || time(|| pack_names(&hostile)),
        "the same number of ordinary names",
        || time(|| pack_names(&benign)),
    )?;
    let hostile_pack = Pack::from_vec(pack_names(&hostile)?)?;
    let benign_pack = Pack::from_vec(pack_names(&benign)?)?;
    let verified = ctx.compare(
        &format!("verify a pack of {label} names colliding under format 1.0's fixed index seed"),
        "within 1.5x of ordinary names (ratio at least 0.67): no hash flooding",
        || time(|| Ok(hostile_pack.verify()?)),
        "the same number of ordinary names",
        || time(|| Ok(benign_pack.verify()?)),
    )?;
    let ratio = |r: &super::Record| r.ours.median_s / r.anchor_median_s.unwrap_or(f64::NAN);
    println!(
        "    hostile / ordinary: pack {:.2}x, verify {:.2}x; longest index probe {} (hostile) \
         and {} (ordinary), against ~{count} for the hostile names under the 1.0 seed",
        ratio(&packed),
        ratio(&verified),
        hostile_pack.header().index_max_probe,
        benign_pack.header().index_max_probe,
    );
    ctx.annotate(
        "max_probe",
        f64::from(hostile_pack.header().index_max_probe),
    );
    ensure!(
        hostile_pack.header().index_max_probe < 64,
        "the hostile names still collide: longest probe {}",
        hostile_pack.header().index_max_probe
    );
    Ok(())
}

/// `count` names whose XXH3-64 with seed 0 falls in the first 1024 slots of the index of a
/// pack of them (and its root), and how many names were tried to find them.
fn colliding_names(count: usize) -> (Vec<String>, u64) {
    let n = count as u64 + 1;
    let mask = (n + n / 4 + 1).next_power_of_two() - 1;
    let mut names = Vec::with_capacity(count);
    let mut tried = 0u64;
    while names.len() < count {
        let name = format!("f{tried:x}");
        if treepack::format::hash_path(&name) & mask < 1024 {
            names.push(name);
        }
        tried += 1;
    }
    (names, tried)
}

/// A pack (in memory) of empty files with these names.
fn pack_names(names: &[String]) -> Result<Vec<u8>> {
    let mut w = PackWriter::new(std::io::Cursor::new(Vec::new()))?;
    for name in names {
        w.add_bytes(name, b"", EntryMeta::file())?;
    }
    Ok(w.finish()?.0.into_inner())
}

/// `dirs` directories of `per_dir` files of 64 bytes to 4 KiB; returns the relative paths and
/// the bytes written.
pub fn make_tree(root: &Path, dirs: usize, per_dir: usize) -> Result<(Vec<String>, u64)> {
    let mut paths = Vec::with_capacity(dirs * per_dir);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut content = Vec::new();
    let mut bytes = 0u64;
    for d in 0..dirs {
        let sub = root.join(format!("d{d:04}"));
        std::fs::create_dir_all(&sub).with_context(|| format!("creating {}", sub.display()))?;
        for f in 0..per_dir {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = 64 + (state % 4032) as usize;
            content.clear();
            content.extend((0..len).map(|i| (i as u64 ^ state) as u8));
            let name = format!("d{d:04}/f{f:05}.bin");
            std::fs::write(root.join(&name), &content)?;
            bytes += len as u64;
            paths.push(name);
        }
    }
    Ok((paths, bytes))
}

/// `n` indices into `len` items in a reproducible random order.
fn shuffled(len: usize, n: usize) -> Vec<usize> {
    let mut random = util::Lcg::new(0x9e37_79b9_7f4a_7c15);
    (0..n).map(|_| random.below(len as u64) as usize).collect()
}

/// Looks up and reads every file of `order` from the pack on `threads` threads: every byte of
/// each file is read (folded), as `std::fs::read` would deliver them.
fn read_pack(
    pack: &Pack,
    paths: &[String],
    order: &[usize],
    threads: usize,
) -> Result<Measurement> {
    read_pack_with(pack, paths, order, threads, fold)
}

/// Looks up every file of `order` and touches its first and last byte: the cost of the lookup
/// and of reaching the data, without the bandwidth of reading it all.
fn lookup_pack(pack: &Pack, paths: &[String], order: &[usize]) -> Result<Measurement> {
    read_pack_with(pack, paths, order, 1, |bytes| {
        bytes.first().copied().unwrap_or(0) ^ bytes.last().copied().unwrap_or(0)
    })
}

/// As [`lookup_pack`], in batches of [`BATCH`] paths through `Pack::bytes_many`.
fn lookup_pack_batched(pack: &Pack, paths: &[String], order: &[usize]) -> Result<Measurement> {
    batched_with(pack, paths, order, |bytes| {
        bytes.first().copied().unwrap_or(0) ^ bytes.last().copied().unwrap_or(0)
    })
}

/// As [`read_pack`] in one thread, in batches of [`BATCH`] paths through `Pack::bytes_many`.
fn read_pack_batched(pack: &Pack, paths: &[String], order: &[usize]) -> Result<Measurement> {
    batched_with(pack, paths, order, fold)
}

fn batched_with(
    pack: &Pack,
    paths: &[String],
    order: &[usize],
    touch: fn(&[u8]) -> u8,
) -> Result<Measurement> {
    let start = Instant::now();
    let mut total = 0u64;
    let mut batch = Vec::with_capacity(BATCH);
    for chunk in order.chunks(BATCH) {
        batch.clear();
        batch.extend(chunk.iter().map(|&i| paths[i].as_str()));
        for bytes in pack.bytes_many(&batch) {
            let bytes = bytes?;
            total += u64::from(touch(bytes)) + bytes.len() as u64;
        }
    }
    ensure!(total > 0, "nothing read");
    Ok(Measurement::bytes(start.elapsed(), total))
}

/// Every byte of `bytes`, folded: reading it all, as `std::fs::read` would deliver it.
fn fold(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, &b| a ^ b)
}

/// [`fold`] of each of `contents`, in order, summed.
fn fold_all(contents: &[&[u8]]) -> u64 {
    contents
        .iter()
        .map(|bytes| u64::from(fold(bytes)) + bytes.len() as u64)
        .sum()
}

/// The time of one random read of `map` that depends on the read before (a pointer chase):
/// the floor under a lookup, which makes three such reads in a row (index slot, entry record,
/// then the stored path and the contents, fetched together).
fn dependent_read_ns(map: &[u8]) -> f64 {
    const READS: usize = 1_000_000;
    let mut random = util::Lcg::new(0x2545_f491_4f6c_dd1d);
    let mut last = 0u8;
    let start = Instant::now();
    for _ in 0..READS {
        let at = (random.below(map.len() as u64) as usize) ^ usize::from(last & 1);
        last = map[at.min(map.len() - 1)];
    }
    std::hint::black_box(last);
    start.elapsed().as_nanos() as f64 / READS as f64
}

fn read_pack_with(
    pack: &Pack,
    paths: &[String],
    order: &[usize],
    threads: usize,
    touch: fn(&[u8]) -> u8,
) -> Result<Measurement> {
    let start = Instant::now();
    let total: u64 = std::thread::scope(|scope| {
        let handles: Vec<_> = order
            .chunks(order.len().div_ceil(threads))
            .map(|chunk| {
                scope.spawn(move || -> Result<u64> {
                    let mut total = 0u64;
                    for &i in chunk {
                        let bytes = pack.bytes(&paths[i])?;
                        total += u64::from(touch(bytes)) + bytes.len() as u64;
                    }
                    Ok(total)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("reader thread"))
            .sum::<Result<u64>>()
    })?;
    ensure!(total > 0, "nothing read");
    Ok(Measurement::bytes(start.elapsed(), total))
}

/// Reads every file of `order` from the unpacked tree (a tenth as many: it is much slower), and
/// scales the time up to the pack's number of lookups.
fn read_tree(root: &Path, paths: &[String], order: &[usize]) -> Result<Duration> {
    let start = Instant::now();
    let mut total = 0u64;
    for &i in order {
        let bytes = std::fs::read(root.join(&paths[i]))?;
        total += u64::from(bytes.iter().fold(0u8, |a, &b| a ^ b)) + bytes.len() as u64;
    }
    std::hint::black_box(total);
    Ok(start.elapsed() * (LOOKUPS / order.len()) as u32)
}
