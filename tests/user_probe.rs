//! Issue 13 item 2: METHOD_NEITHER pointers become probed user slices in one
//! safe step (`UserSlice::from_pointer`), whose copies are ProbeForRead /
//! ProbeForWrite and the copy under one SEH frame; `MmSecureVirtualMemory`
//! as a guard (`SecuredUserSlice`) tied to its process, with the
//! verifier's reports for handles leaked or released in the wrong process.

use wdm_mem::{
    Irql, NtStatus,
    model::{
        BugCheck, DeviceControlIrp, Kernel, SECURE_BAD_HANDLE, SECURE_LEAKED, SECURE_WRONG_PROCESS, UserProtection,
    },
    request::DeviceControl,
    sys,
    user::{SecureAccess, UserSlice},
};

const C4: u32 = BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION;
/// A METHOD_NEITHER IOCTL code.
const NEITHER: u32 = 0x0022_2003;

#[test]
fn a_neither_request_is_read_and_answered_through_probed_slices() {
    let kernel = Kernel::new();
    let app = kernel.create_process();
    let (input, output) = (app.user_buffer(&kernel, 16), app.user_buffer(&kernel, 16));
    app.write(input.address, &21u64.to_le_bytes()).unwrap();
    let irp = DeviceControlIrp::neither(NEITHER, input.address, 8, output.address, 8);
    app.run(|| {
        // SAFETY: the model's IRP, not completed.
        let request = unsafe { DeviceControl::from_irp(irp.as_ptr()) };
        let [input, output] = request.neither_buffers().unwrap();
        let input = UserSlice::from_pointer(input, 8).unwrap();
        let output = UserSlice::from_pointer(output, 8).unwrap();
        let value: u64 = input.read(0).unwrap();
        output.write(0, &(value * 2)).unwrap();
    });
    assert_eq!(app.read(output.address, 8).unwrap(), 42u64.to_le_bytes());
    drop(irp);
    kernel.assert_clean();
}

#[test]
fn bad_neither_pointers_are_error_statuses() {
    let kernel = Kernel::new();
    let app = kernel.create_process();
    let cases = [
        (0xFFFF_8000_0000_1000, 8, Err(NtStatus::ACCESS_VIOLATION)), // a kernel address
        (0, 8, Err(NtStatus::ACCESS_VIOLATION)),                     // NULL
        (0x10_0004, 8, Err(NtStatus::DATATYPE_MISALIGNMENT_ERROR)),  // misaligned for a u64
        (usize::MAX - 7, 16, Err(NtStatus::ACCESS_VIOLATION)),       // wraps
        (0x10_0000, 8, Ok(())),                                      // user range, nothing mapped
    ];
    for (address, len, made) in cases {
        let irp = DeviceControlIrp::neither(NEITHER, address, len, 0, 0);
        app.run(|| {
            // SAFETY: the model's IRP, not completed.
            let request = unsafe { DeviceControl::from_irp(irp.as_ptr()) };
            let [input, _] = request.neither_buffers().unwrap();
            let slice = UserSlice::from_pointer(input, 8);
            assert_eq!(slice.as_ref().map(drop).map_err(|&e| e), made, "{address:#x}");
            if let Ok(slice) = slice {
                // The probe and the copy: an exception's status, no fault.
                assert_eq!(slice.read::<u64>(0), Err(NtStatus::ACCESS_VIOLATION), "{address:#x}");
            }
        });
    }
    kernel.assert_clean();
}

#[test]
fn copies_end_at_the_probe_address_as_probe_for_read_does() {
    let kernel = Kernel::new();
    let app = kernel.create_process();
    let buffer = app.user_buffer(&kernel, 4096);
    let slice = app.run(|| UserSlice::new(buffer.address, 4096, 1).unwrap());
    // MmUserProbeAddress lowered below the slice (a 3 GB layout): the
    // probe inside the copy refuses what the slice's check accepted then.
    kernel.set_user_probe_address(buffer.address + 16);
    app.run(|| {
        assert_eq!(slice.read::<u64>(0), Ok(0), "below the probe address");
        assert_eq!(slice.read::<u64>(16), Err(NtStatus::ACCESS_VIOLATION), "past it");
        assert_eq!(slice.write(12, &1u64), Err(NtStatus::ACCESS_VIOLATION), "across it");
    });
    drop(slice);
    kernel.assert_clean();
}

#[test]
fn a_secured_range_is_copied_through_and_released_in_its_process() {
    let kernel = Kernel::new();
    let app = kernel.create_process();
    let buffer = app.user_buffer(&kernel, 64);
    app.run(|| {
        let secured = UserSlice::new(buffer.address, 64, 8).unwrap().secure(SecureAccess::ReadWrite).unwrap();
        secured.write(0, &5u64).unwrap();
        assert_eq!(secured.read::<u64>(0), Ok(5));
        let slice = secured.release().map_err(|(_, status)| status).unwrap();
        assert_eq!(slice.len(), 64);
        // Dropping the guard releases too.
        drop(slice.secure(SecureAccess::ReadOnly).unwrap());
    });
    kernel.assert_clean();
}

