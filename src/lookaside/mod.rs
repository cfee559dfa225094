//! Lookaside lists: typed, pinned caches of fixed-size entries
//! ([`LookasideList`]), handing out RAII entries ([`LookasideBox`]) that go
//! back to their list when dropped.
//!
//! | type | kernel structure | entries | IRQL |
//! |---|---|---|---|
//! | [`NPagedLookasideList<T>`] | `NPAGED_LOOKASIDE_LIST` (`ExInitializeNPagedLookasideList`) | non-paged, no-execute | <= DISPATCH_LEVEL |
//! | [`PagedLookasideList<T>`] | `PAGED_LOOKASIDE_LIST` (`ExInitializePagedLookasideList`) | paged | <= APC_LEVEL |
//! | [`LookasideListEx<T>`] | `LOOKASIDE_LIST_EX` (`ExInitializeLookasideListEx`, found at run time) | any [`PoolType`] | the pool's |
//!
//! The allocation and free fast paths are `wdm.h`'s inline ones
//! (`crate::sys`): pop an entry from the list's SList, or on a miss call the
//! list's allocate routine (the pool by default); push it back, or when the
//! list already holds `Depth` entries (a depth the kernel chooses and
//! adjusts: 4 at first on Windows and Wine, at most 256) give it to the free
//! routine. The list's own counters ([`LookasideStats`]) show the reuse.
//!
//! # Where the kernel structure lives
//! The kernel links every list into its global list of lookaside lists (and
//! scans it from the balance-set manager at DISPATCH_LEVEL), so the structure
//! must be in non-paged system space, must not move, and must never be freed
//! while linked, whatever the list's entries are. The crate makes each of
//! these unrepresentable rather than checked: [`LookasideList::init`]
//! allocates the kernel structure (`NPAGED_LOOKASIDE_LIST`,
//! `PAGED_LOOKASIDE_LIST` or `LOOKASIDE_LIST_EX`) in a non-paged,
//! no-execute pool block of its own, tagged with the list's tag, and only a
//! successful deletion frees that block. Where the Rust value lives (a
//! `static`, the stack, a paged [`PoolBox`](crate::pool::PoolBox), a device
//! extension) therefore does not matter to the kernel: a kernel stack that is
//! swapped out, or paged pool, never holds a kernel structure. The cost: one
//! pool allocation per [`init`](LookasideList::init), and one pointer load
//! (from the list's own cache line, next to its state) per operation.
//!
//! A list is created uninitialised by the `const fn` [`LookasideList::new`]
//! and used through `Pin<&Self>` (`core::pin::pin!`, a `static` through
//! [`Pin::static_ref`], a pinned pool box), so that it stays at one address
//! from its initialisation to its deletion; the pin is no longer what keeps
//! the kernel structure in place (its own block does). [`LookasideList::init`]
//! takes `Pin<&Self>` so that a `static` can be initialised in `DriverEntry`. Its state is
//! checked: using a list that is not initialised is
//! [`NtStatus::INVALID_DEVICE_STATE`].
//!
//! # Deletion
//! Every entry borrows its list, so a list cannot be dropped while an entry
//! is alive: dropping a list deletes it (`ExDelete*`) and frees its
//! structure. Dropped above its pool's maximum IRQL, where `ExDelete*` may
//! not run, the list follows the crate's one rule for drops above their IRQL
//! (see [`crate::pool`]): it touches nothing, and its structure stays
//! allocated and linked: leaked, never freed (Driver Verifier reports the
//! list at unload, 0xCE, and its block as leaked pool).
//!
//! A `static` is never dropped: `DriverUnload` calls [`LookasideList::delete`],
//! which is `unsafe`: the caller vouches that no entry is alive and that no
//! other thread uses the list (in `DriverUnload`, after every request has
//! completed). Counting the entries out would make this a runtime check,
//! but at the price of two atomic read-modify-writes of the list's shared
//! cache line per entry (`lock xadd`, `lock sub`), which `wdm.h`'s fast
//! paths do not pay; so the count is opt-in: with the feature
//! `lookaside-count` (and always with the kernel model, so that tests catch
//! a deletion with entries out) the list counts its entries, `delete`
//! refuses with [`NtStatus::CANNOT_DELETE`] while any is alive, and
//! [`LookasideStats::entries_out`] reports them. A list that is not a
//! `static` needs neither: its entries borrow it, and dropping it deletes
//! it. An entry leaked with `mem::forget` never comes back;
//! for that case `DriverUnload` has
//! [`LookasideList::delete_abandoning_entries`], which deletes the list all
//! the same and leaves the leaked entries as what they are, plain pool blocks
//! that stay allocated.
//!
//! ```
//! # let kernel = wdm_mem::model::Kernel::new();
//! use core::pin::{Pin, pin};
//! use wdm_mem::{lookaside::{LookasideConfig, NPagedLookasideList}, pool_tag};
//!
//! #[derive(Default)]
//! struct Request {
//!     id: u64,
//!     data: [u64; 7],
//! }
//!
//! // In a static, initialised in DriverEntry and deleted in DriverUnload:
//! static REQUESTS: NPagedLookasideList<Request> = NPagedLookasideList::new();
//! let requests = Pin::static_ref(&REQUESTS);
//! requests.init(LookasideConfig::new(pool_tag!(b"Req ")))?;
//! for id in 0..3 {
//!     let mut request = requests.allocate(Request::default())?;
//!     request.id = id;
//! } // each entry goes back to the list here
//! let stats = requests.stats()?;
//! assert_eq!((stats.total_allocates, stats.allocate_misses), (3, 1)); // reused twice
//! // SAFETY: DriverUnload: every entry was dropped, no other thread runs.
//! unsafe { requests.delete() }?;
//!
//! // On the stack (or in a pinned PoolBox): deleted when dropped.
//! {
//!     let scratch = pin!(NPagedLookasideList::<[u64; 4]>::new());
//!     let scratch = scratch.into_ref();
//!     scratch.init(LookasideConfig::new(pool_tag!(b"Tmp ")))?;
//!     let entry = scratch.allocate([1, 2, 3, 4])?;
//!     assert_eq!(entry[2], 3);
//! }
//! # kernel.assert_clean();
//! # Ok::<(), wdm_mem::NtStatus>(())
//! ```
//!
//! # Entries
//! An entry is a block of `size_of::<T>()` bytes, 16-aligned like every pool
//! block. [`LookasideList::init`] refuses with
//! [`NtStatus::INVALID_PARAMETER`] a zero-sized `T`, a `T` smaller than
//! `LOOKASIDE_MINIMUM_BLOCK_SIZE` (8 bytes: the room of the SList link), larger
//! than 4 GiB, or aligned on more than 16 bytes.
//!
//! # IRQL
//! Every operation of a list of non-paged entries runs at <= DISPATCH_LEVEL,
//! of paged entries at <= APC_LEVEL, and, where the IRQL is checked (the
//! kernel model, debug builds, the feature `irql-checks`: see
//! [`crate::irql`]), returns [`NtStatus::INVALID_LEVEL`] above. There, an
//! entry dropped above its list's maximum is leaked without being touched
//! (its value's destructor does not run; pushing it could fault): its pool
//! block stays allocated. Unchecked, the hit path reads no IRQL, as
//! `wdm.h`'s does.
//!
//! The value in an entry of paged pool (a [`PagedLookasideList`], or a
//! [`LookasideListEx`] of [`PoolType::Paged`]) may only be touched at <=
//! APC_LEVEL. This is not checked on a real kernel (it would cost an IRQL
//! read per access): a touch above is the page fault Windows reports as
//! `IRQL_NOT_LESS_OR_EQUAL` (0x0A) or `DRIVER_IRQL_NOT_LESS_OR_EQUAL` (0xD1);
//! the kernel model reports every such touch (0xD1), as for paged pool.
//!
//! # Where it runs
//! Windows: all three families (`LOOKASIDE_LIST_EX` since Vista). Wine 8:
//! the non-paged and paged lists are real; `ExInitializeLookasideListEx` is
//! absent, so [`LookasideListEx`] initialisation fails with
//! [`NtStatus::PROCEDURE_NOT_FOUND`]. The kernel model implements all three
//! with the verifier checks listed in the README.

