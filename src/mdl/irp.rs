//! [`IrpMdl`]: the MDL the I/O manager made for a direct-I/O request.

use core::{marker::PhantomData, ptr::NonNull};

use super::{LockAccess, PagePriority, SystemMapping, UserBuffer, mapping::Owner, page_frames};
use crate::{NtResult, NtStatus, sys};

/// The MDL of a direct-I/O request, `Irp->MdlAddress`, borrowed: the I/O
/// manager probed and locked it (for reading with METHOD_IN_DIRECT, for
/// writing with METHOD_OUT_DIRECT and DO_DIRECT_IO reads) and unlocks and
/// frees it when the IRP completes, so this value neither unlocks nor frees
/// it, and a mapping of it is left to the I/O manager to release.
///
/// Under Wine the I/O manager does not lock anything: it copies the
/// caller's output buffer into `winedevice.exe`, describes the copy with an
/// MDL marked `MDL_MAPPED_TO_SYSTEM_VA` (its `MappedSystemVa` is the copy),
/// and copies the whole buffer back when the IRP completes. Mapping it
/// therefore works there too.
///
/// A mapping for reading has no writing method (read-only access is the
/// type's, since the mapping itself is left writable for later users of
/// the MDL):
///
/// ```compile_fail,E0599
/// # use wdm_mem::mdl::{IrpMdl, PagePriority, ReadAccess};
/// fn answer(mut mdl: IrpMdl<'_, ReadAccess>) {
///     let mut mapping = mdl.map(PagePriority::Normal).unwrap();
///     mapping.write_bytes(0, b"no");
/// }
/// ```
///
/// # Invariants
/// `raw` is the IRP's first MDL, locked (or, under Wine, pre-mapped) for `A`
/// until the IRP completes, after `'irp`; it describes at least one byte.
pub struct IrpMdl<'irp, A: LockAccess> {
    raw: NonNull<sys::MDL>,
    _irp: PhantomData<IrpMarker<'irp, A>>,
}

/// Borrows the IRP; carries `A`.
type IrpMarker<'irp, A> = (&'irp sys::IRP, fn() -> A);

impl<'irp, A: LockAccess> IrpMdl<'irp, A> {
    /// The MDL of `irp`.
    ///
    /// Errors: [`NtStatus::INVALID_PARAMETER`] when the IRP has none (a
    /// request without an output buffer) or it describes 0 bytes.
    ///
    /// # Safety
    /// `irp` is a request this driver is processing and completes after
    /// `'irp`; its `MdlAddress`, when not NULL, was locked by the I/O manager
    /// (or the driver above) for at least `A`: [`ReadAccess`](super::ReadAccess)
    /// for METHOD_IN_DIRECT, [`WriteAccess`](super::WriteAccess) for
    /// METHOD_OUT_DIRECT; and if it is mapped already (`MappedSystemVa`),
    /// that mapping allows `A` (for [`WriteAccess`](super::WriteAccess): not
    /// a read-only mapping a driver above made).
    ///
    /// # IRQL
    /// Any.
    pub unsafe fn from_irp(irp: &'irp sys::IRP) -> NtResult<Self> {
        let raw = NonNull::new(irp.MdlAddress).ok_or(NtStatus::INVALID_PARAMETER)?;
        // SAFETY: the IRP's MDL is valid (contract).
        if unsafe { raw.as_ref() }.ByteCount == 0 {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        Ok(IrpMdl { raw, _irp: PhantomData })
    }

    /// The buffer's system address (`MmGetSystemAddressForMdlSafe` with
    /// `priority` and no-execute), released by the I/O manager at
    /// completion. Never no-write, even for [`ReadAccess`](super::ReadAccess):
    /// the MDL caches the mapping (`MappedSystemVa`) for everyone who maps it
    /// after this driver, and a read-only one would make their writes fault
    /// (bug check 0xBE). A `ReadAccess` mapping has no writing method.
    ///
    /// Errors: [`NtStatus::INSUFFICIENT_RESOURCES`] when the kernel cannot
    /// map, [`NtStatus::INVALID_LEVEL`] above DISPATCH_LEVEL.
    ///
    /// # IRQL
    /// `<= DISPATCH_LEVEL`.
    pub fn map(&mut self, priority: PagePriority) -> NtResult<SystemMapping<'_, UserBuffer, A>> {
        // SAFETY: locked until the IRP completes, after `'irp` (invariant);
        // the I/O manager releases the mapping.
        unsafe { SystemMapping::new(self.raw, priority, Owner::Borrowed) }
    }

    /// The bytes described (the request's output buffer length).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn len(&self) -> usize {
        // SAFETY: a valid MDL (invariant).
        unsafe { self.raw.as_ref() }.ByteCount as usize
    }

    /// Never true (see the invariants).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The page frame numbers of the buffer's pages (zeros under Wine).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn page_frames(&self) -> &[sys::PFN_NUMBER] {
        // SAFETY: locked for `'irp` (invariant); an I/O manager's MDL has room
        // for its PFNs.
        unsafe { page_frames(self.raw) }
    }
}

impl<A: LockAccess> core::fmt::Debug for IrpMdl<'_, A> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IrpMdl").field("raw", &self.raw).field("len", &self.len()).finish()
    }
}
