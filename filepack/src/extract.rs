//! Extracting packs to disk, never outside the destination.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use array_files_fs::atomic::{self, Persist, TempFile};

use crate::error::ExtractError;
use crate::path::{self, check_contained_link};
use crate::read::{Entry, Pack, system_time};

/// Options for [`Pack::extract_with`].
///
/// ```
/// # use treepack::{EntryMeta, ExtractOptions, Pack, PackWriter};
/// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
/// # w.add_bytes("a/b.txt", b"hello", EntryMeta::file().mode(0o755).mtime(1_000_000_000, 0)).unwrap();
/// # w.add_bytes("c.txt", b"c", EntryMeta::file()).unwrap();
/// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
/// # let dest = tempfile::tempdir().unwrap();
/// # let dest = dest.path();
/// std::fs::write(dest.join("c.txt"), b"old").unwrap();
/// let options = ExtractOptions::new().paths(["c.txt"]).overwrite(true);
/// let summary = pack.extract_with(dest, &options).unwrap();
/// assert_eq!(summary.files, 1);
/// assert_eq!(std::fs::read(dest.join("c.txt")).unwrap(), b"c");
/// assert!(!dest.join("a").exists());
/// ```
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    paths: Vec<String>,
    overwrite: bool,
    skip_unsafe_links: bool,
    permissions: bool,
    mtimes: bool,
    verify: bool,
    sync: bool,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions::new()
    }
}

impl ExtractOptions {
    /// The defaults: everything; refuse to overwrite; refuse unsafe links; restore permissions
    /// and modification times; verify each file's checksum as it is written.
    ///
    /// ```
    /// # use treepack::{EntryMeta, ExtractOptions, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a/b.txt", b"hello", EntryMeta::file().mode(0o755).mtime(1_000_000_000, 0)).unwrap();
    /// # w.add_bytes("c.txt", b"c", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// # let dest = tempfile::tempdir().unwrap();
    /// # let dest = dest.path();
    /// use treepack::ExtractError;
    /// pack.extract_with(dest, &ExtractOptions::new()).unwrap();
    /// // By default an existing file is never replaced:
    /// let again = pack.extract_with(dest, &ExtractOptions::new());
    /// assert!(matches!(again, Err(ExtractError::Exists { .. })));
    /// ```
    pub fn new() -> ExtractOptions {
        ExtractOptions {
            paths: Vec::new(),
            overwrite: false,
            skip_unsafe_links: false,
            permissions: true,
            mtimes: true,
            verify: true,
            sync: false,
        }
    }

