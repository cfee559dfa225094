//! Tagged pool memory: [`PoolTag`], [`PoolType`], the owning types
//! [`PoolBox`] and [`PoolBuffer`], and [`KernelAllocator`] for
//! `#[global_allocator]`.
//!
//! Allocation goes through `ExAllocatePool2` when the running kernel exports
//! it (found at run time with `MmGetSystemRoutineAddress`, never imported),
//! else `ExAllocatePoolWithTag`; either way the memory is zeroed, as
//! `ExAllocatePool2` does by default. Any alignment is honoured: the kernel
//! guarantees 16 bytes (`MEMORY_ALLOCATION_ALIGNMENT`), and larger alignments
//! are obtained by over-allocating and keeping the kernel's address just
//! below the aligned block.
//!
//! # IRQL
//! Paged pool: allocate, free and touch at `<= APC_LEVEL`. Non-paged pool:
//! allocate and free at `<= DISPATCH_LEVEL`, touch at any IRQL. Where the
//! IRQL is checked (see [`crate::irql`]), an allocation above the maximum
//! returns [`NtStatus::INVALID_LEVEL`], and a drop above it
//! checks the IRQL *before* touching the value: it neither runs the value's
//! destructor nor frees the block, which stays allocated (leaked; the
//! verifier reports it at unload). This is the crate's one rule for every
//! `Drop` above its IRQL, pool blocks and lookaside lists alike (see
//! `release.rs`).
//!
//! Touching a paged value (dereferencing a [`PoolBox`] or [`PoolBuffer`] of
//! [`PoolType::Paged`]) above APC_LEVEL is *not* checked at run time on a
//! real kernel (that would cost an IRQL read per access): it is the page fault
//! Windows reports as `IRQL_NOT_LESS_OR_EQUAL` (0x0A) or
//! `DRIVER_IRQL_NOT_LESS_OR_EQUAL` (0xD1) when the page is out, and with
//! Driver Verifier's IRQL checking (which trims pageable memory on every raise)
//! every time. Keep paged values for code that runs at `<= APC_LEVEL`. The
//! kernel model reports every such touch as 0xD1 (address, IRQL, 0 read / 1
//! write), as it does for `pageable_static!` data.
//!
//! # Resolving the exports in `DriverEntry`
//! `ExAllocatePool2` is looked up with `MmGetSystemRoutineAddress`, which may
//! only be called at PASSIVE_LEVEL. Until a first allocation at
//! PASSIVE_LEVEL (or [`resolve_routines`]) has found it, an allocation at
//! APC_LEVEL or DISPATCH_LEVEL takes the `ExAllocatePoolWithTag` path. Call
//! [`resolve_routines`] first thing in `DriverEntry`: every allocation then
//! takes the same path at every IRQL (it also resolves the
//! `LOOKASIDE_LIST_EX` exports, so that a first
//! [`LookasideListEx`](crate::lookaside::LookasideListEx) may be initialised
//! above PASSIVE_LEVEL).

mod boxed;
mod buffer;
mod global;
mod release;
mod tag;

use core::{
    alloc::Layout,
    ptr::NonNull,
    sync::atomic::{AtomicUsize, Ordering},
};

pub use boxed::PoolBox;
pub use buffer::PoolBuffer;
pub use global::KernelAllocator;
pub(crate) use release::may_release;
pub use tag::PoolTag;

use crate::{Irql, NtResult, NtStatus, sys};

/// A kernel pool. Must-succeed pools do not exist here: they bug-check the
/// system instead of failing, and Windows no longer supports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PoolType {
    /// Non-paged, no-execute (`POOL_FLAG_NON_PAGED`, `NonPagedPoolNx`): the default.
    #[default]
    NonPagedNx,
    /// Non-paged, no-execute, cache-line aligned.
    NonPagedNxCacheAligned,
    /// Paged (`POOL_FLAG_PAGED`, `PagedPool`).
    Paged,
    /// Paged, cache-line aligned.
    PagedCacheAligned,
    /// Non-paged and executable (`POOL_FLAG_NON_PAGED_EXECUTE`,
    /// `NonPagedPoolExecute`): refused by HVCI-enabled systems' policy for new
    /// code; only for what really executes.
    NonPagedExecute,
}

