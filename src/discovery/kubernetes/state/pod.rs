//! The `kube_pod_*` series of one Pod, as kube-state-metrics' pod store writes them: every
//! series carries `namespace`, `pod` and `uid`; container series add `container`.
//! Called by `KubeState::collect` when a pod is new or changed.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ContainerState, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;

use super::quantity::Quantity;
use super::{Emitter, bool_f64, resource_unit, sanitize, unix};

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

    // kube_pod_owner: one series per owner reference, or one with empty owner labels.
    if owners.is_empty() {
        e.emit("kube_pod_owner", ids, &[], 1.0);
    }
    for o in owners {
        let is_controller = if o.controller == Some(true) {
            "true"
        } else {
            "false"
        };
        e.emit(
            "kube_pod_owner",
            ids,
            &[
                ("owner_kind", &o.kind),
                ("owner_name", &o.name),
                ("owner_is_controller", is_controller),
            ],
            1.0,
        );
    }

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

    let statuses = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or(&[]);
    status_reasons(p, e, ids);

    // Per container: info needs the spec's image beside the status.
    let containers = spec.map_or(&[][..], |s| &s.containers[..]);
    for c in containers {
        for cs in statuses.iter().filter(|cs| cs.name == c.name) {
            e.emit(
                "kube_pod_container_info",
                ids,
                &[
                    ("container", &cs.name),
                    ("image_spec", c.image.as_deref().unwrap_or("")),
                    ("image", &cs.image),
                    ("image_id", &cs.image_id),
                    ("container_id", cs.container_id.as_deref().unwrap_or("")),
                ],
                1.0,
            );
        }
    }
    for c in containers {
        let Some(res) = &c.resources else { continue };
        for (family, map) in [
            ("kube_pod_container_resource_requests", &res.requests),
            ("kube_pod_container_resource_limits", &res.limits),
        ] {
            if let Some(map) = map {
                resources(e, family, ids, &c.name, node, map);
            }
        }
    }

    for cs in statuses {
        let container: &[(&str, &str)] = &[("container", &cs.name)];
        let state = cs.state.as_ref();
        let running = state.and_then(|s| s.running.as_ref());
        let terminated = state.and_then(|s| s.terminated.as_ref());
        let waiting = state.and_then(|s| s.waiting.as_ref());
        e.emit(
            "kube_pod_container_status_restarts_total",
            ids,
            container,
            f64::from(cs.restart_count),
        );
        e.emit(
            "kube_pod_container_status_ready",
            ids,
            container,
            bool_f64(cs.ready),
        );
        e.emit(
            "kube_pod_container_status_running",
            ids,
            container,
            bool_f64(running.is_some()),
        );
        e.emit(
            "kube_pod_container_status_terminated",
            ids,
            container,
            bool_f64(terminated.is_some()),
        );
        e.emit(
            "kube_pod_container_status_waiting",
            ids,
            container,
            bool_f64(waiting.is_some()),
        );
        if let Some(w) = waiting {
            e.emit(
                "kube_pod_container_status_waiting_reason",
                ids,
                &[
                    ("container", &cs.name),
                    ("reason", w.reason.as_deref().unwrap_or("")),
                ],
                1.0,
            );
        }
        if let Some(t) = terminated {
            e.emit(
                "kube_pod_container_status_terminated_reason",
                ids,
                &[
                    ("container", &cs.name),
                    ("reason", t.reason.as_deref().unwrap_or("")),
                ],
                1.0,
            );
        }
        let started = running
            .and_then(|r| r.started_at.as_ref())
            .or_else(|| terminated.and_then(|t| t.started_at.as_ref()));
        if running.is_some() || terminated.is_some() {
            // kube-state-metrics writes Go's zero time when the field is unset.
            let v = started.map_or(ZERO_TIME_UNIX, unix);
            e.emit("kube_pod_container_state_started", ids, container, v);
        }
        last_terminated(e, ids, &cs.name, cs.last_state.as_ref());
    }

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

/// `time.Time{}.Unix()` in Go: year 1, the value kube-state-metrics reports for an unset
/// timestamp it reads without a nil check.
const ZERO_TIME_UNIX: f64 = -62_135_596_800.0;

fn last_terminated(
    e: &mut Emitter<'_>,
    ids: &[(&str, &str)],
    container: &str,
    last: Option<&ContainerState>,
) {
    let Some(t) = last.and_then(|s| s.terminated.as_ref()) else {
        return;
    };
    e.emit(
        "kube_pod_container_status_last_terminated_reason",
        ids,
        &[
            ("container", container),
            ("reason", t.reason.as_deref().unwrap_or("")),
        ],
        1.0,
    );
    e.emit(
        "kube_pod_container_status_last_terminated_exitcode",
        ids,
        &[("container", container)],
        f64::from(t.exit_code),
    );
    e.emit(
        "kube_pod_container_status_last_terminated_timestamp",
        ids,
        &[("container", container)],
        t.finished_at.as_ref().map_or(ZERO_TIME_UNIX, unix),
    );
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

/// Requests or limits of one container: cpu in cores (milli precision), byte resources
/// and extended resources as Go's rounded-up `Value()`.
fn resources(
    e: &mut Emitter<'_>,
    family: &str,
    ids: &[(&str, &str)],
    container: &str,
    node: &str,
    map: &BTreeMap<String, K8sQuantity>,
) {
    for (name, q) in map {
        let Some(unit) = resource_unit(name, None) else {
            continue;
        };
        let Some(q) = Quantity::parse(&q.0) else {
            continue;
        };
        let value = if unit == "core" {
            q.milli_float()
        } else {
            q.value()
        };
        e.emit(
            family,
            ids,
            &[
                ("container", container),
                ("node", node),
                ("resource", &sanitize(name)),
                ("unit", unit),
            ],
            value,
        );
    }
}
