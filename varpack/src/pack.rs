//! The pack: a named set of values ([`Varpack`]) and the collection API over it (insert,
//! replace, remove, get, typed views, flush). Loading is in `load`, saving in `save`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use npy_format::{Element, Mode, TypedView, TypedViewMut};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ArrayError, GetError, InsertError, SaveError, SaveErrorKind};
use crate::load::source::Source;
use crate::load::value::load_entry;
use crate::lock::LockMode;
use crate::manifest::Entry;
use crate::mode::Access;
use crate::{Array, Dict, Item, Kind, Status, Value};

/// The two on-disk forms.
///
/// ```
/// assert_eq!(varpack::Form::for_path("a.npz"), varpack::Form::File);
/// assert_eq!(varpack::Form::for_path("a"), varpack::Form::Directory);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Form {
    /// A directory of `.npy` and JSON files with `varpack.json`.
    Directory,
    /// One uncompressed `.npz`.
    File,
}

impl Form {
    /// [`Form::File`] for paths ending in `.npz` (any case), else [`Form::Directory`].
    ///
    /// ```
    /// assert_eq!(varpack::Form::for_path("x/Y.NPZ"), varpack::Form::File);
    /// ```
    pub fn for_path(path: impl AsRef<Path>) -> Form {
        let is_npz = path
            .as_ref()
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npz"));
        if is_npz { Form::File } else { Form::Directory }
    }
}

/// One value of a pack: the value once read, and where to read it from until then.
#[derive(Debug)]
pub(crate) struct Slot {
    /// Its manifest entry, if it came from a pack (else it was inserted since).
    pub(crate) meta: Option<Entry>,
    /// The pack it came from.
    pub(crate) source: Option<Arc<Source>>,
    /// The value, once read (lazy loads fill it on first access).
    pub(crate) cell: OnceLock<Value>,
    /// A JSON value stored in a file of its own.
    pub(crate) separate: bool,
    /// On the load's ignore list: never read.
    pub(crate) ignored: bool,
    /// Left out of saves ([`Varpack::set_skip_save`]).
    pub(crate) skip_save: bool,
    /// How its arrays are mapped when read.
    pub(crate) mode: Mode,
}

impl Slot {
    pub(crate) fn new(value: Value) -> Slot {
        Slot {
            meta: None,
            source: None,
            cell: OnceLock::from(value),
            separate: false,
            ignored: false,
            skip_save: false,
            mode: Mode::ReadOnly,
        }
    }

    pub(crate) fn kind(&self) -> Kind {
        match (self.cell.get(), &self.meta) {
            (Some(v), _) => v.kind(),
            (None, Some(m)) => m.kind,
            (None, None) => Kind::Json,
        }
    }
}

/// A named set of values: arrays, dicts of arrays, JSON values.
///
/// Names are unique; [`insert`](Self::insert) refuses a name in use and
/// [`replace`](Self::replace) overwrites explicitly. Values are listed sorted by name.
///
/// ```
/// let mut vp = varpack::Varpack::new();
/// vp.insert_array("x", &[1i16, 2, 3], &[3]).unwrap();
/// vp.insert_value("label", "first run").unwrap();
/// assert_eq!(vp.names(), vec!["label", "x"]);
/// assert_eq!(vp.get_value::<String>("label").unwrap(), "first run");
/// assert_eq!(vp.array("x").unwrap().to_vec::<i16>().unwrap(), vec![1, 2, 3]);
/// ```
#[derive(Debug)]
pub struct Varpack {
    pub(crate) slots: BTreeMap<String, Slot>,
    /// Where [`save`](Self::save) writes.
    pub(crate) path: Option<PathBuf>,
    /// The pack this one was loaded from (or last saved to).
    pub(crate) source: Option<Arc<Source>>,
    /// Opened with [`Varpack::append`]: a save adds the new values in
    /// place.
    pub(crate) append: bool,
    /// The lock mode of saves.
    pub(crate) lock: LockMode,
    /// Names of values of the loaded manifest removed since (an append drops them).
    pub(crate) removed: HashSet<String>,
    /// Loaded with [`LoadOptions::memory_map`](crate::LoadOptions::memory_map) false.
    pub(crate) unmapped: bool,
    /// JSON values (and dicts' JSON entries) of at least this many bytes get files of their own.
    pub(crate) separate_min_bytes: Option<u64>,
    /// What [`Varpack::access`]'s mode allows.
    pub(crate) access: Access,
    /// Dict arrays of fewer elements are stored among the dict's JSON entries.
    pub(crate) dict_inline_below: Option<u64>,
    /// Saves put the pack on stable storage (fsync) before and after its renames.
    pub(crate) sync: bool,
}