    /// Extract only these entries (each with its subtree, if a directory), at their paths
    /// under the destination; their parent directories are created. Adds to earlier calls.
    ///
    /// ```
    /// # use treepack::{EntryMeta, ExtractOptions, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a/b.txt", b"hello", EntryMeta::file().mode(0o755).mtime(1_000_000_000, 0)).unwrap();
    /// # w.add_bytes("c.txt", b"c", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// # let dest = tempfile::tempdir().unwrap();
    /// # let dest = dest.path();
    /// pack.extract_with(dest, &ExtractOptions::new().paths(["a/b.txt"])).unwrap();
    /// assert_eq!(std::fs::read(dest.join("a/b.txt")).unwrap(), b"hello");
    /// assert!(!dest.join("c.txt").exists());
    /// ```
    pub fn paths<I, S>(mut self, paths: I) -> ExtractOptions
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.paths.extend(paths.into_iter().map(Into::into));
        self
    }

    /// Replace existing files and symlinks (never following them; directories are merged).
    ///
    /// ```
    /// # use treepack::{EntryMeta, ExtractOptions, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a/b.txt", b"hello", EntryMeta::file().mode(0o755).mtime(1_000_000_000, 0)).unwrap();
    /// # w.add_bytes("c.txt", b"c", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// # let dest = tempfile::tempdir().unwrap();
    /// # let dest = dest.path();
    /// std::fs::write(dest.join("c.txt"), b"mine").unwrap();
    /// pack.extract_with(dest, &ExtractOptions::new().overwrite(true)).unwrap();
    /// assert_eq!(std::fs::read(dest.join("c.txt")).unwrap(), b"c");
    /// ```
    pub fn overwrite(mut self, yes: bool) -> ExtractOptions {
        self.overwrite = yes;
        self
    }

    /// Skip (and count) symlinks whose target could lead outside the destination instead of
    /// failing with [`ExtractError::UnsafeLink`].
    ///
    /// ```
    /// use treepack::{EntryMeta, ExtractError, ExtractOptions, Pack, PackWriter};
    /// # let dest = tempfile::tempdir().unwrap();
    /// # let dest = dest.path();
    /// let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// w.add_bytes("ok.txt", b"ok", EntryMeta::file()).unwrap();
    /// w.add_symlink("escape", "../../etc/passwd", EntryMeta::symlink()).unwrap();
    /// let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// let refused = pack.extract_with(dest.join("strict"), &ExtractOptions::new());
    /// assert!(matches!(refused, Err(ExtractError::UnsafeLink { .. })));
    /// let options = ExtractOptions::new().skip_unsafe_links(true);
    /// let summary = pack.extract_with(dest.join("lenient"), &options).unwrap();
    /// assert_eq!((summary.files, summary.skipped_links), (1, 1));
    /// ```
    pub fn skip_unsafe_links(mut self, yes: bool) -> ExtractOptions {
        self.skip_unsafe_links = yes;
        self
    }

    /// Restore permission bits (Unix; read, write and execute only: setuid, setgid and sticky
    /// bits are never restored). On by default.
    ///
    /// ```
    /// # use treepack::{EntryMeta, ExtractOptions, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a/b.txt", b"hello", EntryMeta::file().mode(0o755).mtime(1_000_000_000, 0)).unwrap();
    /// # w.add_bytes("c.txt", b"c", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// # let dest = tempfile::tempdir().unwrap();
    /// # let dest = dest.path();
    /// # #[cfg(unix)] {
    /// use std::os::unix::fs::PermissionsExt;
    /// let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    /// pack.extract_with(dest.join("kept"), &ExtractOptions::new()).unwrap();
    /// assert_eq!(mode(&dest.join("kept/a/b.txt")), 0o755);
    /// pack.extract_with(dest.join("plain"), &ExtractOptions::new().permissions(false)).unwrap();
    /// assert_eq!(mode(&dest.join("plain/a/b.txt")) & 0o111, 0, "the umask never adds execute bits");
    /// # }
    /// ```
    pub fn permissions(mut self, yes: bool) -> ExtractOptions {
        self.permissions = yes;
        self
    }

    /// Restore modification times of files and directories. On by default.
    ///
    /// ```
    /// # use treepack::{EntryMeta, ExtractOptions, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a/b.txt", b"hello", EntryMeta::file().mode(0o755).mtime(1_000_000_000, 0)).unwrap();
    /// # w.add_bytes("c.txt", b"c", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// # let dest = tempfile::tempdir().unwrap();
    /// # let dest = dest.path();
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let mtime = |p: &std::path::Path| std::fs::metadata(p).unwrap().modified().unwrap();
    /// pack.extract_with(dest.join("kept"), &ExtractOptions::new()).unwrap();
    /// assert_eq!(mtime(&dest.join("kept/a/b.txt")), UNIX_EPOCH + Duration::from_secs(1_000_000_000));
    /// pack.extract_with(dest.join("now"), &ExtractOptions::new().mtimes(false)).unwrap();
    /// assert!(mtime(&dest.join("now/a/b.txt")) > UNIX_EPOCH + Duration::from_secs(1_000_000_000));
    /// ```
    pub fn mtimes(mut self, yes: bool) -> ExtractOptions {
        self.mtimes = yes;
        self
    }

    /// `fsync` each file before renaming it into place, and its directory after: extracted
    /// files then survive a power loss once extraction returns. Off by default (as tar): a
    /// crash can then leave an empty file under a final name, though never a file cut short
    /// by an error, which every file's temporary-then-rename write rules out.
    ///
    /// ```
    /// # use treepack::{EntryMeta, ExtractOptions, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a/b.txt", b"hello", EntryMeta::file().mode(0o755).mtime(1_000_000_000, 0)).unwrap();
    /// # w.add_bytes("c.txt", b"c", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// # let dest = tempfile::tempdir().unwrap();
    /// # let dest = dest.path();
    /// let summary = pack.extract_with(dest, &ExtractOptions::new().sync(true)).unwrap();
    /// assert_eq!(summary.files, 2); // on stable storage, directories included, once this returns
    /// ```
    pub fn sync(mut self, yes: bool) -> ExtractOptions {
        self.sync = yes;
        self
    }

    /// Check each file's checksum before writing it. On by default.
    ///
    /// ```
    /// use treepack::{EntryMeta, ErrorKind, ExtractError, ExtractOptions, Pack, PackWriter};
    /// # let dest = tempfile::tempdir().unwrap();
    /// # let dest = dest.path();
    /// let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// w.add_bytes("f", b"contents", EntryMeta::file()).unwrap();
    /// let mut bytes = w.finish().unwrap().0.into_inner();
    /// let at = bytes.windows(8).position(|w| w == b"contents").unwrap();
    /// bytes[at] = b'C'; // a flipped byte in the stored contents
    /// let pack = Pack::from_vec(bytes).unwrap();
    /// let checked = pack.extract_with(dest.join("checked"), &ExtractOptions::new());
    /// assert!(matches!(checked, Err(ExtractError::Pack(e)) if matches!(e.kind(), ErrorKind::Checksum { .. })));
    /// pack.extract_with(dest.join("raw"), &ExtractOptions::new().verify(false)).unwrap();
    /// assert_eq!(std::fs::read(dest.join("raw/f")).unwrap(), b"Contents");
    /// ```
    pub fn verify(mut self, yes: bool) -> ExtractOptions {
        self.verify = yes;
        self
    }
}

