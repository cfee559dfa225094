//! Lookaside lists: the `FORCEINLINE` fast paths of `wdm.h`
//! (`ExAllocateFromNPagedLookasideList` & co, which neither wdk-sys nor the
//! ddk bindings have), and the two `LOOKASIDE_LIST_EX` exports
//! (`ExInitializeLookasideListEx`, `ExDeleteLookasideListEx`), resolved at run
//! time because Wine lacks them: a static import would keep the driver from
//! loading there.
//!
//! Written once for every provider, over the real `GENERAL_LOOKASIDE`
//! layout. On x64, `InterlockedPopEntrySList`/`InterlockedPushEntrySList` are
//! macros for the ntoskrnl exports `ExpInterlockedPopEntrySList` and
//! `ExpInterlockedPushEntrySList`, which the kernel model implements too: the
//! same code runs on Windows, Wine and the model.
//!
//! The statistics counters are incremented as `wdm.h` does, with a plain
//! `inc` (no `lock` prefix): here a relaxed atomic load and a relaxed atomic
//! store, which compile to the same instruction on x64 and are no data race
//! when two processors update a counter at once. As in C, such concurrent
//! updates may lose an increment: the counters are approximate, as the
//! kernel's own (which adjusts the depth from them) are.

use core::{
    mem::transmute,
    ptr::null_mut,
    sync::atomic::{AtomicU16, AtomicU32, AtomicU64, Ordering::Relaxed},
};

use super::{
    _GENERAL_LOOKASIDE, _GENERAL_LOOKASIDE_POOL, ExpInterlockedPopEntrySList, ExpInterlockedPushEntrySList,
    NPAGED_LOOKASIDE_LIST, NTSTATUS, PAGED_LOOKASIDE_LIST, PALLOCATE_FUNCTION_EX, PFREE_FUNCTION_EX,
    PLOOKASIDE_LIST_EX, POOL_TYPE, PSLIST_HEADER, PVOID, RuntimeRoutine, SIZE_T, ULONG, USHORT, utf16,
};

/// `POOL_NX_ALLOCATION`: the `Flags` bit of the legacy lookaside lists that
/// makes a non-paged list allocate no-execute pool (Windows 8 and later).
pub const POOL_NX_ALLOCATION: ULONG = 512;
/// `LOOKASIDE_MINIMUM_BLOCK_SIZE`: the smallest entry, room for the
/// `SLIST_ENTRY` link (an `offsetof` in `wdm.h`, which bindgen cannot always
/// evaluate).
pub const LOOKASIDE_MINIMUM_BLOCK_SIZE: ULONG = 8;
/// `MEMORY_ALLOCATION_ALIGNMENT` on x64: every pool block, hence every
/// lookaside entry, is aligned on 16 bytes.
pub const MEMORY_ALLOCATION_ALIGNMENT: usize = 16;

/// Pointers to the fields of a `GENERAL_LOOKASIDE` or
/// `GENERAL_LOOKASIDE_POOL` (same layout, different C types) that the fast
/// paths and the statistics use.
pub struct LookasideFields {
    pub list_head: PSLIST_HEADER,
    pub depth: *mut USHORT,
    pub maximum_depth: *mut USHORT,
    pub total_allocates: *mut ULONG,
    pub allocate_misses: *mut ULONG,
    pub total_frees: *mut ULONG,
    pub free_misses: *mut ULONG,
    pub pool_type: *mut POOL_TYPE,
    pub tag: *mut ULONG,
    pub size: *mut ULONG,
}

/// The two C structures that hold a lookaside list's state.
pub trait GeneralLookaside {
    /// The field pointers of the structure at `this`.
    ///
    /// # Safety
    /// `this` points to a live structure of this type (its contents may be
    /// uninitialised: only addresses are computed).
    unsafe fn fields(this: *mut Self) -> LookasideFields;
}

macro_rules! general_lookaside {
    ($($general:ty),*) => {$(
        impl GeneralLookaside for $general {
            unsafe fn fields(this: *mut Self) -> LookasideFields {
                // SAFETY: the caller passes a live structure; `&raw mut`
                // computes field addresses without reading anything.
                unsafe {
                    LookasideFields {
                        list_head: &raw mut (*this).__bindgen_anon_1.ListHead,
                        depth: &raw mut (*this).Depth,
                        maximum_depth: &raw mut (*this).MaximumDepth,
                        total_allocates: &raw mut (*this).TotalAllocates,
                        allocate_misses: &raw mut (*this).__bindgen_anon_2.AllocateMisses,
                        total_frees: &raw mut (*this).TotalFrees,
                        free_misses: &raw mut (*this).__bindgen_anon_3.FreeMisses,
                        pool_type: &raw mut (*this).Type,
                        tag: &raw mut (*this).Tag,
                        size: &raw mut (*this).Size,
                    }
                }
            }
        }
    )*};
}
general_lookaside!(_GENERAL_LOOKASIDE, _GENERAL_LOOKASIDE_POOL);

