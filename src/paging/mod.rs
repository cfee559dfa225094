//! Pageable driver data: statics in a `PAGE*` section of the driver image,
//! locked into memory on demand with `MmLockPagableDataSection`,
//! `MmLockPagableSectionByHandle` and `MmUnlockPagableImageSection` (seed
//! 001), and the whole-driver switch `MmPageEntireDriver` /
//! `MmResetDriverPaging`.
//!
//! ```
//! # let kernel = wdm_mem::model::Kernel::new();
//! use wdm_mem::{pageable_static, Irql};
//!
//! pageable_static! {
//!     /// Mixer tables: large, used rarely, at predictable times.
//!     static MIXER: [u32; 256] = [0; 256];
//! }
//!
//! let mut tables = MIXER.lock_mut()?;   // MmLockPagableDataSection: count 1
//! tables[0] = 7;
//! drop(tables);                         // MmUnlockPagableImageSection: count 0
//!
//! let tables = MIXER.lock()?;           // MmLockPagableSectionByHandle: count 1
//! let first = Irql::run_raised(Irql::DISPATCH, || tables[0])?;  // locked: fine
//! assert_eq!(first, 7);
//! # drop(tables);
//! # kernel.assert_clean();
//! # Ok::<(), wdm_mem::NtStatus>(())
//! ```
//!
//! # Placement
//! [`pageable_static!`](crate::pageable_static) puts the value in a section
//! whose name starts with `PAGE` (`PAGEDATA` unless another is named),
//! which the Windows loader makes pageable: it pages in on first touch and
//! may be paged out whenever no lock holds it. Section names are checked at
//! compile time (`PAGE` prefix, at most 8 bytes: longer PE section names do
//! not survive linking). Only the macro creates statics the lock calls
//! accept: an address outside the driver's sections is a bug check
//! (0x1A/0x1234) on Windows.
//!
//! Keep the section writable: LLVM gives a named section the attributes of
//! the statics in it, so an ordinary immutable static placed in the same
//! section by hand (`#[link_section = "PAGEDATA"] static X: u32`) can make
//! it read-only, and the first write through a guard would fault.
//! `tests/pe_image.rs` checks the sample driver's `PAGE*` sections.
//!
//! # Locking and the reference count
//! Each [`PageableStatic::lock`] or [`PageableStatic::lock_mut`] takes one
//! reference on the section, released when the guard drops. The first lock
//! of a static calls `MmLockPagableDataSection` (an expensive lookup through
//! the loaded-module list) and keeps the handle it returns; every later lock
//! uses `MmLockPagableSectionByHandle`, much cheaper. The handle stays valid
//! whatever the count; at count zero the section is pageable again, and the
//! next lock brings it back. Unlocks are exactly balanced with locks: a guard
//! is neither `Clone` nor `Copy` and unlocks once, in `Drop`, so more unlocks
//! than locks cannot be written with this module (the raw
//! `sys::MmUnlockPagableImageSection` can: Windows bug-checks 0x1A/0x1010).
//!
//! # Aliasing
//! A lock is per section, but the data is per static: one static may have
//! any number of guards on several threads at once. [`PageableStatic::lock`]
//! gives shared guards ([`PageableRef`], `&T`; the static needs `T: Sync` to
//! exist at all); [`PageableStatic::lock_mut`] gives the only guard of that
//! static ([`PageableMut`], `&mut T`). A request that would break that rule
//! does not wait (a wait could deadlock a thread against itself): it fails
//! with [`NtStatus::SHARING_VIOLATION`](crate::NtStatus::SHARING_VIOLATION)
//! and locks nothing.
//!
//! # IRQL
//! Locking and unlocking: `<= APC_LEVEL`, checked (`STATUS_INVALID_LEVEL`
//! above, nothing locked). While a guard lives the section is resident, so
//! the data may be touched at any IRQL (DISPATCH_LEVEL, a spin lock held).
//! The data is reachable only through a guard: there is no other accessor.
//! A guard dropped above `APC_LEVEL` cannot unlock; it leaks its lock
//! instead (the section then stays resident for good), and the kernel
//! model reports the leak at unload.
//!
//! # The whole driver
//! [`page_entire_driver`] makes every section of the driver pageable (code
//! included) until its guard drops (`MmResetDriverPaging`). It is `unsafe`:
//! no code of the driver may then run above `APC_LEVEL`, a promise the
//! types cannot check.
//!
//! # `INIT` data
//! `#pragma data_seg("INIT")` data, discarded when `DriverEntry` returns,
//! is [`crate::init`]'s: a plain `'static` would let a reference outlive
//! the section, so those statics are reached only through a token whose
//! lifetime ends inside `DriverEntry`.
//!
//! # Pageable code
//! `#pragma alloc_text(PAGE, f)` has a counterpart in
//! [`pageable_fn!`](crate::pageable_fn): functions placed in the `PAGE`
//! code section that take a [`PageCodeGuard`] (from [`lock_page_code`],
//! `MmLockPagableCodeSection`, `<= APC_LEVEL`) as their first parameter.
//! A plain `#[link_section = "PAGE"]` function is unsound in safe code,
//! which may call it above `APC_LEVEL` while the section is paged out (bug
//! check 0xD1):
//!
//! ```ignore
//! #[link_section = "PAGE"]
//! fn checksum(bytes: &[u8]) -> u32 { bytes.iter().map(|&b| u32::from(b)).sum() }
//!
//! fn dpc_work(bytes: &[u8]) -> u32 {
//!     // Safe, and compiles: at DISPATCH_LEVEL a paged-out `checksum` is a
//!     // page fault that cannot be serviced (0xD1).
//!     Irql::run_raised(Irql::DISPATCH, || checksum(bytes)).unwrap()
//! }
//! ```
//!
//! An IRQL token would not help (the safe `Irql::run_raised` raises the
//! IRQL while any token lives), so the guard is needed for every call, even
//! at `PASSIVE_LEVEL`: the price of soundness. Only the function's own code
//! (and what LLVM inlines into it) pages; its callees (`core`,
//! `compiler_builtins`, monomorphised generics, closures) stay in `.text`,
//! which is always safe; the function is `#[inline(never)]`, so its code is
//! not copied into callers. lld-link's identical-code folding does not
//! merge functions of different sections (checked with lld 19). The PE test
//! checks that the sample's `PAGE` section is pageable code. Under Wine the
//! lock aborts the driver's process (as for pageable data): the sample's
//! pageable-code IOCTL is sent only when the kernel is not Wine's.
//!
//! # What runs where
//! - Host (`cargo test`): the kernel model counts locks per section, pages a
//!   section out the moment its count reaches zero, and reports unbalanced
//!   unlocks (0x1A/0x1010), lock calls above `APC_LEVEL` (0xC4), locks left
//!   at unload (0xC4), and touches of unlocked data above `APC_LEVEL` (0xD1).
//!   It sees the touches that go through this module's guards (each
//!   dereference is reported to it by a hook in `sys` that real kernels
//!   compile to nothing), not raw pointer accesses.
//! - Wine: `MmLockPagableDataSection` is an unimplemented stub there that
//!   aborts the driver's process when called, so nothing here that locks can
//!   run under Wine; `MmPageEntireDriver` and `MmResetDriverPaging` are
//!   no-ops there, and [`page_entire_driver`] works.
//! - Windows: everything, including the section attributes of the image
//!   (checked by `tests/pe_image.rs` on the cross-built sample).
//!
//! # Mistakes that do not compile
//! The data cannot outlive its guard:
//! ```compile_fail,E0597
//! wdm_mem::pageable_static! { static COUNT: u64 = 0; }
//! let escaped: &u64;
//! {
//!     let guard = COUNT.lock().unwrap();
//!     escaped = &*guard;
//! }
//! assert_eq!(*escaped, 0);
//! ```
//! There is no way to the data without a guard:
//! ```compile_fail,E0614
//! wdm_mem::pageable_static! { static COUNT: u64 = 0; }
//! let value: u64 = *COUNT;
//! ```
//! A guard cannot be duplicated (a second unlock would need a second lock):
//! ```compile_fail,E0277
//! wdm_mem::pageable_static! { static COUNT: u64 = 0; }
//! # fn f() -> wdm_mem::NtResult<()> {
//! let guard = COUNT.lock()?;
//! let twin = wdm_mem::paging::PageableRef::clone(&guard);
//! # Ok(()) }
//! ```
//! A section outside `PAGE*` (or longer than 8 bytes) is refused:
//! ```compile_fail,E0080
//! wdm_mem::pageable_static! { #[section = "DATA"] static COUNT: u64 = 0; }
//! ```

