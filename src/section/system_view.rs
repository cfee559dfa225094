//! [`SystemView`]: a view mapped into system space
//! (`MmMapViewInSystemSpace`), typed by its protection and by whether
//! anything else can reach its memory.

use core::{
    marker::PhantomData,
    mem::transmute,
    ops::{Deref, DerefMut},
    ptr::NonNull,
};

use super::{ReadWrite, SystemProtection};
use crate::{
    Irql, NtResult, NtStatus,
    plain::{Pageable, PlainData, SharedBytes},
    sys,
};

mod sealed {
    pub trait Sealed {}
}

/// Whether other mappings may reach a view's memory: [`Shared`] or
/// [`Exclusive`].
pub trait ViewKind: sealed::Sealed {}

/// Other views, or other processes, may read and write the same memory: only
/// copying accessors are safe.
#[derive(Debug)]
pub enum Shared {}
/// The only mapping of an anonymous section whose handle is closed: the view
/// dereferences to a slice.
#[derive(Debug)]
pub enum Exclusive {}

impl sealed::Sealed for Shared {}
impl sealed::Sealed for Exclusive {}
impl ViewKind for Shared {}
impl ViewKind for Exclusive {}

/// A view of a pagefile-backed, committed section in system space:
/// kernel memory, valid in every process context, that no user process can
/// unmap or reprotect. Unmapped with `MmUnmapViewInSystemSpace` on drop,
/// after which the section object reference it holds is released.
///
/// `A` is [`ReadOnly`](super::ReadOnly) or [`ReadWrite`] (writing methods only for the
/// latter). `K` is [`Shared`] (copying accessors: other views of the
/// section, or processes that open a named one, may write the same memory at
/// any time) or [`Exclusive`] (from
/// [`SectionBuilder::map_exclusive`](super::SectionBuilder::map_exclusive):
/// the only mapping there is of an anonymous section whose handles are all
/// closed, so it dereferences to `[u8]`, and `get`/`get_mut` lend typed
/// references).
///
/// Under Wine this view cannot be made: see the
/// [module documentation](super).
///
/// ```compile_fail
/// # use wdm_mem::section::{ReadOnly, Section};
/// let mut view = Section::builder().size(4096).map_exclusive::<ReadOnly>().unwrap();
/// view[0] = 1; // a read-only view has no mutable slice
/// ```
///
/// ```compile_fail
/// # use wdm_mem::section::{ReadOnly, Section, SectionProtection};
/// let section = Section::create(4096, SectionProtection::ReadWrite).unwrap();
/// let mut view = section.map_system::<ReadOnly>().unwrap();
/// view.write(0, &1u8); // nor `write`
/// ```
///
/// ```compile_fail
/// # use wdm_mem::section::{ReadWrite, Section, SectionProtection};
/// let section = Section::create(4096, SectionProtection::ReadWrite).unwrap();
/// let view = section.map_system::<ReadWrite>().unwrap();
/// let first = view[0]; // a shared view is no slice
/// ```
///
/// ```compile_fail
/// # use wdm_mem::section::{ReadWrite, Section};
/// let bytes: &[u8] = {
///     let view = Section::builder().size(4096).map_exclusive::<ReadWrite>().unwrap();
///     &view[..] // the slice cannot outlive its view
/// };
/// ```
///
/// ```compile_fail
/// # use wdm_mem::section::{Section, SectionProtection, WriteCopy};
/// let section = Section::create(4096, SectionProtection::ReadWrite).unwrap();
/// let view = section.map_system::<WriteCopy>(); // no write-copy system views
/// ```
///
/// # Invariants
/// `bytes` is the start of a system-space mapping made by
/// `MmMapViewInSystemSpace` of `object` (a section object this value holds
/// one reference to), of `bytes.len()` bytes of committed, pagefile-backed,
/// pageable memory, readable, and writable when `A` is [`ReadWrite`]. It is
/// unmapped and the reference released exactly once (by
/// [`SystemView::unmap`] or `Drop`). For `K = Exclusive`, no other mapping
/// of the memory exists or can be created.
pub struct SystemView<A: SystemProtection, K: ViewKind = Shared> {
    bytes: SharedBytes<Pageable>,
    object: NonNull<core::ffi::c_void>,
    _marker: PhantomData<fn() -> (A, K)>,
}

