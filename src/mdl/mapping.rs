//! [`SystemMapping`]: the system-space address of an MDL's locked pages.

use core::{
    marker::PhantomData,
    ops::{Deref, DerefMut},
    ptr::NonNull,
};

use super::{KernelBuffer, LockAccess, Memory, PagePriority, Writable};
use crate::{
    Irql, NtResult, NtStatus,
    plain::{PlainData, Resident, SharedBytes},
    sys,
};

/// The system address of an MDL's locked pages, borrowed from the MDL (it
/// cannot outlive the lock). For a [`KernelBuffer`] it is a slice (mutable
/// when locked for writing); for a [`UserBuffer`](super::UserBuffer), whose
/// process may change the memory at any time, it offers copying accessors
/// (each byte read once: no double fetch), and slices only through
/// `unsafe`. Without [`Writable`] access there is no writing method, and
/// the pages of the driver's own MDL are mapped read-only
/// (`MdlMappingNoWrite`); an [`IrpMdl`](super::IrpMdl)'s, which the I/O
/// manager caches for whoever maps it next, never are.
///
/// The pages are locked: the mapping may be used at any IRQL.
///
/// # Invariants
/// `bytes` is the system address `MmGetSystemAddressForMdlSafe` returned for
/// the bytes of an MDL whose pages stay locked for `'m` (resident: any
/// IRQL), writable when `A` is [`Writable`]. When `owner` is set, this value
/// made the mapping and unmaps it exactly once, in `Drop`, from that MDL.
pub struct SystemMapping<'m, M: Memory, A: LockAccess> {
    bytes: SharedBytes<Resident>,
    owner: Option<NonNull<sys::MDL>>,
    _borrow: PhantomData<Borrow<'m, M, A>>,
}

/// Borrows the MDL (mutably: one mapping at a time); carries `M` and `A`.
type Borrow<'m, M, A> = (&'m mut sys::MDL, fn() -> (M, A));

/// Whose MDL a [`SystemMapping`] maps.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    /// This driver's own MDL ([`LockedMdl`](super::LockedMdl),
    /// [`NonPagedMdl`](super::NonPagedMdl)): the mapping is released on drop
    /// when this value made it, and made read-only for
    /// [`ReadAccess`](super::ReadAccess).
    Driver,
    /// Someone else's MDL ([`IrpMdl`](super::IrpMdl)): the mapping the call
    /// makes is cached in the MDL (`MappedSystemVa`) and released by its
    /// owner, and whoever maps it next gets the same one. So it is never
    /// made read-only: a later writer (a driver below with write access, or
    /// this driver as [`WriteAccess`](super::WriteAccess)) would fault on it
    /// (bug check 0xBE). Read-only access is then the type's, not the PTEs'.
    Borrowed,
}

