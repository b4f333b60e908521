//! Fault injection for this crate's crash tests: only with the `fault-injection` feature, which
//! is for tests and not part of the stable API (a program that enables it gets saves that a
//! thread-local switch can stop half-way).

use std::cell::Cell;

/// A point in a save where a test can stop it, as if the process had died there.
///
/// ```
/// varpack::testing::set_fault(Some(varpack::testing::Fault::AfterFiles));
/// varpack::testing::set_fault(None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Every file of the new pack written and synced, nothing renamed.
    AfterFiles,
    /// The old directory renamed aside, the new one not yet in place.
    AfterOldMoved,
    /// The new directory in place, the old one not yet removed.
    AfterSwap,
}

thread_local! {
    static FAULT: Cell<Option<Fault>> = const { Cell::new(None) };
}

/// Makes the next saves on this thread stop at `fault` (without any cleanup).
///
/// ```
/// varpack::testing::set_fault(None);
/// ```
pub fn set_fault(fault: Option<Fault>) {
    FAULT.with(|f| f.set(fault));
}

pub(crate) fn check(at: Fault) -> Result<(), crate::SaveError> {
    if FAULT.with(Cell::get) == Some(at) {
        // The save's own path is not known here; the fault names where it stopped.
        let kind = crate::SaveErrorKind::Injected(at);
        return Err(crate::SaveError::new(std::path::PathBuf::new(), kind));
    }
    Ok(())
}
