//! [`PlainData`]: types that may be copied to and from raw memory shared with
//! the kernel, other views or other processes.

use core::{marker::PhantomData, ptr::NonNull};

use crate::{Irql, NtResult, NtStatus};

/// A type every bit pattern of its size is a valid value of, with no padding
/// and no pointers: `#[repr(C)]` structs of integers, integers, arrays of
/// them. Section views copy such values in and out of shared memory.
///
/// # Safety
/// Implement it only for `Copy` types that are `#[repr(C)]` or
/// `#[repr(transparent)]` (or primitive), contain no padding bytes, no
/// references, pointers, `bool`, `char`, enums or other types with invalid
/// bit patterns.
///
/// ```
/// use wdm_mem::plain::PlainData;
///
/// #[repr(C)]
/// #[derive(Clone, Copy)]
/// struct Header {
///     magic: u32,
///     length: u32,
/// }
/// // SAFETY: repr(C), two u32, no padding, every bit pattern valid.
/// unsafe impl PlainData for Header {}
/// ```
pub unsafe trait PlainData: Copy + 'static {}

macro_rules! plain {
    ($($t:ty),*) => {
        // SAFETY: primitive integers: every bit pattern is valid, no padding.
        $(unsafe impl PlainData for $t {})*
    };
}

plain!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

// SAFETY: an array of plain data has no padding between elements and every
// bit pattern of each element is valid.
unsafe impl<T: PlainData, const N: usize> PlainData for [T; N] {}

