//! What a value is, from the loaded value or the manifest: the rows of the table that
//! `Display` and `varpack show` print.

use serde::Serialize;

use crate::manifest::dtype_json;
use crate::pack::Slot;
use crate::{Kind, Status, Value, Varpack};

/// One row of the table: what a value is, from the loaded value or the manifest.
///
/// ```
/// let mut vp = varpack::Varpack::new();
/// vp.insert_array("x", &[1.0f32; 6], &[2, 3]).unwrap();
/// let info = &vp.infos()[0];
/// assert_eq!((info.name.as_str(), info.bytes), ("x", 24));
/// assert_eq!(info.descr, Some(serde_json::json!("<f4")));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Info {
    /// The name.
    pub name: String,
    /// The kind.
    pub kind: Kind,
    /// Arrays: the descr as `npy info --json` prints it.
    pub descr: Option<serde_json::Value>,
    /// Arrays: the shape.
    pub shape: Option<Vec<u64>>,
    /// Bytes of data (arrays, dicts) or of JSON text.
    pub bytes: u64,
    /// Unloaded, mapped or loaded.
    pub status: Status,
    /// JSON values stored in a file of their own.
    pub separate: bool,
    /// On the load's ignore list.
    pub ignored: bool,
    /// Dicts: their arrays (their JSON entries count in `bytes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<KeyInfo>>,
}

/// One array of a dict, in an [`Info`].
///
/// ```
/// use std::collections::BTreeMap;
/// let mut d = BTreeMap::new();
/// d.insert("k".to_string(), varpack::Array::from_slice(&[1u8], &[1]).unwrap());
/// let mut vp = varpack::Varpack::new();
/// vp.insert_dict("d", d).unwrap();
/// assert_eq!(vp.infos()[0].keys.as_ref().unwrap()[0].key, "k");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct KeyInfo {
    /// The key.
    pub key: String,
    /// The descr.
    pub descr: serde_json::Value,
    /// The shape.
    pub shape: Vec<u64>,
    /// Bytes of data.
    pub bytes: u64,
}

impl Varpack {
    /// A description of every value, sorted by name (what the table shows).
    ///
    /// ```
    /// let mut vp = varpack::Varpack::new();
    /// vp.insert_value("n", &1).unwrap();
    /// assert_eq!(vp.infos()[0].kind, varpack::Kind::Json);
    /// ```
    pub fn infos(&self) -> Vec<Info> {
        self.slots
            .iter()
            .map(|(name, slot)| info_of(name, slot))
            .collect()
    }
}

fn info_of(name: &str, slot: &Slot) -> Info {
    let mut info = Info {
        name: name.to_owned(),
        kind: slot.kind(),
        descr: None,
        shape: None,
        bytes: 0,
        status: slot.cell.get().map_or(Status::Unloaded, Value::status),
        separate: slot.separate,
        ignored: slot.ignored,
        keys: None,
    };
    match (slot.cell.get(), &slot.meta) {
        (Some(value), _) => {
            info.bytes = value.byte_len();
            match value {
                Value::Array(a) => {
                    info.descr = Some(dtype_json(a.dtype()));
                    info.shape = Some(a.shape().to_vec());
                }
                Value::Dict(d) => {
                    info.keys = Some(
                        crate::item::arrays(d)
                            .map(|(k, a)| KeyInfo {
                                key: k.clone(),
                                descr: dtype_json(a.dtype()),
                                shape: a.shape().to_vec(),
                                bytes: a.as_bytes().len() as u64,
                            })
                            .collect(),
                    );
                }
                Value::Json(_) => {}
            }
        }
        (None, Some(meta)) => {
            info.bytes = meta.bytes;
            info.descr = meta.dtype.clone();
            info.shape = meta.shape.clone();
            info.keys = meta.entries.as_ref().map(|es| {
                es.iter()
                    .map(|e| KeyInfo {
                        key: e.key.clone(),
                        descr: e.dtype.clone(),
                        shape: e.shape.clone(),
                        bytes: e.bytes,
                    })
                    .collect()
            });
        }
        (None, None) => {}
    }
    info
}

/// A member of a plain numpy `.npz` that a load left out, because it is not an array this crate
/// holds: a text, JSON or other non-array member, a directory entry, a member compressed with a
/// method npz-stream does not decode (bzip2, lzma), an object array (its data is a pickle), an
/// array whose header is over the limit ([`LoadOptions::max_header_size`](crate::LoadOptions::max_header_size)),
/// or a name a pack cannot hold. [`Varpack::skipped_members`] lists them; `varpack show` prints
/// them below the table, `varpack convert` names each one it leaves out.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("numpy.npz");
/// let mut npz = varpack::npz_stream::NpzWriter::create(&path).unwrap();
/// npz.add_array("x", &[1u8, 2], &[2]).unwrap();
/// npz.add_file("notes.txt", b"calibrated").unwrap();
/// npz.finish().unwrap();
/// let vp = varpack::Varpack::load(&path).unwrap();
/// assert_eq!(vp.names(), ["x"]);
/// let skipped = &vp.skipped_members()[0];
/// assert_eq!(skipped.member, "notes.txt");
/// assert_eq!(skipped.reason, "not an NPY array (text)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SkippedMember {
    /// The member's name in the archive.
    pub member: String,
    /// Its key, as numpy's `NpzFile` lists it.
    pub key: String,
    /// Why it was left out.
    pub reason: String,
}

impl Varpack {
    /// The members of a plain numpy `.npz` that were left out when it was loaded (empty for
    /// every other pack); see [`SkippedMember`].
    ///
    /// ```
    /// assert!(varpack::Varpack::new().skipped_members().is_empty());
    /// ```
    pub fn skipped_members(&self) -> &[SkippedMember] {
        self.source.as_ref().map_or(&[], |s| s.skipped.as_slice())
    }
}
