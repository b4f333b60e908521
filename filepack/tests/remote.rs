//! Packs read through a source (object storage): every read equals the same read of the local
//! pack, the open costs at most two requests whatever the entry count, a batch of reads one
//! coalesced call; and (ignored unless `cargo xtask test` runs its S3 server) the same from
//! `s3://` URLs, the `treepack` command included.
#![cfg(feature = "remote")]

mod common;

use std::sync::Arc;

use npy_format::source::{CountingSource, MemorySource};
use proptest::prelude::*;
use treepack::{EntryMeta, ErrorKind, OpenOptions, Pack, PackWriter};

/// A pack of `files` files (sizes from 0 to a few KiB) in nested directories, with a symlink.
fn pack_bytes(files: usize, seed: u64) -> Vec<u8> {
    let mut rng = common::Rng(seed * 2 + 1);
    let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    for i in 0..files {
        let len = rng.below(4000) as usize;
        let path = format!("d{}/s{}/f{i}.bin", i % 7, i % 3);
        w.add_bytes(&path, &rng.bytes(len), EntryMeta::file())
            .unwrap();
    }
    w.add_symlink("link", "d0/s0/f0.bin", EntryMeta::symlink())
        .unwrap();
    w.finish().unwrap().0.into_inner()
}

fn counted(bytes: Vec<u8>) -> Arc<CountingSource<MemorySource>> {
    Arc::new(CountingSource::new(MemorySource::new(
        bytes,
        "mem://pack.fpack",
    )))
}

/// Every path of the pack, walked.
fn paths(pack: &Pack) -> Vec<String> {
    pack.walk("")
        .unwrap()
        .map(|e| e.unwrap().path().to_owned())
        .collect()
}

#[test]
fn an_open_is_two_requests_whatever_the_size_and_one_for_a_small_pack() {
    for files in [3000, 20_000] {
        let bytes = pack_bytes(files, 1);
        let source = counted(bytes.clone());
        let pack = OpenOptions::new().open_source(source.clone()).unwrap();
        assert_eq!(source.requests(), 2, "{files} files");
        assert!(!pack.is_local());
        assert_eq!(pack.path().unwrap().to_str(), Some("mem://pack.fpack"));
        // Lookups, listings and walks cost nothing more.
        let local = Pack::from_vec(bytes).unwrap();
        assert_eq!(paths(&pack), paths(&local));
        assert_eq!(
            pack.listdir("d3/s1").unwrap(),
            local.listdir("d3/s1").unwrap()
        );
        assert!(pack.is_file("link") && pack.exists("d6/s2"));
        assert_eq!(source.requests(), 2);
        pack.verify_tables().unwrap();
    }
    let small = pack_bytes(5, 2);
    assert!(small.len() < treepack::HEAD_BYTES);
    let source = counted(small);
    let pack = OpenOptions::new().open_source(source.clone()).unwrap();
    assert_eq!(source.requests(), 1);
    assert!(pack.is_local(), "a pack that came whole is in memory");
}

#[test]
fn reads_fetch_one_range_each_and_a_batch_one_call() {
    let bytes = pack_bytes(3000, 3);
    let local = Pack::from_vec(bytes.clone()).unwrap();
    let source = counted(bytes);
    let pack = OpenOptions::new()
        .verify_reads(true)
        .open_source(source.clone())
        .unwrap();
    let opened = source.requests();
    assert_eq!(
        &*pack.read("d1/s1/f1.bin").unwrap(),
        local.bytes("d1/s1/f1.bin").unwrap()
    );
    assert_eq!(
        &*pack.read("link").unwrap(),
        local.bytes("d0/s0/f0.bin").unwrap()
    );
    assert_eq!(source.requests(), opened + 2);
    let batch: Vec<String> = (0..64)
        .map(|i| format!("d{}/s{}/f{}.bin", (i * 37) % 7, (i * 37) % 3, i * 37))
        .collect();
    let before = source.requests();
    let got = pack.read_many(&batch);
    let want = local.bytes_many(&batch);
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.as_deref().unwrap(), *w.as_ref().unwrap());
    }
    let spent = source.requests() - before;
    assert!(spent <= 12, "64 files spread over 6 MB: {spent} requests");
    // Errors stay per path; borrowing is refused with a clear error.
    let got = pack.read_many(&["missing", "d0", "d0/s0/f0.bin"]);
    assert!(matches!(got[0], Err(ref e) if matches!(e.kind(), ErrorKind::NotFound { .. })));
    assert!(matches!(got[1], Err(ref e) if matches!(e.kind(), ErrorKind::NotAFile { .. })));
    assert!(got[2].is_ok());
    let err = pack.bytes("d0/s0/f0.bin").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::NotLocal { .. }), "{err}");
    assert!(err.to_string().contains("read_many"), "{err}");
    assert_eq!(pack.entry("d0/s0/f0.bin").unwrap().data(), None);
    assert!(pack.verify().is_ok());
}

