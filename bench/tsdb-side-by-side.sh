#!/usr/bin/env bash
# tsdb-side-by-side.sh - the storage figures of BENCHMARKS.md ("Persistent TSDB beside
# Prometheus 3.5"): kmon and Prometheus 3.5 one after the other, in one run, through the
# shared harness (../shared/bench: backfill.sh, run_prometheus.sh, bench_lib.py).
#
#   bench/tsdb-side-by-side.sh backfill   # 10k series x 2 h at 15 s: kmon import + serve, promtool + prometheus
#   bench/tsdb-side-by-side.sh live       # 50 targets x 2000 series at 1 s for 60 s: kmon serve, prometheus
#   bench/tsdb-side-by-side.sh all
#
# Raw JSON goes to bench/results/ (OUT), the backfill query results to /tmp (large) and
# their diff against Prometheus's to bench/results/backfill-compare.txt. KMON is the
# kmon binary (default target/release/kmon, copied to a temp dir first so a rebuild
# cannot change it mid-run), PROM_BIN the folder of prometheus and promtool.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
H=${HARNESS:-$ROOT/../shared/bench}
[ -d "$H" ] || H=/work/shared/bench
P=${PROM_BIN:-/opt/prom-ref/usr/bin}
OUT=${OUT:-$ROOT/bench/results}
WHAT=${1:-all}
mkdir -p "$OUT"
BIN=$(mktemp -d /tmp/kmon-side-by-side.XXXXXX)
trap 'rm -rf "$BIN"' EXIT
cp "${KMON:-$ROOT/target/release/kmon}" "$BIN/kmon"
K="$BIN/kmon"
KSERVE="$K serve --config {config} --listen {listen} --data-dir {data} --retention 100000d"
PVER="$P/prometheus --version 2>&1 | head -1"

backfill() {
  (cd "$H" &&
    QUERY_REPS=5 SERVER_NAME=kmon SERVER_VERSION_CMD="$K --version" SERVER_CMD="$KSERVE" \
      IMPORT_CMD="$K import openmetrics {file} --data-dir {data}" \
      SAVE_RESULTS=/tmp/kmon-backfill-results.json ./backfill.sh > "$OUT/backfill-kmon-10k-2h.json")
  (cd "$H" &&
    QUERY_REPS=5 SERVER_NAME=prometheus-3.5.3 SERVER_VERSION_CMD="$PVER" \
      IMPORT_CMD="$P/promtool tsdb create-blocks-from openmetrics {file} {data}" \
      SERVER_CMD="$P/prometheus --config.file={config} --web.listen-address={listen} --storage.tsdb.path={data} --storage.tsdb.retention.time=100000d --log.level=warn" \
      SAVE_RESULTS=/tmp/prom-backfill-results.json ./backfill.sh > "$OUT/backfill-prometheus-3.5.3-10k-2h.json")
  python3 "$H/bench_lib.py" compare /tmp/prom-backfill-results.json /tmp/kmon-backfill-results.json --rtol 1e-9 \
    > "$OUT/backfill-compare.txt" 2>&1 || true
}

live() {
  (cd "$H" &&
    TARGETS=50 SERIES=2000 INTERVAL=1 DURATION=60 QUERY_REPS=5 SERVER_NAME=kmon \
      SERVER_VERSION_CMD="$K --version" SERVER_CMD="$KSERVE" \
      ./run_prometheus.sh > "$OUT/live-kmon-50x2000.json")
  (cd "$H" &&
    TARGETS=50 SERIES=2000 INTERVAL=1 DURATION=60 QUERY_REPS=5 SERVER_NAME=prometheus-3.5.3 \
      SERVER_VERSION_CMD="$PVER" \
      SERVER_CMD="$P/prometheus --config.file={config} --web.listen-address={listen} --storage.tsdb.path={data} --storage.tsdb.retention.time=1d --log.level=warn" \
      ./run_prometheus.sh > "$OUT/live-prometheus-3.5.3-50x2000.json")
}

case "$WHAT" in
  backfill) backfill ;;
  live) live ;;
  all) backfill; live ;;
  *) echo "usage: $0 backfill|live|all" >&2; exit 2 ;;
esac
