//! The Python part of `cargo xtask demo`: builds the package `array_files` into the venv
//! (`pip install ./python`) and runs `xtask/python/demo.py`, which does the four jobs from
//! Python and prints their speed.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use crate::{util, venv};

/// Runs the Python demo with its files in `dir` (an empty directory).
pub fn python_demo(dir: &Path) -> Result<()> {
    println!("\n-- python: building the package array_files into the venv (pip install ./python)");
    let python = venv::install_package()?;
    let mut demo = Command::new(python);
    demo.arg(venv::python_dir().join("demo.py"))
        .arg(dir)
        .current_dir(util::workspace_root());
    util::run(&mut demo)
}
