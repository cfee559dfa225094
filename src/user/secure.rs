//! [`SecuredUserSlice`]: a [`UserSlice`] whose range is secured
//! (`MmSecureVirtualMemory`) for as long as the driver keeps using it.

use core::{ffi::c_void, ops::Deref, ptr::NonNull};

use super::UserSlice;
use crate::{Irql, NtResult, NtStatus, sys};

/// What a secure guarantees of the range: `PAGE_READONLY` (it stays
/// readable) or `PAGE_READWRITE` (it stays writable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecureAccess {
    /// `PAGE_READONLY`: the process cannot free the range or make it
    /// inaccessible.
    ReadOnly,
    /// `PAGE_READWRITE`: nor make it read-only.
    ReadWrite,
}

/// A [`UserSlice`] secured with `MmSecureVirtualMemory`: while it lives the
/// process can neither free the range nor change its protection to one that
/// forbids the [`SecureAccess`] asked for, so the driver's copies do not
/// fail for those reasons. They still run under SEH (the guard derefs to
/// the slice, whose copies are the only access): a secure is not a lock —
/// pages may be paged out and in, and the kernel's own guarantees are no
/// reason to hand out a reference into user memory.
///
/// Drop releases the secure (`MmUnsecureVirtualMemory`) in the process it
/// was made in. Outside that process (or above APC_LEVEL) the handle is
/// left to the process's exit, where Windows drops it with the address
/// space; the kernel model reports it. [`release`](Self::release) releases
/// it and gives the slice back, or says why it could not.
///
/// ```
/// # let kernel = wdm_mem::model::Kernel::new();
/// use wdm_mem::user::{SecureAccess, UserSlice};
///
/// let buffer = kernel.user_buffer(64);       // the requester's memory
/// let slice = UserSlice::new(buffer.address, 64, 1)?.secure(SecureAccess::ReadWrite)?;
/// slice.write(0, &0x1234_u32)?;              // copies through the guard, under SEH
/// assert_eq!(slice.read::<u32>(0)?, 0x1234);
/// let slice = slice.release().map_err(|(_, status)| status)?; // MmUnsecureVirtualMemory
/// # drop(slice);
/// # kernel.assert_clean();
/// # Ok::<(), wdm_mem::NtStatus>(())
/// ```
///
/// Not `Clone` (it owns the handle):
///
/// ```compile_fail,E0599
/// fn twice(slice: wdm_mem::user::SecuredUserSlice) {
///     let copy = slice.clone();
/// }
/// ```
///
/// # Where it runs
/// Windows; the kernel model (with the verifier's checks). Wine 8 exports
/// stubs of both routines, which secure nothing: under Wine
/// [`UserSlice::secure`] answers [`NtStatus::NOT_SUPPORTED`].
///
/// # Invariants
/// `handle` is what `MmSecureVirtualMemory` returned for the slice's range
/// in the slice's process, released at most once (by `release` or `Drop`)
/// with `unsecure`, the kernel's `MmUnsecureVirtualMemory`.
#[derive(Debug)]
pub struct SecuredUserSlice {
    slice: UserSlice,
    handle: NonNull<c_void>,
    unsecure: sys::PFN_MM_UNSECURE_VIRTUAL_MEMORY,
}

// SAFETY: the handle is an opaque kernel value, valid from any thread; the
// slice is Send and Sync.
unsafe impl Send for SecuredUserSlice {}
// SAFETY: `&SecuredUserSlice` only copies through the slice.
unsafe impl Sync for SecuredUserSlice {}

/// The two routines, unless the kernel is Wine's (whose stubs secure
/// nothing) or lacks them. Wine is looked for first, at the same
/// PASSIVE_LEVEL call that resolves the routines, so a resolved routine is
/// never Wine's.
fn routines() -> NtResult<(sys::PFN_MM_SECURE_VIRTUAL_MEMORY, sys::PFN_MM_UNSECURE_VIRTUAL_MEMORY)> {
    let at_passive = Irql::current() == Irql::PASSIVE;
    if sys::WINE_KERNEL.address(at_passive).is_some() {
        return Err(NtStatus::NOT_SUPPORTED);
    }
    let secure = sys::MM_SECURE_VIRTUAL_MEMORY.address(at_passive).ok_or(NtStatus::PROCEDURE_NOT_FOUND)?;
    let unsecure = sys::MM_UNSECURE_VIRTUAL_MEMORY.address(at_passive).ok_or(NtStatus::PROCEDURE_NOT_FOUND)?;
    // SAFETY: the kernel exports these names with these types (ntddk.h).
    Ok(unsafe {
        (
            core::mem::transmute::<usize, sys::PFN_MM_SECURE_VIRTUAL_MEMORY>(secure),
            core::mem::transmute::<usize, sys::PFN_MM_UNSECURE_VIRTUAL_MEMORY>(unsecure),
        )
    })
}

