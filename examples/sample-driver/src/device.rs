//! The sample's device object and its symbolic link: `\Device\WdmMemSample`,
//! linked as `\DosDevices\WdmMemSample` (`\\.\WdmMemSample` for user mode).
//!
//! The device is created with a security descriptor as a real driver's
//! should be: `D:P(A;;GA;;;SY)(A;;GA;;;BA)` (wdmsec.h's
//! `SDDL_DEVOBJ_SYS_ALL_ADM_ALL`), so that only LocalSystem and
//! administrators may open it, and `FILE_DEVICE_SECURE_OPEN`, so that the
//! DACL also guards every name below the device's
//! (`\\.\WdmMemSample\anything`).
//!
//! Where it runs: on Windows the DACL is enforced at every open (set by
//! `ObSetSecurityObjectByPointer`: `IoCreateDeviceSecure` is a static
//! library there, see `wdm_mem::sys::create_device_secure`). Wine 8's
//! `IoCreateDeviceSecure` ignores the SDDL (a semi-stub), and Wine's
//! processes hold an administrator's token anyway: there, any process of the
//! Wine user opens the device. The kernel model records either and runs
//! both paths under `cargo test`.

use core::ptr::null_mut;

use wdm_mem::{
    NtResult, NtStatus,
    section::SecurityDescriptor,
    sys::{self, DRIVER_OBJECT, PDEVICE_OBJECT, utf16},
};

use crate::irp;

static DEVICE_NAME: [u16; 20] = utf16(b"\\Device\\WdmMemSample");
static SYMLINK_NAME: [u16; 24] = utf16(b"\\DosDevices\\WdmMemSample");
static SDDL: [u16; 27] = utf16(b"D:P(A;;GA;;;SY)(A;;GA;;;BA)");

/// Creates the driver's one device, secured as the module says, and its
/// symbolic link; on an error neither exists.
///
/// # Safety
/// PASSIVE_LEVEL, in DriverEntry, with the driver's own object; [`delete`]
/// undoes it.
pub unsafe fn create(driver: &mut DRIVER_OBJECT) -> NtResult<()> {
    let (mut device_name, mut sddl) = (irp::unicode(&DEVICE_NAME), irp::unicode(&SDDL));
    let descriptor = SecurityDescriptor::system_and_administrators().as_bytes().as_ptr();
    let mut device: PDEVICE_OBJECT = null_mut();
    // SAFETY: PASSIVE_LEVEL (contract); every pointer is valid for the call
    // and the descriptor is a checked self-relative one the kernel only reads.
    let status = unsafe {
        sys::create_device_secure(
            driver,
            &mut device_name,
            sys::FILE_DEVICE_UNKNOWN,
            sys::FILE_DEVICE_SECURE_OPEN,
            &mut sddl,
            descriptor.cast_mut().cast(),
            &mut device,
        )
    };
    NtStatus::from_raw(status).ok()?;
    let mut link_name = irp::unicode(&SYMLINK_NAME);
    // SAFETY: both names are valid counted strings for the duration of the call.
    let status = unsafe { sys::IoCreateSymbolicLink(&mut link_name, &mut device_name) };
    if let Err(status) = NtStatus::from_raw(status).ok() {
        // SAFETY: `device` was created above and nothing references it yet.
        unsafe { sys::IoDeleteDevice(device) };
        return Err(status);
    }
    Ok(())
}

/// Removes the link and the device made by [`create`].
///
/// # Safety
/// PASSIVE_LEVEL, in DriverUnload (no request in flight) or in DriverEntry
/// after a successful [`create`], with the same driver object.
pub unsafe fn delete(driver: &mut DRIVER_OBJECT) {
    let mut link_name = irp::unicode(&SYMLINK_NAME);
    // SAFETY: the link was created by `create`; the name is valid.
    let _ = unsafe { sys::IoDeleteSymbolicLink(&mut link_name) };
    // SAFETY: the driver's only device, created by `create`; no IRP is in
    // flight (contract).
    unsafe { sys::IoDeleteDevice(driver.DeviceObject) };
}
