//! Packing directory trees on all cores: [`PackBuilder`].
//!
//! One thread walks the tree (directory listings only, sorted by name), then worker threads
//! open, `fstat` and read the files in batches while the calling thread appends them to the pack
//! in sorted order. At most `2 x workers + 2` batches (of 16 entries and at most 8 MiB of
//! contents each) are in flight; files over 1 MiB are not buffered but streamed by the writer in
//! chunks. Memory is bounded by the metadata of the tree (its paths and about 100 bytes per
//! entry), not by its data.

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

use crate::error::BuildError;
use crate::format::{self, DEFAULT_ALIGNMENT};
use array_files_fs::atomic::{self, Persist, TempFile};

use crate::glob::Glob;
use crate::legacy::LegacyPack;
use crate::write::{EntryMeta, PackSummary, PackWriter};

/// Files up to this size are read by the workers; larger ones are streamed by the writer.
const SMALL_FILE: u64 = 1 << 20;
/// Entries per batch handed to a worker.
const BATCH: usize = 16;
/// Bytes of small-file contents a worker buffers per batch before deferring to the writer.
const BATCH_BYTES: u64 = 8 << 20;

/// Where a pack build is.
///
/// ```
/// assert_ne!(treepack::Phase::Scanning, treepack::Phase::Packing);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Listing directories; `entries_done` counts entries found so far.
    Scanning,
    /// Reading and appending files; `entries_done` of `entries_total`, `bytes_done` of
    /// `bytes_total`.
    Packing,
    /// Writing the tables.
    Indexing,
    /// Finished.
    Done,
}

/// A progress report, given to the callback of [`PackBuilder::progress`].
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// # let dir = tempfile::tempdir().unwrap();
/// # std::fs::write(dir.path().join("f"), "x").unwrap();
/// let last = Arc::new(AtomicU64::new(0));
/// let seen = last.clone();
/// treepack::PackBuilder::new()
///     .progress(move |p: &treepack::Progress| seen.store(p.entries_done, Ordering::Relaxed))
///     .pack_dir(dir.path(), dir.path().join("out.fpack"))
///     .unwrap();
/// assert_eq!(last.load(Ordering::Relaxed), 2); // the root and f
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// The phase.
    pub phase: Phase,
    /// Entries scanned or packed so far.
    pub entries_done: u64,
    /// Entries to pack (0 while scanning).
    pub entries_total: u64,
    /// Bytes of file contents packed so far.
    pub bytes_done: u64,
    /// Bytes of file contents to pack, from the sizes the scan saw (0 while scanning, and
    /// when the sizes are not known beforehand: [`PackBuilder::pack_readers`]). The measure
    /// to estimate the time left by: a tree of one huge file and many tiny ones takes time
    /// by bytes, not entries. A file that grows while packed can take `bytes_done` past it.
    pub bytes_total: u64,
}

type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Packs a directory tree (or any `(path, reader)` pairs) into a pack file.
///
/// Defaults: every file, hidden ones included; empty files and directories kept; symlinks
/// stored as symlinks (not followed); 64-byte alignment; all cores; no `fsync`.
///
/// Output is deterministic but for the index seed, drawn at random for each pack so that no one
/// can choose names that collide in its hash index: the same tree (names, contents, modes,
/// mtimes) gives the same data and tables, and with [`PackBuilder::index_seed`] the same bytes.
/// The pack is written to a temporary file next to the output and renamed over it when complete,
/// and its header is written last: the output path holds the previous pack or the complete new
/// one, and an interrupted build never leaves an incomplete pack that opens. A build that fails
/// removes its temporary file; one that is killed leaves it (`.NAME.PID.tmp`, complete if the
/// kill came between its last write and the rename), to be deleted.
///
/// ```
/// use treepack::{Pack, PackBuilder};
/// # let dir = tempfile::tempdir().unwrap();
/// # let src = dir.path().join("dataset");
/// # std::fs::create_dir_all(src.join("train")).unwrap();
/// # std::fs::create_dir_all(src.join(".cache")).unwrap();
/// # std::fs::write(src.join("train/0.png"), "png").unwrap();
/// # std::fs::write(src.join("train/0.txt"), "txt").unwrap();
/// # std::fs::write(src.join(".cache/x"), "x").unwrap();
/// let out = dir.path().join("train.fpack");
/// let summary = PackBuilder::new()
///     .include_ext(["png"])
///     .skip_hidden(true)
///     .pack_dir(&src, &out)
///     .unwrap();
/// assert_eq!(summary.files, 1);
/// let pack = Pack::open(&out).unwrap();
/// assert!(pack.is_file("train/0.png") && !pack.exists("train/0.txt") && !pack.exists(".cache"));
/// ```
#[derive(Clone)]
pub struct PackBuilder {
    alignment: u32,
    skip_hidden: bool,
    follow_links: bool,
    include_ext: Vec<String>,
    exclude_ext: Vec<String>,
    include_globs: Vec<Glob>,
    exclude_globs: Vec<Glob>,
    threads: usize,
    sync: bool,
    replace: bool,
    index_seed: Option<u64>,
    progress: Option<ProgressFn>,
}

impl fmt::Debug for PackBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackBuilder")
            .field("alignment", &self.alignment)
            .field("skip_hidden", &self.skip_hidden)
            .field("follow_links", &self.follow_links)
            .field("include_ext", &self.include_ext)
            .field("exclude_ext", &self.exclude_ext)
            .field("threads", &self.threads)
            .field("sync", &self.sync)
            .field("replace", &self.replace)
            .field("index_seed", &self.index_seed)
            .finish_non_exhaustive()
    }
}

impl Default for PackBuilder {
    fn default() -> Self {
        PackBuilder::new()
    }
}

fn normalize_ext(ext: &str) -> String {
    ext.trim_start_matches('.').to_ascii_lowercase()
}

fn extension(name: &str) -> Option<&str> {
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty()).then_some(ext)
}

