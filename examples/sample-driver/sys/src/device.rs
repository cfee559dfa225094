//! The sample's device object, created with a security descriptor as a real
//! driver's should be: `D:P(A;;GA;;;SY)(A;;GA;;;BA)` (wdmsec.h's
//! `SDDL_DEVOBJ_SYS_ALL_ADM_ALL`), so that only LocalSystem and
//! administrators may open `\\.\WdmMemSample`, and `FILE_DEVICE_SECURE_OPEN`,
//! so that the DACL also guards every name below the device's
//! (`\\.\WdmMemSample\anything`).
//!
//! Where it runs: on Windows the DACL is enforced at every open. Wine 8's
//! `IoCreateDeviceSecure` ignores the SDDL (a semi-stub), and Wine's
//! processes hold an administrator's token anyway: there, any process of the
//! Wine user opens the device.

use wdm_mem::{
    section::SecurityDescriptor,
    sys::{self, DRIVER_OBJECT, NTSTATUS, PDEVICE_OBJECT, UNICODE_STRING, utf16},
};

use wdm_mem_sample_lib::irp;

static SDDL: [u16; 27] = utf16(b"D:P(A;;GA;;;SY)(A;;GA;;;BA)");

/// Creates the sample's device, `name`, into `device`: the status of
/// `IoCreateDeviceSecure` (or its equivalent, see
/// `wdm_mem::sys::create_device_secure`); on failure no device exists.
///
/// # Safety
/// PASSIVE_LEVEL, in DriverEntry, with the driver's own object.
pub unsafe fn create(driver: &mut DRIVER_OBJECT, name: &mut UNICODE_STRING, device: &mut PDEVICE_OBJECT) -> NTSTATUS {
    let mut sddl = irp::unicode(&SDDL);
    let descriptor = SecurityDescriptor::system_and_administrators().as_bytes().as_ptr();
    // SAFETY: PASSIVE_LEVEL (contract); every pointer is valid for the call
    // and the descriptor is a checked self-relative one the kernel only reads.
    unsafe {
        sys::create_device_secure(
            driver,
            name,
            sys::FILE_DEVICE_UNKNOWN,
            sys::FILE_DEVICE_SECURE_OPEN,
            &mut sddl,
            descriptor.cast_mut().cast(),
            device,
        )
    }
}
