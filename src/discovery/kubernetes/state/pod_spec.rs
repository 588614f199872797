//! The pod series kube-state-metrics derives from a pod's spec and addresses rather than
//! its status: IPs, restart policy, runtime class, service account, scheduler,
//! tolerations and claimed volumes. Called by the pod generator.

use std::collections::HashSet;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Pod, PodSpec};

use super::{Emitter, bool_f64};

pub(super) fn spec_series(p: &Pod, e: &mut Emitter<'_>, ids: &[(&str, &str)]) {
    // kube_pod_ips: each parseable address with its family (IPv4-mapped IPv6 counts as 4).
    let ips = p.status.as_ref().and_then(|s| s.pod_ips.as_deref());
    for ip in ips.unwrap_or(&[]) {
        let family = match ip.ip.parse::<IpAddr>().map(|a| a.to_canonical()) {
            Ok(IpAddr::V4(_)) => "4",
            Ok(IpAddr::V6(_)) => "6",
            Err(_) => continue,
        };
        e.emit(
            "kube_pod_ips",
            ids,
            &[("ip", &ip.ip), ("ip_family", family)],
            1.0,
        );
    }
    let Some(spec) = p.spec.as_ref() else {
        // kube-state-metrics reads these from a zero spec: one series with empty values.
        e.emit("kube_pod_restart_policy", ids, &[], 1.0);
        e.emit("kube_pod_service_account", ids, &[], 1.0);
        e.emit("kube_pod_scheduler", ids, &[], 1.0);
        return;
    };
    e.emit(
        "kube_pod_restart_policy",
        ids,
        &[("type", spec.restart_policy.as_deref().unwrap_or(""))],
        1.0,
    );
    if let Some(class) = &spec.runtime_class_name {
        e.emit(
            "kube_pod_runtimeclass_name_info",
            ids,
            &[("runtimeclass_name", class)],
            1.0,
        );
    }
    e.emit(
        "kube_pod_service_account",
        ids,
        &[(
            "service_account",
            spec.service_account_name.as_deref().unwrap_or(""),
        )],
        1.0,
    );
    e.emit(
        "kube_pod_scheduler",
        ids,
        &[("name", spec.scheduler_name.as_deref().unwrap_or(""))],
        1.0,
    );
    tolerations(spec, e, ids);
    volumes(p, spec, e, ids);
}

/// `kube_pod_tolerations`: one series per distinct toleration.
fn tolerations(spec: &PodSpec, e: &mut Emitter<'_>, ids: &[(&str, &str)]) {
    let mut seen = HashSet::new();
    for t in spec.tolerations.as_deref().unwrap_or(&[]) {
        let seconds = t
            .toleration_seconds
            .map(|s| s.to_string())
            .unwrap_or_default();
        let labels = [
            ("key", t.key.as_deref().unwrap_or("")),
            ("operator", t.operator.as_deref().unwrap_or("")),
            ("value", t.value.as_deref().unwrap_or("")),
            ("effect", t.effect.as_deref().unwrap_or("")),
            ("toleration_seconds", seconds.as_str()),
        ];
        if seen.insert(labels.map(|(_, v)| v.to_owned())) {
            e.emit("kube_pod_tolerations", ids, &labels, 1.0);
        }
    }
}

/// `kube_pod_spec_volumes_persistentvolumeclaims_{info,readonly}`: claimed volumes, and
/// generic ephemeral volumes under the claim name Kubernetes gives them (`<pod>-<volume>`).
fn volumes(p: &Pod, spec: &PodSpec, e: &mut Emitter<'_>, ids: &[(&str, &str)]) {
    let pod_name = p.metadata.name.as_deref().unwrap_or("");
    for v in spec.volumes.as_deref().unwrap_or(&[]) {
        let (claim, ephemeral, read_only) = match (&v.persistent_volume_claim, &v.ephemeral) {
            (Some(pvc), _) => (
                pvc.claim_name.clone(),
                "false",
                pvc.read_only.unwrap_or(false),
            ),
            (None, Some(_)) => (format!("{pod_name}-{}", v.name), "true", false),
            (None, None) => continue,
        };
        let labels = [
            ("volume", v.name.as_str()),
            ("persistentvolumeclaim", claim.as_str()),
            ("ephemeral", ephemeral),
        ];
        e.emit(
            "kube_pod_spec_volumes_persistentvolumeclaims_info",
            ids,
            &labels,
            1.0,
        );
        e.emit(
            "kube_pod_spec_volumes_persistentvolumeclaims_readonly",
            ids,
            &labels,
            bool_f64(read_only),
        );
    }
}
