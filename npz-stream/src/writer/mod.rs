//! Writing archives: whole arrays, streamed members, existing `.npy` files; appending.

mod index;
mod member;
mod npy_files;
mod options;
mod recover;

pub use index::{IndexOptions, IndexReport, IndexedMember, index};
use member::Body;
pub use member::MemberWriter;
pub use npy_files::zip_npy_files;
use npy_files::{Prepared, chunk_bytes, input_io_err, open_npy, prepare_npy};
pub use options::{Compression, WriterOptions};
use recover::recover_with;
pub use recover::{Recovery, recover, update_crc32};

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use npy_format::source::Spool;
use npy_format::{Element, FrameError, FrameSink, Header, Version, as_bytes};

use crate::deflate::{DeflateStream, Pool, stored_blocks, stored_blocks_len};
use crate::error::{OpenErrorKind, WriteError, WriteErrorKind};
use crate::format::SeekIndex;
use array_files_fs::atomic::{self, Persist, TempFile};
use array_files_fs::lock::{self as fslock, LockFail, LockMode};

use crate::io_util::{read_exact_at, write_all_at};
use crate::zip::{self, NewEntry};

/// Writes an `.npz` archive: whole arrays, streamed members, existing `.npy` files.
///
/// A new archive is written to a temporary file beside `path` and renamed over it by
/// [`finish`](Self::finish), after a sync: readers see the old file or the complete new one.
/// Dropping the writer without finishing removes the temporary file, and says so in one line
/// on stderr (`npz-stream: ... dropped without finish()`, unless the thread is panicking or
/// [`WriterOptions::warn_unfinished`] is off): an archive that silently never appeared is a bug
/// that is hard to find. One left by a killed
/// process (`.NAME.PID-N.tmp`, its process gone) is removed by the next writer of `path`.
/// Replacing an existing archive takes its lock for the rename, so it never cuts in on an
/// append.
///
/// Appending ([`append`](Self::append)) locks the archive (see [`LockMode`]) and writes the new
/// members *after* the old end records, then the new central directory and end records, and
/// syncs: no byte of the old archive is ever overwritten. A writer dropped unfinished, or whose
/// `finish` fails, cuts the file back to its old length. A process killed (or a machine that
/// loses power) in the middle of an append leaves the complete old archive followed by new
/// bytes: [`NpzReader`](crate::NpzReader) opens it with the old members, [`recover`](crate::recover)
/// (`npz recover`) cuts the new bytes off so that every zip reader opens it again, and the next
/// append does that by itself. See [`format`](crate::format#appending) for the layout.
///
/// ```
/// use npz_stream::{Compression, FrameSink, Header, NpzReader, NpzWriter};
/// use npy_format::{DType, FrameSource};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("run.npz");
/// let mut npz = NpzWriter::create(&path).unwrap();
/// npz.add_array("gain", &[1.0f32, 2.0, 3.0], &[3]).unwrap();
///
/// // A streamed, compressed member: frames appended one by one, count unknown in advance.
/// npz.set_compression(Compression::deflate());
/// let header = Header::new(DType::parse("<u2").unwrap(), false, vec![0, 4]);
/// let mut frames = npz.begin_member("adc", &header).unwrap();
/// for i in 0..10u16 {
///     frames.append(&[i; 4]).unwrap();
/// }
/// assert_eq!(frames.finish().unwrap().shape, vec![10, 4]);
/// npz.finish().unwrap();
///
/// let reader = NpzReader::open(&path).unwrap();
/// assert_eq!(reader.keys(), vec!["gain", "adc"]);
/// assert_eq!(reader.member("adc").unwrap().read_frames(9, 10).unwrap(), vec![9, 0, 9, 0, 9, 0, 9, 0]);
/// ```
pub struct NpzWriter {
    path: PathBuf,
    /// A new archive's temporary file, and whether `finish` may replace an existing file.
    tmp: Option<(TempFile, bool)>,
    file: File,
    end: u64,
    /// Central-directory records of members already in the archive (appending), verbatim.
    old_records: Vec<Vec<u8>>,
    entries: Vec<NewEntry>,
    names: HashSet<String>,
    comment: Vec<u8>,
    options: WriterOptions,
    pool: Option<Pool>,
    /// Appending: the archive's length before the append (what a failed append cuts back to).
    append_start: Option<u64>,
    /// A new archive for object storage: `path` is its URL, `file` the spool's local file,
    /// uploaded by [`finish`](Self::finish); dropped after `file` (the private directory is
    /// removed with the file in it).
    upload: Option<Upload>,
    done: bool,
}

