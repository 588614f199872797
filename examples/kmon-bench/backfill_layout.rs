//! The backfill file's layout: which families and series each target has (node_exporter-,
//! cAdvisor-, kube-state-metrics- and histogram-shaped, padded to an exact count) and the
//! deterministic value model of each series. `backfill` writes them out.

use std::collections::BTreeMap;

use super::BackfillOpts;
use crate::wave::{Counter, Gauge, Rng, Round};

const HEX: &[u8] = b"0123456789abcdef";

/// A series' value over time (`t` seconds since the first sample, `k` the sample number).
#[derive(Debug, Clone)]
pub(super) enum Model {
    Counter(Counter, Round),
    Gauge(Gauge, Round),
    Const(f64),
}

impl Model {
    fn counter(rng: &Rng, sid: u64, base: f64, a: f64, step: f64, r: Round) -> Model {
        Model::Counter(
            Counter::wandering(rng, sid, base, a, step, (120.0, 1800.0)),
            r,
        )
    }
    fn gauge(rng: &Rng, sid: u64, base: f64, amp: f64, jit: f64, r: Round) -> Model {
        Model::Gauge(Gauge::wave(rng, sid, base, amp, jit, (180.0, 3600.0)), r)
    }
    pub(super) fn value(&self, k: u64, t: f64) -> f64 {
        match self {
            Model::Counter(c, r) => r.apply(c.at(k, t)),
            Model::Gauge(g, r) => r.apply(g.at(k, t)),
            Model::Const(v) => *v,
        }
    }
}

pub(super) const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
pub(super) const SCALE: u64 = 1_000_000;

/// One classic histogram: two request classes with their own latency shapes and wandering
/// rates, so quantiles move while buckets stay cumulative and monotone.
#[derive(Debug, Clone)]
pub(super) struct Hist {
    /// The label text without `le` (no braces).
    pub(super) labels: String,
    pub(super) fast: Model,
    pub(super) slow: Model,
    pub(super) f: [u64; 12],
    pub(super) g: [u64; 12],
    pub(super) mean_f: f64,
    pub(super) mean_s: f64,
}

pub(super) fn shape(median: f64, spread: f64) -> [u64; 12] {
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
pub(super) struct Series {
    pub(super) labels: String,
    pub(super) model: Model,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Counter,
    Gauge,
}

#[derive(Debug, Default)]
pub(super) struct Family {
    pub(super) kind: Option<Kind>,
    pub(super) help: &'static str,
    pub(super) series: Vec<Series>,
    pub(super) hists: Vec<Hist>,
}

/// Counts what is still free in a target's series budget.
pub(super) struct Budget(usize);

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

pub(super) const NAMESPACES: [&str; 5] =
    ["default", "kube-system", "monitoring", "payments", "web"];
pub(super) const APPS: [&str; 6] = ["api", "web", "worker", "cache", "db-proxy", "ingest"];
pub(super) const PHASES: [&str; 5] = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];
pub(super) const MODES: [&str; 8] = [
    "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
];
pub(super) const HANDLERS: [&str; 8] = [
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
pub(super) fn layout(o: &BackfillOpts) -> BTreeMap<&'static str, Family> {
    let mut fams: BTreeMap<&'static str, Family> = BTreeMap::new();
    let mut hists = Vec::new();
    let step = o.step_s as f64;
    for t in 0..o.targets {
        let rng = Rng::new(o.seed ^ (t as u64).wrapping_mul(0xA24B_AED4_963E_E407));
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
            let pod = format!("{app}-{:06x}-{}", (t << 16) + i, rng.word(5, HEX));
            let uid = format!(
                "{}-{}-{}",
                rng.word(8, HEX),
                rng.word(4, HEX),
                rng.word(12, HEX)
            );
            let pl = format!("namespace=\"{ns}\",pod=\"{pod}\"");
            let cl = format!(
                "container=\"{app}\",id=\"/kubepods/burstable/pod{uid}/{}\",image=\"registry.example.com/{ns}/{app}:v1.{}.{}\",name=\"k8s_{app}_{pod}_{ns}_{uid}_0\",{pl},{tl}",
                rng.word(64, HEX),
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
            let m = Model::Counter(Counter::steady((i % 4) as f64, a, 0), Round::Int);
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

pub(super) fn add_series(
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
