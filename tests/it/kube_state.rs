//! The synthesized kube state series answer the queries dashboards and alert rules ask,
//! through kmon's own PromQL engine: the cluster fixture (tests/data/kube-state/cluster.json)
//! is turned into series each tick, as `app` does, a container restarts between ticks, and
//! standard kube-prometheus-style expressions are evaluated over the stored samples.

use std::sync::Arc;

use kmon::discovery::kubernetes::state::{ClusterObjects, KubeState};
use kmon::model::{Labels, stale_nan};
use kmon::promql::{Cancel, Engine, EngineOptions, Value, parse};
use kmon::storage::{Appendable, MemStorage};

fn fixture() -> ClusterObjects {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/kube-state/cluster.json"
    );
    let text = std::fs::read_to_string(path).expect("fixture");
    serde_json::from_str(&text).expect("fixture parses")
}

const TICK_MS: i64 = 15_000;
const TICKS: i64 = 41; // 10 minutes

/// Ten minutes of ticks; the crash-looping `api` container restarts at minute 5 and 7, and
/// the `web` pod is deleted at minute 7.5 (its series get stale markers, as `app` writes
/// them from `KubeState::vanished`).
fn store() -> MemStorage {
    let mem = MemStorage::new();
    let mut objects = fixture();
    let mut state = KubeState::new();
    let mut out: Vec<(Labels, f64)> = Vec::new();
    for i in 0..TICKS {
        if i == 20 || i == 28 {
            let mut api = (*objects.pods[1]).clone();
            api.metadata.resource_version = Some(format!("rv-{i}"));
            if let Some(cs) = api
                .status
                .as_mut()
                .and_then(|s| s.container_statuses.as_mut())
            {
                cs[0].restart_count += 1;
            }
            objects.pods[1] = Arc::new(api);
        }
        if i == 30 {
            objects.pods.remove(0);
        }
        out.clear();
        state.collect(&objects, &mut out);
        let mut app = mem.appender();
        for (labels, v) in &out {
            app.append(None, labels, i * TICK_MS, *v).expect("append");
        }
        for labels in state.vanished() {
            app.append(None, labels, i * TICK_MS, stale_nan())
                .expect("append stale");
        }
        app.commit().expect("commit");
    }
    mem
}

/// The query's instant vector at the last tick, as sorted `labels value` lines.
fn query(mem: &MemStorage, q: &str) -> Vec<String> {
    let engine = Engine::new(EngineOptions::default());
    let expr = parse(q).unwrap_or_else(|e| panic!("{q}: {e:?}"));
    let res = engine
        .instant(mem, &expr, (TICKS - 1) * TICK_MS, &Cancel::new())
        .unwrap_or_else(|e| panic!("{q}: {e}"));
    let Value::Vector(v) = res.value else {
        panic!("{q}: not a vector: {:?}", res.value)
    };
    let mut lines: Vec<String> = v.iter().map(|s| format!("{} {}", s.metric, s.f)).collect();
    lines.sort();
    lines
}

