//! Interop: the real Prometheus 3.5 and `kmon serve` answer the same PromQL over the same
//! data through their HTTP APIs, and must agree.
//!
//! A deterministic OpenMetrics fixture (two hours at 15 s: counters with resets, gauges
//! with NaN and ±Inf, classic histograms, summaries, several jobs and instances, a stale
//! gap, series that start late or end early, label values with escapes) goes into
//! Prometheus through `promtool tsdb create-blocks-from openmetrics` and into kmon through
//! `kmon serve --load`. Then every query of `QUERIES` runs as an instant query at several
//! times and, when its type allows, as range queries, on both servers. The answers must
//! have the same status, resultType, series (label sets), timestamps and values (relative
//! 1e-6, NaN equal to NaN, a 1e-9 absolute floor for results that cancel to ~0), and the
//! same warnings and infos. Bad queries must fail with the same errorType and message. A
//! Grafana-style `query_range` POST, and the series/labels endpoints, must answer byte for
//! byte the same. A second test does the same for the experimental functions with
//! `--enable-feature=promql-experimental-functions` on both servers. The reports go to
//! `$CARGO_TARGET_TMPDIR/interop-report.txt` and `interop-experimental-report.txt` (and
//! into the folder `$KMON_INTEROP_REPORT_DIR` when set).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value as Json;

use crate::support::{ChildGuard, Http, free_port, ref_bin};

/// The fixture's first timestamp (s): 2023-11-14T22:13:20Z.
const T0: i64 = 1_700_000_000;
/// Scrape interval of the fixture (s) and number of points per series (2 h).
const STEP: i64 = 15;
const POINTS: i64 = 481;

// ---------------------------------------------------------------------------------------
// The fixture.

/// splitmix64: a tiny deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `1700000015` or `1700000015.003`.
fn ts(i: i64, jitter_ms: i64) -> String {
    let ms = (T0 + i * STEP) * 1000 + jitter_ms;
    if ms % 1000 == 0 {
        format!("{}", ms / 1000)
    } else {
        format!("{}.{:03}", ms / 1000, ms % 1000)
    }
}

fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

const INSTANCES: [(&str, &str); 3] = [
    ("api", "api-1:8080"),
    ("api", "api-2:8080"),
    ("web", "web-1:80"),
];

