//! Memory descriptor lists: describe a buffer's pages ([`Mdl`],
//! `IoAllocateMdl`), lock them ([`LockedMdl`], `MmProbeAndLockPages` under
//! SEH; [`NonPagedMdl`], `MmBuildMdlForNonPagedPool`), map them into system
//! space ([`SystemMapping`], `MmGetSystemAddressForMdlSafe`), and the I/O
//! manager's MDL of a direct-I/O request ([`IrpMdl`]), and MDLs of fresh
//! pages ([`PagesMdl`], `MmAllocatePagesForMdlEx`), which can be mapped into
//! an application's user space ([`UserMapping`]; the rules for sharing
//! driver memory with an application are in [`user_mapping`]).
//!
//! The states are types: an [`Mdl`] is unlocked and has no `map`;
//! [`Mdl::lock`] consumes it and returns a [`LockedMdl`] or the status of the
//! exception the probe raised; a [`SystemMapping`] borrows its locked MDL,
//! so it cannot outlive the lock. Teardown is unmap (the mapping's drop),
//! unlock, free, in that order, by construction.
//!
//! ```
//! # let kernel = wdm_mem::model::Kernel::new();
//! use wdm_mem::mdl::{AccessMode, Mdl, PagePriority, WriteAccess};
//!
//! let mut buffer = [0u8; 100];
//! let mut locked = Mdl::new(&mut buffer)?.lock::<WriteAccess>(AccessMode::Kernel)?;
//! let mut mapping = locked.map(PagePriority::Normal)?;
//! mapping[..5].copy_from_slice(b"hello");    // the system mapping is a slice
//! drop(mapping);                              // MmUnmapLockedPages
//! let mdl = locked.unlock()?;                 // MmUnlockPages (+ MmPrepareMdlForReuse)
//! drop(mdl);                                  // IoFreeMdl
//! assert_eq!(&buffer[..5], b"hello");
//! # kernel.assert_clean();
//! # Ok::<(), wdm_mem::NtStatus>(())
//! ```
//!
//! A caller's buffer (METHOD_NEITHER, or a pointer inside a request) is
//! locked with [`with_user_buffer`]: a NULL, kernel-range, overflowing,
//! unmapped or read-only (for writing) buffer is an error status, never a
//! bug check.
//!
//! Where it runs: on Windows the probe is a C function under
//! `__try/__except` (`src/sys/seh/probe.c`). Under Wine
//! `MmProbeAndLockPages` does nothing, `MmBuildMdlForNonPagedPool` sets no
//! flag and `MmMapLockedPagesSpecifyCache` returns NULL, so mapping an MDL
//! this crate locked or built answers `STATUS_INSUFFICIENT_RESOURCES`; the
//! MDL of a METHOD_IN/OUT_DIRECT request is pre-mapped by Wine's I/O
//! manager and maps. The kernel model implements the real behaviour.

mod irp;
mod locked;
mod mapping;
mod pages;
pub mod user_mapping;

use core::{marker::PhantomData, ptr::NonNull};

pub use irp::IrpMdl;
pub use locked::{LockedMdl, NonPagedMdl, with_user_buffer};
pub use mapping::SystemMapping;
pub use pages::{PageFlags, PageRequest, PagesMdl, resolve_routines};
pub use user_mapping::UserMapping;

use crate::{Irql, NtResult, NtStatus, sys};

/// The mode a probe checks access in (`KPROCESSOR_MODE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessMode {
    /// `KernelMode`: any valid address (kernel memory is accepted).
    Kernel,
    /// `UserMode`: only the current process's user address space, with its
    /// page protections.
    User,
}

impl AccessMode {
    fn to_raw(self) -> sys::KPROCESSOR_MODE {
        let mode = match self {
            AccessMode::Kernel => sys::_MODE::KernelMode,
            AccessMode::User => sys::_MODE::UserMode,
        };
        mode as sys::KPROCESSOR_MODE
    }
}

mod sealed {
    pub trait Sealed {}
}

/// What the pages are locked for (`LOCK_OPERATION`): [`ReadAccess`],
/// [`WriteAccess`] or [`ModifyAccess`].
pub trait LockAccess: sealed::Sealed {
    /// The `LOCK_OPERATION`.
    const OPERATION: sys::LOCK_OPERATION;
}

/// The accesses that allow writing through a mapping: [`WriteAccess`] and
/// [`ModifyAccess`].
pub trait Writable: LockAccess {}

