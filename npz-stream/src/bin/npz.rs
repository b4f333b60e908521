//! `npz`: list, read, build and extract `.npz` archives.
//!
//! ```text
//! npz ls FILE [--json]
//! npz rows FILE KEY START [END]
//! npz zip OUT KEY=FILE.npy... [--compress] [--level N] [--chunk-size BYTES] [--threads N] [--delete-originals]
//! npz add OUT KEY=FILE.npy... [--compress] [--level N] [--chunk-size BYTES] [--threads N]
//! npz extract FILE KEY OUT.npy
//! npz test FILE
//! ```
//!
//! Errors print one line on stderr (`npz: error: ...`) and exit with status 1; usage errors
//! exit with status 2.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use npy_format::FrameSource;
use npz_stream::{Compression, MemberInfo, NpzReader, WriterOptions};

#[derive(Parser)]
#[command(
    name = "npz",
    version,
    about = "List, read, build and extract .npz archives"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the members: key, dtype, shape, compression, sizes, access.
    Ls {
        /// The archive.
        file: PathBuf,
        /// One JSON array on stdout instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Write the raw bytes of frames [START, END) of member KEY to stdout.
    ///
    /// Frames run along the growth axis (axis 0, or the last axis in Fortran order); a 0-d
    /// array has one frame. Without END, every frame from START to the end.
    Rows {
        /// The archive.
        file: PathBuf,
        /// The member's key (with or without `.npy`).
        key: String,
        /// First frame.
        start: u64,
        /// One past the last frame (default: the frame count).
        end: Option<u64>,
    },
    /// Create an archive OUT from existing .npy files (replacing OUT atomically).
    Zip {
        /// The archive to create.
        out: PathBuf,
        /// Members as KEY=FILE.npy.
        #[arg(required = true, value_name = "KEY=FILE.npy")]
        members: Vec<String>,
        #[command(flatten)]
        write: WriteArgs,
        /// Delete the input files once the archive is synced and in place.
        #[arg(long)]
        delete_originals: bool,
    },
    /// Add .npy files to an archive (created if missing); existing keys are an error and leave
    /// the archive unchanged.
    Add {
        /// The archive.
        out: PathBuf,
        /// Members as KEY=FILE.npy.
        #[arg(required = true, value_name = "KEY=FILE.npy")]
        members: Vec<String>,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Write member KEY as a standalone .npy file (CRC-checked).
    Extract {
        /// The archive.
        file: PathBuf,
        /// The member's key.
        key: String,
        /// The .npy file to write.
        out: PathBuf,
    },
    /// Read every member in full and check its CRC-32.
    Test {
        /// The archive.
        file: PathBuf,
    },
}

#[derive(Args)]
struct WriteArgs {
    /// Deflate the members (seekable: a full flush every --chunk-size bytes).
    #[arg(long)]
    compress: bool,
    /// Deflate level 0-9 (implies --compress).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=9))]
    level: Option<u32>,
    /// Uncompressed bytes between seek points of deflated members.
    #[arg(long, default_value_t = 1 << 20)]
    chunk_size: usize,
    /// Compression threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

impl WriteArgs {
    fn options(&self) -> WriterOptions {
        let compression = match (self.compress, self.level) {
            (_, Some(level)) => Compression::Deflate { level },
            (true, None) => Compression::deflate(),
            (false, None) => Compression::Stored,
        };
        let mut options = WriterOptions::default()
            .compression(compression)
            .chunk_size(self.chunk_size);
        if let Some(threads) = self.threads {
            options = options.threads(threads);
        }
        options
    }
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
            let message = e.to_string().replace('\n', " ");
            eprintln!("npz: error: {message}");
            ExitCode::FAILURE
        }
    }
}

type CliResult = Result<(), Box<dyn std::error::Error>>;

fn parse_members(members: &[String]) -> Result<Vec<(String, PathBuf)>, String> {
    members
        .iter()
        .map(|m| match m.split_once('=') {
            Some((key, path)) if !key.is_empty() && !path.is_empty() => {
                Ok((key.to_owned(), PathBuf::from(path)))
            }
            _ => Err(format!("expected KEY=FILE.npy, got {m:?}")),
        })
        .collect()
}

