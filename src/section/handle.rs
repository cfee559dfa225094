//! [`Section`]: an owned section handle; [`SectionBuilder`] for the options.

use core::ptr::null_mut;

use super::{
    BackingFile, Exclusive, ObjectName, SecurityDescriptor, SystemProtection, SystemView, UserView, ViewProtection,
};
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

/// What is known of a section: from its creation by this handle, or from
/// `ZwQuerySection` (which tells no page protection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SectionFacts {
    size: u64,
    protection: Option<SectionProtection>,
    reserved: bool,
    file_backed: bool,
}

/// An owned kernel handle to a section object (`OBJ_KERNEL_HANDLE`), closed
/// with `ZwClose` on drop. Views mapped from it stay valid after it closes.
///
/// # Invariants
/// `handle` is an open kernel handle to a section object, owned by this value
/// and closed exactly once (by [`Section::close`] or `Drop`). `facts`, when
/// known, are the section's (the kernel's answer, or what this handle
/// created).
#[derive(Debug)]
pub struct Section {
    handle: sys::HANDLE,
    facts: Option<SectionFacts>,
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
            security: None,
        }
    }

    /// Opens the existing named section `name` (`ZwOpenSection`); with
    /// [`ObjectName::with_access_check`], the open checks the requester's
    /// access (`OBJ_FORCE_ACCESS_CHECK`). Its size is what `ZwQuerySection`
    /// says (unknown when the handle lacks `SECTION_QUERY` or the kernel
    /// does not export the routine); its protection is unknown.
    ///
    /// Errors: `STATUS_OBJECT_NAME_NOT_FOUND` for a name that does not exist,
    /// `STATUS_ACCESS_DENIED`, `STATUS_OBJECT_TYPE_MISMATCH` for a name that is
    /// not a section.
    ///
    /// # IRQL
    /// PASSIVE_LEVEL.
    pub fn open(name: ObjectName<'_>, access: SectionAccess) -> NtResult<Section> {
        Irql::ensure_at_most(Irql::PASSIVE)?;
        let mut unicode = name.to_unicode_string();
        let mut attributes = object_attributes(&mut unicode, name.forces_access_check(), false);
        let mut handle = null_mut();
        // SAFETY: valid out-pointer and attributes for the duration of the call.
        let status = unsafe { sys::ZwOpenSection(&mut handle, access.bits(), &mut attributes) };
        NtStatus::from_raw(status).result()?;
        let facts = query(handle);
        Ok(Section { handle, facts })
    }

    /// The section's size in bytes, when known: the size this handle created
    /// it with, or what `ZwQuerySection` answered for an existing section
    /// (opened, or found by [`SectionBuilder::create_or_open`]).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn size(&self) -> Option<u64> {
        self.facts.map(|facts| facts.size)
    }

    /// Maps `size` bytes from `offset` (a multiple of 64 KiB, the allocation
    /// granularity) into the user address space of the current process, as
    /// a [`UserView`] of protection `A`. `size` 0 maps everything from
    /// `offset` to the end of the section.
    ///
    /// Errors (the kernel's): `STATUS_MAPPED_ALIGNMENT` for a misaligned
    /// offset, `STATUS_INVALID_VIEW_SIZE` for a range past the end,
    /// `STATUS_SECTION_PROTECTION` for a protection the section does not
    /// allow, `STATUS_ACCESS_DENIED` for one the handle does not grant.
    ///
    /// # IRQL
    /// PASSIVE_LEVEL.
    pub fn map<A: ViewProtection>(&self, offset: u64, size: usize) -> NtResult<UserView<A>> {
        if self.facts.and_then(|facts| facts.protection).is_some_and(|protection| !protection.allows(A::PAGE)) {
            return Err(NtStatus::SECTION_PROTECTION);
        }
        UserView::map(self.handle, self.size(), offset, size)
    }

    /// Maps the whole section into system space (`MmMapViewInSystemSpace`
    /// of the section object, referenced with `ObReferenceObjectByHandle`),
    /// as a [`SystemView`] of protection `A`: kernel memory, valid in every
    /// process context.
    ///
    /// Only for a committed (not `SEC_RESERVE`), pagefile-backed section
    /// whose size is known (`STATUS_INVALID_PARAMETER` otherwise: touching an
    /// uncommitted page, or a file page whose read fails, in system space
    /// is a bug check, not an error); a [`ReadWrite`](super::ReadWrite) view only of a section
    /// known to be read-write (`STATUS_SECTION_PROTECTION` otherwise: the
    /// kernel maps with the section's protection, and for a section opened
    /// by name that protection is unknown).
    ///
    /// Errors: `STATUS_NOT_SUPPORTED` under Wine (whose
    /// `MmMapViewInSystemSpace` is a stub that would abort the driver's
    /// process), `STATUS_PROCEDURE_NOT_FOUND` on a kernel that does not
    /// export the routines, `STATUS_ACCESS_DENIED` for access the handle
    /// does not grant, and the kernel's statuses.
    ///
    /// # IRQL
    /// PASSIVE_LEVEL.
    pub fn map_system<A: SystemProtection>(&self) -> NtResult<SystemView<A>> {
        let facts = self.facts.ok_or(NtStatus::INVALID_PARAMETER)?;
        if facts.reserved || facts.file_backed {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        if A::PAGE == sys::PAGE_READWRITE && facts.protection != Some(SectionProtection::ReadWrite) {
            return Err(NtStatus::SECTION_PROTECTION);
        }
        let len = usize::try_from(facts.size).map_err(|_| NtStatus::INVALID_VIEW_SIZE)?;
        SystemView::map(self.handle, len)
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
        Section { handle, facts: None }
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

/// `OBJECT_ATTRIBUTES` for a kernel handle, optionally named, with
/// `OBJ_FORCE_ACCESS_CHECK` when `force_access_check`.
pub(super) fn object_attributes(
    name: *mut sys::UNICODE_STRING,
    force_access_check: bool,
    open_if: bool,
) -> sys::OBJECT_ATTRIBUTES {
    let mut attributes = sys::OBJ_KERNEL_HANDLE | sys::OBJ_CASE_INSENSITIVE;
    if open_if {
        attributes |= sys::OBJ_OPENIF;
    }
    if force_access_check {
        attributes |= sys::OBJ_FORCE_ACCESS_CHECK;
    }
    sys::InitializeObjectAttributes(name, attributes)
}

/// What `ZwQuerySection(SectionBasicInformation)` says of the section
/// (`None` when the kernel lacks the routine or the query fails, e.g. a
/// handle without `SECTION_QUERY`). PASSIVE_LEVEL.
fn query(handle: sys::HANDLE) -> Option<SectionFacts> {
    let address = sys::ZW_QUERY_SECTION.address(true)?;
    // SAFETY: the kernel exports ZwQuerySection with this type (ntifs.h).
    let query: sys::PFN_ZW_QUERY_SECTION = unsafe { core::mem::transmute::<usize, _>(address) };
    let mut info = core::mem::MaybeUninit::<sys::SECTION_BASIC_INFORMATION>::zeroed();
    let mut returned: sys::SIZE_T = 0;
    // SAFETY: an open section handle; the buffer is writable for its size.
    let status = unsafe {
        query(
            handle,
            sys::SectionBasicInformation,
            info.as_mut_ptr().cast(),
            size_of::<sys::SECTION_BASIC_INFORMATION>() as sys::SIZE_T,
            &mut returned,
        )
    };
    NtStatus::from_raw(status).result().ok()?;
    // SAFETY: zero-initialised plain data, filled by the kernel on success.
    let info = unsafe { info.assume_init() };
    // SAFETY: reading the 64-bit member of the LARGE_INTEGER union.
    let size = u64::try_from(unsafe { info.MaximumSize.QuadPart }).ok()?;
    Some(SectionFacts {
        size,
        protection: None,
        reserved: info.AllocationAttributes & sys::SEC_RESERVE != 0,
        file_backed: info.AllocationAttributes & sys::SEC_FILE != 0,
    })
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
    security: Option<SecurityDescriptor<'a>>,
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
    /// `Global\Name`). A name a request supplied must come
    /// [`with_access_check`](ObjectName::with_access_check): if it names an
    /// existing section, [`create_or_open`](Self::create_or_open) then opens
    /// it only if the requester may.
    ///
    /// Who else may open the section is its security descriptor's business:
    /// without [`security`](Self::security) the section gets the default
    /// descriptor of its directory (under `\BaseNamedObjects`, every user
    /// may open it).
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

    /// `SEC_RESERVE` instead of `SEC_COMMIT` (pagefile-backed sections only):
    /// the pages are committed later, through a view: by the driver
    /// ([`UserView::commit`]) or by a process that maps the section
    /// (`VirtualAlloc(MEM_COMMIT)` over its view). Until then a touch of a
    /// page faults: a [`UserView`]'s copies return
    /// `STATUS_ACCESS_VIOLATION` for uncommitted pages, and such a section
    /// has no [`SystemView`] ([`Section::map_system`] refuses it).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn reserve(mut self) -> Self {
        self.reserve = true;
        self
    }

    /// The security descriptor of a named section (`OBJECT_ATTRIBUTES.
    /// SecurityDescriptor`): who may open it, e.g.
    /// [`SecurityDescriptor::system_only`].
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn security(mut self, descriptor: SecurityDescriptor<'a>) -> Self {
        self.security = Some(descriptor);
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
    /// the flag is true when it existed (`STATUS_OBJECT_NAME_EXISTS`). An
    /// existing section keeps its own size and protection, whatever this
    /// builder says: [`Section::size`] is then what `ZwQuerySection` answers
    /// (or unknown), and its protection is unknown.
    ///
    /// # IRQL
    /// PASSIVE_LEVEL.
    pub fn create_or_open(mut self) -> NtResult<(Section, bool)> {
        self.open_if = true;
        let (section, status) = self.create_with_status()?;
        Ok((section, status == NtStatus::OBJECT_NAME_EXISTS))
    }

    /// Maps the whole new section once into system space, as a
    /// [`SystemView`] of protection `A`, and closes the section handle at
    /// once: the view is then the only way to the memory (an [`Exclusive`]
    /// view, which dereferences to a slice). The section must be anonymous,
    /// committed and pagefile-backed (`STATUS_INVALID_PARAMETER`
    /// otherwise); a [`ReadWrite`](super::ReadWrite) view needs a read-write section.
    ///
    /// Errors: as [`Section::map_system`] (`STATUS_NOT_SUPPORTED` under
    /// Wine).
    ///
    /// # IRQL
    /// PASSIVE_LEVEL.
    pub fn map_exclusive<A: SystemProtection>(self) -> NtResult<SystemView<A, Exclusive>> {
        if self.name.is_some() || self.file.is_some() || self.reserve {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let section = self.create()?;
        let view = section.map_system::<A>()?;
        // An error closing an anonymous handle leaves nothing to undo: the
        // view holds its own reference to the section object.
        let _ = section.close();
        // SAFETY: the section is anonymous (no name to open it by), its only
        // handle is closed (no handle to map or reference it by), and the
        // only reference to its object is the view's: this view is the only
        // mapping there will ever be, in any process.
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
        let forced = self.name.is_some_and(|name| name.forces_access_check());
        let mut attributes = object_attributes(name_ptr, forced, self.open_if);
        if let Some(security) = self.security {
            attributes.SecurityDescriptor = security.as_ptr();
        }
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
        let facts = if status == NtStatus::OBJECT_NAME_EXISTS || size == 0 {
            // An existing section, or one sized by its file: ask the kernel.
            query(handle).map(|facts| SectionFacts {
                protection: (status != NtStatus::OBJECT_NAME_EXISTS).then_some(self.protection),
                ..facts
            })
        } else {
            Some(SectionFacts {
                size,
                protection: Some(self.protection),
                reserved: self.reserve,
                file_backed: self.file.is_some(),
            })
        };
        Ok((Section { handle, facts }, status))
    }
}
