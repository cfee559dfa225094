//! [`PageableStatic`] and its guards [`PageableRef`] and [`PageableMut`].

use core::{
    cell::UnsafeCell,
    ffi::c_void,
    fmt,
    ops::{Deref, DerefMut},
    ptr::{NonNull, null_mut},
    sync::atomic::{AtomicPtr, AtomicUsize, Ordering},
};

use crate::{Irql, NtResult, NtStatus, sys};

/// The storage of a [`pageable_static!`](crate::pageable_static): a value
/// placed in a pageable section, with no accessor of its own (only the
/// guards of its [`PageableStatic`] reach it). Only the macro needs to name
/// this type.
#[repr(transparent)]
pub struct PageableCell<T>(UnsafeCell<T>);

// SAFETY: the cell is only reached through its PageableStatic's guards,
// which hand out `&T` to any number of threads or `&mut T` to one, like a
// reader-writer lock: sound for `T: Send + Sync`.
unsafe impl<T: Send + Sync> Sync for PageableCell<T> {}

impl<T> PageableCell<T> {
    /// A cell holding `value`. Evaluated at compile time in a static; a
    /// zero-sized `T` fails to compile (it would have no address inside the
    /// section to lock).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn new(value: T) -> Self {
        assert!(size_of::<T>() != 0, "a pageable static cannot be zero-sized");
        Self(UnsafeCell::new(value))
    }

    fn address(&self) -> sys::PVOID {
        self.0.get().cast()
    }
}

/// No guard / shared guards / the exclusive guard, in [`PageableStatic`]'s
/// `borrows`.
const EXCLUSIVE: usize = usize::MAX;

/// A static in a pageable data section, declared with
/// [`pageable_static!`](crate::pageable_static); its value is reachable only
/// through [`lock`](Self::lock) and [`lock_mut`](Self::lock_mut).
///
/// # Invariants
/// - `data` is a static of the driver image placed in the section named
///   `section`, a `PAGE*` section, and no other `PageableStatic` uses it.
/// - `handle` is null or the handle `MmLockPagableDataSection` returned for
///   `data`'s section (valid for the life of the image, seed 001).
/// - `borrows` counts the live [`PageableRef`]s, or is `EXCLUSIVE` while
///   a [`PageableMut`] lives (a guard being created or dropped may already,
///   or still, be counted); each live guard also holds one lock on the
///   section.
pub struct PageableStatic<T: 'static> {
    data: &'static PageableCell<T>,
    section: &'static str,
    handle: AtomicPtr<c_void>,
    borrows: AtomicUsize,
}

impl<T> PageableStatic<T> {
    /// The pageable static over `data`. Called by
    /// [`pageable_static!`](crate::pageable_static) only.
    ///
    /// # Safety
    /// `data` is a static of this driver image, placed (with
    /// `#[link_section]` on Windows targets) in the section named `section`,
    /// whose name starts with `PAGE` and which holds only writable data; no
    /// other `PageableStatic` is ever created over `data`.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const unsafe fn new(data: &'static PageableCell<T>, section: &'static str) -> Self {
        Self { data, section, handle: AtomicPtr::new(null_mut()), borrows: AtomicUsize::new(0) }
    }

    /// The name of the section the value lives in.
    ///
    /// # IRQL
    /// Any.
    pub fn section(&self) -> &'static str {
        self.section
    }

    /// Whether a first lock has already obtained the section's handle, so
    /// that locks now use `MmLockPagableSectionByHandle`.
    ///
    /// # IRQL
    /// Any.
    pub fn has_section_handle(&self) -> bool {
        !self.handle.load(Ordering::Acquire).is_null()
    }

    /// Locks the section and returns a shared guard (`&T`), usable at any
    /// IRQL while it lives.
    ///
    /// Errors: [`NtStatus::INVALID_LEVEL`] above `APC_LEVEL`,
    /// [`NtStatus::SHARING_VIOLATION`] while a [`PageableMut`] of this static
    /// lives, [`NtStatus::UNSUCCESSFUL`] if the kernel returns no handle.
    /// Nothing is locked on error.
    ///
    /// # IRQL
    /// `<= APC_LEVEL`; the guard: any IRQL, dropped at `<= APC_LEVEL`.
    pub fn lock(&self) -> NtResult<PageableRef<'_, T>> {
        self.lease(false).map(PageableRef)
    }

    /// Locks the section and returns the exclusive guard (`&mut T`), usable
    /// at any IRQL while it lives.
    ///
    /// Errors: as [`lock`](Self::lock), and
    /// [`NtStatus::SHARING_VIOLATION`] while any other guard of this static
    /// lives.
    ///
    /// # IRQL
    /// `<= APC_LEVEL`; the guard: any IRQL, dropped at `<= APC_LEVEL`.
    pub fn lock_mut(&self) -> NtResult<PageableMut<'_, T>> {
        self.lease(true).map(PageableMut)
    }

    /// One borrow of the value and one lock of its section.
    fn lease(&self, exclusive: bool) -> NtResult<Lease<'_, T>> {
        Irql::ensure_at_most(Irql::APC)?;
        let borrowed = if exclusive {
            self.borrows.compare_exchange(0, EXCLUSIVE, Ordering::Acquire, Ordering::Relaxed)
        } else {
            self.borrows.fetch_update(Ordering::Acquire, Ordering::Relaxed, |n| (n < EXCLUSIVE - 1).then(|| n + 1))
        };
        borrowed.map_err(|_| NtStatus::SHARING_VIOLATION)?;
        match self.lock_section() {
            Ok(handle) => Ok(Lease { owner: self, handle, exclusive }),
            Err(status) => {
                self.release(exclusive);
                Err(status)
            }
        }
    }

    /// Takes one lock on the section: by handle once the handle is known,
    /// else with `MmLockPagableDataSection`, keeping its handle.
    fn lock_section(&self) -> NtResult<NonNull<c_void>> {
        if let Some(handle) = NonNull::new(self.handle.load(Ordering::Acquire)) {
            // SAFETY: a handle MmLockPagableDataSection returned, valid
            // whatever the count (seed 001); the IRQL: the caller checked it
            // when `Irql::CHECKED`, else the `# IRQL` contract, whose breach
            // is a bug check (`crate::irql`).
            unsafe { sys::MmLockPagableSectionByHandle(handle.as_ptr()) };
            return Ok(handle);
        }
        sys::note_pageable_static(self.section, self.data.address(), size_of::<T>());
        // SAFETY: `data` lies in a PAGE section of this image (invariant);
        // the IRQL as just above.
        let handle = unsafe { sys::MmLockPagableDataSection(self.data.address()) };
        let handle = NonNull::new(handle).ok_or(NtStatus::UNSUCCESSFUL)?;
        // Two first locks may race: both locked, both got the section's one
        // handle; whichever stores it, each holds its own lock.
        let _ = self.handle.compare_exchange(null_mut(), handle.as_ptr(), Ordering::Release, Ordering::Relaxed);
        Ok(handle)
    }

    /// Gives back one borrow taken by [`lease`](Self::lease).
    fn release(&self, exclusive: bool) {
        if exclusive {
            self.borrows.store(0, Ordering::Release);
        } else {
            self.borrows.fetch_sub(1, Ordering::Release);
        }
    }
}

