//! Safe, zero-cost Rust for the Windows NT memory manager, for WDM kernel
//! drivers.
//!
//! | module | what it wraps |
//! |---|---|
//! | [`status`] | `NTSTATUS` with `NT_SUCCESS`/`NT_ERROR` semantics: [`NtStatus`] |
//! | [`irql`] | `KeGetCurrentIrql`, `KeRaiseIrql`/`KeLowerIrql`, IRQL checks: [`Irql`] |
//! | [`pool`] | `ExAllocatePool2` / `ExAllocatePoolWithTag`, `ExFreePoolWithTag`: [`pool::PoolBox`], [`pool::PoolBuffer`], [`pool::KernelAllocator`] |
//! | [`lookaside`] | `ExInitialize(N)PagedLookasideList`, `ExInitializeLookasideListEx` (resolved at run time), the inline `ExAllocateFrom*`/`ExFreeTo*` fast paths, `ExDelete*`: [`lookaside::LookasideList`], [`lookaside::LookasideBox`] |
//! | [`memory`] | `MmAllocateNonCachedMemory`, `MmAllocateContiguousMemorySpecifyCache`, their frees, `MmGetPhysicalAddress`: [`memory::NonCachedBuffer`], [`memory::ContiguousBuffer`], [`memory::PhysicalAddress`] |
//! | [`paging`] | `MmLockPagableDataSection`, `MmLockPagableSectionByHandle`, `MmUnlockPagableImageSection`, `MmPageEntireDriver`, `MmResetDriverPaging`: [`pageable_static!`](crate::pageable_static), [`paging::PageableStatic`] |
//! | [`mdl`] | `IoAllocateMdl`, `MmProbeAndLockPages` (under SEH), `MmBuildMdlForNonPagedPool`, `MmGetSystemAddressForMdlSafe`, `MmUnlockPages`, `IoFreeMdl`: [`mdl::Mdl`], [`mdl::LockedMdl`], [`mdl::SystemMapping`], [`mdl::IrpMdl`] |
//! | [`io_space`] | `MmMapIoSpaceEx` / `MmMapIoSpace`, `MmUnmapIoSpace`, `READ_REGISTER_*`/`WRITE_REGISTER_*`: [`io_space::IoSpace`] |
//! | [`section`] | `ZwCreateSection`, `ZwOpenSection`, `ZwQuerySection`, `ZwMapViewOfSection`/`ZwUnmapViewOfSection` (user views, copied under SEH), `MmMapViewInSystemSpace`/`MmUnmapViewInSystemSpace` (resolved at run time), `ZwClose`: [`section::Section`], [`section::UserView`], [`section::SystemView`] |
//! | [`user`] | copies from and to a requester's user memory under SEH, after `ProbeForRead`/`ProbeForWrite`'s checks: [`user::UserSlice`] |
//! | [`bus`] | `HalTranslateBusAddress`, `READ_PORT_*`/`WRITE_PORT_*` and their `_BUFFER_` forms: [`bus::PortRange`] |
//! | [`init`] | data in the discardable `INIT` section, reachable only during `DriverEntry`: [`init_static!`](crate::init_static) |
//! | [`request`] | a device-control request's buffers by transfer method, completion: [`request::DeviceControl`] |
//! | [`driver`] | what every driver needs besides memory: a bug-check panic handler, `DbgPrint` |
//! | [`plain`] | [`plain::PlainData`]: types copied in and out of shared memory |
//! | [`address`] | `MmIsAddressValid`, `MmGetPhysicalAddress`: [`address::is_address_valid`], [`address::physical_address`] |
//! | [`sys`] | the raw kernel symbols of the selected provider |
//! | `model` (host) | the kernel model and its verifier, for tests on any host |
//!
//! Every function states its IRQL contract in an `# IRQL` section. With the
//! kernel model, in debug builds and with the feature `irql-checks` it also
//! checks it: a call above its maximum returns [`NtStatus::INVALID_LEVEL`]
//! and does nothing. Release builds without that feature (recommended for
//! shipping) read no IRQL, as a C driver: a call above its maximum is then
//! the kernel's bug check (`IRQL_NOT_LESS_OR_EQUAL` 0x0A /
//! `DRIVER_IRQL_NOT_LESS_OR_EQUAL` 0xD1 for paged memory touched, 0xC2 or
//! Driver Verifier's 0xC4 for a routine called); see [`irql`] for the
//! policy. Errors are [`NtStatus`] values; a NULL from the kernel is an
//! error value, never a panic.
//!
//! Features: `irql-checks` (runtime IRQL checks in release), `pool-stats`
//! ([`pool::PoolStats`]), `lookaside-count` (lists count their entries,
//! see [`lookaside`]); all three are always on with the kernel model.
//!
//! Where it runs: on a Windows target the crate calls the real kernel (built
//! with the WDK through `wdk-sys`, feature `wdk`, or on Linux with the
//! checked-in `ddk` bindings); on any other target (or with feature `model`)
//! it runs against the kernel model, whose `model::Kernel` a test creates
//! and whose verifier must be clean when the test ends.

#![no_std]

// The kernel model is ordinary user-mode code.
#[cfg(wdm_provider = "model")]
extern crate std;

pub mod address;
pub mod bus;
pub mod driver;
pub mod init;
pub mod io_space;
pub mod irql;
pub mod lookaside;
pub mod mdl;
pub mod memory;
pub mod paging;
pub mod plain;
pub mod pool;
pub mod request;
pub mod section;
pub mod status;
pub mod sys;
pub mod user;

pub use irql::Irql;
pub use status::{NtResult, NtStatus};

/// The kernel model and its verifier (the `model` provider only: host
/// targets, or feature `model`).
///
/// A test creates a [`Kernel`](model::Kernel), calls the crate as a driver
/// would, and ends verifier-clean; see [`Kernel`](model::Kernel).
#[cfg(wdm_provider = "model")]
pub mod model {
    pub use crate::sys::model::*;
}

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
