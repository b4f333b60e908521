//! `npy`: inspect `.npy` files, extract frames from them, append to them, recover them.
//!
//! ```text
//! npy info FILE [--json] [--max-header-size N]
//! npy rows FILE START [END] [--max-header-size N]
//! npy append OUT IN... [--wait] [--no-rewrite] [--sync] [--max-header-size N]
//! npy recover FILE [--zero-fill] [--dry-run] [--wait] [--no-rewrite] [--max-header-size N]
//! ```
//!
//! `info` and `rows` take a path or a URL (`s3://bucket/key`, `gs://`, `az://`, `http(s)://`),
//! and so do `append`'s inputs: an object is read by byte ranges, its header in one request.
//!
//! Errors print one line on stderr and exit with status 1; usage errors exit with status 2.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use array_files_fs::cli;
use array_files_fs::pread::read_exact_at;
use clap::{Parser, Subcommand};
use npy_append::{
    AppendError, AppendOptions, BufferSize, FrameLayout, LockMode, NpyAppender, NpyInfo, OpenError,
    OpenErrorKind, RecoverError, RecoverErrorKind, RecoverOptions, frames_per_chunk,
};
use npy_format::source::{self, ByteSource};
use npy_format::{
    FrameRangeError, Header, NpyFile, NpyReader, ReadOptions, header::DEFAULT_MAX_HEADER_SIZE,
};

#[derive(Parser)]
#[command(
    name = "npy",
    version,
    about = "Inspect .npy files, extract frames, append frames, recover crashed appends"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print what a file's header says, and where its data is.
    Info {
        /// The .npy file, or its URL (s3://bucket/key, gs://, az://, http(s)://).
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
        /// The .npy file, or its URL (s3://bucket/key, gs://, az://, http(s)://).
        file: PathBuf,
        /// First frame.
        start: u64,
        /// One past the last frame (default: the frame count).
        end: Option<u64>,
        /// Longest header accepted, in characters.
        #[arg(long, default_value_t = DEFAULT_MAX_HEADER_SIZE)]
        max_header_size: usize,
    },
    /// Append the frames of each input .npy to OUT, in order.
    ///
    /// OUT is created from the first input's dtype, order and frame shape if it does not exist.
    /// Every input is checked against OUT before anything is written: on a mismatch (dtype,
    /// byte order, order, frame shape) OUT is left byte-for-byte unchanged. Inputs are copied
    /// in bounded chunks, and OUT's header is updated once, after all the data is written.
    Append {
        /// The .npy file to append to (or create).
        out: PathBuf,
        /// The .npy files whose frames are appended (paths or URLs).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Wait for another appender's lock on OUT instead of failing.
        #[arg(long)]
        wait: bool,
        /// Fail instead of rewriting an OUT header that has no room to grow (numpy < 1.24).
        #[arg(long)]
        no_rewrite: bool,
        /// Sync OUT to storage (data, then header) before exiting.
        #[arg(long)]
        sync: bool,
        /// Longest header accepted, in characters.
        #[arg(long, default_value_t = DEFAULT_MAX_HEADER_SIZE)]
        max_header_size: usize,
        /// Print nothing on success (no summary line).
        #[arg(short, long)]
        quiet: bool,
    },
    /// Repair a file whose data runs past (or stops short of) its header's shape.
    ///
    /// Complete frames after the header's count are adopted, and a torn last frame is
    /// truncated (or completed with zeros). Prints what it did.
    Recover {
        /// The .npy file.
        file: PathBuf,
        /// Complete a torn last frame with zero bytes instead of truncating it.
        #[arg(long)]
        zero_fill: bool,
        /// Most zero bytes --zero-fill may add (default: 64 MiB, or the file's data size if
        /// larger); a fill beyond it means the header's frame size is wrong.
        #[arg(long, value_name = "BYTES")]
        max_zero_fill: Option<u64>,
        /// Only print what would be done.
        #[arg(long)]
        dry_run: bool,
        /// Wait for an appender's lock instead of failing.
        #[arg(long)]
        wait: bool,
        /// Fail instead of rewriting a header that has no room for the new shape.
        #[arg(long)]
        no_rewrite: bool,
        /// Print nothing on success (no report).
        #[arg(short, long)]
        quiet: bool,
        /// Longest header accepted, in characters.
        #[arg(long, default_value_t = DEFAULT_MAX_HEADER_SIZE)]
        max_header_size: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::main("npy", || run(cli.command).map_err(with_flag_hint))
}

