//! Property tests: random trees (deep nesting, unicode names, empty files and directories,
//! hidden files, symlinks) pack and extract identical, and the API and `treepack cat` return
//! the source bytes.
#![cfg(unix)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Node, snapshot};
use proptest::prelude::*;
use treepack::{Kind, Pack, PackBuilder};

/// A generated tree node.
#[derive(Debug, Clone)]
enum Gen {
    File(Vec<u8>, u32),
    Dir(BTreeMap<String, Gen>),
    /// A link to a sibling name (may dangle) or a path up and down the tree.
    Link(String),
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,8}",
        "\\.[a-z]{1,5}",
        "[a-z]{1,4}\\.[a-z]{1,3}",
        Just("été".to_owned()),
        Just("日本語".to_owned()),
        Just("emoji 🎉".to_owned()),
        Just("with space".to_owned()),
        Just("back\\slash".to_owned()),
        Just("-dash".to_owned()),
        Just("UPPER".to_owned()),
        Just("a".repeat(200)),
        "[α-ω]{1,6}",
    ]
}

fn file() -> impl Strategy<Value = Gen> {
    (
        prop_oneof![
            Just(Vec::new()),
            proptest::collection::vec(any::<u8>(), 0..64),
            proptest::collection::vec(any::<u8>(), 0..5000),
        ],
        prop_oneof![Just(0o644u32), Just(0o600), Just(0o755), Just(0o444)],
    )
        .prop_map(|(d, m)| Gen::File(d, m))
}

fn link() -> impl Strategy<Value = Gen> {
    prop_oneof![
        name().prop_map(Gen::Link),
        (name(), name()).prop_map(|(a, b)| Gen::Link(format!("{a}/{b}"))),
        name().prop_map(|a| Gen::Link(format!("./{a}"))),
    ]
}

fn tree() -> impl Strategy<Value = BTreeMap<String, Gen>> {
    let leaf = prop_oneof![
        4 => file(),
        1 => Just(Gen::Dir(BTreeMap::new())),
        1 => link(),
    ];
    let node = leaf.prop_recursive(8, 96, 6, |inner| {
        proptest::collection::btree_map(name(), inner, 0..6).prop_map(Gen::Dir)
    });
    proptest::collection::btree_map(name(), node, 0..8)
}

fn materialize(dir: &Path, tree: &BTreeMap<String, Gen>) {
    for (name, node) in tree {
        let path = dir.join(name);
        match node {
            Gen::File(data, mode) => {
                fs::write(&path, data).unwrap();
                fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).unwrap();
            }
            Gen::Dir(children) => {
                fs::create_dir(&path).unwrap();
                materialize(&path, children);
            }
            Gen::Link(target) => std::os::unix::fs::symlink(target, &path).unwrap(),
        }
    }
}

