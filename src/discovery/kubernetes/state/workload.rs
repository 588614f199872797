//! The series of namespaces (`kube_namespace_*`) and of the workload controllers
//! deployments, statefulsets and daemonsets (`kube_deployment_*`, `kube_statefulset_*`,
//! `kube_daemonset_*`), as kube-state-metrics writes them. Called by `KubeState::collect`.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Emitter, bool_f64, owner_series, unix};

/// Deployment condition reasons kube-state-metrics keeps; any other becomes `unknown`.
const DEPLOYMENT_REASONS: [&str; 11] = [
    "ReplicaSetUpdated",
    "ReplicaSetCreateError",
    "NewReplicaSetCreated",
    "FoundNewReplicaSet",
    "NewReplicaSetAvailable",
    "ProgressDeadlineExceeded",
    "DeploymentPaused",
    "DeploymentResumed",
    "MinimumReplicasAvailable",
    "MinimumReplicasUnavailable",
    "",
];

pub(super) fn namespace_series(n: &Namespace, e: &mut Emitter<'_>) {
    let ids: &[(&str, &str)] = &[("namespace", n.metadata.name.as_deref().unwrap_or(""))];
    if let Some(t) = &n.metadata.creation_timestamp {
        e.emit("kube_namespace_created", ids, &[], unix(t));
    }
    let status = n.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("");
    for candidate in ["Active", "Terminating"] {
        e.emit(
            "kube_namespace_status_phase",
            ids,
            &[("phase", candidate)],
            bool_f64(phase == candidate),
        );
    }
    for c in status.and_then(|s| s.conditions.as_deref()).unwrap_or(&[]) {
        e.emit_condition(
            "kube_namespace_status_condition",
            ids,
            &[("condition", &c.type_)],
            "status",
            &c.status,
        );
    }
}

pub(super) fn deployment_series(d: &Deployment, e: &mut Emitter<'_>) {
    let m = &d.metadata;
    let ids: &[(&str, &str)] = &[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("deployment", m.name.as_deref().unwrap_or("")),
    ];
    owner_series(e, "kube_deployment_owner", ids, m, false);
    if let Some(t) = &m.creation_timestamp {
        e.emit("kube_deployment_created", ids, &[], unix(t));
    }
    if let Some(t) = &m.deletion_timestamp {
        e.emit("kube_deployment_deletion_timestamp", ids, &[], unix(t));
    }
    let s = d.status.as_ref();
    let count = |f: fn(&k8s_openapi::api::apps::v1::DeploymentStatus) -> Option<i32>| {
        f64::from(s.and_then(f).unwrap_or(0))
    };
    e.emit(
        "kube_deployment_status_replicas",
        ids,
        &[],
        count(|s| s.replicas),
    );
    e.emit(
        "kube_deployment_status_replicas_ready",
        ids,
        &[],
        count(|s| s.ready_replicas),
    );
    e.emit(
        "kube_deployment_status_replicas_available",
        ids,
        &[],
        count(|s| s.available_replicas),
    );
    e.emit(
        "kube_deployment_status_replicas_unavailable",
        ids,
        &[],
        count(|s| s.unavailable_replicas),
    );
    e.emit(
        "kube_deployment_status_replicas_updated",
        ids,
        &[],
        count(|s| s.updated_replicas),
    );
    if let Some(t) = s.and_then(|s| s.terminating_replicas) {
        e.emit(
            "kube_deployment_status_terminating_replicas",
            ids,
            &[],
            f64::from(t),
        );
    }
    e.emit(
        "kube_deployment_status_observed_generation",
        ids,
        &[],
        s.and_then(|s| s.observed_generation).unwrap_or(0) as f64,
    );
    for c in s.and_then(|s| s.conditions.as_deref()).unwrap_or(&[]) {
        let reason = c.reason.as_deref().unwrap_or("");
        let reason = if DEPLOYMENT_REASONS.contains(&reason) {
            reason
        } else {
            "unknown"
        };
        e.emit_condition(
            "kube_deployment_status_condition",
            ids,
            &[
                ("reason", reason),
                ("condition", c.type_.as_deref().unwrap_or("")),
            ],
            "status",
            c.status.as_deref().unwrap_or(""),
        );
    }

    let spec = &d.spec;
    let replicas = spec.replicas;
    if let Some(r) = replicas {
        e.emit("kube_deployment_spec_replicas", ids, &[], f64::from(r));
    }
    e.emit(
        "kube_deployment_spec_paused",
        ids,
        &[],
        bool_f64(spec.paused.unwrap_or(false)),
    );
    let rolling = spec
        .strategy
        .as_ref()
        .and_then(|s| s.rolling_update.as_ref());
    if let (Some(ru), Some(r)) = (rolling, replicas) {
        if let Some(v) = scaled_int_or_percent(ru.max_unavailable.as_ref(), r, false) {
            e.emit(
                "kube_deployment_spec_strategy_rollingupdate_max_unavailable",
                ids,
                &[],
                v,
            );
        }
        if let Some(v) = scaled_int_or_percent(ru.max_surge.as_ref(), r, true) {
            e.emit(
                "kube_deployment_spec_strategy_rollingupdate_max_surge",
                ids,
                &[],
                v,
            );
        }
    }
    e.emit(
        "kube_deployment_metadata_generation",
        ids,
        &[],
        m.generation.unwrap_or(0) as f64,
    );
}

