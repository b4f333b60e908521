//! [`FileReader`]: a file in a pack as `Read + BufRead + Seek`.

use super::*;

/// A file inside a pack as a reader: `Read + Seek + BufRead` over the mapped bytes, no copy.
///
/// ```
/// use std::io::{BufRead, Read, Seek, SeekFrom};
/// # use treepack::{EntryMeta, Pack, PackWriter};
/// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
/// # w.add_bytes("lines.txt", b"one\ntwo\n", EntryMeta::file()).unwrap();
/// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
/// let mut f = pack.open_file("lines.txt").unwrap();
/// let mut first = String::new();
/// f.read_line(&mut first).unwrap();
/// assert_eq!(first, "one\n");
/// f.seek(SeekFrom::Start(4)).unwrap();
/// let mut rest = String::new();
/// f.read_to_string(&mut rest).unwrap();
/// assert_eq!(rest, "two\n");
/// ```
#[derive(Debug, Clone)]
pub struct FileReader<'a> {
    pub(super) cursor: io::Cursor<&'a [u8]>,
}

impl<'a> FileReader<'a> {
    /// All of the file's bytes, whatever the position.
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"abc", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.open_file("f").unwrap().get_ref(), b"abc");
    /// ```
    pub fn get_ref(&self) -> &'a [u8] {
        self.cursor.get_ref()
    }

    /// The file's length.
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"abc", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.open_file("f").unwrap().len(), 3);
    /// ```
    pub fn len(&self) -> u64 {
        self.cursor.get_ref().len() as u64
    }

    /// Whether the file is empty.
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert!(pack.open_file("f").unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.cursor.get_ref().is_empty()
    }

    /// The current position.
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"abc", EntryMeta::file()).unwrap();
    /// # let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(pack.open_file("f").unwrap().position(), 0);
    /// ```
    pub fn position(&self) -> u64 {
        self.cursor.position()
    }
}

impl Read for FileReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.cursor.read(buf)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.cursor.read_exact(buf)
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        self.cursor.read_to_end(buf)
    }
}

impl BufRead for FileReader<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.cursor.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.cursor.consume(amt);
    }
}

impl Seek for FileReader<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.cursor.seek(pos)
    }
}
