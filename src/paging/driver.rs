//! The whole driver pageable: `MmPageEntireDriver`, undone by
//! `MmResetDriverPaging` when [`EntireDriverPageable`] drops.

use crate::{Irql, NtResult, NtStatus, sys};

/// An address inside this driver's image: this crate is linked into it.
fn address_within_driver() -> sys::PVOID {
    address_within_driver as *const () as sys::PVOID
}

/// Makes the whole driver pageable, code and data, whatever its sections
/// say (`MmPageEntireDriver`), until the guard drops (`MmResetDriverPaging`).
///
/// For a driver whose device is idle for long periods. Calls do not nest in
/// the kernel (it keeps no count: a second `MmPageEntireDriver` changes
/// nothing, and the first `MmResetDriverPaging` undoes all), so with two
/// guards alive the first drop makes the driver resident again: the safe
/// direction.
///
/// Errors: [`NtStatus::INVALID_LEVEL`] above `PASSIVE_LEVEL` (the routine
/// is documented for `<= APC_LEVEL`, but flushes queued DPCs with
/// `KeFlushQueuedDpcs`, a `PASSIVE_LEVEL` routine), and
/// [`NtStatus::UNSUCCESSFUL`] if the kernel finds no driver at this address
/// (NULL).
///
/// ```
/// # let kernel = wdm_mem::model::Kernel::new();
/// // SAFETY: this driver connects no interrupt, queues no DPC or timer and
/// // takes no spin lock: none of its code runs above APC_LEVEL.
/// let idle = unsafe { wdm_mem::paging::page_entire_driver() }?;
/// # assert!(kernel.entire_driver_pageable());
/// drop(idle); // MmResetDriverPaging
/// # assert!(!kernel.entire_driver_pageable());
/// # kernel.assert_clean();
/// # Ok::<(), wdm_mem::NtStatus>(())
/// ```
///
/// # Safety
/// Until the guard drops, none of the driver's code runs above
/// `APC_LEVEL` and none of its data is touched there: no interrupt service
/// routine connected, no DPC, timer or completion routine that may run at
/// `DISPATCH_LEVEL`, no spin lock taken, no [`Irql::run_raised`] above
/// `APC_LEVEL`, on any thread. (A page fault there is a bug check, 0xD1.)
///
/// # IRQL
/// `PASSIVE_LEVEL`; the guard is dropped at `<= APC_LEVEL` (above it, the
/// reset is skipped and the driver stays pageable).
pub unsafe fn page_entire_driver() -> NtResult<EntireDriverPageable> {
    Irql::ensure_at_most(Irql::PASSIVE)?;
    // SAFETY: an address inside this driver, at PASSIVE_LEVEL; the caller
    // keeps the driver's code and data below DISPATCH_LEVEL meanwhile.
    let base = unsafe { sys::MmPageEntireDriver(address_within_driver()) };
    if base.is_null() {
        return Err(NtStatus::UNSUCCESSFUL);
    }
    Ok(EntireDriverPageable { _private: () })
}

/// The whole driver is pageable while this lives (see
/// [`page_entire_driver`]); dropping it calls `MmResetDriverPaging`.
///
/// # Invariants
/// `MmPageEntireDriver` succeeded for this driver when the value was made;
/// `Drop` resets the paging once. Not `Clone`.
#[derive(Debug)]
pub struct EntireDriverPageable {
    _private: (),
}

impl Drop for EntireDriverPageable {
    fn drop(&mut self) {
        if Irql::ensure_at_most(Irql::APC).is_ok() {
            // SAFETY: an address inside this driver, at <= APC_LEVEL when
            // `Irql::CHECKED` (unchecked, a drop above is the kernel's bug
            // check: `crate::irql`).
            unsafe { sys::MmResetDriverPaging(address_within_driver()) };
        }
    }
}
