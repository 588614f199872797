//! Synthetic scrape pages: the layout of one target's `/metrics` page in the Prometheus text
//! format 0.0.4 and its rendering for scrape number `k`. A page mixes node_exporter-like
//! series (CPU, memory, filesystem, network, disk), Go/process series, classic histograms
//! (`http_request_duration_seconds` with `le` buckets, `_sum`, `_count`), cAdvisor-like
//! container series with long `id`/`image`/`name` labels, and kube-state-metrics-like pod
//! series, padded to an exact series count. Everything is a pure function of the seed, the
//! target index, the options and `k`: label parts are rendered once when the layout is built
//! and only values are formatted per scrape. Optional series churn gives a fraction of pods a
//! new name every `churn_every` scrapes. `gen` serves these pages; its tests parse them with
//! `kmon::exposition`.

use std::collections::{BTreeMap, HashSet};
use std::f64::consts::TAU;
use std::io::Write as _;

/// The Content-Type of every page.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The length of the generated pod-name suffix that series churn rotates.
const SFX_LEN: usize = 5;
/// Stands for the rotating suffix in a churning pod's pre-rendered label text.
const PLACEHOLDER: &str = "\u{1}\u{1}\u{1}\u{1}\u{1}";
/// The alphabet of Kubernetes generated names.
const SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const HEX: &[u8] = b"0123456789abcdef";

/// What shapes every page of a generator.
#[derive(Debug, Clone, PartialEq)]
pub struct PageOpts {
    /// Series on each page (exact).
    pub series: usize,
    pub seed: u64,
    /// Simulated seconds per scrape (the scrape interval, so rates are per second).
    pub step_s: f64,
    /// Every this many scrapes a churning pod gets a new name (0: no series churn).
    pub churn_every: u32,
    /// The fraction of pods that churn (0..=1).
    pub churn_fraction: f64,
    /// How many names a churning pod cycles through (0: a new name every time, so the
    /// series count grows without bound; 2: two names alternate, so after two periods no
    /// new series appear and old ones come back after going stale).
    pub churn_generations: u32,
}

impl Default for PageOpts {
    fn default() -> Self {
        PageOpts {
            series: 1000,
            seed: 42,
            step_s: 1.0,
            churn_every: 0,
            churn_fraction: 0.0,
            churn_generations: 0,
        }
    }
}

/// A deterministic uniform value in [0, 1) from `(k, sid)`.
pub fn noise(k: u64, sid: u64) -> f64 {
    let mut x = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ sid.wrapping_mul(0xD1B5_4A32_D192_ED03);
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// SplitMix64: the layout's random choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn word(&mut self, n: usize, alphabet: &[u8]) -> String {
        (0..n).map(|_| *self.pick(alphabet) as char).collect()
    }
}

/// How a value is printed.
#[derive(Debug, Clone, Copy)]
enum Fmt {
    Int,
    R2,
    R6,
}

fn put(out: &mut Vec<u8>, fmt: Fmt, v: f64) {
    let _ = match fmt {
        Fmt::Int => write!(out, "{}", v.floor() as i64),
        Fmt::R2 => write!(out, "{}", (v * 100.0).round() / 100.0),
        Fmt::R6 => write!(out, "{}", (v * 1e6).round() / 1e6),
    };
}

