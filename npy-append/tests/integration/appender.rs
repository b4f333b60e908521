//! The appender end to end, without numpy: files byte-identical to what `np.save` writes for the
//! final array (npy-format's writer is the reference here; the numpy interop tests check that
//! against numpy itself), every kind of existing file, bad input, locks, readers during appends.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use npy_append::{
    AppendError, AppendErrorKind, AppendOptions, BufferSize, FrameChunksExt, FrameLayout, LockMode,
    NpyAppender, OpenError, OpenErrorKind, RecoverError, RecoverErrorKind, RecoverOptions,
    ResultKind, mapped_chunks, recover,
};
use npy_format::{DType, FrameSink, FrameSource, Header, NpyFile, Version};
use proptest::prelude::*;

use crate::pattern;

/// The header np.save writes for the final array, except that a Fortran-order appender keeps
/// `fortran_order: True` on arrays that are also C-contiguous (documented).
fn expected_header(layout: &FrameLayout, frames: u64) -> Header {
    let header = layout.header(frames);
    if layout.is_fortran_order() {
        header
    } else {
        Header::for_array(header.dtype, false, header.shape)
    }
}

fn expected_file(layout: &FrameLayout, frames: u64, data: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    npy_format::write_raw(&mut bytes, &expected_header(layout, frames), data).unwrap();
    bytes
}

const DESCRS: &[&str] = &[
    "<f8",
    ">i2",
    "|u1",
    "|b1",
    "<c16",
    "[('a', '<i4'), ('b', '|S3')]",
    "[('ж', '<f4')]",
    "<M8[ms]",
    "|V3",
];

#[derive(Debug, Clone)]
struct Step {
    frames: u64,
    flush: bool,
    reopen: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0u64..6,
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(frames, flush, reopen)| Step {
            frames,
            flush,
            reopen,
        })
}

