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
    /// NTSTATUS of an exclusive system-space view (`map_exclusive`) written
    /// and read back through its slice: 0 on Windows,
    /// `STATUS_NOT_SUPPORTED` under Wine (its system-space routines are stubs).
    pub system_view_status: i32,
    /// What the kernel mapped for the read-only view (page multiple).
    pub mapped_size: u64,
    /// NTSTATUS of a write to an uncommitted page of a `SEC_RESERVE` view:
    /// `STATUS_ACCESS_VIOLATION`, caught by the SEH copy (0 under Wine,
    /// which commits a reserved view's pages when it maps it).
    pub reserved_write_status: i32,
    /// NTSTATUS of the same write after `UserView::commit`: 0.
    pub committed_write_status: i32,
}

/// Store [`PagingRequest::value`] in the driver's pageable static (exclusive
/// lock, then unlock). Output [`PagingReply`]. Not sent under Wine, whose
/// `MmLockPagableDataSection` aborts the driver's process.
pub const IOCTL_PAGING_WRITE: u32 = ctl_code(0x820, METHOD_BUFFERED);
/// Read the pageable static under a shared lock and, at DISPATCH_LEVEL,
/// under a second one taken by handle. Output [`PagingReply`]. Not sent
/// under Wine (as [`IOCTL_PAGING_WRITE`]).
pub const IOCTL_PAGING_READ: u32 = ctl_code(0x821, METHOD_BUFFERED);
/// Make the whole driver pageable (`MmPageEntireDriver`), then reset it
/// (`MmResetDriverPaging`). Output [`PagingReply`]. Runs under Wine too.
pub const IOCTL_PAGING_ENTIRE_DRIVER: u32 = ctl_code(0x822, METHOD_BUFFERED);

/// Input of [`IOCTL_PAGING_WRITE`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PagingRequest {
    /// The value to store.
    pub value: u64,
}

/// Output of the paging IOCTLs.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PagingReply {
    /// The pageable static's value.
    pub value: u64,
    /// The same value, read at DISPATCH_LEVEL ([`IOCTL_PAGING_READ`]).
    pub value_at_dispatch: u64,
    /// Writes since the driver was loaded.
    pub writes: u64,
    /// 1 if the section's handle was known before the request: its locks
    /// then all went through `MmLockPagableSectionByHandle`.
    pub handle_was_cached: u32,
    /// 1 when [`IOCTL_PAGING_ENTIRE_DRIVER`] paged the driver and reset it.
    pub entire_driver_paged: u32,
}

/// Allocate [`LookasideRequest::count`] entries at once from one of the
/// driver's lookaside lists (each written and checked), free them all,
/// [`LookasideRequest::rounds`] times. Output [`LookasideReply`]: the list's
/// own counters show the reuse. [`LOOKASIDE_EX`] fails with
/// `STATUS_PROCEDURE_NOT_FOUND` where the kernel has no
/// `ExInitializeLookasideListEx` (Wine).
pub const IOCTL_LOOKASIDE_REUSE: u32 = ctl_code(0x830, METHOD_BUFFERED);
/// [`LookasideRequest::list`]: the driver's `NPAGED_LOOKASIDE_LIST`.
pub const LOOKASIDE_NON_PAGED: u32 = 0;
/// ... its `PAGED_LOOKASIDE_LIST`.
pub const LOOKASIDE_PAGED: u32 = 1;
/// ... its `LOOKASIDE_LIST_EX` (non-paged entries).
pub const LOOKASIDE_EX: u32 = 2;
/// ... a scratch `NPAGED_LOOKASIDE_LIST` whose Rust value lives in paged
/// pool: `count` entries are leaked (`rounds` must be 1), `delete` must
/// refuse, `delete_abandoning_entries` deletes it; the driver then frees the
/// abandoned entries itself (plain pool blocks). The reply's `entries_out`
/// is the number abandoned, `contents_ok` 1 when all went as documented.
pub const LOOKASIDE_SCRATCH_ABANDON: u32 = 3;
/// The most entries one request may hold at once.
pub const LOOKASIDE_MAX_COUNT: u32 = 16;
/// The size of the lists' entries.
pub const LOOKASIDE_ENTRY_SIZE: u32 = 64;

