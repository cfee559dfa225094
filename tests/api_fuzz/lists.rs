//! The harness's lookaside lists: the three families initialised with
//! random pools, entries taken and freed (also from other threads),
//! touched where their pool allows, deleted with entries out (refused),
//! their statistics read.

use std::{pin::Pin, thread};

use wdm_mem::{
    NtStatus,
    lookaside::{LookasideConfig, LookasideListEx, NPagedLookasideList, PagedLookasideList},
    model::Kernel,
    pool::PoolType,
};

use super::{Context, Op, TAG, World, full, pick, pool_type};

/// What the lists hold.
pub(super) type Entry = [u64; 4];

/// The three lists of a sequence (they outlive every entry).
pub(super) struct Lists {
    pub(super) non_paged: Pin<Box<NPagedLookasideList<Entry>>>,
    pub(super) paged: Pin<Box<PagedLookasideList<Entry>>>,
    pub(super) ex: Pin<Box<LookasideListEx<Entry>>>,
}

/// The live entries of one family, with whether the list's pool is paged.
pub(super) struct Entries<'a, K: wdm_mem::lookaside::ListKind> {
    pub(super) boxes: Vec<wdm_mem::lookaside::LookasideBox<'a, Entry, K>>,
    pub(super) paged: bool,
}

impl<K: wdm_mem::lookaside::ListKind> Default for Entries<'_, K> {
    fn default() -> Self {
        Entries { boxes: Vec::new(), paged: false }
    }
}

impl World<'_> {
    /// A lookaside operation of [`Op`].
    pub(super) fn list_op(&mut self, op: &Op, ctx: Context) {
        match *op {
            Op::ListInit { family, pool } => {
                let default = [PoolType::NonPagedNx, PoolType::Paged, PoolType::NonPagedNx][family as usize % 3];
                let pool = pool.map_or(default, pool_type);
                match family % 3 {
                    0 if self.lists.non_paged.as_ref().init(LookasideConfig::new(TAG).pool(pool)).is_ok() => {
                        self.non_paged_entries.paged = pool.is_paged();
                    }
                    1 => {
                        let _ = self.lists.paged.as_ref().init(LookasideConfig::new(TAG).pool(pool));
                    }
                    2 if self.lists.ex.as_ref().init(LookasideConfig::new(TAG).pool(pool)).is_ok() => {
                        self.ex_entries.paged = pool.is_paged()
                    }
                    _ => {}
                }
            }
            Op::ListAllocate { family, count, on_thread } => self.list_allocate(family, count % 4 + 1, on_thread),
            Op::ListTouch { family, index, value } => {
                fn touch<K: wdm_mem::lookaside::ListKind>(entries: &mut Entries<'_, K>, ctx: Context, i: u8, v: u64) {
                    let allowed = if entries.paged { ctx.paged_ok } else { ctx.non_paged_ok };
                    if let Some(i) = pick(&entries.boxes, i).filter(|_| allowed) {
                        let entry = &mut *entries.boxes[i];
                        entry[v as usize % 4] = entry[(v as usize % 4 + 1) % 4].wrapping_add(v);
                    }
                }
                match family % 3 {
                    0 => touch(&mut self.non_paged_entries, ctx, index, value),
                    1 => touch(&mut self.paged_entries, ctx, index, value),
                    _ => touch(&mut self.ex_entries, ctx, index, value),
                }
            }
            Op::ListFree { family, index, on_thread } if ctx.passive => {
                fn free<K: wdm_mem::lookaside::ListKind>(
                    entries: &mut Entries<'_, K>,
                    index: u8,
                    on_thread: bool,
                    kernel: &Kernel,
                ) {
                    let Some(i) = pick(&entries.boxes, index) else { return };
                    let entry = entries.boxes.swap_remove(i);
                    if on_thread {
                        let handle = kernel.handle();
                        thread::scope(|scope| {
                            scope.spawn(move || {
                                let _entered = handle.enter();
                                drop(entry);
                            });
                        });
                    } else {
                        drop(entry);
                    }
                }
                match family % 3 {
                    0 => free(&mut self.non_paged_entries, index, on_thread, self.kernel),
                    1 => free(&mut self.paged_entries, index, on_thread, self.kernel),
                    _ => free(&mut self.ex_entries, index, on_thread, self.kernel),
                }
            }
            Op::ListFree { .. } => {}
            Op::ListDelete(family) if ctx.passive => {
                // SAFETY: no other thread uses the lists during a step (the
                // second thread of an entry step is joined), and the model
                // always counts entries, so a delete with entries out is
                // refused (CANNOT_DELETE), which the step asserts.
                let result = unsafe {
                    match family % 3 {
                        0 => self.lists.non_paged.as_ref().delete(),
                        1 => self.lists.paged.as_ref().delete(),
                        _ => self.lists.ex.as_ref().delete(),
                    }
                };
                let outstanding =
                    [self.non_paged_entries.boxes.len(), self.paged_entries.boxes.len(), self.ex_entries.boxes.len()]
                        [family as usize % 3];
                if outstanding > 0 {
                    assert_eq!(result, Err(NtStatus::CANNOT_DELETE), "deleting a list with entries out");
                }
            }
            Op::ListDelete(_) => {}
            Op::ListStats(family) => {
                let _ = match family % 3 {
                    0 => self.lists.non_paged.as_ref().stats(),
                    1 => self.lists.paged.as_ref().stats(),
                    _ => self.lists.ex.as_ref().stats(),
                };
            }
            _ => unreachable!("not a lookaside operation"),
        }
    }

    /// Lists' entries as a thread of the kernel would take them.
    pub(super) fn list_allocate(&mut self, family: u8, count: u8, on_thread: bool) {
        fn allocate<'a, K: wdm_mem::lookaside::ListKind>(
            list: Pin<&'a wdm_mem::lookaside::LookasideList<Entry, K>>,
            entries: &mut Entries<'a, K>,
            count: u8,
            on_thread: Option<&Kernel>,
        ) {
            if full(&entries.boxes) {
                return;
            }
            let take = move || (0..count).filter_map(|n| list.allocate([n as u64; 4]).ok()).collect::<Vec<_>>();
            let taken = match on_thread {
                Some(kernel) => {
                    let handle = kernel.handle();
                    thread::scope(|scope| {
                        scope
                            .spawn(move || {
                                let _entered = handle.enter();
                                take()
                            })
                            .join()
                            .expect("the allocating thread panicked")
                    })
                }
                None => take(),
            };
            entries.boxes.extend(taken);
        }
        let on_thread = on_thread.then_some(self.kernel);
        match family % 3 {
            0 => allocate(self.lists.non_paged.as_ref(), &mut self.non_paged_entries, count, on_thread),
            1 => allocate(self.lists.paged.as_ref(), &mut self.paged_entries, count, on_thread),
            _ => allocate(self.lists.ex.as_ref(), &mut self.ex_entries, count, on_thread),
        }
    }
}