/// The OpenMetrics fixture text.
pub fn fixture() -> String {
    let mut out = String::new();
    let mut rng = Rng(42);
    let jitter = |inst: &str, i: i64| -> i64 {
        match inst {
            "api-2:8080" => i % 5,
            "web-1:80" => 250,
            _ => 0,
        }
    };

    // Counters with resets.
    out.push_str("# TYPE http_requests_total counter\n# HELP http_requests_total Requests.\n");
    for (job, inst) in INSTANCES {
        for method in ["get", "post"] {
            for code in ["200", "500"] {
                let mut v = 0.0;
                for i in 0..POINTS {
                    let inc = if code == "200" {
                        (rng.unit() * 20.0).floor()
                    } else {
                        (rng.unit() * 3.0).floor()
                    };
                    v += inc;
                    let reset = (inst == "api-2:8080"
                        && method == "get"
                        && code == "200"
                        && i == 200)
                        || (inst == "web-1:80" && method == "post" && code == "500" && i == 350);
                    if reset {
                        v = inc;
                    }
                    let _ = writeln!(
                        out,
                        "http_requests_total{{job=\"{job}\",instance=\"{inst}\",method=\"{method}\",code=\"{code}\"}} {} {}",
                        num(v),
                        ts(i, jitter(inst, i))
                    );
                }
            }
        }
    }
    out.push_str("# TYPE process_cpu_seconds_total counter\n");
    for (job, inst) in INSTANCES {
        let mut v = 100.0;
        for i in 0..POINTS {
            v += (rng.unit() * 1000.0).round() / 1000.0;
            let _ = writeln!(
                out,
                "process_cpu_seconds_total{{job=\"{job}\",instance=\"{inst}\"}} {} {}",
                num(v),
                ts(i, jitter(inst, i))
            );
        }
    }

    // Gauges: NaN and ±Inf in places.
    out.push_str("# TYPE temperature_celsius gauge\n");
    for (k, room) in ["attic", "kitchen", "lab"].iter().enumerate() {
        for i in 0..POINTS {
            let mut v = 20.0 + 5.0 * ((i as f64) / 20.0 + k as f64).sin();
            v = (v * 100.0 + (rng.unit() * 50.0).floor()).round() / 100.0;
            if *room == "lab" && (100..=102).contains(&i) {
                v = f64::NAN;
            }
            if *room == "attic" && i == 150 {
                v = f64::INFINITY;
            }
            if *room == "attic" && i == 151 {
                v = f64::NEG_INFINITY;
            }
            let _ = writeln!(
                out,
                "temperature_celsius{{job=\"sensors\",instance=\"s1\",room=\"{room}\"}} {} {}",
                num(v),
                ts(i, 0)
            );
        }
    }
    // queue_length: api-2 has a 15-minute gap, web-1 starts after an hour, api-1 stops
    // at 75 minutes.
    out.push_str("# TYPE queue_length gauge\n");
    for (job, inst) in INSTANCES {
        for i in 0..POINTS {
            let present = match inst {
                "api-1:8080" => i <= 300,
                "api-2:8080" => !(160..=220).contains(&i),
                _ => i >= 240,
            };
            if !present {
                continue;
            }
            let v = (rng.unit() * 12.0).floor();
            let _ = writeln!(
                out,
                "queue_length{{job=\"{job}\",instance=\"{inst}\"}} {} {}",
                num(v),
                ts(i, jitter(inst, i))
            );
        }
    }
    out.push_str("# TYPE balance gauge\n");
    for (job, inst) in INSTANCES {
        for i in 0..POINTS {
            let v = ((rng.unit() - 0.5) * 2000.0).round() / 100.0;
            let _ = writeln!(
                out,
                "balance{{job=\"{job}\",instance=\"{inst}\"}} {} {}",
                num(v),
                ts(i, 0)
            );
        }
    }
    out.push_str("# TYPE up gauge\n");
    for (job, inst) in INSTANCES {
        for i in 0..POINTS {
            let v = if inst == "api-2:8080" && (160..=220).contains(&i) {
                0.0
            } else {
                1.0
            };
            let _ = writeln!(
                out,
                "up{{job=\"{job}\",instance=\"{inst}\"}} {} {}",
                num(v),
                ts(i, 0)
            );
        }
    }
    out.push_str("# TYPE build_info gauge\n");
    for (n, (job, inst)) in INSTANCES.iter().enumerate() {
        for i in (0..POINTS).step_by(4) {
            let _ = writeln!(
                out,
                "build_info{{job=\"{job}\",instance=\"{inst}\",version=\"1.{n}.0\"}} 1 {}",
                ts(i, 0)
            );
        }
    }
    out.push_str("# TYPE disk_free_bytes gauge\n");
    for dev in ["sda", "nvme0n1"] {
        let mut v = 1.5e12;
        for i in 0..POINTS {
            v -= (rng.unit() * 1e7).floor();
            let _ = writeln!(
                out,
                "disk_free_bytes{{instance=\"api-1:8080\",device=\"{dev}\"}} {} {}",
                num(v),
                ts(i, 0)
            );
        }
    }
    out.push_str("# TYPE tiny_ratio gauge\n");
    for i in 0..POINTS {
        let v = 3e-9 * (1.0 + rng.unit());
        let _ = writeln!(out, "tiny_ratio{{job=\"api\"}} {} {}", num(v), ts(i, 0));
    }
    out.push_str("# TYPE label_with_escapes gauge\n");
    for i in 0..POINTS {
        let _ = writeln!(
            out,
            "label_with_escapes{{path=\"/a\\\"b\\\\c\",desc=\"x<y&z\\nnext\"}} {} {}",
            i % 7,
            ts(i, 0)
        );
    }

    // A classic histogram; `le="1"` is written unnormalized on purpose.
    out.push_str("# TYPE request_duration_seconds histogram\n");
    let bounds = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];
    for (job, inst) in INSTANCES {
        let mut counts = [0.0f64; 7];
        let mut sum = 0.0;
        for i in 0..POINTS {
            let n = (rng.unit() * 30.0).floor() as usize;
            for _ in 0..n {
                let x = rng.unit().powi(2) * 3.0;
                sum += x;
                for (b, bound) in bounds.iter().enumerate() {
                    let le: f64 = if *bound == "+Inf" {
                        f64::INFINITY
                    } else {
                        bound.parse().expect("bound")
                    };
                    if x <= le {
                        counts[b] += 1.0;
                    }
                }
            }
            let t = ts(i, jitter(inst, i));
            for (b, bound) in bounds.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "request_duration_seconds_bucket{{job=\"{job}\",instance=\"{inst}\",le=\"{bound}\"}} {} {t}",
                    num(counts[b])
                );
            }
            let _ = writeln!(
                out,
                "request_duration_seconds_count{{job=\"{job}\",instance=\"{inst}\"}} {} {t}",
                num(counts[6])
            );
            let _ = writeln!(
                out,
                "request_duration_seconds_sum{{job=\"{job}\",instance=\"{inst}\"}} {} {t}",
                num((sum * 1000.0).round() / 1000.0)
            );
        }
    }
    // A summary.
    out.push_str("# TYPE rpc_latency_seconds summary\n");
    for inst in ["api-1:8080", "api-2:8080"] {
        let (mut count, mut sum) = (0.0, 0.0);
        for i in 0..POINTS {
            let t = ts(i, 0);
            for q in ["0.5", "0.9", "0.99"] {
                let base: f64 = q.parse().expect("quantile");
                let v = ((base * 0.4 + rng.unit() * 0.05) * 1000.0).round() / 1000.0;
                let _ = writeln!(
                    out,
                    "rpc_latency_seconds{{job=\"api\",instance=\"{inst}\",quantile=\"{q}\"}} {} {t}",
                    num(v)
                );
            }
            count += (rng.unit() * 50.0).floor();
            sum += (rng.unit() * 10.0 * 1000.0).round() / 1000.0;
            let _ = writeln!(
                out,
                "rpc_latency_seconds_count{{job=\"api\",instance=\"{inst}\"}} {} {t}",
                num(count)
            );
            let _ = writeln!(
                out,
                "rpc_latency_seconds_sum{{job=\"api\",instance=\"{inst}\"}} {} {t}",
                num((sum * 1000.0).round() / 1000.0)
            );
        }
    }
    out.push_str("# EOF\n");
    out
}

// ---------------------------------------------------------------------------------------
// The queries.

/// Instant evaluation times (s): mid-data, unaligned, just after the data (within the
/// lookback) and well after it.
const INSTANT_TIMES: [&str; 4] = ["1700003600", "1700005407.5", "1700007320", "1700007600"];

/// Range windows: (start, end, step).
const RANGES: [(&str, &str, &str); 3] = [
    ("1700000600", "1700006600", "60"),
    ("1700001234.5", "1700007400", "37s"),
    ("1700002300", "1700003400", "15"),
];

