#!/usr/bin/env python3
"""remote_write side by side: kmon serve and Prometheus 3.5 scrape the same synthetic
targets and remote-write to a Prometheus receiver each; run by
bench/remote-write-side-by-side.sh (which documents the knobs).

For each sender (kmon, prometheus) two runs, one after the other on the same load: a
scrape-only baseline (no remote_write) and a remote_write run (its own receiver,
--web.enable-remote-write-receiver). Each run waits until every target is up, warms up,
then measures over DURATION seconds: the sender's CPU (utime+stime from /proc/PID/stat),
the samples it sent (its own prometheus_remote_storage_samples_total) and, for a check,
what the receiver appended. Reported: samples/s sent, CPU-seconds per million samples
sent (total, and minus the baseline's CPU per second), and kmon/Prometheus ratios. One
JSON object goes to stdout, progress to stderr. Every process is started here and
stopped by PID; every wait is bounded. Standard library only; loopback only.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ENV = os.environ
TARGETS = int(ENV.get("TARGETS", "20"))
SERIES = int(ENV.get("SERIES", "1000"))
INTERVAL = int(ENV.get("INTERVAL", "1"))
WARMUP = int(ENV.get("WARMUP", "10"))
DURATION = int(ENV.get("DURATION", "30"))
KMON = ENV["KMON"]
PROM = os.path.join(ENV.get("PROM_BIN", "/opt/prom-ref/usr/bin"), "prometheus")
SENDERS = ENV.get("SENDERS", "kmon,prometheus").split(",")
CLK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(f"[remote-write-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- the synthetic targets ------------------------------------------------------------

class Pages:
    """Page k (the k-th scrape of a target) is the same text for every target (the
    instance label tells them apart): SERIES series in 10 families, counters growing by
    a series-dependent step, gauges wandering. Built once per k and cached briefly."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cache: dict[int, bytes] = {}
        fams = 10
        per = max(1, SERIES // fams)
        self.rows = []
        for f in range(fams):
            kind = "counter" if f % 2 == 0 else "gauge"
            name = f"bench_{kind}_{f}" + ("_total" if kind == "counter" else "")
            rows = [f'{name}{{series="{i}",shard="{i % 7}"}} ' for i in range(per)]
            self.rows.append((name, kind, rows))

    def page(self, k: int) -> bytes:
        with self.lock:
            p = self.cache.get(k)
            if p is not None:
                return p
        out = []
        for f, (name, kind, rows) in enumerate(self.rows):
            base = name[:-6] if name.endswith("_total") else name
            out.append(f"# TYPE {base} {kind}\n")
            if kind == "counter":
                out.extend(f"{r}{k * (i % 13 + 1)}\n" for i, r in enumerate(rows))
            else:
                out.extend(f"{r}{math.sin(k * 0.1 + i):.6g}\n" for i, r in enumerate(rows))
        p = "".join(out).encode()
        with self.lock:
            self.cache[k] = p
            for old in [x for x in self.cache if x < k - 4]:
                del self.cache[old]
        return p


def start_targets(n: int) -> tuple[list[int], list[ThreadingHTTPServer]]:
    pages = Pages()
    servers, ports = [], []
    for _ in range(n):
        count = {"k": 0}

        class H(BaseHTTPRequestHandler):
            c = count

            def do_GET(self) -> None:  # noqa: N802
                k = self.c["k"]
                self.c["k"] = k + 1
                body = pages.page(k)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a) -> None:
                pass

        s = ThreadingHTTPServer(("127.0.0.1", 0), H)
        s.daemon_threads = True
        threading.Thread(target=s.serve_forever, daemon=True).start()
        servers.append(s)
        ports.append(s.server_address[1])
    return ports, servers


# -- processes and HTTP ------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 10.0) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read().decode()
    except Exception:
        return None


def wait(cond, limit: float, what: str) -> None:
    end = time.time() + limit
    while time.time() < end:
        if cond():
            return
        time.sleep(0.25)
    raise SystemExit(f"timed out after {limit:.0f}s waiting for {what}")


def query(base: str, q: str) -> float | None:
    body = get(f"{base}/api/v1/query?query={urllib.parse.quote(q)}")
    try:
        res = json.loads(body)["data"]["result"]
        return float(res[0]["value"][1]) if res else 0.0
    except Exception:
        return None


def metric(base: str, name: str) -> float | None:
    text = get(f"{base}/metrics")
    if text is None:
        return None
    total, seen = 0.0, False
    for line in text.splitlines():
        if line.startswith(name) and line[len(name):len(name) + 1] in (" ", "{"):
            try:
                total += float(line.rsplit(" ", 1)[1])
                seen = True
            except ValueError:
                pass
    return total if seen else None


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


class Proc:
    def __init__(self, args: list[str], logpath: str) -> None:
        self.log = open(logpath, "ab")
        self.p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(10)
        self.log.close()


def start_receiver(work: str) -> tuple[Proc, str]:
    port = free_port()
    cfg = os.path.join(work, "receiver.yml")
    open(cfg, "w").close()
    p = Proc([PROM, f"--config.file={cfg}", f"--storage.tsdb.path={work}/receiver-data",
              f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver",
              "--log.level=warn"], os.path.join(work, "receiver.log"))
    url = f"http://127.0.0.1:{port}"
    wait(lambda: get(f"{url}/-/ready") is not None, 90, "the receiver")
    return p, url


