//! `npz`: list, read, build and extract `.npz` archives.
//!
//! ```text
//! npz ls FILE [--json]                     every member: arrays, and what the others are
//! npz rows FILE KEY START [END]
//! npz zip OUT KEY=FILE.npy... [-f] [--compress] [--level N] [--chunk-size BYTES] [--threads N] [--delete-originals]
//! npz add OUT KEY=FILE.npy... [--wait] [--compress] [--level N] [--chunk-size BYTES] [--threads N]
//! npz extract FILE KEY OUT.npy [-f] [--raw]
//! npz index FILE [KEY...] [--span BYTES] [--sidecar [-f]] [--wait] [-q]
//! npz test FILE
//! npz recover FILE [--wait]
//! ```
//!
//! `ls`, `rows`, `extract` and `test` read FILE from object storage too: a URL
//! (`s3://bucket/key`, `gs://`, `az://`, `http(s)://`), the store configured from the standard
//! environment (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, ...), read by ranges.
//!
//! Errors print one line on stderr (`npz: error: ...`) and exit with status 1; usage errors
//! exit with status 2. A closed standard output (`npz rows ... | head`) ends the command
//! quietly with status 0; a full one (`> /dev/full`) is an error.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use array_files_fs::atomic::TempFile;
use array_files_fs::cli::{self, Force};
use array_files_fs::text::escape_control;
use clap::{Args, Parser, Subcommand};
use npz_stream::npy_format::source;
use npz_stream::{
    Compression, Content, LockMode, MemberEntry, NpzReader, OpenError, OpenErrorKind,
    ReaderOptions, WriteError, WriteErrorKind, WriterOptions,
};

