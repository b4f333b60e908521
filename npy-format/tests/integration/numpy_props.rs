//! Property tests against real numpy: random dtype × shape × order × byte order × values.
//!
//! For each case: the file we write is byte-identical to `np.save`'s for the same array, numpy
//! loads ours equal (dtype, shape, order, bytes), and we read numpy's file equal.
//!
//! Run with `cargo xtask test` (it provides the numpy venv); plain `cargo test` lists them as
//! ignored.

use testkit::oracle;

use std::path::Path;

use npy_format::{ByteOrder, DType, Field, Header, NpyFile, Scalar, ScalarKind, TimeUnit};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn order() -> impl Strategy<Value = ByteOrder> {
    prop_oneof![Just(ByteOrder::Little), Just(ByteOrder::Big)]
}

fn time_unit() -> impl Strategy<Value = TimeUnit> {
    prop::sample::select(vec![
        TimeUnit::Generic,
        TimeUnit::Years,
        TimeUnit::Months,
        TimeUnit::Weeks,
        TimeUnit::Days,
        TimeUnit::Hours,
        TimeUnit::Minutes,
        TimeUnit::Seconds,
        TimeUnit::Milliseconds,
        TimeUnit::Microseconds,
        TimeUnit::Nanoseconds,
        TimeUnit::Picoseconds,
        TimeUnit::Femtoseconds,
        TimeUnit::Attoseconds,
    ])
}

/// Every scalar kind numpy writes (except objects, whose data is a pickle).
fn scalar() -> impl Strategy<Value = DType> {
    let sized = |kind: ScalarKind, sizes: Vec<usize>| {
        (prop::sample::select(sizes), order())
            .prop_map(move |(size, order)| Scalar::new(kind, order, size))
    };
    let time = (
        prop::bool::ANY,
        time_unit(),
        prop_oneof![4 => Just(1u32), 1 => 2u32..100],
        order(),
    )
        .prop_map(|(datetime, unit, multiplier, order)| {
            let multiplier = if unit == TimeUnit::Generic {
                1
            } else {
                multiplier
            };
            let kind = if datetime {
                ScalarKind::DateTime { unit, multiplier }
            } else {
                ScalarKind::TimeDelta { unit, multiplier }
            };
            Scalar::new(kind, order, 8)
        });
    prop_oneof![
        sized(ScalarKind::Bool, vec![1]),
        sized(ScalarKind::Int, vec![1, 2, 4, 8]),
        sized(ScalarKind::UInt, vec![1, 2, 4, 8]),
        sized(ScalarKind::Float, vec![2, 4, 8, 16]),
        sized(ScalarKind::Complex, vec![8, 16, 32]),
        (1usize..9).prop_map(|n| Scalar::native(ScalarKind::Bytes, n)),
        (1usize..5, order()).prop_map(|(n, o)| Scalar::new(ScalarKind::Unicode, o, 4 * n)),
        (1usize..9).prop_map(|n| Scalar::native(ScalarKind::Void, n)),
        time,
    ]
    .prop_map(DType::Scalar)
}

/// Field names that exercise Python's repr: quotes, backslashes, tabs, latin-1, Cyrillic
/// (format 3.0), astral characters.
fn name() -> impl Strategy<Value = String> {
    let chars = prop::sample::select(vec![
        'a', 'b', 'x', 'y', 'Z', '0', '7', '_', ' ', '\'', '"', '\\', '\t', 'é', 'ÿ', 'ж', '日',
        '😀',
    ]);
    prop::collection::vec(chars, 1..6).prop_map(|cs| cs.into_iter().collect())
}

fn sub_shape() -> impl Strategy<Value = Vec<u64>> {
    prop_oneof![
        3 => Just(vec![]),
        1 => prop::collection::vec(1u64..4, 1..3),
    ]
}

/// Structured dtypes: fields with titles, sub-arrays, padding between fields, nested records.
fn dtype() -> impl Strategy<Value = DType> {
    scalar().prop_recursive(2, 12, 4, |inner| {
        let field = (
            name(),
            prop::option::weighted(0.2, name()),
            inner,
            sub_shape(),
            prop::option::weighted(0.2, 1usize..8),
        );
        prop::collection::vec(field, 1..4).prop_map(|entries| {
            let mut fields = Vec::new();
            for (i, (name, title, dtype, shape, pad)) in entries.into_iter().enumerate() {
                if let Some(pad) = pad {
                    fields.push(Field::padding(pad));
                }
                // Names must be unique among names and titles: make them so by position.
                fields.push(Field {
                    name: format!("{name}{i}"),
                    title: title.map(|t| format!("{t}T{i}")),
                    dtype,
                    shape,
                });
            }
            DType::Record(fields)
        })
    })
}

