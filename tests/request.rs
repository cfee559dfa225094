//! Device-control requests against simulated IRPs of the kernel model.

use wdm_mem::{
    NtStatus,
    mdl::{PagePriority, ReadAccess, WriteAccess},
    model::{BugCheck, DeviceControlIrp, Fault, Kernel},
    request::{self, DeviceControl, TransferMethod},
};

/// CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, method, FILE_ANY_ACCESS).
const fn ioctl(method: u32) -> u32 {
    0x0022_2000 | method
}

#[test]
fn a_buffered_request_reads_its_input_and_replies_in_the_system_buffer() {
    let kernel = Kernel::new();
    let irp = DeviceControlIrp::buffered(ioctl(0), &41u32.to_le_bytes(), 8);
    // SAFETY: the simulated IRP is valid and completed once, below.
    let request = unsafe { DeviceControl::from_irp(irp.as_ptr()) };
    assert_eq!((request.code(), request.method(), request.lengths()), (ioctl(0), TransferMethod::Buffered, (4, 8)));
    assert_eq!(request.input::<u64>(), None, "the caller sent 4 bytes, not 8");
    let value: u32 = request.input().unwrap();
    assert_eq!(request.reply(&(u64::from(value) + 1)), (NtStatus::SUCCESS, 8));
    assert_eq!(irp.completion(), None);
    // SAFETY: not used after completion.
    assert_eq!(unsafe { request::complete(irp.as_ptr(), NtStatus::SUCCESS, 8) }, 0);
    assert_eq!(irp.completion(), Some((NtStatus::SUCCESS, 8)));
    assert_eq!(irp.output(), 42u64.to_le_bytes());
    kernel.assert_clean();
}

#[test]
fn a_reply_larger_than_the_output_buffer_is_buffer_too_small() {
    let kernel = Kernel::new();
    let irp = DeviceControlIrp::buffered(ioctl(0), &[], 4);
    // SAFETY: the simulated IRP is valid; never completed (nothing checks).
    let request = unsafe { DeviceControl::from_irp(irp.as_ptr()) };
    assert_eq!(request.input::<u32>(), None);
    assert_eq!(request.reply(&0u64), (NtStatus::BUFFER_TOO_SMALL, 0));
    assert_eq!(request.reply(&7u32), (NtStatus::SUCCESS, 4));
    kernel.assert_clean();
}

#[test]
fn each_method_reaches_only_its_own_buffers() {
    let kernel = Kernel::new();
    let neither = DeviceControlIrp::buffered(ioctl(3), &[1, 2], 0);
    // SAFETY: a valid simulated IRP.
    let request = unsafe { DeviceControl::from_irp(neither.as_ptr()) };
    assert_eq!(request.method(), TransferMethod::Neither);
    assert_eq!(request.system_buffer(), None, "METHOD_NEITHER has no system buffer");
    assert_eq!(request.input::<u16>(), None);
    assert_eq!(request.reply(&0u8), (NtStatus::INVALID_DEVICE_REQUEST, 0));
    let [input, output] = request.neither_buffers().unwrap();
    assert_eq!((input.len(), output.len(), output.is_empty()), (2, 0, true));
    // SAFETY: alone on its stack.
    assert_eq!(unsafe { request.direct_mdl::<WriteAccess>() }.map(drop), Err(NtStatus::INVALID_DEVICE_REQUEST));

    let out_direct = DeviceControlIrp::buffered(ioctl(2), &5u16.to_le_bytes(), 0);
    // SAFETY: a valid simulated IRP.
    let request = unsafe { DeviceControl::from_irp(out_direct.as_ptr()) };
    assert_eq!(request.input::<u16>(), Some(5), "the direct methods buffer the input");
    assert_eq!(request.neither_buffers(), Err(NtStatus::INVALID_DEVICE_REQUEST));
    assert_eq!(request.reply(&0u8), (NtStatus::INVALID_DEVICE_REQUEST, 0), "no output in the system buffer");
    assert_eq!(
        // SAFETY: alone on its stack.
        unsafe { request.direct_mdl::<WriteAccess>() }.map(drop),
        Err(NtStatus::INVALID_PARAMETER),
        "no MDL: no output buffer"
    );
    kernel.assert_clean();
}

