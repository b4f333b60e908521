//! What every member is, without failing on the ones that are not arrays: [`NpzReader::list`]
//! and [`NpzReader::describe`] ([`MemberEntry`], [`Content`]).
//!
//! numpy's `NpzFile` opens any zip archive: a member that starts with the NPY magic is an
//! array, any other member comes back as its bytes, and a member it cannot read fails only when
//! it is asked for. The listing follows the same rule, so one odd member (a text file, a
//! directory entry, a bzip2 member, a header over the limit) never hides the others.

use super::*;

/// The NPY magic string, which numpy's `NpzFile` looks for to tell arrays from other members.
const MAGIC: &[u8] = b"\x93NUMPY";

/// How many leading bytes of a member that is not an array are looked at to say what it is.
const SNIFF: usize = 512;

/// What a member holds ([`MemberEntry::content`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum Content {
    /// An NPY array, with its header information.
    Array(Box<MemberInfo>),
    /// A directory entry (its name ends in `/`).
    Directory,
    /// Bytes that do not start with the NPY magic: numpy's `NpzFile` returns them as bytes.
    NotArray {
        /// What the first bytes look like: `"empty"`, `"JSON text"`, `"text"` or
        /// `"binary data"`.
        what: &'static str,
    },
    /// A member this crate cannot decode: a compression method other than stored and deflate
    /// (bzip2, lzma, ...), or encryption.
    Unsupported {
        /// What, in words (`bzip2 compression (zip method 12), which this crate does not
        /// decode`).
        reason: String,
    },
    /// An NPY array (it starts with the magic) whose header was refused or could not be read:
    /// over the header limit ([`ReaderOptions::max_header_size`]), corrupt, truncated. Other
    /// members are not affected.
    Unreadable(ReadError),
}

impl Content {
    /// A word for the kind of content, as `npz ls --json` prints it in `kind`: `array`,
    /// `directory`, `bytes`, `unsupported` or `unreadable`.
    ///
    /// ```
    /// assert_eq!(npz_stream::Content::Directory.kind(), "directory");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Content::Array(_) => "array",
            Content::Directory => "directory",
            Content::NotArray { .. } => "bytes",
            Content::Unsupported { .. } => "unsupported",
            Content::Unreadable(_) => "unreadable",
        }
    }

    /// The array's information, if the member is a readable array.
    ///
    /// ```
    /// assert!(npz_stream::Content::Directory.array().is_none());
    /// ```
    pub fn array(&self) -> Option<&MemberInfo> {
        match self {
            Content::Array(info) => Some(info),
            _ => None,
        }
    }

    /// Why the member is not a readable array, in words (`None` for arrays).
    ///
    /// ```
    /// let text = npz_stream::Content::NotArray { what: "text" };
    /// assert_eq!(text.reason().unwrap(), "not an NPY array (text)");
    /// ```
    pub fn reason(&self) -> Option<String> {
        match self {
            Content::Array(_) => None,
            Content::Directory => Some("a directory entry".to_owned()),
            Content::NotArray { what } => Some(format!("not an NPY array ({what})")),
            Content::Unsupported { reason } => Some(reason.clone()),
            Content::Unreadable(e) => Some(match e.kind() {
                // Without the member's name, which the entry carries.
                ReadErrorKind::Header { source, .. } => source.to_string(),
                kind => kind.to_string(),
            }),
        }
    }
}

/// One member of an archive as [`NpzReader::list`] describes it: its names, method, sizes and
/// what it holds.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.npz");
/// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
/// npz.add_array("x", &[1u8, 2], &[2]).unwrap();
/// npz.add_file("notes.txt", b"hello").unwrap();
/// npz.finish().unwrap();
/// let entries = npz_stream::NpzReader::open(&path).unwrap().list();
/// assert_eq!(entries[0].content.array().unwrap().header.shape, vec![2]);
/// assert_eq!((entries[1].key.as_str(), entries[1].content.kind()), ("notes.txt", "bytes"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct MemberEntry {
    /// The key numpy's `NpzFile` lists for it (the name without one trailing `.npy`).
    pub key: String,
    /// The member's name in the archive.
    pub name: String,
    /// Its compression method.
    pub method: Method,
    /// Bytes of the member in the archive.
    pub compressed_size: u64,
    /// Uncompressed bytes, as declared in the directory.
    pub size: u64,
    /// CRC-32 from the central directory.
    pub crc32: u32,
    /// What it holds.
    pub content: Content,
}

