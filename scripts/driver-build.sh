#!/usr/bin/env bash
# Cross-builds, on Linux, the .sys of ANY driver crate that depends on
# wdm-mem (and optionally its user-mode client), into one output folder:
#
#   OUT/<crate>.sys  the driver (PE, subsystem NATIVE; cargo's .dll renamed)
#   OUT/<crate>.map  lld-link's map file of the driver
#   OUT/<client>.exe and OUT/bcryptprimitives.dll, with --client
#
# The driver crate is a cdylib whose build.rs gives the kernel-driver link
# arguments (/DRIVER /SUBSYSTEM:NATIVE /ENTRY:DriverEntry /NODEFAULTLIB, as
# the sample's and the generated drivers' do); this script gives the rest:
# Debian's rustc (RUSTC_BOOTSTRAP=1, -Zbuild-std=core,alloc with
# compiler-builtins-mem), +crt-static, lld-link-19 and the map file.
# Used by the sample (scripts/build-driver.sh) and by drivers made with
# scripts/new-driver.sh (`cargo xtask build`); runs from any directory.
#
#   scripts/driver-build.sh [--manifest-path M] [--package P] [--client C]
#                           [--out DIR] [--no-driver]
#     M    the driver's Cargo.toml (default: ./Cargo.toml)
#     P    the driver package (default: the [package] name of M)
#     C    a binary package of the same workspace to build for Windows
#     DIR  default: <M's folder>/target/driver
#   env WDM_MEM_CROSS_TARGET_DIR  cargo's target dir (default:
#     <M's folder>/target/cross; sharing one between crates is sound)
#
# Serialised by a lock on <M's folder>/target/e2e.lock. Exit status: 0 built,
# 1 build failure, 2 usage, 3 a prerequisite is missing (scripts/setup.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$(dirname "${BASH_SOURCE[0]}")/cross-build.sh"

usage() { sed -n 's/^#   \{0,1\}//p' "${BASH_SOURCE[0]}" | sed -n '/^scripts\/driver-build.sh/,/^env/p' >&2; exit 2; }
manifest=$PWD/Cargo.toml package="" client="" out="" build_driver=1
while (($#)); do
  case $1 in
    --manifest-path) manifest=$(realpath "${2:?}"); shift 2 ;;
    --package) package=${2:?}; shift 2 ;;
    --client) client=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --no-driver) build_driver=0; shift ;;
    *) usage ;;
  esac
done
[[ -f $manifest ]] || { echo "driver-build: no $manifest" >&2; exit 2; }
crate_dir=$(dirname "$manifest")
if [[ -z $package ]]; then
  package=$(sed -n '/^\[package\]/,/^\[/s/^name *= *"\(.*\)"/\1/p' "$manifest" | head -n 1)
  [[ -n $package ]] || { echo "driver-build: no [package] name in $manifest: pass --package" >&2; exit 2; }
fi
out=${out:-$crate_dir/target/driver}
CROSS_TARGET_DIR=${WDM_MEM_CROSS_TARGET_DIR:-$crate_dir/target/cross}

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
[[ -z $client ]] || need "$MINGW_GCC" gcc-mingw-w64-x86-64
if ((${#missing[@]})); then
  printf 'driver-build: missing prerequisite: %s\n' "${missing[@]}" >&2
  echo "driver-build: run scripts/setup.sh of wdm-mem (as root) first" >&2
  exit 3
fi

mkdir -p "$crate_dir/target" "$out"
if [[ -z ${WDM_MEM_E2E_LOCKED:-} ]]; then
  exec 9>"$crate_dir/target/e2e.lock"
  flock -w 1800 9 || { echo "driver-build: timed out waiting for $crate_dir/target/e2e.lock" >&2; exit 1; }
  export WDM_MEM_E2E_LOCKED=1
fi

stem=${package//-/_}
if ((build_driver)); then
  cross_build_sys "$package" "$out/$stem.sys" "$out/$stem.map" "$manifest"
fi
if [[ -n $client ]]; then
  cross_build_client "$client" "$out/$client.exe" "$manifest"
fi
