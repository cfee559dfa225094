//! The model's secured user ranges (`MmSecureVirtualMemory`): the handles a
//! driver holds, each tied to the process whose range it secures. The
//! verifier reports a handle released in another process, one released
//! twice or never made, and handles still held when their process exits or
//! the driver unloads. (Windows drops a process's secures with its address
//! space; a handle left to that is a driver's leak, reported under the
//! model's own rule numbers.) The model does not stop the process from
//! freeing or reprotecting a secured range: copies then fault, which is the
//! stricter behaviour for the driver.

use std::{collections::BTreeMap, format, vec::Vec};

use super::{mdl::violation, verifier::Violation};

/// Parameter 1 of the model's 0xC4 bug check for a secure handle still held
/// at unload, or when its process exits (parameter 2: the handle, parameter
/// 3: the process id, parameter 4: the range's length).
pub const SECURE_LEAKED: u64 = 0x1_0601;
/// ... for `MmUnsecureVirtualMemory` outside the process the range was
/// secured in (parameter 2: the handle, parameter 3: the securing process,
/// parameter 4: the current one); the range stays secured.
pub const SECURE_WRONG_PROCESS: u64 = 0x1_0602;
/// ... for `MmUnsecureVirtualMemory` of a handle that is not held (never
/// returned, or released already; parameter 2: the handle).
pub const SECURE_BAD_HANDLE: u64 = 0x1_0603;

/// Where the model's secure handles point: never dereferenced.
const HANDLES: usize = 0xFFFF_D000_0000_0000;

/// One secured range.
struct Secured {
    process: u64,
    len: usize,
}

/// The secure handles of one session.
#[derive(Default)]
pub(super) struct SecureState {
    held: BTreeMap<usize, Secured>,
    made: usize,
}

impl SecureState {
    /// A new handle for `len` bytes secured in `process`.
    pub(super) fn secure(&mut self, process: u64, len: usize) -> usize {
        self.made += 1;
        let handle = HANDLES + self.made * 0x10;
        self.held.insert(handle, Secured { process, len });
        handle
    }

    /// Releases `handle` in `process`: `None`, or the violation.
    pub(super) fn unsecure(&mut self, handle: usize, process: u64) -> Option<Violation> {
        let Some(secured) = self.held.get(&handle) else {
            let message = format!("MmUnsecureVirtualMemory({handle:#x}): not a secure handle held");
            return Some(violation(SECURE_BAD_HANDLE, [handle as u64, 0, 0], message));
        };
        if secured.process != process {
            let message = format!(
                "MmUnsecureVirtualMemory({handle:#x}) in process {process:#x}: the range was secured in process {:#x}",
                secured.process
            );
            return Some(violation(SECURE_WRONG_PROCESS, [handle as u64, secured.process, process], message));
        }
        self.held.remove(&handle);
        None
    }

    /// The handles held in `process` (or in any, for `None`), reported and
    /// forgotten.
    pub(super) fn report_held(&mut self, process: Option<u64>, violations: &mut Vec<Violation>) {
        let left: Vec<usize> =
            self.held.iter().filter(|(_, s)| process.is_none_or(|p| s.process == p)).map(|(&h, _)| h).collect();
        for handle in left {
            let secured = self.held.remove(&handle).expect("listed above");
            let when = if process.is_some() { "when its process exited" } else { "at unload" };
            violations.push(violation(
                SECURE_LEAKED,
                [handle as u64, secured.process, secured.len as u64],
                format!(
                    "secure handle {handle:#x} ({} bytes of process {:#x}) still held {when} (MmUnsecureVirtualMemory)",
                    secured.len, secured.process
                ),
            ));
        }
    }
}
