//! The MDL IOCTLs: the I/O manager's MDL of METHOD_OUT_DIRECT and
//! METHOD_IN_DIRECT requests, the caller's raw METHOD_NEITHER buffers and a
//! pointer inside a request (probed in user mode under SEH: a bad pointer
//! is a status, never a bug check), and kernel buffers (non-paged pool, and
//! a kernel-mode probe).
//!
//! Under Wine the direct requests work (Wine pre-maps their MDL), while
//! everything this driver locks or builds itself maps to NULL:
//! `STATUS_INSUFFICIENT_RESOURCES`, after the crate's own checks of the
//! caller's range.

use wdm_mem::{
    NtResult, NtStatus,
    mdl::{AccessMode, Mdl, NonPagedMdl, PagePriority, ReadAccess, SystemMapping, WriteAccess, with_user_buffer},
    pool::{PoolBuffer, PoolType},
    pool_tag,
};

use crate::{
    direct_irp::{direct_mdl, neither_buffers},
    irp::DeviceControl,
    protocol::{MdlFillRequest, MdlKernelReply, MdlProbeRequest, MdlReply, MdlSumRequest, pattern_byte},
};

/// Bytes copied per step through a mapping.
const CHUNK: usize = 256;

/// A handler's result as the dispatch routine wants it: the byte count.
fn done(result: NtResult<usize>) -> (NtStatus, usize) {
    match result {
        Ok(written) => (NtStatus::SUCCESS, written),
        Err(status) => (status, 0),
    }
}

/// IOCTL_MDL_OUT_DIRECT.
pub fn out_direct_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    done((|| {
        let input = request.input::<MdlFillRequest>().filter(|input| input.reserved == [0; 7]);
        let fill = input.ok_or(NtStatus::INVALID_PARAMETER)?.fill;
        let mut mdl = direct_mdl::<WriteAccess>(request)?;
        let mut output = mdl.map(PagePriority::Normal)?;
        let mut chunk = [0u8; CHUNK];
        for start in (0..output.len()).step_by(CHUNK) {
            let part = &mut chunk[..CHUNK.min(output.len() - start)];
            for (i, byte) in part.iter_mut().enumerate() {
                *byte = pattern_byte(fill, start + i);
            }
            output.write_bytes(start, part)?;
        }
        Ok(output.len())
    })())
}

/// IOCTL_MDL_IN_DIRECT.
pub fn in_direct_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    done((|| {
        let expected = request.input::<MdlSumRequest>().ok_or(NtStatus::INVALID_PARAMETER)?.expected;
        let mut mdl = direct_mdl::<ReadAccess>(request)?;
        let input = mdl.map(PagePriority::Normal)?;
        if checksum(&input)? != expected {
            return Err(NtStatus::DATA_ERROR);
        }
        Ok(0)
    })())
}

/// IOCTL_MDL_NEITHER: the input copied reversed into the output.
pub fn neither_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    done((|| {
        let [(input, input_len), (output, output_len)] = neither_buffers(request)?;
        with_user_buffer::<ReadAccess, _>(input, input_len, PagePriority::Normal, |input| {
            with_user_buffer::<WriteAccess, _>(output, output_len, PagePriority::Normal, |output| {
                let len = input.len().min(output.len());
                for i in 0..len {
                    let byte = input.read::<u8>(len - 1 - i)?;
                    output.write(i, &byte)?;
                }
                Ok(len)
            })?
        })?
    })())
}

/// IOCTL_MDL_PROBE: the IOCTL succeeds; the reply carries the status.
pub fn probe_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    let Some(input) = request.input::<MdlProbeRequest>() else {
        return (NtStatus::INVALID_PARAMETER, 0);
    };
    let (address, len) = (input.address as usize, input.len as usize);
    let summed = if let Err(status) = crate::validate::check_probe(&input) {
        Err(status)
    } else if input.write != 0 {
        with_user_buffer::<WriteAccess, _>(address, len, PagePriority::Normal, |range| checksum(range))
    } else {
        with_user_buffer::<ReadAccess, _>(address, len, PagePriority::Normal, |range| checksum(range))
    };
    let reply = match summed.and_then(|sum| sum) {
        Ok(checksum) => MdlReply { status: 0, reserved: 0, checksum },
        Err(status) => MdlReply { status: status.to_raw(), ..MdlReply::default() },
    };
    request.reply(&reply)
}

/// IOCTL_MDL_KERNEL_BUFFERS: the IOCTL succeeds; the reply carries the
/// status of each path.
pub fn kernel_buffers_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    let reply = MdlKernelReply { built: status_of(built()), probed: status_of(probed()) };
    request.reply(&reply)
}

fn status_of(result: NtResult<()>) -> i32 {
    NtStatus::from(result).to_raw()
}

/// A non-paged pool buffer, described by `MmBuildMdlForNonPagedPool`; its
/// system address is the buffer itself.
fn built() -> NtResult<()> {
    let mut buffer = PoolBuffer::new(3000, 0, pool_tag!(b"WmsM"), PoolType::NonPagedNx)?;
    buffer.fill(0x5C);
    let address = buffer.as_ptr();
    let mut mdl = NonPagedMdl::for_pool_buffer(&mut buffer)?;
    let mapping = mdl.map(PagePriority::Normal)?;
    let coherent = mapping.as_ptr() == address && mapping.iter().all(|&byte| byte == 0x5C);
    if coherent { Ok(()) } else { Err(NtStatus::DATA_ERROR) }
}

/// A pool buffer probed and locked in kernel mode, written through its
/// system mapping.
fn probed() -> NtResult<()> {
    let mut buffer = PoolBuffer::new(5000, 0, pool_tag!(b"WmsM"), PoolType::Paged)?;
    {
        let mut locked = Mdl::new(&mut buffer)?.lock::<WriteAccess>(AccessMode::Kernel)?;
        let mut mapping = locked.map(PagePriority::Normal)?;
        mapping.fill(0x3E);
    }
    if buffer.iter().all(|&byte| byte == 0x3E) { Ok(()) } else { Err(NtStatus::DATA_ERROR) }
}

/// The sum of a mapping's bytes, read once each.
fn checksum<M: wdm_mem::mdl::Memory, A: wdm_mem::mdl::LockAccess>(range: &SystemMapping<'_, M, A>) -> NtResult<u64> {
    let mut chunk = [0u8; CHUNK];
    let mut sum = 0u64;
    for start in (0..range.len()).step_by(CHUNK) {
        let part = &mut chunk[..CHUNK.min(range.len() - start)];
        range.read_bytes(start, part)?;
        sum += part.iter().map(|&byte| u64::from(byte)).sum::<u64>();
    }
    Ok(sum)
}