impl PoolType {
    /// Every pool type.
    pub const ALL: [PoolType; 5] = [
        PoolType::NonPagedNx,
        PoolType::NonPagedNxCacheAligned,
        PoolType::Paged,
        PoolType::PagedCacheAligned,
        PoolType::NonPagedExecute,
    ];

    /// The pool for a legacy `POOL_TYPE` value. Must-succeed, session and
    /// unknown types give [`NtStatus::INVALID_PARAMETER`].
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn from_legacy(pool_type: sys::POOL_TYPE) -> NtResult<PoolType> {
        use sys::_POOL_TYPE as T;
        match pool_type {
            T::NonPagedPoolNx => Ok(PoolType::NonPagedNx),
            T::NonPagedPoolNxCacheAligned => Ok(PoolType::NonPagedNxCacheAligned),
            T::PagedPool => Ok(PoolType::Paged),
            T::PagedPoolCacheAligned => Ok(PoolType::PagedCacheAligned),
            T::NonPagedPool => Ok(PoolType::NonPagedExecute),
            _ => Err(NtStatus::INVALID_PARAMETER),
        }
    }

    /// The legacy `POOL_TYPE` (for `ExAllocatePoolWithTag`).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn to_legacy(self) -> sys::POOL_TYPE {
        use sys::_POOL_TYPE as T;
        match self {
            PoolType::NonPagedNx => T::NonPagedPoolNx,
            PoolType::NonPagedNxCacheAligned => T::NonPagedPoolNxCacheAligned,
            PoolType::Paged => T::PagedPool,
            PoolType::PagedCacheAligned => T::PagedPoolCacheAligned,
            PoolType::NonPagedExecute => T::NonPagedPool,
        }
    }

    /// The `POOL_FLAGS` (for `ExAllocatePool2`).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn to_flags(self) -> sys::POOL_FLAGS {
        match self {
            PoolType::NonPagedNx => sys::POOL_FLAG_NON_PAGED,
            PoolType::NonPagedNxCacheAligned => sys::POOL_FLAG_NON_PAGED | sys::POOL_FLAG_CACHE_ALIGNED,
            PoolType::Paged => sys::POOL_FLAG_PAGED,
            PoolType::PagedCacheAligned => sys::POOL_FLAG_PAGED | sys::POOL_FLAG_CACHE_ALIGNED,
            PoolType::NonPagedExecute => sys::POOL_FLAG_NON_PAGED_EXECUTE,
        }
    }

    /// True for the paged pools.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn is_paged(self) -> bool {
        matches!(self, PoolType::Paged | PoolType::PagedCacheAligned)
    }

    /// The highest IRQL at which this pool may be allocated and freed.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn max_irql(self) -> Irql {
        if self.is_paged() { Irql::APC } else { Irql::DISPATCH }
    }
}

/// What this crate's pool allocations hold right now, process-wide (every
/// [`PoolBox`], [`PoolBuffer`] and [`KernelAllocator`] block; not the kernel
/// structures of lookaside lists, nor their entries). A driver can check it
/// is zero in `DriverUnload`.
///
/// Counted only with the feature `pool-stats` (and always with the kernel
/// model): the counters are two process-wide atomics, one cache line that
/// every processor's allocations and frees would update, so the default
/// build does not keep them (and has no `stats` function).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Outstanding allocations.
    pub allocations: usize,
    /// Their bytes, as requested.
    pub bytes: usize,
}

/// Whether this build counts pool allocations (see [`PoolStats`]).
const COUNTED: bool = cfg!(any(wdm_provider = "model", feature = "pool-stats"));

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

