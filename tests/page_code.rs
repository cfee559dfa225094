//! Pageable code against the kernel model: `pageable_fn!` functions called
//! under a `PageCodeGuard` at any IRQL, the lock count of the `PAGE`
//! section, the IRQL of the lock, a guard leaked above APC_LEVEL.

use wdm_mem::{
    Irql, NtStatus,
    model::{BugCheck, Kernel},
    pageable_fn,
    paging::{PageCodeGuard, lock_page_code},
};

pageable_fn! {
    fn weighted(code: &PageCodeGuard, bytes: &[u8]) -> u64 {
        bytes.iter().enumerate().map(|(i, &b)| (i as u64 + 1) * u64::from(b)).sum()
    }

    /// Calls another pageable function with the same guard.
    pub fn twice_weighted(code: &PageCodeGuard, bytes: &[u8]) -> u64 {
        2 * weighted(code, bytes)
    }
}

#[test]
fn pageable_functions_run_at_dispatch_level_under_the_lock() {
    let kernel = Kernel::new();
    let code = lock_page_code().unwrap();
    let section = kernel.pageable_section("PAGE").expect("the PAGE section is known once locked");
    assert_eq!((section.lock_count, section.resident), (1, true));
    let sum = Irql::run_raised(Irql::DISPATCH, || twice_weighted(&code, &[1, 2, 3])).unwrap();
    assert_eq!(sum, 2 * (1 + 4 + 9));
    let again = lock_page_code().unwrap();
    assert_eq!(kernel.pageable_section("PAGE").unwrap().lock_count, 2);
    drop((code, again));
    let section = kernel.pageable_section("PAGE").unwrap();
    assert_eq!(section.lock_count, 0, "every guard unlocked once");
    assert!(section.locks_by_handle >= 1, "later locks use the cached handle");
    kernel.assert_clean();
}

#[test]
fn the_lock_is_refused_above_apc_level() {
    let kernel = Kernel::new();
    let refused = Irql::run_raised(Irql::DISPATCH, || lock_page_code().err());
    assert_eq!(refused, Ok(Some(NtStatus::INVALID_LEVEL)));
    kernel.assert_clean();
}

#[test]
fn a_guard_dropped_above_apc_level_leaks_its_lock_and_is_reported() {
    let kernel = Kernel::new();
    let code = lock_page_code().unwrap();
    Irql::run_raised(Irql::DISPATCH, move || drop(code)).unwrap();
    assert_eq!(kernel.pageable_section("PAGE").unwrap().lock_count, 1);
    let report = kernel.finish();
    assert_eq!(report.violations.len(), 1, "{report}");
    assert_eq!(report.violations[0].bug_check.code, BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION);
}