/// How much of the grid a query gets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Runs {
    /// Instant at the first two times, range on the first window.
    Basic,
    /// Every instant time and every range window.
    All,
    /// Instant queries only (range vectors and strings), at the first two times.
    InstantOnly,
}

use Runs::{All, Basic, InstantOnly};

const QUERIES: &[(&str, Runs)] = &[
    // Selectors, offsets, @.
    ("up", All),
    ("up{job=\"api\"}", Basic),
    ("up{job=~\"a.*|w.*\"}", Basic),
    ("up{job!=\"api\"}", Basic),
    ("up{instance!~\"api-.*\"}", Basic),
    ("{__name__=~\"queue_length|up\",job=\"api\"}", Basic),
    ("queue_length", All),
    ("queue_length offset 10m", All),
    ("queue_length offset -5m", Basic),
    ("queue_length @ 1700003600", Basic),
    ("queue_length @ start()", Basic),
    ("queue_length @ end()", Basic),
    ("temperature_celsius", All),
    ("disk_free_bytes", Basic),
    ("tiny_ratio", Basic),
    ("balance", Basic),
    ("label_with_escapes", Basic),
    ("http_requests_total", Basic),
    ("rpc_latency_seconds", Basic),
    ("nonexistent_metric", Basic),
    ("http_requests_total[2m]", InstantOnly),
    ("temperature_celsius[1m] offset 30m", InstantOnly),
    ("queue_length[5m] @ 1700003000", InstantOnly),
    // Literals.
    ("42", Basic),
    ("-1.5e-7", Basic),
    ("\"a string\"", InstantOnly),
    ("NaN", Basic),
    ("Inf", Basic),
    ("-Inf", Basic),
    ("0x1F", Basic),
    ("1e3", Basic),
    // Counters.
    ("rate(http_requests_total[5m])", All),
    ("rate(http_requests_total[1m])", Basic),
    ("irate(http_requests_total[5m])", Basic),
    ("increase(http_requests_total[10m])", All),
    ("delta(temperature_celsius[10m])", Basic),
    ("idelta(queue_length[5m])", Basic),
    ("deriv(queue_length[10m])", Basic),
    ("predict_linear(queue_length[15m], 600)", Basic),
    ("resets(http_requests_total[30m])", Basic),
    ("changes(queue_length[10m])", Basic),
    ("rate(process_cpu_seconds_total[5m])", Basic),
    (
        "rate(request_duration_seconds_sum[5m]) / rate(request_duration_seconds_count[5m])",
        Basic,
    ),
    ("rate(up[5m])", Basic),
    ("increase(rpc_latency_seconds_count[15m])", Basic),
    // *_over_time.
    ("avg_over_time(queue_length[10m])", All),
    ("min_over_time(temperature_celsius[10m])", Basic),
    ("max_over_time(temperature_celsius[10m])", Basic),
    ("sum_over_time(queue_length[5m])", Basic),
    ("count_over_time(queue_length[20m])", All),
    ("quantile_over_time(0.9, queue_length[30m])", Basic),
    ("quantile_over_time(1.5, queue_length[10m])", Basic),
    ("stddev_over_time(temperature_celsius[15m])", Basic),
    ("stdvar_over_time(queue_length[15m])", Basic),
    ("last_over_time(queue_length[20m])", All),
    ("present_over_time(queue_length[20m])", Basic),
    (
        "absent_over_time(queue_length{instance=\"api-2:8080\"}[5m])",
        All,
    ),
    ("absent_over_time(nonexistent[5m])", Basic),
    // Math.
    ("abs(balance)", Basic),
    ("ceil(temperature_celsius)", Basic),
    ("floor(temperature_celsius)", Basic),
    ("round(temperature_celsius)", Basic),
    ("round(temperature_celsius, 0.25)", Basic),
    ("exp(tiny_ratio)", Basic),
    ("ln(disk_free_bytes)", Basic),
    ("log2(queue_length)", Basic),
    ("log10(disk_free_bytes)", Basic),
    ("sqrt(queue_length)", Basic),
    ("sgn(balance)", Basic),
    ("clamp(temperature_celsius, 18, 22)", Basic),
    ("clamp_min(balance, 0)", Basic),
    ("clamp_max(balance, 0)", Basic),
    ("sin(balance)", Basic),
    ("cos(balance)", Basic),
    ("tan(balance)", Basic),
    ("asin(tiny_ratio)", Basic),
    ("acos(tiny_ratio)", Basic),
    ("atan(balance)", Basic),
    ("sinh(tiny_ratio)", Basic),
    ("cosh(tiny_ratio)", Basic),
    ("tanh(balance)", Basic),
    ("asinh(balance)", Basic),
    ("acosh(queue_length + 1)", Basic),
    ("atanh(tiny_ratio)", Basic),
    ("deg(balance)", Basic),
    ("rad(temperature_celsius)", Basic),
    ("pi()", Basic),
    // Time.
    ("time()", Basic),
    ("timestamp(queue_length)", All),
    ("year()", Basic),
    ("month()", Basic),
    ("day_of_month()", Basic),
    ("day_of_week()", Basic),
    ("day_of_year()", Basic),
    ("days_in_month()", Basic),
    ("hour()", Basic),
    ("minute()", Basic),
    ("hour(timestamp(up))", Basic),
    ("minute(timestamp(queue_length))", Basic),
    ("year(vector(1700000000))", Basic),
    ("vector(1)", Basic),
    ("scalar(sum(up))", Basic),
    ("scalar(up)", Basic),
    ("timestamp(rate(http_requests_total[5m]))", Basic),
    // Labels, sorting, absence.
    (
        "label_replace(up, \"host\", \"$1\", \"instance\", \"([^:]+):.*\")",
        Basic,
    ),
    (
        "label_replace(up{job=\"api\"}, \"new\", \"x-$1\", \"instance\", \"(.*)\")",
        Basic,
    ),
    (
        "label_replace(rate(http_requests_total[5m]), \"class\", \"${1}xx\", \"code\", \"(.).*\")",
        Basic,
    ),
    (
        "label_join(up, \"combined\", \"/\", \"job\", \"instance\")",
        Basic,
    ),
    ("sort(queue_length)", Basic),
    ("sort_desc(queue_length)", Basic),
    ("sort(rate(http_requests_total[5m]))", Basic),
    (
        "sort_desc(sum by (instance) (rate(http_requests_total[5m])))",
        Basic,
    ),
    ("absent(nonexistent{job=\"x\"})", Basic),
    ("absent(up)", Basic),
    ("absent(up{job=\"nope\",instance=~\"x\"})", Basic),
    ("absent(sum(nonexistent))", Basic),
    // Classic histograms and summaries.
    (
        "histogram_quantile(0.9, rate(request_duration_seconds_bucket[5m]))",
        All,
    ),
    (
        "histogram_quantile(0.5, sum by (le) (rate(request_duration_seconds_bucket[10m])))",
        Basic,
    ),
    (
        "histogram_quantile(0.99, sum by (job, le) (rate(request_duration_seconds_bucket[5m])))",
        Basic,
    ),
    (
        "histogram_quantile(1.5, rate(request_duration_seconds_bucket[5m]))",
        Basic,
    ),
    (
        "histogram_quantile(0.5, request_duration_seconds_bucket)",
        Basic,
    ),
    ("histogram_count(request_duration_seconds_bucket)", Basic),
    (
        "histogram_sum(rate(request_duration_seconds_bucket[5m]))",
        Basic,
    ),
    ("histogram_avg(request_duration_seconds_bucket)", Basic),
    ("histogram_stddev(request_duration_seconds_bucket)", Basic),
    ("histogram_stdvar(request_duration_seconds_bucket)", Basic),
    (
        "histogram_fraction(0, 0.5, request_duration_seconds_bucket)",
        Basic,
    ),
    ("rpc_latency_seconds{quantile=\"0.99\"}", Basic),
    ("max by (quantile) (rpc_latency_seconds)", Basic),
    // Aggregations.
    ("sum(http_requests_total)", Basic),
    ("sum by (job) (rate(http_requests_total[5m]))", All),
    (
        "sum without (instance, method) (rate(http_requests_total[5m]))",
        Basic,
    ),
    ("avg by (job) (queue_length)", All),
    ("min(temperature_celsius)", Basic),
    ("max by (room) (temperature_celsius)", Basic),
    ("count(up)", Basic),
    ("count by (job) (up == 1)", Basic),
    ("group by (job) (up)", Basic),
    ("stddev(queue_length)", Basic),
    ("stdvar by (job) (queue_length)", Basic),
    ("topk(3, rate(http_requests_total[5m]))", Basic),
    ("bottomk(2, queue_length)", Basic),
    ("topk by (job) (1, queue_length)", Basic),
    ("quantile(0.5, temperature_celsius)", Basic),
    ("quantile by (job) (0.9, queue_length)", Basic),
    ("count_values(\"value\", up)", Basic),
    ("count_values by (job) (\"q\", queue_length)", Basic),
    ("sum(temperature_celsius)", Basic),
    ("max(temperature_celsius)", Basic),
    ("avg(disk_free_bytes)", Basic),
    ("sum by (le) (request_duration_seconds_bucket)", Basic),
    ("count(count by (job) (up))", Basic),
    ("sum(up) + sum(queue_length)", Basic),
    // Binary operators and matching.
    ("queue_length + 1", Basic),
    ("2 * queue_length", Basic),
    ("queue_length / 0", Basic),
    ("-queue_length", Basic),
    ("queue_length % 3", Basic),
    ("queue_length ^ 2", Basic),
    ("2 ^ 3 ^ 2", Basic),
    ("1 + 2 * 3 - 4 / 2", Basic),
    ("queue_length atan2 balance", Basic),
    ("queue_length > 5", Basic),
    ("queue_length > bool 5", Basic),
    ("queue_length == 3", Basic),
    ("queue_length != bool 0", Basic),
    ("5 < queue_length", Basic),
    ("temperature_celsius >= 20", Basic),
    ("temperature_celsius <= bool 20", Basic),
    ("1 > bool 2", Basic),
    ("up and queue_length", All),
    ("up or queue_length", Basic),
    ("queue_length unless up == 0", Basic),
    ("up{job=\"api\"} or vector(0)", Basic),
    (
        "queue_length * on (instance) group_left (version) build_info",
        All,
    ),
    ("build_info * on (instance) group_right queue_length", Basic),
    (
        "rate(http_requests_total[5m]) / on (job, instance) group_left sum by (job, instance) (rate(http_requests_total[5m]))",
        Basic,
    ),
    (
        "http_requests_total / ignoring (code) group_left sum without (code) (http_requests_total)",
        Basic,
    ),
    ("up == on (instance) queue_length", Basic),
    ("up + ignoring (job) queue_length", Basic),
    ("queue_length - queue_length offset 5m", Basic),
    ("queue_length > on (instance) balance", Basic),
    ("(queue_length > 3) + 1", Basic),
    ("queue_length > 3 < 8", Basic),
    ("up * 2 + 1 > bool 2", Basic),
    ("-rate(http_requests_total[5m]) > -1", Basic),
    (
        "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m])) / sum by (job) (rate(http_requests_total[5m]))",
        Basic,
    ),
    (
        "histogram_quantile(0.9, sum by (le, job) (rate(request_duration_seconds_bucket[5m]))) > 0.2",
        Basic,
    ),
    // Subqueries.
    ("max_over_time(rate(http_requests_total[5m])[30m:1m])", All),
    ("avg_over_time(queue_length[10m:])", Basic),
    ("min_over_time(sum(queue_length)[20m:2m] offset 5m)", Basic),
    ("rate(http_requests_total[5m:30s])", Basic),
    ("sum_over_time(up[1h:5m] @ 1700003600)", Basic),
    ("deriv(sum(queue_length)[15m:1m])", Basic),
    (
        "quantile_over_time(0.5, temperature_celsius[30m:90s])",
        Basic,
    ),
    ("max_over_time(temperature_celsius[10m:1m] @ end())", Basic),
    ("rate(http_requests_total[5m])[10m:1m]", InstantOnly),
    ("count_over_time((queue_length > 5)[30m:])", Basic),
];

