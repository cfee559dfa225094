#!/usr/bin/env bash
# The whole Wine cycle of the sample driver, headless, in one go: the same
# command as any driver's (scripts/driver-run.sh), with the sample's names:
#
#   private prefix (target/wine-prefix, created once, then reused)
#   -> target/sample/wdm_mem_sample.sys into C:\wdmmem\
#   -> sc create / sc start WdmMemSample (RUNNING)
#   -> target/sample/wdm-mem-client.exe (its output is printed; must pass;
#      its last checks are the IOCTL storm and a normal request after it)
#   -> sc stop (STOPPED) -> DriverUnload's clean message in the debug log
#   -> sc delete -> wineserver -k
#
# Build first with scripts/build-driver.sh. The DbgPrint output goes to
# target/wine-e2e.log; the client's output also to target/wine-e2e.client.txt.
# Serialised with the other e2e scripts by a lock on target/e2e.lock.
#
# Exit status: 0 all good, 1 a step failed (the log tail is printed),
# 3 a prerequisite is missing (run scripts/setup.sh).
#
#   scripts/wine-e2e.sh [--fresh]     --fresh: recreate the prefix first
#   env WDM_MEM_CLIENT_ARGS="--json"  extra arguments for the client
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
source "$here/env.sh"

fresh=()
case "${1:-}" in
  --fresh) fresh=(--fresh) ;;
  "") ;;
  *) echo "usage: $0 [--fresh]" >&2; exit 2 ;;
esac
# The line DriverUnload prints, taken from the protocol itself.
UNLOAD_MESSAGE=$(sed -n 's/^pub const UNLOAD_CLEAN_MESSAGE: &str = "\(.*\)";$/\1/p' \
  "$ROOT/examples/sample-driver/src/protocol.rs")
if [[ -z $UNLOAD_MESSAGE ]]; then
  echo "wine-e2e: cannot read UNLOAD_CLEAN_MESSAGE from examples/sample-driver/src/protocol.rs" >&2
  exit 1
fi
mkdir -p "$ROOT/target"
if [[ -z ${WDM_MEM_E2E_LOCKED:-} ]]; then
  exec 9>"$E2E_LOCK"
  flock -w 1800 9 || { echo "wine-e2e: timed out waiting for $E2E_LOCK" >&2; exit 1; }
  export WDM_MEM_E2E_LOCKED=1
fi
# shellcheck disable=SC2086 # WDM_MEM_CLIENT_ARGS is a word list
exec bash "$here/driver-run.sh" "$DRIVER_SYS" --service "$WINE_SERVICE" --client "$CLIENT_EXE" \
  --expect "$UNLOAD_MESSAGE" --prefix "$WINE_PREFIX_DIR" --log "$ROOT/target/wine-e2e.log" --name wine-e2e \
  "${fresh[@]}" -- ${WDM_MEM_CLIENT_ARGS:-}
