//! Checks of the MDL, I/O-space and address IOCTLs.
//!
//! Windows and Wine 8 answer some of them differently, and each check knows
//! both answers exactly:
//! - the direct requests (METHOD_OUT_DIRECT, METHOD_IN_DIRECT) work on both:
//!   Wine's I/O manager hands the driver a pre-mapped MDL of a copy of the
//!   caller's buffer, and copies it back;
//! - whatever the driver locks or builds itself maps to NULL under Wine
//!   (`MmMapLockedPagesSpecifyCache`), and `MmMapIoSpace` returns NULL: the
//!   driver answers `STATUS_INSUFFICIENT_RESOURCES` (Win32 error 1450) where
//!   Windows succeeds or, for an unmapped or read-only caller range, answers
//!   `STATUS_ACCESS_VIOLATION` (Wine's probe accepts anything);
//! - the crate checks NULL, kernel, wrapping, empty and oversized ranges
//!   itself, so those statuses are the same on both.
//!
//! Against the real device the kernel is known (Wine exports
//! `wine_get_version` from ntdll) and its answers are required; against a
//! fake, either kernel's answers are accepted, all from the same kernel.
//! The Windows answers are what the crate and the kernel model give; they
//! have not been run on Windows here.

use crate::protocol::{
    AddressReply, IO_SPACE_PAGE, IOCTL_ADDRESS_QUERY, IOCTL_IO_SPACE_READ, IOCTL_MDL_IN_DIRECT,
    IOCTL_MDL_KERNEL_BUFFERS, IOCTL_MDL_NEITHER, IOCTL_MDL_OUT_DIRECT, IOCTL_MDL_PROBE, IOCTL_POOL_STATS, IoSpaceReply,
    IoSpaceRequest, MdlFillRequest, MdlKernelReply, MdlProbeRequest, MdlReply, MdlSumRequest, PoolReply, io_space_word,
    pattern_byte,
};
use crate::{Driver, ERROR_INVALID_PARAMETER, as_bytes, ioctl, memory_checks::ERROR_NO_SYSTEM_RESOURCES};

/// Win32 `ERROR_CRC`: `STATUS_DATA_ERROR` out of `DeviceIoControl`.
const ERROR_CRC: u32 = 23;
const ACCESS_VIOLATION: i32 = 0xC000_0005_u32 as i32;
const INVALID_PARAMETER: i32 = 0xC000_000D_u32 as i32;
const INSUFFICIENT_RESOURCES: i32 = 0xC000_009A_u32 as i32;
/// `STATUS_DATATYPE_MISALIGNMENT_ERROR`: the crate's misalignment error (an NT_ERROR,
/// not the warning `STATUS_DATATYPE_MISALIGNMENT`).
const DATATYPE_MISALIGNMENT_ERROR: i32 = 0xC000_02C5_u32 as i32;
/// A user address no process has mapped (below the 128 TiB user space end).
const UNMAPPED: u64 = 0x7000_0000_0000;
const KERNEL: u64 = 0xFFFF_8000_0000_0000;
/// What the crate refuses to describe: 4 GiB minus a page is the limit.
const TOO_LONG: u64 = 5 << 30;

/// The kernel whose answers a check got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kernel {
    Windows,
    Wine,
}

/// Compares `got` with what Windows and Wine answer: the driver's kernel's
/// when it is known, else whichever matches in full.
pub(crate) fn expect_kernel<T: PartialEq + core::fmt::Debug>(
    driver: &dyn Driver,
    got: &[T],
    windows: &[T],
    wine: &[T],
) -> Result<Kernel, String> {
    let kernels = match driver.kernel_is_wine() {
        Some(true) => &[Kernel::Wine][..],
        Some(false) => &[Kernel::Windows][..],
        None => &[Kernel::Windows, Kernel::Wine][..],
    };
    let expected = |kernel| if kernel == Kernel::Wine { wine } else { windows };
    kernels
        .iter()
        .copied()
        .find(|&kernel| got == expected(kernel))
        .ok_or_else(|| format!("got {got:?}, expected {:?} ({:?})", expected(kernels[0]), kernels[0]))
}

