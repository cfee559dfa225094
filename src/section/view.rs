//! [`SectionView`]: a mapped view, typed by its protection and by whether
//! anything else can reach its memory.

use core::{
    marker::PhantomData,
    ops::{Deref, DerefMut},
    ptr::{NonNull, null_mut},
};

use crate::{
    Irql, NtResult, NtStatus,
    plain::{Pageable, PlainData, SharedBytes},
    sys,
};

mod sealed {
    pub trait Sealed {}
}

/// The protection of a view, as a type: [`ReadOnly`], [`ReadWrite`] or
/// [`WriteCopy`].
pub trait ViewProtection: sealed::Sealed {
    /// The `PAGE_*` protection passed to `ZwMapViewOfSection`.
    const PAGE: u32;
}

/// Views whose bytes may be written: [`ReadWrite`] and [`WriteCopy`].
pub trait Writable: ViewProtection {}

/// `PAGE_READONLY`: the view can only be read.
#[derive(Debug)]
pub enum ReadOnly {}
/// `PAGE_READWRITE`: writes go to the section, every view sees them.
#[derive(Debug)]
pub enum ReadWrite {}
/// `PAGE_WRITECOPY`: a page is copied on its first write; the section and
/// the other views never see this view's writes.
#[derive(Debug)]
pub enum WriteCopy {}

impl sealed::Sealed for ReadOnly {}
impl sealed::Sealed for ReadWrite {}
impl sealed::Sealed for WriteCopy {}
impl ViewProtection for ReadOnly {
    const PAGE: u32 = sys::PAGE_READONLY;
}
impl ViewProtection for ReadWrite {
    const PAGE: u32 = sys::PAGE_READWRITE;
}
impl ViewProtection for WriteCopy {
    const PAGE: u32 = sys::PAGE_WRITECOPY;
}
impl Writable for ReadWrite {}
impl Writable for WriteCopy {}

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

/// A view of a section mapped into the current process, unmapped with
/// `ZwUnmapViewOfSection` on drop. It stays valid after the section handle
/// is closed.
///
/// `A` is the protection ([`ReadOnly`], [`ReadWrite`], [`WriteCopy`]): only
/// writable views have writing methods. `K` is [`Shared`] (copying
/// accessors) or [`Exclusive`] (also a slice); see the
/// [module documentation](super) for why.
///
/// ```compile_fail
/// # use wdm_mem::section::{ReadOnly, Section, SectionProtection};
/// let section = Section::create(4096, SectionProtection::ReadWrite).unwrap();
/// let mut view = section.map::<ReadOnly>(0, 0).unwrap();
/// view.write(0, &1u8); // a read-only view has no `write`
/// ```
///
/// ```compile_fail
/// # use wdm_mem::section::{ReadOnly, Section};
/// let mut view = Section::builder().size(4096).map_exclusive::<ReadOnly>().unwrap();
/// view[0] = 1; // nor a mutable slice
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
/// # Invariants
/// `bytes` starts at the address `ZwMapViewOfSection` returned in the
/// process that was current on this thread when the view was created,
/// mapping `mapped` bytes (pageable) with protection `A::PAGE`;
/// `bytes.len() <= mapped`. The view is unmapped exactly once (by
/// [`SectionView::unmap`] or `Drop`), on the creating thread (the type is
/// neither `Send` nor `Sync`). For `K = Exclusive`, no other mapping of the
/// memory exists or can be created.
pub struct SectionView<A: ViewProtection, K: ViewKind = Shared> {
    bytes: SharedBytes<Pageable>,
    mapped: usize,
    _marker: PhantomData<Markers<A, K>>,
}

/// The view's type parameters, and a raw pointer that makes it `!Send` and
/// `!Sync` (it belongs to the thread, hence the process, that mapped it).
type Markers<A, K> = (*mut u8, fn() -> (A, K));

impl<A: ViewProtection> SectionView<A, Shared> {
    /// `ZwMapViewOfSection` of `handle` into the current process.
    pub(super) fn map(handle: sys::HANDLE, section_size: Option<u64>, offset: u64, size: usize) -> NtResult<Self> {
        Irql::ensure_at_most(Irql::PASSIVE)?;
        let mut section_offset =
            sys::LARGE_INTEGER { QuadPart: i64::try_from(offset).map_err(|_| NtStatus::INVALID_VIEW_SIZE)? };
        let mut base = null_mut();
        let mut view_size = size as sys::SIZE_T;
        // SAFETY: `handle` is an open section handle borrowed for the call;
        // the out-pointers are valid; ZwCurrentProcess is the current process.
        let status = unsafe {
            sys::ZwMapViewOfSection(
                handle,
                sys::ZwCurrentProcess(),
                &mut base,
                0,
                0,
                &mut section_offset,
                &mut view_size,
                sys::_SECTION_INHERIT::ViewUnmap,
                0,
                A::PAGE,
            )
        };
        NtStatus::from_raw(status).result()?;
        let base = NonNull::new(base.cast::<u8>()).ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        let mapped = view_size as usize;
        let len = match (size, section_size) {
            (0, Some(total)) => usize::try_from(total - offset).map_or(mapped, |rest| rest.min(mapped)),
            (0, None) => mapped,
            (size, _) => size.min(mapped),
        };
        // SAFETY: `len <= mapped` bytes of pageable memory mapped at `base`
        // in the current process, until the view unmaps them.
        let bytes = unsafe { SharedBytes::new(base, len) };
        Ok(SectionView { bytes, mapped, _marker: PhantomData })
    }