fn check_roundtrip(tree: &BTreeMap<String, Gen>, alignment: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    materialize(&src, tree);
    // A deep chain, to test nesting well beyond what the strategy makes.
    let deep: String = (0..40).map(|i| format!("n{i}/")).collect();
    fs::create_dir_all(src.join(&deep)).unwrap();
    fs::write(src.join(&deep).join("leaf"), b"deep").unwrap();

    let out = tmp.path().join("tree.fpack");
    let summary = PackBuilder::new()
        .alignment(alignment)
        .unwrap()
        .threads(2)
        .pack_dir(&src, &out)
        .unwrap();
    let before = snapshot(&src);
    assert_eq!(summary.entries, before.len() as u64 + 1);

    let pack = Pack::open(&out).unwrap();
    pack.verify().unwrap();
    assert_eq!(pack.entry_count(), before.len() as u64 + 1);

    // Every source path, through every API.
    for (rel, node) in &before {
        let entry = pack.entry(rel).unwrap();
        assert_eq!(entry.path(), rel);
        match node {
            Node::File { data, mode, mtime } => {
                assert_eq!(entry.kind(), Kind::File);
                assert_eq!(pack.bytes(rel).unwrap(), &data[..], "{rel}");
                assert_eq!(pack.bytes(&format!("./{rel}")).unwrap(), &data[..]);
                let mut reader = pack.open_file(rel).unwrap();
                let mut copy = Vec::new();
                reader.read_to_end(&mut copy).unwrap();
                assert_eq!(copy, *data);
                if !data.is_empty() {
                    reader.seek(SeekFrom::Start(data.len() as u64 / 2)).unwrap();
                    let mut rest = Vec::new();
                    reader.read_to_end(&mut rest).unwrap();
                    assert_eq!(rest, data[data.len() / 2..]);
                }
                let m = pack.metadata(rel).unwrap();
                assert_eq!(m.mode(), *mode);
                assert_eq!((m.mtime().0, i64::from(m.mtime().1)), *mtime);
                assert_eq!(entry.data().unwrap().as_ptr() as u64 % alignment, 0);
            }
            Node::Dir => {
                assert!(pack.is_dir(rel));
                let mut names: Vec<String> = fs::read_dir(src.join(rel))
                    .unwrap()
                    .map(|e| e.unwrap().file_name().into_string().unwrap())
                    .collect();
                names.sort();
                assert_eq!(pack.listdir(rel).unwrap(), names);
                assert_eq!(pack.listdir(&format!("{rel}/")).unwrap(), names);
            }
            Node::Link(target) => {
                assert_eq!(entry.kind(), Kind::Symlink);
                assert_eq!(pack.read_link(rel).unwrap(), target);
                // Following it inside the pack agrees with the file system.
                match fs::metadata(src.join(rel)) {
                    Ok(m) if m.is_file() => {
                        assert_eq!(pack.bytes(rel).unwrap(), fs::read(src.join(rel)).unwrap())
                    }
                    Ok(m) if m.is_dir() => assert!(pack.is_dir(rel)),
                    _ => assert!(!pack.exists(rel) || pack.is_dir(rel) || pack.is_file(rel)),
                }
            }
        }
    }
    // A batch lookup agrees with one lookup at a time, for every kind of query: files, links,
    // directories, missing and invalid paths, in an order that is not the pack's.
    let mut queries: Vec<String> = before.keys().rev().cloned().collect();
    for rel in before.keys() {
        queries.extend([
            format!("./{rel}"),
            format!("{rel}/"),
            format!("{rel}.missing"),
        ]);
    }
    queries.extend(["".into(), "..".into(), "a\0b".into(), "no/such/file".into()]);
    let batch = pack.bytes_many(&queries);
    assert_eq!(batch.len(), queries.len());
    for (query, got) in queries.iter().zip(&batch) {
        match (pack.bytes(query), got) {
            (Ok(one), Ok(many)) => assert_eq!(one, *many, "{query:?}"),
            (Err(one), Err(many)) => assert_eq!(one.to_string(), many.to_string(), "{query:?}"),
            (one, many) => panic!("{query:?}: bytes gives {one:?}, bytes_many {many:?}"),
        }
    }

    let walked: Vec<String> = pack
        .walk("")
        .unwrap()
        .map(|e| e.unwrap().path().to_owned())
        .collect();
    assert_eq!(walked.len(), before.len() + 1);
    let listed: Vec<String> = pack
        .entries()
        .map(|e| e.unwrap().path().to_owned())
        .collect();
    assert_eq!(walked, listed);

    // Extract and compare.
    let dest = tmp.path().join("dest");
    pack.extract(&dest).unwrap();
    let after = snapshot(&dest);
    assert_eq!(before, after);

    // `treepack cat` of every file gives the concatenation.
    #[cfg(feature = "cli")]
    cat_matches(&out, &before);
}

