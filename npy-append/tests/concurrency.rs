//! Concurrency soak tests: one appender with eight readers (threads, then separate processes),
//! and appenders contending for one file (processes and threads).
//!
//! Every frame's contents are a function of its index (or, for contending appenders, of its
//! writer, session and position), so a reader checks each frame it sees. Readers take no lock;
//! they must never see a count beyond the data (an open or a read failing as truncated), nor a
//! frame whose bytes are not what the appender wrote.
//!
//! `ARRAY_FILES_SOAK_SECS` sets how long each test runs (default 3 s; 60 in the full run);
//! `ARRAY_FILES_SEED` the seed of the appenders' and readers' choices (see `testkit::faults`).
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use npy_append::{
    AppendOptions, BufferSize, FrameLayout, LockMode, NpyAppender, OpenErrorKind, mapped_chunks,
};
use npy_format::{FrameSource, NpyFile};
use testkit::faults::{self as fs_, Rng, mix, report};

/// Elements per frame.
const K: u64 = 6;

/// Frames appended per second, at most (48 bytes each: 15000 frames is 720 kB).
const RATE: f64 = 15_000.0;

/// Element `e` of the file (frame `e / K`).
fn value(e: u64) -> u64 {
    mix(e ^ 0x5eed_f11e)
}

fn frames(start: u64, n: u64) -> Vec<u64> {
    (start * K..(start + n) * K).map(value).collect()
}

/// Checks elements of frames `[first, first + values.len() / K)`.
fn check_values(values: &[u64], first: u64, what: &str) {
    for (i, &v) in values.iter().enumerate() {
        let e = first * K + i as u64;
        assert_eq!(
            v,
            value(e),
            "{what}: element {e} (frame {}) is wrong",
            e / K
        );
    }
}

/// What one reader saw.
#[derive(Debug, Default, Clone, Copy)]
struct ReaderStats {
    reads: u64,
    frames_checked: u64,
    max_count: u64,
    /// Opens that saw fewer frames than an earlier one: possible in principle (a read racing a
    /// header rewrite of several digits, see `NpyAppender`'s docs), harmless (still a prefix).
    regressions: u64,
}

impl ReaderStats {
    fn add(&mut self, other: ReaderStats) {
        self.reads += other.reads;
        self.frames_checked += other.frames_checked;
        self.max_count = self.max_count.max(other.max_count);
        self.regressions += other.regressions;
    }
}

/// Reads the file at random until `deadline`, checking every frame it looks at.
fn read_until(path: &Path, deadline: Instant, seed: u64) -> ReaderStats {
    let mut rng = Rng(seed);
    let mut stats = ReaderStats::default();
    while Instant::now() < deadline {
        let count = match rng.below(8) {
            // The whole array, read into memory (no map).
            0 => {
                let array = npy_format::read_file::<u64>(path)
                    .unwrap_or_else(|e| panic!("read_file saw more than the data: {e}"));
                let count = array.header.frame_count();
                assert_eq!(array.data.len() as u64, count * K);
                check_values(&array.data, 0, "read_file");
                stats.frames_checked += count;
                count
            }
            // A map: the newest frames, a random range, and a sequential chunked pass over
            // a window.
            _ => {
                let file = NpyFile::open(path)
                    .unwrap_or_else(|e| panic!("NpyFile::open saw more than the data: {e}"));
                let count = file.frame_count();
                let view = file.view::<u64>().unwrap();
                let values = view.as_slice();
                assert_eq!(values.len() as u64, count * K);
                let tail = count.saturating_sub(2048);
                check_values(&values[(tail * K) as usize..], tail, "newest frames");
                let start = rng.below(count + 1);
                let end = (start + rng.below(512)).min(count);
                let bytes = file.frames(start, end).unwrap();
                let range: Vec<u64> = bytes
                    .chunks_exact(8)
                    .map(|b| u64::from_ne_bytes(b.try_into().unwrap()))
                    .collect();
                check_values(&range, start, "frames()");
                let mut seen = 0;
                for chunk in mapped_chunks(&file, rng.range(1, 300)).take(8) {
                    let chunk = chunk.unwrap();
                    assert_eq!(chunk.start, seen);
                    let first: Vec<u64> = chunk.bytes[..(K * 8) as usize]
                        .chunks_exact(8)
                        .map(|b| u64::from_ne_bytes(b.try_into().unwrap()))
                        .collect();
                    check_values(&first, chunk.start, "mapped_chunks");
                    seen += chunk.frames;
                }
                stats.frames_checked += (count - tail) + (end - start);
                count
            }
        };
        if count < stats.max_count {
            stats.regressions += 1;
        }
        stats.max_count = stats.max_count.max(count);
        stats.reads += 1;
    }
    stats
}

