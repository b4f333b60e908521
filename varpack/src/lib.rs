//! # varpack
//!
//! Named sets of variables saved fast and loaded memory-mapped: arrays as `.npy` files (or
//! 64-byte-aligned members of one `.npz`) that numpy loads as they are, dictionaries mixing
//! arrays with other values, and any serde value as JSON.
//!
//! ## Quick start
//!
//! ```
//! use std::collections::BTreeMap;
//! use varpack::{Array, Item, LoadOptions, MapMode, Status, Varpack};
//! # let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("run1"); // a directory; a path ending in .npz gives one file
//!
//! let mut vp = Varpack::new();
//! vp.insert_array("temperature", &[20.5f64, 21.0, 22.5, 23.0], &[2, 2]).unwrap();
//! let mut cams = BTreeMap::new();
//! cams.insert("left".to_string(), Item::from(Array::from_slice(&[0u8; 6], &[2, 3]).unwrap()));
//! cams.insert("exposure_ms".to_string(), Item::json(&12.5).unwrap()); // dicts mix values
//! vp.insert_dict("cams", cams).unwrap();
//! vp.insert_value("settings", &("fast", 3)).unwrap();
//! vp.insert_value("notes", &vec!["long"; 3]).unwrap();
//! vp.set_separate("notes", true).unwrap(); // its own file, so loads can skip it cheaply
//! vp.save_as(&path).unwrap(); // atomic: a crash leaves the previous pack or this one
//!
//! // Arrays come back memory-mapped (read-only by default), lazily if asked.
//! let vp = LoadOptions::new().lazy(true).ignore(["notes"]).load(&path).unwrap();
//! assert_eq!(vp.status("temperature"), Some(Status::Unloaded));
//! assert_eq!(vp.view::<f64>("temperature").unwrap().get(&[1, 0]), Some(&22.5));
//! assert_eq!(vp.status("temperature"), Some(Status::Mapped));
//! assert_eq!(vp.get_value::<(String, i32)>("settings").unwrap(), ("fast".to_string(), 3));
//! assert!(vp.get_value::<Vec<String>>("notes").is_err()); // ignored: never read
//! println!("{vp}"); // a table: name, kind, dtype, shape, bytes, status
//! ```
//!
//! In Python, `np.load("run1/temperature.npy", mmap_mode="r")` reads the same array;
//! `examples/load_varpack.py` loads a whole pack with numpy and json alone.
//!
//! ## The two forms
//!
//! **Directory** (any path not ending in `.npz`):
//!
//! ```text
//! run1/
//!   varpack.json              the manifest (below)
//!   temperature.npy           one .npy per array, byte-identical to np.save
//!   cams~left.npy             dict arrays: NAME~KEY.npy
//!   values.json               {name: value} of the JSON values not stored separately (a
//!                             dict's other entries as one object under its name)
//!   notes.value.json          a JSON value stored in a file of its own
//! ```
//!
//! File names are derived from the names ([`file_stem`]): deterministic and collision-free,
//! never hashes.
//!
//! **Single file** (a path ending in `.npz`): an uncompressed `.npz` whose array members are
//! named by the values' own names (`temperature.npy`, `cams/left.npy`, UTF-8 as it is, so
//! `np.load(f).files` lists the variables; a name that is not a plain member name, or one
//! taken, gets its escaped [`file_stem`]) and have their data 64-byte aligned (npz-stream's
//! aligned stored members), plus raw members `values.json`, `NAME.value.json` and the manifest
//! `__varpack__.json` (appends add `__varpack__.1.json`, `__varpack__.2.json`, ...; the
//! highest is current). `np.load` opens it like any `.npz` (the JSON members come back as
//! raw bytes); any plain numpy `.npz` opens as a pack of its arrays.
//!
//! **The manifest** is JSON: `{"format": "varpack", "version": 1, "values": [...]}`, one
//! object per value, sorted by name, with `name`, `kind` (`array`, `dict`, `json`), `bytes`,
//! and for arrays `file`, `dtype` (the descr as `npy info --json` prints it), `fortran_order`,
//! `shape`; for dicts `entries` (`key`, `file`, `dtype`, `fortran_order`, `shape`, `bytes`);
//! for JSON values `file` (`values.json` or their own) and `separate`. A reader refuses
//! versions it does not know.
//!
//! ## Saving is atomic
//!
//! A directory pack `P` is saved by writing every file into `.P.ID.varpack-new` beside it
//! (`ID` is `PID-N`: the saving process and a counter), syncing each file and the directory,
//! then renaming `P` to `.P.ID.varpack-old`, renaming the new directory to `P`, syncing the
//! parent and removing the old one. A crash before the first rename leaves `P` untouched;
//! between the renames `P` is missing and [`Varpack::load`] rolls forward (the new directory is
//! complete), or back to the old one; after the second rename `P` is the new pack. A
//! single-file pack is written to a temporary file (`.P.ID.tmp`) and renamed over the old one
//! after a sync (npz-stream's [`NpzWriter`](npz_stream::NpzWriter)). Values not loaded (lazy
//! or ignored) are copied from the old pack, so a save after a partial load loses nothing.
//!
//! Re-saving a directory pack to its own path is cheap: an array whose `.npy` file holds its
//! data (mapped read-only or read-write, or not loaded) is hard-linked into the new directory
//! instead of written again, after checking that the old name still leads to the very file
//! mapped. A re-save after changing one scalar of a pack of 1 GiB of arrays takes about 2 ms
//! (`cargo xtask bench varpack`). Arrays in memory and copy-on-write maps are written; a save
//! to another path always copies, so two packs never share a file.
//!
//! A save that fails (a full disk, an error) removes every temporary it made; one killed
//! leaves them, and the next save of the pack removes those whose process is gone. A save that
//! replaces a pack gives the new one the old one's mode (the directory's, each file's of the
//! same name, or the single file's) and, where permitted, its owner; a new pack follows the
//! umask.
//!
//! ## Concurrent saves and loads
//!
//! Every save (and an append, and a load that finishes an interrupted save) takes an exclusive
//! lock on the lock file `.P.varpack-lock` beside the pack, created on first use and kept
//! (removing it could let two savers lock two different files). Saves of one pack from several
//! processes or threads therefore run one after the other, and the pack left is exactly one of
//! the sets saved, manifest and arrays alike. What a save does when the lock is held is its
//! [`LockMode`]: [`Wait`](LockMode::Wait) by default (saving a whole set is short, and two
//! saves of one pack mean to happen in turn), or `FailFast`, `Timeout` ([`SaveErrorKind::Locked`])
//! or `Off` (no lock: the caller ensures one writer). See [`Varpack::set_lock_mode`] and
//! [`LoadOptions::lock`].
//!
//! Loads take no lock. A load holds the directory (or archive) it opened and checks, after
//! opening each file by name, that the path still leads to it: a pack replaced while it is read
//! is read again (the later attempts under a shared lock), never mixed. A lazily loaded value of
//! a directory pack replaced since the load fails with [`LoadErrorKind::Replaced`] (a single-file
//! pack's old archive stays open and is read whole).
//!
//! [`inspect`] (what `varpack show` runs) is read-only: it writes nothing, not even the lock
//! file. A pack whose save was interrupted between its renames is reported as
//! [`LoadErrorKind::Interrupted`] (after waiting for a save in progress to finish) instead of being
//! rolled forward.
//!
//! Files in a pack that are not regular files (a FIFO, a device, a socket) are refused with
//! [`LoadErrorKind::NotRegular`] naming the file; they are opened without blocking and the type
//! checked is the opened file's.
//!
//! ## Modes
//!
//! [`MapMode::ReadOnly`] (default): writes to mapped arrays are refused. [`MapMode::ReadWrite`]:
//! writes go to the pack's files (for the single file, [`Varpack::flush`] or drop brings the
//! member CRC-32s up to date so numpy still reads it). [`MapMode::CopyOnWrite`]: writes stay
//! in memory. AlignedBinaryFormat's `abfopen` modes are [`Varpack::access`] with an
//! [`AccessMode`] (`"r"`, `"r+"`, `"w"`, `"w+"`, `"a"`, `"a+"` parse into one), each allowed
//! exactly what the seed documents: `r` refuses every change and save, `w` and `a` refuse reads,
//! `r+`/`a+` map arrays read-write, `w`/`w+` replace the pack on the first save and `a`/`a+`
//! add only new names to it (created if missing).
//!
//! A mapped pack must not be truncated or rewritten by another program while its values are
//! mapped (the usual memory-map caveat); this crate's own saves replace files by rename, which
//! leaves existing maps valid. **If a mapped file shrinks**, reading the part of a value past
//! the new end makes the process receive `SIGBUS` and die (system calls given such memory fail
//! with `EFAULT` instead). Load with [`LoadOptions::memory_map`]`(false)` to read every value
//! into memory with ordinary reads, where a file truncated while it is read is an error naming
//! it; `varpack convert` does.
//!
//! ## Reading from object storage
//!
//! [`LoadOptions::load_location`] (and [`Varpack::load_location`]) takes a path or a URL
//! (`s3://`, `gs://`, `az://`, `http(s)://`; feature `remote`, on with the default `cli`), the
//! store configured from the standard environment (`AWS_ENDPOINT_URL` for MinIO, Ceph or
//! another S3-compatible server, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
//! ...). [`load`](LoadOptions::load) itself takes local paths only, so a URL is never read as
//! a path nor a path as a URL (and a path-taking save refuses a URL: [`SaveErrorKind::Url`]).
//!
//! - `s3://bucket/runs/run1.npz`: a single-file pack or any numpy `.npz`, one object read by
//!   ranges (npz-stream's [`NpzReader::open_source`](npz_stream::NpzReader::open_source));
//!   [`LoadOptions::load_source`] takes any [`ByteSource`](npy_format::source::ByteSource).
//! - `s3://bucket/runs/run1` (or `.../run1/`): a directory pack uploaded file by file (`aws s3
//!   cp --recursive run1 s3://bucket/runs/run1`): the manifest is `run1/varpack.json`, each
//!   file `run1/FILE` under its own name; [`LoadOptions::load_objects`] takes any
//!   [`ObjectDir`].
//!
//! From storage, loads are lazy by default: the load reads the manifest, and each value is read
//! when first touched ([`get`](Varpack::get), [`array`](Varpack::array),
//! [`view`](Varpack::view), ...; [`LoadOptions::lazy`]`(false)` reads them all now). Arrays are
//! read into memory ([`Status::Loaded`], writable), never mapped. Requests, as the tests count
//! them (`tests/remote.rs`, in memory and on the S3 server of `cargo xtask test`):
//!
//! | step | directory pack | single-file pack |
//! |---|---|---|
//! | load (lazy) | 1: `varpack.json` (whatever the number of values) | 2: the archive's end records and directory (3 for a directory past its last 64 KiB), then the manifest member |
//! | an array (or a dict's array), first touch | 1: its `.npy`, header and data in one ranged GET sized from the manifest (2 past 64 MiB, or if the manifest's size falls short) | 1: its whole member, CRC-checked (then 1 per 8 MiB) |
//! | a JSON value | 1 for `values.json`, read once and kept for every value in it; 1 for a value stored on its own | the same, as members |
//! | [`inspect`](LoadOptions::inspect_location) (`varpack show`) | the load, `values.json`, then 1 per array header and per separate JSON value | the same, as members |
//!
//! A plain numpy `.npz` has no manifest: its load lists every member's header, one
//! `read_ranges` call per 256 members after the open. Errors are the usual typed
//! [`LoadError`]s, naming the URL: `URL/varpack.json` for a missing or bad manifest (a missing
//! one is [`LoadErrorKind::Io`] of kind `NotFound`), the pack's URL for an object the manifest
//! lists but the prefix lacks ([`LoadErrorKind::MissingFile`]), `URL/FILE` for a bad object.
//! What differs from a local pack: nothing is held open or checked against replacement (a pack
//! replaced in storage while a lazy load reads it can mix the two; load it again), and there is
//! no lock.
//!
//! **Writing.** A pack loaded from storage has no path: [`Varpack::save`] refuses
//! ([`SaveErrorKind::FromStorage`]) rather than write to storage by surprise; save a copy with
//! [`save_as`](Varpack::save_as) (a local path) or [`Varpack::save_as_location`] (a URL ending
//! in `.npz`). The latter writes the single file to a temporary file in the system's temporary
//! directory, then uploads it (npy-format's `upload_file`: one PUT under 8 MiB, else a
//! multipart upload), so nothing is visible at the URL until the whole archive is, and a failed
//! upload leaves what was there; the temporary is removed. The directory form is never written
//! to storage ([`SaveErrorKind::DirectoryToStorage`]): a store cannot replace a prefix of
//! objects atomically, and even uploading the manifest last would let a reader that loaded the
//! old manifest read new arrays under it. `varpack show URL` prints what it prints for the
//! local pack; `varpack convert` takes URLs for IN, and for OUT a URL ending in `.npz`.
//!
//! ## Migrating from Varpack and AlignedBinaryFormat
//!
//! [`convert::read`] (what `varpack convert` runs on such inputs) reads a folder written by
//! Varpack (Python: its `varpack.json`, `.npy` arrays, hash-named dict arrays and pickles,
//! decoded as data without running anything: plain values, numpy arrays and scalars, the
//! placeholders of dict arrays) and AlignedBinaryFormat `.abf` files (Julia: arrays of every
//! element type numpy has, as Fortran-order arrays, `BitArray`s unpacked, `Char`s as `<U1`,
//! strings). What this crate cannot hold exactly (other pickled objects, Julia-serialized
//! values) is refused, naming the value, or left out with
//! [`ConvertOptions::skip_unreadable`](convert::ConvertOptions::skip_unreadable);
//! 128-bit integers are refused (numpy has no such dtype).
//!
//! ## Features
//!
//! - `cli` (default): the `varpack` command-line tool (`show`, `convert`); turns on `remote`.
//! - `remote`: packs in object storage by URL ([`LoadOptions::load_location`],
//!   [`Varpack::save_as_location`]; see "Reading from object storage"). Without it a URL is an
//!   error of kind [`std::io::ErrorKind::Unsupported`]; [`LoadOptions::load_source`] and
//!   [`LoadOptions::load_objects`] work without it.
//! - `ndarray`: arrays as `ndarray` views of a named dimension ([`Varpack::ndarray`],
//!   [`Array::to_ndarray`]), owned copies of either byte order ([`Array::to_owned_ndarray`]),
//!   and any `ArrayBase` stored ([`Varpack::insert_ndarray`]); `varpack::ndarray` re-exported.
//! - `fault-injection`: for this crate's tests only, never for programs: `varpack::testing`
//!   stops saves at chosen points as if the process died there (`SaveErrorKind::Injected`).