/// Errors that a flag of this tool answers say which.
fn with_flag_hint(e: Box<dyn std::error::Error>) -> Box<dyn std::error::Error> {
    let hint = match e.downcast_ref::<OpenError>().map(OpenError::kind) {
        Some(OpenErrorKind::Locked) => "; pass --wait to wait for it",
        _ => match e.downcast_ref::<RecoverError>().map(RecoverError::kind) {
            Some(RecoverErrorKind::Locked) => "; or pass --wait to wait for it",
            Some(RecoverErrorKind::ZeroFillTooLarge { .. }) => {
                "; pass --max-zero-fill BYTES to allow it, or recover without --zero-fill"
            }
            _ => "",
        },
    };
    if hint.is_empty() {
        e
    } else {
        refused(format!("{e}{hint}"))
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
            let input = Input::open(&file, max_header_size)?;
            let mut out = cli::stdout();
            if json {
                writeln!(out, "{}", npy_append::info_json(input.info()))?;
            } else {
                write_summary(&mut out, input.info())?;
            }
            Ok(())
        }
        Command::Rows {
            file,
            start,
            end,
            max_header_size,
        } => {
            if io::stdout().is_terminal() {
                return Err(
                    "refusing to write binary frames to a terminal; redirect them (npy rows ... > out.bin) or pipe them".into(),
                );
            }
            let input = Input::open(&file, max_header_size)?;
            let header = input.header();
            let count = header.frame_count();
            let end = end.unwrap_or(count);
            FrameRangeError::check(start, end, count)
                .map_err(|e| refused(format!("{}: {e}", input.location())))?;
            if header.dtype.has_object() {
                return Err(refused(format!(
                    "{}: object arrays (descr '|O') hold Python pickles; their frames cannot be read",
                    input.location()
                )));
            }
            let len = ((end - start) * header.frame_len().unwrap_or(0)) as usize;
            let mut out = cli::stdout();
            let mut buffer = Vec::new();
            let mut done = 0;
            while done < len {
                let n = (len - done).min(CHUNK_BYTES as usize);
                let offset = input.frame_offset(start) + done as u64;
                out.write_all(input.read_at(offset, n, &mut buffer)?)?;
                done += n;
            }
            out.flush()?;
            Ok(())
        }
        Command::Append {
            out,
            inputs,
            wait,
            no_rewrite,
            sync,
            max_header_size,
            quiet,
        } => {
            let options = AppendOptions::new()
                .lock(lock_mode(wait))
                .rewrite_header(!no_rewrite)
                .max_header_size(max_header_size);
            let summary = append(&out, &inputs, options, sync, max_header_size)?;
            if !quiet {
                writeln!(cli::stdout(), "{summary}")?;
            }
            Ok(())
        }
        Command::Recover {
            file,
            zero_fill,
            max_zero_fill,
            dry_run,
            wait,
            no_rewrite,
            max_header_size,
            quiet,
        } => {
            let mut options = RecoverOptions::default();
            if let Some(limit) = max_zero_fill {
                options = options.max_zero_fill(limit);
            }
            let options = options
                .zero_fill(zero_fill)
                .dry_run(dry_run)
                .lock(lock_mode(wait))
                .rewrite_header(!no_rewrite)
                .max_header_size(max_header_size);
            let report = npy_append::recover(&file, &options)?;
            if !quiet {
                writeln!(cli::stdout(), "{report}")?;
            }
            Ok(())
        }
    }
}

fn lock_mode(wait: bool) -> LockMode {
    if wait {
        LockMode::Wait
    } else {
        LockMode::FailFast
    }
}

/// An input read whole: a local file (its header and checks from [`NpyFile`], its bytes through
/// positional reads of the file, never through the map, so that a file truncated by another
/// program while it is read is an error ("shrank while it was read") rather than a `SIGBUS`),
/// or an object in storage read by ranges.
enum Input {
    Local { npy: NpyFile, file: std::fs::File },
    Remote(NpyReader<Box<dyn ByteSource>>),
}