impl Default for Varpack {
    fn default() -> Varpack {
        Varpack {
            slots: BTreeMap::new(),
            path: None,
            source: None,
            append: false,
            lock: LockMode::Wait,
            removed: HashSet::new(),
            unmapped: false,
            separate_min_bytes: None,
            access: Access::Full,
            dict_inline_below: None,
            sync: true,
        }
    }
}

impl Varpack {
    /// An empty pack, not attached to any path.
    ///
    /// ```
    /// assert!(varpack::Varpack::new().is_empty());
    /// ```
    pub fn new() -> Varpack {
        Varpack::default()
    }

    /// The path this pack loads from and [`save`](Self::save)s to.
    ///
    /// ```
    /// assert!(varpack::Varpack::new().path().is_none());
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Attaches the pack to `path` for [`save`](Self::save) (the form follows the extension).
    /// Values not loaded are still copied from where they were loaded.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut vp = varpack::Varpack::new();
    /// vp.set_path(dir.path().join("p.npz"));
    /// vp.save().unwrap();
    /// ```
    pub fn set_path(&mut self, path: impl AsRef<Path>) {
        self.path = Some(path.as_ref().to_path_buf());
        self.append = false;
    }

    /// The number of values.
    ///
    /// ```
    /// assert_eq!(varpack::Varpack::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there are no values.
    ///
    /// ```
    /// assert!(varpack::Varpack::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The names, sorted.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("b", &1).unwrap();
    /// vp.insert_value("a", &2).unwrap();
    /// assert_eq!(vp.names(), vec!["a", "b"]);
    /// ```
    pub fn names(&self) -> Vec<&str> {
        self.slots.keys().map(String::as_str).collect()
    }

    /// Whether `name` is in the pack.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("a", &1).unwrap();
    /// assert!(vp.contains("a") && !vp.contains("b"));
    /// ```
    pub fn contains(&self, name: &str) -> bool {
        self.slots.contains_key(name)
    }

    /// The kind of `name`, without loading it.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("a", &1).unwrap();
    /// assert_eq!(vp.kind("a"), Some(varpack::Kind::Json));
    /// ```
    pub fn kind(&self, name: &str) -> Option<Kind> {
        self.slots.get(name).map(Slot::kind)
    }

    /// The status of `name`: unloaded, mapped or loaded.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("a", &1).unwrap();
    /// assert_eq!(vp.status("a"), Some(varpack::Status::Loaded));
    /// ```
    pub fn status(&self, name: &str) -> Option<Status> {
        self.slots
            .get(name)
            .map(|s| s.cell.get().map_or(Status::Unloaded, Value::status))
    }

    fn check_name(&self, name: &str) -> Result<(), InsertError> {
        self.check_insertable(name)?;
        let invalid = |reason| InsertError::InvalidName {
            name: name.to_owned(),
            reason,
        };
        if name.is_empty() {
            return Err(invalid("names must not be empty"));
        }
        if name.contains('\0') {
            return Err(invalid("names must not contain NUL"));
        }
        if name.starts_with("__varpack__") {
            return Err(invalid("names starting with __varpack__ are reserved"));
        }
        Ok(())
    }

