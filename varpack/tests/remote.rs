//! Packs read by requests: the directory form through an [`ObjectDir`], the single-file form
//! and plain numpy `.npz` through a `ByteSource` ([`LoadOptions::load_source`]). Every value
//! equals the local load's, in the requests the crate docs promise (counted by
//! `CountingSource`), and damage is a typed error naming the location. With feature `remote`
//! and the S3 server `cargo xtask test` starts: the same from `s3://` URLs, saves to them, and
//! the `varpack` tool's `show` and `convert` on URLs.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use npy_format::source::{ByteSource, CountingSource, MemorySource};
use npy_format::{DType, Header};
use varpack::{
    Array, Item, LoadErrorKind, LoadOptions, ObjectDir, SaveErrorKind, Status, Value, Varpack,
};

type Counted = Arc<CountingSource<Box<dyn ByteSource>>>;

/// Any object directory, every object it opens counted.
#[derive(Debug)]
struct CountedDir<D> {
    inner: D,
    opened: Mutex<Vec<Counted>>,
}

impl<D: ObjectDir> CountedDir<D> {
    fn new(inner: D) -> Arc<CountedDir<D>> {
        Arc::new(CountedDir {
            inner,
            opened: Mutex::new(Vec::new()),
        })
    }

    /// Requests so far, over every object.
    fn requests(&self) -> u64 {
        self.opened
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.requests())
            .sum()
    }

    /// The requests `f` costs.
    fn cost<T>(&self, f: impl FnOnce() -> T) -> (T, u64) {
        let before = self.requests();
        let value = f();
        (value, self.requests() - before)
    }
}

impl<D: ObjectDir> ObjectDir for CountedDir<D> {
    fn location(&self) -> &str {
        self.inner.location()
    }

    fn open(&self, name: &str) -> io::Result<Box<dyn ByteSource>> {
        let counted = Arc::new(CountingSource::new(self.inner.open(name)?));
        self.opened.lock().unwrap().push(counted.clone());
        Ok(Box::new(counted))
    }
}

/// A directory pack's files in memory, named `mem://NAME/FILE`.
#[derive(Debug)]
struct MemDir {
    location: String,
    files: HashMap<String, Vec<u8>>,
}

impl MemDir {
    /// The files of the directory at `dir`.
    fn of(dir: &Path) -> MemDir {
        let files = std::fs::read_dir(dir).unwrap().map(|e| {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            (name, std::fs::read(e.path()).unwrap())
        });
        MemDir {
            location: "mem://runs/run1".into(),
            files: files.collect(),
        }
    }
}

impl ObjectDir for MemDir {
    fn location(&self) -> &str {
        &self.location
    }

    fn open(&self, name: &str) -> io::Result<Box<dyn ByteSource>> {
        let bytes = self.files.get(name).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "no such object in the store")
        })?;
        let location = format!("{}/{name}", self.location);
        Ok(Box::new(MemorySource::new(bytes.clone(), location)))
    }
}

/// A pack of every kind of value: arrays of several dtypes, orders and byte orders, 0-d arrays,
/// empty arrays, a large one, dicts of arrays and JSON, JSON values grouped and separate,
/// names that are escaped in file names.
fn sample() -> Varpack {
    let mut vp = Varpack::new();
    let temps: Vec<f64> = (0..60).map(|i| f64::from(i) * 0.5 - 3.0).collect();
    vp.insert_array("temperature", &temps, &[6, 10]).unwrap();
    let adc: Vec<i16> = (0..5000).map(|i| (i * 7919 % 4001) as i16 - 2000).collect();
    vp.insert_array("adc", &adc, &[1000, 5]).unwrap();
    vp.insert_array("Mask bits", &[1u8, 0, 1, 1], &[4]).unwrap();
    vp.insert_array("lr", &[0.001f32], &[]).unwrap();
    vp.insert_array("count", &[42u64], &[]).unwrap();
    vp.insert_array("empty", &[0i32; 0], &[0, 3]).unwrap();
    // Big-endian, Fortran order.
    let big = Header::new(DType::parse("'>i4'").unwrap(), true, vec![2, 3]);
    let bytes: Vec<u8> = (1..=6i32).flat_map(i32::to_be_bytes).collect();
    vp.insert("big_endian", Array::from_bytes(big, &bytes).unwrap())
        .unwrap();
    let c64: Vec<u8> = (0..8).flat_map(|i: u32| (i as f32).to_le_bytes()).collect();
    let complex = Header::new(DType::parse("'<c8'").unwrap(), false, vec![4]);
    vp.insert("complex", Array::from_bytes(complex, &c64).unwrap())
        .unwrap();
    // Over the first request of an open (16 KiB): still one request, sized from the manifest.
    let wide: Vec<u32> = (0..50_000).collect();
    vp.insert_array("wide", &wide, &[50_000]).unwrap();
    let mut cams = BTreeMap::new();
    cams.insert(
        "left".to_string(),
        Item::from(Array::from_slice(&[7u16; 12], &[3, 4]).unwrap()),
    );
    cams.insert(
        "Right µ".to_string(),
        Item::from(Array::from_slice(&[9.5f64; 2], &[2]).unwrap()),
    );
    cams.insert("exposure_ms".to_string(), Item::json(&12.5).unwrap());
    vp.insert_dict("cams", cams).unwrap();
    vp.insert_value("settings", &("fast", 3, [true, false]))
        .unwrap();
    vp.insert_value("label", "run 1").unwrap();
    vp.insert_value("notes", &vec!["long"; 50]).unwrap();
    vp.set_separate("notes", true).unwrap();
    vp
}

