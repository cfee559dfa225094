//! The kernel contracts of issue 9 for MDLs, against the kernel model: the
//! I/O manager's MDL is never mapped read-only (a later writer would fault,
//! 0xBE), `new_in_irp` never overwrites `Irp->MdlAddress`,
//! `MmBuildMdlForNonPagedPool` is not for stacks, `MmUserProbeAddress` is
//! the kernel's variable, and usize::MAX-class ranges are clean errors.

use std::ptr::{NonNull, null_mut};

use wdm_mem::{
    Irql, NtStatus,
    address::{is_address_valid, physical_address},
    mdl::{IrpMdl, Mdl, PagePriority, ReadAccess, WriteAccess, with_user_buffer},
    model::{BugCheck, Kernel, UserRange},
    sys,
};

const C4: u32 = BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION;

/// The I/O manager's part of a direct request: an MDL for the caller's
/// buffer, probed and locked for writing, as `Irp->MdlAddress`.
fn io_manager_builds(irp: &mut sys::IRP, user: UserRange) {
    // SAFETY: a valid user range and IRP; the test plays the I/O manager.
    unsafe {
        let mdl = sys::IoAllocateMdl(user.address as _, user.len as u32, 0, 0, irp);
        let status = sys::probe_and_lock_pages(mdl, sys::_MODE::UserMode as i8, sys::_LOCK_OPERATION::IoWriteAccess);
        assert_eq!(NtStatus::from_raw(status), NtStatus::SUCCESS);
    }
}

/// ... and its completion: unlock (which releases the cached mapping) and
/// free.
fn io_manager_completes(irp: &mut sys::IRP) {
    // SAFETY: the MDL the test's I/O manager built.
    unsafe {
        sys::MmUnlockPages(irp.MdlAddress);
        sys::IoFreeMdl(irp.MdlAddress);
    }
    irp.MdlAddress = null_mut();
}

#[test]
fn an_irp_mdl_mapped_for_reading_stays_writable_for_the_next_mapper() {
    // IrpMdl::<ReadAccess>::map used to map the I/O manager's MDL with
    // MdlMappingNoWrite; the MDL caches that mapping, so a later writable
    // mapping of it (a driver below, or this one as WriteAccess) got the
    // read-only one, and the safe write_bytes faulted (0xBE on Windows,
    // SIGSEGV in the model).
    let kernel = Kernel::new();
    let user = kernel.user_buffer(64);
    kernel.write_user(user.address, b"request");
    let mut irp = sys::IRP::default();
    io_manager_builds(&mut irp, user);
    {
        // SAFETY: locked for writing (hence reading) until the completion.
        let mut reader = unsafe { IrpMdl::<ReadAccess>::from_irp(&irp) }.unwrap();
        assert_eq!(reader.map(PagePriority::Normal).unwrap().read::<[u8; 7]>(0), Ok(*b"request"));
    }
    {
        // SAFETY: as above; the mapping the reader left is read-write.
        let mut writer = unsafe { IrpMdl::<WriteAccess>::from_irp(&irp) }.unwrap();
        let mut mapping = writer.map(PagePriority::Normal).unwrap();
        assert_eq!(mapping.write_bytes(0, b"answer!"), Ok(()));
    }
    io_manager_completes(&mut irp);
    assert_eq!(kernel.read_user(user.address, 7), b"answer!");
    kernel.assert_clean();
}

