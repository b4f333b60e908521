//! The runner: one case per mutated input under `catch_unwind`, with the allocator's counts
//! checked against the bound, and a watchdog against hangs.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use super::alloc::{
    ARMED, CASE, LAST_PANIC, STATE, STRAY_LARGEST, STRAY_LIVE, STRAY_PANICS, STRAY_PEAK,
};
use super::env_number;

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
