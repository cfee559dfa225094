//! The operations of the table, in their raw (`wdm_mem::sys`) and safe
//! (wdm-mem's API) forms, with the state they need; the C forms are in
//! `c/reference.c`. Each is an `extern "C" fn(ctx) -> i32` (0 or the failing
//! NTSTATUS), called by the same loop (`harness.rs`).
//!
//! Every operation is `#[unsafe(no_mangle)]` (and, being called through a
//! pointer, never inlined into the loop), so that its code can be found in
//! the map file and disassembled exactly as measured; `scripts/bench.sh`
//! does it for the lookaside hit path: `bench_safe_lookaside_np` (safe),
//! `bench_raw_lookaside_np` (raw) against `bench_c_lookaside_np` (C).

use alloc::boxed::Box;
use core::{arch::asm, cell::UnsafeCell, ffi::c_void, pin::Pin, ptr::null_mut};

use wdm_mem::{
    Irql, NtResult, NtStatus,
    address::physical_address,
    io_space::{CacheType, IoSpace},
    lookaside::{LookasideConfig, LookasideListEx, NPagedLookasideList, PagedLookasideList},
    mdl::NonPagedMdl,
    pool::{PoolBox, PoolBuffer, PoolTag, PoolType},
    pool_tag,
    section::{ReadWrite, Section, SectionProtection, UserView},
    sys,
};

use crate::{
    ffi::{self, BenchBuffer},
    harness::{Row, Variant},
};

/// The entries and blocks: 64 bytes, as in issue 10's table.
#[derive(Clone, Copy)]
#[repr(C, align(16))]
pub struct Entry([u64; 8]);

const ENTRY_SIZE: usize = size_of::<Entry>();
const TAG: PoolTag = pool_tag!(b"WBch");
/// Section and copy size.
const VIEW_SIZE: usize = 0x10000;
/// The non-paged buffer the MDL rows describe.
const MDL_BUFFER: usize = 4096;
/// The I/O-space rows map this many bytes.
const IO_LENGTH: usize = 4096;

/// A kernel structure the raw path initialises in place (never moves).
struct Raw<T>(UnsafeCell<T>);
// SAFETY: only the bench thread touches these, between setup and teardown.
unsafe impl<T> Sync for Raw<T> {}

impl<T> Raw<T> {
    fn get(&self) -> *mut T {
        self.0.get()
    }
}

// SAFETY: all-zero is a valid (not yet initialised) lookaside list: integers,
// NULL pointers and `None` routines.
static RAW_NP: Raw<sys::NPAGED_LOOKASIDE_LIST> = Raw(UnsafeCell::new(unsafe { core::mem::zeroed() }));
// SAFETY: as above.
static RAW_PAGED: Raw<sys::PAGED_LOOKASIDE_LIST> = Raw(UnsafeCell::new(unsafe { core::mem::zeroed() }));
// SAFETY: as above.
static RAW_EX: Raw<sys::LOOKASIDE_LIST_EX> = Raw(UnsafeCell::new(unsafe { core::mem::zeroed() }));

static SAFE_NP: NPagedLookasideList<Entry> = NPagedLookasideList::new();
static SAFE_PAGED: PagedLookasideList<Entry> = PagedLookasideList::new();
static SAFE_EX: LookasideListEx<Entry> = LookasideListEx::new();

/// Makes the compiler assume `value` (a pointer, or a small value in a
/// register) is read and all memory may be touched: what `keep()` does in
/// the C reference (`__asm__ volatile("" : : "r"(p) : "memory")`). Unlike
/// `core::hint::black_box`, it costs no store to the stack, so the three
/// columns carry the same barrier.
#[inline(always)]
fn keep<T: Into<u64>>(value: T) {
    // SAFETY: an empty asm block: no instruction, no stack use; without
    // `nomem` it is a compiler barrier only.
    unsafe { asm!("/* {0} */", in(reg) value.into(), options(nostack, preserves_flags)) };
}

