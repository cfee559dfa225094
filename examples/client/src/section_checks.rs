//! Checks of the section IOCTLs: three coherent views of one section, an
//! exclusive system-space view (refused under Wine), the statuses Windows
//! returns for bad input, and a named section created by the driver and read
//! here through `OpenFileMappingW`.

use crate::protocol::{
    IOCTL_SECTION_PUBLISH, IOCTL_SECTION_ROUNDTRIP, IOCTL_SECTION_UNPUBLISH, SECTION_MESSAGE, SECTION_USER_NAME,
    SectionReply, SectionRequest,
};
use crate::{Driver, expect, ioctl};

/// `STATUS_MAPPED_ALIGNMENT`, `STATUS_INVALID_VIEW_SIZE`, `STATUS_SECTION_PROTECTION`,
/// `STATUS_INVALID_PARAMETER_4`, as the driver reports them.
pub const MAPPED_ALIGNMENT: i32 = 0xC000_0220_u32 as i32;
pub const INVALID_VIEW_SIZE: i32 = 0xC000_001F_u32 as i32;
pub const SECTION_PROTECTION: i32 = 0xC000_004E_u32 as i32;
pub const INVALID_PARAMETER_4: i32 = 0xC000_00F3_u32 as i32;
/// `STATUS_ACCESS_VIOLATION`: a copy touching an uncommitted page.
pub const ACCESS_VIOLATION: i32 = 0xC000_0005_u32 as i32;
/// `STATUS_NOT_SUPPORTED`: what a system-space view is under Wine.
pub const NOT_SUPPORTED: i32 = 0xC000_00BB_u32 as i32;

const KB64: u64 = 0x1_0000;

fn roundtrip(driver: &dyn Driver, request: SectionRequest) -> Result<SectionReply, String> {
    ioctl(driver, IOCTL_SECTION_ROUNDTRIP, Some(&request)).map_err(|e| e.to_string())
}

fn request(section_size: u64, view_offset: u64, view_size: u64, read_only_section: u32) -> SectionRequest {
    SectionRequest { section_size, view_offset, view_size, read_only_section, fill: 0xA7, reserved: [0; 3] }
}

/// Three user views of a 128 KiB section: the read-only view at 64 KiB sees
/// the read-write view's write; the write-copy view's write stays private.
/// A write to an uncommitted page of a reserved view is caught by the SEH
/// copy (`STATUS_ACCESS_VIOLATION`; under Wine, which commits a reserved
/// view's pages when it maps them, it succeeds) and succeeds once committed. The
/// exclusive system-space view works, except under Wine, where it is
/// `STATUS_NOT_SUPPORTED`.
pub fn section_views_coherent(driver: &dyn Driver) -> Result<String, String> {
    let reply = roundtrip(driver, request(2 * KB64, KB64, 100, 0))?;
    expect("status", reply.status, 0)?;
    expect("coherent", reply.coherent, 1)?;
    expect("write_copy_private", reply.write_copy_private, 1)?;
    expect("mapped_size", reply.mapped_size, 4096)?;
    let system = match driver.kernel_is_wine() {
        Some(true) => NOT_SUPPORTED,
        Some(false) => 0,
        None if reply.system_view_status == NOT_SUPPORTED => NOT_SUPPORTED,
        None => 0,
    };
    expect("system_view_status", reply.system_view_status as u32, system as u32)?;
    // Wine commits every page of a reserved view when it maps it: the write
    // succeeds there.
    let reserved = match driver.kernel_is_wine() {
        Some(true) => 0,
        Some(false) => ACCESS_VIOLATION,
        None if reply.reserved_write_status == 0 => 0,
        None => ACCESS_VIOLATION,
    };
    expect("reserved_write_status", reply.reserved_write_status as u32, reserved as u32)?;
    expect("committed_write_status", reply.committed_write_status, 0)?;
    let system = if system == 0 { "system view used as a slice" } else { "system view STATUS_NOT_SUPPORTED (Wine)" };
    let reserved = if reserved == 0 {
        "reserved page writable before commit (Wine commits at map time)"
    } else {
        "uncommitted write caught as STATUS_ACCESS_VIOLATION"
    };
    Ok(format!(
        "rw->ro coherent, write-copy private, 100-byte view mapped as 4096; {reserved}, committed write ok; {system}"
    ))
}

/// Bad input gives the status Windows returns, and nothing else happens.
pub fn section_bad_input_statuses(driver: &dyn Driver) -> Result<String, String> {
    let cases = [
        ("misaligned offset", request(2 * KB64, 4096, 0, 0), MAPPED_ALIGNMENT),
        ("view past the end", request(KB64, 0, KB64 + 1, 0), INVALID_VIEW_SIZE),
        ("read-write view of a read-only section", request(KB64, 0, 0, 1), SECTION_PROTECTION),
        ("size zero", request(0, 0, 0, 0), INVALID_PARAMETER_4),
    ];
    for (what, input, status) in cases {
        let reply = roundtrip(driver, input)?;
        expect(what, reply.status as u32, status as u32)?;
    }
    Ok(format!("{} bad requests refused with the documented statuses", cases.len()))
}

/// The driver creates `\BaseNamedObjects\WdmMemSample` and writes a message;
/// this process opens it as `Global\WdmMemSample` and reads the message.
pub fn section_named_shared_with_user_mode(driver: &dyn Driver) -> Result<String, String> {
    let reply: SectionReply = ioctl::<(), _>(driver, IOCTL_SECTION_PUBLISH, None).map_err(|e| e.to_string())?;
    expect("publish status", reply.status, 0)?;
    let read = driver.read_named_section(SECTION_USER_NAME, SECTION_MESSAGE.len());
    let reply: SectionReply = ioctl::<(), _>(driver, IOCTL_SECTION_UNPUBLISH, None).map_err(|e| e.to_string())?;
    let bytes =
        read.map_err(|code| format!("OpenFileMappingW/MapViewOfFile({SECTION_USER_NAME}): win32 error {code}"))?;
    expect("unpublish status", reply.status, 0)?;
    if bytes != SECTION_MESSAGE {
        return Err(format!("read {:?}", String::from_utf8_lossy(&bytes)));
    }
    let gone = driver.read_named_section(SECTION_USER_NAME, 1);
    if gone.is_ok() {
        return Err("the section still exists after the driver closed it".into());
    }
    Ok(format!("read {:?} from {SECTION_USER_NAME}; gone after unpublish", String::from_utf8_lossy(&bytes)))
}
