//! What every driver needs besides memory and requests: a panic handler,
//! `DbgPrint` of a line, counted strings for device names.
//!
//! The panic handler: [`bug_check_on_panic!`](crate::bug_check_on_panic) defines a `#[panic_handler]`
//! that stops the system with the driver's own bug-check code. A driver's
//! paths return errors and never panic on bad input, so a panic is a bug of
//! the driver, and running on in a broken state is worse than a bug check
//! whose code names the driver. `wdk-panic` (windows-drivers-rs) instead
//! loops forever; it fits drivers built with the `wdk` feature that prefer
//! that, and needs nothing from this crate.

use core::ffi::CStr;

use crate::sys::{self, UNICODE_STRING};

/// `DbgPrint("%s\n", line)`: under Wine with `WINEDEBUG=warn+debugstr` the
/// line appears on the driver host's stderr; in the kernel model, on the
/// test's stderr.
///
/// # IRQL
/// Any (DbgPrint's own contract).
pub fn debug_print(line: &CStr) {
    sys::debug_print(line);
}

/// A `UNICODE_STRING` over a static UTF-16 name such as those of
/// [`utf16`](crate::sys::utf16).
///
/// # Panics
/// At compile time in a const context, or else at the call, for a name of
/// more than 32767 UTF-16 units (a counted string's limit).
pub const fn unicode_string(name: &'static [u16]) -> UNICODE_STRING {
    assert!(name.len() <= (u16::MAX / 2) as usize, "a UNICODE_STRING holds at most 32767 units");
    let bytes = (name.len() * 2) as u16;
    UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: name.as_ptr().cast_mut() }
}

/// Stops the system with bug check `code` (`KeBugCheckEx(code, 0, 0, 0,
/// 0)`); in the kernel model, a Rust panic naming the code.
///
/// # IRQL
/// Any.
pub fn bug_check(code: u32) -> ! {
    #[cfg(not(wdm_provider = "model"))]
    // SAFETY: KeBugCheckEx never returns and may be called at any IRQL.
    unsafe {
        sys::KeBugCheckEx(code, 0, 0, 0, 0)
    }
    #[cfg(wdm_provider = "model")]
    panic!("bug check {code:#x}")
}

/// Defines the driver's `#[panic_handler]`: [`bug_check`] with `$code`.
/// Only in a build for Windows that is not a test (on the host, `std`'s
/// handler is the one).
///
/// ```ignore
/// wdm_mem::bug_check_on_panic!(0x5744_4D4D);
/// ```
#[macro_export]
macro_rules! bug_check_on_panic {
    ($code:expr) => {
        #[cfg(all(target_os = "windows", not(test)))]
        #[panic_handler]
        fn panic(_info: &::core::panic::PanicInfo<'_>) -> ! {
            $crate::driver::bug_check($code)
        }
    };
}