/// Appends frames at random until `deadline`: small runs through the buffer, runs larger
/// than it, flushes, syncs, and now and then a finish and a reopen. Returns the frame count.
fn append_until(path: &Path, deadline: Instant, seed: u64) -> u64 {
    let mut rng = Rng(seed);
    let options = AppendOptions::new().buffer(BufferSize::Bytes(rng.range(0, 64 << 10) as usize));
    let mut out = options.create(path, &FrameLayout::of::<u64>(&[K])).unwrap();
    let mut next = 0;
    let start = Instant::now();
    while Instant::now() < deadline {
        let n = if rng.chance(1, 50) {
            rng.range(500, 3000)
        } else {
            rng.range(1, 40)
        };
        out.append(&frames(next, n)).unwrap();
        next += n;
        match rng.below(1000) {
            0..=199 => out.flush().unwrap(),
            200 => out.sync().unwrap(),
            201..=202 => {
                out.finish().unwrap();
                out = options.open(path).unwrap();
            }
            _ => {}
        }
        // At most RATE frames a second, so that a 60 s run stays at tens of MB: readers
        // check what they read, and some read the whole file into memory.
        while next as f64 > start.elapsed().as_secs_f64() * RATE && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    assert_eq!(out.finish().unwrap().shape, vec![next, K]);
    next
}

/// Checks a soak of readers following one appender: the finished file, and that the readers
/// saw frames; prints the totals.
fn check_readers(
    path: &Path,
    appended: u64,
    total: &ReaderStats,
    readers: &str,
    start: Instant,
    seed: u64,
) {
    check_final(path, appended);
    assert!(total.max_count > 0, "the readers never saw a frame");
    eprintln!(
        "1 appender, {readers}, {:.1} s: {appended} frames appended; {} reads checking {} frames; {} count regressions; seed {seed}",
        start.elapsed().as_secs_f64(),
        total.reads,
        total.frames_checked,
        total.regressions
    );
}

/// Checks the finished file: every frame appended, each right.
fn check_final(path: &Path, appended: u64) {
    let array = npy_format::read_file::<u64>(path).unwrap();
    assert_eq!(array.header.shape, vec![appended, K]);
    check_values(&array.data, 0, "final file");
}

#[test]
fn child_entry() {
    let Some((role, arg)) = fs_::child_role() else {
        return;
    };
    let parts: Vec<&str> = arg.split('\t').collect();
    let path = PathBuf::from(parts[0]);
    match role.as_str() {
        "reader" => {
            let secs: f64 = parts[1].parse().unwrap();
            let seed: u64 = parts[2].parse().unwrap();
            // Wait for the appender to create the file.
            while !path.exists() {
                std::thread::sleep(Duration::from_millis(1));
            }
            let stats = read_until(&path, Instant::now() + Duration::from_secs_f64(secs), seed);
            report("reads", stats.reads);
            report("frames_checked", stats.frames_checked);
            report("max_count", stats.max_count);
            report("regressions", stats.regressions);
        }
        "contender" => {
            let secs: f64 = parts[1].parse().unwrap();
            let writer: u64 = parts[2].parse().unwrap();
            let stats = contend(
                &path,
                writer,
                Instant::now() + Duration::from_secs_f64(secs),
            );
            report("sessions", stats.sessions);
            report("frames", stats.frames);
            report("refused", stats.refused);
        }
        other => panic!("unknown child role {other}"),
    }
}

#[test]
fn eight_reader_threads_follow_one_appender() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.npy");
    let soak = fs_::soak();
    let seed = fs_::base_seed();
    let start = Instant::now();
    let deadline = start + soak;
    let appender = {
        let path = path.clone();
        std::thread::spawn(move || append_until(&path, deadline, seed))
    };
    while !path.exists() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let readers: Vec<_> = (1..=8u64)
        .map(|r| {
            let path = path.clone();
            std::thread::spawn(move || read_until(&path, deadline, seed ^ mix(r)))
        })
        .collect();
    let mut total = ReaderStats::default();
    for reader in readers {
        let stats = reader.join().unwrap_or_else(|_| {
            panic!("a reader failed; seed {seed} ({})", fs_::SEED_ENV);
        });
        assert!(stats.reads > 0, "a reader never read");
        total.add(stats);
    }
    let appended = appender.join().unwrap();
    check_readers(&path, appended, &total, "8 reader threads", start, seed);
}

