//! Mutation tests of `.npz` reading: archives made by this crate's writer (stored and aligned,
//! stored and unaligned as numpy's `savez`, deflated with a seek index, deflated without one,
//! streamed members, raw members) are mutated in their zip records, NPY headers, seek indexes
//! and data, then listed, read whole, read by frames at random (from stored members, seek-index
//! points, zran points), indexed and mapped. Every call returns `Ok` or a typed error: never a
//! panic, never an allocation larger than the input allows, never a hang (see
//! `testkit::mutation`).
//!
//! A failing case prints its sample and mutations in Rust syntax; paste them into
//! `regressions` below.

use testkit::mutation;

#[global_allocator]
static ALLOC: mutation::CountingAlloc = mutation::CountingAlloc;

use std::io::Read;
use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

use mutation::{Mutation, Runner, Sample, apply, show};
use npy_format::{DType, FrameSink, FrameSource, Header};
use npz_stream::{Compression, Method, NpzReader, NpzWriter, WriterOptions};

/// A deflated member may legitimately inflate to 1032 times its compressed size (deflate's
/// limit, which the reader enforces on declared sizes), and whole reads and frame reads return
/// that much: the factor allows it. The slack covers the fixed buffers (64 KiB of input, a
/// 64 KiB window, up to 256 KiB of scratch when skipping, the 64 KiB end-record search).
const FACTOR: usize = 1033;
const SLACK: usize = 1 << 20;

/// Deterministic test data (an LCG), `len` bytes.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 59) as u8 // mostly compressible: 32 distinct values
        })
        .collect()
}

fn u16s(seed: u64, n: usize) -> Vec<u16> {
    noise(seed, n).iter().map(|&b| u16::from(b) * 37).collect()
}

fn archive(dir: &Path, name: &str, build: impl FnOnce(&mut NpzWriter)) -> Vec<u8> {
    let path = dir.join(name);
    let mut npz = WriterOptions::default()
        .chunk_size(4096)
        .threads(1)
        .create(&path)
        .unwrap();
    build(&mut npz);
    npz.finish().unwrap();
    std::fs::read(&path).unwrap()
}

fn archive_with(
    dir: &Path,
    name: &str,
    options: WriterOptions,
    build: impl FnOnce(&mut NpzWriter),
) -> Vec<u8> {
    let path = dir.join(name);
    let mut npz = options.chunk_size(4096).threads(1).create(&path).unwrap();
    build(&mut npz);
    npz.finish().unwrap();
    std::fs::read(&path).unwrap()
}

