//! The sample's request validation: every IOCTL's whole envelope (transfer
//! method, buffer lengths, system buffer) is checked here, in one table,
//! before its handler runs, and every caller-controlled size inside a
//! request is capped by the `check_*` functions its handler calls first. A
//! request refused here has done nothing: no allocation, no object, no
//! state.
//!
//! The caps are the protocol's (`protocol.rs`, per IOCTL): what the sample
//! needs, not what the kernel would allow. Requests that would run a routine
//! known to abort the running kernel (Wine 8's `MmLockPagableDataSection`
//! stub, behind `IOCTL_PAGING_WRITE`, `IOCTL_PAGING_READ` and
//! `IOCTL_PAGING_CODE`) are refused with `STATUS_NOT_SUPPORTED` unless the
//! driver was built with the `allow-aborting-routines` feature.
//!
//! Every IOCTL of the protocol has a row here, the routines' and the
//! pageable-code IOCTLs (`routines_ioctl`, `page_code_ioctl`) included:
//! tests/sample_tables.rs fails when one is missing from this table, from the
//! dispatch table or from the client's storm. (An IOCTL without a row would
//! be passed to its handler, which would then have to validate it itself.)

use core::{
    mem::size_of,
    sync::atomic::{AtomicBool, Ordering},
};

use wdm_mem::{NtResult, NtStatus, sys};

use crate::{
    irp::DeviceControl,
    protocol::{self as p, METHOD_BUFFERED},
};

/// The lengths a request may have: `min..=max` bytes.
#[derive(Clone, Copy)]
struct Len {
    min: usize,
    max: usize,
}

/// Exactly one `T`.
const fn exact<T>() -> Len {
    Len { min: size_of::<T>(), max: size_of::<T>() }
}

/// Nothing.
const NONE: Len = Len { min: 0, max: 0 };

/// A reply `T` in a buffer of at most [`p::BUFFERED_OUTPUT_MAX`] bytes.
const fn reply<T>() -> Len {
    Len { min: size_of::<T>(), max: p::BUFFERED_OUTPUT_MAX }
}

/// A caller's data buffer of the direct and neither methods.
const DATA: Len = Len { min: 1, max: p::MDL_BUFFER_MAX };

/// One IOCTL's envelope: its code (the method is its low two bits), what its
/// input and output buffers may be, and whether it runs a routine that
/// aborts some kernel.
struct Envelope {
    code: u32,
    input: Len,
    output: Len,
    aborts_on_wine: bool,
}

const fn row(code: u32, input: Len, output: Len) -> Envelope {
    Envelope { code, input, output, aborts_on_wine: false }
}

const fn aborting(code: u32, input: Len, output: Len) -> Envelope {
    Envelope { code, input, output, aborts_on_wine: true }
}

/// Every IOCTL of the protocol (as of this file) and its envelope.
static ENVELOPES: &[Envelope] = &[
    row(p::IOCTL_POOL_ROUNDTRIP, exact::<p::PoolRequest>(), reply::<p::PoolReply>()),
    row(p::IOCTL_POOL_STATS, NONE, reply::<p::PoolReply>()),
    row(p::IOCTL_SECTION_ROUNDTRIP, exact::<p::SectionRequest>(), reply::<p::SectionReply>()),
    row(p::IOCTL_SECTION_PUBLISH, NONE, reply::<p::SectionReply>()),
    row(p::IOCTL_SECTION_UNPUBLISH, NONE, reply::<p::SectionReply>()),
    aborting(p::IOCTL_PAGING_WRITE, exact::<p::PagingRequest>(), reply::<p::PagingReply>()),
    aborting(p::IOCTL_PAGING_READ, NONE, reply::<p::PagingReply>()),
    row(p::IOCTL_PAGING_ENTIRE_DRIVER, NONE, reply::<p::PagingReply>()),
    row(p::IOCTL_LOOKASIDE_REUSE, exact::<p::LookasideRequest>(), reply::<p::LookasideReply>()),
    row(p::IOCTL_MEMORY_NON_CACHED, exact::<p::MemoryRequest>(), reply::<p::MemoryReply>()),
    row(p::IOCTL_MEMORY_CONTIGUOUS, exact::<p::MemoryRequest>(), reply::<p::MemoryReply>()),
    row(p::IOCTL_MDL_OUT_DIRECT, exact::<p::MdlFillRequest>(), DATA),
    row(p::IOCTL_MDL_IN_DIRECT, exact::<p::MdlSumRequest>(), DATA),
    row(p::IOCTL_MDL_NEITHER, DATA, DATA),
    row(p::IOCTL_MDL_PROBE, exact::<p::MdlProbeRequest>(), reply::<p::MdlReply>()),
    row(p::IOCTL_MDL_KERNEL_BUFFERS, NONE, reply::<p::MdlKernelReply>()),
    row(p::IOCTL_IO_SPACE_READ, exact::<p::IoSpaceRequest>(), reply::<p::IoSpaceReply>()),
    row(p::IOCTL_ADDRESS_QUERY, NONE, reply::<p::AddressReply>()),
    row(p::IOCTL_ROUTINES_STATUS, NONE, reply::<p::RoutinesReply>()),
    aborting(p::IOCTL_PAGING_CODE, NONE, reply::<u64>()),
    row(p::IOCTL_USER_COPY, DATA, DATA),
    row(p::IOCTL_USER_SECURE, NONE, DATA),
    row(p::IOCTL_USER_MAP, NONE, reply::<p::UserMapReply>()),
];

