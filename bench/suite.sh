#!/usr/bin/env bash
# suite.sh - kmon beside Prometheus 3.5 (and btop for the TUI) in one run: live ingest,
# storage, dashboard queries, TUI footprint and frame time, start-up. Prints one table
# (figure, kmon, reference, ratio, goal, met?), writes it with the machine description into
# BENCHMARKS.md's generated section (full runs) and the raw figures to bench/results/suite.json.
#
#   bench/suite.sh                 # the issue's sizes (about 20 minutes on 2 cores)
#   bench/suite.sh --smoke         # tiny sizes, no verdicts, a few minutes (CI; a debug build is fine)
#   bench/suite.sh --only query,storage     # or --skip live,tui; see `--help`
#
# Environment:
#   SKIP_BUILD=1            use the binaries as they are
#   KMON=PATH               the kmon binary (default target/release/kmon; with --smoke, target/debug/kmon)
#   KMON_BENCH=PATH         the kmon-bench tool (default next to KMON's profile: .../examples/kmon-bench)
#   PROM_BIN or KMON_REF_BIN   the directory holding prometheus and promtool 3.5
#   BTOP=PATH               btop (default: btop on the PATH)
# Needs: Prometheus 3.5 (../shared/tools/install-reference-prometheus.sh prints its directory),
# and for the TUI and start-up sections tmux and btop (apt-get install btop tmux).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

smoke=0
for a in "$@"; do [ "$a" = "--smoke" ] && smoke=1; done
if [ "$smoke" = 1 ]; then profile=debug; flags=(); else profile=release; flags=(--release); fi
if [ -z "${SKIP_BUILD:-}" ]; then
  echo "[suite.sh] cargo build ${flags[*]} --bin kmon --example kmon-bench" >&2
  cargo build "${flags[@]}" --quiet --bin kmon --example kmon-bench
fi
KMON=${KMON:-$ROOT/target/$profile/kmon}
KMON_BENCH=${KMON_BENCH:-$(dirname "$KMON")/examples/kmon-bench}
[ -x "$KMON" ] || { echo "suite.sh: no kmon binary at $KMON (cargo build ${flags[*]} --bin kmon, or KMON=PATH)" >&2; exit 2; }
[ -x "$KMON_BENCH" ] || { echo "suite.sh: no kmon-bench at $KMON_BENCH (cargo build ${flags[*]} --example kmon-bench, or KMON_BENCH=PATH)" >&2; exit 2; }

PROM_BIN=${PROM_BIN:-${KMON_REF_BIN:-/opt/prom-ref/usr/bin}}
missing=()
[ -x "$PROM_BIN/prometheus" ] || missing+=("prometheus 3.5 in $PROM_BIN")
[ -x "$PROM_BIN/promtool" ] || missing+=("promtool 3.5 in $PROM_BIN")
command -v tmux >/dev/null || missing+=("tmux")
BTOP=${BTOP:-$(command -v btop || true)}
[ -n "$BTOP" ] && [ -x "$BTOP" ] || missing+=("btop")
if ((${#missing[@]})); then
  {
    echo "suite.sh: missing: ${missing[*]}"
    echo "  Prometheus and promtool 3.5: bash ../shared/tools/install-reference-prometheus.sh, then"
    echo "    PROM_BIN=<the directory it prints> bench/suite.sh (or KMON_REF_BIN=...)"
    echo "  tmux and btop: apt-get install -y btop tmux (or BTOP=PATH)"
    echo "  or leave out the sections that need them: --skip live,storage,query,startup (Prometheus), --skip tui,startup (tmux, btop)"
  } >&2
  # The tool checks again per selected section, so --skip can still run the rest.
fi
export PROM_BIN BTOP
export KMON
exec "$KMON_BENCH" suite "$@"
