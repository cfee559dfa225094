//! The crate's one policy for what an owner of kernel memory does when it is
//! dropped above the IRQL that giving the memory back needs.
//!
//! Every `Drop` of the pool and lookaside types ([`PoolBox`](super::PoolBox),
//! [`PoolBuffer`](super::PoolBuffer), [`KernelAllocator`](super::KernelAllocator)
//! blocks, [`LookasideBox`](crate::lookaside::LookasideBox),
//! [`LookasideList`](crate::lookaside::LookasideList)) asks [`may_release`]
//! once, *before* it touches anything:
//!
//! - at or below the maximum, it drops the value and gives the memory back;
//! - above it, it touches nothing (the value's destructor does not run, so
//!   paged memory is never read at a raised IRQL) and the memory stays
//!   allocated: leaked, never freed. A pool block stays in the pool; a
//!   lookaside entry stays a pool block that never goes back to its list; a
//!   lookaside list stays initialised in its own non-paged block, which the
//!   kernel may go on linking because it is never freed.
//!
//! Leaking is safe (nothing the kernel knows of is freed) and recoverable;
//! Driver Verifier (and the kernel model) reports the leak when the driver
//! unloads: 0xC4/0x60 for pool, 0xCE for a list never deleted.
//!
//! This is an IRQL check like the others, so it follows the crate's one
//! policy ([`crate::irql`]): in a build that does not check (release
//! without the feature `irql-checks`), [`may_release`] is `true` without
//! reading the IRQL, and a drop above the maximum releases as a C driver
//! would, with the kernel's consequence (a bug check: 0x0A/0xD1 for a paged
//! value touched when not resident, 0xC2 or Driver Verifier's 0xC4 for the
//! pool call).

use crate::Irql;

/// True when memory whose release needs IRQL `<= max` may be released now;
/// false when the caller must leak it without touching it (see the module
/// documentation). Checked, reads the IRQL once (and computes `max` only
/// then); unchecked, is `true`.
#[inline(always)]
pub(crate) fn may_release(max: impl FnOnce() -> Irql) -> bool {
    Irql::ensure_at_most_of(max).is_ok()
}
