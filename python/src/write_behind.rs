//! Double-buffered write-behind for `array_files.npy.Appender`.
//!
//! Appends are copied out of the numpy array into a fill buffer (with the GIL held: the array
//! cannot change under the copy, and the copy is all an append costs). A full buffer (or an
//! append at least as large as the buffer) is queued for a writer thread, which writes it
//! through the appender (unbuffered: one positioned write, then the header) while Python fills
//! the next buffer. The copy and the write overlap instead of adding up.
//!
//! Order: buffers are queued with the GIL held, so in the order of the appends, and written
//! one at a time in queue order. Errors: a failed write is kept and raised by the next call
//! (`append`, `flush`, `sync`, `close`); buffers queued after it are dropped, so the file holds
//! exactly the frames before it (the frame count the appender reports drops with them).
//! `flush`, `sync` and `close` queue the partial buffer and wait for the queue. After a `fork`
//! the child starts a writer of its own and forgets the parent's queue. Dropping the appender
//! writes what is buffered and queued.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use npy_append::{AppendError, NpyAppender};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::errors::py_err;

/// Buffers queued at most before an append waits (without the GIL) for the writer.
const QUEUE: usize = 2;

/// The appender, shared by the Python-facing object and the writer thread.
pub type Shared = Arc<Mutex<Option<NpyAppender>>>;

/// One queued buffer: whole frames.
struct Job {
    bytes: Vec<u8>,
    frames: u64,
}

/// Shared between appends and the writer, behind one mutex.
struct State {
    /// The buffer appends copy into.
    fill: Vec<u8>,
    fill_frames: u64,
    queue: VecDeque<Job>,
    /// The writer is writing a job taken off the queue.
    busy: bool,
    /// The first error of a queued write, not raised yet.
    error: Option<AppendError>,
    /// Buffers written, for the next fills (a fresh allocation of a large buffer costs more
    /// than the copy into it: page faults of a new mapping every time).
    pool: Vec<Vec<u8>>,
    /// The frames in the file, queued or buffered: what `shape` counts.
    frames: u64,
    /// Dropping: the writer ends when the queue is empty.
    stop: bool,
}

struct Sync {
    state: Mutex<State>,
    /// Signalled when a job is queued (or `stop` set).
    work: Condvar,
    /// Signalled when a job is done.
    done: Condvar,
}

/// The writer thread of the process that started it.
struct Writer {
    pid: u32,
    thread: Option<JoinHandle<()>>,
}

/// The write-behind buffers of one appender.
pub struct WriteBehind {
    appender: Shared,
    capacity: usize,
    /// Full buffers are written by a writer thread (else by the appending thread, without the
    /// GIL, before `append` returns).
    threaded: bool,
    sync: Arc<Sync>,
    writer: Mutex<Option<Writer>>,
}

fn poisoned() -> PyErr {
    PyRuntimeError::new_err("the appender was poisoned by a panic")
}

impl WriteBehind {
    /// Buffers of `capacity` bytes in front of `appender` (which should be unbuffered), whose
    /// file holds `frames` frames.
    pub fn new(appender: Shared, capacity: usize, frames: u64, threaded: bool) -> WriteBehind {
        WriteBehind {
            appender,
            capacity,
            threaded,
            sync: Arc::new(Sync {
                state: Mutex::new(State {
                    fill: Vec::new(),
                    fill_frames: 0,
                    queue: VecDeque::new(),
                    busy: false,
                    error: None,
                    pool: Vec::new(),
                    frames,
                    stop: false,
                }),
                work: Condvar::new(),
                done: Condvar::new(),
            }),
            writer: Mutex::new(None),
        }
    }

    /// The appender (free of the writer once [`drain`](Self::drain) returned).
    pub fn appender(&self) -> &Shared {
        &self.appender
    }

