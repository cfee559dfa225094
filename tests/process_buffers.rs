//! User buffers belong to a simulated process: a probe reaches the buffers
//! of the process the thread runs in only; locked pages survive the user
//! freeing them and record the process they were locked in; a process that
//! exits with pages still locked is 0x76 PROCESS_HAS_LOCKED_PAGES; no code
//! runs in a process after it exits.

use wdm_mem::{
    NtResult, NtStatus,
    mdl::{LockAccess, Mdl, PagePriority, ReadAccess, WriteAccess},
    model::{BugCheck, Kernel},
};

const PAGE: usize = 4096;

fn user_lock<A: LockAccess>(address: usize, len: usize) -> NtResult<()> {
    Mdl::for_user_buffer(address, len)?.lock::<A>().map(drop)
}

#[test]
fn a_buffer_of_another_process_is_not_mapped_in_this_one() {
    let kernel = Kernel::new();
    let (a, b) = (kernel.create_process(), kernel.create_process());
    let buffer = a.user_buffer(&kernel, 64);
    assert_eq!(a.run(|| user_lock::<WriteAccess>(buffer.address, 64)), Ok(()), "in its own process");
    assert_eq!(b.run(|| user_lock::<ReadAccess>(buffer.address, 64)), Err(NtStatus::ACCESS_VIOLATION), "in another");
    assert_eq!(user_lock::<ReadAccess>(buffer.address, 64), Err(NtStatus::ACCESS_VIOLATION), "in the System process");
    kernel.assert_clean();
}

#[test]
fn kernel_user_buffer_belongs_to_the_current_process() {
    let kernel = Kernel::new();
    let process = kernel.create_process();
    let buffer = process.run(|| kernel.user_buffer(16));
    assert_eq!(process.run(|| user_lock::<ReadAccess>(buffer.address, 16)), Ok(()));
    assert_eq!(user_lock::<ReadAccess>(buffer.address, 16), Err(NtStatus::ACCESS_VIOLATION));
    kernel.assert_clean();
}

#[test]
fn the_seh_copies_and_the_process_share_one_check_of_buffers() {
    let kernel = Kernel::new();
    let (a, b) = (kernel.create_process(), kernel.create_process());
    let buffer = a.user_buffer(&kernel, 64);
    assert_eq!(a.write(buffer.address, b"mine"), Ok(()));
    assert_eq!(a.read(buffer.address, 4).as_deref(), Ok(&b"mine"[..]));
    assert_eq!(b.write(buffer.address, b"x"), Err(NtStatus::ACCESS_VIOLATION));
    kernel.assert_clean();
}

#[test]
fn locked_pages_survive_the_process_freeing_them_and_are_unlocked_in_time() {
    let kernel = Kernel::new();
    let process = kernel.create_process();
    let buffer = process.user_buffer(&kernel, 2 * PAGE);
    let mut locked =
        process.run(|| Mdl::for_user_buffer(buffer.address, 2 * PAGE).unwrap().lock::<WriteAccess>().unwrap());
    kernel.free_user_buffer(buffer); // the process's VirtualFree
    let mut mapping = locked.map(PagePriority::Normal).unwrap(); // any process: the pages are locked
    assert_eq!(mapping.write_bytes(0, b"kept"), Ok(()));
    assert_eq!(mapping.read::<[u8; 4]>(0), Ok(*b"kept"));
    drop(mapping);
    drop(locked.unlock().unwrap());
    process.exit();
    kernel.assert_clean();
}

#[test]
fn a_process_exiting_with_locked_pages_is_bug_check_0x76() {
    let kernel = Kernel::new();
    let process = kernel.create_process();
    let buffer = process.user_buffer(&kernel, 3 * PAGE);
    let locked = process.run(|| Mdl::for_user_buffer(buffer.address, 3 * PAGE).unwrap().lock::<ReadAccess>().unwrap());
    process.exit();
    let violations = kernel.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    let bug_check = violations[0].bug_check;
    assert_eq!(bug_check.code, BugCheck::PROCESS_HAS_LOCKED_PAGES);
    assert_eq!((bug_check.params[0], bug_check.params[2]), (0, 3));
    assert_eq!(user_lock::<ReadAccess>(buffer.address, 1), Err(NtStatus::ACCESS_VIOLATION), "freed at exit");
    drop(locked);
    let report = kernel.finish();
    assert_eq!(report.violations.len(), 1, "{:?}", report.violations);
}

/// With the old API only: fails on the code before buffers had a process
/// (the probe from another process locked the System process's buffer).
#[test]
fn a_system_process_buffer_is_not_reachable_from_a_user_process() {
    let kernel = Kernel::new();
    let other = kernel.create_process();
    let buffer = kernel.user_buffer(64);
    assert_eq!(other.run(|| user_lock::<ReadAccess>(buffer.address, 64)), Err(NtStatus::ACCESS_VIOLATION));
    assert_eq!(user_lock::<ReadAccess>(buffer.address, 64), Ok(()));
    kernel.assert_clean();
}

#[test]
fn no_thread_runs_in_an_exited_process() {
    let kernel = Kernel::new();
    let process = kernel.create_process();
    assert!(!process.has_exited());
    process.exit();
    assert!(process.has_exited());
    let ran = std::panic::catch_unwind(|| process.run(|| ()));
    let message = ran.expect_err("the model refuses to run code in an exited process");
    assert!(message.downcast_ref::<String>().is_some_and(|m| m.contains("has exited")), "{message:?}");
    kernel.assert_clean();
}
