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

/// Makes a `SIGBUS` from reading a mapped input that another program truncated (see
/// [`map`](crate::map)) end the tool with `TOOL: error: MESSAGE` and status 1 instead of a
/// signal. `file` is the mapped input (the caller keeps it open); `message` is printed when
/// the fault comes with `file` shorter than now. A `SIGBUS` while the file has not shrunk is
/// not this guard's: the default action is restored and the fault raised again, so the process
/// dies of it as it would have. One guarded file per process: a later call is ignored.
///
/// The handler only reads atomics and a message prepared beforehand, calls `fstat` and
/// `write`, and ends the process with `_exit`: all async-signal-safe. Nothing else runs on the
/// way out (no destructors): temporaries the tool had open stay behind, for the next run to
/// clean ([`atomic::remove_stale_temps`](crate::atomic::remove_stale_temps)).
///
/// ```no_run
/// let path = std::path::Path::new("big.fpack");
/// let file = std::fs::File::open(path)?;
/// array_files_fs::cli::exit_on_shrink(&file, "tool", &format!("{}: shrank while read", path.display()));
/// let map = array_files_fs::map::MapOptions::new().map(&file)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn exit_on_shrink(file: &std::fs::File, tool: &str, message: &str) {
    #[cfg(unix)]
    shrink_guard::guard(file, format!("{tool}: error: {message}\n"));
    #[cfg(not(unix))]
    let _ = (file, tool, message);
}

/// Whether the file guarded by [`exit_on_shrink`] is shorter now than when guarded: an error
/// met while reading it (`EFAULT` from a `write` whose source was the lost part of a map, a
/// checksum mismatch) is then that, and a tool says so. False when nothing is guarded.
pub fn guarded_input_shrank() -> bool {
    #[cfg(unix)]
    {
        shrink_guard::shrunk()
    }
    #[cfg(not(unix))]
    {
        false
    }
}

#[cfg(unix)]
mod shrink_guard {
    use std::os::fd::AsRawFd;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

    /// A descriptor of the file (a `dup`, open for the life of the process), -1 for none.
    static FD: AtomicI32 = AtomicI32::new(-1);
    /// Its length when guarded.
    static LEN: AtomicU64 = AtomicU64::new(0);
    /// The line to print.
    static MESSAGE: OnceLock<Box<[u8]>> = OnceLock::new();

    /// Whether the guarded file is shorter than when guarded; async-signal-safe.
    pub(super) fn shrunk() -> bool {
        let fd = FD.load(Ordering::Acquire);
        // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat writes only into `st`, which is valid for writes; a bad descriptor is
        // an error return, not undefined behaviour.
        fd >= 0
            && unsafe { libc::fstat(fd, &mut st) } == 0
            && (st.st_size as u64) < LEN.load(Ordering::Acquire)
    }

    extern "C" fn on_sigbus(_signal: libc::c_int) {
        if shrunk() {
            if let Some(message) = MESSAGE.get() {
                // SAFETY: write reads `message.len()` bytes from a live buffer (a `static`).
                unsafe { libc::write(2, message.as_ptr().cast(), message.len()) };
            }
            // SAFETY: _exit ends the process at once, without running anything else.
            unsafe { libc::_exit(1) };
        }
        // SAFETY: restoring the default action of a signal is async-signal-safe.
        unsafe { libc::signal(libc::SIGBUS, libc::SIG_DFL) };
    }

    pub(super) fn guard(file: &std::fs::File, message: String) {
        let Ok(meta) = file.metadata() else { return };
        if MESSAGE
            .set(message.into_bytes().into_boxed_slice())
            .is_err()
        {
            return;
        }
        // A descriptor of its own, never closed: the caller's `file` closes when it drops.
        // SAFETY: dup of a valid descriptor; the result is checked.
        let fd = unsafe { libc::dup(file.as_raw_fd()) };
        if fd < 0 {
            return;
        }
        LEN.store(meta.len(), Ordering::Release);
        FD.store(fd, Ordering::Release);
        // SAFETY: an all-zero sigaction is a valid value; sigemptyset initialises its mask;
        // the handler is an `extern "C" fn(c_int)` as `sa_sigaction` without `SA_SIGINFO`
        // expects, and it does only async-signal-safe things.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_flags = 0;
            libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
        }
    }
}
