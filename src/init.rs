//! `INIT` data: statics the Windows loader discards as soon as `DriverEntry`
//! returns (seed 001: `#pragma data_seg("INIT")`), reachable only through an
//! [`InitToken`] whose lifetime ends before `DriverEntry` does, so no
//! reference to them can outlive the section.
//!
//! ```
//! # let kernel = wdm_mem::model::Kernel::new();
//! use wdm_mem::{init::with_init_token, init_static};
//!
//! init_static! {
//!     /// Boot-time defaults: read once in DriverEntry, then discarded.
//!     static DEFAULTS: [u32; 4] = [16, 64, 256, 1024];
//! }
//!
//! // In DriverEntry (the only place the token may be made):
//! // SAFETY: called from DriverEntry, before it returns.
//! let sum: u32 = unsafe { with_init_token(|token| DEFAULTS.get(token).iter().sum()) };
//! assert_eq!(sum, 1360); // a copy of what was read outlives the token; no reference does
//! # kernel.assert_clean();
//! ```
//!
//! A reference cannot leave the token's closure:
//!
//! ```compile_fail,E0521
//! # use wdm_mem::{init::with_init_token, init_static};
//! init_static! { static DEFAULTS: [u32; 4] = [0; 4]; }
//! let mut kept: Option<&'static [u32; 4]> = None;
//! // SAFETY: in DriverEntry.
//! unsafe { with_init_token(|token| kept = Some(DEFAULTS.get(token))) };
//! ```
//!
//! nor can the token, and without a token there is no access:
//!
//! ```compile_fail,E0521
//! # use wdm_mem::init::{with_init_token, InitToken};
//! let mut saved = None;
//! // SAFETY: in DriverEntry.
//! unsafe { with_init_token(|token| saved = Some(token)) };
//! ```
//!
//! ```compile_fail,E0061
//! # use wdm_mem::init_static;
//! init_static! { static DEFAULTS: [u32; 4] = [0; 4]; }
//! let first = DEFAULTS.get()[0];
//! ```
//!
//! # What is in `INIT`, and what is not
//! On Windows targets [`init_static!`](crate::init_static) places the static
//! itself in a section named `INIT` (`#[link_section = "INIT"]`). LLVM gives
//! that section the attributes of the data (read-write: the storage is an
//! `UnsafeCell`, so that every `INIT` static has the same attributes and
//! LLVM sees no section type conflict), nothing more; lld-link knows nothing
//! of `INIT` and would keep it as an ordinary data section, so the driver
//! links with `/SECTION:INIT,RWD` (read, write, **discardable**), the
//! equivalent of MSVC's `#pragma section("INIT", discard)`. The sample
//! driver's build script passes it, and `tests/pe_image.rs` checks the built
//! `.sys` (an `INIT` section exists, is discardable, is not executable).
//!
//! The optimiser may fold reads of an `INIT` static it sees is never
//! written (then nothing is read from the section, and the linker drops the
//! unused static, and an empty `INIT`): sound, but to keep the data in the
//! image, read it through `core::hint::black_box(STATIC.get(token))`, as the
//! sample driver does.
//!
//! Only the static's own bytes are there. What its initialiser refers to is
//! not: a string literal or a promoted constant (`&[1, 2, 3]`) goes to
//! `.rdata` like any constant, so only the pointer is discarded. Code is
//! never in `INIT`: a function there stays reachable after the discard
//! (a function pointer, a caller outside `DriverEntry`) and nothing in the
//! types can rule a call out, and `#[link_section]` on a function does not
//! cover what it calls (`core`, `compiler_builtins`, monomorphised generics
//! land in `.text`); so `DriverEntry` and everything it runs stay resident
//! (pageable code, [`crate::paging`], is sound only under a lock guard).
//!
//! # Why the token is sound, and why making it is `unsafe`
//! [`with_init_token`] hands its closure an `&InitToken<'a>` for a fresh,
//! invariant `'a` that the closure cannot name outside itself (a
//! higher-ranked lifetime, as in `GhostCell`); [`InitStatic::get`] returns
//! `&'a T`, so no reference to `INIT` data, nor the token, can be returned,
//! stored in a static, or captured by anything that outlives the call. The
//! one promise left is *when* the closure runs: before `DriverEntry`
//! returns. The crate cannot see that (a dispatch routine looks the same to
//! it), so [`with_init_token`] is `unsafe`.
//!
//! # Where it runs
//! - Windows: the loader frees the `INIT` pages after `DriverEntry` (and
//!   after a reinitialisation routine, if one is registered; this module
//!   supports `DriverEntry` only); a later touch is a bug check 0x50.
//! - Wine 8: loads the `.sys` like a DLL and never discards a section; the
//!   data stays readable (a touch after `DriverEntry` goes unnoticed there).
//! - Host: the kernel model marks `INIT` data discarded when the first
//!   [`with_init_token`] returns, and reports (0x50,
//!   PAGE_FAULT_IN_NONPAGED_AREA) a touch after that, which only a broken
//!   `unsafe` promise can cause.

