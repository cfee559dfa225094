//! The IRQL on x64 is the CR8 register: `KeGetCurrentIrql`, `KfRaiseIrql` and
//! `KeLowerIrql` are `FORCEINLINE` in the WDK's `wdm.h`, so neither wdk-sys nor
//! the generated bindings have them. Written once here for both Windows
//! providers. (Wine emulates `mov cr8`: reads give 0, writes are ignored.)
//!
//! A write of CR8 is a compiler barrier, as Linux's `native_write_cr8` (a
//! `"memory"` clobber) and the WDK's `__writecr8` intrinsic are: the `asm!`
//! of a write has no `nomem`, so the compiler assumes it reads and writes
//! any memory and moves no load or store across the IRQL change. Without
//! that, a store meant to happen at DISPATCH_LEVEL (under a raise that
//! keeps a DPC or this processor's other code out) could be sunk below the
//! lower, or merged away. The read (`KeGetCurrentIrql`) keeps `nomem`: it
//! changes nothing that memory accesses could be ordered against.

use core::arch::asm;

use super::KIRQL;

/// `KeGetCurrentIrql`: reads CR8.
///
/// # Safety
/// Kernel mode (CPL 0), or Wine's emulation of the instruction.
#[inline]
pub unsafe fn KeGetCurrentIrql() -> KIRQL {
    let irql: u64;
    // SAFETY: reading CR8 has no side effect; the caller runs in kernel mode.
    unsafe { asm!("mov {}, cr8", out(reg) irql, options(nomem, nostack, preserves_flags)) };
    irql as KIRQL
}

/// `KfRaiseIrql`: sets CR8 to `new_irql`, returns the previous IRQL.
///
/// # Safety
/// `new_irql` is not below the current IRQL; the caller lowers it back.
#[inline]
pub unsafe fn KfRaiseIrql(new_irql: KIRQL) -> KIRQL {
    // SAFETY: the caller's contract is KfRaiseIrql's.
    let previous = unsafe { KeGetCurrentIrql() };
    // SAFETY: as above; writing CR8 changes only the interrupt mask. No
    // `nomem`: the write is a compiler barrier (see the module docs).
    unsafe { asm!("mov cr8, {}", in(reg) new_irql as u64, options(nostack, preserves_flags)) };
    previous
}

/// `KeLowerIrql`: sets CR8 back to `new_irql`.
///
/// # Safety
/// `new_irql` is not above the current IRQL and is the level a matching raise
/// returned.
#[inline]
pub unsafe fn KeLowerIrql(new_irql: KIRQL) {
    // SAFETY: the caller's contract is KeLowerIrql's. No `nomem`: the write
    // is a compiler barrier (see the module docs).
    unsafe { asm!("mov cr8, {}", in(reg) new_irql as u64, options(nostack, preserves_flags)) };
}
