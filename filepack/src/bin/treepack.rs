//! The `treepack` command: pack a directory tree into one file, list, read, extract, verify.
//!
//! ```text
//! treepack pack DIR -o OUT.fpack        (or -i DIR -o OUT.fpack)
//! treepack ls PACK [DIR] [-R] [--directories-only] [--json] [-l]
//! treepack cat PACK PATH...
//! treepack extract PACK -o DIR [PATH...]
//! treepack verify PACK
//! treepack info PACK [--json]
//! treepack convert OLD.fpack NEW.fpack [-f] [-v]   (a pack written by FilePacker)
//! ```
//!
//! `pack -o` also writes to object storage (a temporary file, then a multipart upload: nothing
//! is visible under the key before it completes), and `ls`, `cat`, `extract`, `verify` and
//! `info` read a pack there: PACK may be
//! `s3://bucket/key.fpack` (or `gs://`, `az://`, `http(s)://`; credentials and endpoint from
//! the standard environment, `AWS_*` ...). The open costs at most two requests whatever the
//! pack's size, each file read one more.
//!
//! Errors are one line on stderr (`treepack: error: ...`, control characters escaped) and exit
//! status 1; usage errors exit with status 2. A closed standard output (`treepack ls P | head`)
//! ends the command quietly with status 0; a full one is an error.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use array_files_fs::cli::{self, Force};
use array_files_fs::text::escape_control;
use clap::{Args, Parser, Subcommand};
use treepack::{
    ConvertError, ConvertOptions, Entry, ExtractOptions, Kind, LegacyPack, OpenOptions, Pack,
    PackBuilder, PackSummary, Phase, Progress,
};

#[derive(Parser, Debug)]
#[command(
    name = "treepack",
    version,
    about = "Pack a directory tree of millions of files into one file with O(1) open and lookup",
    long_about = None,
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Pack a directory tree into one file.
    Pack(PackArgs),
    /// List the entries of a directory in a pack (paths relative to the pack's root).
    Ls(LsArgs),
    /// Write the contents of files in a pack to stdout, concatenated.
    Cat {
        /// The pack: a path, or a URL of object storage (s3://, gs://, az://, http(s)://).
        pack: PathBuf,
        /// Paths inside the pack.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Extract a pack (or some of its entries) into a directory.
    Extract(ExtractArgs),
    /// Check every checksum and table of a pack.
    Verify {
        /// The pack: a path, or a URL of object storage (s3://, gs://, az://, http(s)://).
        pack: PathBuf,
    },
    /// Show a pack's header and counts.
    Info {
        /// The pack: a path, or a URL of object storage (s3://, gs://, az://, http(s)://).
        pack: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Convert a pack written by FilePacker (the Python tool) into this format: every file,
    /// same bytes, same paths (relative to its base path, which is not kept).
    Convert(ConvertArgs),
}

#[derive(Args, Debug)]
struct ConvertArgs {
    /// The FilePacker pack to read.
    old: PathBuf,
    /// The pack to write.
    new: PathBuf,
    #[command(flatten)]
    force: Force,
    /// Also print the old pack's header (base path, files, bytes) before converting.
    #[arg(short, long, conflicts_with = "quiet")]
    verbose: bool,
    /// fsync the new pack before renaming it into place.
    #[arg(long)]
    sync: bool,
    /// No progress bar and no summary.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct PackArgs {
    /// The directory to pack.
    #[arg(required_unless_present = "input", conflicts_with = "input")]
    dir: Option<PathBuf>,
    /// The directory to pack (as FilePacker's `-i`).
    #[arg(short, long, value_name = "DIR")]
    input: Option<PathBuf>,
    /// The pack to write: a path, or a URL of object storage (s3://, gs://, az://), where it
    /// is written to a temporary file first, then uploaded (visible only once complete).
    #[arg(short, long, value_name = "OUT", visible_alias = "output-file")]
    output: PathBuf,
    /// Pack only files with these extensions (space- or comma-separated, or repeated; no dot
    /// needed).
    #[arg(
        long,
        value_name = "EXT",
        value_delimiter = ',',
        num_args = 1..,
        visible_alias = "permitted-exts",
        conflicts_with = "exclude_ext"
    )]
    include_ext: Vec<String>,
    /// Skip files with these extensions (as --include-ext; not both).
    #[arg(
        long,
        value_name = "EXT",
        value_delimiter = ',',
        num_args = 1..,
        visible_alias = "excluded-exts"
    )]
    exclude_ext: Vec<String>,
    /// Pack only files matching a glob (a name pattern like '*.png', or a path pattern with a
    /// '/' like 'train/**/*.png'). Repeatable.
    #[arg(long, value_name = "GLOB")]
    include: Vec<String>,
    /// Skip files and directories matching a glob. Repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Pack hidden files and directories (names starting with '.'), which are skipped by
    /// default, as FilePacker does.
    #[arg(long, conflicts_with = "skip_hidden")]
    include_hidden: bool,
    /// Skip hidden files and directories (the default; kept for scripts that say so).
    #[arg(long)]
    skip_hidden: bool,
    /// Pack what symlinks point to instead of the links.
    #[arg(long, conflicts_with = "ignore_links")]
    follow_links: bool,
    /// Store symlinks as links, never following them (the default; FilePacker's flag).
    #[arg(long)]
    ignore_links: bool,
    /// Show the progress bar and the summary (the default; FilePacker's flag).
    #[arg(short, long, conflicts_with = "quiet")]
    verbose: bool,
    /// Alignment of file contents: a power of two from 1 to 4096.
    #[arg(long, value_name = "N", default_value_t = 64)]
    align: u64,
    /// Reader threads (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    threads: usize,
    #[command(flatten)]
    force: Force,
    /// fsync the pack before renaming it into place.
    #[arg(long)]
    sync: bool,
    /// No progress bar and no summary.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct LsArgs {
    /// The pack: a path, or a URL of object storage (s3://, gs://, az://, http(s)://).
    pack: PathBuf,
    /// The directory to list (default: the root).
    #[arg(default_value = "")]
    dir: String,
    /// List the whole subtree.
    #[arg(short = 'R', long)]
    recursive: bool,
    /// Only directories.
    #[arg(long)]
    directories_only: bool,
    /// One JSON array of {"path", "kind", "size"}.
    #[arg(long)]
    json: bool,
    /// Long format: type, size, path.
    #[arg(short, long)]
    long: bool,
}

