//! Tests of the cluster model: kube state series made by `KubeState::collect` over the
//! fixture cluster (tests/data/kube-state/cluster.json) plus synthetic resource-metrics and
//! cAdvisor series in a `MemStorage`, and a timing of a 200-node, 5000-pod build.

use std::sync::Arc;

use super::*;
use crate::discovery::kubernetes::state::KubeState;
use crate::model::Labels;
use crate::storage::{Appendable, MemStorage};

/// 2026-11-20T12:00:00Z, a little after the fixture's timestamps.
const NOW: i64 = 1_795_176_000_000;
const STEP: i64 = 10_000;

fn fixture() -> ClusterObjects {
    serde_json::from_str(include_str!("../../../tests/data/kube-state/cluster.json"))
        .expect("fixture parses")
}

fn lbl(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs)
}

/// Kube state at every step of the last 10 minutes, and usage series: node-a burns 1.5
/// cores and 4 GiB, node-b 0.5 cores; web uses 0.25 cores (cAdvisor only), api 0.1 (via
/// the resource endpoint); web's network 1000 B/s in, 500 B/s out.
fn store(objects: &ClusterObjects) -> MemStorage {
    let st = MemStorage::new();
    let mut ks = KubeState::new();
    let mut a = st.appender();
    for k in 0..=60i64 {
        let t = NOW - 600_000 + k * STEP;
        let secs = (k * STEP) as f64 / 1000.0;
        let mut out = Vec::new();
        ks.collect(objects, &mut out);
        for (l, v) in &out {
            a.append(None, l, t, *v).unwrap();
        }
        for (node, cores, mem) in [("node-a", 1.5, 4.0 * 1024f64.powi(3)), ("node-b", 0.5, 1e9)] {
            let base = [("job", RESOURCE_JOB), ("instance", node), ("node", node)];
            let mut p = base.to_vec();
            p.push(("__name__", "node_cpu_usage_seconds_total"));
            a.append(None, &lbl(&p), t, cores * secs).unwrap();
            let mut p = base.to_vec();
            p.push(("__name__", "node_memory_working_set_bytes"));
            a.append(None, &lbl(&p), t, mem).unwrap();
        }
        let web = [
            ("job", CADVISOR_JOB),
            ("instance", "node-a"),
            ("node", "node-a"),
            ("namespace", "shop"),
            ("pod", "web-7d4b9c-abcde"),
        ];
        let mut p = web.to_vec();
        p.extend([
            ("__name__", "container_cpu_usage_seconds_total"),
            ("container", "web"),
        ]);
        a.append(None, &lbl(&p), t, 0.25 * secs).unwrap();
        let mut p = web.to_vec();
        p.extend([
            ("__name__", "container_memory_working_set_bytes"),
            ("container", "web"),
        ]);
        a.append(None, &lbl(&p), t, 64.0 * 1024.0 * 1024.0).unwrap();
        for (dir, rate) in [("receive", 1000.0), ("transmit", 500.0)] {
            let name = format!("container_network_{dir}_bytes_total");
            let mut p = web.to_vec();
            p.extend([("__name__", name.as_str()), ("interface", "eth0")]);
            a.append(None, &lbl(&p), t, rate * secs).unwrap();
        }
        let api = [
            ("__name__", "pod_cpu_usage_seconds_total"),
            ("job", RESOURCE_JOB),
            ("instance", "node-a"),
            ("node", "node-a"),
            ("namespace", "shop"),
            ("pod", "api-5f6d8-xyz12"),
        ];
        a.append(None, &lbl(&api), t, 0.1 * secs).unwrap();
    }
    a.commit().unwrap();
    st
}

fn view(objects: &ClusterObjects, pod: Option<PodRef>, with_objects: bool) -> ClusterView {
    let st = store(objects);
    let engine = Engine::new(Default::default());
    let req = ClusterRequest {
        now_ms: NOW,
        step_ms: STEP,
        pod,
    };
    let meta = ClusterMeta {
        context: "kind-test".into(),
        ..ClusterMeta::default()
    };
    build(
        &st,
        &engine,
        &req,
        with_objects.then_some(objects),
        meta,
        &[],
    )
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-6 * b.abs().max(1.0))
}

