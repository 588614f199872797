//! Tests of the kube state series on a realistic cluster (tests/data/kube-state/cluster.json):
//! a CrashLoopBackOff pod with restarts, an OOMKilled last termination, a Pending pod, a
//! NotReady node under MemoryPressure, a Deployment with unavailable replicas. Label sets
//! and values are asserted exactly, as kube-state-metrics 2.x writes them.

use std::collections::HashSet;
use std::sync::Arc;

use super::*;

pub(super) fn fixture() -> ClusterObjects {
    serde_json::from_str(include_str!(
        "../../../../tests/data/kube-state/cluster.json"
    ))
    .expect("fixture parses")
}

fn series() -> Vec<(Labels, f64)> {
    let mut out = Vec::new();
    kube_state_series(&fixture(), &mut out);
    out
}

/// The exact label set `name{pairs..., job="kmon-kube-state"}`.
fn ls(name: &str, pairs: &[(&str, &str)]) -> Labels {
    let mut v: Vec<(&str, &str)> = vec![("__name__", name), ("job", KUBE_STATE_JOB)];
    v.extend_from_slice(pairs);
    Labels::from_pairs(&v)
}

/// The value of the series with exactly these labels; panics when absent or duplicated.
fn value(s: &[(Labels, f64)], name: &str, pairs: &[(&str, &str)]) -> f64 {
    let want = ls(name, pairs);
    let hits: Vec<f64> = s.iter().filter(|(l, _)| *l == want).map(|x| x.1).collect();
    assert_eq!(hits.len(), 1, "{want} found {} times", hits.len());
    hits[0]
}

/// The series of `name` whose labels include all of `pairs`.
fn select(s: &[(Labels, f64)], name: &str, pairs: &[(&str, &str)]) -> Vec<(Labels, f64)> {
    s.iter()
        .filter(|(l, _)| l.metric_name() == name && pairs.iter().all(|(n, v)| l.get(n) == Some(v)))
        .cloned()
        .collect()
}

fn ts(s: &str) -> f64 {
    s.parse::<k8s_openapi::jiff::Timestamp>()
        .expect("timestamp")
        .as_second() as f64
}

const API: &[(&str, &str)] = &[
    ("namespace", "shop"),
    ("pod", "api-5f6d8-xyz12"),
    ("uid", "pod-0002"),
];
const CACHE: &[(&str, &str)] = &[
    ("namespace", "shop"),
    ("pod", "cache-0"),
    ("uid", "pod-0003"),
];
const PENDING: &[(&str, &str)] = &[
    ("namespace", "default"),
    ("pod", "batch-pending"),
    ("uid", "pod-0004"),
];

fn with<'a>(ids: &[(&'a str, &'a str)], extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    ids.iter().chain(extra).copied().collect()
}

#[test]
fn crash_looping_container_has_restarts_waiting_reason_and_last_termination() {
    let s = series();
    let api = |extra: &[(&'static str, &'static str)]| with(API, extra);
    let c = [("container", "api")];
    assert_eq!(
        value(&s, "kube_pod_container_status_restarts_total", &api(&c)),
        7.0
    );
    assert_eq!(
        value(&s, "kube_pod_container_status_waiting", &api(&c)),
        1.0
    );
    assert_eq!(
        value(&s, "kube_pod_container_status_running", &api(&c)),
        0.0
    );
    assert_eq!(
        value(&s, "kube_pod_container_status_terminated", &api(&c)),
        0.0
    );
    assert_eq!(value(&s, "kube_pod_container_status_ready", &api(&c)), 0.0);
    assert_eq!(
        value(
            &s,
            "kube_pod_container_status_waiting_reason",
            &api(&[("container", "api"), ("reason", "CrashLoopBackOff")])
        ),
        1.0
    );
    // Only the waiting container has a waiting_reason series.
    assert_eq!(
        select(&s, "kube_pod_container_status_waiting_reason", API).len(),
        1
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_container_status_last_terminated_reason",
            &api(&[("container", "api"), ("reason", "Error")])
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_container_status_last_terminated_exitcode",
            &api(&c)
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_container_status_last_terminated_timestamp",
            &api(&c)
        ),
        ts("2026-11-20T09:40:03Z")
    );
    // The sidecar is fine.
    let envoy = [("container", "envoy")];
    assert_eq!(
        value(&s, "kube_pod_container_status_running", &api(&envoy)),
        1.0
    );
    assert_eq!(
        value(&s, "kube_pod_container_status_ready", &api(&envoy)),
        1.0
    );
    assert_eq!(
        value(&s, "kube_pod_container_state_started", &api(&envoy)),
        ts("2026-11-20T09:00:04Z")
    );
    // The pod is Running but not ready.
    for (phase, v) in [
        ("Pending", 0.0),
        ("Succeeded", 0.0),
        ("Failed", 0.0),
        ("Unknown", 0.0),
        ("Running", 1.0),
    ] {
        assert_eq!(
            value(&s, "kube_pod_status_phase", &api(&[("phase", phase)])),
            v
        );
    }
    for (cond, v) in [("true", 0.0), ("false", 1.0), ("unknown", 0.0)] {
        assert_eq!(
            value(&s, "kube_pod_status_ready", &api(&[("condition", cond)])),
            v
        );
    }
    assert_eq!(
        value(
            &s,
            "kube_pod_container_info",
            &api(&[
                ("container", "api"),
                ("image_spec", "shop/api:2.1"),
                ("image", "docker.io/shop/api:2.1"),
                ("image_id", "docker.io/shop/api@sha256:bbbb"),
                ("container_id", "containerd://c0002"),
            ])
        ),
        1.0
    );
}