fn buffer() -> impl Strategy<Value = BufferSize> {
    prop_oneof![
        Just(BufferSize::Bytes(0)),
        Just(BufferSize::Bytes(7)),
        Just(BufferSize::Bytes(100)),
        Just(BufferSize::Frames(3)),
        Just(BufferSize::default()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Random appends, flushes and reopens: at every flush readers see exactly the frames so
    /// far, and the final file is byte for byte the file np.save writes for the whole array.
    #[test]
    fn appends_build_the_np_save_file(
        descr in prop::sample::select(DESCRS),
        frame_shape in prop::collection::vec(0u64..4, 0..3),
        fortran in any::<bool>(),
        buffer in buffer(),
        steps in prop::collection::vec(step(), 0..12),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        let layout = FrameLayout::new(DType::parse(descr).unwrap(), &frame_shape).fortran_order(fortran);
        let frame_len = layout.frame_len().unwrap() as usize;
        let options = AppendOptions::new().buffer(buffer);
        let mut out = options.create(&path, &layout).unwrap();
        let mut data = Vec::new();
        let mut frames = 0;
        // The buffering policy: an append joins the buffer if it is smaller than the buffer and
        // fits; otherwise the buffer is written, and then the append is buffered if it is
        // smaller than the buffer, or written directly.
        let capacity = match buffer {
            BufferSize::Bytes(n) => n,
            BufferSize::Frames(n) => n as usize * frame_len,
        };
        let mut buffered = 0;
        for step in steps {
            let bytes = pattern(data.len(), step.frames as usize * frame_len, descr == "|b1");
            out.append_frames(&bytes, step.frames).unwrap();
            data.extend_from_slice(&bytes);
            frames += step.frames;
            let len = bytes.len();
            if step.frames > 0 && !(len < capacity && buffered + len <= capacity) {
                buffered = if len < capacity { len } else { 0 };
            } else {
                buffered += len;
            }
            prop_assert_eq!(out.frame_count(), frames);
            prop_assert_eq!(out.buffered_bytes(), buffered);
            if step.flush {
                out.flush().unwrap();
                buffered = 0;
                let file = NpyFile::open(&path).unwrap();
                prop_assert_eq!(file.header(), &layout.header(frames));
                prop_assert_eq!(file.data().unwrap(), &data[..]);
                prop_assert_eq!(file.trailing_len(), 0);
            }
            if step.reopen {
                out.finish().unwrap();
                out = options.open(&path).unwrap();
                buffered = 0;
                prop_assert!(out.header_rewrite().is_none());
            }
        }
        let header = out.finish().unwrap();
        prop_assert_eq!(&header, &layout.header(frames));
        prop_assert_eq!(fs::read(&path).unwrap(), expected_file(&layout, frames, &data));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Frames large enough to be written directly, and buffers large enough for writes to
    /// end on 64 KiB boundaries: whatever the mix, the file and the buffer together always
    /// hold every byte appended, readers see exactly the frames flushed, and the final file is
    /// np.save's.
    #[test]
    fn direct_and_aligned_writes_lose_nothing(
        frame_len in prop::sample::select(vec![1000u64, 40_000, 70_000, 200_000]),
        buffer in prop::sample::select(vec![64usize << 10, 256 << 10, 300_000, 1 << 20]),
        steps in prop::collection::vec(step(), 0..12),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        let layout = FrameLayout::of::<u8>(&[frame_len]);
        let options = AppendOptions::new().buffer(BufferSize::Bytes(buffer));
        let mut out = options.create(&path, &layout).unwrap();
        let mut data = Vec::new();
        let mut frames = 0;
        for step in steps {
            let bytes = pattern(data.len(), (step.frames * frame_len) as usize, false);
            out.append_frames(&bytes, step.frames).unwrap();
            data.extend_from_slice(&bytes);
            frames += step.frames;
            let in_file = fs::metadata(&path).unwrap().len() - out.data_offset();
            prop_assert_eq!(in_file + out.buffered_bytes() as u64, data.len() as u64);
            prop_assert_eq!(&fs::read(&path).unwrap()[out.data_offset() as usize..], &data[..in_file as usize]);
            prop_assert!(out.flushed_frames() * frame_len <= in_file);
            if step.flush {
                out.flush().unwrap();
                let file = NpyFile::open(&path).unwrap();
                prop_assert_eq!(file.header(), &layout.header(frames));
                prop_assert_eq!(file.data().unwrap(), &data[..]);
            }
            if step.reopen {
                out.finish().unwrap();
                out = options.open(&path).unwrap();
            }
        }
        let header = out.finish().unwrap();
        prop_assert_eq!(&header, &layout.header(frames));
        prop_assert_eq!(fs::read(&path).unwrap(), expected_file(&layout, frames, &data));
    }
}

/// Files of every format version, as np.save writes them, take appends in place.
#[test]
fn every_version_appends_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let fields: Vec<String> = (0..5000).map(|i| format!("('f{i}', '|u1')")).collect();
    let huge = format!("[{}]", fields.join(", "));
    for (descr, version) in [
        ("<i4", Version::V1),
        ("[('ж', '<f4')]", Version::V3),
        (huge.as_str(), Version::V2),
    ] {
        let path = dir.path().join("v.npy");
        let dtype = DType::parse(descr).unwrap();
        let itemsize = dtype.itemsize();
        let start = Header::new(dtype.clone(), false, vec![2]);
        assert_eq!(start.version(), version);
        let first = pattern(0, 2 * itemsize, false);
        npy_format::write_raw(fs::File::create(&path).unwrap(), &start, &first).unwrap();
        let options = AppendOptions::new().max_header_size(1 << 20);
        let mut out = options.open(&path).unwrap();
        assert_eq!(out.version(), version);
        let more = pattern(first.len(), 3 * itemsize, false);
        out.append_frames(&more, 3).unwrap();
        out.finish().unwrap();
        let mut expected = Vec::new();
        let end = Header::new(dtype, false, vec![5]);
        npy_format::write_raw(&mut expected, &end, &[first, more].concat()).unwrap();
        assert_eq!(fs::read(&path).unwrap(), expected, "{version:?}");
    }
}

/// A layout of `[('xx...', '<u2')]` frames of shape (3,) whose header for `frames` frames,
/// padded as numpy before 1.24 did (1 to `align` spaces, then the newline), has at most
/// `max_room` spaces: the name length is searched for. Returns the layout and the header length.
fn tight_layout(frames: u64, align: usize, max_room: usize, fortran: bool) -> (FrameLayout, usize) {
    for n in 1..200 {
        let dtype = DType::parse(&format!("[('{}', '<u2')]", "x".repeat(n))).unwrap();
        let layout = FrameLayout::new(dtype, &[3]).fortran_order(fortran);
        let needed = 10 + layout.header(frames).dict_text().len() + 1;
        let total = (needed + 1).next_multiple_of(align);
        if total - needed <= max_room {
            return (layout, total);
        }
    }
    unreachable!("some name length gives a tight header")
}

/// Headers without growth room (numpy < 1.24 padded to 64, numpy < 1.14 to 16 bytes): a
/// rewrite through a temporary file gives the np.save file; refusing leaves the file alone.
#[test]
fn old_headers_are_rewritten_with_room_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.npy");
    for align in [16, 64] {
        let (layout, total) = tight_layout(7, align, 18, false);
        let header = layout.header(7);
        let data = pattern(0, 7 * 6, false);
        let mut old = header.to_bytes_in_place(Version::V1, total).unwrap();
        assert!(
            header
                .with_frame_count(u64::MAX)
                .to_bytes_in_place(Version::V1, total)
                .is_err(),
            "the test header must lack room"
        );
        old.extend_from_slice(&data);
        fs::write(&path, &old).unwrap();

        let refused = AppendOptions::new().rewrite_header(false).open(&path);
        assert!(
            matches!(refused.err_kind(), Some(OpenErrorKind::NoGrowthRoom { header_len, .. }) if *header_len == total as u64)
        );
        assert_eq!(fs::read(&path).unwrap(), old);

        let mut out = NpyAppender::open(&path).unwrap();
        let rewrite = *out.header_rewrite().unwrap();
        let new_offset = header.to_bytes().unwrap().len() as u64;
        assert_eq!(
            (rewrite.old_data_offset, rewrite.new_data_offset),
            (total as u64, new_offset)
        );
        let more = pattern(data.len(), 12, false);
        out.append_frames(&more, 2).unwrap();
        out.finish().unwrap();
        assert_eq!(
            fs::read(&path).unwrap(),
            expected_file(&layout, 9, &[data.clone(), more].concat())
        );
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary files are left behind");
    }
}

/// Every kind of bad input is a typed error naming the file, and leaves the file as it was.
#[test]
fn bad_input_is_a_typed_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        path
    };
    let npy = |header: &Header, data: &[u8]| {
        let mut bytes = header.to_bytes().unwrap();
        bytes.extend_from_slice(data);
        bytes
    };
    let u32s = |shape: Vec<u64>| Header::new(DType::parse("<u4").unwrap(), false, shape);

    type Expect = fn(&OpenError) -> bool;
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("text.npy", b"just some text".to_vec(), |e| {
            matches!(e.kind(), OpenErrorKind::Header { .. })
        }),
        ("empty.npy", Vec::new(), |e| {
            matches!(e.kind(), OpenErrorKind::Header { .. })
        }),
        ("zip.npy", b"PK\x03\x04rest".to_vec(), |e| {
            matches!(e.kind(), OpenErrorKind::Header { .. })
        }),
        (
            "object.npy",
            npy(
                &Header::new(DType::parse("|O").unwrap(), false, vec![2]),
                b"\x80\x04pickle.",
            ),
            |e| matches!(e.kind(), OpenErrorKind::Object),
        ),
        ("scalar.npy", npy(&u32s(vec![]), &[1, 0, 0, 0]), |e| {
            matches!(e.kind(), OpenErrorKind::NoGrowthAxis)
        }),
        // Cut in the middle of the third of four frames.
        ("cut.npy", npy(&u32s(vec![4, 2]), &[7; 20]), |e| {
            matches!(
                e.kind(),
                OpenErrorKind::NeedsRecovery {
                    expected: 32,
                    available: 20,
                    ..
                }
            )
        }),
        // A crashed appender's frames past the header's count.
        (
            "crashed.npy",
            npy(&u32s(vec![1, 2]), &[7; 8 * 3 + 5]),
            |e| {
                matches!(
                    e.kind(),
                    OpenErrorKind::NeedsRecovery {
                        expected: 8,
                        available: 29,
                        ..
                    }
                )
            },
        ),
    ];
    for (name, bytes, expected) in cases {
        let path = file(name, &bytes);
        let err = NpyAppender::open(&path).unwrap_err();
        assert!(expected(&err), "{name}: {err:?}");
        assert_eq!(err.path(), path);
        let message = err.to_string();
        assert!(
            message.starts_with(&path.display().to_string()),
            "{message}"
        );
        assert_eq!(message.lines().count(), 1, "{message}");
        assert_eq!(fs::read(&path).unwrap(), bytes, "{name} was changed");
    }

    let missing = dir.path().join("missing.npy");
    assert!(matches!(
        NpyAppender::open(&missing).err_kind(),
        Some(OpenErrorKind::Io { .. })
    ));
    assert!(!missing.exists());
    assert!(matches!(
        NpyAppender::open(dir.path()).err_kind(),
        Some(OpenErrorKind::Io { .. }) | Some(OpenErrorKind::NotWritable { .. })
    ));
    let nowhere = dir.path().join("no/such/dir/a.npy");
    assert!(NpyAppender::create(&nowhere, &FrameLayout::of::<u8>(&[])).is_err());
    let object = FrameLayout::new(DType::parse("|O").unwrap(), &[2]);
    assert!(matches!(
        NpyAppender::create(dir.path().join("o.npy"), &object).err_kind(),
        Some(OpenErrorKind::Object)
    ));
    assert!(!dir.path().join("o.npy").exists());
    let huge = FrameLayout::of::<u64>(&[u64::MAX / 2]);
    assert!(matches!(
        NpyAppender::create(dir.path().join("h.npy"), &huge).err_kind(),
        Some(OpenErrorKind::Overflow { .. })
    ));
}

