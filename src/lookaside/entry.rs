//! [`LookasideBox`]: one entry of a lookaside list, holding a `T`.

use core::{
    fmt,
    ops::{Deref, DerefMut},
    ptr::NonNull,
};

use super::{ListKind, LookasideList};
use crate::sys;

/// A `T` in an entry of a lookaside list; dropping it drops the `T` and
/// gives the entry back to the list (`ExFreeTo*LookasideList*`).
///
/// It borrows its list, so it cannot outlive it:
///
/// ```compile_fail,E0597
/// # let kernel = wdm_mem::model::Kernel::new();
/// use wdm_mem::{lookaside::{LookasideConfig, NPagedLookasideList}, pool_tag};
///
/// let entry = {
///     let list = Box::pin(NPagedLookasideList::<u64>::new());
///     let list = list.as_ref();
///     list.init(LookasideConfig::new(pool_tag!(b"Doc3")))?;
///     list.allocate(7)?
/// }; // error: the list is dropped (deleted) here while `entry` borrows it
/// # Ok::<(), wdm_mem::NtStatus>(())
/// ```
///
/// Not `Clone`: it owns its entry. An entry of paged pool may only be
/// dereferenced at <= APC_LEVEL (see the [module's IRQL rules](super#irql)).
///
/// # Invariants
/// `entry` is an entry that `list` handed out, holding an initialised `T`
/// owned by this box; `list` counts it among its entries out, and gets it
/// back exactly once, in `Drop`.
pub struct LookasideBox<'a, T, K: ListKind> {
    list: &'a LookasideList<T, K>,
    entry: NonNull<T>,
}

// SAFETY: the box owns its T like a Box does; the list is Sync and entries
// may be given back from any thread.
unsafe impl<T: Send, K: ListKind> Send for LookasideBox<'_, T, K> {}
// SAFETY: shared access gives only `&T`.
unsafe impl<T: Sync, K: ListKind> Sync for LookasideBox<'_, T, K> {}

impl<'a, T, K: ListKind> LookasideBox<'a, T, K> {
    /// Wraps an entry of `list` holding a `T`.
    ///
    /// # Safety
    /// `entry` came from `list`, which counted it as out, and holds an
    /// initialised `T` that nothing else owns.
    pub(super) unsafe fn new(list: &'a LookasideList<T, K>, entry: NonNull<T>) -> Self {
        LookasideBox { list, entry }
    }
}

impl<T, K: ListKind> Deref for LookasideBox<'_, T, K> {
    type Target = T;

    fn deref(&self) -> &T {
        sys::note_pool_access(self.entry.as_ptr().cast(), size_of::<T>(), false);
        // SAFETY: by the invariants the T is initialised and owned by self.
        unsafe { self.entry.as_ref() }
    }
}

impl<T, K: ListKind> DerefMut for LookasideBox<'_, T, K> {
    fn deref_mut(&mut self) -> &mut T {
        sys::note_pool_access(self.entry.as_ptr().cast(), size_of::<T>(), true);
        // SAFETY: as in `deref`, and `&mut self` makes the access unique.
        unsafe { self.entry.as_mut() }
    }
}

impl<T, K: ListKind> Drop for LookasideBox<'_, T, K> {
    fn drop(&mut self) {
        // SAFETY: by the invariants the T is live, the entry came from this
        // list, and it goes back (the T dropped, or both leaked above the
        // list's IRQL) only here, once.
        unsafe { self.list.give_back(self.entry) };
    }
}

impl<T: fmt::Debug, K: ListKind> fmt::Debug for LookasideBox<'_, T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LookasideBox").field(&**self).finish()
    }
}
