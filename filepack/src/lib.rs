//! # treepack
//!
//! A directory tree of millions of files in one file: O(1) open, O(1) lookup through an on-disk
//! hash index, memory-mapped and shared lock-free by any number of reader threads and processes.
//!
//! ## Quick start
//!
//! ```
//! use treepack::{Pack, PackBuilder};
//! # let dir = tempfile::tempdir().unwrap();
//! # let src = dir.path().join("dataset");
//! # std::fs::create_dir_all(src.join("train/cats")).unwrap();
//! # std::fs::create_dir_all(src.join("empty")).unwrap();
//! # std::fs::write(src.join("train/cats/0001.jpg"), b"\xff\xd8jpeg").unwrap();
//! # std::fs::write(src.join("labels.csv"), "file,label\n0001.jpg,cat\n").unwrap();
//! let out = dir.path().join("dataset.fpack");
//!
//! // Pack a directory tree (all cores; hidden files, empty files and dirs kept).
//! let summary = PackBuilder::new().pack_dir(&src, &out).unwrap();
//! assert_eq!(summary.files, 2);
//!
//! // Open it: reads the header and maps the file, whatever the number of entries.
//! let pack = Pack::open(&out).unwrap();
//!
//! // Zero-copy bytes, a Read + Seek + BufRead reader, or a String.
//! assert_eq!(pack.bytes("train/cats/0001.jpg").unwrap(), b"\xff\xd8jpeg");
//! let mut reader = pack.open_file("./labels.csv").unwrap();
//! let text = std::io::read_to_string(&mut reader).unwrap();
//! assert!(text.starts_with("file,label"));
//!
//! // Directory queries, like std::fs.
//! assert_eq!(pack.listdir("").unwrap(), ["empty", "labels.csv", "train"]);
//! assert!(pack.is_dir("train//cats/") && pack.exists("empty"));
//! let walked: Vec<_> = pack.walk("train").unwrap().map(|e| e.unwrap().path()).collect();
//! assert_eq!(walked, ["train", "train/cats", "train/cats/0001.jpg"]);
//!
//! // Share it between threads without a lock.
//! std::thread::scope(|s| {
//!     for _ in 0..4 {
//!         s.spawn(|| assert_eq!(pack.bytes("train/cats/0001.jpg").unwrap().len(), 6));
//!     }
//! });
//!
//! // Look up a loader's batch at once: the lookups' waits for memory overlap.
//! let batch = pack.bytes_many(&["labels.csv", "train/cats/0001.jpg"]);
//! assert_eq!(batch[1].as_deref().unwrap(), b"\xff\xd8jpeg");
//! ```
//!
//! The `treepack` binary (feature `cli`, on by default) does the same from a shell:
//! `treepack pack DIR -o OUT.fpack`, `treepack ls`, `cat`, `extract`, `verify`, `info`, and
//! `treepack convert OLD.fpack NEW.fpack` for packs written by FilePacker. Feature `ndarray`:
//! `.npy` entries as `ndarray` views of a named dimension ([`PackedNpy::to_ndarray`]).
//!
//! ## The name
//!
//! The crate grew up as `filepack`, and its on-disk format keeps that name (the magic
//! `\x89FPACK\r\n`, the `.fpack` extension, [`format`](mod@format)); its folder in the repository is still
//! `filepack/`. On crates.io `filepack` is another project, so the package, its library
//! (`use treepack::...`) and its command are all `treepack`: one name to add, import and run,
//! and no clash with that crate's library in a program that uses both.
//!
//! ## Reading from object storage
//!
//! A pack in S3 (or GCS, Azure, HTTP; feature `remote`, on with `cli`) opens with
//! [`Pack::open_location`] in at most two requests whatever its entry count: the first 64 KiB,
//! then the tables at its end (a pack under 64 KiB comes whole in one). Lookups, listings and
//! walks then cost nothing; [`Pack::read`] fetches one file with one ranged request and
//! [`Pack::read_many`] a batch with one coalesced call (files under 1 MiB apart share a
//! request, the requests run concurrently). Any [`npy_format::source::ByteSource`] works
//! through [`OpenOptions::open_source`]:
//!
//! ```
//! use npy_format::source::{CountingSource, MemorySource};
//! use treepack::{EntryMeta, OpenOptions, PackWriter};
//! let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
//! for i in 0..3000 {
//!     w.add_bytes(&format!("img/{i}.jpg"), &[i as u8; 100], EntryMeta::file()).unwrap();
//! }
//! let bytes = w.finish().unwrap().0.into_inner();
//! let source = std::sync::Arc::new(CountingSource::new(MemorySource::new(bytes, "s3://b/p")));
//! let pack = OpenOptions::new().open_source(source.clone()).unwrap();
//! assert_eq!(source.requests(), 2);
//! let batch = pack.read_many(&["img/7.jpg", "img/2999.jpg"]);
//! assert_eq!(batch[0].as_deref().unwrap(), &[7u8; 100][..]);
//! assert_eq!(source.requests(), 3);
//! ```
//!
//! ## Map of the crate
//!
//! - [`PackBuilder`]: pack a directory tree ([`PackBuilder::pack_dir`]) on all cores, with
//!   filters (extensions, globs, hidden files) and symlink handling, or `(path, reader)` pairs
//!   ([`PackBuilder::pack_readers`]).
//! - [`PackWriter`]: add entries one at a time to any `Write + Seek`.
//! - [`Pack`]: open ([`Pack::open`], [`OpenOptions`]) and read: [`Pack::bytes`],
//!   [`Pack::bytes_many`] (a batch, pipelined), [`Pack::open_file`] ([`FileReader`]), [`Pack::read_to_string`], [`Pack::metadata`],
//!   [`Pack::listdir`], [`Pack::read_dir`], [`Pack::walk`], [`Pack::entries`],
//!   [`Pack::verify`], [`Pack::extract`].
//! - [`PackedNpy`] ([`Pack::npy`]): an `.npy` inside a pack as an [`npy_format::FrameSource`] and
//!   a zero-copy [`npy_format::TypedView`].
//! - [`format`](mod@format): the byte layout, specified precisely enough to write a reader in another
//!   language.
//! - [`LegacyPack`]: a pack written by FilePacker, checked whole at open, and
//!   [`ConvertOptions`] / [`convert_legacy`] to convert it into this format.
//! - Errors: [`Error`] (reading: a [`PathError`] over [`ErrorKind`] naming the pack),
//!   [`BuildError`] (packing), [`ExtractError`] (extracting),
//!   [`LegacyError`] (a FilePacker pack: a [`PathError`] over [`LegacyErrorKind`]),
//!   [`ConvertError`] (converting one).
//!
//! ## Paths
//!
//! Paths are UTF-8, relative to the packed root, `/`-separated. Queries are normalized:
//! `./a/b`, `a//b`, `/a/b` and `a/b/` all find `a/b`, and `""` (or `/`, `.`) is the root. A `..`
//! that would leave the root is an error. Symlinks inside the pack are followed by the reading
//! methods (`bytes`, `metadata`, `is_file`...) as long as they stay inside the pack; `entry`,
//! `symlink_metadata` and `read_link` do not follow the last component.
//!
//! ## Guarantees
//!
//! - **O(1) open**: [`Pack::open`] reads the 144-byte header and the root's record and maps the
//!   file. Nothing is parsed per entry.
//! - **O(1) lookup**: a path is hashed (XXH3-64) and found in at most `index_max_probe + 1`
//!   consecutive slots of an on-disk Robin Hood hash table (the bound is in the header, a few
//!   slots in practice).
//! - **Never a panic or a read outside the file on a corrupt pack**: every offset and length is
//!   checked (with overflow checks) against the file and its regions when it is used; problems
//!   are [`ErrorKind::Corrupt`] naming the offset.
//! - **Integrity**: XXH3-64 of every file and of the tables; [`Pack::verify`] checks them all,
//!   [`OpenOptions::verify_reads`] on every read.
//! - **Crash safety**: packs are written to a temporary file, header last, then renamed into place.
//! - **Safe extraction**: see [`Pack::extract_with`].
//!
//! ## Compared with FilePacker
//!
//! FilePacker (the Python tool this crate replaces) parses its whole header at open, serializes
//! every read through one global lock, stores names in fixed 128-character slots that break on
//! non-ASCII names, needs the packing machine's base path in every query, drops empty
//! directories and has no checksums. Here open and lookup cost the same for 1k or 1M entries,
//! readers share one map with no lock, names are any UTF-8, and queries are relative paths.
//! Its packs convert into this format with [`convert_legacy`] (`treepack convert`), which
//! checks the whole old pack first (see [`LegacyPack`]) and keeps every file's bytes.

#[cfg(feature = "ndarray")]
pub use ndarray;
pub use npy_format;

mod build;
mod convert;
mod error;
mod extract;
pub mod format;
mod glob;
mod kind;
mod legacy;
mod npy;
mod path;
mod prefetch;
mod read;
mod write;

pub use array_files_fs::error::{PathError, ResultKind};
pub use build::{PackBuilder, Phase, Progress};
pub use convert::{ConvertOptions, convert_legacy};
pub use error::{
    BuildError, ConvertError, Error, ErrorKind, ExtractError, LegacyError, LegacyErrorKind,
};
pub use extract::{ExtractOptions, ExtractSummary};
pub use format::PackHeader;
pub use legacy::{LegacyEntries, LegacyEntry, LegacyPack};
pub use npy::PackedNpy;
pub use path::normalize_path;
pub use read::{
    Entries, Entry, FileReader, HEAD_BYTES, Kind, Metadata, OpenOptions, Pack, ReadDir,
    VerifySummary, Walk,
};
pub use write::{EntryMeta, PackSummary, PackWriter};
