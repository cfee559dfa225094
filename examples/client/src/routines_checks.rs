//! Checks of issue 13's routines (one IOCTL): the `INIT` table DriverEntry
//! read, `HalTranslateBusAddress`, an MDL of fresh pages, a register block.
//!
//! Under Wine 8: the `INIT` sum is right (Wine never discards the section);
//! `HalTranslateBusAddress` is a stub (FALSE: `STATUS_UNSUCCESSFUL`);
//! `MmAllocatePagesForMdlEx` is absent (`STATUS_PROCEDURE_NOT_FOUND`);
//! `MmMapIoSpace` returns NULL (`STATUS_INSUFFICIENT_RESOURCES`). On Windows
//! the pages and the register block work, and the translation of ISA port
//! 0x300 succeeds or is `STATUS_UNSUCCESSFUL` (no ISA bus).

use crate::protocol::{INIT_TABLE, IOCTL_PAGING_CODE, IOCTL_ROUTINES_STATUS, RoutinesReply, page_code_result};
use crate::{Driver, ioctl};

const UNSUCCESSFUL: i32 = 0xC000_0001_u32 as i32;
const PROCEDURE_NOT_FOUND: i32 = 0xC000_007A_u32 as i32;
const INSUFFICIENT_RESOURCES: i32 = 0xC000_009A_u32 as i32;

/// Every part of [`RoutinesReply`] as the kernel answers it.
pub fn routines_statuses(driver: &dyn Driver) -> Result<String, String> {
    let reply: RoutinesReply = ioctl::<(), _>(driver, IOCTL_ROUTINES_STATUS, None).map_err(|e| e.to_string())?;
    let sum: u32 = INIT_TABLE.iter().sum();
    if reply.init_sum != sum {
        return Err(format!("init_sum={}, expected {sum}", reply.init_sum));
    }
    let wine = RoutinesReply {
        init_sum: sum,
        bus_status: UNSUCCESSFUL,
        pages_status: PROCEDURE_NOT_FOUND,
        pages_len: 0,
        register_buffer_status: INSUFFICIENT_RESOURCES,
        register_words_match: 0,
    };
    let windows_ok = reply.pages_status == 0
        && reply.pages_len == 2 * 4096
        && [0, INSUFFICIENT_RESOURCES].contains(&reply.register_buffer_status)
        && (reply.register_buffer_status != 0 || reply.register_words_match == 1)
        && [0, UNSUCCESSFUL].contains(&reply.bus_status);
    match driver.kernel_is_wine() {
        Some(true) if reply == wine => Ok(format!(
            "INIT sum {sum} read in DriverEntry; HalTranslateBusAddress stub: {UNSUCCESSFUL:#x}; \
             no MmAllocatePagesForMdlEx: {PROCEDURE_NOT_FOUND:#x}; MmMapIoSpace NULL: {INSUFFICIENT_RESOURCES:#x}"
        )),
        Some(false) if windows_ok => Ok(format!("{reply:?}")),
        None if reply == wine || windows_ok => Ok(format!("{reply:?}")),
        _ => Err(format!("{reply:?}, expected Wine's {wine:?} or Windows' answers")),
    }
}

/// A `pageable_fn!` run at DISPATCH_LEVEL under the `PAGE` code lock;
/// under Wine (its `MmLockPagableDataSection` aborts winedevice.exe) the
/// driver must refuse it with `STATUS_NOT_SUPPORTED`.
pub fn paging_code_unless_wine(driver: &dyn Driver) -> Result<String, String> {
    if driver.kernel_is_wine() == Some(true) {
        return crate::paging_checks::refused_under_wine(driver, &[IOCTL_PAGING_CODE]);
    }
    if driver.kernel_is_wine() != Some(false) {
        return Ok("not sent unless the kernel is known not to be Wine's (Wine aborts on the lock)".into());
    }
    let sum: u64 = ioctl::<(), _>(driver, IOCTL_PAGING_CODE, None).map_err(|e| e.to_string())?;
    if sum != page_code_result() {
        return Err(format!("sum={sum}, expected {}", page_code_result()));
    }
    Ok(format!("PAGE code ran at DISPATCH_LEVEL under the lock: {sum}"))
}

/// The fake driver's answer (host unit tests): Wine's, or Windows'.
#[cfg(test)]
pub fn fake_reply(wine: bool) -> RoutinesReply {
    let init_sum = INIT_TABLE.iter().sum();
    if wine {
        return RoutinesReply {
            init_sum,
            bus_status: UNSUCCESSFUL,
            pages_status: PROCEDURE_NOT_FOUND,
            register_buffer_status: INSUFFICIENT_RESOURCES,
            ..Default::default()
        };
    }
    RoutinesReply { init_sum, pages_len: 2 * 4096, register_words_match: 1, ..Default::default() }
}
