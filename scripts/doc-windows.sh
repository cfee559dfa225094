#!/usr/bin/env bash
# The crate's rustdoc for x86_64-pc-windows-msvc: the real `sys` (the `ddk`
# provider, the checked-in bindings), as docs.rs shows it by default, into
# target/cross/x86_64-pc-windows-msvc/doc/wdm_mem/index.html.
#
# Debian's rustc and rustdoc with RUSTC_BOOTSTRAP=1 and -Zbuild-std=core,alloc
# (no Windows standard library is installed here), DOCS_RS=1 as docs.rs sets
# it (the build script then links nothing and compiles no C). Extra
# arguments go to `cargo doc` (e.g. --open).
#
#   bash scripts/doc-windows.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_BUILD_TARGET RUSTC_WORKSPACE_WRAPPER
env RUSTC="$DEB_RUSTC" RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 DOCS_RS=1 \
  CARGO_TARGET_DIR="${WDM_MEM_CROSS_TARGET_DIR:-$CROSS_TARGET_DIR}" RUSTDOCFLAGS="${RUSTDOCFLAGS:-}" \
  "$DEB_CARGO" doc --no-deps --manifest-path "$ROOT/Cargo.toml" -p wdm-mem \
  -Zbuild-std=core,alloc --target "$DRIVER_TARGET" "$@"
echo "doc-windows: $CROSS_TARGET_DIR/$DRIVER_TARGET/doc/wdm_mem/index.html"
