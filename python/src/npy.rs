//! `array_files.npy`: NPY files mapped as numpy arrays, appended to, recovered.

use std::path::PathBuf;
use std::sync::Mutex;

use npy_append::{AppendOptions, BufferSize, FrameLayout, LockMode, NpyAppender, RecoverOptions};
use npy_format::source::{self, ByteSource};
use npy_format::{DType, FrameSource, Mode, NpyFile, NpyReader};
use numpy::{PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::bytes::{WriteBytes, byte_array, copy_contiguous, json_value, with_contiguous_bytes};
use crate::errors::{self, py_err};
use crate::owner::Owner;

/// An open NPY file whose map backs the arrays `npy_map` returns (their `.base`).
#[pyclass(frozen, module = "array_files._native")]
pub struct NpyMap {
    // Never read: it is here to keep the map alive while arrays view it.
    _file: NpyFile,
}

/// The mapping modes numpy's `mmap_mode` names.
fn mode(name: &str) -> PyResult<Mode> {
    Ok(match name {
        "r" | "readonly" => Mode::ReadOnly,
        "r+" | "readwrite" => Mode::ReadWrite,
        "c" | "copyonwrite" => Mode::CopyOnWrite,
        other => {
            return Err(PyValueError::new_err(format!(
                "mmap_mode must be None, 'r', 'r+' or 'c', not {other:?}"
            )));
        }
    })
}

/// Maps `path` and returns `(data, descr, shape, fortran_order)`: `data` a `uint8` array over
/// the mapped data bytes (writeable unless `mode` is `'r'`), `descr` numpy's descr literal.
#[pyfunction]
pub fn npy_map<'py>(
    py: Python<'py>,
    path: PathBuf,
    mode_name: &str,
) -> PyResult<(Bound<'py, PyAny>, String, Vec<u64>, bool)> {
    let mode = mode(mode_name)?;
    let mut file = py
        .detach(|| NpyFile::options().mode(mode).open(&path))
        .map_err(py_err)?;
    let header = file.header().clone();
    let (ptr, len) = match mode {
        Mode::ReadOnly => {
            let data = file.data().map_err(py_err)?;
            (data.as_ptr(), data.len())
        }
        _ => {
            let data = file.data_mut().map_err(py_err)?;
            (data.as_mut_ptr().cast_const(), data.len())
        }
    };
    let owner = Bound::new(py, NpyMap { _file: file })?.into_any();
    // SAFETY: `ptr..ptr + len` is the data of the map `owner` holds; moving the NpyFile into
    // `owner` moved its handle, not the mapped memory, which stays valid and in place until
    // `owner` is dropped. The map is writable exactly when `mode` is not read-only.
    let data = unsafe { byte_array(owner, ptr, len, mode != Mode::ReadOnly)? };
    Ok((
        data,
        header.dtype.descr(),
        header.shape,
        header.fortran_order,
    ))
}

/// What `npy info --json` prints about `location` (a path, mapped; or a URL, its header read
/// in one request), as a dict (the same keys: one function makes both).
#[pyfunction]
pub fn npy_info(py: Python<'_>, location: String) -> PyResult<Bound<'_, PyAny>> {
    if source::is_url(&location) {
        let reader = py.detach(|| open_ranged(&location))?;
        return json_value(py, &npy_append::info_json(&reader));
    }
    let file = py.detach(|| NpyFile::open(&location)).map_err(py_err)?;
    json_value(py, &npy_append::info_json(&file))
}

/// The `.npy` at `location` (a path or URL), its header read, for reads by range.
fn open_ranged(location: &str) -> PyResult<NpyReader<Box<dyn ByteSource>>> {
    // No block cache: the header and the frames are each read once.
    let source = source::SourceOptions::new()
        .cache_bytes(0)
        .open(location)
        .map_err(|e| {
            py_err(npy_format::ReadError::new(
                location,
                npy_format::ReadErrorKind::Io { source: e },
            ))
        })?;
    NpyReader::open(source).map_err(py_err)
}

/// Frames `[start, stop)` of the `.npy` at `location` (a path or URL; every frame by default)
/// read by one ranged request (Python's slice rules for `start` and `stop`), as
/// `(data, descr, shape, fortran_order)`: `data` a `uint8`
/// array owning the bytes read, `shape` the shape of the frames read.
#[pyfunction]
#[pyo3(signature = (location, start = None, stop = None))]
pub fn npy_read_frames<'py>(
    py: Python<'py>,
    location: String,
    start: Option<i64>,
    stop: Option<i64>,
) -> PyResult<(Bound<'py, PyAny>, String, Vec<u64>, bool)> {
    let (bytes, header, shape) = py.detach(|| -> PyResult<_> {
        let mut reader = open_ranged(&location)?;
        let header = reader.header().clone();
        let count = header.frame_count();
        // Python's slice rules: negative counts from the end, out of range is clamped.
        let index = |i: Option<i64>, default: u64| match i {
            None => default,
            Some(i) if i < 0 => count.saturating_sub(i.unsigned_abs()),
            Some(i) => (i as u64).min(count),
        };
        let (start, stop) = (index(start, 0), index(stop, count));
        let start = start.min(stop);
        let bytes = reader.read_frames(start, stop).map_err(py_err)?;
        let mut shape = header.shape.clone();
        if let Some(axis) = header.growth_axis() {
            shape[axis] = stop - start;
        }
        Ok((bytes, header, shape))
    })?;
    let data = numpy::PyArray1::from_vec(py, bytes).into_any();
    Ok((data, header.dtype.descr(), shape, header.fortran_order))
}

