# shellcheck shell=bash
# The Wine session helpers shared by scripts/driver-run.sh (any driver, the
# sample through scripts/wine-e2e.sh) and scripts/bench.sh (the bench
# driver): the private prefix, the wine and wineserver wrappers, the
# session's exit trap, service-state polling. Meant to be `source`d after
# scripts/env.sh; defines functions and exports the Wine environment only.
#
# The caller sets LOG (the debug log: stderr of every wine process, hence the
# drivers' DbgPrint lines), STEP_OUT (a scratch file) and STEP_TIMEOUT
# (seconds per wine command), and defines say/fail/elapsed; server_started
# is set to 1 once a wine process may have started a server.

export WINEPREFIX=$WINE_PREFIX_DIR
export WINEARCH=win64
export WINEDEBUG=${WDM_MEM_WINEDEBUG:-warn+debugstr}
# No Mono/Gecko installers (they would want a display and the network).
export WINEDLLOVERRIDES="mscoree,mshtml="
# Headless: sc, wineboot and a console client need no display.
unset DISPLAY WAYLAND_DISPLAY

PREFIX_READY=$WINE_PREFIX_DIR/.wdm-mem-prefix-ready

# Every wine process runs through these two, without the lock's fd 9: the
# wineserver and services they start outlive them and would hold the lock.
# Their output always goes to files, never to a pipe or $(...): the services
# inherit stdout/stderr and would keep such a pipe open until the server dies.
wine() { timeout "$STEP_TIMEOUT" "$WINE" "$@" 9>&-; }
server() { "$WINESERVER" "$@" 9>&- >>"$LOG" 2>&1; }
stop_server() {
  server -k || true
  timeout 30 "$WINESERVER" -w 9>&- >>"$LOG" 2>&1 || true
}

# The exit trap of a Wine session, for a script driving the service named
# $1 (`name` in its messages): `wine_session NAME SERVICE` installs it. At
# exit the service is stopped and deleted if this script started or created
# it (service_started, service_created), the private server is stopped
# (kills only the wineserver of this prefix and its processes), and on
# failure the last lines of $LOG are printed.
wine_session() {
  SESSION_NAME=$1 SESSION_SERVICE=$2
  server_started=0 service_created=0 service_started=0
  trap wine_session_end EXIT
  trap 'exit 130' INT TERM
}
wine_session_end() {
  local rc=$?
  trap - EXIT INT TERM
  if ((server_started)); then
    STEP_TIMEOUT=30
    if ((service_started)); then
      wine sc stop "$SESSION_SERVICE" >/dev/null 2>>"$LOG" || true
    fi
    if ((service_created)); then
      wine sc delete "$SESSION_SERVICE" >/dev/null 2>>"$LOG" || true
    fi
    stop_server
  fi
  if ((rc != 0)); then
    echo "$SESSION_NAME: FAILED (exit $rc); last lines of $LOG:" >&2
    tail -n 40 "$LOG" | sed 's/^/    /' >&2 || true
  fi
  exit "$rc"
}

# Runs a wine program; its stdout goes to $STEP_OUT (and is echoed), its stderr
# to the log.
wine_run() {
  local rc=0
  wine "$@" >"$STEP_OUT" 2>>"$LOG" || rc=$?
  sed 's/\r$//; s/^/    | /' "$STEP_OUT"
  return "$rc"
}

# Polls `sc query $1` until the service is in state $2 (RUNNING, STOPPED).
wait_state() {
  local service=$1 want=$2 i
  for ((i = 0; i < 40; i++)); do
    if wine sc query "$service" >"$STEP_OUT" 2>>"$LOG" \
      && sed 's/\r$//' "$STEP_OUT" | grep -q "STATE.*$want"; then
      return 0
    fi
    sleep 0.25
  done
  sed 's/\r$//; s/^/    | /' "$STEP_OUT"
  return 1
}

# The prefix: created once (wineboot -i, then wait for the server to settle,
# else `sc start` fails with 1060), then reused while it was made by the same
# Wine version. $1 = 1 recreates it.
ensure_prefix() {
  local fresh=$1 wine_version t0
  wine_version=$("$WINE" --version 2>/dev/null || echo unknown)
  if ((fresh)) || [[ ! -f $PREFIX_READY || $(cat "$PREFIX_READY") != "$wine_version" ]]; then
    t0=$(seconds)
    rm -rf "$WINE_PREFIX_DIR"
    say "creating the prefix $WINE_PREFIX_DIR"
    server_started=1
    wine_run wineboot -i || fail "wineboot -i failed"
    timeout "$STEP_TIMEOUT" "$WINESERVER" -w 9>&- >>"$LOG" 2>&1 \
      || fail "wineserver -w after wineboot timed out"
    [[ -f $WINE_PREFIX_DIR/system.reg ]] || fail "wineboot did not create the prefix"
    echo "$wine_version" >"$PREFIX_READY"
    say "prefix created in $(elapsed "$t0")"
  fi
}

# Removes a service $1 left by an earlier, interrupted run.
remove_stale_service() {
  if wine sc query "$1" >"$STEP_OUT" 2>>"$LOG"; then
    say "removing a stale $1 service"
    wine sc stop "$1" >/dev/null 2>>"$LOG" || true
    wine sc delete "$1" >/dev/null 2>>"$LOG" || true
  fi
}