    /// Adds a value; refuses a name already in use.
    ///
    /// # Errors
    /// [`InsertError::Exists`], [`InsertError::InvalidName`].
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert("x", varpack::Array::from_slice(&[1u8], &[1]).unwrap()).unwrap();
    /// assert!(vp.insert("x", serde_json::json!(1)).is_err());
    /// ```
    pub fn insert(&mut self, name: &str, value: impl Into<Value>) -> Result<(), InsertError> {
        self.check_name(name)?;
        if self.slots.contains_key(name) {
            return Err(InsertError::Exists {
                name: name.to_owned(),
            });
        }
        self.slots.insert(name.to_owned(), Slot::new(value.into()));
        Ok(())
    }

    /// Sets a value, overwriting any value of that name (explicitly). Returns whether one
    /// was replaced.
    ///
    /// # Errors
    /// [`InsertError::InvalidName`].
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// assert!(!vp.replace("x", serde_json::json!(1)).unwrap());
    /// assert!(vp.replace("x", serde_json::json!(2)).unwrap());
    /// assert_eq!(vp.get_value::<i32>("x").unwrap(), 2);
    /// ```
    pub fn replace(&mut self, name: &str, value: impl Into<Value>) -> Result<bool, InsertError> {
        self.check_name(name)?;
        let separate = self.slots.get(name).is_some_and(|s| s.separate);
        let mut slot = Slot::new(value.into());
        slot.separate = separate;
        Ok(self.slots.insert(name.to_owned(), slot).is_some())
    }

    /// Adds a C-order array of `T`.
    ///
    /// # Errors
    /// As [`insert`](Self::insert); [`InsertError::Array`] if `data` does not fit `shape`.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("m", &[1.0f64; 6], &[2, 3]).unwrap();
    /// assert!(vp.insert_array("bad", &[1.0f64; 5], &[2, 3]).is_err());
    /// ```
    pub fn insert_array<T: Element>(
        &mut self,
        name: &str,
        data: &[T],
        shape: &[u64],
    ) -> Result<(), InsertError> {
        let array = Array::from_slice(data, shape).map_err(|source| InsertError::Array {
            name: name.to_owned(),
            source,
        })?;
        self.insert(name, array)
    }

    /// Adds a dict: its arrays are each saved as their own `.npy` (mapped on load), its other
    /// entries ([`Item::Json`]) with the pack's JSON values. Entries are anything that converts
    /// into an [`Item`]: arrays, JSON values, or items.
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    ///
    /// ```
    /// use varpack::{Array, Item};
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_dict("d", [("a", Array::from_slice(&[1u8], &[1]).unwrap())]).unwrap();
    /// assert_eq!(vp.dict_array("d", "a").unwrap().as_bytes(), &[1]);
    /// // Arrays and other values in one dict:
    /// vp.insert_dict("run", [
    ///     ("adc", Item::from(Array::from_slice(&[7i16; 4], &[4]).unwrap())),
    ///     ("label", Item::json(&"calibration").unwrap()),
    /// ]).unwrap();
    /// assert_eq!(vp.dict_value::<String>("run", "label").unwrap(), "calibration");
    /// ```
    pub fn insert_dict<I, K, V>(&mut self, name: &str, entries: I) -> Result<(), InsertError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Item>,
    {
        let dict = entries
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.insert(name, Value::Dict(dict))
    }

    /// Adds any serde value, stored as JSON.
    ///
    /// # Errors
    /// As [`insert`](Self::insert); [`InsertError::Json`] if it does not serialize.
    ///
    /// ```
    /// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    /// struct Cfg { rate: f64, tags: Vec<String> }
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("cfg", &Cfg { rate: 0.5, tags: vec!["a".into()] }).unwrap();
    /// assert_eq!(vp.get_value::<Cfg>("cfg").unwrap().rate, 0.5);
    /// ```
    pub fn insert_value<T: Serialize + ?Sized>(
        &mut self,
        name: &str,
        value: &T,
    ) -> Result<(), InsertError> {
        let json = Value::json(value).map_err(|source| InsertError::Json {
            name: name.to_owned(),
            source,
        })?;
        self.insert(name, json)
    }

