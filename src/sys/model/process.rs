//! The model's processes: the System process and simulated user processes,
//! the process context of each thread, and the "user side" a test scripts.
//!
//! Every thread runs in the System process (id 4) unless a test makes it run
//! in a user process with [`UserProcess::run`] (what a dispatch routine
//! does: it runs in the requester's context; also what
//! `KeStackAttachProcess` does). `IoGetCurrentProcess` answers that process,
//! and `ZwMapViewOfSection(ZwCurrentProcess())` maps into its user address
//! space. The model keeps each process's views and the state of their pages;
//! the copies under SEH (`copy_from_user`, `copy_to_user`) check the current
//! process's pages and return `STATUS_ACCESS_VIOLATION` where a touch would
//! fault, instead of touching. A [`UserProcess`] handle is the process's own
//! code: it writes, unmaps, reprotects and commits the pages of its views,
//! and exits, at any moment between the driver's calls.
//!
//! User buffers (`model::UserRange`, for MDLs) belong to a process too:
//! [`UserProcess::user_buffer`] allocates one in the process, and
//! `Kernel::user_buffer` in the process the calling thread runs in (the
//! System process by default, which stands for "the requester" in tests
//! that use one process). [`check_user_access`] is the one per-page check of
//! the current process's user memory (views and buffers) that the SEH
//! copies and `UserProcess::read`/`write` use; `MmProbeAndLockPages` checks
//! the buffers with the same per-page rule. At exit a process's buffers are
//! freed and its still-locked pages are reported (0x76).

use std::{cell::Cell, collections::HashSet, vec::Vec};

use super::{
    kernel::{Kernel, State, with_state},
    mdl::{UserProtection, UserRange},
    verifier::BugCheck,
};
use crate::NtStatus;

/// The System process's id.
pub(super) const SYSTEM_PROCESS: u64 = 4;
/// Where the model's fake `EPROCESS` pointers live: never dereferenced.
const PROCESS_POINTERS: usize = 0xFFFF_C000_0000_0000;

std::thread_local! {
    static CURRENT: Cell<u64> = const { Cell::new(SYSTEM_PROCESS) };
}

/// The id of the process the current thread runs in.
pub(super) fn current() -> u64 {
    CURRENT.with(Cell::get)
}

/// Whether the current state of `process`'s pages lets `len` bytes at
/// `address` be read (or written): each page lies in a view or a user
/// buffer of the process, and allows it now; else `STATUS_ACCESS_VIOLATION`,
/// what a touch would raise. Ranges ending past `MmUserProbeAddress` are
/// violations too.
pub(super) fn check_user_access(
    state: &State,
    process: u64,
    address: usize,
    len: usize,
    write: bool,
) -> Result<(), NtStatus> {
    if len == 0 {
        return Ok(());
    }
    let end = address.checked_add(len).ok_or(NtStatus::ACCESS_VIOLATION)?;
    if end > state.mdl.user_probe_address() {
        return Err(NtStatus::ACCESS_VIOLATION);
    }
    let page_size = crate::sys::PAGE_SIZE as usize;
    let first = address / page_size * page_size;
    let valid = (first..end).step_by(page_size).all(|page| {
        state
            .mdl
            .buffer_allows(process, page, write)
            .or_else(|| state.objects.view_allows(process, page, write))
            .or_else(|| state.mdl.user_mapping_allows(process, page))
            == Some(true)
    });
    if valid { Ok(()) } else { Err(NtStatus::ACCESS_VIOLATION) }
}

/// The processes of a session.
#[derive(Debug, Default)]
pub(super) struct ProcessTable {
    created: Vec<u64>,
    exited: HashSet<u64>,
}

impl ProcessTable {
    fn create(&mut self) -> u64 {
        let id = 0x100 + 4 * self.created.len() as u64;
        self.created.push(id);
        id
    }

    /// Whether `id` is the System process or a user process that has not
    /// exited.
    pub(super) fn alive(&self, id: u64) -> bool {
        id == SYSTEM_PROCESS || (self.created.contains(&id) && !self.exited.contains(&id))
    }

    /// The `PEPROCESS` of process `id`.
    pub(super) fn pointer(id: u64) -> usize {
        PROCESS_POINTERS + (id as usize) * 0x1000
    }

    /// The process a `PEPROCESS` names.
    pub(super) fn id_of(&self, pointer: usize) -> Option<u64> {
        let id = (pointer.checked_sub(PROCESS_POINTERS)? / 0x1000) as u64;
        (pointer % 0x1000 == 0 && (id == SYSTEM_PROCESS || self.created.contains(&id))).then_some(id)
    }
}

/// A simulated user process (see the module documentation of
/// `sys::model::process`): the handle a test uses to run driver code in its
/// context and to act as its own user code. Calls need the thread to be
/// attached to the kernel that created it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserProcess {
    id: u64,
}

impl Kernel {
    /// A new user process.
    pub fn create_process(&self) -> UserProcess {
        UserProcess { id: self.state().objects.processes.create() }
    }
}

