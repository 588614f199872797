//! The suite's backfill data: a deterministic OpenMetrics history file (what a scraper would
//! have stored after scraping `targets` node-like targets every `step_s` seconds for
//! `samples` scrapes) with node_exporter-, cAdvisor-, kube-state-metrics- and histogram-shaped
//! series, an exact number of series per target (padded with hwmon gauges), one family at a
//! time, HELP and TYPE once, samples of a series in time order, histogram points written
//! together per timestamp, timestamps in seconds and `# EOF` at the end. Both
//! `kmon import openmetrics` and `promtool tsdb create-blocks-from openmetrics` read it; the
//! storage, query and start-up sections of the suite use it. Values are pure functions of
//! (seed, target, series, k): two runs write the same bytes.

use std::collections::BTreeMap;
use std::f64::consts::TAU;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Serialize;

/// What to write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackfillOpts {
    pub targets: usize,
    /// Series per target, exact (`up` included).
    pub series_per_target: usize,
    /// Unix seconds of sample 0.
    pub start_s: i64,
    pub step_s: i64,
    /// Samples per series.
    pub samples: usize,
    pub seed: u64,
    pub job: String,
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub series: u64,
    pub samples: u64,
    pub bytes: u64,
    pub start_s: i64,
    /// The newest sample's time.
    pub end_s: i64,
}

/// A deterministic uniform value in [0, 1) from `(k, sid)`.
fn noise(k: u64, sid: u64) -> f64 {
    let mut x = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ sid.wrapping_mul(0xD1B5_4A32_D192_ED03);
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// SplitMix64 for the layout's choices.
struct Rng(std::cell::Cell<u64>);

impl Rng {
    fn unit(&self) -> f64 {
        let x = self.0.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.0.set(x);
        noise(x, 0x5EED)
    }
    fn range(&self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    fn hex(&self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[(self.unit() * 16.0) as usize % 16]))
            .collect()
    }
}

/// How a value is rounded when printed.
#[derive(Debug, Clone, Copy)]
enum Round {
    Int,
    Dp(i32),
    Full,
}

fn round(v: f64, r: Round) -> f64 {
    match r {
        Round::Int => v.floor(),
        Round::Dp(d) => {
            let m = 10f64.powi(d);
            (v * m).round() / m
        }
        Round::Full => v,
    }
}

/// A series' value over time (`t` seconds since the first sample, `k` the sample number).
#[derive(Debug, Clone)]
enum Model {
    /// base + a t + c (cos p − cos(w t + p)) + jit · noise: every increment is positive.
    Counter {
        base: f64,
        a: f64,
        c: f64,
        w: f64,
        p: f64,
        jit: f64,
        sid: u64,
        r: Round,
    },
    /// base (1 + amp sin(w t + p) + jit (noise − ½)).
    Gauge {
        base: f64,
        amp: f64,
        w: f64,
        p: f64,
        jit: f64,
        sid: u64,
        r: Round,
    },
    Const(f64),
}

impl Model {
    fn counter(rng: &Rng, sid: u64, base: f64, a: f64, step: f64, r: Round) -> Model {
        let w = TAU / rng.range(120.0, 1800.0);
        Model::Counter {
            base,
            a,
            c: 0.4 * a / w,
            w,
            p: rng.range(0.0, TAU),
            jit: 0.3 * a * step,
            sid,
            r,
        }
    }
    fn gauge(rng: &Rng, sid: u64, base: f64, amp: f64, jit: f64, r: Round) -> Model {
        let w = TAU / rng.range(180.0, 3600.0);
        Model::Gauge {
            base,
            amp,
            w,
            p: rng.range(0.0, TAU),
            jit,
            sid,
            r,
        }
    }
    fn value(&self, k: u64, t: f64) -> f64 {
        match *self {
            Model::Counter {
                base,
                a,
                c,
                w,
                p,
                jit,
                sid,
                r,
            } => round(
                base + a * t + c * (p.cos() - (w * t + p).cos()) + jit * noise(k, sid),
                r,
            ),
            Model::Gauge {
                base,
                amp,
                w,
                p,
                jit,
                sid,
                r,
            } => round(
                base * (1.0 + amp * (w * t + p).sin() + jit * (noise(k, sid) - 0.5)),
                r,
            ),
            Model::Const(v) => v,
        }
    }
}

