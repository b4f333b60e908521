//! Errors name the pack they are about: its path (or URL) for a pack opened from a file, nothing
//! for a pack in memory; the entry and the offset inside it come after.

use std::path::Path;

use treepack::{EntryMeta, ErrorKind, Pack, PackWriter};

fn pack_bytes(name: &str) -> Vec<u8> {
    let mut w = PackWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    w.add_bytes(name, b"contents", EntryMeta::file()).unwrap();
    w.add_dir("dir", EntryMeta::dir()).unwrap();
    w.finish().unwrap().0.into_inner()
}

#[test]
fn two_packs_open_at_once_give_errors_naming_each_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.fpack"), dir.path().join("b.fpack"));
    std::fs::write(&a, pack_bytes("x.txt")).unwrap();
    std::fs::write(&b, pack_bytes("y.txt")).unwrap();
    let (pa, pb) = (Pack::open(&a).unwrap(), Pack::open(&b).unwrap());
    for (pack, path, missing) in [(&pa, &a, "y.txt"), (&pb, &b, "x.txt")] {
        let err = pack.bytes(missing).unwrap_err();
        assert_eq!(err.path(), path.as_path());
        assert!(matches!(err.kind(), ErrorKind::NotFound { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "{}: {missing:?}: no such file or directory in the pack",
                path.display()
            )
        );
        // Every kind of call names it: lookups, reads, listings, batches, views.
        let errors = [
            pack.entry(missing).unwrap_err(),
            pack.read(missing).unwrap_err(),
            pack.read_to_string("dir").unwrap_err(),
            pack.listdir(missing).unwrap_err(),
            pack.bytes_many(&[missing]).pop().unwrap().unwrap_err(),
            pack.read_many(&[missing]).pop().unwrap().unwrap_err(),
            pack.npy(missing).unwrap_err(),
            pack.walk(missing).err().unwrap(),
        ];
        for err in errors {
            assert_eq!(err.path(), path.as_path(), "{err}");
        }
    }
}

#[test]
fn a_pack_in_memory_has_no_path_and_its_errors_no_prefix() {
    let pack = Pack::from_vec(pack_bytes("x.txt")).unwrap();
    let err = pack.bytes("nope").unwrap_err();
    assert_eq!(err.path(), Path::new(""));
    assert_eq!(
        err.to_string(),
        "\"nope\": no such file or directory in the pack"
    );
}

#[test]
fn open_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_pack = dir.path().join("notes.txt");
    std::fs::write(&not_a_pack, "hello, this is not a pack at all".repeat(10)).unwrap();
    let err = Pack::open(&not_a_pack).unwrap_err();
    assert_eq!(err.path(), not_a_pack.as_path());
    assert!(matches!(err.kind(), ErrorKind::NotAPack { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("{}: not a filepack", not_a_pack.display())),
        "{err}"
    );
    let missing = dir.path().join("missing.fpack");
    let err = Pack::open(&missing).unwrap_err();
    assert_eq!(err.path(), missing.as_path());
    assert!(
        matches!(err.kind(), ErrorKind::Io { source } if source.kind() == std::io::ErrorKind::NotFound)
    );
    // The path once: the kind's message does not repeat it.
    assert_eq!(err.to_string().matches("missing.fpack").count(), 1, "{err}");
}