use core::{cell::UnsafeCell, marker::PhantomData};

use crate::sys;

/// Proof that `DriverEntry` is running, for the lifetime `'a` of one
/// [`with_init_token`] call. Not `Clone`, not `Send`, not `Sync`;
/// invariant in `'a`.
pub struct InitToken<'a> {
    _brand: PhantomData<Brand<'a>>,
}

/// Invariant in `'a` (the function type), neither `Send` nor `Sync` (the
/// raw pointer).
type Brand<'a> = (fn(&'a ()) -> &'a (), *const ());

/// Runs `f` with a token for the `INIT` statics of this driver; once `f`
/// returns, they are considered discarded.
///
/// # Safety
/// Called from `DriverEntry`, before it returns (the loader discards `INIT`
/// once it has).
///
/// # IRQL
/// Any (`DriverEntry` runs at PASSIVE_LEVEL).
pub unsafe fn with_init_token<R>(f: impl for<'a> FnOnce(&InitToken<'a>) -> R) -> R {
    let result = f(&InitToken { _brand: PhantomData });
    sys::note_init_discarded();
    result
}

/// The storage of an [`init_static!`](crate::init_static): only its
/// [`InitStatic`] reaches it. Only the macro needs to name this type.
#[repr(transparent)]
pub struct InitCell<T>(UnsafeCell<T>);

// SAFETY: the cell is only reached through `InitStatic::get`, which hands
// out `&T` (never `&mut T`): sound for `T: Sync`.
unsafe impl<T: Sync> Sync for InitCell<T> {}

impl<T> InitCell<T> {
    /// A cell holding `value`, evaluated at compile time in a static.
    ///
    /// # IRQL
    /// Any.
    pub const fn new(value: T) -> Self {
        Self(UnsafeCell::new(value))
    }
}

/// An `INIT` static, reachable with an [`InitToken`] only. Declared with
/// [`init_static!`](crate::init_static).
///
/// # Invariants
/// `data` points to a static [`InitCell`] of this image, placed in the
/// `INIT` section on Windows, reached only through this value.
pub struct InitStatic<T: 'static> {
    data: *const InitCell<T>,
}

// SAFETY: `get` gives `&T` only (for `T: Sync`, as `InitCell`); the pointer
// itself is a constant address.
unsafe impl<T: Sync> Sync for InitStatic<T> {}

impl<T: Sync> InitStatic<T> {
    /// Wraps the macro's hidden static.
    ///
    /// # Safety
    /// `data` is a static `InitCell` in the `INIT` section (on Windows) that
    /// nothing else reaches.
    ///
    /// # IRQL
    /// Any (a constant).
    #[doc(hidden)]
    pub const unsafe fn __new(data: *const InitCell<T>) -> Self {
        InitStatic { data }
    }

    /// The data, for as long as the token lives (no longer than
    /// `DriverEntry`).
    ///
    /// # IRQL
    /// Any (the section is resident until `DriverEntry` returns).
    pub fn get<'a>(&'static self, _token: &InitToken<'a>) -> &'a T {
        // SAFETY: the static lives until the loader discards `INIT`, which
        // happens after DriverEntry returns; the token proves DriverEntry is
        // running and `'a` ends before it returns (with_init_token's
        // contract). Only `&T` is ever handed out (invariant).
        let data = unsafe { &*(*self.data).0.get() };
        sys::note_init_access(core::ptr::from_ref(data).cast_mut().cast(), size_of::<T>());
        data
    }
}

/// Declares a static in the `INIT` section (discarded after `DriverEntry`),
/// reachable only with an [`InitToken`](crate::init::InitToken): see
/// [`crate::init`].
///
/// ```
/// wdm_mem::init_static! {
///     /// Read once in DriverEntry.
///     pub static LIMITS: (u32, u32) = (4, 64);
/// }
/// ```
#[macro_export]
macro_rules! init_static {
    ($(#[$attr:meta])* $vis:vis static $name:ident: $ty:ty = $init:expr;) => {
        $(#[$attr])*
        $vis static $name: $crate::init::InitStatic<$ty> = {
            #[cfg_attr(target_os = "windows", unsafe(link_section = "INIT"))]
            static DATA: $crate::init::InitCell<$ty> = $crate::init::InitCell::new($init);
            // SAFETY: `DATA` is a static placed in INIT on Windows, hidden in
            // this block: only this InitStatic reaches it.
            unsafe { $crate::init::InitStatic::__new(&raw const DATA) }
        };
    };
}