/// The outstanding allocations made through this module (feature
/// `pool-stats`, or the kernel model: see [`PoolStats`]).
///
/// # IRQL
/// Any.
#[cfg(any(wdm_provider = "model", feature = "pool-stats"))]
pub fn stats() -> PoolStats {
    PoolStats { allocations: ALLOCATIONS.load(Ordering::Relaxed), bytes: BYTES.load(Ordering::Relaxed) }
}

/// Counts one allocation of `size` bytes in (`delta` 1) or out (-1), when
/// [`COUNTED`].
#[inline(always)]
fn count(delta: isize, size: usize) {
    if COUNTED {
        if delta > 0 {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(size, Ordering::Relaxed);
        } else {
            ALLOCATIONS.fetch_sub(1, Ordering::Relaxed);
            BYTES.fetch_sub(size, Ordering::Relaxed);
        }
    }
}

/// What the kernel guarantees for every pool block on x64
/// (`MEMORY_ALLOCATION_ALIGNMENT`; Wine's heap-backed pool gives no more).
const KERNEL_ALIGNMENT: usize = 16;

/// Where an over-aligned block keeps the kernel's address: the word just
/// below the aligned block (there are at least 16 bytes there).
const HEADER: usize = core::mem::size_of::<usize>();

/// Allocates `layout` from `pool`, tagged `tag`, zeroed if `zeroed`.
///
/// Zero-sized layouts are [`NtStatus::INVALID_PARAMETER`], a size that
/// overflows with the alignment padding [`NtStatus::INTEGER_OVERFLOW`], a
/// call above the pool's IRQL [`NtStatus::INVALID_LEVEL`], a NULL from the
/// kernel [`NtStatus::INSUFFICIENT_RESOURCES`].
pub(crate) fn allocate(layout: Layout, tag: PoolTag, pool: PoolType, zeroed: bool) -> NtResult<NonNull<u8>> {
    let block = allocate_uncounted(layout, tag, pool, zeroed)?;
    count(1, layout.size());
    Ok(block)
}

/// [`allocate`], not counted in [`stats`]: for the crate's own structures
/// (a lookaside list's kernel structure), which are not the driver's
/// allocations.
pub(crate) fn allocate_uncounted(layout: Layout, tag: PoolTag, pool: PoolType, zeroed: bool) -> NtResult<NonNull<u8>> {
    if layout.size() == 0 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    Irql::ensure_at_most(pool.max_irql())?;
    let over_aligned = layout.align() > KERNEL_ALIGNMENT;
    let size = if over_aligned {
        layout.size().checked_add(layout.align()).ok_or(NtStatus::INTEGER_OVERFLOW)?
    } else {
        layout.size()
    };
    let mut flags = pool.to_flags();
    if !zeroed {
        flags |= sys::POOL_FLAG_UNINITIALIZED;
    }
    // Read only until `ExAllocatePool2` is resolved (not a check: it decides
    // whether the lookup may run, so no build compiles it out).
    let at_passive = || Irql::current() == Irql::PASSIVE;
    // SAFETY: `flags` and the legacy type name the same pool, neither raises
    // nor must succeed, and `at_passive` reads the IRQL. The IRQL is within
    // the pool's maximum when checked; unchecked, a call above is the
    // kernel's documented bug check (0xC2, 0xC4 under Verifier), not
    // memory corruption (see `crate::irql`).
    let block = unsafe { sys::allocate_pool(flags, pool.to_legacy(), size as sys::SIZE_T, tag.to_u32(), at_passive) };
    let block = NonNull::new(block.cast::<u8>()).ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
    let aligned = if over_aligned {
        let offset = block.as_ptr().align_offset(layout.align());
        // `block` is 16-aligned and `align` a larger power of two, so the
        // aligned address is 16 to `align - 16` bytes in: room for the header,
        // and `offset + layout.size() <= size`.
        let offset = if offset == 0 { layout.align() } else { offset };
        // SAFETY: `offset <= align`, inside the `size + align` bytes allocated.
        let aligned = unsafe { block.add(offset) };
        // SAFETY: `HEADER <= 16 <= offset`: the header lies inside the block,
        // and `aligned - HEADER` is 8-aligned.
        unsafe { aligned.sub(HEADER).cast::<usize>().write(block.as_ptr() as usize) };
        aligned
    } else {
        block
    };
    Ok(aligned)
}

