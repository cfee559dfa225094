//! Section objects and their views: `ZwCreateSection`, `ZwOpenSection`,
//! `ZwQuerySection`, `ZwMapViewOfSection`, `ZwUnmapViewOfSection`,
//! `MmMapViewInSystemSpace`, `MmUnmapViewInSystemSpace`, `ZwClose`.
//!
//! A [`Section`] owns a kernel handle to a section object: memory backed by
//! the paging file, or by a file ([`BackingFile`]). A view maps all or part
//! of it, with the protection its type names ([`ReadOnly`], [`ReadWrite`],
//! [`WriteCopy`]), in one of two places:
//!
//! | | [`UserView`] ([`Section::map`]) | [`SystemView`] ([`Section::map_system`], [`SectionBuilder::map_exclusive`]) |
//! |---|---|---|
//! | where | the user address space of the process current at map time | system space (kernel memory) |
//! | who else can change it | that process, at any moment (write, unmap, reprotect) | other views of the section only |
//! | access | copies under SEH only (`read`, `write`, ...): a fault is `STATUS_ACCESS_VIOLATION` | copies; an [`Exclusive`] view also derefs to `[u8]` |
//! | usable from | the view's process only (`STATUS_NOT_MAPPED_VIEW` elsewhere); `Send + Sync` | any process and thread; `Send + Sync` |
//! | IRQL | map/unmap PASSIVE_LEVEL; copies `<= APC_LEVEL` | map/unmap PASSIVE_LEVEL; access `<= APC_LEVEL` |
//! | sections | any (`SEC_RESERVE` pages: [`UserView::commit`] first) | committed, pagefile-backed, size known |
//! | Wine 8 | works | `STATUS_NOT_SUPPORTED` (its routines are stubs) |
//!
//! ```
//! # let kernel = wdm_mem::model::Kernel::new();
//! use wdm_mem::section::{ReadOnly, ReadWrite, Section, SectionProtection};
//!
//! let section = Section::create(8192, SectionProtection::ReadWrite)?;
//! let mut writer = section.map::<ReadWrite>(0, 0)?;   // user views
//! let reader = section.map::<ReadOnly>(0, 4096)?;
//! section.close()?;                    // the views keep the section alive (seed 000)
//! writer.write(16, &0xFEED_u32)?;
//! assert_eq!(reader.read::<u32>(16)?, 0xFEED);  // two views, one memory
//! # drop((writer, reader));
//! # kernel.assert_clean();
//! # Ok::<(), wdm_mem::NtStatus>(())
//! ```
//!
//! # User views
//! `ZwMapViewOfSection(ZwCurrentProcess())` maps into the user address
//! space of the current process (in a dispatch routine: the requester; in a
//! system thread or DriverEntry: the System process; under Wine: the
//! driver's host process). That process's code can write the pages, unmap
//! them or change their protection at any moment, so a [`UserView`] never
//! lends a reference or a slice into them (it would alias, and a touch of a
//! page that is gone bug-checks). Every access is a copy made by the crate's
//! SEH shim (C, `__try/__except`), which turns a fault into
//! `STATUS_ACCESS_VIOLATION`. The view records its process (a referenced
//! `PEPROCESS`) and checks it on every access and on unmap: from another
//! process's context the answer is `STATUS_NOT_MAPPED_VIEW`, and nothing is
//! touched. A view dropped in another process's context stays mapped in its
//! process until that process unmaps it or exits (the kernel unmaps user
//! views at process exit); it harms only that process. A view is what a
//! driver hands to an application ([`UserView::user_address`]).
//!
//! # System views
//! `MmMapViewInSystemSpace` maps the section object (referenced with
//! `ObReferenceObjectByHandle` and `MmSectionObjectType`) into system
//! space: no process can unmap or reprotect it. Its bytes may still be
//! written through other views of the same section, or by processes that
//! open a named one, so a [`Shared`] system view offers copies (volatile,
//! no reference formed). A view from [`SectionBuilder::map_exclusive`] is
//! the only mapping of an anonymous section whose handle is closed; nothing
//! else can reach its bytes, so it dereferences to `[u8]` (and `mut` when
//! [`ReadWrite`]). Only committed, pagefile-backed sections are mapped
//! there: a page that is not committed, or a file page whose read fails,
//! would fault in kernel mode, which is a bug check.
//!
//! Under Wine 8 the system-space routines are unimplemented stubs that
//! abort the driver's process: the crate detects Wine's kernel (an export
//! only it has) and answers `STATUS_NOT_SUPPORTED`; a kernel without the
//! exports gives `STATUS_PROCEDURE_NOT_FOUND`. Neither is ever imported
//! statically.
//!
//! # Names, paths and security
//! Opens and creates run from kernel mode: give a name or path that a
//! request supplied [`ObjectName::with_access_check`]
//! (`OBJ_FORCE_ACCESS_CHECK`), or any caller can reach what only the kernel
//! may. A named section's [`SecurityDescriptor`] says who may open it.
//!
//! # IRQL
//! Creating, opening, mapping, unmapping and closing: PASSIVE_LEVEL. Touching
//! a view's bytes: `<= APC_LEVEL` (views are pageable memory).

mod file;
mod handle;
mod name;
pub(crate) mod process;
mod security;
mod system_view;
mod view;

pub use file::{BackingFile, FileAccess};
pub use handle::{Section, SectionAccess, SectionBuilder, SectionProtection};
pub use name::ObjectName;
pub use security::SecurityDescriptor;
pub use system_view::{Exclusive, Shared, SystemView, ViewKind};
pub use view::{ReadOnly, ReadWrite, SystemProtection, UserView, ViewProtection, Writable, WriteCopy};
