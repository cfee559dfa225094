//! Device memory: [`IoSpace`], a mapping of a device's registers
//! (`MmMapIoSpaceEx` where the kernel has it, resolved at run time, else
//! `MmMapIoSpace`), unmapped with `MmUnmapIoSpace` on drop, with volatile
//! register accesses (`READ_REGISTER_*`/`WRITE_REGISTER_*`) of `u8`, `u16`,
//! `u32` and `u64`: checked at compile time when the offset is a constant
//! (`read32::<0x10>()`), at run time otherwise (`try_read32(offset)`), and
//! blocks of consecutive registers (`READ_REGISTER_BUFFER_*`/
//! `WRITE_REGISTER_BUFFER_*`: `read_array32::<0x40, 4>()`,
//! `try_read_buffer32(offset, &mut buffer)`).
//! [`PhysicalAddress`] and [`CacheType`] are [`crate::memory`]'s.
//!
//! The shape is Rust-for-Linux's `Io<SIZE>`: `SIZE` is the size known at
//! compile time (the mapping is at least that long), [`IoSpace::len`] the
//! size mapped.
//!
//! Block reads and writes past a constant-size mapping, misaligned, or
//! through a read-only mapping do not compile:
//!
//! ```compile_fail,E0080
//! # use wdm_mem::io_space::{CacheType, IoSpace, PhysicalAddress};
//! let registers = IoSpace::<0x100>::map(PhysicalAddress::new(0x4_0000_0000), 0x100, CacheType::NonCached).unwrap();
//! let block = registers.read_array32::<0xFC, 2>(); // would end at 0x104
//! ```
//!
//! ```compile_fail,E0080
//! # use wdm_mem::io_space::{CacheType, IoSpace, PhysicalAddress};
//! let registers = IoSpace::<0x100>::map(PhysicalAddress::new(0x4_0000_0000), 0x100, CacheType::NonCached).unwrap();
//! registers.write_array64::<0x4, 1>(&[0]); // misaligned
//! ```
//!
//! ```compile_fail,E0599
//! # use wdm_mem::{io_space::IoSpace, section::ReadOnly};
//! fn f(registers: &IoSpace<0x100, ReadOnly>) { registers.write_array8::<0x0, 1>(&[0]) }
//! ```
//!
//! Where it runs: on Windows 10 and later `MmMapIoSpaceEx` maps with the
//! page protection asked for; older kernels get `MmMapIoSpace`, which maps
//! read-write (a read-only `IoSpace` still has no write method). Under Wine
//! `MmMapIoSpaceEx` does not exist and `MmMapIoSpace` returns NULL:
//! [`IoSpace::map`] answers `STATUS_INSUFFICIENT_RESOURCES`. The kernel
//! model maps simulated devices (`model::Kernel::add_device`). The register
//! routines are the x64 `wdm.h` inlines (`mov`, `rep movs`), the same on
//! Windows and Wine; under Wine no mapping is ever obtained.

use core::{fmt, marker::PhantomData, ptr::NonNull};

use crate::{
    Irql, NtResult, NtStatus,
    plain::{Resident, SharedBytes, within},
    section::ViewProtection,
    sys,
};

/// The physical-address and cache types are the memory module's.
pub use crate::memory::{CacheType, PhysicalAddress};
/// The protections are the section views' markers.
pub use crate::section::{ReadOnly, ReadWrite};

/// The `PAGE_*` bit `MmMapIoSpaceEx` takes for `cache`; the cache types it
/// cannot express are [`NtStatus::INVALID_PARAMETER`].
fn page_flags(cache: CacheType) -> NtResult<u32> {
    match cache {
        CacheType::NonCached => Ok(sys::PAGE_NOCACHE),
        CacheType::Cached => Ok(0),
        CacheType::WriteCombined => Ok(sys::PAGE_WRITECOMBINE),
        _ => Err(NtStatus::INVALID_PARAMETER),
    }
}

