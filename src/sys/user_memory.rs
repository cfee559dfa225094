//! Routines over a process's user memory besides the copies
//! (`user_copy.rs`): `MmSecureVirtualMemory` / `MmUnsecureVirtualMemory`,
//! resolved at run time (Wine 8 exports stubs of them: the crate recognises
//! Wine and does not call them), and `MmMapLockedPagesSpecifyCache` in
//! `UserMode` under SEH ([`map_locked_pages_user`]), which raises on
//! failure.

use super::{HANDLE, PVOID, RuntimeRoutine, SIZE_T, ULONG, utf16};
#[cfg(not(wdm_provider = "model"))]
use super::{MEMORY_CACHING_TYPE, NTSTATUS, PMDL};

/// The type of `MmSecureVirtualMemory` (ntddk.h).
pub type PFN_MM_SECURE_VIRTUAL_MEMORY =
    unsafe extern "system" fn(Address: PVOID, Size: SIZE_T, ProbeMode: ULONG) -> HANDLE;
/// The type of `MmUnsecureVirtualMemory` (ntddk.h).
pub type PFN_MM_UNSECURE_VIRTUAL_MEMORY = unsafe extern "system" fn(SecureHandle: HANDLE);

static MM_SECURE_VIRTUAL_MEMORY_NAME: [u16; 21] = utf16(b"MmSecureVirtualMemory");
/// `MmSecureVirtualMemory`, when the running kernel exports it.
pub static MM_SECURE_VIRTUAL_MEMORY: RuntimeRoutine = RuntimeRoutine::new(&MM_SECURE_VIRTUAL_MEMORY_NAME);
static MM_UNSECURE_VIRTUAL_MEMORY_NAME: [u16; 23] = utf16(b"MmUnsecureVirtualMemory");
/// `MmUnsecureVirtualMemory`, when the running kernel exports it.
pub static MM_UNSECURE_VIRTUAL_MEMORY: RuntimeRoutine = RuntimeRoutine::new(&MM_UNSECURE_VIRTUAL_MEMORY_NAME);

#[cfg(not(wdm_provider = "model"))]
unsafe extern "C" {
    /// `src/sys/seh/probe.c`.
    fn wdm_mem_map_locked_pages_user(
        mdl: PMDL,
        cache: MEMORY_CACHING_TYPE,
        priority: ULONG,
        base: *mut PVOID,
    ) -> NTSTATUS;
}

/// `MmMapLockedPagesSpecifyCache(mdl, UserMode, cache, NULL, FALSE,
/// priority)` inside `__try/__except`: maps the MDL's pages into the current
/// process's user space. `STATUS_SUCCESS` with the user address in `*base`,
/// or the (error) code of the exception the routine raised
/// (`STATUS_INSUFFICIENT_RESOURCES` for a NULL without one, Wine's answer),
/// with `*base` NULL.
///
/// # Safety
/// `mdl` is valid, its pages are locked (or are fresh pages of
/// `MmAllocatePagesForMdlEx`) and stay so until the mapping is unmapped
/// (`MmUnmapLockedPages` in the same process); `base` is writable; IRQL
/// `<= APC_LEVEL`.
#[cfg(not(wdm_provider = "model"))]
pub unsafe fn map_locked_pages_user(
    mdl: PMDL,
    cache: MEMORY_CACHING_TYPE,
    priority: ULONG,
    base: *mut PVOID,
) -> NTSTATUS {
    // SAFETY: the caller's contract is the shim's.
    unsafe { wdm_mem_map_locked_pages_user(mdl, cache, priority, base) }
}
