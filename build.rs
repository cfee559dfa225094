//! Chooses the kernel-symbol provider (see `src/sys/mod.rs`) and, for the `ddk`
//! provider, hands the linker mingw-w64's import libraries under MSVC names.

use std::{env, fs, path::PathBuf, process::Command};

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

    // docs.rs (and scripts/doc-windows.sh, which sets DOCS_RS too) only runs
    // rustdoc: nothing is linked, so neither the import libraries nor the C
    // shim (clang, kernel headers) are needed.
    println!("cargo::rerun-if-env-changed=DOCS_RS");
    if env::var_os("DOCS_RS").is_some() {
        return;
    }
    if provider == "ddk" {
        link_mingw_import_libraries();
    }
    if provider != "model" {
        compile_seh_shim(provider);
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

/// The SEH shim `src/sys/seh/probe.c` (`MmProbeAndLockPages` and the
/// user-memory copies under `__try/__except`, which Rust cannot express),
/// compiled into
/// `OUT_DIR/wdm_mem_seh.lib` and linked statically.
///
/// - `ddk`: `clang-19 --target=x86_64-w64-mingw32 -fms-extensions` with
///   mingw-w64's DDK headers, archived by `llvm-ar-19` (lld-link reads GNU
///   archives). Override with `WDM_MEM_CLANG`, `WDM_MEM_LLVM_AR`,
///   `WDM_MEM_MINGW_INCLUDE_DIR`.
/// - `wdk` (UNTESTED: no Windows machine here): `clang-cl` with the WDK's
///   `km`/`shared` headers (`WDM_MEM_WDK_INCLUDE_DIR`, else the newest
///   version under `%WDKContentRoot%\Include`), archived by `llvm-lib`.
///   Override with `WDM_MEM_CLANG_CL`, `WDM_MEM_LLVM_LIB`.
fn compile_seh_shim(provider: &str) {
    const SOURCE: &str = "src/sys/seh/probe.c";
    println!("cargo::rerun-if-changed={SOURCE}");
    for var in ["CLANG", "LLVM_AR", "MINGW_INCLUDE_DIR", "CLANG_CL", "LLVM_LIB", "WDK_INCLUDE_DIR"] {
        println!("cargo::rerun-if-env-changed=WDM_MEM_{var}");
    }
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let object = out.join("wdm_mem_seh.o");
    let library = out.join("wdm_mem_seh.lib");
    let tool = |var: &str, default: &str| env::var(format!("WDM_MEM_{var}")).unwrap_or_else(|_| default.into());
    let (compile, archive) = if provider == "ddk" {
        let include = tool("MINGW_INCLUDE_DIR", "/usr/share/mingw-w64/include");
        let mut compile = Command::new(tool("CLANG", "clang-19"));
        compile.args(["--target=x86_64-w64-mingw32", "-fms-extensions", "-O2", "-c"]);
        // No -ffunction-sections: the GNU target would put .pdata/.xdata in
        // COMDATs of their own, not associated with the function's, which
        // lld-link's /OPT:REF (MSVC mode) discards, and with them the SEH.
        compile.arg("-fno-stack-protector");
        compile.args(["-D_AMD64_", "-D_WIN64", "-DNTDDI_VERSION=0x0A000000", "-D_WIN32_WINNT=0x0A00"]);
        // mingw's intrin-impl.h would emit these two as out-of-line globals.
        compile.args([
            "-D__INTRINSIC_DEFINED_InterlockedBitTestAndSet",
            "-D__INTRINSIC_DEFINED_InterlockedBitTestAndReset",
        ]);
        compile.arg(format!("-I{include}/ddk")).arg(format!("-I{include}"));
        // Noise from mingw's intrin.h/setjmp.h, as in scripts/regen-ddk-bindings.sh.
        compile.args(["-Wno-pragma-pack", "-Wno-incompatible-library-redeclaration", "-Wno-#warnings"]);
        compile.arg(SOURCE).arg("-o").arg(&object);
        let mut archive = Command::new(tool("LLVM_AR", "llvm-ar-19"));
        archive.arg("crs").arg(&library).arg(&object);
        (compile, archive)
    } else {
        let include = wdk_include_dir();
        let mut compile = Command::new(tool("CLANG_CL", "clang-cl"));
        compile.args(["/nologo", "/c", "/O2", "/kernel", "/GS-", "/Zl", "/Gy"]);
        compile.args(["/D_AMD64_", "/D_WIN64", "/DNTDDI_VERSION=0x0A000000", "/D_WIN32_WINNT=0x0A00"]);
        for sub in ["km", "shared", "km/crt"] {
            compile.arg(format!("/I{}", include.join(sub).display()));
        }
        compile.arg(format!("/Fo{}", object.display())).arg(SOURCE);
        let mut archive = Command::new(tool("LLVM_LIB", "llvm-lib"));
        archive.arg("/nologo").arg(format!("/out:{}", library.display())).arg(&object);
        (compile, archive)
    };
    for mut command in [compile, archive] {
        match command.status() {
            Ok(status) if status.success() => {}
            result => panic!(
                "building the SEH shim failed ({result:?}): {command:?}; the {provider} provider needs \
                 clang and the kernel headers (scripts/setup.sh installs clang-19, llvm-19 and mingw-w64)"
            ),
        }
    }
    println!("cargo::rustc-link-search=native={}", out.display());
    println!("cargo::rustc-link-lib=static=wdm_mem_seh");
}

/// The WDK's versioned include directory (`...\Include\10.0.x.y`), for the
/// `wdk` provider (untested).
fn wdk_include_dir() -> PathBuf {
    if let Ok(dir) = env::var("WDM_MEM_WDK_INCLUDE_DIR") {
        return dir.into();
    }
    let root = env::var("WDKContentRoot").unwrap_or_else(|_| r"C:\Program Files (x86)\Windows Kits\10".into());
    let versions = PathBuf::from(root).join("Include");
    let newest = fs::read_dir(&versions)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.join("km").join("wdm.h").is_file())
        .max();
    newest.unwrap_or_else(|| panic!("no WDK km headers under {}: set WDM_MEM_WDK_INCLUDE_DIR", versions.display()))
}
