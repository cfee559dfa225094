//! The harness's buses and ports: `HalTranslateBusAddress` of random bus
//! addresses on the model's simulated buses (checked against the windows
//! the sequence set up), the translations opened as [`PortRange`]s or
//! mapped as [`IoSpace`] (read-write or read-only), port reads and writes
//! of every width and their `_BUFFER_` forms at random offsets, and
//! `READ_REGISTER_BUFFER_*`/`WRITE_REGISTER_BUFFER_*` blocks of random
//! offsets, lengths and widths on the I/O-space mappings.

use arbitrary::Arbitrary;
use wdm_mem::{
    NtStatus,
    bus::{BusSpace, InterfaceType, PortAddress, PortRange, Translated, translate_bus_address},
    io_space::{CacheType, IoSpace},
    memory::PhysicalAddress,
    model::{BusWindow, Kernel},
    section::ReadOnly,
};

use super::{Context, DEVICE_BASE, DEVICE_SIZE, Size, World, cache_type, full, near_offset, pick};

/// The port device: the only ports a range may cover (a port no device
/// claims is the driver's bug, which the verifier reports).
const PORT_BASE: u16 = 0x300;
const PORT_COUNT: usize = 0x20;

/// The simulated buses: ISA ports onto the port device, and a port window
/// no device answers (translated, never accessed); a PCI memory window onto
/// the model device, a bus whose ports the host bridge maps into the
/// device's memory, and an ISA memory window where no device is.
const WINDOWS: [BusWindow; 5] = [
    BusWindow {
        interface: 1,
        bus_number: 0,
        space: BusSpace::Port,
        bus_base: PORT_BASE as u64,
        size: PORT_COUNT as u64,
        translated_space: BusSpace::Port,
        translated_base: PORT_BASE as u64,
    },
    BusWindow {
        interface: 1,
        bus_number: 0,
        space: BusSpace::Port,
        bus_base: 0x3F8,
        size: 8,
        translated_space: BusSpace::Port,
        translated_base: 0x3F8,
    },
    BusWindow {
        interface: 5,
        bus_number: 1,
        space: BusSpace::Memory,
        bus_base: 0x1000,
        size: DEVICE_SIZE as u64,
        translated_space: BusSpace::Memory,
        translated_base: DEVICE_BASE,
    },
    BusWindow {
        interface: 0,
        bus_number: 0,
        space: BusSpace::Port,
        bus_base: 0,
        size: 0x100,
        translated_space: BusSpace::Memory,
        translated_base: DEVICE_BASE + 0x1000,
    },
    BusWindow {
        interface: 1,
        bus_number: 0,
        space: BusSpace::Memory,
        bus_base: 0xD_0000,
        size: 0x1000,
        translated_space: BusSpace::Memory,
        translated_base: 0x4_0000_0000,
    },
];

/// Sets up the buses and the port device of a sequence.
pub fn set_up(kernel: &Kernel) {
    for window in WINDOWS {
        kernel.add_bus_window(window);
    }
    kernel.add_port_device(PORT_BASE, PORT_COUNT);
}

/// The translation of the windows: what `translate_bus_address` must answer.
fn expected(interface: i32, bus: u32, space: BusSpace, address: u64) -> Option<Translated> {
    let window = WINDOWS.iter().find(|w| {
        w.interface == interface
            && w.bus_number == bus
            && w.space == space
            && address.checked_sub(w.bus_base).is_some_and(|at| at < w.size)
    })?;
    let translated = window.translated_base + (address - window.bus_base);
    Some(match window.translated_space {
        BusSpace::Memory => Translated::Memory(PhysicalAddress::new(translated)),
        BusSpace::Port => Translated::Port(PortAddress::new(translated as u16)),
    })
}

/// The port ranges and read-only register mappings of a sequence.
#[derive(Default)]
pub struct Ports {
    ranges: Vec<PortRange>,
    read_only: Vec<IoSpace<0, ReadOnly>>,
}

/// An operation on buses, ports and register blocks.
#[derive(Arbitrary, Debug)]
pub enum BusOp {
    /// Translates an address near a window (or anywhere), then opens the
    /// ports or maps the memory it lands in.
    Translate {
        interface: u8,
        bus: u8,
        port: bool,
        near: u8,
        offset: Size,
        len: Size,
        cache: u8,
        read_only: bool,
    },
    /// A port range of any base and length (kept when the device owns it).
    Open {
        base: u8,
        len: Size,
    },
    Close(u8),
    UnmapReadOnly(u8),
}