/// The output buffer is filled through the I/O manager's MDL (5000 bytes:
/// two pages); no output buffer is refused. Both kernels.
pub fn mdl_out_direct_fills_caller_buffer(driver: &dyn Driver) -> Result<String, String> {
    let request = MdlFillRequest { fill: 0x21, reserved: [0; 7] };
    let mut output = vec![0u8; 5000];
    let written = driver.device_io_control(IOCTL_MDL_OUT_DIRECT, as_bytes(&request), &mut output);
    if written != Ok(output.len()) {
        return Err(format!("{written:?}, expected Ok({})", output.len()));
    }
    if let Some(at) = output.iter().enumerate().position(|(i, &byte)| byte != pattern_byte(request.fill, i)) {
        return Err(format!("byte {at} is {:#04x}", output[at]));
    }
    let empty = driver.device_io_control(IOCTL_MDL_OUT_DIRECT, as_bytes(&request), &mut []);
    if empty != Err(ERROR_INVALID_PARAMETER) {
        return Err(format!("no output buffer: {empty:?}, expected win32 error 87"));
    }
    Ok("5000 bytes filled through Irp->MdlAddress; no buffer: win32 error 87".into())
}

/// The second buffer is read through the I/O manager's MDL: the right sum
/// succeeds, a wrong one is `STATUS_DATA_ERROR`. Both kernels.
pub fn mdl_in_direct_reads_caller_buffer(driver: &dyn Driver) -> Result<String, String> {
    let mut data: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
    let sum: u64 = data.iter().map(|&byte| u64::from(byte)).sum();
    let right = driver.device_io_control(IOCTL_MDL_IN_DIRECT, as_bytes(&MdlSumRequest { expected: sum }), &mut data);
    let wrong =
        driver.device_io_control(IOCTL_MDL_IN_DIRECT, as_bytes(&MdlSumRequest { expected: sum + 1 }), &mut data);
    match (right, wrong) {
        (Ok(_), Err(ERROR_CRC)) => {
            Ok(format!("sum {sum:#x} read through Irp->MdlAddress; a wrong sum: win32 error 23"))
        }
        other => Err(format!("{other:?}, expected (Ok, Err({ERROR_CRC}))")),
    }
}

/// The caller's raw buffers are probed, locked and mapped: the input comes
/// back reversed on Windows; Wine cannot map them (1450).
pub fn mdl_neither_locks_caller_buffers(driver: &dyn Driver) -> Result<String, String> {
    let input = *b"wdm-mem neither!";
    let mut output = [0u8; 16];
    let got = driver.device_io_control(IOCTL_MDL_NEITHER, &input, &mut output).map(|n| (n, output));
    let mut reversed = input;
    reversed.reverse();
    let kernel = expect_kernel(driver, &[got], &[Ok((16, reversed))], &[Err(ERROR_NO_SYSTEM_RESOURCES)])?;
    Ok(match kernel {
        Kernel::Windows => "input reversed into the output through two locked MDLs".into(),
        Kernel::Wine => "probed (Wine's probe accepts), mapping NULL: win32 error 1450, as under Wine".into(),
    })
}

/// Ranges named inside a request: the caller's own memory, and every kind
/// of bad pointer. Each is a status in the reply, never a crash.
pub fn mdl_probe_bad_pointers(driver: &dyn Driver) -> Result<String, String> {
    let own = [3u8; 100];
    static READ_ONLY: [u8; 64] = [1; 64];
    let cases = [
        (own.as_ptr() as u64, 100, 0),
        (0, 16, 0),
        (KERNEL, 16, 0),
        (u64::MAX - 8, 16, 0),
        (own.as_ptr() as u64, 0, 0),
        (own.as_ptr() as u64, TOO_LONG, 0),
        (UNMAPPED, 16, 0),
        (READ_ONLY.as_ptr() as u64, 64, 1),
    ];
    let mut got = Vec::new();
    for (address, len, write) in cases {
        let request = MdlProbeRequest { address, len, write, reserved: 0 };
        let reply: MdlReply = ioctl(driver, IOCTL_MDL_PROBE, Some(&request)).map_err(|e| e.to_string())?;
        got.push((reply.status, reply.checksum));
    }
    let common = [
        (ACCESS_VIOLATION, 0),
        (ACCESS_VIOLATION, 0),
        (ACCESS_VIOLATION, 0),
        (INVALID_PARAMETER, 0),
        (INVALID_PARAMETER, 0),
    ];
    let windows = [&[(0, 300)][..], &common, &[(ACCESS_VIOLATION, 0), (ACCESS_VIOLATION, 0)]].concat();
    let wine =
        [&[(INSUFFICIENT_RESOURCES, 0)][..], &common, &[(INSUFFICIENT_RESOURCES, 0), (INSUFFICIENT_RESOURCES, 0)]]
            .concat();
    let kernel = expect_kernel(driver, &got, &windows, &wine)?;
    Ok(format!(
        "{} ranges: NULL, kernel, wrapping -> STATUS_ACCESS_VIOLATION; empty, 5 GiB -> STATUS_INVALID_PARAMETER; \
         own, unmapped, read-only for writing -> {}",
        cases.len(),
        if kernel == Kernel::Wine {
            "STATUS_INSUFFICIENT_RESOURCES (Wine maps nothing)"
        } else {
            "locked / STATUS_ACCESS_VIOLATION"
        }
    ))
}

