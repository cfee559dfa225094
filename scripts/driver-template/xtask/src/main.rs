//! `cargo xtask build` and `cargo xtask run` (the alias is in
//! .cargo/config.toml): the Linux cross build of the driver and its client,
//! and one run under Wine. Both call the scripts that ship inside the
//! wdm-mem package (its `scripts/` folder), found through `cargo metadata`,
//! so they work the same with a path dependency and a registry one.
//!
//!   cargo xtask build   target/driver/{{crate}}.sys (+ .map), the client
//!   cargo xtask run     sc create/start, the client, sc stop (DriverUnload's
//!                       report), sc delete, in a private Wine prefix

use std::{
    env,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
};

#[path = "../../src/protocol.rs"]
#[allow(dead_code)]
mod protocol;

const DRIVER: &str = "{{name}}";
const CLIENT: &str = "{{name}}-client";
const SERVICE: &str = "{{device}}";

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask/ is inside the driver").to_path_buf();
    let out = root.join("target/driver");
    let scripts = wdm_mem_dir(&root).join("scripts");
    let mut command = Command::new("bash");
    match env::args().nth(1).as_deref() {
        Some("build") => command
            .arg(scripts.join("driver-build.sh"))
            .arg("--manifest-path")
            .arg(root.join("Cargo.toml"))
            .args(["--package", DRIVER, "--client", CLIENT, "--out"])
            .arg(&out),
        Some("run") => command
            .arg(scripts.join("driver-run.sh"))
            .arg(out.join(format!("{}.sys", DRIVER.replace('-', "_"))))
            .args(["--service", SERVICE])
            .arg("--client")
            .arg(out.join(format!("{CLIENT}.exe")))
            .args(["--expect", protocol::UNLOAD_CLEAN_MESSAGE]),
        _ => {
            eprintln!("usage: cargo xtask build | cargo xtask run");
            return ExitCode::from(2);
        }
    };
    match command.status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => ExitCode::from(status.code().unwrap_or(1).clamp(1, 255) as u8),
        Err(e) => {
            eprintln!("xtask: cannot run bash: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The folder of the wdm-mem package this driver depends on, from
/// `cargo metadata` (the `manifest_path` of the package named wdm-mem).
fn wdm_mem_dir(root: &Path) -> PathBuf {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .output()
        .expect("cargo metadata");
    assert!(output.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    let json = String::from_utf8_lossy(&output.stdout);
    // A package is an object whose "name" is followed by "version" (a
    // dependency's by "source"); take wdm-mem's and the first
    // "manifest_path" after it (no JSON parser: xtask has no dependencies).
    let package = json.find(r#"{"name":"wdm-mem","version":"#).expect("wdm-mem is a dependency");
    let key = r#""manifest_path":""#;
    let start = package + json[package..].find(key).expect("a manifest_path") + key.len();
    let end = start + json[start..].find('"').expect("a closing quote");
    Path::new(&json[start..end]).parent().expect("Cargo.toml has a folder").to_path_buf()
}
