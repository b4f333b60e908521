//! Mutation testing shared by every crate's `tests/mutation.rs`: a counting global allocator, a
//! reproducible mutation generator, and a runner that runs one call sequence per mutated input
//! under `catch_unwind`, with a watchdog against hangs.
//!
//! Used by each crate's mutation test binary, which declares the counting allocator:
//!
//! ```ignore
//! use testkit::mutation;
//!
//! #[global_allocator]
//! static ALLOC: mutation::CountingAlloc = mutation::CountingAlloc;
//! ```
//!
//! What a [`Runner`] checks for every case (one mutated input, one closure of calls on it):
//!
//! - no panic (the panic message and location are reported with the mutation);
//! - no single allocation larger than `input_len * factor + slack`, and no more than that many
//!   bytes live at once, counted on the case's thread and on any thread the library spawns;
//! - no case runs longer than `MUTATION_CASE_TIMEOUT` seconds (default 60): the watchdog prints
//!   the case and aborts the process, as a hang would otherwise never end.
//!
//! An allocation above 1 GiB is refused on the spot (after printing the case), since letting it
//! through could exhaust the machine before the case ends.
//!
//! Every failure names the sample and the mutations in Rust syntax, so a failing case can be
//! pasted into the test file as a named regression case.
//!
//! The cases are the same on every run. `MUTATION_SEED=N` draws other random edits, and
//! `MUTATION_SCALE=K` draws K times as many, for longer runs by hand:
//! `MUTATION_SEED=7 MUTATION_SCALE=20 cargo test --release -p npz-stream --test mutation`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use crate::rng::Rng;

// ---------------------------------------------------------------------------------------------
// The counting allocator.

/// Allocations above this are refused outright while a case runs, whatever the case's bound.
const HARD_LIMIT: usize = 1 << 30;

struct ThreadState {
    /// A test thread: its allocations outside cases are the harness's own.
    registered: Cell<bool>,
    /// Inside a case.
    armed: Cell<bool>,
    largest: Cell<usize>,
    live: Cell<isize>,
    peak: Cell<isize>,
}

impl ThreadState {
    const fn new() -> ThreadState {
        ThreadState {
            registered: Cell::new(false),
            armed: Cell::new(false),
            largest: Cell::new(0),
            live: Cell::new(0),
            peak: Cell::new(0),
        }
    }
}

thread_local! {
    static STATE: ThreadState = const { ThreadState::new() };
    /// The case running on this thread, for the message printed before a refused allocation.
    static CASE: RefCell<String> = const { RefCell::new(String::new()) };
    /// The message of the last panic of a case on this thread.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Cases running now, on all threads.
static ARMED: AtomicUsize = AtomicUsize::new(0);
/// Largest allocation, and live bytes, of threads that are not test threads (threads the library
/// spawns, e.g. filepack's parallel verify) while any case runs.
static STRAY_LARGEST: AtomicUsize = AtomicUsize::new(0);
static STRAY_LIVE: AtomicIsize = AtomicIsize::new(0);
static STRAY_PEAK: AtomicIsize = AtomicIsize::new(0);
/// Panics on such threads while a case runs (a library may catch them at `join`).
static STRAY_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A global allocator that delegates to [`System`] and counts what cases allocate.
pub struct CountingAlloc;

impl CountingAlloc {
    /// Counts a request of `size` bytes; false if it must be refused.
    fn on_alloc(size: usize) -> bool {
        let outcome = STATE.try_with(|s| {
            if s.armed.get() {
                s.largest.set(s.largest.get().max(size));
                let live = s.live.get() + size as isize;
                s.live.set(live);
                s.peak.set(s.peak.get().max(live));
                if size > HARD_LIMIT {
                    s.armed.set(false);
                    refuse(size);
                    return false;
                }
            } else if !s.registered.get() && ARMED.load(Ordering::Relaxed) > 0 {
                STRAY_LARGEST.fetch_max(size, Ordering::Relaxed);
                let live = STRAY_LIVE.fetch_add(size as isize, Ordering::Relaxed) + size as isize;
                STRAY_PEAK.fetch_max(live, Ordering::Relaxed);
                if size > HARD_LIMIT {
                    refuse(size);
                    return false;
                }
            }
            true
        });
        outcome.unwrap_or(true)
    }

    fn on_dealloc(size: usize) {
        let _ = STATE.try_with(|s| {
            if s.armed.get() {
                s.live.set(s.live.get() - size as isize);
            } else if !s.registered.get() && ARMED.load(Ordering::Relaxed) > 0 {
                STRAY_LIVE.fetch_sub(size as isize, Ordering::Relaxed);
            }
        });
    }
}

/// Prints what is being refused, and by which case, before the allocation fails (which aborts
/// the process: no test could recover from it anyway).
fn refuse(size: usize) {
    use std::io::Write;
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "\nmutation test: an allocation of {size} bytes (over the hard limit of 1 GiB)"
    );
    let _ = CASE.try_with(|case| {
        if let Ok(case) = case.try_borrow() {
            let _ = writeln!(err, "  in case: {case}");
        }
    });
}

