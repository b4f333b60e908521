//! Disk blocks reserved ahead of a growing file's end, so that appends write into blocks the
//! file system has already allocated.
//!
//! On ext4 (and other file systems with delayed allocation), every write that extends a file
//! pays for reserving its blocks page by page; writes into blocks allocated beforehand with
//! `fallocate(FALLOC_FL_KEEP_SIZE)` skip that and run about a quarter faster. `KEEP_SIZE` leaves
//! the file's length and contents alone: readers, a crash, or a refused append see exactly what
//! they would without the reservation, and the blocks past the end are freed when the file is
//! cut to its length ([`Reservation::release`]).
//!
//! The reservation is a hint: where it is not supported (other systems, file systems without
//! `fallocate`), would cost memory (tmpfs) or fails (a nearly full disk), it turns itself off
//! and writes go on as before; a real lack of space then surfaces from the write itself.

use std::fs::File;

/// Files shorter than this get no reservation: they gain nothing measurable from one.
const MIN_LEN: u64 = 1 << 20;

/// The most reserved past the end at once. A file reserves as much again as it holds, up to
/// this, so a small file never holds more than its own size in spare blocks, and a crash
/// leaves at most this much allocated past the end.
const MAX_AHEAD: u64 = 64 << 20;

/// The blocks reserved past the end of one file that one writer grows.
///
/// ```
/// use std::io::Write;
/// use array_files_fs::reserve::Reservation;
/// # let dir = tempfile::tempdir()?;
/// let mut file = std::fs::File::create(dir.path().join("grows.bin"))?;
/// let mut reservation = Reservation::new(0);
/// let chunk = vec![7u8; 1 << 20];
/// for i in 0..4u64 {
///     reservation.before_write(&file, (i + 1) << 20);
///     file.write_all(&chunk)?;
/// }
/// // The reservation never shows in the length, and releasing it frees the spare blocks.
/// assert_eq!(file.metadata()?.len(), 4 << 20);
/// reservation.release(&file, 4 << 20)?;
/// assert_eq!(file.metadata()?.len(), 4 << 20);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Reservation {
    /// Blocks are reserved (or written) up to this offset.
    reserved_to: u64,
    /// Whether any block past the file's length may be reserved (a release is then due).
    beyond_len: bool,
    /// Off after the first failure, and where `fallocate` does not exist.
    enabled: bool,
}

impl Reservation {
    /// A reservation for a file now `len` bytes long, with nothing reserved yet.
    pub fn new(len: u64) -> Reservation {
        Reservation {
            reserved_to: len,
            beyond_len: false,
            enabled: cfg!(target_os = "linux"),
        }
    }

    /// A reservation for `file`, now `len` bytes long, that already holds blocks past its end:
    /// a writer killed before it released its reservation leaves them (up to 64 MiB, or the
    /// file's size). They are then released with the next ones, when this writer finishes.
    ///
    /// ```
    /// use array_files_fs::reserve::Reservation;
    /// # let dir = tempfile::tempdir()?;
    /// let file = std::fs::File::create(dir.path().join("f.bin"))?;
    /// let mut reservation = Reservation::for_file(&file, 0);
    /// reservation.release(&file, 0)?; // nothing to release: this changes nothing
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn for_file(file: &File, len: u64) -> Reservation {
        Reservation {
            beyond_len: has_spare_blocks(file, len),
            ..Reservation::new(len)
        }
    }

    /// A reservation that never reserves (for writers asked not to, or files that are not
    /// regular local files).
    pub fn disabled(len: u64) -> Reservation {
        Reservation {
            enabled: false,
            ..Reservation::new(len)
        }
    }

    /// Called before a write that makes the file `end` bytes long: when `end` passes the
    /// reserved blocks, reserves up to `end` and as much again (at most 64 MiB) beyond it.
    /// Errors are not returned: the first one turns the reservation off.
    pub fn before_write(&mut self, file: &File, end: u64) {
        if !self.enabled || end <= self.reserved_to || end < MIN_LEN {
            return;
        }
        let to = end.saturating_add(end.min(MAX_AHEAD));
        self.beyond_len = true;
        if reserve(file, self.reserved_to, to - self.reserved_to) {
            self.reserved_to = to;
        } else {
            self.enabled = false;
        }
    }

    /// Records that the file was cut to `len` bytes (which frees every block past it).
    pub fn truncated(&mut self, len: u64) {
        self.reserved_to = len;
        self.beyond_len = false;
    }

    /// Frees the blocks reserved past `len`, the file's length, by cutting the file to the
    /// length it has (which changes nothing else). Does nothing if none may be reserved.
    ///
    /// # Errors
    /// I/O errors from `set_len`; the file is unchanged then, spare blocks included.
    pub fn release(&mut self, file: &File, len: u64) -> std::io::Result<()> {
        if self.beyond_len {
            file.set_len(len)?;
            self.truncated(len);
        }
        Ok(())
    }
}

/// Frees the blocks allocated past the end of `file`, `len` bytes long, if there are more than
/// a few of them (as a writer killed with its reservation held leaves). Returns whether it cut
/// the file; that changes nothing but the blocks it holds (and its modification time).
///
/// # Errors
/// I/O errors from `set_len`; the file is unchanged then.
///
/// ```
/// use array_files_fs::reserve::release_spare;
/// # let dir = tempfile::tempdir()?;
/// let file = std::fs::File::create(dir.path().join("f.bin"))?;
/// assert!(!release_spare(&file, 0)?); // a file with no spare blocks is left alone
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn release_spare(file: &File, len: u64) -> std::io::Result<bool> {
    if !has_spare_blocks(file, len) {
        return Ok(false);
    }
    file.set_len(len)?;
    Ok(true)
}

