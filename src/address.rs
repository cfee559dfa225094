//! Address checks: `MmIsAddressValid` and `MmGetPhysicalAddress`, as safe
//! functions, with what they do and do not promise.

use crate::{Irql, NtResult, memory::PhysicalAddress, sys};

/// `MmIsAddressValid`: whether touching `address` right now would not
/// page-fault.
///
/// What it does not say: anything about the next instant. Another thread
/// can free or unmap the memory, and pageable memory can be paged out,
/// between this answer and the access; `false` for pageable memory that is
/// merely paged out is normal. It is a diagnostic, not a way to make an
/// access safe: lock the pages (an MDL) or use memory that cannot go away.
/// Under Wine it asks whether the address can be read in the
/// `winedevice.exe` process; in the kernel model, see
/// `model::Kernel::user_buffer`.
///
/// Errors: [`NtStatus::INVALID_LEVEL`](crate::NtStatus::INVALID_LEVEL)
/// above DISPATCH_LEVEL.
///
/// # IRQL
/// `<= DISPATCH_LEVEL`.
pub fn is_address_valid<T>(address: *const T) -> NtResult<bool> {
    Irql::ensure_at_most(Irql::DISPATCH)?;
    // SAFETY: MmIsAddressValid only inspects the page tables for the address;
    // it never touches the memory, whatever the address.
    Ok(unsafe { sys::MmIsAddressValid(address.cast_mut().cast()) } != 0)
}

/// `MmGetPhysicalAddress`: the physical address behind `address`, or `None`
/// when the kernel answers 0 (the page is not valid now). Safe for any
/// address at `<= APC_LEVEL`, where the page-table walk may fault in a
/// paged-out page table; for resident memory at any IRQL, see the unsafe
/// [`PhysicalAddress::of`].
///
/// The answer describes this instant only: unless the memory is non-paged
/// or locked (an MDL), its page can move or go. It is not an address for
/// DMA (use the DMA adapter routines). Under Wine the answer is the virtual
/// address itself; in the kernel model, the simulated frame of non-cached
/// and contiguous memory, `None` elsewhere.
///
/// Errors: [`NtStatus::INVALID_LEVEL`](crate::NtStatus::INVALID_LEVEL)
/// above APC_LEVEL.
///
/// # IRQL
/// `<= APC_LEVEL`.
#[allow(clippy::not_unsafe_ptr_arg_deref, reason = "MmGetPhysicalAddress never dereferences the address")]
pub fn physical_address<T>(address: *const T) -> NtResult<Option<PhysicalAddress>> {
    Irql::ensure_at_most(Irql::APC)?;
    // SAFETY: at APC_LEVEL at most, where `of` takes any address (the
    // kernel may fault in page tables, answers 0 when they do not map the
    // address, and never touches the memory itself).
    let physical = unsafe { PhysicalAddress::of(address) };
    Ok((physical.get() != 0).then_some(physical))
}