#[test]
fn a_direct_request_locks_the_callers_buffer_for_the_driver_until_it_ends() {
    let kernel = Kernel::new();
    let process = kernel.create_process();
    let buffer = process.user_buffer(&kernel, 5000);
    let irp = process.run(|| DeviceControlIrp::direct(ioctl(2), &7u16.to_le_bytes(), buffer.address, 5000)).unwrap();
    // SAFETY: a valid simulated IRP, completed once below.
    let request = unsafe { DeviceControl::from_irp(irp.as_ptr()) };
    assert_eq!(
        (request.method(), request.lengths(), request.input::<u16>()),
        (TransferMethod::OutDirect, (2, 5000), Some(7))
    );
    assert_eq!(request.reply(&0u8), (NtStatus::INVALID_DEVICE_REQUEST, 0), "the system buffer is the input's");
    // SAFETY: alone on its stack.
    assert_eq!(unsafe { request.direct_mdl::<ReadAccess>() }.map(drop), Err(NtStatus::INVALID_DEVICE_REQUEST));
    {
        // SAFETY: alone on its stack.
        let mut mdl = unsafe { request.direct_mdl::<WriteAccess>() }.unwrap();
        assert_eq!(mdl.len(), 5000);
        mdl.map(PagePriority::Normal).unwrap().write_bytes(4990, b"0123456789").unwrap();
    }
    // SAFETY: not used after completion.
    unsafe { request::complete(irp.as_ptr(), NtStatus::SUCCESS, 5000) };
    drop(irp); // the I/O manager unlocks and frees its MDL
    assert_eq!(kernel.read_user(buffer.at(4990), 10), b"0123456789");
    kernel.assert_clean();
}

#[test]
fn a_direct_request_the_io_manager_cannot_lock_never_reaches_the_driver() {
    let kernel = Kernel::new();
    let read_only = kernel.read_only_user_buffer(100);
    let out_direct = |address, len| DeviceControlIrp::direct(ioctl(2), &[], address, len).map(drop);
    assert_eq!(out_direct(read_only.address, 100), Err(NtStatus::ACCESS_VIOLATION), "written by the driver");
    let in_direct = DeviceControlIrp::direct(ioctl(1), &[], read_only.address, 100).unwrap();
    // SAFETY: a valid simulated IRP.
    let request = unsafe { DeviceControl::from_irp(in_direct.as_ptr()) };
    // SAFETY: alone on its stack.
    assert!(unsafe { request.direct_mdl::<ReadAccess>() }.is_ok(), "read by the driver");
    drop(in_direct);
    assert_eq!(out_direct(0x7000_0000_0000, 16), Err(NtStatus::ACCESS_VIOLATION), "unmapped");
    assert_eq!(DeviceControlIrp::direct(ioctl(0), &[], 0, 0).map(drop), Err(NtStatus::INVALID_PARAMETER));
    let writable = kernel.user_buffer(16);
    kernel.inject(Fault::routine("IoAllocateMdl"));
    assert_eq!(out_direct(writable.address, 16), Err(NtStatus::INSUFFICIENT_RESOURCES));
    let empty = DeviceControlIrp::direct(ioctl(2), &[], 0, 0).unwrap();
    // SAFETY: a valid simulated IRP.
    let request = unsafe { DeviceControl::from_irp(empty.as_ptr()) };
    // SAFETY: alone on its stack.
    assert_eq!(unsafe { request.direct_mdl::<WriteAccess>() }.map(drop), Err(NtStatus::INVALID_PARAMETER), "no MDL");
    kernel.assert_clean();
}

#[test]
fn completing_a_request_twice_is_bug_check_0x44() {
    let kernel = Kernel::new();
    let irp = DeviceControlIrp::buffered(ioctl(0), &[], 0);
    // SAFETY: the test completes it twice on purpose; the model reports it.
    unsafe {
        request::complete(irp.as_ptr(), NtStatus::SUCCESS, 0);
        request::complete(irp.as_ptr(), NtStatus::SUCCESS, 0);
    }
    let report = kernel.finish();
    assert!(report.find(BugCheck::MULTIPLE_IRP_COMPLETE_REQUESTS, irp.as_ptr() as u64).is_some());
}

#[test]
fn completing_above_dispatch_level_is_a_ddi_violation() {
    let kernel = Kernel::new();
    let irp = DeviceControlIrp::buffered(ioctl(0), &[], 0);
    // SAFETY: a valid simulated IRP, completed once.
    kernel.at_irql(wdm_mem::Irql::HIGH, || unsafe { request::complete(irp.as_ptr(), NtStatus::SUCCESS, 0) });
    let report = kernel.finish();
    assert_eq!(report.violations.len(), 1);
    assert_eq!(report.violations[0].bug_check.code, BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION);
}

#[test]
fn a_static_name_becomes_a_counted_string_of_its_bytes() {
    static NAME: [u16; 18] = wdm_mem::sys::utf16(b"\\Device\\MyDriver00");
    let string = wdm_mem::driver::unicode_string(&NAME);
    assert_eq!((string.Length, string.MaximumLength), (36, 36));
    assert_eq!(string.Buffer.cast_const(), NAME.as_ptr());
}

#[test]
#[should_panic(expected = "bug check 0x44524631")]
fn a_bug_check_in_the_model_is_a_panic_naming_its_code() {
    wdm_mem::driver::bug_check(0x4452_4631);
}