/// [`keep`] of a pointer.
#[inline(always)]
fn keep_ptr<T: ?Sized>(pointer: *const T) {
    keep(pointer.cast::<u8>() as usize as u64);
}

fn status(result: NtResult<()>) -> i32 {
    NtStatus::from(result).to_raw()
}

// --- the empty operation and the IRQL read ---

#[unsafe(no_mangle)]
extern "C" fn bench_rust_empty(ctx: *mut c_void) -> i32 {
    keep_ptr(ctx);
    0
}

#[unsafe(no_mangle)]
extern "C" fn bench_raw_irql(_ctx: *mut c_void) -> i32 {
    // SAFETY: the bench runs in kernel mode (or Wine's emulation of CR8).
    keep(unsafe { sys::KeGetCurrentIrql() });
    0
}

#[unsafe(no_mangle)]
extern "C" fn bench_safe_irql(_ctx: *mut c_void) -> i32 {
    keep(Irql::current().level());
    0
}

// --- lookaside lists ---

/// # Safety
/// `$list` was initialised by [`Bench::new`] and not yet deleted.
macro_rules! raw_lookaside {
    ($name:ident, $list:expr, $allocate:path, $free:path) => {
        #[unsafe(no_mangle)]
        #[inline(never)]
        extern "C" fn $name(_ctx: *mut c_void) -> i32 {
            // SAFETY: the list was initialised by Bench::new (the row exists
            // only then) and the bench thread is at PASSIVE_LEVEL; the entry
            // is 64 bytes, 16-aligned, ours until freed.
            unsafe {
                let entry = $allocate($list.get()).cast::<Entry>();
                if entry.is_null() {
                    return NtStatus::INSUFFICIENT_RESOURCES.to_raw();
                }
                entry.write(Entry([0; 8]));
                keep_ptr(entry);
                $free($list.get(), entry.cast());
            }
            0
        }
    };
}
raw_lookaside!(
    bench_raw_lookaside_np,
    RAW_NP,
    sys::ExAllocateFromNPagedLookasideList,
    sys::ExFreeToNPagedLookasideList
);
raw_lookaside!(
    bench_raw_lookaside_paged,
    RAW_PAGED,
    sys::ExAllocateFromPagedLookasideList,
    sys::ExFreeToPagedLookasideList
);
raw_lookaside!(bench_raw_lookaside_ex, RAW_EX, sys::ExAllocateFromLookasideListEx, sys::ExFreeToLookasideListEx);

macro_rules! safe_lookaside {
    ($name:ident, $list:expr) => {
        #[unsafe(no_mangle)]
        #[inline(never)]
        extern "C" fn $name(_ctx: *mut c_void) -> i32 {
            match Pin::static_ref(&$list).allocate_with(|| Entry([0; 8])) {
                Ok(entry) => {
                    keep_ptr(&raw const *entry);
                    drop(entry);
                    0
                }
                Err(status) => status.to_raw(),
            }
        }
    };
}
safe_lookaside!(bench_safe_lookaside_np, SAFE_NP);
safe_lookaside!(bench_safe_lookaside_paged, SAFE_PAGED);
safe_lookaside!(bench_safe_lookaside_ex, SAFE_EX);

// --- pool ---

/// `flags`: `POOL_FLAG_UNINITIALIZED` for a block the caller writes.
fn raw_pool(flags: sys::POOL_FLAGS, write: bool) -> i32 {
    // SAFETY: the flags and the legacy type both name NX non-paged pool; the
    // bench thread is at PASSIVE_LEVEL.
    let block = unsafe {
        sys::allocate_pool(
            sys::POOL_FLAG_NON_PAGED | flags,
            sys::_POOL_TYPE::NonPagedPoolNx,
            ENTRY_SIZE as sys::SIZE_T,
            TAG.to_u32(),
            || true,
        )
    };
    if block.is_null() {
        return NtStatus::INSUFFICIENT_RESOURCES.to_raw();
    }
    // SAFETY: a fresh block of 64 bytes, 16-aligned, freed once with its tag.
    unsafe {
        if write {
            block.cast::<Entry>().write(Entry([0; 8]));
        }
        keep_ptr(block);
        sys::ExFreePoolWithTag(block, TAG.to_u32());
    }
    0
}

