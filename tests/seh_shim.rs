//! The SEH shim (`src/sys/seh/probe.c`) really catches: the object the
//! driver links is linked into a small user-mode program
//! (`tests/seh_shim/harness.c`) and run under Wine, whose SEH is the x64
//! one. Exceptions of every severity raised under `__try` come back as
//! error statuses (a success or warning code would read as "locked" or
//! "copied"); copies from freed, inaccessible and read-only pages return
//! `STATUS_ACCESS_VIOLATION`.
//!
//! Needs the cross toolchain (`scripts/build-driver.sh`), mingw-w64's gcc and
//! Wine; skipped with a note when they are missing unless
//! `WDM_MEM_REQUIRE_E2E=1`; `WDM_MEM_SKIP_E2E=1` skips it.

use std::{path::PathBuf, process::Command, time::SystemTime};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Skips (`None`) with a note, or fails when the e2e tests are required.
fn skip(why: &str) -> Option<String> {
    if std::env::var("WDM_MEM_REQUIRE_E2E").is_ok_and(|v| v == "1") {
        panic!("WDM_MEM_REQUIRE_E2E=1 but {why}");
    }
    eprintln!("note: skipping the SEH shim run: {why}");
    None
}

fn run(command: &mut Command, what: &str) -> Result<String, String> {
    let output = command.output().map_err(|e| format!("cannot run {what}: {e}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if output.status.success() { Ok(String::from_utf8_lossy(&output.stdout).into_owned()) } else { Err(text) }
}

/// The newest `wdm_mem_seh.o` that build.rs compiled for the driver.
fn shim_object() -> Option<PathBuf> {
    let build = root().join("target/cross/x86_64-pc-windows-msvc/release/build");
    std::fs::read_dir(build)
        .ok()?
        .flatten()
        .map(|entry| entry.path().join("out/wdm_mem_seh.o"))
        .filter(|object| object.is_file())
        .max_by_key(|object| object.metadata().and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH))
}

/// The harness's output under Wine, or `None` to skip.
fn harness_output() -> Option<String> {
    if std::env::var("WDM_MEM_SKIP_E2E").is_ok_and(|v| v == "1")
        && !std::env::var("WDM_MEM_REQUIRE_E2E").is_ok_and(|v| v == "1")
    {
        return skip("WDM_MEM_SKIP_E2E=1");
    }
    let root = root();
    let built = Command::new("bash").arg("scripts/build-driver.sh").arg("--driver-only").current_dir(&root).status();
    match built.map(|status| status.code()) {
        Ok(Some(0)) => {}
        Ok(Some(3)) => return skip("the cross toolchain is missing (scripts/setup.sh)"),
        other => panic!("scripts/build-driver.sh --driver-only failed: {other:?}"),
    }
    let object = shim_object().expect("build.rs compiled the SEH shim for the driver");
    let out = root.join("target/seh-shim");
    std::fs::create_dir_all(&out).unwrap();
    let exe = out.join("seh-harness.exe");
    let mut link = Command::new("x86_64-w64-mingw32-gcc");
    link.arg("-O1").arg(root.join("tests/seh_shim/harness.c")).arg(&object).arg("-o").arg(&exe);
    if let Err(log) = run(&mut link, "x86_64-w64-mingw32-gcc") {
        return skip(&format!("linking the harness failed: {log}"));
    }
    let prefix = out.join("wine-prefix");
    let wine = |program: &str| {
        let mut command = Command::new(program);
        command.env("WINEPREFIX", &prefix).env("WINEDEBUG", "-all").env_remove("DISPLAY");
        command
    };
    let result = run(wine("/usr/lib/wine/wine64").arg(&exe), "wine64");
    // Only this prefix's server (and its processes) is stopped.
    let _ = wine("/usr/lib/wine/wineserver64").arg("-k").status();
    match result {
        Ok(output) => Some(output),
        Err(log) => skip(&format!("running the harness under Wine failed: {log}")),
    }
}

/// The status the harness printed for `case`.
fn status(output: &str, case: &str) -> u32 {
    let line = output.lines().find_map(|line| line.strip_prefix(case)).unwrap_or_else(|| panic!("{case}: {output}"));
    u32::from_str_radix(line.trim(), 16).unwrap_or_else(|_| panic!("{case}: {line}"))
}

#[test]
fn the_shim_returns_an_error_status_for_every_exception_and_faulting_copy() {
    let Some(output) = harness_output() else { return };
    const ACCESS_VIOLATION: u32 = 0xC000_0005;
    let probes: [(u32, u32); 6] = [
        (0xC000_0005, ACCESS_VIOLATION),
        (0xC000_009A, 0xC000_009A),
        (0x8000_0002, 0xC000_02C5),      // the alignment warning becomes its error twin
        (0x8000_0001, ACCESS_VIOLATION), // STATUS_GUARD_PAGE_VIOLATION: a warning
        (0x4000_0000, ACCESS_VIOLATION), // informational
        (0x0000_0001, ACCESS_VIOLATION), // success severity
    ];
    for (raised, expected) in probes {
        assert_eq!(status(&output, &format!("probe-{raised:08x} ")), expected, "raised {raised:#x}:\n{output}");
        // MmMapLockedPagesSpecifyCache(UserMode) raises on failure: caught
        // the same way, and the out-address stays NULL.
        let map = format!("map-{raised:08x} {expected:08x} null");
        assert!(output.contains(&map), "{map}:\n{output}");
    }
    // ProbeForRead/ProbeForWrite run under the copy's __try: their
    // misalignment warning comes back as the error twin, nothing copied.
    for case in ["from-misaligned ", "to-misaligned "] {
        assert_eq!(status(&output, case), 0xC000_02C5, "{case}:\n{output}");
    }
    assert_eq!(status(&output, "copy-from "), 0, "{output}");
    assert!(output.contains("copied abcdef"), "{output}");
    assert_eq!(status(&output, "copy-to "), 0, "{output}");
    for case in ["from-noaccess ", "to-readonly ", "from-freed ", "to-freed "] {
        assert_eq!(status(&output, case), ACCESS_VIOLATION, "{case}:\n{output}");
    }
}
