//! The two hooks through which `crate::paging` tells the kernel model what
//! only a real kernel can see by itself. On Windows (and Wine) they compile
//! to nothing: the kernel reads the driver's sections from its PE image, and
//! a touch of pageable memory is an ordinary load or store.
//!
//! The `model` provider defines the same two functions (in
//! `model/exports/paging.rs`) and does real work in them.

use super::PVOID;

/// Declares that `size` bytes at `address` (a `pageable_static!` static) lie
/// in the image section named `section`. No-op on a real kernel.
#[inline(always)]
pub fn note_pageable_static(_section: &'static str, _address: PVOID, _size: usize) {}

/// Declares that the driver is about to touch `size` bytes of pageable data
/// at `address` (`write`: for writing) through a lock guard. No-op on a real
/// kernel.
#[inline(always)]
pub fn note_pageable_access(_address: PVOID, _size: usize, _write: bool) {}
