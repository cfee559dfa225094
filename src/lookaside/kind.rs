//! The three families of kernel lookaside lists, as the `K` parameter of
//! [`LookasideList`](super::LookasideList): [`NonPaged`], [`Paged`], [`Ex`].

use core::fmt;

use super::LookasideConfig;
use crate::{
    Irql, NtResult, NtStatus,
    pool::PoolType,
    sys::{self, GeneralLookaside, LookasideFields, PVOID},
};

/// A driver's own routines for a list's entries: `allocate` runs when the
/// list is empty, `free` when it is full; `None` keeps the kernel's default
/// for that half (the pool, with the list's tag).
#[derive(Clone, Copy, Debug)]
pub struct CustomRoutines<A, F> {
    /// The allocate routine (`PALLOCATE_FUNCTION` or `PALLOCATE_FUNCTION_EX`).
    pub allocate: A,
    /// The free routine (`PFREE_FUNCTION` or `PFREE_FUNCTION_EX`).
    pub free: F,
}

mod private {
    /// Only this crate's three families are lists.
    pub trait Sealed {}
}

/// A family of kernel lookaside lists. Sealed: [`NonPaged`], [`Paged`] and
/// [`Ex`] are the only ones.
///
/// The hidden items are the family's kernel calls, for this crate's own use.
pub trait ListKind: private::Sealed + Sized + 'static {
    /// The driver's own routines for this family (see
    /// [`LookasideConfig::routines`]).
    type Routines: Copy + fmt::Debug;
    /// The pool entries come from unless the configuration names another.
    const DEFAULT_POOL: PoolType;

    /// The kernel structure.
    #[doc(hidden)]
    type Raw;

    /// Initialises `raw` in place; [`NtStatus::INVALID_PARAMETER`] for a
    /// pool the family does not take.
    ///
    /// # Safety
    /// `raw` is a zeroed block of non-paged pool that never moves, not
    /// initialised (or deleted); `size` was validated;
    /// the IRQL is at most the pool's maximum.
    #[doc(hidden)]
    unsafe fn initialize(raw: *mut Self::Raw, config: &LookasideConfig<Self>, size: usize) -> NtResult<()>;

    /// The fast allocation path: an entry or NULL.
    ///
    /// # Safety
    /// `raw` is initialised; the IRQL is at most the pool's maximum.
    #[doc(hidden)]
    unsafe fn allocate(raw: *mut Self::Raw) -> PVOID;

    /// The fast free path.
    ///
    /// # Safety
    /// As [`allocate`](Self::allocate); `entry` came from this list.
    #[doc(hidden)]
    unsafe fn free(raw: *mut Self::Raw, entry: PVOID);

    /// Deletes the list: its cached entries go back to its free routine.
    ///
    /// # Safety
    /// As [`allocate`](Self::allocate); no entry is used afterwards.
    #[doc(hidden)]
    unsafe fn delete(raw: *mut Self::Raw);

    /// The statistics fields.
    ///
    /// # Safety
    /// `raw` points to the list structure (addresses only are computed).
    #[doc(hidden)]
    unsafe fn fields(raw: *mut Self::Raw) -> LookasideFields;
}

/// `NPAGED_LOOKASIDE_LIST`: entries from non-paged pool, used at IRQL <=
/// DISPATCH_LEVEL. No-execute pool (`POOL_NX_ALLOCATION`) by default,
/// [`PoolType::NonPagedExecute`] on request; no other pool.
#[derive(Debug)]
pub enum NonPaged {}

/// `PAGED_LOOKASIDE_LIST`: entries from paged pool ([`PoolType::Paged`]
/// only), used at IRQL <= APC_LEVEL.
#[derive(Debug)]
pub enum Paged {}

/// `LOOKASIDE_LIST_EX` (`ExInitializeLookasideListEx`): entries from any
/// [`PoolType`], used at IRQL <= the pool's maximum. The two exports are
/// found at run time; where the kernel lacks them (Wine),
/// [`LookasideList::init`](super::LookasideList::init) fails with
/// [`NtStatus::PROCEDURE_NOT_FOUND`]. The first initialisation must run at
/// PASSIVE_LEVEL (where `MmGetSystemRoutineAddress` may be called), unless
/// [`pool::resolve_routines`](crate::pool::resolve_routines) ran; above it,
/// an unresolved export is reported absent.
#[derive(Debug)]
pub enum Ex {}

impl private::Sealed for NonPaged {}
impl private::Sealed for Paged {}
impl private::Sealed for Ex {}

/// The routines of a list's configuration, as the kernel takes them (NULL
/// for the kernel's defaults).
fn custom_routines<K, A: Copy, F: Copy>(config: &LookasideConfig<K>) -> (Option<A>, Option<F>)
where
    K: ListKind<Routines = CustomRoutines<Option<A>, Option<F>>>,
{
    config.routines.map_or((None, None), |routines| (routines.allocate, routines.free))
}

/// The routines of [`NonPaged`] and [`Paged`] lists.
pub type LegacyRoutines = CustomRoutines<sys::PALLOCATE_FUNCTION, sys::PFREE_FUNCTION>;
/// The routines of [`Ex`] lists.
pub type ExRoutines = CustomRoutines<sys::PALLOCATE_FUNCTION_EX, sys::PFREE_FUNCTION_EX>;

impl ListKind for NonPaged {
    type Routines = LegacyRoutines;
    const DEFAULT_POOL: PoolType = PoolType::NonPagedNx;
    type Raw = sys::NPAGED_LOOKASIDE_LIST;

