//! Pageable code: a `pageable_fn!` in the `PAGE` section (the PE test checks
//! it is pageable code), run at DISPATCH_LEVEL under the section's lock.
//! Under Wine `MmLockPagableDataSection` aborts winedevice.exe: the client
//! sends this IOCTL only when the kernel is not Wine's.

use wdm_mem::{
    Irql, NtResult, pageable_fn,
    paging::{PageCodeGuard, lock_page_code},
};

use crate::{irp::DeviceControl, protocol::PAGE_CODE_INPUT};

pageable_fn! {
    /// The sum of `(i + 1) * byte`: code that pages out between requests.
    fn weigh(code: &PageCodeGuard, bytes: &[u8]) -> u64 {
        bytes.iter().enumerate().map(|(i, &b)| (i as u64 + 1) * u64::from(b)).sum()
    }
}

fn run() -> NtResult<u64> {
    let code = lock_page_code()?;
    // `black_box`: with a constant input LLVM would compute the answer at
    // compile time and drop the function (and its PAGE code).
    Irql::run_raised(Irql::DISPATCH, || weigh(&code, core::hint::black_box(&PAGE_CODE_INPUT)))
}

/// IOCTL_PAGING_CODE.
pub fn code_ioctl(request: &DeviceControl) -> (wdm_mem::NtStatus, usize) {
    match run() {
        Ok(sum) => request.reply(&sum),
        Err(status) => (status, 0),
    }
}