/// Input of [`IOCTL_LOOKASIDE_REUSE`]; a bad list, a count of 0 or above
/// [`LOOKASIDE_MAX_COUNT`], 0 rounds: `STATUS_INVALID_PARAMETER`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LookasideRequest {
    /// [`LOOKASIDE_NON_PAGED`], [`LOOKASIDE_PAGED`] or [`LOOKASIDE_EX`].
    pub list: u32,
    /// Entries held at once.
    pub count: u32,
    /// Rounds of `count` allocations and frees (at most 16).
    pub rounds: u32,
    /// Padding; must be zero.
    pub reserved: u32,
}

/// Output of [`IOCTL_LOOKASIDE_REUSE`]: what the list's counters
/// (`GENERAL_LOOKASIDE`) did during the request, and its state after it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LookasideReply {
    /// `TotalAllocates` during the request.
    pub allocates: u32,
    /// `AllocateMisses` during the request (entries that came from the pool).
    pub allocate_misses: u32,
    /// `TotalFrees` during the request.
    pub frees: u32,
    /// `FreeMisses` during the request (entries that went back to the pool).
    pub free_misses: u32,
    /// `Depth` after the request.
    pub depth: u32,
    /// Entries the list holds after the request.
    pub cached: u32,
    /// Entries of the list still alive after the request (0).
    pub entries_out: u32,
    /// The size of an entry.
    pub entry_size: u32,
    /// 1 if every entry kept what was written into it while held.
    pub contents_ok: u32,
    /// Padding.
    pub reserved: u32,
}

/// Allocate a non-cached buffer of [`MemoryRequest::size`] bytes, check it
/// is zeroed, fill it, sum it, free it. Output [`MemoryReply`].
pub const IOCTL_MEMORY_NON_CACHED: u32 = ctl_code(0x840, METHOD_BUFFERED);
/// The same with a physically contiguous, cached buffer below
/// [`MemoryRequest::highest`], not crossing [`MemoryRequest::boundary`].
/// Under Wine, whose `MmAllocateContiguousMemorySpecifyCache` returns NULL:
/// `STATUS_INSUFFICIENT_RESOURCES`.
pub const IOCTL_MEMORY_CONTIGUOUS: u32 = ctl_code(0x841, METHOD_BUFFERED);

/// Input of the memory IOCTLs; a size of 0, or contiguous limits no buffer
/// can meet: `STATUS_INVALID_PARAMETER`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryRequest {
    /// Bytes to allocate.
    pub size: u32,
    /// Byte written over the whole buffer.
    pub fill: u8,
    /// Padding; must be zero.
    pub reserved: [u8; 3],
    /// Highest acceptable physical address ([`IOCTL_MEMORY_CONTIGUOUS`]).
    pub highest: u64,
    /// Physical boundary not to cross, 0 for none ([`IOCTL_MEMORY_CONTIGUOUS`]).
    pub boundary: u64,
}

/// Output of the memory IOCTLs.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryReply {
    /// Sum of the buffer's bytes after filling ([`expected_checksum`]).
    pub checksum: u64,
    /// `MmGetPhysicalAddress` of the first byte (under Wine, the virtual
    /// address).
    pub physical_address: u64,
    /// Bytes allocated.
    pub size: u32,
    /// 1 if the buffer was all zero before it was filled.
    pub was_zeroed: u32,
    /// Address of the buffer modulo the page size (0: page-aligned).
    pub misalignment: u32,
    /// Padding.
    pub reserved: u32,
}

/// `METHOD_IN_DIRECT`: the second buffer reaches the driver as an MDL locked
/// for reading.
pub const METHOD_IN_DIRECT: u32 = 1;
/// `METHOD_OUT_DIRECT`: the second buffer reaches the driver as an MDL
/// locked for writing.
pub const METHOD_OUT_DIRECT: u32 = 2;
/// `METHOD_NEITHER`: the driver gets the caller's raw pointers.
pub const METHOD_NEITHER: u32 = 3;