#[test]
fn secure_errors_are_statuses() {
    let kernel = Kernel::new();
    let (app, other) = (kernel.create_process(), kernel.create_process());
    let buffer = app.user_buffer(&kernel, 64);
    let read_only = app.user_buffer(&kernel, 64);
    kernel.protect_user_buffer(read_only, UserProtection::ReadOnly);
    let slice = |range: wdm_mem::model::UserRange, len| UserSlice::new(range.address, len, 1).unwrap();
    app.run(|| {
        let secure = |s: UserSlice, access| s.secure(access).map(drop);
        assert_eq!(secure(slice(buffer, 0), SecureAccess::ReadOnly), Err(NtStatus::INVALID_PARAMETER), "empty");
        assert_eq!(secure(slice(read_only, 64), SecureAccess::ReadWrite), Err(NtStatus::ACCESS_VIOLATION));
        assert_eq!(secure(slice(read_only, 64), SecureAccess::ReadOnly), Ok(()));
        let unmapped = UserSlice::new(0x10_0000, 64, 1).unwrap();
        assert_eq!(secure(unmapped, SecureAccess::ReadOnly), Err(NtStatus::ACCESS_VIOLATION), "not mapped");
        let whole = slice(buffer, 64);
        let raised = Irql::run_raised(Irql::DISPATCH, || secure(whole, SecureAccess::ReadOnly));
        assert_eq!(raised, Ok(Err(NtStatus::INVALID_LEVEL)));
    });
    let made_in_app = app.run(|| slice(buffer, 64));
    assert_eq!(other.run(|| made_in_app.secure(SecureAccess::ReadOnly).map(drop)), Err(NtStatus::ACCESS_VIOLATION));
    kernel.assert_clean();
}

#[test]
fn wine_and_old_kernels_answer_documented_statuses() {
    let kernel = Kernel::new();
    let buffer = kernel.user_buffer(64);
    kernel.act_as_wine();
    let secure = || UserSlice::new(buffer.address, 64, 1).unwrap().secure(SecureAccess::ReadOnly).map(drop);
    assert_eq!(secure(), Err(NtStatus::NOT_SUPPORTED), "Wine's stubs secure nothing");
    kernel.assert_clean();
    let kernel = Kernel::new();
    let buffer = kernel.user_buffer(64);
    kernel.remove_export("MmSecureVirtualMemory");
    let secure = || UserSlice::new(buffer.address, 64, 1).unwrap().secure(SecureAccess::ReadOnly).map(drop);
    assert_eq!(secure(), Err(NtStatus::PROCEDURE_NOT_FOUND));
    kernel.assert_clean();
}

#[test]
fn a_guard_released_elsewhere_is_given_back_and_a_dropped_one_is_left_to_the_exit() {
    let kernel = Kernel::new();
    let (app, other) = (kernel.create_process(), kernel.create_process());
    let buffer = app.user_buffer(&kernel, 64);
    let secured = app.run(|| UserSlice::new(buffer.address, 64, 1).unwrap().secure(SecureAccess::ReadOnly).unwrap());
    let (secured, status) = other.run(|| secured.release()).unwrap_err();
    assert_eq!(status, NtStatus::ACCESS_VIOLATION);
    let (secured, status) = app.run(|| Irql::run_raised(Irql::DISPATCH, || secured.release())).unwrap().unwrap_err();
    assert_eq!(status, NtStatus::INVALID_LEVEL);
    other.run(|| drop(secured)); // not released: the handle waits for the exit
    app.exit();
    let report = kernel.finish();
    let leaked = report.find(C4, SECURE_LEAKED).expect("the handle left at the exit is reported");
    assert_eq!(leaked.bug_check.params[2..], [app.id(), 64]);
    assert_eq!(report.violations.len(), 1, "{report}");
}

#[test]
fn a_guard_never_released_is_reported_at_unload() {
    let kernel = Kernel::new();
    let buffer = kernel.user_buffer(64);
    std::mem::forget(UserSlice::new(buffer.address, 64, 1).unwrap().secure(SecureAccess::ReadOnly).unwrap());
    let report = kernel.finish();
    assert!(report.find(C4, SECURE_LEAKED).is_some(), "{report}");
}

/// The raw routines, as a driver without the guard would call them.
fn raw() -> (sys::PFN_MM_SECURE_VIRTUAL_MEMORY, sys::PFN_MM_UNSECURE_VIRTUAL_MEMORY) {
    let secure = sys::MM_SECURE_VIRTUAL_MEMORY.address(true).unwrap();
    let unsecure = sys::MM_UNSECURE_VIRTUAL_MEMORY.address(true).unwrap();
    // SAFETY: the model exports these names with these types.
    unsafe {
        (
            std::mem::transmute::<usize, sys::PFN_MM_SECURE_VIRTUAL_MEMORY>(secure),
            std::mem::transmute::<usize, sys::PFN_MM_UNSECURE_VIRTUAL_MEMORY>(unsecure),
        )
    }
}

#[test]
fn the_model_reports_a_release_in_the_wrong_process_and_a_bad_handle() {
    let kernel = Kernel::new();
    let (app, other) = (kernel.create_process(), kernel.create_process());
    let buffer = app.user_buffer(&kernel, 64);
    let (secure, unsecure) = raw();
    // SAFETY: the model's routines, with a user range of the process.
    let handle = app.run(|| unsafe { secure(buffer.address as _, 64, sys::PAGE_READWRITE) });
    assert!(!handle.is_null());
    // SAFETY: as above; the model checks the process.
    other.run(|| unsafe { unsecure(handle) });
    // SAFETY: as above.
    app.run(|| unsafe { unsecure(handle) });
    // SAFETY: released already: the model reports it.
    app.run(|| unsafe { unsecure(handle) });
    let report = kernel.finish();
    let wrong = report.find(C4, SECURE_WRONG_PROCESS).expect("reported");
    assert_eq!(wrong.bug_check.params[1..], [handle as u64, app.id(), other.id()]);
    assert!(report.find(C4, SECURE_BAD_HANDLE).is_some(), "{report}");
    assert_eq!(report.violations.len(), 2, "{report}");
}
