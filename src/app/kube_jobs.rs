//! kmon's default scrape jobs for a cluster, written as the prometheus.yml a user would write
//! (and validated by the same loader), so `kmon targets` shows ordinary relabel rules:
//! every node's kubelet `/metrics`, cAdvisor `/metrics/cadvisor` and resource metrics
//! `/metrics/resource`; pods and services annotated `prometheus.io/scrape: "true"` (with
//! `prometheus.io/port`, `path` and `scheme`); kube-state-metrics and node-exporter pods when
//! the cluster runs them. From outside the cluster every target is reached through the API
//! server's node, pod and service proxy paths (the scrape client then sends them with the
//! kubeconfig's credentials); inside it, directly.

use std::time::Duration;

use crate::config::{Config, ConfigError};

pub const KUBELET_JOB: &str = "kubelet";
pub const CADVISOR_JOB: &str = "cadvisor";
pub const RESOURCE_JOB: &str = "kubelet-resource";
pub const PODS_JOB: &str = "kubernetes-pods";
pub const SERVICES_JOB: &str = "kubernetes-services";
pub const KSM_JOB: &str = "kube-state-metrics";
pub const NODE_EXPORTER_JOB: &str = "node-exporter";

/// The default scrape interval in cluster mode (`--interval` overrides it).
pub const CLUSTER_INTERVAL: Duration = Duration::from_secs(15);

/// How targets are reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrapeMode {
    /// Through the API server's proxy paths, with the kubeconfig's credentials.
    Proxy,
    /// Straight to node and pod addresses (kmon runs in the cluster), with the service
    /// account's token for the kubelet.
    Direct,
}

/// Where the service account's token is mounted in a pod.
const SA_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// The default jobs as prometheus.yml text. `api_server` is the API server's `host:port` and
/// `scheme` its URL scheme (proxy mode only).
pub fn default_jobs_yaml(
    mode: ScrapeMode,
    api_server: &str,
    scheme: &str,
    interval: Duration,
) -> String {
    let interval_ms = interval.as_millis().max(1);
    let timeout_ms = interval_ms.min(10_000);
    let mut y = format!(
        "# kmon's default jobs ({mode:?} mode)\nglobal:\n  scrape_interval: {interval_ms}ms\n  scrape_timeout: {timeout_ms}ms\nscrape_configs:\n"
    );
    for (job, path, extra) in [
        (KUBELET_JOB, "metrics", ""),
        (
            CADVISOR_JOB,
            "metrics/cadvisor",
            "  track_timestamps_staleness: true\n",
        ),
        (RESOURCE_JOB, "metrics/resource", ""),
    ] {
        y.push_str(&node_job(mode, job, path, extra, api_server, scheme));
    }
    y.push_str(&annotated_pods(mode, api_server, scheme));
    y.push_str(&annotated_services(mode, api_server, scheme));
    y.push_str(&exporter_pods(
        mode,
        KSM_JOB,
        "kube-state-metrics",
        "(http-metrics|http|metrics);.*|.*;8080",
        false,
        api_server,
        scheme,
    ));
    y.push_str(&exporter_pods(
        mode,
        NODE_EXPORTER_JOB,
        "(prometheus-)?node-exporter",
        "(metrics|http-metrics);.*|.*;9100",
        true,
        api_server,
        scheme,
    ));
    y
}

/// The default jobs, validated.
pub fn default_jobs(
    mode: ScrapeMode,
    api_server: &str,
    scheme: &str,
    interval: Duration,
) -> Result<Config, ConfigError> {
    let text = default_jobs_yaml(mode, api_server, scheme, interval);
    crate::config::load_str(&text, "kmon default cluster jobs").map(|(c, _)| c)
}

/// `host:port` and scheme of a server URL, for the proxy jobs' `__address__`.
pub fn api_server_address(server: &str) -> (String, String) {
    let (scheme, rest) = server.split_once("://").unwrap_or(("https", server));
    let hostport = rest.split('/').next().unwrap_or(rest);
    let with_port = if hostport
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        && !hostport.ends_with(']')
    {
        hostport.to_string()
    } else if scheme == "http" {
        format!("{hostport}:80")
    } else {
        format!("{hostport}:443")
    };
    (with_port, scheme.to_string())
}

