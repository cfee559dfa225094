//! The API-sequence fuzzer's harness, shared by `tests/fuzz_api.rs` (the
//! bounded deterministic run of the test suite) and the cargo-fuzz target
//! `fuzz/fuzz_targets/api.rs` (libFuzzer).
//!
//! [`run_sequence`] turns bytes into a sequence of [`Step`]s with
//! `arbitrary` and plays them against a fresh kernel model, as a driver and
//! its user-mode callers would: sections and their user, system and
//! exclusive views (named, reserved, committed), pageable statics, pool of
//! every type, the three lookaside families (also from other threads), MDLs
//! over user buffers that the user side reprotects or frees between steps
//! and from another thread during the step, I/O space of a model device,
//! fault injection, in the System process, a simulated user process or the
//! wrong one, at PASSIVE_LEVEL or raised. One step in four is of the newer
//! groups ([`Newer`]), each in a submodule with its state: `user` (copies
//! through `UserSlice`s of METHOD_NEITHER pointers and raw addresses, good,
//! NULL, kernel, misaligned, wrapping, freed or reprotected, also by a
//! racing user thread; `SecuredUserSlice`s secured, copied through,
//! released in and out of their process while the user side frees or
//! reprotects the range), `pages` (`PagesMdl` with random flags, cache
//! types, ranges and sizes, partial grants under a page limit, system
//! mappings, `UserMapping`s the application reads and writes, unmapped in
//! and out of their process) and `bus` (`HalTranslateBusAddress` of random
//! bus addresses checked against the simulated buses, port ranges and their
//! accesses of every width and `_BUFFER_` form, compile-time-checked ports
//! and registers, and `READ_REGISTER_BUFFER_*`/`WRITE_REGISTER_BUFFER_*`
//! blocks read back as written); operations on a slice or a mapping mostly
//! run in its process, as a dispatch routine runs in its requester's.
//! Arguments are drawn to be often invalid: huge and zero sizes, misaligned
//! offsets, wrong IRQL, wrong process. After every step the verifier must
//! be clean; at the end the harness drops everything at PASSIVE_LEVEL
//! (secures and user mappings in their processes), exits the processes and
//! the verifier's report must be clean.
//!
//! Not generated (each is a bug check or a leak by the crate's documented
//! contract, which the verifier rightly reports, not a defect):
//! - touching paged memory above APC_LEVEL (dereferencing a paged
//!   `PoolBox`/`PoolBuffer` or an entry of a paged lookaside list): the docs
//!   make it the caller's bug check (0xD1/0xA);
//! - dropping, freeing, unmapping, unlocking or closing anything above the
//!   IRQL its release needs: documented as a leak (the verifier reports it
//!   at unload), so the harness releases only at PASSIVE_LEVEL;
//! - unmapping (or dropping) a user view of the System process from another
//!   process: documented to leave the view mapped until its process exits,
//!   which the System process never does (views of user processes are
//!   unmapped from the wrong process freely: their exit cleans up);
//! - a process exiting while the driver holds pages of it locked, or has
//!   pages mapped into it (a `UserMapping`): Windows bug-checks (0x76
//!   PROCESS_HAS_LOCKED_PAGES), so the harness unlocks its MDLs and unmaps
//!   its mappings first, as a driver does at IRP_MJ_CLEANUP (exits happen
//!   only at PASSIVE_LEVEL for that reason); likewise it releases the
//!   secures of the process's memory (a handle left to the exit is a leak);
//! - dropping a `UserMapping` or a `SecuredUserSlice` outside its process
//!   (documented to leave the mapping or the handle to the exit: a leak);
//!   `unmap`/`release` there are generated (they give the value back);
//! - a second user mapping of one `PagesMdl` in one process (Windows allows
//!   it; the model does not model it and says so: `MDL_NOT_MODELLED`);
//! - a port range over ports no device owns (which ports it opens is the
//!   driver's responsibility, the verifier's `IO_PORT_UNCLAIMED`): ranges
//!   of any base and length are made, only those inside the port device
//!   are kept and accessed;
//! - `mem::forget` and the `unsafe` API (raw handles, `for_kernel_address`,
//!   `delete_abandoning_entries`, `page_entire_driver`; `from_irp` only of
//!   a live model IRP, as a dispatch routine gets it).

mod bus;
mod pages;
mod user;

use std::{
    pin::Pin,
    sync::atomic::{AtomicU64, Ordering},
    thread,
    vec::Vec,
};

use arbitrary::{Arbitrary, Unstructured};
use wdm_mem::{
    Irql, NtStatus,
    address::{is_address_valid, physical_address},
    io_space::IoSpace,
    lookaside::{LookasideConfig, LookasideListEx, NPagedLookasideList, PagedLookasideList},
    mdl::{LockedMdl, Mdl, NonPagedMdl, PagePriority, ReadAccess, UserBuffer, WriteAccess, with_user_buffer},
    memory::{CacheType, ContiguousBuffer, NonCachedBuffer, PhysicalAddress, PhysicalLimits},
    model::{Fault, Kernel, UserProcess, UserProtection, UserRange},
    object_name,
    pool::{PoolBox, PoolBuffer, PoolTag, PoolType},
    pool_tag,
    section::{
        BackingFile, Exclusive, FileAccess, ObjectName, ReadOnly, ReadWrite, Section, SectionAccess, SectionProtection,
        SystemView, UserView, WriteCopy,
    },
    sys,
};

wdm_mem::pageable_static! {
    /// In the default section.
    static COUNTERS: [u64; 4] = [0; 4];
}
wdm_mem::pageable_static! {
    /// Also in the default section: locking one locks the other's section.
    static TOTAL: u64 = 0;
}
wdm_mem::pageable_static! {
    /// In a section of its own.
    #[section = "PAGEfz"]
    static TABLE: [u32; 16] = [0; 16];
}

const TAG: PoolTag = pool_tag!(b"Fuzz");
const PAGE: usize = 4096;
/// The model device's registers.
const DEVICE_BASE: u64 = 0x3_F000_0000;
const DEVICE_SIZE: usize = 0x2000;
/// At most this many live objects of each kind (keeps a sequence's memory
/// bounded; an operation on a full table does nothing).
const MAX_LIVE: usize = 8;
/// The model file that file-backed sections map (created by each sequence).
const FILE: &str = "\\??\\C:\\wdm-mem-fuzz.bin";
const NAMES: [ObjectName<'static>; 3] = [
    object_name!("\\BaseNamedObjects\\WdmMemFuzz0"),
    object_name!("\\BaseNamedObjects\\WdmMemFuzz1"),
    object_name!("\\BaseNamedObjects\\WdmMemFuzz2"),
];