    /// This view, declared the only mapping of its memory.
    ///
    /// # Safety
    /// No other view of the section exists or can be created (the section is
    /// anonymous and its handles are closed).
    pub(super) unsafe fn into_exclusive(self) -> SectionView<A, Exclusive> {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped: the window moves out once.
        let bytes = unsafe { core::ptr::read(&this.bytes) };
        SectionView { bytes, mapped: this.mapped, _marker: PhantomData }
    }
}

impl<A: ViewProtection, K: ViewKind> SectionView<A, K> {
    /// The bytes of the section the view covers: what was asked for, or up
    /// to the end of the section when its size is known to the handle that
    /// mapped it ([`Section::size`](super::Section::size)); otherwise (a
    /// section opened by name, or sized by its file) the mapped size.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True for a view of no bytes (never: the kernel maps at least a page).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn is_empty(&self) -> bool {
        self.bytes.len() == 0
    }

    /// The size the kernel mapped: [`len`](Self::len) rounded up to whole
    /// pages.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn mapped_size(&self) -> usize {
        self.mapped
    }

    /// The view's address in the current process.
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
    /// `<= APC_LEVEL`.
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

    /// The whole view as a slice.
    ///
    /// # Safety
    /// While the slice lives, nothing writes to the view's memory: no other
    /// view of the section, no other process that opened it, no device.
    ///
    /// # IRQL
    /// The slice may be used at `<= APC_LEVEL` only.
    pub unsafe fn as_slice(&self) -> &[u8] {
        // SAFETY: the caller rules out writers.
        unsafe { self.bytes.as_slice() }
    }

    /// Unmaps the view now, reporting `ZwUnmapViewOfSection`'s status.
    ///
    /// # IRQL
    /// PASSIVE_LEVEL. Above it the view stays mapped (unmapping there would
    /// bug-check), the result is `STATUS_INVALID_LEVEL`, and the verifier
    /// reports the leak.
    pub fn unmap(self) -> NtResult<()> {
        let base = self.bytes.base();
        core::mem::forget(self);
        unmap(base)
    }
}

impl<A: Writable, K: ViewKind> SectionView<A, K> {
    /// Copies `src` into the view at `offset`.
    ///
    /// Errors: as [`read_bytes`](Self::read_bytes).
    ///
    /// # IRQL
    /// `<= APC_LEVEL`.
    pub fn write_bytes(&mut self, offset: usize, src: &[u8]) -> NtResult<()> {
        // SAFETY: the view is writable (`A`).
        unsafe { self.bytes.write_bytes(offset, src) }
    }

    /// Writes `value` at `offset` (no alignment needed).
    ///
    /// # IRQL
    /// `<= APC_LEVEL`.
    pub fn write<T: PlainData>(&mut self, offset: usize, value: &T) -> NtResult<()> {
        // SAFETY: the view is writable (`A`).
        unsafe { self.bytes.write(offset, value) }
    }

    /// The whole view as a mutable slice.
    ///
    /// # Safety
    /// While the slice lives, nothing else reads or writes the view's memory
    /// (no other view of the section, process or device).
    ///
    /// # IRQL
    /// The slice may be used at `<= APC_LEVEL` only.
    pub unsafe fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: the view is writable (`A`); the caller rules out every
        // other access.
        unsafe { self.bytes.as_mut_slice() }
    }
}

impl<A: ViewProtection> SectionView<A, Exclusive> {
    /// A reference to the `T` at `offset`, which must be aligned for `T`
    /// (`STATUS_DATATYPE_MISALIGNMENT` otherwise) and inside the view
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

    fn typed<T: PlainData>(&self, offset: usize) -> NtResult<*mut T> {
        let at = self.bytes.range(offset, size_of::<T>())?.cast::<T>();
        if at.is_aligned() { Ok(at) } else { Err(NtStatus::DATATYPE_MISALIGNMENT) }
    }
}

impl<A: Writable> SectionView<A, Exclusive> {
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

impl<A: ViewProtection> Deref for SectionView<A, Exclusive> {
    type Target = [u8];

    /// # IRQL
    /// `<= APC_LEVEL` (pageable memory).
    fn deref(&self) -> &[u8] {
        // SAFETY: an exclusive view is the only mapping of its memory.
        unsafe { self.as_slice() }
    }
}

impl<A: Writable> DerefMut for SectionView<A, Exclusive> {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: an exclusive view is the only mapping of its memory, and
        // `&mut self` makes this access unique.
        unsafe { self.as_mut_slice() }
    }
}

impl<A: ViewProtection, K: ViewKind> Drop for SectionView<A, K> {
    fn drop(&mut self) {
        let _ = unmap(self.bytes.base());
    }
}

impl<A: ViewProtection, K: ViewKind> core::fmt::Debug for SectionView<A, K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SectionView")
            .field("base", &self.bytes.base())
            .field("len", &self.bytes.len())
            .field("mapped", &self.mapped)
            .field("protection", &A::PAGE)
            .finish()
    }
}

/// `ZwUnmapViewOfSection` in the current process, at PASSIVE_LEVEL only.
fn unmap(base: NonNull<u8>) -> NtResult<()> {
    Irql::ensure_at_most(Irql::PASSIVE)?;
    // SAFETY: `base` is a view this crate mapped on this thread, hence in the
    // current process, and it is unmapped only here.
    let status = unsafe { sys::ZwUnmapViewOfSection(sys::ZwCurrentProcess(), base.as_ptr().cast()) };
    NtStatus::from_raw(status).result()
}
