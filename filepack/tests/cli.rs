//! The `treepack` binary.
#![cfg(all(unix, feature = "cli"))]

mod common;

use std::fs;
use std::path::Path;

use common::{assert_clean_failure, run_s};
use treepack::Pack;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// src/ with a/b.txt, a/c.png, .hidden, empty/, link -> a/b.txt
fn fixture() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("a")).unwrap();
    fs::create_dir_all(src.join("empty")).unwrap();
    fs::write(src.join("a/b.txt"), "bee\n").unwrap();
    fs::write(src.join("a/c.png"), "png").unwrap();
    fs::write(src.join(".hidden"), "h").unwrap();
    std::os::unix::fs::symlink("a/b.txt", src.join("link")).unwrap();
    tmp
}

#[test]
fn pack_positional_and_dash_i_and_force() {
    let tmp = fixture();
    let src = tmp.path().join("src");
    let out = tmp.path().join("p.fpack");
    let text = stdout(&run_s(&[
        "pack",
        s(&src),
        "-o",
        s(&out),
        "--include-hidden",
    ]));
    assert!(
        text.starts_with("packed 7 entries (3 files, 3 directories, 1 symlinks)"),
        "{text}"
    );
    let again = run_s(&["pack", "-i", s(&src), "-o", s(&out)]);
    let msg = assert_clean_failure(&again);
    assert!(
        msg.contains(&format!(
            "{} exists; pass -f/--force to replace it",
            out.display()
        )),
        "{msg}"
    );
    stdout(&run_s(&[
        "pack",
        "-i",
        s(&src),
        "-o",
        s(&out),
        "-f",
        "-q",
        "--include-hidden",
    ]));
    let pack = Pack::open(&out).unwrap();
    assert_eq!(pack.read_str("link").unwrap(), "bee\n");
    assert!(pack.is_file(".hidden") && pack.is_dir("empty"));

    // Both forms at once, or neither, is a usage error (status 2).
    let both = run_s(&["pack", s(&src), "-i", s(&src), "-o", s(&out)]);
    assert_eq!(both.status.code(), Some(2));
    let neither = run_s(&["pack", "-o", s(&out)]);
    assert_eq!(neither.status.code(), Some(2));
    let missing = run_s(&[
        "pack",
        s(&tmp.path().join("nope")),
        "-o",
        s(&tmp.path().join("x")),
    ]);
    assert_clean_failure(&missing);
    let file_src = run_s(&[
        "pack",
        s(&src.join("a/b.txt")),
        "-o",
        s(&tmp.path().join("y")),
    ]);
    assert!(assert_clean_failure(&file_src).contains("not a directory"));
}

#[test]
fn pack_options() {
    let tmp = fixture();
    let src = tmp.path().join("src");
    let out = tmp.path().join("p.fpack");
    let p = s(&out);
    stdout(&run_s(&[
        "pack",
        s(&src),
        "-o",
        p,
        "--include-ext",
        "png",
        "--skip-hidden",
        "--align",
        "4096",
        "--threads",
        "1",
    ]));
    let pack = Pack::open(&out).unwrap();
    assert_eq!(pack.header().alignment, 4096);
    assert!(pack.is_file("a/c.png") && !pack.exists("a/b.txt") && !pack.exists(".hidden"));
    assert!(!pack.exists("link"));

    stdout(&run_s(&[
        "pack",
        s(&src),
        "-o",
        p,
        "-f",
        "--excluded-exts",
        "png,txt",
        "--follow-links",
    ]));
    let pack = Pack::open(&out).unwrap();
    assert!(!pack.exists("a/c.png") && !pack.exists("a/b.txt"));
    // Filters see the name in the pack ("link", no extension), not the target's.
    assert!(pack.entry("link").unwrap().is_file());

    stdout(&run_s(&["pack", s(&src), "-o", p, "-f", "--follow-links"]));
    let pack = Pack::open(&out).unwrap();
    assert!(pack.entry("link").unwrap().is_file());

    stdout(&run_s(&[
        "pack",
        s(&src),
        "-o",
        p,
        "-f",
        "--include",
        "a/*",
        "--exclude",
        "*.png",
    ]));
    let pack = Pack::open(&out).unwrap();
    assert!(pack.is_file("a/b.txt") && !pack.exists("a/c.png") && !pack.exists(".hidden"));

    for bad in ["3", "8192", "0"] {
        let r = run_s(&["pack", s(&src), "-o", p, "-f", "--align", bad]);
        assert!(assert_clean_failure(&r).contains("power of two"));
    }
    let r = run_s(&["pack", s(&src), "-o", p, "-f", "--include", "[oops"]);
    assert!(assert_clean_failure(&r).contains("invalid glob"));
}

