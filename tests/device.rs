//! Issue 11 item 1: a device object with a security descriptor
//! (`sys::create_device_secure`), on the model's device objects. Without
//! `IoCreateDeviceSecure` (Windows: it is wdmsec.lib's, not an export) the
//! crate creates the device and sets its DACL with
//! `ObSetSecurityObjectByPointer`, deleting it when that fails; with it
//! (Wine) the SDDL goes to the kernel. The verifier reports devices and
//! links left at unload and deletions of what is not a device.

use core::ptr::null_mut;

use wdm_mem::{
    NtStatus,
    driver::unicode_string,
    model::{
        BugCheck, DEVICE_BAD_OBJECT, DEVICE_LEAKED, DeviceInfo, DeviceSecurity, Fault, Kernel, SYMBOLIC_LINK_LEAKED,
        driver_object,
    },
    section::SecurityDescriptor,
    sys::{self, DRIVER_OBJECT, PDEVICE_OBJECT, utf16},
};

static NAME: [u16; 12] = utf16(b"\\Device\\Test");
static LINK: [u16; 16] = utf16(b"\\DosDevices\\Test");
static SDDL: [u16; 27] = utf16(b"D:P(A;;GA;;;SY)(A;;GA;;;BA)");

/// `create_device_secure` of `\Device\Test` with the system-and-
/// administrators descriptor: the status and the device.
fn create(driver: &mut DRIVER_OBJECT) -> (NtStatus, PDEVICE_OBJECT) {
    let (mut name, mut sddl) = (unicode_string(&NAME), unicode_string(&SDDL));
    let descriptor = SecurityDescriptor::system_and_administrators().as_bytes().as_ptr();
    let mut device: PDEVICE_OBJECT = null_mut();
    // SAFETY: PASSIVE_LEVEL; every pointer is valid for the call.
    let status = unsafe {
        sys::create_device_secure(
            driver,
            &mut name,
            sys::FILE_DEVICE_UNKNOWN,
            sys::FILE_DEVICE_SECURE_OPEN,
            &mut sddl,
            descriptor.cast_mut().cast(),
            &mut device,
        )
    };
    (NtStatus::from_raw(status), device)
}

fn delete(device: PDEVICE_OBJECT) {
    // SAFETY: a device of this test's driver, or (on purpose) not one.
    unsafe { sys::IoDeleteDevice(device) };
}

#[test]
fn without_io_create_device_secure_the_dacl_is_set_on_the_new_device() {
    let kernel = Kernel::new();
    let mut driver = driver_object();
    let (status, device) = create(&mut driver);
    assert_eq!(status, NtStatus::SUCCESS);
    assert_eq!(driver.DeviceObject, device, "at the head of the driver's list");
    // SAFETY: the device just made.
    let (of, flags) = unsafe { ((*device).DriverObject, (*device).Flags) };
    assert_eq!(of, &mut *driver as *mut DRIVER_OBJECT);
    assert_ne!(flags & 0x80, 0, "DO_DEVICE_INITIALIZING until DriverEntry returns");
    let expected = SecurityDescriptor::system_and_administrators().as_bytes().to_vec();
    assert_eq!(
        kernel.device("\\device\\TEST"),
        Some(DeviceInfo {
            name: Some("\\Device\\Test".into()),
            characteristics: sys::FILE_DEVICE_SECURE_OPEN,
            security: DeviceSecurity::Dacl(expected),
        })
    );
    delete(device);
    assert!(driver.DeviceObject.is_null());
    assert_eq!(kernel.device("\\Device\\Test"), None);
    kernel.assert_clean();
}

#[test]
fn under_wine_the_sddl_goes_to_io_create_device_secure() {
    let kernel = Kernel::new();
    kernel.act_as_wine();
    let mut driver = driver_object();
    let (status, device) = create(&mut driver);
    assert_eq!(status, NtStatus::SUCCESS);
    let security = kernel.device("\\Device\\Test").map(|info| info.security);
    assert_eq!(security, Some(DeviceSecurity::Sddl("D:P(A;;GA;;;SY)(A;;GA;;;BA)".into())));
    assert!(kernel.call_log().iter().all(|call| call.routine != "ObSetSecurityObjectByPointer"));
    delete(device);
    kernel.assert_clean();
}

