//! The `kube_pod_*` series of one Pod, as kube-state-metrics' pod store writes them: every
//! series carries `namespace`, `pod` and `uid`; container series add `container`.
//! Called by `KubeState::collect` when a pod is new or changed.

use k8s_openapi::api::core::v1::{Pod, PodCondition};

use super::container::{self, CONTAINERS, INIT_CONTAINERS};
use super::pod_spec;
use super::{Emitter, ZERO_TIME_UNIX, bool_f64, owner_series, unix};

/// Pod status reasons kube-state-metrics reports by name in `kube_pod_status_reason`.
const POD_STATUS_REASONS: [&str; 8] = [
    "Evicted",
    "NodeAffinity",
    "NodeLost",
    "PreemptionByScheduler",
    "SchedulingGated",
    "Shutdown",
    "TerminationByKubelet",
    "UnexpectedAdmissionError",
];

pub(super) fn pod_series(p: &Pod, e: &mut Emitter<'_>) {
    let m = &p.metadata;
    let ns = m.namespace.as_deref().unwrap_or("");
    let name = m.name.as_deref().unwrap_or("");
    let uid = m.uid.as_deref().unwrap_or("");
    let ids: &[(&str, &str)] = &[("namespace", ns), ("pod", name), ("uid", uid)];
    let spec = p.spec.as_ref();
    let status = p.status.as_ref();
    let node = spec.and_then(|s| s.node_name.as_deref()).unwrap_or("");

    // kube_pod_info: the controller owner, addresses and scheduling facts.
    let owners = m.owner_references.as_deref().unwrap_or(&[]);
    let controller = owners.iter().find(|o| o.controller == Some(true));
    let host_network = spec.and_then(|s| s.host_network).unwrap_or(false);
    e.emit(
        "kube_pod_info",
        ids,
        &[
            (
                "host_ip",
                status.and_then(|s| s.host_ip.as_deref()).unwrap_or(""),
            ),
            (
                "pod_ip",
                status.and_then(|s| s.pod_ip.as_deref()).unwrap_or(""),
            ),
            ("node", node),
            ("created_by_kind", controller.map_or("", |o| &o.kind)),
            ("created_by_name", controller.map_or("", |o| &o.name)),
            (
                "priority_class",
                spec.and_then(|s| s.priority_class_name.as_deref())
                    .unwrap_or(""),
            ),
            ("host_network", if host_network { "true" } else { "false" }),
        ],
        1.0,
    );

    owner_series(e, "kube_pod_owner", ids, m, true);

    if let Some(t) = &m.creation_timestamp {
        e.emit("kube_pod_created", ids, &[], unix(t));
    }
    if let Some(t) = &m.deletion_timestamp {
        e.emit("kube_pod_deletion_timestamp", ids, &[], unix(t));
    }
    if let Some(t) = status.and_then(|s| s.start_time.as_ref()) {
        e.emit("kube_pod_start_time", ids, &[], unix(t));
    }

    // kube_pod_status_phase: all five phases, the current one 1.
    if let Some(phase) = status
        .and_then(|s| s.phase.as_deref())
        .filter(|p| !p.is_empty())
    {
        for candidate in ["Pending", "Succeeded", "Failed", "Unknown", "Running"] {
            e.emit(
                "kube_pod_status_phase",
                ids,
                &[("phase", candidate)],
                bool_f64(phase == candidate),
            );
        }
    }

    // Ready and PodScheduled conditions: one series per status.
    let conditions = status.and_then(|s| s.conditions.as_deref()).unwrap_or(&[]);
    for c in conditions {
        let family = match c.type_.as_str() {
            "Ready" => "kube_pod_status_ready",
            "PodScheduled" => "kube_pod_status_scheduled",
            _ => continue,
        };
        e.emit_condition(family, ids, &[], "condition", &c.status);
    }
    for c in conditions {
        if c.type_ == "PodScheduled" && c.status == "False" {
            e.emit("kube_pod_status_unschedulable", ids, &[], 1.0);
        }
    }

    if let Some(qos) = status
        .and_then(|s| s.qos_class.as_deref())
        .filter(|q| !q.is_empty())
    {
        for class in ["BestEffort", "Burstable", "Guaranteed"] {
            e.emit(
                "kube_pod_status_qos_class",
                ids,
                &[("qos_class", class)],
                bool_f64(qos == class),
            );
        }
    }

    status_reasons(p, e, ids);
    condition_series(conditions, e, ids);
    pod_spec::spec_series(p, e, ids);

    let statuses = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or(&[]);
    let init_statuses = status
        .and_then(|s| s.init_container_statuses.as_deref())
        .unwrap_or(&[]);
    let (containers, init_containers) = spec.map_or((&[][..], &[][..]), |s| {
        (
            &s.containers[..],
            s.init_containers.as_deref().unwrap_or(&[]),
        )
    });
    container::series(&CONTAINERS, e, ids, node, containers, statuses);
    container::series(
        &INIT_CONTAINERS,
        e,
        ids,
        node,
        init_containers,
        init_statuses,
    );

    // kube_pod_completion_time: the latest finish among terminated containers.
    let finished = statuses
        .iter()
        .filter_map(|cs| cs.state.as_ref()?.terminated.as_ref())
        .map(|t| t.finished_at.as_ref().map_or(ZERO_TIME_UNIX, unix))
        .fold(0.0f64, |acc, t| if acc == 0.0 || acc < t { t } else { acc });
    if finished > 0.0 {
        e.emit("kube_pod_completion_time", ids, &[], finished);
    }
}