/// Wrong appends are refused without appending anything; what was appended before stays.
#[test]
fn wrong_appends_append_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npy");
    let mut out = NpyAppender::create(&path, &FrameLayout::of::<i32>(&[2])).unwrap();
    out.append(&[1i32, 2]).unwrap();
    out.flush().unwrap();
    for err in [
        out.append(&[1i32, 2, 3]).unwrap_err(),
        out.append(&[1.0f32, 2.0]).unwrap_err(),
        out.append(&[1u32, 2]).unwrap_err(),
        out.append(&[1i64]).unwrap_err(),
        out.append_frames(&[0; 8], 2).unwrap_err(),
        out.append_frames(&[0; 7], 1).unwrap_err(),
    ] {
        assert!(
            matches!(err.kind(), AppendErrorKind::Frame { .. }),
            "{err:?}"
        );
        assert_eq!(err.path(), path);
    }
    assert!(matches!(
        out.append_frames(&[], u64::MAX).err_kind(),
        Some(AppendErrorKind::Frame { .. })
    ));
    out.append(&[3i32, 4]).unwrap();
    assert_eq!(out.finish().unwrap().shape, vec![2, 2]);
    assert_eq!(
        npy_format::read_file::<i32>(&path).unwrap().data,
        vec![1, 2, 3, 4]
    );

    // A big-endian file takes only raw bytes: typed appends would need a cast.
    let be = dir.path().join("be.npy");
    let layout = FrameLayout::new(DType::parse(">i4").unwrap(), &[]);
    let mut out = NpyAppender::create(&be, &layout).unwrap();
    assert!(out.append(&[1i32]).is_err());
    out.append_frames(&[0, 0, 0, 1], 1).unwrap();
    out.finish().unwrap();
    assert_eq!(npy_format::read_file::<i32>(&be).unwrap().data, vec![1]);
}

