//! The tables and the overview of the cluster model: pod rows (kube state series joined
//! with CPU and memory from the resource metrics or cAdvisor), node rows (kube state plus
//! node usage), and the cluster totals with their graphs. Called by `cluster::build`.

use std::collections::HashMap;

use super::query::{Querier, get};
use super::{ClusterOverview, NodeRow, PodHealth, PodRow};

/// Node conditions that are bad when true.
const BAD_CONDITIONS: [&str; 4] = [
    "MemoryPressure",
    "DiskPressure",
    "PIDPressure",
    "NetworkUnavailable",
];

/// Waiting or terminated reasons that mean the pod is failing.
const FAILING: [&str; 14] = [
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "ContainerCannotRun",
    "Error",
    "OOMKilled",
    "Evicted",
    "DeadlineExceeded",
    "NodeLost",
];

/// The health a status (kubectl's STATUS) and phase mean.
pub(super) fn health(phase: &str, status: &str) -> PodHealth {
    if phase == "Failed" || FAILING.contains(&status) || status.ends_with("BackOff") {
        PodHealth::Failed
    } else if phase == "Succeeded" || status == "Completed" {
        PodHealth::Done
    } else if status == "Running" {
        PodHealth::Running
    } else if phase == "Pending" || phase == "Running" {
        // Running with a container waiting (ContainerCreating, Terminating…).
        PodHealth::Pending
    } else {
        PodHealth::Unknown
    }
}

type Key = (String, String);

fn pod_key(l: &crate::model::Labels) -> Key {
    (get(l, "namespace").to_string(), get(l, "pod").to_string())
}

/// Per-container facts gathered for a pod's status.
#[derive(Default)]
struct Containers {
    /// name → (ready, waiting reason, terminated reason)
    by_name: std::collections::BTreeMap<String, (bool, String, String)>,
}

/// Every pod kube state knows, sorted by namespace and name.
pub(super) fn pods(q: &mut Querier<'_>) -> Vec<PodRow> {
    let now_s = q.now_ms as f64 / 1000.0;
    let mut rows: HashMap<Key, PodRow> = HashMap::new();
    for (l, _) in q.instant("kube_pod_info{{KS}}") {
        let key = pod_key(&l);
        rows.insert(
            key.clone(),
            PodRow {
                namespace: key.0,
                name: key.1,
                node: get(&l, "node").to_string(),
                ..PodRow::default()
            },
        );
    }
    if rows.is_empty() {
        return Vec::new();
    }
    for (l, _) in q.instant("kube_pod_status_phase{{KS}} == 1") {
        if let Some(r) = rows.get_mut(&pod_key(&l)) {
            r.phase = get(&l, "phase").to_string();
        }
    }
    let mut containers: HashMap<Key, Containers> = HashMap::new();
    for (l, v) in q.instant("kube_pod_container_status_ready{{KS}}") {
        let c = containers.entry(pod_key(&l)).or_default();
        c.by_name
            .entry(get(&l, "container").to_string())
            .or_default()
            .0 = v == 1.0;
    }
    for (l, _) in q.instant("kube_pod_container_status_waiting_reason{{KS}} == 1") {
        let c = containers.entry(pod_key(&l)).or_default();
        c.by_name
            .entry(get(&l, "container").to_string())
            .or_default()
            .1 = get(&l, "reason").to_string();
    }
    for (l, _) in q.instant("kube_pod_container_status_terminated_reason{{KS}} == 1") {
        let c = containers.entry(pod_key(&l)).or_default();
        c.by_name
            .entry(get(&l, "container").to_string())
            .or_default()
            .2 = get(&l, "reason").to_string();
    }
    for (l, v) in q.instant("kube_pod_container_status_restarts_total{{KS}}") {
        if let Some(r) = rows.get_mut(&pod_key(&l)) {
            r.restarts += v.max(0.0) as u64;
        }
    }
    let mut reasons: HashMap<Key, String> = HashMap::new();
    for (l, _) in q.instant("kube_pod_status_reason{{KS}} == 1") {
        reasons.insert(pod_key(&l), get(&l, "reason").to_string());
    }
    for (l, v) in q.instant("kube_pod_created{{KS}}") {
        if let Some(r) = rows.get_mut(&pod_key(&l)) {
            r.age_secs = Some((now_s - v).max(0.0));
        }
    }
    let mut deleting: std::collections::HashSet<Key> = std::collections::HashSet::new();
    for (l, _) in q.instant("kube_pod_deletion_timestamp{{KS}}") {
        deleting.insert(pod_key(&l));
    }
    // Usage: the resource metrics endpoint's per-pod series, else cAdvisor's containers.
    for (l, v) in q.instant(
        "sum by (namespace, pod) (rate(pod_cpu_usage_seconds_total{{RS}}[{W}])) \
         or sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{{CA}, container!=\"\", container!=\"POD\"}[{W}]))",
    ) {
        if let Some(r) = rows.get_mut(&pod_key(&l)) {
            r.cpu_cores = Some(v);
        }
    }
    for (l, v) in q.instant(
        "sum by (namespace, pod) (pod_memory_working_set_bytes{{RS}}) \
         or sum by (namespace, pod) (container_memory_working_set_bytes{{CA}, container!=\"\", container!=\"POD\"})",
    ) {
        if let Some(r) = rows.get_mut(&pod_key(&l)) {
            r.memory_bytes = Some(v);
        }
    }
    for (key, r) in rows.iter_mut() {
        let mut status = if r.phase.is_empty() {
            "Unknown".to_string()
        } else {
            r.phase.clone()
        };
        if let Some(reason) = reasons.get(key) {
            status = reason.clone();
        }
        if let Some(c) = containers.get(key) {
            r.containers = c.by_name.len() as u32;
            r.ready = c.by_name.values().filter(|(ready, _, _)| *ready).count() as u32;
            // A terminated reason first, a waiting one over it (as kubectl reads them).
            if let Some((_, _, t)) = c.by_name.values().find(|(_, _, t)| !t.is_empty()) {
                // A Running pod with one finished sidecar is still Running.
                if r.phase != "Running" || r.ready == 0 {
                    status = t.clone();
                }
            }
            if let Some((_, w, _)) = c.by_name.values().find(|(_, w, _)| !w.is_empty()) {
                status = w.clone();
            }
        }
        if deleting.contains(key) {
            status = "Terminating".into();
        }
        r.health = health(&r.phase, &status);
        r.status = status;
    }
    let mut out: Vec<PodRow> = rows.into_values().collect();
    out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    out
}

