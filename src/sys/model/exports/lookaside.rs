//! `ExInitializeNPagedLookasideList`, `ExInitializePagedLookasideList`,
//! `ExDeleteNPagedLookasideList`, `ExDeletePagedLookasideList`, the run-time
//! exports `ExInitializeLookasideListEx` and `ExDeleteLookasideListEx`, and
//! `ExpInterlockedPopEntrySList`/`ExpInterlockedPushEntrySList`. The inline
//! fast paths of `crate::sys` run unchanged on top of them.
//!
//! Every list's allocate and free routines are the model's: they call the
//! driver's routines (or the pool, by default) and keep track of the entries
//! each list hands out.

use std::{format, vec::Vec};

use super::{
    super::{
        kernel::with_state,
        lookaside::{
            LOOKASIDE_BAD_PARAMETER, LOOKASIDE_ENTRY_POISON, LOOKASIDE_PAGED_STRUCTURE, List, ListKind, Routines,
            slist_init, slist_pop, slist_push, take_miss,
        },
        pool::PoolKind,
        verifier::{BugCheck, Violation},
    },
    irql_above,
    pool::{ExAllocatePoolWithTag, ExFreePool},
};
use crate::sys::{
    _GENERAL_LOOKASIDE, _GENERAL_LOOKASIDE_POOL, _POOL_TYPE, EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL,
    GeneralLookaside, LOOKASIDE_MINIMUM_BLOCK_SIZE, LookasideFields, NTSTATUS, PALLOCATE_FUNCTION,
    PALLOCATE_FUNCTION_EX, PFREE_FUNCTION, PFREE_FUNCTION_EX, PLOOKASIDE_LIST_EX, PNPAGED_LOOKASIDE_LIST,
    POOL_NX_ALLOCATION, POOL_TYPE, PPAGED_LOOKASIDE_LIST, PSLIST_ENTRY, PSLIST_HEADER, PVOID, SIZE_T, ULONG, USHORT,
};

/// The `Depth` and `MaximumDepth` every list starts with, on Windows as on
/// Wine (the Windows kernel then adjusts the depth once a second).
const INITIAL_DEPTH: USHORT = 4;
const MAXIMUM_DEPTH: USHORT = 256;

/// The highest IRQL for a list of `pool_type` entries (odd types are paged):
/// APC_LEVEL or DISPATCH_LEVEL.
fn max_irql(pool_type: POOL_TYPE) -> u8 {
    if pool_type & 1 == 1 { 1 } else { 2 }
}

/// What an initialisation asks for, once decoded.
struct Request<'a> {
    kind: ListKind,
    routine: &'a str,
    pool_type: POOL_TYPE,
    size: SIZE_T,
    tag: ULONG,
    depth: USHORT,
    /// The flag bits the model refuses (raise on failure, unknown bits).
    bad_flags: ULONG,
    routines: Routines,
}

/// What an initialisation did.
#[derive(PartialEq, Eq)]
enum Outcome {
    /// The list is live.
    Initialised,
    /// A bad parameter of `ExInitializeLookasideListEx`: nothing done.
    Refused,
    /// The list was live already: left untouched.
    AlreadyLive,
}

