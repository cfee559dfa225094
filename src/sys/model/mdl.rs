//! The model's MDLs and the user address space they describe.
//!
//! An MDL of the model is the real structure: `IoAllocateMdl` allocates the
//! header and the PFN array behind it, and the routines read and write
//! `StartVa`, `ByteOffset`, `ByteCount`, `MdlFlags`, `MappedSystemVa` and the
//! PFNs as the kernel does. Locked pages get the page frame number of their
//! memory: the frame the memory model simulates for non-cached and
//! contiguous memory, else the host's virtual page number (the model has no
//! physical memory behind pool, stacks or user buffers).
//!
//! The user address space is what the test registers: [`Kernel::user_buffer`]
//! returns an address range the model treats as valid user memory (Linux
//! `memfd` pages, so that a system mapping of locked user pages is a second
//! mapping of the same memory, read-only when asked). Every other address is
//! kernel memory (valid in kernel mode when the host has it mapped) or
//! unmapped: the first 64 KiB, a user buffer freed with
//! [`Kernel::free_user_buffer`], anything the host has not mapped.

use std::{
    alloc::{Layout, alloc_zeroed, dealloc},
    collections::{BTreeMap, HashMap, HashSet},
    format,
    string::String,
    vec::Vec,
};

use super::{
    Kernel,
    memory_file::{Mapping, MemoryFile},
    verifier::{BugCheck, Violation},
};
use crate::sys::{MDL, MM_LOWEST_USER_ADDRESS, MM_USER_PROBE_ADDRESS, PAGE_SIZE, PFN_NUMBER};

/// Parameter 1 of the model's 0xC4 bug check for an MDL still allocated at
/// unload (parameter 2: the MDL, parameter 3: its flags, parameter 4: its
/// byte count). Driver Verifier tracks MDLs with the I/O manager's own
/// allocations, not the driver's; the value is the model's own.
pub const MDL_LEAKED: u64 = 0x1_0501;
/// ... for `MmUnmapLockedPages` of an address that is not a system mapping
/// of that MDL (parameter 2: the address, parameter 3: the MDL).
pub const MDL_BAD_UNMAP: u64 = 0x1_0502;
/// ... for a call the model does not implement: a user-mode mapping of an
/// MDL (parameter 2: the MDL).
pub const MDL_NOT_MODELLED: u64 = 0x1_0503;

const PAGE: usize = PAGE_SIZE as usize;

/// A range of the model's user address space, from
/// [`Kernel::user_buffer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserRange {
    /// The first byte, page-aligned.
    pub address: usize,
    /// The bytes asked for.
    pub len: usize,
}

impl UserRange {
    /// The address `offset` bytes in.
    pub fn at(&self, offset: usize) -> usize {
        self.address + offset
    }
}

/// The guard page mapped after each user buffer (see `add_region`).
const GUARD: usize = PAGE;

/// A user buffer: `mapped` bytes of a memory file at `base`.
struct Region {
    memory: MemoryFile,
    mapped: usize,
    writable: bool,
    /// False once freed: its pages are unmapped for the probes (the host
    /// keeps them, so the address is never reused in the session).
    live: bool,
}

/// A system-space mapping of locked pages (`MmMapLockedPagesSpecifyCache`).
struct SystemMapping {
    /// The MDL it maps.
    mdl: usize,
    /// A second mapping of a user buffer's pages (`base`, `len`), or `None`
    /// for kernel memory, whose system address is its own address.
    view: Option<(usize, usize)>,
}

/// The MDLs, user buffers and system mappings of one session.
#[derive(Default)]
pub(super) struct MdlState {
    regions: BTreeMap<usize, Region>,
    /// Live MDLs: their allocation and the pages their PFN array has room for.
    mdls: HashMap<usize, (Layout, usize)>,
    freed: HashSet<usize>,
    /// System mappings by the address the routine returned.
    mappings: HashMap<usize, SystemMapping>,
}

/// What a probe of a range finds.
pub(super) enum Access {
    /// Every page can be accessed as asked.
    Valid,
    /// The first page that cannot.
    Fault(usize),
}

