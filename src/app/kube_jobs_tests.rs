use k8s_openapi::api::core::v1::{Node, Pod, Service};
use serde_json::json;

use super::*;
use crate::discovery::TargetGroup;
use crate::discovery::kubernetes::{NoObjects, node_group, pod_group, service_group};
use crate::scrape::{TargetSpec, targets_and_dropped};

fn node(name: &str) -> Node {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "addresses": [{"type": "InternalIP", "address": "10.0.0.7"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}
        }
    }))
    .unwrap()
}

fn pod(
    ns: &str,
    name: &str,
    labels: serde_json::Value,
    annotations: serde_json::Value,
    ports: serde_json::Value,
    phase: &str,
) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"namespace": ns, "name": name, "uid": name, "labels": labels, "annotations": annotations},
        "spec": {"nodeName": "node-a", "containers": [{"name": "main", "image": "x", "ports": ports}]},
        "status": {"phase": phase, "podIP": "10.1.0.9"}
    }))
    .unwrap()
}

fn service(ns: &str, name: &str, annotations: serde_json::Value) -> Service {
    serde_json::from_value(json!({
        "metadata": {"namespace": ns, "name": name, "annotations": annotations},
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.5", "ports": [
            {"name": "http", "port": 80, "protocol": "TCP"}, {"name": "grpc", "port": 9000, "protocol": "TCP"}]}
    }))
    .unwrap()
}

/// The groups of a job's role, as discovery would send them.
fn groups(job: &str) -> Vec<TargetGroup> {
    let mut g = Vec::new();
    if [KUBELET_JOB, CADVISOR_JOB, RESOURCE_JOB].contains(&job) {
        g.extend(node_group(&node("node-a")));
        return g;
    }
    if job == SERVICES_JOB {
        g.push(service_group(&service(
            "apps",
            "web",
            json!({"prometheus.io/scrape": "true", "prometheus.io/port": "9000"}),
        )));
        g.push(service_group(&service("apps", "plain", json!({}))));
        return g;
    }
    let pods = [
        pod(
            "apps",
            "web-1",
            json!({"app": "web"}),
            json!({"prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/stats/prometheus"}),
            json!([{"containerPort": 8080, "name": "http"}, {"containerPort": 9901, "name": "admin"}]),
            "Running",
        ),
        pod(
            "apps",
            "tls-1",
            json!({}),
            json!({"prometheus.io/scrape": "true", "prometheus.io/scheme": "https"}),
            json!([{"containerPort": 8443}]),
            "Running",
        ),
        pod(
            "apps",
            "quiet-1",
            json!({}),
            json!({}),
            json!([{"containerPort": 8080}]),
            "Running",
        ),
        pod(
            "apps",
            "done-1",
            json!({}),
            json!({"prometheus.io/scrape": "true"}),
            json!([{"containerPort": 8080}]),
            "Succeeded",
        ),
        pod(
            "monitoring",
            "ksm-0",
            json!({"app.kubernetes.io/name": "kube-state-metrics"}),
            json!({"prometheus.io/scrape": "true"}),
            json!([{"containerPort": 8080, "name": "http"}, {"containerPort": 8081, "name": "telemetry"}]),
            "Running",
        ),
        pod(
            "monitoring",
            "ne-x",
            json!({"app.kubernetes.io/name": "prometheus-node-exporter"}),
            json!({}),
            json!([{"containerPort": 9100, "name": "metrics"}]),
            "Running",
        ),
    ];
    for p in &pods {
        g.push(pod_group(p, &NoObjects, false));
    }
    g.push(service_group(&service(
        "apps",
        "web",
        json!({"prometheus.io/scrape": "true", "prometheus.io/port": "9000"}),
    )));
    g.push(service_group(&service("apps", "plain", json!({}))));
    g
}

fn targets(cfg: &Config, job: &str) -> Vec<TargetSpec> {
    let sc = cfg
        .scrape_configs
        .iter()
        .find(|s| s.job_name == job)
        .unwrap();
    let (t, _, errs) = targets_and_dropped(sc, &groups(job));
    assert!(errs.is_empty(), "{errs:?}");
    let mut t = t;
    t.sort_by(|a, b| a.url.cmp(&b.url));
    t.dedup_by(|a, b| a.hash() == b.hash());
    t
}

fn label<'a>(t: &'a TargetSpec, name: &str) -> &'a str {
    t.labels.get(name).unwrap_or("")
}

