//! Directories: `listdir`, [`ReadDir`], [`Walk`] (no recursion), and [`Entries`] in table order.

use super::*;

/// The children of a directory, in name order (from [`Pack::read_dir`]).
///
/// ```
/// # use treepack::{EntryMeta, Pack, PackWriter};
/// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
/// # w.add_bytes("d/x", b"", EntryMeta::file()).unwrap();
/// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
/// let paths: Vec<_> = pack.read_dir("d").unwrap().map(|e| e.unwrap().path()).collect();
/// assert_eq!(paths, ["d/x"]);
/// ```
#[derive(Debug, Clone)]
pub struct ReadDir<'a> {
    pub(super) pack: &'a Pack,
    pub(super) dir: u32,
    pub(super) pos: u64,
    pub(super) end: u64,
    pub(super) last: u32,
}

impl<'a> Iterator for ReadDir<'a> {
    type Item = Result<Entry<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.end {
            return None;
        }
        let pos = self.pos;
        self.pos += 1;
        let result = self.pack.dir_item(pos).and_then(|index| {
            // Children are strictly increasing and after their directory, and name it as their
            // parent: each entry is listed at most once, so walks of corrupt packs end.
            if index <= self.last {
                return Err(ErrorKind::corrupt(
                    self.pack.dirs_item_offset(pos),
                    format!(
                        "directory entry {} lists child {index} out of order",
                        self.dir
                    ),
                ));
            }
            let child = self.pack.entry_at_inner(index, None)?;
            if child.parent != self.dir {
                return Err(ErrorKind::corrupt(
                    self.pack.dirs_item_offset(pos),
                    format!(
                        "directory entry {} lists child {index} whose parent is {}",
                        self.dir, child.parent
                    ),
                ));
            }
            self.last = index;
            Ok(child)
        });
        if result.is_err() {
            self.pos = self.end;
        }
        Some(self.pack.at_pack(result))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.end - self.pos).unwrap_or(usize::MAX);
        (0, Some(n))
    }
}

/// A depth-first walk of a subtree, starting with the start entry itself, children in name
/// order (from [`Pack::walk`]). Like `walkdir`, symlinks are yielded, not followed.
///
/// ```
/// # use treepack::{EntryMeta, Pack, PackWriter};
/// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
/// # w.add_bytes("a/b/c", b"", EntryMeta::file()).unwrap();
/// # w.add_bytes("a/d", b"", EntryMeta::file()).unwrap();
/// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
/// let paths: Vec<_> = pack.walk("a").unwrap().map(|e| e.unwrap().path()).collect();
/// assert_eq!(paths, ["a", "a/b", "a/b/c", "a/d"]);
/// ```
#[derive(Debug)]
pub struct Walk<'a> {
    pub(super) first: Option<Entry<'a>>,
    pub(super) stack: Vec<ReadDir<'a>>,
}

impl<'a> Walk<'a> {
    fn push(&mut self, entry: &Entry<'a>) {
        // Checked first: `children` of a file or symlink is a `NotADir` error naming the entry
        // and the pack, built (and allocated) for nothing.
        if entry.is_dir()
            && let Ok(children) = entry.children()
        {
            self.stack.push(children);
        }
    }
}

impl<'a> Iterator for Walk<'a> {
    type Item = Result<Entry<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(first) = self.first.take() {
            self.push(&first);
            return Some(Ok(first));
        }
        loop {
            let top = self.stack.last_mut()?;
            match top.next() {
                None => {
                    self.stack.pop();
                }
                Some(Ok(entry)) => {
                    // The stack holds one listing per level: bounded as every reader bounds
                    // depth (a corrupt pack can chain directories without limit).
                    if let Err(e) = ErrorKind::check_depth(entry.path()) {
                        self.stack.clear();
                        return Some(Err(entry.pack.error(e)));
                    }
                    self.push(&entry);
                    return Some(Ok(entry));
                }
                Some(Err(e)) => return Some(Err(e)),
            }
        }
    }
}

/// Every entry in table order (depth-first, name order), from [`Pack::entries`].
///
/// ```
/// # use treepack::{EntryMeta, Pack, PackWriter};
/// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
/// # w.add_bytes("x", b"", EntryMeta::file()).unwrap();
/// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
/// assert_eq!(pack.entries().count(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    pub(super) pack: &'a Pack,
    pub(super) next: u64,
    pub(super) end: u64,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let i = self.next as u32;
        self.next += 1;
        Some(self.pack.entry_at(i))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.end - self.next).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Entries<'_> {}

impl Pack {
    /// The names of the children of directory `path`, sorted (by bytes), zero-copy.
    ///
    /// # Errors
    /// [`ErrorKind::NotADir`]; as [`Pack::resolved_entry`].
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # for p in ["d/b", "d/a", "d/c/x"] { w.add_bytes(p, b"", EntryMeta::file()).unwrap(); }
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.listdir("d").unwrap(), ["a", "b", "c"]);
    /// ```
    pub fn listdir(&self, path: &str) -> Result<Vec<&str>, Error> {
        self.read_dir(path)?.map(|e| e.map(|e| e.name())).collect()
    }

    /// The children of directory `path` as entries, in name order (like `std::fs::read_dir`).
    ///
    /// # Errors
    /// As [`Pack::listdir`].
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("d/f", b"12", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// for entry in pack.read_dir("d").unwrap() {
    ///     let entry = entry.unwrap();
    ///     assert_eq!((entry.path(), entry.len()), ("d/f", 2));
    /// }
    /// ```
    pub fn read_dir(&self, path: &str) -> Result<ReadDir<'_>, Error> {
        self.at_pack(self.dir_entry(path))?.children()
    }

    /// A depth-first walk of the subtree at `start` (which is yielded first), children in name
    /// order, symlinks yielded but not followed (a symlink `start` is followed).
    ///
    /// # Errors
    /// As [`Pack::resolved_entry`] for `start`; the iterator yields [`ErrorKind::Corrupt`] for
    /// corrupt directory tables.
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a/x", b"", EntryMeta::file()).unwrap();
    /// # w.add_bytes("b", b"", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// let all: Vec<_> = pack.walk("").unwrap().map(|e| e.unwrap().path()).collect();
    /// assert_eq!(all, ["", "a", "a/x", "b"]);
    /// ```
    pub fn walk(&self, start: &str) -> Result<Walk<'_>, Error> {
        let result = (|| -> Result<Walk<'_>, ErrorKind> {
            let first = self.resolve(start, true)?;
            Ok(Walk {
                first: Some(first),
                stack: Vec::new(),
            })
        })();
        self.at_pack(result)
    }

    /// Every entry in table order (the root first, then depth-first in name order); sequential
    /// reads of the entry table, the fastest way to visit everything.
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("b", b"", EntryMeta::file()).unwrap();
    /// # w.add_bytes("a/x", b"", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// let all: Vec<_> = pack.entries().map(|e| e.unwrap().path()).collect();
    /// assert_eq!(all, ["", "a", "a/x", "b"]);
    /// ```
    pub fn entries(&self) -> Entries<'_> {
        Entries {
            pack: self,
            next: 0,
            end: self.header.entry_count,
        }
    }
}
