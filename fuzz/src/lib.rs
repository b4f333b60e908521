//! Helpers shared by the fuzz targets in `fuzz_targets/`: a scratch directory for the targets
//! whose APIs read files, frame ranges to try, typed views of every element kind, and the
//! varpack walk both varpack targets use.
//!
//! Every library call made here must return `Ok` or a typed error on any input: a panic, an
//! abort, a hang or a huge allocation is a bug in the library (libFuzzer reports the last two
//! through `-timeout`, `-rss_limit_mb` and `-malloc_limit_mb`, which `cargo xtask fuzz` sets).
//! Reads are never capped here: inputs are a few KiB, so a legitimate read needs a few MiB at
//! most (deflate's 1032:1 included), and an allocation past the limit is the library trusting a
//! size it read. The `assert!`s are invariants every input must keep: what we print we can
//! parse, a walk of `n` entries yields at most `n`, and two ways of reading the same bytes agree.
//!
//! # The `varpack_dir` input format
//!
//! A directory pack is several files, so its input is a manifest followed by files:
//!
//! ```text
//! MANIFEST-BYTES ( "\n@@file " NAME "\n" FILE-BYTES )*
//! ```
//!
//! The manifest becomes `varpack.json`; each `NAME` (kept only if it is a plain file name:
//! ASCII letters, digits, `.`, `_`, `-`, `~`, not starting with `.`) becomes a file beside it.
//! `cargo xtask fuzz --seeds` writes real saved packs in this form (see [`FILE_MARK`]).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use npy_format::{Element, FrameSource, Header, TypedView};

/// The separator before each file of a `varpack_dir` input: `\n@@file NAME\n`.
pub const FILE_MARK: &[u8] = b"\n@@file ";

/// A directory for the files this process writes: `$ARRAY_FILES_FUZZ_SCRATCH` (which
/// `cargo xtask fuzz` points into its target directory and removes afterwards), else a
/// per-process directory in the system's temporary directory.
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = std::env::var_os("ARRAY_FILES_FUZZ_SCRATCH")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let dir = base.join(format!("array-files-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("creating the fuzz scratch directory");
        dir
    })
}

/// Writes `data` to `name` in the scratch directory and returns its path.
pub fn scratch_file(name: &str, data: &[u8]) -> PathBuf {
    let path = scratch_dir().join(name);
    std::fs::write(&path, data).expect("writing a fuzz scratch file");
    path
}

/// Frame ranges worth trying on a source of `count` frames: empty, first, last, all, past the
/// end, reversed, overflowing.
pub fn ranges(count: u64) -> [(u64, u64); 9] {
    let last = count.saturating_sub(1);
    let mid = count / 2;
    [
        (0, 0),
        (0, count.min(1)),
        (last, count),
        (0, count),
        (mid, mid.saturating_add(2)),
        (count, count.saturating_add(1)),
        (1, 0),
        (u64::MAX - 1, u64::MAX),
        (count, u64::MAX),
    ]
}

/// Reads every range of [`ranges`] through the [`FrameSource`] methods. With `data`, the
/// array's data as read another way, every range read must match it.
pub fn exercise_frames<S: FrameSource>(source: &mut S, data: Option<&[u8]>) {
    let count = source.frame_count();
    let frame_len = source.frame_len();
    let _ = source.header().frame_shape();
    for (start, end) in ranges(count) {
        if let Ok(bytes) = source.read_frames(start, end) {
            assert_eq!(
                bytes.len() as u64,
                (end - start) * frame_len,
                "read_frames({start}, {end}) returned the wrong length"
            );
            if let Some(data) = data {
                let at = (start * frame_len) as usize;
                assert!(
                    data.get(at..at + bytes.len()) == Some(&bytes[..]),
                    "read_frames({start}, {end}) disagrees with the whole data"
                );
            }
        }
    }
    // A buffer that is not a whole number of frames, and one frame past the end.
    if frame_len > 1 && frame_len <= 4096 {
        let mut buf = vec![0u8; frame_len as usize + 1];
        let _ = source.read_frames_into(0, &mut buf);
        let mut buf = vec![0u8; frame_len as usize];
        let _ = source.read_frames_into(count, &mut buf);
    }
}

