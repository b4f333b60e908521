//! What `npy info --json` prints about a file, as a JSON value, so that every front end (the
//! CLI, the Python package) gives the same keys.

use npy_format::NpyFile;

/// The facts about `npy` that `npy info --json` prints: `path`, `version` (`[major, minor]`),
/// `descr` (numpy's, as JSON), `fortran_order`, `shape`, `data_offset`, `nbytes`, `itemsize`,
/// `frames`, `frame_bytes`, `trailing_bytes`.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npy");
/// npy_format::write_file(&path, &[1.5f32; 6], &[3, 2]).unwrap();
/// let info = npy_append::info_json(&npy_format::NpyFile::open(&path).unwrap());
/// assert_eq!(info["descr"], "<f4");
/// assert_eq!(info["version"], serde_json::json!([1, 0]));
/// assert_eq!(info["frames"], 3);
/// ```
pub fn info_json(npy: &NpyFile) -> serde_json::Value {
    let header = npy.header();
    let (major, minor) = npy.version().numbers();
    let descr: serde_json::Value =
        serde_json::from_str(&header.dtype.descr_json()).expect("descr_json writes valid JSON");
    serde_json::json!({
        "path": npy.path(),
        "version": [major, minor],
        "descr": descr,
        "fortran_order": header.fortran_order,
        "shape": header.shape,
        "data_offset": npy.data_offset(),
        "nbytes": header.data_len(),
        "itemsize": header.dtype.itemsize(),
        "frames": header.frame_count(),
        "frame_bytes": header.frame_len(),
        "trailing_bytes": npy.trailing_len(),
    })
}
