//! Fault injection for pack building: a writer that fails after a random number of bytes
//! (`PackWriter` and `PackBuilder::pack_dir_to` take any `Write + Seek`), a disk that fills up at
//! a random byte while packing over an existing pack (a child process with `RLIMIT_FSIZE`, so
//! writes fail with `EFBIG`), and packers killed with SIGKILL at a random moment.
//!
//! What is asserted is what the builder documents: the header is written last, so an unfinished
//! pack never opens; a failure is returned as an error (never a truncated pack reported as
//! done); the output path is replaced by rename only when the pack is complete, so it holds the
//! previous pack or the new one, byte for byte, and a failed build removes its temporary file;
//! a temporary file left by a killed build (or a killed process whose id is reused) does not
//! stop the next build.
//!
//! `ARRAY_FILES_TRIALS` sets the trials per test (default 25, 40 for the in-memory one; the
//! full run uses 300),
//! `ARRAY_FILES_SEED` the base seed (see `testkit::faults`).
#![cfg(unix)]

mod common;

use std::io::Cursor;
use std::path::Path;
use std::time::Duration;

use testkit::faults::{self as fs_, FailAfter, Rng, report};
use treepack::{BuildError, EntryMeta, Pack, PackBuilder, PackWriter};

/// A random tree under `root`: nested files (empty, small, some over the builder's 1 MiB
/// streaming threshold), an empty directory, a symlink.
fn make_tree(root: &Path, rng: &mut Rng) {
    let files = rng.range(0, 60) as usize;
    common::make_tree(root, files, rng.next());
    std::fs::create_dir_all(root.join("empty/dir")).unwrap();
    std::os::unix::fs::symlink("../f0.bin", root.join("empty/link")).unwrap();
    if rng.chance(1, 6) {
        let len = rng.range(1 << 20, 2 << 20) as usize;
        std::fs::write(root.join("big.bin"), rng.bytes(len)).unwrap();
    }
}

/// The pack of `src` as bytes (the builder is deterministic but for the index seed: compare
/// with [`common::same_pack`]).
fn reference(src: &Path) -> Vec<u8> {
    let (cursor, _) = PackBuilder::new()
        .pack_dir_to(src, Cursor::new(Vec::new()))
        .unwrap();
    cursor.into_inner()
}

/// Checks that `pack` is a complete pack of `src`: its checksums, every file's contents, and
/// (unless `files_only`: packed from readers) every directory and symlink.
fn check_pack_of(pack: &Pack, src: &Path, files_only: bool) {
    pack.verify().unwrap();
    for (path, node) in common::snapshot(src) {
        match node {
            common::Node::File { data, .. } => assert_eq!(pack.bytes(&path).unwrap(), &data[..]),
            _ if files_only => {}
            common::Node::Dir => assert!(pack.is_dir(&path), "{path}"),
            common::Node::Link(target) => assert_eq!(pack.read_link(&path).unwrap(), target),
        }
    }
}

/// A byte budget for output that needs `needed` bytes: mostly short of it, at a random byte;
/// one time in five enough.
fn budget_for(rng: &mut Rng, needed: u64) -> u64 {
    if rng.chance(1, 5) {
        needed + rng.below(64)
    } else {
        rng.below(needed)
    }
}

#[test]
fn a_failing_writer_is_an_error_and_never_a_pack_that_opens() {
    fs_::run_trials("filepack builder, failing writer", 25, |rng, _| {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        make_tree(&src, rng);
        let full = reference(&src);
        // The writer writes the placeholder header, the data and tables, then the header again.
        let needed = full.len() as u64 + treepack::format::SEEDED_HEADER_LEN;
        let budget = budget_for(rng, needed);
        let builder = PackBuilder::new().threads(rng.range(1, 3) as usize);
        let shared = SharedBuf::default();
        let result = builder.pack_dir_to(&src, FailAfter::new(shared.clone(), budget));
        let written = shared.bytes();
        match result {
            Ok((out, summary)) => {
                assert!(
                    budget >= needed,
                    "a pack was reported done after a failed write"
                );
                assert_eq!(out.failures, 0);
                assert_eq!(summary.pack_len, full.len() as u64);
                assert!(common::same_pack(&written, &full));
                "enough room".into()
            }
            Err(e) => {
                assert!(budget < needed, "{e}");
                assert!(fs_::is_disk_full(&e), "not the writer's error: {e:?}");
                // What was written never opens as a pack, whatever byte it stopped at.
                assert!(
                    Pack::from_vec(written).is_err(),
                    "an unfinished pack opens (budget {budget} of {needed})"
                );
                "failed: error returned, nothing opens".into()
            }
        }
    });
}