#[test]
fn output_inside_the_source_is_not_packed() {
    let tmp = fixture();
    let src = tmp.path().join("src");
    let out = src.join("self.fpack");
    stdout(&run_s(&["pack", s(&src), "-o", s(&out)]));
    let pack = Pack::open(&out).unwrap();
    assert!(!pack.exists("self.fpack"));
    assert!(
        !pack
            .listdir("")
            .unwrap()
            .iter()
            .any(|n| n.ends_with(".tmp"))
    );
    // Repacking in place: the old pack is replaced, not packed.
    stdout(&run_s(&["pack", s(&src), "-o", s(&out), "-f"]));
    assert!(!Pack::open(&out).unwrap().exists("self.fpack"));
}

/// The fixture tree packed quietly into `p.fpack` beside it.
fn packed_fixture() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = fixture();
    let out = tmp.path().join("p.fpack");
    stdout(&run_s(&[
        "pack",
        s(&tmp.path().join("src")),
        "-o",
        s(&out),
        "-q",
        "--include-hidden",
    ]));
    (tmp, out)
}

#[test]
fn ls_formats() {
    let (_tmp, out) = packed_fixture();
    let p = s(&out);
    assert_eq!(
        stdout(&run_s(&["ls", p])),
        ".hidden\na/\nempty/\nlink -> a/b.txt\n"
    );
    assert_eq!(stdout(&run_s(&["ls", p, "a"])), "a/b.txt\na/c.png\n");
    assert_eq!(stdout(&run_s(&["ls", p, "./a/"])), "a/b.txt\na/c.png\n");
    assert_eq!(
        stdout(&run_s(&["ls", p, "-R"])),
        ".hidden\na/\na/b.txt\na/c.png\nempty/\nlink -> a/b.txt\n"
    );
    assert_eq!(
        stdout(&run_s(&["ls", p, "-R", "--directories-only"])),
        "a/\nempty/\n"
    );
    let long = stdout(&run_s(&["ls", p, "a", "-l"]));
    assert!(long.starts_with("file"), "{long}");
    assert!(long.contains(" 4 a/b.txt"), "{long}");
    assert_eq!(stdout(&run_s(&["ls", p, "a/b.txt"])), "a/b.txt\n");

    let json: serde_json::Value =
        serde_json::from_str(&stdout(&run_s(&["ls", p, "-R", "--json"]))).unwrap();
    let items = json.as_array().unwrap();
    assert_eq!(items.len(), 6);
    let link = items.iter().find(|i| i["path"] == "link").unwrap();
    assert_eq!(link["kind"], "symlink");
    assert_eq!(link["size"], 7);
    let b = items.iter().find(|i| i["path"] == "a/b.txt").unwrap();
    assert_eq!(
        (b["kind"].as_str(), b["size"].as_u64()),
        (Some("file"), Some(4))
    );
    for item in items {
        assert_eq!(item.as_object().unwrap().len(), 3);
    }
    let dirs: serde_json::Value =
        serde_json::from_str(&stdout(&run_s(&["ls", p, "--json", "--directories-only"]))).unwrap();
    assert_eq!(
        dirs,
        serde_json::json!([
            {"path": "a", "kind": "dir", "size": 0},
            {"path": "empty", "kind": "dir", "size": 0},
        ])
    );
    let empty: serde_json::Value =
        serde_json::from_str(&stdout(&run_s(&["ls", p, "empty", "--json"]))).unwrap();
    assert_eq!(empty, serde_json::json!([]));

    let missing = run_s(&["ls", p, "nope"]);
    assert!(assert_clean_failure(&missing).contains("no such file or directory"));
    let escape = run_s(&["ls", p, "../x"]);
    assert!(assert_clean_failure(&escape).contains("outside the root"));
}

