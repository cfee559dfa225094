//! The harness's MDLs of fresh pages ([`PagesMdl`]:
//! `MmAllocatePagesForMdlEx`/`MmFreePagesFromMdl`) with random flags,
//! cache types, physical ranges and sizes (partial grants under the
//! model's page limit), mapped into system space within a step and into
//! processes as [`UserMapping`]s that live across steps, which the
//! application reads and writes and the driver unmaps in and out of their
//! process.

use std::ptr::NonNull;

use arbitrary::Arbitrary;
use wdm_mem::{
    Irql, NtStatus,
    mdl::{PageFlags, PageRequest, PagesMdl, UserMapping, resolve_routines},
    memory::{CacheType, PhysicalAddress},
    model::UserProcess,
};

use super::{Context, PAGE, Size, World, cache_type, full, pick, priority};

/// At most this many pages allocated at once (`Kernel::limit_mdl_pages`):
/// larger requests get partial MDLs and the host's memory stays bounded.
pub const PAGE_LIMIT: usize = 64;

/// A [`PagesMdl`] and its user mappings, each with the process it was made
/// in (`None`: the System process).
///
/// # Invariants
/// `pages` comes from `Box::leak` and is freed only by `Drop`, after
/// every mapping (each borrows it) is gone; no `&mut` to it is made while a
/// mapping lives.
pub struct Shared {
    pages: NonNull<PagesMdl>,
    cache: CacheType,
    mappings: Vec<(UserMapping<'static>, Option<UserProcess>)>,
}

impl Shared {
    fn new(pages: PagesMdl, cache: CacheType) -> Shared {
        Shared { pages: NonNull::from(Box::leak(Box::new(pages))), cache, mappings: Vec::new() }
    }

    /// The pages for a system mapping: only while no user mapping borrows
    /// them (safe code could not have both either).
    fn pages_mut(&mut self) -> Option<&mut PagesMdl> {
        if !self.mappings.is_empty() {
            return None;
        }
        // SAFETY: live until Drop (invariant), and no mapping borrows them:
        // `&mut self` excludes every other reference.
        Some(unsafe { self.pages.as_mut() })
    }