#[test]
fn a_changed_byte_in_a_fetched_file_is_a_checksum_error_with_verify_reads() {
    let mut bytes = pack_bytes(3000, 4);
    let local = Pack::from_vec(bytes.clone()).unwrap();
    let entry = local.entry("d2/s2/f2.bin").unwrap();
    assert!(entry.len() > 0);
    // The file's offset: where its contents sit in the pack.
    let at = entry.data().unwrap().as_ptr() as usize - local.as_bytes().as_ptr() as usize;
    bytes[at] ^= 1;
    let pack = OpenOptions::new()
        .verify_reads(true)
        .open_source(counted(bytes))
        .unwrap();
    assert!(matches!(
        pack.read("d2/s2/f2.bin"),
        Err(ref e) if matches!(e.kind(), ErrorKind::Checksum { .. })
    ));
    assert!(matches!(
        pack.read_many(&["d2/s2/f2.bin"])[0],
        Err(ref e) if matches!(e.kind(), ErrorKind::Checksum { .. })
    ));
    assert!(pack.verify().is_err());
}

#[test]
fn broken_objects_are_typed_errors_naming_the_location() {
    let bytes = pack_bytes(3000, 5);
    for cut in [0, 10, 200, 70_000, bytes.len() - 1] {
        let err = OpenOptions::new()
            .open_source(counted(bytes[..cut].to_vec()))
            .unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::NotAPack { .. } | ErrorKind::Corrupt { .. }
            ),
            "cut at {cut}: {err:?}"
        );
        assert_eq!(err.path(), std::path::Path::new("mem://pack.fpack"));
        assert!(err.to_string().starts_with("mem://pack.fpack: "), "{err}");
    }
    let mut tables = bytes.clone();
    let last = tables.len() - 3;
    tables[last] ^= 0xff;
    let err = OpenOptions::new()
        .verify_tables(true)
        .open_source(counted(tables))
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Checksum { .. }), "{err:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn every_read_by_ranges_is_the_maps(files in 1usize..1500, seed in 0u64..1000, picks in proptest::collection::vec(0usize..1500, 1..40)) {
        let bytes = pack_bytes(files, seed);
        let local = Pack::from_vec(bytes.clone()).unwrap();
        let pack = OpenOptions::new().open_source(MemorySource::new(bytes, "m")).unwrap();
        let all: Vec<String> = local.entries().map(|e| e.unwrap().path().to_owned()).collect();
        let chosen: Vec<&str> = picks.iter().map(|&i| all[i % all.len()].as_str()).collect();
        for path in &chosen {
            let want = local.read(path).map(|c| c.to_vec()).map_err(|e| e.kind().to_string());
            let got = pack.read(path).map(|c| c.to_vec()).map_err(|e| e.kind().to_string());
            prop_assert_eq!(got, want);
        }
        let got: Vec<_> = pack.read_many(&chosen).into_iter().map(|r| r.map(|c| c.to_vec()).map_err(|e| e.kind().to_string())).collect();
        let want: Vec<_> = local.read_many(&chosen).into_iter().map(|r| r.map(|c| c.to_vec()).map_err(|e| e.kind().to_string())).collect();
        prop_assert_eq!(got, want);
    }
}

/// Against the S3 server `cargo xtask test` starts.
mod s3 {
    use super::*;
    use npy_format::source::{RemoteSource, RemoteWriter};
    use std::io::Write;

    fn url(key: &str) -> String {
        let bucket = std::env::var("ARRAY_FILES_TEST_BUCKET").expect(
            "ARRAY_FILES_TEST_BUCKET and AWS_ENDPOINT_URL: run `cargo xtask test`, which starts an S3 server",
        );
        format!("s3://{bucket}/treepack-{}/{key}", std::process::id())
    }

    fn upload(key: &str, bytes: &[u8]) -> String {
        let url = url(key);
        let mut w = RemoteWriter::create(&url).unwrap();
        w.write_all(bytes).unwrap();
        w.finish().unwrap();
        url
    }

