//! Lookaside lists against the kernel model: reuse shown by the list's own
//! counters, pinning and state checks, bad input, IRQL, several threads on
//! one list, and the verifier's lookaside violations (raw calls of
//! `wdm_mem::sys`, which the safe API does not let a driver make).

use std::{
    cell::Cell,
    pin::{Pin, pin},
    rc::Rc,
    sync::atomic::{AtomicUsize, Ordering},
    thread,
};

use wdm_mem::{
    Irql, NtStatus,
    lookaside::{
        CustomRoutines, ListKind, LookasideConfig, LookasideList, LookasideListEx, NPagedLookasideList,
        PagedLookasideList,
    },
    model::{
        BugCheck, Fault, Kernel, LIST_ENTRY_CORRUPTED, LOOKASIDE_BAD_PARAMETER, LOOKASIDE_DOUBLE_FREE,
        LOOKASIDE_ENTRIES_OUTSTANDING, LOOKASIDE_USED_AFTER_DELETE, LOOKASIDE_WRONG_LIST, PoolBlock,
    },
    pool::{PoolBox, PoolTag, PoolType},
    pool_tag, sys,
};

const TAG: PoolTag = pool_tag!(b"Lal1");
const C4: u32 = BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION;

/// A 64-byte request, as a driver would cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Request {
    id: u64,
    payload: [u64; 7],
}

fn request(id: u64) -> Request {
    Request { id, payload: [id; 7] }
}

/// Allocates `count` entries at once, checks them, frees them all; twice.
fn two_rounds<K: ListKind>(list: Pin<&LookasideList<Request, K>>, count: u64) {
    for _ in 0..2 {
        let entries: Vec<_> = (0..count).map(|id| list.allocate(request(id)).unwrap()).collect();
        for (id, entry) in (0..count).zip(&entries) {
            assert_eq!(**entry, request(id));
        }
    }
}

#[test]
fn a_non_paged_list_reuses_its_entries_up_to_its_depth() {
    let kernel = Kernel::new();
    {
        let list = pin!(NPagedLookasideList::<Request>::new());
        let list = list.into_ref();
        list.init(LookasideConfig::new(TAG)).unwrap();
        two_rounds(list, 8);
        let stats = list.stats().unwrap();
        // Depth 4: each round frees 4 entries to the list and 4 to the pool;
        // the second round takes the 4 cached ones back.
        assert_eq!(
            (stats.total_allocates, stats.allocate_misses, stats.total_frees, stats.free_misses),
            (16, 12, 16, 8)
        );
        assert_eq!((stats.depth, stats.maximum_depth, stats.cached, stats.entries_out), (4, 256, 4, 0));
        assert_eq!((stats.tag, stats.pool, stats.entry_size), (TAG, PoolType::NonPagedNx, 64));
        let usage = kernel.pool_usage();
        let entries = usage.blocks.iter().filter(|block| block.tag == *b"Lal1" && block.size == 64);
        assert_eq!(entries.count(), 4, "the 4 cached entries are pool blocks");
        assert_eq!(usage.by_tag[b"Lal1"].0, 5, "and the list's structure is one more, of the list's tag");
        assert!(usage.blocks.iter().all(|block| !block.paged));
    }
    assert_eq!(kernel.pool_usage().allocations, 0, "deleting the list freed its cached entries");
    kernel.assert_clean();
}

