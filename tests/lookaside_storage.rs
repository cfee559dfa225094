//! Where a lookaside list's kernel structure lives, what a drop above the
//! list's IRQL does, the way out for a `static` list with a leaked entry,
//! and the model's checks of the same (issue 9). Each test ends
//! verifier-clean or asserts the exact violations.

use std::{
    cell::Cell,
    pin::{Pin, pin},
};

use wdm_mem::{
    Irql, NtStatus,
    lookaside::{LookasideConfig, NPagedLookasideList, PagedLookasideList},
    model::{
        BugCheck, Kernel, LOOKASIDE_BAD_PARAMETER, LOOKASIDE_ENTRIES_OUTSTANDING, LOOKASIDE_ENTRY_POISON,
        LOOKASIDE_FREED_WHILE_LINKED, LOOKASIDE_PAGED_STRUCTURE, Report,
    },
    pool::{PoolBox, PoolBuffer, PoolTag, PoolType},
    pool_tag, sys,
};

const TAG: PoolTag = pool_tag!(b"Lst9");
const C4: u32 = BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION;
const D1: u32 = BugCheck::DRIVER_IRQL_NOT_LESS_OR_EQUAL;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Request {
    id: u64,
    payload: [u64; 7],
}

/// The codes of a report, in order.
fn codes(report: &Report) -> Vec<(u32, u64)> {
    report.violations.iter().map(|v| (v.bug_check.code, v.bug_check.params[0])).collect()
}

/// Issue 9, item 1: a pinned list in a non-paged `PoolBox`, dropped at
/// DISPATCH_LEVEL (above its paged entries' APC_LEVEL), cannot be deleted.
/// Its kernel structure must stay allocated: the kernel still links it.
#[test]
fn a_list_dropped_above_its_irql_never_frees_what_the_kernel_links() {
    let kernel = Kernel::new();
    let boxed = PoolBox::pin(PagedLookasideList::<Request>::new(), pool_tag!(b"Box9"), PoolType::NonPagedNx).unwrap();
    boxed.as_ref().init(LookasideConfig::new(TAG)).unwrap();
    kernel.at_irql(Irql::DISPATCH, || drop(boxed));
    let usage = kernel.pool_usage();
    assert_eq!(usage.by_tag.get(b"Box9"), None, "the box itself was freed");
    let structure: Vec<_> = usage.blocks.iter().filter(|block| block.tag == *b"Lst9").collect();
    assert_eq!(structure.len(), 1, "the kernel structure stays allocated: {usage:?}");
    assert!(!structure[0].paged);
    let report = kernel.finish();
    // At unload: the list was never deleted (0xCE), its structure is leaked
    // pool (0x60); never pool freed while the kernel links it.
    let (start, size) = (structure[0].address as u64, structure[0].size as u64);
    assert!(
        matches!(codes(&report)[..], [(0xCE, list), (C4, 0x60)] if (start..start + size).contains(&list)),
        "{report}"
    );
}

/// Issue 9, item 1 (the model): freeing pool that holds a live lookaside
/// list is reported, as the crate's old `Drop` did.
#[test]
fn the_model_reports_pool_freed_under_a_live_list() {
    let kernel = Kernel::new();
    let mut block = PoolBuffer::new(size_of::<sys::NPAGED_LOOKASIDE_LIST>(), 64, TAG, PoolType::NonPagedNx).unwrap();
    let list = block.as_mut_ptr().cast::<sys::NPAGED_LOOKASIDE_LIST>();
    // SAFETY: a 64-aligned, non-paged, non-moving block of the right size.
    unsafe { sys::ExInitializeNPagedLookasideList(list, None, None, sys::POOL_NX_ALLOCATION, 64, TAG.to_u32(), 0) };
    drop(block);
    let report = kernel.finish();
    let freed = report.find(C4, LOOKASIDE_FREED_WHILE_LINKED).expect("reported");
    assert_eq!(freed.bug_check.params[1], list as u64);
    assert_eq!(codes(&report), [(C4, LOOKASIDE_FREED_WHILE_LINKED), (0xCE, list as u64)], "{report}");
}

