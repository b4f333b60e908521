//! The `zip` crate as an independent oracle beside numpy's `zipfile`: every kind of archive this
//! crate writes is read back by `zip` (names, bytes, CRC-32 checked on every read), and
//! archives that `zip` writes (stored and deflated, zip64, data descriptors, an archive comment)
//! are read by this crate.

use std::io::{Read, Write};
use std::path::Path;

use npy_format::{DType, FrameSink, Header};
use npz_stream::{Compression, NpzReader, NpzWriter};
use proptest::prelude::*;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// Every member of `path` through the `zip` crate: name and bytes. Reading a member to its end
/// makes `zip` check its CRC-32, so a wrong CRC is an error here.
fn read_with_zip(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut archive = ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut member = archive.by_index(i).unwrap();
            let name = member.name().unwrap().into_owned();
            let mut bytes = Vec::new();
            member.read_to_end(&mut bytes).unwrap();
            assert_eq!(bytes.len() as u64, member.size(), "{name}");
            (name, bytes)
        })
        .collect()
}

/// The members as this crate reads them, in the order of the central directory.
fn read_with_us(path: &Path) -> Vec<(String, Vec<u8>)> {
    let reader = NpzReader::open(path).unwrap();
    reader
        .infos()
        .unwrap()
        .into_iter()
        .map(|info| {
            reader.verify(&info.key).unwrap();
            (info.name.clone(), reader.read_bytes(&info.key).unwrap())
        })
        .collect()
}

fn npy_bytes(values: &[f64], shape: &[u64]) -> Vec<u8> {
    let mut bytes = Vec::new();
    npy_format::write_array(&mut bytes, values, shape, false).unwrap();
    bytes
}

#[test]
fn every_kind_of_archive_we_write_reads_in_the_zip_crate() {
    let dir = tempfile::tempdir().unwrap();
    let ramp: Vec<f64> = (0..50_000).map(f64::from).collect();
    for (name, compression, chunk) in [
        ("stored.npz", Compression::Stored, None),
        ("deflated.npz", Compression::deflate(), None),
        ("seekable.npz", Compression::deflate(), Some(16 * 1024)),
    ] {
        let path = dir.path().join(name);
        let mut options = NpzWriter::options().compression(compression);
        if let Some(chunk) = chunk {
            options = options.chunk_size(chunk);
        }
        let mut npz = options.create(&path).unwrap();
        npz.add_array("ramp", &ramp, &[250, 200]).unwrap();
        npz.add_array("empty", &[0u8; 0], &[0, 3]).unwrap();
        npz.add_array("scalar", &[7i64], &[]).unwrap();
        let header = Header::new(DType::parse("<u2").unwrap(), false, vec![0, 4]);
        let mut sink = npz.begin_member("streamed", &header).unwrap();
        for frame in 0..1000u16 {
            sink.append(&[frame, frame + 1, frame + 2, frame + 3])
                .unwrap();
        }
        sink.finish().unwrap();
        npz.finish().unwrap();

        // Appended to: new members after the old end records.
        let mut npz = NpzWriter::options()
            .compression(compression)
            .append(&path)
            .unwrap();
        npz.add_array("appended", &[1.5f32, 2.5], &[2]).unwrap();
        npz.finish().unwrap();

        // An interrupted append (a kill after some new bytes), then recovered.
        let before = std::fs::read(&path).unwrap();
        let mut junk = before.clone();
        junk.extend_from_slice(b"PK\x03\x04 half a local header and half a member");
        std::fs::write(&path, &junk).unwrap();
        npz_stream::recover(&path).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "{name}: recover cut the junk"
        );

        let theirs = read_with_zip(&path);
        let ours = read_with_us(&path);
        assert_eq!(theirs, ours, "{name}");
        let names: Vec<&str> = theirs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "ramp.npy",
                "empty.npy",
                "scalar.npy",
                "streamed.npy",
                "appended.npy"
            ],
            "{name}"
        );
    }
}

