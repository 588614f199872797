#!/usr/bin/env python3
"""Writes tests/promql/functions_differential.test: random float data and every PromQL
function over it, with the answers Prometheus 3.5.3 gives (promtool test rules).
Usage: python3 functions_differential.py SEED OUT [STEP]  (STEP: 17s, the default, puts
evaluation times between samples; 10s puts them on sample times, the edge of the left-open
windows. PROMTOOL names promtool if it is not at /opt/prom-ref/usr/bin/promtool)."""
import os, random, subprocess, re, sys, tempfile
SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 1
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "functions_differential.test")
STEP = sys.argv[3] if len(sys.argv) > 3 else "17s"
PROMTOOL = os.environ.get("PROMTOOL", "/opt/prom-ref/usr/bin/promtool")
random.seed(SEED)
N = 40  # points per series
series = []
def fmt(v):
    if v != v: return "NaN"
    if v == float('inf'): return "Inf"
    if v == float('-inf'): return "-Inf"
    return repr(v)
for i in range(6):
    vals = []
    c = random.uniform(-5, 50)
    for k in range(N):
        r = random.random()
        if r < 0.12:
            vals.append("_"); continue
        if r < 0.17: c = random.uniform(0, 3)  # reset
        elif r < 0.19 and i == 5: vals.append("NaN"); continue
        else: c += random.choice([0, 0, random.uniform(0, 20), random.randint(0,3)])
        vals.append(fmt(round(c, random.choice([0, 2, 6]))))
    series.append((f'x{{i="{i}"}}', vals))
# a gauge-ish with negatives and infinities
g = []
for k in range(N):
    r = random.random()
    if r < 0.1: g.append("_")
    elif r < 0.13: g.append(random.choice(["Inf", "-Inf"]))
    else: g.append(fmt(round(random.uniform(-100, 100), 3)))
series.append(('x{i="g"}', g))
# classic histogram buckets, sometimes non-monotonic
les = ["0.1", "0.5", "1", "2.5", "+Inf"]
for grp in range(3):
    base = [0]*len(les)
    rows = [[] for _ in les]
    for k in range(N):
        inc = sorted(random.randint(0, 5) for _ in les)
        tot = 0
        for b in range(len(les)):
            tot += inc[b]
            base[b] += tot
        for b in range(len(les)):
            v = base[b]
            if grp == 2 and b == 2 and random.random() < 0.3: v -= random.randint(1, 10)
            rows[b].append(str(v))
    for b, le in enumerate(les):
        series.append((f'h_bucket{{g="{grp}",le="{le}"}}', rows[b]))

exprs = []
for r in ["1m", "2m30s", "5m"]:
    for f in ["rate", "increase", "delta", "irate", "idelta", "deriv", "changes", "resets",
              "avg_over_time", "sum_over_time", "min_over_time", "max_over_time", "count_over_time",
              "stddev_over_time", "stdvar_over_time", "last_over_time", "present_over_time",
              "mad_over_time", "ts_of_max_over_time", "ts_of_min_over_time", "ts_of_last_over_time"]:
        exprs.append(f"{f}(x[{r}])")
    exprs.append(f"predict_linear(x[{r}], 600)")
    exprs.append(f"quantile_over_time(0.3, x[{r}])")
    exprs.append(f"double_exponential_smoothing(x[{r}], 0.3, 0.6)")
    exprs.append(f"rate(h_bucket[{r}])")
for f in ["abs", "ceil", "floor", "sqrt", "ln", "log2", "log10", "exp", "sgn", "sin", "cos", "tan",
          "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "deg", "rad",
          "year", "month", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "timestamp"]:
    exprs.append(f"{f}(x)")
exprs += ["round(x, 0.7)", "round(x)", "clamp(x, -1, 5)", "clamp_min(x, 3)", "clamp_max(x, 3)",
          "year(x * 1e7)", "month(x * 1e7)", "day_of_year(x * 3e7)", "days_in_month(x * 1e6)",
          "hour(x*1000)", "minute(x*100)",
          "histogram_quantile(0.5, h_bucket)", "histogram_quantile(0.9, rate(h_bucket[5m]))",
          "histogram_quantile(0.01, h_bucket)", "histogram_quantile(0.99, h_bucket)",
          "histogram_fraction(0.2, 1.5, h_bucket)", "histogram_fraction(-1, 0.5, rate(h_bucket[5m]))",
          'label_replace(x, "j", "a$1b", "i", "(\\\\d)")', 'label_join(x, "k", "-", "i", "i")',
          "scalar(x)", "vector(scalar(x))"]
times = ["5m10s", "9m59s", "12m30s"] if STEP == "17s" else ["1m", "3m", "5m", "6m40s"]

yml = os.path.join(tempfile.mkdtemp(), "t.yml")
with open(yml, "w") as f:
    f.write(f"rule_files: []\nevaluation_interval: 1m\ntests:\n  - interval: {STEP}\n    input_series:\n")
    for name, vals in series:
        f.write(f"      - series: '{name}'\n        values: '{' '.join(vals)}'\n")
    f.write("    promql_expr_test:\n")
    for e in exprs:
        for t in times:
            ee = e.replace("'", "''")
            f.write(f"      - expr: '{ee}'\n        eval_time: {t}\n        exp_samples: []\n")
    # promtool loads the input only up to the last evaluation time (rounded down to the
    # evaluation interval): one late evaluation makes sure every sample is there.
    f.write("      - expr: 'vector(1)'\n        eval_time: 1h\n        exp_samples: [{labels: '{}', value: 1}]\n")
out = subprocess.run([PROMTOOL, "test", "rules", "--enable-feature=promql-experimental-functions", yml], capture_output=True, text=True); out = out.stdout + out.stderr
# parse blocks
blocks = re.findall(r'expr: "(.*?)", time: (\S+),\n\s+exp: nil\n\s+got: (.*)\n', out)
got = {}
for e, t, g in blocks:
    e = e.encode().decode('unicode_escape')
    got[(e, t)] = g
def samples(g):
    res = []
    for m in re.finditer(r'(\{[^}]*\}) (\S+?)(?:, |$)', g):
        res.append((m.group(1), m.group(2)))
    return res
with open(OUT, "w") as f:
    f.write(f"""# kmon's own promqltest cases: every PromQL function on float data, with the answers of
# Prometheus 3.5.3 (promtool test rules, experimental functions on). Generated by
# functions_differential.py (seed {SEED}) from random counters with resets and gaps, a
# gauge with infinities, a series with a NaN, and classic histograms (one of them not
# monotonic). Regenerate with: python3 tests/promql/functions_differential.py {SEED} OUT {STEP}

""")
    f.write(f"load {STEP}\n")
    for name, vals in series:
        f.write(f"  {name} {' '.join(vals)}\n")
    f.write("\n")
    n = 0
    for e in exprs:
        for t in times:
            key = (e, t)
            g = got.get(key)
            f.write(f"eval instant at {t} {e}\n")
            if g is None:
                pass  # empty
            elif e.startswith("scalar("):
                f.write(f"  {samples(g)[0][1]}\n")
            elif g.startswith("{") is False:
                f.write(f"  {g}\n")
            else:
                for lbl, v in samples(g):
                    f.write(f"  {lbl} {v}\n")
            f.write("\n")
            n += 1
print(f"{n} cases, {len(got)} with a non-empty answer", file=sys.stderr)
