//! `MmSecureVirtualMemory` and `MmUnsecureVirtualMemory` (found by
//! `MmGetSystemRoutineAddress`, as on Windows the crate resolves them), over
//! the model's processes; and the stand-in for Wine's
//! `wine_ntoskrnl_main_loop` (`Kernel::act_as_wine`).

use super::{
    super::{kernel::with_state, process},
    irql_above,
};
use crate::sys::{
    HANDLE, PAGE_READONLY, PAGE_READWRITE, PFN_MM_SECURE_VIRTUAL_MEMORY, PFN_MM_UNSECURE_VIRTUAL_MEMORY, PVOID, SIZE_T,
    ULONG,
};

/// `MmSecureVirtualMemory`: a handle for `size` bytes at `address` of the
/// current process, if every page is accessible now as `probe_mode`
/// (`PAGE_READONLY` or `PAGE_READWRITE`) asks; NULL otherwise, for another
/// mode, 0 bytes, or (with the DDI violation) above APC_LEVEL.
unsafe extern "system" fn mm_secure_virtual_memory(address: PVOID, size: SIZE_T, probe_mode: ULONG) -> HANDLE {
    with_state(|state| {
        if irql_above(state, "MmSecureVirtualMemory", 1) {
            return core::ptr::null_mut();
        }
        let write = match probe_mode {
            PAGE_READWRITE => true,
            PAGE_READONLY => false,
            _ => return core::ptr::null_mut(),
        };
        let (process, len) = (process::current(), size as usize);
        if len == 0 || process::check_user_access(state, process, address as usize, len, write).is_err() {
            return core::ptr::null_mut();
        }
        state.secure.secure(process, len) as HANDLE
    })
}

/// `MmUnsecureVirtualMemory`: releases a handle in the process it was made
/// in; the model's violations for another process or a handle not held.
/// Above APC_LEVEL the DDI violation (nothing released).
unsafe extern "system" fn mm_unsecure_virtual_memory(handle: HANDLE) {
    with_state(|state| {
        if irql_above(state, "MmUnsecureVirtualMemory", 1) {
            return;
        }
        if let Some(violation) = state.secure.unsecure(handle as usize, process::current()) {
            state.violations.push(violation);
        }
    });
}

/// What `MmGetSystemRoutineAddress` finds of this file.
pub(super) fn secure_export(name: &str) -> Option<usize> {
    match name {
        "MmSecureVirtualMemory" => Some(mm_secure_virtual_memory as PFN_MM_SECURE_VIRTUAL_MEMORY as usize),
        "MmUnsecureVirtualMemory" => Some(mm_unsecure_virtual_memory as PFN_MM_UNSECURE_VIRTUAL_MEMORY as usize),
        _ => None,
    }
}

/// The address the model gives for `wine_ntoskrnl_main_loop`: never called.
pub(super) fn wine_main_loop() {}