/// Frames of zero bytes are counted, and recovery refuses to guess their number.
#[test]
fn zero_length_frames() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z.npy");
    let layout = FrameLayout::of::<f64>(&[0]);
    let mut out = NpyAppender::create(&path, &layout).unwrap();
    assert_eq!(out.append::<f64>(&[]).unwrap(), 0);
    out.append_frames(&[], 5).unwrap();
    assert!(out.append_frames(&[0], 1).is_err());
    assert_eq!(out.finish().unwrap().shape, vec![5, 0]);
    assert_eq!(NpyFile::open(&path).unwrap().header().shape, vec![5, 0]);
    let mut out = NpyAppender::open(&path).unwrap();
    out.append_frames(&[], 2).unwrap();
    drop(out); // drop flushes
    assert_eq!(NpyFile::open(&path).unwrap().header().shape, vec![7, 0]);
    fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .set_len(200)
        .unwrap();
    assert!(matches!(
        recover(&path, &RecoverOptions::default()).err_kind(),
        Some(RecoverErrorKind::ZeroLengthFrames { trailing: 72, .. })
    ));
}

/// Recovery adopts complete frames, truncates or zero-fills a torn one, dry runs change
/// nothing, and a header without room is rewritten (or refused).
#[test]
fn recover_repairs_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.npy");
    let layout = FrameLayout::of::<u16>(&[2]).fortran_order(true);
    let write = |frames: u64, extra: usize| {
        let data = pattern(0, frames as usize * 4 + extra, false);
        let mut bytes = layout.header(frames).to_bytes().unwrap();
        bytes.extend_from_slice(&data);
        fs::write(&path, &bytes).unwrap();
        bytes
    };
    let before = write(3, 4 * 2 + 3);
    let dry = recover(&path, &RecoverOptions::default().dry_run(true)).unwrap();
    assert!(dry.changed() && dry.dry_run);
    assert_eq!(
        (dry.frames_before, dry.frames_after, dry.bytes_truncated),
        (3, 5, 3)
    );
    assert!(
        dry.to_string().contains("would adopt 2 complete frames"),
        "{dry}"
    );
    assert_eq!(fs::read(&path).unwrap(), before);

    let report = recover(&path, &RecoverOptions::default()).unwrap();
    assert_eq!((report.frames_adopted(), report.bytes_truncated), (2, 3));
    assert!(!report.header_rewritten);
    assert_eq!(
        fs::read(&path).unwrap(),
        expected_file(&layout, 5, &before[128..128 + 20])
    );
    assert!(
        !recover(&path, &RecoverOptions::default())
            .unwrap()
            .changed()
    );

    let before = write(1, 4 + 1);
    let report = recover(&path, &RecoverOptions::default().zero_fill(true)).unwrap();
    assert_eq!((report.frames_after, report.bytes_zero_filled), (3, 3));
    let mut data = before[128..].to_vec();
    data.extend_from_slice(&[0; 3]);
    assert_eq!(fs::read(&path).unwrap(), expected_file(&layout, 3, &data));

    // A header with room for one more digit, and 100 frames to adopt.
    let (tight, total) = tight_layout(1, 16, 1, true);
    let mut old = tight
        .header(1)
        .to_bytes_in_place(Version::V1, total)
        .unwrap();
    old.extend_from_slice(&pattern(0, 6 * 100, false));
    fs::write(&path, &old).unwrap();
    let no = recover(&path, &RecoverOptions::default().rewrite_header(false));
    assert!(
        matches!(no.err_kind(), Some(RecoverErrorKind::NoGrowthRoom { .. })),
        "{no:?}"
    );
    assert_eq!(fs::read(&path).unwrap(), old);
    let report = recover(&path, &RecoverOptions::default()).unwrap();
    assert!(report.header_rewritten && report.frames_after == 100);
    assert_eq!(
        fs::read(&path).unwrap(),
        expected_file(&tight, 100, &old[total..])
    );

    // A file cut short: the count drops to the complete frames.
    let bytes = write(6, 0);
    fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
    let report = recover(&path, &RecoverOptions::default()).unwrap();
    assert_eq!((report.frames_lost(), report.bytes_truncated), (2, 3));
    assert!(
        report.to_string().contains("drop 2 counted frames"),
        "{report}"
    );
    assert_eq!(NpyFile::open(&path).unwrap().header().shape, vec![2, 4]);
}

