//! Section objects and processes: what no binding of the crate has for
//! system-space views, the process a user view belongs to, and
//! `ZwQuerySection`.
//!
//! Statically imported (every kernel has them, Wine 8 included):
//! `ObReferenceObjectByHandle`, `ObfReferenceObject`, `ObfDereferenceObject`,
//! `IoGetCurrentProcess`, `ZwAllocateVirtualMemory`. They are declared here
//! by hand, for the `ddk` and `wdk` providers alike, rather than added to the
//! generated bindings' allowlist: five prototypes do not justify a
//! regeneration, and the
//! declarations read the same under both providers (an explicit re-export in
//! `src/sys/mod.rs` shadows wdk-sys's own).
//!
//! Resolved at run time ([`RuntimeRoutine`]): `MmMapViewInSystemSpace`,
//! `MmUnmapViewInSystemSpace`, the data export `MmSectionObjectType`, and
//! `ZwQuerySection`. Wine 8's ntoskrnl lists the first three as
//! unimplemented stubs: `MmGetSystemRoutineAddress` (`GetProcAddress` there)
//! returns a thunk that aborts the driver's process when called, or, for the
//! data export, when read as an object type. [`WINE_KERNEL`] names an export
//! only Wine's ntoskrnl has, so that the crate can refuse system-space views
//! there instead of calling the stub.

#[cfg(not(wdm_provider = "model"))]
use super::{ACCESS_MASK, KPROCESSOR_MODE, ULONG_PTR};
use super::{HANDLE, LARGE_INTEGER, NTSTATUS, PSIZE_T, PVOID, RuntimeRoutine, SIZE_T, ULONG, utf16};

/// `OBJ_FORCE_ACCESS_CHECK`: check the caller's access to the object even
/// though the open is made from kernel mode.
pub const OBJ_FORCE_ACCESS_CHECK: ULONG = 0x0400;
/// `SEC_FILE`: a section backed by a file (as `ZwQuerySection` reports it).
pub const SEC_FILE: ULONG = 0x0080_0000;
/// `MEM_COMMIT`, for `ZwAllocateVirtualMemory`.
pub const MEM_COMMIT: ULONG = 0x1000;
/// `SectionBasicInformation`, of `SECTION_INFORMATION_CLASS`.
pub const SectionBasicInformation: u32 = 0;

/// `SECTION_BASIC_INFORMATION` (`ntddk.h`'s layout; not in mingw-w64's DDK).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SECTION_BASIC_INFORMATION {
    pub BaseAddress: PVOID,
    pub AllocationAttributes: ULONG,
    pub MaximumSize: LARGE_INTEGER,
}

/// The type of `ZwQuerySection`.
pub type PFN_ZW_QUERY_SECTION = unsafe extern "system" fn(
    SectionHandle: HANDLE,
    SectionInformationClass: u32,
    SectionInformation: PVOID,
    SectionInformationLength: SIZE_T,
    ReturnLength: PSIZE_T,
) -> NTSTATUS;
/// The type of `MmMapViewInSystemSpace`.
pub type PFN_MM_MAP_VIEW_IN_SYSTEM_SPACE =
    unsafe extern "system" fn(Section: PVOID, MappedBase: *mut PVOID, ViewSize: PSIZE_T) -> NTSTATUS;
/// The type of `MmUnmapViewInSystemSpace`.
pub type PFN_MM_UNMAP_VIEW_IN_SYSTEM_SPACE = unsafe extern "system" fn(MappedBase: PVOID) -> NTSTATUS;