impl<M: Memory, A: LockAccess> SystemMapping<'_, M, A> {
    /// `MmGetSystemAddressForMdlSafe(mdl, priority | no-execute [| no-write])`,
    /// no-write only for the driver's own MDL locked for reading. When the
    /// MDL is the driver's own and was not mapped yet, the mapping is
    /// released on drop.
    ///
    /// # Safety
    /// `mdl` is valid and its pages are locked (or built for non-paged pool)
    /// for at least the returned lifetime, for `A`; for
    /// [`Owner::Driver`], the MDL is this driver's and only this value maps
    /// it while it lives.
    pub(super) unsafe fn new(mdl: NonNull<sys::MDL>, priority: PagePriority, owner: Owner) -> NtResult<Self> {
        Irql::ensure_at_most(Irql::DISPATCH)?;
        let read_only = owner == Owner::Driver && A::OPERATION == sys::_LOCK_OPERATION::IoReadAccess;
        let no_write = if read_only { sys::MdlMappingNoWrite } else { 0 };
        // SAFETY: a valid MDL (contract).
        let mapped_before = unsafe { sys::mdl_flags(mdl.as_ptr()) }
            & (sys::MDL_MAPPED_TO_SYSTEM_VA | sys::MDL_SOURCE_IS_NONPAGED_POOL)
            != 0;
        // SAFETY: locked pages (contract), IRQL checked.
        let base = unsafe {
            sys::MmGetSystemAddressForMdlSafe(mdl.as_ptr(), priority.to_raw() | sys::MdlMappingNoExecute | no_write)
        };
        let base = NonNull::new(base.cast::<u8>()).ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        // SAFETY: a valid MDL (contract).
        let len = unsafe { mdl.as_ref() }.ByteCount as usize;
        let owner = (owner == Owner::Driver && !mapped_before).then_some(mdl);
        // SAFETY: `len` bytes mapped at `base`, locked for `'m` (contract),
        // hence resident.
        let bytes = unsafe { SharedBytes::new(base, len) };
        Ok(SystemMapping { bytes, owner, _borrow: PhantomData })
    }

    /// The bytes mapped.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Never true: an MDL describes at least one byte.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn is_empty(&self) -> bool {
        self.bytes.len() == 0
    }

    /// The system address of the first byte.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn as_ptr(&self) -> *const u8 {
        self.bytes.base().as_ptr()
    }

    /// Copies `dst.len()` bytes from `offset` into `dst`.
    ///
    /// Errors: [`NtStatus::INVALID_PARAMETER`] for a range past the end.
    ///
    /// # IRQL
    /// Any (the pages are locked).
    pub fn read_bytes(&self, offset: usize, dst: &mut [u8]) -> NtResult<()> {
        self.bytes.read_bytes(offset, dst)
    }

    /// Reads a `T` at `offset` (no alignment needed).
    ///
    /// # IRQL
    /// Any.
    pub fn read<T: PlainData>(&self, offset: usize) -> NtResult<T> {
        self.bytes.read(offset)
    }

    /// The mapped bytes as a slice.
    ///
    /// # Safety
    /// Nothing writes the memory while the slice lives (for a caller's
    /// buffer: no thread of its process, no device).
    ///
    /// # IRQL
    /// Any.
    pub unsafe fn as_slice(&self) -> &[u8] {
        // SAFETY: the caller rules out writers.
        unsafe { self.bytes.as_slice() }
    }
}

impl<M: Memory, A: Writable> SystemMapping<'_, M, A> {
    /// Copies `src` into the mapping at `offset`.
    ///
    /// Errors: as [`read_bytes`](Self::read_bytes).
    ///
    /// # IRQL
    /// Any.
    pub fn write_bytes(&mut self, offset: usize, src: &[u8]) -> NtResult<()> {
        // SAFETY: the pages are locked for writing (`A`).
        unsafe { self.bytes.write_bytes(offset, src) }
    }

    /// Writes `value` at `offset` (no alignment needed).
    ///
    /// # IRQL
    /// Any.
    pub fn write<T: PlainData>(&mut self, offset: usize, value: &T) -> NtResult<()> {
        // SAFETY: the pages are locked for writing (`A`).
        unsafe { self.bytes.write(offset, value) }
    }

    /// The mapped bytes as a mutable slice.
    ///
    /// # Safety
    /// Nothing else reads or writes the memory while the slice lives.
    ///
    /// # IRQL
    /// Any.
    pub unsafe fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: writable (`A`); the caller rules out every other access.
        unsafe { self.bytes.as_mut_slice() }
    }
}

impl<A: LockAccess> Deref for SystemMapping<'_, KernelBuffer, A> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: a kernel buffer's MDL borrows the buffer exclusively: this
        // mapping is the only way to its bytes while it lives.
        unsafe { self.as_slice() }
    }
}

impl<A: Writable> DerefMut for SystemMapping<'_, KernelBuffer, A> {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes the access unique.
        unsafe { self.as_mut_slice() }
    }
}

impl<M: Memory, A: LockAccess> Drop for SystemMapping<'_, M, A> {
    /// `MmUnmapLockedPages` when this value made the mapping. Above
    /// DISPATCH_LEVEL the mapping stays; unlocking the MDL releases it.
    fn drop(&mut self) {
        let Some(mdl) = self.owner else { return };
        if Irql::ensure_at_most(Irql::DISPATCH).is_err() {
            return;
        }
        // SAFETY: the mapping this value made of `mdl`'s locked pages
        // (invariant), released once.
        unsafe { sys::MmUnmapLockedPages(self.bytes.base().as_ptr().cast(), mdl.as_ptr()) };
    }
}

impl<M: Memory, A: LockAccess> core::fmt::Debug for SystemMapping<'_, M, A> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SystemMapping").field("base", &self.bytes.base()).field("len", &self.bytes.len()).finish()
    }
}