/// Shapes of rank 0 to 32 with at most 64 elements; zero-length dimensions included.
fn shape() -> impl Strategy<Value = Vec<u64>> {
    let rank = prop_oneof![3 => 0usize..4, 1 => 4usize..33];
    rank.prop_flat_map(|rank| {
        prop::collection::vec(
            prop_oneof![6 => Just(1u64), 3 => 2u64..5, 1 => Just(0u64)],
            rank,
        )
    })
    .prop_map(|mut dims| {
        while dims.iter().product::<u64>() > 64 {
            let big = dims
                .iter()
                .position(|&d| d > 1)
                .expect("a dimension above 1");
            dims[big] = 1;
        }
        dims
    })
}

/// Makes random bytes valid values: bools 0/1, unicode code units ASCII (numpy compares strings
/// by code point, and code units above 0x10FFFF are not characters).
fn sanitize(dtype: &DType, item: &mut [u8]) {
    match dtype {
        DType::Scalar(s) => match s.kind {
            ScalarKind::Bool => item.iter_mut().for_each(|b| *b &= 1),
            ScalarKind::Unicode => {
                for unit in item.chunks_exact_mut(4) {
                    let ascii = 0x20 + unit[0] % 0x5f;
                    unit.fill(0);
                    let at = if s.byte_order == ByteOrder::Big { 3 } else { 0 };
                    unit[at] = ascii;
                }
            }
            _ => {}
        },
        DType::SubArray(base, _) => {
            let size = base.itemsize();
            item.chunks_exact_mut(size).for_each(|c| sanitize(base, c));
        }
        DType::Record(fields) => {
            let mut offset = 0;
            for field in fields {
                let len = field.itemsize();
                let size = field.dtype.itemsize();
                if size > 0 {
                    for c in item[offset..offset + len].chunks_exact_mut(size) {
                        sanitize(&field.dtype, c);
                    }
                }
                offset += len;
            }
        }
    }
}

fn case() -> impl Strategy<Value = (DType, Vec<u64>, bool, Vec<u8>)> {
    (dtype(), shape(), prop::bool::ANY).prop_flat_map(|(dtype, shape, fortran)| {
        let count: u64 = shape.iter().product();
        let len = count as usize * dtype.itemsize();
        (
            Just(dtype),
            Just(shape),
            Just(fortran),
            prop::collection::vec(any::<u8>(), len),
        )
    })
}

fn check_case(
    dir: &Path,
    dtype: DType,
    shape: Vec<u64>,
    fortran: bool,
    mut data: Vec<u8>,
) -> Result<(), TestCaseError> {
    let itemsize = dtype.itemsize();
    if itemsize > 0 {
        data.chunks_exact_mut(itemsize)
            .for_each(|item| sanitize(&dtype, item));
    }
    let header = Header::for_array(dtype.clone(), fortran, shape.clone());
    let ours = dir.join("ours.npy");
    let theirs = dir.join("numpy.npy");
    let raw = dir.join("data.bin");
    let mut our_bytes = Vec::new();
    npy_format::write_raw(&mut our_bytes, &header, &data)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    std::fs::write(&ours, &our_bytes).unwrap();
    std::fs::write(&raw, &data).unwrap();

    let mut numpy = oracle::shared();
    numpy.save(&theirs, &dtype.descr(), &shape, fortran, &raw);
    let numpy_bytes = std::fs::read(&theirs).unwrap();
    prop_assert!(
        our_bytes == numpy_bytes,
        "not byte-identical to np.save for descr {} shape {:?} fortran {}:\n ours:  {:?}\n numpy: {:?}",
        dtype.descr(),
        shape,
        fortran,
        String::from_utf8_lossy(&our_bytes[..our_bytes.len() - data.len()]),
        String::from_utf8_lossy(&numpy_bytes[..numpy_bytes.len().saturating_sub(data.len())]),
    );

    let (equal, reason) = numpy.check_load(&ours, &dtype.descr(), &shape, fortran, &raw);
    drop(numpy);
    prop_assert!(equal, "numpy loads ours differently: {}", reason);

    let file = NpyFile::options()
        .max_header_size(usize::MAX)
        .open(&theirs)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(file.header(), &header);
    prop_assert_eq!(file.data().unwrap(), &data[..]);
    prop_assert_eq!(file.data_offset() % 64, 0);
    Ok(())
}

#[test]
#[ignore = "needs numpy: run `cargo xtask test`"]
fn written_files_match_np_save_and_load_equal() {
    let dir = tempfile::tempdir().unwrap();
    let cases = std::env::var("NPY_PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(400);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&case(), |(dtype, shape, fortran, data)| {
            check_case(dir.path(), dtype, shape, fortran, data)
        })
        .unwrap();
}
