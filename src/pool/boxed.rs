//! [`PoolBox`]: one value of `T` in pool memory.

use core::{
    alloc::Layout,
    fmt,
    marker::PhantomData,
    ops::{Deref, DerefMut},
    pin::Pin,
    ptr::NonNull,
};

use super::{PoolTag, PoolType, allocate, free_checked, may_release};
use crate::{NtResult, NtStatus, sys};

/// A `T` in pool memory, tagged, freed with `ExFreePoolWithTag` on drop.
///
/// Any alignment of `T` is honoured. Not `Clone`: it owns its block.
///
/// A box of a paged pool may only be dereferenced at `<= APC_LEVEL`: above,
/// the access is the page fault of the [module's IRQL rules](super#irql) (a
/// bug check, reported as 0xD1 by the kernel model). Dropped above its
/// pool's IRQL, the box leaks its block without running `T`'s destructor.
///
/// # Invariants
/// `ptr` points to a live, initialised `T` at the start of a block that
/// the crate's pool allocator returned for `Layout::new::<T>()`, `tag` and `pool`; the box
/// frees it exactly once, in `Drop`.
pub struct PoolBox<T> {
    ptr: NonNull<T>,
    tag: PoolTag,
    pool: PoolType,
    _owns: PhantomData<T>,
}

// SAFETY: a PoolBox owns its T like a Box does; pool memory is not tied to a
// thread.
unsafe impl<T: Send> Send for PoolBox<T> {}
// SAFETY: shared access gives only `&T`.
unsafe impl<T: Sync> Sync for PoolBox<T> {}

impl<T> PoolBox<T> {
    /// Moves `value` into a new block of `pool`, tagged `tag`.
    ///
    /// Errors: [`NtStatus::INVALID_PARAMETER`] for a zero-sized `T` (there is
    /// nothing to allocate), [`NtStatus::INVALID_LEVEL`] above the pool's
    /// IRQL, [`NtStatus::INSUFFICIENT_RESOURCES`] when the pool is exhausted;
    /// `value` is dropped then.
    ///
    /// # IRQL
    /// `<= APC_LEVEL` for paged pools, `<= DISPATCH_LEVEL` otherwise; the
    /// value of a paged box may only be touched at `<= APC_LEVEL`.
    pub fn new(value: T, tag: PoolTag, pool: PoolType) -> NtResult<PoolBox<T>> {
        let layout = Layout::new::<T>();
        if layout.size() == 0 {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let ptr = allocate(layout, tag, pool, false)?.cast::<T>();
        // SAFETY: `ptr` is a fresh block of `size_of::<T>()` bytes aligned for T.
        unsafe { ptr.write(value) };
        Ok(PoolBox { ptr, tag, pool, _owns: PhantomData })
    }

    /// [`new`](Self::new), pinned: for values that must not move.
    ///
    /// # IRQL
    /// As [`new`](Self::new).
    pub fn pin(value: T, tag: PoolTag, pool: PoolType) -> NtResult<Pin<PoolBox<T>>> {
        // SAFETY: the value lives in its own pool block, which never moves;
        // `Drop` either drops it in place before freeing the block, or (above
        // the pool's IRQL) does neither: the block is never freed then.
        Self::new(value, tag, pool).map(|boxed| unsafe { Pin::new_unchecked(boxed) })
    }

    /// The tag of the block.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn tag(&self) -> PoolTag {
        self.tag
    }

    /// The pool of the block.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn pool_type(&self) -> PoolType {
        self.pool
    }
}

impl<T> Deref for PoolBox<T> {
    type Target = T;

    fn deref(&self) -> &T {
        sys::note_pool_access(self.ptr.as_ptr().cast(), size_of::<T>(), false);
        // SAFETY: by the invariants `ptr` is a live, initialised T owned by self.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> DerefMut for PoolBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        sys::note_pool_access(self.ptr.as_ptr().cast(), size_of::<T>(), true);
        // SAFETY: as in `deref`, and `&mut self` makes the access unique.
        unsafe { self.ptr.as_mut() }
    }
}

impl<T> Drop for PoolBox<T> {
    fn drop(&mut self) {
        // The IRQL first, before the value is touched (see `release.rs`):
        // above the pool's maximum the block and its value are leaked.
        if !may_release(|| self.pool.max_irql()) {
            return;
        }
        // SAFETY: by the invariants the T is live and dropped only here.
        unsafe { self.ptr.drop_in_place() };
        // SAFETY: the block came from `allocate` with this layout and tag, and
        // the IRQL is within the pool's maximum.
        unsafe { free_checked(self.ptr.cast(), Layout::new::<T>(), self.tag) };
    }
}

impl<T: fmt::Debug> fmt::Debug for PoolBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBox").field("tag", &self.tag).field("pool", &self.pool).field("value", &**self).finish()
    }
}
