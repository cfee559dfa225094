//! The wdm-mem sample driver's logic: a WDM driver with one device,
//! `\Device\WdmMemSample` (linked as `\\.\WdmMemSample`), whose IOCTLs
//! exercise the crate. The protocol shared with the user-mode client is in
//! [`protocol`].
//!
//! This library is everything of the driver but the I/O-manager shell: what
//! `DriverEntry` and `DriverUnload` do ([`start`], [`stop`]: memory, the
//! device and its link, in [`device`]) and the routing of a device-control
//! request to its handler ([`dispatch`]). The `.sys` (package
//! `wdm-mem-sample`, in `sys/`) is a thin shell around it: the entry
//! points, the IRP routines, global allocator and panic handler. On the host the same code runs against the kernel model, which
//! is how the client's scenarios run under `cargo test` (with every kernel
//! call failed in turn: the fault sweep of `wdm-mem-client`'s tests).
//!
//! The I/O-manager plumbing (IRPs) uses the raw names of `wdm_mem::sys`, in
//! [`irp`]; every memory operation goes through the crate's safe types, in
//! one module per area ([`pool_ioctl`]).

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

use wdm_mem::{NtResult, NtStatus, pool, sys::DRIVER_OBJECT};

/// DriverEntry's work but the IRP routines: resolves the routines the crate
/// looks up at run time, finds out the kernel, reads the `INIT` data,
/// creates the lookaside lists, then the device and its link
/// ([`device::create`]). On an error nothing stays created.
///
/// # Safety
/// Called from DriverEntry (at PASSIVE_LEVEL, before it returns), once per
/// load, with the driver's own object and no request in flight; [`stop`]
/// undoes it.
pub unsafe fn start(driver: &mut DRIVER_OBJECT) -> NtResult<()> {
    let _found = pool::resolve_routines(); // at PASSIVE_LEVEL: every later allocation takes one path at any IRQL
    let _pages = wdm_mem::mdl::resolve_routines();
    validate::detect_kernel();
    // SAFETY: called from DriverEntry, before it returns (contract).
    unsafe { routines_ioctl::read_init_data() };
    lookaside_ioctl::create_lists()?;
    // SAFETY: DriverEntry, at PASSIVE_LEVEL, with our driver object (contract).
    if let Err(status) = unsafe { device::create(driver) } {
        lookaside_ioctl::delete_lists();
        return Err(status);
    }
    Ok(())
}

/// DriverUnload's work: removes the link and the device, closes the
/// published section, deletes the lookaside lists, then reports (DbgPrint) whether a lookaside entry or a
/// pool allocation made through wdm-mem is still outstanding. True if
/// nothing is.
///
/// # Safety
/// PASSIVE_LEVEL, from DriverUnload (after a successful [`start`]), with
/// the same driver object and no request in flight.
pub unsafe fn stop(driver: &mut DRIVER_OBJECT) -> bool {
    // SAFETY: DriverUnload after a successful `start` (contract).
    unsafe { device::delete(driver) };
    // Nothing published is fine too: there is just nothing to close.
    let _ = section_ioctl::unpublish();
    let lists_deleted = lookaside_ioctl::delete_lists();
    if !lists_deleted {
        irp::debug_print(c"wdm-mem-sample: unload: a lookaside list still has entries out");
    }
    let stats = pool::stats();
    if stats.allocations == 0 {
        irp::debug_print(c"wdm-mem-sample: unload: 0 pool allocations outstanding");
    } else {
        irp::debug_print(c"wdm-mem-sample: unload: pool allocations are still outstanding");
    }
    lists_deleted && stats.allocations == 0
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

/// IRP_MJ_DEVICE_CONTROL's work: the whole envelope first (a refused
/// request has done nothing), then the IOCTL's handler; the status and the
/// byte count to complete the IRP with (never more than its output buffer).
///
/// # IRQL
/// PASSIVE_LEVEL, in the requester's context (a dispatch routine's).
pub fn dispatch(request: &irp::DeviceControl) -> (NtStatus, usize) {
    match (validate::envelope(request), IOCTLS.iter().find(|(code, _)| *code == request.code())) {
        (Err(status), _) => (status, 0),
        (Ok(()), Some((_, handler))) => validate::reply_bytes(request, handler(request)),
        (Ok(()), None) => (NtStatus::INVALID_DEVICE_REQUEST, 0),
    }
}
