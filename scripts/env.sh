# shellcheck shell=bash
# Common settings for the cross build and the Wine end-to-end scripts.
# Meant to be `source`d (by scripts/*.sh); it only defines shell variables,
# it exports nothing.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian's Rust (rustc-web / cargo-web / rust-web-src): the only toolchain here
# with the standard-library source needed by -Zbuild-std. rustup's proxies come
# first on PATH, so always name these two by their full path.
DEB_RUSTC=/usr/bin/rustc
DEB_CARGO=/usr/bin/cargo

# Separate target dir for the Windows cross builds: never shared with the host
# `cargo test`, so the two never wait on each other's build lock.
CROSS_TARGET_DIR=$ROOT/target/cross
# Where the artefacts of the sample (driver, client, shim DLL) are collected.
SAMPLE_OUT_DIR=$ROOT/target/sample

DRIVER_TARGET=x86_64-pc-windows-msvc
CLIENT_TARGET=x86_64-pc-windows-gnu
DRIVER_PACKAGE=wdm-mem-sample
CLIENT_PACKAGE=wdm-mem-client
DRIVER_SYS=$SAMPLE_OUT_DIR/wdm_mem_sample.sys
DRIVER_MAP=$SAMPLE_OUT_DIR/wdm_mem_sample.map
CLIENT_EXE=$SAMPLE_OUT_DIR/wdm-mem-client.exe
SHIM_DLL=$SAMPLE_OUT_DIR/bcryptprimitives.dll

LLD_LINK=lld-link-19
MINGW_GCC=x86_64-w64-mingw32-gcc

# Wine 8 (Debian's wine64): call the loader directly.
WINE=/usr/lib/wine/wine64
WINESERVER=/usr/lib/wine/wineserver64
WINE_PREFIX_DIR=$ROOT/target/wine-prefix
WINE_SERVICE=WdmMemSample
# Where the .sys goes inside the prefix (DOS path and its Unix counterpart).
WINE_DRIVER_DOS_DIR='C:\wdmmem'
WINE_DRIVER_UNIX_DIR=$WINE_PREFIX_DIR/drive_c/wdmmem

# Lock serialising the scripts when test binaries run them in parallel.
E2E_LOCK=$ROOT/target/e2e.lock

# The benchmark driver (benches/driver, scripts/bench.sh).
BENCH_PACKAGE=wdm-mem-bench
BENCH_OUT_DIR=$ROOT/target/bench
BENCH_SYS=$BENCH_OUT_DIR/wdm_mem_bench.sys
BENCH_MAP=$BENCH_OUT_DIR/wdm_mem_bench.map
BENCH_SERVICE=WdmMemBench
