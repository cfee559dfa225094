//! The I/O-manager plumbing of the sample: counted strings, DbgPrint, and
//! device-control requests, over `wdm_mem::request` and `wdm_mem::driver`
//! (the other transfer methods: `direct_irp`).

use core::ffi::CStr;

use wdm_mem::{
    NtStatus, driver,
    request::{self, DeviceControl as Request},
    sys::{IRP, NTSTATUS, UNICODE_STRING},
};

/// A `UNICODE_STRING` over a static UTF-16 name.
pub fn unicode(name: &'static [u16]) -> UNICODE_STRING {
    driver::unicode_string(name)
}

/// DbgPrint of one line.
pub fn debug_print(line: &CStr) {
    driver::debug_print(line);
}

/// An IRP_MJ_DEVICE_CONTROL request: `wdm_mem::request::DeviceControl`, with
/// the sample's protocol structs (`Copy`, `#[repr(C)]`) as input and output.
pub struct DeviceControl {
    request: Request<'static>,
}

impl DeviceControl {
    /// Reads the request out of the IRP's current stack location.
    ///
    /// # Safety
    /// `irp` is a valid IRP_MJ_DEVICE_CONTROL IRP owned by the caller until it
    /// completes it.
    pub unsafe fn from_irp(irp: *mut IRP) -> DeviceControl {
        // SAFETY: per this function's contract; the dispatch routine drops
        // the request before it completes the IRP.
        DeviceControl { request: unsafe { Request::from_irp(irp) } }
    }

    /// The crate's view of the request.
    pub fn request(&self) -> &Request<'static> {
        &self.request
    }

    /// The IRP, valid until this request is completed.
    pub fn irp(&self) -> *mut IRP {
        self.request.as_raw()
    }

    /// `InputBufferLength` and `OutputBufferLength`.
    pub fn lengths(&self) -> (usize, usize) {
        self.request.lengths()
    }

    /// `Type3InputBuffer` (METHOD_NEITHER: the caller's input pointer; 0
    /// for the other methods).
    pub fn type3_input(&self) -> usize {
        self.request.neither_buffers().map_or(0, |[input, _]| input.into_raw().0)
    }

    /// The IOCTL code.
    pub fn code(&self) -> u32 {
        self.request.code()
    }

    /// The request's input as a `T`, if the caller sent exactly one.
    pub fn input<T: Copy>(&self) -> Option<T> {
        let buffer = self.request.system_buffer()?;
        if self.lengths().0 != size_of::<T>() {
            return None;
        }
        // SAFETY: the system buffer holds `input_len` bytes; the protocol's
        // structs are repr(C) integers, valid for any bytes the client sends.
        Some(unsafe { buffer.cast::<T>().read_unaligned() })
    }

    /// Writes `value` as the output; returns the byte count for IoStatus, or
    /// the status for a caller whose output buffer is too small.
    pub fn reply<T: Copy>(&self, value: &T) -> (NtStatus, usize) {
        let Some(buffer) = self.request.system_buffer() else {
            return (NtStatus::BUFFER_TOO_SMALL, 0);
        };
        if self.lengths().1 < size_of::<T>() {
            return (NtStatus::BUFFER_TOO_SMALL, 0);
        }
        // SAFETY: the system buffer holds max(input, output) bytes and
        // nothing borrows it.
        unsafe { buffer.cast::<T>().write_unaligned(*value) };
        (NtStatus::SUCCESS, size_of::<T>())
    }
}

/// Completes `irp` with `status` and `information` bytes.
///
/// # Safety
/// `irp` is valid and not yet completed; it must not be touched afterwards.
pub unsafe fn complete(irp: *mut IRP, status: NtStatus, information: usize) -> NTSTATUS {
    // SAFETY: per this function's contract.
    unsafe { request::complete(irp, status, information) }
}
