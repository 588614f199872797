//! The series of PersistentVolumeClaims (`kube_persistentvolumeclaim_*`) and of
//! HorizontalPodAutoscalers (`kube_horizontalpodautoscaler_*`, autoscaling/v2), as
//! kube-state-metrics writes them: what volume alerts and autoscaler panels join on.
//! Called by `KubeState::collect`.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;

use super::quantity::Quantity;
use super::{Emitter, bool_f64, unix};

/// The beta annotation that still wins over `spec.storageClassName`.
const BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

pub(super) fn pvc_series(p: &PersistentVolumeClaim, e: &mut Emitter<'_>) {
    let m = &p.metadata;
    let ids: &[(&str, &str)] = &[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("persistentvolumeclaim", m.name.as_deref().unwrap_or("")),
    ];
    let spec = p.spec.as_ref();
    let class = m
        .annotations
        .as_ref()
        .and_then(|a| a.get(BETA_STORAGE_CLASS))
        .map(String::as_str)
        .or_else(|| spec.and_then(|s| s.storage_class_name.as_deref()))
        .unwrap_or("");
    e.emit(
        "kube_persistentvolumeclaim_info",
        ids,
        &[
            ("storageclass", class),
            (
                "volumename",
                spec.and_then(|s| s.volume_name.as_deref()).unwrap_or(""),
            ),
            (
                "volumemode",
                spec.and_then(|s| s.volume_mode.as_deref()).unwrap_or(""),
            ),
        ],
        1.0,
    );
    let status = p.status.as_ref();
    if let Some(phase) = status
        .and_then(|s| s.phase.as_deref())
        .filter(|p| !p.is_empty())
    {
        for candidate in ["Lost", "Bound", "Pending"] {
            e.emit(
                "kube_persistentvolumeclaim_status_phase",
                ids,
                &[("phase", candidate)],
                bool_f64(phase == candidate),
            );
        }
    }
    let storage = spec
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .and_then(|q| Quantity::parse(&q.0));
    if let Some(q) = storage {
        e.emit(
            "kube_persistentvolumeclaim_resource_requests_storage_bytes",
            ids,
            &[],
            q.value(),
        );
    }
    for mode in spec.and_then(|s| s.access_modes.as_deref()).unwrap_or(&[]) {
        e.emit(
            "kube_persistentvolumeclaim_access_mode",
            ids,
            &[("access_mode", mode)],
            1.0,
        );
    }
    for c in status.and_then(|s| s.conditions.as_deref()).unwrap_or(&[]) {
        e.emit_condition(
            "kube_persistentvolumeclaim_status_condition",
            ids,
            &[("condition", &c.type_)],
            "status",
            &c.status,
        );
    }
    if let Some(t) = &m.creation_timestamp {
        e.emit("kube_persistentvolumeclaim_created", ids, &[], unix(t));
    }
    if let Some(t) = &m.deletion_timestamp {
        e.emit(
            "kube_persistentvolumeclaim_deletion_timestamp",
            ids,
            &[],
            unix(t),
        );
    }
}

pub(super) fn hpa_series(a: &HorizontalPodAutoscaler, e: &mut Emitter<'_>) {
    let m = &a.metadata;
    let ids: &[(&str, &str)] = &[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("horizontalpodautoscaler", m.name.as_deref().unwrap_or("")),
    ];
    let target = &a.spec.scale_target_ref;
    e.emit(
        "kube_horizontalpodautoscaler_info",
        ids,
        &[
            (
                "scaletargetref_api_version",
                target.api_version.as_deref().unwrap_or(""),
            ),
            ("scaletargetref_kind", &target.kind),
            ("scaletargetref_name", &target.name),
        ],
        1.0,
    );
    e.emit(
        "kube_horizontalpodautoscaler_metadata_generation",
        ids,
        &[],
        m.generation.unwrap_or(0) as f64,
    );
    e.emit(
        "kube_horizontalpodautoscaler_spec_max_replicas",
        ids,
        &[],
        f64::from(a.spec.max_replicas),
    );
    // The API's default minimum is 1.
    e.emit(
        "kube_horizontalpodautoscaler_spec_min_replicas",
        ids,
        &[],
        f64::from(a.spec.min_replicas.unwrap_or(1)),
    );
    let status = a.status.as_ref();
    e.emit(
        "kube_horizontalpodautoscaler_status_current_replicas",
        ids,
        &[],
        f64::from(status.and_then(|s| s.current_replicas).unwrap_or(0)),
    );
    e.emit(
        "kube_horizontalpodautoscaler_status_desired_replicas",
        ids,
        &[],
        f64::from(status.map_or(0, |s| s.desired_replicas)),
    );
    for c in status.and_then(|s| s.conditions.as_deref()).unwrap_or(&[]) {
        e.emit_condition(
            "kube_horizontalpodautoscaler_status_condition",
            ids,
            &[("condition", &c.type_)],
            "status",
            &c.status,
        );
    }
    if let Some(t) = &m.creation_timestamp {
        e.emit("kube_horizontalpodautoscaler_created", ids, &[], unix(t));
    }
    if let Some(t) = &m.deletion_timestamp {
        e.emit(
            "kube_horizontalpodautoscaler_deletion_timestamp",
            ids,
            &[],
            unix(t),
        );
    }
}