#[test]
fn a_paged_list_works_at_apc_level_and_refuses_dispatch_level() {
    let kernel = Kernel::new();
    let boxed = PoolBox::pin(PagedLookasideList::<Request>::new(), pool_tag!(b"Box "), PoolType::NonPagedNx).unwrap();
    let list = boxed.as_ref();
    kernel.at_irql(Irql::DISPATCH, || {
        assert_eq!(list.init(LookasideConfig::new(TAG)), Err(NtStatus::INVALID_LEVEL));
    });
    kernel.at_irql(Irql::APC, || list.init(LookasideConfig::new(TAG))).unwrap();
    kernel.at_irql(Irql::APC, || two_rounds(list, 6));
    let stats = list.stats().unwrap();
    assert_eq!((stats.total_allocates, stats.allocate_misses), (12, 8));
    assert_eq!(stats.pool, PoolType::Paged);
    let usage = kernel.pool_usage();
    let (entries, structure): (Vec<&PoolBlock>, Vec<&PoolBlock>) =
        usage.blocks.iter().filter(|block| block.tag == *b"Lal1").partition(|block| block.size == 64);
    assert!(entries.iter().all(|block| block.paged), "paged entries");
    assert!(structure.len() == 1 && !structure[0].paged, "the kernel structure is non-paged");
    assert!(usage.blocks.iter().any(|block| block.tag == *b"Box " && !block.paged), "the list itself");
    let entry = list.allocate(request(1)).unwrap();
    kernel.at_irql(Irql::DISPATCH, || {
        assert_eq!(list.allocate(request(2)).unwrap_err(), NtStatus::INVALID_LEVEL);
        // SAFETY: this thread alone uses the list, which the model counts:
        // with an entry out, delete refuses.
        assert_eq!(unsafe { list.delete() }, Err(NtStatus::INVALID_LEVEL));
        assert!(list.stats().is_ok(), "statistics are readable at any IRQL");
    });
    // SAFETY: this thread alone uses the list, which the model counts:
    // with an entry out, delete refuses.
    assert_eq!(unsafe { list.delete() }, Err(NtStatus::CANNOT_DELETE), "an entry is out");
    drop(entry);
    // SAFETY: this thread alone uses the list, which the model counts:
    // with an entry out, delete refuses.
    unsafe { list.delete() }.unwrap();
    drop(boxed);
    kernel.assert_clean();
}

#[test]
fn a_non_paged_list_works_at_dispatch_level_only() {
    let kernel = Kernel::new();
    {
        let list = pin!(NPagedLookasideList::<Request>::new());
        let list = list.into_ref();
        kernel.at_irql(Irql::DISPATCH, || {
            list.init(LookasideConfig::new(TAG)).unwrap();
            two_rounds(list, 5);
        });
        kernel.at_irql(Irql::HIGH, || {
            assert_eq!(list.allocate(request(0)).unwrap_err(), NtStatus::INVALID_LEVEL);
        });
        assert_eq!(list.stats().unwrap().entries_out, 0);
    }
    kernel.assert_clean();
}

#[test]
fn an_entry_dropped_above_its_irql_is_leaked_not_freed() {
    let kernel = Kernel::new();
    {
        let list = pin!(PagedLookasideList::<Request>::new());
        let list = list.into_ref();
        list.init(LookasideConfig::new(TAG)).unwrap();
        let entry = list.allocate(request(3)).unwrap();
        kernel.at_irql(Irql::DISPATCH, || drop(entry));
        assert_eq!(list.stats().unwrap().entries_out, 0, "the list no longer waits for it");
    }
    let report = kernel.finish();
    let outstanding = report.find(C4, LOOKASIDE_ENTRIES_OUTSTANDING).expect("the model sees the lost entry");
    assert_eq!(outstanding.bug_check.params[2], 1);
    assert!(report.find(C4, 0x60).is_some(), "its block is leaked pool: {report}");
    assert_eq!(report.violations.len(), 2, "{report}");
}

#[test]
fn a_static_list_is_initialised_in_place_and_deleted_explicitly() {
    static REQUESTS: NPagedLookasideList<Request> = NPagedLookasideList::new();
    let kernel = Kernel::new();
    let list = Pin::static_ref(&REQUESTS);
    assert_eq!(list.allocate(request(0)).unwrap_err(), NtStatus::INVALID_DEVICE_STATE);
    assert_eq!(list.stats().unwrap_err(), NtStatus::INVALID_DEVICE_STATE);
    // SAFETY: this thread alone uses the list, which the model counts:
    // with an entry out, delete refuses.
    assert_eq!(unsafe { list.delete() }, Err(NtStatus::INVALID_DEVICE_STATE));
    list.init(LookasideConfig::new(TAG)).unwrap();
    assert_eq!(list.init(LookasideConfig::new(TAG)), Err(NtStatus::INVALID_DEVICE_STATE));
    let entry = list.allocate(request(1)).unwrap();
    // SAFETY: this thread alone uses the list, which the model counts:
    // with an entry out, delete refuses.
    assert_eq!(unsafe { list.delete() }, Err(NtStatus::CANNOT_DELETE), "an entry is out");
    assert_eq!(list.stats().unwrap().entries_out, 1);
    drop(entry);
    // SAFETY: this thread alone uses the list, which the model counts:
    // with an entry out, delete refuses.
    unsafe { list.delete() }.unwrap();
    assert_eq!(list.allocate(request(2)).unwrap_err(), NtStatus::INVALID_DEVICE_STATE);
    // Deleted lists may be initialised again (e.g. with another pool).
    list.init(LookasideConfig::new(TAG).pool(PoolType::NonPagedExecute)).unwrap();
    assert_eq!(list.stats().unwrap().pool, PoolType::NonPagedExecute);
    // SAFETY: this thread alone uses the list, which the model counts:
    // with an entry out, delete refuses.
    unsafe { list.delete() }.unwrap();
    kernel.assert_clean();
}

