//! Memory for devices: non-cached buffers ([`NonCachedBuffer`],
//! `MmAllocateNonCachedMemory`), physically contiguous buffers
//! ([`ContiguousBuffer`], `MmAllocateContiguousMemorySpecifyCache`), physical
//! addresses ([`PhysicalAddress`], `MmGetPhysicalAddress`) and cache types
//! ([`CacheType`], `MEMORY_CACHING_TYPE`).
//!
//! Both buffers are whole pages of non-paged memory, zeroed by the crate (the
//! kernel does not zero them), freed on drop. A physical address is what the
//! processor sees; a device doing DMA must use the addresses of the DMA
//! adapter instead (`MmGetPhysicalAddress` is not for DMA).
//!
//! ```
//! # let kernel = wdm_mem::model::Kernel::new();
//! use wdm_mem::memory::{CacheType, ContiguousBuffer, NonCachedBuffer, PhysicalAddress, PhysicalLimits};
//!
//! let mut ring = NonCachedBuffer::new(8192)?;
//! ring[..4].copy_from_slice(b"ring");
//! let _page0 = ring.physical_address(0); // pages need not be contiguous
//!
//! // A buffer for a 32-bit device: below 4 GiB, not crossing 64 KiB.
//! let limits = PhysicalLimits::below(PhysicalAddress::new(0xFFFF_FFFF)).boundary(0x1_0000);
//! let table = ContiguousBuffer::new(4096, limits, CacheType::Cached)?;
//! assert!(table.physical_address().get() + 4096 <= 0x1_0000_0000);
//! # drop((ring, table));
//! # kernel.assert_clean();
//! # Ok::<(), wdm_mem::NtStatus>(())
//! ```
//!
//! # Where it runs
//! Windows: everything. Wine 8: non-cached memory is real, and its "physical"
//! address is the virtual one (Wine's `MmGetPhysicalAddress` returns its
//! argument); `MmAllocateContiguousMemorySpecifyCache` returns NULL, so
//! [`ContiguousBuffer::new`] fails with
//! [`NtStatus::INSUFFICIENT_RESOURCES`] (and `MmFreeContiguousMemory`, which
//! aborts Wine's driver process, is then never called). The kernel model
//! simulates physical memory (`model::PHYSICAL_MEMORY`).

use core::{
    fmt,
    ops::{Deref, DerefMut},
    ptr::NonNull,
};

use crate::{Irql, NtResult, NtStatus, plain::OwnedBytes, sys};

/// A physical address (`PHYSICAL_ADDRESS`), as the processor sees memory and
/// device registers.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct PhysicalAddress(u64);

impl PhysicalAddress {
    /// The highest address a `PHYSICAL_ADDRESS` (a signed 64-bit integer)
    /// can name.
    pub const MAX: PhysicalAddress = PhysicalAddress(i64::MAX as u64);

    /// The physical address `address`.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn new(address: u64) -> PhysicalAddress {
        PhysicalAddress(address)
    }

    /// The address as a number.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// `self + offset`, or `None` on overflow.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn checked_add(self, offset: u64) -> Option<PhysicalAddress> {
        match self.0.checked_add(offset) {
            Some(address) => Some(PhysicalAddress(address)),
            None => None,
        }
    }

    /// The kernel's `PHYSICAL_ADDRESS`, a signed 64-bit integer:
    /// [`NtStatus::INVALID_PARAMETER`] for an address above
    /// [`MAX`](Self::MAX), which it cannot name (clamping would name another
    /// address).
    ///
    /// The error cannot be ignored: there is no raw address without it.
    ///
    /// ```compile_fail,E0308
    /// # use wdm_mem::{memory::PhysicalAddress, sys};
    /// let raw: sys::PHYSICAL_ADDRESS = PhysicalAddress::new(1 << 63).to_raw();
    /// ```
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn to_raw(self) -> NtResult<sys::PHYSICAL_ADDRESS> {
        let quad = i64::try_from(self.0).map_err(|_| NtStatus::INVALID_PARAMETER)?;
        Ok(sys::PHYSICAL_ADDRESS { QuadPart: quad })
    }

    /// From the kernel's `PHYSICAL_ADDRESS`.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn from_raw(raw: sys::PHYSICAL_ADDRESS) -> PhysicalAddress {
        // SAFETY: every member of the union is plain integers over the same
        // eight bytes; QuadPart covers them all.
        PhysicalAddress(unsafe { raw.QuadPart } as u64)
    }

    /// The physical address of a virtual address (`MmGetPhysicalAddress`).
    ///
    /// # Safety
    /// `address` is valid and resident (non-paged, or locked) for the call.
    /// At `<= APC_LEVEL` any address may be passed: the kernel then walks
    /// (and faults in) the page tables and answers 0 for an unmapped one
    /// (the safe [`address::physical_address`](crate::address::physical_address)).
    ///
    /// # IRQL
    /// Any, for resident memory.
    pub unsafe fn of<T>(address: *const T) -> PhysicalAddress {
        // SAFETY: per the contract.
        PhysicalAddress::from_raw(unsafe { sys::MmGetPhysicalAddress(address.cast_mut().cast()) })
    }
}

