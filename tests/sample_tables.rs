//! The sample's tables agree with its protocol: every IOCTL of
//! `examples/sample-driver/src/protocol.rs` has a handler in the dispatch
//! table (`static IOCTLS`), an envelope row in `validate.rs` (so its whole
//! request is validated before its handler runs) and a place in the client's
//! IOCTL storm; and no table names an IOCTL the protocol lacks.
//!
//! The sample is a `no_std` driver that does not build for the host, so the
//! tables are read from their source text.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The `IOCTL_*` names in `text`.
fn ioctl_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("IOCTL_") {
        let name: String =
            rest[at..].chars().take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_').collect();
        rest = &rest[at + name.len()..];
        names.insert(name);
    }
    names
}

/// The text of the table that starts with `opening` (e.g. `static IOCTLS`)
/// up to its closing `];`, if `text` has one.
fn table<'a>(text: &'a str, opening: &str) -> Option<&'a str> {
    let start = text.find(opening)?;
    let end = text[start..].find("\n];")?;
    Some(&text[start..start + end])
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The protocol's IOCTLs: its `pub const IOCTL_*: u32 = ctl_code(...)`.
fn protocol() -> BTreeSet<String> {
    let text = read(&root().join("examples/sample-driver/src/protocol.rs"));
    let lines = text.lines().filter(|l| l.starts_with("pub const IOCTL_") && l.contains("ctl_code("));
    let names: BTreeSet<String> = lines.flat_map(ioctl_names).collect();
    assert!(names.len() >= 20, "too few IOCTLs found in protocol.rs: {names:?}");
    names
}

/// The sample's dispatch table, wherever in the sample's packages it is.
fn dispatch_table() -> BTreeSet<String> {
    let mut files = Vec::new();
    sources(&root().join("examples"), &mut files);
    let tables: Vec<(PathBuf, BTreeSet<String>)> = files
        .into_iter()
        .filter_map(|path| {
            let text = read(&path);
            table(&text, "static IOCTLS").map(|t| (path.clone(), ioctl_names(t)))
        })
        .collect();
    assert_eq!(tables.len(), 1, "expected one `static IOCTLS` dispatch table under examples/: {tables:?}");
    tables.into_iter().next().unwrap().1
}

fn compare(what: &str, protocol: &BTreeSet<String>, found: &BTreeSet<String>) {
    let missing: Vec<&String> = protocol.difference(found).collect();
    let unknown: Vec<&String> = found.difference(protocol).collect();
    assert!(missing.is_empty() && unknown.is_empty(), "{what}: missing {missing:?}, not in the protocol {unknown:?}");
}

#[test]
fn every_ioctl_has_a_handler() {
    compare("the dispatch table (static IOCTLS)", &protocol(), &dispatch_table());
}

#[test]
fn every_ioctl_has_a_validation_row() {
    let text = read(&root().join("examples/sample-driver/src/validate.rs"));
    let rows = table(&text, "static ENVELOPES").expect("validate.rs has no `static ENVELOPES` table");
    compare("validate.rs's ENVELOPES", &protocol(), &ioctl_names(rows));
}

#[test]
fn every_ioctl_is_in_the_storm() {
    let text = read(&root().join("examples/client/src/storm.rs"));
    let rows = table(&text, "const IOCTLS").expect("storm.rs has no `const IOCTLS` table");
    compare("the client's storm (storm.rs IOCTLS)", &protocol(), &ioctl_names(rows));
}

#[test]
fn a_missing_row_is_found() {
    let protocol = protocol();
    let mut fewer = protocol.clone();
    fewer.pop_first();
    let result = std::panic::catch_unwind(|| compare("test", &protocol, &fewer));
    assert!(result.is_err(), "a table without an IOCTL must fail");
}