/// Bad queries: both servers must fail the same way.
const BAD_QUERIES: &[&str] = &[
    "sum(",
    "rate(up)",
    "1 == 1",
    "foo{}",
    "nope(up)",
    "quantile_over_time(0.5, up)",
    "sort_by_label(up, \"job\")",
    "http_requests_total + on (job) queue_length",
    "label_replace(up{job=\"api\"}, \"instance\", \"x\", \"\", \"\")",
    "up{job=~\"(\"}",
];

// ---------------------------------------------------------------------------------------
// Comparison.

/// `{a="b", …}` of a JSON metric object (keys in the order given, which is sorted).
fn metric_key(m: &Json) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in m.as_object().into_iter().flatten().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "{k}={}", v);
    }
    s.push('}');
    s
}

fn value_of(v: &Json) -> f64 {
    match v.as_str() {
        Some("NaN") => f64::NAN,
        Some("+Inf") => f64::INFINITY,
        Some("-Inf") => f64::NEG_INFINITY,
        Some(s) => s.parse().unwrap_or(f64::NAN),
        None => f64::NAN,
    }
}

/// Equal within relative 1e-6 (NaN equals NaN; a 1e-9 floor for results near zero).
fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    let diff = (a - b).abs();
    diff <= 1e-6 * a.abs().max(b.abs()) || diff <= 1e-9
}