#[test]
fn oom_killed_last_termination() {
    let s = series();
    let cache = |extra: &[(&'static str, &'static str)]| with(CACHE, extra);
    assert_eq!(
        value(
            &s,
            "kube_pod_container_status_last_terminated_reason",
            &cache(&[("container", "redis"), ("reason", "OOMKilled")])
        ),
        1.0
    );
    let c = [("container", "redis")];
    assert_eq!(
        value(
            &s,
            "kube_pod_container_status_last_terminated_exitcode",
            &cache(&c)
        ),
        137.0
    );
    assert_eq!(
        value(&s, "kube_pod_container_status_restarts_total", &cache(&c)),
        3.0
    );
    assert_eq!(
        value(&s, "kube_pod_container_status_running", &cache(&c)),
        1.0
    );
    assert!(select(&s, "kube_pod_container_status_waiting_reason", CACHE).is_empty());
    // Guaranteed QoS: requests equal limits, memory in bytes, cpu in cores.
    for family in [
        "kube_pod_container_resource_requests",
        "kube_pod_container_resource_limits",
    ] {
        assert_eq!(select(&s, family, CACHE).len(), 2, "{family}");
        assert_eq!(
            value(
                &s,
                family,
                &cache(&[
                    ("container", "redis"),
                    ("node", "node-b"),
                    ("resource", "memory"),
                    ("unit", "byte")
                ])
            ),
            1_073_741_824.0
        );
        assert_eq!(
            value(
                &s,
                family,
                &cache(&[
                    ("container", "redis"),
                    ("node", "node-b"),
                    ("resource", "cpu"),
                    ("unit", "core")
                ])
            ),
            1.0
        );
    }
    assert_eq!(
        value(
            &s,
            "kube_pod_owner",
            &cache(&[
                ("owner_kind", "StatefulSet"),
                ("owner_name", "cache"),
                ("owner_is_controller", "true")
            ])
        ),
        1.0
    );
    for (class, v) in [("BestEffort", 0.0), ("Burstable", 0.0), ("Guaranteed", 1.0)] {
        assert_eq!(
            value(
                &s,
                "kube_pod_status_qos_class",
                &cache(&[("qos_class", class)])
            ),
            v
        );
    }
}

#[test]
fn pending_unschedulable_pod() {
    let s = series();
    let p = |extra: &[(&'static str, &'static str)]| with(PENDING, extra);
    assert_eq!(
        value(&s, "kube_pod_status_phase", &p(&[("phase", "Pending")])),
        1.0
    );
    assert_eq!(
        value(&s, "kube_pod_status_phase", &p(&[("phase", "Running")])),
        0.0
    );
    for (cond, v) in [("true", 0.0), ("false", 1.0), ("unknown", 0.0)] {
        assert_eq!(
            value(&s, "kube_pod_status_scheduled", &p(&[("condition", cond)])),
            v
        );
    }
    assert_eq!(value(&s, "kube_pod_status_unschedulable", PENDING), 1.0);
    // No node, no addresses, no controller: those labels are absent, not empty.
    assert_eq!(
        value(&s, "kube_pod_info", &p(&[("host_network", "false")])),
        1.0
    );
    assert_eq!(value(&s, "kube_pod_owner", PENDING), 1.0);
    assert_eq!(
        value(&s, "kube_pod_created", PENDING),
        ts("2026-11-20T10:00:00Z")
    );
    assert!(select(&s, "kube_pod_start_time", PENDING).is_empty());
    // No Ready condition yet: no kube_pod_status_ready series; no container statuses.
    assert!(select(&s, "kube_pod_status_ready", PENDING).is_empty());
    assert!(select(&s, "kube_pod_container_status_restarts_total", PENDING).is_empty());
    assert!(select(&s, "kube_pod_container_info", PENDING).is_empty());
    // Requests are known without a node (the node label is then absent).
    assert_eq!(
        value(
            &s,
            "kube_pod_container_resource_requests",
            &p(&[
                ("container", "train"),
                ("resource", "cpu"),
                ("unit", "core")
            ])
        ),
        2.0
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_container_resource_requests",
            &p(&[
                ("container", "train"),
                ("resource", "memory"),
                ("unit", "byte")
            ])
        ),
        8.0 * 1024.0 * 1024.0 * 1024.0
    );
}

#[test]
fn running_pod_info_owner_times_and_resources() {
    let s = series();
    let web: &[(&str, &str)] = &[
        ("namespace", "shop"),
        ("pod", "web-7d4b9c-abcde"),
        ("uid", "pod-0001"),
    ];
    assert_eq!(
        value(
            &s,
            "kube_pod_info",
            &with(
                web,
                &[
                    ("host_ip", "10.0.0.11"),
                    ("pod_ip", "10.244.0.5"),
                    ("node", "node-a"),
                    ("created_by_kind", "ReplicaSet"),
                    ("created_by_name", "web-7d4b9c"),
                    ("priority_class", "high"),
                    ("host_network", "false"),
                ]
            )
        ),
        1.0
    );
    assert_eq!(
        value(&s, "kube_pod_start_time", web),
        ts("2026-11-20T08:00:01Z")
    );
    assert_eq!(
        value(&s, "kube_pod_created", web),
        ts("2026-11-20T08:00:00Z")
    );
    let res = |resource, unit| {
        with(
            web,
            &[
                ("container", "web"),
                ("node", "node-a"),
                ("resource", resource),
                ("unit", unit),
            ],
        )
    };
    assert_eq!(
        value(
            &s,
            "kube_pod_container_resource_requests",
            &res("cpu", "core")
        ),
        0.1
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_container_resource_requests",
            &res("memory", "byte")
        ),
        134_217_728.0
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_container_resource_limits",
            &res("cpu", "core")
        ),
        0.5
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_container_resource_limits",
            &res("memory", "byte")
        ),
        268_435_456.0
    );
    // Extended resources: sanitized name, unit integer.
    assert_eq!(
        value(
            &s,
            "kube_pod_container_resource_requests",
            &with(
                API,
                &[
                    ("container", "api"),
                    ("node", "node-a"),
                    ("resource", "nvidia_com_gpu"),
                    ("unit", "integer")
                ]
            )
        ),
        1.0
    );
    // A completed Job pod: terminated reason and completion time.
    let job: &[(&str, &str)] = &[
        ("namespace", "default"),
        ("pod", "report-29123"),
        ("uid", "pod-0005"),
    ];
    assert_eq!(
        value(
            &s,
            "kube_pod_container_status_terminated_reason",
            &with(job, &[("container", "report"), ("reason", "Completed")])
        ),
        1.0
    );
    assert_eq!(
        value(&s, "kube_pod_completion_time", job),
        ts("2026-11-20T11:01:02Z")
    );
}