/// Whether two values are the same: arrays by header and bytes, dicts entry by entry, JSON
/// values by value.
fn assert_same_value(name: &str, a: &Value, b: &Value) {
    let same_array = |a: &Array, b: &Array, what: &str| {
        assert_eq!(a.header(), b.header(), "{what}");
        assert_eq!(a.as_bytes(), b.as_bytes(), "{what}");
    };
    match (a, b) {
        (Value::Array(a), Value::Array(b)) => same_array(a, b, name),
        (Value::Dict(a), Value::Dict(b)) => {
            assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
            for (key, item) in a {
                match (item, &b[key]) {
                    (Item::Array(x), Item::Array(y)) => same_array(x, y, &format!("{name}/{key}")),
                    (Item::Json(x), Item::Json(y)) => assert_eq!(x, y, "{name}/{key}"),
                    _ => panic!("{name}/{key}: another kind"),
                }
            }
        }
        (Value::Json(a), Value::Json(b)) => assert_eq!(a, b, "{name}"),
        _ => panic!("{name}: another kind"),
    }
}

/// Every value of `remote` equals `local`'s, and both list the same values.
fn assert_same_pack(local: &Varpack, remote: &Varpack) {
    assert_eq!(remote.names(), local.names());
    for name in local.names() {
        assert_same_value(name, local.get(name).unwrap(), remote.get(name).unwrap());
        // From storage, arrays are in memory.
        assert_ne!(remote.status(name), Some(Status::Mapped), "{name}");
    }
    let strip = |vp: &Varpack| -> Vec<serde_json::Value> {
        vp.infos()
            .iter()
            .map(|i| {
                let mut json = serde_json::to_value(i).unwrap();
                json.as_object_mut().unwrap().remove("status");
                json
            })
            .collect()
    };
    assert_eq!(strip(remote), strip(local));
}

/// The single-file pack at `path` in memory, counted.
fn counted_file(path: &Path, location: &str) -> Arc<CountingSource<MemorySource>> {
    let bytes = std::fs::read(path).unwrap();
    Arc::new(CountingSource::new(MemorySource::new(bytes, location)))
}

