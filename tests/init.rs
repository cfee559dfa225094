//! `INIT` data against the kernel model: readable with the token inside
//! DriverEntry; a touch after the token ended (a broken `unsafe` promise)
//! is the page fault Windows takes on the discarded section.

use std::sync::atomic::{AtomicU32, Ordering};

use wdm_mem::{
    init::with_init_token,
    init_static,
    model::{BugCheck, Kernel},
};

init_static! {
    static DEFAULTS: [u32; 4] = [1, 2, 3, 4];
}

init_static! {
    /// Interior mutability is allowed: the section is writable.
    static COUNTER: AtomicU32 = AtomicU32::new(0);
}

#[test]
fn init_data_is_read_in_driver_entry() {
    let kernel = Kernel::new();
    // SAFETY: the test plays DriverEntry.
    let (sum, count) = unsafe {
        with_init_token(|token| {
            COUNTER.get(token).fetch_add(1, Ordering::Relaxed);
            (DEFAULTS.get(token).iter().sum::<u32>(), COUNTER.get(token).load(Ordering::Relaxed))
        })
    };
    assert_eq!((sum, count), (10, 1));
    kernel.assert_clean();
}

#[test]
fn a_touch_after_driver_entry_returned_is_reported() {
    let kernel = Kernel::new();
    // SAFETY: DriverEntry.
    unsafe { with_init_token(|_| ()) };
    // A broken promise: a second token after DriverEntry returned.
    // SAFETY: deliberately false, for the model to catch.
    let first = unsafe { with_init_token(|token| DEFAULTS.get(token)[0]) };
    assert_eq!(first, 1, "the host still has the memory; Windows would have faulted");
    let report = kernel.finish();
    assert_eq!(report.violations.len(), 1, "{report}");
    let fault = report.violations[0].bug_check;
    assert_eq!(fault.code, BugCheck::PAGE_FAULT_IN_NONPAGED_AREA);
    assert_eq!(fault.params[1], 0, "a read");
}