mod entry;
mod kind;

use core::{
    alloc::Layout,
    fmt,
    marker::{PhantomData, PhantomPinned},
    pin::Pin,
    ptr::{NonNull, null_mut},
    sync::atomic::{AtomicI32, AtomicPtr, AtomicU16, AtomicU32, AtomicUsize, Ordering},
};

pub use entry::LookasideBox;
pub use kind::{CustomRoutines, Ex, ExRoutines, LegacyRoutines, ListKind, NonPaged, Paged};

use crate::{
    Irql, NtResult, NtStatus,
    pool::{self, PoolTag, PoolType, may_release},
    sys,
};

/// A lookaside list of non-paged entries (`NPAGED_LOOKASIDE_LIST`).
pub type NPagedLookasideList<T> = LookasideList<T, NonPaged>;
/// A lookaside list of paged entries (`PAGED_LOOKASIDE_LIST`).
pub type PagedLookasideList<T> = LookasideList<T, Paged>;
/// A `LOOKASIDE_LIST_EX` (entries from any pool).
pub type LookasideListEx<T> = LookasideList<T, Ex>;

/// How [`LookasideList::init`] sets a list up: the entries' pool tag, their
/// pool ([`ListKind::DEFAULT_POOL`] unless changed), and optionally the
/// driver's own allocate and free routines.
///
/// The kernel's `Depth` parameter is reserved (it must be 0: the kernel
/// chooses the depth) and `Flags` are chosen by the crate (no-execute
/// non-paged pool, never raise an exception on failure), so neither is an
/// input: the depth the kernel chose shows in [`LookasideStats::depth`], and
/// the flags follow from [`LookasideStats::pool`].
#[derive(Debug)]
pub struct LookasideConfig<K: ListKind> {
    tag: PoolTag,
    pool: PoolType,
    routines: Option<K::Routines>,
}

