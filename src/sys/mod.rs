//! The kernel-symbol layer: the only module of the crate that names kernel
//! functions and structures.
//!
//! One of three providers is compiled in (chosen by `build.rs`):
//!
//! | provider | when | what it is |
//! |---|---|---|
//! | `wdk` | Windows target, feature `wdk` | Microsoft's `wdk-sys` (needs the WDK; cannot be built on Linux) |
//! | `ddk` | Windows target without `wdk` | checked-in bindgen output of mingw-w64's DDK headers (the Linux cross build) |
//! | `model` | any other target, or feature `model` | the kernel model of `wdm_mem::model`, in Rust |
//!
//! All three export the same identifiers (those `wdk-sys` generates), so code
//! above this layer compiles unchanged against each. What `wdk-sys` does not
//! bind (inline functions such as `KeGetCurrentIrql`, macros, exports that old
//! kernels lack) is written here once for every provider.
//!
//! The raw routines here carry the kernel's own contracts (IRQL, arguments)
//! as Microsoft documents them for each routine; the safe modules of the
//! crate state those contracts in their `# IRQL` sections and check them.
//!
//! This module is public so that a driver can reach the raw names of the
//! selected provider for what this crate does not wrap (the sample driver
//! uses it for its device and IRP plumbing); everything memory-related has a
//! safe type elsewhere in the crate.

#![allow(missing_docs, non_camel_case_types, non_snake_case, non_upper_case_globals)]

pub mod ctypes;

#[cfg(not(wdm_provider = "wdk"))]
mod ddk;
#[cfg(not(wdm_provider = "wdk"))]
pub use ddk::*;

#[cfg(wdm_provider = "wdk")]
mod wdk;
#[cfg(wdm_provider = "wdk")]
pub use wdk::*;

#[cfg(wdm_provider = "model")]
pub(crate) mod model;
#[cfg(wdm_provider = "model")]
pub use model::exports::*;

#[cfg(not(wdm_provider = "model"))]
mod cr8;
#[cfg(not(wdm_provider = "model"))]
pub use cr8::*;
// The kernel model's hooks for pageable data; no-ops on real kernels.
#[cfg(not(wdm_provider = "model"))]
mod paging;
#[cfg(not(wdm_provider = "model"))]
pub use paging::*;
#[cfg(not(wdm_provider = "model"))]
mod init;
#[cfg(not(wdm_provider = "model"))]
pub use init::*;
#[cfg(not(wdm_provider = "model"))]
mod pool_hooks;
#[cfg(not(wdm_provider = "model"))]
pub use pool_hooks::*;
// READ_REGISTER_*/WRITE_REGISTER_*: the model routes them to its devices.
#[cfg(not(wdm_provider = "model"))]
mod register;
#[cfg(not(wdm_provider = "model"))]
pub use register::*;

// The buffer and port forms: written once for the Windows providers (asm),
// their lists shared with the model.
pub(crate) mod port;
pub(crate) mod register_buffer;
#[cfg(not(wdm_provider = "model"))]
pub use port::*;
#[cfg(not(wdm_provider = "model"))]
pub use register_buffer::*;

