//! `READ_REGISTER_BUFFER_*` and `WRITE_REGISTER_BUFFER_*`: `FORCEINLINE` in
//! x64 `wdm.h`, so no binding has them. There a buffer read is
//! `_ReadWriteBarrier(); __movsX(Buffer, Register, Count);` and a buffer
//! write `__movsX(Register, Buffer, Count); FastFence();`: a `rep movs` of
//! `Count` elements (the register address advances with the buffer: these
//! copy a block of consecutive registers, not one register repeatedly) and,
//! after a write, `__faststorefence` (`lock or [rsp], 0`).
//!
//! [`register_buffer_routines!`] is the one list of names, widths and `movs`
//! instructions; the `asm!` bodies below (Windows providers) and the kernel
//! model's simulated devices are generated from it, and
//! `tests/inline_routines.rs` compiles this file and checks each body
//! against the `wdm.h` form.

/// The buffer routines of x64 `wdm.h`: `generate! { READ, WRITE: type, "movs"; ... }`.
macro_rules! register_buffer_routines {
    ($generate:ident) => {
        $generate! {
            READ_REGISTER_BUFFER_UCHAR, WRITE_REGISTER_BUFFER_UCHAR: u8, "rep movsb";
            READ_REGISTER_BUFFER_USHORT, WRITE_REGISTER_BUFFER_USHORT: u16, "rep movsw";
            READ_REGISTER_BUFFER_ULONG, WRITE_REGISTER_BUFFER_ULONG: u32, "rep movsd";
            READ_REGISTER_BUFFER_ULONG64, WRITE_REGISTER_BUFFER_ULONG64: u64, "rep movsq";
        }
    };
}
#[allow(unused_imports)]
pub(crate) use register_buffer_routines;

/// `FastFence` of x64 `wdm.h` (`__faststorefence`: `lock or [rsp], 0`),
/// after every register write, single or buffer.
#[cfg(not(wdm_provider = "model"))]
#[inline(always)]
pub(crate) fn fast_fence() {
    // SAFETY: a locked or of zero into the stack top: no value changes. Not
    // `nomem`: a compiler barrier too.
    unsafe { core::arch::asm!("lock or dword ptr [rsp], 0", options(nostack)) };
}

#[cfg(not(wdm_provider = "model"))]
macro_rules! buffers {
    ($($read:ident, $write:ident: $t:ty, $movs:literal;)*) => {$(
        #[doc = concat!("`", stringify!($read), "`: `count` consecutive registers into `buffer` (`", $movs, "`).")]
        ///
        /// # Safety
        /// `register..register + count` lies in a live mapping of device
        /// memory (`MmMapIoSpace`) and is aligned; `buffer` is valid for
        /// `count` writes and does not overlap it.
        #[inline]
        pub unsafe fn $read(register: *mut $t, buffer: *mut $t, count: u32) {
            // SAFETY: per the contract; the direction flag is clear (x64
            // calling convention). Not `nomem`: a compiler barrier, as
            // `_ReadWriteBarrier`.
            unsafe {
                core::arch::asm!(
                    $movs,
                    inout("rcx") count as usize => _,
                    inout("rsi") register => _,
                    inout("rdi") buffer => _,
                    options(nostack, preserves_flags),
                )
            }
        }

        #[doc = concat!("`", stringify!($write), "`: `buffer` into `count` consecutive registers (`", $movs, "`), then `FastFence`.")]
        ///
        /// # Safety
        /// As for the read, the mapping writable and `buffer` valid for
        /// `count` reads.
        #[inline]
        pub unsafe fn $write(register: *mut $t, buffer: *mut $t, count: u32) {
            // SAFETY: per the contract, as the read.
            unsafe {
                core::arch::asm!(
                    $movs,
                    inout("rcx") count as usize => _,
                    inout("rsi") buffer => _,
                    inout("rdi") register => _,
                    options(nostack, preserves_flags),
                )
            };
            fast_fence();
        }
    )*};
}

#[cfg(not(wdm_provider = "model"))]
register_buffer_routines!(buffers);
