/*
 * Input of scripts/regen-ddk-bindings.sh: the mingw-w64 DDK headers (Debian package
 * mingw-w64-x86-64-dev) that declare everything the `ddk` provider binds.
 * <ntddk.h> includes <wdm.h> (pool, lookaside lists, MDLs, Zw* sections, I/O manager)
 * and adds MmMapViewInSystemSpace, MmLockPagableSectionByHandle, MmGetPhysicalAddress,
 * MmIsAddressValid, MmAllocateNonCachedMemory and HalTranslateBusAddress.
 */
#include <ntddk.h>
