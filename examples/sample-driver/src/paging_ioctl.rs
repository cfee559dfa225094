//! The pageable-data IOCTLs: a static in the driver's `PAGEDATA` section,
//! written under the exclusive lock, read under two nested shared locks
//! (the second by handle) of which one is used at DISPATCH_LEVEL; and the
//! whole image made pageable and reset.
//!
//! Under Wine, `MmLockPagableDataSection` is an unimplemented stub that
//! aborts the driver's process: the client never sends
//! `IOCTL_PAGING_WRITE` or `IOCTL_PAGING_READ` there (they are for
//! Windows; the host tests cover the same calls against the kernel model).
//! `IOCTL_PAGING_ENTIRE_DRIVER` runs under Wine, whose `MmPageEntireDriver`
//! and `MmResetDriverPaging` do nothing.

use core::sync::atomic::{AtomicUsize, Ordering};

use wdm_mem::{Irql, NtResult, NtStatus, pageable_static, paging};

use crate::{
    irp::DeviceControl,
    protocol::{PagingReply, PagingRequest},
};

/// The pageable static's value.
struct Journal {
    value: u64,
    writes: u64,
}

pageable_static! {
    /// Used only by the two IOCTLs below: paged out whenever neither runs.
    static JOURNAL: Journal = Journal { value: 0, writes: 0 };
}

/// How many requests run this driver's code at DISPATCH_LEVEL, or
/// [`IMAGE_PAGEABLE`] while the whole image is pageable. The two exclude
/// each other: that is what keeps `page_entire_driver`'s promise.
static RAISED: AtomicUsize = AtomicUsize::new(0);
const IMAGE_PAGEABLE: usize = usize::MAX;

/// IOCTL_PAGING_WRITE.
pub fn write_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    let Some(input) = request.input::<PagingRequest>() else {
        return (NtStatus::INVALID_PARAMETER, 0);
    };
    answer(request, write(input.value))
}

/// IOCTL_PAGING_READ.
pub fn read_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    answer(request, read())
}

/// IOCTL_PAGING_ENTIRE_DRIVER.
pub fn entire_driver_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    answer(request, page_entire_driver_once())
}

fn answer(request: &DeviceControl, reply: NtResult<PagingReply>) -> (NtStatus, usize) {
    match reply {
        Ok(reply) => request.reply(&reply),
        Err(status) => (status, 0),
    }
}

/// Stores `value` under the exclusive lock (the first lock of the driver's
/// life looks the section up; later ones go by handle).
fn write(value: u64) -> NtResult<PagingReply> {
    let handle_was_cached = JOURNAL.has_section_handle();
    let mut journal = JOURNAL.lock_mut()?;
    journal.value = value;
    journal.writes += 1;
    Ok(PagingReply {
        value: journal.value,
        writes: journal.writes,
        handle_was_cached: handle_was_cached.into(),
        ..PagingReply::default()
    })
}

/// Reads the value under a shared lock, then again under a second, nested
/// one (by handle: the count goes to two) at DISPATCH_LEVEL, where only a
/// locked section may be touched.
fn read() -> NtResult<PagingReply> {
    let handle_was_cached = JOURNAL.has_section_handle();
    let journal = JOURNAL.lock()?;
    let nested = JOURNAL.lock()?;
    let value_at_dispatch = at_dispatch(|| nested.value)?;
    drop(nested);
    Ok(PagingReply {
        value: journal.value,
        value_at_dispatch,
        writes: journal.writes,
        handle_was_cached: handle_was_cached.into(),
        ..PagingReply::default()
    })
}

/// Makes the whole image pageable, then resets it.
fn page_entire_driver_once() -> NtResult<PagingReply> {
    RAISED
        .compare_exchange(0, IMAGE_PAGEABLE, Ordering::Acquire, Ordering::Relaxed)
        .map_err(|_| NtStatus::INVALID_DEVICE_STATE)?;
    // SAFETY: `RAISED` holds IMAGE_PAGEABLE until the guard has dropped, so
    // no request runs this driver's code at DISPATCH_LEVEL meanwhile (the
    // only such code goes through `at_dispatch`), and the driver has no
    // interrupt, DPC, timer or spin lock of its own.
    let paged = unsafe { paging::page_entire_driver() }.map(drop);
    RAISED.store(0, Ordering::Release);
    paged.map(|()| PagingReply { entire_driver_paged: 1, ..PagingReply::default() })
}

/// Runs `f` at DISPATCH_LEVEL, unless the image is pageable right now.
fn at_dispatch<R>(f: impl FnOnce() -> R) -> NtResult<R> {
    RAISED
        .fetch_update(Ordering::Acquire, Ordering::Relaxed, |n| (n < IMAGE_PAGEABLE - 1).then(|| n + 1))
        .map_err(|_| NtStatus::INVALID_DEVICE_STATE)?;
    let result = Irql::run_raised(Irql::DISPATCH, f);
    RAISED.fetch_sub(1, Ordering::Release);
    result
}