/// `ExQueryDepthSList` on x64: the entry count is the low 16 bits of the
/// header's first quadword (`HeaderX64.Depth`), read atomically because other
/// processors update the header with `cmpxchg16b`.
///
/// # Safety
/// `head` points to an initialised, 16-aligned `SLIST_HEADER`.
pub unsafe fn ExQueryDepthSList(head: PSLIST_HEADER) -> USHORT {
    // SAFETY: the header is live and 16-aligned, so its first quadword is a
    // valid, aligned u64 that is only ever accessed atomically.
    (unsafe { AtomicU64::from_ptr(head.cast()) }.load(Relaxed) & 0xFFFF) as USHORT
}

/// Adds one to a statistics counter, as `wdm.h`'s plain `++` does (an
/// increment racing with another processor's may be lost; see the module
/// documentation).
///
/// # Safety
/// `counter` points to a live, aligned `ULONG` of a lookaside list.
#[inline(always)]
unsafe fn bump(counter: *mut ULONG) {
    // SAFETY: per the contract; the counter is only accessed atomically.
    let counter = unsafe { AtomicU32::from_ptr(counter) };
    counter.store(counter.load(Relaxed).wrapping_add(1), Relaxed);
}

/// The allocation fast path: `TotalAllocates++`, pop an entry, and on a miss
/// `AllocateMisses++` and `miss()` (the list's allocate routine).
///
/// # Safety
/// `fields` are those of an initialised list; `miss` calls its routine.
unsafe fn allocate(fields: &LookasideFields, miss: impl FnOnce() -> PVOID) -> PVOID {
    // SAFETY: the caller's list is initialised: its header and counters are
    // live, and ExpInterlockedPopEntrySList may be called at any IRQL.
    unsafe {
        bump(fields.total_allocates);
        let entry = ExpInterlockedPopEntrySList(fields.list_head);
        if !entry.is_null() {
            return entry.cast();
        }
        bump(fields.allocate_misses);
    }
    miss()
}

/// The free fast path: `TotalFrees++`, then either `FreeMisses++` and
/// `miss(entry)` (the list's free routine) when the list already holds
/// `Depth` entries, or push `entry`.
///
/// # Safety
/// `fields` are those of an initialised list; `entry` came from it and is
/// not used afterwards; `miss` calls its free routine.
unsafe fn free(fields: &LookasideFields, entry: PVOID, miss: impl FnOnce(PVOID)) {
    // SAFETY: as above; `entry` is a 16-aligned block of at least
    // LOOKASIDE_MINIMUM_BLOCK_SIZE bytes that the list may link.
    unsafe {
        bump(fields.total_frees);
        let depth = AtomicU16::from_ptr(fields.depth).load(Relaxed);
        if ExQueryDepthSList(fields.list_head) >= depth {
            bump(fields.free_misses);
            miss(entry);
        } else {
            ExpInterlockedPushEntrySList(fields.list_head, entry.cast());
        }
    }
}

/// `ExAllocateFromNPagedLookasideList`: an entry, or NULL.
///
/// # Safety
/// `Lookaside` is an initialised, not yet deleted list; IRQL <= DISPATCH_LEVEL.
pub unsafe fn ExAllocateFromNPagedLookasideList(Lookaside: *mut NPAGED_LOOKASIDE_LIST) -> PVOID {
    // SAFETY: per the contract.
    unsafe { allocate_general(&raw mut (*Lookaside).L) }
}

/// `ExFreeToNPagedLookasideList`.
///
/// # Safety
/// As [`ExAllocateFromNPagedLookasideList`]; `Entry` came from this list and
/// is not used afterwards.
pub unsafe fn ExFreeToNPagedLookasideList(Lookaside: *mut NPAGED_LOOKASIDE_LIST, Entry: PVOID) {
    // SAFETY: per the contract.
    unsafe { free_general(&raw mut (*Lookaside).L, Entry) }
}

/// `ExAllocateFromPagedLookasideList`: an entry, or NULL.
///
/// # Safety
/// `Lookaside` is an initialised, not yet deleted list; IRQL <= APC_LEVEL.
pub unsafe fn ExAllocateFromPagedLookasideList(Lookaside: *mut PAGED_LOOKASIDE_LIST) -> PVOID {
    // SAFETY: per the contract.
    unsafe { allocate_general(&raw mut (*Lookaside).L) }
}

/// `ExFreeToPagedLookasideList`.
///
/// # Safety
/// As [`ExAllocateFromPagedLookasideList`]; `Entry` came from this list and
/// is not used afterwards.
pub unsafe fn ExFreeToPagedLookasideList(Lookaside: *mut PAGED_LOOKASIDE_LIST, Entry: PVOID) {
    // SAFETY: per the contract.
    unsafe { free_general(&raw mut (*Lookaside).L, Entry) }
}

/// The body of the two legacy allocation fast paths.
///
/// # Safety
/// `l` is the `GENERAL_LOOKASIDE` of an initialised legacy list.
unsafe fn allocate_general(l: *mut _GENERAL_LOOKASIDE) -> PVOID {
    // SAFETY: per the contract; Allocate, Type, Size and Tag were set by
    // ExInitialize*LookasideList and never change.
    unsafe {
        allocate(&GeneralLookaside::fields(l), || match (*l).__bindgen_anon_4.Allocate {
            Some(routine) => routine((*l).Type, (*l).Size as SIZE_T, (*l).Tag),
            None => null_mut(),
        })
    }
}