/// Kubernetes' `GetScaledValueFromIntOrPercent`: an int as is, `"N%"` of `total` rounded
/// up or down; `None` for a missing or malformed value (kube-state-metrics skips those).
fn scaled_int_or_percent(v: Option<&IntOrString>, total: i32, round_up: bool) -> Option<f64> {
    match v? {
        IntOrString::Int(i) => Some(f64::from(*i)),
        IntOrString::String(s) => {
            let pct: i64 = s.strip_suffix('%')?.parse().ok()?;
            let prod = pct.checked_mul(i64::from(total))?;
            let v = if round_up {
                prod.div_euclid(100) + i64::from(prod.rem_euclid(100) != 0)
            } else {
                prod.div_euclid(100)
            };
            Some(v as f64)
        }
    }
}

pub(super) fn statefulset_series(s: &StatefulSet, e: &mut Emitter<'_>) {
    let m = &s.metadata;
    let ids: &[(&str, &str)] = &[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("statefulset", m.name.as_deref().unwrap_or("")),
    ];
    if let Some(t) = &m.creation_timestamp {
        e.emit("kube_statefulset_created", ids, &[], unix(t));
    }
    let st = s.status.as_ref();
    let opt = |v: Option<i32>| f64::from(v.unwrap_or(0));
    e.emit(
        "kube_statefulset_status_replicas",
        ids,
        &[],
        f64::from(st.map_or(0, |s| s.replicas)),
    );
    e.emit(
        "kube_statefulset_status_replicas_available",
        ids,
        &[],
        opt(st.and_then(|s| s.available_replicas)),
    );
    e.emit(
        "kube_statefulset_status_replicas_current",
        ids,
        &[],
        opt(st.and_then(|s| s.current_replicas)),
    );
    e.emit(
        "kube_statefulset_status_replicas_ready",
        ids,
        &[],
        opt(st.and_then(|s| s.ready_replicas)),
    );
    e.emit(
        "kube_statefulset_status_replicas_updated",
        ids,
        &[],
        opt(st.and_then(|s| s.updated_replicas)),
    );
    e.emit(
        "kube_statefulset_status_observed_generation",
        ids,
        &[],
        st.and_then(|s| s.observed_generation).unwrap_or(0) as f64,
    );
    if let Some(r) = s.spec.replicas {
        e.emit("kube_statefulset_replicas", ids, &[], f64::from(r));
    }
    if let Some(o) = &s.spec.ordinals {
        e.emit(
            "kube_statefulset_ordinals_start",
            ids,
            &[],
            f64::from(o.start.unwrap_or(0)),
        );
    }
    if let Some(policy) = &s.spec.persistent_volume_claim_retention_policy {
        let deleted = policy.when_deleted.as_deref().unwrap_or("");
        let scaled = policy.when_scaled.as_deref().unwrap_or("");
        if !deleted.is_empty() || !scaled.is_empty() {
            e.emit(
                "kube_statefulset_persistentvolumeclaim_retention_policy",
                ids,
                &[("when_deleted", deleted), ("when_scaled", scaled)],
                1.0,
            );
        }
    }
    if let Some(t) = &m.deletion_timestamp {
        e.emit("kube_statefulset_deletion_timestamp", ids, &[], unix(t));
    }
    e.emit(
        "kube_statefulset_metadata_generation",
        ids,
        &[],
        m.generation.unwrap_or(0) as f64,
    );
    // Written even when the status has no revision yet (the label is then empty).
    for (name, rev) in [
        (
            "kube_statefulset_status_current_revision",
            st.and_then(|s| s.current_revision.as_deref()),
        ),
        (
            "kube_statefulset_status_update_revision",
            st.and_then(|s| s.update_revision.as_deref()),
        ),
    ] {
        e.emit(name, ids, &[("revision", rev.unwrap_or(""))], 1.0);
    }
}

