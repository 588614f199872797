#!/usr/bin/env bash
# idle-cpu.sh - kmon's idle CPU beside btop's, at the same refresh interval, over the same window.
#
#   bench/idle-cpu.sh                      # 3 runs of 60 s after 10 s of warm-up, 2 s refresh
#   RUNS=1 WINDOW=20 WARMUP=5 bench/idle-cpu.sh      # a quick look
#   SKIP_BUILD=1 bench/idle-cpu.sh         # use target/release/kmon as it is
#
# For each run it starts, side by side and each in its own detached session of a private tmux
# server (`tmux -L idlebench`, 120x40, the same TERM and COLORTERM):
#   - `kmon --local --interval 2s --data-dir TMP` (this-machine mode, no config), and
#   - `btop --utf-force` with `update_ms = 2000` in a fresh config dir (HOME and
#     XDG_CONFIG_HOME point into TMP, so neither program reads the user's settings);
# waits WARMUP seconds, then reads utime+stime (+ cutime+cstime) of both processes from
# /proc/PID/stat at t0 and t0+WINDOW (those fields count every thread of the process) and
# prints each one's CPU as a percentage of one core, and kmon/btop. After RUNS runs it prints
# the medians. It stops only what it started: the two PIDs and its own tmux server.
# btop is a measuring tool here (apt-get install btop); nothing in .ci needs it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
RUNS=${RUNS:-3}
WINDOW=${WINDOW:-60}
WARMUP=${WARMUP:-10}
INTERVAL_S=${INTERVAL_S:-2}
COLS=${COLS:-120}
ROWS=${ROWS:-40}
KMON=${KMON:-$ROOT/target/release/kmon}
BTOP=${BTOP:-$(command -v btop || true)}
SOCK=idlebench
[ -n "$BTOP" ] && [ -x "$BTOP" ] || { echo "btop not found (apt-get install -y btop, or set BTOP)" >&2; exit 2; }
command -v tmux >/dev/null || { echo "tmux not found" >&2; exit 2; }
if [ -z "${SKIP_BUILD:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
fi
[ -x "$KMON" ] || { echo "no kmon binary at $KMON" >&2; exit 2; }
tmux -L "$SOCK" has-session 2>/dev/null && { echo "a tmux server -L $SOCK is already running" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/idle-cpu.XXXXXX")
TICK=$(getconf CLK_TCK)
KPID="" BPID="" NAP=""
cleanup() {
  for p in $NAP $KPID $BPID; do kill "$p" 2>/dev/null || true; done
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# CPU ticks of one process (all its threads, and its reaped children), or fail if it is gone.
ticks() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  # Fields after the command name (which may hold spaces): state is field 3, utime 14.
  set -- ${stat##*) }
  echo $(( ${12} + ${13} + ${14} + ${15} ))
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
now() { date +%s.%N; }
# sleep that a signal interrupts at once (the trap runs without waiting for `sleep` to end).
pause() { sleep "$1" & NAP=$!; wait "$NAP"; NAP=""; }

# The PID of the program in a tmux session (the pane runs it via `exec`, so it is the pane's PID).
pane_pid() {
  local deadline=$((SECONDS + 10)) pid
  while [ $SECONDS -lt $deadline ]; do
    pid=$(tmux -L "$SOCK" list-panes -t "$1" -F '#{pane_pid}' 2>/dev/null | head -1)
    if [ -n "$pid" ] && [ -r "/proc/$pid/stat" ]; then echo "$pid"; return 0; fi
    sleep 0.2
  done
  echo "no pane for session $1" >&2
  return 1
}

start() {
  local run=$1 home="$TMP/run$1"
  mkdir -p "$home/kmon-data" "$home/config/btop"
  printf 'update_ms = %d\n' $((INTERVAL_S * 1000)) > "$home/config/btop/btop.conf"
  local envs="HOME=$home XDG_CONFIG_HOME=$home/config LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color COLORTERM=truecolor"
  tmux -L "$SOCK" -f /dev/null new-session -d -s kmon -x "$COLS" -y "$ROWS" \
    "exec env $envs $KMON --local --interval ${INTERVAL_S}s --data-dir $home/kmon-data"
  tmux -L "$SOCK" new-session -d -s btop -x "$COLS" -y "$ROWS" \
    "exec env $envs $BTOP --utf-force"
  KPID=$(pane_pid kmon)
  BPID=$(pane_pid btop)
}

stop() {
  for p in $KPID $BPID; do kill "$p" 2>/dev/null || true; done
  local deadline=$((SECONDS + 5))
  while [ $SECONDS -lt $deadline ] && { kill -0 "$KPID" 2>/dev/null || kill -0 "$BPID" 2>/dev/null; }; do
    sleep 0.2
  done
  for p in $KPID $BPID; do kill -9 "$p" 2>/dev/null || true; done
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  KPID="" BPID=""
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }

echo "machine: $(nproc) cores, $(uname -sr); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "kmon: $("$KMON" --version 2>&1 | head -1)   btop: $("$BTOP" --version 2>&1 | head -1)"
echo "refresh ${INTERVAL_S}s, ${COLS}x${ROWS}, warm-up ${WARMUP}s, window ${WINDOW}s, ${RUNS} runs"
echo
printf '| run | kmon CPU %% | btop CPU %% | kmon/btop | kmon RSS MiB | btop RSS MiB | load |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|\n'
KS=() BS=() RS=()
for run in $(seq 1 "$RUNS"); do
  start "$run"
  pause "$WARMUP"
  k0=$(ticks "$KPID") || { echo "kmon exited during warm-up" >&2; exit 1; }
  b0=$(ticks "$BPID") || { echo "btop exited during warm-up" >&2; exit 1; }
  t0=$(now)
  pause "$WINDOW"
  k1=$(ticks "$KPID") || { echo "kmon exited during the window" >&2; exit 1; }
  b1=$(ticks "$BPID") || { echo "btop exited during the window" >&2; exit 1; }
  t1=$(now)
  krss=$(rss_kib "$KPID") brss=$(rss_kib "$BPID")
  stop
  read -r kp bp ratio < <(awk -v k=$((k1 - k0)) -v b=$((b1 - b0)) -v hz="$TICK" -v t0="$t0" -v t1="$t1" \
    'BEGIN { s = t1 - t0; kp = 100 * k / hz / s; bp = 100 * b / hz / s;
             printf "%.3f %.3f %s\n", kp, bp, (b > 0 ? sprintf("%.2f", kp / bp) : "inf") }')
  KS+=("$kp") BS+=("$bp") RS+=("$ratio")
  printf '| %d | %s | %s | %s | %.1f | %.1f | %s |\n' "$run" "$kp" "$bp" "$ratio" \
    "$(awk -v r="$krss" 'BEGIN{print r/1024}')" "$(awk -v r="$brss" 'BEGIN{print r/1024}')" \
    "$(cut -d' ' -f1 /proc/loadavg)"
done
km=$(printf '%s\n' "${KS[@]}" | median)
bm=$(printf '%s\n' "${BS[@]}" | median)
rm_=$(printf '%s\n' "${RS[@]}" | grep -v inf | median || true)
printf '| median | %s | %s | %s | | | |\n' "$km" "$bm" "${rm_:-inf}"