#[test]
fn eight_reader_processes_follow_one_appender() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.npy");
    let soak = fs_::soak();
    let seed = fs_::base_seed();
    // The readers start first and wait for the file; they read for the appender's duration.
    let readers: Vec<_> = (1..=8u64)
        .map(|r| {
            let arg = format!(
                "{}\t{}\t{}",
                path.display(),
                soak.as_secs_f64(),
                seed ^ mix(r)
            );
            fs_::child_command("reader", &arg).spawn().unwrap()
        })
        .collect();
    let start = Instant::now();
    let appended = append_until(&path, start + soak, seed);
    let mut total = ReaderStats::default();
    for reader in readers {
        let output = fs_::ChildOutput::from_output(&reader.wait_with_output().unwrap());
        let get = |key: &str| -> u64 {
            output
                .number(key)
                .unwrap_or_else(|| panic!("a reader failed ({output}); seed {seed}"))
        };
        assert!(output.status.success(), "a reader failed; seed {seed}");
        let stats = ReaderStats {
            reads: get("reads"),
            frames_checked: get("frames_checked"),
            max_count: get("max_count"),
            regressions: get("regressions"),
        };
        assert!(stats.reads > 0, "a reader never read");
        total.add(stats);
    }
    check_readers(&path, appended, &total, "8 reader processes", start, seed);
}

/// What one contending appender did.
#[derive(Debug, Default, Clone, Copy)]
struct ContendStats {
    sessions: u64,
    frames: u64,
    /// Opens refused with `OpenError::Locked` (then retried, waiting for the lock).
    refused: u64,
}

/// The frame `seq` of session `session` of `writer`: its identity and a checksum.
fn session_frame(writer: u64, session: u64, seq: u64) -> [u64; 4] {
    [
        writer,
        session,
        seq,
        mix((writer << 48) ^ (session << 24) ^ seq),
    ]
}

