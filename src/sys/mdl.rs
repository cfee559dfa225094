//! MDLs: the macros of `wdm.h` that no binding has
//! (`MmGetSystemAddressForMdlSafe`, `MmPrepareMdlForReuse`,
//! `MmGetMdlVirtualAddress`, `MmGetMdlPfnArray`,
//! `ADDRESS_AND_SIZE_TO_SPAN_PAGES`), the constants mingw-w64 lacks, and
//! [`probe_and_lock_pages`]: `MmProbeAndLockPages` under SEH.
//!
//! `MmProbeAndLockPages` reports a bad address by raising an exception
//! (`STATUS_ACCESS_VIOLATION`, ...), which Rust cannot catch. On Windows
//! targets [`probe_and_lock_pages`] is a C function (`src/sys/seh/probe.c`,
//! compiled by `build.rs`) that calls the kernel inside
//! `__try/__except(EXCEPTION_EXECUTE_HANDLER)` and returns the exception code
//! as an `NTSTATUS` (always an error status: a code of another severity
//! becomes one); the kernel model has a Rust function with the same
//! contract, returning the code its `MmProbeAndLockPages` would raise.

use core::ptr::null_mut;

use super::{
    _MEMORY_CACHING_TYPE, _MODE, KPROCESSOR_MODE, MDL_MAPPED_TO_SYSTEM_VA, MDL_PARTIAL, MDL_SOURCE_IS_NONPAGED_POOL,
    MM_PAGE_PRIORITY, MmMapLockedPagesSpecifyCache, MmUnmapLockedPages, PAGE_SIZE, PMDL, PVOID, RuntimeRoutine, ULONG,
    ULONG_PTR, utf16,
};
#[cfg(not(wdm_provider = "model"))]
use super::{LOCK_OPERATION, NTSTATUS};

/// `PFN_NUMBER`: a page frame number, the entries of an MDL's PFN array.
pub type PFN_NUMBER = ULONG_PTR;

/// `MdlMappingNoWrite`: OR'ed into the priority of a system mapping, maps the
/// pages read-only (Windows 8 and later).
pub const MdlMappingNoWrite: ULONG = 0x8000_0000;
/// `MdlMappingNoExecute`: OR'ed into the priority of a system mapping, maps
/// the pages no-execute (Windows 8 and later).
pub const MdlMappingNoExecute: ULONG = 0x4000_0000;
/// `MDL_PARTIAL_HAS_BEEN_MAPPED`: a partial MDL (`IoBuildPartialMdl`) whose
/// pages have been mapped.
pub const MDL_PARTIAL_HAS_BEEN_MAPPED: ULONG = 0x0020;
/// `MDL_WRITE_OPERATION`: the pages were locked for `IoWriteAccess` or
/// `IoModifyAccess`.
pub const MDL_WRITE_OPERATION: ULONG = 0x0080;
/// `MM_LOWEST_USER_ADDRESS`: the first 64 KiB are never mapped.
pub const MM_LOWEST_USER_ADDRESS: usize = 0x1_0000;
/// `MM_USER_PROBE_ADDRESS` with a 4-level-paging x64 kernel's
/// `MmUserProbeAddress`: the end of the user address space (128 TiB minus
/// 64 KiB). The fallback of [`user_probe_address`]; never above the real
/// value (a 5-level-paging kernel's is higher), so a check against it only
/// refuses more.
pub const MM_USER_PROBE_ADDRESS: usize = 0x7FFF_FFFF_0000;
/// The largest buffer `IoAllocateMdl` describes on Windows 7 and later:
/// 4 GiB minus one page.
pub const MDL_MAX_BYTE_COUNT: usize = u32::MAX as usize + 1 - PAGE_SIZE as usize;