const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const SCALE: u64 = 1_000_000;

/// One classic histogram: two request classes with their own latency shapes and wandering
/// rates, so quantiles move while buckets stay cumulative and monotone.
#[derive(Debug, Clone)]
struct Hist {
    /// The label text without `le` (no braces).
    labels: String,
    fast: Model,
    slow: Model,
    f: [u64; 12],
    g: [u64; 12],
    mean_f: f64,
    mean_s: f64,
}

fn shape(median: f64, spread: f64) -> [u64; 12] {
    let mut out = [SCALE; 12];
    for (i, b) in BUCKETS.iter().enumerate() {
        // A logistic stand-in for the log-normal CDF: monotone in b.
        let z = (b.ln() - median.ln()) / spread;
        out[i] = (SCALE as f64 / (1.0 + (-1.7 * z).exp())) as u64;
    }
    out
}

/// One series of a family: its label text (no braces) and value model.
#[derive(Debug, Clone)]
struct Series {
    labels: String,
    model: Model,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

#[derive(Debug, Default)]
struct Family {
    kind: Option<Kind>,
    help: &'static str,
    series: Vec<Series>,
    hists: Vec<Hist>,
}

/// Counts what is still free in a target's series budget.
struct Budget(usize);

impl Budget {
    fn take(&mut self, n: usize) -> bool {
        if n <= self.0 {
            self.0 -= n;
            true
        } else {
            false
        }
    }
}

const NAMESPACES: [&str; 5] = ["default", "kube-system", "monitoring", "payments", "web"];
const APPS: [&str; 6] = ["api", "web", "worker", "cache", "db-proxy", "ingest"];
const PHASES: [&str; 5] = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];
const MODES: [&str; 8] = [
    "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
];
const HANDLERS: [&str; 8] = [
    "/api/v1/query",
    "/api/v1/series",
    "/login",
    "/",
    "/static",
    "/health",
    "/upload",
    "/search",
];

