//! `ExAllocatePoolWithTag`, `ExAllocatePool2`, `ExFreePoolWithTag`, `ExFreePool`,
//! and the model hook `note_pool_access` (a no-op on real kernels, see
//! `src/sys/pool_hooks.rs`).

use std::{format, string::String};

use super::{
    super::{
        irql,
        kernel::with_state,
        lookaside::LOOKASIDE_FREED_WHILE_LINKED,
        pool::{PoolKind, tag_text},
        verifier::BugCheck,
    },
    irql_above,
};
use crate::sys::{
    _POOL_TYPE, POOL_FLAG_NON_PAGED, POOL_FLAG_NON_PAGED_EXECUTE, POOL_FLAG_PAGED, POOL_FLAG_RAISE_ON_FAILURE,
    POOL_FLAG_UNINITIALIZED, POOL_FLAGS, POOL_TYPE, PVOID, SIZE_T, ULONG,
};

/// The shared body of the pool allocators, after each has decoded its pool.
fn allocate(routine: &'static str, kind: PoolKind, size: usize, tag: u32, zeroed: bool) -> PVOID {
    with_state(|state| {
        let current = irql::get();
        let pool_type = kind as u64;
        if current > kind.max_irql() {
            let p1 = if kind == PoolKind::Paged { 0x01 } else { 0x02 };
            state.violation(
                BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION,
                [p1, u64::from(current), pool_type, size as u64],
                format!("{routine}: {kind:?} pool allocation at IRQL {current}"),
            );
            return core::ptr::null_mut();
        }
        if size == 0 {
            state.violation(
                BugCheck::BAD_POOL_CALLER,
                [0x00, 0, pool_type, u64::from(tag)],
                format!("{routine}: zero-byte allocation tagged {:?}", tag_text(tag)),
            );
            return core::ptr::null_mut();
        }
        if tag == 0 {
            state.violation(
                BugCheck::BAD_POOL_CALLER,
                [0x9B, pool_type, size as u64, 0],
                format!("{routine}: allocation with a zero tag"),
            );
            return core::ptr::null_mut();
        }
        if state.faults.should_fail(routine, Some(tag), size) {
            return core::ptr::null_mut();
        }
        state.pool.allocate(size, tag, kind, zeroed) as PVOID
    })
}

/// `ExAllocatePoolWithTag`: contents not zeroed.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn ExAllocatePoolWithTag(pool_type: POOL_TYPE, size: SIZE_T, tag: ULONG) -> PVOID {
    let kind = match pool_type {
        _POOL_TYPE::PagedPool | _POOL_TYPE::PagedPoolCacheAligned => PoolKind::Paged,
        _POOL_TYPE::NonPagedPool
        | _POOL_TYPE::NonPagedPoolCacheAligned
        | _POOL_TYPE::NonPagedPoolNx
        | _POOL_TYPE::NonPagedPoolNxCacheAligned => PoolKind::NonPaged,
        other => {
            with_state(|state| {
                state.violation(
                    BugCheck::BAD_POOL_CALLER,
                    [0x99, other as u64, size, u64::from(tag)],
                    format!("ExAllocatePoolWithTag: pool type {other} is not modelled (must-succeed or session pool)"),
                )
            });
            return core::ptr::null_mut();
        }
    };
    allocate("ExAllocatePoolWithTag", kind, size as usize, tag, false)
}

/// `ExAllocatePool2`, reachable only through `MmGetSystemRoutineAddress`, as
/// this crate uses it. Zeroes unless `POOL_FLAG_UNINITIALIZED`; invalid flags
/// give NULL, as documented.
///
/// # Safety
/// As the kernel's.
pub(super) unsafe extern "system" fn ex_allocate_pool2(flags: POOL_FLAGS, size: SIZE_T, tag: ULONG) -> PVOID {
    let pools = flags & (POOL_FLAG_NON_PAGED | POOL_FLAG_NON_PAGED_EXECUTE | POOL_FLAG_PAGED);
    let kind = match pools {
        POOL_FLAG_PAGED => PoolKind::Paged,
        POOL_FLAG_NON_PAGED | POOL_FLAG_NON_PAGED_EXECUTE => PoolKind::NonPaged,
        _ => return core::ptr::null_mut(),
    };
    if flags & POOL_FLAG_RAISE_ON_FAILURE != 0 {
        with_state(|state| {
            state.violation(
                BugCheck::BAD_POOL_CALLER,
                [0x9A, flags, size, u64::from(tag)],
                String::from("ExAllocatePool2 with POOL_FLAG_RAISE_ON_FAILURE: the model cannot raise"),
            )
        });
        return core::ptr::null_mut();
    }
    allocate("ExAllocatePool2", kind, size as usize, tag, flags & POOL_FLAG_UNINITIALIZED == 0)
}

/// The shared body of the pool frees.
fn free(routine: &str, block: PVOID, tag: Option<u32>) {
    with_state(|state| {
        // DISPATCH_LEVEL for any block; the pool check below is stricter for
        // paged blocks.
        if irql_above(state, routine, 2) {
            return;
        }
        let address = block as usize;
        let linked = state.pool.block_holding(address, 1).filter(|&(start, _, _)| start == address);
        if let Some(list) = linked.and_then(|(start, size, _)| state.lookaside.live_within(start, size)) {
            state.violation(
                BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION,
                [LOOKASIDE_FREED_WHILE_LINKED, list as u64, address as u64, 0],
                format!("{routine} of the block {address:#x}, which holds the live lookaside list {list:#x}"),
            );
        }
        if let Err(violation) = state.pool.free(address, tag, irql::get()) {
            state.violations.push(violation);
        }
    });
}

/// `ExFreePoolWithTag`.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn ExFreePoolWithTag(block: PVOID, tag: ULONG) {
    free("ExFreePoolWithTag", block, Some(tag));
}

/// `ExFreePool`.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn ExFreePool(block: PVOID) {
    // An MDL of MmAllocatePagesForMdlEx is freed with ExFreePool.
    if super::mdl_pages::free_pages_mdl(block as usize) {
        return;
    }
    free("ExFreePool", block, None);
}

/// Model hook: the driver touches `size` bytes of pool memory at `address`
/// through a safe pool or lookaside type. A touch of a paged block above
/// APC_LEVEL is the page fault Windows cannot service there (with Driver
/// Verifier's IRQL checking, which trims pageable memory on every raise, at
/// every such touch): `DRIVER_IRQL_NOT_LESS_OR_EQUAL` (0xD1: address, IRQL,
/// 0 read / 1 write), as for `pageable_static!` data.
pub fn note_pool_access(address: PVOID, size: usize, write: bool) {
    with_state(|state| {
        let level = irql::get();
        let paged =
            state.pool.block_holding(address as usize, size).is_some_and(|(_, _, kind)| kind == PoolKind::Paged);
        if paged && level > PoolKind::Paged.max_irql() {
            state.pageable_touch_at_raised_irql(address as usize, size, write, level, "paged pool");
        }
    });
}