#[test]
fn cat_concatenates_and_reports_missing() {
    let (_tmp, out) = packed_fixture();
    let p = s(&out);
    assert_eq!(
        stdout(&run_s(&["cat", p, "a/b.txt", "a/c.png", "link"])),
        "bee\npngbee\n"
    );
    let r = run_s(&["cat", p, "a/b.txt", "nope", "a/c.png"]);
    assert_eq!(r.status.code(), Some(1));
    assert_eq!(r.stdout, b"bee\npng");
    assert!(String::from_utf8_lossy(&r.stderr).contains("\"nope\""));
    let dir = run_s(&["cat", p, "a"]);
    assert!(assert_clean_failure(&dir).contains("not a file"));
}

#[test]
fn errors_name_the_pack_once() {
    let (tmp, out) = packed_fixture();
    let p = s(&out);
    let missing = format!("treepack: error: {p}: \"nope\": no such file or directory in the pack");
    let ls = assert_clean_failure(&run_s(&["ls", p, "nope"]));
    assert_eq!(ls.trim_end(), missing);
    // cat names the pack once in front of every path it could not read.
    let cat = assert_clean_failure(&run_s(&["cat", p, "nope", "a"]));
    assert_eq!(
        cat.trim_end(),
        format!("{missing}; \"a\": is a directory, not a file")
    );
    let dest = tmp.path().join("dest");
    let extract = assert_clean_failure(&run_s(&["extract", p, "-o", s(&dest), "nope"]));
    assert_eq!(extract.trim_end(), missing);
    // A file that is not a pack, and one that is missing: named once too.
    let notes = tmp.path().join("notes.txt");
    fs::write(&notes, "not a pack").unwrap();
    for path in [notes, tmp.path().join("none.fpack")] {
        for args in [&["ls"][..], &["cat", "a/b.txt"], &["verify"], &["info"]] {
            let command = args[0];
            let msg = assert_clean_failure(&run_s(&[&[command, s(&path)], &args[1..]].concat()));
            assert!(
                msg.starts_with(&format!("treepack: error: {}: ", path.display())),
                "{command}: {msg}"
            );
            assert_eq!(msg.matches(s(&path)).count(), 1, "{command}: {msg}");
        }
    }
}

#[test]
fn extract_all_and_some() {
    let tmp = fixture();
    let src = tmp.path().join("src");
    let out = tmp.path().join("p.fpack");
    stdout(&run_s(&[
        "pack",
        s(&src),
        "-o",
        s(&out),
        "-q",
        "--include-hidden",
    ]));
    let p = s(&out);
    let dest = tmp.path().join("dest");
    let text = stdout(&run_s(&["extract", p, "-o", s(&dest)]));
    assert!(
        text.starts_with("extracted 3 files, 2 directories, 1 symlinks"),
        "{text}"
    );
    assert_eq!(common::snapshot(&src), common::snapshot(&dest));
    // Again: refuses to overwrite, unless asked.
    let again = run_s(&["extract", p, "-o", s(&dest)]);
    let msg = assert_clean_failure(&again);
    assert!(
        msg.contains("exists; pass -f/--force to replace it"),
        "{msg}"
    );
    stdout(&run_s(&["extract", p, "-o", s(&dest), "-f", "-q"]));
    stdout(&run_s(&["extract", p, "-o", s(&dest), "--overwrite", "-q"]));
    assert_eq!(common::snapshot(&src), common::snapshot(&dest));

    let some = tmp.path().join("some");
    stdout(&run_s(&["extract", p, "-o", s(&some), "a/c.png", "empty"]));
    let snap = common::snapshot(&some);
    assert_eq!(snap.keys().collect::<Vec<_>>(), ["a", "a/c.png", "empty"]);
    let missing = run_s(&["extract", p, "-o", s(&some), "nope"]);
    assert_clean_failure(&missing);
}

