//! Folders written by Varpack (the Python package this crate replaces), read into memory.
//!
//! The layout (Varpack 0.x): `varpack.json`, an object of `{name: info}` whose `filename`
//! says where each value is: `NAME.npy` (an array), `__misc_vars__.pickle` (a pickled dict of
//! the small values, always written), `NAME.pickle` (a large value pickled alone). A dict's
//! arrays of at least `min_dict_numpy_size` elements are `.npy` files named by a hash of the
//! key; the pickled dict holds `NumpyArrayPlaceholder` objects naming them.
//!
//! Values are named by their `varpack.json` key (the seed names `.npy` values by file stem,
//! which differs only where its own bugs made them differ). Pickles are decoded as data
//! ([`super::pickle`]): plain values and dicts with placeholders convert; anything only Python
//! can rebuild is unreadable here (`array_files.compat.varpack` with `allow_pickle=True` loads
//! it in Python). Varpack writes `NaN` into `varpack.json` for some sizes; it is read as null.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use npy_format::{Header, ReadErrorKind};

use super::pickle::{self, Decoded, Plain};
use super::{Collector, ConvertError, ConvertErrorKind, ConvertOptions, Converted, io};
use crate::{Array, Dict, Item, Value};

/// The seed's file names.
const JSON: &str = "varpack.json";
const MISC: &str = "__misc_vars__.pickle";

/// Whether `path` is a directory whose `varpack.json` is the seed's (no `"format"` string).
pub(super) fn is_seed_folder(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path.join(JSON)) else {
        return false;
    };
    matches!(
        serde_json::from_slice::<serde_json::Value>(&without_nan(&bytes)),
        Ok(serde_json::Value::Object(m)) if !m.get("format").is_some_and(|f| f.is_string())
    )
}

/// `varpack.json` with Python's `NaN`, `Infinity` and `-Infinity` tokens (outside strings)
/// made `null`, which JSON parsers read.
fn without_nan(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            in_string = escaped || b != b'"';
            escaped = !escaped && b == b'\\';
        } else if b == b'"' {
            in_string = true;
        } else if let Some(token) = [&b"-Infinity"[..], b"Infinity", b"NaN"]
            .into_iter()
            .find(|t| bytes[i..].starts_with(t))
        {
            out.extend_from_slice(b"null");
            i += token.len();
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Reads the Varpack folder at `folder`.
pub(super) fn read(folder: &Path, options: &ConvertOptions) -> Result<Converted, ConvertError> {
    let json_path = folder.join(JSON);
    let bytes = std::fs::read(&json_path).map_err(io(&json_path))?;
    let bad = |reason: String| ConvertError::new(&json_path, ConvertErrorKind::Manifest { reason });
    let infos: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&without_nan(&bytes)).map_err(|e| bad(e.to_string()))?;
    let mut pickles: BTreeMap<String, Result<Decoded, String>> = BTreeMap::new();
    let mut out = Collector::new(options);
    for (name, info) in &infos {
        let file = info
            .get("filename")
            .and_then(|f| f.as_str())
            .ok_or_else(|| bad(format!("value '{name}' has no string \"filename\"")))?;
        let path =
            plain_file(folder, file).map_err(|reason| bad(format!("value '{name}': {reason}")))?;
        let value = if file.ends_with(".npy") {
            npy(&path, name)?.map(Value::Array)
        } else if file.ends_with(".pickle") {
            if !pickles.contains_key(file) {
                let decoded = read_pickle(&path)?;
                pickles.insert(file.to_owned(), decoded);
            }
            let decoded = pickles.get(file).map(Result::as_ref);
            match decoded {
                Some(Ok(decoded)) => pickled(folder, decoded, name, file == MISC)?,
                Some(Err(reason)) => Err(reason.clone()),
                None => unreachable!("inserted above"),
            }
        } else {
            Err(format!(
                "file {file}: neither .npy nor .pickle, which Varpack does not write"
            ))
        };
        out.add(&path, name, value)?;
    }
    Ok(out.finish())
}

/// `folder/file` if `file` is a plain file name (a crafted `varpack.json` or pickle must not
/// lead outside the folder).
fn plain_file(folder: &Path, file: &str) -> Result<std::path::PathBuf, String> {
    let plain =
        !file.is_empty() && file != "." && file != ".." && !file.contains(['/', '\\', '\0']);
    if plain {
        Ok(folder.join(file))
    } else {
        Err(format!(
            "file name {file:?} is not a plain file name in the folder"
        ))
    }
}