/// The header of `path` read without mapping the file (a file whose data is cut short
/// still has one): `(data_offset, descr, shape, fortran_order, growth_room, file_len)`,
/// `growth_room` saying whether appends can count any number of frames in place.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn npy_header(
    py: Python<'_>,
    path: PathBuf,
) -> PyResult<(u64, String, Vec<u64>, bool, bool, u64)> {
    let read = py.detach(|| -> Result<_, npy_format::ReadError> {
        use array_files_fs::error::AtPath;
        let file = std::fs::File::open(&path).at_path(&path)?;
        let file_len = file.metadata().at_path(&path)?.len();
        let parsed = npy_format::Header::read_from(
            &mut std::io::BufReader::new(&file),
            npy_format::ReadOptions::new(),
        )
        .map_err(|source| {
            npy_format::ReadError::new(&path, npy_format::ReadErrorKind::Header { source })
        })?;
        Ok((parsed, file_len))
    });
    let (parsed, file_len) = read.map_err(py_err)?;
    let header = parsed.header;
    let growth_room = npy_append::has_growth_room(&npy_format::ParsedHeader {
        header: header.clone(),
        version: parsed.version,
        data_offset: parsed.data_offset,
    });
    Ok((
        parsed.data_offset,
        header.dtype.descr(),
        header.shape,
        header.fortran_order,
        growth_room,
        file_len,
    ))
}

/// `recover(path, zero_fill)`: repairs what an interrupted appender left; returns the report.
#[pyfunction]
#[pyo3(signature = (path, zero_fill = false, dry_run = false))]
pub fn npy_recover(
    py: Python<'_>,
    path: PathBuf,
    zero_fill: bool,
    dry_run: bool,
) -> PyResult<Bound<'_, PyDict>> {
    let options = RecoverOptions::default()
        .zero_fill(zero_fill)
        .dry_run(dry_run);
    let report = py
        .detach(|| npy_append::recover(&path, &options))
        .map_err(errors::npy_recover)?;
    let out = PyDict::new(py);
    out.set_item("path", report.path.to_string_lossy())?;
    out.set_item("frames_before", report.frames_before)?;
    out.set_item("frames_after", report.frames_after)?;
    out.set_item("frame_bytes", report.frame_len)?;
    out.set_item("bytes_truncated", report.bytes_truncated)?;
    out.set_item("bytes_zero_filled", report.bytes_zero_filled)?;
    out.set_item("header_rewritten", report.header_rewritten)?;
    out.set_item("dry_run", report.dry_run)?;
    out.set_item("changed", report.changed())?;
    Ok(out)
}

/// The appender behind `array_files.npy.Appender`.
#[pyclass(module = "array_files._native")]
pub struct NpyAppenderCore {
    inner: Mutex<Option<NpyAppender>>,
    /// The file's dtype, for the exact-dtype check of every append.
    dtype: Py<PyArrayDescr>,
    frame_shape: Vec<usize>,
    fortran_order: bool,
    /// Appends of at least this many bytes the appender writes directly, never copying them:
    /// they are written from the array's memory.
    direct_write_bytes: usize,
    /// A buffer reused across appends for the copy made under the GIL (a fresh allocation of
    /// a large frame costs more than the copy: page faults of a new mapping every time).
    scratch: Mutex<Vec<u8>>,
    /// The process that opened the file: a forked child's copy never writes (see
    /// [`crate::owner`]).
    owner: Owner,
}

/// The appender, or the error of an appender used after `close`.
fn open_appender(guard: &mut Option<NpyAppender>) -> PyResult<&mut NpyAppender> {
    guard
        .as_mut()
        .ok_or_else(|| PyValueError::new_err("the appender is closed"))
}