    fn map_user(&mut self, priority: wdm_mem::mdl::PagePriority, process: Option<UserProcess>) -> NtStatus {
        // SAFETY: the pages outlive the mapping: it is kept in `mappings`,
        // which Drop empties before it frees the pages (invariant).
        let pages: &'static PagesMdl = unsafe { &*self.pages.as_ptr() };
        match pages.map_user(priority) {
            Ok(mapping) => {
                assert_eq!(mapping.len(), pages.len());
                assert!(mapping.is_in_its_process());
                self.mappings.push((mapping, process));
                NtStatus::SUCCESS
            }
            Err(status) => status,
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        assert!(self.mappings.is_empty(), "the harness unmaps before it frees");
        // SAFETY: from Box::leak (invariant), no mapping borrows it, freed
        // once, here.
        drop(unsafe { Box::from_raw(self.pages.as_ptr()) });
    }
}

/// The pages of a sequence.
#[derive(Default)]
pub struct Pages {
    shared: Vec<Shared>,
}

impl Pages {
    /// The user address, length and process of a mapping, if any.
    pub(super) fn mapping_near(&self, selector: u8) -> Option<(usize, usize, Option<UserProcess>)> {
        let shared = &self.shared[pick(&self.shared, selector)?];
        let (mapping, process) = &shared.mappings[pick(&shared.mappings, selector / 3)?];
        Some((mapping.address(), mapping.len(), *process))
    }
}

/// An operation on fresh pages (indices pick modulo the table's length).
#[derive(Arbitrary, Debug)]
pub enum PagesOp {
    Allocate { bytes: Size, low: u8, high: u8, skip: u8, cache: u8, flags: u8 },
    MapSystem { index: u8, priority: u8, offset: Size, value: u8 },
    Free(u8),
    Limit(u8),
    Resolve,
}

/// An operation on the user mappings of fresh pages.
#[derive(Arbitrary, Debug)]
pub enum SharedOp {
    Map {
        index: u8,
        priority: u8,
    },
    /// The application reads or writes its mapping.
    AppAccess {
        index: u8,
        mapping: u8,
        offset: Size,
        len: u8,
        write: bool,
    },
    Unmap {
        index: u8,
        mapping: u8,
    },
}

fn request(bytes: Size, low: u8, high: u8, skip: u8, cache: u8, flags: u8) -> PageRequest {
    let at = PhysicalAddress::new;
    // Mostly the whole of memory and no skip; else ranges and skips, some
    // invalid, some with no RAM.
    let low =
        if low < 192 { at(0) } else { [at(1 << 20), at(1 << 32), at(0x1_FFFF_F000), at(1 << 40)][low as usize % 4] };
    let high = if high < 192 {
        PhysicalAddress::MAX
    } else {
        [at(0x100_0000 - 1), at(1 << 32), at(0), at(u64::MAX)][high as usize % 4]
    };
    let skip = if skip < 192 { 0 } else { [PAGE as u64, 16 * PAGE as u64, 100, 1 << 63][skip as usize % 4] };
    let cache = if cache < 192 { CacheType::Cached } else { cache_type(cache) };
    let flags = [
        PageFlags::FULLY_REQUIRED,
        PageFlags::NO_WAIT,
        PageFlags::LOCAL_NODE_ONLY,
        PageFlags::PREFER_CONTIGUOUS,
        PageFlags::REQUIRE_CONTIGUOUS_CHUNKS,
    ]
    .into_iter()
    .enumerate()
    .filter(|(bit, _)| flags & (1 << bit) != 0)
    .fold(PageFlags::NONE, |all, (_, flag)| all.union(flag));
    PageRequest { bytes: bytes.get(), low, high, skip, cache, flags }
}

impl World<'_> {
    pub(super) fn pages_op(&mut self, op: &PagesOp, ctx: Context) {
        match *op {
            PagesOp::Allocate { bytes, low, high, skip, cache, flags } if !full(&self.pages.shared) => {
                let request = request(bytes, low, high, skip, cache, flags);
                match PagesMdl::allocate(&request) {
                    Ok(pages) => {
                        let len = pages.len();
                        assert!(len > 0 && len <= request.bytes, "{pages:?} for {request:?}");
                        if request.flags.contains(PageFlags::FULLY_REQUIRED) {
                            assert_eq!(len, request.bytes, "all or nothing");
                        }
                        assert_eq!(pages.page_frames().len(), len.div_ceil(PAGE));
                        let (low, high) = (request.low.get() / PAGE as u64, request.high.get() / PAGE as u64);
                        assert!(pages.page_frames().iter().all(|&frame| (low..=high).contains(&frame)), "{request:?}");
                        self.pages.shared.push(Shared::new(pages, request.cache));
                    }
                    Err(status) => {
                        let max = if request.flags.contains(PageFlags::NO_WAIT) { Irql::DISPATCH } else { Irql::APC };
                        if Irql::current() > max {
                            assert_eq!(status, NtStatus::INVALID_LEVEL);
                        } else if request.bytes == 0 || request.low > request.high {
                            assert_eq!(status, NtStatus::INVALID_PARAMETER);
                        }
                    }
                }
            }
            PagesOp::Allocate { .. } => {}
            PagesOp::MapSystem { index, priority: p, offset, value } => {
                let Some(i) = pick(&self.pages.shared, index) else { return };
                let cached = self.pages.shared[i].cache == CacheType::Cached;
                let Some(pages) = self.pages.shared[i].pages_mut() else { return };
                match pages.map(priority(p)) {
                    Ok(mut mapping) => {
                        assert!(ctx.non_paged_ok && cached);
                        let len = mapping.len();
                        let at = offset.get() % len;
                        mapping[at] ^= value;
                        let _ = mapping.write_bytes(offset.get(), &[value; 3]);
                        let _ = mapping.read::<u64>(offset.get());
                    }
                    Err(status) if !cached => assert_eq!(status, NtStatus::NOT_SUPPORTED),
                    Err(status) if !ctx.non_paged_ok => assert_eq!(status, NtStatus::INVALID_LEVEL),
                    Err(_) => {}
                }
            }
            // MmFreePagesFromMdl and ExFreePool: <= DISPATCH_LEVEL.
            PagesOp::Free(index) => {
                if let Some(i) = pick(&self.pages.shared, index)
                    .filter(|&i| ctx.non_paged_ok && self.pages.shared[i].mappings.is_empty())
                {
                    drop(self.pages.shared.swap_remove(i));
                }
            }
            PagesOp::Limit(pages) => self.kernel.limit_mdl_pages([1, 4, 16, PAGE_LIMIT][pages as usize % 4]),
            PagesOp::Resolve => {
                let present =
                    !self.flavour.lacks("MmAllocatePagesForMdlEx") && !self.flavour.lacks("MmFreePagesFromMdl");
                let resolved = resolve_routines();
                assert_eq!(resolved, if ctx.passive { Ok(present) } else { Err(NtStatus::INVALID_LEVEL) });
            }
        }
    }

