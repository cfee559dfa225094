//! [`UserView`]: a view mapped into the user address space of a process,
//! reached only through copies under SEH; and the protection types of every
//! view.

use core::{marker::PhantomData, ptr::NonNull};

use super::process::OwningProcess;
use crate::{
    Irql, NtResult, NtStatus,
    plain::{PlainData, bytes_of, read_with, within},
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

/// The protections a system-space view can have: [`ReadOnly`] and
/// [`ReadWrite`] (`MmMapViewInSystemSpace` maps with the section's own
/// protection; there is no write-copy system view).
pub trait SystemProtection: ViewProtection {}

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
impl SystemProtection for ReadOnly {}
impl SystemProtection for ReadWrite {}

/// A view of a section mapped into the user address space of the process
/// that was current when it was mapped (`ZwMapViewOfSection` with
/// `ZwCurrentProcess()`), unmapped with `ZwUnmapViewOfSection` on drop. It
/// stays valid after the section handle is closed.
///
/// That memory belongs to the process, whose threads can write, unmap or
/// reprotect it at any moment. So a user view never lends a Rust reference
/// or slice into it: every access is a bounds-checked copy made under SEH
/// (`__try/__except`), and a page that is gone or protected gives
/// `STATUS_ACCESS_VIOLATION` instead of a bug check. Every access and the
/// unmap first check that the current thread runs in the view's process
/// (`STATUS_NOT_MAPPED_VIEW` otherwise: the address means nothing in
/// another process), so the view may be sent to and shared with other
/// threads (`Send + Sync`).
///
/// `A` is the protection ([`ReadOnly`], [`ReadWrite`], [`WriteCopy`]): only
/// writable views have writing methods.
///
/// ```compile_fail
/// # use wdm_mem::section::{ReadOnly, Section, SectionProtection};
/// let section = Section::create(4096, SectionProtection::ReadWrite).unwrap();
/// let mut view = section.map::<ReadOnly>(0, 0).unwrap();
/// view.write(0, &1u8); // a read-only view has no `write`
/// ```
///
/// ```compile_fail
/// # use wdm_mem::section::{ReadWrite, Section, SectionProtection};
/// let section = Section::create(4096, SectionProtection::ReadWrite).unwrap();
/// let view = section.map::<ReadWrite>(0, 0).unwrap();
/// let first = view[0]; // a user view is no slice
/// ```
///
/// ```compile_fail
/// # use wdm_mem::section::{ReadWrite, Section, SectionProtection};
/// let section = Section::create(4096, SectionProtection::ReadWrite).unwrap();
/// let view = section.map::<ReadWrite>(0, 0).unwrap();
/// let value: &u32 = view.get(0).unwrap(); // nor lends references
/// ```
///
/// # Invariants
/// `base` is the address `ZwMapViewOfSection` returned in `process`,
/// mapping `mapped` bytes with protection `A::PAGE`; `len <= mapped`. It is
/// only ever touched by the SEH copies, in `process`'s context. The view is
/// unmapped at most once (by [`UserView::unmap`] or `Drop`), in `process`'s
/// context.
pub struct UserView<A: ViewProtection> {
    base: NonNull<u8>,
    len: usize,
    mapped: usize,
    process: OwningProcess,
    _protection: PhantomData<fn() -> A>,
}

// SAFETY: the view is an address and a referenced process; every use checks
// that the current process is that one, so no thread can reach another
// process's memory through it, and the copies hold no reference.
unsafe impl<A: ViewProtection> Send for UserView<A> {}
// SAFETY: `&UserView` only copies out, under the same checks.
unsafe impl<A: ViewProtection> Sync for UserView<A> {}

impl<A: ViewProtection> UserView<A> {
    /// `ZwMapViewOfSection` of `handle` into the current process.
    /// `section_size` is the section's size when known.
    pub(super) fn map(handle: sys::HANDLE, section_size: Option<u64>, offset: u64, size: usize) -> NtResult<Self> {
        Irql::ensure_at_most(Irql::PASSIVE)?;
        let process = OwningProcess::current()?;
        let (base, mapped) = map_user(handle, offset, size, A::PAGE)?;
        let len = view_len(size, section_size, offset, mapped);
        Ok(UserView { base, len, mapped, process, _protection: PhantomData })
    }

    /// The bytes of the section the view covers: what was asked for, or up
    /// to the end of the section when its size is known
    /// ([`Section::size`](super::Section::size)); otherwise the mapped size.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a view of no bytes (never: the kernel maps at least a page).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The size the kernel mapped: [`len`](Self::len) rounded up to whole
    /// pages.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn mapped_size(&self) -> usize {
        self.mapped
    }

    /// The view's address in its process: what to hand to that process's
    /// code (e.g. in an IOCTL's reply). Not dereferenceable by the driver.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn user_address(&self) -> usize {
        self.base.as_ptr() as usize
    }

    /// Whether the current thread runs in the view's process, where it can
    /// be used and unmapped.
    ///
    /// # IRQL
    /// Any.
    pub fn is_in_current_process(&self) -> bool {
        self.process.is_current()
    }

    /// The checks of every access: IRQL, process, bounds. The address of
    /// `offset`.
    fn range(&self, offset: usize, len: usize) -> NtResult<*mut u8> {
        Irql::ensure_at_most(Irql::APC)?;
        self.process.ensure_current()?;
        if !within(offset, len, self.len) {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        // An address computation only: `offset <= self.len <= mapped`.
        Ok(self.base.as_ptr().wrapping_add(offset))
    }

    /// Copies `dst.len()` bytes from `offset` into `dst`, under SEH.
    ///
    /// Errors: `STATUS_INVALID_PARAMETER` for a range past
    /// [`len`](Self::len), `STATUS_NOT_MAPPED_VIEW` from another process's
    /// context, `STATUS_INVALID_LEVEL` above APC_LEVEL, and the exception a
    /// touch raised (`STATUS_ACCESS_VIOLATION` when the process unmapped or
    /// protected the pages, or never committed them), after which `dst` may
    /// hold a prefix of the bytes.
    ///
    /// # IRQL
    /// `<= APC_LEVEL`, in the view's process.
    pub fn read_bytes(&self, offset: usize, dst: &mut [u8]) -> NtResult<()> {
        let src = self.range(offset, dst.len())?;
        // SAFETY: `dst` is writable kernel memory; `src` is a user address of
        // the current process (checked), touched only under SEH, at
        // <= APC_LEVEL (checked when `Irql::CHECKED`, else the caller's
        // `# IRQL` contract, whose breach is a bug check: `crate::irql`).
        NtStatus::from_raw(unsafe { sys::copy_from_user(dst.as_mut_ptr(), src, dst.len()) }).result()
    }

    /// Reads a `T` at `offset` (no alignment needed); errors as
    /// [`read_bytes`](Self::read_bytes).
    ///
    /// # IRQL
    /// `<= APC_LEVEL`, in the view's process.
    pub fn read<T: PlainData>(&self, offset: usize) -> NtResult<T> {
        read_with(|bytes| self.read_bytes(offset, bytes))
    }

    /// Commits the pages of `offset..offset + len` of a view of a
    /// `SEC_RESERVE` section (`ZwAllocateVirtualMemory(MEM_COMMIT)` in the
    /// view's process), for every view of the section; a no-op for a
    /// committed section. Until its pages are committed, the copies of a
    /// reserved view return `STATUS_ACCESS_VIOLATION`.
    ///
    /// Errors: `STATUS_INVALID_PARAMETER` for a range past
    /// [`len`](Self::len), `STATUS_NOT_MAPPED_VIEW` from another process's
    /// context, `STATUS_INVALID_LEVEL` above PASSIVE_LEVEL, and the kernel's
    /// (e.g. a commit charge it cannot grant).
    ///
    /// # IRQL
    /// PASSIVE_LEVEL, in the view's process.
    pub fn commit(&self, offset: usize, len: usize) -> NtResult<()> {
        Irql::ensure_at_most(Irql::PASSIVE)?;
        let mut base = self.range(offset, len)?.cast::<core::ffi::c_void>();
        let mut size = len as sys::SIZE_T;
        // SAFETY: a range of this view, in its process (checked); valid
        // in/out pointers; PASSIVE_LEVEL. The kernel only commits pages.
        let status = unsafe {
            sys::ZwAllocateVirtualMemory(sys::ZwCurrentProcess(), &mut base, 0, &mut size, sys::MEM_COMMIT, A::PAGE)
        };
        NtStatus::from_raw(status).result()
    }

    /// Unmaps the view now, reporting `ZwUnmapViewOfSection`'s status
    /// (`STATUS_NOT_MAPPED_VIEW` when the process unmapped it first).
    ///
    /// # IRQL
    /// PASSIVE_LEVEL, in the view's process. Elsewhere the view stays
    /// mapped (unmapping above PASSIVE_LEVEL would bug-check; from another
    /// process it would unmap that process's memory) and the result is
    /// `STATUS_INVALID_LEVEL` or `STATUS_NOT_MAPPED_VIEW`; the kernel unmaps
    /// it when its process exits.
    pub fn unmap(self) -> NtResult<()> {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped: the process moves out once.
        let process = unsafe { core::ptr::read(&this.process) };
        unmap_user(this.base, &process)
    }
}

