//! Checks of the paging IOCTLs that Wine can run.
//!
//! Only `IOCTL_PAGING_ENTIRE_DRIVER` is sent: Wine 8's `MmPageEntireDriver`
//! and `MmResetDriverPaging` just return, so the driver's path to them
//! (imports, ABI, its exclusion of DISPATCH_LEVEL code) runs for real.
//! `IOCTL_PAGING_WRITE` and `IOCTL_PAGING_READ` are never sent: they call
//! `MmLockPagableDataSection`, an unimplemented stub in Wine 8 that aborts
//! `winedevice.exe`, the driver's whole process. They are for Windows; the
//! host tests (`tests/paging.rs`) run the same calls against the kernel model.

use crate::protocol::{IOCTL_PAGING_ENTIRE_DRIVER, PagingReply};
use crate::{Driver, expect, ioctl};

/// The driver makes its whole image pageable, then resets it.
pub fn paging_entire_driver(driver: &dyn Driver) -> Result<String, String> {
    let reply: PagingReply = ioctl::<(), _>(driver, IOCTL_PAGING_ENTIRE_DRIVER, None).map_err(|e| e.to_string())?;
    expect("entire_driver_paged", reply.entire_driver_paged, 1)?;
    Ok("MmPageEntireDriver, then MmResetDriverPaging (lock IOCTLs not sent: Wine aborts in MmLockPagableDataSection)"
        .into())
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
    }
}
