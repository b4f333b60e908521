//! Memory owned by a Rust object, seen from Python as a one-dimensional `uint8` array with no
//! copy: the one primitive every zero-copy view of this package is built from (`np.ndarray(shape,
//! dtype, buffer=bytes)` in Python turns it into a typed array, numpy parsing the dtype).

use std::ffi::c_void;

use numpy::npyffi::{self, NPY_ARRAY_F_CONTIGUOUS, NPY_ARRAY_WRITEABLE, NpyTypes, PY_ARRAY_API};
use numpy::{Element, PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// A `uint8` array over `len` bytes at `ptr`, whose `.base` is `owner`.
///
/// # Safety
/// `ptr..ptr + len` must be valid for reads (and for writes when `writeable`) for as long as
/// `owner` is alive, and must not move: the memory belongs to `owner` (a map it holds).
pub unsafe fn byte_array<'py>(
    owner: Bound<'py, PyAny>,
    ptr: *const u8,
    len: usize,
    writeable: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let py = owner.py();
    let mut dims = [len as npyffi::npy_intp];
    let flags = if writeable { NPY_ARRAY_WRITEABLE } else { 0 };
    // SAFETY: the type object and the u8 descr are numpy's own; NewFromDescr steals the descr
    // reference (`into_dtype_ptr` hands one over); `dims` lives across the call; a null
    // `strides` means C-contiguous; the data pointer is valid as the caller promises.
    let array = unsafe {
        PY_ARRAY_API.PyArray_NewFromDescr(
            py,
            npyffi::get_type_object(py, NpyTypes::PyArray_Type),
            u8::get_dtype(py).into_dtype_ptr(),
            1,
            dims.as_mut_ptr(),
            std::ptr::null_mut(),
            ptr as *mut c_void,
            flags,
            std::ptr::null_mut(),
        )
    };
    // SAFETY: a null result means numpy set a Python exception, which `fetch` takes.
    let array = unsafe { Bound::from_owned_ptr_or_err(py, array)? };
    with_base(array, owner)
}

/// `array`, a new ndarray over memory of `owner`, with `owner` as its `.base`: from now on
/// `owner` lives as long as the array and every view of it.
fn with_base<'py>(
    array: Bound<'py, PyAny>,
    owner: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = array.py();
    // SAFETY: `array` is an ndarray (made by the callers with NewFromDescr) whose base is not
    // set yet; SetBaseObject steals the reference to `owner` that `into_ptr` hands over.
    let status = unsafe {
        PY_ARRAY_API.PyArray_SetBaseObject(
            py,
            array.as_ptr() as *mut npyffi::PyArrayObject,
            owner.into_ptr(),
        )
    };
    if status != 0 {
        return Err(PyErr::fetch(py));
    }
    Ok(array)
}

/// A JSON value (what the CLIs' `--json` outputs print) as the Python value `json.loads` makes.
pub fn json_value<'py>(py: Python<'py>, value: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?
        .call_method1("loads", (value.to_string(),))
}

/// The bytes of a contiguous array (C or Fortran order, as `fortran` says), copied: appends
/// copy under the GIL so that the write itself can run without it while Python code may change
/// or free the array.
pub fn copy_contiguous(
    array: &Bound<'_, PyUntypedArray>,
    fortran: bool,
    out: &mut Vec<u8>,
) -> bool {
    with_contiguous_bytes(array, fortran, |bytes| out.extend_from_slice(bytes)).is_some()
}

/// An array of `dtype` and `shape` (Fortran order if `fortran`, else C) over `len` bytes at
/// `ptr`, whose `.base` is `owner`: what `np.ndarray(shape, dtype, buffer=byte_array(...))` makes,
/// without Python calls. An array of no bytes gets memory of its own (and no base), writeable
/// only if `writeable`.
///
/// # Safety
/// As [`byte_array`]; and `len` must be the size of `shape` elements of `dtype`.
pub unsafe fn typed_array<'py>(
    owner: Bound<'py, PyAny>,
    (ptr, len): (*const u8, usize),
    dtype: &Bound<'py, PyArrayDescr>,
    shape: &[u64],
    fortran: bool,
    writeable: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let py = owner.py();
    let mut dims = shape
        .iter()
        .map(|&d| npyffi::npy_intp::try_from(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| PyValueError::new_err(format!("shape {shape:?} is too large")))?;
    let elements = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d as usize));
    if elements.and_then(|n| n.checked_mul(dtype.itemsize())) != Some(len) {
        return Err(PyValueError::new_err(format!(
            "internal: {len} bytes for an array of shape {shape:?} and itemsize {}",
            dtype.itemsize()
        )));
    }
    let mut flags = if fortran { NPY_ARRAY_F_CONTIGUOUS } else { 0 };
    let data = if len == 0 {
        std::ptr::null_mut()
    } else {
        if writeable {
            flags |= NPY_ARRAY_WRITEABLE;
        }
        ptr as *mut c_void
    };
    // SAFETY: the type object is numpy's own and `dtype` a live descr, one reference of which
    // NewFromDescr steals (`clone().into_ptr()` hands one over); `dims` holds `shape.len()`
    // dimensions and lives across the call; null strides mean contiguous in the order `flags`
    // names; the data pointer is valid for `len` bytes, the array's size (checked above), as
    // the caller promises, or null for an array of no bytes, which numpy then allocates.
    let array = unsafe {
        PY_ARRAY_API.PyArray_NewFromDescr(
            py,
            npyffi::get_type_object(py, NpyTypes::PyArray_Type),
            dtype.clone().into_ptr().cast(),
            dims.len() as i32,
            dims.as_mut_ptr(),
            std::ptr::null_mut(),
            data,
            flags,
            std::ptr::null_mut(),
        )
    };
    // SAFETY: a null result means numpy set a Python exception, which `fetch` takes.
    let array = unsafe { Bound::from_owned_ptr_or_err(py, array)? };
    if data.is_null() {
        // numpy made memory of its own, writeable: read-only as asked, like the others.
        if !writeable {
            let kwargs = pyo3::types::PyDict::new(py);
            kwargs.set_item("write", false)?;
            array.call_method("setflags", (), Some(&kwargs))?;
        }
        return Ok(array);
    }
    with_base(array, owner)
}

