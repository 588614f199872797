#!/usr/bin/env python3
"""Checks kmon's own promqltest files against the real Prometheus 3.5 through
`promtool test rules`: every section between `clear`s becomes one rule-test group (its
load blocks as input_series on a common interval), every instant eval and every step of
a range eval with a series or scalar expectation becomes a promql_expr_test. Cases that
promtool cannot express (expected failures, NaN/stale expectations, annotations) are
left out and counted.

usage: tests/promql/promtool_check.py [--promtool PATH] FILE.test...
"""

import math
import os
import re
import subprocess
import sys
import tempfile

UNITS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000, "w": 604800000, "y": 31536000000}


def dur(s):
    if s == "0":
        return 0
    total = 0
    for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", s):
        total += int(n) * UNITS[u]
    if re.sub(r"(\d+)(ms|s|m|h|d|w|y)", "", s):
        raise ValueError("bad duration " + s)
    return total


def num(tok):
    t = tok.lower()
    if t in ("inf", "+inf"):
        return math.inf
    if t == "-inf":
        return -math.inf
    if t == "nan":
        return math.nan
    if re.fullmatch(r"[-+]?0[0-7]+", tok):
        return float(int(tok.replace("0", "0o", 1) if tok[0] == "0" else tok[0] + "0o" + tok[2:], 0))
    return float(tok.replace("_", ""))


def expand(items):
    """Expands a load-syntax value list into a list of floats, None (omitted) or 'stale'."""
    out = []
    for it in items:
        if it == "_":
            out.append(None)
        elif re.fullmatch(r"_x\d+", it):
            out += [None] * int(it[2:])
        elif it == "stale":
            out.append("stale")
        else:
            m = re.fullmatch(r"([-+]?[^-+x]+)(?:([-+])([^-+x]+))?x(\d+)", it)
            if m:
                v, sign, step, n = m.group(1), m.group(2), m.group(3), int(m.group(4))
                cur, inc = num(v), (num(step) if step else 0.0) * (-1 if sign == "-" else 1)
                for _ in range(n + 1):
                    out.append(cur)
                    cur += inc
            else:
                out.append(num(it))
    return out


def split_series(line):
    depth, i = 0, 0
    while i < len(line):
        c = line[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c.isspace() and depth == 0:
            break
        i += 1
    return line[:i], line[i:].split()


def fmt(v):
    if v is None:
        return "_"
    if v == "stale":
        return "stale"
    if math.isinf(v):
        return "Inf" if v > 0 else "-Inf"
    return repr(v)


def sections(path):
    lines = [l.strip() for l in open(path).read().split("\n")]
    lines = ["" if l.startswith("#") else l for l in lines]
    secs, cur, i = [], {"loads": [], "evals": []}, 0
    while i < len(lines):
        l = lines[i]
        if not l:
            i += 1
            continue
        word = l.split()[0].lower()
        block = []
        j = i + 1
        while j < len(lines) and lines[j]:
            block.append(lines[j])
            j += 1
        if word == "clear":
            secs.append(cur)
            cur = {"loads": [], "evals": []}
            j = i + 1
        elif word.startswith("load"):
            cur["loads"].append((dur(l.split()[1]), block))
        elif word.startswith("eval"):
            cur["evals"].append((i + 1, l, block))
        i = j
    secs.append(cur)
    return secs


def group(sec, name):
    steps = [s for s, _ in sec["loads"] if s > 0]
    interval = math.gcd(*steps) if steps else 60000
    series = {}
    for step, block in sec["loads"]:
        for line in block:
            metric, items = split_series(line)
            for k, v in enumerate(expand(items)):
                if v is None:
                    continue
                series.setdefault(metric, {})[k * step // interval] = v
    inputs = []
    for metric, pts in series.items():
        n = max(pts) + 1 if pts else 0
        inputs.append((metric, " ".join(fmt(pts.get(k)) for k in range(n))))
    tests, skipped = [], 0
    for lineno, header, block in sec["evals"]:
        m = re.match(r"^(eval\w*)\s+instant\s+at\s+(\S+)\s+(.+)$", header)
        r = re.match(r"^(eval\w*)\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+)$", header)
        cmd = (m or r).group(1)
        if cmd in ("eval_fail", "eval_warn", "eval_info") or any(b.startswith(("expect", "expected_")) for b in block):
            skipped += 1
            continue
        times = [dur(m.group(2))] if m else list(range(dur(r.group(2)), dur(r.group(3)) + 1, max(dur(r.group(4)), 1)))
        expr = m.group(3) if m else r.group(5)
        exp = []
        for b in block:
            try:
                exp.append(("{}", [num(b)]))
            except ValueError:
                metric, items = split_series(b)
                exp.append((metric, expand(items)))
        bad = any(v == "stale" or (isinstance(v, float) and math.isnan(v)) for _, vs in exp for v in vs)
        if bad:
            skipped += 1
            continue
        for k, t in enumerate(times):
            samples = [(mt, vs[k if r else 0]) for mt, vs in exp if (k if r else 0) < len(vs) and vs[k if r else 0] is not None]
            tests.append((f"line {lineno} t={t}ms", expr, t, samples))
    return interval, inputs, tests, skipped


def yaml_str(s):
    return "'" + s.replace("'", "''") + "'"


def main():
    args = sys.argv[1:]
    promtool = os.path.join(os.environ.get("KMON_REF_BIN", "/opt/prom-ref/usr/bin"), "promtool")
    if args[:1] == ["--promtool"]:
        promtool, args = args[1], args[2:]
    status = 0
    for path in args:
        out = ["rule_files: []", "evaluation_interval: 1m", "tests:"]
        n_tests = n_skipped = 0
        for si, sec in enumerate(sections(path)):
            interval, inputs, tests, skipped = group(sec, si)
            n_skipped += skipped
            if not tests:
                continue
            n_tests += len(tests)
            out.append(f"  - name: {yaml_str(f'{os.path.basename(path)} section {si}')}")
            out.append(f"    interval: {interval}ms")
            out.append("    input_series:")
            for metric, values in inputs:
                out.append(f"      - series: {yaml_str(metric)}")
                out.append(f"        values: {yaml_str(values)}")
            if not inputs:
                out.append("      []")
            out.append("    promql_expr_test:")
            for name, expr, t, samples in tests:
                out.append(f"      - expr: {yaml_str(expr)}")
                out.append(f"        eval_time: {t}ms")
                out.append("        exp_samples:")
                for metric, v in samples:
                    out.append(f"          - labels: {yaml_str(metric)}")
                    out.append(f"            value: {fmt(v) if not math.isinf(v) else ('.inf' if v > 0 else '-.inf')}")
                if not samples:
                    out[-1] = "        exp_samples: []"
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            f.write("\n".join(out) + "\n")
            yml = f.name
        res = subprocess.run(
            [promtool, "test", "rules", "--enable-feature=promql-experimental-functions,promql-delayed-name-removal", yml],
            capture_output=True,
            text=True,
        )
        ok = res.returncode == 0
        print(f"{path}: {n_tests} checks, {n_skipped} cases not expressible in promtool: {'OK' if ok else 'FAILED'}")
        if not ok:
            print(res.stdout + res.stderr)
            print(f"(rule test file kept at {yml})")
            status = 1
        else:
            os.unlink(yml)
    sys.exit(status)


if __name__ == "__main__":
    main()