/// A second appender is refused (or waits) while the first holds the lock, in this process.
#[test]
fn one_appender_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.npy");
    let mut first = NpyAppender::create(&path, &FrameLayout::of::<u8>(&[])).unwrap();
    first.append(&[1u8]).unwrap();
    assert!(matches!(
        NpyAppender::open(&path).err_kind(),
        Some(OpenErrorKind::Locked)
    ));
    assert!(matches!(
        recover(&path, &RecoverOptions::default()).err_kind(),
        Some(RecoverErrorKind::Locked)
    ));
    assert!(matches!(
        (AppendOptions::new()
            .overwrite(true)
            .create(&path, &FrameLayout::of::<u8>(&[])))
        .err_kind(),
        Some(OpenErrorKind::Locked)
    ));
    let waiter = {
        let path = path.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut second = AppendOptions::new()
                .lock(LockMode::Wait)
                .open(&path)
                .unwrap();
            second.append(&[2u8]).unwrap();
            second.finish().unwrap();
            start.elapsed()
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    first.append(&[3u8]).unwrap();
    first.finish().unwrap();
    assert!(waiter.join().unwrap() >= Duration::from_millis(150));
    assert_eq!(
        npy_format::read_file::<u8>(&path).unwrap().data,
        vec![1, 3, 2]
    );
}

/// An appender waiting for the lock of a file that is replaced meanwhile (another appender
/// rewrote its header) ends up appending to the replacement.
#[test]
fn waiting_appender_follows_a_replaced_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.npy");
    npy_format::write_file(&path, &[1u8, 2], &[2]).unwrap();
    let holder = fs::File::open(&path).unwrap();
    holder.lock().unwrap();
    let waiter = {
        let path = path.clone();
        std::thread::spawn(move || {
            let mut out = AppendOptions::new()
                .lock(LockMode::Wait)
                .open(&path)
                .unwrap();
            out.append(&[9u8]).unwrap();
            out.finish().unwrap()
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let replacement = dir.path().join("new.npy");
    npy_format::write_file(&replacement, &[5u8, 6, 7], &[3]).unwrap();
    fs::rename(&replacement, &path).unwrap();
    drop(holder);
    assert_eq!(waiter.join().unwrap().shape, vec![4]);
    assert_eq!(
        npy_format::read_file::<u8>(&path).unwrap().data,
        vec![5, 6, 7, 9]
    );
}

/// Readers mapping the file while a writer appends always see a complete prefix.
#[test]
fn readers_see_a_consistent_prefix_while_appending() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.npy");
    const K: u64 = 4;
    let mut out = AppendOptions::new()
        .buffer(BufferSize::Bytes(300))
        .create(&path, &FrameLayout::of::<u64>(&[K]))
        .unwrap();
    let run = Duration::from_millis(1500);
    let reader = {
        let path = path.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            let (mut opens, mut last) = (0u64, 0u64);
            while start.elapsed() < run {
                // Data is written before the header counts it, and NpyFile::open takes the file
                // length after reading the header: an open never sees a short file.
                let file = NpyFile::open(&path).unwrap_or_else(|e| panic!("{e}"));
                let values = file.view::<u64>().unwrap();
                let values = values.as_slice();
                let frames = file.frame_count();
                assert!(
                    frames >= last,
                    "the count went back from {last} to {frames}"
                );
                assert_eq!(values.len() as u64, frames * K);
                for (i, &v) in values.iter().enumerate() {
                    assert_eq!(v, i as u64, "element {i} of {frames} frames");
                }
                // Sequential chunked reading of the same map.
                let chunked: u64 = mapped_chunks(&file, 7).map(|c| c.unwrap().frames).sum();
                assert_eq!(chunked, frames);
                last = frames;
                opens += 1;
            }
            (opens, last)
        })
    };
    let start = Instant::now();
    let mut next = 0u64;
    let mut round = 0u64;
    while start.elapsed() < run {
        let n = 1 + round % 5;
        let values: Vec<u64> = (next * K..(next + n) * K).collect();
        out.append(&values).unwrap();
        next += n;
        round += 1;
        if round.is_multiple_of(7) {
            out.flush().unwrap();
        }
    }
    out.finish().unwrap();
    let (opens, seen) = reader.join().unwrap();
    assert!(opens > 10 && seen > 0, "{opens} opens, {seen} frames seen");
    assert_eq!(NpyFile::open(&path).unwrap().frame_count(), next);
}