/// A port access, single or `_BUFFER_`, or the compile-time-checked forms
/// of ports and registers (`read8::<OFFSET>()`, `read_array32::<OFFSET, N>()`).
#[derive(Arbitrary, Debug)]
pub enum PortOp {
    Access { index: u8, offset: Size, width: u8, write: bool, value: u32 },
    Buffer { index: u8, offset: Size, width: u8, count: u8, write: bool, value: u32 },
    Fixed { write: bool, value: u64, cache: u8 },
}

/// A block of registers of an I/O-space mapping (read-write or read-only).
#[derive(Arbitrary, Debug)]
pub struct RegistersOp {
    index: u8,
    read_only: bool,
    offset: Size,
    width: u8,
    count: u8,
    write: bool,
    value: u64,
}

impl World<'_> {
    pub(super) fn bus_op(&mut self, op: &BusOp, ctx: Context) {
        match *op {
            BusOp::Translate { interface, bus, port, near, offset, len, cache, read_only } => {
                // Mostly a window's bus and space, at or past its addresses;
                // else any bus, space and address.
                let window = &WINDOWS[near as usize % WINDOWS.len()];
                let (interface, bus, space, base) = if interface < 192 {
                    (window.interface, window.bus_number, window.space, window.bus_base)
                } else {
                    let space = if port { BusSpace::Port } else { BusSpace::Memory };
                    let base = [0, 0x1000, 1 << 63, u64::MAX - 0x10][near as usize % 4];
                    ([0, 1, 5, 2, -1, i32::from(interface)][interface as usize % 6], u32::from(bus % 3), space, base)
                };
                let address = base.wrapping_add(near_offset(offset, window.size as usize) as u64);
                let translated = translate_bus_address(
                    InterfaceType::from_raw(interface),
                    bus,
                    space,
                    PhysicalAddress::new(address),
                );
                let answer = if !ctx.passive {
                    Err(NtStatus::INVALID_LEVEL)
                } else if address > PhysicalAddress::MAX.get() {
                    Err(NtStatus::INVALID_PARAMETER)
                } else {
                    expected(interface, bus, space, address).ok_or(NtStatus::UNSUCCESSFUL)
                };
                assert_eq!(translated, answer, "{interface} {bus} {space:?} {address:#x}");
                let len = len.get();
                match translated {
                    Ok(Translated::Port(base)) => self.open_ports(base, len % 0x40),
                    Ok(Translated::Memory(physical)) if read_only && !full(&self.ports.read_only) => {
                        if let Ok(io) = IoSpace::map(physical, len % 0x3000, cache_type(cache)) {
                            self.ports.read_only.push(io);
                        }
                    }
                    Ok(Translated::Memory(physical)) if !full(&self.io) => {
                        if let Ok(io) = IoSpace::map(physical, len % 0x3000, cache_type(cache)) {
                            self.io.push(io);
                        }
                    }
                    _ => {}
                }
            }
            BusOp::Open { base, len } => {
                let base =
                    if base < 200 { PORT_BASE - 4 + u16::from(base % 0x28) } else { 0xFFF0 + u16::from(base % 16) };
                self.open_ports(PortAddress::new(base), len.get());
            }
            BusOp::Close(index) => {
                if let Some(i) = pick(&self.ports.ranges, index) {
                    self.ports.ranges.swap_remove(i); // nothing to release: ports are not mapped
                }
            }
            BusOp::UnmapReadOnly(index) => {
                // MmUnmapIoSpace: <= DISPATCH_LEVEL.
                if let Some(i) = pick(&self.ports.read_only, index).filter(|_| ctx.non_paged_ok) {
                    drop(self.ports.read_only.swap_remove(i));
                }
            }
        }
    }

    pub(super) fn port_op(&mut self, op: &PortOp) {
        if self.ports.ranges.is_empty() {
            self.open_ports(PortAddress::new(PORT_BASE), PORT_COUNT); // the device's ports
        }
        match *op {
            PortOp::Fixed { write, value, cache } => fixed(write, value, cache),
            PortOp::Access { index, offset, width, write, value } => {
                let Some(i) = pick(&self.ports.ranges, index) else { return };
                let ports = &self.ports.ranges[i];
                let offset = near_offset(offset, ports.len());
                let size = [1, 2, 4][width as usize % 3];
                let fits = offset.checked_add(size).is_some_and(|end| end <= ports.len());
                let result = match (size, write) {
                    (1, false) => ports.try_read8(offset).map(drop),
                    (2, false) => ports.try_read16(offset).map(drop),
                    (_, false) => ports.try_read32(offset).map(drop),
                    (1, true) => ports.try_write8(offset, value as u8),
                    (2, true) => ports.try_write16(offset, value as u16),
                    (_, true) => ports.try_write32(offset, value),
                };
                assert_eq!(result, if fits { Ok(()) } else { Err(NtStatus::INVALID_PARAMETER) }, "{ports:?}");
                if fits && write {
                    // The port device keeps what it was written.
                    let read = match size {
                        1 => ports.try_read8(offset).map(u32::from),
                        2 => ports.try_read16(offset).map(u32::from),
                        _ => ports.try_read32(offset),
                    };
                    assert_eq!(read, Ok(value & (u32::MAX >> (32 - 8 * size))), "{ports:?} at {offset:#x}");
                }
            }
            PortOp::Buffer { index, offset, width, count, write, value } => {
                let Some(i) = pick(&self.ports.ranges, index) else { return };
                let ports = &self.ports.ranges[i];
                let offset = near_offset(offset, ports.len());
                let count = count as usize % 64;
                let size = [1, 2, 4][width as usize % 3];
                let fits = offset.checked_add(size).is_some_and(|end| end <= ports.len());
                let result = match (size, write) {
                    (1, false) => ports.read_buffer8(offset, &mut vec![0; count]),
                    (2, false) => ports.read_buffer16(offset, &mut vec![0; count]),
                    (_, false) => ports.read_buffer32(offset, &mut vec![0; count]),
                    (1, true) => ports.write_buffer8(offset, &vec![value as u8; count]),
                    (2, true) => ports.write_buffer16(offset, &vec![value as u16; count]),
                    (_, true) => ports.write_buffer32(offset, &vec![value; count]),
                };
                assert_eq!(result, if fits { Ok(()) } else { Err(NtStatus::INVALID_PARAMETER) }, "{ports:?}");
            }
        }
    }

    pub(super) fn registers_op(&mut self, op: &RegistersOp) {
        let RegistersOp { index, read_only, offset, width, count, write, value } = *op;
        if self.io.is_empty() {
            // The device's registers, as the PCI window translates them.
            let registers = IoSpace::map(PhysicalAddress::new(DEVICE_BASE), DEVICE_SIZE, CacheType::NonCached);
            if let Ok(registers) = registers {
                self.io.push(registers);
            }
        }
        let count = count as usize % 64;
        let size = [1, 2, 4, 8][width as usize % 4];
        if read_only {
            let Some(i) = pick(&self.ports.read_only, index) else { return };
            let io = &self.ports.read_only[i];
            let offset = near_offset(offset, io.len());
            let result = read_registers(io, offset, size, count).map(drop);
            assert_eq!(result, block_status(offset, size, count, io.len()), "{io:?}");
            return;
        }
        let Some(i) = pick(&self.io, index) else { return };
        let io = &self.io[i];
        let offset = near_offset(offset, io.len());
        let expected = block_status(offset, size, count, io.len());
        if !write {
            assert_eq!(read_registers(io, offset, size, count).map(drop), expected, "{io:?}");
            return;
        }
        let values: Vec<u64> = (0..count as u64).map(|n| value.wrapping_add(n)).collect();
        let result = match size {
            1 => io.try_write_buffer8(offset, &values.iter().map(|&v| v as u8).collect::<Vec<_>>()),
            2 => io.try_write_buffer16(offset, &values.iter().map(|&v| v as u16).collect::<Vec<_>>()),
            4 => io.try_write_buffer32(offset, &values.iter().map(|&v| v as u32).collect::<Vec<_>>()),
            _ => io.try_write_buffer64(offset, &values),
        };
        assert_eq!(result, expected, "{io:?}");
        if result.is_ok() {
            // The block reads back as written, one register each.
            let mask = u64::MAX >> (64 - 8 * size);
            let written: Vec<u64> = values.iter().map(|v| v & mask).collect();
            assert_eq!(read_registers(io, offset, size, count), Ok(written), "{io:?} at {offset:#x}");
        }
    }

    /// Opens `len` ports from `base`, kept when they all belong to the port
    /// device (the driver's own device: its responsibility, not a type's).
    fn open_ports(&mut self, base: PortAddress, len: usize) {
        let opened = PortRange::<0>::new(base, len);
        let valid = len > 0 && usize::from(base.get()).checked_add(len).is_some_and(|end| end <= 0x1_0000);
        assert_eq!(opened.as_ref().err(), (!valid).then_some(&NtStatus::INVALID_PARAMETER), "{base:?} {len}");
        let owned = base.get() >= PORT_BASE
            && (usize::from(base.get() - PORT_BASE)).checked_add(len).is_some_and(|end| end <= PORT_COUNT);
        match opened {
            Ok(ports) if owned && !full(&self.ports.ranges) => {
                assert_eq!((ports.base(), ports.len()), (base, len));
                self.ports.ranges.push(ports);
            }
            _ => {}
        }
    }

    /// At the end (PASSIVE_LEVEL): the read-only mappings unmapped.
    pub(super) fn release_ports(&mut self) {
        self.ports.ranges.clear();
        self.ports.read_only.clear();
    }
}