impl NpzReader {
    /// Every member in archive order (a name listed twice once, the last entry, as
    /// [`keys`](Self::keys)), each with what it holds: an array's header, or why it is not a
    /// readable array. Never fails as a whole: members are described one by one (reading each
    /// one's local header and first bytes: from object storage, the first bytes of up to 256
    /// members in one call of [`ByteSource::read_ranges`]).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// npz.add_file("meta.json", b"{\"run\": 7}").unwrap();
    /// npz.finish().unwrap();
    /// let entries = npz_stream::NpzReader::open(&path).unwrap().list();
    /// assert!(matches!(entries[0].content, npz_stream::Content::NotArray { what: "JSON text" }));
    /// ```
    pub fn list(&self) -> Vec<MemberEntry> {
        let live: Vec<usize> = self.live_entries().map(|(i, _)| i).collect();
        let mut entries = Vec::with_capacity(live.len());
        for batch in live.chunks(HEADS_PER_REQUEST) {
            let heads = self.fetch_heads(batch);
            for (&i, head) in batch.iter().zip(heads) {
                entries.push(self.describe_with(i, Ok(head)));
            }
        }
        entries
    }

    /// What member `key` is ([`list`](Self::list) for one member), looked up as numpy looks
    /// keys up: the exact member name first, then `KEY.npy`.
    ///
    /// # Errors
    /// [`ReadErrorKind::NoSuchMember`] only: problems of the member itself are its
    /// [`Content`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("a.npz");
    /// let mut npz = npz_stream::NpzWriter::create(&path).unwrap();
    /// npz.add_array("x", &[1u8], &[1]).unwrap();
    /// npz.finish().unwrap();
    /// let reader = npz_stream::NpzReader::open(&path).unwrap();
    /// assert_eq!(reader.describe("x").unwrap().name, "x.npy");
    /// assert!(reader.describe("y").is_err());
    /// ```
    pub fn describe(&self, key: &str) -> Result<MemberEntry, ReadError> {
        let idx = self.index_of(key)?;
        Ok(self.describe_with(idx, self.fetch_head(idx, false)))
    }

    /// [`describe`](Self::describe) of member `idx`, whose first bytes `head` holds if they
    /// were fetched (or failed to be).
    fn describe_with(&self, idx: usize, head: Result<Option<Head>, ReadError>) -> MemberEntry {
        let entry = self.entry(idx);
        MemberEntry {
            key: key_of(&entry.name).to_owned(),
            name: entry.name.clone(),
            method: self.method(idx),
            compressed_size: entry.compressed_size,
            size: entry.size,
            crc32: entry.crc32,
            content: self.content_at(idx, head),
        }
    }

    /// What member `idx` holds, by numpy's rule: an array if its first bytes are the NPY magic.
    fn content_at(&self, idx: usize, head: Result<Option<Head>, ReadError>) -> Content {
        let entry = self.entry(idx);
        if entry.name.ends_with('/') {
            return Content::Directory;
        }
        let head = match head {
            Ok(head) => head,
            Err(e) => return Content::Unreadable(e),
        };
        let data_start = match self.locate_in(idx, head.as_ref()) {
            Ok(start) => start,
            Err(e) => {
                return match e.kind() {
                    ReadErrorKind::Unsupported { reason, .. } => Content::Unsupported {
                        reason: reason.clone(),
                    },
                    _ => Content::Unreadable(e),
                };
            }
        };
        let mut first = vec![0u8; SNIFF.min(entry.size as usize)];
        let mut member = MemberReader::new(self, idx, data_start, false, head.clone());
        let mut filled = 0;
        while filled < first.len() {
            match member.read_inner(&mut first[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) => return Content::Unreadable(e),
            }
        }
        first.truncate(filled);
        if !first.starts_with(MAGIC) {
            return Content::NotArray {
                what: sniff(&first),
            };
        }
        let info = self.meta_with(idx, head).and_then(|_| self.info_at(idx));
        match info {
            Ok(info) => Content::Array(Box::new(info)),
            Err(e) => Content::Unreadable(e),
        }
    }
}

/// What the first bytes of a member that is not an array look like.
fn sniff(head: &[u8]) -> &'static str {
    if head.is_empty() {
        return "empty";
    }
    // Valid UTF-8 up to a character the cut at SNIFF bytes may have split.
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return "binary data",
    };
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return "binary data";
    }
    match text.trim_start().chars().next() {
        Some('{' | '[') => "JSON text",
        _ => "text",
    }
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b""), "empty");
        assert_eq!(sniff(b" {\"a\": 1}"), "JSON text");
        assert_eq!(sniff(b"hello\nworld\t"), "text");
        assert_eq!(sniff("caf\u{e9}".as_bytes()), "text");
        assert_eq!(sniff(&"caf\u{e9}".as_bytes()[..4]), "text");
        assert_eq!(sniff(b"\x80\x04\x95"), "binary data");
        assert_eq!(sniff(b"PK\x03\x04"), "binary data");
    }
}