#[unsafe(no_mangle)]
extern "C" fn bench_raw_pool_value(_ctx: *mut c_void) -> i32 {
    raw_pool(sys::POOL_FLAG_UNINITIALIZED, true)
}

#[unsafe(no_mangle)]
extern "C" fn bench_raw_pool_zeroed(_ctx: *mut c_void) -> i32 {
    raw_pool(0, false)
}

#[unsafe(no_mangle)]
extern "C" fn bench_safe_pool_box(_ctx: *mut c_void) -> i32 {
    status(PoolBox::new(Entry([0; 8]), TAG, PoolType::NonPagedNx).map(|block| keep_ptr(&raw const *block)))
}

#[unsafe(no_mangle)]
extern "C" fn bench_safe_pool_buffer(_ctx: *mut c_void) -> i32 {
    status(PoolBuffer::new(ENTRY_SIZE, 0, TAG, PoolType::NonPagedNx).map(|block| keep_ptr(block.as_ptr())))
}

/// `alloc::boxed::Box` through the driver's `#[global_allocator]`
/// (`KernelAllocator`, NX non-paged pool). An allocation failure would take
/// Rust's allocation-error path (the panic handler's bug check): acceptable
/// in a benchmark that allocates one 64-byte block at a time.
#[unsafe(no_mangle)]
extern "C" fn bench_safe_global_box(_ctx: *mut c_void) -> i32 {
    let block = Box::new(Entry([0; 8]));
    keep_ptr(&raw const *block);
    drop(block);
    0
}

// --- MDL ---

#[unsafe(no_mangle)]
extern "C" fn bench_raw_mdl(ctx: *mut c_void) -> i32 {
    // SAFETY: the row's context is the bench's BenchBuffer of non-paged pool.
    let buffer = unsafe { &*ctx.cast::<BenchBuffer>() };
    // SAFETY: a live non-paged buffer of `length` bytes; the MDL is freed once.
    unsafe {
        let mdl = sys::IoAllocateMdl(buffer.address, buffer.length, 0, 0, null_mut());
        if mdl.is_null() {
            return NtStatus::INSUFFICIENT_RESOURCES.to_raw();
        }
        sys::MmBuildMdlForNonPagedPool(mdl);
        keep_ptr(mdl);
        sys::IoFreeMdl(mdl);
    }
    0
}

#[unsafe(no_mangle)]
extern "C" fn bench_safe_mdl(ctx: *mut c_void) -> i32 {
    // SAFETY: the row's context is the bench's PoolBuffer, used by this
    // thread only.
    let buffer = unsafe { &mut *ctx.cast::<PoolBuffer>() };
    status(NonPagedMdl::for_pool_buffer(buffer).map(|mdl| keep(mdl.len() as u64)))
}

// --- sections ---