impl<A: Writable> UserView<A> {
    /// Copies `src` into the view at `offset`, under SEH; errors as
    /// [`read_bytes`](Self::read_bytes) (a prefix may have been written).
    ///
    /// # IRQL
    /// `<= APC_LEVEL`, in the view's process.
    pub fn write_bytes(&mut self, offset: usize, src: &[u8]) -> NtResult<()> {
        let dst = self.range(offset, src.len())?;
        // SAFETY: as in `read_bytes`; the view is writable (`A`).
        NtStatus::from_raw(unsafe { sys::copy_to_user(dst, src.as_ptr(), src.len()) }).result()
    }

    /// Writes `value` at `offset` (no alignment needed).
    ///
    /// # IRQL
    /// `<= APC_LEVEL`, in the view's process.
    pub fn write<T: PlainData>(&mut self, offset: usize, value: &T) -> NtResult<()> {
        self.write_bytes(offset, bytes_of(value))
    }
}

impl<A: ViewProtection> Drop for UserView<A> {
    fn drop(&mut self) {
        let _ = unmap_user(self.base, &self.process);
    }
}

impl<A: ViewProtection> core::fmt::Debug for UserView<A> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UserView")
            .field("base", &self.base)
            .field("len", &self.len)
            .field("mapped", &self.mapped)
            .field("protection", &A::PAGE)
            .finish()
    }
}

