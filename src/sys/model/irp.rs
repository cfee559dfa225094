//! Simulated I/O requests: what the I/O manager hands a driver's
//! IRP_MJ_DEVICE_CONTROL routine, built by a test.

use std::{boxed::Box, vec, vec::Vec};

use crate::{
    NtStatus,
    sys::{
        self, _LOCK_OPERATION, _MODE, IO_STACK_LOCATION, IRP, IRP_MJ_DEVICE_CONTROL, METHOD_IN_DIRECT,
        METHOD_OUT_DIRECT, PMDL,
    },
};

/// A METHOD_BUFFERED IRP_MJ_DEVICE_CONTROL request as Windows' I/O manager
/// builds it: one IRP with one stack location and a system buffer of
/// `max(input, output)` bytes holding the caller's input.
///
/// ```
/// use wdm_mem::{NtStatus, model::{DeviceControlIrp, Kernel}, request::{self, DeviceControl}};
///
/// let kernel = Kernel::new();
/// let irp = DeviceControlIrp::buffered(0x0022_2000, &7u32.to_le_bytes(), 8);
/// // SAFETY: the simulated IRP is valid and completed once, below.
/// let request = unsafe { DeviceControl::from_irp(irp.as_ptr()) };
/// let value: u32 = request.input().unwrap();
/// let (status, written) = request.reply(&(u64::from(value) * 2));
/// // SAFETY: the request is not used after its completion.
/// unsafe { request::complete(irp.as_ptr(), status, written) };
/// assert_eq!(irp.completion(), Some((NtStatus::SUCCESS, 8)));
/// assert_eq!(irp.output(), 14u64.to_le_bytes());
/// kernel.assert_clean();
/// ```
///
/// # Invariants
/// `irp`'s current stack location is `stack`; its system buffer is
/// `buffer` (NULL when both lengths are 0). Both are boxed and never move.
/// `irp.MdlAddress` is NULL, or (a [`direct`](Self::direct) request) an MDL
/// the I/O manager allocated and locked, which the drop unlocks and frees.
pub struct DeviceControlIrp {
    irp: Box<IRP>,
    stack: Box<IO_STACK_LOCATION>,
    buffer: Vec<u8>,
}

impl DeviceControlIrp {
    /// A request with IOCTL `code` (any transfer method: the system buffer is
    /// what METHOD_BUFFERED uses, the input buffer of the direct methods),
    /// `input` as its input and an output buffer of `output_len` bytes.
    pub fn buffered(code: u32, input: &[u8], output_len: usize) -> DeviceControlIrp {
        let mut buffer = vec![0u8; input.len().max(output_len)];
        buffer[..input.len()].copy_from_slice(input);
        let mut stack =
            Box::new(IO_STACK_LOCATION { MajorFunction: IRP_MJ_DEVICE_CONTROL as u8, ..Default::default() });
        stack.Parameters.DeviceIoControl.IoControlCode = code;
        stack.Parameters.DeviceIoControl.InputBufferLength = input.len() as u32;
        stack.Parameters.DeviceIoControl.OutputBufferLength = output_len as u32;
        let mut irp = Box::new(IRP { StackCount: 1, CurrentLocation: 1, ..Default::default() });
        irp.AssociatedIrp.SystemBuffer =
            if buffer.is_empty() { core::ptr::null_mut() } else { buffer.as_mut_ptr().cast() };
        irp.Tail.Overlay.__bindgen_anon_2.__bindgen_anon_1.CurrentStackLocation = &mut *stack;
        DeviceControlIrp { irp, stack, buffer }
    }

    /// A METHOD_NEITHER request as the I/O manager passes it: the caller's
    /// own addresses, unchecked (`Type3InputBuffer`, `Irp->UserBuffer`),
    /// no system buffer. `code` should have METHOD_NEITHER (3) in its low
    /// bits.
    pub fn neither(code: u32, input: usize, input_len: usize, output: usize, output_len: usize) -> DeviceControlIrp {
        let mut irp = DeviceControlIrp::buffered(code, &[], 0);
        // SAFETY: the DeviceIoControl member is the one `buffered` wrote
        // (plain data: every field initialised).
        let parameters = unsafe { &mut irp.stack.Parameters.DeviceIoControl };
        parameters.InputBufferLength = input_len as u32;
        parameters.OutputBufferLength = output_len as u32;
        parameters.Type3InputBuffer = input as *mut core::ffi::c_void;
        irp.irp.UserBuffer = output as *mut core::ffi::c_void;
        irp
    }