impl MdlState {
    /// A zeroed MDL with room for `pages` PFNs; NULL if the host is out of
    /// memory.
    pub(super) fn allocate(&mut self, pages: usize) -> *mut MDL {
        let size = size_of::<MDL>() + pages * size_of::<PFN_NUMBER>();
        let layout = Layout::from_size_align(size, align_of::<MDL>()).expect("MDL layout");
        // SAFETY: the layout is not zero-sized (it holds the header).
        let mdl = unsafe { alloc_zeroed(layout) }.cast::<MDL>();
        if !mdl.is_null() {
            self.freed.remove(&(mdl as usize));
            self.mdls.insert(mdl as usize, (layout, pages));
        }
        mdl
    }

    /// Whether `mdl` is live, and if not whether it was freed before.
    pub(super) fn status(&self, mdl: usize) -> (bool, bool) {
        (self.mdls.contains_key(&mdl), self.freed.contains(&mdl))
    }

    /// The PFNs `mdl` has room for (0 for an MDL the model did not allocate).
    pub(super) fn capacity(&self, mdl: usize) -> usize {
        self.mdls.get(&mdl).map_or(0, |&(_, pages)| pages)
    }

    /// Frees a live MDL and any system mapping left on it.
    pub(super) fn free(&mut self, mdl: usize) {
        self.unmap_all(mdl);
        if let Some((layout, _)) = self.mdls.remove(&mdl) {
            // SAFETY: allocated by `allocate` with this layout, freed once.
            unsafe { dealloc(mdl as *mut u8, layout) };
            self.freed.insert(mdl);
        }
    }

    /// Registers a user buffer of `len` bytes.
    pub(super) fn add_region(&mut self, len: usize, writable: bool) -> Result<UserRange, crate::NtStatus> {
        let mapped = len.max(1).next_multiple_of(PAGE);
        // One more page, in no region: whatever the host maps next cannot
        // sit right after the buffer, so a range that runs past it always
        // reaches a page user mode cannot probe (as a process's next page
        // would be, unless it allocated it).
        let memory = MemoryFile::new((mapped + GUARD) as u64)?;
        let base = memory.map(0, mapped + GUARD, Mapping::ReadWrite) as usize;
        if base == 0 {
            return Err(crate::NtStatus::INSUFFICIENT_RESOURCES);
        }
        self.regions.insert(base, Region { memory, mapped, writable, live: true });
        Ok(UserRange { address: base, len })
    }

    /// Frees the user buffer at `address`; false if there is none.
    pub(super) fn free_region(&mut self, address: usize) -> bool {
        match self.regions.get_mut(&address) {
            Some(region) if region.live => {
                region.live = false;
                true
            }
            _ => false,
        }
    }

    /// The user buffer holding `address`, live or freed.
    fn region(&self, address: usize) -> Option<(usize, &Region)> {
        let (&base, region) = self.regions.range(..=address).next_back()?;
        (address < base + region.mapped).then_some((base, region))
    }

    /// Whether a live user buffer holds `address`.
    pub(super) fn is_user(&self, address: usize) -> bool {
        self.region(address).is_some_and(|(_, region)| region.live)
    }

    /// Checks that `len` bytes at `start` can be accessed (`write`: for
    /// writing) from user mode (`user`) or kernel mode: user mode reaches the
    /// live user buffers only; kernel mode also reaches any other page the
    /// host has mapped, except the first 64 KiB and freed user buffers.
    pub(super) fn access(&self, start: usize, len: usize, user: bool, write: bool) -> Access {
        let Some(end) = start.checked_add(len) else { return Access::Fault(start) };
        if user && end > MM_USER_PROBE_ADDRESS {
            return Access::Fault(start.max(MM_USER_PROBE_ADDRESS));
        }
        let first = start / PAGE * PAGE;
        for page in (first..end.max(start + 1)).step_by(PAGE) {
            let valid = match self.region(page) {
                Some((_, region)) => region.live && (region.writable || !write),
                None => !user && page >= MM_LOWEST_USER_ADDRESS && host_page_mapped(page),
            };
            if !valid {
                return Access::Fault(page.max(start));
            }
        }
        Access::Valid
    }

