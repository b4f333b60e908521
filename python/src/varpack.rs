//! `array_files.varpack`: named sets of variables, arrays loaded as numpy arrays over the
//! pack's maps, dicts of arrays as dicts, JSON values as Python values.

use std::collections::HashMap;
use std::path::PathBuf;

use npy_format::{DType, Header, Mode};
use numpy::PyArrayDescr;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use varpack::{Array, Dict, Item, LoadOptions, Value, Varpack};

use crate::bytes::{copy_contiguous, typed_array};
use crate::errors::py_err;

/// A loaded pack; the owner (`.base`) of the maps (or, from object storage, the memory) its
/// arrays view.
#[pyclass(frozen, module = "array_files._native")]
pub struct VarpackCore {
    // Never read: it is here to keep the maps alive while arrays view them.
    _pack: Varpack,
    /// Whether its arrays view maps of the pack's files (false: memory of its own, a pack read
    /// from object storage).
    #[pyo3(get)]
    mapped: bool,
}

/// Where one array's bytes are, with its header.
struct Span {
    header: Header,
    ptr: *const u8,
    len: usize,
}

// SAFETY: a Span only carries the address of bytes owned by the loaded Varpack across the
// `detach` boundary; it is dereferenced (by numpy, through `byte_array`) only while the pack is
// alive in its VarpackCore.
unsafe impl Send for Span {}

/// One loaded value (or dict entry), before it becomes Python objects.
enum Loaded {
    Array(Span),
    /// A dict's entries: arrays and JSON values.
    Dict(Vec<(String, Loaded)>),
    Json(String),
}

fn span(array: &mut Array, writable: bool) -> PyResult<Span> {
    let header = array.header().clone();
    let (ptr, len) = if writable {
        let bytes = array.as_bytes_mut().map_err(py_err)?;
        (bytes.as_mut_ptr().cast_const(), bytes.len())
    } else {
        let bytes = array.as_bytes();
        (bytes.as_ptr(), bytes.len())
    };
    Ok(Span { header, ptr, len })
}

/// The numpy arrays of one load: their dtypes parsed once per distinct descr.
struct ArrayMaker<'py> {
    owner: Bound<'py, PyAny>,
    writable: bool,
    dtypes: HashMap<String, Bound<'py, PyArrayDescr>>,
}

impl<'py> ArrayMaker<'py> {
    /// The numpy array over `span`, whose base is the loaded pack.
    fn array(&mut self, span: &Span) -> PyResult<Bound<'py, PyAny>> {
        let descr = span.header.dtype.descr();
        let dtype = match self.dtypes.get(&descr) {
            Some(dtype) => dtype.clone(),
            None => {
                let dtype = (self.owner.py().import("array_files._dtypes")?)
                    .call_method1("from_descr", (&descr,))?
                    .cast_into::<PyArrayDescr>()?;
                self.dtypes.insert(descr, dtype.clone());
                dtype
            }
        };
        // SAFETY: the span's bytes belong to the Varpack inside `owner` (a map it holds, or its
        // own buffer), which does not move or change while `owner` lives; `owner` becomes the
        // array's base. They are writable exactly when the pack was loaded with a writable map,
        // and they are the header's shape of its dtype (varpack checked the data's length).
        unsafe {
            typed_array(
                self.owner.clone(),
                (span.ptr, span.len),
                &dtype,
                &span.header.shape,
                span.header.fortran_order,
                self.writable,
            )
        }
    }
}

/// Loads the pack at `path` (or URL: read into memory, `mode` then must be `"r"`); returns
/// `[(name, kind, payload)]`: arrays as numpy arrays over the pack's maps (or memory), dicts as
/// `[(key, kind, payload)]`, JSON values as their text.
#[pyfunction]
#[pyo3(signature = (path, ignore, mode))]
pub fn varpack_load<'py>(
    py: Python<'py>,
    path: PathBuf,
    ignore: Vec<String>,
    mode: &str,
) -> PyResult<Vec<(String, &'static str, Bound<'py, PyAny>)>> {
    let map_mode = match mode {
        "r" => Mode::ReadOnly,
        "r+" => Mode::ReadWrite,
        "c" => Mode::CopyOnWrite,
        other => {
            return Err(PyValueError::new_err(format!(
                "mmap_mode must be None, 'r', 'r+' or 'c', not {other:?}"
            )));
        }
    };
    let url = path.to_str().is_some_and(npy_format::source::is_url);
    if url && map_mode != Mode::ReadOnly {
        return Err(PyValueError::new_err(format!(
            "{}: a pack in object storage is read into memory, never mapped: mmap_mode must be None or 'r', not {mode:?}",
            path.display()
        )));
    }
    // From object storage the arrays are memory of the pack's own: writable, as np.load's.
    let writable = map_mode != Mode::ReadOnly || url;
    // Every value read now (from object storage too, where loads are lazy by default), so that
    // all the I/O runs here, without the GIL.
    let options = (LoadOptions::new().ignore(ignore))
        .map_mode(map_mode)
        .lazy(false);
    let mut pack = py.detach(|| options.load_location(&path)).map_err(py_err)?;
    let names: Vec<String> = pack.names().into_iter().map(str::to_owned).collect();
    let mut loaded = Vec::with_capacity(names.len());
    for name in names {
        let value = match pack.get_mut(&name) {
            Ok(value) => value,
            // An ignored value stays unread: it is not part of what Python gets.
            Err(varpack::GetError::Ignored { .. }) => continue,
            Err(e) => return Err(py_err(e)),
        };
        let item = match value {
            Value::Array(array) => Loaded::Array(span(array, writable)?),
            Value::Dict(dict) => Loaded::Dict(
                dict.iter_mut()
                    .map(|(key, item)| {
                        let entry = match item {
                            Item::Array(array) => Loaded::Array(span(array, writable)?),
                            Item::Json(json) => Loaded::Json(json.to_string()),
                            _ => return Err(unknown(&format!("{name}/{key}"))),
                        };
                        Ok((key.clone(), entry))
                    })
                    .collect::<PyResult<_>>()?,
            ),
            Value::Json(json) => Loaded::Json(json.to_string()),
            _ => return Err(unknown(&name)),
        };
        loaded.push((name, item));
    }
    let core = VarpackCore {
        _pack: pack,
        mapped: !url,
    };
    let mut arrays = ArrayMaker {
        owner: Bound::new(py, core)?.into_any(),
        writable,
        dtypes: HashMap::new(),
    };
    loaded
        .into_iter()
        .map(|(name, item)| {
            let (kind, payload) = to_python(&mut arrays, item)?;
            Ok((name, kind, payload))
        })
        .collect()
}

