//! The wire protocol between the sample driver and its user-mode client.
//!
//! Shared by both (the client includes this file with `#[path]`), so the two
//! can never disagree on a code or a layout. Plain data only: no kernel types.

/// `\\.\WdmMemSample`: the client opens this; the driver links it to its device.
pub const DOS_DEVICE_NAME: &str = "\\\\.\\WdmMemSample";
/// The driver's device object name in the kernel namespace.
pub const NT_DEVICE_NAME: &str = "\\Device\\WdmMemSample";
/// The symbolic link the driver creates for [`NT_DEVICE_NAME`].
pub const NT_SYMLINK_NAME: &str = "\\DosDevices\\WdmMemSample";

/// `FILE_DEVICE_UNKNOWN`.
const DEVICE_TYPE: u32 = 0x22;
/// `METHOD_BUFFERED`.
pub const METHOD_BUFFERED: u32 = 0;
/// `FILE_ANY_ACCESS`.
const ANY_ACCESS: u32 = 0;

/// `CTL_CODE(DeviceType, Function, Method, Access)` from the DDK.
pub const fn ctl_code(function: u32, method: u32) -> u32 {
    (DEVICE_TYPE << 16) | (ANY_ACCESS << 14) | (function << 2) | method
}

/// Allocate a pool buffer of [`PoolRequest::size`] bytes, fill it, checksum
/// it, free it, and answer with a [`PoolReply`].
pub const IOCTL_POOL_ROUNDTRIP: u32 = ctl_code(0x800, METHOD_BUFFERED);
/// Answer with a [`PoolReply`] whose `outstanding_*` fields describe the
/// allocations this driver holds right now (nothing else is done).
pub const IOCTL_POOL_STATS: u32 = ctl_code(0x801, METHOD_BUFFERED);

/// Input of [`IOCTL_POOL_ROUNDTRIP`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolRequest {
    /// Bytes to allocate (0 is refused with STATUS_INVALID_PARAMETER).
    pub size: u32,
    /// Required alignment of the buffer, a power of two (0 means "natural").
    pub align: u32,
    /// Byte written over the whole buffer.
    pub fill: u8,
    /// Padding; must be zero.
    pub reserved: [u8; 7],
}

/// Output of [`IOCTL_POOL_ROUNDTRIP`] and [`IOCTL_POOL_STATS`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolReply {
    /// Sum of all the bytes of the buffer after filling, wrapping at 2^64.
    pub checksum: u64,
    /// Address of the buffer modulo the requested alignment (0 when aligned).
    pub misalignment: u64,
    /// Bytes the driver allocated for the request.
    pub size: u32,
    /// 1 if the buffer was all zero before it was filled (ExAllocatePool2 semantics).
    pub was_zeroed: u32,
    /// Allocations made through wdm-mem that are still outstanding.
    pub outstanding_allocations: u64,
    /// Bytes of those allocations.
    pub outstanding_bytes: u64,
}

/// The checksum the driver computes for a buffer of `size` bytes of `fill`.
pub const fn expected_checksum(size: u32, fill: u8) -> u64 {
    size as u64 * fill as u64
}

/// The line the driver prints with DbgPrint from DriverUnload when every
/// allocation it made through wdm-mem has been freed.
pub const UNLOAD_CLEAN_MESSAGE: &str = "wdm-mem-sample: unload: 0 pool allocations outstanding";

/// Create a pagefile-backed section, map a read-write, a read-only and a
/// write-copy view, check they are coherent, unmap, close. Input
/// [`SectionRequest`], output [`SectionReply`]; the IOCTL itself succeeds and
/// `SectionReply::status` carries the section routines' status.
pub const IOCTL_SECTION_ROUNDTRIP: u32 = ctl_code(0x810, METHOD_BUFFERED);
/// Create the named section [`SECTION_KERNEL_NAME`] and write
/// [`SECTION_MESSAGE`] at its start; the driver keeps its handle until
/// [`IOCTL_SECTION_UNPUBLISH`] (or unload). Output [`SectionReply`].
pub const IOCTL_SECTION_PUBLISH: u32 = ctl_code(0x811, METHOD_BUFFERED);
/// Close the named section's handle. Output [`SectionReply`].
pub const IOCTL_SECTION_UNPUBLISH: u32 = ctl_code(0x812, METHOD_BUFFERED);

/// The named section in the kernel namespace...
pub const SECTION_KERNEL_NAME: &str = "\\BaseNamedObjects\\WdmMemSample";
/// ... and the name user mode opens it by (`OpenFileMappingW`).
pub const SECTION_USER_NAME: &str = "Global\\WdmMemSample";
/// The size of the named section.
pub const SECTION_PUBLISHED_SIZE: u64 = 4096;
/// What the driver writes at the start of the named section.
pub const SECTION_MESSAGE: &[u8] = b"wdm-mem: written by the kernel through a section view";

/// Input of [`IOCTL_SECTION_ROUNDTRIP`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SectionRequest {
    /// Section size in bytes.
    pub section_size: u64,
    /// Offset of the read-only view (a multiple of 64 KiB to succeed).
    pub view_offset: u64,
    /// Size of the read-only view (0: to the end).
    pub view_size: u64,
    /// 1 to create the section PAGE_READONLY (its read-write view must then fail).
    pub read_only_section: u32,
    /// Byte written through the read-write view at `view_offset`.
    pub fill: u8,
    /// Padding; must be zero.
    pub reserved: [u8; 3],
}

/// Output of the section IOCTLs.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SectionReply {
    /// NTSTATUS of the section operations (0 when all succeeded).
    pub status: i32,
    /// 1 if the read-only view saw the byte written through the read-write view.
    pub coherent: u32,
    /// 1 if a write through the write-copy view stayed out of the section.
    pub write_copy_private: u32,
    /// Padding.
    pub reserved: u32,
    /// What the kernel mapped for the read-only view (page multiple).
    pub mapped_size: u64,
}
