//! The memory IOCTLs: a non-cached buffer and a physically contiguous one,
//! each checked zeroed, filled, summed, located and freed.
//!
//! Under Wine the non-cached buffer is real (its "physical" address is its
//! virtual one); `MmAllocateContiguousMemorySpecifyCache` returns NULL, so
//! the contiguous request fails with `STATUS_INSUFFICIENT_RESOURCES` and
//! `MmFreeContiguousMemory`, which would abort Wine's driver process, is
//! never reached.

use wdm_mem::{
    NtResult, NtStatus,
    memory::{CacheType, ContiguousBuffer, NonCachedBuffer, PhysicalAddress, PhysicalLimits},
};

use crate::{
    irp::DeviceControl,
    protocol::{MemoryReply, MemoryRequest},
};

/// IOCTL_MEMORY_NON_CACHED.
pub fn non_cached_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    answer(request, |input| {
        let mut buffer = NonCachedBuffer::new(input.size as usize)?;
        let physical = buffer.physical_address(0).unwrap_or_default();
        Ok(exercise(&mut buffer, physical, input))
    })
}

/// IOCTL_MEMORY_CONTIGUOUS.
pub fn contiguous_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    answer(request, |input| {
        let limits = PhysicalLimits::below(PhysicalAddress::new(input.highest)).boundary(input.boundary);
        let mut buffer = ContiguousBuffer::new(input.size as usize, limits, CacheType::Cached)?;
        let physical = buffer.physical_address();
        Ok(exercise(&mut buffer, physical, input))
    })
}

fn answer(request: &DeviceControl, run: impl FnOnce(&MemoryRequest) -> NtResult<MemoryReply>) -> (NtStatus, usize) {
    let reply = match request.input::<MemoryRequest>() {
        Some(input) => crate::validate::check_memory(&input).and_then(|()| run(&input)),
        _ => Err(NtStatus::INVALID_PARAMETER),
    };
    match reply {
        Ok(reply) => request.reply(&reply),
        Err(status) => (status, 0),
    }
}

/// Checks the buffer is zeroed, fills and sums it.
fn exercise(buffer: &mut [u8], physical: PhysicalAddress, input: &MemoryRequest) -> MemoryReply {
    let was_zeroed = buffer.iter().all(|&byte| byte == 0);
    buffer.fill(input.fill);
    MemoryReply {
        checksum: buffer.iter().map(|&byte| u64::from(byte)).sum(),
        physical_address: physical.get(),
        size: buffer.len() as u32,
        was_zeroed: was_zeroed.into(),
        misalignment: (buffer.as_ptr() as usize % 4096) as u32,
        reserved: 0,
    }
}