/// Kernel buffers: non-paged pool built, paged pool probed in kernel mode.
pub fn mdl_kernel_buffers(driver: &dyn Driver) -> Result<String, String> {
    let reply: MdlKernelReply = ioctl::<(), _>(driver, IOCTL_MDL_KERNEL_BUFFERS, None).map_err(|e| e.to_string())?;
    let kernel = expect_kernel(
        driver,
        &[(reply.built, reply.probed)],
        &[(0, 0)],
        &[(INSUFFICIENT_RESOURCES, INSUFFICIENT_RESOURCES)],
    )?;
    Ok(format!(
        "MmBuildMdlForNonPagedPool: {:#010x}, kernel-mode probe: {:#010x}, as {kernel:?} answers",
        reply.built, reply.probed
    ))
}

/// The driver's own page mapped by physical address; bad sizes and offsets.
/// Windows may also refuse to map RAM (1450 everywhere, like Wine).
pub fn io_space_statuses(driver: &dyn Driver) -> Result<String, String> {
    let cases =
        [(IO_SPACE_PAGE, 16), (0, 0), (2 * IO_SPACE_PAGE, 0), (IO_SPACE_PAGE, IO_SPACE_PAGE - 2), (IO_SPACE_PAGE, 2)];
    let mut got = Vec::new();
    for (len, offset) in cases {
        let reply: IoSpaceReply =
            ioctl(driver, IOCTL_IO_SPACE_READ, Some(&IoSpaceRequest { len, offset })).map_err(|e| e.to_string())?;
        got.push((reply.status, reply.value));
    }
    let bad_size = [(INVALID_PARAMETER, 0), (INVALID_PARAMETER, 0)];
    let mapped =
        [&[(0, io_space_word(16))][..], &bad_size, &[(INVALID_PARAMETER, 0), (DATATYPE_MISALIGNMENT_ERROR, 0)]]
            .concat();
    let unmapped = [&[(INSUFFICIENT_RESOURCES, 0)][..], &bad_size, &[(INSUFFICIENT_RESOURCES, 0); 2]].concat();
    let kernel = expect_kernel(driver, &got, &mapped, &unmapped)?;
    Ok(match kernel {
        Kernel::Windows => "register read back; size 0 or > 1 page, offset past the end, misaligned: refused".into(),
        Kernel::Wine => {
            "size 0 or > 1 page: win32 87; mapping NULL (no MmMapIoSpaceEx, MmMapIoSpace NULL): 1450".into()
        }
    })
}

/// `MmIsAddressValid` and `MmGetPhysicalAddress` of a pool buffer and NULL.
pub fn address_checks(driver: &dyn Driver) -> Result<String, String> {
    let reply: AddressReply = ioctl::<(), _>(driver, IOCTL_ADDRESS_QUERY, None).map_err(|e| e.to_string())?;
    let expected = AddressReply { pool_valid: 1, null_valid: 0, pool_physical_known: 1, null_physical_known: 0 };
    if reply != expected {
        return Err(format!("{reply:?}, expected {expected:?}"));
    }
    Ok("pool buffer valid with a physical address; NULL neither".into())
}

/// After every MDL and I/O-space IOCTL, bad pointers included, the driver
/// (and `winedevice.exe`) still answers, with no pool allocation left.
pub fn mdl_driver_survived(driver: &dyn Driver) -> Result<String, String> {
    let reply: PoolReply = ioctl::<(), _>(driver, IOCTL_POOL_STATS, None).map_err(|e| e.to_string())?;
    if reply.outstanding_allocations != 0 {
        return Err(format!("{} pool allocations outstanding", reply.outstanding_allocations));
    }
    Ok("the driver still answers: no crash, no pool left by the MDL and I/O-space IOCTLs".into())
}