#[derive(Args, Debug)]
struct ExtractArgs {
    /// The pack: a path, or a URL of object storage (s3://, gs://, az://, http(s)://).
    pack: PathBuf,
    /// The directory to extract into (created if missing).
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
    /// Entries to extract (with their subtrees); everything if none.
    paths: Vec<String>,
    /// Replace existing files (never following symlinks; directories are merged).
    #[command(flatten)]
    force: Force,
    /// The old name of -f/--force.
    #[arg(long, hide = true)]
    overwrite: bool,
    /// Skip symlinks whose target could lead outside DIR instead of failing.
    #[arg(long)]
    skip_unsafe_links: bool,
    /// No summary.
    #[arg(short, long)]
    quiet: bool,
}

/// A command's failure: the line `cli::main` prints after `treepack: error: `.
type Failure = String;

type CliResult<T> = Result<T, Failure>;

fn fail(message: impl std::fmt::Display) -> Failure {
    message.to_string()
}

/// The error of a read of the pack at `pack` (it names the pack), unless the pack shrank.
fn in_pack(pack: &Path) -> impl Fn(treepack::Error) -> Failure + '_ {
    move |e| shrank(pack).unwrap_or_else(|| fail(e))
}

/// If the pack at `pack` (opened by [`open`]) has shrunk since, the error that says so: any
/// other error met while reading it is a consequence.
fn shrank(pack: &Path) -> Option<Failure> {
    cli::guarded_input_shrank().then(|| {
        fail(format!(
            "{}: the pack shrank while it was read (truncated or rewritten by another process)",
            pack.display()
        ))
    })
}

/// A write to standard output failed: `cli::stdout` has named it (and a closed pipe makes
/// `cli::main` exit quietly).
fn out_err(e: io::Error) -> Failure {
    e.to_string()
}

