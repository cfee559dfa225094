//! Interrupt request levels: [`Irql`], the documented maxima, and runtime
//! checks that return an error instead of letting a call corrupt the system.
//!
//! Every function of this crate states its IRQL contract in an `# IRQL`
//! section and checks it on entry with [`Irql::ensure_at_most`]: a call above
//! its maximum returns [`NtStatus::INVALID_LEVEL`] and touches nothing.

use core::fmt;

use crate::{NtResult, NtStatus, sys};

/// An IRQL (`KIRQL`) of the x64 kernel.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Irql(u8);

impl Irql {
    /// `PASSIVE_LEVEL` (0): threads run here; everything may page.
    pub const PASSIVE: Irql = Irql(0);
    /// `APC_LEVEL` (1): APCs masked; paged memory may still be touched.
    pub const APC: Irql = Irql(1);
    /// `DISPATCH_LEVEL` (2): no page faults allowed; non-paged memory only.
    pub const DISPATCH: Irql = Irql(2);
    /// `HIGH_LEVEL` (15), the highest IRQL on x64.
    pub const HIGH: Irql = Irql(15);

    /// An IRQL from its number; `None` above [`Irql::HIGH`].
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn new(level: u8) -> Option<Irql> {
        if level <= Self::HIGH.0 { Some(Irql(level)) } else { None }
    }

    /// The number of this level.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn level(self) -> u8 {
        self.0
    }

    /// The IRQL of the current processor (`KeGetCurrentIrql`).
    ///
    /// # IRQL
    /// Any.
    pub fn current() -> Irql {
        // SAFETY: KeGetCurrentIrql reads the current processor's IRQL and has no
        // precondition.
        Irql(unsafe { sys::KeGetCurrentIrql() })
    }

    /// `Ok(())` if the current IRQL is at most `max`, else
    /// [`NtStatus::INVALID_LEVEL`].
    ///
    /// # IRQL
    /// Any.
    pub fn ensure_at_most(max: Irql) -> NtResult<()> {
        if Self::current() <= max { Ok(()) } else { Err(NtStatus::INVALID_LEVEL) }
    }

    /// Runs `f` with the IRQL raised to `to` (`KeRaiseIrql`), then lowers it
    /// back (`KeLowerIrql`) to where it was.
    ///
    /// A closure, not a guard: raises and lowers are then always properly
    /// nested, which two guards dropped in the wrong order would break. The
    /// raise and the lower are compiler barriers (CR8 writes that clobber
    /// memory): no load or store of `f` moves out of the raised section, and
    /// none from around it moves in.
    /// Raising to a lower level than the current one is a bug check (0xC4,
    /// 0x30) in the kernel; here it is [`NtStatus::INVALID_LEVEL`] and `f` is
    /// not run.
    ///
    /// # IRQL
    /// At most `to`.
    pub fn run_raised<R>(to: Irql, f: impl FnOnce() -> R) -> NtResult<R> {
        if to < Self::current() {
            return Err(NtStatus::INVALID_LEVEL);
        }
        // SAFETY: `to` is a valid IRQL not below the current one, as KfRaiseIrql
        // requires.
        let previous = unsafe { sys::KfRaiseIrql(to.0) };
        let result = f();
        // SAFETY: `f` returned, so every raise inside it was matched by its
        // lower: the IRQL is `to` again, at least `previous`, on this processor.
        unsafe { sys::KeLowerIrql(previous) };
        Ok(result)
    }
}

impl fmt::Debug for Irql {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("PASSIVE_LEVEL"),
            1 => f.write_str("APC_LEVEL"),
            2 => f.write_str("DISPATCH_LEVEL"),
            15 => f.write_str("HIGH_LEVEL"),
            level => write!(f, "IRQL {level}"),
        }
    }
}
