//! MDLs of fresh pages (`MmAllocatePagesForMdlEx`/`MmFreePagesFromMdl`)
//! against the kernel model: full and partial grants, the free order, the
//! verifier's reports of the wrong frees, bad input, IRQL, missing exports.

use wdm_mem::{
    Irql, NtStatus,
    mdl::{PageFlags, PagePriority, PageRequest, PagesMdl, resolve_routines},
    memory::{CacheType, PhysicalAddress},
    model::{
        BugCheck, Fault, Kernel, MDL_LEAKED, MDL_PAGES_BAD_FREE, MDL_PAGES_FREED_OUT_OF_ORDER, MDL_PAGES_IO_FREE_MDL,
        MDL_PAGES_LEAKED,
    },
    sys,
};

const C4: u32 = BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION;
const PAGE: usize = 4096;

#[test]
fn pages_are_zeroed_mapped_and_freed_in_order() {
    let kernel = Kernel::new();
    let mut pages = PagesMdl::allocate(&PageRequest::new(2 * PAGE + 100)).unwrap();
    assert_eq!((pages.len(), pages.requested()), (2 * PAGE + 100, 2 * PAGE + 100));
    let frames = pages.page_frames().to_vec();
    assert_eq!(frames.len(), 3);
    assert!(frames.iter().all(|&frame| frame != 0));
    let mut mapping = pages.map(PagePriority::Normal).unwrap();
    assert!(mapping.iter().all(|&b| b == 0), "zeroed");
    mapping[2 * PAGE..].fill(0xA5);
    assert_eq!(mapping.len(), 2 * PAGE + 100);
    drop(mapping);
    let again = pages.map(PagePriority::Normal).unwrap();
    assert_eq!(again[2 * PAGE + 99], 0xA5, "the same pages");
    drop(again);
    drop(pages);
    kernel.assert_clean();
}

#[test]
fn a_partial_grant_describes_fewer_bytes_and_fully_required_refuses_it() {
    let kernel = Kernel::new();
    kernel.limit_mdl_pages(2);
    let partial = PagesMdl::allocate(&PageRequest::new(5 * PAGE)).unwrap();
    assert_eq!((partial.len(), partial.requested(), partial.page_frames().len()), (2 * PAGE, 5 * PAGE, 2));
    drop(partial);
    let strict = PageRequest { flags: PageFlags::FULLY_REQUIRED, ..PageRequest::new(5 * PAGE) };
    assert_eq!(PagesMdl::allocate(&strict).err(), Some(NtStatus::INSUFFICIENT_RESOURCES));
    let held = PagesMdl::allocate(&PageRequest::new(2 * PAGE)).unwrap();
    assert_eq!(PagesMdl::allocate(&PageRequest::new(PAGE)).err(), Some(NtStatus::INSUFFICIENT_RESOURCES), "none left");
    drop(held);
    kernel.assert_clean();
}

#[test]
fn no_mdl_describes_4_gib_or_more() {
    // An MDL's ByteCount is a ULONG: one request gets at most 4 GiB - PAGE
    // (the DDI reference's maximum), so all of 4 GiB + PAGE is never granted
    // (the model granted it and truncated ByteCount to 4096, found by
    // reading what the fuzzer's partial grants exercise).
    let kernel = Kernel::new();
    let strict = PageRequest { flags: PageFlags::FULLY_REQUIRED, ..PageRequest::new((4 << 30) + PAGE) };
    assert_eq!(PagesMdl::allocate(&strict).err(), Some(NtStatus::INSUFFICIENT_RESOURCES));
    let just_past = PageRequest { flags: PageFlags::FULLY_REQUIRED, ..PageRequest::new((4 << 30) - PAGE + 1) };
    assert_eq!(PagesMdl::allocate(&just_past).err(), Some(NtStatus::INSUFFICIENT_RESOURCES));
    kernel.assert_clean();
}