/// Issue 9, "a lookaside list header may be placed in paged pool": a list
/// whose Rust value is in a paged `PoolBox` (or on the stack) keeps its
/// kernel structure in non-paged pool all the same.
#[test]
fn a_list_in_paged_pool_keeps_its_kernel_structure_non_paged() {
    let kernel = Kernel::new();
    {
        let boxed = PoolBox::pin(NPagedLookasideList::<Request>::new(), pool_tag!(b"Pgd9"), PoolType::Paged).unwrap();
        let list = boxed.as_ref();
        list.init(LookasideConfig::new(TAG)).unwrap();
        let entry = list.allocate(Request { id: 9, ..Request::default() }).unwrap();
        assert_eq!(entry.id, 9);
        drop(entry);
        let usage = kernel.pool_usage();
        let structure = usage.blocks.iter().find(|b| b.tag == *b"Lst9" && b.size != 64).expect("its own block");
        assert!(!structure.paged, "{usage:?}");
        assert!(usage.blocks.iter().any(|b| b.tag == *b"Pgd9" && b.paged), "the Rust value is in paged pool");
        // SAFETY: this thread alone uses the list, which the model counts:
        // with an entry out, delete refuses.
        unsafe { list.delete() }.unwrap();
    }
    {
        let list = pin!(PagedLookasideList::<Request>::new());
        let list = list.into_ref();
        list.init(LookasideConfig::new(TAG)).unwrap();
        let usage = kernel.pool_usage();
        assert!(usage.blocks.iter().any(|b| b.tag == *b"Lst9" && !b.paged), "not on the stack either");
    }
    kernel.assert_clean();
}

/// Issue 9, "a lookaside structure in paged memory is reported": a raw list
/// initialised in a paged block.
#[test]
fn the_model_reports_a_list_structure_in_paged_pool() {
    let kernel = Kernel::new();
    let mut block = PoolBuffer::new(size_of::<sys::PAGED_LOOKASIDE_LIST>(), 64, TAG, PoolType::Paged).unwrap();
    let list = block.as_mut_ptr().cast::<sys::PAGED_LOOKASIDE_LIST>();
    // SAFETY: a 64-aligned, non-moving block of the right size (paged: the
    // model reports it).
    unsafe {
        sys::ExInitializePagedLookasideList(list, None, None, 0, 64, TAG.to_u32(), 0);
        sys::ExDeletePagedLookasideList(list);
    }
    drop(block);
    let report = kernel.finish();
    assert_eq!(codes(&report), [(C4, LOOKASIDE_PAGED_STRUCTURE)], "{report}");
    assert_eq!(report.violations[0].bug_check.params[1], list as u64);
}

/// Issue 9, item 6: a `static` list whose entry was leaked with
/// `mem::forget` can still be deleted by `DriverUnload`.
#[test]
fn driver_unload_deletes_a_static_list_with_a_leaked_entry() {
    static LIST: NPagedLookasideList<Request> = NPagedLookasideList::new();
    let kernel = Kernel::new();
    let list = Pin::static_ref(&LIST);
    list.init(LookasideConfig::new(TAG)).unwrap();
    std::mem::forget(list.allocate(Request::default()).unwrap());
    drop(list.allocate(Request::default()).unwrap()); // one cached entry
    // SAFETY: this thread alone uses the list, which the model counts:
    // with an entry out, delete refuses.
    assert_eq!(unsafe { list.delete() }, Err(NtStatus::CANNOT_DELETE));
    // SAFETY: the one entry out was leaked with mem::forget; no other thread
    // uses the list.
    assert_eq!(unsafe { list.delete_abandoning_entries() }, Ok(1));
    assert_eq!(list.stats().unwrap_err(), NtStatus::INVALID_DEVICE_STATE, "deleted");
    // SAFETY: as above (the list is no longer initialised).
    assert_eq!(unsafe { list.delete_abandoning_entries() }, Err(NtStatus::INVALID_DEVICE_STATE));
    let report = kernel.finish();
    // The model's own note of the abandoned entry at the deletion, and the
    // entry itself, leaked pool, at unload; no list left linked (no 0xCE).
    assert_eq!(codes(&report), [(C4, LOOKASIDE_ENTRIES_OUTSTANDING), (C4, 0x60)], "{report}");
    assert_eq!(report.violations[1].bug_check.params[3], 1, "one block: the abandoned entry");
}

/// Issue 9, `ExInitializeLookasideListEx` returns an error status for the
/// bad parameters it reports, and initialises nothing then.
#[test]
fn ex_initialisation_returns_invalid_parameter_for_bad_parameters() {
    let kernel = Kernel::new();
    let routines = sys::lookaside_list_ex_routines(true).expect("the model has them");
    let mut list = Box::new(sys::LOOKASIDE_LIST_EX::default());
    let pool = PoolType::NonPagedNx.to_legacy();
    // SAFETY: a 16-aligned, non-moving structure; Depth 3 is reserved (bad).
    let status = unsafe { (routines.initialize)(&mut *list, None, None, pool, 0, 64, TAG.to_u32(), 3) };
    assert_eq!(NtStatus::from_raw(status), NtStatus::INVALID_PARAMETER);
    // SAFETY: as above; Size 4 is below LOOKASIDE_MINIMUM_BLOCK_SIZE.
    let status = unsafe { (routines.initialize)(&mut *list, None, None, pool, 0, 4, TAG.to_u32(), 0) };
    assert_eq!(NtStatus::from_raw(status), NtStatus::INVALID_PARAMETER);
    let report = kernel.finish();
    // Reported, and nothing initialised: no list left undeleted (0xCE).
    assert_eq!(codes(&report), [(C4, LOOKASIDE_BAD_PARAMETER), (C4, LOOKASIDE_BAD_PARAMETER)], "{report}");
}