/// Adds `entries` to a `PackWriter` over `out` in every way there is (streamed readers, bytes,
/// directories, symlinks), then finishes it.
fn write_entries(
    out: FailAfter<SharedBuf>,
    entries: &[(String, Vec<u8>)],
    alignment: u64,
) -> Result<(), BuildError> {
    let mut w = PackWriter::with_alignment(out, alignment)?;
    for (i, (path, data)) in entries.iter().enumerate() {
        match i % 4 {
            0 => {
                w.add_file(path, &data[..], EntryMeta::file())?;
            }
            1 => w.add_bytes(path, data, EntryMeta::file().mode(0o600))?,
            2 => {
                w.add_dir(&format!("{path}.d"), EntryMeta::dir())?;
                w.add_bytes(path, data, EntryMeta::file())?;
            }
            _ => {
                w.add_symlink(&format!("{path}.l"), path, EntryMeta::symlink())?;
                w.add_bytes(path, data, EntryMeta::file())?;
            }
        }
    }
    w.finish().map(|_| ())
}

/// `PackWriter` directly, the output failing at a random byte: the error comes back from the
/// call that hit it, and whatever reached the output by then never opens.
#[test]
fn a_failing_writer_never_leaves_an_unfinished_pack_that_opens() {
    fs_::run_trials("filepack PackWriter, failing writer", 40, |rng, _| {
        let alignment = 1u64 << rng.below(13);
        let entries: Vec<(String, Vec<u8>)> = (0..rng.range(0, 40))
            .map(|i| {
                let len = match rng.below(8) {
                    0 => rng.below(300_000) as usize,
                    _ => rng.below(2000) as usize,
                };
                (format!("d{}/f{i}", rng.below(4)), rng.bytes(len))
            })
            .collect();
        let reference = SharedBuf::default();
        write_entries(
            FailAfter::new(reference.clone(), u64::MAX),
            &entries,
            alignment,
        )
        .unwrap();
        let full = reference.bytes();
        Pack::from_vec(full.clone()).unwrap().verify().unwrap();
        let needed = full.len() as u64 + treepack::format::SEEDED_HEADER_LEN;
        let budget = budget_for(rng, needed);
        let shared = SharedBuf::default();
        let result = write_entries(FailAfter::new(shared.clone(), budget), &entries, alignment);
        let written = shared.bytes();
        match result {
            Ok(()) => {
                assert!(budget >= needed, "finished after a failed write");
                assert!(common::same_pack(&written, &full));
                "enough room".into()
            }
            Err(e) => {
                assert!(budget < needed, "{e}");
                assert!(fs_::is_disk_full(&e), "{e:?}");
                assert!(
                    Pack::from_vec(written).is_err(),
                    "an unfinished pack opens (budget {budget} of {needed})"
                );
                "failed: error returned, nothing opens".into()
            }
        }
    });
}

/// A `Cursor<Vec<u8>>` shared with the test, so the bytes stay readable after the writer that
/// owns it is dropped.
#[derive(Debug, Clone, Default)]
struct SharedBuf(std::rc::Rc<std::cell::RefCell<Cursor<Vec<u8>>>>);

impl SharedBuf {
    fn bytes(&self) -> Vec<u8> {
        self.0.borrow().get_ref().clone()
    }
}

impl std::io::Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl std::io::Seek for SharedBuf {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.0.borrow_mut().seek(pos)
    }
}

#[test]
fn child_entry() {
    let Some((role, arg)) = fs_::child_role() else {
        return;
    };
    let parts: Vec<&str> = arg.split('\t').collect();
    match role.as_str() {
        "full" => {
            let (out, src) = (Path::new(parts[0]), Path::new(parts[1]));
            let limit: u64 = parts[2].parse().unwrap();
            let sync = parts[3] == "sync";
            let readers = parts[4] == "readers";
            fs_::limit_file_size(limit);
            let builder = PackBuilder::new().sync(sync).threads(2);
            let result = if readers {
                builder.pack_readers(reader_pairs(src), out)
            } else {
                builder.pack_dir(src, out)
            };
            match result {
                Ok(summary) => report("packed", summary.pack_len),
                Err(e) => {
                    report("error_full", fs_::is_disk_full(&e));
                    report("error", e);
                }
            }
        }
        "killed" => {
            let out = Path::new(parts[0]);
            let sources = [Path::new(parts[1]), Path::new(parts[2])];
            let builder = PackBuilder::new().sync(parts[3] == "sync");
            report("ready", 1);
            for i in 0usize.. {
                builder.pack_dir(sources[i % 2], out).unwrap();
                report("packed", i % 2);
            }
        }
        "extract" => {
            let (pack, dest) = (Path::new(parts[0]), Path::new(parts[1]));
            let limit: u64 = parts[2].parse().unwrap();
            fs_::limit_file_size(limit);
            let pack = Pack::open(pack).unwrap();
            let options = treepack::ExtractOptions::new().overwrite(parts[3] == "overwrite");
            match pack.extract_with(dest, &options) {
                Ok(summary) => report("extracted", summary.files),
                Err(e) => {
                    report("error_full", fs_::is_disk_full(&e));
                    report("error", e);
                }
            }
        }
        other => panic!("unknown child role {other}"),
    }
}