/// Frees what [`allocate`] returned. Above the pool's IRQL the block is
/// leaked rather than freed (freeing would bug-check), as [`may_release`]
/// says.
///
/// # Safety
/// `block` came from [`allocate`] with the same `layout`, `tag` and `pool`,
/// and is not used afterwards.
pub(crate) unsafe fn free(block: NonNull<u8>, layout: Layout, tag: PoolTag, pool: PoolType) {
    if may_release(|| pool.max_irql()) {
        // SAFETY: the caller's contract; the IRQL was just checked when
        // `Irql::CHECKED`, else is the caller's `# IRQL` contract, whose
        // breach is the kernel's bug check (see `crate::irql`).
        unsafe { free_checked(block, layout, tag) };
    }
}

/// [`free`] once the caller has checked the IRQL with [`may_release`].
///
/// # Safety
/// As [`free`], and the IRQL is at most the pool's maximum.
pub(crate) unsafe fn free_checked(block: NonNull<u8>, layout: Layout, tag: PoolTag) {
    // SAFETY: the caller's contract.
    unsafe { free_uncounted(block, layout, tag) };
    count(-1, layout.size());
}

/// Frees what [`allocate_uncounted`] returned.
///
/// # Safety
/// As [`free_checked`], for a block of [`allocate_uncounted`].
pub(crate) unsafe fn free_uncounted(block: NonNull<u8>, layout: Layout, tag: PoolTag) {
    let kernel_block = if layout.align() > KERNEL_ALIGNMENT {
        // SAFETY: `allocate` wrote the kernel's address in the header word.
        unsafe { block.sub(HEADER).cast::<usize>().read() as *mut u8 }
    } else {
        block.as_ptr()
    };
    // SAFETY: `kernel_block` is the kernel's address of a live block tagged
    // `tag`, at an IRQL the pool allows (contract).
    unsafe { sys::ExFreePoolWithTag(kernel_block.cast(), tag.to_u32()) };
}

/// What [`resolve_routines`] found in the running kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelRoutines {
    /// `ExAllocatePool2` (Windows 10 2004 and later): pool allocations use it
    /// at every IRQL; without it, `ExAllocatePoolWithTag` (and zeroing).
    pub ex_allocate_pool2: bool,
    /// `ExInitializeLookasideListEx` and `ExDeleteLookasideListEx` (Vista
    /// and later; not Wine 8):
    /// [`LookasideListEx`](crate::lookaside::LookasideListEx) lists work.
    pub lookaside_list_ex: bool,
}

/// Looks up, once and for all, the exports this crate finds at run time
/// (`ExAllocatePool2`, the `LOOKASIDE_LIST_EX` routines), so that no later
/// call depends on the IRQL it runs at: call it first thing in
/// `DriverEntry`. Returns what the kernel has.
///
/// Errors: [`NtStatus::INVALID_LEVEL`] above PASSIVE_LEVEL (where
/// `MmGetSystemRoutineAddress` may not be called); nothing is looked up then.
///
/// With the kernel model, the answers are not cached (each test presents its
/// own exports), so the call only reports.
///
/// # IRQL
/// PASSIVE_LEVEL.
pub fn resolve_routines() -> NtResult<KernelRoutines> {
    Irql::ensure_at_most(Irql::PASSIVE)?;
    Ok(KernelRoutines {
        ex_allocate_pool2: sys::EX_ALLOCATE_POOL2.address(true).is_some(),
        lookaside_list_ex: sys::lookaside_list_ex_routines(true).is_some(),
    })
}
