//! The kernel routines of the model, under their kernel names and with the
//! signatures of the bindings, so that `crate::sys` exports the same
//! identifiers for every provider.

use std::{format, string::String};

use super::{
    irql,
    kernel::{State, with_state},
    pool::{PoolKind, tag_text},
    verifier::BugCheck,
};
use crate::sys::{
    _POOL_TYPE, KIRQL, PFN_EX_ALLOCATE_POOL2, POOL_FLAG_NON_PAGED, POOL_FLAG_NON_PAGED_EXECUTE,
    POOL_FLAG_PAGED, POOL_FLAG_RAISE_ON_FAILURE, POOL_FLAG_UNINITIALIZED, POOL_FLAGS, POOL_TYPE,
    PUNICODE_STRING, PVOID, SIZE_T, ULONG,
};

/// Parameter 1 of the model's DDI-compliance bug check (0xC4) for a routine
/// called above its documented maximum IRQL. Driver Verifier's DDI checks use
/// one rule number per routine family; the model uses this one for all and
/// names the routine in the message.
pub(super) const DDI_IRQL_RULE: u64 = 0x0002_0000;

/// Records a DDI-compliance violation when the IRQL is above `max`; true if so.
pub(super) fn irql_above(state: &mut State, routine: &str, max: u8) -> bool {
    let current = irql::get();
    if current <= max {
        return false;
    }
    state.violation(
        BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION,
        [DDI_IRQL_RULE, u64::from(current), u64::from(max), 0],
        format!("{routine} called at IRQL {current}, above its maximum {max}"),
    );
    true
}

/// `KeGetCurrentIrql`.
///
/// # Safety
/// None beyond the kernel's; `unsafe` as the real routine is.
pub unsafe extern "system" fn KeGetCurrentIrql() -> KIRQL {
    irql::get()
}

/// `KfRaiseIrql`: a raise to a lower level is 0xC4/0x30.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn KfRaiseIrql(new_irql: KIRQL) -> KIRQL {
    let current = irql::get();
    if new_irql < current {
        with_state(|state| {
            state.violation(
                BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION,
                [0x30, u64::from(current), u64::from(new_irql), 0],
                format!("KeRaiseIrql from IRQL {current} to the lower IRQL {new_irql}"),
            )
        });
        return current;
    }
    irql::set(new_irql);
    current
}

/// `KeLowerIrql`: a lower to a higher level is 0xC4/0x31.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn KeLowerIrql(new_irql: KIRQL) {
    let current = irql::get();
    if new_irql > current {
        with_state(|state| {
            state.violation(
                BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION,
                [0x31, u64::from(current), u64::from(new_irql), 0],
                format!("KeLowerIrql from IRQL {current} to the higher IRQL {new_irql}"),
            )
        });
        return;
    }
    irql::set(new_irql);
}

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
                    [0x99, u64::from(other), size, u64::from(tag)],
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
unsafe extern "system" fn ex_allocate_pool2(flags: POOL_FLAGS, size: SIZE_T, tag: ULONG) -> PVOID {
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
        if let Err(violation) = state.pool.free(block as usize, tag, irql::get()) {
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
    free("ExFreePool", block, None);
}

/// What `MmGetSystemRoutineAddress` can find in the model.
fn export(name: &str) -> Option<usize> {
    match name {
        "ExAllocatePool2" => Some(ex_allocate_pool2 as PFN_EX_ALLOCATE_POOL2 as usize),
        _ => None,
    }
}

/// `MmGetSystemRoutineAddress`: PASSIVE_LEVEL only; NULL for a name the model
/// does not export or that the test removed.
///
/// # Safety
/// `name` points to a valid `UNICODE_STRING`.
pub unsafe extern "system" fn MmGetSystemRoutineAddress(name: PUNICODE_STRING) -> PVOID {
    // SAFETY: the caller passes a valid counted string.
    let name = unsafe { unicode_to_string(name) };
    with_state(|state| {
        if irql_above(state, "MmGetSystemRoutineAddress", 0) {
            return core::ptr::null_mut();
        }
        if state.missing_exports.iter().any(|missing| *missing == name) {
            return core::ptr::null_mut();
        }
        export(&name).unwrap_or(0) as PVOID
    })
}

/// A `UNICODE_STRING` as a Rust string (lossy).
///
/// # Safety
/// `string` points to a valid `UNICODE_STRING` whose buffer holds `Length`
/// bytes.
pub(super) unsafe fn unicode_to_string(string: PUNICODE_STRING) -> String {
    // SAFETY: per the contract.
    let string = unsafe { &*string };
    let units = usize::from(string.Length) / 2;
    // SAFETY: per the contract, `Buffer` holds `Length` bytes.
    let wide = unsafe { core::slice::from_raw_parts(string.Buffer, units) };
    String::from_utf16_lossy(wide)
}