/// Every node kube state knows (or that reports usage), sorted by name.
pub(super) fn nodes(q: &mut Querier<'_>, pods: &[PodRow]) -> Vec<NodeRow> {
    let now_s = q.now_ms as f64 / 1000.0;
    let mut rows: HashMap<String, NodeRow> = HashMap::new();
    fn entry<'m>(rows: &'m mut HashMap<String, NodeRow>, name: &str) -> &'m mut NodeRow {
        rows.entry(name.to_string()).or_insert_with(|| NodeRow {
            name: name.to_string(),
            ..NodeRow::default()
        })
    }
    for (l, _) in q.instant("kube_node_info{{KS}}") {
        entry(&mut rows, get(&l, "node")).kubelet_version = get(&l, "kubelet_version").into();
    }
    for (l, _) in q.instant("kube_node_status_condition{{KS}} == 1") {
        let r = entry(&mut rows, get(&l, "node"));
        let (cond, status) = (get(&l, "condition"), get(&l, "status"));
        if cond == "Ready" {
            r.ready = match status {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            };
        } else if status == "true" && BAD_CONDITIONS.contains(&cond) {
            r.bad_conditions.push(cond.to_string());
        }
    }
    for (l, v) in q.instant("kube_node_status_allocatable{{KS}}") {
        let r = entry(&mut rows, get(&l, "node"));
        match get(&l, "resource") {
            "cpu" => r.cpu_allocatable_cores = Some(v),
            "memory" => r.memory_allocatable_bytes = Some(v),
            "pods" => r.pods_allocatable = Some(v),
            _ => {}
        }
    }
    for (l, _) in q.instant("kube_node_role{{KS}}") {
        entry(&mut rows, get(&l, "node"))
            .roles
            .push(get(&l, "role").to_string());
    }
    for (l, v) in q.instant("kube_node_created{{KS}}") {
        entry(&mut rows, get(&l, "node")).age_secs = Some((now_s - v).max(0.0));
    }
    for (l, v) in q.instant("kube_node_spec_unschedulable{{KS}}") {
        entry(&mut rows, get(&l, "node")).unschedulable = v == 1.0;
    }
    let node_of = |l: &crate::model::Labels| {
        l.get("node")
            .or_else(|| l.get("instance"))
            .unwrap_or("")
            .to_string()
    };
    for (l, v) in q.instant(
        "sum by (node, instance) (rate(node_cpu_usage_seconds_total{{RS}}[{W}])) \
         or sum by (node, instance) (rate(container_cpu_usage_seconds_total{{CA}, id=\"/\"}[{W}]))",
    ) {
        let name = node_of(&l);
        if !name.is_empty() {
            entry(&mut rows, &name).cpu_used_cores = Some(v);
        }
    }
    for (l, v) in q.instant(
        "sum by (node, instance) (node_memory_working_set_bytes{{RS}}) \
         or sum by (node, instance) (container_memory_working_set_bytes{{CA}, id=\"/\"})",
    ) {
        let name = node_of(&l);
        if !name.is_empty() {
            entry(&mut rows, &name).memory_used_bytes = Some(v);
        }
    }
    for p in pods {
        if !p.node.is_empty()
            && p.phase != "Succeeded"
            && p.phase != "Failed"
            && let Some(r) = rows.get_mut(&p.node)
        {
            r.pods += 1;
        }
    }
    rows.remove("");
    let mut out: Vec<NodeRow> = rows.into_values().collect();
    for r in &mut out {
        r.roles.sort();
        r.bad_conditions.sort();
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The namespaces the namespace series name.
pub(super) fn namespaces(q: &mut Querier<'_>) -> Vec<String> {
    q.instant("kube_namespace_status_phase{{KS}} == 1")
        .into_iter()
        .map(|(l, _)| get(&l, "namespace").to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

/// The cluster totals: sums of the node rows, pods by phase, and the graphs.
pub(super) fn overview(q: &mut Querier<'_>, nodes: &[NodeRow], pods: &[PodRow]) -> ClusterOverview {
    let sum = |f: fn(&NodeRow) -> Option<f64>| -> Option<f64> {
        nodes
            .iter()
            .filter_map(f)
            .fold(None, |acc, v| Some(acc.unwrap_or(0.0) + v))
    };
    let mut o = ClusterOverview {
        cpu_used_cores: sum(|n| n.cpu_used_cores),
        cpu_allocatable_cores: sum(|n| n.cpu_allocatable_cores),
        memory_used_bytes: sum(|n| n.memory_used_bytes),
        memory_allocatable_bytes: sum(|n| n.memory_allocatable_bytes),
        nodes_ready: nodes.iter().filter(|n| n.ready == Some(true)).count(),
        nodes_not_ready: nodes.iter().filter(|n| n.ready != Some(true)).count(),
        history_step_ms: q.step_ms,
        ..ClusterOverview::default()
    };
    let mut phases: Vec<(String, usize)> = ["Running", "Pending", "Succeeded", "Failed", "Unknown"]
        .iter()
        .map(|p| (p.to_string(), 0))
        .collect();
    for p in pods {
        let phase = if p.phase.is_empty() {
            "Unknown"
        } else {
            &p.phase
        };
        match phases.iter_mut().find(|(n, _)| n == phase) {
            Some(e) => e.1 += 1,
            None => phases.push((phase.to_string(), 1)),
        }
    }
    o.pods_by_phase = phases;
    // Each graph from its first source with data: the resource endpoint (or the root
    // cgroup) before the sum over pods, which the engine would evaluate too inside an
    // `or` (a 5000-pod range query).
    o.cpu_history = q.history_first(&[
        "sum(rate(node_cpu_usage_seconds_total{{RS}}[{W}]))",
        "sum(rate(container_cpu_usage_seconds_total{{CA}, id=\"/\"}[{W}]))",
    ]);
    o.memory_history = q.history_first(&[
        "sum(node_memory_working_set_bytes{{RS}})",
        "sum(container_memory_working_set_bytes{{CA}, id=\"/\"})",
    ]);
    // The nodes' own interfaces (the root cgroup) when cAdvisor reports them, else the
    // pods' (each pod's interface once: cAdvisor may repeat it per container).
    for (dir, out) in [
        ("receive", &mut o.rx_history),
        ("transmit", &mut o.tx_history),
    ] {
        let node =
            "sum(rate(container_network_DIR_bytes_total{{CA}, id=\"/\"}[{W}]))".replace("DIR", dir);
        let pods = "sum(max by (namespace, pod, interface) \
                    (rate(container_network_DIR_bytes_total{{CA}, pod!=\"\"}[{W}])))"
            .replace("DIR", dir);
        *out = q.history_first(&[&node, &pods]);
    }
    let last = |h: &[Option<f64>]| h.iter().rev().take(3).flatten().next().copied();
    o.rx_bytes_per_sec = last(&o.rx_history);
    o.tx_bytes_per_sec = last(&o.tx_history);
    if o.cpu_used_cores.is_none() {
        o.cpu_used_cores = last(&o.cpu_history);
    }
    if o.memory_used_bytes.is_none() {
        o.memory_used_bytes = last(&o.memory_history);
    }
    o
}
