//! # npz-stream
//!
//! `.npz` archives (numpy's `savez` / `savez_compressed` format) written and read in bounded
//! memory: members streamed frame by frame, deflated members that are *seekable* (random frame
//! reads in time proportional to the frames read), and stored members aligned so they map
//! zero-copy. numpy's `np.load` reads every archive this crate writes; this crate reads every
//! archive numpy writes.
//!
//! ## Quick start
//!
//! ```
//! use npy_format::{DType, FrameSource, Header};
//! use npz_stream::{Compression, FrameSink, NpzReader, NpzWriter};
//! # let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("run.npz");
//!
//! // Write: a whole array, then a compressed member streamed frame by frame.
//! let mut npz = NpzWriter::create(&path).unwrap();
//! npz.add_array("pedestal", &[100u16; 64], &[8, 8]).unwrap();
//! npz.set_compression(Compression::deflate());
//! let frame_header = Header::new(DType::parse("<u2").unwrap(), false, vec![0, 8, 8]);
//! let mut adc = npz.begin_member("adc", &frame_header).unwrap();
//! for i in 0..1000u16 {
//!     adc.append(&[i; 64]).unwrap(); // one 8×8 frame; the count is not known in advance
//! }
//! adc.finish().unwrap();
//! npz.finish().unwrap();
//!
//! // Read: list, read frames at random (seekable compressed member), map stored members.
//! let reader = NpzReader::open(&path).unwrap();
//! assert_eq!(reader.keys(), vec!["pedestal", "adc"]);
//! let info = reader.info("adc").unwrap();
//! assert_eq!(info.header.shape, vec![1000, 8, 8]);
//! assert!(info.seekable);
//! let mut adc = reader.member("adc").unwrap();
//! let frames = adc.read_frames(998, 1000).unwrap();
//! assert_eq!(frames.len(), 2 * 64 * 2);
//! assert_eq!(u16::from_le_bytes([frames[0], frames[1]]), 998);
//! let pedestal = reader.view::<u16>("pedestal").unwrap(); // zero-copy
//! assert_eq!(pedestal.as_slice(), &[100u16; 64]);
//! ```
//!
//! In Python, `np.load(path)["adc"]` gives the same `(1000, 8, 8)` array.
//!
//! ## Map of the crate
//!
//! - [`NpzWriter`] ([`WriterOptions`], [`Compression`]): create or append to archives; add
//!   whole arrays ([`NpzWriter::add_array`], [`NpzWriter::add_raw`]), existing `.npy` files
//!   ([`NpzWriter::add_npy_file`], [`zip_npy_files`]), or streamed members
//!   ([`NpzWriter::begin_member`] → [`MemberWriter`], a [`FrameSink`]).
//! - Safety of writers: [`LockMode`] ([`WriterOptions::lock`]) for the archive's lock,
//!   [`recover`] ([`Recovery`]) for an archive whose append was interrupted,
//!   [`WriterOptions::create_new`] for an output that must not replace a file.
//! - [`NpzReader`] ([`ReaderOptions`]), of a local file or read by ranges from object storage
//!   ([`NpzReader::open_location`], [`NpzReader::open_source`]): [`MemberInfo`] for every
//!   array member, and [`NpzReader::list`] ([`MemberEntry`], [`Content`]) for every member,
//!   arrays or not; whole reads
//!   ([`NpzReader::read_array`], [`NpzReader::read_bytes`], [`MemberReader`]); frames
//!   ([`NpzReader::member`] → [`Member`], a [`FrameSource`]); zero-copy views of stored members
//!   ([`NpzReader::view`]); zran indexes for foreign compressed members, built in memory
//!   ([`NpzReader::build_index`], [`ReaderOptions::index_foreign`]) or stored in the archive or
//!   a sidecar by [`index`] ([`IndexOptions`], [`IndexReport`]; `npz index`) and used by every
//!   reader ([`ReaderOptions::stored_index`]).
//! - [`format`](mod@format): the bytes written, and why numpy and `unzip` accept them.
//! - Errors: [`OpenError`], [`ReadError`], [`WriteError`].
//!
//! ## Reading from object storage
//!
//! [`NpzReader::open_location`] takes a path or a URL (`s3://bucket/key`, `gs://`, `az://`,
//! `http(s)://`; feature `remote`, on with `cli`), the store configured from the standard
//! environment (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
//! ...); [`NpzReader::open_source`] takes any
//! [`ByteSource`](npy_format::source::ByteSource) (a store built by hand, memory, a file read by
//! ranges). The archive is then read by ranged requests, the same code as for a local file
//! (whose reads are system calls), and every read gives the local file's bytes. The requests,
//! as counted by the tests (`tests/remote.rs`, with `CountingSource`, on the S3 server of
//! `cargo xtask test` too):
//!
//! | operation | requests |
//! |---|---|
//! | open | 1: the last 64 KiB + 22 bytes, end records and central directory (some 1000 members with short names); 2 for a longer directory |
//! | `keys`, `len` | 0 |
//! | a member's first use (`info`, `member`, ...) | 1: local header, NPY header and the first 16 KiB; then cached |
//! | `list` (`npz ls`) | 1 [`read_ranges`](npy_format::source::ByteSource::read_ranges) call per 256 members (coalesced and run concurrently by the store) |
//! | frames of a stored member | 1 per range |
//! | frames of a seekable deflated member (this crate's) | 1 per range: the chunks from the seek point to the last frame, with the full flush before them |
//! | frames of numpy's deflated member indexed by [`index`] (`npz index`) | the index's point table once (1), then 2 per range: the point's window, the compressed bytes from the point to the next |
//! | frames of a deflated member without points | inflated from the start (or the previous read's position), reads of 256 KiB doubling to 8 MiB |
//! | a whole member (`read_bytes`, `read_array`, `verify`) | 1 up to 8 MiB (with its first use), then 1 per 8 MiB |
//!
//! What differs from a local file: zero-copy views ([`NpzReader::data`], [`NpzReader::view`])
//! need a map and are refused ([`ReadErrorKind::NotMapped`], [`NpzReader::can_view`]); sidecar
//! indexes (`FILE.idx`) are not looked for (indexes stored in the archive are used); an archive
//! whose last append was interrupted is not looked for further back than its end records (that
//! recovery scan reads the file back in 1 MiB blocks, for local files only). Errors are the same
//! typed errors, their path the URL. The `npz` tool's `ls`, `rows`, `extract` and `test` take
//! URLs and print what they print for the local file.
//!
//! ## Design notes
//!
//! - **Seekable deflate.** Deflated members are cut into chunks (1 MiB of array data by
//!   default, at frame boundaries), each compressed by a fresh compressor ending in a full
//!   flush, so chunks are compressed in parallel on all cores and a reader can start inflating
//!   at any chunk. Chunk starts are recorded in a private central-directory extra field; see
//!   [`format`](mod@format).
//! - **Streaming headers.** The NPY header of a deflated member is written as *stored* deflate
//!   blocks, whose length does not depend on the content, so a streamed member's header is
//!   rewritten in place with the final frame count. Stored members are patched the same way.
//! - **Bounded memory.** Writers hold one chunk plus the chunks in flight (2 × threads + 1);
//!   readers inflate through 64 KiB buffers; whole-member reads grow with the bytes inflated.
//! - **Untrusted input.** Every offset and size read from an archive is checked against the
//!   file before use; the declared size of a member caps what is inflated (with a ratio check
//!   against zip bombs); CRC-32 is checked on every read that covers a whole member.
//! - **Atomic creation.** A new archive is written beside its path and renamed into place
//!   after a sync (replacing an archive keeps its mode, and takes its lock for the rename).
//! - **Random access into numpy's archives.** `np.savez_compressed` writes one deflate stream
//!   per member, with no point to start inflating but its start. [`index`] records zran access
//!   points (a block boundary's bit offset and the 32 KiB window before it) in one pass at
//!   zlib-rs's speed: zlib-rs stops at every block boundary (`InflateFlush::Block`) but its safe
//!   API does not say at which bit of the byte, so each of the 8 candidates is tried with
//!   miniz_oxide (which resumes at a bit offset), and a point is kept only if one reproduces
//!   the next 4 KiB. The index is appended to the archive the way appends are
//!   written, so numpy sees the same archive. See
//!   [`format`](mod@format#stored-access-point-indexes).
//! - **Locked, crash-safe appends.** An append holds the archive's lock ([`LockMode`], the
//!   one `npy-append` takes) and writes after the old end records, never over them: a killed
//!   append leaves the old archive, which [`NpzReader`] opens and [`recover`] (or the next
//!   append) restores for every zip reader. See [`format`](mod@format#appending).
//!
//! ## Features
//!
//! - `cli` (default): the `npz` command-line tool (`ls`, `rows`, `zip`, `add`, `extract`,
//!   `index`, `test`, `recover`).
//!   Library users can turn it off to avoid clap and serde_json.
//! - `remote`: archives on object storage by URL ([`NpzReader::open_location`]), through
//!   npy-format's `remote` feature (`object_store`); [`NpzReader::open_source`] reads any
//!   byte source without it.
//! - `ndarray`: members as `ndarray` views of a named dimension ([`NpzReader::ndarray`]),
//!   owned arrays from any member ([`NpzReader::read_ndarray`]), any `ArrayBase` added
//!   ([`NpzWriter::add_ndarray`]); `npz_stream::ndarray` re-exported.

