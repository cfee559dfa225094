//! The simulated user process against MDLs: it frees or reprotects its
//! buffers at any moment, before the driver probes them or while the driver
//! holds them locked and mapped. A probe sees the protection of the moment
//! (an error status, never a bug check); locked pages stay valid, and so
//! does their system mapping, whatever the process does with its addresses.

mod common;

use wdm_mem::{
    NtResult, NtStatus,
    address::is_address_valid,
    mdl::{LockAccess, Mdl, PagePriority, ReadAccess, WriteAccess, with_user_buffer},
    model::{Kernel, UserProtection},
};

const PAGE: usize = 4096;

/// What locking `len` bytes at `address` for `A` from user mode gives.
fn user_lock<A: LockAccess>(address: usize, len: usize) -> NtResult<()> {
    Mdl::for_user_buffer(address, len)?.lock::<A>().map(drop)
}

#[test]
fn a_probe_sees_the_protection_of_the_moment() {
    let kernel = Kernel::new();
    let user = kernel.user_buffer(2 * PAGE);
    kernel.protect_user_buffer(user, UserProtection::NoAccess);
    assert_eq!(user_lock::<ReadAccess>(user.address, 16), Err(NtStatus::ACCESS_VIOLATION), "PAGE_NOACCESS");
    assert_eq!(is_address_valid(user.address as *const u8), Ok(false));
    kernel.protect_user_buffer(user, UserProtection::ReadOnly);
    assert_eq!(user_lock::<ReadAccess>(user.address, 16), Ok(()));
    assert_eq!(user_lock::<WriteAccess>(user.at(PAGE), 16), Err(NtStatus::ACCESS_VIOLATION), "PAGE_READONLY");
    kernel.protect_user_buffer(user, UserProtection::ReadWrite);
    assert_eq!(user_lock::<WriteAccess>(user.address, 2 * PAGE), Ok(()));
    kernel.assert_clean();
}

#[test]
fn a_buffer_reprotected_between_description_and_probe_is_refused() {
    let kernel = Kernel::new();
    let user = kernel.user_buffer(64);
    let described = Mdl::for_user_buffer(user.address, 64).unwrap();
    kernel.protect_user_buffer(user, UserProtection::ReadOnly); // the user thread, meanwhile
    assert_eq!(described.lock::<WriteAccess>().map(drop), Err(NtStatus::ACCESS_VIOLATION));
    let described = Mdl::for_user_buffer(user.address, 64).unwrap();
    kernel.free_user_buffer(user);
    assert_eq!(described.lock::<ReadAccess>().map(drop), Err(NtStatus::ACCESS_VIOLATION), "unmapped meanwhile");
    let whole = with_user_buffer::<ReadAccess, _>(user.address, 64, PagePriority::Normal, |_| ());
    assert_eq!(whole, Err(NtStatus::ACCESS_VIOLATION));
    kernel.assert_clean();
}

#[test]
fn locked_pages_and_their_mapping_survive_the_user_unmapping_them() {
    let kernel = Kernel::new();
    let user = kernel.user_buffer(2 * PAGE);
    kernel.write_user(user.address, b"before");
    let mut locked = Mdl::for_user_buffer(user.address, 2 * PAGE).unwrap().lock::<WriteAccess>().unwrap();
    let mut mapping = locked.map(PagePriority::Normal).unwrap();
    let system = mapping.as_ptr();
    kernel.free_user_buffer(user); // VirtualFree while the driver holds the MDL
    assert_eq!(is_address_valid(user.address as *const u8), Ok(false), "the user address is gone");
    #[cfg(target_os = "linux")]
    assert!(common::read_faults(user.address), "a kernel-mode touch of the freed user address faults");
    assert_eq!(is_address_valid(system), Ok(true), "the system mapping is not");
    assert_eq!(mapping.read::<[u8; 6]>(0), Ok(*b"before"));
    assert_eq!(mapping.write_bytes(PAGE, b"after"), Ok(()));
    assert_eq!(mapping.read::<[u8; 5]>(PAGE), Ok(*b"after"));
    drop(mapping);
    let mdl = locked.unlock().unwrap();
    assert_eq!(mdl.lock::<ReadAccess>().map(drop), Err(NtStatus::ACCESS_VIOLATION), "a new probe fails");
    kernel.assert_clean();
}

#[test]
fn locked_pages_and_their_mapping_survive_a_reprotection() {
    let kernel = Kernel::new();
    let user = kernel.user_buffer(64);
    let seen = with_user_buffer::<WriteAccess, _>(user.address, 64, PagePriority::Normal, |output| {
        kernel.protect_user_buffer(user, UserProtection::NoAccess); // VirtualProtect meanwhile
        output.write_bytes(0, b"locked")?;
        output.read::<[u8; 6]>(0)
    });
    assert_eq!(seen, Ok(Ok(*b"locked")));
    assert_eq!(kernel.read_user(user.address, 6), b"locked", "the process's memory got the write");
    assert_eq!(user_lock::<ReadAccess>(user.address, 64), Err(NtStatus::ACCESS_VIOLATION), "but not a new probe");
    kernel.protect_user_buffer(user, UserProtection::ReadOnly);
    let read =
        with_user_buffer::<ReadAccess, _>(user.address, 6, PagePriority::Normal, |input| input.read::<[u8; 6]>(0));
    assert_eq!(read, Ok(Ok(*b"locked")));
    kernel.assert_clean();
}

#[test]
fn pages_locked_before_the_user_frees_them_can_still_be_mapped() {
    // Found by the API-sequence fuzzer (tests/fuzz_api.rs): the model mapped
    // the freed user addresses instead of the locked pages, and the first
    // touch of the system mapping faulted (SIGSEGV) on the host.
    let kernel = Kernel::new();
    let user = kernel.user_buffer(3 * PAGE);
    kernel.write_user(user.at(2 * PAGE), b"pinned");
    let mut locked = Mdl::for_user_buffer(user.address, 3 * PAGE).unwrap().lock::<WriteAccess>().unwrap();
    kernel.free_user_buffer(user); // VirtualFree before the driver maps the MDL
    let mut mapping = locked.map(PagePriority::Normal).unwrap();
    assert_ne!(mapping.as_ptr() as usize, user.address, "a system mapping of the pages, not the user addresses");
    assert_eq!(mapping.read::<[u8; 6]>(2 * PAGE), Ok(*b"pinned"));
    assert_eq!(mapping.write_bytes(2 * PAGE + 8, b"still"), Ok(()));
    drop(mapping);
    drop(locked);
    kernel.assert_clean();
}
