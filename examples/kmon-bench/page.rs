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

#[path = "shapes.rs"]
mod shapes;

pub use crate::wave::noise;
use crate::wave::{Counter, Gauge, Round};

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

/// A series' value as a function of the scrape.
#[derive(Debug, Clone)]
enum Value {
    Const(Box<str>),
    /// At the series' age: pods restart their counters.
    Counter(Counter, Round),
    /// At the scrape's time.
    Gauge(Gauge, Round),
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
impl Layout {
    /// The layout of target `target`'s page (deterministic in `target` and `opts`).
    pub fn new(target: usize, opts: &PageOpts) -> Layout {
        shapes::build(target, opts)
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
                    Value::Counter(c, r) => r.put(out, c.at(age, t)),
                    Value::Gauge(g, r) => r.put(out, g.at(k, ts)),
                    &Value::Bucket { hist, frac } => {
                        Round::Int.put(out, (count(hist) * frac).floor())
                    }
                    &Value::HistSum { hist, mean } => Round::Dp(6).put(out, count(hist) * mean),
                    &Value::HistCount { hist } => Round::Int.put(out, count(hist)),
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
                    &Value::Clock { t0 } => Round::Dp(6).put(out, t0 + ts),
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