#[test]
fn a_directory_pack_from_objects_is_the_local_pack_read_value_by_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run1");
    sample().save_as(&path).unwrap();
    let local = Varpack::load(&path).unwrap();

    let objects = CountedDir::new(MemDir::of(&path));
    let (remote, n) = objects.cost(|| LoadOptions::new().load_objects(objects.clone()).unwrap());
    assert_eq!(n, 1, "a lazy load costs the manifest only");
    assert!(
        remote
            .names()
            .iter()
            .all(|n| remote.status(n) == Some(Status::Unloaded))
    );
    assert_eq!(remote.url(), Some("mem://runs/run1"));
    assert_eq!(remote.path(), None);

    // Each array: one request, header and data (the large one too: the manifest says its size).
    for name in ["temperature", "wide", "lr", "empty", "big_endian"] {
        let (_, n) = objects.cost(|| remote.array(name).unwrap());
        assert_eq!(n, 1, "{name}");
        assert_eq!(remote.status(name), Some(Status::Loaded));
    }
    // JSON values: values.json once, for all of them; a separate one its own object.
    let (_, n) = objects.cost(|| remote.get("settings").unwrap());
    assert_eq!(n, 1, "values.json");
    let (_, n) = objects.cost(|| remote.get("label").unwrap());
    assert_eq!(n, 0, "values.json is kept");
    let (_, n) = objects.cost(|| remote.get("notes").unwrap());
    assert_eq!(n, 1, "a separate value");
    // A dict: each of its arrays (its JSON entries are in values.json, already read).
    let (_, n) = objects.cost(|| remote.dict("cams").unwrap());
    assert_eq!(n, 2, "cams: two arrays");
    let (_, n) = objects.cost(|| remote.get("cams").unwrap());
    assert_eq!(n, 0, "read once");

    assert_same_pack(&local, &remote);
    assert_eq!(remote.get_scalar::<f32>("lr").unwrap(), 0.001);
    assert_eq!(
        remote.view::<u32>("wide").unwrap().as_slice()[49_999],
        49_999
    );

    // Eager: every value now, each file once.
    let objects = CountedDir::new(MemDir::of(&path));
    let (eager, n) = objects.cost(|| {
        LoadOptions::new()
            .lazy(false)
            .load_objects(objects.clone())
            .unwrap()
    });
    let arrays = 11; // 9 arrays and the dict's two
    assert_eq!(n, 1 + arrays + 2, "manifest, arrays, values.json, notes");
    assert!(
        eager
            .names()
            .iter()
            .all(|n| eager.status(n) == Some(Status::Loaded))
    );
    assert_same_pack(&local, &eager);
}

#[test]
fn a_lazy_load_of_a_hundred_arrays_costs_one_request_and_an_array_one_more() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hundred");
    let mut vp = Varpack::new();
    for i in 0..100u32 {
        let data: Vec<u32> = (0..1000).map(|j| i * 1000 + j).collect();
        vp.insert_array(&format!("a{i:03}"), &data, &[10, 100])
            .unwrap();
    }
    vp.save_as(&path).unwrap();
    let objects = CountedDir::new(MemDir::of(&path));
    let (remote, n) = objects.cost(|| Varpack::new_from(objects.clone()));
    assert_eq!(n, 1);
    assert_eq!(remote.len(), 100);
    let (view, n) = objects.cost(|| remote.view::<u32>("a057").unwrap().as_slice()[999]);
    assert_eq!((view, n), (57_999, 1));
    let (_, n) = objects.cost(|| remote.array("a057").unwrap());
    assert_eq!(n, 0);
    assert_eq!(objects.requests(), 2);
}

/// The default load of an object directory.
trait NewFrom {
    fn new_from(objects: impl ObjectDir + 'static) -> Varpack;
}

impl NewFrom for Varpack {
    fn new_from(objects: impl ObjectDir + 'static) -> Varpack {
        LoadOptions::new().load_objects(objects).unwrap()
    }
}

#[test]
fn a_manifest_short_of_an_arrays_size_costs_a_second_request_never_an_allocation_of_its_claim() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p");
    let mut vp = Varpack::new();
    let data: Vec<u64> = (0..20_000).collect();
    vp.insert_array("x", &data, &[20_000]).unwrap();
    vp.insert_array("y", &[1u8, 2, 3], &[3]).unwrap();
    vp.save_as(&path).unwrap();
    let mut files = MemDir::of(&path);
    let manifest = String::from_utf8(files.files["varpack.json"].clone()).unwrap();
    // x claims no bytes (read in two requests), y claims an exabyte (read in one: the claim
    // is only a hint, capped; the allocation is the header's, checked against the object).
    let crafted = manifest
        .replacen("\"bytes\": 160000", "\"bytes\": 0", 1)
        .replacen("\"bytes\": 3", "\"bytes\": 1152921504606846976", 1);
    assert_ne!(crafted, manifest);
    files
        .files
        .insert("varpack.json".into(), crafted.into_bytes());
    let objects = CountedDir::new(files);
    let remote = Varpack::new_from(objects.clone());
    let (x, n) = objects.cost(|| remote.view::<u64>("x").unwrap().as_slice().to_vec());
    assert_eq!((x, n), (data, 2));
    let (y, n) = objects.cost(|| remote.array("y").unwrap().as_bytes().to_vec());
    assert_eq!((y, n), (vec![1, 2, 3], 1));
}