fn to_api_server(api_server: &str, scheme: &str) -> String {
    format!(
        "  - target_label: __address__\n    replacement: '{api_server}'\n  - target_label: __scheme__\n    replacement: {scheme}\n"
    )
}

fn node_job(
    mode: ScrapeMode,
    job: &str,
    path: &str,
    extra: &str,
    api: &str,
    scheme: &str,
) -> String {
    let mut y = format!(
        "- job_name: {job}\n{extra}  kubernetes_sd_configs:\n  - role: node\n  relabel_configs:\n  - source_labels: [__meta_kubernetes_node_name]\n    target_label: instance\n  - source_labels: [__meta_kubernetes_node_name]\n    target_label: node\n"
    );
    match mode {
        ScrapeMode::Proxy => {
            y.push_str(&format!(
                "  - source_labels: [__meta_kubernetes_node_name]\n    target_label: __metrics_path__\n    replacement: /api/v1/nodes/$1/proxy/{path}\n"
            ));
            y.push_str(&to_api_server(api, scheme));
        }
        ScrapeMode::Direct => {
            y = y.replacen(
                "  kubernetes_sd_configs:",
                &format!(
                    "  scheme: https\n  metrics_path: /{path}\n  authorization:\n    credentials_file: {SA_TOKEN}\n  tls_config:\n    insecure_skip_verify: true\n  kubernetes_sd_configs:"
                ),
                1,
            );
        }
    }
    y
}

/// The rules shared by annotated pods and services: `__tmp_port` from the target's port,
/// replaced by the `port` annotation; `__tmp_path` from the `path` annotation or `/metrics`;
/// targets without a port dropped.
fn port_and_path(kind: &str) -> String {
    let a = format!("__meta_kubernetes_{kind}_annotation_prometheus_io");
    format!(
        "  - source_labels: [__address__]\n    regex: '.*:(\\d+)'\n    target_label: __tmp_port\n  - source_labels: [{a}_port]\n    regex: '(\\d+)'\n    target_label: __tmp_port\n  - source_labels: [__tmp_port]\n    regex: ''\n    action: drop\n  - target_label: __tmp_path\n    replacement: /metrics\n  - source_labels: [{a}_path]\n    regex: '(.+)'\n    target_label: __tmp_path\n"
    )
}

fn annotated_pods(mode: ScrapeMode, api: &str, scheme: &str) -> String {
    let a = "__meta_kubernetes_pod_annotation_prometheus_io";
    let mut y = format!(
        "- job_name: {PODS_JOB}\n  kubernetes_sd_configs:\n  - role: pod\n  relabel_configs:\n  - source_labels: [{a}_scrape]\n    regex: 'true'\n    action: keep\n  - source_labels: [__meta_kubernetes_pod_phase]\n    regex: Pending|Succeeded|Failed\n    action: drop\n  - source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_name]\n    regex: kube-state-metrics|(prometheus-)?node-exporter\n    action: drop\n"
    );
    y.push_str(&port_and_path("pod"));
    y.push_str(
        "  - source_labels: [__meta_kubernetes_pod_ip, __tmp_port]\n    separator: ':'\n    target_label: instance\n  - source_labels: [__meta_kubernetes_namespace]\n    target_label: namespace\n  - source_labels: [__meta_kubernetes_pod_name]\n    target_label: pod\n  - source_labels: [__meta_kubernetes_pod_node_name]\n    target_label: node\n");
    match mode {
        ScrapeMode::Proxy => {
            y.push_str(&format!(
                "  - source_labels: [{a}_scheme]\n    regex: https\n    target_label: __tmp_scheme\n    replacement: 'https:'\n  - source_labels: [__meta_kubernetes_namespace, __tmp_scheme, __meta_kubernetes_pod_name, __tmp_port, __tmp_path]\n    regex: '(.*);(.*);(.*);(.*);/?(.*)'\n    target_label: __metrics_path__\n    replacement: /api/v1/namespaces/$1/pods/$2$3:$4/proxy/$5\n"
            ));
            y.push_str(&to_api_server(api, scheme));
        }
        ScrapeMode::Direct => y.push_str(&direct_address(
            "[__meta_kubernetes_pod_ip, __tmp_port]",
            &format!("{a}_scheme"),
        )),
    }
    y
}

