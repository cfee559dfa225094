//! `IoAllocateMdl`, `IoFreeMdl`, `MmProbeAndLockPages` (and
//! [`probe_and_lock_pages`], its SEH-shim twin), `MmUnlockPages`,
//! `MmBuildMdlForNonPagedPool`, `MmMapLockedPagesSpecifyCache`,
//! `MmUnmapLockedPages`, `MmIsAddressValid`, with the checks Driver
//! Verifier makes (bug check 0xC4 and the parameter its documentation gives).

use std::format;

use super::{
    super::{
        irql,
        kernel::{State, with_state},
        mdl::{
            Access, MDL_BAD_UNMAP, MDL_NOT_MODELLED, MDL_USER_UNMAP_WRONG_PROCESS, describe_flags, header_summary,
            on_current_stack, violation,
        },
        process,
        verifier::BugCheck,
    },
    irql_above,
};
use crate::{
    NtStatus,
    sys::{
        _LOCK_OPERATION, _MEMORY_CACHING_TYPE, _MODE, ADDRESS_AND_SIZE_TO_SPAN_PAGES, BOOLEAN, KPROCESSOR_MODE,
        LOCK_OPERATION, MDL_ALLOCATED_FIXED_SIZE, MDL_MAPPED_TO_SYSTEM_VA, MDL_MAX_BYTE_COUNT, MDL_PAGES_LOCKED,
        MDL_PARTIAL, MDL_SOURCE_IS_NONPAGED_POOL, MDL_WRITE_OPERATION, MEMORY_CACHING_TYPE, MM_PAGE_PRIORITY,
        MdlMappingNoWrite, MmGetMdlPfnArray, MmGetMdlVirtualAddress, NTSTATUS, PAGE_SIZE, PIRP, PMDL, PMDLX, PVOID,
        ULONG, mdl_flags,
    },
};

const PAGE: usize = PAGE_SIZE as usize;

/// Sets or clears `bits` of the MDL's flags.
///
/// # Safety
/// `mdl` points to a valid MDL.
unsafe fn set_flags(mdl: PMDL, set: u32, clear: u32) {
    // SAFETY: per the contract.
    unsafe {
        let flags = (mdl_flags(mdl) | set) & !clear;
        (*mdl).MdlFlags = flags as u16 as i16;
    }
}

/// Records a 0xC4 violation with parameter 1 `rule`; `true`.
fn refuse(state: &mut State, rule: u64, [p2, p3, p4]: [u64; 3], message: std::string::String) -> bool {
    state.violation(BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION, [rule, p2, p3, p4], message);
    true
}

/// `IoAllocateMdl`: the header and a PFN array for the pages the buffer
/// spans, `MDL_ALLOCATED_FIXED_SIZE`, attached to `irp` when given (as
/// `Irp->MdlAddress`, or at the end of its chain for a secondary buffer).
/// NULL above DISPATCH_LEVEL, beyond 4 GiB minus a page, or when a fault is
/// injected. `ChargeQuota` is ignored.
///
/// # Safety
/// As the kernel's: `irp` is NULL or a valid IRP.
pub unsafe extern "system" fn IoAllocateMdl(
    virtual_address: PVOID,
    length: ULONG,
    secondary_buffer: BOOLEAN,
    _charge_quota: BOOLEAN,
    irp: PIRP,
) -> PMDL {
    with_state(|state| {
        if irql_above(state, "IoAllocateMdl", 2)
            || length as usize > MDL_MAX_BYTE_COUNT
            || state.faults.should_fail("IoAllocateMdl", None, length as usize)
        {
            return core::ptr::null_mut();
        }
        let va = virtual_address as usize;
        let mdl = state.mdl.allocate(ADDRESS_AND_SIZE_TO_SPAN_PAGES(va, length as usize));
        if mdl.is_null() {
            return mdl;
        }
        let size = size_of::<crate::sys::MDL>() + state.mdl.capacity(mdl as usize) * 8;
        // SAFETY: a fresh, zeroed MDL of the model; MmInitializeMdl's fields.
        unsafe {
            (*mdl).Size = size as i16;
            (*mdl).MdlFlags = MDL_ALLOCATED_FIXED_SIZE as i16;
            (*mdl).StartVa = (va & !(PAGE - 1)) as PVOID;
            (*mdl).ByteOffset = (va & (PAGE - 1)) as ULONG;
            (*mdl).ByteCount = length;
        }
        // SAFETY: `irp` is NULL or valid, per the contract.
        if let Some(irp) = unsafe { irp.as_mut() } {
            if secondary_buffer == 0 {
                irp.MdlAddress = mdl;
            } else {
                let mut link = &mut irp.MdlAddress;
                // SAFETY: the IRP's MDL chain is made of valid MDLs.
                while let Some(next) = unsafe { link.as_mut() } {
                    link = &mut next.Next;
                }
                *link = mdl;
            }
        }
        mdl
    })
}