impl<K: ListKind> Clone for LookasideConfig<K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K: ListKind> Copy for LookasideConfig<K> {}

impl<K: ListKind> LookasideConfig<K> {
    /// Entries tagged `tag`, from the family's default pool, allocated and
    /// freed by the kernel's default routines.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn new(tag: PoolTag) -> Self {
        LookasideConfig { tag, pool: K::DEFAULT_POOL, routines: None }
    }

    /// Entries from `pool`. [`NonPaged`] lists accept
    /// [`PoolType::NonPagedNx`] and [`PoolType::NonPagedExecute`], [`Paged`]
    /// lists [`PoolType::Paged`], [`Ex`] lists any; another pool makes
    /// [`LookasideList::init`] fail with [`NtStatus::INVALID_PARAMETER`].
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn pool(self, pool: PoolType) -> Self {
        LookasideConfig { pool, ..self }
    }

    /// The driver's own routines for allocating entries when the list is
    /// empty and freeing them when it is full.
    ///
    /// # Safety
    /// `allocate` returns NULL or a block of at least the `NumberOfBytes` it
    /// is given, 16-aligned, in memory of the list's pool (non-paged for a
    /// non-paged list), owned by nobody else; `free` takes back exactly the
    /// blocks `allocate` returned (or, if `allocate` is `None`, pool blocks
    /// of the list's tag). Both may be called at any IRQL up to the list's
    /// maximum, from any thread, and never unwind.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub unsafe fn routines(self, routines: K::Routines) -> Self {
        LookasideConfig { routines: Some(routines), ..self }
    }
}

/// A snapshot of a list's configuration and counters (the fields of its
/// `GENERAL_LOOKASIDE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LookasideStats {
    /// `TotalAllocates`: allocations attempted.
    pub total_allocates: u32,
    /// `AllocateMisses`: allocations the list could not serve from its
    /// cache (each called the allocate routine).
    pub allocate_misses: u32,
    /// `TotalFrees`: entries given back.
    pub total_frees: u32,
    /// `FreeMisses`: entries given to the free routine because the list was
    /// full.
    pub free_misses: u32,
    /// `Depth`: how many entries the list keeps at most right now.
    pub depth: u16,
    /// `MaximumDepth`: the most the kernel may raise `depth` to.
    pub maximum_depth: u16,
    /// Entries the list holds right now.
    pub cached: u16,
    /// Entries of this list alive right now, when the list counts them
    /// (feature `lookaside-count`, or the kernel model); 0 otherwise.
    pub entries_out: usize,
    /// The entries' pool tag.
    pub tag: PoolTag,
    /// The entries' pool (no-execute unless asked otherwise).
    pub pool: PoolType,
    /// The size of an entry: `size_of::<T>()`.
    pub entry_size: usize,
}