// SAFETY: every method delegates to `System` with the caller's layout and pointer unchanged;
// the bookkeeping touches only thread-locals (const-initialized, without destructors, so
// accessing them never allocates) and atomics. A refused request returns null, which
// `GlobalAlloc` allows.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !Self::on_alloc(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded from our caller, who upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !Self::on_alloc(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded from our caller, who upholds `alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        Self::on_dealloc(layout.size());
        // SAFETY: forwarded from our caller: `ptr` came from this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !Self::on_alloc(new_size) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded from our caller, who upholds `realloc`'s contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if new.is_null() {
            Self::on_dealloc(new_size);
        } else {
            Self::on_dealloc(layout.size());
        }
        new
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations.

/// One edit of an input. Positions past the end are clamped (inserts, deletes, truncations) or
/// skipped (flips, sets, writes), so any list applies to any input. `Display` prints Rust syntax
/// (with `use Mutation::*`), for pasting a failing case into a regression test.
#[derive(Clone, PartialEq, Eq)]
pub enum Mutation {
    /// XOR one bit.
    Flip {
        /// The byte.
        at: usize,
        /// The bit, 0 to 7.
        bit: u8,
    },
    /// Overwrite one byte.
    Set {
        /// The byte.
        at: usize,
        /// Its new value.
        value: u8,
    },
    /// Overwrite bytes (a little-endian integer, a token), clipped at the end.
    Write {
        /// Where the bytes start.
        at: usize,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Insert bytes before `at`.
    Insert {
        /// Where.
        at: usize,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Remove `len` bytes from `at`.
    Delete {
        /// Where.
        at: usize,
        /// How many bytes.
        len: usize,
    },
    /// Keep the first `len` bytes.
    Truncate {
        /// Bytes kept.
        len: usize,
    },
}

pub use Mutation::*;

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flip { at, bit } => write!(f, "Flip {{ at: {at}, bit: {bit} }}"),
            Set { at, value } => write!(f, "Set {{ at: {at}, value: {value:#04x} }}"),
            Write { at, bytes } => write!(f, "Write {{ at: {at}, bytes: vec!{bytes:?} }}"),
            Insert { at, bytes } => write!(f, "Insert {{ at: {at}, bytes: vec!{bytes:?} }}"),
            Delete { at, len } => write!(f, "Delete {{ at: {at}, len: {len} }}"),
            Truncate { len } => write!(f, "Truncate {{ len: {len} }}"),
        }
    }
}

impl fmt::Debug for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Mutation {
    /// Applies the edit in place.
    pub fn apply_to(&self, bytes: &mut Vec<u8>) {
        let len = bytes.len();
        match self {
            Flip { at, bit } => {
                if let Some(b) = bytes.get_mut(*at) {
                    *b ^= 1 << (bit % 8);
                }
            }
            Set { at, value } => {
                if let Some(b) = bytes.get_mut(*at) {
                    *b = *value;
                }
            }
            Write { at, bytes: new } => {
                for (i, &b) in new.iter().enumerate() {
                    if let Some(slot) = bytes.get_mut(at + i) {
                        *slot = b;
                    }
                }
            }
            Insert { at, bytes: new } => {
                let at = (*at).min(len);
                bytes.splice(at..at, new.iter().copied());
            }
            Delete { at, len: n } => {
                let at = (*at).min(len);
                let end = at.saturating_add(*n).min(len);
                bytes.drain(at..end);
            }
            Truncate { len: n } => bytes.truncate(*n),
        }
    }
}

