//! Entry point, unload, and the bench thread.

use core::{
    ffi::c_void,
    ptr::null_mut,
    sync::atomic::{AtomicPtr, AtomicU32, Ordering},
};

use wdm_mem::{
    NtStatus,
    pool::{KernelAllocator, PoolType},
    pool_tag,
    sys::{self, DRIVER_OBJECT, NTSTATUS, PUNICODE_STRING, utf16},
};

use crate::{ffi, harness, ops::Bench};

#[global_allocator]
static ALLOCATOR: KernelAllocator = KernelAllocator::new(pool_tag!(b"WBcA"), PoolType::NonPagedNx);

/// The bench thread's handle, joined by `DriverUnload`.
static THREAD: AtomicPtr<c_void> = AtomicPtr::new(null_mut());
static REPETITIONS: AtomicU32 = AtomicU32::new(7);
static SCALE: AtomicU32 = AtomicU32::new(1);

static REPETITIONS_NAME: [u16; 12] = utf16(b"Repetitions\0");
static SCALE_NAME: [u16; 6] = utf16(b"Scale\0");

/// The driver's entry point.
///
/// # Safety
/// Called once by the I/O manager at PASSIVE_LEVEL with a valid driver
/// object and its service key's path.
#[unsafe(export_name = "DriverEntry")]
pub unsafe extern "system" fn driver_entry(driver: *mut DRIVER_OBJECT, registry: PUNICODE_STRING) -> NTSTATUS {
    // SAFETY: the service key's path, valid during DriverEntry; NUL-terminated
    // value names.
    unsafe {
        REPETITIONS.store(ffi::bench_c_registry_dword(registry, REPETITIONS_NAME.as_ptr(), 7), Ordering::Relaxed);
        SCALE.store(ffi::bench_c_registry_dword(registry, SCALE_NAME.as_ptr(), 1), Ordering::Relaxed);
    }
    let mut thread: sys::HANDLE = null_mut();
    // SAFETY: a system thread running bench_thread, which needs no context.
    let status = unsafe { ffi::bench_c_start_thread(bench_thread, null_mut(), &mut thread) };
    if !NtStatus::from_raw(status).is_success() {
        return status;
    }
    THREAD.store(thread, Ordering::Release);
    // SAFETY: the I/O manager's driver object, ours during DriverEntry.
    unsafe { (*driver).DriverUnload = Some(driver_unload) };
    NtStatus::SUCCESS.to_raw()
}

/// `DriverUnload`: waits for the bench thread.
///
/// # Safety
/// Called once by the I/O manager at PASSIVE_LEVEL.
unsafe extern "C" fn driver_unload(_driver: *mut DRIVER_OBJECT) {
    let thread = THREAD.swap(null_mut(), Ordering::AcqRel);
    if !thread.is_null() {
        // SAFETY: the thread's kernel handle, closed once here.
        unsafe { ffi::bench_c_join_thread(thread) };
    }
    harness::say(format_args!("unloaded"));
}

/// The bench thread (PASSIVE_LEVEL, system process).
unsafe extern "C" fn bench_thread(_context: *mut c_void) {
    let reps = REPETITIONS.load(Ordering::Relaxed) as usize;
    let scale = SCALE.load(Ordering::Relaxed).max(1);
    let mut bench = Bench::new();
    // SAFETY: bench_c_setup ran in Bench::new.
    let pool2 = unsafe { ffi::bench_c_have_pool2() } != 0;
    harness::say(format_args!(
        "begin reps={} scale={scale} ExAllocatePool2={}",
        reps.clamp(1, harness::MAX_REPS),
        if pool2 { "yes" } else { "no" }
    ));
    for row in &bench.rows() {
        harness::run(row, reps, scale);
    }
    bench.finish();
    harness::say(format_args!("done"));
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: KeBugCheckEx never returns and may be called at any IRQL.
    unsafe { sys::KeBugCheckEx(0x5744_4D42, 0, 0, 0, 0) }
}
