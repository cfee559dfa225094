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
//! (a buffer of the process the calling thread runs in: the System process
//! unless the test runs it in a [`UserProcess`](super::UserProcess)) and
//! `UserProcess::user_buffer` return an address range the model treats as
//! valid user memory of that one process (Linux
//! `memfd` pages, so that a system mapping of locked user pages is a second
//! mapping of the same memory, read-only when asked). Every other address is
//! kernel memory (valid in kernel mode when the host has it mapped) or
//! unmapped: the first 64 KiB, a user buffer freed with
//! [`Kernel::free_user_buffer`], anything the host has not mapped.
//!
//! The test plays the user process: at any moment (while the driver holds
//! an MDL, between describing a buffer and probing it) it can free a buffer
//! ([`Kernel::free_user_buffer`], `VirtualFree`) or change its protection
//! ([`Kernel::protect_user_buffer`], `VirtualProtect`). Both change the
//! host's own mapping of the user addresses too (`mprotect`), so kernel code
//! that touched user memory directly would fault there, as it would in the
//! process. A probe sees the protection of the moment; pages locked before
//! stay locked, and their system mapping (another mapping of the same
//! memory file) stays valid, as on Windows, where locked pages are pinned
//! whatever the process does with its addresses.
//!
//! A buffer belongs to one process: it is reachable (by probes, in either
//! mode, and by the SEH copies) only while the thread runs in that process's
//! context; in any other process its addresses are not mapped and a probe
//! raises `STATUS_ACCESS_VIOLATION`. Locked pages record the process they
//! were locked in; when it exits with pages still locked, the model reports
//! 0x76 PROCESS_HAS_LOCKED_PAGES, as Windows does.

use std::{
    alloc::{Layout, alloc_zeroed, dealloc},
    boxed::Box,
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
/// ... for `MmUnmapLockedPages` of a user-space mapping outside the process
/// it was mapped into (parameter 2: the address, parameter 3: the mapping's
/// process id, parameter 4: the current one): the address names other
/// memory there, or nothing. The mapping stays.
pub const MDL_USER_UNMAP_WRONG_PROCESS: u64 = 0x1_0508;
/// ... for a user-space mapping of an MDL still mapped at unload
/// (parameter 2: the address, parameter 3: the MDL, parameter 4: the
/// process id).
pub const MDL_USER_MAPPING_LEAKED: u64 = 0x1_0509;

const PAGE: usize = PAGE_SIZE as usize;

/// The protection of a user buffer's pages, as the process set it
/// ([`Kernel::protect_user_buffer`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserProtection {
    /// `PAGE_READWRITE`.
    ReadWrite,
    /// `PAGE_READONLY`: probes for writing raise `STATUS_ACCESS_VIOLATION`.
    ReadOnly,
    /// `PAGE_NOACCESS`: every probe raises `STATUS_ACCESS_VIOLATION`.
    NoAccess,
}

impl UserProtection {
    fn allows(self, write: bool) -> bool {
        match self {
            UserProtection::ReadWrite => true,
            UserProtection::ReadOnly => !write,
            UserProtection::NoAccess => false,
        }
    }
}

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
    protection: UserProtection,
    /// The process whose address space holds it.
    owner: u64,
    /// False once freed: its pages are unmapped for the probes, and made
    /// inaccessible on the host (which keeps the mapping, so the address is
    /// never reused in the session).
    live: bool,
}

/// A system-space mapping of locked pages (`MmMapLockedPagesSpecifyCache`).
struct SystemMapping {
    /// The MDL it maps.
    mdl: usize,
    /// A second mapping of a user buffer's pages (`base`, `len`), or `None`
    /// for kernel memory, whose system address is its own address.
    view: Option<(usize, usize)>,
    /// False for a read-only mapping (`MdlMappingNoWrite`).
    writable: bool,
}

/// A mapping of an MDL's pages into a process's user space
/// (`MmMapLockedPagesSpecifyCache(UserMode)`): the process sees them at the
/// pages' own host address (the model's "physical" pages of an MDL of fresh
/// pages), readable and writable, until the driver unmaps them.
struct UserMapping {
    mdl: usize,
    process: u64,
    len: usize,
}