/// `IoFreeMdl`. Freeing an MDL still mapped is 0xC4/0xB8 (Driver Verifier's
/// check). Freeing one whose pages are still locked is 0x76
/// PROCESS_HAS_LOCKED_PAGES, parameter 1 = 0 (parameter 3: the pages): no
/// Driver Verifier check catches it at the free, but the pages can never be
/// unlocked again and Windows stops with this bug check when the process
/// that owns them exits; the model reports it where the mistake is made.
/// An MDL freed twice is 0xC2/0x07 (BAD_POOL_CALLER, already freed).
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn IoFreeMdl(mdl: PMDL) {
    if super::mdl_pages::io_free_pages_mdl(mdl as usize) {
        return;
    }
    with_state(|state| {
        if irql_above(state, "IoFreeMdl", 2) {
            return;
        }
        let address = mdl as usize;
        let (live, freed) = state.mdl.status(address);
        if !live {
            let what = if freed { "already freed" } else { "not allocated by IoAllocateMdl" };
            let p1 = if freed { 0x07 } else { 0x46 };
            state.violation(
                BugCheck::BAD_POOL_CALLER,
                [p1, address as u64, 0, 0],
                format!("IoFreeMdl({address:#x}): {what}"),
            );
            return;
        }
        // SAFETY: a live MDL of the model.
        let (flags, _, pages) = unsafe { header_summary(mdl) };
        if flags & MDL_MAPPED_TO_SYSTEM_VA != 0 {
            refuse(
                state,
                0xB8,
                [address as u64, u64::from(flags), 0],
                format!("IoFreeMdl of MDL {address:#x} whose pages are still mapped"),
            );
        }
        if flags & MDL_PAGES_LOCKED != 0 {
            state.violation(
                BugCheck::PROCESS_HAS_LOCKED_PAGES,
                [0, 0, pages as u64, 0],
                format!(
                    "IoFreeMdl of MDL {address:#x} whose {pages} page(s) are still locked: they stay locked forever"
                ),
            );
        }
        state.mdl.free(address);
    });
}

/// Why a probe did not lock.
enum ProbeError {
    /// What `MmProbeAndLockPages` raises: the exception code and the address.
    Raised(NtStatus, usize),
    /// A verifier violation (recorded); the status the model answers with.
    Refused(NtStatus),
}

/// The PFN of the page at `page`: the memory model's simulated frame for
/// non-cached and contiguous memory, else the host's page number.
fn frame(state: &State, page: usize) -> u64 {
    match state.memory.physical_address(page) {
        0 => (page / PAGE) as u64,
        physical => physical / PAGE as u64,
    }
}

/// Fills the PFN array of `mdl` for its pages (as far as it has room).
///
/// # Safety
/// `mdl` points to a valid MDL of the model.
unsafe fn fill_frames(state: &State, mdl: PMDL) {
    // SAFETY: per the contract.
    let start = unsafe { MmGetMdlVirtualAddress(mdl) } as usize;
    // SAFETY: as above.
    let (_, _, pages) = unsafe { header_summary(mdl) };
    for index in 0..pages.min(state.mdl.capacity(mdl as usize)) {
        // SAFETY: `index` is below the room the model allocated.
        unsafe { MmGetMdlPfnArray(mdl).add(index).write(frame(state, start / PAGE * PAGE + index * PAGE)) };
    }
}

