#!/usr/bin/env bash
# The whole Wine cycle of the sample driver, headless, in one go:
#
#   private prefix (target/wine-prefix, created once, then reused)
#   -> copy target/sample/wdm_mem_sample.sys to C:\wdmmem\
#   -> sc create / sc start (RUNNING)
#   -> target/sample/wdm-mem-client.exe (its output is printed; must pass)
#   -> sc stop (STOPPED) -> DriverUnload's clean message in the debug log
#   -> sc delete -> wineserver -k
#
# Build first with scripts/build-driver.sh. The DbgPrint output of the driver
# (WINEDEBUG=warn+debugstr, on the stderr of the wine processes) goes to
# target/wine-e2e.log; the client's output also to target/wine-e2e.client.txt.
# A wineserver started here is always killed on exit, whatever happens.
#
# Exit status: 0 all good, 1 a step failed (the log tail is printed),
# 3 a prerequisite is missing (run scripts/setup.sh).
#
#   scripts/wine-e2e.sh [--fresh]     --fresh: recreate the prefix first
#   env WDM_MEM_CLIENT_ARGS="--json"  extra arguments for the client
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$(dirname "${BASH_SOURCE[0]}")/wine-lib.sh"

fresh=0
case "${1:-}" in
  --fresh) fresh=1 ;;
  "") ;;
  *) echo "usage: $0 [--fresh]" >&2; exit 2 ;;
esac

LOG=$ROOT/target/wine-e2e.log
CLIENT_OUT=$ROOT/target/wine-e2e.client.txt
STEP_OUT=$ROOT/target/wine-e2e.step.txt
SYS_NAME=$(basename "$DRIVER_SYS")
# Each wine command gets at most this many seconds.
STEP_TIMEOUT=${WDM_MEM_WINE_TIMEOUT:-120}

missing=()
for tool in "$WINE" "$WINESERVER" flock timeout; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  printf 'wine-e2e: missing prerequisite: %s\n' "${missing[@]}" >&2
  echo "wine-e2e: run scripts/setup.sh (as root) first" >&2
  exit 3
fi
for file in "$DRIVER_SYS" "$CLIENT_EXE" "$SHIM_DLL"; do
  if [[ ! -f $file ]]; then
    echo "wine-e2e: $file is missing: run scripts/build-driver.sh first" >&2
    exit 1
  fi
done
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

seconds() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(seconds)" 'BEGIN { printf "%.1f s", b - a }'; }
T_START=$(seconds)
say() { echo "wine-e2e: $*"; }

server_started=0
service_created=0
service_started=0

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if ((server_started)); then
    STEP_TIMEOUT=30
    if ((service_started)); then
      wine sc stop "$WINE_SERVICE" >/dev/null 2>>"$LOG" || true
    fi
    if ((service_created)); then
      wine sc delete "$WINE_SERVICE" >/dev/null 2>>"$LOG" || true
    fi
    # Kills only the wineserver of our private prefix (and its processes).
    stop_server
  fi
  if ((rc != 0)); then
    echo "wine-e2e: FAILED (exit $rc); last lines of $LOG:" >&2
    tail -n 40 "$LOG" | sed 's/^/    /' >&2 || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "wine-e2e: $*" >&2; exit 1; }

: >"$LOG"
: >"$CLIENT_OUT"

# Any leftover server of this prefix (an earlier run that was killed hard).
stop_server

# 1. The prefix.
ensure_prefix "$fresh"

# 2. The driver into the prefix.
mkdir -p "$WINE_DRIVER_UNIX_DIR"
cp -f "$DRIVER_SYS" "$WINE_DRIVER_UNIX_DIR/$SYS_NAME"
bin_path="$WINE_DRIVER_DOS_DIR\\$SYS_NAME"
server_started=1
t_cycle=$(seconds)

remove_stale_service "$WINE_SERVICE"

say "sc create $WINE_SERVICE binPath= $bin_path"
wine_run sc create "$WINE_SERVICE" type= kernel start= demand binPath= "$bin_path" \
  || fail "sc create failed"
service_created=1

say "sc start $WINE_SERVICE"
service_started=1
wine_run sc start "$WINE_SERVICE" || fail "sc start failed (DriverEntry failed or the image did not load)"
wait_state "$WINE_SERVICE" RUNNING || fail "$WINE_SERVICE is not RUNNING"
say "$WINE_SERVICE is RUNNING"

# 3. The client, with bcryptprimitives.dll next to it.
say "running $(basename "$CLIENT_EXE") ${WDM_MEM_CLIENT_ARGS:-}"
client_rc=0
# shellcheck disable=SC2086 # WDM_MEM_CLIENT_ARGS is a word list
wine "$CLIENT_EXE" ${WDM_MEM_CLIENT_ARGS:-} >"$CLIENT_OUT" 2>>"$LOG" || client_rc=$?
sed -i 's/\r$//' "$CLIENT_OUT"
cat "$CLIENT_OUT"

# 4. Stop: runs DriverUnload, which must report no outstanding allocation.
say "sc stop $WINE_SERVICE"
wine_run sc stop "$WINE_SERVICE" || fail "sc stop failed"
wait_state "$WINE_SERVICE" STOPPED || fail "$WINE_SERVICE did not stop"
service_started=0
say "$WINE_SERVICE is STOPPED"

say "sc delete $WINE_SERVICE"
wine_run sc delete "$WINE_SERVICE" || fail "sc delete failed"
service_created=0

# 5. Shut the server down (flushes the registry and all output to the log).
stop_server
server_started=0
say "cycle (create..delete) in $(elapsed "$t_cycle"), total $(elapsed "$T_START")"

echo "wine-e2e: driver debug output:"
grep -a 'debugstr' "$LOG" | sed 's/\r$//; s/^/    /' || true

((client_rc == 0)) || fail "the client failed (exit $client_rc)"
grep -aqF -- "$UNLOAD_MESSAGE" "$LOG" \
  || fail "DriverUnload did not print \"$UNLOAD_MESSAGE\""
say "DriverUnload reported: $UNLOAD_MESSAGE"
say "PASS"
