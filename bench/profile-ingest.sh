#!/usr/bin/env bash
# profile-ingest.sh - where kmon serve's CPU goes while scraping the live benchmark's targets
# (gen_targets.py, TARGETS x SERIES at 1 s): starts the generator and kmon serve, waits
# WARMUP s, runs `perf record -F 499 -g` on kmon's PID for SECONDS s, stops both (by PID)
# and prints `perf report --no-children` (top entries, by self time) to stdout.
#
#   bench/profile-ingest.sh > /tmp/profile.txt
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
H=${HARNESS:-/work/shared/bench}
TARGETS=${TARGETS:-50}
SERIES=${SERIES:-2000}
WARMUP=${WARMUP:-15}
SECONDS_=${SECONDS_:-20}
PORT_BASE=${PORT_BASE:-19300}
PORT=${PORT:-19094}
WORK=$(mktemp -d /tmp/kmon-profile.XXXXXX)
GEN=""; SRV=""
cleanup() {
  for p in $SRV $GEN; do
    if kill -0 "$p" 2>/dev/null; then kill -TERM "$p"; wait "$p" 2>/dev/null || true; fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
KMON=${KMON:-$ROOT/target/release/kmon}
python3 "$H/gen_targets.py" --targets "$TARGETS" --series-per-target "$SERIES" --port-base "$PORT_BASE" \
  --step 1 --max-seconds $((WARMUP + SECONDS_ + 60)) --ready-file "$WORK/gen.ready" 2> "$WORK/gen.log" &
GEN=$!
for _ in $(seq 1 600); do [ -e "$WORK/gen.ready" ] && break; sleep 0.1; done
{
  printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: synthetic\n    static_configs:\n      - targets:\n'
  for ((i = 0; i < TARGETS; i++)); do echo "          - 127.0.0.1:$((PORT_BASE + i))"; done
} > "$WORK/prometheus.yml"
XDG_STATE_HOME="$WORK" "$KMON" serve --config "$WORK/prometheus.yml" --listen "127.0.0.1:$PORT" \
  --data-dir "$WORK/data" > "$WORK/serve.log" 2>&1 &
SRV=$!
sleep "$WARMUP"
perf record -F 499 -g -o "$WORK/perf.data" -p "$SRV" -- sleep "$SECONDS_" 2> "$WORK/perf.log"
perf report -i "$WORK/perf.data" --no-children --percent-limit 0.7 --stdio -g none 2>/dev/null | grep -v '^$' | head -80
