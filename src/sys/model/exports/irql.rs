//! `KeGetCurrentIrql`, `KfRaiseIrql`, `KeLowerIrql`.

use std::format;

use super::super::{irql, kernel::with_state, verifier::BugCheck};
use crate::sys::KIRQL;

/// `KeGetCurrentIrql`.
///
/// # Safety
/// None beyond the kernel's; `unsafe` as the real routine is.
pub unsafe extern "system" fn KeGetCurrentIrql() -> KIRQL {
    irql::get()
}

/// `KfRaiseIrql`: a raise to a lower level is 0xC4/0x30.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn KfRaiseIrql(new_irql: KIRQL) -> KIRQL {
    let current = irql::get();
    if new_irql < current {
        with_state(|state| {
            state.violation(
                BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION,
                [0x30, u64::from(current), u64::from(new_irql), 0],
                format!("KeRaiseIrql from IRQL {current} to the lower IRQL {new_irql}"),
            )
        });
        return current;
    }
    irql::set(new_irql);
    current
}

/// `KeLowerIrql`: a lower to a higher level is 0xC4/0x31.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn KeLowerIrql(new_irql: KIRQL) {
    let current = irql::get();
    if new_irql > current {
        with_state(|state| {
            state.violation(
                BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION,
                [0x31, u64::from(current), u64::from(new_irql), 0],
                format!("KeLowerIrql from IRQL {current} to the higher IRQL {new_irql}"),
            )
        });
        return;
    }
    irql::set(new_irql);
}
