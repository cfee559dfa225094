//! DriverEntry, DriverUnload and the dispatch routines (Windows only).

use core::{
    pin::Pin,
    ptr::null_mut,
    sync::atomic::{AtomicU64, Ordering},
};

use wdm_mem::{
    NtStatus,
    driver::{debug_print, unicode_string},
    lookaside::{LookasideConfig, NPagedLookasideList},
    pool::{self, KernelAllocator, PoolType},
    pool_tag,
    request::{self, DeviceControl},
    sys::{self, DRIVER_OBJECT, NTSTATUS, PDEVICE_OBJECT, PUNICODE_STRING, utf16},
};

use crate::{fill, protocol};

#[global_allocator]
static ALLOCATOR: KernelAllocator = KernelAllocator::new(pool_tag!(b"DrvA"), PoolType::NonPagedNx);

static DEVICE_NAME: &[u16] = &utf16(b"\\Device\\{{device}}");
static LINK_NAME: &[u16] = &utf16(b"\\DosDevices\\{{device}}");

/// The lookaside list of IOCTL_FILL's records, initialised in DriverEntry.
static RECORDS: NPagedLookasideList<fill::Record> = NPagedLookasideList::new();
/// How many IOCTL_FILL requests were served.
static SERVED: AtomicU64 = AtomicU64::new(0);

/// The driver's entry point.
///
/// # Safety
/// Called once by the I/O manager at PASSIVE_LEVEL with a valid driver object.
#[unsafe(export_name = "DriverEntry")]
pub unsafe extern "system" fn driver_entry(driver: *mut DRIVER_OBJECT, _registry: PUNICODE_STRING) -> NTSTATUS {
    // SAFETY: the I/O manager passes a valid driver object, ours alone.
    let driver = unsafe { &mut *driver };
    let _found = pool::resolve_routines(); // at PASSIVE_LEVEL, once
    if let Err(status) = Pin::static_ref(&RECORDS).init(LookasideConfig::new(fill::TAG)) {
        return status.to_raw();
    }
    let mut device: PDEVICE_OBJECT = null_mut();
    let mut device_name = unicode_string(DEVICE_NAME);
    // SAFETY: a valid driver object and name; `device` receives the new object.
    let status = unsafe {
        sys::IoCreateDevice(
            driver,
            0,
            &mut device_name,
            sys::FILE_DEVICE_UNKNOWN,
            sys::FILE_DEVICE_SECURE_OPEN,
            0,
            &mut device,
        )
    };
    if !NtStatus::from_raw(status).is_success() {
        // SAFETY: DriverEntry runs alone and no entry was handed out yet.
        let _ = unsafe { Pin::static_ref(&RECORDS).delete() };
        return status;
    }
    let mut link_name = unicode_string(LINK_NAME);
    // SAFETY: both names are valid counted strings for the duration of the call.
    let status = unsafe { sys::IoCreateSymbolicLink(&mut link_name, &mut device_name) };
    if !NtStatus::from_raw(status).is_success() {
        // SAFETY: `device` was created above and nothing references it yet.
        unsafe { sys::IoDeleteDevice(device) };
        // SAFETY: DriverEntry runs alone and no entry was handed out yet.
        let _ = unsafe { Pin::static_ref(&RECORDS).delete() };
        return status;
    }
    driver.MajorFunction[sys::IRP_MJ_CREATE as usize] = Some(dispatch_create_close);
    driver.MajorFunction[sys::IRP_MJ_CLOSE as usize] = Some(dispatch_create_close);
    driver.MajorFunction[sys::IRP_MJ_DEVICE_CONTROL as usize] = Some(dispatch_device_control);
    driver.DriverUnload = Some(driver_unload);
    debug_print(c"{{name}}: loaded");
    NtStatus::SUCCESS.to_raw()
}

/// DriverUnload: removes the link and the device, deletes the lookaside list
/// and reports whether anything is still outstanding.
///
/// # Safety
/// Called once by the I/O manager at PASSIVE_LEVEL.
unsafe extern "C" fn driver_unload(driver: *mut DRIVER_OBJECT) {
    let mut link_name = unicode_string(LINK_NAME);
    // SAFETY: the link was created in DriverEntry; the name is valid.
    let _ = unsafe { sys::IoDeleteSymbolicLink(&mut link_name) };
    // SAFETY: the driver's only device was created in DriverEntry and no IRP
    // is in flight at unload.
    unsafe { sys::IoDeleteDevice((*driver).DeviceObject) };
    // SAFETY: DriverUnload runs alone (no request in flight); entries still
    // out are counted (feature lookaside-count) and make delete refuse.
    let list_deleted = unsafe { Pin::static_ref(&RECORDS).delete() }.is_ok();
    if list_deleted && pool::stats().allocations == 0 {
        debug_print(c"{{name}}: unload: nothing outstanding");
    } else {
        debug_print(c"{{name}}: unload: allocations or lookaside entries are still outstanding");
    }
}

/// IRP_MJ_CREATE and IRP_MJ_CLOSE: always succeed.
///
/// # Safety
/// Called by the I/O manager with a valid IRP.
unsafe extern "C" fn dispatch_create_close(_device: PDEVICE_OBJECT, irp: *mut sys::IRP) -> NTSTATUS {
    // SAFETY: the I/O manager's IRP, completed exactly once here.
    unsafe { request::complete(irp, NtStatus::SUCCESS, 0) }
}

/// IRP_MJ_DEVICE_CONTROL.
///
/// # Safety
/// Called by the I/O manager with a valid IRP at PASSIVE_LEVEL.
unsafe extern "C" fn dispatch_device_control(_device: PDEVICE_OBJECT, irp: *mut sys::IRP) -> NTSTATUS {
    let (status, written) = {
        // SAFETY: a device-control IRP of the I/O manager, completed below,
        // after this borrow ends.
        let request = unsafe { DeviceControl::from_irp(irp) };
        match request.code() {
            protocol::IOCTL_FILL => {
                let served = SERVED.fetch_add(1, Ordering::Relaxed) + 1;
                fill::fill_ioctl(Pin::static_ref(&RECORDS), served, &request)
            }
            _ => (NtStatus::INVALID_DEVICE_REQUEST, 0),
        }
    };
    // SAFETY: completed exactly once, here.
    unsafe { request::complete(irp, status, written) }
}
