//! Checks of the paging IOCTLs.
//!
//! `IOCTL_PAGING_ENTIRE_DRIVER` is always sent: Wine 8's `MmPageEntireDriver`
//! and `MmResetDriverPaging` just return, so the driver's path to them
//! (imports, ABI, its exclusion of DISPATCH_LEVEL code) runs for real.
//! `IOCTL_PAGING_WRITE` and `IOCTL_PAGING_READ` call
//! `MmLockPagableDataSection`, an unimplemented stub in Wine 8 that aborts
//! `winedevice.exe`, the driver's whole process: under Wine the hardened
//! driver refuses them with `STATUS_NOT_SUPPORTED` (unless built with its
//! `allow-aborting-routines` feature), and the check sends them to see that
//! refusal; elsewhere it checks what they do (never in this repository,
//! which has no Windows; the host tests, `tests/paging.rs`, run the same
//! calls against the kernel model).
use crate::protocol::{IOCTL_PAGING_ENTIRE_DRIVER, IOCTL_PAGING_READ, IOCTL_PAGING_WRITE, PagingReply, PagingRequest};
use crate::{Driver, expect, ioctl};
use core::mem::size_of;

/// What the lock check stores in the driver's pageable static.
pub const PAGED_VALUE: u64 = 0x5EED_CAFE_F00D;

/// On a kernel that implements them, the driver stores a value in its
/// pageable static under the exclusive lock (MmLockPagableDataSection), then
/// reads it back under shared locks, one of them taken by handle and read at
/// DISPATCH_LEVEL.
pub fn paging_locks_unless_wine(driver: &dyn Driver) -> Result<String, String> {
    if driver.kernel_is_wine() == Some(true) {
        return refused_under_wine(driver, &[IOCTL_PAGING_WRITE, IOCTL_PAGING_READ]);
    }
    let request = PagingRequest { value: PAGED_VALUE };
    let written: PagingReply = ioctl(driver, IOCTL_PAGING_WRITE, Some(&request)).map_err(|e| e.to_string())?;
    expect("written value", written.value, PAGED_VALUE)?;
    let read: PagingReply = ioctl::<(), _>(driver, IOCTL_PAGING_READ, None).map_err(|e| e.to_string())?;
    expect("value", read.value, PAGED_VALUE)?;
    expect("value_at_dispatch", read.value_at_dispatch, PAGED_VALUE)?;
    expect("handle_was_cached", read.handle_was_cached, 1)?;
    Ok(format!("{PAGED_VALUE:#x} written under the exclusive lock, read back by handle and at DISPATCH_LEVEL"))
}

/// Win32 `ERROR_NOT_SUPPORTED`: `STATUS_NOT_SUPPORTED` out of `DeviceIoControl`.
pub const ERROR_NOT_SUPPORTED: u32 = 50;

/// Under Wine the hardened driver refuses the IOCTLs that would reach
/// `MmLockPagableDataSection` (it aborts winedevice.exe) with
/// `STATUS_NOT_SUPPORTED`, well-formed or not, unless it was built with its
/// `allow-aborting-routines` feature (never in this repository's tests).
pub fn refused_under_wine(driver: &dyn Driver, codes: &[u32]) -> Result<String, String> {
    let request = PagingRequest { value: PAGED_VALUE };
    for &code in codes {
        let input = if code == IOCTL_PAGING_WRITE { crate::as_bytes(&request) } else { &[] };
        let mut reply = [0u8; size_of::<PagingReply>()];
        let got = driver.device_io_control(code, input, &mut reply);
        if got != Err(ERROR_NOT_SUPPORTED) {
            return Err(format!("IOCTL {code:#x} under Wine: {got:?}, expected win32 error {ERROR_NOT_SUPPORTED}"));
        }
    }
    Ok(format!("{} IOCTLs refused under Wine with STATUS_NOT_SUPPORTED (MmLockPagableDataSection aborts)", codes.len()))
}

/// The driver makes its whole image pageable, then resets it.
pub fn paging_entire_driver(driver: &dyn Driver) -> Result<String, String> {
    let reply: PagingReply = ioctl::<(), _>(driver, IOCTL_PAGING_ENTIRE_DRIVER, None).map_err(|e| e.to_string())?;
    expect("entire_driver_paged", reply.entire_driver_paged, 1)?;
    Ok("MmPageEntireDriver, then MmResetDriverPaging".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A driver that refuses every IOCTL, as a build without the paging
    /// IOCTLs would (`STATUS_INVALID_DEVICE_REQUEST`: Win32 error 1).
    struct Refusing;

    impl Driver for Refusing {
        fn device_io_control(&self, _: u32, _: &[u8], _: &mut [u8]) -> Result<usize, u32> {
            Err(1)
        }
        fn read_named_section(&self, _: &str, _: usize) -> Result<Vec<u8>, u32> {
            Err(2)
        }
    }

    #[test]
    fn a_driver_without_the_ioctl_fails_the_check() {
        let reason = paging_entire_driver(&Refusing).unwrap_err();
        assert!(reason.contains("win32 error 1"), "{reason}");
        let reason = paging_locks_unless_wine(&Refusing).unwrap_err();
        assert!(reason.contains("win32 error 1"), "{reason}");
    }

    /// Wine: the hardened driver refuses the lock IOCTLs (they would abort
    /// the driver's process) with `STATUS_NOT_SUPPORTED`; one that runs
    /// them fails the check.
    struct RefusingWine(Result<usize, u32>);

    impl Driver for RefusingWine {
        fn device_io_control(&self, _: u32, _: &[u8], _: &mut [u8]) -> Result<usize, u32> {
            self.0
        }
        fn read_named_section(&self, _: &str, _: usize) -> Result<Vec<u8>, u32> {
            Err(2)
        }
        fn kernel_is_wine(&self) -> Option<bool> {
            Some(true)
        }
    }

    #[test]
    fn under_wine_the_lock_ioctls_are_refused() {
        assert!(paging_locks_unless_wine(&RefusingWine(Err(ERROR_NOT_SUPPORTED))).unwrap().contains("refused"));
        assert!(paging_locks_unless_wine(&RefusingWine(Ok(32))).is_err());
        assert!(paging_code_refused(&RefusingWine(Err(ERROR_NOT_SUPPORTED))).is_ok());
    }

    fn paging_code_refused(driver: &dyn Driver) -> Result<String, String> {
        crate::routines_checks::paging_code_unless_wine(driver)
    }
}