/// Fill the caller's output buffer, through the IRP's MDL, with
/// [`pattern_byte`]`(fill, i)`. Input [`MdlFillRequest`]; the IOCTL returns
/// the buffer's length as its byte count. Works under Wine too, whose I/O
/// manager gives the driver a pre-mapped MDL of a copy of the buffer.
pub const IOCTL_MDL_OUT_DIRECT: u32 = ctl_code(0x850, METHOD_OUT_DIRECT);
/// Sum the bytes of the caller's second buffer, read through the IRP's MDL:
/// `STATUS_SUCCESS` if the sum is [`MdlSumRequest::expected`],
/// `STATUS_DATA_ERROR` otherwise.
pub const IOCTL_MDL_IN_DIRECT: u32 = ctl_code(0x851, METHOD_IN_DIRECT);
/// Lock the caller's input buffer for reading and its output buffer for
/// writing (raw METHOD_NEITHER pointers, probed in user mode under SEH),
/// and copy the input reversed into the output. Under Wine the probe does
/// nothing and the mapping is NULL: `STATUS_INSUFFICIENT_RESOURCES`.
pub const IOCTL_MDL_NEITHER: u32 = ctl_code(0x852, METHOD_NEITHER);
/// Lock and sum the user range an [`MdlProbeRequest`] names (a pointer
/// inside a request); output [`MdlReply`], whose status is the crate's.
pub const IOCTL_MDL_PROBE: u32 = ctl_code(0x853, METHOD_BUFFERED);
/// A non-paged pool buffer described with `MmBuildMdlForNonPagedPool`, and
/// a kernel-mode probe of another, each mapped and checked; output
/// [`MdlKernelReply`].
pub const IOCTL_MDL_KERNEL_BUFFERS: u32 = ctl_code(0x854, METHOD_BUFFERED);
/// Map the driver's own non-paged page by its physical address
/// (`MmMapIoSpaceEx`/`MmMapIoSpace`, cached) and read the `u32` at
/// [`IoSpaceRequest::offset`]; output [`IoSpaceReply`]. The driver never
/// maps a physical address a caller chooses.
pub const IOCTL_IO_SPACE_READ: u32 = ctl_code(0x860, METHOD_BUFFERED);
/// `MmIsAddressValid` and `MmGetPhysicalAddress` of a pool buffer and of
/// NULL; output [`AddressReply`].
pub const IOCTL_ADDRESS_QUERY: u32 = ctl_code(0x861, METHOD_BUFFERED);

/// The byte [`IOCTL_MDL_OUT_DIRECT`] writes at `index`.
pub const fn pattern_byte(fill: u8, index: usize) -> u8 {
    fill.wrapping_add(index as u8)
}

/// The `u32` the driver's page holds at `offset` for [`IOCTL_IO_SPACE_READ`].
pub const fn io_space_word(offset: u64) -> u32 {
    0xA5A5_0000 | offset as u32
}

/// The driver's page for [`IOCTL_IO_SPACE_READ`]: one page.
pub const IO_SPACE_PAGE: u64 = 4096;

/// Input of [`IOCTL_MDL_OUT_DIRECT`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MdlFillRequest {
    /// The pattern's first byte.
    pub fill: u8,
    /// Padding; must be zero.
    pub reserved: [u8; 7],
}

/// Input of [`IOCTL_MDL_IN_DIRECT`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MdlSumRequest {
    /// The sum of the second buffer's bytes the caller expects.
    pub expected: u64,
}

/// Input of [`IOCTL_MDL_PROBE`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MdlProbeRequest {
    /// A user address of the calling process.
    pub address: u64,
    /// Bytes to lock.
    pub len: u64,
    /// 1 to lock for writing (the driver still only reads).
    pub write: u32,
    /// Padding; must be zero.
    pub reserved: u32,
}

/// Output of [`IOCTL_MDL_PROBE`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MdlReply {
    /// NTSTATUS of locking and mapping the range (0 when they succeeded).
    pub status: i32,
    /// Padding.
    pub reserved: u32,
    /// The sum of the range's bytes (when `status` is 0).
    pub checksum: u64,
}

/// Output of [`IOCTL_MDL_KERNEL_BUFFERS`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MdlKernelReply {
    /// NTSTATUS of the non-paged pool buffer's MDL and mapping.
    pub built: i32,
    /// NTSTATUS of the kernel-mode probe, lock and mapping.
    pub probed: i32,
}

/// Input of [`IOCTL_IO_SPACE_READ`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoSpaceRequest {
    /// Bytes to map, at most [`IO_SPACE_PAGE`].
    pub len: u64,
    /// Offset of the `u32` to read.
    pub offset: u64,
}

