//! `array_files.npz`: archives read as mappings of arrays (stored members zero-copy, compressed
//! ones decoded, frames at random), written member by member or streamed frame by frame.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use npy_format::{DType, FrameSink, FrameSource, Header};
use npz_stream::{Compression, NpzReader, NpzWriter, WriteError};
use numpy::PyArray1;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::bytes::{byte_array, json_value};
use crate::errors::{self, py_err};
use crate::owner::Owner;

/// An open archive; the owner (`.base`) of the zero-copy arrays of its stored members.
#[pyclass(frozen, module = "array_files._native")]
pub struct NpzArchive {
    reader: NpzReader,
}

#[pymethods]
impl NpzArchive {
    /// Opens the archive at `location`: a path, or a URL of object storage (its end records
    /// and central directory in one request, two for a long directory).
    #[new]
    fn new(py: Python<'_>, location: String) -> PyResult<Self> {
        let reader = py
            .detach(|| NpzReader::open_location(&location))
            .map_err(py_err)?;
        Ok(NpzArchive { reader })
    }

    /// Whether members can be viewed with no copy (a local archive, mapped); an archive in
    /// object storage is read by ranges.
    #[getter]
    fn can_view(&self) -> bool {
        self.reader.can_view()
    }

    /// The keys, in archive order.
    fn keys(&self) -> Vec<String> {
        self.reader.keys()
    }

    /// The archive's path.
    #[getter]
    fn path(&self) -> String {
        self.reader.path().to_string_lossy().into_owned()
    }

    /// `(descr, shape, fortran_order, mappable, seekable)` of member `key`: mappable members
    /// (stored, data 64-byte aligned) view the archive's map with no copy.
    fn header(&self, py: Python<'_>, key: &str) -> PyResult<(String, Vec<u64>, bool, bool, bool)> {
        let info = py.detach(|| self.reader.info(key)).map_err(py_err)?;
        Ok((
            info.header.dtype.descr(),
            info.header.shape,
            info.header.fortran_order,
            info.mappable,
            info.seekable,
        ))
    }

    /// The data of stored member `key` as a read-only `uint8` array over the archive's map.
    fn mapped<'py>(this: &Bound<'py, Self>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        let py = this.py();
        let archive = this.get();
        let data = py.detach(|| archive.reader.data(key)).map_err(py_err)?;
        let (ptr, len) = (data.as_ptr(), data.len());
        // SAFETY: the slice lies in the archive's map, which the reader inside `this` holds
        // for its whole life and never remaps; `this` becomes the array's base, so the map
        // outlives the array. The map is read-only: so is the array.
        unsafe { byte_array(this.clone().into_any(), ptr, len, false) }
    }

    /// Frames `[start, stop)` of member `key`, decoded (random access into compressed members
    /// that have an index), as a writeable `uint8` array that owns them.
    fn frames<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        start: u64,
        stop: u64,
    ) -> PyResult<Bound<'py, PyArray1<u8>>> {
        let bytes = py
            .detach(|| {
                let mut member = self.reader.member(key)?;
                let stop = stop.min(member.frame_count());
                member.read_frames(start.min(stop), stop)
            })
            .map_err(py_err)?;
        Ok(PyArray1::from_vec(py, bytes))
    }

    /// Facts about every member, as `npz ls --json` gives them (one function makes both):
    /// arrays with their headers, other members (text, directories, methods not decoded,
    /// unreadable headers) with what they are, never failing as a whole.
    fn infos<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let entries = py.detach(|| self.reader.list());
        entries
            .iter()
            .map(|entry| json_value(py, &npz_stream::entry_json(entry)))
            .collect()
    }
}