impl PackBuilder {
    /// A builder with the defaults.
    ///
    /// ```
    /// # use treepack::{Pack, PackBuilder};
    /// # let src = tempfile::tempdir().unwrap();
    /// # let src = src.path();
    /// # std::fs::create_dir_all(src.join("train/cats")).unwrap();
    /// # std::fs::create_dir_all(src.join("__pycache__")).unwrap();
    /// # std::fs::write(src.join("train/cats/a.png"), b"png").unwrap();
    /// # std::fs::write(src.join("train/cats/b.JPG"), b"jpg").unwrap();
    /// # std::fs::write(src.join("train/notes.tmp"), b"tmp").unwrap();
    /// # std::fs::write(src.join("__pycache__/x.pyc"), b"pyc").unwrap();
    /// # std::fs::write(src.join(".hidden"), b"h").unwrap();
    /// # let out = tempfile::tempdir().unwrap();
    /// # let pack_path = out.path().join("p.fpack");
    /// let summary = PackBuilder::new().pack_dir(src, &pack_path).unwrap();
    /// let pack = Pack::open(&pack_path).unwrap();
    /// // Everything, hidden files included; contents 64-byte aligned.
    /// assert!(pack.exists(".hidden") && pack.exists("__pycache__/x.pyc"));
    /// assert_eq!(summary.files, 5);
    /// assert_eq!(pack.header().alignment, 64);
    /// ```
    pub fn new() -> PackBuilder {
        PackBuilder {
            alignment: DEFAULT_ALIGNMENT,
            skip_hidden: false,
            follow_links: false,
            include_ext: Vec::new(),
            exclude_ext: Vec::new(),
            include_globs: Vec::new(),
            exclude_globs: Vec::new(),
            threads: 0,
            sync: false,
            replace: true,
            index_seed: None,
            progress: None,
        }
    }

    /// File contents start on multiples of `alignment`: a power of two from 1 to 4096
    /// (default 64, which `.npy` views need).
    ///
    /// # Errors
    /// [`BuildError::Alignment`].
    ///
    /// ```
    /// # use treepack::{Pack, PackBuilder};
    /// # let src = tempfile::tempdir().unwrap();
    /// # let src = src.path();
    /// # std::fs::create_dir_all(src.join("train/cats")).unwrap();
    /// # std::fs::create_dir_all(src.join("__pycache__")).unwrap();
    /// # std::fs::write(src.join("train/cats/a.png"), b"png").unwrap();
    /// # std::fs::write(src.join("train/cats/b.JPG"), b"jpg").unwrap();
    /// # std::fs::write(src.join("train/notes.tmp"), b"tmp").unwrap();
    /// # std::fs::write(src.join("__pycache__/x.pyc"), b"pyc").unwrap();
    /// # std::fs::write(src.join(".hidden"), b"h").unwrap();
    /// # let out = tempfile::tempdir().unwrap();
    /// # let pack_path = out.path().join("p.fpack");
    /// PackBuilder::new().alignment(4096).unwrap().pack_dir(src, &pack_path).unwrap();
    /// let pack = Pack::open(&pack_path).unwrap();
    /// assert_eq!(pack.header().alignment, 4096);
    /// let data = pack.bytes("train/cats/a.png").unwrap();
    /// assert_eq!((data.as_ptr() as usize - pack.as_bytes().as_ptr() as usize) % 4096, 0);
    /// assert!(PackBuilder::new().alignment(3).is_err());
    /// ```
    pub fn alignment(mut self, alignment: u64) -> Result<PackBuilder, BuildError> {
        if !alignment.is_power_of_two() || alignment > u64::from(format::MAX_ALIGNMENT) {
            return Err(BuildError::Alignment { value: alignment });
        }
        self.alignment = alignment as u32;
        Ok(self)
    }

    /// Skip hidden files and directories (names starting with `.`), with everything below them.
    /// Off by default.
    ///
    /// ```
    /// # use treepack::{Pack, PackBuilder};
    /// # let src = tempfile::tempdir().unwrap();
    /// # let src = src.path();
    /// # std::fs::create_dir_all(src.join("train/cats")).unwrap();
    /// # std::fs::create_dir_all(src.join("__pycache__")).unwrap();
    /// # std::fs::write(src.join("train/cats/a.png"), b"png").unwrap();
    /// # std::fs::write(src.join("train/cats/b.JPG"), b"jpg").unwrap();
    /// # std::fs::write(src.join("train/notes.tmp"), b"tmp").unwrap();
    /// # std::fs::write(src.join("__pycache__/x.pyc"), b"pyc").unwrap();
    /// # std::fs::write(src.join(".hidden"), b"h").unwrap();
    /// # let out = tempfile::tempdir().unwrap();
    /// # let pack_path = out.path().join("p.fpack");
    /// PackBuilder::new().skip_hidden(true).pack_dir(src, &pack_path).unwrap();
    /// let pack = Pack::open(&pack_path).unwrap();
    /// assert!(!pack.exists(".hidden"));
    /// assert!(pack.exists("train/cats/a.png"));
    /// ```
    pub fn skip_hidden(mut self, yes: bool) -> PackBuilder {
        self.skip_hidden = yes;
        self
    }

    /// Follow symlinks: pack what they point to (files' contents, directories' trees) instead
    /// of the links. A link back into one of its own parent directories is a
    /// [`BuildError::SymlinkLoop`]; a dangling link is stored as a symlink. Off by default.
    ///
    /// ```
    /// # use treepack::{Pack, PackBuilder};
    /// # let src = tempfile::tempdir().unwrap();
    /// # let src = src.path();
    /// # std::fs::create_dir_all(src.join("train/cats")).unwrap();
    /// # std::fs::create_dir_all(src.join("__pycache__")).unwrap();
    /// # std::fs::write(src.join("train/cats/a.png"), b"png").unwrap();
    /// # std::fs::write(src.join("train/cats/b.JPG"), b"jpg").unwrap();
    /// # std::fs::write(src.join("train/notes.tmp"), b"tmp").unwrap();
    /// # std::fs::write(src.join("__pycache__/x.pyc"), b"pyc").unwrap();
    /// # std::fs::write(src.join(".hidden"), b"h").unwrap();
    /// # let out = tempfile::tempdir().unwrap();
    /// # let pack_path = out.path().join("p.fpack");
    /// # #[cfg(unix)] {
    /// std::os::unix::fs::symlink("train/cats", src.join("cats")).unwrap();
    /// PackBuilder::new().pack_dir(src, &pack_path).unwrap();
    /// assert!(Pack::open(&pack_path).unwrap().symlink_metadata("cats").unwrap().is_symlink());
    /// PackBuilder::new().follow_links(true).pack_dir(src, &pack_path).unwrap();
    /// let pack = Pack::open(&pack_path).unwrap();
    /// assert!(pack.is_dir("cats"));
    /// assert_eq!(pack.bytes("cats/a.png").unwrap(), b"png");
    /// # }
    /// ```
    pub fn follow_links(mut self, yes: bool) -> PackBuilder {
        self.follow_links = yes;
        self
    }

