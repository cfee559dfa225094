//! MDLs against the kernel model: the real MDL structure and PFNs, probe and
//! lock in kernel and user mode (bad addresses are error statuses), system
//! mappings, non-paged pool, the I/O manager's MDL, IRQL, faults, and the
//! verifier's bug checks for the mistakes the types prevent.

use std::ptr::{NonNull, null_mut};

use wdm_mem::{
    Irql, NtResult, NtStatus,
    address::{is_address_valid, physical_address},
    mdl::{
        AccessMode, IrpMdl, Mdl, ModifyAccess, NonPagedMdl, PagePriority, ReadAccess, WriteAccess, with_user_buffer,
    },
    memory::NonCachedBuffer,
    model::{BugCheck, Fault, Kernel, MDL_BAD_UNMAP, MDL_LEAKED, UserRange},
    pool::{PoolBuffer, PoolType},
    pool_tag, sys,
};

const C4: u32 = BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION;
const PAGE: usize = 4096;
const KERNEL_ADDRESS: usize = 0xFFFF_8000_0000_0000;

/// The header fields of an MDL: StartVa, ByteOffset, ByteCount, flags, Size.
fn header(mdl: *mut sys::MDL) -> (usize, u32, u32, u32, i16) {
    // SAFETY: a live MDL of the test.
    let mdl = unsafe { &*mdl };
    (mdl.StartVa as usize, mdl.ByteOffset, mdl.ByteCount, u32::from(mdl.MdlFlags as u16), mdl.Size)
}

fn flags(mdl: *mut sys::MDL) -> u32 {
    header(mdl).3
}

#[test]
fn a_kernel_buffer_is_described_locked_mapped_unlocked_and_locked_again() {
    let kernel = Kernel::new();
    let mut buffer = vec![0u8; 3 * PAGE];
    let start = buffer.as_ptr() as usize + 100;
    let mdl = Mdl::new(&mut buffer[100..100 + 2 * PAGE]).unwrap();
    let (start_va, offset, count, bits, size) = header(mdl.as_raw());
    assert_eq!((start_va, offset as usize, count as usize), (start & !(PAGE - 1), start % PAGE, 2 * PAGE));
    assert_eq!((mdl.virtual_address(), mdl.len()), (start, 2 * PAGE));
    assert_eq!(bits, sys::MDL_ALLOCATED_FIXED_SIZE);
    let pages = sys::ADDRESS_AND_SIZE_TO_SPAN_PAGES(start, 2 * PAGE);
    assert_eq!(size as usize, 48 + 8 * pages, "IoAllocateMdl: header + PFN array");

    let mut locked = mdl.lock::<WriteAccess>(AccessMode::Kernel).unwrap();
    let raw = locked.as_raw();
    assert_eq!(
        flags(raw) & (sys::MDL_PAGES_LOCKED | sys::MDL_WRITE_OPERATION),
        sys::MDL_PAGES_LOCKED | sys::MDL_WRITE_OPERATION
    );
    let frames: Vec<u64> = (0..pages).map(|i| ((start & !(PAGE - 1)) / PAGE + i) as u64).collect();
    assert_eq!(locked.page_frames(), frames, "host page numbers: the model has no RAM behind a Vec");
    {
        let mut mapping = locked.map(PagePriority::High).unwrap();
        assert_eq!(mapping.len(), 2 * PAGE);
        assert_ne!(flags(raw) & sys::MDL_MAPPED_TO_SYSTEM_VA, 0);
        mapping[..5].copy_from_slice(b"hello");
        mapping.write(2 * PAGE - 4, &0xDEAD_BEEFu32).unwrap();
        assert_eq!(mapping.read::<u32>(2 * PAGE - 4), Ok(0xDEAD_BEEF));
        assert_eq!(mapping.write(2 * PAGE - 3, &0u32), Err(NtStatus::INVALID_PARAMETER));
    }
    assert_eq!(flags(raw) & sys::MDL_MAPPED_TO_SYSTEM_VA, 0, "the mapping's drop unmapped");

    let mdl = locked.unlock().unwrap();
    assert_eq!(flags(mdl.as_raw()), sys::MDL_ALLOCATED_FIXED_SIZE, "unlocked, ready for reuse");
    let mut again = mdl.lock::<ReadAccess>(AccessMode::Kernel).unwrap();
    assert_eq!(flags(again.as_raw()) & sys::MDL_WRITE_OPERATION, 0);
    let mapping = again.map(PagePriority::Normal).unwrap();
    assert_eq!(&mapping[..5], b"hello");
    drop(mapping);
    drop(again);
    assert_eq!(&buffer[100..105], b"hello");
    kernel.assert_clean();
}

