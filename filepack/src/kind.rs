//! [`Kind`]: what an entry is (file, directory, symlink), for readers, writers and errors.

use std::fmt;

/// What an entry is.
///
/// ```
/// use treepack::Kind;
/// assert_eq!(Kind::Dir.to_string(), "directory");
/// assert_eq!(Kind::Symlink.as_str(), "symlink");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
}

impl Kind {
    /// `"file"`, `"dir"` or `"symlink"`: the names `treepack ls --json` prints.
    ///
    /// ```
    /// assert_eq!(treepack::Kind::Dir.as_str(), "dir");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "dir",
            Kind::Symlink => "symlink",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::File => "file",
            Kind::Dir => "directory",
            Kind::Symlink => "symlink",
        })
    }
}
