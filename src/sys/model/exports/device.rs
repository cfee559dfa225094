//! `IoCreateDevice`, `IoDeleteDevice`, `IoCreateSymbolicLink`,
//! `IoDeleteSymbolicLink`, and, found by `MmGetSystemRoutineAddress`,
//! `ObSetSecurityObjectByPointer` and (only when the model acts as Wine,
//! whose kernel exports it as a semi-stub) `IoCreateDeviceSecure`. Each is
//! PASSIVE_LEVEL only; the creations and the security are fallible
//! (`STATUS_INSUFFICIENT_RESOURCES` when a fault is injected).

use std::{string::String, vec::Vec};

use super::{
    super::{
        device::DeviceSecurity,
        kernel::{State, with_state},
    },
    irql_above, unicode_to_string,
};
use crate::{
    NtStatus,
    sys::{
        BOOLEAN, DACL_SECURITY_INFORMATION, NTSTATUS, PDEVICE_OBJECT, PDRIVER_OBJECT, PFN_IO_CREATE_DEVICE_SECURE,
        PFN_OB_SET_SECURITY_OBJECT_BY_POINTER, PUNICODE_STRING, PVOID, ULONG,
    },
};

/// `STATUS_INVALID_SECURITY_DESCR`.
const INVALID_SECURITY_DESCR: NTSTATUS = 0xC000_0079_u32 as NTSTATUS;

/// An optional counted string as a Rust string.
///
/// # Safety
/// `name` is NULL or a valid `UNICODE_STRING`.
unsafe fn optional_name(name: PUNICODE_STRING) -> Option<String> {
    // SAFETY: per the contract.
    (!name.is_null()).then(|| unsafe { unicode_to_string(name) })
}

/// The part of `IoCreateDevice` both creations share: the checks, the
/// fault, the name.
///
/// # Safety
/// As `IoCreateDevice`.
#[allow(clippy::too_many_arguments)]
unsafe fn create(
    state: &mut State,
    routine: &'static str,
    driver: PDRIVER_OBJECT,
    extension_size: ULONG,
    name: PUNICODE_STRING,
    device_type: ULONG,
    characteristics: ULONG,
    security: DeviceSecurity,
    device: *mut PDEVICE_OBJECT,
) -> NTSTATUS {
    if irql_above(state, routine, 0) {
        return NtStatus::INVALID_LEVEL.to_raw();
    }
    if state.faults.should_fail(routine, None, extension_size as usize) {
        return NtStatus::INSUFFICIENT_RESOURCES.to_raw();
    }
    // SAFETY: `name` is NULL or valid (contract).
    let name = unsafe { optional_name(name) };
    // SAFETY: `driver` is the caller's valid driver object (contract).
    let created =
        unsafe { state.devices.create(driver, extension_size as usize, name, device_type, characteristics, security) };
    match created {
        Some(object) => {
            // SAFETY: `device` may be written (contract).
            unsafe { *device = object };
            NtStatus::SUCCESS.to_raw()
        }
        None => NtStatus::OBJECT_NAME_COLLISION.to_raw(),
    }
}

/// `IoCreateDevice`: a device of `driver`, at the head of its device list,
/// with `DO_DEVICE_INITIALIZING` set; `STATUS_OBJECT_NAME_COLLISION` for a
/// name already in use.
///
/// # Safety
/// `driver` is a valid driver object, `name` NULL or a valid counted
/// string, `device` writable.
pub unsafe extern "system" fn IoCreateDevice(
    driver: PDRIVER_OBJECT,
    extension_size: ULONG,
    name: PUNICODE_STRING,
    device_type: ULONG,
    characteristics: ULONG,
    _exclusive: BOOLEAN,
    device: *mut PDEVICE_OBJECT,
) -> NTSTATUS {
    with_state(|state| {
        // SAFETY: the caller's contract is `create`'s.
        unsafe {
            create(
                state,
                "IoCreateDevice",
                driver,
                extension_size,
                name,
                device_type,
                characteristics,
                DeviceSecurity::Default,
                device,
            )
        }
    })
}

/// `IoCreateDeviceSecure` as Wine exports it: `IoCreateDevice`, with the
/// SDDL recorded (and not enforced).
unsafe extern "system" fn io_create_device_secure(
    driver: PDRIVER_OBJECT,
    extension_size: ULONG,
    name: PUNICODE_STRING,
    device_type: ULONG,
    characteristics: ULONG,
    _exclusive: BOOLEAN,
    sddl: PUNICODE_STRING,
    _class: PVOID,
    device: *mut PDEVICE_OBJECT,
) -> NTSTATUS {
    // SAFETY: the caller passes a valid SDDL string (wdmsec.h's contract).
    let sddl = unsafe { optional_name(sddl) };
    with_state(|state| {
        let Some(sddl) = sddl else { return NtStatus::INVALID_PARAMETER.to_raw() };
        // SAFETY: the caller's contract is `create`'s.
        unsafe {
            create(
                state,
                "IoCreateDeviceSecure",
                driver,
                extension_size,
                name,
                device_type,
                characteristics,
                DeviceSecurity::Sddl(sddl),
                device,
            )
        }
    })
}