fn main() -> ExitCode {
    let command = Cli::parse().command;
    cli::main("treepack", || match command {
        Command::Pack(args) => pack(args),
        Command::Ls(args) => ls(args),
        Command::Cat { pack, paths } => cat(&pack, &paths),
        Command::Extract(args) => extract(args),
        Command::Verify { pack } => verify(&pack),
        Command::Info { pack, json } => info(&pack, json),
        Command::Convert(args) => convert(args),
    })
}

/// Opens and maps the pack at `path`, with a `SIGBUS` guard: should the file shrink while it
/// is mapped, reading past its new end exits with an error naming the pack instead of dying of
/// the signal.
fn open(path: &Path) -> CliResult<Pack> {
    if let Some(url) = path.to_str().filter(|p| npy_format::source::is_url(p)) {
        // An object in storage: its header and tables in at most two requests, contents by
        // ranges; nothing is mapped, so there is no shrink to guard against.
        return OpenOptions::new().open_location(url).map_err(fail);
    }
    let file = std::fs::File::open(path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    if let Ok(meta) = file.metadata() {
        let message = format!(
            "{}: the pack shrank from {} bytes while it was read (truncated or rewritten by another process)",
            path.display(),
            meta.len()
        );
        cli::exit_on_shrink(&file, "treepack", &message);
    }
    OpenOptions::new().open_file(&file, path).map_err(fail)
}

/// Opens and checks the FilePacker pack at `path`, with the `SIGBUS` guard of [`open`].
fn open_legacy(path: &Path) -> CliResult<LegacyPack> {
    let file = array_files_fs::regular::open_regular(path, false)
        .map_err(|e| fail(format!("{}: {e}", path.display())))?;
    if let Ok(meta) = file.metadata() {
        let message = format!(
            "{}: the FilePacker pack shrank from {} bytes while it was read (truncated or rewritten by another process)",
            path.display(),
            meta.len()
        );
        cli::exit_on_shrink(&file, "treepack", &message);
    }
    LegacyPack::open_file(&file, path).map_err(|e| match e.kind() {
        treepack::LegacyErrorKind::AlreadyConverted => fail(format!(
            "{}: is a treepack pack already, not a FilePacker pack: nothing to convert (treepack ls, cat, extract and verify read it as it is)",
            path.display()
        )),
        _ => fail(e),
    })
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

fn rate(count: f64, elapsed: Duration) -> f64 {
    count / elapsed.as_secs_f64().max(1e-9)
}

fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} scanning: {pos} entries found")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

fn on_progress(bar: &indicatif::ProgressBar, p: &Progress) {
    match p.phase {
        Phase::Scanning => bar.set_position(p.entries_done),
        Phase::Packing => {
            let (done, total) = packing_measure(p);
            if bar.length() != Some(total) {
                if bar.length().is_none() {
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{bar:40} {msg} [{elapsed_precise}, eta {eta}]",
                        )
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                    );
                }
                bar.set_length(total);
            }
            bar.set_position(done);
            bar.set_message(format!(
                "{} of {}, {}/{} entries",
                human_bytes(p.bytes_done),
                human_bytes(p.bytes_total),
                p.entries_done,
                p.entries_total
            ));
        }
        Phase::Indexing => bar.set_message("writing the index"),
        _ => bar.finish_and_clear(),
    }
}

/// The bar's position and length while packing: bytes, so that the time left is estimated by
/// the bytes still to copy (one huge file among many tiny ones would make an estimate by
/// entries wildly wrong); entries only when the byte total is unknown. A file that grew since
/// the scan stretches the length rather than overflowing it.
fn packing_measure(p: &Progress) -> (u64, u64) {
    if p.bytes_total > 0 {
        (p.bytes_done, p.bytes_total.max(p.bytes_done))
    } else {
        (p.entries_done, p.entries_total.max(p.entries_done))
    }
}

/// `pack -o URL`: the pack is written to a local file in a private directory of the
/// temporary directory (npy-format's `upload_written`), then uploaded whole. Errors about that
/// file, the directory and the upload name the URL the user gave; errors about a source file
/// or an entry name it.
fn pack_to_url(builder: &PackBuilder, src: &Path, url: &str) -> CliResult<PackSummary> {
    /// A message already made, or an I/O error of the spool or the upload.
    enum Failed {
        Message(Failure),
        Io(io::Error),
    }
    impl From<io::Error> for Failed {
        fn from(e: io::Error) -> Self {
            Failed::Io(e)
        }
    }
    let packed = npy_format::source::upload_written(url, |local| {
        let spool = local.parent().unwrap_or(local);
        builder.pack_dir(src, local).map_err(|e| {
            Failed::Message(match e {
                treepack::BuildError::Io { path, source } if path.starts_with(spool) => {
                    format!("{url}: {source}")
                }
                e => fail(e),
            })
        })
    });
    packed.map_err(|e| match e {
        Failed::Message(message) => message,
        Failed::Io(e) => format!("{url}: {e}"),
    })
}