    /// Maps `len` bytes at `start` (the pages of `mdl`) into "system space":
    /// a second, read-only if `no_write`, mapping of a live user buffer's
    /// pages, or the address itself for kernel memory. The mapped address of
    /// `start`, or `None` when the host cannot map.
    pub(super) fn map_system(&mut self, mdl: usize, start: usize, len: usize, no_write: bool) -> Option<usize> {
        let first = start / PAGE * PAGE;
        let span = (start + len.max(1)).next_multiple_of(PAGE) - first;
        let view = match self.region(first) {
            Some((base, region)) if region.live && first + span <= base + region.mapped => {
                let mapping = if no_write { Mapping::ReadOnly } else { Mapping::ReadWrite };
                let view = region.memory.map((first - base) as u64, span, mapping) as usize;
                if view == 0 {
                    return None;
                }
                Some((view, span))
            }
            _ => None,
        };
        let address = view.map_or(start, |(base, _)| base + start % PAGE);
        self.mappings.insert(address, SystemMapping { mdl, view });
        Some(address)
    }

    /// Removes the system mapping at `address` of `mdl`; false if there is
    /// none.
    pub(super) fn unmap_system(&mut self, address: usize, mdl: usize) -> bool {
        if self.mappings.get(&address).is_none_or(|mapping| mapping.mdl != mdl) {
            return false;
        }
        let mapping = self.mappings.remove(&address).expect("looked up above");
        release(mapping);
        true
    }

    /// Removes every system mapping of `mdl`.
    pub(super) fn unmap_all(&mut self, mdl: usize) {
        let addresses: Vec<usize> =
            self.mappings.iter().filter(|(_, mapping)| mapping.mdl == mdl).map(|(&address, _)| address).collect();
        for address in addresses {
            self.unmap_system(address, mdl);
        }
    }

    /// Whether `address` lies in a system mapping of user pages.
    pub(super) fn is_system_mapped(&self, address: usize) -> bool {
        self.mappings.values().any(|m| m.view.is_some_and(|(base, len)| (base..base + len).contains(&address)))
    }

    /// At unload: 0xC4/[`MDL_LEAKED`] for each MDL still allocated, and
    /// 0xCB DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS (parameter 3: the MDL,
    /// parameter 4: the pages) for each one still locked. Everything is
    /// released so the test process does not grow.
    pub(super) fn report_leaks(&mut self, violations: &mut Vec<Violation>) {
        let mut leaked: Vec<usize> = self.mdls.keys().copied().collect();
        leaked.sort_unstable();
        for mdl in leaked {
            // SAFETY: a live MDL of the model: readable header.
            let (flags, count, pages) = unsafe { header_summary(mdl as *const MDL) };
            let what = describe_flags(flags);
            if flags & crate::sys::MDL_PAGES_LOCKED != 0 {
                violations.push(Violation {
                    bug_check: BugCheck {
                        code: BugCheck::DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS,
                        params: [0, 0, mdl as u64, pages as u64],
                    },
                    message: format!("driver unloading with the {pages} page(s) of MDL {mdl:#x} still locked"),
                });
            }
            violations.push(violation(
                MDL_LEAKED,
                [mdl as u64, u64::from(flags), u64::from(count)],
                format!("MDL {mdl:#x} ({count} bytes{what}) never freed (IoFreeMdl)"),
            ));
            self.free(mdl);
        }
        for (_, mapping) in self.mappings.drain() {
            release(mapping);
        }
        for (base, region) in std::mem::take(&mut self.regions) {
            // SAFETY: the region's own mapping, made by `add_region`.
            unsafe { MemoryFile::unmap(base as *mut u8, region.mapped + GUARD) };
        }
    }
}

/// Unmaps a system mapping's second view, if it has one.
fn release(mapping: SystemMapping) {
    if let Some((base, len)) = mapping.view {
        // SAFETY: a live mapping made by `map_system`, released once.
        unsafe { MemoryFile::unmap(base as *mut u8, len) };
    }
}

/// An MDL's flags, byte count and the pages it spans.
///
/// # Safety
/// `mdl` points to a readable MDL header.
pub(super) unsafe fn header_summary(mdl: *const MDL) -> (u32, u32, usize) {
    // SAFETY: per the contract.
    let header = unsafe { &*mdl };
    let start = header.StartVa as usize + header.ByteOffset as usize;
    let pages = crate::sys::ADDRESS_AND_SIZE_TO_SPAN_PAGES(start, header.ByteCount as usize);
    (u32::from(header.MdlFlags as u16), header.ByteCount, pages)
}

