//! The appender against numpy itself (and NpyAppendArray): numpy loads exactly the frames
//! appended, our files are byte-identical to np.save's, we append to files numpy and
//! NpyAppendArray made and they append to ours, and numpy readers see consistent prefixes while
//! frames arrive. All need numpy: run them with `cargo xtask test`.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use npy_append::{AppendOptions, BufferSize, FrameLayout, NpyAppender};
use npy_format::{DType, Header, NpyFile};
use proptest::prelude::*;
use serde_json::{Value, json};
use testkit::faults as fs_;
use testkit::oracle;

use crate::{path_str, pattern};

/// Asserts that numpy loads `path` as exactly `header`'s array with `data` (storage order).
fn assert_numpy_loads(numpy: &mut oracle::Oracle, path: &Path, header: &Header, data: &[u8]) {
    let data_path = path.with_extension("expected");
    fs::write(&data_path, data).unwrap();
    let (equal, reason) = numpy.check_load(
        path,
        &header.dtype.descr(),
        &header.shape,
        header.fortran_order,
        &data_path,
    );
    assert!(equal, "{}: {reason}", path.display());
}

/// np.save's bytes for the array of `header` and `data`.
fn np_save_bytes(numpy: &mut oracle::Oracle, dir: &Path, header: &Header, data: &[u8]) -> Vec<u8> {
    let data_path = dir.join("save.data");
    let out = dir.join("saved.npy");
    fs::write(&data_path, data).unwrap();
    numpy.save(
        &out,
        &header.dtype.descr(),
        &header.shape,
        header.fortran_order,
        &data_path,
    );
    fs::read(out).unwrap()
}

const DESCRS: &[&str] = &[
    "<f8",
    ">i2",
    "|u1",
    "|b1",
    "<c8",
    ">f4",
    "[('a', '<i4'), ('b', '|S3')]",
    "[('x', '<f4', (2,)), ('y', [('z', '>u2')])]",
    "[('ж', '<f4')]",
    "<M8[us]",
    "<U2",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random appends (zero frames included) with random flushes: at each flush numpy loads
    /// the frames so far; at the end numpy loads the concatenation, and the file is what np.save
    /// writes for it.
    #[test]
    #[ignore = "needs numpy: run `cargo xtask test`"]
    fn numpy_loads_what_was_appended(
        descr in prop::sample::select(DESCRS),
        frame_shape in prop::collection::vec(0u64..4, 0..3),
        fortran in any::<bool>(),
        buffer in prop_oneof![Just(0usize), Just(10), Just(1 << 20)],
        steps in prop::collection::vec((0u64..5, prop::bool::weighted(0.25)), 0..10),
    ) {
        let mut numpy = oracle::shared();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.npy");
        let layout = FrameLayout::new(DType::parse(descr).unwrap(), &frame_shape).fortran_order(fortran);
        let frame_len = layout.frame_len().unwrap() as usize;
        let mut out = AppendOptions::new().buffer(BufferSize::Bytes(buffer)).create(&path, &layout).unwrap();
        let mut data = Vec::new();
        for (frames, flush) in steps {
            let bytes = pattern(data.len(), frames as usize * frame_len, descr == "|b1");
            out.append_frames(&bytes, frames).unwrap();
            data.extend_from_slice(&bytes);
            if flush {
                out.flush().unwrap();
                assert_numpy_loads(&mut numpy, &path, out.header(), &data);
            }
        }
        let header = out.finish().unwrap();
        assert_numpy_loads(&mut numpy, &path, &header, &data);
        let numpy_header = Header::for_array(header.dtype.clone(), header.fortran_order, header.shape.clone());
        if numpy_header == header {
            prop_assert_eq!(fs::read(&path).unwrap(), np_save_bytes(&mut numpy, dir.path(), &header, &data));
        }
    }
}