#[test]
fn a_single_file_pack_from_a_source_is_the_local_pack() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run1.npz");
    sample().save_as(&path).unwrap();
    let local = Varpack::load(&path).unwrap();
    let source = counted_file(&path, "mem://runs/run1.npz");
    let remote = LoadOptions::new().load_source(source.clone()).unwrap();
    assert!(
        source.requests() <= 3,
        "open (1 or 2) and the manifest: {}",
        source.requests()
    );
    assert_eq!(source.requests(), 2);
    assert!(
        remote
            .names()
            .iter()
            .all(|n| remote.status(n) == Some(Status::Unloaded))
    );
    // Each array: its whole member, one request (up to 8 MiB).
    for name in ["temperature", "wide", "lr", "empty"] {
        let before = source.requests();
        remote.array(name).unwrap();
        assert_eq!(source.requests() - before, 1, "{name}");
    }
    let before = source.requests();
    remote.get("settings").unwrap();
    remote.get("label").unwrap();
    assert_eq!(source.requests() - before, 1, "values.json once");
    assert_same_pack(&local, &remote);
    assert_eq!(remote.url(), Some("mem://runs/run1.npz"));

    // Eager, and a plain numpy .npz (stored and deflated members).
    let eager = LoadOptions::new()
        .lazy(false)
        .load_source(counted_file(&path, "mem://run1.npz"))
        .unwrap();
    assert_same_pack(&local, &eager);
    let plain = dir.path().join("plain.npz");
    for compression in [
        npz_stream::Compression::Stored,
        npz_stream::Compression::deflate(),
    ] {
        let mut npz = npz_stream::NpzWriter::options()
            .compression(compression)
            .align(false)
            .create(&plain)
            .unwrap();
        npz.add_array("x", &[1.5f64, 2.5, 3.5], &[3]).unwrap();
        npz.add_array("n", &[7i64], &[]).unwrap();
        npz.add_file("notes.txt", b"not an array").unwrap();
        npz.finish().unwrap();
        let local = Varpack::load(&plain).unwrap();
        let remote = LoadOptions::new()
            .load_source(counted_file(&plain, "mem://plain.npz"))
            .unwrap();
        assert_same_pack(&local, &remote);
        assert_eq!(remote.skipped_members(), local.skipped_members());
        let strict = LoadOptions::new()
            .strict(true)
            .load_source(counted_file(&plain, "mem://plain.npz"))
            .unwrap_err();
        assert!(matches!(strict.kind(), LoadErrorKind::NotLoadable { .. }));
    }
}

