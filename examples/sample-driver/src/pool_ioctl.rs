//! The pool IOCTLs: allocate a buffer through wdm-mem, fill it, check it,
//! free it, and report the crate's pool statistics.

use wdm_mem::{
    NtStatus,
    pool::{self, PoolBuffer, PoolType},
    pool_tag,
};

use crate::{
    irp::DeviceControl,
    protocol::{PoolReply, PoolRequest},
};

/// IOCTL_POOL_ROUNDTRIP.
pub fn roundtrip_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    let Some(input) = request.input::<PoolRequest>() else {
        return (NtStatus::INVALID_PARAMETER, 0);
    };
    match roundtrip(&input) {
        Ok(reply) => request.reply(&reply),
        Err(status) => (status, 0),
    }
}

/// IOCTL_POOL_STATS.
pub fn stats_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    request.reply(&with_stats(PoolReply::default()))
}

/// One allocation of the requested size and alignment, filled and summed.
pub fn roundtrip(request: &PoolRequest) -> Result<PoolReply, NtStatus> {
    crate::validate::check_pool(request)?;
    let size = request.size as usize;
    let align = request.align as usize;
    let mut buffer = PoolBuffer::new(size, align, pool_tag!(b"WmsP"), PoolType::NonPagedNx)?;
    let was_zeroed = buffer.iter().all(|&byte| byte == 0);
    buffer.fill(request.fill);
    let checksum = buffer.iter().map(|&byte| u64::from(byte)).sum();
    let misalignment = (buffer.as_ptr() as usize % align.max(1)) as u64;
    drop(buffer);
    Ok(with_stats(PoolReply {
        checksum,
        misalignment,
        size: request.size,
        was_zeroed: was_zeroed.into(),
        ..PoolReply::default()
    }))
}

fn with_stats(reply: PoolReply) -> PoolReply {
    let stats = pool::stats();
    PoolReply { outstanding_allocations: stats.allocations as u64, outstanding_bytes: stats.bytes as u64, ..reply }
}
