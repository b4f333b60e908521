//! The entries of a dict value: arrays (each saved as its own `.npy`, mapped on load) and any
//! other value as JSON (kept with the pack's JSON values), as Varpack's first-level dicts mix
//! arrays with scalars, strings and lists.

use std::collections::BTreeMap;

use crate::{Array, Kind};

/// A dict value: its keys and entries.
pub type Dict = BTreeMap<String, Item>;

/// One entry of a dict: an array or a JSON value.
///
/// ```
/// use varpack::{Array, Item, Kind};
/// let a = Item::from(Array::from_slice(&[1u8], &[1]).unwrap());
/// assert_eq!(a.kind(), Kind::Array);
/// let label = Item::json(&"run 7").unwrap();
/// assert_eq!(label.as_json(), Some(&serde_json::json!("run 7")));
/// assert!(label.as_array().is_none());
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Item {
    /// An array, saved as its own `.npy` (mapped on load).
    Array(Array),
    /// Any other value, as JSON.
    Json(serde_json::Value),
}

impl Item {
    /// A JSON entry from anything serde serializes.
    ///
    /// # Errors
    /// The serde error.
    ///
    /// ```
    /// assert!(varpack::Item::json(&[1, 2]).is_ok());
    /// ```
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Item, serde_json::Error> {
        Ok(Item::Json(serde_json::to_value(value)?))
    }

    /// [`Kind::Array`] or [`Kind::Json`].
    ///
    /// ```
    /// assert_eq!(varpack::Item::Json(1.into()).kind(), varpack::Kind::Json);
    /// ```
    pub fn kind(&self) -> Kind {
        match self {
            Item::Array(_) => Kind::Array,
            Item::Json(_) => Kind::Json,
        }
    }

    /// The array, if the entry is one.
    ///
    /// ```
    /// let item = varpack::Item::from(varpack::Array::from_slice(&[2u8], &[1]).unwrap());
    /// assert_eq!(item.as_array().unwrap().as_bytes(), &[2]);
    /// ```
    pub fn as_array(&self) -> Option<&Array> {
        match self {
            Item::Array(a) => Some(a),
            Item::Json(_) => None,
        }
    }

    /// The array, mutably, if the entry is one.
    ///
    /// ```
    /// let mut item = varpack::Item::from(varpack::Array::from_slice(&[2u8], &[1]).unwrap());
    /// item.as_array_mut().unwrap().as_bytes_mut().unwrap()[0] = 3;
    /// assert_eq!(item.as_array().unwrap().as_bytes(), &[3]);
    /// ```
    pub fn as_array_mut(&mut self) -> Option<&mut Array> {
        match self {
            Item::Array(a) => Some(a),
            Item::Json(_) => None,
        }
    }

    /// The JSON value, if the entry is one.
    ///
    /// ```
    /// assert_eq!(varpack::Item::Json(5.into()).as_json(), Some(&serde_json::json!(5)));
    /// ```
    pub fn as_json(&self) -> Option<&serde_json::Value> {
        match self {
            Item::Json(j) => Some(j),
            Item::Array(_) => None,
        }
    }
}

impl From<Array> for Item {
    fn from(a: Array) -> Item {
        Item::Array(a)
    }
}

impl From<serde_json::Value> for Item {
    fn from(j: serde_json::Value) -> Item {
        Item::Json(j)
    }
}

/// A dict's entry as a value of its own.
///
/// ```
/// let v = varpack::Value::from(varpack::Item::json(&3).unwrap());
/// assert_eq!(v.kind(), varpack::Kind::Json);
/// ```
impl From<Item> for crate::Value {
    fn from(item: Item) -> crate::Value {
        match item {
            Item::Array(a) => crate::Value::Array(a),
            Item::Json(j) => crate::Value::Json(j),
        }
    }
}

/// The key marking a dict's small array stored among its JSON entries
/// ([`Varpack::set_dict_array_min_elements`](crate::Varpack::set_dict_array_min_elements)).
pub(crate) const INLINE_ARRAY: &str = "__ndarray__";

/// `a` as a JSON entry of its dict: `{"__ndarray__": {"descr": numpy's descr literal,
/// "fortran_order": bool, "shape": [...], "data": base64 of its bytes}}`.
pub(crate) fn inline_array(a: &Array) -> serde_json::Value {
    use base64::Engine;
    let header = a.header();
    serde_json::json!({ INLINE_ARRAY: {
        "descr": header.dtype.descr(),
        "fortran_order": header.fortran_order,
        "shape": header.shape,
        "data": base64::engine::general_purpose::STANDARD.encode(a.as_bytes()),
    }})
}

/// A JSON entry of a dict as its item: an array stored among the entries, decoded, or the JSON
/// value itself.
pub(crate) fn item_from_json(value: serde_json::Value) -> Result<Item, String> {
    use base64::Engine;
    let serde_json::Value::Object(map) = &value else {
        return Ok(Item::Json(value));
    };
    let Some(serde_json::Value::Object(fields)) = map.get(INLINE_ARRAY).filter(|_| map.len() == 1)
    else {
        return Ok(Item::Json(value));
    };
    let bad = |what: &str| format!("an array stored among a dict's entries has {what}");
    let descr = fields
        .get("descr")
        .and_then(|d| d.as_str())
        .ok_or_else(|| bad("no descr"))?;
    let dtype = npy_format::DType::parse(descr).map_err(|e| bad(&format!("a bad descr: {e}")))?;
    let fortran = fields
        .get("fortran_order")
        .and_then(|f| f.as_bool())
        .ok_or_else(|| bad("no fortran_order"))?;
    let shape: Vec<u64> = fields
        .get("shape")
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .ok_or_else(|| bad("no shape"))?;
    let data = fields
        .get("data")
        .and_then(|d| d.as_str())
        .ok_or_else(|| bad("no data"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| bad(&format!("bad base64 data: {e}")))?;
    let header = npy_format::Header::new(dtype, fortran, shape);
    Array::from_bytes(header, &bytes)
        .map(Item::Array)
        .map_err(|e| bad(&e.to_string()))
}

/// The arrays of a dict, with their keys.
pub(crate) fn arrays(dict: &Dict) -> impl Iterator<Item = (&String, &Array)> {
    dict.iter()
        .filter_map(|(k, item)| item.as_array().map(|a| (k, a)))
}

/// The arrays of a dict, mutably.
pub(crate) fn arrays_mut(dict: &mut Dict) -> impl Iterator<Item = &mut Array> {
    dict.values_mut().filter_map(Item::as_array_mut)
}

/// The JSON entries of a dict as one JSON object (what the pack stores for them).
pub(crate) fn json_object(dict: &Dict) -> serde_json::Map<String, serde_json::Value> {
    dict.iter()
        .filter_map(|(k, item)| item.as_json().map(|j| (k.clone(), j.clone())))
        .collect()
}