/// Zips existing `.npy` files (`paths`, members named by `keys`) into a new archive at `out`,
/// deflated at `level` (None: stored), deleting the inputs once the archive is in place if
/// asked.
/// One member of an index report: key, access points, index bytes, why it was skipped.
type IndexedRow = (String, usize, u64, Option<&'static str>);

/// Indexes the deflated members `keys` (all when empty) of the archive at `path` for random
/// access (`npz index`); returns `[(key, points, index_bytes, skipped_reason or None)]`.
#[pyfunction]
#[pyo3(signature = (path, keys, span = None, sidecar = false))]
pub fn npz_index(
    py: Python<'_>,
    path: PathBuf,
    keys: Vec<String>,
    span: Option<u64>,
    sidecar: bool,
) -> PyResult<Vec<IndexedRow>> {
    let mut options = npz_stream::IndexOptions::new()
        .sidecar(sidecar)
        .replace(true);
    if let Some(span) = span {
        options = options.span(span);
    }
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let report = py
        .detach(|| options.index(&path, &keys))
        .map_err(errors::npz_write)?;
    Ok(report
        .members
        .into_iter()
        .map(|m| (m.key, m.points, m.index_bytes, m.skipped))
        .collect())
}

#[pyfunction]
#[pyo3(signature = (out, keys, paths, level, delete_originals))]
pub fn npz_zip_files(
    py: Python<'_>,
    out: PathBuf,
    keys: Vec<String>,
    paths: Vec<PathBuf>,
    level: Option<u32>,
    delete_originals: bool,
) -> PyResult<()> {
    if keys.len() != paths.len() {
        return Err(PyValueError::new_err(format!(
            "{} keys for {} files",
            keys.len(),
            paths.len()
        )));
    }
    let compression = level.map_or(Compression::Stored, |level| Compression::Deflate { level });
    let files: Vec<(String, PathBuf)> = keys.into_iter().zip(paths).collect();
    let options = NpzWriter::options()
        .warn_unfinished(false)
        .compression(compression);
    py.detach(|| npz_stream::zip_npy_files(&out, &files, options, delete_originals))
        .map_err(errors::npz_write)
}

/// What the Python side asks of the writer thread.
enum Command {
    Add(String, Header, Vec<u8>),
    Begin(String, Header),
    Append(Vec<u8>, u64),
    Flush,
    EndMember,
    Finish,
    /// Drops the writer unfinished: a new archive is never written, an append is cut off.
    Abort,
}

type Reply = Result<Option<Vec<u64>>, WriteError>;

/// Where commands go: the writer thread's queue, each command with the channel for its reply.
type Commands = Sender<(Command, SyncSender<Reply>)>;

/// The writer of `array_files.npz.Writer`. A streaming member borrows the archive writer for
/// as long as it is open, which a Python object cannot express, so the archive writer lives on
/// a thread of its own that takes commands; a member's lifetime is a loop on that thread.
#[pyclass(module = "array_files._native")]
pub struct NpzWriterCore {
    channel: Mutex<Option<(Commands, JoinHandle<()>)>>,
    /// The process whose thread writes. A forked child has a copy of this object but not the
    /// thread: its commands would wait forever for a reply (its finalizers hung at exit), and
    /// it must not write the parent's archive anyway.
    owner: Owner,
}

/// Runs the archive writer: members added whole, or streamed between `Begin` and `EndMember`.
fn serve(mut writer: NpzWriter, commands: Receiver<(Command, SyncSender<Reply>)>) {
    while let Ok((command, reply)) = commands.recv() {
        let result = match command {
            Command::Add(key, header, data) => writer.add_raw(&key, &header, &data).map(|()| None),
            Command::Begin(key, header) => match writer.begin_member(&key, &header) {
                Err(e) => Err(e),
                Ok(mut member) => {
                    let _ = reply.send(Ok(None));
                    // The member's commands, until it ends (or the Python side goes away,
                    // which drops the member: an unfinished member leaves nothing).
                    while let Ok((command, reply)) = commands.recv() {
                        let result = match command {
                            Command::Append(bytes, frames) => {
                                member.append_frames(&bytes, frames).map(|()| None)
                            }
                            Command::Flush => member.flush().map(|()| None),
                            Command::EndMember => {
                                let _ = reply.send(member.finish().map(|h| Some(h.shape)));
                                break;
                            }
                            Command::Abort => {
                                // The member, then the writer (as this returns), dropped
                                // unfinished: their drops undo what they wrote.
                                drop(member);
                                let _ = reply.send(Ok(None));
                                return;
                            }
                            _ => unreachable!("the Python side sends only member commands"),
                        };
                        let _ = reply.send(result);
                    }
                    continue;
                }
            },
            Command::Finish => {
                let _ = reply.send(writer.finish().map(|()| None));
                return;
            }
            Command::Abort => {
                drop(writer);
                let _ = reply.send(Ok(None));
                return;
            }
            _ => unreachable!("member commands come only inside a member"),
        };
        let _ = reply.send(result);
    }
}

/// The header of an array given as `descr` literal, shape and order.
fn header_of(descr: &str, shape: Vec<u64>, fortran_order: bool) -> PyResult<Header> {
    let dtype = DType::parse(descr).map_err(py_err)?;
    Ok(Header::new(dtype, fortran_order, shape))
}

#[pymethods]
impl NpzWriterCore {
    /// Creates (`mode='w'`, replacing; `'x'`, never replacing) or appends to (`'a'`) the archive
    /// at `path`; `level` None stores, 0-9 deflates. A URL of object storage is created
    /// (`'w'`, `'x'`) through a local temporary file uploaded whole when the writer closes;
    /// appends need a local file.
    #[new]
    #[pyo3(signature = (path, mode, level))]
    fn new(py: Python<'_>, path: String, mode: &str, level: Option<u32>) -> PyResult<Self> {
        let compression = match level {
            None => Compression::Stored,
            Some(level) if level <= 9 => Compression::Deflate { level },
            Some(level) => {
                return Err(PyValueError::new_err(format!(
                    "compression level must be 0 to 9, not {level}"
                )));
            }
        };
        // Errors reach Python as exceptions; a writer dropped after one says nothing more.
        let options = NpzWriter::options()
            .warn_unfinished(false)
            .compression(compression);
        let writer = py
            .detach(|| match mode {
                "w" => Ok(options.replace(true).create_location(&path)),
                "x" => Ok(options.replace(false).create_location(&path)),
                "a" if npy_format::source::is_url(&path) => Err(PyValueError::new_err(format!(
                    "{path}: an archive in object storage cannot be appended to (mode 'a'); write a new one with mode 'w'"
                ))),
                "a" => Ok(options.append(&path)),
                other => Err(PyValueError::new_err(format!(
                    "mode must be 'w', 'x' or 'a', not {other:?}"
                ))),
            })?
            .map_err(errors::npz_write)?;
        let (send, receive) = channel();
        let thread = std::thread::Builder::new()
            .name("array_files npz writer".into())
            .spawn(move || serve(writer, receive))
            .map_err(py_err)?;
        Ok(NpzWriterCore {
            channel: Mutex::new(Some((send, thread))),
            owner: Owner::current(),
        })
    }

    /// Adds a whole array given as its data bytes.
    fn add(
        &self,
        py: Python<'_>,
        key: String,
        descr: &str,
        shape: Vec<u64>,
        fortran_order: bool,
        data: Vec<u8>,
    ) -> PyResult<()> {
        let header = header_of(descr, shape, fortran_order)?;
        self.call(py, Command::Add(key, header, data)).map(drop)
    }

    /// Starts a streaming member (frames appended with `append`, ended with `end_member`).
    fn begin(
        &self,
        py: Python<'_>,
        key: String,
        descr: &str,
        frame_shape: Vec<u64>,
        fortran_order: bool,
    ) -> PyResult<()> {
        let mut shape = frame_shape;
        if fortran_order {
            shape.push(0);
        } else {
            shape.insert(0, 0);
        }
        let header = header_of(descr, shape, fortran_order)?;
        self.call(py, Command::Begin(key, header)).map(drop)
    }

    /// Appends `frames` frames (raw bytes) to the open member.
    fn append(&self, py: Python<'_>, bytes: Vec<u8>, frames: u64) -> PyResult<()> {
        self.call(py, Command::Append(bytes, frames)).map(drop)
    }

    /// Writes what the open member buffered.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        self.call(py, Command::Flush).map(drop)
    }

    /// Ends the open member; returns its shape.
    fn end_member(&self, py: Python<'_>) -> PyResult<Option<Vec<u64>>> {
        self.call(py, Command::EndMember)
    }

    /// Finishes the archive (the central directory; the rename into place for a new one).
    /// Finishing twice does nothing.
    fn finish(&self, py: Python<'_>) -> PyResult<()> {
        self.end(py, Command::Finish)
    }

    /// Abandons the archive (an open member too): a new archive is never written (the file
    /// there before, if any, stays), an append is cut off again. Does nothing once finished.
    fn abort(&self, py: Python<'_>) -> PyResult<()> {
        self.end(py, Command::Abort)
    }
}

