//! The harness's copies of user memory without an MDL: [`UserSlice`]s made
//! from METHOD_NEITHER pointers ([`UserSlice::from_pointer`]) or addresses
//! ([`UserSlice::new`]), good and bad, copied in and out under SEH while
//! the user side frees or reprotects the buffer (also from another thread
//! during the copy), and [`SecuredUserSlice`]s (`MmSecureVirtualMemory`),
//! released in and out of their process.

use std::collections::HashMap;

use arbitrary::Arbitrary;
use wdm_mem::{
    NtStatus,
    model::{DeviceControlIrp, UserProcess, UserProtection, UserRange},
    request::DeviceControl,
    user::{SecureAccess, SecuredUserSlice, UserSlice},
};

use super::{Context, Flavour, MAX_LIVE, PAGE, Size, World, full, mdl::user_race, near_offset, pick, user_protection};

/// A METHOD_NEITHER IOCTL code, and a buffered one (whose neither buffers
/// are refused).
const NEITHER: u32 = 0x0022_2003;
const BUFFERED: u32 = 0x0022_2000;
/// A kernel address, where no user pointer may point.
const KERNEL: usize = 0xFFFF_8000_0000_0000;
/// `MmUserProbeAddress` of the model (x64, 4-level paging).
const PROBE_ADDRESS: usize = 0x7FFF_FFFF_0000;

/// The slices of a sequence, each with the process it was made in (`None`:
/// the System process).
#[derive(Default)]
pub struct Slices {
    slices: Vec<(UserSlice, Option<UserProcess>)>,
    secured: Vec<(SecuredUserSlice, Option<UserProcess>)>,
    /// The process of each user buffer, by address.
    owners: HashMap<usize, Option<UserProcess>>,
}

impl Slices {
    /// `range` was allocated in `process`.
    pub(super) fn note_buffer(&mut self, range: UserRange, process: Option<UserProcess>) {
        self.owners.insert(range.address, process);
    }
}

/// An operation on user slices (indices pick modulo the table's length).
#[derive(Arbitrary, Debug)]
pub enum SliceOp {
    /// A slice of an address near a fresh user buffer, an older one, a
    /// view, a shared mapping,
    /// NULL, a kernel address, `MmUserProbeAddress`, the top of the address
    /// space (wrapping) or nothing; from a METHOD_NEITHER request's input
    /// (`Some(false)`) or output (`Some(true)`) pointer, or the raw address.
    Make {
        source: u8,
        offset: Size,
        len: Size,
        alignment: u8,
        pointer: Option<bool>,
    },
    Read {
        slice: u8,
        offset: Size,
        len: u8,
        width: u8,
        racing: Option<u8>,
    },
    Write {
        slice: u8,
        offset: Size,
        len: u8,
        width: u8,
        racing: Option<u8>,
    },
    Drop(u8),
}

/// An operation on secured slices.
#[derive(Arbitrary, Debug)]
pub enum SecuredOp {
    Secure {
        slice: u8,
        write: bool,
    },
    Copy {
        index: u8,
        offset: Size,
        len: u8,
        write: bool,
        racing: Option<u8>,
    },
    Release(u8),
    /// The process frees (`None`) or reprotects the buffer under a secured
    /// slice, which the secure does not stop in the model.
    UserSide {
        index: u8,
        protection: Option<u8>,
    },
    Drop(u8),
}

/// What a copy of `len` bytes at `offset` of a slice of `len_of` bytes made
/// in `owner` must answer before any page is looked at: the level, the
/// process, the bounds, in that order (`None`: the copy may go either way).
fn refused(ctx: Context, owner: Option<UserProcess>, offset: usize, len: usize, len_of: usize) -> Option<NtStatus> {
    if !ctx.paged_ok {
        Some(NtStatus::INVALID_LEVEL)
    } else if owner != ctx.process {
        Some(NtStatus::ACCESS_VIOLATION)
    } else if offset.checked_add(len).is_none_or(|end| end > len_of) {
        Some(NtStatus::INVALID_PARAMETER)
    } else {
        None
    }
}