mod code;
mod data;
mod driver;

pub use code::{PageCodeGuard, lock_page_code};
pub use data::{PageableCell, PageableMut, PageableRef, PageableStatic};
pub use driver::{EntireDriverPageable, page_entire_driver};

/// The section [`pageable_static!`](crate::pageable_static) uses when none is named.
pub const DEFAULT_SECTION: &str = "PAGEDATA";

/// Whether `name` is a section name the Windows loader makes pageable and
/// that survives linking: `PAGE` followed by at most four ASCII letters,
/// digits or `_` (8 bytes in all, the limit of a PE image's section names).
///
/// # IRQL
/// Any (it is a `const fn`, normally evaluated at compile time).
pub const fn is_pageable_section_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.len() < 4 || bytes.len() > 8 {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        let fits = if i < 4 { byte == b"PAGE"[i] } else { byte.is_ascii_alphanumeric() || byte == b'_' };
        if !fits {
            return false;
        }
        i += 1;
    }
    true
}

/// Declares a static in a pageable data section, reachable only through the
/// lock guards of [`PageableStatic`].
///
/// ```
/// # let kernel = wdm_mem::model::Kernel::new();
/// wdm_mem::pageable_static! {
///     /// In the default section, `PAGEDATA`.
///     pub static TOTALS: [u64; 4] = [0; 4];
/// }
/// wdm_mem::pageable_static! {
///     /// In a section of its own: locking it locks nothing else.
///     #[section = "PAGEcal"]
///     static CALIBRATION: (u32, u32) = (1, 1);
/// }
/// assert_eq!(CALIBRATION.lock()?.0, 1);
/// assert_eq!(TOTALS.section(), "PAGEDATA");
/// # kernel.assert_clean();
/// # Ok::<(), wdm_mem::NtStatus>(())
/// ```
///
/// The declared type `T` becomes `PageableStatic<T>`; the value itself lives
/// in a hidden static of the section (on Windows targets: elsewhere the
/// placement is only recorded for the kernel model). `T` must be `Send +
/// Sync` and not zero-sized (a zero-sized static has no address inside the
/// section to lock):
/// ```compile_fail,E0080
/// wdm_mem::pageable_static! { static NOTHING: () = (); }
/// ```
#[macro_export]
macro_rules! pageable_static {
    // Attributes one by one: `#[section = ...]` is taken out, the others kept.
    (@attrs [$($kept:tt)*] [$old:literal] #[section = $section:literal] $($rest:tt)*) => {
        $crate::pageable_static!(@attrs [$($kept)*] [$section] $($rest)*);
    };
    (@attrs [$($kept:tt)*] [$section:literal] #[$attr:meta] $($rest:tt)*) => {
        $crate::pageable_static!(@attrs [$($kept)* #[$attr]] [$section] $($rest)*);
    };
    (@attrs [$($kept:tt)*] [$section:literal] $vis:vis static $name:ident: $ty:ty = $init:expr;) => {
        $($kept)*
        $vis static $name: $crate::paging::PageableStatic<$ty> = {
            const _: () = ::core::assert!(
                $crate::paging::is_pageable_section_name($section),
                "a pageable section's name is PAGE followed by at most 4 letters, digits or _"
            );
            #[cfg_attr(target_os = "windows", unsafe(link_section = $section))]
            static DATA: $crate::paging::PageableCell<$ty> = $crate::paging::PageableCell::new($init);
            // SAFETY: `DATA` is a static of this image placed in `$section`
            // (a PAGE section, checked above), used by this PageableStatic
            // only: it is hidden in this block.
            unsafe { $crate::paging::PageableStatic::new(&DATA, $section) }
        };
    };
    ($($declaration:tt)*) => {
        $crate::pageable_static!(@attrs [] ["PAGEDATA"] $($declaration)*);
    };
}