// SAFETY: system space is valid in every process and thread context; the
// object reference is released from any thread.
unsafe impl<A: SystemProtection, K: ViewKind> Send for SystemView<A, K> {}
// SAFETY: `&SystemView` reads only (volatile copies, or `&[u8]` for an
// exclusive view, which nothing can write while it is borrowed).
unsafe impl<A: SystemProtection, K: ViewKind> Sync for SystemView<A, K> {}

/// The system-space view routines of the running kernel.
struct Routines {
    map: sys::PFN_MM_MAP_VIEW_IN_SYSTEM_SPACE,
    section_type: sys::PVOID,
}

/// Looks up the routines (at PASSIVE_LEVEL): `STATUS_NOT_SUPPORTED` under
/// Wine (stubs that would abort the driver's process), else
/// `STATUS_PROCEDURE_NOT_FOUND` when one is missing.
fn routines() -> NtResult<Routines> {
    if sys::WINE_KERNEL.address(true).is_some() {
        return Err(NtStatus::NOT_SUPPORTED);
    }
    let found = |routine: &sys::RuntimeRoutine| routine.address(true).ok_or(NtStatus::PROCEDURE_NOT_FOUND);
    // The unmap routine is looked up again when the view unmaps; it must be
    // there before anything is mapped.
    found(&sys::MM_UNMAP_VIEW_IN_SYSTEM_SPACE)?;
    let (map, section_type) = (found(&sys::MM_MAP_VIEW_IN_SYSTEM_SPACE)?, found(&sys::MM_SECTION_OBJECT_TYPE)?);
    // SAFETY: the kernel exports these routines at these addresses with
    // these types (wdm.h), and `MmSectionObjectType` as a `POBJECT_TYPE`
    // variable, set at boot and never changed.
    unsafe {
        Ok(Routines {
            map: transmute::<usize, sys::PFN_MM_MAP_VIEW_IN_SYSTEM_SPACE>(map),
            section_type: (section_type as *const sys::PVOID).read(),
        })
    }
}

/// `MmUnmapViewInSystemSpace`, looked up again (it was found when the view
/// was mapped, so it is there).
fn unmap_routine() -> Option<sys::PFN_MM_UNMAP_VIEW_IN_SYSTEM_SPACE> {
    let address = sys::MM_UNMAP_VIEW_IN_SYSTEM_SPACE.address(true)?;
    // SAFETY: as in `routines`.
    Some(unsafe { transmute::<usize, sys::PFN_MM_UNMAP_VIEW_IN_SYSTEM_SPACE>(address) })
}

impl<A: SystemProtection> SystemView<A, Shared> {
    /// References the section object of `handle` and maps its first `len`
    /// bytes (the whole section) into system space.
    ///
    /// The caller has checked that the section is pagefile-backed,
    /// committed, `len` bytes long, and read-write if `A` is.
    pub(super) fn map(handle: sys::HANDLE, len: usize) -> NtResult<Self> {
        Irql::ensure_at_most(Irql::PASSIVE)?;
        let routines = routines()?;
        let access = if A::PAGE == sys::PAGE_READWRITE {
            sys::SECTION_MAP_READ | sys::SECTION_MAP_WRITE
        } else {
            sys::SECTION_MAP_READ
        };
        let mut object = core::ptr::null_mut();
        // SAFETY: `handle` is an open kernel handle borrowed for the call;
        // the type is the kernel's section type; valid out-pointer.
        let status = unsafe {
            sys::ObReferenceObjectByHandle(
                handle,
                access,
                routines.section_type,
                sys::_MODE::KernelMode as sys::KPROCESSOR_MODE,
                &mut object,
                core::ptr::null_mut(),
            )
        };
        NtStatus::from_raw(status).result()?;
        let object = NonNull::new(object).ok_or(NtStatus::UNSUCCESSFUL)?;
        let mut base = core::ptr::null_mut();
        let mut size = len as sys::SIZE_T;
        // SAFETY: `object` is a referenced section object; valid out-pointers;
        // PASSIVE_LEVEL.
        let status = NtStatus::from_raw(unsafe { (routines.map)(object.as_ptr(), &mut base, &mut size) });
        let mapped =
            status.result().and_then(|()| NonNull::new(base.cast::<u8>()).ok_or(NtStatus::INSUFFICIENT_RESOURCES));
        let base = match mapped {
            Ok(base) => base,
            Err(error) => {
                // SAFETY: the reference taken above, released once.
                unsafe { sys::ObfDereferenceObject(object.as_ptr()) };
                return Err(error);
            }
        };
        // SAFETY: `len` bytes of committed, pagefile-backed pageable memory
        // mapped at `base` in system space until the view unmaps them.
        let bytes = unsafe { SharedBytes::new(base, len.min(size as usize)) };
        // INVARIANT: mapped by MmMapViewInSystemSpace of `object`, which
        // holds the reference taken above.
        Ok(SystemView { bytes, object, _marker: PhantomData })
    }

