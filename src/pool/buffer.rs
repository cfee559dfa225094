//! [`PoolBuffer`]: a zeroed byte buffer in pool memory, of any alignment.

use core::{
    alloc::Layout,
    fmt,
    ops::{Deref, DerefMut},
};

use super::{PoolTag, PoolType, allocate, free};
use crate::{NtResult, NtStatus, plain::OwnedBytes, sys};

/// `len` zeroed bytes of pool memory aligned to `align`, tagged, freed with
/// `ExFreePoolWithTag` on drop. Not `Clone`: it owns its block. A paged
/// buffer may only be dereferenced at `<= APC_LEVEL` (see the
/// [module's IRQL rules](super#irql)); dropped above its pool's IRQL, it
/// leaks its block.
///
/// ```
/// # let kernel = wdm_mem::model::Kernel::new();
/// use wdm_mem::{pool::{PoolBuffer, PoolType}, pool_tag};
///
/// let mut buffer = PoolBuffer::new(100, 64, pool_tag!(b"Doc2"), PoolType::NonPagedNx)?;
/// assert!(buffer.iter().all(|&b| b == 0));
/// assert_eq!(buffer.as_ptr() as usize % 64, 0);
/// buffer[..5].copy_from_slice(b"hello");
/// # drop(buffer);
/// # kernel.assert_clean();
/// # Ok::<(), wdm_mem::NtStatus>(())
/// ```
///
/// # Invariants
/// `bytes` is the block that the crate's pool allocator returned, zeroed, for
/// `layout` (`bytes.len() == layout.size()`), `tag` and `pool`; the buffer
/// frees it exactly once, in `Drop`.
pub struct PoolBuffer {
    bytes: OwnedBytes,
    layout: Layout,
    tag: PoolTag,
    pool: PoolType,
}

impl PoolBuffer {
    /// Allocates `len` zeroed bytes aligned to `align` (a power of two; 0 or 1
    /// for no requirement) from `pool`, tagged `tag`.
    ///
    /// Errors: [`NtStatus::INVALID_PARAMETER`] for `len == 0` or an `align`
    /// that is not a power of two, [`NtStatus::INTEGER_OVERFLOW`] when `len`
    /// plus the alignment padding overflows, [`NtStatus::INVALID_LEVEL`] above
    /// the pool's IRQL, [`NtStatus::INSUFFICIENT_RESOURCES`] when the kernel
    /// returns NULL. Nothing is allocated on error.
    ///
    /// # IRQL
    /// `<= APC_LEVEL` for paged pools, `<= DISPATCH_LEVEL` otherwise; a paged
    /// buffer may only be touched at `<= APC_LEVEL`.
    pub fn new(len: usize, align: usize, tag: PoolTag, pool: PoolType) -> NtResult<PoolBuffer> {
        let layout = Layout::from_size_align(len, align.max(1)).map_err(|_| {
            if align.max(1).is_power_of_two() { NtStatus::INTEGER_OVERFLOW } else { NtStatus::INVALID_PARAMETER }
        })?;
        let ptr = allocate(layout, tag, pool, true)?;
        // SAFETY: `allocate` returned `layout.size()` zeroed bytes of pool
        // memory, which the buffer owns until `Drop`.
        let bytes = unsafe { OwnedBytes::new(ptr, layout.size()) };
        Ok(PoolBuffer { bytes, layout, tag, pool })
    }

    /// The alignment the buffer was allocated with.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn align(&self) -> usize {
        self.layout.align()
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

impl Deref for PoolBuffer {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        sys::note_pool_access(self.bytes.as_non_null().as_ptr().cast(), self.bytes.len(), false);
        self.bytes.as_slice()
    }
}

impl DerefMut for PoolBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        sys::note_pool_access(self.bytes.as_non_null().as_ptr().cast(), self.bytes.len(), true);
        self.bytes.as_mut_slice()
    }
}

impl Drop for PoolBuffer {
    fn drop(&mut self) {
        // SAFETY: the block came from `allocate` with this layout, tag and pool.
        unsafe { free(self.bytes.as_non_null(), self.layout, self.tag, self.pool) };
    }
}

impl fmt::Debug for PoolBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuffer")
            .field("len", &self.layout.size())
            .field("align", &self.layout.align())
            .field("tag", &self.tag)
            .field("pool", &self.pool)
            .finish()
    }
}
