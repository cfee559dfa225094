//! `MmMapIoSpace`, `MmMapIoSpaceEx` (found through
//! `MmGetSystemRoutineAddress` only, as on Windows 10), `MmUnmapIoSpace`,
//! and the register accessors `READ_REGISTER_*`/`WRITE_REGISTER_*`, which
//! reach the simulated devices; their `_BUFFER_` forms; the port routines
//! `READ_PORT_*`/`WRITE_PORT_*` (and `_BUFFER_` forms), which reach the
//! simulated port devices; `HalTranslateBusAddress` over the simulated
//! buses.

use std::format;

use super::super::{
    io_space::{BusSpace, Device, IO_PORT_UNCLAIMED, IO_SPACE_MISALIGNED, fault},
    irql,
    kernel::{State, with_state},
    verifier::BugCheck,
};
use crate::sys::{
    _MEMORY_CACHING_TYPE, BOOLEAN, INTERFACE_TYPE, MEMORY_CACHING_TYPE, PAGE_NOCACHE, PAGE_READONLY, PAGE_READWRITE,
    PAGE_WRITECOMBINE, PHYSICAL_ADDRESS, PPHYSICAL_ADDRESS, PULONG, PVOID, SIZE_T, ULONG,
};

/// The shared body of the two mapping routines: 0xC4/0x73 above
/// DISPATCH_LEVEL; NULL for 0 bytes, a range no single device holds, or an
/// injected fault.
fn map(routine: &'static str, physical: PHYSICAL_ADDRESS, size: SIZE_T, protect: ULONG) -> PVOID {
    // SAFETY: every member of a LARGE_INTEGER covers the same eight bytes.
    let physical = unsafe { physical.QuadPart } as u64;
    with_state(|state: &mut State| {
        let current = irql::get();
        if current > 2 {
            state.violation(
                BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION,
                [0x73, u64::from(current), physical, size],
                format!("{routine} at IRQL {current}"),
            );
            return core::ptr::null_mut();
        }
        if size == 0 || state.faults.should_fail(routine, None, size as usize) {
            return core::ptr::null_mut();
        }
        state.io_space.map(physical, size as usize, protect) as PVOID
    })
}

/// `MmMapIoSpace`: a read-write mapping of device memory; NULL for an
/// invalid cache type, and as the shared body says (IRQL, size, device).
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn MmMapIoSpace(
    physical: PHYSICAL_ADDRESS,
    size: SIZE_T,
    cache: MEMORY_CACHING_TYPE,
) -> PVOID {
    let protect = match cache {
        _MEMORY_CACHING_TYPE::MmNonCached => PAGE_READWRITE | PAGE_NOCACHE,
        _MEMORY_CACHING_TYPE::MmWriteCombined => PAGE_READWRITE | PAGE_WRITECOMBINE,
        _MEMORY_CACHING_TYPE::MmCached => PAGE_READWRITE,
        _ => return core::ptr::null_mut(),
    };
    map("MmMapIoSpace", physical, size, protect)
}

/// `MmMapIoSpaceEx`, reachable only through `MmGetSystemRoutineAddress`, as
/// this crate uses it. `protect` is `PAGE_READONLY` or `PAGE_READWRITE`,
/// optionally with one of `PAGE_NOCACHE` and `PAGE_WRITECOMBINE`; anything
/// else (executable device memory included) gives NULL.
///
/// # Safety
/// As the kernel's.
pub(super) unsafe extern "system" fn mm_map_io_space_ex(
    physical: PHYSICAL_ADDRESS,
    size: SIZE_T,
    protect: ULONG,
) -> PVOID {
    let access = protect & !(PAGE_NOCACHE | PAGE_WRITECOMBINE);
    let cache = protect & (PAGE_NOCACHE | PAGE_WRITECOMBINE);
    if ![PAGE_READONLY, PAGE_READWRITE].contains(&access) || cache == PAGE_NOCACHE | PAGE_WRITECOMBINE {
        return core::ptr::null_mut();
    }
    map("MmMapIoSpaceEx", physical, size, protect)
}

