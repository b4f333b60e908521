//! `array_files.filepack`: directory trees packed into one file, read from Python with no copy.
//!
//! The Python `Pack` holds a [`PackCore`] and one read-only `memoryview` of the whole pack (a
//! `uint8` array whose base is the core); every read is a slice of that view, so a read costs
//! a lookup and a slice, never a copy.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PySlice};
use treepack::{Entry, Kind, Pack, PackBuilder};

use crate::bytes::byte_array;
use crate::errors;

/// One directory of an `os.walk`: `(dirpath, dirnames, filenames)`.
type WalkStep = (String, Vec<String>, Vec<String>);

/// An open pack; the owner (`.base`) of the memory every read views.
#[pyclass(frozen, module = "array_files._native")]
pub struct PackCore {
    pack: Pack,
}

/// `view[start:end]`.
fn slice<'py>(view: &Bound<'py, PyAny>, start: usize, len: usize) -> PyResult<Bound<'py, PyAny>> {
    let slice = PySlice::new(view.py(), start as isize, (start + len) as isize, 1);
    view.get_item(slice)
}

impl PackCore {
    /// Where the file at `path` lies within the pack's bytes.
    fn span(&self, path: &str) -> Result<(usize, usize), treepack::Error> {
        let data = self.pack.bytes(path)?;
        let start = data.as_ptr() as usize - self.pack.as_bytes().as_ptr() as usize;
        Ok((start, data.len()))
    }
}

/// `"file"`, `"dir"` or `"symlink"`.
fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::File => "file",
        Kind::Dir => "dir",
        Kind::Symlink => "symlink",
    }
}

#[pymethods]
impl PackCore {
    /// Opens the pack at `location`, a path (mapped) or a URL of object storage (its header
    /// and tables fetched in at most two requests); `verify` checks the tables' checksums
    /// first.
    #[new]
    #[pyo3(signature = (location, verify = false))]
    fn new(py: Python<'_>, location: String, verify: bool) -> PyResult<Self> {
        let options = Pack::options().verify_tables(verify);
        let pack = py
            .detach(|| options.open_location(&location))
            .map_err(errors::filepack)?;
        Ok(PackCore { pack })
    }

