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
//! wrong one, at PASSIVE_LEVEL or raised, on a kernel that is mostly Windows
//! 10's, sometimes Wine's or one without a routine the crate looks up at run
//! time ([`Flavour`], the first byte). This module is the driver (the steps,
//! their decoding, the world's state, processes, fault injection); the
//! groups live in submodules: `memory` (pool, non-cached and contiguous
//! memory, I/O space, address queries), `statics`, `sections`, `lists`,
//! `mdl` (user buffers and their MDLs), and those of the newer APIs, one
//! step in four ([`Newer`]), with their state: `user` (copies through
//! `UserSlice`s of METHOD_NEITHER pointers and raw addresses, good, NULL,
//! kernel, misaligned, wrapping, freed or reprotected, also by a racing user
//! thread; `SecuredUserSlice`s secured, copied through, released in and out
//! of their process while the user side frees or reprotects the range),
//! `pages` (`PagesMdl` with random flags, cache types, ranges and sizes,
//! partial grants under a page limit, system mappings, `UserMapping`s the
//! application reads and writes, unmapped in and out of their process) and
//! `bus` (`HalTranslateBusAddress` of random bus addresses checked against
//! the simulated buses, port ranges and their accesses of every width and
//! `_BUFFER_` form, compile-time-checked ports and registers, and
//! `READ_REGISTER_BUFFER_*`/`WRITE_REGISTER_BUFFER_*` blocks read back as
//! written); operations on a slice or a mapping mostly run in its process,
//! as a dispatch routine runs in its requester's. Arguments are drawn to be
//! often invalid: huge and zero sizes, misaligned offsets, wrong IRQL, wrong
//! process. After every step the verifier must be clean; at the end the
//! harness drops everything at PASSIVE_LEVEL (secures and user mappings in
//! their processes), exits the processes and the verifier's report must be
//! clean.
//!
//! Not generated (each is a bug check or a leak by the crate's documented
//! contract, which the verifier rightly reports, not a defect):
//! - touching paged memory above APC_LEVEL (dereferencing a paged
//!   `PoolBox`/`PoolBuffer` or an entry of a paged lookaside list): the docs
//!   make it the caller's bug check (0xD1/0xA);
//! - dropping, freeing, unmapping, unlocking or closing anything above the
//!   IRQL its release needs: documented as a leak (the verifier reports it
//!   at unload), so the harness releases only at PASSIVE_LEVEL (the newer
//!   groups: at most at the IRQL the release allows, DISPATCH_LEVEL for
//!   slices, fresh pages and I/O space, APC_LEVEL for secures);
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
mod lists;
mod mdl;
mod memory;
mod pages;
mod sections;
mod statics;
mod user;

use std::{
    sync::atomic::{AtomicU64, Ordering},
    vec::Vec,
};

use arbitrary::{Arbitrary, Unstructured};
use lists::{Entries, Lists};
use mdl::Locked;
use memory::{Memory, Pool};
use sections::{AnySystemView, AnyUserView};
use statics::Guard;
use wdm_mem::{
    Irql, NtStatus,
    io_space::IoSpace,
    lookaside::{LookasideListEx, NPagedLookasideList, PagedLookasideList},
    mdl::PagePriority,
    memory::CacheType,
    model::{Fault, Kernel, UserProcess, UserProtection, UserRange},
    object_name,
    pool::{PoolTag, PoolType},
    pool_tag,
    section::{ObjectName, Section},
};

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
    /// Index into the live processes modulo their number plus one: the
    /// last is the System process.
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

/// What one operation needs: may it release things, may it touch paged
/// memory (see the module documentation).
#[derive(Clone, Copy)]
struct Context {
    passive: bool,
    paged_ok: bool,
    non_paged_ok: bool,
    process: Option<UserProcess>,
}

/// Everything a sequence holds.
struct World<'l> {
    kernel: &'l Kernel,
    flavour: Flavour,
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

fn pick<T>(items: &[T], index: u8) -> Option<usize> {
    (!items.is_empty()).then(|| index as usize % items.len())
}

fn pool_type(selector: u8) -> PoolType {
    PoolType::ALL[selector as usize % PoolType::ALL.len()]
}

fn full<T>(items: &[T]) -> bool {
    items.len() >= MAX_LIVE
}

/// The kernel a sequence runs on, from its first byte: mostly Windows 10
/// and later; else Wine's (recognised by its export), or one without a
/// routine the crate looks up at run time (an older Windows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    Windows,
    Wine,
    Without(&'static str),
}