/// A size or offset, chosen to hit the interesting cases often.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Size {
    /// 0..=255 bytes.
    Small(u8),
    /// A whole number of pages, 0..=15.
    Pages(u8),
    /// Pages plus a few bytes: misaligned.
    Odd(u8, u8),
    /// Up to 4 MiB, or (top bit set) anything: sizes that succeed stay small
    /// enough for the host (the model fills freed pool with its poison).
    Any(u64),
    /// Around `usize::MAX`.
    Max(u8),
}

impl Size {
    fn get(self) -> usize {
        match self {
            Size::Small(n) => n as usize,
            Size::Pages(n) => (n % 16) as usize * PAGE,
            Size::Odd(pages, bytes) => (pages % 4) as usize * PAGE + (bytes % 16) as usize + 1,
            Size::Any(n) if n >> 63 == 1 => n as usize,
            Size::Any(n) => (n % (4 << 20)) as usize,
            Size::Max(n) => usize::MAX - (n % 8) as usize,
        }
    }
}

/// The IRQL a step runs at, and how it gets there.
#[derive(Debug, Clone, Copy)]
pub enum Level {
    /// PASSIVE_LEVEL (most steps).
    Passive,
    /// `Kernel::at_irql(level)`.
    At(u8),
    /// `Irql::run_raised(level)` (an error when not a raise).
    Raised(u8),
}

impl<'a> Arbitrary<'a> for Level {
    /// Two steps in three at PASSIVE_LEVEL (most of the API needs it).
    fn arbitrary(input: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u8::arbitrary(input)? {
            0..=169 => Level::Passive,
            level @ 170..=212 => Level::At(level),
            level => Level::Raised(level),
        })
    }
}

/// One step: an operation, at an IRQL, in a process context.
#[derive(Debug)]
pub struct Step {
    level: Level,
    /// Index into the processes (live, then exited) modulo their number
    /// plus one: the last is the System process.
    process: u8,
    op: Op,
}

impl<'a> Arbitrary<'a> for Step {
    /// One step in four is of the newer groups ([`Newer`]), which would be
    /// one variant in fifty otherwise.
    fn arbitrary(input: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let (level, process) = (Level::arbitrary(input)?, u8::arbitrary(input)?);
        let op = if u8::arbitrary(input)? < 64 { Op::Newer(Newer::arbitrary(input)?) } else { Op::arbitrary(input)? };
        Ok(Step { level, process, op })
    }
}

/// The operations of the submodules: user slices, fresh pages, buses.
#[derive(Arbitrary, Debug)]
pub enum Newer {
    /// Mostly in the requester's context (the slice's process), as a
    /// dispatch routine runs (`true`), else in the step's.
    Slice(bool, user::SliceOp),
    Secured(bool, user::SecuredOp),
    Pages(pages::PagesOp),
    Shared(bool, pages::SharedOp),
    Bus(bus::BusOp),
    Ports(bus::PortOp),
    Registers(bus::RegistersOp),
}

/// An operation of the public API (indices pick a live object modulo the
/// table's length).
#[derive(Arbitrary, Debug)]
pub enum Op {
    NewProcess,
    ExitProcess(u8),
    PoolBuffer { pool: u8, len: Size, align: u8 },
    PoolBox { pool: u8, value: u64 },
    TouchPool { index: u8, offset: Size, value: u8 },
    FreePool(u8),
    PoolMdl { index: u8, offset: Size, value: u8 },
    ListInit { family: u8, pool: Option<u8> },
    ListAllocate { family: u8, count: u8, on_thread: bool },
    ListTouch { family: u8, index: u8, value: u64 },
    ListFree { family: u8, index: u8, on_thread: bool },
    ListDelete(u8),
    ListStats(u8),
    SectionCreate { size: Size, protection: u8, name: Option<u8>, reserve: bool, open_if: bool },
    SectionOpen { name: u8, write: bool },
    SectionClose(u8),
    SectionQuery(u8),
    MapUser { section: u8, kind: u8, offset: u8, size: Size },
    MapSystem { section: u8, write: bool },
    MapExclusive { size: Size, write: bool },
    UserViewAccess { view: u8, offset: Size, len: u8, write: bool },
    UserViewCommit { view: u8, offset: Size, len: Size },
    UserViewUnmap(u8),
    UserSide { view: u8, action: u8, offset: Size, len: Size },
    SystemViewAccess { view: u8, offset: Size, len: u8, write: bool },
    SystemViewUnmap(u8),
    StaticLock { which: u8, exclusive: bool },
    StaticTouch { index: u8, value: u32 },
    StaticUnlock(u8),
    UserBuffer { len: Size, read_only: bool },
    UserBufferProtect { buffer: u8, protection: u8 },
    UserBufferFree(u8),
    MdlLock { buffer: u8, offset: Size, len: Size, write: bool },
    MdlMap { mdl: u8, priority: u8, offset: Size, value: u8, racing: Option<u8> },
    MdlUnlock(u8),
    WithUserBuffer { buffer: u8, offset: Size, len: Size, write: bool, racing: Option<u8> },
    IoMap { offset: u8, len: Size, cache: u8 },
    IoAccess { index: u8, offset: Size, width: u8, write: bool, value: u64 },
    IoUnmap(u8),
    Inject { after: u8, routine: Option<u8> },
    NonCached { len: Size },
    Contiguous { len: Size, highest: u8, boundary: u8, cache: u8 },
    TouchMemory { index: u8, offset: Size, value: u8 },
    FreeMemory(u8),
    AddressQuery { index: u8, offset: Size, physical: bool },
    FileSection { size: Size, write: bool, protection: u8 },
    Newer(Newer),
}

/// Non-cached or contiguous memory (resident: touched at any IRQL).
enum Memory {
    NonCached(NonCachedBuffer),
    Contiguous(ContiguousBuffer),
}

impl Memory {
    fn bytes(&mut self) -> &mut [u8] {
        match self {
            Memory::NonCached(buffer) => buffer,
            Memory::Contiguous(buffer) => buffer,
        }
    }
}

/// What one operation needs: may it release things, may it touch paged
/// memory (see the module documentation).
#[derive(Clone, Copy)]
struct Context {
    passive: bool,
    paged_ok: bool,
    non_paged_ok: bool,
    process: Option<UserProcess>,
}

enum AnyUserView {
    ReadWrite(UserView<ReadWrite>),
    ReadOnly(UserView<ReadOnly>),
    WriteCopy(UserView<WriteCopy>),
}