/// Valid archives of every kind the reader meets.
fn samples(dir: &Path) -> Vec<Sample> {
    let mut files = Vec::new();
    files.push((
        "stored, aligned",
        archive(dir, "stored.npz", |npz| {
            npz.add_array("adc", &u16s(1, 600), &[30, 20]).unwrap();
            npz.add_array("g", &[0.5f64, 1.5, 2.5, 3.5], &[4]).unwrap();
            npz.add_array("s", &[7i32], &[]).unwrap();
        }),
    ));
    files.push((
        "stored, unaligned (numpy's savez)",
        archive_with(
            dir,
            "savez.npz",
            WriterOptions::default().align(false),
            |npz| {
                npz.add_array("x", &u16s(2, 40), &[10, 4]).unwrap();
                npz.add_array("y", &[1u8, 2, 3], &[3]).unwrap();
            },
        ),
    ));
    files.push((
        "deflated, seek index",
        archive_with(
            dir,
            "indexed.npz",
            WriterOptions::default().compression(Compression::deflate()),
            |npz| {
                npz.add_array("adc", &u16s(3, 3200), &[160, 20]).unwrap();
                npz.add_array("g", &[0.25f64; 4], &[2, 2]).unwrap();
            },
        ),
    ));
    files.push((
        "deflated, no index (numpy's savez_compressed)",
        archive_with(
            dir,
            "foreign.npz",
            WriterOptions::default()
                .compression(Compression::deflate())
                .index(false),
            |npz| {
                npz.add_array("adc", &u16s(4, 2400), &[120, 20]).unwrap();
            },
        ),
    ));
    files.push(("deflated, indexed by npz index", {
        // numpy's layout, then access points stored by `npz index`: a locator field, and the
        // points and windows between the member and the central directory.
        let path = dir.join("stored-index.npz");
        // Chunks of 16 KiB, each ending in a full flush: block boundaries every 16 KiB, so a
        // point after 64 KiB.
        let options = WriterOptions::default()
            .compression(Compression::deflate())
            .chunk_size(16 << 10)
            .index(false);
        let mut npz = options.create(&path).unwrap();
        let data: Vec<u16> = noise(6, 40_000).iter().map(|&b| u16::from(b & 1)).collect();
        npz.add_array("adc", &data, &[2000, 20]).unwrap();
        npz.finish().unwrap();
        let report = npz_stream::IndexOptions::new()
            .span(64 << 10)
            .index(&path, &[])
            .unwrap();
        assert!(report.members[0].points >= 1, "{report:?}");
        std::fs::read(&path).unwrap()
    }));
    files.push((
        "streamed and mixed",
        archive(dir, "mixed.npz", |npz| {
            npz.add_array("a", &[1.0f32, 2.0], &[2]).unwrap();
            npz.set_compression(Compression::deflate());
            let header = Header::new(DType::parse("<u2").unwrap(), false, vec![0, 8]);
            let mut member = npz.begin_member("frames", &header).unwrap();
            for i in 0..400u16 {
                member.append(&[i; 8]).unwrap();
            }
            member.finish().unwrap();
            npz.set_compression(Compression::Stored);
            npz.add_file("notes.json", br#"{"k": [1, 2, 3]}"#).unwrap();
            // An object array: a header, then a pickle the reader never interprets.
            let obj = Header::new(DType::parse("|O").unwrap(), false, vec![2]);
            let mut bytes = obj.to_bytes().unwrap();
            bytes.extend_from_slice(b"\x80\x04\x95pickle");
            npz.add_file("obj.npy", &bytes).unwrap();
        }),
    ));
    files.push((
        "tiny",
        archive(dir, "tiny.npz", |npz| {
            npz.add_array("x", &[9u8], &[1]).unwrap();
        }),
    ));
    let stored = files[0].1.clone();
    files.push(("zip64 end records", with_zip64_end(&stored)));
    files.push(("a prefix and a comment", with_prefix_and_comment(&stored)));
    files
        .into_iter()
        .map(|(name, bytes)| structure(name, bytes))
        .collect()
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// The archive with zip64 end records (as numpy writes for large archives): a zip64 end record
/// and locator before the end record, whose fields are all saturated.
fn with_zip64_end(bytes: &[u8]) -> Vec<u8> {
    let eocd = bytes.len() - 22;
    assert_eq!(
        le32(bytes, eocd),
        0x0605_4b50,
        "an end record without a comment"
    );
    let entries = u64::from(u16::from_le_bytes([bytes[eocd + 10], bytes[eocd + 11]]));
    let (cd_size, cd_offset) = (le32(bytes, eocd + 12), le32(bytes, eocd + 16));
    let mut out = bytes[..eocd].to_vec();
    let record = out.len() as u64;
    out.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
    out.extend_from_slice(&44u64.to_le_bytes());
    out.extend_from_slice(&[45, 3, 45, 0]);
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&entries.to_le_bytes());
    out.extend_from_slice(&entries.to_le_bytes());
    out.extend_from_slice(&u64::from(cd_size).to_le_bytes());
    out.extend_from_slice(&u64::from(cd_offset).to_le_bytes());
    out.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&record.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    out.extend_from_slice(&[0xff; 8]);
    out.extend_from_slice(&[0, 0]);
    out
}

/// The archive after 100 bytes of something else (a self-extractor's stub, which the offsets
/// do not count), with an archive comment.
fn with_prefix_and_comment(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![b'#'; 100];
    out.extend_from_slice(&bytes[..bytes.len() - 2]);
    let comment = b"a comment PK\x05\x06 with a signature in it";
    out.extend_from_slice(&(comment.len() as u16).to_le_bytes());
    out.extend_from_slice(comment);
    out
}

/// The byte ranges of the seek-index extra fields (header, length and data) of every
/// directory entry.
fn seek_indexes(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = bytes[at..].windows(4).position(|w| w == b"PK\x01\x02") {
        let rec = at + i;
        let (name, extra) = (le16(bytes, rec + 28), le16(bytes, rec + 30));
        let mut field = rec + 46 + name;
        let end = field + extra;
        while field + 4 <= end {
            let len = le16(bytes, field + 2);
            if bytes[field..field + 2] == [0x6e, 0x7a] {
                out.push(field..(field + 4 + len).min(end));
            }
            field += 4 + len;
        }
        at = rec + 4;
    }
    out
}

fn le16(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

/// Where the zip records and NPY headers of an archive are, and their integer fields.
fn structure(name: &str, bytes: Vec<u8>) -> Sample {
    let mut sample = Sample::new(name, bytes.clone()).text();
    let find = |sig: &[u8]| -> Vec<usize> {
        bytes
            .windows(4)
            .enumerate()
            .filter(|(_, w)| *w == sig)
            .map(|(i, _)| i)
            .collect()
    };
    for at in find(b"PK\x03\x04") {
        // The local header, its name and extras, and the member's first 160 bytes (the NPY
        // header, plain or in stored deflate blocks).
        let extra = le16(&bytes, at + 28);
        let data = at + 30 + le16(&bytes, at + 26) + extra;
        sample = sample.hot(at..(data + 160).min(bytes.len()));
        for (off, width) in [(8, 2), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2)] {
            sample = sample.field(at + off, width);
        }
        // The zip64 extra: id, length, size, compressed size.
        let extras = at + 30 + le16(&bytes, at + 26);
        if extra >= 20 && le16(&bytes, extras) == 1 {
            for (off, width) in [(2, 2), (4, 8), (12, 8)] {
                sample = sample.field(extras + off, width);
            }
        }
        // Digits of the shape, for tokens; the padding before the header's newline takes up
        // what they add, so the member keeps its length.
        let npy = &bytes[data..];
        if let Some(shape) = npy.windows(10).position(|w| w == b"'shape': (")
            && let Some(newline) = npy.iter().position(|&b| b == b'\n')
        {
            sample = sample.spot_balanced(data + shape + 10, data + newline);
        }
    }
    let central = find(b"PK\x01\x02");
    if let Some(&first) = central.first() {
        sample = sample.hot(first..bytes.len());
    }
    for at in central {
        for (off, width) in [
            (10, 2),
            (16, 4),
            (20, 4),
            (24, 4),
            (28, 2),
            (30, 2),
            (32, 2),
            (42, 4),
        ] {
            sample = sample.field(at + off, width);
        }
    }
    for at in find(b"PK\x05\x06") {
        for (off, width) in [(8, 2), (10, 2), (12, 4), (16, 4), (20, 2)] {
            sample = sample.field(at + off, width);
        }
    }
    for at in find(b"PK\x06\x06") {
        for (off, width) in [(4, 8), (16, 4), (24, 8), (32, 8), (40, 8), (48, 8)] {
            sample = sample.field(at + off, width);
        }
    }
    for at in find(b"PK\x06\x07") {
        sample = sample.field(at + 8, 8);
    }
    sample
}

/// Frame ranges to read from a member of `n` frames: the ends, the middle, a few frames.
fn ranges(n: u64) -> [(u64, u64); 6] {
    let mid = n / 2;
    [
        (0, 1.min(n)),
        (n.saturating_sub(1), n),
        (mid, (mid + 3).min(n)),
        (mid / 2, mid),
        (0, n),
        (n, n + 1),
    ]
}

/// How far cases got, to check that mutations reach past the first check.
static OPENED: AtomicUsize = AtomicUsize::new(0);
static FRAMES_READ: AtomicUsize = AtomicUsize::new(0);
static READ_WHOLE: AtomicUsize = AtomicUsize::new(0);

/// Everything a reader can do with the archive at `path`.
fn exercise(path: &Path, input_len: usize) {
    let Ok(reader) = NpzReader::open(path) else {
        return;
    };
    OPENED.fetch_add(1, Relaxed);
    let keys = reader.keys();
    assert_eq!(keys.len(), reader.len());
    let _ = reader.infos();
    for key in &keys {
        let info = reader.info(key);
        if let Ok(info) = &info {
            assert!(
                info.header_len <= info.size,
                "{key}: header past the member"
            );
            if info.mappable {
                assert_eq!(info.method, Method::Stored);
                assert_eq!(info.data_offset.map(|o| o % 64), Some(0));
            }
        }
        // Frames at random, twice: the second pass reuses the inflater or an index point.
        let mut reads = Vec::new();
        let mut frame_len = 0;
        if let Ok(mut member) = reader.member(key) {
            let n = member.frame_count();
            frame_len = member.frame_len();
            for pass in 0..2 {
                for (a, b) in ranges(n) {
                    if pass == 1 && (a, b) == (0, n) {
                        continue; // the whole member once is enough
                    }
                    if let Ok(frames) = member.read_frames(a, b) {
                        assert_eq!(frames.len() as u64, (b - a) * frame_len, "[{a}, {b})");
                        FRAMES_READ.fetch_add(1, Relaxed);
                        reads.push((a, frames));
                    }
                }
                let mut one = vec![0u8; frame_len.min(1 << 16) as usize];
                let _ = member.read_frames_into(n / 3, &mut one);
                let _ = member.read_frames_into(u64::MAX, &mut one);
            }
        }
        // The whole member: through the reader in small pieces, and at once.
        let mut streamed = None;
        if let Ok(mut r) = reader.open_member(key) {
            let size = r.size();
            let mut total = 0u64;
            let mut buf = [0u8; 1000];
            let complete = loop {
                match r.read(&mut buf) {
                    Ok(0) => break true,
                    Ok(n) => total += n as u64,
                    Err(_) => break false,
                }
            };
            if complete {
                assert_eq!(total, size, "{key}: a complete read of the wrong length");
                streamed = Some(total);
            }
        }
        // Memory grows with the bytes inflated, not with the declared size (which may be up to
        // 1032 times the compressed size): a few times the archive, plus the bytes returned,
        // plus the inflater's 64 KiB buffers.
        let (whole, usage) = mutation::measure(|| reader.read_bytes(key));
        let inflated = whole.as_ref().map_or(0, Vec::len);
        assert!(
            usage.largest <= 4 * input_len + 2 * inflated + (128 << 10),
            "{key}: read_bytes allocated {} bytes at once, with {inflated} bytes inflated",
            usage.largest
        );
        if let Ok(bytes) = whole {
            READ_WHOLE.fetch_add(1, Relaxed);
            assert_eq!(Some(bytes.len() as u64), streamed, "{key}: read_bytes");
            // The member is intact (its CRC-32 checked): every frame read returned its frames,
            // whichever access point it started from (stored data, a seek-index or zran point,
            // the previous read's inflater), or failed.
            if let Ok(info) = &info {
                for (a, frames) in &reads {
                    let start = (info.header_len + a * frame_len) as usize;
                    assert!(
                        bytes.get(start..start + frames.len()) == Some(&frames[..]),
                        "{key}: frames from {a} differ from the CRC-checked whole member"
                    );
                }
            }
        }
        let _ = reader.verify(key);
        let _ = reader.read_array::<u16>(key);
        let _ = reader.read_array::<f64>(key);
        let _ = reader.read_array::<u8>(key);
        if let Ok(data) = reader.data(key) {
            let info = info.as_ref().expect("data() of a member without info");
            assert_eq!(Some(data.len() as u64), info.header.data_len());
        }
        let _ = reader.view::<u16>(key).map(|v| v.as_slice().len());
        let _ = reader.view::<f64>(key).map(|v| v.get(&[0]).copied());
        // A zran index, then frames from its points.
        if reader.build_index(key, Some(4096)).is_ok()
            && let Ok(mut member) = reader.member(key)
        {
            let n = member.frame_count();
            let _ = member.read_frames(n / 2, (n / 2 + 1).min(n));
        }
    }
    let _ = reader.read_bytes("no such member");
    // Foreign members indexed on first use, and a small header limit.
    if let Ok(reader) = NpzReader::options()
        .index_foreign(true)
        .max_header_size(64)
        .open(path)
    {
        for key in reader.keys() {
            if let Ok(mut member) = reader.member(&key) {
                let n = member.frame_count();
                let _ = member.read_frames(n.saturating_sub(2), n);
            }
        }
    }
}

fn run(runner: &mut Runner, sample: &Sample, edits: &[Vec<Mutation>], path: &Path) {
    for mutations in edits {
        let bytes = apply(&sample.bytes, mutations);
        mutation::overwrite(path, &bytes);
        let what = format!("sample {:?}, mutations {}", sample.name, show(mutations));
        runner.case(&what, bytes.len(), || exercise(path, bytes.len()));
    }
}

#[test]
fn mutated_archives_are_errors_never_panics() {
    let mut runner = Runner::new("npz-stream mutations", FACTOR, SLACK);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.npz");
    for sample in samples(dir.path()) {
        // The archive as written reads back whole.
        mutation::overwrite(&path, &sample.bytes);
        runner.case(&format!("sample {:?} as written", sample.name), 0, || {
            let reader = NpzReader::open(&path).unwrap();
            for key in reader.keys() {
                reader.verify(&key).unwrap();
            }
        });
        let mut edits = sample.field_edits();
        edits.extend(sample.spot_edits());
        edits.extend(sample.truncations(80));
        edits.extend(sample.random_edits(0x006e_707a, 250));
        // Every byte of the end records and the directory's last entry.
        let end = sample.bytes.len();
        let tail = match sample.name.as_str() {
            "zip64 end records" => 22 + 20 + 56 + 46 + 60,
            "a prefix and a comment" => 22 + 43 + 46 + 60,
            _ => 22 + 46 + 60,
        };
        let mut exhaustive = Sample::new(sample.name.clone(), sample.bytes.clone())
            .hot(end.saturating_sub(tail)..end);
        // And every byte of the seek indexes (extra field 0x7a6e in the directory).
        for range in seek_indexes(&sample.bytes) {
            exhaustive = exhaustive.hot(range);
        }
        edits.extend(exhaustive.byte_edits());
        run(&mut runner, &sample, &edits, &path);
    }
    let cases = runner.cases();
    runner.finish();
    // Most mutations leave an archive that opens, and reads get far into the members.
    let (opened, frames, whole) = (
        OPENED.load(Relaxed),
        FRAMES_READ.load(Relaxed),
        READ_WHOLE.load(Relaxed),
    );
    eprintln!("{cases} cases: {opened} opened, {frames} frame reads, {whole} whole reads");
    assert!(cases > 3000, "{cases} cases");
    assert!(opened > cases / 3 && frames > cases && whole > cases / 2);
}

/// Cases that failed once, named after what they broke.
#[test]
fn regressions() {
    let mut runner = Runner::new("npz-stream regressions", FACTOR, SLACK);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.npz");
    let samples = samples(dir.path());
    let sample = |prefix: &str| samples.iter().find(|s| s.name.starts_with(prefix)).unwrap();
    use mutation::*;
    let (obj_shape, obj_pad) = sample("streamed").spots.last().copied().unwrap();
    let indexed = sample("deflated, seek index");
    // A bit of the second point's uncompressed offset (the adc member's index).
    let index_flip = seek_indexes(&indexed.bytes)[0].start + 16;
    let foreign = sample("deflated, no index");
    let foreign_cd = foreign
        .bytes
        .windows(4)
        .position(|w| w == b"PK\x01\x02")
        .unwrap();
    let cases: Vec<(&str, &Sample, Vec<Mutation>)> = vec![
        // Found by this test: `Member::read_frames` of an object array allocated the frames
        // its header claims (86 GB in the case found: the shape was made 42949672962) before
        // `read_frames_into` refused the object dtype. Here 12000002 × 8 bytes.
        (
            "read_frames of an object member",
            sample("streamed"),
            vec![
                Insert {
                    at: obj_shape,
                    bytes: b"1200000".to_vec(),
                },
                Delete {
                    at: obj_pad.unwrap(),
                    len: 7,
                },
            ],
        ),
        // Found by this test: read_bytes reserved a deflated member's declared size (2 MB
        // for a 2.7 KB archive, up to 64 MiB), which may be 1032 times its compressed size,
        // though its docs promise memory that grows with the bytes inflated.
        (
            "a deflated member declaring 1000 times its compressed size",
            foreign,
            vec![Write {
                at: foreign_cd + 24,
                bytes: (le32(&foreign.bytes, foreign_cd + 20) * 1000)
                    .to_le_bytes()
                    .to_vec(),
            }],
        ),
        // The uncompressed offset of a later seek-index point shifted by 4: the read from it
        // that reaches the member's end fails (the stream runs past the declared size). The
        // index has no checksum (format.rs): a read ending inside that chunk would not notice,
        // and these ranges do not probe that. Reads from a corrupt first point were fixed in
        // 78a6580 (found by the fuzz targets; this test's comparison of every frame read with
        // the CRC-checked member finds it too).
        (
            "a seek index with a corrupt later point",
            indexed,
            vec![Flip {
                at: index_flip,
                bit: 2,
            }],
        ),
        (
            "end record cut",
            sample("tiny"),
            vec![Truncate {
                len: sample("tiny").bytes.len() - 1,
            }],
        ),
    ];
    for (name, sample, mutations) in cases {
        let bytes = apply(&sample.bytes, &mutations);
        mutation::overwrite(&path, &bytes);
        runner.case(name, bytes.len(), || exercise(&path, bytes.len()));
    }
    runner.finish();
}