    unsafe fn initialize(raw: *mut Self::Raw, config: &LookasideConfig<Self>, size: usize) -> NtResult<()> {
        let flags = match config.pool {
            PoolType::NonPagedNx => sys::POOL_NX_ALLOCATION,
            PoolType::NonPagedExecute => 0,
            _ => return Err(NtStatus::INVALID_PARAMETER),
        };
        let (allocate, free) = custom_routines(config);
        // SAFETY: per the contract; Depth is reserved (0).
        unsafe { sys::ExInitializeNPagedLookasideList(raw, allocate, free, flags, size as _, config.tag.to_u32(), 0) };
        Ok(())
    }

    unsafe fn allocate(raw: *mut Self::Raw) -> PVOID {
        // SAFETY: per the contract.
        unsafe { sys::ExAllocateFromNPagedLookasideList(raw) }
    }

    unsafe fn free(raw: *mut Self::Raw, entry: PVOID) {
        // SAFETY: per the contract.
        unsafe { sys::ExFreeToNPagedLookasideList(raw, entry) }
    }

    unsafe fn delete(raw: *mut Self::Raw) {
        // SAFETY: per the contract.
        unsafe { sys::ExDeleteNPagedLookasideList(raw) }
    }

    unsafe fn fields(raw: *mut Self::Raw) -> LookasideFields {
        // SAFETY: per the contract.
        unsafe { GeneralLookaside::fields(&raw mut (*raw).L) }
    }
}

impl ListKind for Paged {
    type Routines = LegacyRoutines;
    const DEFAULT_POOL: PoolType = PoolType::Paged;
    type Raw = sys::PAGED_LOOKASIDE_LIST;

    unsafe fn initialize(raw: *mut Self::Raw, config: &LookasideConfig<Self>, size: usize) -> NtResult<()> {
        if config.pool != PoolType::Paged {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let (allocate, free) = custom_routines(config);
        // SAFETY: per the contract; Flags 0 (paged pool is always
        // no-execute), Depth is reserved (0).
        unsafe { sys::ExInitializePagedLookasideList(raw, allocate, free, 0, size as _, config.tag.to_u32(), 0) };
        Ok(())
    }

    unsafe fn allocate(raw: *mut Self::Raw) -> PVOID {
        // SAFETY: per the contract.
        unsafe { sys::ExAllocateFromPagedLookasideList(raw) }
    }

    unsafe fn free(raw: *mut Self::Raw, entry: PVOID) {
        // SAFETY: per the contract.
        unsafe { sys::ExFreeToPagedLookasideList(raw, entry) }
    }

    unsafe fn delete(raw: *mut Self::Raw) {
        // SAFETY: per the contract.
        unsafe { sys::ExDeletePagedLookasideList(raw) }
    }

    unsafe fn fields(raw: *mut Self::Raw) -> LookasideFields {
        // SAFETY: per the contract.
        unsafe { GeneralLookaside::fields(&raw mut (*raw).L) }
    }
}

/// A `LOOKASIDE_LIST_EX` and the `ExDeleteLookasideListEx` found when it was
/// initialised (its deletion may run where the export cannot be looked up).
#[doc(hidden)]
#[repr(C)]
pub struct ExRaw {
    list: sys::LOOKASIDE_LIST_EX,
    delete: Option<sys::PFN_EX_DELETE_LOOKASIDE_LIST_EX>,
}

impl ListKind for Ex {
    type Routines = ExRoutines;
    const DEFAULT_POOL: PoolType = PoolType::NonPagedNx;
    type Raw = ExRaw;

    unsafe fn initialize(raw: *mut Self::Raw, config: &LookasideConfig<Self>, size: usize) -> NtResult<()> {
        let routines =
            sys::lookaside_list_ex_routines(Irql::current() == Irql::PASSIVE).ok_or(NtStatus::PROCEDURE_NOT_FOUND)?;
        let (allocate, free) = custom_routines(config);
        // SAFETY: per the contract; Flags 0 (NULL on failure, never raise),
        // Depth is reserved (0).
        let status = unsafe {
            (routines.initialize)(
                &raw mut (*raw).list,
                allocate,
                free,
                config.pool.to_legacy(),
                0,
                size as _,
                config.tag.to_u32(),
                0,
            )
        };
        NtStatus::from_raw(status).result()?;
        // SAFETY: `raw` is the caller's non-moving structure.
        unsafe { (&raw mut (*raw).delete).write(Some(routines.delete)) };
        Ok(())
    }

    unsafe fn allocate(raw: *mut Self::Raw) -> PVOID {
        // SAFETY: per the contract.
        unsafe { sys::ExAllocateFromLookasideListEx(&raw mut (*raw).list) }
    }

    unsafe fn free(raw: *mut Self::Raw, entry: PVOID) {
        // SAFETY: per the contract.
        unsafe { sys::ExFreeToLookasideListEx(&raw mut (*raw).list, entry) }
    }

    unsafe fn delete(raw: *mut Self::Raw) {
        // SAFETY: per the contract: `initialize` stored the routine.
        unsafe {
            if let Some(delete) = (*raw).delete {
                delete(&raw mut (*raw).list);
            }
        }
    }

    unsafe fn fields(raw: *mut Self::Raw) -> LookasideFields {
        // SAFETY: per the contract.
        unsafe { GeneralLookaside::fields(&raw mut (*raw).list.L) }
    }
}