/// Files np.save wrote (C and Fortran order, several dtypes, versions 1.0 and 3.0) take our
/// appends; numpy loads the concatenation, byte-identical to np.save of it.
#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn appending_to_files_numpy_saved() {
    let mut numpy = oracle::shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.npy");
    for expr in [
        "np.arange(12, dtype='<f8').reshape(4, 3)",
        "np.asfortranarray(np.arange(24, dtype='>i4').reshape(2, 3, 4))",
        "np.arange(5, dtype='<u2')",
        "np.zeros((0, 2), dtype='<c16')",
        "np.zeros(3, dtype=[('ж', '<f4'), ('b', '|S2')])",
        "np.arange(6).astype('M8[ms]').reshape(3, 2)",
    ] {
        numpy.exec(&format!(
            "import warnings\nwarnings.simplefilter('ignore')\nnp.save({:?}, {expr})",
            path_str(&path)
        ));
        let before = NpyFile::open(&path).unwrap();
        let mut data = before.data().unwrap().to_vec();
        let version = before.version();
        drop(before);
        let mut out = NpyAppender::open(&path).unwrap();
        assert!(out.header_rewrite().is_none(), "{expr}");
        assert_eq!(out.version(), version);
        // A wrong append changes nothing numpy sees.
        assert!(out.append_frames(&[1], 2).is_err());
        let bytes = pattern(7, 3 * out.frame_len() as usize, false);
        out.append_frames(&bytes, 3).unwrap();
        data.extend_from_slice(&bytes);
        let header = out.finish().unwrap();
        assert_numpy_loads(&mut numpy, &path, &header, &data);
        assert_eq!(
            fs::read(&path).unwrap(),
            np_save_bytes(&mut numpy, dir.path(), &header, &data),
            "{expr}"
        );
    }
}

/// Headers without growth room (numpy < 1.24, < 1.14): rewritten, then numpy loads the file
/// and it is np.save's file for the grown array.
#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn rewritten_old_headers_load_in_numpy() {
    let mut numpy = oracle::shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.npy");
    for fortran in [false, true] {
        let layout = FrameLayout::of::<i16>(&[2]).fortran_order(fortran);
        let header = layout.header(9);
        let mut bytes = fs_::pre_1_14_header(&header);
        let mut data = pattern(0, 9 * 4, false);
        bytes.extend_from_slice(&data);
        fs::write(&path, &bytes).unwrap();
        assert_numpy_loads(&mut numpy, &path, &header, &data);
        let mut out = NpyAppender::open(&path).unwrap();
        assert!(out.header_rewrite().is_some());
        let more = pattern(100, 4 * 4, false);
        out.append_frames(&more, 4).unwrap();
        data.extend_from_slice(&more);
        let header = out.finish().unwrap();
        assert_numpy_loads(&mut numpy, &path, &header, &data);
        assert_eq!(
            fs::read(&path).unwrap(),
            np_save_bytes(&mut numpy, dir.path(), &header, &data)
        );
    }
}