    /// Sets any serde value, overwriting (see [`replace`](Self::replace)).
    ///
    /// # Errors
    /// As [`insert_value`](Self::insert_value), except that the name may exist.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.replace_value("n", &1).unwrap();
    /// vp.replace_value("n", &2).unwrap();
    /// assert_eq!(vp.get_value::<u8>("n").unwrap(), 2);
    /// ```
    pub fn replace_value<T: Serialize + ?Sized>(
        &mut self,
        name: &str,
        value: &T,
    ) -> Result<bool, InsertError> {
        let json = Value::json(value).map_err(|source| InsertError::Json {
            name: name.to_owned(),
            source,
        })?;
        self.replace(name, json)
    }

    /// Removes a value; returns whether it existed. Its files disappear at the next save.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("n", &1).unwrap();
    /// assert!(vp.remove("n"));
    /// assert!(!vp.remove("n"));
    /// ```
    pub fn remove(&mut self, name: &str) -> bool {
        match self.slots.remove(name) {
            Some(slot) => {
                if slot.meta.is_some() {
                    self.removed.insert(name.to_owned());
                }
                true
            }
            None => false,
        }
    }

    /// Stores JSON value `name` in a file of its own (so loads can skip it cheaply), or back
    /// in the shared document. Arrays and dicts always have files of their own.
    ///
    /// # Errors
    /// [`GetError::Missing`].
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("big", &vec![0; 1000]).unwrap();
    /// vp.set_separate("big", true).unwrap();
    /// assert!(vp.infos()[0].separate);
    /// ```
    pub fn set_separate(&mut self, name: &str, separate: bool) -> Result<(), GetError> {
        let slot = self.slots.get_mut(name).ok_or_else(|| GetError::Missing {
            name: name.to_owned(),
        })?;
        slot.separate = separate;
        Ok(())
    }

    /// Saves store every JSON value (and a dict's JSON entries) whose compact JSON text is at
    /// least `bytes` long in a file of its own, as [`set_separate`](Self::set_separate) does
    /// for one value: loads can then skip them cheaply (Varpack's `sep_var_min_size`). `None`
    /// (the default): only values marked separate.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("log", &vec!["line"; 5000]).unwrap();
    /// vp.insert_value("n", &1).unwrap();
    /// vp.set_separate_min_bytes(Some(10_000));
    /// vp.save_as(dir.path().join("p")).unwrap();
    /// let loaded = varpack::Varpack::load(dir.path().join("p")).unwrap();
    /// let separate: Vec<_> = loaded.infos().into_iter().filter(|i| i.separate).map(|i| i.name).collect();
    /// assert_eq!(separate, ["log"]);
    /// ```
    pub fn set_separate_min_bytes(&mut self, bytes: Option<u64>) {
        self.separate_min_bytes = bytes;
    }