    fn state(&self) -> PyResult<MutexGuard<'_, State>> {
        self.sync.state.lock().map_err(|_| poisoned())
    }

    /// Frames in the file, buffered and queued ones included.
    pub fn frames(&self) -> PyResult<u64> {
        Ok(self.state()?.frames)
    }

    /// Appends `frames` frames of `len` bytes, which `copy` appends to the buffer it is given.
    /// Runs with the GIL held, except while waiting for a full queue.
    pub fn append(
        &self,
        py: Python<'_>,
        frames: u64,
        len: usize,
        copy: impl FnOnce(&mut Vec<u8>),
    ) -> PyResult<()> {
        let mut state = self.state()?;
        if let Some(e) = state.error.take() {
            return Err(py_err(e));
        }
        state.frames += frames;
        if len < self.capacity && state.fill.len() + len <= self.capacity {
            copy(&mut state.fill);
            state.fill_frames += frames;
            return Ok(());
        }
        queue_fill(&mut state);
        let mut buffer = state.pool.pop().unwrap_or_default();
        copy(&mut buffer);
        if len < self.capacity {
            state.fill = buffer;
            state.fill_frames = frames;
        } else {
            state.queue.push_back(Job {
                bytes: buffer,
                frames,
            });
        }
        let full = state.queue.len() > QUEUE;
        drop(state);
        if !self.threaded {
            py.detach(|| write_queued(&self.appender, &self.sync));
            return self.raise_error();
        }
        self.start_writer()?;
        self.sync.work.notify_one();
        if full {
            py.detach(|| self.wait(|s| s.queue.len() <= QUEUE))?;
        }
        Ok(())
    }

    /// Raises the error of a write that failed, if one is kept.
    fn raise_error(&self) -> PyResult<()> {
        match self.state()?.error.take() {
            Some(e) => Err(py_err(e)),
            None => Ok(()),
        }
    }

    /// Queues the partial buffer and waits (without the GIL) until everything queued is
    /// written; raises the error of a write that failed.
    pub fn drain(&self, py: Python<'_>) -> PyResult<()> {
        queue_fill(&mut *self.state()?);
        if self.threaded {
            self.start_writer()?;
            self.sync.work.notify_one();
            py.detach(|| self.wait(|s| s.queue.is_empty() && !s.busy))?;
        } else {
            py.detach(|| write_queued(&self.appender, &self.sync));
        }
        self.raise_error()
    }

    fn wait(&self, ready: impl Fn(&State) -> bool) -> PyResult<()> {
        let mut state = self.state()?;
        while !ready(&state) {
            state = self.sync.done.wait(state).map_err(|_| poisoned())?;
        }
        Ok(())
    }

    /// Starts this process's writer if it has none (first use, or a child after `fork`, whose
    /// copy of the parent's queue is the parent's to write).
    fn start_writer(&self) -> PyResult<()> {
        let mut writer = self.writer.lock().map_err(|_| poisoned())?;
        let pid = std::process::id();
        match writer.as_mut() {
            Some(w) if w.pid == pid => return Ok(()),
            Some(w) => {
                // The thread does not exist in this process: forget it without joining.
                std::mem::forget(w.thread.take());
                let mut state = self.state()?;
                state.queue.clear();
                state.busy = false;
            }
            None => {}
        }
        let (appender, sync) = (self.appender.clone(), self.sync.clone());
        let thread = std::thread::Builder::new()
            .name("array_files-appender".into())
            .spawn(move || write_loop(&appender, &sync))
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start the writer thread: {e}")))?;
        *writer = Some(Writer {
            pid,
            thread: Some(thread),
        });
        Ok(())
    }
}

/// Moves the fill buffer, if it holds frames, to the end of the queue.
fn queue_fill(state: &mut State) {
    if state.fill_frames > 0 || !state.fill.is_empty() {
        let fresh = state.pool.pop().unwrap_or_default();
        let bytes = std::mem::replace(&mut state.fill, fresh);
        let frames = std::mem::take(&mut state.fill_frames);
        state.queue.push_back(Job { bytes, frames });
    }
}

/// Writes `job` through the appender (unless an earlier write failed) and records the
/// outcome.
fn write_job(appender: &mut Option<NpyAppender>, sync: &Sync, mut job: Job, failed: bool) {
    let result = match appender.as_mut() {
        Some(a) if !failed => Some(a.append_frames(&job.bytes, job.frames)),
        _ => None,
    };
    let Ok(mut state) = sync.state.lock() else {
        return;
    };
    state.busy = false;
    match result {
        Some(Ok(())) => {}
        Some(Err(e)) => {
            state.error.get_or_insert(e);
            state.frames -= job.frames;
        }
        // Dropped after an error, or the appender is closed.
        None => state.frames -= job.frames,
    }
    if state.pool.len() <= QUEUE {
        job.bytes.clear();
        state.pool.push(job.bytes);
    }
    drop(state);
    sync.done.notify_all();
}

/// The next queued job (marked as being written), and whether an earlier write failed.
fn next_job(state: &mut State) -> Option<(Job, bool)> {
    let job = state.queue.pop_front()?;
    state.busy = true;
    Some((job, state.error.is_some()))
}

/// Writes what is queued, in this thread (the appender's lock held throughout, so that jobs
/// are taken and written in queue order whoever writes them).
fn write_queued(appender: &Shared, sync: &Sync) {
    let Ok(mut guard) = appender.lock() else {
        return;
    };
    loop {
        let Some((job, failed)) = sync.state.lock().ok().and_then(|mut s| next_job(&mut s)) else {
            return;
        };
        write_job(&mut guard, sync, job, failed);
    }
}

/// The writer thread: writes the queued buffers in order; after an error, drops the ones that
/// follow until the error is raised.
fn write_loop(appender: &Shared, sync: &Sync) {
    loop {
        {
            let Ok(mut state) = sync.state.lock() else {
                return;
            };
            while state.queue.is_empty() {
                if state.stop {
                    return;
                }
                state = match sync.work.wait(state) {
                    Ok(s) => s,
                    Err(_) => return,
                };
            }
        }
        write_queued(appender, sync);
    }
}

impl Drop for WriteBehind {
    /// Writes the buffered and queued frames (this process's writer only), so that an
    /// appender dropped without `close` still puts them in the file.
    fn drop(&mut self) {
        if let Ok(mut state) = self.sync.state.lock() {
            queue_fill(&mut state);
            state.stop = true;
        }
        self.sync.work.notify_all();
        let Ok(writer) = self.writer.get_mut() else {
            return;
        };
        if let Some(mut w) = writer.take() {
            match w.thread.take() {
                Some(thread) if w.pid == std::process::id() => {
                    let _ = thread.join();
                    return;
                }
                other => std::mem::forget(other),
            }
        }
        // No writer in this process (none started, or a child after `fork`): write here.
        write_queued(&self.appender, &self.sync);
    }
}