#[test]
fn pod_rows_read_like_kubectl() {
    let v = view(&fixture(), None, false);
    assert_eq!(v.error, None);
    let names: Vec<(&str, &str, &str, PodHealth)> = v
        .pods
        .iter()
        .map(|p| {
            (
                p.namespace.as_str(),
                p.name.as_str(),
                p.status.as_str(),
                p.health,
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("default", "batch-pending", "Pending", PodHealth::Pending),
            ("default", "report-29123", "Completed", PodHealth::Done),
            (
                "shop",
                "api-5f6d8-xyz12",
                "CrashLoopBackOff",
                PodHealth::Failed
            ),
            ("shop", "cache-0", "Running", PodHealth::Running),
            (
                "shop",
                "orders-6c8d7-q2w3e",
                "PodInitializing",
                PodHealth::Pending
            ),
            ("shop", "web-7d4b9c-abcde", "Running", PodHealth::Running),
        ]
    );
    let api = &v.pods[2];
    assert_eq!((api.ready, api.containers, api.restarts), (1, 2, 7));
    assert_eq!(api.node, "node-a");
    assert!(close(api.cpu_cores, 0.1), "{:?}", api.cpu_cores);
    let web = &v.pods[5];
    assert!(close(web.cpu_cores, 0.25), "{:?}", web.cpu_cores);
    assert!(close(web.memory_bytes, 64.0 * 1024.0 * 1024.0));
    // Created 2026-11-20T08:00:00Z or so: hours old.
    assert!(web.age_secs.is_some_and(|a| a > 3600.0));
    assert_eq!(v.pods[0].cpu_cores, None);
    assert_eq!(v.namespaces.len(), 3, "{:?}", v.namespaces);
}

#[test]
fn node_rows_and_overview() {
    let v = view(&fixture(), None, false);
    assert_eq!(v.nodes.len(), 2);
    let a = &v.nodes[0];
    assert_eq!(a.name, "node-a");
    assert_eq!(a.ready, Some(true));
    assert!(a.bad_conditions.is_empty());
    assert_eq!(a.roles, ["control-plane"]);
    assert!(close(a.cpu_allocatable_cores, 3.92));
    assert!(close(a.cpu_used_cores, 1.5));
    assert!(close(a.memory_used_bytes, 4.0 * 1024f64.powi(3)));
    assert!(close(a.memory_allocatable_bytes, 16_323_420.0 * 1024.0));
    // web, api, and the Succeeded report does not count.
    assert_eq!(a.pods, 2);
    assert!(!a.kubelet_version.is_empty());
    let b = &v.nodes[1];
    assert_eq!(b.ready, Some(false));
    assert_eq!(b.bad_conditions, ["MemoryPressure"]);

    let o = &v.overview;
    assert!(close(o.cpu_used_cores, 2.0));
    assert!(close(o.cpu_allocatable_cores, 3.92 + 1.9));
    assert_eq!((o.nodes_ready, o.nodes_not_ready), (1, 1));
    let phases: Vec<(&str, usize)> = o
        .pods_by_phase
        .iter()
        .map(|(p, n)| (p.as_str(), *n))
        .collect();
    assert_eq!(
        phases,
        [
            ("Running", 3),
            ("Pending", 2),
            ("Succeeded", 1),
            ("Failed", 0),
            ("Unknown", 0)
        ]
    );
    assert_eq!(o.cpu_history.len(), HISTORY_POINTS);
    assert!(close(*o.cpu_history.last().unwrap(), 2.0));
    // Only the last minutes have data.
    assert_eq!(o.cpu_history[0], None);
    assert!(
        close(o.rx_bytes_per_sec, 1000.0),
        "{:?}",
        o.rx_bytes_per_sec
    );
    assert!(close(o.tx_bytes_per_sec, 500.0));
}

#[test]
fn pod_detail_from_series_and_objects() {
    let mut objects = fixture();
    let i = objects
        .pods
        .iter()
        .position(|p| p.metadata.name.as_deref() == Some("api-5f6d8-xyz12"))
        .unwrap();
    let pod = Arc::make_mut(&mut objects.pods[i]);
    pod.metadata.labels = Some(
        [("app".to_string(), "api".to_string())]
            .into_iter()
            .collect(),
    );
    pod.metadata.annotations = Some(
        [("prometheus.io/scrape".to_string(), "true".to_string())]
            .into_iter()
            .collect(),
    );
    let api = PodRef {
        namespace: "shop".into(),
        name: "api-5f6d8-xyz12".into(),
    };
    let st = store(&objects);
    let engine = Engine::new(Default::default());
    let req = ClusterRequest {
        now_ms: NOW,
        step_ms: STEP,
        pod: Some(api.clone()),
    };
    let targets = vec![
        TargetRow {
            job: "kubernetes-pods".into(),
            discovered_labels: lbl(&[
                ("__meta_kubernetes_pod_name", "api-5f6d8-xyz12"),
                ("__meta_kubernetes_namespace", "shop"),
            ]),
            ..TargetRow::default()
        },
        TargetRow {
            job: "other".into(),
            labels: lbl(&[("pod", "api-5f6d8-xyz12"), ("namespace", "default")]),
            ..TargetRow::default()
        },
    ];
    let v = build(
        &st,
        &engine,
        &req,
        Some(&objects),
        ClusterMeta::default(),
        &targets,
    );
    let d = v.detail.expect("detail");
    assert!(d.found && d.objects_known);
    assert_eq!(d.status, "CrashLoopBackOff");
    assert_eq!(d.labels, [("app".to_string(), "api".to_string())]);
    assert_eq!(d.annotations.len(), 1);
    assert_eq!(d.targets.len(), 1);
    assert_eq!(d.targets[0].job, "kubernetes-pods");
    let names: Vec<&str> = d.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["api", "envoy"]);
    assert_eq!(d.containers[0].state, "waiting: CrashLoopBackOff");
    assert_eq!(d.containers[0].restarts, 7);
    let last = d.containers[0].last_termination.as_deref().unwrap();
    assert!(last.starts_with("Error (exit code 1)"), "{last}");
    // No cAdvisor series for api: the resource endpoint's pod total.
    assert_eq!(d.cpu.len(), 1);
    assert!(close(d.cpu[0].points.last().map(|p| p.1), 0.1));

    // web: per-container cAdvisor graphs and its network.
    let req = ClusterRequest {
        pod: Some(PodRef {
            namespace: "shop".into(),
            name: "web-7d4b9c-abcde".into(),
        }),
        ..req
    };
    let v = build(&st, &engine, &req, None, ClusterMeta::default(), &[]);
    let d = v.detail.expect("detail");
    assert!(!d.objects_known);
    assert_eq!(d.cpu[0].name, "web");
    assert!(close(d.cpu[0].points.last().map(|p| p.1), 0.25));
    assert_eq!(d.memory[0].name, "web");
    let net: Vec<&str> = d.network.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(net, ["rx", "tx"]);
    assert!(close(d.network[0].points.last().map(|p| p.1), 1000.0));

    // An unknown pod: not found, no panic.
    let req = ClusterRequest {
        pod: Some(PodRef {
            namespace: "x".into(),
            name: "gone".into(),
        }),
        ..req
    };
    let d = build(&st, &engine, &req, None, ClusterMeta::default(), &[])
        .detail
        .unwrap();
    assert!(!d.found);
}