fn annotated_services(mode: ScrapeMode, api: &str, scheme: &str) -> String {
    let a = "__meta_kubernetes_service_annotation_prometheus_io";
    let mut y = format!(
        "- job_name: {SERVICES_JOB}\n  kubernetes_sd_configs:\n  - role: service\n  relabel_configs:\n  - source_labels: [{a}_scrape]\n    regex: 'true'\n    action: keep\n  - source_labels: [__meta_kubernetes_service_label_app_kubernetes_io_name]\n    regex: kube-state-metrics|(prometheus-)?node-exporter\n    action: drop\n"
    );
    y.push_str(&port_and_path("service"));
    y.push_str(
        "  - source_labels: [__meta_kubernetes_service_name, __meta_kubernetes_namespace, __tmp_port]\n    regex: '(.*);(.*);(.*)'\n    target_label: instance\n    replacement: $1.$2.svc:$3\n  - source_labels: [__meta_kubernetes_namespace]\n    target_label: namespace\n  - source_labels: [__meta_kubernetes_service_name]\n    target_label: service\n",
    );
    match mode {
        ScrapeMode::Proxy => {
            y.push_str(&format!(
                "  - source_labels: [{a}_scheme]\n    regex: https\n    target_label: __tmp_scheme\n    replacement: 'https:'\n  - source_labels: [__meta_kubernetes_namespace, __tmp_scheme, __meta_kubernetes_service_name, __tmp_port, __tmp_path]\n    regex: '(.*);(.*);(.*);(.*);/?(.*)'\n    target_label: __metrics_path__\n    replacement: /api/v1/namespaces/$1/services/$2$3:$4/proxy/$5\n"
            ));
            y.push_str(&to_api_server(api, scheme));
        }
        ScrapeMode::Direct => y.push_str(&direct_address("[instance]", &format!("{a}_scheme"))),
    }
    y
}

/// Direct mode: `__address__` from `sources` joined by `:`, the path and scheme as annotated.
fn direct_address(sources: &str, scheme_label: &str) -> String {
    format!(
        "  - source_labels: {sources}\n    separator: ':'\n    target_label: __address__\n  - source_labels: [__tmp_path]\n    target_label: __metrics_path__\n  - source_labels: [{scheme_label}]\n    regex: (https?)\n    target_label: __scheme__\n"
    )
}

/// kube-state-metrics or node-exporter pods, found by `app.kubernetes.io/name` and a metrics
/// port (`port_rule` matches `<port name>;<port number>`). kube-state-metrics reports other
/// objects' namespace and pod labels, so its job honours them; node-exporter's instance is
/// the node it runs on.
fn exporter_pods(
    mode: ScrapeMode,
    job: &str,
    name_rule: &str,
    port_rule: &str,
    per_node: bool,
    api: &str,
    scheme: &str,
) -> String {
    let mut y = format!(
        "- job_name: {job}\n  honor_labels: {}\n  kubernetes_sd_configs:\n  - role: pod\n  relabel_configs:\n  - source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_name]\n    regex: '{name_rule}'\n    action: keep\n  - source_labels: [__meta_kubernetes_pod_phase]\n    regex: Running\n    action: keep\n  - source_labels: [__meta_kubernetes_pod_container_port_name, __meta_kubernetes_pod_container_port_number]\n    regex: '{port_rule}'\n    action: keep\n",
        !per_node
    );
    if per_node {
        y.push_str("  - source_labels: [__meta_kubernetes_pod_node_name]\n    target_label: instance\n  - source_labels: [__meta_kubernetes_pod_node_name]\n    target_label: node\n");
    } else {
        y.push_str("  - source_labels: [__meta_kubernetes_pod_ip, __meta_kubernetes_pod_container_port_number]\n    separator: ':'\n    target_label: instance\n");
    }
    match mode {
        ScrapeMode::Proxy => {
            y.push_str("  - source_labels: [__meta_kubernetes_namespace, __meta_kubernetes_pod_name, __meta_kubernetes_pod_container_port_number]\n    regex: '(.*);(.*);(.*)'\n    target_label: __metrics_path__\n    replacement: /api/v1/namespaces/$1/pods/$2:$3/proxy/metrics\n");
            y.push_str(&to_api_server(api, scheme));
        }
        ScrapeMode::Direct => {}
    }
    y
}

#[cfg(test)]
#[path = "kube_jobs_tests.rs"]
mod tests;
