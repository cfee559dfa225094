//! `READ_REGISTER_*` and `WRITE_REGISTER_*`: `FORCEINLINE` in `wdm.h`, so no
//! binding has them. On x64 a register read is a volatile load after a
//! compiler barrier (`_ReadWriteBarrier`), a write a volatile store followed
//! by a store fence (`FastFence`: `lock or [rsp], 0`, not `mfence`). Written once here for both Windows
//! providers; the kernel model routes the same names to its simulated
//! devices.

use core::{
    arch::asm,
    sync::atomic::{Ordering, compiler_fence},
};

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
            // SAFETY: `FastFence` (`__faststorefence`), as wdm.h: a locked OR
            // of 0 into the word at the top of this function's own stack
            // (its value unchanged), a full processor barrier that is cheaper
            // than `mfence`; no `nomem`, so also a compiler barrier.
            unsafe { asm!("lock or dword ptr [rsp], 0", options(nostack)) };
        }
    )*};
}

super::io_space::register_routines!(registers);
