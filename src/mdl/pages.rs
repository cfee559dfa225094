//! [`PagesMdl`]: an MDL of fresh physical pages (`MmAllocatePagesForMdlEx`),
//! the modern way to get pages for DMA or for sharing, freed on drop with
//! `MmFreePagesFromMdl` and then `ExFreePool` of the MDL, in that order.

use core::{cell::Cell, ptr::NonNull};

use super::{KernelBuffer, PagePriority, SystemMapping, WriteAccess, mapping::Owner};
use crate::{
    Irql, NtResult, NtStatus,
    memory::{CacheType, PhysicalAddress},
    sys,
};

/// The `MM_ALLOCATE_*` flags of a [`PageRequest`]. `MM_DONT_ZERO_ALLOCATION`
/// is not offered: the pages are always zeroed (stale pages would hand this
/// driver, and whoever it shares them with, another component's data).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PageFlags(u32);

impl PageFlags {
    /// No flag.
    pub const NONE: PageFlags = PageFlags(0);
    /// `MM_ALLOCATE_FULLY_REQUIRED`: all the pages or none (no partial MDL).
    pub const FULLY_REQUIRED: PageFlags = PageFlags(sys::MM_ALLOCATE_FULLY_REQUIRED);
    /// `MM_ALLOCATE_NO_WAIT`: do not wait for pages; allows DISPATCH_LEVEL.
    pub const NO_WAIT: PageFlags = PageFlags(sys::MM_ALLOCATE_NO_WAIT);
    /// `MM_ALLOCATE_FROM_LOCAL_NODE_ONLY`: pages of the current NUMA node.
    pub const LOCAL_NODE_ONLY: PageFlags = PageFlags(sys::MM_ALLOCATE_FROM_LOCAL_NODE_ONLY);
    /// `MM_ALLOCATE_PREFER_CONTIGUOUS`.
    pub const PREFER_CONTIGUOUS: PageFlags = PageFlags(sys::MM_ALLOCATE_PREFER_CONTIGUOUS);
    /// `MM_ALLOCATE_REQUIRE_CONTIGUOUS_CHUNKS`.
    pub const REQUIRE_CONTIGUOUS_CHUNKS: PageFlags = PageFlags(sys::MM_ALLOCATE_REQUIRE_CONTIGUOUS_CHUNKS);

    /// Both sets of flags.
    ///
    /// # IRQL
    /// Any.
    pub const fn union(self, other: PageFlags) -> PageFlags {
        PageFlags(self.0 | other.0)
    }