    /// Pack only files (and symlinks) with one of these extensions (without the dot, compared
    /// ignoring ASCII case). Directories are always kept. Adds to earlier calls.
    ///
    /// ```
    /// # use treepack::{Pack, PackBuilder};
    /// # let src = tempfile::tempdir().unwrap();
    /// # let src = src.path();
    /// # std::fs::create_dir_all(src.join("train/cats")).unwrap();
    /// # std::fs::create_dir_all(src.join("__pycache__")).unwrap();
    /// # std::fs::write(src.join("train/cats/a.png"), b"png").unwrap();
    /// # std::fs::write(src.join("train/cats/b.JPG"), b"jpg").unwrap();
    /// # std::fs::write(src.join("train/notes.tmp"), b"tmp").unwrap();
    /// # std::fs::write(src.join("__pycache__/x.pyc"), b"pyc").unwrap();
    /// # std::fs::write(src.join(".hidden"), b"h").unwrap();
    /// # let out = tempfile::tempdir().unwrap();
    /// # let pack_path = out.path().join("p.fpack");
    /// PackBuilder::new().include_ext(["jpg", "png"]).pack_dir(src, &pack_path).unwrap();
    /// let pack = Pack::open(&pack_path).unwrap();
    /// assert!(pack.exists("train/cats/a.png") && pack.exists("train/cats/b.JPG"));
    /// assert!(!pack.exists("train/notes.tmp") && !pack.exists(".hidden"));
    /// assert!(pack.is_dir("__pycache__"), "directories are kept");
    /// ```
    pub fn include_ext<I, S>(mut self, exts: I) -> PackBuilder
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.include_ext
            .extend(exts.into_iter().map(|e| normalize_ext(e.as_ref())));
        self
    }

    /// Skip files (and symlinks) with one of these extensions. Adds to earlier calls.
    ///
    /// ```
    /// # use treepack::{Pack, PackBuilder};
    /// # let src = tempfile::tempdir().unwrap();
    /// # let src = src.path();
    /// # std::fs::create_dir_all(src.join("train/cats")).unwrap();
    /// # std::fs::create_dir_all(src.join("__pycache__")).unwrap();
    /// # std::fs::write(src.join("train/cats/a.png"), b"png").unwrap();
    /// # std::fs::write(src.join("train/cats/b.JPG"), b"jpg").unwrap();
    /// # std::fs::write(src.join("train/notes.tmp"), b"tmp").unwrap();
    /// # std::fs::write(src.join("__pycache__/x.pyc"), b"pyc").unwrap();
    /// # std::fs::write(src.join(".hidden"), b"h").unwrap();
    /// # let out = tempfile::tempdir().unwrap();
    /// # let pack_path = out.path().join("p.fpack");
    /// PackBuilder::new().exclude_ext(["tmp", ".bak"]).pack_dir(src, &pack_path).unwrap();
    /// let pack = Pack::open(&pack_path).unwrap();
    /// assert!(!pack.exists("train/notes.tmp"));
    /// assert!(pack.exists("train/cats/a.png"));
    /// ```
    pub fn exclude_ext<I, S>(mut self, exts: I) -> PackBuilder
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.exclude_ext
            .extend(exts.into_iter().map(|e| normalize_ext(e.as_ref())));
        self
    }

    /// Pack only files (and symlinks) matching one of the include globs. A pattern without `/`
    /// matches the file name, one with `/` the path from the root; `*`, `?`, `**`, `[a-z]`,
    /// `[!a-z]`. Directories are always kept.
    ///
    /// # Errors
    /// [`BuildError::Glob`] for a malformed pattern.
    ///
    /// ```
    /// # use treepack::{Pack, PackBuilder};
    /// # let src = tempfile::tempdir().unwrap();
    /// # let src = src.path();
    /// # std::fs::create_dir_all(src.join("train/cats")).unwrap();
    /// # std::fs::create_dir_all(src.join("__pycache__")).unwrap();
    /// # std::fs::write(src.join("train/cats/a.png"), b"png").unwrap();
    /// # std::fs::write(src.join("train/cats/b.JPG"), b"jpg").unwrap();
    /// # std::fs::write(src.join("train/notes.tmp"), b"tmp").unwrap();
    /// # std::fs::write(src.join("__pycache__/x.pyc"), b"pyc").unwrap();
    /// # std::fs::write(src.join(".hidden"), b"h").unwrap();
    /// # let out = tempfile::tempdir().unwrap();
    /// # let pack_path = out.path().join("p.fpack");
    /// let builder = PackBuilder::new().include_glob("train/**/*.png").unwrap();
    /// builder.pack_dir(src, &pack_path).unwrap();
    /// let pack = Pack::open(&pack_path).unwrap();
    /// assert!(pack.exists("train/cats/a.png"));
    /// assert!(!pack.exists("train/cats/b.JPG") && !pack.exists("train/notes.tmp"));
    /// assert!(PackBuilder::new().include_glob("[oops").is_err());
    /// ```
    pub fn include_glob(mut self, pattern: &str) -> Result<PackBuilder, BuildError> {
        self.include_globs.push(Glob::new(pattern)?);
        Ok(self)
    }

    /// Skip files, symlinks and directories (with their whole subtree) matching the glob.
    ///
    /// # Errors
    /// [`BuildError::Glob`] for a malformed pattern.
    ///
    /// ```
    /// # use treepack::{Pack, PackBuilder};
    /// # let src = tempfile::tempdir().unwrap();
    /// # let src = src.path();
    /// # std::fs::create_dir_all(src.join("train/cats")).unwrap();
    /// # std::fs::create_dir_all(src.join("__pycache__")).unwrap();
    /// # std::fs::write(src.join("train/cats/a.png"), b"png").unwrap();
    /// # std::fs::write(src.join("train/cats/b.JPG"), b"jpg").unwrap();
    /// # std::fs::write(src.join("train/notes.tmp"), b"tmp").unwrap();
    /// # std::fs::write(src.join("__pycache__/x.pyc"), b"pyc").unwrap();
    /// # std::fs::write(src.join(".hidden"), b"h").unwrap();
    /// # let out = tempfile::tempdir().unwrap();
    /// # let pack_path = out.path().join("p.fpack");
    /// PackBuilder::new().exclude_glob("__pycache__").unwrap().pack_dir(src, &pack_path).unwrap();
    /// let pack = Pack::open(&pack_path).unwrap();
    /// assert!(!pack.exists("__pycache__"), "the directory goes, with its subtree");
    /// assert!(pack.exists("train/cats/a.png"));
    /// ```
    pub fn exclude_glob(mut self, pattern: &str) -> Result<PackBuilder, BuildError> {
        self.exclude_globs.push(Glob::new(pattern)?);
        Ok(self)
    }

    /// Worker threads reading files (0, the default, means one per core).
    ///
    /// ```
    /// # use treepack::{Pack, PackBuilder};
    /// # let src = tempfile::tempdir().unwrap();
    /// # let src = src.path();
    /// # std::fs::create_dir_all(src.join("train/cats")).unwrap();
    /// # std::fs::create_dir_all(src.join("__pycache__")).unwrap();
    /// # std::fs::write(src.join("train/cats/a.png"), b"png").unwrap();
    /// # std::fs::write(src.join("train/cats/b.JPG"), b"jpg").unwrap();
    /// # std::fs::write(src.join("train/notes.tmp"), b"tmp").unwrap();
    /// # std::fs::write(src.join("__pycache__/x.pyc"), b"pyc").unwrap();
    /// # std::fs::write(src.join(".hidden"), b"h").unwrap();
    /// # let out = tempfile::tempdir().unwrap();
    /// # let pack_path = out.path().join("p.fpack");
    /// let a = out.path().join("one.fpack");
    /// let b = out.path().join("four.fpack");
    /// PackBuilder::new().threads(1).index_seed(7).pack_dir(src, &a).unwrap();
    /// PackBuilder::new().threads(4).index_seed(7).pack_dir(src, &b).unwrap();
    /// // Threads read files in parallel; the pack is the same, byte for byte.
    /// assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    /// ```
    pub fn threads(mut self, threads: usize) -> PackBuilder {
        self.threads = threads;
        self
    }

    /// `fsync` the pack before renaming it into place, so that it is durable once
    /// [`Self::pack_dir`] returns. Off by default (as tar).
    ///
    /// ```
    /// # use treepack::{Pack, PackBuilder};
    /// # let src = tempfile::tempdir().unwrap();
    /// # let src = src.path();
    /// # std::fs::create_dir_all(src.join("train/cats")).unwrap();
    /// # std::fs::create_dir_all(src.join("__pycache__")).unwrap();
    /// # std::fs::write(src.join("train/cats/a.png"), b"png").unwrap();
    /// # std::fs::write(src.join("train/cats/b.JPG"), b"jpg").unwrap();
    /// # std::fs::write(src.join("train/notes.tmp"), b"tmp").unwrap();
    /// # std::fs::write(src.join("__pycache__/x.pyc"), b"pyc").unwrap();
    /// # std::fs::write(src.join(".hidden"), b"h").unwrap();
    /// # let out = tempfile::tempdir().unwrap();
    /// # let pack_path = out.path().join("p.fpack");
    /// let summary = PackBuilder::new().sync(true).pack_dir(src, &pack_path).unwrap();
    /// // Durable (file and directory synced) once pack_dir returns.
    /// assert_eq!(summary.pack_len, std::fs::metadata(&pack_path).unwrap().len());
    /// ```
    pub fn sync(mut self, yes: bool) -> PackBuilder {
        self.sync = yes;
        self
    }

    /// Whether [`Self::pack_dir`] and [`Self::pack_readers`] replace an existing file at `out`
    /// (the default; the new pack keeps the replaced file's permission bits and, where the
    /// process may set it, its owner). Off, an existing `out` is left as it is and the build
    /// fails with [`BuildError::Io`] of kind [`std::io::ErrorKind::AlreadyExists`], checked
    /// when the finished pack is put in place, so a file created meanwhile is not replaced
    /// either.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::fs::create_dir(dir.path().join("src")).unwrap();
    /// let out = dir.path().join("p.fpack");
    /// std::fs::write(&out, "keep me").unwrap();
    /// let err = treepack::PackBuilder::new().replace(false).pack_dir(dir.path().join("src"), &out);
    /// assert!(err.is_err());
    /// assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    /// ```
    pub fn replace(mut self, yes: bool) -> PackBuilder {
        self.replace = yes;
        self
    }

    /// Use this seed for the hash index instead of a random one (see
    /// [`PackWriter::set_index_seed`]): the same tree then packs to the same bytes, but anyone
    /// who knows the seed can choose names that collide in the index. For reproducible builds
    /// of trusted trees.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::fs::write(dir.path().join("a.txt"), "a").unwrap();
    /// let pack = |seed| {
    ///     let builder = treepack::PackBuilder::new().index_seed(seed);
    ///     builder.pack_dir_to(dir.path(), std::io::Cursor::new(Vec::new())).unwrap().0.into_inner()
    /// };
    /// assert_eq!(pack(1), pack(1));
    /// assert_ne!(pack(1), pack(2));
    /// ```
    pub fn index_seed(mut self, seed: u64) -> PackBuilder {
        self.index_seed = Some(seed);
        self
    }

    /// Calls `callback` as the build progresses (every batch of entries, from the calling
    /// thread). Keep it cheap.
    ///
    /// ```
    /// # use treepack::{Pack, PackBuilder};
    /// # let src = tempfile::tempdir().unwrap();
    /// # let src = src.path();
    /// # std::fs::create_dir_all(src.join("train/cats")).unwrap();
    /// # std::fs::create_dir_all(src.join("__pycache__")).unwrap();
    /// # std::fs::write(src.join("train/cats/a.png"), b"png").unwrap();
    /// # std::fs::write(src.join("train/cats/b.JPG"), b"jpg").unwrap();
    /// # std::fs::write(src.join("train/notes.tmp"), b"tmp").unwrap();
    /// # std::fs::write(src.join("__pycache__/x.pyc"), b"pyc").unwrap();
    /// # std::fs::write(src.join(".hidden"), b"h").unwrap();
    /// # let out = tempfile::tempdir().unwrap();
    /// # let pack_path = out.path().join("p.fpack");
    /// use std::sync::{Arc, Mutex};
    /// use treepack::Phase;
    /// let phases = Arc::new(Mutex::new(Vec::new()));
    /// let seen = Arc::clone(&phases);
    /// let builder = PackBuilder::new().progress(move |p| seen.lock().unwrap().push(p.phase));
    /// builder.pack_dir(src, &pack_path).unwrap();
    /// assert_eq!(phases.lock().unwrap().last(), Some(&Phase::Done));
    /// ```
    pub fn progress<F>(mut self, callback: F) -> PackBuilder
    where
        F: Fn(&Progress) + Send + Sync + 'static,
    {
        self.progress = Some(Arc::new(callback));
        self
    }

    fn report(
        &self,
        phase: Phase,
        (entries_done, entries_total): (u64, u64),
        (bytes_done, bytes_total): (u64, u64),
    ) {
        if let Some(cb) = &self.progress {
            cb(&Progress {
                phase,
                entries_done,
                entries_total,
                bytes_done,
                bytes_total,
            });
        }
    }

    /// A [`PackWriter`] with this builder's alignment, for adding entries one by one.
    ///
    /// # Errors
    /// I/O errors.
    ///
    /// ```
    /// use treepack::{EntryMeta, PackBuilder};
    /// let mut w = PackBuilder::new().alignment(8).unwrap().writer(std::io::Cursor::new(Vec::new())).unwrap();
    /// w.add_bytes("a", b"1", EntryMeta::file()).unwrap();
    /// let (_, summary) = w.finish().unwrap();
    /// assert_eq!(summary.files, 1);
    /// ```
    pub fn writer<W: Write + Seek>(&self, out: W) -> Result<PackWriter<W>, BuildError> {
        self.writer_named(out, Path::new(crate::write::UNNAMED_OUTPUT))
    }

    /// [`Self::writer`], naming the output `name` in errors.
    fn writer_named<W: Write + Seek>(
        &self,
        out: W,
        name: &Path,
    ) -> Result<PackWriter<W>, BuildError> {
        let mut writer = PackWriter::with_alignment_named(out, u64::from(self.alignment), name)?;
        if let Some(seed) = self.index_seed {
            writer.set_index_seed(seed);
        }
        Ok(writer)
    }

    /// Packs `(path, reader)` pairs into the file at `out` (through a temporary file and a
    /// rename). Contents are stored in the order given; the tables are sorted. Filters do not
    /// apply (the caller chose the entries).
    ///
    /// # Errors
    /// As [`PackWriter::add_file`] and [`PackWriter::finish`].
    ///
    /// ```
    /// use treepack::{Pack, PackBuilder};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let out = dir.path().join("gen.fpack");
    /// let pairs = (0..3).map(|i| (format!("shard{i}/data.txt"), std::io::Cursor::new(format!("{i}"))));
    /// PackBuilder::new().pack_readers(pairs, &out).unwrap();
    /// assert_eq!(Pack::open(&out).unwrap().read_str("shard2/data.txt").unwrap(), "2");
    /// ```
    pub fn pack_readers<I, P, R>(
        &self,
        pairs: I,
        out: impl AsRef<Path>,
    ) -> Result<PackSummary, BuildError>
    where
        I: IntoIterator<Item = (P, R)>,
        P: AsRef<str>,
        R: Read,
    {
        let out = out.as_ref();
        self.write_atomically(out, |file, _| {
            let mut writer = self.writer_named(file, out)?;
            for (i, (path, reader)) in pairs.into_iter().enumerate() {
                writer.add_file(path.as_ref(), reader, EntryMeta::file())?;
                if i % 1024 == 1023 {
                    let bytes = writer.bytes_written();
                    self.report(Phase::Packing, (i as u64 + 1, 0), (bytes, 0));
                }
            }
            let bytes = writer.bytes_written();
            self.report(Phase::Indexing, (writer.len() as u64, 0), (bytes, 0));
            Ok(writer.finish()?.1)
        })
    }

    /// Packs the directory tree at `src` into the file at `out` (written to a temporary file
    /// in the same directory, then renamed over `out`). If `out` lies inside `src`, it is not
    /// packed.
    ///
    /// # Errors
    /// [`BuildError::NotADirectory`], [`BuildError::NonUtf8Name`] naming the file,
    /// [`BuildError::SymlinkLoop`], [`BuildError::Io`] naming the file.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::fs::write(dir.path().join("a.txt"), "a").unwrap();
    /// let out = dir.path().join("self.fpack");
    /// let summary = treepack::PackBuilder::new().pack_dir(dir.path(), &out).unwrap();
    /// assert_eq!(summary.files, 1); // a.txt, not self.fpack
    /// ```
    pub fn pack_dir(
        &self,
        src: impl AsRef<Path>,
        out: impl AsRef<Path>,
    ) -> Result<PackSummary, BuildError> {
        let src = src.as_ref();
        let out = out.as_ref();
        self.write_atomically(out, |file, tmp| {
            let skip = skipped_outputs(src, &[out, tmp]);
            Ok(self.pack_tree(src, file, &skip, out)?.1)
        })
    }

    /// Packs the directory tree at `src` into `out`, any `Write + Seek` (written from offset 0).
    ///
    /// # Errors
    /// As [`Self::pack_dir`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::fs::write(dir.path().join("a.txt"), "a").unwrap();
    /// let (cursor, _) = treepack::PackBuilder::new()
    ///     .pack_dir_to(dir.path(), std::io::Cursor::new(Vec::new()))
    ///     .unwrap();
    /// let pack = treepack::Pack::from_vec(cursor.into_inner()).unwrap();
    /// assert_eq!(pack.bytes("a.txt").unwrap(), b"a");
    /// ```
    pub fn pack_dir_to<W: Write + Seek>(
        &self,
        src: impl AsRef<Path>,
        out: W,
    ) -> Result<(W, PackSummary), BuildError> {
        self.pack_tree(
            src.as_ref(),
            out,
            &[],
            Path::new(crate::write::UNNAMED_OUTPUT),
        )
    }

    /// Packs the files of a FilePacker pack into the file at `out` (through a temporary file
    /// and a rename), in the old pack's order, their contents copied from its map: small files
    /// hashed then written, large ones streamed in one pass. What
    /// [`ConvertOptions`](crate::ConvertOptions) runs.
    pub(crate) fn pack_legacy(
        &self,
        legacy: &LegacyPack,
        out: &Path,
    ) -> Result<PackSummary, BuildError> {
        self.write_atomically(out, |file, _| {
            let mut writer = self.writer_named(file, out)?;
            let total = legacy.len() as u64;
            let total_bytes = legacy.entries().map(|e| e.size()).sum::<u64>();
            self.report(Phase::Packing, (0, total), (0, total_bytes));
            for (i, entry) in legacy.entries().enumerate() {
                // Paths of a `LegacyPack` are normal: relative, no `.`, `..` or NUL.
                let data = entry.bytes();
                if entry.size() > SMALL_FILE {
                    let mut reader = data;
                    writer.push_file_stream(
                        entry.path(),
                        &mut reader,
                        legacy.path(),
                        EntryMeta::file(),
                    )?;
                } else {
                    writer.push_file_bytes(
                        entry.path(),
                        data,
                        format::checksum(data),
                        EntryMeta::file(),
                    )?;
                }
                if i % 1024 == 1023 {
                    let bytes = writer.bytes_written();
                    self.report(Phase::Packing, (i as u64 + 1, total), (bytes, total_bytes));
                }
            }
            let bytes = writer.bytes_written();
            self.report(Phase::Indexing, (total, total), (bytes, total_bytes));
            let summary = writer.finish()?.1;
            self.report(Phase::Done, (total, total), (summary.bytes, total_bytes));
            Ok(summary)
        })
    }

    /// Writes a pack to a temporary file beside `out` (`.NAME.PID-N.tmp`, after removing those
    /// of dead processes) with `f`, given the file and its path, then puts it at `out`: renamed
    /// over an existing file (which keeps that file's mode and, where permitted, owner), or
    /// refused if [`Self::replace`] is off. On any error the temporary file is removed.
    fn write_atomically(
        &self,
        out: &Path,
        f: impl FnOnce(&File, &Path) -> Result<PackSummary, BuildError>,
    ) -> Result<PackSummary, BuildError> {
        // Best effort: a directory we may not list is reported by the create that follows.
        let _ = atomic::remove_stale_temps(out);
        let mut tmp = TempFile::beside(out).map_err(|e| BuildError::io(out, e))?;
        tmp.set_sync(self.sync);
        let summary = f(tmp.file(), tmp.path())?;
        let how = if self.replace {
            Persist::Replace
        } else {
            Persist::NoClobber
        };
        tmp.persist(out, how).map_err(|e| BuildError::io(out, e))?;
        Ok(summary)
    }

    fn file_passes(&self, rel: &str, name: &str) -> bool {
        let ext = extension(name).map(str::to_ascii_lowercase);
        let ext = ext.as_deref();
        if !self.include_ext.is_empty()
            && !ext.is_some_and(|e| self.include_ext.iter().any(|x| x == e))
        {
            return false;
        }
        if ext.is_some_and(|e| self.exclude_ext.iter().any(|x| x == e)) {
            return false;
        }
        if !self.include_globs.is_empty() && !self.include_globs.iter().any(|g| g.matches(rel)) {
            return false;
        }
        true
    }

    fn pack_tree<W: Write + Seek>(
        &self,
        src: &Path,
        out: W,
        skip: &[String],
        name: &Path,
    ) -> Result<(W, PackSummary), BuildError> {
        let root_meta = fs::metadata(src).map_err(|e| BuildError::io(src, e))?;
        if !root_meta.is_dir() {
            return Err(BuildError::NotADirectory {
                path: src.to_owned(),
            });
        }
        let scan = self.scan(src, skip)?;
        let mut writer = self.writer_named(out, name)?;
        let total = scan.items.len() as u64;
        let total_bytes = scan.file_bytes;
        self.report(Phase::Packing, (0, total), (0, total_bytes));
        self.load_and_write(src, &scan, &mut writer)?;
        let bytes = writer.bytes_written();
        self.report(Phase::Indexing, (total, total), (bytes, total_bytes));
        let skipped_special = scan.skipped_special;
        drop(scan); // the writer holds its own copy of the paths
        let (out, mut summary) = writer.finish()?;
        summary.skipped_special = skipped_special;
        self.report(Phase::Done, (total, total), (summary.bytes, total_bytes));
        Ok((out, summary))
    }

    /// Lists the tree depth-first, children sorted by name: the entry order of the pack.
    fn scan(&self, root: &Path, skip: &[String]) -> Result<Scan, BuildError> {
        let mut scan = Scan {
            names: String::new(),
            items: vec![Item {
                off: 0,
                len: 0,
                kind: ItemKind::Dir,
            }],
            skipped_special: 0,
            file_bytes: 0,
        };
        let mut ancestors: Vec<DirId> = Vec::new();
        if self.follow_links {
            ancestors.push(dir_id(root).map_err(|e| BuildError::io(root, e))?);
        }
        struct Frame {
            rel: String,
            children: std::vec::IntoIter<(String, ItemKind)>,
        }
        let children = self.list(root, "", &mut scan, skip)?;
        let mut stack = vec![Frame {
            rel: String::new(),
            children: children.into_iter(),
        }];
        while let Some(top) = stack.last_mut() {
            let Some((name, kind)) = top.children.next() else {
                stack.pop();
                if self.follow_links {
                    ancestors.pop();
                }
                continue;
            };
            let rel = crate::path::join(&top.rel, &name);
            // `rel` has one component per frame: the frames are the directories above it.
            let depth = stack.len();
            if depth > crate::format::MAX_DEPTH {
                return Err(BuildError::TooDeep {
                    path: crate::path::shorten(&rel),
                    depth,
                });
            }
            let off = scan.names.len() as u64;
            scan.names.push_str(&rel);
            scan.items.push(Item {
                off,
                len: rel.len() as u32,
                kind,
            });
            if scan.items.len().is_multiple_of(8192) {
                self.report(Phase::Scanning, (scan.items.len() as u64, 0), (0, 0));
            }
            if kind == ItemKind::Dir {
                let abs = root.join(&rel);
                if self.follow_links {
                    let id = dir_id(&abs).map_err(|e| BuildError::io(&abs, e))?;
                    if ancestors.contains(&id) {
                        return Err(BuildError::SymlinkLoop { path: abs });
                    }
                    ancestors.push(id);
                }
                let children = self.list(&abs, &rel, &mut scan, skip)?;
                stack.push(Frame {
                    rel,
                    children: children.into_iter(),
                });
            }
        }
        Ok(scan)
    }

    /// The children of one directory, filtered and sorted by name.
    fn list(
        &self,
        abs: &Path,
        rel: &str,
        scan: &mut Scan,
        skip: &[String],
    ) -> Result<Vec<(String, ItemKind)>, BuildError> {
        let mut out = Vec::new();
        let reader = fs::read_dir(abs).map_err(|e| BuildError::io(abs, e))?;
        for entry in reader {
            let entry = entry.map_err(|e| BuildError::io(abs, e))?;
            let name = entry
                .file_name()
                .into_string()
                .map_err(|name| BuildError::NonUtf8Name {
                    path: abs.join(name),
                })?;
            if self.skip_hidden && name.starts_with('.') {
                continue;
            }
            let ft = entry
                .file_type()
                .map_err(|e| BuildError::io(entry.path(), e))?;
            // A file's size, for the progress callback's byte total: a `stat` per file, made
            // only when there is a callback (a file gone by now is reported when it is read).
            let mut size = 0;
            let kind = if ft.is_dir() {
                ItemKind::Dir
            } else if ft.is_file() {
                if self.progress.is_some() {
                    size = entry.metadata().map_or(0, |m| m.len());
                }
                ItemKind::File
            } else if ft.is_symlink() {
                if self.follow_links {
                    match fs::metadata(entry.path()) {
                        Ok(m) if m.is_dir() => ItemKind::Dir,
                        Ok(m) if m.is_file() => {
                            size = m.len();
                            ItemKind::File
                        }
                        Ok(_) => {
                            scan.skipped_special += 1;
                            continue;
                        }
                        Err(e) if e.kind() == io::ErrorKind::NotFound => ItemKind::Symlink,
                        Err(e) => return Err(BuildError::io(entry.path(), e)),
                    }
                } else {
                    ItemKind::Symlink
                }
            } else {
                scan.skipped_special += 1;
                continue;
            };
            let child_rel = crate::path::join(rel, &name);
            if self.exclude_globs.iter().any(|g| g.matches(&child_rel)) {
                continue;
            }
            if kind != ItemKind::Dir && !self.file_passes(&child_rel, &name) {
                continue;
            }
            if skip.contains(&child_rel) {
                continue;
            }
            scan.file_bytes += size;
            out.push((name, kind));
        }
        out.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        Ok(out)
    }

    fn worker_count(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }

    fn load_and_write<W: Write + Seek>(
        &self,
        root: &Path,
        scan: &Scan,
        writer: &mut PackWriter<W>,
    ) -> Result<(), BuildError> {
        let n = scan.items.len();
        let batches = n.div_ceil(BATCH);
        let workers = self.worker_count().clamp(1, batches.max(1));
        let window = 2 * workers + 2;
        let shared = Shared {
            state: Mutex::new(PipeState {
                next_batch: 0,
                consumed: 0,
                ready: HashMap::new(),
                abort: false,
                live: workers,
            }),
            work: Condvar::new(),
            done: Condvar::new(),
        };
        let follow = self.follow_links;
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    let _guard = LiveGuard(&shared);
                    loop {
                        let b = {
                            let mut st = lock(&shared.state);
                            while !st.abort
                                && st.next_batch < batches
                                && st.next_batch >= st.consumed + window
                            {
                                st = shared.work.wait(st).unwrap_or_else(|e| e.into_inner());
                            }
                            if st.abort || st.next_batch >= batches {
                                break;
                            }
                            st.next_batch += 1;
                            st.next_batch - 1
                        };
                        let range = b * BATCH..((b + 1) * BATCH).min(n);
                        let mut budget = BATCH_BYTES;
                        let mut results = Vec::with_capacity(range.len());
                        for i in range {
                            let loaded =
                                load(root, scan.rel(i), scan.items[i].kind, follow, &mut budget);
                            let failed = loaded.is_err();
                            results.push(loaded);
                            if failed {
                                break;
                            }
                        }
                        let mut st = lock(&shared.state);
                        st.ready.insert(b, results);
                        shared.done.notify_all();
                    }
                });
            }
            let result = self.write_batches(root, scan, writer, &shared, batches);
            if result.is_err() {
                lock(&shared.state).abort = true;
                shared.work.notify_all();
            }
            result
        })
    }

    fn write_batches<W: Write + Seek>(
        &self,
        root: &Path,
        scan: &Scan,
        writer: &mut PackWriter<W>,
        shared: &Shared,
        batches: usize,
    ) -> Result<(), BuildError> {
        for b in 0..batches {
            let results = {
                let mut st = lock(&shared.state);
                loop {
                    if let Some(r) = st.ready.remove(&b) {
                        break r;
                    }
                    if st.live == 0 {
                        return Err(BuildError::io(
                            root,
                            io::Error::other("a reader thread stopped unexpectedly"),
                        ));
                    }
                    st = shared.done.wait(st).unwrap_or_else(|e| e.into_inner());
                }
            };
            {
                let mut st = lock(&shared.state);
                st.consumed = b + 1;
                shared.work.notify_all();
            }
            for (k, loaded) in results.into_iter().enumerate() {
                let i = b * BATCH + k;
                let rel = scan.rel(i);
                match loaded? {
                    Loaded::Dir(meta) => writer.push_dir(rel, meta)?,
                    Loaded::Small {
                        meta,
                        data,
                        checksum,
                    } => writer.push_file_bytes(rel, &data, checksum, meta)?,
                    Loaded::Large(meta) => {
                        let abs = root.join(rel);
                        let mut file = File::open(&abs).map_err(|e| BuildError::io(&abs, e))?;
                        writer.push_file_stream(rel, &mut file, &abs, meta)?;
                    }
                    Loaded::Symlink { meta, target } => writer.push_symlink(rel, &target, meta)?,
                }
            }
            let done = ((b + 1) * BATCH).min(scan.items.len()) as u64;
            let bytes = (writer.bytes_written(), scan.file_bytes);
            self.report(Phase::Packing, (done, scan.items.len() as u64), bytes);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemKind {
    Dir,
    File,
    Symlink,
}

struct Item {
    off: u64,
    len: u32,
    kind: ItemKind,
}

struct Scan {
    names: String,
    items: Vec<Item>,
    skipped_special: u64,
    /// The files' sizes summed, for the progress callback (only with one: a `stat` per file).
    file_bytes: u64,
}

impl Scan {
    fn rel(&self, i: usize) -> &str {
        let item = &self.items[i];
        &self.names[item.off as usize..][..item.len as usize]
    }
}

enum Loaded {
    Dir(EntryMeta),
    Small {
        meta: EntryMeta,
        data: Vec<u8>,
        checksum: u64,
    },
    Large(EntryMeta),
    Symlink {
        meta: EntryMeta,
        target: String,
    },
}

fn load(
    root: &Path,
    rel: &str,
    kind: ItemKind,
    follow: bool,
    budget: &mut u64,
) -> Result<Loaded, BuildError> {
    let abs = if rel.is_empty() {
        root.to_owned()
    } else {
        root.join(rel)
    };
    let io_err = |e| BuildError::io(&abs, e);
    match kind {
        ItemKind::Dir => {
            let m = if follow || rel.is_empty() {
                fs::metadata(&abs)
            } else {
                fs::symlink_metadata(&abs)
            };
            Ok(Loaded::Dir(EntryMeta::from_fs(&m.map_err(io_err)?)))
        }
        ItemKind::Symlink => {
            let m = fs::symlink_metadata(&abs).map_err(io_err)?;
            let target = fs::read_link(&abs).map_err(io_err)?;
            let target = target
                .into_os_string()
                .into_string()
                .map_err(|_| BuildError::NonUtf8LinkTarget { path: abs.clone() })?;
            Ok(Loaded::Symlink {
                meta: EntryMeta::from_fs(&m),
                target,
            })
        }
        ItemKind::File => {
            let mut file = File::open(&abs).map_err(io_err)?;
            let m = file.metadata().map_err(io_err)?;
            let meta = EntryMeta::from_fs(&m);
            let size = m.len();
            if size > SMALL_FILE || size > *budget {
                return Ok(Loaded::Large(meta));
            }
            *budget -= size;
            let mut data = vec![0u8; size as usize];
            let mut filled = 0;
            while filled < data.len() {
                match file.read(&mut data[filled..]) {
                    Ok(0) => break,
                    Ok(k) => filled += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(io_err(e)),
                }
            }
            data.truncate(filled);
            let checksum = format::checksum(&data);
            Ok(Loaded::Small {
                meta,
                data,
                checksum,
            })
        }
    }
}

struct PipeState {
    next_batch: usize,
    consumed: usize,
    ready: HashMap<usize, Vec<Result<Loaded, BuildError>>>,
    abort: bool,
    live: usize,
}

struct Shared {
    state: Mutex<PipeState>,
    work: Condvar,
    done: Condvar,
}

fn lock(m: &Mutex<PipeState>) -> std::sync::MutexGuard<'_, PipeState> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Counts a worker out when it ends (normally or not), so the writer never waits forever.
struct LiveGuard<'a>(&'a Shared);

impl Drop for LiveGuard<'_> {
    fn drop(&mut self) {
        let mut st = lock(&self.0.state);
        st.live -= 1;
        self.0.done.notify_all();
    }
}

