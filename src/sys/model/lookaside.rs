//! The model's lookaside lists: which lists are live, which entries each one
//! holds, and which entries are out and from which list, so that the verifier
//! can name double frees, frees to the wrong list, entries still out when a
//! list is deleted, lists deleted twice and lists never deleted.
//!
//! The lists themselves are the driver's `GENERAL_LOOKASIDE` structures: the
//! model keeps their SList headers in the x64 layout (depth in the low 16
//! bits of the first quadword, first entry in the second), which is what the
//! inline fast paths of `crate::sys` read.

use std::{
    cell::Cell,
    collections::{HashMap, HashSet},
    format,
    string::String,
    sync::atomic::{AtomicU64, Ordering},
    vec::Vec,
};

use super::verifier::{BugCheck, Violation};
use crate::sys::{PALLOCATE_FUNCTION, PALLOCATE_FUNCTION_EX, PFREE_FUNCTION, PFREE_FUNCTION_EX, PSLIST_HEADER};

/// Parameter 1 of the model's 0xC4 bug check for a lookaside list deleted
/// while entries allocated from it are still out (parameter 2: the list,
/// parameter 3: how many). Driver Verifier has no such check (it reports the
/// blocks as leaked pool at unload); the model reports it where it happens.
/// The value is the model's own.
pub const LOOKASIDE_ENTRIES_OUTSTANDING: u64 = 0x1_0101;
/// ... for an entry freed to a lookaside list twice (parameter 2: the list,
/// parameter 3: the entry, parameter 4: the list that holds it, 0 if it went
/// back to the pool).
pub const LOOKASIDE_DOUBLE_FREE: u64 = 0x1_0102;
/// ... for an entry freed to a list it did not come from (parameter 2: the
/// list, parameter 3: the entry, parameter 4: the list it came from, 0 if
/// none).
pub const LOOKASIDE_WRONG_LIST: u64 = 0x1_0103;
/// ... for an invalid `ExInitialize*LookasideList*` argument: a size below
/// `LOOKASIDE_MINIMUM_BLOCK_SIZE`, a non-zero (reserved) depth, a flag asking
/// the kernel to raise (parameter 2: the list, parameter 3: the value; the
/// message names the argument).
pub const LOOKASIDE_BAD_PARAMETER: u64 = 0x1_0104;
/// ... for a list used (allocated from or freed to) after its deletion
/// (parameter 2: the list).
pub const LOOKASIDE_USED_AFTER_DELETE: u64 = 0x1_0105;
/// ... for a list structure initialised in paged pool (parameter 2: the
/// list): the kernel requires non-paged system space for it, even for a
/// list of paged entries, because it links the structure into its global
/// list of lookaside lists and scans that at DISPATCH_LEVEL. Windows would
/// fault (0x0A/0xD1) when the scan meets the structure paged out; the model
/// reports it at the initialisation. (It cannot see a kernel stack, which
/// the kernel may swap out too.)
pub const LOOKASIDE_PAGED_STRUCTURE: u64 = 0x1_0106;

/// ... for pool freed while it holds a live lookaside list (parameter 2:
/// the list, parameter 3: the block): the kernel's list of lookaside lists
/// then links freed memory. Driver Verifier checks freed pool for live
/// kernel objects in the same way (timers, resources); the value is the
/// model's own.
pub const LOOKASIDE_FREED_WHILE_LINKED: u64 = 0x1_0107;

/// The byte an entry's bytes past its SList link are filled with while it
/// sits in a list: a use after its free shows these, not the old value.
pub const LOOKASIDE_ENTRY_POISON: u8 = 0xCE;

/// Parameter 1 of `KERNEL_SECURITY_CHECK_FAILURE` (0x139) for a corrupted
/// `LIST_ENTRY`: what Windows raises when a lookaside list is deleted twice,
/// deleted without being initialised, or initialised again while live (the
/// kernel links every list into a global list through its `ListEntry`).
pub const LIST_ENTRY_CORRUPTED: u64 = 3;

/// The three families of lookaside lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ListKind {
    /// `NPAGED_LOOKASIDE_LIST`.
    NonPaged,
    /// `PAGED_LOOKASIDE_LIST`.
    Paged,
    /// `LOOKASIDE_LIST_EX`.
    Ex,
}

