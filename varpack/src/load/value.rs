//! Reading one value of an opened pack: each array's header checked against the manifest, then
//! the data mapped (a `.npy` file's, an aligned stored member's) or read into memory; JSON
//! values from the shared document or their own file. Loads call this for every value at once,
//! lazy loads on first access, saves for the values they copy from the old pack.

use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};

use npy_format::{Header, Mode};
use npz_stream::NpzReader;

use super::remote;
use super::source::{Origin, Source, identity, open_in_dir};
use crate::array::MemberMap;
use crate::error::{LoadError, LoadErrorKind, io_load, npz_read};
use crate::manifest::{DictEntry, Entry, dtype_json};
use crate::{Array, Dict, Item, Kind, Value};

/// Fills `data` from `offset` of `file`, with positioned reads (a file shorter than that is
/// an error, never a fault).
fn read_at(file: &File, path: &Path, offset: u64, data: &mut [u8]) -> Result<(), LoadError> {
    array_files_fs::pread::read_exact_at(file, data, offset).map_err(io_load(path))
}

/// [`LoadErrorKind::Mismatch`] if an array's header disagrees with its manifest entry (dtype,
/// shape, order): the manifest and the files were not written together.
pub(crate) fn check_header(
    source: &Source,
    name: &str,
    file: &str,
    header: &Header,
    expect: &Expect<'_>,
) -> Result<(), LoadError> {
    let (dtype, fortran, shape) = (expect.dtype, expect.fortran, expect.shape);
    let mismatch = |what: &str, manifest: String, found: String| {
        let kind = LoadErrorKind::Mismatch {
            name: name.to_owned(),
            file: file.to_owned(),
            manifest: format!("{what} {manifest}"),
            header: format!("{what} {found}"),
        };
        LoadError::new(&source.path, kind)
    };
    // A scalar dtype is a JSON string in the manifest: compared as text, without building
    // the header's JSON (this runs for every array of a load).
    let same_scalar = match (header.dtype.as_scalar(), dtype) {
        (Some(scalar), serde_json::Value::String(manifest)) => scalar.type_str() == *manifest,
        _ => false,
    };
    if !same_scalar {
        let found = dtype_json(&header.dtype);
        if &found != dtype {
            return Err(mismatch("dtype", dtype.to_string(), found.to_string()));
        }
    }
    if header.shape != shape {
        return Err(mismatch(
            "shape",
            format!("{shape:?}"),
            format!("{:?}", header.shape),
        ));
    }
    if let Some(f) = fortran
        && f != header.fortran_order
    {
        return Err(mismatch(
            "fortran_order",
            f.to_string(),
            header.fortran_order.to_string(),
        ));
    }
    Ok(())
}

/// Reads and checks one array's header without touching its data.
pub(crate) fn read_header(source: &Source, name: &str, file: &str) -> Result<Header, LoadError> {
    match (&source.npz, &source.origin) {
        (Some(reader), _) => Ok(member_info(source, reader, name, file)?.header),
        (None, Origin::Local(_)) => Ok(read_npy_header(source, name, file, false)?.parsed.header),
        (None, Origin::Remote(_)) => remote::read_npy_object_header(source, name, file),
    }
}

/// A `.npy` file of a directory pack, open, its header read.
struct OpenNpy {
    parsed: npy_format::ParsedHeader,
    file: File,
    meta: fs::Metadata,
    path: PathBuf,
}

/// Opens `.npy` file `file` of a directory pack and reads its header. (Parsing it from a map
/// of the whole file instead saves the read, but a page fault takes its place, and in a Python
/// process such loads ran at twice the time for their first few dozen calls.)
fn read_npy_header(
    source: &Source,
    name: &str,
    file: &str,
    write: bool,
) -> Result<OpenNpy, LoadError> {
    let (f, meta, path) = open_in_dir(source, name, file, write)?;
    let options = npy_format::ReadOptions::default().max_header_size(source.max_header_size);
    let parsed = Header::read_from(&mut BufReader::with_capacity(4096, &f), options)
        .map_err(|e| npy_error(&path, name, npy_format::ReadErrorKind::Header { source: e }))?;
    Ok(OpenNpy {
        parsed,
        file: f,
        meta,
        path,
    })
}

/// An `.npy` file's error (the file at `path`, value `name`).
pub(crate) fn npy_error(path: &Path, name: &str, source: npy_format::ReadErrorKind) -> LoadError {
    let name = name.to_owned();
    LoadError::new(path, LoadErrorKind::Npy { name, source })
}

