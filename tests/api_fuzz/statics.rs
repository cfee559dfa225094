//! The harness's pageable statics: two in the default section (locking one
//! locks the other's section) and one in a section of its own, locked
//! shared or exclusive, touched at any IRQL while locked, unlocked.

use super::{Context, Op, World, full, pick};

wdm_mem::pageable_static! {
    /// In the default section.
    static COUNTERS: [u64; 4] = [0; 4];
}
wdm_mem::pageable_static! {
    /// Also in the default section: locking one locks the other's section.
    static TOTAL: u64 = 0;
}
wdm_mem::pageable_static! {
    /// In a section of its own.
    #[section = "PAGEfz"]
    static TABLE: [u32; 16] = [0; 16];
}

/// A lock guard of one of the pageable statics (the shared guards of `COUNTERS` live in `counters`).
pub(super) enum Guard {
    Counters(wdm_mem::paging::PageableMut<'static, [u64; 4]>),
    Total(wdm_mem::paging::PageableMut<'static, u64>),
    Table(wdm_mem::paging::PageableMut<'static, [u32; 16]>),
    SharedTotal(wdm_mem::paging::PageableRef<'static, u64>),
    SharedTable(wdm_mem::paging::PageableRef<'static, [u32; 16]>),
}

impl World<'_> {
    /// A pageable-static operation of [`Op`].
    pub(super) fn static_op(&mut self, op: &Op, ctx: Context) {
        match *op {
            Op::StaticLock { which, exclusive } if !full(&self.counters) && !full(&self.guards) => {
                match (which % 3, exclusive) {
                    (0, false) => COUNTERS.lock().map(|guard| self.counters.push(guard)),
                    (0, true) => COUNTERS.lock_mut().map(|guard| self.guards.push(Guard::Counters(guard))),
                    (1, false) => TOTAL.lock().map(|guard| self.guards.push(Guard::SharedTotal(guard))),
                    (1, true) => TOTAL.lock_mut().map(|guard| self.guards.push(Guard::Total(guard))),
                    (_, false) => TABLE.lock().map(|guard| self.guards.push(Guard::SharedTable(guard))),
                    (_, true) => TABLE.lock_mut().map(|guard| self.guards.push(Guard::Table(guard))),
                }
                .unwrap_or_default();
            }
            Op::StaticLock { .. } => {}
            Op::StaticTouch { index, value } => {
                // A locked static is resident: any IRQL.
                if let Some(i) = pick(&self.counters, index) {
                    let _ = self.counters[i][value as usize % 4];
                }
                if let Some(i) = pick(&self.guards, index) {
                    match &mut self.guards[i] {
                        Guard::Counters(guard) => guard[value as usize % 4] = guard[value as usize % 4].wrapping_add(1),
                        Guard::Total(guard) => **guard = guard.wrapping_add(value as u64),
                        Guard::Table(guard) => guard[value as usize % 16] ^= value,
                        Guard::SharedTotal(guard) => assert!(**guard < u64::MAX || value > 0),
                        Guard::SharedTable(guard) => assert!(guard[value as usize % 16] < u32::MAX || value > 0),
                    }
                }
            }
            Op::StaticUnlock(index) if ctx.paged_ok => {
                if let Some(i) = pick(&self.guards, index) {
                    drop(self.guards.swap_remove(i));
                } else if let Some(i) = pick(&self.counters, index) {
                    drop(self.counters.swap_remove(i));
                }
            }
            Op::StaticUnlock(_) => {}
            _ => unreachable!("not a pageable-static operation"),
        }
    }
}
