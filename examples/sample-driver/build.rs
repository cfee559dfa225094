//! Link arguments of a kernel driver for the Linux cross build (lld-link).
//!
//! On Windows with the WDK (feature `wdk`), wdk-build's
//! `configure_wdk_binary_build` is the convention; it cannot run on Linux, so
//! this script only handles the `ddk` build and does nothing elsewhere.

fn main() {
    let windows = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "windows");
    let wdk = std::env::var_os("CARGO_FEATURE_WDK").is_some();
    if !windows || wdk {
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
        "/Brepro",
    ] {
        println!("cargo::rustc-cdylib-link-arg={arg}");
    }
}
