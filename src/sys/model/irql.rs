//! The IRQL of each model thread (a thread stands for a processor).

use std::cell::Cell;

std::thread_local! {
    static IRQL: Cell<u8> = const { Cell::new(0) };
}

/// This thread's IRQL.
pub(super) fn get() -> u8 {
    IRQL.with(Cell::get)
}

/// Sets this thread's IRQL, unchecked.
pub(super) fn set(level: u8) {
    IRQL.with(|irql| irql.set(level));
}

/// Back to PASSIVE_LEVEL (a thread joining or leaving a kernel).
pub(super) fn reset() {
    set(0);
}