mod sealed {
    pub trait Sealed {}
}

/// The page protection of a mapping, as a type: the section views' markers
/// [`ReadOnly`] (registers can only be read) and [`ReadWrite`].
pub trait IoProtection: ViewProtection + sealed::Sealed {}
impl sealed::Sealed for ReadOnly {}
impl sealed::Sealed for ReadWrite {}
impl IoProtection for ReadOnly {}
impl IoProtection for ReadWrite {}

/// A mapping of device memory, `MmUnmapIoSpace`d on drop. Not `Clone`: it
/// owns the mapping.
///
/// `SIZE` is the size known at compile time: `read32::<OFFSET>()` and the
/// like check `OFFSET` against it when the crate is compiled.
/// `try_read32(offset)` and the like check against the size mapped, at run
/// time. `A` is [`ReadWrite`] (the default) or [`ReadOnly`], which has no
/// write methods.
///
/// ```
/// # let kernel = wdm_mem::model::Kernel::new();
/// # kernel.add_device(0x4_0000_0000, 0x100).set_register(0x10, 0x1234_5678u32);
/// use wdm_mem::io_space::{CacheType, IoSpace, PhysicalAddress};
///
/// let registers = IoSpace::<0x100>::map(PhysicalAddress::new(0x4_0000_0000), 0x100, CacheType::NonCached)?;
/// let id = registers.read32::<0x10>();          // offset checked at compile time
/// registers.write32::<0x20>(id);
/// assert_eq!(registers.try_read32(0x20)?, id);  // offset checked at run time
/// assert!(registers.try_read32(0x100).is_err()); // past the end
/// # drop(registers);
/// # kernel.assert_clean();
/// # Ok::<(), wdm_mem::NtStatus>(())
/// ```
///
/// An offset past a constant-size mapping does not compile:
///
/// ```compile_fail,E0080
/// # use wdm_mem::io_space::{CacheType, IoSpace, PhysicalAddress};
/// let registers = IoSpace::<0x100>::map(PhysicalAddress::new(0x4_0000_0000), 0x100, CacheType::NonCached).unwrap();
/// let status = registers.read32::<0x100>(); // the register would end at 0x104
/// ```
///
/// nor does a misaligned one, nor a write through a read-only mapping:
///
/// ```compile_fail,E0080
/// # use wdm_mem::io_space::{CacheType, IoSpace, PhysicalAddress};
/// let registers = IoSpace::<0x100>::map(PhysicalAddress::new(0x4_0000_0000), 0x100, CacheType::NonCached).unwrap();
/// let status = registers.read32::<0x2>();
/// ```
///
/// ```compile_fail,E0599
/// # use wdm_mem::{io_space::IoSpace, section::ReadOnly};
/// fn reset(registers: &IoSpace<0x100, ReadOnly>) {
///     registers.write32::<0x0>(1);
/// }
/// ```
///
/// # Invariants
/// `registers` is the address `MmMapIoSpace(Ex)` returned for its `len`
/// bytes (`len >= SIZE`, `len > 0`) of device memory at `physical`, mapped
/// with protection `A::PAGE`; that address is 8-aligned (so an offset
/// aligned for a register is an aligned address); it is unmapped exactly
/// once, in `Drop`.
pub struct IoSpace<const SIZE: usize = 0, A: IoProtection = ReadWrite> {
    registers: SharedBytes<Resident>,
    physical: PhysicalAddress,
    _protection: PhantomData<fn() -> A>,
}

// SAFETY: a mapping of device memory in system space is valid in every
// process context and on every processor; register accesses are volatile
// operations that the device, not Rust, serialises.
unsafe impl<const SIZE: usize, A: IoProtection> Send for IoSpace<SIZE, A> {}
// SAFETY: as above: every method takes `&self` and performs single
// volatile accesses.
unsafe impl<const SIZE: usize, A: IoProtection> Sync for IoSpace<SIZE, A> {}