    /// The process of the mapping an operation unmaps or the application
    /// touches (the driver unmaps in the requester's context).
    pub(super) fn shared_owner(&self, op: &SharedOp) -> Option<Option<UserProcess>> {
        match *op {
            SharedOp::Map { .. } => None,
            SharedOp::AppAccess { index, mapping, .. } | SharedOp::Unmap { index, mapping } => {
                let shared = &self.pages.shared[pick(&self.pages.shared, index)?];
                Some(shared.mappings[pick(&shared.mappings, mapping)?].1)
            }
        }
    }

    pub(super) fn shared_op(&mut self, op: &SharedOp, ctx: Context) {
        match *op {
            SharedOp::Map { index, priority: p } => {
                let Some(i) = pick(&self.pages.shared, index) else { return };
                let shared = &mut self.pages.shared[i];
                // A second mapping of one MDL in one process is not modelled
                // (the model's MDL_NOT_MODELLED): not generated.
                if full(&shared.mappings) || shared.mappings.iter().any(|(_, process)| *process == ctx.process) {
                    return;
                }
                let status = shared.map_user(priority(p), ctx.process);
                if !ctx.paged_ok {
                    assert_eq!(status, NtStatus::INVALID_LEVEL);
                }
            }
            SharedOp::AppAccess { index, mapping, offset, len, write } => {
                let Some(i) = pick(&self.pages.shared, index) else { return };
                let shared = &self.pages.shared[i];
                let Some(j) = pick(&shared.mappings, mapping) else { return };
                let (mapping, Some(process)) = &shared.mappings[j] else { return };
                let address = mapping.address().wrapping_add(offset.get() % (mapping.len() + PAGE));
                let inside = address + len as usize <= mapping.address() + mapping.len();
                let result = if write {
                    process.write(address, &vec![len; len as usize])
                } else {
                    process.read(address, len as usize).map(drop)
                };
                if inside {
                    assert_eq!(result, Ok(()), "the application's access to its mapping {mapping:?}");
                }
            }
            SharedOp::Unmap { index, mapping } => {
                let Some(i) = pick(&self.pages.shared, index) else { return };
                let shared = &mut self.pages.shared[i];
                let Some(j) = pick(&shared.mappings, mapping) else { return };
                let (mapping, process) = shared.mappings.swap_remove(j);
                match mapping.unmap() {
                    Ok(()) => assert!(ctx.paged_ok && process == ctx.process),
                    Err((mapping, status)) => {
                        let expected = if ctx.paged_ok { NtStatus::ACCESS_VIOLATION } else { NtStatus::INVALID_LEVEL };
                        assert_eq!(status, expected);
                        shared.mappings.push((mapping, process));
                    }
                }
            }
        }
    }

    /// Before `process` exits (the driver's IRP_MJ_CLEANUP): its mappings
    /// are unmapped in it, as an exit with one is 0x76.
    pub(super) fn unmap_shared_of(&mut self, process: UserProcess) {
        for shared in &mut self.pages.shared {
            let (of_process, others): (Vec<_>, Vec<_>) =
                shared.mappings.drain(..).partition(|(_, owner)| *owner == Some(process));
            shared.mappings = others;
            for (mapping, _) in of_process {
                process.run(|| mapping.unmap()).expect("unmapped in its process");
            }
        }
    }

    /// At the end (PASSIVE_LEVEL, in the System process): every mapping
    /// unmapped in its process, every MDL freed.
    pub(super) fn release_pages(&mut self) {
        for mut shared in self.pages.shared.drain(..) {
            for (mapping, owner) in shared.mappings.drain(..) {
                let unmapped = match owner {
                    Some(process) => process.run(|| mapping.unmap()),
                    None => mapping.unmap(),
                };
                unmapped.expect("unmapped in its process");
            }
        }
    }
}