/// Array data that does not fit its header (a value read into memory), as a bad manifest of
/// the pack.
pub(crate) fn bad_array(source: &Source, name: &str, e: crate::ArrayError) -> LoadError {
    let reason = format!("value '{name}': {e}");
    LoadError::new(&source.path, LoadErrorKind::Manifest { reason })
}

/// The member `member` of the archive, as value `name`'s.
fn member_info(
    source: &Source,
    reader: &NpzReader,
    name: &str,
    member: &str,
) -> Result<npz_stream::MemberInfo, LoadError> {
    reader
        .info(member)
        .map_err(|e| member_error(source, name, member, e))
}

/// An archive's error reading `member` of value `name`: a member the manifest lists but the
/// archive lacks is [`LoadErrorKind::MissingFile`], as a missing file of a directory pack is.
pub(crate) fn member_error(
    source: &Source,
    name: &str,
    member: &str,
    e: npz_stream::ReadError,
) -> LoadError {
    match e.kind() {
        npz_stream::ReadErrorKind::NoSuchMember { .. } => {
            let kind = LoadErrorKind::MissingFile {
                name: name.to_owned(),
                file: member.to_owned(),
            };
            LoadError::new(&source.path, kind)
        }
        _ => npz_read(name, e),
    }
}

/// What an array's manifest entry says it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expect<'a> {
    /// The dtype, as the manifest writes it.
    pub(crate) dtype: &'a serde_json::Value,
    /// Fortran order (absent in manifests of plain `.npz` members: not checked).
    pub(crate) fortran: Option<bool>,
    /// The shape.
    pub(crate) shape: &'a [u64],
    /// Bytes of data: a hint for how much to read at once, never trusted for an allocation.
    pub(crate) bytes: u64,
}

/// What a manifest field that is missing expects: nothing any header has.
static NOTHING: serde_json::Value = serde_json::Value::Null;