/// `bytes` with every mutation applied in order.
pub fn apply(bytes: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for m in mutations {
        m.apply_to(&mut out);
    }
    out
}

/// The mutations as a Rust slice expression.
pub fn show(mutations: &[Mutation]) -> String {
    let parts: Vec<String> = mutations.iter().map(ToString::to_string).collect();
    format!("&[{}]", parts.join(", "))
}

/// A valid input to mutate, and where its structure is.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Its name in reports.
    pub name: String,
    /// The valid bytes.
    pub bytes: Vec<u8>,
    /// Byte ranges holding headers, tables, lengths: most mutations land here.
    pub hot: Vec<Range<usize>>,
    /// Integer fields `(offset, width in bytes)`: overwritten with extreme values.
    pub fields: Vec<(usize, usize)>,
    /// The structure is text (an NPY header, JSON): insert and overwrite with tokens too.
    pub text: bool,
    /// Positions where every token is inserted and written (a shape's digits, a JSON value),
    /// each with where to delete as many bytes again (padding), if the length must not change.
    pub spots: Vec<(usize, Option<usize>)>,
}

/// A `.npy` file of `header` and `data`.
pub fn npy(header: &npy_format::Header, data: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    npy_format::write_raw(&mut bytes, header, data).unwrap();
    bytes
}

/// A header of `descr` (as numpy writes it), order and shape.
pub fn header(descr: &str, fortran: bool, shape: &[u64]) -> npy_format::Header {
    npy_format::Header::new(
        npy_format::DType::parse(descr).unwrap(),
        fortran,
        shape.to_vec(),
    )
}

/// A sample of a whole `.npy` file: its header is the hot region, with the length field as a
/// field, as text, and with balanced edits inside the shape tuple and the descr (the padding
/// before the header's newline takes up what is inserted, so the data stays where the length
/// field says).
pub fn npy_sample(name: impl Into<String>, bytes: Vec<u8>) -> Sample {
    // The header as it parses, even for a crashed file (whose data is longer).
    let data_offset = npy_format::Header::from_bytes(&bytes)
        .expect("a sample's header parses")
        .data_offset as usize;
    let after = |key: &[u8]| {
        bytes
            .windows(key.len())
            .position(|w| w == key)
            .map_or(0, |at| at + key.len())
    };
    let (shape, descr) = (after(b"'shape': ("), after(b"'descr': "));
    let len_width = if bytes[6] == 1 { 2 } else { 4 };
    let pad = data_offset - 1;
    Sample::new(name, bytes)
        .hot(0..data_offset)
        .field(8, len_width)
        .text()
        .spot_balanced(shape, pad)
        .spot_balanced(descr, pad)
}

impl Sample {
    /// A sample with no structure marked yet.
    pub fn new(name: impl Into<String>, bytes: Vec<u8>) -> Sample {
        Sample {
            name: name.into(),
            bytes,
            hot: Vec::new(),
            fields: Vec::new(),
            text: false,
            spots: Vec::new(),
        }
    }

    /// Adds a position for [`Sample::spot_edits`].
    pub fn spot(mut self, at: usize) -> Sample {
        self.spots.push((at, None));
        self
    }

    /// Adds a position for [`Sample::spot_edits`] whose insertions are balanced by deleting as
    /// many bytes at `pad` (after `at`): the input keeps its length, so the offsets of the
    /// structure around it (a zip directory, an NPY header length) stay valid.
    pub fn spot_balanced(mut self, at: usize, pad: usize) -> Sample {
        self.spots.push((at, Some(pad)));
        self
    }

    /// Every token inserted at, and written over, every spot.
    pub fn spot_edits(&self) -> Vec<Vec<Mutation>> {
        let mut out = Vec::new();
        for &(at, pad) in &self.spots {
            for token in TOKENS {
                let bytes = token.as_bytes().to_vec();
                let len = bytes.len();
                out.push(vec![Insert {
                    at,
                    bytes: bytes.clone(),
                }]);
                if let Some(pad) = pad {
                    out.push(vec![
                        Insert {
                            at,
                            bytes: bytes.clone(),
                        },
                        Delete { at: pad, len },
                    ]);
                }
                out.push(vec![Write { at, bytes }]);
            }
        }
        out
    }