/// Output of [`IOCTL_IO_SPACE_READ`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoSpaceReply {
    /// NTSTATUS of the mapping and the read (0 when they succeeded).
    pub status: i32,
    /// The value read ([`io_space_word`] of the offset).
    pub value: u32,
}

/// Output of [`IOCTL_ADDRESS_QUERY`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddressReply {
    /// 1 if `MmIsAddressValid` says the driver's pool buffer is valid.
    pub pool_valid: u32,
    /// 1 if it says NULL is valid.
    pub null_valid: u32,
    /// 1 if `MmGetPhysicalAddress` of the pool buffer is not 0.
    pub pool_physical_known: u32,
    /// 1 if `MmGetPhysicalAddress` of NULL is not 0.
    pub null_physical_known: u32,
}

/// Answer with a [`RoutinesReply`]: `INIT` data read in DriverEntry, bus
/// address translation, an MDL of fresh pages, register blocks.
pub const IOCTL_ROUTINES_STATUS: u32 = ctl_code(0x870, METHOD_BUFFERED);

/// The driver's `INIT` table (discarded after DriverEntry, which sums it).
pub const INIT_TABLE: [u32; 8] = [3, 1, 4, 1, 5, 9, 2, 6];

/// Output of [`IOCTL_ROUTINES_STATUS`]; the statuses are NTSTATUS values.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoutinesReply {
    /// The sum of [`INIT_TABLE`] as DriverEntry read it through its token.
    pub init_sum: u32,
    /// `HalTranslateBusAddress` of ISA port 0x300 (no port is ever accessed).
    pub bus_status: i32,
    /// `MmAllocatePagesForMdlEx` of two pages, mapped, written, read back, freed.
    pub pages_status: i32,
    /// Bytes the pages' MDL described (0 without one).
    pub pages_len: u32,
    /// `READ_REGISTER_BUFFER_ULONG` of four words of the driver's own page mapped as I/O space.
    pub register_buffer_status: i32,
    /// 1 when those words were [`io_space_word`] of their offsets.
    pub register_words_match: u32,
}

/// Lock the `PAGE` code section, run a `pageable_fn!` at DISPATCH_LEVEL on
/// [`PAGE_CODE_INPUT`], unlock; output a `u64`: [`page_code_result`].
/// Never sent under Wine, whose `MmLockPagableDataSection` aborts.
pub const IOCTL_PAGING_CODE: u32 = ctl_code(0x871, METHOD_BUFFERED);

/// The bytes the pageable function of [`IOCTL_PAGING_CODE`] weighs.
pub const PAGE_CODE_INPUT: [u8; 4] = [7, 5, 3, 1];

/// What the pageable function answers: the sum of `(i + 1) * byte`.
pub const fn page_code_result() -> u64 {
    let mut sum = 0;
    let mut i = 0;
    while i < PAGE_CODE_INPUT.len() {
        sum += (i as u64 + 1) * PAGE_CODE_INPUT[i] as u64;
        i += 1;
    }
    sum
}

// The caps of the hardened sample. The driver refuses, before doing anything,
// every request outside its IOCTL's envelope (the input is exactly the
// request structure, or nothing; the output holds the reply) or above these
// caps. Per IOCTL:
// - IOCTL_POOL_ROUNDTRIP: size 1..=POOL_SIZE_MAX, align 0 or a power of two
//   <= POOL_ALIGN_MAX, else STATUS_INVALID_PARAMETER (the IOCTL fails);
// - IOCTL_SECTION_ROUNDTRIP: section_size, view_offset, view_size <=
//   SECTION_SIZE_MAX, read_only_section 0 or 1, else the reply's status is
//   STATUS_INVALID_PARAMETER;
// - IOCTL_MEMORY_NON_CACHED, IOCTL_MEMORY_CONTIGUOUS: size <= MEMORY_SIZE_MAX;
// - IOCTL_LOOKASIDE_REUSE: count <= LOOKASIDE_MAX_COUNT, rounds <= 16;
// - IOCTL_MDL_OUT_DIRECT, IOCTL_MDL_IN_DIRECT: the second buffer 1..=MDL_BUFFER_MAX
//   bytes; IOCTL_MDL_NEITHER: both buffers 1..=MDL_BUFFER_MAX bytes, else
//   STATUS_INVALID_PARAMETER;
// - IOCTL_MDL_PROBE: len <= MDL_BUFFER_MAX, write 0 or 1, else the reply's
//   status is STATUS_INVALID_PARAMETER;
// - IOCTL_IO_SPACE_READ: len <= IO_SPACE_PAGE (the driver's own page only);
// - every METHOD_BUFFERED IOCTL: an output buffer of at most
//   BUFFERED_OUTPUT_MAX bytes, at least its reply (else STATUS_BUFFER_TOO_SMALL);
// - IOCTL_PAGING_WRITE, IOCTL_PAGING_READ, IOCTL_PAGING_CODE under Wine
//   (whose MmLockPagableDataSection aborts the driver's process):
//   STATUS_NOT_SUPPORTED, unless the driver is built with the
//   `allow-aborting-routines` feature.

