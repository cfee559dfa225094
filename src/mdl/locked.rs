//! [`LockedMdl`] (pages probed and locked), [`NonPagedMdl`] (pages built
//! for non-paged pool) and [`with_user_buffer`].

use core::{marker::PhantomData, mem::ManuallyDrop, ptr::NonNull};

use super::{
    AccessMode, KernelBuffer, LockAccess, Mdl, Memory, PagePriority, SystemMapping, UserBuffer, WriteAccess,
    mapping::Owner, page_frames,
};
use crate::{Irql, NtResult, NtStatus, pool::PoolBuffer, sys};

/// An MDL whose pages are probed and locked for `A`
/// (`MmProbeAndLockPages`): they stay resident, and [`map`](Self::map)
/// gives them a system address. Drop unlocks (`MmUnlockPages`, which also
/// releases a system mapping) and frees; [`unlock`](Self::unlock) unlocks
/// and gives the [`Mdl`] back for reuse.
///
/// ```compile_fail,E0505
/// # use wdm_mem::mdl::{AccessMode, Mdl, PagePriority, ReadAccess};
/// # fn f() -> wdm_mem::NtResult<()> {
/// let mut buffer = [0u8; 64];
/// let mut locked = Mdl::new(&mut buffer)?.lock::<ReadAccess>(AccessMode::Kernel)?;
/// let mapping = locked.map(PagePriority::Normal)?;
/// let bytes: &[u8] = &mapping;
/// let mdl = locked.unlock()?; // the mapped slice cannot outlive its lock
/// assert_eq!(bytes[0], 0);
/// # Ok(()) }
/// ```
///
/// ```compile_fail,E0597
/// # use wdm_mem::mdl::{AccessMode, Mdl, PagePriority, ReadAccess};
/// # fn f() -> wdm_mem::NtResult<()> {
/// let mut buffer = [0u8; 64];
/// let bytes: &[u8] = {
///     let mut locked = Mdl::new(&mut buffer)?.lock::<ReadAccess>(AccessMode::Kernel)?;
///     let mapping = locked.map(PagePriority::Normal)?;
///     &mapping[..] // nor its mapping
/// };
/// # Ok(()) }
/// ```
///
/// # Invariants
/// `mdl`'s pages are locked by a successful probe for `A::OPERATION`; they
/// are unlocked exactly once, by `unlock` or `Drop`, before `mdl` is freed.
pub struct LockedMdl<'a, M: Memory, A: LockAccess> {
    mdl: ManuallyDrop<Mdl<'a, M>>,
    _access: PhantomData<fn() -> A>,
}

// SAFETY: locked pages are resident and their system mapping is valid in
// every process context: the value may move to another processor (a DPC).
unsafe impl<M: Memory, A: LockAccess> Send for LockedMdl<'_, M, A> {}

impl<'a, M: Memory, A: LockAccess> LockedMdl<'a, M, A> {
    /// `MmProbeAndLockPages(mdl, mode, A)` through the SEH shim.
    pub(super) fn probe(mdl: Mdl<'a, M>, mode: AccessMode) -> NtResult<Self> {
        Irql::ensure_at_most(Irql::APC)?;
        // SAFETY: an unlocked MDL from IoAllocateMdl (invariant of `Mdl`), at
        // APC_LEVEL at most; the shim turns the exception of a bad address
        // into its status.
        let status = unsafe { sys::probe_and_lock_pages(mdl.raw.as_ptr(), mode.to_raw(), A::OPERATION) };
        NtStatus::from_raw(status).result()?;
        Ok(LockedMdl { mdl: ManuallyDrop::new(mdl), _access: PhantomData })
    }

