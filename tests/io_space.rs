//! I/O space against the kernel model's simulated devices: register reads
//! and writes of every width reach the device (each one, in order), scripted
//! reads, compile-time and run-time offset checks, `MmMapIoSpaceEx` and its
//! fallback, bad input, IRQL, faults, and the verifier's reports.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    thread,
};

use wdm_mem::{
    Irql, NtStatus,
    io_space::{CacheType, IoSpace, PhysicalAddress},
    model::{
        BugCheck, Device, Fault, IO_SPACE_BAD_UNMAP, IO_SPACE_LEAKED, IO_SPACE_MISALIGNED, Kernel, RegisterAccess,
    },
    section::ReadOnly,
    sys,
};

const C4: u32 = BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION;
const BASE: u64 = 0x4_0000_0000;

fn read(offset: usize, width: usize) -> RegisterAccess {
    RegisterAccess { offset, width, write: None }
}

fn write(offset: usize, width: usize, value: u64) -> RegisterAccess {
    RegisterAccess { offset, width, write: Some(value) }
}

fn device(kernel: &Kernel) -> Device {
    kernel.add_device(BASE, 0x100)
}

#[test]
fn constant_offsets_read_and_write_the_device_registers() {
    let kernel = Kernel::new();
    let device = device(&kernel);
    device.set_register(0x10, 0x1234_5678u32);
    let registers = IoSpace::<0x100>::map(PhysicalAddress::new(BASE), 0x100, CacheType::NonCached).unwrap();
    assert_eq!((registers.len(), registers.physical_address()), (0x100, PhysicalAddress::new(BASE)));
    assert_eq!(registers.read32::<0x10>(), 0x1234_5678);
    assert_eq!(registers.read32::<0x10>(), 0x1234_5678);
    registers.write8::<0x0>(0xAB);
    registers.write16::<0x2>(0xBEEF);
    registers.write64::<0xF8>(u64::MAX - 1);
    assert_eq!((registers.read8::<0x0>(), registers.read16::<0x2>()), (0xAB, 0xBEEF));
    assert_eq!(device.register::<u64>(0xF8), u64::MAX - 1);
    assert_eq!(device.register::<u32>(0), 0xBEEF_00AB, "little-endian registers");
    let log = device.accesses();
    assert_eq!(log[..3], [read(0x10, 4), read(0x10, 4), write(0, 1, 0xAB)], "every volatile access, in order");
    assert_eq!(log.len(), 7);
    drop(registers);
    kernel.assert_clean();
}

#[test]
fn a_hook_scripts_what_the_device_answers() {
    let kernel = Kernel::new();
    let device = device(&kernel);
    let polls = Arc::new(AtomicU32::new(0));
    let hook_polls = polls.clone();
    let hook_device = device.clone();
    device.on_access(move |access| match (access.offset, access.write) {
        // A status register that becomes ready on the third poll.
        (0x04, None) => Some(u64::from(hook_polls.fetch_add(1, Ordering::SeqCst) >= 2)),
        // Write-one-to-clear interrupt bits; the hook may use the device.
        (0x08, Some(bits)) => Some(u64::from(hook_device.register::<u32>(0x08)) & !bits),
        _ => None,
    });
    device.set_register(0x08, 0b1011u32);
    let registers = IoSpace::<0x10>::map(PhysicalAddress::new(BASE), 0x10, CacheType::NonCached).unwrap();
    let mut tries = 0;
    while registers.read32::<0x4>() == 0 {
        tries += 1;
    }
    assert_eq!(tries, 2);
    registers.write32::<0x8>(0b0010);
    assert_eq!(registers.read32::<0x8>(), 0b1001);
    assert_eq!(polls.load(Ordering::SeqCst), 3);
    drop(registers);
    kernel.assert_clean();
}