impl ListKind {
    /// The routine a driver calls to allocate from such a list.
    pub(super) fn allocate_routine(self) -> &'static str {
        match self {
            ListKind::NonPaged => "ExAllocateFromNPagedLookasideList",
            ListKind::Paged => "ExAllocateFromPagedLookasideList",
            ListKind::Ex => "ExAllocateFromLookasideListEx",
        }
    }

    /// The routine a driver calls to free to such a list.
    pub(super) fn free_routine(self) -> &'static str {
        match self {
            ListKind::NonPaged => "ExFreeToNPagedLookasideList",
            ListKind::Paged => "ExFreeToPagedLookasideList",
            ListKind::Ex => "ExFreeToLookasideListEx",
        }
    }
}

/// The driver's allocate and free routines of a list (`None`: the pool's).
#[derive(Clone, Copy)]
pub(super) enum Routines {
    /// Those of `ExInitialize(N)PagedLookasideList`.
    Legacy(PALLOCATE_FUNCTION, PFREE_FUNCTION),
    /// Those of `ExInitializeLookasideListEx`.
    Ex(PALLOCATE_FUNCTION_EX, PFREE_FUNCTION_EX),
}

/// A live list.
pub(super) struct List {
    pub(super) kind: ListKind,
    /// The highest IRQL it may be used at (APC_LEVEL for paged entries).
    pub(super) max_irql: u8,
    pub(super) routines: Routines,
    /// The size of an entry (`Size`).
    pub(super) entry_size: usize,
    /// The entries its SList holds.
    cached: HashSet<usize>,
}

impl List {
    pub(super) fn new(kind: ListKind, max_irql: u8, routines: Routines, entry_size: usize) -> List {
        List { kind, max_irql, routines, entry_size, cached: HashSet::new() }
    }

    /// The entries the list holds, for its deletion.
    pub(super) fn cached(&self) -> impl Iterator<Item = usize> + '_ {
        self.cached.iter().copied()
    }
}

/// The lookaside lists of one session.
#[derive(Default)]
pub(super) struct LookasideState {
    lists: HashMap<usize, List>,
    deleted: HashSet<usize>,
    /// Entries handed out, and the list each came from.
    out: HashMap<usize, usize>,
    /// Entries a list gave back to its free routine (to tell a double free
    /// from a free of a stranger).
    returned: HashSet<usize>,
}

std::thread_local! {
    /// The list whose SList this thread found empty last: the inline fast
    /// path calls the list's allocate routine next, and the legacy routine
    /// type has no list argument to tell which list the entry is for.
    static MISS: Cell<usize> = const { Cell::new(0) };
}

/// Takes the list this thread is allocating a missing entry for (0: none).
pub(super) fn take_miss() -> usize {
    MISS.with(|miss| miss.replace(0))
}

impl LookasideState {
    /// Registers an initialised list; 0x139 if it is already live (the kernel
    /// would link it into its global list twice).
    pub(super) fn register(&mut self, address: usize, list: List) -> Result<(), Violation> {
        if self.lists.contains_key(&address) {
            return Err(list_entry_corrupted(address, "initialised again while live"));
        }
        self.deleted.remove(&address);
        self.lists.insert(address, list);
        Ok(())
    }

    /// The live list at `address`; `Ok(None)` for an SList header that is not
    /// a lookaside list (a plain SList); an error for a deleted list.
    pub(super) fn live(&mut self, address: usize, routine: &str) -> Result<Option<&mut List>, Violation> {
        if self.deleted.contains(&address) {
            return Err(violation(
                LOOKASIDE_USED_AFTER_DELETE,
                [address as u64, 0, 0],
                format!("{routine} on the lookaside list {address:#x} after its deletion"),
            ));
        }
        Ok(self.lists.get_mut(&address))
    }

    /// A live list whose structure starts in `start..start + len`.
    pub(super) fn live_within(&self, start: usize, len: usize) -> Option<usize> {
        self.lists.keys().copied().find(|&list| list >= start && list - start < len)
    }

    /// The driver's routines of a live list.
    pub(super) fn routines(&self, address: usize) -> Option<Routines> {
        self.lists.get(&address).map(|list| list.routines)
    }

