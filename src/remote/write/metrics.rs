//! The counters of one remote-write queue and their rendering on `/metrics` under
//! Prometheus's names (`prometheus_remote_storage_*`, labelled `remote_name` and `url`),
//! plus kmon's own count of samples dropped by reason
//! (`kmon_remote_storage_samples_dropped_total`) and of log gaps. The queue's reader and
//! shards update them; `app` renders every queue's through `write_metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::model::format_go_float;

/// Prometheus's `sent_batch_duration_seconds` buckets: the client library's defaults and
/// 25, 60, 120, 300.
const BUCKETS: [f64; 15] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 60.0, 120.0, 300.0,
];

/// Prometheus's reasons for `samples_dropped_total`.
pub const REASON_TOO_OLD: &str = "too_old";
pub const REASON_DROPPED_SERIES: &str = "dropped_series";
pub const REASON_UNKNOWN_SERIES: &str = "unintentionally_dropped_series";

/// One queue's counters. Shared by its reader and shards.
#[derive(Debug)]
pub struct QueueMetrics {
    pub remote_name: String,
    pub url: String,
    /// Samples in requests, counted at every attempt (as Prometheus does).
    pub samples_total: AtomicU64,
    /// Samples in batches the receiver refused for good.
    pub samples_failed: AtomicU64,
    /// Samples in attempts that failed and were retried.
    pub samples_retried: AtomicU64,
    /// Prometheus's reasons (`too_old`, `dropped_series`, `unintentionally_dropped_series`).
    dropped: Mutex<BTreeMap<&'static str, u64>>,
    /// kmon's reasons: Prometheus's, and `http_<code>` for refused batches.
    dropped_kmon: Mutex<BTreeMap<String, u64>>,
    pub enqueue_retries: AtomicU64,
    pub samples_pending: AtomicI64,
    pub shards: AtomicI64,
    pub shards_min: AtomicI64,
    pub shards_max: AtomicI64,
    pub shards_desired: AtomicI64,
    pub shard_capacity: AtomicI64,
    pub max_samples_per_send: AtomicI64,
    /// Milliseconds; 0 until something was sent.
    pub highest_sent_ms: AtomicI64,
    /// The newest sample read from the log (ms); 0 until one was read.
    pub highest_read_ms: AtomicI64,
    /// Compressed request bytes sent successfully or refused for good.
    pub bytes_total: AtomicU64,
    /// Log ranges skipped because the store had truncated them.
    pub wal_gaps: AtomicU64,
    durations: Mutex<([u64; BUCKETS.len()], u64, f64)>,
}

impl QueueMetrics {
    pub fn new(remote_name: &str, url: &str) -> QueueMetrics {
        QueueMetrics {
            remote_name: remote_name.to_string(),
            url: url.to_string(),
            samples_total: AtomicU64::new(0),
            samples_failed: AtomicU64::new(0),
            samples_retried: AtomicU64::new(0),
            dropped: Mutex::new(BTreeMap::new()),
            dropped_kmon: Mutex::new(BTreeMap::new()),
            enqueue_retries: AtomicU64::new(0),
            samples_pending: AtomicI64::new(0),
            shards: AtomicI64::new(0),
            shards_min: AtomicI64::new(0),
            shards_max: AtomicI64::new(0),
            shards_desired: AtomicI64::new(0),
            shard_capacity: AtomicI64::new(0),
            max_samples_per_send: AtomicI64::new(0),
            highest_sent_ms: AtomicI64::new(0),
            highest_read_ms: AtomicI64::new(0),
            bytes_total: AtomicU64::new(0),
            wal_gaps: AtomicU64::new(0),
            durations: Mutex::new(([0; BUCKETS.len()], 0, 0.0)),
        }
    }

    /// Samples dropped on reading the log, for one of Prometheus's reasons.
    pub fn drop_read(&self, reason: &'static str, n: u64) {
        *self.dropped.lock().entry(reason).or_default() += n;
        *self
            .dropped_kmon
            .lock()
            .entry(reason.to_string())
            .or_default() += n;
    }

    /// Samples of a batch the receiver refused for good (`reason` like `http_400`).
    pub fn drop_refused(&self, reason: &str, n: u64) {
        self.samples_failed.fetch_add(n, Ordering::Relaxed);
        *self
            .dropped_kmon
            .lock()
            .entry(reason.to_string())
            .or_default() += n;
    }

    /// kmon's drop count for `reason`.
    pub fn dropped(&self, reason: &str) -> u64 {
        self.dropped_kmon.lock().get(reason).copied().unwrap_or(0)
    }

