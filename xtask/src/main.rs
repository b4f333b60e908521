//! Project automation for the array-files workspace, run as `cargo xtask <command>`.
//!
//! * `cargo xtask test [-- EXTRA...]`: the full test suite, including the numpy interop tests
//!   (see [`test`](mod@test)).
//! * `cargo xtask bench [GROUP...] [--quick]`: the benchmarks against numpy and the machine's
//!   own limits (see [`bench`](mod@bench)).
//! * `cargo xtask demo`: a tour of the crates (see [`demo`]).
//! * `cargo xtask release VERSION [--dry-run]`: bump, changelog, test, package, commit, tag
//!   (see [`release`]).
//! * `cargo xtask fuzz [--seconds N] [TARGET...]`: build and run the cargo-fuzz targets on the
//!   stable toolchain, installing cargo-fuzz under the target directory (see [`fuzz`]).
//!
//! Python packages come only from `xtask/python/requirements.txt`, installed into a venv under
//! the target directory (see [`venv`]).

mod bench;
mod demo;
mod fuzz;
mod publish;
mod release;
mod s3;
mod test;
mod util;
mod venv;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// `cargo xtask`: the project's automation.
#[derive(Parser, Debug)]
#[command(name = "xtask", bin_name = "cargo xtask", version, about)]
struct Cli {
    /// What to run.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
enum Command {
    /// Build, then run every test of the workspace, the numpy interop tests included.
    Test(test::TestArgs),
    /// Run benchmark groups (all of them when none is named) and write target/bench/GROUP.json.
    Bench(bench::BenchArgs),
    /// Show what the crates do, in a scratch directory under target/demo.
    Demo,
    /// Bump every crate to VERSION, move the changelog's Unreleased section, test, package,
    /// commit and tag; print the publish commands in order.
    Release(release::ReleaseArgs),
    /// Build the fuzz targets in fuzz/ and run each for N seconds (all when none is named).
    Fuzz(fuzz::FuzzArgs),
    /// A benchmark's measured child process (used by `bench`; not for direct use).
    #[command(hide = true)]
    BenchChild {
        /// Which child.
        name: String,
        /// Its arguments.
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Test(args) => test::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Demo => demo::run(),
        Command::Release(args) => release::run(args),
        Command::Fuzz(args) => fuzz::run(args),
        Command::BenchChild { name, args } => bench::BenchCtx::child(&name, &args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if let Some(failed) = err.downcast_ref::<util::CommandFailed>() {
                eprintln!("xtask: {failed}");
                return ExitCode::from(failed.exit_code());
            }
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