#[cfg(feature = "cli")]
fn cat_matches(out: &Path, before: &BTreeMap<String, Node>) {
    let files: Vec<(&String, &Vec<u8>)> = before
        .iter()
        .filter_map(|(p, n)| match n {
            Node::File { data, .. } => Some((p, data)),
            _ => None,
        })
        .collect();
    if !files.is_empty() {
        let mut args: Vec<&std::ffi::OsStr> = vec!["cat".as_ref(), out.as_os_str(), "--".as_ref()];
        args.extend(files.iter().map(|(p, _)| std::ffi::OsStr::new(p.as_str())));
        let output = common::run(&args);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let expected: Vec<u8> = files.iter().flat_map(|(_, d)| d.iter().copied()).collect();
        assert_eq!(output.stdout, expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn pack_extract_identical(tree in tree(), align in prop_oneof![Just(64u64), Just(1), Just(8), Just(4096)]) {
        check_roundtrip(&tree, align);
    }
}

#[test]
fn deterministic_output() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    common::make_tree(&src, 300, 7);
    std::os::unix::fs::symlink("d0_1", src.join("link")).unwrap();
    fs::create_dir(src.join("empty")).unwrap();
    let a = tmp.path().join("a.fpack");
    let b = tmp.path().join("b.fpack");
    PackBuilder::new().threads(1).pack_dir(&src, &a).unwrap();
    PackBuilder::new().threads(3).pack_dir(&src, &b).unwrap();
    // Each pack draws its own index seed: the same data and tables, another index.
    let (a_bytes, b_bytes) = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
    assert!(common::same_pack(&a_bytes, &b_bytes));
    assert_ne!(a_bytes, b_bytes);
    // With a fixed seed, the same bytes.
    for (path, threads) in [(&a, 1), (&b, 3)] {
        fs::remove_file(path).unwrap();
        let builder = PackBuilder::new().threads(threads).index_seed(99);
        builder.pack_dir(&src, path).unwrap();
    }
    assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
}

#[test]
fn large_files_are_streamed_and_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    let mut rng = common::Rng(99);
    let mut expected = BTreeMap::new();
    // Over the 1 MiB small-file limit, and enough medium files to pass the batch budget.
    for (name, len) in [("big1", 3 << 20), ("big2", (1 << 20) + 1), ("small", 10)] {
        let data = rng.bytes(len);
        fs::write(src.join(name), &data).unwrap();
        expected.insert(name.to_owned(), data);
    }
    for i in 0..12 {
        let data = rng.bytes(900_000);
        fs::write(src.join(format!("m{i:02}")), &data).unwrap();
        expected.insert(format!("m{i:02}"), data);
    }
    let out = tmp.path().join("p.fpack");
    let s = PackBuilder::new().pack_dir(&src, &out).unwrap();
    assert_eq!(s.files, expected.len() as u64);
    let pack = Pack::open(&out).unwrap();
    for (name, data) in &expected {
        assert_eq!(pack.bytes(name).unwrap(), &data[..], "{name}");
    }
    pack.verify().unwrap();
}

#[test]
fn symlinks_resolve_inside_the_pack() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("real/sub")).unwrap();
    fs::write(src.join("real/sub/f.txt"), "content").unwrap();
    std::os::unix::fs::symlink("real", src.join("alias")).unwrap();
    std::os::unix::fs::symlink("../real/sub/f.txt", src.join("real/up")).unwrap();
    std::os::unix::fs::symlink("loop2", src.join("loop1")).unwrap();
    std::os::unix::fs::symlink("loop1", src.join("loop2")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", src.join("abs")).unwrap();
    std::os::unix::fs::symlink("../../outside", src.join("real/escape")).unwrap();
    let out = tmp.path().join("p.fpack");
    PackBuilder::new().pack_dir(&src, &out).unwrap();
    let pack = Pack::open(&out).unwrap();
    assert_eq!(pack.read_str("alias/sub/f.txt").unwrap(), "content");
    assert_eq!(pack.read_str("real/up").unwrap(), "content");
    assert_eq!(pack.read_str("alias/up").unwrap(), "content");
    assert_eq!(pack.listdir("alias").unwrap(), ["escape", "sub", "up"]);
    assert!(pack.entry("alias").unwrap().is_symlink());
    // A walk yields its start (a symlink start followed), then the subtree of a directory;
    // a file's walk is the file alone, and symlinks inside are yielded, not followed.
    let walk = |start: &str| -> Vec<String> {
        let walk = pack.walk(start).unwrap();
        walk.map(|e| e.unwrap().path().to_owned()).collect()
    };
    assert_eq!(walk("real/sub/f.txt"), ["real/sub/f.txt"]);
    assert_eq!(walk("real/up"), ["real/sub/f.txt"]);
    assert_eq!(
        walk("real"),
        [
            "real",
            "real/escape",
            "real/sub",
            "real/sub/f.txt",
            "real/up"
        ]
    );
    assert_eq!(walk("alias"), walk("real"));
    assert!(matches!(
        pack.walk("real/sub/f.txt/x").err().map(|e| e.into_kind()),
        Some(treepack::ErrorKind::NotADir { .. })
    ));
    assert!(matches!(
        pack.bytes("loop1"),
        Err(ref e) if matches!(e.kind(), treepack::ErrorKind::SymlinkLoop { .. })
    ));
    assert!(matches!(
        pack.bytes("abs"),
        Err(ref e) if matches!(e.kind(), treepack::ErrorKind::SymlinkEscapes { .. })
    ));
    assert!(matches!(
        pack.bytes("real/escape"),
        Err(ref e) if matches!(e.kind(), treepack::ErrorKind::SymlinkEscapes { .. })
    ));
    assert!(!pack.exists("loop1") && pack.entry("loop1").is_ok());

    // Extraction refuses the escaping links, or skips them on request.
    let dest = tmp.path().join("dest");
    assert!(matches!(
        pack.extract(&dest),
        Err(treepack::ExtractError::UnsafeLink { .. })
    ));
    assert!(
        !dest.join("real").exists(),
        "nothing written before refusing"
    );
    let opts = treepack::ExtractOptions::new().skip_unsafe_links(true);
    let s = pack.extract_with(&dest, &opts).unwrap();
    assert_eq!(s.skipped_links, 2);
    assert_eq!(
        fs::read_to_string(dest.join("alias/sub/f.txt")).unwrap(),
        "content"
    );
    assert!(!dest.join("abs").exists() && fs::symlink_metadata(dest.join("abs")).is_err());
}

