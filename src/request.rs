//! I/O requests: a device-control IRP's buffers by transfer method, and its
//! completion, so that a driver never spells the bindings' union paths.
//!
//! Why a module of this crate rather than a separate crate: reaching a
//! request's buffers *is* memory access (the system buffer is pool, the
//! direct methods hand an MDL — [`IrpMdl`] — and METHOD_NEITHER hands user
//! addresses that only the crate's probing may touch), and it needs the same
//! provider layer (`sys`) and kernel model as the rest of the crate; a second
//! crate would have to re-export both.
//!
//! | method | what the driver gets here |
//! |---|---|
//! | METHOD_BUFFERED | [`DeviceControl::input`] / [`DeviceControl::reply`]: the system buffer, copied by the I/O manager |
//! | METHOD_IN_DIRECT, METHOD_OUT_DIRECT | [`DeviceControl::input`] (the input is buffered) and [`DeviceControl::direct_mdl`]: the IRP's MDL |
//! | METHOD_NEITHER | [`DeviceControl::neither_buffers`]: [`UserPointer`]s, opaque, for the crate's probing only ([`UserSlice::from_pointer`](crate::user::UserSlice::from_pointer)) |
//!
//! The kernel model simulates requests (`wdm_mem::model::DeviceControlIrp`),
//! so a driver's handlers run under `cargo test`.

use core::{marker::PhantomData, ptr::NonNull};

use crate::{
    NtResult, NtStatus,
    mdl::{IrpMdl, LockAccess},
    plain::PlainData,
    sys::{self, IRP, NTSTATUS},
};

/// How the I/O manager passes a device-control request's buffers: the low
/// two bits of the IOCTL code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferMethod {
    /// METHOD_BUFFERED: one system buffer, input then output.
    Buffered,
    /// METHOD_IN_DIRECT: buffered input, an MDL of the second buffer locked for reading.
    InDirect,
    /// METHOD_OUT_DIRECT: buffered input, an MDL of the output locked for writing.
    OutDirect,
    /// METHOD_NEITHER: the caller's raw addresses.
    Neither,
}

impl TransferMethod {
    /// The method of IOCTL `code`.
    pub const fn of(code: u32) -> TransferMethod {
        match code & 3 {
            sys::METHOD_BUFFERED => TransferMethod::Buffered,
            sys::METHOD_IN_DIRECT => TransferMethod::InDirect,
            sys::METHOD_OUT_DIRECT => TransferMethod::OutDirect,
            _ => TransferMethod::Neither,
        }
    }
}

/// An IRP_MJ_DEVICE_CONTROL request this driver is processing, borrowed for
/// `'irp` (until [`complete`]).
///
/// # Invariants
/// `irp` is a device-control IRP the driver owns until it completes it,
/// after `'irp`; `code` and the lengths are its current stack location's.
/// Its system buffer (when not NULL) holds `max(input_len, output_len)`
/// bytes and nothing in Rust borrows it: it is only read and written by
/// copies.
pub struct DeviceControl<'irp> {
    irp: NonNull<IRP>,
    code: u32,
    input_len: usize,
    output_len: usize,
    _irp: PhantomData<&'irp mut IRP>,
}

