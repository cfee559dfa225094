//! C integer types of the x86_64 Windows ABI (LLP64), the same on every host.
//!
//! The `ddk` bindings are generated with `--ctypes-prefix crate::sys::ctypes`, so
//! `ULONG` is `u32` whether the crate is built for Windows or for the model on
//! Linux (where `core::ffi::c_ulong` would be 64 bits).

#![allow(non_camel_case_types)]

/// `char`.
pub type c_char = i8;
/// `signed char`.
pub type c_schar = i8;
/// `unsigned char`.
pub type c_uchar = u8;
/// `short`.
pub type c_short = i16;
/// `unsigned short`.
pub type c_ushort = u16;
/// `int`.
pub type c_int = i32;
/// `unsigned int`.
pub type c_uint = u32;
/// `long` (32 bits on Windows).
pub type c_long = i32;
/// `unsigned long` (32 bits on Windows).
pub type c_ulong = u32;
/// `long long`.
pub type c_longlong = i64;
/// `unsigned long long`.
pub type c_ulonglong = u64;
/// `void`.
pub type c_void = core::ffi::c_void;
/// `float`.
pub type c_float = f32;
/// `double`.
pub type c_double = f64;