#[test]
fn archives_the_zip_crate_writes_read_here() {
    let dir = tempfile::tempdir().unwrap();
    let a = npy_bytes(&(0..1000).map(f64::from).collect::<Vec<_>>(), &[10, 100]);
    let b = npy_bytes(&[0.25; 4096], &[4096]);
    for (name, method, zip64, streamed) in [
        ("stored.npz", CompressionMethod::Stored, false, false),
        ("deflated.npz", CompressionMethod::Deflated, false, false),
        ("zip64.npz", CompressionMethod::Deflated, true, false),
        ("stored-zip64.npz", CompressionMethod::Stored, true, false),
        ("descriptors.npz", CompressionMethod::Deflated, false, true),
    ] {
        let path = dir.path().join(name);
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .large_file(zip64);
        let members = [("a.npy", &a), ("dir/b.npy", &b)];
        if streamed {
            // A writer that cannot seek: sizes and CRCs go in data descriptors after each
            // member, and the local headers hold zeros.
            let mut out = Vec::new();
            let mut zip = ZipWriter::new_stream(&mut out);
            for (member, bytes) in members {
                zip.start_file(member, options).unwrap();
                zip.write_all(bytes).unwrap();
            }
            zip.set_comment("written by the zip crate, streamed")
                .unwrap();
            zip.finish().unwrap();
            std::fs::write(&path, out).unwrap();
        } else {
            let mut zip = ZipWriter::new(std::fs::File::create(&path).unwrap());
            for (member, bytes) in members {
                zip.start_file(member, options).unwrap();
                zip.write_all(bytes).unwrap();
            }
            zip.set_comment("written by the zip crate").unwrap();
            zip.finish().unwrap();
        }
        let reader = NpzReader::open(&path).unwrap();
        assert_eq!(reader.keys(), ["a", "dir/b"], "{name}");
        assert_eq!(reader.read_bytes("a").unwrap(), a, "{name}");
        assert_eq!(reader.read_bytes("dir/b").unwrap(), b, "{name}");
        reader.verify("a").unwrap();
        reader.verify("dir/b").unwrap();
        assert_eq!(reader.info("a").unwrap().header.shape, vec![10, 100]);
        let values = reader.read_array::<f64>("a").unwrap();
        assert_eq!(values.data[999], 999.0, "{name}");
        assert_eq!(read_with_us(&path), read_with_zip(&path), "{name}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random arrays under random keys, stored or deflated: the zip crate reads back what we
    /// wrote, byte for byte.
    #[test]
    fn random_archives_agree_with_the_zip_crate(
        arrays in proptest::collection::vec(
            (
                "[a-z][a-z0-9_]{0,11}",
                proptest::collection::vec(any::<i32>(), 0..300),
            ),
            1..5,
        ),
        deflate in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.npz");
        let compression = if deflate { Compression::deflate() } else { Compression::Stored };
        let mut npz = NpzWriter::options().compression(compression).create(&path).unwrap();
        let mut keys = Vec::new();
        for (key, values) in &arrays {
            if keys.contains(key) {
                continue;
            }
            npz.add_array(key, values, &[values.len() as u64]).unwrap();
            keys.push(key.clone());
        }
        npz.finish().unwrap();
        let theirs = read_with_zip(&path);
        prop_assert_eq!(theirs.len(), keys.len());
        prop_assert_eq!(&theirs, &read_with_us(&path));
        for ((name, bytes), key) in theirs.iter().zip(&keys) {
            prop_assert_eq!(name, &format!("{key}.npy"));
            let values = &arrays.iter().find(|(k, _)| k == key).unwrap().1;
            let mut expected = Vec::new();
            npy_format::write_array(&mut expected, values, &[values.len() as u64], false).unwrap();
            prop_assert_eq!(bytes, &expected);
        }
    }
}