impl<'a> Expect<'a> {
    /// What array entry `entry` says.
    pub(crate) fn of_array(entry: &'a Entry) -> Expect<'a> {
        Expect {
            dtype: entry.dtype.as_ref().unwrap_or(&NOTHING),
            fortran: entry.fortran_order,
            shape: entry.shape.as_deref().unwrap_or_default(),
            bytes: entry.bytes,
        }
    }

    /// What dict array entry `entry` says.
    pub(crate) fn of_dict_array(entry: &'a DictEntry) -> Expect<'a> {
        Expect {
            dtype: &entry.dtype,
            fortran: Some(entry.fortran_order),
            shape: &entry.shape,
            bytes: entry.bytes,
        }
    }
}

/// Reads array `file` of value `name`: its header checked against `expect`, its data mapped
/// with `mode` (or read into memory when the source is not mapped, or the member is deflated or
/// unaligned, or the pack is in object storage).
fn load_array(
    source: &Source,
    name: &str,
    file: &str,
    expect: Option<Expect<'_>>,
    mode: Mode,
) -> Result<Array, LoadError> {
    match (&source.npz, &source.origin) {
        (Some(reader), Origin::Local(_)) => load_member(source, reader, name, file, expect, mode),
        (Some(reader), Origin::Remote(_)) => {
            remote::load_member_whole(source, reader, name, file, expect)
        }
        (None, Origin::Local(_)) => load_npy_file(source, name, file, expect, mode),
        (None, Origin::Remote(_)) => remote::load_npy_object(source, name, file, expect),
    }
}

/// An array of a directory pack: a `.npy` file.
fn load_npy_file(
    source: &Source,
    name: &str,
    file: &str,
    expect: Option<Expect<'_>>,
    mode: Mode,
) -> Result<Array, LoadError> {
    let write = source.mapped && mode == Mode::ReadWrite;
    let OpenNpy {
        parsed,
        file: f,
        meta,
        path,
    } = read_npy_header(source, name, file, write)?;
    if let Some(e) = expect {
        check_header(source, name, file, &parsed.header, &e)?;
    }
    if parsed.header.dtype.has_object() {
        let object = npy_format::ViewError::Object;
        let kind = npy_format::ReadErrorKind::View { source: object };
        return Err(npy_error(&path, name, kind));
    }
    let expected = parsed.header.data_len().unwrap_or(u64::MAX);
    // The length read when the file was opened (and checked to be a regular file).
    let available = meta.len().saturating_sub(parsed.data_offset);
    if available < expected {
        let kind = npy_format::ReadErrorKind::Truncated {
            data_offset: parsed.data_offset,
            expected,
            available,
        };
        return Err(npy_error(&path, name, kind));
    }
    if !source.mapped {
        // Read straight into the array's memory: one buffer of the array's size.
        let mut array = Array::zeroed(parsed.header).map_err(|e| bad_array(source, name, e))?;
        let data = array
            .as_bytes_mut()
            .map_err(|e| bad_array(source, name, e))?;
        read_at(&f, &path, parsed.data_offset, data)?;
        return Ok(array);
    }
    let range = (parsed.data_offset, expected);
    match MemberMap::open(&f, Some(&meta), &path, file, range, mode, false) {
        Ok(map) => Ok(Array::from_member(parsed.header, map)),
        Err(e) => Err(io_load(&path)(e)),
    }
}

/// An array of a single-file pack: an archive member, mapped where it is stored aligned.
fn load_member(
    source: &Source,
    reader: &NpzReader,
    name: &str,
    file: &str,
    expect: Option<Expect<'_>>,
    mode: Mode,
) -> Result<Array, LoadError> {
    let info = member_info(source, reader, name, file)?;
    if let Some(e) = expect {
        check_header(source, name, file, &info.header, &e)?;
    }
    let npz_err = |e| npz_read(name, e);
    let data_len = info.size.saturating_sub(info.header_len);
    let expected = info.header.data_len().unwrap_or(u64::MAX);
    if info.header.dtype.has_object() || data_len < expected {
        return Err(npz_err(npz_stream::ReadError::new(
            &source.path,
            npz_stream::ReadErrorKind::View {
                member: info.name.clone(),
                source: npy_format::ViewError::Object,
            },
        )));
    }
    match info.data_offset {
        Some(offset) if info.mappable && source.mapped => {
            let map = map_member(source, &info.name, (offset, expected), mode)?;
            Ok(Array::from_member(info.header, map))
        }
        _ => {
            // Deflated or unaligned (numpy's own savez): read into memory, straight into the
            // array's buffer (the member streamed through, CRC-checked at its end).
            let mut array = Array::zeroed(info.header).map_err(|e| bad_array(source, name, e))?;
            let data = array
                .as_bytes_mut()
                .map_err(|e| bad_array(source, name, e))?;
            read_member_data(reader, file, info.header_len, data).map_err(npz_err)?;
            Ok(array)
        }
    }
}

/// Fills `data` with the array data of member `member` (after its `header_len` bytes of
/// header), reading the whole member so that its CRC-32 is checked.
fn read_member_data(
    reader: &NpzReader,
    member: &str,
    header_len: u64,
    data: &mut [u8],
) -> Result<(), npz_stream::ReadError> {
    use std::io::Read;
    let mut r = reader.open_member(member)?;
    let name = r.name().to_owned();
    let io = |source: std::io::Error| {
        let member = name.clone();
        npz_stream::ReadError::new(
            reader.path(),
            npz_stream::ReadErrorKind::Io { member, source },
        )
    };
    // The member reader's own errors come wrapped in io::Error.
    let unwrap = |e: std::io::Error| {
        if !e.get_ref().is_some_and(|i| i.is::<npz_stream::ReadError>()) {
            return io(e);
        }
        match e
            .into_inner()
            .map(|i| i.downcast::<npz_stream::ReadError>())
        {
            Some(Ok(e)) => *e,
            _ => io(std::io::Error::other("the member failed to read")),
        }
    };
    std::io::copy(&mut (&mut r).take(header_len), &mut std::io::sink()).map_err(unwrap)?;
    r.read_exact(data).map_err(unwrap)?;
    // Bytes after the data (numpy ignores them), then the CRC-32 check at the end.
    std::io::copy(&mut r, &mut std::io::sink()).map_err(unwrap)?;
    Ok(())
}

/// Maps the data of an aligned stored member: read-only maps share one map of the whole
/// archive; a read-write map opens the archive for writing (refusing one replaced since the
/// load); a copy-on-write map maps the held archive privately.
fn map_member(
    source: &Source,
    member: &str,
    (offset, len): (u64, u64),
    mode: Mode,
) -> Result<MemberMap, LoadError> {
    if mode == Mode::ReadOnly && len > 0 {
        return source
            .archive_map()
            .and_then(|archive| MemberMap::shared(archive, &source.path, member, offset, len))
            .map_err(io_load(&source.path));
    }
    let Some(local) = source.local() else {
        let e = std::io::Error::other("internal: a pack in object storage is never mapped");
        return Err(io_load(&source.path)(e));
    };
    let map = if mode == Mode::ReadWrite {
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&source.path)
            .map_err(io_load(&source.path))?;
        let same = file.metadata().is_ok_and(|m| identity(&m) == local.id);
        if !same {
            return Err(LoadError::new(&source.path, LoadErrorKind::Replaced));
        }
        MemberMap::open(&file, None, &source.path, member, (offset, len), mode, true)
    } else {
        MemberMap::open(
            &local.held,
            None,
            &source.path,
            member,
            (offset, len),
            mode,
            true,
        )
    };
    map.map_err(io_load(&source.path))
}

/// A JSON file (or member) of the pack, parsed: the shared document or a separate value's.
pub(crate) fn read_doc(
    source: &Source,
    name: &str,
    file: &str,
) -> Result<serde_json::Value, LoadError> {
    let bytes = match (&source.npz, &source.origin) {
        (Some(reader), _) => reader
            .read_bytes(file)
            .map_err(|e| member_error(source, name, file, e))?,
        (None, Origin::Local(_)) => {
            let (mut f, _, path) = open_in_dir(source, name, file, false)?;
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut bytes).map_err(io_load(&path))?;
            bytes
        }
        (None, Origin::Remote(_)) => remote::read_json_object(source, name, file)?,
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        let kind = LoadErrorKind::Json {
            name: name.to_owned(),
            source: e,
        };
        LoadError::new(source.at(file), kind)
    })
}

