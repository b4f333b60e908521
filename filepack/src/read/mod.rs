//! Reading packs: [`Pack`], its entries, readers, directory listings and walks.

mod dir;
mod entry;
mod fetch;
mod file_reader;
mod lookup;
mod open;
mod query;
mod resolve;
mod verify;

pub use crate::kind::Kind;
pub use dir::{Entries, ReadDir, Walk};
pub(crate) use entry::system_time;
use entry::{Body, Found, verify_checksum};
pub use entry::{Entry, Metadata};
pub use file_reader::FileReader;
use open::Storage;
pub use open::{HEAD_BYTES, OpenOptions};
pub use verify::VerifySummary;

#[cfg(target_os = "linux")]
use array_files_fs::map::Advice;
use array_files_fs::map::{MapOptions, Mmap};
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, ErrorKind};
use crate::format::{
    self, ENTRY_LEN, HEADER_LEN, KIND_DIR, KIND_FILE, KIND_SYMLINK, NO_ENTRY, PackHeader, RawEntry,
    SLOT_LEN,
};
use crate::path::{self, cmp_paths, is_normalized, normalized};
use crate::prefetch::prefetch;
use npy_format::source::ByteSource;

/// An open pack: memory-mapped, immutable, `Send + Sync`; share it (`&Pack` or `Arc<Pack>`)
/// between any number of threads without a lock.
///
/// Every method validates what it reads against the pack's bounds: a corrupt pack gives
/// [`ErrorKind::Corrupt`], never a panic or a read outside the map.
///
/// **The file must not be truncated or rewritten in place while the `Pack` is open** (that
/// would change memory behind a `&[u8]`). Replacing it by renaming a new file over it is safe:
/// the open `Pack` keeps the old one.
///
/// **A mapped file that shrinks kills the process.** If another process truncates the pack
/// while it is mapped ([`Pack::open`], [`OpenOptions::open`]), reading a page past the new end
/// of the file raises `SIGBUS` (on Linux and the BSDs; the process dies unless it handles the
/// signal): no `Result` can report it. To be safe from that, open with
/// [`OpenOptions::read_into_memory`] (or [`Pack::from_vec`] of the file's bytes), which copies
/// the pack at open; or, as the `treepack` command does, handle `SIGBUS` by checking whether the
/// file (opened with [`OpenOptions::open_file`]) shrank and exiting with an error.
///
/// ```
/// use treepack::{Pack, PackBuilder};
/// # let dir = tempfile::tempdir().unwrap();
/// # let src = dir.path().join("src");
/// # std::fs::create_dir_all(src.join("images")).unwrap();
/// # std::fs::write(src.join("images/0.png"), b"\x89PNG...").unwrap();
/// # std::fs::write(src.join("labels.txt"), "cat\n").unwrap();
/// # let out = dir.path().join("data.fpack");
/// PackBuilder::new().pack_dir(&src, &out).unwrap();
/// let pack = Pack::open(&out).unwrap();
/// assert_eq!(pack.bytes("images/0.png").unwrap(), b"\x89PNG...");
/// assert_eq!(pack.read_to_string("./labels.txt").unwrap(), "cat\n");
/// assert_eq!(pack.listdir("").unwrap(), ["images", "labels.txt"]);
/// assert!(pack.is_dir("images") && !pack.exists("images/1.png"));
/// ```
pub struct Pack {
    storage: Storage,
    header: PackHeader,
    verify_reads: bool,
    path: Option<PathBuf>,
}

impl fmt::Debug for Pack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pack")
            .field("path", &self.path)
            .field("entry_count", &self.header.entry_count)
            .field("file_len", &self.header.file_len)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn pack_is_send_sync() {
        assert_send_sync::<Pack>();
        assert_send_sync::<Entry<'_>>();
    }

    #[test]
    fn system_times() {
        assert_eq!(system_time(0, 0), UNIX_EPOCH);
        assert!(system_time(-10, 5) < UNIX_EPOCH);
        assert!(system_time(10, 5) > UNIX_EPOCH);
        let _ = system_time(i64::MIN, 999_999_999);
        let _ = system_time(i64::MAX, 999_999_999);
    }
}