/// The families of all targets, keyed by OpenMetrics family name.
fn layout(o: &BackfillOpts) -> BTreeMap<&'static str, Family> {
    let mut fams: BTreeMap<&'static str, Family> = BTreeMap::new();
    let mut hists = Vec::new();
    let step = o.step_s as f64;
    for t in 0..o.targets {
        let rng = Rng(std::cell::Cell::new(
            o.seed ^ (t as u64).wrapping_mul(0xA24B_AED4_963E_E407),
        ));
        let mut sid = (t as u64) << 32;
        let mut next_sid = || {
            sid += 1;
            sid
        };
        let b = &mut Budget(o.series_per_target);
        let tl = format!(
            "instance=\"10.0.{}.{}:9100\",job=\"{}\"",
            t / 250,
            t % 250 + 1,
            o.job
        );
        let mut add =
            |name: &'static str, kind: Kind, help: &'static str, labels: String, model: Model| {
                add_series(&mut fams, name, kind, help, labels, model)
            };
        let n = o.series_per_target;
        if b.take(1) {
            add(
                "up",
                Kind::Gauge,
                "1 if the target was scraped",
                tl.clone(),
                Model::Const(1.0),
            );
        }
        if b.take(1) {
            let base = rng.range(0.2, 4.0);
            let m = Model::gauge(&rng, next_sid(), base, 0.5, 0.2, Round::Dp(2));
            add("node_load1", Kind::Gauge, "1m load average", tl.clone(), m);
        }
        if b.take(2) {
            let total = (rng.range(4.0, 64.0) as u64 * (1 << 30)) as f64;
            add(
                "node_memory_MemTotal_bytes",
                Kind::Gauge,
                "Memory information field MemTotal_bytes",
                tl.clone(),
                Model::Const(total),
            );
            let m = Model::gauge(&rng, next_sid(), total * 0.5, 0.3, 0.05, Round::Int);
            add(
                "node_memory_MemAvailable_bytes",
                Kind::Gauge,
                "Memory information field MemAvailable_bytes",
                tl.clone(),
                m,
            );
        }
        for cpu in 0..(n / 120).clamp(1, 32) {
            if !b.take(8) {
                break;
            }
            for mode in MODES {
                let a = if mode == "idle" {
                    rng.range(0.3, 0.9)
                } else {
                    rng.range(0.005, 0.1)
                };
                let m =
                    Model::counter(&rng, next_sid(), rng.range(1e4, 1e6), a, step, Round::Dp(2));
                add(
                    "node_cpu_seconds",
                    Kind::Counter,
                    "Seconds the CPUs spent in each mode",
                    format!("cpu=\"{cpu}\",mode=\"{mode}\",{tl}"),
                    m,
                );
            }
        }
        for i in 0..(n / 300).clamp(1, 8) {
            if !b.take(2) {
                break;
            }
            let (dev, fstype, mnt) = if i == 0 {
                ("/dev/sda1".to_string(), "ext4", "/".to_string())
            } else if i % 2 == 1 {
                ("tmpfs".to_string(), "tmpfs", format!("/run/{i}"))
            } else {
                (format!("/dev/sdb{i}"), "ext4", format!("/data{i}"))
            };
            let l = format!("device=\"{dev}\",fstype=\"{fstype}\",mountpoint=\"{mnt}\",{tl}");
            let size = (rng.range(10.0, 500.0) as u64 * (1 << 30)) as f64;
            add(
                "node_filesystem_size_bytes",
                Kind::Gauge,
                "Filesystem size in bytes",
                l.clone(),
                Model::Const(size),
            );
            let m = Model::gauge(&rng, next_sid(), size * 0.4, 0.1, 0.01, Round::Int);
            add(
                "node_filesystem_avail_bytes",
                Kind::Gauge,
                "Filesystem space available in bytes",
                l,
                m,
            );
        }
        for i in 0..(n / 300).clamp(1, 8) {
            if !b.take(1) {
                break;
            }
            let dev = if i == 0 {
                "lo".to_string()
            } else {
                format!("eth{}", i - 1)
            };
            let m = Model::counter(
                &rng,
                next_sid(),
                rng.range(1e6, 1e11),
                rng.range(1e3, 1e6),
                step,
                Round::Int,
            );
            add(
                "node_network_receive_bytes",
                Kind::Counter,
                "Network device statistic receive_bytes",
                format!("device=\"{dev}\",{tl}"),
                m,
            );
        }
        for h in HANDLERS.iter().take((n / 250).clamp(1, 8)) {
            if !b.take(16) {
                break;
            }
            let l = format!("handler=\"{h}\",{tl}");
            let rate = rng.range(1.0, 200.0);
            let up = rng.range(3600.0, 86400.0);
            let fast = Model::counter(&rng, next_sid(), rate * up, rate, step, Round::Full);
            let srate = rate * rng.range(0.01, 0.08);
            let slow = Model::counter(&rng, next_sid(), srate * up, srate, step, Round::Full);
            let (mf, ms) = (rng.range(0.008, 0.12), rng.range(0.3, 3.0));
            let hist = Hist {
                labels: l.clone(),
                fast,
                slow,
                f: shape(mf, 0.6),
                g: shape(ms, 0.8),
                mean_f: mf * 1.2,
                mean_s: ms * 1.4,
            };
            hists.push(hist);
            for (code, share) in [("200", 0.98), ("500", 0.02)] {
                let m = Model::counter(
                    &rng,
                    next_sid(),
                    rate * up * share,
                    rate * share,
                    step,
                    Round::Int,
                );
                add(
                    "http_requests",
                    Kind::Counter,
                    "Requests served",
                    format!("code=\"{code}\",{l}"),
                    m,
                );
            }
        }
        let pods = b.0 * 9 / 10 / 9;
        for i in 0..pods {
            if !b.take(9) {
                break;
            }
            let ns = NAMESPACES[i % NAMESPACES.len()];
            let app = APPS[(i / NAMESPACES.len()) % APPS.len()];
            let pod = format!("{app}-{:06x}-{}", (t << 16) + i, rng.hex(5));
            let uid = format!("{}-{}-{}", rng.hex(8), rng.hex(4), rng.hex(12));
            let pl = format!("namespace=\"{ns}\",pod=\"{pod}\"");
            let cl = format!(
                "container=\"{app}\",id=\"/kubepods/burstable/pod{uid}/{}\",image=\"registry.example.com/{ns}/{app}:v1.{}.{}\",name=\"k8s_{app}_{pod}_{ns}_{uid}_0\",{pl},{tl}",
                rng.hex(64),
                i % 7,
                i % 13
            );
            let m = Model::counter(
                &rng,
                next_sid(),
                rng.range(10.0, 1e5),
                rng.range(0.01, 1.5),
                step,
                Round::Full,
            );
            add(
                "container_cpu_usage_seconds",
                Kind::Counter,
                "Cumulative cpu time consumed",
                cl.clone(),
                m,
            );
            let m = Model::gauge(&rng, next_sid(), rng.range(2e7, 2e9), 0.2, 0.02, Round::Int);
            add(
                "container_memory_working_set_bytes",
                Kind::Gauge,
                "Current working set",
                cl,
                m,
            );
            let phase = if i % 17 == 3 { 0 } else { 1 };
            for (j, ph) in PHASES.iter().enumerate() {
                let v = if j == phase { 1.0 } else { 0.0 };
                add(
                    "kube_pod_status_phase",
                    Kind::Gauge,
                    "The pods current phase",
                    format!("{pl},phase=\"{ph}\",uid=\"{uid}\",{tl}"),
                    Model::Const(v),
                );
            }
            let info = format!(
                "{pl},host_ip=\"10.1.{}.{}\",node=\"node-{t}\",pod_ip=\"10.244.{}.{}\",uid=\"{uid}\",{tl}",
                t / 250,
                t % 250,
                i / 250,
                i % 250
            );
            add(
                "kube_pod_info",
                Kind::Gauge,
                "Information about pod",
                info,
                Model::Const(1.0),
            );
            let a = if i % 11 == 0 {
                rng.range(1e-4, 1e-3)
            } else {
                0.0
            };
            let m = Model::Counter {
                base: (i % 4) as f64,
                a,
                c: 0.0,
                w: 1.0,
                p: 0.0,
                jit: 0.0,
                sid: 0,
                r: Round::Int,
            };
            add(
                "kube_pod_container_status_restarts",
                Kind::Counter,
                "The number of container restarts",
                format!("container=\"{app}\",{pl},uid=\"{uid}\",{tl}"),
                m,
            );
        }
        for s in 0..b.0 {
            let m = Model::gauge(
                &rng,
                next_sid(),
                rng.range(30.0, 80.0),
                0.1,
                0.05,
                Round::Dp(1),
            );
            add(
                "node_hwmon_temp_celsius",
                Kind::Gauge,
                "Hardware monitor for temperature",
                format!("chip=\"platform_coretemp_0\",sensor=\"temp{s}\",{tl}"),
                m,
            );
        }
    }
    if !hists.is_empty() {
        fams.entry("http_request_duration_seconds")
            .or_default()
            .hists = hists;
    }
    fams
}

