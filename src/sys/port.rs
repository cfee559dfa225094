//! `READ_PORT_*`, `WRITE_PORT_*` and their `_BUFFER_` forms: `FORCEINLINE`
//! in x64 `wdm.h` (`__inbyte`, `__outbyte`, `__inbytestring`, ...: the `in`,
//! `out`, `rep ins` and `rep outs` instructions), exported by `HAL.dll` only
//! on 32-bit x86. A buffer form transfers `Count` elements through the *same*
//! port. The port number is the low 16 bits of the "address".
//!
//! [`port_routines!`] is the one list of names, widths and instructions; the
//! `asm!` bodies below (Windows providers) and the kernel model's simulated
//! port devices are generated from it, and `tests/inline_routines.rs`
//! compiles this file and checks each body against the `wdm.h` form.
//!
//! Under Wine these instructions are not emulated (its x64 `ntoskrnl`
//! emulates `mov cr`/`mov dr`/`rdmsr`/`cli`/`sti` and reads of the shared
//! user page only): a privileged-instruction fault in `winedevice.exe`.

/// The port routines of x64 `wdm.h`:
/// `generate! { READ, WRITE, READ_BUFFER, WRITE_BUFFER: type, reg, "in", "out", "rep ins", "rep outs"; ... }`.
macro_rules! port_routines {
    ($generate:ident) => {
        $generate! {
            READ_PORT_UCHAR, WRITE_PORT_UCHAR, READ_PORT_BUFFER_UCHAR, WRITE_PORT_BUFFER_UCHAR:
                u8, "al", "in al, dx", "out dx, al", "rep insb", "rep outsb";
            READ_PORT_USHORT, WRITE_PORT_USHORT, READ_PORT_BUFFER_USHORT, WRITE_PORT_BUFFER_USHORT:
                u16, "ax", "in ax, dx", "out dx, ax", "rep insw", "rep outsw";
            READ_PORT_ULONG, WRITE_PORT_ULONG, READ_PORT_BUFFER_ULONG, WRITE_PORT_BUFFER_ULONG:
                u32, "eax", "in eax, dx", "out dx, eax", "rep insd", "rep outsd";
        }
    };
}
#[allow(unused_imports)]
pub(crate) use port_routines;

#[cfg(not(wdm_provider = "model"))]
macro_rules! ports {
    ($($read:ident, $write:ident, $read_buffer:ident, $write_buffer:ident:
        $t:ty, $reg:tt, $in:literal, $out:literal, $ins:literal, $outs:literal;)*) => {$(
        #[doc = concat!("`", stringify!($read), "`: `", $in, "`.")]
        ///
        /// # Safety
        /// The port belongs to a device this driver owns (its address
        /// translated by `HalTranslateBusAddress` or given by the PnP
        /// manager) and reading it has no effect on memory.
        #[inline]
        pub unsafe fn $read(port: *mut $t) -> $t {
            let value: $t;
            // SAFETY: per the contract. Not `nomem`: a compiler barrier, as
            // the `_ReadWriteBarrier`s of wdm.h.
            unsafe {
                core::arch::asm!($in, out($reg) value, in("dx") port as usize as u16, options(nostack, preserves_flags))
            };
            value
        }

        #[doc = concat!("`", stringify!($write), "`: `", $out, "`.")]
        ///
        /// # Safety
        /// As for the read.
        #[inline]
        pub unsafe fn $write(port: *mut $t, value: $t) {
            // SAFETY: per the contract; a compiler barrier.
            unsafe {
                core::arch::asm!($out, in($reg) value, in("dx") port as usize as u16, options(nostack, preserves_flags))
            };
        }

        #[doc = concat!("`", stringify!($read_buffer), "`: `count` reads of the port into `buffer` (`", $ins, "`).")]
        ///
        /// # Safety
        /// As for the read; `buffer` is valid for `count` writes.
        #[inline]
        pub unsafe fn $read_buffer(port: *mut $t, buffer: *mut $t, count: u32) {
            // SAFETY: per the contract; the direction flag is clear.
            unsafe {
                core::arch::asm!(
                    $ins,
                    in("dx") port as usize as u16,
                    inout("rcx") count as usize => _,
                    inout("rdi") buffer => _,
                    options(nostack, preserves_flags),
                )
            };
        }

        #[doc = concat!("`", stringify!($write_buffer), "`: `count` writes of `buffer` to the port (`", $outs, "`).")]
        ///
        /// # Safety
        /// As for the read; `buffer` is valid for `count` reads.
        #[inline]
        pub unsafe fn $write_buffer(port: *mut $t, buffer: *mut $t, count: u32) {
            // SAFETY: per the contract; the direction flag is clear.
            unsafe {
                core::arch::asm!(
                    $outs,
                    in("dx") port as usize as u16,
                    inout("rcx") count as usize => _,
                    inout("rsi") buffer => _,
                    options(nostack, preserves_flags),
                )
            };
        }
    )*};
}

#[cfg(not(wdm_provider = "model"))]
port_routines!(ports);