/// The largest [`PoolRequest::size`].
pub const POOL_SIZE_MAX: u32 = 64 * 1024;
/// The largest [`PoolRequest::align`] (a page).
pub const POOL_ALIGN_MAX: u32 = 4096;
/// The largest section size, view offset and view size of [`IOCTL_SECTION_ROUNDTRIP`].
pub const SECTION_SIZE_MAX: u64 = 1 << 20;
/// The largest [`MemoryRequest::size`].
pub const MEMORY_SIZE_MAX: u32 = 64 * 1024;
/// The largest caller data buffer of the MDL IOCTLs (and [`MdlProbeRequest::len`]).
pub const MDL_BUFFER_MAX: usize = 64 * 1024;
/// The largest output buffer of a METHOD_BUFFERED IOCTL.
pub const BUFFERED_OUTPUT_MAX: usize = 4096;

// Issue 13: the caller's memory without an MDL (METHOD_NEITHER copies under
// SEH, a secured range) and driver pages mapped into the caller.

/// Copy the caller's input reversed into its output: both METHOD_NEITHER
/// pointers become probed user slices (`ProbeForRead`/`ProbeForWrite` and
/// the copy under one SEH frame), copied in chunks; the IOCTL's byte count
/// is the length copied. Both buffers 1..=[`MDL_BUFFER_MAX`] bytes. Works
/// under Wine (its probes are stubs; the crate checks the range itself and
/// the copies are real).
pub const IOCTL_USER_COPY: u32 = ctl_code(0x880, METHOD_NEITHER);
/// Secure the caller's output buffer (`MmSecureVirtualMemory`,
/// read-write), fill it with [`USER_SECURE_BYTE`] through the guard, and
/// release it; the byte count is the buffer's length. No input. Under Wine
/// (stub routines): `STATUS_NOT_SUPPORTED`.
pub const IOCTL_USER_SECURE: u32 = ctl_code(0x881, METHOD_NEITHER);
/// Allocate [`USER_MAP_BYTES`] of fresh pages (`MmAllocatePagesForMdlEx`),
/// write [`USER_MAP_WORD`] at offset 0 through their system mapping, map
/// them into the caller (`MmMapLockedPagesSpecifyCache(UserMode)`), read the
/// word back through the caller's mapping with a probed copy, unmap, free;
/// output [`UserMapReply`], whose status is the crate's (Wine:
/// `STATUS_PROCEDURE_NOT_FOUND`, it lacks `MmAllocatePagesForMdlEx`).
pub const IOCTL_USER_MAP: u32 = ctl_code(0x882, METHOD_BUFFERED);

/// The byte [`IOCTL_USER_SECURE`] fills the caller's buffer with.
pub const USER_SECURE_BYTE: u8 = 0x5A;
/// The word [`IOCTL_USER_MAP`] shares with the caller.
pub const USER_MAP_WORD: u32 = 0x5348_4152;
/// The bytes of pages [`IOCTL_USER_MAP`] maps.
pub const USER_MAP_BYTES: usize = 2 * 4096;

/// Output of [`IOCTL_USER_MAP`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserMapReply {
    /// NTSTATUS of the first step that failed (0 when all succeeded).
    pub status: i32,
    /// The word read through the caller's mapping (when `status` is 0).
    pub word: u32,
    /// The bytes mapped (when `status` is 0).
    pub mapped: u32,
    /// Padding.
    pub reserved: u32,
}
