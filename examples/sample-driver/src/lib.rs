//! The wdm-mem sample driver: a WDM driver with one device, `\Device\WdmMemSample`
//! (linked as `\\.\WdmMemSample`), whose IOCTLs exercise the crate. The
//! protocol shared with the user-mode client is in [`protocol`].
//!
//! The I/O-manager plumbing (device, symbolic link, IRPs) uses the raw names
//! of `wdm_mem::sys`, in [`irp`]; every memory operation goes through the
//! crate's safe types, in one module per area ([`pool_ioctl`]).

#![no_std]

pub mod device;
pub mod direct_irp;
pub mod io_space_ioctl;
pub mod irp;
pub mod lookaside_ioctl;
pub mod mdl_ioctl;
pub mod memory_ioctl;
pub mod page_code_ioctl;
pub mod paging_ioctl;
pub mod pool_ioctl;
pub mod protocol;
pub mod routines_ioctl;
pub mod section_ioctl;
pub mod user_ioctl;
pub mod validate;

use core::ptr::null_mut;

use wdm_mem::{
    NtStatus,
    pool::{self, KernelAllocator, PoolType},
    pool_tag,
    sys::{self, DRIVER_OBJECT, NTSTATUS, PDEVICE_OBJECT, PUNICODE_STRING, utf16},
};

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
    let _found = pool::resolve_routines(); // at PASSIVE_LEVEL: every later allocation takes one path at any IRQL
    let _pages = wdm_mem::mdl::resolve_routines();
    validate::detect_kernel();
    // SAFETY: this is DriverEntry, before it returns.
    unsafe { routines_ioctl::read_init_data() };
    if let Err(status) = lookaside_ioctl::create_lists() {
        return status.to_raw();
    }
    let mut device: PDEVICE_OBJECT = null_mut();
    let mut device_name = irp::unicode(&DEVICE_NAME);
    // SAFETY: DriverEntry, at PASSIVE_LEVEL, with our driver object.
    let status = unsafe { device::create(driver, &mut device_name, &mut device) };
    if !NtStatus::from_raw(status).is_success() {
        lookaside_ioctl::delete_lists();
        return status;
    }
    let mut link_name = irp::unicode(&SYMLINK_NAME);
    // SAFETY: both names are valid counted strings for the duration of the call.
    let status = unsafe { sys::IoCreateSymbolicLink(&mut link_name, &mut device_name) };
    if !NtStatus::from_raw(status).is_success() {
        // SAFETY: `device` was created above and nothing references it yet.
        unsafe { sys::IoDeleteDevice(device) };
        lookaside_ioctl::delete_lists();
        return status;
    }
    driver.MajorFunction[sys::IRP_MJ_CREATE as usize] = Some(dispatch_create_close);
    driver.MajorFunction[sys::IRP_MJ_CLOSE as usize] = Some(dispatch_create_close);
    driver.MajorFunction[sys::IRP_MJ_DEVICE_CONTROL as usize] = Some(dispatch_device_control);
    driver.DriverUnload = Some(driver_unload);
    irp::debug_print(c"wdm-mem-sample: loaded");
    NtStatus::SUCCESS.to_raw()
}

/// `DriverUnload`: removes the link and the device, then reports whether any
/// pool allocation made through wdm-mem is still outstanding.
///
/// # Safety
/// Called once by the I/O manager at PASSIVE_LEVEL.
unsafe extern "C" fn driver_unload(driver: *mut DRIVER_OBJECT) {
    // Nothing published is fine too: there is just nothing to close.
    let _ = section_ioctl::unpublish();
    let mut link_name = irp::unicode(&SYMLINK_NAME);
    // SAFETY: the link was created in DriverEntry; the name is valid.
    let _ = unsafe { sys::IoDeleteSymbolicLink(&mut link_name) };
    // SAFETY: the driver object is valid; its only device was created in
    // DriverEntry and no IRP is in flight at unload.
    unsafe { sys::IoDeleteDevice((*driver).DeviceObject) };
    if !lookaside_ioctl::delete_lists() {
        irp::debug_print(c"wdm-mem-sample: unload: a lookaside list still has entries out");
    }
    let stats = pool::stats();
    if stats.allocations == 0 {
        irp::debug_print(c"wdm-mem-sample: unload: 0 pool allocations outstanding");
    } else {
        irp::debug_print(c"wdm-mem-sample: unload: pool allocations are still outstanding");
    }
}