#[test]
fn run_time_offsets_are_checked() {
    let kernel = Kernel::new();
    let device = device(&kernel);
    device.set_register(0x20, 7u64);
    let registers = IoSpace::<0>::map(PhysicalAddress::new(BASE + 0x20), 0x20, CacheType::NonCached).unwrap();
    assert_eq!(registers.try_read64(0), Ok(7), "offsets count from the mapping's start");
    assert_eq!(registers.try_read32(0x1C), Ok(0));
    assert_eq!(registers.try_read32(0x1E), Err(NtStatus::INVALID_PARAMETER), "past the end");
    assert_eq!(registers.try_read32(0x20), Err(NtStatus::INVALID_PARAMETER));
    assert_eq!(registers.try_read64(usize::MAX - 3), Err(NtStatus::INVALID_PARAMETER), "overflow");
    assert_eq!(registers.try_read16(0x3), Err(NtStatus::DATATYPE_MISALIGNMENT_ERROR));
    assert_eq!(registers.try_write32(0x2, 1), Err(NtStatus::DATATYPE_MISALIGNMENT_ERROR));
    assert!(registers.try_read64(0x4).unwrap_err().is_error(), "an error, not a warning (partial success)");
    assert_eq!(registers.try_write8(0x1F, 9), Ok(()));
    assert_eq!(registers.try_read8(0x1F), Ok(9));
    assert_eq!(device.accesses().len(), 4, "refused accesses never reach the device");
    drop(registers);
    kernel.assert_clean();
}

#[test]
fn mapping_bad_ranges_is_an_error_status() {
    let kernel = Kernel::new();
    device(&kernel);
    let at = PhysicalAddress::new(BASE);
    let cases: [(&str, NtStatus, Result<IoSpace<0x10>, NtStatus>); 6] = [
        ("size 0", NtStatus::INVALID_PARAMETER, IoSpace::map(at, 0, CacheType::NonCached)),
        ("smaller than SIZE", NtStatus::INVALID_PARAMETER, IoSpace::map(at, 8, CacheType::NonCached)),
        (
            "overflow",
            NtStatus::INVALID_PARAMETER,
            IoSpace::map(PhysicalAddress::new(u64::MAX - 4), 0x10, CacheType::Cached),
        ),
        (
            "no device there",
            NtStatus::INSUFFICIENT_RESOURCES,
            IoSpace::map(PhysicalAddress::new(BASE + 0x1000), 0x10, CacheType::NonCached),
        ),
        (
            "past the device",
            NtStatus::INSUFFICIENT_RESOURCES,
            IoSpace::map(PhysicalAddress::new(BASE + 0xF8), 0x10, CacheType::NonCached),
        ),
        (
            "cache type MmMapIoSpaceEx cannot express",
            NtStatus::INVALID_PARAMETER,
            IoSpace::map(at, 0x10, CacheType::UswcCached),
        ),
    ];
    for (what, status, result) in cases {
        assert_eq!(result.map(drop), Err(status), "{what}");
    }
    assert_eq!(
        kernel.at_irql(Irql::HIGH, || IoSpace::<0>::map(at, 4, CacheType::NonCached).map(drop)),
        Err(NtStatus::INVALID_LEVEL)
    );
    kernel.inject(Fault::routine("MmMapIoSpaceEx").times(1));
    assert_eq!(IoSpace::<0>::map(at, 4, CacheType::NonCached).map(drop), Err(NtStatus::INSUFFICIENT_RESOURCES));
    kernel.assert_clean();
}

#[test]
fn mm_map_io_space_ex_is_used_when_the_kernel_has_it() {
    let kernel = Kernel::new();
    let device = device(&kernel);
    device.set_register(0, 5u32);
    let read_only = IoSpace::<4, ReadOnly>::map(PhysicalAddress::new(BASE), 4, CacheType::NonCached).unwrap();
    assert_eq!(read_only.read32::<0>(), 5);
    drop(read_only);
    kernel.remove_export("MmMapIoSpaceEx");
    kernel.at_irql(Irql::DISPATCH, || {
        let registers = IoSpace::<4>::map(PhysicalAddress::new(BASE), 4, CacheType::WriteCombined).unwrap();
        registers.write32::<0>(6);
    });
    let routines: Vec<_> = kernel.call_log().into_iter().map(|call| call.routine).collect();
    assert_eq!(routines, ["MmMapIoSpaceEx", "MmMapIoSpace"], "Windows 10, then an older kernel (or Wine)");
    assert_eq!(device.register::<u32>(0), 6);
    kernel.assert_clean();
}

#[test]
fn a_mapping_is_shared_between_threads() {
    let kernel = Kernel::new();
    let device = device(&kernel);
    let registers = IoSpace::<0x100>::map(PhysicalAddress::new(BASE), 0x100, CacheType::NonCached).unwrap();
    thread::scope(|scope| {
        for thread in 0..4u32 {
            let (handle, registers) = (kernel.handle(), &registers);
            scope.spawn(move || {
                let _entered = handle.enter();
                registers.try_write32(thread as usize * 4, thread + 1).unwrap();
            });
        }
    });
    assert_eq!((0..4).map(|i| device.register::<u32>(i * 4)).collect::<Vec<_>>(), [1, 2, 3, 4]);
    drop(registers);
    kernel.assert_clean();
}