/// The low bits of `state`: where the list is in its life.
const STATE_MASK: usize = 0b11;
const UNINITIALISED: usize = 0;
/// Being initialised or deleted.
const BUSY: usize = 1;
const READY: usize = 2;
/// One entry out (or one statistics read in progress), counted above the
/// state bits when [`COUNTED`].
const ENTRY: usize = 4;
/// Whether lists count their entries out (see the module's *Deletion*).
const COUNTED: bool = cfg!(any(wdm_provider = "model", feature = "lookaside-count"));

/// A lookaside list of `T` entries, of the family `K` ([`NonPaged`],
/// [`Paged`], [`Ex`]): see the [module documentation](self).
///
/// # Invariants
/// - `state & STATE_MASK` is `READY` exactly while `raw` points to an
///   initialised, not deleted kernel list of entries of `size_of::<T>()`
///   bytes, tagged `tag`, from the pool whose legacy type is `pool`; `BUSY`
///   while one thread initialises or deletes it; `UNINITIALISED` otherwise
///   (`raw` is then null).
/// - `raw`, when not null, is a non-paged pool block of
///   `Layout::new::<K::Raw>()` tagged `tag`, from `pool::allocate_uncounted`, owned
///   by the list; it never moves, and is freed only after `K::delete`.
/// - When `COUNTED`, `state / ENTRY` counts the entries of this list alive
///   (plus the operations in progress that checked the state); otherwise it
///   is 0. The list is only deleted when no entry is alive or used again:
///   by `Drop`, which the borrow of every entry rules out while one is
///   alive, by `delete`, whose caller guarantees it (and which, counted,
///   also checks it), or by `delete_abandoning_entries`, whose caller
///   guarantees that the entries still out are never used again.
#[repr(C)]
pub struct LookasideList<T, K: ListKind> {
    raw: AtomicPtr<K::Raw>,
    state: AtomicUsize,
    pool: AtomicI32,
    tag: AtomicU32,
    _entries: PhantomData<fn(T) -> T>,
    _pinned: PhantomPinned,
}

// SAFETY: the kernel list is made for use by every processor at once; the
// list holds no `T` (entries are owned by their `LookasideBox`, which is only
// `Send` when `T` is).
unsafe impl<T, K: ListKind> Send for LookasideList<T, K> {}
// SAFETY: as above: shared access runs the kernel's MP-safe operations and
// atomics only.
unsafe impl<T, K: ListKind> Sync for LookasideList<T, K> {}