/// Restores the thread's previous process context.
struct Restore(u64);

impl Drop for Restore {
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(self.0));
    }
}

impl UserProcess {
    /// The process id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Whether the process has exited ([`exit`](Self::exit)).
    pub fn has_exited(&self) -> bool {
        with_state(|state| !state.objects.processes.alive(self.id))
    }

    /// Runs `f` on this thread in this process's context (as a dispatch
    /// routine runs in its requester's, or code between
    /// `KeStackAttachProcess` and `KeUnstackDetachProcess`), then returns
    /// to the previous context.
    ///
    /// # Panics
    /// If the process has exited: no thread runs in it any more (a test that
    /// does this simulates what cannot happen on Windows).
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        assert!(!self.has_exited(), "process {:#x} has exited: no thread runs in it", self.id);
        let _restore = Restore(CURRENT.with(|current| current.replace(self.id)));
        f()
    }

    /// The process writes `bytes` at `address` (one of its views):
    /// `STATUS_ACCESS_VIOLATION` where its own write would fault.
    pub fn write(&self, address: usize, bytes: &[u8]) -> Result<(), NtStatus> {
        with_state(|state| {
            check_user_access(state, self.id, address, bytes.len(), true)?;
            // SAFETY: checked: the range lies in live, writable views or buffers
            // of this process, whose host pages are mapped writable.
            unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), address as *mut u8, bytes.len()) };
            Ok(())
        })
    }

    /// The process reads `len` bytes at `address`.
    pub fn read(&self, address: usize, len: usize) -> Result<Vec<u8>, NtStatus> {
        with_state(|state| {
            check_user_access(state, self.id, address, len, false)?;
            let mut bytes = std::vec![0; len];
            // SAFETY: checked: the range lies in live, readable views or buffers.
            unsafe { core::ptr::copy_nonoverlapping(address as *const u8, bytes.as_mut_ptr(), len) };
            Ok(bytes)
        })
    }

    /// The process unmaps its view at `address` (`UnmapViewOfFile`), while
    /// the driver may still hold it.
    pub fn unmap(&self, address: usize) -> Result<(), NtStatus> {
        with_state(|state| state.objects.user_unmap(self.id, address))
    }

    /// The process changes the protection of `len` bytes at `address`
    /// (`VirtualProtect` with `PAGE_NOACCESS`, `PAGE_READONLY` or
    /// `PAGE_READWRITE`; read-write only on a writable view).
    pub fn protect(&self, address: usize, len: usize, protection: u32) -> Result<(), NtStatus> {
        with_state(|state| state.objects.user_protect(self.id, address, len, protection))
    }

    /// The process commits `len` bytes at `address` of a view of a
    /// `SEC_RESERVE` section (`VirtualAlloc(MEM_COMMIT)`): the pages become
    /// accessible in every view of the section.
    pub fn commit(&self, address: usize, len: usize) -> Result<(), NtStatus> {
        with_state(|state| state.objects.user_commit(self.id, address, len))
    }

    /// A writable, zeroed user buffer of `len` bytes in this process (for
    /// MDLs: `Kernel::free_user_buffer`, `protect_user_buffer`, `write_user`
    /// and `read_user` act on it as this process's own code). Probes of it
    /// succeed only in this process's context.
    ///
    /// # Panics
    /// As `Kernel::user_buffer`.
    pub fn user_buffer(&self, kernel: &Kernel, len: usize) -> UserRange {
        kernel.add_user_buffer(len, UserProtection::ReadWrite, self.id)
    }

    /// The process exits: the kernel unmaps its views (the driver's views
    /// of it then answer errors) and frees its user buffers, and no thread
    /// runs in it again. A secure handle still held on its memory is a leak
    /// (the model's `SECURE_LEAKED`). Pages of it still locked by an MDL, and
    /// MDL pages still mapped into it (`MmMapLockedPagesSpecifyCache` in
    /// user mode, not unmapped: the mapping charges the process locked
    /// pages), are 0x76
    /// PROCESS_HAS_LOCKED_PAGES (parameter 2: the process, parameter 3: the
    /// pages), as on Windows, whose process delete finds them; the pages
    /// stay locked, and their system mappings valid, until the driver
    /// unlocks them.
    pub fn exit(&self) {
        with_state(|state| {
            state.objects.processes.exited.insert(self.id);
            state.objects.process_exited(self.id);
            state.secure.report_held(Some(self.id), &mut state.violations);
            for (mdl, pages) in state.mdl.process_exited(self.id) {
                state.violation(
                    BugCheck::PROCESS_HAS_LOCKED_PAGES,
                    [0, ProcessTable::pointer(self.id) as u64, pages as u64, 0],
                    std::format!(
                        "process {:#x} exited with the {pages} page(s) of MDL {mdl:#x} still locked or mapped",
                        self.id
                    ),
                );
            }
        });
    }
}
