//! Model sessions: each test owns a fresh kernel ([`Kernel`]); the threads it
//! spawns join it with [`KernelHandle::enter`]. Tests running in parallel
//! never see each other's pool, faults or violations.

use std::{
    cell::RefCell,
    string::{String, ToString},
    sync::{Arc, Mutex, MutexGuard},
    vec::Vec,
};

use super::{
    device::{DeviceInfo, DeviceState},
    faults::{Call, Fault, Faults},
    io_space::IoSpaceState,
    irql,
    lookaside::LookasideState,
    mdl::MdlState,
    mdl_pages::MdlPagesState,
    memory::MemoryState,
    paging::{self, PageableSection, PagingState},
    pool::{PoolState, PoolUsage},
    section::ObjectState,
    secure::SecureState,
    verifier::{BugCheck, Report, Violation},
};
use crate::Irql;

/// Everything a session's kernel knows.
#[derive(Default)]
pub(super) struct State {
    pub(super) pool: PoolState,
    pub(super) lookaside: LookasideState,
    pub(super) memory: MemoryState,
    pub(super) objects: ObjectState,
    pub(super) paging: PagingState,
    pub(super) mdl: MdlState,
    pub(super) mdl_pages: MdlPagesState,
    pub(super) io_space: IoSpaceState,
    pub(super) secure: SecureState,
    pub(super) devices: DeviceState,
    pub(super) faults: Faults,
    pub(super) violations: Vec<Violation>,
    pub(super) missing_exports: Vec<String>,
    /// Whether `MmGetSystemRoutineAddress` finds `wine_ntoskrnl_main_loop`
    /// ([`Kernel::act_as_wine`]).
    pub(super) wine: bool,
    /// Whether `INIT` data is discarded (the first `INIT` token ended).
    pub(super) init_discarded: bool,
}

impl State {
    /// Records a violation (the model goes on: the caller gets an error value
    /// where Windows would have stopped).
    pub(super) fn violation(&mut self, code: u32, params: [u64; 4], message: String) {
        self.violations.push(Violation { bug_check: BugCheck { code, params }, message });
    }

    /// Records the page fault Windows cannot service above APC_LEVEL: a
    /// `write` (or read) of `size` bytes of pageable memory (`what`) at
    /// `address` at IRQL `level`, `DRIVER_IRQL_NOT_LESS_OR_EQUAL` (0xD1:
    /// address, IRQL, 0 read / 1 write).
    pub(super) fn pageable_touch_at_raised_irql(
        &mut self,
        address: usize,
        size: usize,
        write: bool,
        level: u8,
        what: &str,
    ) {
        let access = if write { "write" } else { "read" };
        self.violation(
            BugCheck::DRIVER_IRQL_NOT_LESS_OR_EQUAL,
            [address as u64, u64::from(level), u64::from(write), 0],
            std::format!("{access} of {size} byte(s) of {what} at {address:#x} at IRQL {level}"),
        );
    }
}

type Shared = Arc<Mutex<State>>;

std::thread_local! {
    static CURRENT: RefCell<Option<Shared>> = const { RefCell::new(None) };
}

/// Runs `f` on the state of the session attached to this thread.
///
/// # Panics
/// If no session is attached: a test must create a [`Kernel`] (or enter one's
/// handle) before it calls into the crate.
pub(super) fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    let shared = CURRENT.with(|current| current.borrow().clone()).expect(
        "no kernel model on this thread: create a wdm_mem::model::Kernel first \
         (or enter a KernelHandle in spawned threads)",
    );
    let mut state = lock(&shared);
    f(&mut state)
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    // A panicking test thread must not hide the report of the others.
    shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Attaches `shared` to this thread; returns what was attached before.
fn attach(shared: Option<Shared>) -> Option<Shared> {
    irql::reset();
    CURRENT.with(|current| current.replace(shared))
}

/// A kernel of the model, owned by one test, attached to the thread that
/// created it.
///
/// Dropping it unloads the "driver": outstanding pool allocations and the
/// other leaks become violations, and the drop panics unless the verifier is
/// clean. A test that expects violations calls [`Kernel::finish`] and
/// inspects the [`Report`] instead.
///
/// ```
/// use wdm_mem::{model::Kernel, pool::{PoolBox, PoolType}, pool_tag};
///
/// let kernel = Kernel::new();
/// let value = PoolBox::new(42u64, pool_tag!(b"Doc1"), PoolType::NonPagedNx).unwrap();
/// assert_eq!(*value, 42);
/// drop(value);
/// kernel.assert_clean();
/// ```
pub struct Kernel {
    handle: KernelHandle,
    previous: Option<Shared>,
    finished: bool,
}

impl Kernel {
    /// A fresh kernel (empty pool, no faults, every export present, IRQL
    /// PASSIVE_LEVEL), attached to the current thread until dropped.
    pub fn new() -> Kernel {
        let shared = Shared::default();
        let previous = attach(Some(shared.clone()));
        Kernel { handle: KernelHandle(shared), previous, finished: false }
    }

    /// A handle other threads use to join this kernel.
    pub fn handle(&self) -> KernelHandle {
        self.handle.clone()
    }

    /// Sets the current thread's IRQL, as if it were running a DPC or holding
    /// a spin lock: no check, no violation (use [`Irql::run_raised`] to test
    /// the raise/lower contract itself).
    pub fn set_irql(&self, irql: Irql) {
        irql::set(irql.level());
    }

    /// Runs `f` with the current thread at `irql`, then restores the IRQL.
    pub fn at_irql<R>(&self, irql: Irql, f: impl FnOnce() -> R) -> R {
        let previous = irql::get();
        irql::set(irql.level());
        let result = f();
        irql::set(previous);
        result
    }