/// The bytes of the self-relative descriptor at `descriptor` up to the end
/// of its DACL, if it is self-relative with a DACL present.
///
/// # Safety
/// `descriptor` points to a self-relative descriptor whose DACL lies where
/// its header says.
unsafe fn dacl_bytes(descriptor: *const u8) -> Option<Vec<u8>> {
    // SAFETY: a descriptor has its 20-byte header (contract).
    let header = unsafe { core::slice::from_raw_parts(descriptor, 20) };
    let control = u16::from_le_bytes([header[2], header[3]]);
    let dacl = u32::from_le_bytes(header[16..20].try_into().expect("4 bytes")) as usize;
    if header[0] != 1 || control & 0x8000 == 0 || control & 0x0004 == 0 || dacl < 20 {
        return None;
    }
    // SAFETY: the ACL's header is where the descriptor says (contract).
    let acl_size = usize::from(unsafe { descriptor.add(dacl + 2).cast::<u16>().read_unaligned() });
    // SAFETY: and so is the whole ACL.
    Some(unsafe { core::slice::from_raw_parts(descriptor, dacl + acl_size) }.to_vec())
}

/// `ObSetSecurityObjectByPointer` for the model's devices and
/// `DACL_SECURITY_INFORMATION` only (the model has no other objects with
/// security to set): `STATUS_INVALID_SECURITY_DESCR` for a descriptor that
/// is not self-relative with a DACL; `STATUS_INVALID_PARAMETER` for other
/// information; the model's violation for an object that is not a device.
unsafe extern "system" fn ob_set_security_object_by_pointer(
    object: PVOID,
    information: ULONG,
    descriptor: PVOID,
) -> NTSTATUS {
    with_state(|state| {
        if irql_above(state, "ObSetSecurityObjectByPointer", 0) {
            return NtStatus::INVALID_LEVEL.to_raw();
        }
        if information != DACL_SECURITY_INFORMATION || descriptor.is_null() {
            return NtStatus::INVALID_PARAMETER.to_raw();
        }
        if state.faults.should_fail("ObSetSecurityObjectByPointer", None, 0) {
            return NtStatus::INSUFFICIENT_RESOURCES.to_raw();
        }
        // SAFETY: a valid descriptor (the routine's contract).
        let Some(dacl) = (unsafe { dacl_bytes(descriptor.cast()) }) else { return INVALID_SECURITY_DESCR };
        match state.devices.set_security(object.cast(), DeviceSecurity::Dacl(dacl)) {
            Some(violation) => {
                state.violations.push(violation);
                NtStatus::INVALID_PARAMETER.to_raw()
            }
            None => NtStatus::SUCCESS.to_raw(),
        }
    })
}

/// `IoDeleteDevice`: unlinks and frees a device; the model's violation for
/// anything else (nothing is freed).
///
/// # Safety
/// `device` is a device object of the caller's driver.
pub unsafe extern "system" fn IoDeleteDevice(device: PDEVICE_OBJECT) {
    with_state(|state| {
        if irql_above(state, "IoDeleteDevice", 0) {
            return;
        }
        if let Some(violation) = state.devices.delete(device) {
            state.violations.push(violation);
        }
    });
}

/// `IoCreateSymbolicLink`: `STATUS_OBJECT_NAME_COLLISION` for a name in
/// use. The target need not exist (as on Windows).
///
/// # Safety
/// Both names are valid counted strings.
pub unsafe extern "system" fn IoCreateSymbolicLink(link: PUNICODE_STRING, target: PUNICODE_STRING) -> NTSTATUS {
    // SAFETY: valid counted strings (contract).
    let (link, target) = unsafe { (unicode_to_string(link), unicode_to_string(target)) };
    with_state(|state| {
        if irql_above(state, "IoCreateSymbolicLink", 0) {
            return NtStatus::INVALID_LEVEL.to_raw();
        }
        if state.faults.should_fail("IoCreateSymbolicLink", None, 0) {
            return NtStatus::INSUFFICIENT_RESOURCES.to_raw();
        }
        if state.devices.create_link(link, target) {
            NtStatus::SUCCESS.to_raw()
        } else {
            NtStatus::OBJECT_NAME_COLLISION.to_raw()
        }
    })
}

/// `IoDeleteSymbolicLink`: `STATUS_OBJECT_NAME_NOT_FOUND` for a link that
/// does not exist.
///
/// # Safety
/// `link` is a valid counted string.
pub unsafe extern "system" fn IoDeleteSymbolicLink(link: PUNICODE_STRING) -> NTSTATUS {
    // SAFETY: a valid counted string (contract).
    let link = unsafe { unicode_to_string(link) };
    with_state(|state| {
        if irql_above(state, "IoDeleteSymbolicLink", 0) {
            return NtStatus::INVALID_LEVEL.to_raw();
        }
        if state.devices.delete_link(&link) {
            NtStatus::SUCCESS.to_raw()
        } else {
            NtStatus::OBJECT_NAME_NOT_FOUND.to_raw()
        }
    })
}

/// What `MmGetSystemRoutineAddress` finds of this file in `state`.
pub(super) fn device_export(state: &State, name: &str) -> Option<usize> {
    match name {
        "ObSetSecurityObjectByPointer" => {
            Some(ob_set_security_object_by_pointer as PFN_OB_SET_SECURITY_OBJECT_BY_POINTER as usize)
        }
        "IoCreateDeviceSecure" if state.wine => Some(io_create_device_secure as PFN_IO_CREATE_DEVICE_SECURE as usize),
        _ => None,
    }
}
