//! Packs written by FilePacker: `LegacyPack` reads them, `convert_legacy` and
//! `treepack convert` turn them into packs of this crate's format. The old packs are written
//! byte by byte from FilePacker's documented layout (see `LegacyPack`'s docs).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use common::Rng;
use proptest::prelude::*;
use treepack::{
    ConvertError, ConvertOptions, LegacyErrorKind, LegacyPack, Pack, PackBuilder, ResultKind,
    convert_legacy,
};

/// A FilePacker pack of `files` (in this order) as FilePacker writes it: version 1, the count,
/// the base path padded to 256 characters then cut or NUL-padded to 256 bytes, every name
/// padded to 128 characters, the whole run encoded as UTF-8 and cut (or NUL-padded) to 128
/// bytes a file, the sizes, the data.
fn legacy_bytes(base: &str, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![1u8];
    out.extend((files.len() as u64).to_le_bytes());
    let mut base = format!("{base:256}").into_bytes();
    base.resize(256, 0);
    out.extend(base);
    let names: String = files
        .iter()
        .map(|(name, _)| format!("{name:128}"))
        .collect();
    let mut names = names.into_bytes();
    names.resize(128 * files.len(), 0);
    out.extend(names);
    for (_, data) in files {
        out.extend((data.len() as u64).to_le_bytes());
    }
    for (_, data) in files {
        out.extend(data);
    }
    out
}

/// How many bytes of padding the cut of the names block takes from the last name (the
/// overflow of its non-ASCII names); a test whose cut would eat into a name says so.
fn names_overflow(files: &[(String, Vec<u8>)]) -> usize {
    files.iter().map(|(n, _)| n.len() - n.chars().count()).sum()
}

fn files_of(list: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
    list.iter()
        .map(|(n, d)| ((*n).to_owned(), d.to_vec()))
        .collect()
}

fn write_legacy(dir: &Path, files: &[(String, Vec<u8>)]) -> std::path::PathBuf {
    let old = dir.join("old.fpack");
    fs::write(&old, legacy_bytes("/home/someone/dataset", files)).unwrap();
    old
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Every file of `pack` with its bytes, and every directory (the root as `""`).
fn contents(pack: &Pack) -> (BTreeMap<String, Vec<u8>>, BTreeSet<String>) {
    let mut files = BTreeMap::new();
    let mut dirs = BTreeSet::new();
    for entry in pack.walk("").unwrap() {
        let entry = entry.unwrap();
        if entry.is_dir() {
            dirs.insert(entry.path().to_owned());
        } else {
            let bytes = pack.bytes(entry.path()).unwrap().to_vec();
            files.insert(entry.path().to_owned(), bytes);
        }
    }
    (files, dirs)
}

/// The directories `files` are in, the root included.
fn dirs_of<'a>(files: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    let mut dirs = BTreeSet::from([String::new()]);
    for path in files {
        let mut at = 0;
        while let Some(slash) = path[at..].find('/') {
            dirs.insert(path[..at + slash].to_owned());
            at += slash + 1;
        }
    }
    dirs
}

/// Converts, then checks that the new pack holds exactly `files` (with their bytes) and the
/// directories they are in, and that the old pack reads the same.
fn convert_and_compare(dir: &Path, files: &[(String, Vec<u8>)]) {
    let old = write_legacy(dir, files);
    let new = dir.join("new.fpack");
    let legacy = LegacyPack::open(&old).unwrap();
    assert_eq!(legacy.len(), files.len());
    assert_eq!(legacy.base_path(), "/home/someone/dataset");
    let read: Vec<(String, Vec<u8>)> = legacy
        .entries()
        .map(|e| (e.path().to_owned(), e.bytes().to_vec()))
        .collect();
    assert_eq!(read, files, "the old pack reads back in its order");
    for (path, data) in files {
        assert_eq!(legacy.get(path), Some(&data[..]), "{path}");
    }

    let summary = ConvertOptions::new().convert(&old, &new).unwrap();
    assert_eq!(summary.files, files.len() as u64);
    let pack = Pack::open(&new).unwrap();
    pack.verify().unwrap();
    let (got_files, got_dirs) = contents(&pack);
    let want: BTreeMap<String, Vec<u8>> = files.iter().cloned().collect();
    assert_eq!(got_files, want);
    assert_eq!(got_dirs, dirs_of(want.keys().map(String::as_str)));
    assert_eq!(summary.dirs, got_dirs.len() as u64);
}

