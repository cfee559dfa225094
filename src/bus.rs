//! Bus addresses and I/O ports: [`translate_bus_address`]
//! (`HalTranslateBusAddress`) turns an address on a bus into a processor
//! address, either memory ([`Translated::Memory`], to map with
//! [`IoSpace`](crate::io_space::IoSpace)) or an I/O port
//! ([`Translated::Port`], to open as a [`PortRange`]); [`PortRange`] reads
//! and writes ports with `READ_PORT_*`/`WRITE_PORT_*` and their `_BUFFER_`
//! forms, offsets checked at compile time when the offset is a constant
//! (`read8::<0x4>()`), at run time otherwise (`try_read8(offset)`).
//!
//! # PnP drivers do not call `HalTranslateBusAddress`
//! A PnP driver gets its resources already translated from the PnP manager:
//! `IRP_MN_START_DEVICE` carries `AllocatedResourcesTranslated`, whose
//! `CmResourceTypeMemory` entries are physical addresses for `IoSpace` and
//! whose `CmResourceTypePort` entries are ports (or, with
//! `CM_RESOURCE_PORT_MEMORY`, memory to map). Microsoft documents
//! `HalTranslateBusAddress` as obsolete for them. It is still the routine for
//! legacy (non-PnP, root-enumerated, `sc create type= kernel`) drivers of
//! devices at fixed bus addresses (ISA ports, a board's fixed window), which
//! have no resource list. [`PortAddress::new`] takes a port from a translated
//! resource list.
//!
//! # What is checked, and what is not
//! Offsets and counts are checked against the range (compile time or run
//! time), with checked arithmetic. *Which* ports a driver opens is its own
//! responsibility, as which memory it maps is for `IoSpace`: the ports must
//! belong to a device this driver owns. Writing another device's ports (a
//! DMA controller, PCI configuration ports) can make hardware write memory;
//! that is outside what types can check.
//!
//! # Where it runs
//! - Windows: `HalTranslateBusAddress` from `HAL.dll`; on x64 the port
//!   routines are `in`/`out`/`rep ins`/`rep outs` (`FORCEINLINE` in
//!   `wdm.h`), written once in the crate's `sys` layer.
//! - Wine 8: `HalTranslateBusAddress` is a stub that returns FALSE:
//!   [`translate_bus_address`] answers [`NtStatus::UNSUCCESSFUL`], so no
//!   port range is ever obtained from it. Port instructions are not emulated
//!   by Wine's x64 `ntoskrnl` (a privileged-instruction fault in
//!   `winedevice.exe`): the sample driver never executes them.
//! - Host: the kernel model's simulated buses (`model::Kernel::add_bus_window`)
//!   and port devices (`model::Kernel::add_port_device`).
//!
//! ```
//! # let kernel = wdm_mem::model::Kernel::new();
//! # use wdm_mem::model::BusWindow;
//! # kernel.add_bus_window(BusWindow { interface: 1, bus_number: 0, space: BusSpace::Port, bus_base: 0x300, size: 0x10,
//! #     translated_space: BusSpace::Port, translated_base: 0x300 });
//! # kernel.add_port_device(0x300, 0x10).set_register(0x4, 0x5Au8);
//! use wdm_mem::bus::{translate_bus_address, BusSpace, InterfaceType, PortRange, Translated};
//! use wdm_mem::memory::PhysicalAddress;
//!
//! let Translated::Port(base) = translate_bus_address(InterfaceType::ISA, 0, BusSpace::Port, PhysicalAddress::new(0x300))?
//! else {
//!     return Err(wdm_mem::NtStatus::NOT_SUPPORTED); // a port mapped into memory: use IoSpace
//! };
//! let ports = PortRange::<0x10>::new(base, 0x10)?;
//! let status = ports.read8::<0x4>();            // offset checked at compile time
//! ports.write16::<0x8>(u16::from(status));
//! assert_eq!(ports.try_read16(0x8)?, 0x5A);     // checked at run time
//! assert!(ports.try_read32(0xE).is_err());      // past the end
//! # kernel.assert_clean();
//! # Ok::<(), wdm_mem::NtStatus>(())
//! ```
//!
//! A port past a constant-size range does not compile:
//!
//! ```compile_fail,E0080
//! # use wdm_mem::bus::{PortAddress, PortRange};
//! let ports = PortRange::<0x8>::new(PortAddress::new(0x300), 8).unwrap();
//! let value = ports.read32::<0x6>(); // would end at 0xA
//! ```

use crate::{Irql, NtResult, NtStatus, memory::PhysicalAddress, plain::within, sys};

/// A bus type (`INTERFACE_TYPE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterfaceType(i32);

impl InterfaceType {
    /// `Internal`: the system board's own bus.
    pub const INTERNAL: InterfaceType = InterfaceType(sys::_INTERFACE_TYPE::Internal);
    /// `Isa`.
    pub const ISA: InterfaceType = InterfaceType(sys::_INTERFACE_TYPE::Isa);
    /// `PCIBus`.
    pub const PCI: InterfaceType = InterfaceType(sys::_INTERFACE_TYPE::PCIBus);