#[test]
fn not_ready_node_under_memory_pressure() {
    let s = series();
    let b = |extra: &[(&'static str, &'static str)]| with(&[("node", "node-b")], extra);
    let cond = |c: &'static str, st: &'static str| b(&[("condition", c), ("status", st)]);
    for (c, t, f) in [
        ("Ready", 0.0, 1.0),
        ("MemoryPressure", 1.0, 0.0),
        ("DiskPressure", 0.0, 1.0),
        ("PIDPressure", 0.0, 1.0),
    ] {
        assert_eq!(
            value(&s, "kube_node_status_condition", &cond(c, "true")),
            t,
            "{c}"
        );
        assert_eq!(
            value(&s, "kube_node_status_condition", &cond(c, "false")),
            f,
            "{c}"
        );
        assert_eq!(
            value(&s, "kube_node_status_condition", &cond(c, "unknown")),
            0.0
        );
    }
    assert_eq!(
        select(&s, "kube_node_status_condition", &[("node", "node-b")]).len(),
        12
    );
    assert_eq!(
        value(
            &s,
            "kube_node_info",
            &b(&[
                ("kernel_version", "6.8.0-45-generic"),
                ("os_image", "Ubuntu 24.04.1 LTS"),
                ("container_runtime_version", "containerd://1.7.22"),
                ("kubelet_version", "v1.30.6"),
                ("kubeproxy_version", "deprecated"),
                ("provider_id", "kind://docker/kind/node-b"),
                ("pod_cidr", "10.244.1.0/24"),
                ("system_uuid", "4c4c4544-0002"),
                ("internal_ip", "10.0.0.12"),
            ])
        ),
        1.0
    );
    let alloc = |r: &'static str, u: &'static str| b(&[("resource", r), ("unit", u)]);
    assert_eq!(
        value(&s, "kube_node_status_allocatable", &alloc("cpu", "core")),
        1.9
    );
    assert_eq!(
        value(&s, "kube_node_status_allocatable", &alloc("memory", "byte")),
        3900.0 * 1024.0 * 1024.0
    );
    assert_eq!(
        value(
            &s,
            "kube_node_status_allocatable",
            &alloc("pods", "integer")
        ),
        110.0
    );
    assert_eq!(
        value(&s, "kube_node_status_capacity", &alloc("memory", "byte")),
        4.0 * 1024.0 * 1024.0 * 1024.0
    );
    assert_eq!(
        value(
            &s,
            "kube_node_spec_taint",
            &b(&[
                ("key", "node.kubernetes.io/memory-pressure"),
                ("effect", "NoSchedule")
            ])
        ),
        1.0
    );
    assert_eq!(value(&s, "kube_node_spec_unschedulable", &b(&[])), 0.0);
    assert!(select(&s, "kube_node_role", &[("node", "node-b")]).is_empty());
}

#[test]
fn ready_node_resources_role_and_addresses() {
    let s = series();
    let a = |extra: &[(&'static str, &'static str)]| with(&[("node", "node-a")], extra);
    let res = |r: &'static str, u: &'static str| a(&[("resource", r), ("unit", u)]);
    let alloc = select(&s, "kube_node_status_allocatable", &[("node", "node-a")]);
    assert_eq!(alloc.len(), 6, "{alloc:?}");
    assert_eq!(
        value(&s, "kube_node_status_allocatable", &res("cpu", "core")),
        3.92
    );
    assert_eq!(
        value(&s, "kube_node_status_allocatable", &res("memory", "byte")),
        16_323_420.0 * 1024.0
    );
    assert_eq!(
        value(
            &s,
            "kube_node_status_allocatable",
            &res("ephemeral_storage", "byte")
        ),
        95_491_281_146.0
    );
    assert_eq!(
        value(
            &s,
            "kube_node_status_allocatable",
            &res("hugepages_2Mi", "byte")
        ),
        0.0
    );
    assert_eq!(
        value(
            &s,
            "kube_node_status_capacity",
            &res("nvidia_com_gpu", "integer")
        ),
        1.0
    );
    assert_eq!(
        value(&s, "kube_node_status_capacity", &res("cpu", "core")),
        4.0
    );
    assert_eq!(
        value(&s, "kube_node_role", &a(&[("role", "control-plane")])),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "kube_node_status_addresses",
            &a(&[("type", "Hostname"), ("address", "node-a")])
        ),
        1.0
    );
    assert_eq!(
        value(&s, "kube_node_created", &a(&[])),
        ts("2026-01-01T00:00:00Z")
    );
}

#[test]
fn deployment_with_unavailable_replicas() {
    let s = series();
    let d = |extra: &[(&'static str, &'static str)]| {
        with(&[("namespace", "shop"), ("deployment", "api")], extra)
    };
    assert_eq!(value(&s, "kube_deployment_spec_replicas", &d(&[])), 3.0);
    assert_eq!(value(&s, "kube_deployment_status_replicas", &d(&[])), 3.0);
    assert_eq!(
        value(&s, "kube_deployment_status_replicas_available", &d(&[])),
        1.0
    );
    assert_eq!(
        value(&s, "kube_deployment_status_replicas_ready", &d(&[])),
        1.0
    );
    assert_eq!(
        value(&s, "kube_deployment_status_replicas_unavailable", &d(&[])),
        2.0
    );
    assert_eq!(
        value(&s, "kube_deployment_status_replicas_updated", &d(&[])),
        3.0
    );
    assert_eq!(
        value(&s, "kube_deployment_metadata_generation", &d(&[])),
        7.0
    );
    assert_eq!(
        value(&s, "kube_deployment_status_observed_generation", &d(&[])),
        7.0
    );
    // 25% of 3: max unavailable rounds down, max surge up.
    assert_eq!(
        value(
            &s,
            "kube_deployment_spec_strategy_rollingupdate_max_unavailable",
            &d(&[])
        ),
        0.0
    );
    assert_eq!(
        value(
            &s,
            "kube_deployment_spec_strategy_rollingupdate_max_surge",
            &d(&[])
        ),
        1.0
    );
    let cond = |reason, c, st| d(&[("reason", reason), ("condition", c), ("status", st)]);
    let available = "MinimumReplicasUnavailable";
    assert_eq!(
        value(
            &s,
            "kube_deployment_status_condition",
            &cond(available, "Available", "false")
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "kube_deployment_status_condition",
            &cond(available, "Available", "true")
        ),
        0.0
    );
    // A reason kube-state-metrics does not know becomes "unknown".
    assert_eq!(
        value(
            &s,
            "kube_deployment_status_condition",
            &cond("unknown", "ReplicaFailure", "false")
        ),
        1.0
    );
    assert_eq!(
        select(&s, "kube_deployment_status_condition", &d(&[])).len(),
        9
    );
    // The healthy one: int max unavailable, percent surge of 2 rounded up.
    let web = [("namespace", "shop"), ("deployment", "web")];
    assert_eq!(
        value(
            &s,
            "kube_deployment_spec_strategy_rollingupdate_max_unavailable",
            &web
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "kube_deployment_spec_strategy_rollingupdate_max_surge",
            &web
        ),
        1.0
    );
    assert_eq!(
        value(&s, "kube_deployment_status_replicas_available", &web),
        2.0
    );
}

