//! `MmAllocatePagesForMdlEx` and `MmFreePagesFromMdl`, reachable through
//! `MmGetSystemRoutineAddress` only (as the crate resolves them).

use std::format;

use super::super::{
    kernel::with_state,
    mdl::violation,
    mdl_pages::{MDL_PAGES_BAD_FREE, MDL_PAGES_FREED_OUT_OF_ORDER, MDL_PAGES_IO_FREE_MDL},
};
use super::irql_above;
use crate::sys::{
    _MEMORY_CACHING_TYPE, MDL_ALLOCATED_FIXED_SIZE, MDL_MAPPED_TO_SYSTEM_VA, MDL_PAGES_LOCKED, MEMORY_CACHING_TYPE,
    MM_ALLOCATE_FULLY_REQUIRED, MM_ALLOCATE_NO_WAIT, MmGetMdlPfnArray, PAGE_SIZE, PHYSICAL_ADDRESS, PMDL, SIZE_T,
    ULONG, mdl_flags,
};

const PAGE: u64 = PAGE_SIZE as u64;
/// The most pages one MDL of this routine describes: its `ByteCount` is a
/// `ULONG`, and the DDI reference's maximum for one request is 4 GiB minus
/// a page.
const MAX_PAGES: usize = (u32::MAX as u64 / PAGE) as usize;

/// `MmAllocatePagesForMdlEx`: above APC_LEVEL (DISPATCH_LEVEL with
/// `MM_ALLOCATE_NO_WAIT`) the DDI violation and NULL; NULL for 0 bytes, an
/// invalid cache type, a `SkipBytes` that is not a multiple of the page
/// size, no page in `low..=high`, fewer pages than asked with
/// `MM_ALLOCATE_FULLY_REQUIRED` (also for more than one MDL describes:
/// 4 GiB - PAGE), or an injected fault. Otherwise an MDL of as many zeroed
/// pages as the model grants (see `Kernel::limit_mdl_pages`), at most
/// 4 GiB - PAGE of them: `ByteCount` may be less than `total`.
///
/// # Safety
/// As the kernel's.
pub(super) unsafe extern "system" fn mm_allocate_pages_for_mdl_ex(
    low: PHYSICAL_ADDRESS,
    high: PHYSICAL_ADDRESS,
    skip: PHYSICAL_ADDRESS,
    total: SIZE_T,
    cache: MEMORY_CACHING_TYPE,
    flags: ULONG,
) -> PMDL {
    // SAFETY: every member of a LARGE_INTEGER covers the same eight bytes.
    let (low, high, skip) = unsafe { (low.QuadPart as u64, high.QuadPart as u64, skip.QuadPart as u64) };
    with_state(|state| {
        let max = if flags & MM_ALLOCATE_NO_WAIT != 0 { 2 } else { 1 };
        if irql_above(state, "MmAllocatePagesForMdlEx", max) {
            return core::ptr::null_mut();
        }
        let valid_cache =
            [_MEMORY_CACHING_TYPE::MmNonCached, _MEMORY_CACHING_TYPE::MmCached, _MEMORY_CACHING_TYPE::MmWriteCombined]
                .contains(&cache);
        if total == 0
            || !valid_cache
            || skip % PAGE != 0
            || state.faults.should_fail("MmAllocatePagesForMdlEx", None, total as usize)
        {
            return core::ptr::null_mut();
        }
        let Some(asked) = total.checked_next_multiple_of(PAGE).map(|bytes| (bytes / PAGE) as usize) else {
            return core::ptr::null_mut();
        };
        if flags & MM_ALLOCATE_FULLY_REQUIRED != 0 && asked > MAX_PAGES {
            return core::ptr::null_mut();
        }
        let granted = state.mdl_pages.grantable(asked.min(MAX_PAGES));
        let frames = state.memory.reserve_frames(granted, low, high);
        if frames.is_empty() || (flags & MM_ALLOCATE_FULLY_REQUIRED != 0 && frames.len() < asked) {
            state.memory.release_frames(&frames);
            return core::ptr::null_mut();
        }
        let pages = frames.len();
        let mdl = state.mdl.allocate(pages);
        if mdl.is_null() {
            state.memory.release_frames(&frames);
            return mdl;
        }
        let bytes = total.min(pages as u64 * PAGE);
        // SAFETY: a fresh, zeroed MDL of the model with room for `pages` PFNs.
        unsafe {
            (*mdl).Size = (size_of::<crate::sys::MDL>() + pages * 8) as i16;
            (*mdl).MdlFlags = (MDL_PAGES_LOCKED | MDL_ALLOCATED_FIXED_SIZE) as i16;
            (*mdl).ByteCount = bytes as ULONG;
            for (index, frame) in frames.iter().enumerate() {
                MmGetMdlPfnArray(mdl).add(index).write(frame / PAGE);
            }
        }
        if state.mdl_pages.add(mdl as usize, frames.clone()).is_none() {
            state.memory.release_frames(&frames);
            state.mdl.free(mdl as usize);
            return core::ptr::null_mut();
        }
        mdl
    })
}