    /// Another `INTERFACE_TYPE` value.
    ///
    /// # IRQL
    /// Any.
    pub const fn from_raw(raw: i32) -> InterfaceType {
        InterfaceType(raw)
    }
}

/// The address space of a bus address (`AddressSpace`: 0 memory, 1 port).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BusSpace {
    /// Memory space.
    Memory,
    /// I/O port space.
    Port,
}

/// An I/O port number of the processor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortAddress(u16);

impl PortAddress {
    /// Port `port`: from a translated resource list (`CmResourceTypePort`),
    /// or from [`translate_bus_address`].
    ///
    /// # IRQL
    /// Any.
    pub const fn new(port: u16) -> PortAddress {
        PortAddress(port)
    }

    /// The port number.
    ///
    /// # IRQL
    /// Any.
    pub const fn get(self) -> u16 {
        self.0
    }
}

/// Where a bus address lands in the processor's address spaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Translated {
    /// A physical address: map it with [`IoSpace`](crate::io_space::IoSpace).
    Memory(PhysicalAddress),
    /// An I/O port: open it with [`PortRange`].
    Port(PortAddress),
}

/// `HalTranslateBusAddress`: the processor address of `address` in `space`
/// of bus `bus_number` of type `interface`.
///
/// Errors: [`NtStatus::INVALID_LEVEL`] above PASSIVE_LEVEL;
/// [`NtStatus::INVALID_PARAMETER`] for an address above
/// [`PhysicalAddress::MAX`]; [`NtStatus::UNSUCCESSFUL`] when the HAL answers
/// FALSE (no such bus or address; always under Wine 8, whose routine is a
/// stub); [`NtStatus::INVALID_PARAMETER`] too for a port translation past
/// port 0xFFFF or an `AddressSpace` the HAL answers that is neither 0 nor 1.
///
/// # IRQL
/// PASSIVE_LEVEL.
pub fn translate_bus_address(
    interface: InterfaceType,
    bus_number: u32,
    space: BusSpace,
    address: PhysicalAddress,
) -> NtResult<Translated> {
    Irql::ensure_at_most(Irql::PASSIVE)?;
    let raw = address.to_raw()?;
    let mut address_space: sys::ULONG = u32::from(space == BusSpace::Port);
    let mut translated = sys::PHYSICAL_ADDRESS { QuadPart: 0 };
    // SAFETY: PASSIVE_LEVEL; both out-pointers are valid locals for the call.
    let found =
        unsafe { sys::HalTranslateBusAddress(interface.0, bus_number, raw, &mut address_space, &mut translated) };
    if found == 0 {
        return Err(NtStatus::UNSUCCESSFUL);
    }
    let translated = PhysicalAddress::from_raw(translated);
    match address_space {
        0 => Ok(Translated::Memory(translated)),
        1 => u16::try_from(translated.get())
            .map(|port| Translated::Port(PortAddress(port)))
            .map_err(|_| NtStatus::INVALID_PARAMETER),
        _ => Err(NtStatus::INVALID_PARAMETER),
    }
}

/// `len` consecutive I/O ports from `base`. No kernel object is owned
/// (ports are not mapped), so nothing is released on drop; not `Clone`, as
/// the `IoSpace` it stands beside.
///
/// `SIZE` is the number of ports known at compile time: `read8::<OFFSET>()`
/// and the like check `OFFSET` against it when the crate is compiled;
/// `try_read8(offset)` and the like against `len`, at run time. Ports need no
/// alignment.
///
/// # Invariants
/// `len >= SIZE`, `len > 0`, and `base + len <= 0x1_0000`: every port of the
/// range is a port number.
#[derive(Debug)]
pub struct PortRange<const SIZE: usize = 0> {
    base: PortAddress,
    len: usize,
}

