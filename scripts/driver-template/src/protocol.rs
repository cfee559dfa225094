//! The wire protocol between the driver and its client (the client includes
//! this file by path, so the two never disagree).

/// `CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)`.
pub const IOCTL_FILL: u32 = 0x0022_2000;

/// The device's Win32 name (its symbolic link).
pub const DEVICE_PATH: &str = "\\\\.\\{{device}}";

/// What `DriverUnload` prints when nothing is outstanding.
pub const UNLOAD_CLEAN_MESSAGE: &str = "{{name}}: unload: nothing outstanding";

/// IOCTL_FILL's input: fill `len` bytes of pool with `byte`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FillRequest {
    /// The buffer's size in bytes (at most [`MAX_LEN`]).
    pub len: u32,
    /// The byte to fill it with (the low 8 bits).
    pub byte: u32,
}

/// IOCTL_FILL's output.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FillReply {
    /// The sum of the buffer's bytes.
    pub checksum: u64,
    /// How many requests this driver served, counted in a lookaside entry.
    pub served: u64,
}

/// The largest buffer IOCTL_FILL accepts.
pub const MAX_LEN: u32 = 1 << 20;

/// What the checksum of a request must be.
pub fn expected_checksum(request: &FillRequest) -> u64 {
    u64::from(request.len) * u64::from(request.byte & 0xFF)
}
