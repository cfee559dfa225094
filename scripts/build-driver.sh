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
# The same command as any driver's (scripts/driver-build.sh), with the
# sample's names. Fast when nothing changed (cargo's own up-to-date checks;
# files are copied only when they differ). Cargo output goes to target/cross
# (never shared with the host `cargo test`, see scripts/env.sh). Serialised
# with the other e2e scripts by a lock on target/e2e.lock.
#
# Exit status: 0 built, 1 build failure, 3 a prerequisite is missing
# (run scripts/setup.sh).
#
#   scripts/build-driver.sh [--driver-only | --client-only]
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
source "$here/env.sh"

args=(--manifest-path "$ROOT/Cargo.toml" --package "$DRIVER_PACKAGE" --out "$SAMPLE_OUT_DIR")
case "${1:-}" in
  --driver-only) ;;
  --client-only) args+=(--client "$CLIENT_PACKAGE" --no-driver) ;;
  "") args+=(--client "$CLIENT_PACKAGE") ;;
  *) echo "usage: $0 [--driver-only | --client-only]" >&2; exit 2 ;;
esac
exec bash "$here/driver-build.sh" "${args[@]}"