    /// Marks `range` as structure (headers, tables): most mutations land there.
    pub fn hot(mut self, range: Range<usize>) -> Sample {
        self.hot.push(range);
        self
    }

    /// Marks a length or offset field of `width` bytes at `offset`, set to extreme values.
    pub fn field(mut self, offset: usize, width: usize) -> Sample {
        self.fields.push((offset, width));
        self
    }

    /// Marks the sample as text (shape tokens are inserted into it).
    pub fn text(mut self) -> Sample {
        self.text = true;
        self
    }

    /// Every byte of the hot ranges flipped (bits 0 and 7) and set to 0x00 and 0xff.
    pub fn byte_edits(&self) -> Vec<Vec<Mutation>> {
        let mut out = Vec::new();
        for range in &self.hot {
            for at in range.clone().filter(|&at| at < self.bytes.len()) {
                out.push(vec![Flip { at, bit: 0 }]);
                out.push(vec![Flip { at, bit: 7 }]);
                out.push(vec![Set { at, value: 0 }]);
                out.push(vec![Set { at, value: 0xff }]);
            }
        }
        out
    }

    /// Truncations at every offset (at most `max` of them, evenly spread, always including
    /// the last few bytes).
    pub fn truncations(&self, max: usize) -> Vec<Vec<Mutation>> {
        let len = self.bytes.len();
        let step = len.div_ceil(max.max(1)).max(1);
        let mut lens: Vec<usize> = (0..len).step_by(step).collect();
        lens.extend(len.saturating_sub(8)..len);
        lens.sort_unstable();
        lens.dedup();
        lens.into_iter().map(|len| vec![Truncate { len }]).collect()
    }

    /// Every integer field set to each extreme value.
    pub fn field_edits(&self) -> Vec<Vec<Mutation>> {
        let mut out = Vec::new();
        for &(at, width) in &self.fields {
            for value in interesting_values(width, self.bytes.len()) {
                out.push(vec![Write {
                    at,
                    bytes: value[..width].to_vec(),
                }]);
            }
        }
        out
    }

    /// `n` random lists of 1 to 3 mutations from `seed` (times `MUTATION_SCALE`, and with
    /// `MUTATION_SEED` mixed into the seed, when those are set: longer or different runs).
    pub fn random_edits(&self, seed: u64, n: usize) -> Vec<Vec<Mutation>> {
        let n = n * env_number("MUTATION_SCALE").map_or(1, |s| s.max(1) as usize);
        let seed = seed ^ env_number("MUTATION_SEED").unwrap_or(0);
        let mut rng = Rng(seed ^ fnv(self.name.as_bytes()));
        (0..n)
            .map(|_| {
                let count = 1 + rng.index(3);
                (0..count).map(|_| self.random_mutation(&mut rng)).collect()
            })
            .collect()
    }

    fn random_position(&self, rng: &mut Rng) -> usize {
        let hot: Vec<&Range<usize>> = self.hot.iter().filter(|r| !r.is_empty()).collect();
        if !hot.is_empty() && rng.index(10) < 7 {
            let r = *rng.pick(&hot);
            r.start + rng.index(r.len())
        } else {
            rng.index(self.bytes.len() + 1)
        }
    }

    fn random_mutation(&self, rng: &mut Rng) -> Mutation {
        let at = self.random_position(rng);
        let kinds = if self.text { 9 } else { 8 };
        match rng.index(kinds) {
            0 | 1 => Flip {
                at,
                bit: rng.index(8) as u8,
            },
            2 => Set {
                at,
                value: *rng.pick(&[0x00, 0xff, 0x7f, 0x80, 0x01, 0x20, 0x30, 0x39]),
            },
            3 => {
                let width = *rng.pick(&[2, 4, 8]);
                let values = interesting_values(width, self.bytes.len());
                let value = rng.pick(&values);
                let at = match self.fields.is_empty() || rng.index(2) == 0 {
                    true => at,
                    false => rng.pick(&self.fields).0,
                };
                Write {
                    at,
                    bytes: value[..width].to_vec(),
                }
            }
            4 => {
                let n = 1 + rng.index(16);
                Insert {
                    at,
                    bytes: (0..n).map(|_| rng.next() as u8).collect(),
                }
            }
            5 => Delete {
                at,
                len: 1 + rng.index(16),
            },
            6 => Truncate {
                len: rng.index(self.bytes.len() + 1),
            },
            7 => Set {
                at,
                value: rng.next() as u8,
            },
            _ => {
                let token = rng.pick(TOKENS).as_bytes().to_vec();
                if rng.index(2) == 0 {
                    Insert { at, bytes: token }
                } else {
                    Write { at, bytes: token }
                }
            }
        }
    }

