#!/usr/bin/env bash
# The benchmark of issue 10: builds the bench driver (benches/driver: the C
# reference compiled by clang-19 from benches/driver/c/reference.c, the
# crate's raw `wdm_mem::sys` path and its safe API, in one .sys), runs it
# under Wine and prints one table (ticks per operation: median of the
# repetitions, and min-max), then the instruction and lock-prefix counts of
# the lookaside hit path disassembled from the built .sys.
#
# The driver is built twice: in the configuration the README recommends for
# release builds (no runtime IRQL checks; the "safe" column, and the
# disassembly) and with the feature `irql-checks` (the "safe checked"
# column: every IRQL contract checked with a CR8 read). Both run in the same
# Wine session, one after the other.
#
# The Wine session uses the private prefix of scripts/wine-e2e.sh
# (target/wine-prefix, created on first use), a persistent wineserver
# (`wineserver -p`, else the server stops the driver host when no Wine
# process is left) killed at the end, and is pinned to one CPU
# (`taskset -c $WDM_MEM_BENCH_CPU`, default 1): unpinned, section timings
# triple. The driver measures in a system thread (DriverEntry must return
# within seconds) and prints its rows with DbgPrint; the raw lines are in
# target/bench/bench.log.
#
#   bash scripts/bench.sh            full run (15 repetitions)
#   bash scripts/bench.sh --quick    smoke run: 3 repetitions, 1/20 of the
#                                    iterations (the figures are noisier)
#   bash scripts/bench.sh --no-build run the .sys built last time
#
# Exit status: 0 the table was printed, 1 a step failed, 3 a prerequisite
# is missing (run scripts/setup.sh). A benchmark prints ratios; it does not
# fail on them.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
source "$here/env.sh"
source "$here/cross-build.sh"
# Only the drivers' DbgPrint lines: Wine's fixme lines (one per
# MmBuildMdlForNonPagedPool call, for one) would be timed too.
WDM_MEM_WINEDEBUG=${WDM_MEM_WINEDEBUG:--all,warn+debugstr}
source "$here/wine-lib.sh"

reps=15
scale=1
build=1
for arg in "$@"; do
  case "$arg" in
    --quick) reps=3 scale=20 ;;
    --no-build) build=0 ;;
    *) echo "usage: $0 [--quick] [--no-build]" >&2; exit 2 ;;
  esac
done
CPU=${WDM_MEM_BENCH_CPU:-1}

LOG=$BENCH_OUT_DIR/bench.log
CHECKED_SYS=${BENCH_SYS%.sys}_checked.sys
STEP_OUT=$BENCH_OUT_DIR/bench.step.txt
STEP_TIMEOUT=${WDM_MEM_WINE_TIMEOUT:-120}
# How long the driver's thread may measure.
RUN_TIMEOUT=${WDM_MEM_BENCH_TIMEOUT:-600}
SYS_NAME=$(basename "$BENCH_SYS")
OBJDUMP=llvm-objdump-19

say() { echo "bench: $*"; }
fail() { echo "bench: $*" >&2; exit 1; }

missing=()
for tool in "$WINE" "$WINESERVER" flock timeout taskset "$OBJDUMP" awk; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((build)); then
  for tool in "$DEB_RUSTC" "$DEB_CARGO" "$LLD_LINK" clang-19; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
