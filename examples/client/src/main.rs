//! `wdm-mem-client [--json]`: the user-mode half of the wdm-mem end-to-end test.
//!
//! Opens `\\.\WdmMemSample` (the sample driver's symbolic link), runs every
//! check of [`CHECKS`] in order and prints one line per check:
//!
//! ```text
//! PASS <name> <details>
//! FAIL <name> <status/details>
//! N passed, M failed
//! ```
//!
//! With `--json` each line is a JSON object instead (JSON Lines):
//! `{"check":"<name>","pass":true,"details":"..."}` and, last,
//! `{"passed":N,"failed":M}`.
//!
//! The exit code is 0 only if every check passed (1 otherwise, 2 for a usage
//! error). The wire protocol is the driver's own `protocol.rs`, included here
//! by path so that the two can never disagree.
//!
//! Adding a check: write a `fn(&dyn Driver) -> Result<String, String>` (the
//! `Ok` string is the PASS details, the `Err` string the FAIL reason) and add
//! it to [`CHECKS`]. Checks run in table order, against the same open handle.

#[cfg(all(test, not(windows)))]
mod fault_sweep;
#[cfg(test)]
mod known_kernel;
mod lookaside_checks;
mod mdl_checks;
mod memory_checks;
mod paging_checks;
#[path = "../../sample-driver/src/protocol.rs"]
#[allow(dead_code)]
mod protocol;
mod routines_checks;
mod section_checks;
// Only the real device (Windows, Wine) runs the storm; on hosts its unit tests do.
#[cfg_attr(not(windows), allow(dead_code))]
mod storm;
mod user_checks;

use core::fmt;
use core::mem::size_of;
use protocol::{IOCTL_POOL_ROUNDTRIP, IOCTL_POOL_STATS, PoolReply, PoolRequest, expected_checksum};

/// Win32 `ERROR_INVALID_PARAMETER`: what `STATUS_INVALID_PARAMETER`
/// (0xC000000D) becomes on its way out of `DeviceIoControl`.
const ERROR_INVALID_PARAMETER: u32 = 87;

/// The one operation the checks need from the driver: `DeviceIoControl`.
///
/// Implemented by the real device handle on Windows/Wine, and by a fake in
/// the host unit tests below.
pub trait Driver {
    /// Sends `code` with `input`, lets the driver write into `output`, and
    /// returns the number of bytes it wrote, or the Win32 error of the call.
    fn device_io_control(&self, code: u32, input: &[u8], output: &mut [u8]) -> Result<usize, u32>;

    /// Opens the named section `name` from user mode (`OpenFileMappingW`),
    /// maps it read-only and returns its first `len` bytes, or the Win32 error.
    fn read_named_section(&self, name: &str, len: usize) -> Result<Vec<u8>, u32>;

    /// Whether the kernel behind the device is Wine's, when the driver can
    /// tell (the real device asks ntdll for `wine_get_version`); `None` (the
    /// host fakes) lets a check accept the answers of either kernel, as long
    /// as they are all that kernel's.
    fn kernel_is_wine(&self) -> Option<bool> {
        None
    }

    /// Runs the IOCTL storm ([`storm::run`]) with raw buffer pointers; `None`
    /// where the handle takes none (the host fakes).
    fn storm(&self) -> Option<storm::Tally> {
        None
    }
}

/// Why an IOCTL did not produce a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoctlError {
    /// `DeviceIoControl` failed with this Win32 error.
    Win32(u32),
    /// It succeeded, but returned fewer bytes than the reply structure.
    ShortReply {
        /// Bytes the driver returned.
        got: usize,
        /// Size of the reply structure.
        want: usize,
    },
}

impl fmt::Display for IoctlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            IoctlError::Win32(code) => write!(f, "win32 error {code} ({})", win32_name(code)),
            IoctlError::ShortReply { got, want } => {
                write!(f, "short reply: {got} bytes, expected {want}")
            }
        }
    }
}

