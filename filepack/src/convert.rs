//! Converting FilePacker's packs into this crate's format: [`ConvertOptions`],
//! [`convert_legacy`].

use std::fmt;
use std::path::Path;

use crate::build::{PackBuilder, Progress};
use crate::error::{BuildError, ConvertError};
use crate::legacy::LegacyPack;
use crate::write::PackSummary;

/// Options for converting a pack written by FilePacker ([`LegacyPack`]) into a pack of this
/// crate's format.
///
/// The new pack holds every file of the old one, with the same bytes, at the same path
/// (relative to the old pack's base path, which is not kept), and the directories they are in.
/// FilePacker stores no metadata: files get mode `0o644`, directories `0o755`, and every entry
/// mtime 0. Contents are copied straight from the old pack's map into the new pack, one file at
/// a time (memory holds the index, not the data). The new pack is written as
/// [`PackBuilder`] writes one: to a temporary file beside the output, header last, then renamed
/// into place; an old pack that fails its checks leaves nothing behind.
///
/// Defaults: an existing output is refused ([`ConvertError::Exists`]), no `fsync`, a random
/// index seed, no progress callback.
///
/// ```
/// use treepack::{ConvertError, ConvertOptions, Pack};
/// # let dir = tempfile::tempdir().unwrap();
/// # let old = dir.path().join("old.fpack");
/// # let files: [(&str, &[u8]); 2] = [("train/a.txt", b"hello"), ("b.bin", b"")];
/// # let mut bytes = vec![1u8];
/// # bytes.extend((files.len() as u64).to_le_bytes());
/// # bytes.extend(format!("{:256}", "/data/set").bytes());
/// # for (name, _) in files { bytes.extend(format!("{name:128}").bytes()); }
/// # for (_, data) in files { bytes.extend((data.len() as u64).to_le_bytes()); }
/// # for (_, data) in files { bytes.extend(data); }
/// # std::fs::write(&old, &bytes).unwrap();
/// let new = dir.path().join("new.fpack");
/// std::fs::write(&new, "keep me").unwrap();
/// let refused = ConvertOptions::new().convert(&old, &new);
/// assert!(matches!(refused, Err(ConvertError::Exists { .. })));
/// assert_eq!(std::fs::read(&new).unwrap(), b"keep me");
///
/// let summary = ConvertOptions::new().replace(true).convert(&old, &new).unwrap();
/// assert_eq!((summary.files, summary.dirs), (2, 2)); // the root and train
/// assert_eq!(Pack::open(&new).unwrap().bytes("train/a.txt").unwrap(), b"hello");
/// ```
#[derive(Clone)]
pub struct ConvertOptions {
    builder: PackBuilder,
    replace: bool,
}

impl fmt::Debug for ConvertOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConvertOptions")
            .field("replace", &self.replace)
            .field("builder", &self.builder)
            .finish()
    }
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions::new()
    }
}

impl ConvertOptions {
    /// The defaults (see [`ConvertOptions`]).
    ///
    /// ```
    /// # use treepack::{ConvertError, ConvertOptions};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let old = dir.path().join("old.fpack");
    /// # let mut bytes = vec![1u8];
    /// # bytes.extend(0u64.to_le_bytes());
    /// # bytes.extend([b' '; 256]);
    /// # std::fs::write(&old, &bytes).unwrap();
    /// let new = dir.path().join("new.fpack");
    /// ConvertOptions::new().convert(&old, &new).unwrap();
    /// // An existing output is refused by default.
    /// assert!(matches!(ConvertOptions::new().convert(&old, &new), Err(ConvertError::Exists { .. })));
    /// ```
    pub fn new() -> ConvertOptions {
        ConvertOptions {
            builder: PackBuilder::new().replace(false),
            replace: false,
        }
    }

    /// Replace an existing file at the output (the new pack keeps its permission bits and,
    /// where the process may set it, its owner). Off by default: an existing output is
    /// [`ConvertError::Exists`], checked before anything is read and again when the finished
    /// pack is put in place, so a file created meanwhile is not replaced either.
    ///
    /// ```
    /// # use treepack::ConvertOptions;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let old = dir.path().join("old.fpack");
    /// # let mut bytes = vec![1u8];
    /// # bytes.extend(0u64.to_le_bytes());
    /// # bytes.extend([b' '; 256]);
    /// # std::fs::write(&old, &bytes).unwrap();
    /// let new = dir.path().join("new.fpack");
    /// std::fs::write(&new, "old contents").unwrap();
    /// ConvertOptions::new().replace(true).convert(&old, &new).unwrap();
    /// assert!(treepack::Pack::open(&new).unwrap().listdir("").unwrap().is_empty());
    /// ```
    pub fn replace(mut self, yes: bool) -> ConvertOptions {
        self.builder = self.builder.replace(yes);
        self.replace = yes;
        self
    }

