#!/usr/bin/env bash
# first-frame-7d.sh - start-up with 7 days of data in the data dir: SERIES node-like series
# (one gen_openmetrics.py target, job "node", plus its up series) at 15 s for 7 days, ending
# at now, imported once with `kmon import openmetrics` and once with promtool into
# two data dirs. Then, RUNS times each (medians printed, all runs in the JSON):
#   - kmon's first frame: wall time of `kmon export-screen --read-only --after 0s` on the
#     data dir (opens every block, replays nothing, draws the default dashboard's first
#     frame, writes the export folder, exits), and the same with the query box running
#     `sum by (mode) (rate(node_cpu_seconds_total[5m]))` over its default 15 minutes
#     (`--keys / QUERY Enter`);
#   - ready time of `kmon serve --read-only` and of `prometheus` on their own data dir
#     (start to the first successful /api/v1/query?query=1, polled every 10 ms).
#
#   bench/first-frame-7d.sh > bench/results/first-frame-7d.json
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
H=${HARNESS:-/work/shared/bench}
P=${PROM_BIN:-/opt/prom-ref/usr/bin}
SERIES=${SERIES:-300}
RUNS=${RUNS:-3}
PORT=${PORT:-19093}
WORK=$(mktemp -d /tmp/kmon-first-frame.XXXXXX)
SRV=""
cleanup() {
  if [ -n "$SRV" ] && kill -0 "$SRV" 2>/dev/null; then kill -TERM "$SRV"; wait "$SRV" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/bin"; cp "${KMON:-$ROOT/target/release/kmon}" "$WORK/bin/kmon"
K="$WORK/bin/kmon"
log() { echo "[first-frame $(date +%H:%M:%S)] $*" >&2; }

NOW=$(date +%s)
START=$(( NOW / 15 * 15 - 7 * 86400 ))   # the newest sample is the last 15 s step before now
SAMPLES=$(( 7 * 86400 / 15 ))
log "generating $SERIES series x $SAMPLES samples from $START"
python3 "$H/gen_openmetrics.py" --targets 1 --series-per-target "$SERIES" --job node --start "$START" \
  --step 15 --samples "$SAMPLES" --out "$WORK/data.om" --summary "$WORK/summary.json"
mkdir -p "$WORK/kmon" "$WORK/prom" "$WORK/out" "$WORK/state"
log "kmon import"
python3 "$H/bench_lib.py" run-timed --log "$WORK/kimport.log" -- "$K" import openmetrics "$WORK/data.om" --data-dir "$WORK/kmon" > "$WORK/kimport.json"
log "promtool import"
python3 "$H/bench_lib.py" run-timed --log "$WORK/pimport.log" -- "$P/promtool" tsdb create-blocks-from openmetrics "$WORK/data.om" "$WORK/prom" > "$WORK/pimport.json"
rm -f "$WORK/data.om"
printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' > "$WORK/prometheus.yml"

# Seconds from start until /api/v1/query?query=1 answers success, then stops the server.
ready_time() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > "$WORK/server.log" 2>&1 &
  SRV=$!
  for _ in $(seq 1 6000); do
    if curl -sf "http://127.0.0.1:$PORT/api/v1/query?query=1" 2>/dev/null | grep -q success; then break; fi
    kill -0 "$SRV" 2>/dev/null || { echo "server exited" >&2; cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.01
  done
  t1=$(date +%s.%N)
  kill -TERM "$SRV"; wait "$SRV" 2>/dev/null || true; SRV=""
  python3 -c "print(round($t1 - $t0, 3))"
}

frames=(); qframes=(); kready=(); pready=()
Q='sum by (mode) (rate(node_cpu_seconds_total[5m]))' 
for r in $(seq 1 "$RUNS"); do
  log "run $r"
  t0=$(date +%s.%N)
  XDG_STATE_HOME="$WORK/state" XDG_CACHE_HOME="$WORK/state" "$K" export-screen --read-only --after 0s \
    --data-dir "$WORK/kmon" --out "$WORK/out" --size 120x40 > "$WORK/frame.out" 2> "$WORK/frame.err"
  t1=$(date +%s.%N)
  frames+=("$(python3 -c "print(round($t1 - $t0, 3))")")
  t0=$(date +%s.%N)
  XDG_STATE_HOME="$WORK/state" XDG_CACHE_HOME="$WORK/state" "$K" export-screen --read-only --after 0s \
    --data-dir "$WORK/kmon" --out "$WORK/out" --size 120x40 --keys / "$Q" Enter > "$WORK/qframe.out" 2> "$WORK/frame.err"
  t1=$(date +%s.%N)
  qframes+=("$(python3 -c "print(round($t1 - $t0, 3))")")
  kready+=("$(XDG_STATE_HOME="$WORK/state" XDG_CACHE_HOME="$WORK/state" ready_time "$K" serve --read-only \
    --data-dir "$WORK/kmon" --listen "127.0.0.1:$PORT")")
  pready+=("$(ready_time "$P/prometheus" --config.file="$WORK/prometheus.yml" --web.listen-address="127.0.0.1:$PORT" \
    --storage.tsdb.path="$WORK/prom" --storage.tsdb.retention.time=30d --log.level=warn)")
done
# The query frame's screen, to see that it shows the data.
[ -z "${SCREEN_OUT:-}" ] || cp "$(cat "$WORK/qframe.out")/screen.txt" "$SCREEN_OUT"
python3 "$H/bench_lib.py" blocks --dir "$WORK/kmon" > "$WORK/kblocks.json"
python3 "$H/bench_lib.py" blocks --dir "$WORK/prom" > "$WORK/pblocks.json"
FRAMES="${frames[*]}" QFRAMES="${qframes[*]}" KREADY="${kready[*]}" PREADY="${pready[*]}" W="$WORK" python3 - <<'EOF'
import json, os, statistics
w = os.environ["W"]
f = lambda k: [float(x) for x in os.environ[k].split()]
def load(n):
    d = json.load(open(os.path.join(w, n)))
    d.pop("blocks", None)  # the per-block list: 84 entries, left out
    return d
out = {
    "summary": load("summary.json"),
    "kmon_import": load("kimport.json"), "promtool_import": load("pimport.json"),
    "kmon_blocks": load("kblocks.json"), "prometheus_blocks": load("pblocks.json"),
    "kmon_first_frame_s": f("FRAMES"), "kmon_first_frame_with_query_s": f("QFRAMES"),
    "kmon_serve_ready_s": f("KREADY"),
    "prometheus_ready_s": f("PREADY"),
    "loadavg": open("/proc/loadavg").read().split()[:3],
}
for k in ("kmon_first_frame_s", "kmon_first_frame_with_query_s", "kmon_serve_ready_s", "prometheus_ready_s"):
    out[k + "_median"] = statistics.median(out[k])
print(json.dumps(out, indent=1))
EOF
