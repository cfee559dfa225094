//! [`UserSlice`]: a range of the requester's user memory that a driver
//! copies from and to under SEH, without an MDL (the buffers of a
//! `METHOD_NEITHER` request: `Type3InputBuffer`, `UserBuffer`, or pointers
//! inside them).
//!
//! A caller's pointer is never dereferenced from Rust: the process can
//! unmap or reprotect its pages at any moment, so every access is a copy
//! that runs under `__try/__except` (the crate's C shim on Windows targets,
//! the kernel model's equivalent on the host) and a bad pointer is an error
//! status, never a fault. [`UserSlice::new`] checks the range as
//! `ProbeForRead`/`ProbeForWrite` do (alignment, no wrap, below
//! `MmUserProbeAddress`), so that a kernel address can never be passed for
//! a user one; the copies then catch what the checks cannot know (pages
//! that are not there, or not writable).
//!
//! The slice records the process it was made in (the requester's, in a
//! dispatch routine) and every copy checks that the thread still runs in
//! it: in another process the same address means other memory.
//!
//! [`UserSlice::from_pointer`] makes one from a request's
//! [`UserPointer`]; [`UserSlice::secure`] secures its range
//! (`MmSecureVirtualMemory`) for a driver that keeps using it after the
//! request ([`SecuredUserSlice`]).
//!
//! On Windows each copy is `ProbeForRead` or `ProbeForWrite` of the range
//! and the copy, inside one `__try` of the crate's C shim: the range probed
//! is the range copied, and what either raises is the copy's error status.
//!
//! # Where it runs
//! Host (the model checks the simulated process's views and buffers page by
//! page, and `MmUserProbeAddress`, as the probes and the copy would),
//! Windows, and Wine: there the copies are real, over the copies of the
//! caller's buffers that Wine's I/O manager makes in the driver's process
//! (`winedevice.exe`), and `ProbeForRead`/`ProbeForWrite` are stubs, so the
//! slice's own range check is the only one. [`UserSlice::secure`] runs on
//! Windows and the model; under Wine it answers
//! [`NtStatus::NOT_SUPPORTED`].
//!
//! ```compile_fail
//! // No reference into user memory is ever handed out.
//! fn peek(slice: &wdm_mem::user::UserSlice) -> &[u8] { &**slice }
//! ```
//!
//! ```compile_fail
//! // Only plain data is read from user memory (a bool has invalid bit patterns).
//! fn flag(slice: &wdm_mem::user::UserSlice) -> bool { slice.read::<bool>(0).unwrap() }
//! ```

mod secure;

pub use secure::{SecureAccess, SecuredUserSlice};

use crate::{Irql, NtResult, NtStatus, plain::PlainData, request::UserPointer, section::process::OwningProcess, sys};

/// `len` bytes of user memory at `address`, in the process the slice was
/// made in, accessed only through copies under SEH.
///
/// # Invariants
/// `address..address + len` does not wrap, lies at or above
/// `MM_LOWEST_USER_ADDRESS` (for `len > 0`) and ends at or below
/// `MmUserProbeAddress` as read when the slice was made (so it names user
/// addresses only); `process` is the process whose address space it names.
#[derive(Debug)]
pub struct UserSlice {
    address: usize,
    len: usize,
    process: OwningProcess,
}