impl Input {
    fn open(path: &Path, max_header_size: usize) -> Result<Input, Box<dyn std::error::Error>> {
        if let Some(url) = path.to_str().filter(|p| source::is_url(p)) {
            // No block cache: info reads the header once, rows and append stream each byte once.
            let object = (source::SourceOptions::new().cache_bytes(0))
                .open(url)
                .map_err(|e| refused(format!("{url}: {e}")))?;
            let options = ReadOptions::default().max_header_size(max_header_size);
            return Ok(Input::Remote(NpyReader::open_with(object, options)?));
        }
        let file =
            std::fs::File::open(path).map_err(|e| refused(format!("{}: {e}", path.display())))?;
        let npy = NpyFile::options()
            .max_header_size(max_header_size)
            .open(path)?;
        Ok(Input::Local { npy, file })
    }

    fn info(&self) -> &dyn NpyInfo {
        match self {
            Input::Local { npy, .. } => npy,
            Input::Remote(reader) => reader,
        }
    }

    fn header(&self) -> &Header {
        self.info().header()
    }

    fn location(&self) -> std::borrow::Cow<'_, str> {
        self.info().location()
    }

    /// Where frame `index` starts in the file.
    fn frame_offset(&self, index: u64) -> u64 {
        let frame_len = self.header().frame_len().unwrap_or(0);
        self.info().data_offset() + index * frame_len
    }

    /// `len` bytes at `offset`, read into `buffer` (one request for an object in storage).
    fn read_at<'b>(
        &self,
        offset: u64,
        len: usize,
        buffer: &'b mut Vec<u8>,
    ) -> Result<&'b [u8], Box<dyn std::error::Error>> {
        let file = match self {
            Input::Remote(reader) => {
                *buffer = (reader.source().read_at(offset, len))
                    .map_err(|e| refused(format!("{}: {e}", self.location())))?;
                return Ok(buffer);
            }
            Input::Local { file, .. } => file,
        };
        buffer.resize(len, 0);
        read_exact_at(file, buffer, offset).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                refused(format!(
                    "{}: the file shrank while it was read (truncated by another program?)",
                    self.location()
                ))
            } else {
                refused(format!("{}: {e}", self.location()))
            }
        })?;
        Ok(buffer)
    }
}

/// A one-line error of the command line.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

fn refused(message: String) -> Box<dyn std::error::Error> {
    Box::new(Refused(message))
}

/// What an array holds, in words, for mismatch messages.
fn describe(header: &Header) -> String {
    match FrameLayout::from_header(header) {
        Some(layout) => layout.to_string(),
        None => format!("a 0-d array of {}", header.dtype.descr()),
    }
}

/// Bytes copied per append call: bounded memory whatever the inputs' sizes.
const CHUNK_BYTES: u64 = 8 << 20;

