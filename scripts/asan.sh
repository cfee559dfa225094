#!/usr/bin/env bash
# The host test suite (the crate's unit tests and its integration tests
# against the kernel model) under AddressSanitizer, with the
# rustup nightly toolchain (its prebuilt sanitizer runtime; the standard
# library itself is not instrumented). Its own target directory (target/asan).
# Not here: the tests that cross-build the real .sys and run it (pe_image,
# wine_e2e, new_driver, seh_shim): they exercise Windows images, not host
# memory. Nor the doc tests: their compile-fail cases check the stable
# compiler's error codes, which the nightly's differ from (`--doc` runs them).
#
#   bash scripts/asan.sh            the whole host suite
#   bash scripts/asan.sh --test section   one integration test (cargo test arguments)
#
# ASAN_OPTIONS: handle_segv=0 and allow_user_segv_handler=1 leave SIGSEGV and
# SIGBUS to the model and to the tests whose forked child must die of the
# fault (ASan would turn the signal into a report and exit 1);
# detect_leaks=0: the model's mmap'd pages and deliberately leaked kernel
# objects (the verifier reports those itself) are not heap leaks;
# detect_stack_use_after_return=0: ASan's fake stack would move a test's stack
# buffers off the thread's stack, where the model looks for them (0xC4/0x7F).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
toolchain=${WDM_MEM_ASAN_TOOLCHAIN:-nightly}
if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
  echo "asan: installing the rustup toolchain '$toolchain'" >&2
  rustup toolchain install "$toolchain" --profile minimal
fi
export RUSTFLAGS="-Zsanitizer=address ${RUSTFLAGS:-}"
export RUSTDOCFLAGS="-Zsanitizer=address ${RUSTDOCFLAGS:-}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-handle_segv=0:allow_user_segv_handler=1:detect_leaks=0:detect_stack_use_after_return=0}
# --target: build scripts and proc macros are not instrumented.
run=(cargo "+$toolchain" test --no-fail-fast --target x86_64-unknown-linux-gnu --target-dir target/asan)
if (($# > 0)); then
  exec "${run[@]}" "$@"
fi
tests=()
for file in tests/*.rs; do
  name=$(basename "$file" .rs)
  case $name in
    pe_image | wine_e2e | new_driver | seh_shim) ;;
    *) tests+=(--test "$name") ;;
  esac
done
exec "${run[@]}" --lib "${tests[@]}"