#[test]
fn a_few_hundred_files_in_nested_dirs_convert_with_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5eed);
    let mut files = Vec::new();
    for i in 0..400 {
        let depth = i % 5;
        let mut path: String = (0..depth)
            .map(|d| format!("d{d}_{}/", i % (d + 3)))
            .collect();
        // Few non-ASCII names: FilePacker cuts its names to 128 bytes a file, so their extra
        // bytes come out of the last name's padding.
        path.push_str(&match i % 50 {
            0 => format!("ünïcödé_{i}.txt"),
            1 => format!("日本語_{i}.bin"),
            _ => format!("file_{i}.dat"),
        });
        let len = match i % 9 {
            0 | 4 => 0, // empty files
            _ => rng.below(3000) as usize,
        };
        files.push((path, rng.bytes(len)));
    }
    // One large file (more than 1 MiB: streamed, not buffered) and one at the top.
    files.push(("big/blob.bin".to_owned(), rng.bytes(1_500_000)));
    files.push(("z.txt".to_owned(), b"last".to_vec()));
    assert!(
        names_overflow(&files) <= 128 - "z.txt".len(),
        "the cut would eat a name"
    );
    assert!(files.iter().filter(|(_, d)| d.is_empty()).count() > 50);
    convert_and_compare(dir.path(), &files);
}

#[test]
fn names_wider_than_their_bytes_shift_the_next_slots_as_filepacker_reads_them() {
    // 100 two-byte characters: the name's 128 characters take 228 bytes, so the next name
    // starts 100 bytes after its 128-byte slot, and the last name loses 100 bytes of padding.
    let files = files_of(&[(&"é".repeat(100), b"wide"), ("b/c", b"bc"), ("d", b"")]);
    let dir = tempfile::tempdir().unwrap();
    convert_and_compare(dir.path(), &files);
}

#[test]
fn filepacker_names_are_normalized_as_its_reader_does() {
    let dir = tempfile::tempdir().unwrap();
    let old = write_legacy(
        dir.path(),
        &files_of(&[("a//b/", b"1"), ("c \0", b"2"), ("tab\t", b"3")]),
    );
    let legacy = LegacyPack::open(&old).unwrap();
    let paths: Vec<&str> = legacy.entries().map(|e| e.path()).collect();
    // Empty components dropped, trailing spaces and NULs stripped, other whitespace kept.
    assert_eq!(paths, ["a/b", "c", "tab\t"]);
    assert_eq!(legacy.get("./a/b"), Some(&b"1"[..]));
    assert_eq!(legacy.get("a"), None);
    assert_eq!(legacy.get("../a/b"), None);
}

#[test]
fn an_empty_filepacker_pack_converts_to_the_root_alone() {
    let dir = tempfile::tempdir().unwrap();
    let old = write_legacy(dir.path(), &[]);
    let new = dir.path().join("new.fpack");
    let summary = convert_legacy(&old, &new).unwrap();
    assert_eq!((summary.entries, summary.files), (1, 0));
    assert!(Pack::open(&new).unwrap().listdir("").unwrap().is_empty());
}

/// Converting `bytes` fails with a kind `check` accepts, naming the old pack, and leaves
/// nothing in the directory but the old pack (no output, no temporary file).
fn refused(bytes: &[u8], check: impl Fn(&LegacyErrorKind) -> bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.fpack");
    fs::write(&old, bytes).unwrap();
    let err = convert_legacy(&old, dir.path().join("new.fpack")).unwrap_err();
    let ConvertError::Legacy(e) = &err else {
        panic!("not a Legacy error: {err:?}");
    };
    assert!(check(e.kind()), "unexpected kind: {:?}", e.kind());
    assert_eq!(e.path(), old);
    let message = err.to_string();
    assert!(message.starts_with(&old.display().to_string()), "{message}");
    assert_eq!(listing(dir.path()), ["old.fpack"]);
    // The reader alone says the same.
    assert!(check(LegacyPack::open(&old).err_kind().unwrap()));
    message
}