#[test]
fn empty_storage_gives_an_empty_view() {
    let st = MemStorage::new();
    let engine = Engine::new(Default::default());
    let req = ClusterRequest {
        now_ms: NOW,
        step_ms: STEP,
        pod: None,
    };
    let v = build(&st, &engine, &req, None, ClusterMeta::default(), &[]);
    assert!(v.pods.is_empty() && v.nodes.is_empty());
    assert_eq!(v.error, None);
    assert_eq!(v.overview.cpu_used_cores, None);
    assert_eq!(v.overview.nodes_ready + v.overview.nodes_not_ready, 0);
}

/// A synthetic cluster of `nodes` nodes and `pods` pods as kube state, resource-metrics
/// and cAdvisor series over the last `steps` refreshes, in a TSDB head (what kmon queries
/// live; `MemStorage` is too slow to fill at this size).
fn synthetic_store(nodes: usize, pods: usize, steps: i64) -> crate::tsdb::Head {
    let st = crate::tsdb::Head::new(crate::tsdb::HeadOptions::default());
    for k in 0..steps {
        let mut a = st.appender();
        let t = NOW - (steps - 1 - k) * STEP;
        let secs = (k * STEP) as f64 / 1000.0;
        for n in 0..nodes {
            let node = format!("node-{n:03}");
            let ks = |name: &str, extra: &[(&str, &str)]| {
                let mut p = vec![
                    ("__name__", name),
                    ("job", KUBE_STATE_JOB),
                    ("node", node.as_str()),
                ];
                p.extend_from_slice(extra);
                lbl(&p)
            };
            a.append(
                None,
                &ks("kube_node_info", &[("kubelet_version", "v1.31.0")]),
                t,
                1.0,
            )
            .unwrap();
            a.append(
                None,
                &ks(
                    "kube_node_status_condition",
                    &[("condition", "Ready"), ("status", "true")],
                ),
                t,
                1.0,
            )
            .unwrap();
            for (res, v) in [("cpu", 8.0), ("memory", 32e9), ("pods", 110.0)] {
                a.append(
                    None,
                    &ks("kube_node_status_allocatable", &[("resource", res)]),
                    t,
                    v,
                )
                .unwrap();
            }
            let r = |name: &str| {
                lbl(&[
                    ("__name__", name),
                    ("job", RESOURCE_JOB),
                    ("instance", node.as_str()),
                    ("node", node.as_str()),
                ])
            };
            a.append(None, &r("node_cpu_usage_seconds_total"), t, 3.0 * secs)
                .unwrap();
            a.append(None, &r("node_memory_working_set_bytes"), t, 12e9)
                .unwrap();
        }
        for p in 0..pods {
            let node = format!("node-{:03}", p % nodes.max(1));
            let name = format!("pod-{p:05}");
            let ns = format!("ns-{}", p % 20);
            let ks = |metric: &str, extra: &[(&str, &str)]| {
                let mut l = vec![
                    ("__name__", metric),
                    ("job", KUBE_STATE_JOB),
                    ("namespace", ns.as_str()),
                    ("pod", name.as_str()),
                    ("uid", name.as_str()),
                ];
                l.extend_from_slice(extra);
                lbl(&l)
            };
            a.append(
                None,
                &ks("kube_pod_info", &[("node", node.as_str())]),
                t,
                1.0,
            )
            .unwrap();
            for phase in ["Running", "Pending", "Succeeded", "Failed", "Unknown"] {
                let v = if phase == "Running" { 1.0 } else { 0.0 };
                a.append(
                    None,
                    &ks("kube_pod_status_phase", &[("phase", phase)]),
                    t,
                    v,
                )
                .unwrap();
            }
            a.append(None, &ks("kube_pod_created", &[]), t, 1.79e9)
                .unwrap();
            a.append(
                None,
                &ks("kube_pod_container_status_ready", &[("container", "app")]),
                t,
                1.0,
            )
            .unwrap();
            a.append(
                None,
                &ks(
                    "kube_pod_container_status_restarts_total",
                    &[("container", "app")],
                ),
                t,
                (p % 7) as f64,
            )
            .unwrap();
            let usage = |metric: &str| {
                lbl(&[
                    ("__name__", metric),
                    ("job", RESOURCE_JOB),
                    ("instance", node.as_str()),
                    ("node", node.as_str()),
                    ("namespace", ns.as_str()),
                    ("pod", name.as_str()),
                ])
            };
            let cores = (p % 100) as f64 / 100.0;
            a.append(None, &usage("pod_cpu_usage_seconds_total"), t, cores * secs)
                .unwrap();
            a.append(None, &usage("pod_memory_working_set_bytes"), t, 1e8)
                .unwrap();
            let net = lbl(&[
                ("__name__", "container_network_receive_bytes_total"),
                ("job", CADVISOR_JOB),
                ("instance", node.as_str()),
                ("namespace", ns.as_str()),
                ("pod", name.as_str()),
                ("interface", "eth0"),
            ]);
            a.append(None, &net, t, 100.0 * secs).unwrap();
        }
        a.commit().unwrap();
    }
    st
}