/// Every file of `src` as `(path, reader)`, sorted by path: `pack_readers`'s input.
fn reader_pairs(src: &Path) -> Vec<(String, std::fs::File)> {
    common::snapshot(src)
        .into_iter()
        .filter(|(_, node)| matches!(node, common::Node::File { .. }))
        .map(|(path, _)| {
            let file = std::fs::File::open(src.join(&path)).unwrap();
            (path, file)
        })
        .collect()
}

#[test]
fn a_full_disk_while_packing_keeps_the_previous_pack() {
    let _serial = fs_::serial();
    fs_::run_trials("filepack full disk", 25, |rng, _| {
        let dir = tempfile::tempdir().unwrap();
        let (old_src, new_src) = (dir.path().join("a"), dir.path().join("b"));
        make_tree(&old_src, rng);
        make_tree(&new_src, rng);
        let outs = dir.path().join("out");
        std::fs::create_dir(&outs).unwrap();
        let out = outs.join("p.fpack");
        let previous = rng.chance(3, 4);
        if previous {
            PackBuilder::new().pack_dir(&old_src, &out).unwrap();
        }
        let before = previous.then(|| std::fs::read(&out).unwrap());
        let readers = rng.chance(1, 3);
        let expected = if readers {
            let reference = dir.path().join("reference.fpack");
            PackBuilder::new()
                .pack_readers(reader_pairs(&new_src), &reference)
                .unwrap();
            std::fs::read(reference).unwrap()
        } else {
            reference(&new_src)
        };
        let limit = budget_for(rng, expected.len() as u64);
        let sync = if rng.chance(1, 4) { "sync" } else { "nosync" };
        let arg = format!(
            "{}\t{}\t{limit}\t{sync}\t{}",
            out.display(),
            new_src.display(),
            if readers { "readers" } else { "dir" }
        );
        let child = fs_::run_child("full", &arg);
        assert!(child.status.success(), "{child}");
        let outcome = if child.has("packed") {
            assert!(
                common::same_pack(&std::fs::read(&out).unwrap(), &expected),
                "{child}"
            );
            check_pack_of(&Pack::open(&out).unwrap(), &new_src, readers);
            "enough room: the new pack"
        } else {
            assert_eq!(child.get("error_full"), Some("true"), "{child}");
            match &before {
                Some(bytes) => assert!(std::fs::read(&out).unwrap() == *bytes, "{child}"),
                None => assert!(!out.exists(), "{child}"),
            }
            "failed: error returned, previous pack kept"
        };
        // A failed build removes its temporary file.
        let names = fs_::names_in(&outs);
        let expected_names: Vec<&str> = if out.exists() {
            vec!["p.fpack"]
        } else {
            vec![]
        };
        assert_eq!(names, expected_names, "{child}");
        outcome.into()
    });
}

