#!/usr/bin/env bash
# remote-source-latency.sh - query latency through `kmon query --source URL` against asking
# Prometheus 3.5 directly with curl: the same form POSTs to the same server, medians of REPS
# runs per query, the two alternating. Both sides are one process per query (kmon's
# start-up, settings lookup and answer check included; curl's own start-up on the other
# side), so the difference is everything kmon's remote source path adds.
#
#   bench/remote-source-latency.sh                  # 2000 series x 2 h at 15 s, 21 reps
#   SERIES=200 REPS=5 bench/remote-source-latency.sh   # a quick look
#
# The data: SERIES counters `bench_requests_total{instance,code}` written as OpenMetrics,
# imported with promtool into a block Prometheus serves. Results (JSON) and the log stay
# in $OUT (default target/bench-remote-source). Every kmon answer is checked to be
# byte-for-byte curl's.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
REF=${KMON_REF_BIN:-/opt/prom-ref/usr/bin}
KMON=${KMON:-$ROOT/target/release/kmon}
[ -x "$KMON" ] || KMON=$ROOT/target/debug/kmon
SERIES=${SERIES:-2000} REPS=${REPS:-21}
OUT=${OUT:-$ROOT/target/bench-remote-source}
[ -x "$REF/prometheus" ] || { echo "no reference prometheus in $REF (set KMON_REF_BIN)" >&2; exit 2; }
[ -x "$KMON" ] || { echo "no kmon binary (cargo build, or set KMON)" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 2; }
rm -rf "$OUT" && mkdir -p "$OUT"
END=1700006400   # the data's end (fixed, so runs compare)
START=$((END - 7200))
python3 - "$SERIES" "$START" "$END" > "$OUT/data.om" <<'PY'
import sys
n, start, end = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
print("# TYPE bench_requests_total counter")
for i in range(n):
    inst, code = f"i-{i // 4}", ("200", "404", "500", "503")[i % 4]
    rate = 1 + (i * 7919) % 97
    for k, t in enumerate(range(start, end + 1, 15)):
        print(f'bench_requests_total{{instance="{inst}",code="{code}"}} {k * rate * 15} {t}')
print("# EOF")
PY
"$REF/promtool" tsdb create-blocks-from openmetrics "$OUT/data.om" "$OUT/data" > "$OUT/promtool.log"
rm -f "$OUT/data.om"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'global: {scrape_interval: 1h}\n' > "$OUT/prometheus.yml"
"$REF/prometheus" --config.file="$OUT/prometheus.yml" --storage.tsdb.path="$OUT/data" \
  --storage.tsdb.retention.time=100000d --web.listen-address=127.0.0.1:$PORT \
  --log.level=warn > "$OUT/prometheus.log" 2>&1 &
PROM=$!
trap 'kill $PROM 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/-/ready" >/dev/null && break; sleep 0.2; done
URL=http://127.0.0.1:$PORT KMON=$KMON START=$START END=$END REPS=$REPS \
  XDG_CONFIG_HOME="$OUT/config" python3 - > "$OUT/results.json" <<'PY'
import json, os, statistics, subprocess, time
url, kmon, reps = os.environ["URL"], os.environ["KMON"], int(os.environ["REPS"])
start, end = os.environ["START"], os.environ["END"]
queries = [
    ("range", 'sum by (code) (rate(bench_requests_total[5m]))'),
    ("range", 'rate(bench_requests_total{instance=~"i-1.*"}[5m])'),
    ("range", 'topk(5, sum by (instance) (rate(bench_requests_total[5m])))'),
    ("range", 'bench_requests_total{code="500"}'),
    ("instant", 'bench_requests_total'),
    ("instant", 'count(bench_requests_total)'),
]
def timed(cmd):
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, check=True).stdout
    return time.perf_counter() - t0, out
rows = []
for kind, q in queries:
    if kind == "range":
        form = [("query", q), ("start", start), ("end", end), ("step", "30")]
        k = [kmon, "query-range", "--start", start, "--end", end, "--step", "30"]
        path = "/api/v1/query_range"
    else:
        form = [("query", q), ("time", end)]
        k = [kmon, "query", "--time", end]
        path = "/api/v1/query"
    curl = ["curl", "-s"] + [a for n, v in form for a in ("--data-urlencode", f"{n}={v}")] + [url + path]
    k = k + ["-o", "json", "--source", url, "--", q]
    direct, through = [], []
    for i in range(reps + 1):
        d, body = timed(curl)
        s, out = timed(k)
        assert out == body + b"\n", f"{q}: kmon's answer differs"
        if i:  # the first run of each warms both up
            direct.append(d); through.append(s)
    md, ms = statistics.median(direct), statistics.median(through)
    rows.append({"kind": kind, "query": q, "bytes": len(body), "direct_ms": md * 1e3,
                 "source_ms": ms * 1e3, "overhead_pct": (ms / md - 1) * 100})
print(json.dumps({"reps": reps, "queries": rows}, indent=1))
PY
python3 - "$OUT/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{'query':<62} {'bytes':>9} {'curl ms':>8} {'kmon ms':>8} {'overhead':>8}")
for q in r["queries"]:
    print(f"{q['kind'][0]} {q['query'][:60]:<60} {q['bytes']:>9} {q['direct_ms']:>8.1f} {q['source_ms']:>8.1f} {q['overhead_pct']:>7.1f}%")
tot_d = sum(q["direct_ms"] for q in r["queries"]); tot_s = sum(q["source_ms"] for q in r["queries"])
print(f"sum of medians: curl {tot_d:.1f} ms, kmon --source {tot_s:.1f} ms, overhead {(tot_s / tot_d - 1) * 100:.1f}%")
PY