#![forbid(unsafe_code)]

mod array;
pub mod convert;
mod error;
mod info;
mod item;
mod load;
mod lock;
mod manifest;
mod mode;
mod names;
#[cfg(feature = "ndarray")]
mod nd;
mod pack;
mod save;
mod table;
mod temps;
#[cfg(feature = "fault-injection")]
pub mod testing;

pub use array::Array;
pub use array_files_fs::error::{PathError, ResultKind};
pub use error::{
    ArrayError, GetError, InsertError, LoadError, LoadErrorKind, SaveError, SaveErrorKind,
};
pub use info::{Info, KeyInfo, SkippedMember};
pub use item::{Dict, Item};
pub use load::LoadOptions;
pub use load::inspect::inspect;
pub use load::remote::ObjectDir;
pub use lock::LockMode;
pub use manifest::FORMAT_VERSION;
pub use mode::{AccessMode, ParseAccessModeError};
pub use names::{MANIFEST, NPZ_MANIFEST, VALUES, escape_component, file_stem};
#[cfg(feature = "ndarray")]
pub use ndarray;
pub use npy_format;
pub use npy_format::Mode as MapMode;
pub use npz_stream;
pub use pack::{Form, Varpack};

use std::collections::BTreeMap;

/// What a value is.
///
/// ```
/// assert_eq!(varpack::Kind::Dict.to_string(), "dict");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Kind {
    /// An array.
    Array,
    /// A dictionary of arrays.
    Dict,
    /// Any other value, as JSON.
    Json,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Array => "array",
            Kind::Dict => "dict",
            Kind::Json => "json",
        })
    }
}

