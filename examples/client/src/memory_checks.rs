//! Checks of the memory IOCTLs: a non-cached buffer (real under Wine), a
//! physically contiguous one within limits, and bad requests.
//!
//! Wine 8's `MmAllocateContiguousMemorySpecifyCache` returns NULL: the
//! driver then answers `STATUS_INSUFFICIENT_RESOURCES` (Win32 error 1450),
//! which is what [`memory_contiguous_or_unavailable`] expects there.

use crate::protocol::{
    IOCTL_MEMORY_CONTIGUOUS, IOCTL_MEMORY_NON_CACHED, MemoryReply, MemoryRequest, expected_checksum,
};
use crate::{Driver, ERROR_INVALID_PARAMETER, IoctlError, expect, ioctl};

/// Win32 `ERROR_NO_SYSTEM_RESOURCES`: `STATUS_INSUFFICIENT_RESOURCES` out of
/// `DeviceIoControl`.
pub const ERROR_NO_SYSTEM_RESOURCES: u32 = 1450;

const PAGE: u64 = 4096;
/// A buffer for a 32-bit device that must not cross 64 KiB.
const HIGHEST: u64 = 0xFFFF_FFFF;
const BOUNDARY: u64 = 0x1_0000;

fn request(size: u32, fill: u8, highest: u64, boundary: u64) -> MemoryRequest {
    MemoryRequest { size, fill, reserved: [0; 3], highest, boundary }
}

/// The fields every successful reply has.
fn check_buffer(reply: &MemoryReply, request: &MemoryRequest) -> Result<(), String> {
    expect("size", reply.size, request.size)?;
    expect("checksum", reply.checksum, expected_checksum(request.size, request.fill))?;
    expect("was_zeroed", reply.was_zeroed, 1)?;
    expect("misalignment", reply.misalignment, 0)?;
    if reply.physical_address == 0 {
        return Err("physical_address=0".into());
    }
    Ok(())
}

/// A non-cached buffer: page-aligned, zeroed, filled, with an address.
pub fn memory_non_cached(driver: &dyn Driver) -> Result<String, String> {
    let request = request(10_000, 0x3C, 0, 0);
    let reply: MemoryReply = ioctl(driver, IOCTL_MEMORY_NON_CACHED, Some(&request)).map_err(|e| e.to_string())?;
    check_buffer(&reply, &request)?;
    Ok(format!("size={} checksum={:#x} physical={:#x}", reply.size, reply.checksum, reply.physical_address))
}

/// A contiguous buffer below 4 GiB that does not cross 64 KiB, or exactly
/// `STATUS_INSUFFICIENT_RESOURCES` where the kernel has none (Wine).
pub fn memory_contiguous_or_unavailable(driver: &dyn Driver) -> Result<String, String> {
    let request = request(2 * PAGE as u32, 0x77, HIGHEST, BOUNDARY);
    match ioctl::<_, MemoryReply>(driver, IOCTL_MEMORY_CONTIGUOUS, Some(&request)) {
        Ok(reply) => {
            check_buffer(&reply, &request)?;
            let (start, end) = (reply.physical_address, reply.physical_address + u64::from(request.size) - 1);
            if end > HIGHEST || start / BOUNDARY != end / BOUNDARY {
                return Err(format!("physical range {start:#x}..={end:#x} outside the limits"));
            }
            Ok(format!("size={} physical={start:#x}..={end:#x}", reply.size))
        }
        Err(IoctlError::Win32(ERROR_NO_SYSTEM_RESOURCES)) => {
            Ok("no contiguous memory: STATUS_INSUFFICIENT_RESOURCES (win32 error 1450), as under Wine".into())
        }
        Err(other) => Err(format!("{other}, expected a reply or win32 error {ERROR_NO_SYSTEM_RESOURCES}")),
    }
}

/// 0 bytes, a boundary that is not a power of two, limits narrower than the
/// buffer: refused before any allocation.
pub fn memory_bad_requests(driver: &dyn Driver) -> Result<String, String> {
    let bad = [
        (IOCTL_MEMORY_NON_CACHED, request(0, 0, 0, 0)),
        (IOCTL_MEMORY_CONTIGUOUS, request(4096, 0, HIGHEST, 0x3000)),
        (IOCTL_MEMORY_CONTIGUOUS, request(8192, 0, 0xFFF, 0)),
    ];
    for (code, request) in bad {
        match ioctl::<_, MemoryReply>(driver, code, Some(&request)) {
            Err(IoctlError::Win32(ERROR_INVALID_PARAMETER)) => {}
            other => return Err(format!("{request:?}: {other:?}, expected win32 error 87")),
        }
    }
    Ok("3 bad requests refused with win32 error 87 (STATUS_INVALID_PARAMETER)".into())
}

/// How the sample driver answers, for the client's unit tests: Windows, or
/// Wine (`no_contiguous`).
#[cfg(test)]
pub fn fake_reply(code: u32, input: &[u8], no_contiguous: bool) -> Result<MemoryReply, u32> {
    let size = u32::from_le_bytes(input[0..4].try_into().unwrap());
    let field = |at: usize| u64::from_le_bytes(input[at..at + 8].try_into().unwrap());
    let (highest, boundary) = (field(8), field(16));
    let contiguous = code == IOCTL_MEMORY_CONTIGUOUS;
    let pages = u64::from(size).div_ceil(PAGE) * PAGE;
    let impossible = contiguous && (highest < pages - 1 || (boundary != 0 && !boundary.is_power_of_two()));
    if size == 0 || impossible {
        return Err(ERROR_INVALID_PARAMETER);
    }
    if contiguous && no_contiguous {
        return Err(ERROR_NO_SYSTEM_RESOURCES);
    }
    Ok(MemoryReply {
        checksum: expected_checksum(size, input[4]),
        physical_address: 0x10_0000,
        size,
        was_zeroed: 1,
        misalignment: 0,
        reserved: 0,
    })
}
