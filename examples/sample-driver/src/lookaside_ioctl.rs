//! The lookaside IOCTL: three lists in statics, initialised in place by
//! `DriverEntry` and deleted by `DriverUnload`, reused by each request (the
//! lists' own counters show it); and a scratch list in paged pool whose
//! leaked entries are abandoned at its deletion.
//!
//! Under Wine the non-paged and paged lists are real; Wine has no
//! `ExInitializeLookasideListEx`, so the `LOOKASIDE_LIST_EX` is never
//! initialised there and its requests fail with the status its
//! initialisation returned, `STATUS_PROCEDURE_NOT_FOUND` (nothing absent is
//! ever called).

use core::{
    pin::Pin,
    sync::atomic::{AtomicI32, Ordering},
};

use wdm_mem::{
    NtResult, NtStatus,
    lookaside::{
        ListKind, LookasideBox, LookasideConfig, LookasideList, LookasideListEx, LookasideStats, NPagedLookasideList,
        NonPaged, PagedLookasideList,
    },
    pool::{PoolBox, PoolTag, PoolType},
    pool_tag, sys,
};

use crate::{
    irp::DeviceControl,
    protocol::{
        LOOKASIDE_EX, LOOKASIDE_MAX_COUNT, LOOKASIDE_NON_PAGED, LOOKASIDE_PAGED, LOOKASIDE_SCRATCH_ABANDON,
        LookasideReply, LookasideRequest,
    },
};

/// One cached object: 64 bytes, as `LOOKASIDE_ENTRY_SIZE` says.
struct Entry {
    index: u64,
    pattern: [u64; 7],
}

impl Entry {
    fn new(index: u64) -> Entry {
        Entry { index, pattern: [index.wrapping_mul(0x9E37_79B9_7F4A_7C15); 7] }
    }
}

const TAG: PoolTag = pool_tag!(b"WmsL");
const ROUNDS_MAX: u32 = 16;

static NON_PAGED: NPagedLookasideList<Entry> = NPagedLookasideList::new();
static PAGED: PagedLookasideList<Entry> = PagedLookasideList::new();
static EX: LookasideListEx<Entry> = LookasideListEx::new();
/// What initialising [`EX`] returned (its requests answer it when it failed).
static EX_STATUS: AtomicI32 = AtomicI32::new(NtStatus::INVALID_DEVICE_STATE.to_raw());

/// Initialises the lists (from `DriverEntry`, at PASSIVE_LEVEL). A failure
/// of the non-paged or paged list fails the load (nothing stays
/// initialised); the `LOOKASIDE_LIST_EX` may be missing.
pub fn create_lists() -> NtResult<()> {
    Pin::static_ref(&NON_PAGED).init(LookasideConfig::new(TAG))?;
    if let Err(status) = Pin::static_ref(&PAGED).init(LookasideConfig::new(TAG)) {
        // SAFETY: DriverEntry: no entry exists yet and no other thread runs.
        let _ = unsafe { Pin::static_ref(&NON_PAGED).delete() };
        return Err(status);
    }
    let ex = Pin::static_ref(&EX).init(LookasideConfig::new(TAG));
    EX_STATUS.store(NtStatus::from(ex).to_raw(), Ordering::Relaxed);
    Ok(())
}

/// Deletes the lists (from `DriverUnload`); false if one could not be (an
/// entry still out), which the unload message reports.
pub fn delete_lists() -> bool {
    // SAFETY: DriverUnload: no request is in flight, so no other thread
    // uses the lists; the driver builds with `lookaside-count`, so a list
    // with an entry still out refuses (CANNOT_DELETE, reported at unload).
    let non_paged = unsafe { Pin::static_ref(&NON_PAGED).delete() };
    // SAFETY: as above.
    let paged = unsafe { Pin::static_ref(&PAGED).delete() };
    // The LOOKASIDE_LIST_EX exists only where its initialisation succeeded.
    // SAFETY: as above.
    let ex = unsafe { Pin::static_ref(&EX).delete() };
    non_paged.is_ok() && paged.is_ok() && (ex.is_ok() || ex == Err(NtStatus::INVALID_DEVICE_STATE))
}

