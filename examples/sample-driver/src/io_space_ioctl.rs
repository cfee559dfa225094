//! The I/O-space and address IOCTLs. The sample has no device of its own,
//! and mapping a physical address a caller chooses would let any process
//! read any memory: the I/O-space IOCTL maps only the driver's own
//! non-paged page, by the physical address `MmGetPhysicalAddress` gives,
//! cached like the pool that holds it, and reads one register-sized word
//! through the mapping.
//!
//! Under Wine `MmMapIoSpaceEx` does not exist and `MmMapIoSpace` returns
//! NULL: the read answers `STATUS_INSUFFICIENT_RESOURCES` (after the
//! crate's checks of the size). Recent Windows may refuse to map RAM this
//! way too (the same status); where it maps it, the word read is the one
//! the driver wrote.

use wdm_mem::{
    NtResult, NtStatus,
    address::{is_address_valid, physical_address},
    io_space::{CacheType, IoSpace},
    pool::{PoolBuffer, PoolType},
    pool_tag,
};

use crate::{
    irp::DeviceControl,
    protocol::{AddressReply, IO_SPACE_PAGE, IoSpaceReply, IoSpaceRequest, io_space_word},
};

/// IOCTL_IO_SPACE_READ: the IOCTL succeeds; the reply carries the status.
pub fn read_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    let Some(input) = request.input::<IoSpaceRequest>() else {
        return (NtStatus::INVALID_PARAMETER, 0);
    };
    let reply = match read(&input) {
        Ok(value) => IoSpaceReply { status: 0, value },
        Err(status) => IoSpaceReply { status: status.to_raw(), value: 0 },
    };
    request.reply(&reply)
}

fn read(input: &IoSpaceRequest) -> NtResult<u32> {
    if input.len > IO_SPACE_PAGE {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let mut page = PoolBuffer::new(IO_SPACE_PAGE as usize, 0, pool_tag!(b"WmsI"), PoolType::NonPagedNx)?;
    for (offset, word) in page.chunks_exact_mut(4).enumerate() {
        word.copy_from_slice(&io_space_word(offset as u64 * 4).to_le_bytes());
    }
    let physical = physical_address(page.as_ptr())?.ok_or(NtStatus::UNSUCCESSFUL)?;
    let registers = IoSpace::<0>::map(physical, input.len as usize, CacheType::Cached)?;
    registers.try_read32(input.offset as usize)
}

/// IOCTL_ADDRESS_QUERY.
pub fn address_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    let answer = || -> NtResult<AddressReply> {
        let pool = PoolBuffer::new(64, 0, pool_tag!(b"WmsI"), PoolType::NonPagedNx)?;
        let null = core::ptr::null::<u8>();
        Ok(AddressReply {
            pool_valid: is_address_valid(pool.as_ptr())?.into(),
            null_valid: is_address_valid(null)?.into(),
            pool_physical_known: physical_address(pool.as_ptr())?.is_some().into(),
            null_physical_known: physical_address(null)?.is_some().into(),
        })
    };
    match answer() {
        Ok(reply) => request.reply(&reply),
        Err(status) => (status, 0),
    }
}
