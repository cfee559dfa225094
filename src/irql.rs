//! Interrupt request levels: [`Irql`], the documented maxima, and the
//! crate's one policy for checking them at run time.
//!
//! Every function of this crate states its IRQL contract in an `# IRQL`
//! section. Whether the contract is also *checked* at run time is decided
//! here, once, for the whole crate ([`Irql::CHECKED`]):
//!
//! | build | runtime IRQL checks |
//! |---|---|
//! | the kernel model (`cargo test`, feature `model`) | always on |
//! | debug (`debug_assertions`) | on |
//! | release with the feature `irql-checks` | on |
//! | release (the configuration recommended for shipping) | off |
//!
//! **Checked**, a call above its maximum returns [`NtStatus::INVALID_LEVEL`]
//! and touches nothing, and a `Drop` above its maximum leaks what it owns
//! without touching it (see the pool's `release.rs`). Each check reads CR8
//! (`KeGetCurrentIrql`): a few cycles on Windows, but a trapped and emulated
//! instruction under Wine (microseconds), and more than the inline `wdm.h`
//! fast paths a C driver runs cost.
//!
//! **Unchecked**, the crate does what a C driver does: no CR8 read, and a call
//! above its IRQL reaches the kernel (or the memory) at that IRQL, with the
//! kernel's consequences, which are bug checks, as for the same mistake in C:
//! a touch of paged memory (a paged pool block or lookaside entry, a
//! pageable section, a view) above APC_LEVEL is `IRQL_NOT_LESS_OR_EQUAL`
//! (0x0A) or `DRIVER_IRQL_NOT_LESS_OR_EQUAL` (0xD1) when the page is not
//! resident, and every time under Driver Verifier (its IRQL checking trims
//! pageable memory at every raise); a pool call above its pool's IRQL is
//! `BAD_POOL_CALLER` (0xC2) or, under Driver Verifier, 0xC4 with its IRQL
//! codes; every other kernel routine called above its documented IRQL is
//! reported by Driver Verifier's IRQL checking (0xC4), and without Driver
//! Verifier the kernel's behaviour is that routine's (typically one of the
//! bug checks above, but not promised). Test drivers with the checks on
//! (debug builds, or `irql-checks`), or under Driver Verifier.
//!
//! What is never compiled out: an IRQL read that decides *what* to do
//! rather than whether the call is allowed (the pool reads it, only until
//! `ExAllocatePool2` is resolved, to know whether it may call
//! `MmGetSystemRoutineAddress`), and [`Irql::run_raised`]'s check that it
//! does not lower the IRQL: `KfRaiseIrql` to a lower level is a bug check
//! (0x09) only on checked kernels and under Verifier, while the inline raise
//! (a CR8 write) would silently *lower* the level, breaking the exclusion the
//! caller's raise stands for (one CR8 read per raise, off the hot paths).

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

    /// Whether this build checks IRQL contracts at run time: the kernel
    /// model, debug builds, and release builds with the feature
    /// `irql-checks` (see the [module documentation](self)).
    pub const CHECKED: bool = cfg!(any(wdm_provider = "model", debug_assertions, feature = "irql-checks"));

    /// The IRQL of the current processor (`KeGetCurrentIrql`).
    ///
    /// # IRQL
    /// Any.
    pub fn current() -> Irql {
        // SAFETY: KeGetCurrentIrql reads the current processor's IRQL and has no
        // precondition.
        Irql(unsafe { sys::KeGetCurrentIrql() })
    }

    /// The crate's IRQL check: when [`Irql::CHECKED`], `Ok(())` if the
    /// current IRQL is at most `max`, else [`NtStatus::INVALID_LEVEL`];
    /// unchecked, `Ok(())` without reading the IRQL (a call above its
    /// maximum then has the kernel's consequences, see the [module
    /// documentation](self)).
    ///
    /// # IRQL
    /// Any.
    #[inline(always)]
    pub fn ensure_at_most(max: Irql) -> NtResult<()> {
        if !Self::CHECKED || Self::current() <= max { Ok(()) } else { Err(NtStatus::INVALID_LEVEL) }
    }

    /// [`Irql::ensure_at_most`] with a maximum that is computed only when
    /// the build checks (for a maximum read from memory, such as a
    /// lookaside list's pool: unchecked, not even that load remains).
    #[inline(always)]
    pub(crate) fn ensure_at_most_of(max: impl FnOnce() -> Irql) -> NtResult<()> {
        if Self::CHECKED { Self::ensure_at_most(max()) } else { Ok(()) }
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
    /// 0x30) under Driver Verifier, and a silent lowering with the inline
    /// raise; here it is [`NtStatus::INVALID_LEVEL`] and `f` is not run, in
    /// every build (one CR8 read, off the crate's hot paths).
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
