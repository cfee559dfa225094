# shellcheck shell=bash
# The one implementation of "cross-build this driver crate's .sys" (and of its
# user-mode client), shared by scripts/driver-build.sh (any driver crate: the
# sample through scripts/build-driver.sh, generated drivers through their
# `cargo xtask build`) and scripts/bench.sh (the bench driver). Meant to be
# `source`d after scripts/env.sh; defines functions only.
#
#   cross_build_sys PACKAGE SYS MAP [MANIFEST] [FEATURES]
#     builds the cdylib PACKAGE of the workspace of MANIFEST (default, or
#     empty: this repository's), with the cargo FEATURES if given, for
#     $DRIVER_TARGET (release, -Zbuild-std, lld-link with a map file written
#     to MAP) into $CROSS_TARGET_DIR and installs it as SYS (copied only when
#     it changed). The cdylib's name is PACKAGE with `_`.
#   cross_build_client PACKAGE EXE [MANIFEST]
#     builds the std binary PACKAGE for $CLIENT_TARGET (-Zbuild-std, mingw
#     gcc as linker), installs it as EXE and puts bcryptprimitives.dll (the
#     ProcessPrng shim Rust's std needs under Wine 8) beside it.
#   install_if_changed FROM TO
#   seconds; elapsed T0

# Copies $1 to $2 unless they are already identical (keeps mtimes stable).
install_if_changed() {
  if ! cmp -s "$1" "$2"; then
    cp -f "$1" "$2.tmp" && mv -f "$2.tmp" "$2"
    echo "build: updated ${2#"$ROOT"/}"
  fi
}

seconds() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(seconds)" 'BEGIN { printf "%.1f s", b - a }'; }

# Debian's toolchain, nightly features (-Zbuild-std) on a stable compiler.
# Flags from the caller's environment would override the per-target ones (and
# change cargo's fingerprints): drop them. A workspace wrapper (clippy-driver
# from rustup) does not fit Debian's rustc.
cross_cargo_env() {
  unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_BUILD_TARGET RUSTC_WORKSPACE_WRAPPER
  CROSS_CARGO_ENV=(
    env
    RUSTC="$DEB_RUSTC"
    RUSTC_BOOTSTRAP=1
    CARGO_TARGET_DIR="$CROSS_TARGET_DIR"
  )
}

cross_build_sys() {
  local package=$1 sys=$2 map=$3 manifest=${4:-$ROOT/Cargo.toml} features=${5:-} t0 built
  t0=$(seconds)
  cross_cargo_env
  mkdir -p "$(dirname "$sys")" "$(dirname "$map")"
  # The driver crate's build.rs gives /DRIVER /SUBSYSTEM:NATIVE
  # /ENTRY:DriverEntry /NODEFAULTLIB (cargo:rustc-cdylib-link-arg); wdm-mem's
  # build.rs gives the search path of ntoskrnl.lib/hal.lib. The map file is
  # for tests/pe_image.rs and the bench's disassembly; `cargo rustc` gives it
  # to the driver crate alone, so the units of core, alloc and wdm-mem keep
  # the same fingerprints for every driver and a shared target dir
  # (WDM_MEM_CROSS_TARGET_DIR) reuses them. (The RUSTFLAGS apply to the msvc
  # target only, so build scripts are unaffected.)
  "${CROSS_CARGO_ENV[@]}" \
    CARGO_TARGET_X86_64_PC_WINDOWS_MSVC_LINKER="$LLD_LINK" \
    CARGO_TARGET_X86_64_PC_WINDOWS_MSVC_RUSTFLAGS="-C target-feature=+crt-static" \
    "$DEB_CARGO" rustc --release --manifest-path "$manifest" \
      -p "$package" --lib ${features:+--features "$features"} \
      -Zbuild-std=core,alloc,compiler_builtins -Zbuild-std-features=compiler-builtins-mem \
      --target "$DRIVER_TARGET" \
      -- -C "link-arg=/MAP:$map"
  built=$CROSS_TARGET_DIR/$DRIVER_TARGET/release/${package//-/_}.dll
  [[ -f $built ]] || { echo "build: cargo did not produce $built" >&2; return 1; }
  install_if_changed "$built" "$sys"
  # (lld-link writes $map itself, each time it links.)
  echo "build: driver ${sys#"$ROOT"/} ($(stat -c %s "$sys") bytes) in $(elapsed "$t0")"
}

cross_build_client() {
  local package=$1 exe=$2 manifest=${3:-$ROOT/Cargo.toml} t0 shim_src shim_dll
  t0=$(seconds)
  cross_cargo_env
  mkdir -p "$(dirname "$exe")"
  "${CROSS_CARGO_ENV[@]}" \
    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER="$MINGW_GCC" \
    "$DEB_CARGO" build --release --manifest-path "$manifest" \
      -p "$package" \
      -Zbuild-std=std,panic_abort \
      --target "$CLIENT_TARGET"
  install_if_changed "$CROSS_TARGET_DIR/$CLIENT_TARGET/release/$package.exe" "$exe"

  # Rust's std imports ProcessPrng from bcryptprimitives.dll, absent from Wine 8.
  shim_src=$ROOT/scripts/prng-shim
  shim_dll=$(dirname "$exe")/bcryptprimitives.dll
  if [[ ! -f $shim_dll || $shim_src/bcryptprimitives.c -nt $shim_dll || $shim_src/bcryptprimitives.def -nt $shim_dll ]]; then
    "$MINGW_GCC" -shared -O2 -s -Wall -Wextra -o "$shim_dll.tmp" \
      "$shim_src/bcryptprimitives.c" "$shim_src/bcryptprimitives.def" -ladvapi32
    mv -f "$shim_dll.tmp" "$shim_dll"
    echo "build: updated ${shim_dll#"$ROOT"/}"
  fi
  echo "build: client ${exe#"$ROOT"/} in $(elapsed "$t0")"
}