/// IOCTL_LOOKASIDE_REUSE.
pub fn reuse_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    let Some(input) = request.input::<LookasideRequest>() else {
        return (NtStatus::INVALID_PARAMETER, 0);
    };
    let bad = input.count == 0 || input.count > LOOKASIDE_MAX_COUNT || !(1..=ROUNDS_MAX).contains(&input.rounds);
    let reply = if bad || input.reserved != 0 {
        Err(NtStatus::INVALID_PARAMETER)
    } else {
        match input.list {
            LOOKASIDE_NON_PAGED => reuse(Pin::static_ref(&NON_PAGED), &input),
            LOOKASIDE_PAGED => reuse(Pin::static_ref(&PAGED), &input),
            LOOKASIDE_EX => NtStatus::from_raw(EX_STATUS.load(Ordering::Relaxed))
                .result()
                .and_then(|()| reuse(Pin::static_ref(&EX), &input)),
            LOOKASIDE_SCRATCH_ABANDON if input.rounds == 1 => abandon(input.count),
            _ => Err(NtStatus::INVALID_PARAMETER),
        }
    };
    match reply {
        Ok(reply) => request.reply(&reply),
        Err(status) => (status, 0),
    }
}

/// `rounds` times: `count` entries held at once, written, then checked and
/// freed; the counters before and after.
fn reuse<K: ListKind>(
    list: Pin<&'static LookasideList<Entry, K>>,
    request: &LookasideRequest,
) -> NtResult<LookasideReply> {
    let before = list.stats()?;
    let mut contents_ok = true;
    for _ in 0..request.rounds {
        let mut held: [Option<LookasideBox<'static, Entry, K>>; LOOKASIDE_MAX_COUNT as usize] = Default::default();
        for (index, slot) in (0..u64::from(request.count)).zip(held.iter_mut()) {
            *slot = Some(list.allocate(Entry::new(index))?);
        }
        for (index, entry) in (0..).zip(held.iter().flatten()) {
            let expected = Entry::new(index);
            contents_ok &= entry.index == expected.index && entry.pattern == expected.pattern;
        }
    }
    let after = list.stats()?;
    Ok(reply(&before, &after, contents_ok))
}

/// A scratch list in paged pool (its kernel structure is non-paged all the
/// same): `count` entries leaked, the list deleted by abandoning them, and
/// the entries, plain pool blocks of the list's tag, freed here.
fn abandon(count: u32) -> NtResult<LookasideReply> {
    let boxed = PoolBox::pin(NPagedLookasideList::<Entry>::new(), TAG, PoolType::Paged)?;
    let list = boxed.as_ref();
    list.init(LookasideConfig::new(TAG))?;
    // All allocated first: on a failure every entry goes back, and the list
    // is deleted when dropped.
    let mut held: [Option<LookasideBox<'_, Entry, NonPaged>>; LOOKASIDE_MAX_COUNT as usize] = Default::default();
    for (index, slot) in (0..u64::from(count)).zip(held.iter_mut()) {
        *slot = Some(list.allocate(Entry::new(index))?);
    }
    let mut leaked = [core::ptr::null_mut::<Entry>(); LOOKASIDE_MAX_COUNT as usize];
    for (slot, address) in held.iter_mut().zip(leaked.iter_mut()) {
        if let Some(mut entry) = slot.take() {
            *address = &mut *entry;
            core::mem::forget(entry);
        }
    }
    let stats = list.stats()?;
    // SAFETY: this thread alone uses the list, which counts its entries (the
    // driver builds with `lookaside-count`): with entries out it refuses.
    let refused = unsafe { list.delete() } == Err(NtStatus::CANNOT_DELETE);
    // SAFETY: the entries out were leaked with mem::forget just above and
    // are only freed below, as pool; this thread alone uses the list.
    let abandoned = unsafe { list.delete_abandoning_entries() }?;
    for &entry in leaked.iter().take(count as usize) {
        // SAFETY: an abandoned entry of a list with the default routines is
        // a pool block of the list's tag, no longer known to any list.
        unsafe { sys::ExFreePoolWithTag(entry.cast(), TAG.to_u32()) };
    }
    let mut reply = reply(&stats, &stats, refused && abandoned == count as usize);
    (reply.allocates, reply.allocate_misses, reply.entries_out) = (count, count, abandoned as u32);
    Ok(reply)
}

fn reply(before: &LookasideStats, after: &LookasideStats, contents_ok: bool) -> LookasideReply {
    LookasideReply {
        allocates: after.total_allocates.wrapping_sub(before.total_allocates),
        allocate_misses: after.allocate_misses.wrapping_sub(before.allocate_misses),
        frees: after.total_frees.wrapping_sub(before.total_frees),
        free_misses: after.free_misses.wrapping_sub(before.free_misses),
        depth: after.depth.into(),
        cached: after.cached.into(),
        entries_out: after.entries_out as u32,
        entry_size: after.entry_size as u32,
        contents_ok: contents_ok.into(),
        reserved: 0,
    }
}
