//! [`PoolTag`]: the four characters that name a pool allocation in `poolmon`,
//! `!pool` and Driver Verifier.

use core::fmt;

use crate::{NtResult, NtStatus};

/// A pool tag: four printable ASCII characters, as `poolmon` shows them.
///
/// `PoolTag::new(*b"Wdm1")` stores the bytes in memory order, so the tag
/// reads "Wdm1" in every tool (the C idiom is the reversed literal `'1mdW'`).
///
/// # Invariants
/// Every byte is printable ASCII (0x20 to 0x7E) and at least one is not a
/// space: a zero tag is a bug check (0xC2/0x9B) and a byte with the high bit
/// set is the old `PROTECTED_POOL` flag.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct PoolTag(u32);

impl PoolTag {
    /// A tag from four bytes, checked; in a `const` (see [`pool_tag!`](crate::pool_tag)) an
    /// invalid tag is a compile error.
    ///
    /// # Panics
    /// If the bytes are not a valid tag (see the type's invariants). Use
    /// [`PoolTag::try_new`] for tags that come from outside.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn new(bytes: [u8; 4]) -> PoolTag {
        match Self::try_new(bytes) {
            Ok(tag) => tag,
            Err(_) => panic!("a pool tag is four printable ASCII characters, not all spaces"),
        }
    }

    /// A tag from four bytes, or [`NtStatus::INVALID_PARAMETER`].
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn try_new(bytes: [u8; 4]) -> NtResult<PoolTag> {
        let mut i = 0;
        let mut blank = true;
        while i < 4 {
            if bytes[i] < 0x20 || bytes[i] > 0x7E {
                return Err(NtStatus::INVALID_PARAMETER);
            }
            blank &= bytes[i] == b' ';
            i += 1;
        }
        if blank { Err(NtStatus::INVALID_PARAMETER) } else { Ok(PoolTag(u32::from_le_bytes(bytes))) }
    }

    /// The `ULONG` the kernel takes.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn to_u32(self) -> u32 {
        self.0
    }

    /// The four characters in reading order.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn to_bytes(self) -> [u8; 4] {
        self.0.to_le_bytes()
    }
}

impl fmt::Debug for PoolTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.to_bytes();
        // The invariants make the bytes ASCII, hence UTF-8.
        let text = core::str::from_utf8(&bytes).unwrap_or("????");
        write!(f, "PoolTag({text:?})")
    }
}

/// A [`PoolTag`] checked at compile time: `pool_tag!(b"Wdm1")`.
///
/// ```compile_fail
/// let tag = wdm_mem::pool_tag!(b"\0\0\0\0"); // not printable: does not compile
/// ```
#[macro_export]
macro_rules! pool_tag {
    ($bytes:literal) => {
        const { $crate::pool::PoolTag::new(*$bytes) }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_read_in_memory_order() {
        let tag = crate::pool_tag!(b"Wdm1");
        assert_eq!(tag.to_u32(), 0x316D_6457);
        assert_eq!(tag.to_bytes(), *b"Wdm1");
    }

    #[test]
    fn invalid_tags_are_refused() {
        for bytes in [*b"\0\0\0\0", *b"    ", [b'A', b'B', b'C', 0x80], *b"Ab\nc"] {
            assert_eq!(PoolTag::try_new(bytes), Err(NtStatus::INVALID_PARAMETER), "{bytes:?}");
        }
        assert!(PoolTag::try_new(*b"Ab c").is_ok());
    }
}