#[test]
fn namespaces_statefulsets_and_daemonsets() {
    let s = series();
    for (ns, active, terminating) in [("default", 1.0, 0.0), ("shop", 1.0, 0.0), ("old", 0.0, 1.0)]
    {
        let ph = |p| [("namespace", ns), ("phase", p)];
        assert_eq!(
            value(&s, "kube_namespace_status_phase", &ph("Active")),
            active
        );
        assert_eq!(
            value(&s, "kube_namespace_status_phase", &ph("Terminating")),
            terminating
        );
    }
    assert_eq!(
        value(
            &s,
            "kube_namespace_status_condition",
            &[
                ("namespace", "old"),
                ("condition", "NamespaceContentRemaining"),
                ("status", "true")
            ]
        ),
        1.0
    );
    let ss = [("namespace", "shop"), ("statefulset", "cache")];
    assert_eq!(value(&s, "kube_statefulset_replicas", &ss), 1.0);
    assert_eq!(
        value(&s, "kube_statefulset_status_replicas_ready", &ss),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "kube_statefulset_status_current_revision",
            &[
                ("namespace", "shop"),
                ("statefulset", "cache"),
                ("revision", "cache-6b9f")
            ]
        ),
        1.0
    );
    assert_eq!(value(&s, "kube_statefulset_ordinals_start", &ss), 0.0);
    assert_eq!(
        value(
            &s,
            "kube_statefulset_persistentvolumeclaim_retention_policy",
            &[
                ("namespace", "shop"),
                ("statefulset", "cache"),
                ("when_deleted", "Retain"),
                ("when_scaled", "Delete")
            ]
        ),
        1.0
    );
    let ds = [("namespace", "kube-system"), ("daemonset", "kube-proxy")];
    assert_eq!(
        value(&s, "kube_daemonset_status_desired_number_scheduled", &ds),
        2.0
    );
    assert_eq!(value(&s, "kube_daemonset_status_number_ready", &ds), 1.0);
    assert_eq!(
        value(&s, "kube_daemonset_status_number_unavailable", &ds),
        1.0
    );
}

/// What standard dashboards and alert rules ask, checked on the raw series.
#[test]
fn standard_query_shapes_hold() {
    let s = series();
    let objects = fixture();
    // kube_pod_status_phase{phase="Running"} is 1 for exactly the running pods, and every
    // pod has exactly one phase at 1.
    let mut running_pods: Vec<String> =
        select(&s, "kube_pod_status_phase", &[("phase", "Running")])
            .into_iter()
            .filter(|(_, v)| *v == 1.0)
            .map(|(l, _)| l.get("pod").unwrap_or("").to_owned())
            .collect();
    running_pods.sort();
    assert_eq!(
        running_pods,
        ["api-5f6d8-xyz12", "cache-0", "web-7d4b9c-abcde"]
    );
    for p in &objects.pods {
        let name = p.metadata.name.as_deref().unwrap_or("");
        let ones = select(&s, "kube_pod_status_phase", &[("pod", name)])
            .iter()
            .filter(|(_, v)| *v == 1.0)
            .count();
        assert_eq!(ones, 1, "{name}");
    }
    // sum(kube_pod_container_status_restarts_total) by (namespace)
    let restarts = |ns| -> f64 {
        select(
            &s,
            "kube_pod_container_status_restarts_total",
            &[("namespace", ns)],
        )
        .iter()
        .map(|x| x.1)
        .sum()
    };
    assert_eq!(restarts("shop"), 10.0);
    assert_eq!(restarts("default"), 0.0);
    // KubePodCrashLooping-style: waiting_reason{reason="CrashLoopBackOff"} == 1.
    let crashing = select(
        &s,
        "kube_pod_container_status_waiting_reason",
        &[("reason", "CrashLoopBackOff")],
    );
    assert_eq!(crashing.len(), 1);
    assert_eq!(crashing[0].0.get("container"), Some("api"));
    // KubeNodeNotReady: kube_node_status_condition{condition="Ready",status="true"} == 0.
    let not_ready: Vec<_> = select(
        &s,
        "kube_node_status_condition",
        &[("condition", "Ready"), ("status", "true")],
    )
    .into_iter()
    .filter(|(_, v)| *v == 0.0)
    .map(|(l, _)| l.get("node").unwrap_or("").to_owned())
    .collect();
    assert_eq!(not_ready, ["node-b"]);
    // Cluster CPU requests against allocatable.
    let cpu_requests: f64 = select(
        &s,
        "kube_pod_container_resource_requests",
        &[("resource", "cpu")],
    )
    .iter()
    .map(|x| x.1)
    .sum();
    assert!((cpu_requests - (0.1 + 0.25 + 1.0 + 2.0)).abs() < 1e-9);
    // KubeDeploymentReplicasMismatch: spec_replicas != status_replicas_available.
    let mismatched: Vec<_> = select(&s, "kube_deployment_spec_replicas", &[])
        .into_iter()
        .filter(|(l, v)| {
            let d = l.get("deployment").unwrap_or("");
            value(
                &s,
                "kube_deployment_status_replicas_available",
                &[("namespace", "shop"), ("deployment", d)],
            ) != *v
        })
        .map(|(l, _)| l.get("deployment").unwrap_or("").to_owned())
        .collect();
    assert_eq!(mismatched, ["api"]);
}