/// `kube_pod_status_reason`: the known reasons found in the pod's status, its conditions or
/// its terminated containers, and `Other` for an unknown status reason.
fn status_reasons(p: &Pod, e: &mut Emitter<'_>, ids: &[(&str, &str)]) {
    let Some(status) = p.status.as_ref() else {
        return;
    };
    let reason = status.reason.as_deref().unwrap_or("");
    let has = |r: &str| {
        reason == r
            || status
                .conditions
                .iter()
                .flatten()
                .any(|c| c.reason.as_deref() == Some(r))
            || status
                .container_statuses
                .iter()
                .flatten()
                .filter_map(|cs| cs.state.as_ref()?.terminated.as_ref())
                .any(|t| t.reason.as_deref() == Some(r))
    };
    for r in POD_STATUS_REASONS {
        if has(r) {
            e.emit("kube_pod_status_reason", ids, &[("reason", r)], 1.0);
        }
    }
    if !reason.is_empty() && !POD_STATUS_REASONS.contains(&reason) {
        e.emit("kube_pod_status_reason", ids, &[("reason", "Other")], 1.0);
    }
}

/// Disruption condition reasons kube-state-metrics reports by name in
/// `kube_pod_status_disruption_reason`; any other is `Other`.
const DISRUPTION_REASONS: [&str; 5] = [
    "PreemptionByScheduler",
    "DeletionByTaintManager",
    "EvictionByEvictionAPI",
    "DeletionByPodGC",
    "TerminationByKubelet",
];

/// The disruption reason of a DisruptionTarget condition, and the `*_time` series of the
/// pod conditions that are True (Scheduled, Initialized, ContainersReady, Ready) and of
/// PodScheduled=False: their last transition.
fn condition_series(conditions: &[PodCondition], e: &mut Emitter<'_>, ids: &[(&str, &str)]) {
    for c in conditions.iter().filter(|c| c.type_ == "DisruptionTarget") {
        let reason = c.reason.as_deref().unwrap_or("");
        let reason = if DISRUPTION_REASONS.contains(&reason) {
            reason
        } else {
            "Other"
        };
        e.emit(
            "kube_pod_status_disruption_reason",
            ids,
            &[("reason", reason)],
            1.0,
        );
    }
    for c in conditions {
        let family = match (c.type_.as_str(), c.status.as_str()) {
            ("PodScheduled", "True") => "kube_pod_status_scheduled_time",
            ("PodScheduled", "False") => "kube_pod_status_unscheduled_time",
            ("Initialized", "True") => "kube_pod_status_initialized_time",
            ("ContainersReady", "True") => "kube_pod_status_container_ready_time",
            ("Ready", "True") => "kube_pod_status_ready_time",
            _ => continue,
        };
        let t = c.last_transition_time.as_ref().map_or(ZERO_TIME_UNIX, unix);
        e.emit(family, ids, &[], t);
    }
}
