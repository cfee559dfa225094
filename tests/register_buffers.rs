//! `READ_REGISTER_BUFFER_*`/`WRITE_REGISTER_BUFFER_*` on `IoSpace` against
//! the kernel model: consecutive registers reach the device one access each,
//! compile-time and run-time checked offsets and counts, read-only mappings.

use wdm_mem::{
    NtStatus,
    io_space::{CacheType, IoSpace, PhysicalAddress},
    model::{Kernel, RegisterAccess},
    section::ReadOnly,
};

const BASE: u64 = 0x5_0000_0000;

#[test]
fn buffers_copy_consecutive_registers_one_access_each() {
    let kernel = Kernel::new();
    let device = kernel.add_device(BASE, 0x100);
    for (i, value) in [0x11u32, 0x22, 0x33, 0x44].into_iter().enumerate() {
        device.set_register(0x40 + 4 * i, value);
    }
    let registers = IoSpace::<0x100>::map(PhysicalAddress::new(BASE), 0x100, CacheType::NonCached).unwrap();
    assert_eq!(registers.read_array32::<0x40, 4>(), [0x11, 0x22, 0x33, 0x44]);
    let log = device.accesses();
    let reads: Vec<_> = (0..4).map(|i| RegisterAccess { offset: 0x40 + 4 * i, width: 4, write: None }).collect();
    assert_eq!(log, reads, "one volatile read per register, in order");
    registers.write_array16::<0x80, 3>(&[1, 2, 3]);
    assert_eq!([0x80, 0x82, 0x84].map(|at| device.register::<u16>(at)), [1, 2, 3]);
    let mut bytes = [0u8; 6];
    registers.try_read_buffer8(0x80, &mut bytes).unwrap();
    assert_eq!(bytes, [1, 0, 2, 0, 3, 0]);
    registers.try_write_buffer64(0xF0, &[u64::MAX, 7]).unwrap();
    assert_eq!(device.register::<u64>(0xF8), 7);
    let mut none: [u32; 0] = [];
    registers.try_read_buffer32(0x100, &mut none).unwrap();
    drop(registers);
    kernel.assert_clean();
}

#[test]
fn run_time_counts_and_offsets_are_checked_before_any_access() {
    let kernel = Kernel::new();
    let device = kernel.add_device(BASE, 0x100);
    let registers = IoSpace::<0>::map(PhysicalAddress::new(BASE), 0x100, CacheType::NonCached).unwrap();
    let mut words = [0u32; 4];
    assert_eq!(registers.try_read_buffer32(0xF4, &mut words), Err(NtStatus::INVALID_PARAMETER), "ends at 0x104");
    assert_eq!(registers.try_read_buffer32(0x2, &mut words), Err(NtStatus::DATATYPE_MISALIGNMENT_ERROR));
    assert_eq!(registers.try_write_buffer32(usize::MAX - 3, &words), Err(NtStatus::INVALID_PARAMETER));
    assert_eq!(registers.try_write_buffer16(0x1, &[1]), Err(NtStatus::DATATYPE_MISALIGNMENT_ERROR));
    assert!(device.accesses().is_empty(), "nothing reached the device");
    drop(registers);
    kernel.assert_clean();
}

#[test]
fn a_read_only_mapping_reads_blocks() {
    let kernel = Kernel::new();
    kernel.add_device(BASE, 0x100).set_register(0x8, 0xAB_CDu16);
    let registers = IoSpace::<0x10, ReadOnly>::map(PhysicalAddress::new(BASE), 0x10, CacheType::NonCached).unwrap();
    assert_eq!(registers.read_array16::<0x8, 2>(), [0xABCD, 0]);
    drop(registers);
    kernel.assert_clean();
}