impl<T, K: ListKind> LookasideList<T, K> {
    /// An uninitialised list, for a `static` or a field; pin it, then
    /// [`init`](Self::init) it.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn new() -> Self {
        LookasideList {
            raw: AtomicPtr::new(null_mut()),
            state: AtomicUsize::new(UNINITIALISED),
            pool: AtomicI32::new(0),
            tag: AtomicU32::new(0),
            _entries: PhantomData,
            _pinned: PhantomPinned,
        }
    }

    /// Allocates the list's kernel structure in non-paged pool and
    /// initialises it (`ExInitialize*LookasideList*`).
    ///
    /// Errors, with nothing initialised or allocated:
    /// [`NtStatus::INVALID_PARAMETER`] for a `T` the kernel cannot hold (see
    /// the module's *Entries*) or a pool this family does not take;
    /// [`NtStatus::INVALID_LEVEL`] above the pool's maximum IRQL;
    /// [`NtStatus::INVALID_DEVICE_STATE`] if the list is already initialised
    /// (or being deleted); [`NtStatus::INSUFFICIENT_RESOURCES`] when the
    /// structure cannot be allocated; for an [`Ex`] list,
    /// [`NtStatus::PROCEDURE_NOT_FOUND`] where the kernel lacks the export,
    /// or the status `ExInitializeLookasideListEx` returned.
    ///
    /// # IRQL
    /// At most the pool's maximum (DISPATCH_LEVEL, or APC_LEVEL for paged
    /// entries); PASSIVE_LEVEL for the first [`Ex`] list unless
    /// [`pool::resolve_routines`] ran.
    pub fn init(self: Pin<&Self>, config: LookasideConfig<K>) -> NtResult<()> {
        let size = entry_size::<T>()?;
        Irql::ensure_at_most(config.pool.max_irql())?;
        let list = self.get_ref();
        list.state
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |state| {
                (state & STATE_MASK == UNINITIALISED).then_some(state + BUSY)
            })
            .map_err(|_| NtStatus::INVALID_DEVICE_STATE)?;
        let raw = match pool::allocate_uncounted(Layout::new::<K::Raw>(), config.tag, PoolType::NonPagedNx, true) {
            Ok(raw) => raw.cast::<K::Raw>(),
            Err(status) => {
                list.state.fetch_sub(BUSY, Ordering::Release);
                return Err(status);
            }
        };
        // SAFETY: `raw` is a fresh, zeroed, non-paged block for a `K::Raw`,
        // which never moves; this thread alone moved the list to BUSY from
        // UNINITIALISED; size, pool IRQL and tag were checked.
        if let Err(status) = unsafe { K::initialize(raw.as_ptr(), &config, size) } {
            // SAFETY: the block came from `pool::allocate_uncounted` with this
            // layout and tag, the kernel did not take it, and the IRQL is at
            // most the pool's maximum, at most DISPATCH_LEVEL: checked above
            // when `Irql::CHECKED`, else the caller's `# IRQL` contract, whose
            // breach is the kernel's bug check (see `crate::irql`).
            unsafe { pool::free_uncounted(raw.cast(), Layout::new::<K::Raw>(), config.tag) };
            list.state.fetch_sub(BUSY, Ordering::Release);
            return Err(status);
        }
        list.raw.store(raw.as_ptr(), Ordering::Relaxed);
        list.pool.store(config.pool.to_legacy(), Ordering::Relaxed);
        list.tag.store(config.tag.to_u32(), Ordering::Relaxed);
        list.state.fetch_add(READY - BUSY, Ordering::Release);
        Ok(())
    }

    /// Takes an entry from the list (or, on a miss, from its allocate
    /// routine) and moves `value` into it.
    ///
    /// Errors, `value` being dropped: [`NtStatus::INVALID_DEVICE_STATE`]
    /// when the list is not initialised, [`NtStatus::INVALID_LEVEL`] above
    /// the pool's maximum IRQL, [`NtStatus::INSUFFICIENT_RESOURCES`] when
    /// the allocate routine returns NULL.
    ///
    /// # IRQL
    /// At most the pool's maximum; a paged entry may only be touched at
    /// <= APC_LEVEL.
    pub fn allocate(self: Pin<&Self>, value: T) -> NtResult<LookasideBox<'_, T, K>> {
        self.allocate_with(|| value)
    }

    /// [`allocate`](Self::allocate), with the value made by `init` once the
    /// entry is there (`init` does not run on an error): the value is built
    /// in the entry rather than on the stack and then copied in, which for
    /// a value of more than a few words saves the copy.
    ///
    /// ```
    /// # let kernel = wdm_mem::model::Kernel::new();
    /// use core::pin::pin;
    /// use wdm_mem::{lookaside::{LookasideConfig, NPagedLookasideList}, pool_tag};
    ///
    /// {
    ///     let list = pin!(NPagedLookasideList::<[u64; 32]>::new());
    ///     let list = list.into_ref();
    ///     list.init(LookasideConfig::new(pool_tag!(b"Doc7")))?;
    ///     let entry = list.allocate_with(|| [7; 32])?;
    ///     assert_eq!(entry[31], 7);
    /// } // the entry goes back, then the list is deleted
    /// # kernel.assert_clean();
    /// # Ok::<(), wdm_mem::NtStatus>(())
    /// ```
    ///
    /// # IRQL
    /// As [`allocate`](Self::allocate).
    #[inline]
    pub fn allocate_with(self: Pin<&Self>, init: impl FnOnce() -> T) -> NtResult<LookasideBox<'_, T, K>> {
        let list = self.get_ref();
        list.acquire()?;
        let entry = Irql::ensure_at_most_of(|| list.pool().max_irql()).and_then(|()| {
            // SAFETY: acquired, so the list is initialised and cannot be
            // deleted meanwhile; the IRQL is within the pool's maximum.
            let entry = unsafe { K::allocate(list.raw()) };
            NonNull::new(entry.cast::<T>()).ok_or(NtStatus::INSUFFICIENT_RESOURCES)
        });
        match entry {
            Ok(entry) => {
                // SAFETY: a fresh entry of size_of::<T>() bytes, 16-aligned
                // (at least T's alignment, checked by `init`).
                unsafe { entry.write(init()) };
                // SAFETY: acquired for this entry, which came from this list.
                Ok(unsafe { LookasideBox::new(list, entry) })
            }
            Err(status) => {
                list.release();
                Err(status)
            }
        }
    }

    /// The list's configuration and counters, or
    /// [`NtStatus::INVALID_DEVICE_STATE`] when it is not initialised.
    ///
    /// # IRQL
    /// Any (the list structure is non-paged).
    pub fn stats(self: Pin<&Self>) -> NtResult<LookasideStats> {
        let list = self.get_ref();
        list.acquire()?;
        // SAFETY: acquired: the structure is initialised and stays so; its
        // fields are read with atomic loads, as the fast paths write them.
        let stats = unsafe {
            let fields = K::fields(list.raw());
            let load = |counter: *mut sys::ULONG| AtomicU32::from_ptr(counter).load(Ordering::Relaxed);
            LookasideStats {
                total_allocates: load(fields.total_allocates),
                allocate_misses: load(fields.allocate_misses),
                total_frees: load(fields.total_frees),
                free_misses: load(fields.free_misses),
                depth: AtomicU16::from_ptr(fields.depth).load(Ordering::Relaxed),
                maximum_depth: AtomicU16::from_ptr(fields.maximum_depth).load(Ordering::Relaxed),
                cached: sys::ExQueryDepthSList(fields.list_head),
                entries_out: (list.state.load(Ordering::Relaxed) / ENTRY).saturating_sub(1),
                tag: list.tag(),
                pool: list.pool(),
                entry_size: size_of::<T>(),
            }
        };
        list.release();
        Ok(stats)
    }

    /// Deletes the list (`ExDelete*`): its cached entries go back to the
    /// pool (or its free routine) and its kernel structure is freed; it may
    /// then be initialised again. For a `static` list, in `DriverUnload`; a
    /// list that is not a `static` is deleted by its `Drop`.
    ///
    /// Errors, the list staying as it was: [`NtStatus::CANNOT_DELETE`] while
    /// an entry is alive (or leaked), when the list counts its entries
    /// (feature `lookaside-count`, or the kernel model);
    /// [`NtStatus::INVALID_DEVICE_STATE`] when it is not initialised;
    /// [`NtStatus::INVALID_LEVEL`] above the pool's maximum IRQL (when the
    /// IRQL is checked, see [`crate::irql`]).
    ///
    /// It is `unsafe`: uncounted, nothing else knows whether an entry is
    /// still out.
    ///
    /// ```compile_fail,E0133
    /// # let kernel = wdm_mem::model::Kernel::new();
    /// use core::pin::Pin;
    /// use wdm_mem::{lookaside::{LookasideConfig, NPagedLookasideList}, pool_tag};
    ///
    /// static LIST: NPagedLookasideList<u64> = NPagedLookasideList::new();
    /// let list = Pin::static_ref(&LIST);
    /// list.init(LookasideConfig::new(pool_tag!(b"Doc6")))?;
    /// list.delete()?; // error: call to unsafe function
    /// # Ok::<(), wdm_mem::NtStatus>(())
    /// ```
    ///
    /// # Safety
    /// No other thread uses the list while this call runs, and, unless the
    /// list counts its entries (feature `lookaside-count`, or the kernel
    /// model, where this call refuses while one is out), no entry of this
    /// list is alive: every [`LookasideBox`] of it was dropped (for one
    /// leaked with `mem::forget`, see
    /// [`delete_abandoning_entries`](Self::delete_abandoning_entries)).
    ///
    /// # IRQL
    /// At most the pool's maximum.
    pub unsafe fn delete(self: Pin<&Self>) -> NtResult<()> {
        let list = self.get_ref();
        Irql::ensure_at_most_of(|| list.pool().max_irql())?;
        if let Err(state) = list.state.compare_exchange(READY, BUSY, Ordering::Acquire, Ordering::Relaxed) {
            let ready = state & STATE_MASK == READY;
            return Err(if ready { NtStatus::CANNOT_DELETE } else { NtStatus::INVALID_DEVICE_STATE });
        }
        // SAFETY: this thread moved the list from READY to BUSY, with no
        // entry out (the contract, and counted, the state), and nothing else
        // uses it; the IRQL is within the pool's maximum (checked, or else a
        // kernel bug check, see `crate::irql`).
        unsafe { list.destroy() };
        list.state.fetch_sub(BUSY, Ordering::Release);
        Ok(())
    }

    /// Deletes the list although entries are still out, abandoning them: the
    /// way out for `DriverUnload` when an entry was leaked with
    /// `mem::forget` (a `static` list could otherwise never be deleted, and
    /// the kernel would go on linking a structure of the unloaded driver).
    /// Returns how many entries were abandoned, when the list counts them
    /// (see [`delete`](Self::delete)); 0 otherwise.
    ///
    /// An abandoned entry is a plain pool block of the list's tag (or a block
    /// of the driver's allocate routine): it stays allocated, leaked, and
    /// Driver Verifier reports it at unload as leaked pool (0xC4/0x60). The
    /// kernel no longer knows the list: nothing it does touches the entries.
    ///
    /// Errors, the list staying as it was: [`NtStatus::INVALID_DEVICE_STATE`]
    /// when it is not initialised, [`NtStatus::INVALID_LEVEL`] above the
    /// pool's maximum IRQL.
    ///
    /// ```
    /// # let kernel = wdm_mem::model::Kernel::new();
    /// use core::pin::Pin;
    /// use wdm_mem::{lookaside::{LookasideConfig, NPagedLookasideList}, pool_tag};
    ///
    /// static LIST: NPagedLookasideList<u64> = NPagedLookasideList::new();
    /// let list = Pin::static_ref(&LIST);
    /// list.init(LookasideConfig::new(pool_tag!(b"Doc4")))?;
    /// core::mem::forget(list.allocate(1)?);
    /// // In DriverUnload:
    /// // SAFETY: DriverUnload runs alone (the model counts the entries, so
    /// // this `delete` refuses).
    /// if unsafe { list.delete() }.is_err() {
    ///     // SAFETY: the entry out was leaked with mem::forget; DriverUnload
    ///     // runs alone.
    ///     assert_eq!(unsafe { list.delete_abandoning_entries() }?, 1);
    /// }
    /// # let report = kernel.finish();
    /// # assert_eq!(report.violations.len(), 2); // the model's note, and the leaked entry
    /// # Ok::<(), wdm_mem::NtStatus>(())
    /// ```
    ///
    /// It is `unsafe`: the caller vouches that no entry comes back.
    ///
    /// ```compile_fail,E0133
    /// # let kernel = wdm_mem::model::Kernel::new();
    /// use core::pin::Pin;
    /// use wdm_mem::{lookaside::{LookasideConfig, NPagedLookasideList}, pool_tag};
    ///
    /// static LIST: NPagedLookasideList<u64> = NPagedLookasideList::new();
    /// let list = Pin::static_ref(&LIST);
    /// list.init(LookasideConfig::new(pool_tag!(b"Doc5")))?;
    /// list.delete_abandoning_entries()?; // error: call to unsafe function
    /// # Ok::<(), wdm_mem::NtStatus>(())
    /// ```
    ///
    /// # Safety
    /// Every entry of this list still out is never used or dropped again
    /// (each was leaked with `mem::forget`, or is leaked by the caller), and
    /// no other thread uses the list while this call runs.
    ///
    /// # IRQL
    /// At most the pool's maximum.
    pub unsafe fn delete_abandoning_entries(self: Pin<&Self>) -> NtResult<usize> {
        let list = self.get_ref();
        Irql::ensure_at_most_of(|| list.pool().max_irql())?;
        let state = list.state.load(Ordering::Acquire);
        if state & STATE_MASK != READY
            || list.state.compare_exchange(state, BUSY, Ordering::Acquire, Ordering::Relaxed).is_err()
        {
            return Err(NtStatus::INVALID_DEVICE_STATE);
        }
        // SAFETY: READY, and the entries counted in `state` are never used
        // again (contract), nor is the list by another thread: this thread
        // alone uses it; the IRQL is within the pool's maximum.
        unsafe { list.destroy() };
        list.state.fetch_sub(BUSY, Ordering::Release);
        Ok(state / ENTRY)
    }

    /// Deletes the kernel list and frees its structure.
    ///
    /// # Safety
    /// The list is initialised and used by no one else, no entry is used
    /// afterwards, and the IRQL is at most the pool's maximum.
    unsafe fn destroy(&self) {
        let raw = self.raw.swap(null_mut(), Ordering::Relaxed);
        // SAFETY: per the contract, `raw` is the initialised structure.
        unsafe { K::delete(raw) };
        if let Some(raw) = NonNull::new(raw) {
            // SAFETY: the block came from `pool::allocate_uncounted` with this
            // layout and tag (invariant), the kernel no longer links it, and
            // the IRQL, at most the pool's maximum, is at most DISPATCH_LEVEL.
            unsafe { pool::free_uncounted(raw.cast(), Layout::new::<K::Raw>(), self.tag()) };
        }
    }

    /// Drops the `T` of an entry this list handed out and gives the entry
    /// back.
    ///
    /// # Safety
    /// `entry` came from [`allocate`](Self::allocate) of this list (which
    /// acquired the list for it) and is not used afterwards.
    unsafe fn give_back(&self, entry: NonNull<T>) {
        // The IRQL first, before the value is touched (see the pool's
        // `release.rs`): above the maximum the entry is leaked whole.
        if may_release(|| self.pool().max_irql()) {
            // SAFETY: per the contract the T is live and dropped only here;
            // the list is acquired, hence initialised, and the IRQL is within
            // its maximum when `Irql::CHECKED` (unchecked, a call above is the
            // kernel's bug check: `crate::irql`).
            unsafe {
                entry.drop_in_place();
                K::free(self.raw(), entry.as_ptr().cast());
            }
        }
        self.release();
    }

    /// Checks that the list is initialised and, when [`COUNTED`], counts one
    /// more user of it.
    #[inline(always)]
    fn acquire(&self) -> NtResult<()> {
        let previous =
            if COUNTED { self.state.fetch_add(ENTRY, Ordering::Acquire) } else { self.state.load(Ordering::Acquire) };
        if previous & STATE_MASK == READY {
            Ok(())
        } else {
            self.release();
            Err(NtStatus::INVALID_DEVICE_STATE)
        }
    }

    #[inline(always)]
    fn release(&self) {
        if COUNTED {
            self.state.fetch_sub(ENTRY, Ordering::Release);
        }
    }

    /// The kernel structure (meaningful once initialised).
    fn raw(&self) -> *mut K::Raw {
        self.raw.load(Ordering::Relaxed)
    }

    /// The entries' pool (meaningful once initialised).
    fn pool(&self) -> PoolType {
        PoolType::from_legacy(self.pool.load(Ordering::Relaxed)).unwrap_or(K::DEFAULT_POOL)
    }

    /// The entries' tag (meaningful once initialised).
    fn tag(&self) -> PoolTag {
        PoolTag::try_new(self.tag.load(Ordering::Relaxed).to_le_bytes()).unwrap_or(PoolTag::new(*b"????"))
    }
}