    /// The locked pages' system address (`MmGetSystemAddressForMdlSafe`
    /// with `priority` and `MdlMappingNoExecute`, plus `MdlMappingNoWrite`
    /// for [`ReadAccess`](super::ReadAccess)), as a mapping that borrows the
    /// lock and is unmapped (`MmUnmapLockedPages`) when dropped.
    ///
    /// Errors: [`NtStatus::INSUFFICIENT_RESOURCES`] when the kernel cannot
    /// map (NULL; always under Wine), [`NtStatus::INVALID_LEVEL`] above
    /// DISPATCH_LEVEL.
    ///
    /// # IRQL
    /// `<= DISPATCH_LEVEL`.
    pub fn map(&mut self, priority: PagePriority) -> NtResult<SystemMapping<'_, M, A>> {
        // SAFETY: the pages are locked (invariant) for the mapping's
        // lifetime, which borrows `self`; this owned MDL's mapping is
        // released by the mapping.
        unsafe { SystemMapping::new(self.mdl.raw, priority, Owner::Driver) }
    }

    /// The page frame numbers of the locked pages (the MDL's PFN array), for
    /// hardware that takes physical pages. Under Wine, whose probe does
    /// nothing, they are zeros.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn page_frames(&self) -> &[sys::PFN_NUMBER] {
        // SAFETY: locked while `self` lives (invariant).
        unsafe { page_frames(self.mdl.raw) }
    }

    /// The bytes described.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn len(&self) -> usize {
        self.mdl.len()
    }

    /// Never true: an MDL describes at least one byte.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn is_empty(&self) -> bool {
        self.mdl.is_empty()
    }

    /// The kernel's MDL, for routines this crate does not wrap.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn as_raw(&self) -> *mut sys::MDL {
        self.mdl.as_raw()
    }

    /// Unlocks the pages (`MmUnlockPages`, then `MmPrepareMdlForReuse`) and
    /// gives the unlocked MDL back, to be locked again or freed.
    ///
    /// Errors: [`NtStatus::INVALID_LEVEL`] above DISPATCH_LEVEL; the pages
    /// then stay locked and the MDL is leaked (the model reports both).
    ///
    /// # IRQL
    /// `<= DISPATCH_LEVEL`.
    pub fn unlock(self) -> NtResult<Mdl<'a, M>> {
        let mut this = ManuallyDrop::new(self);
        Irql::ensure_at_most(Irql::DISPATCH)?;
        // SAFETY: locked pages (invariant), unlocked once: `this` is not
        // dropped.
        unsafe { unlock(this.mdl.raw) };
        // SAFETY: `this` is never used or dropped again; the MDL moves out.
        Ok(unsafe { ManuallyDrop::take(&mut this.mdl) })
    }
}

/// `MmUnlockPages` then `MmPrepareMdlForReuse`.
///
/// # Safety
/// `raw`'s pages are locked by a probe, at IRQL <= DISPATCH_LEVEL.
unsafe fn unlock(raw: NonNull<sys::MDL>) {
    // SAFETY: per the contract; MmUnlockPages also releases the system
    // mapping, if one is left.
    unsafe {
        sys::MmUnlockPages(raw.as_ptr());
        sys::MmPrepareMdlForReuse(raw.as_ptr());
    }
}

impl<M: Memory, A: LockAccess> Drop for LockedMdl<'_, M, A> {
    /// Unlocks, then frees. Above DISPATCH_LEVEL both are skipped: the pages
    /// stay locked and the MDL leaks (the model reports both at unload).
    fn drop(&mut self) {
        if Irql::ensure_at_most(Irql::DISPATCH).is_err() {
            return;
        }
        // SAFETY: locked pages (invariant), unlocked only here.
        unsafe { unlock(self.mdl.raw) };
        // SAFETY: dropped once, here; `self.mdl` is not used afterwards.
        unsafe { ManuallyDrop::drop(&mut self.mdl) };
    }
}

impl<M: Memory, A: LockAccess> core::fmt::Debug for LockedMdl<'_, M, A> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LockedMdl").field("mdl", &*self.mdl).field("operation", &A::OPERATION).finish()
    }
}

/// An MDL built for non-paged memory (`MmBuildMdlForNonPagedPool`): its
/// pages are resident by nature; it is mapped like a locked MDL (its system
/// address is the buffer's own) but never unlocked. Drop frees it.
///
/// # Invariants
/// `mdl` was built by `MmBuildMdlForNonPagedPool` for non-paged memory it
/// borrows exclusively.
pub struct NonPagedMdl<'a> {
    mdl: Mdl<'a, KernelBuffer>,
}

impl<'a> NonPagedMdl<'a> {
    /// Wraps an MDL just built for non-paged memory.
    pub(super) fn new(mdl: Mdl<'a, KernelBuffer>) -> Self {
        NonPagedMdl { mdl }
    }