/// ", locked, mapped" and the like, for messages.
pub(super) fn describe_flags(flags: u32) -> String {
    use crate::sys::{MDL_MAPPED_TO_SYSTEM_VA, MDL_PAGES_LOCKED, MDL_SOURCE_IS_NONPAGED_POOL};
    [
        (MDL_PAGES_LOCKED, ", locked"),
        (MDL_MAPPED_TO_SYSTEM_VA, ", mapped"),
        (MDL_SOURCE_IS_NONPAGED_POOL, ", non-paged pool"),
    ]
    .iter()
    .filter(|(bit, _)| flags & bit != 0)
    .map(|(_, text)| *text)
    .collect()
}

pub(super) fn violation(rule: u64, [p2, p3, p4]: [u64; 3], message: String) -> Violation {
    Violation {
        bug_check: BugCheck { code: BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION, params: [rule, p2, p3, p4] },
        message,
    }
}

/// Whether the host has the page at `page` mapped (any protection).
#[cfg(target_os = "linux")]
fn host_page_mapped(page: usize) -> bool {
    let mut resident = 0u8;
    // SAFETY: `page` is page-aligned and the vector has room for one page's
    // byte; mincore only reports, it never touches the page.
    unsafe { libc::mincore(page as *mut libc::c_void, 1, &mut resident) == 0 }
}

/// Without `mincore`, every address outside the NULL page counts as mapped.
#[cfg(not(target_os = "linux"))]
fn host_page_mapped(_page: usize) -> bool {
    true
}

/// The user address space of the model, for tests.
impl Kernel {
    /// A writable user buffer of `len` bytes, zeroed: an address range the
    /// model treats as the current process's user memory (user-mode probes
    /// of it succeed). It lives until the kernel is dropped, or until
    /// [`free_user_buffer`](Self::free_user_buffer).
    ///
    /// # Panics
    /// On hosts where the model has no shared memory (not Linux).
    pub fn user_buffer(&self, len: usize) -> UserRange {
        self.state().mdl.add_region(len, true).expect("the model's user buffers need Linux")
    }

    /// A read-only user buffer of `len` bytes (fill it with
    /// [`write_user`](Self::write_user)): probes for reading succeed, probes
    /// for writing raise `STATUS_ACCESS_VIOLATION`.
    ///
    /// # Panics
    /// As [`user_buffer`](Self::user_buffer).
    pub fn read_only_user_buffer(&self, len: usize) -> UserRange {
        self.state().mdl.add_region(len, false).expect("the model's user buffers need Linux")
    }

    /// Frees a user buffer: from now on its addresses are unmapped, and
    /// probing them raises `STATUS_ACCESS_VIOLATION`, as after
    /// `VirtualFree` in the process.
    ///
    /// # Panics
    /// If `range` is not a live user buffer.
    pub fn free_user_buffer(&self, range: UserRange) {
        assert!(self.state().mdl.free_region(range.address), "{range:?} is not a live user buffer");
    }

    /// Writes `bytes` at `address` of a user buffer, as the process would
    /// (read-only buffers too: the process set their contents).
    ///
    /// # Panics
    /// If the bytes are not all inside one user buffer.
    pub fn write_user(&self, address: usize, bytes: &[u8]) {
        self.check_user(address, bytes.len());
        // SAFETY: checked to lie in a user buffer's read-write host mapping.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), address as *mut u8, bytes.len()) };
    }

    /// Reads `len` bytes at `address` of a user buffer.
    ///
    /// # Panics
    /// If the bytes are not all inside one user buffer.
    pub fn read_user(&self, address: usize, len: usize) -> Vec<u8> {
        self.check_user(address, len);
        // SAFETY: checked to lie in a user buffer's host mapping.
        unsafe { std::slice::from_raw_parts(address as *const u8, len) }.to_vec()
    }

    fn check_user(&self, address: usize, len: usize) {
        let state = self.state();
        let inside = state.mdl.region(address).is_some_and(|(base, region)| address + len <= base + region.mapped);
        assert!(inside, "{len} bytes at {address:#x} are not inside one user buffer");
    }
}
