//! [`Section`]: an owned section handle; [`SectionBuilder`] for the options.

use core::ptr::null_mut;

use super::{BackingFile, Exclusive, ObjectName, SectionView, ViewProtection};
use crate::{Irql, NtResult, NtStatus, sys};

/// The page protection of a section: what its views may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionProtection {
    /// `PAGE_READONLY`: [`ReadOnly`](super::ReadOnly) and
    /// [`WriteCopy`](super::WriteCopy) views.
    ReadOnly,
    /// `PAGE_READWRITE`: every kind of view.
    ReadWrite,
    /// `PAGE_WRITECOPY`: read-only and write-copy views.
    WriteCopy,
}

impl SectionProtection {
    /// Whether a view of protection `view` (`PAGE_*`) is allowed: read-write
    /// views need a read-write section (documented for `ZwMapViewOfSection` and
    /// `MapViewOfFile`; Wine 8 does not check it, so this crate does).
    fn allows(self, view: u32) -> bool {
        view != sys::PAGE_READWRITE || self == SectionProtection::ReadWrite
    }

    fn to_page(self) -> u32 {
        match self {
            SectionProtection::ReadOnly => sys::PAGE_READONLY,
            SectionProtection::ReadWrite => sys::PAGE_READWRITE,
            SectionProtection::WriteCopy => sys::PAGE_WRITECOPY,
        }
    }
}

/// The access a section handle grants (`ACCESS_MASK` of `SECTION_*` rights).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SectionAccess(u32);

impl SectionAccess {
    /// `SECTION_MAP_READ | SECTION_QUERY`: read-only and write-copy views.
    pub const READ: SectionAccess = SectionAccess(sys::SECTION_MAP_READ | sys::SECTION_QUERY);
    /// `READ | SECTION_MAP_WRITE`: every kind of view.
    pub const READ_WRITE: SectionAccess = SectionAccess(Self::READ.0 | sys::SECTION_MAP_WRITE);
    /// `SECTION_ALL_ACCESS`.
    pub const ALL: SectionAccess = SectionAccess(sys::SECTION_ALL_ACCESS);

    /// The raw mask.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn bits(self) -> u32 {
        self.0
    }
}

/// An owned kernel handle to a section object (`OBJ_KERNEL_HANDLE`), closed
/// with `ZwClose` on drop. Views mapped from it stay valid after it closes.
///
/// # Invariants
/// `handle` is an open kernel handle to a section object, owned by this value
/// and closed exactly once (by [`Section::close`] or `Drop`).
#[derive(Debug)]
pub struct Section {
    handle: sys::HANDLE,
    size: Option<u64>,
    protection: Option<SectionProtection>,
}

// SAFETY: a kernel handle (OBJ_KERNEL_HANDLE) is valid in every thread and
// process context; the section object is synchronised by the kernel.
unsafe impl Send for Section {}
// SAFETY: `&Section` only maps views, which the kernel serialises.
unsafe impl Sync for Section {}

impl Section {
    /// An anonymous, pagefile-backed, committed (`SEC_COMMIT`) section of
    /// `size` bytes. See [`Section::builder`] for names, files and
    /// `SEC_RESERVE`.
    ///
    /// Errors: size 0 is `STATUS_INVALID_PARAMETER_4`, a size the kernel
    /// cannot back `STATUS_SECTION_TOO_BIG` (or a commit-limit status), and
    /// the statuses of `ZwCreateSection`.
    ///
    /// # IRQL
    /// PASSIVE_LEVEL.
    pub fn create(size: u64, protection: SectionProtection) -> NtResult<Section> {
        Self::builder().size(size).protection(protection).create()
    }