#[cfg(unix)]
type DirId = (u64, u64);
#[cfg(not(unix))]
type DirId = std::path::PathBuf;

#[cfg(unix)]
fn dir_id(path: &Path) -> io::Result<DirId> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(path)?;
    Ok((m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn dir_id(path: &Path) -> io::Result<DirId> {
    fs::canonicalize(path)
}

/// The paths (relative to `src`) of the output files if they lie inside `src`.
fn skipped_outputs(src: &Path, outs: &[&Path]) -> Vec<String> {
    let Ok(src) = fs::canonicalize(src) else {
        return Vec::new();
    };
    let mut skip = Vec::new();
    for out in outs {
        let (Some(parent), Some(name)) = (out.parent(), out.file_name()) else {
            continue;
        };
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        let Ok(parent) = fs::canonicalize(parent) else {
            continue;
        };
        if let Ok(rel) = parent.join(name).strip_prefix(&src)
            && let Some(rel) = rel.to_str()
        {
            skip.push(rel.replace(std::path::MAIN_SEPARATOR, "/"));
        }
    }
    skip
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions() {
        assert_eq!(extension("a.png"), Some("png"));
        assert_eq!(extension("a.tar.gz"), Some("gz"));
        assert_eq!(extension(".bashrc"), None);
        assert_eq!(extension("noext"), None);
        assert_eq!(normalize_ext(".PNG"), "png");
    }

    #[test]
    fn filters() {
        let b = PackBuilder::new().include_ext(["PNG"]).exclude_ext(["bak"]);
        assert!(b.file_passes("a/x.png", "x.png"));
        assert!(b.file_passes("a/x.PNG", "x.PNG"));
        assert!(!b.file_passes("a/x.jpg", "x.jpg"));
        let b = PackBuilder::new().exclude_ext(["bak"]);
        assert!(!b.file_passes("x.bak", "x.bak"));
        assert!(b.file_passes("x", "x"));
        let b = PackBuilder::new().include_glob("a/**").unwrap();
        assert!(b.file_passes("a/b/c", "c"));
        assert!(!b.file_passes("b/c", "c"));
    }
}