/// Whether `file`, `len` bytes long, holds over a MiB of blocks past what its length needs. The
/// slack keeps file-system bookkeeping (extent blocks of a fragmented file, allocation units
/// larger than a block) from counting as spare.
#[cfg(unix)]
fn has_spare_blocks(file: &File, len: u64) -> bool {
    use std::os::unix::fs::MetadataExt;
    const SLACK: u64 = 1 << 20;
    file.metadata()
        .is_ok_and(|meta| meta.blocks().saturating_mul(512) > len.saturating_add(SLACK))
}

#[cfg(not(unix))]
fn has_spare_blocks(_file: &File, _len: u64) -> bool {
    false
}

/// Allocates `len` bytes of blocks at `offset` without changing the file's length; whether it
/// did.
#[cfg(target_os = "linux")]
fn reserve(file: &File, offset: u64, len: u64) -> bool {
    use rustix::fs::{FallocateFlags, fallocate, fstatfs};
    // tmpfs (`/dev/shm`, often `/tmp`) reserves in memory: nothing to gain, memory to lose.
    const TMPFS_MAGIC: i128 = 0x0102_1994;
    if fstatfs(file).is_ok_and(|fs| i128::from(fs.f_type) == TMPFS_MAGIC) {
        return false;
    }
    fallocate(file, FallocateFlags::KEEP_SIZE, offset, len).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn reserve(_file: &File, _offset: u64, _len: u64) -> bool {
    false
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileExt, MetadataExt};

    fn allocated(file: &File) -> u64 {
        file.metadata().unwrap().blocks() * 512
    }

    #[test]
    fn reserves_ahead_without_changing_the_length_and_release_frees_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("f")).unwrap();
        let mut reservation = Reservation::new(0);
        let chunk = vec![1u8; 1 << 20];
        reservation.before_write(&file, 2 << 20);
        file.write_all_at(&chunk, 0).unwrap();
        file.write_all_at(&chunk, 1 << 20).unwrap();
        assert_eq!(file.metadata().unwrap().len(), 2 << 20);
        if !reservation.enabled {
            return; // a file system without fallocate: nothing to check
        }
        // 2 MiB written, 2 MiB more reserved past the end.
        assert!(allocated(&file) >= 4 << 20, "{}", allocated(&file));
        reservation.release(&file, 2 << 20).unwrap();
        assert_eq!(file.metadata().unwrap().len(), 2 << 20);
        assert!(allocated(&file) < 3 << 20, "{}", allocated(&file));
        assert_eq!(
            std::fs::read(dir.path().join("f")).unwrap(),
            [chunk.clone(), chunk].concat()
        );
    }

    #[test]
    fn spare_blocks_left_by_a_killed_writer_are_found_and_released() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("f")).unwrap();
        let mut killed = Reservation::new(0);
        killed.before_write(&file, 2 << 20);
        file.write_all_at(&vec![1u8; 2 << 20], 0).unwrap();
        if !killed.enabled {
            return; // a file system without fallocate: nothing to check
        }
        // The writer is gone without releasing; the next one finds the blocks.
        assert!(Reservation::for_file(&file, 2 << 20).beyond_len);
        assert!(release_spare(&file, 2 << 20).unwrap());
        assert!(allocated(&file) < 3 << 20, "{}", allocated(&file));
        assert!(!Reservation::for_file(&file, 2 << 20).beyond_len);
        assert!(!release_spare(&file, 2 << 20).unwrap());
        assert_eq!(file.metadata().unwrap().len(), 2 << 20);
    }

    #[test]
    fn small_files_and_disabled_reservations_reserve_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("f")).unwrap();
        let mut small = Reservation::new(0);
        small.before_write(&file, 4096);
        let mut off = Reservation::disabled(0);
        off.before_write(&file, 8 << 20);
        assert_eq!(allocated(&file), 0);
        assert!(!small.beyond_len && !off.beyond_len);
    }

    #[test]
    fn tmpfs_is_never_reserved() {
        let Ok(dir) = tempfile::tempdir_in("/dev/shm") else {
            return; // no /dev/shm here
        };
        let file = File::create(dir.path().join("f")).unwrap();
        let tmpfs = rustix::fs::fstatfs(&file).is_ok_and(|fs| i128::from(fs.f_type) == 0x0102_1994);
        if !tmpfs {
            return;
        }
        let mut reservation = Reservation::new(0);
        reservation.before_write(&file, 8 << 20);
        assert!(!reservation.enabled);
        assert_eq!(allocated(&file), 0);
    }

    #[test]
    fn ahead_is_capped() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("f")).unwrap();
        let mut reservation = Reservation::new(0);
        reservation.before_write(&file, 65 << 20);
        if reservation.enabled {
            assert_eq!(reservation.reserved_to, (65 << 20) + MAX_AHEAD);
        }
        // Only KEEP_SIZE blocks: the length is untouched; release gives them back.
        assert_eq!(file.metadata().unwrap().len(), 0);
        reservation.release(&file, 0).unwrap();
        assert_eq!(allocated(&file), 0);
    }
}