impl<const SIZE: usize> PortRange<SIZE> {
    /// The `len` ports from `base`.
    ///
    /// Errors: [`NtStatus::INVALID_PARAMETER`] for `len == 0`, `len < SIZE`,
    /// or a range past port 0xFFFF.
    ///
    /// # IRQL
    /// Any: no kernel call.
    pub fn new(base: PortAddress, len: usize) -> NtResult<Self> {
        if len == 0 || len < SIZE || !within(usize::from(base.0), len, 0x1_0000) {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        // INVARIANT: checked just above.
        Ok(PortRange { base, len })
    }

    /// The first port.
    ///
    /// # IRQL
    /// Any.
    pub fn base(&self) -> PortAddress {
        self.base
    }

    /// The number of ports (at least `SIZE`).
    ///
    /// # IRQL
    /// Any.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: a range has at least one port.
    ///
    /// # IRQL
    /// Any.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The "address" the port routines take for the port at `offset`
    /// (wdm.h's `PUCHAR Port`: the port number, never dereferenced).
    fn port<T>(&self, offset: usize) -> *mut T {
        core::ptr::without_provenance_mut(usize::from(self.base.0) + offset)
    }

    /// The port at `offset` for a `T` access, checked at run time.
    fn checked<T>(&self, offset: usize) -> NtResult<*mut T> {
        if !within(offset, size_of::<T>(), self.len) {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        Ok(self.port(offset))
    }

    /// As [`Self::checked`], for a buffer of `count` elements, whose count
    /// must be a `ULONG`.
    fn checked_buffer<T>(&self, offset: usize, count: usize) -> NtResult<(*mut T, u32)> {
        let count = u32::try_from(count).map_err(|_| NtStatus::INVALID_PARAMETER)?;
        Ok((self.checked::<T>(offset)?, count))
    }
}

macro_rules! ports {
    ($($t:ty: $read:ident, $try_read:ident, $write:ident, $try_write:ident,
        $read_buffer:ident, $write_buffer:ident,
        $sys_read:ident, $sys_write:ident, $sys_read_buffer:ident, $sys_write_buffer:ident;)*) => {
        impl<const SIZE: usize> PortRange<SIZE> {$(
            #[doc = concat!("Reads the `", stringify!($t), "` port at `OFFSET` (`", stringify!($sys_read), "`), checked at compile time.")]
            ///
            /// # IRQL
            /// Any.
            #[inline]
            pub fn $read<const OFFSET: usize>(&self) -> $t {
                const { assert!(within(OFFSET, size_of::<$t>(), SIZE), "port offset past the range") };
                // SAFETY: the port lies in the range (SIZE <= len,
                // invariant), which the driver owns; a port read touches no
                // memory.
                unsafe { sys::$sys_read(self.port(OFFSET)) }
            }

            #[doc = concat!("Reads the `", stringify!($t), "` port at `offset`, checked at run time.")]
            ///
            /// Errors: [`NtStatus::INVALID_PARAMETER`] past the end.
            ///
            /// # IRQL
            /// Any.
            pub fn $try_read(&self, offset: usize) -> NtResult<$t> {
                let port = self.checked::<$t>(offset)?;
                // SAFETY: as above, `checked` put it in the range.
                Ok(unsafe { sys::$sys_read(port) })
            }

            #[doc = concat!("Writes the `", stringify!($t), "` port at `OFFSET` (`", stringify!($sys_write), "`), checked at compile time.")]
            ///
            /// # IRQL
            /// Any.
            #[inline]
            pub fn $write<const OFFSET: usize>(&self, value: $t) {
                const { assert!(within(OFFSET, size_of::<$t>(), SIZE), "port offset past the range") };
                // SAFETY: as in the read.
                unsafe { sys::$sys_write(self.port(OFFSET), value) }
            }

            #[doc = concat!("Writes the `", stringify!($t), "` port at `offset`, checked at run time.")]
            ///
            /// Errors: as the read's.
            ///
            /// # IRQL
            /// Any.
            pub fn $try_write(&self, offset: usize, value: $t) -> NtResult<()> {
                let port = self.checked::<$t>(offset)?;
                // SAFETY: as in the read.
                unsafe { sys::$sys_write(port, value) };
                Ok(())
            }

            #[doc = concat!("Fills `buffer` with reads of the *same* `", stringify!($t), "` port at `offset` (`", stringify!($sys_read_buffer), "`).")]
            ///
            /// Errors: [`NtStatus::INVALID_PARAMETER`] past the end or for
            /// more than `u32::MAX` elements; nothing is read then.
            ///
            /// # IRQL
            /// Any.
            pub fn $read_buffer(&self, offset: usize, buffer: &mut [$t]) -> NtResult<()> {
                let (port, count) = self.checked_buffer::<$t>(offset, buffer.len())?;
                // SAFETY: as in the read; `buffer` holds `count` elements.
                unsafe { sys::$sys_read_buffer(port, buffer.as_mut_ptr(), count) };
                Ok(())
            }

            #[doc = concat!("Writes each of `values` to the *same* `", stringify!($t), "` port at `offset` (`", stringify!($sys_write_buffer), "`).")]
            ///
            /// Errors: as the buffer read's.
            ///
            /// # IRQL
            /// Any.
            pub fn $write_buffer(&self, offset: usize, values: &[$t]) -> NtResult<()> {
                let (port, count) = self.checked_buffer::<$t>(offset, values.len())?;
                // SAFETY: as in the read; the routine only reads `values`
                // (its pointer is `*mut` in wdm.h).
                unsafe { sys::$sys_write_buffer(port, values.as_ptr().cast_mut(), count) };
                Ok(())
            }
        )*}
    };
}

ports! {
    u8: read8, try_read8, write8, try_write8, read_buffer8, write_buffer8,
        READ_PORT_UCHAR, WRITE_PORT_UCHAR, READ_PORT_BUFFER_UCHAR, WRITE_PORT_BUFFER_UCHAR;
    u16: read16, try_read16, write16, try_write16, read_buffer16, write_buffer16,
        READ_PORT_USHORT, WRITE_PORT_USHORT, READ_PORT_BUFFER_USHORT, WRITE_PORT_BUFFER_USHORT;
    u32: read32, try_read32, write32, try_write32, read_buffer32, write_buffer32,
        READ_PORT_ULONG, WRITE_PORT_ULONG, READ_PORT_BUFFER_ULONG, WRITE_PORT_BUFFER_ULONG;
}