fn two_files() -> Vec<u8> {
    legacy_bytes("base", &files_of(&[("a.txt", b"hello"), ("s/b", b"abc")]))
}

#[test]
fn a_truncated_index_is_refused() {
    let bytes = two_files();
    // Cut in the sizes, then in the names.
    for cut in [265 + 256 + 4, 265 + 100] {
        let len = cut as u64;
        let message = refused(
            &bytes[..cut],
            |k| matches!(k, LegacyErrorKind::IndexPastEnd { count: 2, len: l } if *l == len),
        );
        assert!(message.contains("cut short"), "{message}");
    }
    // Shorter than the fixed header.
    refused(&bytes[..264], |k| {
        matches!(k, LegacyErrorKind::TooShort { len: 264 })
    });
}

#[test]
fn a_count_larger_than_the_file_is_refused_before_any_allocation() {
    for count in [3, 1 << 40, u64::MAX / 136 + 1, u64::MAX] {
        let mut bytes = two_files();
        bytes[1..9].copy_from_slice(&count.to_le_bytes());
        let message = refused(
            &bytes,
            |k| matches!(k, LegacyErrorKind::IndexPastEnd { count: c, .. } if *c == count),
        );
        assert!(
            message.contains(&format!("at byte 1: {count} files")),
            "{message}"
        );
    }
}

#[test]
fn a_size_running_past_the_end_is_refused() {
    let sizes_at = 265 + 256;
    for (size, offset) in [
        (9u64, 265 + 272),
        (u64::MAX, 265 + 272),
        (u64::MAX - 2, 265 + 272),
    ] {
        let mut bytes = two_files();
        bytes[sizes_at..sizes_at + 8].copy_from_slice(&size.to_le_bytes());
        refused(&bytes, |k| {
            matches!(k, LegacyErrorKind::DataPastEnd { index: 0, size: s, offset: o, path, .. }
                if *s == size && *o == offset && path == "a.txt")
        });
    }
    // The second file's data cut short.
    let bytes = two_files();
    refused(
        &bytes[..bytes.len() - 1],
        |k| matches!(k, LegacyErrorKind::DataPastEnd { index: 1, size: 3, path, .. } if path == "s/b"),
    );
}

#[test]
fn bytes_after_the_data_are_refused() {
    // What FilePacker writes when a file grows between its two passes.
    let mut bytes = two_files();
    let len = bytes.len() as u64;
    bytes.extend(b"grown");
    refused(
        &bytes,
        |k| matches!(k, LegacyErrorKind::TrailingData { data_end, len: l } if *data_end == len && *l == len + 5),
    );
}

#[test]
fn a_duplicate_path_is_refused() {
    let bytes = legacy_bytes("", &files_of(&[("x/y", b"1"), ("q", b""), ("x//y", b"2")]));
    refused(
        &bytes,
        |k| matches!(k, LegacyErrorKind::Duplicate { index: 2, first: 0, path } if path == "x/y"),
    );
}

#[test]
fn names_that_cannot_be_paths_are_refused() {
    for (name, reason) in [
        ("../x", "'..'"),
        ("a/../../x", "'..'"),
        ("/etc/passwd", "absolute"),
        ("./a", "'.'"),
        ("a\0b", "NUL"),
        ("", "empty"),
        ("///", "absolute"),
    ] {
        let bytes = legacy_bytes("", &files_of(&[("ok", b"1"), (name, b"2")]));
        let message = refused(
            &bytes,
            |k| matches!(k, LegacyErrorKind::InvalidName { index: 1, offset: 393, reason: r, .. } if r.contains(reason)),
        );
        assert!(message.contains("at byte 393"), "{message}");
    }
}