#![forbid(unsafe_code)]

mod access_index;
mod deflate;
mod error;
pub mod format;
mod inflate;
#[cfg(feature = "json")]
mod info;
mod io_util;
#[cfg(feature = "ndarray")]
mod nd;
mod reader;
mod writer;
mod zip;

/// What a writer does when another writer holds the archive's lock (the workspace's one lock,
/// shared with `npy-append`: an `npz add` and an `npy append` exclude each other too). See
/// [`WriterOptions::lock`].
pub use array_files_fs::LockMode;
pub use array_files_fs::error::{PathError, ResultKind};
pub use error::{OpenError, OpenErrorKind, ReadError, ReadErrorKind, WriteError, WriteErrorKind};
#[cfg(feature = "json")]
pub use info::{entry_json, member_json};
#[cfg(feature = "ndarray")]
pub use ndarray;
pub use npy_format;
pub use npy_format::{DType, FrameSink, FrameSource, Header};
pub use reader::{
    Content, Member, MemberEntry, MemberInfo, MemberReader, Method, NpzReader, ReaderOptions,
    index_sidecar_path,
};
pub use writer::{
    Compression, IndexOptions, IndexReport, IndexedMember, MemberWriter, NpzWriter, Recovery,
    WriterOptions, index, recover, update_crc32, zip_npy_files,
};
