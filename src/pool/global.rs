//! [`KernelAllocator`]: pool memory for `alloc` (`Box`, `Vec`, ...).

use core::{
    alloc::{GlobalAlloc, Layout},
    ptr::{NonNull, null_mut},
};

use super::{PoolTag, PoolType, allocate, free};

/// A `GlobalAlloc` over one pool and tag, honouring every alignment (unlike
/// `wdk-alloc`, which ignores `Layout::align`).
///
/// In a driver: `#[global_allocator] static ALLOCATOR: KernelAllocator =
/// KernelAllocator::new(pool_tag!(b"Rust"), PoolType::NonPagedNx);` (the
/// sample driver does). Used directly:
///
/// ```
/// # let kernel = wdm_mem::model::Kernel::new();
/// use core::alloc::{GlobalAlloc, Layout};
/// use wdm_mem::{pool::{KernelAllocator, PoolType}, pool_tag};
///
/// static ALLOCATOR: KernelAllocator = KernelAllocator::new(pool_tag!(b"Rust"), PoolType::NonPagedNx);
/// let layout = Layout::from_size_align(256, 128).unwrap();
/// // SAFETY: a non-zero layout, freed with the same layout.
/// unsafe {
///     let block = ALLOCATOR.alloc_zeroed(layout);
///     assert_eq!(block as usize % 128, 0);
///     ALLOCATOR.dealloc(block, layout);
/// }
/// # kernel.assert_clean();
/// ```
///
/// Its blocks are touched by whatever owns them (`Box`, `Vec`), which this
/// crate does not see: with a paged pool, keep them to code at <=
/// APC_LEVEL (the kernel model cannot report those touches).
///
/// # IRQL
/// As the pool's: with [`PoolType::NonPagedNx`], `alloc` works up to
/// DISPATCH_LEVEL. Above the pool's maximum, `alloc` returns NULL (Rust's
/// allocation-error path then runs) and `dealloc` leaks the block rather than
/// bug-checking.
#[derive(Clone, Copy, Debug)]
pub struct KernelAllocator {
    tag: PoolTag,
    pool: PoolType,
}

impl KernelAllocator {
    /// An allocator for `pool`, tagging every block `tag`.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn new(tag: PoolTag, pool: PoolType) -> KernelAllocator {
        KernelAllocator { tag, pool }
    }
}

// SAFETY: blocks come from `allocate` with the caller's layout (size and
// alignment honoured) and go back through `free` with the same layout, tag and
// pool; failures are NULL, never a panic.
unsafe impl GlobalAlloc for KernelAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        allocate(layout, self.tag, self.pool, false).map_or(null_mut(), NonNull::as_ptr)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        allocate(layout, self.tag, self.pool, true).map_or(null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(block) = NonNull::new(ptr) {
            // SAFETY: GlobalAlloc's contract: `ptr` came from this allocator
            // with `layout`.
            unsafe { free(block, layout, self.tag, self.pool) };
        }
    }
}
