//! Section objects and their views: `ZwCreateSection`, `ZwOpenSection`,
//! `ZwMapViewOfSection`, `ZwUnmapViewOfSection`, `ZwClose`.
//!
//! A [`Section`] owns a kernel handle to a section object: memory backed by
//! the paging file, or by a file ([`BackingFile`]). A [`SectionView`] maps
//! all or part of it into the address space of the current process, with the
//! protection its type names ([`ReadOnly`], [`ReadWrite`], [`WriteCopy`]).
//!
//! ```
//! # let kernel = wdm_mem::model::Kernel::new();
//! use wdm_mem::section::{ReadOnly, ReadWrite, Section, SectionProtection};
//!
//! let section = Section::create(8192, SectionProtection::ReadWrite)?;
//! let mut writer = section.map::<ReadWrite>(0, 0)?;
//! let reader = section.map::<ReadOnly>(0, 4096)?;
//! section.close()?;                    // the views keep the section alive (seed 000)
//! writer.write(16, &0xFEED_u32)?;
//! assert_eq!(reader.read::<u32>(16)?, 0xFEED);  // two views, one memory
//! # drop((writer, reader));
//! # kernel.assert_clean();
//! # Ok::<(), wdm_mem::NtStatus>(())
//! ```
//!
//! # The process context
//! A view lives in the address space of the process that was current when it
//! was mapped (in a dispatch routine: the requesting process; in a system
//! thread or DriverEntry: the System process). Its address means nothing in
//! any other process. [`SectionView`] is therefore neither `Send` nor `Sync`:
//! it stays on the thread, hence in the process context, that mapped it, and
//! is unmapped there. A [`Section`] (a kernel handle, `OBJ_KERNEL_HANDLE`) is
//! valid in every context and may be kept across requests.
//!
//! The system-space alternative, `MmMapViewInSystemSpace`, maps into the
//! kernel's address space (valid in every context, like pool). It takes a
//! referenced section *object* (`ObReferenceObjectByHandle` with
//! `MmSectionObjectType`), and Wine's kernel does not implement it; it is
//! not wrapped in this version.
//!
//! # Aliasing
//! Two views of one section, or a named section opened elsewhere, are the
//! same memory at different addresses: a `&mut [u8]` over one while the other
//! is written would break Rust's aliasing rules. So a shared view
//! ([`Shared`], the default) offers copying accessors ([`SectionView::read`],
//! [`SectionView::write`], [`SectionView::read_bytes`], ...) that never hold
//! a reference into the memory, and slices only through `unsafe`. A view
//! from [`SectionBuilder::map_exclusive`] is the only mapping of an anonymous
//! section whose handle is already closed: nothing else can reach its bytes,
//! so it dereferences to `[u8]` (and `mut` when writable).
//!
//! # IRQL
//! Creating, opening, mapping, unmapping and closing: PASSIVE_LEVEL. Touching
//! a view's bytes: `<= APC_LEVEL` (views are pageable memory).

mod file;
mod handle;
mod name;
mod view;

pub use file::{BackingFile, FileAccess};
pub use handle::{Section, SectionAccess, SectionBuilder, SectionProtection};
pub use name::ObjectName;
pub use view::{Exclusive, ReadOnly, ReadWrite, SectionView, Shared, ViewKind, ViewProtection, Writable, WriteCopy};