/// `MmUnmapIoSpace`: above DISPATCH_LEVEL 0xC4/0x7B (the DDI reference
/// allows DISPATCH_LEVEL; Driver Verifier's table says APC_LEVEL: the model
/// follows the DDI reference, as the crate does); an address or size that
/// is not a mapping's 0xC4/`IO_SPACE_BAD_UNMAP`.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn MmUnmapIoSpace(base_address: PVOID, size: SIZE_T) {
    with_state(|state| {
        let current = irql::get();
        if current > 2 {
            state.violation(
                BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION,
                [0x7B, u64::from(current), base_address as u64, size],
                format!("MmUnmapIoSpace at IRQL {current}"),
            );
            return;
        }
        if let Err(violation) = state.io_space.unmap(base_address as usize, size as usize) {
            state.violations.push(violation);
        }
    });
}

/// Finds the device behind an access; records the fault when there is none
/// (0x50) or a write hits a read-only mapping (0xBE), and the verifier's
/// 0xC4/[`IO_SPACE_MISALIGNED`] for an address not aligned for `width` (the
/// access is then not made).
fn target(address: usize, width: usize, write: bool) -> Option<(Device, usize)> {
    with_state(|state| {
        if address % width != 0 {
            let what = if write { "write" } else { "read" };
            state.violation(
                BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION,
                [IO_SPACE_MISALIGNED, address as u64, width as u64, u64::from(write)],
                format!("misaligned register {what} of {width} bytes at {address:#x}"),
            );
            return None;
        }
        let Some(target) = state.io_space.target(address, width) else {
            let what = if write { "write" } else { "read" };
            let message = format!("register {what} of {width} bytes at {address:#x}, outside any I/O-space mapping");
            state.violations.push(fault(BugCheck::PAGE_FAULT_IN_NONPAGED_AREA, address, write, message));
            return None;
        };
        if write && !target.writable {
            let message = format!("register write at {address:#x} through a read-only I/O-space mapping");
            state.violations.push(fault(BugCheck::ATTEMPTED_WRITE_TO_READONLY_MEMORY, address, write, message));
            return None;
        }
        Some((target.device, target.offset))
    })
}

macro_rules! registers {
    ($($read:ident, $write:ident: $t:ty;)*) => {$(
        #[doc = concat!("`", stringify!($read), "`: the device's register (all ones, and a violation, outside any mapping or misaligned).")]
        ///
        /// # Safety
        /// As the kernel's.
        pub unsafe fn $read(register: *mut $t) -> $t {
            let width = size_of::<$t>();
            // The device is called with the kernel's lock released: its hook
            // may use the model.
            match target(register as usize, width, false) {
                Some((device, offset)) => device.read(offset, width) as $t,
                None => <$t>::MAX,
            }
        }

        #[doc = concat!("`", stringify!($write), "`: writes the device's register.")]
        ///
        /// # Safety
        /// As the kernel's.
        pub unsafe fn $write(register: *mut $t, value: $t) {
            let width = size_of::<$t>();
            if let Some((device, offset)) = target(register as usize, width, true) {
                device.write(offset, width, u64::from(value));
            }
        }
    )*};
}

crate::sys::io_space::register_routines!(registers);

macro_rules! register_buffers {
    ($($read:ident, $write:ident: $t:ty, $movs:literal;)*) => {$(
        #[doc = concat!("`", stringify!($read), "`: `count` consecutive registers, each read as its `READ_REGISTER_*` (so each is checked and logged).")]
        ///
        /// # Safety
        /// As the kernel's: `buffer` is valid for `count` writes.
        pub unsafe fn $read(register: *mut $t, buffer: *mut $t, count: u32) {
            let width = size_of::<$t>();
            for i in 0..count as usize {
                let value = match target((register as usize).wrapping_add(i * width), width, false) {
                    Some((device, offset)) => device.read(offset, width) as $t,
                    None => <$t>::MAX,
                };
                // SAFETY: the caller's buffer holds `count` elements.
                unsafe { buffer.add(i).write(value) };
            }
        }

        #[doc = concat!("`", stringify!($write), "`: `count` consecutive registers, each written as its `WRITE_REGISTER_*`.")]
        ///
        /// # Safety
        /// As the kernel's: `buffer` is valid for `count` reads.
        pub unsafe fn $write(register: *mut $t, buffer: *mut $t, count: u32) {
            let width = size_of::<$t>();
            for i in 0..count as usize {
                // SAFETY: the caller's buffer holds `count` elements.
                let value = unsafe { buffer.add(i).read() };
                if let Some((device, offset)) = target((register as usize).wrapping_add(i * width), width, true) {
                    device.write(offset, width, value as u64);
                }
            }
        }
    )*};
}

