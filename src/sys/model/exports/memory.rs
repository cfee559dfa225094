//! `MmAllocateNonCachedMemory`, `MmFreeNonCachedMemory`,
//! `MmAllocateContiguousMemorySpecifyCache`, `MmFreeContiguousMemory`,
//! `MmGetPhysicalAddress`.

use super::{
    super::{
        kernel::with_state,
        memory::{Bounds, MemoryKind},
    },
    irql_above,
};
use crate::sys::{_MEMORY_CACHING_TYPE, MEMORY_CACHING_TYPE, PHYSICAL_ADDRESS, PVOID, SIZE_T};

/// `MmAllocateNonCachedMemory`: whole pages, not zeroed; NULL above
/// APC_LEVEL, for 0 bytes, or when a fault is injected.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn MmAllocateNonCachedMemory(NumberOfBytes: SIZE_T) -> PVOID {
    with_state(|state| {
        if irql_above(state, "MmAllocateNonCachedMemory", 1)
            || NumberOfBytes == 0
            || state.faults.should_fail("MmAllocateNonCachedMemory", None, NumberOfBytes as usize)
        {
            return core::ptr::null_mut();
        }
        state.memory.allocate_non_cached(NumberOfBytes as usize) as PVOID
    })
}

/// `MmFreeNonCachedMemory`: `NumberOfBytes` must be the size allocated.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn MmFreeNonCachedMemory(BaseAddress: PVOID, NumberOfBytes: SIZE_T) {
    with_state(|state| {
        if irql_above(state, "MmFreeNonCachedMemory", 1) {
            return;
        }
        let freed = state.memory.free(
            MemoryKind::NonCached,
            "MmFreeNonCachedMemory",
            BaseAddress as usize,
            Some(NumberOfBytes as usize),
        );
        state.violations.extend(freed.err());
    });
}

/// `MmAllocateContiguousMemorySpecifyCache`: NULL above DISPATCH_LEVEL, for 0
/// bytes or an invalid cache type, when no free physical range meets the
/// bounds, or when a fault is injected.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn MmAllocateContiguousMemorySpecifyCache(
    NumberOfBytes: SIZE_T,
    LowestAcceptableAddress: PHYSICAL_ADDRESS,
    HighestAcceptableAddress: PHYSICAL_ADDRESS,
    BoundaryAddressMultiple: PHYSICAL_ADDRESS,
    CacheType: MEMORY_CACHING_TYPE,
) -> PVOID {
    let [lowest, highest, boundary] =
        [LowestAcceptableAddress, HighestAcceptableAddress, BoundaryAddressMultiple].map(quad);
    with_state(|state| {
        let routine = "MmAllocateContiguousMemorySpecifyCache";
        if irql_above(state, routine, 2)
            || NumberOfBytes == 0
            || !(_MEMORY_CACHING_TYPE::MmNonCached.._MEMORY_CACHING_TYPE::MmMaximumCacheType).contains(&CacheType)
            || state.faults.should_fail(routine, None, NumberOfBytes as usize)
        {
            return core::ptr::null_mut();
        }
        state.memory.allocate_contiguous(NumberOfBytes as usize, Bounds { lowest, highest, boundary }) as PVOID
    })
}

/// A `PHYSICAL_ADDRESS` as an unsigned number.
fn quad(address: PHYSICAL_ADDRESS) -> u64 {
    // SAFETY: every member of a LARGE_INTEGER is plain integers over the same
    // eight bytes; QuadPart covers all of them.
    unsafe { address.QuadPart as u64 }
}

/// `MmFreeContiguousMemory` (DISPATCH_LEVEL at most, as since Windows
/// Server 2008).
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn MmFreeContiguousMemory(BaseAddress: PVOID) {
    with_state(|state| {
        if irql_above(state, "MmFreeContiguousMemory", 2) {
            return;
        }
        let freed = state.memory.free(MemoryKind::Contiguous, "MmFreeContiguousMemory", BaseAddress as usize, None);
        state.violations.extend(freed.err());
    });
}

/// `MmGetPhysicalAddress`: the simulated physical address of non-cached and
/// contiguous memory; 0 for any other address (the model maps no physical
/// memory behind pool or stacks).
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn MmGetPhysicalAddress(BaseAddress: PVOID) -> PHYSICAL_ADDRESS {
    let physical = with_state(|state| state.memory.physical_address(BaseAddress as usize));
    PHYSICAL_ADDRESS { QuadPart: physical as i64 }
}
