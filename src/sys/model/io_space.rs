//! The model's device memory: simulated devices ([`Device`]) at physical
//! addresses outside the model's RAM, mapped by `MmMapIoSpace(Ex)` and read
//! and written through `READ_REGISTER_*`/`WRITE_REGISTER_*`, so that a test
//! sees every register access, scripts the values a read returns, and the
//! verifier catches leaked mappings and bad unmaps.
//!
//! It also simulates buses for `HalTranslateBusAddress` ([`BusWindow`]: a
//! range of a bus's memory or port space and where it lands in the
//! processor's memory or port space) and devices in the processor's I/O port
//! space ([`Kernel::add_port_device`]), read and written by `READ_PORT_*`/
//! `WRITE_PORT_*`: the same [`Device`] type, its offsets counted from its
//! first port.

use std::{
    alloc::{Layout, alloc_zeroed, dealloc},
    boxed::Box,
    collections::BTreeMap,
    format,
    string::String,
    sync::{Arc, Mutex, MutexGuard},
    vec,
    vec::Vec,
};

use super::{
    Kernel,
    mdl::violation,
    memory::PHYSICAL_MEMORY,
    verifier::{BugCheck, Violation},
};
use crate::sys::{PAGE_READONLY, PAGE_SIZE};

/// Parameter 1 of the model's 0xC4 bug check for an I/O-space mapping still
/// mapped at unload (parameter 2: the address, parameter 3: the size,
/// parameter 4: the physical address). The value is the model's own.
pub const IO_SPACE_LEAKED: u64 = 0x1_0511;
/// ... for `MmUnmapIoSpace` of an address `MmMapIoSpace` did not return, or
/// with another size than it mapped (parameter 2: the address, parameter 3:
/// the size given, parameter 4: the size mapped, 0 if none). Windows has no
/// check for it and unmaps the wrong number of pages.
pub const IO_SPACE_BAD_UNMAP: u64 = 0x1_0512;

/// One register access, as a [`Device`] sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegisterAccess {
    /// Offset in the device's memory.
    pub offset: usize,
    /// 1, 2, 4 or 8 bytes.
    pub width: usize,
    /// `None` for a read, the value for a write.
    pub write: Option<u64>,
}

/// What a device hook sees for each access; its answer replaces the value a
/// read returns or a write stores (`None`: the device's memory as is).
type Hook = Box<dyn FnMut(&RegisterAccess) -> Option<u64> + Send>;

struct Registers {
    bytes: Vec<u8>,
    hook: Option<Hook>,
    log: Vec<RegisterAccess>,
}

struct DeviceInner {
    base: u64,
    registers: Mutex<Registers>,
}

/// A simulated device: `size` bytes of registers at a physical address,
/// which `MmMapIoSpace` maps. A handle: clones share the device.
#[derive(Clone)]
pub struct Device(Arc<DeviceInner>);

mod sealed {
    pub trait Sealed {}
}

/// A register width: `u8`, `u16`, `u32` or `u64`, little-endian.
pub trait RegisterValue: sealed::Sealed + Copy {
    /// As a `u64`.
    fn to_u64(self) -> u64;
    /// From a `u64` (truncated).
    fn from_u64(value: u64) -> Self;
}

macro_rules! register_values {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl RegisterValue for $t {
            fn to_u64(self) -> u64 {
                self as u64
            }
            fn from_u64(value: u64) -> Self {
                value as $t
            }
        }
    )*};
}
register_values!(u8, u16, u32, u64);

impl Device {
    /// The physical address of the device's first register.
    pub fn physical_base(&self) -> u64 {
        self.0.base
    }

    /// The register of type `T` at `offset`, as the device holds it (no
    /// hook, not logged).
    ///
    /// # Panics
    /// If it lies past the device's end.
    pub fn register<T: RegisterValue>(&self, offset: usize) -> T {
        T::from_u64(load(&self.registers().bytes, offset, size_of::<T>()))
    }

    /// Sets the register of type `T` at `offset` (no hook, not logged).
    ///
    /// # Panics
    /// If it lies past the device's end.
    pub fn set_register<T: RegisterValue>(&self, offset: usize, value: T) {
        store(&mut self.registers().bytes, offset, size_of::<T>(), value.to_u64());
    }