/// What an extraction created.
///
/// ```
/// # use treepack::{EntryMeta, Pack, PackWriter};
/// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
/// # w.add_bytes("d/f", b"abc", EntryMeta::file()).unwrap();
/// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
/// # let dir = tempfile::tempdir().unwrap();
/// let s = pack.extract(dir.path()).unwrap();
/// assert_eq!((s.files, s.dirs, s.symlinks, s.bytes), (1, 1, 0, 3));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExtractSummary {
    /// Files written.
    pub files: u64,
    /// Directories created or merged (the destination not counted).
    pub dirs: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Symlinks skipped by [`ExtractOptions::skip_unsafe_links`].
    pub skipped_links: u64,
}

struct Extractor<'a> {
    dest: &'a Path,
    options: &'a ExtractOptions,
    /// Relative directories known to be real directories (created or checked).
    verified: HashSet<String>,
    dir_meta: Vec<(String, u32, (i64, u32))>,
    summary: ExtractSummary,
    /// Temporary files of dead processes found in directories that existed before this run,
    /// keyed by the file each was for: removed when this run writes that file.
    stale: HashMap<PathBuf, Vec<PathBuf>>,
}

impl Extractor<'_> {
    fn abs(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.dest.to_owned()
        } else {
            self.dest.join(rel)
        }
    }

    /// Makes sure `rel` is a real directory (not a symlink), creating it and its parents.
    ///
    /// A loop over `rel`'s ancestors, never a recursion: the depth of `rel` comes from the pack
    /// (and is bounded by [`MAX_DEPTH`](crate::format::MAX_DEPTH) before this runs).
    fn ensure_dir(&mut self, rel: &str) -> Result<(), ExtractError> {
        // The nearest ancestor (or `rel` itself) known to be a directory; the root always is.
        let mut known = rel;
        let mut missing = Vec::new();
        while !self.verified.contains(known) {
            missing.push(known);
            known = path::parent(known);
        }
        // Outermost first, as `mkdir -p`.
        for &dir in missing.iter().rev() {
            self.ensure_one_dir(dir)?;
        }
        Ok(())
    }

    /// Makes sure `rel`, whose parent is a real directory, is one too.
    fn ensure_one_dir(&mut self, rel: &str) -> Result<(), ExtractError> {
        let abs = self.abs(rel);
        match fs::symlink_metadata(&abs) {
            Ok(m) if m.is_dir() => self.find_stale_temps(&abs),
            Ok(m) if m.file_type().is_symlink() => {
                return Err(ExtractError::Unsafe {
                    path: abs,
                    reason: "a symlink where a directory belongs",
                });
            }
            Ok(_) => {
                if !self.options.overwrite {
                    return Err(ExtractError::Exists { path: abs });
                }
                fs::remove_file(&abs).map_err(|e| ExtractError::io(&abs, e))?;
                fs::create_dir(&abs).map_err(|e| ExtractError::io(&abs, e))?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&abs).map_err(|e| ExtractError::io(&abs, e))?;
            }
            Err(e) => return Err(ExtractError::io(&abs, e)),
        }
        self.verified.insert(rel.to_owned());
        Ok(())
    }

    /// Notes the temporary files that an earlier extraction killed in `dir` (an existing
    /// directory) left: `.NAME.PID-N.tmp` of a process that is gone.
    fn find_stale_temps(&mut self, dir: &Path) {
        let Ok(entries) = fs::read_dir(dir) else {
            return; // listing is an optimisation here; writing reports real problems
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(target) = temp_target(name) else {
                continue;
            };
            let target = dir.join(target);
            if let Some(pid) = atomic::owner_pid(name, &target, "tmp")
                && pid != std::process::id()
                && !atomic::process_alive(pid)
            {
                self.stale.entry(target).or_default().push(dir.join(name));
            }
        }
    }

    /// Clears the way for a new file or symlink at `abs`.
    fn make_room(&self, abs: &Path) -> Result<(), ExtractError> {
        match fs::symlink_metadata(abs) {
            Ok(m) => {
                if !self.options.overwrite || m.is_dir() {
                    return Err(ExtractError::Exists {
                        path: abs.to_owned(),
                    });
                }
                // Removes a symlink itself, never its target.
                fs::remove_file(abs).map_err(|e| ExtractError::io(abs, e))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ExtractError::io(abs, e)),
        }
    }

    fn file(&mut self, entry: &Entry<'_>) -> Result<(), ExtractError> {
        let rel = entry.path();
        self.ensure_dir(path::parent(rel))?;
        // Borrowed from the map, or fetched once from a pack read through a source.
        let data = entry.read()?;
        if self.options.verify {
            entry.verify_data(&data)?;
        }
        let abs = self.abs(rel);
        for stale in self.stale.remove(&abs).unwrap_or_default() {
            // Another run may have removed it first.
            let _ = fs::remove_file(stale);
        }
        // Replace an existing regular file in one rename; anything else in the way (a
        // symlink, never followed) goes first, or stops us without `overwrite`.
        let replace = match fs::symlink_metadata(&abs) {
            Ok(m) if m.is_file() && self.options.overwrite => true,
            _ => {
                self.make_room(&abs)?;
                false
            }
        };
        // The contents go to `.NAME.PID-N.tmp` beside the file, renamed to NAME only when
        // complete: an error (a full disk) or a kill never leaves a partial file under NAME.
        // The temporary file is removed on every error path (when `tmp` drops).
        let mut tmp = TempFile::beside(&abs).map_err(|e| ExtractError::io(&abs, e))?;
        tmp.set_sync(self.options.sync);
        tmp.file_mut()
            .write_all(&data)
            .map_err(|e| ExtractError::io(&abs, e))?;
        let how = if replace {
            Persist::Replace
        } else {
            Persist::NoClobber
        };
        let file = tmp.persist(&abs, how).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                // Created by someone else since `make_room` looked.
                ExtractError::Exists { path: abs.clone() }
            } else {
                ExtractError::io(&abs, e)
            }
        })?;
        if self.options.permissions {
            set_mode(&file, entry.mode()).map_err(|e| ExtractError::io(&abs, e))?;
        }
        if self.options.mtimes {
            let (s, n) = entry.metadata().mtime();
            file.set_modified(system_time(s, n))
                .map_err(|e| ExtractError::io(&abs, e))?;
        }
        self.summary.files += 1;
        self.summary.bytes += data.len() as u64;
        Ok(())
    }

    fn dir(&mut self, entry: &Entry<'_>) -> Result<(), ExtractError> {
        self.ensure_dir(entry.path())?;
        self.dir_meta.push((
            entry.path().to_owned(),
            entry.mode(),
            entry.metadata().mtime(),
        ));
        self.summary.dirs += 1;
        Ok(())
    }

    fn symlink(&mut self, link: &str, target: &str) -> Result<(), ExtractError> {
        if let Err(reason) = check_contained_link(link, target) {
            if self.options.skip_unsafe_links {
                self.summary.skipped_links += 1;
                return Ok(());
            }
            return Err(ExtractError::UnsafeLink {
                path: link.to_owned(),
                target: target.to_owned(),
                reason,
            });
        }
        self.ensure_dir(path::parent(link))?;
        let abs = self.abs(link);
        self.make_room(&abs)?;
        create_symlink(target, &abs).map_err(|e| ExtractError::io(&abs, e))?;
        self.summary.symlinks += 1;
        Ok(())
    }

    fn finish_dirs(&mut self) -> Result<(), ExtractError> {
        // Deepest first, after everything inside is written (a read-only directory is made
        // read-only last).
        for (rel, mode, (s, n)) in self.dir_meta.iter().rev() {
            let abs = self.abs(rel);
            if self.options.mtimes {
                let dir = fs::File::open(&abs).map_err(|e| ExtractError::io(&abs, e))?;
                dir.set_modified(system_time(*s, *n))
                    .map_err(|e| ExtractError::io(&abs, e))?;
            }
            if self.options.permissions {
                set_path_mode(&abs, *mode).map_err(|e| ExtractError::io(&abs, e))?;
            }
        }
        Ok(())
    }
}