#[test]
fn damage_is_a_typed_error_naming_the_location() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p");
    let mut vp = Varpack::new();
    vp.insert_array("x", &[1.0f64, 2.0, 3.0], &[3]).unwrap();
    vp.insert_value("n", &1).unwrap();
    vp.save_as(&path).unwrap();
    let files = || MemDir::of(&path);
    let load = |files: MemDir| LoadOptions::new().load_objects(files);

    // No manifest: not found, naming the manifest's URL.
    let mut missing = files();
    missing.files.remove("varpack.json");
    let err = load(missing).unwrap_err();
    assert_eq!(err.path(), Path::new("mem://runs/run1/varpack.json"));
    assert!(
        matches!(err.kind(), LoadErrorKind::Io { source } if source.kind() == io::ErrorKind::NotFound),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("mem://runs/run1/varpack.json: "),
        "{err}"
    );

    // An array object missing: the value's error on first access, naming the pack.
    let mut missing = files();
    missing.files.remove("x.npy");
    let remote = load(missing).unwrap();
    let err = remote.array("x").unwrap_err();
    let varpack::GetError::Load(err) = err else {
        panic!("{err}")
    };
    assert_eq!(err.path(), Path::new("mem://runs/run1"));
    assert!(
        matches!(err.kind(), LoadErrorKind::MissingFile { .. }),
        "{err}"
    );
    assert_eq!(remote.get_value::<i32>("n").unwrap(), 1);

    // Crafted manifests: not JSON, another version, a file outside the prefix.
    let manifest = String::from_utf8(files().files["varpack.json"].clone()).unwrap();
    for (crafted, what) in [
        ("{".to_string(), "not JSON"),
        (
            manifest.replace("\"version\": 1", "\"version\": 99"),
            "version",
        ),
        (manifest.replace("\"x.npy\"", "\"../x.npy\""), "outside"),
    ] {
        let mut bad = files();
        bad.files
            .insert("varpack.json".into(), crafted.into_bytes());
        let err = load(bad).unwrap_err();
        assert_eq!(
            err.path(),
            Path::new("mem://runs/run1/varpack.json"),
            "{what}"
        );
        assert!(
            matches!(
                err.kind(),
                LoadErrorKind::Manifest { .. } | LoadErrorKind::Version { .. }
            ),
            "{what}: {err}"
        );
    }

    // An array object that disagrees with the manifest, or is cut short.
    let mut other = files();
    let mut bytes = Vec::new();
    npy_format::write_array(&mut bytes, &[1i32, 2, 3], &[3], false).unwrap();
    other.files.insert("x.npy".into(), bytes);
    let err = load(other).unwrap().array("x").unwrap_err().to_string();
    assert!(
        err.starts_with("mem://runs/run1: value 'x': the manifest says dtype"),
        "{err}"
    );
    let mut cut = files();
    let x = cut.files.get_mut("x.npy").unwrap();
    x.truncate(x.len() - 4);
    let err = load(cut).unwrap().array("x").unwrap_err();
    let varpack::GetError::Load(err) = err else {
        panic!("{err}")
    };
    assert_eq!(err.path(), Path::new("mem://runs/run1/x.npy"));
    assert!(
        matches!(
            err.kind(),
            LoadErrorKind::Npy {
                source: npy_format::ReadErrorKind::Truncated {
                    expected: 24,
                    available: 20,
                    ..
                },
                ..
            }
        ),
        "{err}"
    );
    let mut garbage = files();
    garbage
        .files
        .insert("x.npy".into(), b"not an npy file".to_vec());
    let err = load(garbage).unwrap().array("x").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("mem://runs/run1/x.npy: value 'x': "),
        "{err}"
    );

    // A single-file pack cut short: the archive's open error, naming it.
    let npz = dir.path().join("p.npz");
    vp.save_as(&npz).unwrap();
    let bytes = std::fs::read(&npz).unwrap();
    let cut = MemorySource::new(bytes[..bytes.len() / 2].to_vec(), "mem://p.npz");
    let err = LoadOptions::new().load_source(cut).unwrap_err();
    assert_eq!(err.path(), Path::new("mem://p.npz"));
    assert!(matches!(err.kind(), LoadErrorKind::NpzOpen(_)), "{err}");
}

#[test]
fn a_pack_from_storage_is_never_saved_back_there_by_save() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p");
    sample().save_as(&path).unwrap();
    let mut remote = Varpack::new_from(MemDir::of(&path));
    remote.replace_value("label", "changed").unwrap();
    let err = remote.save().unwrap_err();
    assert!(matches!(err.kind(), SaveErrorKind::FromStorage), "{err}");
    assert_eq!(err.path(), Path::new("mem://runs/run1"));
    assert!(
        err.to_string()
            .starts_with("mem://runs/run1: loaded from object storage")
    );
    // A copy to a local path: values not read are read from storage as they are written.
    for copy in [dir.path().join("copy"), dir.path().join("copy.npz")] {
        remote.save_as(&copy).unwrap();
        let saved = Varpack::load(&copy).unwrap();
        assert_eq!(saved.get_value::<String>("label").unwrap(), "changed");
        let local = Varpack::load(&path).unwrap();
        assert_same_value("adc", local.get("adc").unwrap(), saved.get("adc").unwrap());
    }
    // Attached to a local path, it saves there.
    remote.set_path(dir.path().join("attached"));
    remote.save().unwrap();
    assert_eq!(remote.url(), None);
    assert_eq!(
        Varpack::load(dir.path().join("attached")).unwrap().len(),
        sample().len()
    );
    // A URL given where a local path is taken: refused, nothing written (no directory `s3:`).
    let cwd = std::env::current_dir().unwrap();
    for url in ["s3://bucket/runs/run2.npz", "s3://bucket/runs/run2"] {
        let err = remote.save_as(url).unwrap_err();
        assert!(matches!(err.kind(), SaveErrorKind::Url), "{err}");
        assert!(
            err.to_string()
                .ends_with("use save_as_location to save to object storage")
        );
    }
    assert!(!cwd.join("s3:").exists());
    // The directory form is never written to storage (refused before any request).
    let err = remote
        .save_as_location("s3://bucket/runs/run2")
        .unwrap_err();
    assert!(
        matches!(err.kind(), SaveErrorKind::DirectoryToStorage),
        "{err}"
    );
    assert_eq!(err.path(), Path::new("s3://bucket/runs/run2"));
}

