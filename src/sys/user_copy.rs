//! Copies to and from user memory under SEH: [`copy_from_user`],
//! [`copy_to_user`].
//!
//! User memory (a `METHOD_NEITHER` buffer, a section view mapped with
//! `ZwCurrentProcess()`) can be unmapped or reprotected by its process at
//! any moment, and a touch of a page that is gone raises an exception
//! (`STATUS_ACCESS_VIOLATION`), which Rust cannot catch. On Windows targets
//! the copies are C functions (`src/sys/seh/probe.c`, compiled by
//! `build.rs`: one function for both directions) that call `ProbeForRead` or
//! `ProbeForWrite` on the user range and then copy, inside one
//! `__try/__except(EXCEPTION_EXECUTE_HANDLER)`, and return the exception
//! code, made an error status if it was not one; the kernel model has Rust
//! functions with the same contract, which check the simulated process's
//! pages as the probes and the copy would.

#[cfg(not(wdm_provider = "model"))]
use super::{BOOLEAN, NTSTATUS, PVOID, SIZE_T, ULONG};

#[cfg(not(wdm_provider = "model"))]
unsafe extern "C" {
    /// `src/sys/seh/probe.c`: both directions (`to_user`: from `source` to
    /// the user address `destination`; else from the user address `source`).
    fn wdm_mem_copy_user(
        destination: PVOID,
        source: *const core::ffi::c_void,
        length: SIZE_T,
        alignment: ULONG,
        to_user: BOOLEAN,
    ) -> NTSTATUS;
}

/// `ProbeForRead(user, len, 1)` and a copy of `len` bytes from the user
/// address `user` to `dst`, under one SEH frame: `STATUS_SUCCESS`, or the
/// (error) code of the exception the probe or the copy raised, after which a
/// prefix of `dst` may have been written.
///
/// # Safety
/// `dst` is valid for writes of `len` bytes and is not user memory; `user`
/// is meant as an address of the current process's user space (the probe
/// refuses a range that ends above `MmUserProbeAddress`, a fault is caught);
/// IRQL `<= APC_LEVEL`.
#[cfg(not(wdm_provider = "model"))]
pub unsafe fn copy_from_user(dst: *mut u8, user: *const u8, len: usize) -> NTSTATUS {
    // SAFETY: the caller's contract is the shim's.
    unsafe { wdm_mem_copy_user(dst.cast(), user.cast(), len as SIZE_T, 1, 0) }
}

/// `ProbeForWrite(user, len, 1)` and a copy of `len` bytes from `src` to the
/// user address `user`, under one SEH frame; see [`copy_from_user`].
///
/// # Safety
/// `src` is valid for reads of `len` bytes; `user` as in [`copy_from_user`].
#[cfg(not(wdm_provider = "model"))]
pub unsafe fn copy_to_user(user: *mut u8, src: *const u8, len: usize) -> NTSTATUS {
    // SAFETY: the caller's contract is the shim's.
    unsafe { wdm_mem_copy_user(user.cast(), src.cast(), len as SIZE_T, 1, 1) }
}