#[unsafe(no_mangle)]
extern "C" fn bench_raw_section(_ctx: *mut c_void) -> i32 {
    let mut attributes =
        sys::InitializeObjectAttributes(null_mut(), sys::OBJ_KERNEL_HANDLE | sys::OBJ_CASE_INSENSITIVE);
    let mut maximum = sys::LARGE_INTEGER { QuadPart: VIEW_SIZE as i64 };
    let mut handle: sys::HANDLE = null_mut();
    // SAFETY: valid out-pointers and attributes; a pagefile-backed section.
    let created = unsafe {
        sys::ZwCreateSection(
            &mut handle,
            sys::SECTION_ALL_ACCESS,
            &mut attributes,
            &mut maximum,
            sys::PAGE_READWRITE,
            sys::SEC_COMMIT,
            null_mut(),
        )
    };
    if created < 0 {
        return created;
    }
    let mut base: sys::PVOID = null_mut();
    let mut offset = sys::LARGE_INTEGER { QuadPart: 0 };
    let mut view_size = VIEW_SIZE as sys::SIZE_T;
    // SAFETY: the section handle is open; the view is unmapped and the handle
    // closed exactly once below, at PASSIVE_LEVEL.
    unsafe {
        let mut result = sys::ZwMapViewOfSection(
            handle,
            sys::ZwCurrentProcess(),
            &mut base,
            0,
            0,
            &mut offset,
            &mut view_size,
            sys::_SECTION_INHERIT::ViewUnmap,
            0,
            sys::PAGE_READWRITE,
        );
        if result >= 0 {
            result = {
                keep_ptr(base);
                sys::ZwUnmapViewOfSection(sys::ZwCurrentProcess(), base)
            };
        }
        let closed = sys::ZwClose(handle);
        if result < 0 { result } else { closed.min(0) }
    }
}

#[unsafe(no_mangle)]
extern "C" fn bench_safe_section(_ctx: *mut c_void) -> i32 {
    status((|| {
        let section = Section::create(VIEW_SIZE as u64, SectionProtection::ReadWrite)?;
        let view = section.map::<ReadWrite>(0, VIEW_SIZE)?;
        keep(view.user_address() as u64);
        view.unmap()?;
        section.close()
    })())
}

// --- the 64 KiB copy out of a user view ---
//
// The view is a user view (`ZwMapViewOfSection` into the current process:
// the bench thread's, under Wine the driver's host process), so every form
// copies under SEH, as a correct C driver must: C is `memcpy` inside
// `__try/__except`, raw the crate's shim (`sys::copy_from_user`), safe
// `UserView::read_bytes`.

/// The copy rows' context: the view and the destination.
pub struct ViewCopy {
    /// `[source, destination]`, for the C form (whose accesses are outside
    /// Rust's borrows: only C reads and writes through these).
    pair: [*mut c_void; 2],
    view: UserView<ReadWrite>,
    destination: PoolBuffer,
}

#[unsafe(no_mangle)]
extern "C" fn bench_raw_copy(ctx: *mut c_void) -> i32 {
    // SAFETY: the row's context is the bench's ViewCopy, used by this thread
    // only: a destination of VIEW_SIZE bytes of pool, and a user view of this
    // process (the bench thread's) of VIEW_SIZE bytes, touched under SEH.
    unsafe {
        let copy = &mut *ctx.cast::<ViewCopy>();
        let destination = copy.destination.as_mut_ptr();
        let status = sys::copy_from_user(destination, copy.view.user_address() as *const u8, VIEW_SIZE);
        keep_ptr(destination);
        status
    }
}

#[unsafe(no_mangle)]
extern "C" fn bench_safe_copy(ctx: *mut c_void) -> i32 {
    // SAFETY: the row's context is the bench's ViewCopy, used by this thread only.
    let copy = unsafe { &mut *ctx.cast::<ViewCopy>() };
    let Some(destination) = copy.destination.get_mut(..VIEW_SIZE) else {
        return NtStatus::INVALID_PARAMETER.to_raw();
    };
    let result = copy.view.read_bytes(0, destination);
    keep_ptr(destination.as_ptr());
    status(result)
}

// --- registers ---

#[unsafe(no_mangle)]
extern "C" fn bench_raw_register(ctx: *mut c_void) -> i32 {
    let register = ctx.cast::<u32>();
    // SAFETY: the row's context is a register of a live MmMapIoSpace mapping.
    unsafe {
        let value = sys::READ_REGISTER_ULONG(register);
        sys::WRITE_REGISTER_ULONG(register, value.wrapping_add(1));
    }
    0
}