impl<'irp> DeviceControl<'irp> {
    /// Reads the request out of the IRP's current stack location.
    ///
    /// # Safety
    /// `irp` is a valid IRP_MJ_DEVICE_CONTROL IRP that the caller owns (its
    /// dispatch routine is running) and completes only after `'irp`.
    ///
    /// # IRQL
    /// Any.
    pub unsafe fn from_irp(irp: *mut IRP) -> DeviceControl<'irp> {
        // SAFETY: a valid IRP being processed has a current stack location.
        let stack = unsafe { &*sys::IoGetCurrentIrpStackLocation(irp) };
        // SAFETY: the DeviceIoControl member is the active one for this major function.
        let parameters = unsafe { stack.Parameters.DeviceIoControl };
        DeviceControl {
            // SAFETY: a valid IRP is not NULL (contract).
            irp: unsafe { NonNull::new_unchecked(irp) },
            code: parameters.IoControlCode,
            input_len: parameters.InputBufferLength as usize,
            output_len: parameters.OutputBufferLength as usize,
            _irp: PhantomData,
        }
    }

    /// The IOCTL code.
    pub fn code(&self) -> u32 {
        self.code
    }

    /// The transfer method of the IOCTL code.
    pub fn method(&self) -> TransferMethod {
        TransferMethod::of(self.code)
    }

    /// `InputBufferLength` and `OutputBufferLength`.
    pub fn lengths(&self) -> (usize, usize) {
        (self.input_len, self.output_len)
    }

    /// The IRP itself (for what this type does not cover), valid until the
    /// request is completed.
    pub fn as_raw(&self) -> *mut IRP {
        self.irp.as_ptr()
    }

    /// The system buffer (`Irp->AssociatedIrp.SystemBuffer`) of a method
    /// that has one (all but METHOD_NEITHER): `max(input, output)` bytes for
    /// METHOD_BUFFERED, the input for the direct methods; `None` without one.
    pub fn system_buffer(&self) -> Option<NonNull<u8>> {
        if self.method() == TransferMethod::Neither {
            return None;
        }
        // SAFETY: the IRP is valid (invariant); for these methods the
        // SystemBuffer member is the active one.
        NonNull::new(unsafe { self.irp.as_ref().AssociatedIrp.SystemBuffer }.cast())
    }

    /// The request's input as a `T`, if the caller sent exactly one
    /// (METHOD_BUFFERED and the direct methods).
    ///
    /// # IRQL
    /// Any (the system buffer is non-paged pool).
    pub fn input<T: PlainData>(&self) -> Option<T> {
        let buffer = self.system_buffer()?;
        if self.input_len != size_of::<T>() {
            return None;
        }
        // SAFETY: the system buffer holds `input_len` = size_of::<T>()
        // bytes of input; every bit pattern is a T (PlainData); unaligned
        // read, no reference made.
        Some(unsafe { buffer.cast::<T>().read_unaligned() })
    }

    /// Writes `value` as the output of a METHOD_BUFFERED request; returns
    /// the status and the byte count for [`complete`]. The status is
    /// [`NtStatus::BUFFER_TOO_SMALL`] when the caller's output buffer is
    /// smaller than a `T`, [`NtStatus::INVALID_DEVICE_REQUEST`] for another
    /// method.
    ///
    /// # IRQL
    /// Any.
    pub fn reply<T: PlainData>(&self, value: &T) -> (NtStatus, usize) {
        if self.method() != TransferMethod::Buffered {
            return (NtStatus::INVALID_DEVICE_REQUEST, 0);
        }
        let Some(buffer) = self.system_buffer() else {
            return (NtStatus::BUFFER_TOO_SMALL, 0);
        };
        if self.output_len < size_of::<T>() {
            return (NtStatus::BUFFER_TOO_SMALL, 0);
        }
        // SAFETY: the system buffer holds max(input, output) >= size_of::<T>()
        // bytes; nothing borrows it (invariant); unaligned write.
        unsafe { buffer.cast::<T>().write_unaligned(*value) };
        (NtStatus::SUCCESS, size_of::<T>())
    }

    /// The I/O manager's MDL of a direct request: METHOD_IN_DIRECT for
    /// [`ReadAccess`](crate::mdl::ReadAccess), METHOD_OUT_DIRECT for
    /// [`WriteAccess`](crate::mdl::WriteAccess).
    ///
    /// Errors: [`NtStatus::INVALID_DEVICE_REQUEST`] for another method,
    /// [`NtStatus::INVALID_PARAMETER`] without a second buffer.
    ///
    /// # Safety
    /// No driver above this one on the device stack mapped the MDL
    /// read-only (a driver alone on its stack: always true).
    ///
    /// # IRQL
    /// Any.
    pub unsafe fn direct_mdl<A: LockAccess>(&self) -> NtResult<IrpMdl<'_, A>> {
        let method = if A::OPERATION == sys::_LOCK_OPERATION::IoReadAccess {
            TransferMethod::InDirect
        } else {
            TransferMethod::OutDirect
        };
        if self.method() != method {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        // SAFETY: the IRP is valid and completed after the borrow of `self`
        // ends (invariant); for this method the I/O manager locked its MDL
        // for `A` (checked above); no read-only mapping (contract).
        unsafe { IrpMdl::from_irp(self.irp.as_ref()) }
    }

    /// The caller's buffers of a METHOD_NEITHER request, input
    /// (`Type3InputBuffer`) then output (`Irp->UserBuffer`), as opaque
    /// [`UserPointer`]s: nothing is checked, so nothing here reads them.
    ///
    /// Errors: [`NtStatus::INVALID_DEVICE_REQUEST`] for another method.
    ///
    /// # IRQL
    /// Any.
    pub fn neither_buffers(&self) -> NtResult<[UserPointer; 2]> {
        if self.method() != TransferMethod::Neither {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        // SAFETY: the IRP and its current stack location are valid
        // (invariant); for METHOD_NEITHER these members are the caller's.
        let (input, output) = unsafe {
            let stack = &*sys::IoGetCurrentIrpStackLocation(self.irp.as_ptr());
            (stack.Parameters.DeviceIoControl.Type3InputBuffer as usize, self.irp.as_ref().UserBuffer as usize)
        };
        Ok([UserPointer { address: input, len: self.input_len }, UserPointer { address: output, len: self.output_len }])
    }
}

/// A buffer of the calling process as a METHOD_NEITHER request names it:
/// an address and a length, unchecked. It has no accessor that reads
/// memory: the crate's probing is the way to its bytes,
/// [`UserSlice::from_pointer`](crate::user::UserSlice::from_pointer) (copies
/// under SEH, no MDL) or `mdl::with_user_buffer` (probes and locks under
/// SEH) through [`UserPointer::into_raw`].
///
/// Its address is not a field a handler can read or forge:
///
/// ```compile_fail,E0616
/// fn peek(pointer: wdm_mem::request::UserPointer) -> usize {
///     pointer.address
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserPointer {
    address: usize,
    len: usize,
}

impl UserPointer {
    /// The length the caller gave.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a zero-length buffer.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `(address, length)`, for the crate's probing routines (which take
    /// them as plain integers and check them). Holding the integers is
    /// harmless; dereferencing them outside SEH is what is not.
    pub fn into_raw(self) -> (usize, usize) {
        (self.address, self.len)
    }
}

/// Completes `irp` with `status` and `information` bytes
/// (`IoStatus` then `IofCompleteRequest(irp, IO_NO_INCREMENT)`); returns the
/// status for the dispatch routine to return.
///
/// # Safety
/// `irp` is valid, owned by the caller and not yet completed; nothing uses
/// it (or a [`DeviceControl`] of it) afterwards.
///
/// # IRQL
/// `<= DISPATCH_LEVEL`.
pub unsafe fn complete(irp: *mut IRP, status: NtStatus, information: usize) -> NTSTATUS {
    // SAFETY: the caller owns the IRP until this completion (contract).
    unsafe {
        sys::set_io_status(irp, status.to_raw(), information);
        sys::IofCompleteRequest(irp, sys::IO_NO_INCREMENT as _);
    }
    status.to_raw()
}
