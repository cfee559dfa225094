//! The model's non-cached and physically contiguous memory: real memory on
//! the virtual side, and a simulated physical address space
//! ([`PHYSICAL_MEMORY`]) on the other, so that `MmGetPhysicalAddress`,
//! the bounds of `MmAllocateContiguousMemorySpecifyCache` and the leaks and
//! bad frees can be checked.
//!
//! Contiguous allocations take the lowest physical range that fits their
//! bounds. Non-cached allocations get one frame per page, in decreasing
//! physical order, so that code assuming they are physically contiguous
//! (Windows does not promise it) sees that they are not.
//!
//! Freed memory is poisoned (0xDF) and its pages made inaccessible (on
//! Linux, `mprotect(PROT_NONE)`), and its addresses are not reused in the
//! session: a use after free faults at once, as on Windows, where the pages
//! of freed non-cached memory are unmapped. `MmIsAddressValid` answers
//! FALSE for them.

use std::{
    collections::{BTreeMap, HashSet},
    format,
    ops::Range,
    string::String,
    vec::Vec,
};

use super::{
    host_pages::HostPages,
    verifier::{BugCheck, Violation},
};

/// Parameter 1 of the model's 0xC4 bug check for non-cached or contiguous
/// memory still allocated at unload (parameter 2: non-cached bytes,
/// parameter 3: contiguous bytes, parameter 4: allocations). The value is the
/// model's own, as for the pool's 0x60.
pub const MEMORY_LEAKED: u64 = 0x1_0201;
/// ... for `MmFreeNonCachedMemory` or `MmFreeContiguousMemory` of an address
/// the routine did not allocate, freed twice, or with another size
/// (parameter 2: the address, parameter 3: the size given, parameter 4: the
/// size allocated, 0 if none).
pub const MEMORY_BAD_FREE: u64 = 0x1_0202;

/// The model's physical memory: 1 MiB to 8 GiB.
pub const PHYSICAL_MEMORY: Range<u64> = 0x10_0000..0x2_0000_0000;

const PAGE: u64 = crate::sys::PAGE_SIZE as u64;

/// Which routine allocated a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MemoryKind {
    /// `MmAllocateNonCachedMemory`.
    NonCached,
    /// `MmAllocateContiguousMemorySpecifyCache`.
    Contiguous,
}

/// Where a contiguous allocation may lie: `lowest..=highest`, not crossing a
/// multiple of `boundary` (0: no boundary).
#[derive(Clone, Copy, Debug)]
pub(super) struct Bounds {
    pub(super) lowest: u64,
    pub(super) highest: u64,
    pub(super) boundary: u64,
}

struct Block {
    kind: MemoryKind,
    /// Bytes asked for.
    size: usize,
    /// The physical address of each page.
    frames: Vec<u64>,
    /// The host memory behind the block.
    pages: HostPages,
}

/// The non-cached and contiguous memory of one session.
#[derive(Default)]
pub(super) struct MemoryState {
    /// Live blocks by virtual address.
    blocks: BTreeMap<usize, Block>,
    /// Physical ranges in use: start -> end (exclusive).
    physical: BTreeMap<u64, u64>,
    freed: HashSet<usize>,
    /// Freed blocks, poisoned and inaccessible until the session ends, by
    /// address.
    quarantine: BTreeMap<usize, HostPages>,
}

impl MemoryState {
    /// `MmAllocateNonCachedMemory` of `size` bytes (the caller checked IRQL
    /// and size > 0); 0 when physical memory is exhausted.
    pub(super) fn allocate_non_cached(&mut self, size: usize) -> usize {
        let frames = self.reserve_pages(pages(size));
        self.map(MemoryKind::NonCached, size, frames)
    }

