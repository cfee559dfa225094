//! `UserSlice`: METHOD_NEITHER-style copies from and to the requester's user
//! memory under SEH, with ProbeForRead/ProbeForWrite's range checks; bad
//! pointers, other processes, unmapped or reprotected pages and high IRQL
//! are error statuses.

use wdm_mem::{Irql, NtStatus, model::Kernel, user::UserSlice};

#[test]
fn good_pointers_copy_both_ways() {
    let kernel = Kernel::new();
    let process = kernel.create_process();
    let buffer = process.user_buffer(&kernel, 64);
    process.write(buffer.address, &7u32.to_le_bytes()).unwrap();
    process.run(|| {
        let slice = UserSlice::new(buffer.address, 64, 4).unwrap();
        assert_eq!(slice.read::<u32>(0), Ok(7));
        assert_eq!(slice.write(8, &0x1122_3344u32), Ok(()));
        let mut bytes = [0u8; 2];
        assert_eq!(slice.read_into(8, &mut bytes), Ok(()));
        assert_eq!(bytes, [0x44, 0x33]);
        assert_eq!(slice.write_from(60, b"tail"), Ok(()));
        assert_eq!(slice.write_from(61, b"tail"), Err(NtStatus::INVALID_PARAMETER), "past the slice");
        assert_eq!(slice.read::<u64>(usize::MAX), Err(NtStatus::INVALID_PARAMETER), "offset overflow");
    });
    assert_eq!(process.read(buffer.at(60), 4).as_deref(), Ok(&b"tail"[..]));
    kernel.assert_clean();
}

#[test]
fn bad_pointers_are_refused_as_probe_for_read_would() {
    let kernel = Kernel::new();
    let process = kernel.create_process();
    process.run(|| {
        assert_eq!(UserSlice::new(0, 4, 1).map(drop), Err(NtStatus::ACCESS_VIOLATION), "NULL");
        assert_eq!(UserSlice::new(0xFFFF_8000_0000_0000, 4, 1).map(drop), Err(NtStatus::ACCESS_VIOLATION), "kernel");
        assert_eq!(UserSlice::new(0x7FFF_FFFE_FFFF, 2, 1).map(drop), Err(NtStatus::ACCESS_VIOLATION), "past the end");
        assert_eq!(UserSlice::new(usize::MAX - 1, 4, 1).map(drop), Err(NtStatus::ACCESS_VIOLATION), "wraps");
        assert_eq!(UserSlice::new(0x10_0001, 4, 4).map(drop), Err(NtStatus::DATATYPE_MISALIGNMENT_ERROR));
        assert_eq!(UserSlice::new(0x10_0000, 4, 3).map(drop), Err(NtStatus::INVALID_PARAMETER), "alignment");
        assert_eq!(UserSlice::new(0, 0, 1).map(|s| s.is_empty()), Ok(true), "empty: nothing to probe");
        // In range but not mapped in the process: the copy's exception.
        let unmapped = UserSlice::new(0x10_0000, 8, 8).unwrap();
        assert_eq!(unmapped.read::<u64>(0), Err(NtStatus::ACCESS_VIOLATION));
        assert_eq!(unmapped.write(0, &1u64), Err(NtStatus::ACCESS_VIOLATION));
    });
    kernel.assert_clean();
}

#[test]
fn the_user_thread_pulling_pages_away_gives_errors() {
    let kernel = Kernel::new();
    let process = kernel.create_process();
    let buffer = process.user_buffer(&kernel, 16);
    process.run(|| {
        let slice = UserSlice::new(buffer.address, 16, 1).unwrap();
        kernel.protect_user_buffer(buffer, wdm_mem::model::UserProtection::ReadOnly);
        assert_eq!(slice.read::<u8>(0), Ok(0));
        assert_eq!(slice.write(0, &1u8), Err(NtStatus::ACCESS_VIOLATION), "read-only now");
        kernel.free_user_buffer(buffer);
        assert_eq!(slice.read::<u8>(0), Err(NtStatus::ACCESS_VIOLATION), "freed now");
    });
    kernel.assert_clean();
}

#[test]
fn another_process_or_dispatch_level_is_refused() {
    let kernel = Kernel::new();
    let (a, b) = (kernel.create_process(), kernel.create_process());
    let buffer = a.user_buffer(&kernel, 16);
    let slice = a.run(|| UserSlice::new(buffer.address, 16, 1).unwrap());
    assert_eq!(b.run(|| slice.read::<u8>(0)), Err(NtStatus::ACCESS_VIOLATION), "another process");
    assert_eq!(slice.read::<u8>(0), Err(NtStatus::ACCESS_VIOLATION), "the System process");
    a.run(|| {
        assert_eq!(Irql::run_raised(Irql::DISPATCH, || slice.read::<u8>(0)), Ok(Err(NtStatus::INVALID_LEVEL)));
        assert_eq!(
            Irql::run_raised(Irql::DISPATCH, || UserSlice::new(buffer.address, 1, 1).map(drop)),
            Ok(Err(NtStatus::INVALID_LEVEL))
        );
        assert_eq!(slice.read::<u8>(0), Ok(0));
    });
    drop(slice);
    kernel.assert_clean();
}
