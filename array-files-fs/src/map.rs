//! Memory maps of file ranges: the one place in the workspace where a file is mapped.
//!
//! Mapping a file is `unsafe` in [`memmap2`] because the map's bytes can change, or vanish,
//! under the program when another process writes to or truncates the file. This module is the
//! workspace's single `unsafe` block for it, so that the crates built on it need none
//! (npy-append, npz-stream and varpack are `#![forbid(unsafe_code)]`).
//!
//! # Safety
//!
//! [`MapOptions`]' methods are safe functions, and what makes them sound is split in two:
//!
//! * **checked here**: the range lies inside the file when it is mapped (`offset + len` at most
//!   the file's length, else an [`io::ErrorKind::UnexpectedEof`] error), so no byte of a new map
//!   is past the end of the file;
//! * **the contract every public reader of the workspace states** (`NpyFile`, `NpzReader`,
//!   `Pack`, varpack's mapped values): the mapped file must not be truncated or rewritten in
//!   place by another program while the map is alive. The workspace's own writers never do
//!   either to a file someone may have mapped: they append past the mapped range (npy-append,
//!   npz appends) or replace a file by renaming a new one over it (the map keeps the old file).
//!
//! When that contract is broken anyway, reading a mapped byte past the file's new end raises
//! `SIGBUS` (Unix) or an access violation (Windows), and a byte rewritten in place changes
//! under a shared reference. Command-line tools can turn the first into an error message
//! (`cli::exit_on_shrink`, feature `cli`); programs that must survive files truncated under them
//! read with positional reads instead of maps.
//!
//! ```
//! use array_files_fs::map::MapOptions;
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("data");
//! std::fs::write(&path, b"header+payload")?;
//! let file = std::fs::File::open(&path)?;
//! let payload = MapOptions::new().offset(7).len(7).map(&file)?;
//! assert_eq!(&payload[..], b"payload");
//! let past_the_end = MapOptions::new().offset(7).len(8).map(&file);
//! assert_eq!(past_the_end.unwrap_err().kind(), std::io::ErrorKind::UnexpectedEof);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs::File;
use std::io;

pub use memmap2::{Advice, Mmap, MmapMut};

/// What part of a file to map, and how; see the [module docs](self) for what makes it safe.
#[derive(Debug, Clone, Copy, Default)]
pub struct MapOptions {
    offset: u64,
    len: Option<usize>,
    populate: bool,
    file_len: Option<u64>,
}

/// How the pages are shared.
#[derive(Clone, Copy)]
enum Kind {
    ReadOnly,
    ReadWrite,
    CopyOnWrite,
}

/// One map, of either mutability.
enum Mapped {
    ReadOnly(Mmap),
    Writable(MmapMut),
}

impl MapOptions {
    /// The whole file from offset 0, pages read in as they are touched.
    pub fn new() -> MapOptions {
        MapOptions::default()
    }

    /// Where the map starts in the file (any offset: the page alignment is handled inside).
    pub fn offset(mut self, offset: u64) -> MapOptions {
        self.offset = offset;
        self
    }

    /// How many bytes to map (default: from the offset to the end of the file).
    pub fn len(mut self, len: usize) -> MapOptions {
        self.len = Some(len);
        self
    }

