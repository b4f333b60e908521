//! The std::fs-like queries: `metadata`, `exists`, `bytes`, `open_file`, `read_link`, ...

use super::*;

impl Pack {
    /// The root directory's entry.
    ///
    /// # Errors
    /// [`ErrorKind::Corrupt`] for a corrupt pack.
    ///
    /// ```
    /// # let bytes = treepack::PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap().finish().unwrap().0.into_inner();
    /// let pack = treepack::Pack::from_vec(bytes).unwrap();
    /// assert!(pack.root().unwrap().is_dir());
    /// ```
    pub fn root(&self) -> Result<Entry<'_>, Error> {
        self.entry_at(0)
    }

    /// The entry at `path`, not following a symlink in the last component (like
    /// `std::fs::symlink_metadata`); symlinks in parent components are followed.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`], [`ErrorKind::InvalidPath`], [`ErrorKind::NotADir`] for a file used as a
    /// directory, symlink errors, [`ErrorKind::Corrupt`].
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a/b", b"", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.entry("./a//b").unwrap().path(), "a/b");
    /// assert!(matches!(pack.entry("a/c"), Err(ref e) if matches!(e.kind(), treepack::ErrorKind::NotFound { .. })));
    /// ```
    pub fn entry(&self, path: &str) -> Result<Entry<'_>, Error> {
        self.at_pack(self.resolve(path, false))
    }

    /// The entry at `path`, following symlinks (like `std::fs::metadata`).
    ///
    /// # Errors
    /// As [`Pack::entry`], plus [`ErrorKind::SymlinkLoop`] and [`ErrorKind::SymlinkEscapes`].
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"x", EntryMeta::file()).unwrap();
    /// # w.add_symlink("l", "f", EntryMeta::symlink()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.resolved_entry("l").unwrap().path(), "f");
    /// ```
    pub fn resolved_entry(&self, path: &str) -> Result<Entry<'_>, Error> {
        self.at_pack(self.resolve(path, true))
    }

    /// Metadata of `path`, following symlinks.
    ///
    /// # Errors
    /// As [`Pack::resolved_entry`].
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"xy", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.metadata("f").unwrap().len(), 2);
    /// ```
    pub fn metadata(&self, path: &str) -> Result<Metadata, Error> {
        let result =
            (|| -> Result<Metadata, ErrorKind> { Ok(self.resolve(path, true)?.metadata()) })();
        self.at_pack(result)
    }

    /// Metadata of `path`, not following a symlink in the last component.
    ///
    /// # Errors
    /// As [`Pack::entry`].
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_symlink("l", "f", EntryMeta::symlink()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert!(pack.symlink_metadata("l").unwrap().is_symlink());
    /// ```
    pub fn symlink_metadata(&self, path: &str) -> Result<Metadata, Error> {
        let result =
            (|| -> Result<Metadata, ErrorKind> { Ok(self.resolve(path, false)?.metadata()) })();
        self.at_pack(result)
    }

    /// Whether `path` names an entry (following symlinks; a dangling link does not exist).
    /// Invalid paths and corrupt packs give `false`; use [`Pack::metadata`] to see errors.
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a/b", b"", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert!(pack.exists("a") && pack.exists("a/b") && !pack.exists("a/b/c"));
    /// assert!(!pack.exists("../x"));
    /// ```
    pub fn exists(&self, path: &str) -> bool {
        self.resolve(path, true).is_ok()
    }

    /// Whether `path` is a regular file (following symlinks).
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a/b", b"", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert!(pack.is_file("a/b") && !pack.is_file("a") && !pack.is_file("nope"));
    /// ```
    pub fn is_file(&self, path: &str) -> bool {
        self.resolve(path, true).is_ok_and(|e| e.is_file())
    }

    /// Whether `path` is a directory (following symlinks).
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a/b", b"", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert!(pack.is_dir("a") && pack.is_dir("") && !pack.is_dir("a/b"));
    /// ```
    pub fn is_dir(&self, path: &str) -> bool {
        self.resolve(path, true).is_ok_and(|e| e.is_dir())
    }

    pub(super) fn file_entry(&self, path: &str) -> Result<Entry<'_>, ErrorKind> {
        let entry = self.resolve(path, true)?;
        if !entry.is_file() {
            return Err(ErrorKind::NotAFile {
                path: path.to_owned(),
                kind: entry.kind(),
            });
        }
        if self.verify_reads {
            entry.verify()?;
        }
        Ok(entry)
    }

    /// The contents of the file at `path` (following symlinks), zero-copy from the map.
    ///
    /// # Errors
    /// [`ErrorKind::NotAFile`] for directories; as [`Pack::resolved_entry`]; [`ErrorKind::Checksum`] with
    /// [`OpenOptions::verify_reads`].
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a/b.bin", &[1, 2, 3], EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.bytes("a/b.bin").unwrap(), &[1, 2, 3]);
    /// assert!(pack.bytes("a").is_err());
    /// ```
    pub fn bytes(&self, path: &str) -> Result<&[u8], Error> {
        let result = (|| -> Result<&[u8], ErrorKind> {
            let norm = normalized(path)?;
            self.file_bytes_hashed(path, &norm, self.header.hash_path(&norm))
        })();
        self.at_pack(result)
    }

    /// A `Read + Seek + BufRead` reader over the file at `path`, zero-copy.
    ///
    /// # Errors
    /// As [`Pack::bytes`].
    ///
    /// ```
    /// use std::io::Read;
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"data", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// let mut s = String::new();
    /// pack.open_file("f").unwrap().read_to_string(&mut s).unwrap();
    /// assert_eq!(s, "data");
    /// ```
    pub fn open_file(&self, path: &str) -> Result<FileReader<'_>, Error> {
        let result = (|| -> Result<FileReader<'_>, ErrorKind> {
            Ok(FileReader {
                cursor: io::Cursor::new(self.bytes(path)?),
            })
        })();
        self.at_pack(result)
    }

    /// The contents of the file at `path` as a `String`.
    ///
    /// # Errors
    /// As [`Pack::bytes`], and [`ErrorKind::NotUtf8`].
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("t.txt", "héllo".as_bytes(), EntryMeta::file()).unwrap();
    /// # w.add_bytes("b.bin", &[0xff], EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.read_to_string("t.txt").unwrap(), "héllo");
    /// assert!(pack.read_to_string("b.bin").is_err());
    /// ```
    pub fn read_to_string(&self, path: &str) -> Result<String, Error> {
        self.read_str(path).map(str::to_owned)
    }

    /// The contents of the file at `path` as a `&str`, zero-copy.
    ///
    /// # Errors
    /// As [`Pack::read_to_string`].
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("t.txt", b"hi", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.read_str("t.txt").unwrap(), "hi");
    /// ```
    pub fn read_str(&self, path: &str) -> Result<&str, Error> {
        let result = (|| -> Result<&str, ErrorKind> {
            let bytes = self.bytes(path)?;
            std::str::from_utf8(bytes).map_err(|e| ErrorKind::NotUtf8 {
                path: path.to_owned(),
                valid_up_to: e.valid_up_to(),
            })
        })();
        self.at_pack(result)
    }

    /// The target of the symlink at `path`.
    ///
    /// # Errors
    /// [`ErrorKind::NotASymlink`]; as [`Pack::entry`].
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_symlink("l", "../x", EntryMeta::symlink()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.read_link("l").unwrap(), "../x");
    /// ```
    pub fn read_link(&self, path: &str) -> Result<&str, Error> {
        let result = (|| -> Result<&str, ErrorKind> {
            let entry = self.resolve(path, false)?;
            entry.link_target().ok_or_else(|| ErrorKind::NotASymlink {
                path: path.to_owned(),
                kind: entry.kind(),
            })
        })();
        self.at_pack(result)
    }

    pub(super) fn dir_entry(&self, path: &str) -> Result<Entry<'_>, ErrorKind> {
        let entry = self.resolve(path, true)?;
        if !entry.is_dir() {
            return Err(ErrorKind::NotADir {
                path: path.to_owned(),
                kind: entry.kind(),
            });
        }
        Ok(entry)
    }
}
