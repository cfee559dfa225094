//! Build script of the bench driver: for a Windows target, the kernel-driver
//! link arguments (as the sample driver's) and the C reference
//! `c/reference.c`, compiled exactly as wdm-mem's build script compiles its
//! SEH shim (same compiler, target, headers and flags; see the root
//! `build.rs`), into a static library linked into the same `.sys`. Any other
//! target: nothing (the bench is only built for Windows; on the host the
//! crate compiles to an empty cdylib so that workspace-wide `cargo clippy`
//! and `cargo test` keep working).
//!
//! Overrides: `WDM_MEM_CLANG`, `WDM_MEM_LLVM_AR`, `WDM_MEM_MINGW_INCLUDE_DIR`
//! (as for the crate).

use std::{env, path::PathBuf, process::Command};

const SOURCE: &str = "c/reference.c";

fn main() {
    println!("cargo::rerun-if-changed={SOURCE}");
    for var in ["CLANG", "LLVM_AR", "MINGW_INCLUDE_DIR"] {
        println!("cargo::rerun-if-env-changed=WDM_MEM_{var}");
    }
    println!("cargo::rustc-check-cfg=cfg(wdm_bench_kernel)");
    if !env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "windows") {
        return;
    }
    println!("cargo::rustc-cfg=wdm_bench_kernel");
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
    compile_reference();
}

/// The flags of wdm-mem's `compile_seh_shim` (ddk provider), for the C
/// reference.
fn clang_ddk(include: &str) -> Command {
    let tool = |var: &str, default: &str| env::var(format!("WDM_MEM_{var}")).unwrap_or_else(|_| default.into());
    let mut compile = Command::new(tool("CLANG", "clang-19"));
    compile.args(["--target=x86_64-w64-mingw32", "-fms-extensions", "-O2", "-c"]);
    compile.arg("-fno-stack-protector");
    compile.args(["-D_AMD64_", "-D_WIN64", "-DNTDDI_VERSION=0x0A000000", "-D_WIN32_WINNT=0x0A00"]);
    compile
        .args(["-D__INTRINSIC_DEFINED_InterlockedBitTestAndSet", "-D__INTRINSIC_DEFINED_InterlockedBitTestAndReset"]);
    compile.arg(format!("-I{include}/ddk")).arg(format!("-I{include}"));
    compile.args(["-Wno-pragma-pack", "-Wno-incompatible-library-redeclaration", "-Wno-#warnings"]);
    compile
}

fn compile_reference() {
    let tool = |var: &str, default: &str| env::var(format!("WDM_MEM_{var}")).unwrap_or_else(|_| default.into());
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let object = out.join("wdm_mem_bench_reference.o");
    let library = out.join("wdm_mem_bench_reference.lib");
    let include = tool("MINGW_INCLUDE_DIR", "/usr/share/mingw-w64/include");
    let mut compile = clang_ddk(&include);
    compile.args(["-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter", "-Wno-unknown-pragmas"]);
    compile.arg(SOURCE).arg("-o").arg(&object);
    let mut archive = Command::new(tool("LLVM_AR", "llvm-ar-19"));
    archive.arg("crs").arg(&library).arg(&object);
    for mut command in [compile, archive] {
        match command.status() {
            Ok(status) if status.success() => {}
            result => panic!(
                "building the C reference failed ({result:?}): {command:?}; it needs clang-19, \
                 llvm-19 and mingw-w64 (scripts/setup.sh installs them)"
            ),
        }
    }
    println!("cargo::rustc-link-search=native={}", out.display());
    println!("cargo::rustc-link-lib=static=wdm_mem_bench_reference");
}
