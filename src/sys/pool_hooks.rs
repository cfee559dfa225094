//! The hook through which `crate::pool` and `crate::lookaside` tell the
//! kernel model that the driver is about to touch pool memory. On Windows (and
//! Wine) it compiles to nothing: a touch of pool memory is an ordinary load or
//! store, and a touch of paged pool above APC_LEVEL is the page fault Windows
//! turns into `IRQL_NOT_LESS_OR_EQUAL` (0x0A) or
//! `DRIVER_IRQL_NOT_LESS_OR_EQUAL` (0xD1) when the page is out (always, with
//! Driver Verifier's IRQL checking, which trims pageable memory on every
//! raise).
//!
//! The `model` provider defines the same function (in
//! `model/exports/pool.rs`) and reports such a touch there.

use super::PVOID;

/// Declares that the driver is about to touch `size` bytes of pool memory at
/// `address` (`write`: for writing) through a safe pool or lookaside type.
/// No-op on a real kernel.
#[inline(always)]
pub fn note_pool_access(_address: PVOID, _size: usize, _write: bool) {}