    /// The whole pack as a read-only `uint8` array whose base is this core; `None` for a pack
    /// in object storage, whose contents are fetched by `read`.
    fn whole<'py>(this: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyAny>>> {
        if !this.get().pack.is_local() {
            return Ok(None);
        }
        let bytes = this.get().pack.as_bytes();
        // SAFETY: the bytes are the pack's map (or buffer), owned by the Pack inside `this` for
        // its whole life, never moved or remapped; `this` becomes the array's base. Packs are
        // read-only: so is the array.
        let array =
            unsafe { byte_array(this.clone().into_any(), bytes.as_ptr(), bytes.len(), false)? };
        Ok(Some(array))
    }

    /// The contents of the file at `path`: a slice of `view` (the pack's memoryview), or for
    /// a pack in object storage (`view` is `None`) `bytes` fetched without the GIL.
    fn read<'py>(&self, view: &Bound<'py, PyAny>, path: &str) -> PyResult<Bound<'py, PyAny>> {
        let py = view.py();
        if view.is_none() {
            let data = py
                .detach(|| self.pack.read(path).map(|d| d.into_owned()))
                .map_err(errors::filepack)?;
            return Ok(PyBytes::new(py, &data).into_any());
        }
        let (start, len) = self.span(path).map_err(errors::filepack)?;
        slice(view, start, len)
    }

    /// The contents of every file in `paths`, looked up without the GIL, as slices of `view`;
    /// for a pack in object storage (`view` is `None`), `bytes` fetched by one coalesced call.
    fn read_many<'py>(
        &self,
        view: &Bound<'py, PyAny>,
        paths: Vec<String>,
    ) -> PyResult<Bound<'py, PyList>> {
        let py = view.py();
        if view.is_none() {
            let fetched = py.detach(|| {
                (self.pack.read_many(&paths).into_iter())
                    .map(|r| r.map(|d| d.into_owned()))
                    .collect::<Result<Vec<_>, _>>()
            });
            let out = PyList::empty(py);
            for data in fetched.map_err(errors::filepack)? {
                out.append(PyBytes::new(py, &data))?;
            }
            return Ok(out);
        }
        let spans = py.detach(|| {
            paths
                .iter()
                .map(|p| self.span(p))
                .collect::<Result<Vec<_>, _>>()
        });
        let spans = spans.map_err(errors::filepack)?;
        let out = PyList::empty(py);
        for (start, len) in spans {
            out.append(slice(view, start, len)?)?;
        }
        Ok(out)
    }

    /// The names in directory `path`.
    fn listdir(&self, path: &str) -> PyResult<Vec<String>> {
        let names = self.pack.listdir(path).map_err(errors::filepack)?;
        Ok(names.into_iter().map(str::to_owned).collect())
    }

    /// `os.walk` of the pack from `top`: `(dirpath, dirnames, filenames)` per directory,
    /// top-down; symlinks are listed with the files, as `os.walk` lists links it does not
    /// follow.
    fn walk(&self, py: Python<'_>, top: &str) -> PyResult<Vec<WalkStep>> {
        let walked: Result<Vec<_>, treepack::Error> = py.detach(|| {
            let mut out = Vec::new();
            for entry in self.pack.walk(top)? {
                let entry: Entry<'_> = entry?;
                if !entry.is_dir() {
                    continue;
                }
                let (mut dirs, mut files) = (Vec::new(), Vec::new());
                for child in entry.children()? {
                    let child = child?;
                    let name = child.name().to_owned();
                    if child.is_dir() {
                        dirs.push(name)
                    } else {
                        files.push(name)
                    }
                }
                out.push((entry.path().to_owned(), dirs, files));
            }
            Ok(out)
        });
        walked.map_err(errors::filepack)
    }

    /// Whether `path` is an entry.
    fn exists(&self, path: &str) -> bool {
        self.pack.exists(path)
    }

    /// Whether `path` is a file (after symlinks).
    fn isfile(&self, path: &str) -> bool {
        self.pack.is_file(path)
    }

    /// Whether `path` is a directory (after symlinks).
    fn isdir(&self, path: &str) -> bool {
        self.pack.is_dir(path)
    }

    /// `(kind, size, mode, mtime_seconds, mtime_nanos, checksum)` of `path` (after symlinks
    /// unless `follow_symlinks` is false).
    #[pyo3(signature = (path, follow_symlinks = true))]
    fn stat(
        &self,
        path: &str,
        follow_symlinks: bool,
    ) -> PyResult<(&'static str, u64, u32, i64, u32, String)> {
        let meta = if follow_symlinks {
            self.pack.metadata(path)
        } else {
            self.pack.symlink_metadata(path)
        }
        .map_err(errors::filepack)?;
        let (secs, nanos) = meta.mtime();
        Ok((
            kind_name(meta.kind()),
            meta.len(),
            meta.mode(),
            secs,
            nanos,
            format!("{:016x}", meta.checksum()),
        ))
    }

    /// The target of symlink `path`.
    fn readlink(&self, path: &str) -> PyResult<String> {
        self.pack
            .read_link(path)
            .map(str::to_owned)
            .map_err(errors::filepack)
    }

    /// Every file's path, in table order.
    fn files(&self) -> PyResult<Vec<String>> {
        self.pack
            .entries()
            .filter_map(|e| match e {
                Ok(e) if e.is_file() => Some(Ok(e.path().to_owned())),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_, _>>()
            .map_err(errors::filepack)
    }

    /// Reads every file and checks its checksum; returns the number of files checked.
    fn verify(&self, py: Python<'_>) -> PyResult<u64> {
        let summary = py.detach(|| self.pack.verify()).map_err(errors::filepack)?;
        Ok(summary.files)
    }
}

/// `builder` with each pattern of the Python list `patterns` added by `add` (an include or
/// an exclude glob).
fn add_globs(
    builder: PackBuilder,
    patterns: &Bound<'_, PyAny>,
    add: fn(PackBuilder, &str) -> Result<PackBuilder, treepack::BuildError>,
) -> PyResult<PackBuilder> {
    patterns
        .extract::<Vec<String>>()?
        .iter()
        .try_fold(builder, |b, pattern| add(b, pattern))
        .map_err(errors::py_err)
}

/// Packs the directory `src` into the pack file `out`; returns the summary as a dict.
#[pyfunction]
#[pyo3(signature = (src, out, options))]
pub fn pack_dir<'py>(
    py: Python<'py>,
    src: PathBuf,
    out: PathBuf,
    options: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    let mut builder = PackBuilder::new();
    for (key, value) in options.iter() {
        let key: String = key.extract()?;
        builder = match key.as_str() {
            "skip_hidden" => builder.skip_hidden(value.extract()?),
            "follow_links" => builder.follow_links(value.extract()?),
            "include_ext" => builder.include_ext(value.extract::<Vec<String>>()?),
            "exclude_ext" => builder.exclude_ext(value.extract::<Vec<String>>()?),
            "include_glob" => add_globs(builder, &value, PackBuilder::include_glob)?,
            "exclude_glob" => add_globs(builder, &value, PackBuilder::exclude_glob)?,
            "alignment" => builder
                .alignment(value.extract()?)
                .map_err(errors::py_err)?,
            "threads" => builder.threads(value.extract()?),
            "sync" => builder.sync(value.extract()?),
            "replace" => builder.replace(value.extract()?),
            "progress" => {
                if value.extract::<bool>()? {
                    builder.progress(|p: &treepack::Progress| {
                        eprint!(
                            "\rfilepack: {:?} {} / {} entries, {} bytes   ",
                            p.phase, p.entries_done, p.entries_total, p.bytes_done
                        );
                    })
                } else {
                    builder
                }
            }
            other => {
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "pack() got an unexpected option {other:?}"
                )));
            }
        };
    }
    let summary = py
        .detach(|| builder.pack_dir(&src, &out))
        .map_err(errors::py_err)?;
    let d = PyDict::new(py);
    d.set_item("entries", summary.entries)?;
    d.set_item("files", summary.files)?;
    d.set_item("dirs", summary.dirs)?;
    d.set_item("symlinks", summary.symlinks)?;
    d.set_item("bytes", summary.bytes)?;
    d.set_item("pack_len", summary.pack_len)?;
    d.set_item("skipped_special", summary.skipped_special)?;
    Ok(d)
}