impl Flavour {
    /// The routines the crate resolves with `MmGetSystemRoutineAddress`.
    const RESOLVED: [&'static str; 13] = [
        "MmAllocatePagesForMdlEx",
        "MmFreePagesFromMdl",
        "ExAllocatePool2",
        "ZwQuerySection",
        "MmMapViewInSystemSpace",
        "MmUnmapViewInSystemSpace",
        "MmSectionObjectType",
        "ExInitializeLookasideListEx",
        "ExDeleteLookasideListEx",
        "MmUserProbeAddress",
        "MmMapIoSpaceEx",
        "MmSecureVirtualMemory",
        "MmUnsecureVirtualMemory",
    ];

    fn of(selector: u8) -> Flavour {
        match selector {
            0..=223 => Flavour::Windows,
            224..=231 => Flavour::Wine,
            _ => Flavour::Without(Self::RESOLVED[selector as usize % Self::RESOLVED.len()]),
        }
    }

    fn apply(self, kernel: &Kernel) {
        match self {
            Flavour::Windows => {}
            Flavour::Wine => kernel.act_as_wine(),
            Flavour::Without(routine) => kernel.remove_export(routine),
        }
    }

    /// Whether the kernel lacks `routine`.
    fn lacks(self, routine: &str) -> bool {
        matches!(self, Flavour::Without(missing) if missing == routine)
    }
}

fn trace_enabled() -> bool {
    std::env::var_os("WDM_FUZZ_TRACE").is_some()
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
    let flavour = Flavour::of(u8::arbitrary(&mut input).unwrap_or(0));
    flavour.apply(&kernel);
    if trace_enabled() {
        eprintln!("{flavour:?}");
    }
    let lists = Lists {
        non_paged: Box::pin(NPagedLookasideList::new()),
        paged: Box::pin(PagedLookasideList::new()),
        ex: Box::pin(LookasideListEx::new()),
    };
    let mut world = World::new(&kernel, &lists, flavour);
    let mut steps = Vec::new();
    let trace = trace_enabled();
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
    fn new(kernel: &'l Kernel, lists: &'l Lists, flavour: Flavour) -> Self {
        World {
            kernel,
            flavour,
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
        let index = step.process as usize % (self.processes.len() + 1);
        let process = self.processes.get(index).copied();
        // Or, as a dispatch routine runs, in the requester's process while it
        // lives (no thread runs in an exited one: what a request of it left
        // is then reached from the System process, as by a worker thread).
        let process = match self.requester(&step.op) {
            Some(Some(requester)) if requester.has_exited() => None,
            Some(requester) => requester,
            None => process,
        };
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
            Op::PoolBuffer { .. }
            | Op::PoolBox { .. }
            | Op::TouchPool { .. }
            | Op::FreePool(_)
            | Op::PoolMdl { .. }
            | Op::IoMap { .. }
            | Op::IoAccess { .. }
            | Op::IoUnmap(_)
            | Op::NonCached { .. }
            | Op::Contiguous { .. }
            | Op::TouchMemory { .. }
            | Op::FreeMemory(_)
            | Op::AddressQuery { .. } => self.memory_op(op, ctx),
            Op::ListInit { .. }
            | Op::ListAllocate { .. }
            | Op::ListTouch { .. }
            | Op::ListFree { .. }
            | Op::ListDelete(_)
            | Op::ListStats(_) => self.list_op(op, ctx),
            Op::SectionCreate { .. }
            | Op::SectionOpen { .. }
            | Op::SectionClose(_)
            | Op::SectionQuery(_)
            | Op::FileSection { .. }
            | Op::MapUser { .. }
            | Op::MapSystem { .. }
            | Op::MapExclusive { .. }
            | Op::UserViewAccess { .. }
            | Op::UserViewCommit { .. }
            | Op::UserViewUnmap(_)
            | Op::UserSide { .. }
            | Op::SystemViewAccess { .. }
            | Op::SystemViewUnmap(_) => self.section_op(op, ctx),
            Op::StaticLock { .. } | Op::StaticTouch { .. } | Op::StaticUnlock(_) => self.static_op(op, ctx),
            Op::UserBuffer { .. }
            | Op::UserBufferProtect { .. }
            | Op::UserBufferFree(_)
            | Op::MdlLock { .. }
            | Op::MdlMap { .. }
            | Op::MdlUnlock(_)
            | Op::WithUserBuffer { .. } => self.mdl_op(op, ctx),
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

    /// Drops everything at PASSIVE_LEVEL: user views in their processes,
    /// then the processes exit.
    fn release_all(&mut self) {
        self.release_slices();
        self.release_pages();
        self.release_ports();
        for (view, process) in self.user_views.drain(..) {
            let unmap = move || drop(view);
            match process.filter(|process| !process.has_exited()) {
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