/// Names of the Win32 errors a check is likely to see.
fn win32_name(code: u32) -> &'static str {
    match code {
        1 => "ERROR_INVALID_FUNCTION",
        2 => "ERROR_FILE_NOT_FOUND",
        5 => "ERROR_ACCESS_DENIED",
        6 => "ERROR_INVALID_HANDLE",
        8 => "ERROR_NOT_ENOUGH_MEMORY",
        31 => "ERROR_GEN_FAILURE",
        50 => "ERROR_NOT_SUPPORTED",
        87 => "ERROR_INVALID_PARAMETER",
        122 => "ERROR_INSUFFICIENT_BUFFER",
        127 => "ERROR_PROC_NOT_FOUND",
        1450 => "ERROR_NO_SYSTEM_RESOURCES",
        _ => "?",
    }
}

/// The bytes of a plain `#[repr(C)]` protocol structure.
fn as_bytes<T: Copy>(value: &T) -> &[u8] {
    // SAFETY: `T` is one of protocol.rs's `#[repr(C)]` plain-data structs
    // (integers and byte arrays, no padding bytes), so all its bytes are
    // initialised; the slice borrows `value` for its own lifetime.
    unsafe { core::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
}

/// Sends `request` with `code` and reads back a whole `R`.
fn ioctl<Q: Copy, R: Copy + Default>(driver: &dyn Driver, code: u32, request: Option<&Q>) -> Result<R, IoctlError> {
    let mut reply = R::default();
    // SAFETY: `R` is a `#[repr(C)]` protocol struct made only of integers, for
    // which every bit pattern is valid; the slice is the only access to
    // `reply` while it lives.
    let out = unsafe { core::slice::from_raw_parts_mut((&mut reply as *mut R).cast::<u8>(), size_of::<R>()) };
    let input = request.map(as_bytes).unwrap_or(&[]);
    let got = driver.device_io_control(code, input, out).map_err(IoctlError::Win32)?;
    if got < size_of::<R>() {
        return Err(IoctlError::ShortReply { got, want: size_of::<R>() });
    }
    Ok(reply)
}

/// `IOCTL_POOL_ROUNDTRIP` with the given parameters.
fn pool_roundtrip(driver: &dyn Driver, size: u32, align: u32, fill: u8) -> Result<PoolReply, IoctlError> {
    let request = PoolRequest { size, align, fill, reserved: [0; 7] };
    ioctl(driver, IOCTL_POOL_ROUNDTRIP, Some(&request))
}

/// Compares one reply field; the error names the field.
fn expect<T: PartialEq + fmt::Debug>(field: &str, got: T, want: T) -> Result<(), String> {
    if got == want { Ok(()) } else { Err(format!("{field}={got:?}, expected {want:?}")) }
}

/// Check the common fields of a successful round trip.
fn check_roundtrip(driver: &dyn Driver, size: u32, align: u32, fill: u8) -> Result<String, String> {
    let reply = pool_roundtrip(driver, size, align, fill).map_err(|e| e.to_string())?;
    expect("size", reply.size, size)?;
    expect("checksum", reply.checksum, expected_checksum(size, fill))?;
    expect("was_zeroed", reply.was_zeroed, 1)?;
    expect("misalignment", reply.misalignment, 0)?;
    Ok(format!(
        "size={} align={} fill={:#04x} checksum={:#x} was_zeroed={} misalignment={}",
        reply.size, align, fill, reply.checksum, reply.was_zeroed, reply.misalignment
    ))
}

/// (a) A page-sized, naturally aligned allocation: filled, summed, zeroed at first.
fn pool_roundtrip_page(driver: &dyn Driver) -> Result<String, String> {
    check_roundtrip(driver, 4096, 0, 0x5A)
}

/// (b) A small allocation with a 64-byte alignment requirement.
fn pool_roundtrip_aligned(driver: &dyn Driver) -> Result<String, String> {
    check_roundtrip(driver, 100, 64, 0x11)
}

/// (c) A zero-byte request is refused with STATUS_INVALID_PARAMETER.
fn pool_zero_size_rejected(driver: &dyn Driver) -> Result<String, String> {
    match pool_roundtrip(driver, 0, 0, 0) {
        Err(IoctlError::Win32(ERROR_INVALID_PARAMETER)) => {
            Ok("refused with win32 error 87 (STATUS_INVALID_PARAMETER)".into())
        }
        Err(other) => Err(format!("{other}, expected win32 error {ERROR_INVALID_PARAMETER}")),
        Ok(reply) => Err(format!("accepted: {reply:?}")),
    }
}

/// (d) After the checks above, the driver holds no pool allocation.
fn pool_stats_clean(driver: &dyn Driver) -> Result<String, String> {
    let reply: PoolReply = ioctl::<(), _>(driver, IOCTL_POOL_STATS, None).map_err(|e| e.to_string())?;
    expect("outstanding_allocations", reply.outstanding_allocations, 0)?;
    expect("outstanding_bytes", reply.outstanding_bytes, 0)?;
    Ok("outstanding_allocations=0 outstanding_bytes=0".into())
}

/// A check: `Ok(details)` on success, `Err(reason)` on failure.
pub type Check = fn(&dyn Driver) -> Result<String, String>;

/// Every check, in the order it runs. Names contain no spaces.
pub const CHECKS: &[(&str, Check)] = &[
    ("pool_roundtrip_4096", pool_roundtrip_page),
    ("pool_roundtrip_100_align64", pool_roundtrip_aligned),
    ("pool_zero_size_rejected", pool_zero_size_rejected),
    ("pool_stats_clean", pool_stats_clean),
    ("section_views_coherent", section_checks::section_views_coherent),
    ("section_bad_input_statuses", section_checks::section_bad_input_statuses),
    ("section_named_shared_with_user_mode", section_checks::section_named_shared_with_user_mode),
    ("paging_entire_driver", paging_checks::paging_entire_driver),
    ("paging_locks_unless_wine", paging_checks::paging_locks_unless_wine),
    ("lookaside_non_paged_reuse", lookaside_checks::lookaside_non_paged_reuse),
    ("lookaside_paged_reuse", lookaside_checks::lookaside_paged_reuse),
    ("lookaside_ex_reuse_or_absent", lookaside_checks::lookaside_ex_reuse_or_absent),
    ("lookaside_abandon_leaked_entries", lookaside_checks::lookaside_abandon_leaked_entries),
    ("lookaside_bad_requests", lookaside_checks::lookaside_bad_requests),
    ("memory_non_cached", memory_checks::memory_non_cached),
    ("memory_contiguous_or_unavailable", memory_checks::memory_contiguous_or_unavailable),
    ("memory_bad_requests", memory_checks::memory_bad_requests),
    ("mdl_out_direct_fills_caller_buffer", mdl_checks::mdl_out_direct_fills_caller_buffer),
    ("mdl_in_direct_reads_caller_buffer", mdl_checks::mdl_in_direct_reads_caller_buffer),
    ("mdl_neither_locks_caller_buffers", mdl_checks::mdl_neither_locks_caller_buffers),
    ("mdl_probe_bad_pointers", mdl_checks::mdl_probe_bad_pointers),
    ("mdl_kernel_buffers", mdl_checks::mdl_kernel_buffers),
    ("io_space_statuses", mdl_checks::io_space_statuses),
    ("address_checks", mdl_checks::address_checks),
    ("routines_statuses", routines_checks::routines_statuses),
    ("paging_code_unless_wine", routines_checks::paging_code_unless_wine),
    ("mdl_driver_survived", mdl_checks::mdl_driver_survived),
    ("user_copy_reverses_caller_buffers", user_checks::user_copy_reverses_caller_buffers),
    ("user_secure_or_not_supported", user_checks::user_secure_or_not_supported),
    ("user_map_or_procedure_not_found", user_checks::user_map_or_procedure_not_found),
    ("ioctl_storm", storm::ioctl_storm),
    ("storm_then_pool_roundtrip_4096", pool_roundtrip_page),
    ("storm_then_pool_stats_clean", pool_stats_clean),
];

/// The result of one check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The check's name.
    pub name: String,
    /// Whether it passed.
    pub pass: bool,
    /// Its details (PASS) or reason (FAIL).
    pub details: String,
}