static MM_USER_PROBE_ADDRESS_NAME: [u16; 18] = utf16(b"MmUserProbeAddress");
/// The ntoskrnl *variable* `MmUserProbeAddress` (a `ULONG_PTR` data export,
/// which `wdm.h`'s `MM_USER_PROBE_ADDRESS` reads), looked up by name like
/// the routines: Wine 8 exports the name as a stub *function* (`@ stub`),
/// whose code bytes are no value.
pub static MM_USER_PROBE_ADDRESS_VARIABLE: RuntimeRoutine = RuntimeRoutine::new(&MM_USER_PROBE_ADDRESS_NAME);

/// `MM_USER_PROBE_ADDRESS` as `wdm.h` defines it: the kernel's
/// `MmUserProbeAddress`, the first address past the user space a user-mode
/// probe accepts. Looked up at PASSIVE_LEVEL (`at_passive`), then cached.
/// [`MM_USER_PROBE_ADDRESS`] when the kernel does not export it, before the
/// first lookup, and when the value read is no x64 user-space end (not a
/// multiple of 64 KiB, or above 2^56, the end of 5-level paging's user
/// space): Wine 8's export is a stub function, whose first bytes
/// (`sub rsp, 0x28`) never are.
pub fn user_probe_address(at_passive: bool) -> usize {
    let Some(variable) = MM_USER_PROBE_ADDRESS_VARIABLE.address(at_passive) else { return MM_USER_PROBE_ADDRESS };
    // SAFETY: the address of an ntoskrnl export named MmUserProbeAddress: the
    // ULONG_PTR variable on Windows (and in the kernel model), a stub's code
    // under Wine; both are readable, resident image memory. Read unaligned:
    // a stub need not be 8-aligned.
    let value = unsafe { (variable as *const usize).read_unaligned() };
    let plausible = value % 0x1_0000 == 0 && value > MM_LOWEST_USER_ADDRESS && value as u64 <= 1 << 56;
    if plausible { value } else { MM_USER_PROBE_ADDRESS }
}

/// `ADDRESS_AND_SIZE_TO_SPAN_PAGES`: the pages `size` bytes at `va` touch.
/// (`wdm.h`'s macro wraps for a `size` near `usize::MAX`; this saturates: a
/// caller then gets more pages than any MDL has, never fewer.)
pub const fn ADDRESS_AND_SIZE_TO_SPAN_PAGES(va: usize, size: usize) -> usize {
    let page = PAGE_SIZE as usize;
    (va & (page - 1)).saturating_add(size).div_ceil(page)
}

/// Whether the driver may write `len` bytes at `address` of a system
/// mapping through the crate's copying accessors. Always true on a real
/// kernel (compiles to nothing: a write to a read-only mapping faults
/// there, bug check 0xBE); the kernel model reports such a write as 0xBE
/// and answers false, so that the copy is skipped instead of faulting the
/// test process.
#[cfg(not(wdm_provider = "model"))]
#[inline(always)]
pub fn check_mapped_write(_address: *const u8, _len: usize) -> bool {
    true
}

/// The MDL's flags (`MdlFlags`, a `CSHORT`) as bits.
///
/// # Safety
/// `mdl` points to a valid MDL.
pub unsafe fn mdl_flags(mdl: PMDL) -> ULONG {
    // SAFETY: per the contract.
    ULONG::from(unsafe { (*mdl).MdlFlags } as u16)
}

/// `MmGetMdlVirtualAddress`: `StartVa + ByteOffset`.
///
/// # Safety
/// `mdl` points to a valid MDL.
pub unsafe fn MmGetMdlVirtualAddress(mdl: PMDL) -> PVOID {
    // SAFETY: per the contract; an address computation only.
    unsafe { (*mdl).StartVa.cast::<u8>().wrapping_add((*mdl).ByteOffset as usize).cast() }
}

/// `MmGetMdlPfnArray`: the PFN array that follows the MDL header.
///
/// # Safety
/// `mdl` points to an MDL allocated with room for its PFN array
/// (`IoAllocateMdl` does it).
pub unsafe fn MmGetMdlPfnArray(mdl: PMDL) -> *mut PFN_NUMBER {
    // SAFETY: per the contract, the array starts right after the header.
    unsafe { mdl.add(1).cast() }
}