    /// Saves store a dict's arrays of fewer than `elements` elements among the dict's JSON
    /// entries (encoded: `{"__ndarray__": {"descr", "fortran_order", "shape", "data"}}`, the
    /// data in base64) instead of as `.npy` files of their own, so that a dict of many small
    /// arrays does not become as many files (Varpack's `min_dict_numpy_size`). They load back
    /// as arrays, in memory (dtype, order and shape exactly); larger ones stay files, mapped on
    /// load. `None` (the default): every dict array is a file of its own.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use varpack::{Array, Item};
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_dict("d", [
    ///     ("small", Item::from(Array::from_slice(&[1u8, 2, 3], &[3]).unwrap())),
    ///     ("big", Item::from(Array::from_slice(&[0f32; 20_000], &[20_000]).unwrap())),
    /// ]).unwrap();
    /// vp.set_dict_array_min_elements(Some(10_000));
    /// vp.save_as(dir.path().join("p")).unwrap();
    /// let files = std::fs::read_dir(dir.path().join("p")).unwrap()
    ///     .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "npy")).count();
    /// assert_eq!(files, 1); // only "big"
    /// let back = varpack::Varpack::load(dir.path().join("p")).unwrap();
    /// assert_eq!(back.dict_array("d", "small").unwrap().to_vec::<u8>().unwrap(), [1, 2, 3]);
    /// ```
    pub fn set_dict_array_min_elements(&mut self, elements: Option<u64>) {
        self.dict_inline_below = elements;
    }

    /// Whether saves put the pack on stable storage (default true): every file and the
    /// directories are synced before and after the renames that put the pack in place, so a
    /// power loss leaves the old pack or the new one. Off, nothing is synced: a save is still
    /// atomic for every process (a crash of this process leaves the old pack or the new one),
    /// but a power loss soon after may leave empty or partial files. For scratch results that
    /// can be made again (`np.save` never syncs); `cargo xtask bench varpack` measures both.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("x", &[1.0f64; 1000], &[1000]).unwrap();
    /// vp.set_sync(false);
    /// vp.save_as(dir.path().join("scratch")).unwrap();
    /// ```
    pub fn set_sync(&mut self, sync: bool) {
        self.sync = sync;
    }

    /// Leaves value `name` out of saves (or puts it back): it stays in this `Varpack`, but a
    /// save writes the pack without it (Varpack's `skip_saving_vars`).
    ///
    /// # Errors
    /// [`GetError::Missing`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("scratch", &[1, 2]).unwrap();
    /// vp.insert_value("kept", &3).unwrap();
    /// vp.set_skip_save("scratch", true).unwrap();
    /// vp.save_as(dir.path().join("p")).unwrap();
    /// assert_eq!(varpack::Varpack::load(dir.path().join("p")).unwrap().names(), ["kept"]);
    /// assert!(vp.contains("scratch"));
    /// ```
    pub fn set_skip_save(&mut self, name: &str, skip: bool) -> Result<(), GetError> {
        let slot = self.slots.get_mut(name).ok_or_else(|| GetError::Missing {
            name: name.to_owned(),
        })?;
        slot.skip_save = skip;
        Ok(())
    }

    fn slot_value<'a>(&self, name: &str, slot: &'a Slot) -> Result<&'a Value, GetError> {
        self.check_readable(name)?;
        if let Some(v) = slot.cell.get() {
            return Ok(v);
        }
        if slot.ignored {
            return Err(GetError::Ignored {
                name: name.to_owned(),
            });
        }
        let (Some(source), Some(meta)) = (&slot.source, &slot.meta) else {
            return Err(GetError::Missing {
                name: name.to_owned(),
            });
        };
        let value = load_entry(source, meta, slot.mode, None).map_err(Box::new)?;
        let _ = slot.cell.set(value);
        slot.cell.get().ok_or_else(|| GetError::Missing {
            name: name.to_owned(),
        })
    }

    /// Value `name`, read now if it was not (lazy load).
    ///
    /// # Errors
    /// [`GetError::Missing`], [`GetError::Ignored`], [`GetError::Load`].
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("n", &1).unwrap();
    /// assert!(matches!(vp.get("n").unwrap(), varpack::Value::Json(_)));
    /// ```
    pub fn get(&self, name: &str) -> Result<&Value, GetError> {
        let slot = self.slots.get(name).ok_or_else(|| GetError::Missing {
            name: name.to_owned(),
        })?;
        self.slot_value(name, slot)
    }

    /// Value `name`, mutably (read now if it was not).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("n", &1).unwrap();
    /// *vp.get_mut("n").unwrap() = varpack::Value::Json(2.into());
    /// assert_eq!(vp.get_value::<i32>("n").unwrap(), 2);
    /// ```
    pub fn get_mut(&mut self, name: &str) -> Result<&mut Value, GetError> {
        self.check_mutable(name)?;
        self.get(name)?;
        self.slots
            .get_mut(name)
            .and_then(|s| s.cell.get_mut())
            .ok_or_else(|| GetError::Missing {
                name: name.to_owned(),
            })
    }

    fn wrong_kind(name: &str, expected: Kind, found: &Value) -> GetError {
        GetError::WrongKind {
            name: name.to_owned(),
            expected,
            found: found.kind(),
        }
    }