#[test]
fn extract_never_writes_through_symlinks_on_disk() {
    let (tmp, out) = packed_fixture();
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let dest = tmp.path().join("dest");
    fs::create_dir(&dest).unwrap();
    // A planted symlink where the pack has a directory.
    std::os::unix::fs::symlink(&outside, dest.join("a")).unwrap();
    let r = run_s(&["extract", s(&out), "-o", s(&dest), "--overwrite"]);
    assert!(assert_clean_failure(&r).contains("symlink"));
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    // A planted symlink where the pack has a file: replaced (with --overwrite), not followed.
    fs::remove_file(dest.join("a")).unwrap();
    fs::create_dir(dest.join("a")).unwrap();
    let victim = outside.join("victim");
    fs::write(&victim, "keep").unwrap();
    std::os::unix::fs::symlink(&victim, dest.join("a/b.txt")).unwrap();
    stdout(&run_s(&[
        "extract",
        s(&out),
        "-o",
        s(&dest),
        "--overwrite",
        "-q",
    ]));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
    assert_eq!(fs::read_to_string(dest.join("a/b.txt")).unwrap(), "bee\n");
}

#[test]
fn verify_and_info() {
    let (tmp, out) = packed_fixture();
    let p = s(&out);
    let v = stdout(&run_s(&["verify", p]));
    assert!(
        v.contains(": ok: 7 entries (3 files, 3 directories, 1 symlinks)"),
        "{v}"
    );
    let info = stdout(&run_s(&["info", p]));
    assert!(info.contains("version          1.1"), "{info}");
    assert!(info.contains("index_seed       "), "{info}");
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&run_s(&["info", p, "--json"]))).unwrap();
    assert_eq!(json["entries"], 7);
    assert_eq!(json["version"], serde_json::json!([1, 1]));
    assert_eq!(json["files"], 3);
    assert_eq!(json["alignment"], 64);
    assert_eq!(json["content_bytes"], 8);

    // A flipped content byte: verify names the file.
    let mut bytes = fs::read(&out).unwrap();
    let pack = Pack::open(&out).unwrap();
    let data = pack.entry("a/b.txt").unwrap().data().unwrap();
    let at = data.as_ptr() as usize - pack.as_bytes().as_ptr() as usize;
    drop(pack);
    bytes[at] ^= 0x20;
    let bad = tmp.path().join("bad.fpack");
    fs::write(&bad, &bytes).unwrap();
    let r = run_s(&["verify", s(&bad)]);
    let msg = assert_clean_failure(&r);
    assert!(msg.contains("checksum mismatch in \"a/b.txt\""), "{msg}");
}

#[test]
fn help_and_version() {
    let help = stdout(&run_s(&["--help"]));
    for cmd in ["pack", "ls", "cat", "extract", "verify", "info"] {
        assert!(help.contains(cmd), "{help}");
    }
    assert!(stdout(&run_s(&["--version"])).starts_with("treepack "));
    assert_eq!(run_s(&["frobnicate"]).status.code(), Some(2));
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn pack_force_keeps_the_replaced_packs_mode_and_new_packs_follow_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = fixture();
    let src = tmp.path().join("src");
    let out = tmp.path().join("p.fpack");
    stdout(&run_s(&["pack", s(&src), "-o", s(&out), "-q"]));
    // What the umask gives a new file here.
    let probe = tmp.path().join("probe");
    fs::File::create(&probe).unwrap();
    assert_eq!(mode(&out), mode(&probe));
    for private in [0o600, 0o640, 0o400] {
        fs::set_permissions(&out, fs::Permissions::from_mode(private)).unwrap();
        stdout(&run_s(&["pack", s(&src), "-o", s(&out), "-f", "-q"]));
        assert_eq!(mode(&out), private, "pack -f over a {private:o} pack");
        assert!(Pack::open(&out).unwrap().is_file("a/b.txt"));
    }
    // The library's replacement too.
    fs::set_permissions(&out, fs::Permissions::from_mode(0o600)).unwrap();
    treepack::PackBuilder::new().pack_dir(&src, &out).unwrap();
    assert_eq!(mode(&out), 0o600);
    // Refused without -f: the file and its mode stay.
    let before = fs::read(&out).unwrap();
    let refused = run_s(&["pack", s(&src), "-o", s(&out)]);
    assert_clean_failure(&refused);
    assert_eq!(fs::read(&out).unwrap(), before);
    assert_eq!(mode(&out), 0o600);
}

