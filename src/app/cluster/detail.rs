//! The pod detail of the cluster model: the selected pod's containers (state, restarts,
//! last termination) from kube state series, its per-container CPU and memory and its
//! network as range queries over cAdvisor (or the resource metrics), its labels,
//! annotations and status message from the watched objects when the app has them, and the
//! scrape targets discovered from it. Called by `cluster::build` for the pod the TUI asks
//! for.

use std::collections::BTreeMap;

use super::query::{Querier, get, quote};
use super::rows::health;
use super::{ContainerState, NamedSeries, PodDetail, PodRef, PodRow};
use crate::app::snapshot::TargetRow;
use crate::discovery::kubernetes::state::ClusterObjects;

/// Builds the detail of `pod`.
pub(super) fn build(
    q: &mut Querier<'_>,
    pod: &PodRef,
    rows: &[PodRow],
    objects: Option<&ClusterObjects>,
    targets: &[TargetRow],
) -> PodDetail {
    let row = rows
        .binary_search_by(|r| (&r.namespace, &r.name).cmp(&(&pod.namespace, &pod.name)))
        .ok()
        .map(|i| &rows[i]);
    let mut d = PodDetail {
        pod: pod.clone(),
        found: row.is_some(),
        node: row.map(|r| r.node.clone()).unwrap_or_default(),
        status: row.map(|r| r.status.clone()).unwrap_or_default(),
        health: row.map(|r| r.health).unwrap_or_default(),
        start_ms: q.start_ms,
        end_ms: q.end_ms,
        step_ms: q.step_ms,
        ..PodDetail::default()
    };
    let sel = format!(
        "namespace={}, pod={}",
        quote(&pod.namespace),
        quote(&pod.name)
    );
    d.containers = containers(q, &sel);
    let named = |series: Vec<(crate::model::Labels, Vec<(i64, f64)>)>, label: &str| {
        series
            .into_iter()
            .map(|(l, points)| NamedSeries {
                name: l.get(label).unwrap_or("pod").to_string(),
                points,
            })
            .collect::<Vec<_>>()
    };
    let cpu = q.range(&format!(
        "sum by (container) (rate(container_cpu_usage_seconds_total{{{{CA}}, {sel}, container!=\"\", container!=\"POD\"}}[{{W}}]))"
    ));
    d.cpu = named(cpu, "container");
    if d.cpu.is_empty() {
        let pod_cpu = q.range(&format!(
            "sum(rate(pod_cpu_usage_seconds_total{{{{RS}}, {sel}}}[{{W}}]))"
        ));
        d.cpu = named(pod_cpu, "container");
    }
    let mem = q.range(&format!(
        "sum by (container) (container_memory_working_set_bytes{{{{CA}}, {sel}, container!=\"\", container!=\"POD\"}})"
    ));
    d.memory = named(mem, "container");
    if d.memory.is_empty() {
        let pod_mem = q.range(&format!(
            "sum(pod_memory_working_set_bytes{{{{RS}}, {sel}}})"
        ));
        d.memory = named(pod_mem, "container");
    }
    for (dir, name) in [("receive", "rx"), ("transmit", "tx")] {
        let series = q.range(&format!(
            "sum(max by (interface) (rate(container_network_{dir}_bytes_total{{{{CA}}, {sel}}}[{{W}}])))"
        ));
        if let Some((_, points)) = series.into_iter().next() {
            d.network.push(NamedSeries {
                name: name.into(),
                points,
            });
        }
    }
    if let Some(objects) = objects {
        d.objects_known = true;
        from_objects(&mut d, objects);
    }
    d.targets = targets
        .iter()
        .filter(|t| targets_pod(t, pod))
        .cloned()
        .collect();
    d
}

/// Whether a target was discovered from (or is labelled with) this pod.
fn targets_pod(t: &TargetRow, pod: &PodRef) -> bool {
    let d = &t.discovered_labels;
    let discovered = d.get("__meta_kubernetes_pod_name") == Some(pod.name.as_str())
        && d.get("__meta_kubernetes_namespace") == Some(pod.namespace.as_str());
    let labelled = t.labels.get("pod") == Some(pod.name.as_str())
        && t.labels.get("namespace") == Some(pod.namespace.as_str());
    discovered || labelled
}

