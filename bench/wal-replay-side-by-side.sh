#!/usr/bin/env bash
# wal-replay-side-by-side.sh - Prometheus 3.5 and kmon replaying the same WAL bytes: the
# two 1M-sample WALs that `benches/wal_replay.rs` writes (kmon's WAL is Prometheus's
# format, uncompressed), kept with
#
#   KMON_WAL_KEEP=/tmp/kmon-walkeep cargo bench --bench wal_replay
#   bench/wal-replay-side-by-side.sh /tmp/kmon-walkeep > bench/results/wal-replay.json
#
# For each WAL (10k/ and 100k/), RUNS times: Prometheus on a fresh copy of the data dir
# (its "WAL replay completed" log line: wal_replay_duration and total_replay_duration,
# and start to the first successful /api/v1/query?query=1), and `kmon serve --read-only` on the same dir (start to the first successful
# /api/v1/query?query=1, which includes the replay). Medians and all runs as JSON.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
KEEP=${1:?usage: $0 KMON_WAL_KEEP-dir}
P=${PROM_BIN:-/opt/prom-ref/usr/bin}
RUNS=${RUNS:-3}
PORT=${PORT:-19095}
WORK=$(mktemp -d /tmp/kmon-walreplay.XXXXXX)
SRV=""
cleanup() {
  if [ -n "$SRV" ] && kill -0 "$SRV" 2>/dev/null; then kill -TERM "$SRV"; wait "$SRV" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/bin" "$WORK/state"; cp "${KMON:-$ROOT/target/release/kmon}" "$WORK/bin/kmon"
printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' > "$WORK/prometheus.yml"

wait_ready() {
  for _ in $(seq 1 6000); do
    curl -sf "http://127.0.0.1:$PORT/api/v1/query?query=1" 2>/dev/null | grep -q success && return 0
    kill -0 "$SRV" 2>/dev/null || return 1
    sleep 0.01
  done
  return 1
}
stop() { kill -TERM "$SRV"; wait "$SRV" 2>/dev/null || true; SRV=""; }

echo "{"
first=1
for shape in 10k 100k; do
  prom=(); promtotal=(); promready=(); kmon=()
  for r in $(seq 1 "$RUNS"); do
    rm -rf "$WORK/d"; mkdir -p "$WORK/d"; cp -r "$KEEP/$shape/wal" "$WORK/d/wal"
    t0=$(date +%s.%N)
    "$P/prometheus" --config.file="$WORK/prometheus.yml" --web.listen-address="127.0.0.1:$PORT" \
      --storage.tsdb.path="$WORK/d" --storage.tsdb.retention.time=100000d --log.level=info > "$WORK/prom.log" 2>&1 &
    SRV=$!
    wait_ready || { cat "$WORK/prom.log" >&2; exit 1; }
    t1=$(date +%s.%N)
    stop
    promready+=("$(python3 -c "print(round($t1 - $t0, 3))")")
    line=$(grep 'WAL replay completed' "$WORK/prom.log" | head -1)
    prom+=("$(sed -E 's/.*wal_replay_duration=([^ ]+).*/\1/' <<< "$line")")
    promtotal+=("$(sed -E 's/.*total_replay_duration=([^ ]+).*/\1/' <<< "$line")")
    rm -rf "$WORK/d"; mkdir -p "$WORK/d"; cp -r "$KEEP/$shape/wal" "$WORK/d/wal"
    t0=$(date +%s.%N)
    XDG_STATE_HOME="$WORK/state" XDG_CACHE_HOME="$WORK/state" "$WORK/bin/kmon" serve --read-only --data-dir "$WORK/d" \
      --listen "127.0.0.1:$PORT" > "$WORK/kmon.log" 2>&1 &
    SRV=$!
    wait_ready || { cat "$WORK/kmon.log" >&2; exit 1; }
    t1=$(date +%s.%N)
    stop
    kmon+=("$(python3 -c "print(round($t1 - $t0, 3))")")
  done
  [ $first = 1 ] || echo ","
  first=0
  PR="${promready[*]}" PROM="${prom[*]}" PT="${promtotal[*]}" KM="${kmon[*]}" SHAPE=$shape python3 - <<'EOF'
import json, os, re, statistics
def secs(d):  # Go durations: 812.3ms, 1.2s, 950µs
    m = re.fullmatch(r"([0-9.]+)(ns|µs|us|ms|s|m)", d)
    return float(m[1]) * {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[m[2]]
p = [secs(x) for x in os.environ["PROM"].split()]
pt = [secs(x) for x in os.environ["PT"].split()]
k = [float(x) for x in os.environ["KM"].split()]
pr = [float(x) for x in os.environ["PR"].split()]
print(json.dumps(os.environ["SHAPE"]) + ": " + json.dumps({
    "prometheus_wal_replay_s": p, "prometheus_total_replay_s": pt, "prometheus_ready_s": pr, "kmon_serve_ready_s": k,
    "medians": {"prometheus_wal_replay_s": statistics.median(p),
                "prometheus_total_replay_s": statistics.median(pt),
                "prometheus_ready_s": statistics.median(pr),
                "kmon_serve_ready_s": statistics.median(k)},
    "loadavg": open("/proc/loadavg").read().split()[:3]}))
EOF
done
echo "}"