#[test]
fn proxy_jobs_reach_every_target_through_the_api_server() {
    let (api, scheme) = api_server_address("https://127.0.0.1:6443");
    assert_eq!(api, "127.0.0.1:6443");
    let cfg = default_jobs(ScrapeMode::Proxy, &api, &scheme, CLUSTER_INTERVAL).unwrap();
    let jobs: Vec<_> = cfg
        .scrape_configs
        .iter()
        .map(|s| s.job_name.as_str())
        .collect();
    assert_eq!(
        jobs,
        [
            KUBELET_JOB,
            CADVISOR_JOB,
            RESOURCE_JOB,
            PODS_JOB,
            SERVICES_JOB,
            KSM_JOB,
            NODE_EXPORTER_JOB
        ]
    );
    for sc in &cfg.scrape_configs {
        assert_eq!(
            sc.scrape_interval,
            Duration::from_secs(15),
            "{}",
            sc.job_name
        );
        assert_eq!(
            sc.scrape_timeout,
            Duration::from_secs(10),
            "{}",
            sc.job_name
        );
    }

    let urls = |job| {
        targets(&cfg, job)
            .iter()
            .map(|t| t.url.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        urls(KUBELET_JOB),
        ["https://127.0.0.1:6443/api/v1/nodes/node-a/proxy/metrics"]
    );
    assert_eq!(
        urls(CADVISOR_JOB),
        ["https://127.0.0.1:6443/api/v1/nodes/node-a/proxy/metrics/cadvisor"]
    );
    assert_eq!(
        urls(RESOURCE_JOB),
        ["https://127.0.0.1:6443/api/v1/nodes/node-a/proxy/metrics/resource"]
    );
    let kubelet = &targets(&cfg, KUBELET_JOB)[0];
    assert_eq!(label(kubelet, "instance"), "node-a");
    assert_eq!(label(kubelet, "node"), "node-a");

    // Annotated pods: the port and path annotations win; https pods get the scheme prefix;
    // unannotated, finished and exporter pods are left to their own jobs.
    assert_eq!(
        urls(PODS_JOB),
        [
            "https://127.0.0.1:6443/api/v1/namespaces/apps/pods/https:tls-1:8443/proxy/metrics",
            "https://127.0.0.1:6443/api/v1/namespaces/apps/pods/web-1:8080/proxy/stats/prometheus",
        ]
    );
    let web = &targets(&cfg, PODS_JOB)[1];
    assert_eq!(label(web, "instance"), "10.1.0.9:8080");
    assert_eq!(
        (
            label(web, "namespace"),
            label(web, "pod"),
            label(web, "node")
        ),
        ("apps", "web-1", "node-a")
    );

    assert_eq!(
        urls(SERVICES_JOB),
        ["https://127.0.0.1:6443/api/v1/namespaces/apps/services/web:9000/proxy/metrics"]
    );
    let svc = &targets(&cfg, SERVICES_JOB)[0];
    assert_eq!(
        (label(svc, "instance"), label(svc, "service")),
        ("web.apps.svc:9000", "web")
    );

    assert_eq!(
        urls(KSM_JOB),
        ["https://127.0.0.1:6443/api/v1/namespaces/monitoring/pods/ksm-0:8080/proxy/metrics"]
    );
    assert!(
        cfg.scrape_configs
            .iter()
            .find(|s| s.job_name == KSM_JOB)
            .unwrap()
            .honor_labels
    );
    assert_eq!(
        urls(NODE_EXPORTER_JOB),
        ["https://127.0.0.1:6443/api/v1/namespaces/monitoring/pods/ne-x:9100/proxy/metrics"]
    );
    assert_eq!(
        label(&targets(&cfg, NODE_EXPORTER_JOB)[0], "instance"),
        "node-a"
    );
}

#[test]
fn direct_jobs_go_to_node_and_pod_addresses() {
    let cfg = default_jobs(ScrapeMode::Direct, "", "https", Duration::from_secs(5)).unwrap();
    let kubelet = cfg
        .scrape_configs
        .iter()
        .find(|s| s.job_name == KUBELET_JOB)
        .unwrap();
    assert!(kubelet.tls_config.insecure_skip_verify);
    assert!(kubelet.authorization.is_some());
    assert_eq!(kubelet.scrape_timeout, Duration::from_secs(5));
    let urls = |job| {
        targets(&cfg, job)
            .iter()
            .map(|t| t.url.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        urls(CADVISOR_JOB),
        ["https://10.0.0.7:10250/metrics/cadvisor"]
    );
    assert_eq!(
        urls(PODS_JOB),
        [
            "http://10.1.0.9:8080/stats/prometheus",
            "https://10.1.0.9:8443/metrics"
        ]
    );
    assert_eq!(urls(SERVICES_JOB), ["http://web.apps.svc:9000/metrics"]);
    assert_eq!(urls(KSM_JOB), ["http://10.1.0.9:8080/metrics"]);
}

#[test]
fn api_server_address_adds_the_default_port() {
    assert_eq!(
        api_server_address("https://k8s.example.com"),
        ("k8s.example.com:443".into(), "https".into())
    );
    assert_eq!(
        api_server_address("http://10.0.0.1/prefix"),
        ("10.0.0.1:80".into(), "http".into())
    );
    assert_eq!(
        api_server_address("https://[::1]:6443"),
        ("[::1]:6443".into(), "https".into())
    );
}

#[test]
fn the_yaml_is_what_kmon_targets_would_show() {
    let text = default_jobs_yaml(ScrapeMode::Proxy, "10.0.0.1:443", "https", CLUSTER_INTERVAL);
    assert!(
        text.contains("replacement: /api/v1/nodes/$1/proxy/metrics/cadvisor"),
        "{text}"
    );
}