/// The bytes of a plain value (it has no padding: all are initialised).
pub(crate) fn bytes_of<T: PlainData>(value: &T) -> &[u8] {
    // SAFETY: PlainData has no padding; the slice borrows `value`.
    unsafe { core::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
}

/// A `T` whose bytes `fill` writes (all of them, or it fails).
pub(crate) fn read_with<T: PlainData>(fill: impl FnOnce(&mut [u8]) -> NtResult<()>) -> NtResult<T> {
    let mut value = core::mem::MaybeUninit::<T>::uninit();
    // SAFETY: a `MaybeUninit<T>` may be written as bytes.
    let bytes = unsafe { core::slice::from_raw_parts_mut(value.as_mut_ptr().cast::<u8>(), size_of::<T>()) };
    fill(bytes)?;
    // SAFETY: `fill` succeeded, so every byte was written, and every bit
    // pattern is a valid T (PlainData).
    Ok(unsafe { value.assume_init() })
}

/// Copies `len` bytes of memory that another mapping, process or device may
/// change (or read) at the same time, forming no reference into it.
///
/// On x86-64 (every Windows driver, and the model's usual host) one
/// `rep movsb` in inline assembly: as fast as `memcpy` for large copies
/// (the processor's fast string copy), and opaque to the compiler, which
/// therefore can neither elide, merge nor tear it into a Rust-level data
/// race with the other users of the memory; each byte is read and written
/// once. Elsewhere (the model on other hosts), a volatile byte loop.
///
/// # Safety
/// `src` is readable and `dst` writable for `len` bytes.
#[inline]
unsafe fn shared_copy(src: *const u8, dst: *mut u8, len: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: per the contract both ranges are valid for `len` bytes; the
    // direction flag is clear on entry (both ABIs); the asm has no `nomem`,
    // so the compiler treats it as reading and writing memory.
    unsafe {
        core::arch::asm!(
            "rep movsb",
            inout("rcx") len => _,
            inout("rsi") src => _,
            inout("rdi") dst => _,
            options(nostack, preserves_flags)
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    for i in 0..len {
        // SAFETY: `i < len`, both ranges valid per the contract.
        unsafe { dst.add(i).write_volatile(src.add(i).read_volatile()) };
    }
}

/// Whether `offset..offset + len` lies inside `size` bytes (without
/// overflowing).
pub(crate) const fn within(offset: usize, len: usize, size: usize) -> bool {
    match offset.checked_add(len) {
        Some(end) => end <= size,
        None => false,
    }
}

/// The highest IRQL at which a [`SharedBytes`]' memory may be touched:
/// [`Pageable`] or [`Resident`].
pub(crate) trait MaxIrql {
    /// The level.
    const LEVEL: Irql;
}

/// Pageable memory (a section view): `<= APC_LEVEL`.
pub(crate) enum Pageable {}
/// Resident memory (locked pages, device memory): any IRQL.
pub(crate) enum Resident {}

impl MaxIrql for Pageable {
    const LEVEL: Irql = Irql::APC;
}
impl MaxIrql for Resident {
    const LEVEL: Irql = Irql::HIGH;
}

/// A window of bytes that something else may share (another mapping,
/// another process, a device), touched at IRQL `<= L::LEVEL`: the
/// bounds-checked, IRQL-checked copying accessors of the crate's mappings
/// (each byte read or written once, by a copy opaque to the compiler, no
/// reference formed).
///
/// # Invariants
/// `base` is valid for reads of `len` bytes at IRQL `<= L::LEVEL` while the
/// value lives; for writes only when the owner's type says so (the writing
/// methods are `unsafe`).
pub(crate) struct SharedBytes<L: MaxIrql> {
    base: NonNull<u8>,
    len: usize,
    _level: PhantomData<fn() -> L>,
}

impl<L: MaxIrql> SharedBytes<L> {
    /// The `len` bytes at `base`.
    ///
    /// # Safety
    /// The invariants hold for as long as the value lives.
    pub(crate) unsafe fn new(base: NonNull<u8>, len: usize) -> Self {
        SharedBytes { base, len, _level: PhantomData }
    }

    /// The first byte.
    pub(crate) fn base(&self) -> NonNull<u8> {
        self.base
    }

    /// The bytes in the window.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The address of `offset..offset + len`: [`NtStatus::INVALID_LEVEL`]
    /// above `L::LEVEL`, then [`NtStatus::INVALID_PARAMETER`] unless inside
    /// the window.
    pub(crate) fn range(&self, offset: usize, len: usize) -> NtResult<*mut u8> {
        // At HIGH_LEVEL every IRQL qualifies: the current one is not read.
        if L::LEVEL < Irql::HIGH {
            Irql::ensure_at_most(L::LEVEL)?;
        }
        if !within(offset, len, self.len) {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        // SAFETY: `offset <= self.len`: inside the window.
        Ok(unsafe { self.base.as_ptr().add(offset) })
    }

    /// Copies `dst.len()` bytes from `offset` into `dst`.
    pub(crate) fn read_bytes(&self, offset: usize, dst: &mut [u8]) -> NtResult<()> {
        let src = self.range(offset, dst.len())?;
        // SAFETY: `range` checked the IRQL and that `offset..offset + len`
        // lies inside the window; the copy holds no reference into shared
        // memory.
        unsafe { shared_copy(src, dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }

    /// Reads a `T` at `offset` (no alignment needed).
    pub(crate) fn read<T: PlainData>(&self, offset: usize) -> NtResult<T> {
        read_with(|bytes| self.read_bytes(offset, bytes))
    }

    /// Copies `src` into the window at `offset`.
    ///
    /// # Safety
    /// The window is writable (the owner's type allows writing).
    pub(crate) unsafe fn write_bytes(&mut self, offset: usize, src: &[u8]) -> NtResult<()> {
        let dst = self.range(offset, src.len())?;
        // No-op on a real kernel; the model reports a write to a read-only
        // mapping (0xBE) and refuses it.
        if !crate::sys::check_mapped_write(dst, src.len()) {
            return Err(NtStatus::ACCESS_VIOLATION);
        }
        // SAFETY: `range` checked the IRQL and the bounds; the window is
        // writable (contract).
        unsafe { shared_copy(src.as_ptr(), dst, src.len()) };
        Ok(())
    }

    /// Writes `value` at `offset` (no alignment needed).
    ///
    /// # Safety
    /// As [`write_bytes`](Self::write_bytes).
    pub(crate) unsafe fn write<T: PlainData>(&mut self, offset: usize, value: &T) -> NtResult<()> {
        // SAFETY: the caller's contract is `write_bytes`'.
        unsafe { self.write_bytes(offset, bytes_of(value)) }
    }

    /// The whole window as a slice.
    ///
    /// # Safety
    /// Nothing writes the memory while the slice lives. (The owner's
    /// `# IRQL` says where the slice may be used: `<= L::LEVEL`.)
    pub(crate) unsafe fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` readable bytes (invariant); the caller rules out
        // writers.
        unsafe { core::slice::from_raw_parts(self.base.as_ptr(), self.len) }
    }

    /// The whole window as a mutable slice.
    ///
    /// # Safety
    /// The window is writable, and nothing else reads or writes the memory
    /// while the slice lives. (IRQL: as [`as_slice`](Self::as_slice).)
    pub(crate) unsafe fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `len` bytes (invariant), writable; the caller rules out
        // every other access.
        unsafe { core::slice::from_raw_parts_mut(self.base.as_ptr(), self.len) }
    }
}

/// `len` initialised bytes of system-space memory (pool, non-cached or
/// contiguous memory) that the holder owns alone: plain slices. The holder
/// frees the memory; this type does not.
///
/// # Invariants
/// `ptr` is valid for reads and writes of `len` initialised bytes for as
/// long as the value lives, from any thread or processor (system space), at
/// the IRQL its memory allows; nothing else accesses them.
pub(crate) struct OwnedBytes {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the value owns plain bytes of system-space memory, which is not
// tied to a thread.
unsafe impl Send for OwnedBytes {}
// SAFETY: shared access gives only `&[u8]`.
unsafe impl Sync for OwnedBytes {}

impl OwnedBytes {
    /// The `len` initialised bytes at `ptr`.
    ///
    /// # Safety
    /// The invariants hold for as long as the value lives.
    pub(crate) unsafe fn new(ptr: NonNull<u8>, len: usize) -> Self {
        OwnedBytes { ptr, len }
    }

    /// The `len` bytes at `ptr`, zeroed now (the kernel did not).
    ///
    /// # Safety
    /// As [`new`](Self::new), except that the bytes need not be initialised.
    pub(crate) unsafe fn zeroed(ptr: NonNull<u8>, len: usize) -> Self {
        // SAFETY: `len` writable bytes (contract).
        unsafe { ptr.write_bytes(0, len) };
        OwnedBytes { ptr, len }
    }

    /// The first byte.
    pub(crate) fn as_non_null(&self) -> NonNull<u8> {
        self.ptr
    }

    /// The bytes owned.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The bytes as a slice.
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` initialised bytes owned by self (invariant).
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The bytes as a mutable slice.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, and `&mut self` makes the access unique.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}
