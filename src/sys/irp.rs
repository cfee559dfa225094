//! What the I/O manager's headers define inline for IRPs, written once for
//! every provider: `IoGetCurrentIrpStackLocation`, the IRP's completion
//! fields, and a one-line `DbgPrint` (variadic, so the model has its own).

use core::ffi::CStr;

use super::{IO_STACK_LOCATION, IRP, NTSTATUS};

/// `IoGetCurrentIrpStackLocation`.
///
/// # Safety
/// `irp` is a valid IRP with a current stack location (an IRP the driver is
/// processing).
///
/// # IRQL
/// Any.
pub unsafe fn IoGetCurrentIrpStackLocation(irp: *mut IRP) -> *mut IO_STACK_LOCATION {
    // SAFETY: a valid IRP (contract); the union member is the one the I/O
    // manager keeps for an IRP being processed.
    unsafe { (*irp).Tail.Overlay.__bindgen_anon_2.__bindgen_anon_1.CurrentStackLocation }
}

/// Writes `Irp->IoStatus.Status` and `Irp->IoStatus.Information`.
///
/// # Safety
/// `irp` is a valid IRP owned by the caller and not yet completed.
///
/// # IRQL
/// Any.
pub unsafe fn set_io_status(irp: *mut IRP, status: NTSTATUS, information: usize) {
    // SAFETY: the caller owns the IRP (contract).
    unsafe {
        (*irp).IoStatus.__bindgen_anon_1.Status = status;
        (*irp).IoStatus.Information = information as _;
    }
}

/// `DbgPrint("%s\n", line)`.
///
/// # IRQL
/// Any (DbgPrint's own contract: `<= DIRQL`).
#[cfg(not(wdm_provider = "model"))]
pub fn debug_print(line: &CStr) {
    // SAFETY: "%s\n" with one NUL-terminated string argument.
    unsafe { super::DbgPrint(c"%s\n".as_ptr(), line.as_ptr()) };
}

/// The model's `DbgPrint`: the line goes to the model's debug log
/// (`Kernel::debug_output`) and to stderr.
#[cfg(wdm_provider = "model")]
pub fn debug_print(line: &CStr) {
    super::model::exports::debug_print(line);
}