    /// Calls `hook` on every access through a mapping from now on: a
    /// `Some(value)` answers a read with `value`, or stores `value` instead
    /// of what a write wrote (e.g. write-one-to-clear bits).
    pub fn on_access(&self, hook: impl FnMut(&RegisterAccess) -> Option<u64> + Send + 'static) {
        self.registers().hook = Some(Box::new(hook));
    }

    /// Every access made through a mapping so far, oldest first.
    pub fn accesses(&self) -> Vec<RegisterAccess> {
        self.registers().log.clone()
    }

    /// A driver's read of `width` bytes at `offset`.
    pub(super) fn read(&self, offset: usize, width: usize) -> u64 {
        let access = RegisterAccess { offset, width, write: None };
        let answer = self.run_hook(&access);
        let mut registers = self.registers();
        registers.log.push(access);
        answer.unwrap_or_else(|| load(&registers.bytes, offset, width))
    }

    /// A driver's write of `value` (`width` bytes) at `offset`.
    pub(super) fn write(&self, offset: usize, width: usize, value: u64) {
        let access = RegisterAccess { offset, width, write: Some(value) };
        let stored = self.run_hook(&access).unwrap_or(value);
        let mut registers = self.registers();
        registers.log.push(access);
        store(&mut registers.bytes, offset, width, stored);
    }

    /// Runs the hook without holding the registers' lock, so that it may
    /// use the device itself.
    fn run_hook(&self, access: &RegisterAccess) -> Option<u64> {
        let mut hook = self.registers().hook.take()?;
        let answer = hook(access);
        let mut registers = self.registers();
        registers.hook.get_or_insert(hook);
        answer
    }

    fn registers(&self) -> MutexGuard<'_, Registers> {
        self.0.registers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn size(&self) -> usize {
        self.registers().bytes.len()
    }
}

fn load(bytes: &[u8], offset: usize, width: usize) -> u64 {
    let mut value = [0u8; 8];
    value[..width].copy_from_slice(&bytes[offset..offset + width]);
    u64::from_le_bytes(value)
}

fn store(bytes: &mut [u8], offset: usize, width: usize, value: u64) {
    bytes[offset..offset + width].copy_from_slice(&value.to_le_bytes()[..width]);
}

/// ... for a register access whose address is not aligned for its width
/// (parameter 2: the address, parameter 3: the width, parameter 4: 1 for a
/// write). The processor would split it (a torn device access), and in Rust
/// a misaligned volatile access is undefined behaviour. The value is the
/// model's own.
pub const IO_SPACE_MISALIGNED: u64 = 0x1_0513;

/// A mapping of device memory: host memory at its address (never used for
/// the registers, which the accesses route to the device), so that the
/// address is unique and a valid pointer. As `MmMapIoSpace`, the address
/// returned keeps the page offset of the physical address: it is `host`
/// plus `physical % PAGE_SIZE`.
struct IoMapping {
    device: Device,
    /// Offset of the mapping's first byte in the device.
    offset: usize,
    /// The size asked for (what `MmUnmapIoSpace` must be given).
    size: usize,
    /// The host pages behind the mapping, and their layout.
    host: usize,
    layout: Layout,
    writable: bool,
}

/// Devices and I/O-space mappings of one session.
#[derive(Default)]
pub(super) struct IoSpaceState {
    devices: Vec<Device>,
    ports: Vec<Device>,
    windows: Vec<BusWindow>,
    mappings: BTreeMap<usize, IoMapping>,
}

/// The address spaces of `HalTranslateBusAddress` are the crate's.
pub use crate::bus::BusSpace;

/// A translation of the simulated HAL: `size` bytes of bus `bus_number`
/// (of `interface`, an `INTERFACE_TYPE`) in its `space` from `bus_base`
/// appear in the processor's `translated_space` at `translated_base`
/// (on x86, port space stays port space; on other machines a bus's ports
/// may be memory-mapped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusWindow {
    /// The bus type (`Isa`, `PCIBus`, ...).
    pub interface: i32,
    /// The bus number.
    pub bus_number: u32,
    /// The space of the bus addresses.
    pub space: BusSpace,
    /// The first bus address.
    pub bus_base: u64,
    /// The bytes (or ports) of the window.
    pub size: u64,
    /// Where the window lands.
    pub translated_space: BusSpace,
    /// The translation of `bus_base`.
    pub translated_base: u64,
}

