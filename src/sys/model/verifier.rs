//! Violations and the report: each violation is the bug check Windows (with
//! Driver Verifier on) would raise, with its four parameters.

use std::{fmt, string::String, vec::Vec};

/// A bug check: the code and the four parameters Windows would show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BugCheck {
    /// The bug check code, e.g. `0xC4`.
    pub code: u32,
    /// Parameters 1 to 4; parameter 1 usually names the kind of violation.
    pub params: [u64; 4],
}

impl BugCheck {
    /// `IRQL_NOT_LESS_OR_EQUAL`.
    pub const IRQL_NOT_LESS_OR_EQUAL: u32 = 0x0A;
    /// `INVALID_KERNEL_HANDLE`.
    pub const INVALID_KERNEL_HANDLE: u32 = 0x93;
    /// `PROCESS_HAS_LOCKED_PAGES`.
    pub const PROCESS_HAS_LOCKED_PAGES: u32 = 0x76;
    /// `MULTIPLE_IRP_COMPLETE_REQUESTS`: an IRP completed twice.
    pub const MULTIPLE_IRP_COMPLETE_REQUESTS: u32 = 0x44;
    /// `BAD_POOL_CALLER`.
    pub const BAD_POOL_CALLER: u32 = 0xC2;
    /// `DRIVER_VERIFIER_DETECTED_VIOLATION`.
    pub const DRIVER_VERIFIER_DETECTED_VIOLATION: u32 = 0xC4;
    /// `DRIVER_IRQL_NOT_LESS_OR_EQUAL`.
    pub const DRIVER_IRQL_NOT_LESS_OR_EQUAL: u32 = 0xD1;
    /// `MEMORY_MANAGEMENT`: e.g. an unbalanced `MmUnlockPagableImageSection`
    /// (parameter 1 = 0x1010).
    pub const MEMORY_MANAGEMENT: u32 = 0x1A;
    /// `DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS`: e.g. a
    /// lookaside list not deleted before unload.
    pub const DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS: u32 = 0xCE;
    /// `KERNEL_SECURITY_CHECK_FAILURE`: e.g. a corrupted `LIST_ENTRY`
    /// (parameter 1 = 3).
    pub const KERNEL_SECURITY_CHECK_FAILURE: u32 = 0x139;
    /// `KMODE_EXCEPTION_NOT_HANDLED`: e.g. `MmProbeAndLockPages` raising
    /// outside `__try` (parameter 1: the exception code).
    pub const KMODE_EXCEPTION_NOT_HANDLED: u32 = 0x1E;
    /// `PAGE_FAULT_IN_NONPAGED_AREA`: e.g. a register access outside any I/O
    /// mapping (parameter 1: the address).
    pub const PAGE_FAULT_IN_NONPAGED_AREA: u32 = 0x50;
    /// `ATTEMPTED_WRITE_TO_READONLY_MEMORY`: e.g. a register write through a
    /// read-only I/O mapping (parameter 1: the address).
    pub const ATTEMPTED_WRITE_TO_READONLY_MEMORY: u32 = 0xBE;
    /// `DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS`: pages still locked at unload
    /// (parameter 3: the MDL, parameter 4: the pages).
    pub const DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS: u32 = 0xCB;

    /// The symbolic name of [`code`](Self::code), when the model raises it.
    pub fn name(&self) -> &'static str {
        match self.code {
            Self::IRQL_NOT_LESS_OR_EQUAL => "IRQL_NOT_LESS_OR_EQUAL",
            Self::INVALID_KERNEL_HANDLE => "INVALID_KERNEL_HANDLE",
            Self::PROCESS_HAS_LOCKED_PAGES => "PROCESS_HAS_LOCKED_PAGES",
            Self::BAD_POOL_CALLER => "BAD_POOL_CALLER",
            Self::DRIVER_VERIFIER_DETECTED_VIOLATION => "DRIVER_VERIFIER_DETECTED_VIOLATION",
            Self::DRIVER_IRQL_NOT_LESS_OR_EQUAL => "DRIVER_IRQL_NOT_LESS_OR_EQUAL",
            Self::MEMORY_MANAGEMENT => "MEMORY_MANAGEMENT",
            Self::DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS => {
                "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS"
            }
            Self::KERNEL_SECURITY_CHECK_FAILURE => "KERNEL_SECURITY_CHECK_FAILURE",
            Self::KMODE_EXCEPTION_NOT_HANDLED => "KMODE_EXCEPTION_NOT_HANDLED",
            Self::PAGE_FAULT_IN_NONPAGED_AREA => "PAGE_FAULT_IN_NONPAGED_AREA",
            Self::ATTEMPTED_WRITE_TO_READONLY_MEMORY => "ATTEMPTED_WRITE_TO_READONLY_MEMORY",
            Self::DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS => "DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS",
            _ => "BUG_CHECK",
        }
    }

    /// True if this is bug check `code` with parameter 1 equal to `p1`.
    pub fn is(&self, code: u32, p1: u64) -> bool {
        self.code == code && self.params[0] == p1
    }
}

impl fmt::Display for BugCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [p1, p2, p3, p4] = self.params;
        write!(f, "{:#04X} {} ({p1:#x}, {p2:#x}, {p3:#x}, {p4:#x})", self.code, self.name())
    }
}

/// One violation of a kernel contract, as the verifier saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// What Windows would do about it.
    pub bug_check: BugCheck,
    /// The routine involved and what went wrong, in words.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bug check {}: {}", self.bug_check, self.message)
    }
}

/// What the verifier found: every violation raised during the session and,
/// once the session is finished (the driver "unloads"), the leaks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The violations, in the order they happened.
    pub violations: Vec<Violation>,
}

impl Report {
    /// No violation at all.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }

    /// The first violation that is bug check `code` with parameter 1 `p1`.
    pub fn find(&self, code: u32, p1: u64) -> Option<&Violation> {
        self.violations.iter().find(|v| v.bug_check.is(code, p1))
    }

    /// Panics, listing every violation, unless the report is clean.
    #[track_caller]
    pub fn assert_clean(&self) {
        assert!(self.is_clean(), "the kernel model's verifier is not clean:\n{self}");
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            return f.write_str("verifier clean");
        }
        for violation in &self.violations {
            writeln!(f, "  {violation}")?;
        }
        Ok(())
    }
}
