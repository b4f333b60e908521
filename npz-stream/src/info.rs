//! What `npz ls --json` prints about a member, as a JSON value, so that every front end (the
//! CLI, the Python package) gives the same keys.

use crate::{MemberEntry, MemberInfo};

/// The facts about a member that `npz ls --json` prints: `name` (the key), `member`, `descr`,
/// `fortran_order`, `shape`, `version`, `compression`, `size`, `compressed_size`, `crc32` (hex),
/// `header_len`, `data_offset`, `frames`, `frame_bytes`, `seekable`, `indexed`,
/// `stored_index` (an access-point index stored by `npz index`), `mappable`.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
/// npz.add_array("x", &[1u16, 2, 3], &[3]).unwrap();
/// npz.finish().unwrap();
/// let info = npz_stream::NpzReader::open(&path).unwrap().info("x").unwrap();
/// let json = npz_stream::member_json(&info);
/// assert_eq!((json["name"].as_str(), json["descr"].as_str()), (Some("x"), Some("<u2")));
/// assert_eq!(json["crc32"].as_str().unwrap().len(), 8);
/// ```
pub fn member_json(info: &MemberInfo) -> serde_json::Value {
    let header = &info.header;
    let descr: serde_json::Value =
        serde_json::from_str(&header.dtype.descr_json()).unwrap_or(serde_json::Value::Null);
    let (major, minor) = info.version.numbers();
    serde_json::json!({
        "name": info.key,
        "member": info.name,
        "descr": descr,
        "fortran_order": header.fortran_order,
        "shape": header.shape,
        "version": [major, minor],
        "compression": info.method.as_str(),
        "size": info.size,
        "compressed_size": info.compressed_size,
        "crc32": format!("{:08x}", info.crc32),
        "header_len": info.header_len,
        "data_offset": info.data_offset,
        "frames": header.frame_count(),
        "frame_bytes": header.frame_len(),
        "seekable": info.seekable,
        "indexed": info.indexed,
        "stored_index": info.stored_index,
        "mappable": info.mappable,
    })
}

/// What `npz ls --json` prints about any member ([`NpzReader::list`](crate::NpzReader::list)):
/// for an array, [`member_json`] with `"kind": "array"`; for any other member `name` (the key),
/// `member`, `kind` (`directory`, `bytes`, `unsupported`, `unreadable`: see
/// [`Content::kind`](crate::Content::kind)), `compression` (with `method_code`), `size`,
/// `compressed_size`, `crc32` and `reason`.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
/// npz.add_array("x", &[1u16], &[1]).unwrap();
/// npz.add_file("readme.txt", b"see x").unwrap();
/// npz.finish().unwrap();
/// let entries = npz_stream::NpzReader::open(&path).unwrap().list();
/// let json: Vec<_> = entries.iter().map(npz_stream::entry_json).collect();
/// assert_eq!(json[0]["kind"], "array");
/// assert_eq!(json[1]["kind"], "bytes");
/// assert_eq!(json[1]["reason"], "not an NPY array (text)");
/// ```
pub fn entry_json(entry: &MemberEntry) -> serde_json::Value {
    if let Some(info) = entry.content.array() {
        let mut json = member_json(info);
        json["kind"] = "array".into();
        return json;
    }
    serde_json::json!({
        "name": entry.key,
        "member": entry.name,
        "kind": entry.content.kind(),
        "compression": entry.method.as_str(),
        "method_code": entry.method.code(),
        "size": entry.size,
        "compressed_size": entry.compressed_size,
        "crc32": format!("{:08x}", entry.crc32),
        "reason": entry.content.reason(),
    })
}