/// `width` selects the copy: the byte forms, or one value of 1 to 8 bytes.
fn read(slice: &UserSlice, offset: usize, len: u8, width: u8) -> (usize, Result<(), NtStatus>) {
    match width % 5 {
        0 => (len as usize, slice.read_into(offset, &mut vec![0; len as usize])),
        1 => (1, slice.read::<u8>(offset).map(drop)),
        2 => (2, slice.read::<u16>(offset).map(drop)),
        3 => (4, slice.read::<u32>(offset).map(drop)),
        _ => (8, slice.read::<u64>(offset).map(drop)),
    }
}

fn write(slice: &UserSlice, offset: usize, len: u8, width: u8) -> (usize, Result<(), NtStatus>) {
    match width % 5 {
        0 => (len as usize, slice.write_from(offset, &vec![len; len as usize])),
        1 => (1, slice.write(offset, &len)),
        2 => (2, slice.write(offset, &u16::from(len))),
        3 => (4, slice.write(offset, &u32::from(len))),
        _ => (8, slice.write(offset, &u64::from(len))),
    }
}

impl World<'_> {
    pub(super) fn slice_op(&mut self, op: &SliceOp, ctx: Context) {
        match *op {
            SliceOp::Make { source, offset, len, alignment, pointer } => {
                if full(&self.user.slices) {
                    // The new slice replaces one (where its drop may release
                    // its process reference: <= DISPATCH_LEVEL).
                    if !ctx.non_paged_ok {
                        return;
                    }
                    drop(self.user.slices.swap_remove(source as usize % MAX_LIVE));
                }
                // Mostly a fresh buffer of the requester (the caller's
                // buffer of this request), else what is there.
                let (base, size, _) = if (2..=5).contains(&(source % 12)) && !full(&self.user_buffers) {
                    let range = self.kernel.user_buffer(len.get() % (4 * PAGE) + 1);
                    self.user_buffers.push((range, true));
                    self.user.note_buffer(range, ctx.process);
                    (range.address, range.len, None)
                } else {
                    self.slice_source(source)
                };
                let address = base.wrapping_add(near_offset(offset, size));
                // Mostly a valid alignment and an address aligned for it.
                let (address, alignment) = match alignment {
                    0..=159 => {
                        let alignment = [1, 2, 4, 8, 16][alignment as usize % 5];
                        (address & !(alignment - 1), alignment)
                    }
                    160..=191 => (address, [1, 2, 4, 8, 16][alignment as usize % 5]),
                    _ => (address, [0, 3, 32][alignment as usize % 3]),
                };
                // Mostly about the memory's size, else any.
                let len = match len {
                    Size::Any(_) | Size::Max(_) => len.get(),
                    _ => len.get() % (size + size / 8 + 2),
                };
                let made = match pointer {
                    None => UserSlice::new(address, len, alignment),
                    Some(output) => {
                        // The I/O manager's IRP of a METHOD_NEITHER request
                        // (lengths are ULONGs), or of a buffered one.
                        let code = if alignment == 32 { BUFFERED } else { NEITHER };
                        let irp = if output {
                            DeviceControlIrp::neither(code, 0x1_0000, 8, address, len)
                        } else {
                            DeviceControlIrp::neither(code, address, len, 0, 0)
                        };
                        // SAFETY: the model's IRP, live and not completed
                        // while the request is used (this block).
                        let request = unsafe { DeviceControl::from_irp(irp.as_ptr()) };
                        let buffers = request.neither_buffers();
                        if code == BUFFERED {
                            assert_eq!(buffers.err(), Some(NtStatus::INVALID_DEVICE_REQUEST), "not METHOD_NEITHER");
                            return;
                        }
                        let [input, output_pointer] = buffers.expect("a METHOD_NEITHER request");
                        let pointer = if output { output_pointer } else { input };
                        assert_eq!(pointer.len(), len as u32 as usize, "the length the caller gave");
                        UserSlice::from_pointer(pointer, alignment)
                    }
                };
                match made {
                    Ok(slice) => {
                        assert!(ctx.paged_ok, "a slice made above APC_LEVEL");
                        assert_eq!(slice.address(), address);
                        self.user.slices.push((slice, ctx.process));
                    }
                    Err(status) if !ctx.paged_ok => assert_eq!(status, NtStatus::INVALID_LEVEL),
                    Err(_) => {}
                }
            }
            SliceOp::Read { slice, offset, len, width, racing } => {
                self.slice_copy(slice, offset, racing, ctx, "read", |slice, at| read(slice, at, len, width));
            }
            SliceOp::Write { slice, offset, len, width, racing } => {
                let copied =
                    self.slice_copy(slice, offset, racing, ctx, "write", |slice, at| write(slice, at, len, width));
                if let Some((i, offset, size, Ok(()))) = copied.filter(|_| width % 5 == 0) {
                    // Read back (unless the racing thread took the pages away).
                    let slice = &self.user.slices[i].0;
                    let mut back = vec![0; size];
                    if slice.read_into(offset, &mut back).is_ok() {
                        assert_eq!(back, vec![len; size], "read back at {offset:#x} of {slice:?}");
                    }
                }
            }
            // At <= DISPATCH_LEVEL (the process reference's release), one
            // time in four (slices pile up for the copies).
            SliceOp::Drop(index) => {
                if let Some(i) = pick(&self.user.slices, index).filter(|_| ctx.non_paged_ok && index % 4 == 0) {
                    drop(self.user.slices.swap_remove(i));
                }
            }
        }
    }

    pub(super) fn secured_op(&mut self, op: &SecuredOp, ctx: Context) {
        match *op {
            SecuredOp::Secure { slice, write } if ctx.non_paged_ok && !full(&self.user.secured) => {
                let Some(i) = pick(&self.user.slices, slice) else { return };
                // The slice itself (dropped on error), or mostly a new one of
                // its range made here (a driver's second slice of a pointer).
                let (slice, owner) = if slice % 4 == 0 {
                    self.user.slices.swap_remove(i)
                } else {
                    let old = &self.user.slices[i].0;
                    match UserSlice::new(old.address(), old.len(), 1) {
                        Ok(new) => (new, ctx.process),
                        Err(status) => return assert!(!ctx.paged_ok, "{old:?} again: {status:?}"),
                    }
                };
                let empty = slice.is_empty();
                let access = if write { SecureAccess::ReadWrite } else { SecureAccess::ReadOnly };
                match slice.secure(access) {
                    Ok(secured) => {
                        assert!(ctx.paged_ok && owner == ctx.process && !empty, "secured {secured:?}");
                        self.user.secured.push((secured, owner));
                    }
                    Err(status) if !ctx.paged_ok => assert_eq!(status, NtStatus::INVALID_LEVEL),
                    Err(status) if empty => assert_eq!(status, NtStatus::INVALID_PARAMETER),
                    // Under Wine its stubs secure nothing; without the
                    // routines (or above PASSIVE_LEVEL, where the model's are
                    // not looked up) they are not found.
                    Err(NtStatus::NOT_SUPPORTED) if self.flavour == Flavour::Wine && owner == ctx.process => {}
                    Err(NtStatus::PROCEDURE_NOT_FOUND)
                        if owner == ctx.process
                            && (!ctx.passive
                                || self.flavour.lacks("MmSecureVirtualMemory")
                                || self.flavour.lacks("MmUnsecureVirtualMemory")) => {}
                    Err(status) => assert_eq!(status, NtStatus::ACCESS_VIOLATION),
                }
            }
            SecuredOp::Secure { .. } => {}
            SecuredOp::Copy { index, offset, len, write: to_user, racing } => {
                let Some(i) = pick(&self.user.secured, index) else { return };
                let offset = near_offset(offset, self.user.secured[i].0.len().min(8 * PAGE));
                let race = self.slice_race(self.user.secured[i].0.address(), racing);
                let (secured, owner) = &self.user.secured[i];
                let copy = || if to_user { write(secured, offset, len, 0) } else { read(secured, offset, len, 0) };
                let (size, result) = racing_copy(self, race, copy);
                if let Some(status) = refused(ctx, *owner, offset, size, secured.len()) {
                    assert_eq!(result, Err(status), "a copy of {size} bytes at {offset:#x} of {secured:?}");
                }
                self.after_race(race);
            }
            SecuredOp::Release(index) if ctx.non_paged_ok && !full(&self.user.slices) => {
                let Some(i) = pick(&self.user.secured, index) else { return };
                let (secured, owner) = self.user.secured.swap_remove(i);
                match secured.release() {
                    Ok(slice) => {
                        assert!(ctx.paged_ok && owner == ctx.process, "released {slice:?}");
                        self.user.slices.push((slice, owner));
                    }
                    Err((secured, status)) => {
                        let expected = if ctx.paged_ok { NtStatus::ACCESS_VIOLATION } else { NtStatus::INVALID_LEVEL };
                        assert_eq!(status, expected, "{secured:?} not released");
                        self.user.secured.push((secured, owner));
                    }
                }
            }
            SecuredOp::Release(_) => {}
            SecuredOp::UserSide { index, protection } => {
                let Some(i) = pick(&self.user.secured, index) else { return };
                let address = self.user.secured[i].0.address();
                if let Some(range) = self.live_buffer_at(address) {
                    user_race(self.kernel, range, protection.map(user_protection));
                    self.after_race(Some((range, protection.map(user_protection))));
                }
            }
            // Dropped where the guard can release its handle (in its process
            // at <= APC_LEVEL); elsewhere the handle would be left to the
            // process's exit (a documented leak, not generated). One time in
            // four, as for slices.
            SecuredOp::Drop(index) => {
                if let Some(i) = pick(&self.user.secured, index)
                    .filter(|&i| ctx.paged_ok && index % 4 == 0 && self.user.secured[i].1 == ctx.process)
                {
                    drop(self.user.secured.swap_remove(i));
                }
            }
        }
    }

    /// The start and size of the memory a slice is made near (its address
    /// then lies somewhere in it, or past it), and its process if known.
    fn slice_source(&self, source: u8) -> (usize, usize, Option<Option<UserProcess>>) {
        let buffer = pick(&self.user_buffers, source).map(|i| {
            let range = self.user_buffers[i].0;
            (range.address, range.len, self.user.owners.get(&range.address).copied())
        });
        let view = pick(&self.user_views, source).map(|i| {
            let (view, process) = &self.user_views[i];
            (view.user_address(), view.len(), Some(*process))
        });
        let shared = self.pages.mapping_near(source).map(|(address, len, process)| (address, len, Some(process)));
        let chosen = match source % 12 {
            0 => Some((0, PAGE, None)),
            1 => Some((KERNEL, PAGE, None)),
            6 | 7 => buffer,
            8 => view,
            9 => shared,
            10 => Some((PROBE_ADDRESS - PAGE, 2 * PAGE, None)),
            11 => Some((usize::MAX - 2 * PAGE + 1, 2 * PAGE, None)),
            _ => None, // 2..=5: a fresh buffer (when there is room)
        };
        chosen.unwrap_or((0x10_0000, 16 * PAGE, None))
    }

    /// The process an operation on a slice would run in as a dispatch
    /// routine: the slice's, or the memory's it is made of.
    pub(super) fn slice_owner(&self, op: &SliceOp) -> Option<Option<UserProcess>> {
        match *op {
            SliceOp::Make { source, .. } => self.slice_source(source).2,
            SliceOp::Read { slice, .. } | SliceOp::Write { slice, .. } | SliceOp::Drop(slice) => {
                pick(&self.user.slices, slice).map(|i| self.user.slices[i].1)
            }
        }
    }

    /// As [`Self::slice_owner`], for a secured slice (or the slice to secure).
    pub(super) fn secured_owner(&self, op: &SecuredOp) -> Option<Option<UserProcess>> {
        match *op {
            SecuredOp::Secure { slice, .. } => pick(&self.user.slices, slice).map(|i| self.user.slices[i].1),
            SecuredOp::Copy { index, .. }
            | SecuredOp::Release(index)
            | SecuredOp::UserSide { index, .. }
            | SecuredOp::Drop(index) => pick(&self.user.secured, index).map(|i| self.user.secured[i].1),
        }
    }

    /// One copy (`copy`, a read or a write: what it is in messages)
    /// through the slice `index` at an offset near it, while the user side
    /// races as `racing` says: a refusal the contract predicts is asserted.
    /// The slice's index, the offset, the size and the result, for what the
    /// caller checks after.
    fn slice_copy(
        &mut self,
        index: u8,
        offset: Size,
        racing: Option<u8>,
        ctx: Context,
        what: &str,
        copy: impl FnOnce(&UserSlice, usize) -> (usize, Result<(), NtStatus>),
    ) -> Option<(usize, usize, usize, Result<(), NtStatus>)> {
        let i = pick(&self.user.slices, index)?;
        let offset = near_offset(offset, self.user.slices[i].0.len().min(8 * PAGE));
        let race = self.slice_race(self.user.slices[i].0.address(), racing);
        let (slice, owner) = &self.user.slices[i];
        let (size, result) = racing_copy(self, race, || copy(slice, offset));
        if let Some(status) = refused(ctx, *owner, offset, size, slice.len()) {
            assert_eq!(result, Err(status), "a {what} of {size} bytes at {offset:#x} of {slice:?}");
        }
        self.after_race(race);
        Some((i, offset, size, result))
    }

    /// The racing user thread of a copy: it reprotects or frees the buffer
    /// under the slice (if `racing` asks for a race and one is live there),
    /// or another buffer.
    fn slice_race(&self, address: usize, racing: Option<u8>) -> Option<(UserRange, Option<UserProtection>)> {
        let selector = racing?;
        let protection = (selector % 4 != 0).then(|| user_protection(selector));
        match self.live_buffer_at(address) {
            Some(range) if selector % 3 != 0 => Some((range, protection)),
            _ => self.race(racing),
        }
    }

    /// The live user buffer holding `address`.
    fn live_buffer_at(&self, address: usize) -> Option<UserRange> {
        (0..self.user_buffers.len())
            .find(|&i| {
                let range = self.user_buffers[i].0;
                (range.address..range.address + range.len).contains(&address) && self.live_buffer(i)
            })
            .map(|i| self.user_buffers[i].0)
    }

    /// Before `process` exits (its handle to the driver closed: the
    /// driver's IRP_MJ_CLEANUP): the secures of its memory are released, as
    /// a handle left to the exit is a leak.
    pub(super) fn release_secured_of(&mut self, process: UserProcess) {
        let (of_process, others): (Vec<_>, Vec<_>) =
            self.user.secured.drain(..).partition(|(_, owner)| *owner == Some(process));
        self.user.secured = others;
        process.run(|| drop(of_process));
    }

    /// At the end (PASSIVE_LEVEL, in the System process): every secure
    /// released in its process, every slice dropped.
    pub(super) fn release_slices(&mut self) {
        for (secured, owner) in self.user.secured.drain(..) {
            match owner {
                Some(process) => process.run(|| drop(secured)),
                None => drop(secured),
            }
        }
        self.user.slices.clear();
    }
}

/// Runs `copy` while (with `race`) another thread, the user side, frees or
/// reprotects a buffer.
fn racing_copy<R>(world: &World<'_>, race: Option<(UserRange, Option<UserProtection>)>, copy: impl FnOnce() -> R) -> R {
    let kernel = world.kernel;
    std::thread::scope(|scope| {
        if let Some((range, protection)) = race {
            scope.spawn(move || user_race(kernel, range, protection));
        }
        copy()
    })
}