/// `IoReadAccess`: the driver reads the buffer; its system mapping is
/// read-only (`MdlMappingNoWrite`).
#[derive(Debug)]
pub enum ReadAccess {}
/// `IoWriteAccess`: the driver writes (and may read) the buffer.
#[derive(Debug)]
pub enum WriteAccess {}
/// `IoModifyAccess`: the same rights as `IoWriteAccess`.
#[derive(Debug)]
pub enum ModifyAccess {}

impl sealed::Sealed for ReadAccess {}
impl sealed::Sealed for WriteAccess {}
impl sealed::Sealed for ModifyAccess {}
impl LockAccess for ReadAccess {
    const OPERATION: sys::LOCK_OPERATION = sys::_LOCK_OPERATION::IoReadAccess;
}
impl LockAccess for WriteAccess {
    const OPERATION: sys::LOCK_OPERATION = sys::_LOCK_OPERATION::IoWriteAccess;
}
impl LockAccess for ModifyAccess {
    const OPERATION: sys::LOCK_OPERATION = sys::_LOCK_OPERATION::IoModifyAccess;
}
impl Writable for WriteAccess {}
impl Writable for ModifyAccess {}

/// Whose memory an MDL describes: [`KernelBuffer`] or [`UserBuffer`].
pub trait Memory: sealed::Sealed {}

/// A buffer this driver borrows exclusively (`&mut [u8]`): nothing else
/// touches it while the MDL lives, so a mapping of it is a slice.
#[derive(Debug)]
pub enum KernelBuffer {}
/// A caller's memory (a user address, an I/O manager's MDL): its process
/// may change it at any time, so a mapping of it offers copying accessors,
/// and slices only through `unsafe`.
#[derive(Debug)]
pub enum UserBuffer {}

impl sealed::Sealed for KernelBuffer {}
impl sealed::Sealed for UserBuffer {}
impl Memory for KernelBuffer {}
impl Memory for UserBuffer {}

/// How much a system mapping may fail when system PTEs run short
/// (`MM_PAGE_PRIORITY`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PagePriority {
    /// `LowPagePriority`: may fail when resources are fairly low.
    Low,
    /// `NormalPagePriority`: may fail when resources are very low.
    #[default]
    Normal,
    /// `HighPagePriority`: fails only when resources are exhausted.
    High,
}

impl PagePriority {
    fn to_raw(self) -> sys::ULONG {
        let priority = match self {
            PagePriority::Low => sys::_MM_PAGE_PRIORITY::LowPagePriority,
            PagePriority::Normal => sys::_MM_PAGE_PRIORITY::NormalPagePriority,
            PagePriority::High => sys::_MM_PAGE_PRIORITY::HighPagePriority,
        };
        priority as sys::ULONG
    }
}

/// An MDL this driver allocated (`IoAllocateMdl`), describing a buffer whose
/// pages are not locked: it can be locked, not mapped. `IoFreeMdl` on drop
/// (after detaching it from the IRP it was allocated for, if any). Not
/// `Clone`.
///
/// `M` says whose memory: [`KernelBuffer`] ([`Mdl::new`]) or [`UserBuffer`]
/// ([`Mdl::for_user_buffer`]).
///
/// ```compile_fail,E0599
/// # use wdm_mem::mdl::{Mdl, PagePriority};
/// # fn f() -> wdm_mem::NtResult<()> {
/// let mut buffer = [0u8; 64];
/// let mut mdl = Mdl::new(&mut buffer)?;
/// let mapping = mdl.map(PagePriority::Normal)?; // an unlocked MDL cannot be mapped
/// # Ok(()) }
/// ```
///
/// # Invariants
/// `raw` is an MDL `IoAllocateMdl` returned for the buffer (valid for `'a`
/// when `M` is [`KernelBuffer`]), not locked and not mapped; when `irp` is
/// set, the MDL is linked into that IRP's `MdlAddress` chain and the IRP
/// outlives this value. It is freed exactly once, in `Drop`.
pub struct Mdl<'a, M: Memory = KernelBuffer> {
    raw: NonNull<sys::MDL>,
    irp: Option<NonNull<sys::IRP>>,
    _buffer: PhantomData<BufferMarker<'a, M>>,
}

/// Borrows the buffer exclusively; carries `M`. The raw pointers make the
/// MDL neither `Send` nor `Sync` unless said otherwise below.
type BufferMarker<'a, M> = (&'a mut [u8], fn() -> M);