    /// The file's length, when the caller has just read it (from the metadata of the open file
    /// it maps): the map trusts it instead of asking the file system again. It must be the
    /// length the file has: a map past the end faults when touched, as any map of a file
    /// truncated under it does (see the [module docs](self)).
    ///
    /// ```
    /// # let file = tempfile::tempfile()?;
    /// # std::io::Write::write_all(&mut &file, b"abcd")?;
    /// let len = file.metadata()?.len();
    /// let map = array_files_fs::map::MapOptions::new().offset(1).file_len(len).map(&file)?;
    /// assert_eq!(&map[..], b"bcd");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn file_len(mut self, len: u64) -> MapOptions {
        self.file_len = Some(len);
        self
    }

    /// Read the whole range in when mapping (`MAP_POPULATE` on Linux) rather than page by page
    /// on first touch.
    ///
    /// ```
    /// # let file = tempfile::tempfile()?;
    /// # std::io::Write::write_all(&mut &file, b"abc")?;
    /// let map = array_files_fs::map::MapOptions::new().populate(true).map(&file)?;
    /// assert_eq!(&map[..], b"abc");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn populate(mut self, yes: bool) -> MapOptions {
        self.populate = yes;
        self
    }

    /// A read-only map (numpy's `mmap_mode='r'`).
    pub fn map(&self, file: &File) -> io::Result<Mmap> {
        match self.mapped(file, Kind::ReadOnly)? {
            Mapped::ReadOnly(map) => Ok(map),
            Mapped::Writable(_) => unreachable!("a read-only request gives a read-only map"),
        }
    }

    /// A shared writable map: writes reach the file (numpy's `'r+'`). The file must be open
    /// for writing.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("f");
    /// std::fs::write(&path, b"abc")?;
    /// let file = std::fs::OpenOptions::new().read(true).write(true).open(&path)?;
    /// let mut map = array_files_fs::map::MapOptions::new().offset(1).map_mut(&file)?;
    /// map[0] = b'X';
    /// map.flush()?;
    /// assert_eq!(std::fs::read(&path)?, b"aXc");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn map_mut(&self, file: &File) -> io::Result<MmapMut> {
        self.writable(file, Kind::ReadWrite)
    }

    /// A private writable map: writes stay in memory, the file is unchanged (numpy's `'c'`).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("f");
    /// std::fs::write(&path, b"abc")?;
    /// let mut map = array_files_fs::map::MapOptions::new().map_copy(&std::fs::File::open(&path)?)?;
    /// map[0] = b'X';
    /// assert_eq!(&map[..], b"Xbc");
    /// assert_eq!(std::fs::read(&path)?, b"abc");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn map_copy(&self, file: &File) -> io::Result<MmapMut> {
        self.writable(file, Kind::CopyOnWrite)
    }

    fn writable(&self, file: &File, kind: Kind) -> io::Result<MmapMut> {
        match self.mapped(file, kind)? {
            Mapped::Writable(map) => Ok(map),
            Mapped::ReadOnly(_) => unreachable!("a writable request gives a writable map"),
        }
    }

    fn mapped(&self, file: &File, kind: Kind) -> io::Result<Mapped> {
        let file_len = match self.file_len {
            Some(len) => len,
            None => file.metadata()?.len(),
        };
        let available = file_len.checked_sub(self.offset).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "cannot map from offset {} of a {file_len}-byte file",
                    self.offset
                ),
            )
        })?;
        let len = match self.len {
            Some(len) if len as u64 > available => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "cannot map {len} bytes at offset {} of a {file_len}-byte file",
                        self.offset
                    ),
                ));
            }
            Some(len) => len,
            None => usize::try_from(available).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::OutOfMemory,
                    format!("a {available}-byte map does not fit this platform's address space"),
                )
            })?,
        };
        let mut options = memmap2::MmapOptions::new();
        options.offset(self.offset).len(len);
        if self.populate {
            options.populate();
        }
        // SAFETY: mapping is unsafe because the file can change or shrink under the map. The
        // range was checked just above to lie inside the file as it is now, so every byte of
        // the new map exists; that it stays so (no truncation or rewrite in place by another
        // program while the map lives) is the contract that the module docs state and that
        // every public reader of the workspace passes on to its users in its own docs.
        unsafe {
            Ok(match kind {
                Kind::ReadOnly => Mapped::ReadOnly(options.map(file)?),
                Kind::ReadWrite => Mapped::Writable(options.map_mut(file)?),
                Kind::CopyOnWrite => Mapped::Writable(options.map_copy(file)?),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_past_the_end_are_refused_and_empty_ones_map() {
        let file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut &file, &[7u8; 10_000]).unwrap();
        for (offset, len) in [(0, 10_001), (10_001, 0), (9_999, 2), (u64::MAX, 1)] {
            let err = MapOptions::new()
                .offset(offset)
                .len(len)
                .map(&file)
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{offset} {len}");
        }
        assert!(
            MapOptions::new()
                .offset(10_000)
                .map(&file)
                .unwrap()
                .is_empty()
        );
        let tail = MapOptions::new().offset(4097).map(&file).unwrap();
        assert_eq!(tail.len(), 10_000 - 4097);
        assert!(tail.iter().all(|&b| b == 7));
    }
}