/// Where a value is.
///
/// ```
/// assert_eq!(varpack::Status::Mapped.to_string(), "mapped");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Status {
    /// Not read yet (lazy load, or ignored).
    Unloaded,
    /// Backed by a memory map of the pack.
    Mapped,
    /// In memory.
    Loaded,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Unloaded => "unloaded",
            Status::Mapped => "mapped",
            Status::Loaded => "loaded",
        })
    }
}

/// A value of a pack.
///
/// ```
/// let v = varpack::Value::from(varpack::Array::from_slice(&[1u8], &[1]).unwrap());
/// assert_eq!(v.kind(), varpack::Kind::Array);
/// let j = varpack::Value::json(&vec![1, 2]).unwrap();
/// assert_eq!(j.kind(), varpack::Kind::Json);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Value {
    /// An array.
    Array(Array),
    /// A dictionary: its arrays each stored as its own `.npy`, its other entries as JSON.
    Dict(Dict),
    /// Any serde value.
    Json(serde_json::Value),
}

impl Value {
    /// A JSON value from anything serde serializes.
    ///
    /// # Errors
    /// The serde error (e.g. maps with non-string keys).
    ///
    /// ```
    /// let v = varpack::Value::json(&("a", 1)).unwrap();
    /// assert!(matches!(v, varpack::Value::Json(_)));
    /// ```
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Value, serde_json::Error> {
        Ok(Value::Json(serde_json::to_value(value)?))
    }

