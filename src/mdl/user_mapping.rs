//! [`UserMapping`]: the pages of a [`PagesMdl`] mapped into a process's user
//! space (`MmMapLockedPagesSpecifyCache` with `UserMode`), to share driver
//! memory with an application.
//!
//! # Sharing driver memory with an application: the sound rules
//! The crate offers one shape, and these are the reasons for each part:
//!
//! 1. **Whole fresh pages only.** A mapping maps whole pages. Only a
//!    [`PagesMdl`] (`MmAllocatePagesForMdlEx`) is offered: its pages are
//!    zeroed and hold nothing else. Pool, a stack or another driver's buffer
//!    would share the rest of their pages — other allocations, kernel data —
//!    with the process.
//! 2. **Mapped in the requester's context.** The mapping is made in the
//!    current process (a dispatch routine runs in the requester's), at
//!    `<= APC_LEVEL`, and records that process ([`UserMapping`] holds a
//!    reference). It is unmapped in that same process: elsewhere the
//!    address names other memory, or nothing. [`UserMapping::unmap`]
//!    refuses in another process, and `Drop` there leaves the mapping (see
//!    rule 4).
//! 3. **Unmapped before the pages go, by construction.** The mapping borrows
//!    the [`PagesMdl`], so the pages cannot be freed while it lives, and the
//!    pages count their user mappings: a mapping that is leaked
//!    (`mem::forget`, a drop in the wrong process or above APC_LEVEL) keeps
//!    the pages allocated for good (their drop leaks them rather than free
//!    pages a process still sees), and [`PagesMdl::map`] refuses to make a
//!    system slice of pages a process can write.
//! 4. **Unmapped before the process exits.** Windows charges the mapping to
//!    the process as locked pages: a process that exits with one still
//!    mapped stops the system (0x76 PROCESS_HAS_LOCKED_PAGES, the model's
//!    check). An application can exit at any moment, so unmap at the latest
//!    in IRP_MJ_CLEANUP of the handle the mapping was made for (the last
//!    handle's cleanup runs in the process, before its address space goes,
//!    also when it is killed).
//! 5. **No reference into user memory.** The application writes the pages
//!    whenever it likes: a `&`/`&mut` over them in the driver would be a
//!    data race. The mapping hands out its user address (for the
//!    application) and nothing to read through; while it lives the driver
//!    has no system slice of the pages either (rule 3).
//! 6. **One cache type.** The user mapping uses the pages' own cache type
//!    (a second mapping with another one is a conflict the processor does
//!    not resolve).
//!
//! # Where it runs
//! Windows; the kernel model (mappings the simulated process reads and
//! writes, unmapped in it; the verifier reports the rest). Under Wine,
//! [`PagesMdl::allocate`] already answers `STATUS_PROCEDURE_NOT_FOUND`, and
//! Wine's `MmMapLockedPagesSpecifyCache` returns NULL in every mode
//! ([`PagesMdl::map_user`] would answer `STATUS_INSUFFICIENT_RESOURCES`).

use core::{cell::Cell, marker::PhantomData, ptr::NonNull};

use super::{PagePriority, PagesMdl};
use crate::{Irql, NtResult, NtStatus, section::process::OwningProcess, sys};

/// The pages of a [`PagesMdl`] mapped into the user space of the process
/// that made the mapping. Its [`address`](Self::address) is for the
/// application; the driver reaches nothing through it. Unmapped
/// (`MmUnmapLockedPages`) by [`unmap`](Self::unmap) or `Drop`, in its
/// process. See the [module documentation](self) for the rules.
///
/// ```
/// # let kernel = wdm_mem::model::Kernel::new();
/// use wdm_mem::mdl::{PagePriority, PageRequest, PagesMdl};
///
/// let app = kernel.create_process();
/// let pages = PagesMdl::allocate(&PageRequest::new(4096))?;
/// app.run(|| {
///     let shared = pages.map_user(PagePriority::Normal)?;   // in the requester's context
///     app.write(shared.address(), b"from the app").unwrap(); // the application's own store
///     shared.unmap().map_err(|(_, status)| status)         // in the same process
/// })?;
/// drop(pages);
/// # kernel.assert_clean();
/// # Ok::<(), wdm_mem::NtStatus>(())
/// ```
///
/// The pages cannot be freed while mapped:
///
/// ```compile_fail,E0505
/// # use wdm_mem::mdl::{PagePriority, PageRequest, PagesMdl};
/// let pages = PagesMdl::allocate(&PageRequest::new(4096)).unwrap();
/// let shared = pages.map_user(PagePriority::Normal).unwrap();
/// drop(pages);
/// shared.address();
/// ```
///
/// nor given a system slice (which the application could write under it):
///
/// ```compile_fail,E0502
/// # use wdm_mem::mdl::{PagePriority, PageRequest, PagesMdl};
/// let mut pages = PagesMdl::allocate(&PageRequest::new(4096)).unwrap();
/// let shared = pages.map_user(PagePriority::Normal).unwrap();
/// let slice = pages.map(PagePriority::Normal).unwrap();
/// shared.address();
/// ```
///
/// nor sent to another thread (a worker thread runs in another process,
/// where the mapping cannot be unmapped):
///
/// ```compile_fail,E0277
/// # use wdm_mem::mdl::{PagePriority, PageRequest, PagesMdl};
/// fn to_worker<T: Send>(_: T) {}
/// let pages = PagesMdl::allocate(&PageRequest::new(4096)).unwrap();
/// to_worker(pages.map_user(PagePriority::Normal).unwrap());
/// ```
///
/// and the mapping has no way to its bytes:
///
/// ```compile_fail,E0608
/// # use wdm_mem::mdl::{PagePriority, PageRequest, PagesMdl};
/// let pages = PagesMdl::allocate(&PageRequest::new(4096)).unwrap();
/// let shared = pages.map_user(PagePriority::Normal).unwrap();
/// let byte = shared[0];
/// ```
///
/// # Invariants
/// `base` is the user address `MmMapLockedPagesSpecifyCache(mdl, UserMode)`
/// returned in `process` for the `len` bytes of `mdl`, whose pages (those
/// of the borrowed [`PagesMdl`]) stay allocated while `mappings` counts
/// this value; it is unmapped at most once, in `process`, and only then
/// uncounted.
pub struct UserMapping<'m> {
    base: NonNull<core::ffi::c_void>,
    len: usize,
    mdl: NonNull<sys::MDL>,
    process: OwningProcess,
    mappings: &'m Cell<usize>,
    _pages: PhantomData<&'m PagesMdl>,
}