/// Where the bytes of an array contiguous in C or Fortran order (as `fortran` says) start, and
/// how many there are; `None` if it is not contiguous in that order.
fn contiguous_span(array: &Bound<'_, PyUntypedArray>, fortran: bool) -> Option<(*const u8, usize)> {
    let contiguous = if fortran {
        array.is_fortran_contiguous()
    } else {
        array.is_c_contiguous()
    };
    if !contiguous {
        return None;
    }
    let itemsize = array.dtype().itemsize();
    let len = array.shape().iter().product::<usize>() * itemsize;
    // SAFETY: `as_array_ptr` points to the live array object `array` holds; reading its
    // `data` field only copies a pointer.
    let data = unsafe { (*array.as_array_ptr()).fields.data as *const u8 };
    Some((data, len))
}

/// Runs `f` on the bytes of a contiguous array (C or Fortran order, as `fortran` says), with
/// the GIL held throughout; `None` if the array is not contiguous in that order.
pub fn with_contiguous_bytes<R>(
    array: &Bound<'_, PyUntypedArray>,
    fortran: bool,
    f: impl FnOnce(&[u8]) -> R,
) -> Option<R> {
    let (data, len) = contiguous_span(array, fortran)?;
    if len == 0 {
        return Some(f(&[]));
    }
    // SAFETY: the array is contiguous (checked by `contiguous_span`) so its `len` bytes start
    // at `data`. The slice lives only during `f`, which runs with the GIL held (`array` is
    // bound and `f` is not `Ungil`, so it cannot release it): no Python code runs meanwhile to
    // free, resize or write the array, and this build is not free-threaded (abi3).
    let bytes = unsafe { std::slice::from_raw_parts(data, len) };
    Some(f(bytes))
}

/// The bytes of a contiguous array, to be written with the GIL released and without a copy
/// into a buffer first: what CPython's own `os.write(fd, array)` does. It holds a reference to
/// the array (numpy refuses to resize an array something else references).
pub struct WriteBytes {
    data: usize,
    len: usize,
    _array: Py<PyUntypedArray>,
}

impl WriteBytes {
    /// The bytes of `array` if it is contiguous in C or Fortran order (as `fortran` says).
    pub fn of(array: &Bound<'_, PyUntypedArray>, fortran: bool) -> Option<WriteBytes> {
        let (data, len) = contiguous_span(array, fortran)?;
        Some(WriteBytes {
            data: data as usize,
            len,
            _array: array.clone().unbind(),
        })
    }

    /// How many bytes the array holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The bytes, to be appended to a file: only copied (by a write system call, and into an
    /// appender's buffer), never interpreted.
    pub fn for_write(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: the array is contiguous, so its `len` bytes start at `data`. `self` holds a
        // reference to the array, which keeps it and its base alive: its memory stays as long
        // as the array's does, which is the guarantee `os.write(fd, array)` has when it reads
        // the buffer with the GIL released (memory an array does not own, a closed
        // `np.memmap` or a ctypes buffer, can be freed under either: that is the user's
        // contract with numpy, and `resize(refcheck=False)` is documented unsafe). With the
        // GIL released, only a program that writes
        // this array from another thread while appending it can change the bytes meanwhile
        // (numpy's own copies release the GIL, so holding it would not stop that either):
        // the bytes are only copied, every value of a `u8` is valid, and nothing relies on
        // them staying the same, so such a race changes which values are appended, as it
        // would for `os.write`, and nothing else.
        unsafe { std::slice::from_raw_parts(self.data as *const u8, self.len) }
    }
}