    /// `fsync` the new pack (and its directory) before the conversion returns. Off by default.
    ///
    /// ```
    /// # use treepack::ConvertOptions;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let old = dir.path().join("old.fpack");
    /// # let mut bytes = vec![1u8];
    /// # bytes.extend(0u64.to_le_bytes());
    /// # bytes.extend([b' '; 256]);
    /// # std::fs::write(&old, &bytes).unwrap();
    /// let new = dir.path().join("new.fpack");
    /// let summary = ConvertOptions::new().sync(true).convert(&old, &new).unwrap();
    /// assert_eq!(summary.pack_len, std::fs::metadata(&new).unwrap().len());
    /// ```
    pub fn sync(mut self, yes: bool) -> ConvertOptions {
        self.builder = self.builder.sync(yes);
        self
    }

    /// Use this seed for the new pack's hash index instead of a random one (see
    /// [`PackBuilder::index_seed`]): the same old pack then converts to the same bytes.
    ///
    /// ```
    /// # use treepack::ConvertOptions;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let old = dir.path().join("old.fpack");
    /// # let mut bytes = vec![1u8];
    /// # bytes.extend(1u64.to_le_bytes());
    /// # bytes.extend([b' '; 256]);
    /// # bytes.extend(format!("{:128}", "a/b").bytes());
    /// # bytes.extend(1u64.to_le_bytes());
    /// # bytes.push(b'x');
    /// # std::fs::write(&old, &bytes).unwrap();
    /// let (one, two) = (dir.path().join("1.fpack"), dir.path().join("2.fpack"));
    /// ConvertOptions::new().index_seed(7).convert(&old, &one).unwrap();
    /// ConvertOptions::new().index_seed(7).convert(&old, &two).unwrap();
    /// assert_eq!(std::fs::read(&one).unwrap(), std::fs::read(&two).unwrap());
    /// ```
    pub fn index_seed(mut self, seed: u64) -> ConvertOptions {
        self.builder = self.builder.index_seed(seed);
        self
    }

    /// Calls `callback` as the conversion progresses (phase [`Phase::Packing`](crate::Phase)
    /// every 1024 files, with the number of files as `entries_total`, then `Indexing` and
    /// `Done`), from the calling thread. Keep it cheap.
    ///
    /// ```
    /// # use treepack::ConvertOptions;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let old = dir.path().join("old.fpack");
    /// # let mut bytes = vec![1u8];
    /// # bytes.extend(1u64.to_le_bytes());
    /// # bytes.extend([b' '; 256]);
    /// # bytes.extend(format!("{:128}", "a").bytes());
    /// # bytes.extend(3u64.to_le_bytes());
    /// # bytes.extend(b"abc");
    /// # std::fs::write(&old, &bytes).unwrap();
    /// use std::sync::{Arc, Mutex};
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = Arc::clone(&seen);
    /// ConvertOptions::new()
    ///     .progress(move |p| log.lock().unwrap().push((p.phase, p.entries_total, p.bytes_done)))
    ///     .convert(&old, dir.path().join("new.fpack"))
    ///     .unwrap();
    /// assert_eq!(seen.lock().unwrap().last(), Some(&(treepack::Phase::Done, 1, 3)));
    /// ```
    pub fn progress<F>(mut self, callback: F) -> ConvertOptions
    where
        F: Fn(&Progress) + Send + Sync + 'static,
    {
        self.builder = self.builder.progress(callback);
        self
    }

    /// Converts the FilePacker pack at `old` into a pack at `new`: opens and checks `old`
    /// whole ([`LegacyPack::open`]), then [`Self::convert_pack`].
    ///
    /// # Errors
    /// [`ConvertError::Exists`]; [`ConvertError::Legacy`] if `old` is not a valid FilePacker
    /// pack (nothing is written then); [`ConvertError::Build`] if writing fails.
    ///
    /// ```
    /// use treepack::{ConvertError, ConvertOptions, LegacyErrorKind, PackBuilder};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::fs::write(dir.path().join("a.txt"), "a").unwrap();
    /// let already = dir.path().join("already.fpack");
    /// PackBuilder::new().pack_dir(dir.path(), &already).unwrap();
    /// let err = ConvertOptions::new().convert(&already, dir.path().join("new.fpack")).unwrap_err();
    /// assert!(matches!(&err, ConvertError::Legacy(e) if matches!(e.kind(), LegacyErrorKind::AlreadyConverted)));
    /// assert!(err.to_string().contains("not a FilePacker pack"));
    /// ```
    pub fn convert(
        &self,
        old: impl AsRef<Path>,
        new: impl AsRef<Path>,
    ) -> Result<PackSummary, ConvertError> {
        let new = new.as_ref();
        self.check_output(new)?;
        let legacy = LegacyPack::open(old)?;
        self.convert_pack(&legacy, new)
    }

