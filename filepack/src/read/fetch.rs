//! Reading contents wherever they are: borrowed from the map, or fetched by ranges from a pack
//! opened through a source (object storage), one request per file or one coalesced call per
//! batch.

use std::borrow::Cow;
use std::ops::Range;

use super::*;

impl Pack {
    /// The contents of the file at `path` (following symlinks): borrowed from the map when the
    /// pack is here ([`Pack::bytes`]), fetched by one ranged read from a pack opened through a
    /// source ([`OpenOptions::open_source`]).
    ///
    /// # Errors
    /// As [`Pack::bytes`]; [`ErrorKind::Io`] from the source.
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("f", b"xyz", EntryMeta::file()).unwrap();
    /// let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// assert_eq!(&*pack.read("f").unwrap(), b"xyz");
    /// ```
    pub fn read(&self, path: &str) -> Result<Cow<'_, [u8]>, Error> {
        if self.is_local() {
            return self.bytes(path).map(Cow::Borrowed);
        }
        self.at_pack(self.resolved_file(path))?.0.read()
    }

    /// The contents of each of `paths`, as [`Pack::read`] gives them, in order: borrowed from
    /// the map when the pack is here ([`Pack::bytes_many`]); from a pack opened through a
    /// source, every file found is fetched by one `read_ranges` call, which an object store
    /// answers with one request per group of nearby files, run concurrently.
    ///
    /// ```
    /// # use treepack::{EntryMeta, Pack, PackWriter};
    /// # let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    /// # w.add_bytes("a", b"1", EntryMeta::file()).unwrap();
    /// # w.add_bytes("b", b"22", EntryMeta::file()).unwrap();
    /// let pack = Pack::from_vec(w.finish().unwrap().0.into_inner()).unwrap();
    /// let got = pack.read_many(&["b", "missing", "a"]);
    /// assert_eq!(got[0].as_deref().unwrap(), b"22");
    /// assert!(got[1].is_err());
    /// ```
    pub fn read_many<S: AsRef<str>>(&self, paths: &[S]) -> Vec<Result<Cow<'_, [u8]>, Error>> {
        let Some(source) = self.storage.source() else {
            let got = self.bytes_many(paths);
            return got.into_iter().map(|r| r.map(Cow::Borrowed)).collect();
        };
        let entries: Vec<Result<(Entry<'_>, Range<u64>), Error>> = paths
            .iter()
            .map(|path| self.at_pack(self.resolved_file(path.as_ref())))
            .collect();
        let ranges: Vec<Range<u64>> = entries.iter().flatten().map(|(_, r)| r.clone()).collect();
        let mut fetched = source.read_ranges(&ranges).map(Vec::into_iter);
        entries
            .into_iter()
            .map(|entry| {
                let (entry, range) = entry?;
                let data = match &mut fetched {
                    Ok(fetched) => fetched.next().unwrap_or_default(),
                    // One failed call fails every file of the batch, each with the cause.
                    Err(e) => {
                        let source = io::Error::new(e.kind(), e.to_string());
                        return Err(self.error(ErrorKind::Io { source }));
                    }
                };
                if data.len() as u64 != range.end - range.start {
                    // A source that answered short: an error, never shorter contents.
                    let source = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "{:?}: {} of {} bytes read",
                            entry.path(),
                            data.len(),
                            range.end - range.start
                        ),
                    );
                    return Err(self.error(ErrorKind::Io { source }));
                }
                if self.verify_reads {
                    self.at_pack(verify_checksum(entry.path(), &data, entry.checksum()))?;
                }
                Ok(Cow::Owned(data))
            })
            .collect()
    }

    /// The file entry `path` leads to (following symlinks) and where its contents are,
    /// without reading them.
    fn resolved_file(&self, path: &str) -> Result<(Entry<'_>, Range<u64>), ErrorKind> {
        let entry = self.resolve(path, true)?;
        match entry.body {
            Body::File { offset, len } => Ok((entry, offset..offset + len)),
            _ => Err(ErrorKind::NotAFile {
                path: path.to_owned(),
                kind: entry.kind(),
            }),
        }
    }
}