/// Reads the value of manifest entry `entry`; a grouped JSON value is taken from `doc` (the
/// shared document, if the caller read it already).
pub(crate) fn load_entry(
    source: &Source,
    entry: &Entry,
    mode: Mode,
    doc: Option<&serde_json::Value>,
) -> Result<Value, LoadError> {
    let name = entry.name.as_str();
    match entry.kind {
        Kind::Array => {
            let file = entry.file.as_deref().unwrap_or_default();
            let expect = Some(Expect::of_array(entry));
            Ok(Value::Array(load_array(source, name, file, expect, mode)?))
        }
        Kind::Dict => {
            let mut dict = Dict::new();
            // The JSON entries (a JSON object stored as a JSON value is), if the dict has any.
            if let Some(file) = &entry.file {
                let serde_json::Value::Object(object) = read_json(source, entry, file, doc)? else {
                    let reason = format!("the JSON entries of dict '{name}' are not an object");
                    let kind = LoadErrorKind::Manifest { reason };
                    return Err(LoadError::new(source.at(file), kind));
                };
                for (key, value) in object {
                    let item = crate::item::item_from_json(value).map_err(|reason| {
                        let reason = format!("dict '{name}', key '{key}': {reason}");
                        LoadError::new(source.at(file), LoadErrorKind::Manifest { reason })
                    })?;
                    dict.insert(key, item);
                }
            }
            for e in entry.entries.iter().flatten() {
                let expect = Some(Expect::of_dict_array(e));
                let array = load_array(source, name, &e.file, expect, mode)?;
                dict.insert(e.key.clone(), Item::Array(array));
            }
            Ok(Value::Dict(dict))
        }
        Kind::Json => {
            let file = entry.file.as_deref().unwrap_or_default();
            read_json(source, entry, file, doc).map(Value::Json)
        }
    }
}

/// The JSON value of `entry` stored in `file`: the whole file for a separate value, else its
/// member in the shared document `doc` (read here if the caller has not).
fn read_json(
    source: &Source,
    entry: &Entry,
    file: &str,
    doc: Option<&serde_json::Value>,
) -> Result<serde_json::Value, LoadError> {
    let name = entry.name.as_str();
    if entry.separate {
        return read_doc(source, name, file);
    }
    let owned;
    let doc = match (doc, source.remote()) {
        (Some(d), _) => d,
        // From object storage the shared document is read once and kept: every value in it
        // costs that one request.
        (None, Some(remote)) => {
            owned = remote.shared_doc(file, || read_doc(source, name, file))?;
            &*owned
        }
        (None, None) => {
            owned = std::sync::Arc::new(read_doc(source, name, file)?);
            &*owned
        }
    };
    doc.get(name).cloned().ok_or_else(|| {
        let reason = format!("value '{name}' is listed in the manifest but not in {file}");
        LoadError::new(source.at(file), LoadErrorKind::Manifest { reason })
    })
}
