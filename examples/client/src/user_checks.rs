//! Checks of the user-memory IOCTLs of issue 13: METHOD_NEITHER buffers
//! copied through probed user slices (both kernels), a secured output range
//! (Windows; `STATUS_NOT_SUPPORTED` under Wine, whose routines are stubs) and
//! driver pages mapped into this process (Windows;
//! `STATUS_PROCEDURE_NOT_FOUND` under Wine, which lacks
//! `MmAllocatePagesForMdlEx`). As in `mdl_checks`, the kernel's own answers
//! are required against the real device; the Windows answers are what the
//! crate and the kernel model give, not run on Windows here.

use crate::mdl_checks::{Kernel, expect_kernel};
use crate::paging_checks::ERROR_NOT_SUPPORTED;
use crate::protocol::{
    IOCTL_USER_COPY, IOCTL_USER_MAP, IOCTL_USER_SECURE, USER_MAP_BYTES, USER_MAP_WORD, USER_SECURE_BYTE, UserMapReply,
};
use crate::{Driver, ERROR_INVALID_PARAMETER, ioctl};

/// `STATUS_PROCEDURE_NOT_FOUND`.
const PROCEDURE_NOT_FOUND: i32 = 0xC000_007A_u32 as i32;

/// 600 bytes (three of the driver's chunks) reversed from the input into
/// the output through probed copies; an empty buffer is refused. Both
/// kernels.
pub fn user_copy_reverses_caller_buffers(driver: &dyn Driver) -> Result<String, String> {
    let input: Vec<u8> = (0..600u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut output = vec![0u8; 600];
    let got = driver.device_io_control(IOCTL_USER_COPY, &input, &mut output);
    let reversed: Vec<u8> = input.iter().rev().copied().collect();
    if got != Ok(600) || output != reversed {
        return Err(format!("{got:?}, output reversed: {}", output == reversed));
    }
    let empty = driver.device_io_control(IOCTL_USER_COPY, &[], &mut output);
    if empty != Err(ERROR_INVALID_PARAMETER) {
        return Err(format!("an empty input: {empty:?}, expected Err({ERROR_INVALID_PARAMETER})"));
    }
    Ok("600 bytes reversed through ProbeForRead/ProbeForWrite copies under SEH; empty input refused".into())
}

/// The output secured, filled and released (Windows), or
/// `ERROR_NOT_SUPPORTED` (Wine).
pub fn user_secure_or_not_supported(driver: &dyn Driver) -> Result<String, String> {
    let mut output = vec![0u8; 5000];
    let got = driver.device_io_control(IOCTL_USER_SECURE, &[], &mut output).map(|n| (n, output.clone()));
    let filled = vec![USER_SECURE_BYTE; 5000];
    let kernel = expect_kernel(driver, &[got], &[Ok((5000, filled))], &[Err(ERROR_NOT_SUPPORTED)])?;
    Ok(match kernel {
        Kernel::Windows => "5000 bytes filled through a MmSecureVirtualMemory guard".into(),
        Kernel::Wine => "Wine's MmSecureVirtualMemory is a stub: STATUS_NOT_SUPPORTED".into(),
    })
}

/// Fresh pages mapped into this process and read back through the mapping
/// (Windows), or `STATUS_PROCEDURE_NOT_FOUND` in the reply (Wine).
pub fn user_map_or_procedure_not_found(driver: &dyn Driver) -> Result<String, String> {
    let reply: UserMapReply = ioctl(driver, IOCTL_USER_MAP, None::<&()>).map_err(|e| e.to_string())?;
    let windows = UserMapReply { status: 0, word: USER_MAP_WORD, mapped: USER_MAP_BYTES as u32, reserved: 0 };
    let wine = UserMapReply { status: PROCEDURE_NOT_FOUND, ..UserMapReply::default() };
    let kernel = expect_kernel(driver, &[reply], &[windows], &[wine])?;
    Ok(match kernel {
        Kernel::Windows => "the driver's word read back through this process's mapping of its pages".into(),
        Kernel::Wine => "no MmAllocatePagesForMdlEx under Wine: STATUS_PROCEDURE_NOT_FOUND".into(),
    })
}

/// The fake drivers' answers to these IOCTLs (`wine`: as Wine answers).
#[cfg(test)]
pub fn fake_reply(code: u32, input: &[u8], output: &[u8], wine: bool) -> Option<Result<Vec<u8>, u32>> {
    use crate::as_bytes;
    Some(match code {
        IOCTL_USER_COPY if input.is_empty() || output.is_empty() => Err(ERROR_INVALID_PARAMETER),
        IOCTL_USER_COPY => Ok(input.iter().rev().take(output.len()).copied().collect()),
        IOCTL_USER_SECURE if wine => Err(ERROR_NOT_SUPPORTED),
        IOCTL_USER_SECURE => Ok(vec![USER_SECURE_BYTE; output.len()]),
        IOCTL_USER_MAP if wine => {
            Ok(as_bytes(&UserMapReply { status: PROCEDURE_NOT_FOUND, ..UserMapReply::default() }).to_vec())
        }
        IOCTL_USER_MAP => {
            let reply = UserMapReply { status: 0, word: USER_MAP_WORD, mapped: USER_MAP_BYTES as u32, reserved: 0 };
            Ok(as_bytes(&reply).to_vec())
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::known_kernel::{Known, assert_own_answers_required};

    #[test]
    fn a_known_kernel_must_give_its_own_answers() {
        assert_own_answers_required(&[user_secure_or_not_supported, user_map_or_procedure_not_found], fake_reply);
        for is_wine in [false, true] {
            let known = Known { is_wine, answers_as_wine: is_wine, fake_reply };
            assert!(user_copy_reverses_caller_buffers(&known).is_ok());
        }
    }

    #[test]
    fn a_copy_that_is_not_reversed_fails() {
        struct Echo;
        impl Driver for Echo {
            fn device_io_control(&self, _: u32, input: &[u8], output: &mut [u8]) -> Result<usize, u32> {
                output[..input.len()].copy_from_slice(input);
                Ok(input.len())
            }
            fn read_named_section(&self, _: &str, _: usize) -> Result<Vec<u8>, u32> {
                Err(2)
            }
        }
        assert!(user_copy_reverses_caller_buffers(&Echo).is_err());
    }

    #[test]
    fn protocol_layout_is_fixed() {
        assert_eq!(core::mem::size_of::<UserMapReply>(), 16);
    }
}
