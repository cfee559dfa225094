//! The I/O-manager plumbing of the sample: counted strings, DbgPrint, and
//! METHOD_BUFFERED device-control requests (the other methods: `direct_irp`).

use core::ffi::CStr;

use wdm_mem::{
    NtStatus,
    sys::{self, IRP, NTSTATUS, UNICODE_STRING},
};

/// A `UNICODE_STRING` over a static UTF-16 name.
pub fn unicode(name: &'static [u16]) -> UNICODE_STRING {
    UNICODE_STRING {
        Length: (name.len() * 2) as u16,
        MaximumLength: (name.len() * 2) as u16,
        Buffer: name.as_ptr().cast_mut(),
    }
}

/// DbgPrint of one line.
pub fn debug_print(line: &CStr) {
    // SAFETY: "%s\n" with one NUL-terminated string argument.
    unsafe { sys::DbgPrint(c"%s\n".as_ptr(), line.as_ptr()) };
}

/// A METHOD_BUFFERED IRP_MJ_DEVICE_CONTROL request: one system buffer holding
/// the input, then overwritten by the output.
pub struct DeviceControl {
    code: u32,
    buffer: *mut u8,
    input_len: usize,
    output_len: usize,
    /// The IRP itself, for the other transfer methods (`direct_irp`).
    irp: *mut IRP,
    /// `Type3InputBuffer`: the caller's input pointer with METHOD_NEITHER.
    type3_input: usize,
}

impl DeviceControl {
    /// Reads the request out of the IRP's current stack location.
    ///
    /// # Safety
    /// `irp` is a valid IRP_MJ_DEVICE_CONTROL IRP owned by the caller until it
    /// completes it.
    pub unsafe fn from_irp(irp: *mut IRP) -> DeviceControl {
        // SAFETY: IoGetCurrentIrpStackLocation of a valid IRP.
        let stack = unsafe { &*(*irp).Tail.Overlay.__bindgen_anon_2.__bindgen_anon_1.CurrentStackLocation };
        // SAFETY: the DeviceIoControl member is the active one for this major function.
        let parameters = unsafe { stack.Parameters.DeviceIoControl };
        DeviceControl {
            code: parameters.IoControlCode,
            // SAFETY: for METHOD_BUFFERED the SystemBuffer member is active.
            buffer: unsafe { (*irp).AssociatedIrp.SystemBuffer }.cast(),
            input_len: parameters.InputBufferLength as usize,
            output_len: parameters.OutputBufferLength as usize,
            irp,
            type3_input: parameters.Type3InputBuffer as usize,
        }
    }

    /// The IRP, valid until this request is completed.
    pub fn irp(&self) -> *mut IRP {
        self.irp
    }

    /// `InputBufferLength` and `OutputBufferLength`.
    pub fn lengths(&self) -> (usize, usize) {
        (self.input_len, self.output_len)
    }

    /// `Type3InputBuffer` (METHOD_NEITHER: the caller's input pointer).
    pub fn type3_input(&self) -> usize {
        self.type3_input
    }

    /// The IOCTL code.
    pub fn code(&self) -> u32 {
        self.code
    }

    /// The request's input as a `T`, if the caller sent exactly one.
    pub fn input<T: Copy>(&self) -> Option<T> {
        if self.buffer.is_null() || self.input_len != size_of::<T>() {
            return None;
        }
        // SAFETY: the I/O manager's system buffer holds `input_len` bytes.
        Some(unsafe { self.buffer.cast::<T>().read_unaligned() })
    }

    /// Writes `value` as the output; returns the byte count for IoStatus, or
    /// the status for a caller whose output buffer is too small.
    pub fn reply<T: Copy>(&self, value: &T) -> (NtStatus, usize) {
        if self.buffer.is_null() || self.output_len < size_of::<T>() {
            return (NtStatus::BUFFER_TOO_SMALL, 0);
        }
        // SAFETY: the system buffer holds max(input, output) bytes.
        unsafe { self.buffer.cast::<T>().write_unaligned(*value) };
        (NtStatus::SUCCESS, size_of::<T>())
    }
}

/// Completes `irp` with `status` and `information` bytes.
///
/// # Safety
/// `irp` is valid and not yet completed; it must not be touched afterwards.
pub unsafe fn complete(irp: *mut IRP, status: NtStatus, information: usize) -> NTSTATUS {
    // SAFETY: the caller owns the IRP until this completion.
    unsafe {
        (*irp).IoStatus.__bindgen_anon_1.Status = status.to_raw();
        (*irp).IoStatus.Information = information as u64;
        sys::IofCompleteRequest(irp, sys::IO_NO_INCREMENT as _);
    }
    status.to_raw()
}