#[unsafe(no_mangle)]
extern "C" fn bench_safe_register(ctx: *mut c_void) -> i32 {
    // SAFETY: the row's context is the bench's IoSpace.
    let space = unsafe { &*ctx.cast::<IoSpace<IO_LENGTH>>() };
    let value = space.read32::<0>();
    space.write32::<0>(value.wrapping_add(1));
    0
}

/// What the rows run on, created at PASSIVE_LEVEL by the bench thread and
/// torn down by [`Bench::finish`].
pub struct Bench {
    mdl_buffer: Option<PoolBuffer>,
    mdl_raw: BenchBuffer,
    copy: Option<ViewCopy>,
    io_page: Option<PoolBuffer>,
    io_c: *mut c_void,
    io_safe: Result<IoSpace<IO_LENGTH>, NtStatus>,
    raw_ex: bool,
    safe_lists: [bool; 3],
    safe_ex_status: NtStatus,
}

impl Bench {
    /// Sets everything up; what cannot be set up makes its cells "n/a".
    pub fn new() -> Bench {
        // SAFETY: PASSIVE_LEVEL; the lists are static (never move) and
        // initialised once, deleted in finish().
        unsafe {
            ffi::bench_c_setup();
            let tag = TAG.to_u32();
            sys::ExInitializeNPagedLookasideList(
                RAW_NP.get(),
                None,
                None,
                sys::POOL_NX_ALLOCATION,
                ENTRY_SIZE as _,
                tag,
                0,
            );
            sys::ExInitializePagedLookasideList(RAW_PAGED.get(), None, None, 0, ENTRY_SIZE as _, tag, 0);
        }
        let raw_ex = sys::lookaside_list_ex_routines(true).is_some_and(|routines| {
            // SAFETY: the kernel's ExInitializeLookasideListEx on a static list.
            let status = unsafe {
                (routines.initialize)(
                    RAW_EX.get(),
                    None,
                    None,
                    sys::_POOL_TYPE::NonPagedPoolNx,
                    0,
                    ENTRY_SIZE as _,
                    TAG.to_u32(),
                    0,
                )
            };
            status >= 0
        });
        let np = Pin::static_ref(&SAFE_NP).init(LookasideConfig::new(TAG)).is_ok();
        let paged = Pin::static_ref(&SAFE_PAGED).init(LookasideConfig::new(TAG)).is_ok();
        let ex = Pin::static_ref(&SAFE_EX).init(LookasideConfig::new(TAG));

        let mut mdl_buffer = PoolBuffer::new(MDL_BUFFER, 0, TAG, PoolType::NonPagedNx).ok();
        let mdl_raw = BenchBuffer {
            address: mdl_buffer.as_mut().map_or(null_mut(), |buffer| buffer.as_mut_ptr().cast()),
            length: MDL_BUFFER as u32,
        };
        let copy = (|| {
            let section = Section::create(VIEW_SIZE as u64, SectionProtection::ReadWrite)?;
            let mut view = section.map::<ReadWrite>(0, VIEW_SIZE)?;
            view.write_bytes(0, &[0x5A; 256])?;
            let mut destination = PoolBuffer::new(VIEW_SIZE, 0, TAG, PoolType::NonPagedNx)?;
            let pair = [view.user_address() as *mut c_void, destination.as_mut_ptr().cast()];
            // The view keeps the section alive.
            section.close()?;
            Ok::<_, NtStatus>(ViewCopy { pair, view, destination })
        })()
        .ok();
        // One whole page (page-aligned), so that one physical address covers it.
        let io_page = PoolBuffer::new(IO_LENGTH, IO_LENGTH, TAG, PoolType::NonPagedNx).ok();
        let physical = io_page.as_ref().and_then(|page| physical_address(page.as_ptr()).ok().flatten());
        let io_c = match physical {
            // SAFETY: maps the driver's own page (as the sample's I/O-space
            // IOCTL does); unmapped in finish().
            Some(physical) => unsafe { ffi::bench_c_map_io_space(physical.get(), IO_LENGTH) },
            None => null_mut(),
        };
        let io_safe = physical
            .ok_or(NtStatus::UNSUCCESSFUL)
            .and_then(|physical| IoSpace::<IO_LENGTH>::map(physical, IO_LENGTH, CacheType::Cached));
        Bench {
            mdl_buffer,
            mdl_raw,
            copy,
            io_page,
            io_c,
            io_safe,
            raw_ex,
            safe_lists: [np, paged, ex.is_ok()],
            safe_ex_status: NtStatus::from(ex),
        }
    }

