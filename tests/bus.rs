//! `HalTranslateBusAddress` and port I/O against the kernel model's
//! simulated buses and port devices.

use wdm_mem::{
    Irql, NtStatus,
    bus::{BusSpace, InterfaceType, PortAddress, PortRange, Translated, translate_bus_address},
    io_space::{CacheType, IoSpace},
    memory::PhysicalAddress,
    model::{BugCheck, BusWindow, IO_PORT_UNCLAIMED, Kernel, RegisterAccess},
};

fn isa_ports(kernel: &Kernel) {
    kernel.add_bus_window(BusWindow {
        interface: 1,
        bus_number: 0,
        space: BusSpace::Port,
        bus_base: 0x300,
        size: 0x20,
        translated_space: BusSpace::Port,
        translated_base: 0x300,
    });
}

#[test]
fn port_space_translates_to_ports_and_memory_to_physical_addresses() {
    let kernel = Kernel::new();
    isa_ports(&kernel);
    kernel.add_bus_window(BusWindow {
        interface: 5,
        bus_number: 1,
        space: BusSpace::Memory,
        bus_base: 0x1000,
        size: 0x1000,
        translated_space: BusSpace::Memory,
        translated_base: 0x6_0000_0000,
    });
    // A bus whose ports the host bridge maps into memory (not x86: there
    // port space stays port space).
    kernel.add_bus_window(BusWindow {
        interface: 0,
        bus_number: 0,
        space: BusSpace::Port,
        bus_base: 0,
        size: 0x100,
        translated_space: BusSpace::Memory,
        translated_base: 0x7_0000_0000,
    });
    let at = PhysicalAddress::new;
    assert_eq!(
        translate_bus_address(InterfaceType::ISA, 0, BusSpace::Port, at(0x310)),
        Ok(Translated::Port(PortAddress::new(0x310)))
    );
    assert_eq!(
        translate_bus_address(InterfaceType::PCI, 1, BusSpace::Memory, at(0x1010)),
        Ok(Translated::Memory(at(0x6_0000_0010)))
    );
    assert_eq!(
        translate_bus_address(InterfaceType::INTERNAL, 0, BusSpace::Port, at(0x80)),
        Ok(Translated::Memory(at(0x7_0000_0080)))
    );
    kernel.assert_clean();
}

#[test]
fn an_untranslatable_address_is_unsuccessful() {
    let kernel = Kernel::new();
    isa_ports(&kernel);
    let at = PhysicalAddress::new;
    for (interface, bus, space, address) in [
        (InterfaceType::ISA, 0, BusSpace::Memory, 0x300),
        (InterfaceType::ISA, 1, BusSpace::Port, 0x300),
        (InterfaceType::PCI, 0, BusSpace::Port, 0x300),
        (InterfaceType::ISA, 0, BusSpace::Port, 0x320),
    ] {
        assert_eq!(translate_bus_address(interface, bus, space, at(address)), Err(NtStatus::UNSUCCESSFUL));
    }
    assert_eq!(
        translate_bus_address(InterfaceType::ISA, 0, BusSpace::Port, at(1 << 63)),
        Err(NtStatus::INVALID_PARAMETER)
    );
    kernel.assert_clean();
}

#[test]
fn translation_is_refused_above_passive_level() {
    let kernel = Kernel::new();
    isa_ports(&kernel);
    let translated = Irql::run_raised(Irql::APC, || {
        translate_bus_address(InterfaceType::ISA, 0, BusSpace::Port, PhysicalAddress::new(0x300))
    });
    assert_eq!(translated, Ok(Err(NtStatus::INVALID_LEVEL)));
    kernel.assert_clean();
}