#[test]
fn pages_respect_the_physical_range() {
    let kernel = Kernel::new();
    let high = PhysicalAddress::new(0x100_0000 - 1);
    let pages = PagesMdl::allocate(&PageRequest { high, ..PageRequest::new(4 * PAGE) }).unwrap();
    assert!(pages.page_frames().iter().all(|&frame| frame * PAGE as u64 <= high.get()));
    let above_ram = PageRequest { low: PhysicalAddress::new(1 << 40), ..PageRequest::new(PAGE) };
    assert_eq!(PagesMdl::allocate(&above_ram).err(), Some(NtStatus::INSUFFICIENT_RESOURCES));
    drop(pages);
    kernel.assert_clean();
}

#[test]
fn bad_requests_are_refused_before_the_kernel_is_called() {
    let kernel = Kernel::new();
    let bad = [
        PageRequest::new(0),
        PageRequest { low: PhysicalAddress::new(0x2000), high: PhysicalAddress::new(0x1000), ..PageRequest::new(PAGE) },
        PageRequest { skip: 100, ..PageRequest::new(PAGE) },
        PageRequest { skip: 1 << 63, ..PageRequest::new(PAGE) },
        PageRequest { high: PhysicalAddress::new(u64::MAX), ..PageRequest::new(PAGE) },
        PageRequest { cache: CacheType::HardwareCoherentCached, ..PageRequest::new(PAGE) },
    ];
    for request in bad {
        assert_eq!(PagesMdl::allocate(&request).err(), Some(NtStatus::INVALID_PARAMETER), "{request:?}");
    }
    kernel.assert_clean();
}

#[test]
fn non_cached_pages_are_not_mapped_cached() {
    let kernel = Kernel::new();
    let mut pages = PagesMdl::allocate(&PageRequest { cache: CacheType::NonCached, ..PageRequest::new(PAGE) }).unwrap();
    assert_eq!(pages.map(PagePriority::Normal).err(), Some(NtStatus::NOT_SUPPORTED));
    drop(pages);
    kernel.assert_clean();
}

#[test]
fn the_irql_is_checked_and_no_wait_allows_dispatch() {
    let kernel = Kernel::new();
    assert_eq!(resolve_routines(), Ok(true));
    let refused = Irql::run_raised(Irql::DISPATCH, || PagesMdl::allocate(&PageRequest::new(PAGE)).err());
    assert_eq!(refused, Ok(Some(NtStatus::INVALID_LEVEL)));
    let no_wait = PageRequest { flags: PageFlags::NO_WAIT, ..PageRequest::new(PAGE) };
    // The model does not cache look-ups: above PASSIVE_LEVEL they are absent.
    let at_dispatch = Irql::run_raised(Irql::DISPATCH, || PagesMdl::allocate(&no_wait).err());
    assert_eq!(at_dispatch, Ok(Some(NtStatus::PROCEDURE_NOT_FOUND)));
    assert_eq!(Irql::run_raised(Irql::APC, resolve_routines), Ok(Err(NtStatus::INVALID_LEVEL)));
    kernel.assert_clean();
}

#[test]
fn a_kernel_without_the_routines_is_procedure_not_found() {
    for missing in ["MmAllocatePagesForMdlEx", "MmFreePagesFromMdl"] {
        let kernel = Kernel::new();
        kernel.remove_export(missing);
        assert_eq!(resolve_routines(), Ok(false));
        assert_eq!(PagesMdl::allocate(&PageRequest::new(PAGE)).err(), Some(NtStatus::PROCEDURE_NOT_FOUND));
        kernel.assert_clean();
    }
}

#[test]
fn a_null_from_the_kernel_is_insufficient_resources() {
    let kernel = Kernel::new();
    kernel.inject(Fault::routine("MmAllocatePagesForMdlEx").times(1));
    assert_eq!(PagesMdl::allocate(&PageRequest::new(PAGE)).err(), Some(NtStatus::INSUFFICIENT_RESOURCES));
    kernel.assert_clean();
}

