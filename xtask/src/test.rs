//! `cargo xtask test`: every test of the workspace, the numpy interop tests included.
//!
//! 1. `cargo check --all-targets` of the fuzz targets (`fuzz/`, not a workspace member, so
//!    nothing else here builds them), unless `-p` names packages: they must follow the
//!    libraries' API, and `fuzz/Cargo.lock` the workspace's dependencies (cargo adds what a
//!    new dependency needs and follows a version bump, as it does in `Cargo.lock`). Seconds
//!    once built; no nightly and no cargo-fuzz (`cargo xtask fuzz` builds and runs them).
//! 2. Ensures the venv with the pinned numpy (see [`crate::venv`]).
//! 3. `cargo build --release --workspace`, because the CLI binaries are tested as built in
//!    `target/release`.
//! 4. `cargo test --workspace --all-features -- --include-ignored`, with an S3-compatible
//!    server running for the object-storage tests (`moto_server` on 127.0.0.1, see
//!    [`crate::s3`]: `AWS_ENDPOINT_URL` and test credentials in the environment; stopped
//!    afterwards whatever happens), and
//!    * `NPY_PYTHON`: the venv's python,
//!    * `NPY_ORACLE`: `xtask/python/oracle.py`, the numpy oracle,
//!    * `NPY_BIN_DIR`: `target/release`.
//!
//! 5. `pip install ./python` into the venv and its pytest suite (`python/tests`), unless `-p`
//!    names packages other than `array-files-python`, with the S3 server still running.
//!
//! Tests that need numpy are `#[ignore = "needs numpy: run `cargo xtask test`"]`, so a plain
//! `cargo test` skips them visibly and this command runs them.
//!
//! Extra arguments after `--` go to `cargo test`; a second `--` separates the ones for the test
//! binaries: `cargo xtask test -- -p npy-format header -- --nocapture`. Naming packages with
//! `-p`/`--package` replaces `--workspace`.

use crate::util::{self, section};
use crate::venv;
use anyhow::Result;

/// Arguments of `cargo xtask test`.
#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Extra `cargo test` arguments; after a further `--`, extra test-binary arguments.
    #[arg(last = true)]
    extra: Vec<String>,
}

/// Runs `cargo xtask test`.
pub fn run(args: TestArgs) -> Result<()> {
    let (cargo_args, binary_args) = match args.extra.iter().position(|a| a == "--") {
        Some(split) => (&args.extra[..split], &args.extra[split + 1..]),
        None => (&args.extra[..], &[][..]),
    };
    let names_packages = cargo_args
        .iter()
        .any(|a| a.starts_with("-p") || a.starts_with("--package"));

    if !names_packages {
        let mut fuzz = util::cargo();
        fuzz.args([
            "check",
            "--manifest-path",
            "fuzz/Cargo.toml",
            "--all-targets",
        ])
        .arg("--target-dir")
        .arg(util::target_dir());
        section(&format!(
            "xtask test: the fuzz targets still compile ({})",
            util::describe(&fuzz)
        ));
        util::run(&mut fuzz)?;
    }

    section("xtask test: python venv with the pinned numpy");
    let python = venv::python()?;
    eprintln!("    {}", python.display());

    section("xtask test: cargo build --release --workspace");
    util::run(util::cargo().args(["build", "--release", "--workspace"]))?;

    section("xtask test: an S3-compatible server (moto) for the object-storage tests");
    let s3 = crate::s3::S3Server::start(&python)?;

    let mut test = util::cargo();
    test.arg("test");
    if !names_packages {
        test.arg("--workspace");
    }
    test.arg("--all-features")
        .args(cargo_args)
        .arg("--")
        .arg("--include-ignored")
        .args(binary_args)
        .env("NPY_PYTHON", &python)
        .env("NPY_ORACLE", venv::oracle_path())
        .env("NPY_BIN_DIR", util::target_dir().join("release"))
        .envs(s3.env());
    section(&format!("xtask test: {}", util::describe(&test)));
    util::run(&mut test)?;

    let names_python = cargo_args.iter().any(|a| a.contains("array-files-python"));
    if !names_packages || names_python {
        section("xtask test: the python package (pip install ./python), then its pytest suite");
        let python = venv::install_package()?;
        let mut pytest = std::process::Command::new(python);
        pytest
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(venv::package_dir().join("tests"))
            .envs(s3.env());
        util::run(&mut pytest)?;
    }
    drop(s3);

    section("xtask test: all passed");
    Ok(())
}
