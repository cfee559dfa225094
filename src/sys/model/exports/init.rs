//! The model's side of `INIT` data: discarded when the first `INIT` token
//! ends; a later touch is the page fault Windows would take on the freed
//! pages.

use std::format;

use super::super::{kernel::with_state, verifier::BugCheck};
use crate::sys::PVOID;

/// Model hook: `DriverEntry`'s `INIT` token has ended: the section is
/// discarded from now on.
pub fn note_init_discarded() {
    with_state(|state| state.init_discarded = true);
}

/// Model hook: a read of `size` bytes of `INIT` data at `address`; after the
/// discard, 0x50 PAGE_FAULT_IN_NONPAGED_AREA (address, 0: a read).
pub fn note_init_access(address: PVOID, size: usize) {
    with_state(|state| {
        if state.init_discarded {
            state.violation(
                BugCheck::PAGE_FAULT_IN_NONPAGED_AREA,
                [address as u64, 0, 0, 0],
                format!("read of {size} byte(s) of INIT data at {address:p} after DriverEntry returned (discarded)"),
            );
        }
    });
}
