//! The native part of the Python package `array_files` (see `python/array_files`): thin
//! functions and classes over the workspace's crates that the package's Python modules wrap.
//! Every call that does I/O releases the GIL; every error becomes a Python exception with the
//! Rust message.

mod bytes;
mod errors;
mod filepack;
mod npy;
mod npz;
mod owner;
mod varpack;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    owner::register(m)?;
    m.add_class::<npy::NpyMap>()?;
    m.add_class::<npy::NpyAppenderCore>()?;
    m.add_class::<filepack::PackCore>()?;
    m.add_function(wrap_pyfunction!(filepack::pack_dir, m)?)?;
    m.add_class::<npz::NpzArchive>()?;
    m.add_class::<npz::NpzWriterCore>()?;
    m.add_function(wrap_pyfunction!(npz::npz_zip_files, m)?)?;
    m.add_function(wrap_pyfunction!(npz::npz_index, m)?)?;
    m.add_function(wrap_pyfunction!(npy::npy_map, m)?)?;
    m.add_function(wrap_pyfunction!(npy::npy_info, m)?)?;
    m.add_function(wrap_pyfunction!(npy::npy_read_frames, m)?)?;
    m.add_function(wrap_pyfunction!(npy::npy_header, m)?)?;
    m.add_function(wrap_pyfunction!(npy::npy_recover, m)?)?;
    m.add_class::<varpack::VarpackCore>()?;
    m.add_function(wrap_pyfunction!(varpack::varpack_load, m)?)?;
    m.add_function(wrap_pyfunction!(varpack::varpack_save, m)?)?;
    Ok(())
}
