//! Issue 13 item 4: the pages of a `PagesMdl` mapped into a process's user
//! space (`MmMapLockedPagesSpecifyCache(UserMode)` under SEH) as a
//! `UserMapping` that records its process, is unmapped in it, and cannot
//! outlive the pages; the model's mappings are seen by that process only,
//! and the verifier reports leaks, unmapping from another process, and a
//! process exiting with a mapping (0x76).

use wdm_mem::{
    Irql, NtStatus,
    mdl::{PagePriority, PageRequest, PagesMdl},
    model::{
        BugCheck, Fault, Kernel, MDL_LEAKED, MDL_NOT_MODELLED, MDL_PAGES_LEAKED, MDL_USER_MAPPING_LEAKED,
        MDL_USER_UNMAP_WRONG_PROCESS,
    },
    sys,
};

const C4: u32 = BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION;

fn pages(bytes: usize) -> PagesMdl {
    PagesMdl::allocate(&PageRequest::new(bytes)).unwrap()
}

#[test]
fn the_application_shares_the_pages_until_they_are_unmapped_in_it() {
    let kernel = Kernel::new();
    let (app, other) = (kernel.create_process(), kernel.create_process());
    let mut shared_pages = pages(2 * 4096);
    let address = app.run(|| {
        let mapping = shared_pages.map_user(PagePriority::Normal).unwrap();
        assert_eq!(mapping.len(), 2 * 4096);
        assert!(mapping.is_in_its_process());
        let address = mapping.address();
        assert!(address < 0x7FFF_FFFF_0000, "a user address");
        app.write(address + 4096, b"app data").unwrap();
        assert_eq!(app.read(address + 4096, 8).unwrap(), b"app data");
        assert_eq!(other.read(address, 8), Err(NtStatus::ACCESS_VIOLATION), "another process sees nothing");
        assert!(!other.run(|| mapping.is_in_its_process()));
        mapping.unmap().map_err(|(_, status)| status).unwrap();
        address
    });
    assert_eq!(app.read(address, 8), Err(NtStatus::ACCESS_VIOLATION), "unmapped");
    // The driver's own view of what the application wrote, once unmapped.
    let system = shared_pages.map(PagePriority::Normal).unwrap();
    assert_eq!(&system[4096..4104], b"app data");
    drop(system);
    drop(shared_pages);
    kernel.assert_clean();
}

#[test]
fn unmapping_is_refused_outside_the_process_and_above_apc_level() {
    let kernel = Kernel::new();
    let (app, other) = (kernel.create_process(), kernel.create_process());
    let shared_pages = pages(4096);
    let mapping = app.run(|| shared_pages.map_user(PagePriority::Normal).unwrap());
    let (mapping, status) = other.run(|| mapping.unmap()).unwrap_err();
    assert_eq!(status, NtStatus::ACCESS_VIOLATION);
    let (mapping, status) = mapping.unmap().unwrap_err(); // the System process
    assert_eq!(status, NtStatus::ACCESS_VIOLATION);
    let (mapping, status) = app.run(|| Irql::run_raised(Irql::DISPATCH, || mapping.unmap())).unwrap().unwrap_err();
    assert_eq!(status, NtStatus::INVALID_LEVEL);
    app.run(|| drop(mapping));
    drop(shared_pages);
    kernel.assert_clean();
}

#[test]
fn mapping_errors_are_statuses() {
    let kernel = Kernel::new();
    let app = kernel.create_process();
    let shared_pages = pages(4096);
    app.run(|| {
        let raised = Irql::run_raised(Irql::DISPATCH, || shared_pages.map_user(PagePriority::Normal).map(drop));
        assert_eq!(raised, Ok(Err(NtStatus::INVALID_LEVEL)));
        // The routine raises (no room in the process): the shim's status.
        kernel.inject(Fault::routine("MmMapLockedPagesSpecifyCache").times(1));
        assert_eq!(shared_pages.map_user(PagePriority::Normal).map(drop), Err(NtStatus::INSUFFICIENT_RESOURCES));
        shared_pages.map_user(PagePriority::Normal).unwrap();
    });
    drop(shared_pages);
    kernel.assert_clean();
}

