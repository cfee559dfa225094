//! The kernel routines of the model, under their kernel names and with the
//! signatures of the bindings, so that `crate::sys` exports the same
//! identifiers for every provider. One file per area of the kernel.

mod device;
mod init;
mod io_space;
mod irp;
mod irql;
mod lookaside;
mod mdl;
mod mdl_pages;
mod memory;
mod paging;
mod pool;
mod section;
mod secure;

use std::{format, string::String};

pub use self::device::{IoCreateDevice, IoCreateSymbolicLink, IoDeleteDevice, IoDeleteSymbolicLink};
pub use self::init::*;
pub use self::irp::IofCompleteRequest;
pub(crate) use self::irp::debug_print;
pub use self::paging::*;
pub use self::{io_space::*, mdl::*};
pub use self::{irql::*, lookaside::*, memory::*, pool::*, section::*};
use super::{
    irql as thread_irql,
    kernel::{State, with_state},
    verifier::BugCheck,
};
use crate::sys::{
    PFN_EX_ALLOCATE_POOL2, PFN_EX_DELETE_LOOKASIDE_LIST_EX, PFN_EX_INITIALIZE_LOOKASIDE_LIST_EX,
    PFN_MM_ALLOCATE_PAGES_FOR_MDL_EX, PFN_MM_FREE_PAGES_FROM_MDL, PFN_MM_MAP_IO_SPACE_EX, PUNICODE_STRING, PVOID,
};

/// Parameter 1 of the model's DDI-compliance bug check (0xC4) for a routine
/// called above its documented maximum IRQL. Driver Verifier's DDI checks use
/// one rule number per routine family; the model uses this one for all and
/// names the routine in the message.
pub(super) const DDI_IRQL_RULE: u64 = 0x0002_0000;

/// Records a DDI-compliance violation when the IRQL is above `max`; true if so.
pub(super) fn irql_above(state: &mut State, routine: &str, max: u8) -> bool {
    let current = thread_irql::get();
    if current <= max {
        return false;
    }
    state.violation(
        BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION,
        [DDI_IRQL_RULE, u64::from(current), u64::from(max), 0],
        format!("{routine} called at IRQL {current}, above its maximum {max}"),
    );
    true
}

/// What `MmGetSystemRoutineAddress` can find in the model.
fn export(name: &str) -> Option<usize> {
    match name {
        "ExAllocatePool2" => Some(pool::ex_allocate_pool2 as PFN_EX_ALLOCATE_POOL2 as usize),
        "ExInitializeLookasideListEx" => {
            Some(lookaside::ex_initialize_lookaside_list_ex as PFN_EX_INITIALIZE_LOOKASIDE_LIST_EX as usize)
        }
        "ExDeleteLookasideListEx" => {
            Some(lookaside::ex_delete_lookaside_list_ex as PFN_EX_DELETE_LOOKASIDE_LIST_EX as usize)
        }
        "MmAllocatePagesForMdlEx" => {
            Some(mdl_pages::mm_allocate_pages_for_mdl_ex as PFN_MM_ALLOCATE_PAGES_FOR_MDL_EX as usize)
        }
        "MmFreePagesFromMdl" => Some(mdl_pages::mm_free_pages_from_mdl as PFN_MM_FREE_PAGES_FROM_MDL as usize),
        "MmMapIoSpaceEx" => Some(io_space::mm_map_io_space_ex as PFN_MM_MAP_IO_SPACE_EX as usize),
        _ => section::section_export(name).or_else(|| secure::secure_export(name)),
    }
}

/// `MmGetSystemRoutineAddress`: PASSIVE_LEVEL only; NULL for a name the model
/// does not export or that the test removed.
///
/// # Safety
/// `name` points to a valid `UNICODE_STRING`.
pub unsafe extern "system" fn MmGetSystemRoutineAddress(name: PUNICODE_STRING) -> PVOID {
    // SAFETY: the caller passes a valid counted string.
    let name = unsafe { unicode_to_string(name) };
    with_state(|state| {
        if irql_above(state, "MmGetSystemRoutineAddress", 0) {
            return core::ptr::null_mut();
        }
        if state.missing_exports.contains(&name) {
            return core::ptr::null_mut();
        }
        if name == "wine_ntoskrnl_main_loop" {
            return if state.wine { secure::wine_main_loop as fn() as PVOID } else { core::ptr::null_mut() };
        }
        export(&name).or_else(|| device::device_export(state, &name)).or_else(|| state.mdl.variable(&name)).unwrap_or(0)
            as PVOID
    })
}

/// A `UNICODE_STRING` as a Rust string (lossy).
///
/// # Safety
/// `string` points to a valid `UNICODE_STRING` whose buffer holds `Length`
/// bytes.
pub(super) unsafe fn unicode_to_string(string: PUNICODE_STRING) -> String {
    // SAFETY: per the contract.
    let string = unsafe { &*string };
    let units = usize::from(string.Length) / 2;
    // SAFETY: per the contract, `Buffer` holds `Length` bytes.
    let wide = unsafe { core::slice::from_raw_parts(string.Buffer, units) };
    String::from_utf16_lossy(wide)
}
