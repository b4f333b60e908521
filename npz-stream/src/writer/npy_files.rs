//! Existing `.npy` files into archives: [`zip_npy_files`] and the preparation `add_npy_file` uses.

use super::*;

/// Bytes per deflate chunk: `chunk_size` rounded down to whole frames when a frame is smaller.
pub(super) fn chunk_bytes(header: &Header, chunk_size: usize) -> usize {
    let frame_len = header.frame_len().unwrap_or(0);
    let size = chunk_size as u64;
    (if frame_len > 0 && frame_len <= size {
        size / frame_len * frame_len
    } else {
        size
    }) as usize
}

/// An input `.npy` file, opened and checked.
pub(super) struct NpyInput {
    pub(super) file: File,
    pub(super) file_len: u64,
    pub(super) header: Header,
    pub(super) header_bytes: Vec<u8>,
    /// Bytes after the header (data and anything after it).
    pub(super) available: u64,
}

pub(super) fn input_io_err(path: &Path, source: io::Error) -> WriteError {
    WriteError::new(
        path.to_path_buf(),
        WriteErrorKind::Input {
            source: npy_format::ReadErrorKind::Io { source },
        },
    )
}

pub(super) fn open_npy(path: &Path) -> Result<NpyInput, WriteError> {
    let input_err = |source| WriteError::new(path.to_path_buf(), WriteErrorKind::Input { source });
    let file = File::open(path).map_err(|e| input_io_err(path, e))?;
    let file_len = file.metadata().map_err(|e| input_io_err(path, e))?.len();
    let parsed = Header::read_from(
        &mut BufReader::with_capacity(4096, &file),
        npy_format::ReadOptions::default().max_header_size(usize::MAX),
    )
    .map_err(|source| input_err(npy_format::ReadErrorKind::Header { source }))?;
    let available = file_len - parsed.data_offset;
    if !parsed.header.dtype.has_object() {
        let expected = parsed.header.data_len().unwrap_or(u64::MAX);
        if available < expected {
            return Err(input_err(npy_format::ReadErrorKind::Truncated {
                data_offset: parsed.data_offset,
                expected,
                available,
            }));
        }
    }
    let mut header_bytes = vec![0u8; parsed.data_offset as usize];
    read_exact_at(&file, &mut header_bytes, 0).map_err(|e| input_io_err(path, e))?;
    Ok(NpyInput {
        file,
        file_len,
        header: parsed.header,
        header_bytes,
        available,
    })
}

/// A small `.npy` file compressed in memory, ready to be written as a member.
pub(super) struct Prepared {
    pub(super) input: NpyInput,
    pub(super) compressed: crate::deflate::Compressed,
}

pub(super) fn prepare_npy(
    path: &Path,
    chunk_size: usize,
    level: u32,
) -> Result<Prepared, WriteError> {
    let input = open_npy(path)?;
    let mut data = vec![0u8; input.available as usize];
    read_exact_at(&input.file, &mut data, input.header_bytes.len() as u64)
        .map_err(|e| input_io_err(path, e))?;
    let chunk = chunk_bytes(&input.header, chunk_size);
    let compressed = crate::deflate::compress_in_memory(&data, chunk, level.min(9))
        .map_err(|e| input_io_err(path, e))?;
    Ok(Prepared { input, compressed })
}

/// Zips existing `.npy` files into a new archive at `out` (numpyWriter's `zipNpyFiles`):
/// `(key, path)` pairs become members `KEY.npy`. `out` must not be one of the inputs (compared
/// by file identity, not by name). With `delete_originals`, the inputs are removed only after
/// the archive has been synced and put in place, each file once (an input named twice, or
/// through two names of one file, is removed once).
///
/// # Errors
/// [`WriteErrorKind::InputIsOutput`] if `out` is one of the inputs; as
/// [`NpzWriter::add_npy_file`] and [`NpzWriter::finish`]; on error no archive is left at
/// `out` (an existing one is untouched) and no input is deleted.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// let a = dir.path().join("a.npy");
/// npy_format::write_file(&a, &[1u16, 2, 3], &[3]).unwrap();
/// let out = dir.path().join("out.npz");
/// let opts = npz_stream::WriterOptions::default().compression(npz_stream::Compression::deflate());
/// npz_stream::zip_npy_files(&out, &[("a", &a), ("again", &a)], opts, true).unwrap();
/// assert!(!a.exists());
/// assert_eq!(npz_stream::NpzReader::open(&out).unwrap().keys(), vec!["a", "again"]);
/// ```
pub fn zip_npy_files<K: AsRef<str>, P: AsRef<Path>>(
    out: impl AsRef<Path>,
    files: &[(K, P)],
    options: WriterOptions,
    delete_originals: bool,
) -> Result<(), WriteError> {
    let out = out.as_ref();
    let out_id = file_id(out);
    // Each input's identity, to refuse the output and to delete every file once.
    let mut ids = Vec::with_capacity(files.len());
    for (_, path) in files {
        let path = path.as_ref();
        let id = file_id(path);
        if id.is_some() && id == out_id {
            return Err(WriteError::new(
                out.to_path_buf(),
                WriteErrorKind::InputIsOutput {
                    input: path.to_path_buf(),
                },
            ));
        }
        ids.push(id);
    }
    let mut npz = options.create(out)?;
    npz.add_npy_files(files)?;
    npz.finish()?;
    if delete_originals {
        let mut deleted = HashSet::new();
        for ((_, path), id) in files.iter().zip(ids) {
            let path = path.as_ref();
            if let Some(id) = id
                && !deleted.insert(id)
            {
                continue;
            }
            fs::remove_file(path).map_err(|source| {
                WriteError::new(
                    path.to_path_buf(),
                    WriteErrorKind::Input {
                        source: npy_format::ReadErrorKind::Io { source },
                    },
                )
            })?;
        }
    }
    Ok(())
}

/// The identity of the file `path` names (device and inode on Unix), `None` if there is none.
#[cfg(unix)]
pub(super) fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The identity of the file `path` names (its canonical path here), `None` if there is none.
#[cfg(not(unix))]
pub(super) fn file_id(path: &Path) -> Option<PathBuf> {
    fs::canonicalize(path).ok()
}