#[test]
fn bad_input_is_refused_cleanly() {
    #[repr(align(32))]
    #[allow(dead_code)]
    struct Wide([u8; 32]);

    let kernel = Kernel::new();
    let config = LookasideConfig::new(TAG);
    {
        let zero_sized = pin!(NPagedLookasideList::<()>::new());
        assert_eq!(zero_sized.into_ref().init(config), Err(NtStatus::INVALID_PARAMETER));
        let too_small = pin!(NPagedLookasideList::<u32>::new());
        assert_eq!(too_small.into_ref().init(config), Err(NtStatus::INVALID_PARAMETER));
        let over_aligned = pin!(NPagedLookasideList::<Wide>::new());
        assert_eq!(over_aligned.into_ref().init(config), Err(NtStatus::INVALID_PARAMETER));

        let paged = pin!(PagedLookasideList::<Request>::new());
        let paged = paged.into_ref();
        assert_eq!(paged.init(LookasideConfig::new(TAG).pool(PoolType::NonPagedNx)), Err(NtStatus::INVALID_PARAMETER));
        let non_paged = pin!(NPagedLookasideList::<Request>::new());
        let non_paged = non_paged.into_ref();
        for pool in [PoolType::Paged, PoolType::NonPagedNxCacheAligned] {
            assert_eq!(non_paged.init(LookasideConfig::new(TAG).pool(pool)), Err(NtStatus::INVALID_PARAMETER));
        }
        assert_eq!(PoolTag::try_new(*b"\0\0\0\0"), Err(NtStatus::INVALID_PARAMETER), "no invalid tag gets this far");
        // Nothing was initialised: the lists are still usable.
        non_paged.init(config).unwrap();
        paged.init(LookasideConfig::new(TAG)).unwrap();
        // The smallest entry the kernel takes.
        let smallest = pin!(NPagedLookasideList::<u64>::new());
        let smallest = smallest.into_ref();
        smallest.init(config).unwrap();
        assert_eq!(*smallest.allocate(9).unwrap(), 9);
    }
    assert_eq!(kernel.pool_usage().allocations, 0);
    // Entries and the lists' structures only (the latter through
    // ExAllocatePool2, which the kernel has).
    assert!(kernel.call_log().iter().all(|call| ["ExAllocatePoolWithTag", "ExAllocatePool2"].contains(&call.routine)));
    kernel.assert_clean();
}

#[test]
fn a_failed_allocation_drops_the_value_and_leaks_nothing() {
    let kernel = Kernel::new();
    {
        let list = pin!(NPagedLookasideList::<(Rc<()>, u64)>::new());
        let list = list.into_ref();
        list.init(LookasideConfig::new(TAG)).unwrap();
        let shared = Rc::new(());
        kernel.inject(Fault::routine("ExAllocatePoolWithTag").times(1));
        assert_eq!(list.allocate((shared.clone(), 1)).unwrap_err(), NtStatus::INSUFFICIENT_RESOURCES);
        assert_eq!(Rc::strong_count(&shared), 1, "the value was dropped");
        let entry = list.allocate((shared.clone(), 2)).unwrap();
        assert_eq!(Rc::strong_count(&shared), 2);
        drop(entry);
        assert_eq!(Rc::strong_count(&shared), 1, "dropping the entry drops its value once");
        let stats = list.stats().unwrap();
        assert_eq!((stats.total_allocates, stats.allocate_misses, stats.entries_out), (2, 2, 0));
    }
    kernel.assert_clean();
}