/// Where an archive for object storage is written before [`NpzWriter::finish`] uploads it.
struct Upload {
    url: String,
    spool: Spool,
}

impl std::fmt::Debug for NpzWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpzWriter")
            .field("path", &self.path)
            .field("members", &self.names.len())
            .field("end", &self.end)
            .field("options", &self.options)
            .finish()
    }
}

impl NpzWriter {
    /// Creates a new archive at `path` with default options (stored, aligned members).
    ///
    /// # Errors
    /// [`WriteErrorKind::Io`] if the temporary file cannot be created.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
    /// npz.add_array("x", &[1i64, 2], &[2]).unwrap();
    /// npz.finish().unwrap();
    /// ```
    pub fn create(path: impl AsRef<Path>) -> Result<NpzWriter, WriteError> {
        WriterOptions::default().create(path)
    }

    /// Options for a new writer.
    ///
    /// ```
    /// use npz_stream::{Compression, Method, NpzReader, NpzWriter};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = NpzWriter::options().compression(Compression::deflate()).create(&path).unwrap();
    /// npz.add_array("x", &[0u8; 1000], &[1000]).unwrap();
    /// npz.finish().unwrap();
    /// assert_eq!(NpzReader::open(&path).unwrap().info("x").unwrap().method, Method::Deflated);
    /// ```
    pub fn options() -> WriterOptions {
        WriterOptions::default()
    }

    /// Opens an existing archive to add members with default options, taking its lock
    /// ([`LockMode::FailFast`]; see [`WriterOptions::lock`]) for the writer's life. Its bytes
    /// are kept as they are: new members go after its end records, and
    /// [`finish`](Self::finish) writes a new central directory after them. If the writer is
    /// dropped unfinished the file is cut back to its old length. If a previous append was
    /// interrupted, the bytes it left are cut off first (as [`recover`](crate::recover) does).
    ///
    /// # Errors
    /// [`WriteErrorKind::Locked`] if another writer holds the lock; [`WriteErrorKind::Open`] if the
    /// archive is not readable; [`WriteErrorKind::Unsupported`] for archives with data before
    /// their first member.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// npz.add_array("a", &[1u8], &[1]).unwrap();
    /// npz.finish().unwrap();
    /// let mut npz = npz_stream::NpzWriter::append(&path).unwrap();
    /// npz.add_array("b", &[2u8], &[1]).unwrap();
    /// npz.finish().unwrap();
    /// assert_eq!(npz_stream::NpzReader::open(&path).unwrap().keys(), vec!["a", "b"]);
    /// ```
    pub fn append(path: impl AsRef<Path>) -> Result<NpzWriter, WriteError> {
        WriterOptions::default().append(path)
    }

    fn create_with(
        path: &Path,
        options: WriterOptions,
        replace: bool,
    ) -> Result<NpzWriter, WriteError> {
        let io = |source| WriteError::new(path.to_path_buf(), WriteErrorKind::Io { source });
        // What a killed writer of this archive left (its process is gone): a failure to
        // clean is not this writer's to report.
        let _ = atomic::remove_stale_temps(path);
        let tmp = TempFile::beside(path).map_err(io)?;
        let file = tmp.file().try_clone().map_err(io)?;
        let mut writer = NpzWriter::empty(path.to_path_buf(), file, options);
        writer.tmp = Some((tmp, replace));
        Ok(writer)
    }

