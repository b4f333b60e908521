//! The process a writer belongs to. A forked child inherits a copy of every Python object, and
//! with it a writer's buffered frames, its file descriptor and its lock, but not its threads:
//! a child that flushed, finished or cut the file would overwrite what the parent writes (an
//! appender's copied state rewrote the header and cut the parent's later frames), and one that
//! waited for a writer thread would wait forever. So writers refuse any process but their own,
//! and a child's copy is forgotten, never finished, when it is dropped.
//!
//! The check runs on every append, so it is an atomic load, not a `getpid` system call (two
//! of those per append cost a 64-byte append from Python 2.4x its time): `os.fork` counts the
//! forks each process is a child of (`register_at_fork`), and a writer remembers the count it
//! was made under.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// How many forks this process is the child of (its own, its parent's, ...), counted by
/// `os.fork` in the child.
static FORKS: AtomicU64 = AtomicU64::new(0);

/// The after-fork hook of the child.
#[pyfunction]
fn count_fork() {
    FORKS.fetch_add(1, Ordering::Relaxed);
}

/// Has `os.fork` count the forks (`os.register_at_fork(after_in_child=...)`); once, at import.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let hook = wrap_pyfunction!(count_fork, m)?;
    let kwargs = pyo3::types::PyDict::new(m.py());
    kwargs.set_item("after_in_child", hook)?;
    m.py()
        .import("os")?
        .call_method("register_at_fork", (), Some(&kwargs))?;
    Ok(())
}

/// The process that made a writer.
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    /// For the message only.
    pid: u32,
    /// [`FORKS`] when the writer was made: in a child of the process it is higher.
    forks: u64,
}

impl Owner {
    /// The current process.
    pub fn current() -> Owner {
        Owner {
            pid: std::process::id(),
            forks: FORKS.load(Ordering::Relaxed),
        }
    }

    /// Whether this is the current process (false in a forked child).
    pub fn is_current(self) -> bool {
        FORKS.load(Ordering::Relaxed) == self.forks
    }

    /// Refuses a process other than the owner: `what` (say "npy appender") was opened by
    /// another process, of which this one is a fork.
    pub fn check(self, what: &str) -> PyResult<()> {
        if self.is_current() {
            return Ok(());
        }
        Err(self.refusal(what))
    }

    /// The error of a process other than the owner using `what`.
    fn refusal(self, what: &str) -> PyErr {
        PyRuntimeError::new_err(format!(
            "this {what} belongs to process {} and process {} is a fork of it: only the \
             process that opened a file writes to it or closes it",
            self.pid,
            std::process::id()
        ))
    }
}

/// Drops what a writer of `owner` holds in `slot` (its `Drop`, with `&mut` access: no lock to
/// wait for, poisoned or not). In a forked child it is forgotten instead (its memory and file
/// descriptor, which the child's exit frees), so that its `Drop` writes nothing.
pub fn drop_in_owner<T>(owner: Owner, slot: &mut Mutex<Option<T>>) {
    let value = match slot.get_mut() {
        Ok(value) => value.take(),
        Err(poisoned) => poisoned.into_inner().take(),
    };
    if owner.is_current() {
        drop(value);
    } else {
        std::mem::forget(value);
    }
}

/// Locks `mutex` of a writer of `owner`. In a forked child the mutex may have been held by a
/// parent's thread at the fork, and would then stay locked for good: a child only tries it,
/// and a held one is the owner's error, never a wait.
pub fn lock<'a, T>(owner: Owner, mutex: &'a Mutex<T>, what: &str) -> PyResult<MutexGuard<'a, T>> {
    let poisoned = || PyRuntimeError::new_err(format!("the {what} was poisoned by a panic"));
    if owner.is_current() {
        return mutex.lock().map_err(|_| poisoned());
    }
    match mutex.try_lock() {
        Ok(guard) => Ok(guard),
        Err(TryLockError::Poisoned(_)) => Err(poisoned()),
        Err(TryLockError::WouldBlock) => Err(owner.refusal(what)),
    }
}