#[test]
fn a_failure_to_set_the_dacl_leaves_no_device() {
    let kernel = Kernel::new();
    kernel.inject(Fault::routine("ObSetSecurityObjectByPointer"));
    let mut driver = driver_object();
    let (status, device) = create(&mut driver);
    assert_eq!(status, NtStatus::INSUFFICIENT_RESOURCES);
    assert!(device.is_null(), "no pointer to a deleted device");
    assert!(driver.DeviceObject.is_null());
    assert_eq!(kernel.device("\\Device\\Test"), None, "never left unprotected");
    kernel.assert_clean();
}

#[test]
fn failures_to_create_are_the_kernels_statuses() {
    for (routine, wine) in [("IoCreateDevice", false), ("IoCreateDeviceSecure", true)] {
        let kernel = Kernel::new();
        if wine {
            kernel.act_as_wine();
        }
        kernel.inject(Fault::routine(routine));
        let mut driver = driver_object();
        let (status, device) = create(&mut driver);
        assert_eq!((status, device), (NtStatus::INSUFFICIENT_RESOURCES, null_mut()), "{routine}");
        assert_eq!(kernel.device("\\Device\\Test"), None);
        kernel.assert_clean();
    }
}

#[test]
fn without_either_routine_no_device_is_made() {
    let kernel = Kernel::new();
    kernel.remove_export("ObSetSecurityObjectByPointer");
    let mut driver = driver_object();
    let (status, device) = create(&mut driver);
    assert_eq!((status, device), (NtStatus::PROCEDURE_NOT_FOUND, null_mut()));
    assert!(kernel.call_log().is_empty(), "not even IoCreateDevice: the device is never created unprotected");
    kernel.assert_clean();
}

#[test]
fn a_name_in_use_is_a_collision() {
    let kernel = Kernel::new();
    let mut driver = driver_object();
    let (_, first) = create(&mut driver);
    let (status, second) = create(&mut driver);
    assert_eq!((status, second), (NtStatus::OBJECT_NAME_COLLISION, null_mut()));
    let (mut link, mut target) = (unicode_string(&LINK), unicode_string(&NAME));
    // SAFETY: valid counted strings.
    let created = unsafe { [(); 2].map(|()| sys::IoCreateSymbolicLink(&mut link, &mut target)) };
    assert_eq!(created.map(NtStatus::from_raw), [NtStatus::SUCCESS, NtStatus::OBJECT_NAME_COLLISION]);
    assert_eq!(kernel.symbolic_link("\\dosdevices\\test").as_deref(), Some("\\Device\\Test"));
    // SAFETY: as above.
    let deleted = unsafe { [(); 2].map(|()| sys::IoDeleteSymbolicLink(&mut link)) };
    assert_eq!(deleted.map(NtStatus::from_raw), [NtStatus::SUCCESS, NtStatus::OBJECT_NAME_NOT_FOUND]);
    delete(first);
    kernel.assert_clean();
}

#[test]
fn the_verifier_reports_devices_and_links_left_and_bad_deletes() {
    let kernel = Kernel::new();
    let mut driver = driver_object();
    let _leaked = create(&mut driver);
    let (mut link, mut target) = (unicode_string(&LINK), unicode_string(&NAME));
    // SAFETY: valid counted strings.
    assert_eq!(unsafe { sys::IoCreateSymbolicLink(&mut link, &mut target) }, 0);
    let mut not_a_device = [0u8; 512];
    delete(not_a_device.as_mut_ptr().cast());
    let report = kernel.finish();
    let rules: Vec<(u32, u64)> = report.violations.iter().map(|v| (v.bug_check.code, v.bug_check.params[0])).collect();
    let c4 = BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION;
    assert_eq!(rules, [(c4, DEVICE_BAD_OBJECT), (c4, DEVICE_LEAKED), (c4, SYMBOLIC_LINK_LEAKED)]);
}

#[test]
fn above_passive_level_the_verifier_reports_it_and_no_device_is_made() {
    let kernel = Kernel::new();
    let mut driver = driver_object();
    let (status, device) = kernel.at_irql(wdm_mem::Irql::DISPATCH, || create(&mut driver));
    assert!(status.is_error() && device.is_null(), "{status:?}");
    assert_eq!(kernel.device("\\Device\\Test"), None);
    let rules: Vec<u64> = kernel.finish().violations.iter().map(|v| v.bug_check.params[0]).collect();
    assert!(!rules.is_empty() && rules.iter().all(|&rule| rule == 0x2_0000), "the DDI IRQL rule: {rules:x?}");
}