#[test]
fn custom_routines_allocate_the_misses_and_free_the_surplus() {
    static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
    static FREED: AtomicUsize = AtomicUsize::new(0);
    const CUSTOM: u32 = u32::from_le_bytes(*b"Cust");

    unsafe extern "C" fn allocate(pool_type: sys::POOL_TYPE, size: sys::SIZE_T, _tag: sys::ULONG) -> sys::PVOID {
        ALLOCATED.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the kernel's arguments for the list's pool.
        unsafe { sys::ExAllocatePoolWithTag(pool_type, size, CUSTOM) }
    }
    unsafe extern "C" fn free(block: sys::PVOID) {
        FREED.fetch_add(1, Ordering::Relaxed);
        // SAFETY: a block `allocate` returned.
        unsafe { sys::ExFreePoolWithTag(block, CUSTOM) }
    }

    let kernel = Kernel::new();
    {
        let list = pin!(NPagedLookasideList::<Request>::new());
        let list = list.into_ref();
        let routines = CustomRoutines { allocate: Some(allocate as _), free: Some(free as _) };
        // SAFETY: pool blocks of the right size, freed by their own routine.
        list.init(unsafe { LookasideConfig::new(TAG).routines(routines) }).unwrap();
        two_rounds(list, 6);
        assert_eq!(ALLOCATED.load(Ordering::Relaxed), 8, "6 misses, then 2");
        assert_eq!(FREED.load(Ordering::Relaxed), 4, "2 beyond the depth of 4, twice");
        assert_eq!(kernel.pool_usage().by_tag[b"Cust"].0, 4);
    }
    assert_eq!(FREED.load(Ordering::Relaxed), 8, "deletion gave the 4 cached entries back to `free`");
    kernel.assert_clean();
}

#[test]
fn a_lookaside_list_ex_takes_any_pool_where_the_kernel_has_it() {
    let kernel = Kernel::new();
    {
        let list = pin!(LookasideListEx::<Request>::new());
        let list = list.into_ref();
        list.init(LookasideConfig::new(TAG).pool(PoolType::PagedCacheAligned)).unwrap();
        two_rounds(list, 8);
        let stats = list.stats().unwrap();
        assert_eq!((stats.total_allocates, stats.allocate_misses, stats.pool), (16, 12, PoolType::PagedCacheAligned));
        kernel.at_irql(Irql::DISPATCH, || {
            assert_eq!(list.allocate(request(0)).unwrap_err(), NtStatus::INVALID_LEVEL);
        });
    }
    kernel.assert_clean();
}

#[test]
fn without_the_ex_exports_a_lookaside_list_ex_is_procedure_not_found() {
    for missing in ["ExInitializeLookasideListEx", "ExDeleteLookasideListEx"] {
        let kernel = Kernel::new();
        kernel.remove_export(missing);
        {
            let list = pin!(LookasideListEx::<Request>::new());
            let list = list.into_ref();
            assert_eq!(list.init(LookasideConfig::new(TAG)), Err(NtStatus::PROCEDURE_NOT_FOUND));
            assert_eq!(list.allocate(request(0)).unwrap_err(), NtStatus::INVALID_DEVICE_STATE);
        }
        kernel.assert_clean();
    }
}

#[test]
fn several_threads_share_one_list() {
    const THREADS: u64 = 4;
    const ROUNDS: u64 = 500;
    let kernel = Kernel::new();
    {
        let list = pin!(NPagedLookasideList::<Request>::new());
        let list = list.into_ref();
        list.init(LookasideConfig::new(TAG)).unwrap();
        thread::scope(|scope| {
            for thread in 0..THREADS {
                let handle = kernel.handle();
                scope.spawn(move || {
                    let _kernel = handle.enter();
                    for round in 0..ROUNDS {
                        let id = thread * ROUNDS + round;
                        let first = list.allocate(request(id)).unwrap();
                        let second = list.allocate(request(!id)).unwrap();
                        assert_eq!((first.id, second.id), (id, !id), "entries are not shared");
                        assert_eq!(first.payload, [id; 7]);
                    }
                });
            }
        });
        let stats = list.stats().unwrap();
        let total = (THREADS * ROUNDS * 2) as u32;
        // The list's own counters are incremented as wdm.h does, with plain
        // (not locked) increments: concurrent updates may be lost, never
        // invented. The crate's count of entries out is exact.
        assert_eq!(stats.entries_out, 0);
        assert!(stats.total_allocates <= total && stats.total_frees <= total, "{stats:?}");
        assert!(stats.total_allocates > 0 && stats.total_frees > 0, "{stats:?}");
        // How often the threads found the list empty depends on how they were
        // scheduled (from 2 to over 400 misses measured here): only "some
        // reuse" holds whatever the schedule...
        assert!(stats.allocate_misses < total, "entries are reused: {stats:?}");
        // ... and, once the threads are gone, the same list serves every
        // allocation from its cache.
        drop((list.allocate(request(0)).unwrap(), list.allocate(request(1)).unwrap()));
        let before = list.stats().unwrap().allocate_misses;
        for round in 0..ROUNDS {
            drop((list.allocate(request(round)).unwrap(), list.allocate(request(!round)).unwrap()));
        }
        assert_eq!(list.stats().unwrap().allocate_misses, before, "no miss once the list holds two entries");
    }
    kernel.assert_clean();
}

