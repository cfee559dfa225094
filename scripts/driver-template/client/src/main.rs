//! `{{name}}-client`: opens the driver's device, sends IOCTL_FILL and checks
//! the reply. Prints `PASS ...` and exits 0, or `FAIL ...` and exits 1.

#[path = "../../src/protocol.rs"]
#[allow(dead_code)]
mod protocol;

#[cfg(windows)]
fn main() {
    use core::{mem::size_of, ptr};
    use protocol::{DEVICE_PATH, FillReply, FillRequest, IOCTL_FILL, expected_checksum};
    use windows_sys::Win32::{
        Foundation::{CloseHandle, GENERIC_READ, GENERIC_WRITE, GetLastError, INVALID_HANDLE_VALUE},
        Storage::FileSystem::{CreateFileW, FILE_ATTRIBUTE_NORMAL, OPEN_EXISTING},
        System::IO::DeviceIoControl,
    };

    let wide: Vec<u16> = DEVICE_PATH.encode_utf16().chain(Some(0)).collect();
    // SAFETY: `wide` is NUL-terminated and outlives the call; NULL pointers
    // are accepted for the security attributes and the template.
    let device = unsafe {
        CreateFileW(
            wide.as_ptr(),
            GENERIC_READ | GENERIC_WRITE,
            0,
            ptr::null(),
            OPEN_EXISTING,
            FILE_ATTRIBUTE_NORMAL,
            ptr::null_mut(),
        )
    };
    if device == INVALID_HANDLE_VALUE {
        // SAFETY: no precondition.
        println!("FAIL open {DEVICE_PATH}: win32 error {}", unsafe { GetLastError() });
        std::process::exit(1);
    }
    let mut failed = false;
    for served in 1..=3u64 {
        let request = FillRequest { len: 4096 * served as u32, byte: 0x5A };
        let mut reply = FillReply::default();
        let mut returned = 0u32;
        // SAFETY: the handle is open; both buffers are valid for their sizes
        // for the whole synchronous call.
        let ok = unsafe {
            DeviceIoControl(
                device,
                IOCTL_FILL,
                (&raw const request).cast(),
                size_of::<FillRequest>() as u32,
                (&raw mut reply).cast(),
                size_of::<FillReply>() as u32,
                &mut returned,
                ptr::null_mut(),
            )
        };
        let want = FillReply { checksum: expected_checksum(&request), served };
        if ok == 0 {
            // SAFETY: no precondition.
            println!("FAIL fill {request:?}: win32 error {}", unsafe { GetLastError() });
            failed = true;
        } else if returned as usize != size_of::<FillReply>() || reply != want {
            println!("FAIL fill {request:?}: {returned} bytes, {reply:?}, want {want:?}");
            failed = true;
        } else {
            println!("PASS fill {} bytes of {:#x}: checksum {}, request {}", request.len, request.byte, reply.checksum, reply.served);
        }
    }
    // SAFETY: the handle is open and closed once.
    unsafe { CloseHandle(device) };
    std::process::exit(i32::from(failed));
}

#[cfg(not(windows))]
fn main() {
    let _ = protocol::IOCTL_FILL;
    eprintln!("{{name}}-client talks to the driver on Windows or under Wine: `cargo xtask run`");
    std::process::exit(2);
}