impl<T> fmt::Debug for PageableStatic<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PageableStatic")
            .field("section", &self.section)
            .field("has_section_handle", &self.has_section_handle())
            .finish_non_exhaustive()
    }
}

/// What both guards hold: one borrow of the value, one lock of the section.
///
/// # Invariants
/// `handle` is the section's handle and this lease holds one lock taken on
/// it, and one borrow of `owner` (exclusive if `exclusive`); both are
/// released exactly once, in `Drop`.
struct Lease<'a, T: 'static> {
    owner: &'a PageableStatic<T>,
    handle: NonNull<c_void>,
    exclusive: bool,
}

// SAFETY: the handle is a kernel address valid in every thread, and
// MmUnlockPagableImageSection is not tied to the locking thread; the rest is
// a shared reference to a static that is Sync for `T: Send + Sync`.
unsafe impl<T: Send + Sync> Send for Lease<'_, T> {}
// SAFETY: as above; through `&Lease` only `&T` is reachable.
unsafe impl<T: Send + Sync> Sync for Lease<'_, T> {}

impl<T> Lease<'_, T> {
    /// The value, after telling the kernel model about the touch.
    fn value(&self, write: bool) -> *mut T {
        let value = self.owner.data.0.get();
        sys::note_pageable_access(value.cast(), size_of::<T>(), write);
        value
    }
}

impl<T> Drop for Lease<'_, T> {
    fn drop(&mut self) {
        // Above APC_LEVEL the unlock would itself be a bug: the lock is
        // leaked instead (the section stays resident; the model reports it).
        if Irql::ensure_at_most(Irql::APC).is_ok() {
            // SAFETY: this lease holds one lock on `handle` (invariant), and
            // the IRQL is at most APC_LEVEL when `Irql::CHECKED` (unchecked, a
            // drop above is the kernel's bug check: `crate::irql`).
            unsafe { sys::MmUnlockPagableImageSection(self.handle.as_ptr()) };
        }
        self.owner.release(self.exclusive);
    }
}

/// A shared lock guard of a [`PageableStatic`]: `&T`, at any IRQL, while it
/// lives. Dropping it unlocks the section once (at `<= APC_LEVEL`).
pub struct PageableRef<'a, T: 'static>(Lease<'a, T>);

impl<T> Deref for PageableRef<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the section is locked, hence resident (the lease's lock),
        // and only shared borrows of the value live (the lease's borrow).
        unsafe { &*self.0.value(false) }
    }
}

impl<T: fmt::Debug> fmt::Debug for PageableRef<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The exclusive lock guard of a [`PageableStatic`]: `&mut T`, at any IRQL,
/// while it lives. Dropping it unlocks the section once (at `<= APC_LEVEL`).
pub struct PageableMut<'a, T: 'static>(Lease<'a, T>);

impl<T> Deref for PageableMut<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the section is locked (the lease's lock) and this guard is
        // the only borrow of the value (the lease's exclusive borrow).
        unsafe { &*self.0.value(false) }
    }
}

impl<T> DerefMut for PageableMut<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference
        // handed out by the guard.
        unsafe { &mut *self.0.value(true) }
    }
}

impl<T: fmt::Debug> fmt::Debug for PageableMut<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