fi
if ((${#missing[@]})); then
  printf 'bench: missing prerequisite: %s\n' "${missing[@]}" >&2
  echo "bench: run scripts/setup.sh (as root) first" >&2
  exit 3
fi

mkdir -p "$ROOT/target" "$BENCH_OUT_DIR"
if [[ -z ${WDM_MEM_E2E_LOCKED:-} ]]; then
  exec 9>"$E2E_LOCK"
  flock -w 1800 9 || fail "timed out waiting for $E2E_LOCK"
  export WDM_MEM_E2E_LOCKED=1
fi

if ((build)); then
  # The checked build first, the default one last: the map file (one path,
  # so that both builds have the same flags) is then the default build's.
  # Removing the linked image makes cargo link again, and lld-link write
  # the map, even when nothing changed.
  built_dll=$CROSS_TARGET_DIR/$DRIVER_TARGET/release/${BENCH_PACKAGE//-/_}.dll
  rm -f "$built_dll"
  cross_build_sys "$BENCH_PACKAGE" "$CHECKED_SYS" "$BENCH_MAP" "" irql-checks \
    || fail "the bench driver (irql-checks) did not build"
  rm -f "$built_dll"
  cross_build_sys "$BENCH_PACKAGE" "$BENCH_SYS" "$BENCH_MAP" || fail "the bench driver did not build"
fi
[[ -f $BENCH_SYS && -f $CHECKED_SYS && -f $BENCH_MAP ]] || fail "$BENCH_SYS is missing: run without --no-build"

wine_session bench "$BENCH_SERVICE"

: >"$LOG"
# From here on, this shell and every process it starts run on one CPU.
taskset -cp "$CPU" $$ >/dev/null || fail "taskset -cp $CPU failed"

stop_server
ensure_prefix 0
mkdir -p "$WINE_DRIVER_UNIX_DIR"
server_started=1
server -p || fail "wineserver -p failed"

# measure SYS OUT: runs the bench driver SYS as the service and appends its
# lines (from $LOG, Wine's debug output) to OUT.
measure() {
  local sys=$1 out=$2 from t0 i
  from=$(($(wc -l <"$LOG") + 1))
  cp -f "$sys" "$WINE_DRIVER_UNIX_DIR/$SYS_NAME"
  remove_stale_service "$BENCH_SERVICE"
  wine_run sc create "$BENCH_SERVICE" type= kernel start= demand binPath= "$WINE_DRIVER_DOS_DIR\\$SYS_NAME" \
    || fail "sc create failed"
  service_created=1
  key="HKLM\\System\\CurrentControlSet\\Services\\$BENCH_SERVICE"
  wine_run reg add "$key" /v Repetitions /t REG_DWORD /d "$reps" /f >/dev/null || fail "reg add failed"
  wine_run reg add "$key" /v Scale /t REG_DWORD /d "$scale" /f >/dev/null || fail "reg add failed"

  t0=$(seconds)
  say "sc start $BENCH_SERVICE: ${sys#"$ROOT"/} (repetitions $reps, iterations / $scale, CPU $CPU)"
  service_started=1
  wine_run sc start "$BENCH_SERVICE" >/dev/null || fail "sc start failed (DriverEntry failed or the image did not load)"
  for ((i = 0; ; i++)); do
    tail -n "+$from" "$LOG" | grep -aq 'wdm-mem-bench: done' && break
    ((i < RUN_TIMEOUT * 4)) || fail "no 'done' line after $RUN_TIMEOUT s"
    tail -n "+$from" "$LOG" | grep -aq 'wdm-mem-bench: begin' || ((i < 120)) || fail "the bench thread did not start"
    sleep 0.25
  done
  say "measured in $(elapsed "$t0")"
  wine_run sc stop "$BENCH_SERVICE" >/dev/null || fail "sc stop failed"
  wait_state "$BENCH_SERVICE" STOPPED >/dev/null || fail "$BENCH_SERVICE did not stop"
  service_started=0
  wine_run sc delete "$BENCH_SERVICE" >/dev/null || fail "sc delete failed"
  service_created=0
  tail -n "+$from" "$LOG" | grep -a 'wdm-mem-bench: ' >"$out"
}
measure "$BENCH_SYS" "$BENCH_OUT_DIR/rows.txt"
measure "$CHECKED_SYS" "$BENCH_OUT_DIR/rows-checked.txt"
stop_server
server_started=0

# --- the lookaside hit path, disassembled ---
# A function's extent: from its address in the map to the next public
# symbol, minus the padding (int3, nop) after its last instruction.
disassemble() {
  local name=$1 start stop
  start=$(awk -v n="$name" '$2 == n { print $3; exit }' "$BENCH_MAP")
  [[ -n $start ]] || { echo "bench: $name is not in $BENCH_MAP" >&2; return 1; }
  stop=$(awk -v s="$start" '$1 ~ /^000[0-9]:/ && $3 ~ /^[0-9a-f]+$/ && length($3) == 16 { print $3 }' "$BENCH_MAP" \
    | sort -u | awk -v s="$start" '($1 "") > (s "") { print; exit }')
  "$OBJDUMP" -d --no-show-raw-insn --start-address="0x$start" --stop-address="0x$stop" "$BENCH_SYS" \
    | awk '/^ *[0-9a-f]+:[ \t]/ { sub(/^ *[0-9a-f]+:[ \t]+/, ""); print }' \
    | awk '{ lines[NR] = $0 } END { n = NR; while (n > 0 && lines[n] ~ /^(int3|nop)/) n--; for (i = 1; i <= n; i++) print lines[i] }'
}
counts() {
  awk '
    /^lock/ { locks++; next }
    { instructions++ }
    /%cr8/ { cr8++ }
    /^call/ { calls++ }
    END { printf "%d instructions, %d lock-prefixed, %d CR8 reads, %d calls", instructions, locks, cr8, calls }'
}
# --- the report: the table, then the disassembly counts (also kept in
# target/bench/report.md) ---
{
begin=$(grep -a 'wdm-mem-bench: begin' "$BENCH_OUT_DIR/rows.txt" | head -n 1 | sed 's/.*wdm-mem-bench: begin //; s/\r$//')
echo
echo "wdm-mem bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $("$WINE" --version), pinned to CPU $CPU; $begin"
echo "ticks (rdtsc) per operation, loop and indirect call included: median of the repetitions; min-max of C / raw / safe"
echo "safe: the release configuration (no runtime IRQL checks); safe checked: the same with the feature irql-checks (second run)"
echo
rows() { grep -a 'wdm-mem-bench: row|' "$1" | sed 's/.*wdm-mem-bench: row|//; s/\r$//'; }
rows "$BENCH_OUT_DIR/rows-checked.txt" | awk -F'|' '{ print "checked|" $0 }' \
  | cat - <(rows "$BENCH_OUT_DIR/rows.txt") | awk -F'|' '
  function median(cell) { return cell ~ /^[0-9]/ ? substr(cell, 1, index(cell, ",") - 1) : "" }
  function show(cell,   m) {
    m = median(cell)
    if (m != "") return m
    sub(/^n\/a:/, "n/a (", cell) && cell = cell ")"
    return cell
  }
  function range(cell,   parts) {
    if (cell !~ /^[0-9]/) return "-"
    split(cell, parts, ",")
    return parts[2] "-" parts[3]
  }
  function ratio(a, b) { return (a != "" && b != "" && a > 0) ? sprintf("%.2f", b / a) : "n/a" }
  BEGIN {
    print "| operation | C (wdm.h) | crate sys raw | crate safe API | safe/C | raw/C | safe checked | checked/C | min-max C / raw / safe / checked |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|---|"
  }
  $1 == "checked" { checked[$2] = $5; next }
  {
    c = checked[$1]
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s / %s |\n", $1, show($2), show($3), show($4),
      ratio(median($2), median($4)), ratio(median($2), median($3)), show(c), ratio(median($2), median(c)),
      range($2), range($3), range($4), range(c)
  }'

echo
echo "Non-paged lookaside allocate+write+free, whole function (hit and miss paths), from ${BENCH_SYS#"$ROOT"/}:"
for fn in bench_c_lookaside_np bench_raw_lookaside_np bench_safe_lookaside_np; do
  code=$(disassemble "$fn") || fail "cannot disassemble $fn"
  printf '  %-26s %s\n' "$fn" "$(counts <<<"$code")"
  # Each lock-prefixed instruction and CR8 read, with its operands.
  awk '/^lock/ { getline next_line; sub(/[ \t]*#.*/, "", next_line); print "      lock " next_line; next }
       /%cr8/ { print "      " $0 }' <<<"$code"
  printf '%s\n' "$code" >"$BENCH_OUT_DIR/$fn.s"
done
echo "  (listings: target/bench/<function>.s; the kernel's ExpInterlocked*EntrySList and ExQueryDepthSList are not counted)"

# The header inlines against wdm.h's: the sequence of the instructions that
# order or synchronise (lock-prefixed ones, fences, CR8 accesses) must be
# the C one's, for the lookaside allocate+free and the register read+write.
echo
echo "wdm.h parity (lock-prefixed instructions, fences and CR8 accesses, in order; C / raw / safe):"
ordering() {
  awk '/^lock/ { if (NF == 1) { getline next_line; split(next_line, m, /[ \t]+/); op = m[1] } else op = $2
                 printf "lock %s; ", op; next }
       /^(mfence|sfence|lfence)/ { printf "%s; ", $1 }
       /%cr8/ { printf "cr8; " }' <<<"$1"
}
parity=ok
for op in lookaside_np register; do
  c=$(ordering "$(disassemble "bench_c_$op")") || fail "cannot disassemble bench_c_$op"
  for variant in raw safe; do
    code=$(disassemble "bench_${variant}_$op") || fail "cannot disassemble bench_${variant}_$op"
    mine=$(ordering "$code")
    [[ $variant == raw ]] || printf '%s\n' "$code" >"$BENCH_OUT_DIR/bench_${variant}_$op.s"
    if [[ $mine == "$c" ]]; then verdict=same; else verdict=DIFFERENT; parity=failed; fi
    printf '  %-14s C [%s] %-5s [%s] %s\n' "$op" "${c%; }" "$variant" "${mine%; }" "$verdict"
  done
done
echo "  parity: $parity"
} | tee "$BENCH_OUT_DIR/report.md"
grep -q '^  parity: ok$' "$BENCH_OUT_DIR/report.md" || fail "the crate's header inlines no longer match wdm.h's (see above)"
