//! The `FORCEINLINE` routines of x64 `wdm.h` that the crate writes itself
//! (`src/sys/register_buffer.rs`, `src/sys/port.rs`) compiled with rustc -O
//! and checked against their `wdm.h` form, instruction by instruction: the
//! table below is transcribed from `wdm.h` (the `__movsX`, `__inX`, `__outX`,
//! `__inXstring`, `__outXstring` intrinsics and `FastFence`, which is
//! `__faststorefence`: `lock or [rsp], 0`).

/// Routine name, then the instructions its body must contain, in order
/// (AT&T mnemonics as rustc prints them).
const WDM_H: &[(&str, &[&str])] = &[
    ("READ_REGISTER_BUFFER_UCHAR", &["rep", "movsb"]),
    ("READ_REGISTER_BUFFER_USHORT", &["rep", "movsw"]),
    ("READ_REGISTER_BUFFER_ULONG", &["rep", "movsl"]),
    ("READ_REGISTER_BUFFER_ULONG64", &["rep", "movsq"]),
    ("WRITE_REGISTER_BUFFER_UCHAR", &["rep", "movsb", "lock", "orl\t$0, (%rsp)"]),
    ("WRITE_REGISTER_BUFFER_USHORT", &["rep", "movsw", "lock", "orl\t$0, (%rsp)"]),
    ("WRITE_REGISTER_BUFFER_ULONG", &["rep", "movsl", "lock", "orl\t$0, (%rsp)"]),
    ("WRITE_REGISTER_BUFFER_ULONG64", &["rep", "movsq", "lock", "orl\t$0, (%rsp)"]),
    ("READ_PORT_UCHAR", &["inb\t%dx, %al"]),
    ("READ_PORT_USHORT", &["inw\t%dx, %ax"]),
    ("READ_PORT_ULONG", &["inl\t%dx, %eax"]),
    ("WRITE_PORT_UCHAR", &["outb\t%al, %dx"]),
    ("WRITE_PORT_USHORT", &["outw\t%ax, %dx"]),
    ("WRITE_PORT_ULONG", &["outl\t%eax, %dx"]),
    ("READ_PORT_BUFFER_UCHAR", &["rep", "insb"]),
    ("READ_PORT_BUFFER_USHORT", &["rep", "insw"]),
    ("READ_PORT_BUFFER_ULONG", &["rep", "insl"]),
    ("WRITE_PORT_BUFFER_UCHAR", &["rep", "outsb"]),
    ("WRITE_PORT_BUFFER_USHORT", &["rep", "outsw"]),
    ("WRITE_PORT_BUFFER_ULONG", &["rep", "outsl"]),
];

/// A crate with one exported function per routine, which calls it (inlined).
fn probe(root: &std::path::Path) -> String {
    let mut probe = String::from("#![no_std]\n#![allow(non_snake_case, dead_code, unused_macros)]\n");
    for (module, file) in [("register_buffer", "src/sys/register_buffer.rs"), ("port", "src/sys/port.rs")] {
        probe += &format!("#[path = {:?}]\nmod {module};\n", root.join(file));
    }
    for (name, _) in WDM_H {
        let module = if name.contains("PORT") { "port" } else { "register_buffer" };
        let call = if name.contains("BUFFER") {
            "(a: usize, b: usize, c: u32) -> u64 { unsafe { MODULE::NAME(a as _, b as _, c) }; 0 }"
        } else if name.starts_with("READ") {
            "(a: usize, _b: usize, _c: u32) -> u64 { (unsafe { MODULE::NAME(a as _) }) as u64 }"
        } else {
            "(a: usize, _b: usize, c: u32) -> u64 { unsafe { MODULE::NAME(a as _, c as _) }; 0 }"
        };
        probe += &format!(
            "#[unsafe(no_mangle)]\npub fn probe_{name}{}\n",
            call.replace("MODULE", module).replace("NAME", name)
        );
    }
    probe
}

#[test]
fn the_inline_routines_are_the_wdm_h_instructions() {
    if !cfg!(target_arch = "x86_64") {
        eprintln!("note: not an x86_64 host, codegen check skipped");
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("wdm-mem-inline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("probe.rs");
    std::fs::write(&source, probe(root)).unwrap();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = std::process::Command::new(rustc)
        .args(["--crate-type", "lib", "--edition", "2024", "-C", "opt-level=3", "--emit", "asm", "-o", "-"])
        .arg(&source)
        .output()
        .expect("rustc runs");
    std::fs::remove_dir_all(&dir).ok();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let asm = String::from_utf8(output.stdout).unwrap();
    for (name, expected) in WDM_H {
        let label = format!("probe_{name}:");
        let start = asm.lines().position(|l| l == label).unwrap_or_else(|| panic!("{name} missing"));
        let body: Vec<&str> = asm
            .lines()
            .skip(start + 1)
            .take_while(|l| !l.starts_with(".Lfunc_end"))
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('.'))
            .collect();
        let mut at = 0;
        for want in *expected {
            let found = body[at..].iter().position(|l| l.starts_with(want) || l.contains(&format!("\t{want}")));
            let found =
                found.unwrap_or_else(|| panic!("{name}: `{want}` missing after line {at}:\n{}", body.join("\n")));
            at += found;
            if !want.starts_with("rep") && !want.starts_with("lock") {
                at += 1;
            }
        }
        assert!(body.last().is_some_and(|l| l.starts_with("ret")), "{name} returns:\n{}", body.join("\n"));
    }
}