/// The NAME of a `.NAME.PID-N.tmp` temporary file name (see [`TempFile`]), if `name` has that
/// form.
fn temp_target(name: &str) -> Option<&str> {
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (target, _pid_n) = rest.rsplit_once('.')?;
    (!target.is_empty()).then_some(target)
}

#[cfg(unix)]
fn set_mode(file: &fs::File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode & 0o777))
}

#[cfg(not(unix))]
fn set_mode(_file: &fs::File, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn set_path_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o777))
}

#[cfg(not(unix))]
fn set_path_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn create_symlink(target: &str, link: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn create_symlink(_target: &str, _link: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "creating symlinks is only supported on Unix",
    ))
}

impl Pack {
    /// Extracts everything into `dest` (created if missing) with the default
    /// [`ExtractOptions`].
    ///
    /// # Errors
    /// As [`Pack::extract_with`].
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a/b.txt", b"hi", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// let dir = tempfile::tempdir().unwrap();
    /// pack.extract(dir.path().join("out")).unwrap();
    /// assert_eq!(std::fs::read(dir.path().join("out/a/b.txt")).unwrap(), b"hi");
    /// ```
    pub fn extract(&self, dest: impl AsRef<Path>) -> Result<ExtractSummary, ExtractError> {
        self.extract_with(dest, &ExtractOptions::new())
    }

