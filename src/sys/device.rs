//! A device object with a security descriptor, as `wdmsec.lib`'s
//! `IoCreateDeviceSecure` makes one: that routine is a static library on
//! Windows, not a kernel export, so it is used where the kernel exports it
//! (Wine 8 does, as a semi-stub that ignores the SDDL) and otherwise done as
//! the library does it: `IoCreateDevice`, then `ObSetSecurityObjectByPointer`
//! with the DACL. Both are resolved at run time (Wine 8's
//! `ObSetSecurityObjectByPointer` is a stub that aborts the driver host: it
//! is reached only where `IoCreateDeviceSecure` is absent).

use core::mem::transmute;

use super::{
    BOOLEAN, IoCreateDevice, IoDeleteDevice, NTSTATUS, PDEVICE_OBJECT, PDRIVER_OBJECT, PUNICODE_STRING, PVOID,
    RuntimeRoutine, ULONG, utf16,
};

/// The type of `IoCreateDeviceSecure` (wdmsec.h; the class GUID as a pointer).
pub type PFN_IO_CREATE_DEVICE_SECURE = unsafe extern "system" fn(
    DriverObject: PDRIVER_OBJECT,
    DeviceExtensionSize: ULONG,
    DeviceName: PUNICODE_STRING,
    DeviceType: ULONG,
    DeviceCharacteristics: ULONG,
    Exclusive: BOOLEAN,
    DefaultSDDLString: PUNICODE_STRING,
    DeviceClassGuid: PVOID,
    DeviceObject: *mut PDEVICE_OBJECT,
) -> NTSTATUS;

/// The type of `ObSetSecurityObjectByPointer` (ntifs.h).
pub type PFN_OB_SET_SECURITY_OBJECT_BY_POINTER =
    unsafe extern "system" fn(Object: PVOID, SecurityInformation: ULONG, SecurityDescriptor: PVOID) -> NTSTATUS;

static IO_CREATE_DEVICE_SECURE_NAME: [u16; 20] = utf16(b"IoCreateDeviceSecure");
static IO_CREATE_DEVICE_SECURE: RuntimeRoutine = RuntimeRoutine::new(&IO_CREATE_DEVICE_SECURE_NAME);
static OB_SET_SECURITY_NAME: [u16; 28] = utf16(b"ObSetSecurityObjectByPointer");
static OB_SET_SECURITY: RuntimeRoutine = RuntimeRoutine::new(&OB_SET_SECURITY_NAME);

/// `DACL_SECURITY_INFORMATION`.
pub const DACL_SECURITY_INFORMATION: ULONG = 4;
/// `STATUS_PROCEDURE_NOT_FOUND`.
const PROCEDURE_NOT_FOUND: NTSTATUS = 0xC000_007A_u32 as NTSTATUS;

/// Creates a device object (as `IoCreateDevice`, no class GUID) whose DACL
/// is `sddl`'s, or, where `IoCreateDeviceSecure` is not exported, the DACL
/// of the self-relative descriptor `descriptor` (which must say the same).
/// If neither routine exists, or setting the DACL fails, no device is left
/// behind and the status is returned (`STATUS_PROCEDURE_NOT_FOUND` for a
/// missing routine): the device is never created unprotected.
///
/// # Safety
/// PASSIVE_LEVEL; `driver`, `name` and `sddl` are valid for the call,
/// `descriptor` is a valid self-relative security descriptor, and `device`
/// may be written.
pub unsafe fn create_device_secure(
    driver: PDRIVER_OBJECT,
    name: PUNICODE_STRING,
    device_type: ULONG,
    characteristics: ULONG,
    sddl: PUNICODE_STRING,
    descriptor: PVOID,
    device: *mut PDEVICE_OBJECT,
) -> NTSTATUS {
    if let Some(address) = IO_CREATE_DEVICE_SECURE.address(true) {
        // SAFETY: the kernel exports `IoCreateDeviceSecure` at this address
        // with this type (wdmsec.h).
        let create: PFN_IO_CREATE_DEVICE_SECURE = unsafe { transmute::<usize, _>(address) };
        // SAFETY: the caller's contract is the routine's; no class GUID.
        return unsafe {
            create(driver, 0, name, device_type, characteristics, 0, sddl, core::ptr::null_mut(), device)
        };
    }
    let Some(address) = OB_SET_SECURITY.address(true) else {
        return PROCEDURE_NOT_FOUND;
    };
    // SAFETY: the kernel exports `ObSetSecurityObjectByPointer` at this
    // address with this type (ntifs.h).
    let set_security: PFN_OB_SET_SECURITY_OBJECT_BY_POINTER = unsafe { transmute::<usize, _>(address) };
    // SAFETY: the caller's contract is IoCreateDevice's.
    let status = unsafe { IoCreateDevice(driver, 0, name, device_type, characteristics, 0, device) };
    if status < 0 {
        return status;
    }
    // SAFETY: `*device` is the device object just created, which nobody else
    // references yet; `descriptor` is valid (contract).
    let status = unsafe { set_security((*device).cast(), DACL_SECURITY_INFORMATION, descriptor) };
    if status < 0 {
        // SAFETY: created above and not referenced by anything.
        unsafe { IoDeleteDevice(*device) };
        // SAFETY: the caller lets us write `device`.
        unsafe { *device = core::ptr::null_mut() };
    }
    status
}