/// Every subcommand that prints, with its output going to a closed pipe (a quiet exit 0) or to
/// a full disk (one error line naming standard output, exit 1): never a panic.
#[test]
fn closed_or_full_stdout_is_a_clean_exit_for_every_subcommand() {
    use std::process::Command;
    let (tmp, out) = packed_fixture();
    let p = s(&out);
    let src = tmp.path().join("src");
    let commands: Vec<Vec<String>> = [
        vec!["ls", p],
        vec!["ls", "-R", "-l", p],
        vec!["ls", "--json", p],
        vec!["cat", p, "a/b.txt", "a/c.png"],
        vec!["info", p],
        vec!["info", "--json", p],
        vec!["verify", p],
        vec!["extract", p, "-o", "DEST", "-f"],
        vec!["pack", s(&src), "-o", "PACK", "-f"],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(str::to_owned).collect())
    .collect();
    for (i, args) in commands.iter().enumerate() {
        let args: Vec<String> = args
            .iter()
            .map(|a| match a.as_str() {
                "DEST" => s(&tmp.path().join(format!("dest{i}"))).to_owned(),
                "PACK" => s(&tmp.path().join(format!("out{i}.fpack"))).to_owned(),
                _ => a.clone(),
            })
            .collect();
        // A full disk, and a closed pipe: the reader is gone before the command writes.
        testkit::cli::assert_clean_on_full_and_closed_stdout(
            "treepack",
            &args.join(" "),
            0,
            || {
                let mut command = Command::new(common::bin());
                command.args(&args);
                command
            },
        );
    }
}

#[test]
fn names_with_control_characters_are_escaped_in_listings_and_errors() {
    use treepack::{EntryMeta, PackWriter};
    let tmp = tempfile::tempdir().unwrap();
    let evil = "clear\u{1b}[2J\nfake line\u{202e}txt.exe";
    let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    w.add_bytes(evil, b"x", EntryMeta::file()).unwrap();
    w.add_symlink("link", evil, EntryMeta::symlink()).unwrap();
    let out = tmp.path().join("evil.fpack");
    fs::write(&out, common::finish(w)).unwrap();
    let escaped = "clear\\u{1b}[2J\\nfake line\\u{202e}txt.exe";
    for args in [vec!["ls", s(&out)], vec!["ls", "-l", "-R", s(&out)]] {
        let text = stdout(&run_s(&args));
        assert!(text.contains(escaped), "{args:?}: {text}");
        assert!(text.contains(&format!("link -> {escaped}")), "{text}");
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}'),
            "{text}"
        );
        assert_eq!(text.lines().count(), 2, "{text}");
    }
    // JSON escapes them its own way, and stays valid.
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&run_s(&["ls", "--json", s(&out)]))).unwrap();
    assert_eq!(json[0]["path"], evil);
    // An error naming the entry: one line, escaped.
    let r = run_s(&["cat", s(&out), &format!("{evil}/below")]);
    let msg = assert_clean_failure(&r);
    assert!(msg.contains(escaped) && !msg.contains('\u{1b}'), "{msg}");
}

#[test]
fn cli_errors_name_flags_not_rust_items() {
    use treepack::{EntryMeta, PackWriter};
    let tmp = tempfile::tempdir().unwrap();
    let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    w.add_bytes("a.txt", b"a", EntryMeta::file()).unwrap();
    w.add_symlink("escape", "/etc/passwd", EntryMeta::symlink())
        .unwrap();
    let out = tmp.path().join("links.fpack");
    fs::write(&out, common::finish(w)).unwrap();
    let dest = tmp.path().join("dest");
    let r = run_s(&["extract", s(&out), "-o", s(&dest)]);
    let msg = assert_clean_failure(&r);
    assert!(msg.contains("--skip-unsafe-links"), "{msg}");
    stdout(&run_s(&[
        "extract",
        s(&out),
        "-o",
        s(&dest),
        "--skip-unsafe-links",
        "-q",
    ]));
    let again = run_s(&["extract", s(&out), "-o", s(&dest), "--skip-unsafe-links"]);
    let msg = assert_clean_failure(&again);
    assert!(msg.contains("pass -f/--force to replace it"), "{msg}");
    for item in [
        "overwrite",
        "ExtractOptions",
        "LockMode",
        "<pack output>",
        "::",
    ] {
        assert!(!msg.contains(item), "{item}: {msg}");
    }
}

