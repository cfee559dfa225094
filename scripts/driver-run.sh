#!/usr/bin/env bash
# Installs and starts ANY .sys under Wine in a private prefix, headless, and
# takes it down again, in one go:
#
#   private prefix (created once, then reused)
#   -> the .sys copied to C:\wdmmem\ -> sc create / sc start (RUNNING)
#   -> the client, if any (its output is printed; must exit 0)
#   -> sc stop (STOPPED: DriverUnload ran) -> sc delete -> wineserver -k
#
# One persistent wineserver (`wineserver -p`) holds the session: Wine stops
# the driver host about a second after the last Wine process exits, so a
# driver started by a lone `sc start` would vanish without DriverUnload.
# Wine's `sc` prints CRLF lines: they are stripped before matching. The
# driver's DbgPrint output (WINEDEBUG=warn+debugstr, on the wine processes'
# stderr) goes to the log and is printed at the end; with --expect, the run
# fails unless that line was printed (e.g. DriverUnload's report).
# Used by the sample (scripts/wine-e2e.sh) and by drivers made with
# scripts/new-driver.sh (`cargo xtask run`); runs from any directory.
#
#   scripts/driver-run.sh SYS [--service NAME] [--client EXE] [--expect LINE]
#                         [--prefix DIR] [--log FILE] [--name WORD] [--fresh]
#                         [-- CLIENT-ARGS...]
#     NAME   the service (default: SYS's file name without .sys)
#     EXE    a Windows program started while the driver runs (with
#            bcryptprimitives.dll beside it for a Rust client)
#     DIR    the Wine prefix (default: <SYS's folder>/../wine-prefix)
#     FILE   the debug log (default: <SYS's folder>/../<WORD>.log)
#     WORD   the name in messages and default file names (default: driver-run)
#     --fresh  recreate the prefix first
#
# A wineserver started here is always killed on exit, whatever happens.
# Serialised by a lock on <the prefix>.lock (unless WDM_MEM_E2E_LOCKED is set
# by a caller that holds its own). Exit status: 0 all good, 1 a step failed
# (the log tail is printed), 2 usage, 3 a prerequisite is missing.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
source "$here/env.sh"

usage() { echo "usage: $0 SYS [--service NAME] [--client EXE] [--expect LINE] [--prefix DIR] [--log FILE] [--name WORD] [--fresh] [-- ARGS...]" >&2; exit 2; }
(($#)) || usage
sys=$(realpath "$1")
shift
service="" client="" expect="" prefix="" log="" name=driver-run fresh=0 client_args=()
while (($#)); do
  case $1 in
    --service) service=${2:?}; shift 2 ;;
    --client) client=$(realpath "${2:?}"); shift 2 ;;
    --expect) expect=${2?}; shift 2 ;;
    --prefix) prefix=${2:?}; shift 2 ;;
    --log) log=${2:?}; shift 2 ;;
    --name) name=${2:?}; shift 2 ;;
    --fresh) fresh=1; shift ;;
    --) shift; client_args=("$@"); break ;;
    *) usage ;;
  esac
done
sys_dir=$(dirname "$sys")
SYS_NAME=$(basename "$sys")
service=${service:-${SYS_NAME%.sys}}
WINE_PREFIX_DIR=$(realpath -m "${prefix:-$sys_dir/../wine-prefix}")
WINE_DRIVER_UNIX_DIR=$WINE_PREFIX_DIR/drive_c/wdmmem
LOG=$(realpath -m "${log:-$sys_dir/../$name.log}")
CLIENT_OUT=${LOG%.log}.client.txt
STEP_OUT=${LOG%.log}.step.txt
# Each wine command gets at most this many seconds.
STEP_TIMEOUT=${WDM_MEM_WINE_TIMEOUT:-120}
source "$here/wine-lib.sh"

missing=()
for tool in "$WINE" "$WINESERVER" flock timeout; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  printf '%s: missing prerequisite: %s\n' "$name" "${missing[@]}" >&2
  echo "$name: run scripts/setup.sh of wdm-mem (as root) first" >&2
  exit 3
fi
for file in "$sys" ${client:+"$client"}; do
  [[ -f $file ]] || { echo "$name: $file is missing: build it first" >&2; exit 1; }
done

mkdir -p "$(dirname "$LOG")" "$(dirname "$WINE_PREFIX_DIR")"
if [[ -z ${WDM_MEM_E2E_LOCKED:-} ]]; then
  exec 9>"$WINE_PREFIX_DIR.lock"
  flock -w 1800 9 || { echo "$name: timed out waiting for $WINE_PREFIX_DIR.lock" >&2; exit 1; }
  export WDM_MEM_E2E_LOCKED=1
fi

seconds() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(seconds)" 'BEGIN { printf "%.1f s", b - a }'; }
T_START=$(seconds)
say() { echo "$name: $*"; }

wine_session "$name" "$service"

fail() { echo "$name: $*" >&2; exit 1; }

: >"$LOG"
: >"$CLIENT_OUT"

# Any leftover server of this prefix (an earlier run that was killed hard).
stop_server

# 1. The prefix.
ensure_prefix "$fresh"

# 2. A persistent server for the whole session, then the driver into the prefix.
server_started=1
server -p
mkdir -p "$WINE_DRIVER_UNIX_DIR"
cp -f "$sys" "$WINE_DRIVER_UNIX_DIR/$SYS_NAME"
bin_path="$WINE_DRIVER_DOS_DIR\\$SYS_NAME"
t_cycle=$(seconds)

remove_stale_service "$service"

say "sc create $service binPath= $bin_path"
wine_run sc create "$service" type= kernel start= demand binPath= "$bin_path" \
  || fail "sc create failed"
service_created=1

say "sc start $service"
service_started=1
wine_run sc start "$service" || fail "sc start failed (DriverEntry failed or the image did not load)"
wait_state "$service" RUNNING || fail "$service is not RUNNING"
say "$service is RUNNING"

# 3. The client.
client_rc=0
if [[ -n $client ]]; then
  say "running $(basename "$client") ${client_args[*]}"
  wine "$client" "${client_args[@]}" >"$CLIENT_OUT" 2>>"$LOG" || client_rc=$?
  sed -i 's/\r$//' "$CLIENT_OUT"
  cat "$CLIENT_OUT"
fi

# 4. Stop: runs DriverUnload.
say "sc stop $service"
wine_run sc stop "$service" || fail "sc stop failed"
wait_state "$service" STOPPED || fail "$service did not stop"
service_started=0
say "$service is STOPPED"

say "sc delete $service"
wine_run sc delete "$service" || fail "sc delete failed"
service_created=0

# 5. Shut the server down (flushes the registry and all output to the log).
stop_server
server_started=0
say "cycle (create..delete) in $(elapsed "$t_cycle"), total $(elapsed "$T_START")"

echo "$name: driver debug output:"
grep -a 'debugstr' "$LOG" | sed 's/\r$//; s/^/    /' || true

((client_rc == 0)) || fail "the client failed (exit $client_rc)"
if [[ -n $expect ]]; then
  grep -aqF -- "$expect" "$LOG" || fail "the driver did not print \"$expect\""
  say "DriverUnload reported: $expect"
fi
say "PASS"