/// The alignment of a mapping's base: that of the widest register, `u64`.
const REGISTER_ALIGNMENT: usize = 8;

/// Whether a `T` register at `offset` lies inside `size` bytes and is
/// aligned for `T` (relative to the base, which is [`REGISTER_ALIGNMENT`]-
/// aligned: the address is then aligned too).
const fn fits<T>(offset: usize, size: usize) -> bool {
    within(offset, size_of::<T>(), size) && offset % size_of::<T>() == 0
}

impl<const SIZE: usize, A: IoProtection> IoSpace<SIZE, A> {
    /// Maps `len` bytes of device memory at `physical` with `cache`.
    ///
    /// Errors: [`NtStatus::INVALID_PARAMETER`] for `len == 0`, `len < SIZE`,
    /// a range that runs past [`PhysicalAddress::MAX`] (the last address a
    /// `PHYSICAL_ADDRESS` names), or a cache type other than non-cached,
    /// cached and write-combined (what `MmMapIoSpaceEx` can express);
    /// [`NtStatus::DATATYPE_MISALIGNMENT_ERROR`] for a `physical` that is
    /// not 8-aligned;
    /// [`NtStatus::INVALID_LEVEL`] above DISPATCH_LEVEL,
    /// [`NtStatus::INSUFFICIENT_RESOURCES`] when the kernel returns NULL
    /// (no mapping possible, or Wine).
    ///
    /// # Alignment
    /// `MmMapIoSpace` returns the virtual address of the very byte at
    /// `physical` (it keeps the page offset), and register offsets are
    /// checked against the mapping's start: an aligned offset from a base
    /// that is not 8-aligned would be a misaligned volatile access (undefined
    /// behaviour in Rust, and a torn access for the device). So the base
    /// must be 8-aligned (the address the kernel returns is checked too); to
    /// reach registers at an odd address, map from the aligned address below
    /// it and add the difference to the offsets.
    ///
    /// # Which memory
    /// The range must be a device's memory that this driver owns (a
    /// resource the PnP manager assigned to it): mapping RAM or another
    /// driver's device is not undefined behaviour in this process, but it is
    /// wrong. The kernel refuses some of it (RAM, on recent Windows).
    ///
    /// # IRQL
    /// `<= DISPATCH_LEVEL` (`MmMapIoSpaceEx` is looked up at PASSIVE_LEVEL
    /// only; above it, until then, `MmMapIoSpace` is used).
    pub fn map(physical: PhysicalAddress, len: usize, cache: CacheType) -> NtResult<Self> {
        Irql::ensure_at_most(Irql::DISPATCH)?;
        if len == 0 || len < SIZE {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        // The last byte must be a PHYSICAL_ADDRESS too (`len >= 1`).
        let last = u64::try_from(len - 1).ok().and_then(|tail| physical.checked_add(tail));
        if last.is_none_or(|last| last > PhysicalAddress::MAX) {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        if physical.get() % REGISTER_ALIGNMENT as u64 != 0 {
            return Err(NtStatus::DATATYPE_MISALIGNMENT_ERROR);
        }
        let protect = A::PAGE | page_flags(cache)?;
        let raw = physical.to_raw()?;
        // SAFETY: the IRQL is at most DISPATCH_LEVEL; which range the driver
        // maps is its own responsibility (see above), not a memory-safety
        // matter for this crate: the mapping is only ever accessed through
        // the volatile register accessors below.
        let base = unsafe { sys::map_io_space(raw, len as sys::SIZE_T, protect) };
        let base = NonNull::new(base.cast::<u8>()).ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        // SAFETY: `len` bytes of device memory mapped at `base` in system
        // space (any IRQL) until `Drop` unmaps them.
        let registers = unsafe { SharedBytes::new(base, len) };
        // INVARIANT: the base is 8-aligned, so every aligned offset is an
        // aligned address. A kernel that did not keep the page offset is
        // refused (the mapping is unmapped by the drop).
        let space = IoSpace { registers, physical, _protection: PhantomData };
        if base.as_ptr().addr() % REGISTER_ALIGNMENT != 0 {
            return Err(NtStatus::DATATYPE_MISALIGNMENT_ERROR);
        }
        Ok(space)
    }

    /// The bytes mapped (at least `SIZE`).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn len(&self) -> usize {
        self.registers.len()
    }

    /// Never true: a mapping has at least one byte.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn is_empty(&self) -> bool {
        self.registers.len() == 0
    }

