//! The model's pageable sections of the driver image (seed 001).
//!
//! The image is the test process itself, shared by every session: which
//! static lies in which section is process-wide (`IMAGE`), filled in by
//! `note_pageable_static` as `crate::paging` first locks each static. What a
//! kernel keeps per boot is per session ([`PagingState`]): each section's
//! lock count and residency, and whether `MmPageEntireDriver` is in effect.
//!
//! Paging policy: a section is resident while its count is above zero, is
//! paged out the moment the count drops to zero (the worst case the seed
//! allows: "available to be paged out"), and is paged back in by a lock or
//! by a touch at `<= APC_LEVEL` (a page fault). A touch above `APC_LEVEL`
//! while the count is zero is a violation whether or not the page happens to
//! be resident, as with Driver Verifier's IRQL checking, which trims
//! pageable memory whenever the IRQL is raised.

use std::{
    collections::BTreeMap,
    format,
    ops::Range,
    sync::{Mutex, MutexGuard},
    vec::Vec,
};

use super::verifier::{BugCheck, Violation};

/// Parameter 1 of the model's own unload check (0xC4) for a pageable
/// section still locked when the driver unloads. Windows has no dedicated
/// check: the lock, and the resident pages, simply leak with the image.
pub(super) const SECTION_LOCKED_AT_UNLOAD: u64 = 0x1_0010;

/// One pageable section of the image, as registered.
struct ImageSection {
    name: &'static str,
    ranges: Vec<Range<usize>>,
}

/// The pageable sections of the image (the whole test process), in
/// registration order: a section's index is its identity.
static IMAGE: Mutex<Vec<ImageSection>> = Mutex::new(Vec::new());

fn image() -> MutexGuard<'static, Vec<ImageSection>> {
    IMAGE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where the model's section handles start (an address in system space, as
/// the section headers Windows returns are) and how far apart they are (the
/// size of an `IMAGE_SECTION_HEADER`).
const HANDLE_BASE: usize = 0xFFFF_F805_0000_0000;
const HANDLE_STRIDE: usize = 0x28;

/// Records that `size` bytes at `address` lie in the section `name`.
/// Idempotent.
///
/// # Panics
/// If the range overlaps one registered for another section: the crate
/// would have given one static two sections.
pub(super) fn register(name: &'static str, address: usize, size: usize) {
    let range = address..address + size;
    let mut image = image();
    for section in image.iter() {
        let overlapping = section.ranges.iter().any(|r| r.start < range.end && range.start < r.end);
        assert!(
            !overlapping || section.name == name,
            "{range:#x?} registered in section {name:?} overlaps section {:?}",
            section.name
        );
    }
    match image.iter_mut().find(|section| section.name == name) {
        Some(section) if section.ranges.contains(&range) => {}
        Some(section) => section.ranges.push(range),
        None => image.push(ImageSection { name, ranges: Vec::from([range]) }),
    }
}

/// The index of the section holding `address`.
pub(super) fn section_at(address: usize) -> Option<usize> {
    image().iter().position(|section| section.ranges.iter().any(|r| r.contains(&address)))
}

/// The index of the section named `name`.
pub(super) fn section_named(name: &str) -> Option<usize> {
    image().iter().position(|section| section.name == name)
}

/// The handle `MmLockPagableDataSection` returns for section `index`.
pub(super) fn handle_of(index: usize) -> usize {
    HANDLE_BASE + index * HANDLE_STRIDE
}

/// The section a handle names, if it is one the model handed out.
pub(super) fn index_of(handle: usize) -> Option<usize> {
    let offset = handle.checked_sub(HANDLE_BASE)?;
    let index = offset / HANDLE_STRIDE;
    (offset % HANDLE_STRIDE == 0 && index < image().len()).then_some(index)
}

/// The lowest registered address of section `index` (what the bug checks
/// call the section's base).
pub(super) fn base_of(index: usize) -> usize {
    image()[index].ranges.iter().map(|r| r.start).min().unwrap_or(0)
}

fn name_of(index: usize) -> &'static str {
    image()[index].name
}

/// One pageable section as a session sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageableSection {
    /// The lock count: locks minus unlocks.
    pub lock_count: u32,
    /// Whether its pages are in memory now.
    pub resident: bool,
    /// `MmLockPagableDataSection` calls (the expensive lookup).
    pub locks_by_address: u64,
    /// `MmLockPagableSectionByHandle` calls.
    pub locks_by_handle: u64,
    /// `MmUnlockPagableImageSection` calls that found a lock to release.
    pub unlocks: u64,
    /// Times it was brought back into memory (by a lock or a page fault).
    pub page_ins: u64,
}

/// A touch of pageable data that Windows would not survive.
pub(super) struct UnlockedTouch;

/// The paging state of one session.
#[derive(Debug, Default)]
pub(super) struct PagingState {
    sections: BTreeMap<usize, PageableSection>,
    /// `MmPageEntireDriver` was called and `MmResetDriverPaging` not since.
    pub(super) entire_driver_pageable: bool,
}

impl PagingState {
    /// The state of section `index` (all zero before its first use).
    pub(super) fn section(&self, index: usize) -> PageableSection {
        self.sections.get(&index).copied().unwrap_or_default()
    }

    /// One lock: the count goes up and the section is paged in.
    pub(super) fn lock(&mut self, index: usize, by_handle: bool) {
        let section = self.sections.entry(index).or_default();
        if by_handle {
            section.locks_by_handle += 1;
        } else {
            section.locks_by_address += 1;
        }
        section.lock_count += 1;
        page_in(section);
    }

    /// One unlock; `false`, and nothing changed, when the count is zero.
    pub(super) fn unlock(&mut self, index: usize) -> bool {
        let section = self.sections.entry(index).or_default();
        if section.lock_count == 0 {
            return false;
        }
        section.lock_count -= 1;
        section.unlocks += 1;
        if section.lock_count == 0 {
            section.resident = false;
        }
        true
    }

    /// A touch of section `index` at `irql`: a page fault pages it in at
    /// `<= APC_LEVEL`; above, an unlocked section is an error.
    pub(super) fn touch(&mut self, index: usize, irql: u8) -> Result<(), UnlockedTouch> {
        let section = self.sections.entry(index).or_default();
        if section.lock_count > 0 {
            return Ok(());
        }
        if irql > 1 {
            return Err(UnlockedTouch);
        }
        page_in(section);
        Ok(())
    }

    /// At unload: 0xC4 with [`SECTION_LOCKED_AT_UNLOAD`] for every section
    /// whose count is not zero (parameters: handle, count, base).
    pub(super) fn report_leaks(&mut self, violations: &mut Vec<Violation>) {
        for (&index, section) in self.sections.iter().filter(|(_, s)| s.lock_count > 0) {
            violations.push(Violation {
                bug_check: BugCheck {
                    code: BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION,
                    params: [
                        SECTION_LOCKED_AT_UNLOAD,
                        handle_of(index) as u64,
                        u64::from(section.lock_count),
                        base_of(index) as u64,
                    ],
                },
                message: format!(
                    "driver unloading with pageable section {:?} still locked {} time(s) \
                     (MmUnlockPagableImageSection missing)",
                    name_of(index),
                    section.lock_count
                ),
            });
        }
    }
}

fn page_in(section: &mut PageableSection) {
    if !section.resident {
        section.resident = true;
        section.page_ins += 1;
    }
}