    /// Every kind of case: byte edits of the hot ranges, truncations, field edits, spot edits
    /// and `random` random lists.
    pub fn all_edits(&self, seed: u64, truncations: usize, random: usize) -> Vec<Vec<Mutation>> {
        let mut out = self.byte_edits();
        out.extend(self.truncations(truncations));
        out.extend(self.field_edits());
        out.extend(self.spot_edits());
        out.extend(self.random_edits(seed, random));
        out
    }
}

/// Tokens of the text formats (NPY header dicts, JSON manifests).
const TOKENS: &[&str] = &[
    "9",
    "0",
    "-1",
    "99999999999999999999",
    "18446744073709551615",
    "1e308",
    "(",
    ")",
    ",",
    "[",
    "]",
    "{",
    "}",
    "'",
    "\"",
    ":",
    "\\",
    "\n",
    " ",
    "True",
    "False",
    "None",
    "null",
    "L",
    "<",
    ">",
    "|",
    "=",
    "'<f8'",
    "'|O'",
    "'V'",
    "(1,)",
    "2**64",
    "\"shape\"",
    "\"dtype\"",
    "[[[[",
    "((((((((",
    "\u{e9}",
    "\u{ffff}",
    "65536",
    "1048576",
    "4294967296",
    "1099511627776",
    "281474976710656",
];

/// Little-endian bytes (8 of them; the first `width` are used) of values that break length
/// fields: 0, 1, all ones, the signed extremes, 2^32, 2^60, and the input length around.
fn interesting_values(width: usize, input_len: usize) -> Vec<[u8; 8]> {
    let bits = (width * 8) as u32;
    let max = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let len = input_len as u64;
    let mut values = vec![
        0,
        1,
        max,
        max - 1,
        max >> 1,
        (max >> 1) + 1,
        len,
        len + 1,
        len.saturating_sub(1),
        len / 2,
    ];
    if bits > 32 {
        values.extend([1 << 32, u64::from(u32::MAX), 1 << 60, 1 << 40]);
    }
    values.iter().map(|v| (v & max).to_le_bytes()).collect()
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

// ---------------------------------------------------------------------------------------------
// The runner.

/// A number from the environment, if set and valid.
fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

/// Per-case time limit, from `MUTATION_CASE_TIMEOUT` (seconds, default 60).
fn case_timeout() -> Duration {
    Duration::from_secs(env_number("MUTATION_CASE_TIMEOUT").unwrap_or(60))
}

/// Cases running now, by thread, for the watchdog.
static RUNNING: Mutex<Option<HashMap<ThreadId, (Instant, String)>>> = Mutex::new(None);

fn start_watchdog() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let timeout = case_timeout();
        std::thread::Builder::new()
            .name("mutation-watchdog".into())
            .spawn(move || {
                register_thread();
                loop {
                    std::thread::sleep(Duration::from_millis(500));
                    let running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
                    for (start, case) in running.iter().flat_map(|m| m.values()) {
                        if start.elapsed() > timeout {
                            // Straight to stderr: `eprintln!` would go to the test's captured
                            // output, which is lost when the process aborts.
                            use std::io::Write;
                            let _ = writeln!(
                                std::io::stderr(),
                                "\nmutation test: a case ran for more than {timeout:?} (a hang?), aborting\n  in case: {case}"
                            );
                            std::process::abort();
                        }
                    }
                }
            })
            .expect("spawn the watchdog");
    });
}

