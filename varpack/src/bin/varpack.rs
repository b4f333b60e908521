//! `varpack`: show and convert varpacks.
//!
//! ```text
//! varpack show PATH [--json] [--max-header-size N]
//!                                   the table (or JSON); reads manifests and headers only,
//!                                   writes nothing; a plain numpy .npz's members that are
//!                                   not arrays are listed below the table
//! varpack convert IN OUT [-f]       directory <-> single file (.npz) <-> plain numpy .npz,
//!                                   or from a Varpack (Python) folder or an .abf file;
//!                                   an existing OUT is replaced only with -f/--force
//!
//! PATH, IN and OUT may be URLs of object storage (s3://bucket/runs/run1, gs://, az://,
//! http(s)://; configured from the environment: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...): a URL
//! ending in .npz is a single-file pack, any other a directory pack's prefix. OUT as a URL must
//! end in .npz: the single file is uploaded whole (the directory form is never written to
//! storage, where a prefix cannot be replaced atomically).
//!   --skip-unreadable               leave out the values this crate cannot hold (pickled
//!                                   objects, Julia-serialized values), each named on stderr
//!   --strict                        refuse them instead, in every input: also a numpy .npz's
//!                                   members that are not arrays, object arrays (pickles),
//!                                   bzip2/lzma members, headers over the limit, which are
//!                                   otherwise left out and named on stderr
//!   --max-header-size N             the longest NPY header accepted (default 10000)
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use array_files_fs::cli::{self, Force};
use clap::{Parser, Subcommand};
use varpack::convert::{ConvertErrorKind, ConvertOptions};
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
        /// A pack directory or a .npz file, or its URL (s3://bucket/runs/run1, ...).
        path: PathBuf,
        /// One JSON array of objects instead of the table (members of a plain numpy .npz that
        /// are not loadable arrays as objects with "kind": "skipped", "member" and "reason").
        #[arg(long)]
        json: bool,
        /// Largest NPY header accepted, in bytes (raise it for trusted files only).
        #[arg(long, value_name = "BYTES")]
        max_header_size: Option<usize>,
    },
    /// Copy a pack into the other form (OUT a directory, or a file ending in .npz), or
    /// migrate a folder written by Varpack (Python) or an AlignedBinaryFormat .abf file
    /// (Julia). Waits for a save of OUT in progress; a replaced OUT keeps its mode.
    Convert {
        /// A pack directory, a single-file pack, a plain numpy .npz, a Varpack folder or an
        /// .abf file; or the URL of a pack or .npz in object storage.
        input: PathBuf,
        /// The output path, or a URL ending in .npz (uploaded whole).
        output: PathBuf,
        #[command(flatten)]
        force: Force,
        /// Leave out a foreign pack's values this crate cannot hold exactly (pickled Python
        /// objects, object arrays, Julia-serialized values) instead of refusing the pack; each
        /// is named on stderr. (A numpy .npz's odd members are left out without it.)
        #[arg(long, visible_aliases = ["skip-pickled", "skip-serialized"])]
        skip_unreadable: bool,
        /// Refuse the input if anything in it cannot be converted exactly: in a numpy .npz,
        /// members that are not arrays (text, JSON, directories), bzip2 or lzma members,
        /// object arrays (pickles) and headers over the limit, which are otherwise left out
        /// and named on stderr; in a foreign pack, what --skip-unreadable would leave out
        /// (refused by default anyway).
        #[arg(long, conflicts_with = "skip_unreadable")]
        strict: bool,
        /// Largest NPY header accepted, in bytes (raise it for trusted files only).
        #[arg(long, value_name = "BYTES")]
        max_header_size: Option<usize>,
    },
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Show {
            path,
            json,
            max_header_size,
        } => {
            let mut options = LoadOptions::new();
            if let Some(max) = max_header_size {
                options = options.max_header_size(max);
            }
            let vp = options.inspect_location(&path)?;
            let mut out = cli::stdout();
            if json {
                let mut rows = serde_json::to_value(vp.infos())?;
                if let serde_json::Value::Array(rows) = &mut rows {
                    for skipped in vp.skipped_members() {
                        rows.push(serde_json::json!({
                            "name": skipped.key,
                            "member": skipped.member,
                            "kind": "skipped",
                            "reason": cli_words(&skipped.reason),
                        }));
                    }
                }
                writeln!(out, "{rows}")?;
            } else {
                write!(out, "{}", cli_words(&vp.to_string()))?;
            }
            out.flush()?;
        }
        Command::Convert {
            input,
            output,
            force,
            skip_unreadable,
            strict,
            max_header_size,
        } => {
            force.check(&output)?;
            let mut options = ConvertOptions::new()
                .skip_unreadable(skip_unreadable)
                .strict(strict)
                .replace(force.force);
            if let Some(max) = max_header_size {
                options = options.max_header_size(max);
            }
            match options.convert_location(&input, &output) {
                Ok(skipped) => {
                    for skipped in skipped {
                        eprintln!("varpack: skipped {}", cli_words(&skipped.to_string()));
                    }
                }
                Err(e) if matches!(e.kind(), ConvertErrorKind::Save(k) if matches!(**k, SaveErrorKind::Exists)) =>
                {
                    return Err(cli::exists_error(e.path()).into());
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// A message of the library in the command line's words: flags, not Rust options.
fn cli_words(message: &str) -> String {
    message
        .replace(
            "--max-header-size in the command-line tools, ReadOptions::max_header_size in Rust",
            "--max-header-size",
        )
        .replace("ReadOptions::max_header_size", "--max-header-size")
        .replace(
            "refusing the archive (strict)",
            "refusing the archive (--strict)",
        )
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::main("varpack", || {
        run(cli).map_err(|e| cli_words(&e.to_string()))
    })
}