/// The body of `MmProbeAndLockPages`.
///
/// # Safety
/// `mdl` points to a valid MDL.
unsafe fn probe(
    state: &mut State,
    mdl: PMDL,
    mode: KPROCESSOR_MODE,
    operation: LOCK_OPERATION,
) -> Result<(), ProbeError> {
    let current = irql::get();
    let address = mdl as u64;
    if current > 2 {
        refuse(
            state,
            0x70,
            [u64::from(current), address, mode as u64],
            format!("MmProbeAndLockPages at IRQL {current}"),
        );
        return Err(ProbeError::Refused(NtStatus::INVALID_PARAMETER));
    }
    // SAFETY: per the contract.
    let flags = unsafe { mdl_flags(mdl) };
    let wrong = flags & (MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL | MDL_MAPPED_TO_SYSTEM_VA);
    if wrong != 0 {
        let message = format!("MmProbeAndLockPages of MDL {address:#x}{}", describe_flags(wrong));
        refuse(state, 0xB0, [address, u64::from(flags), u64::from(wrong)], message);
        return Err(ProbeError::Refused(NtStatus::INVALID_PARAMETER));
    }
    // SAFETY: per the contract.
    let start = unsafe { MmGetMdlVirtualAddress(mdl) } as usize;
    // SAFETY: as above.
    let len = unsafe { (*mdl).ByteCount } as usize;
    let write = operation != _LOCK_OPERATION::IoReadAccess;
    let user = i32::from(mode) == _MODE::UserMode;
    let process = process::current();
    if let Access::Fault(at) = state.mdl.access(process, start, len, user, write) {
        return Err(ProbeError::Raised(NtStatus::ACCESS_VIOLATION, at));
    }
    // Freed non-cached or contiguous memory is unmapped (the host keeps its
    // pages reserved, inaccessible).
    let first = start / PAGE * PAGE;
    if let Some(at) = (first..start.saturating_add(len)).step_by(PAGE).find(|&page| state.memory.is_freed(page)) {
        return Err(ProbeError::Raised(NtStatus::ACCESS_VIOLATION, at.max(start)));
    }
    let pageable = state.mdl.is_user(start)
        || state.pool.usage().blocks.iter().any(|b| b.paged && contains(b.address, b.size, start));
    if pageable {
        irql_above(state, "MmProbeAndLockPages of pageable memory", 1);
    }
    // SAFETY: per the contract; a model MDL has room for its PFNs.
    unsafe {
        fill_frames(state, mdl);
        set_flags(mdl, MDL_PAGES_LOCKED | if write { MDL_WRITE_OPERATION } else { 0 }, 0);
    }
    if state.mdl.owner(start).is_some() {
        state.mdl.note_locked(mdl as usize, process);
    }
    Ok(())
}

fn contains(base: usize, size: usize, address: usize) -> bool {
    (base..base + size).contains(&address)
}

/// `MmProbeAndLockPages` called directly, as a driver without `__try` would:
/// what the real routine raises is an unhandled exception in kernel mode,
/// 0x1E KMODE_EXCEPTION_NOT_HANDLED (parameter 1: the exception code,
/// parameter 3: 1 for a write probe, parameter 4: the faulting address).
/// [`probe_and_lock_pages`] is the call under `__try`.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn MmProbeAndLockPages(mdl: PMDL, mode: KPROCESSOR_MODE, operation: LOCK_OPERATION) {
    with_state(|state| {
        // SAFETY: per the contract.
        if let Err(ProbeError::Raised(code, at)) = unsafe { probe(state, mdl, mode, operation) } {
            state.violation(
                BugCheck::KMODE_EXCEPTION_NOT_HANDLED,
                [code.to_raw() as u32 as u64, 0, u64::from(operation != _LOCK_OPERATION::IoReadAccess), at as u64],
                format!("MmProbeAndLockPages raised {code} at {at:#x} outside __try/__except"),
            );
        }
    });
}

