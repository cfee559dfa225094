#!/usr/bin/env bash
# Cross-builds, on Linux, the sample kernel driver (.sys), its user-mode client
# (.exe) and the bcryptprimitives.dll shim the client needs under Wine 8, and
# collects them in target/sample/:
#
#   target/sample/wdm_mem_sample.sys    the driver (PE, subsystem NATIVE)
#   target/sample/wdm_mem_sample.map    lld-link's map file of the driver
#   target/sample/wdm-mem-client.exe    the client (x86_64-pc-windows-gnu)
#   target/sample/bcryptprimitives.dll  ProcessPrng for Rust's std under Wine 8
#
# Fast when nothing changed (cargo's own up-to-date checks; files are copied
# only when they differ). Cargo output goes to target/cross (never shared with
# the host `cargo test`, see scripts/env.sh). Serialised with the other e2e
# scripts by a lock on target/e2e.lock, since test binaries may run in parallel.
#
# Exit status: 0 built, 1 build failure, 3 a prerequisite is missing
# (run scripts/setup.sh).
#
#   scripts/build-driver.sh [--driver-only | --client-only]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$(dirname "${BASH_SOURCE[0]}")/cross-build.sh"

build_driver=1
build_client=1
case "${1:-}" in
  --driver-only) build_client=0 ;;
  --client-only) build_driver=0 ;;
  "") ;;
  *) echo "usage: $0 [--driver-only | --client-only]" >&2; exit 2 ;;
esac

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1 ($2)"); }
need "$DEB_RUSTC" rustc-web
need "$DEB_CARGO" cargo-web
need flock util-linux
if ((build_driver)); then
  need "$LLD_LINK" lld-19
  [[ -d /usr/lib/rustlib/src/rust/library ]] || missing+=("rust std source (rust-web-src)")
  [[ -f /usr/x86_64-w64-mingw32/lib/libntoskrnl.a ]] || missing+=("libntoskrnl.a (mingw-w64-x86-64-dev)")
fi
if ((build_client)); then
  need "$MINGW_GCC" gcc-mingw-w64-x86-64
fi
if ((${#missing[@]})); then
  printf 'build-driver: missing prerequisite: %s\n' "${missing[@]}" >&2
  echo "build-driver: run scripts/setup.sh (as root) first" >&2
  exit 3
fi

mkdir -p "$ROOT/target" "$SAMPLE_OUT_DIR"
if [[ -z ${WDM_MEM_E2E_LOCKED:-} ]]; then
  exec 9>"$E2E_LOCK"
  flock -w 1800 9 || { echo "build-driver: timed out waiting for $E2E_LOCK" >&2; exit 1; }
  export WDM_MEM_E2E_LOCKED=1
fi

if ((build_driver)); then
  cross_build_sys "$DRIVER_PACKAGE" "$DRIVER_SYS" "$DRIVER_MAP"
fi

if ((build_client)); then
  t0=$(seconds)
  cross_cargo_env
  "${CROSS_CARGO_ENV[@]}" \
    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER="$MINGW_GCC" \
    "$DEB_CARGO" build --release --manifest-path "$ROOT/Cargo.toml" \
      -p "$CLIENT_PACKAGE" \
      -Zbuild-std=std,panic_abort \
      --target "$CLIENT_TARGET"
  install_if_changed "$CROSS_TARGET_DIR/$CLIENT_TARGET/release/$CLIENT_PACKAGE.exe" "$CLIENT_EXE"

  # Rust's std imports ProcessPrng from bcryptprimitives.dll, absent from Wine 8.
  shim_src=$ROOT/examples/client/prng-shim
  if [[ ! -f $SHIM_DLL || $shim_src/bcryptprimitives.c -nt $SHIM_DLL || $shim_src/bcryptprimitives.def -nt $SHIM_DLL ]]; then
    "$MINGW_GCC" -shared -O2 -s -Wall -Wextra -o "$SHIM_DLL.tmp" \
      "$shim_src/bcryptprimitives.c" "$shim_src/bcryptprimitives.def" -ladvapi32
    mv -f "$SHIM_DLL.tmp" "$SHIM_DLL"
    echo "build-driver: updated ${SHIM_DLL#"$ROOT"/}"
  fi
  echo "build-driver: client ${CLIENT_EXE#"$ROOT"/} in $(elapsed "$t0")"
fi
