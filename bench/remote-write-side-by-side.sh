#!/usr/bin/env bash
# remote-write-side-by-side.sh - the "Remote write" figures of BENCHMARKS.md: kmon serve
# and Prometheus 3.5 scrape the same synthetic targets and each remote-writes to its own
# Prometheus receiver (--web.enable-remote-write-receiver); for each sender a scrape-only
# baseline run comes first, so the CPU that remote_write adds can be told apart.
#
#   bench/remote-write-side-by-side.sh                    # 20 targets x 1000 series at 1 s
#   TARGETS=50 SERIES=2000 DURATION=60 bench/remote-write-side-by-side.sh
#
# Knobs: TARGETS, SERIES (per target), INTERVAL (s), WARMUP (s), DURATION (measured
# window, s), SENDERS (default kmon,prometheus). KMON is the kmon binary (default target/release/kmon, else
# target/debug/kmon; copied to a temp dir first so a rebuild cannot change it mid-run),
# PROM_BIN the folder of prometheus (default /opt/prom-ref/usr/bin). The JSON result goes
# to bench/results/remote-write-side-by-side.json (OUT) and a summary to stderr. Four
# runs of WARMUP + DURATION seconds plus start-up: about 3 minutes with the defaults.
# The generator is bench/remote_write_bench.py's own (standard library Python).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
OUT=${OUT:-$ROOT/bench/results/remote-write-side-by-side.json}
SRC=${KMON:-}
if [ -z "$SRC" ]; then
  SRC=$ROOT/target/release/kmon
  [ -x "$SRC" ] || SRC=$ROOT/target/debug/kmon
fi
[ -x "$SRC" ] || { echo "no kmon binary at $SRC (build it, or set KMON)" >&2; exit 2; }
export PROM_BIN=${PROM_BIN:-/opt/prom-ref/usr/bin}
[ -x "$PROM_BIN/prometheus" ] || { echo "no prometheus in $PROM_BIN (set PROM_BIN)" >&2; exit 2; }
BIN=$(mktemp -d /tmp/kmon-rw-side-by-side.XXXXXX)
trap 'rm -rf "$BIN"' EXIT
cp "$SRC" "$BIN/kmon"
export KMON="$BIN/kmon"
mkdir -p "$(dirname "$OUT")"
echo "kmon: $SRC ($("$KMON" --version 2>/dev/null || echo unknown))" >&2
python3 "$HERE/remote_write_bench.py" > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
python3 - "$OUT" <<'PY' >&2
import json, sys
r = json.load(open(sys.argv[1]))
print("| figure | kmon | Prometheus | kmon / Prometheus |")
print("|---|---:|---:|---:|")
none = {"sent_per_s": float("nan"), "cpu_s_per_million_sent": float("nan"), "cpu_s_per_million_sent_minus_baseline": float("nan")}
k = r["runs"].get("kmon", {}).get("remote_write", none)
p = r["runs"].get("prometheus", {}).get("remote_write", none)
q = r["kmon_over_prometheus"]
for key, name in [("sent_per_s", "samples/s sent"),
                  ("cpu_s_per_million_sent", "CPU-s per million samples sent (whole process)"),
                  ("cpu_s_per_million_sent_minus_baseline", "CPU-s per million samples sent, minus scrape-only baseline")]:
    ratio = "" if q.get(key) is None else f"{q[key]:.2f}"
    print(f"| {name} | {k[key]:.2f} | {p[key]:.2f} | {ratio} |")
PY