    /// Array `name`.
    ///
    /// # Errors
    /// As [`get`](Self::get); [`GetError::WrongKind`].
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("x", &[1u8], &[1]).unwrap();
    /// vp.insert_value("n", &1).unwrap();
    /// assert_eq!(vp.array("x").unwrap().shape(), &[1]);
    /// assert_eq!(vp.array("n").unwrap_err().to_string(), "value 'n' is json, not array");
    /// ```
    pub fn array(&self, name: &str) -> Result<&Array, GetError> {
        match self.get(name)? {
            Value::Array(a) => Ok(a),
            other => Err(Self::wrong_kind(name, Kind::Array, other)),
        }
    }

    /// Array `name`, mutably (writes through a read-write map go to the pack).
    ///
    /// # Errors
    /// As [`array`](Self::array).
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("x", &[1u8], &[1]).unwrap();
    /// vp.array_mut("x").unwrap().as_bytes_mut().unwrap()[0] = 5;
    /// assert_eq!(vp.array("x").unwrap().as_bytes(), &[5]);
    /// ```
    pub fn array_mut(&mut self, name: &str) -> Result<&mut Array, GetError> {
        match self.get_mut(name)? {
            Value::Array(a) => Ok(a),
            other => Err(Self::wrong_kind(name, Kind::Array, other)),
        }
    }

    fn check_dtype<T: Element>(name: &str, a: &Array) -> Result<(), GetError> {
        if !T::accepts(a.dtype()) {
            return Err(GetError::WrongDType {
                name: name.to_owned(),
                expected: T::dtype().descr(),
                found: a.dtype().descr(),
            });
        }
        Ok(())
    }

    /// The value of the 0-d array `name` (numpy's scalar arrays, `np.array(3.5)`), as a `T`
    /// (any byte order: the value is swapped to native if need be).
    ///
    /// # Errors
    /// As [`array`](Self::array); [`GetError::WrongDType`] for another element type;
    /// [`GetError::NotScalar`] for an array with dimensions.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("lr", &[0.001f64], &[]).unwrap();
    /// vp.insert_array("x", &[1.0f64, 2.0], &[2]).unwrap();
    /// assert_eq!(vp.get_scalar::<f64>("lr").unwrap(), 0.001);
    /// assert!(matches!(vp.get_scalar::<f64>("x"), Err(varpack::GetError::NotScalar { .. })));
    /// assert!(vp.get_scalar::<f32>("lr").is_err());
    /// ```
    pub fn get_scalar<T: Element>(&self, name: &str) -> Result<T, GetError> {
        let a = self.array(name)?;
        if !a.shape().is_empty() {
            return Err(GetError::NotScalar {
                name: name.to_owned(),
                shape: a.shape().to_vec(),
            });
        }
        Self::check_dtype::<T>(name, a)?;
        let values = a.to_vec::<T>().map_err(|source| GetError::Array {
            name: name.to_owned(),
            source,
        })?;
        values
            .into_iter()
            .next()
            .ok_or_else(|| GetError::NotScalar {
                name: name.to_owned(),
                shape: Vec::new(),
            })
    }