impl fmt::Debug for PhysicalAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhysicalAddress({:#x})", self.0)
    }
}

/// How the processor caches a mapping (`MEMORY_CACHING_TYPE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CacheType {
    /// `MmNonCached`: every access goes to memory (device registers).
    NonCached,
    /// `MmCached`: ordinary write-back memory.
    Cached,
    /// `MmWriteCombined`: uncached, writes combined (frame buffers).
    WriteCombined,
    /// `MmHardwareCoherentCached`: cached, coherent with the devices' view.
    HardwareCoherentCached,
    /// `MmNonCachedUnordered`: uncached, accesses may be reordered.
    NonCachedUnordered,
    /// `MmUSWCCached`: uncached speculative write-combining.
    UswcCached,
}

impl CacheType {
    /// The kernel's `MEMORY_CACHING_TYPE`.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn to_raw(self) -> sys::MEMORY_CACHING_TYPE {
        use sys::_MEMORY_CACHING_TYPE as M;
        match self {
            CacheType::NonCached => M::MmNonCached,
            CacheType::Cached => M::MmCached,
            CacheType::WriteCombined => M::MmWriteCombined,
            CacheType::HardwareCoherentCached => M::MmHardwareCoherentCached,
            CacheType::NonCachedUnordered => M::MmNonCachedUnordered,
            CacheType::UswcCached => M::MmUSWCCached,
        }
    }

    /// From the kernel's value; [`NtStatus::INVALID_PARAMETER`] for
    /// `MmNotMapped`, `MmMaximumCacheType` and unknown values.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn from_raw(raw: sys::MEMORY_CACHING_TYPE) -> NtResult<CacheType> {
        use sys::_MEMORY_CACHING_TYPE as M;
        match raw {
            M::MmNonCached => Ok(CacheType::NonCached),
            M::MmCached => Ok(CacheType::Cached),
            M::MmWriteCombined => Ok(CacheType::WriteCombined),
            M::MmHardwareCoherentCached => Ok(CacheType::HardwareCoherentCached),
            M::MmNonCachedUnordered => Ok(CacheType::NonCachedUnordered),
            M::MmUSWCCached => Ok(CacheType::UswcCached),
            _ => Err(NtStatus::INVALID_PARAMETER),
        }
    }
}

/// Where a [`ContiguousBuffer`] may lie in physical memory: between
/// `lowest` and `highest` (inclusive), and, if `boundary` is not 0, not
/// crossing a multiple of `boundary` (a power of two, at least a page).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhysicalLimits {
    /// `LowestAcceptableAddress`.
    pub lowest: PhysicalAddress,
    /// `HighestAcceptableAddress`.
    pub highest: PhysicalAddress,
    /// `BoundaryAddressMultiple` (0: none).
    pub boundary: u64,
}

impl PhysicalLimits {
    /// Anywhere in physical memory.
    pub const ANY: PhysicalLimits =
        PhysicalLimits { lowest: PhysicalAddress(0), highest: PhysicalAddress::MAX, boundary: 0 };