    /// Writes the files of `legacy`, already open, into a pack at `new`.
    ///
    /// # Errors
    /// As [`Self::convert`].
    ///
    /// ```
    /// use treepack::{ConvertOptions, LegacyPack, Pack};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let old = dir.path().join("old.fpack");
    /// # let files: [(&str, &[u8]); 2] = [("x/1.bin", b"\x00\x01"), ("x/2.bin", b"\x02")];
    /// # let mut bytes = vec![1u8];
    /// # bytes.extend((files.len() as u64).to_le_bytes());
    /// # bytes.extend([b' '; 256]);
    /// # for (name, _) in files { bytes.extend(format!("{name:128}").bytes()); }
    /// # for (_, data) in files { bytes.extend((data.len() as u64).to_le_bytes()); }
    /// # for (_, data) in files { bytes.extend(data); }
    /// # std::fs::write(&old, &bytes).unwrap();
    /// let legacy = LegacyPack::open(&old).unwrap();
    /// let new = dir.path().join("new.fpack");
    /// ConvertOptions::new().convert_pack(&legacy, &new).unwrap();
    /// let pack = Pack::open(&new).unwrap();
    /// for entry in &legacy {
    ///     assert_eq!(pack.bytes(entry.path()).unwrap(), entry.bytes());
    /// }
    /// assert_eq!(pack.listdir("x").unwrap(), ["1.bin", "2.bin"]);
    /// ```
    pub fn convert_pack(
        &self,
        legacy: &LegacyPack,
        new: impl AsRef<Path>,
    ) -> Result<PackSummary, ConvertError> {
        let new = new.as_ref();
        self.check_output(new)?;
        self.builder.pack_legacy(legacy, new).map_err(|e| match e {
            // Created by another process while this one converted: left as it is.
            BuildError::Io { path, source }
                if path == new && source.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                ConvertError::Exists { path }
            }
            e => ConvertError::Build(e),
        })
    }

    /// [`ConvertError::Exists`] if `new` exists and may not be replaced.
    fn check_output(&self, new: &Path) -> Result<(), ConvertError> {
        if !self.replace && std::fs::symlink_metadata(new).is_ok() {
            return Err(ConvertError::Exists {
                path: new.to_owned(),
            });
        }
        Ok(())
    }
}

/// Converts the FilePacker pack at `old` into a pack of this crate's format at `new`, refusing
/// to replace an existing `new`: [`ConvertOptions::new`]`.`[`convert`](ConvertOptions::convert).
///
/// # Errors
/// As [`ConvertOptions::convert`].
///
/// ```
/// use treepack::{convert_legacy, Pack};
/// # let dir = tempfile::tempdir().unwrap();
/// let old = dir.path().join("old.fpack");
/// // FilePacker's layout: version, count, base path, names, sizes, data.
/// let mut bytes = vec![1u8];
/// bytes.extend(2u64.to_le_bytes());
/// bytes.extend(format!("{:256}", "/home/me/dataset").bytes());
/// bytes.extend(format!("{:128}{:128}", "train/cat.jpg", "labels.csv").bytes());
/// bytes.extend(3u64.to_le_bytes());
/// bytes.extend(5u64.to_le_bytes());
/// bytes.extend(b"jpgcat,1");
/// std::fs::write(&old, &bytes).unwrap();
///
/// let new = dir.path().join("new.fpack");
/// let summary = convert_legacy(&old, &new).unwrap();
/// assert_eq!(summary.files, 2);
/// let pack = Pack::open(&new).unwrap();
/// assert_eq!(pack.bytes("train/cat.jpg").unwrap(), b"jpg");
/// assert_eq!(pack.listdir("").unwrap(), ["labels.csv", "train"]);
/// assert!(convert_legacy(&old, &new).is_err(), "never replaces");
/// ```
pub fn convert_legacy(
    old: impl AsRef<Path>,
    new: impl AsRef<Path>,
) -> Result<PackSummary, ConvertError> {
    ConvertOptions::new().convert(old, new)
}