fn pack(args: PackArgs) -> CliResult<()> {
    let Some(src) = args.dir.or(args.input) else {
        return Err(fail("no directory to pack (give DIR or -i DIR)"));
    };
    let out = args.output;
    // A URL: the pack is written to a temporary file, then uploaded whole (nothing is visible
    // under the key until the upload completes).
    let url = out.to_str().filter(|p| npy_format::source::is_url(p));
    match url {
        Some(url) if !args.force.force => {
            if npy_format::source::exists(url).map_err(|e| fail(format!("{url}: {e}")))? {
                return Err(fail(cli::exists_error(&out)));
            }
        }
        Some(_) => {}
        None => args.force.check(&out).map_err(fail)?,
    }
    let mut builder = PackBuilder::new()
        .replace(args.force.force)
        .alignment(args.align)
        .map_err(fail)?
        .skip_hidden(!args.include_hidden)
        .follow_links(args.follow_links)
        .include_ext(&args.include_ext)
        .exclude_ext(&args.exclude_ext)
        .threads(args.threads)
        .sync(args.sync);
    for g in &args.include {
        builder = builder.include_glob(g).map_err(fail)?;
    }
    for g in &args.exclude {
        builder = builder.exclude_glob(g).map_err(fail)?;
    }
    let bar = (!args.quiet && io::stderr().is_terminal()).then(progress_bar);
    if let Some(bar) = &bar {
        let bar = bar.clone();
        builder = builder.progress(move |p| on_progress(&bar, p));
    }
    let start = Instant::now();
    let result = match url {
        Some(url) => pack_to_url(&builder, &src, url),
        None => builder.pack_dir(&src, &out).map_err(|e| match e {
            // Created by another process while this one packed: left as it is.
            treepack::BuildError::Io { path, source }
                if path == out && source.kind() == io::ErrorKind::AlreadyExists =>
            {
                fail(cli::exists_error(&out))
            }
            e => fail(e),
        }),
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let s: PackSummary = result?;
    let elapsed = start.elapsed();
    if !args.quiet {
        let mut stdout = cli::stdout();
        writeln!(
            stdout,
            "packed {} entries ({} files, {} directories, {} symlinks{}), {} of data, into {} ({}) in {:.2} s: {:.0} files/s, {}/s",
            s.entries,
            s.files,
            s.dirs,
            s.symlinks,
            if s.skipped_special > 0 {
                format!(", {} special files skipped", s.skipped_special)
            } else {
                String::new()
            },
            human_bytes(s.bytes),
            out.display(),
            human_bytes(s.pack_len),
            elapsed.as_secs_f64(),
            rate(s.files as f64, elapsed),
            human_bytes(rate(s.bytes as f64, elapsed) as u64),
        )
        .map_err(out_err)?;
        stdout.flush().map_err(out_err)?;
    }
    Ok(())
}

fn convert(args: ConvertArgs) -> CliResult<()> {
    let new = args.new;
    args.force.check(&new).map_err(fail)?;
    let start = Instant::now();
    let legacy = open_legacy(&args.old)?;
    let old_bytes: u64 = legacy.entries().map(|e| e.size()).sum();
    if args.verbose {
        let mut stdout = cli::stdout();
        writeln!(
            stdout,
            "{}: FilePacker pack, {} files, {} of data, base path '{}'",
            args.old.display(),
            legacy.len(),
            human_bytes(old_bytes),
            escape_control(legacy.base_path())
        )
        .map_err(out_err)?;
        stdout.flush().map_err(out_err)?;
    }
    let mut options = ConvertOptions::new()
        .replace(args.force.force)
        .sync(args.sync);
    let bar = (!args.quiet && io::stderr().is_terminal()).then(progress_bar);
    if let Some(bar) = &bar {
        let bar = bar.clone();
        options = options.progress(move |p| on_progress(&bar, p));
    }
    let result = options.convert_pack(&legacy, &new);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let s = result.map_err(|e| match e {
        // A write whose source is the part of the map the old pack lost fails with EFAULT.
        _ if shrank(&args.old).is_some() => shrank(&args.old).unwrap_or_default(),
        ConvertError::Exists { path } => fail(cli::exists_error(&path)),
        e => fail(e),
    })?;
    let elapsed = start.elapsed();
    if !args.quiet {
        let mut stdout = cli::stdout();
        writeln!(
            stdout,
            "converted {} files ({} directories), {} of data, from {} into {} ({}) in {:.2} s{}",
            s.files,
            s.dirs,
            human_bytes(s.bytes),
            args.old.display(),
            new.display(),
            human_bytes(s.pack_len),
            elapsed.as_secs_f64(),
            if legacy.base_path().is_empty() {
                String::new()
            } else {
                format!(
                    "; paths are relative to the old base path '{}', which is not kept",
                    escape_control(legacy.base_path())
                )
            }
        )
        .map_err(out_err)?;
        stdout.flush().map_err(out_err)?;
    }
    Ok(())
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

fn ls(args: LsArgs) -> CliResult<()> {
    let pack = open(&args.pack)?;
    let err = in_pack(&args.pack);
    let start = pack.resolved_entry(&args.dir).map_err(&err)?;
    let mut out = cli::stdout();
    let mut first = true;
    if args.json {
        out.write_all(b"[").map_err(out_err)?;
    }
    let mut print = |e: &Entry<'_>, out: &mut cli::Stdout| -> CliResult<()> {
        if args.directories_only && !e.is_dir() {
            return Ok(());
        }
        if args.json {
            write!(
                out,
                "{}\n{{\"path\": {}, \"kind\": \"{}\", \"size\": {}}}",
                if first { "" } else { "," },
                json_string(e.path()),
                e.kind().as_str(),
                e.len()
            )
            .map_err(out_err)?;
            first = false;
            return Ok(());
        }
        if args.long {
            write!(out, "{:<7} {:>12} ", e.kind().as_str(), e.len()).map_err(out_err)?;
        }
        // Names come from the pack: control characters are escaped, not sent to the terminal.
        let path = escape_control(e.path());
        match e.kind() {
            Kind::Dir => writeln!(out, "{path}/"),
            Kind::File => writeln!(out, "{path}"),
            Kind::Symlink => writeln!(
                out,
                "{path} -> {}",
                escape_control(e.link_target().unwrap_or_default())
            ),
        }
        .map_err(out_err)
    };
    if !start.is_dir() {
        print(&start, &mut out)?;
    } else if args.recursive {
        for e in pack.walk(start.path()).map_err(&err)?.skip(1) {
            print(&e.map_err(&err)?, &mut out)?;
        }
    } else {
        for e in start.children().map_err(&err)? {
            print(&e.map_err(&err)?, &mut out)?;
        }
    }
    if args.json {
        out.write_all(if first { b"]\n" } else { b"\n]\n" })
            .map_err(out_err)?;
    }
    out.flush().map_err(out_err)?;
    Ok(())
}

/// Writes each file in turn; a path that cannot be read is skipped, and the paths that could
/// not are reported together at the end (one line, status 1).
fn cat(pack_path: &Path, paths: &[String]) -> CliResult<()> {
    let pack = open(pack_path)?;
    let mut out = cli::stdout();
    let mut failed = Vec::new();
    for p in paths {
        match pack.read(p) {
            Ok(bytes) => out.write_all(&bytes).map_err(out_err)?,
            // The pack's path once, at the front of the line: each error's kind after it.
            Err(e) => failed.push(e.kind().to_string()),
        }
    }
    out.flush().map_err(out_err)?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(fail(format!(
            "{}: {}",
            pack_path.display(),
            failed.join("; ")
        )))
    }
}