#[test]
fn follow_links_packs_targets_and_detects_loops() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    fs::create_dir_all(outside.join("inner")).unwrap();
    fs::write(outside.join("inner/x"), "x").unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    std::os::unix::fs::symlink(&outside, src.join("ext")).unwrap();
    std::os::unix::fs::symlink("nowhere", src.join("dangling")).unwrap();
    fs::write(src.join("f"), "f").unwrap();
    std::os::unix::fs::symlink("f", src.join("f_link")).unwrap();
    let out = tmp.path().join("p.fpack");
    PackBuilder::new()
        .follow_links(true)
        .pack_dir(&src, &out)
        .unwrap();
    let pack = Pack::open(&out).unwrap();
    assert!(pack.entry("ext").unwrap().is_dir());
    assert_eq!(pack.read_str("ext/inner/x").unwrap(), "x");
    assert!(pack.entry("f_link").unwrap().is_file());
    assert!(pack.entry("dangling").unwrap().is_symlink());

    std::os::unix::fs::symlink("..", outside.join("inner/up")).unwrap();
    let err = PackBuilder::new()
        .follow_links(true)
        .pack_dir(&src, tmp.path().join("q.fpack"))
        .unwrap_err();
    assert!(
        matches!(err, treepack::BuildError::SymlinkLoop { .. }),
        "{err}"
    );
    assert!(!tmp.path().join("q.fpack").exists());
    let leftovers: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn non_utf8_names_are_a_clear_error() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("ok")).unwrap();
    let bad = src
        .join("ok")
        .join(std::ffi::OsStr::from_bytes(b"bad\xffname"));
    if fs::write(&bad, "x").is_err() {
        return; // a file system that refuses such names
    }
    let err = PackBuilder::new()
        .pack_dir(&src, tmp.path().join("p.fpack"))
        .unwrap_err();
    assert!(matches!(err, treepack::BuildError::NonUtf8Name { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("ok/bad") && msg.contains("not valid UTF-8"),
        "{msg}"
    );
}

#[test]
fn hidden_files_kept_by_default_and_skipped_on_request() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join(".hidden/inner")).unwrap();
    fs::write(src.join(".hidden/inner/c.txt"), "c").unwrap();
    fs::write(src.join(".dotfile"), "d").unwrap();
    fs::write(src.join("visible"), "v").unwrap();
    let all = tmp.path().join("all.fpack");
    PackBuilder::new().pack_dir(&src, &all).unwrap();
    let pack = Pack::open(&all).unwrap();
    assert!(pack.is_file(".hidden/inner/c.txt") && pack.is_file(".dotfile"));
    let some = tmp.path().join("some.fpack");
    PackBuilder::new()
        .skip_hidden(true)
        .pack_dir(&src, &some)
        .unwrap();
    let pack = Pack::open(&some).unwrap();
    assert_eq!(pack.listdir("").unwrap(), ["visible"]);
}

#[test]
fn filters_by_extension_and_glob() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    for p in [
        "a/x.png",
        "a/y.PNG",
        "a/z.jpg",
        "b/c/w.png",
        "b/skip/v.png",
        "t.txt",
    ] {
        let path = src.join(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, p).unwrap();
    }
    let out = tmp.path().join("p.fpack");
    PackBuilder::new()
        .include_ext(["png"])
        .exclude_glob("skip")
        .unwrap()
        .pack_dir(&src, &out)
        .unwrap();
    let pack = Pack::open(&out).unwrap();
    let files: Vec<_> = pack
        .entries()
        .map(|e| e.unwrap())
        .filter(|e| e.is_file())
        .map(|e| e.path().to_owned())
        .collect();
    assert_eq!(files, ["a/x.png", "a/y.PNG", "b/c/w.png"]);
    PackBuilder::new()
        .include_glob("b/**/*.png")
        .unwrap()
        .exclude_ext(["jpg"])
        .pack_dir(&src, &out)
        .unwrap();
    let pack = Pack::open(&out).unwrap();
    let files: Vec<_> = pack
        .entries()
        .map(|e| e.unwrap())
        .filter(|e| e.is_file())
        .map(|e| e.path().to_owned())
        .collect();
    assert_eq!(files, ["b/c/w.png", "b/skip/v.png"]);
    // Directories are kept even when their files are filtered out.
    assert!(pack.is_dir("a"));
}

