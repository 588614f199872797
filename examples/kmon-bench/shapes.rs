//! The shapes a synthetic page is built from (a child of `page`): node_exporter-like node
//! series, Go/process series, classic histograms and cAdvisor plus kube-state-metrics pods,
//! added series by series within an exact budget and padded with hwmon temperatures. Label
//! text is rendered here once; `page` formats only the values per scrape.

use std::collections::{BTreeMap, HashSet};

#[path = "node.rs"]
mod node;
#[path = "vocab.rs"]
mod vocab;

use super::{
    Family, HEX, HistCore, Layout, PLACEHOLDER, PageOpts, PodClock, SAFE, Series, Value, noise,
    suffix,
};
use crate::wave::{Counter, Gauge, Rng, Round};
use vocab::{
    CODES, CPU_MODES, HANDLERS, LE, METHODS, NAMESPACES, NOTES, PHASES, SIDECARS, TEAMS, help_of,
    prefix,
};

/// Builds a layout series by series within an exact budget.
struct Builder<'a> {
    opts: &'a PageOpts,
    rng: Rng,
    fams: BTreeMap<String, Family>,
    hists: Vec<HistCore>,
    pods: Vec<PodClock>,
    count: usize,
    sid: u64,
    node: String,
    target: usize,
    used: HashSet<String>,
}