/// The body of the two legacy free fast paths.
///
/// # Safety
/// As [`allocate_general`]; `entry` came from this list.
unsafe fn free_general(l: *mut _GENERAL_LOOKASIDE, entry: PVOID) {
    // SAFETY: per the contract; Free was set by ExInitialize*LookasideList.
    unsafe {
        free(&GeneralLookaside::fields(l), entry, |entry| {
            if let Some(routine) = (*l).__bindgen_anon_5.Free {
                routine(entry);
            }
        })
    }
}

/// `ExAllocateFromLookasideListEx`: an entry, or NULL.
///
/// # Safety
/// `Lookaside` is a list that `ExInitializeLookasideListEx` initialised and
/// that is not yet deleted; the IRQL is at most its pool's maximum.
pub unsafe fn ExAllocateFromLookasideListEx(Lookaside: PLOOKASIDE_LIST_EX) -> PVOID {
    // SAFETY: per the contract; AllocateEx, Type, Size and Tag never change.
    unsafe {
        let l = &raw mut (*Lookaside).L;
        allocate(&GeneralLookaside::fields(l), || match (*l).__bindgen_anon_4.AllocateEx {
            Some(routine) => routine((*l).Type, (*l).Size as SIZE_T, (*l).Tag, Lookaside),
            None => null_mut(),
        })
    }
}

/// `ExFreeToLookasideListEx`.
///
/// # Safety
/// As [`ExAllocateFromLookasideListEx`]; `Entry` came from this list and is
/// not used afterwards.
pub unsafe fn ExFreeToLookasideListEx(Lookaside: PLOOKASIDE_LIST_EX, Entry: PVOID) {
    // SAFETY: per the contract; FreeEx never changes.
    unsafe {
        let l = &raw mut (*Lookaside).L;
        free(&GeneralLookaside::fields(l), Entry, |entry| {
            if let Some(routine) = (*l).__bindgen_anon_5.FreeEx {
                routine(entry, Lookaside);
            }
        })
    }
}

/// The type of `ExInitializeLookasideListEx`.
pub type PFN_EX_INITIALIZE_LOOKASIDE_LIST_EX = unsafe extern "system" fn(
    Lookaside: PLOOKASIDE_LIST_EX,
    Allocate: PALLOCATE_FUNCTION_EX,
    Free: PFREE_FUNCTION_EX,
    PoolType: POOL_TYPE,
    Flags: ULONG,
    Size: SIZE_T,
    Tag: ULONG,
    Depth: USHORT,
) -> NTSTATUS;
/// The type of `ExDeleteLookasideListEx`.
pub type PFN_EX_DELETE_LOOKASIDE_LIST_EX = unsafe extern "system" fn(Lookaside: PLOOKASIDE_LIST_EX);

static EX_INITIALIZE_LOOKASIDE_LIST_EX_NAME: [u16; 27] = utf16(b"ExInitializeLookasideListEx");
static EX_DELETE_LOOKASIDE_LIST_EX_NAME: [u16; 23] = utf16(b"ExDeleteLookasideListEx");
/// `ExInitializeLookasideListEx`, when the running kernel exports it.
pub static EX_INITIALIZE_LOOKASIDE_LIST_EX: RuntimeRoutine = RuntimeRoutine::new(&EX_INITIALIZE_LOOKASIDE_LIST_EX_NAME);
/// `ExDeleteLookasideListEx`, when the running kernel exports it.
pub static EX_DELETE_LOOKASIDE_LIST_EX: RuntimeRoutine = RuntimeRoutine::new(&EX_DELETE_LOOKASIDE_LIST_EX_NAME);

/// The two exports of the `LOOKASIDE_LIST_EX` family.
#[derive(Clone, Copy)]
pub struct LookasideListExRoutines {
    pub initialize: PFN_EX_INITIALIZE_LOOKASIDE_LIST_EX,
    pub delete: PFN_EX_DELETE_LOOKASIDE_LIST_EX,
}

/// `ExInitializeLookasideListEx` and `ExDeleteLookasideListEx`, or `None`
/// when the kernel lacks either (Wine; see [`RuntimeRoutine::address`] for
/// `at_passive`).
pub fn lookaside_list_ex_routines(at_passive: bool) -> Option<LookasideListExRoutines> {
    let initialize = EX_INITIALIZE_LOOKASIDE_LIST_EX.address(at_passive)?;
    let delete = EX_DELETE_LOOKASIDE_LIST_EX.address(at_passive)?;
    // SAFETY: the kernel exports these names with these types (wdm.h).
    unsafe {
        Some(LookasideListExRoutines {
            initialize: transmute::<usize, PFN_EX_INITIALIZE_LOOKASIDE_LIST_EX>(initialize),
            delete: transmute::<usize, PFN_EX_DELETE_LOOKASIDE_LIST_EX>(delete),
        })
    }
}
