//! The filepack part of `cargo xtask demo`: a generated tree packed into one file, opened, and
//! read back from two threads.

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, ensure};
use treepack::{Pack, PackBuilder};

use crate::bench::filepack::make_tree;

/// Shows filepack at work, with its files in `dir` (an empty directory).
pub fn filepack_demo(dir: &Path) -> Result<()> {
    println!("\n-- filepack: a directory tree in one file, O(1) open and lookup");
    let tree = dir.join("tree");
    let (paths, bytes) = make_tree(&tree, 20, 1000)?;
    let out = dir.join("tree.fpack");

    let start = Instant::now();
    let summary = PackBuilder::new().pack_dir(&tree, &out)?;
    let pack_time = start.elapsed();
    println!(
        "packed {} files ({:.1} MiB) from {} into {} in {:.0} ms: {:.0} files/s ({} entries, {} bytes)",
        paths.len(),
        bytes as f64 / (1 << 20) as f64,
        tree.display(),
        out.display(),
        pack_time.as_secs_f64() * 1e3,
        paths.len() as f64 / pack_time.as_secs_f64(),
        summary.entries,
        summary.pack_len
    );

    let start = Instant::now();
    let pack = Pack::open(&out)?;
    println!(
        "opened in {:.1} µs (header and root only; no scan of the {} entries)",
        start.elapsed().as_secs_f64() * 1e6,
        pack.entry_count()
    );
    println!(
        "  listdir(\"d0007\") has {} names, first {:?}; walk from the root visits {} entries",
        pack.listdir("d0007")?.len(),
        pack.listdir("d0007")?.first(),
        pack.walk("")?.count()
    );

    let start = Instant::now();
    let lookups = 200_000;
    let checked = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2u64)
            .map(|t| {
                let (pack, paths, tree) = (&pack, &paths, &tree);
                scope.spawn(move || -> Result<usize> {
                    let mut random = crate::util::Lcg::new(0x9e37_79b9_7f4a_7c15 ^ t);
                    let mut checked = 0;
                    for n in 0..lookups / 2 {
                        let path = &paths[random.below(paths.len() as u64) as usize];
                        let bytes = pack.bytes(path)?;
                        // Compare one file in a thousand with the original on disk.
                        if n % 1000 == 0 {
                            ensure!(bytes == std::fs::read(tree.join(path))?, "{path} differs");
                            checked += 1;
                        }
                    }
                    Ok(checked)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("reader thread"))
            .sum::<Result<usize>>()
    })?;
    let elapsed = start.elapsed();
    println!(
        "{lookups} random lookups on 2 threads, each giving the file's bytes zero-copy, one Pack shared without a lock: {:.2} M files/s ({checked} compared with the originals: equal)",
        lookups as f64 / elapsed.as_secs_f64() / 1e6
    );
    // The same kind of lookups in batches, as a training loader asks for them: `bytes_many`
    // overlaps the batch's waits for memory, in one thread.
    let mut random = crate::util::Lcg::new(0x2545_f491_4f6c_dd1d);
    let queries: Vec<&str> = (0..lookups)
        .map(|_| paths[random.below(paths.len() as u64) as usize].as_str())
        .collect();
    let start = Instant::now();
    let mut total = 0u64;
    for batch in queries.chunks(64) {
        for bytes in pack.bytes_many(batch) {
            total += bytes?.len() as u64;
        }
    }
    let elapsed = start.elapsed();
    let first: Vec<_> = pack.bytes_many(&queries[..64]);
    for (path, bytes) in queries.iter().zip(first) {
        ensure!(
            bytes? == pack.bytes(path)?,
            "bytes_many and bytes differ on {path}"
        );
    }
    println!(
        "{lookups} random lookups in batches of 64 (Pack::bytes_many) on 1 thread: {:.2} M files/s, {:.1} MiB of contents (a batch compared with one-at-a-time lookups: equal)",
        lookups as f64 / elapsed.as_secs_f64() / 1e6,
        total as f64 / (1 << 20) as f64
    );
    let verify = pack.verify()?;
    println!("verify: every checksum matches ({verify:?})");
    Ok(())
}