impl AnyUserView {
    fn user_address(&self) -> usize {
        match self {
            AnyUserView::ReadWrite(view) => view.user_address(),
            AnyUserView::ReadOnly(view) => view.user_address(),
            AnyUserView::WriteCopy(view) => view.user_address(),
        }
    }

    fn len(&self) -> usize {
        match self {
            AnyUserView::ReadWrite(view) => view.len(),
            AnyUserView::ReadOnly(view) => view.len(),
            AnyUserView::WriteCopy(view) => view.len(),
        }
    }
}

enum AnySystemView {
    ReadWrite(SystemView<ReadWrite>),
    ReadOnly(SystemView<ReadOnly>),
    ExclusiveReadWrite(SystemView<ReadWrite, Exclusive>),
    ExclusiveReadOnly(SystemView<ReadOnly, Exclusive>),
}

enum Pool {
    Buffer(PoolBuffer),
    Boxed(PoolBox<[u64; 8]>),
}

impl Pool {
    fn is_paged(&self) -> bool {
        match self {
            Pool::Buffer(buffer) => buffer.pool_type().is_paged(),
            Pool::Boxed(boxed) => boxed.pool_type().is_paged(),
        }
    }
}

enum Locked {
    Read(LockedMdl<'static, UserBuffer, ReadAccess>),
    Write(LockedMdl<'static, UserBuffer, WriteAccess>),
}

type Entry = [u64; 4];

/// The three lists of a sequence (they outlive every entry).
struct Lists {
    non_paged: Pin<Box<NPagedLookasideList<Entry>>>,
    paged: Pin<Box<PagedLookasideList<Entry>>>,
    ex: Pin<Box<LookasideListEx<Entry>>>,
}

/// The live entries of one family, with whether the list's pool is paged.
struct Entries<'a, K: wdm_mem::lookaside::ListKind> {
    boxes: Vec<wdm_mem::lookaside::LookasideBox<'a, Entry, K>>,
    paged: bool,
}

impl<K: wdm_mem::lookaside::ListKind> Default for Entries<'_, K> {
    fn default() -> Self {
        Entries { boxes: Vec::new(), paged: false }
    }
}

/// Everything a sequence holds.
struct World<'l> {
    kernel: &'l Kernel,
    lists: &'l Lists,
    processes: Vec<UserProcess>,
    exited: Vec<UserProcess>,
    pool: Vec<Pool>,
    non_paged_entries: Entries<'l, wdm_mem::lookaside::NonPaged>,
    paged_entries: Entries<'l, wdm_mem::lookaside::Paged>,
    ex_entries: Entries<'l, wdm_mem::lookaside::Ex>,
    sections: Vec<Section>,
    user_views: Vec<(AnyUserView, Option<UserProcess>)>,
    system_views: Vec<AnySystemView>,
    counters: Vec<wdm_mem::paging::PageableRef<'static, [u64; 4]>>,
    guards: Vec<Guard>,
    user_buffers: Vec<(UserRange, bool)>,
    locked: Vec<Locked>,
    io: Vec<IoSpace>,
    memory: Vec<Memory>,
    user: user::Slices,
    pages: pages::Pages,
    ports: bus::Ports,
}

