//! `varpack`: show and convert varpacks.
//!
//! ```text
//! varpack show PATH [--json]   the table (or JSON); reads manifests and headers only
//! varpack convert IN OUT       directory <-> single file (.npz) <-> plain numpy .npz
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "varpack", version, about = "Show and convert varpacks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print what a pack holds: name, kind, dtype, shape, bytes, status.
    Show {
        /// A pack directory or a .npz file.
        path: PathBuf,
        /// One JSON array of objects instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Copy a pack into the other form (OUT a directory, or a file ending in .npz).
    Convert {
        /// A pack directory, a single-file pack or a plain numpy .npz.
        input: PathBuf,
        /// The output path.
        output: PathBuf,
    },
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Show { path, json } => {
            let vp = varpack::inspect(&path)?;
            if json {
                println!("{}", serde_json::to_string(&vp.infos())?);
            } else {
                print!("{vp}");
            }
        }
        Command::Convert { input, output } => {
            let vp = varpack::Varpack::load(&input)?;
            vp.save_as(&output)?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let text = e.to_string().replace('\n', " ");
            eprintln!("varpack: error: {text}");
            ExitCode::FAILURE
        }
    }
}