#[test]
fn a_path_that_is_a_file_and_a_directory_is_refused() {
    for (files, file, below) in [
        (&[("a", &b"1"[..]), ("a/b", b"2")][..], 0, 1),
        (&[("a/b/c", &b"2"[..]), ("z", b""), ("a/b", b"1")][..], 2, 0),
    ] {
        let bytes = legacy_bytes("", &files_of(files));
        refused(
            &bytes,
            |k| matches!(k, LegacyErrorKind::FileAndDir { index, below: b, .. } if *index == file && *b == below),
        );
    }
    // A sibling whose name merely starts the same is fine.
    let dir = tempfile::tempdir().unwrap();
    convert_and_compare(
        dir.path(),
        &files_of(&[("a", b"1"), ("a-b/c", b"2"), ("ab", b"3")]),
    );
}

#[test]
fn names_that_are_not_utf8_are_refused() {
    let mut bytes = two_files();
    bytes[265 + 128 + 1] = 0xff; // in the second name
    refused(&bytes, |k| {
        matches!(
            k,
            LegacyErrorKind::NameNotUtf8 {
                index: 1,
                offset: 394
            }
        )
    });
}

#[test]
fn names_cut_off_by_a_wide_name_are_refused() {
    // The first name's 128 characters fill both files' 256 bytes: the second has no name.
    let bytes = legacy_bytes("", &files_of(&[(&"é".repeat(128), b"1"), ("b", b"2")]));
    refused(
        &bytes,
        |k| matches!(k, LegacyErrorKind::InvalidName { index: 1, reason, .. } if reason.contains("missing")),
    );
}

#[test]
fn files_that_are_not_filepacker_packs_are_refused() {
    refused(b"", |k| matches!(k, LegacyErrorKind::TooShort { len: 0 }));
    let mut bytes = two_files();
    bytes[0] = b'{';
    refused(&bytes, |k| {
        matches!(k, LegacyErrorKind::Version { found: b'{' })
    });

    // A pack of this crate's format, big or small.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.txt"), "a").unwrap();
    let new = dir.path().join("p.fpack");
    PackBuilder::new().pack_dir(dir.path(), &new).unwrap();
    let message = refused(&fs::read(&new).unwrap(), |k| {
        matches!(k, LegacyErrorKind::AlreadyConverted)
    });
    assert!(message.contains("already"), "{message}");
    refused(&treepack::format::MAGIC, |k| {
        matches!(k, LegacyErrorKind::AlreadyConverted)
    });

    // A directory.
    let err = LegacyPack::open(dir.path()).unwrap_err();
    assert!(matches!(
        err.kind(),
        LegacyErrorKind::NotAFile {
            what: "a directory"
        }
    ));
}

#[test]
fn an_existing_output_is_kept_unless_replace() {
    let dir = tempfile::tempdir().unwrap();
    let old = write_legacy(dir.path(), &files_of(&[("a", b"new contents")]));
    let new = dir.path().join("new.fpack");
    fs::write(&new, "precious").unwrap();
    let err = convert_legacy(&old, &new).unwrap_err();
    assert!(
        matches!(&err, ConvertError::Exists { path } if *path == new),
        "{err:?}"
    );
    assert!(err.to_string().contains("replace"), "{err}");
    assert_eq!(fs::read(&new).unwrap(), b"precious");
    assert_eq!(listing(dir.path()), ["new.fpack", "old.fpack"]);

    ConvertOptions::new()
        .replace(true)
        .convert(&old, &new)
        .unwrap();
    assert_eq!(
        Pack::open(&new).unwrap().bytes("a").unwrap(),
        b"new contents"
    );
    assert_eq!(listing(dir.path()), ["new.fpack", "old.fpack"]);
}