fn install_panic_hook() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_case = STATE.try_with(|s| s.armed.get()).unwrap_or(false);
            let registered = STATE.try_with(|s| s.registered.get()).unwrap_or(true);
            if in_case {
                // Stop counting: the case is over, and the message is the harness's.
                let _ = STATE.try_with(|s| s.armed.set(false));
                let backtrace = std::backtrace::Backtrace::capture();
                let message = match backtrace.status() {
                    std::backtrace::BacktraceStatus::Captured => {
                        let frames: Vec<String> = backtrace
                            .to_string()
                            .lines()
                            .filter(|l| !l.contains("at /rustc/"))
                            .take(40)
                            .map(str::to_owned)
                            .collect();
                        format!("{info}\n{}", frames.join("\n"))
                    }
                    _ => info.to_string(),
                };
                let _ = LAST_PANIC.try_with(|p| *p.borrow_mut() = Some(message));
            } else if !registered && ARMED.load(Ordering::Relaxed) > 0 {
                let name = std::thread::current().name().unwrap_or("?").to_owned();
                let mut stray = STRAY_PANICS.lock().unwrap_or_else(|e| e.into_inner());
                stray.push(format!("on thread {name}: {info}"));
            } else {
                default(info);
            }
        }));
    });
}

/// Marks the calling thread as a test thread: its allocations outside cases are not counted.
pub fn register_thread() {
    let _ = STATE.try_with(|s| s.registered.set(true));
}

/// What one case did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// The largest single allocation request.
    pub largest: usize,
    /// The most bytes live at once (allocated during the case and not yet freed).
    pub peak: usize,
}

/// Runs `f` inside a case and returns what it alone allocated on this thread (the largest
/// request, and the most bytes live at once from its start), for a tighter bound on one call.
/// The case's own counts still include it.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Usage) {
    let (largest, peak, live) = STATE.with(|s| (s.largest.get(), s.peak.get(), s.live.get()));
    STATE.with(|s| {
        s.largest.set(0);
        s.peak.set(live);
    });
    let result = f();
    STATE.with(|s| {
        let usage = Usage {
            largest: s.largest.get(),
            peak: (s.peak.get() - live).max(0) as usize,
        };
        s.largest.set(largest.max(usage.largest));
        s.peak.set(peak.max(s.peak.get()));
        (result, usage)
    })
}

/// Runs cases and collects their failures. Make it first in a test: it marks the thread as a
/// test thread, whose allocations outside cases (building samples) are the harness's own.
/// Allocations of any other thread while a case runs are counted against the case (they are
/// the library's worker threads); with several tests running at once that may be the wrong
/// case, but never a wrong report that something allocated too much.
pub struct Runner {
    name: String,
    factor: usize,
    slack: usize,
    cases: usize,
    failures: Vec<String>,
    largest_ratio: f64,
    largest_case: String,
    started: Instant,
}

/// How many failures are printed in full.
const SHOWN: usize = 8;

impl Runner {
    /// A runner whose cases may allocate at most `input_len * factor + slack` bytes at once
    /// (one request, and all live at once).
    pub fn new(name: impl Into<String>, factor: usize, slack: usize) -> Runner {
        register_thread();
        install_panic_hook();
        start_watchdog();
        Runner {
            name: name.into(),
            factor,
            slack,
            cases: 0,
            failures: Vec::new(),
            largest_ratio: 0.0,
            largest_case: String::new(),
            started: Instant::now(),
        }
    }

    /// The allocation bound for an input of `input_len` bytes.
    pub fn bound(&self, input_len: usize) -> usize {
        input_len
            .saturating_mul(self.factor)
            .saturating_add(self.slack)
    }

    /// Runs `f` as one case named `what`, on an input of `input_len` bytes; records a failure
    /// if it panics or allocates more than the bound. Returns what the case allocated.
    pub fn case(&mut self, what: &str, input_len: usize, f: impl FnOnce()) -> Usage {
        let bound = self.bound(input_len);
        let (result, usage, stray) = run_counted(what, bound, f);
        self.cases += 1;
        let mut problems = Vec::new();
        if let Err(message) = result {
            problems.push(format!("panicked: {message}"));
        }
        if usage.largest > bound {
            problems.push(format!(
                "allocated {} bytes at once, over the bound of {bound} for {input_len} input bytes",
                usage.largest
            ));
        } else if usage.peak > bound {
            problems.push(format!(
                "had {} bytes live at once, over the bound of {bound} for {input_len} input bytes",
                usage.peak
            ));
        }
        if let Some(stray) = stray {
            problems.push(stray);
        }
        let ratio = usage.largest.max(usage.peak) as f64 / bound as f64;
        if ratio > self.largest_ratio {
            self.largest_ratio = ratio;
            self.largest_case = format!("{what}: {usage:?} of {input_len} input bytes");
        }
        if !problems.is_empty() {
            self.failures
                .push(format!("{what}\n    {}", problems.join("\n    ")));
        }
        usage
    }