/// A timestamp as written (`1700000015.500` and `1700000015.5` are the same).
fn ts_of(v: &Json) -> i64 {
    v.as_f64().map_or(i64::MIN, |s| (s * 1000.0).round() as i64)
}

/// Points `[[t, "v"], …]` compared; `None` when equal.
fn diff_points(a: &[Json], b: &[Json]) -> Option<String> {
    if a.len() != b.len() {
        let ta: BTreeSet<i64> = a.iter().map(|p| ts_of(&p[0])).collect();
        let tb: BTreeSet<i64> = b.iter().map(|p| ts_of(&p[0])).collect();
        let only_a: Vec<_> = ta.difference(&tb).take(5).collect();
        let only_b: Vec<_> = tb.difference(&ta).take(5).collect();
        return Some(format!(
            "{} points vs {}; only in Prometheus at {only_a:?}, only in kmon at {only_b:?}",
            a.len(),
            b.len()
        ));
    }
    for (pa, pb) in a.iter().zip(b) {
        let (ta, tb) = (ts_of(&pa[0]), ts_of(&pb[0]));
        if ta != tb {
            return Some(format!("timestamp {ta} vs {tb}"));
        }
        let (va, vb) = (value_of(&pa[1]), value_of(&pb[1]));
        if !close(va, vb) {
            return Some(format!("at {ta}: {} vs {}", pa[1], pb[1]));
        }
    }
    None
}

/// Series-keyed comparison of a vector or matrix result.
fn diff_series(a: &Json, b: &Json, field: &str, ordered: bool) -> Option<String> {
    let list = |r: &Json| -> Vec<(String, Vec<Json>)> {
        r.as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                let pts = if field == "value" {
                    vec![s["value"].clone()]
                } else {
                    s["values"].as_array().cloned().unwrap_or_default()
                };
                (metric_key(&s["metric"]), pts)
            })
            .collect()
    };
    let (la, lb) = (list(a), list(b));
    let ka: BTreeSet<&String> = la.iter().map(|(k, _)| k).collect();
    let kb: BTreeSet<&String> = lb.iter().map(|(k, _)| k).collect();
    if ka != kb || la.len() != lb.len() {
        let only_a: Vec<_> = ka.difference(&kb).take(4).collect();
        let only_b: Vec<_> = kb.difference(&ka).take(4).collect();
        return Some(format!(
            "{} series vs {}; only in Prometheus: {only_a:?}; only in kmon: {only_b:?}",
            la.len(),
            lb.len()
        ));
    }
    if ordered {
        let oa: Vec<&String> = la.iter().map(|(k, _)| k).collect();
        let ob: Vec<&String> = lb.iter().map(|(k, _)| k).collect();
        if oa != ob {
            return Some(format!("order differs: {oa:?} vs {ob:?}"));
        }
    }
    let mb: BTreeMap<&String, &Vec<Json>> = lb.iter().map(|(k, v)| (k, v)).collect();
    for (k, pa) in &la {
        if let Some(d) = diff_points(pa, mb[k]) {
            return Some(format!("{k}: {d}"));
        }
    }
    None
}