/// The model's SEH shim (`src/sys/seh/probe.c` on Windows):
/// `MmProbeAndLockPages` inside `__try/__except`, returning the code of the
/// exception it raised (`STATUS_ACCESS_VIOLATION` for an address that is
/// unmapped, kernel memory probed from user mode, or read-only memory
/// probed for writing), or `STATUS_SUCCESS`.
///
/// # Safety
/// As `MmProbeAndLockPages`.
pub unsafe fn probe_and_lock_pages(mdl: PMDL, mode: KPROCESSOR_MODE, operation: LOCK_OPERATION) -> NTSTATUS {
    with_state(|state| {
        // SAFETY: per the contract.
        match unsafe { probe(state, mdl, mode, operation) } {
            Ok(()) => NtStatus::SUCCESS,
            Err(ProbeError::Raised(code, _) | ProbeError::Refused(code)) => code,
        }
        .to_raw()
    })
}

/// `MmUnlockPages`: releases the MDL's system mapping, then unlocks. An MDL
/// that is not locked is Driver Verifier's 0xC4/0x7C (0x7D when it was built
/// for non-paged pool). Without Driver Verifier, Windows notices later and
/// less precisely (0x76/0x01 PROCESS_HAS_LOCKED_PAGES for process pages, or
/// 0x4E PFN_LIST_CORRUPT when a page's lock count goes wrong); the model is
/// the verifier, so it reports the call itself.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn MmUnlockPages(mdl: PMDL) {
    with_state(|state| {
        let current = irql::get();
        let address = mdl as u64;
        if current > 2 {
            refuse(state, 0x78, [u64::from(current), address, 0], format!("MmUnlockPages at IRQL {current}"));
            return;
        }
        // SAFETY: per the contract.
        let flags = unsafe { mdl_flags(mdl) };
        if flags & MDL_PAGES_LOCKED == 0 {
            let (rule, what) = if flags & MDL_SOURCE_IS_NONPAGED_POOL != 0 {
                (0x7D, "built for non-paged pool (never locked)")
            } else {
                (0x7C, "whose pages are not locked")
            };
            refuse(state, rule, [address, u64::from(flags), 0], format!("MmUnlockPages of MDL {address:#x} {what}"));
            return;
        }
        state.mdl.unmap_all(mdl as usize);
        state.mdl.note_unlocked(mdl as usize);
        // SAFETY: per the contract.
        unsafe {
            (*mdl).MappedSystemVa = core::ptr::null_mut();
            set_flags(mdl, 0, MDL_PAGES_LOCKED | MDL_WRITE_OPERATION | MDL_MAPPED_TO_SYSTEM_VA);
        }
    });
}

/// `MmBuildMdlForNonPagedPool`: fills the PFNs, sets `MappedSystemVa` to the
/// buffer and `MDL_SOURCE_IS_NONPAGED_POOL`. An MDL over paged pool, user
/// memory or the calling thread's stack is 0xC4/0x7F, and nothing is built.
/// (The routine wants non-paged pool; a kernel stack is not, and the kernel
/// can page it out while its thread waits. Driver Verifier's 0x7F is for
/// pageable memory; the model counts stacks as such.)
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn MmBuildMdlForNonPagedPool(mdl: PMDLX) {
    with_state(|state| {
        if irql_above(state, "MmBuildMdlForNonPagedPool", 2) {
            return;
        }
        // SAFETY: per the contract.
        let start = unsafe { MmGetMdlVirtualAddress(mdl) } as usize;
        let stack = on_current_stack(start);
        let paged = stack
            || state.mdl.is_user(start)
            || state.pool.usage().blocks.iter().any(|b| b.paged && contains(b.address, b.size, start));
        if paged {
            // SAFETY: per the contract.
            let flags = unsafe { mdl_flags(mdl) };
            let what = if stack { "a kernel stack" } else { "pageable memory" };
            let message = format!("MmBuildMdlForNonPagedPool of {what} at {start:#x}");
            refuse(state, 0x7F, [u64::from(irql::get()), mdl as u64, u64::from(flags)], message);
            return;
        }
        // SAFETY: per the contract; a model MDL has room for its PFNs.
        unsafe {
            fill_frames(state, mdl);
            (*mdl).MappedSystemVa = start as PVOID;
            set_flags(mdl, MDL_SOURCE_IS_NONPAGED_POOL, 0);
        }
    });
}

