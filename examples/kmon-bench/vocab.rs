//! The vocabulary of synthetic pages (a child of `shapes`): histogram buckets, CPU modes,
//! pod phases, namespaces and their deployments, handlers and codes, each family's TYPE and
//! HELP, and how a series' `name{labels} ` prefix is rendered and escaped.

pub(super) const LE: [(&str, f64); 12] = [
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
pub(super) const CPU_MODES: [&str; 8] = [
    "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
];
pub(super) const PHASES: [&str; 5] = ["Failed", "Pending", "Running", "Succeeded", "Unknown"];
pub(super) const NAMESPACES: [(&str, &[&str]); 8] = [
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
pub(super) const SIDECARS: [&str; 3] = ["istio-proxy", "log-shipper", "config-reloader"];
pub(super) const TEAMS: [&str; 6] = ["core", "payments", "search", "platform", "zoë-ops", "data"];
pub(super) const NOTES: [&str; 4] = [
    "owner \"team-x\" on-call",
    "path C:\\deploy\\service",
    "line one\nline two",
    "plain note",
];
pub(super) const HANDLERS: [&str; 8] = [
    "/api/v1/query",
    "/checkout",
    "/cart/items",
    "/login",
    "/search",
    "/healthz",
    "/orders/{id}",
    "/users/{id}/profile",
];
pub(super) const METHODS: [&str; 4] = ["GET", "GET", "POST", "DELETE"];
pub(super) const CODES: [&str; 8] = ["200", "200", "200", "201", "404", "500", "503", "429"];

pub(super) fn help_of(name: &str) -> (&'static str, &'static str) {
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

pub(super) fn prefix(name: &str, pairs: &[(&str, &str)]) -> String {
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