static ZW_QUERY_SECTION_NAME: [u16; 14] = utf16(b"ZwQuerySection");
/// `ZwQuerySection` ([`PFN_ZW_QUERY_SECTION`]).
pub static ZW_QUERY_SECTION: RuntimeRoutine = RuntimeRoutine::new(&ZW_QUERY_SECTION_NAME);
static MM_MAP_VIEW_IN_SYSTEM_SPACE_NAME: [u16; 22] = utf16(b"MmMapViewInSystemSpace");
/// `MmMapViewInSystemSpace` ([`PFN_MM_MAP_VIEW_IN_SYSTEM_SPACE`]).
pub static MM_MAP_VIEW_IN_SYSTEM_SPACE: RuntimeRoutine = RuntimeRoutine::new(&MM_MAP_VIEW_IN_SYSTEM_SPACE_NAME);
static MM_UNMAP_VIEW_IN_SYSTEM_SPACE_NAME: [u16; 24] = utf16(b"MmUnmapViewInSystemSpace");
/// `MmUnmapViewInSystemSpace` ([`PFN_MM_UNMAP_VIEW_IN_SYSTEM_SPACE`]).
pub static MM_UNMAP_VIEW_IN_SYSTEM_SPACE: RuntimeRoutine = RuntimeRoutine::new(&MM_UNMAP_VIEW_IN_SYSTEM_SPACE_NAME);
static MM_SECTION_OBJECT_TYPE_NAME: [u16; 19] = utf16(b"MmSectionObjectType");
/// The data export `POBJECT_TYPE *MmSectionObjectType`: its address.
pub static MM_SECTION_OBJECT_TYPE: RuntimeRoutine = RuntimeRoutine::new(&MM_SECTION_OBJECT_TYPE_NAME);
static WINE_KERNEL_NAME: [u16; 23] = utf16(b"wine_ntoskrnl_main_loop");
/// An export of Wine's ntoskrnl only (its driver host's main loop): present
/// means the kernel is Wine's, whose system-space view routines are stubs.
pub static WINE_KERNEL: RuntimeRoutine = RuntimeRoutine::new(&WINE_KERNEL_NAME);

#[cfg(not(wdm_provider = "model"))]
unsafe extern "system" {
    /// `ObReferenceObjectByHandle` (`wdm.h`): `ObjectType` is a `POBJECT_TYPE`.
    pub fn ObReferenceObjectByHandle(
        Handle: HANDLE,
        DesiredAccess: ACCESS_MASK,
        ObjectType: PVOID,
        AccessMode: KPROCESSOR_MODE,
        Object: *mut PVOID,
        HandleInformation: PVOID,
    ) -> NTSTATUS;
    /// `ObfReferenceObject` (what the `ObReferenceObject` macro calls); the
    /// `LONG_PTR` it returns is `isize` on x64.
    pub fn ObfReferenceObject(Object: PVOID) -> isize;
    /// `ObfDereferenceObject` (what the `ObDereferenceObject` macro calls).
    pub fn ObfDereferenceObject(Object: PVOID) -> isize;
    /// `IoGetCurrentProcess` (`PsGetCurrentProcess` is a macro for it): the
    /// `PEPROCESS` of the current thread's process context.
    pub fn IoGetCurrentProcess() -> PVOID;
    /// `ZwAllocateVirtualMemory` (`ntifs.h`); the crate only commits pages of
    /// a view of a `SEC_RESERVE` section with it.
    pub fn ZwAllocateVirtualMemory(
        ProcessHandle: HANDLE,
        BaseAddress: *mut PVOID,
        ZeroBits: ULONG_PTR,
        RegionSize: PSIZE_T,
        AllocationType: ULONG,
        Protect: ULONG,
    ) -> NTSTATUS;
}

/// Declares that the driver is about to touch `size` bytes of a
/// system-space section view at `address` (`write`: for writing) through a
/// reference (an exclusive view's slice or `get`/`get_mut`). No-op on a
/// real kernel, where a touch of pageable memory above APC_LEVEL is the
/// page fault it reports as 0x0A/0xD1; the kernel model reports it.
#[cfg(not(wdm_provider = "model"))]
#[inline(always)]
pub fn note_view_access(_address: PVOID, _size: usize, _write: bool) {}
