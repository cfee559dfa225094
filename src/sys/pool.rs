//! Pool allocation with `ExAllocatePool2` where the kernel has it (Windows 10
//! 2004 and later), resolved at run time, and `ExAllocatePoolWithTag` (plus
//! zeroing) elsewhere: the same semantics on every kernel, and no static
//! import of `ExAllocatePool2` that would keep the driver from loading on an
//! older one.

use core::mem::transmute;

use super::{ExAllocatePoolWithTag, POOL_TYPE, PVOID, RuntimeRoutine, SIZE_T, ULONG, utf16};

/// `POOL_FLAGS` of `ExAllocatePool2` (not in mingw-w64's headers).
pub type POOL_FLAGS = u64;
/// Charge the allocation to the current process's quota.
pub const POOL_FLAG_USE_QUOTA: POOL_FLAGS = 0x1;
/// Do not zero the allocation.
pub const POOL_FLAG_UNINITIALIZED: POOL_FLAGS = 0x2;
/// Session pool.
pub const POOL_FLAG_SESSION: POOL_FLAGS = 0x4;
/// Align on a processor cache line.
pub const POOL_FLAG_CACHE_ALIGNED: POOL_FLAGS = 0x8;
/// Raise an exception instead of returning NULL (never used by this crate).
pub const POOL_FLAG_RAISE_ON_FAILURE: POOL_FLAGS = 0x20;
/// Non-paged, no-execute pool.
pub const POOL_FLAG_NON_PAGED: POOL_FLAGS = 0x40;
/// Non-paged, executable pool.
pub const POOL_FLAG_NON_PAGED_EXECUTE: POOL_FLAGS = 0x80;
/// Paged pool.
pub const POOL_FLAG_PAGED: POOL_FLAGS = 0x100;

/// The type of `ExAllocatePool2`.
pub type PFN_EX_ALLOCATE_POOL2 =
    unsafe extern "system" fn(Flags: POOL_FLAGS, NumberOfBytes: SIZE_T, Tag: ULONG) -> PVOID;

static EX_ALLOCATE_POOL2_NAME: [u16; 15] = utf16(b"ExAllocatePool2");
/// `ExAllocatePool2`, when the running kernel exports it.
pub static EX_ALLOCATE_POOL2: RuntimeRoutine = RuntimeRoutine::new(&EX_ALLOCATE_POOL2_NAME);

/// Allocates `size` bytes tagged `tag`: with `ExAllocatePool2(flags, ...)`
/// when the kernel has it, else `ExAllocatePoolWithTag(legacy, ...)`, zeroing
/// the block unless `flags` has [`POOL_FLAG_UNINITIALIZED`]. NULL on failure.
/// `at_passive` says whether the caller runs at PASSIVE_LEVEL, where the
/// first call looks `ExAllocatePool2` up (see [`RuntimeRoutine::address`]);
/// it is asked only until the export is resolved.
///
/// # Safety
/// `flags` and `legacy` name the same pool, without `POOL_FLAG_RAISE_ON_FAILURE`
/// or a must-succeed type; the IRQL is at most the pool's maximum (APC_LEVEL
/// for paged pool, DISPATCH_LEVEL for non-paged), and `at_passive` returns true
/// only at PASSIVE_LEVEL.
#[inline]
pub unsafe fn allocate_pool(
    flags: POOL_FLAGS,
    legacy: POOL_TYPE,
    size: SIZE_T,
    tag: ULONG,
    at_passive: impl FnOnce() -> bool,
) -> PVOID {
    if let Some(address) = EX_ALLOCATE_POOL2.address_lazy(at_passive) {
        // SAFETY: the kernel exports `ExAllocatePool2` at this address with the
        // type PFN_EX_ALLOCATE_POOL2 (wdm.h).
        let allocate: PFN_EX_ALLOCATE_POOL2 = unsafe { transmute::<usize, _>(address) };
        // SAFETY: the caller's contract is ExAllocatePool2's.
        return unsafe { allocate(flags, size, tag) };
    }
    // SAFETY: the caller's contract is ExAllocatePoolWithTag's.
    let block = unsafe { ExAllocatePoolWithTag(legacy, size, tag) };
    if !block.is_null() && flags & POOL_FLAG_UNINITIALIZED == 0 {
        // SAFETY: the kernel just returned `size` writable bytes at `block`.
        unsafe { core::ptr::write_bytes(block.cast::<u8>(), 0, size as usize) };
    }
    block
}