#[pymethods]
impl NpyAppenderCore {
    /// Opens (`mode='a'`: open or create, `'w'`: create, replacing; `'x'`: create, never
    /// replacing; `'r+'`: open an existing file only) an appender. `descr` and `frame_shape`
    /// are needed to create.
    #[new]
    #[pyo3(signature = (path, mode, descr, frame_shape, fortran_order, buffer_size, wait))]
    // The Python constructor's keyword arguments, one per option.
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        mode: &str,
        descr: Option<String>,
        frame_shape: Option<Vec<u64>>,
        fortran_order: bool,
        buffer_size: Option<usize>,
        wait: bool,
    ) -> PyResult<Self> {
        let mut options = AppendOptions::new()
            .lock(if wait {
                LockMode::Wait
            } else {
                LockMode::FailFast
            })
            .on_drop_error(|e| eprintln!("array_files.npy.Appender: {e}"));
        if let Some(bytes) = buffer_size {
            options = options.buffer(BufferSize::Bytes(bytes));
        }
        let layout = match (descr, frame_shape) {
            (Some(descr), Some(shape)) => {
                let dtype = DType::parse(&descr).map_err(py_err)?;
                Some(FrameLayout::new(dtype, &shape).fortran_order(fortran_order))
            }
            _ => None,
        };
        let needs_layout =
            || PyValueError::new_err("creating a file needs its dtype and frame_shape");
        let appender = py
            .detach(|| match (mode, &layout) {
                ("r+", _) => Ok(options.open(&path)),
                ("a", Some(layout)) => Ok(options.open_or_create(&path, layout)),
                ("a", None) => Ok(options.open(&path)),
                ("w", Some(layout)) => Ok(options.clone().overwrite(true).create(&path, layout)),
                ("x", Some(layout)) => Ok(options.create(&path, layout)),
                ("w" | "x", None) => Err(needs_layout()),
                (other, _) => Err(PyValueError::new_err(format!(
                    "mode must be 'a', 'w', 'x' or 'r+', not {other:?}"
                ))),
            })?
            .map_err(errors::npy_open)?;
        let layout = appender.layout();
        let dtype = py
            .import("array_files._dtypes")?
            .call_method1("from_descr", (layout.dtype().descr(),))?
            .cast_into::<PyArrayDescr>()?;
        Ok(NpyAppenderCore {
            frame_shape: layout.frame_shape().iter().map(|&d| d as usize).collect(),
            fortran_order: layout.is_fortran_order(),
            dtype: dtype.unbind(),
            direct_write_bytes: appender.direct_write_bytes(),
            inner: Mutex::new(Some(appender)),
            scratch: Mutex::new(Vec::new()),
            owner: Owner::current(),
        })
    }

    /// The file's dtype.
    #[getter]
    fn dtype(&self, py: Python<'_>) -> Py<PyArrayDescr> {
        self.dtype.clone_ref(py)
    }

    /// The shape of one frame.
    #[getter]
    fn frame_shape(&self) -> Vec<usize> {
        self.frame_shape.clone()
    }

    /// Whether frames grow along the last axis (Fortran order).
    #[getter]
    fn fortran_order(&self) -> bool {
        self.fortran_order
    }

    /// The array's shape now, appended frames included.
    #[getter]
    fn shape(&self) -> PyResult<Vec<u64>> {
        let mut guard = self.lock()?;
        Ok(open_appender(&mut guard)?.header().shape.clone())
    }

    /// Whether `close` was called.
    #[getter]
    fn closed(&self) -> PyResult<bool> {
        Ok(self.lock()?.is_none())
    }

    /// Appends `array`: frames of the file's exact dtype and frame shape (one frame, or a
    /// stack of them along the growth axis). Returns the number of frames appended.
    fn append(&self, py: Python<'_>, array: &Bound<'_, PyAny>) -> PyResult<u64> {
        self.owner.check("npy appender")?;
        let array = array.cast::<PyUntypedArray>().map_err(|_| {
            PyValueError::new_err("append takes a numpy.ndarray (numpy.asarray(x, dtype) converts)")
        })?;
        let dtype = self.dtype.bind(py);
        if !array.dtype().is_equiv_to(dtype) {
            return Err(PyValueError::new_err(format!(
                "dtype mismatch: frames of {} cannot be appended to an array of {} (no casting; \
                 convert with arr.astype(...) first)",
                array.dtype().str()?,
                dtype.str()?
            )));
        }
        let frames = self.frames_of(array.shape())?;
        // Frames that fit the appender's buffer are copied straight into it with the GIL held:
        // no I/O happens, so there is nothing to release the GIL for, and the frames are copied
        // once. (The mutex is taken with the GIL held, which is safe: its holders never wait
        // for the GIL while holding it.)
        let buffered = with_contiguous_bytes(array, self.fortran_order, |bytes| {
            let mut guard = self.lock()?;
            let appender = open_appender(&mut guard)?;
            if appender.would_buffer(bytes.len()) {
                appender.append_frames(bytes, frames).map_err(py_err)?;
                return Ok(true);
            }
            Ok::<_, PyErr>(false)
        });
        if buffered.transpose()? == Some(true) {
            return Ok(frames);
        }
        // Large frames are written straight from the array's memory, with no copy and the GIL
        // released, as `os.write` does (the appender writes appends of this size directly).
        if let Some(bytes) = WriteBytes::of(array, self.fortran_order)
            && bytes.len() >= self.direct_write_bytes
        {
            self.with_appender(py, |appender| {
                appender.append_frames(bytes.for_write(), frames)
            })?;
            return Ok(frames);
        }
        // Taken out of its mutex (held only for the swap, never across the GIL): a concurrent
        // append finds it empty and allocates its own.
        let mut bytes = self.take_scratch();
        if !copy_contiguous(array, self.fortran_order, &mut bytes) {
            // A view with gaps, or in the other order: numpy lays it out as the file needs.
            let numpy = py.import("numpy")?;
            let layout = if self.fortran_order {
                "asfortranarray"
            } else {
                "ascontiguousarray"
            };
            let contiguous = numpy.call_method1(layout, (array,))?;
            copy_contiguous(
                contiguous.cast::<PyUntypedArray>()?,
                self.fortran_order,
                &mut bytes,
            );
        }
        let appended = self.with_appender(py, |appender| appender.append_frames(&bytes, frames));
        bytes.clear();
        if let Ok(mut scratch) = self.scratch.lock() {
            *scratch = bytes;
        }
        appended?;
        Ok(frames)
    }

    /// Writes buffered frames and the header that counts them.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        self.with_appender(py, NpyAppender::flush)
    }

    /// `flush`, then data and header on stable storage.
    fn sync(&self, py: Python<'_>) -> PyResult<()> {
        self.with_appender(py, NpyAppender::sync)
    }

    /// Flushes and closes; returns the final shape. Closing twice is a no-op returning `None`.
    fn close(&self, py: Python<'_>) -> PyResult<Option<Vec<u64>>> {
        let mut guard = self.lock()?;
        if guard.is_none() {
            return Ok(None); // closed already (before a fork, too): nothing to refuse
        }
        self.owner.check("npy appender")?;
        let appender = guard.take();
        drop(guard);
        match appender {
            Some(appender) => py
                .detach(|| appender.finish())
                .map(|header| Some(header.shape))
                .map_err(py_err),
            None => Ok(None),
        }
    }
}