#[test]
fn a_converted_pack_is_the_same_bytes_with_a_fixed_seed() {
    let dir = tempfile::tempdir().unwrap();
    let old = write_legacy(dir.path(), &files_of(&[("b/x", b"1"), ("a", b"22")]));
    let convert = |name: &str| {
        let new = dir.path().join(name);
        ConvertOptions::new()
            .index_seed(9)
            .convert(&old, &new)
            .unwrap();
        fs::read(new).unwrap()
    };
    assert_eq!(convert("1.fpack"), convert("2.fpack"));
}

// --- random trees ---------------------------------------------------------------------------

fn component() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => "[a-z0-9_]{1,6}(\\.[a-z]{1,3})?",
        1 => prop::sample::select(vec!["é", "日本", "ñame", "Ω.bin", "a b", "x\ty"]).prop_map(str::to_owned),
    ]
}

/// Files at random paths (no path a file and a directory, none twice), in random order.
fn tree() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let path = prop::collection::vec(component(), 1..5).prop_map(|parts| parts.join("/"));
    let data = prop_oneof![
        1 => Just(Vec::new()),
        4 => prop::collection::vec(any::<u8>(), 0..300),
    ];
    prop::collection::vec((path, data), 0..60)
        .prop_map(|files| {
            let mut kept: BTreeMap<String, Vec<u8>> = BTreeMap::new();
            for (path, data) in files {
                let clash = kept.keys().any(|k| {
                    k == &path
                        || path.starts_with(&format!("{k}/"))
                        || k.starts_with(&format!("{path}/"))
                });
                if !clash {
                    kept.insert(path, data);
                }
            }
            kept.into_iter().collect::<Vec<_>>()
        })
        .prop_shuffle()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_trees_convert_with_every_file_and_directory(files in tree()) {
        // The cut of the names block must only take padding (see `names_overflow`).
        let last = files.last().map_or(0, |(n, _)| n.chars().count());
        prop_assume!(names_overflow(&files) <= 128 - last);
        let dir = tempfile::tempdir().unwrap();
        convert_and_compare(dir.path(), &files);
    }
}

// --- the Python reader ----------------------------------------------------------------------

/// `array_files.compat.file_packer._LegacyPack` (the Python reader of FilePacker's packs) reads
/// the same paths and bytes from the same files as `LegacyPack`, and a file written the way
/// FilePacker writes it (`struct.pack` of each field) is byte for byte what these tests write.
#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn the_python_reader_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_of(&[
        ("a.txt", b"hi"),
        ("s/b", b"abc"),
        (&"é".repeat(60), b"\x00\xff"),
        ("deep//x/y/z", b"zz"),
        ("empty", b""),
    ]);
    let old = write_legacy(dir.path(), &files);
    let seed_written = dir.path().join("seed.fpack");
    let module =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../python/array_files/compat/file_packer.py");
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let datas: Vec<Vec<u8>> = files.iter().map(|(_, d)| d.clone()).collect();
    let mut py = testkit::oracle::shared();
    let result = py.exec(&format!(
        r#"
import ast, mmap, struct
names, datas, base = {names}, [bytes(d) for d in {datas:?}], "/home/someone/dataset"
with open({seed:?}, "wb") as f:  # FilePackHeader.write, then the data
    f.write(struct.pack("B", 1)); f.write(struct.pack("Q", len(names)))
    f.write(struct.pack("256s", base.ljust(256).encode("utf-8")))
    f.write(struct.pack("%ds" % (128 * len(names)), "".join(n.ljust(128) for n in names).encode("utf-8")))
    for d in datas: f.write(struct.pack("Q", len(d)))
    for d in datas: f.write(d)
tree = ast.parse(open({module:?}).read())
cls = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "_LegacyPack"][0]
scope = {{"mmap": mmap, "struct": struct}}
exec(compile(ast.Module([cls], []), "file_packer.py", "exec"), scope)
p = scope["_LegacyPack"]({old:?})
result = [p.base_path, {{k: list(bytes(p.read(k))) for k in p.files}}]
"#,
        names = serde_json::to_string(&names).unwrap(),
        seed = seed_written.to_str().unwrap(),
        module = module.to_str().unwrap(),
        old = old.to_str().unwrap(),
    ));
    assert_eq!(fs::read(&seed_written).unwrap(), fs::read(&old).unwrap());
    let legacy = LegacyPack::open(&old).unwrap();
    assert_eq!(result[0], legacy.base_path());
    let python: BTreeMap<String, Vec<u8>> = serde_json::from_value(result[1].clone()).unwrap();
    let rust: BTreeMap<String, Vec<u8>> = legacy
        .entries()
        .map(|e| (e.path().to_owned(), e.bytes().to_vec()))
        .collect();
    assert_eq!(python, rust);
    assert_eq!(rust["deep/x/y/z"], b"zz");
}

