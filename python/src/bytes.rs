//! Memory owned by a Rust object, seen from Python as a one-dimensional `uint8` array with no
//! copy: the one primitive every zero-copy view of this package is built from (`np.ndarray(shape,
//! dtype, buffer=bytes)` in Python turns it into a typed array, numpy parsing the dtype).

use std::ffi::c_void;

use numpy::npyffi::{self, NPY_ARRAY_WRITEABLE, NpyTypes, PY_ARRAY_API};
use numpy::{Element, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
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
    // SAFETY: `array` is the new ndarray; SetBaseObject steals the reference to `owner`, which
    // from now on lives as long as the array (and every view of it).
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

/// Runs `f` on the bytes of a contiguous array (C or Fortran order, as `fortran` says), with
/// the GIL held throughout; `None` if the array is not contiguous in that order.
pub fn with_contiguous_bytes<R>(
    array: &Bound<'_, PyUntypedArray>,
    fortran: bool,
    f: impl FnOnce(&[u8]) -> R,
) -> Option<R> {
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
    if len == 0 {
        return Some(f(&[]));
    }
    // SAFETY: the array is contiguous (checked above) so its `len` bytes start at `data`. The
    // slice lives only during `f`, which runs with the GIL held (`array` is bound and `f` is
    // not `Ungil`, so it cannot release it): no Python code runs meanwhile to free, resize or
    // write the array, and this build is not free-threaded (abi3).
    let bytes = unsafe {
        std::slice::from_raw_parts((*array.as_array_ptr()).fields.data as *const u8, len)
    };
    Some(f(bytes))
}