    /// The kind.
    ///
    /// ```
    /// assert_eq!(varpack::Value::Json(1.into()).kind(), varpack::Kind::Json);
    /// ```
    pub fn kind(&self) -> Kind {
        match self {
            Value::Array(_) => Kind::Array,
            Value::Dict(_) => Kind::Dict,
            Value::Json(_) => Kind::Json,
        }
    }

    /// [`Status::Mapped`] if any array of the value is mapped, else [`Status::Loaded`].
    ///
    /// ```
    /// assert_eq!(varpack::Value::Json(1.into()).status(), varpack::Status::Loaded);
    /// ```
    pub fn status(&self) -> Status {
        let mapped = match self {
            Value::Array(a) => a.status() == Status::Mapped,
            Value::Dict(d) => item::arrays(d).any(|(_, a)| a.status() == Status::Mapped),
            Value::Json(_) => false,
        };
        if mapped {
            Status::Mapped
        } else {
            Status::Loaded
        }
    }

    /// Bytes of array data, or of the compact JSON text (a dict's: both).
    ///
    /// ```
    /// let v = varpack::Value::from(varpack::Array::from_slice(&[0f64; 4], &[4]).unwrap());
    /// assert_eq!(v.byte_len(), 32);
    /// ```
    pub fn byte_len(&self) -> u64 {
        match self {
            Value::Array(a) => a.as_bytes().len() as u64,
            Value::Dict(d) => {
                let arrays: u64 = item::arrays(d)
                    .map(|(_, a)| a.as_bytes().len() as u64)
                    .sum();
                arrays + self.json_len()
            }
            Value::Json(_) => self.json_len(),
        }
    }

