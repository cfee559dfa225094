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
//! allocate and free at `<= DISPATCH_LEVEL`, touch at any IRQL. An allocation
//! above the maximum returns [`NtStatus::INVALID_LEVEL`]; a drop above it
//! leaks the block instead of bug-checking (the model's verifier reports the
//! leak at unload).

mod boxed;
mod buffer;
mod global;
mod tag;

use core::{
    alloc::Layout,
    ptr::NonNull,
    sync::atomic::{AtomicUsize, Ordering},
};

pub use boxed::PoolBox;
pub use buffer::PoolBuffer;
pub use global::KernelAllocator;
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
/// [`PoolBox`], [`PoolBuffer`] and [`KernelAllocator`] block). A driver can
/// check it is zero in `DriverUnload`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Outstanding allocations.
    pub allocations: usize,
    /// Their bytes, as requested.
    pub bytes: usize,
}

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

/// The outstanding allocations made through this module.
///
/// # IRQL
/// Any.
pub fn stats() -> PoolStats {
    PoolStats { allocations: ALLOCATIONS.load(Ordering::Relaxed), bytes: BYTES.load(Ordering::Relaxed) }
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
    if layout.size() == 0 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    // One IRQL read serves both the check and the export lookup (a trapped
    // `mov cr8` under Wine).
    let irql = Irql::current();
    if irql > pool.max_irql() {
        return Err(NtStatus::INVALID_LEVEL);
    }
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
    let at_passive = irql == Irql::PASSIVE;
    // SAFETY: `flags` and the legacy type name the same pool, neither raises
    // nor must succeed, the IRQL was checked against the pool's maximum, and
    // `at_passive` is read from it.
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
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    BYTES.fetch_add(layout.size(), Ordering::Relaxed);
    Ok(aligned)
}

/// Frees what [`allocate`] returned. Above the pool's IRQL the block is
/// leaked rather than freed (freeing would bug-check).
///
/// # Safety
/// `block` came from [`allocate`] with the same `layout`, `tag` and `pool`,
/// and is not used afterwards.
pub(crate) unsafe fn free(block: NonNull<u8>, layout: Layout, tag: PoolTag, pool: PoolType) {
    if Irql::ensure_at_most(pool.max_irql()).is_err() {
        return;
    }
    let kernel_block = if layout.align() > KERNEL_ALIGNMENT {
        // SAFETY: `allocate` wrote the kernel's address in the header word.
        unsafe { block.sub(HEADER).cast::<usize>().read() as *mut u8 }
    } else {
        block.as_ptr()
    };
    // SAFETY: `kernel_block` is the kernel's address of a live block tagged
    // `tag`, at an IRQL the pool allows.
    unsafe { sys::ExFreePoolWithTag(kernel_block.cast(), tag.to_u32()) };
    ALLOCATIONS.fetch_sub(1, Ordering::Relaxed);
    BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
}