/// `MmGetSystemAddressForMdlSafe`: the MDL's existing system address when it
/// is mapped or describes non-paged pool, else
/// `MmMapLockedPagesSpecifyCache(mdl, KernelMode, MmCached, NULL, FALSE,
/// priority)`. NULL when that fails. `priority` is an `MM_PAGE_PRIORITY`,
/// possibly OR'ed with [`MdlMappingNoWrite`] and [`MdlMappingNoExecute`].
///
/// # Safety
/// `mdl` describes locked pages (probed and locked, built for non-paged
/// pool, or partial of such an MDL); the IRQL is at most DISPATCH_LEVEL.
pub unsafe fn MmGetSystemAddressForMdlSafe(mdl: PMDL, priority: ULONG) -> PVOID {
    // SAFETY: per the contract, `mdl` is valid.
    if unsafe { mdl_flags(mdl) } & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL) != 0 {
        // SAFETY: as above.
        return unsafe { (*mdl).MappedSystemVa };
    }
    // SAFETY: the caller's contract is the routine's; BugCheckOnFailure is
    // FALSE, so a failure is a NULL, not a bug check.
    unsafe {
        MmMapLockedPagesSpecifyCache(
            mdl,
            _MODE::KernelMode as KPROCESSOR_MODE,
            _MEMORY_CACHING_TYPE::MmCached,
            null_mut(),
            0,
            priority as MM_PAGE_PRIORITY,
        )
    }
}

/// `MmPrepareMdlForReuse`: unmaps the system mapping of a partial MDL whose
/// pages were mapped; for a full MDL it only checks (`ASSERT`, here
/// `debug_assert!`) that no system mapping is left.
///
/// # Safety
/// `mdl` points to a valid MDL, at IRQL <= DISPATCH_LEVEL.
pub unsafe fn MmPrepareMdlForReuse(mdl: PMDL) {
    // SAFETY: per the contract.
    let flags = unsafe { mdl_flags(mdl) };
    if flags & MDL_PARTIAL_HAS_BEEN_MAPPED != 0 {
        debug_assert!(flags & MDL_PARTIAL != 0);
        // SAFETY: a mapped partial MDL: MappedSystemVa is its mapping.
        unsafe { MmUnmapLockedPages((*mdl).MappedSystemVa, mdl) };
    } else if flags & MDL_PARTIAL == 0 {
        debug_assert!(flags & MDL_MAPPED_TO_SYSTEM_VA == 0, "MmPrepareMdlForReuse of a mapped MDL");
    }
}

#[cfg(not(wdm_provider = "model"))]
unsafe extern "C" {
    /// `src/sys/seh/probe.c`.
    fn wdm_mem_probe_and_lock_pages(mdl: PMDL, mode: KPROCESSOR_MODE, operation: LOCK_OPERATION) -> NTSTATUS;
}

/// `MmProbeAndLockPages(mdl, mode, operation)` inside
/// `__try/__except(EXCEPTION_EXECUTE_HANDLER)`: `STATUS_SUCCESS` when the
/// pages are locked, else the code of the exception the kernel raised
/// (`STATUS_ACCESS_VIOLATION` for a bad address) and nothing is locked.
///
/// # Safety
/// `mdl` is a valid, unlocked MDL not built for non-paged pool; the IRQL is
/// at most APC_LEVEL (DISPATCH_LEVEL for non-pageable memory).
#[cfg(not(wdm_provider = "model"))]
pub unsafe fn probe_and_lock_pages(mdl: PMDL, mode: KPROCESSOR_MODE, operation: LOCK_OPERATION) -> NTSTATUS {
    // SAFETY: the caller's contract is the shim's, which is the routine's
    // minus the exception.
    unsafe { wdm_mem_probe_and_lock_pages(mdl, mode, operation) }
}