    /// A METHOD_IN_DIRECT or METHOD_OUT_DIRECT request as Windows' I/O
    /// manager builds it, in the current thread's process (the requester):
    /// the input in a system buffer of exactly `input.len()` bytes (NULL for
    /// none), and, for an output buffer of `output_len` bytes at `output`
    /// (a user address), `Irp->MdlAddress`: an MDL of it (`IoAllocateMdl`,
    /// a fallible call of the model) probed and locked in user mode
    /// (`MmProbeAndLockPages`: for reading with IN_DIRECT, for writing with
    /// OUT_DIRECT). No MDL for an empty output buffer. The drop is the
    /// completion's part: it unlocks and frees the MDL (drop the request
    /// while the kernel is attached to the thread).
    ///
    /// Errors (the request never reaches the driver, as `DeviceIoControl`
    /// fails): `STATUS_INVALID_PARAMETER` for a `code` of another method,
    /// `STATUS_INSUFFICIENT_RESOURCES` when the MDL cannot be allocated,
    /// and what the probe raises (`STATUS_ACCESS_VIOLATION`).
    pub fn direct(code: u32, input: &[u8], output: usize, output_len: usize) -> Result<DeviceControlIrp, NtStatus> {
        let operation = match code & 3 {
            METHOD_IN_DIRECT => _LOCK_OPERATION::IoReadAccess,
            METHOD_OUT_DIRECT => _LOCK_OPERATION::IoWriteAccess,
            _ => return Err(NtStatus::INVALID_PARAMETER),
        };
        let mut irp = DeviceControlIrp::buffered(code, input, 0);
        irp.stack.Parameters.DeviceIoControl.OutputBufferLength = output_len as u32;
        if output_len == 0 {
            return Ok(irp);
        }
        let length = u32::try_from(output_len).map_err(|_| NtStatus::INVALID_PARAMETER)?;
        let irp_pointer = irp.as_ptr();
        // SAFETY: the IRP is valid; the MDL becomes its `MdlAddress`.
        let mdl = unsafe { sys::IoAllocateMdl(output as *mut _, length, 0, 0, irp_pointer) };
        if mdl.is_null() {
            return Err(NtStatus::INSUFFICIENT_RESOURCES);
        }
        // SAFETY: a fresh MDL of the caller's range; the call is under SEH.
        let probed = unsafe { sys::probe_and_lock_pages(mdl, _MODE::UserMode as i8, operation) };
        if let Err(status) = NtStatus::from_raw(probed).ok() {
            irp.irp.MdlAddress = core::ptr::null_mut();
            // SAFETY: the MDL allocated above, not locked, freed once.
            unsafe { sys::IoFreeMdl(mdl) };
            return Err(status);
        }
        Ok(irp)
    }

    /// The IRP, for the driver's dispatch routine.
    pub fn as_ptr(&self) -> *mut IRP {
        (&raw const *self.irp).cast_mut()
    }

    /// The IOCTL code.
    pub fn code(&self) -> u32 {
        // SAFETY: the DeviceIoControl member was written at construction.
        unsafe { self.stack.Parameters.DeviceIoControl.IoControlCode }
    }

    /// `(status, information)` once the driver completed the IRP.
    pub fn completion(&self) -> Option<(NtStatus, usize)> {
        (self.irp.CurrentLocation > self.irp.StackCount).then(|| {
            // SAFETY: the status member is the one the driver writes.
            let status = unsafe { self.irp.IoStatus.__bindgen_anon_1.Status };
            (NtStatus::from_raw(status), self.irp.IoStatus.Information as usize)
        })
    }

    /// What the I/O manager copies back to the caller: the first
    /// `Information` bytes of the system buffer (nothing before completion).
    pub fn output(&self) -> &[u8] {
        let written = self.completion().map_or(0, |(_, written)| written);
        &self.buffer[..written.min(self.buffer.len())]
    }
}

impl Drop for DeviceControlIrp {
    fn drop(&mut self) {
        let mdl: PMDL = self.irp.MdlAddress;
        if !mdl.is_null() {
            // SAFETY: the MDL `direct` allocated and locked (invariant); the
            // driver is done with it (its request ended with this IRP).
            unsafe {
                sys::MmUnlockPages(mdl);
                sys::IoFreeMdl(mdl);
            }
        }
    }
}