#[test]
fn a_user_buffer_is_probed_in_user_mode_and_mapped_a_second_time() {
    let kernel = Kernel::new();
    let user = kernel.user_buffer(2 * PAGE);
    kernel.write_user(user.at(PAGE - 2), b"abcd");
    let seen = with_user_buffer::<ReadAccess, _>(user.at(PAGE - 2), 4, PagePriority::Normal, |input| {
        assert_ne!(input.as_ptr() as usize, user.at(PAGE - 2), "a system mapping of its own");
        let mut bytes = [0u8; 4];
        input.read_bytes(0, &mut bytes).map(|()| bytes)
    });
    assert_eq!(seen, Ok(Ok(*b"abcd")));
    with_user_buffer::<ModifyAccess, _>(user.at(10), 6, PagePriority::Low, |output| output.write_bytes(0, b"kernel"))
        .unwrap()
        .unwrap();
    assert_eq!(kernel.read_user(user.at(10), 6), b"kernel", "written through the system mapping");

    let mut locked = Mdl::for_user_buffer(user.address, 2 * PAGE).unwrap().lock::<WriteAccess>().unwrap();
    let frames: Vec<u64> = (0..2).map(|i| (user.address / PAGE + i) as u64).collect();
    assert_eq!(locked.page_frames(), frames);
    let mut mapping = locked.map(PagePriority::Normal).unwrap();
    mapping.write(PAGE, &7u64).unwrap();
    // SAFETY: nothing else touches the test's user buffer meanwhile.
    assert_eq!(unsafe { mapping.as_slice() }[PAGE], 7);
    drop(mapping);
    drop(locked);
    assert_eq!(kernel.read_user(user.at(PAGE), 1), [7]);
    kernel.assert_clean();
}

/// What locking `len` bytes at `address` for `A` from user mode gives.
fn user_lock<A: wdm_mem::mdl::LockAccess>(address: usize, len: usize) -> NtResult<()> {
    Mdl::for_user_buffer(address, len)?.lock::<A>().map(drop)
}