fn annotations(v: &Json) -> BTreeSet<String> {
    ["warnings", "infos"]
        .iter()
        .flat_map(|k| v[*k].as_array().cloned().unwrap_or_default())
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// How two answers compare.
enum Verdict {
    Same,
    /// The same errorType with different messages (reported, not failed: the messages of
    /// bad queries come from different parsers and regex engines).
    Note(String),
    Mismatch(String),
}

/// Compares two API answers.
fn compare(query: &str, prom: &(u16, String), kmon: &(u16, String)) -> Verdict {
    match compare_strict(query, prom, kmon) {
        None => Verdict::Same,
        Some(d) if d.starts_with(MESSAGE_ONLY) => Verdict::Note(d),
        Some(d) => Verdict::Mismatch(d),
    }
}

const MESSAGE_ONLY: &str = "error message:";

/// `None` when the answers agree, else what differs.
fn compare_strict(query: &str, prom: &(u16, String), kmon: &(u16, String)) -> Option<String> {
    let (pa, ka): (Json, Json) =
        match (serde_json::from_str(&prom.1), serde_json::from_str(&kmon.1)) {
            (Ok(p), Ok(k)) => (p, k),
            _ => {
                return Some(format!(
                    "unparseable answer: Prometheus {} {:?} / kmon {} {:?}",
                    prom.0, prom.1, kmon.0, kmon.1
                ));
            }
        };
    if pa["status"] != ka["status"] || prom.0 != kmon.0 {
        return Some(format!(
            "status: Prometheus {} {} / kmon {} {}",
            prom.0,
            short(&prom.1),
            kmon.0,
            short(&kmon.1)
        ));
    }
    if pa["status"] == "error" {
        if pa["errorType"] != ka["errorType"] {
            return Some(format!(
                "errorType: Prometheus {} {} / kmon {} {}",
                pa["errorType"], pa["error"], ka["errorType"], ka["error"]
            ));
        }
        if pa["error"] != ka["error"] {
            return Some(format!(
                "{MESSAGE_ONLY} Prometheus {} / kmon {}",
                pa["error"], ka["error"]
            ));
        }
        return None;
    }
    let (dp, dk) = (&pa["data"], &ka["data"]);
    if dp["resultType"] != dk["resultType"] {
        return Some(format!(
            "resultType {} vs {}",
            dp["resultType"], dk["resultType"]
        ));
    }
    let ordered = query.starts_with("sort");
    let d = match dp["resultType"].as_str() {
        Some("vector") => diff_series(&dp["result"], &dk["result"], "value", ordered),
        Some("matrix") => diff_series(&dp["result"], &dk["result"], "values", false),
        Some("scalar") => diff_points(
            std::slice::from_ref(&dp["result"]),
            std::slice::from_ref(&dk["result"]),
        ),
        _ => {
            (dp["result"] != dk["result"]).then(|| format!("{} vs {}", dp["result"], dk["result"]))
        }
    };
    if d.is_some() {
        return d;
    }
    let (ap, ak) = (annotations(&pa), annotations(&ka));
    (ap != ak).then(|| format!("annotations: Prometheus {ap:?} / kmon {ak:?}"))
}

fn short(s: &str) -> String {
    s.chars().take(300).collect()
}

// ---------------------------------------------------------------------------------------
// The servers.

fn start_prometheus(
    bin: &Path,
    promtool: &Path,
    dir: &Path,
    cfg: &Path,
    om: &Path,
    features: &[&str],
) -> (ChildGuard, String) {
    let data = dir.join("prom-data");
    let out = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(om)
        .arg(&data)
        .stdin(Stdio::null())
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool create-blocks-from openmetrics failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let log = std::fs::File::create(dir.join("prometheus.log")).expect("log file");
    let child = Command::new(bin)
        .arg("--config.file")
        .arg(cfg)
        .arg("--storage.tsdb.path")
        .arg(&data)
        .arg("--storage.tsdb.retention.time=100y")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(features.iter().map(|f| format!("--enable-feature={f}")))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    (ChildGuard::new(child), format!("http://127.0.0.1:{port}"))
}

fn start_kmon(dir: &Path, cfg: &Path, om: &Path, features: &[&str]) -> (ChildGuard, String) {
    let port = free_port();
    let kdir = dir.join("kmon");
    let child = Command::new(env!("CARGO_BIN_EXE_kmon"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--load"])
        .arg(om)
        .arg("--config")
        .arg(cfg)
        .arg("--data-dir")
        .arg(&kdir)
        .args(features.iter().map(|f| format!("--enable-feature={f}")))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kmon serve");
    (ChildGuard::new(child), format!("http://127.0.0.1:{port}"))
}

/// One request to both servers.
struct Pair<'a> {
    http: &'a Http,
    prom: &'a str,
    kmon: &'a str,
}

impl Pair<'_> {
    fn post(&self, path: &str, form: &[(&str, &str)]) -> ((u16, String), (u16, String)) {
        let get = |base: &str| {
            self.http
                .post_form(&format!("{base}{path}"), form)
                .unwrap_or((0, "no answer".into()))
        };
        (get(self.prom), get(self.kmon))
    }

    fn get(&self, path_and_query: &str) -> ((u16, String), (u16, String)) {
        let get = |base: &str| {
            self.http
                .get(&format!("{base}{path_and_query}"))
                .unwrap_or((0, "no answer".into()))
        };
        (get(self.prom), get(self.kmon))
    }
}

/// Both servers over the fixture, started with the same feature flags.
struct Servers {
    _prom: ChildGuard,
    _kmon: ChildGuard,
    prom_url: String,
    kmon_url: String,
    _dir: tempfile::TempDir,
}

/// Starts both servers (or `None` when the reference binaries are missing).
fn start_servers(features: &[&str], http: &Http) -> Option<Servers> {
    let (prom_bin, promtool) = (ref_bin("prometheus")?, ref_bin("promtool")?);
    let dir = tempfile::tempdir().expect("temp dir");
    let om = dir.path().join("fixture.om");
    std::fs::write(&om, fixture()).expect("write the fixture");
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        "global:\n  scrape_interval: 15s\n  evaluation_interval: 1m\n",
    )
    .expect("write the config");
    let (mut prom, prom_url) =
        start_prometheus(&prom_bin, &promtool, dir.path(), &cfg, &om, features);
    let (mut kmon, kmon_url) = start_kmon(dir.path(), &cfg, &om, features);
    for (name, url, child) in [
        ("prometheus", &prom_url, &mut prom),
        ("kmon", &kmon_url, &mut kmon),
    ] {
        if !http.wait_ok(&format!("{url}/-/ready"), Duration::from_secs(90)) {
            let log =
                std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
            panic!(
                "{name} not ready (exited: {:?}); prometheus log:\n{log}",
                child.exited()
            );
        }
    }
    Some(Servers {
        _prom: prom,
        _kmon: kmon,
        prom_url,
        kmon_url,
        _dir: dir,
    })
}

