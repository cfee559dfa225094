//! The model's MDLs of fresh pages (`MmAllocatePagesForMdlEx`): host pages
//! behind simulated frames of the model's RAM, described by an MDL whose
//! header the MDL area allocates; the verifier reports pages never freed
//! (`MmFreePagesFromMdl`), an MDL freed with `ExFreePool` before its pages,
//! and `IoFreeMdl` of such an MDL (the DDI reference says `ExFreePool`).

use std::{
    alloc::{Layout, alloc_zeroed, dealloc},
    collections::HashMap,
    format,
    vec::Vec,
};

use super::{Kernel, mdl::violation, verifier::Violation};

/// Parameter 1 of the model's 0xC4 bug check for the pages of an MDL from
/// `MmAllocatePagesForMdlEx` still allocated at unload (parameter 2: the
/// MDL, parameter 3: the pages). The value is the model's own.
pub const MDL_PAGES_LEAKED: u64 = 0x1_0504;
/// ... for `ExFreePool` of such an MDL before `MmFreePagesFromMdl`: its
/// pages can never be freed (parameter 2: the MDL, parameter 3: the pages).
pub const MDL_PAGES_FREED_OUT_OF_ORDER: u64 = 0x1_0505;
/// ... for `IoFreeMdl` of such an MDL, which `ExFreePool` frees (parameter
/// 2: the MDL).
pub const MDL_PAGES_IO_FREE_MDL: u64 = 0x1_0506;
/// ... for `MmFreePagesFromMdl` of an MDL that is not one, whose pages were
/// freed already, or that is still mapped (parameter 2: the MDL, parameter
/// 3: 1 not such an MDL, 2 freed already, 3 mapped).
pub const MDL_PAGES_BAD_FREE: u64 = 0x1_0507;

const PAGE: usize = crate::sys::PAGE_SIZE as usize;

/// The pages of one MDL.
struct Pages {
    host: usize,
    layout: Layout,
    frames: Vec<u64>,
    /// True once `MmFreePagesFromMdl` freed them.
    freed: bool,
}

/// The MDLs of fresh pages of one session.
#[derive(Default)]
pub(super) struct MdlPagesState {
    mdls: HashMap<usize, Pages>,
    /// The most pages that may be allocated at once (`None`: no limit but
    /// the model's RAM), for partial allocations.
    limit: Option<usize>,
}

impl MdlPagesState {
    /// How many of `pages` pages may be granted now.
    pub(super) fn grantable(&self, pages: usize) -> usize {
        let used: usize = self.mdls.values().filter(|p| !p.freed).map(|p| p.frames.len()).sum();
        self.limit.map_or(pages, |limit| pages.min(limit.saturating_sub(used)))
    }

    /// Zeroed host pages for `frames`; their address, or `None`.
    pub(super) fn add(&mut self, mdl: usize, frames: Vec<u64>) -> Option<usize> {
        let layout = Layout::from_size_align(frames.len() * PAGE, PAGE).ok()?;
        // SAFETY: not zero-sized (at least one frame, checked by the caller).
        let host = unsafe { alloc_zeroed(layout) } as usize;
        (host != 0).then(|| {
            self.mdls.insert(mdl, Pages { host, layout, frames, freed: false });
            host
        })
    }

    /// The host address of the pages of `mdl`, if it is one of these MDLs
    /// with its pages allocated.
    pub(super) fn pages_of(&self, mdl: usize) -> Option<usize> {
        self.mdls.get(&mdl).filter(|p| !p.freed).map(|p| p.host)
    }

    /// Whether `mdl` is one of these MDLs (pages freed or not).
    pub(super) fn is_pages_mdl(&self, mdl: usize) -> bool {
        self.mdls.contains_key(&mdl)
    }

    /// `MmFreePagesFromMdl`'s bookkeeping: the frames to release, or the
    /// violation's code for parameter 3 of [`MDL_PAGES_BAD_FREE`].
    pub(super) fn free_pages(&mut self, mdl: usize) -> Result<Vec<u64>, u64> {
        let pages = self.mdls.get_mut(&mdl).ok_or(1u64)?;
        if pages.freed {
            return Err(2);
        }
        pages.freed = true;
        // SAFETY: allocated by `add` with this layout; freed once (`freed`).
        unsafe { dealloc(pages.host as *mut u8, pages.layout) };
        Ok(core::mem::take(&mut pages.frames))
    }

    /// Forgets `mdl` (its header is being freed): the pages still allocated
    /// (0 if freed), released on the host so the test process does not grow.
    pub(super) fn forget(&mut self, mdl: usize) -> (usize, Vec<u64>) {
        let Some(pages) = self.mdls.remove(&mdl) else { return (0, Vec::new()) };
        if pages.freed {
            return (0, Vec::new());
        }
        // SAFETY: allocated by `add` with this layout, not freed yet.
        unsafe { dealloc(pages.host as *mut u8, pages.layout) };
        (pages.frames.len(), pages.frames)
    }

    /// At unload: 0xC4/[`MDL_PAGES_LEAKED`] for every MDL whose pages were
    /// never freed; returns every MDL left (their headers are the MDL area's
    /// to report).
    pub(super) fn report_leaks(&mut self, violations: &mut Vec<Violation>) -> Vec<usize> {
        let mut left: Vec<usize> = self.mdls.keys().copied().collect();
        left.sort_unstable();
        for &mdl in &left {
            let (pages, _) = self.forget(mdl);
            if pages > 0 {
                violations.push(violation(
                    MDL_PAGES_LEAKED,
                    [mdl as u64, pages as u64, 0],
                    format!(
                        "the {pages} page(s) of MDL {mdl:#x} (MmAllocatePagesForMdlEx) never freed (MmFreePagesFromMdl)"
                    ),
                ));
            }
        }
        left
    }
}

impl Kernel {
    /// Lets at most `pages` pages be allocated by `MmAllocatePagesForMdlEx`
    /// at once from now on: a larger request gets fewer pages (a partial
    /// MDL), or NULL with `MM_ALLOCATE_FULLY_REQUIRED`.
    pub fn limit_mdl_pages(&self, pages: usize) {
        self.state().mdl_pages.limit = Some(pages);
    }
}
