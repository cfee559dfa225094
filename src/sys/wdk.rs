//! The `wdk` provider: Microsoft's `wdk-sys` (Windows with the WDK).
//!
//! It cannot be built on Linux (`wdk-build` refuses), so it is kept compiling
//! by construction: the rest of the crate uses only identifiers that
//! `wdk-sys` generates (the same bindgen settings as the `ddk` bindings:
//! module-constant enums, `core` types), plus what `wdk-sys` leaves out,
//! declared here.

pub use wdk_sys::ntddk::*;
pub use wdk_sys::*;

unsafe extern "system" {
    /// Blocklisted by wdk-sys as deprecated; the fallback of `ExAllocatePool2`
    /// on kernels older than Windows 10 2004.
    pub fn ExAllocatePoolWithTag(PoolType: POOL_TYPE, NumberOfBytes: SIZE_T, Tag: ULONG) -> PVOID;
}
