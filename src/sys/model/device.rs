//! The model's device objects and symbolic links (`IoCreateDevice`,
//! `IoCreateDeviceSecure` where the kernel exports it, i.e. Wine,
//! `ObSetSecurityObjectByPointer`, `IoCreateSymbolicLink`, and their
//! deletions): one object namespace, case-insensitive. The verifier reports
//! a deletion of anything that is not a live device (Windows corrupts the
//! object manager's state or bug-checks), a security set on something that
//! is not one, and devices or links still there at unload (the driver's
//! image cannot unload with its devices; a link left names a device that is
//! gone), under the model's own rule numbers.

use std::{boxed::Box, collections::BTreeMap, format, string::String, vec::Vec};

use super::{mdl::violation, verifier::Violation};
use crate::sys::{DEVICE_OBJECT, DRIVER_OBJECT};

/// Parameter 1 of the model's 0xC4 bug check for a device object still there
/// at unload (parameter 2: the device).
pub const DEVICE_LEAKED: u64 = 0x1_0701;
/// ... for `IoDeleteDevice` or `ObSetSecurityObjectByPointer` of something
/// that is not a live device object (parameter 2: the pointer).
pub const DEVICE_BAD_OBJECT: u64 = 0x1_0702;
/// ... for a symbolic link still there at unload.
pub const SYMBOLIC_LINK_LEAKED: u64 = 0x1_0703;

/// `DO_DEVICE_INITIALIZING`: set by `IoCreateDevice` (the I/O manager
/// clears it for devices made in `DriverEntry`, so no open reaches a device
/// before its driver has finished setting it up).
const DO_DEVICE_INITIALIZING: u32 = 0x80;

/// A driver object as the I/O manager hands it to `DriverEntry`, before
/// the driver fills it: no device, no routines. Boxed: the devices made for
/// it point to it, so it must not move while they live.
pub fn driver_object() -> Box<DRIVER_OBJECT> {
    // SAFETY: DRIVER_OBJECT is plain data (integers, pointers, optional
    // function pointers): all zeroes is a valid value.
    Box::new(unsafe { core::mem::zeroed() })
}

/// How a device's access is decided, as the model recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceSecurity {
    /// The default of `IoCreateDevice` (the object manager's default DACL).
    Default,
    /// The SDDL string given to `IoCreateDeviceSecure` (which Wine ignores).
    Sddl(String),
    /// The self-relative descriptor (up to the end of its DACL) given to
    /// `ObSetSecurityObjectByPointer` with `DACL_SECURITY_INFORMATION`.
    Dacl(Vec<u8>),
}

/// A device object as [`Kernel::device`](super::Kernel::device) shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Its name, as given (`\Device\...`), if it has one.
    pub name: Option<String>,
    /// The `Characteristics` it was created with.
    pub characteristics: u32,
    /// Who may open it.
    pub security: DeviceSecurity,
}

/// One live device: what the model knows, and the storage of its extension
/// (8-byte aligned).
struct Live {
    info: DeviceInfo,
    extension: Vec<u64>,
}

/// The device objects and symbolic links of one session.
#[derive(Default)]
pub(super) struct DeviceState {
    /// By the address of the `DEVICE_OBJECT` (from `Box::into_raw`).
    devices: BTreeMap<usize, Live>,
    /// Symbolic link name (lowercase) → (name as given, target).
    links: BTreeMap<String, (String, String)>,
}

impl DeviceState {
    /// Whether `name` (any case) names a device or a link.
    fn taken(&self, name: &str) -> bool {
        let lower = name.to_lowercase();
        self.links.contains_key(&lower)
            || self.devices.values().any(|d| d.info.name.as_ref().is_some_and(|n| n.to_lowercase() == lower))
    }