/// The kernel's entry size for `T`, or [`NtStatus::INVALID_PARAMETER`].
fn entry_size<T>() -> NtResult<usize> {
    let layout = Layout::new::<T>();
    let minimum = sys::LOOKASIDE_MINIMUM_BLOCK_SIZE as usize;
    let fits =
        (minimum..=u32::MAX as usize).contains(&layout.size()) && layout.align() <= sys::MEMORY_ALLOCATION_ALIGNMENT;
    if fits { Ok(layout.size()) } else { Err(NtStatus::INVALID_PARAMETER) }
}

impl<T, K: ListKind> Default for LookasideList<T, K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, K: ListKind> Drop for LookasideList<T, K> {
    fn drop(&mut self) {
        // Every entry borrows the list: none is alive here (an entry leaked
        // with mem::forget never comes back to it). Above the pool's IRQL the
        // list cannot be deleted: by the crate's one rule (the pool's
        // `release.rs`) its structure is then leaked, never freed, so the
        // kernel never links freed memory.
        let ready = *self.state.get_mut() & STATE_MASK == READY;
        if ready && may_release(|| self.pool().max_irql()) {
            // SAFETY: initialised, no entry alive or used again, `&mut self`
            // excludes every other user, IRQL within the maximum when
            // `Irql::CHECKED` (unchecked, a drop above is the kernel's bug
            // check: `crate::irql`).
            unsafe { self.destroy() };
        }
    }
}

impl<T, K: ListKind> fmt::Debug for LookasideList<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.load(Ordering::Relaxed);
        f.debug_struct("LookasideList")
            .field("initialised", &(state & STATE_MASK == READY))
            .field("entries_out", &(state / ENTRY))
            .finish_non_exhaustive()
    }
}