/// Issue 9, "a touch of a paged lookaside entry at DISPATCH_LEVEL is
/// reported".
#[test]
fn a_paged_entry_touched_at_dispatch_level_is_0xd1() {
    let kernel = Kernel::new();
    let address;
    {
        let list = pin!(PagedLookasideList::<Request>::new());
        let list = list.into_ref();
        list.init(LookasideConfig::new(TAG)).unwrap();
        let mut entry = list.allocate(Request::default()).unwrap();
        address = &*entry as *const Request as u64;
        kernel.at_irql(Irql::DISPATCH, || entry.id = 5);
        assert_eq!(entry.id, 5);
    }
    let report = kernel.finish();
    assert_eq!(codes(&report), [(D1, address)], "{report}");
    assert_eq!(report.violations[0].bug_check.params, [address, 2, 1, 0], "a write at DISPATCH_LEVEL");
}

/// Issue 9, "Drop runs drop_in_place before the IRQL check": an entry of a
/// paged list dropped at DISPATCH_LEVEL is leaked without being touched (its
/// value's destructor does not run).
#[test]
fn an_entry_dropped_above_its_irql_is_not_touched() {
    struct Noisy<'a>(&'a Cell<u32>, [u64; 3]);
    impl Drop for Noisy<'_> {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1 + self.1[0] as u32);
        }
    }
    let kernel = Kernel::new();
    let drops = Cell::new(0);
    {
        let list = pin!(PagedLookasideList::<Noisy<'_>>::new());
        let list = list.into_ref();
        list.init(LookasideConfig::new(TAG)).unwrap();
        let entry = list.allocate(Noisy(&drops, [0; 3])).unwrap();
        kernel.at_irql(Irql::DISPATCH, || drop(entry));
        assert_eq!(drops.get(), 0, "not touched at DISPATCH_LEVEL");
        drop(list.allocate(Noisy(&drops, [0; 3])).unwrap());
        assert_eq!(drops.get(), 1, "dropped at PASSIVE_LEVEL");
    }
    let report = kernel.finish();
    assert_eq!(codes(&report), [(C4, LOOKASIDE_ENTRIES_OUTSTANDING), (C4, 0x60)], "{report}");
}

/// Issue 9, "lookaside entries are poisoned": an entry back in its list
/// holds the poison past its SList link, not the value it held.
#[test]
fn an_entry_back_in_its_list_is_poisoned() {
    let kernel = Kernel::new();
    {
        let list = pin!(NPagedLookasideList::<Request>::new());
        let list = list.into_ref();
        list.init(LookasideConfig::new(TAG)).unwrap();
        let entry = list.allocate(Request { id: 1, payload: [0x1111; 7] }).unwrap();
        let address = &*entry as *const Request as *const u8;
        drop(entry);
        assert_eq!(list.stats().unwrap().cached, 1);
        // SAFETY: the entry is a live pool block, cached by the list (test
        // only: reads what a use after free would read).
        let bytes = unsafe { std::slice::from_raw_parts(address.add(8), 56) };
        assert!(bytes.iter().all(|&b| b == LOOKASIDE_ENTRY_POISON), "{bytes:x?}");
    }
    kernel.assert_clean();
}

/// Issue 9, audit of the size arithmetic: an entry type far beyond what the
/// kernel takes is refused, never truncated.
#[test]
fn huge_entries_are_refused() {
    let kernel = Kernel::new();
    {
        let list = pin!(NPagedLookasideList::<[u8; 1 << 33]>::new());
        assert_eq!(list.into_ref().init(LookasideConfig::new(TAG)), Err(NtStatus::INVALID_PARAMETER));
        let list = pin!(NPagedLookasideList::<[u8; u32::MAX as usize + 1]>::new());
        assert_eq!(list.into_ref().init(LookasideConfig::new(TAG)), Err(NtStatus::INVALID_PARAMETER));
    }
    assert_eq!(kernel.fallible_calls(), 0, "nothing allocated");
    kernel.assert_clean();
}