#[test]
fn ports_read_and_write_the_port_device() {
    let kernel = Kernel::new();
    isa_ports(&kernel);
    let device = kernel.add_port_device(0x300, 0x20);
    device.set_register(0x4, 0x1234_5678u32);
    let Ok(Translated::Port(base)) =
        translate_bus_address(InterfaceType::ISA, 0, BusSpace::Port, PhysicalAddress::new(0x300))
    else {
        panic!("a port");
    };
    let ports = PortRange::<0x20>::new(base, 0x20).unwrap();
    assert_eq!(ports.read32::<0x4>(), 0x1234_5678);
    assert_eq!(ports.try_read16(0x5), Ok(0x3456), "ports need no alignment");
    ports.write8::<0x1F>(0xEE);
    ports.try_write32(0x10, 0xDEAD_BEEF).unwrap();
    assert_eq!((device.register::<u8>(0x1F), device.register::<u32>(0x10)), (0xEE, 0xDEAD_BEEF));
    assert_eq!(ports.try_read8(0x20), Err(NtStatus::INVALID_PARAMETER));
    assert_eq!(ports.try_write32(0x1D, 0), Err(NtStatus::INVALID_PARAMETER));
    assert_eq!(ports.try_read32(usize::MAX), Err(NtStatus::INVALID_PARAMETER));
    kernel.assert_clean();
}

#[test]
fn buffer_forms_repeat_the_same_port() {
    let kernel = Kernel::new();
    let device = kernel.add_port_device(0x60, 0x8);
    let mut fifo = 0u64;
    device.on_access(move |access| {
        access.write.is_none().then(|| {
            fifo += 1;
            fifo
        })
    });
    let ports = PortRange::<0x8>::new(PortAddress::new(0x60), 8).unwrap();
    let mut words = [0u16; 3];
    ports.read_buffer16(0x2, &mut words).unwrap();
    assert_eq!(words, [1, 2, 3], "three reads of one port");
    ports.write_buffer32(0x4, &[7, 8]).unwrap();
    let writes: Vec<RegisterAccess> = device.accesses().into_iter().filter(|a| a.write.is_some()).collect();
    assert_eq!(writes, [7, 8].map(|v| RegisterAccess { offset: 4, width: 4, write: Some(v) }));
    assert_eq!(ports.read_buffer8(0x8, &mut [0u8; 1]), Err(NtStatus::INVALID_PARAMETER));
    kernel.assert_clean();
}

#[test]
fn ranges_past_port_0xffff_are_refused() {
    let kernel = Kernel::new();
    assert_eq!(PortRange::<0>::new(PortAddress::new(0xFFF0), 0x11).err(), Some(NtStatus::INVALID_PARAMETER));
    assert_eq!(PortRange::<0>::new(PortAddress::new(0), 0).err(), Some(NtStatus::INVALID_PARAMETER));
    assert_eq!(PortRange::<8>::new(PortAddress::new(0x300), 4).err(), Some(NtStatus::INVALID_PARAMETER));
    assert!(PortRange::<0>::new(PortAddress::new(0xFFF0), 0x10).is_ok());
    kernel.assert_clean();
}

#[test]
fn a_port_no_device_claims_is_reported() {
    let kernel = Kernel::new();
    let ports = PortRange::<0x4>::new(PortAddress::new(0x80), 4).unwrap();
    assert_eq!(ports.read8::<0x0>(), 0xFF, "all ones");
    let report = kernel.finish();
    let unclaimed = report.find(BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION, IO_PORT_UNCLAIMED).expect("reported");
    assert_eq!(unclaimed.bug_check.params[1..], [0x80, 1, 0]);
    assert_eq!(report.violations.len(), 1, "{report}");
}

#[test]
fn a_memory_translation_is_mapped_with_io_space() {
    let kernel = Kernel::new();
    kernel.add_bus_window(BusWindow {
        interface: 5,
        bus_number: 0,
        space: BusSpace::Memory,
        bus_base: 0xF000_0000,
        size: 0x100,
        translated_space: BusSpace::Memory,
        translated_base: 0x8_0000_0000,
    });
    kernel.add_device(0x8_0000_0000, 0x100).set_register(0, 0xC0FFEEu32);
    let Ok(Translated::Memory(physical)) =
        translate_bus_address(InterfaceType::PCI, 0, BusSpace::Memory, PhysicalAddress::new(0xF000_0000))
    else {
        panic!("memory");
    };
    let registers = IoSpace::<0x100>::map(physical, 0x100, CacheType::NonCached).unwrap();
    assert_eq!(registers.read32::<0x0>(), 0xC0FFEE);
    drop(registers);
    kernel.assert_clean();
}
