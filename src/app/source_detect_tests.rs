//! Tests of the detection of Prometheus-like services over Service objects.

use k8s_openapi::api::core::v1::Service;
use serde_json::{Value, json};

use super::*;

fn svc(ns: &str, name: &str, labels: Value, ports: Value) -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"ports": ports, "type": "ClusterIP"},
    }))
    .expect("a valid Service")
}

/// Services as the common installations label them.
fn cluster() -> Vec<Service> {
    vec![
        // kube-prometheus
        svc(
            "monitoring",
            "prometheus-k8s",
            json!({"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/component": "prometheus"}),
            json!([{"name": "web", "port": 9090}, {"name": "reloader-web", "port": 8080}]),
        ),
        svc(
            "monitoring",
            "prometheus-operated",
            json!({"operated-prometheus": "true"}),
            json!([{"name": "web", "port": 9090}]),
        ),
        svc(
            "monitoring",
            "alertmanager-main",
            json!({"app.kubernetes.io/name": "alertmanager"}),
            json!([{"name": "web", "port": 9093}]),
        ),
        // prometheus-community/prometheus: the server on port 80
        svc(
            "prom",
            "prometheus-server",
            json!({"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/component": "server"}),
            json!([{"name": "http", "port": 80}]),
        ),
        svc(
            "prom",
            "prometheus-pushgateway",
            json!({"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/component": "pushgateway"}),
            json!([{"name": "http", "port": 9091}]),
        ),
        // the old stable/prometheus chart
        svc(
            "legacy",
            "prom-server",
            json!({"app": "prometheus", "component": "server"}),
            json!([{"name": "http", "port": 80}]),
        ),
        svc(
            "legacy",
            "prom-node-exporter",
            json!({"app": "prometheus", "component": "node-exporter"}),
            json!([{"name": "metrics", "port": 9100}]),
        ),
        svc(
            "thanos",
            "thanos-query",
            json!({"app.kubernetes.io/name": "thanos-query"}),
            json!([{"name": "grpc", "port": 10901}, {"name": "http", "port": 10902}]),
        ),
        svc(
            "mimir",
            "mimir-query-frontend",
            json!({"app.kubernetes.io/name": "mimir", "app.kubernetes.io/component": "query-frontend"}),
            json!([{"name": "http-metrics", "port": 8080}, {"name": "grpc", "port": 9095}]),
        ),
        svc(
            "mimir",
            "mimir-ingester",
            json!({"app.kubernetes.io/name": "mimir", "app.kubernetes.io/component": "ingester"}),
            json!([{"name": "http-metrics", "port": 8080}]),
        ),
        svc(
            "vm",
            "vmselect-main",
            json!({"app.kubernetes.io/name": "vmselect"}),
            json!([{"name": "http", "port": 8481}]),
        ),
        svc(
            "vm",
            "vmsingle-main",
            json!({"app.kubernetes.io/name": "vmsingle"}),
            json!([{"name": "http", "port": 8429}]),
        ),
        // unlabelled, though on 9090
        svc(
            "apps",
            "web",
            json!({"app": "web"}),
            json!([{"port": 9090}]),
        ),
        // labelled, but no port to choose
        svc(
            "apps",
            "prometheus-odd",
            json!({"app": "prometheus"}),
            json!([{"name": "a", "port": 1}, {"name": "b", "port": 2}]),
        ),
    ]
}

#[test]
fn detects_the_labelled_services_and_skips_the_rest() {
    let found: Vec<(String, SourceKind)> = candidates(&cluster())
        .into_iter()
        .map(|c| (c.name(), c.kind))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "k8s://legacy/prom-server:80".to_string(),
                SourceKind::Prometheus
            ),
            (
                "k8s://mimir/mimir-query-frontend:8080/prometheus".into(),
                SourceKind::Mimir
            ),
            (
                "k8s://monitoring/prometheus-k8s:9090".into(),
                SourceKind::Prometheus
            ),
            (
                "k8s://monitoring/prometheus-operated:9090".into(),
                SourceKind::PrometheusOperated
            ),
            (
                "k8s://prom/prometheus-server:80".into(),
                SourceKind::Prometheus
            ),
            (
                "k8s://thanos/thanos-query:10902".into(),
                SourceKind::ThanosQuery
            ),
            (
                "k8s://vm/vmselect-main:8481/select/0/prometheus".into(),
                SourceKind::VictoriaMetrics
            ),
            (
                "k8s://vm/vmsingle-main:8429".into(),
                SourceKind::VictoriaMetrics
            ),
        ]
    );
}

#[test]
fn the_port_and_scheme_follow_the_service() {
    let c = candidate(&svc(
        "monitoring",
        "prometheus-k8s",
        json!({"app.kubernetes.io/name": "prometheus"}),
        json!([{"name": "reloader-web", "port": 8080}, {"name": "web", "port": 9090}]),
    ))
    .unwrap();
    assert_eq!(
        (c.port.number, c.port.name.as_str(), c.port.https),
        (9090, "web", false)
    );
    let c = candidate(&svc(
        "monitoring",
        "prometheus-tls",
        json!({"app": "prometheus"}),
        json!([{"name": "https", "port": 9091}]),
    ))
    .unwrap();
    assert!(c.port.https);
    assert_eq!(c.name(), "k8s://monitoring/prometheus-tls:9091");
}

#[test]
fn external_name_and_nameless_services_are_left_out() {
    let mut s = svc(
        "monitoring",
        "prometheus-ext",
        json!({"app.kubernetes.io/name": "prometheus"}),
        json!([{"name": "web", "port": 9090}]),
    );
    if let Some(spec) = s.spec.as_mut() {
        spec.type_ = Some("ExternalName".into());
    }
    assert_eq!(candidate(&s), None);
    let nameless: Service = serde_json::from_value(json!({"metadata": {}})).unwrap();
    assert_eq!(candidate(&nameless), None);
    let bitnami = svc(
        "thanos",
        "thanos-query",
        json!({"app.kubernetes.io/name": "thanos", "app.kubernetes.io/component": "query"}),
        json!([{"name": "http", "port": 9090}]),
    );
    assert_eq!(
        candidate(&bitnami).map(|c| c.kind),
        Some(SourceKind::ThanosQuery)
    );
    let store = svc(
        "thanos",
        "thanos-storegateway",
        json!({"app.kubernetes.io/name": "thanos", "app.kubernetes.io/component": "storegateway"}),
        json!([{"name": "http", "port": 9090}]),
    );
    assert_eq!(candidate(&store), None);
}