#[test]
fn a_write_through_a_read_only_system_mapping_is_0xbe() {
    // What a driver gets from an MDL someone else mapped read-only: Windows
    // bug-checks 0xBE at the write; the model reports it and skips the copy.
    let kernel = Kernel::new();
    let user = kernel.user_buffer(64);
    let mut irp = sys::IRP::default();
    io_manager_builds(&mut irp, user);
    // SAFETY: a driver above maps the MDL read-only (misuse on purpose).
    let read_only = unsafe {
        sys::MmGetSystemAddressForMdlSafe(
            irp.MdlAddress,
            sys::_MM_PAGE_PRIORITY::NormalPagePriority as u32 | sys::MdlMappingNoWrite,
        )
    };
    assert!(!read_only.is_null());
    {
        // SAFETY: breaks from_irp's contract on purpose (a read-only mapping
        // is cached in the MDL).
        let mut writer = unsafe { IrpMdl::<WriteAccess>::from_irp(&irp) }.unwrap();
        let mut mapping = writer.map(PagePriority::Normal).unwrap();
        assert_eq!(mapping.as_ptr(), read_only.cast::<u8>().cast_const(), "the cached mapping");
        assert_eq!(mapping.write_bytes(8, b"x"), Err(NtStatus::ACCESS_VIOLATION));
    }
    io_manager_completes(&mut irp);
    assert_eq!(kernel.read_user(user.at(8), 1), [0], "nothing written");
    let report = kernel.finish();
    let fault = report.find(BugCheck::ATTEMPTED_WRITE_TO_READONLY_MEMORY, read_only as u64 + 8).expect("0xBE");
    assert_eq!(fault.bug_check.params[1], 1, "a write");
    assert_eq!(report.violations.len(), 1, "{report}");
}

#[test]
fn new_in_irp_never_overwrites_the_io_managers_mdl() {
    let kernel = Kernel::new();
    let user = kernel.user_buffer(32);
    let mut irp = sys::IRP::default();
    io_manager_builds(&mut irp, user);
    let ours = irp.MdlAddress;
    let irp_ptr = NonNull::from(&mut irp);
    let mut buffer = [0u8; 16];
    // SAFETY: the IRP outlives the MDLs and is completed after them.
    let primary = unsafe { Mdl::new_in_irp(&mut buffer, irp_ptr, false) };
    assert_eq!(primary.map(drop), Err(NtStatus::INVALID_PARAMETER), "Irp->MdlAddress is taken");
    // SAFETY: the IRP is only read here.
    assert_eq!(unsafe { (*irp_ptr.as_ptr()).MdlAddress }, ours, "the I/O manager's MDL is still there");
    // SAFETY: as above.
    let secondary = unsafe { Mdl::new_in_irp(&mut buffer, irp_ptr, true) }.unwrap();
    // SAFETY: as above.
    assert_eq!(unsafe { (*ours).Next }, secondary.as_raw(), "a secondary buffer is chained after it");
    drop(secondary);
    // SAFETY: as above.
    assert!(unsafe { (*ours).Next }.is_null());
    io_manager_completes(&mut irp);
    kernel.assert_clean();
}

#[test]
fn an_mdl_built_for_non_paged_pool_over_a_stack_is_0xc4_0x7f() {
    // A kernel stack is no non-paged pool: the kernel may page it out while
    // its thread waits. The old safety text allowed it; the model reports it.
    let kernel = Kernel::new();
    let mut on_stack = [0u8; 64];
    let address = on_stack.as_ptr() as u64;
    // SAFETY: breaks the contract on purpose (a stack buffer).
    let built = unsafe { Mdl::new(&mut on_stack).unwrap().build_for_non_paged_pool() }.unwrap();
    drop(built);
    let report = kernel.finish();
    let refused = report.find(C4, 0x7F).expect("0xC4/0x7F");
    assert!(refused.message.contains("stack"), "{report}");
    assert!(refused.message.contains(&format!("{address:#x}")), "{report}");
    assert_eq!(report.violations.len(), 1, "{report}");
}