fn exercise_view_of<T: Element>(header: &Header, bytes: &[u8]) {
    let Ok(view) = TypedView::<T>::new(header, bytes) else {
        return;
    };
    let _ = view.as_slice().len();
    let shape = view.shape().to_vec();
    let _ = view.is_fortran();
    let _ = view.strides();
    let zeros = vec![0u64; shape.len()];
    let _ = view.get(&zeros);
    let last: Vec<u64> = shape.iter().map(|d| d.saturating_sub(1)).collect();
    let _ = view.get(&last);
    let past: Vec<u64> = shape.to_vec();
    let _ = view.get(&past);
    let _ = view.get(&[0; 70]);
    let _ = view.to_ndarray();
    let _ = npy_format::to_vec::<T>(header, bytes);
}

/// Views `bytes` (an array's data) as every element type the crates support.
pub fn exercise_views(header: &Header, bytes: &[u8]) {
    exercise_view_of::<u8>(header, bytes);
    exercise_view_of::<i16>(header, bytes);
    exercise_view_of::<u32>(header, bytes);
    exercise_view_of::<i64>(header, bytes);
    exercise_view_of::<f32>(header, bytes);
    exercise_view_of::<f64>(header, bytes);
    exercise_view_of::<bool>(header, bytes);
    exercise_view_of::<[u8; 3]>(header, bytes);
    exercise_view_of::<[u8; 16]>(header, bytes);
    exercise_view_of::<half::f16>(header, bytes);
    exercise_view_of::<num_complex::Complex<f32>>(header, bytes);
    exercise_view_of::<num_complex::Complex<f64>>(header, bytes);
}

/// Pure functions of a header: sizes, strides, the text it prints and a re-parse of it.
pub fn exercise_header(header: &Header) {
    let _ = header.growth_axis();
    let count = header.frame_count();
    let _ = header.frame_shape();
    let _ = header.element_count();
    let _ = header.data_len();
    let _ = header.frame_len();
    let _ = header.strides();
    let _ = header.dict_text();
    let _ = header.version();
    for n in [0, 1, count.saturating_add(1), u64::MAX] {
        let _ = header.with_frame_count(n).data_len();
    }
    if let Ok(bytes) = header.to_bytes() {
        let options = npy_format::ReadOptions::default().max_header_size(usize::MAX);
        let reparsed = Header::read_from(&mut bytes.as_slice(), options)
            .unwrap_or_else(|e| panic!("a header we print does not parse back: {e}"));
        let h = &reparsed.header;
        assert_eq!(h.dtype.descr(), header.dtype.descr(), "descr changed");
        assert_eq!(h.shape, header.shape, "shape changed");
        assert_eq!(h.fortran_order, header.fortran_order, "order changed");
        assert_eq!(reparsed.data_offset, bytes.len() as u64, "data offset");
        let len = bytes.len();
        let _ = header.to_bytes_in_place(reparsed.version, len);
        let _ = header.to_bytes_in_place(npy_format::Version::V1, 64);
    }
}

/// A `varpack_dir` input split into `(file name, bytes)`, the manifest first (see the crate
/// docs for the format). Names that are not plain file names are dropped.
pub fn split_files(data: &[u8]) -> Vec<(String, &[u8])> {
    let mut files = Vec::new();
    let mut rest = data;
    let mut name = varpack::MANIFEST.to_owned();
    loop {
        let Some(at) = find(rest, FILE_MARK) else {
            files.push((name, rest));
            break;
        };
        files.push((name, &rest[..at]));
        let after = &rest[at + FILE_MARK.len()..];
        let end = after
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(after.len());
        name = String::from_utf8_lossy(&after[..end]).into_owned();
        rest = after.get(end + 1..).unwrap_or_default();
        if files.len() >= 32 {
            break;
        }
    }
    files.retain(|(name, _)| plain_name(name));
    files
}

fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-~".contains(&b))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Loads the pack at `path` every way varpack offers and reads every value of it.
pub fn exercise_varpack(path: &Path) {
    use varpack::{LoadOptions, MapMode, Varpack};
    let _ = varpack::inspect(path).map(|vp| format!("{vp}"));
    let eager = Varpack::load(path);
    if let Ok(mut vp) = LoadOptions::new().lazy(true).load(path) {
        exercise_values(&vp);
        if vp.load_all().is_ok()
            && let Ok(eager) = &eager
        {
            // A lazy load then load_all reads what an eager load reads.
            assert_eq!(
                vp.names(),
                eager.names(),
                "lazy and eager loads list other names"
            );
            for name in vp.names() {
                if let (Ok(a), Ok(b)) = (vp.array(name), eager.array(name)) {
                    assert_eq!(a.header(), b.header(), "lazy and eager headers differ");
                    assert_eq!(a.as_bytes(), b.as_bytes(), "lazy and eager data differ");
                }
            }
        }
        exercise_values(&vp);
    }
    if let Ok(vp) = &eager {
        exercise_values(vp);
    }
    if let Ok(mut vp) = LoadOptions::new().map_mode(MapMode::CopyOnWrite).load(path) {
        exercise_values(&vp);
        let _ = vp.detach();
        let _ = format!("{vp}");
    }
}

fn exercise_values(vp: &varpack::Varpack) {
    let _ = vp.infos();
    for name in vp.names() {
        let _ = vp.kind(name);
        let _ = vp.status(name);
        let _ = vp.get(name);
        if let Ok(array) = vp.array(name) {
            exercise_array(array);
        }
        if let Ok(dict) = vp.dict(name) {
            for (key, item) in dict {
                let _ = item.kind();
                if let Some(array) = item.as_array() {
                    exercise_array(array);
                }
                let _ = vp.dict_array(name, key);
                let _ = vp.dict_value::<serde_json::Value>(name, key);
            }
        }
        let _ = vp.json(name);
        let _ = vp.get_value::<serde_json::Value>(name);
    }
}

fn exercise_array(array: &varpack::Array) {
    let _ = array.dtype().descr();
    let _ = array.shape();
    let _ = array.status();
    exercise_views(array.header(), array.as_bytes());
    let _ = array.view::<u8>();
    let _ = array.view::<f64>();
}

/// The shapes [`structured_pack`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackShape {
    /// A chain of directories `depth` deep with `fanout` files at the bottom, and `width` files
    /// at the root, all through `PackWriter` (which refuses paths deeper than `MAX_DEPTH`).
    Chain,
    /// One file whose path is `depth` directories deep, with the root as its parent: what no
    /// writer makes but a hostile pack holds (a name of the same length is written, then the
    /// string table is patched and the checksums are fixed).
    Patched,
}

/// A pack built from a few bytes of fuzz input, reaching depths and widths that arbitrary bytes
/// of a few KiB never do: the first bytes choose the shape, the depth (up to 6,000 for a chain,
/// 30,000 for a patched path: past `MAX_DEPTH` either way), the fan-out, the width (up to 1,024
/// siblings) and the length of names (1 to 200 bytes); the rest become file contents. `None`
/// when the writer refuses the tree (which must then be for its depth).
pub fn structured_pack(data: &[u8]) -> Option<(PackShape, usize, Vec<u8>)> {
    use treepack::{BuildError, EntryMeta, PackWriter};
    let byte = |i: usize| data.get(i).copied().unwrap_or(0);
    let shape = if byte(0) & 1 == 0 {
        PackShape::Chain
    } else {
        PackShape::Patched
    };
    // A patched path costs two bytes a level: up to 30,000 levels (the issue's pack had 25,000);
    // a chain is built by the writer, which stops at MAX_DEPTH.
    let levels = if shape == PackShape::Chain {
        6001
    } else {
        30_001
    };
    let depth = usize::from(u16::from_le_bytes([byte(1), byte(2)])) % levels;
    let fanout = usize::from(byte(3)) % 16;
    let width = usize::from(u16::from_le_bytes([byte(4), byte(5)])) % 1025;
    // At most 64 KiB per path, so that a deep chain stays quick to build, verify and hash.
    let name_len = (usize::from(byte(6)) % 200 + 1).min((65_536 / (depth + 1)).max(1));
    let contents = data.get(7..).unwrap_or_default();
    let name = |i: usize| {
        let mut s = format!("{i:x}_");
        while s.len() < name_len {
            s.push(char::from(b'a' + (i % 26) as u8));
        }
        s
    };
    let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).ok()?;
    match shape {
        PackShape::Chain => {
            let dir: Vec<String> = (0..depth).map(name).collect();
            let dir = dir.join("/");
            let result = (|| {
                for f in 0..fanout {
                    let path = if dir.is_empty() {
                        format!("f{f}")
                    } else {
                        format!("{dir}/f{f}")
                    };
                    w.add_bytes(&path, contents, EntryMeta::file())?;
                }
                if fanout == 0 && !dir.is_empty() {
                    w.add_dir(&dir, EntryMeta::dir())?;
                }
                for i in 0..width {
                    let data = &contents[..contents.len().min(i)];
                    w.add_bytes(&format!("w{}", name(i)), data, EntryMeta::file())?;
                }
                Ok::<(), BuildError>(())
            })();
            if let Err(e) = result {
                assert!(
                    matches!(e, BuildError::TooDeep { .. }),
                    "the writer refused a tree for another reason: {e}"
                );
                assert!(depth + 1 > treepack::format::MAX_DEPTH);
                return None;
            }
            let bytes = w.finish().ok()?.0.into_inner();
            // The deepest entry's components: the files below the chain, or its last directory.
            let deepest = (depth + usize::from(fanout > 0)).max(usize::from(width > 0));
            Some((shape, deepest, bytes))
        }
        PackShape::Patched => {
            let deep = format!("{}f", "a/".repeat(depth));
            w.add_bytes(&"x".repeat(deep.len()), contents, EntryMeta::file())
                .ok()?;
            let mut bytes = w.finish().ok()?.0.into_inner();
            let u64_at = |b: &[u8], off: usize| {
                u64::from_le_bytes(b[off..off + 8].try_into().expect("8 bytes"))
            };
            // The root's path is empty: the file's path starts the string table.
            let strings = usize::try_from(u64_at(&bytes, 64)).ok()?;
            bytes[strings..strings + deep.len()].copy_from_slice(deep.as_bytes());
            let tables = usize::try_from(u64_at(&bytes, 56)).ok()?;
            let sum = treepack::format::checksum(&bytes[tables..]);
            bytes[112..120].copy_from_slice(&sum.to_le_bytes());
            let sum = treepack::format::checksum(&bytes[..120]);
            bytes[120..128].copy_from_slice(&sum.to_le_bytes());
            let sum = treepack::format::checksum(&bytes[..136]);
            bytes[136..144].copy_from_slice(&sum.to_le_bytes());
            Some((shape, depth + 1, bytes))
        }
    }
}