#[test]
fn bad_user_buffers_are_error_statuses_and_leak_nothing() {
    let kernel = Kernel::new();
    let user = kernel.user_buffer(PAGE);
    let read_only = kernel.read_only_user_buffer(PAGE);
    let freed = kernel.user_buffer(PAGE);
    kernel.free_user_buffer(freed);
    let mut kernel_memory = vec![0u8; 64];
    let cases: [(&str, usize, usize, NtResult<()>); 10] = [
        ("NULL", 0, 16, Err(NtStatus::ACCESS_VIOLATION)),
        ("first 64 KiB", 0x1000, 16, Err(NtStatus::ACCESS_VIOLATION)),
        ("kernel range", KERNEL_ADDRESS, 16, Err(NtStatus::ACCESS_VIOLATION)),
        ("wraps around", usize::MAX - 8, 16, Err(NtStatus::ACCESS_VIOLATION)),
        ("ends past the user space", sys::MM_USER_PROBE_ADDRESS - 8, 16, Err(NtStatus::ACCESS_VIOLATION)),
        ("length 0", user.address, 0, Err(NtStatus::INVALID_PARAMETER)),
        ("too long", user.address, sys::MDL_MAX_BYTE_COUNT + 1, Err(NtStatus::INVALID_PARAMETER)),
        ("freed", freed.address, 16, Err(NtStatus::ACCESS_VIOLATION)),
        ("runs past its buffer", user.at(PAGE - 8), 16, Err(NtStatus::ACCESS_VIOLATION)),
        ("a kernel Vec", kernel_memory.as_mut_ptr() as usize, 64, Err(NtStatus::ACCESS_VIOLATION)),
    ];
    for (what, address, len, expected) in cases {
        assert_eq!(user_lock::<ReadAccess>(address, len), expected, "{what}");
    }
    assert_eq!(user_lock::<ReadAccess>(read_only.address, PAGE), Ok(()), "read-only pages can be read");
    assert_eq!(user_lock::<WriteAccess>(read_only.address, PAGE), Err(NtStatus::ACCESS_VIOLATION), "but not written");
    assert_eq!(user_lock::<WriteAccess>(user.address, PAGE), Ok(()));
    // A kernel buffer probed in user mode raises too.
    let probed = Mdl::new(&mut kernel_memory).unwrap().lock::<ReadAccess>(AccessMode::User);
    assert_eq!(probed.map(drop), Err(NtStatus::ACCESS_VIOLATION));
    kernel.assert_clean();
}

/// The sample driver's METHOD_NEITHER handler: the caller's input locked for
/// reading, its output for writing, the input copied reversed.
fn neither(input: (usize, usize), output: (usize, usize)) -> NtResult<usize> {
    with_user_buffer::<ReadAccess, _>(input.0, input.1, PagePriority::Normal, |input| {
        with_user_buffer::<WriteAccess, _>(output.0, output.1, PagePriority::Normal, |output| {
            let mut bytes = vec![0u8; input.len().min(output.len())];
            input.read_bytes(0, &mut bytes)?;
            bytes.reverse();
            output.write_bytes(0, &bytes).map(|()| bytes.len())
        })?
    })?
}

#[test]
fn the_method_neither_path_refuses_bad_pointers() {
    let kernel = Kernel::new();
    let input = kernel.user_buffer(8);
    let output = kernel.user_buffer(8);
    kernel.write_user(input.address, b"12345678");
    assert_eq!(neither((input.address, 8), (output.address, 8)), Ok(8));
    assert_eq!(kernel.read_user(output.address, 8), b"87654321");
    let read_only = kernel.read_only_user_buffer(8);
    type Buffer = (usize, usize);
    let bad: [(&str, Buffer, Buffer, NtStatus); 6] = [
        ("NULL input", (0, 8), (output.address, 8), NtStatus::ACCESS_VIOLATION),
        ("kernel output", (input.address, 8), (KERNEL_ADDRESS, 8), NtStatus::ACCESS_VIOLATION),
        ("read-only output", (input.address, 8), (read_only.address, 8), NtStatus::ACCESS_VIOLATION),
        ("unmapped input", (0x7000_0000_0000, 8), (output.address, 8), NtStatus::ACCESS_VIOLATION),
        ("empty output", (input.address, 8), (output.address, 0), NtStatus::INVALID_PARAMETER),
        ("overflowing input", (usize::MAX, 2), (output.address, 8), NtStatus::ACCESS_VIOLATION),
    ];
    for (what, input, output, status) in bad {
        assert_eq!(neither(input, output), Err(status), "{what}");
    }
    kernel.assert_clean();
}