/// Without header updates on spill, `abandon` undoes everything since the last flush.
#[test]
fn abandon_undoes_unflushed_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.npy");
    npy_format::write_file(&path, &[1u32, 2], &[2]).unwrap();
    let before = fs::read(&path).unwrap();
    let mut out = AppendOptions::new()
        .buffer(BufferSize::Bytes(8))
        .update_header_on_spill(false)
        .open(&path)
        .unwrap();
    for i in 0..10u32 {
        out.append(&[i]).unwrap();
    }
    assert!(fs::metadata(&path).unwrap().len() > before.len() as u64);
    assert_eq!(out.flushed_frames(), 2);
    assert_eq!(out.abandon().unwrap().shape, vec![2]);
    assert_eq!(fs::read(&path).unwrap(), before);
}

/// The appender is a FrameSink: generic recording code works with it, and reading back in
/// chunks goes through FrameSource.
#[test]
fn frame_sink_and_source_round_trip() {
    fn record<S: FrameSink>(sink: &mut S, frames: u64) -> Result<(), S::Error> {
        for i in 0..frames {
            sink.append(&[i as f32, -(i as f32)])?;
            if i % 10 == 9 {
                sink.flush()?;
            }
        }
        sink.sync()
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.npy");
    let mut out = NpyAppender::create(&path, &FrameLayout::of::<f32>(&[2])).unwrap();
    record(&mut out, 95).unwrap();
    assert!(matches!(
        FrameSink::append(&mut out, &[1u8, 2]).err_kind(),
        Some(AppendErrorKind::Frame { .. })
    ));
    assert_eq!(FrameSink::finish(out).unwrap().shape, vec![95, 2]);

    let mut file = NpyFile::open(&path).unwrap();
    let mut next = 0u64;
    for chunk in file.frame_chunks(20) {
        let chunk = chunk.unwrap();
        assert_eq!(chunk.start, next);
        for (j, pair) in chunk.bytes.chunks(8).enumerate() {
            let x = f32::from_ne_bytes(pair[..4].try_into().unwrap());
            assert_eq!(x, (next + j as u64) as f32);
        }
        next += chunk.frames;
    }
    assert_eq!(next, 95);
    assert_eq!(file.read_frames(90, 95).unwrap().len(), 40);
}

/// open_or_create and overwrite.
#[test]
fn open_or_create_and_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.npy");
    let layout = FrameLayout::of::<u8>(&[2]).fortran_order(true);
    for round in 0..3u8 {
        let mut out = AppendOptions::new().open_or_create(&path, &layout).unwrap();
        out.append(&[round, round]).unwrap();
        out.finish().unwrap();
    }
    assert_eq!(NpyFile::open(&path).unwrap().header().shape, vec![2, 3]);
    let c_order = FrameLayout::of::<u8>(&[2]);
    let err = AppendOptions::new()
        .open_or_create(&path, &c_order)
        .unwrap_err();
    assert!(err.to_string().contains("Fortran order"), "{err}");
    let out = AppendOptions::new()
        .overwrite(true)
        .create(&path, &c_order)
        .unwrap();
    drop(out);
    assert_eq!(NpyFile::open(&path).unwrap().header().shape, vec![0, 2]);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[cfg(feature = "ndarray")]
#[test]
fn ndarray_views_in_any_layout() {
    use ndarray::{Array3, ShapeBuilder, s};
    let dir = tempfile::tempdir().unwrap();
    for fortran in [false, true] {
        let path = dir.path().join(format!("nd{fortran}.npy"));
        let layout = FrameLayout::of::<i32>(&[2, 3]).fortran_order(fortran);
        let mut out = NpyAppender::create(&path, &layout).unwrap();
        // Four frames, built in C then F memory order, then as a strided view.
        let frames = 4usize;
        let shape = if fortran {
            (2, 3, frames)
        } else {
            (frames, 2, 3)
        };
        let value = |(a, b, c): (usize, usize, usize)| (a * 100 + b * 10 + c) as i32;
        let c_array = Array3::from_shape_fn(shape, value);
        let f_array = Array3::from_shape_fn(shape.f(), value);
        out.append_array_view(c_array.view()).unwrap();
        out.append_array_view(f_array.view()).unwrap();
        let strided = if fortran {
            c_array.slice(s![.., .., ..;2])
        } else {
            c_array.slice(s![..;2, .., ..])
        };
        assert_eq!(out.append_array_view(strided).unwrap(), 2);
        let one = if fortran {
            c_array.slice(s![.., .., 1])
        } else {
            c_array.slice(s![1, .., ..])
        };
        assert_eq!(out.append_array_view(one).unwrap(), 1);
        let wrong = c_array.slice(s![.., ..1, ..]);
        assert!(matches!(
            out.append_array_view(wrong).err_kind(),
            Some(AppendErrorKind::Shape { .. })
        ));
        out.finish().unwrap();

        let file = NpyFile::open(&path).unwrap();
        let view = file.view::<i32>().unwrap();
        let total = 2 * frames + 2 + 1;
        assert_eq!(file.frame_count(), total as u64);
        let picks: Vec<usize> = (0..frames).chain(0..frames).chain([0, 2, 1]).collect();
        for (t, &src) in picks.iter().enumerate() {
            for a in 0..2 {
                for b in 0..3 {
                    let index = if fortran { [a, b, t] } else { [t, a, b] };
                    let index = index.map(|i| i as u64);
                    let expected = if fortran {
                        value((a, b, src))
                    } else {
                        value((src, a, b))
                    };
                    assert_eq!(view.get(&index), Some(&expected), "{fortran} {index:?}");
                }
            }
        }
    }
}

fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<NpyAppender>();
    is::<AppendError>();
    is::<OpenError>();
    is::<RecoverError>();
    let _ = |p: &Path| NpyAppender::open(p);
}

