//! Acceptance of `scripts/new-driver.sh` (issue 12): a driver crate generated
//! into a temporary folder outside the repository, then the commands of its
//! README's first ```sh block run there verbatim: the `.sys` is built and
//! imports only ntoskrnl.exe and HAL.dll, its host tests pass, it runs under
//! Wine, its client's IOCTL round-trips, and DriverUnload reports nothing
//! outstanding.
//!
//! Needs the cross toolchain and Wine (scripts/setup.sh): without them the
//! test is skipped with a note, unless `WDM_MEM_REQUIRE_E2E=1` is set, in
//! which case it fails. `WDM_MEM_SKIP_E2E=1` skips it (ignored when required).
//! The generated crate's cross build shares this repository's
//! `target/cross` (`WDM_MEM_CROSS_TARGET_DIR`: cargo locks and keys it
//! itself, so sharing is sound), which spares a second cold build of core and
//! std; its host build is its own.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn required() -> bool {
    std::env::var("WDM_MEM_REQUIRE_E2E").is_ok_and(|v| v == "1")
}

/// Runs `command`, echoes and returns its exit code and output.
fn run(what: &str, command: &mut Command) -> (Option<i32>, String) {
    let started = Instant::now();
    let output = command.output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    println!("--- {what} ({}, {:.1} s) ---\n{text}", output.status, started.elapsed().as_secs_f64());
    (output.status.code(), text)
}

/// The commands of the first ```sh block of a README.
fn first_sh_block(readme: &str) -> String {
    let start = readme.find("```sh\n").expect("README.md has a ```sh block") + "```sh\n".len();
    let end = start + readme[start..].find("```").expect("the block is closed");
    readme[start..end].to_string()
}

/// The DLL names a PE image imports (`objdump -p`).
fn imports(sys: &Path) -> Vec<String> {
    let output = Command::new("x86_64-w64-mingw32-objdump").arg("-p").arg(sys).output().expect("objdump runs");
    assert!(output.status.success(), "objdump -p {} failed", sys.display());
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("DLL Name: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_generated_driver_builds_tests_and_runs_under_wine_with_its_readme_commands() {
    if std::env::var("WDM_MEM_SKIP_E2E").is_ok_and(|v| v == "1") && !required() {
        eprintln!("note: WDM_MEM_SKIP_E2E=1: the new-driver acceptance test is skipped");
        return;
    }
    let missing: Vec<&str> = ["/usr/bin/rustc", "/usr/bin/cargo", "/usr/bin/lld-link-19", "/usr/lib/wine/wine64"]
        .into_iter()
        .filter(|tool| !Path::new(tool).exists())
        .chain(which("x86_64-w64-mingw32-objdump"))
        .collect();
    if !missing.is_empty() {
        assert!(!required(), "WDM_MEM_REQUIRE_E2E=1 but missing: {missing:?} (scripts/setup.sh)");
        eprintln!("note: skipping the new-driver acceptance test, missing: {missing:?} (scripts/setup.sh)");
        return;
    }
    let started = Instant::now();
    let parent = std::env::temp_dir().join(format!("wdm-mem-new-driver-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&parent);
    let dir = parent.join("acme-driver");
    assert!(!dir.starts_with(root()), "the temporary folder is outside the repository");

    let (code, text) = run("new-driver.sh", Command::new("bash").arg(root().join("scripts/new-driver.sh")).arg(&dir));
    assert_eq!(code, Some(0), "new-driver.sh failed:\n{text}");

    let readme = std::fs::read_to_string(dir.join("README.md")).expect("a README.md");
    assert!(readme.starts_with("# acme-driver\n\n```sh\n"), "the README begins with the sh block:\n{readme}");
    let block = first_sh_block(&readme);
    let (code, text) = run(
        "the README's sh block",
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", &block])
            .current_dir(&dir)
            .env("WDM_MEM_CROSS_TARGET_DIR", root().join("target/cross")),
    );
    assert_eq!(code, Some(0), "the README's commands failed:\n{text}");

    let sys = dir.join("target/driver/acme_driver.sys");
    assert!(dir.join("target/driver/acme_driver.map").is_file(), "the map file is beside the .sys");
    let mut dlls: Vec<String> = imports(&sys).into_iter().map(|d| d.to_ascii_lowercase()).collect();
    dlls.sort();
    dlls.dedup();
    assert!(
        !dlls.is_empty() && dlls.iter().all(|d| d == "ntoskrnl.exe" || d == "hal.dll"),
        "imports beyond ntoskrnl.exe and HAL.dll: {dlls:?}"
    );
    assert!(text.contains("test result: ok. 2 passed; 0 failed"), "the host tests did not pass:\n{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("PASS fill ")).count(), 3, "the client's IOCTLs:\n{text}");
    assert!(!text.lines().any(|l| l.starts_with("FAIL ")), "a client check failed:\n{text}");
    assert!(
        text.contains("driver-run: DriverUnload reported: acme-driver: unload: nothing outstanding"),
        "DriverUnload did not report a clean unload:\n{text}"
    );
    println!("new-driver acceptance: {:.1} s in all", started.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(&parent);
}

/// `Some(name)` when `name` is not on PATH.
fn which(name: &'static str) -> Option<&'static str> {
    let found =
        std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()));
    (!found).then_some(name)
}