    /// Extracts into `dest` (created if missing).
    ///
    /// Nothing is ever created outside `dest`: every entry goes to its normalized path under
    /// `dest`, no existing symlink or non-directory on the way is written through, symlinks are
    /// created after all files and directories, and only if their target stays inside `dest`
    /// whatever the other links are (relative, all `..` first, no more of them than the link's
    /// depth). The destination directory's own metadata is left alone. Extraction is not
    /// protected against other processes changing `dest` at the same time.
    ///
    /// Each file is written to a temporary file `.NAME.PID-N.tmp` beside it and renamed to
    /// `NAME` once complete, so an error (a full disk) or a kill never leaves a file cut short
    /// under its name; the temporary file is removed on every error, and those a killed
    /// extraction left (their process gone) are removed when a later one writes the same file.
    /// An entry more than [`MAX_DEPTH`](crate::format::MAX_DEPTH) components deep is refused
    /// before anything is written. No part of extraction recurses on the depth of a path.
    ///
    /// # Errors
    /// [`ExtractError::Pack`] (a path not in the pack, a corrupt pack, a checksum mismatch),
    /// [`ExtractError::Exists`], [`ExtractError::Unsafe`], [`ExtractError::UnsafeLink`],
    /// [`ExtractError::Io`].
    ///
    /// ```
    /// use treepack::{EntryMeta, ExtractOptions, Pack, PackWriter};
    /// let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// w.add_bytes("keep/a", b"1", EntryMeta::file()).unwrap();
    /// w.add_bytes("other/b", b"2", EntryMeta::file()).unwrap();
    /// w.add_symlink("escape", "../../etc/passwd", EntryMeta::symlink()).unwrap();
    /// let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let options = ExtractOptions::new().paths(["keep"]);
    /// pack.extract_with(dir.path(), &options).unwrap();
    /// assert!(dir.path().join("keep/a").exists() && !dir.path().join("other").exists());
    ///
    /// let all = ExtractOptions::new().overwrite(true).skip_unsafe_links(true);
    /// let summary = pack.extract_with(dir.path(), &all).unwrap();
    /// assert_eq!(summary.skipped_links, 1);
    /// ```
    pub fn extract_with(
        &self,
        dest: impl AsRef<Path>,
        options: &ExtractOptions,
    ) -> Result<ExtractSummary, ExtractError> {
        let dest = dest.as_ref();
        fs::create_dir_all(dest).map_err(|e| ExtractError::io(dest, e))?;
        let mut ex = Extractor {
            dest,
            options,
            verified: HashSet::new(),
            dir_meta: Vec::new(),
            summary: ExtractSummary::default(),
            stale: HashMap::new(),
        };
        ex.find_stale_temps(dest);
        ex.verified.insert(String::new());
        // The selection: everything, or the named entries with their subtrees.
        let selected: Option<BTreeSet<u32>> = if options.paths.is_empty() {
            None
        } else {
            let mut selected = BTreeSet::new();
            for p in &options.paths {
                let entry = self.entry(p)?;
                selected.insert(entry.index());
                if entry.is_dir() {
                    let mut stack = vec![entry.children()?];
                    while let Some(top) = stack.last_mut() {
                        match top.next() {
                            None => {
                                stack.pop();
                            }
                            Some(child) => {
                                let child = child?;
                                selected.insert(child.index());
                                if child.is_dir() {
                                    self.at_pack(crate::error::ErrorKind::check_depth(
                                        child.path(),
                                    ))?;
                                    stack.push(child.children()?);
                                }
                            }
                        }
                    }
                }
            }
            Some(selected)
        };
        let each = |f: &mut dyn FnMut(Entry<'_>) -> Result<(), ExtractError>| match &selected {
            None => self.entries().try_for_each(|e| f(e?)),
            Some(set) => set.iter().try_for_each(|&i| f(self.entry_at(i)?)),
        };
        // Refuse entries deeper than any reader accepts, and unsafe links, before writing
        // anything.
        each(&mut |entry| {
            self.at_pack(crate::error::ErrorKind::check_depth(entry.path()))?;
            if !options.skip_unsafe_links
                && let Some(target) = entry.link_target()
                && let Err(reason) = check_contained_link(entry.path(), target)
            {
                return Err(ExtractError::UnsafeLink {
                    path: entry.path().to_owned(),
                    target: target.to_owned(),
                    reason,
                });
            }
            Ok(())
        })?;
        let mut links: Vec<(String, String)> = Vec::new();
        each(&mut |entry| {
            if entry.index() == 0 {
                return Ok(());
            }
            if entry.is_file() {
                ex.file(&entry)
            } else if entry.is_dir() {
                ex.dir(&entry)
            } else {
                let target = entry.link_target().unwrap_or_default();
                links.push((entry.path().to_owned(), target.to_owned()));
                Ok(())
            }
        })?;
        for (link, target) in &links {
            ex.symlink(link, target)?;
        }
        ex.finish_dirs()?;
        Ok(ex.summary)
    }
}