// --- the command ----------------------------------------------------------------------------

#[cfg(all(unix, feature = "cli"))]
mod cli {
    use super::*;
    use common::{assert_clean_failure, run_s};

    fn s(p: &Path) -> &str {
        p.to_str().unwrap()
    }

    /// A failure of the command: one line, in the words of the command, not of the library.
    fn failure(out: &std::process::Output) -> String {
        let msg = assert_clean_failure(out);
        for item in ["::", "ConvertOptions", "replace(true)", "Pack::open"] {
            assert!(!msg.contains(item), "{item}: {msg}");
        }
        msg
    }

    #[test]
    fn convert_writes_the_pack_and_refuses_to_overwrite_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let old = write_legacy(dir.path(), &files_of(&[("a/b.txt", b"bee"), ("c", b"")]));
        let new = dir.path().join("new.fpack");
        let out = run_s(&["convert", s(&old), s(&new), "-v"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("FilePacker pack, 2 files"), "{text}");
        assert!(text.contains("converted 2 files (2 directories)"), "{text}");
        assert!(
            text.contains("'/home/someone/dataset', which is not kept"),
            "{text}"
        );
        let pack = Pack::open(&new).unwrap();
        assert_eq!(pack.bytes("a/b.txt").unwrap(), b"bee");
        assert_eq!(pack.listdir("").unwrap(), ["a", "c"]);

        let before = fs::read(&new).unwrap();
        let again = run_s(&["convert", s(&old), s(&new)]);
        let msg = failure(&again);
        assert!(
            msg.contains(&format!(
                "{} exists; pass -f/--force to replace it",
                new.display()
            )),
            "{msg}"
        );
        assert_eq!(fs::read(&new).unwrap(), before);

        let forced = run_s(&["convert", s(&old), s(&new), "-f", "-q"]);
        assert!(forced.status.success());
        assert!(forced.stdout.is_empty());
        assert_eq!(Pack::open(&new).unwrap().bytes("a/b.txt").unwrap(), b"bee");
    }

    #[test]
    fn convert_refuses_a_new_pack_and_a_file_that_is_no_pack() {
        let dir = tempfile::tempdir().unwrap();
        let old = write_legacy(dir.path(), &files_of(&[("x", b"1")]));
        let new = dir.path().join("new.fpack");
        assert!(run_s(&["convert", s(&old), s(&new)]).status.success());

        let out = dir.path().join("again.fpack");
        let msg = failure(&run_s(&["convert", s(&new), s(&out)]));
        assert!(msg.contains("is a treepack pack already"), "{msg}");
        assert!(msg.contains(&new.display().to_string()), "{msg}");

        let text = dir.path().join("notes.txt");
        fs::write(&text, "x".repeat(1000)).unwrap();
        let msg = failure(&run_s(&["convert", s(&text), s(&out)]));
        assert!(msg.contains("not a FilePacker pack"), "{msg}");

        let mut bytes = fs::read(&old).unwrap();
        bytes.truncate(bytes.len() - 1);
        fs::write(&old, &bytes).unwrap();
        let msg = failure(&run_s(&["convert", s(&old), s(&out)]));
        assert!(msg.contains("run past the end"), "{msg}");

        assert!(!out.exists());
        assert_eq!(listing(dir.path()), ["new.fpack", "notes.txt", "old.fpack"]);
        // A usage error: NEW missing.
        assert_eq!(run_s(&["convert", s(&old)]).status.code(), Some(2));
    }
}