/// `npy append`: validates every input against OUT's layout (or the first input's) before
/// writing anything; on failure after that, undoes what it wrote. Returns the summary line.
fn append(
    out: &Path,
    inputs: &[PathBuf],
    options: AppendOptions,
    sync: bool,
    max_header_size: usize,
) -> Result<String, Box<dyn std::error::Error>> {
    let sources = inputs
        .iter()
        .map(|path| Input::open(path, max_header_size))
        .collect::<Result<Vec<_>, _>>()?;
    let read_options = ReadOptions::default().max_header_size(max_header_size);
    let existing = match std::fs::File::open(out) {
        Ok(file) => Some(
            Header::read_from(&mut io::BufReader::new(file), read_options)
                .map_err(|e| refused(format!("{}: {e}", out.display())))?
                .header,
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(refused(format!("{}: {e}", out.display()))),
    };
    let target = match &existing {
        Some(header) => {
            if header.dtype.has_object() {
                return Err(refused(format!(
                    "{}: object arrays (descr '|O') hold Python pickles and cannot be appended to",
                    out.display()
                )));
            }
            FrameLayout::from_header(header).ok_or_else(|| {
                refused(format!(
                    "{}: a 0-d array (shape ()) has no growth axis to append along",
                    out.display()
                ))
            })?
        }
        None => {
            let first = sources
                .first()
                .ok_or_else(|| refused("no input files".to_owned()))?
                .header();
            FrameLayout::from_header(first)
                .unwrap_or_else(|| FrameLayout::new(first.dtype.clone(), &[]))
        }
    };
    let mut frames = Vec::with_capacity(sources.len());
    for source in &sources {
        let header = source.header();
        if header.dtype.has_object() {
            return Err(refused(format!(
                "{}: object arrays (descr '|O') hold Python pickles, which cannot be appended; nothing was written",
                source.location()
            )));
        }
        let count = target.frames_in(header).ok_or_else(|| {
            refused(format!(
                "{}: holds {}, but {} takes {target}; nothing was written",
                source.location(),
                describe(header),
                out.display()
            ))
        })?;
        frames.push(count);
    }

    let options = options
        .buffer(BufferSize::Bytes(CHUNK_BYTES as usize))
        .update_header_on_spill(false)
        .on_drop_error(ignore_drop_error);
    let (mut appender, created) = match existing {
        Some(_) => (options.open(out)?, false),
        // Another `npy append` may create OUT first: then append to what it made (waiting for
        // its lock with --wait), as if OUT had been there.
        None => match options.create(out, &target) {
            Err(e) if matches!(e.kind(), OpenErrorKind::Exists) => (options.open(out)?, false),
            created => (created?, true),
        },
    };
    if appender.layout() != target {
        return Err(refused(format!(
            "{}: changed while the inputs were checked (it now holds {}); nothing was written",
            out.display(),
            appender.layout()
        )));
    }
    if let Some(rewrite) = appender.header_rewrite() {
        let _ = writeln!(io::stderr(), "npy: note: {}: {rewrite}", out.display());
    }
    let before = appender.frame_count();
    let copied = copy_frames(&mut appender, &sources, &frames, sync);
    if let Err(e) = copied {
        // Cut what was written: the header was never updated, so OUT is as it was.
        let _ = appender.abandon();
        if created {
            let _ = std::fs::remove_file(out);
        }
        return Err(e);
    }
    let header = appender.finish()?;
    Ok(format!(
        "{}: appended {} frames from {} files; shape now {}",
        out.display(),
        header.frame_count() - before,
        sources.len(),
        py_tuple(&header.shape)
    ))
}

fn ignore_drop_error(_: &AppendError) {}

/// A shape as Python prints it: `()`, `(3,)`, `(2, 3)`.
fn py_tuple(shape: &[u64]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => {
            let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
            format!("({})", dims.join(", "))
        }
    }
}

/// Appends each source's bytes as `frames[i]` frames of the appender's layout, in chunks.
fn copy_frames(
    appender: &mut NpyAppender,
    sources: &[Input],
    frames: &[u64],
    sync: bool,
) -> CliResult {
    let frame_len = appender.frame_len();
    let per_chunk = frames_per_chunk(frame_len, CHUNK_BYTES);
    let mut buffer = Vec::new();
    for (source, &count) in sources.iter().zip(frames) {
        let mut done = 0;
        while done < count {
            let n = per_chunk.min(count - done);
            // frames_in checked that the data holds `count` frames of `frame_len` bytes.
            let offset = source.info().data_offset() + done * frame_len;
            let chunk = source.read_at(offset, (n * frame_len) as usize, &mut buffer)?;
            appender.append_frames(chunk, n)?;
            done += n;
        }
    }
    if sync {
        appender.sync()?;
    } else {
        appender.flush()?;
    }
    Ok(())
}

fn write_summary(out: &mut impl Write, npy: &dyn NpyInfo) -> io::Result<()> {
    let header = npy.header();
    let (major, minor) = npy.version().numbers();

    writeln!(out, "file:          {}", npy.location())?;
    writeln!(out, "format:        NPY {major}.{minor}")?;
    writeln!(out, "descr:         {}", header.dtype.descr())?;
    writeln!(out, "itemsize:      {} bytes", header.dtype.itemsize())?;
    writeln!(out, "shape:         {}", py_tuple(&header.shape))?;
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