/// FilePacker's flags work as its users type them: hidden files skipped unless
/// `--include-hidden`, space- or comma-separated extension lists (not both lists at once),
/// `--ignore-links`, `-v`.
#[test]
fn filepackers_flags() {
    let tmp = fixture();
    let src = tmp.path().join("src");
    let out = tmp.path().join("p.fpack");
    let p = s(&out);
    stdout(&run_s(&[
        "pack",
        "-i",
        s(&src),
        "-o",
        p,
        "-v",
        "--ignore-links",
    ]));
    let pack = Pack::open(&out).unwrap();
    assert!(!pack.exists(".hidden") && pack.is_file("a/b.txt"));
    assert!(pack.entry("link").unwrap().is_symlink());

    stdout(&run_s(&[
        "pack",
        "-i",
        s(&src),
        "-o",
        p,
        "-f",
        "--permitted-exts",
        "png",
        "txt",
        "--include-hidden",
    ]));
    let pack = Pack::open(&out).unwrap();
    assert!(pack.is_file("a/b.txt") && pack.is_file("a/c.png") && !pack.exists(".hidden"));

    stdout(&run_s(&[
        "pack",
        "-i",
        s(&src),
        "-o",
        p,
        "-f",
        "--excluded-exts",
        "png,txt",
    ]));
    let pack = Pack::open(&out).unwrap();
    assert!(!pack.exists("a/b.txt") && !pack.exists("a/c.png"));

    let both = run_s(&[
        "pack",
        "-i",
        s(&src),
        "-o",
        p,
        "-f",
        "--permitted-exts",
        "png",
        "--excluded-exts",
        "txt",
    ]);
    assert_eq!(
        both.status.code(),
        Some(2),
        "both lists at once is a usage error"
    );
}

/// `pack -o URL` writes its local copy in a private directory of `TMPDIR`: a failure there (an
/// unusable `TMPDIR`, a full disk) is one error line naming the URL, never the local copy, and
/// nothing is left in `TMPDIR`. The URL is never reached: `-f` skips the look for an existing
/// object, and the upload would come after the failure.
#[test]
fn pack_to_a_url_names_the_url_when_its_local_copy_fails() {
    let tmp = fixture();
    let src = tmp.path().join("src");
    fs::write(src.join("big.bin"), vec![1u8; 200_000]).unwrap();
    let url = "s3://bucket-never-reached/runs/p.fpack";
    // `ulimit -f` in 512-byte blocks; writes past it fail with EFBIG (SIGXFSZ ignored).
    let run = |tmpdir: &Path, blocks: &str| {
        std::process::Command::new("sh")
            .args([
                "-c",
                r#"trap '' XFSZ; ulimit -f "$1"; shift; exec "$@""#,
                "sh",
            ])
            .arg(blocks)
            .arg(common::bin())
            .args(["pack", s(&src), "-o", url, "-f", "--quiet"])
            .env("TMPDIR", tmpdir)
            .output()
            .unwrap()
    };
    let err = assert_clean_failure(&run(&tmp.path().join("missing"), "unlimited"));
    assert!(
        err.starts_with(&format!(
            "treepack: error: {url}: making a private directory"
        )),
        "{err}"
    );
    let tmpdir = tmp.path().join("tmpdir");
    fs::create_dir(&tmpdir).unwrap();
    let err = assert_clean_failure(&run(&tmpdir, "100"));
    assert!(
        err.starts_with(&format!("treepack: error: {url}: ")),
        "{err}"
    );
    assert!(err.contains("too large"), "{err}");
    assert!(!err.contains(s(&tmpdir)), "{err}");
    assert_eq!(fs::read_dir(&tmpdir).unwrap().count(), 0);
}