    /// A writer of a new, empty archive named `path`, written to `file`.
    fn empty(path: PathBuf, file: File, options: WriterOptions) -> NpzWriter {
        NpzWriter {
            path,
            tmp: None,
            file,
            end: 0,
            old_records: Vec::new(),
            entries: Vec::new(),
            names: HashSet::new(),
            comment: Vec::new(),
            options,
            pool: None,
            append_start: None,
            upload: None,
            done: false,
        }
    }

    fn append_with(path: &Path, options: WriterOptions) -> Result<NpzWriter, WriteError> {
        let (file, dir) = open_to_extend(path, options.lock)?;
        let names = dir.entries.iter().map(|e| e.name.clone()).collect();
        Ok(NpzWriter {
            path: path.to_path_buf(),
            tmp: None,
            file,
            end: dir.end,
            old_records: dir.entries.into_iter().map(|e| e.raw_record).collect(),
            entries: Vec::new(),
            names,
            comment: dir.comment,
            options,
            pool: None,
            append_start: Some(dir.end),
            upload: None,
            done: false,
        })
    }

    /// The archive's final path: its URL for an archive written to object storage
    /// ([`WriterOptions::create_location`]), which errors and the drop warning name too.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
    /// assert!(npz.path().ends_with("a.npz"));
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Changes the compression of members added from now on.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
    /// npz.set_compression(npz_stream::Compression::deflate());
    /// npz.add_array("z", &[0u8; 1000], &[1000]).unwrap();
    /// npz.finish().unwrap();
    /// ```
    pub fn set_compression(&mut self, compression: Compression) {
        self.options.compression = compression;
    }

    /// Whether the archive already has a member for `key` (`KEY.npy`).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
    /// npz.add_array("x", &[1u8], &[1]).unwrap();
    /// assert!(npz.contains("x"));
    /// assert!(!npz.contains("y"));
    /// ```
    pub fn contains(&self, key: &str) -> bool {
        self.names.contains(&format!("{key}.npy"))
    }

    fn io_err(&self, source: io::Error) -> WriteError {
        WriteError::new(self.path.clone(), WriteErrorKind::Io { source })
    }

    /// Adds a C-order array of `T` with `shape`, as `np.savez` would write it.
    ///
    /// # Errors
    /// [`WriteErrorKind::DuplicateKey`], [`WriteErrorKind::InvalidKey`], [`WriteErrorKind::Npy`] if `data`
    /// does not have `shape`'s element count, I/O errors.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
    /// let header = npz.add_array("m", &[1.0f64, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// assert_eq!(header.shape, vec![2, 2]);
    /// assert!(npz.add_array("bad", &[1.0f64], &[2]).is_err());
    /// npz.finish().unwrap();
    /// ```
    pub fn add_array<T: Element>(
        &mut self,
        key: &str,
        data: &[T],
        shape: &[u64],
    ) -> Result<Header, WriteError> {
        let header = Header::for_array(T::dtype(), false, shape.to_vec());
        self.add_raw(key, &header, as_bytes(data))?;
        Ok(header)
    }

    /// Adds an array given as its header and raw data bytes (in the header's byte order and
    /// layout). The header is written as given.
    ///
    /// # Errors
    /// As [`Self::add_array`]; [`WriteErrorKind::Npy`] for object dtypes.
    ///
    /// ```
    /// use npy_format::{DType, Header};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
    /// let header = Header::new(DType::parse(">i2").unwrap(), true, vec![2, 2]);
    /// npz.add_raw("be", &header, &[0, 1, 0, 2, 0, 3, 0, 4]).unwrap();
    /// npz.finish().unwrap();
    /// ```
    pub fn add_raw(&mut self, key: &str, header: &Header, data: &[u8]) -> Result<(), WriteError> {
        let npy_err = |source| {
            WriteError::new(
                self.path.clone(),
                WriteErrorKind::Npy {
                    key: key.to_owned(),
                    source,
                },
            )
        };
        let mut header_bytes = Vec::new();
        npy_format::write_header(&mut header_bytes, header).map_err(npy_err)?;
        let expected = header.data_len().unwrap_or(u64::MAX);
        if data.len() as u64 != expected {
            return Err(npy_err(npy_format::WriteError::Length {
                expected,
                actual: data.len() as u64,
            }));
        }
        let mut member = self.begin(key, header.clone(), header_bytes, Some(expected))?;
        member.write_data(data)?;
        member.complete()?;
        Ok(())
    }