/// Runs `checks` in order against `driver`.
pub fn run_checks(driver: &dyn Driver, checks: &[(&str, Check)]) -> Vec<Outcome> {
    checks
        .iter()
        .map(|&(name, check)| {
            let (pass, details) = match check(driver) {
                Ok(details) => (true, details),
                Err(reason) => (false, reason),
            };
            Outcome { name: name.into(), pass, details }
        })
        .collect()
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The line printed for one outcome.
pub fn render(outcome: &Outcome, json: bool) -> String {
    if json {
        format!(
            "{{\"check\":{},\"pass\":{},\"details\":{}}}",
            json_string(&outcome.name),
            outcome.pass,
            json_string(&outcome.details)
        )
    } else {
        let verdict = if outcome.pass { "PASS" } else { "FAIL" };
        format!("{verdict} {} {}", outcome.name, outcome.details).trim_end().to_owned()
    }
}

/// The summary line.
pub fn render_summary(outcomes: &[Outcome], json: bool) -> String {
    let passed = outcomes.iter().filter(|o| o.pass).count();
    let failed = outcomes.len() - passed;
    if json {
        format!("{{\"passed\":{passed},\"failed\":{failed}}}")
    } else {
        format!("{passed} passed, {failed} failed")
    }
}

/// Prints every outcome and the summary; returns the process exit code.
fn report(outcomes: &[Outcome], json: bool) -> i32 {
    for outcome in outcomes {
        println!("{}", render(outcome, json));
    }
    println!("{}", render_summary(outcomes, json));
    if outcomes.iter().all(|o| o.pass) { 0 } else { 1 }
}

/// Parses the command line: `Ok(json)` or a usage error.
fn parse_args(args: impl Iterator<Item = String>) -> Result<bool, String> {
    let mut json = false;
    for arg in args {
        match arg.as_str() {
            "--json" => json = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(json)
}

#[cfg(windows)]
mod device {
    //! The real device: a handle on `\\.\WdmMemSample`.

    use super::Driver;
    use core::ptr;
    use windows_sys::Win32::Foundation::{
        CloseHandle, GENERIC_READ, GENERIC_WRITE, GetLastError, HANDLE, INVALID_HANDLE_VALUE,
    };
    use windows_sys::Win32::Storage::FileSystem::{CreateFileW, FILE_ATTRIBUTE_NORMAL, OPEN_EXISTING};
    use windows_sys::Win32::System::IO::DeviceIoControl;
    use windows_sys::Win32::System::Memory::{FILE_MAP_READ, MapViewOfFile, OpenFileMappingW, UnmapViewOfFile};

    /// An open handle on the driver's device, closed on drop.
    pub struct Device(HANDLE);

    impl Device {
        /// Opens `path` (e.g. `\\.\WdmMemSample`) for read and write.
        pub fn open(path: &str) -> Result<Self, u32> {
            let wide: Vec<u16> = path.encode_utf16().chain(Some(0)).collect();
            // SAFETY: `wide` is a NUL-terminated UTF-16 string that outlives the
            // call; the other pointers are null, which CreateFileW accepts.
            let handle = unsafe {
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
            if handle == INVALID_HANDLE_VALUE {
                // SAFETY: no precondition.
                Err(unsafe { GetLastError() })
            } else {
                Ok(Device(handle))
            }
        }
    }

    impl Device {
        /// Runs `f` with an arena of [`crate::storm::ARENA`] read-write
        /// bytes followed by a no-access page; `None` if it cannot be made.
        pub fn with_arena<R>(&self, f: impl FnOnce(*mut u8) -> R) -> Option<R> {
            use crate::storm::ARENA;
            use windows_sys::Win32::System::Memory::{
                MEM_COMMIT, MEM_RELEASE, MEM_RESERVE, PAGE_NOACCESS, PAGE_READWRITE, VirtualAlloc, VirtualFree,
                VirtualProtect,
            };
            // SAFETY: a fresh private allocation of the arena and one more page.
            let arena = unsafe { VirtualAlloc(ptr::null(), ARENA + 4096, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE) };
            if arena.is_null() {
                return None;
            }
            let mut old = 0;
            // SAFETY: the last page of the allocation above becomes no-access.
            unsafe { VirtualProtect(arena.cast::<u8>().add(ARENA).cast(), 4096, PAGE_NOACCESS, &mut old) };
            let result = f(arena.cast());
            // SAFETY: the allocation above, released once.
            unsafe { VirtualFree(arena, 0, MEM_RELEASE) };
            Some(result)
        }

        /// Sends `shape` with its arena offsets resolved in `arena` (see
        /// [`Device::with_arena`]): the byte count of a successful reply.
        pub fn send(&self, arena: *mut u8, shape: &crate::storm::Shape) -> Result<usize, u32> {
            use crate::storm::Buffer;
            let address = |buffer: Buffer| match buffer {
                Buffer::Null => 0,
                Buffer::Arena(offset) => arena as usize + offset,
                Buffer::Raw(address) => address,
            };
            let mut returned = 0u32;
            // SAFETY: the buffers are read and written only by the kernel
            // (and Wine's ntdll), which probe them: a bad pointer or length is
            // an error status. What may be written (the reply, METHOD_NEITHER
            // and direct data) lies in the arena or is refused; nothing else
            // of this process is named.
            let ok = unsafe {
                DeviceIoControl(
                    self.0,
                    shape.code,
                    address(shape.input) as *const _,
                    shape.input_len,
                    address(shape.output) as *mut _,
                    shape.output_len,
                    &mut returned,
                    ptr::null_mut(),
                )
            };
            // SAFETY: no precondition.
            if ok != 0 { Ok(returned as usize) } else { Err(unsafe { GetLastError() }) }
        }
    }

    impl Driver for Device {
        fn device_io_control(&self, code: u32, input: &[u8], output: &mut [u8]) -> Result<usize, u32> {
            let mut returned = 0u32;
            let len = |b: usize| u32::try_from(b).expect("protocol buffers are small");
            // SAFETY: the handle is open (owned by `self`); the buffers are valid
            // for their lengths for the whole synchronous call (the handle was
            // not opened for overlapped I/O, and no OVERLAPPED is passed).
            let ok = unsafe {
                DeviceIoControl(
                    self.0,
                    code,
                    if input.is_empty() { ptr::null() } else { input.as_ptr().cast() },
                    len(input.len()),
                    if output.is_empty() { ptr::null_mut() } else { output.as_mut_ptr().cast() },
                    len(output.len()),
                    &mut returned,
                    ptr::null_mut(),
                )
            };
            if ok == 0 {
                // SAFETY: no precondition.
                Err(unsafe { GetLastError() })
            } else {
                Ok(returned as usize)
            }
        }

        fn read_named_section(&self, name: &str, len: usize) -> Result<Vec<u8>, u32> {
            let wide: Vec<u16> = name.encode_utf16().chain(Some(0)).collect();
            // SAFETY: `wide` is a NUL-terminated UTF-16 name that outlives the call.
            let mapping = unsafe { OpenFileMappingW(FILE_MAP_READ, 0, wide.as_ptr()) };
            if mapping.is_null() {
                // SAFETY: no precondition.
                return Err(unsafe { GetLastError() });
            }
            // SAFETY: `mapping` is an open file-mapping handle.
            let view = unsafe { MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, len) };
            let result = if view.Value.is_null() {
                // SAFETY: no precondition.
                Err(unsafe { GetLastError() })
            } else {
                // SAFETY: the view maps at least `len` readable bytes until unmapped below.
                let bytes = unsafe { core::slice::from_raw_parts(view.Value.cast::<u8>(), len) }.to_vec();
                // SAFETY: `view` was mapped above and is unmapped once.
                unsafe { UnmapViewOfFile(view) };
                Ok(bytes)
            };
            // SAFETY: `mapping` is open and closed once.
            unsafe { CloseHandle(mapping) };
            result
        }

        fn storm(&self) -> Option<crate::storm::Tally> {
            use crate::storm::{PARTIAL_ENV, fill_input, run};
            // First a caller that Wine's ntdll kills mid-request (see
            // storm::partial_shape), in a process of its own: the storm after
            // it checks that the driver still answers.
            let partial = if self.kernel_is_wine() == Some(true) {
                let exe = std::env::current_exe().ok()?;
                let output = std::process::Command::new(exe).env(PARTIAL_ENV, "1").output().ok()?;
                Some(String::from_utf8_lossy(&output.stdout).contains(crate::storm::PARTIAL_SENT))
            } else {
                None
            };
            let mut tally = self.with_arena(|arena| {
                run(self, |shape, seed| {
                    // SAFETY: the arena's ARENA read-write bytes, used by nothing else meanwhile.
                    fill_input(unsafe { core::slice::from_raw_parts_mut(arena, crate::storm::ARENA) }, seed);
                    self.send(arena, shape)
                })
            })?;
            tally.partial_caller_survived = partial;
            Some(tally)
        }

        fn kernel_is_wine(&self) -> Option<bool> {
            use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
            // SAFETY: NUL-terminated names; ntdll is loaded in every process.
            let wine = unsafe {
                GetProcAddress(GetModuleHandleA(c"ntdll.dll".as_ptr().cast()), c"wine_get_version".as_ptr().cast())
            };
            Some(wine.is_some())
        }
    }

    impl Drop for Device {
        fn drop(&mut self) {
            // SAFETY: the handle is owned by `self` and closed exactly once.
            unsafe { CloseHandle(self.0) };
        }
    }
}

#[cfg(windows)]
fn main() {
    let json = match parse_args(std::env::args().skip(1)) {
        Ok(json) => json,
        Err(message) => {
            eprintln!("wdm-mem-client: {message}\nusage: wdm-mem-client [--json]");
            std::process::exit(2);
        }
    };
    let outcomes = match device::Device::open(protocol::DOS_DEVICE_NAME) {
        // The storm's caller that Wine kills (storm::partial_shape).
        Ok(device) if std::env::var_os(storm::PARTIAL_ENV).is_some() => {
            let _ = device.with_arena(|arena| device.send(arena, &storm::partial_shape()));
            println!("{}", storm::PARTIAL_SENT);
            std::process::exit(0);
        }
        Ok(device) => run_checks(&device, CHECKS),
        Err(code) => vec![Outcome {
            name: "open".into(),
            pass: false,
            details: format!(
                "CreateFileW({}): win32 error {code} ({}); is the driver started?",
                protocol::DOS_DEVICE_NAME,
                win32_name(code)
            ),
        }],
    };
    std::process::exit(report(&outcomes, json));
}

#[cfg(not(windows))]
fn main() {
    // Keep the shared code "used" on hosts, where only the unit tests run it.
    let _ = (parse_args(std::env::args().skip(1)), report as fn(&[Outcome], bool) -> i32);
    eprintln!(
        "wdm-mem-client talks to a Windows kernel driver: build it for \
         x86_64-pc-windows-gnu (scripts/build-driver.sh) and run it under Windows or Wine \
         (scripts/wine-e2e.sh)"
    );
    std::process::exit(2);
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::SectionReply;
    use std::cell::Cell;

    /// A driver that follows the protocol, with knobs to break it.
    #[derive(Default)]
    struct FakeDriver {
        outstanding: Cell<u64>,
        leak: bool,
        accept_zero: bool,
        dirty: bool,
        published: Cell<bool>,
        write_through: bool,
        /// Answer the lookaside and memory IOCTLs as Wine does.
        wine: bool,
        no_lookaside_reuse: bool,
        /// The driver's pageable static, and its writes.
        paged: Cell<(u64, u64)>,
    }

    impl FakeDriver {
        fn pool(&self, code: u32, input: &[u8]) -> Result<PoolReply, u32> {
            let mut reply = PoolReply::default();
            if code == IOCTL_POOL_ROUNDTRIP {
                if input.len() < size_of::<PoolRequest>() {
                    return Err(ERROR_INVALID_PARAMETER);
                }
                let size = u32::from_le_bytes(input[0..4].try_into().unwrap());
                let fill = input[8];
                if size == 0 && !self.accept_zero {
                    return Err(ERROR_INVALID_PARAMETER);
                }
                reply.size = size;
                reply.checksum = expected_checksum(size, fill);
                reply.was_zeroed = u32::from(!self.dirty);
                if self.leak {
                    self.outstanding.set(self.outstanding.get() + 1);
                }
            } else {
                reply.outstanding_allocations = self.outstanding.get();
                reply.outstanding_bytes = self.outstanding.get() * 4096;
            }
            Ok(reply)
        }

        /// The section IOCTLs, as the model says Windows answers them.
        fn section(&self, code: u32, input: &[u8]) -> SectionReply {
            use protocol::{IOCTL_SECTION_PUBLISH, IOCTL_SECTION_UNPUBLISH};
            use section_checks::*;
            let mut reply = SectionReply::default();
            match code {
                IOCTL_SECTION_PUBLISH => self.published.set(true),
                IOCTL_SECTION_UNPUBLISH => self.published.set(false),
                _ => {
                    let field = |at: usize| u64::from_le_bytes(input[at..at + 8].try_into().unwrap());
                    let (size, offset, view) = (field(0), field(8), field(16));
                    reply.status = match () {
                        _ if size == 0 => INVALID_PARAMETER_4,
                        _ if offset % 0x1_0000 != 0 => MAPPED_ALIGNMENT,
                        _ if offset + view > size => INVALID_VIEW_SIZE,
                        _ if input[24] != 0 => SECTION_PROTECTION,
                        _ => 0,
                    };
                    if reply.status == 0 {
                        reply.coherent = 1;
                        reply.write_copy_private = u32::from(!self.write_through);
                        reply.mapped_size = view.div_ceil(4096) * 4096;
                        reply.system_view_status = if self.wine { NOT_SUPPORTED } else { 0 };
                        reply.reserved_write_status = ACCESS_VIOLATION;
                    }
                }
            }
            reply
        }
    }

    impl Driver for FakeDriver {
        fn device_io_control(&self, code: u32, input: &[u8], output: &mut [u8]) -> Result<usize, u32> {
            use protocol::{IOCTL_SECTION_PUBLISH, IOCTL_SECTION_ROUNDTRIP, IOCTL_SECTION_UNPUBLISH};
            if let Some(reply) = mdl_checks::fake_reply(code, input, output, self.wine)
                .or_else(|| user_checks::fake_reply(code, input, output, self.wine))
            {
                let bytes = reply?;
                output[..bytes.len()].copy_from_slice(&bytes);
                return Ok(bytes.len());
            }
            let bytes = match code {
                IOCTL_POOL_ROUNDTRIP | IOCTL_POOL_STATS => as_bytes(&self.pool(code, input)?).to_vec(),
                IOCTL_SECTION_ROUNDTRIP | IOCTL_SECTION_PUBLISH | IOCTL_SECTION_UNPUBLISH => {
                    as_bytes(&self.section(code, input)).to_vec()
                }
                protocol::IOCTL_LOOKASIDE_REUSE => {
                    as_bytes(&lookaside_checks::fake_reply(input, self.wine, self.no_lookaside_reuse)?).to_vec()
                }
                protocol::IOCTL_MEMORY_NON_CACHED | protocol::IOCTL_MEMORY_CONTIGUOUS => {
                    as_bytes(&memory_checks::fake_reply(code, input, self.wine)?).to_vec()
                }
                protocol::IOCTL_ROUTINES_STATUS => as_bytes(&routines_checks::fake_reply(self.wine)).to_vec(),
                protocol::IOCTL_PAGING_ENTIRE_DRIVER => {
                    as_bytes(&protocol::PagingReply { entire_driver_paged: 1, ..Default::default() }).to_vec()
                }
                protocol::IOCTL_PAGING_WRITE => {
                    let value = u64::from_le_bytes(input[..8].try_into().unwrap());
                    let writes = self.paged.get().1 + 1;
                    self.paged.set((value, writes));
                    let cached = u32::from(writes > 1);
                    as_bytes(&protocol::PagingReply { value, writes, handle_was_cached: cached, ..Default::default() })
                        .to_vec()
                }
                protocol::IOCTL_PAGING_READ => {
                    let (value, writes) = self.paged.get();
                    let reply = protocol::PagingReply {
                        value,
                        value_at_dispatch: value,
                        writes,
                        handle_was_cached: 1,
                        ..Default::default()
                    };
                    as_bytes(&reply).to_vec()
                }
                _ => return Err(1),
            };
            let n = bytes.len().min(output.len());
            output[..n].copy_from_slice(&bytes[..n]);
            Ok(n)
        }

        fn read_named_section(&self, _name: &str, len: usize) -> Result<Vec<u8>, u32> {
            if self.published.get() { Ok(protocol::SECTION_MESSAGE[..len].to_vec()) } else { Err(2) }
        }
    }

    #[test]
    fn all_checks_pass_against_a_faithful_driver() {
        let outcomes = run_checks(&FakeDriver::default(), CHECKS);
        assert!(outcomes.iter().all(|o| o.pass), "{outcomes:#?}");
        assert_eq!(render_summary(&outcomes, false), format!("{} passed, 0 failed", CHECKS.len()));
        assert_eq!(report(&outcomes, false), 0);
    }

    #[test]
    fn each_broken_behaviour_fails_its_check() {
        let fail = |driver: FakeDriver, name: &str| {
            let outcomes = run_checks(&driver, CHECKS);
            let o = outcomes.iter().find(|o| o.name == name).unwrap();
            assert!(!o.pass, "{name} should fail: {o:?}");
            assert!(render(o, false).starts_with(&format!("FAIL {name} ")));
            assert_eq!(report(&outcomes, false), 1);
        };
        fail(FakeDriver { leak: true, ..Default::default() }, "pool_stats_clean");
        fail(FakeDriver { accept_zero: true, ..Default::default() }, "pool_zero_size_rejected");
        fail(FakeDriver { dirty: true, ..Default::default() }, "pool_roundtrip_4096");
        fail(FakeDriver { write_through: true, ..Default::default() }, "section_views_coherent");
        fail(FakeDriver { no_lookaside_reuse: true, ..Default::default() }, "lookaside_paged_reuse");
    }

    #[test]
    fn wine_answers_pass_the_lookaside_and_memory_checks() {
        let outcomes = run_checks(&FakeDriver { wine: true, ..Default::default() }, CHECKS);
        assert!(outcomes.iter().all(|o| o.pass), "{outcomes:#?}");
        let details = |name: &str| outcomes.iter().find(|o| o.name == name).unwrap().details.clone();
        assert!(details("lookaside_ex_reuse_or_absent").contains("STATUS_PROCEDURE_NOT_FOUND"));
        assert!(details("memory_contiguous_or_unavailable").contains("STATUS_INSUFFICIENT_RESOURCES"));
    }

    #[test]
    fn short_and_failed_replies_are_reported() {
        struct Short;
        impl Driver for Short {
            fn device_io_control(&self, _: u32, _: &[u8], _: &mut [u8]) -> Result<usize, u32> {
                Ok(8)
            }
            fn read_named_section(&self, _: &str, _: usize) -> Result<Vec<u8>, u32> {
                Err(2)
            }
        }
        let err = pool_roundtrip(&Short, 1, 0, 0).unwrap_err();
        assert_eq!(err, IoctlError::ShortReply { got: 8, want: size_of::<PoolReply>() });
        assert_eq!(IoctlError::Win32(87).to_string(), "win32 error 87 (ERROR_INVALID_PARAMETER)");
    }

    #[test]
    fn json_lines_are_escaped() {
        let o = Outcome { name: "x".into(), pass: false, details: "a \"b\"\\\n".into() };
        assert_eq!(render(&o, true), r#"{"check":"x","pass":false,"details":"a \"b\"\\\n"}"#);
        assert_eq!(render_summary(&[o], true), r#"{"passed":0,"failed":1}"#);
    }

    #[test]
    fn arguments() {
        assert_eq!(parse_args(Vec::<String>::new().into_iter()), Ok(false));
        assert_eq!(parse_args(vec!["--json".to_owned()].into_iter()), Ok(true));
        assert!(parse_args(vec!["-x".to_owned()].into_iter()).is_err());
    }

    #[test]
    fn protocol_layouts_are_fixed() {
        assert_eq!(size_of::<PoolRequest>(), 16);
        assert_eq!(size_of::<PoolReply>(), 40);
        assert_eq!(size_of::<protocol::PagingRequest>(), 8);
        assert_eq!(size_of::<protocol::PagingReply>(), 32);
        assert_eq!(size_of::<protocol::LookasideRequest>(), 16);
        assert_eq!(size_of::<protocol::LookasideReply>(), 40);
        assert_eq!(size_of::<protocol::MemoryRequest>(), 24);
        assert_eq!(size_of::<protocol::MemoryReply>(), 32);
    }
}