    /// The options of a new section.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn builder<'a>() -> SectionBuilder<'a> {
        SectionBuilder {
            size: None,
            protection: SectionProtection::ReadWrite,
            name: None,
            file: None,
            reserve: false,
            open_if: false,
            access: SectionAccess::ALL,
        }
    }

    /// Opens the existing named section `name` (`ZwOpenSection`).
    ///
    /// Errors: `STATUS_OBJECT_NAME_NOT_FOUND` for a name that does not exist,
    /// `STATUS_ACCESS_DENIED`, `STATUS_OBJECT_TYPE_MISMATCH` for a name that is
    /// not a section.
    ///
    /// # IRQL
    /// PASSIVE_LEVEL.
    pub fn open(name: ObjectName<'_>, access: SectionAccess) -> NtResult<Section> {
        Irql::ensure_at_most(Irql::PASSIVE)?;
        let mut name = name.to_unicode_string();
        let mut attributes = object_attributes(&mut name, false);
        let mut handle = null_mut();
        // SAFETY: valid out-pointer and attributes for the duration of the call.
        let status = unsafe { sys::ZwOpenSection(&mut handle, access.bits(), &mut attributes) };
        NtStatus::from_raw(status).result()?;
        Ok(Section { handle, size: None, protection: None })
    }

    /// The size the section was created with, when this handle created it.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// Maps `size` bytes from `offset` (a multiple of 64 KiB, the allocation
    /// granularity) into the current process, as a view of kind `A`. `size`
    /// 0 maps everything from `offset` to the end of the section.
    ///
    /// Errors (the kernel's): `STATUS_MAPPED_ALIGNMENT` for a misaligned
    /// offset, `STATUS_INVALID_VIEW_SIZE` for a range past the end,
    /// `STATUS_SECTION_PROTECTION` for a protection the section does not
    /// allow, `STATUS_ACCESS_DENIED` for one the handle does not grant.
    ///
    /// # IRQL
    /// PASSIVE_LEVEL.
    pub fn map<A: ViewProtection>(&self, offset: u64, size: usize) -> NtResult<SectionView<A>> {
        if self.protection.is_some_and(|protection| !protection.allows(A::PAGE)) {
            return Err(NtStatus::SECTION_PROTECTION);
        }
        SectionView::map(self.handle, self.size, offset, size)
    }

    /// Closes the handle now (`ZwClose`), reporting its status; views mapped
    /// from it stay valid. Dropping the section closes it too.
    ///
    /// # IRQL
    /// PASSIVE_LEVEL. Above it the handle is leaked rather than closed
    /// (`ZwClose` there would bug-check) and the result is
    /// `STATUS_INVALID_LEVEL`; the model's verifier reports the leak.
    pub fn close(self) -> NtResult<()> {
        close_handle(self.into_raw())
    }

    /// Gives up ownership: the caller closes the handle.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn into_raw(self) -> sys::HANDLE {
        let handle = self.handle;
        core::mem::forget(self);
        handle
    }

    /// Takes ownership of a section handle.
    ///
    /// # Safety
    /// `handle` is an open kernel handle to a section object that nothing
    /// else closes.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub unsafe fn from_raw(handle: sys::HANDLE) -> Section {
        Section { handle, size: None, protection: None }
    }
}

impl Drop for Section {
    fn drop(&mut self) {
        let _ = close_handle(self.handle);
    }
}

/// `ZwClose` of a handle this crate owns, at PASSIVE_LEVEL only: above it the
/// handle is leaked (`STATUS_INVALID_LEVEL`), since closing would bug-check.
pub(super) fn close_handle(handle: sys::HANDLE) -> NtResult<()> {
    Irql::ensure_at_most(Irql::PASSIVE)?;
    // SAFETY: the caller owns `handle` and gives it up here, at PASSIVE_LEVEL.
    NtStatus::from_raw(unsafe { sys::ZwClose(handle) }).result()
}

/// `OBJECT_ATTRIBUTES` for a kernel handle, optionally named.
pub(super) fn object_attributes(name: *mut sys::UNICODE_STRING, open_if: bool) -> sys::OBJECT_ATTRIBUTES {
    let mut attributes = sys::OBJ_KERNEL_HANDLE | sys::OBJ_CASE_INSENSITIVE;
    if open_if {
        attributes |= sys::OBJ_OPENIF;
    }
    sys::InitializeObjectAttributes(name, attributes)
}

/// The options of `ZwCreateSection`; see [`Section::builder`].
#[derive(Clone, Copy, Debug)]
#[must_use = "a builder does nothing until create() is called"]
pub struct SectionBuilder<'a> {
    size: Option<u64>,
    protection: SectionProtection,
    name: Option<ObjectName<'a>>,
    file: Option<&'a BackingFile>,
    reserve: bool,
    open_if: bool,
    access: SectionAccess,
}

