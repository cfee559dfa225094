//! The wdm-mem sample driver's `.sys`: the thin I/O-manager shell around the
//! sample's logic (package `wdm-mem-sample-lib`, one folder up): the entry
//! points, the IRP routines, the global allocator and the panic handler.
//! Everything else, the device and its link included, is in the library
//! (`wdm_mem_sample_lib::start`, `stop`, `dispatch`), which runs on the host
//! against the kernel model too.

#![no_std]

use wdm_mem::{
    NtStatus,
    pool::{KernelAllocator, PoolType},
    pool_tag,
    sys::{self, DRIVER_OBJECT, NTSTATUS, PDEVICE_OBJECT, PUNICODE_STRING},
};
use wdm_mem_sample_lib::{self as sample, irp};

#[global_allocator]
static ALLOCATOR: KernelAllocator = KernelAllocator::new(pool_tag!(b"WmsA"), PoolType::NonPagedNx);

/// The driver's entry point.
///
/// # Safety
/// Called once by the I/O manager at PASSIVE_LEVEL with a valid driver object.
#[unsafe(export_name = "DriverEntry")]
pub unsafe extern "system" fn driver_entry(driver: *mut DRIVER_OBJECT, _registry: PUNICODE_STRING) -> NTSTATUS {
    // SAFETY: the I/O manager passes a valid, exclusively ours driver object.
    let driver = unsafe { &mut *driver };
    // SAFETY: this is DriverEntry, before it returns, with our driver
    // object; DriverUnload's `stop` undoes it.
    if let Err(status) = unsafe { sample::start(driver) } {
        return status.to_raw();
    }
    driver.MajorFunction[sys::IRP_MJ_CREATE as usize] = Some(dispatch_create_close);
    driver.MajorFunction[sys::IRP_MJ_CLOSE as usize] = Some(dispatch_create_close);
    driver.MajorFunction[sys::IRP_MJ_DEVICE_CONTROL as usize] = Some(dispatch_device_control);
    driver.DriverUnload = Some(driver_unload);
    irp::debug_print(c"wdm-mem-sample: loaded");
    NtStatus::SUCCESS.to_raw()
}

/// `DriverUnload`: the library's `stop` (the device and its link, then
/// memory, and the report of what is still outstanding).
///
/// # Safety
/// Called once by the I/O manager at PASSIVE_LEVEL with our driver object.
unsafe extern "C" fn driver_unload(driver: *mut DRIVER_OBJECT) {
    // SAFETY: DriverUnload after a successful DriverEntry, no IRP in flight.
    unsafe { sample::stop(&mut *driver) };
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
