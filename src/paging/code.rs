//! Pageable code: functions in the driver's `PAGE` code section, declared
//! with [`pageable_fn!`](crate::pageable_fn), callable only with a
//! [`PageCodeGuard`], which holds the section locked
//! (`MmLockPagableCodeSection`, a `wdm.h` macro for
//! `MmLockPagableDataSection`): the code is resident for every call, at any
//! IRQL.

use core::{
    ffi::c_void,
    ptr::{NonNull, null_mut},
    sync::atomic::{AtomicPtr, Ordering},
};

use crate::{Irql, NtResult, NtStatus, sys};

/// A function of the `PAGE` section that only locks it: the address
/// `MmLockPagableCodeSection` is given. Kept by `PAGE_CODE`'s reference.
#[cfg_attr(target_os = "windows", unsafe(link_section = "PAGE"))]
#[inline(never)]
fn page_code_anchor() {
    // Not empty, so that no two functions are folded into one address.
    core::hint::black_box(());
}

/// The section's handle, cached after the first lock.
static HANDLE: AtomicPtr<c_void> = AtomicPtr::new(null_mut());

fn anchor() -> sys::PVOID {
    page_code_anchor as fn() as usize as sys::PVOID
}

/// One lock of the driver's `PAGE` code section: while it lives the
/// functions of [`pageable_fn!`](crate::pageable_fn) are resident and may
/// be called at any IRQL; they cannot be called without it. Not `Clone`;
/// unlocks once, on drop.
///
/// # Invariants
/// `handle` is the section's handle, on which this guard holds one lock.
#[derive(Debug)]
pub struct PageCodeGuard {
    handle: NonNull<c_void>,
}

/// Locks the `PAGE` code section: `MmLockPagableCodeSection` the first
/// time (an expensive look-up), `MmLockPagableSectionByHandle` after.
///
/// Errors: [`NtStatus::INVALID_LEVEL`] above APC_LEVEL,
/// [`NtStatus::UNSUCCESSFUL`] if the kernel returns no handle.
///
/// Under Wine `MmLockPagableDataSection` aborts the driver's process (as
/// for pageable data): a driver meant to run there does not call this.
///
/// # IRQL
/// `<= APC_LEVEL`.
pub fn lock_page_code() -> NtResult<PageCodeGuard> {
    Irql::ensure_at_most(Irql::APC)?;
    if let Some(handle) = NonNull::new(HANDLE.load(Ordering::Acquire)) {
        // SAFETY: a handle MmLockPagableDataSection returned, valid whatever
        // the count (seed 001); the IRQL is checked when `Irql::CHECKED`, else
        // the caller's `# IRQL` contract, whose breach is a bug check
        // (`crate::irql`).
        unsafe { sys::MmLockPagableSectionByHandle(handle.as_ptr()) };
        // INVARIANT: one lock taken just above.
        return Ok(PageCodeGuard { handle });
    }
    sys::note_pageable_static("PAGE", anchor(), 1);
    // SAFETY: the anchor lies in this image's PAGE section; the IRQL as
    // just above.
    let handle = unsafe { sys::MmLockPagableDataSection(anchor()) };
    let handle = NonNull::new(handle).ok_or(NtStatus::UNSUCCESSFUL)?;
    // Two first locks may race: both hold their own lock on the one handle.
    let _ = HANDLE.compare_exchange(null_mut(), handle.as_ptr(), Ordering::Release, Ordering::Relaxed);
    // INVARIANT: one lock taken just above.
    Ok(PageCodeGuard { handle })
}

impl PageCodeGuard {
    /// Called at the top of every `pageable_fn!`: tells the kernel model
    /// that `PAGE` code runs (no-op on real kernels).
    ///
    /// # IRQL
    /// Any.
    #[doc(hidden)]
    #[inline(always)]
    pub fn __note_call(&self) {
        sys::note_pageable_access(anchor(), 1, false);
    }
}

impl Drop for PageCodeGuard {
    /// `MmUnlockPagableImageSection`; above APC_LEVEL the lock is leaked
    /// (the section stays resident; the model reports it at unload).
    fn drop(&mut self) {
        if Irql::ensure_at_most(Irql::APC).is_ok() {
            // SAFETY: this guard holds one lock on `handle` (invariant); the
            // IRQL is at most APC_LEVEL when `Irql::CHECKED` (unchecked, a
            // drop above is the kernel's bug check: `crate::irql`).
            unsafe { sys::MmUnlockPagableImageSection(self.handle.as_ptr()) };
        }
    }
}

/// Declares functions placed in the driver's `PAGE` code section, each of
/// which takes a [`&PageCodeGuard`](crate::paging::PageCodeGuard) as its
/// first parameter: a call needs the section locked, so it is sound at any
/// IRQL. The function is never inlined (its code stays in `PAGE`, its
/// callers in `.text`; LLVM may still compute a call with constant
/// arguments at compile time and drop the function); what it calls that is not inlined into it (`core`,
/// `compiler_builtins`, generics, closures) stays in `.text`, resident.
///
/// ```
/// # let kernel = wdm_mem::model::Kernel::new();
/// use wdm_mem::{pageable_fn, paging::{lock_page_code, PageCodeGuard}, Irql};
///
/// pageable_fn! {
///     /// Rarely needed, at predictable times.
///     pub fn checksum(code: &PageCodeGuard, bytes: &[u8]) -> u32 {
///         bytes.iter().map(|&b| u32::from(b)).sum()
///     }
/// }
///
/// let code = lock_page_code()?;                                  // <= APC_LEVEL
/// let sum = Irql::run_raised(Irql::DISPATCH, || checksum(&code, b"abc"))?; // resident: fine
/// assert_eq!(sum, 294);
/// drop(code);                                                    // unlocked
/// # kernel.assert_clean();
/// # Ok::<(), wdm_mem::NtStatus>(())
/// ```
///
/// Without the guard there is no call:
///
/// ```compile_fail,E0061
/// # use wdm_mem::{pageable_fn, paging::PageCodeGuard};
/// pageable_fn! { fn twice(code: &PageCodeGuard, x: u32) -> u32 { x * 2 } }
/// let four = twice(2);
/// ```
///
/// nor with a guard of another type of that name:
///
/// ```compile_fail,E0308
/// # use wdm_mem::pageable_fn;
/// struct PageCodeGuard;
/// pageable_fn! { fn one(code: &PageCodeGuard) -> u32 { 1 } }
/// ```
#[macro_export]
macro_rules! pageable_fn {
    ($(
        $(#[$attr:meta])*
        $vis:vis fn $name:ident($guard:ident: &PageCodeGuard $(, $arg:ident: $ty:ty)* $(,)?) $(-> $ret:ty)? $body:block
    )*) => {$(
        $(#[$attr])*
        #[inline(never)]
        #[cfg_attr(target_os = "windows", unsafe(link_section = "PAGE"))]
        $vis fn $name($guard: &PageCodeGuard $(, $arg: $ty)*) $(-> $ret)? {
            // The caller's `PageCodeGuard` must be this crate's.
            let $guard: &$crate::paging::PageCodeGuard = $guard;
            $guard.__note_call();
            $body
        }
    )*};
}