/// Walks, verifies and extracts (into the scratch directory) a pack from
/// [`structured_pack`], whose deepest entry has `depth` components: every reader must refuse
/// an entry deeper than `MAX_DEPTH` with `TooDeep` (never overflow the stack), and accept the
/// others.
pub fn exercise_structured_pack(shape: PackShape, depth: usize, bytes: Vec<u8>) {
    use treepack::{ErrorKind, ExtractError, Pack, ResultKind};
    let too_deep = depth > treepack::format::MAX_DEPTH;
    let pack = Pack::from_vec(bytes).expect("a written pack opens");
    let n = pack.entry_count();
    let walked: Vec<_> = pack
        .walk("")
        .expect("the root walks")
        .take(n as usize + 2)
        .collect();
    assert!(walked.len() as u64 <= n, "a walk repeats");
    let walk_refused = walked
        .iter()
        .any(|e| matches!(e.err_kind(), Some(ErrorKind::TooDeep { .. })));
    assert_eq!(walk_refused, too_deep, "walk and MAX_DEPTH disagree");
    match pack.verify() {
        Ok(_) => assert!(
            !too_deep && shape == PackShape::Chain,
            "a hostile pack verifies"
        ),
        Err(e) => assert!(
            shape == PackShape::Patched,
            "a pack the writer made fails verify: {e}"
        ),
    }
    let _ = pack.bytes_many(&["", "f0", "a/a/f"]);
    // Creating a chain of directories costs O(depth^2) in path lookups: past 1,024 levels only
    // the refusal of an entry deeper than MAX_DEPTH (which writes nothing) is tried.
    if depth > 1024 && !too_deep {
        return;
    }
    let dest = scratch_dir().join("extract");
    let _ = std::fs::remove_dir_all(&dest);
    match pack.extract(&dest) {
        Err(ExtractError::Pack(e)) if matches!(e.kind(), ErrorKind::TooDeep { .. }) => {
            assert!(too_deep)
        }
        // Deep chains pass the operating system's path length limit: an I/O error.
        Err(ExtractError::Io { .. }) | Ok(_) => assert!(!too_deep),
        Err(e) => panic!("extract: {e}"),
    }
    let _ = std::fs::remove_dir_all(&dest);
}
