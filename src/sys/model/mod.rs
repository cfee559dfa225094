//! The kernel model: a user-mode implementation of the kernel routines this
//! crate calls, faithful to their documented contracts, with a verifier in the
//! spirit of Driver Verifier.
//!
//! `exports` holds the routines under their kernel names (what `crate::sys`
//! re-exports for the `model` provider); the rest is the model's state and
//! its public face, [`crate::model`].


pub(crate) mod exports;
mod faults;
mod irql;
mod kernel;
mod memory_file;
mod pool;
mod section;
mod verifier;

pub use faults::{Call, Fault};
pub use kernel::{EnteredKernel, Kernel, KernelHandle};
pub use pool::{PoolBlock, PoolUsage};
pub use verifier::{BugCheck, Report, Violation};