    /// At or below `highest` (e.g. `0xFFFF_FFFF` for a 32-bit device).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn below(highest: PhysicalAddress) -> PhysicalLimits {
        PhysicalLimits { highest, ..Self::ANY }
    }

    /// The same limits, not crossing a multiple of `boundary`.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn boundary(self, boundary: u64) -> PhysicalLimits {
        PhysicalLimits { boundary, ..self }
    }

    /// [`NtStatus::INVALID_PARAMETER`] unless `len` bytes can meet these
    /// limits at all (a length whose whole pages overflow cannot).
    fn check(&self, len: usize) -> NtResult<()> {
        let page = u64::from(sys::PAGE_SIZE);
        let len = u64::try_from(len)
            .ok()
            .and_then(|len| len.checked_next_multiple_of(page))
            .ok_or(NtStatus::INVALID_PARAMETER)?;
        let highest = self.highest.min(PhysicalAddress::MAX).0;
        let span = highest.checked_sub(self.lowest.0).map(|span| span.saturating_add(1));
        let boundary_ok =
            self.boundary == 0 || (self.boundary.is_power_of_two() && self.boundary >= page && self.boundary >= len);
        if span.is_some_and(|span| span >= len) && boundary_ok { Ok(()) } else { Err(NtStatus::INVALID_PARAMETER) }
    }
}

/// A non-cached buffer (`MmAllocateNonCachedMemory`), zeroed, freed with
/// `MmFreeNonCachedMemory` on drop. Its pages are resident but need not be
/// physically contiguous: ask each one's address with
/// [`physical_address`](Self::physical_address).
///
/// # Invariants
/// `bytes` is what `MmAllocateNonCachedMemory(bytes.len())` returned; the
/// buffer frees it exactly once, in `Drop`.
pub struct NonCachedBuffer {
    bytes: OwnedBytes,
}

impl NonCachedBuffer {
    /// Allocates `len` zeroed bytes of non-cached memory (whole pages).
    ///
    /// Errors, nothing allocated: [`NtStatus::INVALID_PARAMETER`] for 0
    /// bytes or a length whose whole pages overflow a `usize`,
    /// [`NtStatus::INVALID_LEVEL`] above APC_LEVEL,
    /// [`NtStatus::INSUFFICIENT_RESOURCES`] when the kernel returns NULL.
    ///
    /// # IRQL
    /// <= APC_LEVEL (the buffer may be touched at any IRQL).
    pub fn new(len: usize) -> NtResult<NonCachedBuffer> {
        // Whole pages: a length whose pages overflow is no request either.
        if len == 0 || len.checked_next_multiple_of(sys::PAGE_SIZE as usize).is_none() {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        Irql::ensure_at_most(Irql::APC)?;
        // SAFETY: a non-zero size at <= APC_LEVEL.
        let block = unsafe { sys::MmAllocateNonCachedMemory(len as sys::SIZE_T) };
        let ptr = NonNull::new(block.cast::<u8>()).ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        // SAFETY: the kernel just returned at least `len` writable bytes of
        // non-paged memory, which the buffer owns until `Drop`.
        let bytes = unsafe { OwnedBytes::zeroed(ptr, len) };
        Ok(NonCachedBuffer { bytes })
    }

    /// The physical address of byte `offset`, `None` past the end.
    ///
    /// # IRQL
    /// Any.
    pub fn physical_address(&self, offset: usize) -> Option<PhysicalAddress> {
        // SAFETY: a byte of the buffer, which is resident.
        self.bytes.as_slice().get(offset).map(|byte| unsafe { PhysicalAddress::of(byte) })
    }
}

impl Deref for NonCachedBuffer {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.bytes.as_slice()
    }
}

impl DerefMut for NonCachedBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.bytes.as_mut_slice()
    }
}

impl Drop for NonCachedBuffer {
    /// Frees the buffer; above APC_LEVEL it is leaked instead (freeing
    /// would bug-check).
    fn drop(&mut self) {
        if Irql::ensure_at_most(Irql::APC).is_ok() {
            // SAFETY: by the invariants, with the size it was allocated with.
            unsafe {
                sys::MmFreeNonCachedMemory(self.bytes.as_non_null().as_ptr().cast(), self.bytes.len() as sys::SIZE_T)
            };
        }
    }
}