    /// This view, declared the only mapping of its memory.
    ///
    /// # Safety
    /// No other view of the section exists or can be created: the section
    /// is anonymous, its handles are closed, and nothing else holds a
    /// reference to its object.
    pub(super) unsafe fn into_exclusive(self) -> SystemView<A, Exclusive> {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped: the window moves out once.
        let bytes = unsafe { core::ptr::read(&this.bytes) };
        SystemView { bytes, object: this.object, _marker: PhantomData }
    }
}

impl<A: SystemProtection, K: ViewKind> SystemView<A, K> {
    /// The bytes the view covers (the section's size).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True for a view of no bytes (never).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn is_empty(&self) -> bool {
        self.bytes.len() == 0
    }

    /// The view's system-space address.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn as_ptr(&self) -> *const u8 {
        self.bytes.base().as_ptr()
    }

    /// Copies `dst.len()` bytes from `offset` into `dst`.
    ///
    /// Errors: `STATUS_INVALID_PARAMETER` for a range past [`len`](Self::len),
    /// `STATUS_INVALID_LEVEL` above APC_LEVEL.
    ///
    /// # IRQL
    /// `<= APC_LEVEL` (pageable memory), in any process context.
    pub fn read_bytes(&self, offset: usize, dst: &mut [u8]) -> NtResult<()> {
        self.bytes.read_bytes(offset, dst)
    }

    /// Reads a `T` at `offset` (no alignment needed).
    ///
    /// # IRQL
    /// `<= APC_LEVEL`.
    pub fn read<T: PlainData>(&self, offset: usize) -> NtResult<T> {
        self.bytes.read(offset)
    }

    /// Unmaps the view now (`MmUnmapViewInSystemSpace`), reporting its
    /// status, and releases the section object.
    ///
    /// # IRQL
    /// PASSIVE_LEVEL. Above it the view stays mapped and referenced (the
    /// result is `STATUS_INVALID_LEVEL`; the verifier reports the leak).
    pub fn unmap(self) -> NtResult<()> {
        let this = core::mem::ManuallyDrop::new(self);
        unmap(this.bytes.base(), this.object)
    }
}

impl<K: ViewKind> SystemView<ReadWrite, K> {
    /// Copies `src` into the view at `offset`.
    ///
    /// Errors: as [`read_bytes`](Self::read_bytes).
    ///
    /// # IRQL
    /// `<= APC_LEVEL`.
    pub fn write_bytes(&mut self, offset: usize, src: &[u8]) -> NtResult<()> {
        // SAFETY: a read-write view of a read-write section (invariant).
        unsafe { self.bytes.write_bytes(offset, src) }
    }

    /// Writes `value` at `offset` (no alignment needed).
    ///
    /// # IRQL
    /// `<= APC_LEVEL`.
    pub fn write<T: PlainData>(&mut self, offset: usize, value: &T) -> NtResult<()> {
        // SAFETY: as in `write_bytes`.
        unsafe { self.bytes.write(offset, value) }
    }
}