/// The comparisons of one test and their report.
#[derive(Default)]
struct Suite {
    runs: usize,
    report: String,
    mismatches: Vec<String>,
    notes: usize,
    /// Mismatches of `KNOWN_GAPS` queries (counted among the notes).
    known: usize,
}

impl Suite {
    fn record(&mut self, what: String, v: Verdict) {
        self.runs += 1;
        match v {
            Verdict::Same => {
                let _ = writeln!(self.report, "ok       {what}");
            }
            Verdict::Note(d) => {
                self.notes += 1;
                let _ = writeln!(self.report, "NOTE     {what}\n    {d}");
            }
            Verdict::Mismatch(d) => {
                let _ = writeln!(self.report, "MISMATCH {what}\n    {d}");
                self.mismatches.push(format!("{what}\n    {d}"));
            }
        }
    }

    /// A query's verdict, with known gaps downgraded.
    fn verdict(&mut self, q: &str, v: Verdict) -> Verdict {
        let Some((_, why)) = KNOWN_GAPS.iter().find(|(prefix, _)| q.starts_with(prefix)) else {
            return v;
        };
        match v {
            Verdict::Mismatch(d) => {
                self.known += 1;
                Verdict::Note(format!("KNOWN GAP ({why}): {d}"))
            }
            Verdict::Same => Verdict::Note(format!(
                "listed as a known gap ({why}) but matches now: remove it from KNOWN_GAPS"
            )),
            note => note,
        }
    }

    /// Every query of `queries` on its grid, then the bad queries.
    fn queries(&mut self, pair: &Pair<'_>, queries: &[(&str, Runs)], bad: &[&str]) {
        for (q, runs_of) in queries {
            let times: &[&str] = match runs_of {
                All => &INSTANT_TIMES,
                Basic | InstantOnly => &INSTANT_TIMES[..2],
            };
            for t in times {
                let (p, k) = pair.post("/api/v1/query", &[("query", q), ("time", t)]);
                let v = self.verdict(q, compare(q, &p, &k));
                self.record(format!("instant {q} @ {t}"), v);
            }
            let ranges: &[(&str, &str, &str)] = match runs_of {
                All => &RANGES,
                Basic => &RANGES[..1],
                InstantOnly => &[],
            };
            for (start, end, step) in ranges {
                let (p, k) = pair.post(
                    "/api/v1/query_range",
                    &[("query", q), ("start", start), ("end", end), ("step", step)],
                );
                let v = self.verdict(q, compare(q, &p, &k));
                self.record(format!("range {q} [{start}, {end}] step {step}"), v);
            }
        }
        for q in bad {
            let (p, k) = pair.post("/api/v1/query", &[("query", q), ("time", INSTANT_TIMES[0])]);
            self.record(format!("error {q}"), compare(q, &p, &k));
        }
    }

    /// Writes the report and fails on mismatches.
    fn finish(self, name: &str, min_runs: usize) {
        let summary = format!(
            "{}: {} comparisons, {} mismatches, {} notes ({} known gaps, the rest same errorType with another message)\n",
            name,
            self.runs,
            self.mismatches.len(),
            self.notes,
            self.known
        );
        let full = format!("{summary}\n{}", self.report);
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.txt"));
        let _ = std::fs::write(&out, &full);
        if let Some(dir) = std::env::var_os("KMON_INTEROP_REPORT_DIR") {
            let _ = std::fs::write(Path::new(&dir).join(format!("{name}.txt")), &full);
        }
        println!("{summary}report: {}", out.display());
        assert!(self.runs >= min_runs, "only {} comparisons", self.runs);
        assert!(
            self.mismatches.is_empty(),
            "{summary}{}",
            self.mismatches.join("\n")
        );
    }
}