impl Drop for NpzWriterCore {
    fn drop(&mut self) {
        // A forked child's copy: no thread to tell, and a channel whose state the fork froze.
        crate::owner::drop_in_owner(self.owner, &mut self.channel);
    }
}

impl NpzWriterCore {
    /// Sends the last command, `Finish` or `Abort`, and waits for the writer thread to end.
    /// Ending twice does nothing.
    fn end(&self, py: Python<'_>, command: Command) -> PyResult<()> {
        let mut guard = crate::owner::lock(self.owner, &self.channel, "npz writer")?;
        if guard.is_none() {
            return Ok(()); // ended already (before a fork, too): nothing to refuse
        }
        self.owner.check("npz writer")?;
        let Some((send, thread)) = guard.take() else {
            return Ok(());
        };
        drop(guard);
        let result = Self::send(py, &send, command);
        drop(send);
        py.detach(|| thread.join())
            .map_err(|_| PyRuntimeError::new_err("the npz writer thread panicked"))?;
        result.map(drop)
    }

    fn call(&self, py: Python<'_>, command: Command) -> PyResult<Option<Vec<u64>>> {
        self.owner.check("npz writer")?;
        let send = crate::owner::lock(self.owner, &self.channel, "npz writer")?
            .as_ref()
            .map(|(send, _)| send.clone())
            .ok_or_else(|| PyValueError::new_err("the writer is closed"))?;
        Self::send(py, &send, command)
    }

    /// Sends `command` and waits for its reply without the GIL.
    fn send(py: Python<'_>, send: &Commands, command: Command) -> PyResult<Option<Vec<u64>>> {
        let (reply_send, reply) = sync_channel(1);
        send.send((command, reply_send))
            .map_err(|_| PyRuntimeError::new_err("the npz writer thread has stopped"))?;
        py.detach(move || reply.recv())
            .map_err(|_| PyRuntimeError::new_err("the npz writer thread has stopped"))?
            .map_err(errors::npz_write)
    }
}