    /// The physical address of the first byte.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn physical_address(&self) -> PhysicalAddress {
        self.physical
    }

    /// The register of type `T` at `offset`, which the caller checked.
    fn register<T>(&self, offset: usize) -> *mut T {
        debug_assert!(fits::<T>(offset, self.registers.len()));
        let register = self.registers.base().as_ptr().wrapping_add(offset);
        debug_assert!(register.addr() % size_of::<T>() == 0, "an 8-aligned base (invariant)");
        register.cast()
    }

    /// The register of type `T` at `offset`: [`NtStatus::INVALID_PARAMETER`]
    /// past the end, [`NtStatus::DATATYPE_MISALIGNMENT_ERROR`] when
    /// misaligned.
    fn checked<T>(&self, offset: usize) -> NtResult<*mut T> {
        let register = self.registers.range(offset, size_of::<T>())?;
        if offset % size_of::<T>() != 0 {
            return Err(NtStatus::DATATYPE_MISALIGNMENT_ERROR);
        }
        Ok(register.cast())
    }
}

macro_rules! registers {
    ($($t:ty: $read:ident, $try_read:ident, $write:ident, $try_write:ident, $sys_read:ident, $sys_write:ident;)*) => {
        impl<const SIZE: usize, A: IoProtection> IoSpace<SIZE, A> {$(
            #[doc = concat!("Reads the `", stringify!($t), "` register at `OFFSET` (`", stringify!($sys_read), "`).")]
            ///
            /// `OFFSET` is checked at compile time: inside `SIZE` and aligned.
            ///
            /// # IRQL
            /// Any.
            #[inline]
            pub fn $read<const OFFSET: usize>(&self) -> $t {
                const { assert!(fits::<$t>(OFFSET, SIZE), "register offset past the mapping or misaligned") };
                // SAFETY: `OFFSET` fits in SIZE <= len bytes of the live
                // mapping (invariant) and is aligned.
                unsafe { sys::$sys_read(self.register(OFFSET)) }
            }

            #[doc = concat!("Reads the `", stringify!($t), "` register at `offset`, checked at run time.")]
            ///
            /// Errors: [`NtStatus::INVALID_PARAMETER`] past the end,
            /// [`NtStatus::DATATYPE_MISALIGNMENT_ERROR`] for a misaligned
            /// offset.
            ///
            /// # IRQL
            /// Any.
            pub fn $try_read(&self, offset: usize) -> NtResult<$t> {
                let register = self.checked::<$t>(offset)?;
                // SAFETY: `checked` put the register inside the live mapping,
                // aligned.
                Ok(unsafe { sys::$sys_read(register) })
            }
        )*}

        impl<const SIZE: usize> IoSpace<SIZE, ReadWrite> {$(
            #[doc = concat!("Writes the `", stringify!($t), "` register at `OFFSET` (`", stringify!($sys_write), "`).")]
            ///
            /// `OFFSET` is checked at compile time: inside `SIZE` and aligned.
            ///
            /// # IRQL
            /// Any.
            #[inline]
            pub fn $write<const OFFSET: usize>(&self, value: $t) {
                const { assert!(fits::<$t>(OFFSET, SIZE), "register offset past the mapping or misaligned") };
                // SAFETY: as in the read; the mapping is read-write.
                unsafe { sys::$sys_write(self.register(OFFSET), value) }
            }

            #[doc = concat!("Writes the `", stringify!($t), "` register at `offset`, checked at run time.")]
            ///
            /// Errors: as the reads'.
            ///
            /// # IRQL
            /// Any.
            pub fn $try_write(&self, offset: usize, value: $t) -> NtResult<()> {
                let register = self.checked::<$t>(offset)?;
                // SAFETY: as in the read; the mapping is read-write.
                unsafe { sys::$sys_write(register, value) };
                Ok(())
            }
        )*}
    };
}