#[test]
fn a_non_paged_pool_buffer_is_built_not_locked() {
    let kernel = Kernel::new();
    let mut buffer = PoolBuffer::new(PAGE + 10, 0, pool_tag!(b"MdlT"), PoolType::NonPagedNx).unwrap();
    let address = buffer.as_ptr() as usize;
    {
        let mut mdl = NonPagedMdl::for_pool_buffer(&mut buffer).unwrap();
        assert_eq!(mdl.page_frames(), [(address / PAGE) as u64, (address / PAGE + 1) as u64]);
        let mut mapping = mdl.map(PagePriority::Normal).unwrap();
        assert_eq!(mapping.as_ptr() as usize, address, "MappedSystemVa is the buffer itself");
        mapping[PAGE + 9] = 0x42;
    }
    assert_eq!(buffer[PAGE + 9], 0x42);
    let mut paged = PoolBuffer::new(64, 0, pool_tag!(b"MdlT"), PoolType::Paged).unwrap();
    assert_eq!(NonPagedMdl::for_pool_buffer(&mut paged).map(drop), Err(NtStatus::INVALID_PARAMETER));
    drop((buffer, paged));
    kernel.assert_clean();
}

#[test]
fn locked_non_cached_memory_has_the_memory_models_frames() {
    let kernel = Kernel::new();
    let mut buffer = NonCachedBuffer::new(2 * PAGE).unwrap();
    let expected: Vec<u64> =
        (0..2).map(|page| buffer.physical_address(page * PAGE).unwrap().get() / PAGE as u64).collect();
    let locked = Mdl::new(&mut buffer).unwrap().lock::<ReadAccess>(AccessMode::Kernel).unwrap();
    assert_eq!(locked.page_frames(), expected);
    drop(locked);
    drop(buffer);
    kernel.assert_clean();
}

/// The I/O manager's part of a METHOD_OUT_DIRECT request: an MDL for the
/// caller's output buffer, probed and locked for writing, in `irp`.
fn io_manager_builds(irp: &mut sys::IRP, user: UserRange) {
    // SAFETY: a valid user range and IRP; the test plays the I/O manager.
    unsafe {
        let mdl = sys::IoAllocateMdl(user.address as _, user.len as u32, 0, 0, irp);
        let status = sys::probe_and_lock_pages(mdl, sys::_MODE::UserMode as i8, sys::_LOCK_OPERATION::IoWriteAccess);
        assert_eq!(NtStatus::from_raw(status), NtStatus::SUCCESS);
    }
}

/// ... and its completion: unlock and free.
fn io_manager_completes(irp: &mut sys::IRP) {
    // SAFETY: the MDL the test's I/O manager built.
    unsafe {
        sys::MmUnlockPages(irp.MdlAddress);
        sys::IoFreeMdl(irp.MdlAddress);
    }
    irp.MdlAddress = null_mut();
}

#[test]
fn the_mdl_of_a_direct_request_is_borrowed_mapped_and_left_to_the_io_manager() {
    let kernel = Kernel::new();
    let user = kernel.user_buffer(100);
    let mut irp = sys::IRP::default();
    // SAFETY: no MDL: refused before anything is read.
    assert_eq!(unsafe { IrpMdl::<WriteAccess>::from_irp(&irp) }.map(drop), Err(NtStatus::INVALID_PARAMETER));
    io_manager_builds(&mut irp, user);
    {
        // SAFETY: the IRP's MDL is locked for writing until the completion below.
        let mut mdl = unsafe { IrpMdl::<WriteAccess>::from_irp(&irp) }.unwrap();
        assert_eq!(mdl.len(), 100);
        mdl.map(PagePriority::Normal).unwrap().write_bytes(90, b"0123456789").unwrap();
        assert_ne!(flags(irp.MdlAddress) & sys::MDL_MAPPED_TO_SYSTEM_VA, 0, "the I/O manager releases the mapping");
        let again = mdl.map(PagePriority::Normal).unwrap();
        assert_eq!(again.read::<[u8; 2]>(98), Ok(*b"89"), "the same mapping, reused");
    }
    io_manager_completes(&mut irp);
    assert_eq!(kernel.read_user(user.at(90), 10), b"0123456789");
    kernel.assert_clean();
}