/// NpyAppendArray's files take our appends, and NpyAppendArray appends to ours: numpy loads
/// the concatenation every time.
#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn interleaved_with_npy_append_array() {
    let mut numpy = oracle::shared();
    let dir = tempfile::tempdir().unwrap();
    numpy.exec("from npy_append_array import NpyAppendArray");
    for (fortran, made_by_us) in [(false, false), (true, false), (false, true), (true, true)] {
        let path = dir.path().join(format!("naa_{fortran}_{made_by_us}.npy"));
        let p = path_str(&path);
        // Frames of (2,) f8 with values 10 * frame + index, in storage order.
        let frame = |i: u64| [10.0 * i as f64, 10.0 * i as f64 + 1.0];
        let py_frames = |start: u64, n: u64| {
            let arr = format!(
                "np.array([[10.0 * i, 10.0 * i + 1.0] for i in range({start}, {})])",
                start + n
            );
            if fortran {
                format!("np.asfortranarray({arr}.T)")
            } else {
                arr
            }
        };
        let mut count = 0;
        if made_by_us {
            let layout = FrameLayout::of::<f64>(&[2]).fortran_order(fortran);
            let mut out = NpyAppender::create(&path, &layout).unwrap();
            for i in 0..3 {
                out.append(&frame(i)).unwrap();
            }
            out.finish().unwrap();
        } else {
            numpy.exec(&format!(
                "with NpyAppendArray({p:?}, delete_if_exists=True) as a:\n\
                 \x20   a.append({})\n\
                 \x20   a.append({})",
                py_frames(0, 2),
                py_frames(2, 1)
            ));
        }
        count += 3;
        for round in 0..2 {
            let mut out = NpyAppender::open(&path).unwrap();
            assert_eq!(out.header().fortran_order, fortran);
            for i in count..count + 4 {
                out.append(&frame(i)).unwrap();
            }
            out.finish().unwrap();
            count += 4;
            numpy.exec(&format!(
                "with NpyAppendArray({p:?}) as a:\n\x20   a.append({})",
                py_frames(count, 2)
            ));
            count += 2;
            let ok = numpy.exec(&format!(
                "a = np.load({p:?}, mmap_mode='r')\n\
                 expected = {}\n\
                 result = [bool(np.array_equal(a, expected)), bool(np.isfortran(a)), list(a.shape)]",
                py_frames(0, count)
            ));
            assert_eq!(
                ok[0],
                Value::Bool(true),
                "{fortran} {made_by_us} round {round}: {ok}"
            );
            assert_eq!(ok[1], Value::Bool(fortran));
        }
    }
}

/// numpy readers (np.load with and without mmap) during appends see a growing prefix of
/// complete frames.
#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn numpy_readers_during_appends_see_prefixes() {
    let mut numpy = oracle::shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.npy");
    const K: u64 = 3;
    let mut out = AppendOptions::new()
        .buffer(BufferSize::Bytes(500))
        .create(&path, &FrameLayout::of::<u64>(&[K]))
        .unwrap();
    out.append(&(0..K * 10).collect::<Vec<u64>>()).unwrap();
    out.flush().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut next = 10u64;
            let mut round = 0u64;
            let start = Instant::now();
            while !stop.load(std::sync::atomic::Ordering::Relaxed)
                && start.elapsed() < Duration::from_secs(20)
            {
                let n = 1 + round % 4;
                out.append(&(next * K..(next + n) * K).collect::<Vec<u64>>())
                    .unwrap();
                next += n;
                round += 1;
                if round.is_multiple_of(5) {
                    out.flush().unwrap();
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            out.finish().unwrap();
            next
        })
    };
    let result = numpy.exec(&format!(
        "import time\n\
         p = {:?}\n\
         start = time.time(); loads = 0; last = 0; bad = None\n\
         while time.time() - start < 2.0 and bad is None:\n\
         \x20   for mode in (None, 'r'):\n\
         \x20       try:\n\
         \x20           a = np.load(p, mmap_mode=mode)\n\
         \x20       except Exception as e:\n\
         \x20           bad = repr(e); break\n\
         \x20       v = a.reshape(-1)\n\
         \x20       if a.shape[1:] != ({K},) or not np.array_equal(v, np.arange(v.size, dtype=v.dtype)):\n\
         \x20           bad = 'not a prefix: shape %r' % (a.shape,); break\n\
         \x20       if a.shape[0] < last:\n\
         \x20           bad = 'the count went back'; break\n\
         \x20       last = a.shape[0]; loads += 1\n\
         result = [loads, last, bad]",
        path_str(&path)
    ));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let total = writer.join().unwrap();
    assert_eq!(result[2], Value::Null, "{result}");
    assert!(result[0].as_u64().unwrap() > 20, "{result}");
    let last = result[1].as_u64().unwrap();
    assert!(last >= 10 && last <= total, "{result}");
    let final_count = numpy.exec(&format!("result = np.load({:?}).shape[0]", path_str(&path)));
    assert_eq!(final_count, json!(total));
}