/// Parameter 1 of the model's 0xC4 bug check for a port access outside
/// every simulated port device (parameter 2: the port, parameter 3: the
/// width, parameter 4: 1 for a write). Real hardware answers all ones; the
/// model is stricter, as a driver's port range comes from a translation or
/// its resources and never covers nothing. The value is the model's own.
pub const IO_PORT_UNCLAIMED: u64 = 0x1_0514;

/// Where a register access lands.
pub(super) struct Target {
    pub(super) device: Device,
    pub(super) offset: usize,
    pub(super) writable: bool,
}

impl IoSpaceState {
    /// Maps `size` bytes of device memory at `physical` (the caller checked
    /// IRQL and arguments); 0 when no single device holds the range.
    pub(super) fn map(&mut self, physical: u64, size: usize, protect: u32) -> usize {
        let Some(device) = self.devices.iter().find(|device| {
            physical >= device.0.base
                && (physical - device.0.base).checked_add(size as u64).is_some_and(|end| end <= device.size() as u64)
        }) else {
            return 0;
        };
        let page = PAGE_SIZE as usize;
        let in_page = (physical % page as u64) as usize;
        let Some(pages) = size.checked_add(in_page).and_then(|end| end.checked_next_multiple_of(page)) else {
            return 0;
        };
        let Ok(layout) = Layout::from_size_align(pages, page) else { return 0 };
        // SAFETY: the layout is not zero-sized (size > 0).
        let host = unsafe { alloc_zeroed(layout) } as usize;
        if host == 0 {
            return 0;
        }
        let address = host + in_page;
        let offset = (physical - device.0.base) as usize;
        let writable = protect & 0xFF != PAGE_READONLY;
        self.mappings.insert(address, IoMapping { device: device.clone(), offset, size, host, layout, writable });
        address
    }

    /// Unmaps the mapping at `address` of `size` bytes; the violation when
    /// there is none or the size is not the mapped one (a mapping is unmapped
    /// either way, so that only one violation is reported).
    pub(super) fn unmap(&mut self, address: usize, size: usize) -> Result<(), Violation> {
        let Some(mapping) = self.mappings.remove(&address) else {
            return Err(violation(
                IO_SPACE_BAD_UNMAP,
                [address as u64, size as u64, 0],
                format!("MmUnmapIoSpace({address:#x}, {size}): not an address MmMapIoSpace returned"),
            ));
        };
        let mapped = mapping.size;
        // SAFETY: allocated by `map` with this layout, released once.
        unsafe { dealloc(mapping.host as *mut u8, mapping.layout) };
        if size != mapped {
            return Err(violation(
                IO_SPACE_BAD_UNMAP,
                [address as u64, size as u64, mapped as u64],
                format!("MmUnmapIoSpace({address:#x}, {size}) of a mapping of {mapped} bytes"),
            ));
        }
        Ok(())
    }

    /// The device register behind `width` bytes at `address`.
    pub(super) fn target(&self, address: usize, width: usize) -> Option<Target> {
        let (&base, mapping) = self.mappings.range(..=address).next_back()?;
        (address.checked_add(width)? <= base + mapping.size).then(|| Target {
            device: mapping.device.clone(),
            offset: mapping.offset + (address - base),
            writable: mapping.writable,
        })
    }

    /// `HalTranslateBusAddress`: the translated space and address of
    /// `address` in `space` of the bus, when a window holds it.
    pub(super) fn translate(&self, interface: i32, bus: u32, space: BusSpace, address: u64) -> Option<(BusSpace, u64)> {
        let window = self.windows.iter().find(|w| {
            w.interface == interface
                && w.bus_number == bus
                && w.space == space
                && address.checked_sub(w.bus_base).is_some_and(|at| at < w.size)
        })?;
        Some((window.translated_space, window.translated_base + (address - window.bus_base)))
    }

    /// The port device behind `width` ports from `port`, and the offset.
    pub(super) fn port(&self, port: u16, width: usize) -> Option<(Device, usize)> {
        let port = u64::from(port);
        self.ports.iter().find_map(|device| {
            let offset = port.checked_sub(device.0.base)?;
            (offset + width as u64 <= device.size() as u64).then(|| (device.clone(), offset as usize))
        })
    }