    /// `entry` left `list`'s SList.
    pub(super) fn popped(&mut self, list: usize, entry: usize) {
        if let Some(live) = self.lists.get_mut(&list) {
            live.cached.remove(&entry);
        }
        self.returned.remove(&entry);
        self.out.insert(entry, list);
    }

    /// `entry` was allocated for `list` on a miss.
    pub(super) fn allocated(&mut self, list: usize, entry: usize) {
        if self.lists.contains_key(&list) {
            self.returned.remove(&entry);
            self.out.insert(entry, list);
        }
    }

    /// Checks that `entry` may be pushed onto `list` (it is out, and from
    /// this list) and records it as cached there.
    pub(super) fn pushing(&mut self, list: usize, entry: usize) -> Result<(), Violation> {
        self.returning(list, entry)?;
        if let Some(live) = self.lists.get_mut(&list) {
            live.cached.insert(entry);
        }
        Ok(())
    }

    /// Checks that `entry` may be freed by the routine of `list` (`None`: the
    /// legacy free routine, which does not say which list frees) and returns
    /// the routines of the list it came from.
    pub(super) fn freeing(&mut self, list: Option<usize>, entry: usize) -> Result<Option<Routines>, Violation> {
        let list = list.or_else(|| self.out.get(&entry).copied()).unwrap_or(0);
        self.returning(list, entry)?;
        self.returned.insert(entry);
        Ok(self.routines(list))
    }

    /// The checks of an entry going back to `list`; forgets it as out.
    fn returning(&mut self, list: usize, entry: usize) -> Result<(), Violation> {
        let (entry_u64, list_u64) = (entry as u64, list as u64);
        if let Some((&holder, _)) = self.lists.iter().find(|(_, live)| live.cached.contains(&entry)) {
            return Err(violation(
                LOOKASIDE_DOUBLE_FREE,
                [list_u64, entry_u64, holder as u64],
                format!(
                    "entry {entry:#x} freed to the lookaside list {list:#x} while the list {holder:#x} already holds it"
                ),
            ));
        }
        if self.returned.contains(&entry) {
            return Err(violation(
                LOOKASIDE_DOUBLE_FREE,
                [list_u64, entry_u64, 0],
                format!("entry {entry:#x} freed to the lookaside list {list:#x} after it went back to the pool"),
            ));
        }
        match self.out.get(&entry) {
            Some(&owner) if owner == list => {
                self.out.remove(&entry);
                Ok(())
            }
            owner => Err(violation(
                LOOKASIDE_WRONG_LIST,
                [list_u64, entry_u64, owner.copied().unwrap_or(0) as u64],
                match owner {
                    Some(owner) => {
                        format!("entry {entry:#x} of the lookaside list {owner:#x} freed to the list {list:#x}")
                    }
                    None => format!("{entry:#x} freed to a lookaside list ({list:#x}) that never allocated it"),
                },
            )),
        }
    }

    /// Unregisters a list being deleted: its cached entries (for its free
    /// routine) and the violations of the deletion (entries still out).
    pub(super) fn unregister(&mut self, address: usize, routine: &str) -> Result<(List, Option<Violation>), Violation> {
        let Some(list) = self.lists.remove(&address) else {
            let what = if self.deleted.contains(&address) { "deleted twice" } else { "never initialised" };
            return Err(list_entry_corrupted(address, &format!("{routine}: the list was {what}")));
        };
        self.deleted.insert(address);
        let before = self.out.len();
        self.out.retain(|_, &mut owner| owner != address);
        let outstanding = before - self.out.len();
        let leak = (outstanding > 0).then(|| {
            violation(
                LOOKASIDE_ENTRIES_OUTSTANDING,
                [address as u64, outstanding as u64, 0],
                format!("{routine}: {outstanding} entr(y/ies) of the lookaside list {address:#x} still out (leaked)"),
            )
        });
        Ok((list, leak))
    }