#[test]
fn every_series_is_unique_and_carries_the_job() {
    let s = series();
    assert!(s.len() > 200, "{}", s.len());
    let mut seen = HashSet::new();
    for (l, v) in &s {
        assert_eq!(l.get("job"), Some(KUBE_STATE_JOB));
        assert!(l.metric_name().starts_with("kube_"), "{l}");
        assert!(v.is_finite(), "{l}");
        assert!(seen.insert(l.clone()), "duplicate series {l}");
        // Only the restart counts are counters, and they are named like counters.
        assert_eq!(
            is_counter(l.metric_name()),
            l.metric_name().ends_with("_total")
        );
    }
}

#[test]
fn the_cache_reuses_unchanged_objects_and_forgets_deleted_ones() {
    let mut objects = fixture();
    let mut state = KubeState::new();
    let mut first = Vec::new();
    state.collect(&objects, &mut first);
    let mut second = Vec::new();
    state.collect(&objects, &mut second);
    assert_eq!(first, second);
    let total = objects.pods.len()
        + objects.nodes.len()
        + objects.namespaces.len()
        + objects.deployments.len()
        + objects.stateful_sets.len()
        + objects.daemon_sets.len()
        + objects.replica_sets.len()
        + objects.jobs.len()
        + objects.cron_jobs.len()
        + objects.persistent_volume_claims.len()
        + objects.horizontal_pod_autoscalers.len();
    assert_eq!(state.cached_objects(), total);
    // Same label allocation for an unchanged object: reused, not rebuilt.
    assert!(first[0].0.ptr_eq(&second[0].0));

    // A new resourceVersion with more restarts is rebuilt.
    let mut api = (*objects.pods[1]).clone();
    api.metadata.resource_version = Some("999".into());
    let statuses = api
        .status
        .as_mut()
        .and_then(|s| s.container_statuses.as_mut())
        .expect("statuses");
    statuses[0].restart_count = 8;
    objects.pods[1] = Arc::new(api);
    // And a deleted pod disappears.
    objects.pods.remove(0);
    let mut third = Vec::new();
    state.collect(&objects, &mut third);
    let api_restarts: Vec<f64> = select(
        &third,
        "kube_pod_container_status_restarts_total",
        &with(API, &[("container", "api")]),
    )
    .iter()
    .map(|x| x.1)
    .collect();
    assert_eq!(api_restarts, [8.0]);
    assert!(select(&third, "kube_pod_info", &[("pod", "web-7d4b9c-abcde")]).is_empty());
    assert_eq!(state.cached_objects(), total - 1);

    // Equal to a fresh build.
    let mut fresh = Vec::new();
    kube_state_series(&objects, &mut fresh);
    assert_eq!(third, fresh);
}

#[test]
fn empty_and_partial_objects_do_not_panic() {
    let objects = ClusterObjects {
        pods: vec![Arc::new(Pod::default())],
        nodes: vec![Arc::new(Node::default())],
        namespaces: vec![Arc::new(Namespace::default())],
        deployments: vec![Arc::new(Deployment::default())],
        stateful_sets: vec![Arc::new(StatefulSet::default())],
        daemon_sets: vec![Arc::new(DaemonSet::default())],
        replica_sets: vec![Arc::new(ReplicaSet::default())],
        jobs: vec![Arc::new(Job::default())],
        cron_jobs: vec![Arc::new(CronJob::default())],
        persistent_volume_claims: vec![Arc::new(PersistentVolumeClaim::default())],
        horizontal_pod_autoscalers: vec![Arc::new(HorizontalPodAutoscaler::default())],
    };
    let mut out = Vec::new();
    let mut state = KubeState::new();
    state.collect(&objects, &mut out);
    state.collect(&objects, &mut out);
    // Nothing is cached without a uid.
    assert_eq!(state.cached_objects(), 0);
    assert!(
        out.iter()
            .all(|(l, v)| l.get("job") == Some(KUBE_STATE_JOB) && v.is_finite())
    );
    // A pod with an invalid quantity and an odd resource name is skipped, not fatal.
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "x", "namespace": "n"},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {
            "cpu": "lots", "example.com/foo": "2", "pods": "1", "attachable-volumes-aws-ebs": "3"}}}]}
    }))
    .expect("pod");
    let mut out = Vec::new();
    kube_state_series(
        &ClusterObjects {
            pods: vec![Arc::new(pod)],
            ..ClusterObjects::default()
        },
        &mut out,
    );
    let req = select(&out, "kube_pod_container_resource_requests", &[]);
    let mut got: Vec<(String, String, f64)> = req
        .iter()
        .map(|(l, v)| {
            (
                l.get("resource").unwrap_or("").to_owned(),
                l.get("unit").unwrap_or("").to_owned(),
                *v,
            )
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        [
            ("attachable_volumes_aws_ebs".into(), "byte".into(), 3.0),
            ("example_com_foo".into(), "integer".into(), 2.0),
        ]
    );
}