/// The MDLs, user buffers and system mappings of one session.
pub(super) struct MdlState {
    /// User-space mappings by address and process (two processes may map
    /// one MDL: the model gives both the pages' host address).
    user_mappings: HashMap<(usize, u64), UserMapping>,
    regions: BTreeMap<usize, Region>,
    /// Live MDLs: their allocation and the pages their PFN array has room for.
    mdls: HashMap<usize, (Layout, usize)>,
    freed: HashSet<usize>,
    /// System mappings by the address the routine returned.
    mappings: HashMap<usize, SystemMapping>,
    /// Locked MDLs of user buffers: the process their pages were locked in.
    locked_in: HashMap<usize, u64>,
    /// The kernel variable `MmUserProbeAddress` (boxed: its address is the
    /// export's, stable while the session lives).
    user_probe_address: Box<usize>,
}

impl Default for MdlState {
    fn default() -> Self {
        MdlState {
            user_mappings: HashMap::new(),
            regions: BTreeMap::new(),
            mdls: HashMap::new(),
            freed: HashSet::new(),
            mappings: HashMap::new(),
            locked_in: HashMap::new(),
            user_probe_address: Box::new(MM_USER_PROBE_ADDRESS),
        }
    }
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
        self.locked_in.remove(&mdl);
        if let Some((layout, _)) = self.mdls.remove(&mdl) {
            // SAFETY: allocated by `allocate` with this layout, freed once.
            unsafe { dealloc(mdl as *mut u8, layout) };
            self.freed.insert(mdl);
        }
    }

    /// At unload, the header of an MDL of fresh pages never freed:
    /// 0xC4/[`MDL_LEAKED`] (it is `ExFreePool`'s to free), without the
    /// locked-pages report of a probed MDL (its pages were reported by the
    /// pages area).
    pub(super) fn forget_pages_mdl(&mut self, mdl: usize, violations: &mut Vec<Violation>) {
        if self.mdls.contains_key(&mdl) {
            violations.push(violation(
                MDL_LEAKED,
                [mdl as u64, 0, 0],
                format!("MDL {mdl:#x} of MmAllocatePagesForMdlEx never freed (ExFreePool)"),
            ));
            self.free(mdl);
        }
    }

    /// `MmUserProbeAddress` now.
    pub(super) fn user_probe_address(&self) -> usize {
        *self.user_probe_address
    }

    /// The address of the data export `name` (`MmUserProbeAddress`), if the
    /// model has it.
    pub(super) fn variable(&self, name: &str) -> Option<usize> {
        (name == "MmUserProbeAddress").then_some(&*self.user_probe_address as *const usize as usize)
    }

    /// Registers a user buffer of `len` bytes in process `owner`.
    pub(super) fn add_region(
        &mut self,
        len: usize,
        protection: UserProtection,
        owner: u64,
    ) -> Result<UserRange, crate::NtStatus> {
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
        host_protect(base, mapped, protection);
        self.regions.insert(base, Region { memory, mapped, protection, owner, live: true });
        Ok(UserRange { address: base, len })
    }

    /// Frees the user buffer at `address` (its pages inaccessible from now
    /// on); false if there is none.
    pub(super) fn free_region(&mut self, address: usize) -> bool {
        match self.regions.get_mut(&address) {
            Some(region) if region.live => {
                region.live = false;
                host_protect(address, region.mapped, UserProtection::NoAccess);
                true
            }
            _ => false,
        }
    }

    /// Changes the protection of the live user buffer at `address`; false if
    /// there is none.
    pub(super) fn protect_region(&mut self, address: usize, protection: UserProtection) -> bool {
        match self.regions.get_mut(&address) {
            Some(region) if region.live => {
                region.protection = protection;
                host_protect(address, region.mapped, protection);
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

    /// The process of the user buffer holding `address`, live or freed.
    pub(super) fn owner(&self, address: usize) -> Option<u64> {
        self.region(address).map(|(_, region)| region.owner)
    }

    /// Whether the page at `page` lies in a user buffer (`Some`), and if so
    /// whether `process` can access it (`write`: for writing) now: the
    /// buffer is live, belongs to `process` and its protection allows it.
    /// The one per-page check of user buffers, for probes and SEH copies.
    pub(super) fn buffer_allows(&self, process: u64, page: usize, write: bool) -> Option<bool> {
        self.region(page).map(|(_, region)| region.live && region.owner == process && region.protection.allows(write))
    }

    /// Records that the pages of `mdl` (user buffer pages) were locked in
    /// `process`.
    pub(super) fn note_locked(&mut self, mdl: usize, process: u64) {
        self.locked_in.insert(mdl, process);
    }

    /// Forgets the lock of `mdl` (`MmUnlockPages`).
    pub(super) fn note_unlocked(&mut self, mdl: usize) {
        self.locked_in.remove(&mdl);
    }

    /// `process` exits: its buffers are freed (their addresses inaccessible);
    /// the MDLs still locked in it, with their page counts, which Windows
    /// reports with 0x76 PROCESS_HAS_LOCKED_PAGES.
    pub(super) fn process_exited(&mut self, process: u64) -> Vec<(usize, usize)> {
        let mut mapped: Vec<(usize, usize)> = self
            .user_mappings
            .iter()
            .filter(|(_, m)| m.process == process)
            .map(|(_, m)| (m.mdl, crate::sys::ADDRESS_AND_SIZE_TO_SPAN_PAGES(0, m.len)))
            .collect();
        self.user_mappings.retain(|_, m| m.process != process);
        let bases: Vec<usize> =
            self.regions.iter().filter(|(_, r)| r.owner == process && r.live).map(|(&base, _)| base).collect();
        for base in bases {
            self.free_region(base);
        }
        let mut locked: Vec<(usize, usize)> = self
            .locked_in
            .iter()
            .filter(|&(_, &owner)| owner == process)
            // SAFETY: a locked MDL is live (freeing forgets it): readable header.
            .map(|(&mdl, _)| (mdl, unsafe { header_summary(mdl as *const MDL) }.2))
            .collect();
        locked.append(&mut mapped);
        locked.sort_unstable();
        locked
    }

    /// Checks that `len` bytes at `start` can be accessed (`write`: for
    /// writing) in `process` from user mode (`user`) or kernel mode: user
    /// mode reaches the live user buffers of `process` only; kernel mode also
    /// reaches any other page the host has mapped, except the first 64 KiB,
    /// freed user buffers and those of other processes.
    pub(super) fn access(&self, process: u64, start: usize, len: usize, user: bool, write: bool) -> Access {
        let Some(end) = start.checked_add(len) else { return Access::Fault(start) };
        let probe_end = *self.user_probe_address;
        if user && end > probe_end {
            return Access::Fault(start.max(probe_end));
        }
        let first = start / PAGE * PAGE;
        for page in (first..end.max(start + 1)).step_by(PAGE) {
            let valid = match self.buffer_allows(process, page, write) {
                Some(allowed) => allowed,
                None => !user && page >= MM_LOWEST_USER_ADDRESS && host_page_mapped(page),
            };
            if !valid {
                return Access::Fault(page.max(start));
            }
        }
        Access::Valid
    }

    /// Maps `len` bytes at `start` (the pages of `mdl`) into "system space":
    /// a second, read-only if `no_write`, mapping of a user buffer's pages,
    /// or the address itself for kernel memory. The mapped address of
    /// `start`, or `None` when the host cannot map.
    ///
    /// The buffer may have been freed or reprotected since its pages were
    /// locked: locked pages are pinned, and the mapping maps them, not the
    /// process's addresses (a mapping of the freed user addresses would
    /// fault: the API-sequence fuzzer found that).
    pub(super) fn map_system(&mut self, mdl: usize, start: usize, len: usize, no_write: bool) -> Option<usize> {
        let first = start / PAGE * PAGE;
        let span = (start + len.max(1)).next_multiple_of(PAGE) - first;
        let view = match self.region(first) {
            // Freed buffers too: locked pages stay in memory (the memory
            // file outlives the process's addresses).
            Some((base, region)) if first + span <= base + region.mapped => {
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
        self.mappings.insert(address, SystemMapping { mdl, view, writable: !no_write });
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

    /// Maps `len` bytes of host pages at `pages` (the pages of `mdl`) into
    /// `process`'s user space: their address there, or `None` when the
    /// process maps them already (a second mapping in one process would need
    /// a second address, which the model does not make).
    pub(super) fn map_user(&mut self, mdl: usize, pages: usize, len: usize, process: u64) -> Option<usize> {
        if self.user_mappings.contains_key(&(pages, process)) {
            return None;
        }
        self.user_mappings.insert((pages, process), UserMapping { mdl, process, len });
        Some(pages)
    }

    /// Whether `mdl` has a user-space mapping in any process.
    pub(super) fn is_user_mapped(&self, mdl: usize) -> bool {
        self.user_mappings.values().any(|m| m.mdl == mdl)
    }

    /// The processes that have a user-space mapping of `mdl` at `address`
    /// (empty: not a user-space mapping), lowest id first.
    pub(super) fn user_mapping_processes(&self, address: usize, mdl: usize) -> Vec<u64> {
        let mut processes: Vec<u64> = self
            .user_mappings
            .iter()
            .filter(|&(&(base, _), m)| base == address && m.mdl == mdl)
            .map(|(_, m)| m.process)
            .collect();
        processes.sort_unstable();
        processes
    }

    /// Removes `process`'s user-space mapping at `address`.
    pub(super) fn unmap_user(&mut self, address: usize, process: u64) {
        self.user_mappings.remove(&(address, process));
    }

    /// Whether the page at `page` lies in a user-space mapping (`Some`), and
    /// if so whether `process` reaches it (it is that mapping's process).
    pub(super) fn user_mapping_allows(&self, process: u64, page: usize) -> Option<bool> {
        let mut covering =
            self.user_mappings.iter().filter(|&(&(base, _), m)| (base / PAGE * PAGE..base + m.len).contains(&page));
        let first = covering.next()?;
        Some(first.1.process == process || covering.any(|(_, m)| m.process == process))
    }

    /// Removes every system mapping of `mdl`.
    pub(super) fn unmap_all(&mut self, mdl: usize) {
        self.user_mappings.retain(|_, m| m.mdl != mdl);
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

    /// The read-only system mapping of user pages that `len` bytes at
    /// `address` touch, if any: its MDL.
    pub(super) fn read_only_mapping(&self, address: usize, len: usize) -> Option<usize> {
        let end = address.saturating_add(len.max(1));
        self.mappings
            .values()
            .find(|m| !m.writable && m.view.is_some_and(|(base, size)| address < base + size && base < end))
            .map(|m| m.mdl)
    }

    /// Whether a live user buffer holds `address` and its page is
    /// accessible now (not `PAGE_NOACCESS`).
    pub(super) fn is_user_accessible(&self, address: usize) -> bool {
        self.buffer_allows(super::process::current(), address, false) == Some(true)
    }

    /// At unload, first: 0xC4/[`MDL_USER_MAPPING_LEAKED`] for each
    /// user-space mapping left (forgotten once reported).
    pub(super) fn report_user_mappings(&mut self, violations: &mut Vec<Violation>) {
        let mut mapped: Vec<((usize, u64), UserMapping)> = self.user_mappings.drain().collect();
        mapped.sort_unstable_by_key(|&(key, _)| key);
        for ((address, _), m) in mapped {
            violations.push(violation(
                MDL_USER_MAPPING_LEAKED,
                [address as u64, m.mdl as u64, m.process],
                format!(
                    "user-space mapping {address:#x} of MDL {:#x} in process {:#x} never unmapped",
                    m.mdl, m.process
                ),
            ));
        }
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

/// Sets the host protection of a user buffer's own mapping, as the process
/// would with `VirtualProtect`.
#[cfg(target_os = "linux")]
fn host_protect(base: usize, len: usize, protection: UserProtection) {
    let prot = match protection {
        UserProtection::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
        UserProtection::ReadOnly => libc::PROT_READ,
        UserProtection::NoAccess => libc::PROT_NONE,
    };
    // SAFETY: `base..base + len` is a user buffer's own mapping, which only
    // the model's test-facing routines touch (through another mapping).
    let done = unsafe { libc::mprotect(base as *mut libc::c_void, len, prot) };
    assert_eq!(done, 0, "mprotect of a user buffer");
}

#[cfg(not(target_os = "linux"))]
fn host_protect(_base: usize, _len: usize, _protection: UserProtection) {}

/// Whether `address` lies on the calling thread's stack (the model's
/// kernel stack of the thread).
#[cfg(target_os = "linux")]
pub(super) fn on_current_stack(address: usize) -> bool {
    // SAFETY: plain data, filled by pthread_getattr_np for the calling
    // thread, destroyed once.
    unsafe {
        let mut attributes: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attributes) != 0 {
            return false;
        }
        let (mut low, mut size) = (std::ptr::null_mut(), 0usize);
        let found = libc::pthread_attr_getstack(&attributes, &mut low, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attributes);
        found && (low as usize..low as usize + size).contains(&address)
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn on_current_stack(_address: usize) -> bool {
    false
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
    ///
    /// The buffer belongs to the process the calling thread runs in now
    /// (the System process, unless inside [`UserProcess::run`](super::UserProcess::run)),
    /// and is reachable only from that process's context.
    pub fn user_buffer(&self, len: usize) -> UserRange {
        self.add_user_buffer(len, UserProtection::ReadWrite, super::process::current())
    }

    /// A user buffer of `len` bytes in process `owner`.
    pub(super) fn add_user_buffer(&self, len: usize, protection: UserProtection, owner: u64) -> UserRange {
        self.state().mdl.add_region(len, protection, owner).expect("the model's user buffers need Linux")
    }

    /// A read-only user buffer of `len` bytes (fill it with
    /// [`write_user`](Self::write_user)): probes for reading succeed, probes
    /// for writing raise `STATUS_ACCESS_VIOLATION`.
    ///
    /// # Panics
    /// As [`user_buffer`](Self::user_buffer).
    pub fn read_only_user_buffer(&self, len: usize) -> UserRange {
        self.add_user_buffer(len, UserProtection::ReadOnly, super::process::current())
    }

    /// Whether `range` is a user buffer still live: not freed by
    /// [`free_user_buffer`](Self::free_user_buffer) nor by its process's
    /// exit.
    pub fn is_live_user_buffer(&self, range: UserRange) -> bool {
        self.state().mdl.regions.get(&range.address).is_some_and(|region| region.live)
    }

    /// Frees a user buffer, as the process's `VirtualFree` would, at any
    /// moment (an MDL of it may be locked): from now on its addresses are
    /// unmapped (inaccessible on the host too), and probing them raises
    /// `STATUS_ACCESS_VIOLATION`. Pages locked before stay locked, and a
    /// system mapping of them stays valid.
    ///
    /// # Panics
    /// If `range` is not a live user buffer.
    pub fn free_user_buffer(&self, range: UserRange) {
        assert!(self.state().mdl.free_region(range.address), "{range:?} is not a live user buffer");
    }

    /// Changes the protection of a user buffer, as the process's
    /// `VirtualProtect` would, at any moment: later probes see the new
    /// protection (and the host's mapping of the user addresses gets it);
    /// pages locked before, and their system mappings, are not affected.
    ///
    /// # Panics
    /// If `range` is not a live user buffer.
    pub fn protect_user_buffer(&self, range: UserRange, protection: UserProtection) {
        let done = self.state().mdl.protect_region(range.address, protection);
        assert!(done, "{range:?} is not a live user buffer");
    }

    /// Sets the kernel variable `MmUserProbeAddress` (exported by
    /// `MmGetSystemRoutineAddress`), `0x7FFF_FFFF_0000` at first, as on x64
    /// Windows with 4-level paging. User-mode probes refuse ranges that end
    /// past it.
    pub fn set_user_probe_address(&self, address: usize) {
        *self.state().mdl.user_probe_address = address;
    }

    /// Writes `bytes` at `address` of a user buffer, as the process would
    /// (read-only buffers too: the process set their contents; a freed or
    /// no-access one too: the test sees the memory behind it).
    ///
    /// # Panics
    /// If the bytes are not all inside one user buffer.
    pub fn write_user(&self, address: usize, bytes: &[u8]) {
        self.with_user_view(address, bytes.len(), |view| {
            // SAFETY: a fresh read-write view of `bytes.len()` bytes.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), view, bytes.len()) }
        });
    }

    /// Reads `len` bytes at `address` of a user buffer (whatever its
    /// protection now).
    ///
    /// # Panics
    /// If the bytes are not all inside one user buffer.
    pub fn read_user(&self, address: usize, len: usize) -> Vec<u8> {
        // SAFETY: a fresh view of `len` readable bytes.
        self.with_user_view(address, len, |view| unsafe { std::slice::from_raw_parts(view, len) }.to_vec())
    }

    /// Runs `f` on a temporary read-write mapping of the memory behind `len`
    /// bytes at `address` of one user buffer (the test's own access, which
    /// the buffer's protection does not restrict).
    fn with_user_view<R>(&self, address: usize, len: usize, f: impl FnOnce(*mut u8) -> R) -> R {
        let state = self.state();
        let region = state
            .mdl
            .region(address)
            .filter(|&(base, region)| address.checked_add(len).is_some_and(|end| end <= base + region.mapped));
        let Some((base, region)) = region else { panic!("{len} bytes at {address:#x} are not inside one user buffer") };
        let first = (address - base) / PAGE * PAGE;
        let span = (address - base + len.max(1)).next_multiple_of(PAGE) - first;
        let view = region.memory.map(first as u64, span, Mapping::ReadWrite);
        assert!(!view.is_null(), "the host cannot map the user buffer");
        // SAFETY: `view` maps the bytes from `base + first`.
        let result = f(unsafe { view.add(address - base - first) });
        // SAFETY: the mapping made above, released once.
        unsafe { MemoryFile::unmap(view, span) };
        result
    }
}