// SAFETY: a kernel buffer's MDL describes system-space memory the value
// borrows exclusively; the MDL itself is pool memory, usable on any
// processor. (A user buffer's MDL is tied to the process of the thread that
// made it, hence not `Send`.)
unsafe impl Send for Mdl<'_, KernelBuffer> {}

/// `IoAllocateMdl(address, len, secondary, FALSE, irp)` after the checks every
/// constructor makes.
fn allocate(address: *mut u8, len: usize, irp: Option<(NonNull<sys::IRP>, bool)>) -> NtResult<NonNull<sys::MDL>> {
    Irql::ensure_at_most(Irql::DISPATCH)?;
    allocate_at_dispatch(address, len, irp)
}

/// [`allocate`] for a caller that checked the IRQL (`<= DISPATCH_LEVEL`):
/// [`NtStatus::INVALID_PARAMETER`] for a length of 0, above 4 GiB minus a
/// page, or a range that wraps around the address space.
fn allocate_at_dispatch(
    address: *mut u8,
    len: usize,
    irp: Option<(NonNull<sys::IRP>, bool)>,
) -> NtResult<NonNull<sys::MDL>> {
    if len == 0 || len > sys::MDL_MAX_BYTE_COUNT || address.addr().checked_add(len).is_none() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let (irp, secondary) = irp.map_or((core::ptr::null_mut(), false), |(irp, secondary)| (irp.as_ptr(), secondary));
    // SAFETY: IRQL checked; `len` fits in a ULONG (checked above); `irp` is
    // NULL or a valid IRP (the callers' contracts). The MDL only describes
    // the buffer: nothing is touched before a probe.
    let mdl = unsafe { sys::IoAllocateMdl(address.cast(), len as sys::ULONG, secondary.into(), 0, irp) };
    NonNull::new(mdl).ok_or(NtStatus::INSUFFICIENT_RESOURCES)
}

impl<'a> Mdl<'a, KernelBuffer> {
    /// An MDL describing `buffer`, which it borrows until it is freed.
    ///
    /// Errors: [`NtStatus::INVALID_PARAMETER`] for an empty buffer or one
    /// longer than 4 GiB minus a page, [`NtStatus::INVALID_LEVEL`] above
    /// DISPATCH_LEVEL, [`NtStatus::INSUFFICIENT_RESOURCES`] when
    /// `IoAllocateMdl` returns NULL.
    ///
    /// # IRQL
    /// `<= DISPATCH_LEVEL`.
    pub fn new(buffer: &'a mut [u8]) -> NtResult<Self> {
        let raw = allocate(buffer.as_mut_ptr(), buffer.len(), None)?;
        Ok(Mdl { raw, irp: None, _buffer: PhantomData })
    }

    /// [`Mdl::new`], attached to `irp`: as its `MdlAddress`, or at the end of
    /// its MDL chain when `secondary`. Dropping the MDL unlinks it again.
    ///
    /// `IoAllocateMdl` with `SecondaryBuffer = FALSE` overwrites
    /// `Irp->MdlAddress`: an MDL already there (the I/O manager's, for a
    /// direct-I/O request) would be lost, never unlocked nor freed, and the
    /// I/O manager would complete the request with this driver's MDL
    /// instead. So a primary MDL needs an IRP without one:
    /// [`NtStatus::INVALID_PARAMETER`] otherwise, nothing allocated. Else
    /// the errors are [`Mdl::new`]'s.
    ///
    /// # Safety
    /// `irp` is a valid IRP that outlives the returned MDL and is neither
    /// completed nor freed before the MDL is dropped.
    ///
    /// # IRQL
    /// `<= DISPATCH_LEVEL`.
    pub unsafe fn new_in_irp(buffer: &'a mut [u8], irp: NonNull<sys::IRP>, secondary: bool) -> NtResult<Self> {
        // SAFETY: a valid IRP (the caller's contract), only read.
        if !secondary && !unsafe { (*irp.as_ptr()).MdlAddress }.is_null() {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let raw = allocate(buffer.as_mut_ptr(), buffer.len(), Some((irp, secondary)))?;
        Ok(Mdl { raw, irp: Some(irp), _buffer: PhantomData })
    }

    /// An MDL describing `len` bytes of kernel memory at `address`, for a
    /// buffer this crate cannot borrow (e.g. one a kernel-mode requestor
    /// passed, `Irp->RequestorMode == KernelMode`).
    ///
    /// Errors: as [`Mdl::new`]'s, and [`NtStatus::INVALID_PARAMETER`] for a
    /// range that wraps around the address space.
    ///
    /// # Safety
    /// The range is kernel memory that stays allocated while the MDL lives,
    /// and nothing else accesses it then (the MDL's mappings are slices).
    ///
    /// # IRQL
    /// `<= DISPATCH_LEVEL`.
    pub unsafe fn for_kernel_address(address: usize, len: usize) -> NtResult<Mdl<'static, KernelBuffer>> {
        let raw = allocate(address as *mut u8, len, None)?;
        Ok(Mdl { raw, irp: None, _buffer: PhantomData })
    }