registers! {
    u8: read8, try_read8, write8, try_write8, READ_REGISTER_UCHAR, WRITE_REGISTER_UCHAR;
    u16: read16, try_read16, write16, try_write16, READ_REGISTER_USHORT, WRITE_REGISTER_USHORT;
    u32: read32, try_read32, write32, try_write32, READ_REGISTER_ULONG, WRITE_REGISTER_ULONG;
    u64: read64, try_read64, write64, try_write64, READ_REGISTER_ULONG64, WRITE_REGISTER_ULONG64;
}

/// Whether `count` consecutive `T` registers from `offset` lie inside `size`
/// bytes, aligned, and `count` is a `ULONG` (what the buffer routines take).
const fn fits_buffer<T>(offset: usize, count: usize, size: usize) -> bool {
    match count.checked_mul(size_of::<T>()) {
        Some(len) => within(offset, len, size) && offset % size_of::<T>() == 0 && count <= u32::MAX as usize,
        None => false,
    }
}

impl<const SIZE: usize, A: IoProtection> IoSpace<SIZE, A> {
    /// The first of `count` `T` registers at `offset`: as [`Self::checked`],
    /// and [`NtStatus::INVALID_PARAMETER`] for a count whose size overflows
    /// or is not a `ULONG`.
    fn checked_buffer<T>(&self, offset: usize, count: usize) -> NtResult<(*mut T, u32)> {
        let len = count.checked_mul(size_of::<T>()).ok_or(NtStatus::INVALID_PARAMETER)?;
        let count = u32::try_from(count).map_err(|_| NtStatus::INVALID_PARAMETER)?;
        let first = self.registers.range(offset, len)?;
        if offset % size_of::<T>() != 0 {
            return Err(NtStatus::DATATYPE_MISALIGNMENT_ERROR);
        }
        Ok((first.cast(), count))
    }
}