#[test]
fn mdls_attached_to_an_irp_are_unlinked_when_dropped() {
    let kernel = Kernel::new();
    let mut irp = sys::IRP::default();
    let irp_ptr = NonNull::from(&mut irp);
    let (mut first, mut second) = ([1u8; 8], [2u8; 8]);
    // SAFETY: the IRP outlives both MDLs and is never completed.
    let a = unsafe { Mdl::new_in_irp(&mut first, irp_ptr, false) }.unwrap();
    // SAFETY: as above.
    let b = unsafe { Mdl::new_in_irp(&mut second, irp_ptr, true) }.unwrap();
    // SAFETY: the IRP is only read here.
    let (head, next) = unsafe { ((*irp_ptr.as_ptr()).MdlAddress, (*(*irp_ptr.as_ptr()).MdlAddress).Next) };
    assert_eq!((head, next), (a.as_raw(), b.as_raw()), "Irp->MdlAddress, then the secondary buffer");
    drop(a);
    // SAFETY: as above.
    assert_eq!(unsafe { (*irp_ptr.as_ptr()).MdlAddress }, b.as_raw());
    drop(b);
    assert!(irp.MdlAddress.is_null());
    kernel.assert_clean();
}

#[test]
fn each_operation_checks_its_irql() {
    let kernel = Kernel::new();
    let user = kernel.user_buffer(64);
    let mut buffer = [0u8; 64];
    let at_dispatch = kernel.at_irql(Irql::DISPATCH, || {
        let mdl = Mdl::new(&mut buffer).expect("IoAllocateMdl: DISPATCH_LEVEL");
        mdl.lock::<ReadAccess>(AccessMode::Kernel).map(drop)
    });
    assert_eq!(at_dispatch, Err(NtStatus::INVALID_LEVEL), "probing pageable memory: APC_LEVEL at most");
    let mut locked = Mdl::for_user_buffer(user.address, 64).unwrap().lock::<ReadAccess>().unwrap();
    kernel.at_irql(Irql::DISPATCH, || {
        let mapping = locked.map(PagePriority::Normal).expect("mapping at DISPATCH_LEVEL");
        assert_eq!(mapping.read::<u8>(0), Ok(0));
    });
    let at_high = kernel.at_irql(Irql::HIGH, || Mdl::new(&mut [0u8; 8]).map(drop));
    assert_eq!(at_high, Err(NtStatus::INVALID_LEVEL));
    kernel.at_irql(Irql::DISPATCH, || drop(locked));
    let user_ptr = user.address as *const u8;
    assert_eq!(kernel.at_irql(Irql::HIGH, || is_address_valid(user_ptr)), Err(NtStatus::INVALID_LEVEL));
    assert_eq!(kernel.at_irql(Irql::DISPATCH, || physical_address(user_ptr)), Err(NtStatus::INVALID_LEVEL));
    kernel.assert_clean();
}

#[test]
fn a_locked_mdl_dropped_above_dispatch_level_is_leaked_and_reported() {
    let kernel = Kernel::new();
    let user = kernel.user_buffer(PAGE);
    let locked = Mdl::for_user_buffer(user.address, PAGE).unwrap().lock::<ReadAccess>().unwrap();
    let raw = locked.as_raw() as u64;
    kernel.at_irql(Irql::HIGH, || drop(locked));
    let report = kernel.finish();
    let pages = report.violations.iter().find(|v| v.bug_check.code == BugCheck::DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS);
    assert_eq!(pages.expect("locked pages at unload").bug_check.params, [0, 0, raw, 1]);
    let leak = report.find(C4, MDL_LEAKED).expect("the MDL at unload");
    assert_eq!(leak.bug_check.params[1], raw);
    assert_eq!(report.violations.len(), 2, "{report}");
}