#[test]
fn a_mapping_dropped_above_dispatch_level_is_leaked_and_reported() {
    let kernel = Kernel::new();
    device(&kernel);
    let registers = IoSpace::<0x40>::map(PhysicalAddress::new(BASE), 0x40, CacheType::NonCached).unwrap();
    kernel.at_irql(Irql::HIGH, || drop(registers));
    let report = kernel.finish();
    let leak = report.find(C4, IO_SPACE_LEAKED).expect("the mapping at unload");
    assert_eq!(leak.bug_check.params[2..], [0x40, BASE]);
    assert_eq!(report.violations.len(), 1, "{report}");
}

#[test]
fn unmapping_with_the_wrong_size_or_address_is_reported() {
    let kernel = Kernel::new();
    device(&kernel);
    let physical = PhysicalAddress::new(BASE).to_raw().unwrap();
    // SAFETY: misuse on purpose: the model reports it.
    unsafe {
        let mapping = sys::MmMapIoSpace(physical, 0x20, sys::_MEMORY_CACHING_TYPE::MmNonCached);
        assert!(!mapping.is_null());
        sys::MmUnmapIoSpace(mapping, 0x10);
        sys::MmUnmapIoSpace(0x1000 as _, 0x10);
    }
    let report = kernel.finish();
    let [wrong_size, unknown] = [0, 1].map(|i| report.violations[i].bug_check);
    assert!(wrong_size.is(C4, IO_SPACE_BAD_UNMAP) && wrong_size.params[2..] == [0x10, 0x20], "{report}");
    assert!(unknown.is(C4, IO_SPACE_BAD_UNMAP) && unknown.params[1..] == [0x1000, 0x10, 0], "{report}");
    assert_eq!(report.violations.len(), 2, "{report}");
}

#[test]
fn stray_register_accesses_fault() {
    let kernel = Kernel::new();
    let device = device(&kernel);
    let physical = PhysicalAddress::new(BASE).to_raw().unwrap();
    // SAFETY: a mapping of the test's device.
    let read_only = unsafe { sys::map_io_space(physical, 0x10, sys::PAGE_READONLY | sys::PAGE_NOCACHE) };
    // SAFETY: misuse on purpose: the model reports it.
    unsafe {
        sys::WRITE_REGISTER_ULONG(read_only.cast(), 1);
        assert_eq!(sys::READ_REGISTER_USHORT(0x2000 as _), u16::MAX, "all ones, like a master abort");
        let at_high =
            kernel.at_irql(Irql::HIGH, || sys::MmMapIoSpace(physical, 0x10, sys::_MEMORY_CACHING_TYPE::MmNonCached));
        assert!(at_high.is_null());
        sys::MmUnmapIoSpace(read_only, 0x10);
    }
    assert_eq!(device.register::<u32>(0), 0, "the read-only write did not land");
    let report = kernel.finish();
    let written = report.find(BugCheck::ATTEMPTED_WRITE_TO_READONLY_MEMORY, read_only as u64).expect("0xBE");
    assert_eq!(written.bug_check.params[1], 1, "a write");
    let codes: Vec<u32> = report.violations.iter().map(|v| v.bug_check.code).collect();
    assert_eq!(codes, [BugCheck::ATTEMPTED_WRITE_TO_READONLY_MEMORY, BugCheck::PAGE_FAULT_IN_NONPAGED_AREA, C4]);
    assert!(report.find(BugCheck::PAGE_FAULT_IN_NONPAGED_AREA, 0x2000).is_some());
    assert!(report.find(C4, 0x73).is_some(), "MmMapIoSpace above DISPATCH_LEVEL");
}

