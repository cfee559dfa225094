//! IRQL queries and raises against the kernel model.

use wdm_mem::{
    Irql, NtStatus,
    model::Kernel,
    pool::{PoolBox, PoolType},
    pool_tag,
};

#[test]
fn run_raised_nests_and_restores() {
    let kernel = Kernel::new();
    let seen = Irql::run_raised(Irql::APC, || {
        let inner = Irql::run_raised(Irql::DISPATCH, Irql::current).unwrap();
        (Irql::current(), inner)
    });
    assert_eq!(seen, Ok((Irql::APC, Irql::DISPATCH)));
    assert_eq!(Irql::current(), Irql::PASSIVE);
    kernel.assert_clean();
}

#[test]
fn raising_below_the_current_level_is_refused_without_a_violation() {
    let kernel = Kernel::new();
    kernel.set_irql(Irql::DISPATCH);
    let mut ran = false;
    assert_eq!(Irql::run_raised(Irql::APC, || ran = true), Err(NtStatus::INVALID_LEVEL));
    assert!(!ran);
    assert_eq!(Irql::ensure_at_most(Irql::APC), Err(NtStatus::INVALID_LEVEL));
    assert_eq!(Irql::ensure_at_most(Irql::DISPATCH), Ok(()));
    kernel.set_irql(Irql::PASSIVE);
    kernel.assert_clean();
}

#[test]
fn levels_have_their_kernel_numbers_and_names() {
    assert_eq!([Irql::PASSIVE, Irql::APC, Irql::DISPATCH, Irql::HIGH].map(Irql::level), [0, 1, 2, 15]);
    assert_eq!(Irql::new(16), None);
    assert_eq!(format!("{:?} {:?}", Irql::DISPATCH, Irql::new(5).unwrap()), "DISPATCH_LEVEL IRQL 5");
}

/// The probe of `the_cr8_writes_are_compiler_barriers`: three stores to a
/// global around a raise and a lower, written with the crate's own
/// `src/sys/cr8.rs` (the Windows providers' `KfRaiseIrql`/`KeLowerIrql`).
const BARRIER_PROBE: &str = r#"
#![no_std]
type KIRQL = u8;
#[path = "CR8_RS"]
#[allow(non_snake_case, dead_code)]
mod cr8;
#[unsafe(no_mangle)]
pub static mut SHARED: u32 = 0;
#[unsafe(no_mangle)]
pub fn barrier_probe() {
    unsafe { SHARED = 0x1111 };
    let previous = unsafe { cr8::KfRaiseIrql(2) };
    unsafe { SHARED = 0x2222 };
    unsafe { cr8::KeLowerIrql(previous) };
    unsafe { SHARED = 0x3333 };
}
"#;

/// `KfRaiseIrql`/`KeLowerIrql` write CR8 with `asm!`; with `options(nomem)`
/// the optimiser moved (here: deleted) the stores made between them, so
/// `Irql::run_raised` was no barrier. Compiles the real `src/sys/cr8.rs` with
/// rustc -O and checks that every store stays on its side of each CR8 write.
/// (With the old `nomem` writes, rustc 1.95 emits only the last store, after
/// both writes: the assertion below fails.)
#[test]
fn the_cr8_writes_are_compiler_barriers() {
    if !cfg!(target_arch = "x86_64") {
        eprintln!("note: not an x86_64 host, CR8 codegen check skipped");
        return;
    }
    let dir = std::env::temp_dir().join(format!("wdm-mem-cr8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cr8 = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sys/cr8.rs");
    let probe = dir.join("probe.rs");
    std::fs::write(&probe, BARRIER_PROBE.replace("CR8_RS", cr8.to_str().unwrap())).unwrap();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = std::process::Command::new(rustc)
        .args(["--crate-type", "lib", "--edition", "2024", "-C", "opt-level=3", "--emit", "asm", "-o", "-"])
        .arg(&probe)
        .output()
        .expect("rustc runs");
    std::fs::remove_dir_all(&dir).ok();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let asm = String::from_utf8(output.stdout).unwrap();
    let body = asm.split("barrier_probe:").nth(1).expect("the probe's code").split(".Lfunc_end").next().unwrap();
    let lines: Vec<&str> = body.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let position = |what: &dyn Fn(&str) -> bool, name: &str| {
        lines.iter().position(|l| what(l)).unwrap_or_else(|| panic!("{name} missing from:\n{}", lines.join("\n")))
    };
    let store = |value: u32| move |l: &str| l.starts_with("mov") && l.contains(&format!("${value},"));
    let writes: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].ends_with(", %cr8")).collect();
    assert_eq!(writes.len(), 2, "two CR8 writes:\n{}", lines.join("\n"));
    let order = [
        position(&store(0x1111), "the store before the raise"),
        writes[0],
        position(&store(0x2222), "the store at the raised IRQL"),
        writes[1],
        position(&store(0x3333), "the store after the lower"),
    ];
    assert!(order.is_sorted(), "a store crossed a CR8 write ({order:?}):\n{}", lines.join("\n"));
}

/// Issue 10's policy: release builds of a driver may compile the IRQL checks
/// out, but the kernel model always checks (whatever the profile: `cargo
/// test --release` too), so every wrong-IRQL call is a clean error in tests.
#[test]
fn the_kernel_model_always_checks_irql_contracts() {
    let kernel = Kernel::new();
    const { assert!(Irql::CHECKED) };
    kernel.set_irql(Irql::DISPATCH);
    let paged = PoolBox::new(1u64, pool_tag!(b"Chk1"), PoolType::Paged);
    assert_eq!(paged.unwrap_err(), NtStatus::INVALID_LEVEL);
    kernel.set_irql(Irql::PASSIVE);
    kernel.assert_clean();
}
