#!/usr/bin/env bash
# Quick start 2: the whole test suite. Installs what is missing (Debian
# packages for the cross build and Wine), then: rustfmt, docs and clippy with warnings
# denied, a type-check of the `wdk` provider against a stand-in of wdk-sys,
# every host test (unit, integration, doc examples, the ddk bindings' layout
# assertions), the host tests again under AddressSanitizer (scripts/asan.sh)
# and the end-to-end tests that build the real .sys, check its PE
# image and run it under Wine. Those are required here: a missing tool fails
# the run.
#
#   bash scripts/test.sh
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
root=$(cd "$here/.." && pwd)
bash "$here/setup.sh"
cd "$root"
export WDM_MEM_REQUIRE_E2E=1
cargo fmt --all --check
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
cargo clippy --workspace --all-targets --quiet -- -D warnings
bash "$here/check-wdk-provider.sh"
cargo test --all-targets
cargo test --doc
cargo test -p wdm-mem-client
bash "$here/asan.sh"
