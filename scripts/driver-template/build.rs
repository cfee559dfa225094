//! The kernel-driver link arguments, for a Windows target only (the cross
//! build by `cargo xtask build`, lld-link; wdm-mem's build script adds the
//! import libraries ntoskrnl.lib and hal.lib). On the host (`cargo test`)
//! nothing: the driver's code runs against wdm-mem's kernel model.
//! With the WDK on Windows, `wdk_build::configure_wdk_binary_build()` can
//! replace this (see the README).

fn main() {
    if !std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "windows") {
        return;
    }
    for arg in [
        "/DRIVER",
        "/SUBSYSTEM:NATIVE",
        "/ENTRY:DriverEntry",
        "/NODEFAULTLIB",
        "/NXCOMPAT",
        "/DYNAMICBASE",
        "/OPT:REF,ICF",
    ] {
        println!("cargo::rustc-cdylib-link-arg={arg}");
    }
}