impl Builder<'_> {
    fn left(&self) -> usize {
        self.opts.series - self.count
    }
    fn next_sid(&mut self) -> u64 {
        self.sid += 1;
        self.sid
    }
    fn add(&mut self, family: &str, prefix: String, value: Value, clock: u32) {
        let churn_at: Box<[u32]> = if clock > 0 {
            prefix
                .match_indices(PLACEHOLDER)
                .map(|(i, _)| i as u32)
                .collect()
        } else {
            Box::default()
        };
        let fam = self.fams.entry(family.to_string()).or_insert_with(|| {
            let (kind, help) = help_of(family);
            Family {
                header: format!("# HELP {family} {help}\n# TYPE {family} {kind}\n"),
                series: Vec::new(),
            }
        });
        fam.series.push(Series {
            prefix: prefix.into_boxed_str(),
            value,
            clock,
            churn_at,
        });
        self.count += 1;
    }
    fn counter(&mut self, fam: &str, pairs: &[(&str, &str)], base: f64, a: f64, fmt: Round) {
        self.counter_in(fam, pairs, base, a, fmt, 0);
    }
    fn counter_in(
        &mut self,
        fam: &str,
        pairs: &[(&str, &str)],
        base: f64,
        a: f64,
        fmt: Round,
        clock: u32,
    ) {
        let sid = self.next_sid();
        let c = Counter::wandering(&self.rng, sid, base, a, self.opts.step_s, (300.0, 3600.0));
        let value = Value::Counter(c, fmt);
        self.add(fam, prefix(fam, pairs), value, clock);
    }
    #[allow(clippy::too_many_arguments)]
    fn gauge(
        &mut self,
        fam: &str,
        pairs: &[(&str, &str)],
        base: f64,
        amp: f64,
        jit: f64,
        fmt: Round,
        clock: u32,
    ) {
        let sid = self.next_sid();
        let value = Value::Gauge(
            Gauge::wave(&self.rng, sid, base, amp, jit, (180.0, 3600.0)),
            fmt,
        );
        self.add(fam, prefix(fam, pairs), value, clock);
    }
    fn constant(&mut self, fam: &str, pairs: &[(&str, &str)], v: String, clock: u32) {
        self.add(fam, prefix(fam, pairs), Value::Const(v.into()), clock);
    }

    /// 15 series: 12 buckets, _sum, _count and http_requests_total.
    fn hist(&mut self) {
        let mut key;
        let mut tries = 0;
        loop {
            let (ns, deps) = *self.rng.pick(&NAMESPACES);
            let dep = *self.rng.pick(deps);
            key = [
                self.rng.pick(&CODES).to_string(),
                self.rng.pick(&HANDLERS).to_string(),
                self.rng.pick(&METHODS).to_string(),
                format!("{ns}/{dep}"),
            ];
            tries += 1;
            if tries > 50 {
                key[0] = format!("{}", 600 + self.hists.len());
            }
            if self.used.insert(key.join("|")) {
                break;
            }
        }
        let pairs = [
            ("code", key[0].as_str()),
            ("handler", &key[1]),
            ("method", &key[2]),
            ("service", &key[3]),
        ];
        let ok = key[0].starts_with('2');
        let rate = if ok {
            self.rng.range(1.0, 80.0)
        } else {
            self.rng.range(0.02, 2.0)
        };
        let hist = self.hists.len() as u32;
        let (base0, sid) = (rate * self.rng.range(600.0, 86400.0), self.next_sid());
        self.hists.push(HistCore {
            base: base0,
            rate,
            sid,
            clock: 0,
        });
        let median = self.rng.range(0.01, 0.4);
        let base = "http_request_duration_seconds";
        for (le, bound) in LE {
            let frac = if bound.is_infinite() {
                1.0
            } else {
                1.0 / (1.0 + (median / bound).powi(2))
            };
            let mut p = pairs.to_vec();
            p.push(("le", le));
            self.add(
                base,
                prefix(&format!("{base}_bucket"), &p),
                Value::Bucket { hist, frac },
                0,
            );
        }
        self.add(
            base,
            prefix(&format!("{base}_sum"), &pairs),
            Value::HistSum {
                hist,
                mean: median * 1.3,
            },
            0,
        );
        self.add(
            base,
            prefix(&format!("{base}_count"), &pairs),
            Value::HistCount { hist },
            0,
        );
        self.add(
            "http_requests_total",
            prefix("http_requests_total", &pairs),
            Value::HistCount { hist },
            0,
        );
    }

    /// 15 + 13 × `ncont` series.
    fn pod(&mut self, ncont: usize) {
        let (ns, deps) = *self.rng.pick(&NAMESPACES);
        let dep = *self.rng.pick(deps);
        let pod_sid = self.next_sid();
        let churns = self.opts.churn_every > 0 && noise(pod_sid, 4242) < self.opts.churn_fraction;
        let (clock, sfx) = if churns {
            self.pods.push(PodClock {
                stagger: (noise(pod_sid, 77) * self.opts.churn_every as f64) as u64,
                sid: pod_sid,
            });
            (self.pods.len() as u32, PLACEHOLDER.to_string())
        } else {
            (0, String::from_utf8_lossy(&suffix(0, pod_sid)).into_owned())
        };
        let mut rs = self.rng.word(10, SAFE);
        while !self.used.insert(format!("{dep}-{rs}")) {
            rs = self.rng.word(10, SAFE);
        }
        let pod = format!("{dep}-{rs}-{sfx}");
        let uid = format!(
            "{}-{}-{}-{}-{}",
            self.rng.word(8, HEX),
            self.rng.word(4, HEX),
            self.rng.word(4, HEX),
            self.rng.word(4, HEX),
            self.rng.word(12, HEX)
        );
        let qos = *self.rng.pick(&["burstable", "besteffort", "guaranteed"]);
        let version = format!(
            "v{}.{}.{}",
            self.rng.below(3) + 1,
            self.rng.below(30),
            self.rng.below(10)
        );
        let mut image = format!("registry.local:5000/{ns}/{dep}:{version}");
        if self.rng.unit() < 0.3 {
            image = format!("{image}@sha256:{}", self.rng.word(64, HEX));
        }
        let started = self.rng.range(60.0, 5.0 * 86400.0);
        let conts: Vec<&str> = std::iter::once(dep)
            .chain(SIDECARS.iter().copied())
            .take(ncont)
            .collect();
        for (ci, cname) in conts.iter().enumerate() {
            let cimage = if ci == 0 {
                image.clone()
            } else {
                format!(
                    "registry.local:5000/sidecars/{cname}:1.{}",
                    self.rng.below(9)
                )
            };
            let id = format!("/kubepods/{qos}/pod{uid}/{}", self.rng.word(64, HEX));
            let name = format!("k8s_{cname}_{pod}_{ns}_{uid}_0");
            let pairs = [
                ("container", *cname),
                ("id", &id),
                ("image", &cimage),
                ("name", &name),
                ("namespace", ns),
                ("pod", &pod),
            ];
            let cpu = if ci == 0 {
                self.rng.range(0.002, 0.8)
            } else {
                self.rng.range(0.001, 0.05)
            };
            self.counter_in(
                "container_cpu_cfs_throttled_seconds_total",
                &pairs,
                started * cpu * 0.01,
                cpu * 0.01,
                Round::Dp(6),
                clock,
            );
            self.counter_in(
                "container_cpu_usage_seconds_total",
                &pairs,
                started * cpu,
                cpu,
                Round::Dp(6),
                clock,
            );
            let (rd, wr) = (self.rng.range(10.0, 2e5), self.rng.range(10.0, 5e5));
            self.counter_in(
                "container_fs_reads_bytes_total",
                &pairs,
                started * rd,
                rd,
                Round::Int,
                clock,
            );
            self.counter_in(
                "container_fs_writes_bytes_total",
                &pairs,
                started * wr,
                wr,
                Round::Int,
                clock,
            );
            let limit = *self.rng.pick(&[128.0, 256.0, 512.0, 1024.0, 2048.0]) * 1024f64.powi(2);
            let ws = limit * self.rng.range(0.1, 0.7);
            self.gauge(
                "container_memory_cache",
                &pairs,
                ws * 0.3,
                0.1,
                0.01,
                Round::Int,
                clock,
            );
            self.gauge(
                "container_memory_rss",
                &pairs,
                ws * 0.8,
                0.15,
                0.01,
                Round::Int,
                clock,
            );
            self.gauge(
                "container_memory_working_set_bytes",
                &pairs,
                ws,
                0.15,
                0.01,
                Round::Int,
                clock,
            );
            self.constant(
                "container_spec_memory_limit_bytes",
                &pairs,
                format!("{limit}"),
                clock,
            );
        }
        let id = format!("/kubepods/{qos}/pod{uid}");
        let name = format!("k8s_POD_{pod}_{ns}_{uid}_0");
        let npairs = [
            ("id", id.as_str()),
            ("interface", "eth0"),
            ("name", &name),
            ("namespace", ns),
            ("pod", &pod),
        ];
        let bps = self.rng.range(100.0, 5e6);
        let pps = bps / self.rng.range(200.0, 1400.0);
        for (fam, a) in [
            ("container_network_receive_bytes_total", bps),
            ("container_network_receive_packets_total", pps),
            ("container_network_transmit_bytes_total", bps * 0.8),
            ("container_network_transmit_packets_total", pps * 0.9),
        ] {
            self.counter_in(fam, &npairs, started * a, a, Round::Int, clock);
        }
        let base = [("namespace", ns), ("pod", pod.as_str()), ("uid", &uid)];
        let owner = format!("{dep}-{rs}");
        let node = self.node.clone();
        let (t, x) = (self.target / 250, self.target % 250 + 1);
        let host_ip = format!("10.0.{t}.{x}");
        let pod_ip = format!("10.{}.{}.{}", 100 + t, x - 1, self.rng.below(248) + 2);
        let mut info = base.to_vec();
        info.extend([
            ("created_by_kind", "ReplicaSet"),
            ("created_by_name", &owner),
            ("host_ip", &host_ip),
            ("node", &node),
            ("pod_ip", &pod_ip),
            ("priority_class", ""),
        ]);
        self.constant("kube_pod_info", &info, "1".into(), clock);
        let team = *self.rng.pick(&TEAMS);
        let mut labels = base.to_vec();
        labels.extend([
            ("label_app", dep),
            ("label_pod_template_hash", &rs),
            ("label_team", team),
        ]);
        if self.rng.unit() < 0.2 {
            let note = *self.rng.pick(&NOTES);
            labels.push(("label_note", note));
        }
        self.constant("kube_pod_labels", &labels, "1".into(), clock);
        let mut owner_pairs = base.to_vec();
        owner_pairs.extend([
            ("owner_is_controller", "true"),
            ("owner_kind", "ReplicaSet"),
            ("owner_name", &owner),
        ]);
        self.constant("kube_pod_owner", &owner_pairs, "1".into(), clock);
        for (i, phase) in PHASES.iter().enumerate() {
            let mut p = base.to_vec();
            p.push(("phase", phase));
            self.add(
                "kube_pod_status_phase",
                prefix("kube_pod_status_phase", &p),
                Value::Phase {
                    pod_sid,
                    phase: i as u8,
                },
                clock,
            );
        }
        for (i, cond) in ["false", "true", "unknown"].iter().enumerate() {
            let mut p = base.to_vec();
            p.push(("condition", cond));
            self.add(
                "kube_pod_status_ready",
                prefix("kube_pod_status_ready", &p),
                Value::Ready {
                    pod_sid,
                    cond: i as u8,
                },
                clock,
            );
        }
        let crashy = self.rng.unit() < 0.1;
        for cname in &conts {
            let cp = [
                ("container", *cname),
                ("namespace", ns),
                ("node", &node),
                ("pod", &pod),
                ("uid", &uid),
            ];
            let lim = *self.rng.pick(&[256.0, 512.0, 1024.0, 2048.0]) * 1024f64.powi(2);
            let mut p = cp.to_vec();
            p.extend([("resource", "memory"), ("unit", "byte")]);
            self.constant(
                "kube_pod_container_resource_limits",
                &p,
                format!("{lim}"),
                clock,
            );
            let mut p = cp.to_vec();
            p.extend([("resource", "cpu"), ("unit", "core")]);
            let req = *self.rng.pick(&[0.05, 0.1, 0.25, 0.5, 1.0, 2.0]);
            self.constant(
                "kube_pod_container_resource_requests",
                &p,
                format!("{req}"),
                clock,
            );
            let mut p = cp.to_vec();
            p.extend([("resource", "memory"), ("unit", "byte")]);
            self.constant(
                "kube_pod_container_resource_requests",
                &p,
                format!("{}", lim / 2.0),
                clock,
            );
            let rate = if crashy {
                self.rng.range(1.0 / 900.0, 1.0 / 120.0)
            } else {
                0.0
            };
            let sid = self.next_sid();
            let restarts = Value::Counter(Counter::steady(0.0, rate, sid), Round::Int);
            self.add(
                "kube_pod_container_status_restarts_total",
                prefix("kube_pod_container_status_restarts_total", &cp),
                restarts,
                clock,
            );
            self.add(
                "kube_pod_container_status_running",
                prefix("kube_pod_container_status_running", &cp),
                Value::Running { pod_sid },
                clock,
            );
        }
    }

    fn build(mut self) -> Layout {
        let m = self.opts.series;
        let uptime = self.rng.range(3.0 * 86400.0, 60.0 * 86400.0);
        let mut ncpu = 1;
        while ncpu * 16 <= m * 4 / 100 && ncpu < 64 {
            ncpu *= 2;
        }
        while ncpu > 1 && ncpu * 8 + 73 > m {
            ncpu /= 2;
        }
        if ncpu * 8 + 73 <= m {
            self.node(ncpu, uptime);
        }
        if self.left() >= 15 {
            self.go(uptime);
        }
        let units = ((self.left() as f64 * 0.2 / 15.0).round() as usize).max(1);
        for _ in 0..units {
            if self.left() >= 15 {
                self.hist();
            }
        }
        while self.left() >= 28 {
            let mut c = *self.rng.pick(&[1usize, 1, 2, 2, 2, 3]);
            while 15 + 13 * c > self.left() {
                c -= 1;
            }
            self.pod(c);
        }
        while self.left() >= 15 {
            self.hist();
        }
        let mut i = 0;
        while self.left() > 0 {
            let chip = format!("platform_coretemp_{}", i / 16);
            let sensor = format!("temp{}", i % 16 + 1);
            let t = self.rng.range(38.0, 62.0);
            self.gauge(
                "node_hwmon_temp_celsius",
                &[("chip", &chip), ("sensor", &sensor)],
                t,
                0.1,
                0.02,
                Round::Dp(2),
                0,
            );
            i += 1;
        }
        Layout {
            families: self.fams.into_values().collect(),
            hists: self.hists,
            pods: self.pods,
            series: self.count,
            step: self.opts.step_s,
            churn_every: u64::from(self.opts.churn_every),
            churn_generations: u64::from(self.opts.churn_generations),
        }
    }
}

/// The layout of target `target`'s page.
pub(super) fn build(target: usize, opts: &PageOpts) -> Layout {
    let seed = opts
        .seed
        .wrapping_mul(1_000_003)
        .wrapping_add(target as u64 * 7919 + 17);
    Builder {
        opts,
        rng: Rng::new(seed),
        fams: BTreeMap::new(),
        hists: Vec::new(),
        pods: Vec::new(),
        count: 0,
        sid: (target as u64 + 1) * 1_000_003 + opts.seed * 7,
        node: format!("node-{target:04}"),
        target,
        used: HashSet::new(),
    }
    .build()
}