    /// At unload: 0xC4/[`IO_SPACE_LEAKED`] for each mapping left.
    pub(super) fn report_leaks(&mut self, violations: &mut Vec<Violation>) {
        for (address, mapping) in std::mem::take(&mut self.mappings) {
            let physical = mapping.device.0.base + mapping.offset as u64;
            violations.push(violation(
                IO_SPACE_LEAKED,
                [address as u64, mapping.size as u64, physical],
                format!("I/O space at {address:#x} ({} bytes of physical {physical:#x}) never unmapped", mapping.size),
            ));
            // SAFETY: allocated by `map` with this layout, released once.
            unsafe { dealloc(mapping.host as *mut u8, mapping.layout) };
        }
    }
}

/// The simulated devices, for tests.
impl Kernel {
    /// A device with `size` bytes of zeroed registers at the physical address
    /// `physical_base`, which `MmMapIoSpace` (and `MmMapIoSpaceEx`) can map
    /// from now on.
    ///
    /// # Panics
    /// If `size` is 0, or the range overlaps the model's RAM
    /// ([`PHYSICAL_MEMORY`]) or another device.
    pub fn add_device(&self, physical_base: u64, size: usize) -> Device {
        let end = physical_base.checked_add(size as u64).filter(|_| size > 0).expect("a device has registers");
        assert!(
            end <= PHYSICAL_MEMORY.start || physical_base >= PHYSICAL_MEMORY.end,
            "a device cannot sit on the model's RAM ({PHYSICAL_MEMORY:#x?})"
        );
        let mut state = self.state();
        let overlaps =
            state.io_space.devices.iter().any(|d| physical_base < d.0.base + d.size() as u64 && d.0.base < end);
        assert!(!overlaps, "devices overlap at {physical_base:#x}");
        let device = Device(Arc::new(DeviceInner {
            base: physical_base,
            registers: Mutex::new(Registers { bytes: vec![0; size], hook: None, log: Vec::new() }),
        }));
        state.io_space.devices.push(device.clone());
        device
    }
}

/// The simulated buses and port devices, for tests.
impl Kernel {
    /// A device with `size` zeroed ports from `port_base` in the processor's
    /// I/O port space, which `READ_PORT_*`/`WRITE_PORT_*` reach from now on.
    ///
    /// # Panics
    /// If `size` is 0, the range runs past port 0xFFFF, or overlaps another
    /// port device.
    pub fn add_port_device(&self, port_base: u16, size: usize) -> Device {
        let end = u64::from(port_base) + size as u64;
        assert!(size > 0 && end <= 0x1_0000, "a port device lies in ports 0..=0xFFFF");
        let mut state = self.state();
        let overlaps =
            state.io_space.ports.iter().any(|d| u64::from(port_base) < d.0.base + d.size() as u64 && d.0.base < end);
        assert!(!overlaps, "port devices overlap at {port_base:#x}");
        let device = Device(Arc::new(DeviceInner {
            base: u64::from(port_base),
            registers: Mutex::new(Registers { bytes: vec![0; size], hook: None, log: Vec::new() }),
        }));
        state.io_space.ports.push(device.clone());
        device
    }

    /// Makes `HalTranslateBusAddress` translate the addresses of `window`.
    ///
    /// # Panics
    /// If the window is empty or its translation runs past the end of its
    /// space (`u64`, or port 0xFFFF).
    pub fn add_bus_window(&self, window: BusWindow) {
        let last = window.size.checked_sub(1).and_then(|tail| window.translated_base.checked_add(tail));
        let limit = if window.translated_space == BusSpace::Port { 0xFFFF } else { u64::MAX };
        assert!(last.is_some_and(|last| last <= limit), "a bus window translates into its space");
        assert!(window.bus_base.checked_add(window.size).is_some(), "a bus window fits in its bus");
        self.state().io_space.windows.push(window);
    }
}

impl core::fmt::Debug for Device {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Device").field("physical_base", &self.0.base).field("size", &self.size()).finish()
    }
}

/// A register fault's message.
pub(super) fn fault(code: u32, address: usize, write: bool, message: String) -> Violation {
    Violation { bug_check: BugCheck { code, params: [address as u64, u64::from(write), 0, 0] }, message }
}
