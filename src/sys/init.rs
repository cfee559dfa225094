//! The hooks through which `crate::init` tells the kernel model about `INIT`
//! data. On Windows (and Wine) they compile to nothing: the loader discards
//! the section by itself. The `model` provider defines the same functions
//! (in `model/exports/init.rs`).

use super::PVOID;

/// Declares that `DriverEntry`'s `INIT` token has ended. No-op on a real kernel.
#[inline(always)]
pub fn note_init_discarded() {}

/// Declares that the driver is about to read `size` bytes of `INIT` data at
/// `address`. No-op on a real kernel.
#[inline(always)]
pub fn note_init_access(_address: PVOID, _size: usize) {}