/// Equal bodies, or where they first differ.
fn same_bytes(p: &(u16, String), k: &(u16, String)) -> Verdict {
    if p == k {
        return Verdict::Same;
    }
    let at =
        p.1.bytes()
            .zip(k.1.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(p.1.len().min(k.1.len()));
    let around = |s: &str| -> String {
        let lo = at.saturating_sub(40);
        let hi = (at + 40).min(s.len());
        String::from_utf8_lossy(&s.as_bytes()[lo.min(hi)..hi]).into_owned()
    };
    Verdict::Mismatch(format!(
        "HTTP {} vs {}; bodies differ at byte {at}: Prometheus …{}… / kmon …{}…",
        p.0,
        k.0,
        around(&p.1),
        around(&k.1)
    ))
}

#[test]
fn promql_answers_match_prometheus() {
    let http = Http::new();
    let Some(servers) = start_servers(&[], &http) else {
        return;
    };
    let pair = Pair {
        http: &http,
        prom: &servers.prom_url,
        kmon: &servers.kmon_url,
    };
    let mut suite = Suite::default();
    suite.queries(&pair, QUERIES, BAD_QUERIES);
    // Parameter errors.
    for form in [
        &[
            ("query", "up"),
            ("start", "1700000100"),
            ("end", "1700000000"),
            ("step", "15"),
        ][..],
        &[
            ("query", "up"),
            ("start", "1700000000"),
            ("end", "1700100000"),
            ("step", "1"),
        ][..],
        &[
            ("query", "up"),
            ("start", "1700000000"),
            ("end", "1700000100"),
            ("step", "0"),
        ][..],
        &[
            ("query", "up[5m]"),
            ("start", "1700000000"),
            ("end", "1700000100"),
            ("step", "15"),
        ][..],
        &[
            ("query", "up"),
            ("start", "yesterday"),
            ("end", "1700000100"),
            ("step", "15"),
        ][..],
    ] {
        let (p, k) = pair.post("/api/v1/query_range", form);
        suite.record(format!("error range {form:?}"), compare("", &p, &k));
    }
    // Byte for byte: a Grafana-style range request, and the lookup endpoints.
    let grafana = [
        ("query", "sum by (job) (rate(http_requests_total[5m]))"),
        ("start", "1700000600"),
        ("end", "1700006600"),
        ("step", "60"),
    ];
    let (p, k) = pair.post("/api/v1/query_range", &grafana);
    suite.record("bytes grafana query_range".into(), same_bytes(&p, &k));
    for path in [
        "/api/v1/series?match%5B%5D=up",
        "/api/v1/series?match%5B%5D=queue_length&match%5B%5D=label_with_escapes",
        "/api/v1/labels",
        "/api/v1/labels?match%5B%5D=rpc_latency_seconds",
        "/api/v1/label/job/values",
        "/api/v1/label/desc/values",
        "/api/v1/label/instance/values?match%5B%5D=queue_length",
        "/api/v1/query?query=up&time=1700003600",
        "/api/v1/query?query=label_with_escapes&time=1700003600",
        "/api/v1/query?query=quantile(2,%20up)&time=1700003600",
        "/api/v1/query?query=sum(&time=1700003600",
    ] {
        let (p, k) = pair.get(path);
        suite.record(format!("bytes GET {path}"), same_bytes(&p, &k));
    }
    suite.finish("interop-report", 200);
}

/// The experimental functions and aggregations, with
/// `--enable-feature=promql-experimental-functions` on both servers.
const EXPERIMENTAL: &[(&str, Runs)] = &[
    ("sort_by_label(up, \"instance\")", Basic),
    (
        "sort_by_label_desc(queue_length, \"job\", \"instance\")",
        Basic,
    ),
    ("mad_over_time(temperature_celsius[15m])", Basic),
    (
        "double_exponential_smoothing(queue_length[20m], 0.5, 0.5)",
        Basic,
    ),
    ("ts_of_max_over_time(temperature_celsius[10m])", Basic),
    ("ts_of_min_over_time(queue_length[10m])", Basic),
    ("ts_of_last_over_time(queue_length[20m])", All),
    ("limitk(2, http_requests_total)", Basic),
    ("limitk by (job) (1, rate(http_requests_total[5m]))", Basic),
    ("limit_ratio(0.5, http_requests_total)", Basic),
    ("limit_ratio(-0.3, http_requests_total)", Basic),
    ("info(up)", Basic),
    ("info(rate(http_requests_total[5m]))", Basic),
];

/// Queries whose mismatch is a known gap of kmon's engine, reported as `KNOWN` instead of
/// failing (and flagged when they start to match, so the entry can go).
/// Queries where kmon is known to differ, as (query prefix, reason). Empty: every
/// difference is a failure.
const KNOWN_GAPS: &[(&str, &str)] = &[];

#[test]
fn experimental_functions_match_prometheus() {
    let http = Http::new();
    let Some(servers) = start_servers(&["promql-experimental-functions"], &http) else {
        return;
    };
    let pair = Pair {
        http: &http,
        prom: &servers.prom_url,
        kmon: &servers.kmon_url,
    };
    let mut suite = Suite::default();
    suite.queries(
        &pair,
        EXPERIMENTAL,
        &["limitk(\"x\", up)", "sort_by_label(up, 1)"],
    );
    suite.finish("interop-experimental-report", 30);
}

#[test]
fn the_fixture_is_valid_openmetrics_for_kmon() {
    let text = fixture();
    let mut samples = 0;
    for e in kmon::exposition::parse(&text, kmon::exposition::Format::OpenMetrics) {
        if let kmon::exposition::Entry::Sample(_) = e.expect("a valid fixture") {
            samples += 1;
        }
    }
    assert!(samples > 30_000, "{samples}");
}
