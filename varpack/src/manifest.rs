//! The manifest: `varpack.json` (directory form) or `__varpack__.json` (single-file form).

use serde::{Deserialize, Serialize};

use crate::Kind;

/// The manifest format version this crate writes and reads.
pub const FORMAT_VERSION: u64 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub format: String,
    pub version: u64,
    pub values: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub name: String,
    pub kind: Kind,
    /// The `.npy` file or member (arrays), or the JSON document holding the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtype: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fortran_order: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<Vec<u64>>,
    pub bytes: u64,
    /// JSON values: stored in a file of their own.
    #[serde(default)]
    pub separate: bool,
    /// Dicts: one array per key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<DictEntry>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DictEntry {
    pub key: String,
    pub file: String,
    pub dtype: serde_json::Value,
    pub fortran_order: bool,
    pub shape: Vec<u64>,
    pub bytes: u64,
}

pub(crate) fn dtype_json(dtype: &npy_format::DType) -> serde_json::Value {
    serde_json::from_str(&dtype.descr_json()).unwrap_or(serde_json::Value::Null)
}

impl Manifest {
    pub fn new(values: Vec<Entry>) -> Manifest {
        Manifest {
            format: "varpack".into(),
            version: FORMAT_VERSION,
            values,
        }
    }

    /// Parses and checks a manifest (`Err` is the reason, or `Ok(Err(version))`). A directory
    /// pack's files are plain names in it; an archive's members may have `/`-separated
    /// components (values named by their names), never empty, `.` or `..` ones.
    pub fn parse(bytes: &[u8], archive: bool) -> Result<Result<Manifest, u64>, String> {
        /// The fields that say which format and version the rest is in. (Reading these
        /// first, and then the whole manifest into its types, costs a third of building a
        /// `serde_json::Value` of it and converting that.)
        #[derive(Deserialize)]
        struct Probe {
            format: Option<serde_json::Value>,
            version: Option<serde_json::Value>,
        }
        let probe: Probe = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        if probe.format.as_ref().and_then(|f| f.as_str()) != Some("varpack") {
            return Err("no \"format\": \"varpack\" field".into());
        }
        let version = probe
            .version
            .as_ref()
            .and_then(|v| v.as_u64())
            .ok_or("no numeric \"version\" field")?;
        if version != FORMAT_VERSION {
            return Ok(Err(version));
        }
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| format!("invalid: {e}"))?;
        let mut names = std::collections::HashSet::new();
        for entry in &manifest.values {
            if !names.insert(entry.name.as_str()) {
                return Err(format!("value '{}' is listed twice", entry.name));
            }
            let ok = match entry.kind {
                Kind::Array => {
                    entry.file.is_some() && entry.dtype.is_some() && entry.shape.is_some()
                }
                Kind::Dict => entry.entries.is_some(),
                Kind::Json => entry.file.is_some(),
            };
            if !ok {
                return Err(format!(
                    "value '{}' lacks the fields of its kind {}",
                    entry.name, entry.kind
                ));
            }
            for file in entry.files() {
                let bad_component = |c: &str| c.is_empty() || c == "." || c == "..";
                let bad = if archive {
                    file.split('/').any(bad_component)
                } else {
                    file.is_empty() || file.contains('/') || file.starts_with('.')
                };
                if bad || file.contains('\\') {
                    return Err(format!(
                        "value '{}': file name {file:?} is not a plain name inside the pack",
                        entry.name
                    ));
                }
            }
        }
        Ok(Ok(manifest))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

impl Entry {
    /// Every file the entry uses.
    pub fn files(&self) -> Vec<&str> {
        let mut files: Vec<&str> = self.file.iter().map(String::as_str).collect();
        if let Some(entries) = &self.entries {
            files.extend(entries.iter().map(|e| e.file.as_str()));
        }
        files
    }
}
