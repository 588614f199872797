#!/usr/bin/env bash
# promql_side_by_side.sh - kmon's PromQL evaluator against Prometheus 3.5 on the same data.
#
#   bench/promql_side_by_side.sh                 # 10k series x 2 h at 15 s, 7 reps per query
#   SERIES=400 TARGETS=1 QUERY_REPS=3 bench/promql_side_by_side.sh   # a quick look
#
# Both servers get the same deterministic OpenMetrics history from the shared backfill
# harness (../shared/bench/backfill.sh, or $HARNESS). Prometheus imports it with promtool
# and serves the block; kmon loads the same file with `kmon serve --load` (in memory until
# the persistent TSDB lands). Every query of bench/promql-queries.txt runs as an instant
# and as a range query, QUERY_REPS times after a cold run, one server after the other.
# Prints per-query medians, kmon/Prometheus ratios and the median ratio; the raw JSON and
# both servers' query results stay in $OUT (default target/bench-promql).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
HARNESS=${HARNESS:-$ROOT/../shared/bench}
REF=${KMON_REF_BIN:-/opt/prom-ref/usr/bin}
OUT=${OUT:-$ROOT/target/bench-promql}
KMON=${KMON:-$ROOT/target/release/kmon}
export QUERY_REPS=${QUERY_REPS:-7} QUERIES=$HERE/promql-queries.txt
[ -x "$HARNESS/backfill.sh" ] || { echo "no harness at $HARNESS (set HARNESS)" >&2; exit 2; }
[ -x "$REF/prometheus" ] || { echo "no reference prometheus in $REF (set KMON_REF_BIN)" >&2; exit 2; }
[ -x "$KMON" ] || (cd "$ROOT" && cargo build --release --quiet)
mkdir -p "$OUT"

echo "== Prometheus 3.5" >&2
SERVER_NAME=prometheus-3.5 SERVER_VERSION_CMD="$REF/prometheus --version 2>&1 | head -1" \
  IMPORT_CMD="$REF/promtool tsdb create-blocks-from openmetrics {file} {data}" \
  SERVER_CMD="$REF/prometheus --config.file={config} --web.listen-address={listen} --storage.tsdb.path={data} --storage.tsdb.retention.time=100000d --log.level=warn" \
  SAVE_RESULTS="$OUT/results-prometheus.json" "$HARNESS/backfill.sh" > "$OUT/prometheus.json"

echo "== kmon" >&2
SERVER_NAME=kmon SERVER_VERSION_CMD="$KMON --version" \
  IMPORT_CMD="mv {file} {data}/data.om" \
  SERVER_CMD="$KMON serve --config {config} --listen {listen} --load {data}/data.om" \
  SAVE_RESULTS="$OUT/results-kmon.json" "$HARNESS/backfill.sh" > "$OUT/kmon.json"

python3 "$HARNESS/bench_lib.py" compare "$OUT/results-prometheus.json" "$OUT/results-kmon.json" --rtol 1e-9 \
  > "$OUT/compare.txt" 2>&1 || true
python3 - "$OUT/prometheus.json" "$OUT/kmon.json" <<'PY'
import json, statistics, sys
ref, km = (json.load(open(p)) for p in sys.argv[1:3])
def queries(d):
    q = d.get("queries", d)
    return {m: q[m] for m in ("instant", "range") if m in q}
rq, kq = queries(ref), queries(km)
print("| mode | query | Prometheus ms | kmon ms | ratio |")
print("|---|---|---:|---:|---:|")
ratios = {"instant": [], "range": []}
for mode in ("instant", "range"):
    per = rq.get(mode, {}).get("queries", {})
    kper = kq.get(mode, {}).get("queries", {})
    for name, e in per.items():
        if not isinstance(e, dict) or "median_ms" not in e or name not in kper:
            continue
        k = kper[name]
        if not (e.get("ok") and k.get("ok")):
            print(f"| {mode} | {name} | {e['median_ms']} | error | - |")
            continue
        r = k["median_ms"] / e["median_ms"] if e["median_ms"] else float("nan")
        ratios[mode].append(r)
        print(f"| {mode} | {name} | {e['median_ms']:.2f} | {k['median_ms']:.2f} | {r:.2f} |")
for mode, rs in ratios.items():
    if rs:
        print(f"\nmedian of per-query ratios, {mode}: {statistics.median(rs):.2f} ({len(rs)} queries)")
PY
echo "results: $OUT (compare.txt has the result diff against Prometheus)" >&2