#[test]
fn pack_readers_and_writer_pairs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("p.fpack");
    let pairs = vec![
        ("z/last.txt".to_owned(), &b"last"[..]),
        ("a/first.txt".to_owned(), &b"first"[..]),
        ("./m//mid.txt".to_owned(), &b""[..]),
    ];
    let s = PackBuilder::new().pack_readers(pairs, &out).unwrap();
    assert_eq!((s.files, s.dirs), (3, 4));
    let pack = Pack::open(&out).unwrap();
    assert_eq!(pack.read_str("a/first.txt").unwrap(), "first");
    assert_eq!(pack.read_str("m/mid.txt").unwrap(), "");
    assert_eq!(pack.listdir("").unwrap(), ["a", "m", "z"]);
    pack.verify().unwrap();
}

/// `huge_pages` marks the pack's map for transparent huge pages (the `hg` flag the kernel
/// shows for the mapping), and reads the same; without it the map is left as the kernel likes.
#[cfg(target_os = "linux")]
#[test]
fn huge_pages_advises_the_map() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a.bin"), vec![5u8; 10_000]).unwrap();
    let out = dir.path().join("huge.fpack");
    PackBuilder::new().pack_dir(&src, &out).unwrap();

    // The flags of the mapping of `out` in this process, from /proc/self/smaps.
    let flags_of_map = || -> Option<String> {
        let smaps = fs::read_to_string("/proc/self/smaps").unwrap();
        let mut lines = smaps
            .lines()
            .skip_while(|l| !l.ends_with(out.to_str().unwrap()));
        lines.find_map(|l| l.strip_prefix("VmFlags:").map(str::to_owned))
    };
    let plain = Pack::open(&out).unwrap();
    let flags = flags_of_map().expect("the pack is mapped");
    assert!(!flags.split_whitespace().any(|f| f == "hg"), "{flags}");
    drop(plain);

    let huge = treepack::OpenOptions::new()
        .huge_pages(true)
        .open(&out)
        .unwrap();
    assert_eq!(huge.bytes("a.bin").unwrap(), vec![5u8; 10_000]);
    // Kernels built without transparent huge pages refuse the advice.
    if Path::new("/sys/kernel/mm/transparent_hugepage").exists() {
        let flags = flags_of_map().expect("the pack is mapped");
        assert!(flags.split_whitespace().any(|f| f == "hg"), "{flags}");
    }
}

/// The progress callback measures packing in bytes: a tree of one large file (streamed) and
/// many tiny ones reports the bytes to pack from the start, so a bar over bytes (the CLI's)
/// estimates the time left by the bytes still to copy, not by entries.
#[test]
fn progress_counts_bytes_to_pack_from_the_start() {
    use std::sync::{Arc, Mutex};
    use treepack::{Phase, Progress};
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("tiny")).unwrap();
    let big = 3 << 20;
    std::fs::write(src.join("big.bin"), vec![7u8; big]).unwrap();
    for i in 0..2000 {
        std::fs::write(src.join(format!("tiny/{i:04}.txt")), b"x").unwrap();
    }
    let total = big as u64 + 2000;
    let reports: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let seen = Arc::clone(&reports);
    let summary = PackBuilder::new()
        .progress(move |p| seen.lock().unwrap().push(*p))
        .pack_dir(&src, dir.path().join("out.fpack"))
        .unwrap();
    assert_eq!(summary.bytes, total);
    let reports = reports.lock().unwrap();
    let packing: Vec<&Progress> = reports
        .iter()
        .filter(|p| p.phase == Phase::Packing)
        .collect();
    assert!(packing.len() >= 2, "{reports:?}");
    assert!(
        packing.iter().all(|p| p.bytes_total == total),
        "{packing:?}"
    );
    assert_eq!(packing[0].bytes_done, 0);
    assert!(
        packing
            .windows(2)
            .all(|w| w[0].bytes_done <= w[1].bytes_done)
    );
    assert_eq!(packing.last().unwrap().bytes_done, total);
    let done = reports.last().unwrap();
    assert_eq!(
        (done.phase, done.bytes_done, done.bytes_total),
        (Phase::Done, total, total)
    );
    // While scanning, nothing is known of the bytes yet.
    assert!(
        reports
            .iter()
            .filter(|p| p.phase == Phase::Scanning)
            .all(|p| p.bytes_total == 0)
    );
}