#[cfg(unix)]
#[test]
fn replacing_a_file_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("private.npy");
    npy_format::write_file(&path, &[1u8, 2], &[2]).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let layout = FrameLayout::of::<u8>(&[]);
    let out = AppendOptions::new()
        .overwrite(true)
        .create(&path, &layout)
        .unwrap();
    out.finish().unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "overwriting keeps the replaced file's mode");
}

/// Bytes of disk the file at `path` holds (its blocks, reserved ones past the end included).
#[cfg(target_os = "linux")]
fn allocated(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).unwrap().blocks() * 512
}

/// Blocks reserved ahead of the data (Linux, `fallocate` with `KEEP_SIZE`) never show: the
/// length is the data's end after every append, readers see the frames flushed, and finishing,
/// dropping or abandoning frees the spare blocks.
#[cfg(target_os = "linux")]
#[test]
fn reserved_blocks_never_show_and_are_freed() {
    let dir = tempfile::tempdir().unwrap();
    let layout = FrameLayout::of::<u8>(&[32 << 10]);
    let frame = vec![3u8; 32 << 10];
    for end in ["finish", "drop", "abandon"] {
        let path = dir.path().join(format!("{end}.npy"));
        let mut out = NpyAppender::create(&path, &layout).unwrap();
        for i in 1..=64u64 {
            out.append_frames(&frame, 1).unwrap();
            out.flush().unwrap();
            assert_eq!(fs::metadata(&path).unwrap().len(), 128 + i * (32 << 10));
        }
        // One more, buffered: written by finish and drop, dropped by abandon.
        out.append_frames(&frame, 1).unwrap();
        let len = match end {
            "finish" => {
                out.finish().unwrap();
                128 + 65 * (32 << 10)
            }
            "drop" => {
                drop(out);
                128 + 65 * (32 << 10)
            }
            _ => {
                out.abandon().unwrap();
                128 + 64 * (32 << 10)
            }
        };
        assert_eq!(fs::metadata(&path).unwrap().len(), len, "{end}");
        // No more than the length rounded up to whole blocks (4 KiB, and ext4's 64 KiB
        // allocation units at most): nothing reserved is left behind.
        assert!(
            allocated(&path) < len + (64 << 10),
            "{end}: {} allocated",
            allocated(&path)
        );
        let file = NpyFile::open(&path).unwrap();
        assert_eq!(file.header().shape, vec![(len - 128) >> 15, 32 << 10]);
    }
}