    /// A new device of `driver` named `name`, linked at the head of the
    /// driver's device list as `IoCreateDevice` links it; `None` if the name
    /// is taken.
    ///
    /// # Safety
    /// `driver` is a valid driver object, which the caller lets the model
    /// write.
    pub(super) unsafe fn create(
        &mut self,
        driver: *mut DRIVER_OBJECT,
        extension_size: usize,
        name: Option<String>,
        device_type: u32,
        characteristics: u32,
        security: DeviceSecurity,
    ) -> Option<*mut DEVICE_OBJECT> {
        if name.as_deref().is_some_and(|name| self.taken(name)) {
            return None;
        }
        let mut extension = std::vec![0u64; extension_size.div_ceil(8)];
        // SAFETY: DEVICE_OBJECT is plain data (integers, pointers, unions of
        // them): all zeroes is a valid value.
        let mut object: Box<DEVICE_OBJECT> = Box::new(unsafe { core::mem::zeroed() });
        object.Size = size_of::<DEVICE_OBJECT>() as u16;
        object.Type = 3; // IO_TYPE_DEVICE
        object.DriverObject = driver;
        object.DeviceType = device_type;
        object.Characteristics = characteristics;
        object.Flags = DO_DEVICE_INITIALIZING;
        object.StackSize = 1;
        if extension_size > 0 {
            object.DeviceExtension = extension.as_mut_ptr().cast();
        }
        // SAFETY: the caller's valid driver object.
        object.NextDevice = unsafe { (*driver).DeviceObject };
        let object = Box::into_raw(object);
        // SAFETY: as above.
        unsafe { (*driver).DeviceObject = object };
        let info = DeviceInfo { name, characteristics, security };
        self.devices.insert(object as usize, Live { info, extension });
        Some(object)
    }

    /// Deletes `device` (unlinked from its driver's list); the violation if
    /// it is not a live device.
    pub(super) fn delete(&mut self, device: *mut DEVICE_OBJECT) -> Option<Violation> {
        if self.devices.remove(&(device as usize)).is_none() {
            return Some(not_a_device("IoDeleteDevice", device));
        }
        let object = device;
        // SAFETY: a live device of the model: `object` came from
        // `Box::into_raw` and its driver object is the one it was made for,
        // still valid while it has devices.
        unsafe {
            let driver = (*object).DriverObject;
            let mut link: *mut *mut DEVICE_OBJECT = &mut (*driver).DeviceObject;
            while !(*link).is_null() {
                if *link == object {
                    *link = (*object).NextDevice;
                    break;
                }
                link = &mut (**link).NextDevice;
            }
            drop(Box::from_raw(object));
        }
        None
    }

    /// Records `security` for `device`; the violation if it is not a live
    /// device.
    pub(super) fn set_security(&mut self, device: *mut DEVICE_OBJECT, security: DeviceSecurity) -> Option<Violation> {
        let Some(live) = self.devices.get_mut(&(device as usize)) else {
            return Some(not_a_device("ObSetSecurityObjectByPointer", device));
        };
        live.info.security = security;
        None
    }

    /// A new link `name` → `target`; false if the name is taken.
    pub(super) fn create_link(&mut self, name: String, target: String) -> bool {
        if self.taken(&name) {
            return false;
        }
        self.links.insert(name.to_lowercase(), (name, target));
        true
    }

    /// Deletes the link `name`; false if there is none.
    pub(super) fn delete_link(&mut self, name: &str) -> bool {
        self.links.remove(&name.to_lowercase()).is_some()
    }

    /// The live device named `name` (any case).
    pub(super) fn named(&self, name: &str) -> Option<DeviceInfo> {
        let lower = name.to_lowercase();
        self.devices
            .values()
            .map(|d| &d.info)
            .find(|i| i.name.as_ref().is_some_and(|n| n.to_lowercase() == lower))
            .cloned()
    }

    /// The target of the link `name` (any case).
    pub(super) fn link_target(&self, name: &str) -> Option<String> {
        self.links.get(&name.to_lowercase()).map(|(_, target)| target.clone())
    }

    /// Devices and links still there, reported and forgotten (the devices'
    /// memory stays: the driver may still hold their pointers).
    pub(super) fn report_leaks(&mut self, violations: &mut Vec<Violation>) {
        for (address, live) in std::mem::take(&mut self.devices) {
            let name = live.info.name.as_deref().unwrap_or("(unnamed)");
            violations.push(violation(
                DEVICE_LEAKED,
                [address as u64, 0, 0],
                format!("device object {address:#x} {name} not deleted at unload (IoDeleteDevice)"),
            ));
            core::mem::forget(live.extension);
        }
        for (_, (name, target)) in std::mem::take(&mut self.links) {
            violations.push(violation(
                SYMBOLIC_LINK_LEAKED,
                [0, 0, 0],
                format!("symbolic link {name} -> {target} not deleted at unload (IoDeleteSymbolicLink)"),
            ));
        }
    }
}

fn not_a_device(routine: &str, device: *mut DEVICE_OBJECT) -> Violation {
    violation(DEVICE_BAD_OBJECT, [device as u64, 0, 0], format!("{routine}({device:p}): not a live device object"))
}