/// The body of the three initialisations: checks, registers the list and
/// fills its `GENERAL_LOOKASIDE(_POOL)` fields but the routines. The legacy
/// routines return nothing, so they go on after reporting a bad parameter;
/// `ExInitializeLookasideListEx` (`refuse_bad`) initialises nothing then and
/// its caller returns an error status, as Windows does.
///
/// # Safety
/// `fields` and the `len` bytes at `lookaside` are the driver's structure.
unsafe fn initialize(
    request: Request<'_>,
    lookaside: *mut u8,
    len: usize,
    fields: &LookasideFields,
    refuse_bad: bool,
) -> Outcome {
    let address = lookaside as usize;
    let max = max_irql(request.pool_type);
    with_state(|state| {
        irql_above(state, request.routine, max);
        let before = state.violations.len();
        let mut bad = |value: u64, what: &str| {
            state.violations.push(bad_parameter(address, value, &format!("{}: {what}", request.routine)));
        };
        if request.size < SIZE_T::from(LOOKASIDE_MINIMUM_BLOCK_SIZE) || request.size > SIZE_T::from(u32::MAX) {
            bad(request.size, "Size outside LOOKASIDE_MINIMUM_BLOCK_SIZE..=ULONG_MAX");
        }
        if request.depth != 0 {
            bad(u64::from(request.depth), "Depth is reserved and must be 0");
        }
        if request.bad_flags != 0 {
            bad(u64::from(request.bad_flags), "Flags the model refuses (it cannot raise an exception)");
        }
        if refuse_bad && state.violations.len() > before {
            return Outcome::Refused;
        }
        if state.pool.block_holding(address, len).is_some_and(|(_, _, kind)| kind == PoolKind::Paged) {
            state.violation(
                BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION,
                [LOOKASIDE_PAGED_STRUCTURE, address as u64, 0, 0],
                format!(
                    "{}: the list structure at {address:#x} is in paged pool (the kernel requires non-paged \
                     system space for it)",
                    request.routine
                ),
            );
        }
        let list = List::new(request.kind, max, request.routines, request.size as usize);
        if let Err(violation) = state.lookaside.register(address, list) {
            state.violations.push(violation);
            return Outcome::AlreadyLive;
        }
        // SAFETY: the driver's structure, not live (just registered); the
        // header is 16-aligned, as the structure is.
        unsafe {
            core::ptr::write_bytes(lookaside, 0, len);
            slist_init(fields.list_head);
            fields.depth.write(INITIAL_DEPTH);
            fields.maximum_depth.write(MAXIMUM_DEPTH);
            fields.pool_type.write(request.pool_type);
            fields.tag.write(request.tag);
            fields.size.write(request.size as ULONG);
        }
        Outcome::Initialised
    })
}

fn bad_parameter(address: usize, value: u64, message: &str) -> Violation {
    Violation {
        bug_check: BugCheck {
            code: BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION,
            params: [LOOKASIDE_BAD_PARAMETER, address as u64, value, 0],
        },
        message: format!("{message} (lookaside list {address:#x})"),
    }
}

/// The two legacy initialisations: entries from `base | Flags`.
///
/// # Safety
/// `l` is the driver's `GENERAL_LOOKASIDE`, in non-paged memory.
#[allow(clippy::too_many_arguments)]
unsafe fn initialize_legacy(
    kind: ListKind,
    routine: &str,
    l: *mut _GENERAL_LOOKASIDE,
    base: POOL_TYPE,
    flags: ULONG,
    size: SIZE_T,
    tag: ULONG,
    depth: USHORT,
    routines: (PALLOCATE_FUNCTION, PFREE_FUNCTION),
) {
    let request = Request {
        kind,
        routine,
        pool_type: base | (flags & POOL_NX_ALLOCATION) as POOL_TYPE,
        size,
        tag,
        depth,
        bad_flags: flags & !POOL_NX_ALLOCATION,
        routines: Routines::Legacy(routines.0, routines.1),
    };
    // SAFETY: the caller's structure.
    unsafe {
        let outcome =
            initialize(request, l.cast(), size_of::<_GENERAL_LOOKASIDE>(), &GeneralLookaside::fields(l), false);
        if outcome == Outcome::Initialised {
            (*l).__bindgen_anon_4.Allocate = Some(allocate_entry);
            (*l).__bindgen_anon_5.Free = Some(free_entry);
        }
    }
}

