//! `varpack`: show and convert varpacks.
//!
//! ```text
//! varpack show PATH [--json]        the table (or JSON); reads manifests and headers only,
//!                                   writes nothing
//! varpack convert IN OUT [-f]       directory <-> single file (.npz) <-> plain numpy .npz,
//!                                   or from a Varpack (Python) folder or an .abf file;
//!                                   an existing OUT is replaced only with -f/--force
//!   --skip-unreadable               leave out the foreign pack's values this crate cannot
//!                                   hold (pickled objects, Julia-serialized values), listed
//!                                   on stderr
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use array_files_fs::cli::{self, Force};
use array_files_fs::text::escape_control;
use clap::{Parser, Subcommand};
use varpack::convert::{self, ConvertOptions};
use varpack::{LoadOptions, SaveErrorKind};

#[derive(Parser)]
#[command(name = "varpack", version, about = "Show and convert varpacks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print what a pack holds: name, kind, dtype, shape, bytes, status. Reads only; a pack
    /// whose save was interrupted is reported, not repaired.
    Show {
        /// A pack directory or a .npz file.
        path: PathBuf,
        /// One JSON array of objects instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Copy a pack into the other form (OUT a directory, or a file ending in .npz), or
    /// migrate a folder written by Varpack (Python) or an AlignedBinaryFormat .abf file
    /// (Julia). Waits for a save of OUT in progress; a replaced OUT keeps its mode.
    Convert {
        /// A pack directory, a single-file pack, a plain numpy .npz, a Varpack folder or an
        /// .abf file.
        input: PathBuf,
        /// The output path.
        output: PathBuf,
        #[command(flatten)]
        force: Force,
        /// Leave out a foreign pack's values this crate cannot hold exactly (pickled Python
        /// objects, object arrays, Julia-serialized values) instead of refusing the pack; each
        /// is named on stderr.
        #[arg(long, visible_aliases = ["skip-pickled", "skip-serialized"])]
        skip_unreadable: bool,
    },
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Show { path, json } => {
            let vp = varpack::inspect(&path)?;
            let mut out = cli::stdout();
            if json {
                writeln!(out, "{}", serde_json::to_string(&vp.infos())?)?;
            } else {
                write!(out, "{vp}")?;
            }
            out.flush()?;
        }
        Command::Convert {
            input,
            output,
            force,
            skip_unreadable,
        } => {
            force.check(&output)?;
            // Read into memory with ordinary reads, not maps: an input truncated while it is
            // read is an error, not a SIGBUS.
            let vp = if convert::detect(&input).is_some() {
                let options = ConvertOptions::new().skip_unreadable(skip_unreadable);
                let converted = convert::read(&input, &options)?;
                for (name, reason) in &converted.skipped {
                    eprintln!(
                        "varpack: skipped value '{}': {}",
                        escape_control(name),
                        escape_control(reason)
                    );
                }
                converted.pack
            } else {
                LoadOptions::new().memory_map(false).load(&input)?
            };
            let saved = if force.force {
                vp.save_as(&output)
            } else {
                vp.save_as_new(&output)
            };
            match saved {
                Err(e) if matches!(e.kind(), SaveErrorKind::Exists) => {
                    return Err(cli::exists_error(e.path()).into());
                }
                other => other?,
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::main("varpack", || run(cli))
}
