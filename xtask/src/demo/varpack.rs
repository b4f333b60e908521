//! The varpack part of `cargo xtask demo`: a set of variables saved in both forms and loaded back
//! memory-mapped.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Result, ensure};
use varpack::{Array, LoadOptions, Varpack};

/// Shows varpack at work, with its files in `dir` (an empty directory).
pub fn varpack_demo(dir: &Path) -> Result<()> {
    println!("\n-- varpack: named variables saved atomically, loaded memory-mapped");
    let weights: Vec<f32> = (0..4 << 20).map(|i| (i % 1000) as f32 / 1000.0).collect();
    let labels: Vec<i64> = (0..100_000).collect();
    let mut vp = Varpack::new();
    vp.insert_array("weights", &weights, &[4096, 1024])?;
    vp.insert_array("labels", &labels, &[100_000])?;
    let mut layers = BTreeMap::new();
    layers.insert(
        "conv1".to_owned(),
        Array::from_slice(&[0.5f64; 64], &[8, 8])?,
    );
    layers.insert("fc/out".to_owned(), Array::from_slice(&[1u8; 10], &[10])?);
    vp.insert_dict("layers", layers)?;
    vp.insert_value("config", &BTreeMap::from([("lr", 0.001), ("epochs", 12.0)]))?;

    for target in [dir.join("run"), dir.join("run.npz")] {
        let start = Instant::now();
        vp.save_as(&target)?;
        let save = start.elapsed();
        let start = Instant::now();
        let loaded = Varpack::load(&target)?;
        let load = start.elapsed();
        let view = loaded.view::<f32>("weights")?;
        ensure!(
            view.as_slice() == &weights[..],
            "weights differ after the round trip"
        );
        let config: BTreeMap<String, f64> = loaded.get_value("config")?;
        println!(
            "saved to {} in {:.1} ms (atomic: temporary, fsync, rename); loaded in {:.0} µs with every array mapped, not read; weights equal, config {config:?}",
            target.display(),
            save.as_secs_f64() * 1e3,
            load.as_secs_f64() * 1e6
        );
    }
    let lazy = LoadOptions::new()
        .lazy(true)
        .ignore(["labels"])
        .load(dir.join("run"))?;
    let _ = lazy.view::<f32>("weights")?;
    println!("lazy load ignoring 'labels', after touching 'weights':\n{lazy}");
    Ok(())
}