#[test]
fn a_base_that_is_not_8_aligned_is_refused() {
    // MmMapIoSpace returns the address of the very byte: from BASE + 4, the
    // "aligned" offset 0 of a u64 would be an address that is 4 mod 8.
    let kernel = Kernel::new();
    let device = device(&kernel);
    for base in [BASE + 4, BASE + 2, BASE + 1, BASE + 0x13] {
        let mapped = IoSpace::<0x10>::map(PhysicalAddress::new(base), 0x10, CacheType::NonCached);
        let status = mapped.map(drop).unwrap_err();
        assert_eq!(status, NtStatus::DATATYPE_MISALIGNMENT_ERROR, "{base:#x}");
        assert!(status.is_error());
    }
    let aligned = IoSpace::<0x10>::map(PhysicalAddress::new(BASE + 8), 0x10, CacheType::NonCached).unwrap();
    assert_eq!(aligned.try_read64(0), Ok(0));
    assert_eq!(device.accesses(), [read(8, 8)], "the aligned base maps, and offsets count from it");
    drop(aligned);
    kernel.assert_clean();
}

#[test]
fn the_model_keeps_the_page_offset_and_reports_misaligned_accesses() {
    let kernel = Kernel::new();
    let device = device(&kernel);
    device.set_register(0x8, 0x0102_0304_0506_0708u64);
    let physical = PhysicalAddress::new(BASE + 4).to_raw().unwrap();
    // SAFETY: a mapping of the test's device, misused on purpose below.
    let mapping = unsafe { sys::MmMapIoSpace(physical, 0x20, sys::_MEMORY_CACHING_TYPE::MmNonCached) };
    assert_eq!(mapping as usize % 4096, 4, "the virtual address of the very byte at BASE + 4");
    // SAFETY: inside the mapping; the 8-byte read at offset 4 is BASE + 8,
    // aligned; the one at offset 0 is misaligned on purpose.
    unsafe {
        assert_eq!(sys::READ_REGISTER_ULONG64(mapping.cast::<u8>().add(4).cast()), 0x0102_0304_0506_0708);
        assert_eq!(sys::READ_REGISTER_ULONG64(mapping.cast()), u64::MAX, "refused");
        sys::MmUnmapIoSpace(mapping, 0x20);
    }
    assert_eq!(device.accesses(), [read(8, 8)], "the misaligned read never reached the device");
    let report = kernel.finish();
    let misaligned = report.find(C4, IO_SPACE_MISALIGNED).expect("the misaligned read");
    assert_eq!(misaligned.bug_check.params[1..], [mapping as u64, 8, 0]);
    assert_eq!(report.violations.len(), 1, "{report}");
}

#[test]
fn addresses_a_physical_address_cannot_name_are_refused() {
    let kernel = Kernel::new();
    let top = kernel.add_device(PhysicalAddress::MAX.get() + 1 - 0x100, 0x100);
    let cases: [(u64, usize); 4] =
        [(1 << 63, 8), (u64::MAX - 7, 8), (PhysicalAddress::MAX.get() - 7, 16), (0, usize::MAX)];
    for (address, len) in cases {
        let mapped = IoSpace::<0>::map(PhysicalAddress::new(address), len, CacheType::NonCached);
        assert_eq!(mapped.map(drop), Err(NtStatus::INVALID_PARAMETER), "{address:#x} + {len:#x}");
    }
    assert_eq!(PhysicalAddress::new(1 << 63).to_raw().map(|_| ()), Err(NtStatus::INVALID_PARAMETER), "not clamped");
    let last = IoSpace::<0>::map(PhysicalAddress::new(top.physical_base() + 0xF8), 8, CacheType::NonCached).unwrap();
    last.try_write64(0, 7).unwrap();
    assert_eq!(top.register::<u64>(0xF8), 7, "the last 8 bytes a PHYSICAL_ADDRESS names map");
    drop(last);
    kernel.assert_clean();
}

#[test]
fn usize_max_offsets_and_lengths_are_clean_errors() {
    let kernel = Kernel::new();
    device(&kernel);
    let registers = IoSpace::<0>::map(PhysicalAddress::new(BASE), 0x100, CacheType::NonCached).unwrap();
    for offset in [usize::MAX, usize::MAX - 7, usize::MAX - 1, 0x100, 0xFC + 8] {
        assert_eq!(registers.try_read64(offset), Err(NtStatus::INVALID_PARAMETER), "{offset:#x}");
        assert_eq!(registers.try_write8(offset.max(0x100), 1), Err(NtStatus::INVALID_PARAMETER), "{offset:#x}");
    }
    drop(registers);
    let huge = IoSpace::<0>::map(PhysicalAddress::new(BASE), usize::MAX, CacheType::NonCached);
    assert_eq!(huge.map(drop), Err(NtStatus::INVALID_PARAMETER));
    kernel.assert_clean();
}