#[test]
fn entries_are_send_when_their_value_is() {
    let kernel = Kernel::new();
    {
        let list = pin!(NPagedLookasideList::<Request>::new());
        let list = list.into_ref();
        list.init(LookasideConfig::new(TAG)).unwrap();
        let entry = list.allocate(request(5)).unwrap();
        let handle = kernel.handle();
        thread::scope(|scope| {
            scope.spawn(move || {
                let _kernel = handle.enter();
                assert_eq!(entry.id, 5);
                drop(entry); // given back from another thread
            });
        });
        assert_eq!(list.stats().unwrap().cached, 1);
    }
    kernel.assert_clean();
}

#[test]
fn a_leaked_entry_is_reported_when_its_list_is_deleted() {
    let kernel = Kernel::new();
    {
        let list = pin!(NPagedLookasideList::<Request>::new());
        let list = list.into_ref();
        list.init(LookasideConfig::new(TAG)).unwrap();
        std::mem::forget(list.allocate(request(1)).unwrap());
        // SAFETY: this thread alone uses the list, which the model counts:
        // with an entry out, delete refuses.
        assert_eq!(unsafe { list.delete() }, Err(NtStatus::CANNOT_DELETE), "a leaked entry keeps it from deletion");
    } // Drop deletes it anyway: the leaked entry can never come back.
    let report = kernel.finish();
    let outstanding = report.find(C4, LOOKASIDE_ENTRIES_OUTSTANDING).expect("reported at deletion");
    assert_eq!(outstanding.bug_check.params[2], 1, "one entry out");
    assert_eq!(report.find(C4, 0x60).expect("and as leaked pool at unload").bug_check.params[3], 1);
    assert_eq!(report.violations.len(), 2, "{report}");
}

#[test]
fn a_list_never_deleted_is_0xce_at_unload() {
    let kernel = Kernel::new();
    let list = Box::pin(NPagedLookasideList::<Request>::new());
    list.as_ref().init(LookasideConfig::new(TAG)).unwrap();
    drop(list.as_ref().allocate(request(1)).unwrap()); // one cached entry
    std::mem::forget(list);
    let report = kernel.finish();
    let pending = report.violations.iter().filter(|v| v.bug_check.code == 0xCE);
    assert_eq!(pending.count(), 1, "{report}");
    let leaked = report.find(C4, 0x60).expect("its cached entry and its structure are leaked pool too");
    assert_eq!(leaked.bug_check.params[3], 2, "{report}");
    assert_eq!(report.violations.len(), 2, "{report}");
}

/// A raw `NPAGED_LOOKASIDE_LIST`, as a C driver would use it.
struct RawList(Box<sys::NPAGED_LOOKASIDE_LIST>);

impl RawList {
    fn new(tag: &[u8; 4], size: u64, depth: u16) -> RawList {
        let mut list = Box::new(sys::NPAGED_LOOKASIDE_LIST::default());
        // SAFETY: a 64-aligned, non-moving structure; the model checks the rest.
        unsafe {
            sys::ExInitializeNPagedLookasideList(
                &mut *list,
                None,
                None,
                sys::POOL_NX_ALLOCATION,
                size,
                u32::from_le_bytes(*tag),
                depth,
            )
        };
        RawList(list)
    }

    fn ptr(&mut self) -> *mut sys::NPAGED_LOOKASIDE_LIST {
        &mut *self.0
    }

    fn allocate(&mut self) -> sys::PVOID {
        // SAFETY: an initialised list (or one the model reports about).
        unsafe { sys::ExAllocateFromNPagedLookasideList(self.ptr()) }
    }

    fn free(&mut self, entry: sys::PVOID) {
        // SAFETY: as above; misuse is reported by the model.
        unsafe { sys::ExFreeToNPagedLookasideList(self.ptr(), entry) }
    }

    fn delete(&mut self) {
        // SAFETY: as above.
        unsafe { sys::ExDeleteNPagedLookasideList(self.ptr()) }
    }

    fn address(&mut self) -> u64 {
        self.ptr() as u64
    }
}

