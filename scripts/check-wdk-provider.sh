#!/usr/bin/env bash
# Type-checks wdm-mem's `wdk` provider (feature `wdk`, Windows target) on
# Linux, where Microsoft's wdk-sys cannot build: a copy of the crate is
# checked against tests/wdk-sys-shape, a stand-in with wdk-sys's module layout
# made of this repository's ddk bindings. It proves the provider's glue and
# the crate's use of wdk-sys's names and layout; it cannot prove that the
# real WDK's bindgen output matches mingw-w64's headers (see the README).
# The SEH shim's WDK build (clang-cl) is skipped: `cargo check` only.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
copy=$ROOT/target/wdk-check
rm -rf "$copy" && mkdir -p "$copy/tests"
cp -r "$ROOT"/{Cargo.toml,Cargo.lock,build.rs,README.md,src,examples,benches} "$copy/"
cp -r "$ROOT/tests/wdk-sys-shape" "$copy/tests/"
printf '\n[patch.crates-io]\nwdk-sys = { path = "tests/wdk-sys-shape" }\n' >> "$copy/Cargo.toml"
cd "$copy"
WDM_MEM_CLANG_CL=/bin/true WDM_MEM_LLVM_LIB=/bin/true WDM_MEM_WDK_INCLUDE_DIR=/nonexistent \
  RUSTC="$DEB_RUSTC" RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$ROOT/target/wdk-check-target" \
  "$DEB_CARGO" check --quiet -p wdm-mem --features wdk -Zbuild-std=core,alloc --target "$DRIVER_TARGET"
echo "check-wdk-provider: the wdk provider type-checks against wdk-sys's shape"