pub(super) fn daemonset_series(d: &DaemonSet, e: &mut Emitter<'_>) {
    let m = &d.metadata;
    let ids: &[(&str, &str)] = &[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("daemonset", m.name.as_deref().unwrap_or("")),
    ];
    if let Some(t) = &m.creation_timestamp {
        e.emit("kube_daemonset_created", ids, &[], unix(t));
    }
    let st = d.status.as_ref();
    let int =
        |f: fn(&k8s_openapi::api::apps::v1::DaemonSetStatus) -> i32| f64::from(st.map_or(0, f));
    let opt = |f: fn(&k8s_openapi::api::apps::v1::DaemonSetStatus) -> Option<i32>| {
        f64::from(st.and_then(f).unwrap_or(0))
    };
    let rows = [
        (
            "kube_daemonset_status_current_number_scheduled",
            int(|s| s.current_number_scheduled),
        ),
        (
            "kube_daemonset_status_desired_number_scheduled",
            int(|s| s.desired_number_scheduled),
        ),
        (
            "kube_daemonset_status_number_available",
            opt(|s| s.number_available),
        ),
        (
            "kube_daemonset_status_number_misscheduled",
            int(|s| s.number_misscheduled),
        ),
        (
            "kube_daemonset_status_number_ready",
            int(|s| s.number_ready),
        ),
        (
            "kube_daemonset_status_number_unavailable",
            opt(|s| s.number_unavailable),
        ),
        (
            "kube_daemonset_status_observed_generation",
            st.and_then(|s| s.observed_generation).unwrap_or(0) as f64,
        ),
        (
            "kube_daemonset_status_updated_number_scheduled",
            opt(|s| s.updated_number_scheduled),
        ),
        (
            "kube_daemonset_metadata_generation",
            m.generation.unwrap_or(0) as f64,
        ),
    ];
    for (name, v) in rows {
        e.emit(name, ids, &[], v);
    }
    if let Some(t) = &m.deletion_timestamp {
        e.emit("kube_daemonset_deletion_timestamp", ids, &[], unix(t));
    }
}

pub(super) fn replicaset_series(r: &ReplicaSet, e: &mut Emitter<'_>) {
    let m = &r.metadata;
    let ids: &[(&str, &str)] = &[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("replicaset", m.name.as_deref().unwrap_or("")),
    ];
    if let Some(t) = &m.creation_timestamp {
        e.emit("kube_replicaset_created", ids, &[], unix(t));
    }
    owner_series(e, "kube_replicaset_owner", ids, m, true);
    let st = r.status.as_ref();
    let opt = |v: Option<i32>| f64::from(v.unwrap_or(0));
    e.emit(
        "kube_replicaset_status_replicas",
        ids,
        &[],
        f64::from(st.map_or(0, |s| s.replicas)),
    );
    e.emit(
        "kube_replicaset_status_fully_labeled_replicas",
        ids,
        &[],
        opt(st.and_then(|s| s.fully_labeled_replicas)),
    );
    e.emit(
        "kube_replicaset_status_ready_replicas",
        ids,
        &[],
        opt(st.and_then(|s| s.ready_replicas)),
    );
    if let Some(t) = st.and_then(|s| s.terminating_replicas) {
        e.emit(
            "kube_replicaset_status_terminating_replicas",
            ids,
            &[],
            f64::from(t),
        );
    }
    e.emit(
        "kube_replicaset_status_observed_generation",
        ids,
        &[],
        st.and_then(|s| s.observed_generation).unwrap_or(0) as f64,
    );
    if let Some(v) = r.spec.replicas {
        e.emit("kube_replicaset_spec_replicas", ids, &[], f64::from(v));
    }
    e.emit(
        "kube_replicaset_metadata_generation",
        ids,
        &[],
        m.generation.unwrap_or(0) as f64,
    );
}