def config(ports: list[int], remote: str | None) -> str:
    lines = ["global:", f"  scrape_interval: {INTERVAL}s", f"  scrape_timeout: {INTERVAL}s",
             "scrape_configs:", "  - job_name: synthetic", "    static_configs:", "      - targets:"]
    lines += [f"          - 127.0.0.1:{p}" for p in ports]
    if remote:
        lines += ["remote_write:", f"  - url: {remote}/api/v1/write"]
    return "\n".join(lines) + "\n"


def run(sender: str, ports: list[int], rw: bool) -> dict:
    work = tempfile.mkdtemp(prefix=f"kmon-rw-bench-{sender}-")
    try:
        recv, recv_url = start_receiver(work) if rw else (None, None)
        cfg = os.path.join(work, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write(config(ports, recv_url))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        data = os.path.join(work, "data")
        if sender == "kmon":
            args = [KMON, "serve", "--config", cfg, "--listen", f"127.0.0.1:{port}", "--data-dir", data]
        else:
            args = [PROM, f"--config.file={cfg}", f"--web.listen-address=127.0.0.1:{port}",
                    f"--storage.tsdb.path={data}", "--log.level=warn"]
        srv = Proc(args, os.path.join(work, "sender.log"))
        try:
            wait(lambda: get(f"{url}/-/ready") is not None, 90, f"{sender} ready")
            wait(lambda: query(url, 'sum(up{job="synthetic"})') == len(ports), 60 + 5 * INTERVAL,
                 f"{sender}: every target up")
            log(f"{sender} {'remote_write' if rw else 'baseline'}: all {len(ports)} targets up; warm-up {WARMUP}s")
            time.sleep(WARMUP)
            sent_name = "prometheus_remote_storage_samples_total"
            t0, c0, s0 = time.time(), cpu_seconds(srv.p.pid), metric(url, sent_name) if rw else 0.0
            r0 = metric(recv_url, "prometheus_tsdb_head_samples_appended_total") if rw else 0.0
            time.sleep(DURATION)
            t1, c1, s1 = time.time(), cpu_seconds(srv.p.pid), metric(url, sent_name) if rw else 0.0
            r1 = metric(recv_url, "prometheus_tsdb_head_samples_appended_total") if rw else 0.0
            pending = metric(url, "prometheus_remote_storage_samples_pending") if rw else None
        finally:
            srv.stop()
            if recv:
                recv.stop()
        secs = t1 - t0
        out = {"sender": sender, "remote_write": rw, "seconds": round(secs, 3),
               "cpu_seconds": round(c1 - c0, 3), "cpu_per_s": (c1 - c0) / secs}
        if rw:
            if s0 is None or s1 is None:
                raise SystemExit(f"{sender} has no {sent_name} in its /metrics")
            out.update({"samples_sent": s1 - s0, "sent_per_s": (s1 - s0) / secs,
                        "receiver_appended": (r1 or 0) - (r0 or 0), "pending_at_end": pending,
                        "cpu_s_per_million_sent": (c1 - c0) / max(s1 - s0, 1) * 1e6})
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ports, servers = start_targets(TARGETS)
    log(f"{TARGETS} targets x {SERIES} series at {INTERVAL}s on 127.0.0.1; warm-up {WARMUP}s, window {DURATION}s")
    runs = {}
    try:
        for sender in SENDERS:
            base = run(sender, ports, False)
            rw = run(sender, ports, True)
            rw["cpu_s_per_million_sent_minus_baseline"] = (
                (rw["cpu_per_s"] - base["cpu_per_s"]) / max(rw["sent_per_s"], 1e-9) * 1e6)
            runs[sender] = {"baseline": base, "remote_write": rw}
            log(f"{sender}: {rw['sent_per_s']:.0f} samples/s sent, "
                f"{rw['cpu_s_per_million_sent']:.2f} CPU-s/M sent "
                f"({rw['cpu_s_per_million_sent_minus_baseline']:.2f} over the scrape-only baseline)")
    finally:
        for s in servers:
            s.shutdown()
    ratios = {}
    if "kmon" in runs and "prometheus" in runs:
        k, p = runs["kmon"]["remote_write"], runs["prometheus"]["remote_write"]
        ratios = {key: k[key] / p[key] if p[key] else None for key in
                  ("sent_per_s", "cpu_s_per_million_sent", "cpu_s_per_million_sent_minus_baseline")}
    version = subprocess.run([PROM, "--version"], capture_output=True, text=True).stdout.splitlines()[:1]
    print(json.dumps({"params": {"targets": TARGETS, "series_per_target": SERIES, "interval_s": INTERVAL,
                                 "warmup_s": WARMUP, "duration_s": DURATION, "kmon": KMON,
                                 "prometheus": version[0] if version else PROM},
                      "runs": runs, "kmon_over_prometheus": ratios}, indent=2))


if __name__ == "__main__":
    main()
