//! The counting global allocator: what each case allocates, on its own thread and on the
//! threads the library spawns while it runs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::sync::Mutex;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

/// Allocations above this are refused outright while a case runs, whatever the case's bound.
const HARD_LIMIT: usize = 1 << 30;

pub(super) struct ThreadState {
    /// A test thread: its allocations outside cases are the harness's own.
    pub(super) registered: Cell<bool>,
    /// Inside a case.
    pub(super) armed: Cell<bool>,
    pub(super) largest: Cell<usize>,
    pub(super) live: Cell<isize>,
    pub(super) peak: Cell<isize>,
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
    pub(super) static STATE: ThreadState = const { ThreadState::new() };
    /// The case running on this thread, for the message printed before a refused allocation.
    pub(super) static CASE: RefCell<String> = const { RefCell::new(String::new()) };
    /// The message of the last panic of a case on this thread.
    pub(super) static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Cases running now, on all threads.
pub(super) static ARMED: AtomicUsize = AtomicUsize::new(0);
/// Largest allocation, and live bytes, of threads that are not test threads (threads the library
/// spawns, e.g. filepack's parallel verify) while any case runs.
pub(super) static STRAY_LARGEST: AtomicUsize = AtomicUsize::new(0);
pub(super) static STRAY_LIVE: AtomicIsize = AtomicIsize::new(0);
pub(super) static STRAY_PEAK: AtomicIsize = AtomicIsize::new(0);
/// Panics on such threads while a case runs (a library may catch them at `join`).
pub(super) static STRAY_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

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