    /// Probes the pages for `A` in `mode` and locks them
    /// (`MmProbeAndLockPages` under `__try/__except`).
    ///
    /// Errors: the status of the exception the probe raised
    /// (`STATUS_ACCESS_VIOLATION` e.g. for a user-mode probe of this kernel
    /// buffer), [`NtStatus::INVALID_LEVEL`] above APC_LEVEL. On error the MDL
    /// is freed.
    ///
    /// # IRQL
    /// `<= APC_LEVEL` (the buffer may be pageable; for non-paged memory use
    /// [`NonPagedMdl`]).
    pub fn lock<A: LockAccess>(self, mode: AccessMode) -> NtResult<LockedMdl<'a, KernelBuffer, A>> {
        LockedMdl::probe(self, mode)
    }

    /// Builds the MDL for non-paged memory (`MmBuildMdlForNonPagedPool`):
    /// its pages are resident already, nothing is locked or unlocked.
    ///
    /// # Safety
    /// The buffer is non-paged pool, or other system-space memory that stays
    /// resident while the MDL lives (a non-paged section of the image,
    /// non-cached or contiguous memory). Not paged pool, pageable memory,
    /// user memory, nor a kernel stack: a thread's stack is not pool, and the
    /// kernel may page it out (swap the stack) while the thread waits, so
    /// its pages are not resident for the MDL's lifetime. (The kernel model
    /// reports a stack, like paged pool, as 0xC4/0x7F.)
    /// [`NonPagedMdl::for_pool_buffer`] is the safe way, for pool buffers.
    ///
    /// # IRQL
    /// `<= DISPATCH_LEVEL`.
    pub unsafe fn build_for_non_paged_pool(self) -> NtResult<NonPagedMdl<'a>> {
        Irql::ensure_at_most(Irql::DISPATCH)?;
        // SAFETY: IRQL checked; the MDL is unlocked (invariant) and describes
        // non-paged memory (the caller's contract).
        unsafe { sys::MmBuildMdlForNonPagedPool(self.raw.as_ptr()) };
        Ok(NonPagedMdl::new(self))
    }
}

impl Mdl<'static, UserBuffer> {
    /// An MDL describing `len` bytes of the current process's user memory
    /// at `address` (a METHOD_NEITHER buffer, or a pointer inside a
    /// request). Nothing is touched: [`lock`](Self::lock) probes.
    ///
    /// The range is checked first as a user-mode probe would check it, so
    /// that every kernel (Wine included, whose probe does nothing) gives the
    /// same answer: [`NtStatus::INVALID_PARAMETER`] for a length of 0 or
    /// above 4 GiB minus a page; [`NtStatus::ACCESS_VIOLATION`] for an
    /// address in the first 64 KiB (NULL), a range that wraps around or ends
    /// beyond the user address space (kernel addresses): the end is the
    /// kernel's `MmUserProbeAddress`, read as `wdm.h` does (see
    /// [`sys::user_probe_address`]: until it is first looked up at
    /// PASSIVE_LEVEL, and under Wine, the x64 value `0x7FFF_FFFF_0000`).
    /// Else as [`Mdl::new`].
    ///
    /// # IRQL
    /// `<= DISPATCH_LEVEL`, in the context of the process that owns the
    /// buffer (the requestor's thread).
    pub fn for_user_buffer(address: usize, len: usize) -> NtResult<Self> {
        if len == 0 || len > sys::MDL_MAX_BYTE_COUNT {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let irql = Irql::current();
        if irql > Irql::DISPATCH {
            return Err(NtStatus::INVALID_LEVEL);
        }
        let end = address.checked_add(len).ok_or(NtStatus::ACCESS_VIOLATION)?;
        if address < sys::MM_LOWEST_USER_ADDRESS || end > sys::user_probe_address(irql == Irql::PASSIVE) {
            return Err(NtStatus::ACCESS_VIOLATION);
        }
        let raw = allocate_at_dispatch(address as *mut u8, len, None)?;
        Ok(Mdl { raw, irp: None, _buffer: PhantomData })
    }

    /// Probes the pages for `A` in user mode and locks them: unmapped pages,
    /// pages without the access asked for (a read-only page for
    /// [`WriteAccess`]), kernel memory are `STATUS_ACCESS_VIOLATION`.
    ///
    /// Errors: as [`Mdl::lock`]. On error the MDL is freed.
    ///
    /// # IRQL
    /// `<= APC_LEVEL`, in the context of the process that owns the buffer.
    pub fn lock<A: LockAccess>(self) -> NtResult<LockedMdl<'static, UserBuffer, A>> {
        LockedMdl::probe(self, AccessMode::User)
    }
}

