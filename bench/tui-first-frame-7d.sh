#!/usr/bin/env bash
# tui-first-frame-7d.sh - the TUI's first frame on a data dir holding 7 days: SERIES
# node-like series (gen_openmetrics.py, job "node") at 15 s for 7 days ending now, put in
# with `kmon import openmetrics` (85 2h blocks). RUNS times: `kmon --read-only --data-dir D`
# starts in a detached session of a private tmux server (`tmux -L kmon-ff`, 120x40); the
# pane is polled every 10 ms until the header ("kmon data dir") is drawn (start to first
# frame), then `/`, QUERY and Enter are sent and the pane polled until the query box shows
# the series legend (`mode="idle"`): Enter to the frame with the answer. Prints JSON; only
# its own tmux server and files are touched.
#
#   bench/tui-first-frame-7d.sh > bench/results/tui-first-frame-7d.json
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
H=${HARNESS:-/work/shared/bench}
SERIES=${SERIES:-300}
RUNS=${RUNS:-5}
QUERY=${QUERY:-'sum by (mode) (rate(node_cpu_seconds_total[5m]))'}
SOCK=kmon-ff
WORK=$(mktemp -d /tmp/kmon-tui-ff.XXXXXX)
cleanup() { tmux -L "$SOCK" kill-server 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$WORK/bin" "$WORK/state"
cp "${KMON:-$ROOT/target/release/kmon}" "$WORK/bin/kmon"
K="$WORK/bin/kmon"
NOW=$(date +%s)
START=$(( NOW / 15 * 15 - 7 * 86400 ))
python3 "$H/gen_openmetrics.py" --targets 1 --series-per-target "$SERIES" --job node --start "$START" \
  --step 15 --samples $(( 7 * 86400 / 15 )) --out "$WORK/data.om" > /dev/null
"$K" import openmetrics "$WORK/data.om" --data-dir "$WORK/data" >&2
rm -f "$WORK/data.om"

now() { date +%s.%N; }
# Polls the pane (10 ms) until it contains $1; prints the time, or fails after 60 s.
until_shown() {
  for _ in $(seq 1 6000); do
    if tmux -L "$SOCK" capture-pane -p -t ff 2>/dev/null | grep -qF -- "$1"; then now; return 0; fi
    sleep 0.01
  done
  return 1
}
first=(); answer=()
for r in $(seq 1 "$RUNS"); do
  t0=$(now)
  tmux -L "$SOCK" new-session -d -s ff -x 120 -y 40 \
    "env XDG_STATE_HOME=$WORK/state XDG_CACHE_HOME=$WORK/state TERM=xterm-256color $K --read-only --data-dir $WORK/data"
  t1=$(until_shown "kmon data dir")
  tmux -L "$SOCK" send-keys -t ff / && tmux -L "$SOCK" send-keys -t ff -l "$QUERY"
  until_shown "$QUERY" > /dev/null
  t2=$(now)
  tmux -L "$SOCK" send-keys -t ff Enter
  t3=$(until_shown 'mode="idle"')
  [ "$r" = "$RUNS" ] && tmux -L "$SOCK" capture-pane -p -t ff > "$WORK/screen.txt"
  tmux -L "$SOCK" kill-server
  first+=("$(python3 -c "print(round($t1 - $t0, 3))")")
  answer+=("$(python3 -c "print(round($t3 - $t2, 3))")")
done
[ -z "${SCREEN_OUT:-}" ] || cp "$WORK/screen.txt" "$SCREEN_OUT"
FIRST="${first[*]}" ANSWER="${answer[*]}" python3 - <<'EOF'
import json, os, statistics
f = [float(x) for x in os.environ["FIRST"].split()]
a = [float(x) for x in os.environ["ANSWER"].split()]
print(json.dumps({"start_to_first_frame_s": f, "enter_to_answer_frame_s": a,
                  "medians": {"start_to_first_frame_s": statistics.median(f),
                              "enter_to_answer_frame_s": statistics.median(a)},
                  "loadavg": open("/proc/loadavg").read().split()[:3]}, indent=1))
EOF