    /// The table's rows, in order.
    pub fn rows(&mut self) -> [Row; 12] {
        use Variant::{Absent, Run};
        let none = null_mut();
        let list = |ready: bool, op: crate::ffi::Operation| if ready { Run(op, none) } else { Absent("init failed") };
        // The C forms below are each paired with the context their C body
        // expects.
        // SAFETY: bench_c_setup ran in new().
        let c_ex = if unsafe { ffi::bench_c_have_lookaside_ex() } != 0 {
            Run(ffi::bench_c_lookaside_ex as _, none)
        } else {
            Absent("no ExInitializeLookasideListEx")
        };
        let safe_ex = if self.safe_lists[2] {
            Run(bench_safe_lookaside_ex as _, none)
        } else if self.safe_ex_status == NtStatus::PROCEDURE_NOT_FOUND {
            Absent("no ExInitializeLookasideListEx")
        } else {
            Absent("init failed")
        };
        let raw_ex =
            if self.raw_ex { Run(bench_raw_lookaside_ex as _, none) } else { Absent("no ExInitializeLookasideListEx") };
        let mdl_ctx = (&raw mut self.mdl_raw).cast::<c_void>();
        let (mdl_c, mdl_raw, mdl_safe) = match self.mdl_buffer.as_mut() {
            Some(buffer) => (
                Run(ffi::bench_c_mdl as _, mdl_ctx),
                Run(bench_raw_mdl as _, mdl_ctx),
                Run(bench_safe_mdl as _, (buffer as *mut PoolBuffer).cast()),
            ),
            None => (Absent("no pool"), Absent("no pool"), Absent("no pool")),
        };
        let copy = match self.copy.as_mut() {
            Some(copy) => {
                let ctx = (copy as *mut ViewCopy).cast::<c_void>();
                [
                    Run(ffi::bench_c_copy as _, copy.pair.as_mut_ptr().cast()),
                    Run(bench_raw_copy as _, ctx),
                    Run(bench_safe_copy as _, ctx),
                ]
            }
            None => [Absent("no view"); 3],
        };
        let io_c_cell =
            |op| if self.io_c.is_null() { Absent("MmMapIoSpace returned NULL") } else { Run(op, self.io_c) };
        let io_safe = match &self.io_safe {
            Ok(space) => Run(bench_safe_register as _, (space as *const IoSpace<IO_LENGTH>).cast_mut().cast()),
            Err(NtStatus::INSUFFICIENT_RESOURCES) => Absent("IoSpace::map: INSUFFICIENT_RESOURCES (MmMapIoSpace NULL)"),
            Err(_) => Absent("IoSpace::map failed"),
        };
        [
            Row {
                name: "empty call (loop overhead)",
                iterations: 20_000,
                variants: [
                    Run(ffi::bench_c_empty as _, none),
                    Run(bench_rust_empty as _, none),
                    Run(bench_rust_empty as _, none),
                ],
            },
            Row {
                name: "IRQL read (KeGetCurrentIrql)",
                iterations: 2_000,
                variants: [
                    Run(ffi::bench_c_irql as _, none),
                    Run(bench_raw_irql as _, none),
                    Run(bench_safe_irql as _, none),
                ],
            },
            Row {
                name: "non-paged lookaside alloc+free",
                iterations: 10_000,
                variants: [
                    Run(ffi::bench_c_lookaside_np as _, none),
                    Run(bench_raw_lookaside_np as _, none),
                    list(self.safe_lists[0], bench_safe_lookaside_np),
                ],
            },
            Row {
                name: "paged lookaside alloc+free",
                iterations: 10_000,
                variants: [
                    Run(ffi::bench_c_lookaside_paged as _, none),
                    Run(bench_raw_lookaside_paged as _, none),
                    list(self.safe_lists[1], bench_safe_lookaside_paged),
                ],
            },
            Row { name: "LOOKASIDE_LIST_EX alloc+free", iterations: 10_000, variants: [c_ex, raw_ex, safe_ex] },
            Row {
                name: "pool 64 B NX alloc+free (PoolBox)",
                iterations: 10_000,
                variants: [
                    Run(ffi::bench_c_pool_value as _, none),
                    Run(bench_raw_pool_value as _, none),
                    Run(bench_safe_pool_box as _, none),
                ],
            },
            Row {
                name: "pool 64 B NX zeroed (PoolBuffer)",
                iterations: 10_000,
                variants: [
                    Run(ffi::bench_c_pool_zeroed as _, none),
                    Run(bench_raw_pool_zeroed as _, none),
                    Run(bench_safe_pool_buffer as _, none),
                ],
            },
            Row {
                name: "pool 64 B NX (Box, KernelAllocator)",
                iterations: 10_000,
                variants: [
                    Run(ffi::bench_c_pool_value as _, none),
                    Run(bench_raw_pool_value as _, none),
                    Run(bench_safe_global_box as _, none),
                ],
            },
            Row { name: "MDL alloc+build non-paged+free", iterations: 10_000, variants: [mdl_c, mdl_raw, mdl_safe] },
            Row {
                name: "section 64 KiB create+map+unmap+close",
                iterations: 200,
                variants: [
                    Run(ffi::bench_c_section as _, none),
                    Run(bench_raw_section as _, none),
                    Run(bench_safe_section as _, none),
                ],
            },
            Row { name: "64 KiB copy out of a user view (SEH)", iterations: 500, variants: copy },
            Row {
                name: "register read32+write32",
                iterations: 10_000,
                variants: [io_c_cell(ffi::bench_c_register as _), io_c_cell(bench_raw_register as _), io_safe],
            },
        ]
    }

