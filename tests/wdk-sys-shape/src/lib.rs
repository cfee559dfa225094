//! wdk-sys's shape over the ddk bindings: see Cargo.toml.

#![no_std]
#![allow(
    missing_docs,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    dead_code,
    unsafe_op_in_unsafe_fn
)]

#[path = "../../../src/sys/ctypes.rs"]
pub mod ctypes;
#[path = "../../../src/sys/ddk/functions.rs"]
mod functions;
#[path = "../../../src/sys/ddk/types.rs"]
mod types;

/// The ctypes module the generated bindings name (`crate::sys::ctypes`).
pub mod sys {
    pub use super::ctypes;
}

pub use types::*;

/// Functions of `ntddk.h`, where wdk-sys puts them.
pub mod ntddk {
    pub use super::functions::*;
}