/// `ExInitializeNPagedLookasideList`.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn ExInitializeNPagedLookasideList(
    Lookaside: PNPAGED_LOOKASIDE_LIST,
    Allocate: PALLOCATE_FUNCTION,
    Free: PFREE_FUNCTION,
    Flags: ULONG,
    Size: SIZE_T,
    Tag: ULONG,
    Depth: USHORT,
) {
    // SAFETY: the caller passes its list structure.
    unsafe {
        initialize_legacy(
            ListKind::NonPaged,
            "ExInitializeNPagedLookasideList",
            &raw mut (*Lookaside).L,
            _POOL_TYPE::NonPagedPool,
            Flags,
            Size,
            Tag,
            Depth,
            (Allocate, Free),
        )
    }
}

/// `ExInitializePagedLookasideList` (`POOL_NX_ALLOCATION` has no effect:
/// paged pool is never executable).
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn ExInitializePagedLookasideList(
    Lookaside: PPAGED_LOOKASIDE_LIST,
    Allocate: PALLOCATE_FUNCTION,
    Free: PFREE_FUNCTION,
    Flags: ULONG,
    Size: SIZE_T,
    Tag: ULONG,
    Depth: USHORT,
) {
    // SAFETY: the caller passes its list structure.
    unsafe {
        initialize_legacy(
            ListKind::Paged,
            "ExInitializePagedLookasideList",
            &raw mut (*Lookaside).L,
            _POOL_TYPE::PagedPool,
            Flags & !POOL_NX_ALLOCATION,
            Size,
            Tag,
            Depth,
            (Allocate, Free),
        )
    }
}

/// `ExInitializeLookasideListEx`, reachable only through
/// `MmGetSystemRoutineAddress`, as this crate uses it.
///
/// # Safety
/// As the kernel's.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe extern "system" fn ex_initialize_lookaside_list_ex(
    lookaside: PLOOKASIDE_LIST_EX,
    allocate: PALLOCATE_FUNCTION_EX,
    free: PFREE_FUNCTION_EX,
    pool_type: POOL_TYPE,
    flags: ULONG,
    size: SIZE_T,
    tag: ULONG,
    depth: USHORT,
) -> NTSTATUS {
    let request = Request {
        kind: ListKind::Ex,
        routine: "ExInitializeLookasideListEx",
        pool_type,
        size,
        tag,
        depth,
        bad_flags: flags & EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL,
        routines: Routines::Ex(allocate, free),
    };
    // SAFETY: the caller passes its list structure.
    unsafe {
        let l = &raw mut (*lookaside).L;
        let len = size_of::<_GENERAL_LOOKASIDE_POOL>();
        match initialize(request, lookaside.cast(), len, &GeneralLookaside::fields(l), true) {
            Outcome::Initialised => {
                (*l).__bindgen_anon_4.AllocateEx = Some(allocate_entry_ex);
                (*l).__bindgen_anon_5.FreeEx = Some(free_entry_ex);
                0
            }
            Outcome::Refused => STATUS_INVALID_PARAMETER,
            // Windows has no status for it (the 0x139 is the answer).
            Outcome::AlreadyLive => 0,
        }
    }
}

/// `STATUS_INVALID_PARAMETER`, what the model's `ExInitializeLookasideListEx`
/// returns for the bad parameters it reports (nothing is initialised then).
const STATUS_INVALID_PARAMETER: NTSTATUS = 0xC000_000D_u32 as NTSTATUS;

/// The body of the three deletions: unregisters the list, then gives its
/// cached entries to its free routine.
///
/// # Safety
/// `lookaside` is the driver's list structure, `head` its SList header.
unsafe fn delete(routine: &str, lookaside: usize, head: PSLIST_HEADER) {
    let deleted = with_state(|state| {
        let (list, leak) = match state.lookaside.unregister(lookaside, routine) {
            Ok(deleted) => deleted,
            Err(violation) => {
                state.violations.push(violation);
                return None;
            }
        };
        irql_above(state, routine, list.max_irql);
        state.violations.extend(leak);
        let cached: Vec<usize> = list.cached().collect();
        // SAFETY: the header of a list the model initialised.
        unsafe { slist_init(head) };
        Some((list.routines, cached))
    });
    let Some((routines, cached)) = deleted else { return };
    for entry in cached {
        // SAFETY: each entry came from this list's allocate routine and goes
        // back to the matching free routine, once.
        unsafe { release(routines, entry as PVOID, lookaside as PLOOKASIDE_LIST_EX) };
    }
}