impl<'a> SectionBuilder<'a> {
    /// The maximum size in bytes. Required for pagefile-backed sections; for
    /// a file-backed one, 0 or unset means the file's size, and a larger size
    /// extends a writable file.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// The page protection (default [`SectionProtection::ReadWrite`]).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn protection(mut self, protection: SectionProtection) -> Self {
        self.protection = protection;
        self
    }

    /// A name in the object namespace, so that others can open the section
    /// (e.g. `\BaseNamedObjects\Name`, which user mode opens as
    /// `Global\Name`).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn named(mut self, name: ObjectName<'a>) -> Self {
        self.name = Some(name);
        self
    }

    /// Backs the section with `file` instead of the paging file.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn backed_by(mut self, file: &'a BackingFile) -> Self {
        self.file = Some(file);
        self
    }

    /// `SEC_RESERVE` instead of `SEC_COMMIT` (pagefile-backed sections only:
    /// pages are committed later by whoever maps them).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn reserve(mut self) -> Self {
        self.reserve = true;
        self
    }

    /// The access of the returned handle (default [`SectionAccess::ALL`]).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn access(mut self, access: SectionAccess) -> Self {
        self.access = access;
        self
    }

    /// Creates the section (`ZwCreateSection`). A name that exists already is
    /// `STATUS_OBJECT_NAME_COLLISION`; see [`create_or_open`](Self::create_or_open).
    ///
    /// # IRQL
    /// PASSIVE_LEVEL.
    pub fn create(self) -> NtResult<Section> {
        self.create_with_status().map(|(section, _)| section)
    }

    /// Creates the section, or opens it if the name exists (`OBJ_OPENIF`);
    /// the flag is true when it existed (`STATUS_OBJECT_NAME_EXISTS`).
    ///
    /// # IRQL
    /// PASSIVE_LEVEL.
    pub fn create_or_open(mut self) -> NtResult<(Section, bool)> {
        self.open_if = true;
        let (section, status) = self.create_with_status()?;
        Ok((section, status == NtStatus::OBJECT_NAME_EXISTS))
    }

    /// Maps the whole new section once, as a view of kind `A`, and closes the
    /// section handle at once: the view is then the only way to the memory
    /// (an [`Exclusive`] view, which dereferences to a slice). The section
    /// must be anonymous and pagefile-backed (`STATUS_INVALID_PARAMETER`
    /// otherwise).
    ///
    /// # IRQL
    /// PASSIVE_LEVEL.
    pub fn map_exclusive<A: ViewProtection>(self) -> NtResult<SectionView<A, Exclusive>> {
        if self.name.is_some() || self.file.is_some() || self.reserve {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let section = self.create()?;
        let view = section.map::<A>(0, 0)?;
        // An error closing an anonymous handle leaves nothing to undo: the
        // view holds its own reference to the section.
        let _ = section.close();
        // SAFETY: the section is anonymous and its only handle is closed:
        // this view is the only mapping there will ever be.
        Ok(unsafe { view.into_exclusive() })
    }

    fn create_with_status(self) -> NtResult<(Section, NtStatus)> {
        Irql::ensure_at_most(Irql::PASSIVE)?;
        let size = self.size.unwrap_or(0);
        if self.file.is_none() && size == 0 {
            return Err(NtStatus::INVALID_PARAMETER_4);
        }
        if self.file.is_some() && self.reserve {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let size_in = i64::try_from(size).map_err(|_| NtStatus::SECTION_TOO_BIG)?;
        let mut maximum = sys::LARGE_INTEGER { QuadPart: size_in };
        let mut name = self.name.map(ObjectName::to_unicode_string);
        let name_ptr = name.as_mut().map_or(null_mut(), |name| name as *mut _);
        let mut attributes = object_attributes(name_ptr, self.open_if);
        let allocation = if self.reserve { sys::SEC_RESERVE } else { sys::SEC_COMMIT };
        let file = self.file.map_or(null_mut(), BackingFile::raw);
        let mut handle = null_mut();
        // SAFETY: every pointer is valid for the call; `file` is an open file
        // handle borrowed for the call, or NULL for the paging file.
        let status = unsafe {
            sys::ZwCreateSection(
                &mut handle,
                self.access.bits(),
                &mut attributes,
                if size == 0 { null_mut() } else { &mut maximum },
                self.protection.to_page(),
                allocation,
                file,
            )
        };
        let status = NtStatus::from_raw(status).ok()?;
        let section = Section { handle, size: (size != 0).then_some(size), protection: Some(self.protection) };
        Ok((section, status))
    }
}