    /// At unload: 0xCE for every list still live. Their cached entries stay
    /// in the pool, which reports them as leaked.
    pub(super) fn report_leaks(&mut self, violations: &mut Vec<Violation>) {
        let mut live: Vec<_> = self.lists.drain().collect();
        live.sort_by_key(|(address, _)| *address);
        for (address, list) in live {
            violations.push(Violation {
                bug_check: BugCheck {
                    code: BugCheck::DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS,
                    params: [address as u64, 0, 0, 0],
                },
                message: format!(
                    "driver unloading without deleting its {:?} lookaside list at {address:#x} (the kernel's \
                     periodic lookaside scan would touch it after the unload)",
                    list.kind
                ),
            });
        }
    }
}

fn violation(rule: u64, [p2, p3, p4]: [u64; 3], message: String) -> Violation {
    Violation {
        bug_check: BugCheck { code: BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION, params: [rule, p2, p3, p4] },
        message,
    }
}

fn list_entry_corrupted(address: usize, what: &str) -> Violation {
    Violation {
        bug_check: BugCheck {
            code: BugCheck::KERNEL_SECURITY_CHECK_FAILURE,
            params: [LIST_ENTRY_CORRUPTED, address as u64, 0, 0],
        },
        message: format!(
            "lookaside list {address:#x} {what}: its LIST_ENTRY in the kernel's list of lookaside lists is corrupted"
        ),
    }
}

/// Pops the first entry of the SList at `head` (0 if it is empty, and then
/// notes a miss of `list` for the allocate routine the fast path calls next).
///
/// # Safety
/// `head` is an SList header the model initialised; its entries are live
/// blocks whose first word links the next one.
pub(super) unsafe fn slist_pop(head: PSLIST_HEADER, list: usize) -> usize {
    // SAFETY: per the contract.
    let (depth, sequence, first) = unsafe { slist_read(head) };
    if first == 0 {
        MISS.with(|miss| miss.set(list));
        return 0;
    }
    // SAFETY: `first` is a live entry whose first word is the next entry.
    let next = unsafe { (first as *const usize).read() };
    // SAFETY: per the contract.
    unsafe { slist_write(head, depth - 1, sequence, next) };
    first
}

/// Pushes `entry` onto the SList at `head`; returns the previous first entry.
///
/// # Safety
/// As [`slist_pop`]; `entry` is a writable block of at least 8 bytes, in no
/// list.
pub(super) unsafe fn slist_push(head: PSLIST_HEADER, entry: usize) -> usize {
    // SAFETY: per the contract.
    let (depth, sequence, first) = unsafe { slist_read(head) };
    // SAFETY: `entry` is a writable block of at least a pointer.
    unsafe { (entry as *mut usize).write(first) };
    // SAFETY: per the contract.
    unsafe { slist_write(head, depth.wrapping_add(1), sequence, entry) };
    first
}

/// Empties the SList header at `head`.
///
/// # Safety
/// `head` points to a writable, 16-aligned `SLIST_HEADER`.
pub(super) unsafe fn slist_init(head: PSLIST_HEADER) {
    // SAFETY: per the contract.
    unsafe { slist_write(head, 0, 0, 0) };
}

/// (depth, sequence, first entry) of the header at `head`.
///
/// # Safety
/// `head` points to a live, 16-aligned `SLIST_HEADER`.
unsafe fn slist_read(head: PSLIST_HEADER) -> (u16, u64, usize) {
    let words = head.cast::<u64>();
    // SAFETY: the header is two aligned quadwords, only accessed atomically
    // (ExQueryDepthSList reads the first one without the model's lock).
    let (first, second) = unsafe {
        (AtomicU64::from_ptr(words).load(Ordering::Acquire), AtomicU64::from_ptr(words.add(1)).load(Ordering::Acquire))
    };
    ((first & 0xFFFF) as u16, first >> 16, second as usize)
}

/// Writes the header at `head`: `depth`, the next `sequence` number (the
/// x64 header's ABA counter, bits 16-63) and the first entry.
///
/// # Safety
/// As [`slist_read`], writable.
unsafe fn slist_write(head: PSLIST_HEADER, depth: u16, sequence: u64, first: usize) {
    let words = head.cast::<u64>();
    let quadword = u64::from(depth) | (sequence.wrapping_add(1) << 16);
    // SAFETY: as in `slist_read`.
    unsafe {
        AtomicU64::from_ptr(words.add(1)).store(first as u64, Ordering::Release);
        AtomicU64::from_ptr(words).store(quadword, Ordering::Release);
    }
}