/// The device's ports and its first registers through constant offsets
/// (the range and the mapping sized at compile time); the mapping is
/// unmapped at the end of the step (it is made only at <= DISPATCH_LEVEL).
fn fixed(write: bool, value: u64, cache: u8) {
    let ports = PortRange::<PORT_COUNT>::new(PortAddress::new(PORT_BASE), PORT_COUNT).expect("the device's ports");
    if write {
        ports.write8::<0x1F>(value as u8);
        ports.write16::<0x2>(value as u16);
        ports.write32::<0x18>(value as u32);
        assert_eq!(ports.read8::<0x1F>(), value as u8);
        assert_eq!(ports.read16::<0x2>(), value as u16);
        assert_eq!(ports.read32::<0x18>(), value as u32);
    } else {
        let _ = (ports.read8::<0x0>(), ports.read16::<0x1E>(), ports.read32::<0x8>());
    }
    let Ok(registers) = IoSpace::<0x100>::map(PhysicalAddress::new(DEVICE_BASE), 0x100, cache_type(cache)) else {
        return;
    };
    if write {
        registers.write_array32::<0x40, 4>(&[value as u32; 4]);
        registers.write64::<0xF8>(value);
        assert_eq!(registers.read_array32::<0x40, 4>(), [value as u32; 4]);
        assert_eq!(registers.read64::<0xF8>(), value);
    } else {
        let _ = (registers.read_array8::<0x0, 16>(), registers.read_array64::<0xF0, 2>(), registers.read16::<0x2>());
    }
}