#[test]
fn a_mapping_dropped_in_the_wrong_process_keeps_the_pages_and_the_exit_is_0x76() {
    let kernel = Kernel::new();
    let (app, other) = (kernel.create_process(), kernel.create_process());
    let shared_pages = pages(3 * 4096);
    let mapping = app.run(|| shared_pages.map_user(PagePriority::Normal).unwrap());
    let address = mapping.address();
    other.run(|| drop(mapping)); // cannot unmap there: left mapped
    drop(shared_pages); // a process still sees them: leaked, not freed
    app.write(address, b"still there").unwrap();
    app.exit();
    let report = kernel.finish();
    let exit = report.find(BugCheck::PROCESS_HAS_LOCKED_PAGES, 0).expect("the exit with a mapping is 0x76");
    assert_eq!(exit.bug_check.params[2], 3, "the pages");
    assert!(report.find(C4, MDL_PAGES_LEAKED).is_some(), "{report}");
    assert!(report.find(C4, MDL_LEAKED).is_some(), "{report}");
    assert_eq!(report.violations.len(), 3, "{report}");
}

#[test]
fn a_forgotten_mapping_leaks_the_pages_instead_of_freeing_them_under_the_process() {
    let kernel = Kernel::new();
    let app = kernel.create_process();
    let mut shared_pages = pages(4096);
    app.run(|| std::mem::forget(shared_pages.map_user(PagePriority::Normal).unwrap()));
    assert_eq!(shared_pages.map(PagePriority::Normal).map(drop), Err(NtStatus::INVALID_DEVICE_STATE));
    drop(shared_pages);
    let report = kernel.finish();
    assert!(report.find(C4, MDL_USER_MAPPING_LEAKED).is_some(), "{report}");
    assert!(report.find(C4, MDL_PAGES_LEAKED).is_some(), "{report}");
    assert!(report.find(C4, MDL_LEAKED).is_some(), "{report}");
    // The forgotten mapping's reference to its process, too.
    assert_eq!(report.violations.len(), 4, "{report}");
}

#[test]
fn the_model_checks_raw_user_mappings() {
    let kernel = Kernel::new();
    let (app, other) = (kernel.create_process(), kernel.create_process());
    let shared_pages = pages(4096);
    let mapping = app.run(|| shared_pages.map_user(PagePriority::Normal).unwrap());
    let (address, raw_mdl) = (mapping.address(), shared_pages.as_raw());
    // SAFETY: the model's routine; it checks the process.
    other.run(|| unsafe { sys::MmUnmapLockedPages(address as _, raw_mdl) });
    app.run(|| drop(mapping));
    // A user-mode mapping of a probed user buffer is not modelled, and
    // without __try the raise is 0x1E.
    kernel.inject(Fault::routine("MmMapLockedPagesSpecifyCache").times(1));
    // SAFETY: the model's routine, with a valid MDL of fresh pages.
    let raw = app.run(|| unsafe {
        sys::MmMapLockedPagesSpecifyCache(
            raw_mdl,
            sys::_MODE::UserMode as _,
            sys::_MEMORY_CACHING_TYPE::MmCached,
            std::ptr::null_mut(),
            0,
            0,
        )
    });
    assert!(raw.is_null());
    drop(shared_pages);
    let report = kernel.finish();
    let wrong = report.find(C4, MDL_USER_UNMAP_WRONG_PROCESS).expect("reported");
    assert_eq!(wrong.bug_check.params[1..], [address as u64, app.id(), other.id()]);
    assert!(
        report
            .find(BugCheck::KMODE_EXCEPTION_NOT_HANDLED, NtStatus::INSUFFICIENT_RESOURCES.to_raw() as u32 as u64)
            .is_some(),
        "{report}"
    );
    assert!(report.find(C4, MDL_NOT_MODELLED).is_none(), "{report}");
    assert_eq!(report.violations.len(), 2, "{report}");
}

#[test]
fn two_processes_share_one_set_of_pages_each_unmapping_its_own() {
    let kernel = Kernel::new();
    let (a, b) = (kernel.create_process(), kernel.create_process());
    let shared_pages = pages(4096);
    let in_a = a.run(|| shared_pages.map_user(PagePriority::Normal).unwrap());
    let in_b = b.run(|| shared_pages.map_user(PagePriority::Normal).unwrap());
    a.write(in_a.address(), b"from a").unwrap();
    assert_eq!(b.read(in_b.address(), 6).unwrap(), b"from a", "one set of pages");
    b.run(|| in_b.unmap().map_err(|(_, status)| status)).unwrap();
    assert_eq!(a.read(in_a.address(), 6).unwrap(), b"from a", "a's mapping stays");
    assert_eq!(b.read(in_a.address(), 6), Err(NtStatus::ACCESS_VIOLATION), "b's is gone");
    a.run(|| drop(in_a));
    drop(shared_pages);
    kernel.assert_clean();
}
