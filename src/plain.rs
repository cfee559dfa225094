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