    /// Adds a stored member named exactly `name` (not `NAME.npy`) holding `bytes`: a small
    /// non-array member such as a manifest. `np.load` lists it under its full name and returns
    /// its raw bytes; [`NpzReader::read_bytes`](crate::NpzReader::read_bytes) with the same
    /// name reads it back. Its data is not aligned.
    ///
    /// # Errors
    /// [`WriteErrorKind::InvalidKey`] for an empty name, a name with NUL, over 65535 bytes, or a
    /// name the archive already holds; I/O errors (the archive is left as before the call).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// npz.add_array("x", &[1u8, 2], &[2]).unwrap();
    /// npz.add_file("meta.json", br#"{"a": 1}"#).unwrap();
    /// assert!(npz.add_file("meta.json", b"again").is_err());
    /// npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// assert_eq!(reader.keys(), vec!["x", "meta.json"]);
    /// assert_eq!(reader.read_bytes("meta.json").unwrap(), br#"{"a": 1}"#);
    /// ```
    pub fn add_file(&mut self, name: &str, bytes: &[u8]) -> Result<(), WriteError> {
        if self.done {
            return Err(self.io_err(io::Error::other("the archive is already finished")));
        }
        let invalid = |reason| {
            WriteError::new(
                self.path.clone(),
                WriteErrorKind::InvalidKey {
                    key: name.to_owned(),
                    reason,
                },
            )
        };
        if name.is_empty() {
            return Err(invalid("member names must not be empty"));
        }
        if name.contains('\0') {
            return Err(invalid("member names must not contain NUL"));
        }
        if name.len() > 0xFFFF {
            return Err(invalid("member names are limited to 65535 bytes"));
        }
        if self.names.contains(name) {
            return Err(invalid("the archive already has a member of that name"));
        }
        let flags = if name.is_ascii() { 0 } else { zip::FLAG_UTF8 };
        let crc32 = crc32fast::hash(bytes);
        let size = bytes.len() as u64;
        let local = zip::local_header(
            name.as_bytes(),
            flags,
            zip::METHOD_STORED,
            crc32,
            size,
            size,
            0,
        );
        let start = self.end;
        let data_start = start + local.len() as u64;
        let write = write_all_at(&self.file, &local, start)
            .and_then(|()| write_all_at(&self.file, bytes, data_start));
        if let Err(e) = write {
            let _ = self.file.set_len(start);
            return Err(self.io_err(e));
        }
        self.end = data_start + size;
        self.entries.push(NewEntry {
            name: name.as_bytes().to_vec(),
            flags,
            method: zip::METHOD_STORED,
            crc32,
            compressed_size: size,
            size,
            local_offset: start,
            extra: Vec::new(),
        });
        self.names.insert(name.to_owned());
        Ok(())
    }

    /// Adds an existing `.npy` file as member `KEY.npy`, copying its bytes (header as written,
    /// data, and any bytes after the data) without holding them in memory.
    ///
    /// # Errors
    /// [`WriteErrorKind::Input`] if the file is not a readable NPY file or is shorter than its
    /// header says; the errors of [`Self::add_raw`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let npy = dir.path().join("x.npy");
    /// npy_format::write_file(&npy, &[1.5f32, 2.5], &[2]).unwrap();
    /// let mut npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
    /// let header = npz.add_npy_file("x", &npy).unwrap();
    /// assert_eq!(header.shape, vec![2]);
    /// npz.finish().unwrap();
    /// ```
    pub fn add_npy_file(
        &mut self,
        key: &str,
        path: impl AsRef<Path>,
    ) -> Result<Header, WriteError> {
        let path = path.as_ref();
        self.check_key(key)?;
        let input = open_npy(path)?;
        let start = input.header_bytes.len() as u64;
        let mut member = self.begin(
            key,
            input.header.clone(),
            input.header_bytes.clone(),
            Some(input.available),
        )?;
        let mut buf = vec![0u8; (1 << 20).min(input.available as usize)];
        let mut at = start;
        while at < input.file_len {
            let n = (input.file_len - at).min(buf.len() as u64) as usize;
            read_exact_at(&input.file, &mut buf[..n], at).map_err(|e| input_io_err(path, e))?;
            member.write_data(&buf[..n])?;
            at += n as u64;
        }
        member.complete()?;
        Ok(input.header)
    }

