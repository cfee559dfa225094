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
    NtResult,
    mdl::{IrpMdl, LockAccess},
};

use crate::irp::DeviceControl;

/// The I/O manager's MDL of a direct request: METHOD_IN_DIRECT for
/// [`ReadAccess`](wdm_mem::mdl::ReadAccess), METHOD_OUT_DIRECT for
/// [`WriteAccess`](wdm_mem::mdl::WriteAccess)
/// (`wdm_mem::request::DeviceControl::direct_mdl`).
///
/// Errors: `STATUS_INVALID_DEVICE_REQUEST` for another method,
/// `STATUS_INVALID_PARAMETER` without a second buffer.
pub fn direct_mdl<A: LockAccess>(request: &DeviceControl) -> NtResult<IrpMdl<'_, A>> {
    // SAFETY: no driver above mapped the MDL read-only (the sample is alone
    // on its device stack).
    unsafe { request.request().direct_mdl() }
}

/// A METHOD_NEITHER request's buffers as the caller passed them: (address,
/// length) of the input, then of the output. Nothing is checked: lock them
/// with `wdm_mem::mdl::with_user_buffer`, which probes.
pub fn neither_buffers(request: &DeviceControl) -> NtResult<[(usize, usize); 2]> {
    let [input, output] = request.request().neither_buffers()?;
    Ok([input.into_raw(), output.into_raw()])
}