fn extract(args: ExtractArgs) -> CliResult<()> {
    let pack = open(&args.pack)?;
    let options = ExtractOptions::new()
        .paths(args.paths.iter().cloned())
        .overwrite(args.force.force || args.overwrite)
        .skip_unsafe_links(args.skip_unsafe_links);
    let start = Instant::now();
    let s = pack
        .extract_with(&args.output, &options)
        .map_err(|e| match e {
            // A write whose source is the part of the map the pack lost fails with EFAULT.
            _ if shrank(&args.pack).is_some() => shrank(&args.pack).unwrap_or_default(),
            treepack::ExtractError::Pack(e) => fail(e),
            treepack::ExtractError::Exists { path } => fail(cli::exists_error(&path)),
            e @ treepack::ExtractError::UnsafeLink { .. } => fail(format!(
                "{e} (pass --skip-unsafe-links to extract the rest without such links)"
            )),
            e => fail(e),
        })?;
    if !args.quiet {
        let mut out = cli::stdout();
        writeln!(
            out,
            "extracted {} files, {} directories, {} symlinks ({}) into {} in {:.2} s{}",
            s.files,
            s.dirs,
            s.symlinks,
            human_bytes(s.bytes),
            args.output.display(),
            start.elapsed().as_secs_f64(),
            if s.skipped_links > 0 {
                format!("; skipped {} unsafe symlinks", s.skipped_links)
            } else {
                String::new()
            }
        )
        .map_err(out_err)?;
        out.flush().map_err(out_err)?;
    }
    Ok(())
}