/// A series' value as a function of the scrape.
#[derive(Debug, Clone)]
enum Value {
    Const(Box<str>),
    /// `base + a t + c (cos p - cos(w t + p)) + jit noise`: the rate wanders around `a`
    /// and every increment is positive.
    Counter {
        base: f64,
        a: f64,
        c: f64,
        w: f64,
        p: f64,
        jit: f64,
        sid: u64,
        fmt: Fmt,
    },
    /// `off + base (1 + amp sin(w t + p) + jit (noise - 0.5))`.
    Gauge {
        off: f64,
        base: f64,
        amp: f64,
        w: f64,
        p: f64,
        jit: f64,
        sid: u64,
        fmt: Fmt,
    },
    /// `floor(count × frac)` of histogram core `hist`: monotone in `le` and in time.
    Bucket {
        hist: u32,
        frac: f64,
    },
    HistSum {
        hist: u32,
        mean: f64,
    },
    HistCount {
        hist: u32,
    },
    /// `kube_pod_status_phase`: 1 for the pod's current phase.
    Phase {
        pod_sid: u64,
        phase: u8,
    },
    /// `kube_pod_status_ready{condition}`: 0 false, 1 true, 2 unknown.
    Ready {
        pod_sid: u64,
        cond: u8,
    },
    Running {
        pod_sid: u64,
    },
    /// `node_time_seconds`.
    Clock {
        t0: f64,
    },
}

#[derive(Debug, Clone)]
struct Series {
    /// `name{labels} ` with the trailing space; churning pods hold [`PLACEHOLDER`]s.
    prefix: Box<str>,
    value: Value,
    /// 0 for the node's clock, `i + 1` for churning pod `i`.
    clock: u32,
    /// Byte offsets of the placeholders in `prefix`.
    churn_at: Box<[u32]>,
}

#[derive(Debug, Clone)]
struct Family {
    header: String,
    series: Vec<Series>,
}

#[derive(Debug, Clone)]
struct HistCore {
    base: f64,
    rate: f64,
    sid: u64,
    clock: u32,
}

#[derive(Debug, Clone)]
struct PodClock {
    stagger: u64,
    sid: u64,
}

/// One target's page layout. Build it once with [`Layout::new`], render it per scrape.
#[derive(Debug, Clone)]
pub struct Layout {
    families: Vec<Family>,
    hists: Vec<HistCore>,
    pods: Vec<PodClock>,
    series: usize,
    step: f64,
    churn_every: u64,
    churn_generations: u64,
}

const LE: [(&str, f64); 12] = [
    ("0.005", 0.005),
    ("0.01", 0.01),
    ("0.025", 0.025),
    ("0.05", 0.05),
    ("0.1", 0.1),
    ("0.25", 0.25),
    ("0.5", 0.5),
    ("1", 1.0),
    ("2.5", 2.5),
    ("5", 5.0),
    ("10", 10.0),
    ("+Inf", f64::INFINITY),
];
const CPU_MODES: [&str; 8] = [
    "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
];
const PHASES: [&str; 5] = ["Failed", "Pending", "Running", "Succeeded", "Unknown"];
const NAMESPACES: [(&str, &[&str]); 8] = [
    ("kube-system", &["coredns", "kube-proxy", "metrics-server"]),
    (
        "monitoring",
        &["prometheus", "alertmanager", "kube-state-metrics"],
    ),
    ("checkout", &["checkout-api", "cart", "checkout-worker"]),
    ("payments", &["payments-api", "ledger", "fraud-scorer"]),
    ("search", &["search-frontend", "indexer", "query-router"]),
    ("frontend", &["web", "static-assets", "bff"]),
    (
        "data-pipeline",
        &["kafka-connect", "spark-driver", "flink-taskmanager"],
    ),
    ("logging", &["fluent-bit", "loki-distributor"]),
];
const SIDECARS: [&str; 3] = ["istio-proxy", "log-shipper", "config-reloader"];
const TEAMS: [&str; 6] = ["core", "payments", "search", "platform", "zoë-ops", "data"];
const NOTES: [&str; 4] = [
    "owner \"team-x\" on-call",
    "path C:\\deploy\\service",
    "line one\nline two",
    "plain note",
];
const HANDLERS: [&str; 8] = [
    "/api/v1/query",
    "/checkout",
    "/cart/items",
    "/login",
    "/search",
    "/healthz",
    "/orders/{id}",
    "/users/{id}/profile",
];
const METHODS: [&str; 4] = ["GET", "GET", "POST", "DELETE"];
const CODES: [&str; 8] = ["200", "200", "200", "201", "404", "500", "503", "429"];