/// IRP_MJ_CREATE and IRP_MJ_CLOSE: always succeed.
///
/// # Safety
/// Called by the I/O manager with a valid IRP.
unsafe extern "C" fn dispatch_create_close(_device: PDEVICE_OBJECT, irp: *mut sys::IRP) -> NTSTATUS {
    // SAFETY: the I/O manager's IRP, completed exactly once here.
    unsafe { irp::complete(irp, NtStatus::SUCCESS, 0) }
}

/// An IOCTL handler: the status and the number of bytes written back.
type Handler = fn(&irp::DeviceControl) -> (NtStatus, usize);

/// Every IOCTL of the protocol and the module of its memory-manager area.
static IOCTLS: &[(u32, Handler)] = &[
    (protocol::IOCTL_POOL_ROUNDTRIP, pool_ioctl::roundtrip_ioctl),
    (protocol::IOCTL_POOL_STATS, pool_ioctl::stats_ioctl),
    (protocol::IOCTL_SECTION_ROUNDTRIP, section_ioctl::roundtrip_ioctl),
    (protocol::IOCTL_SECTION_PUBLISH, section_ioctl::publish_ioctl),
    (protocol::IOCTL_SECTION_UNPUBLISH, section_ioctl::unpublish_ioctl),
    (protocol::IOCTL_PAGING_WRITE, paging_ioctl::write_ioctl),
    (protocol::IOCTL_PAGING_READ, paging_ioctl::read_ioctl),
    (protocol::IOCTL_PAGING_ENTIRE_DRIVER, paging_ioctl::entire_driver_ioctl),
    (protocol::IOCTL_LOOKASIDE_REUSE, lookaside_ioctl::reuse_ioctl),
    (protocol::IOCTL_MEMORY_NON_CACHED, memory_ioctl::non_cached_ioctl),
    (protocol::IOCTL_MEMORY_CONTIGUOUS, memory_ioctl::contiguous_ioctl),
    (protocol::IOCTL_MDL_OUT_DIRECT, mdl_ioctl::out_direct_ioctl),
    (protocol::IOCTL_MDL_IN_DIRECT, mdl_ioctl::in_direct_ioctl),
    (protocol::IOCTL_MDL_NEITHER, mdl_ioctl::neither_ioctl),
    (protocol::IOCTL_MDL_PROBE, mdl_ioctl::probe_ioctl),
    (protocol::IOCTL_MDL_KERNEL_BUFFERS, mdl_ioctl::kernel_buffers_ioctl),
    (protocol::IOCTL_IO_SPACE_READ, io_space_ioctl::read_ioctl),
    (protocol::IOCTL_ADDRESS_QUERY, io_space_ioctl::address_ioctl),
    (protocol::IOCTL_ROUTINES_STATUS, routines_ioctl::status_ioctl),
    (protocol::IOCTL_PAGING_CODE, page_code_ioctl::code_ioctl),
    (protocol::IOCTL_USER_COPY, user_ioctl::copy_ioctl),
    (protocol::IOCTL_USER_SECURE, user_ioctl::secure_ioctl),
    (protocol::IOCTL_USER_MAP, user_ioctl::map_ioctl),
];

/// IRP_MJ_DEVICE_CONTROL: routes each IOCTL to its handler.
///
/// # Safety
/// Called by the I/O manager with a valid IRP at PASSIVE_LEVEL.
unsafe extern "C" fn dispatch_device_control(_device: PDEVICE_OBJECT, irp: *mut sys::IRP) -> NTSTATUS {
    // SAFETY: a device-control IRP from the I/O manager.
    let request = unsafe { irp::DeviceControl::from_irp(irp) };
    // The whole envelope first: a refused request has done nothing.
    let (status, written) =
        match (validate::envelope(&request), IOCTLS.iter().find(|(code, _)| *code == request.code())) {
            (Err(status), _) => (status, 0),
            (Ok(()), Some((_, handler))) => validate::reply_bytes(&request, handler(&request)),
            (Ok(()), None) => (NtStatus::INVALID_DEVICE_REQUEST, 0),
        };
    // SAFETY: completed exactly once, here.
    unsafe { irp::complete(irp, status, written) }
}

// Driver paths return errors; a panic is a bug in this driver. Stop the
// system with the driver's own code rather than run on in a broken state.
wdm_mem::bug_check_on_panic!(0x5744_4D4D);