    /// A zero-copy typed view of array `name`.
    ///
    /// # Errors
    /// As [`array`](Self::array); [`GetError::WrongDType`]; [`GetError::Array`] for byte
    /// order or alignment.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("x", &[1.5f32, 2.5], &[2]).unwrap();
    /// assert_eq!(vp.view::<f32>("x").unwrap().as_slice(), &[1.5, 2.5]);
    /// ```
    pub fn view<T: Element>(&self, name: &str) -> Result<TypedView<'_, T>, GetError> {
        let a = self.array(name)?;
        Self::check_dtype::<T>(name, a)?;
        a.view().map_err(|source| GetError::Array {
            name: name.to_owned(),
            source,
        })
    }

    /// A zero-copy writable typed view of array `name`.
    ///
    /// # Errors
    /// As [`view`](Self::view); [`GetError::Array`] with [`ArrayError::ReadOnly`] for
    /// read-only maps.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("x", &[1i64, 2], &[2]).unwrap();
    /// vp.view_mut::<i64>("x").unwrap().as_mut_slice()[1] = 5;
    /// assert_eq!(vp.view::<i64>("x").unwrap().as_slice(), &[1, 5]);
    /// ```
    pub fn view_mut<T: Element>(&mut self, name: &str) -> Result<TypedViewMut<'_, T>, GetError> {
        let a = self.array_mut(name)?;
        Self::check_dtype::<T>(name, a)?;
        a.view_mut().map_err(|source| GetError::Array {
            name: name.to_owned(),
            source,
        })
    }

    /// Dict `name`.
    ///
    /// # Errors
    /// As [`get`](Self::get); [`GetError::WrongKind`].
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_dict("d", varpack::Dict::new()).unwrap();
    /// assert!(vp.dict("d").unwrap().is_empty());
    /// ```
    pub fn dict(&self, name: &str) -> Result<&Dict, GetError> {
        match self.get(name)? {
            Value::Dict(d) => Ok(d),
            other => Err(Self::wrong_kind(name, Kind::Dict, other)),
        }
    }

    /// Dict `name`, mutably.
    ///
    /// # Errors
    /// As [`dict`](Self::dict).
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_dict("d", varpack::Dict::new()).unwrap();
    /// let a = varpack::Array::from_slice(&[1u8], &[1]).unwrap();
    /// vp.dict_mut("d").unwrap().insert("k".into(), a.into());
    /// assert_eq!(vp.dict("d").unwrap().len(), 1);
    /// ```
    pub fn dict_mut(&mut self, name: &str) -> Result<&mut Dict, GetError> {
        match self.get_mut(name)? {
            Value::Dict(d) => Ok(d),
            other => Err(Self::wrong_kind(name, Kind::Dict, other)),
        }
    }

    /// Entry `key` of dict `name`.
    ///
    /// # Errors
    /// As [`dict`](Self::dict); [`GetError::MissingKey`].
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_dict("d", varpack::Dict::new()).unwrap();
    /// assert!(matches!(vp.dict_item("d", "k"), Err(varpack::GetError::MissingKey { .. })));
    /// ```
    pub fn dict_item(&self, name: &str, key: &str) -> Result<&Item, GetError> {
        self.dict(name)?
            .get(key)
            .ok_or_else(|| GetError::MissingKey {
                name: name.to_owned(),
                key: key.to_owned(),
            })
    }

    /// Array `key` of dict `name`.
    ///
    /// # Errors
    /// As [`dict_item`](Self::dict_item); [`GetError::WrongKind`] (naming `name/key`) if the
    /// entry is not an array.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_dict("d", [("n", varpack::Item::json(&1).unwrap())]).unwrap();
    /// assert_eq!(vp.dict_array("d", "n").unwrap_err().to_string(), "value 'd/n' is json, not array");
    /// ```
    pub fn dict_array(&self, name: &str, key: &str) -> Result<&Array, GetError> {
        match self.dict_item(name, key)? {
            Item::Array(a) => Ok(a),
            other => Err(GetError::WrongKind {
                name: format!("{name}/{key}"),
                expected: Kind::Array,
                found: other.kind(),
            }),
        }
    }

    /// JSON entry `key` of dict `name` deserialized as `T`.
    ///
    /// # Errors
    /// As [`dict_item`](Self::dict_item); [`GetError::WrongKind`] for an array;
    /// [`GetError::Json`] if it is not a `T`.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_dict("d", [("gain", varpack::Item::json(&2.5).unwrap())]).unwrap();
    /// assert_eq!(vp.dict_value::<f64>("d", "gain").unwrap(), 2.5);
    /// ```
    pub fn dict_value<T: DeserializeOwned>(&self, name: &str, key: &str) -> Result<T, GetError> {
        let qualified = || format!("{name}/{key}");
        match self.dict_item(name, key)? {
            Item::Json(j) => T::deserialize(j).map_err(|source| GetError::Json {
                name: qualified(),
                source,
            }),
            other => Err(GetError::WrongKind {
                name: qualified(),
                expected: Kind::Json,
                found: other.kind(),
            }),
        }
    }

    /// JSON value `name`.
    ///
    /// # Errors
    /// As [`get`](Self::get); [`GetError::WrongKind`].
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("n", &[1, 2]).unwrap();
    /// assert_eq!(vp.json("n").unwrap(), &serde_json::json!([1, 2]));
    /// ```
    pub fn json(&self, name: &str) -> Result<&serde_json::Value, GetError> {
        match self.get(name)? {
            Value::Json(j) => Ok(j),
            other => Err(Self::wrong_kind(name, Kind::Json, other)),
        }
    }

    /// JSON value `name` deserialized as `T`.
    ///
    /// # Errors
    /// As [`json`](Self::json); [`GetError::Json`] if it is not a `T`.
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("n", &7u8).unwrap();
    /// assert_eq!(vp.get_value::<u8>("n").unwrap(), 7);
    /// assert!(matches!(vp.get_value::<String>("n"), Err(varpack::GetError::Json { .. })));
    /// ```
    pub fn get_value<T: DeserializeOwned>(&self, name: &str) -> Result<T, GetError> {
        T::deserialize(self.json(name)?).map_err(|source| GetError::Json {
            name: name.to_owned(),
            source,
        })
    }

    /// Reads every value not read yet (except ignored ones).
    ///
    /// # Errors
    /// The first [`GetError`].
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.load_all().unwrap();
    /// ```
    pub fn load_all(&mut self) -> Result<(), GetError> {
        for (name, slot) in &self.slots {
            if !slot.ignored {
                self.slot_value(name, slot)?;
            }
        }
        Ok(())
    }

    /// Brings every value into memory: mapped arrays are copied, values not read yet are
    /// read (ignored values stay unread; they are still copied from the pack they came from
    /// when saved). The pack keeps its path.
    ///
    /// # Errors
    /// As [`load_all`](Self::load_all).
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_array("x", &[1u8], &[1]).unwrap();
    /// vp.detach().unwrap();
    /// assert_eq!(vp.status("x"), Some(varpack::Status::Loaded));
    /// ```
    pub fn detach(&mut self) -> Result<(), GetError> {
        self.load_all()?;
        for slot in self.slots.values_mut() {
            if let Some(v) = slot.cell.get_mut() {
                v.detach();
            }
        }
        Ok(())
    }

    /// Flushes read-write maps to the pack and, for a single-file pack, rewrites the CRC-32 of
    /// every member written through a map so numpy still reads the archive. Dropping the pack
    /// does the same (ignoring errors).
    ///
    /// # Errors
    /// [`SaveError`] naming the file.
    ///
    /// ```
    /// varpack::Varpack::new().flush().unwrap();
    /// ```
    pub fn flush(&mut self) -> Result<(), SaveError> {
        let mut dirty: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
        for slot in self.slots.values_mut() {
            let Some(value) = slot.cell.get_mut() else {
                continue;
            };
            let arrays: Vec<&mut Array> = match value {
                Value::Array(a) => vec![a],
                Value::Dict(d) => crate::item::arrays_mut(d).collect(),
                Value::Json(_) => Vec::new(),
            };
            for a in arrays {
                a.flush().map_err(|e| match e {
                    ArrayError::Io { path, source } => {
                        SaveError::new(path, SaveErrorKind::Io { source })
                    }
                    e => {
                        let source = std::io::Error::other(e);
                        SaveError::new(PathBuf::new(), SaveErrorKind::Io { source })
                    }
                })?;
                if let Some((path, member)) = a.dirty_member() {
                    dirty
                        .entry(path.to_path_buf())
                        .or_default()
                        .push(member.to_owned());
                    a.clear_dirty();
                }
            }
        }
        for (path, members) in dirty {
            let keys: Vec<&str> = members.iter().map(String::as_str).collect();
            npz_stream::update_crc32(&path, &keys).map_err(|e| e.map_kind(Into::into))?;
        }
        Ok(())
    }
}

impl Drop for Varpack {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
