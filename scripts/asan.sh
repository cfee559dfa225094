#!/usr/bin/env bash
# The host test suite (unit and integration tests of the crate, against the
# kernel model) under AddressSanitizer, with Debian's Rust (1.96, nightly
# features unlocked with RUSTC_BOOTSTRAP=1) and its standard library rebuilt
# instrumented (-Zbuild-std). Its own target directory (target/asan).
#
#   bash scripts/asan.sh [cargo test arguments, e.g. --test section]
#
# ASAN_OPTIONS: handle_segv=0 and allow_user_segv_handler=1 leave SIGSEGV and
# SIGBUS to the model and to the tests whose forked child must die of the
# fault (ASan would turn the signal into a report and exit 1);
# detect_leaks=0: the model's mmap'd pages and deliberately leaked kernel
# objects (the verifier reports those itself) are not heap leaks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-Zsanitizer=address ${RUSTFLAGS:-}"
export RUSTDOCFLAGS="-Zsanitizer=address"
export ASAN_OPTIONS=${ASAN_OPTIONS:-handle_segv=0:allow_user_segv_handler=1:detect_leaks=0:abort_on_error=0}
exec /usr/bin/cargo test -Zbuild-std --target x86_64-unknown-linux-gnu --target-dir target/asan \
  --lib --tests "$@"