    /// Number of cases run so far.
    pub fn cases(&self) -> usize {
        self.cases
    }

    /// Fails the test if any case failed, listing the first few; prints a summary otherwise.
    pub fn finish(self) {
        let elapsed = self.started.elapsed();
        let seed = env_number("MUTATION_SEED").map_or(String::new(), |s| format!(" (seed {s})"));
        eprintln!(
            "{}{seed}: {} cases in {:.2?}, {} failed; the most a case allocated was {:.1}% of its bound",
            self.name,
            self.cases,
            elapsed,
            self.failures.len(),
            self.largest_ratio * 100.0
        );
        if std::env::var_os("MUTATION_VERBOSE").is_some() {
            eprintln!("  the case closest to its bound: {}", self.largest_case);
        }
        if self.failures.is_empty() {
            return;
        }
        let shown: Vec<&str> = self
            .failures
            .iter()
            .take(SHOWN)
            .map(String::as_str)
            .collect();
        panic!(
            "{}: {} of {} cases failed; the first {}:\n\n{}",
            self.name,
            self.failures.len(),
            self.cases,
            shown.len(),
            shown.join("\n\n")
        );
    }
}

/// Runs `f` counting its allocations, under `catch_unwind` and the watchdog.
fn run_counted(
    what: &str,
    bound: usize,
    f: impl FnOnce(),
) -> (Result<(), String>, Usage, Option<String>) {
    let id = std::thread::current().id();
    {
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        running
            .get_or_insert_with(HashMap::new)
            .insert(id, (Instant::now(), what.to_owned()));
    }
    CASE.with(|c| {
        let mut c = c.borrow_mut();
        c.clear();
        c.push_str(what);
    });
    LAST_PANIC.with(|p| *p.borrow_mut() = None);
    let stray_panics = STRAY_PANICS.lock().map_or(0, |p| p.len());
    // Reset even if another test's case is running: that can only hide its threads'
    // allocations (a missed report), never blame this case for them.
    STRAY_LARGEST.store(0, Ordering::Relaxed);
    STRAY_LIVE.store(0, Ordering::Relaxed);
    STRAY_PEAK.store(0, Ordering::Relaxed);
    STATE.with(|s| {
        s.largest.set(0);
        s.live.set(0);
        s.peak.set(0);
    });
    ARMED.fetch_add(1, Ordering::Relaxed);
    STATE.with(|s| s.armed.set(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    STATE.with(|s| s.armed.set(false));
    ARMED.fetch_sub(1, Ordering::Relaxed);
    let usage = STATE.with(|s| Usage {
        largest: s.largest.get(),
        peak: s.peak.get().max(0) as usize,
    });
    let result = result.map_err(|payload| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| match payload.downcast_ref::<&str>() {
                Some(s) => (*s).to_owned(),
                None => payload
                    .downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| "a panic with a non-string payload".to_owned()),
            })
    });
    let mut stray = Vec::new();
    let largest = STRAY_LARGEST.load(Ordering::Relaxed);
    let peak = STRAY_PEAK.load(Ordering::Relaxed).max(0) as usize;
    if largest > bound || peak > bound {
        stray.push(format!(
            "a thread the library spawned allocated {largest} bytes at once ({peak} live), over the bound of {bound}"
        ));
    }
    if let Ok(panics) = STRAY_PANICS.lock()
        && panics.len() > stray_panics
    {
        stray.push(format!(
            "a thread the library spawned panicked: {}",
            panics[stray_panics..].join("; ")
        ));
    }
    let stray = (!stray.is_empty()).then(|| stray.join("\n    "));
    if let Ok(mut running) = RUNNING.lock()
        && let Some(map) = running.as_mut()
    {
        map.remove(&id);
    }
    (result, usage, stray)
}

/// Replaces the contents of `path` with `bytes`, creating it if needed. Unlike `fs::write` it
/// never truncates a file to zero before writing, which on ext4 forces a flush to disk
/// (`auto_da_alloc`) and would make thousands of cases slow.
pub fn overwrite(path: &std::path::Path, bytes: &[u8]) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .unwrap();
    file.write_all(bytes).unwrap();
    file.set_len(bytes.len() as u64).unwrap();
}