impl<M: Memory> Mdl<'_, M> {
    /// The bytes described (`MmGetMdlByteCount`).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn len(&self) -> usize {
        // SAFETY: a valid MDL (invariant).
        unsafe { self.raw.as_ref() }.ByteCount as usize
    }

    /// Never true: an MDL describes at least one byte.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer's address (`MmGetMdlVirtualAddress`).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn virtual_address(&self) -> usize {
        // SAFETY: a valid MDL (invariant).
        unsafe { sys::MmGetMdlVirtualAddress(self.raw.as_ptr()) as usize }
    }

    /// The kernel's MDL, for routines this crate does not wrap. It stays
    /// owned by `self`.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn as_raw(&self) -> *mut sys::MDL {
        self.raw.as_ptr()
    }
}

impl<M: Memory> Drop for Mdl<'_, M> {
    /// Unlinks the MDL from its IRP, then `IoFreeMdl`. Above DISPATCH_LEVEL
    /// the MDL is leaked (freeing there is not allowed); the model reports
    /// the leak at unload.
    fn drop(&mut self) {
        if Irql::ensure_at_most(Irql::DISPATCH).is_err() {
            return;
        }
        if let Some(irp) = self.irp {
            // SAFETY: the IRP outlives the MDL and its chain is valid
            // (invariant).
            unsafe { detach(irp, self.raw.as_ptr()) };
        }
        // SAFETY: an MDL from IoAllocateMdl, unlocked and unmapped
        // (invariant), freed only here.
        unsafe { sys::IoFreeMdl(self.raw.as_ptr()) };
    }
}

impl<M: Memory> core::fmt::Debug for Mdl<'_, M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mdl")
            .field("raw", &self.raw)
            .field("address", &self.virtual_address())
            .field("len", &self.len())
            .finish()
    }
}

/// Removes `mdl` from the MDL chain of `irp`.
///
/// # Safety
/// `irp` is a valid IRP whose chain holds valid MDLs.
unsafe fn detach(irp: NonNull<sys::IRP>, mdl: *mut sys::MDL) {
    // SAFETY: per the contract, every link is valid.
    unsafe {
        let mut link = &raw mut (*irp.as_ptr()).MdlAddress;
        while !(*link).is_null() {
            if *link == mdl {
                *link = (*mdl).Next;
                (*mdl).Next = core::ptr::null_mut();
                return;
            }
            link = &raw mut (**link).Next;
        }
    }
}

/// The PFN array of a locked or built MDL, as a slice.
///
/// # Safety
/// `raw` is an MDL from `IoAllocateMdl` whose pages are locked (or built for
/// non-paged pool) for at least `'m`.
unsafe fn page_frames<'m>(raw: NonNull<sys::MDL>) -> &'m [sys::PFN_NUMBER] {
    // SAFETY: per the contract: IoAllocateMdl made room for the PFNs of the
    // pages the buffer spans, and the lock filled them.
    unsafe {
        let mdl = raw.as_ptr();
        let pages =
            sys::ADDRESS_AND_SIZE_TO_SPAN_PAGES(sys::MmGetMdlVirtualAddress(mdl) as usize, (*mdl).ByteCount as usize);
        core::slice::from_raw_parts(sys::MmGetMdlPfnArray(mdl), pages)
    }
}
