//! `READ_REGISTER_*` and `WRITE_REGISTER_*`: `FORCEINLINE` in `wdm.h`, so no
//! binding has them. On x64 a register read is a volatile load after a
//! compiler barrier (`_ReadWriteBarrier`), a write a volatile store followed
//! by `FastFence` (`__faststorefence`, `lock or [rsp], 0`: the one of
//! `register_buffer.rs`). Written once here for both Windows
//! providers; the kernel model routes the same names to its simulated
//! devices.

use core::sync::atomic::{Ordering, compiler_fence};

use super::register_buffer::fast_fence;

macro_rules! registers {
    ($($read:ident, $write:ident: $t:ty;)*) => {$(
        #[doc = concat!("`", stringify!($read), "`: a volatile read of device memory.")]
        ///
        /// # Safety
        /// `register` lies in a live mapping of device memory (`MmMapIoSpace`)
        /// and is aligned for the access.
        #[inline]
        pub unsafe fn $read(register: *mut $t) -> $t {
            compiler_fence(Ordering::SeqCst);
            // SAFETY: per the contract.
            unsafe { register.read_volatile() }
        }

        #[doc = concat!("`", stringify!($write), "`: a volatile write to device memory, then a fence.")]
        ///
        /// # Safety
        /// As for the read; the mapping is writable.
        #[inline]
        pub unsafe fn $write(register: *mut $t, value: $t) {
            compiler_fence(Ordering::SeqCst);
            // SAFETY: per the contract.
            unsafe { register.write_volatile(value) };
            fast_fence();
        }
    )*};
}

super::io_space::register_routines!(registers);