    /// Makes allocation-like calls fail as `fault` says, from now on.
    pub fn inject(&self, fault: Fault) {
        self.handle.state().faults.add(fault);
    }

    /// Allocation-like calls made so far (what [`Fault::nth`] counts).
    pub fn fallible_calls(&self) -> u64 {
        self.handle.state().faults.calls()
    }

    /// The fallible calls made so far, oldest first.
    pub fn call_log(&self) -> Vec<Call> {
        self.handle.state().faults.log().to_vec()
    }

    /// Removes `routine` from what `MmGetSystemRoutineAddress` finds, as on a
    /// kernel that predates it (e.g. `"ExAllocatePool2"` before Windows 10
    /// 2004, or Wine).
    pub fn remove_export(&self, routine: &str) {
        self.handle.state().missing_exports.push(routine.to_string());
    }

    /// Makes `MmGetSystemRoutineAddress` find `wine_ntoskrnl_main_loop`, the
    /// export by which drivers (and this crate) recognise Wine's kernel, so
    /// that the paths the crate takes under Wine run under `cargo test`.
    pub fn act_as_wine(&self) {
        self.handle.state().wine = true;
    }

    /// The live device object named `name` (`\\Device\\...`, any case), as
    /// `IoCreateDevice` or `IoCreateDeviceSecure` made it.
    pub fn device(&self, name: &str) -> Option<DeviceInfo> {
        self.handle.state().devices.named(name)
    }

    /// The target of the symbolic link `name` (any case), if it exists.
    pub fn symbolic_link(&self, name: &str) -> Option<String> {
        self.handle.state().devices.link_target(name)
    }

    /// Creates (or replaces) the file `path` of the model's file system, as
    /// `ZwCreateFile` names it (e.g. `\??\C:\data.bin`, case-insensitive).
    ///
    /// # Panics
    /// On hosts where the model has no sections (not Linux).
    pub fn create_file(&self, path: &str, contents: &[u8]) {
        self.handle.state().objects.write_file(path.to_lowercase(), contents).expect("the model's files need Linux");
    }

    /// The contents of the model's file `path`, if it exists.
    pub fn file_contents(&self, path: &str) -> Option<Vec<u8>> {
        self.handle.state().objects.file_contents(&path.to_lowercase())
    }

    /// Pool in use right now, in total and per tag.
    pub fn pool_usage(&self) -> PoolUsage {
        self.handle.state().pool.usage()
    }

    /// The pageable section `name` (the section of a `pageable_static!`,
    /// `"PAGEDATA"` unless it names another) as this session sees it: lock
    /// count, residency, calls. `None` until a static of that section was
    /// first locked in this process.
    pub fn pageable_section(&self, name: &str) -> Option<PageableSection> {
        let index = paging::section_named(name)?;
        Some(self.handle.state().paging.section(index))
    }

    /// Whether `MmPageEntireDriver` is in effect (not undone by
    /// `MmResetDriverPaging`).
    pub fn entire_driver_pageable(&self) -> bool {
        self.handle.state().paging.entire_driver_pageable
    }

    /// The violations so far, without unloading.
    pub fn violations(&self) -> Vec<Violation> {
        self.handle.state().violations.clone()
    }

    /// Unloads the driver: turns every leak into a violation and returns the
    /// full report, clean or not. The kernel is detached from this thread.
    pub fn finish(mut self) -> Report {
        self.finished = true;
        self.unload()
    }

    /// [`finish`](Self::finish), then panics unless the report is clean.
    #[track_caller]
    pub fn assert_clean(self) {
        self.finish().assert_clean();
    }

    /// The session's state, for the areas of the model that give `Kernel`
    /// methods in their own files (`mdl.rs`, `io_space.rs`).
    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        self.handle.state()
    }

    fn unload(&mut self) -> Report {
        let mut state = self.handle.state();
        let state = &mut *state;
        state.lookaside.report_leaks(&mut state.violations);
        state.memory.report_leaks(&mut state.violations);
        state.pool.report_leaks(&mut state.violations);
        state.objects.report_leaks(&mut state.violations);
        state.paging.report_leaks(&mut state.violations);
        state.mdl.report_user_mappings(&mut state.violations);
        for mdl in state.mdl_pages.report_leaks(&mut state.violations) {
            state.mdl.forget_pages_mdl(mdl, &mut state.violations);
        }
        state.mdl.report_leaks(&mut state.violations);
        state.io_space.report_leaks(&mut state.violations);
        state.secure.report_held(None, &mut state.violations);
        state.devices.report_leaks(&mut state.violations);
        Report { violations: std::mem::take(&mut state.violations) }
    }
}

impl Default for Kernel {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Kernel {
    fn drop(&mut self) {
        let report = if self.finished { Report::default() } else { self.unload() };
        attach(self.previous.take());
        if !self.finished && !std::thread::panicking() {
            report.assert_clean();
        }
    }
}

/// A shareable handle to a [`Kernel`], for the threads a test spawns.
#[derive(Clone)]
pub struct KernelHandle(Shared);

impl KernelHandle {
    /// Attaches the kernel to the current thread (at PASSIVE_LEVEL) until the
    /// returned guard is dropped.
    pub fn enter(&self) -> EnteredKernel {
        EnteredKernel { previous: attach(Some(self.0.clone())) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.0)
    }
}

/// The current thread's attachment to a kernel; detaches on drop.
pub struct EnteredKernel {
    previous: Option<Shared>,
}

impl Drop for EnteredKernel {
    fn drop(&mut self) {
        attach(self.previous.take());
    }
}
