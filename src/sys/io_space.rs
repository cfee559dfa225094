//! Device memory: `MmMapIoSpaceEx` where the kernel has it (Windows 10 and
//! later), resolved at run time, and `MmMapIoSpace` elsewhere (older Windows,
//! Wine): a static import of `MmMapIoSpaceEx` would keep the driver from
//! loading there.

use core::mem::transmute;

use super::{
    _MEMORY_CACHING_TYPE, KeGetCurrentIrql, MmMapIoSpace, PAGE_NOCACHE, PAGE_WRITECOMBINE, PHYSICAL_ADDRESS, PVOID,
    RuntimeRoutine, SIZE_T, ULONG, utf16,
};

/// The type of `MmMapIoSpaceEx`.
pub type PFN_MM_MAP_IO_SPACE_EX =
    unsafe extern "system" fn(PhysicalAddress: PHYSICAL_ADDRESS, NumberOfBytes: SIZE_T, Protect: ULONG) -> PVOID;

static MM_MAP_IO_SPACE_EX_NAME: [u16; 14] = utf16(b"MmMapIoSpaceEx");
/// `MmMapIoSpaceEx`, when the running kernel exports it.
pub static MM_MAP_IO_SPACE_EX: RuntimeRoutine = RuntimeRoutine::new(&MM_MAP_IO_SPACE_EX_NAME);

/// Maps `size` bytes of device memory at `physical` with the page protection
/// `protect` (`PAGE_READONLY` or `PAGE_READWRITE`, optionally with
/// `PAGE_NOCACHE` or `PAGE_WRITECOMBINE`): `MmMapIoSpaceEx` when the kernel
/// has it, else `MmMapIoSpace` with the caching type `protect` names (that
/// mapping is always read-write). NULL on failure.
///
/// # Safety
/// `physical..physical + size` is device memory the caller may map (not RAM
/// in use by anyone); the IRQL is at most DISPATCH_LEVEL. The mapping is
/// released with `MmUnmapIoSpace(address, size)`.
pub unsafe fn map_io_space(physical: PHYSICAL_ADDRESS, size: SIZE_T, protect: ULONG) -> PVOID {
    // SAFETY: reading the IRQL has no precondition.
    let at_passive = unsafe { KeGetCurrentIrql() } == 0;
    if let Some(address) = MM_MAP_IO_SPACE_EX.address(at_passive) {
        // SAFETY: the kernel exports `MmMapIoSpaceEx` at this address with
        // the type PFN_MM_MAP_IO_SPACE_EX (wdm.h).
        let map: PFN_MM_MAP_IO_SPACE_EX = unsafe { transmute::<usize, _>(address) };
        // SAFETY: the caller's contract is MmMapIoSpaceEx's.
        return unsafe { map(physical, size, protect) };
    }
    let cache = if protect & PAGE_NOCACHE != 0 {
        _MEMORY_CACHING_TYPE::MmNonCached
    } else if protect & PAGE_WRITECOMBINE != 0 {
        _MEMORY_CACHING_TYPE::MmWriteCombined
    } else {
        _MEMORY_CACHING_TYPE::MmCached
    };
    // SAFETY: the caller's contract is MmMapIoSpace's.
    unsafe { MmMapIoSpace(physical, size, cache) }
}

/// The register routines of x64 `wdm.h` (`READ_REGISTER_*` and
/// `WRITE_REGISTER_*`, `FORCEINLINE`: no binding has them) and their widths:
/// the one list that both implementations, the volatile accesses of
/// `register.rs` and the kernel model's devices, are generated from.
/// `register_routines!(generate)` expands to
/// `generate! { READ, WRITE: type; ... }`.
macro_rules! register_routines {
    ($generate:ident) => {
        $generate! {
            READ_REGISTER_UCHAR, WRITE_REGISTER_UCHAR: u8;
            READ_REGISTER_USHORT, WRITE_REGISTER_USHORT: u16;
            READ_REGISTER_ULONG, WRITE_REGISTER_ULONG: u32;
            READ_REGISTER_ULONG64, WRITE_REGISTER_ULONG64: u64;
        }
    };
}
pub(crate) use register_routines;