// Beside the binary, not in src/bin/ (where cargo would take it for a binary of its own).
#[path = "npz/rows.rs"]
mod rows;

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
    /// List the members: key, dtype, shape, compression, sizes, access. Members that are not
    /// arrays (text, JSON, directories, bzip2 or lzma members) are listed with what they are; a
    /// member whose header cannot be read is listed too, and its error ends the command with
    /// status 1 once every member is listed.
    Ls {
        /// The archive: a path, or a URL (s3://bucket/key, gs://, az://, http(s)://).
        file: PathBuf,
        /// One JSON array on stdout instead of the table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// Write the raw bytes of frames [START, END) of member KEY to stdout.
    ///
    /// Frames run along the growth axis (axis 0, or the last axis in Fortran order); a 0-d
    /// array has one frame. Without END, every frame from START to the end.
    Rows {
        /// The archive: a path, or a URL (s3://bucket/key, gs://, az://, http(s)://).
        file: PathBuf,
        /// The member's key (with or without `.npy`).
        key: String,
        /// First frame.
        start: u64,
        /// One past the last frame (default: the frame count).
        end: Option<u64>,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// Create an archive OUT from existing .npy files (an existing OUT only with -f, replaced
    /// atomically, keeping its mode).
    Zip {
        /// The archive to create.
        out: PathBuf,
        /// Members as KEY=FILE.npy.
        #[arg(required = true, value_name = "KEY=FILE.npy")]
        members: Vec<String>,
        #[command(flatten)]
        write: WriteArgs,
        #[command(flatten)]
        force: Force,
        /// Delete the input files once the archive is synced and in place.
        #[arg(long)]
        delete_originals: bool,
    },
    /// Add .npy files to an archive (created if missing); existing keys are an error and leave
    /// the archive unchanged. The archive is locked while members are added; a killed add
    /// leaves the old archive, which `npz recover` (or the next add) restores.
    Add {
        /// The archive.
        out: PathBuf,
        /// Members as KEY=FILE.npy.
        #[arg(required = true, value_name = "KEY=FILE.npy")]
        members: Vec<String>,
        #[command(flatten)]
        write: WriteArgs,
        /// Wait for another writer's lock on OUT instead of failing.
        #[arg(long)]
        wait: bool,
    },
    /// Write member KEY as a standalone .npy file (CRC-checked; an existing OUT only with -f).
    /// A member that is not an NPY array is refused, unless --raw.
    Extract {
        /// The archive: a path, or a URL (s3://bucket/key, gs://, az://, http(s)://).
        file: PathBuf,
        /// The member's key.
        key: String,
        /// The .npy file to write.
        out: PathBuf,
        #[command(flatten)]
        force: Force,
        #[command(flatten)]
        read: ReadArgs,
        /// Write the member's (decompressed) bytes as they are, whatever they are: for members
        /// that are not NPY arrays (text, JSON); nothing is checked but the CRC-32.
        #[arg(long)]
        raw: bool,
    },
    /// Make deflated members of archives other tools wrote (numpy's savez_compressed)
    /// seekable: one inflate pass records an access point every --span bytes of output, stored
    /// between the members and the central directory (numpy and unzip read the archive as
    /// before) or, with --sidecar, in FILE.idx. `npz rows` then reads frames from the nearest
    /// point. Locked like `npz add`; a killed run leaves the old archive (`npz recover`).
    Index {
        /// The archive.
        file: PathBuf,
        /// Members to index (default: every deflated member that needs it).
        keys: Vec<String>,
        /// Uncompressed bytes between access points (at least 65536); the index takes about
        /// 32 KiB per point.
        #[arg(long, value_name = "BYTES", default_value_t = 2 << 20)]
        span: u64,
        /// Write the index to FILE.idx and leave the archive alone (for read-only archives).
        #[arg(long)]
        sidecar: bool,
        /// With --sidecar: replace an existing FILE.idx.
        #[arg(short, long, requires = "sidecar")]
        force: bool,
        /// Wait for another writer's lock on FILE instead of failing.
        #[arg(long)]
        wait: bool,
        /// Print nothing on success.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Read every member in full and check its CRC-32.
    Test {
        /// The archive: a path, or a URL (s3://bucket/key, gs://, az://, http(s)://).
        file: PathBuf,
        #[command(flatten)]
        read: ReadArgs,
        /// Print nothing on success (the status says it all).
        #[arg(short, long)]
        quiet: bool,
    },
    /// Restore an archive whose `npz add` was interrupted: cut off the bytes the add wrote
    /// after the last complete archive (nothing is changed if the archive is complete).
    Recover {
        /// The archive.
        file: PathBuf,
        /// Wait for another writer's lock instead of failing.
        #[arg(long)]
        wait: bool,
        /// Print nothing on success.
        #[arg(short, long)]
        quiet: bool,
    },
}

#[derive(Args)]
struct ReadArgs {
    /// Largest NPY header accepted in a member, in bytes (raise it for trusted files only).
    #[arg(long, value_name = "BYTES")]
    max_header_size: Option<usize>,
}

impl ReadArgs {
    fn options(&self) -> ReaderOptions {
        let mut options = ReaderOptions::default();
        if let Some(max) = self.max_header_size {
            options = options.max_header_size(max);
        }
        options
    }

    fn open(&self, file: &Path) -> Result<NpzReader, OpenError> {
        self.options().open_location(file)
    }
}

/// `npz zip` to a URL: the archive is zipped into a local file in a private directory of the
/// temporary directory, then uploaded whole (nothing is visible under the key before the
/// upload completes) by the writer of `create_location`, whose errors name the URL; the
/// originals are deleted only after that.
fn zip_to_url(
    url: &str,
    members: &[(String, PathBuf)],
    options: npz_stream::WriterOptions,
    force: bool,
    delete_originals: bool,
) -> CliResult {
    if !force && source::exists(url).map_err(|e| format!("{url}: {e}"))? {
        return Err(cli::exists_error(Path::new(url)).to_string().into());
    }
    // Checked above, with the CLI's message: the writer need not look again.
    let mut npz = options.replace(true).create_location(url)?;
    npz.add_npy_files(members)?;
    npz.finish()?;
    if delete_originals {
        for (_, path) in members {
            std::fs::remove_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Refuses a URL where a command changes an archive in place (object storage has no
/// appends): `add`, `index`, `recover`.
fn local_only(file: &Path, command: &str) -> CliResult {
    match file.to_str() {
        Some(url) if npz_stream::npy_format::source::is_url(url) => Err(format!(
            "{url}: npz {command} changes the archive in place, which must be a local file (URLs are for ls, rows, extract, test, and zip's output)"
        )
        .into()),
        _ => Ok(()),
    }
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
        // Every error is printed by the tool itself: a writer it drops after one says nothing.
        let mut options = WriterOptions::default()
            .warn_unfinished(false)
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
    cli::main("npz", || run(cli.command).map_err(|e| cli_message(&*e)))
}

type CliResult = Result<(), Box<dyn std::error::Error>>;

/// The error's message in the command line's words: flags, not the library's items.
fn cli_message(e: &(dyn std::error::Error + 'static)) -> String {
    let message = e.to_string();
    if let Some(e) = e.downcast_ref::<WriteError>() {
        match e.kind() {
            WriteErrorKind::Locked => return format!("{message}; pass --wait to wait for it"),
            WriteErrorKind::Exists => return cli::exists_error(e.path()).to_string(),
            _ => {}
        }
    }
    cli_words(&message)
}

/// A message of the libraries in the command line's words: the flag, not the Rust option.
fn cli_words(message: &str) -> String {
    message
        .replace(
            "--max-header-size in the command-line tools, ReadOptions::max_header_size in Rust",
            "--max-header-size",
        )
        .replace("ReaderOptions::max_header_size", "--max-header-size")
        .replace("ReadOptions::max_header_size", "--max-header-size")
}

fn lock_mode(wait: bool) -> LockMode {
    if wait {
        LockMode::Wait
    } else {
        LockMode::FailFast
    }
}

fn parse_members(members: &[String]) -> Result<Vec<(String, PathBuf)>, String> {
    members
        .iter()
        .map(|m| match m.split_once('=') {
            Some((key, path)) if !key.is_empty() && !path.is_empty() => {
                Ok((key.to_owned(), PathBuf::from(path)))
            }
            _ => Err(format!("expected KEY=FILE.npy, got {:?}", m)),
        })
        .collect()
}

fn run(command: Command) -> CliResult {
    match command {
        Command::Ls { file, json, read } => {
            // Mapped: the headers of many members are read from memory, not a call each.
            let reader = read.options().map_archive(true).open_location(&file)?;
            let entries = reader.list();
            let mut out = cli::stdout();
            if json {
                let list: Vec<serde_json::Value> =
                    entries.iter().map(npz_stream::entry_json).collect();
                writeln!(out, "{}", serde_json::Value::Array(list))?;
            } else {
                write_table(&mut out, &entries)?;
            }
            out.flush()?;
            unreadable_error(&entries)?;
        }
        Command::Rows {
            file,
            key,
            start,
            end,
            read,
        } => {
            let reader = read.open(&file)?;
            let mut out = cli::stdout();
            rows::write_rows(&reader, &key, start, end, &mut out)?;
            out.flush()?;
        }
        Command::Zip {
            out,
            members,
            write,
            force,
            delete_originals,
        } => {
            let members = parse_members(&members)?;
            let options = write.options().replace(force.force);
            match out.to_str().filter(|o| source::is_url(o)) {
                Some(url) => zip_to_url(url, &members, options, force.force, delete_originals)?,
                None => {
                    force.check(&out)?;
                    npz_stream::zip_npy_files(&out, &members, options, delete_originals)?;
                }
            }
        }
        Command::Add {
            out,
            members,
            write,
            wait,
        } => {
            local_only(&out, "add")?;
            let members = parse_members(&members)?;
            add(&out, &members, write.options().lock(lock_mode(wait)))?;
        }
        Command::Extract {
            file,
            key,
            out,
            force,
            read,
            raw,
        } => extract(&read.open(&file)?, &key, &out, force, raw)?,
        Command::Index {
            file,
            keys,
            span,
            sidecar,
            force,
            wait,
            quiet,
        } => {
            local_only(&file, "index")?;
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let report = npz_stream::IndexOptions::new()
                .span(span)
                .sidecar(sidecar)
                .replace(force)
                .lock(lock_mode(wait))
                .index(&file, &keys)?;
            if !quiet {
                print_index_report(&report)?;
            }
        }
        Command::Test { file, read, quiet } => {
            let reader = read.open(&file)?;
            let keys = reader.keys();
            for key in &keys {
                reader.verify(key)?;
            }
            if quiet {
                return Ok(());
            }
            let mut out = cli::stdout();
            writeln!(out, "{}: {} members OK", file.display(), keys.len())?;
            out.flush()?;
        }
        Command::Recover { file, wait, quiet } => {
            local_only(&file, "recover")?;
            let report = WriterOptions::default()
                .warn_unfinished(false)
                .lock(lock_mode(wait))
                .recover(&file)?;
            if quiet {
                return Ok(());
            }
            let mut out = cli::stdout();
            if report.removed == 0 {
                writeln!(
                    out,
                    "{}: complete, {} members; nothing to do",
                    file.display(),
                    report.members
                )?;
            } else {
                writeln!(
                    out,
                    "{}: removed {} bytes of an interrupted add; {} members",
                    file.display(),
                    report.removed,
                    report.members
                )?;
            }
            out.flush()?;
        }
    }
    Ok(())
}

/// Appends to `out` under its lock; creates it if missing, without ever replacing an archive
/// another `npz add` created meanwhile (then appends to that one).
fn add(out: &Path, members: &[(String, PathBuf)], options: WriterOptions) -> CliResult {
    for _ in 0..16 {
        match options.clone().append(out) {
            Ok(mut npz) => {
                npz.add_npy_files(members)?;
                npz.finish()?;
                return Ok(());
            }
            Err(e)
                if matches!(e.kind(), WriteErrorKind::Open(OpenErrorKind::Io { source })
                    if source.kind() == io::ErrorKind::NotFound) =>
            {
                let mut npz = match options.clone().create_new(out) {
                    Ok(npz) => npz,
                    Err(e) if matches!(e.kind(), WriteErrorKind::Exists) => continue,
                    Err(e) => return Err(e.into()),
                };
                npz.add_npy_files(members)?;
                match npz.finish() {
                    Ok(()) => return Ok(()),
                    Err(e) if matches!(e.kind(), WriteErrorKind::Exists) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(format!(
        "{}: kept appearing and disappearing while adding",
        out.display()
    )
    .into())
}

/// After a listing: the first member whose header could not be read, as the command's error
/// (with how many there were), once every member was listed.
fn unreadable_error(entries: &[MemberEntry]) -> CliResult {
    let mut errors = entries.iter().filter_map(|e| match &e.content {
        Content::Unreadable(err) => Some(err),
        _ => None,
    });
    let Some(first) = errors.next() else {
        return Ok(());
    };
    let more = errors.count();
    if more == 0 {
        return Err(cli_words(&first.to_string()).into());
    }
    Err(format!(
        "{} (and {more} more unreadable members)",
        cli_words(&first.to_string())
    )
    .into())
}

fn extract(reader: &NpzReader, key: &str, out: &Path, force: Force, raw: bool) -> CliResult {
    if !raw {
        let entry = reader.describe(key)?;
        match &entry.content {
            Content::Array(_) => {}
            Content::Unreadable(e) => return Err(cli_words(&e.to_string()).into()),
            Content::Unsupported { reason } => {
                let name = escape_control(&entry.name);
                return Err(format!("{}: member {name}: {reason}", reader.path().display()).into());
            }
            content => {
                let name = escape_control(&entry.name);
                let reason = content.reason().unwrap_or_default();
                return Err(format!(
                    "{}: member {name}: {reason}; refusing to write it as a .npy (pass --raw to write its bytes as they are)",
                    reader.path().display()
                )
                .into());
            }
        }
    }
    force.check(out)?;
    let mut member = reader.open_member(key)?;
    let mut tmp = TempFile::beside(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let tmp_path = tmp.path().to_path_buf();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match member.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(match e.into_inner() {
                    Some(inner) => inner,
                    None => "I/O error reading the member".into(),
                });
            }
        };
        tmp.file_mut()
            .write_all(&buf[..n])
            .map_err(|e| format!("writing {} (as {}): {e}", out.display(), tmp_path.display()))?;
    }
    tmp.persist(out, force.persist()).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            cli::exists_error(out).to_string()
        } else {
            format!("{}: {e}", out.display())
        }
    })?;
    Ok(())
}

fn print_index_report(report: &npz_stream::IndexReport) -> io::Result<()> {
    let mut out = cli::stdout();
    for m in &report.members {
        let key = escape_control(&m.key);
        match m.skipped {
            Some(why) => writeln!(out, "{key}: skipped, {why}")?,
            None => writeln!(
                out,
                "{key}: {} access points, {} bytes of index ({:.2}% of {} compressed)",
                m.points,
                m.index_bytes,
                m.index_bytes as f64 * 100.0 / m.compressed_size.max(1) as f64,
                m.compressed_size
            )?,
        }
    }
    writeln!(out, "written to {}", report.path.display())?;
    out.flush()
}

fn write_table(out: &mut impl Write, entries: &[MemberEntry]) -> io::Result<()> {
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|entry| {
            let Some(info) = entry.content.array() else {
                return other_row(entry);
            };
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
                escape_control(&info.key).into_owned(),
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

/// The row of a member that is not a readable array: what it is in place of its access.
fn other_row(entry: &MemberEntry) -> [String; 6] {
    let what = match &entry.content {
        Content::Directory => "directory".to_owned(),
        Content::NotArray { what } => format!("not an array: {what}"),
        Content::Unsupported { .. } if !entry.method.is_decoded() => {
            format!("not decoded: {}", entry.method)
        }
        Content::Unsupported { reason } => reason.clone(),
        _ => "unreadable (see the error below)".to_owned(),
    };
    [
        escape_control(&entry.key).into_owned(),
        "-".to_owned(),
        "-".to_owned(),
        entry.method.to_string(),
        format!("{} / {}", entry.compressed_size, entry.size),
        what,
    ]
}
