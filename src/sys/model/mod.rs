//! The kernel model: a user-mode implementation of the kernel routines this
//! crate calls, faithful to their documented contracts, with a verifier in the
//! spirit of Driver Verifier.
//!
//! `exports` holds the routines under their kernel names (what `crate::sys`
//! re-exports for the `model` provider); the rest is the model's state and
//! its public face, [`crate::model`].

mod device;
pub(crate) mod exports;
mod faults;
mod host_pages;
mod io_space;
mod irp;
mod irql;
mod kernel;
mod lookaside;
mod mdl;
mod mdl_pages;
mod memory;
mod memory_file;
mod paging;
mod pool;
mod process;
mod section;
mod secure;
mod verifier;

pub use device::{DEVICE_BAD_OBJECT, DEVICE_LEAKED, DeviceInfo, DeviceSecurity, SYMBOLIC_LINK_LEAKED, driver_object};
pub use faults::{Call, Fault};
pub use io_space::{
    BusSpace, BusWindow, Device, IO_PORT_UNCLAIMED, IO_SPACE_BAD_UNMAP, IO_SPACE_LEAKED, IO_SPACE_MISALIGNED,
    RegisterAccess, RegisterValue,
};
pub use irp::DeviceControlIrp;
pub use kernel::{EnteredKernel, Kernel, KernelHandle};
pub use lookaside::{
    LIST_ENTRY_CORRUPTED, LOOKASIDE_BAD_PARAMETER, LOOKASIDE_DOUBLE_FREE, LOOKASIDE_ENTRIES_OUTSTANDING,
    LOOKASIDE_ENTRY_POISON, LOOKASIDE_FREED_WHILE_LINKED, LOOKASIDE_PAGED_STRUCTURE, LOOKASIDE_USED_AFTER_DELETE,
    LOOKASIDE_WRONG_LIST,
};
pub use mdl::{
    MDL_BAD_UNMAP, MDL_LEAKED, MDL_NOT_MODELLED, MDL_USER_MAPPING_LEAKED, MDL_USER_UNMAP_WRONG_PROCESS, UserProtection,
    UserRange,
};
pub use mdl_pages::{MDL_PAGES_BAD_FREE, MDL_PAGES_FREED_OUT_OF_ORDER, MDL_PAGES_IO_FREE_MDL, MDL_PAGES_LEAKED};
pub use memory::{MEMORY_BAD_FREE, MEMORY_LEAKED, PHYSICAL_MEMORY};
pub use paging::PageableSection;
pub use pool::{FREED_POOL_POISON, LARGEST_BLOCK, PoolBlock, PoolUsage, QUARANTINE};
pub use process::UserProcess;
pub use secure::{SECURE_BAD_HANDLE, SECURE_LEAKED, SECURE_WRONG_PROCESS};
pub use verifier::{BugCheck, Report, Violation};