fn verify(path: &Path) -> CliResult<()> {
    let start = Instant::now();
    let pack = open(path)?;
    let s = pack.verify().map_err(in_pack(path))?;
    let mut out = cli::stdout();
    writeln!(
        out,
        "{}: ok: {} entries ({} files, {} directories, {} symlinks), {} checked in {:.2} s",
        path.display(),
        s.entries,
        s.files,
        s.dirs,
        s.symlinks,
        human_bytes(s.bytes),
        start.elapsed().as_secs_f64()
    )
    .map_err(out_err)?;
    out.flush().map_err(out_err)
}

fn info(path: &Path, json: bool) -> CliResult<()> {
    let pack = open(path)?;
    let h = *pack.header();
    let (mut files, mut dirs, mut links, mut bytes) = (0u64, 0u64, 0u64, 0u64);
    for e in pack.entries() {
        let e = e.map_err(in_pack(path))?;
        match e.kind() {
            Kind::File => {
                files += 1;
                bytes += e.len();
            }
            Kind::Dir => dirs += 1,
            Kind::Symlink => links += 1,
        }
    }
    let fields: Vec<(&str, serde_json::Value)> = vec![
        ("path", path.display().to_string().into()),
        ("version", serde_json::json!([h.version.0, h.version.1])),
        ("file_len", h.file_len.into()),
        ("alignment", h.alignment.into()),
        ("entries", h.entry_count.into()),
        ("files", files.into()),
        ("dirs", dirs.into()),
        ("symlinks", links.into()),
        ("content_bytes", bytes.into()),
        ("data_offset", h.data_offset.into()),
        ("data_len", h.data_len.into()),
        ("entries_offset", h.entries_offset.into()),
        ("strings_offset", h.strings_offset.into()),
        ("strings_len", h.strings_len.into()),
        ("dirs_offset", h.dirs_offset.into()),
        ("dirs_len", h.dirs_len.into()),
        ("index_offset", h.index_offset.into()),
        ("index_slots", h.index_slots().into()),
        ("index_max_probe", h.index_max_probe.into()),
        ("index_seed", format!("{:016x}", h.index_seed).into()),
        (
            "tables_checksum",
            format!("{:016x}", h.tables_checksum).into(),
        ),
    ];
    let mut out = cli::stdout();
    if json {
        let map: serde_json::Map<String, serde_json::Value> =
            fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        writeln!(out, "{}", serde_json::Value::Object(map)).map_err(out_err)?;
    } else {
        for (k, v) in fields {
            let v = match v {
                serde_json::Value::String(s) => s,
                // The version reads `1.1` in text, `[1, 1]` in JSON as in every tool's JSON.
                serde_json::Value::Array(parts) if k == "version" => parts
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("."),
                other => other.to_string(),
            };
            writeln!(out, "{k:<16} {v}").map_err(out_err)?;
        }
    }
    out.flush().map_err(out_err)
}
