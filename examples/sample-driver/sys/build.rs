//! Link settings of the sample driver.
//!
//! - Feature `wdk` (Windows with the WDK): wdk-build's
//!   `configure_wdk_binary_build`, the windows-drivers-rs convention. It
//!   cannot run on Linux, so this path is not exercised here.
//! - Otherwise, for a Windows target (the Linux cross build with lld-link):
//!   the kernel-driver link arguments below; the import libraries come from
//!   wdm-mem's own build script.
//! - Any other target: nothing (the sample is only built for Windows).

#[cfg(feature = "wdk")]
fn main() -> Result<(), wdk_build::ConfigError> {
    wdk_build::configure_wdk_binary_build()
}

#[cfg(not(feature = "wdk"))]
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
        "/Brepro",
        // INIT data (wdm_mem::init_static!): read-write and discardable, as
        // MSVC's `#pragma section("INIT", discard)`; lld-link gives a
        // section named INIT no special treatment.
        "/SECTION:INIT,RWD",
    ] {
        println!("cargo::rustc-cdylib-link-arg={arg}");
    }
}