#[test]
fn raw_double_free_and_wrong_list_are_reported() {
    let kernel = Kernel::new();
    let mut a = RawList::new(b"RawA", 64, 0);
    let mut b = RawList::new(b"RawB", 64, 0);
    let entry = a.allocate();
    a.free(entry);
    a.free(entry);
    let double = kernel.violations();
    assert_eq!(double.len(), 1);
    assert_eq!(double[0].bug_check.params, [LOOKASIDE_DOUBLE_FREE, a.address(), entry as u64, a.address()]);
    let entry = a.allocate();
    b.free(entry);
    let wrong = &kernel.violations()[1];
    assert_eq!(wrong.bug_check.params, [LOOKASIDE_WRONG_LIST, b.address(), entry as u64, a.address()]);
    a.free(entry); // its own list takes it back
    let stranger = Box::into_raw(Box::new([0u64; 8]));
    b.free(stranger.cast());
    assert_eq!(kernel.violations()[2].bug_check.params[..3], [LOOKASIDE_WRONG_LIST, b.address(), stranger as u64]);
    // SAFETY: the model refused the stranger: it is still ours.
    drop(unsafe { Box::from_raw(stranger) });
    a.delete();
    b.delete();
    assert_eq!(kernel.finish().violations.len(), 3);
}

#[test]
fn raw_misuse_of_a_lists_life_is_reported() {
    let kernel = Kernel::new();
    let mut list = RawList::new(b"Life", 4, 3);
    let bad: Vec<_> = kernel.violations().iter().map(|v| (v.bug_check.params[0], v.bug_check.params[2])).collect();
    assert_eq!(bad, [(LOOKASIDE_BAD_PARAMETER, 4), (LOOKASIDE_BAD_PARAMETER, 3)], "size below 8, reserved depth");
    let entry = list.allocate();
    assert!(!entry.is_null(), "the model gives at least 8 bytes even so");
    list.free(entry);
    list.delete();
    list.delete();
    let twice = kernel.violations().pop().unwrap();
    assert_eq!(twice.bug_check.code, BugCheck::KERNEL_SECURITY_CHECK_FAILURE);
    assert_eq!(twice.bug_check.params[..2], [LIST_ENTRY_CORRUPTED, list.address()]);
    // As on Windows, the fast path then calls the (stale) allocate routine.
    let stray = list.allocate();
    let after = kernel.violations().pop().unwrap();
    assert_eq!(after.bug_check.params[..2], [LOOKASIDE_USED_AFTER_DELETE, list.address()]);
    // SAFETY: a pool block the model's default routine allocated.
    unsafe { sys::ExFreePool(stray) };
    assert_eq!(kernel.finish().violations.len(), 4);
}

#[test]
fn raw_use_of_a_paged_list_above_apc_level_is_reported() {
    let kernel = Kernel::new();
    let mut list = Box::new(sys::PAGED_LOOKASIDE_LIST::default());
    // SAFETY: a valid, non-moving structure; the model checks the IRQL.
    unsafe {
        sys::ExInitializePagedLookasideList(&mut *list, None, None, 0, 64, u32::from_le_bytes(*b"Page"), 0);
        let entry = sys::ExAllocateFromPagedLookasideList(&mut *list);
        kernel.at_irql(Irql::DISPATCH, || sys::ExFreeToPagedLookasideList(&mut *list, entry));
        sys::ExDeletePagedLookasideList(&mut *list);
    }
    let report = kernel.finish();
    let violation = report.find(C4, 0x2_0000).expect("the DDI IRQL rule");
    assert!(violation.message.contains("ExFreeToPagedLookasideList"), "{}", violation.message);
    assert_eq!(violation.bug_check.params[1..3], [2, 1], "at DISPATCH_LEVEL, maximum APC_LEVEL");
    assert_eq!(report.violations.len(), 1, "{report}");
}

#[test]
fn entries_hold_their_value_until_dropped() {
    struct Counted<'a>(&'a Cell<u32>, u64);
    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    let kernel = Kernel::new();
    let drops = Cell::new(0);
    {
        let list = pin!(NPagedLookasideList::<Counted<'_>>::new());
        let list = list.into_ref();
        list.init(LookasideConfig::new(TAG)).unwrap();
        let mut entry = list.allocate(Counted(&drops, 1)).unwrap();
        entry.1 += 41;
        assert_eq!(entry.1, 42);
        assert_eq!(drops.get(), 0);
        drop(entry);
        assert_eq!(drops.get(), 1);
    }
    assert_eq!(drops.get(), 1, "deleting the list drops no value");
    kernel.assert_clean();
}