    /// An MDL for `buffer`, built for non-paged pool.
    ///
    /// Errors: [`NtStatus::INVALID_PARAMETER`] for a buffer of paged pool,
    /// else as [`Mdl::new`].
    ///
    /// # IRQL
    /// `<= DISPATCH_LEVEL`.
    pub fn for_pool_buffer(buffer: &'a mut PoolBuffer) -> NtResult<Self> {
        if buffer.pool_type().is_paged() {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let mdl = Mdl::new(buffer)?;
        // SAFETY: the buffer is non-paged pool, checked above.
        unsafe { mdl.build_for_non_paged_pool() }
    }

    /// The buffer's system address (`MmGetSystemAddressForMdlSafe`: for a
    /// non-paged MDL, `MappedSystemVa`, nothing is mapped).
    ///
    /// Errors: [`NtStatus::INSUFFICIENT_RESOURCES`] for NULL (under Wine,
    /// whose `MmBuildMdlForNonPagedPool` sets no flag, the macro asks
    /// `MmMapLockedPagesSpecifyCache`, which returns NULL),
    /// [`NtStatus::INVALID_LEVEL`] above DISPATCH_LEVEL.
    ///
    /// # IRQL
    /// `<= DISPATCH_LEVEL`.
    pub fn map(&mut self, priority: PagePriority) -> NtResult<SystemMapping<'_, KernelBuffer, WriteAccess>> {
        // SAFETY: non-paged pages of this driver's MDL (invariant), mapped by
        // this value only (it borrows `self` mutably).
        unsafe { SystemMapping::new(self.mdl.raw, priority, Owner::Driver) }
    }

    /// The page frame numbers of the buffer's pages.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn page_frames(&self) -> &[sys::PFN_NUMBER] {
        // SAFETY: built for non-paged memory borrowed for `'a` (invariant).
        unsafe { page_frames(self.mdl.raw) }
    }

    /// The bytes described.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn len(&self) -> usize {
        self.mdl.len()
    }

    /// Never true: an MDL describes at least one byte.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn is_empty(&self) -> bool {
        self.mdl.is_empty()
    }
}

impl core::fmt::Debug for NonPagedMdl<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NonPagedMdl").field("mdl", &self.mdl).finish()
    }
}

/// Runs `f` on a system mapping of `len` bytes of the calling process's
/// memory at `address` (a METHOD_NEITHER buffer, a pointer inside a
/// request), locked for `A`: [`Mdl::for_user_buffer`], [`Mdl::lock`]
/// (`MmProbeAndLockPages` in user mode, under SEH), [`LockedMdl::map`], then
/// unmap, unlock and free, whatever `f` does.
///
/// Errors, before `f` runs: as [`Mdl::for_user_buffer`] (length 0 or too
/// long: `STATUS_INVALID_PARAMETER`; NULL, kernel or wrapping range:
/// `STATUS_ACCESS_VIOLATION`), what the probe raised (an unmapped page, or a
/// read-only one for [`WriteAccess`]: `STATUS_ACCESS_VIOLATION`), the
/// mapping's `STATUS_INSUFFICIENT_RESOURCES` (Wine: always, since its probe
/// accepts anything and its mapping routine returns NULL),
/// `STATUS_INVALID_LEVEL` above APC_LEVEL.
///
/// ```
/// # let kernel = wdm_mem::model::Kernel::new();
/// use wdm_mem::{NtStatus, mdl::{PagePriority, ReadAccess, with_user_buffer}};
///
/// let request = kernel.user_buffer(16);                  // the caller's memory
/// kernel.write_user(request.address, b"sixteen bytes!!!");
/// let sum = with_user_buffer::<ReadAccess, _>(request.address, 16, PagePriority::Normal, |input| {
///     let mut bytes = [0u8; 16];
///     input.read_bytes(0, &mut bytes).map(|()| bytes.iter().map(|&b| u32::from(b)).sum::<u32>())
/// })??;
/// assert_eq!(sum, b"sixteen bytes!!!".iter().map(|&b| u32::from(b)).sum());
/// let bad = with_user_buffer::<ReadAccess, _>(0xFFFF_8000_0000_0000, 16, PagePriority::Normal, |_| ());
/// assert_eq!(bad, Err(NtStatus::ACCESS_VIOLATION));      // kernel memory
/// # kernel.assert_clean();
/// # Ok::<(), NtStatus>(())
/// ```
///
/// # IRQL
/// `<= APC_LEVEL`, in the context of the process that owns the buffer.
pub fn with_user_buffer<A: LockAccess, R>(
    address: usize,
    len: usize,
    priority: PagePriority,
    f: impl FnOnce(&mut SystemMapping<'_, UserBuffer, A>) -> R,
) -> NtResult<R> {
    let mut locked = Mdl::for_user_buffer(address, len)?.lock::<A>()?;
    let mut mapping = locked.map(priority)?;
    Ok(f(&mut mapping))
}