impl UserSlice {
    /// Secures the slice's range for `access` (`MmSecureVirtualMemory`), for
    /// a range the driver keeps using after this request.
    ///
    /// Errors: [`NtStatus::INVALID_LEVEL`] above APC_LEVEL;
    /// [`NtStatus::INVALID_PARAMETER`] for an empty slice;
    /// [`NtStatus::ACCESS_VIOLATION`] outside the slice's process, or when
    /// the kernel returns NULL (a page of the range is not committed with a
    /// protection that allows `access`); [`NtStatus::NOT_SUPPORTED`] under
    /// Wine; [`NtStatus::PROCEDURE_NOT_FOUND`] when the kernel lacks the
    /// routines (or, above PASSIVE_LEVEL, before a first call at
    /// PASSIVE_LEVEL looked them up). The slice is dropped on error: it is
    /// only an address, a length and a process reference.
    ///
    /// # IRQL
    /// `<= APC_LEVEL`, in the slice's process.
    pub fn secure(self, access: SecureAccess) -> NtResult<SecuredUserSlice> {
        Irql::ensure_at_most(Irql::APC)?;
        if self.is_empty() {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        if !self.process.is_current() {
            return Err(NtStatus::ACCESS_VIOLATION);
        }
        let (secure, unsecure) = routines()?;
        let mode = match access {
            SecureAccess::ReadOnly => sys::PAGE_READONLY,
            SecureAccess::ReadWrite => sys::PAGE_READWRITE,
        };
        // SAFETY: a user range of the current process (invariant of the
        // slice, process checked), at <= APC_LEVEL; the routine checks the
        // range itself and answers NULL for a bad one.
        let handle = unsafe { secure(self.address as sys::PVOID, self.len as sys::SIZE_T, mode) };
        let handle = NonNull::new(handle).ok_or(NtStatus::ACCESS_VIOLATION)?;
        // INVARIANT: the handle just returned for this range, in its process.
        Ok(SecuredUserSlice { slice: self, handle, unsecure })
    }
}

impl SecuredUserSlice {
    /// Releases the secure (`MmUnsecureVirtualMemory`) and gives the slice
    /// back. Errors, with the guard given back unreleased:
    /// [`NtStatus::INVALID_LEVEL`] above APC_LEVEL,
    /// [`NtStatus::ACCESS_VIOLATION`] outside the slice's process.
    ///
    /// # IRQL
    /// `<= APC_LEVEL`, in the slice's process.
    pub fn release(self) -> Result<UserSlice, (SecuredUserSlice, NtStatus)> {
        if let Err(status) = self.check_release() {
            return Err((self, status));
        }
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: the handle this value holds, in its process at <= APC_LEVEL
        // (checked), released once: `this` is never dropped.
        unsafe { (this.unsecure)(this.handle.as_ptr()) };
        // SAFETY: `this` is not used again; the slice moves out once.
        Ok(unsafe { core::ptr::read(&this.slice) })
    }

    fn check_release(&self) -> NtResult<()> {
        Irql::ensure_at_most(Irql::APC)?;
        if self.slice.process.is_current() { Ok(()) } else { Err(NtStatus::ACCESS_VIOLATION) }
    }
}

impl Deref for SecuredUserSlice {
    type Target = UserSlice;

    fn deref(&self) -> &UserSlice {
        &self.slice
    }
}

impl Drop for SecuredUserSlice {
    /// `MmUnsecureVirtualMemory` in the slice's process at <= APC_LEVEL;
    /// elsewhere the handle is left to the process's exit (the model
    /// reports it).
    fn drop(&mut self) {
        if self.check_release().is_ok() {
            // SAFETY: the handle this value holds, in its process at <=
            // APC_LEVEL (checked), released once, here.
            unsafe { (self.unsecure)(self.handle.as_ptr()) };
        }
    }
}
