//! `MmLockPagableDataSection`, `MmLockPagableSectionByHandle`,
//! `MmUnlockPagableImageSection`, `MmPageEntireDriver`, `MmResetDriverPaging`,
//! and the two model hooks `crate::paging` calls (no-ops on real kernels,
//! see `src/sys/paging.rs`).

use std::format;

use super::{
    super::{irql, kernel::State, kernel::with_state, paging, verifier::BugCheck},
    irql_above,
};
use crate::sys::PVOID;

/// Parameter 1 of the model's own check (0xC4) for a section handle that
/// no `MmLockPagableDataSection` returned (Windows would dereference it as
/// an `IMAGE_SECTION_HEADER` and fault somewhere).
const UNKNOWN_SECTION_HANDLE: u64 = 0x1_0011;

/// The documented maximum of every routine here: `APC_LEVEL`.
const APC_LEVEL: u8 = 1;

/// The section a handle names, or a violation.
fn known_handle(state: &mut State, routine: &str, handle: PVOID) -> Option<usize> {
    let index = paging::index_of(handle as usize);
    if index.is_none() {
        state.violation(
            BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION,
            [UNKNOWN_SECTION_HANDLE, handle as u64, 0, 0],
            format!("{routine}({handle:p}): not a handle MmLockPagableDataSection returned"),
        );
    }
    index
}

/// `MmLockPagableDataSection`: locks the whole section holding the address
/// (count + 1) and returns its handle. An address in no section is what
/// Windows bug-checks with `MEMORY_MANAGEMENT` (0x1A), parameter 1 0x1234
/// (WRK `iosup.c`); the model knows only the sections of `pageable_static!`
/// data (and of addresses passed to `note_pageable_static`).
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn MmLockPagableDataSection(AddressWithinSection: PVOID) -> PVOID {
    with_state(|state| {
        if irql_above(state, "MmLockPagableDataSection", APC_LEVEL) {
            return core::ptr::null_mut();
        }
        let Some(index) = paging::section_at(AddressWithinSection as usize) else {
            state.violation(
                BugCheck::MEMORY_MANAGEMENT,
                [0x1234, AddressWithinSection as u64, 0, 0],
                format!(
                    "MmLockPagableDataSection({AddressWithinSection:p}): the address lies in no section of the driver"
                ),
            );
            return core::ptr::null_mut();
        };
        state.paging.lock(index, false);
        paging::handle_of(index) as PVOID
    })
}

/// `MmLockPagableSectionByHandle`: count + 1; at zero the section is paged
/// back in (seed 001).
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn MmLockPagableSectionByHandle(ImageSectionHandle: PVOID) {
    with_state(|state| {
        if irql_above(state, "MmLockPagableSectionByHandle", APC_LEVEL) {
            return;
        }
        if let Some(index) = known_handle(state, "MmLockPagableSectionByHandle", ImageSectionHandle) {
            state.paging.lock(index, true);
        }
    })
}

/// `MmUnlockPagableImageSection`: count - 1; at zero the section may be
/// paged out (the model pages it out at once).
///
/// An unlock at count zero: Windows's `MmUnlockPagableImageSection` (WRK
/// `iosup.c`) bug-checks `MEMORY_MANAGEMENT` (0x1A) with parameter 1 0x1010
/// (then the section's base, its header, the count) when its decrement
/// leaves the section's lock count below one. Depending on the count's
/// internal encoding an extra unlock either raises exactly that, or wraps
/// the count so that later locks no longer lock anything (and the driver
/// dies later of 0xD1 at DISPATCH_LEVEL). The model raises 0x1A/0x1010 at
/// the faulty unlock, where the bug is.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn MmUnlockPagableImageSection(ImageSectionHandle: PVOID) {
    with_state(|state| {
        if irql_above(state, "MmUnlockPagableImageSection", APC_LEVEL) {
            return;
        }
        let Some(index) = known_handle(state, "MmUnlockPagableImageSection", ImageSectionHandle) else {
            return;
        };
        if !state.paging.unlock(index) {
            state.violation(
                BugCheck::MEMORY_MANAGEMENT,
                [0x1010, paging::base_of(index) as u64, ImageSectionHandle as u64, 0],
                format!("MmUnlockPagableImageSection({ImageSectionHandle:p}): the section is not locked (more unlocks than locks)"),
            );
        }
    })
}

/// `MmPageEntireDriver`: the whole driver becomes pageable. Returns the
/// address it was given (Wine's answer; Windows returns the image base),
/// NULL for NULL (an address in no loaded module).
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn MmPageEntireDriver(AddressWithinSection: PVOID) -> PVOID {
    with_state(|state| {
        if irql_above(state, "MmPageEntireDriver", APC_LEVEL) || AddressWithinSection.is_null() {
            return core::ptr::null_mut();
        }
        state.paging.entire_driver_pageable = true;
        AddressWithinSection
    })
}

/// `MmResetDriverPaging`: back to the paging the image's sections specify
/// (nothing to undo if `MmPageEntireDriver` was not called, as documented).
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn MmResetDriverPaging(_AddressWithinSection: PVOID) {
    with_state(|state| {
        if !irql_above(state, "MmResetDriverPaging", APC_LEVEL) {
            state.paging.entire_driver_pageable = false;
        }
    })
}

/// Model hook: `size` bytes at `address` lie in the image section `section`
/// (a real kernel reads this from the image; see `src/sys/paging.rs`).
pub fn note_pageable_static(section: &'static str, address: PVOID, size: usize) {
    paging::register(section, address as usize, size);
}

/// Model hook: the driver touches `size` bytes of pageable data at
/// `address` through a lock guard. Above `APC_LEVEL` with the section's
/// count at zero, Windows takes a page fault it cannot service:
/// `DRIVER_IRQL_NOT_LESS_OR_EQUAL` (0xD1: address, IRQL, 0 read / 1 write).
/// The model sees only the touches that go through `crate::paging`'s guards.
pub fn note_pageable_access(address: PVOID, size: usize, write: bool) {
    let Some(index) = paging::section_at(address as usize) else {
        return;
    };
    with_state(|state| {
        let level = irql::get();
        if state.paging.touch(index, level).is_err() {
            let what = "pageable data (its section unlocked)";
            state.pageable_touch_at_raised_irql(address as usize, size, write, level, what);
        }
    });
}