fn help_of(name: &str) -> (&'static str, &'static str) {
    match name {
        "go_gc_duration_seconds" => ("summary", "A summary of the GC pause durations."),
        "http_request_duration_seconds" => ("histogram", "Duration of HTTP requests in seconds."),
        "kube_pod_labels" => (
            "gauge",
            "Kubernetes labels converted to Prometheus labels.\\nValues may contain \\\\ backslashes.",
        ),
        n if n.ends_with("_total") => ("counter", "A synthetic counter."),
        _ => ("gauge", "A synthetic gauge."),
    }
}

fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn prefix(name: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return format!("{name} ");
    }
    let mut s = String::with_capacity(name.len() + 32 * pairs.len());
    s.push_str(name);
    s.push('{');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(k);
        s.push_str("=\"");
        s.push_str(&esc(v));
        s.push('"');
    }
    s.push_str("} ");
    s
}

/// The suffix of pod generation `generation`: five characters of [`SAFE`].
fn suffix(generation: u64, sid: u64) -> [u8; SFX_LEN] {
    let mut x = (noise(generation, sid) * 14_348_907.0) as u64; // 27^5
    let mut out = [b'b'; SFX_LEN];
    for b in &mut out {
        *b = SAFE[(x % 27) as usize];
        x /= 27;
    }
    out
}

