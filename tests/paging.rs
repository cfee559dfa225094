//! Pageable data sections (seed 001) against the kernel model: every test
//! ends verifier-clean, or asserts exactly the violations it provokes.
//!
//! Each test declares its own statics, in a section of its own: a static's
//! cached handle and borrow state are process-wide, like the driver image,
//! while lock counts are per kernel (per test).

use std::sync::Barrier;

use wdm_mem::{
    Irql, NtStatus,
    model::{BugCheck, Kernel, PageableSection},
    pageable_static,
    paging::{self, page_entire_driver},
    sys,
};

/// The model's parameter 1 (with 0xC4) for a section still locked at unload.
const SECTION_LOCKED_AT_UNLOAD: u64 = 0x1_0010;

fn section(kernel: &Kernel, name: &str) -> PageableSection {
    kernel.pageable_section(name).unwrap_or_else(|| panic!("section {name} unknown to the model"))
}

/// The address of a plain static, for the raw `sys` calls.
fn address_of<T>(value: &'static T) -> sys::PVOID {
    (value as *const T).cast_mut().cast()
}

#[test]
fn the_first_lock_looks_the_section_up_and_later_locks_use_its_handle() {
    pageable_static! { #[section = "PAGEt1"] static TABLE: [u32; 16] = [3; 16]; }
    let kernel = Kernel::new();
    assert!(!TABLE.has_section_handle());
    let first = TABLE.lock().unwrap();
    assert!(TABLE.has_section_handle());
    let second = TABLE.lock().unwrap();
    assert_eq!(first[0] + second[15], 6);
    let expected = PageableSection {
        lock_count: 2,
        resident: true,
        locks_by_address: 1,
        locks_by_handle: 1,
        unlocks: 0,
        page_ins: 1,
    };
    assert_eq!(section(&kernel, "PAGEt1"), expected);

    drop(first);
    assert_eq!(section(&kernel, "PAGEt1").lock_count, 1);
    drop(second);
    let unlocked = section(&kernel, "PAGEt1");
    assert_eq!((unlocked.lock_count, unlocked.resident, unlocked.unlocks), (0, false, 2));

    // At count zero the handle stays valid: the next lock, by handle, sets
    // the count to one and pages the section back in.
    let again = TABLE.lock().unwrap();
    assert_eq!(again[1], 3);
    let relocked = section(&kernel, "PAGEt1");
    assert_eq!(
        (
            relocked.lock_count,
            relocked.resident,
            relocked.locks_by_address,
            relocked.locks_by_handle,
            relocked.page_ins
        ),
        (1, true, 1, 2, 2)
    );
    drop(again);
    kernel.assert_clean();
}

#[test]
fn an_exclusive_guard_excludes_every_other_guard_of_its_static_only() {
    pageable_static! { #[section = "PAGEt2"] static COUNTER: u64 = 0; }
    pageable_static! { #[section = "PAGEt2"] static NEIGHBOUR: u64 = 9; }
    let kernel = Kernel::new();
    let mut writer = COUNTER.lock_mut().unwrap();
    *writer += 5;
    assert_eq!(COUNTER.lock().unwrap_err(), NtStatus::SHARING_VIOLATION);
    assert_eq!(COUNTER.lock_mut().unwrap_err(), NtStatus::SHARING_VIOLATION);
    // Another static of the same section is free; its lock is one more on
    // the section. The refused requests locked nothing.
    let neighbour = NEIGHBOUR.lock().unwrap();
    assert_eq!(section(&kernel, "PAGEt2").lock_count, 2);
    drop(writer);

    let readers = (COUNTER.lock().unwrap(), COUNTER.lock().unwrap());
    assert_eq!(*readers.0 + *readers.1 + *neighbour, 19);
    assert_eq!(COUNTER.lock_mut().unwrap_err(), NtStatus::SHARING_VIOLATION);
    assert_eq!(section(&kernel, "PAGEt2").lock_count, 3);
    drop((readers, neighbour));

    *COUNTER.lock_mut().unwrap() += 1;
    assert_eq!(*COUNTER.lock().unwrap(), 6);
    assert_eq!(section(&kernel, "PAGEt2").lock_count, 0);
    kernel.assert_clean();
}

#[test]
fn a_guard_works_at_dispatch_level_but_locking_there_is_refused() {
    pageable_static! { #[section = "PAGEt3"] static SAMPLES: [u16; 8] = [1, 2, 3, 4, 5, 6, 7, 8]; }
    let kernel = Kernel::new();
    let mut samples = SAMPLES.lock_mut().unwrap();
    let sum = Irql::run_raised(Irql::DISPATCH, || {
        samples[7] = 80;
        samples.iter().sum::<u16>()
    })
    .unwrap();
    assert_eq!(sum, 108);
    drop(samples);

    kernel.at_irql(Irql::DISPATCH, || {
        assert_eq!(SAMPLES.lock().unwrap_err(), NtStatus::INVALID_LEVEL);
        assert_eq!(SAMPLES.lock_mut().unwrap_err(), NtStatus::INVALID_LEVEL);
    });
    kernel.at_irql(Irql::APC, || assert_eq!(SAMPLES.lock().unwrap()[7], 80));
    let calls = section(&kernel, "PAGEt3");
    assert_eq!((calls.lock_count, calls.locks_by_address + calls.locks_by_handle, calls.unlocks), (0, 2, 2));
    kernel.assert_clean();
}

#[test]
fn a_guard_dropped_above_apc_level_leaks_its_lock_and_unload_reports_it() {
    pageable_static! { #[section = "PAGEt4"] static STATE: u32 = 0; }
    let kernel = Kernel::new();
    let guard = STATE.lock_mut().unwrap();
    kernel.at_irql(Irql::DISPATCH, || drop(guard));
    // The borrow is given back (the static can be locked again); the lock
    // is not (unlocking at DISPATCH_LEVEL would itself be a violation).
    let again = STATE.lock_mut().unwrap();
    assert_eq!(section(&kernel, "PAGEt4").lock_count, 2);
    drop(again);
    let leaked = section(&kernel, "PAGEt4");
    assert_eq!((leaked.lock_count, leaked.resident), (1, true));

    let report = kernel.finish();
    assert_eq!(report.violations.len(), 1, "{report}");
    let leak = report.find(BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION, SECTION_LOCKED_AT_UNLOAD).unwrap();
    assert_eq!(leak.bug_check.params[2], 1, "the lock count");
    assert!(leak.message.contains("PAGEt4"), "{}", leak.message);
}

#[test]
fn a_forgotten_guard_is_a_section_locked_at_unload() {
    pageable_static! { #[section = "PAGEt5"] static STATE: u32 = 0; }
    let kernel = Kernel::new();
    std::mem::forget(STATE.lock().unwrap());
    std::mem::forget(STATE.lock().unwrap());
    let report = kernel.finish();
    assert_eq!(report.violations.len(), 1, "{report}");
    let leak = report.find(BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION, SECTION_LOCKED_AT_UNLOAD).unwrap();
    assert_eq!(leak.bug_check.params[2], 2);
}

#[test]
fn more_unlocks_than_locks_is_bug_check_0x1a_0x1010() {
    // Impossible through `paging` (a guard unlocks once and cannot be
    // cloned, see the compile_fail examples of the module); raw calls can.
    static RAW: [u8; 32] = [0; 32];
    let kernel = Kernel::new();
    sys::note_pageable_static("PAGEt6", address_of(&RAW), RAW.len());
    // SAFETY: the model's kernel; the extra unlock is the bug under test.
    unsafe {
        let handle = sys::MmLockPagableDataSection(address_of(&RAW));
        assert!(!handle.is_null());
        sys::MmUnlockPagableImageSection(handle);
        sys::MmUnlockPagableImageSection(handle);
    }
    assert_eq!(section(&kernel, "PAGEt6").unlocks, 1);
    let report = kernel.finish();
    assert_eq!(report.violations.len(), 1, "{report}");
    let unbalanced = report.find(BugCheck::MEMORY_MANAGEMENT, 0x1010).unwrap();
    assert_eq!(unbalanced.bug_check.params[1], address_of(&RAW) as u64, "the section's base");
}

#[test]
fn lock_routines_above_apc_level_are_ddi_violations() {
    static RAW: [u8; 8] = [0; 8];
    let kernel = Kernel::new();
    sys::note_pageable_static("PAGEt7", address_of(&RAW), RAW.len());
    // SAFETY: the model's kernel; the IRQL is the bug under test.
    let handle = unsafe { sys::MmLockPagableDataSection(address_of(&RAW)) };
    kernel.at_irql(Irql::DISPATCH, || {
        // SAFETY: as above.
        unsafe {
            assert!(sys::MmLockPagableDataSection(address_of(&RAW)).is_null());
            sys::MmLockPagableSectionByHandle(handle);
            sys::MmUnlockPagableImageSection(handle);
            assert!(sys::MmPageEntireDriver(address_of(&RAW)).is_null());
            sys::MmResetDriverPaging(address_of(&RAW));
        }
    });
    assert_eq!(section(&kernel, "PAGEt7").lock_count, 1, "the raised calls did nothing");
    // SAFETY: the model's kernel, at PASSIVE_LEVEL, the one lock taken above.
    unsafe { sys::MmUnlockPagableImageSection(handle) };
    let report = kernel.finish();
    let routines = [
        "MmLockPagableDataSection",
        "MmLockPagableSectionByHandle",
        "MmUnlockPagableImageSection",
        "MmPageEntireDriver",
        "MmResetDriverPaging",
    ];
    assert_eq!(report.violations.len(), routines.len(), "{report}");
    for (violation, routine) in report.violations.iter().zip(routines) {
        assert!(violation.bug_check.is(BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION, 0x2_0000), "{violation}");
        assert!(violation.message.starts_with(routine), "{violation}");
    }
}

#[test]
fn touching_pageable_data_at_dispatch_level_with_the_count_at_zero_is_0xd1() {
    pageable_static! { #[section = "PAGEt8"] static VALUE: u64 = 42; }
    static RAW: [u8; 8] = [0; 8];
    let kernel = Kernel::new();
    sys::note_pageable_static("PAGEt8", address_of(&RAW), RAW.len());
    let guard = VALUE.lock().unwrap();
    // Raw calls undo the guard's lock behind its back: the same section's
    // handle, two unlocks for one lock.
    // SAFETY: the model's kernel; the unbalanced unlock is the bug under test.
    unsafe {
        let handle = sys::MmLockPagableDataSection(address_of(&RAW));
        sys::MmUnlockPagableImageSection(handle);
        sys::MmUnlockPagableImageSection(handle);
    }
    assert!(!section(&kernel, "PAGEt8").resident);
    assert_eq!(kernel.at_irql(Irql::DISPATCH, || *guard), 42);
    // At PASSIVE_LEVEL the same touch is a page fault that pages it in.
    assert_eq!(*guard, 42);
    let faulted = section(&kernel, "PAGEt8");
    assert_eq!((faulted.lock_count, faulted.resident, faulted.page_ins), (0, true, 2));
    drop(guard); // its unlock now finds the count at zero

    let report = kernel.finish();
    let codes: Vec<u32> = report.violations.iter().map(|v| v.bug_check.code).collect();
    assert_eq!(codes, [BugCheck::DRIVER_IRQL_NOT_LESS_OR_EQUAL, BugCheck::MEMORY_MANAGEMENT], "{report}");
    let touch = report.violations[0].bug_check;
    assert_eq!(touch.params[1..], [2, 0, 0], "IRQL 2, a read");
    assert!(report.violations[0].message.contains("8 byte(s)"), "{}", report.violations[0].message);
}

#[test]
fn an_address_or_handle_the_model_does_not_know_is_refused() {
    static UNKNOWN: [u8; 8] = [0; 8];
    let kernel = Kernel::new();
    // SAFETY: the model's kernel; the bad arguments are the bug under test.
    unsafe {
        assert!(sys::MmLockPagableDataSection(address_of(&UNKNOWN)).is_null());
        sys::MmUnlockPagableImageSection(address_of(&UNKNOWN));
    }
    let report = kernel.finish();
    assert_eq!(report.violations.len(), 2, "{report}");
    let no_section = report.find(BugCheck::MEMORY_MANAGEMENT, 0x1234).unwrap();
    assert_eq!(no_section.bug_check.params[1], address_of(&UNKNOWN) as u64);
    assert!(report.find(BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION, 0x1_0011).is_some());
}

#[test]
fn shared_guards_on_several_threads_add_up_in_one_count() {
    pageable_static! { #[section = "PAGEt9"] static LOG: [u8; 64] = [1; 64]; }
    const THREADS: usize = 3;
    let kernel = Kernel::new();
    let all_locked = Barrier::new(THREADS + 1);
    let checked = Barrier::new(THREADS + 1);
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            let handle = kernel.handle();
            let (all_locked, checked) = (&all_locked, &checked);
            scope.spawn(move || {
                let _entered = handle.enter();
                let log = LOG.lock().unwrap();
                all_locked.wait();
                checked.wait();
                assert_eq!(log.iter().map(|&b| u32::from(b)).sum::<u32>(), 64);
                drop(log);
            });
        }
        all_locked.wait();
        assert_eq!(section(&kernel, "PAGEt9").lock_count, THREADS as u32);
        assert_eq!(LOG.lock_mut().unwrap_err(), NtStatus::SHARING_VIOLATION);
        checked.wait();
    });
    assert_eq!(section(&kernel, "PAGEt9").lock_count, 0);
    kernel.assert_clean();
}

#[test]
fn the_entire_driver_is_pageable_while_its_guard_lives() {
    let kernel = Kernel::new();
    // SAFETY: no code of this "driver" runs above APC_LEVEL while the
    // guards live (the at_irql calls below only drop or refuse a guard).
    unsafe {
        let idle = page_entire_driver().unwrap();
        assert!(kernel.entire_driver_pageable());
        drop(idle);
        assert!(!kernel.entire_driver_pageable());

        // MmPageEntireDriver flushes queued DPCs: PASSIVE_LEVEL only.
        kernel.at_irql(Irql::APC, || assert_eq!(page_entire_driver().unwrap_err(), NtStatus::INVALID_LEVEL));
        assert!(!kernel.entire_driver_pageable());

        // Dropped above APC_LEVEL, the guard cannot reset: the driver stays
        // pageable (which Windows does not mind).
        let idle = page_entire_driver().unwrap();
        kernel.at_irql(Irql::DISPATCH, || drop(idle));
    }
    assert!(kernel.entire_driver_pageable());
    kernel.assert_clean();
}

#[test]
fn section_names_start_with_page_and_fit_in_eight_bytes() {
    pageable_static! { static DEFAULT_PLACED: u8 = 1; }
    let kernel = Kernel::new();
    for good in ["PAGE", "PAGEDATA", "PAGE_x1", "PAGEt1"] {
        assert!(paging::is_pageable_section_name(good), "{good}");
    }
    for bad in ["", "PAG", "page", "Page", "DATA", "INIT", ".PAGE", "PAGEDATA1", "PAGE.dat", "PAGE DA", "PAGEé"] {
        assert!(!paging::is_pageable_section_name(bad), "{bad}");
    }
    assert_eq!(DEFAULT_PLACED.section(), paging::DEFAULT_SECTION);
    assert_eq!(*DEFAULT_PLACED.lock().unwrap(), 1);
    assert_eq!(section(&kernel, paging::DEFAULT_SECTION).lock_count, 0);
    kernel.assert_clean();
}
