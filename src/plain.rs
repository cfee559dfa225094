//! [`PlainData`]: types that may be copied to and from raw memory shared with
//! the kernel, other views or other processes.

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
pub(crate) fn read_with<T: PlainData>(fill: impl FnOnce(&mut [u8]) -> crate::NtResult<()>) -> crate::NtResult<T> {
    let mut value = core::mem::MaybeUninit::<T>::uninit();
    // SAFETY: a `MaybeUninit<T>` may be written as bytes.
    let bytes = unsafe { core::slice::from_raw_parts_mut(value.as_mut_ptr().cast::<u8>(), size_of::<T>()) };
    fill(bytes)?;
    // SAFETY: `fill` succeeded, so every byte was written, and every bit
    // pattern is a valid T (PlainData).
    Ok(unsafe { value.assume_init() })
}

/// Copies `len` bytes with volatile accesses: memory shared with another
/// mapping, process or device may change under us, so the compiler must
/// neither elide nor merge the accesses, and no reference into it is formed.
///
/// # Safety
/// `src` is readable and `dst` writable for `len` bytes.
pub(crate) unsafe fn volatile_copy(src: *const u8, dst: *mut u8, len: usize) {
    for i in 0..len {
        // SAFETY: `i < len`, both ranges valid per the contract.
        unsafe { dst.add(i).write_volatile(src.add(i).read_volatile()) };
    }
}