impl PagesMdl {
    /// Maps the pages into the current process's user space, with their
    /// own cache type, no-execute
    /// (`MmMapLockedPagesSpecifyCache(UserMode)` under SEH: it raises on
    /// failure).
    ///
    /// Errors: [`NtStatus::INVALID_LEVEL`] above APC_LEVEL; the code the
    /// routine raised (e.g. `STATUS_INSUFFICIENT_RESOURCES` when the
    /// process has no room), or `STATUS_INSUFFICIENT_RESOURCES` for a NULL
    /// without an exception (Wine).
    ///
    /// # IRQL
    /// `<= APC_LEVEL`, in the context of the process to share with.
    pub fn map_user(&self, priority: PagePriority) -> NtResult<UserMapping<'_>> {
        Irql::ensure_at_most(Irql::APC)?;
        let process = OwningProcess::current()?;
        let mut base = core::ptr::null_mut();
        // SAFETY: the MDL of this value's allocated pages (invariant of
        // PagesMdl), which stay allocated while the mapping is counted; at
        // <= APC_LEVEL; `base` is writable.
        let status = unsafe {
            sys::map_locked_pages_user(
                self.mdl.as_ptr(),
                self.cache.to_raw(),
                priority.to_raw() | sys::MdlMappingNoExecute,
                &mut base,
            )
        };
        NtStatus::from_raw(status).result()?;
        let base = NonNull::new(base).ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        self.user_mappings.set(self.user_mappings.get() + 1);
        // INVARIANT: the mapping just made in `process`, counted above.
        Ok(UserMapping {
            base,
            len: self.len(),
            mdl: self.mdl,
            process,
            mappings: &self.user_mappings,
            _pages: PhantomData,
        })
    }
}

impl UserMapping<'_> {
    /// The user address of the first byte, for the application.
    ///
    /// # IRQL
    /// Any.
    pub fn address(&self) -> usize {
        self.base.as_ptr() as usize
    }

    /// The bytes mapped.
    ///
    /// # IRQL
    /// Any.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: the pages hold at least one byte.
    ///
    /// # IRQL
    /// Any.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the current thread runs in the mapping's process (where it
    /// can be unmapped).
    ///
    /// # IRQL
    /// Any.
    pub fn is_in_its_process(&self) -> bool {
        self.process.is_current()
    }

    /// Unmaps (`MmUnmapLockedPages`). Errors, with the mapping given back:
    /// [`NtStatus::INVALID_LEVEL`] above APC_LEVEL,
    /// [`NtStatus::ACCESS_VIOLATION`] outside the mapping's process.
    ///
    /// # IRQL
    /// `<= APC_LEVEL`, in the mapping's process.
    pub fn unmap(self) -> Result<(), (Self, NtStatus)> {
        if let Err(status) = self.check_unmap() {
            return Err((self, status));
        }
        drop(self); // checked: Drop unmaps
        Ok(())
    }

    fn check_unmap(&self) -> NtResult<()> {
        Irql::ensure_at_most(Irql::APC)?;
        if self.process.is_current() { Ok(()) } else { Err(NtStatus::ACCESS_VIOLATION) }
    }
}

impl Drop for UserMapping<'_> {
    /// `MmUnmapLockedPages` in the mapping's process at `<= APC_LEVEL`.
    /// Elsewhere the mapping stays, counted: the pages then stay allocated
    /// for good (see the module's rule 3) and the model reports the mapping
    /// (at the process's exit: 0x76).
    fn drop(&mut self) {
        if self.check_unmap().is_err() {
            return;
        }
        // SAFETY: the mapping this value made of `mdl` in this process
        // (invariant, process and IRQL checked), unmapped once, here.
        unsafe { sys::MmUnmapLockedPages(self.base.as_ptr(), self.mdl.as_ptr()) };
        self.mappings.set(self.mappings.get() - 1);
    }
}

impl core::fmt::Debug for UserMapping<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UserMapping").field("address", &self.base).field("len", &self.len).finish()
    }
}
