//! Write-behind for `array_files.npy.Appender`: frames too large for the appender's buffer
//! are copied out of the numpy array (with the GIL held: the array cannot change under the
//! copy) and handed to a writer thread, which appends them while Python prepares the next
//! frame. The copy and the write overlap instead of adding up.
//!
//! Order is kept: while writes are queued, every append goes through the queue. An error of a
//! queued write is kept and raised by the next call (append, flush, sync, close, shape), as a
//! buffered write's error always was; appends queued after the failed one are dropped, so the
//! file holds exactly the frames before it. `flush`, `sync`, `close` and `shape` wait for the
//! queue first. After a `fork`, the child starts a writer of its own (threads do not survive
//! `fork`); dropping the appender waits for its queued writes.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use npy_append::{AppendError, NpyAppender};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::errors::py_err;

/// Frames queued at most: enough to keep the writer busy, little enough memory (each job is
/// one append's frames).
const QUEUE: usize = 3;

/// The appender, shared by the Python-facing object and the writer thread.
pub type Shared = Arc<Mutex<Option<NpyAppender>>>;

/// One queued append.
struct Job {
    bytes: Vec<u8>,
    frames: u64,
}

/// What the writer reports back.
#[derive(Default)]
struct State {
    /// Jobs submitted and not yet done.
    pending: usize,
    /// The first error of a queued write, not raised yet.
    error: Option<AppendError>,
    /// Buffers of finished jobs, for the next copies (a fresh allocation of a large frame
    /// costs more than the copy: page faults of a new mapping every time).
    pool: Vec<Vec<u8>>,
}

struct Sync {
    state: Mutex<State>,
    done: Condvar,
}

/// The writer thread of one process.
struct Writer {
    pid: u32,
    tx: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
}

/// The write-behind queue of one appender.
pub struct WriteBehind {
    appender: Shared,
    sync: Arc<Sync>,
    writer: Mutex<Option<Writer>>,
}

fn poisoned() -> PyErr {
    PyRuntimeError::new_err("the appender was poisoned by a panic")
}

impl WriteBehind {
    pub fn new(appender: Shared) -> WriteBehind {
        WriteBehind {
            appender,
            sync: Arc::new(Sync {
                state: Mutex::new(State::default()),
                done: Condvar::new(),
            }),
            writer: Mutex::new(None),
        }
    }

    /// The appender (taken only when nothing is queued, or by the writer).
    pub fn appender(&self) -> &Shared {
        &self.appender
    }

    fn state(&self) -> PyResult<MutexGuard<'_, State>> {
        self.sync.state.lock().map_err(|_| poisoned())
    }

    /// Whether appends are queued (then a new append must queue too, to keep the order).
    pub fn busy(&self) -> PyResult<bool> {
        Ok(self.current()?.pending > 0)
    }

    /// The state, reset if this is a child of the process that queued (a fork): the parent's
    /// queue and writer are not this process's.
    fn current(&self) -> PyResult<MutexGuard<'_, State>> {
        let mut writer = self.writer.lock().map_err(|_| poisoned())?;
        if writer.as_ref().is_some_and(|w| w.pid != std::process::id()) {
            // The thread does not exist here: forget it without joining.
            if let Some(mut w) = writer.take() {
                std::mem::forget(w.thread.take());
            }
            let mut state = self.state()?;
            state.pending = 0;
            return Ok(state);
        }
        drop(writer);
        self.state()
    }

    /// A buffer for the next copy.
    pub fn buffer(&self) -> Vec<u8> {
        self.state()
            .ok()
            .and_then(|mut s| s.pool.pop())
            .unwrap_or_default()
    }

    /// Raises the error of a queued write, if one is kept.
    pub fn check(&self) -> PyResult<()> {
        match self.current()?.error.take() {
            Some(e) => Err(py_err(e)),
            None => Ok(()),
        }
    }

    /// Queues `frames` frames of `bytes` (waiting, without the GIL, while the queue is full).
    pub fn submit(&self, py: Python<'_>, bytes: Vec<u8>, frames: u64) -> PyResult<()> {
        let tx = self.sender()?;
        self.current()?.pending += 1;
        let sent = py.detach(|| tx.send(Job { bytes, frames }));
        if sent.is_err() {
            self.state()?.pending -= 1;
            return Err(PyRuntimeError::new_err(
                "the appender's writer thread stopped",
            ));
        }
        Ok(())
    }

    /// Waits (without the GIL) until every queued append is written, then raises the error of
    /// one that failed.
    pub fn drain(&self, py: Python<'_>) -> PyResult<()> {
        drop(self.current()?);
        py.detach(|| {
            let mut state = self.state()?;
            while state.pending > 0 {
                state = self.sync.done.wait(state).map_err(|_| poisoned())?;
            }
            Ok::<_, PyErr>(())
        })?;
        self.check()
    }

    /// The sender to this process's writer, started if there is none.
    fn sender(&self) -> PyResult<SyncSender<Job>> {
        drop(self.current()?);
        let mut writer = self.writer.lock().map_err(|_| poisoned())?;
        if let Some(Writer { tx: Some(tx), .. }) = writer.as_ref() {
            return Ok(tx.clone());
        }
        let (tx, rx) = sync_channel(QUEUE);
        let (appender, sync) = (self.appender.clone(), self.sync.clone());
        let thread = std::thread::Builder::new()
            .name("array_files-appender".into())
            .spawn(move || write_loop(rx, &appender, &sync))
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start the writer thread: {e}")))?;
        *writer = Some(Writer {
            pid: std::process::id(),
            tx: Some(tx.clone()),
            thread: Some(thread),
        });
        Ok(tx)
    }
}

/// The writer thread: appends each job's frames in order; after an error, drops the jobs
/// that follow until the error is raised.
fn write_loop(rx: Receiver<Job>, appender: &Shared, sync: &Sync) {
    for mut job in rx {
        let failed = sync.state.lock().map(|s| s.error.is_some()).unwrap_or(true);
        let result = if failed {
            Ok(())
        } else {
            match appender.lock() {
                Ok(mut guard) => match guard.as_mut() {
                    Some(a) => a.append_frames(&job.bytes, job.frames),
                    None => Ok(()),
                },
                Err(_) => Ok(()),
            }
        };
        // The appender's lock is released before the job counts as done: a caller that saw
        // nothing pending may take it without waiting behind a write.
        if let Ok(mut state) = sync.state.lock() {
            if let Err(e) = result {
                state.error.get_or_insert(e);
            }
            state.pending = state.pending.saturating_sub(1);
            if state.pool.len() < QUEUE + 1 {
                job.bytes.clear();
                state.pool.push(job.bytes);
            }
        }
        sync.done.notify_all();
    }
}

impl Drop for WriteBehind {
    /// Waits for the queued writes (this process's writer only), so that frames appended
    /// before an appender is dropped unclosed still reach the file.
    fn drop(&mut self) {
        let Ok(writer) = self.writer.get_mut() else {
            return;
        };
        if let Some(mut w) = writer.take() {
            drop(w.tx.take());
            match w.thread.take() {
                Some(thread) if w.pid == std::process::id() => {
                    let _ = thread.join();
                }
                other => std::mem::forget(other),
            }
        }
    }
}
