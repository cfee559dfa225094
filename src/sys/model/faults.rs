//! Fault injection: any allocation-like call of the model can be made to fail.

use std::{sync::Arc, vec::Vec};

/// One allocation-like call, as fault filters and the call log see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The kernel routine, e.g. `"ExAllocatePool2"`.
    pub routine: &'static str,
    /// The pool tag, when the routine takes one.
    pub tag: Option<u32>,
    /// The size asked for, in bytes.
    pub size: usize,
    /// 1 for the first fallible call of the session, 2 for the next...
    pub sequence: u64,
}

type Filter = Arc<dyn Fn(&Call) -> bool + Send + Sync>;

/// Which calls fail. A failing call returns what the real routine returns
/// when it runs out of resources (NULL, or `STATUS_INSUFFICIENT_RESOURCES`).
#[derive(Clone)]
pub struct Fault {
    filter: Filter,
    remaining: Option<u64>,
}

impl Fault {
    /// Exactly the `n`-th fallible call of the session (counting from 1, all
    /// routines together), once.
    pub fn nth(n: u64) -> Fault {
        Fault { filter: Arc::new(move |call: &Call| call.sequence == n), remaining: Some(1) }
    }

    /// Every call for which `filter` is true.
    pub fn matching(filter: impl Fn(&Call) -> bool + Send + Sync + 'static) -> Fault {
        Fault { filter: Arc::new(filter), remaining: None }
    }

    /// Every call of `routine`.
    pub fn routine(routine: &'static str) -> Fault {
        Self::matching(move |call| call.routine == routine)
    }

    /// Only the first `count` calls that match.
    pub fn times(mut self, count: u64) -> Fault {
        self.remaining = Some(count);
        self
    }
}

/// The faults of a session and the calls it has seen.
#[derive(Default)]
pub(super) struct Faults {
    armed: Vec<Fault>,
    log: Vec<Call>,
}

impl Faults {
    pub(super) fn add(&mut self, fault: Fault) {
        self.armed.push(fault);
    }

    pub(super) fn calls(&self) -> u64 {
        self.log.len() as u64
    }

    pub(super) fn log(&self) -> &[Call] {
        &self.log
    }

    /// Logs a fallible call; true if it must fail.
    pub(super) fn should_fail(&mut self, routine: &'static str, tag: Option<u32>, size: usize) -> bool {
        let call = Call { routine, tag, size, sequence: self.calls() + 1 };
        let hit = self.armed.iter_mut().find(|fault| fault.remaining != Some(0) && (fault.filter)(&call));
        let fail = match hit {
            Some(fault) => {
                if let Some(remaining) = &mut fault.remaining {
                    *remaining -= 1;
                }
                true
            }
            None => false,
        };
        self.log.push(call);
        fail
    }
}

impl core::fmt::Debug for Fault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Fault").field("remaining", &self.remaining).finish_non_exhaustive()
    }
}