/// Decodes the pickle at `path`: `Err(reason)` (in the `Ok`) if it is not plain data's pickle.
fn read_pickle(path: &Path) -> Result<Result<Decoded, String>, ConvertError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    Ok(pickle::decode(&bytes).map_err(|e| {
        format!(
            "a pickle this crate cannot read (at byte {}: {})",
            e.offset, e.reason
        )
    }))
}

/// Value `name` of a decoded pickle: in the misc pickle, its entry; else the whole pickle.
fn pickled(
    folder: &Path,
    decoded: &Decoded,
    name: &str,
    misc: bool,
) -> Result<Result<Value, String>, ConvertError> {
    let at = if misc {
        let entries = decoded.root_entries();
        match entries.and_then(|e| e.into_iter().find(|(k, _)| *k == name)) {
            Some((_, at)) => at,
            None => {
                return Ok(Err(format!(
                    "listed in {JSON} as in {MISC}, which does not hold it (Varpack loses such \
                     values when a pack loaded with skip_loading is saved)"
                )));
            }
        }
    } else {
        decoded.root()
    };
    let hint = "; array_files.compat.varpack loads it with allow_pickle=True";
    let entries = match decoded.array_dict(at) {
        None => {
            return match decoded.plain(at) {
                Ok(plain) => item(folder, name, plain).map(|r| r.map(Value::from)),
                Err(reason) => Ok(Err(reason + hint)),
            };
        }
        Some(Err(reason)) => return Ok(Err(reason + hint)),
        Some(Ok(entries)) => entries,
    };
    let mut dict = Dict::new();
    for (key, plain) in entries {
        match item(folder, name, plain)? {
            Ok(item) => dict.insert(key, item),
            Err(reason) => return Ok(Err(format!("key '{key}': {reason}"))),
        };
    }
    Ok(Ok(Value::Dict(dict)))
}

/// A decoded value as an item: JSON, an array rebuilt from its pickle, or a placeholder's
/// `.npy` file read.
fn item(folder: &Path, name: &str, plain: Plain<'_>) -> Result<Result<Item, String>, ConvertError> {
    Ok(match plain {
        Plain::Json(v) => Ok(Item::Json(v)),
        Plain::Array(a) => npy_format::DType::parse(&a.descr)
            .map_err(|e| e.to_string())
            .and_then(|dtype| {
                let header = Header::new(dtype, a.fortran, a.shape.clone());
                Array::from_bytes(header, &a.data).map_err(|e| e.to_string())
            })
            .map(Item::Array),
        Plain::Placeholder(file) => match plain_file(folder, file) {
            Ok(path) => npy(&path, name)?.map(Item::Array),
            Err(reason) => Err(reason),
        },
    })
}

/// The `.npy` file at `path` (value `name`), read into memory: `Err(reason)` (in the `Ok`) for
/// an object array, which holds pickles.
fn npy(path: &Path, name: &str) -> Result<Result<Array, String>, ConvertError> {
    let fail = |source: ReadErrorKind| {
        let name = name.to_owned();
        ConvertError::new(path, ConvertErrorKind::Npy { name, source })
    };
    let mut file = File::open(path).map_err(io(path))?;
    let len = file.metadata().map_err(io(path))?.len();
    let parsed = Header::read_from(&mut file, npy_format::ReadOptions::default())
        .map_err(|source| fail(ReadErrorKind::Header { source }))?;
    if parsed.header.dtype.has_object() {
        return Ok(Err(format!(
            "an object array (dtype {}), which holds pickles",
            parsed.header.dtype.descr()
        )));
    }
    let expected = parsed.header.data_len().unwrap_or(u64::MAX);
    let available = len.saturating_sub(parsed.data_offset);
    if available < expected {
        let data_offset = parsed.data_offset;
        return Err(fail(ReadErrorKind::Truncated {
            data_offset,
            expected,
            available,
        }));
    }
    let mut data = Vec::new();
    file.take(expected)
        .read_to_end(&mut data)
        .map_err(io(path))?;
    if (data.len() as u64) < expected {
        let data_offset = parsed.data_offset;
        let available = data.len() as u64;
        return Err(fail(ReadErrorKind::Truncated {
            data_offset,
            expected,
            available,
        }));
    }
    Ok(Array::from_bytes(parsed.header, &data).map_err(|e| e.to_string()))
}
