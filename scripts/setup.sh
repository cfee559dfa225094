#!/usr/bin/env bash
# Installs what the Windows cross build and the Wine end-to-end test need, on
# Debian 12 as root. Idempotent: when every package is already installed it
# neither touches the network nor runs apt-get at all. Recommends are installed
# as well: that is the configuration toolchain.md verified (Wine wants them).
#
#   scripts/setup.sh            install what is missing
#   scripts/setup.sh --check    only report what is missing (exit 1 if anything is)
set -euo pipefail

PACKAGES=(
  rustc-web cargo-web rust-web-src   # Rust with its std source, for -Zbuild-std
  lld-19 clang-19 llvm-19            # lld-link-19, clang for the SEH shim, llvm-readobj-19
  gcc-mingw-w64-x86-64 mingw-w64-x86-64-dev  # DDK headers, libntoskrnl.a, client linker
  wine wine64                        # Wine 8.0: ntoskrnl + winedevice + sc
)

check_only=0
case "${1:-}" in
  --check) check_only=1 ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${PACKAGES[@]}"; do
  # `dpkg -s` also succeeds for removed-but-configured packages: ask for the status.
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "setup: missing: ${missing[*]}"
if ((check_only)); then
  exit 1
fi

if [[ $(id -u) -ne 0 ]]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q "${missing[@]}"
echo "setup: installed ${missing[*]}"