    /// Bytes of the compact JSON text of the value's JSON part: a JSON value's, a dict's
    /// other entries' (0 if it has none), 0 for an array.
    pub(crate) fn json_len(&self) -> u64 {
        let compact = |j: &serde_json::Value| serde_json::to_vec(j).map_or(0, |v| v.len() as u64);
        match self {
            Value::Array(_) => 0,
            Value::Dict(d) => {
                let json = item::json_object(d);
                if json.is_empty() {
                    0
                } else {
                    compact(&json.into())
                }
            }
            Value::Json(j) => compact(j),
        }
    }

    fn detach(&mut self) {
        match self {
            Value::Array(a) => a.detach(),
            Value::Dict(d) => item::arrays_mut(d).for_each(Array::detach),
            Value::Json(_) => {}
        }
    }
}

impl From<Array> for Value {
    fn from(a: Array) -> Value {
        Value::Array(a)
    }
}

impl From<BTreeMap<String, Array>> for Value {
    fn from(d: BTreeMap<String, Array>) -> Value {
        Value::Dict(d.into_iter().map(|(k, a)| (k, Item::Array(a))).collect())
    }
}

impl From<Dict> for Value {
    fn from(d: Dict) -> Value {
        Value::Dict(d)
    }
}

impl From<serde_json::Value> for Value {
    fn from(j: serde_json::Value) -> Value {
        Value::Json(j)
    }
}

/// Plain `cargo test` skips the crash tests (they stop saves through [`testing`], which only
/// the `fault-injection` feature builds); this ignored test says so in its output.
#[cfg(all(test, not(feature = "fault-injection")))]
mod crash_tests {
    #[test]
    #[ignore = "tests/pack.rs, safety.rs and cli.rs need --features fault-injection (cargo xtask test and --all-features enable it)"]
    fn need_the_fault_injection_feature() {}
}