/// The cost of a build (printed, not asserted: BENCHMARKS.md takes the figure): 20 nodes
/// and 500 pods by default, 200 and 5000 with `KMON_CLUSTER_SCALE=full` (best run with
/// `--release`: a debug build takes minutes to fill the store).
#[test]
fn build_time_at_200_nodes_and_5000_pods() {
    let (nodes, pods) = match std::env::var("KMON_CLUSTER_SCALE").as_deref() {
        Ok("full") => (200, 5000),
        _ => (20, 500),
    };
    let started = std::time::Instant::now();
    let st = synthetic_store(nodes, pods, 8);
    println!("synthetic store: {:?}", started.elapsed());
    let engine = Engine::new(Default::default());
    let req = ClusterRequest {
        now_ms: NOW,
        step_ms: STEP,
        pod: Some(PodRef {
            namespace: "ns-3".into(),
            name: "pod-00003".into(),
        }),
    };
    let mut best = f64::MAX;
    let mut v = ClusterView::default();
    for _ in 0..3 {
        v = build(&st, &engine, &req, None, ClusterMeta::default(), &[]);
        best = best.min(v.build_ms);
    }
    assert_eq!(v.error, None);
    assert_eq!((v.nodes.len(), v.pods.len()), (nodes, pods));
    println!(
        "cluster::build at {nodes} nodes / {pods} pods (8 steps of history): best of 3 {best:.1} ms \
         (KMON_CLUSTER_SCALE=full for 200/5000)"
    );
}