fn run(command: Command) -> CliResult {
    match command {
        Command::Ls { file, json } => {
            let reader = NpzReader::open(&file)?;
            let infos = reader.infos()?;
            let mut out = io::stdout().lock();
            if json {
                let list: Vec<serde_json::Value> = infos.iter().map(info_json).collect();
                writeln!(out, "{}", serde_json::Value::Array(list))?;
            } else {
                write_table(&mut out, &infos)?;
            }
            out.flush()?;
        }
        Command::Rows {
            file,
            key,
            start,
            end,
        } => {
            let reader = NpzReader::open(&file)?;
            let mut member = reader.member(&key)?;
            let end = end.unwrap_or_else(|| member.frame_count());
            let bytes = member.read_frames(start, end)?;
            let mut out = io::stdout().lock();
            out.write_all(&bytes)?;
            out.flush()?;
        }
        Command::Zip {
            out,
            members,
            write,
            delete_originals,
        } => {
            let members = parse_members(&members)?;
            npz_stream::zip_npy_files(&out, &members, write.options(), delete_originals)?;
        }
        Command::Add {
            out,
            members,
            write,
        } => {
            let members = parse_members(&members)?;
            let mut npz = if out.exists() {
                write.options().append(&out)?
            } else {
                write.options().create(&out)?
            };
            npz.add_npy_files(&members)?;
            npz.finish()?;
        }
        Command::Extract { file, key, out } => extract(&file, &key, &out)?,
        Command::Test { file } => {
            let reader = NpzReader::open(&file)?;
            let keys = reader.keys();
            for key in &keys {
                reader.verify(key)?;
            }
            println!("{}: {} members OK", file.display(), keys.len());
        }
    }
    Ok(())
}

fn extract(file: &Path, key: &str, out: &Path) -> CliResult {
    let reader = NpzReader::open(file)?;
    let mut member = reader.open_member(key)?;
    let name = out
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = out.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> CliResult {
        let mut dest = fs::File::create(&tmp)?;
        io::copy(&mut member, &mut dest).map_err(|e| -> Box<dyn std::error::Error> {
            match e.into_inner() {
                Some(inner) => inner,
                None => "I/O error".into(),
            }
        })?;
        dest.sync_all()?;
        fs::rename(&tmp, out)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn info_json(info: &MemberInfo) -> serde_json::Value {
    let header = &info.header;
    let descr: serde_json::Value =
        serde_json::from_str(&header.dtype.descr_json()).unwrap_or(serde_json::Value::Null);
    let (major, minor) = info.version.numbers();
    serde_json::json!({
        "name": info.key,
        "member": info.name,
        "descr": descr,
        "fortran_order": header.fortran_order,
        "shape": header.shape,
        "version": [major, minor],
        "compression": info.method.as_str(),
        "size": info.size,
        "compressed_size": info.compressed_size,
        "crc32": info.crc32,
        "header_len": info.header_len,
        "data_offset": info.data_offset,
        "frames": header.frame_count(),
        "frame_bytes": header.frame_len(),
        "seekable": info.seekable,
        "indexed": info.indexed,
        "mappable": info.mappable,
    })
}

fn write_table(out: &mut impl Write, infos: &[MemberInfo]) -> io::Result<()> {
    let rows: Vec<[String; 6]> = infos
        .iter()
        .map(|info| {
            let shape: Vec<String> = info.header.shape.iter().map(u64::to_string).collect();
            let shape = if shape.len() == 1 {
                format!("({},)", shape[0])
            } else {
                format!("({})", shape.join(", "))
            };
            let access = if info.mappable {
                "mappable"
            } else if info.seekable {
                "seekable"
            } else {
                "sequential"
            };
            [
                info.key.clone(),
                info.header.dtype.descr(),
                shape,
                info.method.as_str().to_owned(),
                format!("{} / {}", info.compressed_size, info.size),
                access.to_owned(),
            ]
        })
        .collect();
    let titles = ["key", "descr", "shape", "method", "stored / size", "access"];
    let mut widths = titles.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cells: [&str; 6]| -> io::Result<()> {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            if i + 1 < cells.len() {
                text.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
            }
        }
        writeln!(out, "{text}")
    };
    line(out, titles)?;
    for row in &rows {
        line(out, row.each_ref().map(String::as_str))?;
    }
    Ok(())
}
