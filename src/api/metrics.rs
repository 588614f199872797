//! kmon's own metrics on `/metrics`, in the text format 0.0.4: HTTP requests by handler
//! and status code with their durations, PromQL queries by outcome with their durations
//! and the number running, `kmon_build_info`, and the app's `process_*` lines.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::model::format_go_float;
use crate::promql::QueryError;

/// Upper bounds (seconds) of the duration histograms.
const BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 10.0, 30.0, 120.0,
];

#[derive(Debug, Clone, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += secs;
    }

    /// `name_bucket{labels,le}`, `name_sum{labels}`, `name_count{labels}`; `labels` is
    /// `k="v",` pairs, each followed by a comma, or empty.
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}le=\"{}\"}} {}",
                format_go_float(*b),
                self.counts[i]
            );
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {}", self.count);
        let trimmed = labels.trim_end_matches(',');
        let braces = if trimmed.is_empty() {
            String::new()
        } else {
            format!("{{{trimmed}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", format_go_float(self.sum));
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// The counters behind `/metrics`. Shared by every request.
#[derive(Debug, Default)]
pub struct ApiMetrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    request_durations: Mutex<BTreeMap<&'static str, Histogram>>,
    queries_running: AtomicI64,
    queries: Mutex<BTreeMap<&'static str, u64>>,
    query_durations: Mutex<Histogram>,
}

/// Counts a query as running until dropped.
pub struct Running<'a>(&'a AtomicI64);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl ApiMetrics {
    /// One answered request.
    pub fn observe_request(&self, handler: &'static str, code: u16, took: Duration) {
        *self.requests.lock().entry((handler, code)).or_insert(0) += 1;
        self.request_durations
            .lock()
            .entry(handler)
            .or_default()
            .observe(took.as_secs_f64());
    }

    pub fn query_started(&self) -> Running<'_> {
        self.queries_running.fetch_add(1, Ordering::Relaxed);
        Running(&self.queries_running)
    }

    /// A finished evaluation and how it ended.
    pub fn query_finished(&self, took: Duration, error: Option<&QueryError>) {
        let outcome = error.map_or("success", QueryError::error_type);
        *self.queries.lock().entry(outcome).or_insert(0) += 1;
        self.query_durations.lock().observe(took.as_secs_f64());
    }

    /// How many requests `handler` answered with `code` (for tests).
    pub fn requests(&self, handler: &str, code: u16) -> u64 {
        self.requests
            .lock()
            .iter()
            .filter(|((h, c), _)| *h == handler && *c == code)
            .map(|(_, n)| *n)
            .sum()
    }

    /// Everything in the text format.
    pub fn render(&self, out: &mut String) {
        out.push_str("# HELP kmon_build_info A metric with a constant '1' value labeled by kmon's version.\n");
        out.push_str("# TYPE kmon_build_info gauge\n");
        let _ = writeln!(
            out,
            "kmon_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );

        out.push_str("# HELP kmon_http_requests_total Counter of HTTP requests.\n");
        out.push_str("# TYPE kmon_http_requests_total counter\n");
        for ((handler, code), n) in self.requests.lock().iter() {
            let _ = writeln!(
                out,
                "kmon_http_requests_total{{code=\"{code}\",handler=\"{handler}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP kmon_http_request_duration_seconds Histogram of latencies for HTTP requests.\n",
        );
        out.push_str("# TYPE kmon_http_request_duration_seconds histogram\n");
        for (handler, h) in self.request_durations.lock().iter() {
            h.render(
                out,
                "kmon_http_request_duration_seconds",
                &format!("handler=\"{handler}\","),
            );
        }

        out.push_str(
            "# HELP kmon_engine_queries The current number of queries being executed or waiting.\n",
        );
        out.push_str("# TYPE kmon_engine_queries gauge\n");
        let _ = writeln!(
            out,
            "kmon_engine_queries {}",
            self.queries_running.load(Ordering::Relaxed)
        );
        out.push_str("# HELP kmon_engine_queries_total Queries evaluated, by outcome (success or the API's errorType).\n");
        out.push_str("# TYPE kmon_engine_queries_total counter\n");
        for (outcome, n) in self.queries.lock().iter() {
            let _ = writeln!(out, "kmon_engine_queries_total{{result=\"{outcome}\"}} {n}");
        }
        out.push_str("# HELP kmon_engine_query_duration_seconds Query evaluation time.\n");
        out.push_str("# TYPE kmon_engine_query_duration_seconds histogram\n");
        self.query_durations
            .lock()
            .render(out, "kmon_engine_query_duration_seconds", "");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_as_valid_text_exposition() {
        let m = ApiMetrics::default();
        m.observe_request("/api/v1/query", 200, Duration::from_millis(3));
        m.observe_request("/api/v1/query", 400, Duration::from_millis(1));
        {
            let _r = m.query_started();
            m.query_finished(Duration::from_millis(2), None);
        }
        m.query_finished(
            Duration::from_millis(2),
            Some(&QueryError::Timeout("expression evaluation")),
        );
        let mut text = String::new();
        m.render(&mut text);
        // Every line is a comment or `series value`.
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .inspect(|l| {
                let (_, value) = l.rsplit_once(' ').expect("series and value");
                assert!(value.parse::<f64>().is_ok() || value == "+Inf", "{l}");
            })
            .count();
        assert!(samples > 30, "{text}");
        assert!(
            text.contains("kmon_http_requests_total{code=\"200\",handler=\"/api/v1/query\"} 1\n")
        );
        assert!(text.contains("kmon_engine_queries_total{result=\"timeout\"} 1\n"));
        assert!(text.contains("kmon_engine_queries 0\n"));
        assert!(text.contains("kmon_engine_query_duration_seconds_count 2\n"));
        assert_eq!(m.requests("/api/v1/query", 400), 1);
    }
}