/// What a block of `count` registers of `size` bytes at `offset` of a
/// mapping of `len` bytes must answer: the range first, then the alignment.
fn block_status(offset: usize, size: usize, count: usize, len: usize) -> Result<(), NtStatus> {
    let inside = offset.checked_add(size * count).is_some_and(|end| end <= len);
    if !inside {
        Err(NtStatus::INVALID_PARAMETER)
    } else if offset % size != 0 {
        Err(NtStatus::DATATYPE_MISALIGNMENT_ERROR)
    } else {
        Ok(())
    }
}

/// Reads a block of `count` registers of `size` bytes at `offset`, widened.
fn read_registers<A: wdm_mem::io_space::IoProtection>(
    io: &IoSpace<0, A>,
    offset: usize,
    size: usize,
    count: usize,
) -> Result<Vec<u64>, NtStatus> {
    fn widen<T: Copy + Default + Into<u64>>(
        count: usize,
        read: impl FnOnce(&mut [T]) -> Result<(), NtStatus>,
    ) -> Result<Vec<u64>, NtStatus> {
        let mut buffer = vec![T::default(); count];
        read(&mut buffer)?;
        Ok(buffer.into_iter().map(Into::into).collect())
    }
    match size {
        1 => widen::<u8>(count, |buffer| io.try_read_buffer8(offset, buffer)),
        2 => widen::<u16>(count, |buffer| io.try_read_buffer16(offset, buffer)),
        4 => widen::<u32>(count, |buffer| io.try_read_buffer32(offset, buffer)),
        _ => widen::<u64>(count, |buffer| io.try_read_buffer64(offset, buffer)),
    }
}
