//! Chooses the kernel-symbol provider (see `src/sys/mod.rs`) and, for the `ddk`
//! provider, hands the linker mingw-w64's import libraries under MSVC names.

use std::{env, fs, path::PathBuf};

/// Where Debian's `mingw-w64-x86-64-dev` puts the kernel import libraries.
const MINGW_LIB_DIR: &str = "/usr/x86_64-w64-mingw32/lib";

fn main() {
    println!("cargo::rustc-check-cfg=cfg(wdm_provider, values(\"wdk\", \"ddk\", \"model\"))");
    println!("cargo::rerun-if-env-changed=WDM_MEM_MINGW_LIB_DIR");
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let feature = |name: &str| env::var_os(format!("CARGO_FEATURE_{name}")).is_some();

    let provider = if feature("MODEL") || target_os != "windows" {
        "model"
    } else if feature("WDK") {
        "wdk"
    } else {
        "ddk"
    };
    println!("cargo::rustc-cfg=wdm_provider=\"{provider}\"");

    if provider == "ddk" {
        link_mingw_import_libraries();
    }
}

/// lld-link reads GNU import archives; it only needs them under the names the
/// MSVC convention uses (`ntoskrnl.lib`, `hal.lib`).
fn link_mingw_import_libraries() {
    let source = env::var("WDM_MEM_MINGW_LIB_DIR").unwrap_or_else(|_| MINGW_LIB_DIR.into());
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    for (archive, lib) in [("libntoskrnl.a", "ntoskrnl"), ("libhal.a", "hal")] {
        let from = PathBuf::from(&source).join(archive);
        println!("cargo::rerun-if-changed={}", from.display());
        if let Err(error) = fs::copy(&from, out.join(format!("{lib}.lib"))) {
            panic!(
                "the ddk provider needs {} (Debian package mingw-w64-x86-64-dev; \
                 or set WDM_MEM_MINGW_LIB_DIR): {error}",
                from.display()
            );
        }
        println!("cargo::rustc-link-lib=dylib={lib}");
    }
    println!("cargo::rustc-link-search=native={}", out.display());
}