    /// Deletes and frees everything (PASSIVE_LEVEL; no entry is out).
    pub fn finish(self) {
        // SAFETY: the measurements are over: every entry was dropped and
        // no other thread uses the lists.
        unsafe {
            let _ = Pin::static_ref(&SAFE_NP).delete();
            let _ = Pin::static_ref(&SAFE_PAGED).delete();
            let _ = Pin::static_ref(&SAFE_EX).delete();
        }
        if self.raw_ex {
            if let Some(routines) = sys::lookaside_list_ex_routines(true) {
                // SAFETY: initialised in new(), no entry out.
                unsafe { (routines.delete)(RAW_EX.get()) };
            }
        }
        // SAFETY: initialised in new(), no entry out, PASSIVE_LEVEL.
        unsafe {
            sys::ExDeleteNPagedLookasideList(RAW_NP.get());
            sys::ExDeletePagedLookasideList(RAW_PAGED.get());
        }
        if !self.io_c.is_null() {
            // SAFETY: mapped in new() with this length, no longer used.
            unsafe { ffi::bench_c_unmap_io_space(self.io_c, IO_LENGTH) };
        }
        drop(self.io_safe);
        drop(self.io_page);
        drop(self.copy);
        drop(self.mdl_buffer);
        // SAFETY: PASSIVE_LEVEL, no C entry out.
        unsafe { ffi::bench_c_teardown() };
    }
}
