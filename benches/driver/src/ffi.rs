//! The C reference (`c/reference.c`), linked into the same `.sys`.

use core::ffi::c_void;

use wdm_mem::sys::{HANDLE, NTSTATUS, PUNICODE_STRING};

/// One measured operation: 0, or the NTSTATUS it failed with.
pub type Operation = unsafe extern "C" fn(ctx: *mut c_void) -> i32;

/// A non-paged buffer for the MDL operation (`BENCH_BUFFER`).
#[repr(C)]
pub struct BenchBuffer {
    pub address: *mut c_void,
    pub length: u32,
}

/// The routine a system thread runs (`KSTART_ROUTINE`).
pub type StartRoutine = unsafe extern "C" fn(context: *mut c_void);

unsafe extern "C" {
    pub fn bench_c_setup() -> NTSTATUS;
    pub fn bench_c_teardown();
    pub fn bench_c_have_pool2() -> i32;
    pub fn bench_c_have_lookaside_ex() -> i32;
    pub fn bench_c_lookaside_np(ctx: *mut c_void) -> i32;
    pub fn bench_c_lookaside_paged(ctx: *mut c_void) -> i32;
    pub fn bench_c_lookaside_ex(ctx: *mut c_void) -> i32;
    pub fn bench_c_pool_value(ctx: *mut c_void) -> i32;
    pub fn bench_c_pool_zeroed(ctx: *mut c_void) -> i32;
    pub fn bench_c_mdl(ctx: *mut c_void) -> i32;
    pub fn bench_c_section(ctx: *mut c_void) -> i32;
    pub fn bench_c_copy(ctx: *mut c_void) -> i32;
    pub fn bench_c_register(ctx: *mut c_void) -> i32;
    pub fn bench_c_irql(ctx: *mut c_void) -> i32;
    pub fn bench_c_empty(ctx: *mut c_void) -> i32;
    pub fn bench_c_map_io_space(physical: u64, length: usize) -> *mut c_void;
    pub fn bench_c_unmap_io_space(base: *mut c_void, length: usize);
    pub fn bench_c_start_thread(start: StartRoutine, context: *mut c_void, thread: *mut HANDLE) -> NTSTATUS;
    pub fn bench_c_join_thread(thread: HANDLE);
    pub fn bench_c_registry_dword(key_path: PUNICODE_STRING, value_name: *const u16, fallback: u32) -> u32;
}