fn add_series(
    fams: &mut BTreeMap<&'static str, Family>,
    name: &'static str,
    kind: Kind,
    help: &'static str,
    labels: String,
    model: Model,
) {
    let f = fams.entry(name).or_default();
    f.kind = Some(kind);
    f.help = help;
    f.series.push(Series { labels, model });
}

/// Writes a value as Prometheus would read it back: integers without a fraction.
fn push_value(out: &mut Vec<u8>, v: f64) {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Writes the whole file to `w`.
pub fn write(o: &BackfillOpts, w: &mut impl Write) -> Result<Summary> {
    if o.targets == 0 || o.series_per_target == 0 || o.samples == 0 || o.step_s <= 0 {
        bail!("backfill sizes must be positive: {o:?}");
    }
    let fams = layout(o);
    let ts: Vec<String> = (0..o.samples)
        .map(|k| (o.start_s + k as i64 * o.step_s).to_string())
        .collect();
    let mut s = Summary {
        start_s: o.start_s,
        end_s: o.start_s + (o.samples as i64 - 1) * o.step_s,
        ..Summary::default()
    };
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut flush = |buf: &mut Vec<u8>, s: &mut Summary, force: bool| -> Result<()> {
        if force || buf.len() > (1 << 20) {
            w.write_all(buf).context("writing the backfill file")?;
            s.bytes += buf.len() as u64;
            buf.clear();
        }
        Ok(())
    };
    for (name, fam) in &fams {
        if !fam.hists.is_empty() {
            let _ = write!(
                buf,
                "# HELP {name} Request latency\n# TYPE {name} histogram\n"
            );
            for h in &fam.hists {
                let pre: Vec<String> = BUCKETS
                    .iter()
                    .map(|b| format!("{name}_bucket{{{},le=\"{b}\"}} ", h.labels))
                    .chain([
                        format!("{name}_bucket{{{},le=\"+Inf\"}} ", h.labels),
                        format!("{name}_sum{{{}}} ", h.labels),
                        format!("{name}_count{{{}}} ", h.labels),
                    ])
                    .collect();
                for (k, tk) in ts.iter().enumerate() {
                    let t = k as f64 * o.step_s as f64;
                    let nf = h.fast.value(k as u64, t) as u64;
                    let ns = h.slow.value(k as u64, t) as u64;
                    for i in 0..12 {
                        buf.extend_from_slice(pre[i].as_bytes());
                        push_value(&mut buf, ((nf * h.f[i] + ns * h.g[i]) / SCALE) as f64);
                        let _ = writeln!(buf, " {tk}");
                    }
                    buf.extend_from_slice(pre[12].as_bytes());
                    push_value(
                        &mut buf,
                        round(nf as f64 * h.mean_f + ns as f64 * h.mean_s, Round::Dp(6)),
                    );
                    let _ = writeln!(buf, " {tk}");
                    buf.extend_from_slice(pre[13].as_bytes());
                    push_value(&mut buf, (nf + ns) as f64);
                    let _ = writeln!(buf, " {tk}");
                    flush(&mut buf, &mut s, false)?;
                }
                s.series += 14;
                s.samples += 14 * o.samples as u64;
            }
            continue;
        }
        let (kind, sample_name) = match fam.kind {
            Some(Kind::Counter) => ("counter", format!("{name}_total")),
            _ => ("gauge", name.to_string()),
        };
        let _ = write!(buf, "# HELP {name} {}\n# TYPE {name} {kind}\n", fam.help);
        for se in &fam.series {
            let pre = format!("{sample_name}{{{}}} ", se.labels);
            for (k, tk) in ts.iter().enumerate() {
                buf.extend_from_slice(pre.as_bytes());
                push_value(
                    &mut buf,
                    se.model.value(k as u64, k as f64 * o.step_s as f64),
                );
                let _ = writeln!(buf, " {tk}");
                flush(&mut buf, &mut s, false)?;
            }
            s.series += 1;
            s.samples += o.samples as u64;
        }
    }
    buf.extend_from_slice(b"# EOF\n");
    flush(&mut buf, &mut s, true)?;
    Ok(s)
}

/// Writes the file at `path`.
pub fn write_file(o: &BackfillOpts, path: &Path) -> Result<Summary> {
    let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, f);
    let s = write(o, &mut w)?;
    w.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(s)
}