#[test]
fn standard_kube_state_queries_answer_over_the_synthesized_series() {
    let mem = store();
    let cases: &[(&str, &[&str])] = &[
        // web was deleted at 7.5m: gone at once, not after the 5m lookback.
        (r#"sum(kube_pod_status_phase{phase="Running"})"#, &["{} 2"]),
        (
            r#"sum by (phase) (kube_pod_status_phase) > 0"#,
            &[
                r#"{phase="Pending"} 2"#,
                r#"{phase="Running"} 2"#,
                r#"{phase="Succeeded"} 1"#,
            ],
        ),
        (
            // KubePodCrashLooping (kube-prometheus).
            r#"max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff", job="kmon-kube-state"}[5m]) >= 1"#,
            &[
                r#"{container="api", job="kmon-kube-state", namespace="shop", pod="api-5f6d8-xyz12", reason="CrashLoopBackOff", uid="pod-0002"} 1"#,
            ],
        ),
        (
            // One restart inside (5m, 10m]: samples from 5m15s, extrapolated to the 5m
            // window start: 1 × 300/285.
            "increase(kube_pod_container_status_restarts_total[5m]) > 0",
            &[
                r#"{container="api", job="kmon-kube-state", namespace="shop", pod="api-5f6d8-xyz12", uid="pod-0002"} 1.0526315789473684"#,
            ],
        ),
        (
            "sum by (namespace) (kube_pod_container_status_restarts_total)",
            &[r#"{namespace="default"} 0"#, r#"{namespace="shop"} 12"#],
        ),
        (
            // KubeNodeNotReady.
            r#"kube_node_status_condition{job="kmon-kube-state",condition="Ready",status="true"} == 0"#,
            &[
                r#"{__name__="kube_node_status_condition", condition="Ready", job="kmon-kube-state", node="node-b", status="true"} 0"#,
            ],
        ),
        (
            r#"kube_node_status_condition{condition="MemoryPressure",status="true"} == 1"#,
            &[
                r#"{__name__="kube_node_status_condition", condition="MemoryPressure", job="kmon-kube-state", node="node-b", status="true"} 1"#,
            ],
        ),
        (
            // KubeDeploymentReplicasMismatch.
            "kube_deployment_spec_replicas != kube_deployment_status_replicas_available",
            &[
                r#"{__name__="kube_deployment_spec_replicas", deployment="api", job="kmon-kube-state", namespace="shop"} 3"#,
            ],
        ),
        (
            // Cluster CPU requests against allocatable, per node.
            r#"sum by (node) (kube_pod_container_resource_requests{resource="cpu"}) / on (node) group_left sum by (node) (kube_node_status_allocatable{resource="cpu"})"#,
            &[
                r#"{node="node-a"} 0.06377551020408163"#,
                r#"{node="node-b"} 0.5263157894736842"#,
            ],
        ),
        (r#"kube_pod_info{pod="web-7d4b9c-abcde"}"#, &[]),
        (
            // Pods per node; the unscheduled pod has no node label.
            "count by (node) (kube_pod_info)",
            &[r#"{node="node-a"} 2"#, r#"{node="node-b"} 2"#, "{} 1"],
        ),
        (
            r#"kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}"#,
            &[
                r#"{__name__="kube_pod_container_status_last_terminated_reason", container="redis", job="kmon-kube-state", namespace="shop", pod="cache-0", reason="OOMKilled", uid="pod-0003"} 1"#,
            ],
        ),
        (
            // kube-prometheus' namespace_workload_pod:kube_pod_owner:relabel (deployments):
            // pods joined to their Deployment through kube_replicaset_owner.
            r#"max by (namespace, workload, pod) (label_replace(label_replace(kube_pod_owner{job="kmon-kube-state", owner_kind="ReplicaSet"}, "replicaset", "$1", "owner_name", "(.*)") * on (replicaset, namespace) group_left (owner_name) topk by (replicaset, namespace) (1, max by (replicaset, namespace, owner_name) (kube_replicaset_owner{job="kmon-kube-state"})), "workload", "$1", "owner_name", "(.*)"))"#,
            &[
                r#"{namespace="shop", pod="api-5f6d8-xyz12", workload="api"} 1"#,
                r#"{namespace="shop", pod="orders-6c8d7-q2w3e", workload="orders"} 1"#,
            ],
        ),
        (
            // KubePodNotReady (kube-prometheus), without the `for:`.
            r#"sum by (namespace, pod) (max by (namespace, pod) (kube_pod_status_phase{job="kmon-kube-state", phase=~"Pending|Unknown|Failed"}) * on (namespace, pod) group_left (owner_kind) topk by (namespace, pod) (1, max by (namespace, pod, owner_kind) (kube_pod_owner{owner_kind!="Job"}))) > 0"#,
            &[
                r#"{namespace="default", pod="batch-pending"} 1"#,
                r#"{namespace="shop", pod="orders-6c8d7-q2w3e"} 1"#,
            ],
        ),
        (
            // kube-prometheus' namespace_cpu:kube_pod_container_resource_requests:sum.
            r#"sum by (namespace) (sum by (namespace, pod) (max by (namespace, pod, container) (kube_pod_container_resource_requests{resource="cpu", job="kmon-kube-state"}) * on (namespace, pod) group_left () max by (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Running"} == 1)))"#,
            &[r#"{namespace="default"} 2"#, r#"{namespace="shop"} 1.25"#],
        ),
        (
            // KubeHpaMaxedOut (kube-prometheus), without the `for:`.
            r#"kube_horizontalpodautoscaler_status_current_replicas{job="kmon-kube-state"} == kube_horizontalpodautoscaler_spec_max_replicas{job="kmon-kube-state"}"#,
            &[
                r#"{__name__="kube_horizontalpodautoscaler_status_current_replicas", horizontalpodautoscaler="api", job="kmon-kube-state", namespace="shop"} 3"#,
            ],
        ),
        (
            // KubeJobFailed.
            r#"kube_job_failed{job="kmon-kube-state"} > 0"#,
            &[
                r#"{__name__="kube_job_failed", condition="true", job="kmon-kube-state", job_name="backup-29124", namespace="default"} 1"#,
            ],
        ),
        (
            // Init containers have their own families.
            r#"kube_pod_init_container_status_waiting_reason{reason="CrashLoopBackOff"}"#,
            &[
                r#"{__name__="kube_pod_init_container_status_waiting_reason", container="migrate", job="kmon-kube-state", namespace="shop", pod="orders-6c8d7-q2w3e", reason="CrashLoopBackOff", uid="pod-0006"} 1"#,
            ],
        ),
        (
            r#"kube_namespace_status_phase{phase="Terminating"} == 1"#,
            &[
                r#"{__name__="kube_namespace_status_phase", job="kmon-kube-state", namespace="old", phase="Terminating"} 1"#,
            ],
        ),
    ];
    for (q, want) in cases {
        assert_eq!(query(&mem, q), *want, "{q}");
    }
}