/// `ZwMapViewOfSection` of `handle` into the current process: the base and
/// the mapped size.
fn map_user(handle: sys::HANDLE, offset: u64, size: usize, page: u32) -> NtResult<(NonNull<u8>, usize)> {
    let mut section_offset =
        sys::LARGE_INTEGER { QuadPart: i64::try_from(offset).map_err(|_| NtStatus::INVALID_VIEW_SIZE)? };
    let mut base = core::ptr::null_mut();
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
            page,
        )
    };
    NtStatus::from_raw(status).result()?;
    let base = NonNull::new(base.cast::<u8>()).ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
    Ok((base, view_size as usize))
}

/// The length of a view of `size` bytes (0: to the end) at `offset` of a
/// section of `section_size` bytes (when known) that the kernel mapped as
/// `mapped` bytes: never more than `mapped`, never an underflow (a section
/// that is smaller than believed gives what was mapped).
pub(super) fn view_len(size: usize, section_size: Option<u64>, offset: u64, mapped: usize) -> usize {
    let to_end = section_size
        .and_then(|total| total.checked_sub(offset))
        .map(|rest| usize::try_from(rest).unwrap_or(usize::MAX));
    match (size, to_end) {
        (0, Some(rest)) => rest.min(mapped),
        (0, None) => mapped,
        (size, _) => size.min(mapped),
    }
}

/// `ZwUnmapViewOfSection` in `process`, which must be current, at
/// PASSIVE_LEVEL only.
fn unmap_user(base: NonNull<u8>, process: &OwningProcess) -> NtResult<()> {
    Irql::ensure_at_most(Irql::PASSIVE)?;
    process.ensure_current()?;
    // SAFETY: `base` is a view this crate mapped in `process`, which is the
    // current process (checked), and it is unmapped only here.
    let status = unsafe { sys::ZwUnmapViewOfSection(sys::ZwCurrentProcess(), base.as_ptr().cast()) };
    NtStatus::from_raw(status).result()
}

#[cfg(test)]
mod tests {
    use super::view_len;

    #[test]
    fn view_len_never_overflows_nor_exceeds_the_mapping() {
        let cases = [
            // (size, section size, offset, mapped) -> len
            ((0, Some(8192), 4096, 4096), 4096),
            ((0, Some(4096), 65536, 65536), 65536), // a section larger than believed
            ((0, Some(u64::MAX), 0, 4096), 4096),
            ((0, Some(0), u64::MAX, 4096), 4096),
            ((0, None, u64::MAX, 8192), 8192),
            ((usize::MAX, Some(4096), 0, 4096), 4096),
            ((100, Some(u64::MAX), u64::MAX, 4096), 100),
        ];
        for ((size, section, offset, mapped), len) in cases {
            assert_eq!(view_len(size, section, offset, mapped), len, "{size:#x} {section:?} {offset:#x} {mapped:#x}");
        }
    }
}