/// The same from S3 (the server `cargo xtask test` starts: moto, its address in
/// `AWS_ENDPOINT_URL`, test credentials in the environment).
#[cfg(feature = "remote")]
mod s3 {
    use super::*;
    use npy_format::source::{RemoteSource, upload_file};

    fn bucket() -> String {
        std::env::var("ARRAY_FILES_TEST_BUCKET").expect(
            "ARRAY_FILES_TEST_BUCKET and AWS_ENDPOINT_URL: run `cargo xtask test`, which starts an S3 server",
        )
    }

    /// A URL of the test bucket, under a prefix of this test process's own.
    fn url(key: &str) -> String {
        static RUN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let run = RUN.get_or_init(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            format!("varpack-{}-{nanos}", std::process::id())
        });
        format!("s3://{}/{run}/{key}", bucket())
    }

    /// Uploads the local pack at `path` to `to`: a single file as it is, a directory file by
    /// file (as `aws s3 cp --recursive` does: each key the prefix and the file's name as it
    /// is; `%` is escaped in the URL, whose path is percent-decoded).
    fn upload(path: &Path, to: &str) {
        if !path.is_dir() {
            upload_file(path, to).unwrap();
            return;
        }
        for entry in std::fs::read_dir(path).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let object = format!("{}/{}", to.trim_end_matches('/'), name.replace('%', "%25"));
            upload_file(entry.path(), &object).unwrap();
        }
    }

    /// `sample()` saved in both forms under `dir` and uploaded: (local path, URL) of each.
    fn uploaded(dir: &Path, name: &str) -> [(std::path::PathBuf, String); 2] {
        let vp = sample();
        [name.to_string(), format!("{name}.npz")].map(|file| {
            let path = dir.join(&file);
            vp.save_as(&path).unwrap();
            let to = url(&file);
            upload(&path, &to);
            (path, to)
        })
    }

    #[test]
    #[ignore = "needs an S3 server: run `cargo xtask test`"]
    fn both_forms_in_s3_load_as_the_local_packs_in_few_requests() {
        let dir = tempfile::tempdir().unwrap();
        let [(dir_path, dir_url), (file_path, file_url)] = uploaded(dir.path(), "both");
        for (path, url) in [
            (&dir_path, dir_url.clone()),
            (&dir_path, format!("{dir_url}/")),
            (&file_path, file_url.clone()),
        ] {
            let local = Varpack::load(path).unwrap();
            let remote = Varpack::load_location(&url).unwrap();
            assert_eq!(remote.url(), Some(url.as_str()));
            assert!(
                remote
                    .names()
                    .iter()
                    .all(|n| remote.status(n) == Some(Status::Unloaded))
            );
            assert_same_pack(&local, &remote);
            let eager = LoadOptions::new().lazy(false).load_location(&url).unwrap();
            assert_same_pack(&local, &eager);
            assert!(eager.to_string().starts_with(&format!("Varpack {url}: ")));
        }

        // The requests, on the real store: the directory form...
        let objects = CountedDir::new(RemoteSource::open(&dir_url).unwrap());
        let (remote, n) = objects.cost(|| Varpack::new_from(objects.clone()));
        assert_eq!(n, 1, "the manifest: one GET");
        for name in ["temperature", "wide", "lr", "empty"] {
            let (_, n) = objects.cost(|| remote.array(name).unwrap());
            assert_eq!(n, 1, "{name}: one GET");
        }
        let (_, n) = objects.cost(|| {
            remote.get("settings").unwrap();
            remote.get("label").unwrap();
        });
        assert_eq!(n, 1, "values.json: one GET");
        // ... and the single file.
        let source = Arc::new(CountingSource::new(RemoteSource::open(&file_url).unwrap()));
        let remote = LoadOptions::new().load_source(source.clone()).unwrap();
        assert_eq!(
            source.requests(),
            2,
            "the archive's directory and the manifest"
        );
        for name in ["temperature", "wide", "lr"] {
            let before = source.requests();
            remote.array(name).unwrap();
            assert_eq!(source.requests() - before, 1, "{name}: one GET");
        }
    }

    #[test]
    #[ignore = "needs an S3 server: run `cargo xtask test`"]
    fn a_hundred_arrays_in_s3_cost_one_request_to_load_and_one_per_array() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hundred");
        let mut vp = Varpack::new();
        for i in 0..100u32 {
            let data: Vec<f32> = (0..500).map(|j| (i * 500 + j) as f32).collect();
            vp.insert_array(&format!("Frame {i:03}"), &data, &[5, 100])
                .unwrap();
        }
        vp.save_as(&path).unwrap();
        let to = url("hundred");
        upload(&path, &to);
        let objects = CountedDir::new(RemoteSource::open(&to).unwrap());
        let (remote, n) = objects.cost(|| Varpack::new_from(objects.clone()));
        assert_eq!((remote.len(), n), (100, 1));
        let (last, n) = objects.cost(|| remote.view::<f32>("Frame 042").unwrap().as_slice()[499]);
        assert_eq!((last, n), (42.0 * 500.0 + 499.0, 1));
        assert_same_pack(&Varpack::load(&path).unwrap(), &remote);
        assert_eq!(objects.requests(), 101);
    }

    #[test]
    #[ignore = "needs an S3 server: run `cargo xtask test`"]
    fn missing_and_crafted_packs_in_s3_are_typed_errors_naming_the_url() {
        let not_found = |e: &LoadErrorKind| {
            matches!(e, LoadErrorKind::Io { source } if source.kind() == io::ErrorKind::NotFound)
                || matches!(e, LoadErrorKind::NpzOpen(npz_stream::OpenErrorKind::Io { source }) if source.kind() == io::ErrorKind::NotFound)
        };
        // No such prefix, no such archive.
        let missing = url("missing");
        let err = Varpack::load_location(&missing).unwrap_err();
        assert_eq!(err.path(), Path::new(&format!("{missing}/varpack.json")));
        assert!(not_found(err.kind()), "{err}");
        assert_eq!(err.to_string().matches(&missing).count(), 1, "{err}");
        let missing = url("missing.npz");
        let err = Varpack::load_location(&missing).unwrap_err();
        assert_eq!(err.path(), Path::new(&missing));
        assert!(not_found(err.kind()), "{err}");

        // An array object missing; a crafted manifest.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("damaged");
        let mut vp = Varpack::new();
        vp.insert_array("x", &[1u8, 2], &[2]).unwrap();
        vp.insert_array("y", &[3u8], &[1]).unwrap();
        vp.save_as(&path).unwrap();
        std::fs::remove_file(path.join("y.npy")).unwrap();
        let to = url("damaged");
        upload(&path, &to);
        let remote = Varpack::load_location(&to).unwrap();
        assert_eq!(remote.array("x").unwrap().as_bytes(), &[1, 2]);
        let varpack::GetError::Load(err) = remote.array("y").unwrap_err() else {
            panic!()
        };
        assert_eq!(err.path(), Path::new(&to));
        assert!(
            matches!(err.kind(), LoadErrorKind::MissingFile { .. }),
            "{err}"
        );
        std::fs::write(path.join("varpack.json"), b"{\"format\": \"varpack\"}").unwrap();
        let to = url("crafted");
        upload(&path, &to);
        let err = Varpack::load_location(&to).unwrap_err();
        assert_eq!(err.path(), Path::new(&format!("{to}/varpack.json")));
        assert!(
            matches!(err.kind(), LoadErrorKind::Manifest { .. }),
            "{err}"
        );
    }

    #[test]
    #[ignore = "needs an S3 server: run `cargo xtask test`"]
    fn saves_to_s3_are_single_files_uploaded_whole() {
        let dir = tempfile::tempdir().unwrap();
        let vp = sample();
        let to = url("saved.npz");
        vp.save_as_location(&to).unwrap();
        let local = dir.path().join("local.npz");
        vp.save_as(&local).unwrap();
        let remote = Varpack::load_location(&to).unwrap();
        assert_same_pack(&Varpack::load(&local).unwrap(), &remote);
        // Replaced by save_as_location, refused by save_as_new_location.
        let mut other = Varpack::new();
        other.insert_value("n", &2).unwrap();
        let err = other.save_as_new_location(&to).unwrap_err();
        assert!(matches!(err.kind(), SaveErrorKind::Exists), "{err}");
        assert_eq!(Varpack::load_location(&to).unwrap().len(), vp.len());
        other.save_as_location(&to).unwrap();
        assert_eq!(
            Varpack::load_location(&to)
                .unwrap()
                .get_value::<i32>("n")
                .unwrap(),
            2
        );
        // A copy of a pack read from storage, to storage: values not read are read as written.
        let copy = url("copy.npz");
        remote.save_as_location(&copy).unwrap();
        assert_same_pack(
            &Varpack::load(&local).unwrap(),
            &Varpack::load_location(&copy).unwrap(),
        );
        // The directory form: refused, nothing written.
        let prefix = url("never");
        let err = vp.save_as_location(&prefix).unwrap_err();
        assert!(
            matches!(err.kind(), SaveErrorKind::DirectoryToStorage),
            "{err}"
        );
        let manifest = RemoteSource::open(&format!("{prefix}/varpack.json")).unwrap();
        assert_eq!(manifest.len().unwrap_err().kind(), io::ErrorKind::NotFound);
    }

    /// The `varpack` tool on `s3://` URLs: `show` prints what it prints for the local pack,
    /// `convert` copies packs out of and into storage.
    #[cfg(feature = "cli")]
    #[test]
    #[ignore = "needs an S3 server: run `cargo xtask test`"]
    fn the_varpack_tool_shows_and_converts_urls() {
        use std::process::Command;
        let varpack = |args: &[&str]| {
            let out = Command::new(env!("CARGO_BIN_EXE_varpack"))
                .args(args)
                .output()
                .unwrap();
            (
                out.status.code(),
                String::from_utf8(out.stdout).unwrap(),
                String::from_utf8(out.stderr).unwrap(),
            )
        };
        let dir = tempfile::tempdir().unwrap();
        for (path, url) in uploaded(dir.path(), "shown") {
            let local = path.to_str().unwrap();
            for extra in [&[][..], &["--json"][..]] {
                let run = |file: &str| {
                    let mut args = vec!["show", file];
                    args.extend(extra);
                    varpack(&args)
                };
                let (code, out, err) = run(&url);
                let (local_code, local_out, _) = run(local);
                assert_eq!((code, local_code), (Some(0), Some(0)), "{url}: {err}");
                assert_eq!(out.replace(&url, local), local_out, "show {extra:?} {url}");
            }
            // Out of storage into both local forms, and back into storage.
            let local_pack = Varpack::load(&path).unwrap();
            let tag = path
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .replace('.', "-");
            for (i, out) in ["out", "out.npz"].iter().enumerate() {
                let out = dir.path().join(format!("{tag}-{i}-{out}"));
                let (code, _, err) = varpack(&["convert", &url, out.to_str().unwrap()]);
                assert_eq!(code, Some(0), "{err}");
                let copied = LoadOptions::new().memory_map(false).load(&out).unwrap();
                assert_same_pack(&local_pack, &copied);
                let back = super::s3::url(&format!("back-{tag}-{i}.npz"));
                let (code, _, err) = varpack(&["convert", out.to_str().unwrap(), &back]);
                assert_eq!(code, Some(0), "{err}");
                assert_same_pack(&local_pack, &Varpack::load_location(&back).unwrap());
                // An existing object: refused without -f, replaced with it.
                let (code, _, err) = varpack(&["convert", local, &back]);
                assert_eq!(code, Some(1));
                assert_eq!(
                    err,
                    format!("varpack: error: {back} exists; pass -f/--force to replace it\n")
                );
                let (code, _, err) = varpack(&["convert", local, &back, "-f"]);
                assert_eq!(code, Some(0), "{err}");
            }
        }
        // A directory URL as OUT is refused; a missing URL as IN names it.
        let shown = dir.path().join("shown");
        let (code, _, err) = varpack(&["convert", shown.to_str().unwrap(), &url("dir-out")]);
        assert_eq!(code, Some(1));
        assert!(
            err.contains("the directory form cannot be saved to object storage"),
            "{err}"
        );
        let missing = url("missing");
        let (code, _, err) = varpack(&["show", &missing]);
        assert_eq!(code, Some(1));
        assert!(
            err.starts_with(&format!("varpack: error: {missing}/varpack.json: ")),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}