/// `MmMapLockedPagesSpecifyCache` in kernel mode, and in user mode for an
/// MDL of fresh pages (see `map_user`; for other MDLs user mode is not
/// modelled). The checks are Driver Verifier's: above DISPATCH_LEVEL 0x76,
/// `BugCheckOnFailure` 0x82, an MDL already mapped 0xB2, one neither locked
/// nor built for non-paged pool 0xB3. NULL for them, an invalid cache type,
/// or an injected fault. A locked user buffer gets a second mapping of its
/// pages (read-only with `MdlMappingNoWrite`); kernel memory keeps its own
/// address; a non-paged pool MDL answers `MappedSystemVa` without mapping.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn MmMapLockedPagesSpecifyCache(
    mdl: PMDLX,
    mode: KPROCESSOR_MODE,
    cache: MEMORY_CACHING_TYPE,
    _requested_address: PVOID,
    bug_check_on_failure: ULONG,
    priority: MM_PAGE_PRIORITY,
) -> PVOID {
    if i32::from(mode) == _MODE::UserMode {
        // SAFETY: per the contract.
        return match unsafe { map_user(mdl, cache, priority) } {
            Ok(base) => base as PVOID,
            Err(code) => {
                with_state(|state| {
                    state.violation(
                        BugCheck::KMODE_EXCEPTION_NOT_HANDLED,
                        [code.to_raw() as u32 as u64, 0, 0, 0],
                        format!("MmMapLockedPagesSpecifyCache(UserMode) raised {code} outside __try/__except"),
                    )
                });
                core::ptr::null_mut()
            }
        };
    }
    with_state(|state| {
        let current = irql::get();
        let address = mdl as u64;
        // SAFETY: per the contract.
        let flags = unsafe { mdl_flags(mdl) };
        let refused = if i32::from(mode) != _MODE::KernelMode {
            refuse(
                state,
                MDL_NOT_MODELLED,
                [address, 0, 0],
                "MmMapLockedPagesSpecifyCache in user mode is not modelled".into(),
            )
        } else if current > 2 {
            refuse(
                state,
                0x76,
                [u64::from(current), address, mode as u64],
                format!("MmMapLockedPagesSpecifyCache at IRQL {current}"),
            )
        } else if bug_check_on_failure != 0 {
            refuse(
                state,
                0x82,
                [address, u64::from(flags), 0],
                "MmMapLockedPagesSpecifyCache with BugCheckOnFailure".into(),
            )
        } else if flags & MDL_MAPPED_TO_SYSTEM_VA != 0 {
            refuse(
                state,
                0xB2,
                [address, u64::from(flags), u64::from(MDL_MAPPED_TO_SYSTEM_VA)],
                format!("MDL {address:#x} is already mapped"),
            )
        } else if flags & (MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL) == 0 {
            let expected = MDL_PAGES_LOCKED | MDL_SOURCE_IS_NONPAGED_POOL | MDL_PARTIAL;
            refuse(
                state,
                0xB3,
                [address, u64::from(flags), u64::from(expected)],
                format!("MmMapLockedPagesSpecifyCache of unlocked MDL {address:#x}"),
            )
        } else {
            false
        };
        let valid_cache =
            (_MEMORY_CACHING_TYPE::MmNonCached.._MEMORY_CACHING_TYPE::MmMaximumCacheType).contains(&cache);
        // SAFETY: per the contract.
        let (start, len) = unsafe { (MmGetMdlVirtualAddress(mdl) as usize, (*mdl).ByteCount as usize) };
        if refused || !valid_cache || state.faults.should_fail("MmMapLockedPagesSpecifyCache", None, len) {
            return core::ptr::null_mut();
        }
        if flags & MDL_SOURCE_IS_NONPAGED_POOL != 0 {
            return start as PVOID;
        }
        // An MDL of fresh pages has no virtual address: its pages' host memory.
        let start = state.mdl_pages.pages_of(mdl as usize).unwrap_or(start);
        let no_write = priority as u32 & MdlMappingNoWrite != 0;
        let Some(mapped) = state.mdl.map_system(mdl as usize, start, len, no_write) else {
            return core::ptr::null_mut();
        };
        // SAFETY: per the contract.
        unsafe {
            (*mdl).MappedSystemVa = mapped as PVOID;
            set_flags(mdl, MDL_MAPPED_TO_SYSTEM_VA, 0);
        }
        mapped as PVOID
    })
}

