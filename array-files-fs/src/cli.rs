//! What every command-line tool of the workspace shares: its `main`, its standard output, and
//! the `-f/--force` flag.
//!
//! * [`main`] runs the tool and prints an error as one line, `TOOL: error: MESSAGE`, with
//!   status 1 (clap's usage errors keep status 2).
//! * [`stdout`] is the tool's standard output: when the reader goes away (`npz rows ... |
//!   head`), the tool exits quietly with status 0; when the output cannot be written
//!   (`> /dev/full`), the error says so and the status is 1. Never a panic, which is what
//!   `println!` does in both cases.
//! * [`Force`] is the `-f/--force` flag of every command that writes an output file, and
//!   [`exists_error`] the one message for an output that exists without it.
//!
//! ```no_run
//! use std::io::Write;
//! use std::process::ExitCode;
//! use array_files_fs::cli;
//!
//! fn main() -> ExitCode {
//!     cli::main("tool", || -> Result<(), std::io::Error> {
//!         let mut out = cli::stdout();
//!         for i in 0..1_000_000 {
//!             writeln!(out, "{i}")?;
//!         }
//!         Ok(())
//!     })
//! }
//! ```

use std::fmt::Display;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::atomic::Persist;
use crate::text::escape_control;

/// Set when a write to stdout found the pipe closed: the tool then exits 0, quietly.
static PIPE_CLOSED: AtomicBool = AtomicBool::new(false);
/// A write error found when a [`Stdout`] was dropped (its last flush), for [`main`] to report.
static DROPPED_ERROR: Mutex<Option<io::Error>> = Mutex::new(None);

/// Runs a tool: `run`'s error is printed on stderr as `TOOL: error: MESSAGE` (one line,
/// control characters escaped) and the status is 1. A closed stdout (see [`stdout`]) exits
/// with status 0, whatever `run` returned after it; a failed final flush of a dropped
/// [`Stdout`] is an error.
///
/// ```
/// let code = array_files_fs::cli::main("tool", || Err::<(), _>("no such key"));
/// assert_eq!(code, std::process::ExitCode::FAILURE);
/// ```
pub fn main<E: Display>(tool: &str, run: impl FnOnce() -> Result<(), E>) -> ExitCode {
    let result = run().map_err(|e| e.to_string());
    if PIPE_CLOSED.load(Ordering::Relaxed) {
        return ExitCode::SUCCESS;
    }
    let dropped = DROPPED_ERROR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    let result = result.and_then(|()| dropped.map_or(Ok(()), |e| Err(e.to_string())));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let line = message.replace('\n', " ");
            // stderr may be closed too: nothing more to say then, but no panic.
            let _ = writeln!(io::stderr(), "{tool}: error: {}", escape_control(&line));
            ExitCode::FAILURE
        }
    }
}

/// The tool's standard output, buffered. See the [module docs](self).
///
/// ```no_run
/// use std::io::Write;
/// let mut out = array_files_fs::cli::stdout();
/// out.write_all(b"rows")?;
/// out.flush()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn stdout() -> Stdout {
    Stdout {
        inner: BufWriter::with_capacity(64 * 1024, io::stdout().lock()),
    }
}

/// The writer [`stdout`] returns. Its errors name standard output; a closed pipe is an error
/// of kind [`io::ErrorKind::BrokenPipe`] that [`main`] turns into a quiet exit. Dropping it
/// flushes, and a failure there reaches [`main`].
pub struct Stdout {
    inner: BufWriter<io::StdoutLock<'static>>,
}

impl Stdout {
    fn fail(e: io::Error) -> io::Error {
        if e.kind() == io::ErrorKind::BrokenPipe {
            PIPE_CLOSED.store(true, Ordering::Relaxed);
            return e;
        }
        io::Error::new(e.kind(), format!("writing to standard output: {e}"))
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(Stdout::fail)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf).map_err(Stdout::fail)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(Stdout::fail)
    }
}

impl Drop for Stdout {
    fn drop(&mut self) {
        if let Err(e) = self.flush()
            && !PIPE_CLOSED.load(Ordering::Relaxed)
        {
            let mut slot = DROPPED_ERROR
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            slot.get_or_insert(e);
        }
    }
}

/// The `-f/--force` flag of a command that writes an output file; flatten it into the
/// command's arguments (`#[command(flatten)] force: Force`).
///
/// ```
/// use clap::Parser;
/// use array_files_fs::cli::Force;
///
/// #[derive(Parser)]
/// struct Zip {
///     out: std::path::PathBuf,
///     #[command(flatten)]
///     force: Force,
/// }
/// let zip = Zip::parse_from(["zip", "out.npz", "-f"]);
/// assert!(zip.force.force);
/// assert_eq!(zip.force.persist(), array_files_fs::atomic::Persist::Replace);
/// ```
#[derive(clap::Args, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Force {
    /// Replace the output if it exists (its mode is kept); without it, an existing output is
    /// an error and is left as it is.
    #[arg(short = 'f', long)]
    pub force: bool,
}

impl Force {
    /// How to put the finished output in place: replace, or refuse an existing file.
    pub fn persist(self) -> Persist {
        if self.force {
            Persist::Replace
        } else {
            Persist::NoClobber
        }
    }

    /// Fails early, with [`exists_error`], when `path` exists and the flag is off; the
    /// placement checks again (a file can appear while the output is written).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("out.npz");
    /// use array_files_fs::cli::Force;
    /// std::fs::write(&path, b"")?;
    /// assert!(Force { force: false }.check(&path).is_err());
    /// assert!(Force { force: true }.check(&path).is_ok());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn check(self, path: &Path) -> io::Result<()> {
        if !self.force && std::fs::symlink_metadata(path).is_ok() {
            return Err(exists_error(path));
        }
        Ok(())
    }
}

/// The one message, everywhere, for an output that exists: `PATH exists; pass -f/--force to
/// replace it`.
///
/// ```
/// let e = array_files_fs::cli::exists_error(std::path::Path::new("out.npz"));
/// assert_eq!(e.to_string(), "out.npz exists; pass -f/--force to replace it");
/// assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
/// ```
pub fn exists_error(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "{} exists; pass -f/--force to replace it",
            escape_control(&path.display().to_string())
        ),
    )
}