#[test]
fn crash_looping_init_container_and_condition_times() {
    let s = series();
    let ids: &[(&str, &str)] = &[
        ("namespace", "shop"),
        ("pod", "orders-6c8d7-q2w3e"),
        ("uid", "pod-0006"),
    ];
    let migrate = with(ids, &[("container", "migrate")]);
    assert_eq!(
        value(
            &s,
            "kube_pod_init_container_status_restarts_total",
            &migrate
        ),
        4.0
    );
    assert_eq!(
        value(&s, "kube_pod_init_container_status_waiting", &migrate),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_init_container_status_waiting_reason",
            &with(
                ids,
                &[("container", "migrate"), ("reason", "CrashLoopBackOff")]
            )
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_init_container_status_last_terminated_reason",
            &with(ids, &[("container", "migrate"), ("reason", "Error")])
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_init_container_info",
            &with(
                ids,
                &[
                    ("container", "migrate"),
                    ("image_spec", "shop/migrate:5"),
                    ("image", "docker.io/shop/migrate:5"),
                    ("image_id", "docker.io/shop/migrate@sha256:ffff"),
                    ("container_id", "containerd://c0006"),
                    ("restart_policy", "Never"),
                ]
            )
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_init_container_resource_requests",
            &with(
                ids,
                &[
                    ("container", "migrate"),
                    ("node", "node-b"),
                    ("resource", "cpu"),
                    ("unit", "core")
                ]
            )
        ),
        0.05
    );
    // The init container is not a regular container, and vice versa.
    assert!(
        select(
            &s,
            "kube_pod_container_status_restarts_total",
            &[("container", "migrate")]
        )
        .is_empty()
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_container_status_waiting_reason",
            &with(
                ids,
                &[("container", "orders"), ("reason", "PodInitializing")]
            )
        ),
        1.0
    );
    // No image id yet: the label is absent.
    assert_eq!(
        value(
            &s,
            "kube_pod_container_info",
            &with(
                ids,
                &[
                    ("container", "orders"),
                    ("image_spec", "shop/orders:5"),
                    ("image", "shop/orders:5")
                ]
            )
        ),
        1.0
    );
    // Condition times: only the True conditions (and PodScheduled=False) have one.
    assert_eq!(
        value(&s, "kube_pod_status_scheduled_time", ids),
        ts("2026-11-20T12:00:00Z")
    );
    for family in [
        "kube_pod_status_initialized_time",
        "kube_pod_status_ready_time",
        "kube_pod_status_container_ready_time",
        "kube_pod_status_unscheduled_time",
    ] {
        assert!(select(&s, family, ids).is_empty(), "{family}");
    }
    assert_eq!(
        value(&s, "kube_pod_status_unscheduled_time", PENDING),
        ZERO_TIME_UNIX
    );
}

#[test]
fn replicasets_jobs_and_cronjobs() {
    let s = series();
    let rs = [("namespace", "shop"), ("replicaset", "api-5f6d8")];
    assert_eq!(
        value(
            &s,
            "kube_replicaset_owner",
            &with(
                &rs,
                &[
                    ("owner_kind", "Deployment"),
                    ("owner_name", "api"),
                    ("owner_is_controller", "true")
                ]
            )
        ),
        1.0
    );
    assert_eq!(value(&s, "kube_replicaset_spec_replicas", &rs), 3.0);
    assert_eq!(value(&s, "kube_replicaset_status_ready_replicas", &rs), 1.0);
    assert_eq!(value(&s, "kube_replicaset_metadata_generation", &rs), 3.0);
    // A deployment's owner series has no owner_is_controller label.
    assert_eq!(
        value(
            &s,
            "kube_deployment_owner",
            &[("namespace", "shop"), ("deployment", "api")]
        ),
        1.0
    );

    let done = [("namespace", "default"), ("job_name", "report-29123")];
    assert_eq!(value(&s, "kube_job_info", &done), 1.0);
    assert_eq!(value(&s, "kube_job_status_succeeded", &done), 1.0);
    assert_eq!(value(&s, "kube_job_status_failed", &done), 0.0);
    assert_eq!(value(&s, "kube_job_status_active", &done), 0.0);
    for (c, v) in [("true", 1.0), ("false", 0.0), ("unknown", 0.0)] {
        assert_eq!(
            value(&s, "kube_job_complete", &with(&done, &[("condition", c)])),
            v
        );
    }
    assert!(select(&s, "kube_job_failed", &done).is_empty());
    assert_eq!(
        value(&s, "kube_job_status_completion_time", &done),
        ts("2026-11-20T11:01:05Z")
    );
    assert_eq!(
        value(
            &s,
            "kube_job_owner",
            &with(
                &done,
                &[
                    ("owner_kind", "CronJob"),
                    ("owner_name", "report"),
                    ("owner_is_controller", "true")
                ]
            )
        ),
        1.0
    );

    // A failed job with a known reason: one series per known reason, no bare count.
    let failed = [("namespace", "default"), ("job_name", "backup-29124")];
    let by_reason = select(&s, "kube_job_status_failed", &failed);
    assert_eq!(by_reason.len(), 3, "{by_reason:?}");
    for (r, v) in [
        ("BackoffLimitExceeded", 1.0),
        ("DeadlineExceeded", 0.0),
        ("Evicted", 0.0),
    ] {
        assert_eq!(
            value(
                &s,
                "kube_job_status_failed",
                &with(&failed, &[("reason", r)])
            ),
            v
        );
    }
    assert_eq!(
        value(
            &s,
            "kube_job_failed",
            &with(&failed, &[("condition", "true")])
        ),
        1.0
    );
    assert_eq!(value(&s, "kube_job_owner", &failed), 1.0);

    let cj = [("namespace", "default"), ("cronjob", "report")];
    assert_eq!(
        value(
            &s,
            "kube_cronjob_info",
            &with(
                &cj,
                &[
                    ("schedule", "0 * * * *"),
                    ("concurrency_policy", "Forbid"),
                    ("timezone", "local")
                ]
            )
        ),
        1.0
    );
    assert_eq!(value(&s, "kube_cronjob_status_active", &cj), 0.0);
    assert_eq!(
        value(&s, "kube_cronjob_status_last_schedule_time", &cj),
        ts("2026-11-20T11:00:00Z")
    );
    assert_eq!(value(&s, "kube_cronjob_spec_suspend", &cj), 0.0);
    assert_eq!(
        value(&s, "kube_cronjob_metadata_resource_version", &cj),
        800.0
    );
    assert_eq!(
        value(&s, "kube_cronjob_spec_successful_job_history_limit", &cj),
        3.0
    );
}

#[test]
fn constant_labels_go_on_every_series_without_replacing_kube_state_labels() {
    let labels = Labels::from_pairs(&[
        ("cluster", "prod"),
        ("job", "ignored"),
        ("namespace", "ignored-too"),
    ]);
    let mut state = KubeState::with_labels(&labels);
    let mut s = Vec::new();
    state.collect(&fixture(), &mut s);
    assert!(
        s.iter()
            .all(|(l, _)| l.get("cluster") == Some("prod") && l.get("job") == Some(KUBE_STATE_JOB))
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_container_status_restarts_total",
            &with(API, &[("container", "api"), ("cluster", "prod")])
        ),
        7.0
    );
    // Only series without their own namespace label keep the constant one.
    assert_eq!(
        value(
            &s,
            "kube_node_spec_unschedulable",
            &[
                ("node", "node-a"),
                ("cluster", "prod"),
                ("namespace", "ignored-too")
            ]
        ),
        0.0
    );
}