#[test]
fn a_killed_packer_leaves_the_previous_or_the_new_pack() {
    let _serial = fs_::serial();
    fs_::run_trials("filepack killed", 25, |rng, _| {
        let dir = tempfile::tempdir().unwrap();
        let sources = [dir.path().join("a"), dir.path().join("b")];
        for src in &sources {
            make_tree(src, rng);
        }
        let refs = [reference(&sources[0]), reference(&sources[1])];
        let outs = dir.path().join("out");
        std::fs::create_dir(&outs).unwrap();
        let out = outs.join("p.fpack");
        let previous = rng.chance(1, 2);
        if previous {
            PackBuilder::new().pack_dir(&sources[1], &out).unwrap();
        }
        let sync = if rng.chance(1, 3) { "sync" } else { "nosync" };
        let arg = format!(
            "{}\t{}\t{}\t{sync}",
            out.display(),
            sources[0].display(),
            sources[1].display()
        );
        let delay = Duration::from_micros(rng.below(60_000));
        let child = fs_::kill_child_after("killed", &arg, delay);
        let outcome = if out.exists() {
            let bytes = std::fs::read(&out).unwrap();
            let which = refs
                .iter()
                .position(|r| common::same_pack(r, &bytes))
                .unwrap_or_else(|| panic!("the pack at the path is neither tree's: {child}"));
            check_pack_of(&Pack::open(&out).unwrap(), &sources[which], false);
            if child.has("packed") || previous {
                "the previous or the new pack"
            } else {
                "the first pack, renamed just before the kill"
            }
        } else {
            assert!(
                !previous && !child.has("packed"),
                "the pack disappeared: {child}"
            );
            "killed before the first pack was in place"
        };
        // A temporary file may be left behind; if it opens, it is a complete pack (killed
        // between its last write and its rename), never a partial one.
        let mut leftover = "";
        for name in fs_::names_in(&outs) {
            if name == "p.fpack" {
                continue;
            }
            assert!(
                name.starts_with(".p.fpack.") && name.ends_with(".tmp"),
                "stray file {name}: {child}"
            );
            let bytes = std::fs::read(outs.join(&name)).unwrap();
            leftover = if Pack::from_vec(bytes.clone()).is_ok() {
                assert!(
                    refs.iter().any(|r| common::same_pack(r, &bytes)),
                    "a partial pack opens: {child}"
                );
                ", complete temporary file left (killed before its rename)"
            } else {
                ", temporary file left"
            };
        }
        // The next build is not stopped by what the kill left.
        PackBuilder::new().pack_dir(&sources[0], &out).unwrap();
        assert!(common::same_pack(&std::fs::read(&out).unwrap(), &refs[0]));
        format!("{outcome}{leftover}")
    });
}

/// A temporary file left by a killed build whose process id this process now has (ids are
/// reused, and a container's are small and alike) does not stop the build.
#[test]
fn a_stale_temporary_file_does_not_stop_the_next_build() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("a.txt"), "a").unwrap();
    let out = dir.path().join("p.fpack");
    let stale = dir
        .path()
        .join(format!(".p.fpack.{}.tmp", std::process::id()));
    std::fs::write(&stale, "left by a killed build").unwrap();
    PackBuilder::new().pack_dir(&src, &out).unwrap();
    assert_eq!(Pack::open(&out).unwrap().read_str("a.txt").unwrap(), "a");
    PackBuilder::new()
        .pack_readers([("b.txt", &b"b"[..])], &out)
        .unwrap();
    assert_eq!(Pack::open(&out).unwrap().read_str("b.txt").unwrap(), "b");
    // The stale file is not this build's to remove.
    assert_eq!(std::fs::read(&stale).unwrap(), b"left by a killed build");
}

/// `treepack verify` and `treepack extract` while another process truncates the pack they have
/// mapped: each exits 0 (done before the cut reached what it read) or 1 with one line naming
/// the pack, never dies of `SIGBUS`.
#[test]
fn a_pack_truncated_while_the_cli_reads_it_is_an_error_not_a_signal() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    let _serial = fs_::serial();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let mut seed = Rng(7);
    for i in 0..48 {
        std::fs::write(src.join(format!("f{i:02}")), seed.bytes(1 << 20)).unwrap();
    }
    let reference = dir.path().join("reference.fpack");
    PackBuilder::new().pack_dir(&src, &reference).unwrap();
    let full = std::fs::read(&reference).unwrap();
    fs_::run_trials("filepack CLI, pack truncated while read", 16, |rng, i| {
        let pack = dir.path().join("p.fpack");
        std::fs::write(&pack, &full).unwrap();
        let out = dir.path().join(format!("out{i}"));
        let mut cmd = Command::new(common::bin());
        if i % 2 == 0 {
            cmd.arg("verify").arg(&pack);
        } else {
            cmd.arg("extract").arg(&pack).arg("-o").arg(&out);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.below(25)));
        let cut = rng.below(full.len() as u64 / 2);
        std::fs::File::options()
            .write(true)
            .open(&pack)
            .unwrap()
            .set_len(cut)
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.signal(),
            None,
            "{:?} died of a signal; stderr: {stderr}",
            cmd.get_args().next()
        );
        let what = if i % 2 == 0 { "verify" } else { "extract" };
        if output.status.success() {
            return format!("{what}: done before the cut");
        }
        common::assert_clean_failure(&output);
        assert!(stderr.contains("p.fpack"), "{stderr}");
        if stderr.contains("shrank") {
            format!("{what}: error, the pack shrank while mapped")
        } else {
            format!("{what}: error at open or from the checks")
        }
    });
}

