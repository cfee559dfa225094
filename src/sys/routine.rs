//! Kernel exports resolved at run time with `MmGetSystemRoutineAddress`, for
//! the routines that older Windows (and Wine) lack: importing them statically
//! would stop the driver from loading there.

use core::sync::atomic::{AtomicUsize, Ordering};

use super::{MmGetSystemRoutineAddress, PWSTR, UNICODE_STRING};

/// A kernel export looked up by name on first use.
///
/// # Invariants
/// `state` is `UNRESOLVED`, `ABSENT`, or the address the kernel returned
/// for `name`, which is a function (or, for a data export, a variable) of
/// the type the user of the routine casts it to (each `RuntimeRoutine`
/// static is declared next to that type).
pub struct RuntimeRoutine {
    name: &'static [u16],
    state: AtomicUsize,
}

const UNRESOLVED: usize = 0;
const ABSENT: usize = 1;

impl RuntimeRoutine {
    /// A routine named by `name`, UTF-16 without terminator (see [`utf16`]).
    pub const fn new(name: &'static [u16]) -> Self {
        Self { name, state: AtomicUsize::new(UNRESOLVED) }
    }

    /// The routine's address, or `None` if the running kernel does not export
    /// it.
    ///
    /// `MmGetSystemRoutineAddress` may only be called at PASSIVE_LEVEL, so
    /// `at_passive` must say whether the caller is there: above it, an
    /// unresolved routine is reported absent for this call only (the caller
    /// takes its fallback) and the lookup happens on a later call at
    /// PASSIVE_LEVEL. With the kernel model the answer is never cached, so
    /// each test can present its own set of exports.
    pub fn address(&self, at_passive: bool) -> Option<usize> {
        self.address_lazy(|| at_passive)
    }

    /// [`address`](Self::address), asking `at_passive` only while the
    /// routine is unresolved: once resolved (present or absent), no IRQL
    /// read is needed on later calls.
    #[inline]
    pub fn address_lazy(&self, at_passive: impl FnOnce() -> bool) -> Option<usize> {
        match self.state.load(Ordering::Acquire) {
            ABSENT => return None,
            UNRESOLVED => {}
            address => return Some(address),
        }
        if !at_passive() {
            return None;
        }
        let mut name = UNICODE_STRING {
            Length: (self.name.len() * 2) as u16,
            MaximumLength: (self.name.len() * 2) as u16,
            Buffer: self.name.as_ptr() as PWSTR,
        };
        // SAFETY: `name` is a valid counted string that outlives the call, and
        // the caller is at PASSIVE_LEVEL (`at_passive`).
        let address = unsafe { MmGetSystemRoutineAddress(&mut name) } as usize;
        if cfg!(not(wdm_provider = "model")) {
            let state = if address == 0 { ABSENT } else { address };
            self.state.store(state, Ordering::Release);
        }
        (address != 0).then_some(address)
    }
}

/// An ASCII name as UTF-16, at compile time: `utf16(b"ExAllocatePool2")`.
pub const fn utf16<const N: usize>(ascii: &[u8; N]) -> [u16; N] {
    let mut wide = [0u16; N];
    let mut i = 0;
    while i < N {
        assert!(ascii[i].is_ascii(), "routine names are ASCII");
        wide[i] = ascii[i] as u16;
        i += 1;
    }
    wide
}