impl fmt::Debug for NonCachedBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonCachedBuffer").field("len", &self.bytes.len()).finish_non_exhaustive()
    }
}

/// A physically contiguous buffer (`MmAllocateContiguousMemorySpecifyCache`),
/// zeroed, freed with `MmFreeContiguousMemory` on drop.
///
/// # Invariants
/// `bytes` is what `MmAllocateContiguousMemorySpecifyCache(bytes.len(), ...)`
/// returned, starting at the physical address `physical`; the buffer frees
/// it exactly once, in `Drop`.
pub struct ContiguousBuffer {
    bytes: OwnedBytes,
    physical: PhysicalAddress,
    cache: CacheType,
}

impl ContiguousBuffer {
    /// Allocates `len` zeroed, physically contiguous bytes within `limits`,
    /// mapped with `cache`.
    ///
    /// Errors, nothing allocated: [`NtStatus::INVALID_PARAMETER`] for 0
    /// bytes or limits no range of `len` bytes can meet (`lowest` above
    /// `highest`, a span or `boundary` smaller than the pages needed, a
    /// `boundary` that is not a power of two of at least a page);
    /// [`NtStatus::INVALID_LEVEL`] above DISPATCH_LEVEL;
    /// [`NtStatus::INSUFFICIENT_RESOURCES`] when the kernel finds no such
    /// range (always under Wine).
    ///
    /// # IRQL
    /// <= DISPATCH_LEVEL (the buffer may be touched at any IRQL).
    pub fn new(len: usize, limits: PhysicalLimits, cache: CacheType) -> NtResult<ContiguousBuffer> {
        if len == 0 {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        limits.check(len)?;
        // `check` accepted them: `lowest` is below `highest`, clamped here to
        // what a PHYSICAL_ADDRESS names (a lower bound of the highest
        // acceptable address only narrows the range).
        let lowest = limits.lowest.to_raw()?;
        let highest = limits.highest.min(PhysicalAddress::MAX).to_raw()?;
        let boundary = PhysicalAddress(limits.boundary).to_raw()?;
        Irql::ensure_at_most(Irql::DISPATCH)?;
        // SAFETY: a non-zero size, valid limits and cache type, at <=
        // DISPATCH_LEVEL.
        let block = unsafe {
            sys::MmAllocateContiguousMemorySpecifyCache(len as sys::SIZE_T, lowest, highest, boundary, cache.to_raw())
        };
        let ptr = NonNull::new(block.cast::<u8>()).ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        // SAFETY: the kernel just returned at least `len` writable, resident
        // bytes, which the buffer owns until `Drop`.
        let bytes = unsafe { OwnedBytes::zeroed(ptr, len) };
        // SAFETY: the first of those resident bytes.
        let physical = unsafe { PhysicalAddress::of(ptr.as_ptr()) };
        Ok(ContiguousBuffer { bytes, physical, cache })
    }

    /// The physical address of the first byte; byte `n` is at this address
    /// plus `n`.
    ///
    /// # IRQL
    /// Any.
    pub fn physical_address(&self) -> PhysicalAddress {
        self.physical
    }

    /// How the buffer is cached.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn cache_type(&self) -> CacheType {
        self.cache
    }
}

impl Deref for ContiguousBuffer {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.bytes.as_slice()
    }
}

impl DerefMut for ContiguousBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.bytes.as_mut_slice()
    }
}

impl Drop for ContiguousBuffer {
    /// Frees the buffer; above DISPATCH_LEVEL it is leaked instead.
    fn drop(&mut self) {
        if Irql::ensure_at_most(Irql::DISPATCH).is_ok() {
            // SAFETY: by the invariants.
            unsafe { sys::MmFreeContiguousMemory(self.bytes.as_non_null().as_ptr().cast()) };
        }
    }
}

impl fmt::Debug for ContiguousBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContiguousBuffer")
            .field("len", &self.bytes.len())
            .field("physical", &self.physical)
            .field("cache", &self.cache)
            .finish()
    }
}