    #[test]
    #[ignore = "needs an S3 server: run `cargo xtask test`"]
    fn a_pack_in_s3_opens_in_two_requests_and_reads_as_the_local_one() {
        let bytes = pack_bytes(20_000, 6);
        let big = upload("big.fpack", &bytes);
        let source = Arc::new(CountingSource::new(RemoteSource::open(&big).unwrap()));
        let pack = OpenOptions::new().open_source(source.clone()).unwrap();
        assert_eq!(source.requests(), 2);
        let local = Pack::from_vec(bytes).unwrap();
        assert_eq!(paths(&pack), paths(&local));
        let batch: Vec<String> = (0..64)
            .map(|i| format!("d{}/s{}/f{}.bin", (i * 311) % 7, (i * 311) % 3, i * 311))
            .collect();
        for (g, w) in pack.read_many(&batch).iter().zip(local.bytes_many(&batch)) {
            assert_eq!(g.as_deref().unwrap(), w.unwrap());
        }
        let by_url = Pack::open_location(&big).unwrap();
        assert_eq!(&*by_url.read("link").unwrap(), local.bytes("link").unwrap());
        let missing = Pack::open_location(&url("missing.fpack")).unwrap_err();
        assert!(
            matches!(&missing.kind(), ErrorKind::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
            "{missing}"
        );
        assert!(missing.to_string().contains("missing.fpack"), "{missing}");
    }

    #[test]
    #[ignore = "needs an S3 server: run `cargo xtask test`"]
    fn the_command_reads_a_url_as_the_local_file() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = pack_bytes(3000, 7);
        let local = dir.path().join("p.fpack");
        std::fs::write(&local, &bytes).unwrap();
        // Leaked: the argument lists borrow them for the whole test.
        let url: &'static str = upload("cli.fpack", &bytes).leak();
        let local: &'static str = local.to_str().unwrap().to_owned().leak();
        let out = |args: &[&str]| {
            let out = common::run_s(args);
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        for args in [
            &["ls", "PACK", "-R", "--json"][..],
            &["ls", "PACK", "d3"],
            &["cat", "PACK", "d1/s1/f1.bin", "link"],
            &["info", "PACK", "--json"],
        ] {
            let with = |p: &'static str| -> Vec<&'static str> {
                args.iter()
                    .map(|a| if *a == "PACK" { p } else { *a })
                    .collect()
            };
            let remote = String::from_utf8_lossy(&out(&with(url))).replace(url, "PACK");
            let here = String::from_utf8_lossy(&out(&with(local))).replace(local, "PACK");
            assert_eq!(remote, here, "{args:?}");
        }
        let verify = String::from_utf8(out(&["verify", url])).unwrap();
        assert!(verify.contains("ok: "), "{verify}");
        let into = dir.path().join("out");
        out(&["extract", url, "-o", into.to_str().unwrap(), "--quiet"]);
        assert_eq!(
            std::fs::read(into.join("d1/s1/f1.bin")).unwrap(),
            Pack::from_vec(bytes)
                .unwrap()
                .bytes("d1/s1/f1.bin")
                .unwrap()
        );
        let failed = common::run_s(&["ls", &url.replace("cli.fpack", "none.fpack")]);
        let err = common::assert_clean_failure(&failed);
        assert!(err.contains("none.fpack"), "{err}");
    }

    #[test]
    #[ignore = "needs an S3 server: run `cargo xtask test`"]
    fn pack_writes_to_a_url_whole_and_refuses_an_existing_key_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let files = common::make_tree(&src, 300, 9);
        let target: &'static str = url("packed.fpack").leak();
        let run = |args: &[&str]| common::run_s(args);
        let ok = run(&["pack", src.to_str().unwrap(), "-o", target, "--quiet"]);
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        let pack = Pack::open_location(target).unwrap();
        for (path, bytes) in &files {
            assert_eq!(&*pack.read(path).unwrap(), &bytes[..], "{path}");
        }
        let again = run(&["pack", src.to_str().unwrap(), "-o", target, "--quiet"]);
        let err = common::assert_clean_failure(&again);
        assert!(err.contains("exists"), "{err}");
        // The local copy is made in a private directory of TMPDIR, removed after the upload.
        let tmpdir = dir.path().join("tmpdir");
        std::fs::create_dir(&tmpdir).unwrap();
        let forced = std::process::Command::new(common::bin())
            .args(["pack", src.to_str().unwrap(), "-o", target, "--quiet", "-f"])
            .env("TMPDIR", &tmpdir)
            .output()
            .unwrap();
        assert!(
            forced.status.success(),
            "{}",
            String::from_utf8_lossy(&forced.stderr)
        );
        assert_eq!(std::fs::read_dir(&tmpdir).unwrap().count(), 0);
    }
}