#[test]
fn the_user_space_end_is_the_kernels_mm_user_probe_address() {
    let kernel = Kernel::new();
    let user = kernel.user_buffer(0x3_0000);
    let user_lock = |address: usize, len: usize| Mdl::for_user_buffer(address, len)?.lock::<ReadAccess>().map(drop);
    // A kernel whose user space ends inside the buffer (64 KiB-aligned).
    let end = (user.address + 0x1_0000) & !0xFFFF;
    kernel.set_user_probe_address(end);
    assert_eq!(user_lock(end - 16, 16), Ok(()), "below the end");
    assert_eq!(user_lock(end - 16, 17), Err(NtStatus::ACCESS_VIOLATION), "one byte past it");
    assert_eq!(user_lock(end, 16), Err(NtStatus::ACCESS_VIOLATION));
    // Before the lookup at PASSIVE_LEVEL, the crate's pre-check uses the x64
    // constant; the probe itself still refuses.
    let at_dispatch = kernel.at_irql(Irql::DISPATCH, || Mdl::for_user_buffer(end, 16).map(drop));
    assert_eq!(at_dispatch, Ok(()), "described: 0x7FFF_FFFF_0000 is the fallback");
    // A value no x64 kernel has (Wine 8 exports a stub function's code
    // bytes under the name): the constant.
    kernel.set_user_probe_address(0x6D0D_8D48_28EC_8348);
    assert_eq!(user_lock(end, 16), Ok(()));
    assert_eq!(user_lock(sys::MM_USER_PROBE_ADDRESS - 8, 16), Err(NtStatus::ACCESS_VIOLATION));
    kernel.remove_export("MmUserProbeAddress");
    assert_eq!(user_lock(end, 16), Ok(()), "no export: the constant");
    kernel.assert_clean();
}

#[test]
fn usize_max_class_ranges_are_clean_errors() {
    let kernel = Kernel::new();
    let user = kernel.user_buffer(64);
    let cases = [
        (usize::MAX, usize::MAX, NtStatus::INVALID_PARAMETER),
        (usize::MAX, 1, NtStatus::ACCESS_VIOLATION),
        (usize::MAX - 7, 16, NtStatus::ACCESS_VIOLATION),
        (user.address, usize::MAX, NtStatus::INVALID_PARAMETER),
        (user.address, sys::MDL_MAX_BYTE_COUNT + 1, NtStatus::INVALID_PARAMETER),
        (1, usize::MAX, NtStatus::INVALID_PARAMETER),
    ];
    for (address, len, status) in cases {
        assert_eq!(Mdl::for_user_buffer(address, len).map(drop), Err(status), "{address:#x} + {len:#x}");
        let whole = with_user_buffer::<WriteAccess, _>(address, len, PagePriority::Normal, |_| ());
        assert_eq!(whole, Err(status), "{address:#x} + {len:#x}");
    }
    // SAFETY: refused before anything is described or touched.
    let wrapping = unsafe { Mdl::for_kernel_address(usize::MAX - 7, 16) };
    assert_eq!(wrapping.map(drop), Err(NtStatus::INVALID_PARAMETER), "a kernel range that wraps");
    let mut locked = Mdl::for_user_buffer(user.address, 64).unwrap().lock::<WriteAccess>().unwrap();
    let mut mapping = locked.map(PagePriority::Normal).unwrap();
    for offset in [usize::MAX, usize::MAX - 3, 64, 61] {
        assert_eq!(mapping.read::<u32>(offset), Err(NtStatus::INVALID_PARAMETER), "{offset:#x}");
        assert_eq!(mapping.write(offset, &0u32), Err(NtStatus::INVALID_PARAMETER), "{offset:#x}");
        assert_eq!(mapping.read_bytes(offset, &mut [0; 4]), Err(NtStatus::INVALID_PARAMETER), "{offset:#x}");
    }
    drop(mapping);
    drop(locked);
    assert_eq!(sys::ADDRESS_AND_SIZE_TO_SPAN_PAGES(0xFFF, usize::MAX), usize::MAX.div_ceil(4096), "saturates");
    for address in [usize::MAX, usize::MAX - 4095] {
        assert_eq!(is_address_valid(address as *const u8), Ok(false), "{address:#x}");
        assert_eq!(physical_address(address as *const u8), Ok(None), "{address:#x}");
    }
    kernel.assert_clean();
}