/// `Pack::extract` on a disk that fills up at a random byte (`RLIMIT_FSIZE` in a child, so the
/// limit applies to each file written): the error is returned, no file is left cut short under
/// its final name (each file exists complete or not at all, old or new), and no temporary file
/// is left behind.
#[test]
fn a_full_disk_while_extracting_leaves_no_partial_file() {
    let _serial = fs_::serial();
    fs_::run_trials("treepack extract, full disk", 25, |rng, _| {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        make_tree(&src, rng);
        let pack_path = dir.path().join("p.fpack");
        PackBuilder::new().pack_dir(&src, &pack_path).unwrap();
        let pack = Pack::open(&pack_path).unwrap();
        let largest = pack.entries().map(|e| e.unwrap().len()).max().unwrap_or(0);
        let dest = dir.path().join("dest");
        // Half the time over an earlier extraction (of other contents): files replaced.
        let over = rng.chance(1, 2);
        let old: std::collections::BTreeMap<String, Vec<u8>> = if over {
            std::fs::create_dir(&dest).unwrap();
            pack.entries()
                .map(|e| e.unwrap())
                .filter(|e| e.is_file())
                .map(|e| {
                    let old = format!("old contents of {}", e.path()).into_bytes();
                    let abs = dest.join(e.path());
                    std::fs::create_dir_all(abs.parent().unwrap()).unwrap();
                    std::fs::write(&abs, &old).unwrap();
                    (e.path().to_owned(), old)
                })
                .collect()
        } else {
            Default::default()
        };
        // The limit is per file: at least the largest file's size, and everything fits.
        let limit = if rng.chance(1, 5) {
            largest + 1
        } else {
            rng.below(largest + 1)
        };
        let arg = format!(
            "{}\t{}\t{limit}\t{}",
            pack_path.display(),
            dest.display(),
            if over { "overwrite" } else { "new" }
        );
        let child = fs_::run_child("extract", &arg);
        assert!(child.status.success(), "{child}");
        let done = child.has("extracted");
        if !done {
            assert_eq!(child.get("error_full"), Some("true"), "{child}");
        }
        // Every file under its final name is complete: the pack's or the old one.
        let mut complete = 0;
        for e in pack.entries() {
            let e = e.unwrap();
            let Some(data) = e.data() else { continue };
            let abs = dest.join(e.path());
            match std::fs::read(&abs) {
                Ok(bytes) if bytes == data => complete += 1,
                Ok(bytes) => assert_eq!(
                    Some(&bytes),
                    old.get(e.path()),
                    "{}: neither the pack's contents nor the old file: {child}",
                    e.path()
                ),
                Err(err) => {
                    assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{child}");
                    assert!(!done, "{}: missing after success: {child}", e.path());
                }
            }
        }
        // No temporary file anywhere under dest.
        for (path, _) in common::snapshot(&dest) {
            let name = path.rsplit('/').next().unwrap();
            assert!(!name.ends_with(".tmp"), "temporary {path} left: {child}");
        }
        if done {
            "enough room: everything extracted".into()
        } else if complete == 0 {
            "failed on the first file: nothing under a final name".into()
        } else {
            "failed: the files before it complete, no partial file".into()
        }
    });
}

/// What a killed extraction leaves (`.NAME.PID-N.tmp` of a dead process) is removed by the next
/// extraction that writes NAME; a live process's temporary file is left alone.
#[test]
fn the_next_extraction_removes_stale_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = PackWriter::new(Cursor::new(Vec::new())).unwrap();
    w.add_bytes("a.txt", b"a", EntryMeta::file()).unwrap();
    w.add_bytes("d/b.txt", b"b", EntryMeta::file()).unwrap();
    let pack = Pack::from_vec(common::finish(w)).unwrap();
    let dest = dir.path().join("dest");
    std::fs::create_dir_all(dest.join("d")).unwrap();
    // 0x7fff_fff0 is above any Linux pid_max: never a live process.
    let dead = 0x7fff_fff0u32;
    let stale = [
        dest.join(format!(".a.txt.{dead}-0.tmp")),
        dest.join(format!("d/.b.txt.{dead}-3.tmp")),
    ];
    let live = dest.join(format!(".a.txt.{}-0.tmp", std::process::id()));
    let other = dest.join(format!(".unrelated.{dead}-0.tmp"));
    for path in stale.iter().chain([&live, &other]) {
        std::fs::write(path, b"half a file").unwrap();
    }
    pack.extract(&dest).unwrap();
    for path in &stale {
        assert!(!path.exists(), "{} left", path.display());
    }
    assert!(live.exists(), "a live process's temporary file was removed");
    assert!(other.exists(), "a temporary file of no entry was removed");
    assert_eq!(std::fs::read(dest.join("d/b.txt")).unwrap(), b"b");
}