impl<A: SystemProtection> SystemView<A, Exclusive> {
    /// A reference to the `T` at `offset`, which must be aligned for `T`
    /// (`STATUS_DATATYPE_MISALIGNMENT_ERROR` otherwise) and inside the view
    /// (`STATUS_INVALID_PARAMETER`).
    ///
    /// # IRQL
    /// `<= APC_LEVEL`, and the reference may only be used there.
    pub fn get<T: PlainData>(&self, offset: usize) -> NtResult<&T> {
        let at = self.typed::<T>(offset)?;
        // SAFETY: in bounds, aligned, every bit pattern valid; exclusive view:
        // nothing else writes while `&self` is borrowed.
        Ok(unsafe { &*at })
    }

    /// The `T` at `offset` (`range` checks the bounds and the IRQL).
    fn typed<T: PlainData>(&self, offset: usize) -> NtResult<*mut T> {
        let at = self.bytes.range(offset, size_of::<T>())?.cast::<T>();
        if at.is_aligned() { Ok(at) } else { Err(NtStatus::DATATYPE_MISALIGNMENT_ERROR) }
    }
}

impl SystemView<ReadWrite, Exclusive> {
    /// A mutable reference to the `T` at `offset`; see [`get`](Self::get).
    ///
    /// # IRQL
    /// `<= APC_LEVEL`, and the reference may only be used there.
    pub fn get_mut<T: PlainData>(&mut self, offset: usize) -> NtResult<&mut T> {
        let at = self.typed::<T>(offset)?;
        // SAFETY: as in `get`, and `&mut self` makes the access unique.
        Ok(unsafe { &mut *at })
    }
}

impl<A: SystemProtection> Deref for SystemView<A, Exclusive> {
    type Target = [u8];

    /// # IRQL
    /// `<= APC_LEVEL` (pageable memory), not checked (it would cost an IRQL
    /// read per access): a touch above is the page fault Windows reports as
    /// 0x0A/0xD1, which the kernel model reports at every deref.
    fn deref(&self) -> &[u8] {
        sys::note_view_access(self.bytes.base().as_ptr().cast(), self.bytes.len(), false);
        // SAFETY: an exclusive view is the only mapping of its memory, and
        // system space: no process can write, unmap or reprotect it.
        unsafe { self.bytes.as_slice() }
    }
}

impl DerefMut for SystemView<ReadWrite, Exclusive> {
    fn deref_mut(&mut self) -> &mut [u8] {
        sys::note_view_access(self.bytes.base().as_ptr().cast(), self.bytes.len(), true);
        // SAFETY: writable (`ReadWrite` of a read-write section); the only
        // mapping, and `&mut self` makes this access unique.
        unsafe { self.bytes.as_mut_slice() }
    }
}

impl<A: SystemProtection, K: ViewKind> Drop for SystemView<A, K> {
    fn drop(&mut self) {
        let _ = unmap(self.bytes.base(), self.object);
    }
}

impl<A: SystemProtection, K: ViewKind> core::fmt::Debug for SystemView<A, K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SystemView")
            .field("base", &self.bytes.base())
            .field("len", &self.bytes.len())
            .field("protection", &A::PAGE)
            .finish()
    }
}

/// `MmUnmapViewInSystemSpace` of `base`, then `ObDereferenceObject` of the
/// section object, at PASSIVE_LEVEL only.
fn unmap(base: NonNull<u8>, object: NonNull<core::ffi::c_void>) -> NtResult<()> {
    Irql::ensure_at_most(Irql::PASSIVE)?;
    let unmap = unmap_routine().ok_or(NtStatus::PROCEDURE_NOT_FOUND)?;
    // SAFETY: `base` is a system-space view this crate mapped, unmapped
    // only here; PASSIVE_LEVEL.
    let status = NtStatus::from_raw(unsafe { unmap(base.as_ptr().cast()) });
    // SAFETY: the reference the view held, released once, after the unmap.
    unsafe { sys::ObfDereferenceObject(object.as_ptr()) };
    status.result()
}