    /// Whether every flag of `other` is set.
    ///
    /// # IRQL
    /// Any.
    pub const fn contains(self, other: PageFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

/// What [`PagesMdl::allocate`] asks `MmAllocatePagesForMdlEx` for: `bytes`
/// bytes of pages between `low` and `high` (physical addresses), searched in
/// steps of `skip` bytes (a multiple of the page size; 0: the kernel's
/// choice), with a cache type and flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// The bytes asked for (rounded up to whole pages by the kernel). One
    /// MDL describes at most 4 GiB - PAGE (its `ByteCount` is a `ULONG`): a
    /// larger request gets fewer bytes, or none with
    /// [`PageFlags::FULLY_REQUIRED`].
    pub bytes: usize,
    /// The lowest physical address a page may have.
    pub low: PhysicalAddress,
    /// The highest physical address a page may have.
    pub high: PhysicalAddress,
    /// `SkipBytes`: the stride of the search when the range has no pages.
    pub skip: u64,
    /// The cache type of the pages (non-cached, cached or write-combined).
    pub cache: CacheType,
    /// `MM_ALLOCATE_*` flags.
    pub flags: PageFlags,
}

impl PageRequest {
    /// `bytes` of cached pages anywhere in physical memory, no flag.
    ///
    /// # IRQL
    /// Any.
    pub const fn new(bytes: usize) -> PageRequest {
        PageRequest {
            bytes,
            low: PhysicalAddress::new(0),
            high: PhysicalAddress::MAX,
            skip: 0,
            cache: CacheType::Cached,
            flags: PageFlags::NONE,
        }
    }
}

/// An MDL of fresh, zeroed, resident pages from `MmAllocatePagesForMdlEx`.
/// Not `Clone`: it owns the pages and the MDL. Drop frees the pages
/// (`MmFreePagesFromMdl`), then the MDL (`ExFreePool`: such an MDL is not
/// `IoFreeMdl`'s), in that order; a [`SystemMapping`] borrows the value, so
/// it is unmapped before either.
///
/// **Partial allocations**: the kernel may grant fewer pages than asked;
/// [`len`](Self::len) (the MDL's `ByteCount`) is what was granted, and
/// [`requested`](Self::requested) what was asked. Ask with
/// [`PageFlags::FULLY_REQUIRED`] to get all or an error.
///
/// ```
/// # let kernel = wdm_mem::model::Kernel::new();
/// use wdm_mem::mdl::{PageFlags, PagePriority, PageRequest, PagesMdl};
///
/// let mut pages = PagesMdl::allocate(&PageRequest { flags: PageFlags::FULLY_REQUIRED, ..PageRequest::new(3 * 4096) })?;
/// assert_eq!(pages.len(), 3 * 4096);
/// assert_eq!(pages.page_frames().len(), 3);   // for a device's DMA descriptors
/// let mut mapping = pages.map(PagePriority::Normal)?;
/// mapping[..4].copy_from_slice(b"ring");
/// drop(mapping);                              // MmUnmapLockedPages
/// drop(pages);                                // MmFreePagesFromMdl, then ExFreePool
/// # kernel.assert_clean();
/// # Ok::<(), wdm_mem::NtStatus>(())
/// ```
///
/// A mapping cannot outlive the pages:
///
/// ```compile_fail,E0505
/// # use wdm_mem::mdl::{PagePriority, PageRequest, PagesMdl};
/// let mut pages = PagesMdl::allocate(&PageRequest::new(4096)).unwrap();
/// let mapping = pages.map(PagePriority::Normal).unwrap();
/// drop(pages);
/// mapping.len();
/// ```
///
/// nor is it `Clone`:
///
/// ```compile_fail,E0599
/// # use wdm_mem::mdl::{PageRequest, PagesMdl};
/// let pages = PagesMdl::allocate(&PageRequest::new(4096)).unwrap();
/// let twice = pages.clone();
/// ```
///
/// # Where it runs
/// Windows (Server 2003 SP1 and later) exports both routines. Wine 8 has no
/// `MmAllocatePagesForMdlEx` (and a `MmFreePagesFromMdl` stub that raises):
/// [`allocate`](Self::allocate) answers [`NtStatus::PROCEDURE_NOT_FOUND`].
/// The kernel model implements both, with partial grants
/// (`model::Kernel::limit_mdl_pages`) and the verifier's checks of the
/// order of the frees.
///
/// # Invariants
/// `mdl` is the MDL `MmAllocatePagesForMdlEx` returned, with a non-zero
/// `ByteCount`, its pages allocated and resident until `Drop`, which calls
/// `free_pages` (the kernel's `MmFreePagesFromMdl`) and then `ExFreePool`
/// on it exactly once, unless `user_mappings` is not 0: then both are
/// leaked (a process still sees the pages). `cache` is the pages' cache
/// type.
pub struct PagesMdl {
    pub(super) mdl: NonNull<sys::MDL>,
    free_pages: sys::PFN_MM_FREE_PAGES_FROM_MDL,
    requested: usize,
    pub(super) cache: CacheType,
    /// The live [`UserMapping`](super::UserMapping)s of the pages (and those
    /// leaked: never uncounted).
    pub(super) user_mappings: Cell<usize>,
}

// SAFETY: the MDL and its pages are system memory, valid in every thread and
// process context; the value owns them exclusively.
unsafe impl Send for PagesMdl {}

impl PagesMdl {
    /// `MmAllocatePagesForMdlEx` for `request`.
    ///
    /// Errors: [`NtStatus::INVALID_LEVEL`] above APC_LEVEL (DISPATCH_LEVEL
    /// with [`PageFlags::NO_WAIT`]); [`NtStatus::INVALID_PARAMETER`] for 0
    /// bytes, `low > high`, a `skip` that is not a multiple of the page size,
    /// an address above [`PhysicalAddress::MAX`], or a cache type other than
    /// non-cached, cached and write-combined;
    /// [`NtStatus::PROCEDURE_NOT_FOUND`] when the kernel lacks either routine
    /// (Wine; or above PASSIVE_LEVEL before they were looked up: see
    /// [`resolve_routines`]); [`NtStatus::INSUFFICIENT_RESOURCES`] when the
    /// kernel returns NULL or an empty MDL (no pages, or fewer than asked
    /// with [`PageFlags::FULLY_REQUIRED`]).
    ///
    /// # IRQL
    /// `<= APC_LEVEL`; `<= DISPATCH_LEVEL` with [`PageFlags::NO_WAIT`].
    pub fn allocate(request: &PageRequest) -> NtResult<Self> {
        let max = if request.flags.contains(PageFlags::NO_WAIT) { Irql::DISPATCH } else { Irql::APC };
        Irql::ensure_at_most(max)?;
        let valid_cache = matches!(request.cache, CacheType::NonCached | CacheType::Cached | CacheType::WriteCombined);
        if request.bytes == 0 || request.low > request.high || request.skip % sys::PAGE_SIZE as u64 != 0 || !valid_cache
        {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let skip = i64::try_from(request.skip).map_err(|_| NtStatus::INVALID_PARAMETER)?;
        let (low, high) = (request.low.to_raw()?, request.high.to_raw()?);
        let (allocate, free_pages) = routines(Irql::current() == Irql::PASSIVE).ok_or(NtStatus::PROCEDURE_NOT_FOUND)?;
        // SAFETY: the IRQL is checked for the flags; the arguments are valid
        // (checked above); a returned MDL is owned here.
        let mdl = unsafe {
            allocate(
                low,
                high,
                sys::PHYSICAL_ADDRESS { QuadPart: skip },
                request.bytes as sys::SIZE_T,
                request.cache.to_raw(),
                request.flags.0,
            )
        };
        let mdl = NonNull::new(mdl).ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        // INVARIANT: the MDL and pages the kernel just allocated, owned here;
        // an empty one is released by the drop.
        let pages =
            PagesMdl { mdl, free_pages, requested: request.bytes, cache: request.cache, user_mappings: Cell::new(0) };
        if pages.is_empty() {
            return Err(NtStatus::INSUFFICIENT_RESOURCES);
        }
        Ok(pages)
    }

    /// The bytes the MDL describes (`ByteCount`): possibly fewer than
    /// [`requested`](Self::requested) (a partial allocation), never more.
    ///
    /// # IRQL
    /// Any: no kernel call, non-paged memory.
    pub fn len(&self) -> usize {
        // SAFETY: a live MDL (invariant).
        unsafe { self.mdl.as_ref() }.ByteCount as usize
    }

    /// Never true for a value [`allocate`](Self::allocate) returned.
    ///
    /// # IRQL
    /// Any.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kernel's MDL, for routines this crate does not wrap.
    ///
    /// # IRQL
    /// Any: no kernel call.
    pub fn as_raw(&self) -> *mut sys::MDL {
        self.mdl.as_ptr()
    }

    /// The bytes asked for.
    ///
    /// # IRQL
    /// Any.
    pub fn requested(&self) -> usize {
        self.requested
    }

    /// The page frame numbers of the pages (for a device's DMA descriptors:
    /// the pages are resident until drop).
    ///
    /// # IRQL
    /// Any: no kernel call, non-paged memory.
    pub fn page_frames(&self) -> &[sys::PFN_NUMBER] {
        // SAFETY: the MDL's pages are allocated and resident while `self`
        // lives (invariant), and its PFN array holds one entry per page of
        // `ByteCount` (StartVa and ByteOffset are 0).
        unsafe { super::page_frames(self.mdl) }
    }

    /// The pages mapped into system space (`MmGetSystemAddressForMdlSafe`),
    /// read-write.
    ///
    /// Errors: [`NtStatus::NOT_SUPPORTED`] for pages that are not cached
    /// (the system mapping is cached: mapping the pages with another cache
    /// type than theirs is a conflict the processor does not resolve);
    /// [`NtStatus::INVALID_DEVICE_STATE`] while a [`UserMapping`](super::UserMapping)
    /// of the pages was leaked (a process can write them: no slice of them);
    /// [`NtStatus::INSUFFICIENT_RESOURCES`] for NULL;
    /// [`NtStatus::INVALID_LEVEL`] above DISPATCH_LEVEL.
    ///
    /// # IRQL
    /// `<= DISPATCH_LEVEL`.
    pub fn map(&mut self, priority: PagePriority) -> NtResult<SystemMapping<'_, KernelBuffer, WriteAccess>> {
        if self.cache != CacheType::Cached {
            return Err(NtStatus::NOT_SUPPORTED);
        }
        if self.user_mappings.get() != 0 {
            return Err(NtStatus::INVALID_DEVICE_STATE);
        }
        // SAFETY: the pages are locked and resident while `self` lives
        // (invariant), this driver's, and mapped by this value only (it
        // borrows `self` mutably).
        unsafe { SystemMapping::new(self.mdl, priority, Owner::Driver) }
    }
}

/// The two routines, when the kernel exports both.
fn routines(at_passive: bool) -> Option<(sys::PFN_MM_ALLOCATE_PAGES_FOR_MDL_EX, sys::PFN_MM_FREE_PAGES_FROM_MDL)> {
    let allocate = sys::MM_ALLOCATE_PAGES_FOR_MDL_EX.address(at_passive)?;
    let free = sys::MM_FREE_PAGES_FROM_MDL.address(at_passive)?;
    // SAFETY: the kernel exports these names with these types (wdm.h).
    Some(unsafe {
        (
            core::mem::transmute::<usize, sys::PFN_MM_ALLOCATE_PAGES_FOR_MDL_EX>(allocate),
            core::mem::transmute::<usize, sys::PFN_MM_FREE_PAGES_FROM_MDL>(free),
        )
    })
}

/// Looks up `MmAllocatePagesForMdlEx` and `MmFreePagesFromMdl` once, so that
/// [`PagesMdl::allocate`] works above PASSIVE_LEVEL too: call it in
/// `DriverEntry`. True when the kernel has both (false under Wine 8).
///
/// Errors: [`NtStatus::INVALID_LEVEL`] above PASSIVE_LEVEL.
///
/// # IRQL
/// PASSIVE_LEVEL.
pub fn resolve_routines() -> NtResult<bool> {
    Irql::ensure_at_most(Irql::PASSIVE)?;
    Ok(routines(true).is_some())
}

impl Drop for PagesMdl {
    /// `MmFreePagesFromMdl`, then `ExFreePool` of the MDL. Above
    /// DISPATCH_LEVEL both are leaked (neither may be called there); the
    /// model reports the leak at unload.
    ///
    /// Pages a leaked [`UserMapping`](super::UserMapping) still maps into a
    /// process are leaked with their MDL: freeing them would hand the
    /// process pages the system reuses.
    fn drop(&mut self) {
        if Irql::ensure_at_most(Irql::DISPATCH).is_err() || self.user_mappings.get() != 0 {
            return;
        }
        // SAFETY: the live MDL of MmAllocatePagesForMdlEx (invariant), not
        // mapped (a system mapping borrows `self`; no user mapping is
        // counted), its pages freed once, here.
        unsafe { (self.free_pages)(self.mdl.as_ptr()) };
        // SAFETY: the MDL itself, allocated by MmAllocatePagesForMdlEx, freed
        // with ExFreePool (as the DDI reference says) once, after its pages.
        unsafe { sys::ExFreePool(self.mdl.as_ptr().cast()) };
    }
}

impl core::fmt::Debug for PagesMdl {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PagesMdl")
            .field("mdl", &self.mdl)
            .field("len", &self.len())
            .field("requested", &self.requested)
            .field("cache", &self.cache)
            .finish()
    }
}