/// The raw routines, for the verifier tests.
fn raw_allocate() -> (*mut sys::MDL, sys::PFN_MM_FREE_PAGES_FROM_MDL) {
    let allocate = sys::MM_ALLOCATE_PAGES_FOR_MDL_EX.address(true).unwrap();
    let free = sys::MM_FREE_PAGES_FROM_MDL.address(true).unwrap();
    // SAFETY: the model's exports have these types.
    let (allocate, free) = unsafe {
        (
            std::mem::transmute::<usize, sys::PFN_MM_ALLOCATE_PAGES_FOR_MDL_EX>(allocate),
            std::mem::transmute::<usize, sys::PFN_MM_FREE_PAGES_FROM_MDL>(free),
        )
    };
    let zero = sys::PHYSICAL_ADDRESS { QuadPart: 0 };
    let high = sys::PHYSICAL_ADDRESS { QuadPart: i64::MAX };
    // SAFETY: valid arguments.
    let mdl = unsafe { allocate(zero, high, zero, 2 * PAGE as u64, CacheType::Cached.to_raw(), 0) };
    assert!(!mdl.is_null());
    (mdl, free)
}

#[test]
fn the_verifier_reports_ex_free_pool_before_the_pages() {
    let kernel = Kernel::new();
    let (mdl, _) = raw_allocate();
    // SAFETY: the model's MDL; the wrong order on purpose.
    unsafe { sys::ExFreePool(mdl.cast()) };
    let report = kernel.finish();
    let out_of_order = report.find(C4, MDL_PAGES_FREED_OUT_OF_ORDER).expect("reported");
    assert_eq!(out_of_order.bug_check.params[1..], [mdl as u64, 2, 0]);
    assert_eq!(report.violations.len(), 1, "{report}");
}

#[test]
fn the_verifier_reports_io_free_mdl_of_such_an_mdl() {
    let kernel = Kernel::new();
    let (mdl, free) = raw_allocate();
    // SAFETY: the model's MDL; IoFreeMdl on purpose.
    unsafe {
        free(mdl);
        sys::IoFreeMdl(mdl);
    }
    let report = kernel.finish();
    assert_eq!(report.find(C4, MDL_PAGES_IO_FREE_MDL).expect("reported").bug_check.params[1], mdl as u64);
    assert_eq!(report.violations.len(), 1, "{report}");
}

#[test]
fn the_verifier_reports_leaked_pages_and_bad_frees() {
    let kernel = Kernel::new();
    let (mdl, free) = raw_allocate();
    let (other, _) = raw_allocate();
    // SAFETY: the model's MDLs; a double free of the pages on purpose.
    unsafe {
        free(other);
        free(other);
        sys::ExFreePool(other.cast());
    }
    let _ = mdl;
    let report = kernel.finish();
    assert_eq!(report.find(C4, MDL_PAGES_BAD_FREE).expect("double free").bug_check.params[1..], [other as u64, 2, 0]);
    assert_eq!(report.find(C4, MDL_PAGES_LEAKED).expect("leak").bug_check.params[1..], [mdl as u64, 2, 0]);
    assert_eq!(report.find(C4, MDL_LEAKED).expect("the header").bug_check.params[1], mdl as u64);
    assert_eq!(report.violations.len(), 3, "{report}");
}

#[test]
fn a_drop_above_dispatch_level_leaks_pages_and_mdl_and_is_reported() {
    let kernel = Kernel::new();
    let pages = PagesMdl::allocate(&PageRequest::new(PAGE)).unwrap();
    Irql::run_raised(Irql::HIGH, move || drop(pages)).unwrap();
    let report = kernel.finish();
    assert!(report.find(C4, MDL_PAGES_LEAKED).is_some(), "{report}");
    assert!(report.find(C4, MDL_LEAKED).is_some(), "{report}");
    assert_eq!(report.violations.len(), 2, "{report}");
}