/// The body of `MmMapLockedPagesSpecifyCache(UserMode)`: maps an MDL of
/// fresh pages into the current process (which then reads and writes them
/// at the returned address: `UserProcess::read`/`write`), or the code the
/// routine raises. Above APC_LEVEL the DDI violation (and
/// `STATUS_INVALID_PARAMETER`); `STATUS_INVALID_PARAMETER` for an invalid
/// cache type, `BugCheckOnFailure` or another kind of MDL (with the model's
/// [`MDL_NOT_MODELLED`]); `STATUS_INSUFFICIENT_RESOURCES` for an injected
/// fault. A process may have several mappings of one MDL; each is unmapped
/// in it.
///
/// # Safety
/// `mdl` is valid.
unsafe fn map_user(mdl: PMDLX, cache: MEMORY_CACHING_TYPE, _priority: MM_PAGE_PRIORITY) -> Result<usize, NtStatus> {
    with_state(|state| {
        if irql_above(state, "MmMapLockedPagesSpecifyCache(UserMode)", 1) {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let Some(pages) = state.mdl_pages.pages_of(mdl as usize) else {
            let message =
                "MmMapLockedPagesSpecifyCache in user mode of an MDL not of MmAllocatePagesForMdlEx is not modelled";
            refuse(state, MDL_NOT_MODELLED, [mdl as u64, 0, 0], message.into());
            return Err(NtStatus::INVALID_PARAMETER);
        };
        let valid_cache =
            (_MEMORY_CACHING_TYPE::MmNonCached.._MEMORY_CACHING_TYPE::MmMaximumCacheType).contains(&cache);
        // SAFETY: a valid MDL (contract).
        let len = unsafe { (*mdl).ByteCount } as usize;
        if !valid_cache {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        if state.faults.should_fail("MmMapLockedPagesSpecifyCache", None, len) {
            return Err(NtStatus::INSUFFICIENT_RESOURCES);
        }
        state.mdl.map_user(mdl as usize, pages, len, process::current()).ok_or_else(|| {
            let message = "a second user-mode mapping of one MDL in one process is not modelled";
            refuse(state, MDL_NOT_MODELLED, [mdl as u64, 0, 0], message.into());
            NtStatus::INVALID_PARAMETER
        })
    })
}

/// The model's SEH shim (`src/sys/seh/probe.c` on Windows):
/// `MmMapLockedPagesSpecifyCache(UserMode)` inside `__try/__except`, the
/// user address in `*base` or the code it raised (see `map_user`).
///
/// # Safety
/// As `MmMapLockedPagesSpecifyCache`; `base` is writable.
pub unsafe fn map_locked_pages_user(
    mdl: PMDL,
    cache: MEMORY_CACHING_TYPE,
    priority: ULONG,
    base: *mut PVOID,
) -> NTSTATUS {
    // SAFETY: per the contract.
    let (mapped, status) = match unsafe { map_user(mdl, cache, priority as MM_PAGE_PRIORITY) } {
        Ok(mapped) => (mapped, NtStatus::SUCCESS),
        Err(code) => (0, code),
    };
    // SAFETY: writable (contract).
    unsafe { base.write(mapped as PVOID) };
    status.to_raw()
}

/// `MmUnmapLockedPages` of a user-space mapping, in its process at IRQL
/// `<= APC_LEVEL`: elsewhere 0xC4/[`MDL_USER_UNMAP_WRONG_PROCESS`] or the
/// DDI violation, and the mapping stays. True if `base` is one.
fn unmap_user(state: &mut State, base: usize, mdl: usize) -> bool {
    let owners = state.mdl.user_mapping_processes(base, mdl);
    let Some(&owner) = owners.first() else { return false };
    if irql_above(state, "MmUnmapLockedPages of a user-space mapping", 1) {
        return true;
    }
    let current = process::current();
    if !owners.contains(&current) {
        state.violations.push(violation(
            MDL_USER_UNMAP_WRONG_PROCESS,
            [base as u64, owner, current],
            format!("MmUnmapLockedPages({base:#x}) in process {current:#x}: mapped into process {owner:#x}"),
        ));
        return true;
    }
    state.mdl.unmap_user(base, current);
    true
}

/// `MmUnmapLockedPages` of a system mapping: above DISPATCH_LEVEL 0xC4/0x79;
/// an address that is not a mapping of this MDL 0xC4/[`MDL_BAD_UNMAP`]. A
/// user-space mapping: see `unmap_user`.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn MmUnmapLockedPages(base_address: PVOID, mdl: PMDL) {
    with_state(|state| {
        let current = irql::get();
        let (base, address) = (base_address as usize, mdl as usize);
        if unmap_user(state, base, address) {
            return;
        }
        if current > 2 {
            let message = format!("MmUnmapLockedPages at IRQL {current}");
            refuse(state, 0x79, [u64::from(current), base as u64, address as u64], message);
            return;
        }
        if !state.mdl.unmap_system(base, address) {
            let message = format!("MmUnmapLockedPages({base:#x}): not a system mapping of MDL {address:#x}");
            state.violations.push(violation(MDL_BAD_UNMAP, [base as u64, address as u64, 0], message));
            return;
        }
        // SAFETY: per the contract.
        unsafe {
            (*mdl).MappedSystemVa = core::ptr::null_mut();
            set_flags(mdl, 0, MDL_MAPPED_TO_SYSTEM_VA);
        }
    });
}

/// `MmIsAddressValid`: whether touching `address` now would not fault. The
/// first 64 KiB, freed or no-access user buffers and freed non-cached or
/// contiguous memory are invalid; other user buffers, system and
/// I/O-space mappings are valid; any other address is valid when the host
/// has its page mapped. FALSE above DISPATCH_LEVEL (with a violation).
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn MmIsAddressValid(address: PVOID) -> BOOLEAN {
    with_state(|state| {
        if irql_above(state, "MmIsAddressValid", 2) {
            return 0;
        }
        let address = address as usize;
        let valid = !state.memory.is_freed(address)
            && (state.mdl.is_user_accessible(address)
                || state.mdl.is_system_mapped(address)
                || state.io_space.target(address, 1).is_some()
                || matches!(state.mdl.access(process::current(), address, 1, false, false), Access::Valid));
        BOOLEAN::from(valid)
    })
}

/// The model's `check_mapped_write` (a no-op on real kernels): a write
/// through a read-only system mapping (`MdlMappingNoWrite`) is what Windows
/// stops with 0xBE ATTEMPTED_WRITE_TO_READONLY_MEMORY (parameter 1: the
/// address, parameter 2: 1 for a write); the model records it and answers
/// false, so that the copy is not made (it would fault the test process).
pub fn check_mapped_write(address: *const u8, len: usize) -> bool {
    with_state(|state| {
        let Some(mdl) = state.mdl.read_only_mapping(address as usize, len) else { return true };
        state.violation(
            BugCheck::ATTEMPTED_WRITE_TO_READONLY_MEMORY,
            [address as u64, 1, 0, 0],
            format!(
                "write of {len} bytes at {:#x} through a read-only system mapping of MDL {mdl:#x}",
                address as usize
            ),
        );
        false
    })
}