/// A lock guard of one of the pageable statics (the shared guards of `COUNTERS` live in `counters`).
enum Guard {
    Counters(wdm_mem::paging::PageableMut<'static, [u64; 4]>),
    Total(wdm_mem::paging::PageableMut<'static, u64>),
    Table(wdm_mem::paging::PageableMut<'static, [u32; 16]>),
    SharedTotal(wdm_mem::paging::PageableRef<'static, u64>),
    SharedTable(wdm_mem::paging::PageableRef<'static, [u32; 16]>),
}

fn pick<T>(items: &[T], index: u8) -> Option<usize> {
    (!items.is_empty()).then(|| index as usize % items.len())
}

fn pool_type(selector: u8) -> PoolType {
    PoolType::ALL[selector as usize % PoolType::ALL.len()]
}

fn full<T>(items: &[T]) -> bool {
    items.len() >= MAX_LIVE
}

/// Totals over all the sequences run by this process.
pub static SEQUENCES: AtomicU64 = AtomicU64::new(0);
/// See [`SEQUENCES`].
pub static OPERATIONS: AtomicU64 = AtomicU64::new(0);

/// Runs the sequence `data` describes against a fresh kernel; panics on a
/// verifier violation (after any step, or at the end). Returns the number of
/// steps run.
pub fn run_sequence(data: &[u8]) -> usize {
    let mut input = Unstructured::new(data);
    let kernel = Kernel::new();
    let device = kernel.add_device(DEVICE_BASE, DEVICE_SIZE);
    kernel.create_file(FILE, &[0x5A; 3 * PAGE]);
    bus::set_up(&kernel);
    kernel.limit_mdl_pages(pages::PAGE_LIMIT);
    let lists = Lists {
        non_paged: Box::pin(NPagedLookasideList::new()),
        paged: Box::pin(PagedLookasideList::new()),
        ex: Box::pin(LookasideListEx::new()),
    };
    let mut world = World::new(&kernel, &lists);
    let mut steps = Vec::new();
    let trace = std::env::var_os("WDM_FUZZ_TRACE").is_some();
    while !input.is_empty() {
        let Ok(step) = Step::arbitrary(&mut input) else { break };
        if trace {
            eprintln!("{step:?}");
        }
        world.step(&step);
        steps.push(step);
        let violations = kernel.violations();
        assert!(violations.is_empty(), "violations {violations:#?} after the steps {steps:#?}");
    }
    world.release_all();
    drop(world);
    drop(lists);
    drop(device);
    let report = kernel.finish();
    assert!(report.is_clean(), "at the end: {report:#?} after the steps {steps:#?}");
    SEQUENCES.fetch_add(1, Ordering::Relaxed);
    OPERATIONS.fetch_add(steps.len() as u64, Ordering::Relaxed);
    steps.len()
}

impl<'l> World<'l> {
    fn new(kernel: &'l Kernel, lists: &'l Lists) -> Self {
        World {
            kernel,
            lists,
            processes: Vec::new(),
            exited: Vec::new(),
            pool: Vec::new(),
            non_paged_entries: Entries::default(),
            paged_entries: Entries { boxes: Vec::new(), paged: true },
            ex_entries: Entries::default(),
            sections: Vec::new(),
            user_views: Vec::new(),
            system_views: Vec::new(),
            counters: Vec::new(),
            guards: Vec::new(),
            user_buffers: Vec::new(),
            locked: Vec::new(),
            io: Vec::new(),
            memory: Vec::new(),
            user: user::Slices::default(),
            pages: pages::Pages::default(),
            ports: bus::Ports::default(),
        }
    }

    /// Runs one step at its IRQL in its process.
    fn step(&mut self, step: &Step) {
        let all = self.processes.len() + self.exited.len();
        let index = step.process as usize % (all + 1);
        let process = self.processes.iter().chain(&self.exited).nth(index).copied();
        // Or, as a dispatch routine runs, in the requester's process.
        let process = self.requester(&step.op).unwrap_or(process);
        let run = |world: &mut Self, ctx: Context| match process {
            Some(process) => process.run(|| world.op(&step.op, ctx)),
            None => world.op(&step.op, ctx),
        };
        let context = |irql: Irql| Context {
            passive: irql == Irql::PASSIVE,
            paged_ok: irql <= Irql::APC,
            non_paged_ok: irql <= Irql::DISPATCH,
            process,
        };
        match step.level {
            Level::Passive => run(self, context(Irql::PASSIVE)),
            Level::At(level) => {
                let irql = irql_of(level);
                let kernel = self.kernel;
                kernel.at_irql(irql, || run(self, context(irql)));
            }
            Level::Raised(level) => {
                let irql = irql_of(level);
                match Irql::run_raised(irql, || run(self, context(irql))) {
                    Ok(()) => {}
                    Err(status) => assert_eq!(status, NtStatus::INVALID_PARAMETER, "run_raised({irql:?})"),
                }
            }
        }
    }

    fn op(&mut self, op: &Op, ctx: Context) {
        match *op {
            Op::NewProcess if self.processes.len() < 4 && self.exited.len() < MAX_LIVE => {
                self.processes.push(self.kernel.create_process())
            }
            Op::NewProcess => {}
            // A process exits (its handle to the driver closed first): the
            // driver unlocks its MDLs and unmaps the pages it shared with the
            // process at IRP_MJ_CLEANUP, as it must, since pages still locked
            // or mapped at exit are bug check 0x76, and releases the secures
            // of its memory (a leak otherwise).
            Op::ExitProcess(index) if Irql::current() == Irql::PASSIVE => {
                if let Some(i) = pick(&self.processes, index) {
                    self.locked.clear();
                    self.unmap_shared_of(self.processes[i]);
                    self.release_secured_of(self.processes[i]);
                    let process = self.processes.swap_remove(i);
                    process.exit();
                    self.exited.push(process);
                }
            }
            Op::ExitProcess(_) => {}
            Op::PoolBuffer { pool, len, align } if !full(&self.pool) => {
                let align = 1usize.checked_shl(align as u32 % 16).unwrap_or(0) + usize::from(align >= 240);
                if let Ok(buffer) = PoolBuffer::new(len.get(), align, TAG, pool_type(pool)) {
                    self.pool.push(Pool::Buffer(buffer));
                }
            }
            Op::PoolBox { pool, value } if !full(&self.pool) => {
                if let Ok(boxed) = PoolBox::new([value; 8], TAG, pool_type(pool)) {
                    self.pool.push(Pool::Boxed(boxed));
                }
            }
            Op::PoolBuffer { .. } | Op::PoolBox { .. } => {}
            Op::TouchPool { index, offset, value } => {
                let Some(i) = pick(&self.pool, index) else { return };
                let allowed = if self.pool[i].is_paged() { ctx.paged_ok } else { ctx.non_paged_ok };
                if !allowed {
                    return; // a bug check by contract: not generated
                }
                match &mut self.pool[i] {
                    Pool::Buffer(buffer) => {
                        let len = buffer.len();
                        if len > 0 {
                            buffer[offset.get() % len] ^= value;
                        }
                    }
                    Pool::Boxed(boxed) => boxed[offset.get() % 8] = boxed[offset.get() % 8].wrapping_add(value as u64),
                }
            }
            Op::FreePool(index) => {
                if let Some(i) = pick(&self.pool, index).filter(|_| ctx.passive) {
                    drop(self.pool.swap_remove(i));
                }
            }
            Op::PoolMdl { index, offset, value } => {
                let Some(i) = pick(&self.pool, index) else { return };
                let Pool::Buffer(buffer) = &mut self.pool[i] else { return };
                if let Ok(mut mdl) = NonPagedMdl::for_pool_buffer(buffer) {
                    if let Ok(mut mapping) = mdl.map(priority(value)) {
                        let _ = mapping.write_bytes(offset.get(), &[value; 3]);
                        let _ = mapping.read::<u16>(offset.get());
                    }
                }
            }
            Op::ListInit { family, pool } => {
                let default = [PoolType::NonPagedNx, PoolType::Paged, PoolType::NonPagedNx][family as usize % 3];
                let pool = pool.map_or(default, pool_type);
                match family % 3 {
                    0 if self.lists.non_paged.as_ref().init(LookasideConfig::new(TAG).pool(pool)).is_ok() => {
                        self.non_paged_entries.paged = pool.is_paged();
                    }
                    1 => {
                        let _ = self.lists.paged.as_ref().init(LookasideConfig::new(TAG).pool(pool));
                    }
                    2 if self.lists.ex.as_ref().init(LookasideConfig::new(TAG).pool(pool)).is_ok() => {
                        self.ex_entries.paged = pool.is_paged()
                    }
                    _ => {}
                }
            }
            Op::ListAllocate { family, count, on_thread } => self.list_allocate(family, count % 4 + 1, on_thread),
            Op::ListTouch { family, index, value } => {
                fn touch<K: wdm_mem::lookaside::ListKind>(entries: &mut Entries<'_, K>, ctx: Context, i: u8, v: u64) {
                    let allowed = if entries.paged { ctx.paged_ok } else { ctx.non_paged_ok };
                    if let Some(i) = pick(&entries.boxes, i).filter(|_| allowed) {
                        let entry = &mut *entries.boxes[i];
                        entry[v as usize % 4] = entry[(v as usize % 4 + 1) % 4].wrapping_add(v);
                    }
                }
                match family % 3 {
                    0 => touch(&mut self.non_paged_entries, ctx, index, value),
                    1 => touch(&mut self.paged_entries, ctx, index, value),
                    _ => touch(&mut self.ex_entries, ctx, index, value),
                }
            }
            Op::ListFree { family, index, on_thread } if ctx.passive => {
                fn free<K: wdm_mem::lookaside::ListKind>(
                    entries: &mut Entries<'_, K>,
                    index: u8,
                    on_thread: bool,
                    kernel: &Kernel,
                ) {
                    let Some(i) = pick(&entries.boxes, index) else { return };
                    let entry = entries.boxes.swap_remove(i);
                    if on_thread {
                        let handle = kernel.handle();
                        thread::scope(|scope| {
                            scope.spawn(move || {
                                let _entered = handle.enter();
                                drop(entry);
                            });
                        });
                    } else {
                        drop(entry);
                    }
                }
                match family % 3 {
                    0 => free(&mut self.non_paged_entries, index, on_thread, self.kernel),
                    1 => free(&mut self.paged_entries, index, on_thread, self.kernel),
                    _ => free(&mut self.ex_entries, index, on_thread, self.kernel),
                }
            }
            Op::ListFree { .. } => {}
            Op::ListDelete(family) if ctx.passive => {
                // SAFETY: no other thread uses the lists during a step (the
                // second thread of an entry step is joined), and the model
                // always counts entries, so a delete with entries out is
                // refused (CANNOT_DELETE), which the step asserts.
                let result = unsafe {
                    match family % 3 {
                        0 => self.lists.non_paged.as_ref().delete(),
                        1 => self.lists.paged.as_ref().delete(),
                        _ => self.lists.ex.as_ref().delete(),
                    }
                };
                let outstanding =
                    [self.non_paged_entries.boxes.len(), self.paged_entries.boxes.len(), self.ex_entries.boxes.len()]
                        [family as usize % 3];
                if outstanding > 0 {
                    assert_eq!(result, Err(NtStatus::CANNOT_DELETE), "deleting a list with entries out");
                }
            }
            Op::ListDelete(_) => {}
            Op::ListStats(family) => {
                let _ = match family % 3 {
                    0 => self.lists.non_paged.as_ref().stats(),
                    1 => self.lists.paged.as_ref().stats(),
                    _ => self.lists.ex.as_ref().stats(),
                };
            }
            Op::SectionCreate { size, protection, name, reserve, open_if } if !full(&self.sections) => {
                let protection =
                    [SectionProtection::ReadWrite, SectionProtection::ReadOnly, SectionProtection::WriteCopy]
                        [protection as usize % 3];
                let mut builder = Section::builder().size(size.get() as u64).protection(protection);
                if let Some(name) = name {
                    builder = builder.named(NAMES[name as usize % NAMES.len()]);
                }
                if reserve {
                    builder = builder.reserve();
                }
                let created =
                    if open_if { builder.create_or_open().map(|(section, _)| section) } else { builder.create() };
                if let Ok(section) = created {
                    self.sections.push(section);
                }
            }
            Op::SectionCreate { .. } => {}
            Op::SectionOpen { name, write } if !full(&self.sections) => {
                let access = if write { SectionAccess::READ_WRITE } else { SectionAccess::READ };
                if let Ok(section) = Section::open(NAMES[name as usize % NAMES.len()], access) {
                    self.sections.push(section);
                }
            }
            Op::SectionOpen { .. } => {}
            Op::SectionClose(index) => {
                if let Some(i) = pick(&self.sections, index).filter(|_| ctx.passive) {
                    let _ = self.sections.swap_remove(i).close();
                }
            }
            Op::SectionQuery(index) => {
                if let Some(i) = pick(&self.sections, index) {
                    let _ = self.sections[i].size();
                }
            }
            Op::MapUser { section, kind, offset, size } if !full(&self.user_views) => {
                let Some(i) = pick(&self.sections, section) else { return };
                let section = &self.sections[i];
                // Mostly 64 KiB-aligned offsets (the allocation granularity).
                let offset = match offset {
                    0..=159 => 0,
                    160..=223 => u64::from(offset % 4) * 0x1_0000,
                    _ => u64::from(offset % 32) * PAGE as u64 + u64::from(offset & 1),
                };
                let size = match (size, section.size()) {
                    (Size::Any(_) | Size::Max(_), _) | (_, None) => size.get(),
                    (_, Some(whole)) => size.get() % (whole as usize + PAGE), // often within the section
                };
                let view = match kind % 3 {
                    0 => section.map::<ReadWrite>(offset, size).map(AnyUserView::ReadWrite),
                    1 => section.map::<ReadOnly>(offset, size).map(AnyUserView::ReadOnly),
                    _ => section.map::<WriteCopy>(offset, size).map(AnyUserView::WriteCopy),
                };
                if let Ok(view) = view {
                    self.user_views.push((view, ctx.process));
                }
            }
            Op::MapUser { .. } => {}
            Op::MapSystem { section, write } if !full(&self.system_views) => {
                let Some(i) = pick(&self.sections, section) else { return };
                let view = if write {
                    self.sections[i].map_system::<ReadWrite>().map(AnySystemView::ReadWrite)
                } else {
                    self.sections[i].map_system::<ReadOnly>().map(AnySystemView::ReadOnly)
                };
                if let Ok(view) = view {
                    self.system_views.push(view);
                }
            }
            Op::MapExclusive { size, write } if !full(&self.system_views) => {
                let builder = Section::builder().size(size.get() as u64);
                let view = if write {
                    builder.map_exclusive::<ReadWrite>().map(AnySystemView::ExclusiveReadWrite)
                } else {
                    builder
                        .protection(SectionProtection::ReadOnly)
                        .map_exclusive()
                        .map(AnySystemView::ExclusiveReadOnly)
                };
                if let Ok(view) = view {
                    self.system_views.push(view);
                }
            }
            Op::MapSystem { .. } | Op::MapExclusive { .. } => {}
            Op::UserViewAccess { view, offset, len, write } => {
                let Some(i) = pick(&self.user_views, view) else { return };
                let mut bytes = vec![len; len as usize];
                let offset = offset.get();
                let _ = match &mut self.user_views[i].0 {
                    AnyUserView::ReadWrite(view) if write => view.write_bytes(offset, &bytes),
                    AnyUserView::WriteCopy(view) if write => view.write_bytes(offset, &bytes),
                    AnyUserView::ReadWrite(view) => view.read_bytes(offset, &mut bytes),
                    AnyUserView::WriteCopy(view) => view.read_bytes(offset, &mut bytes),
                    AnyUserView::ReadOnly(view) => view.read_bytes(offset, &mut bytes),
                };
            }
            Op::UserViewCommit { view, offset, len } => {
                let Some(i) = pick(&self.user_views, view) else { return };
                let _ = match &self.user_views[i].0 {
                    AnyUserView::ReadWrite(view) => view.commit(offset.get(), len.get()),
                    AnyUserView::ReadOnly(view) => view.commit(offset.get(), len.get()),
                    AnyUserView::WriteCopy(view) => view.commit(offset.get(), len.get()),
                };
            }
            Op::UserViewUnmap(index) => {
                // In the current process, right or wrong (a wrong one leaves
                // the view mapped until its process exits).
                let Some(i) = pick(&self.user_views, index).filter(|_| ctx.passive) else { return };
                if self.user_views[i].1.is_none() && ctx.process.is_some() {
                    return; // the System process never exits: a documented leak, not generated
                }
                {
                    let _ = match self.user_views.swap_remove(i).0 {
                        AnyUserView::ReadWrite(view) => view.unmap(),
                        AnyUserView::ReadOnly(view) => view.unmap(),
                        AnyUserView::WriteCopy(view) => view.unmap(),
                    };
                }
            }
            Op::UserSide { view, action, offset, len } => {
                // The view's process's own code, between the driver's calls.
                let Some(i) = pick(&self.user_views, view) else { return };
                let (view, process) = &self.user_views[i];
                let Some(process) = process else { return };
                let base = view.user_address();
                let address = base.wrapping_add(offset.get() % (16 * PAGE));
                let len = len.get();
                let _ = match action % 6 {
                    0 => process.write(address, &vec![action; len % 512]),
                    1 => process.read(address, len % 512).map(drop),
                    2 => process.unmap(base),
                    3 => process.protect(address, len, sys::PAGE_NOACCESS),
                    4 => process.protect(address, len, sys::PAGE_READONLY),
                    _ => process.commit(address, len).and_then(|()| process.protect(address, len, sys::PAGE_READWRITE)),
                };
            }
            Op::SystemViewAccess { view, offset, len, write } => {
                let Some(i) = pick(&self.system_views, view) else { return };
                let mut bytes = vec![len; len as usize];
                let offset = offset.get();
                let _ = match &mut self.system_views[i] {
                    AnySystemView::ReadWrite(view) if write => view.write_bytes(offset, &bytes),
                    AnySystemView::ReadWrite(view) => view.read_bytes(offset, &mut bytes),
                    AnySystemView::ReadOnly(view) => view.read_bytes(offset, &mut bytes),
                    AnySystemView::ExclusiveReadWrite(view) if write => {
                        view.get_mut::<u32>(offset).map(|value| *value ^= 1)
                    }
                    AnySystemView::ExclusiveReadWrite(view) => view.read_bytes(offset, &mut bytes),
                    AnySystemView::ExclusiveReadOnly(view) => view.get::<u16>(offset).map(drop),
                };
            }
            Op::SystemViewUnmap(index) => {
                if let Some(i) = pick(&self.system_views, index).filter(|_| ctx.passive) {
                    let _ = match self.system_views.swap_remove(i) {
                        AnySystemView::ReadWrite(view) => view.unmap(),
                        AnySystemView::ReadOnly(view) => view.unmap(),
                        AnySystemView::ExclusiveReadWrite(view) => view.unmap(),
                        AnySystemView::ExclusiveReadOnly(view) => view.unmap(),
                    };
                }
            }
            Op::StaticLock { which, exclusive } if !full(&self.counters) && !full(&self.guards) => {
                match (which % 3, exclusive) {
                    (0, false) => COUNTERS.lock().map(|guard| self.counters.push(guard)),
                    (0, true) => COUNTERS.lock_mut().map(|guard| self.guards.push(Guard::Counters(guard))),
                    (1, false) => TOTAL.lock().map(|guard| self.guards.push(Guard::SharedTotal(guard))),
                    (1, true) => TOTAL.lock_mut().map(|guard| self.guards.push(Guard::Total(guard))),
                    (_, false) => TABLE.lock().map(|guard| self.guards.push(Guard::SharedTable(guard))),
                    (_, true) => TABLE.lock_mut().map(|guard| self.guards.push(Guard::Table(guard))),
                }
                .unwrap_or_default();
            }
            Op::StaticLock { .. } => {}
            Op::StaticTouch { index, value } => {
                // A locked static is resident: any IRQL.
                if let Some(i) = pick(&self.counters, index) {
                    let _ = self.counters[i][value as usize % 4];
                }
                if let Some(i) = pick(&self.guards, index) {
                    match &mut self.guards[i] {
                        Guard::Counters(guard) => guard[value as usize % 4] = guard[value as usize % 4].wrapping_add(1),
                        Guard::Total(guard) => **guard = guard.wrapping_add(value as u64),
                        Guard::Table(guard) => guard[value as usize % 16] ^= value,
                        Guard::SharedTotal(guard) => assert!(**guard < u64::MAX || value > 0),
                        Guard::SharedTable(guard) => assert!(guard[value as usize % 16] < u32::MAX || value > 0),
                    }
                }
            }
            Op::StaticUnlock(index) if ctx.paged_ok => {
                if let Some(i) = pick(&self.guards, index) {
                    drop(self.guards.swap_remove(i));
                } else if let Some(i) = pick(&self.counters, index) {
                    drop(self.counters.swap_remove(i));
                }
            }
            Op::StaticUnlock(_) => {}
            Op::UserBuffer { len, read_only } if !full(&self.user_buffers) => {
                let len = len.get() % (64 * PAGE) + 1;
                let range =
                    if read_only { self.kernel.read_only_user_buffer(len) } else { self.kernel.user_buffer(len) };
                self.user_buffers.push((range, true));
                self.user.note_buffer(range, ctx.process);
            }
            Op::UserBuffer { .. } => {}
            Op::UserBufferProtect { buffer, protection } => {
                if let Some(i) = pick(&self.user_buffers, buffer).filter(|&i| self.live_buffer(i)) {
                    self.kernel.protect_user_buffer(self.user_buffers[i].0, user_protection(protection));
                }
            }
            Op::UserBufferFree(buffer) => {
                if let Some(i) = pick(&self.user_buffers, buffer).filter(|&i| self.live_buffer(i)) {
                    self.kernel.free_user_buffer(self.user_buffers[i].0);
                    self.user_buffers[i].1 = false; // its address stays, freed: probes must fail
                }
            }
            Op::MdlLock { buffer, offset, len, write } if !full(&self.locked) => {
                let Some(i) = pick(&self.user_buffers, buffer) else { return };
                let address = self.user_buffers[i].0.address.wrapping_add(within(offset, self.user_buffers[i].0.len));
                let Ok(mdl) = Mdl::for_user_buffer(address, len.get()) else { return };
                let locked =
                    if write { mdl.lock::<WriteAccess>().map(Locked::Write) } else { mdl.lock().map(Locked::Read) };
                if let Ok(locked) = locked {
                    self.locked.push(locked);
                }
            }
            Op::MdlLock { .. } => {}
            Op::MdlMap { mdl, priority: p, offset, value, racing } => {
                let Some(i) = pick(&self.locked, mdl) else { return };
                let race = self.race(racing);
                let kernel = self.kernel;
                thread::scope(|scope| {
                    if let Some((range, protection)) = race {
                        scope.spawn(move || user_race(kernel, range, protection));
                    }
                    match &mut self.locked[i] {
                        Locked::Read(locked) => {
                            if let Ok(mapping) = locked.map(priority(p)) {
                                let _ = mapping.read::<u32>(offset.get());
                            }
                        }
                        Locked::Write(locked) => {
                            if let Ok(mut mapping) = locked.map(priority(p)) {
                                let _ = mapping.write_bytes(offset.get(), &[value; 5]);
                                let _ = mapping.read::<u64>(offset.get());
                            }
                        }
                    }
                });
                self.after_race(race);
            }
            Op::MdlUnlock(index) => {
                if let Some(i) = pick(&self.locked, index).filter(|_| ctx.passive) {
                    let _ = match self.locked.swap_remove(i) {
                        Locked::Read(locked) => locked.unlock().map(drop),
                        Locked::Write(locked) => locked.unlock().map(drop),
                    };
                }
            }
            Op::WithUserBuffer { buffer, offset, len, write, racing } => {
                let Some(i) = pick(&self.user_buffers, buffer) else { return };
                let address = self.user_buffers[i].0.address.wrapping_add(within(offset, self.user_buffers[i].0.len));
                let race = self.race(racing);
                let kernel = self.kernel;
                let len = len.get();
                thread::scope(|scope| {
                    if let Some((range, protection)) = race {
                        scope.spawn(move || user_race(kernel, range, protection));
                    }
                    let _ = if write {
                        with_user_buffer::<WriteAccess, _>(address, len, PagePriority::Normal, |mapping| {
                            let _ = mapping.write_bytes(len / 2, &[1, 2, 3]);
                        })
                    } else {
                        with_user_buffer::<ReadAccess, _>(address, len, PagePriority::Low, |mapping| {
                            let _ = mapping.read::<u16>(len.saturating_sub(2));
                        })
                    };
                });
                self.after_race(race);
            }
            Op::IoMap { offset, len, cache } if !full(&self.io) => {
                // Mostly page-aligned bases, in the device or just past it.
                let offset = match offset {
                    0..=223 => u64::from(offset % 3) * PAGE as u64,
                    _ => u64::from(offset) * 8,
                };
                let physical = PhysicalAddress::new(DEVICE_BASE + offset);
                if let Ok(io) = IoSpace::map(physical, len.get() % 0x3000, cache_type(cache)) {
                    self.io.push(io);
                }
            }
            Op::IoMap { .. } => {}
            Op::IoAccess { index, offset, width, write, value } => {
                let Some(i) = pick(&self.io, index) else { return };
                let io = &self.io[i];
                let offset = offset.get();
                let _ = match (width % 4, write) {
                    (0, false) => io.try_read8(offset).map(drop),
                    (1, false) => io.try_read16(offset).map(drop),
                    (2, false) => io.try_read32(offset).map(drop),
                    (_, false) => io.try_read64(offset).map(drop),
                    (0, true) => io.try_write8(offset, value as u8),
                    (1, true) => io.try_write16(offset, value as u16),
                    (2, true) => io.try_write32(offset, value as u32),
                    (_, true) => io.try_write64(offset, value),
                };
            }
            Op::IoUnmap(index) => {
                if let Some(i) = pick(&self.io, index).filter(|_| ctx.passive) {
                    drop(self.io.swap_remove(i));
                }
            }
            Op::NonCached { len } if !full(&self.memory) => {
                if let Ok(buffer) = NonCachedBuffer::new(len.get()) {
                    self.memory.push(Memory::NonCached(buffer));
                }
            }
            Op::Contiguous { len, highest, boundary, cache } if !full(&self.memory) => {
                let highest = PhysicalAddress::new(u64::MAX >> (highest % 64));
                let boundary = if boundary < 128 { 0 } else { 1u64 << (boundary % 40) };
                let limits = PhysicalLimits::below(highest).boundary(boundary);
                if let Ok(buffer) = ContiguousBuffer::new(len.get(), limits, cache_type(cache)) {
                    self.memory.push(Memory::Contiguous(buffer));
                }
            }
            Op::NonCached { .. } | Op::Contiguous { .. } => {}
            Op::TouchMemory { index, offset, value } => {
                if let Some(i) = pick(&self.memory, index) {
                    let bytes = self.memory[i].bytes();
                    let len = bytes.len();
                    bytes[offset.get() % len] ^= value;
                }
            }
            Op::FreeMemory(index) => {
                if let Some(i) = pick(&self.memory, index).filter(|_| ctx.passive) {
                    drop(self.memory.swap_remove(i));
                }
            }
            Op::AddressQuery { index, offset, physical } => {
                // Any address: of a live object, near it, or anything at all.
                let base = match index % 4 {
                    0 => pick(&self.memory, index).map(|i| self.memory[i].bytes().as_ptr() as usize),
                    1 => pick(&self.user_buffers, index).map(|i| self.user_buffers[i].0.address),
                    // Dereferencing a paged block is a touch: not above APC_LEVEL.
                    2 if ctx.paged_ok => pick(&self.pool, index).map(|i| match &self.pool[i] {
                        Pool::Buffer(buffer) => buffer.as_ptr() as usize,
                        Pool::Boxed(boxed) => boxed.as_ptr() as usize,
                    }),
                    _ => None,
                };
                let address = base.unwrap_or(0).wrapping_add(offset.get()) as *const u8;
                let _ =
                    if physical { physical_address(address).map(drop) } else { is_address_valid(address).map(drop) };
            }
            Op::FileSection { size, write, protection } if !full(&self.sections) => {
                let access = if write { FileAccess::ReadWrite } else { FileAccess::Read };
                let Ok(file) = BackingFile::open(object_name!("\\??\\C:\\wdm-mem-fuzz.bin"), access) else { return };
                let protection =
                    [SectionProtection::ReadWrite, SectionProtection::ReadOnly, SectionProtection::WriteCopy]
                        [protection as usize % 3];
                if let Ok(section) =
                    Section::builder().backed_by(&file).size(size.get() as u64).protection(protection).create()
                {
                    self.sections.push(section);
                }
            }
            Op::FileSection { .. } => {}
            Op::Newer(Newer::Slice(_, ref op)) => self.slice_op(op, ctx),
            Op::Newer(Newer::Secured(_, ref op)) => self.secured_op(op, ctx),
            Op::Newer(Newer::Pages(ref op)) => self.pages_op(op, ctx),
            Op::Newer(Newer::Shared(_, ref op)) => self.shared_op(op, ctx),
            Op::Newer(Newer::Bus(ref op)) => self.bus_op(op, ctx),
            Op::Newer(Newer::Ports(ref op)) => self.port_op(op),
            Op::Newer(Newer::Registers(ref op)) => self.registers_op(op),
            Op::Inject { after, routine } => {
                const ROUTINES: [&str; 7] = [
                    "ExAllocatePool2",
                    "IoAllocateMdl",
                    "ZwCreateSection",
                    "ZwMapViewOfSection",
                    "MmMapLockedPagesSpecifyCache",
                    "MmMapIoSpaceEx",
                    "MmAllocatePagesForMdlEx",
                ];
                let fault = match routine {
                    Some(routine) => Fault::routine(ROUTINES[routine as usize % ROUTINES.len()]).times(1),
                    None => Fault::nth(self.kernel.fallible_calls() + 1 + u64::from(after % 8)),
                };
                self.kernel.inject(fault);
            }
        }
    }

    /// The process an operation asks to run in (`Some(None)`: the System
    /// process): the requester's, where its slice or mapping was made.
    fn requester(&self, op: &Op) -> Option<Option<UserProcess>> {
        match op {
            Op::Newer(Newer::Slice(true, op)) => self.slice_owner(op),
            Op::Newer(Newer::Secured(true, op)) => self.secured_owner(op),
            Op::Newer(Newer::Shared(true, op)) => self.shared_owner(op),
            _ => None,
        }
    }

    /// The user buffer a racing user thread reprotects or frees, if any.
    fn race(&self, racing: Option<u8>) -> Option<(UserRange, Option<UserProtection>)> {
        let racing = racing?;
        let i = pick(&self.user_buffers, racing)?;
        let range = self.user_buffers[i].0;
        self.live_buffer(i).then_some((range, (racing % 4 != 0).then(|| user_protection(racing))))
    }

    /// Whether user buffer `i` is live: not freed by a step, nor by its
    /// process's exit (which frees the process's buffers).
    fn live_buffer(&self, i: usize) -> bool {
        self.user_buffers[i].1 && self.kernel.is_live_user_buffer(self.user_buffers[i].0)
    }

    fn after_race(&mut self, race: Option<(UserRange, Option<UserProtection>)>) {
        if let Some((range, None)) = race {
            for buffer in &mut self.user_buffers {
                if buffer.0 == range {
                    buffer.1 = false;
                }
            }
        }
    }

    /// Lists' entries as a thread of the kernel would take them.
    fn list_allocate(&mut self, family: u8, count: u8, on_thread: bool) {
        fn allocate<'a, K: wdm_mem::lookaside::ListKind>(
            list: Pin<&'a wdm_mem::lookaside::LookasideList<Entry, K>>,
            entries: &mut Entries<'a, K>,
            count: u8,
            on_thread: Option<&Kernel>,
        ) {
            if full(&entries.boxes) {
                return;
            }
            let take = move || (0..count).filter_map(|n| list.allocate([n as u64; 4]).ok()).collect::<Vec<_>>();
            let taken = match on_thread {
                Some(kernel) => {
                    let handle = kernel.handle();
                    thread::scope(|scope| {
                        scope
                            .spawn(move || {
                                let _entered = handle.enter();
                                take()
                            })
                            .join()
                            .expect("the allocating thread panicked")
                    })
                }
                None => take(),
            };
            entries.boxes.extend(taken);
        }
        let on_thread = on_thread.then_some(self.kernel);
        match family % 3 {
            0 => allocate(self.lists.non_paged.as_ref(), &mut self.non_paged_entries, count, on_thread),
            1 => allocate(self.lists.paged.as_ref(), &mut self.paged_entries, count, on_thread),
            _ => allocate(self.lists.ex.as_ref(), &mut self.ex_entries, count, on_thread),
        }
    }

    /// Drops everything at PASSIVE_LEVEL: user views in their processes,
    /// then the processes exit.
    fn release_all(&mut self) {
        self.release_slices();
        self.release_pages();
        self.release_ports();
        for (view, process) in self.user_views.drain(..) {
            let unmap = move || drop(view);
            match process {
                Some(process) => process.run(unmap),
                None => unmap(),
            }
        }
        self.system_views.clear();
        self.sections.clear();
        self.pool.clear();
        self.non_paged_entries.boxes.clear();
        self.paged_entries.boxes.clear();
        self.ex_entries.boxes.clear();
        self.counters.clear();
        self.guards.clear();
        self.locked.clear();
        self.io.clear();
        self.memory.clear();
        for i in 0..self.user_buffers.len() {
            if self.live_buffer(i) {
                self.kernel.free_user_buffer(self.user_buffers[i].0);
            }
        }
        self.user_buffers.clear();
        for process in self.processes.drain(..) {
            process.exit();
        }
    }
}

/// The user side racing the driver: reprotects or frees `range`.
fn user_race(kernel: &Kernel, range: UserRange, protection: Option<UserProtection>) {
    match protection {
        Some(protection) => kernel.protect_user_buffer(range, protection),
        None => kernel.free_user_buffer(range),
    }
}

/// An offset into `len` bytes, sometimes past them (and any for `Size::Max`).
fn within(offset: Size, len: usize) -> usize {
    match offset {
        Size::Max(_) => offset.get(),
        _ => offset.get() % (len + PAGE),
    }
}

/// An offset into `len` bytes (or ports), mostly inside, sometimes a little
/// past them (and any for `Size::Max`).
fn near_offset(offset: Size, len: usize) -> usize {
    match offset {
        Size::Max(_) => offset.get(),
        _ => offset.get() % (len + len / 8 + 4),
    }
}

fn irql_of(level: u8) -> Irql {
    [Irql::PASSIVE, Irql::APC, Irql::DISPATCH, Irql::HIGH][level as usize % 4]
}

fn priority(selector: u8) -> PagePriority {
    [PagePriority::Low, PagePriority::Normal, PagePriority::High][selector as usize % 3]
}

fn user_protection(selector: u8) -> UserProtection {
    [UserProtection::ReadWrite, UserProtection::ReadOnly, UserProtection::NoAccess][selector as usize % 3]
}

fn cache_type(selector: u8) -> CacheType {
    [
        CacheType::NonCached,
        CacheType::Cached,
        CacheType::WriteCombined,
        CacheType::HardwareCoherentCached,
        CacheType::NonCachedUnordered,
        CacheType::UswcCached,
    ][selector as usize % 6]
}