// Named one by one: an explicit re-export shadows the same name coming from a
// provider's glob (wdk-sys has its own POOL_FLAG_* constants).
mod device;
mod io_space;
mod irp;
mod lookaside;
mod mdl;
mod mdl_pages;
mod object;
mod pool;
mod routine;
mod section;
mod user_copy;
mod user_memory;
pub use device::{
    DACL_SECURITY_INFORMATION, PFN_IO_CREATE_DEVICE_SECURE, PFN_OB_SET_SECURITY_OBJECT_BY_POINTER, create_device_secure,
};
pub use io_space::{MM_MAP_IO_SPACE_EX, PFN_MM_MAP_IO_SPACE_EX, map_io_space};
pub use irp::{IoGetCurrentIrpStackLocation, debug_print, set_io_status};
pub use lookaside::{
    EX_DELETE_LOOKASIDE_LIST_EX, EX_INITIALIZE_LOOKASIDE_LIST_EX, ExAllocateFromLookasideListEx,
    ExAllocateFromNPagedLookasideList, ExAllocateFromPagedLookasideList, ExFreeToLookasideListEx,
    ExFreeToNPagedLookasideList, ExFreeToPagedLookasideList, ExQueryDepthSList, GeneralLookaside,
    LOOKASIDE_MINIMUM_BLOCK_SIZE, LookasideFields, LookasideListExRoutines, MEMORY_ALLOCATION_ALIGNMENT,
    PFN_EX_DELETE_LOOKASIDE_LIST_EX, PFN_EX_INITIALIZE_LOOKASIDE_LIST_EX, POOL_NX_ALLOCATION,
    lookaside_list_ex_routines,
};
pub use mdl::{
    ADDRESS_AND_SIZE_TO_SPAN_PAGES, MDL_MAX_BYTE_COUNT, MDL_PARTIAL_HAS_BEEN_MAPPED, MDL_WRITE_OPERATION,
    MM_LOWEST_USER_ADDRESS, MM_USER_PROBE_ADDRESS, MM_USER_PROBE_ADDRESS_VARIABLE, MdlMappingNoExecute,
    MdlMappingNoWrite, MmGetMdlPfnArray, MmGetMdlVirtualAddress, MmGetSystemAddressForMdlSafe, MmPrepareMdlForReuse,
    PFN_NUMBER, mdl_flags, user_probe_address,
};
#[cfg(not(wdm_provider = "model"))]
pub use mdl::{check_mapped_write, probe_and_lock_pages};
pub use mdl_pages::{
    MM_ALLOCATE_FROM_LOCAL_NODE_ONLY, MM_ALLOCATE_FULLY_REQUIRED, MM_ALLOCATE_NO_WAIT, MM_ALLOCATE_PAGES_FOR_MDL_EX,
    MM_ALLOCATE_PREFER_CONTIGUOUS, MM_ALLOCATE_REQUIRE_CONTIGUOUS_CHUNKS, MM_DONT_ZERO_ALLOCATION,
    MM_FREE_PAGES_FROM_MDL, PFN_MM_ALLOCATE_PAGES_FOR_MDL_EX, PFN_MM_FREE_PAGES_FROM_MDL,
};
pub use object::{InitializeObjectAttributes, MM_ALLOCATION_GRANULARITY, ZwCurrentProcess};
pub use pool::{
    EX_ALLOCATE_POOL2, PFN_EX_ALLOCATE_POOL2, POOL_FLAG_CACHE_ALIGNED, POOL_FLAG_NON_PAGED,
    POOL_FLAG_NON_PAGED_EXECUTE, POOL_FLAG_PAGED, POOL_FLAG_RAISE_ON_FAILURE, POOL_FLAG_SESSION,
    POOL_FLAG_UNINITIALIZED, POOL_FLAG_USE_QUOTA, POOL_FLAGS, allocate_pool,
};
pub use routine::{RuntimeRoutine, utf16};
#[cfg(not(wdm_provider = "model"))]
pub use section::{
    IoGetCurrentProcess, ObReferenceObjectByHandle, ObfDereferenceObject, ObfReferenceObject, ZwAllocateVirtualMemory,
    note_view_access,
};
pub use section::{
    MEM_COMMIT, MM_MAP_VIEW_IN_SYSTEM_SPACE, MM_SECTION_OBJECT_TYPE, MM_UNMAP_VIEW_IN_SYSTEM_SPACE,
    OBJ_FORCE_ACCESS_CHECK, PFN_MM_MAP_VIEW_IN_SYSTEM_SPACE, PFN_MM_UNMAP_VIEW_IN_SYSTEM_SPACE, PFN_ZW_QUERY_SECTION,
    SEC_FILE, SECTION_BASIC_INFORMATION, SectionBasicInformation, WINE_KERNEL, ZW_QUERY_SECTION,
};
#[cfg(not(wdm_provider = "model"))]
pub use user_copy::{copy_from_user, copy_to_user};
#[cfg(not(wdm_provider = "model"))]
pub use user_memory::map_locked_pages_user;
pub use user_memory::{
    MM_SECURE_VIRTUAL_MEMORY, MM_UNSECURE_VIRTUAL_MEMORY, PFN_MM_SECURE_VIRTUAL_MEMORY, PFN_MM_UNSECURE_VIRTUAL_MEMORY,
};