    /// Writes a member compressed in memory by `prepare_npy`.
    fn add_prepared(&mut self, key: &str, prepared: Prepared) -> Result<Header, WriteError> {
        let Prepared { input, compressed } = prepared;
        let mut member = self.begin(
            key,
            input.header.clone(),
            input.header_bytes,
            Some(input.available),
        )?;
        let w = &mut *member.w;
        if let Err(e) = write_all_at(&w.file, &compressed.bytes, w.end) {
            return Err(member.io_err(e));
        }
        w.end += compressed.bytes.len() as u64;
        if let Body::Deflate { stream, .. } = &mut member.body {
            stream.adopt(input.available, &compressed);
        }
        member.written = input.available;
        member.complete()?;
        Ok(input.header)
    }

    /// Adds several `.npy` files, `(key, path)` pairs, in order. Deflated members are
    /// compressed on all the writer's threads, chunk by chunk.
    ///
    /// # Errors
    /// As [`Self::add_npy_file`]; the members added before the failing one stay.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let (a, b) = (dir.path().join("a.npy"), dir.path().join("b.npy"));
    /// npy_format::write_file(&a, &[1u8], &[1]).unwrap();
    /// npy_format::write_file(&b, &[2u8], &[1]).unwrap();
    /// let mut npz = npz_stream::NpzWriter::create(dir.path().join("ab.npz")).unwrap();
    /// npz.add_npy_files(&[("a", &a), ("b", &b)]).unwrap();
    /// npz.finish().unwrap();
    /// ```
    pub fn add_npy_files<K: AsRef<str>, P: AsRef<Path>>(
        &mut self,
        files: &[(K, P)],
    ) -> Result<Vec<Header>, WriteError> {
        let threads = self.options.threads;
        let Compression::Deflate { level } = self.options.compression else {
            return files
                .iter()
                .map(|(key, path)| self.add_npy_file(key.as_ref(), path))
                .collect();
        };
        // Small files (up to 4 chunks) are compressed in memory, `threads` files at a time;
        // larger ones chunk by chunk on all threads.
        let small = 4 * self.options.chunk_size as u64;
        let chunk_size = self.options.chunk_size;
        let mut headers = Vec::with_capacity(files.len());
        let mut i = 0;
        while i < files.len() {
            let mut batch = Vec::new();
            while i < files.len() && batch.len() < threads {
                let len = fs::metadata(files[i].1.as_ref()).map_or(u64::MAX, |m| m.len());
                if len > small {
                    break;
                }
                self.check_key(files[i].0.as_ref())?;
                batch.push(i);
                i += 1;
            }
            if batch.len() <= 1 {
                let j = match batch.first() {
                    Some(&j) => j,
                    None => {
                        i += 1;
                        i - 1
                    }
                };
                headers.push(self.add_npy_file(files[j].0.as_ref(), &files[j].1)?);
                continue;
            }
            let prepared: Vec<Result<Prepared, WriteError>> = std::thread::scope(|scope| {
                let handles: Vec<_> = batch
                    .iter()
                    .map(|&j| {
                        let path = files[j].1.as_ref();
                        scope.spawn(move || prepare_npy(path, chunk_size, level))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(self.io_err(io::Error::other("a compression thread panicked")))
                        })
                    })
                    .collect()
            });
            for (&j, prepared) in batch.iter().zip(prepared) {
                headers.push(self.add_prepared(files[j].0.as_ref(), prepared?)?);
            }
        }
        Ok(headers)
    }

    /// Opens member `KEY.npy` as a frame sink: frames are appended incrementally and the
    /// header's growth dimension (axis 0, or the last axis in Fortran order) counts them;
    /// `header`'s own value for it is ignored. Memory stays bounded by the chunk buffers.
    ///
    /// # Errors
    /// [`WriteErrorKind::DuplicateKey`], [`WriteErrorKind::InvalidKey`], [`WriteErrorKind::Npy`] for object
    /// dtypes, I/O errors.
    ///
    /// ```
    /// use npy_format::{DType, FrameSink, Header};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let mut npz = npz_stream::NpzWriter::create(dir.path().join("a.npz")).unwrap();
    /// let mut sink = npz.begin_member("t", &Header::new(DType::parse("<f8").unwrap(), false, vec![0])).unwrap();
    /// sink.append(&[0.5f64, 1.5]).unwrap();
    /// sink.append(&[2.5f64]).unwrap();
    /// assert_eq!(sink.finish().unwrap().shape, vec![3]);
    /// npz.finish().unwrap();
    /// ```
    pub fn begin_member(
        &mut self,
        key: &str,
        header: &Header,
    ) -> Result<MemberWriter<'_>, WriteError> {
        let initial = header.with_frame_count(0);
        let mut header_bytes = Vec::new();
        npy_format::write_header(&mut header_bytes, &initial).map_err(|source| {
            WriteError::new(
                self.path.clone(),
                WriteErrorKind::Npy {
                    key: key.to_owned(),
                    source,
                },
            )
        })?;
        let mut member = self.begin(key, initial.clone(), header_bytes, None)?;
        member.version = Some(initial.version());
        Ok(member)
    }

    fn check_key(&self, key: &str) -> Result<String, WriteError> {
        let invalid = |reason| {
            WriteError::new(
                self.path.clone(),
                WriteErrorKind::InvalidKey {
                    key: key.to_owned(),
                    reason,
                },
            )
        };
        if key.is_empty() {
            return Err(invalid("keys must not be empty"));
        }
        if key.contains('\0') {
            return Err(invalid("keys must not contain NUL"));
        }
        let name = format!("{key}.npy");
        if name.len() > 0xFFFF {
            return Err(invalid("member names are limited to 65535 bytes"));
        }
        if self.names.contains(&name) {
            return Err(WriteError::new(
                self.path.clone(),
                WriteErrorKind::DuplicateKey {
                    key: key.to_owned(),
                },
            ));
        }
        Ok(name)
    }

    /// Writes the local header and the NPY header and returns the member being written.
    fn begin(
        &mut self,
        key: &str,
        header: Header,
        header_bytes: Vec<u8>,
        expected: Option<u64>,
    ) -> Result<MemberWriter<'_>, WriteError> {
        if self.done {
            return Err(self.io_err(io::Error::other("the archive is already finished")));
        }
        let name = self.check_key(key)?;
        let flags = if name.is_ascii() { 0 } else { zip::FLAG_UTF8 };
        let start = self.end;
        let (method, pad) = match self.options.compression {
            Compression::Stored if self.options.align => (
                zip::METHOD_STORED,
                zip::alignment_padding(start, name.len(), header_bytes.len() as u64),
            ),
            Compression::Stored => (zip::METHOD_STORED, 0),
            Compression::Deflate { .. } => (zip::METHOD_DEFLATED, 0),
        };
        let local = zip::local_header(name.as_bytes(), flags, method, 0, 0, 0, pad);
        let data_start = start + local.len() as u64;
        let body = match self.options.compression {
            Compression::Stored => Body::Stored {
                buf: Vec::new(),
                crc: crc32fast::Hasher::new(),
            },
            Compression::Deflate { level } => {
                if self.pool.is_none() {
                    let pool = Pool::new(self.options.threads).map_err(|e| self.io_err(e))?;
                    self.pool = Some(pool);
                }
                Body::Deflate {
                    stream: DeflateStream::new(level.min(9)),
                    fill: Vec::new(),
                    chunk: chunk_bytes(&header, self.options.chunk_size),
                }
            }
        };
        let header_region = match body {
            Body::Stored { .. } => header_bytes.clone(),
            Body::Deflate { .. } => stored_blocks(&header_bytes),
        };
        let write = write_all_at(&self.file, &local, start)
            .and_then(|()| write_all_at(&self.file, &header_region, data_start));
        if let Err(e) = write {
            let _ = self.file.set_len(start);
            return Err(self.io_err(e));
        }
        self.end = data_start + header_region.len() as u64;
        Ok(MemberWriter {
            key: key.to_owned(),
            name,
            flags,
            method,
            start,
            local_len: local.len() as u64,
            data_start,
            frame_len: header.frame_len().unwrap_or(0),
            header,
            header_bytes,
            version: None,
            expected,
            body,
            written: 0,
            frames: 0,
            done: false,
            w: self,
        })
    }

    /// Writes the central directory and end records, syncs, and (for a new archive) renames
    /// the temporary file to the final path and syncs the directory. An append syncs the new
    /// members before it writes the end records that make them visible, and syncs again after.
    ///
    /// # Errors
    /// I/O errors (a new archive's temporary file is removed; an append is cut back to the old
    /// archive); for a new archive, [`WriteErrorKind::Locked`] if the archive it replaces is locked
    /// by another writer, [`WriteErrorKind::Exists`] if it was created with
    /// [`create_new`](WriterOptions::create_new) and the path exists.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("empty.npz");
    /// npz_stream::NpzWriter::create(&path).unwrap().finish().unwrap();
    /// assert_eq!(std::fs::metadata(&path).unwrap().len(), 22);
    /// ```
    pub fn finish(mut self) -> Result<(), WriteError> {
        self.pool = None;
        let mut cd = Vec::new();
        for record in &self.old_records {
            cd.extend_from_slice(record);
        }
        for entry in &self.entries {
            cd.extend_from_slice(&entry.record());
        }
        let count = (self.old_records.len() + self.entries.len()) as u64;
        let end_records = zip::end_records(count, self.end, cd.len() as u64, &self.comment);
        cd.extend_from_slice(&end_records);
        let sync = self.options.sync;
        if self.append_start.is_some() && sync {
            // The members reach the disk before the end records that point at them.
            self.file.sync_data().map_err(|e| self.io_err(e))?;
        }
        let result = write_all_at(&self.file, &cd, self.end)
            .and_then(|()| self.file.set_len(self.end + cd.len() as u64))
            .and_then(|()| if sync { self.file.sync_all() } else { Ok(()) });
        result.map_err(|e| self.io_err(e))?;
        if let Some((mut tmp, replace)) = self.tmp.take() {
            tmp.set_sync(sync);
            let path = self.path.clone();
            let result = if replace {
                // Hold the lock of the archive being replaced: no appender is writing to it.
                let old = match fslock::open_locked(&path, false, self.options.lock) {
                    Ok(old) => Some(old),
                    Err(LockFail::Io(e)) if e.kind() == io::ErrorKind::NotFound => None,
                    Err(LockFail::Locked) => {
                        return Err(WriteError::new(path, WriteErrorKind::Locked));
                    }
                    Err(LockFail::Io(e)) => return Err(self.io_err(e)),
                };
                let result = tmp.persist(&path, Persist::Replace);
                drop(old);
                result
            } else {
                tmp.persist(&path, Persist::NoClobber)
            };
            match result {
                Ok(_) => {}
                Err(e) if !replace && e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(WriteError::new(path, WriteErrorKind::Exists));
                }
                Err(e) => return Err(self.io_err(e)),
            }
        }
        self.done = true;
        if let Some(Upload { url, spool }) = &self.upload {
            // The spool is removed when the writer drops, after its file is closed.
            return upload(spool.path(), url).map_err(|e| self.io_err(e));
        }
        Ok(())
    }

    /// A new archive written to a local file in a [`Spool`] (a private directory of the
    /// temporary directory), uploaded to `url` by [`finish`](Self::finish) (see
    /// [`WriterOptions::create_location`]). Its errors and its drop warning name `url`.
    pub(crate) fn create_for_upload(
        url: &str,
        options: WriterOptions,
    ) -> Result<NpzWriter, WriteError> {
        let io = |source| WriteError::new(url, WriteErrorKind::Io { source });
        let spool = Spool::create(url).map_err(io)?;
        // Made exclusively, in a directory only this user may enter.
        let file = spool.create_file().map_err(io)?;
        // The local file is read once by the upload and removed: nothing to keep on stable
        // storage (the upload is what makes the archive durable).
        let mut writer = NpzWriter::empty(PathBuf::from(url), file, options.sync(false));
        writer.upload = Some(Upload {
            url: url.to_owned(),
            spool,
        });
        Ok(writer)
    }
}

