//! The device-control transfer methods besides METHOD_BUFFERED: the I/O
//! manager's MDL of METHOD_IN_DIRECT and METHOD_OUT_DIRECT requests, and the
//! caller's raw pointers of METHOD_NEITHER requests.
//!
//! What the I/O managers do:
//! - Windows: for the direct methods it probes and locks the caller's
//!   output buffer (for reading with IN_DIRECT, for writing with OUT_DIRECT)
//!   into `Irp->MdlAddress`, and unlocks and frees it at completion; with
//!   METHOD_NEITHER it passes `Type3InputBuffer` and `Irp->UserBuffer` as the
//!   caller gave them, unchecked, in the caller's process context.
//! - Wine 8 (`dlls/ntoskrnl.exe/ntoskrnl.c`, `dispatch_ioctl` and
//!   `IoBuildDeviceIoControlRequest`): the request's buffers are copies in
//!   `winedevice.exe`. For the direct methods `Irp->MdlAddress` is an MDL of
//!   the output copy (`IoAllocateMdl`) marked `MDL_MAPPED_TO_SYSTEM_VA` with
//!   `MappedSystemVa` = the copy, nothing locked, and the whole output copy
//!   goes back to the caller at completion, whatever the status. With
//!   METHOD_NEITHER the two pointers are the copies (valid heap memory of
//!   `winedevice.exe`), and `RequestorMode` is `UserMode`.

use wdm_mem::{
    NtResult, NtStatus,
    mdl::{IrpMdl, LockAccess},
    sys::{_LOCK_OPERATION, METHOD_IN_DIRECT, METHOD_NEITHER, METHOD_OUT_DIRECT},
};

use crate::irp::DeviceControl;

/// The I/O manager's MDL of a direct request: METHOD_IN_DIRECT for
/// [`ReadAccess`](wdm_mem::mdl::ReadAccess), METHOD_OUT_DIRECT for
/// [`WriteAccess`](wdm_mem::mdl::WriteAccess).
///
/// Errors: `STATUS_INVALID_DEVICE_REQUEST` for another method,
/// `STATUS_INVALID_PARAMETER` without a second buffer.
pub fn direct_mdl<A: LockAccess>(request: &DeviceControl) -> NtResult<IrpMdl<'_, A>> {
    let method = if A::OPERATION == _LOCK_OPERATION::IoReadAccess { METHOD_IN_DIRECT } else { METHOD_OUT_DIRECT };
    if request.code() & 3 != method {
        return Err(NtStatus::INVALID_DEVICE_REQUEST);
    }
    // SAFETY: the request's IRP is valid and completed only after the
    // handler returns, which ends the borrow of `request`; for this method
    // the I/O manager locked its MDL for `A` (checked above), and no driver
    // above mapped it read-only (the sample is alone on its device stack).
    unsafe { IrpMdl::from_irp(&*request.irp()) }
}

/// A METHOD_NEITHER request's buffers as the caller passed them: (address,
/// length) of the input, then of the output. Nothing is checked: lock them
/// with `wdm_mem::mdl::with_user_buffer`, which probes.
pub fn neither_buffers(request: &DeviceControl) -> NtResult<[(usize, usize); 2]> {
    if request.code() & 3 != METHOD_NEITHER {
        return Err(NtStatus::INVALID_DEVICE_REQUEST);
    }
    let (input_len, output_len) = request.lengths();
    // SAFETY: the request's IRP is valid until completed; only a field is read.
    let output = unsafe { (*request.irp()).UserBuffer } as usize;
    Ok([(request.type3_input(), input_len), (output, output_len)])
}