/// A writer that dies holding blocks reserved past the end (here: forgotten, with no lock, so
/// nothing runs on its way out) leaves them allocated; `recover` frees them, of a whole file or
/// of one it repairs (a frame past the header's count), and so does the next writer when it
/// finishes, even one that appends nothing. `recover` without the lock leaves them: a writer
/// may be growing the file.
#[cfg(target_os = "linux")]
#[test]
fn blocks_a_killed_writer_reserved_are_freed_by_recover_and_the_next_writer() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let layout = FrameLayout::of::<u8>(&[32 << 10]);
    let frame = vec![5u8; 32 << 10];
    for (next, adopt, freed) in [
        ("recover", false, true),
        ("recover", true, true),
        ("recover-unlocked", false, false),
        ("recover-unlocked", true, false),
        ("writer", false, true),
    ] {
        let path = dir.path().join(format!("{next}-{adopt}.npy"));
        let options = AppendOptions::new().lock(LockMode::Off);
        let mut out = options.create(&path, &layout).unwrap();
        for _ in 0..64 {
            out.append_frames(&frame, 1).unwrap();
        }
        out.flush().unwrap();
        std::mem::forget(out);
        if adopt {
            // A frame the header does not count yet: recover adopts it, cutting nothing.
            let mut file = fs::OpenOptions::new().append(true).open(&path).unwrap();
            file.write_all(&frame).unwrap();
        }
        let len = fs::metadata(&path).unwrap().len();
        if allocated(&path) <= len + (1 << 20) {
            continue; // no reservation on this file system: nothing to check
        }
        match next {
            "recover" => {
                recover(&path, &RecoverOptions::default()).unwrap();
            }
            "recover-unlocked" => {
                recover(&path, &RecoverOptions::default().lock(LockMode::Off)).unwrap();
            }
            _ => {
                options.open(&path).unwrap().finish().unwrap();
            }
        }
        assert_eq!(fs::metadata(&path).unwrap().len(), len, "{next} {adopt}");
        assert_eq!(
            allocated(&path) < len + (64 << 10),
            freed,
            "{next} {adopt}: {} allocated",
            allocated(&path)
        );
        let file = NpyFile::open(&path).unwrap();
        let frames = 64 + u64::from(adopt);
        assert_eq!(
            file.header().shape,
            vec![frames, 32 << 10],
            "{next} {adopt}"
        );
    }
}

/// Appends from an eighth of the buffer (64 KiB at least) on are written at once, with what
/// was buffered before them, up to the last 64 KiB boundary of the file they reach; smaller ones
/// wait in the buffer. The header follows the frames written directly within a buffer's worth.
#[test]
fn large_appends_are_written_directly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npy");
    let file_len = |path: &Path| fs::metadata(path).unwrap().len();
    let layout = FrameLayout::of::<u8>(&[16 << 10]);
    let mut out = NpyAppender::create(&path, &layout).unwrap();
    out.append_frames(&[1u8; 16 << 10], 1).unwrap();
    assert_eq!((out.buffered_bytes(), file_len(&path)), (16 << 10, 128));
    // 128 KiB: an eighth of the default 1 MiB buffer. The file then ends on a 64 KiB
    // boundary; the rest (the header's 128 bytes' worth, and the first frame) waits.
    out.append_frames(&[2u8; 128 << 10], 8).unwrap();
    assert_eq!(
        (out.buffered_bytes(), file_len(&path)),
        ((16 << 10) + 128, 128 << 10)
    );
    out.append_frames(&[3u8; 112 << 10], 7).unwrap();
    assert_eq!(
        (out.buffered_bytes(), file_len(&path)),
        ((128 << 10) + 128, 128 << 10)
    );
    // The header counts the direct writes once a buffer's worth (64 frames) is uncounted,
    // and the file always ends on a boundary.
    let mut counted = vec![];
    for _ in 0..16 {
        out.append_frames(&[4u8; 128 << 10], 8).unwrap();
        counted.push(out.flushed_frames());
        assert_eq!(file_len(&path) % (64 << 10), 0);
        assert!(out.buffered_bytes() < 64 << 10);
        assert!(out.frame_count() - out.flushed_frames() < 64 + 8);
    }
    assert_eq!(counted[..3], [0, 0, 0]);
    assert!(
        counted.iter().filter(|&&c| c > 0).count() >= 8,
        "{counted:?}"
    );
    drop(out);
    let data = npy_format::read_file::<u8>(&path).unwrap();
    assert_eq!(data.header.shape, vec![16 + 128, 16 << 10]);
    let frame = |i: usize| data.data[i << 14];
    assert_eq!(
        [
            frame(0),
            frame(1),
            frame(8),
            frame(9),
            frame(15),
            frame(16),
            frame(143)
        ],
        [1, 2, 2, 3, 3, 4, 4]
    );
    // With a 64 KiB buffer, appends of its size are written directly, smaller ones not, and
    // writes are not aligned (the buffer could not hold what alignment leaves behind).
    let small = NpyAppender::options().buffer(BufferSize::Bytes(64 << 10));
    let path = dir.path().join("b.npy");
    let mut out = small.create(&path, &layout).unwrap();
    out.append_frames(&[1u8; 48 << 10], 3).unwrap();
    assert_eq!((out.buffered_bytes(), file_len(&path)), (48 << 10, 128));
    out.append_frames(&[1u8; 64 << 10], 4).unwrap();
    assert_eq!((out.buffered_bytes(), out.flushed_frames()), (0, 7));
    assert_eq!(file_len(&path), 128 + (112 << 10));
}