/// A value this build does not know (a newer varpack's kind).
fn unknown(name: &str) -> PyErr {
    PyValueError::new_err(format!(
        "{name}: a kind of value this version of array_files does not know"
    ))
}

/// A loaded value as `(kind, payload)`: an array entry, a list of `(key, kind, payload)` for a
/// dict, or JSON text.
fn to_python<'py>(
    arrays: &mut ArrayMaker<'py>,
    item: Loaded,
) -> PyResult<(&'static str, Bound<'py, PyAny>)> {
    let py = arrays.owner.py();
    Ok(match item {
        Loaded::Array(s) => ("array", arrays.array(&s)?),
        Loaded::Dict(entries) => {
            let entries = entries
                .into_iter()
                .map(|(key, entry)| {
                    let (kind, payload) = to_python(arrays, entry)?;
                    Ok((key, kind, payload))
                })
                .collect::<PyResult<Vec<_>>>()?;
            ("dict", entries.into_pyobject(py)?.into_any())
        }
        Loaded::Json(text) => ("json", text.into_pyobject(py)?.into_any()),
    })
}

/// An array given from Python as `(descr, shape, fortran_order, ndarray)`: its bytes copied.
fn array_from(entry: &Bound<'_, PyAny>) -> PyResult<Array> {
    let (descr, shape, fortran_order, data): (String, Vec<u64>, bool, Bound<'_, PyAny>) =
        entry.extract()?;
    let dtype = DType::parse(&descr).map_err(py_err)?;
    let mut bytes = Vec::new();
    let data = data.cast::<numpy::PyUntypedArray>()?;
    if !copy_contiguous(data, fortran_order, &mut bytes) {
        return Err(PyValueError::new_err(
            "internal: the array must be contiguous",
        ));
    }
    Array::from_bytes(Header::new(dtype, fortran_order, shape), &bytes).map_err(py_err)
}

/// Saves `[(name, kind, payload)]` (the shapes `varpack_load` returns) as a pack at `path`,
/// atomically replacing what is there (a URL ending in `.npz`: uploaded whole). Names in `separate` store their JSON in files of their
/// own; dict arrays of fewer than `dict_array_min_elements` elements are stored among their
/// dict's JSON entries. Names in `keep` are values of the pack already at `path` kept as they are there (names
/// it does not have are passed over): not passed through Python at all (values skipped at
/// load), and not written again (arrays the caller did not replace: the save links their
/// files).
#[pyfunction]
#[pyo3(signature = (path, values, separate = Vec::new(), keep = Vec::new(), dict_array_min_elements = None))]
pub fn varpack_save(
    py: Python<'_>,
    path: PathBuf,
    values: Vec<(String, String, Bound<'_, PyAny>)>,
    separate: Vec<String>,
    keep: Vec<String>,
    dict_array_min_elements: Option<u64>,
) -> PyResult<()> {
    let mut pack = if keep.is_empty() {
        Varpack::new()
    } else {
        // The pack there, lazily: kept values are read (mapped) only by the save.
        let mut old = py
            .detach(|| LoadOptions::new().lazy(true).load_location(&path))
            .map_err(py_err)?;
        let dropped: Vec<String> = (old.names().into_iter())
            .filter(|name| !keep.iter().any(|k| k == name))
            .map(str::to_owned)
            .collect();
        for name in dropped {
            old.remove(&name);
        }
        old
    };
    for (name, kind, payload) in values {
        let value = match kind.as_str() {
            "array" => Value::Array(array_from(&payload)?),
            "dict" => {
                let entries: Vec<(String, String, Bound<'_, PyAny>)> = payload.extract()?;
                let mut dict = Dict::new();
                for (key, kind, entry) in entries {
                    let item = match kind.as_str() {
                        "array" => Item::Array(array_from(&entry)?),
                        "json" => Item::Json(json_from(&entry)?),
                        other => return Err(unknown_kind(other)),
                    };
                    dict.insert(key, item);
                }
                Value::Dict(dict)
            }
            "json" => Value::Json(json_from(&payload)?),
            other => return Err(unknown_kind(other)),
        };
        pack.replace(&name, value).map_err(py_err)?;
    }
    for name in separate {
        pack.set_separate(&name, true).map_err(py_err)?;
    }
    pack.set_dict_array_min_elements(dict_array_min_elements);
    py.detach(|| pack.save_as_location(&path)).map_err(py_err)
}

/// JSON text given from Python, parsed.
fn json_from(payload: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    let text: String = payload.extract()?;
    serde_json::from_str(&text).map_err(py_err)
}

fn unknown_kind(kind: &str) -> PyErr {
    PyValueError::new_err(format!("unknown kind {kind:?}"))
}