impl UserSlice {
    /// The range `len` bytes at `address` of the current process's user
    /// space, checked as `ProbeForRead`/`ProbeForWrite` check it:
    /// [`NtStatus::INVALID_PARAMETER`] for an `alignment` that is not 1, 2,
    /// 4, 8 or 16; [`NtStatus::DATATYPE_MISALIGNMENT_ERROR`] for an address
    /// that is not a multiple of it; [`NtStatus::ACCESS_VIOLATION`] for a
    /// range that wraps, starts in the first 64 KiB or ends past
    /// `MmUserProbeAddress`. A length of 0 is an empty slice. Nothing is
    /// touched.
    ///
    /// # IRQL
    /// `<= APC_LEVEL`, in the requester's context (a `METHOD_NEITHER`
    /// dispatch routine runs there; a worker thread or DPC does not).
    pub fn new(address: usize, len: usize, alignment: usize) -> NtResult<UserSlice> {
        Irql::ensure_at_most(Irql::APC)?;
        if !matches!(alignment, 1 | 2 | 4 | 8 | 16) {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        if len > 0 {
            if address % alignment != 0 {
                return Err(NtStatus::DATATYPE_MISALIGNMENT_ERROR);
            }
            let end = address.checked_add(len).ok_or(NtStatus::ACCESS_VIOLATION)?;
            if address < sys::MM_LOWEST_USER_ADDRESS || end > sys::user_probe_address(Irql::current() == Irql::PASSIVE)
            {
                return Err(NtStatus::ACCESS_VIOLATION);
            }
        }
        Ok(UserSlice { address, len, process: OwningProcess::current()? })
    }

    /// The buffer a `METHOD_NEITHER` request names
    /// ([`DeviceControl::neither_buffers`](crate::request::DeviceControl::neither_buffers)),
    /// checked as [`new`](Self::new) checks it: the one safe step from a
    /// request's raw pointer to copies of the caller's bytes.
    ///
    /// ```
    /// # let kernel = wdm_mem::model::Kernel::new();
    /// use wdm_mem::{model::DeviceControlIrp, request::DeviceControl, user::UserSlice};
    ///
    /// let input = kernel.user_buffer(8);
    /// kernel.write_user(input.address, &7u64.to_le_bytes());
    /// let output = kernel.user_buffer(8);
    /// let mut irp = DeviceControlIrp::neither(0x22_2003, input.address, 8, output.address, 8);
    /// // SAFETY: the model's IRP, completed after the request's last use.
    /// let request = unsafe { DeviceControl::from_irp(irp.as_ptr()) };
    /// let [input, output] = request.neither_buffers()?;
    /// let (input, output) = (UserSlice::from_pointer(input, 8)?, UserSlice::from_pointer(output, 8)?);
    /// output.write(0, &(input.read::<u64>(0)? * 6))?;
    /// assert_eq!(kernel.read_user(output.address(), 8), 42u64.to_le_bytes());
    /// # drop((input, output, irp));
    /// # kernel.assert_clean();
    /// # Ok::<(), wdm_mem::NtStatus>(())
    /// ```
    ///
    /// # IRQL
    /// `<= APC_LEVEL`, in the requester's context (the dispatch routine).
    pub fn from_pointer(pointer: UserPointer, alignment: usize) -> NtResult<UserSlice> {
        let (address, len) = pointer.into_raw();
        UserSlice::new(address, len, alignment)
    }

    /// The first user address.
    pub fn address(&self) -> usize {
        self.address
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the slice is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The user address of `len` bytes at `offset`, after the checks every
    /// copy makes: [`NtStatus::INVALID_LEVEL`] above APC_LEVEL,
    /// [`NtStatus::ACCESS_VIOLATION`] outside the slice's process,
    /// [`NtStatus::INVALID_PARAMETER`] past the slice's end.
    fn at(&self, offset: usize, len: usize) -> NtResult<usize> {
        Irql::ensure_at_most(Irql::APC)?;
        if !self.process.is_current() {
            return Err(NtStatus::ACCESS_VIOLATION);
        }
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(self.address + offset),
            _ => Err(NtStatus::INVALID_PARAMETER),
        }
    }

    /// Copies `dst.len()` bytes at `offset` into `dst`, under SEH: an error
    /// status (the exception's, e.g. [`NtStatus::ACCESS_VIOLATION`]) where a
    /// page is missing or unreadable, after which `dst` may hold a prefix of
    /// the bytes; otherwise `STATUS_INVALID_LEVEL` above APC_LEVEL,
    /// `STATUS_ACCESS_VIOLATION` outside the slice's process and
    /// `STATUS_INVALID_PARAMETER` past the slice's end.
    ///
    /// # IRQL
    /// `<= APC_LEVEL`, in the slice's process.
    pub fn read_into(&self, offset: usize, dst: &mut [u8]) -> NtResult<()> {
        let src = self.at(offset, dst.len())?;
        if dst.is_empty() {
            return Ok(());
        }
        // SAFETY: `dst` is writable kernel memory; `src` is a user address of
        // the current process (invariant, and checked above), touched only
        // under SEH, at <= APC_LEVEL (checked).
        NtStatus::from_raw(unsafe { sys::copy_from_user(dst.as_mut_ptr(), src as *const u8, dst.len()) }).result()
    }

    /// Reads a `T` at `offset` (no alignment needed: a copy); errors as
    /// [`read_into`](Self::read_into).
    ///
    /// # IRQL
    /// `<= APC_LEVEL`, in the slice's process.
    pub fn read<T: PlainData>(&self, offset: usize) -> NtResult<T> {
        let mut value = core::mem::MaybeUninit::<T>::uninit();
        // SAFETY: the bytes of a `MaybeUninit<T>`, written (not read) by the
        // copy.
        let bytes = unsafe { core::slice::from_raw_parts_mut(value.as_mut_ptr().cast::<u8>(), size_of::<T>()) };
        self.read_into(offset, bytes)?;
        // SAFETY: every byte was written by the successful copy, and every
        // bit pattern is a valid `T` (PlainData).
        Ok(unsafe { value.assume_init() })
    }

    /// Copies `src` to `offset`, under SEH: an error status where a page is
    /// missing or not writable, after which a prefix may have been written;
    /// otherwise errors as [`read_into`](Self::read_into).
    ///
    /// # IRQL
    /// `<= APC_LEVEL`, in the slice's process.
    pub fn write_from(&self, offset: usize, src: &[u8]) -> NtResult<()> {
        let dst = self.at(offset, src.len())?;
        if src.is_empty() {
            return Ok(());
        }
        // SAFETY: `src` is readable kernel memory; `dst` is a user address of
        // the current process (invariant, and checked above), touched only
        // under SEH, at <= APC_LEVEL (checked).
        NtStatus::from_raw(unsafe { sys::copy_to_user(dst as *mut u8, src.as_ptr(), src.len()) }).result()
    }

    /// Writes `value` at `offset`; errors as [`write_from`](Self::write_from).
    ///
    /// # IRQL
    /// `<= APC_LEVEL`, in the slice's process.
    pub fn write<T: PlainData>(&self, offset: usize, value: &T) -> NtResult<()> {
        // SAFETY: a PlainData value has no padding: all its bytes are
        // initialised.
        let bytes = unsafe { core::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) };
        self.write_from(offset, bytes)
    }
}