/// A cluster of 500 pods on 20 nodes: a second, cached tick gives exactly the series of
/// the first, every object is cached, nothing vanishes, and no label set repeats.
#[test]
fn a_cached_tick_over_many_objects_repeats_the_first_exactly() {
    let base = fixture();
    let mut objects = ClusterObjects::default();
    for i in 0..500 {
        let mut p = (*base.pods[i % 3]).clone();
        p.metadata.name = Some(format!("pod-{i}"));
        p.metadata.uid = Some(format!("uid-{i}"));
        if let Some(spec) = p.spec.as_mut() {
            spec.node_name = Some(format!("node-{}", i % 20));
        }
        objects.pods.push(Arc::new(p));
    }
    for i in 0..20 {
        let mut n = (*base.nodes[i % 2]).clone();
        n.metadata.name = Some(format!("node-{i}"));
        n.metadata.uid = Some(format!("node-uid-{i}"));
        objects.nodes.push(Arc::new(n));
    }
    let mut state = KubeState::new();
    let mut first = Vec::new();
    state.collect(&objects, &mut first);
    let mut second = Vec::new();
    state.collect(&objects, &mut second);
    assert_eq!(second, first);
    assert_eq!(state.cached_objects(), 520);
    assert!(state.vanished().is_empty());
    let unique: std::collections::HashSet<&Labels> = first.iter().map(|(l, _)| l).collect();
    assert_eq!(unique.len(), first.len(), "a label set repeats");
    assert!(first.len() > 500 * 10, "{} series", first.len());
}

#[test]
fn vanished_series_are_reported_once_for_stale_markers() {
    let mut objects = fixture();
    let mut state = KubeState::new();
    let mut out = Vec::new();
    state.collect(&objects, &mut out);
    assert!(state.vanished().is_empty());

    // The crash-looping container comes up: its waiting series change.
    let mut api = (*objects.pods[1]).clone();
    api.metadata.resource_version = Some("1000".into());
    let cs = &mut api
        .status
        .as_mut()
        .and_then(|s| s.container_statuses.as_mut())
        .expect("statuses")[0];
    cs.state = Some(k8s_openapi::api::core::v1::ContainerState {
        running: Some(Default::default()),
        ..Default::default()
    });
    objects.pods[1] = Arc::new(api);
    // The web pod is deleted.
    let web = objects.pods.remove(0);
    // The web Deployment is deleted and recreated under the same name (new uid).
    let mut dep = (*objects.deployments[0]).clone();
    dep.metadata.uid = Some("dep-recreated".into());
    objects.deployments[0] = Arc::new(dep);

    out.clear();
    state.collect(&objects, &mut out);
    let gone: HashSet<&Labels> = state.vanished().iter().collect();
    assert_eq!(gone.len(), state.vanished().len(), "no duplicates");
    assert!(gone.contains(&ls(
        "kube_pod_container_status_waiting_reason",
        &with(API, &[("container", "api"), ("reason", "CrashLoopBackOff")])
    )));
    // Series the pod still has are not stale: their value changed, they did not vanish.
    assert!(!gone.contains(&ls(
        "kube_pod_container_status_waiting",
        &with(API, &[("container", "api")])
    )));
    let web_name = web.metadata.name.as_deref().unwrap_or("");
    let web_series = gone
        .iter()
        .filter(|l| l.get("pod") == Some(web_name))
        .count();
    assert!(web_series > 10, "{web_series}");
    // Nothing vanished for the recreated Deployment: same labels, new object.
    assert!(
        gone.iter().all(|l| l.get("deployment").is_none()),
        "{gone:?}"
    );
    // Every vanished set is absent from this tick's output.
    let now: HashSet<&Labels> = out.iter().map(|(l, _)| l).collect();
    assert!(gone.iter().all(|l| !now.contains(l)));

    // A quiet tick reports nothing.
    out.clear();
    state.collect(&objects, &mut out);
    assert!(state.vanished().is_empty());
}

#[test]
fn evicted_and_oddly_failed_pods_have_status_reasons() {
    let pod = |name: &str, reason: &str| -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "namespace": "n", "uid": name, "resourceVersion": "1"},
                "spec": {"nodeName": "node-a", "containers": [{"name": "c", "image": "i"}]},
                "status": {"phase": "Failed", "reason": reason,
                           "message": "The node was low on resource: memory.",
                           "conditions": [{"type": "DisruptionTarget", "status": "True",
                                           "reason": if reason == "Evicted" { "EvictionByEvictionAPI" } else { "Custom" }}]}
            }))
            .expect("pod"),
        )
    };
    let objects = ClusterObjects {
        pods: vec![pod("evicted", "Evicted"), pod("odd", "SomethingNew")],
        ..ClusterObjects::default()
    };
    let mut s = Vec::new();
    kube_state_series(&objects, &mut s);
    let ids = |p| [("namespace", "n"), ("pod", p), ("uid", p)];
    assert_eq!(
        value(
            &s,
            "kube_pod_status_reason",
            &with(&ids("evicted"), &[("reason", "Evicted")])
        ),
        1.0
    );
    assert_eq!(
        select(&s, "kube_pod_status_reason", &ids("evicted")).len(),
        1
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_status_reason",
            &with(&ids("odd"), &[("reason", "Other")])
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_status_phase",
            &with(&ids("evicted"), &[("phase", "Failed")])
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_status_disruption_reason",
            &with(&ids("evicted"), &[("reason", "EvictionByEvictionAPI")])
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_status_disruption_reason",
            &with(&ids("odd"), &[("reason", "Other")])
        ),
        1.0
    );
}