#[test]
fn injected_faults_are_insufficient_resources() {
    let kernel = Kernel::new();
    let mut buffer = [0u8; 32];
    kernel.inject(Fault::routine("IoAllocateMdl").times(1));
    assert_eq!(Mdl::new(&mut buffer).map(drop), Err(NtStatus::INSUFFICIENT_RESOURCES));
    kernel.inject(Fault::routine("MmMapLockedPagesSpecifyCache").times(1));
    let mut locked = Mdl::new(&mut buffer).unwrap().lock::<WriteAccess>(AccessMode::Kernel).unwrap();
    assert_eq!(locked.map(PagePriority::Low).map(drop), Err(NtStatus::INSUFFICIENT_RESOURCES));
    assert!(locked.map(PagePriority::Low).is_ok(), "the next mapping succeeds");
    drop(locked);
    kernel.assert_clean();
}

#[test]
fn address_checks_say_what_is_valid_now() {
    let kernel = Kernel::new();
    let user = kernel.user_buffer(16);
    let local = 5u32;
    let non_cached = NonCachedBuffer::new(PAGE).unwrap();
    assert_eq!(is_address_valid(user.address as *const u8), Ok(true));
    assert_eq!(is_address_valid(&local), Ok(true));
    assert_eq!(is_address_valid(std::ptr::null::<u8>()), Ok(false));
    assert_eq!(is_address_valid(KERNEL_ADDRESS as *const u8), Ok(false), "nothing mapped there on the host");
    kernel.free_user_buffer(user);
    assert_eq!(is_address_valid(user.address as *const u8), Ok(false), "freed: not valid any more");
    assert_eq!(physical_address(non_cached.as_ptr()), Ok(non_cached.physical_address(0)));
    assert_eq!(physical_address(std::ptr::null::<u8>()), Ok(None));
    drop(non_cached);
    kernel.assert_clean();
}

// --- The verifier: what the types prevent, done with the raw routines. ---

/// A raw MDL for `buffer`, locked in kernel mode.
fn raw_locked(buffer: &mut [u8]) -> *mut sys::MDL {
    // SAFETY: a valid buffer; the test misuses the MDL on purpose afterwards.
    unsafe {
        let mdl = sys::IoAllocateMdl(buffer.as_mut_ptr().cast(), buffer.len() as u32, 0, 0, null_mut());
        let status = sys::probe_and_lock_pages(mdl, sys::_MODE::KernelMode as i8, sys::_LOCK_OPERATION::IoWriteAccess);
        assert_eq!(status, 0);
        mdl
    }
}

#[test]
fn freeing_a_locked_mdl_is_0x76_and_a_mapped_one_0xc4_0xb8() {
    let kernel = Kernel::new();
    let mut buffer = [0u8; 100];
    let mdl = raw_locked(&mut buffer);
    // SAFETY: misuse on purpose: the model reports it.
    unsafe {
        sys::MmGetSystemAddressForMdlSafe(mdl, 16);
        sys::IoFreeMdl(mdl);
    }
    let report = kernel.finish();
    assert!(report.find(C4, 0xB8).is_some(), "{report}");
    let locked = report.find(BugCheck::PROCESS_HAS_LOCKED_PAGES, 0).expect("0x76");
    assert_eq!(locked.bug_check.params[2], 1, "one locked page");
    assert_eq!(report.violations.len(), 2, "{report}");
}

#[test]
fn unlocking_twice_is_0xc4_0x7c_and_unlocking_non_paged_pool_0x7d() {
    let kernel = Kernel::new();
    let mut buffer = [0u8; 100];
    let mdl = raw_locked(&mut buffer);
    let mut pool = PoolBuffer::new(64, 0, pool_tag!(b"MdlT"), PoolType::NonPagedNx).unwrap();
    // SAFETY: misuse on purpose: the model reports it.
    unsafe {
        sys::MmUnlockPages(mdl);
        sys::MmUnlockPages(mdl);
        sys::IoFreeMdl(mdl);
        let built = sys::IoAllocateMdl(pool.as_mut_ptr().cast(), 64, 0, 0, null_mut());
        sys::MmBuildMdlForNonPagedPool(built);
        sys::MmUnlockPages(built);
        sys::IoFreeMdl(built);
    }
    drop(pool);
    let report = kernel.finish();
    let twice = report.find(C4, 0x7C).expect("0x7C");
    assert_eq!(twice.bug_check.params[1], mdl as u64);
    assert!(report.find(C4, 0x7D).is_some(), "{report}");
    assert_eq!(report.violations.len(), 2, "{report}");
}

