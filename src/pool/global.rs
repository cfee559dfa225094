//! [`KernelAllocator`]: pool memory for `alloc` (`Box`, `Vec`, ...).

use core::{
    alloc::{GlobalAlloc, Layout},
    ptr::{NonNull, null_mut},
};

use super::{PoolTag, PoolType, allocate, free};

/// A `GlobalAlloc` over one pool and tag, honouring every alignment (unlike
/// `wdk-alloc`, which ignores `Layout::align`).
///
/// ```ignore
/// #[global_allocator]
/// static ALLOCATOR: KernelAllocator = KernelAllocator::new(pool_tag!(b"Rust"), PoolType::NonPagedNx);
/// ```
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
