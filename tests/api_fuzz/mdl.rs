//! The harness's user buffers and MDLs over them: buffers allocated in the
//! step's process, reprotected and freed by the user side between steps;
//! MDLs probed and locked, mapped (while a racing user thread reprotects or
//! frees the buffer), unlocked; `with_user_buffer` over any of them.

use std::thread;

use wdm_mem::{
    mdl::{LockedMdl, Mdl, PagePriority, ReadAccess, UserBuffer, WriteAccess, with_user_buffer},
    model::{Kernel, UserProtection, UserRange},
};

use super::{Context, Op, PAGE, World, full, pick, priority, user_protection, within};

/// A locked MDL of a user buffer, for reading or writing.
pub(super) enum Locked {
    Read(LockedMdl<'static, UserBuffer, ReadAccess>),
    Write(LockedMdl<'static, UserBuffer, WriteAccess>),
}

impl World<'_> {
    /// A user-buffer or MDL operation of [`Op`].
    pub(super) fn mdl_op(&mut self, op: &Op, ctx: Context) {
        match *op {
            Op::UserBuffer { len, read_only } if !full(&self.user_buffers) => {
                let len = len.get() % (64 * PAGE) + 1;
                let range =
                    if read_only { self.kernel.read_only_user_buffer(len) } else { self.kernel.user_buffer(len) };
                self.user_buffers.push((range, true));
                self.user.note_buffer(range, ctx.process);
            }
            Op::UserBuffer { .. } => {}
            Op::UserBufferProtect { buffer, protection } => {
                if let Some(i) = pick(&self.user_buffers, buffer).filter(|&i| self.live_buffer(i)) {
                    self.kernel.protect_user_buffer(self.user_buffers[i].0, user_protection(protection));
                }
            }
            Op::UserBufferFree(buffer) => {
                if let Some(i) = pick(&self.user_buffers, buffer).filter(|&i| self.live_buffer(i)) {
                    self.kernel.free_user_buffer(self.user_buffers[i].0);
                    self.user_buffers[i].1 = false; // its address stays, freed: probes must fail
                }
            }
            Op::MdlLock { buffer, offset, len, write } if !full(&self.locked) => {
                let Some(i) = pick(&self.user_buffers, buffer) else { return };
                let address = self.user_buffers[i].0.address.wrapping_add(within(offset, self.user_buffers[i].0.len));
                let Ok(mdl) = Mdl::for_user_buffer(address, len.get()) else { return };
                let locked =
                    if write { mdl.lock::<WriteAccess>().map(Locked::Write) } else { mdl.lock().map(Locked::Read) };
                if let Ok(locked) = locked {
                    self.locked.push(locked);
                }
            }
            Op::MdlLock { .. } => {}
            Op::MdlMap { mdl, priority: p, offset, value, racing } => {
                let Some(i) = pick(&self.locked, mdl) else { return };
                let race = self.race(racing);
                let kernel = self.kernel;
                thread::scope(|scope| {
                    if let Some((range, protection)) = race {
                        scope.spawn(move || user_race(kernel, range, protection));
                    }
                    match &mut self.locked[i] {
                        Locked::Read(locked) => {
                            if let Ok(mapping) = locked.map(priority(p)) {
                                let _ = mapping.read::<u32>(offset.get());
                            }
                        }
                        Locked::Write(locked) => {
                            if let Ok(mut mapping) = locked.map(priority(p)) {
                                let _ = mapping.write_bytes(offset.get(), &[value; 5]);
                                let _ = mapping.read::<u64>(offset.get());
                            }
                        }
                    }
                });
                self.after_race(race);
            }
            Op::MdlUnlock(index) => {
                if let Some(i) = pick(&self.locked, index).filter(|_| ctx.passive) {
                    let _ = match self.locked.swap_remove(i) {
                        Locked::Read(locked) => locked.unlock().map(drop),
                        Locked::Write(locked) => locked.unlock().map(drop),
                    };
                }
            }
            Op::WithUserBuffer { buffer, offset, len, write, racing } => {
                let Some(i) = pick(&self.user_buffers, buffer) else { return };
                let address = self.user_buffers[i].0.address.wrapping_add(within(offset, self.user_buffers[i].0.len));
                let race = self.race(racing);
                let kernel = self.kernel;
                let len = len.get();
                thread::scope(|scope| {
                    if let Some((range, protection)) = race {
                        scope.spawn(move || user_race(kernel, range, protection));
                    }
                    let _ = if write {
                        with_user_buffer::<WriteAccess, _>(address, len, PagePriority::Normal, |mapping| {
                            let _ = mapping.write_bytes(len / 2, &[1, 2, 3]);
                        })
                    } else {
                        with_user_buffer::<ReadAccess, _>(address, len, PagePriority::Low, |mapping| {
                            let _ = mapping.read::<u16>(len.saturating_sub(2));
                        })
                    };
                });
                self.after_race(race);
            }
            _ => unreachable!("not an MDL operation"),
        }
    }

    /// The user buffer a racing user thread reprotects or frees, if any.
    pub(super) fn race(&self, racing: Option<u8>) -> Option<(UserRange, Option<UserProtection>)> {
        let racing = racing?;
        let i = pick(&self.user_buffers, racing)?;
        let range = self.user_buffers[i].0;
        self.live_buffer(i).then_some((range, (racing % 4 != 0).then(|| user_protection(racing))))
    }

    /// Whether user buffer `i` is live: not freed by a step, nor by its
    /// process's exit (which frees the process's buffers).
    pub(super) fn live_buffer(&self, i: usize) -> bool {
        self.user_buffers[i].1 && self.kernel.is_live_user_buffer(self.user_buffers[i].0)
    }

    /// After a race that freed a buffer: the harness's record of it too.
    pub(super) fn after_race(&mut self, race: Option<(UserRange, Option<UserProtection>)>) {
        if let Some((range, None)) = race {
            for buffer in &mut self.user_buffers {
                if buffer.0 == range {
                    buffer.1 = false;
                }
            }
        }
    }
}

/// The user side racing the driver: reprotects or frees `range`.
pub(super) fn user_race(kernel: &Kernel, range: UserRange, protection: Option<UserProtection>) {
    match protection {
        Some(protection) => kernel.protect_user_buffer(range, protection),
        None => kernel.free_user_buffer(range),
    }
}