/// Gives `entry` to the driver's free routine of a list, or to the pool.
///
/// # Safety
/// `entry` came from the matching allocate routine.
unsafe fn release(routines: Routines, entry: PVOID, lookaside: PLOOKASIDE_LIST_EX) {
    // SAFETY: per the contract.
    unsafe {
        match routines {
            Routines::Legacy(_, Some(free)) => free(entry),
            Routines::Ex(_, Some(free)) => free(entry, lookaside),
            Routines::Legacy(_, None) | Routines::Ex(_, None) => ExFreePool(entry),
        }
    }
}

/// `ExDeleteNPagedLookasideList`.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn ExDeleteNPagedLookasideList(Lookaside: PNPAGED_LOOKASIDE_LIST) {
    // SAFETY: the caller passes its list structure.
    unsafe {
        delete("ExDeleteNPagedLookasideList", Lookaside as usize, &raw mut (*Lookaside).L.__bindgen_anon_1.ListHead)
    }
}

/// `ExDeletePagedLookasideList`.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn ExDeletePagedLookasideList(Lookaside: PPAGED_LOOKASIDE_LIST) {
    // SAFETY: the caller passes its list structure.
    unsafe {
        delete("ExDeletePagedLookasideList", Lookaside as usize, &raw mut (*Lookaside).L.__bindgen_anon_1.ListHead)
    }
}

/// `ExDeleteLookasideListEx`, reachable only through
/// `MmGetSystemRoutineAddress`.
///
/// # Safety
/// As the kernel's.
pub(super) unsafe extern "system" fn ex_delete_lookaside_list_ex(lookaside: PLOOKASIDE_LIST_EX) {
    // SAFETY: the caller passes its list structure.
    unsafe { delete("ExDeleteLookasideListEx", lookaside as usize, &raw mut (*lookaside).L.__bindgen_anon_1.ListHead) }
}

/// `ExpInterlockedPopEntrySList` (`InterlockedPopEntrySList` on x64); on a
/// lookaside list, checks its IRQL and records the entry as out.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn ExpInterlockedPopEntrySList(ListHead: PSLIST_HEADER) -> PSLIST_ENTRY {
    let list = ListHead as usize;
    with_state(|state| {
        let live = match state.lookaside.live(list, "ExpInterlockedPopEntrySList") {
            Ok(live) => live.map(|live| (live.kind, live.max_irql)),
            Err(violation) => {
                state.violations.push(violation);
                return core::ptr::null_mut();
            }
        };
        if let Some((kind, max)) = live {
            irql_above(state, kind.allocate_routine(), max);
        }
        // SAFETY: a header the model initialised (or a plain SList).
        let entry = unsafe { slist_pop(ListHead, list) };
        if entry != 0 && live.is_some() {
            state.lookaside.popped(list, entry);
        }
        entry as PSLIST_ENTRY
    })
}

/// `ExpInterlockedPushEntrySList` (`InterlockedPushEntrySList` on x64); on
/// a lookaside list, refuses an entry that is not out of it (double free,
/// wrong list).
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn ExpInterlockedPushEntrySList(
    ListHead: PSLIST_HEADER,
    ListEntry: PSLIST_ENTRY,
) -> PSLIST_ENTRY {
    let (list, entry) = (ListHead as usize, ListEntry as usize);
    with_state(|state| {
        let live = match state.lookaside.live(list, "ExpInterlockedPushEntrySList") {
            Ok(live) => live.map(|live| (live.kind, live.max_irql, live.entry_size)),
            Err(violation) => {
                state.violations.push(violation);
                return core::ptr::null_mut();
            }
        };
        if let Some((kind, max, size)) = live {
            irql_above(state, kind.free_routine(), max);
            if let Err(violation) = state.lookaside.pushing(list, entry) {
                state.violations.push(violation);
                return core::ptr::null_mut();
            }
            // SAFETY: an entry out of this list: a live block of `size`
            // bytes (at least the 8 of the link, which the push writes).
            unsafe {
                core::ptr::write_bytes((entry as *mut u8).add(8), LOOKASIDE_ENTRY_POISON, size.saturating_sub(8))
            };
        }
        // SAFETY: a header the model initialised (or a plain SList), and an
        // entry out of this list, hence a live block of at least 8 bytes.
        unsafe { slist_push(ListHead, entry) as PSLIST_ENTRY }
    })
}

