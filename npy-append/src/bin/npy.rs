//! `npy`: inspect `.npy` files and extract frames from them.
//!
//! ```text
//! npy info FILE [--json] [--max-header-size N]
//! npy rows FILE START [END] [--max-header-size N]
//! ```
//!
//! Errors print one line on stderr and exit with status 1; usage errors exit with status 2.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use npy_format::{FrameSource, NpyFile, header::DEFAULT_MAX_HEADER_SIZE};

#[derive(Parser)]
#[command(
    name = "npy",
    version,
    about = "Inspect .npy files and extract frames from them"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print what a file's header says, and where its data is.
    Info {
        /// The .npy file.
        file: PathBuf,
        /// One JSON object on stdout instead of the human summary.
        #[arg(long)]
        json: bool,
        /// Longest header accepted, in characters (numpy's default is 10000).
        #[arg(long, default_value_t = DEFAULT_MAX_HEADER_SIZE)]
        max_header_size: usize,
    },
    /// Write the raw bytes of frames [START, END) along the growth axis to stdout.
    ///
    /// The growth axis is axis 0, or the last axis for Fortran order; a 0-d array has one frame.
    /// Without END, every frame from START to the end.
    Rows {
        /// The .npy file.
        file: PathBuf,
        /// First frame.
        start: u64,
        /// One past the last frame (default: the frame count).
        end: Option<u64>,
        /// Longest header accepted, in characters.
        #[arg(long, default_value_t = DEFAULT_MAX_HEADER_SIZE)]
        max_header_size: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e)
            if e.downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("npy: error: {e}");
            ExitCode::FAILURE
        }
    }
}

type CliResult = Result<(), Box<dyn std::error::Error>>;

fn run(command: Command) -> CliResult {
    match command {
        Command::Info {
            file,
            json,
            max_header_size,
        } => {
            let npy = NpyFile::options()
                .max_header_size(max_header_size)
                .open(&file)?;
            let info = info_json(&npy);
            let mut out = io::stdout().lock();
            if json {
                writeln!(out, "{info}")?;
            } else {
                write_summary(&mut out, &npy)?;
            }
            Ok(())
        }
        Command::Rows {
            file,
            start,
            end,
            max_header_size,
        } => {
            let npy = NpyFile::options()
                .max_header_size(max_header_size)
                .open(&file)?;
            let end = end.unwrap_or_else(|| npy.frame_count());
            let bytes = npy.frames(start, end)?;
            let mut out = io::stdout().lock();
            out.write_all(bytes)?;
            out.flush()?;
            Ok(())
        }
    }
}

fn info_json(npy: &NpyFile) -> serde_json::Value {
    let header = npy.header();
    let (major, minor) = npy.version().numbers();
    let descr: serde_json::Value =
        serde_json::from_str(&header.dtype.descr_json()).expect("descr_json writes valid JSON");
    serde_json::json!({
        "path": npy.path(),
        "version": [major, minor],
        "descr": descr,
        "fortran_order": header.fortran_order,
        "shape": header.shape,
        "data_offset": npy.data_offset(),
        "nbytes": header.data_len(),
        "itemsize": header.dtype.itemsize(),
        "frames": header.frame_count(),
        "frame_bytes": header.frame_len(),
        "trailing_bytes": npy.trailing_len(),
    })
}

fn write_summary(out: &mut impl Write, npy: &NpyFile) -> io::Result<()> {
    let header = npy.header();
    let (major, minor) = npy.version().numbers();
    let shape: Vec<String> = header.shape.iter().map(u64::to_string).collect();
    writeln!(out, "file:          {}", npy.path().display())?;
    writeln!(out, "format:        NPY {major}.{minor}")?;
    writeln!(out, "descr:         {}", header.dtype.descr())?;
    writeln!(out, "itemsize:      {} bytes", header.dtype.itemsize())?;
    writeln!(out, "shape:         ({})", shape.join(", "))?;
    writeln!(
        out,
        "order:         {}",
        if header.fortran_order {
            "Fortran (growth axis: last)"
        } else {
            "C (growth axis: 0)"
        }
    )?;
    writeln!(
        out,
        "frames:        {} of {} bytes",
        header.frame_count(),
        header.frame_len().unwrap_or(0)
    )?;
    writeln!(out, "data offset:   {}", npy.data_offset())?;
    writeln!(out, "data bytes:    {}", header.data_len().unwrap_or(0))?;
    if npy.trailing_len() > 0 {
        writeln!(
            out,
            "trailing:      {} bytes past the data (unaccounted frames? see `npy recover`)",
            npy.trailing_len()
        )?;
    }
    if header.dtype.has_object() {
        writeln!(
            out,
            "note:          object array: the data is a Python pickle and is never read"
        )?;
    }
    Ok(())
}