crate::sys::register_buffer::register_buffer_routines!(register_buffers);

/// The port device behind an access, or the verifier's
/// 0xC4/[`IO_PORT_UNCLAIMED`].
fn port(port: usize, width: usize, write: bool) -> Option<(Device, usize)> {
    with_state(|state| {
        let found = state.io_space.port(port as u16, width);
        if found.is_none() {
            let what = if write { "write" } else { "read" };
            state.violation(
                BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION,
                [IO_PORT_UNCLAIMED, port as u64 & 0xFFFF, width as u64, u64::from(write)],
                format!("port {what} of {width} bytes at {:#x}, which no device claims", port & 0xFFFF),
            );
        }
        found
    })
}

macro_rules! ports {
    ($($read:ident, $write:ident, $read_buffer:ident, $write_buffer:ident:
        $t:ty, $reg:literal, $in:literal, $out:literal, $ins:literal, $outs:literal;)*) => {$(
        #[doc = concat!("`", stringify!($read), "`: the port device's register (all ones, and a violation, where no device is).")]
        ///
        /// # Safety
        /// As the kernel's.
        pub unsafe fn $read(at: *mut $t) -> $t {
            let width = size_of::<$t>();
            match port(at as usize, width, false) {
                Some((device, offset)) => device.read(offset, width) as $t,
                None => <$t>::MAX,
            }
        }

        #[doc = concat!("`", stringify!($write), "`: writes the port device's register.")]
        ///
        /// # Safety
        /// As the kernel's.
        pub unsafe fn $write(at: *mut $t, value: $t) {
            let width = size_of::<$t>();
            if let Some((device, offset)) = port(at as usize, width, true) {
                device.write(offset, width, value as u64);
            }
        }

        #[doc = concat!("`", stringify!($read_buffer), "`: `count` reads of the same port.")]
        ///
        /// # Safety
        /// As the kernel's: `buffer` is valid for `count` writes.
        pub unsafe fn $read_buffer(at: *mut $t, buffer: *mut $t, count: u32) {
            for i in 0..count as usize {
                // SAFETY: the caller's contract.
                unsafe { buffer.add(i).write($read(at)) };
            }
        }

        #[doc = concat!("`", stringify!($write_buffer), "`: `count` writes to the same port.")]
        ///
        /// # Safety
        /// As the kernel's: `buffer` is valid for `count` reads.
        pub unsafe fn $write_buffer(at: *mut $t, buffer: *mut $t, count: u32) {
            for i in 0..count as usize {
                // SAFETY: the caller's contract.
                unsafe { $write(at, buffer.add(i).read()) };
            }
        }
    )*};
}

crate::sys::port::port_routines!(ports);

/// `HalTranslateBusAddress`: PASSIVE_LEVEL (else the DDI violation and
/// FALSE); `*address_space` 0 (memory) or 1 (port) in and out; FALSE for any
/// other space or an address no [`BusWindow`](super::super::io_space::BusWindow) holds.
///
/// # Safety
/// As the kernel's: both pointers valid.
pub unsafe extern "system" fn HalTranslateBusAddress(
    interface: INTERFACE_TYPE,
    bus_number: ULONG,
    bus_address: PHYSICAL_ADDRESS,
    address_space: PULONG,
    translated: PPHYSICAL_ADDRESS,
) -> BOOLEAN {
    // SAFETY: every member of a LARGE_INTEGER covers the same eight bytes.
    let address = unsafe { bus_address.QuadPart } as u64;
    // SAFETY: the caller passes a valid pointer.
    let space = match unsafe { address_space.read() } {
        0 => BusSpace::Memory,
        1 => BusSpace::Port,
        _ => return 0,
    };
    let answer = with_state(|state| {
        if super::irql_above(state, "HalTranslateBusAddress", 0) {
            return None;
        }
        state.io_space.translate(interface, bus_number, space, address)
    });
    let Some((space, address)) = answer else { return 0 };
    // SAFETY: the caller passes valid pointers.
    unsafe {
        address_space.write(u32::from(space == BusSpace::Port));
        (*translated).QuadPart = address as i64;
    }
    1
}
