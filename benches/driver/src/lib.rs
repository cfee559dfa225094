//! The wdm-mem benchmark driver: one `.sys` holding the same operations
//! three times, written as a C driver writes them against `wdm.h`
//! (`c/reference.c`), through the crate's raw `wdm_mem::sys` layer, and
//! through the crate's safe API (`ops.rs`), measured in one run by
//! `harness.rs` and printed with `DbgPrint` for `scripts/bench.sh`.
//!
//! `DriverEntry` starts a system thread (a driver's entry point must return
//! within seconds under Wine) which measures every row and prints
//! `wdm-mem-bench: done`; `DriverUnload` waits for it. The service key's
//! optional REG_DWORD values `Repetitions` (default 7) and `Scale` (divides
//! every row's iteration count; default 1) set the run's size
//! (`scripts/bench.sh --quick` sets them).
//!
//! On a non-Windows target this crate is empty (the workspace builds on the
//! host).

#![cfg_attr(wdm_bench_kernel, no_std)]

#[cfg(wdm_bench_kernel)]
extern crate alloc;

#[cfg(wdm_bench_kernel)]
mod driver;
#[cfg(wdm_bench_kernel)]
mod ffi;
#[cfg(wdm_bench_kernel)]
mod harness;
#[cfg(wdm_bench_kernel)]
mod ops;
