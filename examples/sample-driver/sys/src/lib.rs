//! The wdm-mem sample driver's `.sys`: the thin I/O-manager shell around the
//! sample's logic (package `wdm-mem-sample-lib`, one folder up): the entry
//! point, the device `\Device\WdmMemSample` and its symbolic link
//! `\DosDevices\WdmMemSample`, the IRP routines, the global allocator and
//! the panic handler. Everything the IOCTLs do to memory is in the library
//! (`wdm_mem_sample_lib::start`, `stop`, `dispatch`), which runs on the host
//! against the kernel model too.

#![no_std]

mod device;

use core::ptr::null_mut;

use wdm_mem::{
    NtStatus,
    pool::{KernelAllocator, PoolType},
    pool_tag,
    sys::{self, DRIVER_OBJECT, NTSTATUS, PDEVICE_OBJECT, PUNICODE_STRING, utf16},
};
use wdm_mem_sample_lib::{self as sample, irp};

#[global_allocator]
static ALLOCATOR: KernelAllocator = KernelAllocator::new(pool_tag!(b"WmsA"), PoolType::NonPagedNx);

static DEVICE_NAME: [u16; 20] = utf16(b"\\Device\\WdmMemSample");
static SYMLINK_NAME: [u16; 24] = utf16(b"\\DosDevices\\WdmMemSample");

/// The driver's entry point.
///
/// # Safety
/// Called once by the I/O manager at PASSIVE_LEVEL with a valid driver object.
#[unsafe(export_name = "DriverEntry")]
pub unsafe extern "system" fn driver_entry(driver: *mut DRIVER_OBJECT, _registry: PUNICODE_STRING) -> NTSTATUS {
    // SAFETY: the I/O manager passes a valid, exclusively ours driver object.
    let driver = unsafe { &mut *driver };
    // SAFETY: this is DriverEntry, before it returns; `stop` undoes it below
    // on an error, or in DriverUnload.
    if let Err(status) = unsafe { sample::start() } {
        return status.to_raw();
    }
    if let Err(status) = create_device(driver) {
        sample::stop();
        return status.to_raw();
    }
    driver.MajorFunction[sys::IRP_MJ_CREATE as usize] = Some(dispatch_create_close);
    driver.MajorFunction[sys::IRP_MJ_CLOSE as usize] = Some(dispatch_create_close);
    driver.MajorFunction[sys::IRP_MJ_DEVICE_CONTROL as usize] = Some(dispatch_device_control);
    driver.DriverUnload = Some(driver_unload);
    irp::debug_print(c"wdm-mem-sample: loaded");
    NtStatus::SUCCESS.to_raw()
}

/// Creates the driver's one device (with the security of [`device::create`])
/// and its symbolic link; on an error neither exists.
fn create_device(driver: &mut DRIVER_OBJECT) -> Result<(), NtStatus> {
    let mut device: PDEVICE_OBJECT = null_mut();
    let mut device_name = irp::unicode(&DEVICE_NAME);
    // SAFETY: DriverEntry, at PASSIVE_LEVEL, with our driver object.
    let status = unsafe { device::create(driver, &mut device_name, &mut device) };
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

/// `DriverUnload`: removes the link and the device, then the library's
/// `stop` reports whether any pool allocation made through wdm-mem is still
/// outstanding.
///
/// # Safety
/// Called once by the I/O manager at PASSIVE_LEVEL.
unsafe extern "C" fn driver_unload(driver: *mut DRIVER_OBJECT) {
    let mut link_name = irp::unicode(&SYMLINK_NAME);
    // SAFETY: the link was created in DriverEntry; the name is valid.
    let _ = unsafe { sys::IoDeleteSymbolicLink(&mut link_name) };
    // SAFETY: the driver object is valid; its only device was created in
    // DriverEntry and no IRP is in flight at unload.
    unsafe { sys::IoDeleteDevice((*driver).DeviceObject) };
    sample::stop();
}

/// IRP_MJ_CREATE and IRP_MJ_CLOSE: always succeed.
///
/// # Safety
/// Called by the I/O manager with a valid IRP.
unsafe extern "C" fn dispatch_create_close(_device: PDEVICE_OBJECT, irp: *mut sys::IRP) -> NTSTATUS {
    // SAFETY: the I/O manager's IRP, completed exactly once here.
    unsafe { irp::complete(irp, NtStatus::SUCCESS, 0) }
}

/// IRP_MJ_DEVICE_CONTROL: the library's `dispatch`, then the completion.
///
/// # Safety
/// Called by the I/O manager with a valid IRP at PASSIVE_LEVEL.
unsafe extern "C" fn dispatch_device_control(_device: PDEVICE_OBJECT, irp: *mut sys::IRP) -> NTSTATUS {
    // SAFETY: a device-control IRP from the I/O manager; the request's last
    // use is before the completion.
    let (status, written) = sample::dispatch(&unsafe { irp::DeviceControl::from_irp(irp) });
    // SAFETY: completed exactly once, here.
    unsafe { irp::complete(irp, status, written) }
}

// Driver paths return errors; a panic is a bug in this driver. Stop the
// system with the driver's own code rather than run on in a broken state.
wdm_mem::bug_check_on_panic!(0x5744_4D4D);