/// The pod's containers from the kube state series, by name.
fn containers(q: &mut Querier<'_>, sel: &str) -> Vec<ContainerState> {
    let mut by: BTreeMap<String, ContainerState> = BTreeMap::new();
    for (l, v) in q.instant(&format!("kube_pod_container_status_ready{{{{KS}}, {sel}}}")) {
        slot(&mut by, &l).ready = v == 1.0;
    }
    for (l, v) in q.instant(&format!(
        "kube_pod_container_status_restarts_total{{{{KS}}, {sel}}}"
    )) {
        slot(&mut by, &l).restarts = v.max(0.0) as u64;
    }
    for (l, _) in q.instant(&format!(
        "kube_pod_container_status_running{{{{KS}}, {sel}}} == 1"
    )) {
        slot(&mut by, &l).state = "running".into();
    }
    for (l, _) in q.instant(&format!(
        "kube_pod_container_status_terminated_reason{{{{KS}}, {sel}}} == 1"
    )) {
        slot(&mut by, &l).state = format!("terminated: {}", get(&l, "reason"));
    }
    for (l, _) in q.instant(&format!(
        "kube_pod_container_status_waiting_reason{{{{KS}}, {sel}}} == 1"
    )) {
        slot(&mut by, &l).state = format!("waiting: {}", get(&l, "reason"));
    }
    let mut codes: BTreeMap<String, f64> = BTreeMap::new();
    for (l, v) in q.instant(&format!(
        "kube_pod_container_status_last_terminated_exitcode{{{{KS}}, {sel}}}"
    )) {
        codes.insert(get(&l, "container").to_string(), v);
    }
    for (l, _) in q.instant(&format!(
        "kube_pod_container_status_last_terminated_reason{{{{KS}}, {sel}}} == 1"
    )) {
        let mut text = get(&l, "reason").to_string();
        if let Some(code) = codes.get(get(&l, "container")) {
            text.push_str(&format!(" (exit code {code})"));
        }
        slot(&mut by, &l).last_termination = Some(text);
    }
    by.into_values().collect()
}

/// The container a series names, added on first sight.
fn slot<'m>(
    by: &'m mut BTreeMap<String, ContainerState>,
    l: &crate::model::Labels,
) -> &'m mut ContainerState {
    let name = get(l, "container");
    by.entry(name.to_string())
        .or_insert_with(|| ContainerState {
            name: name.to_string(),
            ..ContainerState::default()
        })
}

/// Labels, annotations, the status message, and last terminations the series missed.
fn from_objects(d: &mut PodDetail, objects: &ClusterObjects) {
    let Some(pod) = objects.pods.iter().find(|p| {
        p.metadata.name.as_deref() == Some(d.pod.name.as_str())
            && p.metadata.namespace.as_deref().unwrap_or("default") == d.pod.namespace
    }) else {
        return;
    };
    let m = &pod.metadata;
    d.found = true;
    d.labels = m
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    d.annotations = m
        .annotations
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let Some(status) = pod.status.as_ref() else {
        return;
    };
    if d.node.is_empty() {
        d.node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
    }
    if d.status.is_empty() {
        let phase = status.phase.clone().unwrap_or_else(|| "Unknown".into());
        d.health = health(&phase, &phase);
        d.status = phase;
    }
    let mut message: Vec<String> = Vec::new();
    if let Some(r) = &status.reason {
        message.push(r.clone());
    }
    if let Some(m) = &status.message {
        message.push(m.clone());
    }
    for c in status.conditions.iter().flatten() {
        if c.status != "True"
            && let Some(m) = &c.message
        {
            message.push(format!("{}: {m}", c.type_));
        }
    }
    if !message.is_empty() {
        d.message = Some(message.join("; "));
    }
    for cs in status.container_statuses.iter().flatten() {
        let c = match d.containers.iter_mut().find(|c| c.name == cs.name) {
            Some(c) => c,
            None => {
                d.containers.push(ContainerState {
                    name: cs.name.clone(),
                    ready: cs.ready,
                    restarts: cs.restart_count.max(0) as u64,
                    ..ContainerState::default()
                });
                d.containers.last_mut().expect("just pushed")
            }
        };
        if let Some(t) = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref()) {
            let mut text = t.reason.clone().unwrap_or_else(|| "terminated".into());
            text.push_str(&format!(" (exit code {})", t.exit_code));
            if let Some(at) = &t.finished_at {
                text.push_str(&format!(" at {}", at.0.to_string().replace(" UTC", "Z")));
            }
            c.last_termination = Some(text);
        }
        if c.state.is_empty()
            && let Some(s) = &cs.state
        {
            c.state = if s.running.is_some() {
                "running".into()
            } else if let Some(w) = &s.waiting {
                format!("waiting: {}", w.reason.clone().unwrap_or_default())
            } else if let Some(t) = &s.terminated {
                format!("terminated: {}", t.reason.clone().unwrap_or_default())
            } else {
                String::new()
            };
        }
    }
}