macro_rules! register_buffers {
    ($($t:ty: $read:ident, $try_read:ident, $write:ident, $try_write:ident, $sys_read:ident, $sys_write:ident;)*) => {
        impl<const SIZE: usize, A: IoProtection> IoSpace<SIZE, A> {$(
            #[doc = concat!("Reads the `N` consecutive `", stringify!($t), "` registers from `OFFSET` (`", stringify!($sys_read), "`).")]
            ///
            /// `OFFSET` and `N` are checked at compile time: inside `SIZE`,
            /// aligned.
            ///
            /// # IRQL
            /// Any.
            #[inline]
            pub fn $read<const OFFSET: usize, const N: usize>(&self) -> [$t; N] {
                const { assert!(fits_buffer::<$t>(OFFSET, N, SIZE), "registers past the mapping or misaligned") };
                let mut values = [0; N];
                // SAFETY: `N` registers from `OFFSET` fit in SIZE <= len bytes
                // of the live mapping (invariant), aligned; `values` holds N
                // elements and is not device memory; N <= u32::MAX.
                unsafe { sys::$sys_read(self.register(OFFSET), values.as_mut_ptr(), N as u32) };
                values
            }

            #[doc = concat!("Reads `buffer.len()` consecutive `", stringify!($t), "` registers from `offset`, checked at run time.")]
            ///
            /// Errors: [`NtStatus::INVALID_PARAMETER`] past the end (or a
            /// count above `u32::MAX`), [`NtStatus::DATATYPE_MISALIGNMENT_ERROR`]
            /// for a misaligned offset; nothing is read then.
            ///
            /// # IRQL
            /// Any.
            pub fn $try_read(&self, offset: usize, buffer: &mut [$t]) -> NtResult<()> {
                let (first, count) = self.checked_buffer::<$t>(offset, buffer.len())?;
                // SAFETY: `checked_buffer` put the registers inside the live
                // mapping, aligned; `buffer` holds `count` elements.
                unsafe { sys::$sys_read(first, buffer.as_mut_ptr(), count) };
                Ok(())
            }
        )*}

        impl<const SIZE: usize> IoSpace<SIZE, ReadWrite> {$(
            #[doc = concat!("Writes `values` to the `N` consecutive `", stringify!($t), "` registers from `OFFSET` (`", stringify!($sys_write), "`).")]
            ///
            /// `OFFSET` and `N` are checked at compile time: inside `SIZE`,
            /// aligned.
            ///
            /// # IRQL
            /// Any.
            #[inline]
            pub fn $write<const OFFSET: usize, const N: usize>(&self, values: &[$t; N]) {
                const { assert!(fits_buffer::<$t>(OFFSET, N, SIZE), "registers past the mapping or misaligned") };
                // SAFETY: as in the read; the mapping is read-write; the
                // routine only reads `values` (its pointer is `*mut` in wdm.h).
                unsafe { sys::$sys_write(self.register(OFFSET), values.as_ptr().cast_mut(), N as u32) };
            }

            #[doc = concat!("Writes `values` to `values.len()` consecutive `", stringify!($t), "` registers from `offset`, checked at run time.")]
            ///
            /// Errors: as the read's; nothing is written then.
            ///
            /// # IRQL
            /// Any.
            pub fn $try_write(&self, offset: usize, values: &[$t]) -> NtResult<()> {
                let (first, count) = self.checked_buffer::<$t>(offset, values.len())?;
                // SAFETY: as in the read; the mapping is read-write; the
                // routine only reads `values`.
                unsafe { sys::$sys_write(first, values.as_ptr().cast_mut(), count) };
                Ok(())
            }
        )*}
    };
}

register_buffers! {
    u8: read_array8, try_read_buffer8, write_array8, try_write_buffer8, READ_REGISTER_BUFFER_UCHAR, WRITE_REGISTER_BUFFER_UCHAR;
    u16: read_array16, try_read_buffer16, write_array16, try_write_buffer16, READ_REGISTER_BUFFER_USHORT, WRITE_REGISTER_BUFFER_USHORT;
    u32: read_array32, try_read_buffer32, write_array32, try_write_buffer32, READ_REGISTER_BUFFER_ULONG, WRITE_REGISTER_BUFFER_ULONG;
    u64: read_array64, try_read_buffer64, write_array64, try_write_buffer64, READ_REGISTER_BUFFER_ULONG64, WRITE_REGISTER_BUFFER_ULONG64;
}

impl<const SIZE: usize, A: IoProtection> Drop for IoSpace<SIZE, A> {
    /// `MmUnmapIoSpace` with the size mapped. Above DISPATCH_LEVEL the
    /// mapping is leaked (unmapping there is not allowed); the model reports
    /// the leak at unload.
    fn drop(&mut self) {
        if Irql::ensure_at_most(Irql::DISPATCH).is_err() {
            return;
        }
        // SAFETY: `registers` is the live mapping (invariant), unmapped only
        // here.
        unsafe { sys::MmUnmapIoSpace(self.registers.base().as_ptr().cast(), self.registers.len() as sys::SIZE_T) };
    }
}

impl<const SIZE: usize, A: IoProtection> fmt::Debug for IoSpace<SIZE, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoSpace")
            .field("base", &self.registers.base())
            .field("len", &self.registers.len())
            .field("physical", &self.physical)
            .field("protection", &A::PAGE)
            .finish()
    }
}
