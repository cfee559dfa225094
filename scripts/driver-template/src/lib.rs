//! {{name}}: a WDM driver built on wdm-mem. One device, `\Device\{{device}}`
//! (linked as `\\.\{{device}}`), with one METHOD_BUFFERED IOCTL
//! ([`protocol::IOCTL_FILL`], in [`fill`]).
//!
//! The kernel plumbing (DriverEntry, DriverUnload, dispatch routines) is
//! compiled for Windows only; the IOCTL's code is plain wdm-mem and runs on
//! the host under `cargo test`, against wdm-mem's kernel model.

#![cfg_attr(not(test), no_std)]

pub mod fill;
pub mod protocol;

#[cfg(target_os = "windows")]
mod entry;

// A panic is a bug of this driver: stop the system with its own code.
wdm_mem::bug_check_on_panic!(0x4452_5631);
