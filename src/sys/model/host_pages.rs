//! [`HostPages`]: whole pages of host memory of their own, for the model's
//! kernel allocations (pool blocks, non-cached and contiguous memory), so
//! that freed memory can be made inaccessible: a use after free then faults
//! at once instead of reading stale bytes.

/// Whole pages of host memory, given back to the host when dropped.
///
/// # Invariants
/// `address..address + len` is memory this value owns: on Linux an
/// anonymous read-write mapping (or, after
/// [`make_inaccessible`](Self::make_inaccessible), a `PROT_NONE` one);
/// elsewhere a block of the host allocator of layout `(len, PAGE)`.
pub(super) struct HostPages {
    address: usize,
    len: usize,
}

const PAGE: usize = crate::sys::PAGE_SIZE as usize;

impl HostPages {
    /// At least `size` (non-zero) bytes, page-aligned (so 16-aligned, as x64
    /// pool blocks are), read-write; `None` if the host has no room.
    pub(super) fn new(size: usize) -> Option<HostPages> {
        let len = size.max(1).checked_next_multiple_of(PAGE)?;
        let address = host::map(len)?;
        Some(HostPages { address, len })
    }

    /// The first byte.
    pub(super) fn address(&self) -> usize {
        self.address
    }

    /// The bytes owned: whole pages.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Fills the pages with `byte`, then protects them `PROT_NONE` where
    /// the host can (Linux): they stay reserved, so no later allocation
    /// lands there, until the value is dropped.
    pub(super) fn make_inaccessible(self, byte: u8) -> HostPages {
        // SAFETY: the pages are this value's own and read-write (invariant).
        unsafe {
            std::ptr::write_bytes(self.address as *mut u8, byte, self.len);
            host::protect_none(self.address, self.len);
        }
        self
    }
}

impl Drop for HostPages {
    fn drop(&mut self) {
        // SAFETY: the memory is this value's own (invariant), and nothing
        // uses it any more.
        unsafe { host::unmap(self.address, self.len) };
    }
}

#[cfg(target_os = "linux")]
mod host {
    /// A fresh anonymous read-write mapping of `len` bytes.
    pub(super) fn map(len: usize) -> Option<usize> {
        // SAFETY: a fresh anonymous mapping, at an address the host chooses:
        // nothing else is affected.
        let address = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        (address != libc::MAP_FAILED).then_some(address as usize)
    }

    /// # Safety
    /// `address..address + len` is a mapping from [`map`].
    pub(super) unsafe fn protect_none(address: usize, len: usize) {
        // SAFETY: per the contract.
        unsafe { libc::mprotect(address as *mut libc::c_void, len, libc::PROT_NONE) };
    }

    /// # Safety
    /// As [`protect_none`], not used after.
    pub(super) unsafe fn unmap(address: usize, len: usize) {
        // SAFETY: per the contract.
        unsafe { libc::munmap(address as *mut libc::c_void, len) };
    }
}

/// Without `mmap`: the host allocator's memory; nothing to protect it with,
/// so freed pages stay allocated (poisoned) and their addresses unused.
#[cfg(not(target_os = "linux"))]
mod host {
    use std::alloc::{Layout, alloc, dealloc};

    fn layout(len: usize) -> Layout {
        Layout::from_size_align(len, super::PAGE).expect("whole pages")
    }

    pub(super) fn map(len: usize) -> Option<usize> {
        // SAFETY: a non-zero size (at least one page).
        let address = unsafe { alloc(layout(len)) } as usize;
        (address != 0).then_some(address)
    }

    pub(super) unsafe fn protect_none(_address: usize, _len: usize) {}

    /// # Safety
    /// `address` came from [`map`] with this `len`, not used after.
    pub(super) unsafe fn unmap(address: usize, len: usize) {
        // SAFETY: per the contract.
        unsafe { dealloc(address as *mut u8, layout(len)) };
    }
}
