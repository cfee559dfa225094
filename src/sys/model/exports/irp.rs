//! The I/O manager's completion routine and `DbgPrint`, as the model has them.

use core::ffi::CStr;
use std::format;

use super::{irql_above, with_state};
use crate::sys::{CCHAR, PIRP, model::verifier::BugCheck};

/// `IofCompleteRequest`: `<= DISPATCH_LEVEL`. Like Windows' I/O manager, it
/// moves the IRP past its last stack location, and a second completion of
/// the same IRP is bug check 0x44 (MULTIPLE_IRP_COMPLETE_REQUESTS).
///
/// # Safety
/// `irp` is a valid IRP.
pub unsafe extern "system" fn IofCompleteRequest(irp: PIRP, _boost: CCHAR) {
    with_state(|state| {
        if irql_above(state, "IofCompleteRequest", 2) {
            return;
        }
        // SAFETY: a valid IRP (contract).
        let irp = unsafe { &mut *irp };
        if irp.CurrentLocation > irp.StackCount {
            state.violation(
                BugCheck::MULTIPLE_IRP_COMPLETE_REQUESTS,
                [irp as *mut _ as u64, 0, 0, 0],
                format!("IofCompleteRequest of an IRP completed already ({:p})", irp),
            );
            return;
        }
        irp.CurrentLocation = irp.StackCount + 1;
    });
}

/// The model's `DbgPrint` of one line: stderr of the test.
pub(crate) fn debug_print(line: &CStr) {
    std::eprintln!("DbgPrint: {}", line.to_string_lossy());
}
