//! [`OwningProcess`]: the process a user view belongs to, referenced.

use core::ptr::NonNull;

use crate::{Irql, NtResult, NtStatus, sys};

/// A referenced `PEPROCESS`: the process context a user view was mapped in.
///
/// Holding the reference keeps the process object (not its address space)
/// alive, so that its address cannot be reused by a new process while the
/// view is compared against the current one.
///
/// # Invariants
/// `process` is a `PEPROCESS` this value holds one reference to
/// (`ObfReferenceObject`), released exactly once, in `Drop`.
#[derive(Debug)]
pub(crate) struct OwningProcess {
    process: NonNull<core::ffi::c_void>,
}

// SAFETY: a referenced object pointer is valid in every thread and process
// context; the value only compares it and releases it.
unsafe impl Send for OwningProcess {}
// SAFETY: `&OwningProcess` only compares the pointer.
unsafe impl Sync for OwningProcess {}

impl OwningProcess {
    /// The current process, referenced. IRQL `<= DISPATCH_LEVEL`.
    pub(crate) fn current() -> NtResult<OwningProcess> {
        // SAFETY: IoGetCurrentProcess has no precondition.
        let process = NonNull::new(unsafe { sys::IoGetCurrentProcess() }).ok_or(NtStatus::UNSUCCESSFUL)?;
        // SAFETY: the current process is a live object; the reference is
        // released in Drop.
        unsafe { sys::ObfReferenceObject(process.as_ptr()) };
        Ok(OwningProcess { process })
    }

    /// Whether the current thread runs in this process's context: a
    /// pointer comparison (`IoGetCurrentProcess` reads the thread's
    /// `ApcState.Process`; no lock, no shared cache line written).
    pub(crate) fn is_current(&self) -> bool {
        // SAFETY: IoGetCurrentProcess has no precondition.
        unsafe { sys::IoGetCurrentProcess() == self.process.as_ptr() }
    }

    /// [`NtStatus::NOT_MAPPED_VIEW`] unless the current thread runs in this
    /// process.
    pub(super) fn ensure_current(&self) -> NtResult<()> {
        if self.is_current() { Ok(()) } else { Err(NtStatus::NOT_MAPPED_VIEW) }
    }
}

impl Drop for OwningProcess {
    fn drop(&mut self) {
        // Above DISPATCH_LEVEL the reference is leaked (releasing it there
        // would bug-check); the model's verifier reports it.
        if Irql::ensure_at_most(Irql::DISPATCH).is_ok() {
            // SAFETY: the reference this value holds (invariant), released once.
            unsafe { sys::ObfDereferenceObject(self.process.as_ptr()) };
        }
    }
}