fn pod_phase(ts: f64, pod_sid: u64) -> u8 {
    let u = noise((ts / 600.0) as u64, pod_sid ^ 0x5BD1_E995);
    match u {
        u if u < 0.90 => 2,
        u if u < 0.95 => 1,
        u if u < 0.97 => 0,
        u if u < 0.99 => 3,
        _ => 4,
    }
}

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
    fn counter(&mut self, fam: &str, pairs: &[(&str, &str)], base: f64, a: f64, fmt: Fmt) {
        self.counter_in(fam, pairs, base, a, fmt, 0);
    }
    fn counter_in(
        &mut self,
        fam: &str,
        pairs: &[(&str, &str)],
        base: f64,
        a: f64,
        fmt: Fmt,
        clock: u32,
    ) {
        let w = TAU / self.rng.range(300.0, 3600.0);
        let wobble = 0.4;
        let value = Value::Counter {
            base,
            a,
            c: wobble * a / w,
            w,
            p: self.rng.range(0.0, TAU),
            jit: 0.3 * a * self.opts.step_s,
            sid: self.next_sid(),
            fmt,
        };
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
        fmt: Fmt,
        clock: u32,
    ) {
        let value = Value::Gauge {
            off: 0.0,
            base,
            amp,
            w: TAU / self.rng.range(180.0, 3600.0),
            p: self.rng.range(0.0, TAU),
            jit,
            sid: self.next_sid(),
            fmt,
        };
        self.add(fam, prefix(fam, pairs), value, clock);
    }
    fn constant(&mut self, fam: &str, pairs: &[(&str, &str)], v: String, clock: u32) {
        self.add(fam, prefix(fam, pairs), Value::Const(v.into()), clock);
    }

    fn node(&mut self, ncpu: usize, uptime: f64) {
        for cpu in 0..ncpu {
            let util = self.rng.range(0.05, 0.5);
            let c = cpu.to_string();
            for (i, mode) in CPU_MODES.iter().enumerate() {
                let share = [0.0, 0.05, 0.01, 0.02, 0.03, 0.01, 0.28, 0.6][i];
                let a = if i == 0 {
                    1.0 - util
                } else {
                    util * share * self.rng.range(0.7, 1.3)
                };
                self.counter(
                    "node_cpu_seconds_total",
                    &[("cpu", &c), ("mode", mode)],
                    uptime * a,
                    a,
                    Fmt::R2,
                );
            }
        }
        let total = *self.rng.pick(&[8.0, 16.0, 32.0, 64.0, 128.0]) * 1024f64.powi(3);
        let avail = self.rng.range(0.2, 0.7);
        for (name, frac) in [
            ("node_memory_Active_bytes", (1.0 - avail) * 0.8),
            ("node_memory_Buffers_bytes", 0.01),
            ("node_memory_Cached_bytes", avail * 0.6),
            ("node_memory_MemAvailable_bytes", avail),
            ("node_memory_MemFree_bytes", avail * 0.3),
            ("node_memory_SwapFree_bytes", 0.05),
        ] {
            self.gauge(name, &[], total * frac, 0.05, 0.002, Fmt::Int, 0);
        }
        self.constant("node_memory_MemTotal_bytes", &[], format!("{total}"), 0);
        self.constant(
            "node_memory_SwapTotal_bytes",
            &[],
            format!("{}", total / 16.0),
            0,
        );
        let fss = [
            ("/dev/nvme0n1p1", "ext4", "/"),
            ("/dev/nvme1n1", "xfs", "/var/lib/containerd"),
            ("tmpfs", "tmpfs", "/run"),
            ("/dev/sdb1", "ext4", "/mnt/share \"archive\"\\2019"),
        ];
        for (dev, fstype, mp) in fss {
            let pairs = [("device", dev), ("fstype", fstype), ("mountpoint", mp)];
            let size = *self.rng.pick(&[8.0, 50.0, 100.0, 500.0, 2000.0]) * 1024f64.powi(3);
            let free = size * self.rng.range(0.15, 0.9);
            let files = (size / 16384.0).floor();
            self.gauge(
                "node_filesystem_avail_bytes",
                &pairs,
                free * 0.95,
                0.05,
                0.001,
                Fmt::Int,
                0,
            );
            self.constant("node_filesystem_files", &pairs, format!("{files}"), 0);
            self.gauge(
                "node_filesystem_files_free",
                &pairs,
                files * 0.7,
                0.01,
                0.0005,
                Fmt::Int,
                0,
            );
            self.gauge(
                "node_filesystem_free_bytes",
                &pairs,
                free,
                0.05,
                0.001,
                Fmt::Int,
                0,
            );
            self.constant("node_filesystem_size_bytes", &pairs, format!("{size}"), 0);
        }
        for dev in ["eth0", "lo", "cni0"] {
            let bps = self.rng.range(1e4, 5e7);
            let pps = bps / self.rng.range(300.0, 1400.0);
            for (fam, a) in [
                ("node_network_receive_bytes_total", bps),
                ("node_network_receive_drop_total", pps * 1e-5),
                ("node_network_receive_errs_total", pps * 1e-6),
                ("node_network_receive_packets_total", pps),
                ("node_network_transmit_bytes_total", bps * 0.7),
                ("node_network_transmit_drop_total", pps * 1e-6),
                ("node_network_transmit_errs_total", pps * 1e-7),
                ("node_network_transmit_packets_total", pps * 0.8),
            ] {
                self.counter(fam, &[("device", dev)], uptime * a, a, Fmt::Int);
            }
        }
        for dev in ["nvme0n1", "nvme1n1"] {
            let (r, w) = (self.rng.range(1e4, 2e7), self.rng.range(1e4, 4e7));
            let io = self.rng.range(0.01, 0.3);
            let p = [("device", dev)];
            self.counter(
                "node_disk_io_time_seconds_total",
                &p,
                uptime * io,
                io,
                Fmt::R2,
            );
            self.counter("node_disk_read_bytes_total", &p, uptime * r, r, Fmt::Int);
            self.counter(
                "node_disk_reads_completed_total",
                &p,
                uptime * r / 16384.0,
                r / 16384.0,
                Fmt::Int,
            );
            self.counter(
                "node_disk_writes_completed_total",
                &p,
                uptime * w / 8192.0,
                w / 8192.0,
                Fmt::Int,
            );
            self.counter("node_disk_written_bytes_total", &p, uptime * w, w, Fmt::Int);
        }
        let boot = (1_700_000_000.0 - uptime).round();
        self.constant("node_boot_time_seconds", &[], format!("{boot}"), 0);
        let cs = self.rng.range(2e3, 5e4) * ncpu as f64;
        self.counter(
            "node_context_switches_total",
            &[],
            uptime * cs,
            cs,
            Fmt::Int,
        );
        let forks = self.rng.range(1.0, 50.0);
        self.counter("node_forks_total", &[], uptime * forks, forks, Fmt::Int);
        self.counter(
            "node_intr_total",
            &[],
            uptime * cs * 0.7,
            cs * 0.7,
            Fmt::Int,
        );
        let load = ncpu as f64 * self.rng.range(0.1, 0.6);
        for name in ["node_load1", "node_load15", "node_load5"] {
            self.gauge(name, &[], load, 0.3, 0.1, Fmt::R2, 0);
        }
        self.gauge("node_procs_blocked", &[], 1.0, 0.5, 1.5, Fmt::Int, 0);
        self.gauge(
            "node_procs_running",
            &[],
            ncpu as f64 * 0.4 + 1.0,
            0.5,
            0.8,
            Fmt::Int,
            0,
        );
        self.add(
            "node_time_seconds",
            prefix("node_time_seconds", &[]),
            Value::Clock {
                t0: 1_700_000_000.0,
            },
            0,
        );
        let node = self.node.clone();
        self.constant(
            "node_uname_info",
            &[
                ("machine", "x86_64"),
                ("nodename", &node),
                ("release", "6.1.0-18-amd64"),
                ("sysname", "Linux"),
                (
                    "version",
                    "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
                ),
            ],
            "1".into(),
            0,
        );
    }

    /// 15 series.
    fn go(&mut self, uptime: f64) {
        let q0 = self.rng.range(1.5e-5, 4e-5);
        for (q, m) in [
            ("0", 1.0),
            ("0.25", 1.6),
            ("0.5", 2.4),
            ("0.75", 4.0),
            ("1", 25.0),
        ] {
            let sid = self.next_sid();
            let value = Value::Gauge {
                off: 0.0,
                base: q0 * m,
                amp: 0.3,
                w: TAU / 600.0,
                p: 0.0,
                jit: 0.2,
                sid,
                fmt: Fmt::R6,
            };
            self.add(
                "go_gc_duration_seconds",
                prefix("go_gc_duration_seconds", &[("quantile", q)]),
                value,
                0,
            );
        }
        let gcs = self.rng.range(0.02, 0.3);
        let sid = self.next_sid();
        let sum = Value::Counter {
            base: uptime * gcs * 2e-4,
            a: gcs * 2e-4,
            c: 0.0,
            w: 1.0,
            p: 0.0,
            jit: 0.0,
            sid,
            fmt: Fmt::R6,
        };
        self.add(
            "go_gc_duration_seconds",
            "go_gc_duration_seconds_sum ".into(),
            sum,
            0,
        );
        let sid = self.next_sid();
        let count = Value::Counter {
            base: uptime * gcs,
            a: gcs,
            c: 0.0,
            w: 1.0,
            p: 0.0,
            jit: 0.0,
            sid,
            fmt: Fmt::Int,
        };
        self.add(
            "go_gc_duration_seconds",
            "go_gc_duration_seconds_count ".into(),
            count,
            0,
        );
        let g = self.rng.range(8.0, 40.0);
        self.gauge("go_goroutines", &[], g, 0.2, 0.2, Fmt::Int, 0);
        let a = self.rng.range(2e6, 4e7);
        self.gauge("go_memstats_alloc_bytes", &[], a, 0.3, 0.2, Fmt::Int, 0);
        self.gauge(
            "go_memstats_heap_inuse_bytes",
            &[],
            a * 1.5,
            0.2,
            0.1,
            Fmt::Int,
            0,
        );
        self.gauge("go_threads", &[], 12.0, 0.0, 0.0, Fmt::Int, 0);
        let cpu = self.rng.range(0.002, 0.05);
        self.counter("process_cpu_seconds_total", &[], uptime * cpu, cpu, Fmt::R2);
        self.gauge("process_open_fds", &[], 20.0, 0.1, 0.1, Fmt::Int, 0);
        self.gauge(
            "process_resident_memory_bytes",
            &[],
            a * 2.0,
            0.1,
            0.05,
            Fmt::Int,
            0,
        );
        self.constant(
            "process_start_time_seconds",
            &[],
            format!("{}", (1_700_000_000.0 - uptime + 60.0).round()),
            0,
        );
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
                Fmt::R6,
                clock,
            );
            self.counter_in(
                "container_cpu_usage_seconds_total",
                &pairs,
                started * cpu,
                cpu,
                Fmt::R6,
                clock,
            );
            let (rd, wr) = (self.rng.range(10.0, 2e5), self.rng.range(10.0, 5e5));
            self.counter_in(
                "container_fs_reads_bytes_total",
                &pairs,
                started * rd,
                rd,
                Fmt::Int,
                clock,
            );
            self.counter_in(
                "container_fs_writes_bytes_total",
                &pairs,
                started * wr,
                wr,
                Fmt::Int,
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
                Fmt::Int,
                clock,
            );
            self.gauge(
                "container_memory_rss",
                &pairs,
                ws * 0.8,
                0.15,
                0.01,
                Fmt::Int,
                clock,
            );
            self.gauge(
                "container_memory_working_set_bytes",
                &pairs,
                ws,
                0.15,
                0.01,
                Fmt::Int,
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
            self.counter_in(fam, &npairs, started * a, a, Fmt::Int, clock);
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
            let restarts = Value::Counter {
                base: 0.0,
                a: rate,
                c: 0.0,
                w: 1.0,
                p: 0.0,
                jit: 0.0,
                sid,
                fmt: Fmt::Int,
            };
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
                Fmt::R2,
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

impl Layout {
    /// The layout of target `target`'s page (deterministic in `target` and `opts`).
    pub fn new(target: usize, opts: &PageOpts) -> Layout {
        let seed = opts
            .seed
            .wrapping_mul(1_000_003)
            .wrapping_add(target as u64 * 7919 + 17);
        Builder {
            opts,
            rng: Rng(seed),
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

    /// Series on every page.
    pub fn series(&self) -> usize {
        self.series
    }

    /// Appends the page of scrape `k` (0 for the first) to `out`.
    pub fn render(&self, k: u64, out: &mut Vec<u8>) {
        let ts = k as f64 * self.step;
        // Clock 0 is the node; clock i + 1 is churning pod i: its age restarts and its name
        // changes every `churn_every` scrapes.
        let mut ages = Vec::with_capacity(self.pods.len() + 1);
        let mut sfx = Vec::with_capacity(self.pods.len() + 1);
        ages.push(k);
        sfx.push([0u8; SFX_LEN]);
        for pod in &self.pods {
            let q = k + pod.stagger;
            ages.push((q % self.churn_every).min(k));
            let generation = match self.churn_generations {
                0 => q / self.churn_every,
                n => (q / self.churn_every) % n,
            };
            sfx.push(suffix(generation, pod.sid));
        }
        let count = |hist: u32| {
            let h = &self.hists[hist as usize];
            let age = ages[h.clock as usize];
            (h.base
                + h.rate * age as f64 * self.step
                + 0.3 * h.rate * self.step * noise(age, h.sid))
            .floor()
        };
        for fam in &self.families {
            out.extend_from_slice(fam.header.as_bytes());
            for s in &fam.series {
                let start = out.len();
                out.extend_from_slice(s.prefix.as_bytes());
                let clock = s.clock as usize;
                for &at in s.churn_at.iter() {
                    let at = start + at as usize;
                    out[at..at + SFX_LEN].copy_from_slice(&sfx[clock]);
                }
                let age = ages[clock];
                let t = age as f64 * self.step;
                match &s.value {
                    Value::Const(v) => out.extend_from_slice(v.as_bytes()),
                    &Value::Counter {
                        base,
                        a,
                        c,
                        w,
                        p,
                        jit,
                        sid,
                        fmt,
                    } => {
                        let v = base
                            + a * t
                            + c * (p.cos() - (w * t + p).cos())
                            + jit * noise(age, sid);
                        put(out, fmt, v);
                    }
                    &Value::Gauge {
                        off,
                        base,
                        amp,
                        w,
                        p,
                        jit,
                        sid,
                        fmt,
                    } => {
                        let v = off
                            + base * (1.0 + amp * (w * ts + p).sin() + jit * (noise(k, sid) - 0.5));
                        put(out, fmt, v.max(0.0));
                    }
                    &Value::Bucket { hist, frac } => {
                        put(out, Fmt::Int, (count(hist) * frac).floor())
                    }
                    &Value::HistSum { hist, mean } => put(out, Fmt::R6, count(hist) * mean),
                    &Value::HistCount { hist } => put(out, Fmt::Int, count(hist)),
                    &Value::Phase { pod_sid, phase } => {
                        out.push(if pod_phase(ts, pod_sid) == phase {
                            b'1'
                        } else {
                            b'0'
                        })
                    }
                    &Value::Ready { pod_sid, cond } => {
                        let ready = pod_phase(ts, pod_sid) == 2;
                        out.push(match (cond, ready) {
                            (0, false) | (1, true) => b'1',
                            _ => b'0',
                        });
                    }
                    &Value::Running { pod_sid } => out.push(if pod_phase(ts, pod_sid) == 2 {
                        b'1'
                    } else {
                        b'0'
                    }),
                    &Value::Clock { t0 } => put(out, Fmt::R6, t0 + ts),
                }
                out.push(b'\n');
            }
        }
    }

    /// The page of scrape `k` as a string.
    pub fn page(&self, k: u64) -> String {
        let mut out = Vec::new();
        self.render(k, &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use kmon::exposition::{Entry, Format, parse};

    use super::*;

    /// Every sample of a page as `series text → value`, checking it parses and has no
    /// duplicate series.
    fn samples(page: &str) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for entry in parse(page, Format::PromText) {
            if let Entry::Sample(s) = entry.expect("kmon parses the page") {
                let dup = out.insert(s.series().to_string(), s.value);
                assert!(dup.is_none(), "duplicate series {}", s.series());
            }
        }
        out
    }

    fn opts(series: usize) -> PageOpts {
        PageOpts {
            series,
            ..PageOpts::default()
        }
    }

    #[test]
    fn exact_series_count_and_parses() {
        for series in [1, 7, 15, 50, 100, 120, 200, 999, 2000, 5000] {
            for target in [0, 1, 17] {
                let layout = Layout::new(target, &opts(series));
                assert_eq!(layout.series(), series);
                assert_eq!(
                    samples(&layout.page(0)).len(),
                    series,
                    "series {series} target {target}"
                );
                assert_eq!(samples(&layout.page(9)).len(), series);
            }
        }
    }

    #[test]
    fn mixes_the_shapes() {
        let page = Layout::new(3, &opts(2000)).page(0);
        for name in [
            "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}",
            "node_memory_MemAvailable_bytes ",
            "node_filesystem_avail_bytes{",
            "node_network_receive_bytes_total{device=\"eth0\"}",
            "node_disk_read_bytes_total{",
            "container_cpu_usage_seconds_total{container=",
            "kube_pod_status_phase{",
            "kube_pod_info{",
            "kube_pod_container_status_restarts_total{",
            "http_request_duration_seconds_bucket{",
            "le=\"+Inf\"}",
            "http_request_duration_seconds_sum{",
            "http_request_duration_seconds_count{",
            "# TYPE http_request_duration_seconds histogram",
        ] {
            assert!(page.contains(name), "no {name}");
        }
    }

    #[test]
    fn deterministic() {
        let o = PageOpts {
            series: 700,
            seed: 7,
            step_s: 15.0,
            churn_every: 5,
            churn_fraction: 0.5,
            churn_generations: 0,
        };
        for k in [0, 1, 4, 5, 100] {
            assert_eq!(Layout::new(2, &o).page(k), Layout::new(2, &o).page(k));
        }
        assert_ne!(Layout::new(2, &o).page(0), Layout::new(3, &o).page(0));
        let other_seed = PageOpts {
            seed: 8,
            ..o.clone()
        };
        assert_ne!(
            Layout::new(2, &o).page(0),
            Layout::new(2, &other_seed).page(0)
        );
    }

    #[test]
    fn counters_increase_gauges_wander_buckets_are_cumulative() {
        let layout = Layout::new(5, &opts(2000));
        let pages: Vec<_> = (0..20).map(|k| samples(&layout.page(k))).collect();
        let page0 = layout.page(0);
        let counters: BTreeSet<&str> = page0
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.strip_suffix(" counter"))
            .collect();
        let mut moved = 0;
        for (series, v0) in &pages[0] {
            let name = series.split('{').next().unwrap_or(series).trim();
            let counter = counters.contains(name)
                || name.ends_with("_bucket")
                || name.ends_with("_count")
                || name.ends_with("_sum");
            for w in pages.windows(2) {
                if counter {
                    assert!(w[1][series] >= w[0][series], "{series} went down");
                }
            }
            if pages[19][series] != *v0 {
                moved += 1;
            }
        }
        assert!(moved > 2000 / 2, "only {moved} series changed");
        // le order: each bucket at most the next one
        let mut prev: Option<(String, f64)> = None;
        for line in layout
            .page(3)
            .lines()
            .filter(|l| l.starts_with("http_request_duration_seconds_bucket"))
        {
            let (series, v) = line.rsplit_once(' ').expect("value");
            let v: f64 = v.parse().expect("number");
            let group = series.split(",le=").next().unwrap_or("").to_string();
            if let Some((g, pv)) = &prev
                && *g == group
            {
                assert!(v >= *pv, "bucket below the previous le: {line}");
            }
            prev = Some((group, v));
        }
    }

    #[test]
    fn series_churn_rotates_pod_names_and_keeps_the_count() {
        let o = PageOpts {
            series: 2000,
            seed: 1,
            step_s: 1.0,
            churn_every: 4,
            churn_fraction: 0.5,
            churn_generations: 0,
        };
        let layout = Layout::new(0, &o);
        let a = samples(&layout.page(0));
        let b = samples(&layout.page(8));
        assert_eq!(a.len(), 2000);
        assert_eq!(b.len(), 2000);
        let gone = a.keys().filter(|s| !b.contains_key(*s)).count();
        assert!(gone > 50 && gone < 1900, "{gone} series replaced");
        assert!(!layout.page(3).contains('\u{1}'));
        // Without churn the set stays.
        let still = Layout::new(
            0,
            &PageOpts {
                churn_every: 0,
                ..o
            },
        );
        let keys = |k| samples(&still.page(k)).into_keys().collect::<Vec<_>>();
        assert_eq!(keys(0), keys(8));
    }

    #[test]
    fn bounded_churn_generations_come_back() {
        let o = PageOpts {
            series: 1000,
            seed: 3,
            step_s: 10.0,
            churn_every: 3,
            churn_fraction: 1.0,
            churn_generations: 2,
        };
        let layout = Layout::new(4, &o);
        let mut all = BTreeSet::new();
        for k in 0..40 {
            all.extend(samples(&layout.page(k)).into_keys());
        }
        let mut first = BTreeSet::new();
        for k in 0..12 {
            first.extend(samples(&layout.page(k)).into_keys());
        }
        assert_eq!(all, first, "no new series after every generation was seen");
        assert!(all.len() > 1000);
    }
}