/// Until `deadline`: opens the file (fail-fast; when refused, waiting), appends one session of
/// frames in several appends and flushes, holding the lock a little, finishes.
fn contend(path: &Path, writer: u64, deadline: Instant) -> ContendStats {
    let mut rng = Rng(mix(writer) ^ fs_::base_seed());
    let mut stats = ContendStats::default();
    let fail_fast = AppendOptions::new().lock(LockMode::FailFast);
    let wait = AppendOptions::new().lock(LockMode::Wait);
    while Instant::now() < deadline {
        let mut out = match fail_fast.open(path) {
            Ok(out) => out,
            Err(e) if matches!(e.kind(), OpenErrorKind::Locked) => {
                stats.refused += 1;
                wait.open(path).unwrap()
            }
            Err(e) => panic!("writer {writer}: {e}"),
        };
        let start = out.frame_count();
        let len = rng.range(1, 60);
        let session = stats.sessions;
        let mut seq = 0;
        while seq < len {
            let n = rng.range(1, len - seq);
            let data: Vec<u64> = (seq..seq + n)
                .flat_map(|s| session_frame(writer, session, s))
                .collect();
            out.append(&data).unwrap();
            seq += n;
            if rng.chance(1, 2) {
                out.flush().unwrap();
            }
            if rng.chance(1, 3) {
                std::thread::sleep(Duration::from_micros(rng.below(500)));
            }
        }
        // Nobody appended while this appender held the file.
        assert_eq!(
            out.finish().unwrap().shape[0],
            start + len,
            "writer {writer}"
        );
        stats.sessions += 1;
        stats.frames += len;
    }
    stats
}

#[test]
fn contending_appenders_take_turns_and_never_interleave() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.npy");
    drop(NpyAppender::create(&path, &FrameLayout::of::<u64>(&[4])).unwrap());
    let soak = fs_::soak();
    let start = Instant::now();
    // Two processes, started before any lock is held (a child holds copies of the parent's
    // descriptors from fork to exec), and two threads of this process.
    let children: Vec<_> = (1..=2u64)
        .map(|w| {
            let arg = format!("{}\t{}\t{w}", path.display(), soak.as_secs_f64());
            fs_::child_command("contender", &arg).spawn().unwrap()
        })
        .collect();
    let threads: Vec<_> = (3..=4u64)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || contend(&path, w, start + soak))
        })
        .collect();
    let mut total = ContendStats::default();
    let mut sessions_of = [0u64; 5];
    for (i, child) in children.into_iter().enumerate() {
        let out = fs_::ChildOutput::from_output(&child.wait_with_output().unwrap());
        assert!(out.status.success(), "contender process {} failed", i + 1);
        let get = |key: &str| -> u64 { out.number(key).unwrap_or_else(|| panic!("{out}")) };
        sessions_of[i + 1] = get("sessions");
        total.sessions += get("sessions");
        total.frames += get("frames");
        total.refused += get("refused");
    }
    for (i, thread) in threads.into_iter().enumerate() {
        let stats = thread.join().unwrap();
        sessions_of[i + 3] = stats.sessions;
        total.sessions += stats.sessions;
        total.frames += stats.frames;
        total.refused += stats.refused;
    }
    // The file: whole sessions, one after another, each writer's in order.
    let array = npy_format::read_file::<u64>(&path).unwrap();
    assert_eq!(array.header.shape, vec![total.frames, 4]);
    let mut next_session = [0u64; 5];
    let mut runs = 0;
    let mut frames = array.data.chunks_exact(4).peekable();
    while let Some(first) = frames.next() {
        let (writer, session) = (first[0], first[1]);
        assert!((1..=4).contains(&writer), "frame from no writer: {first:?}");
        assert_eq!(
            session, next_session[writer as usize],
            "writer {writer}'s sessions out of order, or one interleaved with another"
        );
        assert_eq!(first, session_frame(writer, session, 0));
        let mut seq = 1;
        while let Some(frame) = frames.next_if(|f| f[0] == writer && f[1] == session) {
            assert_eq!(frame, session_frame(writer, session, seq), "a torn session");
            seq += 1;
        }
        next_session[writer as usize] += 1;
        runs += 1;
    }
    assert_eq!(runs, total.sessions);
    assert_eq!(&next_session[1..], &sessions_of[1..]);
    // The fail-fast opens met the typed lock error, and then waited their turn.
    assert!(total.refused > 0, "no open was ever refused: {total:?}");
    eprintln!(
        "4 contending appenders (2 processes, 2 threads), {:.1} s: {} sessions of {} frames, {} opens refused with OpenError::Locked and then waited for the lock",
        start.elapsed().as_secs_f64(),
        total.sessions,
        total.frames,
        total.refused
    );
}