    /// `MmAllocateContiguousMemorySpecifyCache` of `size` bytes within
    /// `bounds`; 0 when no free range meets them.
    pub(super) fn allocate_contiguous(&mut self, size: usize, bounds: Bounds) -> usize {
        let pages = pages(size);
        let frames =
            self.reserve(pages * PAGE, bounds).map(|start| (0..pages).map(|page| start + page * PAGE).collect());
        self.map(MemoryKind::Contiguous, size, frames)
    }

    /// Backs reserved `frames` with real memory: whole pages, contents not
    /// zeroed (the kernel does not zero them either).
    fn map(&mut self, kind: MemoryKind, size: usize, frames: Option<Vec<u64>>) -> usize {
        let Some(frames) = frames else { return 0 };
        let Some(pages) = HostPages::new(frames.len() * PAGE as usize) else {
            self.release(&frames);
            return 0;
        };
        let address = pages.address();
        // Make reliance on zeroes visible.
        // SAFETY: the pages just mapped, read-write, `pages.len()` bytes.
        unsafe { std::ptr::write_bytes(address as *mut u8, 0xA5, pages.len()) };
        self.freed.remove(&address);
        self.blocks.insert(address, Block { kind, size, frames, pages });
        address
    }

    /// Frees a block after the checks of `routine` (`size`: what
    /// `MmFreeNonCachedMemory` was given); the violation instead, freeing
    /// nothing, when one applies.
    pub(super) fn free(
        &mut self,
        kind: MemoryKind,
        routine: &str,
        address: usize,
        size: Option<usize>,
    ) -> Result<(), Violation> {
        let bad = |given: usize, expected: usize, what: String| {
            Err(violation(
                MEMORY_BAD_FREE,
                [address as u64, given as u64, expected as u64],
                format!("{routine}({address:#x}): {what}"),
            ))
        };
        let given = size.unwrap_or(0);
        let Some(block) = self.blocks.get(&address) else {
            let what = if self.freed.contains(&address) { "already freed" } else { "not an address it allocated" };
            return bad(given, 0, what.into());
        };
        if block.kind != kind {
            return bad(given, block.size, format!("the block was allocated by the {:?} routine", block.kind));
        }
        if size.is_some_and(|size| size != block.size) {
            return bad(given, block.size, format!("{given} bytes freed, {} allocated", block.size));
        }
        let block = self.blocks.remove(&address).expect("looked up above");
        self.release(&block.frames);
        self.quarantine.insert(address, block.pages.make_inaccessible(0xDF));
        self.freed.insert(address);
        Ok(())
    }

    /// Whether `address` lies in freed non-cached or contiguous memory
    /// (inaccessible since).
    pub(super) fn is_freed(&self, address: usize) -> bool {
        self.quarantine.range(..=address).next_back().is_some_and(|(&start, pages)| address - start < pages.len())
    }

    /// The physical address of `address` inside a live block; 0 elsewhere
    /// (the model simulates no physical memory behind other addresses).
    pub(super) fn physical_address(&self, address: usize) -> u64 {
        let Some((&start, block)) = self.blocks.range(..=address).next_back() else { return 0 };
        let offset = (address - start) as u64;
        block.frames.get((offset / PAGE) as usize).map_or(0, |frame| frame + offset % PAGE)
    }

    /// At unload: one violation for every block still allocated; the memory
    /// is released so the test process does not grow.
    pub(super) fn report_leaks(&mut self, violations: &mut Vec<Violation>) {
        self.quarantine.clear();
        if self.blocks.is_empty() {
            return;
        }
        let bytes = |kind| self.blocks.values().filter(|b| b.kind == kind).map(|b| b.size as u64).sum::<u64>();
        let (non_cached, contiguous) = (bytes(MemoryKind::NonCached), bytes(MemoryKind::Contiguous));
        let listed: Vec<String> =
            self.blocks.iter().map(|(address, b)| format!("{} bytes at {address:#x} ({:?})", b.size, b.kind)).collect();
        violations.push(violation(
            MEMORY_LEAKED,
            [non_cached, contiguous, self.blocks.len() as u64],
            format!("driver unloading with non-cached or contiguous memory allocated: {}", listed.join(", ")),
        ));
        self.blocks.clear();
        self.physical.clear();
    }

