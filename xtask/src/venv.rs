//! The Python venv the numpy interop tests and the benchmark anchors run in.
//!
//! It lives at `<target dir>/xtask-venv` and holds exactly what `xtask/python/requirements.txt`
//! pins. A stamp file inside the venv records the requirements it was installed from, so a
//! venv is reused as long as its python exists and the requirements are unchanged; when they
//! change, they are installed again over it. Nothing is ever installed outside the venv.
//! A lock file beside it (`xtask-venv.lock`) keeps concurrent xtasks from installing at once.

use crate::util::{self, section};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The name of the stamp file inside the venv.
const STAMP: &str = "xtask-requirements.stamp";

/// `xtask/python`: the requirements and the Python scripts.
pub fn python_dir() -> PathBuf {
    util::workspace_root().join("xtask").join("python")
}

/// `xtask/python/requirements.txt`.
pub fn requirements_path() -> PathBuf {
    python_dir().join("requirements.txt")
}

/// `xtask/python/oracle.py`, the numpy oracle the interop tests talk to.
pub fn oracle_path() -> PathBuf {
    python_dir().join("oracle.py")
}

/// Where the venv lives: `<target dir>/xtask-venv`.
pub fn venv_dir() -> PathBuf {
    util::target_dir().join("xtask-venv")
}

/// The venv's python executable (whether or not it exists yet).
fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// The interpreter that creates the venv: `python3` (`python` on Windows).
fn base_python() -> Command {
    Command::new(if cfg!(windows) { "python" } else { "python3" })
}

/// Ensures the venv exists with the pinned packages and returns its python.
///
/// Cheap after the first call in a process, and cheap across processes while the venv is up to
/// date (one file read and compare).
pub fn python() -> Result<PathBuf> {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    if let Some(python) = PYTHON.get() {
        return Ok(python.clone());
    }
    let venv = venv_dir();
    // Two xtasks at once (say a test run and a bench run) take turns to create or update it.
    let lock_path = venv.with_extension("lock");
    if let Some(parent) = lock_path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let lock = std::fs::File::create(&lock_path)
        .with_context(|| format!("creating {}", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("locking {}", lock_path.display()))?;
    let python = ensure(&venv, &requirements_path())?;
    drop(lock);
    Ok(PYTHON.get_or_init(|| python).clone())
}

/// `python -m pip install`, quiet, and never into the base python (even if the venv vanished
/// under us).
fn pip_install(python: &Path) -> Command {
    let mut pip = Command::new(python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--require-virtualenv",
    ])
    .env("PIP_NO_INPUT", "1");
    pip
}

/// `python/`: the Python package `array_files` (its `pyproject.toml`, and its tests in
/// `python/tests`).
pub fn package_dir() -> PathBuf {
    util::workspace_root().join("python")
}

/// Builds the Python package `array_files` from `python/` and installs it into the venv, as a
/// user's `pip install ./python` does (maturin, a release build), and returns the venv's
/// python. The build backend comes from the venv (pinned in the requirements) rather than a
/// fresh download per build: `--no-build-isolation`.
pub fn install_package() -> Result<PathBuf> {
    let python = python()?;
    let bin = python
        .parent()
        .context("the venv python has no directory")?;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(
        std::iter::once(bin.to_path_buf()).chain(std::env::split_paths(&path)),
    )?;
    let mut install = pip_install(&python);
    install
        .args(["--no-build-isolation", "--no-deps"])
        .arg(package_dir())
        .env("PATH", path);
    util::run(&mut install).context("could not build and install the python package (python/)")?;
    Ok(python)
}

/// Ensures a venv at `venv` with `requirements` installed; returns its python.
fn ensure(venv: &Path, requirements: &Path) -> Result<PathBuf> {
    let wanted = std::fs::read_to_string(requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let python = venv_python(venv);
    let stamp = venv.join(STAMP);
    let have_python = python.is_file();
    if have_python && std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(python);
    }

    if have_python {
        section(&format!(
            "python venv {}: installing the requirements (new or changed)",
            venv.display()
        ));
    } else {
        section(&format!("python venv {}: creating it", venv.display()));
        if venv.exists() {
            std::fs::remove_dir_all(venv)
                .with_context(|| format!("removing the broken venv {}", venv.display()))?;
        }
        if let Some(parent) = venv.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let mut create = base_python();
        create.arg("-m").arg("venv").arg(venv);
        util::run(&mut create).context(
            "could not create the python venv: xtask needs `python3` with its `venv` module",
        )?;
        if !python.is_file() {
            bail!(
                "`python3 -m venv` did not create {}: is the venv module complete?",
                python.display()
            );
        }
    }
    // The stamp goes only after a successful install, so a failed one is retried next time.
    let _ = std::fs::remove_file(&stamp);

    let mut install = pip_install(&python);
    install.arg("--requirement").arg(requirements);
    util::run(&mut install).context("could not install xtask/python/requirements.txt")?;

    let partial = venv.join(format!("{STAMP}.partial"));
    std::fs::write(&partial, &wanted).with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, &stamp).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(python)
}
