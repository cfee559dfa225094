//! `MmAllocatePagesForMdlEx` and `MmFreePagesFromMdl`, resolved at run time:
//! Wine 8 exports neither usable (`MmAllocatePagesForMdlEx` is absent,
//! `MmFreePagesFromMdl` a stub that raises), so a static import would keep
//! the driver from loading or crash it; Windows has both (Server 2003 SP1
//! and later). The `MM_ALLOCATE_*` flags of `wdm.h`.

use super::{MEMORY_CACHING_TYPE, PHYSICAL_ADDRESS, PMDL, RuntimeRoutine, SIZE_T, ULONG, utf16};

/// `MM_DONT_ZERO_ALLOCATION`.
pub const MM_DONT_ZERO_ALLOCATION: ULONG = 0x1;
/// `MM_ALLOCATE_FROM_LOCAL_NODE_ONLY`.
pub const MM_ALLOCATE_FROM_LOCAL_NODE_ONLY: ULONG = 0x2;
/// `MM_ALLOCATE_FULLY_REQUIRED`.
pub const MM_ALLOCATE_FULLY_REQUIRED: ULONG = 0x4;
/// `MM_ALLOCATE_NO_WAIT`.
pub const MM_ALLOCATE_NO_WAIT: ULONG = 0x8;
/// `MM_ALLOCATE_PREFER_CONTIGUOUS`.
pub const MM_ALLOCATE_PREFER_CONTIGUOUS: ULONG = 0x10;
/// `MM_ALLOCATE_REQUIRE_CONTIGUOUS_CHUNKS`.
pub const MM_ALLOCATE_REQUIRE_CONTIGUOUS_CHUNKS: ULONG = 0x20;

/// The type of `MmAllocatePagesForMdlEx`.
pub type PFN_MM_ALLOCATE_PAGES_FOR_MDL_EX = unsafe extern "system" fn(
    LowAddress: PHYSICAL_ADDRESS,
    HighAddress: PHYSICAL_ADDRESS,
    SkipBytes: PHYSICAL_ADDRESS,
    TotalBytes: SIZE_T,
    CacheType: MEMORY_CACHING_TYPE,
    Flags: ULONG,
) -> PMDL;
/// The type of `MmFreePagesFromMdl`.
pub type PFN_MM_FREE_PAGES_FROM_MDL = unsafe extern "system" fn(MemoryDescriptorList: PMDL);

static MM_ALLOCATE_PAGES_FOR_MDL_EX_NAME: [u16; 23] = utf16(b"MmAllocatePagesForMdlEx");
/// `MmAllocatePagesForMdlEx`, when the running kernel exports it.
pub static MM_ALLOCATE_PAGES_FOR_MDL_EX: RuntimeRoutine = RuntimeRoutine::new(&MM_ALLOCATE_PAGES_FOR_MDL_EX_NAME);
static MM_FREE_PAGES_FROM_MDL_NAME: [u16; 18] = utf16(b"MmFreePagesFromMdl");
/// `MmFreePagesFromMdl`, when the running kernel exports it.
pub static MM_FREE_PAGES_FROM_MDL: RuntimeRoutine = RuntimeRoutine::new(&MM_FREE_PAGES_FROM_MDL_NAME);
