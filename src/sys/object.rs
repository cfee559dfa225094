//! Object-manager macros of `wdm.h` that no binding has:
//! `InitializeObjectAttributes`, `ZwCurrentProcess`, and the allocation
//! granularity of views.

use super::{HANDLE, OBJECT_ATTRIBUTES, PUNICODE_STRING, ULONG};

/// `MM_ALLOCATION_GRANULARITY`: view offsets are multiples of 64 KiB.
pub const MM_ALLOCATION_GRANULARITY: u64 = 0x1_0000;

/// `ZwCurrentProcess()`: the pseudo-handle `(HANDLE)-1`.
pub const fn ZwCurrentProcess() -> HANDLE {
    usize::MAX as HANDLE
}

/// `InitializeObjectAttributes(&attributes, name, attributes, NULL, NULL)`.
pub fn InitializeObjectAttributes(name: PUNICODE_STRING, attributes: ULONG) -> OBJECT_ATTRIBUTES {
    OBJECT_ATTRIBUTES {
        Length: size_of::<OBJECT_ATTRIBUTES>() as ULONG,
        RootDirectory: core::ptr::null_mut(),
        ObjectName: name,
        Attributes: attributes,
        SecurityDescriptor: core::ptr::null_mut(),
        SecurityQualityOfService: core::ptr::null_mut(),
    }
}