/// `MmFreePagesFromMdl`: above DISPATCH_LEVEL the DDI violation; an MDL
/// that is not one of `MmAllocatePagesForMdlEx`, whose pages were freed, or
/// that is still mapped, 0xC4/[`MDL_PAGES_BAD_FREE`].
///
/// # Safety
/// As the kernel's.
pub(super) unsafe extern "system" fn mm_free_pages_from_mdl(mdl: PMDL) {
    with_state(|state| {
        if irql_above(state, "MmFreePagesFromMdl", 2) {
            return;
        }
        let address = mdl as usize;
        let reason = if !state.mdl_pages.is_pages_mdl(address) {
            Some(1)
        } else if state.mdl_pages.pages_of(address).is_none() {
            Some(2)
            // SAFETY: a live MDL of the model (its pages are allocated).
        } else if unsafe { mdl_flags(mdl) } & MDL_MAPPED_TO_SYSTEM_VA != 0 || state.mdl.is_user_mapped(address) {
            Some(3)
        } else {
            None
        };
        if let Some(reason) = reason {
            let what = ["not an MDL of MmAllocatePagesForMdlEx", "pages freed already", "still mapped"][reason - 1];
            state.violations.push(violation(
                MDL_PAGES_BAD_FREE,
                [address as u64, reason as u64, 0],
                format!("MmFreePagesFromMdl({address:#x}): {what}"),
            ));
            return;
        }
        if let Ok(frames) = state.mdl_pages.free_pages(address) {
            state.memory.release_frames(&frames);
        }
    });
}

/// `ExFreePool`'s part for an MDL of fresh pages: above DISPATCH_LEVEL the
/// DDI violation (nothing freed); else frees the header, after
/// 0xC4/[`MDL_PAGES_FREED_OUT_OF_ORDER`] when its pages were not freed
/// first. False when `block` is not such an MDL.
pub(super) fn free_pages_mdl(block: usize) -> bool {
    with_state(|state| {
        if !state.mdl_pages.is_pages_mdl(block) {
            return false;
        }
        if irql_above(state, "ExFreePool", 2) {
            return true;
        }
        let (pages, frames) = state.mdl_pages.forget(block);
        if pages > 0 {
            state.memory.release_frames(&frames);
            state.violations.push(violation(
                MDL_PAGES_FREED_OUT_OF_ORDER,
                [block as u64, pages as u64, 0],
                format!(
                    "ExFreePool of MDL {block:#x} before MmFreePagesFromMdl: its {pages} page(s) can never be freed"
                ),
            ));
        }
        state.mdl.free(block);
        true
    })
}

/// `IoFreeMdl`'s check: 0xC4/[`MDL_PAGES_IO_FREE_MDL`] for an MDL of fresh
/// pages (which is then freed as `ExFreePool` would). True if it was one.
pub(super) fn io_free_pages_mdl(mdl: usize) -> bool {
    let is_pages_mdl = with_state(|state| state.mdl_pages.is_pages_mdl(mdl));
    if is_pages_mdl {
        with_state(|state| {
            state.violations.push(violation(
                MDL_PAGES_IO_FREE_MDL,
                [mdl as u64, 0, 0],
                format!("IoFreeMdl of MDL {mdl:#x} from MmAllocatePagesForMdlEx (the DDI reference says ExFreePool)"),
            ))
        });
        free_pages_mdl(mdl);
    }
    is_pages_mdl
}
