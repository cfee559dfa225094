//! The IOCTLs of the caller's memory without an MDL and of driver pages
//! shared with it (issue 13): METHOD_NEITHER pointers made probed
//! [`UserSlice`]s in one step and copied under SEH, a secured output range
//! ([`SecuredUserSlice`](wdm_mem::user::SecuredUserSlice)), and fresh pages
//! mapped into the caller ([`UserMapping`](wdm_mem::mdl::UserMapping)).
//!
//! Under Wine the copies run (the driver host's copies of the caller's
//! buffers); securing answers `STATUS_NOT_SUPPORTED` and the mapping
//! `STATUS_PROCEDURE_NOT_FOUND` (no `MmAllocatePagesForMdlEx`).

use wdm_mem::{
    NtResult, NtStatus,
    mdl::{PagePriority, PageRequest, PagesMdl},
    user::{SecureAccess, UserSlice},
};

use crate::{
    irp::DeviceControl,
    protocol::{USER_MAP_BYTES, USER_MAP_WORD, USER_SECURE_BYTE, UserMapReply},
};

/// Bytes copied per step.
const CHUNK: usize = 256;

/// The request's two METHOD_NEITHER buffers as probed slices.
fn slices(request: &DeviceControl) -> NtResult<[UserSlice; 2]> {
    let [input, output] = request.request().neither_buffers()?;
    Ok([UserSlice::from_pointer(input, 1)?, UserSlice::from_pointer(output, 1)?])
}

fn done(result: NtResult<usize>) -> (NtStatus, usize) {
    match result {
        Ok(written) => (NtStatus::SUCCESS, written),
        Err(status) => (status, 0),
    }
}

/// IOCTL_USER_COPY: the input reversed into the output, chunk by chunk.
pub fn copy_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    done((|| {
        let [input, output] = slices(request)?;
        let len = input.len().min(output.len());
        let mut chunk = [0u8; CHUNK];
        let mut done = 0;
        while done < len {
            let part = CHUNK.min(len - done);
            // The input's bytes `len - done - part .. len - done`, reversed,
            // go to the output at `done`.
            input.read_into(len - done - part, &mut chunk[..part])?;
            chunk[..part].reverse();
            output.write_from(done, &chunk[..part])?;
            done += part;
        }
        Ok(len)
    })())
}

/// IOCTL_USER_SECURE: the output secured, filled through the guard,
/// released.
pub fn secure_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    done((|| {
        let [_, output] = slices(request)?;
        let secured = output.secure(SecureAccess::ReadWrite)?;
        let chunk = [USER_SECURE_BYTE; CHUNK];
        for start in (0..secured.len()).step_by(CHUNK) {
            secured.write_from(start, &chunk[..CHUNK.min(secured.len() - start)])?;
        }
        let len = secured.len();
        secured.release().map_err(|(_, status)| status)?;
        Ok(len)
    })())
}

/// The steps of IOCTL_USER_MAP: the word read through the caller's mapping
/// and the bytes mapped.
fn share_pages() -> NtResult<(u32, usize)> {
    let mut pages = PagesMdl::allocate(&PageRequest::new(USER_MAP_BYTES))?;
    pages.map(PagePriority::Normal)?.write(0, &USER_MAP_WORD)?;
    let mapping = pages.map_user(PagePriority::Normal)?;
    // What the caller sees at its address, read as the caller's memory.
    let word = UserSlice::new(mapping.address(), mapping.len(), 4)?.read::<u32>(0);
    let mapped = mapping.len();
    mapping.unmap().map_err(|(_, status)| status)?;
    Ok((word?, mapped))
}

/// IOCTL_USER_MAP: the IOCTL succeeds; the reply carries the status.
pub fn map_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    let reply = match share_pages() {
        Ok((word, mapped)) => UserMapReply { status: 0, word, mapped: mapped as u32, reserved: 0 },
        Err(status) => UserMapReply { status: status.to_raw(), ..UserMapReply::default() },
    };
    request.reply(&reply)
}