/// The allocate routine of the model's legacy lists: the driver's, or the
/// pool; the entry is recorded as out of the list whose SList was empty.
unsafe extern "C" fn allocate_entry(pool_type: POOL_TYPE, size: SIZE_T, tag: ULONG) -> PVOID {
    let list = take_miss();
    let routines = with_state(|state| state.lookaside.routines(list));
    // SAFETY: the driver's routine has the kernel's contract; the pool
    // block gets at least the room of the SList link.
    let entry = unsafe {
        match routines {
            Some(Routines::Legacy(Some(allocate), _)) => allocate(pool_type, size, tag),
            _ => ExAllocatePoolWithTag(pool_type, size.max(SIZE_T::from(LOOKASIDE_MINIMUM_BLOCK_SIZE)), tag),
        }
    };
    record_allocation(list, entry)
}

/// The allocate routine of the model's `LOOKASIDE_LIST_EX` lists.
unsafe extern "C" fn allocate_entry_ex(
    pool_type: POOL_TYPE,
    size: SIZE_T,
    tag: ULONG,
    lookaside: PLOOKASIDE_LIST_EX,
) -> PVOID {
    let list = lookaside as usize;
    let routines = with_state(|state| state.lookaside.routines(list));
    // SAFETY: as in `allocate_entry`.
    let entry = unsafe {
        match routines {
            Some(Routines::Ex(Some(allocate), _)) => allocate(pool_type, size, tag, lookaside),
            _ => ExAllocatePoolWithTag(pool_type, size.max(SIZE_T::from(LOOKASIDE_MINIMUM_BLOCK_SIZE)), tag),
        }
    };
    record_allocation(list, entry)
}

fn record_allocation(list: usize, entry: PVOID) -> PVOID {
    if !entry.is_null() {
        with_state(|state| state.lookaside.allocated(list, entry as usize));
    }
    entry
}

/// The free routine of the model's legacy lists (called when a list is
/// full): to the routine of the list the entry came from.
unsafe extern "C" fn free_entry(entry: PVOID) {
    // SAFETY: the entry goes back to its own list's routine, once.
    unsafe { free_to_routine(None, entry) }
}

/// The free routine of the model's `LOOKASIDE_LIST_EX` lists.
unsafe extern "C" fn free_entry_ex(entry: PVOID, lookaside: PLOOKASIDE_LIST_EX) {
    // SAFETY: as in `free_entry`.
    unsafe { free_to_routine(Some(lookaside), entry) }
}

/// Checks a free of `entry` (to `lookaside`, when the routine says which)
/// and hands it to the matching free routine.
///
/// # Safety
/// Called by a fast path with an entry a list handed out.
unsafe fn free_to_routine(lookaside: Option<PLOOKASIDE_LIST_EX>, entry: PVOID) {
    let checked = with_state(|state| match state.lookaside.freeing(lookaside.map(|l| l as usize), entry as usize) {
        Ok(routines) => Some(routines),
        Err(violation) => {
            state.violations.push(violation);
            None
        }
    });
    if let Some(routines) = checked {
        let routines = routines.unwrap_or(Routines::Legacy(None, None));
        // SAFETY: the entry was out of the list whose routines these are.
        unsafe { release(routines, entry, lookaside.unwrap_or(core::ptr::null_mut())) };
    }
}