    /// One frame per page, from the top of physical memory down.
    fn reserve_pages(&mut self, pages: u64) -> Option<Vec<u64>> {
        if pages > (PHYSICAL_MEMORY.end - PHYSICAL_MEMORY.start) / PAGE {
            return None;
        }
        let mut frames = Vec::new();
        for _ in 0..pages {
            let below = frames.last().copied().unwrap_or(PHYSICAL_MEMORY.end);
            match self.reserve_below(below) {
                Some(frame) => frames.push(frame),
                None => {
                    self.release(&frames);
                    return None;
                }
            }
        }
        Some(frames)
    }

    /// Up to `pages` free frames (page addresses) in `low..=high`, highest
    /// first: fewer when the range has fewer free.
    pub(super) fn reserve_frames(&mut self, pages: usize, low: u64, high: u64) -> Vec<u64> {
        let mut frames = Vec::new();
        let mut below = high.saturating_add(1).min(PHYSICAL_MEMORY.end) / PAGE * PAGE;
        while frames.len() < pages {
            match self.reserve_below(below) {
                Some(frame) if frame >= low => {
                    frames.push(frame);
                    below = frame;
                }
                Some(frame) => {
                    self.release(&[frame]);
                    break;
                }
                None => break,
            }
        }
        frames
    }

    /// Returns frames of [`Self::reserve_frames`].
    pub(super) fn release_frames(&mut self, frames: &[u64]) {
        self.release(frames);
    }

    /// The highest free page below `limit`.
    fn reserve_below(&mut self, limit: u64) -> Option<u64> {
        let mut frame = limit.checked_sub(PAGE)?;
        while frame >= PHYSICAL_MEMORY.start {
            match self.overlap(frame, frame + PAGE) {
                Some((start, _)) => frame = start.checked_sub(PAGE)?,
                None => {
                    self.physical.insert(frame, frame + PAGE);
                    return Some(frame);
                }
            }
        }
        None
    }

    /// The lowest page-aligned range of `len` bytes within `bounds`.
    fn reserve(&mut self, len: u64, bounds: Bounds) -> Option<u64> {
        if bounds.boundary != 0 && len > bounds.boundary {
            return None;
        }
        let last = bounds.highest.min(PHYSICAL_MEMORY.end - 1);
        let mut start = bounds.lowest.max(PHYSICAL_MEMORY.start).checked_next_multiple_of(PAGE)?;
        loop {
            let end = start.checked_add(len)?;
            if end - 1 > last {
                return None;
            }
            if bounds.boundary != 0 && start / bounds.boundary != (end - 1) / bounds.boundary {
                start = (end - 1) / bounds.boundary * bounds.boundary;
            } else if let Some((_, used_end)) = self.overlap(start, end) {
                start = used_end.checked_next_multiple_of(PAGE)?;
            } else {
                self.physical.insert(start, end);
                return Some(start);
            }
        }
    }

    /// A used range that overlaps `start..end`.
    fn overlap(&self, start: u64, end: u64) -> Option<(u64, u64)> {
        self.physical.range(..end).next_back().map(|(&s, &e)| (s, e)).filter(|&(_, e)| e > start)
    }

    /// Gives back the physical memory of a block (a contiguous block is one
    /// range, keyed by its first frame).
    fn release(&mut self, frames: &[u64]) {
        for frame in frames {
            self.physical.remove(frame);
        }
    }
}

/// The pages `size` bytes take.
fn pages(size: usize) -> u64 {
    (size as u64).div_ceil(PAGE)
}

fn violation(rule: u64, [p2, p3, p4]: [u64; 3], message: String) -> Violation {
    Violation {
        bug_check: BugCheck { code: BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION, params: [rule, p2, p3, p4] },
        message,
    }
}