/// `STATUS_INTERNAL_ERROR`.
const INTERNAL_ERROR: NtStatus = NtStatus::from_raw(0xC000_00E5_u32 as i32);

/// Whether the running kernel is Wine's, as DriverEntry found it.
static KERNEL_IS_WINE: AtomicBool = AtomicBool::new(false);

/// Finds out whether the kernel is Wine's (its ntoskrnl exports
/// `wine_ntoskrnl_main_loop`). Called from DriverEntry, at PASSIVE_LEVEL.
pub fn detect_kernel() {
    KERNEL_IS_WINE.store(sys::WINE_KERNEL.address(true).is_some(), Ordering::Relaxed);
}

/// Whether requests that run a routine aborting this kernel are refused.
fn aborting_refused() -> bool {
    !cfg!(feature = "allow-aborting-routines") && KERNEL_IS_WINE.load(Ordering::Relaxed)
}

fn check_len(len: usize, allowed: Len, too_small: NtStatus) -> NtResult<()> {
    match len {
        len if len < allowed.min => Err(too_small),
        len if len > allowed.max => Err(NtStatus::INVALID_PARAMETER),
        _ => Ok(()),
    }
}

/// The envelope of `request`: refused with the status its handler must
/// complete it with, before anything else happens.
///
/// - an IOCTL the table does not know: accepted (its handler checks it);
/// - a routine that aborts this kernel, not opted in: `STATUS_NOT_SUPPORTED`;
/// - an input of the wrong length: `STATUS_INVALID_PARAMETER`;
/// - an output too small for the reply: `STATUS_BUFFER_TOO_SMALL` (for the
///   direct and neither methods, whose output is the caller's data: no
///   buffer, `STATUS_INVALID_PARAMETER`); above its cap: `STATUS_INVALID_PARAMETER`;
///
/// (A METHOD_BUFFERED request without a system buffer is refused by
/// `DeviceControl::input` and `reply`, which check it.)
pub fn envelope(request: &DeviceControl) -> NtResult<()> {
    let Some(envelope) = ENVELOPES.iter().find(|envelope| envelope.code == request.code()) else {
        return Ok(());
    };
    if envelope.aborts_on_wine && aborting_refused() {
        return Err(NtStatus::NOT_SUPPORTED);
    }
    let (input_len, output_len) = request.lengths();
    check_len(input_len, envelope.input, NtStatus::INVALID_PARAMETER)?;
    let method = envelope.code & 3;
    let output_too_small =
        if method == METHOD_BUFFERED { NtStatus::BUFFER_TOO_SMALL } else { NtStatus::INVALID_PARAMETER };
    check_len(output_len, envelope.output, output_too_small)?;
    Ok(())
}

/// The byte count a handler returns, kept within the caller's output buffer:
/// a handler claiming more is a bug of this driver, answered
/// `STATUS_INTERNAL_ERROR` with no byte rather than a copy past the buffer.
pub fn reply_bytes(request: &DeviceControl, (status, written): (NtStatus, usize)) -> (NtStatus, usize) {
    let (_, output_len) = request.lengths();
    if written > output_len { (INTERNAL_ERROR, 0) } else { (status, written) }
}

/// `IOCTL_POOL_ROUNDTRIP`: a size of 1 to [`p::POOL_SIZE_MAX`] bytes, an
/// alignment of 0 or a power of two up to [`p::POOL_ALIGN_MAX`], no
/// reserved byte set.
pub fn check_pool(request: &p::PoolRequest) -> NtResult<()> {
    let size_ok = (1..=p::POOL_SIZE_MAX).contains(&request.size);
    let align_ok = request.align == 0 || (request.align.is_power_of_two() && request.align <= p::POOL_ALIGN_MAX);
    if size_ok && align_ok && request.reserved == [0; 7] { Ok(()) } else { Err(NtStatus::INVALID_PARAMETER) }
}

/// `IOCTL_SECTION_ROUNDTRIP`: the section, the view's offset and size at
/// most [`p::SECTION_SIZE_MAX`], `read_only_section` 0 or 1, no reserved
/// byte set. (A size of 0 and a bad offset are the kernel's to refuse: the
/// reply carries its status.)
pub fn check_section(request: &p::SectionRequest) -> NtResult<()> {
    let max = p::SECTION_SIZE_MAX;
    let sizes_ok = request.section_size <= max && request.view_offset <= max && request.view_size <= max;
    if sizes_ok && request.read_only_section <= 1 && request.reserved == [0; 3] {
        Ok(())
    } else {
        Err(NtStatus::INVALID_PARAMETER)
    }
}

/// The memory IOCTLs: at most [`p::MEMORY_SIZE_MAX`] bytes (0 is the
/// crate's to refuse), no reserved byte set.
pub fn check_memory(request: &p::MemoryRequest) -> NtResult<()> {
    if request.size <= p::MEMORY_SIZE_MAX && request.reserved == [0; 3] {
        Ok(())
    } else {
        Err(NtStatus::INVALID_PARAMETER)
    }
}

/// `IOCTL_MDL_PROBE`: at most [`p::MDL_BUFFER_MAX`] bytes (0, and every bad
/// address, are the crate's to refuse), `write` 0 or 1, no reserved bits.
pub fn check_probe(request: &p::MdlProbeRequest) -> NtResult<()> {
    let len_ok = request.len <= p::MDL_BUFFER_MAX as u64;
    if len_ok && request.write <= 1 && request.reserved == 0 { Ok(()) } else { Err(NtStatus::INVALID_PARAMETER) }
}