impl Drop for NpyAppenderCore {
    fn drop(&mut self) {
        // In a forked child, the copy of the parent's appender is forgotten: its drop would
        // write the parent's buffered frames again and cut the file to its own length.
        crate::owner::drop_in_owner(self.owner, &mut self.inner);
    }
}

impl NpyAppenderCore {
    /// Runs `f` on the appender without the GIL. The appender's mutex is taken and released
    /// while the GIL is not held: holding it while taking the GIL back would deadlock with a
    /// thread that holds the GIL and waits for the mutex.
    fn with_appender<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut NpyAppender) -> Result<R, npy_append::AppendError> + Send,
    ) -> PyResult<R> {
        self.owner.check("npy appender")?;
        py.detach(|| {
            let mut guard = self.lock()?;
            f(open_appender(&mut guard)?).map_err(py_err)
        })
    }

    fn take_scratch(&self) -> Vec<u8> {
        self.scratch
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }

    /// The mutex, taken briefly; never held while the GIL is taken.
    fn lock(&self) -> PyResult<std::sync::MutexGuard<'_, Option<NpyAppender>>> {
        crate::owner::lock(self.owner, &self.inner, "npy appender")
    }

    /// How many frames an array of `shape` holds: one frame (`shape == frame_shape`) or a stack
    /// of them along the growth axis.
    fn frames_of(&self, shape: &[usize]) -> PyResult<u64> {
        let frame = &self.frame_shape[..];
        if shape == frame {
            return Ok(1);
        }
        if shape.len() == frame.len() + 1 {
            let (count, rest) = if self.fortran_order {
                let (rest, last) = shape.split_at(frame.len());
                (last[0], rest)
            } else {
                (shape[0], &shape[1..])
            };
            if rest == frame {
                return Ok(count as u64);
            }
        }
        Err(PyValueError::new_err(format!(
            "shape mismatch: an array of shape {shape:?} is not frames of shape {frame:?} \
             along the growth axis ({})",
            if self.fortran_order {
                "the last, Fortran order"
            } else {
                "axis 0"
            }
        )))
    }
}