#[test]
fn probing_without_seh_is_an_unhandled_exception() {
    let kernel = Kernel::new();
    let user = kernel.read_only_user_buffer(16);
    // SAFETY: misuse on purpose: MmProbeAndLockPages outside __try.
    unsafe {
        let mdl = sys::IoAllocateMdl(user.address as _, 16, 0, 0, null_mut());
        sys::MmProbeAndLockPages(mdl, sys::_MODE::UserMode as i8, sys::_LOCK_OPERATION::IoWriteAccess);
        sys::IoFreeMdl(mdl);
    }
    let report = kernel.finish();
    let raised = report.find(BugCheck::KMODE_EXCEPTION_NOT_HANDLED, 0xC000_0005).expect("0x1E");
    assert_eq!(raised.bug_check.params[2..], [1, user.address as u64]);
    assert_eq!(report.violations.len(), 1, "{report}");
}

#[test]
fn wrong_mdl_states_are_the_documented_0xc4_parameters() {
    let kernel = Kernel::new();
    let mut buffer = [0u8; 100];
    let mut paged = PoolBuffer::new(64, 0, pool_tag!(b"MdlT"), PoolType::Paged).unwrap();
    // SAFETY: misuse on purpose: the model reports each mistake.
    unsafe {
        let unlocked = sys::IoAllocateMdl(buffer.as_mut_ptr().cast(), 100, 0, 0, null_mut());
        assert!(sys::MmGetSystemAddressForMdlSafe(unlocked, 16).is_null(), "0xB3: not locked");
        sys::IoFreeMdl(unlocked);
        let locked = raw_locked(&mut buffer);
        let status = sys::probe_and_lock_pages(locked, 0, 0);
        assert_eq!(NtStatus::from_raw(status), NtStatus::INVALID_PARAMETER, "0xB0: locked twice");
        let bug_check_on_failure = sys::MmMapLockedPagesSpecifyCache(locked, 0, 1, null_mut(), 1, 16);
        assert!(bug_check_on_failure.is_null(), "0x82");
        sys::MmUnmapLockedPages(0x1234_0000 as _, locked);
        sys::MmUnlockPages(locked);
        sys::IoFreeMdl(locked);
        let built = sys::IoAllocateMdl(paged.as_mut_ptr().cast(), 64, 0, 0, null_mut());
        sys::MmBuildMdlForNonPagedPool(built);
        assert_eq!(flags(built) & sys::MDL_SOURCE_IS_NONPAGED_POOL, 0, "0x7F: nothing built");
        sys::IoFreeMdl(built);
    }
    drop(paged);
    let report = kernel.finish();
    for p1 in [0xB3, 0xB0, 0x82, MDL_BAD_UNMAP, 0x7F] {
        assert!(report.find(C4, p1).is_some(), "{p1:#x} missing:\n{report}");
    }
    assert_eq!(report.violations.len(), 5, "{report}");
}

#[test]
fn mdls_left_at_unload_are_reported() {
    let kernel = Kernel::new();
    let user = kernel.user_buffer(16);
    std::mem::forget(Mdl::for_user_buffer(user.address, 16).unwrap());
    let report = kernel.finish();
    let leak = report.find(C4, MDL_LEAKED).expect("the MDL");
    assert_eq!(leak.bug_check.params[3], 16, "its byte count");
    assert_eq!(report.violations.len(), 1, "{report}");
}
