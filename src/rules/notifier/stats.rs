//! The notifier's counters as the API, the TUI and `/metrics` read them: per Alertmanager
//! (sent, errors, last error and success) and overall (dropped, queue length and
//! capacity), and their text-format rendering under Prometheus's metric names.

use std::fmt::Write as _;

/// What one Alertmanager has seen, for the API, the TUI and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertmanagerStats {
    /// The push URL.
    pub url: String,
    /// Alerts posted to it, whether or not the post succeeded (Prometheus's
    /// `prometheus_notifications_sent_total`).
    pub sent: u64,
    /// Alerts in posts that failed.
    pub errors: u64,
    /// The last failure, and when (ms since the epoch); cleared by nothing.
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    /// When a post last succeeded (ms since the epoch).
    pub last_success_at: Option<i64>,
}

/// The notifier's counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NotifierStats {
    pub sent: u64,
    pub errors: u64,
    pub dropped: u64,
    pub queue_length: usize,
    pub queue_capacity: usize,
    /// One entry per active Alertmanager, in configuration order.
    pub alertmanagers: Vec<AlertmanagerStats>,
    /// The push URLs of Alertmanagers dropped by target relabeling.
    pub dropped_alertmanagers: Vec<String>,
}

/// Appends `stats` as Prometheus's `prometheus_notifications_*` families.
pub(super) fn write_metrics(stats: &NotifierStats, out: &mut String) {
    let mut per_url: Vec<&AlertmanagerStats> = stats.alertmanagers.iter().collect();
    per_url.sort_by(|a, b| a.url.cmp(&b.url));
    let head = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
    };
    let per_am = |out: &mut String, name: &str, value: &dyn Fn(&AlertmanagerStats) -> u64| {
        for s in &per_url {
            let url = escape_label_value(&s.url);
            let _ = writeln!(out, "{name}{{alertmanager=\"{url}\"}} {}", value(s));
        }
    };
    let name = "prometheus_notifications_alertmanagers_discovered";
    head(
        out,
        name,
        "gauge",
        "The number of alertmanagers discovered and active.",
    );
    let _ = writeln!(out, "{name} {}", stats.alertmanagers.len());
    let name = "prometheus_notifications_dropped_total";
    head(
        out,
        name,
        "counter",
        "Total number of alerts dropped due to errors when sending to Alertmanager.",
    );
    let _ = writeln!(out, "{name} {}", stats.dropped);
    let name = "prometheus_notifications_errors_total";
    head(
        out,
        name,
        "counter",
        "Total number of sent alerts affected by errors.",
    );
    per_am(out, name, &|s| s.errors);
    let name = "prometheus_notifications_queue_capacity";
    head(
        out,
        name,
        "gauge",
        "The capacity of the alert notifications queue.",
    );
    let _ = writeln!(out, "{name} {}", stats.queue_capacity);
    let name = "prometheus_notifications_queue_length";
    head(
        out,
        name,
        "gauge",
        "The number of alert notifications in the queue.",
    );
    let _ = writeln!(out, "{name} {}", stats.queue_length);
    let name = "prometheus_notifications_sent_total";
    head(out, name, "counter", "Total number of alerts sent.");
    per_am(out, name, &|s| s.sent);
}

fn escape_label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('"', "\\\"")
}