/// Uploads the finished archive at `path` to `url` (feature `remote`).
fn upload(path: &Path, url: &str) -> io::Result<()> {
    #[cfg(feature = "remote")]
    return npy_format::source::upload_file(path, url).map(drop);
    #[cfg(not(feature = "remote"))]
    {
        let _ = (path, url);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "object storage needs the `remote` feature",
        ))
    }
}

impl Drop for NpzWriter {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if self.options.warn_unfinished && !std::thread::panicking() {
            // Never `eprintln!`, which panics when stderr cannot be written (a closed pipe, a
            // log file at its size limit): a drop must not panic for a warning.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "npz-stream: the NpzWriter of {} was dropped without finish(): {}",
                self.path.display(),
                if self.append_start.is_some() {
                    "the members it added were cut off again"
                } else {
                    "no archive was written"
                }
            );
        }
        // A new archive's temporary file is removed when `tmp` drops.
        if let Some(start) = self.append_start {
            let _ = self.file.set_len(start);
            let _ = self.file.sync_all();
        }
    }
}

/// Opens an existing archive to add to it (members, or indexes after them), locked as `lock`
/// says: an archive with data before its first member is refused (the offsets added would not
/// count it), and what an interrupted append or index left after the end records is cut off
/// first.
pub(super) fn open_to_extend(
    path: &Path,
    lock: LockMode,
) -> Result<(File, zip::Directory), WriteError> {
    let io = |source| WriteError::new(path.to_path_buf(), WriteErrorKind::Io { source });
    let (file, file_len, dir) = open_for_update(path, lock)?;
    if dir.prefix != 0 {
        return Err(WriteError::new(
            path.to_path_buf(),
            WriteErrorKind::Unsupported {
                reason: format!(
                    "{} bytes of data precede the first member (a self-extracting archive?)",
                    dir.prefix
                ),
            },
        ));
    }
    if dir.end < file_len {
        file.set_len(dir.end)
            .and_then(|()| file.sync_all())
            .map_err(io)?;
    }
    Ok((file, dir))
}

/// Opens an existing archive for reading and writing, locked as `lock` says, with its length
/// and central directory.
fn open_for_update(path: &Path, lock: LockMode) -> Result<(File, u64, zip::Directory), WriteError> {
    let file = match fslock::open_locked(path, true, lock) {
        Ok(file) => file,
        Err(LockFail::Locked) => {
            return Err(WriteError::new(path.to_path_buf(), WriteErrorKind::Locked));
        }
        Err(LockFail::Io(source)) => {
            return Err(WriteError::new(
                path,
                WriteErrorKind::Open(OpenErrorKind::Io { source }),
            ));
        }
    };
    let file_len = file
        .metadata()
        .map_err(|source| WriteError::new(path.to_path_buf(), WriteErrorKind::Io { source }))?
        .len();
    let dir =
        zip::read_directory(&file, file_len, path).map_err(|e| e.map_kind(WriteErrorKind::Open))?;
    Ok((file, file_len, dir))
}