/// The fake driver's answer to the IOCTLs of this module (`None` for
/// others), as Windows or, with `wine`, as Wine answers them.
#[cfg(test)]
pub fn fake_reply(code: u32, input: &[u8], output: &[u8], wine: bool) -> Option<Result<Vec<u8>, u32>> {
    let field = |at: usize| u64::from_le_bytes(input[at..at + 8].try_into().unwrap());
    let reply = match code {
        IOCTL_MDL_OUT_DIRECT if output.is_empty() => Err(ERROR_INVALID_PARAMETER),
        IOCTL_MDL_OUT_DIRECT => Ok((0..output.len()).map(|i| pattern_byte(input[0], i)).collect()),
        IOCTL_MDL_IN_DIRECT => {
            let sum: u64 = output.iter().map(|&byte| u64::from(byte)).sum();
            if sum == field(0) { Ok(Vec::new()) } else { Err(ERROR_CRC) }
        }
        IOCTL_MDL_NEITHER if wine => Err(ERROR_NO_SYSTEM_RESOURCES),
        IOCTL_MDL_NEITHER => Ok(input.iter().rev().copied().collect()),
        IOCTL_MDL_PROBE => {
            let (address, len, write) = (field(0), field(8), input[16] != 0);
            let status = match () {
                _ if len == 0 || len >= 1 << 32 => INVALID_PARAMETER,
                _ if address < 0x1_0000 || address.checked_add(len).is_none_or(|end| end > 0x7FFF_FFFF_0000) => {
                    ACCESS_VIOLATION
                }
                _ if wine => INSUFFICIENT_RESOURCES,
                _ if write || address == UNMAPPED => ACCESS_VIOLATION,
                _ => 0,
            };
            // SAFETY: the checks pass their own readable buffer for the one
            // range a Windows probe locks.
            let sum = (status == 0).then(|| unsafe { core::slice::from_raw_parts(address as *const u8, len as usize) });
            let checksum = sum.map_or(0, |bytes| bytes.iter().map(|&byte| u64::from(byte)).sum());
            Ok(as_bytes(&MdlReply { status, reserved: 0, checksum }).to_vec())
        }
        IOCTL_MDL_KERNEL_BUFFERS => {
            let status = if wine { INSUFFICIENT_RESOURCES } else { 0 };
            Ok(as_bytes(&MdlKernelReply { built: status, probed: status }).to_vec())
        }
        IOCTL_IO_SPACE_READ => {
            let (len, offset) = (field(0), field(8));
            let (status, value) = match () {
                _ if len == 0 || len > IO_SPACE_PAGE => (INVALID_PARAMETER, 0),
                _ if wine => (INSUFFICIENT_RESOURCES, 0),
                _ if offset + 4 > len => (INVALID_PARAMETER, 0),
                _ if offset % 4 != 0 => (DATATYPE_MISALIGNMENT_ERROR, 0),
                _ => (0, io_space_word(offset)),
            };
            Ok(as_bytes(&IoSpaceReply { status, value }).to_vec())
        }
        IOCTL_ADDRESS_QUERY => {
            Ok(as_bytes(&AddressReply { pool_valid: 1, null_valid: 0, pool_physical_known: 1, null_physical_known: 0 })
                .to_vec())
        }
        _ => return None,
    };
    Some(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_kernel_must_give_its_own_answers() {
        crate::known_kernel::assert_own_answers_required(
            &[mdl_neither_locks_caller_buffers, mdl_probe_bad_pointers, mdl_kernel_buffers, io_space_statuses],
            fake_reply,
        );
    }

    #[test]
    fn protocol_layouts_are_fixed() {
        use core::mem::size_of;
        assert_eq!([size_of::<MdlFillRequest>(), size_of::<MdlSumRequest>(), size_of::<MdlProbeRequest>()], [8, 8, 24]);
        assert_eq!(
            [
                size_of::<MdlReply>(),
                size_of::<MdlKernelReply>(),
                size_of::<IoSpaceRequest>(),
                size_of::<IoSpaceReply>()
            ],
            [16, 8, 16, 8]
        );
        assert_eq!(size_of::<AddressReply>(), 16);
    }
}