#[test]
fn objects_without_resource_version_are_rebuilt_and_still_tracked() {
    let mut objects = fixture();
    for p in &mut objects.pods {
        let mut q = (**p).clone();
        q.metadata.resource_version = None;
        *p = Arc::new(q);
    }
    let mut state = KubeState::new();
    let mut first = Vec::new();
    state.collect(&objects, &mut first);
    // A change without a new resourceVersion is still seen (nothing is reused)...
    let mut api = (*objects.pods[1]).clone();
    if let Some(cs) = api
        .status
        .as_mut()
        .and_then(|s| s.container_statuses.as_mut())
    {
        cs[0].restart_count = 9;
    }
    objects.pods[1] = Arc::new(api);
    let mut second = Vec::new();
    state.collect(&objects, &mut second);
    assert_eq!(
        value(
            &second,
            "kube_pod_container_status_restarts_total",
            &with(API, &[("container", "api")])
        ),
        9.0
    );
    // ...and unchanged series are not reported as vanished.
    assert!(state.vanished().is_empty(), "{:?}", state.vanished());
    objects.pods.remove(0);
    let mut third = Vec::new();
    state.collect(&objects, &mut third);
    assert!(!state.vanished().is_empty());
    assert!(
        state
            .vanished()
            .iter()
            .all(|l| l.get("pod") == Some("web-7d4b9c-abcde"))
    );
}

#[test]
fn claims_and_autoscalers() {
    let s = series();
    let data = [
        ("namespace", "shop"),
        ("persistentvolumeclaim", "data-cache-0"),
    ];
    assert_eq!(
        value(
            &s,
            "kube_persistentvolumeclaim_info",
            &with(
                &data,
                &[
                    ("storageclass", "standard"),
                    ("volumename", "pvc-1-volume"),
                    ("volumemode", "Filesystem")
                ]
            )
        ),
        1.0
    );
    for (phase, v) in [("Lost", 0.0), ("Bound", 1.0), ("Pending", 0.0)] {
        assert_eq!(
            value(
                &s,
                "kube_persistentvolumeclaim_status_phase",
                &with(&data, &[("phase", phase)])
            ),
            v
        );
    }
    assert_eq!(
        value(
            &s,
            "kube_persistentvolumeclaim_resource_requests_storage_bytes",
            &data
        ),
        10.0 * 1024.0 * 1024.0 * 1024.0
    );
    // The beta annotation wins over spec.storageClassName; no volume yet.
    let scratch = [
        ("namespace", "default"),
        ("persistentvolumeclaim", "scratch"),
    ];
    assert_eq!(
        value(
            &s,
            "kube_persistentvolumeclaim_info",
            &with(&scratch, &[("storageclass", "fast")])
        ),
        1.0
    );
    assert_eq!(
        select(&s, "kube_persistentvolumeclaim_access_mode", &scratch).len(),
        2
    );
    assert_eq!(
        value(
            &s,
            "kube_persistentvolumeclaim_resource_requests_storage_bytes",
            &scratch
        ),
        5e8
    );

    let hpa = [("namespace", "shop"), ("horizontalpodautoscaler", "api")];
    assert_eq!(
        value(
            &s,
            "kube_horizontalpodautoscaler_info",
            &with(
                &hpa,
                &[
                    ("scaletargetref_api_version", "apps/v1"),
                    ("scaletargetref_kind", "Deployment"),
                    ("scaletargetref_name", "api")
                ]
            )
        ),
        1.0
    );
    assert_eq!(
        value(&s, "kube_horizontalpodautoscaler_spec_min_replicas", &hpa),
        1.0
    );
    assert_eq!(
        value(&s, "kube_horizontalpodautoscaler_spec_max_replicas", &hpa),
        3.0
    );
    assert_eq!(
        value(
            &s,
            "kube_horizontalpodautoscaler_status_current_replicas",
            &hpa
        ),
        3.0
    );
    assert_eq!(
        value(
            &s,
            "kube_horizontalpodautoscaler_status_condition",
            &with(&hpa, &[("condition", "ScalingLimited"), ("status", "true")])
        ),
        1.0
    );
}

#[test]
fn pod_spec_families() {
    let s = series();
    let web: &[(&str, &str)] = &[
        ("namespace", "shop"),
        ("pod", "web-7d4b9c-abcde"),
        ("uid", "pod-0001"),
    ];
    let ips = select(&s, "kube_pod_ips", web);
    assert_eq!(ips.len(), 2, "{ips:?}");
    assert_eq!(
        value(
            &s,
            "kube_pod_ips",
            &with(web, &[("ip", "fd00:10:244::5"), ("ip_family", "6")])
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_restart_policy",
            &with(web, &[("type", "Always")])
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_service_account",
            &with(web, &[("service_account", "web")])
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_scheduler",
            &with(web, &[("name", "default-scheduler")])
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "kube_pod_runtimeclass_name_info",
            &with(web, &[("runtimeclass_name", "gvisor")])
        ),
        1.0
    );
    // The duplicated toleration is written once.
    assert_eq!(select(&s, "kube_pod_tolerations", web).len(), 2);
    assert_eq!(
        value(
            &s,
            "kube_pod_tolerations",
            &with(
                web,
                &[
                    ("key", "node.kubernetes.io/not-ready"),
                    ("operator", "Exists"),
                    ("effect", "NoExecute"),
                    ("toleration_seconds", "300")
                ]
            )
        ),
        1.0
    );
    let vol = |v, claim, eph| {
        with(
            web,
            &[
                ("volume", v),
                ("persistentvolumeclaim", claim),
                ("ephemeral", eph),
            ],
        )
    };
    let info = "kube_pod_spec_volumes_persistentvolumeclaims_info";
    let ro = "kube_pod_spec_volumes_persistentvolumeclaims_readonly";
    assert_eq!(value(&s, info, &vol("assets", "web-assets", "false")), 1.0);
    assert_eq!(value(&s, ro, &vol("assets", "web-assets", "false")), 1.0);
    assert_eq!(
        value(&s, info, &vol("tmp", "web-7d4b9c-abcde-tmp", "true")),
        1.0
    );
    assert_eq!(
        value(&s, ro, &vol("tmp", "web-7d4b9c-abcde-tmp", "true")),
        0.0
    );
    assert_eq!(
        select(&s, info, web).len(),
        2,
        "the configMap volume has none"
    );
    // A pod without these spec fields still has the always-present families.
    assert_eq!(value(&s, "kube_pod_restart_policy", PENDING), 1.0);
    assert!(select(&s, "kube_pod_runtimeclass_name_info", PENDING).is_empty());
}