/// Bytes of the block directories under a data dir: (whole blocks, their chunks/ only,
/// block count). A block dir is a directory with a `meta.json`.
pub fn block_bytes(data_dir: &Path) -> Result<(u64, u64, usize)> {
    fn dir_bytes(p: &Path) -> u64 {
        let Ok(rd) = std::fs::read_dir(p) else {
            return 0;
        };
        rd.flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    }
    let (mut all, mut chunks, mut n) = (0, 0, 0);
    let rd =
        std::fs::read_dir(data_dir).with_context(|| format!("reading {}", data_dir.display()))?;
    for e in rd.flatten() {
        let p = e.path();
        if p.join("meta.json").is_file() {
            all += dir_bytes(&p);
            chunks += dir_bytes(&p.join("chunks"));
            n += 1;
        }
    }
    Ok((all, chunks, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmon::exposition::{Entry, Format, parse};
    use std::collections::{HashMap, HashSet};

    fn opts(targets: usize, series: usize, samples: usize) -> BackfillOpts {
        BackfillOpts {
            targets,
            series_per_target: series,
            start_s: 1_699_999_200,
            step_s: 15,
            samples,
            seed: 42,
            job: "node".into(),
        }
    }

    fn check(o: &BackfillOpts) -> String {
        let mut out = Vec::new();
        let s = write(o, &mut out).expect("writes");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(s.bytes as usize, text.len());
        let mut series = HashSet::new();
        let mut last: HashMap<String, i64> = HashMap::new();
        let mut samples = 0u64;
        for e in parse(&text, Format::OpenMetrics) {
            if let Entry::Sample(x) = e.expect("valid OpenMetrics") {
                let ts = x.timestamp_ms.expect("timestamped");
                let prev = last.insert(x.series().to_string(), ts);
                assert!(prev.is_none_or(|p| p < ts), "time order of {}", x.series());
                assert!(x.value.is_finite());
                series.insert(x.series().to_string());
                samples += 1;
            }
        }
        assert_eq!(series.len(), o.targets * o.series_per_target);
        assert_eq!(s.series as usize, series.len());
        assert_eq!(samples, s.samples);
        assert_eq!(
            samples,
            (o.targets * o.series_per_target * o.samples) as u64
        );
        text
    }

    #[test]
    fn exact_series_counts_and_valid_openmetrics() {
        for (t, n) in [(1, 1), (1, 5), (2, 37), (1, 300), (3, 2000)] {
            check(&opts(t, n, 4));
        }
    }

    #[test]
    fn deterministic_and_counters_never_fall() {
        let o = opts(2, 500, 40);
        let a = check(&o);
        let mut b = Vec::new();
        write(&o, &mut b).expect("writes");
        assert_eq!(a.as_bytes(), &b[..]);
        let mut last: HashMap<String, f64> = HashMap::new();
        for e in parse(&a, Format::OpenMetrics) {
            if let Ok(Entry::Sample(x)) = e
                && (x.name.ends_with("_total")
                    || x.name.ends_with("_bucket")
                    || x.name.ends_with("_count"))
            {
                let prev = last.insert(x.series().to_string(), x.value);
                assert!(prev.is_none_or(|p| p <= x.value), "{} fell", x.series());
            }
        }
        assert!(
            a.contains("kube_pod_info{") && a.contains("http_request_duration_seconds_bucket{")
        );
        assert!(a.ends_with("# EOF\n"));
    }

    #[test]
    fn bad_sizes_are_errors() {
        assert!(write(&opts(0, 10, 1), &mut Vec::new()).is_err());
        assert!(write(&opts(1, 10, 0), &mut Vec::new()).is_err());
    }
}