    pub fn observe_send(&self, secs: f64) {
        let mut d = self.durations.lock();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                d.0[i] += 1;
            }
        }
        d.1 += 1;
        d.2 += secs;
    }

    pub fn raise(cell: &AtomicI64, v: i64) {
        cell.fetch_max(v, Ordering::Relaxed);
    }

    /// Lag in seconds: the newest sample read minus the newest sample sent.
    pub fn lag_seconds(&self) -> f64 {
        let read = self.highest_read_ms.load(Ordering::Relaxed);
        let sent = self.highest_sent_ms.load(Ordering::Relaxed);
        (read - sent).max(0) as f64 / 1000.0
    }

    fn labels(&self) -> String {
        format!(
            "remote_name=\"{}\",url=\"{}\"",
            escape(&self.remote_name),
            escape(&self.url)
        )
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

type Value = fn(&QueueMetrics) -> f64;

fn load_u(c: &AtomicU64) -> f64 {
    c.load(Ordering::Relaxed) as f64
}

fn load_i(c: &AtomicI64) -> f64 {
    c.load(Ordering::Relaxed) as f64
}

/// The one-value families, in the order they are written: name, type, help, value.
const FAMILIES: [(&str, &str, &str, Value); 15] = [
    (
        "prometheus_remote_storage_samples_total",
        "counter",
        "Total number of samples sent to remote storage.",
        |m| load_u(&m.samples_total),
    ),
    (
        "prometheus_remote_storage_samples_failed_total",
        "counter",
        "Total number of samples which failed on send to remote storage, non-recoverable errors.",
        |m| load_u(&m.samples_failed),
    ),
    (
        "prometheus_remote_storage_samples_retried_total",
        "counter",
        "Total number of samples which failed on send to remote storage but were retried because the send error was recoverable.",
        |m| load_u(&m.samples_retried),
    ),
    (
        "prometheus_remote_storage_enqueue_retries_total",
        "counter",
        "Total number of times enqueue has failed because a shards queue was full.",
        |m| load_u(&m.enqueue_retries),
    ),
    (
        "prometheus_remote_storage_samples_pending",
        "gauge",
        "The number of samples pending in the queues shards to be sent to the remote storage.",
        |m| load_i(&m.samples_pending),
    ),
    (
        "prometheus_remote_storage_shards",
        "gauge",
        "The number of shards used for parallel sending to the remote storage.",
        |m| load_i(&m.shards),
    ),
    (
        "prometheus_remote_storage_shards_min",
        "gauge",
        "The minimum number of shards that the queue is allowed to run.",
        |m| load_i(&m.shards_min),
    ),
    (
        "prometheus_remote_storage_shards_max",
        "gauge",
        "The maximum number of shards that the queue is allowed to run.",
        |m| load_i(&m.shards_max),
    ),
    (
        "prometheus_remote_storage_shards_desired",
        "gauge",
        "The number of shards that the queues shard calculation wants to run based on the rate of samples in vs. samples out.",
        |m| load_i(&m.shards_desired),
    ),
    (
        "prometheus_remote_storage_shard_capacity",
        "gauge",
        "The capacity of each shard of the queue used for parallel sending to the remote storage.",
        |m| load_i(&m.shard_capacity),
    ),
    (
        "prometheus_remote_storage_max_samples_per_send",
        "gauge",
        "The maximum number of samples to be sent, in a single request, to the remote storage.",
        |m| load_i(&m.max_samples_per_send),
    ),
    (
        "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
        "gauge",
        "Timestamp from a WAL sample, the highest timestamp successfully sent by this queue, in seconds since epoch. Initialized to 0 when no data has been sent yet.",
        |m| (m.highest_sent_ms.load(Ordering::Relaxed) / 1000) as f64,
    ),
    (
        "prometheus_remote_storage_bytes_total",
        "counter",
        "The total number of bytes of data (not metadata) sent by the queue after compression.",
        |m| load_u(&m.bytes_total),
    ),
    (
        "kmon_remote_storage_lag_seconds",
        "gauge",
        "The newest sample read from the write-ahead log minus the newest sample sent, in seconds.",
        |m| m.lag_seconds(),
    ),
    (
        "kmon_remote_storage_wal_gaps_total",
        "counter",
        "Ranges of the write-ahead log skipped because the storage truncated them before they were read; their samples were not sent.",
        |m| load_u(&m.wal_gaps),
    ),
];

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Appends every queue's metrics, each family once, in the text format 0.0.4. Writes
/// nothing without queues.
pub fn write_metrics(queues: &[&QueueMetrics], out: &mut String) {
    if queues.is_empty() {
        return;
    }
    let name = "prometheus_remote_storage_highest_timestamp_in_seconds";
    head(
        out,
        name,
        "gauge",
        "Highest timestamp that has come into the remote storage via the Appender interface, in seconds since epoch. Initialized to 0 when no data has been received yet.",
    );
    let newest = queues
        .iter()
        .map(|q| q.highest_read_ms.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    let _ = writeln!(out, "{name} {}", newest / 1000);
    for (name, kind, help, value) in FAMILIES {
        head(out, name, kind, help);
        for q in queues {
            let _ = writeln!(
                out,
                "{name}{{{}}} {}",
                q.labels(),
                format_go_float(value(q))
            );
        }
    }
    let name = "prometheus_remote_storage_samples_dropped_total";
    head(
        out,
        name,
        "counter",
        "Total number of samples which were dropped after being read from the WAL before being sent via remote write, either via relabelling, due to being too old or unintentionally because of an unknown reference ID.",
    );
    for q in queues {
        for (reason, n) in q.dropped.lock().iter() {
            let _ = writeln!(out, "{name}{{reason=\"{reason}\",{}}} {n}", q.labels());
        }
    }
    let name = "kmon_remote_storage_samples_dropped_total";
    head(
        out,
        name,
        "counter",
        "Samples read from the write-ahead log and never delivered, by reason: Prometheus's reasons, or http_<code> for batches the receiver refused.",
    );
    for q in queues {
        for (reason, n) in q.dropped_kmon.lock().iter() {
            let _ = writeln!(
                out,
                "{name}{{reason=\"{}\",{}}} {n}",
                escape(reason),
                q.labels()
            );
        }
    }
    let name = "prometheus_remote_storage_sent_batch_duration_seconds";
    head(
        out,
        name,
        "histogram",
        "Duration of send calls to the remote storage.",
    );
    for q in queues {
        let labels = q.labels();
        let d = q.durations.lock();
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels},le=\"{}\"}} {}",
                format_go_float(*b),
                d.0[i]
            );
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", d.1);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", format_go_float(d.2));
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", d.1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_appear_once_with_every_queue() {
        let a = QueueMetrics::new("a", "http://a/w");
        let b = QueueMetrics::new("b", "http://b/\"w\"");
        a.samples_total.fetch_add(7, Ordering::Relaxed);
        a.drop_read(REASON_DROPPED_SERIES, 2);
        b.drop_refused("http_400", 3);
        a.highest_read_ms.store(10_500, Ordering::Relaxed);
        a.highest_sent_ms.store(4_000, Ordering::Relaxed);
        a.observe_send(0.02);
        let mut out = String::new();
        write_metrics(&[&a, &b], &mut out);
        assert_eq!(
            out.matches("# TYPE prometheus_remote_storage_samples_total counter")
                .count(),
            1
        );
        assert!(out.contains(
            "prometheus_remote_storage_samples_total{remote_name=\"a\",url=\"http://a/w\"} 7\n"
        ));
        assert!(out.contains("url=\"http://b/\\\"w\\\"\"} 0\n"));
        assert!(out.contains("prometheus_remote_storage_samples_dropped_total{reason=\"dropped_series\",remote_name=\"a\",url=\"http://a/w\"} 2\n"));
        assert!(out.contains(
            "kmon_remote_storage_samples_dropped_total{reason=\"http_400\",remote_name=\"b\""
        ));
        assert!(out.contains("prometheus_remote_storage_samples_failed_total{remote_name=\"b\",url=\"http://b/\\\"w\\\"\"} 3\n"));
        assert!(out.contains("prometheus_remote_storage_highest_timestamp_in_seconds 10\n"));
        assert!(out.contains("prometheus_remote_storage_queue_highest_sent_timestamp_seconds{remote_name=\"a\",url=\"http://a/w\"} 4\n"));
        assert!(out.contains("prometheus_remote_storage_sent_batch_duration_seconds_bucket{remote_name=\"a\",url=\"http://a/w\",le=\"0.025\"} 1\n"));
        assert_eq!(a.lag_seconds(), 6.5);
        assert!(out.contains(
            "kmon_remote_storage_lag_seconds{remote_name=\"a\",url=\"http://a/w\"} 6.5\n"
        ));
        let mut none = String::new();
        write_metrics(&[], &mut none);
        assert!(none.is_empty());
    }
}
