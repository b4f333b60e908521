//! `cargo xtask demo`: a short tour of what the crates do, run in a scratch directory under
//! `target/demo` (emptied first, left behind to look at).
//!
//! Each crate's part lives in its own module under `demo/`; add one with a `mod` line and a
//! call in [`run`].

mod append;
mod filepack;
mod npy;
mod npz;
mod python;
mod varpack;

use crate::util;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Runs `cargo xtask demo`.
pub fn run() -> Result<()> {
    if util::rerun_in_release(&["demo".to_owned()])? {
        return Ok(());
    }
    let root = util::target_dir().join("demo");
    println!(
        "==> array-files demo (scratch directory {})",
        root.display()
    );
    npy::npy_demo(&fresh_dir(&root, "npy")?)?;
    append::append_demo(&fresh_dir(&root, "append")?)?;
    npz::npz_demo(&fresh_dir(&root, "npz")?)?;
    filepack::filepack_demo(&fresh_dir(&root, "filepack")?)?;
    varpack::varpack_demo(&fresh_dir(&root, "varpack")?)?;
    python::python_demo(&fresh_dir(&root, "python")?)?;
    Ok(())
}

/// `root/name`, created empty.
fn fresh_dir(root: &Path, name: &str) -> Result<PathBuf> {
    let dir = root.join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
